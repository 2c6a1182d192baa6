//! The cluster's transactional checks: what each transaction's producer
//! heard against what the final logs make visible, and what readers read.
//!
//! A transactional record is **visible** when its partition's final log
//! holds it followed by the commit marker of its transaction (same
//! producer id and producer epoch). Then:
//!
//! - **not atomic**: a transaction whose records do not all share one
//!   fate: the producer heard "committed" and some record is not visible
//!   (a committed record lost, or its marker never written), heard
//!   "aborted" and some record is visible, or never heard and only some
//!   are visible;
//! - **aborted read**: a reader got a transactional record whose
//!   transaction did not commit in the final log (aborted, or with no
//!   marker at all), or whose producer heard it abort: Jepsen's G1a (a
//!   `read_uncommitted` reader does this by design, so the transactional
//!   guarantee needs `read_committed` readers).
//!
//! Lost acknowledged records, duplicates and vanished reads are the
//! replication checks' (see [`super::cluster`]), for transactional
//! records as for any.

use super::cluster::{ClusterFacts, ClusterVerdict, FindingKind};
use crate::broker::cluster::{PartitionIdx, Record, RecordKind};
use crate::broker::MsgId;
use crate::history::msg_name;
use std::collections::BTreeMap;

/// One transaction a transactional producer ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnFact {
    /// Its producer's `transactional.id`.
    pub transactional_id: String,
    /// When it ended (`EndTxn`).
    pub at_ms: u64,
    /// Its producer id.
    pub producer_id: u64,
    /// Its producer epoch (the one its records and markers carry).
    pub producer_epoch: u16,
    /// Its records: acknowledged, or given up (they may have landed).
    pub records: Vec<(PartitionIdx, MsgId)>,
    /// What the producer heard: commit (true), abort, or nothing (it was
    /// fenced first).
    pub committed: Option<bool>,
}

/// Each partition's transactions' markers in the final logs:
/// (partition, producer id, producer epoch) → commit.
type Outcomes = BTreeMap<(PartitionIdx, u64, u16), bool>;

fn outcomes(facts: &ClusterFacts) -> Outcomes {
    let mut out = Outcomes::new();
    for (p, fp) in facts.partitions.iter().enumerate() {
        for r in fp.log.iter().filter(|r| r.kind.is_marker()) {
            let Some(i) = r.idem else { continue };
            let key = (p as PartitionIdx, i.producer_id, i.producer_epoch);
            out.entry(key).or_insert(r.kind == RecordKind::Commit);
        }
    }
    out
}

/// The outcome in the final log of transactional record `r` of
/// `partition`: commit, abort, or no marker.
fn fate(outcomes: &Outcomes, partition: PartitionIdx, r: &Record) -> Option<bool> {
    let i = r.idem?;
    outcomes
        .get(&(partition, i.producer_id, i.producer_epoch))
        .copied()
}

/// Judges the transactions of a run (none without transactional
/// producers).
pub fn check_txns(facts: &ClusterFacts, v: &mut ClusterVerdict) {
    if facts.txns.is_empty() {
        return;
    }
    let outcomes = outcomes(facts);
    // Each transactional message's fate in the final logs, by message.
    let mut fates: BTreeMap<MsgId, Option<bool>> = BTreeMap::new();
    for (p, fp) in facts.partitions.iter().enumerate() {
        for r in fp.log.iter().filter(|r| r.kind == RecordKind::Txn) {
            let f = fate(&outcomes, p as PartitionIdx, r);
            fates.entry(r.msg).or_insert(f);
        }
    }
    for t in &facts.txns {
        let shown: Vec<MsgId> = (t.records.iter())
            .filter(|(_, m)| fates.get(m) == Some(&Some(true)))
            .map(|(_, m)| *m)
            .collect();
        let (n, k) = (t.records.len(), shown.len());
        let atomic = match t.committed {
            Some(true) => k == n,
            Some(false) => k == 0,
            None => k == 0 || k == n,
        };
        if !atomic {
            v.add(
                FindingKind::NotAtomic,
                t.records.first().map(|r| r.1),
                || not_atomic_story(t, &shown),
            );
        }
    }
    aborted_reads(facts, &outcomes, v);
}

fn not_atomic_story(t: &TxnFact, shown: &[MsgId]) -> String {
    let heard = match t.committed {
        Some(true) => "committed",
        Some(false) => "aborted",
        None => "fenced before it ended",
    };
    let names = |visible: bool| {
        let m = t.records.iter().filter(|r| shown.contains(&r.1) == visible);
        m.map(|r| format!("{} (p{})", msg_name(r.1), r.0))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "the transaction of {} (producer id {}, epoch {}) ended at {} ms, {heard}; visible: [{}]; not visible: [{}]",
        t.transactional_id,
        t.producer_id,
        t.producer_epoch,
        t.at_ms,
        names(true),
        names(false)
    )
}

fn aborted_reads(facts: &ClusterFacts, outcomes: &Outcomes, v: &mut ClusterVerdict) {
    let aborted: std::collections::BTreeSet<MsgId> = (facts.txns.iter())
        .filter(|t| t.committed == Some(false))
        .flat_map(|t| t.records.iter().map(|r| r.1))
        .collect();
    let heard_abort = |msg: MsgId| aborted.contains(&msg);
    for &(p, o, msg) in &facts.reads {
        let Some(fp) = facts.partitions.get(usize::from(p)) else {
            continue;
        };
        let r = fp.log.get(usize::try_from(o).unwrap_or(usize::MAX));
        let Some(r) = r.filter(|r| r.msg == msg && r.kind == RecordKind::Txn) else {
            continue; // not a transactional record (a vanished read is told apart)
        };
        let fate = fate(outcomes, p, r);
        if fate == Some(true) && !heard_abort(msg) {
            continue;
        }
        let why = match fate {
            Some(false) => "its transaction aborted",
            None => "its transaction has no marker",
            Some(true) => "its producer heard its transaction abort",
        };
        v.add(FindingKind::AbortedRead, Some(msg), || {
            format!(
                "a reader got {} at partition {p} offset {o}, but {why}",
                msg_name(msg)
            )
        });
    }
}
