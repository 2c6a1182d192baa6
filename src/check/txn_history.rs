//! Feeds the transactional checker ([`super::txn`]) from a run's history,
//! and adds what it finds to the run's [`Summary`].
//!
//! What the history says, and where it comes from:
//!
//! - **writes**: a transactional client records `init_producer_id` (its
//!   producer id) and then `produced` for each record it wrote inside a
//!   transaction; the topic comes from the broker's `append` note;
//! - **markers**: the broker's `txn_marker` notes (commit or abort, with the
//!   offset the marker took);
//! - **reads**: every consumer's `read` (what its polls returned).
//!
//! A read of a transactional record is then judged as G1a (its transaction
//! aborted) or precommitted-read (it was not committed yet when read).
//!
//! An offset that held two different records (a record lost in a broker
//! crash, its offset used again) is left out: the checker could not tell
//! which of the two a read saw, and `inconsistent-offsets` already reports it.

use super::txn::{self, TxnFinding, TxnMarker, TxnRead, TxnWrite};
use super::{Finding, Summary, FINDINGS_PER_KIND_MAX};
use crate::broker::log::{LogNote, PartitionId, TopicId};
use crate::broker::{ClientId, MsgId, Note};
use crate::history::{msg_name, Entry, History, LogEntry, Proc};
use std::collections::BTreeMap;

/// (topic, partition, offset).
type Place = (TopicId, PartitionId, u64);

#[derive(Default)]
struct Gathered {
    topic_of: BTreeMap<MsgId, TopicId>,
    /// Each transactional client's current producer id.
    producer_of: BTreeMap<ClientId, u64>,
    /// (client, msg, partition, offset, time) of each transactional write.
    produced: Vec<(ClientId, MsgId, PartitionId, u64, u64)>,
    markers: Vec<TxnMarker>,
    /// (reader, msg, partition, offset, time).
    reads: Vec<(ClientId, MsgId, PartitionId, u64, u64)>,
    /// Every message appended at each place.
    held: BTreeMap<Place, Vec<MsgId>>,
}

fn gather(history: &History) -> Gathered {
    let mut g = Gathered::default();
    for ev in history.events() {
        let t = ev.time_ms;
        match (ev.process, ev.entry) {
            (Proc::Client(c), Entry::Log(LogEntry::ProducerId { producer_id, .. })) => {
                g.producer_of.insert(c, producer_id);
            }
            (
                Proc::Client(c),
                Entry::Log(LogEntry::Produced {
                    msg,
                    partition,
                    offset,
                }),
            ) if g.producer_of.contains_key(&c) => {
                g.produced.push((c, msg, partition, offset, t));
            }
            (
                Proc::Client(c),
                Entry::Log(LogEntry::Read {
                    msg,
                    partition,
                    offset,
                    ..
                }),
            ) => {
                g.reads.push((c, msg, partition, offset, t));
            }
            (Proc::Broker, Entry::Broker(Note::Log(n))) => gather_note(&mut g, t, n),
            _ => {}
        }
    }
    g
}

fn gather_note(g: &mut Gathered, t: u64, n: LogNote) {
    match n {
        LogNote::Appended {
            msg,
            topic,
            partition,
            offset,
        } => {
            g.topic_of.entry(msg).or_insert(topic);
            let held = g.held.entry((topic, partition, offset)).or_default();
            if !held.contains(&msg) {
                held.push(msg);
            }
        }
        _ => g.markers.extend(TxnMarker::from_note(n, t)),
    }
}

/// The writes, markers and reads [`txn::check`] needs, from the history.
pub fn inputs(history: &History) -> (Vec<TxnWrite>, Vec<TxnMarker>, Vec<TxnRead>) {
    let g = gather(history);
    let single = |p: &Place| g.held.get(p).is_none_or(|m| m.len() == 1);
    let writes = writes(&g, true);
    let mut reads = Vec::new();
    for &(reader, msg, partition, offset, time_ms) in &g.reads {
        let Some(&topic) = g.topic_of.get(&msg) else {
            continue;
        };
        if single(&(topic, partition, offset)) {
            reads.push(TxnRead {
                reader,
                msg,
                topic,
                partition,
                offset,
                time_ms,
            });
        }
    }
    (writes, g.markers, reads)
}

/// Every transactional write with its topic. With `only_single`, not those
/// at an offset that held two records (see the module notes); without it,
/// not those whose offset a later record took (the write was lost in a
/// crash, so its transaction cannot have delivered it).
fn writes(g: &Gathered, only_single: bool) -> Vec<TxnWrite> {
    let single = |p: &Place| g.held.get(p).is_none_or(|m| m.len() == 1);
    let survived = |p: &Place, msg: MsgId| g.held.get(p).is_none_or(|m| m.last() == Some(&msg));
    let mut writes = Vec::new();
    for &(c, msg, partition, offset, time_ms) in &g.produced {
        let Some(&topic) = g.topic_of.get(&msg) else {
            continue; // never appended (the broker went down first)
        };
        let place = (topic, partition, offset);
        let keep = if only_single {
            single(&place)
        } else {
            survived(&place, msg)
        };
        if keep {
            let producer_id = g.producer_of[&c];
            writes.push(TxnWrite {
                msg,
                producer_id,
                topic,
                partition,
                offset,
                time_ms,
            });
        }
    }
    writes
}

/// Runs the transactional checker on the history and adds its findings
/// (kinds `G1a` and `precommitted-read`) and violations to `summary`.
/// Returns the findings, for tests.
pub fn apply(history: &History, summary: &mut Summary) -> Vec<TxnFinding> {
    let (writes, markers, reads) = inputs(history);
    if writes.is_empty() {
        return Vec::new(); // no transactional client: nothing to judge
    }
    let found = txn::check(&writes, &markers, &reads);
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    for f in &found {
        let (kind, read) = match f {
            TxnFinding::AbortedRead { read, .. } => ("G1a", read),
            TxnFinding::PrecommittedRead { read, .. } => ("precommitted-read", read),
        };
        let n = counts.entry(kind).or_insert(0);
        *n += 1;
        if *n as usize <= FINDINGS_PER_KIND_MAX {
            summary.findings.push(Finding {
                kind,
                msgs: vec![msg_name(read.msg)],
                times_ms: vec![read.time_ms],
                explanation: f.to_string(),
            });
        }
    }
    for (kind, n) in counts {
        let what = match kind {
            "G1a" => "G1a (aborted read)",
            _ => "precommitted-read",
        };
        summary.violations.push(format!("{what}: {n} reads"));
        summary.ok = false;
    }
    found
}

/// Input records whose transaction's outcome the client never learned
/// (`info process`: it crashed or lost the connection after sending
/// `EndTxn(commit)`) but which the coordinator did commit, with the time of
/// the commit marker. The checker counts them as processed: the effect of a
/// read-process-write step *is* its committed transaction.
///
/// Lineage: the client records its batch's `invoke process` entries, then
/// one `invoke publish` per input record in the same order, so the n-th
/// publish after a batch's process invokes is the n-th input's output.
pub fn committed_in_doubt(history: &History) -> BTreeMap<MsgId, u64> {
    let g = gather(history);
    let mut queue: BTreeMap<ClientId, std::collections::VecDeque<MsgId>> = BTreeMap::new();
    let mut output_of: BTreeMap<MsgId, MsgId> = BTreeMap::new();
    // (input, its output in the attempt whose outcome is unknown).
    let mut in_doubt: Vec<(MsgId, MsgId)> = Vec::new();
    for ev in history.events() {
        let Proc::Client(c) = ev.process else {
            continue;
        };
        if !g.producer_of.contains_key(&c) {
            continue; // not a transactional client
        }
        match ev.entry {
            Entry::Log(LogEntry::Process { ty, msg, .. }) => match ty {
                crate::history::OpType::Invoke => queue.entry(c).or_default().push_back(msg),
                // A batch given up before its outputs were handed over.
                _ => {
                    queue.entry(c).or_default().retain(|m| *m != msg);
                    if ty == crate::history::OpType::Info {
                        if let Some(out) = output_of.get(&msg) {
                            in_doubt.push((msg, *out));
                        }
                    }
                }
            },
            Entry::Publish {
                ty: crate::history::OpType::Invoke,
                msg,
                ..
            } => {
                let input = queue.entry(c).or_default().pop_front();
                output_of.insert(input.expect("one output per input record"), msg);
            }
            Entry::Crash => {
                queue.remove(&c);
            }
            _ => {}
        }
    }
    // Every write, also at an offset reused after a crash: the outcome is
    // looked up by message id, not by what a reader saw there.
    let writes = writes(&g, false);
    let markers = &g.markers;
    let mut resolved = BTreeMap::new();
    for (input, out) in in_doubt {
        let Some(w) = writes.iter().find(|w| w.msg == out) else {
            continue;
        };
        let closing = markers
            .iter()
            .filter(|m| {
                (m.topic, m.partition, m.producer_id) == (w.topic, w.partition, w.producer_id)
            })
            // `>=`: a write lost in a broker crash leaves its offset free,
            // and the recovery's marker for its transaction may take it.
            .filter(|m| m.offset >= w.offset)
            .min_by_key(|m| m.offset);
        if let Some(m) = closing.filter(|m| m.commit) {
            resolved.insert(input, m.time_ms);
        }
    }
    resolved
}
