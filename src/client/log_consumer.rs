//! A Kafka consumer in a consumer group: the `poll()` loop.
//!
//! The loop is the one every Kafka application runs:
//!
//! ```text
//! loop {
//!     records = consumer.poll()      // may auto-commit, may apply a rebalance
//!     for r in records { process(r) } // one at a time, taking virtual time
//! }
//! ```
//!
//! Where the offsets get committed decides the delivery guarantee:
//!
//! - `enable.auto.commit`: *inside* `poll()`, once `auto.commit.interval.ms`
//!   has passed, the consumer commits its positions, i.e. the end of what the
//!   *previous* polls returned. With processing done synchronously in the
//!   loop those records are processed, so a crash replays the current batch:
//!   at-least-once with duplicates. (Auto-commit loses records only when the
//!   application hands records to another thread and polls on; this loop
//!   does not.) A rebalance also commits, before the new assignment applies.
//! - `commit: after_processing`: commit `offset + 1` after each effect: a
//!   crash between the effect and the commit replays one record
//!   (at-least-once).
//! - `commit: before_processing`: at most once, Kafka's way. When a poll's
//!   records are in, `commitSync` their positions and wait; process the
//!   batch only once every partition's commit is confirmed (the broker
//!   answers when the offset is durable). A crash during processing skips
//!   the rest of the batch for good: lost, never duplicated. A refused
//!   commit (the member lost the partition in a rebalance: see
//!   [`CommitError`]) or one with no answer (the outcome is unknown) drops
//!   the batch unprocessed: processing it could repeat what the partition's
//!   new owner, or this member after a rejoin, reads again.
//!
//! A rebalance is applied at the next `poll()`, as in Kafka: the consumer
//! finishes the records it holds first. Liveness is a separate heartbeat
//! timer (`heartbeat.interval.ms`); a dead consumer stops heartbeating and the
//! broker expires it after `session.timeout.ms`.

use super::dedup::StoreId;
use super::group_member::{GroupMember, MemberConfig};
use super::{
    Client, ClientOutput, ClientSettings, ClientTimer, ClientView, Ctx, Downlink, Lookup, NewKeys,
    Reconnect,
};
use crate::broker::log::{
    partitions_of, CommitError, GroupId, LogRecord, LogReply, LogRequest, PartitionId, Seek,
};
use crate::broker::{MsgId, Request};
use crate::config::{CommitMode, LogConsumerSpec, ProcessingSpec, SeekPosition, SeekSpec, Setting};
use crate::history::{Entry, LogEntry, Names, OpType};
use crate::sim::rng::SimRng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Resolved settings of one log consumer.
#[derive(Clone, Debug)]
pub struct LogConsumerConfig {
    /// Group, topic and the group protocol's settings.
    pub member: MemberConfig,
    /// How long one record takes to process.
    pub processing: ProcessingSpec,
    /// `Some(auto.commit.interval.ms)` when `enable.auto.commit` is on.
    pub auto_commit_interval_ms: Option<u64>,
    /// Manual commits (only without auto-commit).
    pub commit: Option<CommitMode>,
    /// `max.poll.records`: records one poll returns at most.
    pub max_poll_records: u32,
    /// Seeks at given times (Kinesis iterator names), in time order.
    pub seeks: Vec<SeekSpec>,
    /// When it calls `close()` and leaves its group, if ever.
    pub leave_at_ms: Option<u64>,
    /// The idempotent consumer's dedup store, if any.
    pub dedup: super::dedup::DedupConfig,
}

/// A `commitSync` of one poll's positions, waiting for its answers.
#[derive(Clone, Debug)]
struct SyncCommit {
    /// Partition → offset committed and not answered yet. Bound: the
    /// partitions of the topic (one commit per partition in the batch).
    waiting: BTreeMap<PartitionId, u64>,
    /// The first refusal among the answers.
    refused: Option<CommitError>,
    /// When a missing answer counts as lost (`session.timeout.ms` after the
    /// send: by then an unanswered member may have been expelled anyway).
    deadline_ms: u64,
}

#[derive(Clone, Debug)]
/// A consumer-group member of the log broker: polls, processes one record
/// at a time, commits offsets.
pub struct LogConsumer {
    /// Its settings; the live ones change in place.
    cfg: LogConsumerConfig,
    /// Running; a crashed consumer receives nothing until restarted.
    alive: bool,
    /// Left the group with `close()` (stays out until restarted).
    left: bool,
    /// Its group membership: assignment, generation, the poll in flight.
    member: GroupMember,
    /// Records returned, not yet processed. Bound: `max.poll.records` (one
    /// poll's response; the next poll is sent only when this is empty).
    buffer: VecDeque<LogRecord>,
    /// The record in progress, if any: one at a time.
    current: Option<LogRecord>,
    /// Next offset to read per owned partition (Kafka's "position").
    positions: BTreeMap<PartitionId, u64>,
    /// `commit: before_processing`: the batch's `commitSync` in flight; the
    /// buffer is processed only once it is confirmed.
    sync_commit: Option<SyncCommit>,
    /// A live `max.poll.records` change waiting for the next poll.
    max_poll_records_next: Option<u32>,
    /// When offsets were last auto-committed (`auto.commit.interval.ms` counts from it).
    last_commit_ms: u64,
    /// Virtual ms spent processing, to show how busy it was.
    busy_ms: u64,
    /// Records whose effect it applied.
    processed: u64,
}

impl LogConsumer {
    /// A running consumer that has not joined its group yet.
    pub fn new(cfg: LogConsumerConfig) -> LogConsumer {
        assert!(cfg.max_poll_records > 0);
        LogConsumer {
            member: GroupMember::new(cfg.member),
            cfg,
            alive: true,
            left: false,
            buffer: VecDeque::new(),
            current: None,
            positions: BTreeMap::new(),
            sync_commit: None,
            max_poll_records_next: None,
            last_commit_ms: 0,
            busy_ms: 0,
            processed: 0,
        }
    }

    /// The group it belongs to.
    pub fn group(&self) -> GroupId {
        self.cfg.member.group
    }

    /// Joins the group and sets the heartbeat, seek and leave timers that are
    /// still ahead.
    pub fn start(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        self.last_commit_ms = now_ms;
        self.member.join(out);
        out.push(ClientOutput::Timer {
            at_ms: now_ms + self.cfg.member.heartbeat_interval_ms,
            timer: ClientTimer::Heartbeat,
        });
        for (i, s) in self.cfg.seeks.iter().enumerate() {
            if s.at_ms >= now_ms {
                out.push(ClientOutput::Timer {
                    at_ms: s.at_ms,
                    timer: ClientTimer::Seek(i as u32),
                });
            }
        }
        if let Some(at_ms) = self.cfg.leave_at_ms.filter(|t| *t >= now_ms) {
            out.push(ClientOutput::Timer {
                at_ms,
                timer: ClientTimer::Leave,
            });
        }
    }

    /// The connection to the broker is gone (broker crash or restart, link
    /// loss): what the dead connection carried is dropped, and the consumer
    /// joins again, keeping its positions only through committed offsets.
    pub fn rejoin(&mut self, out: &mut Vec<ClientOutput>) {
        if !self.alive || self.left {
            return;
        }
        self.forget_membership();
        self.member.join(out);
    }

    /// What a member knows of its group beyond [`GroupMember::join`],
    /// dropped when it joins anew: the records it holds but has not started
    /// (their commits may never land) and its positions.
    fn forget_membership(&mut self) {
        self.buffer.clear();
        self.sync_commit = None;
        self.positions.clear();
    }

    /// The heartbeat timer: heartbeat unless it left the group.
    pub fn on_heartbeat_timer(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        if !self.left {
            self.member.heartbeat(now_ms, out);
        }
    }

    /// A reply of the log broker: an assignment, a record, the end of a
    /// poll, or a commit's answer.
    pub fn on_reply(
        &mut self,
        now_ms: u64,
        reply: LogReply,
        rng: &mut SimRng,
        out: &mut Vec<ClientOutput>,
    ) {
        assert!(self.alive, "the world drops replies to dead consumers");
        match reply {
            LogReply::Assignment {
                generation,
                partitions,
            } => {
                self.member.pending = Some((generation, partitions));
                self.poll_if_idle(now_ms, out);
            }
            LogReply::Record { poll, record } => self.on_record(now_ms, poll, record, rng, out),
            LogReply::PollEnd { poll } => {
                if self.member.polling == Some(poll) {
                    self.member.polling = None;
                    if self.commits_first() && !self.buffer.is_empty() {
                        self.commit_sync(now_ms, out);
                    } else {
                        self.poll_if_idle(now_ms, out);
                    }
                }
            }
            LogReply::CommitResponse {
                partition,
                offset,
                error,
            } => self.on_commit_response(now_ms, (partition, offset), error, rng, out),
            LogReply::ProduceAck { .. } => unreachable!("produce responses go to producers"),
            LogReply::Txn(_) => unreachable!("coordinator replies go to transactional clients"),
        }
    }

    fn on_record(
        &mut self,
        now_ms: u64,
        poll: u64,
        r: LogRecord,
        rng: &mut SimRng,
        out: &mut Vec<ClientOutput>,
    ) {
        let owned = self.member.owns(r.partition);
        let stale = self
            .positions
            .get(&r.partition)
            .is_some_and(|p| r.offset < *p);
        if self.member.polling != Some(poll) || !owned || stale {
            return; // from an older poll or assignment, or a network duplicate
        }
        assert!(
            self.buffer.len() < self.cfg.max_poll_records as usize,
            "one poll returns at most max.poll.records"
        );
        self.positions.insert(r.partition, r.offset + 1);
        GroupMember::record_read(poll, &r, out);
        self.buffer.push_back(r);
        // At most once waits for the whole poll and its commitSync.
        if self.current.is_none() && !self.commits_first() {
            self.start_next(now_ms, rng, out);
        }
    }

    /// `commit: before_processing`: nothing is processed before its commit
    /// is confirmed.
    fn commits_first(&self) -> bool {
        self.cfg.commit == Some(CommitMode::BeforeProcessing)
    }

    /// `commitSync` of the positions the buffered batch reaches, one commit
    /// per partition, answered once durable.
    fn commit_sync(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        assert!(self.sync_commit.is_none() && self.current.is_none());
        let mut waiting: BTreeMap<PartitionId, u64> = BTreeMap::new();
        for r in &self.buffer {
            let next = waiting.entry(r.partition).or_insert(0);
            *next = (*next).max(r.offset + 1);
        }
        for (&partition, &offset) in &waiting {
            self.commit(partition, offset, true, out);
        }
        let deadline_ms = now_ms + self.cfg.member.session_timeout_ms;
        self.sync_commit = Some(SyncCommit {
            waiting,
            refused: None,
            deadline_ms,
        });
        out.push(ClientOutput::Timer {
            at_ms: deadline_ms,
            timer: ClientTimer::ConfirmDeadline,
        });
    }

    fn on_commit_response(
        &mut self,
        now_ms: u64,
        (partition, offset): (PartitionId, u64),
        error: Option<CommitError>,
        rng: &mut SimRng,
        out: &mut Vec<ClientOutput>,
    ) {
        let Some(sc) = &mut self.sync_commit else {
            return; // the answer to a commit given up on (timed out, rejoined)
        };
        if sc.waiting.get(&partition) != Some(&offset) {
            return;
        }
        sc.waiting.remove(&partition);
        let ty = if error.is_some() {
            OpType::Fail
        } else {
            OpType::Ok
        };
        let done = LogEntry::CommitDone {
            ty,
            partition,
            offset,
            error,
        };
        out.push(ClientOutput::Record(Entry::Log(done)));
        if let Some(e) = error {
            sc.refused.get_or_insert(e);
        }
        if !sc.waiting.is_empty() {
            return;
        }
        let refused = self.sync_commit.take().expect("checked").refused;
        match refused {
            None => self.start_next(now_ms, rng, out),
            Some(e) => {
                // The partitions are someone else's now (or will be once
                // this member rejoins): their records are not ours to process.
                self.buffer.clear();
                if e.needs_rejoin(self.member.pending.is_some()) {
                    self.rejoin(out);
                } else {
                    self.poll_if_idle(now_ms, out);
                }
            }
        }
    }

    /// The `commitSync` deadline: the answers that did not come are unknown
    /// outcomes. At most once does not process what may not be committed:
    /// the batch is dropped and the consumer polls on from its positions.
    pub fn on_commit_deadline(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        let Some(sc) = self.sync_commit.take_if(|sc| sc.deadline_ms <= now_ms) else {
            return; // the timer of a commit already answered
        };
        for (partition, offset) in sc.waiting {
            let done = LogEntry::CommitDone {
                ty: OpType::Info,
                partition,
                offset,
                error: None,
            };
            out.push(ClientOutput::Record(Entry::Log(done)));
        }
        self.buffer.clear();
        self.poll_if_idle(now_ms, out);
    }

    fn idle(&self) -> bool {
        let waiting = self.member.polling.is_some() || self.sync_commit.is_some();
        self.alive && !self.left && !waiting && self.current.is_none()
    }

    fn poll_if_idle(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        if self.idle() && self.buffer.is_empty() {
            self.poll(now_ms, out);
        }
    }

    /// `poll()`: apply a pending rebalance, auto-commit when due, then fetch.
    fn poll(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        if self.member.pending.is_some() {
            if self.cfg.auto_commit_interval_ms.is_some() {
                self.commit_positions(now_ms, out); // onPartitionsRevoked
            }
            self.member.apply_assignment(out);
            self.positions.clear();
        } else if let Some(interval) = self.cfg.auto_commit_interval_ms {
            if now_ms >= self.last_commit_ms + interval {
                self.commit_positions(now_ms, out);
            }
        }
        if self.member.partitions == 0 {
            return; // idle member: nothing to fetch until the next rebalance
        }
        if let Some(n) = self.max_poll_records_next.take() {
            self.cfg.max_poll_records = n;
        }
        self.member.send_poll(self.cfg.max_poll_records, out);
    }

    /// Commits the position of every owned partition: everything returned
    /// by the polls so far.
    fn commit_positions(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        self.last_commit_ms = now_ms;
        let owned = self.member.partitions;
        let positions: Vec<(PartitionId, u64)> = self
            .positions
            .iter()
            .filter(|(p, _)| owned & (1 << **p) != 0)
            .map(|(p, o)| (*p, *o))
            .collect();
        for (partition, offset) in positions {
            self.commit(partition, offset, false, out);
        }
    }

    /// One `OffsetCommit`, in this member's generation; `reply` for a
    /// `commitSync`.
    fn commit(
        &self,
        partition: PartitionId,
        offset: u64,
        reply: bool,
        out: &mut Vec<ClientOutput>,
    ) {
        out.push(ClientOutput::Record(Entry::Log(LogEntry::Commit {
            partition,
            offset,
        })));
        out.push(send(LogRequest::Commit {
            group: self.cfg.member.group,
            generation: self.member.generation,
            partition,
            offset,
            reply,
        }));
    }

    fn start_next(&mut self, now_ms: u64, rng: &mut SimRng, out: &mut Vec<ClientOutput>) {
        let Some(r) = self.buffer.pop_front() else {
            self.poll_if_idle(now_ms, out);
            return;
        };
        out.push(process_entry(OpType::Invoke, &r));
        let took_ms = match self.cfg.processing {
            ProcessingSpec::FixedMs(ms) => ms,
            ProcessingSpec::UniformMs { min, max } => rng.range_inclusive(min, max),
        };
        self.busy_ms += took_ms;
        self.current = Some(r);
        out.push(ClientOutput::Timer {
            at_ms: now_ms + took_ms,
            timer: ClientTimer::ProcessDone,
        });
    }

    /// The record in progress is done: apply its effect, commit if
    /// committing after processing, and start on the next.
    pub fn on_process_done(&mut self, now_ms: u64, rng: &mut SimRng, out: &mut Vec<ClientOutput>) {
        let r = self
            .current
            .take()
            .expect("ProcessDone only while processing");
        let ClientOutput::Record(ok) = process_entry(OpType::Ok, &r) else {
            unreachable!("process_entry records")
        };
        super::dedup::push_effect(self.cfg.dedup, r.msg.id, r.msg.key, ok, out);
        self.processed += 1;
        if self.cfg.commit == Some(CommitMode::AfterProcessing) {
            self.commit(r.partition, r.offset + 1, false, out);
        }
        self.start_next(now_ms, rng, out);
    }

    /// A scheduled seek: every owned partition moves; what is buffered for
    /// it is dropped and re-fetched from the new position.
    pub fn on_seek_timer(&mut self, index: u32, out: &mut Vec<ClientOutput>) {
        let spec = self.cfg.seeks[index as usize];
        let to = match spec.position {
            SeekPosition::Earliest => Seek::Earliest,
            SeekPosition::Latest => Seek::Latest,
            SeekPosition::AtOffset => Seek::Offset(spec.offset.expect("validated")),
            SeekPosition::AfterOffset => Seek::Offset(spec.offset.expect("validated") + 1),
            SeekPosition::AtTimestamp => Seek::Timestamp(spec.timestamp_ms.expect("validated")),
        };
        for partition in partitions_of(self.member.partitions) {
            self.buffer.retain(|r| r.partition != partition);
            self.positions.remove(&partition);
            out.push(ClientOutput::Record(Entry::Log(LogEntry::Seek {
                partition,
                to,
            })));
            out.push(send(LogRequest::Seek {
                group: self.cfg.member.group,
                generation: self.member.generation,
                partition,
                to,
            }));
        }
    }

    /// `close()`: auto-commit if on, then `LeaveGroup`; the group rebalances
    /// at once instead of waiting for `session.timeout.ms`.
    pub fn on_leave_timer(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        if self.cfg.auto_commit_interval_ms.is_some() {
            self.commit_positions(now_ms, out);
        }
        let group = self.cfg.member.group;
        out.push(ClientOutput::Record(Entry::Log(LogEntry::Leave { group })));
        out.push(send(LogRequest::LeaveGroup { group }));
        self.left = true;
        self.buffer.clear();
        self.sync_commit = None;
        self.member.polling = None;
        self.member.partitions = 0;
    }

    /// The process dies: the record in progress never gets its effect, and
    /// everything in memory (positions, buffer) is gone.
    pub fn crash(&mut self, out: &mut Vec<ClientOutput>) {
        assert!(self.alive);
        self.alive = false;
        if let Some(r) = self.current.take() {
            out.push(process_entry(OpType::Fail, &r));
        }
        self.forget_membership();
        self.member.forget();
    }

    /// A new process: it joins its group again and reads from the committed
    /// offsets.
    pub fn restart(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        assert!(!self.alive);
        self.alive = true;
        self.left = false;
        self.start(now_ms, out);
    }

    /// Processing time from the next record on.
    pub fn set_processing(&mut self, processing: ProcessingSpec) {
        self.cfg.processing = processing;
    }

    /// A live `max.poll.records` change, used from the next `poll()`: a poll
    /// in flight was asked for the old number and may return that many.
    pub fn set_max_poll_records(&mut self, n: u32) {
        assert!(n > 0, "validated: max.poll.records is positive");
        self.max_poll_records_next = Some(n);
    }

    /// `max.poll.records`, counting a change waiting for the next poll.
    pub fn max_poll_records(&self) -> u32 {
        self.max_poll_records_next
            .unwrap_or(self.cfg.max_poll_records)
    }

    /// Its current processing time.
    pub fn processing(&self) -> ProcessingSpec {
        self.cfg.processing
    }

    /// Its manual commit mode (`None` with `enable.auto.commit`).
    pub fn commit_mode(&self) -> Option<CommitMode> {
        self.cfg.commit
    }

    /// Messages this consumer holds and has not finished.
    pub fn holding(&self) -> impl Iterator<Item = MsgId> + '_ {
        let current = self.current.iter().map(|r| r.msg.id);
        current.chain(self.buffer.iter().map(|r| r.msg.id))
    }

    /// Records received and not finished (buffer + current).
    pub fn in_hand(&self) -> usize {
        self.buffer.len() + usize::from(self.current.is_some())
    }
}

impl LogConsumer {
    /// A consumer-group member from its scenario entry (`kind:
    /// log_consumer` without `transactional`).
    pub fn from_spec(names: &Names, k: &LogConsumerSpec) -> LogConsumer {
        let ids = Lookup(names);
        let group = ids.group(&k.group_id);
        let cfg = LogConsumerConfig {
            member: MemberConfig::from_spec(k, group, ids.topic(&k.topic)),
            processing: k.processing,
            auto_commit_interval_ms: k.enable_auto_commit.then_some(k.auto_commit_interval_ms),
            commit: k.commit,
            max_poll_records: k.max_poll_records,
            seeks: k.seeks.clone(),
            leave_at_ms: k.leave_at_ms,
            dedup: k.dedup_ids_max.map(|n| (StoreId::Group(group), n)),
        };
        LogConsumer::new(cfg)
    }
}

impl Client for LogConsumer {
    fn start(&mut self, ctx: &mut Ctx) {
        LogConsumer::start(self, ctx.now_ms, ctx.out);
    }

    fn on_reply(&mut self, ctx: &mut Ctx, msg: Downlink) {
        let Downlink::Log(reply) = msg else {
            unreachable!("a log consumer gets log replies");
        };
        LogConsumer::on_reply(self, ctx.now_ms, reply, ctx.rng, ctx.out);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: ClientTimer) {
        let (now, out) = (ctx.now_ms, &mut *ctx.out);
        match timer {
            ClientTimer::ProcessDone => self.on_process_done(now, ctx.rng, out),
            ClientTimer::Heartbeat => self.on_heartbeat_timer(now, out),
            ClientTimer::ConfirmDeadline => self.on_commit_deadline(now, out),
            ClientTimer::Seek(i) => self.on_seek_timer(i, out),
            ClientTimer::Leave => self.on_leave_timer(now, out),
            ClientTimer::Publish => unreachable!("timers go to the client kind that set them"),
        }
    }

    /// Kafka notices a dead member by its missing heartbeats: nothing is sent.
    fn crash(&mut self, ctx: &mut Ctx) {
        LogConsumer::crash(self, ctx.out);
    }

    fn restart(&mut self, ctx: &mut Ctx) {
        LogConsumer::restart(self, ctx.now_ms, ctx.out);
    }

    fn alive(&self) -> bool {
        self.alive
    }

    fn has_connection(&self) -> bool {
        true
    }

    /// Whatever broke the connection, the member joins its group again.
    fn reconnect(&mut self, ctx: &mut Ctx, _why: Reconnect) {
        self.rejoin(ctx.out);
    }

    fn back_for_drain(&self) -> bool {
        true
    }

    fn apply_setting(&mut self, _ctx: &mut Ctx, set: Setting, _keys: NewKeys) {
        match set {
            Setting::Processing(x) => self.set_processing(x),
            Setting::Prefetch(n) => self.set_max_poll_records(n),
            _ => unreachable!("validated: {} fits a log consumer", set.name()),
        }
    }

    fn settings(&self) -> ClientSettings {
        ClientSettings {
            processing: Some(self.processing()),
            prefetch: Some(self.max_poll_records()),
            commit: self.commit_mode(),
            ..ClientSettings::default()
        }
    }

    fn view(&self, id: &str) -> ClientView {
        ClientView {
            id: id.to_string(),
            is_producer: false,
            alive: self.alive && !self.left,
            count: self.processed,
            in_hand: self.in_hand() as u64,
            busy_ms: self.busy_ms,
        }
    }

    fn holding(&self, into: &mut BTreeSet<MsgId>) {
        into.extend(LogConsumer::holding(self));
    }

    fn busy_ms(&self) -> Option<u64> {
        Some(self.busy_ms)
    }

    fn checkpoint(&self) -> Option<Box<dyn Client>> {
        Some(Box::new(self.clone()))
    }
}

pub(super) fn send(req: LogRequest) -> ClientOutput {
    ClientOutput::Send(Request::Log(req))
}

pub(super) fn process_entry(ty: OpType, r: &LogRecord) -> ClientOutput {
    ClientOutput::Record(Entry::Log(LogEntry::Process {
        ty,
        partition: r.partition,
        offset: r.offset,
        msg: r.msg.id,
        key: r.msg.key,
    }))
}
