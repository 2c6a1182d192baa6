//! The log-model checker: Jepsen's Kafka anomalies, read from the history.
//!
//! It sees what the producers were told (`produced`: partition and offset of
//! an acknowledged write), what the broker appended (`append` notes), what
//! each consumer's polls returned (`read`) and what each consumer processed
//! (`ok process`). As in the queue checker, a write counts as *seen* once a
//! consumer applied its effect, not merely received it: a record read by a
//! consumer that died before processing it is not seen.
//!
//! | name | what it means here |
//! |---|---|
//! | `lost-write` | an acknowledged write never processed, although some consumer processed a higher offset of its partition |
//! | `unseen` | an acknowledged write never processed by the end of the run, *after the final drain* ([`crate::world::World::drain`]); before a drain it counts as pending |
//! | `duplicate` | one message at more than one offset (a retried produce whose first try landed) |
//! | `inconsistent-offsets` | one offset of one partition held different messages (a crash lost it and the offset was used again) |
//! | `poll-skip` | a consumer's successive reads of a partition jump over offsets that held records it should have read |
//! | `nonmonotonic-poll` | a consumer's next read of a partition is at or before the previous one |
//! | `nonmonotonic-send` | a producer's later send to a key landed at an equal or lower offset |
//!
//! Not every offset holds a record a consumer receives: a transaction's
//! commit or abort marker takes up an offset and is never delivered, and a
//! `read_committed` consumer also never receives a record of an aborted
//! transaction. A jump over such offsets only is not a `poll-skip`. The
//! checker knows them from the history: markers from the broker's
//! `txn_marker` notes, a record's transaction from its producer's
//! `init_producer_id`, and each consumer's `isolation.level` from the
//! scenario.
//!
//! Poll tracking restarts whenever the consumer's position legitimately
//! moves back: a new assignment, a seek, a crash or a rejoin. So a
//! `nonmonotonic-poll` is never the ordinary replay after a rebalance.
//!
//! The verdict counts use the same fields as the queue model: `lost` is
//! lost-write + unseen, `duplicated` is "processed more than once" (the
//! at-least-once cost, judged on effects).

mod live;
pub(super) use live::Live;

use super::{expectation_violations, Counts, Finding, Snapshot, Summary, FINDINGS_PER_KIND_MAX};
use crate::broker::log::{Carried, LogNote, PartitionId, TopicId};
use crate::broker::{ClientId, KeyId, MsgId, Note};
use crate::config::Expectations;
use crate::history::{msg_name, Entry, History, LogEntry, Names, OpType, Proc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Counts of the log model, next to the shared [`Counts`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LogCounts {
    pub lost_write: u64,
    pub unseen: u64,
    pub duplicate: u64,
    pub inconsistent_offsets: u64,
    pub poll_skip: u64,
    pub nonmonotonic_poll: u64,
    pub nonmonotonic_send: u64,
    pub appended: u64,
    pub retention_deleted: u64,
    pub lost_in_crash: u64,
    pub rebalances: u64,
    /// Records a resumed run found in the stored log (`carried` events).
    pub carried: u64,
}

/// (topic, partition).
type Part = (TopicId, PartitionId);

#[derive(Clone, Debug, Default)]
struct Msg {
    producer: Option<ClientId>,
    key: Option<KeyId>,
    invoked_ms: u64,
    outcome: Option<OpType>,
    /// Where the producer was told it landed, and when.
    acked_at: Option<(PartitionId, u64, u64)>,
    /// Every offset the broker appended it at: (time, part, offset).
    appended: Vec<(u64, Part, u64)>,
    /// Times of each `ok process`.
    processed: Vec<u64>,
    reads: u64,
}

#[derive(Default)]
struct Facts {
    /// Bound: messages published in the run.
    msgs: BTreeMap<MsgId, Msg>,
    /// Every message each offset held: ((part, offset), {(msg, first time)}).
    offsets: BTreeMap<(Part, u64), BTreeMap<MsgId, u64>>,
    /// Highest offset processed per part, and when.
    processed_max: BTreeMap<Part, (u64, u64)>,
    /// Per consumer and partition: (poll, offset) of the last read since the
    /// last reset.
    last_read: BTreeMap<(ClientId, PartitionId), (u64, u64)>,
    /// Producer send order per (producer, key): message ids.
    sends: BTreeMap<(ClientId, Option<KeyId>), Vec<MsgId>>,
    /// First-time processing order, for per-key order: (producer, key) → seqs.
    process_order: BTreeMap<(ClientId, Option<KeyId>), Vec<MsgId>>,
    counts: Counts,
    log: LogCounts,
    findings: Vec<Finding>,
    /// What a consumer never receives, so that jumping over it is no skip.
    hidden: Hidden,
}

/// Offsets no consumer receives (markers) or no `read_committed` consumer
/// receives (records of aborted transactions). Bound: the log's offsets.
#[derive(Default)]
struct Hidden {
    /// Consumers with `isolation.level=read_committed`.
    read_committed: BTreeSet<ClientId>,
    /// Each transactional client's producer id (from `init_producer_id`).
    producer_id_of: BTreeMap<ClientId, u64>,
    /// The producer id of each transactional record, by place.
    txn_record_at: BTreeMap<(Part, u64), u64>,
    /// Every marker, by place.
    markers: BTreeSet<(Part, u64)>,
    /// Each producer's markers in each partition: offset → commit.
    markers_of: BTreeMap<(Part, u64), BTreeMap<u64, bool>>,
    /// Records a resumed log carried over as aborted: their writer's
    /// `init_producer_id` is in the earlier visit's history, not this one.
    aborted_carried: BTreeSet<(Part, u64)>,
}

impl Hidden {
    /// True if `reader` never receives the record at `offset` of `part`: a
    /// marker, or (read_committed) a record whose transaction's next marker
    /// is an abort.
    fn from(&self, reader: ClientId, part: Part, offset: u64) -> bool {
        if self.markers.contains(&(part, offset)) {
            return true;
        }
        if !self.read_committed.contains(&reader) {
            return false;
        }
        if self.aborted_carried.contains(&(part, offset)) {
            return true;
        }
        let Some(&pid) = self.txn_record_at.get(&(part, offset)) else {
            return false;
        };
        let closing = self.markers_of.get(&(part, pid));
        let closing = closing.and_then(|m| m.range(offset + 1..).next());
        closing.is_some_and(|(_, commit)| !commit)
    }

    /// True if every offset in `from..to` is hidden from `reader`. Stops at
    /// the first that is not, so a real skip costs one look.
    fn all_from(&self, reader: ClientId, part: Part, from: u64, to: u64) -> bool {
        (from..to).all(|o| self.from(reader, part, o))
    }
}

impl Facts {
    fn find(&mut self, kind: &'static str, msgs: Vec<MsgId>, times_ms: Vec<u64>, text: String) {
        let listed = self.findings.iter().filter(|f| f.kind == kind).count();
        if listed < FINDINGS_PER_KIND_MAX {
            self.findings.push(Finding {
                kind,
                msgs: msgs.into_iter().map(msg_name).collect(),
                times_ms,
                explanation: text,
            });
        }
    }

    fn topic_of(&self, msg: MsgId) -> TopicId {
        let m = self.msgs.get(&msg);
        m.and_then(|m| m.appended.first()).map_or(0, |a| a.1 .0)
    }
}

/// Runs the log checker. `drained` says the run ended with
/// [`crate::world::World::drain`], so unread writes are `unseen`.
/// `read_committed` lists the consumers with `isolation.level=read_committed`.
pub fn check(
    history: &History,
    snap: &Snapshot,
    names: &Names,
    expect: &Expectations,
    drained: bool,
    read_committed: &BTreeSet<ClientId>,
) -> Summary {
    let mut f = Facts::default();
    f.hidden.read_committed = read_committed.clone();
    for ev in history.events() {
        gather(&mut f, ev.time_ms, ev.process, ev.entry, names);
    }
    // A read-process-write step whose client never heard the outcome, but
    // whose transaction committed, did process its input.
    for (msg, t) in super::txn_history::committed_in_doubt(history) {
        f.msgs.entry(msg).or_default().processed.push(t);
    }
    judge_writes(&mut f, snap, drained);
    judge_offsets(&mut f);
    judge_sends(&mut f);
    judge_order(&mut f);
    summarize(f.counts, f.log, f.findings, expect)
}

fn gather(f: &mut Facts, t: u64, process: Proc, entry: Entry, names: &Names) {
    match (process, entry) {
        (Proc::Client(p), Entry::Publish { ty, msg, key }) => {
            let m = f.msgs.entry(msg).or_default();
            if ty == OpType::Invoke {
                (m.producer, m.key, m.invoked_ms) = (Some(p), key, t);
                f.counts.published += 1;
                f.sends.entry((p, key)).or_default().push(msg);
            } else {
                m.outcome = Some(ty);
            }
        }
        (_, Entry::Retry { .. }) => f.counts.publish_retries += 1,
        (Proc::Client(c), Entry::Log(e)) => gather_client(f, t, c, e, names),
        (Proc::Client(c), Entry::Crash | Entry::Restart) => reset_reads(f, c),
        (Proc::Broker(_), Entry::Broker(Note::Log(n))) => gather_note(f, t, n),
        _ => {}
    }
}

fn reset_reads(f: &mut Facts, c: ClientId) {
    f.last_read.retain(|(consumer, _), _| *consumer != c);
}

fn gather_client(f: &mut Facts, t: u64, c: ClientId, e: LogEntry, names: &Names) {
    match e {
        LogEntry::Produced {
            msg,
            partition,
            offset,
        } => f.msgs.entry(msg).or_default().acked_at = Some((partition, offset, t)),
        LogEntry::ProducerId { producer_id, .. } => {
            f.hidden.producer_id_of.insert(c, producer_id);
        }
        LogEntry::Assigned { .. } | LogEntry::Seek { .. } | LogEntry::Join { .. } => {
            reset_reads(f, c)
        }
        LogEntry::Read {
            poll,
            partition,
            offset,
            msg,
            ..
        } => read(f, t, c, poll, partition, offset, msg, names),
        LogEntry::Process {
            ty: OpType::Ok,
            partition,
            offset,
            msg,
            ..
        } => {
            let part = (f.topic_of(msg), partition);
            let m = f.msgs.entry(msg).or_default();
            m.processed.push(t);
            f.counts.processed_total += 1;
            f.counts.last_processed_ms = t;
            if m.processed.len() == 1 {
                if let Some(p) = m.producer {
                    f.process_order.entry((p, m.key)).or_default().push(msg);
                }
            }
            let max = f.processed_max.entry(part).or_insert((offset, t));
            if offset >= max.0 {
                *max = (offset, t);
            }
        }
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn read(
    f: &mut Facts,
    t: u64,
    c: ClientId,
    poll: u64,
    partition: PartitionId,
    offset: u64,
    msg: MsgId,
    names: &Names,
) {
    f.counts.deliveries += 1;
    let m = f.msgs.entry(msg).or_default();
    m.reads += 1;
    if m.reads > 1 {
        f.counts.redeliveries += 1;
    }
    let part = (f.topic_of(msg), partition);
    f.offsets
        .entry((part, offset))
        .or_default()
        .entry(msg)
        .or_insert(t);
    let who = names.client(c);
    if let Some((last_poll, last)) = f.last_read.insert((c, partition), (poll, offset)) {
        if offset <= last {
            f.log.nonmonotonic_poll += 1;
            let text = format!(
                "{who} read partition {partition} offset {offset} in poll {poll} after offset {last} in poll {last_poll}, with no rebalance, seek or restart in between"
            );
            f.find("nonmonotonic-poll", vec![msg], vec![t], text);
        } else if offset > last + 1 && !f.hidden.all_from(c, part, last + 1, offset) {
            f.log.poll_skip += 1;
            let text = format!(
                "{who} read partition {partition} offset {offset} right after offset {last}: offsets {}..{} were skipped",
                last + 1,
                offset
            );
            f.find("poll-skip", vec![msg], vec![t], text);
        }
    }
}

fn gather_note(f: &mut Facts, t: u64, n: LogNote) {
    match n {
        LogNote::Appended {
            msg,
            topic,
            partition,
            offset,
        } => {
            f.log.appended += 1;
            let part = (topic, partition);
            f.msgs
                .entry(msg)
                .or_default()
                .appended
                .push((t, part, offset));
            f.offsets
                .entry((part, offset))
                .or_default()
                .entry(msg)
                .or_insert(t);
            let writer = f.msgs[&msg].producer;
            if let Some(&pid) = writer.and_then(|w| f.hidden.producer_id_of.get(&w)) {
                f.hidden.txn_record_at.insert((part, offset), pid);
            }
        }
        LogNote::Txn(_) => {
            if let Some(m) = super::txn::TxnMarker::from_note(n, t) {
                let part = (m.topic, m.partition);
                f.hidden.markers.insert((part, m.offset));
                let of = f
                    .hidden
                    .markers_of
                    .entry((part, m.producer_id))
                    .or_default();
                of.insert(m.offset, m.commit);
            }
        }
        LogNote::Carried {
            msg,
            producer,
            key,
            topic,
            partition,
            offset,
            carried,
        } => carry(
            f,
            t,
            msg,
            (producer, key),
            (topic, partition),
            offset,
            carried,
        ),
        LogNote::RetentionDeleted { from, to, .. } => f.log.retention_deleted += to - from,
        LogNote::LostInCrash { from, to, .. } => f.log.lost_in_crash += to - from,
        _ => {}
    }
    if let LogNote::Assigned { generation, .. } = n {
        f.log.rebalances = f.log.rebalances.max(u64::from(generation));
    }
}

/// Where one message stands among the writes, as bits (see
/// [`super::Bucket`], its queue-model twin).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct WriteBucket(u16);

impl WriteBucket {
    const UNEXPECTED: u16 = 1;
    const PROCESSED: u16 = 1 << 1;
    const DUPLICATED: u16 = 1 << 2;
    const RECOVERED: u16 = 1 << 3;
    const PENDING: u16 = 1 << 4;
    const UNCONFIRMED_MISSING: u16 = 1 << 5;
    const LOST_WRITE: u16 = 1 << 6;
    const UNSEEN: u16 = 1 << 7;
    const CONFIRMED: u16 = 1 << 8;
    const UNCONFIRMED: u16 = 1 << 9;
    const REFUSED: u16 = 1 << 10;
    /// The kinds that are findings (a message has at most one of them).
    const FINDING_KINDS: [(u16, &'static str); 3] = [
        (WriteBucket::DUPLICATED, "duplicated"),
        (WriteBucket::LOST_WRITE, "lost-write"),
        (WriteBucket::UNSEEN, "unseen"),
    ];

    /// Message `m`, processed `processed` times; `pending` says the world
    /// still holds it, `passed` that a later offset of its partition was
    /// processed (see [`passed`]).
    fn of(m: &Msg, processed: usize, pending: bool, drained: bool, passed: bool) -> WriteBucket {
        let acked = m.outcome == Some(OpType::Ok);
        let published = m.producer.is_some();
        let mut b = match (published, processed > 0) {
            (false, true) => WriteBucket::UNEXPECTED,
            (false, false) => 0,
            (true, true) => {
                let mut b = WriteBucket::PROCESSED;
                if processed > 1 {
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
            _ => 0,
        };
        WriteBucket(b)
    }

    /// Adds (`sign` 1) or takes away (`sign` -1) this bucket.
    fn add_to(self, c: &mut Counts, l: &mut LogCounts, sign: i64) {
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
        super::add_where(self.0, fields, sign);
    }

    fn kind(self) -> Option<&'static str> {
        let mut kinds = WriteBucket::FINDING_KINDS.iter();
        kinds.find(|(bit, _)| self.0 & bit != 0).map(|(_, k)| *k)
    }
}

/// Where the producer was told `m` landed: (partition, offset, time).
fn acked_place(m: &Msg) -> (PartitionId, u64, u64) {
    m.acked_at.unwrap_or((0, 0, m.invoked_ms))
}

/// The highest processed offset of `id`'s partition and when, if it is past
/// the offset `id` was acknowledged at.
fn passed(f: &Facts, id: MsgId) -> Option<(u64, u64)> {
    let (partition, offset, _) = acked_place(&f.msgs[&id]);
    let part = (f.topic_of(id), partition);
    f.processed_max
        .get(&part)
        .filter(|(o, _)| *o > offset)
        .copied()
}

/// A record a resumed run found in the stored log (see [`Carried`]). Its
/// publish happened in an earlier visit whose history is gone, so it counts
/// as that visit's publish with the outcome the log proves: acknowledged
/// (durable, so it was or could have been acked), refused (an aborted
/// transaction) or unknown (a transaction still open). Below a committed
/// offset it was consumed then too, which counts as one processing: reading
/// it again now is a duplicate, not reading it is not a loss. So a consumer
/// reading carried records is never `unexpected`, and an acknowledged one
/// nobody reads by the end of the drain is `unseen`, as in one run.
///
/// What the earlier visit acknowledged but storage did not keep cannot be
/// counted here: its history is gone. Within one visit the checker does see
/// it (a crash and restart in one run), which is where durability is judged.
#[allow(clippy::too_many_arguments)]
fn carry(
    f: &mut Facts,
    t: u64,
    msg: MsgId,
    (producer, key): (ClientId, Option<KeyId>),
    part: Part,
    offset: u64,
    carried: Carried,
) {
    f.log.carried += 1;
    // A retry under at least once can leave two copies of one message in
    // the log: it was published once.
    if !f.msgs.contains_key(&msg) {
        f.counts.published += 1;
    }
    if carried == Carried::Aborted {
        f.hidden.aborted_carried.insert((part, offset));
    }
    f.offsets
        .entry((part, offset))
        .or_default()
        .entry(msg)
        .or_insert(t);
    let m = f.msgs.entry(msg).or_default();
    (m.producer, m.key, m.invoked_ms) = (Some(producer), key, t);
    m.appended.push((t, part, offset));
    m.outcome = Some(match carried {
        Carried::Consumed | Carried::Acked => OpType::Ok,
        Carried::Aborted => OpType::Fail,
        Carried::InDoubt => OpType::Info,
    });
    if matches!(carried, Carried::Consumed | Carried::Acked) {
        m.acked_at = Some((part.1, offset, t));
    }
    if carried == Carried::Consumed {
        m.processed.push(t);
        let max = f.processed_max.entry(part).or_insert((offset, t));
        if offset >= max.0 {
            *max = (offset, t);
        }
    }
}

/// Every acknowledged write: processed, lost-write, unseen or pending.
fn judge_writes(f: &mut Facts, snap: &Snapshot, drained: bool) {
    let ids: Vec<MsgId> = f.msgs.keys().copied().collect();
    for id in ids {
        let m = &f.msgs[&id];
        let pending = snap.pending.contains(&id);
        let passed = passed(f, id).is_some();
        let bucket = WriteBucket::of(m, m.processed.len(), pending, drained, passed);
        bucket.add_to(&mut f.counts, &mut f.log, 1);
        if let Some(kind) = bucket.kind() {
            let times = f.msgs[&id].processed.clone();
            let (times, text) = write_finding(f, kind, id, times, pending);
            f.find(kind, vec![id], times, text);
        }
    }
}

/// The times and story of a `duplicated`, `lost-write` or `unseen` finding;
/// `processed` holds the times `id` was processed.
fn write_finding(
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
fn duplicate_finding(id: MsgId, m: &Msg) -> Option<(Vec<u64>, String)> {
    let at: BTreeSet<(Part, u64)> = m.appended.iter().map(|a| (a.1, a.2)).collect();
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
fn clash_finding(
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
fn judge_offsets(f: &mut Facts) {
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
fn send_finding(f: &Facts, prev: MsgId, id: MsgId) -> Option<(Vec<MsgId>, Vec<u64>, String)> {
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
fn send_clash(f: &Facts, prev: MsgId, id: MsgId) -> bool {
    match (f.msgs[&prev].acked_at, f.msgs[&id].acked_at) {
        (Some((pp, po, _)), Some((p, o, _))) => p == pp && o <= po,
        _ => false,
    }
}

/// `nonmonotonic-send`: per producer and key, acknowledged offsets in send order.
fn judge_sends(f: &mut Facts) {
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
fn judge_order(f: &mut Facts) {
    let mut per_key = 0;
    for ((_, key), ids) in &f.process_order {
        let seqs: Vec<u64> = ids.iter().map(|i| f.msgs[i].invoked_ms).collect();
        if key.is_some() {
            per_key += seqs.windows(2).filter(|w| w[1] < w[0]).count() as u64;
        }
    }
    f.counts.out_of_order_per_key = per_key;
}

fn summarize(c: Counts, l: LogCounts, findings: Vec<Finding>, expect: &Expectations) -> Summary {
    let identity = format!(
        "published {} = processed {} + pending {} + lost {} (lost-write {} + unseen {}) + unconfirmed_missing {}",
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

#[cfg(test)]
mod tests {
    //! Poll-skip against hand-written histories: jumps over markers and
    //! (for `read_committed`) aborted records are not skips; jumps over a
    //! record the reader should have received are.
    use super::*;
    use crate::broker::txn::TxnNote;
    use crate::history::Proc::{Broker, Client};
    use crate::node::NodeId;

    /// Clients: 0 = plain producer, 1 = transactional producer (producer id
    /// 7), 2 = a read_committed consumer, 3 = a read_uncommitted consumer.
    const PLAIN: ClientId = 0;
    const TXN: ClientId = 1;
    const COMMITTED: ClientId = 2;
    const UNCOMMITTED: ClientId = 3;

    /// Partition 0 of topic 0 holds, by offset: 0 txn record (m1), 1 commit
    /// marker, 2 txn record (m2, aborted), 3 abort marker, 4 txn record (m3),
    /// 5 commit marker, 6 plain record (m4).
    fn log() -> History {
        let mut h = History::new();
        h.push(
            0,
            Client(TXN),
            Entry::Log(LogEntry::ProducerId {
                producer_id: 7,
                epoch: 0,
            }),
        );
        let record = |h: &mut History, who: ClientId, msg: MsgId, offset: u64| {
            if who == TXN {
                // A read-process-write client writes one output per input
                // record it started processing (the lineage the checker reads).
                let input = msg + 100;
                let process = LogEntry::Process {
                    ty: OpType::Invoke,
                    partition: 0,
                    offset: 0,
                    msg: input,
                    key: None,
                };
                h.push(1, Client(who), Entry::Log(process));
            }
            let publish = Entry::Publish {
                ty: OpType::Invoke,
                msg,
                key: None,
            };
            h.push(1, Client(who), publish);
            let note = LogNote::Appended {
                msg,
                topic: 0,
                partition: 0,
                offset,
            };
            h.push(1, Broker(NodeId::FIRST), Entry::Broker(Note::Log(note)));
        };
        let marker = |h: &mut History, offset: u64, commit: bool| {
            let m = TxnNote::Marker {
                producer_id: 7,
                topic: 0,
                partition: 0,
                offset,
                commit,
            };
            h.push(
                1,
                Broker(NodeId::FIRST),
                Entry::Broker(Note::Log(LogNote::Txn(m))),
            );
        };
        record(&mut h, TXN, 1, 0);
        marker(&mut h, 1, true);
        record(&mut h, TXN, 2, 2);
        marker(&mut h, 3, false);
        record(&mut h, TXN, 3, 4);
        marker(&mut h, 5, true);
        record(&mut h, PLAIN, 4, 6);
        h
    }

    /// The checker's summary of `h`, with the clients named above and
    /// `COMMITTED` reading at `read_committed`.
    fn summary(h: &History) -> Summary {
        let names = Names {
            clients: ["p", "t", "rc", "ru"].map(String::from).to_vec(),
            topics: vec!["orders".into()],
            ..Names::default()
        };
        let committed = BTreeSet::from([COMMITTED]);
        check(
            h,
            &Snapshot::default(),
            &names,
            &Expectations::default(),
            false,
            &committed,
        )
    }

    /// `reader` reads these (offset, msg) in one poll; returns the poll-skip count.
    fn skips(reader: ClientId, reads: &[(u64, MsgId)]) -> u64 {
        skips_in(log(), reader, reads)
    }

    /// As [`skips`], over the history `h`.
    fn skips_in(mut h: History, reader: ClientId, reads: &[(u64, MsgId)]) -> u64 {
        for &(offset, msg) in reads {
            let read = LogEntry::Read {
                poll: 1,
                partition: 0,
                offset,
                msg,
                key: None,
            };
            h.push(2, Client(reader), Entry::Log(read));
        }
        let s = summary(&h);
        let listed = s.findings.iter().filter(|f| f.kind == "poll-skip").count() as u64;
        let n = s.log.expect("a log summary").poll_skip;
        assert_eq!(listed, n, "each skip is listed");
        n
    }

    #[test]
    fn markers_and_aborted_records_are_not_skips_for_read_committed() {
        assert_eq!(skips(COMMITTED, &[(0, 1), (4, 3), (6, 4)]), 0);
    }

    #[test]
    fn markers_are_not_skips_for_read_uncommitted() {
        assert_eq!(skips(UNCOMMITTED, &[(0, 1), (2, 2), (4, 3), (6, 4)]), 0);
    }

    #[test]
    fn an_aborted_record_is_a_skip_for_read_uncommitted() {
        // read_uncommitted receives aborted records: jumping over m2 is a skip.
        assert_eq!(skips(UNCOMMITTED, &[(0, 1), (4, 3)]), 1);
    }

    /// A resumed log: m1 (offset 0) and m3 (offset 2) carried as acked, m2
    /// (offset 1) carried as aborted. No `init_producer_id` or marker of the
    /// earlier visit is in this history.
    fn resumed_log() -> History {
        let mut h = History::new();
        for (msg, offset, carried) in [
            (1, 0, Carried::Acked),
            (2, 1, Carried::Aborted),
            (3, 2, Carried::Acked),
        ] {
            let note = LogNote::Carried {
                msg,
                producer: TXN,
                key: None,
                topic: 0,
                partition: 0,
                offset,
                carried,
            };
            h.push(0, Broker(NodeId::FIRST), Entry::Broker(Note::Log(note)));
        }
        h
    }

    #[test]
    fn two_carried_copies_of_one_message_are_one_publish() {
        let mut h = resumed_log();
        let copy = LogNote::Carried {
            msg: 3,
            producer: TXN,
            key: None,
            topic: 0,
            partition: 0,
            offset: 3,
            carried: Carried::Acked,
        };
        h.push(0, Broker(NodeId::FIRST), Entry::Broker(Note::Log(copy)));
        let s = summary(&h);
        assert_eq!(s.counts.published, 3, "m1, m2, m3 (twice in the log)");
        assert_eq!(s.log.expect("a log summary").carried, 4);
    }

    #[test]
    fn a_carried_aborted_record_is_hidden_from_read_committed_only() {
        assert_eq!(skips_in(resumed_log(), COMMITTED, &[(0, 1), (2, 3)]), 0);
        assert_eq!(skips_in(resumed_log(), UNCOMMITTED, &[(0, 1), (2, 3)]), 1);
    }

    #[test]
    fn a_committed_or_plain_record_is_a_skip() {
        assert_eq!(
            skips(COMMITTED, &[(0, 1), (6, 4)]),
            1,
            "m3 at 4 was committed"
        );
        assert_eq!(
            skips(UNCOMMITTED, &[(4, 3), (6, 4), (6, 4)]),
            0,
            "a repeat is nonmonotonic, not a skip"
        );
    }
}
