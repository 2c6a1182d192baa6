//! Judging the gathered facts: each write's bucket in the count
//! reconciliation, the findings with their stories, and the summary.

use super::{Facts, LogCounts, Msg, Part};
use crate::broker::log::PartitionId;
use crate::broker::MsgId;
use crate::check::{expectation_violations, Counts, Finding, Snapshot, Summary};
use crate::config::Expectations;
use crate::history::{msg_name, OpType};
use std::collections::{BTreeMap, BTreeSet};

/// Where one message stands among the writes, as bits (see
/// [`super::Bucket`], its queue-model twin).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct WriteBucket(pub(super) u16);

impl WriteBucket {
    pub(super) const UNEXPECTED: u16 = 1;
    pub(super) const PROCESSED: u16 = 1 << 1;
    pub(super) const DUPLICATED: u16 = 1 << 2;
    pub(super) const RECOVERED: u16 = 1 << 3;
    pub(super) const PENDING: u16 = 1 << 4;
    pub(super) const UNCONFIRMED_MISSING: u16 = 1 << 5;
    pub(super) const LOST_WRITE: u16 = 1 << 6;
    pub(super) const UNSEEN: u16 = 1 << 7;
    pub(super) const CONFIRMED: u16 = 1 << 8;
    pub(super) const UNCONFIRMED: u16 = 1 << 9;
    pub(super) const REFUSED: u16 = 1 << 10;
    /// The kinds that are findings (a message has at most one of them).
    pub(super) const FINDING_KINDS: [(u16, &'static str); 3] = [
        (WriteBucket::DUPLICATED, "duplicated"),
        (WriteBucket::LOST_WRITE, "lost-write"),
        (WriteBucket::UNSEEN, "unseen"),
    ];

    /// Message `m`, processed `processed` times in all, `in_one_group`
    /// times by the group that processed it most (see [`Msg::busiest_group`]);
    /// `pending` says the world still holds it, `passed` that a later offset
    /// of its partition was processed (see [`passed`]).
    pub(super) fn of(
        m: &Msg,
        (processed, in_one_group): (usize, usize),
        pending: bool,
        drained: bool,
        passed: bool,
    ) -> WriteBucket {
        let acked = m.outcome == Some(OpType::Ok);
        let published = m.producer.is_some();
        let mut b = match (published, processed > 0) {
            (false, true) => WriteBucket::UNEXPECTED,
            (false, false) => 0,
            (true, true) => {
                let mut b = WriteBucket::PROCESSED;
                if in_one_group > 1 {
                    b |= WriteBucket::DUPLICATED;
                }
                if m.outcome == Some(OpType::Info) {
                    b |= WriteBucket::RECOVERED;
                }
                b
            }
            (true, false) if acked && passed => WriteBucket::LOST_WRITE,
            (true, false) if acked && drained => WriteBucket::UNSEEN,
            (true, false) if acked => WriteBucket::PENDING,
            (true, false) if pending && !drained => WriteBucket::PENDING,
            (true, false) => WriteBucket::UNCONFIRMED_MISSING,
        };
        b |= match m.outcome {
            Some(OpType::Ok) => WriteBucket::CONFIRMED,
            Some(OpType::Info) | None if published => WriteBucket::UNCONFIRMED,
            Some(OpType::Fail) => WriteBucket::REFUSED,
            // Never published here (an unexpected message), or an outcome
            // that is no outcome (`invoke` is never stored as one).
            Some(OpType::Info) | None | Some(OpType::Invoke) => 0,
        };
        WriteBucket(b)
    }

    /// Adds (`sign` 1) or takes away (`sign` -1) this bucket.
    pub(super) fn add_to(self, c: &mut Counts, l: &mut LogCounts, sign: i64) {
        let lost = WriteBucket::LOST_WRITE | WriteBucket::UNSEEN;
        let fields: [(u16, &mut u64); 12] = [
            (WriteBucket::UNEXPECTED, &mut c.unexpected),
            (WriteBucket::PROCESSED, &mut c.processed),
            (WriteBucket::DUPLICATED, &mut c.duplicated),
            (WriteBucket::RECOVERED, &mut c.recovered),
            (WriteBucket::PENDING, &mut c.pending),
            (WriteBucket::UNCONFIRMED_MISSING, &mut c.unconfirmed_missing),
            (lost, &mut c.lost),
            (WriteBucket::LOST_WRITE, &mut l.lost_write),
            (WriteBucket::UNSEEN, &mut l.unseen),
            (WriteBucket::CONFIRMED, &mut c.confirmed),
            (WriteBucket::UNCONFIRMED, &mut c.unconfirmed),
            (WriteBucket::REFUSED, &mut c.refused),
        ];
        crate::check::add_where(self.0, fields, sign);
    }

    pub(super) fn kind(self) -> Option<&'static str> {
        let mut kinds = WriteBucket::FINDING_KINDS.iter();
        kinds.find(|(bit, _)| self.0 & bit != 0).map(|(_, k)| *k)
    }
}

/// Where the producer was told `m` landed: (partition, offset, time).
pub(super) fn acked_place(m: &Msg) -> (PartitionId, u64, u64) {
    m.acked_at.unwrap_or((0, 0, m.invoked_ms))
}

/// The highest processed offset of `id`'s partition and when, if it is past
/// the offset `id` was acknowledged at.
pub(super) fn passed(f: &Facts, id: MsgId) -> Option<(u64, u64)> {
    let (partition, offset, _) = acked_place(&f.msgs[&id]);
    let part = (f.topic_of(id), partition);
    f.processed_max
        .get(&part)
        .filter(|(o, _)| *o > offset)
        .copied()
}

/// Every acknowledged write: processed, lost-write, unseen or pending.
pub(super) fn judge_writes(f: &mut Facts, snap: &Snapshot, drained: bool) {
    let ids: Vec<MsgId> = f.msgs.keys().copied().collect();
    for id in ids {
        let m = &f.msgs[&id];
        let pending = snap.pending.contains(&id);
        let passed = passed(f, id).is_some();
        let processed = (m.processed.len(), m.busiest_group(None).0);
        let bucket = WriteBucket::of(m, processed, pending, drained, passed);
        bucket.add_to(&mut f.counts, &mut f.log, 1);
        if let Some(kind) = bucket.kind() {
            let m = &f.msgs[&id];
            let times = if kind == "duplicated" {
                m.times_in_busiest_group(None)
            } else {
                m.processed_times()
            };
            let (times, text) = write_finding(f, kind, id, times, pending);
            f.find(kind, vec![id], times, text);
        }
    }
}

/// The times and story of a `duplicated`, `lost-write` or `unseen` finding;
/// `processed` holds the times `id` was processed (for `duplicated`: by the
/// one group that processed it more than once).
pub(super) fn write_finding(
    f: &Facts,
    kind: &str,
    id: MsgId,
    processed: Vec<u64>,
    pending: bool,
) -> (Vec<u64>, String) {
    let (partition, offset, acked_ms) = acked_place(&f.msgs[&id]);
    match kind {
        "duplicated" => {
            let text = format!(
                "{} was processed {} times: the consumer group re-read it from a committed offset before it",
                msg_name(id),
                processed.len()
            );
            (processed, text)
        }
        "lost-write" => {
            let (past, at_ms) = passed(f, id).expect("a lost-write was passed");
            let text = format!(
                "{} was acknowledged at partition {partition} offset {offset} (t={acked_ms} ms) but never processed, although offset {past} of that partition was processed at t={at_ms} ms",
                msg_name(id)
            );
            (vec![acked_ms, at_ms], text)
        }
        _ => {
            let still = if pending {
                "it is still in the log, but no consumer got to it"
            } else {
                "it is no longer in the log"
            };
            let text = format!(
                "{} was acknowledged at partition {partition} offset {offset} (t={acked_ms} ms) and never processed by the end of the drain: {still}",
                msg_name(id)
            );
            (vec![acked_ms], text)
        }
    }
}

/// The distinct places `m` was appended at, if more than one: a `duplicate`.
pub(super) fn duplicate_finding(id: MsgId, m: &Msg) -> Option<(Vec<u64>, String)> {
    let mut at: BTreeSet<(Part, u64)> = BTreeSet::new();
    at.extend(m.appended.iter().map(|a| (a.1, a.2)));
    if at.len() < 2 {
        return None;
    }
    let list: Vec<String> = at
        .iter()
        .map(|((_, p), o)| format!("partition {p} offset {o}"))
        .collect();
    let times = m.appended.iter().map(|a| a.0).collect();
    let text = format!(
        "{} is in the log {} times ({}): a retried produce whose earlier attempt had landed",
        msg_name(id),
        at.len(),
        list.join(", ")
    );
    Some((times, text))
}

/// An offset that held more than one message: `inconsistent-offsets`.
pub(super) fn clash_finding(
    ((_, p), o): (Part, u64),
    held: &BTreeMap<MsgId, u64>,
) -> Option<(Vec<MsgId>, Vec<u64>, String)> {
    if held.len() < 2 {
        return None;
    }
    let ids: Vec<MsgId> = held.keys().copied().collect();
    let times = held.values().copied().collect();
    let text = format!(
        "partition {p} offset {o} held {} different messages ({}): the record there was lost (not yet durable at a crash) and the offset was reused",
        ids.len(),
        ids.iter().map(|i| msg_name(*i)).collect::<Vec<_>>().join(", ")
    );
    Some((ids, times, text))
}

/// `duplicate` and `inconsistent-offsets`, from where the broker put things.
pub(super) fn judge_offsets(f: &mut Facts) {
    let dups: Vec<_> = f
        .msgs
        .iter()
        .filter_map(|(id, m)| duplicate_finding(*id, m).map(|d| (*id, d)))
        .collect();
    f.log.duplicate = dups.len() as u64;
    for (id, (times, text)) in dups {
        f.find("duplicate", vec![id], times, text);
    }
    let clashes: Vec<_> = f
        .offsets
        .iter()
        .filter_map(|(place, held)| clash_finding(*place, held))
        .collect();
    f.log.inconsistent_offsets = clashes.len() as u64;
    for (ids, times, text) in clashes {
        f.find("inconsistent-offsets", ids, times, text);
    }
}

/// A later send with the same key that landed at or before an earlier one:
/// `prev` then `id`, both acknowledged (`nonmonotonic-send`).
pub(super) fn send_finding(
    f: &Facts,
    prev: MsgId,
    id: MsgId,
) -> Option<(Vec<MsgId>, Vec<u64>, String)> {
    if !send_clash(f, prev, id) {
        return None;
    }
    let (pp, po, _) = f.msgs[&prev].acked_at?;
    let (p, o, t) = f.msgs[&id].acked_at?;
    let text = format!(
        "{} was sent after {} with the same key but landed at partition {p} offset {o}, not after offset {po} of partition {pp}: a retry overtook it",
        msg_name(id),
        msg_name(prev)
    );
    Some((vec![prev, id], vec![t], text))
}

/// True if `id`, sent after `prev` with the same key, landed at or before
/// it (both acknowledged).
pub(super) fn send_clash(f: &Facts, prev: MsgId, id: MsgId) -> bool {
    match (f.msgs[&prev].acked_at, f.msgs[&id].acked_at) {
        (Some((pp, po, _)), Some((p, o, _))) => p == pp && o <= po,
        _ => false,
    }
}

/// `nonmonotonic-send`: per producer and key, acknowledged offsets in send order.
pub(super) fn judge_sends(f: &mut Facts) {
    let mut found = Vec::new();
    for ids in f.sends.values() {
        let acked = ids.iter().filter(|id| f.msgs[id].acked_at.is_some());
        let mut last: Option<MsgId> = None;
        for &id in acked {
            found.extend(last.and_then(|prev| send_finding(f, prev, id)));
            last = Some(id);
        }
    }
    f.log.nonmonotonic_send = found.len() as u64;
    for (ids, times, text) in found {
        f.find("nonmonotonic-send", ids, times, text);
    }
}

/// Order of first processing against send order, per producer and per key.
pub(super) fn judge_order(f: &mut Facts) {
    let mut per_key = 0;
    for ((_, key), ids) in &f.process_order {
        let seqs: Vec<u64> = ids.iter().map(|i| f.msgs[i].invoked_ms).collect();
        if key.is_some() {
            per_key += seqs.windows(2).filter(|w| w[1] < w[0]).count() as u64;
        }
    }
    f.counts.out_of_order_per_key = per_key;
}

pub(super) fn summarize(
    c: Counts,
    l: LogCounts,
    findings: Vec<Finding>,
    expect: &Expectations,
) -> Summary {
    // Only a resume can lose acknowledged records before the run began.
    let gone = match l.acked_gone {
        0 => String::new(),
        n => format!(" + acknowledged before and gone {n}"),
    };
    let identity = format!(
        "published {} = processed {} + pending {} + lost {} (lost-write {} + unseen {}{gone}) + unconfirmed_missing {}",
        c.published, c.processed, c.pending, c.lost, l.lost_write, l.unseen, c.unconfirmed_missing
    );
    let broker_identity = format!(
        "appended {} (retention deleted {}, lost in crash {}); duplicate {}, inconsistent-offsets {}, poll-skip {}, nonmonotonic-poll {}, nonmonotonic-send {}",
        l.appended, l.retention_deleted, l.lost_in_crash, l.duplicate, l.inconsistent_offsets, l.poll_skip, l.nonmonotonic_poll, l.nonmonotonic_send
    );
    let mut violations = Vec::new();
    if c.processed + c.pending + c.lost + c.unconfirmed_missing != c.published {
        violations.push(format!("counts do not reconcile: {identity}"));
    }
    expectation_violations(&c, expect, &mut violations);
    Summary {
        counts: c,
        log: Some(l),
        identity,
        broker_identity,
        ok: violations.is_empty(),
        violations,
        findings,
        ..Summary::default()
    }
}
