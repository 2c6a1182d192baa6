//! The event queue: pending events grouped by the virtual millisecond they
//! run at, earliest `(time, seq)` first.
//!
//! Why not a binary heap: an event is ~120 bytes (it carries a request or a
//! delivery), and a heap moves an element at every level of each push and
//! pop. The profile of the bench workloads (callgrind) had `BinaryHeap::pop`
//! as the largest single cost, a quarter of all instructions. Most events
//! run one or two milliseconds after they are scheduled (link latency), so
//! a millisecond holds many events and the number of distinct pending
//! milliseconds is small: one ordered map lookup finds the bucket, and an
//! event is moved once in and once out.
//!
//! The pop order is exactly the heap's: `(at_ms, seq)` pairs are unique, and
//! both structures yield them in increasing order, so no history changes.

use super::clock::Scheduled;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, VecDeque};

/// Emptied buckets kept for reuse: a busy millisecond's bucket is refilled
/// without allocating. More spares than this are dropped.
const SPARE_BUCKETS_MAX: usize = 64;

/// Pending events by virtual millisecond (see the module doc).
#[derive(Clone, Debug, Default)]
pub(super) struct EventQueue {
    /// Every pending event, by the millisecond it runs at; each bucket holds
    /// its events in increasing `seq` and is never empty.
    buckets: BTreeMap<u64, VecDeque<Scheduled>>,
    /// Emptied buckets waiting for reuse (bound: [`SPARE_BUCKETS_MAX`]).
    spare: Vec<VecDeque<Scheduled>>,
    /// Events in all buckets together, so `len` needs no walk.
    len: usize,
}

impl EventQueue {
    /// Adds an event. `(at_ms, seq)` must not be pending already.
    pub(super) fn push(&mut self, s: Scheduled) {
        let bucket = match self.buckets.entry(s.at_ms) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => v.insert(self.spare.pop().unwrap_or_default()),
        };
        if bucket.back().is_none_or(|last| last.seq < s.seq) {
            // The usual case: sequence numbers grow as events are scheduled.
            bucket.push_back(s);
        } else {
            // A setting change scheduled ahead (its seq is in the late band)
            // already sits in this millisecond: keep the bucket sorted.
            let i = bucket.partition_point(|e| e.seq < s.seq);
            assert!(
                bucket.get(i).is_none_or(|e| e.seq != s.seq),
                "an event's (time, seq) is unique"
            );
            bucket.insert(i, s);
        }
        self.len += 1;
    }

    /// The earliest pending event, left in the queue.
    pub(super) fn peek(&self) -> Option<&Scheduled> {
        let (_, bucket) = self.buckets.first_key_value()?;
        Some(bucket.front().expect("buckets are never empty"))
    }

    /// Removes and returns the earliest pending event.
    pub(super) fn pop(&mut self) -> Option<Scheduled> {
        let mut first = self.buckets.first_entry()?;
        let s = first
            .get_mut()
            .pop_front()
            .expect("buckets are never empty");
        if first.get().is_empty() {
            let bucket = first.remove();
            if self.spare.len() < SPARE_BUCKETS_MAX {
                self.spare.push(bucket);
            }
        }
        self.len -= 1;
        Some(s)
    }

    /// How many events are pending.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Every pending event, earliest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Scheduled> {
        self.buckets.values().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::super::clock::{Ev, Scheduled};
    use super::EventQueue;
    use std::collections::BinaryHeap;

    fn ev(at_ms: u64, seq: u64) -> Scheduled {
        Scheduled {
            at_ms,
            seq,
            ev: Ev::Fault(seq as u32),
        }
    }

    /// The queue pops exactly what the binary heap it replaced popped, for
    /// interleaved pushes and pops, including late-band seqs pushed first.
    #[test]
    fn pops_in_the_heaps_order() {
        let mut queue = EventQueue::default();
        let mut heap = BinaryHeap::new();
        let mut seq = 0;
        let mut now = 0;
        for round in 0..2_000u64 {
            for k in 0..(round % 5) {
                let at = now + (round * 7 + k * 13) % 11;
                let s = if (round + k) % 97 == 0 {
                    ev(at, (1 << 62) + round)
                } else {
                    seq += 1;
                    ev(at, seq)
                };
                queue.push(s);
                heap.push(s);
            }
            for _ in 0..(round % 3) {
                let (a, b) = (queue.pop(), heap.pop());
                assert_eq!(a.map(|s| (s.at_ms, s.seq)), b.map(|s| (s.at_ms, s.seq)));
                if let Some(s) = a {
                    now = s.at_ms;
                }
            }
            assert_eq!(queue.len(), heap.len());
            assert_eq!(queue.peek().map(|s| s.seq), heap.peek().map(|s| s.seq));
        }
        let mut listed: Vec<u64> = queue.iter().map(|s| s.seq).collect();
        let mut held: Vec<u64> = heap.iter().map(|s| s.seq).collect();
        listed.sort_unstable();
        held.sort_unstable();
        assert_eq!(listed, held);
        while let Some(b) = heap.pop() {
            assert_eq!(
                queue.pop().map(|s| (s.at_ms, s.seq)),
                Some((b.at_ms, b.seq))
            );
        }
        assert_eq!(queue.pop().map(|s| s.seq), None);
    }
}
