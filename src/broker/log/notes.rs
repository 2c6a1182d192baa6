//! What the log broker tells the history: one [`LogNote`] per thing a
//! learner (and the checker) should see. Every room of the broker writes
//! its own notes; they are all listed here so the history and the checkers
//! have one vocabulary to match on.

use super::protocol::{CommitError, GroupId, PartitionId, PartitionSet, TopicId};
use super::txn::TxnNote;
use crate::broker::{ClientId, KeyId, MsgId, Output};
use crate::storage::{StreamId, TruncationCause};

/// Things the log broker did that a learner (and the checker) should see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogNote {
    /// A record was appended (not yet durable).
    Appended {
        /// The message it carries.
        msg: MsgId,
        /// Its topic.
        topic: TopicId,
        /// Its partition.
        partition: PartitionId,
        /// The offset it took.
        offset: u64,
    },
    /// Records before `to` reached the disk.
    Durable {
        /// The partition's topic.
        topic: TopicId,
        /// The partition.
        partition: PartitionId,
        /// The new durable end: every offset below it is on disk.
        to: u64,
    },
    /// Retention deleted records `[from, to)`.
    RetentionDeleted {
        /// The partition's topic.
        topic: TopicId,
        /// The partition.
        partition: PartitionId,
        /// The old log start offset.
        from: u64,
        /// The new log start offset.
        to: u64,
    },
    /// The crash came while the disk wrote a group commit: `stream`'s batch
    /// landed cut to `kept_bytes` of its `batch_len` bytes, and the batches
    /// the flush held before it landed whole (a `truncated` follows at the
    /// restart). Nothing in that flush had been acknowledged.
    TornWrite {
        /// The stream whose batch was cut.
        stream: StreamId,
        /// How much of the batch reached the disk.
        kept_bytes: u32,
        /// The batch's full length.
        batch_len: u32,
    },
    /// A crash lost records `[from, to)` that were not durable yet.
    LostInCrash {
        /// The partition's topic.
        topic: TopicId,
        /// The partition.
        partition: PartitionId,
        /// The first offset lost.
        from: u64,
        /// One past the last offset lost (the log end at the crash).
        to: u64,
    },
    /// After a restart the partition's log ends here (what the disk kept).
    Recovered {
        /// The partition's topic.
        topic: TopicId,
        /// The partition.
        partition: PartitionId,
        /// The recovered log end offset.
        to: u64,
    },
    /// Recovery cut `stream`'s log at its first damaged batch: the log now
    /// ends at `offset` (the first offset cut), and `dropped_batches`
    /// (`dropped_bytes` bytes) from stored batch `batch_index` on are gone.
    Truncated {
        /// The stream cut.
        stream: StreamId,
        /// The first stored batch dropped.
        batch_index: u32,
        /// The first offset cut: the stream's new end.
        offset: u64,
        /// What was wrong with it.
        cause: TruncationCause,
        /// How many batches were dropped.
        dropped_batches: u32,
        /// How many bytes they held.
        dropped_bytes: u64,
    },
    /// The store refused a write (`quota`: the disk is full, as a
    /// `QuotaExceededError`; otherwise the log was taken over or closed).
    /// Durable writes stop until a restart: nothing more is acknowledged,
    /// and nothing acknowledged before is lost.
    WritesStopped {
        /// The disk is full (rather than taken over or closed).
        quota: bool,
    },
    /// Recovery read a group's committed offset back from the `Offsets` stream.
    RecoveredOffset {
        /// The group.
        group: GroupId,
        /// The partition.
        partition: PartitionId,
        /// Its committed offset.
        offset: u64,
    },
    /// Recovery found the `Producers` snapshot stale for a partition and
    /// rebuilt its idempotent producers' state from the log itself (Kafka's
    /// way, see [`super::producers`]): it read records `[from, to)`,
    /// replayed `replayed` sequences the snapshot lacked, and forgot
    /// `forgot` remembered sequences at offsets recovery cut.
    ProducerStateFromLog {
        /// The partition's topic.
        topic: TopicId,
        /// The partition.
        partition: PartitionId,
        /// The first offset read.
        from: u64,
        /// One past the last offset read (the log end).
        to: u64,
        /// Sequences the snapshot lacked.
        replayed: u32,
        /// Sequences remembered at offsets recovery cut.
        forgot: u32,
    },
    /// Recovery read an idempotent producer's state back (`Producers`
    /// stream): its epoch and the partitions it has sequence numbers for.
    RecoveredProducer {
        /// The producer id.
        producer_id: u64,
        /// Its epoch.
        epoch: u16,
        /// How many partitions it has sequence numbers for.
        partitions: u32,
    },
    /// Resume only (a page reload): a record of the stored log that an
    /// earlier visit wrote. The checker counts it as that visit's publish
    /// (see [`Carried`]); its id and offset are taken, so new ones follow it.
    Carried {
        /// The record's message id.
        msg: MsgId,
        /// The client that produced it in the earlier visit.
        producer: ClientId,
        /// Its key, if this setup still knows it.
        key: Option<KeyId>,
        /// Its topic.
        topic: TopicId,
        /// Its partition.
        partition: PartitionId,
        /// Its offset.
        offset: u64,
        /// What the stored log proves about it.
        carried: Carried,
    },
    /// Resume only, when the store keeps a checkpoint of what was
    /// acknowledged ([`crate::storage::Storage::acked_checkpoint`], the
    /// page's record), one per partition: the earlier visit had
    /// acknowledged this partition's records below `acked_end`, and
    /// recovery found its log ending at `recovered_end`. Comes before every
    /// `Carried` note. A carried record at or past `acked_end` was written
    /// but never acknowledged; offsets `recovered_end..acked_end`, if any,
    /// were acknowledged and are gone.
    AckedBefore {
        /// The partition's topic.
        topic: TopicId,
        /// The partition.
        partition: PartitionId,
        /// The offset after the last record the earlier visit acknowledged.
        acked_end: u64,
        /// The offset after the last record recovery found.
        recovered_end: u64,
    },
    /// A rebalance gave `member` these partitions in `generation` (0 = idle).
    Assigned {
        /// The group.
        group: GroupId,
        /// The group's new generation.
        generation: u32,
        /// The member.
        member: ClientId,
        /// Its partitions.
        partitions: PartitionSet,
    },
    /// No heartbeat within `session.timeout.ms`: removed from the group.
    SessionExpired {
        /// The group.
        group: GroupId,
        /// The member removed.
        member: ClientId,
    },
    /// An offset commit was accepted (durable with the next group commit).
    Committed {
        /// The group.
        group: GroupId,
        /// The partition.
        partition: PartitionId,
        /// The committed offset: the next record to read.
        offset: u64,
    },
    /// The transaction coordinator's state changes, fencing and markers.
    Txn(TxnNote),
    /// A commit from a client that is not a member (any more), or from a
    /// generation that is not the group's.
    CommitRejected {
        /// The group.
        group: GroupId,
        /// The client that committed.
        member: ClientId,
        /// The partition it committed.
        partition: PartitionId,
        /// The offset it committed.
        offset: u64,
        /// Why it was refused.
        error: CommitError,
    },
    /// `UNSTABLE_OFFSET_COMMIT`: the member's `OffsetFetch` of `partition`
    /// (its first poll of a generation) found offsets of a transaction that
    /// has not ended. Reading from the committed offset now could repeat
    /// what that transaction is about to commit, so the partition waits
    /// until the transaction commits or aborts (Kafka's consumer retries
    /// the fetch; here the broker resolves it when the markers are written).
    UnstableOffsetCommit {
        /// The group.
        group: GroupId,
        /// The member that waits.
        member: ClientId,
        /// The partition it waits for.
        partition: PartitionId,
    },
    /// A member's fetch position was set: from a commit, `auto.offset.reset`,
    /// a seek, or because retention deleted the records it pointed at.
    Position {
        /// The group.
        group: GroupId,
        /// The member.
        member: ClientId,
        /// The partition.
        partition: PartitionId,
        /// The next offset it will fetch.
        offset: u64,
    },
    /// `enable.idempotence`: a retried request the broker already appended;
    /// nothing appended, answered with the original `offset`.
    DuplicateSequence {
        /// The retried message.
        msg: MsgId,
        /// Its topic.
        topic: TopicId,
        /// Its partition.
        partition: PartitionId,
        /// Where the original landed.
        offset: u64,
    },
    /// `enable.idempotence`: `OutOfOrderSequenceException` (a gap before
    /// `sequence`) or a fenced epoch; nothing appended, the producer retries.
    SequenceRejected {
        /// The refused message.
        msg: MsgId,
        /// Its topic.
        topic: TopicId,
        /// Its partition.
        partition: PartitionId,
        /// The sequence it carried.
        sequence: u32,
        /// The sequence the broker expected (`u32::MAX` for a fenced epoch).
        expected: u32,
    },
}

/// What a record carried over from an earlier visit was, as recovery sees it.
/// Its publish, ack and (maybe) processing happened in that visit, whose
/// history is gone; this says which of them the stored log proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carried {
    /// Below the committed offset of a group reading its topic: acknowledged
    /// (it is on disk) and consumed in the earlier visit.
    Consumed,
    /// At or past every committed offset: acknowledged, still to be consumed.
    Acked,
    /// Written by a transaction that aborted: never visible to
    /// `read_committed`, a refused write, not a lost one.
    Aborted,
    /// Written by a transaction still open after recovery: its outcome is
    /// unknown (Jepsen's `info`).
    InDoubt,
}

impl Carried {
    /// The name the history writes.
    pub fn name(self) -> &'static str {
        match self {
            Carried::Consumed => "consumed",
            Carried::Acked => "acked",
            Carried::Aborted => "aborted",
            Carried::InDoubt => "in_doubt",
        }
    }
}

/// A log note as a broker output.
pub(super) fn note(n: LogNote) -> Output {
    Output::Note(crate::broker::Note::Log(n))
}
