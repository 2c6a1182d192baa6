//! The entry types: who did what, in Jepsen's shape (see [`super`]).

use crate::broker::log::{GroupId, LogNote, PartitionId, PartitionSet, Seek};
use crate::broker::txn::TxnNote;
use crate::broker::{ClientId, Delivery, DeliveryTag, KeyId, MsgId, Note};
use crate::node::NodeId;

/// Who did it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proc {
    /// A broker node (its notes, deliveries, crashes and restarts). A
    /// one-node run has only [`NodeId::FIRST`], named `broker`.
    Broker(NodeId),
    /// A producer or consumer, by id (names in [`super::Names`]).
    Client(ClientId),
}

/// Jepsen's operation types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpType {
    /// The operation started.
    Invoke,
    /// It happened.
    Ok,
    /// It certainly did not happen.
    Fail,
    /// Unknown: it may or may not have happened.
    Info,
}

/// What happened. Client operations carry an [`OpType`]; the rest are events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A producer publishing one message: `invoke` at the first send, then
    /// its outcome (a retry is a [`Entry::Retry`] of the same message).
    Publish {
        /// `invoke`, or how the publish ended.
        ty: OpType,
        /// The message (a retry keeps its id, so duplicates can be told).
        msg: MsgId,
        /// Its key, if the producer uses keys.
        key: Option<KeyId>,
    },
    /// A producer re-sending a message after a confirm timeout.
    Retry {
        /// The message sent again.
        msg: MsgId,
        /// Which send this is (1 is the first retry).
        attempt: u32,
    },
    /// A consumer processing one delivery: `invoke` when it starts, `ok` when
    /// the effect is applied, `fail` when processing failed or the consumer died.
    Process {
        /// Where processing stands.
        ty: OpType,
        /// The delivery being processed (message, queue, tag, flags).
        delivery: Delivery,
    },
    /// A consumer sent `basic.ack` (SQS: `DeleteMessage`).
    AckSent {
        /// The message acked.
        msg: MsgId,
        /// The delivery tag the ack names.
        tag: DeliveryTag,
    },
    /// A consumer sent `basic.nack`.
    NackSent {
        /// The message nacked.
        msg: MsgId,
        /// The delivery tag the nack names.
        tag: DeliveryTag,
        /// `requeue=true` puts it back in its queue; false drops or
        /// dead-letters it.
        requeue: bool,
    },
    /// The broker handed a message to a consumer (a redelivery if flagged).
    Deliver {
        /// The consumer it went to.
        to: ClientId,
        /// What was delivered, with `redelivered` and the delivery count.
        delivery: Delivery,
    },
    /// Something the broker did (see [`Note`]).
    Broker(Note),
    /// The process crashed: a client loses what it held, an in-memory
    /// broker everything it held, a log broker what was not durable.
    Crash,
    /// The process came back after a crash.
    Restart,
    /// The `drop_acks` fault starts on this client's link.
    DropAcks {
        /// Virtual time the fault ends.
        until_ms: u64,
    },
    /// A message vanished on the way: link loss, dropped ack, or a dead receiver.
    NetDrop {
        /// The message it carried, if it carried one.
        msg: Option<MsgId>,
        /// What was on the wire (`publish`, `deliver`, `ack`...).
        what: &'static str,
        /// Why it vanished (`link loss`, `broker down`...).
        why: &'static str,
    },
    /// A log client's operation (the log broker's own events are [`Note::Log`]).
    Log(LogEntry),
    /// The idempotent consumer found `msg` in its dedup store: processing
    /// finished, the effect was skipped (it was applied before).
    Deduplicated {
        /// The message whose effect was skipped.
        msg: MsgId,
    },
    /// A live change of this client's settings (see [`crate::scenario::settings`]),
    /// from its next decision on.
    Setting(crate::config::Setting),
}

/// What a log producer or consumer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogEntry {
    /// The produce response arrived: the record is at `offset` of `partition`.
    /// Recorded just before the `ok publish` it explains.
    Produced {
        /// The message written.
        msg: MsgId,
        /// The partition it landed in.
        partition: PartitionId,
        /// Its offset there.
        offset: u64,
    },
    /// The consumer sent `JoinGroup`.
    Join {
        /// The group (`group.id`) it joins.
        group: GroupId,
    },
    /// The consumer applied a new assignment (at its next `poll()`).
    Assigned {
        /// The group generation the assignment belongs to.
        generation: u32,
        /// The partitions it now reads (none: idle).
        partitions: PartitionSet,
    },
    /// `poll()` was called (Jepsen's poll invoke).
    Poll {
        /// The consumer's poll counter, which its reads carry.
        poll: u64,
    },
    /// One record the poll returned.
    Read {
        /// The poll that returned it.
        poll: u64,
        /// Where the record sits: partition...
        partition: PartitionId,
        /// ...and offset.
        offset: u64,
        /// The message it holds.
        msg: MsgId,
        /// Its key, if it has one.
        key: Option<KeyId>,
    },
    /// Processing one record: `invoke`, then `ok` (effect applied) or `fail`
    /// (the consumer died first).
    Process {
        /// Where processing stands.
        ty: OpType,
        /// The record's partition...
        partition: PartitionId,
        /// ...and offset.
        offset: u64,
        /// The message it holds.
        msg: MsgId,
        /// Its key, if it has one.
        key: Option<KeyId>,
    },
    /// A commit was sent: `offset` is the next record to read.
    Commit {
        /// The partition committed.
        partition: PartitionId,
        /// The next offset to read there.
        offset: u64,
    },
    /// How a `commitSync` ended: `ok` (committed and durable), `fail` (the
    /// coordinator refused it, `error` says why) or `info` (no answer in
    /// time: it may or may not have been committed).
    CommitDone {
        /// How it ended.
        ty: OpType,
        /// The partition the commit was for.
        partition: PartitionId,
        /// The offset it committed.
        offset: u64,
        /// Why the coordinator refused it (`fail` only).
        error: Option<crate::broker::log::CommitError>,
    },
    /// The consumer moved its position in `partition` (`seek`, or a
    /// Kinesis shard iterator).
    Seek {
        /// The partition whose position moved.
        partition: PartitionId,
        /// Where to.
        to: Seek,
    },
    /// `close()`: the consumer left its group.
    Leave {
        /// The group it left.
        group: GroupId,
    },
    /// A transactional client got its (producer id, epoch) from
    /// `InitProducerId`; its writes until the next one carry this id.
    ProducerId {
        /// The producer id the coordinator gave.
        producer_id: u64,
        /// Its epoch: a higher one fences older instances.
        epoch: u16,
    },
}

/// One line of the history: when, who, what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryEvent {
    /// Virtual time of the event.
    pub time_ms: u64,
    /// Who recorded it.
    pub process: Proc,
    /// What happened.
    pub entry: Entry,
}

impl Entry {
    /// The message this entry names, if it names one: the `msg` field of its
    /// JSON line. A message's story is every entry that names it.
    ///
    /// Every variant is named, so a new entry or note does not compile
    /// until it says whether it names a message.
    pub fn msg(&self) -> Option<MsgId> {
        match *self {
            Entry::Publish { msg, .. }
            | Entry::Retry { msg, .. }
            | Entry::AckSent { msg, .. }
            | Entry::NackSent { msg, .. }
            | Entry::Deduplicated { msg } => Some(msg),
            Entry::Process { delivery, .. } | Entry::Deliver { delivery, .. } => {
                Some(delivery.msg.id)
            }
            Entry::NetDrop { msg, .. } => msg,
            Entry::Broker(note) => note_msg(note),
            Entry::Log(e) => e.msg(),
            // About a process or a link, not one message.
            Entry::Crash | Entry::Restart | Entry::DropAcks { .. } | Entry::Setting(_) => None,
        }
    }

    /// True if this entry names message `msg` (see [`Entry::msg`]).
    pub fn mentions(&self, msg: MsgId) -> bool {
        self.msg() == Some(msg)
    }
}

impl LogEntry {
    /// The message this entry names, if it names one (see [`Entry::msg`]).
    pub fn msg(&self) -> Option<MsgId> {
        match *self {
            LogEntry::Produced { msg, .. }
            | LogEntry::Read { msg, .. }
            | LogEntry::Process { msg, .. } => Some(msg),
            // Group membership, polls, commits, seeks and producer ids.
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
}

/// The message a broker note names, if it names one (see [`Entry::msg`]).
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
        // A tag the broker no longer holds; a consumer refused; a channel closed.
        Note::StaleAck { .. } | Note::ConsumeRefused { .. } | Note::ChannelError { .. } => None,
        Note::Log(n) => log_note_msg(n),
    }
}

/// The message a log-broker note names, if it names one.
fn log_note_msg(n: LogNote) -> Option<MsgId> {
    match n {
        LogNote::Appended { msg, .. }
        | LogNote::DuplicateSequence { msg, .. }
        | LogNote::SequenceRejected { msg, .. }
        | LogNote::Carried { msg, .. } => Some(msg),
        // Ranges of offsets, storage streams, groups, producers: no one message.
        LogNote::Durable { .. }
        | LogNote::RetentionDeleted { .. }
        | LogNote::LostInCrash { .. }
        | LogNote::Recovered { .. }
        | LogNote::TornWrite { .. }
        | LogNote::Truncated { .. }
        | LogNote::WritesStopped { .. }
        | LogNote::RecoveredOffset { .. }
        | LogNote::ProducerStateFromLog { .. }
        | LogNote::RecoveredProducer { .. }
        | LogNote::AckedBefore { .. }
        | LogNote::Assigned { .. }
        | LogNote::SessionExpired { .. }
        | LogNote::Committed { .. }
        | LogNote::CommitRejected { .. }
        | LogNote::UnstableOffsetCommit { .. }
        | LogNote::Position { .. } => None,
        LogNote::Txn(t) => match t {
            // A marker's record id is no message of a producer.
            TxnNote::State { .. }
            | TxnNote::Fenced { .. }
            | TxnNote::TimedOut { .. }
            | TxnNote::Marker { .. } => None,
        },
    }
}
