//! Where a message goes when it is not acked: back to its queue
//! (`redelivered`), or, past its delivery limit, rejected or expired, to
//! the queue's dead-letter queue with an `x-death` entry.
//!
//! - A classic queue puts a return back at its *original position*; a
//!   quorum queue (3.10) puts it behind the ready messages.
//! - Quorum `x-delivery-limit` = n: at most n + 1 deliveries
//!   (`x-delivery-count` 0..=n). SQS `maxReceiveCount` = n: n receives.
//! - `x-message-ttl` and the message's own `expiration` (the lower wins): a
//!   message expires when it reaches the head of its queue (one behind a
//!   live message waits, as in RabbitMQ).

use super::channels::Unacked;
use super::queues::Ready;
use super::record::StoreEntry;
use super::QueueBroker;
use crate::broker::{DeadLetterReason, Death, Note, Output, QueueId, ReturnReason};
use crate::config::{QueueKind, QueueMode};

impl QueueBroker {
    /// Puts a delivered message back (classic: at its original position;
    /// quorum: behind the ready ones), or dead-letters it if it has used up
    /// its delivery limit.
    pub(super) fn give_back(
        &mut self,
        now_ms: u64,
        u: Unacked,
        reason: ReturnReason,
        out: &mut Vec<Output>,
    ) {
        let cfg = self.queues.cfg(u.queue);
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
            let why = DeadLetterReason::DeliveryLimit;
            self.dead_letter(now_ms, (u.queue, u.position), u.ready, why, out);
            return;
        }
        let position = if cfg.kind == QueueKind::Quorum {
            let to = self.queues.take_position();
            let entry = StoreEntry::Moved {
                position: u.position,
                to,
            };
            self.store.record(u.queue, u.ready.persistent, entry);
            to
        } else {
            u.position
        };
        let ready = Ready {
            redelivered: true,
            ..u.ready
        };
        self.queues.put(u.queue, position, ready);
        out.push(Output::Note(Note::Requeued {
            msg: ready.msg.id,
            queue: u.queue,
            reason,
        }));
    }

    /// Moves a message that left queue `from` at `position` to the queue's
    /// dead-letter queue with an `x-death` entry, or drops it if there is none.
    pub(super) fn dead_letter(
        &mut self,
        now_ms: u64,
        (from, position): (QueueId, u64),
        ready: Ready,
        reason: DeadLetterReason,
        out: &mut Vec<Output>,
    ) {
        let to = self.queues.cfg(from).dead_letter;
        let entry = StoreEntry::Removed { position };
        self.store.record(from, ready.persistent, entry);
        self.stats.dead_lettered += 1;
        out.push(Output::Note(Note::DeadLettered {
            msg: ready.msg.id,
            from,
            to,
            reason,
        }));
        // Delivery count restarts in the dead-letter queue: it is a new queue.
        // RabbitMQ removes `expiration` (keeping it as `x-death`'s
        // `original-expiration`) so the copy does not expire again at once.
        let copy = Ready {
            delivery_count: 0,
            redelivered: false,
            enqueued_ms: now_ms,
            expiration_ms: None,
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

    /// `x-message-ttl` and `expiration`: dead-letters expired messages at the
    /// head of `q` (a message behind a live one waits, as in RabbitMQ).
    pub(super) fn expire(&mut self, now_ms: u64, q: QueueId, out: &mut Vec<Output>) {
        while self.queues.head_expired(q, now_ms) {
            let (position, head) = self.queues.pop_first(q);
            let why = DeadLetterReason::Expired;
            self.dead_letter(now_ms, (q, position), head, why, out);
            // The dead-letter queue's consumers hear of it at the next tick.
            out.push(Output::WakeAt { at_ms: now_ms });
        }
    }
}
