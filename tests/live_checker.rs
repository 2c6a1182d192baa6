//! The live checker ([`brokerlab::check::live`]) against the batch checker.
//!
//! Property: for any run, reading the history in chunks of any size gives,
//! after every chunk, exactly the summary the batch checker gives for the
//! history so far (`World::live_summary` == `World::summary`, every field,
//! every finding and its text). Runs cover both brokers, every delivery
//! guarantee, random crashes of the broker, consumers and producers, dropped
//! acks, the final drain of a log run, and every example scenario.

use brokerlab::app::playground::{BrokerKind, ConsumerSettings, ProducerSettings, Setup};
use brokerlab::config::Guarantee;
use brokerlab::config::{ClientSpec, CommitMode, FaultOptions, Scenario};
use brokerlab::sim::faults::with_random_faults;
use brokerlab::sim::rng::SimRng;
use brokerlab::world::World;

/// Seeds of playground runs (each picks a broker, a guarantee and faults).
const PLAYGROUND_SEEDS: u64 = 60;
/// Seeds per example scenario (random faults where the scenario allows them).
const FILE_SEEDS: u64 = 4;
/// Virtual time of one playground run before its drain.
const RUN_MS: u64 = 1_500;
/// A stream of the seed's PRNG for chunk sizes, apart from the world's own.
const CHUNK_STREAM: u64 = 0xC4C4;

/// Runs `world` to its end in random-sized chunks, comparing the live and
/// the batch summary after each one; a log run then drains and compares
/// again. `what` names the run in a failure.
fn run_in_chunks(mut world: World, seed: u64, what: &str) -> usize {
    let mut live = world.live_checker();
    let mut rng = SimRng::stream(seed, CHUNK_STREAM);
    let mut compared = 0;
    let mut compare = |world: &World, live: &mut _| {
        let batch = world.summary();
        let incremental = world.live_summary(live);
        assert!(
            batch == incremental,
            "{what}, seed {seed}: after {} events the live checker differs from the batch one\n\
             batch: {batch:#?}\nlive: {incremental:#?}\n\
             reproduce: cargo test --test live_checker (the failing run is named above)",
            world.history().len()
        );
        compared += 1;
    };
    while !world.is_finished() {
        // Mostly small chunks (the page's refreshes), sometimes large ones.
        let chunk = if rng.below(4) == 0 {
            rng.range_inclusive(200, 3_000)
        } else {
            rng.range_inclusive(1, 60)
        };
        for _ in 0..chunk {
            world.step().expect("the run stays within its bounds");
        }
        compare(&world, &mut live);
    }
    if world.broker().as_log().is_some() {
        world.drain(500).expect("drains");
        compare(&world, &mut live);
    }
    compared
}

/// A playground run: the page's settings with more load and random faults.
fn playground(seed: u64) -> (Scenario, String) {
    let mut rng = SimRng::new(seed);
    let broker = [BrokerKind::Queue, BrokerKind::Log][rng.below(2) as usize];
    let deliveries: Vec<Guarantee> = Guarantee::ALL
        .into_iter()
        .filter(|d| broker.unavailable(*d).is_none())
        .collect();
    let delivery = deliveries[rng.below(deliveries.len() as u64) as usize];
    let setup = Setup {
        broker,
        delivery,
        partitions: rng.range_inclusive(1, 4) as u32,
        seed,
        producers: vec![
            ProducerSettings {
                rate_per_s: 300,
                keys: 4,
            };
            rng.range_inclusive(1, 3) as usize
        ],
        consumers: vec![
            ConsumerSettings {
                processing_ms: rng.range_inclusive(1, 15),
                prefetch: rng.range_inclusive(1, 20) as u32,
            };
            rng.range_inclusive(1, 3) as usize
        ],
        ..Setup::default()
    };
    let mut scenario = setup.to_scenario().expect("a valid setup");
    scenario.duration_ms = RUN_MS;
    scenario.fault_options = FaultOptions {
        broker_crash: true,
        consumer_crash: true,
        producer_crash: true,
        drop_acks: true,
        crash_after_send: true,
        crash_after_process: true,
        torn_writes: broker == BrokerKind::Log,
        broker_isolation: false,
        slow_follower: false,
        max_faults: 4,
        downtime_ms_min: 20,
        downtime_ms_max: 400,
    };
    let what = format!("playground {} / {}", broker.label(), delivery.label());
    (with_random_faults(&scenario, seed), what)
}

#[test]
fn live_checker_matches_batch_on_playground_runs_with_faults() {
    let mut compared = 0;
    for seed in 1..=PLAYGROUND_SEEDS {
        let (scenario, what) = playground(seed);
        compared += run_in_chunks(World::new(&scenario), seed, &what);
    }
    assert!(
        compared > PLAYGROUND_SEEDS as usize * 5,
        "{compared} comparisons"
    );
}

#[test]
fn live_checker_matches_batch_when_acknowledged_writes_are_skipped() {
    // The at-least-once negative control: consumers commit before they
    // process, so a consumer crash skips acknowledged records (lost-write).
    let mut lost_writes = 0;
    for seed in 1..=20 {
        let mut scenario = playground_log(seed);
        for c in &mut scenario.clients {
            if let ClientSpec::LogConsumer(k) = c {
                k.commit = Some(CommitMode::BeforeProcessing);
            }
        }
        let scenario = with_random_faults(&scenario, seed);
        let what = "playground Log / At least once, commit before processing";
        run_in_chunks(World::new(&scenario), seed, what);
        let mut w = World::new(&scenario);
        w.run().expect("runs");
        lost_writes += w.summary().log.expect("a log run").lost_write;
    }
    assert!(lost_writes > 0, "the control must exercise lost-write");
}

/// A log, at-least-once playground setup for `seed`.
fn playground_log(seed: u64) -> Scenario {
    let setup = Setup {
        broker: BrokerKind::Log,
        delivery: Guarantee::AtLeastOnce,
        partitions: 2,
        seed,
        producers: vec![ProducerSettings::default(); 2],
        consumers: vec![ConsumerSettings::default(); 3],
        ..Setup::default()
    };
    let mut scenario = setup.to_scenario().expect("a valid setup");
    scenario.duration_ms = RUN_MS;
    scenario.fault_options = FaultOptions {
        consumer_crash: true,
        max_faults: 4,
        downtime_ms_min: 20,
        downtime_ms_max: 400,
        ..FaultOptions::default()
    };
    scenario
}

#[test]
fn live_checker_matches_batch_on_every_example_scenario() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("scenarios/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the examples are there");
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        let scenario = Scenario::from_json(&text).expect("valid");
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        for seed in 1..=FILE_SEEDS {
            let run = with_random_faults(&scenario, seed);
            let what = format!("scenarios/{name} --random-faults");
            run_in_chunks(World::new(&run), seed, &what);
        }
    }
}

#[test]
fn live_checker_matches_batch_when_the_transactional_checks_find_anomalies() {
    // The negative control of the transactional sweep: a read_uncommitted
    // sink sees aborted and not yet committed records (G1a, precommitted-read).
    let sweep = include_str!("../scenarios/txn_crash_sweep.json").replace(
        r#""isolation.level": "read_committed", "dedup_ids_max""#,
        r#""isolation.level": "read_uncommitted", "dedup_ids_max""#,
    );
    let scenario = Scenario::from_json(&sweep).expect("valid");
    let mut anomalies = 0;
    for seed in 1..=12 {
        let run = with_random_faults(&scenario, seed);
        run_in_chunks(World::new(&run), seed, "txn_crash_sweep (read_uncommitted)");
        let mut w = World::new(&run);
        w.run().expect("runs");
        anomalies += usize::from(!w.summary().ok);
    }
    assert!(anomalies > 0, "the control must exercise the anomaly paths");
}

/// Printed, not asserted: what one checker refresh costs at the page's
/// benchmark load (25 producers at 400 msgs/s, 25 consumers), batch against
/// live, as the run grows. Run with
/// `cargo test --release --test live_checker -- --ignored --nocapture`.
#[test]
#[ignore = "measurement"]
fn refresh_cost_batch_against_live() {
    use std::time::Instant;
    let setup = Setup {
        producers: vec![
            ProducerSettings {
                rate_per_s: 400,
                keys: 4
            };
            25
        ],
        consumers: vec![
            ConsumerSettings {
                processing_ms: 2,
                prefetch: 50
            };
            25
        ],
        ..Setup::default()
    };
    for broker in [BrokerKind::Queue, BrokerKind::Log] {
        let setup = Setup {
            broker,
            ..setup.clone()
        };
        let mut world = World::new(&setup.to_scenario().expect("valid"));
        let mut live = world.live_checker();
        let mut live_max_ms: f64 = 0.0;
        let (mut live_sum_ms, mut refreshes) = (0.0, 0);
        for t_ms in (250..=30_000).step_by(250) {
            world.run_until(t_ms).expect("runs");
            let start = Instant::now();
            let summary = world.live_summary(&mut live);
            let ms = start.elapsed().as_secs_f64() * 1e3;
            live_max_ms = live_max_ms.max(ms);
            (live_sum_ms, refreshes) = (live_sum_ms + ms, refreshes + 1);
            if t_ms % 10_000 == 0 {
                let start = Instant::now();
                let batch = world.summary();
                let batch_ms = start.elapsed().as_secs_f64() * 1e3;
                assert!(batch == summary, "the same summary");
                let start = Instant::now();
                let snap = world.snapshot_among(live.wanted());
                let snap_ms = start.elapsed().as_secs_f64() * 1e3;
                println!(
                    "live-checker: {} t={} s, {} events, {} processed: batch {batch_ms:.1} ms; live refresh every 250 virtual ms: mean {:.2} ms, max {live_max_ms:.2} ms (of which the snapshot now {snap_ms:.2} ms for {} wanted)",
                    broker.label(),
                    t_ms / 1000,
                    world.history().len(),
                    summary.counts.processed,
                    live_sum_ms / f64::from(refreshes),
                    live.wanted().len(),
                );
                drop(snap);
                (live_max_ms, live_sum_ms, refreshes) = (0.0, 0.0, 0);
            }
        }
    }
}
