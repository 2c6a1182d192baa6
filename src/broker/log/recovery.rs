//! Crash and recovery: what a crash loses, and how a restart rebuilds the
//! broker from the disk.
//!
//! - **A crash** keeps only what was durable. With a `tear`, the disk was
//!   in the middle of a group commit: the batches before the torn one
//!   landed whole ([`landed_whole`]), the torn one is cut at the
//!   restart. Membership, fetch positions and everything in memory are gone.
//! - **A restart** reads the durable image back (Kafka's log recovery:
//!   CRC-checked, truncated at the first bad batch) and rebuilds, in order:
//!   the partition logs, the committed offsets, the idempotent producers'
//!   state (the log wins over a stale snapshot), and the transaction
//!   coordinator, which finishes every decided transaction. The history
//!   says what was kept (`recovered`, `recovered_offset`, ...) and what
//!   was cut (`truncated`).
//! - **A resume** (a page reload) is a restart on a log an earlier visit
//!   left, plus a [`LogNote::Carried`] for every record it kept.
//!
//! Reading is fallible. A record that passed its batch's CRC but is not one
//! this broker writes is cut from the store with a report ([`cut_stream`]);
//! a store that cannot cut stops durable writes until the next restart.

use super::durability::InFlightFlush;
use super::groups::GroupCoordinator;
use super::notes::{note, Carried, LogNote};
use super::partition::{PartitionLog, Partitions, StoredRecord};
use super::protocol::{GroupId, PartitionId, TopicId};
use super::record::{decode_record, RecordLayoutError};
use super::txn::{TxnNote, TxnTag};
use super::LogBroker;
use crate::broker::{KeyId, Output};
use crate::storage::{CrashReport, RecordBatch, Recovery, Storage, StreamId, Tear};
use std::collections::BTreeMap;

impl LogBroker {
    /// The process dies: memory is gone, the disk keeps what was durable
    /// (and, with a `tear`, the whole batches of the flush it was writing).
    pub fn crash(
        &mut self,
        now_ms: u64,
        tear: Tear,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        assert!(self.up);
        self.up = false;
        let report = storage.crash(now_ms, tear);
        let landed = landed_whole(self.durability.in_flight(), &report, out);
        let partitions = &mut self.partitions;
        let mut lost = 0;
        for (topic, partition, log) in partitions.iter_mut() {
            let kept = landed.get(&(topic, partition)).copied();
            let durable_end = kept.map_or(log.durable_end, |end| end.max(log.durable_end));
            let (from, to) = (durable_end.max(log.start), log.end());
            if to > from {
                lost += to - from;
                out.push(note(LogNote::LostInCrash {
                    topic,
                    partition,
                    from,
                    to,
                }));
            }
            *log = PartitionLog::default();
        }
        partitions.lost_in_crash += lost;
        self.groups.crash();
        self.producers.clear();
        self.durability.crash();
        self.wake.fired();
        self.coordinator.crash();
    }

    /// Back up: logs and committed offsets come back from the durable image
    /// (Kafka's log recovery: CRC-checked, truncated at the first bad batch).
    pub fn restart(&mut self, now_ms: u64, storage: &mut dyn Storage, out: &mut Vec<Output>) {
        assert!(!self.up);
        self.up = true;
        let recovery = storage.recover();
        self.rebuild(now_ms, &recovery, storage, out);
    }

    /// A new broker process on a log that an earlier visit left (a page
    /// reload): recovery runs exactly as in [`restart`](Self::restart), then
    /// every record it kept is listed as a [`LogNote::Carried`] so the checker
    /// knows those ids were published before this run began.
    ///
    /// `group_topics[g]` is the topic group `g` reads (the scenario knows it;
    /// the `Offsets` stream stores only group and partition). It decides which
    /// records count as consumed: those below the group's committed offset.
    ///
    /// Idempotent producer ids are derived from client id and restart count
    /// (see [`super::producer_id`]), so the new page's producers would reuse
    /// the earlier visit's ids; the broker shifts every id it is sent past
    /// the recovered ones ([`LogBroker::producer_id_shift`]).
    ///
    /// `recovery` is what [`Storage::recover`] returned for `storage`, the
    /// broker's store (it may still cut a record recovery let through, see
    /// [`RecordLayoutError`]).
    pub fn resume(
        &mut self,
        now_ms: u64,
        recovery: &Recovery,
        group_topics: &[Option<TopicId>],
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        assert!(self.up, "resume builds on a running, empty broker");
        assert_eq!(self.record_count(), 0, "resume only an empty broker");
        self.rebuild(now_ms, recovery, storage, out);
        self.producers.shift_ids_past_recovered();
        self.groups.set_unjoined_topics(group_topics);
        if let Some(checkpoint) = storage.acked_checkpoint() {
            acked_before(&self.partitions, &checkpoint, out);
        }
        carry((&self.partitions, &self.groups), group_topics, out);
    }

    /// Rebuilds logs, committed offsets, producer and transaction state from
    /// `recovery`, and says in the history what was kept and what was cut.
    fn rebuild(
        &mut self,
        now_ms: u64,
        recovery: &Recovery,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        truncation_notes(recovery, out);
        for (stream, batches) in &recovery.streams {
            let writable = match *stream {
                StreamId::Partition { topic, partition } => {
                    self.partitions
                        .restore_or_cut((topic, partition), batches, storage, out)
                }
                StreamId::Offsets => self.groups.restore_offsets(batches, storage, out),
                StreamId::Producers => {
                    // An unreadable snapshot is dropped: the log replay
                    // below then reads every partition from its start.
                    let _ = self.producers.restore(batches);
                    true
                }
                StreamId::Txn => true,
                // A queue broker's store: a log broker never writes one
                // and leaves it alone.
                StreamId::Queue { .. } => true,
            };
            if !writable {
                self.durability.stop_writes();
            }
        }
        self.producers.reload_from_log(&self.partitions, out);
        // After the groups' own offsets: a commit that recovery completes
        // carries newer offsets than the ones on disk.
        self.recover_txns(now_ms, recovery.streams.get(&StreamId::Txn), storage, out);
        self.groups.committed_notes(out);
        for (topic, partition, log) in self.partitions.iter() {
            out.push(note(LogNote::Recovered {
                topic,
                partition,
                to: log.end(),
            }));
        }
        self.partitions.apply_retention_counts(out);
        self.partitions.apply_retention_age(now_ms, out);
        self.arm_wake(now_ms, out);
    }
}

impl Partitions {
    /// Reads one partition's recovered batches back into its log (a
    /// partition the scenario lacks is skipped). A record whose value this
    /// broker cannot read (see [`RecordLayoutError`]) ends the log there
    /// and is cut from the store. Returns false when the store could not
    /// cut (see [`cut_stream`]).
    fn restore_or_cut(
        &mut self,
        (topic, partition): (TopicId, PartitionId),
        batches: &[RecordBatch],
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) -> bool {
        if !self.has(topic, partition) {
            return true;
        }
        match self.restore((topic, partition), batches) {
            Ok(()) => true,
            Err(e) => cut_stream(
                StreamId::Partition { topic, partition },
                e.offset,
                storage,
                out,
            ),
        }
    }

    /// Reads recovered batches into an empty log, up to the first record it
    /// cannot read; the log is durable to its new end either way.
    fn restore(
        &mut self,
        (topic, partition): (TopicId, PartitionId),
        batches: &[RecordBatch],
    ) -> Result<(), RecordLayoutError> {
        let key_names = &self.key_names;
        let key_of = |k: &[u8]| {
            let i = key_names.iter().position(|n| n.as_bytes() == k)?;
            Some(i as KeyId)
        };
        let log = &mut self.topics[topic as usize].partitions[partition as usize];
        let mut result = Ok(());
        for r in batches.iter().flat_map(|b| &b.records) {
            if log.records.is_empty() {
                log.start = r.offset;
            }
            assert_eq!(r.offset, log.end(), "recovery yields dense offsets");
            let record = match decode_record(r, &key_of) {
                Ok(record) => record,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            log.txn.on_record(r.offset, record.txn);
            log.records.push_back(record);
        }
        log.stored_end = log.end();
        log.durable_end = log.end();
        result
    }
}

/// Where each partition's log ends on disk after a torn crash: the flush
/// in flight appended one batch per partition in `ends` order, then the
/// `Producers` and `Offsets` batches, and the coordinator's `Txn` batch
/// last (so a `CompleteCommit` that lands finds its markers and offsets
/// on disk); every batch before the torn one landed whole. Says so in a
/// [`LogNote::TornWrite`].
fn landed_whole(
    in_flight: Option<&InFlightFlush>,
    report: &CrashReport,
    out: &mut Vec<Output>,
) -> BTreeMap<(TopicId, PartitionId), u64> {
    let mut landed = BTreeMap::new();
    let Some(torn) = &report.torn else {
        return landed;
    };
    let flush = in_flight.expect("a torn write needs a flush in flight");
    assert_eq!(
        report.lost_flushes.first(),
        Some(&flush.id),
        "the torn flush is the broker's one flush in flight"
    );
    for &(topic, partition, end) in &flush.ends {
        if (StreamId::Partition { topic, partition }) == torn.stream {
            break;
        }
        landed.insert((topic, partition), end);
    }
    out.push(note(LogNote::TornWrite {
        stream: torn.stream,
        kept_bytes: u32::try_from(torn.kept_bytes).unwrap_or(u32::MAX),
        batch_len: u32::try_from(torn.batch_len).unwrap_or(u32::MAX),
    }));
    landed
}

/// One [`LogNote::Carried`] per recovered record; a recovered
/// commit/abort marker is told as the `txn_marker` note that wrote it, so
/// the checker knows a consumer's jump over its offset is not a skip.
fn carry(
    (partitions, groups): (&Partitions, &GroupCoordinator),
    group_topics: &[Option<TopicId>],
    out: &mut Vec<Output>,
) {
    for (topic, partition, log) in partitions.iter() {
        let committed: Vec<u64> = group_topics
            .iter()
            .enumerate()
            .filter(|(_, t)| **t == Some(topic))
            .filter_map(|(g, _)| groups.committed(g as GroupId, partition))
            .collect();
        for r in log.records.iter() {
            if let Some(TxnTag {
                producer_id,
                marker: Some(commit),
                ..
            }) = r.txn
            {
                out.push(note(LogNote::Txn(TxnNote::Marker {
                    producer_id,
                    topic,
                    partition,
                    offset: r.offset,
                    commit,
                })));
                continue;
            }
            out.push(note(LogNote::Carried {
                msg: r.msg.id,
                producer: r.msg.producer,
                key: r.msg.key,
                topic,
                partition,
                offset: r.offset,
                carried: carried_as(log, r, &committed),
            }));
        }
    }
}

/// One [`LogNote::AckedBefore`] per partition, from the store's
/// checkpoint (a partition it does not name had nothing acknowledged),
/// beside where recovery found that partition's log ending. A name for
/// a partition this broker lacks is ignored (the world refuses a stored
/// log that has one).
fn acked_before(
    partitions: &Partitions,
    checkpoint: &BTreeMap<StreamId, u64>,
    out: &mut Vec<Output>,
) {
    for (topic, partition, log) in partitions.iter() {
        let stream = StreamId::Partition { topic, partition };
        out.push(note(LogNote::AckedBefore {
            topic,
            partition,
            acked_end: checkpoint.get(&stream).copied().unwrap_or(0),
            recovered_end: log.end(),
        }));
    }
}

/// One [`LogNote::Truncated`] per stream recovery cut.
fn truncation_notes(recovery: &Recovery, out: &mut Vec<Output>) {
    for (stream, report) in &recovery.report.streams {
        let Some(cut) = &report.truncated else {
            continue;
        };
        out.push(note(LogNote::Truncated {
            stream: *stream,
            batch_index: u32::try_from(cut.batch_index).unwrap_or(u32::MAX),
            offset: report.log_end_offset.unwrap_or(0),
            cause: cut.reason.cause(),
            dropped_batches: u32::try_from(cut.dropped_batches).unwrap_or(u32::MAX),
            dropped_bytes: cut.dropped_bytes as u64,
        }));
    }
}

/// Cuts `stream` at `offset` in the store (the record there could not be
/// read: a partition record with a layout this broker does not write, see
/// [`RecordLayoutError`], or an unreadable offsets or `Txn` record) and
/// reports it as a `truncated` note with cause `bad_format`, as recovery
/// reports a damaged batch; new records then take its offset.
///
/// A store that cannot cut (see [`Storage::truncate`]: it cannot, or it is
/// no longer writable) leaves no safe way to write on: the next append would
/// land on an offset the disk still holds. Then `false`, with a
/// `writes_stopped` note, and the caller stops durable writes until a restart.
pub(super) fn cut_stream(
    stream: StreamId,
    offset: u64,
    storage: &mut dyn Storage,
    out: &mut Vec<Output>,
) -> bool {
    let cut = match storage.truncate(stream, offset) {
        Ok(cut) => cut,
        Err(_refused) => {
            out.push(note(LogNote::WritesStopped { quota: false }));
            return false;
        }
    };
    out.push(note(LogNote::Truncated {
        stream,
        batch_index: u32::try_from(cut.batch_index).unwrap_or(u32::MAX),
        offset,
        cause: cut.reason.cause(),
        dropped_batches: u32::try_from(cut.dropped_batches).unwrap_or(u32::MAX),
        dropped_bytes: cut.dropped_bytes as u64,
    }));
    true
}

/// What a recovered record proves about its earlier visit (see [`Carried`]).
/// `committed`: the offsets committed for its partition by the groups that
/// read its topic.
fn carried_as(log: &PartitionLog, r: &StoredRecord, committed: &[u64]) -> Carried {
    if let Some(tag) = r.txn {
        if log.txn.is_aborted(tag.producer_id, r.offset) {
            return Carried::Aborted;
        }
        let mut open = log.txn.open();
        if open.any(|(pid, first)| pid == tag.producer_id && first <= r.offset) {
            return Carried::InDoubt;
        }
    }
    if committed.iter().any(|&c| r.offset < c) {
        Carried::Consumed
    } else {
        Carried::Acked
    }
}
