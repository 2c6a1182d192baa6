//! The scenario vocabulary: everything a run depends on besides the code,
//! as plain data types with serde.
//!
//! A scenario is JSON (see `scenarios/*.json` for one per behaviour). This
//! module only says what the words are: every struct denies unknown fields,
//! so a typo such as `"prefech"` is a parse error instead of a silently
//! ignored setting, and defaults live beside the fields they fill. What the
//! types cannot say (positive rates, faults inside the run, ids that exist, a
//! guarantee's preconditions) is checked one layer up, in `scenario`, which
//! also loads the text.
//!
//! Why this is the bottom layer: the broker, the clients, the checker and
//! the page all speak this vocabulary, and it needs nothing from them.
//!
//! ```json
//! {
//!   "name": "round-robin-reorder",
//!   "seed": 1,
//!   "duration_ms": 2000,
//!   "broker": { "kind": "queue", "mode": "rabbitmq",
//!               "queues": [ { "name": "work" } ] },
//!   "network": { "latency_ms_min": 1, "latency_ms_max": 3 },
//!   "clients": [
//!     { "kind": "producer", "id": "p1", "routing_key": "work", "interval_ms": 10,
//!       "count": 50, "confirms": { "timeout_ms": 100, "max_retries": 2 } },
//!     { "kind": "consumer", "id": "c1", "queue": "work", "prefetch": 1,
//!       "processing": { "fixed_ms": 5 } }
//!   ],
//!   "faults": [ { "at_ms": 500, "action": "crash", "target": "c1" } ]
//! }
//! ```
//!
//! Room to grow: `broker.kind` and `clients[].kind` are tags, so a new
//! broker or client kind is a new variant of [`BrokerSpec`] or
//! [`ClientSpec`].

mod client;
pub mod cluster;
mod fault;
mod guarantee;
mod log;
mod queue;
pub mod setting;

// The vocabulary is split into files by concept for readers, and used as one
// flat namespace (`crate::config::Acks`). Flattening inside `config` hides no
// dependency: the layering is checked per top-level module.
pub use client::{ClientSpec, NetworkSpec, ProcessingSpec};
pub use cluster::{ClusterSpec, Truncation};
pub use fault::{FaultAction, FaultOptions, FaultSpec};
pub use guarantee::Guarantee;
pub use log::{
    Acks, Assignor, CommitMode, IsolationLevel, LogBrokerSpec, LogConsumerSpec, LogProducerSpec,
    OffsetReset, Partitioner, ProducerTxnSpec, SeekPosition, SeekSpec, TopicSpec,
    TransactionalSpec,
};
pub use queue::{
    AckMode, BindingSpec, ConfirmSpec, ConsumerSpec, ExchangeKind, ExchangeSpec, HeaderValue,
    Headers, OnFailure, Overflow, ProducerSpec, QueueBrokerSpec, QueueKind, QueueMode, QueueSpec,
    CHANNEL_TICK_INTERVAL_MS,
};
pub use setting::{Setting, SettingSpec};

use serde::{Deserialize, Serialize};
use std::fmt;

/// Upper bounds that keep one run finite and its memory bounded.
pub mod bounds {
    /// Topics on one log broker.
    pub const TOPICS_MAX: usize = 16;
    /// Partitions in one topic (an assignment is a 64-bit mask).
    pub const PARTITIONS_MAX: u32 = 64;
    /// Seeks in one consumer's schedule.
    pub const SEEKS_MAX: usize = 64;
    /// `max.poll.records` upper bound.
    pub const MAX_POLL_RECORDS_MAX: u32 = 10_000;
    /// Messages one producer may publish (`count`).
    pub const MESSAGES_PER_PRODUCER_MAX: u64 = 10_000_000;
    /// Clients (producers + consumers) in one scenario.
    pub const CLIENTS_MAX: usize = 64;
    /// Queues and exchanges declared on one broker.
    pub const QUEUES_MAX: usize = 64;
    /// Entries in the fault schedule.
    pub const FAULTS_MAX: usize = 256;
    /// `x-message-ttl` upper bound: one day (RabbitMQ allows more; a run is shorter).
    pub const TTL_MS_MAX: i64 = 24 * 3600 * 1000;
    /// Prefetch (`basic.qos`): unacked deliveries one consumer may hold.
    pub const PREFETCH_MAX: u32 = 10_000;
    /// Virtual time a run may cover: 30 days in ms.
    pub const DURATION_MS_MAX: u64 = 30 * 24 * 3600 * 1000;
    /// Default cap on simulation events processed in one run.
    pub const EVENTS_MAX_DEFAULT: u64 = 20_000_000;
    /// Default cap on messages held by one queue (ready + unacked).
    pub const QUEUE_DEPTH_MAX_DEFAULT: u64 = 1_000_000;
}

/// One whole scenario: the broker, the clients, the network, the faults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name, shown in summaries.
    #[serde(default)]
    pub name: String,
    /// What the scenario demonstrates, for people reading the file.
    #[serde(default)]
    pub description: String,
    /// The PRNG seed; `brokerlab run --seed N` overrides it.
    pub seed: u64,
    /// The run stops at this virtual time. Producers stop publishing at it too.
    pub duration_ms: u64,
    /// Which broker runs, and what it declares (queues or topics).
    pub broker: BrokerSpec,
    /// Default link settings for every client; a client may override them.
    #[serde(default)]
    pub network: NetworkSpec,
    /// The producers and consumers.
    pub clients: Vec<ClientSpec>,
    /// Faults at fixed times.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// Client settings changed at fixed times (the page's per-client
    /// settings; see [`setting`]). Left out when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<SettingSpec>,
    /// Which faults `brokerlab sweep` may draw at random.
    #[serde(default)]
    pub fault_options: FaultOptions,
    /// Which anomalies count as a failure for this scenario (`sweep` stops on one).
    #[serde(default)]
    pub expect: Expectations,
    /// One setting for both ends: `at_most_once`, `at_least_once`,
    /// `exactly_once_idempotent` or `exactly_once_transactional`. It sets the
    /// clients' knobs and `expect` (see [`crate::guarantee`]); absent, the knobs
    /// are used exactly as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guarantee: Option<Guarantee>,
    /// Caps that keep one run finite; the defaults suit every bundled scenario.
    #[serde(default)]
    pub limits: Limits,
}

/// The broker under test. Tagged by `kind` so more brokers can join.
/// Read by [`crate::json::tagged`] (see its doc for why not serde's `tag`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BrokerSpec {
    /// An in-memory queue broker: RabbitMQ (AMQP 0-9-1) or SQS semantics.
    Queue(QueueBrokerSpec),
    /// A partitioned append-only log: Kafka / Kinesis semantics.
    Log(LogBrokerSpec),
}

/// The `kind` of a [`BrokerSpec`], as the file spells it.
#[derive(Deserialize)]
#[serde(variant_identifier, rename_all = "snake_case")]
enum BrokerKind {
    Queue,
    Log,
}

impl<'de> Deserialize<'de> for BrokerSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<BrokerSpec, D::Error> {
        crate::json::tagged(
            d,
            "internally tagged enum BrokerSpec",
            "kind",
            |kind, fields| {
                Ok(match kind {
                    BrokerKind::Queue => BrokerSpec::Queue(serde_json::from_value(fields)?),
                    BrokerKind::Log => BrokerSpec::Log(serde_json::from_value(fields)?),
                })
            },
        )
    }
}

/// Anomalies this scenario forbids. The checker always reports everything; these
/// only decide pass/fail (and so where `brokerlab sweep` stops).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// An acknowledged message must be processed at least once.
    #[serde(default)]
    pub no_lost: bool,
    /// No message may be processed twice.
    #[serde(default)]
    pub no_duplicated: bool,
    /// No out-of-order processing among one producer's messages.
    #[serde(default)]
    pub no_out_of_order: bool,
    /// No out-of-order processing among one producer's messages with one key.
    #[serde(default)]
    pub no_out_of_order_per_key: bool,
}

/// Hard caps on one run, so a bad scenario stops with an error instead of
/// running forever or eating the page's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Simulation events one run may process before it stops with an error.
    #[serde(default = "default_events_max")]
    pub events_max: u64,
    /// Default `max_length` for queues that do not set one.
    #[serde(default = "default_depth_max")]
    pub queue_depth_max: u64,
    /// Log broker: how long the final drain runs after `duration_ms` (see
    /// `World::finish`), so the groups can read what is left before the
    /// checker calls an unread write `unseen`.
    #[serde(default = "default_drain_ms")]
    pub drain_ms: u64,
}

fn default_drain_ms() -> u64 {
    10_000
}

fn default_events_max() -> u64 {
    bounds::EVENTS_MAX_DEFAULT
}
fn default_depth_max() -> u64 {
    bounds::QUEUE_DEPTH_MAX_DEFAULT
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            events_max: default_events_max(),
            queue_depth_max: default_depth_max(),
            drain_ms: default_drain_ms(),
        }
    }
}

/// A bad scenario: which field, and why. Printed as `field: reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// A path such as `clients[2].prefetch`, or `.` for the whole document.
    pub path: String,
    /// Why the value is refused, in words a person can act on.
    pub reason: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for ScenarioError {}

/// For `skip_serializing_if`: a flag that is off stays out of the file.
fn is_false(b: &bool) -> bool {
    !*b
}

/// Default window of unanswered sends (confirms, `max.in.flight.requests`).
fn default_window() -> u32 {
    1000
}
