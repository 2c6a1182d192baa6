//! A map from message ids to what a client remembers about each, for ids
//! that are mostly inserted in increasing order and mostly removed oldest
//! first: a producer's unconfirmed sends.
//!
//! Why not a `BTreeMap`: the profile of the bench workloads (callgrind) had
//! the producer's `pending` map at ~8% of all instructions, a B-tree insert
//! and remove per message, each shifting the values of a node. Here an
//! insert of a new highest id is a push at the back, a removal a binary
//! search and a tombstone, and tombstones at the front are popped. It
//! iterates in increasing id order, as the `BTreeMap` it replaces did, so
//! what a client does with it (the order of its history entries) is the same.

use crate::broker::MsgId;
use std::collections::VecDeque;

/// Ids in increasing order, each with its value or a tombstone (see the
/// module doc).
#[derive(Clone, Debug)]
pub struct IdMap<V> {
    /// Sorted by id, unique ids; `None` is a removed entry not yet popped.
    /// Bound: live entries plus tombstones, compacted when the tombstones
    /// outnumber the live entries (see [`IdMap::remove`]).
    slots: VecDeque<(MsgId, Option<V>)>,
    /// Live entries (slots holding `Some`).
    len: usize,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap {
            slots: VecDeque::new(),
            len: 0,
        }
    }
}

/// Tombstones tolerated below this many slots before a compaction.
const TOMBSTONES_SLACK: usize = 64;

impl<V> IdMap<V> {
    /// Live entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry is live.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn find(&self, id: MsgId) -> Result<usize, usize> {
        // Most lookups are for the oldest send (confirms come back in
        // order): the browser profile had the binary search at 3% of the
        // run before this shortcut.
        match self.slots.front() {
            Some((first, _)) if *first == id => Ok(0),
            _ => self.slots.binary_search_by_key(&id, |(k, _)| *k),
        }
    }

    /// Sets `id`'s value; returns the value it replaces, if any.
    pub fn insert(&mut self, id: MsgId, value: V) -> Option<V> {
        if self.slots.back().is_none_or(|(last, _)| *last < id) {
            self.slots.push_back((id, Some(value)));
            self.len += 1;
            return None;
        }
        match self.find(id) {
            Ok(i) => {
                let old = self.slots[i].1.replace(value);
                if old.is_none() {
                    self.len += 1;
                }
                old
            }
            Err(i) => {
                self.slots.insert(i, (id, Some(value)));
                self.len += 1;
                None
            }
        }
    }

    /// Whether `id` is live.
    pub fn contains_key(&self, id: MsgId) -> bool {
        self.get(id).is_some()
    }

    /// `id`'s value, if live.
    pub fn get(&self, id: MsgId) -> Option<&V> {
        let i = self.find(id).ok()?;
        self.slots[i].1.as_ref()
    }

    /// `id`'s value, if live, to change.
    pub fn get_mut(&mut self, id: MsgId) -> Option<&mut V> {
        let i = self.find(id).ok()?;
        self.slots[i].1.as_mut()
    }

    /// Removes `id`, returning its value if it was live.
    pub fn remove(&mut self, id: MsgId) -> Option<V> {
        let i = self.find(id).ok()?;
        let value = self.slots[i].1.take()?;
        self.len -= 1;
        while self.slots.front().is_some_and(|(_, v)| v.is_none()) {
            self.slots.pop_front();
        }
        if self.slots.len() > 2 * self.len + TOMBSTONES_SLACK {
            self.slots.retain(|(_, v)| v.is_some());
        }
        Some(value)
    }

    /// Live entries in increasing id order.
    pub fn iter(&self) -> impl Iterator<Item = (MsgId, &V)> {
        self.slots
            .iter()
            .filter_map(|(id, v)| v.as_ref().map(|v| (*id, v)))
    }

    /// Live ids in increasing order.
    pub fn keys(&self) -> impl Iterator<Item = MsgId> + '_ {
        self.iter().map(|(id, _)| id)
    }

    /// Live values in increasing id order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// Empties the map, yielding the live entries in increasing id order.
    pub fn take_all(&mut self) -> impl Iterator<Item = (MsgId, V)> {
        self.len = 0;
        std::mem::take(&mut self.slots)
            .into_iter()
            .filter_map(|(id, v)| v.map(|v| (id, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::IdMap;
    use std::collections::BTreeMap;

    /// The map behaves as the `BTreeMap` it replaces, for a mix of in-order
    /// and out-of-order inserts, removals anywhere, and re-inserts.
    #[test]
    fn behaves_as_a_btree_map() {
        let mut map = IdMap::default();
        let mut model = BTreeMap::new();
        let mut next = 0u64;
        for step in 0..20_000u64 {
            let pick = (step * 2_654_435_761) % 1_000;
            match pick % 7 {
                0..=2 => {
                    next += 1 + pick % 3;
                    assert_eq!(map.insert(next, step), model.insert(next, step));
                }
                3 => {
                    let id = next.saturating_sub(pick % 50);
                    assert_eq!(map.insert(id, step), model.insert(id, step));
                }
                4 | 5 => {
                    let id = next.saturating_sub(pick % 40);
                    assert_eq!(map.remove(id), model.remove(&id));
                }
                _ => {
                    let id = next.saturating_sub(pick % 20);
                    if let Some(v) = map.get_mut(id) {
                        *v += 1;
                    }
                    if let Some(v) = model.get_mut(&id) {
                        *v += 1;
                    }
                    assert_eq!(map.contains_key(id), model.contains_key(&id));
                }
            }
            assert_eq!(map.len(), model.len());
            assert!(map.slots.len() <= 2 * map.len() + super::TOMBSTONES_SLACK + 1);
        }
        let listed: Vec<(u64, u64)> = map.iter().map(|(k, v)| (k, *v)).collect();
        let expected: Vec<(u64, u64)> = model.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(listed, expected);
        assert!(map.keys().eq(model.keys().copied()));
        assert_eq!(map.take_all().collect::<Vec<_>>(), expected);
        assert!(map.is_empty());
        assert_eq!(map.iter().count(), 0);
    }
}
