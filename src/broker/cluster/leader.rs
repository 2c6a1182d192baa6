//! The leader's side of one partition: appends, each follower's progress,
//! the ISR, the high watermark and the produce answers waiting for it.

use super::replica::{FlushPolicy, ReplicaLog};
use super::{
    AlterIsr, ClientReply, ClusterNote, Epoch, FetchResult, Idem, MarkerAnswer, MarkerRequest,
    NodeOut, NodeSet, PartitionIdx, PeerMsg, ProduceError, Record, RecordKind, FETCH_RECORDS_MAX,
};
use crate::broker::{ClientId, MsgId};
use crate::config::{Acks, ClusterSpec};
use crate::node::NodeId;
use std::collections::BTreeMap;

/// What the leader knows of one follower.
#[derive(Clone, Copy, Debug)]
struct Progress {
    /// Its LEO, as its last fetch offset said.
    leo: u64,
    /// The last time it had caught up to the leader's log end (Kafka's
    /// `lastCaughtUpTimeMs`): the ISR's clock.
    caught_up_ms: u64,
    /// When its previous fetch arrived, and the leader's end then: a
    /// fetch reaching that end proves it caught up at that time.
    last_fetch: (u64, u64),
}

/// A produce answer waiting for the HW to pass its record (`acks=all`).
#[derive(Clone, Copy, Debug)]
struct Waiting {
    /// The record's offset.
    offset: u64,
    /// Who to answer.
    to: ClientId,
    /// The message.
    msg: MsgId,
}

/// A follower's fetch with nothing to read, held until a record arrives
/// or `replica.fetch.wait.max.ms` passes.
#[derive(Clone, Copy, Debug)]
struct Parked {
    /// The follower.
    from: NodeId,
    /// Its fetch.
    fetch_id: u64,
    /// Where it reads from.
    fetch_offset: u64,
    /// When to answer it empty.
    deadline_ms: u64,
}

/// The leader's state for one partition. Dropped when it stops leading.
#[derive(Clone, Debug)]
pub(super) struct LeaderState {
    /// The in-sync replicas, the leader included, as the controller last
    /// approved them.
    pub(super) isr: NodeSet,
    /// An ISR change sent to the controller and not approved yet. Until
    /// it is, the HW counts the *maximal* ISR (the approved one with any
    /// proposed additions, KIP-497): a shrink takes effect only once the
    /// controller agrees, so a leader it no longer hears cannot commit
    /// alone. One at a time.
    proposed: Option<NodeSet>,
    /// Every replica of the partition.
    replicas: NodeSet,
    /// Each follower's progress. Bound: the replicas.
    followers: BTreeMap<NodeId, Progress>,
    /// `acks=all` answers waiting for the HW, in arrival order. Bound:
    /// the records appended in this leadership.
    waiting: Vec<Waiting>,
    /// Marker answers waiting for the HW to pass their marker: (its
    /// offset, the request). Bound: the coordinator's open markers.
    markers: Vec<(u64, MarkerRequest)>,
    /// Fetches held for data. Bound: one per follower.
    parked: Vec<Parked>,
    /// When the ISR is looked at next (every half
    /// `replica.lag.time.max.ms`, as Kafka's `isr-expiration` task).
    next_isr_check_ms: u64,
}

/// Who and when, for one call into the leader.
pub(super) struct Ctx<'a> {
    /// This broker.
    pub(super) node: NodeId,
    /// The partition.
    pub(super) partition: PartitionIdx,
    /// The leader epoch.
    pub(super) epoch: Epoch,
    /// The virtual time.
    pub(super) now_ms: u64,
    /// The cluster's settings.
    pub(super) spec: &'a ClusterSpec,
    /// How replicas flush.
    pub(super) policy: &'a FlushPolicy,
    /// Where outputs go.
    pub(super) out: &'a mut Vec<NodeOut>,
}

impl Ctx<'_> {
    fn note(&mut self, note: ClusterNote) {
        self.out.push(NodeOut::Note(note));
    }

    fn answer(&mut self, to: ClientId, msg: MsgId, result: Result<u64, ProduceError>) {
        let partition = self.partition;
        let reply = ClientReply::Produced {
            msg,
            partition,
            result,
        };
        self.out.push(NodeOut::ToClient { to, reply });
    }

    /// A success answer, with the note the checker reads its chain from.
    fn ack(&mut self, to: ClientId, msg: MsgId, offset: u64, acks: Acks) {
        let (node, partition, epoch) = (self.node, self.partition, self.epoch);
        self.note(ClusterNote::Acked {
            node,
            to,
            partition,
            offset,
            epoch,
            msg,
            acks,
        });
        self.answer(to, msg, Ok(offset));
    }

    fn refuse(&mut self, to: ClientId, msg: MsgId, error: ProduceError) {
        let node = self.node;
        self.note(ClusterNote::Refused { node, msg, error });
        self.answer(to, msg, Err(error));
    }
}

impl LeaderState {
    /// A new leadership with the controller's ISR. Every follower counts
    /// as caught up now (as Kafka starts `lastCaughtUpTimeMs`), with an
    /// unknown LEO (0) until its first fetch, so the HW waits for it.
    pub(super) fn new(now_ms: u64, isr: NodeSet, replicas: NodeSet, me: NodeId) -> LeaderState {
        let followers = replicas.without(me).iter().map(|n| {
            let p = Progress {
                leo: 0,
                caught_up_ms: now_ms,
                last_fetch: (now_ms, u64::MAX),
            };
            (n, p)
        });
        LeaderState {
            isr: isr.with(me),
            proposed: None,
            replicas,
            followers: {
                let mut all = BTreeMap::new();
                all.extend(followers);
                all
            },
            waiting: Vec::new(),
            markers: Vec::new(),
            parked: Vec::new(),
            next_isr_check_ms: now_ms,
        }
    }

    /// `Produce` at the leader: refuse, deduplicate, or append and answer
    /// per `acks`.
    pub(super) fn produce(
        &mut self,
        log: &mut ReplicaLog,
        (to, msg, acks, idem, txn): (ClientId, MsgId, Acks, Option<Idem>, bool),
        ctx: &mut Ctx,
    ) {
        let min_isr = u32::from(ctx.spec.min_insync_replicas);
        if acks == Acks::All && self.isr.len() < min_isr {
            return ctx.refuse(to, msg, ProduceError::NotEnoughReplicas);
        }
        if let Some(idem) = idem {
            match log.check_sequence(idem) {
                Ok(None) => {}
                Ok(Some(offset)) => return self.answer_at(log, (to, msg, acks), offset, ctx),
                Err(e) => return ctx.refuse(to, msg, e),
            }
        }
        let kind = if txn {
            RecordKind::Txn
        } else {
            RecordKind::Data
        };
        let offset = self.append(log, msg, idem, kind, ctx);
        let (node, partition, epoch) = (ctx.node, ctx.partition, ctx.epoch);
        ctx.note(ClusterNote::Appended {
            node,
            partition,
            offset,
            epoch,
            msg,
        });
        self.answer_at(log, (to, msg, acks), offset, ctx);
        self.serve_parked(log, ctx);
        self.advance_hw(log, ctx);
    }

    /// Appends one record at the log end; returns its offset.
    fn append(
        &mut self,
        log: &mut ReplicaLog,
        msg: MsgId,
        idem: Option<Idem>,
        kind: RecordKind,
        ctx: &Ctx,
    ) -> u64 {
        let offset = log.end();
        let record = Record {
            offset,
            epoch: ctx.epoch,
            msg,
            idem,
            kind,
        };
        log.append(ctx.now_ms, record);
        offset
    }

    /// `WriteTxnMarkers` at the leader: append the marker unless this
    /// transaction's is here already (a retry) or its epoch is over (a
    /// stale request); answer once the marker is committed. Refused, as a
    /// produce with `acks=all`, while the ISR is below
    /// `min.insync.replicas`.
    /// `at_append` is a negative control's switch: answer once the marker
    /// is appended here, before any follower has it.
    pub(super) fn write_marker(
        &mut self,
        log: &mut ReplicaLog,
        (req, at_append): (MarkerRequest, bool),
        ctx: &mut Ctx,
    ) {
        let min_isr = u32::from(ctx.spec.min_insync_replicas);
        if self.isr.len() < min_isr {
            let result = Err(ProduceError::NotEnoughReplicas);
            let answer = MarkerAnswer {
                request: req,
                result,
            };
            return ctx.out.push(NodeOut::ToCoordinator(answer));
        }
        let answer = |result| {
            NodeOut::ToCoordinator(MarkerAnswer {
                request: req,
                result,
            })
        };
        let offset = match log.producer(req.producer_id) {
            // A later epoch is here: this transaction is long done.
            Some(st) if st.epoch > req.producer_epoch => return ctx.out.push(answer(Ok(()))),
            Some(st) if st.epoch == req.producer_epoch && st.marker.is_some() => {
                st.marker.expect("checked") // a retry: the marker is here
            }
            _ => {
                let idem = Some(Idem {
                    producer_id: req.producer_id,
                    producer_epoch: req.producer_epoch,
                    sequence: 0,
                });
                let kind = match req.commit {
                    true => RecordKind::Commit,
                    false => RecordKind::Abort,
                };
                let at = self.append(log, 0, idem, kind, ctx);
                self.serve_parked(log, ctx);
                at
            }
        };
        if offset < log.hw || at_append {
            return ctx.out.push(answer(Ok(())));
        }
        self.markers.push((offset, req));
        self.advance_hw(log, ctx);
    }

    /// Answers a record at `offset` per `acks`: `1` now, `all` once the HW
    /// passed it (maybe already).
    fn answer_at(
        &mut self,
        log: &ReplicaLog,
        (to, msg, acks): (ClientId, MsgId, Acks),
        offset: u64,
        ctx: &mut Ctx,
    ) {
        match acks {
            Acks::Zero => {}
            Acks::One => ctx.ack(to, msg, offset, acks),
            Acks::All if offset < log.hw => ctx.ack(to, msg, offset, acks),
            Acks::All => self.waiting.push(Waiting { offset, to, msg }),
        }
    }

    /// A follower's fetch: validate its position (by leader epoch, unless
    /// HW truncation is on), learn its LEO, then answer with records or
    /// hold it.
    pub(super) fn fetch(
        &mut self,
        log: &mut ReplicaLog,
        (from, fetch_offset, last_fetched_epoch, fetch_id): (NodeId, u64, Option<Epoch>, u64),
        ctx: &mut Ctx,
    ) {
        if let Some(last) = last_fetched_epoch {
            let (epoch, end_offset) = log.end_offset_for_epoch(last);
            if epoch != last || end_offset < fetch_offset {
                let result = FetchResult::Diverging { epoch, end_offset };
                return reply(from, fetch_id, result, ctx);
            }
        }
        if fetch_offset > log.end() {
            let result = FetchResult::OutOfRange {
                leader_end: log.end(),
            };
            return reply(from, fetch_id, result, ctx);
        }
        self.follower_at(log, from, fetch_offset, ctx);
        self.advance_hw(log, ctx);
        if fetch_offset < log.end() {
            return reply(from, fetch_id, records_from(log, fetch_offset), ctx);
        }
        let deadline_ms = ctx.now_ms + ctx.spec.replica_fetch_wait_max_ms;
        self.parked.retain(|p| p.from != from);
        self.parked.push(Parked {
            from,
            fetch_id,
            fetch_offset,
            deadline_ms,
        });
        ctx.out.push(NodeOut::WakeAt(deadline_ms));
    }

    /// Records a follower's LEO and whether it caught up; a follower out
    /// of the ISR rejoins once it reached the HW.
    fn follower_at(&mut self, log: &ReplicaLog, from: NodeId, leo: u64, ctx: &mut Ctx) {
        let now_ms = ctx.now_ms;
        let Some(p) = self.followers.get_mut(&from) else {
            return; // not a replica of this partition
        };
        p.leo = leo;
        if leo >= log.end() {
            p.caught_up_ms = now_ms;
        } else if leo >= p.last_fetch.1 {
            p.caught_up_ms = p.caught_up_ms.max(p.last_fetch.0);
        }
        p.last_fetch = (now_ms, log.end());
        let epoch_start = log.epochs.last().map_or(0, |(_, start)| *start);
        let rejoins = !self.isr.has(from) && leo >= log.hw && leo >= epoch_start;
        if rejoins && self.proposed.is_none() {
            self.propose(self.isr.with(from), ctx);
        }
    }

    /// Proposes an ISR change to the controller (Kafka's `AlterIsr` /
    /// `AlterPartition`).
    fn propose(&mut self, isr: NodeSet, ctx: &mut Ctx) {
        self.proposed = Some(isr);
        let (partition, epoch) = (ctx.partition, ctx.epoch);
        ctx.out.push(NodeOut::ToController(AlterIsr {
            partition,
            epoch,
            isr,
        }));
    }

    /// The controller approved an ISR: it takes effect, and the HW may
    /// move (a shrink can let it pass records the removed replica lacks).
    pub(super) fn approved(&mut self, log: &mut ReplicaLog, isr: NodeSet, ctx: &mut Ctx) {
        if self.proposed != Some(isr) {
            return; // not what this leadership asked for
        }
        self.proposed = None;
        self.isr = isr;
        let (node, partition, epoch) = (ctx.node, ctx.partition, ctx.epoch);
        ctx.note(ClusterNote::Isr {
            node,
            partition,
            epoch,
            isr,
        });
        self.advance_hw(log, ctx);
    }

    /// HW = min counted LEO over the ISR; it only moves up. Then the
    /// `acks=all` answers it passed go out (refused when the ISR is now
    /// below `min.insync.replicas`).
    pub(super) fn advance_hw(&mut self, log: &mut ReplicaLog, ctx: &mut Ctx) {
        let mut hw = log.counted_end(ctx.policy);
        let maximal = NodeSet(self.isr.0 | self.proposed.map_or(0, |p| p.0));
        for n in maximal.iter().filter(|n| *n != ctx.node) {
            hw = hw.min(self.followers.get(&n).map_or(0, |p| p.leo));
        }
        if hw <= log.hw {
            return;
        }
        log.hw = hw;
        let (node, partition, epoch) = (ctx.node, ctx.partition, ctx.epoch);
        ctx.note(ClusterNote::HighWatermark {
            node,
            partition,
            epoch,
            hw,
        });
        let min_isr = u32::from(ctx.spec.min_insync_replicas);
        let enough = self.isr.len() >= min_isr;
        // A retried duplicate waits behind later offsets: not sorted.
        let (done, rest): (Vec<Waiting>, Vec<Waiting>) =
            self.waiting.iter().partition(|w| w.offset < hw);
        self.waiting = rest;
        for w in done {
            if enough {
                ctx.ack(w.to, w.msg, w.offset, Acks::All);
            } else {
                ctx.refuse(w.to, w.msg, ProduceError::NotEnoughReplicasAfterAppend);
            }
        }
        let result = match enough {
            true => Ok(()),
            false => Err(ProduceError::NotEnoughReplicasAfterAppend),
        };
        self.markers.retain(|&(at, request)| {
            let done = at < hw;
            if done {
                let answer = MarkerAnswer { request, result };
                ctx.out.push(NodeOut::ToCoordinator(answer));
            }
            !done
        });
    }

    /// The leader's timers: followers that fell behind for longer than
    /// `replica.lag.time.max.ms` leave the ISR (checked every half of
    /// it); held fetches past their wait are answered. Returns the next
    /// ISR check's time when it set one.
    pub(super) fn tick(&mut self, log: &mut ReplicaLog, ctx: &mut Ctx) -> Option<u64> {
        let (due, held): (Vec<Parked>, Vec<Parked>) = self
            .parked
            .iter()
            .partition(|p| p.deadline_ms <= ctx.now_ms);
        self.parked = held;
        for p in due {
            reply(p.from, p.fetch_id, records_from(log, p.fetch_offset), ctx);
        }
        if ctx.now_ms < self.next_isr_check_ms {
            return None;
        }
        let lag_ms = ctx.spec.replica_lag_time_max_ms;
        let now_ms = ctx.now_ms;
        let lagging: Vec<NodeId> = (self.followers.iter())
            .filter(|(n, p)| self.isr.has(**n) && now_ms.saturating_sub(p.caught_up_ms) > lag_ms)
            .map(|(n, _)| *n)
            .collect();
        if !lagging.is_empty() && self.proposed.is_none() {
            let shrunk = lagging.iter().fold(self.isr, |isr, n| isr.without(*n));
            self.propose(shrunk, ctx);
        }
        self.next_isr_check_ms = now_ms + (lag_ms / 2).max(1);
        Some(self.next_isr_check_ms)
    }

    /// New records: every held fetch gets them.
    fn serve_parked(&mut self, log: &ReplicaLog, ctx: &mut Ctx) {
        for p in std::mem::take(&mut self.parked) {
            reply(p.from, p.fetch_id, records_from(log, p.fetch_offset), ctx);
        }
    }

    /// The leadership ended (a newer epoch, or a crash): every waiting
    /// answer is `NOT_LEADER_OR_FOLLOWER` (not sent after a crash: the
    /// process is gone).
    pub(super) fn resign(self, answer: bool, ctx: &mut Ctx) {
        if !answer {
            return;
        }
        for w in self.waiting {
            ctx.refuse(w.to, w.msg, ProduceError::NotLeaderOrFollower);
        }
    }

    /// The replicas, for the view.
    pub(super) fn follower_leos(&self) -> impl Iterator<Item = (NodeId, u64)> + '_ {
        self.followers.iter().map(|(n, p)| (*n, p.leo))
    }

    /// Every replica of the partition.
    pub(super) fn replicas(&self) -> NodeSet {
        self.replicas
    }
}

/// Records from `offset` on (at most [`FETCH_RECORDS_MAX`]) and the HW.
fn records_from(log: &ReplicaLog, offset: u64) -> FetchResult {
    let from = usize::try_from(offset).unwrap_or(usize::MAX);
    let records = log.records.iter().skip(from).take(FETCH_RECORDS_MAX);
    FetchResult::Records {
        records: records.copied().collect(),
        hw: log.hw,
    }
}

/// Sends a fetch answer.
fn reply(to: NodeId, fetch_id: u64, result: FetchResult, ctx: &mut Ctx) {
    let partition = ctx.partition;
    let msg = PeerMsg::FetchReply {
        partition,
        fetch_id,
        result,
    };
    ctx.out.push(NodeOut::ToPeer { to, msg });
}
