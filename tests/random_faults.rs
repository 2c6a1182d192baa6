//! The random fault draw of `brokerlab sweep` / `run --random-faults`
//! (`src/sim/faults.rs`): the armed faults `crash_after_send` and
//! `crash_after_process` are drawn when their `fault_options` ask for them,
//! and seeds of scenarios that do not ask draw exactly what they drew before.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::config::{FaultAction, Scenario};
use brokerlab::sim::faults::random_faults;
use brokerlab::world::World;

/// Every scenario file with `fault_options`, as a sweep uses them.
const SWEPT: [&str; 8] = [
    include_str!("../scenarios/auto_ack_loss.json"),
    include_str!("../scenarios/broker_crash.json"),
    include_str!("../scenarios/confirm_retry_duplicates.json"),
    include_str!("../scenarios/consumer_crash_redelivery.json"),
    include_str!("../scenarios/log_crash_sweep.json"),
    include_str!("../scenarios/lossy_network.json"),
    include_str!("../scenarios/round_robin_reorder.json"),
    include_str!("../scenarios/txn_crash_sweep.json"),
];

/// xxh3 of the faults drawn for seeds 1..=200 of every file in [`SWEPT`],
/// taken before the armed kinds existed. A new fault option must leave it
/// alone, or every recorded failing seed would replay a different run.
const DRAWS_HASH: u64 = 0x79b7_8c16_8766_9858;

#[test]
fn seeds_that_do_not_ask_for_armed_faults_draw_what_they_drew_before() {
    let mut text = String::new();
    for doc in SWEPT {
        let s = Scenario::from_json(doc).unwrap();
        for seed in 1..=200 {
            let faults = random_faults(&s, seed);
            text.push_str(&serde_json::to_string(&faults).unwrap());
            text.push('\n');
        }
    }
    let hash = xxhash_rust::xxh3::xxh3_64(text.as_bytes());
    assert_eq!(hash, DRAWS_HASH, "random fault draws changed: {hash:#018x}");
}

/// The matrix's log pipeline with only the armed kinds enabled.
fn armed_only() -> Scenario {
    let mut s = Scenario::from_json(include_str!("../scenarios/log_crash_sweep.json")).unwrap();
    let o = &mut s.fault_options;
    (
        o.broker_crash,
        o.consumer_crash,
        o.producer_crash,
        o.drop_acks,
    ) = (false, false, false, false);
    (o.crash_after_send, o.crash_after_process) = (true, true);
    s
}

#[test]
fn armed_faults_are_drawn_when_asked_and_aimed_at_the_right_clients() {
    let s = armed_only();
    let (mut sends, mut processes) = (0, 0);
    for seed in 1..=50 {
        let faults = random_faults(&s, seed);
        assert!(!faults.is_empty(), "seed {seed}: at least one fault");
        for f in &faults {
            let until = f.until_ms.expect("an armed fault says when it restarts");
            assert!(until > f.at_ms, "seed {seed}: {f:?}");
            match f.action {
                FaultAction::CrashAfterSend => {
                    assert_eq!(f.target, "p1", "seed {seed}");
                    sends += 1;
                }
                FaultAction::CrashAfterProcess => {
                    assert!(["c1", "c2"].contains(&f.target.as_str()), "seed {seed}");
                    processes += 1;
                }
                other => panic!("seed {seed}: only armed faults asked for, drew {other:?}"),
            }
        }
    }
    assert!(sends > 10 && processes > 10, "{sends} / {processes}");
}

/// `brokerlab sweep` with the armed kinds: they fire (a producer crashes
/// after a send and re-sends, a consumer crashes after an effect and applies
/// it again) and at least once still holds on the log.
#[test]
fn a_sweep_with_armed_faults_fires_them_and_at_least_once_holds() {
    let s = armed_only();
    let (mut fired_runs, mut duplicated_runs) = (0, 0);
    for seed in 1..=30 {
        let run = brokerlab::sim::faults::with_random_faults(&s, seed);
        let mut w = World::new(&run);
        w.finish().expect("within bounds");
        let sum = w.summary();
        assert!(
            sum.ok,
            "seed {seed}: {:?}\nreproduce with: brokerlab run FILE --seed {seed} --random-faults (FILE: this scenario)\n{}",
            sum.violations,
            s.to_json_pretty()
        );
        assert_eq!(sum.counts.lost, 0, "seed {seed}");
        let crashes = w
            .history()
            .events()
            .iter()
            .filter(|e| e.entry == brokerlab::history::Entry::Crash)
            .count();
        // An armed fault drawn after its client's last send or effect never fires.
        fired_runs += u32::from(crashes > 0);
        duplicated_runs += u32::from(sum.counts.duplicated > 0);
    }
    assert!(
        fired_runs >= 20,
        "armed faults fired in {fired_runs} of 30 runs"
    );
    assert!(
        duplicated_runs > 0,
        "crashing after an effect must re-apply one somewhere"
    );
}
