//! A map by message id whose copies share what they have in common.
//!
//! The live checker keeps facts about every message of a run (600,000 in
//! a minute at 10,000 msgs/s), and the timeline keeps a copy of the
//! checker every few virtual seconds (`app::session::checkpoints`). A
//! plain map copied whole would cost its full size at every checkpoint
//! (~60 bytes per history event), so 64 MiB would hold two of them.
//!
//! [`SharedMap`] cuts the id space into ranges of [`CHUNK_IDS`] ids, each
//! range a small map behind an `Rc`. A copy copies only the list of
//! ranges and shares every range. The first change to a shared range
//! copies that range alone (`Rc::make_mut`), and the meter counts the copy
//! ([`crate::meter::note_copied_on_write`]). A message's facts change while
//! it is in flight, a few seconds at most, so the ranges of old ids are
//! never copied again: a copy costs about the ranges of the messages in
//! flight, not the whole run.
//!
//! Ids need not be dense: a range holds only the ids present in it, so a
//! history with scattered ids costs what it did with one plain map, plus a
//! range entry per id at worst.

use crate::broker::MsgId;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Message ids per shared range: a change copies at most this many
/// entries. Small keeps that copy cheap; large keeps the list of ranges
/// (what a copy copies) short: 600,000 ids make ~2,300 ranges.
pub(super) const CHUNK_IDS: MsgId = 256;

/// A map from message id to `V` that shares its ranges between copies (see
/// the module notes). Iterates in id order, as a `BTreeMap` does.
#[derive(Clone, Debug)]
pub(super) struct SharedMap<V> {
    /// Each range's first id / [`CHUNK_IDS`] → the entries of its ids.
    /// A range is never empty. Bound: the ids in the map.
    chunks: BTreeMap<MsgId, Rc<BTreeMap<MsgId, V>>>,
}

impl<V> Default for SharedMap<V> {
    fn default() -> Self {
        SharedMap {
            chunks: BTreeMap::new(),
        }
    }
}

impl<V: Clone> SharedMap<V> {
    /// The entry of `id`, if any.
    pub(super) fn get(&self, id: MsgId) -> Option<&V> {
        self.chunks.get(&(id / CHUNK_IDS))?.get(&id)
    }

    /// The entry of `id` to change, made with `V::default()` if absent.
    pub(super) fn entry_or_default(&mut self, id: MsgId) -> &mut V
    where
        V: Default,
    {
        self.chunk_mut(id).entry(id).or_default()
    }

    /// Sets `id`'s entry, giving back the one it replaces.
    pub(super) fn insert(&mut self, id: MsgId, v: V) -> Option<V> {
        self.chunk_mut(id).insert(id, v)
    }

    /// Every entry in id order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (MsgId, &V)> {
        self.chunks
            .values()
            .flat_map(|c| c.iter().map(|(&id, v)| (id, v)))
    }

    /// The range of `id`, unshared (copied if a copy of the map holds it
    /// too), created if absent.
    fn chunk_mut(&mut self, id: MsgId) -> &mut BTreeMap<MsgId, V> {
        let chunk = self.chunks.entry(id / CHUNK_IDS).or_default();
        if Rc::get_mut(chunk).is_none() {
            let (_, bytes) = crate::meter::weigh(|| Rc::make_mut(chunk).len());
            crate::meter::note_copied_on_write(bytes);
        }
        Rc::get_mut(chunk).expect("unshared above")
    }
}

impl<V: Clone> std::ops::Index<&MsgId> for SharedMap<V> {
    type Output = V;

    fn index(&self, id: &MsgId) -> &V {
        self.get(*id).expect("an id the map holds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_keeps_its_entries_while_the_original_changes() {
        let mut a: SharedMap<u32> = SharedMap::default();
        for id in [0, 5, CHUNK_IDS, 3 * CHUNK_IDS + 1, 1_000_000] {
            a.insert(id, 1);
        }
        let b = a.clone();
        *a.entry_or_default(5) += 1;
        *a.entry_or_default(7) += 1;
        assert_eq!(a.insert(CHUNK_IDS, 9), Some(1));
        assert_eq!(b.get(5), Some(&1));
        assert_eq!(b.get(7), None);
        assert_eq!(b[&CHUNK_IDS], 1);
        assert_eq!(a[&5], 2);
        assert_eq!(a[&7], 1);
        let ids: Vec<MsgId> = a.iter().map(|(id, _)| id).collect();
        assert_eq!(ids, [0, 5, 7, CHUNK_IDS, 3 * CHUNK_IDS + 1, 1_000_000]);
        // Untouched ranges are still the same allocation in both.
        let far = 1_000_000 / CHUNK_IDS;
        assert!(Rc::ptr_eq(&a.chunks[&far], &b.chunks[&far]));
        assert!(!Rc::ptr_eq(&a.chunks[&0], &b.chunks[&0]));
    }
}
