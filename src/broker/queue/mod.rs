//! The queue broker: RabbitMQ (AMQP 0-9-1) semantics, or SQS semantics
//! when `mode = "sqs"`. Checked against a real RabbitMQ 3.10 by
//! `tests/rabbitmq_fidelity.rs`.
//!
//! What it models, and why each piece matters for a learner:
//!
//! - **Durability.** A crash loses every message held in memory. Persistent
//!   messages (`delivery_mode=2`) in a `durable` queue (quorum queues always
//!   are) are written through [`Storage`](crate::storage::Storage) in group
//!   commits, and their publisher confirm waits until they are on disk; a
//!   restart reads them back, the delivered-but-unacked ones marked
//!   `redelivered`. A restart brings every queue *definition* back (the
//!   clients declare them again), so a transient queue comes back empty.
//! - **Round-robin dispatch** among a queue's consumers, skipping any consumer
//!   that already holds `prefetch` unacked deliveries (`basic.qos`; 0 is
//!   unlimited). A slow consumer therefore still gets every n-th message, which
//!   is where out-of-order processing comes from. Auto-ack consumers are not
//!   held to `prefetch`, only to their receive window (TCP flow control).
//! - **Ack deletes.** Until the ack, the message is *unacked*: not in the ready
//!   list, not deleted either. `multiple` settles every earlier delivery of the
//!   channel too; a tag the channel does not hold closes it with 406
//!   `PRECONDITION_FAILED`, and its unacked deliveries go back.
//! - **Returns.** `basic.nack(requeue=true)` and a closed channel (RabbitMQ) or an
//!   expired `visibility timeout` (SQS) put the message back. A classic queue
//!   puts it at its *original position* (each message keeps the position it got
//!   at enqueue time); a quorum queue (3.10) puts it behind the ready messages.
//! - **SQS FIFO.** A FIFO queue's `MessageGroupId` is the message key: a
//!   group's messages go out in order, one in flight at a time, so two
//!   consumers never hold one group's messages at once.
//! - **Delivery limit.** Quorum `x-delivery-limit` = n: a message is delivered
//!   at most n + 1 times (`x-delivery-count` 0..=n), then dead-lettered. SQS
//!   `maxReceiveCount` = n: at most n receives.
//! - **Limits.** `x-max-length` / `x-max-length-bytes` count ready messages;
//!   past them `drop-head` dead-letters the oldest, `reject-publish` refuses
//!   the new one. `x-message-ttl` and the message's own `expiration` (the
//!   lower wins) expire a message when it reaches the head.
//! - **Routing.** `fanout`, `direct`, `topic` (`*` one word, `#` any number)
//!   and `headers` (`x-match` `all` / `any`, `x-` arguments left out unless
//!   `all-with-x` / `any-with-x`) exchanges, and `x-consistent-hash`.
//!   A dead-lettered message carries `x-death` (reason and source queue).
//!
//! Simplifications: [`SIMPLIFICATIONS`], which the page shows where the
//! queue broker is chosen and the README repeats.
//!
//! [`QueueBroker`] is a thin composition: each job below owns its state,
//! and the broker routes every request and timer to the rooms it concerns.
//!
//! | room | job |
//! |---|---|
//! | `queues` | the declared queues: settings, ready messages by position, `x-max-length` and TTL checks |
//! | `routing` | exchanges and bindings (`fanout`, `direct`, `topic`, `headers`, `x-consistent-hash`) |
//! | `topic` | the `topic` exchange's pattern match |
//! | `headers` | the `headers` exchange's match (`x-match` `all` / `any`, `x-` arguments) |
//! | `consumers` | `basic.consume` / `basic.cancel`, `prefetch` and receive windows, round-robin |
//! | `channels` | delivery tags, unacked deliveries, 406 on a bad tag, SQS visibility deadlines |
//! | `consumer_timeout` | RabbitMQ's `consumer_timeout`: the channel tick that closes a channel with 406 |
//! | `fifo` | SQS FIFO's 5-minute `MessageDeduplicationId` window (`MessageGroupId` is in `dispatch`) |
//! | `publish` | `basic.publish`: routing, overflow, publisher confirms |
//! | `dispatch` | pushing ready messages to consumers, `basic.get` |
//! | `settle` | `basic.ack` / `basic.nack` / `basic.reject`, `multiple`, closed channels |
//! | `dead_letter` | returns (classic and quorum order), the delivery limit, dead-lettering, `x-message-ttl` expiry |
//! | `store` | the message store: durable queues' entries written in group commits, confirms waiting for the disk |
//! | `record` | how one store entry is laid out in storage, and read back fallibly |
//! | `durability` | crash and restart: what the disk gives back, and what the history says was lost or restored |
//! | `view` | what the UI, the checker and the tests may ask |

mod channels;
mod consumer_timeout;
mod consumers;
mod dead_letter;
mod dispatch;
mod durability;
mod fifo;
mod headers;
mod publish;
mod queues;
mod record;
mod routing;
mod settle;
mod store;
mod topic;
mod view;

pub use channels::PRECONDITION_FAILED;
pub use durability::stored_messages;

/// What this broker does differently from RabbitMQ 3.10 and SQS, one
/// sentence each: the page lists them where the queue broker is chosen.
pub const SIMPLIFICATIONS: [&str; 8] = [
    "A transient queue comes back empty after a broker restart instead of gone: the clients declare it again when they reconnect.",
    "Delivery tags are numbered per broker, not per channel.",
    "The x-consistent-hash exchange takes the routing key's hash modulo the number of bindings instead of walking a hash ring.",
    "SQS is modelled as push: prefetch is how many messages a consumer may have in flight.",
    "A durable queue's message store is never compacted: it grows with every change until the run ends.",
    "In the page a reload restarts the broker and every client at once: durable queues come back from IndexedDB with their persistent messages, and the producers and consumers start again from their first message.",
    "An SQS FIFO queue has one message per MessageGroupId in flight at a time; a real ReceiveMessage may hand one consumer several of a group in one batch.",
    "Not modelled: quorum-queue replication.",
];
pub use fifo::{DedupWindow, SQS_DEDUP_IDS_MAX, SQS_DEDUP_WINDOW_MS};
pub use headers::matches as headers_match;
pub use record::StoreLayoutError;
pub use routing::key_hash;
pub use topic::matches as topic_matches;
pub use view::QueueBrokerStats;

use super::wake::WakeAlarm;
use super::{ClientId, KeyId, Output, Request};
use crate::config::{QueueBrokerSpec, QueueMode};
use crate::storage::{FlushId, FlushState, Storage};
use channels::Channels;
use consumer_timeout::ConsumerTimeout;
use consumers::{Consumers, Subscription};
use queues::Queues;
use routing::Exchanges;
use store::MessageStore;

/// The queue broker: one process, its queues, exchanges, consumers and
/// channels.
#[derive(Clone, Debug)]
pub struct QueueBroker {
    /// RabbitMQ or SQS: what a closed channel does to unacked messages
    /// (requeued, or left to their visibility timeout), and which delivery
    /// limit applies.
    mode: QueueMode,
    /// The process is running; a crashed broker gets no requests.
    up: bool,
    /// The declared queues and their ready messages.
    queues: Queues,
    /// The exchanges and their bindings.
    exchanges: Exchanges,
    /// Every consumer's subscription, `prefetch` and round-robin turn.
    consumers: Consumers,
    /// Delivery tags and unacked deliveries.
    channels: Channels,
    /// SQS FIFO `MessageDeduplicationId` windows, per queue (`None` = off).
    fifo: Vec<Option<DedupWindow>>,
    /// What durable queues write to storage, and the confirms waiting for it.
    store: MessageStore,
    /// `consumer_timeout` and `channel_tick_interval` (`None`: off).
    consumer_timeout: Option<ConsumerTimeout>,
    /// The earliest `WakeAt` asked for (visibility timeouts, TTL expiry,
    /// `consumer_timeout` ticks).
    wake: WakeAlarm,
    /// Counters for the broker-side conservation check (see `check`).
    pub stats: QueueBrokerStats,
}

impl QueueBroker {
    /// A running broker with the scenario's queues and exchanges, empty.
    /// `key_of` maps a binding key to its [`KeyId`]; `key_names[k]` is the
    /// name of key `k`; `queue_depth_max` bounds every queue (ready +
    /// unacked, `limits.queue_depth_max`).
    pub fn from_spec(
        spec: &QueueBrokerSpec,
        key_of: &dyn Fn(&str) -> Option<KeyId>,
        key_names: &[String],
        queue_depth_max: u64,
    ) -> QueueBroker {
        let queues = Queues::from_spec(spec, queue_depth_max);
        let fifo = spec
            .queues
            .iter()
            .map(|q| (q.fifo_deduplication || q.fifo).then(DedupWindow::default))
            .collect();
        let durable = queues.ids().map(|q| queues.cfg(q).durable).collect();
        QueueBroker {
            mode: spec.mode,
            store: MessageStore::new(durable),
            up: true,
            consumers: Consumers::new(spec.mode, queues.len()),
            queues,
            exchanges: Exchanges::from_spec(spec, key_of, key_names),
            channels: Channels::default(),
            fifo,
            consumer_timeout: spec.consumer_timeout_ms.map(|ms| ConsumerTimeout {
                // Validated: positive, rabbitmq mode.
                timeout_ms: u64::try_from(ms).unwrap_or(u64::MAX),
                tick_interval_ms: spec
                    .channel_tick_interval_ms
                    .unwrap_or(crate::config::CHANNEL_TICK_INTERVAL_MS),
            }),
            wake: WakeAlarm::default(),
            stats: QueueBrokerStats::default(),
        }
    }

    /// A key interned mid-run; keys only ever grow at the end.
    pub fn add_key(&mut self, name: &str) {
        self.exchanges.add_key(name);
    }

    /// A message header table interned by the world (at the start or when
    /// a producer is added); tables only grow at the end, so the `n`-th
    /// call's table is [`HeadersId`](crate::broker::HeadersId) `n`.
    pub fn add_headers(&mut self, table: &crate::config::Headers) {
        self.exchanges.add_headers(table);
    }

    /// Whether the process is running.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// RabbitMQ or SQS.
    pub fn mode(&self) -> QueueMode {
        self.mode
    }

    /// One request from one client. The world only calls this while the broker
    /// is up: requests sent to a crashed broker are lost in the network.
    pub fn handle(&mut self, now_ms: u64, from: ClientId, req: Request, out: &mut Vec<Output>) {
        assert!(self.up, "requests never reach a crashed broker");
        match req {
            Request::Publish {
                target,
                msg,
                confirm,
                props,
            } => self.publish(now_ms, from, target, (msg, props), confirm, out),
            Request::Consume {
                queue,
                prefetch,
                auto_ack,
                exclusive,
                window,
            } => {
                let sub = Subscription {
                    queue,
                    prefetch,
                    window,
                    in_flight: 0,
                    auto_ack,
                    generation: 0,
                };
                self.consume(now_ms, from, sub, exclusive, out);
            }
            Request::Get { queue, auto_ack } => self.get(now_ms, from, queue, auto_ack, out),
            Request::Cancel => self.cancel(now_ms, from, out),
            Request::Ack { tag, multiple } => {
                self.settle(now_ms, from, (tag, multiple), settle::Settle::Ack, out);
            }
            Request::Nack {
                tag,
                multiple,
                requeue,
            } => {
                let how = settle::Settle::Nack { requeue };
                self.settle(now_ms, from, (tag, multiple), how, out);
            }
            Request::Credit => self.credit(now_ms, from, out),
            Request::Qos { prefetch } => self.qos(now_ms, from, prefetch, out),
            Request::ChannelClosed => self.channel_closed(now_ms, from, out),
            Request::Log(_) => unreachable!("queue clients send queue requests"),
        }
        self.arm_wake(out);
        self.assert_invariants();
    }

    /// Writes what durable queues changed since the last flush, if no flush
    /// is in flight (a group commit): call after [`handle`](Self::handle)
    /// and [`tick`](Self::tick). The flush answers with [`Output::FlushAt`];
    /// report its completion with [`flush_done`](Self::flush_done).
    pub fn write(&mut self, now_ms: u64, storage: &mut dyn Storage, out: &mut Vec<Output>) {
        if self.up {
            self.store.write(now_ms, storage, out);
        }
    }

    /// Flush `id` reached its completion time and storage says `state`:
    /// durable, the confirms waiting for it go out and the next flush
    /// begins. A flush from before a crash is ignored.
    pub fn flush_done(
        &mut self,
        now_ms: u64,
        id: FlushId,
        state: FlushState,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        if self.up {
            self.store.flush_done(now_ms, id, state, storage, out);
        }
    }

    /// Flushes (group commits) begun so far.
    pub fn flushes(&self) -> u64 {
        self.store.flushes
    }

    /// Visibility timeouts (SQS), `consumer_timeout` (RabbitMQ) and TTL
    /// expiry. Safe to call at any time.
    pub fn tick(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        if !self.up {
            return;
        }
        self.wake.fired();
        while let Some(u) = self.channels.take_due(now_ms) {
            self.queues.state_mut(u.queue).unacked -= 1;
            self.consumers.release(u.consumer, u.generation);
            self.give_back(now_ms, u, super::ReturnReason::VisibilityTimeout, out);
        }
        self.consumer_timeouts(now_ms, out);
        for q in self.queues.ids() {
            self.expire(now_ms, q, out);
        }
        self.dispatch_all(now_ms, out);
        self.arm_wake(out);
        self.assert_invariants();
    }

    /// Asks for a tick at the next visibility deadline, head expiry or
    /// `consumer_timeout` tick.
    fn arm_wake(&mut self, out: &mut Vec<Output>) {
        let next = [
            self.channels.next_deadline_ms(),
            self.queues.next_expiry_ms(),
            self.next_consumer_timeout_ms(),
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(at) = next {
            self.wake.arm(at, out);
        }
    }

    /// Cheap structural invariants, checked after every request (kept in release).
    fn assert_invariants(&self) {
        let unacked: u64 = self.queues.state.iter().map(|s| s.unacked).sum();
        assert_eq!(
            unacked,
            self.channels.unacked_count(),
            "unacked counters drifted"
        );
        for q in self.queues.ids() {
            let cfg = self.queues.cfg(q);
            assert!(
                self.queues.depth(q) <= cfg.depth_max,
                "queue {} over limits.queue_depth_max",
                cfg.name
            );
        }
        if self.mode == QueueMode::Rabbitmq {
            assert!(
                self.channels.no_deadlines(),
                "rabbitmq mode has no visibility deadlines"
            );
        }
    }
}
