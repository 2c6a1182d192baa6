//! Replication: a Kafka-style cluster of log brokers as sans-IO state
//! machines (issue 13).
//!
//! Each partition has `replication.factor` replicas on distinct brokers:
//! one **leader**, which takes writes, and **followers**, which copy the
//! leader's log by fetching from it. Nothing here sleeps, reads a clock
//! or sends a packet: a driver hands each broker one message at a time
//! with the virtual time, and delivers what the broker outputs (to other
//! brokers, to the controller, to clients) over whatever network it
//! simulates. The harness in [`crate::world::cluster`] is such a driver;
//! its links have latency and loss, and faults cut them.
//!
//! | room | job |
//! |---|---|
//! | `replica` | one replica's log: records with their leader epoch, the log end offset (LEO), the high watermark (HW), what is on disk, `flush.messages` / `flush.ms`, the leader epoch cache and `OffsetsForLeaderEpoch` |
//! | `leader` | the leader's side: each follower's LEO, the ISR shrinking and growing by `replica.lag.time.max.ms`, HW = min LEO over the ISR, `acks` answers, `NOT_ENOUGH_REPLICAS(_AFTER_APPEND)`, idempotent producers' sequences |
//! | `node` | one broker: the replicas it hosts, their roles, the follower's fetch loop, truncation of a divergent tail, crash and restart |
//! | `controller` | the always-available controller: which brokers are alive, leader elections (clean, or unclean when allowed), leader epochs |
//! | `coordinator` | the transaction coordinator (on the controller): producer ids and epochs per `transactional.id`, each transaction's partitions, the commit or abort decision and its markers until every leader committed them |
//! | `view` | a snapshot per broker for the page: leader, ISR, LEO and HW per partition |
//!
//! ## The rules, in Kafka's words
//!
//! - **High watermark.** The leader's HW is the smallest LEO over the
//!   in-sync replicas (ISR); it never moves back on a leader. Consumers
//!   read only below it. A follower learns the HW in each fetch answer.
//! - **ISR.** A follower that has not caught up to the leader's log end
//!   within `replica.lag.time.max.ms` leaves the ISR; it rejoins once its
//!   LEO reaches the HW. The leader proposes each change to the
//!   controller (`AlterIsr`) and applies it once approved, as ZooKeeper's
//!   conditional write and KIP-497's `AlterPartition` make it; meanwhile
//!   the HW counts the *maximal* ISR. So a zombie leader the controller
//!   no longer hears cannot shrink its ISR and commit alone.
//! - **acks.** `0` is never answered, `1` at the leader's append, `all`
//!   once the HW passed the record. With fewer in-sync replicas than
//!   `min.insync.replicas`, `acks=all` is refused before the append
//!   (`NOT_ENOUGH_REPLICAS`), or after it when the ISR shrank meanwhile
//!   (`NOT_ENOUGH_REPLICAS_AFTER_APPEND`).
//! - **fsync.** An answer waits for replication, not for the disk.
//!   Replicas flush in the background per `flush.messages` / `flush.ms`
//!   (absent both, the page cache's writeback every [`OS_WRITEBACK_MS`]).
//!   With `flush.messages=1` a replica counts a record in its LEO only
//!   once it is on disk, so every answer waits for `fsync` too.
//! - **Leader epochs.** Every leadership change bumps the epoch; each
//!   record carries the epoch of the leader that wrote it. A follower's
//!   fetch names the epoch of its last record; a leader that ended that
//!   epoch earlier answers where (KIP-101 / KIP-279, as KIP-320 folds it
//!   into the fetch), and the follower cuts its divergent tail there.
//!   With `truncation: high_watermark` it cuts at its own HW instead,
//!   the pre-KIP-101 rule that loses or forks committed records.
//! - **Idempotent producers.** Each record carries its producer id and
//!   sequence, so every replica rebuilds the producers' last sequences
//!   from its log, and a new leader still drops a retried duplicate.
//! - **Transactions.** A transactional record carries its producer id and
//!   producer epoch; the coordinator's decision reaches each partition
//!   as a commit or abort **marker**, a record appended by the leader and
//!   replicated like any other, so a new leader knows every outcome. The
//!   coordinator counts a marker written once the leader's HW passed it
//!   (Kafka writes markers with `acks=all`), and asks again, at whichever
//!   broker leads, until then. The **LSO** (last stable offset) of a
//!   partition is the first offset of a transaction whose marker is not
//!   below the HW yet, or the HW: a `read_committed` reader reads below
//!   it and gets no aborted record; a `read_uncommitted` one reads to
//!   the HW. Every transaction ends with a new producer epoch (Kafka's
//!   transactions v2, KIP-890), so a late marker or a zombie's record of
//!   an earlier transaction is refused (`INVALID_PRODUCER_EPOCH`).
//!
//! ## Simplifications (said in the docs of the page too)
//!
//! - The controller is always available: it is not a broker and cannot
//!   crash (as a KRaft quorum on its own nodes that never loses a
//!   majority). It fences a broker it has not heard from for
//!   `broker.session.timeout.ms`.
//! - Partitions are numbered across topics (`PartitionIdx`) and placed
//!   round-robin: partition `p`'s replicas are brokers `p, p+1, …` (mod
//!   the broker count), the first one the preferred leader.
//! - The core replicates records; consumer groups and committed offsets
//!   stay on the single-node log broker ([`super::log`]), whose group
//!   coordinator is not replicated yet (readers read every partition
//!   from offset 0).
//! - The transaction coordinator lives on the always-available
//!   controller, its state in the controller's memory, where Kafka keeps
//!   it in the replicated `__transaction_state` partitions and moves the
//!   coordinator when its broker dies. It answers producers at once (as
//!   the controller's metadata answers); only markers travel the
//!   network. There is no `transaction.timeout.ms` (the harness's
//!   producers never crash mid-transaction). A resumed cluster starts a
//!   new coordinator, which knows no decision: a transaction its stored
//!   logs left without a marker somewhere is committed if a stored marker
//!   of it says commit, else aborted (`world::cluster::stored`), so a
//!   commit its producer heard but no replica stored a marker of is lost;
//!   Kafka's `__transaction_state` would keep that decision.
//! - A `read_committed` fetch leaves aborted records out at the leader;
//!   Kafka's leader sends the aborted transactions' list along and the
//!   consumer drops them.

mod controller;
mod coordinator;
mod leader;
mod node;
mod replica;
mod view;

pub use controller::{Controller, PartitionState};
pub use coordinator::{TxnCoordinator, TxnError};
pub use node::BrokerNode;
pub use view::{NodeView, ReplicaView};

use crate::broker::{ClientId, MsgId};
use crate::config::Acks;
use crate::node::NodeId;

/// A partition, numbered across all topics in order (topic 0's
/// partitions first).
pub type PartitionIdx = u16;
/// A leader epoch: bumped by every leadership change of a partition.
pub type Epoch = u32;

/// Without `flush.messages` or `flush.ms`, the page cache's writeback
/// (Linux's `dirty_writeback_centisecs`, 5 s) is what brings a replica's
/// records to disk: Kafka's own default is never to `fsync`.
pub const OS_WRITEBACK_MS: u64 = 5_000;

/// Records one fetch answer carries at most (Kafka's
/// `replica.fetch.max.bytes`, counted in records).
pub const FETCH_RECORDS_MAX: usize = 500;

/// A set of broker nodes, one bit per [`NodeId`] (bit `n` = node `n`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeSet(pub u8);

impl NodeSet {
    /// The set of one node.
    pub fn of(node: NodeId) -> NodeSet {
        NodeSet(1 << node.0)
    }
    /// Whether `node` is in the set.
    pub fn has(self, node: NodeId) -> bool {
        self.0 & (1 << node.0) != 0
    }
    /// The set with `node` added.
    pub fn with(self, node: NodeId) -> NodeSet {
        NodeSet(self.0 | (1 << node.0))
    }
    /// The set without `node`.
    pub fn without(self, node: NodeId) -> NodeSet {
        NodeSet(self.0 & !(1 << node.0))
    }
    /// How many nodes it holds.
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }
    /// Whether it holds none.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Its nodes, lowest first.
    pub fn iter(self) -> impl Iterator<Item = NodeId> {
        (0..8u8).filter(move |n| self.0 & (1 << n) != 0).map(NodeId)
    }
}

/// An idempotent producer's tag on a record: who wrote it, its producer
/// epoch and its sequence number in this partition. It travels with the
/// record to every replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Idem {
    /// The producer id.
    pub producer_id: u64,
    /// The producer epoch: 0 for an idempotent producer; a transactional
    /// one gets a new epoch from the coordinator for each transaction
    /// (as Kafka's transactions v2, KIP-890), so a record or a marker of
    /// an earlier transaction is told apart from the open one.
    pub producer_epoch: u16,
    /// The record's sequence number in this partition and producer
    /// epoch, from 0 (0 on a marker).
    pub sequence: u32,
}

/// What a record is: data, or a transaction's control record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecordKind {
    /// A plain or idempotent producer's record.
    #[default]
    Data,
    /// A transactional producer's record: visible to `read_committed`
    /// readers only once its transaction's commit marker is stable.
    Txn,
    /// The commit marker of the transaction `idem` names (a control
    /// record: no message, never handed to a reader).
    Commit,
    /// The abort marker of the transaction `idem` names.
    Abort,
}

impl RecordKind {
    /// Whether it is a commit or abort marker.
    pub fn is_marker(self) -> bool {
        matches!(self, RecordKind::Commit | RecordKind::Abort)
    }
}

/// One record as every replica keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Its offset in the partition.
    pub offset: u64,
    /// The epoch of the leader that appended it.
    pub epoch: Epoch,
    /// The message it carries (0 on a marker).
    pub msg: MsgId,
    /// Set when an idempotent or transactional producer wrote it, and on
    /// every marker.
    pub idem: Option<Idem>,
    /// Data or marker.
    pub kind: RecordKind,
}

/// Why a produce was refused (Kafka's error names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProduceError {
    /// `NOT_LEADER_OR_FOLLOWER`: this broker does not lead the partition
    /// (any more); refresh the metadata and retry at the leader.
    NotLeaderOrFollower,
    /// `NOT_ENOUGH_REPLICAS`: `acks=all` with fewer in-sync replicas than
    /// `min.insync.replicas`; nothing was appended.
    NotEnoughReplicas,
    /// `NOT_ENOUGH_REPLICAS_AFTER_APPEND`: appended, but the ISR shrank
    /// below `min.insync.replicas` before the record was committed.
    NotEnoughReplicasAfterAppend,
    /// `OUT_OF_ORDER_SEQUENCE_NUMBER`: an idempotent producer's sequence
    /// skips ahead of what this leader has (a record before it is gone).
    OutOfOrderSequence,
    /// `INVALID_PRODUCER_EPOCH`: a transactional record of a producer
    /// epoch that is over here (older than this partition's, or its
    /// transaction already has its marker): a zombie's write, fenced.
    InvalidProducerEpoch,
}

impl ProduceError {
    /// Kafka's name of the error.
    pub fn name(self) -> &'static str {
        match self {
            ProduceError::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            ProduceError::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            ProduceError::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            ProduceError::OutOfOrderSequence => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            ProduceError::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
        }
    }
}

/// A client's request to one broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientRequest {
    /// `Produce` of one record.
    Produce {
        /// The partition written.
        partition: PartitionIdx,
        /// The record's message.
        msg: MsgId,
        /// When to answer.
        acks: Acks,
        /// Set by an idempotent producer.
        idem: Option<Idem>,
        /// Whether it belongs to the producer's open transaction.
        txn: bool,
    },
    /// A consumer's `Fetch`: records from `offset` on, below the HW.
    Fetch {
        /// The partition read.
        partition: PartitionIdx,
        /// The first offset wanted.
        offset: u64,
        /// `isolation.level=read_committed`: only below the LSO, and no
        /// aborted record.
        read_committed: bool,
    },
}

/// The transaction coordinator's `WriteTxnMarkers` to a partition's
/// leader: close transaction (`producer_id`, `producer_epoch`) here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarkerRequest {
    /// The partition.
    pub partition: PartitionIdx,
    /// The transaction's producer id.
    pub producer_id: u64,
    /// The transaction's producer epoch.
    pub producer_epoch: u16,
    /// Commit (true) or abort.
    pub commit: bool,
}

/// A leader's answer to a [`MarkerRequest`]: `Ok` once the marker is
/// below the high watermark (committed, as Kafka writes markers with
/// `acks=all`), or why not yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarkerAnswer {
    /// The request answered.
    pub request: MarkerRequest,
    /// Done, or the error (the coordinator retries).
    pub result: Result<(), ProduceError>,
}

/// A broker's answer to one client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientReply {
    /// The produce answer: the record's offset, or why not.
    Produced {
        /// The message answered for.
        msg: MsgId,
        /// Its partition.
        partition: PartitionIdx,
        /// Where it landed, or the error.
        result: Result<u64, ProduceError>,
    },
    /// A consumer fetch's answer: committed records (below the HW, and
    /// the LSO for `read_committed`) from the offset asked for, markers
    /// and (for `read_committed`) aborted records left out; or
    /// `NOT_LEADER_OR_FOLLOWER`.
    Fetched {
        /// The partition read.
        partition: PartitionIdx,
        /// (offset, message) of each record, in offset order, and the
        /// offset to fetch from next.
        records: Result<(Vec<(u64, MsgId)>, u64), ProduceError>,
    },
}

/// A follower's `Fetch` and the leader's answer: the replication protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerMsg {
    /// Follower → leader: records from `fetch_offset` on. The offset is
    /// also the follower's LEO, which is how the leader learns it.
    Fetch {
        /// The partition.
        partition: PartitionIdx,
        /// The leader epoch the follower believes in.
        epoch: Epoch,
        /// Where to read from: the follower's log end.
        fetch_offset: u64,
        /// The epoch of the follower's last record (KIP-320), to find a
        /// divergent tail; `None` with an empty log or HW truncation.
        last_fetched_epoch: Option<Epoch>,
        /// The follower's number for this fetch, echoed in the answer.
        fetch_id: u64,
    },
    /// Leader → follower: the answer to fetch `fetch_id`.
    FetchReply {
        /// The partition.
        partition: PartitionIdx,
        /// The fetch answered.
        fetch_id: u64,
        /// What the leader says.
        result: FetchResult,
    },
}

/// What a leader answers a follower's fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchResult {
    /// Records from the fetch offset on (maybe none, after
    /// `replica.fetch.wait.max.ms`), and the leader's HW.
    Records {
        /// The records, in offset order.
        records: Vec<Record>,
        /// The leader's high watermark.
        hw: u64,
    },
    /// The follower's last epoch ended earlier on the leader (KIP-279):
    /// `epoch` is the leader's largest epoch at or below it, and
    /// `end_offset` where it ended. Truncate there, then fetch again.
    Diverging {
        /// The leader's epoch at or below the follower's last one.
        epoch: Epoch,
        /// Where that epoch ends on the leader.
        end_offset: u64,
    },
    /// The fetch offset is past the leader's log end: truncate to it.
    OutOfRange {
        /// The leader's log end offset.
        leader_end: u64,
    },
    /// Not the leader at that epoch (stale, or fenced): wait for the
    /// controller's word and retry.
    NotLeader,
}

/// The controller's word to a broker about one partition (Kafka's
/// `LeaderAndIsr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaderAndIsr {
    /// The partition.
    pub partition: PartitionIdx,
    /// Its leader; `None` while the partition is offline.
    pub leader: Option<NodeId>,
    /// The leader epoch.
    pub epoch: Epoch,
    /// The in-sync replicas.
    pub isr: NodeSet,
    /// Every replica of the partition.
    pub replicas: NodeSet,
}

/// A leader's ISR change, told to the controller (Kafka's `AlterIsr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlterIsr {
    /// The partition.
    pub partition: PartitionIdx,
    /// The leader's epoch: a change from an older epoch is ignored.
    pub epoch: Epoch,
    /// The new ISR.
    pub isr: NodeSet,
}

/// Why a replica cut its log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TruncateReason {
    /// The leader's epoch answer (KIP-279).
    LeaderEpoch,
    /// Its own high watermark (pre-KIP-101).
    HighWatermark,
    /// The fetch offset was past the leader's end.
    OutOfRange,
}

/// What the cluster tells the history and the checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterNote {
    /// A leader appended a record.
    Appended {
        /// The leader.
        node: NodeId,
        /// The partition.
        partition: PartitionIdx,
        /// Where.
        offset: u64,
        /// The leader's epoch.
        epoch: Epoch,
        /// The message.
        msg: MsgId,
    },
    /// A leader answered a produce with success.
    Acked {
        /// The leader that answered.
        node: NodeId,
        /// The client answered.
        to: ClientId,
        /// The partition.
        partition: PartitionIdx,
        /// The record's offset.
        offset: u64,
        /// The leader's epoch.
        epoch: Epoch,
        /// The message.
        msg: MsgId,
        /// The produce's `acks`.
        acks: Acks,
    },
    /// A produce refused with an error.
    Refused {
        /// The broker that refused.
        node: NodeId,
        /// The message.
        msg: MsgId,
        /// Why.
        error: ProduceError,
    },
    /// A leader's high watermark moved.
    HighWatermark {
        /// The leader.
        node: NodeId,
        /// The partition.
        partition: PartitionIdx,
        /// Its epoch.
        epoch: Epoch,
        /// The new HW.
        hw: u64,
    },
    /// A leader shrank or grew its ISR.
    Isr {
        /// The leader.
        node: NodeId,
        /// The partition.
        partition: PartitionIdx,
        /// Its epoch.
        epoch: Epoch,
        /// The new ISR.
        isr: NodeSet,
    },
    /// The controller chose a leader (or none: offline).
    Elected {
        /// The partition.
        partition: PartitionIdx,
        /// The new leader, `None` when no eligible replica is alive.
        leader: Option<NodeId>,
        /// The new epoch.
        epoch: Epoch,
        /// The ISR after the election.
        isr: NodeSet,
        /// Whether the leader came from outside the ISR (unclean).
        unclean: bool,
    },
    /// The controller fenced a broker it had not heard from.
    Fenced {
        /// The broker.
        node: NodeId,
    },
    /// A fenced broker registered again.
    Unfenced {
        /// The broker.
        node: NodeId,
    },
    /// A replica cut its log from `from` on: these records are gone.
    Truncated {
        /// The replica's broker.
        node: NodeId,
        /// The partition.
        partition: PartitionIdx,
        /// The new log end.
        from: u64,
        /// Why.
        reason: TruncateReason,
        /// (offset, message) of every record cut.
        removed: Vec<(u64, MsgId)>,
    },
    /// A crash lost a replica's records that were not on disk.
    LostInCrash {
        /// The broker.
        node: NodeId,
        /// The partition.
        partition: PartitionIdx,
        /// (offset, message) of every record lost.
        removed: Vec<(u64, MsgId)>,
    },
}

/// What a broker (or the controller) asks its driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeOut {
    /// Send to another broker.
    ToPeer {
        /// The destination.
        to: NodeId,
        /// The message.
        msg: PeerMsg,
    },
    /// A leader's ISR change, to the controller.
    ToController(AlterIsr),
    /// A leader's marker answer, to the transaction coordinator.
    ToCoordinator(MarkerAnswer),
    /// The controller's word, to one broker.
    ToBroker {
        /// The destination.
        to: NodeId,
        /// The word.
        msg: LeaderAndIsr,
    },
    /// An answer to a client.
    ToClient {
        /// The client.
        to: ClientId,
        /// The answer.
        reply: ClientReply,
    },
    /// Call `tick` at this virtual time.
    WakeAt(u64),
    /// For the history and the checker.
    Note(ClusterNote),
}
