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
use crate::broker::log::{
    cut_stream, note, GroupId, GroupState, LogBroker, LogNote, LogReply, PartitionId, TopicId,
};
use crate::broker::{Message, Output};
use crate::config::{bounds::PARTITIONS_MAX, Assignor};
use crate::storage::{RecordBatch, Storage, StreamId};
use std::collections::BTreeMap;

impl LogBroker {
    /// Appends `msg` with its transactional tag (a record or a marker);
    /// returns its offset.
    pub(super) fn append_tagged(
        &mut self,
        now_ms: u64,
        topic: TopicId,
        partition: PartitionId,
        msg: Message,
        tag: TxnTag,
    ) -> u64 {
        let log = &mut self.topics[topic as usize].partitions[partition as usize];
        log.push(now_ms, msg, Some(tag), None)
    }

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
                self.write_marker(now_ms, &job, topic, partition, &mut notes);
            }
            if job.commit {
                for &(group, partition, offset) in &job.offsets {
                    self.apply_txn_offset(group, partition, offset, out);
                }
            }
            self.coordinator.complete(job.txn, &mut notes);
            out.extend(notes.into_iter().map(txn_note));
            // Its offsets are final now: members waiting on them may start.
            let mut groups: Vec<GroupId> = job.offsets.iter().map(|o| o.0).collect();
            groups.sort_unstable();
            groups.dedup();
            for group in groups {
                self.resolve_unstable(group, out);
            }
            for &(topic, partition) in &job.partitions {
                self.serve_parked(topic, partition, out);
            }
            if let Some(to) = job.reply_to {
                let reply = LogReply::Txn(TxnReply::Ended { commit: job.commit });
                out.push(Output::Log { to, reply });
            }
        }
    }

    fn write_marker(
        &mut self,
        now_ms: u64,
        job: &MarkerJob,
        topic: TopicId,
        partition: PartitionId,
        notes: &mut Vec<TxnNote>,
    ) {
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
        let offset = self.append_tagged(now_ms, topic, partition, marker, tag);
        notes.push(TxnNote::Marker {
            producer_id: job.producer_id,
            topic,
            partition,
            offset,
            commit: job.commit,
        });
    }

    /// A committed transaction's `TxnOffsetCommit`, applied like a commit.
    fn apply_txn_offset(
        &mut self,
        group: u16,
        partition: PartitionId,
        offset: u64,
        out: &mut Vec<Output>,
    ) {
        let Some(slot) = self.groups.get_mut(group as usize) else {
            return; // not a group of this broker
        };
        // After a restart the group may have no state yet (membership is not
        // persisted): the offset still counts, members take it on rejoin.
        let g = slot.get_or_insert_with(|| GroupState {
            topic: 0,
            assignor: Assignor::Range,
            generation: 0,
            members: BTreeMap::new(),
            committed: BTreeMap::new(),
        });
        g.committed.insert(partition, offset);
        self.offsets_pending.insert((group, partition), offset);
        out.push(note(LogNote::Committed {
            group,
            partition,
            offset,
        }));
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
        let empty = Vec::new();
        // Taken out for the call, so `fits` can ask the broker itself.
        let mut coordinator = std::mem::take(&mut self.coordinator);
        let fits = |m: &TxnMeta| {
            let partitions = m.partitions.iter().all(|&(t, p)| self.has_partition(t, p));
            let offsets = m.offsets.iter().all(|&(g, p, _)| {
                (g as usize) < self.groups.len() && u32::from(p) < PARTITIONS_MAX
            });
            partitions && offsets
        };
        let (jobs, unreadable) = coordinator.recover(batches.unwrap_or(&empty), &fits, &mut notes);
        self.coordinator = coordinator;
        if let Some(offset) = unreadable {
            if !cut_stream(StreamId::Txn, offset, storage, out) {
                self.writes_stopped = true;
            }
        }
        out.extend(notes.into_iter().map(txn_note));
        self.run_marker_jobs(now_ms, jobs, out);
    }
}
