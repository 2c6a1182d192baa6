//! The behaviour lock: every bundled scenario, seeds 1..=100, with and without
//! `--random-faults`, must give the same history hash and the same summary line
//! as `tests/golden/histories.tsv` records.
//!
//! Why: refactors (moving modules, splitting rooms, speeding up hot paths) must
//! not change what a seed does. A change that moves a hash on purpose is its own
//! commit that regenerates the file and says why:
//!
//! ```sh
//! BLESS=1 cargo test --profile sweep --test golden_histories
//! ```
//!
//! Each row is `file<TAB>seed<TAB>faults<TAB>history-hash<TAB>summary-hash<TAB>ok/fail`:
//! the summary is the `brokerlab run` JSON line, kept as its xxh3 so the file
//! stays small; a mismatch prints the full line to compare by hand with
//! `brokerlab run scenarios/FILE --seed N [--random-faults]`.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::config::Scenario;
use brokerlab::sim::faults::with_random_faults;
use brokerlab::world::World;
use std::fmt::Write as _;
use std::path::Path;

/// Seeds per scenario and fault mode (1..=SEEDS).
const SEEDS: u64 = 100;
const GOLDEN: &str = "tests/golden/histories.tsv";

fn scenario_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir("scenarios")
        .expect("scenarios/ is readable")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .into_string()
                .unwrap()
        })
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the bundled scenarios are all there");
    files
}

/// One row of the golden file, and the summary line it hashes (for messages).
fn row(file: &str, scenario: &Scenario, seed: u64, faults: bool) -> (String, String) {
    let mut s = scenario.clone();
    s.seed = seed;
    if faults {
        s = with_random_faults(&s, seed);
    }
    let mut world = World::new(&s);
    let outcome = world.finish();
    let summary = serde_json::to_string(&world.summary()).expect("summaries serialize");
    let history = world.history().hash(world.names());
    let status = match outcome {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("err:{e}"),
    };
    let line = format!(
        "{file}\t{seed}\t{}\t{history:016x}\t{:016x}\t{status}",
        if faults { "faults" } else { "plain" },
        xxhash_rust::xxh3::xxh3_64(summary.as_bytes()),
    );
    (line, summary)
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "4,600 runs: scripts/test.sh runs it at release speed (profile sweep)"
)]
fn every_scenario_and_seed_keeps_its_history() {
    let mut actual = String::new();
    let mut summaries = Vec::new();
    for file in scenario_files() {
        let json = std::fs::read_to_string(Path::new("scenarios").join(&file)).unwrap();
        let scenario = Scenario::from_json(&json).unwrap_or_else(|e| panic!("{file}: {e}"));
        for seed in 1..=SEEDS {
            for faults in [false, true] {
                let (line, summary) = row(&file, &scenario, seed, faults);
                writeln!(actual, "{line}").unwrap();
                summaries.push(summary);
            }
        }
    }
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(GOLDEN, &actual).expect("write the golden file");
        return;
    }
    let expected = std::fs::read_to_string(GOLDEN).expect("tests/golden/histories.tsv exists");
    let mut diffs = Vec::new();
    for ((want, got), summary) in expected.lines().zip(actual.lines()).zip(&summaries) {
        if want != got {
            let mut cols = got.split('\t');
            let (file, seed, mode) = (
                cols.next().unwrap(),
                cols.next().unwrap(),
                cols.next().unwrap(),
            );
            let flag = if mode == "faults" {
                " --random-faults"
            } else {
                ""
            };
            diffs.push(format!(
                "want {want}\n got {got}\n summary now {summary}\n reproduce: cargo run -- run scenarios/{file} --seed {seed}{flag}"
            ));
        }
    }
    assert_eq!(
        expected.lines().count(),
        actual.lines().count(),
        "row count (a scenario added or removed? BLESS=1 in its own commit)"
    );
    assert!(
        diffs.is_empty(),
        "{} rows moved; first ones:\n{}",
        diffs.len(),
        diffs.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
}
