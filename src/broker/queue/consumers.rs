//! Consumers: each client's `basic.consume` (its queue, `prefetch`, ack
//! mode), each queue's consumers in subscription order, and the
//! round-robin cursor that picks who is offered the next message.
//!
//! A consumer is offered a message only while it has room: a manual-ack
//! consumer holds at most `prefetch` unacked deliveries (0 = unlimited);
//! an auto-ack consumer is not held to `prefetch` in RabbitMQ mode, only to
//! its receive window (TCP flow control).

use crate::broker::{ClientId, QueueId};
use crate::config::QueueMode;
use std::collections::BTreeMap;

/// A consumer's `basic.consume` on one queue.
#[derive(Clone, Copy, Debug)]
pub(super) struct Subscription {
    /// The queue it consumes from.
    pub(super) queue: QueueId,
    /// Manual ack: the most unacked deliveries (0 = unlimited).
    pub(super) prefetch: u32,
    /// Auto-ack (RabbitMQ mode): the most deliveries not yet credited back (0 = unlimited).
    pub(super) window: u32,
    /// Unacked deliveries (or, for auto-ack, deliveries not yet credited
    /// back). At most the bound above, except after a live `basic.qos`
    /// lowered it: deliveries already sent are not taken back, and none are
    /// sent until `in_flight` drops below it.
    pub(super) in_flight: u32,
    /// `no_ack`: the broker forgets a message as it sends it.
    pub(super) auto_ack: bool,
    /// Grows with every subscription, so a return that belongs to an older
    /// subscription of the same consumer does not touch this one's counter.
    pub(super) generation: u64,
}

/// One queue's consumers.
#[derive(Clone, Debug, Default)]
struct QueueConsumers {
    /// Subscribed consumers in subscription order. Bound: clients in the scenario.
    consumers: Vec<ClientId>,
    /// Round-robin cursor into `consumers`: who is offered the next message.
    cursor: u32,
    /// Whether the only consumer asked for `exclusive`.
    exclusive: bool,
}

/// Every subscription, and each queue's consumers.
#[derive(Clone, Debug)]
pub(super) struct Consumers {
    /// RabbitMQ or SQS: whether auto-ack consumers are held to their window
    /// or to `prefetch`.
    mode: QueueMode,
    /// Per client. Bound: clients in the scenario.
    subs: BTreeMap<ClientId, Subscription>,
    /// Per queue, by [`QueueId`].
    queues: Vec<QueueConsumers>,
    /// The last generation handed out (see [`Subscription::generation`]).
    next_generation: u64,
}

impl Consumers {
    /// No consumers yet on `queues` queues.
    pub(super) fn new(mode: QueueMode, queues: usize) -> Consumers {
        Consumers {
            mode,
            subs: BTreeMap::new(),
            queues: vec![QueueConsumers::default(); queues],
            next_generation: 0,
        }
    }

    /// `from`'s subscription, if it has one.
    pub(super) fn get(&self, from: ClientId) -> Option<&Subscription> {
        self.subs.get(&from)
    }

    /// `from`'s subscription, to change.
    pub(super) fn get_mut(&mut self, from: ClientId) -> Option<&mut Subscription> {
        self.subs.get_mut(&from)
    }

    /// Subscribes `from` with `sub`, or refuses (false) because the queue
    /// has an exclusive consumer or `exclusive` was asked of a queue that
    /// has consumers.
    pub(super) fn subscribe(
        &mut self,
        from: ClientId,
        mut sub: Subscription,
        exclusive: bool,
    ) -> bool {
        let q = &mut self.queues[sub.queue as usize];
        if q.exclusive || (exclusive && !q.consumers.is_empty()) {
            return false;
        }
        q.exclusive = exclusive;
        q.consumers.push(from);
        self.next_generation += 1;
        sub.generation = self.next_generation;
        self.subs.insert(from, sub);
        true
    }

    /// `from` stops consuming (`basic.cancel`, or its channel closed); its
    /// subscription, if it had one.
    pub(super) fn unsubscribe(&mut self, from: ClientId) -> Option<Subscription> {
        let sub = self.subs.remove(&from)?;
        let q = &mut self.queues[sub.queue as usize];
        q.consumers.retain(|&c| c != from);
        q.exclusive = false;
        q.cursor = 0;
        Some(sub)
    }

    /// Whether a subscription may take one more delivery.
    pub(super) fn has_room(&self, sub: &Subscription) -> bool {
        let bound = if sub.auto_ack && self.mode == QueueMode::Rabbitmq {
            sub.window
        } else {
            sub.prefetch
        };
        bound == 0 || sub.in_flight < bound
    }

    /// The next consumer of `q` in round-robin order that has room; the
    /// cursor moves past it.
    pub(super) fn next_consumer(&mut self, q: QueueId) -> Option<ClientId> {
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

    /// One delivery went out to `consumer`: it holds one more.
    pub(super) fn take_room(&mut self, consumer: ClientId) {
        let sub = self.subs.get_mut(&consumer).expect("subscribed");
        sub.in_flight += 1;
    }

    /// A delivery of `consumer`'s subscription `generation` was settled or
    /// returned: it has room for one more (an older subscription's delivery
    /// frees nothing).
    pub(super) fn release(&mut self, consumer: ClientId, generation: u64) {
        if let Some(sub) = self.subs.get_mut(&consumer) {
            if sub.generation == generation {
                assert!(sub.in_flight > 0, "credit released twice");
                sub.in_flight -= 1;
            }
        }
    }

    /// `queue`'s consumers in subscription order (for views).
    pub(super) fn of_queue(&self, q: QueueId) -> &[ClientId] {
        &self.queues[q as usize].consumers
    }

    /// A crash: every subscription is gone.
    pub(super) fn clear(&mut self) {
        self.subs.clear();
        self.queues
            .iter_mut()
            .for_each(|q| *q = QueueConsumers::default());
    }
}
