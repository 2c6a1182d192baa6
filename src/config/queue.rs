//! The queue broker's vocabulary: queues and exchanges (RabbitMQ or SQS
//! semantics), and the producers and consumers that use them.

use super::{default_window, is_false, NetworkSpec, ProcessingSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An AMQP field table: a message's `headers`, or a `headers` exchange
/// binding's arguments. Sorted by name, as RabbitMQ sorts them before it
/// compares.
pub type Headers = BTreeMap<String, HeaderValue>;

/// One value of a [`Headers`] table, typed as AMQP types it, because
/// RabbitMQ's `headers` exchange compares types as well as values: the
/// integer `1` and the text `"1"` do not match. Every AMQP integer width
/// is one class there (a 32-bit `1` matches a 64-bit `1`), so one integer
/// type stands for them all. In a scenario file it is the JSON value
/// itself: `"pdf"`, `1`, `true`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum HeaderValue {
    /// AMQP `longstr`.
    Text(String),
    /// Any AMQP integer (`byte` to `long`).
    Int(i64),
    /// AMQP `boolean`.
    Bool(bool),
}

impl From<&str> for HeaderValue {
    fn from(text: &str) -> HeaderValue {
        HeaderValue::Text(text.to_string())
    }
}

impl HeaderValue {
    /// The text, if this is a text value (`x-match` must be one).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            HeaderValue::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl std::fmt::Display for HeaderValue {
    /// As the scenario file writes it: text quoted, so `"1"` and `1` differ.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderValue::Text(t) => write!(f, "{t:?}"),
            HeaderValue::Int(n) => write!(f, "{n}"),
            HeaderValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Reads a JSON string, integer or boolean; anything else (a fraction,
/// `null`, a list, a table) is refused with a message saying what is
/// allowed, where an untagged enum would only say that nothing matched.
impl<'de> Deserialize<'de> for HeaderValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<HeaderValue, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = HeaderValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a header value: text, an integer or a boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HeaderValue, E> {
                Ok(HeaderValue::Text(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<HeaderValue, E> {
                Ok(HeaderValue::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<HeaderValue, E> {
                i64::try_from(v).map(HeaderValue::Int).map_err(|_| {
                    E::custom(format!(
                        "{v} is above the largest AMQP integer (a signed 64-bit long)"
                    ))
                })
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<HeaderValue, E> {
                Ok(HeaderValue::Bool(v))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The queue broker: its semantics and what it declares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueBrokerSpec {
    /// `rabbitmq`: unacked deliveries return when the channel closes.
    /// `sqs`: they return when the `visibility timeout` expires.
    #[serde(default)]
    pub mode: QueueMode,
    /// The queues (1 to `bounds::QUEUES_MAX`), each with its own settings.
    pub queues: Vec<QueueSpec>,
    /// Exchanges besides the default one (`""`, which routes by queue name).
    #[serde(default)]
    pub exchanges: Vec<ExchangeSpec>,
    /// Virtual ms one `fsync` (one group commit) of the broker's disk takes.
    /// Only durable queues' persistent messages are written; their
    /// publisher confirms wait for it.
    #[serde(
        default = "default_fsync_latency_ms",
        skip_serializing_if = "is_default_fsync_latency"
    )]
    pub fsync_latency_ms: u64,
    /// RabbitMQ's node-wide `consumer_timeout` (rabbitmq.conf), ms: a
    /// channel whose oldest unacked delivery is older than this when the
    /// channel's tick checks is closed with 406 `PRECONDITION_FAILED`, and
    /// its unacked deliveries are requeued. Absent: off (RabbitMQ's default
    /// is 30 minutes, longer than a run). Signed so a negative one is
    /// refused with this field's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_timeout_ms: Option<i64>,
    /// RabbitMQ's `channel_tick_interval` (advanced.config), ms: how often
    /// each channel checks `consumer_timeout`, counted from when the channel
    /// opened. Default 60000, so a timeout fires up to a minute late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_tick_interval_ms: Option<u64>,
}

/// RabbitMQ 3.10's default `channel_tick_interval`, ms.
pub const CHANNEL_TICK_INTERVAL_MS: u64 = 60_000;

fn default_fsync_latency_ms() -> u64 {
    5
}

fn is_default_fsync_latency(ms: &u64) -> bool {
    *ms == default_fsync_latency_ms()
}

/// Which queue broker's rules apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueMode {
    /// RabbitMQ (AMQP 0-9-1): unacked deliveries return when the channel closes.
    #[default]
    Rabbitmq,
    /// Amazon SQS: a received message is hidden for the `visibility timeout`
    /// and returns unless it is deleted.
    Sqs,
}

/// One queue and its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// The queue's name, unique on the broker (and its routing key on the
    /// default exchange).
    pub name: String,
    /// SQS `VisibilityTimeout`: how long a received message stays hidden.
    /// Required in `sqs` mode, not allowed in `rabbitmq` mode.
    #[serde(default)]
    pub visibility_timeout_ms: Option<u64>,
    /// `x-queue-type` (RabbitMQ only): `classic` (the default) or `quorum`.
    /// Only quorum queues count deliveries (`x-delivery-count`) and enforce
    /// `x-delivery-limit`, and they serve a returned message after the ready
    /// ones; a classic queue puts it back at its original position.
    #[serde(
        default,
        rename = "type",
        skip_serializing_if = "QueueKind::is_classic"
    )]
    pub kind: QueueKind,
    /// `durable`: the queue and its persistent messages (producers with
    /// `persistent`, `delivery_mode=2`) survive a broker restart. Quorum queues
    /// are always durable. A transient queue comes back empty (the clients
    /// declare it again).
    #[serde(default, skip_serializing_if = "is_false")]
    pub durable: bool,
    /// RabbitMQ `x-delivery-limit` (quorum queues only): a message is delivered
    /// at most this many times *plus one* (the first delivery and n
    /// redeliveries), then dead-lettered (or dropped without a dead-letter
    /// queue). SQS `maxReceiveCount`: at most this many receives in all.
    #[serde(default)]
    pub delivery_limit: Option<u32>,
    /// Where dead-lettered messages go (`x-dead-letter-exchange` routed to one
    /// queue, or the SQS redrive target). Must name another declared queue.
    #[serde(default)]
    pub dead_letter_queue: Option<String>,
    /// `x-max-length`: the most *ready* messages the queue keeps (unacked ones
    /// do not count). What happens past it is `overflow`. Without it the queue
    /// is still bounded by `limits.queue_depth_max` (ready + unacked, refusing
    /// publishes): a limit of the simulation, not a RabbitMQ setting.
    #[serde(default)]
    pub max_length: Option<u64>,
    /// `x-max-length-bytes`: the same bound on the ready messages' payload bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length_bytes: Option<u64>,
    /// `x-overflow`: `drop-head` (the default: the oldest ready message is
    /// dropped or dead-lettered), `reject-publish` (the new one is refused
    /// with a negative confirm) or `reject-publish-dlx` (refused and
    /// dead-lettered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overflow: Option<Overflow>,
    /// `x-message-ttl`: a message older than this expires when it reaches the
    /// head of the queue, and is dead-lettered (`x-death` reason `expired`).
    /// Signed on purpose: a negative TTL is read, then refused by validation
    /// with this field's path (inside the tagged `broker` serde loses it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_ttl_ms: Option<i64>,
    /// SQS FIFO deduplication (`sqs` mode only): a publish whose
    /// `MessageDeduplicationId` was accepted within the last 5 minutes of
    /// virtual time is confirmed but not enqueued again. The producer's
    /// message id is the `MessageDeduplicationId` (the same on every retry).
    #[serde(default, skip_serializing_if = "is_false")]
    pub fifo_deduplication: bool,
    /// SQS `FifoQueue` (`sqs` mode only; the name must end in `.fifo`): each
    /// message's key is its `MessageGroupId`. A group's messages are handed
    /// out in order, and while one of them is in flight the rest of the
    /// group waits, so two consumers never hold one group's messages at
    /// once. Deduplicates as `fifo_deduplication` does.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fifo: bool,
}

impl QueueSpec {
    /// A queue with every argument at its default: classic, transient, unbounded.
    pub fn named(name: String) -> QueueSpec {
        QueueSpec {
            name,
            kind: QueueKind::Classic,
            durable: false,
            visibility_timeout_ms: None,
            delivery_limit: None,
            dead_letter_queue: None,
            max_length: None,
            max_length_bytes: None,
            overflow: None,
            message_ttl_ms: None,
            fifo_deduplication: false,
            fifo: false,
        }
    }
}

/// `x-queue-type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueKind {
    /// One copy on one node; requeued messages return to their position.
    #[default]
    Classic,
    /// Raft-replicated, always durable; counts deliveries.
    Quorum,
}

impl QueueKind {
    fn is_classic(&self) -> bool {
        *self == QueueKind::Classic
    }
}

/// `x-overflow`: what a full queue (`x-max-length`) does with a new message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overflow {
    /// Drop (or dead-letter, reason `maxlen`) the oldest ready message.
    #[default]
    DropHead,
    /// Refuse the new message: `basic.nack` to a publisher in confirm mode.
    RejectPublish,
    /// Refuse it and dead-letter it.
    RejectPublishDlx,
}

/// An exchange: routes each published message to bound queues.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeSpec {
    /// The exchange's name, unique and not `""` (that is the default exchange).
    pub name: String,
    /// How it picks queues (`type` in the file).
    #[serde(rename = "type")]
    pub kind: ExchangeKind,
    /// The queues bound to it.
    pub bindings: Vec<BindingSpec>,
}

/// RabbitMQ's exchange types that the broker models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExchangeKind {
    /// A copy to every bound queue.
    #[serde(rename = "fanout")]
    Fanout,
    /// To the queues whose binding key equals the message's routing key.
    #[serde(rename = "direct")]
    Direct,
    /// To the queues whose binding pattern matches the routing key, word by
    /// word (words are separated by `.`): `*` matches one word, `#` zero or more.
    #[serde(rename = "topic")]
    Topic,
    /// RabbitMQ's `x-consistent-hash` exchange: exactly one bound queue, chosen by
    /// a hash of the routing key. This is how the seed's "fan-out into partitions"
    /// is built: one queue per partition, one exclusive consumer per queue.
    #[serde(rename = "x-consistent-hash")]
    ConsistentHash,
    /// To the queues whose binding `arguments` match the message's
    /// `headers`: `x-match` `all` (the default) or `any` of them, with
    /// arguments starting with `x-` left out of the match unless `x-match`
    /// is `all-with-x` or `any-with-x` (RabbitMQ 3.10).
    #[serde(rename = "headers")]
    Headers,
}

/// A binding from an exchange to one queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingSpec {
    /// The bound queue.
    pub queue: String,
    /// The binding key: required for `direct` (the routing key to match) and
    /// `topic` (a pattern such as `orders.*.eu` or `orders.#`) exchanges.
    #[serde(default)]
    pub routing_key: Option<String>,
    /// The binding's arguments (`headers` exchanges only): `x-match` and the
    /// header values a message must carry, of the same type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub arguments: Headers,
}

/// A queue producer: publishes messages, with publisher confirms or without.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerSpec {
    /// The producer's id, unique in the scenario.
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
    /// Virtual ms between two messages (exactly one of `rate_per_s` and `interval_ms`).
    #[serde(default)]
    pub interval_ms: Option<u64>,
    /// How many messages to publish (the run may end first).
    pub count: u64,
    /// When the first message is published, virtual ms.
    #[serde(default)]
    pub start_ms: u64,
    /// The size each message says it has, bytes: carried as a number, no
    /// payload is simulated.
    #[serde(default)]
    pub payload_bytes: u32,
    /// Publisher confirms (`confirm.select`); absent means fire-and-forget.
    #[serde(default)]
    pub confirms: Option<ConfirmSpec>,
    /// `delivery_mode=2`: a persistent message. A durable queue keeps it
    /// across a broker restart; transient messages (the default) are lost.
    #[serde(default, skip_serializing_if = "is_false")]
    pub persistent: bool,
    /// AMQP `expiration` (RabbitMQ only), ms, on every message: it expires
    /// this long after it entered a queue, or after the queue's
    /// `x-message-ttl` if that is lower, once it reaches the head of the
    /// queue; then it is dead-lettered (`x-death` reason `expired`).
    /// Signed so a negative one is refused with this field's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_ms: Option<i64>,
    /// AMQP `headers` on every message (text, integer or boolean values):
    /// what a `headers` exchange routes by.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: Headers,
    /// The producer's own link settings; absent, the scenario's `network`.
    #[serde(default)]
    pub network: Option<NetworkSpec>,
}

/// Publisher confirms: how long to wait, how often to retry, how many to
/// have out at once.
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

/// A queue consumer: takes deliveries from one queue, processes, acks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerSpec {
    /// The consumer's id, unique in the scenario.
    pub id: String,
    /// The queue it consumes from.
    pub queue: String,
    /// `basic.qos(prefetch_count)`: unacked deliveries this consumer may hold.
    pub prefetch: u32,
    /// When it acks: never (`auto`, `no_ack`), before or after processing.
    #[serde(default)]
    pub ack_mode: AckMode,
    /// How long one message's effect takes.
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
    /// The consumer's own link settings; absent, the scenario's `network`.
    #[serde(default)]
    pub network: Option<NetworkSpec>,
}

/// When a queue consumer acknowledges a delivery.
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

/// What a consumer does with a message whose processing failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// `basic.nack(requeue=true)`: back into the queue, `redelivered` set.
    #[default]
    Requeue,
    /// `basic.reject(requeue=false)`: dead-lettered, or dropped without a
    /// dead-letter queue.
    Reject,
}
