//! Brokers as pure state machines (sans-IO).
//!
//! A broker never sleeps, never reads a clock and never touches a socket. The
//! world hands it one [`Request`] at a time together with the virtual time, and
//! the broker answers by pushing [`Output`]s into a buffer the caller owns:
//! deliveries and confirms to send back over the network, a wake-up time for its
//! timers (the SQS `visibility timeout`), and [`Note`]s for the history.
//! Because of that shape the same broker runs in a test, in the CLI and in the
//! browser, and a run can be replayed exactly from its seed.
//!
//! [`Broker`] is an enum so that the log broker (issue 4) can join as a second
//! variant without the world caring which one it drives.

pub mod cluster;
pub mod log;
pub mod queue;
mod wake;

/// The transaction coordinator and markers belong to the log broker
/// ([`log::txn`]); this is the same module under its short name.
pub use log::txn;

use crate::config::BrokerSpec;
use crate::storage::{FlushId, FlushState, Storage, Tear};
use log::{LogBroker, LogNote, LogReply, LogRequest};
use queue::QueueBroker;

/// Index of a client (producer or consumer) in the scenario's `clients` list.
pub type ClientId = u32;
/// A logical message. A producer's retry re-sends the same id, which is how the
/// checker recognises a duplicate.
pub type MsgId = u64;
/// Index into the world's key table (message keys and binding keys).
pub type KeyId = u32;
/// Index of a queue in the broker's `queues` list.
pub type QueueId = u32;
/// Index into the world's table of message header tables (AMQP `headers`,
/// which a `headers` exchange routes by).
pub type HeadersId = u32;

/// The AMQP `basic.properties` the queue broker acts on. A producer sets
/// the same ones on every publish.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Properties {
    /// `delivery_mode=2`: kept across a restart by a durable queue.
    pub persistent: bool,
    /// `expiration`, ms: the message expires this long after it entered a
    /// queue (or the queue's `x-message-ttl`, if that is lower), once it is
    /// at the head of the queue.
    pub expiration_ms: Option<u32>,
    /// `headers`, by interned table: what a `headers` exchange matches.
    pub headers: Option<HeadersId>,
}

/// What travels from producer to consumer. The payload itself is not modelled,
/// only its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    /// Which logical message this is; a retry carries the same id.
    pub id: MsgId,
    /// Who published it: the checker's per-producer order runs on this.
    pub producer: ClientId,
    /// The producer's own counter, 0, 1, 2...: the order it meant to publish in.
    pub seq: u64,
    /// The message key: routes it (`x-consistent-hash`, a log partition) and
    /// scopes per-key order. `None` for an unkeyed message.
    pub key: Option<KeyId>,
    /// Payload size: counts against `x-max-length-bytes` and the log's batches.
    pub payload_bytes: u32,
}

/// AMQP's `delivery_tag`, widened with the broker incarnation so that an ack
/// meant for a broker that has since crashed cannot delete anything in its
/// restarted successor. (SQS calls the same idea a `ReceiptHandle`.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeliveryTag {
    /// The broker's life this tag was issued in (bumped by every restart).
    pub incarnation: u32,
    /// The counter within that life, as AMQP numbers deliveries on a channel.
    pub n: u64,
}

/// One message handed to one consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// What the consumer quotes back in its ack or nack.
    pub tag: DeliveryTag,
    /// The queue it was delivered from.
    pub queue: QueueId,
    /// The message itself.
    pub msg: Message,
    /// AMQP's `redelivered` flag: this message was delivered before.
    pub redelivered: bool,
    /// How many times it has now been delivered (`x-delivery-count` + 1 on quorum
    /// queues, `ApproximateReceiveCount` on SQS).
    pub delivery_count: u32,
    /// The `x-delivery-count` header as the consumer sees it: earlier
    /// deliveries of this message, on quorum queues only (`None` on classic
    /// queues and in SQS mode, which have no such header).
    pub x_delivery_count: Option<u32>,
    /// The latest `x-death` entry, when the message was dead-lettered into this queue.
    pub death: Option<Death>,
}

/// One `x-death` entry: why and from where a message was dead-lettered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Death {
    /// Why: `rejected`, `expired`, `maxlen` or `delivery_limit`.
    pub reason: DeadLetterReason,
    /// The queue it died in.
    pub queue: QueueId,
}

/// Where a publish goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The default exchange `""`: straight to the queue named by the routing key.
    Queue(QueueId),
    /// A declared exchange, by index.
    Exchange(u32),
}

/// Client to broker. The sender's [`ClientId`] travels beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// `basic.publish`. `confirm` is true when the channel is in confirm mode.
    Publish {
        /// The exchange or queue it is published to.
        target: Target,
        /// The message.
        msg: Message,
        /// Confirm mode: the broker answers with [`Output::Confirm`].
        confirm: bool,
        /// `delivery_mode`, `expiration`, `headers`.
        props: Properties,
    },
    /// `basic.qos(prefetch)` + `basic.consume(queue, no_ack, exclusive)`.
    /// `prefetch` 0 is unlimited; it bounds manual-ack deliveries only.
    Consume {
        /// The queue to consume from.
        queue: QueueId,
        /// `basic.qos` prefetch: unacked deliveries the channel may hold.
        prefetch: u32,
        /// `no_ack`: a delivery counts as acked the moment it is sent.
        auto_ack: bool,
        /// Refuse any other consumer on this queue (and be refused if one exists).
        exclusive: bool,
        /// Auto-ack only: deliveries the client may have unread before it
        /// sends [`Request::Credit`] (TCP flow control: RabbitMQ does not apply
        /// `prefetch` to auto-ack consumers, the socket holds them back). 0 =
        /// unbounded, a client that reads as fast as the broker sends.
        window: u32,
    },
    /// `basic.get(queue, no_ack)`: pull one message, answered by [`Output::Got`].
    Get {
        /// The queue to pull from.
        queue: QueueId,
        /// `no_ack`: the message is deleted as it is handed over.
        auto_ack: bool,
    },
    /// `basic.cancel`: the channel's consumer stops; its unacked deliveries
    /// stay unacked on the channel.
    Cancel,
    /// `basic.qos(prefetch)` again on an open channel: a live prefetch change.
    Qos {
        /// The new prefetch (0 is unlimited).
        prefetch: u32,
    },
    /// `basic.ack` (SQS: `DeleteMessage`). `multiple`: every unacked delivery
    /// of the channel up to and including `tag`.
    Ack {
        /// The delivery acknowledged.
        tag: DeliveryTag,
        /// Also every earlier unacked delivery of the channel.
        multiple: bool,
    },
    /// `basic.nack` (`basic.reject` is the same with `multiple = false`).
    Nack {
        /// The delivery refused.
        tag: DeliveryTag,
        /// Also every earlier unacked delivery of the channel.
        multiple: bool,
        /// Back to the queue (`true`) or dead-lettered / dropped (`false`).
        requeue: bool,
    },
    /// An auto-ack consumer started processing one message and has room for
    /// another. Real brokers get this back-pressure from TCP; we make it explicit
    /// so that `prefetch` bounds the consumer's buffer in every ack mode.
    Credit,
    /// The consumer's connection is gone (crash, TCP reset, heartbeat timeout).
    ChannelClosed,
    /// A request to the log broker.
    Log(LogRequest),
}

/// Broker to world.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// `basic.deliver`: a message pushed to a consumer.
    Deliver {
        /// The consumer.
        to: ClientId,
        /// The message with its tag and flags.
        delivery: Delivery,
    },
    /// Publisher confirm: `basic.ack` (`ok`) or `basic.nack` (refused).
    Confirm {
        /// The producer.
        to: ClientId,
        /// The message confirmed (or refused).
        msg: MsgId,
        /// `basic.ack` when true, `basic.nack` when false.
        ok: bool,
    },
    /// The answer to `basic.get`: `get-ok` with the message, or `get-empty`.
    Got {
        /// The client that asked.
        to: ClientId,
        /// The message (`get-ok`), or `None` for `get-empty`.
        delivery: Option<Delivery>,
    },
    /// The broker closed the client's channel (`channel.close` with a reply
    /// code, e.g. 406 `PRECONDITION_FAILED`); its unacked deliveries are requeued.
    ChannelError {
        /// The client whose channel closed.
        to: ClientId,
        /// The AMQP reply code (406 `PRECONDITION_FAILED`).
        code: u16,
    },
    /// Call `tick` at this virtual time (visibility timeouts, TTL expiry).
    WakeAt {
        /// The virtual time to be woken at.
        at_ms: u64,
    },
    /// Something the broker did, for the history.
    Note(Note),
    /// A log-broker reply to one client.
    Log {
        /// The client answered.
        to: ClientId,
        /// The answer.
        reply: LogReply,
    },
    /// A group commit began: ask storage about flush `id` at `at_ms` and
    /// report with [`Broker::flush_done`].
    FlushAt {
        /// The flush storage began.
        id: FlushId,
        /// When it completes (or tears, if the broker crashes first).
        at_ms: u64,
    },
}

/// Why a delivered message went back to its queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnReason {
    /// `basic.nack(requeue=true)` / `basic.reject(requeue=true)`.
    Nack,
    /// The consumer's channel closed with the message unacked.
    ChannelClosed(ClientId),
    /// SQS: nobody called `DeleteMessage` before the `visibility timeout`.
    VisibilityTimeout,
}

/// Why a message was dead-lettered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadLetterReason {
    /// `basic.reject(requeue=false)` / `basic.nack(requeue=false)`.
    Rejected,
    /// It came back once more than `x-delivery-limit` allows (quorum: n + 1
    /// deliveries), or after `maxReceiveCount` receives (SQS).
    DeliveryLimit,
    /// `x-message-ttl` passed while it waited (`expired`).
    Expired,
    /// `x-max-length` / `x-max-length-bytes` pushed it out (`maxlen`).
    MaxLen,
}

impl DeadLetterReason {
    /// The `x-death` reason as RabbitMQ writes it.
    pub fn name(self) -> &'static str {
        match self {
            DeadLetterReason::Rejected => "rejected",
            DeadLetterReason::DeliveryLimit => "delivery_limit",
            DeadLetterReason::Expired => "expired",
            DeadLetterReason::MaxLen => "maxlen",
        }
    }
}

/// Things the broker did that a learner (and the checker) should see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Note {
    /// A published message was routed into a queue and waits there.
    Enqueued {
        /// The message.
        msg: MsgId,
        /// The queue it now waits in.
        queue: QueueId,
    },
    /// Gone for good after an ack, a `DeleteMessage` or an auto-ack send.
    Deleted {
        /// The message.
        msg: MsgId,
        /// The queue it left.
        queue: QueueId,
    },
    /// A delivered message went back to its queue, to be delivered again.
    Requeued {
        /// The message.
        msg: MsgId,
        /// The queue it went back to.
        queue: QueueId,
        /// Why it came back.
        reason: ReturnReason,
    },
    /// `to: None` means there was no dead-letter queue, so it was dropped.
    DeadLettered {
        /// The message.
        msg: MsgId,
        /// The queue it died in.
        from: QueueId,
        /// The dead-letter queue it moved to, if there is one.
        to: Option<QueueId>,
        /// Why it died (the `x-death` reason).
        reason: DeadLetterReason,
    },
    /// `x-max-length` reached with `overflow = reject-publish`.
    RejectedPublish {
        /// The message refused.
        msg: MsgId,
        /// The full queue.
        queue: QueueId,
    },
    /// No binding matched; without `mandatory` the message is dropped.
    Unroutable {
        /// The message dropped.
        msg: MsgId,
    },
    /// SQS FIFO: a publish whose `MessageDeduplicationId` was accepted within
    /// the last 5 minutes; confirmed, not enqueued again.
    DuplicateDropped {
        /// The message published again.
        msg: MsgId,
        /// The FIFO queue that already has it.
        queue: QueueId,
    },
    /// The broker crashed while holding this message (ready or unacked),
    /// and it was not one a durable queue keeps: a transient message, or a
    /// transient queue. RabbitMQ promises no more.
    LostInCrash {
        /// The message lost.
        msg: MsgId,
        /// The queue that held it.
        queue: QueueId,
    },
    /// A persistent message of a durable queue that the disk did not give
    /// back after a crash: its write was still in flight (or torn) when the
    /// broker crashed. Its publisher confirm had not gone out yet.
    LostFromDisk {
        /// The message.
        msg: MsgId,
        /// The durable queue it was in.
        queue: QueueId,
    },
    /// A message the disk gave back after a crash although it had left its
    /// durable queue (acked, dead-lettered, expired): the record of its
    /// leaving was not on disk yet. It will be delivered again.
    Restored {
        /// The message.
        msg: MsgId,
        /// The durable queue it is back in.
        queue: QueueId,
    },
    /// A message a durable queue's store held when the broker was started
    /// on it (a page reload, [`queue::QueueBroker::resume`]): a persistent
    /// message of an earlier run, published and written then. It enters the
    /// queue as a restart brings it back, `redelivered` if it had been
    /// delivered.
    Carried {
        /// The message.
        msg: MsgId,
        /// The durable queue it is back in.
        queue: QueueId,
        /// Its entry lies below the store's record of what was confirmed
        /// (or there is no record, and it counts as confirmed): its
        /// publisher heard `basic.ack`. Otherwise it was written but never
        /// confirmed.
        confirmed: bool,
        /// The disk shows it delivered (and not acked): it comes back
        /// `redelivered`.
        redelivered: bool,
    },
    /// An ack or nack for a tag the broker does not hold: already deleted,
    /// expired (SQS), or from before a broker restart. Ignored.
    StaleAck {
        /// The tag nobody holds.
        tag: DeliveryTag,
    },
    /// The broker closed a channel with this reply code (406: an ack for a
    /// delivery tag the channel does not hold); its unacked deliveries went back.
    ChannelError {
        /// The client whose channel closed.
        client: ClientId,
        /// The AMQP reply code.
        code: u16,
    },
    /// `basic.consume` refused: the queue has an exclusive consumer.
    ConsumeRefused {
        /// The consumer refused.
        consumer: ClientId,
        /// The queue held exclusively by another consumer.
        queue: QueueId,
    },
    /// Something the log broker did.
    Log(LogNote),
}

/// A queue's state, for the UI and the checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueView {
    /// The queue's name from the scenario.
    pub name: String,
    /// Ready messages in delivery order.
    pub ready: Vec<MsgId>,
    /// Delivered, not yet acked (or in flight in SQS terms).
    pub unacked: Vec<MsgId>,
    /// The consumers subscribed to it, in the order they joined.
    pub consumers: Vec<ClientId>,
}

/// Every broker kind the world can drive.
#[derive(Clone, Debug)]
pub enum Broker {
    /// RabbitMQ (classic and quorum queues) or SQS: messages leave when acked.
    Queue(QueueBroker),
    /// Kafka: an append-only log that consumers read by offset.
    Log(LogBroker),
}

impl Broker {
    /// Builds a broker from a validated scenario. `key_names[k]` is the name
    /// of key `k` (the queue broker hashes it for `x-consistent-hash`, the log
    /// broker writes it into records); `key_of` maps a binding key to its
    /// [`KeyId`]; `groups` is the number of consumer groups (`group.id`s).
    pub fn new(
        spec: &BrokerSpec,
        key_of: &dyn Fn(&str) -> Option<KeyId>,
        key_names: &[String],
        groups: usize,
        queue_depth_max: u64,
    ) -> Broker {
        match spec {
            BrokerSpec::Queue(q) => Broker::Queue(QueueBroker::from_spec(
                q,
                key_of,
                key_names,
                queue_depth_max,
            )),
            BrokerSpec::Log(l) => Broker::Log(LogBroker::from_spec(l, key_names.to_vec(), groups)),
        }
    }

    /// A key interned after the start (a client added mid-run); keys only
    /// grow at the end, so its index is its [`KeyId`].
    pub fn add_key(&mut self, name: &str) {
        match self {
            Broker::Queue(b) => b.add_key(name),
            Broker::Log(b) => b.add_key(name),
        }
    }

    /// A message header table interned by the world (`headers` exchanges
    /// route by it); the log broker has no use for one.
    pub fn add_headers(&mut self, table: &crate::config::Headers) {
        if let Broker::Queue(b) = self {
            b.add_headers(table);
        }
    }

    /// Whether the broker process is running (false between a crash and its restart).
    pub fn is_up(&self) -> bool {
        match self {
            Broker::Queue(b) => b.is_up(),
            Broker::Log(b) => b.is_up(),
        }
    }

    /// One request from client `from` arrived at `now_ms`; the answers go to `out`.
    pub fn handle(
        &mut self,
        now_ms: u64,
        from: ClientId,
        req: Request,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        match (self, req) {
            (Broker::Log(b), Request::Log(r)) => b.handle(now_ms, from, r, storage, out),
            (Broker::Log(_), _) => unreachable!("log clients send log requests"),
            (Broker::Queue(b), req) => {
                b.handle(now_ms, from, req, out);
                b.write(now_ms, storage, out);
            }
        }
    }

    /// The virtual clock reached a time the broker asked for with
    /// [`Output::WakeAt`]: expire what is due.
    pub fn tick(&mut self, now_ms: u64, storage: &mut dyn Storage, out: &mut Vec<Output>) {
        match self {
            Broker::Queue(b) => {
                b.tick(now_ms, out);
                b.write(now_ms, storage, out);
            }
            Broker::Log(b) => b.tick(now_ms, storage, out),
        }
    }

    /// The flush the broker began (see [`Output::FlushAt`]) reached its
    /// completion time and storage says `state`.
    pub fn flush_done(
        &mut self,
        now_ms: u64,
        id: FlushId,
        state: FlushState,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        match self {
            Broker::Queue(b) => b.flush_done(now_ms, id, state, storage, out),
            Broker::Log(b) => b.flush_done(now_ms, id, state, storage, out),
        }
    }

    /// The broker process dies. `tear` says what the disk was doing.
    pub fn crash(
        &mut self,
        now_ms: u64,
        tear: Tear,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        match self {
            Broker::Queue(b) => b.crash(now_ms, tear, storage, out),
            Broker::Log(b) => b.crash(now_ms, tear, storage, out),
        }
    }

    /// The broker process starts again after a crash with what survived it:
    /// the log broker recovers its disk, the queue broker keeps the
    /// persistent messages of its durable queues.
    pub fn restart(&mut self, now_ms: u64, storage: &mut dyn Storage, out: &mut Vec<Output>) {
        match self {
            Broker::Queue(b) => b.restart(),
            Broker::Log(b) => b.restart(now_ms, storage, out),
        }
    }

    /// Message copies the broker holds: (queue, message), ready then unacked.
    /// For the log broker: (partition index over all topics, message).
    pub fn held(&self) -> Vec<(QueueId, MsgId)> {
        match self {
            Broker::Queue(b) => b.held(),
            Broker::Log(b) => b.held().into_iter().map(|m| (0, m)).collect(),
        }
    }

    /// Every queue's state, for the page; empty for the log broker.
    pub fn queue_views(&self) -> Vec<QueueView> {
        match self {
            Broker::Queue(b) => b.queue_views(),
            Broker::Log(_) => Vec::new(),
        }
    }

    /// The queues' names, in [`QueueId`] order; empty for the log broker.
    pub fn queue_names(&self) -> Vec<String> {
        match self {
            Broker::Queue(b) => b.queue_names(),
            Broker::Log(_) => Vec::new(),
        }
    }

    /// The log broker, if this is one.
    pub fn as_log(&self) -> Option<&LogBroker> {
        match self {
            Broker::Log(b) => Some(b),
            Broker::Queue(_) => None,
        }
    }

    /// The queue broker, if this is one.
    pub fn as_queue(&self) -> Option<&QueueBroker> {
        match self {
            Broker::Queue(b) => Some(b),
            Broker::Log(_) => None,
        }
    }
}
