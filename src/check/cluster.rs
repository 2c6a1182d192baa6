//! The replication checker (issue 13): what a cluster run acknowledged,
//! committed and served, against what its replicas hold at quiescence.
//!
//! - **Lost.** A record a producer got a success answer for that is not
//!   in the leader's final log. The finding tells its chain from the
//!   run's notes: who acknowledged it (leader, epoch, `acks`), what
//!   happened to that broker (a crash, what the crash took), who led
//!   next and at which epoch, and which replica cut the record.
//! - **Duplicated.** A message at two offsets of the final log (what an
//!   idempotent producer must never cause).
//! - **Transactions** ([`super::cluster_txn`]): every transaction's
//!   records share its outcome (`not_atomic`), and no reader got a record
//!   of a transaction that did not commit (`aborted_read`).
//! - **Replica invariants**, at quiescence: every ISR member holds the
//!   leader's log below the high watermark, record for record
//!   (`diverged`); the committed prefix never moves back: a record once
//!   below the cluster's HW (the HW of a leader the controller can
//!   reach) is still at its offset (`hw_moved_back`); a
//!   record a consumer read is still at its offset (`read_vanished`).

#[cfg(not(target_arch = "wasm32"))]
pub use super::cluster_txn::TxnFact;
use crate::broker::cluster::{ClusterNote, PartitionIdx, Record, TruncateReason};
use crate::broker::MsgId;
use crate::history::msg_name;
use crate::node::NodeId;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// A success answer a producer received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAck {
    /// When it arrived.
    pub at_ms: u64,
    /// The message.
    pub msg: MsgId,
    /// Its partition.
    pub partition: PartitionIdx,
    /// The offset the answer named.
    pub offset: u64,
}

/// One partition at quiescence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalPartition {
    /// Its leader, if it has one.
    pub leader: Option<NodeId>,
    /// The leader's high watermark.
    pub hw: u64,
    /// The leader's log.
    pub log: Vec<Record>,
    /// Every other member of the leader's ISR, with its log.
    pub isr_logs: Vec<(NodeId, Vec<Record>)>,
}

/// Everything the checker reads of one cluster run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterFacts {
    /// The cluster's notes, timed, in order.
    pub notes: Vec<(u64, ClusterNote)>,
    /// Broker faults, timed: (time, broker, what: `crash`, `restart`,
    /// `isolate`, `isolate_from_brokers`, `heal`, `slow_follower`).
    pub faults: Vec<(u64, NodeId, &'static str)>,
    /// Success answers producers received.
    pub acks: Vec<ClientAck>,
    /// Records consumers read: (partition, offset, message).
    pub reads: Vec<(PartitionIdx, u64, MsgId)>,
    /// The first message committed at each (partition, offset): below
    /// some leader's HW at some moment.
    pub committed: BTreeMap<(PartitionIdx, u64), MsgId>,
    /// Every partition at quiescence, by index.
    pub partitions: Vec<FinalPartition>,
    /// Transactions the transactional producers ended, in order (native
    /// only: the page's build runs no transactional producer).
    #[cfg(not(target_arch = "wasm32"))]
    pub txns: Vec<TxnFact>,
}

/// What kind of finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FindingKind {
    /// An acknowledged record is gone.
    Lost,
    /// A message at two offsets.
    Duplicated,
    /// An ISR member's log differs from the leader's below the HW.
    Diverged,
    /// A committed record is no longer at its offset.
    HwMovedBack,
    /// A record a consumer read is no longer at its offset.
    ReadVanished,
    /// A transaction's records do not all share its outcome (see
    /// [`super::cluster_txn`]).
    NotAtomic,
    /// A reader got a record of a transaction that did not commit.
    AbortedRead,
}

impl FindingKind {
    /// Its name in summaries.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Lost => "lost",
            FindingKind::Duplicated => "duplicated",
            FindingKind::Diverged => "diverged",
            FindingKind::HwMovedBack => "hw_moved_back",
            FindingKind::ReadVanished => "read_vanished",
            FindingKind::NotAtomic => "not_atomic",
            FindingKind::AbortedRead => "aborted_read",
        }
    }
}

/// One finding, with its story.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What kind.
    pub kind: FindingKind,
    /// The message it is about, if one.
    pub msg: Option<MsgId>,
    /// What happened, in words.
    pub story: String,
}

/// Findings above this many are counted, not told.
const FINDINGS_TOLD_MAX: usize = 50;

/// The verdict of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterVerdict {
    /// Findings per kind.
    pub counts: BTreeMap<&'static str, u64>,
    /// The first findings, with their stories.
    pub findings: Vec<Finding>,
}

impl ClusterVerdict {
    /// How many findings of `kind`.
    pub fn count(&self, kind: FindingKind) -> u64 {
        self.counts.get(kind.name()).copied().unwrap_or(0)
    }

    pub(super) fn add(
        &mut self,
        kind: FindingKind,
        msg: Option<MsgId>,
        story: impl FnOnce() -> String,
    ) {
        *self.counts.entry(kind.name()).or_insert(0) += 1;
        if self.findings.len() < FINDINGS_TOLD_MAX {
            let story = story();
            self.findings.push(Finding { kind, msg, story });
        }
    }
}

/// Judges one run.
pub fn check(facts: &ClusterFacts) -> ClusterVerdict {
    let mut v = ClusterVerdict::default();
    lost(facts, &mut v);
    duplicated(facts, &mut v);
    diverged(facts, &mut v);
    moved_back(facts, &mut v);
    vanished_reads(facts, &mut v);
    // The page's build runs no transactional producer (see
    // `LogProducerSpec::transactional`): there are no transactions to judge.
    #[cfg(not(target_arch = "wasm32"))]
    super::cluster_txn::check_txns(facts, &mut v);
    v
}

/// The message at `offset` of a final log, if any.
fn at(log: &[Record], offset: u64) -> Option<MsgId> {
    log.get(usize::try_from(offset).ok()?).map(|r| r.msg)
}

fn lost(facts: &ClusterFacts, v: &mut ClusterVerdict) {
    let mut held: BTreeSet<(PartitionIdx, MsgId)> = BTreeSet::new();
    for (p, fp) in facts.partitions.iter().enumerate() {
        held.extend(fp.log.iter().map(|r| (p as PartitionIdx, r.msg)));
    }
    let mut told = BTreeSet::new();
    for a in &facts.acks {
        if held.contains(&(a.partition, a.msg)) || !told.insert(a.msg) {
            continue;
        }
        v.add(FindingKind::Lost, Some(a.msg), || chain(facts, a));
    }
}

fn duplicated(facts: &ClusterFacts, v: &mut ClusterVerdict) {
    for fp in &facts.partitions {
        let mut seen = BTreeMap::new();
        for r in fp.log.iter().filter(|r| !r.kind.is_marker()) {
            if let Some(first) = seen.insert(r.msg, r.offset) {
                let story = || {
                    let m = msg_name(r.msg);
                    format!(
                        "{m} is in the log twice, at offsets {first} and {}",
                        r.offset
                    )
                };
                v.add(FindingKind::Duplicated, Some(r.msg), story);
            }
        }
    }
}

fn diverged(facts: &ClusterFacts, v: &mut ClusterVerdict) {
    for (p, fp) in facts.partitions.iter().enumerate() {
        let Some(leader) = fp.leader else { continue };
        for (node, log) in &fp.isr_logs {
            let differs = (0..fp.hw).find(|&o| {
                let (a, b) = (fp.log.get(o as usize), log.get(o as usize));
                a.map(|r| (r.msg, r.epoch)) != b.map(|r| (r.msg, r.epoch))
            });
            if let Some(o) = differs {
                let story = || {
                    format!(
                        "partition {p}: in-sync replica {node} differs from leader {leader} at offset {o}, below the high watermark {}",
                        fp.hw
                    )
                };
                v.add(FindingKind::Diverged, None, story);
            }
        }
    }
}

fn moved_back(facts: &ClusterFacts, v: &mut ClusterVerdict) {
    for (&(p, o), &msg) in &facts.committed {
        let Some(fp) = facts.partitions.get(usize::from(p)) else {
            continue;
        };
        let now = at(&fp.log, o);
        if now != Some(msg) {
            let story = || {
                let was = msg_name(msg);
                let now = now.map_or("nothing".to_string(), msg_name);
                format!("partition {p} offset {o} was committed as {was} (below the high watermark); it now holds {now}")
            };
            v.add(FindingKind::HwMovedBack, Some(msg), story);
        }
    }
}

fn vanished_reads(facts: &ClusterFacts, v: &mut ClusterVerdict) {
    let mut told = BTreeSet::new();
    for &(p, o, msg) in &facts.reads {
        let Some(fp) = facts.partitions.get(usize::from(p)) else {
            continue;
        };
        if at(&fp.log, o) != Some(msg) && told.insert((p, o)) {
            let story = || {
                format!(
                    "a consumer read {} at partition {p} offset {o}; it is gone from there",
                    msg_name(msg)
                )
            };
            v.add(FindingKind::ReadVanished, Some(msg), story);
        }
    }
}

/// The story of a lost record: its acknowledgement, then every fault,
/// election, crash loss and truncation of its partition that followed.
fn chain(facts: &ClusterFacts, a: &ClientAck) -> String {
    let m = msg_name(a.msg);
    let mut s = String::new();
    let acked = facts.notes.iter().find_map(|(_, n)| match n {
        ClusterNote::Acked {
            node,
            epoch,
            acks,
            msg,
            partition,
            ..
        } if *msg == a.msg && *partition == a.partition => Some((*node, *epoch, *acks)),
        _ => None,
    });
    match acked {
        Some((node, epoch, acks)) => {
            let acks = serde_json::to_string(&acks).unwrap_or_default();
            let _ = write!(
                s,
                "{m} was acknowledged by {node} (leader, epoch {epoch}, acks={}) at offset {}",
                acks.trim_matches('"'),
                a.offset
            );
        }
        None => {
            let _ = write!(s, "{m} was acknowledged at offset {}", a.offset);
        }
    }
    let leader = acked.map(|x| x.0);
    let faults = (facts.faults.iter()).filter(|(_, node, _)| Some(*node) == leader);
    let mut faults = faults.map(|(t, node, what)| (*t, format!("{node} {}", past(what))));
    let notes = facts.notes.iter().filter(|(t, _)| *t >= a.at_ms);
    let mut notes = notes.filter_map(|(t, n)| Some((*t, note_part(n, a)?)));
    // Both lists were written in time order as the run went: merge them,
    // faults first within one millisecond (no sort to ship in the page).
    let (mut fault, mut note) = (faults.next(), notes.next());
    loop {
        let take_note = match (&fault, &note) {
            (Some(f), Some(n)) => n.0 < f.0,
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (None, None) => return s,
        };
        let (t, part) = if take_note {
            std::mem::replace(&mut note, notes.next())
        } else {
            std::mem::replace(&mut fault, faults.next())
        }
        .expect("chosen because it is there");
        let _ = write!(s, "; {part} at {t} ms");
    }
}

/// A note's part in a lost record's chain, if it has one.
fn note_part(n: &ClusterNote, a: &ClientAck) -> Option<String> {
    let m = msg_name(a.msg);
    match n {
        ClusterNote::LostInCrash {
            node,
            partition,
            removed,
        } if *partition == a.partition && removed.iter().any(|r| r.1 == a.msg) => {
            Some(format!("{node}'s crash lost {m} (not on its disk yet)"))
        }
        ClusterNote::Elected {
            partition,
            leader,
            epoch,
            unclean,
            ..
        } if *partition == a.partition => Some(match leader {
            Some(l) if *unclean => {
                format!("{l} became leader at epoch {epoch} (unclean: it was not in sync)")
            }
            Some(l) => format!("{l} became leader at epoch {epoch}"),
            None => format!("partition {partition} went offline at epoch {epoch}"),
        }),
        ClusterNote::Truncated {
            node,
            partition,
            reason,
            removed,
            ..
        } if *partition == a.partition && removed.iter().any(|r| r.1 == a.msg) => {
            let why = match reason {
                TruncateReason::LeaderEpoch => "by the leader's epoch",
                TruncateReason::HighWatermark => "to its high watermark",
                TruncateReason::OutOfRange => "to the leader's log end",
            };
            Some(format!("{node} truncated {m} {why}"))
        }
        _ => None,
    }
}

/// A fault's name as a past event.
fn past(what: &str) -> &'static str {
    match what {
        "crash" => "crashed",
        "restart" => "restarted",
        "isolate" => "was isolated",
        "isolate_from_brokers" => "was cut off from the other brokers",
        "heal" => "was healed",
        _ => "was slowed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Acks;

    /// A lost record's chain lists faults and notes by time, a fault
    /// before a note of the same millisecond.
    #[test]
    fn a_chain_tells_faults_and_notes_in_time_order() {
        let b1 = NodeId(1);
        let msg = 41;
        let acked = ClusterNote::Acked {
            node: b1,
            to: 0,
            partition: 0,
            offset: 0,
            epoch: 2,
            msg,
            acks: Acks::One,
        };
        let lost = ClusterNote::LostInCrash {
            node: b1,
            partition: 0,
            removed: vec![(0, msg)],
        };
        let facts = ClusterFacts {
            notes: vec![(1, acked), (5, lost)],
            faults: vec![(5, b1, "crash"), (9, b1, "restart")],
            acks: vec![ClientAck {
                at_ms: 2,
                msg,
                partition: 0,
                offset: 0,
            }],
            partitions: vec![FinalPartition {
                leader: Some(NodeId(2)),
                hw: 0,
                log: Vec::new(),
                isr_logs: Vec::new(),
            }],
            ..ClusterFacts::default()
        };
        let verdict = check(&facts);
        assert_eq!(verdict.count(FindingKind::Lost), 1);
        let m = msg_name(msg);
        assert_eq!(
            verdict.findings[0].story,
            format!(
                "{m} was acknowledged by b1 (leader, epoch 2, acks=1) at offset 0; \
                 b1 crashed at 5 ms; b1's crash lost {m} (not on its disk yet) at 5 ms; \
                 b1 restarted at 9 ms"
            )
        );
    }
}
