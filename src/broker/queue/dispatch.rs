//! Handing messages out: `basic.consume` and the round-robin push to
//! consumers with room, `basic.get`, `basic.cancel`, `basic.qos` and the
//! auto-ack consumer's credit.
//!
//! An SQS FIFO queue hands out the first message whose `MessageGroupId`
//! has nothing in flight, so a group's messages go out one at a time, in
//! order.
//!
//! After a delivery goes out, an auto-ack consumer's message is forgotten
//! at once (`no_ack`); a manual-ack one's is held unacked on the channel
//! until it is settled (and, SQS, until its visibility timeout).

use super::channels::Unacked;
use super::consumers::Subscription;
use super::queues::Ready;
use super::record::StoreEntry;
use super::QueueBroker;
use crate::broker::{ClientId, Delivery, KeyId, Note, Output, QueueId};
use crate::config::{QueueKind, QueueMode};
use std::collections::BTreeSet;

impl QueueBroker {
    /// `basic.consume`: subscribes `from` (refused if the queue has an
    /// exclusive consumer) and pushes what it can.
    pub(super) fn consume(
        &mut self,
        now_ms: u64,
        from: ClientId,
        sub: Subscription,
        exclusive: bool,
        out: &mut Vec<Output>,
    ) {
        if self.consumers.get(from).is_some() {
            // A second basic.consume on a new connection: the old channel is gone.
            self.channel_closed(now_ms, from, out);
        }
        let queue = sub.queue;
        if !self.consumers.subscribe(from, sub, exclusive) {
            out.push(Output::Note(Note::ConsumeRefused {
                consumer: from,
                queue,
            }));
            return;
        }
        self.channels.open(from, now_ms);
        self.dispatch(now_ms, queue, out);
    }

    /// `basic.cancel`: no more pushes; what the channel holds stays unacked.
    pub(super) fn cancel(&mut self, now_ms: u64, from: ClientId, out: &mut Vec<Output>) {
        if let Some(sub) = self.consumers.unsubscribe(from) {
            self.dispatch(now_ms, sub.queue, out);
        }
    }

    /// `basic.get`: the head of the queue, or `get-empty`.
    pub(super) fn get(
        &mut self,
        now_ms: u64,
        from: ClientId,
        q: QueueId,
        auto_ack: bool,
        out: &mut Vec<Output>,
    ) {
        self.channels.used(from, now_ms);
        self.expire(now_ms, q, out);
        let busy = self.busy_groups(q);
        let Some(position) = self.queues.first_eligible(q, busy.as_ref()) else {
            out.push(Output::Got {
                to: from,
                delivery: None,
            });
            return;
        };
        let ready = self.queues.take_at(q, position);
        let delivery = self.delivery(q, ready);
        out.push(Output::Got {
            to: from,
            delivery: Some(delivery),
        });
        self.hand_over(now_ms, (from, 0, auto_ack), position, delivery, ready, out);
    }

    /// `basic.qos` on an open channel: the new prefetch bounds the next
    /// dispatch (a raised one lets more through right away). Without a
    /// subscription (the channel died on the way) there is nothing to change:
    /// the next `basic.consume` carries the consumer's new prefetch anyway.
    /// An auto-ack consumer's receive window follows its prefetch (the
    /// simulated client sizes its buffer by it).
    pub(super) fn qos(
        &mut self,
        now_ms: u64,
        from: ClientId,
        prefetch: u32,
        out: &mut Vec<Output>,
    ) {
        let Some(sub) = self.consumers.get_mut(from) else {
            return;
        };
        sub.prefetch = prefetch;
        if sub.auto_ack && sub.window != 0 {
            sub.window = prefetch;
        }
        let queue = sub.queue;
        self.dispatch(now_ms, queue, out);
    }

    /// An auto-ack consumer read one delivery and has room for another.
    pub(super) fn credit(&mut self, now_ms: u64, from: ClientId, out: &mut Vec<Output>) {
        let Some(sub) = self.consumers.get_mut(from) else {
            return;
        };
        assert!(sub.auto_ack, "only auto-ack consumers send credit");
        // A credit can arrive for a delivery from before a re-subscribe; the
        // counter never goes below zero.
        sub.in_flight = sub.in_flight.saturating_sub(1);
        let queue = sub.queue;
        self.dispatch(now_ms, queue, out);
    }

    /// Pushes what every queue can.
    pub(super) fn dispatch_all(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        for q in self.queues.ids() {
            self.dispatch(now_ms, q, out);
        }
    }

    /// Hands ready messages to consumers with room, round-robin.
    /// Bounded: each iteration removes one ready message.
    pub(super) fn dispatch(&mut self, now_ms: u64, q: QueueId, out: &mut Vec<Output>) {
        self.expire(now_ms, q, out);
        let mut busy = self.busy_groups(q);
        while let Some(position) = self.queues.first_eligible(q, busy.as_ref()) {
            let Some(consumer) = self.consumers.next_consumer(q) else {
                break;
            };
            let ready = self.queues.take_at(q, position);
            if let Some(busy) = &mut busy {
                busy.insert(ready.msg.key);
            }
            self.deliver(now_ms, q, consumer, position, ready, out);
        }
    }

    /// SQS FIFO: the `MessageGroupId`s (keys) of queue `q` with a message in
    /// flight, whose other messages wait. `None` for any other queue.
    /// Bound: the unacked deliveries.
    fn busy_groups(&self, q: QueueId) -> Option<BTreeSet<Option<KeyId>>> {
        if !self.queues.cfg(q).fifo {
            return None;
        }
        let in_flight = self.channels.unacked().filter(|u| u.queue == q);
        let mut busy = BTreeSet::new();
        busy.extend(in_flight.map(|u| u.ready.msg.key));
        Some(busy)
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
        let sub = *self.consumers.get(consumer).expect("subscribed");
        assert!(self.consumers.has_room(&sub), "prefetch exceeded");
        self.consumers.take_room(consumer);
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
        let tag = self.channels.new_tag();
        let quorum = self.queues.cfg(q).kind == QueueKind::Quorum;
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
            let entry = StoreEntry::Removed { position };
            self.store.record(q, ready.persistent, entry);
            self.stats.deleted += 1;
            out.push(Output::Note(Note::Deleted {
                msg: ready.msg.id,
                queue: q,
            }));
            return;
        }
        let visible_at_ms = self.queues.cfg(q).visibility_timeout_ms.map(|v| now_ms + v);
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
            delivered_ms: now_ms,
        };
        let entry = StoreEntry::Delivered {
            position,
            delivery_count: delivery.delivery_count,
        };
        self.store.record(q, ready.persistent, entry);
        self.channels.hold(delivery.tag.n, u);
        self.queues.state_mut(q).unacked += 1;
        if visible_at_ms.is_some() {
            self.arm_wake(out);
        }
    }
}
