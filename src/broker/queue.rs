//! The in-memory queue broker: RabbitMQ (AMQP 0-9-1) semantics, or SQS semantics
//! when `mode = "sqs"`.
//!
//! What it models, and why each piece matters for a learner:
//!
//! - **Queues hold messages in memory only.** [`QueueBroker::crash`] loses every
//!   ready and unacked message; a restart brings the queue *definitions* back
//!   (as if they were durable) but no messages (as if they were transient).
//! - **Round-robin dispatch** among a queue's consumers, skipping any consumer
//!   that already holds `prefetch` unacked deliveries (`basic.qos`). A slow
//!   consumer therefore still gets every n-th message, which is where
//!   out-of-order processing comes from.
//! - **Ack deletes.** Until the ack, the message is *unacked*: not in the ready
//!   list, not deleted either.
//! - **Returns.** `basic.nack(requeue=true)` and a closed channel (RabbitMQ) or an
//!   expired `visibility timeout` (SQS) put the message back *at its original
//!   position*: each message keeps the position it got at enqueue time, and the
//!   ready list is ordered by that position.
//! - **Delivery limit.** With `x-delivery-limit` / `maxReceiveCount` = n, a message
//!   that comes back after its n-th delivery is dead-lettered instead.
//!
//! Simplifications (said here and in the UI): delivery tags are per broker, not
//! per channel; the `x-consistent-hash` exchange hashes the routing key modulo the
//! number of bindings instead of walking a hash ring; SQS is modelled as push
//! with `prefetch` as the number of messages a consumer may have in flight.

use super::dedup::DedupWindow;
use super::{
    ClientId, DeadLetterReason, Delivery, DeliveryTag, KeyId, Message, MsgId, Note, Output,
    QueueId, QueueView, Request, ReturnReason, Target,
};
use crate::config::{ExchangeKind, QueueBrokerSpec, QueueMode};
use std::collections::{BTreeMap, BTreeSet};

/// A declared queue's settings (not its contents).
#[derive(Clone, Debug)]
struct QueueConfig {
    name: String,
    visibility_timeout_ms: Option<u64>,
    delivery_limit: Option<u32>,
    dead_letter: Option<QueueId>,
    /// `x-max-length`: bound on ready + unacked messages in this queue.
    max_length: u64,
}

#[derive(Clone, Debug)]
struct ExchangeConfig {
    kind: ExchangeKind,
    /// (queue, binding key). The key is only used by `direct` exchanges.
    bindings: Vec<(QueueId, Option<KeyId>)>,
}

/// A message waiting in a queue.
#[derive(Clone, Copy, Debug)]
struct Ready {
    msg: Message,
    /// Deliveries so far; > 0 means the next delivery is a redelivery.
    delivery_count: u32,
}

/// A message delivered and not yet acked.
#[derive(Clone, Copy, Debug)]
struct Unacked {
    queue: QueueId,
    consumer: ClientId,
    /// Which subscription of that consumer it was delivered on (see
    /// [`Subscription::generation`]).
    generation: u64,
    /// The queue position it returns to.
    position: u64,
    msg: Message,
    delivery_count: u32,
    /// SQS only: when it becomes visible again.
    visible_at_ms: Option<u64>,
}

/// One queue's contents.
#[derive(Clone, Debug, Default)]
struct QueueState {
    /// Ready messages keyed by their enqueue position, so a requeued message
    /// slots back into its original place. Bound: `max_length`.
    ready: BTreeMap<u64, Ready>,
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
    prefetch: u32,
    /// Unacked deliveries (or, for auto-ack, deliveries not yet credited back).
    /// Invariant: `in_flight <= prefetch`, except after a live `basic.qos`
    /// lowered `prefetch`: deliveries already sent are not taken back, and
    /// none are sent until `in_flight` drops below it.
    in_flight: u32,
    auto_ack: bool,
    /// Grows with every subscription, so a return that belongs to an older
    /// subscription of the same consumer does not touch this one's counter.
    generation: u64,
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
    /// The hash of a key interned mid-run; keys only ever grow at the end.
    pub fn add_key_hash(&mut self, hash: u64) {
        self.key_hashes.push(hash);
    }

    pub fn from_spec(
        spec: &QueueBrokerSpec,
        key_of: &dyn Fn(&str) -> Option<KeyId>,
        key_hashes: Vec<u64>,
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
                visibility_timeout_ms: q.visibility_timeout_ms,
                delivery_limit: q.delivery_limit,
                dead_letter: q.dead_letter_queue.as_deref().map(index),
                max_length: q.max_length.unwrap_or(queue_depth_max),
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
                    .map(|b| (index(&b.queue), b.routing_key.as_deref().and_then(key_of)))
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
            key_hashes,
            up: true,
            incarnation: 0,
            queues,
            subs: BTreeMap::new(),
            unacked: BTreeMap::new(),
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
            } => self.publish(now_ms, from, target, msg, confirm, out),
            Request::Consume {
                queue,
                prefetch,
                auto_ack,
                exclusive,
            } => self.consume(now_ms, from, queue, prefetch, auto_ack, exclusive, out),
            Request::Ack { tag } => self.ack(now_ms, from, tag, out),
            Request::Nack { tag, requeue } => self.nack(now_ms, from, tag, requeue, out),
            Request::Credit => self.credit(now_ms, from, out),
            Request::Qos { prefetch } => self.qos(now_ms, from, prefetch, out),
            Request::ChannelClosed => self.channel_closed(now_ms, from, out),
            Request::Log(_) => unreachable!("queue clients send queue requests"),
        }
        self.assert_invariants();
    }

    fn publish(
        &mut self,
        now_ms: u64,
        from: ClientId,
        target: Target,
        msg: Message,
        confirm: bool,
        out: &mut Vec<Output>,
    ) {
        let mut accepted = true;
        let mut routed = false;
        match target {
            Target::Queue(q) => {
                routed = true;
                if !self.fifo_duplicate(now_ms, q, msg, out) {
                    accepted = self.enqueue(q, msg, 0, out);
                }
                self.dispatch(now_ms, q, out);
            }
            Target::Exchange(x) => {
                let targets = self.route(x, msg.key);
                for q in targets {
                    routed = true;
                    if self.fifo_duplicate(now_ms, q, msg, out) {
                        continue;
                    }
                    accepted &= self.enqueue(q, msg, 0, out);
                    self.dispatch(now_ms, q, out);
                }
            }
        }
        if !routed {
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
            ExchangeKind::Fanout => ex.bindings.iter().map(|b| b.0).collect(),
            ExchangeKind::Direct => ex
                .bindings
                .iter()
                .filter(|b| b.1.is_some() && b.1 == key)
                .map(|b| b.0)
                .collect(),
            ExchangeKind::ConsistentHash => {
                let hash = key.map_or(0, |k| self.key_hashes[k as usize]);
                let n = ex.bindings.len() as u64;
                vec![ex.bindings[(hash % n) as usize].0]
            }
        }
    }

    /// Appends to the tail of queue `q`. False if `x-max-length` refused it.
    fn enqueue(
        &mut self,
        q: QueueId,
        msg: Message,
        delivery_count: u32,
        out: &mut Vec<Output>,
    ) -> bool {
        let depth = self.depth(q);
        let cfg = &self.queues_cfg[q as usize];
        if depth >= cfg.max_length {
            self.stats.dropped += 1;
            out.push(Output::Note(Note::RejectedPublish {
                msg: msg.id,
                queue: q,
            }));
            return false;
        }
        let position = self.next_position;
        self.next_position += 1;
        self.queues[q as usize].ready.insert(
            position,
            Ready {
                msg,
                delivery_count,
            },
        );
        self.stats.enqueued += 1;
        out.push(Output::Note(Note::Enqueued {
            msg: msg.id,
            queue: q,
        }));
        true
    }

    fn depth(&self, q: QueueId) -> u64 {
        let s = &self.queues[q as usize];
        s.ready.len() as u64 + s.unacked
    }

    #[allow(clippy::too_many_arguments)]
    fn consume(
        &mut self,
        now_ms: u64,
        from: ClientId,
        queue: QueueId,
        prefetch: u32,
        auto_ack: bool,
        exclusive: bool,
        out: &mut Vec<Output>,
    ) {
        assert!(prefetch > 0, "validated: prefetch is positive");
        if self.subs.contains_key(&from) {
            // A second basic.consume on a new connection: the old channel is gone.
            self.channel_closed(now_ms, from, out);
        }
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
        let sub = Subscription {
            queue,
            prefetch,
            in_flight: 0,
            auto_ack,
            generation: self.next_generation,
        };
        self.subs.insert(from, sub);
        self.dispatch(now_ms, queue, out);
    }

    /// Removes an unacked delivery if `from` may settle it; notes a stale tag otherwise.
    fn take_unacked(
        &mut self,
        from: ClientId,
        tag: DeliveryTag,
        out: &mut Vec<Output>,
    ) -> Option<Unacked> {
        let found = if tag.incarnation == self.incarnation {
            self.unacked.get(&tag.n)
        } else {
            None
        };
        match found {
            Some(u) if u.consumer == from => {}
            _ => {
                out.push(Output::Note(Note::StaleAck { tag }));
                return None;
            }
        }
        let u = self.unacked.remove(&tag.n).expect("checked above");
        if let Some(at) = u.visible_at_ms {
            self.deadlines.remove(&(at, tag.n));
        }
        self.queues[u.queue as usize].unacked -= 1;
        self.release_credit(u.consumer, u.generation);
        Some(u)
    }

    fn release_credit(&mut self, consumer: ClientId, generation: u64) {
        if let Some(sub) = self.subs.get_mut(&consumer) {
            if sub.generation == generation {
                assert!(sub.in_flight > 0, "credit released twice");
                sub.in_flight -= 1;
            }
        }
    }

    fn ack(&mut self, now_ms: u64, from: ClientId, tag: DeliveryTag, out: &mut Vec<Output>) {
        if let Some(u) = self.take_unacked(from, tag, out) {
            self.stats.deleted += 1;
            out.push(Output::Note(Note::Deleted {
                msg: u.msg.id,
                queue: u.queue,
            }));
            self.dispatch(now_ms, u.queue, out);
        }
    }

    fn nack(
        &mut self,
        now_ms: u64,
        from: ClientId,
        tag: DeliveryTag,
        requeue: bool,
        out: &mut Vec<Output>,
    ) {
        if let Some(u) = self.take_unacked(from, tag, out) {
            if requeue {
                self.give_back(u, ReturnReason::Nack, out);
            } else {
                self.dead_letter(u.queue, u.msg, DeadLetterReason::Rejected, out);
            }
            self.dispatch_all(now_ms, out);
        }
    }

    /// `basic.qos` on an open channel: the new prefetch bounds the next
    /// dispatch (a raised one lets more through right away). Without a
    /// subscription (the channel died on the way) there is nothing to change:
    /// the next `basic.consume` carries the consumer's new prefetch anyway.
    fn qos(&mut self, now_ms: u64, from: ClientId, prefetch: u32, out: &mut Vec<Output>) {
        assert!(prefetch > 0, "validated: prefetch is positive");
        let Some(sub) = self.subs.get_mut(&from) else {
            return;
        };
        sub.prefetch = prefetch;
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

    /// RabbitMQ: every unacked delivery on the channel is requeued.
    /// SQS: there is no channel; in-flight messages wait for their timeout.
    fn channel_closed(&mut self, now_ms: u64, from: ClientId, out: &mut Vec<Output>) {
        let Some(sub) = self.subs.remove(&from) else {
            return;
        };
        let state = &mut self.queues[sub.queue as usize];
        state.consumers.retain(|&c| c != from);
        state.exclusive = false;
        state.cursor = 0;
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
                self.give_back(u, ReturnReason::ChannelClosed(from), out);
            }
        }
        self.dispatch_all(now_ms, out);
    }

    /// Puts a delivered message back at its original position, or dead-letters
    /// it if it has used up its delivery limit.
    fn give_back(&mut self, u: Unacked, reason: ReturnReason, out: &mut Vec<Output>) {
        let cfg = &self.queues_cfg[u.queue as usize];
        if cfg
            .delivery_limit
            .is_some_and(|limit| u.delivery_count >= limit)
        {
            self.dead_letter(u.queue, u.msg, DeadLetterReason::DeliveryLimit, out);
            return;
        }
        let ready = Ready {
            msg: u.msg,
            delivery_count: u.delivery_count,
        };
        let previous = self.queues[u.queue as usize]
            .ready
            .insert(u.position, ready);
        assert!(previous.is_none(), "two messages at one queue position");
        out.push(Output::Note(Note::Requeued {
            msg: u.msg.id,
            queue: u.queue,
            reason,
        }));
    }

    fn dead_letter(
        &mut self,
        from: QueueId,
        msg: Message,
        reason: DeadLetterReason,
        out: &mut Vec<Output>,
    ) {
        let to = self.queues_cfg[from as usize].dead_letter;
        self.stats.dead_lettered += 1;
        out.push(Output::Note(Note::DeadLettered {
            msg: msg.id,
            from,
            to,
            reason,
        }));
        // Delivery count restarts in the dead-letter queue: it is a new queue.
        let kept = to.is_some_and(|dlq| self.enqueue(dlq, msg, 0, out));
        if !kept {
            self.stats.dropped += 1;
        }
    }

    /// Visibility timeouts (SQS). Safe to call at any time.
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
            self.give_back(u, ReturnReason::VisibilityTimeout, out);
        }
        self.dispatch_all(now_ms, out);
        self.arm_wake(out);
        self.assert_invariants();
    }

    fn arm_wake(&mut self, out: &mut Vec<Output>) {
        if let Some(&(at, _)) = self.deadlines.first() {
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

    /// Hands ready messages to consumers with free prefetch, round-robin.
    /// Bounded: each iteration removes one ready message.
    fn dispatch(&mut self, now_ms: u64, q: QueueId, out: &mut Vec<Output>) {
        while !self.queues[q as usize].ready.is_empty() {
            let Some(consumer) = self.next_consumer(q) else {
                break;
            };
            let (position, ready) = self.queues[q as usize]
                .ready
                .pop_first()
                .expect("not empty");
            self.deliver(now_ms, q, consumer, position, ready, out);
        }
    }

    /// The next consumer in round-robin order that has prefetch room.
    fn next_consumer(&mut self, q: QueueId) -> Option<ClientId> {
        let state = &self.queues[q as usize];
        let n = state.consumers.len() as u32;
        for i in 0..n {
            let idx = (state.cursor + i) % n;
            let c = state.consumers[idx as usize];
            let sub = &self.subs[&c];
            if sub.in_flight < sub.prefetch {
                self.queues[q as usize].cursor = (idx + 1) % n;
                return Some(c);
            }
        }
        None
    }

    fn deliver(
        &mut self,
        now_ms: u64,
        q: QueueId,
        consumer: ClientId,
        position: u64,
        ready: Ready,
        out: &mut Vec<Output>,
    ) {
        let tag = DeliveryTag {
            incarnation: self.incarnation,
            n: self.next_tag,
        };
        self.next_tag += 1;
        let delivery_count = ready.delivery_count + 1;
        let sub = self
            .subs
            .get_mut(&consumer)
            .expect("chosen from subscribers");
        sub.in_flight += 1;
        assert!(sub.in_flight <= sub.prefetch, "prefetch exceeded");
        let delivery = Delivery {
            tag,
            queue: q,
            msg: ready.msg,
            redelivered: ready.delivery_count > 0,
            delivery_count,
        };
        out.push(Output::Deliver {
            to: consumer,
            delivery,
        });
        if sub.auto_ack {
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
        let generation = sub.generation;
        let u = Unacked {
            queue: q,
            consumer,
            generation,
            position,
            msg: ready.msg,
            delivery_count,
            visible_at_ms,
        };
        self.unacked.insert(tag.n, u);
        self.queues[q as usize].unacked += 1;
        if let Some(at) = visible_at_ms {
            self.deadlines.insert((at, tag.n));
            self.arm_wake(out);
        }
    }

    /// The broker process dies: everything in memory is gone.
    pub fn crash(&mut self, out: &mut Vec<Output>) {
        assert!(self.up, "crash of a crashed broker");
        for (q, state) in self.queues.iter().enumerate() {
            for r in state.ready.values() {
                out.push(Output::Note(Note::LostInCrash {
                    msg: r.msg.id,
                    queue: q as QueueId,
                }));
            }
        }
        for u in self.unacked.values() {
            out.push(Output::Note(Note::LostInCrash {
                msg: u.msg.id,
                queue: u.queue,
            }));
        }
        let lost = self
            .queues
            .iter()
            .map(|s| s.ready.len() as u64 + s.unacked)
            .sum::<u64>();
        self.stats.lost_in_crash += lost;
        self.queues = vec![QueueState::default(); self.queues_cfg.len()];
        // The dedup windows were memory too.
        self.fifo
            .iter_mut()
            .flatten()
            .for_each(|w| *w = DedupWindow::default());
        self.subs.clear();
        self.unacked.clear();
        self.deadlines.clear();
        self.wake_armed_ms = None;
        self.up = false;
    }

    /// Comes back with the declared queues and no messages.
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
        held.extend(self.unacked.values().map(|u| (u.queue, u.msg.id)));
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
            views[u.queue as usize].unacked.push(u.msg.id);
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
            assert!(
                s.ready.len() as u64 + s.unacked <= self.queues_cfg[q].max_length,
                "queue {} over x-max-length",
                self.queues_cfg[q].name
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
