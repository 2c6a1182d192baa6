//! The log broker: Kafka / Kinesis semantics on a simulated disk.
//!
//! What it models, and why each piece matters for a learner:
//!
//! - **Topics of partitions.** Each partition is an append-only log with dense
//!   offsets 0, 1, 2... A producer picks the partition (see
//!   [`crate::client::producer`]): by the murmur2 hash of the key, exactly as
//!   Kafka's default partitioner does, so one key always lands in one
//!   partition and keeps its order.
//! - **Consuming never deletes.** A consumer group only moves its *committed
//!   offset*; the records stay until retention (`retention.ms`, or
//!   `retention.records` as a count stand-in for `retention.bytes`) removes the
//!   oldest, and a [`LogNote::RetentionDeleted`] says which.
//! - **Durability goes through [`Storage`].** Appends and offset commits are
//!   buffered and written as record batches; one group commit (`begin_flush`)
//!   is in flight at a time and the next one takes everything that piled up
//!   meanwhile. `acks=1` is answered at the append, `acks=all` only once the
//!   record's flush is durable. A crash loses what was not durable; a restart
//!   rebuilds logs and committed offsets from [`Storage::recover`].
//! - **Consumer groups.** Members join (`JoinGroup`), heartbeat, and leave
//!   (`LeaveGroup`) or are expired after `session.timeout.ms` without a
//!   heartbeat. Every change is a rebalance with a new generation: partitions
//!   are re-dealt by the group's assignor (range or round-robin), one owner
//!   per partition, extra members idle.
//! - **Fetch positions.** The broker keeps each member's next fetch offset per
//!   partition (Kafka's fetch sessions). After a rebalance, a member's first
//!   poll of the new generation starts each partition at the committed offset,
//!   or per `auto.offset.reset` when there is none. A poll with nothing to read
//!   waits at the broker (long polling) until a record arrives or the group
//!   rebalances. A partition whose offsets are in a transaction that has not
//!   ended gets no position until it ends (KIP-447's `UNSTABLE_OFFSET_COMMIT`,
//!   [`LogNote::UnstableOffsetCommit`]): the transaction may still move them.
//! - **Offset commits are fenced.** An `OffsetCommit` or a `TxnOffsetCommit`
//!   names the member and its generation; one from a member that left, was
//!   expelled, or has not taken its new assignment is refused
//!   ([`CommitError`]), so it cannot move an offset a new owner reads from.
//!   A `commitSync` is answered once its offset is durable.
//!
//! Simplifications (said here and in the UI): one broker, no replication, so
//! the high watermark is the log end and `acks=1` and `acks=all` differ only
//! by the `fsync`; record timestamps are the broker's append time
//! (`LogAppendTime`); a rebalance happens in one step at the coordinator
//! (no waiting for every member to rejoin), so commits are fenced by
//! generation instead ([`CommitError`]); group membership is not persisted,
//! so members rejoin after a broker restart (committed offsets are persisted).

use super::dedup::{IdempotentTag, ProducerIdent, ProducerStates, SeqCheck};
use super::{ClientId, KeyId, Message, MsgId, Output};
use crate::config::{Acks, Assignor, IsolationLevel, LogBrokerSpec, OffsetReset};
use crate::storage::{
    FlushId, FlushState, Record, RecordBatch, Recovery, Storage, StorageError, StreamId, Tear,
    TruncationCause,
};
use std::collections::{BTreeMap, VecDeque};

mod record;
pub mod txn;

pub use record::RecordLayoutError;
pub use txn::{PartitionTxn, MARKER_MSG_ID};

use record::{decode_record, encode_record};
use txn::partition::is_marker;
use txn::{TxnCoordinator, TxnNote, TxnReply, TxnRequest, TxnTag};

pub type TopicId = u16;
pub type PartitionId = u16;
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
    Produce {
        topic: TopicId,
        partition: PartitionId,
        msg: Message,
        acks: Acks,
    },
    JoinGroup {
        group: GroupId,
        topic: TopicId,
        assignor: Assignor,
        session_timeout_ms: u64,
        reset: OffsetReset,
        /// `isolation.level`: `read_committed` reads only up to the last
        /// stable offset and skips aborted records.
        isolation: IsolationLevel,
    },
    Heartbeat {
        group: GroupId,
    },
    LeaveGroup {
        group: GroupId,
    },
    /// `poll()`: up to `max_records` records from the member's partitions.
    Poll {
        group: GroupId,
        generation: u32,
        poll: u64,
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
        group: GroupId,
        generation: u32,
        partition: PartitionId,
        offset: u64,
        /// `commitSync`: the member waits for the answer, sent once the
        /// offset is durable. `commitAsync` and auto-commit send none (their
        /// callback only logs; the simulation leaves it out).
        reply: bool,
    },
    Seek {
        group: GroupId,
        generation: u32,
        partition: PartitionId,
        to: Seek,
    },
    /// A produce request of an idempotent producer (`enable.idempotence`):
    /// `sequence` counts per partition and is the same on a retry (see
    /// [`super::dedup`]).
    ProduceIdempotent {
        topic: TopicId,
        partition: PartitionId,
        msg: Message,
        producer: ProducerIdent,
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
    pub topic: TopicId,
    pub partition: PartitionId,
    pub offset: u64,
    pub timestamp_ms: u64,
    pub msg: Message,
}

/// Log broker to one client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogReply {
    /// The produce response: where the record landed.
    ProduceAck {
        msg: MsgId,
        partition: PartitionId,
        offset: u64,
    },
    /// The member's partitions after a rebalance (0 = idle).
    Assignment {
        generation: u32,
        partitions: PartitionSet,
    },
    Record {
        poll: u64,
        record: LogRecord,
    },
    /// The poll's response is complete (possibly empty: woken by a rebalance).
    PollEnd {
        poll: u64,
    },
    /// The transaction coordinator's answer.
    Txn(TxnReply),
    /// The answer to a `commitSync` (`reply: true`): `None` = the offset is
    /// committed and durable.
    CommitResponse {
        partition: PartitionId,
        offset: u64,
        error: Option<CommitError>,
    },
}

/// Things the log broker did that a learner (and the checker) should see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogNote {
    Appended {
        msg: MsgId,
        topic: TopicId,
        partition: PartitionId,
        offset: u64,
    },
    /// Records `[from, to)` reached the disk.
    Durable {
        topic: TopicId,
        partition: PartitionId,
        to: u64,
    },
    /// Retention deleted records `[from, to)`.
    RetentionDeleted {
        topic: TopicId,
        partition: PartitionId,
        from: u64,
        to: u64,
    },
    /// The crash came while the disk wrote a group commit: `stream`'s batch
    /// landed cut to `kept_bytes` of its `batch_len` bytes, and the batches
    /// the flush held before it landed whole (a `truncated` follows at the
    /// restart). Nothing in that flush had been acknowledged.
    TornWrite {
        stream: StreamId,
        kept_bytes: u32,
        batch_len: u32,
    },
    /// A crash lost records `[from, to)` that were not durable yet.
    LostInCrash {
        topic: TopicId,
        partition: PartitionId,
        from: u64,
        to: u64,
    },
    /// After a restart the partition's log ends here (what the disk kept).
    Recovered {
        topic: TopicId,
        partition: PartitionId,
        to: u64,
    },
    /// Recovery cut `stream`'s log at its first damaged batch: the log now
    /// ends at `offset` (the first offset cut), and `dropped_batches`
    /// (`dropped_bytes` bytes) from stored batch `batch_index` on are gone.
    Truncated {
        stream: StreamId,
        batch_index: u32,
        offset: u64,
        cause: TruncationCause,
        dropped_batches: u32,
        dropped_bytes: u64,
    },
    /// The store refused a write (`quota`: the disk is full, as a
    /// `QuotaExceededError`; otherwise the log was taken over or closed).
    /// Durable writes stop until a restart: nothing more is acknowledged,
    /// and nothing acknowledged before is lost.
    WritesStopped { quota: bool },
    /// Recovery read a group's committed offset back from the `Offsets` stream.
    RecoveredOffset {
        group: GroupId,
        partition: PartitionId,
        offset: u64,
    },
    /// Recovery found the `Producers` snapshot stale for a partition and
    /// rebuilt its idempotent producers' state from the log itself (Kafka's
    /// way, see [`super::dedup`]): it read records `[from, to)`, replayed
    /// `replayed` sequences the snapshot lacked, and forgot `forgot`
    /// remembered sequences at offsets recovery cut.
    ProducerStateFromLog {
        topic: TopicId,
        partition: PartitionId,
        from: u64,
        to: u64,
        replayed: u32,
        forgot: u32,
    },
    /// Recovery read an idempotent producer's state back (`Producers`
    /// stream): its epoch and the partitions it has sequence numbers for.
    RecoveredProducer {
        producer_id: u64,
        epoch: u16,
        partitions: u32,
    },
    /// Resume only (a page reload): a record of the stored log that an
    /// earlier visit wrote. The checker counts it as that visit's publish
    /// (see [`Carried`]); its id and offset are taken, so new ones follow it.
    Carried {
        msg: MsgId,
        producer: ClientId,
        key: Option<KeyId>,
        topic: TopicId,
        partition: PartitionId,
        offset: u64,
        carried: Carried,
    },
    /// Resume only, when the store keeps a checkpoint of what was
    /// acknowledged ([`Storage::acked_checkpoint`], the page's record), one
    /// per partition: the earlier visit had acknowledged this partition's
    /// records below `acked_end`, and recovery found its log ending at
    /// `recovered_end`. Comes before every `Carried` note. A carried record at or
    /// past `acked_end` was written but never acknowledged; offsets
    /// `recovered_end..acked_end`, if any, were acknowledged and are gone.
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
        group: GroupId,
        generation: u32,
        member: ClientId,
        partitions: PartitionSet,
    },
    /// No heartbeat within `session.timeout.ms`: removed from the group.
    SessionExpired { group: GroupId, member: ClientId },
    Committed {
        group: GroupId,
        partition: PartitionId,
        offset: u64,
    },
    /// The transaction coordinator's state changes, fencing and markers.
    Txn(TxnNote),
    /// A commit from a client that is not a member (any more), or from a
    /// generation that is not the group's.
    CommitRejected {
        group: GroupId,
        member: ClientId,
        partition: PartitionId,
        offset: u64,
        error: CommitError,
    },
    /// `UNSTABLE_OFFSET_COMMIT`: the member's `OffsetFetch` of `partition`
    /// (its first poll of a generation) found offsets of a transaction that
    /// has not ended. Reading from the committed offset now could repeat
    /// what that transaction is about to commit, so the partition waits
    /// until the transaction commits or aborts (Kafka's consumer retries
    /// the fetch; here the broker resolves it when the markers are written).
    UnstableOffsetCommit {
        group: GroupId,
        member: ClientId,
        partition: PartitionId,
    },
    /// A member's fetch position was set: from a commit, `auto.offset.reset`,
    /// a seek, or because retention deleted the records it pointed at.
    Position {
        group: GroupId,
        member: ClientId,
        partition: PartitionId,
        offset: u64,
    },
    /// `enable.idempotence`: a retried request the broker already appended;
    /// nothing appended, answered with the original `offset`.
    DuplicateSequence {
        msg: MsgId,
        topic: TopicId,
        partition: PartitionId,
        offset: u64,
    },
    /// `enable.idempotence`: `OutOfOrderSequenceException` (a gap before
    /// `sequence`) or a fenced epoch; nothing appended, the producer retries.
    SequenceRejected {
        msg: MsgId,
        topic: TopicId,
        partition: PartitionId,
        sequence: u32,
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
    pub fn name(self) -> &'static str {
        match self {
            Carried::Consumed => "consumed",
            Carried::Acked => "acked",
            Carried::Aborted => "aborted",
            Carried::InDoubt => "in_doubt",
        }
    }
}

/// Records a consumer may receive per poll: bounded by `max.poll.records`.
/// Members parked in a poll per group: bounded by the clients in the scenario.
#[derive(Clone, Copy, Debug)]
struct StoredRecord {
    offset: u64,
    timestamp_ms: u64,
    msg: Message,
    /// Set on a transactional record or a commit/abort marker.
    txn: Option<TxnTag>,
    /// Set on an idempotent producer's record: written to storage with it,
    /// so recovery can rebuild producer state from the log (see
    /// [`super::dedup`]). Never set together with `txn`.
    idem: Option<IdempotentTag>,
}

#[derive(Clone, Debug, Default)]
struct PartitionLog {
    /// Records from the log start offset on. Bound: retention, else the
    /// producers' `count` in the scenario.
    records: VecDeque<StoredRecord>,
    /// Offset of `records[0]` (the log start offset).
    start: u64,
    /// Records before this offset were handed to storage (`append`).
    stored_end: u64,
    /// Records before this offset are durable.
    durable_end: u64,
    /// `acks=all` produce responses waiting for durability, by offset.
    /// Bound: records not yet durable.
    waiting: VecDeque<(u64, ClientId, MsgId)>,
    /// Open and aborted transactions here: the last stable offset.
    txn: PartitionTxn,
}

impl PartitionLog {
    fn end(&self) -> u64 {
        self.start + self.records.len() as u64
    }

    /// Appends `msg` at the log end, with its writer's tail (transactional
    /// or idempotent, never both); returns its offset.
    fn push(
        &mut self,
        now_ms: u64,
        msg: Message,
        txn: Option<TxnTag>,
        idem: Option<IdempotentTag>,
    ) -> u64 {
        let offset = self.end();
        self.records.push_back(StoredRecord {
            offset,
            timestamp_ms: now_ms,
            msg,
            txn,
            idem,
        });
        if txn.is_some() {
            self.txn.on_record(offset, txn);
        }
        offset
    }

    fn get(&self, offset: u64) -> Option<&StoredRecord> {
        let i = offset.checked_sub(self.start)?;
        self.records.get(usize::try_from(i).ok()?)
    }
}

#[derive(Clone, Debug)]
struct TopicState {
    name: String,
    retention_ms: Option<u64>,
    retention_records: Option<u64>,
    partitions: Vec<PartitionLog>,
}

#[derive(Clone, Debug)]
struct Member {
    session_timeout_ms: u64,
    last_heartbeat_ms: u64,
    reset: OffsetReset,
    /// `isolation.level=read_committed`.
    read_committed: bool,
    partitions: PartitionSet,
    /// The generation the fetch positions were resolved for.
    positions_generation: Option<u32>,
    /// Next fetch offset per owned partition. Bound: partitions per topic.
    positions: BTreeMap<PartitionId, u64>,
    /// Owned partitions whose committed offset is not stable yet: a
    /// transaction with offsets for them is still open (KIP-447's
    /// `UNSTABLE_OFFSET_COMMIT`). No position, no fetch, until it ends.
    unstable: PartitionSet,
    /// A poll waiting for records: (poll id, max records).
    parked: Option<(u64, u32)>,
    /// Which partition the next poll starts at (fairness across partitions).
    cursor: u16,
}

#[derive(Clone, Debug)]
struct GroupState {
    topic: TopicId,
    assignor: Assignor,
    generation: u32,
    /// Bound: clients in the scenario.
    members: BTreeMap<ClientId, Member>,
    /// Committed offsets, per partition: the next record to read.
    committed: BTreeMap<PartitionId, u64>,
}

/// Counters for the summary and the tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogBrokerStats {
    pub appended: u64,
    pub retention_deleted: u64,
    pub lost_in_crash: u64,
    pub flushes: u64,
    pub rebalances: u64,
}

/// What a flush carries, to settle when it completes.
#[derive(Clone, Debug)]
struct InFlightFlush {
    id: FlushId,
    /// (topic, partition, stored_end at the flush).
    ends: Vec<(TopicId, PartitionId, u64)>,
    /// The coordinator's `Txn` stream end at the flush.
    txn_end: Option<u64>,
    /// `commitSync` answers this flush makes durable: (member, partition, offset).
    commit_replies: Vec<(ClientId, PartitionId, u64)>,
}

/// `commitSync` answers waiting for their flush. Each waiting member has at
/// most one per partition in flight; this bounds a misbehaving one.
pub const COMMIT_REPLIES_MAX: usize = 4096;

#[derive(Clone, Debug)]
pub struct LogBroker {
    topics: Vec<TopicState>,
    /// Groups by index; names live in the world's `Names`.
    groups: Vec<Option<GroupState>>,
    /// Key names, to write a record's key bytes (index = `KeyId`).
    key_names: Vec<String>,
    up: bool,
    /// Commits not yet handed to storage: ((group, partition), offset).
    /// Bound: groups × partitions (a later commit replaces an earlier one).
    offsets_pending: BTreeMap<(GroupId, PartitionId), u64>,
    /// Next offset in the `Offsets` stream.
    offsets_stream_end: u64,
    /// `commitSync` answers whose offsets are not handed to storage yet
    /// (they go out when that flush is durable, like an `acks=all`
    /// response). Bound: [`COMMIT_REPLIES_MAX`].
    commit_replies: Vec<(ClientId, PartitionId, u64)>,
    flush: Option<InFlightFlush>,
    /// Earliest `WakeAt` requested and not yet run.
    wake_armed_ms: Option<u64>,
    /// The transaction coordinator (Kafka runs it on a broker; here, this one).
    coordinator: TxnCoordinator,
    /// Idempotent producers' sequence numbers (`enable.idempotence`).
    producers: ProducerStates,
    /// Added to the restart count of every idempotent producer id (see
    /// [`LogBroker::resume`]); kept across crashes, like the disk.
    producer_id_shift: u32,
    /// The store refused a write (see `maybe_flush`): no more flushes, so
    /// nothing more is acknowledged, until a restart recovers the store.
    writes_stopped: bool,
    pub stats: LogBrokerStats,
}

/// Per-partition view for the UI: log range, durability and each group's lag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionView {
    pub topic: String,
    pub partition: PartitionId,
    /// Log start offset (retention moved it) and log end offset.
    pub start: u64,
    pub end: u64,
    pub durable_end: u64,
    /// (group index, owner, committed offset, lag = end - committed).
    pub groups: Vec<(GroupId, Option<ClientId>, u64, u64)>,
    /// Message ids of the newest `limit` records, the first at `msgs_from`:
    /// the end of the log is where writes and reads happen.
    pub msgs_from: u64,
    pub msgs: Vec<MsgId>,
}

impl LogBroker {
    pub fn from_spec(spec: &LogBrokerSpec, key_names: Vec<String>, groups: usize) -> LogBroker {
        let topics = spec
            .topics
            .iter()
            .map(|t| TopicState {
                name: t.name.clone(),
                retention_ms: t.retention_ms,
                retention_records: t.retention_records,
                partitions: vec![PartitionLog::default(); t.partitions as usize],
            })
            .collect();
        LogBroker {
            topics,
            groups: vec![None; groups],
            key_names,
            up: true,
            offsets_pending: BTreeMap::new(),
            offsets_stream_end: 0,
            commit_replies: Vec::new(),
            flush: None,
            wake_armed_ms: None,
            coordinator: TxnCoordinator::new(),
            producers: ProducerStates::default(),
            producer_id_shift: 0,
            writes_stopped: false,
            stats: LogBrokerStats::default(),
        }
    }

    pub fn add_key(&mut self, name: &str) {
        self.key_names.push(name.to_string());
    }

    /// A group interned after the start (a consumer added mid-run).
    pub fn add_group(&mut self) {
        self.groups.push(None);
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    pub fn handle(
        &mut self,
        now_ms: u64,
        from: ClientId,
        req: LogRequest,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        assert!(self.up, "the world drops requests to a crashed broker");
        match req {
            LogRequest::Produce {
                topic,
                partition,
                msg,
                acks,
            } => self.produce(now_ms, from, (topic, partition), msg, None, acks, out),
            LogRequest::JoinGroup {
                group,
                topic,
                assignor,
                session_timeout_ms,
                reset,
                isolation,
            } => {
                let member = Member {
                    session_timeout_ms,
                    last_heartbeat_ms: now_ms,
                    reset,
                    read_committed: isolation == IsolationLevel::ReadCommitted,
                    partitions: 0,
                    positions_generation: None,
                    positions: BTreeMap::new(),
                    unstable: 0,
                    parked: None,
                    cursor: 0,
                };
                let g = self.groups[group as usize].get_or_insert_with(|| GroupState {
                    topic,
                    assignor,
                    generation: 0,
                    members: BTreeMap::new(),
                    committed: BTreeMap::new(),
                });
                if g.members.is_empty() {
                    // After a restart only the committed offsets were recovered.
                    (g.topic, g.assignor) = (topic, assignor);
                }
                g.members.insert(from, member);
                self.rebalance(group, out);
            }
            LogRequest::Heartbeat { group } => {
                if let Some(m) = self.member_mut(group, from) {
                    m.last_heartbeat_ms = now_ms;
                }
            }
            LogRequest::LeaveGroup { group } => {
                if let Some(g) = &mut self.groups[group as usize] {
                    if g.members.remove(&from).is_some() {
                        self.rebalance(group, out);
                    }
                }
            }
            LogRequest::Poll {
                group,
                generation,
                poll,
                max_records,
            } => self.poll(group, from, generation, poll, max_records, out),
            LogRequest::Commit {
                group,
                generation,
                partition,
                offset,
                reply,
            } => self.commit(group, from, generation, (partition, offset), reply, out),
            LogRequest::Seek {
                group,
                generation,
                partition,
                to,
            } => self.seek(group, from, generation, partition, to, out),
            LogRequest::Txn(r) => self.txn_request(now_ms, from, r, out),
            LogRequest::ProduceIdempotent {
                topic,
                partition,
                msg,
                producer,
                sequence,
            } => {
                let at = (topic, partition);
                self.produce_idempotent(now_ms, from, at, msg, producer, sequence, out)
            }
        }
        self.maybe_flush(now_ms, storage, out);
        self.arm_wake(now_ms, out);
    }

    fn member_mut(&mut self, group: GroupId, member: ClientId) -> Option<&mut Member> {
        self.groups[group as usize]
            .as_mut()?
            .members
            .get_mut(&member)
    }

    /// Appends `msg`; `idem` is set when an idempotent producer sent it.
    #[allow(clippy::too_many_arguments)]
    fn produce(
        &mut self,
        now_ms: u64,
        from: ClientId,
        (topic, partition): (TopicId, PartitionId),
        msg: Message,
        idem: Option<IdempotentTag>,
        acks: Acks,
        out: &mut Vec<Output>,
    ) {
        let log = &mut self.topics[topic as usize].partitions[partition as usize];
        let offset = log.push(now_ms, msg, None, idem);
        self.stats.appended += 1;
        out.push(note(LogNote::Appended {
            msg: msg.id,
            topic,
            partition,
            offset,
        }));
        match acks {
            Acks::Zero => {}
            Acks::One => out.push(Output::Log {
                to: from,
                reply: LogReply::ProduceAck {
                    msg: msg.id,
                    partition,
                    offset,
                },
            }),
            Acks::All => log.waiting.push_back((offset, from, msg.id)),
        }
        self.apply_retention_count(topic, partition, out);
        self.serve_parked(topic, partition, out);
    }

    /// `enable.idempotence`: append only the next sequence number; answer a
    /// duplicate with its original offset (once that is durable, as for any
    /// `acks=all` request); reject anything else (see [`super::dedup`]).
    #[allow(clippy::too_many_arguments)]
    fn produce_idempotent(
        &mut self,
        now_ms: u64,
        from: ClientId,
        (topic, partition): (TopicId, PartitionId),
        msg: Message,
        producer: ProducerIdent,
        sequence: u32,
        out: &mut Vec<Output>,
    ) {
        let shift = u64::from(self.producer_id_shift) << 32;
        let producer = ProducerIdent {
            id: producer
                .id
                .checked_add(shift)
                .expect("producer ids fit in u64"),
            ..producer
        };
        match self.producers.check(producer, topic, partition, sequence) {
            SeqCheck::Append => {
                let offset = self.topics[topic as usize].partitions[partition as usize].end();
                self.producers
                    .appended(producer, topic, partition, sequence, offset);
                let idem = Some(IdempotentTag { producer, sequence });
                let at = (topic, partition);
                self.produce(now_ms, from, at, msg, idem, Acks::All, out);
            }
            SeqCheck::Duplicate { offset } => {
                out.push(note(LogNote::DuplicateSequence {
                    msg: msg.id,
                    topic,
                    partition,
                    offset,
                }));
                let log = &mut self.topics[topic as usize].partitions[partition as usize];
                let reply = LogReply::ProduceAck {
                    msg: msg.id,
                    partition,
                    offset,
                };
                if offset < log.durable_end {
                    out.push(Output::Log { to: from, reply });
                } else {
                    // Released with (or after) the newer records waiting.
                    log.waiting.push_back((offset, from, msg.id));
                }
            }
            // A fenced epoch is rejected too; `expected` says "none" then.
            SeqCheck::OutOfOrder { expected: _ } | SeqCheck::Fenced { .. } => {
                let expected = match self.producers.check(producer, topic, partition, sequence) {
                    SeqCheck::OutOfOrder { expected } => expected,
                    _ => u32::MAX,
                };
                out.push(note(LogNote::SequenceRejected {
                    msg: msg.id,
                    topic,
                    partition,
                    sequence,
                    expected,
                }));
            }
        }
    }

    /// Every group member parked in a poll that owns this partition gets served.
    fn serve_parked(&mut self, topic: TopicId, partition: PartitionId, out: &mut Vec<Output>) {
        for gi in 0..self.groups.len() {
            let owner = self.groups[gi].as_ref().and_then(|g| {
                (g.topic == topic)
                    .then(|| {
                        g.members
                            .iter()
                            .find(|(_, m)| m.partitions & (1 << partition) != 0)
                    })
                    .flatten()
                    .filter(|(_, m)| m.parked.is_some())
                    .map(|(c, _)| *c)
            });
            if let Some(member) = owner {
                self.serve(gi as GroupId, member, out);
            }
        }
    }

    fn poll(
        &mut self,
        group: GroupId,
        from: ClientId,
        generation: u32,
        poll: u64,
        max_records: u32,
        out: &mut Vec<Output>,
    ) {
        let Some(g) = &self.groups[group as usize] else {
            return out.push(poll_end(from, poll));
        };
        if !g.members.contains_key(&from) || g.generation != generation {
            // Not a member, or a poll from before the last rebalance: answer
            // empty so the consumer picks up its new assignment.
            return out.push(poll_end(from, poll));
        }
        self.resolve_positions(group, from, out);
        let m = self.member_mut(group, from).expect("checked above");
        m.parked = Some((poll, max_records));
        self.serve(group, from, out);
    }

    /// First poll of a generation: every owned partition starts at the
    /// committed offset, or per `auto.offset.reset`; one with offsets in an
    /// open transaction waits for it (see [`LogNote::UnstableOffsetCommit`]).
    fn resolve_positions(&mut self, group: GroupId, member: ClientId, out: &mut Vec<Output>) {
        let pending = self.coordinator.pending_offsets(group);
        let g = self.groups[group as usize].as_mut().expect("a group");
        let topic = &self.topics[g.topic as usize];
        let m = g.members.get_mut(&member).expect("a member");
        if m.positions_generation == Some(g.generation) {
            return;
        }
        m.positions_generation = Some(g.generation);
        m.positions.clear();
        m.unstable = m.partitions & pending;
        for partition in partitions_of(m.unstable) {
            out.push(note(LogNote::UnstableOffsetCommit {
                group,
                member,
                partition,
            }));
        }
        let stable = m.partitions & !pending;
        start_positions((group, member), m, stable, &g.committed, topic, out);
    }

    /// A transaction with offsets of `group` ended: members waiting on an
    /// unstable partition whose offsets are now final get their position
    /// and are served.
    fn resolve_unstable(&mut self, group: GroupId, out: &mut Vec<Output>) {
        let pending = self.coordinator.pending_offsets(group);
        let Some(g) = self.groups.get_mut(group as usize).and_then(|g| g.as_mut()) else {
            return;
        };
        let topic = &self.topics[g.topic as usize];
        let mut woken = Vec::new();
        for (&member, m) in g.members.iter_mut() {
            let stable = m.unstable & !pending;
            if stable == 0 {
                continue;
            }
            m.unstable &= !stable;
            start_positions((group, member), m, stable, &g.committed, topic, out);
            woken.push(member);
        }
        for member in woken {
            self.serve(group, member, out);
        }
    }

    /// Answers a parked poll if any owned partition has records past the
    /// member's position. Partitions are visited round-robin from the
    /// member's cursor so one busy partition cannot starve the others.
    fn serve(&mut self, group: GroupId, member: ClientId, out: &mut Vec<Output>) {
        let g = self.groups[group as usize].as_mut().expect("a group");
        let topic_id = g.topic;
        let topic = &self.topics[topic_id as usize];
        let m = g.members.get_mut(&member).expect("a member");
        let Some((poll, max_records)) = m.parked else {
            return;
        };
        let owned: Vec<PartitionId> = partitions_of(m.partitions & !m.unstable).collect();
        if owned.is_empty() {
            return;
        }
        let mut sent = 0u32;
        let start = m.cursor as usize % owned.len();
        for k in 0..owned.len() {
            let p = owned[(start + k) % owned.len()];
            let log = &topic.partitions[p as usize];
            let pos = m.positions.entry(p).or_insert(log.start);
            if *pos < log.start {
                // Retention deleted what this member pointed at.
                *pos = log.start;
                out.push(note(LogNote::Position {
                    group,
                    member,
                    partition: p,
                    offset: *pos,
                }));
            }
            // read_committed stops at the last stable offset.
            let visible_end = if m.read_committed {
                log.txn.last_stable_offset(log.end())
            } else {
                log.end()
            };
            while sent < max_records && *pos < visible_end {
                let Some(r) = log.get(*pos) else { break };
                if log.txn.hidden(r.offset, r.txn, m.read_committed) {
                    *pos += 1; // a marker, or (read_committed) an aborted record
                    continue;
                }
                out.push(Output::Log {
                    to: member,
                    reply: LogReply::Record {
                        poll,
                        record: LogRecord {
                            topic: topic_id,
                            partition: p,
                            offset: r.offset,
                            timestamp_ms: r.timestamp_ms,
                            msg: r.msg,
                        },
                    },
                });
                *pos += 1;
                sent += 1;
            }
        }
        if sent > 0 {
            m.cursor = m.cursor.wrapping_add(1);
            m.parked = None;
            out.push(poll_end(member, poll));
        }
    }

    /// `OffsetCommit`: accepted from a current member in the group's
    /// generation; anything else is refused (see [`CommitError`]).
    fn commit(
        &mut self,
        group: GroupId,
        from: ClientId,
        generation: u32,
        (partition, offset): (PartitionId, u64),
        reply: bool,
        out: &mut Vec<Output>,
    ) {
        let g = self.groups[group as usize].as_mut();
        if let Some(error) = commit_error(g.as_deref(), from, generation) {
            out.push(note(LogNote::CommitRejected {
                group,
                member: from,
                partition,
                offset,
                error,
            }));
            if reply {
                let error = Some(error);
                let reply = LogReply::CommitResponse {
                    partition,
                    offset,
                    error,
                };
                out.push(Output::Log { to: from, reply });
            }
            return;
        }
        let g = g.expect("a member's group");
        g.committed.insert(partition, offset);
        self.offsets_pending.insert((group, partition), offset);
        if reply {
            assert!(
                self.commit_replies.len() < COMMIT_REPLIES_MAX,
                "commitSync answers waiting for a flush are bounded"
            );
            self.commit_replies.push((from, partition, offset));
        }
        out.push(note(LogNote::Committed {
            group,
            partition,
            offset,
        }));
    }

    fn seek(
        &mut self,
        group: GroupId,
        from: ClientId,
        generation: u32,
        partition: PartitionId,
        to: Seek,
        out: &mut Vec<Output>,
    ) {
        let current = self.groups[group as usize]
            .as_ref()
            .is_some_and(|g| g.generation == generation && g.members.contains_key(&from));
        if !current {
            return; // a seek from before a rebalance: the new owner starts afresh
        }
        self.resolve_positions(group, from, out);
        let g = self.groups[group as usize].as_mut().expect("checked");
        let log = &self.topics[g.topic as usize].partitions[partition as usize];
        let offset = match to {
            Seek::Earliest => log.start,
            Seek::Latest => log.end(),
            Seek::Offset(o) => o.clamp(log.start, log.end()),
            Seek::Timestamp(t) => log
                .records
                .iter()
                .find(|r| r.timestamp_ms >= t)
                .map_or(log.end(), |r| r.offset),
        };
        let m = g.members.get_mut(&from).expect("checked");
        if m.partitions & (1 << partition) == 0 {
            return;
        }
        m.unstable &= !(1 << partition); // an explicit seek needs no committed offset
        m.positions.insert(partition, offset);
        out.push(note(LogNote::Position {
            group,
            member: from,
            partition,
            offset,
        }));
        self.serve(group, from, out);
    }

    /// A new generation: deal the partitions out again and tell every member.
    /// Parked polls are answered empty so members apply the new assignment.
    fn rebalance(&mut self, group: GroupId, out: &mut Vec<Output>) {
        let g = self.groups[group as usize].as_mut().expect("a group");
        g.generation += 1;
        self.stats.rebalances += 1;
        let partitions = self.topics[g.topic as usize].partitions.len();
        let members: Vec<ClientId> = g.members.keys().copied().collect();
        let sets = assign(g.assignor, partitions, members.len());
        for (member, set) in members.iter().zip(sets) {
            let m = g.members.get_mut(member).expect("listed");
            m.partitions = set;
            if let Some((poll, _)) = m.parked.take() {
                out.push(poll_end(*member, poll));
            }
            out.push(note(LogNote::Assigned {
                group,
                generation: g.generation,
                member: *member,
                partitions: set,
            }));
            out.push(Output::Log {
                to: *member,
                reply: LogReply::Assignment {
                    generation: g.generation,
                    partitions: set,
                },
            });
        }
    }

    /// Session timeouts and `retention.ms`.
    pub fn tick(&mut self, now_ms: u64, storage: &mut dyn Storage, out: &mut Vec<Output>) {
        self.wake_armed_ms = None;
        if !self.up {
            return;
        }
        for gi in 0..self.groups.len() {
            let Some(g) = &mut self.groups[gi] else {
                continue;
            };
            let expired: Vec<ClientId> = g
                .members
                .iter()
                .filter(|(_, m)| m.last_heartbeat_ms + m.session_timeout_ms <= now_ms)
                .map(|(c, _)| *c)
                .collect();
            for member in &expired {
                g.members.remove(member);
                let group = gi as GroupId;
                out.push(note(LogNote::SessionExpired {
                    group,
                    member: *member,
                }));
            }
            if !expired.is_empty() {
                self.rebalance(gi as GroupId, out);
            }
        }
        self.apply_retention_age(now_ms, out);
        self.expire_txns(now_ms, out);
        self.maybe_flush(now_ms, storage, out);
        self.arm_wake(now_ms, out);
    }

    /// Asks to be woken at the next session deadline or retention expiry.
    fn arm_wake(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        let sessions = self
            .groups
            .iter()
            .flatten()
            .flat_map(|g| g.members.values())
            .map(|m| m.last_heartbeat_ms + m.session_timeout_ms);
        let retention = self.topics.iter().flat_map(|t| {
            let ms = t.retention_ms;
            t.partitions
                .iter()
                .filter_map(move |p| Some(p.records.front()?.timestamp_ms + ms?))
        });
        let txn_timeouts = self.coordinator.next_deadline_ms();
        let Some(next) = sessions.chain(retention).chain(txn_timeouts).min() else {
            return;
        };
        let next = next.max(now_ms + 1);
        if self.wake_armed_ms.is_none_or(|armed| next < armed) {
            self.wake_armed_ms = Some(next);
            out.push(Output::WakeAt { at_ms: next });
        }
    }

    fn apply_retention_count(&mut self, t: TopicId, p: PartitionId, out: &mut Vec<Output>) {
        let topic = &mut self.topics[t as usize];
        let Some(max) = topic.retention_records else {
            return;
        };
        let log = &mut topic.partitions[p as usize];
        let excess = (log.records.len() as u64).saturating_sub(max);
        if excess > 0 {
            delete_head(log, t, p, excess, &mut self.stats, out);
        }
    }

    fn apply_retention_age(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        for (t, topic) in self.topics.iter_mut().enumerate() {
            let Some(ms) = topic.retention_ms else {
                continue;
            };
            for (p, log) in topic.partitions.iter_mut().enumerate() {
                let old = log
                    .records
                    .iter()
                    .take_while(|r| r.timestamp_ms + ms <= now_ms)
                    .count() as u64;
                if old > 0 {
                    delete_head(
                        log,
                        t as TopicId,
                        p as PartitionId,
                        old,
                        &mut self.stats,
                        out,
                    );
                }
            }
        }
    }

    /// Group commit: if no flush is in flight and anything is unwritten,
    /// append it to storage as one batch per partition (plus one for the
    /// offsets) and begin one flush for all of it.
    ///
    /// A store that refuses (the quota ran out, another tab took the log
    /// over, the connection closed) stops durable writes until the next
    /// restart: nothing more is acknowledged, so producers waiting for
    /// `acks=all` time out and retry, and nothing acknowledged before is
    /// touched. The history says so once (`writes_stopped`).
    fn maybe_flush(&mut self, now_ms: u64, storage: &mut dyn Storage, out: &mut Vec<Output>) {
        if self.flush.is_some() || self.writes_stopped {
            return;
        }
        if let Err(refused) = self.try_flush(now_ms, storage, out) {
            self.writes_stopped = true;
            let quota = refused.is_quota();
            out.push(note(LogNote::WritesStopped { quota }));
        }
    }

    fn try_flush(
        &mut self,
        now_ms: u64,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) -> Result<(), StorageError> {
        let mut ends = Vec::new();
        for (t, topic) in self.topics.iter_mut().enumerate() {
            for (p, log) in topic.partitions.iter_mut().enumerate() {
                let (t, p) = (t as TopicId, p as PartitionId);
                if let Some(batch) = unstored_batch(log, &self.key_names) {
                    let stream = StreamId::Partition {
                        topic: t,
                        partition: p,
                    };
                    storage.append(stream, &batch)?;
                    log.stored_end = log.end();
                    ends.push((t, p, log.stored_end));
                }
            }
        }
        let offsets = self.offsets_batch();
        // Producer state goes in the same group commit as the records it
        // covers: both are durable, or a crash loses both.
        let producers = self.producers.unstored_batch();
        let more = producers.is_some() || offsets.is_some();
        if let Some(batch) = producers {
            storage.append(StreamId::Producers, &batch)?;
        }
        if let Some(batch) = offsets {
            self.offsets_stream_end = batch.next_offset();
            storage.append(StreamId::Offsets, &batch)?;
        }
        // The coordinator's state goes last. A torn write keeps the batches
        // before the torn one, so a `CompleteCommit` that reaches the disk
        // finds the markers and the transaction's offsets there too (as in
        // Kafka, where it is written only after them); if it is cut,
        // recovery completes the commit from `PrepareCommit` again.
        let txn_end = self.append_txn_batch(storage)?;
        if txn_end.is_none() && ends.is_empty() && !more {
            assert!(
                self.commit_replies.is_empty(),
                "a waiting answer has its offset pending"
            );
            return Ok(());
        }
        let ticket = storage.begin_flush(now_ms)?;
        self.stats.flushes += 1;
        self.flush = Some(InFlightFlush {
            id: ticket.id,
            ends,
            txn_end,
            commit_replies: std::mem::take(&mut self.commit_replies),
        });
        out.push(Output::FlushAt {
            id: ticket.id,
            at_ms: ticket.completes_at_ms,
        });
        Ok(())
    }

    fn offsets_batch(&mut self) -> Option<RecordBatch> {
        if self.offsets_pending.is_empty() {
            return None;
        }
        let base = self.offsets_stream_end;
        let pending = std::mem::take(&mut self.offsets_pending);
        let records = pending
            .into_iter()
            .enumerate()
            .map(|(i, ((group, partition), offset))| Record {
                offset: base + i as u64,
                timestamp_ms: 0,
                producer_id: 0,
                key: Some(offsets_key(group, partition).to_vec()),
                value: offset.to_le_bytes().to_vec(),
            })
            .collect();
        Some(RecordBatch {
            base_offset: base,
            records,
        })
    }

    /// Hands the coordinator's new state records to storage (same group
    /// commit as the records they describe). Returns the stream end.
    fn append_txn_batch(&mut self, storage: &mut dyn Storage) -> Result<Option<u64>, StorageError> {
        let Some(batch) = self.coordinator.take_batch() else {
            return Ok(None);
        };
        let end = batch.next_offset();
        storage.append(StreamId::Txn, &batch)?;
        Ok(Some(end))
    }

    /// The world asks storage at the flush's completion time and reports here.
    /// `Durable` releases the `acks=all` responses it covers.
    pub fn flush_done(
        &mut self,
        now_ms: u64,
        id: FlushId,
        state: FlushState,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        let Some(flush) = self.flush.take_if(|f| f.id == id) else {
            return; // a flush from before a crash
        };
        assert!(self.up, "a crash forgets the flush in flight");
        if state == FlushState::Durable {
            for (t, p, end) in flush.ends {
                let log = &mut self.topics[t as usize].partitions[p as usize];
                assert!(end >= log.durable_end, "durability only grows");
                log.durable_end = end;
                while log.waiting.front().is_some_and(|w| w.0 < end) {
                    let (offset, to, msg) = log.waiting.pop_front().expect("checked");
                    let reply = LogReply::ProduceAck {
                        msg,
                        partition: p,
                        offset,
                    };
                    out.push(Output::Log { to, reply });
                }
                out.push(note(LogNote::Durable {
                    topic: t,
                    partition: p,
                    to: end,
                }));
            }
            if let Some(end) = flush.txn_end {
                self.txn_durable(now_ms, end, out);
            }
            // A failed flush answers no commit: the member's commitSync times
            // out, an unknown outcome it treats as "not committed".
            for (to, partition, offset) in flush.commit_replies {
                let reply = LogReply::CommitResponse {
                    partition,
                    offset,
                    error: None,
                };
                out.push(Output::Log { to, reply });
            }
        }
        self.maybe_flush(now_ms, storage, out);
    }

    /// The process dies: memory is gone, the disk keeps what was durable
    /// (and, with a `tear`, the whole batches of the flush it was writing).
    pub fn crash(
        &mut self,
        now_ms: u64,
        tear: Tear,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        assert!(self.up);
        self.up = false;
        let report = storage.crash(now_ms, tear);
        let landed = self.landed_whole(&report, out);
        for (t, topic) in self.topics.iter_mut().enumerate() {
            for (p, log) in topic.partitions.iter_mut().enumerate() {
                let kept = landed.get(&(t as TopicId, p as PartitionId)).copied();
                let durable_end = kept.map_or(log.durable_end, |end| end.max(log.durable_end));
                let (from, to) = (durable_end.max(log.start), log.end());
                if to > from {
                    self.stats.lost_in_crash += to - from;
                    out.push(note(LogNote::LostInCrash {
                        topic: t as TopicId,
                        partition: p as PartitionId,
                        from,
                        to,
                    }));
                }
                *log = PartitionLog::default();
            }
        }
        self.groups.iter_mut().for_each(|g| *g = None);
        self.producers.clear();
        self.offsets_pending.clear();
        self.commit_replies.clear();
        self.flush = None;
        self.wake_armed_ms = None;
        self.writes_stopped = false;
        self.coordinator.crash();
    }

    /// Where each partition's log ends on disk after a torn crash: the flush
    /// in flight appended one batch per partition in `ends` order, then the
    /// `Producers` and `Offsets` batches, and the coordinator's `Txn` batch
    /// last (so a `CompleteCommit` that lands finds its markers and offsets
    /// on disk); every batch before the torn one landed whole. Says so in a [`LogNote::TornWrite`].
    fn landed_whole(
        &self,
        report: &crate::storage::CrashReport,
        out: &mut Vec<Output>,
    ) -> BTreeMap<(TopicId, PartitionId), u64> {
        let mut landed = BTreeMap::new();
        let Some(torn) = &report.torn else {
            return landed;
        };
        let flush = self
            .flush
            .as_ref()
            .expect("a torn write needs a flush in flight");
        assert_eq!(
            report.lost_flushes.first(),
            Some(&flush.id),
            "the torn flush is the broker's one flush in flight"
        );
        for &(t, p, end) in &flush.ends {
            let stream = StreamId::Partition {
                topic: t,
                partition: p,
            };
            if stream == torn.stream {
                break;
            }
            landed.insert((t, p), end);
        }
        out.push(note(LogNote::TornWrite {
            stream: torn.stream,
            kept_bytes: u32::try_from(torn.kept_bytes).unwrap_or(u32::MAX),
            batch_len: u32::try_from(torn.batch_len).unwrap_or(u32::MAX),
        }));
        landed
    }

    /// Back up: logs and committed offsets come back from the durable image
    /// (Kafka's log recovery: CRC-checked, truncated at the first bad batch).
    pub fn restart(&mut self, now_ms: u64, storage: &mut dyn Storage, out: &mut Vec<Output>) {
        assert!(!self.up);
        self.up = true;
        let recovery = storage.recover();
        self.rebuild(now_ms, &recovery, storage, out);
    }

    /// A new broker process on a log that an earlier visit left (a page
    /// reload): recovery runs exactly as in [`restart`](Self::restart), then
    /// every record it kept is listed as a [`LogNote::Carried`] so the checker
    /// knows those ids were published before this run began.
    ///
    /// `group_topics[g]` is the topic group `g` reads (the scenario knows it;
    /// the `Offsets` stream stores only group and partition). It decides which
    /// records count as consumed: those below the group's committed offset.
    ///
    /// Idempotent producer ids are derived from client id and restart count
    /// (see [`super::dedup::producer_id`]), so the new page's producers would
    /// reuse the earlier visit's ids and their sequence 0 would look like a
    /// duplicate. Kafka hands a new producer process a fresh id
    /// (`InitProducerId`); here the broker shifts every id it is sent past
    /// the recovered ones ([`LogBroker::producer_id_shift`]).
    ///
    /// `recovery` is what [`Storage::recover`] returned for `storage`, the
    /// broker's store (it may still cut a record recovery let through, see
    /// [`RecordLayoutError`]).
    pub fn resume(
        &mut self,
        now_ms: u64,
        recovery: &Recovery,
        group_topics: &[Option<TopicId>],
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        assert!(self.up, "resume builds on a running, empty broker");
        assert_eq!(self.record_count(), 0, "resume only an empty broker");
        self.rebuild(now_ms, recovery, storage, out);
        self.producer_id_shift = self.producers.incarnations_end();
        for (g, topic) in group_topics.iter().enumerate() {
            let group = self.groups.get_mut(g).and_then(Option::as_mut);
            if let (Some(group), Some(topic)) = (group, topic) {
                if group.members.is_empty() {
                    group.topic = *topic;
                }
            }
        }
        if let Some(checkpoint) = storage.acked_checkpoint() {
            self.acked_before(&checkpoint, out);
        }
        self.carry(group_topics, out);
    }

    /// One [`LogNote::AckedBefore`] per partition, from the store's
    /// checkpoint (a partition it does not name had nothing acknowledged),
    /// beside where recovery found that partition's log ending. A name for
    /// a partition this broker lacks is ignored (the world refuses a stored
    /// log that has one).
    fn acked_before(&self, checkpoint: &BTreeMap<StreamId, u64>, out: &mut Vec<Output>) {
        for (t, topic) in self.topics.iter().enumerate() {
            for (p, log) in topic.partitions.iter().enumerate() {
                let (topic, partition) = (t as TopicId, p as PartitionId);
                let stream = StreamId::Partition { topic, partition };
                out.push(note(LogNote::AckedBefore {
                    topic,
                    partition,
                    acked_end: checkpoint.get(&stream).copied().unwrap_or(0),
                    recovered_end: log.end(),
                }));
            }
        }
    }

    /// One [`LogNote::Carried`] per recovered record; a recovered
    /// commit/abort marker is told as the `txn_marker` note that wrote it, so
    /// the checker knows a consumer's jump over its offset is not a skip.
    fn carry(&self, group_topics: &[Option<TopicId>], out: &mut Vec<Output>) {
        for (t, topic) in self.topics.iter().enumerate() {
            let t = t as TopicId;
            for (p, log) in topic.partitions.iter().enumerate() {
                let p = p as PartitionId;
                let committed: Vec<u64> = group_topics
                    .iter()
                    .enumerate()
                    .filter(|(_, topic)| **topic == Some(t))
                    .filter_map(|(g, _)| self.committed(g as GroupId, p))
                    .collect();
                for r in log.records.iter() {
                    if let Some(TxnTag {
                        producer_id,
                        marker: Some(commit),
                        ..
                    }) = r.txn
                    {
                        out.push(note(LogNote::Txn(TxnNote::Marker {
                            producer_id,
                            topic: t,
                            partition: p,
                            offset: r.offset,
                            commit,
                        })));
                        continue;
                    }
                    let carried = carried_as(log, r, &committed);
                    out.push(note(LogNote::Carried {
                        msg: r.msg.id,
                        producer: r.msg.producer,
                        key: r.msg.key,
                        topic: t,
                        partition: p,
                        offset: r.offset,
                        carried,
                    }));
                }
            }
        }
    }

    /// Added to the restart count in every idempotent producer id this broker
    /// is sent: 0, except after a [`resume`](Self::resume).
    pub fn producer_id_shift(&self) -> u32 {
        self.producer_id_shift
    }

    /// The highest message id in any log (markers excluded): a resumed world
    /// numbers new messages after it.
    pub fn max_msg_id(&self) -> Option<MsgId> {
        self.held().into_iter().max()
    }

    /// Rebuilds logs, committed offsets, producer and transaction state from
    /// `recovery`, and says in the history what was kept and what was cut.
    fn rebuild(
        &mut self,
        now_ms: u64,
        recovery: &Recovery,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        truncation_notes(recovery, out);
        let mut committed: BTreeMap<(GroupId, PartitionId), u64> = BTreeMap::new();
        for (stream, batches) in &recovery.streams {
            match *stream {
                StreamId::Partition { topic, partition } => {
                    if !self.has_partition(topic, partition) {
                        continue;
                    }
                    if let Err(e) = self.restore_partition(topic, partition, batches) {
                        if !cut_stream(*stream, e.offset, storage, out) {
                            self.writes_stopped = true;
                        }
                    }
                }
                StreamId::Offsets => {
                    for r in batches.iter().flat_map(|b| &b.records) {
                        // Not one we write: cut there with a report, as a
                        // damaged batch is (later commits may depend on it).
                        let Some(k) = parse_offsets_record(r) else {
                            if !cut_stream(*stream, r.offset, storage, out) {
                                self.writes_stopped = true;
                            }
                            self.offsets_stream_end = r.offset;
                            break;
                        };
                        committed.insert(k.0, k.1);
                        self.offsets_stream_end = r.offset + 1;
                    }
                }
                StreamId::Producers => {
                    // An unreadable snapshot is dropped: the log replay
                    // below then reads every partition from its start.
                    let _ = self.producers.restore(batches);
                }
                StreamId::Txn => {}
            }
        }
        for ((group, partition), offset) in committed {
            // A group the scenario does not know (a resume under another
            // setup) cannot be joined: its offsets are left out.
            let Some(g) = self.groups.get_mut(group as usize) else {
                continue;
            };
            // Group membership is not persisted; the offsets are. Members
            // rejoin and the group takes its topic from the first JoinGroup.
            let g = g.get_or_insert_with(|| GroupState {
                topic: 0,
                assignor: Assignor::Range,
                generation: 0,
                members: BTreeMap::new(),
                committed: BTreeMap::new(),
            });
            g.committed.insert(partition, offset);
        }
        self.producer_state_from_log(out);
        for (producer_id, epoch, partitions) in self.producers.summary() {
            out.push(note(LogNote::RecoveredProducer {
                producer_id,
                epoch,
                partitions,
            }));
        }
        // After the groups' own offsets: a commit that recovery completes
        // carries newer offsets than the ones on disk.
        self.recover_txns(now_ms, recovery.streams.get(&StreamId::Txn), storage, out);
        self.committed_notes(out);
        for (t, topic) in self.topics.iter().enumerate() {
            for (p, log) in topic.partitions.iter().enumerate() {
                out.push(note(LogNote::Recovered {
                    topic: t as TopicId,
                    partition: p as PartitionId,
                    to: log.end(),
                }));
            }
        }
        for t in 0..self.topics.len() {
            for p in 0..self.topics[t].partitions.len() {
                self.apply_retention_count(t as TopicId, p as PartitionId, out);
            }
        }
        self.apply_retention_age(now_ms, out);
        self.arm_wake(now_ms, out);
    }

    /// Whether the scenario has this partition (a stored log from another
    /// setup may name more; [`crate::world::World::resume`] refuses it).
    pub fn has_partition(&self, topic: TopicId, partition: PartitionId) -> bool {
        let topic = self.topics.get(topic as usize);
        topic.is_some_and(|t| (partition as usize) < t.partitions.len())
    }

    /// Every committed offset the broker holds, as recovered.
    fn committed_notes(&self, out: &mut Vec<Output>) {
        for (g, group) in self.groups.iter().enumerate() {
            let Some(group) = group else { continue };
            for (&partition, &offset) in &group.committed {
                out.push(note(LogNote::RecoveredOffset {
                    group: g as GroupId,
                    partition,
                    offset,
                }));
            }
        }
    }

    /// Reads one partition's recovered batches back into its log. Stops at
    /// the first record whose value this broker cannot read (see
    /// [`RecordLayoutError`]) and returns that error.
    fn restore_partition(
        &mut self,
        topic: TopicId,
        partition: PartitionId,
        batches: &[RecordBatch],
    ) -> Result<(), RecordLayoutError> {
        let log = &mut self.topics[topic as usize].partitions[partition as usize];
        let key_of = |k: &[u8]| {
            self.key_names
                .iter()
                .position(|n| n.as_bytes() == k)
                .map(|i| i as KeyId)
        };
        let mut result = Ok(());
        for r in batches.iter().flat_map(|b| &b.records) {
            if log.records.is_empty() {
                log.start = r.offset;
            }
            assert_eq!(r.offset, log.end(), "recovery yields dense offsets");
            let record = match decode_record(r, &key_of) {
                Ok(record) => record,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            log.txn.on_record(r.offset, record.txn);
            log.records.push_back(record);
        }
        log.stored_end = log.end();
        log.durable_end = log.end();
        result
    }

    /// Kafka's producer-state recovery: the log wins over the `Producers`
    /// snapshot. Per partition, forget sequences at offsets recovery cut,
    /// then replay the idempotent records past what the snapshot covers
    /// (see [`super::dedup`]). Says so when the snapshot was stale.
    fn producer_state_from_log(&mut self, out: &mut Vec<Output>) {
        let mut forgot = BTreeMap::new();
        for (t, topic) in self.topics.iter().enumerate() {
            for (p, log) in topic.partitions.iter().enumerate() {
                let (t, p) = (t as TopicId, p as PartitionId);
                forgot.insert((t, p), self.producers.truncate(t, p, log.end()));
            }
        }
        let horizons = self.producers.horizons();
        for (t, topic) in self.topics.iter().enumerate() {
            for (p, log) in topic.partitions.iter().enumerate() {
                let (t, p) = (t as TopicId, p as PartitionId);
                let from = horizons.get(&(t, p)).map_or(log.start, |h| h + 1);
                let from = from.max(log.start);
                let mut replayed = 0;
                for r in log.records.range((from - log.start) as usize..) {
                    if let Some(tag) = r.idem {
                        replayed += u32::from(self.producers.replay(tag, t, p, r.offset));
                    }
                }
                let forgot = forgot[&(t, p)];
                if replayed > 0 || forgot > 0 {
                    out.push(note(LogNote::ProducerStateFromLog {
                        topic: t,
                        partition: p,
                        from,
                        to: log.end(),
                        replayed,
                        forgot,
                    }));
                }
            }
        }
    }

    /// Resolves a group's topic once a member joins after a restart.
    pub fn group_topic(&self, group: GroupId) -> Option<TopicId> {
        self.groups.get(group as usize)?.as_ref().map(|g| g.topic)
    }

    /// Messages the broker holds (every record in every log).
    pub fn held(&self) -> Vec<MsgId> {
        let logs = self.topics.iter().flat_map(|t| &t.partitions);
        logs.flat_map(|l| l.records.iter().filter(|r| !is_marker(r)).map(|r| r.msg.id))
            .collect()
    }

    pub fn record_count(&self) -> u64 {
        let logs = self.topics.iter().flat_map(|t| &t.partitions);
        logs.map(|l| l.records.len() as u64).sum()
    }

    /// Each partition's range, durability, owners and lag; the newest
    /// `limit` message ids per partition.
    pub fn partition_views(&self, limit: usize) -> Vec<PartitionView> {
        let mut views = Vec::new();
        for (t, topic) in self.topics.iter().enumerate() {
            for (p, log) in topic.partitions.iter().enumerate() {
                let p = p as PartitionId;
                let groups = self
                    .groups
                    .iter()
                    .enumerate()
                    .filter_map(|(gi, g)| Some((gi as GroupId, g.as_ref()?)))
                    .filter(|(_, g)| g.topic as usize == t)
                    .map(|(gi, g)| {
                        let owner = g
                            .members
                            .iter()
                            .find(|(_, m)| m.partitions & (1 << p) != 0)
                            .map(|(c, _)| *c);
                        let committed = g.committed.get(&p).copied().unwrap_or(log.start);
                        (gi, owner, committed, log.end().saturating_sub(committed))
                    })
                    .collect();
                views.push(PartitionView {
                    topic: topic.name.clone(),
                    partition: p,
                    start: log.start,
                    end: log.end(),
                    durable_end: log.durable_end,
                    groups,
                    msgs_from: log.end() - log.records.len().min(limit) as u64,
                    msgs: log
                        .records
                        .iter()
                        .rev()
                        .take(limit)
                        .rev()
                        .map(|r| r.msg.id)
                        .collect(),
                });
            }
        }
        views
    }

    /// The log end offset of a partition (markers included).
    pub fn log_end(&self, topic: TopicId, partition: PartitionId) -> u64 {
        self.topics[topic as usize].partitions[partition as usize].end()
    }

    /// A group's committed offset for a partition.
    pub fn committed(&self, group: GroupId, partition: PartitionId) -> Option<u64> {
        self.groups
            .get(group as usize)?
            .as_ref()?
            .committed
            .get(&partition)
            .copied()
    }

    /// A group's members, their partitions (0 = idle) and the generation.
    pub fn members(&self, group: GroupId) -> (u32, Vec<(ClientId, PartitionSet)>) {
        match self.groups.get(group as usize).and_then(|g| g.as_ref()) {
            Some(g) => (
                g.generation,
                g.members.iter().map(|(c, m)| (*c, m.partitions)).collect(),
            ),
            None => (0, Vec::new()),
        }
    }
}

/// Starts `member` on the partitions of `set` at the committed offset, else
/// per `auto.offset.reset`, and says so in the history.
fn start_positions(
    (group, member): (GroupId, ClientId),
    m: &mut Member,
    set: PartitionSet,
    committed: &BTreeMap<PartitionId, u64>,
    topic: &TopicState,
    out: &mut Vec<Output>,
) {
    for p in partitions_of(set) {
        let log = &topic.partitions[p as usize];
        let offset = match (committed.get(&p), m.reset) {
            (Some(&c), _) => c,
            (None, OffsetReset::Earliest) => log.start,
            (None, OffsetReset::Latest) => log.end(),
        };
        m.positions.insert(p, offset);
        out.push(note(LogNote::Position {
            group,
            member,
            partition: p,
            offset,
        }));
    }
}

/// Why `member`'s commit for `generation` is refused, if it is.
fn commit_error(g: Option<&GroupState>, member: ClientId, generation: u32) -> Option<CommitError> {
    let Some((g, m)) = g.and_then(|g| Some((g, g.members.get(&member)?))) else {
        return Some(CommitError::UnknownMemberId);
    };
    if generation == g.generation {
        None
    } else if m.positions_generation != Some(g.generation) {
        Some(CommitError::RebalanceInProgress)
    } else {
        Some(CommitError::IllegalGeneration)
    }
}

fn note(n: LogNote) -> Output {
    Output::Note(super::Note::Log(n))
}

/// One [`LogNote::Truncated`] per stream recovery cut.
fn truncation_notes(recovery: &Recovery, out: &mut Vec<Output>) {
    for (stream, report) in &recovery.report.streams {
        let Some(cut) = &report.truncated else {
            continue;
        };
        out.push(note(LogNote::Truncated {
            stream: *stream,
            batch_index: u32::try_from(cut.batch_index).unwrap_or(u32::MAX),
            offset: report.log_end_offset.unwrap_or(0),
            cause: cut.reason.cause(),
            dropped_batches: u32::try_from(cut.dropped_batches).unwrap_or(u32::MAX),
            dropped_bytes: cut.dropped_bytes as u64,
        }));
    }
}

/// Cuts `stream` at `offset` in the store (the record there could not be
/// read: a partition record with a layout this broker does not write, see
/// [`RecordLayoutError`], or an unreadable offsets or `Txn` record) and
/// reports it as a `truncated` note with cause `bad_format`, as recovery
/// reports a damaged batch; new records then take its offset.
///
/// A store that cannot cut (see [`Storage::truncate`]: it cannot, or it is
/// no longer writable) leaves no safe way to write on: the next append would
/// land on an offset the disk still holds. Then `false`, with a
/// `writes_stopped` note, and the caller stops durable writes until a restart.
pub(super) fn cut_stream(
    stream: StreamId,
    offset: u64,
    storage: &mut dyn Storage,
    out: &mut Vec<Output>,
) -> bool {
    let cut = match storage.truncate(stream, offset) {
        Ok(cut) => cut,
        Err(_refused) => {
            out.push(note(LogNote::WritesStopped { quota: false }));
            return false;
        }
    };
    out.push(note(LogNote::Truncated {
        stream,
        batch_index: u32::try_from(cut.batch_index).unwrap_or(u32::MAX),
        offset,
        cause: cut.reason.cause(),
        dropped_batches: u32::try_from(cut.dropped_batches).unwrap_or(u32::MAX),
        dropped_bytes: cut.dropped_bytes as u64,
    }));
    true
}

/// What a recovered record proves about its earlier visit (see [`Carried`]).
/// `committed`: the offsets committed for its partition by the groups that
/// read its topic.
fn carried_as(log: &PartitionLog, r: &StoredRecord, committed: &[u64]) -> Carried {
    if let Some(tag) = r.txn {
        if log.txn.is_aborted(tag.producer_id, r.offset) {
            return Carried::Aborted;
        }
        let mut open = log.txn.open();
        if open.any(|(pid, first)| pid == tag.producer_id && first <= r.offset) {
            return Carried::InDoubt;
        }
    }
    if committed.iter().any(|&c| r.offset < c) {
        Carried::Consumed
    } else {
        Carried::Acked
    }
}

fn poll_end(to: ClientId, poll: u64) -> Output {
    Output::Log {
        to,
        reply: LogReply::PollEnd { poll },
    }
}

/// The partitions in a set, lowest first.
pub fn partitions_of(set: PartitionSet) -> impl Iterator<Item = PartitionId> {
    (0..64u16).filter(move |p| set & (1 << p) != 0)
}

fn delete_head(
    log: &mut PartitionLog,
    t: TopicId,
    p: PartitionId,
    n: u64,
    stats: &mut LogBrokerStats,
    out: &mut Vec<Output>,
) {
    let from = log.start;
    for _ in 0..n {
        log.records.pop_front();
    }
    log.start += n;
    stats.retention_deleted += n;
    out.push(note(LogNote::RetentionDeleted {
        topic: t,
        partition: p,
        from,
        to: log.start,
    }));
}

/// Deals `partitions` out to `members` (in member-id order).
///
/// - `range` (Kafka's `RangeAssignor`): each member gets a contiguous range;
///   the first `partitions % members` members get one extra.
/// - `roundrobin` (`RoundRobinAssignor`): partition `p` goes to member
///   `p % members`.
///
/// Members past the partition count get nothing: they are idle.
pub fn assign(assignor: Assignor, partitions: usize, members: usize) -> Vec<PartitionSet> {
    assert!(partitions <= 64, "validated: at most 64 partitions");
    let mut sets = vec![0u64; members];
    if members == 0 {
        return sets;
    }
    match assignor {
        Assignor::Range => {
            let (per, extra) = (partitions / members, partitions % members);
            let mut next = 0;
            for (i, set) in sets.iter_mut().enumerate() {
                let n = per + usize::from(i < extra);
                for p in next..next + n {
                    *set |= 1 << p;
                }
                next += n;
            }
            assert_eq!(next, partitions, "every partition assigned once");
        }
        Assignor::RoundRobin => {
            for p in 0..partitions {
                sets[p % members] |= 1 << p;
            }
        }
    }
    sets
}

/// The records appended since the last flush, as one batch.
fn unstored_batch(log: &PartitionLog, key_names: &[String]) -> Option<RecordBatch> {
    let from = log.stored_end.max(log.start);
    if from >= log.end() {
        return None;
    }
    let records = (from..log.end())
        .map(|o| {
            let r = log.get(o).expect("in range");
            encode_record(r, key_names)
        })
        .collect();
    Some(RecordBatch {
        base_offset: from,
        records,
    })
}

fn offsets_key(group: GroupId, partition: PartitionId) -> [u8; 4] {
    let [g0, g1] = group.to_le_bytes();
    let [p0, p1] = partition.to_le_bytes();
    [g0, g1, p0, p1]
}

fn parse_offsets_record(r: &Record) -> Option<((GroupId, PartitionId), u64)> {
    let k = r.key.as_deref()?;
    let v: [u8; 8] = r.value.as_slice().try_into().ok()?;
    if k.len() != 4 {
        return None;
    }
    let group = u16::from_le_bytes([k[0], k[1]]);
    let partition = u16::from_le_bytes([k[2], k[3]]);
    Some(((group, partition), u64::from_le_bytes(v)))
}

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), seed
/// `0x9747b28c`, and `toPositive(hash) % partitions` as the default
/// partitioner computes it, so a key lands in the same partition as in Kafka.
pub fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h = SEED ^ len as u32;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

/// The partition Kafka's default partitioner picks for a key.
pub fn partition_for_key(key: &[u8], partitions: u32) -> PartitionId {
    assert!(partitions > 0 && partitions <= 64);
    ((murmur2(key) & 0x7fff_ffff) % partitions) as PartitionId
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest.testMurmur2.
        let cases: [(&[u8], i32); 4] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
        ];
        for (data, want) in cases {
            assert_eq!(
                murmur2(data) as i32,
                want,
                "{:?}",
                std::str::from_utf8(data)
            );
        }
    }

    #[test]
    fn range_and_round_robin_give_each_partition_one_owner() {
        for assignor in [Assignor::Range, Assignor::RoundRobin] {
            for parts in 1..=8 {
                for members in 1..=10 {
                    let sets = assign(assignor, parts, members);
                    let union = sets.iter().fold(0u64, |a, s| {
                        assert_eq!(a & s, 0, "one owner per partition");
                        a | s
                    });
                    assert_eq!(union, (1u64 << parts) - 1);
                    let idle = sets.iter().filter(|s| **s == 0).count();
                    assert_eq!(idle, members.saturating_sub(parts));
                }
            }
        }
        assert_eq!(assign(Assignor::Range, 5, 2), vec![0b00111, 0b11000]);
        assert_eq!(assign(Assignor::RoundRobin, 5, 2), vec![0b10101, 0b01010]);
    }
}
