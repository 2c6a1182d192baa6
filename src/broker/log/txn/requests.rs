//! The log broker's side of each coordinator request.
//!
//! Most requests only change the coordinator's table ([`super::TxnCoordinator`]);
//! two reach further. A transactional `Produce` appends to a partition at
//! once, and a `TxnOffsetCommit` is first checked by the group coordinator
//! (KIP-447: a member that lost the partition in a rebalance must not commit
//! for it). Every answer goes back at once, except `EndTxn`'s: it waits until
//! the decision is durable and the markers are written (see `markers`).
//!
//! The coordinator reports what it did as [`TxnNote`]s into a buffer of its
//! own; they reach the history after whatever the request did to the
//! partitions, so a reader sees the append before the state change it
//! caused.

use super::{TxnError, TxnIdx, TxnMeta, TxnNote, TxnReply, TxnRequest, TxnTag};
use crate::broker::log::notes::{note, LogNote};
use crate::broker::log::{GroupId, LogBroker, LogReply, PartitionId, TopicId};
use crate::broker::{ClientId, Message, Output};

/// A coordinator note as a broker output.
pub(super) fn txn_note(n: TxnNote) -> Output {
    note(LogNote::Txn(n))
}

/// Who sent a transactional request: its `transactional.id` and the
/// (producer id, epoch) `InitProducerId` gave it.
#[derive(Clone, Copy)]
struct Sender {
    txn: TxnIdx,
    producer_id: u64,
    epoch: u16,
}

impl LogBroker {
    /// One coordinator request. Replies go back at once, except `EndTxn`'s,
    /// which waits for the decision to be durable.
    pub(in crate::broker::log) fn txn_request(
        &mut self,
        now_ms: u64,
        from: ClientId,
        req: TxnRequest,
        out: &mut Vec<Output>,
    ) {
        let mut notes = Vec::new();
        let reply = self.txn_answer(now_ms, from, req, &mut notes, out);
        out.extend(notes.into_iter().map(txn_note));
        if let Some(reply) = reply {
            out.push(Output::Log {
                to: from,
                reply: LogReply::Txn(reply),
            });
        }
    }

    /// Routes one request to the coordinator (and, for a produce or an
    /// offset commit, to the partitions or the group); `None` = answer later.
    fn txn_answer(
        &mut self,
        now_ms: u64,
        from: ClientId,
        req: TxnRequest,
        notes: &mut Vec<TxnNote>,
        out: &mut Vec<Output>,
    ) -> Option<TxnReply> {
        match req {
            TxnRequest::InitProducerId {
                txn,
                transaction_timeout_ms,
            } => {
                let c = &mut self.coordinator;
                Some(c.init_producer_id(now_ms, txn, transaction_timeout_ms, notes))
            }
            TxnRequest::AddPartitionsToTxn {
                txn,
                producer_id,
                epoch,
                topic,
                partition,
            } => {
                let tp = (topic, partition);
                let c = &mut self.coordinator;
                Some(c.add_partition(now_ms, txn, producer_id, epoch, tp, notes))
            }
            TxnRequest::Produce {
                txn,
                producer_id,
                epoch,
                topic,
                partition,
                msg,
            } => {
                let sender = Sender {
                    txn,
                    producer_id,
                    epoch,
                };
                let tp = (topic, partition);
                Some(self.txn_produce(now_ms, sender, tp, msg, notes, out))
            }
            TxnRequest::TxnOffsetCommit {
                txn,
                producer_id,
                epoch,
                group,
                member,
                generation,
                partition,
                offset,
            } => {
                let sender = Sender {
                    txn,
                    producer_id,
                    epoch,
                };
                let at = (group, member, generation);
                let commit = (partition, offset);
                Some(self.txn_offset_commit(sender, at, commit, notes, out))
            }
            TxnRequest::EndTxn {
                txn,
                producer_id,
                epoch,
                commit,
            } => self
                .coordinator
                .end_txn(from, txn, producer_id, epoch, commit, notes),
        }
    }

    /// A transactional `Produce`: the coordinator checks the epoch and that
    /// the partition was added. The record is appended now (answered at the
    /// append, like `acks=1`: the commit point's flush makes it durable),
    /// visible to `read_committed` only after its commit marker.
    fn txn_produce(
        &mut self,
        now_ms: u64,
        s: Sender,
        (topic, partition): (TopicId, PartitionId),
        msg: Message,
        notes: &mut Vec<TxnNote>,
        out: &mut Vec<Output>,
    ) -> TxnReply {
        let at = (topic, partition);
        let c = &mut self.coordinator;
        if let Err(error) = c.check_produce(s.txn, s.producer_id, s.epoch, at, notes) {
            return TxnReply::Error { error };
        }
        let tag = TxnTag {
            producer_id: s.producer_id,
            epoch: s.epoch,
            marker: None,
        };
        let offset = self
            .partitions
            .append(now_ms, at, msg, (Some(tag), None), out);
        self.partitions.apply_retention_count(topic, partition, out);
        self.groups.serve_parked(at, &self.partitions, out);
        TxnReply::Produced {
            msg: msg.id,
            partition,
            offset,
        }
    }

    /// `AddOffsetsToTxn` + `TxnOffsetCommit`: the group coordinator fences
    /// the member as for a plain commit, then the transaction coordinator
    /// holds the offset until the transaction ends.
    fn txn_offset_commit(
        &mut self,
        s: Sender,
        (group, member, generation): (GroupId, ClientId, u32),
        (partition, offset): (PartitionId, u64),
        notes: &mut Vec<TxnNote>,
        out: &mut Vec<Output>,
    ) -> TxnReply {
        if let Some(error) = self.groups.commit_error(group, member, generation) {
            out.push(note(LogNote::CommitRejected {
                group,
                member,
                partition,
                offset,
                error,
            }));
            let error = TxnError::OffsetCommit(error);
            return TxnReply::Error { error };
        }
        let entry = (group, partition, offset);
        let c = &mut self.coordinator;
        c.add_offset(s.txn, s.producer_id, s.epoch, entry, notes)
    }

    /// `transaction.timeout.ms`: the coordinator aborts what ran too long.
    pub(in crate::broker::log) fn expire_txns(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        let mut notes = Vec::new();
        self.coordinator.expire(now_ms, &mut notes);
        out.extend(notes.into_iter().map(txn_note));
    }

    /// The coordinator's view of one `transactional.id`, for tests and the UI.
    pub fn txn_meta(&self, txn: TxnIdx) -> Option<&TxnMeta> {
        self.coordinator.meta(txn)
    }

    /// The last stable offset of a partition.
    pub fn last_stable_offset(&self, topic: TopicId, partition: PartitionId) -> u64 {
        let log = self.partitions.log(topic, partition);
        log.txn.last_stable_offset(log.end())
    }
}
