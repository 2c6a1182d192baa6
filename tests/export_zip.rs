//! The page's "Export for a real broker" zip holds exactly what `brokerlab
//! export-real` writes for the same scenario file and target: the same file
//! names (under one directory), the same bytes, `run` executable; only the
//! README's first sentence says it came from the page. The browser test
//! (`web_real_export`) checks that the button downloads this zip.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/cli.rs"]
mod support;
#[path = "support/unzip.rs"]
mod unzip;

use brokerlab::app::session::Session;
use brokerlab::export::{zipped, Origin, Target, Templates};

/// Exports `scenarios/{path}.json` to `target` with the command line and
/// through the page's session (loaded as a file of that name), and compares
/// the two file by file.
fn same_as_the_cli(path: &str, target: Target) {
    let file = format!("scenarios/{path}.json");
    let stem = path.rsplit('/').next().unwrap();
    let out = std::env::temp_dir().join(format!("brokerlab-zip-{stem}-{}", std::process::id()));
    let args = ["export-real", &file, "--target", target.name(), "--out"];
    let (code, _, err) = support::brokerlab(&[&args[..], &[out.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{err}");
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + &file)
            .unwrap();
    let session = Session::from_json(&format!("{stem}.json"), &text).unwrap();
    let scenario = session.world().scenario();
    let templates = Templates::built_in();
    let page = Origin::PageFile {
        name: session.source_file().unwrap(),
    };
    let (name, bytes) = zipped(scenario, page, target, &templates).unwrap();
    let dir = format!("brokerlab-{stem}-{}", target.name());
    assert_eq!(name, format!("{dir}.zip"));
    let from_page = unzip::unzip(&bytes);
    let cli = Origin::Command { path: &file };
    let (cli_name, bytes) = zipped(scenario, cli, target, &templates).unwrap();
    assert_eq!(cli_name, name);
    let entries = unzip::unzip(&bytes);
    assert_eq!(from_page.len(), entries.len());
    for (p, e) in from_page.iter().zip(&entries) {
        assert_eq!(p.path, e.path);
        if p.path.ends_with("/README.md") {
            let says = |text: &str| text.lines().nth(2).unwrap().to_string();
            let (page_line, cli_line) = (says(&p.text), says(&e.text));
            assert!(
                page_line.starts_with(
                    "Exported from the brokerlab page, which was running the scenario file"
                ),
                "{page_line}"
            );
            assert_eq!(
                p.text.replacen(&page_line, &cli_line, 1),
                e.text,
                "{stem}: only where it came from differs"
            );
        } else {
            assert_eq!(p.text, e.text, "{}", p.path);
        }
    }
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    let mut zipped: Vec<String> = entries
        .iter()
        .map(|e| {
            e.path
                .strip_prefix(&format!("{dir}/"))
                .expect("under one directory")
                .to_string()
        })
        .collect();
    zipped.sort();
    assert_eq!(
        zipped,
        written,
        "{stem} to {}: the same files",
        target.name()
    );
    for e in &entries {
        let on_disk = out.join(e.path.rsplit('/').next().unwrap());
        assert_eq!(
            e.text,
            std::fs::read_to_string(&on_disk).unwrap(),
            "{}",
            e.path
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&on_disk).unwrap().permissions(),
        );
        assert_eq!(e.executable, mode & 0o111 != 0, "{}: executable", e.path);
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn the_zip_holds_what_export_real_writes_for_rabbitmq() {
    same_as_the_cli("nack_requeue", Target::Rabbitmq);
}

#[test]
fn the_zip_holds_what_export_real_writes_for_nats() {
    same_as_the_cli("real_broker/log_replay", Target::Nats);
}

#[test]
fn the_zip_holds_what_export_real_writes_for_kafka_with_its_compose_file() {
    same_as_the_cli("log_at_least_once", Target::Kafka);
}

#[test]
fn a_target_that_cannot_run_the_scenario_is_refused_with_the_field() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/nack_requeue.json"
    ))
    .unwrap();
    let session = Session::from_json("nack_requeue.json", &text).unwrap();
    let origin = Origin::PageFile {
        name: "nack_requeue.json",
    };
    let e = zipped(
        session.world().scenario(),
        origin,
        Target::Kafka,
        &Templates::built_in(),
    )
    .unwrap_err();
    assert_eq!(e.path, "broker");
    assert!(e.reason.contains("rabbitmq only"), "{e}");
}
