//! Transactions on the log broker: what the partitions keep and what the
//! coordinator's requests do to them.
//!
//! A transactional record is written into the partition at once, like any
//! other; it is the *marker* written later that says whether it counts.
//! Two consequences a learner can watch:
//!
//! - **Markers take up offsets.** A transaction of 3 records in a partition
//!   uses 4 offsets; a consumer's position jumps over the marker.
//! - **The last stable offset (LSO)** is the first offset of the oldest
//!   transaction still open in the partition (or the log end if none is).
//!   A `read_committed` consumer reads only below it, so one slow
//!   transaction holds back every later record in its partition, committed
//!   or not. Below the LSO it skips records of aborted transactions.
//!   `read_uncommitted` reads to the log end and sees aborted records too.

use super::{
    note, ClientId, LogBroker, LogNote, LogReply, Output, PartitionId, StoredRecord, TopicId,
};
use super::{CommitError, GroupId};
use crate::broker::txn::{MarkerJob, TxnError, TxnNote, TxnReply, TxnRequest, TxnTag, TXN_IDS_MAX};
use crate::broker::Message;
use crate::storage::{RecordBatch, Storage, StreamId};
use std::collections::BTreeMap;

/// Bytes a [`TxnTag`] adds to a stored record's value.
pub(super) const TXN_TAG_BYTES: usize = 11;
/// The message id a marker carries: markers are no one's message.
pub const MARKER_MSG_ID: u64 = u64::MAX;
/// Aborted transactions a partition remembers (Kafka keeps an aborted-txn
/// index per segment). Past it the oldest are forgotten; by then their
/// records are far below any consumer in the playground's runs.
pub const ABORTED_PER_PARTITION_MAX: usize = 4096;

/// One partition's transactions: what is open, what was aborted.
#[derive(Clone, Debug, Default)]
pub struct PartitionTxn {
    /// Open transactions: producer id → the offset of its first record here.
    /// Bound: [`TXN_IDS_MAX`] (one open transaction per producer).
    open: BTreeMap<u64, u64>,
    /// Aborted transactions: (producer id, first offset, marker offset).
    /// Bound: [`ABORTED_PER_PARTITION_MAX`].
    aborted: Vec<(u64, u64, u64)>,
}

impl PartitionTxn {
    /// The first offset a `read_committed` consumer may not read yet.
    pub fn last_stable_offset(&self, log_end: u64) -> u64 {
        let lso = self.open.values().min().copied().unwrap_or(log_end);
        assert!(lso <= log_end, "an open transaction starts inside the log");
        lso
    }

    /// Follows the log as records are appended or recovered.
    pub fn on_record(&mut self, offset: u64, tag: Option<TxnTag>) {
        let Some(tag) = tag else { return };
        match tag.marker {
            None => {
                assert!(self.open.len() < TXN_IDS_MAX || self.open.contains_key(&tag.producer_id));
                self.open.entry(tag.producer_id).or_insert(offset);
            }
            Some(commit) => {
                let first = self.open.remove(&tag.producer_id);
                if let (Some(first), false) = (first, commit) {
                    if self.aborted.len() >= ABORTED_PER_PARTITION_MAX {
                        self.aborted.remove(0);
                    }
                    self.aborted.push((tag.producer_id, first, offset));
                }
            }
        }
    }

    /// A consumer never sees a marker; `read_committed` also skips records of
    /// aborted transactions.
    pub fn hidden(&self, offset: u64, tag: Option<TxnTag>, read_committed: bool) -> bool {
        let Some(tag) = tag else { return false };
        if tag.marker.is_some() {
            return true;
        }
        read_committed && self.is_aborted(tag.producer_id, offset)
    }

    pub fn is_aborted(&self, producer_id: u64, offset: u64) -> bool {
        let mut ranges = self.aborted.iter();
        ranges.any(|&(p, first, marker)| p == producer_id && first <= offset && offset < marker)
    }

    /// Transactions open in this partition (producer id, first offset).
    pub fn open(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.open.iter().map(|(p, o)| (*p, *o))
    }
}

pub(super) fn is_marker(r: &StoredRecord) -> bool {
    r.txn.is_some_and(|t| t.marker.is_some())
}

/// Appends the tag after the 20 bytes of a plain record: producer id, epoch,
/// kind (0 = data, 1 = commit marker, 2 = abort marker). Plain records stay
/// 20 bytes, so logs written before transactions existed read the same.
pub(super) fn encode_txn_tag(tag: Option<TxnTag>, value: &mut Vec<u8>) {
    let Some(t) = tag else { return };
    value.extend_from_slice(&t.producer_id.to_le_bytes());
    value.extend_from_slice(&t.epoch.to_le_bytes());
    value.push(match t.marker {
        None => 0,
        Some(true) => 1,
        Some(false) => 2,
    });
}

/// The tag in `tail` (the bytes after a record's first 20), or `None` when
/// it is not a transactional tail (see [`super::log_record`]).
pub(super) fn decode_txn_tag(tail: &[u8]) -> Option<TxnTag> {
    let tail: &[u8; TXN_TAG_BYTES] = tail.try_into().ok()?;
    let [a, b, c, d, e, f, g, h, e0, e1, kind] = *tail;
    let marker = match kind {
        0 => None,
        1 => Some(true),
        2 => Some(false),
        _ => return None,
    };
    Some(TxnTag {
        producer_id: u64::from_le_bytes([a, b, c, d, e, f, g, h]),
        epoch: u16::from_le_bytes([e0, e1]),
        marker,
    })
}

fn txn_note(n: TxnNote) -> Output {
    note(LogNote::Txn(n))
}

impl LogBroker {
    /// One coordinator request. Replies go back at once, except `EndTxn`'s,
    /// which waits for the decision to be durable.
    pub(super) fn txn_request(
        &mut self,
        now_ms: u64,
        from: ClientId,
        req: TxnRequest,
        out: &mut Vec<Output>,
    ) {
        let mut notes = Vec::new();
        let reply = match req {
            TxnRequest::InitProducerId {
                txn,
                transaction_timeout_ms,
            } => Some(self.coordinator.init_producer_id(
                now_ms,
                txn,
                transaction_timeout_ms,
                &mut notes,
            )),
            TxnRequest::AddPartitionsToTxn {
                txn,
                producer_id,
                epoch,
                topic,
                partition,
            } => Some(self.coordinator.add_partition(
                now_ms,
                txn,
                producer_id,
                epoch,
                (topic, partition),
                &mut notes,
            )),
            TxnRequest::Produce {
                txn,
                producer_id,
                epoch,
                topic,
                partition,
                msg,
            } => {
                let tp = (topic, partition);
                let check = self
                    .coordinator
                    .check_produce(txn, producer_id, epoch, tp, &mut notes);
                Some(match check {
                    Ok(()) => self.produce_txn(now_ms, tp, msg, producer_id, epoch, out),
                    Err(error) => TxnReply::Error { error },
                })
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
            } => Some(match self.offset_commit_error(group, member, generation) {
                Some(e) => {
                    out.push(note(LogNote::CommitRejected {
                        group,
                        member,
                        partition,
                        offset,
                        error: e,
                    }));
                    TxnReply::Error {
                        error: TxnError::OffsetCommit(e),
                    }
                }
                None => self.coordinator.add_offset(
                    txn,
                    producer_id,
                    epoch,
                    (group, partition, offset),
                    &mut notes,
                ),
            }),
            TxnRequest::EndTxn {
                txn,
                producer_id,
                epoch,
                commit,
            } => self
                .coordinator
                .end_txn(from, txn, producer_id, epoch, commit, &mut notes),
        };
        out.extend(notes.into_iter().map(txn_note));
        if let Some(reply) = reply {
            out.push(Output::Log {
                to: from,
                reply: LogReply::Txn(reply),
            });
        }
    }

    /// KIP-447's group check of a `TxnOffsetCommit`, as for a plain commit.
    fn offset_commit_error(
        &self,
        group: GroupId,
        member: ClientId,
        generation: u32,
    ) -> Option<CommitError> {
        let g = self.groups.get(group as usize).and_then(|g| g.as_ref());
        super::commit_error(g, member, generation)
    }

    /// A transactional record: appended now (answered at the append, like
    /// `acks=1`: the commit point's flush makes it durable), visible to
    /// `read_committed` only after its commit marker.
    fn produce_txn(
        &mut self,
        now_ms: u64,
        (topic, partition): (TopicId, PartitionId),
        msg: Message,
        producer_id: u64,
        epoch: u16,
        out: &mut Vec<Output>,
    ) -> TxnReply {
        let tag = TxnTag {
            producer_id,
            epoch,
            marker: None,
        };
        let offset = self.append_tagged(now_ms, topic, partition, msg, tag);
        self.stats.appended += 1;
        out.push(note(LogNote::Appended {
            msg: msg.id,
            topic,
            partition,
            offset,
        }));
        self.apply_retention_count(topic, partition, out);
        self.serve_parked(topic, partition, out);
        TxnReply::Produced {
            msg: msg.id,
            partition,
            offset,
        }
    }

    fn append_tagged(
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

    /// Hands the coordinator's new state records to storage (same group
    /// commit as the records they describe). Returns the stream end.
    pub(super) fn append_txn_batch(
        &mut self,
        storage: &mut dyn Storage,
    ) -> Result<Option<u64>, crate::storage::StorageError> {
        let Some(batch) = self.coordinator.take_batch() else {
            return Ok(None);
        };
        let end = batch.next_offset();
        storage.append(StreamId::Txn, &batch)?;
        Ok(Some(end))
    }

    /// A flush made the `Txn` stream durable to `end`: decided transactions
    /// get their markers.
    pub(super) fn txn_durable(&mut self, now_ms: u64, end: u64, out: &mut Vec<Output>) {
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
        let g = slot.get_or_insert_with(|| super::GroupState {
            topic: 0,
            assignor: crate::config::Assignor::Range,
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

    /// `transaction.timeout.ms`: the coordinator aborts what ran too long.
    pub(super) fn expire_txns(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        let mut notes = Vec::new();
        self.coordinator.expire(now_ms, &mut notes);
        out.extend(notes.into_iter().map(txn_note));
    }

    /// After a restart: rebuild the coordinator and finish every decided
    /// transaction (see [`crate::broker::txn::TxnCoordinator::recover`]).
    /// A `Txn` record it cannot read is cut from the stream with a report
    /// (see [`super::cut_stream`]).
    pub(super) fn recover_txns(
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
        let fits = |m: &crate::broker::txn::TxnMeta| {
            let partitions = m.partitions.iter().all(|&(t, p)| self.has_partition(t, p));
            let offsets = m.offsets.iter().all(|&(g, p, _)| {
                (g as usize) < self.groups.len()
                    && u32::from(p) < crate::config::bounds::PARTITIONS_MAX
            });
            partitions && offsets
        };
        let (jobs, unreadable) = coordinator.recover(batches.unwrap_or(&empty), &fits, &mut notes);
        self.coordinator = coordinator;
        if let Some(offset) = unreadable {
            if !super::cut_stream(StreamId::Txn, offset, storage, out) {
                self.writes_stopped = true;
            }
        }
        out.extend(notes.into_iter().map(txn_note));
        self.run_marker_jobs(now_ms, jobs, out);
    }

    /// The coordinator's view of one `transactional.id`, for tests and the UI.
    pub fn txn_meta(
        &self,
        txn: crate::broker::txn::TxnIdx,
    ) -> Option<&crate::broker::txn::TxnMeta> {
        self.coordinator.meta(txn)
    }

    /// The last stable offset of a partition.
    pub fn last_stable_offset(&self, topic: TopicId, partition: PartitionId) -> u64 {
        let log = &self.topics[topic as usize].partitions[partition as usize];
        log.txn.last_stable_offset(log.end())
    }

    /// The log end offset of a partition (markers included).
    pub fn log_end(&self, topic: TopicId, partition: PartitionId) -> u64 {
        self.topics[topic as usize].partitions[partition as usize].end()
    }
}
