//! One delivery-guarantee setting that configures both ends of a run.
//!
//! A scenario may say `"guarantee": "at_least_once"` (top level, for every
//! producer/consumer pair in it). [`apply`] then sets the knobs underneath on
//! every client and sets `expect`, which is what the verdict judges. The knobs
//! stay usable on their own: leave `guarantee` out and they are taken exactly
//! as written, which is how the negative controls build a broken setup.
//!
//! | guarantee | queue producer | queue consumer | log producer | log consumer |
//! |---|---|---|---|---|
//! | `at_most_once` | no confirms | `no_ack` (auto) | `acks=0`, no retries | `commitSync` before processing (a refused or unanswered commit drops the batch) |
//! | `at_least_once` | confirms, retries | ack after processing | `acks=all`, retries | commit after processing |
//! | `exactly_once_idempotent` | as at least once (+ SQS FIFO `MessageDeduplicationId` in `sqs` mode) | + dedup store | + `enable.idempotence` | + dedup store |
//! | `exactly_once_transactional` | refused (no transactions) | refused | + `enable.idempotence` | read-process-write in a transaction, + a `read_committed` sink (see [`crate::guarantee::txn`]) |
//!
//! What each forbids, judged on processed effects: at most once forbids
//! `duplicated`, at least once forbids `lost`, exactly once forbids both.
//!
//! Why exactly once needs *both* idempotent halves here: the idempotent
//! producer only removes duplicates its own retries create within one
//! producer session (one producer id). A producer that crashes and re-sends
//! what it never saw acknowledged comes back as a new producer id, and a
//! consumer that crashes between its effect and its commit reads the record
//! again. Only the consumer's dedup store, written in the same transaction as
//! the effect, catches those.

pub mod txn;

use crate::config::{
    AckMode, Acks, BrokerSpec, ClientSpec, CommitMode, ConfirmSpec, Expectations, FaultAction,
    FaultSpec, Guarantee, LogProducerSpec, QueueMode, Scenario, ScenarioError,
};

/// Retries a guarantee gives a producer that must not give up: enough to
/// outlast any fault window of a run (each retry waits a request timeout).
pub const RETRIES_AT_LEAST: u32 = 1_000;
/// Kafka refuses `enable.idempotence` with more in-flight requests than this:
/// the broker's dedup window is 5 batches per producer and partition.
pub const IDEMPOTENT_IN_FLIGHT_MAX: u32 = 5;
/// Processed message ids the guarantee's dedup store remembers per store.
pub const DEDUP_IDS_DEFAULT: u64 = 100_000;

/// A guarantee a broker cannot give, and why: the one text the scenario
/// error, the page's Delivery list (its option and tooltip) and the page's
/// inline message all show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unavailable {
    /// What it takes, short enough for a list option: "needs the log broker".
    pub needs: &'static str,
    /// Why this broker cannot give it.
    pub because: &'static str,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.needs, self.because)
    }
}

/// Why `g` cannot run on `broker`, if it cannot. Today one refusal exists:
/// transactions are a log-broker (Kafka) feature.
pub fn unavailable(g: Guarantee, broker: &BrokerSpec) -> Option<Unavailable> {
    match (g, broker) {
        (Guarantee::ExactlyOnceTransactional, BrokerSpec::Queue(_)) => Some(txn::QUEUE_UNAVAILABLE),
        _ => None,
    }
}

fn scenario_err<T>(path: impl Into<String>, reason: impl Into<String>) -> Result<T, ScenarioError> {
    Err(ScenarioError {
        path: path.into(),
        reason: reason.into(),
    })
}

/// Scenario-level rules for the pieces of this module.
pub fn validate(s: &Scenario) -> Result<(), ScenarioError> {
    if s.guarantee == Some(Guarantee::ExactlyOnceTransactional) {
        configure_transactional(&mut s.clone())?;
    }
    if let BrokerSpec::Queue(b) = &s.broker {
        for (i, q) in b.queues.iter().enumerate() {
            if q.fifo_deduplication && b.mode != QueueMode::Sqs {
                return scenario_err(
                    format!("broker.queues[{i}].fifo_deduplication"),
                    "MessageDeduplicationId is an SQS FIFO feature: needs mode `sqs`",
                );
            }
        }
    }
    for (i, c) in s.clients.iter().enumerate() {
        let ids_max = match c {
            ClientSpec::Consumer(k) => k.dedup_ids_max,
            ClientSpec::LogConsumer(k) => k.dedup_ids_max,
            _ => None,
        };
        if ids_max.is_some_and(|n| n == 0 || n > crate::client::dedup::IDS_MAX) {
            return scenario_err(
                format!("clients[{i}].dedup_ids_max"),
                format!("must be in 1..={}", crate::client::dedup::IDS_MAX),
            );
        }
    }
    Ok(())
}

/// `enable.idempotence` needs what Kafka's producer config checks demand.
pub fn validate_idempotent_producer(path: &str, p: &LogProducerSpec) -> Result<(), ScenarioError> {
    if !p.enable_idempotence {
        return Ok(());
    }
    if p.acks != Acks::All {
        return scenario_err(format!("{path}.acks"), "enable.idempotence needs acks=all");
    }
    if p.retries == 0 {
        return scenario_err(
            format!("{path}.retries"),
            "enable.idempotence needs retries > 0",
        );
    }
    if p.max_in_flight > IDEMPOTENT_IN_FLIGHT_MAX {
        return scenario_err(
            format!("{path}.max.in.flight.requests"),
            format!("enable.idempotence needs at most {IDEMPOTENT_IN_FLIGHT_MAX}"),
        );
    }
    Ok(())
}

/// `crash_after_send` targets a producer, `crash_after_process` a consumer;
/// both need `until_ms` (the restart) after `at_ms`.
pub fn validate_armed_fault(
    path: &str,
    f: &FaultSpec,
    clients: &[ClientSpec],
) -> Result<(), ScenarioError> {
    let wants_producer = match f.action {
        FaultAction::CrashAfterSend => true,
        FaultAction::CrashAfterProcess => false,
        _ => return Ok(()),
    };
    let target = clients.iter().find(|c| c.id() == f.target);
    let is_producer = matches!(
        target,
        Some(ClientSpec::Producer(_) | ClientSpec::LogProducer(_))
    );
    if target.is_none() || is_producer != wants_producer {
        let want = if wants_producer {
            "producer"
        } else {
            "consumer"
        };
        return scenario_err(format!("{path}.target"), format!("must name a {want}"));
    }
    if f.until_ms.is_none_or(|u| u <= f.at_ms) {
        return scenario_err(
            format!("{path}.until_ms"),
            "needs until_ms (the restart) after at_ms",
        );
    }
    Ok(())
}

/// The scenario with its guarantee applied to the knobs, and `expect` set.
/// Without a guarantee it is the scenario unchanged. For a *validated*
/// scenario (validation runs the same configuration; see [`validate`]).
pub fn resolved(s: &Scenario) -> Scenario {
    let mut out = s.clone();
    if let Some(g) = s.guarantee {
        apply(g, &mut out).expect("validated: the guarantee is configurable");
    }
    out
}

/// Sets every client's knobs and the expectations for `g`, or says why
/// the scenario's broker cannot give `g`. Applying twice changes nothing.
pub fn apply(g: Guarantee, s: &mut Scenario) -> Result<(), ScenarioError> {
    if let Some(why) = unavailable(g, &s.broker) {
        return scenario_err("guarantee", format!("{} {why}", g.name()));
    }
    if g == Guarantee::ExactlyOnceTransactional {
        return configure_transactional(s);
    }
    let sqs = matches!(&s.broker, BrokerSpec::Queue(b) if b.mode == QueueMode::Sqs);
    if let BrokerSpec::Queue(b) = &mut s.broker {
        for q in &mut b.queues {
            q.fifo_deduplication = sqs && g == Guarantee::ExactlyOnceIdempotent;
        }
    }
    for c in &mut s.clients {
        configure_client(g, c);
    }
    let kept = s.expect;
    s.expect = Expectations {
        no_out_of_order: kept.no_out_of_order,
        no_out_of_order_per_key: kept.no_out_of_order_per_key,
        ..g.expectations()
    };
    Ok(())
}

fn configure_client(g: Guarantee, c: &mut ClientSpec) {
    let at_most_once = g == Guarantee::AtMostOnce;
    let idempotent = g == Guarantee::ExactlyOnceIdempotent;
    let dedup = idempotent.then_some(DEDUP_IDS_DEFAULT);
    match c {
        ClientSpec::Producer(p) => {
            p.confirms = (!at_most_once).then(|| {
                let base = p.confirms.unwrap_or(ConfirmSpec {
                    timeout_ms: 200,
                    max_retries: 0,
                    window: 1000,
                });
                ConfirmSpec {
                    max_retries: base.max_retries.max(RETRIES_AT_LEAST),
                    ..base
                }
            });
        }
        ClientSpec::Consumer(k) => {
            k.ack_mode = if at_most_once {
                AckMode::Auto
            } else {
                AckMode::AfterProcessing
            };
            k.dedup_ids_max = k.dedup_ids_max.or(dedup).filter(|_| idempotent);
        }
        ClientSpec::LogProducer(p) => {
            p.acks = if at_most_once { Acks::Zero } else { Acks::All };
            p.retries = if at_most_once {
                0
            } else {
                p.retries.max(RETRIES_AT_LEAST)
            };
            p.enable_idempotence = idempotent;
            if idempotent {
                p.max_in_flight = p.max_in_flight.min(IDEMPOTENT_IN_FLIGHT_MAX);
            }
        }
        ClientSpec::LogConsumer(k) => {
            k.enable_auto_commit = false;
            k.commit = Some(if at_most_once {
                CommitMode::BeforeProcessing
            } else {
                CommitMode::AfterProcessing
            });
            k.dedup_ids_max = k.dedup_ids_max.or(dedup).filter(|_| idempotent);
        }
    }
}

/// Kafka transactions on the log broker (read-process-write clients, an
/// output topic and a `read_committed` sink per pipeline); refused on the
/// queue broker. See [`crate::guarantee::txn`].
pub fn configure_transactional(s: &mut Scenario) -> Result<(), ScenarioError> {
    crate::guarantee::txn::configure(s)
}
