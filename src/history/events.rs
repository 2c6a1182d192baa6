//! Where the events live: fixed-size chunks instead of one growing `Vec`.
//!
//! A history of a 200k-message run holds about two million events of 104
//! bytes. In one `Vec` every doubling copies everything recorded so far; in
//! wasm, where the allocator cannot remap pages, that copy was ~9% of the
//! browser bench's time (node `--cpu-prof` of the bench workloads:
//! `__rust_realloc` under `History::push`). Here a full chunk is never moved:
//! the next event starts a new chunk of [`CHUNK_EVENTS`], so an append costs
//! the same at the first event and at the millionth.
//!
//! [`Events`] is the read view: indexing, `len`, `last`, and iterators from
//! any index, which is what the history's readers (the checkers, the page's
//! incremental scans) need of a slice.

use super::HistoryEvent;
use std::iter::{Chain, Flatten};
use std::ops::Index;

/// Events per chunk: a power of two, so an index splits with a shift and a
/// mask. 8,192 events of 104 bytes are about 850 KB per chunk.
pub const CHUNK_EVENTS: usize = 1 << 13;

/// The chunked store behind [`super::History`].
///
/// It may hold more events than the history shows: after a timeline
/// checkpoint's restore rewinds the history (see `History::rewind`), the
/// events past the visible `len` are the run's known future. Running on
/// over them checks each new event against the stored one and moves `len`
/// along, so a rewind and the replay after it copy no events.
#[derive(Clone, Debug, Default)]
pub(super) struct Chunks {
    /// Full chunks of [`CHUNK_EVENTS`] events each, oldest first; never
    /// written again (only dropped, when a fork forgets the future).
    full: Vec<Vec<HistoryEvent>>,
    /// The chunk being written: fewer than [`CHUNK_EVENTS`] events. The
    /// first grows like any `Vec` (a short history stays small); later ones
    /// are allocated at their full size once.
    tail: Vec<HistoryEvent>,
    /// How many of the stored events the history shows: all of them, but
    /// after a rewind.
    len: usize,
}

impl Chunks {
    /// Appends one event (inlined: the caller builds the event in place).
    /// Over a rewound stretch, the event must be the stored one (a replay of
    /// the same run); a different one drops the stored future first.
    #[inline]
    pub(super) fn push(&mut self, ev: HistoryEvent) {
        if self.len < self.stored() {
            let same = self.prefix(self.stored()).get(self.len) == Some(&ev);
            debug_assert!(same, "a rerun repeats its events exactly");
            if same {
                self.len += 1;
                return;
            }
            self.forget_future();
        }
        self.tail.push(ev);
        self.len += 1;
        if self.tail.len() == CHUNK_EVENTS {
            self.retire_tail();
        }
    }

    /// Moves the full tail to `full` and starts the next chunk at full size.
    #[cold]
    #[inline(never)]
    fn retire_tail(&mut self) {
        let next = Vec::with_capacity(CHUNK_EVENTS);
        self.full.push(std::mem::replace(&mut self.tail, next));
        assert_eq!(self.full.last().map(Vec::len), Some(CHUNK_EVENTS));
    }

    /// Every event stored, the known future included.
    fn stored(&self) -> usize {
        self.full.len() * CHUNK_EVENTS + self.tail.len()
    }

    /// Shows the first `len` stored events (see `History::rewind`).
    pub(super) fn set_len(&mut self, len: usize) {
        assert!(len <= self.stored(), "rewind to {len} of {}", self.stored());
        self.len = len;
    }

    /// Drops the stored events past the visible ones.
    pub(super) fn forget_future(&mut self) {
        let (k, r) = (self.len / CHUNK_EVENTS, self.len % CHUNK_EVENTS);
        if k < self.full.len() {
            self.tail = self.full.swap_remove(k);
            self.full.truncate(k);
        }
        self.tail.truncate(r);
        assert_eq!(self.stored(), self.len);
    }

    /// The read view of what the history shows.
    #[inline]
    pub(super) fn view(&self) -> Events<'_> {
        self.prefix(self.len)
    }

    /// The read view of the first `len` stored events.
    #[inline]
    fn prefix(&self, len: usize) -> Events<'_> {
        let (k, r) = (len / CHUNK_EVENTS, len % CHUNK_EVENTS);
        let tail = match self.full.get(k) {
            Some(chunk) => &chunk[..r],
            None => &self.tail[..r],
        };
        Events {
            full: &self.full[..k],
            tail,
        }
    }
}

/// Every event of a history, oldest first, indexed like a slice.
#[derive(Clone, Copy, Debug)]
pub struct Events<'a> {
    /// The full chunks.
    full: &'a [Vec<HistoryEvent>],
    /// The newest events, after them (fewer than a chunk).
    tail: &'a [HistoryEvent],
}

/// An iterator over [`Events`] (front to back, or back to front): the rest
/// of one chunk, the full chunks after it, then the tail.
pub type Iter<'a> = Chain<
    Chain<std::slice::Iter<'a, HistoryEvent>, Flatten<std::slice::Iter<'a, Vec<HistoryEvent>>>>,
    std::slice::Iter<'a, HistoryEvent>,
>;

impl<'a> Events<'a> {
    /// How many events there are.
    #[inline]
    pub fn len(&self) -> usize {
        self.full.len() * CHUNK_EVENTS + self.tail.len()
    }

    /// True before the first event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The newest event.
    #[inline]
    pub fn last(&self) -> Option<&'a HistoryEvent> {
        match self.tail.last() {
            Some(ev) => Some(ev),
            None => self.full.last().and_then(|c| c.last()),
        }
    }

    /// The event at `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&'a HistoryEvent> {
        match self.full.get(i / CHUNK_EVENTS) {
            Some(chunk) => chunk.get(i % CHUNK_EVENTS),
            None => self.tail.get(i - self.full.len() * CHUNK_EVENTS),
        }
    }

    /// Every event, oldest first.
    pub fn iter(&self) -> Iter<'a> {
        self.iter_from(0)
    }

    /// The events from index `from` on (none if `from` is `len`): what an
    /// incremental reader that has seen `from` events reads next. Panics if
    /// `from` is past the end, as `&slice[from..]` does.
    pub fn iter_from(&self, from: usize) -> Iter<'a> {
        assert!(from <= self.len(), "events from {from} of {}", self.len());
        let chunk = from / CHUNK_EVENTS;
        match self.full.get(chunk) {
            Some(c) => c[from % CHUNK_EVENTS..]
                .iter()
                .chain(self.full[chunk + 1..].iter().flatten())
                .chain(self.tail.iter()),
            None => []
                .iter()
                .chain([].iter().flatten())
                .chain(self.tail[from - self.full.len() * CHUNK_EVENTS..].iter()),
        }
    }
}

impl<'a> Index<usize> for Events<'a> {
    type Output = HistoryEvent;

    fn index(&self, i: usize) -> &HistoryEvent {
        match self.get(i) {
            Some(ev) => ev,
            None => panic!("event {i} of {}", self.len()),
        }
    }
}

impl<'a> IntoIterator for Events<'a> {
    type Item = &'a HistoryEvent;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Events<'a> {
    type Item = &'a HistoryEvent;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl PartialEq for Events<'_> {
    /// Same events in the same order (chunk boundaries are always the same).
    fn eq(&self, other: &Self) -> bool {
        self.full == other.full && self.tail == other.tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Entry, Proc};

    fn ev(time_ms: u64) -> HistoryEvent {
        HistoryEvent {
            time_ms,
            process: Proc::Client(0),
            entry: Entry::Crash,
        }
    }

    #[test]
    fn chunks_index_and_iterate_like_one_slice() {
        let n = 2 * CHUNK_EVENTS + 5;
        let mut c = Chunks::default();
        assert!(c.view().is_empty() && c.view().last().is_none());
        for t in 0..n as u64 {
            c.push(ev(t));
        }
        let v = c.view();
        assert_eq!(v.len(), n);
        assert_eq!((c.full.len(), c.tail.len()), (2, 5));
        for i in [0, 1, CHUNK_EVENTS - 1, CHUNK_EVENTS, n - 1] {
            assert_eq!(v[i].time_ms, i as u64);
            assert_eq!(v.get(i).map(|e| e.time_ms), Some(i as u64));
        }
        assert!(v.get(n).is_none());
        assert_eq!(v.last().map(|e| e.time_ms), Some(n as u64 - 1));
        for from in [0, 3, CHUNK_EVENTS, CHUNK_EVENTS + 1, 2 * CHUNK_EVENTS, n] {
            let times: Vec<u64> = v.iter_from(from).map(|e| e.time_ms).collect();
            assert_eq!(times, (from as u64..n as u64).collect::<Vec<_>>());
        }
        let back: Vec<u64> = v.iter().rev().take(7).map(|e| e.time_ms).collect();
        assert_eq!(back, (n as u64 - 7..n as u64).rev().collect::<Vec<_>>());
    }

    #[test]
    fn iterating_from_the_end_of_a_full_chunk_is_empty() {
        let mut c = Chunks::default();
        for t in 0..CHUNK_EVENTS as u64 {
            c.push(ev(t));
        }
        assert_eq!(c.view().iter_from(CHUNK_EVENTS).count(), 0);
        assert_eq!(c.view().iter().count(), CHUNK_EVENTS);
    }

    #[test]
    fn a_rewind_shows_a_prefix_and_a_replay_or_a_fork_goes_on_from_it() {
        let n = 2 * CHUNK_EVENTS + 5;
        let times = |c: &Chunks| c.view().iter().map(|e| e.time_ms).collect::<Vec<u64>>();
        for at in [
            0,
            7,
            CHUNK_EVENTS - 1,
            CHUNK_EVENTS,
            CHUNK_EVENTS + 3,
            n - 1,
            n,
        ] {
            let mut c = Chunks::default();
            for t in 0..n as u64 {
                c.push(ev(t));
            }
            c.set_len(at);
            assert_eq!(c.view().len(), at);
            assert_eq!(times(&c), (0..at as u64).collect::<Vec<_>>());
            // A replay of the same events shows them again, copying none.
            for t in at as u64..n as u64 {
                c.push(ev(t));
            }
            assert_eq!(times(&c), (0..n as u64).collect::<Vec<_>>(), "at {at}");
            // A fork drops what came after it.
            c.set_len(at);
            c.forget_future();
            assert_eq!(c.stored(), at);
            assert!(c.tail.len() < CHUNK_EVENTS, "the tail is never full");
            for t in at as u64..n as u64 {
                c.push(ev(t + 1));
            }
            let want: Vec<u64> = (0..at as u64).chain(at as u64 + 1..=n as u64).collect();
            assert_eq!(times(&c), want, "fork at {at}");
        }
    }
}
