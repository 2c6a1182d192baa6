//! One replica's log: its records, how far they are on disk, its high
//! watermark and its leader epoch cache.
//!
//! ```text
//!   0         durable_end        hw            end (LEO)
//!   │ on disk  │ in the page cache │              │
//!   [r0][r1][r2][r3][r4][r5][r6][r7][r8][r9]
//!               committed below hw ┘
//! ```
//!
//! The **leader epoch cache** lists, for each epoch that wrote records
//! here, the offset of its first record: `(epoch 0, 0), (epoch 2, 5)`
//! says offsets 0–4 came from epoch 0 and 5 on from epoch 2. It answers
//! `OffsetsForLeaderEpoch`: where did epoch `e` end on this replica?

use super::{Epoch, Idem, ProduceError, Record, RecordKind, OS_WRITEBACK_MS};
use crate::broker::MsgId;
use crate::config::ClusterSpec;

/// How a replica flushes: from `flush.messages`, `flush.ms` and the disk.
#[derive(Clone, Copy, Debug)]
pub(super) struct FlushPolicy {
    /// `flush.messages`: force an `fsync` after this many unflushed records.
    messages: Option<u64>,
    /// `flush.ms`, or the page cache's writeback without it.
    ms: u64,
    /// How long one `fsync` takes.
    fsync_latency_ms: u64,
}

impl FlushPolicy {
    /// The policy of a validated cluster spec.
    pub(super) fn new(spec: &ClusterSpec, fsync_latency_ms: u64) -> FlushPolicy {
        FlushPolicy {
            messages: spec.flush_messages,
            ms: spec.flush_ms.unwrap_or(OS_WRITEBACK_MS),
            fsync_latency_ms,
        }
    }

    /// `flush.messages=1`: a record counts only once it is on disk.
    pub(super) fn sync(&self) -> bool {
        self.messages == Some(1)
    }
}

/// One replica of one partition on one broker.
#[derive(Clone, Debug, Default)]
pub(super) struct ReplicaLog {
    /// The records, from offset 0 (no retention in the cluster core).
    /// Bound: the producers' records in the run.
    pub(super) records: Vec<Record>,
    /// The high watermark as this replica knows it.
    pub(super) hw: u64,
    /// Records below this are on disk and survive a crash.
    pub(super) durable_end: u64,
    /// The `fsync` in flight: (end it covers, when it completes).
    flushing: Option<(u64, u64)>,
    /// When the oldest record not yet handed to an `fsync` was appended.
    unflushed_since_ms: Option<u64>,
    /// (epoch, its first offset), epochs ascending. Bound: elections.
    pub(super) epochs: Vec<(Epoch, u64)>,
    /// Each idempotent or transactional producer's state here, by
    /// producer id, rebuilt from the records after a truncation. A list,
    /// not a map: a partition sees a handful of producer ids, and the
    /// page ships less code. Bound: producers.
    producers: Vec<(u64, ProducerState)>,
}

/// What a replica knows of one producer id, from its records: enough to
/// drop a retried duplicate, fence an older epoch, and find the first
/// offset of an open transaction (the LSO).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct ProducerState {
    /// The newest producer epoch of its records and markers here.
    pub(super) epoch: u16,
    /// Its last (sequence, offset) in that epoch.
    last: Option<(u32, u64)>,
    /// The first offset of that epoch's transaction here, if it has one.
    pub(super) txn_first: Option<u64>,
    /// Where that epoch's marker sits, once written.
    pub(super) marker: Option<u64>,
}

impl ReplicaLog {
    /// A log its broker's disk kept (a resumed cluster): every record on
    /// disk, nothing waiting for an `fsync`, the high watermark 0 until
    /// the leader says more.
    pub(super) fn restored(records: &[Record]) -> ReplicaLog {
        let mut log = ReplicaLog::default();
        for r in records {
            log.append(0, *r);
        }
        log.durable_end = log.end();
        log.unflushed_since_ms = None;
        log
    }

    /// The log end offset (LEO): where the next record goes.
    pub(super) fn end(&self) -> u64 {
        self.records.len() as u64
    }

    /// The LEO this replica may count toward the HW: with
    /// `flush.messages=1` only what is on disk.
    pub(super) fn counted_end(&self, policy: &FlushPolicy) -> u64 {
        if policy.sync() {
            self.durable_end
        } else {
            self.end()
        }
    }

    /// The epoch of the last record, if any.
    pub(super) fn last_epoch(&self) -> Option<Epoch> {
        self.records.last().map(|r| r.epoch)
    }

    /// Appends a record at the log end (a leader's append, or a
    /// follower's copy at the same offset).
    pub(super) fn append(&mut self, now_ms: u64, record: Record) {
        assert_eq!(record.offset, self.end(), "dense offsets");
        self.note_epoch(record.epoch, record.offset);
        track(&mut self.producers, &record);
        self.records.push(record);
        self.unflushed_since_ms.get_or_insert(now_ms);
    }

    /// A new epoch starts at `offset` here (a leader's election, or a
    /// record of a newer epoch).
    pub(super) fn note_epoch(&mut self, epoch: Epoch, offset: u64) {
        if self.epochs.last().is_none_or(|(e, _)| *e < epoch) {
            self.epochs.push((epoch, offset));
        }
    }

    /// `OffsetsForLeaderEpoch`: the largest epoch here at or below `epoch`,
    /// and where it ended (the first offset of the next epoch, or the LEO).
    pub(super) fn end_offset_for_epoch(&self, epoch: Epoch) -> (Epoch, u64) {
        let next = self.epochs.iter().find(|(e, _)| *e > epoch);
        let end = next.map_or(self.end(), |(_, start)| *start);
        let found = self.epochs.iter().rev().find(|(e, _)| *e <= epoch);
        (found.map_or(epoch, |(e, _)| *e), end.min(self.end()))
    }

    /// Cuts the log at `offset`; returns (offset, message) of what was cut.
    pub(super) fn truncate_to(&mut self, offset: u64) -> Vec<(u64, MsgId)> {
        if offset >= self.end() {
            return Vec::new();
        }
        let cut = usize::try_from(offset).expect("a log fits memory");
        let removed = self.records[cut..].iter().map(|r| (r.offset, r.msg));
        let removed = removed.collect();
        self.records.truncate(cut);
        self.hw = self.hw.min(offset);
        self.durable_end = self.durable_end.min(offset);
        if let Some((end, _)) = &mut self.flushing {
            *end = (*end).min(offset);
        }
        self.epochs.retain(|(_, start)| *start < offset);
        self.rebuild_producers();
        removed
    }

    /// Rebuilds the producers' states from the records.
    fn rebuild_producers(&mut self) {
        self.producers.clear();
        for r in &self.records {
            track(&mut self.producers, r);
        }
    }

    /// What this log knows of producer `producer_id`.
    pub(super) fn producer(&self, producer_id: u64) -> Option<ProducerState> {
        let found = self.producers.iter().find(|(id, _)| *id == producer_id);
        found.map(|(_, st)| *st)
    }

    /// Where an idempotent record stands against this log: `Ok(None)` to
    /// append it, `Ok(Some(offset))` for a duplicate of the record there,
    /// `OUT_OF_ORDER_SEQUENCE_NUMBER` for a sequence that skips ahead,
    /// `INVALID_PRODUCER_EPOCH` for an epoch that is over here.
    pub(super) fn check_sequence(&self, idem: Idem) -> Result<Option<u64>, ProduceError> {
        let Some(st) = self.producer(idem.producer_id) else {
            // No state (a new producer, or its records are gone): accept,
            // as a broker does for a producer whose state expired.
            return Ok(None);
        };
        if idem.producer_epoch < st.epoch {
            return Err(ProduceError::InvalidProducerEpoch);
        }
        if idem.producer_epoch > st.epoch {
            // A new epoch starts its sequences at 0.
            return match idem.sequence {
                0 => Ok(None),
                _ => Err(ProduceError::OutOfOrderSequence),
            };
        }
        match st.last {
            Some((last, at)) if idem.sequence == last => return Ok(Some(at)),
            Some((last, _)) if idem.sequence < last => {
                let older = self.records.iter().rev().find(|r| r.idem == Some(idem));
                return older
                    .map(|r| Some(r.offset))
                    .ok_or(ProduceError::OutOfOrderSequence);
            }
            _ => {}
        }
        if st.marker.is_some() {
            return Err(ProduceError::InvalidProducerEpoch); // its transaction is closed
        }
        match st.last {
            Some((last, _)) if idem.sequence != last.wrapping_add(1) => {
                Err(ProduceError::OutOfOrderSequence)
            }
            _ => Ok(None),
        }
    }

    /// The last stable offset: the first offset of a transaction whose
    /// marker is not below the HW yet, or the HW. A `read_committed`
    /// reader reads below it.
    pub(super) fn lso(&self) -> u64 {
        let open = self.producers.iter().filter_map(|(_, st)| {
            let first = st.txn_first?;
            st.marker.is_none_or(|m| m >= self.hw).then_some(first)
        });
        open.fold(self.hw, u64::min)
    }

    /// The crash: only what was on disk is left. Returns what was lost.
    pub(super) fn crash(&mut self) -> Vec<(u64, MsgId)> {
        self.flushing = None;
        self.unflushed_since_ms = None;
        self.truncate_to(self.durable_end)
    }

    /// Runs the flush policy at `now_ms`: completes the `fsync` in flight
    /// if it is due, starts one if the policy says so. Returns the next
    /// time it needs to be asked again, if any.
    pub(super) fn flush(&mut self, now_ms: u64, policy: &FlushPolicy) -> Option<u64> {
        if let Some((end, done_ms)) = self.flushing {
            if now_ms < done_ms {
                return Some(done_ms);
            }
            self.durable_end = self.durable_end.max(end);
            self.flushing = None;
        }
        let unflushed = self.end() - self.durable_end;
        if unflushed == 0 {
            self.unflushed_since_ms = None; // a cut took what was waiting
            return None;
        }
        let since = self.unflushed_since_ms?;
        let by_count = policy.messages.is_some_and(|n| unflushed >= n);
        let by_age = now_ms >= since.saturating_add(policy.ms);
        if !by_count && !by_age {
            return Some(since.saturating_add(policy.ms));
        }
        let done_ms = now_ms + policy.fsync_latency_ms;
        self.flushing = Some((self.end(), done_ms));
        self.unflushed_since_ms = None;
        Some(done_ms)
    }

    /// The end its disk is asked to hold: what is on disk, or the end of
    /// the `fsync` in flight (a store behind the replica writes this far).
    pub(super) fn fsync_end(&self) -> u64 {
        self.flushing
            .map_or(self.durable_end, |(end, _)| end.max(self.durable_end))
    }

    /// A clean shutdown wrote the whole log: all of it is on disk.
    pub(super) fn all_written(&mut self) {
        self.durable_end = self.end();
        (self.flushing, self.unflushed_since_ms) = (None, None);
    }

    /// Whether everything appended is on disk.
    pub(super) fn all_durable(&self) -> bool {
        self.durable_end == self.end()
    }
}

/// One record's mark on its producer's state: a newer producer epoch
/// starts afresh; data moves the last sequence (and opens the epoch's
/// transaction); a marker closes it.
fn track(producers: &mut Vec<(u64, ProducerState)>, r: &Record) {
    let Some(idem) = r.idem else { return };
    let fresh = ProducerState {
        epoch: idem.producer_epoch,
        ..ProducerState::default()
    };
    let i = match producers.iter().position(|(id, _)| *id == idem.producer_id) {
        Some(i) => i,
        None => {
            producers.push((idem.producer_id, fresh));
            producers.len() - 1
        }
    };
    let st = &mut producers[i].1;
    if idem.producer_epoch > st.epoch {
        *st = fresh;
    }
    match r.kind {
        RecordKind::Commit | RecordKind::Abort => st.marker = Some(r.offset),
        RecordKind::Txn => {
            st.txn_first.get_or_insert(r.offset);
            st.last = Some((idem.sequence, r.offset));
        }
        RecordKind::Data => st.last = Some((idem.sequence, r.offset)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(offset: u64, epoch: Epoch) -> Record {
        Record {
            offset,
            epoch,
            msg: offset + 100,
            idem: None,
            kind: RecordKind::Data,
        }
    }

    #[test]
    fn end_offset_for_epoch_answers_where_an_epoch_ended() {
        let mut log = ReplicaLog::default();
        for (o, e) in [(0, 0), (1, 0), (2, 2), (3, 2), (4, 5)] {
            log.append(0, rec(o, e));
        }
        assert_eq!(log.end_offset_for_epoch(0), (0, 2));
        assert_eq!(log.end_offset_for_epoch(1), (0, 2));
        assert_eq!(log.end_offset_for_epoch(2), (2, 4));
        assert_eq!(log.end_offset_for_epoch(5), (5, 5));
        assert_eq!(log.end_offset_for_epoch(9), (5, 5));
        let cut = log.truncate_to(3);
        assert_eq!(cut, vec![(3, 103), (4, 104)]);
        assert_eq!(log.end_offset_for_epoch(2), (2, 3));
        assert_eq!(log.epochs, vec![(0, 0), (2, 2)]);
    }

    #[test]
    fn flush_messages_one_fsyncs_every_append_and_a_crash_keeps_the_disk() {
        let spec = ClusterSpec::single_node();
        let policy = FlushPolicy::new(&spec, 5);
        let mut log = ReplicaLog::default();
        log.append(10, rec(0, 0));
        assert_eq!(log.flush(10, &policy), Some(15));
        log.append(12, rec(1, 0));
        assert_eq!(log.counted_end(&policy), 0);
        log.flush(15, &policy);
        assert_eq!(log.durable_end, 1);
        assert_eq!(log.crash(), vec![(1, 101)]);
        assert_eq!(log.end(), 1);
    }

    #[test]
    fn without_flush_settings_the_writeback_flushes_late() {
        let spec = ClusterSpec {
            flush_messages: None,
            ..ClusterSpec::single_node()
        };
        let policy = FlushPolicy::new(&spec, 5);
        let mut log = ReplicaLog::default();
        log.append(0, rec(0, 0));
        assert_eq!(log.flush(0, &policy), Some(OS_WRITEBACK_MS));
        assert_eq!(log.counted_end(&policy), 1, "counted before the disk");
        assert_eq!(
            log.crash().len(),
            1,
            "a crash before the writeback loses it"
        );
    }

    #[test]
    fn idempotent_sequences_travel_with_the_records() {
        let mut log = ReplicaLog::default();
        let idem = |sequence| Idem {
            producer_id: 7,
            producer_epoch: 0,
            sequence,
        };
        for s in 0..3 {
            let r = Record {
                idem: Some(idem(s)),
                ..rec(u64::from(s), 0)
            };
            log.append(0, r);
        }
        assert_eq!(log.check_sequence(idem(3)), Ok(None));
        assert_eq!(log.check_sequence(idem(2)), Ok(Some(2)));
        assert_eq!(log.check_sequence(idem(0)), Ok(Some(0)));
        assert_eq!(
            log.check_sequence(idem(5)),
            Err(ProduceError::OutOfOrderSequence)
        );
        log.truncate_to(1);
        assert_eq!(
            log.check_sequence(idem(1)),
            Ok(None),
            "rebuilt from the log"
        );
    }
}
