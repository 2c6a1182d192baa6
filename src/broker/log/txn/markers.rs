//! `WriteTxnMarkers`: how a decided transaction reaches the partitions.
//!
//! Once the coordinator's `PrepareCommit` or `PrepareAbort` record is
//! durable, the decision cannot be taken back. The broker then writes one
//! *marker* (a control record) into every partition the transaction wrote
//! to, and on commit the consumer offsets sent with the transaction become
//! the groups' committed offsets. Only after that is the producer told
//! `Ended`, and the coordinator moves to `CompleteCommit`/`CompleteAbort`.
//!
//! A restart does the same for every transaction recovery found decided
//! (see [`super::TxnCoordinator::recover`]).

use super::requests::txn_note;
use super::{MarkerJob, TxnMeta, TxnNote, TxnReply, TxnTag, MARKER_MSG_ID};
use crate::broker::log::partition::PartitionLog;
use crate::broker::log::recovery::cut_stream;
use crate::broker::log::{GroupId, LogBroker, LogReply, PartitionId, TopicId};
use crate::broker::{Message, Output};
use crate::config::bounds::PARTITIONS_MAX;
use crate::storage::{RecordBatch, Storage, StreamId};

impl LogBroker {
    /// A flush made the `Txn` stream durable to `end`: decided transactions
    /// get their markers.
    pub(in crate::broker::log) fn txn_durable(
        &mut self,
        now_ms: u64,
        end: u64,
        out: &mut Vec<Output>,
    ) {
        let jobs = self.coordinator.on_durable(end);
        self.run_marker_jobs(now_ms, jobs, out);
    }

    /// `WriteTxnMarkers`: one marker per partition in the transaction; on
    /// commit, the transaction's consumer offsets become the group's.
    fn run_marker_jobs(&mut self, now_ms: u64, jobs: Vec<MarkerJob>, out: &mut Vec<Output>) {
        for job in jobs {
            let mut notes = Vec::new();
            for &(topic, partition) in &job.partitions {
                let log = self.partitions.log_mut(topic, partition);
                notes.push(write_marker(now_ms, &job, (topic, partition), log));
            }
            if job.commit {
                for &offset in &job.offsets {
                    self.groups.apply_txn_offset(offset, out);
                }
            }
            self.coordinator.complete(job.txn, &mut notes);
            out.extend(notes.into_iter().map(txn_note));
            // Its offsets are final now: members waiting on them may start.
            let mut groups: Vec<GroupId> = job.offsets.iter().map(|o| o.0).collect();
            groups.sort_unstable();
            groups.dedup();
            for group in groups {
                let pending = self.coordinator.pending_offsets(group);
                self.groups
                    .resolve_unstable(group, &self.partitions, pending, out);
            }
            for &at in &job.partitions {
                self.groups.serve_parked(at, &self.partitions, out);
            }
            if let Some(to) = job.reply_to {
                let reply = LogReply::Txn(TxnReply::Ended { commit: job.commit });
                out.push(Output::Log { to, reply });
            }
        }
    }

    /// After a restart: rebuild the coordinator and finish every decided
    /// transaction (see [`super::TxnCoordinator::recover`]).
    /// A `Txn` record it cannot read is cut from the stream with a report
    /// (see [`cut_stream`]).
    pub(in crate::broker::log) fn recover_txns(
        &mut self,
        now_ms: u64,
        batches: Option<&Vec<RecordBatch>>,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        let mut notes = Vec::new();
        let (partitions, groups) = (&self.partitions, &self.groups);
        // A record that names a partition or a group this broker lacks is
        // as unreadable as a garbled one.
        let fits = |m: &TxnMeta| {
            let in_log = m.partitions.iter().all(|&(t, p)| partitions.has(t, p));
            let offsets = m
                .offsets
                .iter()
                .all(|&(g, p, _)| (g as usize) < groups.len() && u32::from(p) < PARTITIONS_MAX);
            in_log && offsets
        };
        let batches = batches.map_or(&[][..], Vec::as_slice);
        let (jobs, unreadable) = self.coordinator.recover(batches, &fits, &mut notes);
        if let Some(offset) = unreadable {
            if !cut_stream(StreamId::Txn, offset, storage, out) {
                self.durability.stop_writes();
            }
        }
        out.extend(notes.into_iter().map(txn_note));
        self.run_marker_jobs(now_ms, jobs, out);
    }
}

/// One marker: a control record that takes up an offset, carries no
/// message and ends the producer's transaction in this partition.
fn write_marker(
    now_ms: u64,
    job: &MarkerJob,
    (topic, partition): (TopicId, PartitionId),
    log: &mut PartitionLog,
) -> TxnNote {
    let marker = Message {
        id: MARKER_MSG_ID,
        producer: 0,
        seq: 0,
        key: None,
        payload_bytes: 0,
    };
    let tag = TxnTag {
        producer_id: job.producer_id,
        epoch: job.epoch,
        marker: Some(job.commit),
    };
    let offset = log.push(now_ms, marker, Some(tag), None);
    TxnNote::Marker {
        producer_id: job.producer_id,
        topic,
        partition,
        offset,
        commit: job.commit,
    }
}
