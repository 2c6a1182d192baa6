//! The scenario file: everything a run depends on besides the code.
//!
//! A scenario is JSON (see `scenarios/*.json` for one per behaviour). Parsing is
//! strict: every struct denies unknown fields, so a typo such as `"prefech"` is an
//! error instead of a silently ignored setting. After parsing, [`Scenario::validate`]
//! checks what types cannot: positive rates, probabilities in `[0, 1]`, faults
//! inside the run, client ids that exist. Every error names the field path
//! (`clients[2].prefetch`) and the reason, and nothing here panics on bad input.
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
//! Room to grow: `broker.kind` is a tag, so the log broker (issue 4) becomes a new
//! variant of [`BrokerSpec`]; `clients[].kind` is a tag too, so new client kinds
//! (an idempotent or transactional producer, issue 5) are new variants; and the
//! `expect` block is where a delivery-guarantee setting will plug in.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
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
    pub broker: BrokerSpec,
    /// Default link settings for every client; a client may override them.
    #[serde(default)]
    pub network: NetworkSpec,
    pub clients: Vec<ClientSpec>,
    /// Faults at fixed times.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// Client settings changed at fixed times (the page's per-client
    /// settings; see [`crate::settings`]). Left out when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<crate::settings::SettingSpec>,
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
    pub guarantee: Option<crate::guarantee::Guarantee>,
    #[serde(default)]
    pub limits: Limits,
}

/// The broker under test. Tagged by `kind` so more brokers can join.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BrokerSpec {
    /// An in-memory queue broker: RabbitMQ (AMQP 0-9-1) or SQS semantics.
    Queue(QueueBrokerSpec),
    /// A partitioned append-only log: Kafka / Kinesis semantics.
    Log(LogBrokerSpec),
}

/// The log broker: topics of partitions kept in a log on a simulated disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogBrokerSpec {
    pub topics: Vec<TopicSpec>,
    /// Virtual ms one `fsync` (one group commit) of the broker's disk takes.
    /// `acks=all` is answered only once the record's flush completed.
    #[serde(default = "default_fsync_latency_ms")]
    pub fsync_latency_ms: u64,
}

fn default_fsync_latency_ms() -> u64 {
    5
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
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
    pub id: String,
    pub topic: String,
    /// Record keys, used in turn; a key picks its partition by murmur2 hash.
    /// Empty: keyless records placed by `partitioner`.
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub rate_per_s: Option<u64>,
    #[serde(default)]
    pub interval_ms: Option<u64>,
    pub count: u64,
    #[serde(default)]
    pub start_ms: u64,
    #[serde(default)]
    pub payload_bytes: u32,
    #[serde(default)]
    pub acks: Acks,
    /// Re-sends after `request.timeout.ms` without a response. A retry is a new
    /// append: if the first one landed, the record is now at two offsets.
    #[serde(default)]
    pub retries: u32,
    #[serde(default = "default_request_timeout_ms", rename = "request.timeout.ms")]
    pub request_timeout_ms: u64,
    /// Unanswered produce requests allowed at once (flow control).
    #[serde(default = "default_window", rename = "max.in.flight.requests")]
    pub max_in_flight: u32,
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
    #[serde(default)]
    pub network: Option<NetworkSpec>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn default_request_timeout_ms() -> u64 {
    1000
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
    Earliest,
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
    #[serde(rename = "earliest", alias = "TRIM_HORIZON")]
    Earliest,
    #[serde(rename = "latest", alias = "LATEST")]
    Latest,
    #[serde(rename = "offset", alias = "AT_SEQUENCE_NUMBER")]
    AtOffset,
    #[serde(rename = "after_offset", alias = "AFTER_SEQUENCE_NUMBER")]
    AfterOffset,
    #[serde(rename = "timestamp", alias = "AT_TIMESTAMP")]
    AtTimestamp,
}

/// A seek at a fixed time, applied to every partition the consumer owns then.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeekSpec {
    pub at_ms: u64,
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
    pub id: String,
    pub topic: String,
    #[serde(rename = "group.id")]
    pub group_id: String,
    pub processing: ProcessingSpec,
    #[serde(default = "yes", rename = "enable.auto.commit")]
    pub enable_auto_commit: bool,
    #[serde(default = "default_auto_commit_ms", rename = "auto.commit.interval.ms")]
    pub auto_commit_interval_ms: u64,
    /// Required when `enable.auto.commit` is false, not allowed otherwise.
    #[serde(default)]
    pub commit: Option<CommitMode>,
    #[serde(default, rename = "auto.offset.reset")]
    pub auto_offset_reset: OffsetReset,
    #[serde(default = "default_session_timeout_ms", rename = "session.timeout.ms")]
    pub session_timeout_ms: u64,
    #[serde(default = "default_heartbeat_ms", rename = "heartbeat.interval.ms")]
    pub heartbeat_interval_ms: u64,
    #[serde(default, rename = "partition.assignment.strategy")]
    pub assignment: Assignor,
    #[serde(default = "default_max_poll_records", rename = "max.poll.records")]
    pub max_poll_records: u32,
    #[serde(default)]
    pub seeks: Vec<SeekSpec>,
    /// Leaves the group (`close()`: commit, then `LeaveGroup`) at this time.
    #[serde(default)]
    pub leave_at_ms: Option<u64>,
    /// `isolation.level`: `read_uncommitted` (default) or `read_committed`.
    #[serde(
        default,
        rename = "isolation.level",
        skip_serializing_if = "crate::broker::txn::IsolationLevel::is_default"
    )]
    pub isolation_level: crate::broker::txn::IsolationLevel,
    /// The idempotent consumer: remember this many processed message ids in
    /// a dedup store committed with the effect (see [`crate::client::dedup`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_ids_max: Option<u64>,
    /// Read-process-write: this member commits its input offsets inside a
    /// transaction that also writes its output (see
    /// [`crate::client::txn_producer`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactional: Option<TransactionalSpec>,
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueBrokerSpec {
    /// `rabbitmq`: unacked deliveries return when the channel closes.
    /// `sqs`: they return when the `visibility timeout` expires.
    #[serde(default)]
    pub mode: QueueMode,
    pub queues: Vec<QueueSpec>,
    #[serde(default)]
    pub exchanges: Vec<ExchangeSpec>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueMode {
    #[default]
    Rabbitmq,
    Sqs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    pub name: String,
    /// SQS `VisibilityTimeout`: how long a received message stays hidden.
    /// Required in `sqs` mode, not allowed in `rabbitmq` mode.
    #[serde(default)]
    pub visibility_timeout_ms: Option<u64>,
    /// `x-delivery-limit` (RabbitMQ) / `maxReceiveCount` (SQS): a message is
    /// delivered at most this many times; when it comes back once more it is
    /// dead-lettered (or dropped if there is no dead-letter queue).
    #[serde(default)]
    pub delivery_limit: Option<u32>,
    /// Where dead-lettered messages go (`x-dead-letter-exchange` routed to one
    /// queue, or the SQS redrive target). Must name another declared queue.
    #[serde(default)]
    pub dead_letter_queue: Option<String>,
    /// `x-max-length` with `overflow = reject-publish`: past it, a publish is
    /// refused with a negative confirm. Defaults to `limits.queue_depth_max`.
    #[serde(default)]
    pub max_length: Option<u64>,
    /// SQS FIFO deduplication (`sqs` mode only): a publish whose
    /// `MessageDeduplicationId` was accepted within the last 5 minutes of
    /// virtual time is confirmed but not enqueued again. The producer's
    /// message id is the `MessageDeduplicationId` (the same on every retry).
    #[serde(default, skip_serializing_if = "is_false")]
    pub fifo_deduplication: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ExchangeKind,
    pub bindings: Vec<BindingSpec>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExchangeKind {
    /// A copy to every bound queue.
    #[serde(rename = "fanout")]
    Fanout,
    /// To the queues whose binding key equals the message's routing key.
    #[serde(rename = "direct")]
    Direct,
    /// RabbitMQ's `x-consistent-hash` exchange: exactly one bound queue, chosen by
    /// a hash of the routing key. This is how the seed's "fan-out into partitions"
    /// is built: one queue per partition, one exclusive consumer per queue.
    #[serde(rename = "x-consistent-hash")]
    ConsistentHash,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingSpec {
    pub queue: String,
    /// Only for `direct` exchanges.
    #[serde(default)]
    pub routing_key: Option<String>,
}

/// A client-to-broker link. Both directions use the same settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    #[serde(default = "one")]
    pub latency_ms_min: u64,
    #[serde(default = "one")]
    pub latency_ms_max: u64,
    /// Chance that one message on the link vanishes.
    #[serde(default)]
    pub loss_probability: f64,
    /// Chance that one message on the link arrives twice.
    #[serde(default)]
    pub duplicate_probability: f64,
}

fn one() -> u64 {
    1
}

impl Default for NetworkSpec {
    fn default() -> NetworkSpec {
        NetworkSpec {
            latency_ms_min: 1,
            latency_ms_max: 1,
            loss_probability: 0.0,
            duplicate_probability: 0.0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClientSpec {
    Producer(ProducerSpec),
    Consumer(ConsumerSpec),
    LogProducer(LogProducerSpec),
    LogConsumer(LogConsumerSpec),
}

impl ClientSpec {
    pub fn id(&self) -> &str {
        match self {
            ClientSpec::Producer(p) => &p.id,
            ClientSpec::Consumer(c) => &c.id,
            ClientSpec::LogProducer(p) => &p.id,
            ClientSpec::LogConsumer(c) => &c.id,
        }
    }

    pub fn network(&self) -> Option<NetworkSpec> {
        match self {
            ClientSpec::Producer(p) => p.network,
            ClientSpec::Consumer(c) => c.network,
            ClientSpec::LogProducer(p) => p.network,
            ClientSpec::LogConsumer(c) => c.network,
        }
    }

    /// Message keys this client names (to intern).
    pub fn keys(&self) -> &[String] {
        match self {
            ClientSpec::Producer(p) => &p.keys,
            ClientSpec::Consumer(c) => &c.fail_keys,
            ClientSpec::LogProducer(p) => &p.keys,
            ClientSpec::LogConsumer(_) => &[],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerSpec {
    pub id: String,
    /// The exchange to publish to; `""` is the default exchange, which routes
    /// to the queue named by `routing_key`.
    #[serde(default)]
    pub exchange: String,
    /// For the default exchange: the queue name. Otherwise unused; messages
    /// carry their `key` as the routing key.
    #[serde(default)]
    pub routing_key: String,
    /// Message keys, used in turn (message n gets `keys[n % len]`). A key is the
    /// routing key for `direct`/`x-consistent-hash` exchanges and the effect's key.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Exactly one of `rate_per_s` and `interval_ms`.
    #[serde(default)]
    pub rate_per_s: Option<u64>,
    #[serde(default)]
    pub interval_ms: Option<u64>,
    /// How many messages to publish (the run may end first).
    pub count: u64,
    #[serde(default)]
    pub start_ms: u64,
    #[serde(default)]
    pub payload_bytes: u32,
    /// Publisher confirms (`confirm.select`); absent means fire-and-forget.
    #[serde(default)]
    pub confirms: Option<ConfirmSpec>,
    #[serde(default)]
    pub network: Option<NetworkSpec>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmSpec {
    /// How long to wait for the broker's confirm before giving up on an attempt.
    pub timeout_ms: u64,
    /// Re-publish the same message this many times after a timeout. Each retry
    /// may duplicate the message: the first copy may have arrived after all.
    #[serde(default)]
    pub max_retries: u32,
    /// Unconfirmed messages the producer may have out at once; when full it
    /// waits (publisher flow control).
    #[serde(default = "default_window")]
    pub window: u32,
}

fn default_window() -> u32 {
    1000
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerSpec {
    pub id: String,
    pub queue: String,
    /// `basic.qos(prefetch_count)`: unacked deliveries this consumer may hold.
    pub prefetch: u32,
    #[serde(default)]
    pub ack_mode: AckMode,
    pub processing: ProcessingSpec,
    /// `basic.consume(exclusive=true)`: the only consumer allowed on the queue.
    #[serde(default)]
    pub exclusive: bool,
    /// Messages with these keys always fail processing ("poison messages").
    #[serde(default)]
    pub fail_keys: Vec<String>,
    /// Chance that processing any other message fails.
    #[serde(default)]
    pub fail_probability: f64,
    /// What a failed message gets: `basic.nack(requeue=true)` or
    /// `basic.reject(requeue=false)`. In `sqs` mode a failure just does not
    /// `DeleteMessage`, so the message returns after the visibility timeout.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// The idempotent consumer: remember this many processed message ids in
    /// a dedup store committed with the effect (see [`crate::client::dedup`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_ids_max: Option<u64>,
    #[serde(default)]
    pub network: Option<NetworkSpec>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckMode {
    /// `no_ack`: the broker forgets the message as it sends it (at-most-once).
    Auto,
    /// Manual `basic.ack` after the effect is applied (at-least-once).
    #[default]
    AfterProcessing,
    /// Manual `basic.ack` when processing starts (at-most-once).
    BeforeProcessing,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    #[default]
    Requeue,
    Reject,
}

/// How long one message takes to process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ProcessingSpec {
    FixedMs(u64),
    /// Uniform in `[min, max]`, drawn from the seeded client stream.
    UniformMs {
        min: u64,
        max: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub at_ms: u64,
    pub action: FaultAction,
    /// `"broker"` or a client id.
    pub target: String,
    /// For `drop_acks`: when the link starts delivering acks again.
    #[serde(default)]
    pub until_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    Crash,
    Restart,
    /// Drop consumer acks (to the broker) or publisher confirms (to the
    /// producer) on the target's link until `until_ms`.
    DropAcks,
    /// A producer crashes right after its next send, before the ack (an
    /// unknown outcome); it restarts at `until_ms` and re-sends what was
    /// unacknowledged (see [`crate::guarantee`]).
    CrashAfterSend,
    /// A consumer crashes right after its next effect, before the ack or
    /// commit goes out; it restarts at `until_ms`.
    CrashAfterProcess,
    /// Log broker only: the broker crashes while its disk writes a group
    /// commit, so the last batch of the oldest flush in flight lands torn
    /// (cut at a point drawn from the seeded PRNG) and the batches before it
    /// land whole. Recovery truncates the stream at the torn batch. Nothing
    /// in that flush was acknowledged, so no guarantee may lose by it.
    CrashTorn,
}

/// The one place that says which faults a randomised run may inject.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultOptions {
    #[serde(default)]
    pub broker_crash: bool,
    #[serde(default)]
    pub consumer_crash: bool,
    #[serde(default)]
    pub producer_crash: bool,
    #[serde(default)]
    pub drop_acks: bool,
    /// Draw `crash_after_send` (a producer crashes right after a send,
    /// before its ack: an unknown outcome, then a retry). One of the faults
    /// that tell the guarantees apart. Off by default, so seeds drawn before
    /// it existed keep their faults.
    #[serde(default, skip_serializing_if = "is_false")]
    pub crash_after_send: bool,
    /// Draw `crash_after_process` (a consumer crashes right after its
    /// effect, before its ack or commit: the effect is applied again after
    /// the restart unless deduplicated). Off by default, like
    /// `crash_after_send`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub crash_after_process: bool,
    /// Log broker only: every broker crash of the run (scheduled, drawn or
    /// injected) tears the batch its disk was writing, as `crash_torn` does,
    /// instead of losing the flush in flight cleanly. Where it is cut is
    /// drawn from its own PRNG stream, so with this off nothing else in a
    /// run moves.
    #[serde(default, skip_serializing_if = "is_false")]
    pub torn_writes: bool,
    /// How many faults one randomised run draws at most.
    #[serde(default = "default_max_faults")]
    pub max_faults: u32,
    /// How long a crashed node stays down (uniform in `[min, max]`).
    #[serde(default = "default_downtime_min")]
    pub downtime_ms_min: u64,
    #[serde(default = "default_downtime_max")]
    pub downtime_ms_max: u64,
}

fn default_max_faults() -> u32 {
    3
}
fn default_downtime_min() -> u64 {
    50
}
fn default_downtime_max() -> u64 {
    500
}

impl Default for FaultOptions {
    fn default() -> FaultOptions {
        FaultOptions {
            broker_crash: false,
            consumer_crash: false,
            producer_crash: false,
            drop_acks: false,
            crash_after_send: false,
            crash_after_process: false,
            torn_writes: false,
            max_faults: default_max_faults(),
            downtime_ms_min: default_downtime_min(),
            downtime_ms_max: default_downtime_max(),
        }
    }
}

/// Anomalies this scenario forbids. The checker always reports everything; these
/// only decide pass/fail (and so where `brokerlab sweep` stops).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    #[serde(default)]
    pub no_lost: bool,
    #[serde(default)]
    pub no_duplicated: bool,
    /// No out-of-order processing among one producer's messages.
    #[serde(default)]
    pub no_out_of_order: bool,
    /// No out-of-order processing among one producer's messages with one key.
    #[serde(default)]
    pub no_out_of_order_per_key: bool,
}

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
    pub reason: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for ScenarioError {}

fn err<T>(path: impl Into<String>, reason: impl Into<String>) -> Result<T, ScenarioError> {
    Err(ScenarioError {
        path: path.into(),
        reason: reason.into(),
    })
}

impl Scenario {
    /// Parses and validates. Malformed JSON, unknown fields and bad values all
    /// come back as a [`ScenarioError`] naming the field.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let scenario: Scenario = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            ScenarioError {
                path: if path.is_empty() { ".".into() } else { path },
                reason: e.into_inner().to_string(),
            }
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a scenario always serializes")
    }

    /// Checks every rule the types cannot express.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if self.duration_ms == 0 || self.duration_ms > bounds::DURATION_MS_MAX {
            return err(
                "duration_ms",
                format!("must be in 1..={}", bounds::DURATION_MS_MAX),
            );
        }
        validate_network("network", &self.network)?;
        let names = match &self.broker {
            BrokerSpec::Queue(broker) => {
                validate_broker(broker, &self.limits)?;
                BrokerNames {
                    queues: broker.queues.iter().map(|q| q.name.as_str()).collect(),
                    exchanges: broker.exchanges.iter().map(|x| x.name.as_str()).collect(),
                    topics: BTreeSet::new(),
                }
            }
            BrokerSpec::Log(broker) => {
                validate_log_broker(broker)?;
                BrokerNames {
                    queues: BTreeSet::new(),
                    exchanges: BTreeSet::new(),
                    topics: broker.topics.iter().map(|t| t.name.as_str()).collect(),
                }
            }
        };
        validate_clients(&self.clients, &names, self.duration_ms)?;
        let ids: BTreeSet<&str> = self.clients.iter().map(|c| c.id()).collect();
        let log_broker = matches!(self.broker, BrokerSpec::Log(_));
        validate_faults(
            &self.faults,
            &ids,
            &self.clients,
            self.duration_ms,
            log_broker,
        )?;
        crate::guarantee::validate(self)?;
        crate::settings::validate(self)?;
        validate_fault_options(&self.fault_options, log_broker)?;
        if self.limits.events_max == 0 {
            return err("limits.events_max", "must be positive");
        }
        if self.limits.queue_depth_max == 0 {
            return err("limits.queue_depth_max", "must be positive");
        }
        Ok(())
    }
}

fn validate_probability(path: String, p: f64) -> Result<(), ScenarioError> {
    if !(0.0..=1.0).contains(&p) {
        return err(path, format!("probability {p} is outside [0, 1]"));
    }
    Ok(())
}

fn validate_network(path: &str, net: &NetworkSpec) -> Result<(), ScenarioError> {
    if net.latency_ms_min > net.latency_ms_max {
        return err(
            format!("{path}.latency_ms_min"),
            format!(
                "{} is greater than latency_ms_max {}",
                net.latency_ms_min, net.latency_ms_max
            ),
        );
    }
    if net.latency_ms_max > 60_000 {
        return err(format!("{path}.latency_ms_max"), "must be at most 60000");
    }
    validate_probability(format!("{path}.loss_probability"), net.loss_probability)?;
    validate_probability(
        format!("{path}.duplicate_probability"),
        net.duplicate_probability,
    )
}

fn validate_broker(broker: &QueueBrokerSpec, limits: &Limits) -> Result<(), ScenarioError> {
    if broker.queues.is_empty() || broker.queues.len() > bounds::QUEUES_MAX {
        return err(
            "broker.queues",
            format!("declare 1..={} queues", bounds::QUEUES_MAX),
        );
    }
    let mut names = BTreeSet::new();
    for (i, q) in broker.queues.iter().enumerate() {
        let path = format!("broker.queues[{i}]");
        if q.name.is_empty() || !names.insert(q.name.as_str()) {
            return err(format!("{path}.name"), "must be non-empty and unique");
        }
        validate_queue(&path, q, broker.mode, limits)?;
    }
    for (i, q) in broker.queues.iter().enumerate() {
        if let Some(dlq) = &q.dead_letter_queue {
            if !names.contains(dlq.as_str()) || dlq == &q.name {
                return err(
                    format!("broker.queues[{i}].dead_letter_queue"),
                    format!("`{dlq}` is not another declared queue"),
                );
            }
        }
    }
    validate_exchanges(&broker.exchanges, &names)
}

fn validate_queue(
    path: &str,
    q: &QueueSpec,
    mode: QueueMode,
    limits: &Limits,
) -> Result<(), ScenarioError> {
    match (mode, q.visibility_timeout_ms) {
        (QueueMode::Sqs, None) => {
            return err(
                format!("{path}.visibility_timeout_ms"),
                "required in sqs mode",
            )
        }
        (QueueMode::Sqs, Some(0)) => {
            return err(format!("{path}.visibility_timeout_ms"), "must be positive")
        }
        (QueueMode::Rabbitmq, Some(_)) => return err(
            format!("{path}.visibility_timeout_ms"),
            "only sqs mode has a visibility timeout (rabbitmq requeues when the channel closes)",
        ),
        _ => {}
    }
    if q.delivery_limit == Some(0) {
        return err(format!("{path}.delivery_limit"), "must be positive");
    }
    if let Some(max) = q.max_length {
        if max == 0 || max > limits.queue_depth_max {
            return err(
                format!("{path}.max_length"),
                format!(
                    "must be in 1..={} (limits.queue_depth_max)",
                    limits.queue_depth_max
                ),
            );
        }
    }
    Ok(())
}

fn validate_exchanges(
    exchanges: &[ExchangeSpec],
    queues: &BTreeSet<&str>,
) -> Result<(), ScenarioError> {
    if exchanges.len() > bounds::QUEUES_MAX {
        return err(
            "broker.exchanges",
            format!("at most {}", bounds::QUEUES_MAX),
        );
    }
    let mut names = BTreeSet::new();
    for (i, x) in exchanges.iter().enumerate() {
        let path = format!("broker.exchanges[{i}]");
        if x.name.is_empty() || !names.insert(x.name.as_str()) {
            return err(
                format!("{path}.name"),
                "must be non-empty and unique (\"\" is the default exchange)",
            );
        }
        if x.bindings.is_empty() {
            return err(format!("{path}.bindings"), "bind at least one queue");
        }
        for (j, b) in x.bindings.iter().enumerate() {
            let bpath = format!("{path}.bindings[{j}]");
            if !queues.contains(b.queue.as_str()) {
                return err(
                    format!("{bpath}.queue"),
                    format!("unknown queue `{}`", b.queue),
                );
            }
            if (x.kind == ExchangeKind::Direct) != b.routing_key.is_some() {
                return err(
                    format!("{bpath}.routing_key"),
                    "required for direct exchanges and not allowed for others",
                );
            }
        }
    }
    Ok(())
}

/// What clients may refer to.
struct BrokerNames<'a> {
    queues: BTreeSet<&'a str>,
    exchanges: BTreeSet<&'a str>,
    topics: BTreeSet<&'a str>,
}

fn validate_log_broker(b: &LogBrokerSpec) -> Result<(), ScenarioError> {
    if b.topics.is_empty() || b.topics.len() > bounds::TOPICS_MAX {
        return err(
            "broker.topics",
            format!("declare 1..={} topics", bounds::TOPICS_MAX),
        );
    }
    if b.fsync_latency_ms > 60_000 {
        return err("broker.fsync_latency_ms", "must be at most 60000");
    }
    let mut names = BTreeSet::new();
    for (i, t) in b.topics.iter().enumerate() {
        let path = format!("broker.topics[{i}]");
        if t.name.is_empty() || !names.insert(t.name.as_str()) {
            return err(format!("{path}.name"), "must be non-empty and unique");
        }
        if t.partitions == 0 || t.partitions > bounds::PARTITIONS_MAX {
            return err(
                format!("{path}.partitions"),
                format!("must be in 1..={}", bounds::PARTITIONS_MAX),
            );
        }
        if t.retention_ms == Some(0) {
            return err(format!("{path}.retention.ms"), "must be positive");
        }
        if t.retention_records == Some(0) {
            return err(format!("{path}.retention.records"), "must be positive");
        }
    }
    Ok(())
}

/// Which broker kind a client kind needs.
fn client_fits(c: &ClientSpec, names: &BrokerNames) -> bool {
    let log = !names.topics.is_empty();
    matches!(c, ClientSpec::LogProducer(_) | ClientSpec::LogConsumer(_)) == log
}

fn validate_clients(
    clients: &[ClientSpec],
    names: &BrokerNames,
    duration_ms: u64,
) -> Result<(), ScenarioError> {
    let (queues, exchanges) = (&names.queues, &names.exchanges);
    if clients.is_empty() || clients.len() > bounds::CLIENTS_MAX {
        return err(
            "clients",
            format!("declare 1..={} clients", bounds::CLIENTS_MAX),
        );
    }
    let mut ids = BTreeSet::new();
    for (i, c) in clients.iter().enumerate() {
        let path = format!("clients[{i}]");
        if c.id().is_empty() || c.id() == "broker" || !ids.insert(c.id()) {
            return err(
                format!("{path}.id"),
                "must be non-empty, unique and not `broker`",
            );
        }
        if let Some(net) = c.network() {
            validate_network(&format!("{path}.network"), &net)?;
        }
        if !client_fits(c, names) {
            return err(
                format!("{path}.kind"),
                "queue clients (producer, consumer) need a queue broker; log clients (log_producer, log_consumer) need a log broker",
            );
        }
        match c {
            ClientSpec::Producer(p) => validate_producer(&path, p, queues, exchanges)?,
            ClientSpec::Consumer(k) => validate_consumer(&path, k, queues)?,
            ClientSpec::LogProducer(p) => validate_log_producer(&path, p, &names.topics)?,
            ClientSpec::LogConsumer(k) => validate_log_consumer(&path, k, names, duration_ms)?,
        }
    }
    validate_groups(clients)
}

/// Members of one `group.id` must agree on the topic and the assignor, as
/// Kafka requires one common protocol per group.
fn validate_groups(clients: &[ClientSpec]) -> Result<(), ScenarioError> {
    let mut first: std::collections::BTreeMap<&str, (&str, Assignor)> = Default::default();
    for (i, c) in clients.iter().enumerate() {
        let ClientSpec::LogConsumer(k) = c else {
            continue;
        };
        let (topic, assignor) = *first
            .entry(k.group_id.as_str())
            .or_insert((k.topic.as_str(), k.assignment));
        if topic != k.topic || assignor != k.assignment {
            return err(
                format!("clients[{i}].group.id"),
                format!(
                    "every member of group `{}` must read topic `{topic}` with the same partition.assignment.strategy",
                    k.group_id
                ),
            );
        }
    }
    Ok(())
}

/// The rate fields both producer kinds share.
fn validate_rate(
    path: &str,
    rate_per_s: Option<u64>,
    interval_ms: Option<u64>,
    count: u64,
) -> Result<(), ScenarioError> {
    match (rate_per_s, interval_ms) {
        (Some(0), _) => return err(format!("{path}.rate_per_s"), "must be positive"),
        (_, Some(0)) => return err(format!("{path}.interval_ms"), "must be positive"),
        (Some(_), Some(_)) | (None, None) => {
            return err(
                format!("{path}.rate_per_s"),
                "set exactly one of rate_per_s and interval_ms",
            )
        }
        _ => {}
    }
    if count == 0 || count > bounds::MESSAGES_PER_PRODUCER_MAX {
        return err(
            format!("{path}.count"),
            format!("must be in 1..={}", bounds::MESSAGES_PER_PRODUCER_MAX),
        );
    }
    Ok(())
}

fn validate_processing(path: &str, processing: ProcessingSpec) -> Result<(), ScenarioError> {
    if let ProcessingSpec::UniformMs { min, max } = processing {
        if min > max {
            return err(
                format!("{path}.processing.uniform_ms.min"),
                "greater than max",
            );
        }
    }
    Ok(())
}

fn validate_log_producer(
    path: &str,
    p: &LogProducerSpec,
    topics: &BTreeSet<&str>,
) -> Result<(), ScenarioError> {
    validate_rate(path, p.rate_per_s, p.interval_ms, p.count)?;
    if !topics.contains(p.topic.as_str()) {
        return err(
            format!("{path}.topic"),
            format!("unknown topic `{}`", p.topic),
        );
    }
    if p.request_timeout_ms == 0 {
        return err(format!("{path}.request.timeout.ms"), "must be positive");
    }
    if p.max_in_flight == 0 || p.max_in_flight > 100_000 {
        return err(
            format!("{path}.max.in.flight.requests"),
            "must be in 1..=100000",
        );
    }
    crate::guarantee::validate_idempotent_producer(path, p)?;
    Ok(())
}

fn validate_log_consumer(
    path: &str,
    c: &LogConsumerSpec,
    names: &BrokerNames,
    duration_ms: u64,
) -> Result<(), ScenarioError> {
    if !names.topics.contains(c.topic.as_str()) {
        return err(
            format!("{path}.topic"),
            format!("unknown topic `{}`", c.topic),
        );
    }
    if c.group_id.is_empty() {
        return err(format!("{path}.group.id"), "must be non-empty");
    }
    validate_processing(path, c.processing)?;
    if let Some(t) = &c.transactional {
        return crate::client::txn_producer::validate(
            path,
            c,
            t,
            names.topics.contains(t.output_topic.as_str()),
        );
    }
    match (c.enable_auto_commit, c.commit) {
        (true, Some(_)) => {
            return err(
                format!("{path}.commit"),
                "not allowed with enable.auto.commit = true (the consumer commits on its own)",
            )
        }
        (false, None) => {
            return err(
                format!("{path}.commit"),
                "required with enable.auto.commit = false: after_processing or before_processing",
            )
        }
        _ => {}
    }
    if c.enable_auto_commit && c.auto_commit_interval_ms == 0 {
        return err(
            format!("{path}.auto.commit.interval.ms"),
            "must be positive",
        );
    }
    if c.heartbeat_interval_ms == 0 || c.heartbeat_interval_ms >= c.session_timeout_ms {
        return err(
            format!("{path}.heartbeat.interval.ms"),
            "must be positive and below session.timeout.ms",
        );
    }
    if c.max_poll_records == 0 || c.max_poll_records > bounds::MAX_POLL_RECORDS_MAX {
        return err(
            format!("{path}.max.poll.records"),
            format!("must be in 1..={}", bounds::MAX_POLL_RECORDS_MAX),
        );
    }
    validate_seeks(path, &c.seeks, duration_ms)
}

fn validate_seeks(path: &str, seeks: &[SeekSpec], duration_ms: u64) -> Result<(), ScenarioError> {
    if seeks.len() > bounds::SEEKS_MAX {
        return err(
            format!("{path}.seeks"),
            format!("at most {}", bounds::SEEKS_MAX),
        );
    }
    for (i, s) in seeks.iter().enumerate() {
        let spath = format!("{path}.seeks[{i}]");
        if s.at_ms >= duration_ms {
            return err(format!("{spath}.at_ms"), "at or after the end of the run");
        }
        let needs_offset = matches!(
            s.position,
            SeekPosition::AtOffset | SeekPosition::AfterOffset
        );
        if needs_offset != s.offset.is_some() {
            return err(
                format!("{spath}.offset"),
                "required for offset / AT_SEQUENCE_NUMBER / AFTER_SEQUENCE_NUMBER, not allowed otherwise",
            );
        }
        let needs_time = s.position == SeekPosition::AtTimestamp;
        if needs_time != s.timestamp_ms.is_some() {
            return err(
                format!("{spath}.timestamp_ms"),
                "required for timestamp / AT_TIMESTAMP, not allowed otherwise",
            );
        }
    }
    Ok(())
}

fn validate_producer(
    path: &str,
    p: &ProducerSpec,
    queues: &BTreeSet<&str>,
    exchanges: &BTreeSet<&str>,
) -> Result<(), ScenarioError> {
    validate_rate(path, p.rate_per_s, p.interval_ms, p.count)?;
    if p.exchange.is_empty() {
        if !queues.contains(p.routing_key.as_str()) {
            return err(
                format!("{path}.routing_key"),
                format!(
                    "the default exchange needs a declared queue name, got `{}`",
                    p.routing_key
                ),
            );
        }
    } else if !exchanges.contains(p.exchange.as_str()) {
        return err(
            format!("{path}.exchange"),
            format!("unknown exchange `{}`", p.exchange),
        );
    }
    if let Some(c) = p.confirms {
        if c.timeout_ms == 0 {
            return err(format!("{path}.confirms.timeout_ms"), "must be positive");
        }
        if c.window == 0 || c.window > 100_000 {
            return err(format!("{path}.confirms.window"), "must be in 1..=100000");
        }
    }
    Ok(())
}

fn validate_consumer(
    path: &str,
    c: &ConsumerSpec,
    queues: &BTreeSet<&str>,
) -> Result<(), ScenarioError> {
    if !queues.contains(c.queue.as_str()) {
        return err(
            format!("{path}.queue"),
            format!("unknown queue `{}`", c.queue),
        );
    }
    if c.prefetch == 0 || c.prefetch > bounds::PREFETCH_MAX {
        return err(
            format!("{path}.prefetch"),
            format!(
                "must be in 1..={} (unlimited prefetch is not modelled)",
                bounds::PREFETCH_MAX
            ),
        );
    }
    validate_processing(path, c.processing)?;
    validate_probability(format!("{path}.fail_probability"), c.fail_probability)
}

fn validate_faults(
    faults: &[FaultSpec],
    ids: &BTreeSet<&str>,
    kinds: &[ClientSpec],
    duration_ms: u64,
    log_broker: bool,
) -> Result<(), ScenarioError> {
    if faults.len() > bounds::FAULTS_MAX {
        return err("faults", format!("at most {} faults", bounds::FAULTS_MAX));
    }
    for (i, f) in faults.iter().enumerate() {
        let path = format!("faults[{i}]");
        if f.at_ms >= duration_ms {
            return err(
                format!("{path}.at_ms"),
                format!(
                    "{} is at or after the end of the run (duration_ms {duration_ms})",
                    f.at_ms
                ),
            );
        }
        if f.target != "broker" && !ids.contains(f.target.as_str()) {
            return err(
                format!("{path}.target"),
                format!("unknown client id `{}`", f.target),
            );
        }
        crate::guarantee::validate_armed_fault(&path, f, kinds)?;
        match (f.action, f.until_ms) {
            (FaultAction::DropAcks, Some(u)) if u > f.at_ms => {}
            (FaultAction::CrashAfterSend | FaultAction::CrashAfterProcess, _) => {}
            (FaultAction::DropAcks, _) => {
                return err(
                    format!("{path}.until_ms"),
                    "drop_acks needs until_ms after at_ms",
                )
            }
            (_, Some(_)) => {
                return err(format!("{path}.until_ms"), "only drop_acks takes until_ms")
            }
            (_, None) => {}
        }
        if f.action == FaultAction::CrashTorn && (f.target != "broker" || !log_broker) {
            return err(
                format!("{path}.action"),
                "crash_torn targets the log broker (the only one with a disk)",
            );
        }
        if f.action == FaultAction::DropAcks && f.target == "broker" {
            return err(
                format!("{path}.target"),
                "drop_acks targets a client's link",
            );
        }
    }
    Ok(())
}

fn validate_fault_options(o: &FaultOptions, log_broker: bool) -> Result<(), ScenarioError> {
    if o.torn_writes && !log_broker {
        return err(
            "fault_options.torn_writes",
            "needs the log broker (the queue broker keeps no disk to tear)",
        );
    }
    if o.downtime_ms_min > o.downtime_ms_max {
        return err(
            "fault_options.downtime_ms_min",
            "greater than downtime_ms_max",
        );
    }
    if o.max_faults > 64 {
        return err("fault_options.max_faults", "at most 64");
    }
    Ok(())
}
