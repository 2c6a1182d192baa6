//! The `brokerlab` binary: summaries, exit codes, and reproducible failures.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/cli.rs"]
mod support;
use support::brokerlab;

#[test]
fn run_prints_a_one_line_json_summary_and_writes_the_history() {
    let history = std::env::temp_dir().join(format!("brokerlab-cli-{}.jsonl", std::process::id()));
    let h = history.to_str().unwrap();
    let (code, out, err) = brokerlab(&[
        "run",
        "scenarios/prefetch.json",
        "--seed",
        "7",
        "--history",
        h,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1);
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["seed"], 7);
    assert_eq!(summary["counts"]["processed"], 30);
    let jsonl = std::fs::read_to_string(&history).unwrap();
    assert!(jsonl
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
    assert!(jsonl.contains(r#""f":"publish""#));
    std::fs::remove_file(history).unwrap();
}

#[test]
fn bad_input_exits_2_naming_the_field() {
    let dir = std::env::temp_dir().join(format!("brokerlab-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/prefetch.json"
    ))
    .unwrap();
    std::fs::write(&bad, text.replace(r#""prefetch": 3"#, r#""prefetch": 0"#)).unwrap();
    let (code, _, err) = brokerlab(&["run", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("clients[1].prefetch: must be in 1..="),
        "{err}"
    );
    let (code, _, err) = brokerlab(&["run", "does-not-exist.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read does-not-exist.json"), "{err}");
    let (code, _, err) = brokerlab(&["sweep", "scenarios/prefetch.json", "--seeds", "many"]);
    assert_eq!(code, 2);
    assert!(err.contains("--seeds"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sweep_stops_at_the_first_failing_seed_with_a_command_that_reproduces_it() {
    // auto-ack + consumer crashes loses messages; forbid that and sweep.
    let dir = std::env::temp_dir().join(format!("brokerlab-cli-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("strict.json");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/auto_ack_loss.json"
    ))
    .unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["expect"] = serde_json::json!({ "no_lost": true });
    v["faults"] = serde_json::json!([]);
    std::fs::write(&path, v.to_string()).unwrap();
    let p = path.to_str().unwrap();
    let (code, _, err) = brokerlab(&["sweep", p, "--seeds", "50"]);
    assert_eq!(code, 1, "{err}");
    let repro = err
        .lines()
        .find_map(|l| l.strip_prefix("reproduce with: brokerlab "))
        .expect("a reproduce line");
    let args: Vec<&str> = repro.split(' ').collect();
    assert!(
        args.contains(&"--random-faults") && args.contains(&"--seed"),
        "{repro}"
    );
    let (again, out, err2) = brokerlab(&args);
    assert_eq!(again, 1, "the printed command fails the same way: {err2}");
    assert!(
        out.contains(r#""ok":false"#) && err2.contains("expect.no_lost"),
        "{err2}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bench_guarantees_prints_one_checked_line_per_broker_and_guarantee() {
    let (code, out, err) = brokerlab(&["bench", "--guarantees", "--messages", "800"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cells: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["broker"].as_str().unwrap(),
                l["guarantee"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            ("log", "at_most_once"),
            ("log", "at_least_once"),
            ("log", "exactly_once_idempotent"),
            ("log", "exactly_once_transactional"),
            ("queue", "at_most_once"),
            ("queue", "at_least_once"),
            ("queue", "exactly_once_idempotent"),
        ]
    );
    for l in &lines {
        assert_eq!(l["platform"], "native");
        assert_eq!(l["effects"], 800, "{l}: one effect per message, no faults");
        assert!(l["msgs_per_s"].as_f64().unwrap() > 0.0, "{l}");
        if l["guarantee"] == "at_least_once" {
            assert_eq!(l["vs_at_least_once"], 1.0, "{l}");
        }
    }
    let (code, _, err) = brokerlab(&["bench", "--guarantees", "--messages", "801"]);
    assert_eq!(code, 2);
    assert!(err.contains("multiple of 8"), "{err}");
}
