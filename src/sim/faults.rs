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
use crate::node::NodeId;

/// The stream name for fault draws (see [`SimRng::stream`]).
const FAULT_STREAM: u64 = 0xFA17;

/// Which broker of a cluster a broker fault hits, and how an isolation
/// cuts: its own stream, so a run without a cluster never draws from it
/// and the fault stream's sequence stays what it was.
const CLUSTER_FAULT_STREAM: u64 = 0xC1A5;

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
    /// Cluster only: a named broker is isolated, then healed.
    Isolation,
    /// Cluster only: a named broker's replica fetcher stalls for a while.
    SlowFollower,
}

/// Who a drawn fault may hit: consumers, producers, brokers.
struct Targets {
    consumers: Vec<String>,
    producers: Vec<String>,
    brokers: Vec<String>,
}

/// The kinds `fault_options` asks for that have a target, in the fixed
/// order draws index into.
fn kinds(scenario: &Scenario, t: &Targets) -> Vec<Kind> {
    let opts = scenario.fault_options;
    let cluster = t.brokers.len() > 1;
    let wanted = [
        (opts.broker_crash, Kind::BrokerCrash),
        (
            opts.consumer_crash && !t.consumers.is_empty(),
            Kind::ConsumerCrash,
        ),
        (
            opts.producer_crash && !t.producers.is_empty(),
            Kind::ProducerCrash,
        ),
        (opts.drop_acks, Kind::DropAcks),
        // Pushed last: with these options off the list, and so every
        // draw of an existing seed, stays as it was.
        (
            opts.crash_after_send && !t.producers.is_empty(),
            Kind::CrashAfterSend,
        ),
        (
            opts.crash_after_process && !t.consumers.is_empty(),
            Kind::CrashAfterProcess,
        ),
        (opts.broker_isolation && cluster, Kind::Isolation),
        (opts.slow_follower && cluster, Kind::SlowFollower),
    ];
    wanted
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, k)| *k)
        .collect()
}

/// Draws extra faults for `seed` from `scenario.fault_options`.
pub fn random_faults(scenario: &Scenario, seed: u64) -> Vec<FaultSpec> {
    let opts = scenario.fault_options;
    let t = Targets {
        consumers: ids(scenario, |c| {
            matches!(c, ClientSpec::Consumer(_) | ClientSpec::LogConsumer(_))
        }),
        producers: ids(scenario, |c| {
            matches!(c, ClientSpec::Producer(_) | ClientSpec::LogProducer(_))
        }),
        brokers: broker_names(scenario),
    };
    let kinds = kinds(scenario, &t);
    let (consumers, producers, brokers) = (&t.consumers, &t.producers, &t.brokers);
    if kinds.is_empty() || opts.max_faults == 0 {
        return Vec::new();
    }
    let mut rng = SimRng::stream(seed, FAULT_STREAM);
    let mut cluster_rng = SimRng::stream(seed, CLUSTER_FAULT_STREAM);
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
            Kind::BrokerCrash | Kind::Isolation | Kind::SlowFollower => {
                pick(&mut cluster_rng, brokers)
            }
            Kind::ConsumerCrash | Kind::CrashAfterProcess => pick(&mut rng, consumers),
            Kind::ProducerCrash | Kind::CrashAfterSend => pick(&mut rng, producers),
            Kind::DropAcks => pick(&mut rng, &all_ids(scenario)),
        };
        let action = match kind {
            // Half the isolations cut a broker from the other brokers
            // only (its ISR shrinks), half from everyone.
            Kind::Isolation if cluster_rng.below(2) == 1 => FaultAction::IsolateFromBrokers,
            Kind::Isolation => FaultAction::Isolate,
            _ => FaultAction::Crash,
        };
        let window = (at_ms, until_ms, scenario.duration_ms);
        push_fault(&mut faults, (kind, action), target, window);
    }
    faults
}

/// The brokers a broker fault may hit: `b1` … `bN` in a cluster of more
/// than one, else the single node `broker`.
fn broker_names(scenario: &Scenario) -> Vec<String> {
    let brokers = match &scenario.broker {
        crate::config::BrokerSpec::Log(l) => l.cluster.map_or(1, |c| c.brokers),
        crate::config::BrokerSpec::Queue(_) => 1,
    };
    if brokers <= 1 {
        return vec![NodeId::FIRST.name().to_string()];
    }
    (1..=brokers)
        .map(|i| NodeId(i).name().to_string())
        .collect()
}

/// Adds one drawn fault: a crash (or isolation) and its restart (heal)
/// at `until_ms` if that is inside the run, or one fault that carries its
/// own end. `action` is the opening action of a crash-like kind.
fn push_fault(
    faults: &mut Vec<FaultSpec>,
    (kind, action): (Kind, FaultAction),
    target: String,
    (at_ms, until_ms, end_ms): (u64, u64, u64),
) {
    // These carry their own end: when the acks flow again, or when the
    // armed crash's client restarts (after it fired, at `until_ms` or at
    // once if it fired later than that).
    let with_until = match kind {
        Kind::DropAcks => Some(FaultAction::DropAcks),
        Kind::CrashAfterSend => Some(FaultAction::CrashAfterSend),
        Kind::CrashAfterProcess => Some(FaultAction::CrashAfterProcess),
        Kind::SlowFollower => Some(FaultAction::SlowFollower),
        Kind::BrokerCrash | Kind::ConsumerCrash | Kind::ProducerCrash | Kind::Isolation => None,
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
        action,
        target: target.clone(),
        until_ms: None,
    });
    let back = match action {
        FaultAction::Isolate | FaultAction::IsolateFromBrokers => FaultAction::Heal,
        _ => FaultAction::Restart,
    };
    if until_ms < end_ms {
        faults.push(FaultSpec {
            at_ms: until_ms,
            action: back,
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
