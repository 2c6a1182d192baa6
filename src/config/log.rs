//! The log broker's vocabulary: topics of partitions, and the Kafka-style
//! producers and consumer-group members that write and read them.

use super::{default_window, is_false, ClusterSpec, NetworkSpec, ProcessingSpec};
use serde::{Deserialize, Serialize};

/// The log broker: topics of partitions kept in a log on a simulated disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogBrokerSpec {
    /// The topics the broker hosts (1 to `bounds::TOPICS_MAX`).
    pub topics: Vec<TopicSpec>,
    /// Virtual ms one `fsync` (one group commit) of the broker's disk takes.
    /// `acks=all` is answered only once the record's flush completed.
    #[serde(default = "default_fsync_latency_ms")]
    pub fsync_latency_ms: u64,
    /// A Kafka-style cluster: brokers, `replication.factor`,
    /// `min.insync.replicas`, flushing and elections (see
    /// [`ClusterSpec`]). Absent: the one node of every run so far, which is
    /// [`ClusterSpec::single_node`] (`flush.messages=1`, one replica).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterSpec>,
}

fn default_fsync_latency_ms() -> u64 {
    5
}

/// A topic: a name and its partitions, with Kafka's retention settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// The topic's name, unique on the broker.
    pub name: String,
    /// Partitions (Kinesis: shards), each an append-only log with dense offsets.
    pub partitions: u32,
    /// Kafka's `retention.ms`: records older than this (by timestamp) are deleted.
    #[serde(default, rename = "retention.ms")]
    pub retention_ms: Option<u64>,
    /// Keep at most this many records per partition (a count stand-in for
    /// Kafka's `retention.bytes`); older ones are deleted.
    #[serde(default, rename = "retention.records")]
    pub retention_records: Option<u64>,
}

/// Kafka's producer `acks`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Acks {
    /// Fire and forget: no response at all.
    #[serde(rename = "0")]
    Zero,
    /// Answered once the broker appended the record (in memory).
    #[serde(rename = "1")]
    One,
    /// Answered once the record is durable (its flush completed).
    #[default]
    #[serde(rename = "all", alias = "-1")]
    All,
}

/// How a producer places records without a key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partitioner {
    /// Kafka's sticky partitioner: one partition for a whole batch (here
    /// `STICKY_BATCH_RECORDS` records), then the next partition.
    #[default]
    Sticky,
    /// One record per partition in turn.
    RoundRobin,
}

/// A producer writing to a topic of the log broker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogProducerSpec {
    /// The producer's id, unique in the scenario.
    pub id: String,
    /// The topic it writes to.
    pub topic: String,
    /// Record keys, used in turn; a key picks its partition by murmur2 hash.
    /// Empty: keyless records placed by `partitioner`.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Records per second (exactly one of `rate_per_s` and `interval_ms`).
    #[serde(default)]
    pub rate_per_s: Option<u64>,
    /// Virtual ms between two records (exactly one of `rate_per_s` and `interval_ms`).
    #[serde(default)]
    pub interval_ms: Option<u64>,
    /// How many records to produce (the run may end first).
    pub count: u64,
    /// When the first record is produced, virtual ms.
    #[serde(default)]
    pub start_ms: u64,
    /// The size each record says it has, bytes: carried and stored as a
    /// number, no payload is simulated.
    #[serde(default)]
    pub payload_bytes: u32,
    /// Kafka's `acks`: when the broker answers a produce request.
    #[serde(default)]
    pub acks: Acks,
    /// Re-sends after `request.timeout.ms` without a response. A retry is a new
    /// append: if the first one landed, the record is now at two offsets.
    #[serde(default)]
    pub retries: u32,
    /// Kafka's `request.timeout.ms`: how long to wait for an answer before a retry.
    #[serde(default = "default_request_timeout_ms", rename = "request.timeout.ms")]
    pub request_timeout_ms: u64,
    /// Unanswered produce requests allowed at once (flow control).
    #[serde(default = "default_window", rename = "max.in.flight.requests")]
    pub max_in_flight: u32,
    /// Where keyless records go: sticky batches or round-robin.
    #[serde(default)]
    pub partitioner: Partitioner,
    /// Kafka's `enable.idempotence`: a producer id, an epoch and a sequence
    /// number per partition, so the broker drops a retried duplicate. Needs
    /// `acks=all`, `retries > 0` and `max.in.flight.requests <= 5`.
    #[serde(
        default,
        rename = "enable.idempotence",
        skip_serializing_if = "is_false"
    )]
    pub enable_idempotence: bool,
    /// A transactional producer (Kafka's `transactional.id`): its records
    /// go out in transactions. Only the replication core's harness runs
    /// it (see [`crate::world::cluster`]); the world refuses it. Native
    /// only: the page runs no transactional producer, and its build
    /// leaves them out (the bundle budget), so there the field is unknown.
    #[cfg(not(target_arch = "wasm32"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactional: Option<ProducerTxnSpec>,
    /// The producer's own link settings; absent, the scenario's `network`.
    #[serde(default)]
    pub network: Option<NetworkSpec>,
}

fn default_request_timeout_ms() -> u64 {
    1000
}

/// How a transactional producer groups its records: the application's
/// choices (Kafka leaves them to the code between `beginTransaction()`
/// and `commitTransaction()`), and its `transactional.id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerTxnSpec {
    /// Kafka's `transactional.id`: the coordinator keeps one producer id
    /// per id and fences an older epoch.
    #[serde(rename = "transactional.id")]
    pub transactional_id: String,
    /// Records in each transaction (the last one may hold fewer).
    #[serde(default = "default_records_per_transaction")]
    pub records_per_transaction: u32,
    /// The application aborts every `abort_every`-th transaction instead
    /// of committing it (0: never), so that `read_committed` has aborted
    /// records to skip.
    #[serde(default)]
    pub abort_every: u32,
}

fn default_records_per_transaction() -> u32 {
    3
}

/// When a consumer commits its offsets when `enable.auto.commit` is off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitMode {
    /// `commitSync` after each record's effect: at-least-once.
    AfterProcessing,
    /// `commitSync` before processing: at-most-once.
    BeforeProcessing,
}

/// Kafka's `auto.offset.reset`: where a group starts without a committed offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetReset {
    /// From the first offset still in the log.
    Earliest,
    /// From the log end: only records written from then on.
    #[default]
    Latest,
}

/// `partition.assignment.strategy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Assignor {
    /// `RangeAssignor`: members get contiguous ranges of partitions.
    #[default]
    #[serde(rename = "range")]
    Range,
    /// `RoundRobinAssignor`: partitions dealt out one at a time.
    #[serde(rename = "roundrobin")]
    RoundRobin,
}

/// Where a seek moves a consumer. Kafka's `seekToBeginning` / `seekToEnd` /
/// `seek(offset)` / `offsetsForTimes`, with the Kinesis iterator names as aliases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeekPosition {
    /// Kafka's `seekToBeginning` (Kinesis `TRIM_HORIZON`).
    #[serde(rename = "earliest", alias = "TRIM_HORIZON")]
    Earliest,
    /// Kafka's `seekToEnd` (Kinesis `LATEST`).
    #[serde(rename = "latest", alias = "LATEST")]
    Latest,
    /// Kafka's `seek(offset)` (Kinesis `AT_SEQUENCE_NUMBER`): `offset` is read next.
    #[serde(rename = "offset", alias = "AT_SEQUENCE_NUMBER")]
    AtOffset,
    /// The record after `offset` (Kinesis `AFTER_SEQUENCE_NUMBER`).
    #[serde(rename = "after_offset", alias = "AFTER_SEQUENCE_NUMBER")]
    AfterOffset,
    /// Kafka's `offsetsForTimes` (Kinesis `AT_TIMESTAMP`).
    #[serde(rename = "timestamp", alias = "AT_TIMESTAMP")]
    AtTimestamp,
}

/// A seek at a fixed time, applied to every partition the consumer owns then.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeekSpec {
    /// When the seek happens (virtual ms, before `duration_ms`).
    pub at_ms: u64,
    /// Where it moves the consumer.
    pub position: SeekPosition,
    /// For `offset` / `after_offset`.
    #[serde(default)]
    pub offset: Option<u64>,
    /// For `timestamp`: the first record at or after this time.
    #[serde(default)]
    pub timestamp_ms: Option<u64>,
}

/// A consumer in a consumer group of the log broker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConsumerSpec {
    /// The consumer's id, unique in the scenario.
    pub id: String,
    /// The topic it reads; every member of a group reads the same one.
    pub topic: String,
    /// Kafka's `group.id`: members of one group share the topic's partitions
    /// and its committed offsets.
    #[serde(rename = "group.id")]
    pub group_id: String,
    /// How long one record's effect takes.
    pub processing: ProcessingSpec,
    /// Kafka's `enable.auto.commit`: the consumer commits what it polled
    /// every `auto.commit.interval.ms`, whether or not it was processed.
    #[serde(default = "yes", rename = "enable.auto.commit")]
    pub enable_auto_commit: bool,
    /// Kafka's `auto.commit.interval.ms`.
    #[serde(default = "default_auto_commit_ms", rename = "auto.commit.interval.ms")]
    pub auto_commit_interval_ms: u64,
    /// Required when `enable.auto.commit` is false, not allowed otherwise.
    #[serde(default)]
    pub commit: Option<CommitMode>,
    /// Kafka's `auto.offset.reset`: where to start without a committed offset.
    #[serde(default, rename = "auto.offset.reset")]
    pub auto_offset_reset: OffsetReset,
    /// Kafka's `session.timeout.ms`: a member silent this long is removed
    /// from the group and its partitions are reassigned.
    #[serde(default = "default_session_timeout_ms", rename = "session.timeout.ms")]
    pub session_timeout_ms: u64,
    /// Kafka's `heartbeat.interval.ms`: below `session.timeout.ms`.
    #[serde(default = "default_heartbeat_ms", rename = "heartbeat.interval.ms")]
    pub heartbeat_interval_ms: u64,
    /// Kafka's `partition.assignment.strategy`.
    #[serde(default, rename = "partition.assignment.strategy")]
    pub assignment: Assignor,
    /// Kafka's `max.poll.records`: records one `poll()` returns at most.
    #[serde(default = "default_max_poll_records", rename = "max.poll.records")]
    pub max_poll_records: u32,
    /// Seeks at fixed times (Kafka `seek*`, Kinesis iterator types).
    #[serde(default)]
    pub seeks: Vec<SeekSpec>,
    /// Leaves the group (`close()`: commit, then `LeaveGroup`) at this time.
    #[serde(default)]
    pub leave_at_ms: Option<u64>,
    /// `isolation.level`: `read_uncommitted` (default) or `read_committed`.
    #[serde(
        default,
        rename = "isolation.level",
        skip_serializing_if = "IsolationLevel::is_default"
    )]
    pub isolation_level: IsolationLevel,
    /// The idempotent consumer: remember this many processed message ids in
    /// a dedup store committed with the effect (see [`crate::client::dedup`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_ids_max: Option<u64>,
    /// Read-process-write: this member commits its input offsets inside a
    /// transaction that also writes its output (see
    /// [`crate::client::txn_producer`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactional: Option<TransactionalSpec>,
    /// The consumer's own link settings; absent, the scenario's `network`.
    #[serde(default)]
    pub network: Option<NetworkSpec>,
}

/// The transactional half of a read-process-write client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionalSpec {
    /// Kafka's `transactional.id`: instances sharing it fence each other.
    #[serde(rename = "transactional.id")]
    pub transactional_id: String,
    /// The coordinator aborts a transaction open longer than this.
    #[serde(
        default = "default_transaction_timeout_ms",
        rename = "transaction.timeout.ms"
    )]
    pub transaction_timeout_ms: u64,
    /// Where each input record's result goes (one output record per input).
    pub output_topic: String,
    /// When this instance starts (a later instance fences an earlier one).
    #[serde(default)]
    pub start_ms: u64,
}

fn default_transaction_timeout_ms() -> u64 {
    60_000
}

fn yes() -> bool {
    true
}
fn default_auto_commit_ms() -> u64 {
    5000
}
fn default_session_timeout_ms() -> u64 {
    45_000
}
fn default_heartbeat_ms() -> u64 {
    3000
}
fn default_max_poll_records() -> u32 {
    500
}

/// Kafka's `isolation.level` of a consumer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IsolationLevel {
    /// Sees every record up to the log end, aborted ones too (Kafka's default).
    #[default]
    ReadUncommitted,
    /// Sees records only up to the last stable offset, and no aborted ones.
    ReadCommitted,
}

impl IsolationLevel {
    /// For `skip_serializing_if`: scenarios without the field stay as they were.
    pub fn is_default(&self) -> bool {
        *self == IsolationLevel::ReadUncommitted
    }
}
