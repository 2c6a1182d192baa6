//! Validating a cluster (issue 13): the combinations Kafka itself refuses,
//! named by field, and which broker names a fault may target.
//!
//! Kafka refuses a topic whose `replication.factor` exceeds the live
//! brokers (`INVALID_REPLICATION_FACTOR`) and lets `min.insync.replicas`
//! above the replication factor through, after which every `acks=all`
//! produce fails with `NOT_ENOUGH_REPLICAS`. We refuse both up front: a
//! scenario that can never take an `acks=all` write is a mistake, not an
//! experiment.

use super::err;
use crate::config::cluster::bounds;
#[cfg(not(target_arch = "wasm32"))]
use crate::config::{Acks, ClientSpec};
use crate::config::{
    BrokerSpec, ClusterSpec, FaultAction, FaultOptions, LogProducerSpec, Scenario, ScenarioError,
};
use crate::node::NodeId;

/// Checks the `broker.cluster` object (the replication core's harness
/// asks too): counts in range, and replicas that
/// fit on the brokers.
pub fn validate_cluster(c: &ClusterSpec) -> Result<(), ScenarioError> {
    let path = "broker.cluster";
    if c.brokers == 0 || c.brokers > bounds::BROKERS_MAX {
        return err(
            format!("{path}.brokers"),
            format!("must be in 1..={}", bounds::BROKERS_MAX),
        );
    }
    if c.replication_factor == 0 || c.replication_factor > c.brokers {
        return err(
            format!("{path}.replication.factor"),
            format!(
                "replication.factor {} with {} broker{}: each replica needs its own broker (1..={})",
                c.replication_factor,
                c.brokers,
                if c.brokers == 1 { "" } else { "s" },
                c.brokers
            ),
        );
    }
    if c.min_insync_replicas == 0 || c.min_insync_replicas > c.replication_factor {
        return err(
            format!("{path}.min.insync.replicas"),
            format!(
                "min.insync.replicas {} above replication.factor {}: no acks=all write could ever succeed (1..={})",
                c.min_insync_replicas, c.replication_factor, c.replication_factor
            ),
        );
    }
    let lags = [
        ("replica.lag.time.max.ms", c.replica_lag_time_max_ms),
        ("replica.fetch.wait.max.ms", c.replica_fetch_wait_max_ms),
        ("broker.session.timeout.ms", c.broker_session_timeout_ms),
    ];
    for (field, ms) in lags {
        if ms == 0 || ms > bounds::LAG_MS_MAX {
            return err(
                format!("{path}.{field}"),
                format!("must be in 1..={}", bounds::LAG_MS_MAX),
            );
        }
    }
    if c.flush_messages == Some(0) {
        return err(format!("{path}.flush.messages"), "must be positive");
    }
    if c.flush_ms
        .is_some_and(|ms| ms == 0 || ms > bounds::FLUSH_MS_MAX)
    {
        return err(
            format!("{path}.flush.ms"),
            format!("must be in 1..={}", bounds::FLUSH_MS_MAX),
        );
    }
    Ok(())
}

/// The cluster of a scenario, if it declares one.
pub(super) fn cluster_of(s: &Scenario) -> Option<&ClusterSpec> {
    match &s.broker {
        BrokerSpec::Log(l) => l.cluster.as_ref(),
        BrokerSpec::Queue(_) => None,
    }
}

/// The broker names a fault may target: `b1` … `bN` in a cluster of more
/// than one, else `broker` (a cluster of one is the single node, so the
/// random draw's `broker` crashes keep their target).
pub(super) fn broker_names(s: &Scenario) -> Vec<&'static str> {
    match cluster_of(s) {
        Some(c) if c.brokers > 1 => (1..=c.brokers).map(|i| NodeId(i).name()).collect(),
        _ => vec![NodeId::FIRST.name()],
    }
}

/// What a fault's target must be, beyond existing: a cluster action names
/// a broker of a cluster, and a named broker exists. Returns whether the
/// target is one of [`broker_names`]. `is_client`: a client has that id
/// (a client may be called `b1` in a run without a cluster).
pub(super) fn validate_fault_target(
    path: &str,
    (action, target, is_client): (FaultAction, &str, bool),
    (names, cluster): (&[&str], bool),
) -> Result<bool, ScenarioError> {
    let is_broker = names.contains(&target);
    if !is_broker && !is_client && NodeId::from_name(target).is_some() {
        return err(
            format!("{path}.target"),
            format!(
                "unknown broker `{target}`: this run's brokers are {}",
                names.join(", ")
            ),
        );
    }
    if action.is_cluster_only() && !cluster {
        return err(
            format!("{path}.action"),
            "isolate, isolate_from_brokers, heal and slow_follower need a cluster (broker.cluster)",
        );
    }
    if action.is_cluster_only() && !is_broker {
        return err(
            format!("{path}.target"),
            format!("{action:?} targets a broker: one of {}", names.join(", ")),
        );
    }
    Ok(is_broker)
}

/// In a cluster, no client may carry a broker's name: a fault's target
/// would be ambiguous.
pub(super) fn validate_client_ids(s: &Scenario) -> Result<(), ScenarioError> {
    if cluster_of(s).is_none() {
        return Ok(());
    }
    let names = broker_names(s);
    match s.clients.iter().position(|c| names.contains(&c.id())) {
        Some(i) => err(
            format!("clients[{i}].id"),
            format!("`{}` names a broker of the cluster", s.clients[i].id()),
        ),
        None => Ok(()),
    }
}

/// The cluster draws in `fault_options` need a cluster of more than one
/// broker (isolating the only broker is a crash by another name).
pub(super) fn validate_cluster_options(
    o: &FaultOptions,
    cluster: Option<&ClusterSpec>,
) -> Result<(), ScenarioError> {
    let brokers = cluster.map_or(1, |c| c.brokers);
    let draws = [
        ("broker_isolation", o.broker_isolation),
        ("slow_follower", o.slow_follower),
    ];
    if let Some((field, _)) = draws.iter().find(|(_, on)| *on && brokers < 2) {
        return err(
            format!("fault_options.{field}"),
            "needs a cluster of at least 2 brokers (broker.cluster.brokers)",
        );
    }
    Ok(())
}

/// What the world can run today: one broker node with `flush.messages=1`.
/// A cluster of more runs in the replication core
/// ([`crate::broker::cluster`]), whose harness the tests drive, until the
/// world routes each request to its partition's leader.
pub(super) fn validate_world_can_run(s: &Scenario) -> Result<(), ScenarioError> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(i) = s.clients.iter().position(|c| match c {
        ClientSpec::LogProducer(p) => p.transactional.is_some(),
        _ => false,
    }) {
        return err(
            format!("clients[{i}].transactional"),
            "a transactional log_producer runs in the replication core (broker.cluster); \
             on one broker, transactions are read-process-write log_consumers",
        );
    }
    let Some(c) = cluster_of(s) else {
        return Ok(());
    };
    let single = ClusterSpec::single_node();
    let same = c.brokers == 1
        && c.replication_factor == 1
        && c.flush_messages == single.flush_messages
        && c.flush_ms.is_none();
    if same {
        return Ok(());
    }
    err(
        "broker.cluster",
        "the world runs one broker with flush.messages=1 (\"brokers\": 1, \"flush.messages\": 1); \
         a cluster runs in the replication core (broker::cluster and its harness) until the world \
         sends each request to its partition's leader",
    )
}

/// Records one transaction of a transactional log producer holds at most.
pub const RECORDS_PER_TRANSACTION_MAX: u32 = 100;

/// A transactional log producer (the harness's): Kafka requires
/// idempotence (so `acks=all`) for transactions, and one record in flight
/// keeps the harness's producer simple. (The page's build has none.)
#[cfg(target_arch = "wasm32")]
pub(super) fn validate_txn_producer(_: &str, _: &LogProducerSpec) -> Result<(), ScenarioError> {
    Ok(())
}

/// A transactional log producer (the harness's): Kafka requires
/// idempotence (so `acks=all`) for transactions, and one record in flight
/// keeps the harness's producer simple.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn validate_txn_producer(path: &str, p: &LogProducerSpec) -> Result<(), ScenarioError> {
    let Some(t) = &p.transactional else {
        return Ok(());
    };
    let path = format!("{path}.transactional");
    if t.transactional_id.is_empty() {
        return err(format!("{path}.transactional.id"), "must be non-empty");
    }
    if t.records_per_transaction == 0 || t.records_per_transaction > RECORDS_PER_TRANSACTION_MAX {
        return err(
            format!("{path}.records_per_transaction"),
            format!("must be in 1..={RECORDS_PER_TRANSACTION_MAX}"),
        );
    }
    if !p.enable_idempotence || p.acks != Acks::All {
        return err(
            path,
            "a transactional producer needs enable.idempotence = true and acks = all, as Kafka requires",
        );
    }
    if p.max_in_flight != 1 {
        return err(
            path,
            "the harness's transactional producer sends one record at a time (max.in.flight.requests = 1)",
        );
    }
    Ok(())
}
