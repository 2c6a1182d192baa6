//! A full disk in the middle of a run (IndexedDB's `QuotaExceededError`,
//! modelled by the memory store's capacity): durable writes stop, nothing
//! more is acknowledged, nothing acknowledged before is lost, and nothing
//! panics. A restart recovers what was durable and tries again.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::scenario::{FaultAction, FaultSpec, Scenario};
use brokerlab::sim::world::World;
use brokerlab::storage::{MemoryStore, Storage};

fn scenario(seed: u64) -> Scenario {
    let mut s = Scenario::from_json(include_str!("../scenarios/log_at_least_once.json")).unwrap();
    s.faults.clear();
    s.seed = seed;
    s
}

fn lines_with(world: &World, f: &str) -> usize {
    let needle = format!("\"f\":\"{f}\"");
    let jsonl = world.history().to_jsonl(world.names());
    jsonl.lines().filter(|l| l.contains(&needle)).count()
}

fn broker(world: &mut World, at_ms: u64, action: FaultAction) {
    let fault = FaultSpec {
        at_ms,
        action,
        target: "broker".into(),
        until_ms: None,
    };
    world.inject(fault).expect("a valid fault");
}

#[test]
fn a_full_disk_stops_durable_writes_without_losing_acknowledged_records() {
    for seed in 1..=8 {
        let repro = format!("seed {seed}");
        let mut store = MemoryStore::new(Default::default(), 5).with_capacity_bytes(6_000);
        store.recover();
        let mut world = World::with_storage(&scenario(seed), Box::new(store));
        world.run_until(1_500).unwrap();
        assert_eq!(lines_with(&world, "writes_stopped"), 1, "{repro}");
        let acked_before = world.summary().counts.confirmed;
        assert!(acked_before > 0, "{repro}: some records were durable first");
        world.run_until(2_500).unwrap();
        assert_eq!(
            world.summary().counts.confirmed,
            acked_before,
            "{repro}: nothing is acknowledged once writes stopped"
        );
        // A restart recovers what was durable; the disk is still full, so
        // writes stop again, and still nothing acknowledged is lost.
        broker(&mut world, 0, FaultAction::Crash);
        broker(&mut world, 0, FaultAction::Restart);
        world.finish().unwrap();
        let summary = world.summary();
        assert_eq!(summary.counts.lost, 0, "{repro}: {}", summary.identity);
        assert!(lines_with(&world, "writes_stopped") >= 1, "{repro}");
    }
}
