//! What a partition keeps about transactions, and what it means for reads.
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

use super::{TxnTag, TXN_IDS_MAX};
use crate::broker::log::partition::StoredRecord;
use std::collections::BTreeMap;

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

    /// Whether the record at `offset` by `producer_id` belongs to a
    /// transaction that ended with an abort marker.
    pub fn is_aborted(&self, producer_id: u64, offset: u64) -> bool {
        let mut ranges = self.aborted.iter();
        ranges.any(|&(p, first, marker)| p == producer_id && first <= offset && offset < marker)
    }

    /// Transactions open in this partition (producer id, first offset).
    pub fn open(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.open.iter().map(|(p, o)| (*p, *o))
    }
}

/// A commit or abort marker: a control record, never a message.
pub(in crate::broker::log) fn is_marker(r: &StoredRecord) -> bool {
    r.txn.is_some_and(|t| t.marker.is_some())
}
