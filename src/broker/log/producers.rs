//! The log broker's idempotent-producer state (`enable.idempotence`).
//!
//! An idempotent producer stamps every produce request with its producer id,
//! its epoch and a sequence number that counts 0, 1, 2... per partition. A
//! retry carries the *same* sequence number. For each (producer id,
//! partition) the broker remembers the last [`BATCHES_PER_PARTITION_MAX`]
//! sequence numbers it appended and at which offsets, and judges each new
//! request:
//!
//! - **next in line** (last + 1, or 0 for a new producer): append it;
//! - **a duplicate** (one of the remembered ones): append nothing, answer
//!   success with the offset of the original, as Kafka does;
//! - **out of order** (anything else, e.g. a gap because an earlier request
//!   was lost): reject it with `OutOfOrderSequenceException`; the producer
//!   retries it after the missing one;
//! - **an older epoch**: the request is from a fenced producer, rejected.
//!
//! Kafka keeps the metadata of the last 5 *batches*; a produce request here
//! carries one record, so the window is the last 5 records, and producers
//! must keep `max.in.flight.requests <= 5` so a retry always falls inside it.
//!
//! ## Surviving a crash: the log is the truth
//!
//! The state must survive a broker crash together with the records it
//! describes, or a retry after a restart is judged against the wrong
//! history: a retry of a record that *is* on disk would be appended a second
//! time. Two things carry the state across a crash, as in Kafka:
//!
//! 1. **Every idempotent record carries its own producer id, epoch and
//!    sequence number** ([`IdempotentTag`]; Kafka keeps them in the batch
//!    header). So the log itself says which sequences it holds and where.
//! 2. **A snapshot**: changed entries are written to the `Producers` stream
//!    of [`crate::storage`] in the same group commit as the records they
//!    cover (Kafka's `.snapshot` files). It spares recovery a scan of the
//!    whole log: the snapshot is complete up to some offset per partition,
//!    its [`horizons`](ProducerStates::horizons).
//!
//! A torn group commit (`crash_torn`, `fault_options.torn_writes`) keeps
//! the batches written before the torn one and cuts the rest, so the
//! records of the last flush can reach the disk while the snapshot entry
//! written after them is cut: the snapshot is then *stale*. Recovery
//! therefore trusts the log over the snapshot, in two steps per partition
//! (Kafka's `ProducerStateManager.truncateAndReload`):
//!
//! - **truncate**: forget remembered sequences at offsets the recovered log
//!   no longer holds (recovery cut a damaged batch: the snapshot is then
//!   *ahead* of the log), see [`truncate`](ProducerStates::truncate);
//! - **replay**: read the records past the snapshot's horizon, the tail of
//!   the partition, and push each idempotent one through the producer's
//!   window as the append did, see [`replay`](ProducerStates::replay).
//!   Replayed entries are marked changed, so the next group commit writes
//!   a snapshot that is current again.
//!
//! Why the horizon is safe: a flush's snapshot batch lands only if every
//! earlier flush landed, so every idempotent record at or below the highest
//! offset the snapshot remembers in a partition is counted in it. A
//! snapshot record that cannot be read drops the whole snapshot, and replay
//! starts at each partition's first record. After recovery a retry of a
//! record that landed is answered as a duplicate with its original offset.
//!
//! Simplification: the producer id is not handed out by an `InitProducerId`
//! request; the client derives a fresh one from its client id and how often it
//! restarted (see [`producer_id`]). That keeps what matters: a restarted
//! producer is a new producer, and its old sequence numbers mean nothing.

use super::notes::{note, LogNote};
use super::partition::{PartitionLog, Partitions};
use super::protocol::{PartitionId, TopicId};
use crate::broker::{ClientId, Message, Output};
use crate::config::Acks;
use crate::storage::{Record, RecordBatch};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Sequence numbers (with offsets) remembered per producer and partition.
pub const BATCHES_PER_PARTITION_MAX: usize = 5;
/// Producer states (producer id × partition) one broker keeps. Bound: clients
/// × their restarts × partitions; crossing it means a runaway run.
pub const PRODUCER_STATES_MAX: usize = 1 << 20;

/// Who sent an idempotent produce request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProducerIdent {
    /// The producer id (see [`producer_id`]).
    pub id: u64,
    /// Its epoch: a request with an older one than the broker has seen is
    /// from a fenced instance.
    pub epoch: u16,
}

/// What an idempotent record carries into the log: who wrote it and its
/// sequence number (Kafka's batch header holds `producerId`,
/// `producerEpoch` and `baseSequence`). Recovery rebuilds
/// [`ProducerStates`] from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdempotentTag {
    /// The id as the broker keys its state (after any resume shift).
    pub producer: ProducerIdent,
    /// The record's sequence number in its partition.
    pub sequence: u32,
}

/// A fresh producer id for client `client` in its `incarnation`-th life.
pub fn producer_id(client: ClientId, incarnation: u32) -> u64 {
    u64::from(incarnation) << 32 | u64::from(client)
}

/// The broker's judgement of one idempotent produce request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqCheck {
    /// Next in line: append it.
    Append,
    /// Already appended: answer with the original's offset.
    Duplicate {
        /// Where the original landed.
        offset: u64,
    },
    /// A gap (`OutOfOrderSequenceException`): refuse; the producer retries.
    OutOfOrder {
        /// The sequence the broker expects next.
        expected: u32,
    },
    /// An older epoch than the broker has seen: a fenced producer.
    Fenced {
        /// The epoch the broker has.
        epoch: u16,
    },
}

/// One producer's window in one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Entry {
    /// The newest epoch seen; sequences count from 0 again in a new one.
    epoch: u16,
    /// (sequence, offset), oldest first. Bound: [`BATCHES_PER_PARTITION_MAX`].
    recent: VecDeque<(u32, u64)>,
}

/// Producer id, topic, partition.
type Key = (u64, TopicId, PartitionId);

/// Every idempotent producer's state on one broker.
#[derive(Clone, Debug, Default)]
pub struct ProducerStates {
    /// Each producer's recent sequences per partition. Bound:
    /// [`PRODUCER_STATES_MAX`].
    entries: BTreeMap<Key, Entry>,
    /// Entries changed since the last write to storage.
    dirty: BTreeSet<Key>,
    /// Next offset in the `Producers` stream.
    stream_end: u64,
    /// Added to the restart count of every idempotent producer id the
    /// broker is sent (see [`ProducerStates::shift_ids_past_recovered`]);
    /// kept across crashes, like the disk.
    id_shift: u32,
}

/// One idempotent produce request, as [`ProducerStates::admit`] judges it.
#[derive(Clone, Copy, Debug)]
pub(super) struct IdempotentProduce {
    /// The sending client, to answer.
    pub(super) from: ClientId,
    /// Where it writes.
    pub(super) at: (TopicId, PartitionId),
    /// The record's message.
    pub(super) msg: Message,
    /// The producer id and epoch the client sent (before the resume shift).
    pub(super) producer: ProducerIdent,
    /// The record's sequence number in the partition.
    pub(super) sequence: u32,
}

impl ProducerStates {
    /// `enable.idempotence`: judges one produce request against the
    /// producer's window. Next in line: remembered, and the tag to append
    /// it with is returned. A duplicate: answered with its original offset
    /// (once that is durable, as for any `acks=all` request). Anything
    /// else: rejected. `None` means nothing is appended.
    pub(super) fn admit(
        &mut self,
        req: IdempotentProduce,
        log: &mut PartitionLog,
        out: &mut Vec<Output>,
    ) -> Option<IdempotentTag> {
        let (topic, partition) = req.at;
        let shift = u64::from(self.id_shift) << 32;
        let id = req.producer.id.checked_add(shift);
        let producer = ProducerIdent {
            id: id.expect("producer ids fit in u64"),
            ..req.producer
        };
        let sequence = req.sequence;
        let msg = req.msg.id;
        match self.check(producer, topic, partition, sequence) {
            SeqCheck::Append => {
                self.appended(producer, topic, partition, sequence, log.end());
                return Some(IdempotentTag { producer, sequence });
            }
            SeqCheck::Duplicate { offset } => {
                out.push(note(LogNote::DuplicateSequence {
                    msg,
                    topic,
                    partition,
                    offset,
                }));
                // Released with (or after) the newer records waiting.
                log.acknowledge((req.from, msg), (partition, offset), Acks::All, out);
            }
            // A fenced epoch is rejected too; `expected` says "none" then.
            SeqCheck::OutOfOrder { expected } => {
                out.push(rejected(req, expected));
            }
            SeqCheck::Fenced { .. } => out.push(rejected(req, u32::MAX)),
        }
        None
    }

    /// Kafka's `InitProducerId` hands a new producer process a fresh id;
    /// here ids are derived from client id and restart count (see
    /// [`producer_id`]), so a resumed log's producers would reuse an earlier
    /// visit's ids and their sequence 0 would look like a duplicate. After a
    /// resume the broker therefore shifts every id it is sent past the
    /// recovered ones.
    pub(super) fn shift_ids_past_recovered(&mut self) {
        self.id_shift = self.incarnations_end();
    }

    /// Added to the restart count in every idempotent producer id (0, except
    /// after a resume).
    pub(super) fn id_shift(&self) -> u32 {
        self.id_shift
    }

    /// Judges `seq` from `who` in partition (`t`, `p`) without changing
    /// anything.
    pub fn check(&self, who: ProducerIdent, t: TopicId, p: PartitionId, seq: u32) -> SeqCheck {
        let Some(e) = self.entries.get(&(who.id, t, p)) else {
            return if seq == 0 {
                SeqCheck::Append
            } else {
                SeqCheck::OutOfOrder { expected: 0 }
            };
        };
        if who.epoch < e.epoch {
            return SeqCheck::Fenced { epoch: e.epoch };
        }
        if who.epoch > e.epoch {
            // A bumped epoch starts its sequences over.
            return if seq == 0 {
                SeqCheck::Append
            } else {
                SeqCheck::OutOfOrder { expected: 0 }
            };
        }
        if let Some(&(_, offset)) = e.recent.iter().find(|(s, _)| *s == seq) {
            return SeqCheck::Duplicate { offset };
        }
        let last = e.recent.back().map_or(0, |(s, _)| s.wrapping_add(1));
        if seq == last {
            SeqCheck::Append
        } else {
            SeqCheck::OutOfOrder { expected: last }
        }
    }

    /// Remembers an appended record (after [`check`](Self::check) said `Append`).
    pub fn appended(
        &mut self,
        who: ProducerIdent,
        t: TopicId,
        p: PartitionId,
        seq: u32,
        offset: u64,
    ) {
        assert_eq!(
            self.check(who, t, p, seq),
            SeqCheck::Append,
            "only in-order appends"
        );
        self.remember((who.id, t, p), who.epoch, seq, offset);
    }

    /// Pushes (`seq`, `offset`) into the entry's window (a newer `epoch`
    /// starts it over) and marks it changed.
    fn remember(&mut self, key: Key, epoch: u16, seq: u32, offset: u64) {
        let e = self.entries.entry(key).or_default();
        if epoch != e.epoch {
            *e = Entry {
                epoch,
                recent: VecDeque::new(),
            };
        }
        e.recent.push_back((seq, offset));
        if e.recent.len() > BATCHES_PER_PARTITION_MAX {
            e.recent.pop_front();
        }
        self.dirty.insert(key);
        assert!(
            self.entries.len() <= PRODUCER_STATES_MAX,
            "producer states over bound"
        );
    }

    /// The changed entries as one batch for the `Producers` stream, to append
    /// in the same group commit as the records they describe.
    pub fn unstored_batch(&mut self) -> Option<RecordBatch> {
        if self.dirty.is_empty() {
            return None;
        }
        let base = self.stream_end;
        let dirty = std::mem::take(&mut self.dirty);
        let records: Vec<Record> = dirty
            .into_iter()
            .enumerate()
            .map(|(i, key)| encode(base + i as u64, key, &self.entries[&key]))
            .collect();
        self.stream_end = base + records.len() as u64;
        Some(RecordBatch {
            base_offset: base,
            records,
        })
    }

    /// A crash: memory is gone (the durable stream is not).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.dirty.clear();
    }

    /// One line per producer id: (id, epoch, partitions it has state for).
    pub fn summary(&self) -> Vec<(u64, u16, u32)> {
        let mut out: Vec<(u64, u16, u32)> = Vec::new();
        for (&(pid, _, _), e) in &self.entries {
            match out.last_mut() {
                Some(last) if last.0 == pid => last.2 += 1,
                _ => out.push((pid, e.epoch, 1)),
            }
        }
        out
    }

    /// One past the highest restart count in any known producer id (see
    /// [`producer_id`]): ids from that count on were never used.
    pub fn incarnations_end(&self) -> u32 {
        let highest = self.entries.keys().map(|&(pid, _, _)| pid >> 32).max();
        highest.map_or(0, |h| u32::try_from(h + 1).unwrap_or(u32::MAX))
    }

    /// Recovery, after [`restore`](Self::restore), step 1: the log wins.
    /// Forgets the sequences remembered at offsets `log_end` and past in
    /// partition (`t`, `p`): recovery cut those records, so a retry of
    /// them must be appended again, not answered with an offset that no
    /// longer exists. An entry left with no sequence is dropped. Returns
    /// how many sequences were forgotten.
    pub fn truncate(&mut self, t: TopicId, p: PartitionId, log_end: u64) -> u32 {
        let mut dropped = 0;
        self.entries.retain(|&(pid, et, ep), e| {
            if (et, ep) != (t, p) {
                return true;
            }
            let before = e.recent.len();
            e.recent.retain(|&(_, offset)| offset < log_end);
            if e.recent.len() < before {
                dropped += (before - e.recent.len()) as u32;
                self.dirty.insert((pid, et, ep));
            }
            !e.recent.is_empty()
        });
        // A dropped entry has nothing left to write.
        let entries = &self.entries;
        self.dirty.retain(|k| entries.contains_key(k));
        dropped
    }

    /// Per partition, the highest offset the snapshot remembers. The
    /// snapshot is written in the same group commit as the records it
    /// covers, in order, so every idempotent record at or below it is
    /// already counted: recovery replays only the records past it.
    pub fn horizons(&self) -> BTreeMap<(TopicId, PartitionId), u64> {
        let mut out: BTreeMap<(TopicId, PartitionId), u64> = BTreeMap::new();
        for (&(_, t, p), e) in &self.entries {
            if let Some(&(_, offset)) = e.recent.back() {
                let h = out.entry((t, p)).or_insert(offset);
                *h = (*h).max(offset);
            }
        }
        out
    }

    /// Recovery, step 2: one idempotent record the log holds past the
    /// snapshot's horizon, at `offset`, in log order. Returns true when the
    /// snapshot did not know it (it was stale: a torn group commit cut it).
    pub fn replay(&mut self, tag: IdempotentTag, t: TopicId, p: PartitionId, offset: u64) -> bool {
        let key = (tag.producer.id, t, p);
        let epoch = tag.producer.epoch;
        if let Some(e) = self.entries.get(&key) {
            // The broker appends no record of a fenced epoch; and a pair at
            // or past this offset means the snapshot already covers it.
            let known = e.recent.back().is_some_and(|&(_, o)| o >= offset);
            if epoch < e.epoch || (epoch == e.epoch && known) {
                return false;
            }
        }
        self.remember(key, epoch, tag.sequence, offset);
        true
    }

    /// A restart: the last durable record of each entry wins. A snapshot
    /// record this broker could not have written (a layout it does not
    /// know: bad data whose CRC still matched) makes the whole snapshot
    /// untrustworthy: it is dropped, and recovery then replays every
    /// partition from its start ([`horizons`](Self::horizons) is empty).
    /// Returns the offset of the first unreadable record, if any.
    pub fn restore(&mut self, batches: &[RecordBatch]) -> Option<u64> {
        let mut unreadable = None;
        for r in batches.iter().flat_map(|b| &b.records) {
            match decode(r) {
                Some((key, entry)) => {
                    self.entries.insert(key, entry);
                }
                None => unreadable = unreadable.or(Some(r.offset)),
            }
            self.stream_end = r.offset + 1;
        }
        if unreadable.is_some() {
            self.entries.clear();
        }
        unreadable
    }
}

/// `SequenceRejected`: a gap before `sequence`, or (`expected` =
/// `u32::MAX`) a fenced epoch. Nothing appended; the producer retries.
fn rejected(req: IdempotentProduce, expected: u32) -> Output {
    let (topic, partition) = req.at;
    note(LogNote::SequenceRejected {
        msg: req.msg.id,
        topic,
        partition,
        sequence: req.sequence,
        expected,
    })
}

impl ProducerStates {
    /// Kafka's producer-state recovery: the log wins over the `Producers`
    /// snapshot. Per partition, forget sequences at offsets recovery cut,
    /// then replay the idempotent records past what the snapshot covers.
    /// Says so when the snapshot was stale, then lists every producer
    /// recovered.
    pub(super) fn reload_from_log(&mut self, partitions: &Partitions, out: &mut Vec<Output>) {
        let mut forgot = BTreeMap::new();
        for (t, p, log) in partitions.iter() {
            forgot.insert((t, p), self.truncate(t, p, log.end()));
        }
        let horizons = self.horizons();
        for (t, p, log) in partitions.iter() {
            let from = horizons.get(&(t, p)).map_or(log.start, |h| h + 1);
            let from = from.max(log.start);
            let mut replayed = 0;
            for r in log.records.range((from - log.start) as usize..) {
                if let Some(tag) = r.idem {
                    replayed += u32::from(self.replay(tag, t, p, r.offset));
                }
            }
            let forgot = forgot[&(t, p)];
            if replayed > 0 || forgot > 0 {
                out.push(note(LogNote::ProducerStateFromLog {
                    topic: t,
                    partition: p,
                    from,
                    to: log.end(),
                    replayed,
                    forgot,
                }));
            }
        }
        for (producer_id, epoch, partitions) in self.summary() {
            out.push(note(LogNote::RecoveredProducer {
                producer_id,
                epoch,
                partitions,
            }));
        }
    }
}

/// Key: producer id, topic, partition (12 bytes). Value: epoch, then
/// (sequence, offset) pairs.
fn encode(offset: u64, (pid, t, p): Key, e: &Entry) -> Record {
    let mut key = Vec::with_capacity(12);
    key.extend_from_slice(&pid.to_le_bytes());
    key.extend_from_slice(&t.to_le_bytes());
    key.extend_from_slice(&p.to_le_bytes());
    let mut value = Vec::with_capacity(2 + 12 * e.recent.len());
    value.extend_from_slice(&e.epoch.to_le_bytes());
    for (seq, off) in &e.recent {
        value.extend_from_slice(&seq.to_le_bytes());
        value.extend_from_slice(&off.to_le_bytes());
    }
    Record {
        offset,
        timestamp_ms: 0,
        producer_id: pid,
        key: Some(key),
        value,
    }
}

/// The inverse of [`encode`]; `None` for a layout `encode` never writes.
fn decode(r: &Record) -> Option<(Key, Entry)> {
    let k: &[u8; 12] = r.key.as_deref()?.try_into().ok()?;
    let v = &r.value;
    let pairs_bytes = v.len().checked_sub(2)?;
    if !pairs_bytes.is_multiple_of(12) || pairs_bytes / 12 > BATCHES_PER_PARTITION_MAX {
        return None;
    }
    let pid = u64::from_le_bytes(k[0..8].try_into().ok()?);
    let t = u16::from_le_bytes([k[8], k[9]]);
    let p = u16::from_le_bytes([k[10], k[11]]);
    let epoch = u16::from_le_bytes([v[0], v[1]]);
    let recent = v[2..]
        .chunks_exact(12)
        .map(|c| {
            let (seq, offset) = c.split_at(4);
            let seq = u32::from_le_bytes(seq.try_into().expect("split at 4 of 12"));
            (seq, u64::from_le_bytes(offset.try_into().expect("8 of 12")))
        })
        .collect();
    Some(((pid, t, p), Entry { epoch, recent }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHO: ProducerIdent = ProducerIdent { id: 7, epoch: 0 };

    #[test]
    fn in_order_duplicate_out_of_order_and_window() {
        let mut s = ProducerStates::default();
        assert_eq!(s.check(WHO, 0, 0, 1), SeqCheck::OutOfOrder { expected: 0 });
        for seq in 0..7 {
            assert_eq!(s.check(WHO, 0, 0, seq), SeqCheck::Append);
            s.appended(WHO, 0, 0, seq, 100 + u64::from(seq));
        }
        assert_eq!(s.check(WHO, 0, 0, 6), SeqCheck::Duplicate { offset: 106 });
        assert_eq!(s.check(WHO, 0, 0, 2), SeqCheck::Duplicate { offset: 102 });
        assert_eq!(
            s.check(WHO, 0, 0, 1),
            SeqCheck::OutOfOrder { expected: 7 },
            "outside the window of 5"
        );
        assert_eq!(s.check(WHO, 0, 0, 9), SeqCheck::OutOfOrder { expected: 7 });
        let old = ProducerIdent { epoch: 0, ..WHO };
        s.appended(ProducerIdent { epoch: 1, ..WHO }, 0, 0, 0, 200);
        assert_eq!(s.check(old, 0, 0, 7), SeqCheck::Fenced { epoch: 1 });
    }

    #[test]
    fn survives_a_round_trip_through_storage() {
        let mut s = ProducerStates::default();
        for seq in 0..3 {
            s.appended(WHO, 1, 2, seq, u64::from(seq));
        }
        let batch = s.unstored_batch().expect("dirty");
        assert!(s.unstored_batch().is_none());
        let mut back = ProducerStates::default();
        back.restore(&[batch]);
        assert_eq!(back.check(WHO, 1, 2, 1), SeqCheck::Duplicate { offset: 1 });
        assert_eq!(back.check(WHO, 1, 2, 3), SeqCheck::Append);
    }

    fn tag(seq: u32) -> IdempotentTag {
        IdempotentTag {
            producer: WHO,
            sequence: seq,
        }
    }

    #[test]
    fn a_stale_snapshot_is_brought_up_to_date_by_the_log_tail() {
        let mut s = ProducerStates::default();
        for seq in 0..3 {
            s.appended(WHO, 0, 0, seq, 10 + u64::from(seq));
        }
        let snapshot = s.unstored_batch().expect("dirty");
        let mut back = ProducerStates::default();
        assert_eq!(back.restore(&[snapshot]), None);
        assert_eq!(back.horizons(), BTreeMap::from([((0, 0), 12)]));
        // The log holds sequences 3..=8 past the horizon (offset 12), with
        // another producer's record between them.
        assert!(!back.replay(tag(2), 0, 0, 12), "already in the snapshot");
        for seq in 3..=8 {
            assert!(back.replay(tag(seq), 0, 0, 10 + u64::from(seq)));
        }
        let other = ProducerIdent { id: 9, epoch: 0 };
        let other_tag = IdempotentTag {
            producer: other,
            sequence: 0,
        };
        assert!(back.replay(other_tag, 0, 0, 19));
        assert_eq!(back.check(WHO, 0, 0, 8), SeqCheck::Duplicate { offset: 18 });
        assert_eq!(back.check(WHO, 0, 0, 4), SeqCheck::Duplicate { offset: 14 });
        assert_eq!(
            back.check(WHO, 0, 0, 3),
            SeqCheck::OutOfOrder { expected: 9 },
            "the window stays 5"
        );
        assert_eq!(
            back.check(other, 0, 0, 0),
            SeqCheck::Duplicate { offset: 19 }
        );
        let rewritten = back
            .unstored_batch()
            .expect("replayed entries are written again");
        assert_eq!(rewritten.records.len(), 2);
        // A fenced epoch's record cannot be in the log; replay ignores it.
        back.appended(ProducerIdent { epoch: 1, ..WHO }, 0, 0, 0, 20);
        assert!(!back.replay(tag(9), 0, 0, 21));
    }

    #[test]
    fn truncation_forgets_what_recovery_cut() {
        let mut s = ProducerStates::default();
        for seq in 0..4 {
            s.appended(WHO, 0, 0, seq, u64::from(seq));
        }
        s.appended(WHO, 0, 1, 0, 0);
        s.unstored_batch();
        assert_eq!(s.truncate(0, 0, 2), 2);
        assert_eq!(
            s.check(WHO, 0, 0, 2),
            SeqCheck::Append,
            "cut: write it again"
        );
        assert_eq!(s.check(WHO, 0, 0, 1), SeqCheck::Duplicate { offset: 1 });
        assert_eq!(s.check(WHO, 0, 1, 0), SeqCheck::Duplicate { offset: 0 });
        assert_eq!(s.truncate(0, 1, 0), 1, "the whole entry goes");
        assert_eq!(s.check(WHO, 0, 1, 0), SeqCheck::Append);
        assert_eq!(s.unstored_batch().expect("changed").records.len(), 1);
    }

    #[test]
    fn an_unreadable_snapshot_is_dropped_not_a_panic() {
        let mut s = ProducerStates::default();
        s.appended(WHO, 0, 0, 0, 0);
        let mut batch = s.unstored_batch().expect("dirty");
        batch.records[0].value.push(1);
        let mut back = ProducerStates::default();
        assert_eq!(back.restore(&[batch.clone()]), Some(0));
        assert!(
            back.horizons().is_empty(),
            "the log is replayed from its start"
        );
        batch.records[0].key = None;
        assert_eq!(ProducerStates::default().restore(&[batch]), Some(0));
    }
}
