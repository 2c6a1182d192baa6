//! Durability: the group commit, and what is durable when.
//!
//! Nothing the broker holds in memory survives a crash. What reaches the
//! disk goes through [`Storage`] in *group commits*: one flush is in flight
//! at a time, and the next one takes everything that piled up meanwhile,
//! one record batch per stream:
//!
//! ```text
//!   partition batches, in (topic, partition) order   records
//!   Producers                                        idempotent producers' windows
//!   Offsets                                          committed offsets
//!   Txn (always last)                                the coordinator's state changes
//! ```
//!
//! When the flush is durable, its records' `acks=all` answers go out, its
//! `commitSync` answers go out, and the transactions whose `Prepare*`
//! record it carried get their markers. `acks=1` was answered at the
//! append; a crash loses what was not durable (see `recovery`).
//!
//! A store that refuses a write (the quota ran out, another tab took the
//! log over, the connection closed) stops durable writes until the next
//! restart: nothing more is acknowledged, so producers waiting for
//! `acks=all` time out and retry, and nothing acknowledged before is
//! touched. The history says so once (`writes_stopped`).

use super::groups::GroupCoordinator;
use super::notes::{note, LogNote};
use super::partition::Partitions;
use super::producers::ProducerStates;
use super::protocol::{LogReply, PartitionId, TopicId};
use super::txn::TxnCoordinator;
use crate::broker::{ClientId, Output};
use crate::storage::{FlushId, Storage, StorageError, StreamId};

/// What a flush carries, to settle when it completes.
#[derive(Clone, Debug)]
pub(super) struct InFlightFlush {
    /// Storage's ticket, to match the completion.
    pub(super) id: FlushId,
    /// (topic, partition, stored_end at the flush), in append order.
    pub(super) ends: Vec<(TopicId, PartitionId, u64)>,
    /// The coordinator's `Txn` stream end at the flush.
    pub(super) txn_end: Option<u64>,
    /// `commitSync` answers this flush makes durable: (member, partition, offset).
    commit_replies: Vec<(ClientId, PartitionId, u64)>,
}

impl InFlightFlush {
    /// The flush is durable: each partition's records up to its end are on
    /// disk, and the `acks=all` answers they held go out.
    pub(super) fn settle_partitions(&self, partitions: &mut Partitions, out: &mut Vec<Output>) {
        for &(topic, partition, end) in &self.ends {
            partitions
                .log_mut(topic, partition)
                .settle_durable(partition, end, out);
            out.push(note(LogNote::Durable {
                topic,
                partition,
                to: end,
            }));
        }
    }

    /// The flush is durable: its `commitSync` answers go out. (A failed
    /// flush answers no commit: the member's `commitSync` times out, an
    /// unknown outcome it treats as "not committed".)
    pub(super) fn answer_commits(self, out: &mut Vec<Output>) {
        for (to, partition, offset) in self.commit_replies {
            let reply = LogReply::CommitResponse {
                partition,
                offset,
                error: None,
            };
            out.push(Output::Log { to, reply });
        }
    }
}

/// Everyone whose state a group commit writes, borrowed for one flush.
pub(super) struct Writers<'a> {
    /// The records.
    pub(super) partitions: &'a mut Partitions,
    /// The idempotent producers' windows.
    pub(super) producers: &'a mut ProducerStates,
    /// The committed offsets (and the `commitSync` answers waiting on them).
    pub(super) groups: &'a mut GroupCoordinator,
    /// The transaction coordinator's state records.
    pub(super) txn: &'a mut TxnCoordinator,
}

/// The group commit: at most one flush in flight, and whether the store
/// still takes writes.
#[derive(Clone, Debug, Default)]
pub(super) struct GroupCommit {
    /// The one flush in flight, if any: what to settle when it completes,
    /// and which batch a torn crash may have cut.
    flush: Option<InFlightFlush>,
    /// The store refused a write: no more flushes, so nothing more is
    /// acknowledged, until a restart recovers the store.
    writes_stopped: bool,
    /// Flushes begun, for the stats.
    pub(super) flushes: u64,
}

impl GroupCommit {
    /// If no flush is in flight and anything is unwritten, appends it to
    /// storage (one batch per stream, see the module doc) and begins one
    /// flush for all of it. A refusal stops durable writes (see the module
    /// doc) and says so.
    pub(super) fn maybe_flush(
        &mut self,
        now_ms: u64,
        writers: Writers<'_>,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        if self.flush.is_some() || self.writes_stopped {
            return;
        }
        if let Err(refused) = self.try_flush(now_ms, writers, storage, out) {
            self.writes_stopped = true;
            let quota = refused.is_quota();
            out.push(note(LogNote::WritesStopped { quota }));
        }
    }

    /// Appends every unwritten batch and begins the flush.
    fn try_flush(
        &mut self,
        now_ms: u64,
        w: Writers<'_>,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) -> Result<(), StorageError> {
        let mut ends = Vec::new();
        let (logs, key_names) = w.partitions.logs_and_keys();
        for (topic, partition, log) in logs {
            if let Some(batch) = log.unstored_batch(key_names) {
                let batch = batch.map_err(StorageError::Encode)?;
                storage.append_encoded(StreamId::Partition { topic, partition }, batch)?;
                log.stored_end = log.end();
                ends.push((topic, partition, log.stored_end));
            }
        }
        let offsets = w.groups.take_offsets_batch();
        // Producer state goes in the same group commit as the records it
        // covers: both are durable, or a crash loses both.
        let producers = w.producers.unstored_batch();
        let more = producers.is_some() || offsets.is_some();
        if let Some(batch) = producers {
            storage.append(StreamId::Producers, &batch)?;
        }
        if let Some(batch) = offsets {
            w.groups.offsets_written(batch.next_offset());
            storage.append(StreamId::Offsets, &batch)?;
        }
        // The coordinator's state goes last. A torn write keeps the batches
        // before the torn one, so a `CompleteCommit` that reaches the disk
        // finds the markers and the transaction's offsets there too (as in
        // Kafka, where it is written only after them); if it is cut,
        // recovery completes the commit from `PrepareCommit` again.
        let txn_end = match w.txn.take_batch() {
            Some(batch) => {
                storage.append(StreamId::Txn, &batch)?;
                Some(batch.next_offset())
            }
            None => None,
        };
        if txn_end.is_none() && ends.is_empty() && !more {
            assert!(
                !w.groups.has_commit_replies(),
                "a waiting answer has its offset pending"
            );
            return Ok(());
        }
        let ticket = storage.begin_flush(now_ms)?;
        self.flushes += 1;
        self.flush = Some(InFlightFlush {
            id: ticket.id,
            ends,
            txn_end,
            commit_replies: w.groups.take_commit_replies(),
        });
        out.push(Output::FlushAt {
            id: ticket.id,
            at_ms: ticket.completes_at_ms,
        });
        Ok(())
    }

    /// The flush `id` reached its completion time: it is no longer in
    /// flight. `None` for a flush from before a crash.
    pub(super) fn complete(&mut self, id: FlushId) -> Option<InFlightFlush> {
        self.flush.take_if(|f| f.id == id)
    }

    /// The flush in flight, if any.
    pub(super) fn in_flight(&self) -> Option<&InFlightFlush> {
        self.flush.as_ref()
    }

    /// The store cannot be written safely any more (see the module doc).
    pub(super) fn stop_writes(&mut self) {
        self.writes_stopped = true;
    }

    /// A crash: the flush in flight is forgotten; a restart may write again.
    pub(super) fn crash(&mut self) {
        self.flush = None;
        self.writes_stopped = false;
    }
}
