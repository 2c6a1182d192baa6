//! Settling deliveries: `basic.ack` deletes, `basic.nack` / `basic.reject`
//! return or dead-letter, `multiple` covers every earlier delivery of the
//! channel, a tag the channel does not hold closes it with 406
//! `PRECONDITION_FAILED`, and a closed channel returns what it held.

use super::channels::{TagCheck, Unacked, PRECONDITION_FAILED};
use super::record::StoreEntry;
use super::QueueBroker;
use crate::broker::{ClientId, DeadLetterReason, DeliveryTag, Note, Output, ReturnReason};
use crate::config::QueueMode;

/// How a client settles deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Settle {
    /// `basic.ack`: delete.
    Ack,
    /// `basic.nack` / `basic.reject`: back to the queue, or dead-lettered.
    Nack {
        /// Back to the queue (true) or dead-lettered (false).
        requeue: bool,
    },
}

impl QueueBroker {
    /// `basic.ack` / `basic.nack` / `basic.reject` of `tag` (and, with
    /// `multiple`, of every earlier delivery the channel holds).
    pub(super) fn settle(
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
                    let entry = StoreEntry::Removed {
                        position: u.position,
                    };
                    self.store.record(u.queue, u.ready.persistent, entry);
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
                    let why = DeadLetterReason::Rejected;
                    self.dead_letter(now_ms, (u.queue, u.position), u.ready, why, out);
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
        match self.channels.check(from, tag) {
            TagCheck::Held if multiple => Some(self.channels.held_up_to(from, tag.n)),
            TagCheck::Held => Some(vec![tag.n]),
            // RabbitMQ closes the channel; SQS has none to close.
            TagCheck::Unknown if self.mode == QueueMode::Rabbitmq => {
                self.channel_error(now_ms, from, PRECONDITION_FAILED, out);
                None
            }
            TagCheck::Unknown | TagCheck::Stale => {
                out.push(Output::Note(Note::StaleAck { tag }));
                None
            }
        }
    }

    /// Removes an unacked delivery and frees its consumer's prefetch slot.
    fn take_unacked(&mut self, n: u64) -> Unacked {
        let u = self.channels.take(n);
        self.queues.state_mut(u.queue).unacked -= 1;
        self.consumers.release(u.consumer, u.generation);
        u
    }

    /// The broker closes `from`'s channel: its consumer is gone and its
    /// unacked deliveries are requeued, as when the client closes it.
    pub(super) fn channel_error(
        &mut self,
        now_ms: u64,
        from: ClientId,
        code: u16,
        out: &mut Vec<Output>,
    ) {
        out.push(Output::ChannelError { to: from, code });
        out.push(Output::Note(Note::ChannelError { client: from, code }));
        self.channel_closed(now_ms, from, out);
    }

    /// RabbitMQ: every unacked delivery on the channel is requeued (pushed or
    /// fetched with `basic.get`, before or after a `basic.cancel`).
    /// SQS: there is no channel; in-flight messages wait for their timeout.
    pub(super) fn channel_closed(&mut self, now_ms: u64, from: ClientId, out: &mut Vec<Output>) {
        // Acks still on their way from the closed channel are old ones now.
        self.channels.open(from, now_ms);
        self.consumers.unsubscribe(from);
        if self.mode == QueueMode::Rabbitmq {
            for t in self.channels.held_by(from) {
                let u = self.channels.take(t);
                self.queues.state_mut(u.queue).unacked -= 1;
                self.give_back(now_ms, u, ReturnReason::ChannelClosed(from), out);
            }
        }
        self.dispatch_all(now_ms, out);
    }
}
