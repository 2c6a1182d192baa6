//! The log broker: Kafka / Kinesis semantics on a simulated disk.
//!
//! Topics are split into partitions, each an append-only log with dense
//! offsets. Producers append; consumer groups read and commit how far they
//! got; consuming never deletes. Everything durable goes through
//! [`Storage`] in group commits, so a crash loses exactly what was not on
//! disk yet, and a restart rebuilds the broker from what was.
//!
//! [`LogBroker`] is a thin composition: each job below owns its state, and
//! the broker routes every request, timer and storage event to the ones it
//! concerns.
//!
//! | room | job |
//! |---|---|
//! | `protocol` | the ids, requests and replies a client exchanges with the broker |
//! | `notes` | what the broker tells the history |
//! | `partition` | the partition log: records, log start/end, durable end, `acks` answers |
//! | `retention` | `retention.ms` / `retention.records`: deleting from the head |
//! | `partitioner` | murmur2, Kafka's default partitioner for keyed records |
//! | `groups` | consumer groups: membership, rebalances, fetch positions, offset commits and their fencing |
//! | `producers` | idempotent producers (`enable.idempotence`): sequence numbers, duplicates, recovery from the log |
//! | [`txn`] | transactions: the coordinator, markers, the last stable offset |
//! | `durability` | the group commit: what goes to storage, one flush in flight, `writes_stopped` |
//! | `recovery` | crash, restart and resume: what is kept, what is cut, what is rebuilt |
//! | `record` | how one record is laid out in storage, and read back fallibly |
//! | `view` | what the UI and the tests may ask |
//!
//! Simplifications (said here and in the UI): one broker, no replication, so
//! the high watermark is the log end and `acks=1` and `acks=all` differ only
//! by the `fsync`. In Kafka's words this broker runs with
//! `flush.messages=1` (an `acks=all` answer waits for the group commit's
//! `fsync`); a scenario may say so explicitly with
//! `"cluster": { "brokers": 1, "flush.messages": 1 }` (see
//! [`crate::config::ClusterSpec`]), which changes nothing; record timestamps are the broker's append time
//! (`LogAppendTime`); a rebalance happens in one step at the coordinator
//! (no waiting for every member to rejoin), so commits are fenced by
//! generation instead ([`CommitError`]); group membership is not persisted,
//! so members rejoin after a broker restart (committed offsets are persisted).

mod durability;
mod groups;
mod notes;
mod partition;
mod partitioner;
mod producers;
mod protocol;
mod record;
mod recovery;
mod retention;
pub mod txn;
mod view;

pub use groups::{assign, partitions_of};
pub use notes::{Carried, LogNote};
pub use partitioner::{murmur2, partition_for_key};
pub use producers::{producer_id, ProducerIdent};
pub use protocol::{
    CommitError, GroupId, LogRecord, LogReply, LogRequest, PartitionId, PartitionSet, Seek, TopicId,
};
pub use record::RecordLayoutError;
pub use txn::MARKER_MSG_ID;
pub use view::{LogBrokerStats, PartitionView};

use super::wake::WakeAlarm;
use super::{ClientId, Message, Output};
use crate::config::{Acks, LogBrokerSpec};
use crate::storage::{FlushId, FlushState, Storage};
use durability::{GroupCommit, Writers};
use groups::GroupCoordinator;
use partition::Partitions;
use producers::{IdempotentProduce, IdempotentTag, ProducerStates};
use txn::TxnCoordinator;

/// The log broker: one process, its partitions and its coordinators.
#[derive(Clone, Debug)]
pub struct LogBroker {
    /// Every topic's partition logs: records, offsets, retention, and the
    /// `acks=all` answers waiting for the disk.
    partitions: Partitions,
    /// The group coordinator: members, generations, fetch positions and
    /// committed offsets.
    groups: GroupCoordinator,
    /// Idempotent producers' sequence numbers (`enable.idempotence`).
    producers: ProducerStates,
    /// The transaction coordinator (Kafka runs it on a broker; here, this one).
    coordinator: TxnCoordinator,
    /// The group commit: the flush in flight and whether writes stopped.
    durability: GroupCommit,
    /// The process is running; a crashed broker gets no requests.
    up: bool,
    /// The earliest `WakeAt` asked for: session timeouts, `retention.ms`,
    /// `transaction.timeout.ms`.
    wake: WakeAlarm,
}

impl LogBroker {
    /// A running broker with the scenario's topics, no records, and
    /// `groups` consumer groups nobody joined yet. `key_names[k]` is the
    /// name of key `k`, written into the records.
    pub fn from_spec(spec: &LogBrokerSpec, key_names: Vec<String>, groups: usize) -> LogBroker {
        LogBroker {
            partitions: Partitions::from_spec(spec, key_names),
            groups: GroupCoordinator::new(groups),
            producers: ProducerStates::default(),
            coordinator: TxnCoordinator::new(),
            durability: GroupCommit::default(),
            up: true,
            wake: WakeAlarm::default(),
        }
    }

    /// A key interned after the start (a client added mid-run).
    pub fn add_key(&mut self, name: &str) {
        self.partitions.key_names.push(name.to_string());
    }

    /// A group interned after the start (a consumer added mid-run).
    pub fn add_group(&mut self) {
        self.groups.add_group();
    }

    /// Whether the process is running.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// One request from one client: to the partitions (a produce), the
    /// transaction coordinator or the group coordinator. Then the group
    /// commit takes what the request left unwritten, and the alarm is set
    /// for the next timer.
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
            } => self.produce(now_ms, from, (topic, partition), (msg, None), acks, out),
            LogRequest::ProduceIdempotent {
                topic,
                partition,
                msg,
                producer,
                sequence,
            } => {
                let at = (topic, partition);
                let req = IdempotentProduce {
                    from,
                    at,
                    msg,
                    producer,
                    sequence,
                };
                let log = self.partitions.log_mut(topic, partition);
                if let Some(idem) = self.producers.admit(req, log, out) {
                    let record = (msg, Some(idem));
                    self.produce(now_ms, from, at, record, Acks::All, out);
                }
            }
            LogRequest::Txn(r) => self.txn_request(now_ms, from, r, out),
            group_request => {
                let ctx = (&self.partitions, &self.coordinator);
                self.groups.handle(now_ms, from, group_request, ctx, out);
            }
        }
        self.maybe_flush(now_ms, storage, out);
        self.arm_wake(now_ms, out);
    }

    /// `Produce` (or an idempotent producer's record that was next in
    /// line, `idem` set, always `acks=all`): append, answer per `acks`,
    /// apply `retention.records`, and serve any poll waiting on the
    /// partition.
    fn produce(
        &mut self,
        now_ms: u64,
        from: ClientId,
        (topic, partition): (TopicId, PartitionId),
        (msg, idem): (Message, Option<IdempotentTag>),
        acks: Acks,
        out: &mut Vec<Output>,
    ) {
        let at = (topic, partition);
        let offset = self.partitions.append(now_ms, at, msg, (None, idem), out);
        let log = self.partitions.log_mut(topic, partition);
        log.acknowledge((from, msg.id), (partition, offset), acks, out);
        self.partitions.apply_retention_count(topic, partition, out);
        self.groups.serve_parked(at, &self.partitions, out);
    }

    /// Session timeouts, `retention.ms` and `transaction.timeout.ms`.
    pub fn tick(&mut self, now_ms: u64, storage: &mut dyn Storage, out: &mut Vec<Output>) {
        self.wake.fired();
        if !self.up {
            return;
        }
        self.groups.expire_sessions(now_ms, &self.partitions, out);
        self.partitions.apply_retention_age(now_ms, out);
        self.expire_txns(now_ms, out);
        self.maybe_flush(now_ms, storage, out);
        self.arm_wake(now_ms, out);
    }

    /// Asks to be woken at the next session deadline, retention expiry or
    /// transaction timeout (never at `now_ms` itself).
    fn arm_wake(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        let sessions = self.groups.session_deadlines();
        let retention = self.partitions.retention_deadlines();
        let txn_timeouts = self.coordinator.next_deadline_ms();
        let Some(next) = sessions.chain(retention).chain(txn_timeouts).min() else {
            return;
        };
        self.wake.arm(next.max(now_ms + 1), out);
    }

    /// Starts a group commit if none is in flight (see `durability`).
    fn maybe_flush(&mut self, now_ms: u64, storage: &mut dyn Storage, out: &mut Vec<Output>) {
        let writers = Writers {
            partitions: &mut self.partitions,
            producers: &mut self.producers,
            groups: &mut self.groups,
            txn: &mut self.coordinator,
        };
        self.durability.maybe_flush(now_ms, writers, storage, out);
    }

    /// The world asks storage at the flush's completion time and reports here.
    /// `Durable` releases the `acks=all` responses it covers, the decided
    /// transactions' markers and the `commitSync` answers; then the next
    /// group commit may begin.
    pub fn flush_done(
        &mut self,
        now_ms: u64,
        id: FlushId,
        state: FlushState,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        let Some(flush) = self.durability.complete(id) else {
            return; // a flush from before a crash
        };
        assert!(self.up, "a crash forgets the flush in flight");
        if state == FlushState::Durable {
            flush.settle_partitions(&mut self.partitions, out);
            if let Some(end) = flush.txn_end {
                self.txn_durable(now_ms, end, out);
            }
            flush.answer_commits(out);
        }
        self.maybe_flush(now_ms, storage, out);
    }
}
