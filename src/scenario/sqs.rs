//! What SQS would refuse about a FIFO queue (`fifo`): a name without the
//! `.fifo` suffix, a standard dead-letter queue, and a message without a
//! `MessageGroupId` (a producer without keys). Each error names the field.

use super::err;
use crate::config::{ClientSpec, ProducerSpec, QueueBrokerSpec, QueueMode, ScenarioError};

/// The FIFO rules of every queue and of the producers that reach one.
pub(super) fn validate_fifo(
    broker: &QueueBrokerSpec,
    clients: &[ClientSpec],
) -> Result<(), ScenarioError> {
    for (i, q) in broker.queues.iter().enumerate() {
        let path = format!("broker.queues[{i}]");
        if !q.fifo {
            continue;
        }
        if broker.mode != QueueMode::Sqs {
            return err(
                format!("{path}.fifo"),
                "an SQS FIFO queue needs mode `sqs` (RabbitMQ queues are ordered; use an exclusive consumer per key)",
            );
        }
        if !q.name.ends_with(".fifo") {
            return err(
                format!("{path}.name"),
                format!(
                    "`{}`: SQS requires a FIFO queue's name to end in `.fifo`",
                    q.name
                ),
            );
        }
        let dlq = q.dead_letter_queue.as_deref();
        if let Some(d) = dlq.and_then(|d| broker.queues.iter().find(|x| x.name == d)) {
            if !d.fifo {
                return err(
                    format!("{path}.dead_letter_queue"),
                    format!(
                        "`{}`: the dead-letter queue of a FIFO queue must be a FIFO queue too",
                        d.name
                    ),
                );
            }
        }
    }
    for (i, c) in clients.iter().enumerate() {
        if let ClientSpec::Producer(p) = c {
            if p.keys.is_empty() && reaches_fifo(broker, p) {
                return err(
                    format!("clients[{i}].keys"),
                    "SQS refuses a message to a FIFO queue without a MessageGroupId: give the producer keys (each message's key is its MessageGroupId)",
                );
            }
        }
    }
    Ok(())
}

/// Whether a message of `p` can land in a FIFO queue.
fn reaches_fifo(broker: &QueueBrokerSpec, p: &ProducerSpec) -> bool {
    let fifo = |name: &str| broker.queues.iter().any(|q| q.fifo && q.name == name);
    if p.exchange.is_empty() {
        return fifo(&p.routing_key);
    }
    let x = broker.exchanges.iter().find(|x| x.name == p.exchange);
    x.is_some_and(|x| x.bindings.iter().any(|b| fifo(&b.queue)))
}
