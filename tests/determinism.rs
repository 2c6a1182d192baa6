//! Same scenario + same seed ⇒ byte-identical history.
#![cfg(not(target_arch = "wasm32"))]

mod golden;

use brokerlab::config::Scenario;
use brokerlab::sim::faults::with_random_faults;
use brokerlab::world::World;

fn run(scenario: &Scenario) -> (u64, String) {
    let mut world = World::new(scenario);
    world.run().expect("within bounds");
    let jsonl = world.history().to_jsonl(world.names());
    (world.history().hash(world.names()), jsonl)
}

#[test]
fn the_same_seed_gives_the_same_history_bytes() {
    let scenario = Scenario::from_json(golden::SCENARIO_JSON).unwrap();
    let (h1, j1) = run(&scenario);
    let (h2, j2) = run(&scenario);
    assert_eq!(j1, j2);
    assert_eq!(h1, h2);
    assert_eq!(
        h1,
        xxhash_rust::xxh3::xxh3_64(j1.as_bytes()),
        "hash() hashes the JSONL bytes"
    );
    assert!(j1.lines().count() > 500, "a real history, not an empty one");
    assert_eq!(
        h1,
        golden::HISTORY_HASH,
        "golden hash changed: {h1:#018x} (update tests/golden only for an intended change)"
    );
}

#[test]
fn a_different_seed_gives_a_different_history() {
    let scenario = Scenario::from_json(golden::SCENARIO_JSON).unwrap();
    let (h1, _) = run(&with_random_faults(&scenario, 1));
    let (h2, _) = run(&with_random_faults(&scenario, 2));
    assert_ne!(h1, h2);
}

#[test]
fn stepping_and_running_in_slices_give_the_same_history() {
    let scenario = Scenario::from_json(golden::SCENARIO_JSON).unwrap();
    let (whole, _) = run(&scenario);
    let mut world = World::new(&scenario);
    let mut t = 0;
    while !world.is_finished() {
        t += 37;
        world.run_until(t).unwrap();
    }
    assert_eq!(world.history().hash(world.names()), whole);
}

#[test]
fn the_log_broker_history_is_pinned_too() {
    let scenario = Scenario::from_json(golden::LOG_SCENARIO_JSON).unwrap();
    let hash = |s: &Scenario| {
        let mut world = World::new(s);
        world.finish().expect("within bounds");
        assert!(world.history().len() > 5_000, "a real history");
        world.history().hash(world.names())
    };
    let h1 = hash(&scenario);
    assert_eq!(h1, hash(&scenario));
    assert_eq!(
        h1,
        golden::LOG_HISTORY_HASH,
        "log golden hash changed: {h1:#018x} (update tests/golden only for an intended change)"
    );
}
