//! The message properties and binding arguments a real RabbitMQ 3.10 (or
//! SQS) would refuse: a `headers` binding's `x-match`, a producer's
//! `expiration` and `headers`. Each error names the field.

use super::err;
use crate::config::{bounds, ClientSpec, ExchangeKind, Headers, QueueBrokerSpec, QueueMode};
use crate::config::{ProducerSpec, ScenarioError};

/// `x-match` values RabbitMQ 3.10 accepts on a `headers` binding.
const X_MATCH: [&str; 4] = ["all", "any", "all-with-x", "any-with-x"];
/// Header entries on one message or binding: a scenario is small.
pub const HEADERS_MAX: usize = 16;

/// A binding's `arguments`: only `headers` exchanges match them, and
/// `x-match` must be one RabbitMQ knows (else `queue.bind` fails with 406).
pub(super) fn validate_binding_arguments(
    bpath: &str,
    kind: ExchangeKind,
    arguments: &Headers,
) -> Result<(), ScenarioError> {
    if kind != ExchangeKind::Headers {
        if arguments.is_empty() {
            return Ok(());
        }
        return err(
            format!("{bpath}.arguments"),
            "only a headers exchange matches binding arguments",
        );
    }
    validate_table(&format!("{bpath}.arguments"), arguments)?;
    match arguments.get("x-match") {
        Some(v) if !v.as_text().is_some_and(|m| X_MATCH.contains(&m)) => err(
            format!("{bpath}.arguments.x-match"),
            format!("{v}: expected the text all, any, all-with-x or any-with-x (RabbitMQ refuses the binding with 406)"),
        ),
        _ => Ok(()),
    }
}

/// Names non-empty, at most [`HEADERS_MAX`] entries.
fn validate_table(path: &str, table: &Headers) -> Result<(), ScenarioError> {
    if table.len() > HEADERS_MAX {
        return err(path, format!("at most {HEADERS_MAX} entries"));
    }
    if table.keys().any(String::is_empty) {
        return err(path, "a name is empty");
    }
    Ok(())
}

/// The broker's `consumer_timeout_ms` and `channel_tick_interval_ms`, and
/// every queue producer's `expiration_ms` and `headers`.
pub(super) fn validate_queue_clients(
    clients: &[ClientSpec],
    broker: &QueueBrokerSpec,
) -> Result<(), ScenarioError> {
    validate_consumer_timeout(broker)?;
    for (i, c) in clients.iter().enumerate() {
        if let ClientSpec::Producer(p) = c {
            validate_properties(&format!("clients[{i}]"), p, broker.mode)?;
        }
    }
    Ok(())
}

/// RabbitMQ refuses a `consumer_timeout` that is not a positive integer.
fn validate_consumer_timeout(b: &QueueBrokerSpec) -> Result<(), ScenarioError> {
    let path = "broker.consumer_timeout_ms";
    match (b.mode, b.consumer_timeout_ms) {
        (QueueMode::Sqs, Some(_)) => {
            return err(
                path,
                "a RabbitMQ setting; SQS returns a message when its visibility timeout expires",
            )
        }
        (_, Some(ms)) if !(1..=bounds::TTL_MS_MAX).contains(&ms) => {
            return err(
                path,
                format!(
                    "must be in 1..={} (RabbitMQ refuses zero or a negative consumer_timeout)",
                    bounds::TTL_MS_MAX
                ),
            )
        }
        _ => {}
    }
    match (b.consumer_timeout_ms, b.channel_tick_interval_ms) {
        (None, Some(_)) => err(
            "broker.channel_tick_interval_ms",
            "only paces the consumer_timeout check: set consumer_timeout_ms",
        ),
        (_, Some(ms)) if !(1..=3_600_000).contains(&ms) => {
            err("broker.channel_tick_interval_ms", "must be in 1..=3600000")
        }
        _ => Ok(()),
    }
}

fn validate_properties(path: &str, p: &ProducerSpec, mode: QueueMode) -> Result<(), ScenarioError> {
    if mode == QueueMode::Sqs {
        let rabbitmq_only = [
            ("expiration_ms", p.expiration_ms.is_some()),
            ("headers", !p.headers.is_empty()),
        ];
        if let Some((field, _)) = rabbitmq_only.iter().find(|(_, set)| *set) {
            return err(
                format!("{path}.{field}"),
                "an AMQP message property; not in sqs mode",
            );
        }
    }
    if p.expiration_ms
        .is_some_and(|ms| !(0..=bounds::TTL_MS_MAX).contains(&ms))
    {
        return err(
            format!("{path}.expiration_ms"),
            format!(
                "must be in 0..={} (RabbitMQ refuses a negative expiration with 406)",
                bounds::TTL_MS_MAX
            ),
        );
    }
    validate_table(&format!("{path}.headers"), &p.headers)
}
