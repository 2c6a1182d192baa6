//! What the UI, the checker and the tests may ask of the queue broker.

use super::QueueBroker;
use crate::broker::{MsgId, QueueId, QueueView};

/// Counters for the broker-side conservation check (see `check`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueBrokerStats {
    /// Copies that entered a queue (publishes × routed queues, plus dead-letters).
    pub enqueued: u64,
    /// Copies deleted by an ack, a `DeleteMessage` or an auto-ack send.
    pub deleted: u64,
    /// Copies dropped: unroutable, refused by `x-max-length` or the depth
    /// bound, or dead-lettered with nowhere to go.
    pub dropped: u64,
    /// Copies dead-lettered (kept or dropped).
    pub dead_lettered: u64,
    /// Copies a crash lost.
    pub lost_in_crash: u64,
}

impl QueueBroker {
    /// Messages the broker holds right now: (queue, message), ready then unacked.
    pub fn held(&self) -> Vec<(QueueId, MsgId)> {
        let mut held = Vec::new();
        for q in self.queues.ids() {
            held.extend(self.queues.state(q).ready.values().map(|r| (q, r.msg.id)));
        }
        held.extend(self.channels.unacked().map(|u| (u.queue, u.ready.msg.id)));
        held
    }

    /// Per durable queue (by name): the end of its message store's stream
    /// on disk. Every entry below it is durable, so every publisher confirm
    /// the store has sent is for an entry below it: what the page records
    /// outside its database to notice a store that comes back shorter.
    pub fn durable_store_ends(&self) -> Vec<(String, u64)> {
        let ends = self.store.durable_ends();
        ends.map(|(q, end)| (self.queues.cfg(q).name.clone(), end))
            .collect()
    }

    /// Messages held (ready or unacked) that no store keeps: transient
    /// messages, and every message of a transient queue. A crash or a
    /// reload loses them, as a RabbitMQ restart does.
    pub fn held_in_memory_only(&self) -> u64 {
        let ready = self.queues.ids().flat_map(|q| {
            let state = self.queues.state(q).ready.values();
            state.filter(move |r| !self.store.keeps(q, r.persistent))
        });
        let unacked = self
            .channels
            .unacked()
            .filter(|u| !self.store.keeps(u.queue, u.ready.persistent));
        (ready.count() + unacked.count()) as u64
    }

    /// Every queue's name, by [`QueueId`].
    pub fn queue_names(&self) -> Vec<String> {
        self.queues
            .ids()
            .map(|q| self.queues.cfg(q).name.clone())
            .collect()
    }

    /// Every queue's contents and consumers, for the UI.
    pub fn queue_views(&self) -> Vec<QueueView> {
        let mut views: Vec<QueueView> = self
            .queues
            .ids()
            .map(|q| QueueView {
                name: self.queues.cfg(q).name.clone(),
                ready: self
                    .queues
                    .state(q)
                    .ready
                    .values()
                    .map(|r| r.msg.id)
                    .collect(),
                unacked: Vec::new(),
                consumers: self.consumers.of_queue(q).to_vec(),
            })
            .collect();
        for u in self.channels.unacked() {
            views[u.queue as usize].unacked.push(u.ready.msg.id);
        }
        views
    }
}
