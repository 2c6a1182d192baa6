//! What an export refuses, and what it cannot reproduce (listed in the
//! export's README). What maps onto each broker is a template
//! (`templates/mapping-TARGET.md`).

use super::{ExportError, Target};
use crate::config::{BrokerSpec, ClientSpec, ExchangeKind, FaultAction, QueueMode, Scenario};
use std::collections::BTreeMap;

/// Brokers of the scenario's Kafka cluster (one node per broker node).
pub fn kafka_brokers(_s: &Scenario) -> u32 {
    // The log broker is one node today; a replicated scenario sizes this.
    1
}

/// Why `s` cannot be exported to `target` at all, if it cannot.
pub fn refusal(s: &Scenario, target: Target) -> Option<ExportError> {
    let err = |path: &str, reason: &str| {
        Some(ExportError {
            path: path.to_string(),
            reason: reason.to_string(),
        })
    };
    match (&s.broker, target) {
        (BrokerSpec::Queue(q), Target::Rabbitmq) => {
            if q.mode == QueueMode::Sqs {
                return err("broker.mode", "SQS semantics have no RabbitMQ equivalent");
            }
            let hash = q
                .exchanges
                .iter()
                .position(|e| e.kind == ExchangeKind::ConsistentHash);
            if let Some(i) = hash {
                return err(
                    &format!("broker.exchanges[{i}].kind"),
                    "x-consistent-hash needs the rabbitmq_consistent_hash_exchange plugin, which the export does not set up",
                );
            }
            if let Some(path) = unexported_amqp(s) {
                return err(
                    &path,
                    "headers exchanges, consumer_timeout and message headers or expiration are not exported yet",
                );
            }
        }
        (BrokerSpec::Queue(_), _) => {
            return err("broker", "a queue scenario exports to rabbitmq only");
        }
        (BrokerSpec::Log(_), Target::Rabbitmq) => {
            return err("broker", "a log scenario exports to kafka or nats");
        }
        (BrokerSpec::Log(l), Target::Nats) => {
            if let Some(i) = l.topics.iter().position(|t| t.partitions != 1) {
                return err(
                    &format!("broker.topics[{i}].partitions"),
                    "a JetStream stream has no partitions: the NATS export needs 1",
                );
            }
            if let Some(path) = shared_group(s) {
                return err(
                    &path,
                    "JetStream has no group rebalancing: the NATS export needs one consumer per group.id",
                );
            }
        }
        (BrokerSpec::Log(_), Target::Kafka) => {}
    }
    let txn = s
        .clients
        .iter()
        .position(|c| matches!(c, ClientSpec::LogConsumer(k) if k.transactional.is_some()));
    if let Some(i) = txn {
        return err(
            &format!("clients[{i}].transactional"),
            "transactional clients are not exported yet",
        );
    }
    None
}

/// The first `headers` exchange, `consumer_timeout_ms` (a node setting the
/// export's broker does not get), producer `headers` or `expiration_ms` of
/// a queue scenario: the export's program does not set them yet.
fn unexported_amqp(s: &Scenario) -> Option<String> {
    if let BrokerSpec::Queue(q) = &s.broker {
        if let Some(i) = q
            .exchanges
            .iter()
            .position(|e| e.kind == ExchangeKind::Headers)
        {
            return Some(format!("broker.exchanges[{i}].kind"));
        }
        if q.consumer_timeout_ms.is_some() {
            return Some("broker.consumer_timeout_ms".to_string());
        }
    }
    s.clients.iter().enumerate().find_map(|(i, c)| match c {
        ClientSpec::Producer(p) if !p.headers.is_empty() => Some(format!("clients[{i}].headers")),
        ClientSpec::Producer(p) if p.expiration_ms.is_some() => {
            Some(format!("clients[{i}].expiration_ms"))
        }
        _ => None,
    })
}

/// The path of the second consumer of a `group.id`, if two share one.
fn shared_group(s: &Scenario) -> Option<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, c) in s.clients.iter().enumerate() {
        if let ClientSpec::LogConsumer(k) = c {
            if seen.insert(&k.group_id, i).is_some() {
                return Some(format!("clients[{i}].group.id"));
            }
        }
    }
    None
}

/// What the export cannot reproduce of `s` on `target`, one sentence each.
pub fn gaps(s: &Scenario, target: Target) -> Vec<String> {
    let mut out = vec![
        "Time is the wall clock, not virtual time: rates, processing times and fault times are kept in milliseconds, but a real machine adds scheduling jitter, so counts (how many redelivered, lost or out of order) differ from the simulation's; the anomaly kinds and the verdict are what to compare.".to_string(),
        "The network is the machine's loopback: the scenario's latency, loss and duplication are not reproduced.".to_string(),
        "Message ids, keys and the publishing order are the scenario's; which messages a `fail_probability` fails is drawn by Python's `random` seeded with the scenario's seed, not by brokerlab's generator.".to_string(),
    ];
    for (i, f) in s.faults.iter().enumerate() {
        let what = match f.action {
            FaultAction::CrashAfterSend | FaultAction::CrashAfterProcess => {
                "an armed crash (after a send or a processing) is not reproduced: the run skips it"
            }
            FaultAction::CrashTorn => {
                "a torn write cannot be caused from outside the broker: it becomes a plain broker crash"
            }
            FaultAction::Crash | FaultAction::Restart if f.target == "broker" => {
                "a broker crash or restart runs the commands in BROKER_KILL / BROKER_START (the run refuses to start without them)"
            }
            _ => continue,
        };
        out.push(format!("faults[{i}] ({}): {what}.", f.target));
    }
    if !s.settings.is_empty() {
        out.push("Live client settings (`settings`) are not reproduced: clients keep their first settings.".to_string());
    }
    out.extend(client_gaps(s, target));
    out.push(match target {
        Target::Rabbitmq => "The broker's own notes (enqueue, delete, requeue) are not visible to clients: the history has the clients' side, and after the run every queue is drained and what was still in it is recorded as `held`. `brokerlab check` therefore does not check the broker's bookkeeping identity.".to_string(),
        Target::Nats => "The stream's contents are read once after the run and recorded as `append` lines; JetStream does not report appends as they happen.".to_string(),
        Target::Kafka => "This export was not run on the machines brokerlab is built on (no Kafka there): it is checked for shape only (the compose file parses, the program compiles, the config names are Kafka's).".to_string(),
    });
    out
}

/// Gaps that come from clients' settings.
fn client_gaps(s: &Scenario, target: Target) -> Vec<String> {
    let mut out = Vec::new();
    for (i, c) in s.clients.iter().enumerate() {
        let dedup = match c {
            ClientSpec::Consumer(k) => k.dedup_ids_max.is_some(),
            ClientSpec::LogConsumer(k) => k.dedup_ids_max.is_some(),
            _ => false,
        };
        if dedup {
            out.push(format!("clients[{i}] ({}): the idempotent consumer's dedup store is not reproduced: every delivery is processed.", c.id()));
        }
        if let (ClientSpec::LogConsumer(k), Target::Nats) = (c, target) {
            if k.isolation_level != crate::config::IsolationLevel::default() {
                out.push(format!("clients[{i}] ({}): JetStream has no transactions, so `isolation.level` has no effect.", c.id()));
            }
        }
    }
    out
}
