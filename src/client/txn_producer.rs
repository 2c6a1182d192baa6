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

use super::group_member::{GroupMember, MemberConfig};
use super::log_consumer::{process_entry, send};
use super::{ClientOutput, ClientTimer};
use crate::broker::log::{LogRecord, LogReply, LogRequest, PartitionId, TopicId};
use crate::broker::txn::{TxnError, TxnIdx, TxnReply, TxnRequest};
use crate::broker::{ClientId, Message, MsgId};
use crate::config::ProcessingSpec;
use crate::history::{Entry, LogEntry, OpType};
use crate::sim::rng::SimRng;
use std::collections::{BTreeMap, VecDeque};

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
    pub transaction_timeout_ms: u64,
    /// The input side: group, input topic and the group protocol's settings.
    pub member: MemberConfig,
    pub output: TopicId,
    /// Output record for input partition `p` goes to `p % output_partitions`.
    pub output_partitions: u32,
    pub processing: ProcessingSpec,
    pub max_poll_records: u32,
    /// When the first incarnation starts (a later start with the same
    /// `transactional.id` fences an earlier instance).
    pub start_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
pub struct TxnProducer {
    pub id: ClientId,
    cfg: TxnProducerConfig,
    pub alive: bool,
    pub phase: Phase,
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
    seq: u64,
    pub busy_ms: u64,
    /// Input records whose transaction committed.
    pub processed: u64,
    /// Transactions committed / started over.
    pub commits: u64,
    pub aborts: u64,
}

impl TxnProducer {
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
            commits: 0,
            aborts: 0,
        }
    }

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

    pub fn on_heartbeat_timer(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        if !self.fenced() {
            self.member.heartbeat(now_ms, out);
        }
    }

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

    /// The batch is processed: queue the transaction's requests and send
    /// the first. Output message ids come from the world's counter.
    pub fn on_process_done(
        &mut self,
        now_ms: u64,
        next_msg_id: &mut u64,
        _rng: &mut SimRng,
        out: &mut Vec<ClientOutput>,
    ) {
        if self.phase != Phase::Processing {
            return;
        }
        if std::mem::take(&mut self.abort_requested) {
            self.finish(now_ms, false, out); // nothing was sent yet
            return;
        }
        let (producer_id, epoch) = self.producer.expect("processing needs a producer id");
        let txn = self.cfg.txn;
        let mut added: u64 = 0;
        let mut offsets: BTreeMap<PartitionId, u64> = BTreeMap::new();
        for r in &self.batch {
            let partition = (u32::from(r.partition) % self.cfg.output_partitions) as PartitionId;
            let topic = self.cfg.output;
            if added & (1 << partition) == 0 {
                added |= 1 << partition;
                let add = TxnRequest::AddPartitionsToTxn {
                    txn,
                    producer_id,
                    epoch,
                    topic,
                    partition,
                };
                self.steps.push_back(add);
            }
            let msg = Message {
                id: *next_msg_id as MsgId,
                producer: self.id,
                seq: self.seq,
                key: r.msg.key,
                payload_bytes: r.msg.payload_bytes,
            };
            *next_msg_id += 1;
            self.seq += 1;
            // The application hands the result to its producer: the write's
            // invoke. Its ok/fail/info is the transaction's outcome.
            self.outputs.push((msg.id, msg.key));
            out.push(ClientOutput::Record(Entry::Publish {
                ty: OpType::Invoke,
                msg: msg.id,
                key: msg.key,
            }));
            self.steps.push_back(TxnRequest::Produce {
                txn,
                producer_id,
                epoch,
                topic,
                partition,
                msg,
            });
            let next = offsets.entry(r.partition).or_insert(0);
            *next = (*next).max(r.offset + 1);
        }
        for (partition, offset) in offsets {
            self.steps.push_back(TxnRequest::TxnOffsetCommit {
                txn,
                producer_id,
                epoch,
                group: self.cfg.member.group,
                member: self.id,
                generation: self.member.generation,
                partition,
                offset,
            });
        }
        self.steps.push_back(TxnRequest::EndTxn {
            txn,
            producer_id,
            epoch,
            commit: true,
        });
        assert!(self.steps.len() <= steps_max(self.cfg.max_poll_records));
        self.phase = Phase::Committing;
        self.send_next(now_ms, out);
    }

    fn send_next(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        assert_eq!(self.phase, Phase::Committing);
        if std::mem::take(&mut self.abort_requested) {
            let Some(TxnRequest::EndTxn {
                txn,
                producer_id,
                epoch,
                ..
            }) = self.steps.pop_back()
            else {
                unreachable!("EndTxn is the last step");
            };
            self.steps.clear();
            let abort = TxnRequest::EndTxn {
                txn,
                producer_id,
                epoch,
                commit: false,
            };
            self.send_txn(now_ms, abort, out);
            return;
        }
        let req = self.steps.pop_front().expect("EndTxn is the last step");
        self.send_txn(now_ms, req, out);
    }

    fn send_txn(&mut self, now_ms: u64, req: TxnRequest, out: &mut Vec<ClientOutput>) {
        assert!(self.awaiting.is_none(), "one coordinator request at a time");
        if let TxnRequest::EndTxn { commit, .. } = req {
            self.end_sent = commit;
        }
        self.awaiting = Some(req);
        self.retry = None;
        self.arm_deadline(now_ms + TXN_REQUEST_TIMEOUT_MS, out);
        out.push(send(LogRequest::Txn(req)));
    }

    fn arm_deadline(&mut self, at_ms: u64, out: &mut Vec<ClientOutput>) {
        self.deadline_ms = Some(at_ms);
        out.push(ClientOutput::Timer {
            at_ms,
            timer: ClientTimer::ConfirmDeadline,
        });
    }

    fn on_txn_reply(&mut self, now_ms: u64, reply: TxnReply, out: &mut Vec<ClientOutput>) {
        if let TxnReply::ProducerId { producer_id, epoch } = reply {
            if self.adopt_newer_epoch(producer_id, epoch, out) {
                return;
            }
        }
        let Some(req) = self.awaiting else {
            return; // a late reply to a request given up on
        };
        match (req, reply) {
            (TxnRequest::InitProducerId { .. }, TxnReply::ProducerId { producer_id, epoch }) => {
                self.done_waiting();
                self.producer = Some((producer_id, epoch));
                let id = LogEntry::ProducerId { producer_id, epoch };
                out.push(ClientOutput::Record(Entry::Log(id)));
                self.phase = Phase::Polling;
                self.member.join(out);
            }
            (_, TxnReply::Error { error }) => self.on_error(now_ms, req, error, out),
            (TxnRequest::AddPartitionsToTxn { .. }, TxnReply::Added)
            | (TxnRequest::TxnOffsetCommit { .. }, TxnReply::Added) => {
                self.done_waiting();
                self.send_next(now_ms, out);
            }
            (
                TxnRequest::Produce { msg: sent, .. },
                TxnReply::Produced {
                    msg,
                    partition,
                    offset,
                },
            ) if sent.id == msg => {
                let landed = LogEntry::Produced {
                    msg,
                    partition,
                    offset,
                };
                out.push(ClientOutput::Record(Entry::Log(landed)));
                self.done_waiting();
                self.send_next(now_ms, out);
            }
            (TxnRequest::EndTxn { .. }, TxnReply::Ended { commit }) => {
                self.done_waiting();
                self.finish(now_ms, commit, out);
            }
            _ => {} // a late reply of an earlier attempt
        }
    }

    /// Two `InitProducerId`s of this instance can be in flight (one sent
    /// just before a broker restart, one after). Each bumps the epoch, so
    /// if the older reply was taken first, the newer one says our epoch is
    /// already stale: take it, give up the transaction the bump aborted,
    /// and rejoin to re-read from the committed offsets.
    fn adopt_newer_epoch(&mut self, pid: u64, epoch: u16, out: &mut Vec<ClientOutput>) -> bool {
        let Some((current_pid, current_epoch)) = self.producer else {
            return false; // the awaited reply: handled below
        };
        if matches!(self.awaiting, Some(TxnRequest::InitProducerId { .. })) {
            return false;
        }
        if pid != current_pid || epoch <= current_epoch {
            return true; // an older reply: ignore
        }
        self.fail_batch(out);
        self.steps.clear();
        self.done_waiting();
        self.retry = None;
        self.producer = Some((pid, epoch));
        let id = LogEntry::ProducerId {
            producer_id: pid,
            epoch,
        };
        out.push(ClientOutput::Record(Entry::Log(id)));
        self.phase = Phase::Polling;
        self.member.join(out);
        true
    }

    fn done_waiting(&mut self) {
        self.awaiting = None;
        self.deadline_ms = None;
    }

    /// The transaction's decision is on disk.
    fn finish(&mut self, now_ms: u64, commit: bool, out: &mut Vec<ClientOutput>) {
        assert!(self.steps.is_empty(), "EndTxn is the last step");
        self.abort_requested = false;
        self.end_sent = false;
        let ty = if commit { OpType::Ok } else { OpType::Fail };
        self.settle(ty, out);
        if commit {
            self.processed += self.batch.len() as u64;
            for r in &self.batch {
                out.push(ClientOutput::Effect { key: r.msg.key });
            }
        }
        for r in std::mem::take(&mut self.batch) {
            out.push(process_entry(ty, &r));
        }
        self.commits += u64::from(commit);
        self.phase = Phase::Polling;
        if std::mem::take(&mut self.rejoin_after_txn) {
            self.member.join(out);
        }
        self.poll(now_ms, out);
    }

    fn on_error(&mut self, now_ms: u64, req: TxnRequest, e: TxnError, out: &mut Vec<ClientOutput>) {
        self.done_waiting();
        match e {
            TxnError::ProducerFenced => self.fence(out),
            TxnError::ConcurrentTransactions => {
                self.retry = Some(req);
                self.arm_deadline(now_ms + TXN_RETRY_BACKOFF_MS, out);
            }
            TxnError::InvalidTxnState | TxnError::LimitExceeded => self.start_over(now_ms, out),
            TxnError::OffsetCommit(e) => {
                // KIP-447: the input partitions may be someone else's now.
                // Abort (the offsets must not commit with the output), then
                // take the new assignment, or rejoin if the group forgot us.
                self.rejoin_after_txn = e.needs_rejoin(self.member.pending.is_some());
                self.abort_requested = true;
                self.send_next(now_ms, out);
            }
        }
    }

    /// `ProducerFenced`: a zombie. It gives up its batch and the group.
    fn fence(&mut self, out: &mut Vec<ClientOutput>) {
        self.fail_batch(out);
        self.phase = Phase::Fenced;
        self.steps.clear();
        self.member.partitions = 0;
        self.member.polling = None;
        let group = self.cfg.member.group;
        out.push(ClientOutput::Record(Entry::Log(LogEntry::Leave { group })));
        out.push(send(LogRequest::LeaveGroup { group }));
    }

    /// The batch is given up. Before `EndTxn(commit)` was sent the
    /// transaction certainly aborts (`fail`); after, the coordinator may
    /// have committed it (`info`: the checker decides from the markers).
    fn fail_batch(&mut self, out: &mut Vec<ClientOutput>) {
        let ty = if self.end_sent {
            OpType::Info
        } else {
            OpType::Fail
        };
        self.end_sent = false;
        self.abort_requested = false;
        self.settle(ty, out);
        if self.phase == Phase::Processing || self.phase == Phase::Committing {
            for r in std::mem::take(&mut self.batch) {
                out.push(process_entry(ty, &r));
            }
        }
        self.batch.clear();
    }

    /// The outcome of the batch's output writes.
    fn settle(&mut self, ty: OpType, out: &mut Vec<ClientOutput>) {
        for (msg, key) in std::mem::take(&mut self.outputs) {
            out.push(ClientOutput::Record(Entry::Publish { ty, msg, key }));
        }
    }

    /// The deadline timer: resend after a backoff, or give up on a lost
    /// reply and start over.
    pub fn on_deadline_timer(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        if self.deadline_ms.is_none_or(|d| now_ms < d) || self.fenced() {
            return; // an older timer
        }
        self.deadline_ms = None;
        match self.retry.take() {
            Some(req) => {
                self.awaiting = None;
                self.send_txn(now_ms, req, out)
            }
            None => self.start_over(now_ms, out),
        }
    }

    /// Abort whatever is open by re-initialising: the new epoch aborts the
    /// open transaction at the coordinator; the group is joined again
    /// once the id arrives, so reading resumes at the committed offsets.
    pub fn start_over(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        if !self.alive || self.fenced() || self.phase == Phase::Waiting {
            return;
        }

        self.fail_batch(out);
        self.aborts += 1;
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

    pub fn set_processing(&mut self, processing: ProcessingSpec) {
        self.cfg.processing = processing;
    }

    pub fn processing(&self) -> ProcessingSpec {
        self.cfg.processing
    }

    /// Input messages held and not yet committed.
    pub fn holding(&self) -> impl Iterator<Item = MsgId> + '_ {
        self.batch.iter().map(|r| r.msg.id)
    }

    pub fn in_hand(&self) -> usize {
        self.batch.len()
    }
}

/// `max.poll.records` of a transactional client: one poll is one
/// transaction, and the steps queue holds up to three requests per record.
pub const TXN_MAX_POLL_RECORDS_MAX: u32 = 1_000;
/// Kafka's `transaction.max.timeout.ms` default (15 minutes).
pub const TRANSACTION_TIMEOUT_MS_MAX: u64 = 900_000;

/// Scenario rules for a `log_consumer` with `transactional` (errors name
/// the field). Offsets are committed by the transaction, so the consumer's
/// own commit settings must be off.
pub fn validate(
    path: &str,
    c: &crate::config::LogConsumerSpec,
    t: &crate::config::TransactionalSpec,
    output_known: bool,
) -> Result<(), crate::config::ScenarioError> {
    let err = |field: &str, reason: &str| {
        Err(crate::config::ScenarioError {
            path: format!("{path}.{field}"),
            reason: reason.to_string(),
        })
    };
    if c.enable_auto_commit || c.commit.is_some() {
        return err(
            "enable.auto.commit",
            "a transactional client commits its offsets in the transaction: set enable.auto.commit = false and no commit",
        );
    }
    if c.dedup_ids_max.is_some() || !c.seeks.is_empty() || c.leave_at_ms.is_some() {
        return err(
            "transactional",
            "not combinable with dedup_ids_max, seeks or leave_at_ms",
        );
    }
    if t.transactional_id.is_empty() {
        return err("transactional.transactional.id", "must be non-empty");
    }
    if t.transaction_timeout_ms == 0 || t.transaction_timeout_ms > TRANSACTION_TIMEOUT_MS_MAX {
        return err(
            "transactional.transaction.timeout.ms",
            "must be in 1..=900000 (transaction.max.timeout.ms)",
        );
    }
    if !output_known {
        return err("transactional.output_topic", "unknown topic");
    }
    if t.output_topic == c.topic {
        return err(
            "transactional.output_topic",
            "must differ from the input topic",
        );
    }
    if c.heartbeat_interval_ms == 0 || c.heartbeat_interval_ms >= c.session_timeout_ms {
        return err(
            "heartbeat.interval.ms",
            "must be positive and below session.timeout.ms",
        );
    }
    if c.max_poll_records == 0 || c.max_poll_records > TXN_MAX_POLL_RECORDS_MAX {
        return err(
            "max.poll.records",
            "must be in 1..=1000 for a transactional client",
        );
    }
    Ok(())
}

/// The coordinator's index of a `transactional.id`: its rank among the
/// distinct ids in the scenario's client order (clients added live are
/// appended, so earlier indices never move).
pub fn txn_index(s: &crate::config::Scenario, transactional_id: &str) -> TxnIdx {
    let mut seen: Vec<&str> = Vec::new();
    for c in &s.clients {
        if let crate::config::ClientSpec::LogConsumer(k) = c {
            if let Some(t) = &k.transactional {
                if !seen.contains(&t.transactional_id.as_str()) {
                    seen.push(&t.transactional_id);
                }
            }
        }
    }
    let i = seen
        .iter()
        .position(|x| *x == transactional_id)
        .expect("validated: the id is in the scenario");
    assert!(i < crate::broker::txn::TXN_IDS_MAX);
    i as TxnIdx
}
