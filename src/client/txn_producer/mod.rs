//! A read-process-write transactional client: Kafka's exactly-once loop.
//!
//! One application consumes an input topic as a consumer-group member and
//! writes its results to an output topic. Each poll's batch becomes one
//! transaction:
//!
//! ```text
//! InitProducerId                       (once per incarnation: fences older ones)
//! loop {
//!     records = poll()                 (input topic, group member)
//!     process(records)                 (virtual time)
//!     AddPartitionsToTxn + Produce     (one output record per input record)
//!     TxnOffsetCommit(input positions) (the offsets commit *with* the output)
//!     EndTxn(commit)                   (reply = the decision is on disk)
//! }
//! ```
//!
//! Because the input offsets are part of the transaction, the output and the
//! "I have consumed this" move together: either both commit or neither does.
//! A crash anywhere before the commit point aborts the transaction and the
//! next incarnation re-reads the same input; downstream `read_committed`
//! consumers never see the aborted attempt.
//!
//! Recovery inside one incarnation (a lost reply, a broken connection, an
//! unexpected coordinator error) is the same move a restart makes: a fresh
//! `InitProducerId` (which aborts the open transaction and bumps the epoch),
//! then `JoinGroup` again, re-reading from the committed offsets.
//!
//! Group membership and transactions meet in Kafka's KIP-447. When a
//! rebalance moves an input partition while a transaction over it is open,
//! two things keep its records from being processed twice:
//!
//! - the `TxnOffsetCommit` names this member and its generation, and the
//!   group coordinator refuses a stale one (`ILLEGAL_GENERATION`,
//!   `REBALANCE_IN_PROGRESS`, `UNKNOWN_MEMBER_ID`); this client then aborts
//!   the transaction (and aborts on its own when a rebalance reaches it
//!   before its `EndTxn`);
//! - the partition's new owner does not start from the committed offset
//!   while a transaction holding offsets for it is open
//!   (`UNSTABLE_OFFSET_COMMIT`, see [`crate::broker::log`]): it starts
//!   where that transaction leaves the offset, once it commits or aborts.
//!
//! `ProducerFenced` is final: a newer instance with the same
//! `transactional.id` exists (or `transaction.timeout.ms` expired), so this
//! one is a zombie. It stops, leaves the group and never writes again.
//!
//! History: each input record gets `invoke process` when the batch starts,
//! then `ok process` when its transaction commits (the effect *is* the
//! committed transaction) or `fail process` when it aborts.

//! ## Files
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | the client: its settings, lifecycle (start, crash, restart, start over), the input side (group membership, polls), and how the world drives it |
//! | `txn.rs` | one transaction: its requests in order, the coordinator's replies and errors, commit or abort |
//! | `rules.rs` | the scenario rules of a `transactional` entry and the `transactional.id` index |

mod rules;
mod txn;

pub use rules::{txn_index, validate, TRANSACTION_TIMEOUT_MS_MAX, TXN_MAX_POLL_RECORDS_MAX};

use super::group_member::{GroupMember, MemberConfig};
use super::log_consumer::process_entry;
use super::{
    Client, ClientOutput, ClientSettings, ClientTimer, ClientView, Ctx, Downlink, Lookup, NewKeys,
    Reconnect,
};
use crate::broker::log::{LogRecord, LogReply, TopicId};
use crate::broker::txn::{TxnIdx, TxnRequest};
use crate::broker::{ClientId, MsgId};
use crate::config::{LogBrokerSpec, LogConsumerSpec, ProcessingSpec, Scenario, Setting};
use crate::history::{Names, OpType};
use std::collections::{BTreeSet, VecDeque};

/// How long a coordinator request may go unanswered before the client
/// starts over (fresh `InitProducerId`). Kafka's `request.timeout.ms`
/// default is 30 s; the simulation's links are milliseconds, so 5 s.
pub const TXN_REQUEST_TIMEOUT_MS: u64 = 5_000;
/// Wait before retrying after `CONCURRENT_TRANSACTIONS` (the previous
/// transaction is still writing its markers).
pub const TXN_RETRY_BACKOFF_MS: u64 = 20;
/// Requests one transaction needs at most: per record an
/// `AddPartitionsToTxn` and a `Produce`, per input partition a
/// `TxnOffsetCommit`, plus the `EndTxn`.
fn steps_max(max_poll_records: u32) -> usize {
    3 * max_poll_records as usize + 1
}

/// Resolved settings of one read-process-write client.
#[derive(Clone, Debug)]
pub struct TxnProducerConfig {
    /// Interned `transactional.id`.
    pub txn: TxnIdx,
    /// `transaction.timeout.ms`: an open transaction older than this is aborted
    /// by the coordinator (and its producer fenced).
    pub transaction_timeout_ms: u64,
    /// The input side: group, input topic and the group protocol's settings.
    pub member: MemberConfig,
    /// The topic its results go to.
    pub output: TopicId,
    /// Output record for input partition `p` goes to `p % output_partitions`.
    pub output_partitions: u32,
    /// How long one input record takes to process.
    pub processing: ProcessingSpec,
    /// `max.poll.records`: input records per poll, and so per transaction.
    pub max_poll_records: u32,
    /// When the first incarnation starts (a later start with the same
    /// `transactional.id` fences an earlier instance).
    pub start_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// Where the client is in its loop.
pub enum Phase {
    /// Not yet started (before `start_ms`).
    Waiting,
    /// `InitProducerId` sent, then `JoinGroup` once the id arrives.
    Init,
    /// Member of the group, polling for a batch.
    Polling,
    /// Processing the batch (a `ProcessDone` timer is set).
    Processing,
    /// Sending the transaction's requests one at a time.
    Committing,
    /// Fenced: a zombie that stopped for good.
    Fenced,
}

#[derive(Clone, Debug)]
/// A read-process-write client (see the module docs).
pub struct TxnProducer {
    /// Its client id: also its member id in the input group.
    id: ClientId,
    /// Its settings; processing time changes live.
    cfg: TxnProducerConfig,
    /// Running; a crashed client receives nothing until restarted.
    alive: bool,
    /// Where it is in its loop.
    phase: Phase,
    /// (producer id, epoch) from the last `InitProducerId`.
    producer: Option<(u64, u16)>,
    /// Its membership of the input topic's group.
    member: GroupMember,
    /// The poll's records. Bound: `max.poll.records`.
    batch: Vec<LogRecord>,
    /// The batch's output messages, one per input record, in input order.
    outputs: Vec<(MsgId, Option<crate::broker::KeyId>)>,
    /// `EndTxn(commit)` is on the wire: if its reply never comes, the
    /// outcome is unknown (Jepsen's `info`), not a failure.
    end_sent: bool,
    /// A rebalance arrived mid-transaction: the partitions may already be
    /// someone else's, so this transaction aborts instead of committing
    /// offsets for them (the client-side half of Kafka's KIP-447 fencing).
    abort_requested: bool,
    /// A `TxnOffsetCommit` was refused for a reason the next poll cannot
    /// fix (see [`crate::broker::log::CommitError::needs_rejoin`]): once the
    /// transaction has aborted, join the group again.
    rejoin_after_txn: bool,
    /// The transaction's requests still to send. Bound: [`steps_max`].
    steps: VecDeque<TxnRequest>,
    /// The request on the wire, waiting for its reply.
    awaiting: Option<TxnRequest>,
    /// When the awaited request counts as lost (or a backoff ends).
    deadline_ms: Option<u64>,
    /// The request to resend when the backoff ends.
    retry: Option<TxnRequest>,
    /// Its output messages so far (the next one's `seq`).
    seq: u64,
    /// Virtual ms spent processing, to show how busy it was.
    busy_ms: u64,
    /// Input records whose transaction committed.
    processed: u64,
}

impl TxnProducer {
    /// A client waiting for its start time.
    pub fn new(id: ClientId, cfg: TxnProducerConfig) -> TxnProducer {
        assert!(cfg.max_poll_records > 0);
        assert!(cfg.output_partitions > 0 && cfg.member.topic != cfg.output);
        assert!(cfg.transaction_timeout_ms > 0);
        TxnProducer {
            id,
            member: GroupMember::new(cfg.member),
            cfg,
            alive: true,
            phase: Phase::Waiting,
            producer: None,
            batch: Vec::new(),
            outputs: Vec::new(),
            end_sent: false,
            abort_requested: false,
            rejoin_after_txn: false,
            steps: VecDeque::new(),
            awaiting: None,
            deadline_ms: None,
            retry: None,
            seq: 0,
            busy_ms: 0,
            processed: 0,
        }
    }

    /// Whether it was fenced (`ProducerFenced`): a zombie that stopped.
    pub fn fenced(&self) -> bool {
        self.phase == Phase::Fenced
    }

    /// Sets the start timer (or starts now if `start_ms` has passed).
    pub fn start(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        out.push(ClientOutput::Timer {
            at_ms: now_ms.max(self.cfg.start_ms),
            timer: ClientTimer::Publish,
        });
    }

    /// The start timer: `InitProducerId`, and the heartbeat loop.
    pub fn on_start_timer(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        if self.phase != Phase::Waiting {
            return;
        }
        self.init(now_ms, out);
        out.push(ClientOutput::Timer {
            at_ms: now_ms + self.cfg.member.heartbeat_interval_ms,
            timer: ClientTimer::Heartbeat,
        });
    }

    fn init(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        self.phase = Phase::Init;
        self.producer = None;
        self.send_txn(
            now_ms,
            TxnRequest::InitProducerId {
                txn: self.cfg.txn,
                transaction_timeout_ms: self.cfg.transaction_timeout_ms,
            },
            out,
        );
    }

    /// The heartbeat timer: heartbeat unless fenced.
    pub fn on_heartbeat_timer(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        if !self.fenced() {
            self.member.heartbeat(now_ms, out);
        }
    }

    /// A reply of the log broker: an assignment, an input record, the end of
    /// a poll, or the coordinator's answer.
    pub fn on_reply(&mut self, now_ms: u64, reply: LogReply, out: &mut Vec<ClientOutput>) {
        assert!(self.alive, "the world drops replies to dead clients");
        if self.fenced() {
            return;
        }
        match reply {
            LogReply::Assignment {
                generation,
                partitions,
            } => self.on_assignment(now_ms, generation, partitions, out),
            LogReply::Record { poll, record } => self.on_record(poll, record, out),
            LogReply::PollEnd { poll } => self.on_poll_end(now_ms, poll, out),
            LogReply::Txn(r) => self.on_txn_reply(now_ms, r, out),
            LogReply::ProduceAck { .. } => unreachable!("transactional produce replies are Txn"),
            LogReply::CommitResponse { .. } => unreachable!("offsets commit in the transaction"),
        }
    }

    fn on_assignment(&mut self, now_ms: u64, gen: u32, parts: u64, out: &mut Vec<ClientOutput>) {
        self.member.pending = Some((gen, parts));
        let in_txn = matches!(self.phase, Phase::Processing | Phase::Committing);
        if in_txn && !self.end_sent && gen != self.member.generation {
            self.abort_requested = true;
        }
        if self.phase == Phase::Polling {
            self.poll(now_ms, out);
        }
    }

    /// A rebalance applies at the next `poll()`, after the transaction in
    /// hand ended (as in Kafka).
    fn apply_assignment(&mut self, out: &mut Vec<ClientOutput>) {
        if self.member.apply_assignment(out) {
            self.batch.clear();
        }
    }

    fn poll(&mut self, _now_ms: u64, out: &mut Vec<ClientOutput>) {
        assert_eq!(self.phase, Phase::Polling);
        if self.member.polling.is_none() {
            self.apply_assignment(out);
        }
        if self.member.partitions == 0 || self.member.polling.is_some() {
            return;
        }
        self.member.send_poll(self.cfg.max_poll_records, out);
    }

    fn on_record(&mut self, poll: u64, r: LogRecord, out: &mut Vec<ClientOutput>) {
        let owned = self.member.owns(r.partition);
        let stale = self
            .batch
            .iter()
            .any(|b| b.partition == r.partition && b.offset >= r.offset);
        if self.phase != Phase::Polling || self.member.polling != Some(poll) || !owned || stale {
            return; // an older poll, a network duplicate, or mid-transaction
        }
        assert!(self.batch.len() < self.cfg.max_poll_records as usize);
        GroupMember::record_read(poll, &r, out);
        self.batch.push(r);
    }

    fn on_poll_end(&mut self, now_ms: u64, poll: u64, out: &mut Vec<ClientOutput>) {
        if self.phase != Phase::Polling || self.member.polling != Some(poll) {
            return;
        }
        self.member.polling = None;
        if self.batch.is_empty() {
            self.poll(now_ms, out);
            return;
        }
        self.phase = Phase::Processing;
        for r in &self.batch {
            out.push(process_entry(OpType::Invoke, r));
        }
        self.busy_ms += self.process_ms(now_ms);
        out.push(ClientOutput::Timer {
            at_ms: now_ms + self.process_ms(now_ms),
            timer: ClientTimer::ProcessDone,
        });
    }

    /// Virtual time the batch takes: `processing` per record (a fixed
    /// setting; a uniform one uses its mean so the draw needs no RNG here).
    fn process_ms(&self, _now_ms: u64) -> u64 {
        let per = match self.cfg.processing {
            ProcessingSpec::FixedMs(ms) => ms,
            ProcessingSpec::UniformMs { min, max } => (min + max) / 2,
        };
        per * self.batch.len() as u64
    }

    /// Abort whatever is open by re-initialising: the new epoch aborts the
    /// open transaction at the coordinator; the group is joined again
    /// once the id arrives, so reading resumes at the committed offsets.
    pub fn start_over(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        if !self.alive || self.fenced() || self.phase == Phase::Waiting {
            return;
        }

        self.fail_batch(out);
        self.steps.clear();
        self.awaiting = None;
        self.retry = None;
        self.member.partitions = 0;
        self.member.polling = None;
        self.init(now_ms, out);
    }

    /// The process dies: its open transaction stays open at the
    /// coordinator until the next incarnation's `InitProducerId` (or
    /// `transaction.timeout.ms`) aborts it.
    pub fn crash(&mut self, out: &mut Vec<ClientOutput>) {
        assert!(self.alive);
        self.fail_batch(out);
        self.alive = false;
        self.steps.clear();
        self.awaiting = None;
        self.retry = None;
        self.deadline_ms = None;
        self.member.partitions = 0;
        self.member.polling = None;
        self.producer = None;
        if self.phase != Phase::Fenced {
            self.phase = Phase::Waiting;
        }
    }

    /// A restart is a new incarnation: a fenced zombie that is restarted
    /// comes back as a proper instance (it re-registers and fences the
    /// other one in turn).
    pub fn restart(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        assert!(!self.alive);
        self.alive = true;
        self.phase = Phase::Waiting;
        self.start(now_ms, out);
    }

    /// Processing time from the next batch on.
    pub fn set_processing(&mut self, processing: ProcessingSpec) {
        self.cfg.processing = processing;
    }

    /// Its current processing time.
    pub fn processing(&self) -> ProcessingSpec {
        self.cfg.processing
    }

    /// Input messages held and not yet committed.
    pub fn holding(&self) -> impl Iterator<Item = MsgId> + '_ {
        self.batch.iter().map(|r| r.msg.id)
    }

    /// Input records held in the open transaction.
    pub fn in_hand(&self) -> usize {
        self.batch.len()
    }
}

impl TxnProducer {
    /// A read-process-write client from its scenario entry (`kind:
    /// log_consumer` with `transactional`).
    pub fn from_spec(
        s: &Scenario,
        names: &Names,
        id: ClientId,
        k: &LogConsumerSpec,
        b: &LogBrokerSpec,
    ) -> TxnProducer {
        let t = k.transactional.as_ref().expect("a transactional entry");
        let ids = Lookup(names);
        let output = ids.topic(&t.output_topic);
        let group = ids.group(&k.group_id);
        let cfg = TxnProducerConfig {
            txn: txn_index(s, &t.transactional_id),
            transaction_timeout_ms: t.transaction_timeout_ms,
            member: MemberConfig::from_spec(k, group, ids.topic(&k.topic)),
            output,
            output_partitions: b.topics[output as usize].partitions,
            processing: k.processing,
            max_poll_records: k.max_poll_records,
            start_ms: t.start_ms,
        };
        TxnProducer::new(id, cfg)
    }
}

impl Client for TxnProducer {
    fn start(&mut self, ctx: &mut Ctx) {
        TxnProducer::start(self, ctx.now_ms, ctx.out);
    }

    fn on_reply(&mut self, ctx: &mut Ctx, msg: Downlink) {
        let Downlink::Log(reply) = msg else {
            unreachable!("a transactional client gets log replies");
        };
        TxnProducer::on_reply(self, ctx.now_ms, reply, ctx.out);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: ClientTimer) {
        let now = ctx.now_ms;
        match timer {
            ClientTimer::Publish => self.on_start_timer(now, ctx.out),
            ClientTimer::Heartbeat => self.on_heartbeat_timer(now, ctx.out),
            ClientTimer::ProcessDone => self.on_process_done(now, ctx.next_msg_id, ctx.out),
            ClientTimer::ConfirmDeadline => self.on_deadline_timer(now, ctx.out),
            ClientTimer::Seek(_) | ClientTimer::Leave => {
                unreachable!("timers go to the client kind that set them")
            }
        }
    }

    fn crash(&mut self, ctx: &mut Ctx) {
        TxnProducer::crash(self, ctx.out);
    }

    fn restart(&mut self, ctx: &mut Ctx) {
        TxnProducer::restart(self, ctx.now_ms, ctx.out);
    }

    fn alive(&self) -> bool {
        self.alive
    }

    fn has_connection(&self) -> bool {
        true
    }

    /// Whatever broke the connection, it starts over: a fresh
    /// `InitProducerId` aborts the open transaction.
    fn reconnect(&mut self, ctx: &mut Ctx, _why: Reconnect) {
        self.start_over(ctx.now_ms, ctx.out);
    }

    /// A crashed transactional client stays down through the drain: its
    /// open transaction is aborted by the coordinator's timeout.
    fn back_for_drain(&self) -> bool {
        false
    }

    fn apply_setting(&mut self, _ctx: &mut Ctx, set: Setting, _keys: NewKeys) {
        match set {
            Setting::Processing(x) => self.set_processing(x),
            _ => unreachable!("validated: {} fits a transactional client", set.name()),
        }
    }

    fn settings(&self) -> ClientSettings {
        ClientSettings {
            processing: Some(self.processing()),
            ..ClientSettings::default()
        }
    }

    fn view(&self, id: &str) -> ClientView {
        ClientView {
            id: id.to_string(),
            is_producer: false,
            alive: self.alive && !self.fenced(),
            count: self.processed,
            in_hand: self.in_hand() as u64,
            busy_ms: self.busy_ms,
        }
    }

    fn holding(&self, into: &mut BTreeSet<MsgId>) {
        into.extend(TxnProducer::holding(self));
    }

    fn busy_ms(&self) -> Option<u64> {
        Some(self.busy_ms)
    }

    fn checkpoint(&self) -> Option<Box<dyn Client>> {
        Some(Box::new(self.clone()))
    }
}
