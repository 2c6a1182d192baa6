//! The idempotent consumer's dedup store.
//!
//! A consumer that may see a message twice (a redelivery after a crash, a
//! producer's retry written twice) can still apply its effect once: it keeps
//! the ids of the messages it processed *in the same database as the effect*
//! and writes both in one transaction. "Is `m42` in the store?" then answers
//! "was `m42`'s effect applied?", exactly, even across a crash, because there
//! is no moment at which one is written and the other is not. (Storing the id
//! anywhere else, e.g. in the consumer's memory or after the effect, reopens
//! the window the store exists to close.)
//!
//! In the simulation the downstream database is the world's effect table, so
//! the world owns one store per *stream of work*: per consumer group on the
//! log broker and per queue on the queue broker (consumers sharing work share
//! a store). The world checks and writes it in the same step as the effect.
//!
//! **Bound.** A store remembers at most `ids_max` ids (the consumer's
//! `dedup_ids_max`, at most [`IDS_MAX`]). Past it the *oldest* id is evicted
//! first. A message whose id was evicted and that comes back again is
//! processed again: a duplicate effect, which the checker reports. That is the
//! real trade-off: pick `ids_max` larger than the number of messages that can
//! be processed between the first delivery and the last possible redelivery.

use super::ClientOutput;
use crate::broker::{KeyId, MsgId};
use crate::history::Entry;
use std::collections::{BTreeSet, VecDeque};

/// Upper bound on one store's `ids_max`.
pub const IDS_MAX: u64 = 10_000_000;

/// Which stream of work a store belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StoreId {
    /// A consumer group of the log broker, by index.
    Group(u16),
    /// A queue of the queue broker, by index.
    Queue(u32),
}

#[derive(Clone, Debug)]
/// One dedup store: the ids of the messages whose effect was applied,
/// bounded, oldest evicted first.
pub struct DedupStore {
    /// Ids it remembers at most (`dedup_ids_max`).
    ids_max: u64,
    /// The ids remembered. Bound: `ids_max`.
    ids: BTreeSet<MsgId>,
    /// The same ids, oldest first, for eviction.
    order: VecDeque<MsgId>,
    /// Ids evicted so far (shown in summaries and tests).
    pub evicted: u64,
}

impl DedupStore {
    /// An empty store that remembers up to `ids_max` ids.
    pub fn new(ids_max: u64) -> DedupStore {
        assert!((1..=IDS_MAX).contains(&ids_max), "validated dedup bound");
        DedupStore {
            ids_max,
            ids: BTreeSet::new(),
            order: VecDeque::new(),
            evicted: 0,
        }
    }

    /// One transaction with the effect: true (and the id is now stored) when
    /// `msg` was not processed before; false when it was, so the caller must
    /// skip the effect.
    pub fn first_time(&mut self, msg: MsgId) -> bool {
        if !self.ids.insert(msg) {
            return false;
        }
        self.order.push_back(msg);
        if self.order.len() as u64 > self.ids_max {
            let old = self
                .order
                .pop_front()
                .expect("over the bound, so not empty");
            self.ids.remove(&old);
            self.evicted += 1;
        }
        assert_eq!(self.ids.len(), self.order.len(), "set and order agree");
        assert!(self.ids.len() as u64 <= self.ids_max, "store within bound");
        true
    }

    /// Ids remembered now.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether it remembers no id.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A consumer's dedup setting: its store and the store's bound.
pub type DedupConfig = Option<(StoreId, u64)>;

/// What a consumer emits when its processing succeeded: the effect and the
/// `ok` history entry, or, with a dedup store, one request to the world to
/// do both only if `msg` is new to the store (see [`ClientOutput::EffectOnce`]).
pub fn push_effect(
    dedup: DedupConfig,
    msg: MsgId,
    key: Option<KeyId>,
    ok: Entry,
    out: &mut Vec<ClientOutput>,
) {
    match dedup {
        None => {
            out.push(ClientOutput::Effect { key });
            out.push(ClientOutput::Record(ok));
        }
        Some((store, ids_max)) => out.push(ClientOutput::EffectOnce {
            store,
            ids_max,
            msg,
            key,
            ok,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_evicts_the_oldest() {
        let mut s = DedupStore::new(2);
        assert!(s.first_time(1));
        assert!(!s.first_time(1));
        assert!(s.first_time(2));
        assert!(s.first_time(3)); // evicts 1
        assert_eq!(s.evicted, 1);
        assert!(s.first_time(1), "past the bound an old id is new again");
        assert!(!s.first_time(3));
    }
}
