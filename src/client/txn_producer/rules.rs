//! The scenario rules of a transactional client, and the coordinator's
//! index of its `transactional.id`.

use crate::broker::txn::TxnIdx;

/// `max.poll.records` of a transactional client: one poll is one
/// transaction, and the steps queue holds up to three requests per record.
pub const TXN_MAX_POLL_RECORDS_MAX: u32 = 1_000;
/// Kafka's `transaction.max.timeout.ms` default (15 minutes).
pub const TRANSACTION_TIMEOUT_MS_MAX: u64 = 900_000;

/// Scenario rules for a `log_consumer` with `transactional` (errors name
/// the field). Offsets are committed by the transaction, so the consumer's
/// own commit settings must be off.
pub fn validate(
    path: &str,
    c: &crate::config::LogConsumerSpec,
    t: &crate::config::TransactionalSpec,
    output_known: bool,
) -> Result<(), crate::config::ScenarioError> {
    let err = |field: &str, reason: &str| {
        Err(crate::config::ScenarioError {
            path: format!("{path}.{field}"),
            reason: reason.to_string(),
        })
    };
    if c.enable_auto_commit || c.commit.is_some() {
        return err(
            "enable.auto.commit",
            "a transactional client commits its offsets in the transaction: set enable.auto.commit = false and no commit",
        );
    }
    if c.dedup_ids_max.is_some() || !c.seeks.is_empty() || c.leave_at_ms.is_some() {
        return err(
            "transactional",
            "not combinable with dedup_ids_max, seeks or leave_at_ms",
        );
    }
    if t.transactional_id.is_empty() {
        return err("transactional.transactional.id", "must be non-empty");
    }
    if t.transaction_timeout_ms == 0 || t.transaction_timeout_ms > TRANSACTION_TIMEOUT_MS_MAX {
        return err(
            "transactional.transaction.timeout.ms",
            "must be in 1..=900000 (transaction.max.timeout.ms)",
        );
    }
    if !output_known {
        return err("transactional.output_topic", "unknown topic");
    }
    if t.output_topic == c.topic {
        return err(
            "transactional.output_topic",
            "must differ from the input topic",
        );
    }
    if c.heartbeat_interval_ms == 0 || c.heartbeat_interval_ms >= c.session_timeout_ms {
        return err(
            "heartbeat.interval.ms",
            "must be positive and below session.timeout.ms",
        );
    }
    if c.max_poll_records == 0 || c.max_poll_records > TXN_MAX_POLL_RECORDS_MAX {
        return err(
            "max.poll.records",
            "must be in 1..=1000 for a transactional client",
        );
    }
    Ok(())
}

/// The coordinator's index of a `transactional.id`: its rank among the
/// distinct ids in the scenario's client order (clients added live are
/// appended, so earlier indices never move).
pub fn txn_index(s: &crate::config::Scenario, transactional_id: &str) -> TxnIdx {
    let mut seen: Vec<&str> = Vec::new();
    for c in &s.clients {
        if let crate::config::ClientSpec::LogConsumer(k) = c {
            if let Some(t) = &k.transactional {
                if !seen.contains(&t.transactional_id.as_str()) {
                    seen.push(&t.transactional_id);
                }
            }
        }
    }
    let i = seen
        .iter()
        .position(|x| *x == transactional_id)
        .expect("validated: the id is in the scenario");
    assert!(i < crate::broker::txn::TXN_IDS_MAX);
    i as TxnIdx
}
