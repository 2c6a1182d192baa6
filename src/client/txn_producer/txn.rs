//! One transaction of the read-process-write loop: the batch's requests
//! (`AddPartitionsToTxn`, `Produce`, `TxnOffsetCommit`, `EndTxn`) sent one at
//! a time, the coordinator's replies and errors, and the batch's outcome:
//! committed, aborted, or unknown when the `EndTxn(commit)` reply was lost.

use super::{steps_max, Phase, TxnProducer, TXN_REQUEST_TIMEOUT_MS, TXN_RETRY_BACKOFF_MS};
use crate::broker::log::{LogRequest, PartitionId};
use crate::broker::txn::{TxnError, TxnReply, TxnRequest};
use crate::broker::{Message, MsgId};
use crate::client::log_consumer::{process_entry, send};
use crate::client::{ClientOutput, ClientTimer};
use crate::history::{Entry, LogEntry, OpType};
use std::collections::BTreeMap;

impl TxnProducer {
    /// The batch is processed: queue the transaction's requests and send
    /// the first. Output message ids come from the world's counter.
    pub fn on_process_done(
        &mut self,
        now_ms: u64,
        next_msg_id: &mut MsgId,
        out: &mut Vec<ClientOutput>,
    ) {
        if self.phase != Phase::Processing {
            return;
        }
        if std::mem::take(&mut self.abort_requested) {
            self.finish(now_ms, false, out); // nothing was sent yet
            return;
        }
        let producer = self.producer.expect("processing needs a producer id");
        let offsets = self.queue_writes(producer, next_msg_id, out);
        self.queue_commit(producer, offsets);
        assert!(self.steps.len() <= steps_max(self.cfg.max_poll_records));
        self.phase = Phase::Committing;
        self.send_next(now_ms, out);
    }

    /// Queues one output record per input record (with the
    /// `AddPartitionsToTxn` of each output partition before its first
    /// record) and returns the input positions the transaction commits.
    fn queue_writes(
        &mut self,
        (producer_id, epoch): (u64, u16),
        next_msg_id: &mut MsgId,
        out: &mut Vec<ClientOutput>,
    ) -> BTreeMap<PartitionId, u64> {
        let (txn, topic) = (self.cfg.txn, self.cfg.output);
        let mut added: u64 = 0;
        let mut offsets: BTreeMap<PartitionId, u64> = BTreeMap::new();
        for r in &self.batch {
            let partition = (u32::from(r.partition) % self.cfg.output_partitions) as PartitionId;
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
                id: *next_msg_id,
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
        offsets
    }

    /// Queues the input positions (`TxnOffsetCommit`, one per partition)
    /// and the `EndTxn(commit)` that ends the transaction.
    fn queue_commit(
        &mut self,
        (producer_id, epoch): (u64, u16),
        offsets: BTreeMap<PartitionId, u64>,
    ) {
        let txn = self.cfg.txn;
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

    pub(super) fn send_txn(&mut self, now_ms: u64, req: TxnRequest, out: &mut Vec<ClientOutput>) {
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

    pub(super) fn on_txn_reply(
        &mut self,
        now_ms: u64,
        reply: TxnReply,
        out: &mut Vec<ClientOutput>,
    ) {
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
    pub(super) fn fail_batch(&mut self, out: &mut Vec<ClientOutput>) {
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
}
