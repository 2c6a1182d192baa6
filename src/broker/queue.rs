//! The queue broker: RabbitMQ (AMQP 0-9-1) semantics, or SQS semantics
//! when `mode = "sqs"`. Checked against a real RabbitMQ 3.10 by
//! `tests/rabbitmq_fidelity.rs`.
//!
//! What it models, and why each piece matters for a learner:
//!
//! - **Durability.** A crash loses every message held in memory, except the
//!   persistent ones (`delivery_mode=2`) in a `durable` queue (quorum queues
//!   always are): they come back after the restart, the delivered-but-unacked
//!   ones marked `redelivered`. A restart brings every queue *definition* back
//!   (the clients declare them again), so a transient queue comes back empty.
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
//! - **Delivery limit.** Quorum `x-delivery-limit` = n: a message is delivered
//!   at most n + 1 times (`x-delivery-count` 0..=n), then dead-lettered. SQS
//!   `maxReceiveCount` = n: at most n receives.
//! - **Limits.** `x-max-length` / `x-max-length-bytes` count ready messages;
//!   past them `drop-head` dead-letters the oldest, `reject-publish` refuses
//!   the new one. `x-message-ttl` expires a message when it reaches the head.
//!   A dead-lettered message carries `x-death` (reason and source queue).
//!
//! Simplifications (said here and in the UI): delivery tags are per broker, not
//! per channel; the `x-consistent-hash` exchange hashes the routing key modulo the
//! number of bindings instead of walking a hash ring; SQS is modelled as push
//! with `prefetch` as the number of messages a consumer may have in flight;
//! persistent messages are safe as soon as they are enqueued (no disk write
//! is modelled yet, so a confirm never waits for one).

use super::dedup::DedupWindow;
use super::{
    topic, ClientId, DeadLetterReason, Death, Delivery, DeliveryTag, KeyId, Message, MsgId, Note,
    Output, QueueId, QueueView, Request, ReturnReason, Target,
};
use crate::config::{ExchangeKind, Overflow, QueueBrokerSpec, QueueKind, QueueMode};
use std::collections::{BTreeMap, BTreeSet};

/// The reply code of `channel.close` for an unknown delivery tag.
pub const PRECONDITION_FAILED: u16 = 406;

/// A declared queue's settings (not its contents).
#[derive(Clone, Debug)]
struct QueueConfig {
    name: String,
    /// Classic or quorum: delivery counting, the limit and where returns go.
    kind: QueueKind,
    /// Whether its persistent messages survive a crash.
    durable: bool,
    visibility_timeout_ms: Option<u64>,
    delivery_limit: Option<u32>,
    dead_letter: Option<QueueId>,
    /// `x-max-length`: bound on ready messages.
    max_length: Option<u64>,
    /// `x-max-length-bytes`: bound on ready payload bytes.
    max_length_bytes: Option<u64>,
    overflow: Overflow,
    /// `x-message-ttl`.
    ttl_ms: Option<u64>,
    /// The simulation's bound on ready + unacked (`limits.queue_depth_max`):
    /// past it a publish is refused, whatever the queue's own limits say.
    depth_max: u64,
}

/// One binding of an exchange.
#[derive(Clone, Debug)]
struct Binding {
    queue: QueueId,
    /// `direct`: the routing key to match.
    key: Option<KeyId>,
    /// `topic`: the pattern to match.
    pattern: Option<String>,
}

#[derive(Clone, Debug)]
struct ExchangeConfig {
    kind: ExchangeKind,
    bindings: Vec<Binding>,
}

/// A message in a queue, ready or (inside [`Unacked`]) delivered.
#[derive(Clone, Copy, Debug)]
struct Ready {
    msg: Message,
    /// Deliveries so far (the next one's `x-delivery-count`).
    delivery_count: u32,
    /// AMQP's `redelivered`: it may have been delivered before.
    redelivered: bool,
    /// `delivery_mode=2`.
    persistent: bool,
    /// When it entered this queue, for `x-message-ttl` (kept across returns).
    enqueued_ms: u64,
    /// How it got here if it was dead-lettered (`x-death`).
    death: Option<Death>,
}

/// A message delivered and not yet acked.
#[derive(Clone, Copy, Debug)]
struct Unacked {
    queue: QueueId,
    consumer: ClientId,
    /// Which subscription of that consumer it was delivered on (see
    /// [`Subscription::generation`]); 0 for `basic.get`.
    generation: u64,
    /// The queue position it returns to.
    position: u64,
    /// The message, `delivery_count` including this delivery.
    ready: Ready,
    /// SQS only: when it becomes visible again.
    visible_at_ms: Option<u64>,
}

/// One queue's contents.
#[derive(Clone, Debug, Default)]
struct QueueState {
    /// Ready messages keyed by their position, so a requeued message slots
    /// back into its original place. Bound: `depth_max`.
    ready: BTreeMap<u64, Ready>,
    /// Payload bytes of the ready messages (`x-max-length-bytes`).
    ready_bytes: u64,
    /// How many of this queue's messages are unacked.
    unacked: u64,
    /// Subscribed consumers in subscription order. Bound: clients in the scenario.
    consumers: Vec<ClientId>,
    /// Round-robin cursor into `consumers`: who is offered the next message.
    cursor: u32,
    /// Whether the only consumer asked for `exclusive`.
    exclusive: bool,
}

/// A consumer's `basic.consume` on one queue.
#[derive(Clone, Copy, Debug)]
struct Subscription {
    queue: QueueId,
    /// Manual ack: the most unacked deliveries (0 = unlimited).
    prefetch: u32,
    /// Auto-ack (RabbitMQ mode): the most deliveries not yet credited back (0 = unlimited).
    window: u32,
    /// Unacked deliveries (or, for auto-ack, deliveries not yet credited
    /// back). At most the bound above, except after a live `basic.qos`
    /// lowered it: deliveries already sent are not taken back, and none are
    /// sent until `in_flight` drops below it.
    in_flight: u32,
    auto_ack: bool,
    /// Grows with every subscription, so a return that belongs to an older
    /// subscription of the same consumer does not touch this one's counter.
    generation: u64,
}

/// How a client settles deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Settle {
    Ack,
    Nack { requeue: bool },
}

/// Counters for the broker-side conservation check (see `check`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueBrokerStats {
    /// Copies that entered a queue (publishes × routed queues, plus dead-letters).
    pub enqueued: u64,
    pub deleted: u64,
    pub dropped: u64,
    pub dead_lettered: u64,
    pub lost_in_crash: u64,
}

#[derive(Clone, Debug)]
pub struct QueueBroker {
    mode: QueueMode,
    queues_cfg: Vec<QueueConfig>,
    exchanges: Vec<ExchangeConfig>,
    /// Each key's name (the routing key, for `topic` exchanges).
    key_names: Vec<String>,
    /// Hash of each key, for `x-consistent-hash`.
    key_hashes: Vec<u64>,
    up: bool,
    /// Bumped by every restart; part of every delivery tag.
    incarnation: u32,
    queues: Vec<QueueState>,
    /// Bound: clients in the scenario.
    subs: BTreeMap<ClientId, Subscription>,
    /// Bound: sum of prefetch over subscriptions.
    unacked: BTreeMap<u64, Unacked>,
    /// Per client: the first tag of its current channel. An ack for an older
    /// tag was sent on a channel that is gone (a real broker never sees it);
    /// a newer one it does not hold is a double or unknown ack (406). No
    /// entry: the client never opened a channel, every tag counts as its own.
    /// Bound: clients in the scenario.
    channel_first_tag: BTreeMap<ClientId, u64>,
    /// SQS: (visible_at_ms, tag). Bound: same as `unacked`.
    deadlines: BTreeSet<(u64, u64)>,
    /// The earliest `WakeAt` already requested, so we do not ask twice.
    wake_armed_ms: Option<u64>,
    next_tag: u64,
    next_position: u64,
    next_generation: u64,
    /// SQS FIFO `MessageDeduplicationId` windows, per queue (`None` = off).
    fifo: Vec<Option<DedupWindow>>,
    pub stats: QueueBrokerStats,
}

/// The hash the `x-consistent-hash` exchange routes a key by.
pub fn key_hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

impl QueueBroker {
    /// A key interned mid-run; keys only ever grow at the end.
    pub fn add_key(&mut self, name: &str) {
        self.key_names.push(name.to_string());
        self.key_hashes.push(key_hash(name));
    }

    pub fn from_spec(
        spec: &QueueBrokerSpec,
        key_of: &dyn Fn(&str) -> Option<KeyId>,
        key_names: &[String],
        queue_depth_max: u64,
    ) -> QueueBroker {
        let index = |name: &str| -> QueueId {
            let i = spec.queues.iter().position(|q| q.name == name);
            i.expect("validated: the queue is declared") as QueueId
        };
        let queues_cfg = spec
            .queues
            .iter()
            .map(|q| QueueConfig {
                name: q.name.clone(),
                kind: q.kind,
                durable: q.durable || q.kind == QueueKind::Quorum,
                visibility_timeout_ms: q.visibility_timeout_ms,
                delivery_limit: q.delivery_limit,
                dead_letter: q.dead_letter_queue.as_deref().map(index),
                max_length: q.max_length,
                max_length_bytes: q.max_length_bytes,
                overflow: q.overflow.unwrap_or_default(),
                ttl_ms: q
                    .message_ttl_ms
                    .map(|ms| u64::try_from(ms).expect("validated: not negative")),
                depth_max: queue_depth_max,
            })
            .collect::<Vec<_>>();
        let exchanges = spec
            .exchanges
            .iter()
            .map(|x| ExchangeConfig {
                kind: x.kind,
                bindings: x
                    .bindings
                    .iter()
                    .map(|b| Binding {
                        queue: index(&b.queue),
                        key: b.routing_key.as_deref().and_then(key_of),
                        pattern: b.routing_key.clone(),
                    })
                    .collect(),
            })
            .collect();
        let queues = vec![QueueState::default(); queues_cfg.len()];
        let fifo = spec
            .queues
            .iter()
            .map(|q| q.fifo_deduplication.then(DedupWindow::default))
            .collect();
        QueueBroker {
            mode: spec.mode,
            queues_cfg,
            exchanges,
            key_names: key_names.to_vec(),
            key_hashes: key_names.iter().map(|k| key_hash(k)).collect(),
            up: true,
            incarnation: 0,
            queues,
            subs: BTreeMap::new(),
            unacked: BTreeMap::new(),
            channel_first_tag: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            wake_armed_ms: None,
            next_tag: 0,
            next_position: 0,
            next_generation: 0,
            fifo,
            stats: QueueBrokerStats::default(),
        }
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

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
                persistent,
            } => self.publish(now_ms, from, target, (msg, persistent), confirm, out),
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
                self.settle(now_ms, from, (tag, multiple), Settle::Ack, out);
            }
            Request::Nack {
                tag,
                multiple,
                requeue,
            } => self.settle(now_ms, from, (tag, multiple), Settle::Nack { requeue }, out),
            Request::Credit => self.credit(now_ms, from, out),
            Request::Qos { prefetch } => self.qos(now_ms, from, prefetch, out),
            Request::ChannelClosed => self.channel_closed(now_ms, from, out),
            Request::Log(_) => unreachable!("queue clients send queue requests"),
        }
        self.arm_wake(out);
        self.assert_invariants();
    }

    fn publish(
        &mut self,
        now_ms: u64,
        from: ClientId,
        target: Target,
        (msg, persistent): (Message, bool),
        confirm: bool,
        out: &mut Vec<Output>,
    ) {
        let targets = match target {
            Target::Queue(q) => vec![q],
            Target::Exchange(x) => self.route(x, msg.key),
        };
        let mut accepted = true;
        for &q in &targets {
            if self.fifo_duplicate(now_ms, q, msg, out) {
                continue;
            }
            let ready = Ready {
                msg,
                delivery_count: 0,
                redelivered: false,
                persistent,
                enqueued_ms: now_ms,
                death: None,
            };
            accepted &= self.enqueue(now_ms, q, ready, out);
            self.dispatch(now_ms, q, out);
        }
        if targets.is_empty() {
            self.stats.dropped += 1;
            out.push(Output::Note(Note::Unroutable { msg: msg.id }));
        }
        if confirm {
            // RabbitMQ confirms an unroutable (non-mandatory) message positively,
            // and refuses (basic.nack) when any target queue rejected it.
            out.push(Output::Confirm {
                to: from,
                msg: msg.id,
                ok: accepted,
            });
        }
    }

    /// SQS FIFO: true (and a note) when queue `q` accepted this message's
    /// `MessageDeduplicationId` (its id, the same on every retry) within the
    /// last 5 minutes. Only then is the publish confirmed without enqueueing.
    fn fifo_duplicate(
        &mut self,
        now_ms: u64,
        q: QueueId,
        msg: Message,
        out: &mut Vec<Output>,
    ) -> bool {
        let Some(window) = &mut self.fifo[q as usize] else {
            return false;
        };
        let duplicate = window.is_duplicate(now_ms, msg.id);
        if duplicate {
            out.push(Output::Note(Note::DuplicateDropped {
                msg: msg.id,
                queue: q,
            }));
        }
        duplicate
    }

    /// The queues one message goes to through exchange `x`.
    fn route(&self, x: u32, key: Option<KeyId>) -> Vec<QueueId> {
        let ex = &self.exchanges[x as usize];
        match ex.kind {
            ExchangeKind::Fanout => ex.bindings.iter().map(|b| b.queue).collect(),
            ExchangeKind::Direct => ex
                .bindings
                .iter()
                .filter(|b| b.key.is_some() && b.key == key)
                .map(|b| b.queue)
                .collect(),
            ExchangeKind::Topic => {
                let routing_key = key.map_or("", |k| self.key_names[k as usize].as_str());
                let mut to: Vec<QueueId> = ex
                    .bindings
                    .iter()
                    .filter(|b| {
                        b.pattern
                            .as_deref()
                            .is_some_and(|p| topic::matches(p, routing_key))
                    })
                    .map(|b| b.queue)
                    .collect();
                // A queue bound twice still gets one copy.
                to.dedup();
                to
            }
            ExchangeKind::ConsistentHash => {
                let hash = key.map_or(0, |k| self.key_hashes[k as usize]);
                let n = ex.bindings.len() as u64;
                vec![ex.bindings[(hash % n) as usize].queue]
            }
        }
    }

    /// Appends to the tail of queue `q`, applying `x-max-length` and the
    /// simulation's depth bound. False if the message was refused.
    fn enqueue(&mut self, now_ms: u64, q: QueueId, ready: Ready, out: &mut Vec<Output>) -> bool {
        let (depth_max, overflow) = {
            let cfg = &self.queues_cfg[q as usize];
            (cfg.depth_max, cfg.overflow)
        };
        let refuse = |this: &mut QueueBroker, out: &mut Vec<Output>| {
            this.stats.dropped += 1;
            out.push(Output::Note(Note::RejectedPublish {
                msg: ready.msg.id,
                queue: q,
            }));
            false
        };
        if self.depth(q) >= depth_max {
            return refuse(self, out);
        }
        if self.over_limit(q, ready.msg.payload_bytes) {
            match overflow {
                Overflow::RejectPublish => return refuse(self, out),
                Overflow::RejectPublishDlx => {
                    self.insert(q, ready, out);
                    let (_, ready) = self.pop_last(q);
                    self.dead_letter(now_ms, q, ready, DeadLetterReason::MaxLen, out);
                    return false;
                }
                Overflow::DropHead => self.drop_head(now_ms, q, ready.msg.payload_bytes, out),
            }
        }
        self.insert(q, ready, out);
        true
    }

    fn insert(&mut self, q: QueueId, ready: Ready, out: &mut Vec<Output>) {
        let position = self.next_position;
        self.next_position += 1;
        let state = &mut self.queues[q as usize];
        state.ready_bytes += u64::from(ready.msg.payload_bytes);
        state.ready.insert(position, ready);
        self.stats.enqueued += 1;
        out.push(Output::Note(Note::Enqueued {
            msg: ready.msg.id,
            queue: q,
        }));
    }

    /// Whether one more ready message of `bytes` would pass `x-max-length(-bytes)`.
    fn over_limit(&self, q: QueueId, bytes: u32) -> bool {
        let cfg = &self.queues_cfg[q as usize];
        let state = &self.queues[q as usize];
        cfg.max_length
            .is_some_and(|max| state.ready.len() as u64 >= max)
            || cfg
                .max_length_bytes
                .is_some_and(|max| state.ready_bytes + u64::from(bytes) > max)
    }

    /// `drop-head`: dead-letter the oldest ready messages until `bytes` more fit.
    fn drop_head(&mut self, now_ms: u64, q: QueueId, bytes: u32, out: &mut Vec<Output>) {
        while self.over_limit(q, bytes) && !self.queues[q as usize].ready.is_empty() {
            let (_, head) = self.pop_first(q);
            self.dead_letter(now_ms, q, head, DeadLetterReason::MaxLen, out);
        }
    }

    fn pop_first(&mut self, q: QueueId) -> (u64, Ready) {
        let state = &mut self.queues[q as usize];
        let (position, ready) = state.ready.pop_first().expect("not empty");
        state.ready_bytes -= u64::from(ready.msg.payload_bytes);
        (position, ready)
    }

    fn pop_last(&mut self, q: QueueId) -> (u64, Ready) {
        let state = &mut self.queues[q as usize];
        let (position, ready) = state.ready.pop_last().expect("just inserted");
        state.ready_bytes -= u64::from(ready.msg.payload_bytes);
        (position, ready)
    }

    fn depth(&self, q: QueueId) -> u64 {
        let s = &self.queues[q as usize];
        s.ready.len() as u64 + s.unacked
    }

    fn consume(
        &mut self,
        now_ms: u64,
        from: ClientId,
        mut sub: Subscription,
        exclusive: bool,
        out: &mut Vec<Output>,
    ) {
        if self.subs.contains_key(&from) {
            // A second basic.consume on a new connection: the old channel is gone.
            self.channel_closed(now_ms, from, out);
        }
        let queue = sub.queue;
        let state = &mut self.queues[queue as usize];
        if state.exclusive || (exclusive && !state.consumers.is_empty()) {
            out.push(Output::Note(Note::ConsumeRefused {
                consumer: from,
                queue,
            }));
            return;
        }
        state.exclusive = exclusive;
        state.consumers.push(from);
        self.next_generation += 1;
        sub.generation = self.next_generation;
        self.subs.insert(from, sub);
        self.channel_first_tag.insert(from, self.next_tag);
        self.dispatch(now_ms, queue, out);
    }

    /// `basic.cancel`: no more pushes; what the channel holds stays unacked.
    fn cancel(&mut self, now_ms: u64, from: ClientId, out: &mut Vec<Output>) {
        let Some(sub) = self.subs.remove(&from) else {
            return;
        };
        let state = &mut self.queues[sub.queue as usize];
        state.consumers.retain(|&c| c != from);
        state.exclusive = false;
        state.cursor = 0;
        self.dispatch(now_ms, sub.queue, out);
    }

    /// `basic.get`: the head of the queue, or `get-empty`.
    fn get(
        &mut self,
        now_ms: u64,
        from: ClientId,
        q: QueueId,
        auto_ack: bool,
        out: &mut Vec<Output>,
    ) {
        self.expire(now_ms, q, out);
        if self.queues[q as usize].ready.is_empty() {
            out.push(Output::Got {
                to: from,
                delivery: None,
            });
            return;
        }
        let (position, ready) = self.pop_first(q);
        let delivery = self.delivery(q, ready);
        out.push(Output::Got {
            to: from,
            delivery: Some(delivery),
        });
        self.hand_over(now_ms, (from, 0, auto_ack), position, delivery, ready, out);
    }

    /// `basic.ack` / `basic.nack` / `basic.reject` of `tag` (and, with
    /// `multiple`, of every earlier delivery the channel holds).
    fn settle(
        &mut self,
        now_ms: u64,
        from: ClientId,
        (tag, multiple): (DeliveryTag, bool),
        how: Settle,
        out: &mut Vec<Output>,
    ) {
        let Some(tags) = self.settled_tags(now_ms, from, tag, multiple, out) else {
            return;
        };
        let mut last_queue = None;
        for n in tags {
            let u = self.take_unacked(n);
            last_queue = Some(u.queue);
            match how {
                Settle::Ack => {
                    self.stats.deleted += 1;
                    out.push(Output::Note(Note::Deleted {
                        msg: u.ready.msg.id,
                        queue: u.queue,
                    }));
                }
                Settle::Nack { requeue: true } => {
                    self.give_back(now_ms, u, ReturnReason::Nack, out)
                }
                Settle::Nack { requeue: false } => {
                    self.dead_letter(now_ms, u.queue, u.ready, DeadLetterReason::Rejected, out);
                }
            }
        }
        match (how, last_queue) {
            (Settle::Ack, Some(queue)) if !multiple => self.dispatch(now_ms, queue, out),
            _ => self.dispatch_all(now_ms, out),
        }
    }

    /// The tags one settle covers, or `None` (and a note or a channel error)
    /// if `from` does not hold `tag`.
    fn settled_tags(
        &mut self,
        now_ms: u64,
        from: ClientId,
        tag: DeliveryTag,
        multiple: bool,
        out: &mut Vec<Output>,
    ) -> Option<Vec<u64>> {
        let current = tag.incarnation == self.incarnation;
        let held = current && self.unacked.get(&tag.n).is_some_and(|u| u.consumer == from);
        if !held {
            // A tag this channel never got, or already settled: RabbitMQ
            // closes the channel. A tag from before a restart or from an
            // earlier channel of the client, or one that belongs to another
            // channel (our tags are per broker), is an old connection's: a
            // real broker would never see it.
            let this_channel = tag.n >= self.channel_first_tag.get(&from).copied().unwrap_or(0);
            let unknown = current && this_channel && !self.unacked.contains_key(&tag.n);
            if unknown && self.mode == QueueMode::Rabbitmq {
                self.channel_error(now_ms, from, PRECONDITION_FAILED, out);
            } else {
                out.push(Output::Note(Note::StaleAck { tag }));
            }
            return None;
        }
        if !multiple {
            return Some(vec![tag.n]);
        }
        let tags = self.unacked.range(..=tag.n);
        Some(
            tags.filter(|(_, u)| u.consumer == from)
                .map(|(&n, _)| n)
                .collect(),
        )
    }

    /// Removes an unacked delivery and frees its consumer's prefetch slot.
    fn take_unacked(&mut self, n: u64) -> Unacked {
        let u = self.unacked.remove(&n).expect("checked by the caller");
        if let Some(at) = u.visible_at_ms {
            self.deadlines.remove(&(at, n));
        }
        self.queues[u.queue as usize].unacked -= 1;
        self.release_credit(u.consumer, u.generation);
        u
    }

    fn release_credit(&mut self, consumer: ClientId, generation: u64) {
        if let Some(sub) = self.subs.get_mut(&consumer) {
            if sub.generation == generation {
                assert!(sub.in_flight > 0, "credit released twice");
                sub.in_flight -= 1;
            }
        }
    }

    /// The broker closes `from`'s channel: its consumer is gone and its
    /// unacked deliveries are requeued, as when the client closes it.
    fn channel_error(&mut self, now_ms: u64, from: ClientId, code: u16, out: &mut Vec<Output>) {
        out.push(Output::ChannelError { to: from, code });
        out.push(Output::Note(Note::ChannelError { client: from, code }));
        self.channel_closed(now_ms, from, out);
    }

    /// `basic.qos` on an open channel: the new prefetch bounds the next
    /// dispatch (a raised one lets more through right away). Without a
    /// subscription (the channel died on the way) there is nothing to change:
    /// the next `basic.consume` carries the consumer's new prefetch anyway.
    /// An auto-ack consumer's receive window follows its prefetch (the
    /// simulated client sizes its buffer by it).
    fn qos(&mut self, now_ms: u64, from: ClientId, prefetch: u32, out: &mut Vec<Output>) {
        let Some(sub) = self.subs.get_mut(&from) else {
            return;
        };
        sub.prefetch = prefetch;
        if sub.auto_ack && sub.window != 0 {
            sub.window = prefetch;
        }
        let queue = sub.queue;
        self.dispatch(now_ms, queue, out);
    }

    fn credit(&mut self, now_ms: u64, from: ClientId, out: &mut Vec<Output>) {
        let Some(sub) = self.subs.get_mut(&from) else {
            return;
        };
        assert!(sub.auto_ack, "only auto-ack consumers send credit");
        // A credit can arrive for a delivery from before a re-subscribe; the
        // counter never goes below zero.
        sub.in_flight = sub.in_flight.saturating_sub(1);
        let queue = sub.queue;
        self.dispatch(now_ms, queue, out);
    }

    /// RabbitMQ: every unacked delivery on the channel is requeued (pushed or
    /// fetched with `basic.get`, before or after a `basic.cancel`).
    /// SQS: there is no channel; in-flight messages wait for their timeout.
    fn channel_closed(&mut self, now_ms: u64, from: ClientId, out: &mut Vec<Output>) {
        // Acks still on their way from the closed channel are old ones now.
        self.channel_first_tag.insert(from, self.next_tag);
        if let Some(sub) = self.subs.remove(&from) {
            let state = &mut self.queues[sub.queue as usize];
            state.consumers.retain(|&c| c != from);
            state.exclusive = false;
            state.cursor = 0;
        }
        if self.mode == QueueMode::Rabbitmq {
            let tags: Vec<u64> = self
                .unacked
                .iter()
                .filter(|(_, u)| u.consumer == from)
                .map(|(&t, _)| t)
                .collect();
            for t in tags {
                let u = self.unacked.remove(&t).expect("listed above");
                self.queues[u.queue as usize].unacked -= 1;
                self.give_back(now_ms, u, ReturnReason::ChannelClosed(from), out);
            }
        }
        self.dispatch_all(now_ms, out);
    }

    /// Puts a delivered message back (classic: at its original position;
    /// quorum: behind the ready ones), or dead-letters it if it has used up
    /// its delivery limit.
    fn give_back(&mut self, now_ms: u64, u: Unacked, reason: ReturnReason, out: &mut Vec<Output>) {
        let cfg = &self.queues_cfg[u.queue as usize];
        let count = u.ready.delivery_count;
        let spent = match self.mode {
            // x-delivery-limit n: n + 1 deliveries in all (3.10 quorum queues).
            QueueMode::Rabbitmq => {
                cfg.kind == QueueKind::Quorum && cfg.delivery_limit.is_some_and(|n| count > n)
            }
            // maxReceiveCount n: n receives in all.
            QueueMode::Sqs => cfg.delivery_limit.is_some_and(|n| count >= n),
        };
        if spent {
            self.dead_letter(
                now_ms,
                u.queue,
                u.ready,
                DeadLetterReason::DeliveryLimit,
                out,
            );
            return;
        }
        let position = if cfg.kind == QueueKind::Quorum {
            self.next_position += 1;
            self.next_position - 1
        } else {
            u.position
        };
        let ready = Ready {
            redelivered: true,
            ..u.ready
        };
        let state = &mut self.queues[u.queue as usize];
        state.ready_bytes += u64::from(ready.msg.payload_bytes);
        let previous = state.ready.insert(position, ready);
        assert!(previous.is_none(), "two messages at one queue position");
        out.push(Output::Note(Note::Requeued {
            msg: ready.msg.id,
            queue: u.queue,
            reason,
        }));
    }

    /// Moves a message to the queue's dead-letter queue with an `x-death`
    /// entry, or drops it if there is none.
    fn dead_letter(
        &mut self,
        now_ms: u64,
        from: QueueId,
        ready: Ready,
        reason: DeadLetterReason,
        out: &mut Vec<Output>,
    ) {
        let to = self.queues_cfg[from as usize].dead_letter;
        self.stats.dead_lettered += 1;
        out.push(Output::Note(Note::DeadLettered {
            msg: ready.msg.id,
            from,
            to,
            reason,
        }));
        // Delivery count restarts in the dead-letter queue: it is a new queue.
        let copy = Ready {
            delivery_count: 0,
            redelivered: false,
            enqueued_ms: now_ms,
            death: Some(Death {
                reason,
                queue: from,
            }),
            ..ready
        };
        let kept = to.is_some_and(|dlq| self.enqueue(now_ms, dlq, copy, out));
        if !kept {
            self.stats.dropped += 1;
        }
    }

    /// Visibility timeouts (SQS) and TTL expiry. Safe to call at any time.
    pub fn tick(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        if !self.up {
            return;
        }
        self.wake_armed_ms = None;
        while let Some(&(at, n)) = self.deadlines.first() {
            if at > now_ms {
                break;
            }
            self.deadlines.pop_first();
            let u = self
                .unacked
                .remove(&n)
                .expect("every deadline has its unacked message");
            self.queues[u.queue as usize].unacked -= 1;
            self.release_credit(u.consumer, u.generation);
            self.give_back(now_ms, u, ReturnReason::VisibilityTimeout, out);
        }
        for q in 0..self.queues.len() as QueueId {
            self.expire(now_ms, q, out);
        }
        self.dispatch_all(now_ms, out);
        self.arm_wake(out);
        self.assert_invariants();
    }

    /// `x-message-ttl`: dead-letters expired messages at the head of `q` (a
    /// message behind a live one waits, as in RabbitMQ).
    fn expire(&mut self, now_ms: u64, q: QueueId, out: &mut Vec<Output>) {
        let Some(ttl) = self.queues_cfg[q as usize].ttl_ms else {
            return;
        };
        while let Some((_, head)) = self.queues[q as usize].ready.first_key_value() {
            if head.enqueued_ms + ttl > now_ms {
                break;
            }
            let (_, head) = self.pop_first(q);
            self.dead_letter(now_ms, q, head, DeadLetterReason::Expired, out);
            // The dead-letter queue's consumers hear of it at the next tick.
            out.push(Output::WakeAt { at_ms: now_ms });
        }
    }

    /// Asks for a tick at the next visibility deadline or head expiry.
    fn arm_wake(&mut self, out: &mut Vec<Output>) {
        let deadline = self.deadlines.first().map(|&(at, _)| at);
        let expiry = self
            .queues_cfg
            .iter()
            .zip(&self.queues)
            .filter_map(|(cfg, s)| Some(s.ready.first_key_value()?.1.enqueued_ms + cfg.ttl_ms?))
            .min();
        let next = match (deadline, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = next {
            if self.wake_armed_ms.is_none_or(|armed| at < armed) {
                self.wake_armed_ms = Some(at);
                out.push(Output::WakeAt { at_ms: at });
            }
        }
    }

    fn dispatch_all(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        for q in 0..self.queues.len() as QueueId {
            self.dispatch(now_ms, q, out);
        }
    }

    /// Hands ready messages to consumers with room, round-robin.
    /// Bounded: each iteration removes one ready message.
    fn dispatch(&mut self, now_ms: u64, q: QueueId, out: &mut Vec<Output>) {
        self.expire(now_ms, q, out);
        while !self.queues[q as usize].ready.is_empty() {
            let Some(consumer) = self.next_consumer(q) else {
                break;
            };
            let (position, ready) = self.pop_first(q);
            self.deliver(now_ms, q, consumer, position, ready, out);
        }
    }

    /// Whether a subscription may take one more delivery.
    fn has_room(&self, sub: &Subscription) -> bool {
        let bound = if sub.auto_ack && self.mode == QueueMode::Rabbitmq {
            sub.window
        } else {
            sub.prefetch
        };
        bound == 0 || sub.in_flight < bound
    }

    /// The next consumer in round-robin order that has room.
    fn next_consumer(&mut self, q: QueueId) -> Option<ClientId> {
        let state = &self.queues[q as usize];
        let n = state.consumers.len() as u32;
        for i in 0..n {
            let idx = (state.cursor + i) % n;
            let c = state.consumers[idx as usize];
            if self.has_room(&self.subs[&c]) {
                self.queues[q as usize].cursor = (idx + 1) % n;
                return Some(c);
            }
        }
        None
    }

    /// A push to a subscribed consumer.
    fn deliver(
        &mut self,
        now_ms: u64,
        q: QueueId,
        consumer: ClientId,
        position: u64,
        ready: Ready,
        out: &mut Vec<Output>,
    ) {
        let sub = self.subs[&consumer];
        assert!(self.has_room(&sub), "prefetch exceeded");
        self.subs.get_mut(&consumer).expect("subscribed").in_flight += 1;
        let delivery = self.delivery(q, ready);
        out.push(Output::Deliver {
            to: consumer,
            delivery,
        });
        let to = (consumer, sub.generation, sub.auto_ack);
        self.hand_over(now_ms, to, position, delivery, ready, out);
    }

    /// The delivery a consumer sees for `ready`, with a fresh tag.
    fn delivery(&mut self, q: QueueId, ready: Ready) -> Delivery {
        let tag = DeliveryTag {
            incarnation: self.incarnation,
            n: self.next_tag,
        };
        self.next_tag += 1;
        let quorum = self.queues_cfg[q as usize].kind == QueueKind::Quorum;
        Delivery {
            tag,
            queue: q,
            msg: ready.msg,
            redelivered: ready.redelivered,
            delivery_count: ready.delivery_count + 1,
            x_delivery_count: (quorum && self.mode == QueueMode::Rabbitmq)
                .then_some(ready.delivery_count),
            death: ready.death,
        }
    }

    /// After a delivery went out: auto-ack forgets the message, manual ack
    /// keeps it unacked (and SQS starts its visibility timeout).
    fn hand_over(
        &mut self,
        now_ms: u64,
        (consumer, generation, auto_ack): (ClientId, u64, bool),
        position: u64,
        delivery: Delivery,
        ready: Ready,
        out: &mut Vec<Output>,
    ) {
        let q = delivery.queue;
        if auto_ack {
            // no_ack: the broker forgets the message the moment it sends it.
            self.stats.deleted += 1;
            out.push(Output::Note(Note::Deleted {
                msg: ready.msg.id,
                queue: q,
            }));
            return;
        }
        let visible_at_ms = self.queues_cfg[q as usize]
            .visibility_timeout_ms
            .map(|v| now_ms + v);
        let u = Unacked {
            queue: q,
            consumer,
            generation,
            position,
            ready: Ready {
                delivery_count: delivery.delivery_count,
                ..ready
            },
            visible_at_ms,
        };
        self.unacked.insert(delivery.tag.n, u);
        self.queues[q as usize].unacked += 1;
        if let Some(at) = visible_at_ms {
            self.deadlines.insert((at, delivery.tag.n));
            self.arm_wake(out);
        }
    }

    /// The broker process dies. Everything in memory is gone except the
    /// persistent messages of durable queues, which the restart recovers:
    /// unacked ones go back to their place, marked `redelivered`.
    pub fn crash(&mut self, out: &mut Vec<Output>) {
        assert!(self.up, "crash of a crashed broker");
        let mut kept: Vec<BTreeMap<u64, Ready>> = vec![BTreeMap::new(); self.queues.len()];
        let mut lost = 0;
        let survives = |cfg: &QueueConfig, r: &Ready| cfg.durable && r.persistent;
        for (q, state) in self.queues.iter().enumerate() {
            for (&position, r) in &state.ready {
                if survives(&self.queues_cfg[q], r) {
                    kept[q].insert(position, *r);
                } else {
                    lost += 1;
                    out.push(Output::Note(Note::LostInCrash {
                        msg: r.msg.id,
                        queue: q as QueueId,
                    }));
                }
            }
        }
        for u in self.unacked.values() {
            if survives(&self.queues_cfg[u.queue as usize], &u.ready) {
                let ready = Ready {
                    redelivered: true,
                    ..u.ready
                };
                kept[u.queue as usize].insert(u.position, ready);
            } else {
                lost += 1;
                out.push(Output::Note(Note::LostInCrash {
                    msg: u.ready.msg.id,
                    queue: u.queue,
                }));
            }
        }
        self.stats.lost_in_crash += lost;
        self.queues = kept
            .into_iter()
            .map(|ready| QueueState {
                ready_bytes: ready.values().map(|r| u64::from(r.msg.payload_bytes)).sum(),
                ready,
                ..QueueState::default()
            })
            .collect();
        // The dedup windows were memory too.
        self.fifo
            .iter_mut()
            .flatten()
            .for_each(|w| *w = DedupWindow::default());
        self.subs.clear();
        self.unacked.clear();
        self.channel_first_tag.clear();
        self.deadlines.clear();
        self.wake_armed_ms = None;
        self.up = false;
    }

    /// Comes back with the declared queues and what durable ones kept.
    pub fn restart(&mut self) {
        assert!(!self.up, "restart of a running broker");
        self.up = true;
        self.incarnation += 1;
    }

    /// Messages the broker holds right now: (queue, message), ready then unacked.
    pub fn held(&self) -> Vec<(QueueId, MsgId)> {
        let mut held = Vec::new();
        for (q, s) in self.queues.iter().enumerate() {
            held.extend(s.ready.values().map(|r| (q as QueueId, r.msg.id)));
        }
        held.extend(self.unacked.values().map(|u| (u.queue, u.ready.msg.id)));
        held
    }

    pub fn queue_names(&self) -> Vec<String> {
        self.queues_cfg.iter().map(|c| c.name.clone()).collect()
    }

    pub fn queue_views(&self) -> Vec<super::QueueView> {
        let mut views: Vec<QueueView> = self
            .queues_cfg
            .iter()
            .zip(&self.queues)
            .map(|(cfg, s)| QueueView {
                name: cfg.name.clone(),
                ready: s.ready.values().map(|r| r.msg.id).collect(),
                unacked: Vec::new(),
                consumers: s.consumers.clone(),
            })
            .collect();
        for u in self.unacked.values() {
            views[u.queue as usize].unacked.push(u.ready.msg.id);
        }
        views
    }

    /// Cheap structural invariants, checked after every request (kept in release).
    fn assert_invariants(&self) {
        let unacked: u64 = self.queues.iter().map(|s| s.unacked).sum();
        assert_eq!(
            unacked,
            self.unacked.len() as u64,
            "unacked counters drifted"
        );
        for (q, s) in self.queues.iter().enumerate() {
            let cfg = &self.queues_cfg[q];
            assert!(
                s.ready.len() as u64 + s.unacked <= cfg.depth_max,
                "queue {} over limits.queue_depth_max",
                cfg.name
            );
        }
        if self.mode == QueueMode::Rabbitmq {
            assert!(
                self.deadlines.is_empty(),
                "rabbitmq mode has no visibility deadlines"
            );
        }
    }
}
