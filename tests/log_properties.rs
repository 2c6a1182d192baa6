//! Property tests of the log broker over many seeds and fault schedules. On a
//! failure each prints the seed and the command that replays it.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::config::{ClientSpec, CommitMode, Scenario};
use brokerlab::sim::faults::with_random_faults;
use brokerlab::world::World;

const SWEEP: &str = "scenarios/log_crash_sweep.json";
/// Seeds per property: enough to hit crashes in every phase of a run.
const SEEDS: u64 = 40;

fn sweep_scenario() -> Scenario {
    let path = format!("{}/{SWEEP}", env!("CARGO_MANIFEST_DIR"));
    Scenario::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn acks_all_and_commit_after_processing_lose_nothing_under_any_crash_schedule() {
    let base = sweep_scenario();
    for seed in 1..=SEEDS {
        let s = with_random_faults(&base, seed);
        let mut world = World::new(&s);
        world.finish().expect("within bounds");
        let summary = world.summary();
        let log = summary.log.unwrap();
        assert!(
            log.lost_write == 0 && log.unseen == 0 && summary.ok,
            "seed {seed}: {:?}\n{:?}\nreproduce with: cargo run --bin brokerlab -- run {SWEEP} --seed {seed} --random-faults",
            summary.violations,
            summary.findings.iter().filter(|f| f.kind == "lost-write" || f.kind == "unseen").collect::<Vec<_>>()
        );
        assert!(
            summary.counts.processed > 0,
            "seed {seed}: the run did work"
        );
    }
}

/// Same workload, the consumers switched to `mode`, and c1 crashed while
/// busy: the checker must report the loss (the checker can fail).
fn loses_with(mode: Option<CommitMode>) {
    for seed in 1..=SEEDS / 4 {
        let mut s = sweep_scenario();
        s.seed = seed;
        for c in &mut s.clients {
            if let ClientSpec::LogConsumer(k) = c {
                k.enable_auto_commit = mode.is_none();
                k.auto_commit_interval_ms = 10;
                k.commit = mode;
                k.processing = brokerlab::config::ProcessingSpec::FixedMs(20);
            }
        }
        s.faults = serde_json::from_str(
            r#"[ { "at_ms": 1003, "action": "crash", "target": "c1" },
                 { "at_ms": 1500, "action": "restart", "target": "c1" } ]"#,
        )
        .unwrap();
        let mut world = World::new(&s);
        world.finish().expect("within bounds");
        let summary = world.summary();
        let log = summary.log.unwrap();
        assert!(
            log.lost_write + log.unseen > 0 && summary.counts.lost > 0 && !summary.ok,
            "seed {seed} {mode:?}: a consumer crash mid-processing must lose a record: {}",
            summary.identity
        );
    }
}

#[test]
fn commit_before_processing_and_a_consumer_crash_lose_records() {
    loses_with(Some(CommitMode::BeforeProcessing));
}

#[test]
fn commit_after_processing_with_the_same_crash_only_duplicates() {
    let mut s = sweep_scenario();
    s.faults = serde_json::from_str(
        r#"[ { "at_ms": 1003, "action": "crash", "target": "c1" },
             { "at_ms": 1500, "action": "restart", "target": "c1" } ]"#,
    )
    .unwrap();
    let mut world = World::new(&s);
    world.finish().unwrap();
    let summary = world.summary();
    assert_eq!(summary.counts.lost, 0, "{:?}", summary.findings);
}
