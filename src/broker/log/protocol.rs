//! What a client and the log broker say to each other: the ids they use,
//! the requests (Kafka's API keys, one variant each) and the replies.
//!
//! A request travels with the sender's [`ClientId`] beside it (see
//! [`crate::broker::Request::Log`]); a reply goes to one client
//! ([`crate::broker::Output::Log`]).

use super::producers::ProducerIdent;
use super::txn::{TxnReply, TxnRequest};
use crate::broker::{ClientId, Message, MsgId, Output};
use crate::config::{Acks, Assignor, IsolationLevel, OffsetReset};

/// Index of a topic in the scenario's `topics` list.
pub type TopicId = u16;
/// Index of a partition within its topic.
pub type PartitionId = u16;
/// Index of a consumer group (`group.id`); the world interns the names.
pub type GroupId = u16;
/// Bit `p` set = partition `p` assigned. Partitions per topic are bounded by 64.
pub type PartitionSet = u64;

/// Where a seek moves a fetch position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seek {
    /// `seekToBeginning` / `TRIM_HORIZON`: the log start offset.
    Earliest,
    /// `seekToEnd` / `LATEST`: the log end offset.
    Latest,
    /// `seek(offset)` / `AT_SEQUENCE_NUMBER` (the consumer turns
    /// `AFTER_SEQUENCE_NUMBER n` into `Offset(n + 1)`).
    Offset(u64),
    /// `offsetsForTimes` / `AT_TIMESTAMP`: the first record at or after it.
    Timestamp(u64),
}

/// Client to log broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogRequest {
    /// `Produce` of one record with the producer's `acks`.
    Produce {
        /// The topic written.
        topic: TopicId,
        /// The partition the producer's partitioner picked.
        partition: PartitionId,
        /// The record's message.
        msg: Message,
        /// When to answer: never (`0`), at the append (`1`), once durable (`all`).
        acks: Acks,
    },
    /// `JoinGroup`: become a member; the group rebalances.
    JoinGroup {
        /// The `group.id` joined.
        group: GroupId,
        /// The topic the group reads (`subscribe`).
        topic: TopicId,
        /// `partition.assignment.strategy`: how partitions are dealt.
        assignor: Assignor,
        /// `session.timeout.ms`: no heartbeat for this long and the member
        /// is expelled.
        session_timeout_ms: u64,
        /// `auto.offset.reset`: where to start without a committed offset.
        reset: OffsetReset,
        /// `isolation.level`: `read_committed` reads only up to the last
        /// stable offset and skips aborted records.
        isolation: IsolationLevel,
    },
    /// The member is alive (resets its `session.timeout.ms`).
    Heartbeat {
        /// The member's group.
        group: GroupId,
    },
    /// `LeaveGroup`: a clean goodbye; the group rebalances at once.
    LeaveGroup {
        /// The member's group.
        group: GroupId,
    },
    /// `poll()`: up to `max_records` records from the member's partitions.
    Poll {
        /// The member's group.
        group: GroupId,
        /// The generation the member believes in; a stale poll is answered
        /// empty so the member picks up its new assignment.
        generation: u32,
        /// The poll's id, echoed in its records and its end.
        poll: u64,
        /// `max.poll.records`.
        max_records: u32,
    },
    /// A request to the transaction coordinator (see [`super::txn`]).
    Txn(TxnRequest),
    /// `OffsetCommit` of one partition: `offset` is the next record to read
    /// (Kafka commits "position", not "last read"). `generation` is the
    /// member's generation: the coordinator refuses a stale one (see
    /// [`CommitError`]), so a member that lost the partition in a rebalance
    /// cannot move the new owner's offset.
    Commit {
        /// The member's group.
        group: GroupId,
        /// The member's generation.
        generation: u32,
        /// The partition committed.
        partition: PartitionId,
        /// The next offset to read there.
        offset: u64,
        /// `commitSync`: the member waits for the answer, sent once the
        /// offset is durable. `commitAsync` and auto-commit send none (their
        /// callback only logs; the simulation leaves it out).
        reply: bool,
    },
    /// `seek`: move the member's fetch position in one owned partition.
    Seek {
        /// The member's group.
        group: GroupId,
        /// The member's generation; a seek from an older one is dropped.
        generation: u32,
        /// The partition whose position moves.
        partition: PartitionId,
        /// Where to.
        to: Seek,
    },
    /// A produce request of an idempotent producer (`enable.idempotence`):
    /// `sequence` counts per partition and is the same on a retry (see
    /// [`super::producers`]).
    ProduceIdempotent {
        /// The topic written.
        topic: TopicId,
        /// The partition written.
        partition: PartitionId,
        /// The record's message.
        msg: Message,
        /// The producer's id and epoch.
        producer: ProducerIdent,
        /// The record's sequence number in this partition.
        sequence: u32,
    },
}

/// Why the group coordinator refused an `OffsetCommit` (Kafka's error names).
/// Each one means "you no longer own what you are committing": the consumer
/// must not process what the commit was for (at most once) and rejoins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitError {
    /// `UNKNOWN_MEMBER_ID`: not a member of the group (its session expired,
    /// it left, or the broker restarted and forgot the membership).
    UnknownMemberId,
    /// `REBALANCE_IN_PROGRESS`: a member whose new assignment is on its way
    /// (it has not polled the new generation yet) committed for the old one.
    /// The coordinator rebalances in one step; for the member the rebalance
    /// lasts until its next `poll()` applies it.
    RebalanceInProgress,
    /// `ILLEGAL_GENERATION`: a member that already polled the new
    /// generation sent a commit of an older one (a late request).
    IllegalGeneration,
}

impl CommitError {
    /// Must the refused member send `JoinGroup` again? Not when the
    /// assignment it was refused for is already in hand: its next poll
    /// applies it.
    pub fn needs_rejoin(self, assignment_in_hand: bool) -> bool {
        self == CommitError::UnknownMemberId || !assignment_in_hand
    }

    /// Kafka's name of the error, as the history writes it.
    pub fn name(self) -> &'static str {
        match self {
            CommitError::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            CommitError::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            CommitError::IllegalGeneration => "ILLEGAL_GENERATION",
        }
    }
}

/// One record as a consumer receives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// The record's topic.
    pub topic: TopicId,
    /// The record's partition.
    pub partition: PartitionId,
    /// Its offset in the partition.
    pub offset: u64,
    /// When the broker appended it (`LogAppendTime`).
    pub timestamp_ms: u64,
    /// The message it carries.
    pub msg: Message,
}

/// Log broker to one client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogReply {
    /// The produce response: where the record landed.
    ProduceAck {
        /// The message acknowledged.
        msg: MsgId,
        /// Its partition.
        partition: PartitionId,
        /// Its offset there.
        offset: u64,
    },
    /// The member's partitions after a rebalance (0 = idle).
    Assignment {
        /// The group's new generation.
        generation: u32,
        /// The member's partitions in it.
        partitions: PartitionSet,
    },
    /// One record of a poll's response.
    Record {
        /// The poll it answers.
        poll: u64,
        /// The record.
        record: LogRecord,
    },
    /// The poll's response is complete (possibly empty: woken by a rebalance).
    PollEnd {
        /// The poll it ends.
        poll: u64,
    },
    /// The transaction coordinator's answer.
    Txn(TxnReply),
    /// The answer to a `commitSync` (`reply: true`): `None` = the offset is
    /// committed and durable.
    CommitResponse {
        /// The partition committed.
        partition: PartitionId,
        /// The offset committed.
        offset: u64,
        /// Why it was refused, if it was.
        error: Option<CommitError>,
    },
}

/// A poll's end as an output to `to`.
pub(super) fn poll_end(to: ClientId, poll: u64) -> Output {
    Output::Log {
        to,
        reply: LogReply::PollEnd { poll },
    }
}
