//! The live checker: the batch checkers' summary, kept up to date as the
//! history grows.
//!
//! The page shows the checker's counts and verdict while a run plays. The
//! batch checkers ([`super::check`], [`super::log::check`] and
//! [`super::txn_history::apply`]) read the whole history on every call, so
//! their cost grows with the run (about 10 ms per virtual second at 10k
//! msgs/s) and a refresh late in a run took a whole frame or more. A
//! [`LiveChecker`] keeps what it learned and reads only the events appended
//! since its last call:
//!
//! - **facts** (per message: who published it, its outcome, who processed
//!   it, where it was appended...) are the batch checker's own, fed one event
//!   at a time by the same code;
//! - **buckets**: each message's place in the count reconciliation is kept
//!   and swapped only when the message changes: an event names it, its
//!   "still in the world" (pending) state changes, or (log) a later offset of
//!   its partition gets processed;
//! - **findings** are kept as ordered sets of message ids per kind; the
//!   first [`super::FINDINGS_PER_KIND_MAX`] of each are told when the summary
//!   is asked for, from the facts as they are then, which is what the batch
//!   checker would tell.
//!
//! The summary is exactly the batch checker's, field for field: the native
//! test `tests/live_checker.rs` feeds runs of every broker and guarantee,
//! with faults, in random-sized chunks and compares every intermediate
//! summary with the batch one.
//!
//! ## Pending, cheaply
//! Whether a message is still in the world (in the broker, on a link, in a
//! consumer's hands) matters only for messages nobody processed yet, and
//! (log) only for those without an acknowledgment. [`LiveChecker::wanted`]
//! lists them, and the world answers for those alone
//! ([`crate::world::World::live_summary`]).

use super::{finish, FINDINGS_PER_KIND_MAX};
use super::{gather_event, msg_finding, Bucket, Facts, Order, Snapshot, Summary};
use crate::broker::log::LogNote;
use crate::broker::{ClientId, MsgId, Note};
use crate::config::Expectations;
use crate::history::{Entry, History, HistoryEvent, LogEntry, Names};
use std::collections::BTreeSet;

/// The live checker of one run (see the module notes).
pub struct LiveChecker {
    /// History events already read.
    consumed: usize,
    model: Model,
}

enum Model {
    Queue(Box<QueueLive>),
    Log(Box<super::log::Live>),
}

impl LiveChecker {
    /// For a queue-broker run.
    pub fn queue() -> LiveChecker {
        LiveChecker {
            consumed: 0,
            model: Model::Queue(Box::new(QueueLive::new())),
        }
    }

    /// For a log-broker run; `read_committed` as for [`super::log::check`].
    pub fn log(read_committed: BTreeSet<ClientId>) -> LiveChecker {
        LiveChecker {
            consumed: 0,
            model: Model::Log(Box::new(super::log::Live::new(read_committed))),
        }
    }

    /// A copy of this checker as it stands, for a timeline checkpoint. The
    /// queue model's per-message tables are shared with the copy (see
    /// `shared.rs`); the log model's are copied whole, so a log run's
    /// checkpoints grow with it and the limits space them out sooner.
    /// Always `Some` today.
    pub fn checkpoint(&self) -> Option<LiveChecker> {
        match &self.model {
            Model::Queue(q) => Some(LiveChecker {
                consumed: self.consumed,
                model: Model::Queue(q.clone()),
            }),
            Model::Log(l) => Some(LiveChecker {
                consumed: self.consumed,
                model: Model::Log(l.clone()),
            }),
        }
    }

    /// Reads the events appended since the last call. `drained` as for
    /// [`super::log::check`] (queue runs ignore it).
    pub fn consume(&mut self, history: &History, names: &Names, drained: bool) {
        let events = history.events();
        assert!(self.consumed <= events.len(), "the history only grows");
        for ev in events.iter_from(self.consumed) {
            match &mut self.model {
                Model::Queue(q) => q.consume(ev),
                Model::Log(l) => l.consume(ev, names),
            }
        }
        self.consumed = events.len();
        if let Model::Log(l) = &mut self.model {
            l.set_drained(drained);
        }
    }

    /// The messages whose pending state the next [`LiveChecker::summary`]
    /// needs: the snapshot may leave every other message out.
    pub fn wanted(&self) -> &BTreeSet<MsgId> {
        match &self.model {
            Model::Queue(q) => &q.wanted,
            Model::Log(l) => l.wanted(),
        }
    }

    /// The summary of everything consumed so far, given where unfinished
    /// messages are now (at least those in [`LiveChecker::wanted`]). For a
    /// log run it includes the transactional checks.
    pub fn summary(&mut self, snap: &Snapshot, names: &Names, expect: &Expectations) -> Summary {
        match &mut self.model {
            Model::Queue(q) => q.summary(snap, names, expect),
            Model::Log(l) => l.summary(snap, expect),
        }
    }
}

/// The message an event is about, if any: that message's facts may change.
///
/// Every variant is named, so a new entry or note does not compile until
/// the checker decides whether it changes a message's facts.
pub(super) fn msg_of(entry: &Entry) -> Option<MsgId> {
    match *entry {
        Entry::Publish { msg, .. }
        | Entry::Retry { msg, .. }
        | Entry::AckSent { msg, .. }
        | Entry::NackSent { msg, .. }
        | Entry::Deduplicated { msg } => Some(msg),
        Entry::Process { delivery, .. } | Entry::Deliver { delivery, .. } => Some(delivery.msg.id),
        Entry::NetDrop { msg, .. } => msg,
        Entry::Broker(note) => note_msg(note),
        Entry::Log(e) => log_entry_msg(e),
        // About a process or a link, not a message: whatever the process
        // held shows in the snapshot's pending set.
        Entry::Crash | Entry::Restart | Entry::DropAcks { .. } | Entry::Setting(_) => None,
    }
}

/// The message a log client's entry is about (see [`msg_of`]).
fn log_entry_msg(e: LogEntry) -> Option<MsgId> {
    match e {
        LogEntry::Produced { msg, .. }
        | LogEntry::Read { msg, .. }
        | LogEntry::Process { msg, .. } => Some(msg),
        // Group membership, polls, commits, seeks and producer ids move no
        // message's facts; the reads and processing that follow them do.
        LogEntry::Join { .. }
        | LogEntry::Assigned { .. }
        | LogEntry::Poll { .. }
        | LogEntry::Commit { .. }
        | LogEntry::CommitDone { .. }
        | LogEntry::Seek { .. }
        | LogEntry::Leave { .. }
        | LogEntry::ProducerId { .. } => None,
    }
}

/// The message a broker note is about (see [`msg_of`]).
fn note_msg(note: Note) -> Option<MsgId> {
    match note {
        Note::Enqueued { msg, .. }
        | Note::Deleted { msg, .. }
        | Note::Requeued { msg, .. }
        | Note::DeadLettered { msg, .. }
        | Note::RejectedPublish { msg, .. }
        | Note::Unroutable { msg }
        | Note::DuplicateDropped { msg, .. }
        | Note::LostInCrash { msg, .. }
        | Note::LostFromDisk { msg, .. }
        | Note::Restored { msg, .. }
        | Note::Carried { msg, .. } => Some(msg),
        // A stale ack names a tag the broker no longer holds (nothing
        // changes); a refused consume and a channel error name a consumer
        // (the requeues a channel error causes are notes of their own).
        Note::StaleAck { .. } | Note::ConsumeRefused { .. } | Note::ChannelError { .. } => None,
        Note::Log(n) => log_note_msg(n),
    }
}

/// The message a log-broker note is about (see [`msg_of`]).
fn log_note_msg(n: LogNote) -> Option<MsgId> {
    match n {
        LogNote::Appended { msg, .. }
        | LogNote::DuplicateSequence { msg, .. }
        | LogNote::Carried { msg, .. } => Some(msg),
        // Refused before the append: nothing of the message changed, and
        // the producer's retry is an entry of its own.
        LogNote::SequenceRejected { .. } => None,
        // Ranges of offsets: what they hold moves in the snapshot's pending
        // set, and the counts are per partition.
        LogNote::Durable { .. }
        | LogNote::RetentionDeleted { .. }
        | LogNote::LostInCrash { .. }
        | LogNote::Recovered { .. } => None,
        // Storage and recovery bookkeeping: streams, offsets, producer state.
        LogNote::TornWrite { .. }
        | LogNote::Truncated { .. }
        | LogNote::WritesStopped { .. }
        | LogNote::RecoveredOffset { .. }
        | LogNote::ProducerStateFromLog { .. }
        | LogNote::RecoveredProducer { .. } => None,
        // A resumed partition's acknowledged frontier: offsets, not messages
        // (what it finds gone has no message ids any more).
        LogNote::AckedBefore { .. } => None,
        // Group membership and offsets: the reads that follow count.
        LogNote::Assigned { .. }
        | LogNote::SessionExpired { .. }
        | LogNote::Committed { .. }
        | LogNote::CommitRejected { .. }
        | LogNote::UnstableOffsetCommit { .. }
        | LogNote::Position { .. } => None,
        // Markers are judged by place (see `txn_history`), not by message.
        LogNote::Txn(_) => None,
    }
}

/// Sets `id` in `set` when `on`, else takes it out.
pub(super) fn set_member(set: &mut BTreeSet<MsgId>, id: MsgId, on: bool) {
    if on {
        set.insert(id);
    } else {
        set.remove(&id);
    }
}

/// The queue model, live.
#[derive(Clone)]
struct QueueLive {
    /// The batch checker's facts; its counts also hold the sum of `buckets`.
    f: Facts,
    order: Order,
    /// Each message's bucket as last judged, shared between copies as the
    /// facts are. Bound: messages in the run.
    buckets: super::SharedMap<Bucket>,
    /// Messages per finding kind, in [`Bucket::FINDING_KINDS`] order.
    by_kind: [BTreeSet<MsgId>; 5],
    /// Messages whose bucket may have changed since it was judged.
    dirty: BTreeSet<MsgId>,
    /// The pending messages of the last snapshot (only `wanted` ones).
    pending: BTreeSet<MsgId>,
    /// Published, not yet processed: their bucket depends on the snapshot.
    wanted: BTreeSet<MsgId>,
}

impl QueueLive {
    fn new() -> QueueLive {
        QueueLive {
            f: Facts::new(),
            order: Order::default(),
            buckets: Default::default(),
            by_kind: Default::default(),
            dirty: BTreeSet::new(),
            pending: BTreeSet::new(),
            wanted: BTreeSet::new(),
        }
    }

    fn consume(&mut self, ev: &HistoryEvent) {
        gather_event(&mut self.f, ev);
        if let Some(p) = super::ok_processing(ev) {
            self.order.step(&mut self.f.counts, p);
        }
        if let Some(id) = msg_of(&ev.entry) {
            self.dirty.insert(id);
            let open = self
                .f
                .msgs
                .get(id)
                .is_some_and(|m| (m.producer.is_some() || m.carried) && m.processed.is_empty());
            set_member(&mut self.wanted, id, open);
        }
    }

    fn summary(&mut self, snap: &Snapshot, names: &Names, expect: &Expectations) -> Summary {
        let moved: Vec<MsgId> = self
            .pending
            .symmetric_difference(&snap.pending)
            .copied()
            .collect();
        self.dirty.extend(moved);
        self.pending.clone_from(&snap.pending);
        for id in std::mem::take(&mut self.dirty) {
            self.judge(id);
        }
        let mut listed: Vec<(MsgId, usize)> = Vec::new();
        for (k, ids) in self.by_kind.iter().enumerate() {
            listed.extend(ids.iter().take(FINDINGS_PER_KIND_MAX).map(|id| (*id, k)));
        }
        listed.sort_unstable();
        let f = &self.f;
        let mut findings: Vec<_> = listed
            .into_iter()
            .map(|(id, k)| {
                let kind = Bucket::FINDING_KINDS[k].1;
                msg_finding(kind, id, &f.msgs[&id], &f.crashes, names)
            })
            .collect();
        findings.extend(self.order.findings(f, names));
        finish(&f.counts, &f.notes, snap, expect, findings)
    }

    /// Re-judges one message's bucket and swaps it into the counts.
    fn judge(&mut self, id: MsgId) {
        let new = self.f.msgs.get(id).map_or(Bucket::default(), |m| {
            Bucket::of(m, self.pending.contains(&id))
        });
        let old = self.buckets.insert(id, new).unwrap_or_default();
        if old == new {
            return;
        }
        old.add_to(&mut self.f.counts, -1);
        new.add_to(&mut self.f.counts, 1);
        for (k, (bit, _)) in Bucket::FINDING_KINDS.iter().enumerate() {
            set_member(&mut self.by_kind[k], id, new.0 & bit != 0);
        }
    }
}
