//! `basic.publish`: where a message goes, what a full queue does with it,
//! and the publisher confirm.
//!
//! RabbitMQ confirms an unroutable (non-mandatory) message positively, and
//! refuses (`basic.nack`) a message any target queue rejected
//! (`x-overflow = reject-publish`, or the simulation's depth bound).

use super::queues::Ready;
use super::record::StoreEntry;
use super::QueueBroker;
use crate::broker::{
    ClientId, DeadLetterReason, Message, Note, Output, Properties, QueueId, Target,
};
use crate::config::Overflow;

impl QueueBroker {
    /// Routes `msg` to its queues, enqueues a copy in each, pushes what it
    /// can, and confirms when the channel is in confirm mode.
    pub(super) fn publish(
        &mut self,
        now_ms: u64,
        from: ClientId,
        target: Target,
        (msg, props): (Message, Properties),
        confirm: bool,
        out: &mut Vec<Output>,
    ) {
        let targets = match target {
            Target::Queue(q) => vec![q],
            Target::Exchange(x) => self.exchanges.route(x, msg.key, props.headers),
        };
        let mark = self.store.mark();
        let mut accepted = true;
        for &q in &targets {
            if self.fifo_duplicate(now_ms, q, msg, out) {
                continue;
            }
            let ready = Ready::fresh(msg, props, now_ms);
            accepted &= self.enqueue(now_ms, q, ready, out);
            self.dispatch(now_ms, q, out);
        }
        if targets.is_empty() {
            self.stats.dropped += 1;
            out.push(Output::Note(Note::Unroutable { msg: msg.id }));
        }
        if confirm {
            // A persistent message in a durable queue is confirmed once on disk.
            let kept = targets
                .iter()
                .any(|&q| self.store.keeps(q, props.persistent));
            let wait = kept && self.store.mark() > mark;
            self.store.confirm((from, msg.id, accepted), wait, out);
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

    /// Appends to the tail of queue `q`, applying `x-max-length` and the
    /// simulation's depth bound. False if the message was refused.
    pub(super) fn enqueue(
        &mut self,
        now_ms: u64,
        q: QueueId,
        ready: Ready,
        out: &mut Vec<Output>,
    ) -> bool {
        let cfg = self.queues.cfg(q);
        let (depth_max, overflow) = (cfg.depth_max, cfg.overflow);
        if self.queues.depth(q) >= depth_max {
            return self.refuse(q, ready, out);
        }
        if self.queues.over_limit(q, ready.msg.payload_bytes) {
            match overflow {
                Overflow::RejectPublish => return self.refuse(q, ready, out),
                Overflow::RejectPublishDlx => {
                    self.insert(q, ready, out);
                    let (position, ready) = self.queues.pop_last(q);
                    let why = DeadLetterReason::MaxLen;
                    self.dead_letter(now_ms, (q, position), ready, why, out);
                    return false;
                }
                Overflow::DropHead => self.drop_head(now_ms, q, ready.msg.payload_bytes, out),
            }
        }
        self.insert(q, ready, out);
        true
    }

    /// `reject-publish` (or the depth bound): the message is not enqueued.
    fn refuse(&mut self, q: QueueId, ready: Ready, out: &mut Vec<Output>) -> bool {
        self.stats.dropped += 1;
        out.push(Output::Note(Note::RejectedPublish {
            msg: ready.msg.id,
            queue: q,
        }));
        false
    }

    /// Puts `ready` at the tail of `q` and says so.
    fn insert(&mut self, q: QueueId, ready: Ready, out: &mut Vec<Output>) {
        let position = self.queues.push_back(q, ready);
        let entry = StoreEntry::Enqueued { position, ready };
        self.store.record(q, ready.persistent, entry);
        self.stats.enqueued += 1;
        out.push(Output::Note(Note::Enqueued {
            msg: ready.msg.id,
            queue: q,
        }));
    }

    /// `drop-head`: dead-letter the oldest ready messages until `bytes` more fit.
    fn drop_head(&mut self, now_ms: u64, q: QueueId, bytes: u32, out: &mut Vec<Output>) {
        while self.queues.over_limit(q, bytes) && !self.queues.is_empty(q) {
            let (position, head) = self.queues.pop_first(q);
            let why = DeadLetterReason::MaxLen;
            self.dead_letter(now_ms, (q, position), head, why, out);
        }
    }
}
