//! `brokerlab check` on recorded histories: every simulated scenario's
//! exported JSONL, read back and checked, gives the simulation's counts,
//! anomaly kinds and verdict; the CLI says the same; malformed files are
//! refused with the line and the field, never a panic.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::check::guarantee::judge;
use brokerlab::check::recorded::check_recorded;
use brokerlab::config::{Guarantee, Scenario};
use brokerlab::history::read::read_jsonl;
use brokerlab::world::World;
use std::collections::BTreeSet;

#[path = "support/cli.rs"]
mod support;
use support::{brokerlab, scenario_files};

#[test]
fn every_scenario_checked_from_its_jsonl_matches_the_simulation() {
    let mut transactional = Vec::new();
    for path in scenario_files() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let scenario = Scenario::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut world = World::new(&scenario);
        world.finish().unwrap();
        let sim = world.summary();
        let jsonl = world.history().to_jsonl(world.names());
        let recorded = match read_jsonl(&jsonl) {
            Ok(r) => r,
            Err(e) if e.reason.contains("not read by brokerlab check") => {
                transactional.push(name);
                continue;
            }
            Err(e) => panic!("{name}: {e}"),
        };
        for g in [Guarantee::AtMostOnce, Guarantee::AtLeastOnce] {
            let c = check_recorded(&recorded, Some(g));
            assert_eq!(c.summary.counts, sim.counts, "{name}: counts");
            assert_eq!(c.summary.log, sim.log, "{name}: log counts");
            let kinds: BTreeSet<&str> = sim.findings.iter().map(|f| f.kind).collect();
            assert_eq!(c.anomalies, kinds.into_iter().collect::<Vec<_>>(), "{name}");
            assert_eq!(
                c.verdict.unwrap().text,
                judge(g, &sim).text,
                "{name}: {g:?}"
            );
        }
    }
    // Only histories with transactions are left to a later reader.
    assert!(
        transactional.iter().all(|n| n.starts_with("txn_")),
        "{transactional:?}"
    );
}

#[test]
fn the_cli_gives_a_run_s_verdict_and_anomaly_kinds() {
    let history =
        std::env::temp_dir().join(format!("brokerlab-check-{}.jsonl", std::process::id()));
    let h = history.to_str().unwrap();
    let (code, out, err) = brokerlab(&["run", "scenarios/auto_ack_loss.json", "--history", h]);
    assert_eq!(code, 0, "{err}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (code, out, err) = brokerlab(&["check", h, "--guarantee", "at_least_once"]);
    assert_eq!(code, 1, "at least once is violated: {err}");
    let check: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(check["model"], "queue");
    assert_eq!(check["anomalies"], serde_json::json!(["lost"]));
    assert_eq!(check["counts"], run["counts"]);
    let lost = run["counts"]["lost"].as_u64().unwrap();
    assert_eq!(
        check["verdict"],
        format!("violated: {lost} findings (lost)")
    );
    let (code, out, _) = brokerlab(&["check", h, "--guarantee", "at_most_once"]);
    assert_eq!(code, 0);
    let check: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(check["verdict"], "holds");
    std::fs::remove_file(history).unwrap();
}

#[test]
fn the_cli_names_the_line_and_field_of_a_malformed_history() {
    let history = std::env::temp_dir().join(format!("brokerlab-bad-{}.jsonl", std::process::id()));
    let h = history.to_str().unwrap();
    let lines = [
        r#"{"time_ms":1,"process":"p1","type":"invoke","f":"publish","msg":"m0"}"#,
        r#"{"time_ms":2,"process":"p1","type":"ok","f":"publish","msg":"zero"}"#,
    ];
    std::fs::write(&history, lines.join("\n")).unwrap();
    let (code, out, err) = brokerlab(&["check", h]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("line 2: field `msg`"), "{err}");
    std::fs::write(&history, [0xff_u8, 0xfe, 0x00]).unwrap();
    let (code, _, err) = brokerlab(&["check", h]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
    let (code, _, err) = brokerlab(&["check", h, "--guarantee", "twice"]);
    assert_eq!(code, 2);
    assert!(err.contains("--guarantee: `twice`"), "{err}");
    let (code, _, err) = brokerlab(&["check"]);
    assert_eq!(code, 2);
    assert!(err.contains("missing HISTORY.jsonl"), "{err}");
    std::fs::remove_file(history).unwrap();
}
