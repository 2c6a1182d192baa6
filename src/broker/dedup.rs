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
//! The state must survive a broker crash together with the records it
//! describes, or a retry after a restart would be judged against the wrong
//! history. So changed entries are written to the `Producers` stream of
//! [`crate::storage`] in the *same* group commit as the records they cover:
//! both are durable or both are lost.
//!
//! Known gap: a *torn* group commit (`crash_torn`, `fault_options.torn_writes`)
//! keeps the batches before the torn one, so records can reach the disk
//! while the producer state written after them is cut. A retry of those
//! records is then appended again (a `duplicate` in the log). Kafka avoids
//! this by rebuilding producer state from the batch headers in the log
//! itself; here the consumer's dedup store still applies each effect once
//! under `exactly_once_idempotent`, but a transactional pipeline reads the
//! copy as a new input (see `tests/torn_writes.rs`).
//!
//! Simplification: the producer id is not handed out by an `InitProducerId`
//! request; the client derives a fresh one from its client id and how often it
//! restarted (see [`producer_id`]). That keeps what matters: a restarted
//! producer is a new producer, and its old sequence numbers mean nothing.

use super::log::{PartitionId, TopicId};
use super::ClientId;
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
    pub id: u64,
    pub epoch: u16,
}

/// A fresh producer id for client `client` in its `incarnation`-th life.
pub fn producer_id(client: ClientId, incarnation: u32) -> u64 {
    u64::from(incarnation) << 32 | u64::from(client)
}

/// The broker's judgement of one idempotent produce request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqCheck {
    Append,
    Duplicate { offset: u64 },
    OutOfOrder { expected: u32 },
    Fenced { epoch: u16 },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Entry {
    epoch: u16,
    /// (sequence, offset), oldest first. Bound: [`BATCHES_PER_PARTITION_MAX`].
    recent: VecDeque<(u32, u64)>,
}

type Key = (u64, TopicId, PartitionId);

/// Every idempotent producer's state on one broker.
#[derive(Clone, Debug, Default)]
pub struct ProducerStates {
    entries: BTreeMap<Key, Entry>,
    /// Entries changed since the last write to storage.
    dirty: BTreeSet<Key>,
    /// Next offset in the `Producers` stream.
    stream_end: u64,
}

impl ProducerStates {
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
        let key = (who.id, t, p);
        let e = self.entries.entry(key).or_default();
        if who.epoch != e.epoch {
            *e = Entry {
                epoch: who.epoch,
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

    /// A restart: the last durable record of each entry wins.
    pub fn restore(&mut self, batches: &[RecordBatch]) {
        for r in batches.iter().flat_map(|b| &b.records) {
            let (key, entry) = decode(r);
            self.entries.insert(key, entry);
            self.stream_end = r.offset + 1;
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

fn decode(r: &Record) -> (Key, Entry) {
    let k = r.key.as_deref().expect("the broker wrote a key");
    assert_eq!(k.len(), 12, "producer state key");
    assert_eq!((r.value.len() - 2) % 12, 0, "producer state value");
    let pid = u64::from_le_bytes(k[0..8].try_into().expect("8 bytes"));
    let t = u16::from_le_bytes([k[8], k[9]]);
    let p = u16::from_le_bytes([k[10], k[11]]);
    let v = &r.value;
    let epoch = u16::from_le_bytes([v[0], v[1]]);
    let recent = v[2..]
        .chunks_exact(12)
        .map(|c| {
            let seq = u32::from_le_bytes(c[0..4].try_into().expect("4 bytes"));
            (
                seq,
                u64::from_le_bytes(c[4..12].try_into().expect("8 bytes")),
            )
        })
        .collect();
    ((pid, t, p), Entry { epoch, recent })
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
}

/// SQS FIFO's deduplication interval: 5 minutes, in virtual ms.
pub const SQS_DEDUP_WINDOW_MS: u64 = 5 * 60 * 1000;
/// Ids one FIFO queue's window holds at once. Bound: messages accepted within
/// 5 minutes; crossing it means a runaway run.
pub const SQS_DEDUP_IDS_MAX: usize = 10_000_000;

/// SQS FIFO's `MessageDeduplicationId`: a publish carrying an id that was
/// accepted within the last [`SQS_DEDUP_WINDOW_MS`] is acknowledged as if it
/// worked but not enqueued again. After the window the same id is new again,
/// so a retry that comes more than 5 minutes late is a duplicate.
#[derive(Clone, Debug, Default)]
pub struct DedupWindow {
    /// Id → when it was accepted. Bound: [`SQS_DEDUP_IDS_MAX`].
    seen: BTreeMap<u64, u64>,
    /// (accepted at, id), oldest first, for expiry.
    order: VecDeque<(u64, u64)>,
}

impl DedupWindow {
    /// True when `id` was accepted within the window (drop the publish);
    /// otherwise remembers it from `now_ms` and returns false.
    pub fn is_duplicate(&mut self, now_ms: u64, id: u64) -> bool {
        while self
            .order
            .front()
            .is_some_and(|(at, _)| at + SQS_DEDUP_WINDOW_MS <= now_ms)
        {
            let (at, old) = self.order.pop_front().expect("checked");
            if self.seen.get(&old) == Some(&at) {
                self.seen.remove(&old);
            }
        }
        if self.seen.contains_key(&id) {
            return true;
        }
        self.seen.insert(id, now_ms);
        self.order.push_back((now_ms, id));
        assert!(
            self.seen.len() <= SQS_DEDUP_IDS_MAX,
            "dedup window over bound"
        );
        false
    }
}

#[cfg(test)]
mod window_tests {
    use super::*;

    #[test]
    fn five_minutes_then_new_again() {
        let mut w = DedupWindow::default();
        assert!(!w.is_duplicate(0, 42));
        assert!(w.is_duplicate(SQS_DEDUP_WINDOW_MS - 1, 42));
        assert!(
            !w.is_duplicate(SQS_DEDUP_WINDOW_MS, 42),
            "the window passed"
        );
    }
}
