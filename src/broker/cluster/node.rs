//! One broker of the cluster: the replicas it hosts, leading some and
//! following others, and what a crash and a restart do to them.
//!
//! A follower runs a fetch loop: one fetch outstanding at a time, the
//! next one sent when the answer arrives (with `flush.messages=1`, once
//! the copied records are on disk), again after a timeout if an answer
//! was lost, later after a `NotLeader` answer. A slow follower
//! (`slow_follower`) sends none until its stall ends.

use super::leader::{Ctx, LeaderState};
use super::replica::{FlushPolicy, ReplicaLog};
use super::view::{NodeView, ReplicaView};
use super::{
    ClientReply, ClientRequest, ClusterNote, Epoch, FetchResult, Idem, LeaderAndIsr, MarkerAnswer,
    MarkerRequest, NodeOut, NodeSet, PartitionIdx, PeerMsg, ProduceError, Record, RecordKind,
    TruncateReason, FETCH_RECORDS_MAX,
};
use crate::broker::ClientId;
use crate::config::{ClusterSpec, Truncation};
use crate::node::NodeId;
use std::collections::BTreeMap;

/// A follower's fetch loop.
#[derive(Clone, Copy, Debug, Default)]
struct Fetcher {
    /// The fetch in flight: (its id, when to give up on its answer).
    outstanding: Option<(u64, u64)>,
    /// No fetch before this (after a `NotLeader` answer).
    retry_at_ms: u64,
}

/// A replica's role.
#[derive(Clone, Debug)]
enum Role {
    /// It leads the partition at the replica's epoch.
    Leader(LeaderState),
    /// It follows `Replica::leader` (or waits for the controller's word).
    Follower(Fetcher),
}

/// One replica of one partition on this broker.
#[derive(Clone, Debug)]
struct Replica {
    /// Its log.
    log: ReplicaLog,
    /// The newest leader epoch it was told of.
    epoch: Epoch,
    /// The leader at that epoch, as the controller said.
    leader: Option<NodeId>,
    /// What it does.
    role: Role,
}

/// One broker: its replicas, by partition, and whether it runs.
#[derive(Clone, Debug)]
pub struct BrokerNode {
    /// Its id (`b1` … `b5`).
    id: NodeId,
    /// Whether the process runs.
    up: bool,
    /// The cluster's settings.
    spec: ClusterSpec,
    /// How its replicas flush.
    policy: FlushPolicy,
    /// The replicas it hosts (from the controller's first word about
    /// each). Bound: the partitions.
    replicas: BTreeMap<PartitionIdx, Replica>,
    /// The next fetch's id.
    next_fetch_id: u64,
    /// The fetcher stalls until this time (`slow_follower`).
    slow_until_ms: u64,
    /// A negative control's switch: a leader answers the coordinator's
    /// marker at its append, not once it is committed.
    markers_at_append: bool,
}

impl BrokerNode {
    /// A running broker with no replicas yet.
    pub fn new(id: NodeId, spec: &ClusterSpec, fsync_latency_ms: u64) -> BrokerNode {
        BrokerNode {
            id,
            up: true,
            spec: *spec,
            policy: FlushPolicy::new(spec, fsync_latency_ms),
            replicas: BTreeMap::new(),
            next_fetch_id: 0,
            slow_until_ms: 0,
            markers_at_append: false,
        }
    }

    /// A negative control's switch (no Kafka setting): answer the
    /// coordinator's markers at the leader's append, before they are
    /// replicated, so a leader's crash can take a decided marker along.
    pub fn answer_markers_at_append(&mut self) {
        self.markers_at_append = true;
    }

    /// Its id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Whether the process runs.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// A client's request: a produce to a partition it leads, or a
    /// consumer's fetch below the HW.
    pub fn client(
        &mut self,
        now_ms: u64,
        from: ClientId,
        req: ClientRequest,
        out: &mut Vec<NodeOut>,
    ) {
        assert!(self.up, "the driver drops requests to a crashed broker");
        match req {
            ClientRequest::Produce {
                partition,
                msg,
                acks,
                idem,
                txn,
            } => {
                let (id, spec, policy) = (self.id, &self.spec, &self.policy);
                let Some((r, Role::Leader(l))) = self.replicas.get_mut(&partition).map(split)
                else {
                    let error = ProduceError::NotLeaderOrFollower;
                    out.push(NodeOut::Note(ClusterNote::Refused {
                        node: id,
                        msg,
                        error,
                    }));
                    let reply = ClientReply::Produced {
                        msg,
                        partition,
                        result: Err(error),
                    };
                    return out.push(NodeOut::ToClient { to: from, reply });
                };
                let mut ctx = ctx_of(id, partition, r.0, now_ms, (spec, policy), out);
                l.produce(r.1, (from, msg, acks, idem, txn), &mut ctx);
                if let Some(at) = r.1.flush(now_ms, policy) {
                    out.push(NodeOut::WakeAt(at));
                }
            }
            ClientRequest::Fetch {
                partition,
                offset,
                read_committed,
            } => {
                let records = self.consumer_fetch(partition, offset, read_committed);
                let reply = ClientReply::Fetched { partition, records };
                out.push(NodeOut::ToClient { to: from, reply });
            }
        }
    }

    /// A consumer's fetch at the leader: records from `offset` below the
    /// HW, or for `read_committed` below the LSO and without the records
    /// of aborted transactions (Kafka's leader sends the aborted
    /// transactions' list and the consumer drops them; here the leader
    /// drops them). Markers never reach a reader. Returns the records and
    /// where to fetch next.
    fn consumer_fetch(
        &self,
        partition: PartitionIdx,
        offset: u64,
        read_committed: bool,
    ) -> Result<(Vec<(u64, crate::broker::MsgId)>, u64), ProduceError> {
        let r = self.replicas.get(&partition);
        let Some(r) = r.filter(|r| matches!(r.role, Role::Leader(_))) else {
            return Err(ProduceError::NotLeaderOrFollower);
        };
        let log = &r.log;
        let stable = if read_committed { log.lso() } else { log.hw };
        let to = stable.min(offset + FETCH_RECORDS_MAX as u64).max(offset);
        let at = |o: u64| &log.records[usize::try_from(o).expect("in memory")];
        // Below the LSO every transaction has its marker below the HW.
        let aborted: Vec<Idem> = match read_committed {
            true => (offset..log.hw)
                .map(at)
                .filter(|rec| rec.kind == RecordKind::Abort)
                .filter_map(|rec| rec.idem)
                .collect(),
            false => Vec::new(),
        };
        let shown = (offset..to).map(at).filter(|rec| match rec.kind {
            RecordKind::Data => true,
            RecordKind::Txn => !aborted.iter().any(|a| same_txn(a, rec.idem)),
            RecordKind::Commit | RecordKind::Abort => false,
        });
        Ok((shown.map(|rec| (rec.offset, rec.msg)).collect(), to))
    }

    /// The coordinator's `WriteTxnMarkers` for a partition: written by
    /// its leader, refused elsewhere (the coordinator asks again).
    pub fn marker(&mut self, now_ms: u64, req: MarkerRequest, out: &mut Vec<NodeOut>) {
        assert!(self.up, "the driver drops messages to a crashed broker");
        let (id, spec, policy) = (self.id, &self.spec, &self.policy);
        let Some((r, Role::Leader(l))) = self.replicas.get_mut(&req.partition).map(split) else {
            let result = Err(ProduceError::NotLeaderOrFollower);
            let answer = MarkerAnswer {
                request: req,
                result,
            };
            return out.push(NodeOut::ToCoordinator(answer));
        };
        let mut ctx = ctx_of(id, req.partition, r.0, now_ms, (spec, policy), out);
        l.write_marker(r.1, (req, self.markers_at_append), &mut ctx);
        if let Some(at) = r.1.flush(now_ms, policy) {
            out.push(NodeOut::WakeAt(at));
        }
    }

    /// A message from another broker: a follower's fetch (here as leader)
    /// or a leader's answer (here as follower).
    pub fn peer(&mut self, now_ms: u64, from: NodeId, msg: PeerMsg, out: &mut Vec<NodeOut>) {
        assert!(self.up, "the driver drops messages to a crashed broker");
        match msg {
            PeerMsg::Fetch {
                partition,
                epoch,
                fetch_offset,
                last_fetched_epoch,
                fetch_id,
            } => {
                let (id, spec, policy) = (self.id, &self.spec, &self.policy);
                let found = self.replicas.get_mut(&partition).map(split);
                let Some((r, Role::Leader(l))) = found.filter(|(r, _)| r.0 == epoch) else {
                    let result = FetchResult::NotLeader;
                    let msg = PeerMsg::FetchReply {
                        partition,
                        fetch_id,
                        result,
                    };
                    return out.push(NodeOut::ToPeer { to: from, msg });
                };
                let mut ctx = ctx_of(id, partition, r.0, now_ms, (spec, policy), out);
                let fetch = (from, fetch_offset, last_fetched_epoch, fetch_id);
                l.fetch(r.1, fetch, &mut ctx);
            }
            PeerMsg::FetchReply {
                partition,
                fetch_id,
                result,
            } => self.fetched(now_ms, partition, fetch_id, result, out),
        }
    }

    /// A follower's fetch came back: copy, truncate, or back off; then
    /// fetch again.
    fn fetched(
        &mut self,
        now_ms: u64,
        partition: PartitionIdx,
        fetch_id: u64,
        result: FetchResult,
        out: &mut Vec<NodeOut>,
    ) {
        let id = self.id;
        let Some(r) = self.replicas.get_mut(&partition) else {
            return;
        };
        let Role::Follower(f) = &mut r.role else {
            return;
        };
        if f.outstanding.map(|o| o.0) != Some(fetch_id) {
            return; // an answer to a fetch it gave up on
        }
        f.outstanding = None;
        match result {
            FetchResult::Records { records, hw } => {
                copy(&mut r.log, now_ms, &records);
                r.log.hw = hw.min(r.log.end());
                if let Some(at) = r.log.flush(now_ms, &self.policy) {
                    out.push(NodeOut::WakeAt(at));
                }
            }
            FetchResult::Diverging { epoch, end_offset } => {
                let (_, mine) = r.log.end_offset_for_epoch(epoch);
                let cut = end_offset.min(mine);
                truncate(
                    id,
                    partition,
                    &mut r.log,
                    cut,
                    TruncateReason::LeaderEpoch,
                    out,
                );
            }
            FetchResult::OutOfRange { leader_end } => {
                let reason = TruncateReason::OutOfRange;
                truncate(id, partition, &mut r.log, leader_end, reason, out);
            }
            FetchResult::NotLeader => {
                f.retry_at_ms = now_ms + self.spec.replica_fetch_wait_max_ms;
                out.push(NodeOut::WakeAt(f.retry_at_ms));
            }
        }
        self.maybe_fetch(now_ms, partition, out);
    }

    /// Sends the next fetch of a follower, if its loop allows one now.
    fn maybe_fetch(&mut self, now_ms: u64, partition: PartitionIdx, out: &mut Vec<NodeOut>) {
        let Some(r) = self.replicas.get_mut(&partition) else {
            return;
        };
        let (Role::Follower(f), Some(leader)) = (&mut r.role, r.leader) else {
            return;
        };
        let waiting_disk = self.policy.sync() && !r.log.all_durable();
        if f.outstanding.is_some() || now_ms < f.retry_at_ms || waiting_disk {
            return;
        }
        if now_ms < self.slow_until_ms {
            return out.push(NodeOut::WakeAt(self.slow_until_ms));
        }
        let fetch_id = self.next_fetch_id;
        self.next_fetch_id += 1;
        let timeout_ms = now_ms + 2 * self.spec.replica_fetch_wait_max_ms;
        f.outstanding = Some((fetch_id, timeout_ms));
        let by_epoch = self.spec.truncation == Truncation::LeaderEpoch;
        let msg = PeerMsg::Fetch {
            partition,
            epoch: r.epoch,
            fetch_offset: r.log.end(),
            last_fetched_epoch: r.log.last_epoch().filter(|_| by_epoch),
            fetch_id,
        };
        out.push(NodeOut::ToPeer { to: leader, msg });
        out.push(NodeOut::WakeAt(timeout_ms));
    }

    /// The controller's word about a partition: lead it, or follow.
    pub fn leader_and_isr(&mut self, now_ms: u64, msg: LeaderAndIsr, out: &mut Vec<NodeOut>) {
        assert!(self.up, "the driver drops messages to a crashed broker");
        let (id, spec, policy) = (self.id, &self.spec, &self.policy);
        let r = self.replicas.entry(msg.partition).or_insert(Replica {
            log: ReplicaLog::default(),
            epoch: 0,
            leader: None,
            role: Role::Follower(Fetcher::default()),
        });
        if msg.epoch < r.epoch {
            return; // stale
        }
        let partition = msg.partition;
        let mut ctx = ctx_of(id, partition, msg.epoch, now_ms, (spec, policy), out);
        if let (Role::Leader(l), true) = (&mut r.role, msg.epoch == r.epoch) {
            // The leadership it has: the controller approves an ISR.
            return l.approved(&mut r.log, msg.isr, &mut ctx);
        }
        (r.epoch, r.leader) = (msg.epoch, msg.leader);
        if msg.leader == Some(id) {
            r.log.note_epoch(msg.epoch, r.log.end());
            let mut l = LeaderState::new(now_ms, msg.isr, msg.replicas, id);
            l.advance_hw(&mut r.log, &mut ctx);
            let next = l.tick(&mut r.log, &mut ctx);
            r.role = Role::Leader(l);
            if let Some(at) = next {
                out.push(NodeOut::WakeAt(at));
            }
            return;
        }
        let old = std::mem::replace(&mut r.role, Role::Follower(Fetcher::default()));
        if let Role::Leader(l) = old {
            l.resign(true, &mut ctx);
        }
        if spec.truncation == Truncation::HighWatermark {
            let hw = r.log.hw;
            truncate(
                id,
                partition,
                &mut r.log,
                hw,
                TruncateReason::HighWatermark,
                out,
            );
        }
        self.maybe_fetch(now_ms, partition, out);
    }

    /// Timers: flushes, the leaders' ISR checks and held fetches, the
    /// followers' timeouts and retries.
    pub fn tick(&mut self, now_ms: u64, out: &mut Vec<NodeOut>) {
        if !self.up {
            return;
        }
        let partitions: Vec<PartitionIdx> = self.replicas.keys().copied().collect();
        for partition in partitions {
            let (id, spec, policy) = (self.id, &self.spec, &self.policy);
            let r = self.replicas.get_mut(&partition).expect("listed");
            if let Some(at) = r.log.flush(now_ms, policy) {
                out.push(NodeOut::WakeAt(at));
            }
            let mut ctx = ctx_of(id, partition, r.epoch, now_ms, (spec, policy), out);
            match &mut r.role {
                Role::Leader(l) => {
                    l.advance_hw(&mut r.log, &mut ctx);
                    if let Some(at) = l.tick(&mut r.log, &mut ctx) {
                        out.push(NodeOut::WakeAt(at));
                    }
                }
                Role::Follower(f) => {
                    if f.outstanding.is_some_and(|(_, timeout)| now_ms >= timeout) {
                        f.outstanding = None; // the answer was lost
                    }
                    self.maybe_fetch(now_ms, partition, out);
                }
            }
        }
    }

    /// The process dies: each replica keeps only what is on disk, and
    /// every leadership ends unanswered.
    pub fn crash(&mut self, now_ms: u64, out: &mut Vec<NodeOut>) {
        if !self.up {
            return;
        }
        self.up = false;
        for (&partition, r) in self.replicas.iter_mut() {
            let old = std::mem::replace(&mut r.role, Role::Follower(Fetcher::default()));
            if let Role::Leader(l) = old {
                let ctx = (&self.spec, &self.policy);
                l.resign(
                    false,
                    &mut ctx_of(self.id, partition, r.epoch, now_ms, ctx, out),
                );
            }
            let removed = r.log.crash();
            if !removed.is_empty() {
                let node = self.id;
                let note = ClusterNote::LostInCrash {
                    node,
                    partition,
                    removed,
                };
                out.push(NodeOut::Note(note));
            }
            r.leader = None;
        }
    }

    /// The process comes back with what its disk kept, following nobody
    /// until the controller's word arrives. Its high watermark is what it
    /// had on disk (Kafka's checkpoint file, here always current).
    pub fn restart(&mut self) {
        self.up = true;
        self.slow_until_ms = 0;
    }

    /// Before the controller's first word: this broker's disk kept
    /// `records` of `partition` (a resumed cluster, see
    /// `world::cluster::stored`). They are all on disk; the replica
    /// follows nobody until the word comes.
    pub fn restore(&mut self, partition: PartitionIdx, records: &[Record]) {
        let replica = Replica {
            log: ReplicaLog::restored(records),
            epoch: 0,
            leader: None,
            role: Role::Follower(Fetcher::default()),
        };
        let old = self.replicas.insert(partition, replica);
        assert!(old.is_none(), "one stored log per replica");
    }

    /// The `slow_follower` fault: no fetch until `until_ms`.
    pub fn stall_fetcher(&mut self, until_ms: u64, out: &mut Vec<NodeOut>) {
        self.slow_until_ms = until_ms;
        out.push(NodeOut::WakeAt(until_ms));
    }

    /// A clean shutdown (the run's end): every replica's log is written
    /// whole, as Kafka flushes every log on a controlled shutdown.
    pub fn shut_down(&mut self) {
        self.replicas.values_mut().for_each(|r| r.log.all_written());
    }

    /// Each replica's (partition, records, the end of what is on disk or
    /// being fsynced): what a store behind this broker must hold (see
    /// `world::cluster::disk`).
    pub fn disk_ends(&self) -> impl Iterator<Item = (PartitionIdx, &[Record], u64)> {
        let each = self.replicas.iter();
        each.map(|(&p, r)| (p, &r.log.records[..], r.log.fsync_end()))
    }

    /// A replica's records, for the checker at quiescence.
    pub fn records(&self, partition: PartitionIdx) -> Option<&[Record]> {
        self.replicas.get(&partition).map(|r| &r.log.records[..])
    }

    /// What the page draws of this broker (see [`NodeView`]).
    pub fn view(&self) -> NodeView {
        let replicas = self.replicas.iter().map(|(&partition, r)| {
            let (isr, follower_leos) = match &r.role {
                Role::Leader(l) => (Some(l.isr), l.follower_leos().collect()),
                Role::Follower(_) => (None, Vec::new()),
            };
            ReplicaView {
                partition,
                leader: r.leader,
                epoch: r.epoch,
                isr,
                replicas: match &r.role {
                    Role::Leader(l) => l.replicas(),
                    Role::Follower(_) => NodeSet::default(),
                },
                follower_leos,
                leo: r.log.end(),
                hw: r.log.hw,
                durable_end: r.log.durable_end,
            }
        });
        NodeView {
            node: self.id,
            up: self.up,
            replicas: replicas.collect(),
        }
    }
}

/// Whether a record's tag names the transaction (producer id and epoch)
/// of `a`.
fn same_txn(a: &Idem, tag: Option<Idem>) -> bool {
    tag.is_some_and(|t| (t.producer_id, t.producer_epoch) == (a.producer_id, a.producer_epoch))
}

/// A replica as (epoch, log) and its role, borrowed apart.
fn split(r: &mut Replica) -> ((Epoch, &mut ReplicaLog), &mut Role) {
    ((r.epoch, &mut r.log), &mut r.role)
}

/// The leader's context for one call.
fn ctx_of<'a>(
    node: NodeId,
    partition: PartitionIdx,
    epoch: Epoch,
    now_ms: u64,
    (spec, policy): (&'a ClusterSpec, &'a FlushPolicy),
    out: &'a mut Vec<NodeOut>,
) -> Ctx<'a> {
    Ctx {
        node,
        partition,
        epoch,
        now_ms,
        spec,
        policy,
        out,
    }
}

/// A follower copies the leader's records that continue its log.
fn copy(log: &mut ReplicaLog, now_ms: u64, records: &[Record]) {
    for rec in records {
        if rec.offset < log.end() {
            continue; // already here
        }
        if rec.offset != log.end() {
            break; // a gap: the next fetch asks from the log end again
        }
        log.append(now_ms, *rec);
    }
}

/// Cuts a replica's log at `to` and says what went.
fn truncate(
    node: NodeId,
    partition: PartitionIdx,
    log: &mut ReplicaLog,
    to: u64,
    reason: TruncateReason,
    out: &mut Vec<NodeOut>,
) {
    let removed = log.truncate_to(to);
    if removed.is_empty() {
        return;
    }
    out.push(NodeOut::Note(ClusterNote::Truncated {
        node,
        partition,
        from: to,
        reason,
        removed,
    }));
}
