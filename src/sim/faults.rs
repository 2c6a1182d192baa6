//! Randomised fault schedules for `brokerlab sweep`.
//!
//! A fixed schedule lives in the scenario (`faults`). A sweep adds faults drawn
//! from the scenario's `fault_options` with the run's seed, so a failing seed can
//! be replayed exactly with `brokerlab run SCENARIO --seed N --random-faults`.
//!
//! Besides crashes and dropped acks the draw can arm `crash_after_send` and
//! `crash_after_process` (the faults that tell the guarantees apart) when
//! `fault_options` asks for them. New kinds only ever join the end of the
//! list of kinds to draw from, and only when asked for, so a seed of a
//! scenario that does not ask draws exactly the faults it drew before
//! (`tests/random_faults.rs` pins that).

use super::rng::SimRng;
use crate::config::{ClientSpec, FaultAction, FaultSpec, Scenario};

/// The stream name for fault draws (see [`SimRng::stream`]).
const FAULT_STREAM: u64 = 0xFA17;

/// Kinds of fault a sweep can draw, in a fixed order so draws are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    BrokerCrash,
    ConsumerCrash,
    ProducerCrash,
    DropAcks,
    /// Armed: the producer crashes after its next send (`crash_after_send`).
    CrashAfterSend,
    /// Armed: the consumer crashes after its next effect (`crash_after_process`).
    CrashAfterProcess,
}

/// Draws extra faults for `seed` from `scenario.fault_options`.
pub fn random_faults(scenario: &Scenario, seed: u64) -> Vec<FaultSpec> {
    let opts = scenario.fault_options;
    let mut kinds = Vec::new();
    let consumers = ids(scenario, |c| {
        matches!(c, ClientSpec::Consumer(_) | ClientSpec::LogConsumer(_))
    });
    let producers = ids(scenario, |c| {
        matches!(c, ClientSpec::Producer(_) | ClientSpec::LogProducer(_))
    });
    if opts.broker_crash {
        kinds.push(Kind::BrokerCrash);
    }
    if opts.consumer_crash && !consumers.is_empty() {
        kinds.push(Kind::ConsumerCrash);
    }
    if opts.producer_crash && !producers.is_empty() {
        kinds.push(Kind::ProducerCrash);
    }
    if opts.drop_acks {
        kinds.push(Kind::DropAcks);
    }
    // Pushed last: with these options off the list, and so every draw of an
    // existing seed, stays as it was.
    if opts.crash_after_send && !producers.is_empty() {
        kinds.push(Kind::CrashAfterSend);
    }
    if opts.crash_after_process && !consumers.is_empty() {
        kinds.push(Kind::CrashAfterProcess);
    }
    if kinds.is_empty() || opts.max_faults == 0 {
        return Vec::new();
    }
    let mut rng = SimRng::stream(seed, FAULT_STREAM);
    let count = rng.range_inclusive(1, u64::from(opts.max_faults));
    let mut faults = Vec::new();
    for _ in 0..count {
        let kind = kinds[rng.below(kinds.len() as u64) as usize];
        // Faults start in the first three quarters so there is time to recover.
        let at_ms = rng.below((scenario.duration_ms * 3 / 4).max(1));
        let until_ms = at_ms
            + rng
                .range_inclusive(opts.downtime_ms_min, opts.downtime_ms_max)
                .max(1);
        let target = match kind {
            Kind::BrokerCrash => crate::node::NodeId::FIRST.name().to_string(),
            Kind::ConsumerCrash | Kind::CrashAfterProcess => pick(&mut rng, &consumers),
            Kind::ProducerCrash | Kind::CrashAfterSend => pick(&mut rng, &producers),
            Kind::DropAcks => pick(&mut rng, &all_ids(scenario)),
        };
        push_fault(
            &mut faults,
            kind,
            target,
            at_ms,
            until_ms,
            scenario.duration_ms,
        );
    }
    faults
}

fn push_fault(
    faults: &mut Vec<FaultSpec>,
    kind: Kind,
    target: String,
    at_ms: u64,
    until_ms: u64,
    end_ms: u64,
) {
    // These carry their own end: when the acks flow again, or when the
    // armed crash's client restarts (after it fired, at `until_ms` or at
    // once if it fired later than that).
    let with_until = match kind {
        Kind::DropAcks => Some(FaultAction::DropAcks),
        Kind::CrashAfterSend => Some(FaultAction::CrashAfterSend),
        Kind::CrashAfterProcess => Some(FaultAction::CrashAfterProcess),
        Kind::BrokerCrash | Kind::ConsumerCrash | Kind::ProducerCrash => None,
    };
    if let Some(action) = with_until {
        faults.push(FaultSpec {
            at_ms,
            action,
            target,
            until_ms: Some(until_ms),
        });
        return;
    }
    faults.push(FaultSpec {
        at_ms,
        action: FaultAction::Crash,
        target: target.clone(),
        until_ms: None,
    });
    if until_ms < end_ms {
        faults.push(FaultSpec {
            at_ms: until_ms,
            action: FaultAction::Restart,
            target,
            until_ms: None,
        });
    }
}

fn ids(scenario: &Scenario, keep: impl Fn(&ClientSpec) -> bool) -> Vec<String> {
    scenario
        .clients
        .iter()
        .filter(|c| keep(c))
        .map(|c| c.id().to_string())
        .collect()
}

fn all_ids(scenario: &Scenario) -> Vec<String> {
    ids(scenario, |_| true)
}

fn pick(rng: &mut SimRng, from: &[String]) -> String {
    assert!(
        !from.is_empty(),
        "a kind is only offered when it has targets"
    );
    from[rng.below(from.len() as u64) as usize].clone()
}

/// The scenario with `seed` and the drawn faults added, ready to run.
pub fn with_random_faults(scenario: &Scenario, seed: u64) -> Scenario {
    let mut s = scenario.clone();
    s.seed = seed;
    s.faults.extend(random_faults(scenario, seed));
    s.faults.sort_by_key(|f| f.at_ms);
    s
}
