//! `exactly_once_transactional`: the guarantee setting's Kafka
//! transactions, filled in for [`crate::guarantee::configure_transactional`].
//!
//! On the log broker, every pipeline `producer → topic → consumer group`
//! becomes Kafka's exactly-once pattern:
//!
//! | piece | becomes |
//! |---|---|
//! | log producer | `acks=all`, retries, `enable.idempotence` |
//! | log consumer | a read-process-write client ([`crate::client::txn_producer`]): `transactional.id` = its id, its results go to `<topic>.out`, its offsets commit in the transaction |
//! | (new) topic `<topic>.out` | as many partitions as the input |
//! | (new) consumer `<topic>.out.sink` | `isolation.level=read_committed`, commit after processing, a dedup store (an idempotent sink) |
//!
//! The effect of a read-process-write step is its committed transaction,
//! so the verdict forbids both `lost` and `duplicated`, and the
//! transactional checker adds G1a and precommitted-read.
//!
//! The queue broker has no transactions (no coordinator, no markers, no
//! `read_committed`), so this guarantee is refused there with that reason.
//!
//! Known limit: the upstream producer is idempotent, not transactional. A
//! producer that crashes after sending and re-sends under a new producer id
//! can still put a record into the input topic twice (Kafka's idempotence
//! lasts one producer session), and the pipeline then processes both
//! copies. The guarantee matrix therefore runs this cell without
//! `crash_after_send`.

use crate::config::{
    bounds, Acks, BrokerSpec, ClientSpec, CommitMode, LogConsumerSpec, ProcessingSpec, Scenario,
    ScenarioError, TopicSpec, TransactionalSpec,
};
use crate::guarantee::{DEDUP_IDS_DEFAULT, IDEMPOTENT_IN_FLIGHT_MAX, RETRIES_AT_LEAST};

/// Why the queue broker refuses this guarantee (see [`super::unavailable`]).
pub const QUEUE_UNAVAILABLE: super::Unavailable = super::Unavailable {
    needs: "needs the log broker",
    because: "queues have no transaction coordinator, markers or read_committed",
};
/// `transaction.timeout.ms` of the configured clients (Kafka's default).
const TRANSACTION_TIMEOUT_MS: u64 = 60_000;

fn err<T>(path: String, reason: &str) -> Result<T, ScenarioError> {
    Err(ScenarioError {
        path,
        reason: reason.to_string(),
    })
}

/// Rewrites `s` for `exactly_once_transactional` (see the module table).
pub fn configure(s: &mut Scenario) -> Result<(), ScenarioError> {
    let BrokerSpec::Log(b) = &mut s.broker else {
        let why = format!("exactly_once_transactional {QUEUE_UNAVAILABLE}");
        return err("guarantee".into(), &why);
    };
    // Applying twice changes nothing: the sinks of an earlier pass read an
    // output topic and stay plain consumers.
    let outputs: Vec<String> = s
        .clients
        .iter()
        .filter_map(|c| match c {
            ClientSpec::LogConsumer(k) => k.transactional.as_ref(),
            _ => None,
        })
        .map(|t| t.output_topic.clone())
        .collect();
    let mut sinks = Vec::new();
    for (i, c) in s.clients.iter_mut().enumerate() {
        match c {
            ClientSpec::LogProducer(p) => {
                p.acks = Acks::All;
                p.retries = p.retries.max(RETRIES_AT_LEAST);
                p.enable_idempotence = true;
                p.max_in_flight = p.max_in_flight.min(IDEMPOTENT_IN_FLIGHT_MAX);
            }
            ClientSpec::LogConsumer(k)
                if k.transactional.is_none() && !outputs.contains(&k.topic) =>
            {
                let out = make_transactional(&format!("clients[{i}]"), k)?;
                if !b.topics.iter().any(|t| t.name == out) {
                    let input = b.topics.iter().find(|t| t.name == k.topic);
                    let partitions = input.map_or(1, |t| t.partitions);
                    b.topics.push(TopicSpec {
                        name: out.clone(),
                        partitions,
                        retention_ms: None,
                        retention_records: None,
                    });
                    sinks.push(sink(&out, k));
                }
            }
            _ => {}
        }
    }
    if b.topics.len() > bounds::TOPICS_MAX {
        return err(
            "guarantee".into(),
            "the output topics exceed broker.topics' bound",
        );
    }
    s.clients.extend(sinks);
    s.expect = crate::config::Expectations {
        no_out_of_order: s.expect.no_out_of_order,
        no_out_of_order_per_key: s.expect.no_out_of_order_per_key,
        ..crate::config::Guarantee::ExactlyOnceTransactional.expectations()
    };
    Ok(())
}

/// A consumer becomes a read-process-write client; returns its output topic.
fn make_transactional(path: &str, k: &mut LogConsumerSpec) -> Result<String, ScenarioError> {
    if !k.seeks.is_empty() || k.leave_at_ms.is_some() {
        return err(
            format!("{path}.transactional"),
            "a transactional client takes no seeks or leave_at_ms",
        );
    }
    let out = format!("{}.out", k.topic);
    k.enable_auto_commit = false;
    k.commit = None;
    k.dedup_ids_max = None;
    k.isolation_level = crate::config::IsolationLevel::ReadCommitted;
    k.max_poll_records = k
        .max_poll_records
        .min(crate::client::txn_producer::TXN_MAX_POLL_RECORDS_MAX);
    k.transactional = Some(TransactionalSpec {
        transactional_id: k.id.clone(),
        transaction_timeout_ms: TRANSACTION_TIMEOUT_MS,
        output_topic: out.clone(),
        start_ms: 0,
    });
    Ok(out)
}

/// The downstream consumer of an output topic: `read_committed`, with a
/// dedup store so its own crashes do not apply an effect twice.
fn sink(out: &str, like: &LogConsumerSpec) -> ClientSpec {
    ClientSpec::LogConsumer(LogConsumerSpec {
        id: format!("{out}.sink"),
        topic: out.to_string(),
        group_id: format!("{out}.sink"),
        processing: ProcessingSpec::FixedMs(1),
        enable_auto_commit: false,
        auto_commit_interval_ms: like.auto_commit_interval_ms,
        commit: Some(CommitMode::AfterProcessing),
        auto_offset_reset: like.auto_offset_reset,
        session_timeout_ms: like.session_timeout_ms,
        heartbeat_interval_ms: like.heartbeat_interval_ms,
        assignment: like.assignment,
        max_poll_records: like.max_poll_records,
        seeks: Vec::new(),
        leave_at_ms: None,
        isolation_level: crate::config::IsolationLevel::ReadCommitted,
        dedup_ids_max: Some(DEDUP_IDS_DEFAULT),
        transactional: None,
        network: like.network,
    })
}
