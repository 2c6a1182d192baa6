//! Transactions on the log broker: Kafka's exactly-once machinery.
//!
//! A transactional producer writes to several partitions (and commits the
//! consumer offsets of what it read) so that all of it counts or none of it
//! does. Two parties make that happen, and each has a room here:
//!
//! | file | job |
//! |---|---|
//! | [`coordinator`] | the transaction coordinator: one entry per `transactional.id`, Kafka's two-phase commit, fencing by epoch, `transaction.timeout.ms` |
//! | `state_log` | how a coordinator entry is written to the `Txn` stream (Kafka's `__transaction_state`) and read back |
//! | [`partition`] | what a partition keeps: open and aborted transactions, the last stable offset (LSO), which records `read_committed` skips |
//! | `requests` | the log broker's side of each coordinator request (`InitProducerId` … `EndTxn`) |
//! | `markers` | `WriteTxnMarkers`: the commit/abort markers, and the transaction's offsets becoming the group's |
//!
//! This file holds the words they share: the requests and replies a client
//! exchanges with the coordinator, its errors, the history notes, and the
//! tag that marks a record as transactional.

pub mod coordinator;
mod markers;
pub mod partition;
mod requests;
mod state_log;

pub use coordinator::{MarkerJob, TxnCoordinator, TxnMeta, TxnState};
pub use partition::{PartitionTxn, ABORTED_PER_PARTITION_MAX, MARKER_MSG_ID};

use super::{CommitError, GroupId, PartitionId, TopicId};
use crate::broker::{ClientId, Message, MsgId};

/// Index of a `transactional.id` (the world interns the names).
pub type TxnIdx = u16;

/// `transactional.id`s a coordinator tracks. Bounded by the scenario's
/// clients (each transactional client has one id).
pub const TXN_IDS_MAX: usize = 256;
/// Partitions one transaction may write to.
pub const PARTITIONS_PER_TXN_MAX: usize = 64;
/// Consumer offsets one transaction may commit.
pub const OFFSETS_PER_TXN_MAX: usize = 64;

/// What marks a record as transactional in a partition log: the producer id
/// and epoch that wrote it and, for a control record, the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnTag {
    /// The writer's producer id: which open transaction the record joins.
    pub producer_id: u64,
    /// The writer's epoch when it wrote (a marker carries the epoch of the
    /// decision, which may be a bumped one after a timeout).
    pub epoch: u16,
    /// `Some(commit)`: a commit/abort marker, never shown to consumers.
    pub marker: Option<bool>,
}

/// Errors with Kafka's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnError {
    /// `PRODUCER_FENCED`: a newer epoch exists; this instance is a zombie.
    ProducerFenced,
    /// `CONCURRENT_TRANSACTIONS`: the previous transaction is still being
    /// completed; retry shortly.
    ConcurrentTransactions,
    /// `INVALID_TXN_STATE`: e.g. `EndTxn` with no transaction open.
    InvalidTxnState,
    /// The coordinator's bounds (ids, partitions or offsets per transaction).
    LimitExceeded,
    /// `TxnOffsetCommit` refused by the group coordinator (KIP-447): the
    /// member's generation is stale or it is not a member, so the input
    /// partitions may be someone else's. The client aborts the transaction.
    OffsetCommit(CommitError),
}

/// Client to coordinator (carried in [`super::LogRequest::Txn`]).
///
/// Every request but the first names its sender three ways: `txn`, its
/// `transactional.id`; `producer_id` and `epoch`, what `InitProducerId`
/// handed it. A request with an older epoch is a zombie's and is fenced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnRequest {
    /// `initTransactions()`: get a producer id and a new epoch, fencing any
    /// earlier instance with the same `transactional.id`.
    InitProducerId {
        /// The `transactional.id`.
        txn: TxnIdx,
        /// `transaction.timeout.ms`: the coordinator aborts a transaction
        /// that stays open longer.
        transaction_timeout_ms: u64,
    },
    /// `AddPartitionsToTxn`: the transaction will write to this partition
    /// (the first one begins the transaction).
    AddPartitionsToTxn {
        /// The `transactional.id`.
        txn: TxnIdx,
        /// From `InitProducerId`.
        producer_id: u64,
        /// From `InitProducerId`.
        epoch: u16,
        /// The partition's topic.
        topic: TopicId,
        /// The partition added.
        partition: PartitionId,
    },
    /// A transactional produce: the record is part of the open transaction.
    Produce {
        /// The `transactional.id`.
        txn: TxnIdx,
        /// From `InitProducerId`.
        producer_id: u64,
        /// From `InitProducerId`.
        epoch: u16,
        /// The partition's topic.
        topic: TopicId,
        /// An added partition.
        partition: PartitionId,
        /// The record's message.
        msg: Message,
    },
    /// `AddOffsetsToTxn` + `TxnOffsetCommit`: commit `offset` for the
    /// group's partition if, and only if, the transaction commits.
    /// `member` and `generation` are the consumer's (Kafka's
    /// `sendOffsetsToTransaction(offsets, consumer.groupMetadata())`):
    /// KIP-447 fences a commit from a member that lost the partition.
    TxnOffsetCommit {
        /// The `transactional.id`.
        txn: TxnIdx,
        /// From `InitProducerId`.
        producer_id: u64,
        /// From `InitProducerId`.
        epoch: u16,
        /// The consumer group whose offset this is.
        group: GroupId,
        /// The consumer that read the input.
        member: ClientId,
        /// The consumer's group generation.
        generation: u32,
        /// The input partition.
        partition: PartitionId,
        /// The next offset to read there.
        offset: u64,
    },
    /// `commitTransaction()` / `abortTransaction()`.
    EndTxn {
        /// The `transactional.id`.
        txn: TxnIdx,
        /// From `InitProducerId`.
        producer_id: u64,
        /// From `InitProducerId`.
        epoch: u16,
        /// Commit (`true`) or abort.
        commit: bool,
    },
}

/// Coordinator to client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnReply {
    /// `InitProducerId` answered: who the producer is from now on.
    ProducerId {
        /// The id every later request carries.
        producer_id: u64,
        /// The new epoch; older ones are fenced.
        epoch: u16,
    },
    /// `AddPartitionsToTxn` or `TxnOffsetCommit` accepted.
    Added,
    /// A transactional produce was appended (not visible to
    /// `read_committed` until the commit marker).
    Produced {
        /// The message appended.
        msg: MsgId,
        /// Where it landed.
        partition: PartitionId,
        /// Its offset there.
        offset: u64,
    },
    /// The transaction reached its decision on disk; markers are written.
    Ended {
        /// Committed (`true`) or aborted.
        commit: bool,
    },
    /// The request was refused.
    Error {
        /// Why, with Kafka's name.
        error: TxnError,
    },
}

/// Things the coordinator did, for the history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnNote {
    /// A `transactional.id` moved to `state` (and wrote it to the `Txn`
    /// stream).
    State {
        /// The `transactional.id`.
        txn: TxnIdx,
        /// Its producer id.
        producer_id: u64,
        /// Its epoch now.
        epoch: u16,
        /// The state it moved to.
        state: TxnState,
    },
    /// A request from an older epoch was refused.
    Fenced {
        /// The `transactional.id` named.
        txn: TxnIdx,
        /// The producer id the request carried.
        producer_id: u64,
        /// The stale epoch it carried.
        epoch: u16,
    },
    /// `transaction.timeout.ms` passed: the coordinator aborts.
    TimedOut {
        /// The `transactional.id` whose transaction ran too long.
        txn: TxnIdx,
    },
    /// A marker took up `offset` in a partition.
    Marker {
        /// The producer whose transaction it ends.
        producer_id: u64,
        /// The partition's topic.
        topic: TopicId,
        /// The partition written.
        partition: PartitionId,
        /// The marker's own offset.
        offset: u64,
        /// A commit marker (`true`) or an abort marker.
        commit: bool,
    },
}
