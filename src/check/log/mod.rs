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
//! lost-write + unseen, `duplicated` is "processed more than once by one
//! consumer group" (the at-least-once cost, judged on effects). Each group
//! keeps its own offsets and reads the whole log for its own purpose, so a
//! second group processing what the first already did is the log doing its
//! job, not a duplicate: duplicates are judged per group (see [`Reader`]).

mod judge;
mod live;
#[cfg(test)]
mod tests;
pub(super) use live::Live;

use judge::{
    acked_place, clash_finding, duplicate_finding, judge_offsets, judge_order, judge_sends,
    judge_writes, passed, send_clash, send_finding, summarize, write_finding, WriteBucket,
};

use super::{Counts, Finding, Snapshot, Summary, FINDINGS_PER_KIND_MAX};
use crate::broker::log::{Carried, GroupId, LogNote, PartitionId, TopicId};
use crate::broker::{ClientId, KeyId, MsgId};
use crate::config::Expectations;
use crate::history::{msg_name, Entry, History, LogEntry, Names, OpType, Proc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Counts of the log model, next to the shared [`Counts`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LogCounts {
    /// Acknowledged writes never processed although a later offset of their
    /// partition was (see the module notes for each anomaly).
    pub lost_write: u64,
    /// Acknowledged writes nobody processed by the end of the drain.
    pub unseen: u64,
    /// Messages in the log at more than one offset.
    pub duplicate: u64,
    /// Offsets that held more than one message.
    pub inconsistent_offsets: u64,
    /// Reads that jumped over records the reader should have received.
    pub poll_skip: u64,
    /// Reads at or before the reader's previous read of the partition.
    pub nonmonotonic_poll: u64,
    /// Later sends of a key that landed at or before an earlier one.
    pub nonmonotonic_send: u64,
    /// Records the broker appended (`append` notes).
    pub appended: u64,
    /// Records retention deleted.
    pub retention_deleted: u64,
    /// Records a broker crash lost before they were durable.
    pub lost_in_crash: u64,
    /// The highest group generation: how many rebalances happened.
    pub rebalances: u64,
    /// Records a resumed run found in the stored log (`carried` events).
    pub carried: u64,
    /// Offsets an earlier visit acknowledged that its resumed log no longer
    /// holds (`acked_before` notes): lost, and counted in `lost`. Left out
    /// of the summary when 0, as in every run that is not a resume.
    #[serde(skip_serializing_if = "is_zero")]
    pub acked_gone: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// (topic, partition).
type Part = (TopicId, PartitionId);

/// Whose processing of a record it was, as far as duplicates go: the
/// consumer group of the client that applied it (learned from its `join`).
/// `None` when no group is known: a resumed log's record consumed in the
/// earlier visit (its group's history is gone). Such a processing counts
/// against every group, so reading it again in any group is a duplicate.
type Reader = Option<GroupId>;

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
    /// Each `ok process`: when, and in which consumer group.
    processed: Vec<(u64, Reader)>,
    reads: u64,
}

impl Msg {
    /// The times it was processed, in any group.
    fn processed_times(&self) -> Vec<u64> {
        self.processed.iter().map(|p| p.0).collect()
    }

    /// How often the group that processed it most did so, and that group
    /// (the first to reach the count on a tie; `None` if no known group
    /// processed it). `extra` is a committed in-doubt transaction, which is
    /// not in the history's processing. A processing by an unknown reader
    /// counts for every group. More than one is a duplicate (`duplicated`).
    /// Lists are a few entries long, so counting twice over is cheap and
    /// allocates nothing.
    fn busiest_group(&self, extra: Option<(u64, Reader)>) -> (usize, Reader) {
        let all = || self.processed.iter().copied().chain(extra);
        let unknown = all().filter(|p| p.1.is_none()).count();
        let mut busiest = (0, None);
        for g in all().filter_map(|p| p.1) {
            let n = all().filter(|p| p.1 == Some(g)).count();
            if n > busiest.0 {
                busiest = (n, Some(g));
            }
        }
        (unknown + busiest.0, busiest.1)
    }

    /// The times of [`Msg::busiest_group`]'s processing: what a
    /// `duplicated` finding points at.
    fn times_in_busiest_group(&self, extra: Option<(u64, Reader)>) -> Vec<u64> {
        let (_, group) = self.busiest_group(extra);
        let all = self.processed.iter().copied().chain(extra);
        all.filter(|p| p.1.is_none() || p.1 == group)
            .map(|p| p.0)
            .collect()
    }
}

#[derive(Clone, Default)]
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
    /// Each consumer's group, from its last `join`: duplicates are judged
    /// per group ([`Reader`]). Bound: clients in the run.
    group_of: BTreeMap<ClientId, GroupId>,
    /// Producer send order per (producer, key): message ids.
    sends: BTreeMap<(ClientId, Option<KeyId>), Vec<MsgId>>,
    /// First-time processing order, for per-key order: (producer, key) → seqs.
    process_order: BTreeMap<(ClientId, Option<KeyId>), Vec<MsgId>>,
    counts: Counts,
    log: LogCounts,
    findings: Vec<Finding>,
    /// What a consumer never receives, so that jumping over it is no skip.
    hidden: Hidden,
    /// A resumed run's checkpoint: per part, the offset after the last record
    /// the earlier visit acknowledged (`acked_before`). Bound: partitions.
    acked_end: BTreeMap<Part, u64>,
}

/// Offsets no consumer receives (markers) or no `read_committed` consumer
/// receives (records of aborted transactions). Bound: the log's offsets.
#[derive(Clone, Default)]
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
    for (msg, (t, client)) in super::txn_history::committed_in_doubt(history) {
        let reader = f.group_of.get(&client).copied();
        f.msgs.entry(msg).or_default().processed.push((t, reader));
    }
    judge_writes(&mut f, snap, drained);
    judge_offsets(&mut f);
    judge_sends(&mut f);
    judge_order(&mut f);
    summarize(f.counts, f.log, f.findings, expect)
}

/// Learns from one history event. Every entry is named: a new one does
/// not compile until the log model decides what it means.
fn gather(f: &mut Facts, t: u64, process: Proc, entry: Entry, names: &Names) {
    match entry {
        Entry::Publish { ty, msg, key } => {
            if let Proc::Client(p) = process {
                let m = f.msgs.entry(msg).or_default();
                if ty == OpType::Invoke {
                    (m.producer, m.key, m.invoked_ms) = (Some(p), key, t);
                    f.counts.published += 1;
                    f.sends.entry((p, key)).or_default().push(msg);
                } else {
                    m.outcome = Some(ty);
                }
            }
        }
        Entry::Retry { .. } => f.counts.publish_retries += 1,
        Entry::Log(e) => {
            if let Proc::Client(c) = process {
                gather_client(f, t, c, e, names);
            }
        }
        Entry::Crash | Entry::Restart => {
            if let Proc::Client(c) = process {
                reset_reads(f, c);
            }
        }
        Entry::Broker(note) => {
            if let (Proc::Broker(_), Some(n)) = (process, super::log_note(note)) {
                gather_note(f, t, n, names);
            }
        }
        // The queue broker's client steps: log consumers record theirs as
        // [`Entry::Log`].
        Entry::Process { .. }
        | Entry::AckSent { .. }
        | Entry::NackSent { .. }
        | Entry::Deliver { .. } => {}
        // Link faults: what they lost shows as unread or pending.
        Entry::DropAcks { .. } | Entry::NetDrop { .. } => {}
        // The effect was skipped: no `ok process`, nothing to count.
        Entry::Deduplicated { .. } => {}
        // A setting changes how clients behave, not what happened.
        Entry::Setting(_) => {}
    }
}

fn reset_reads(f: &mut Facts, c: ClientId) {
    f.last_read.retain(|(consumer, _), _| *consumer != c);
}

/// A log client's entry. Every variant is named (see [`gather`]).
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
        // The position legitimately moves back: poll tracking restarts.
        // A join also says which group the consumer processes for.
        LogEntry::Join { group } => {
            f.group_of.insert(c, group);
            reset_reads(f, c)
        }
        LogEntry::Assigned { .. } | LogEntry::Seek { .. } => reset_reads(f, c),
        LogEntry::Read {
            poll,
            partition,
            offset,
            msg,
            ..
        } => read(f, t, c, poll, partition, offset, msg, names),
        LogEntry::Process {
            ty,
            partition,
            offset,
            msg,
            ..
        } => {
            if ty == OpType::Ok {
                let reader = f.group_of.get(&c).copied();
                processed(f, t, (partition, offset), msg, reader);
            }
        }
        // A poll's records are its `read`s; commits show in the broker's
        // `committed` and `position` notes and in what is read next; leaving
        // is followed by a rebalance.
        LogEntry::Poll { .. }
        | LogEntry::Commit { .. }
        | LogEntry::CommitDone { .. }
        | LogEntry::Leave { .. } => {}
    }
}

/// An `ok process` of the record at `offset` of `partition`, by a
/// consumer of group `reader`: the effect was applied.
fn processed(
    f: &mut Facts,
    t: u64,
    (partition, offset): (PartitionId, u64),
    msg: MsgId,
    reader: Reader,
) {
    let part = (f.topic_of(msg), partition);
    let m = f.msgs.entry(msg).or_default();
    m.processed.push((t, reader));
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

/// A log-broker note. Every variant is named (see [`gather`]).
fn gather_note(f: &mut Facts, t: u64, n: LogNote, names: &Names) {
    match n {
        LogNote::Appended {
            msg,
            topic,
            partition,
            offset,
        } => appended(f, t, msg, (topic, partition), offset),
        LogNote::Txn(txn) => {
            if let Some(m) = super::txn::TxnMarker::from_note(txn, t) {
                let part = (m.topic, m.partition);
                f.hidden.markers.insert((part, m.offset));
                let of = f.hidden.markers_of.entry((part, m.producer_id));
                of.or_default().insert(m.offset, m.commit);
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
        } => {
            let part = (topic, partition);
            carry(f, t, msg, (producer, key), part, offset, carried);
        }
        LogNote::AckedBefore {
            topic,
            partition,
            acked_end,
            recovered_end,
        } => {
            f.acked_end.insert((topic, partition), acked_end);
            if recovered_end < acked_end {
                acked_gone(f, t, (topic, partition), recovered_end..acked_end, names);
            }
        }
        LogNote::RetentionDeleted { from, to, .. } => f.log.retention_deleted += to - from,
        LogNote::LostInCrash { from, to, .. } => f.log.lost_in_crash += to - from,
        LogNote::Assigned { generation, .. } => {
            f.log.rebalances = f.log.rebalances.max(u64::from(generation));
        }
        // Durability and recovery of a partition's end: what they lost or
        // kept shows in the records read later (and in `lost_in_crash`).
        LogNote::Durable { .. } | LogNote::Recovered { .. } => {}
        // Storage faults and recovery bookkeeping: no record changes place.
        LogNote::TornWrite { .. }
        | LogNote::Truncated { .. }
        | LogNote::WritesStopped { .. }
        | LogNote::RecoveredOffset { .. }
        | LogNote::ProducerStateFromLog { .. }
        | LogNote::RecoveredProducer { .. } => {}
        // Membership and offsets: the consumers' own entries (assigned,
        // seek, read) say what they did about them.
        LogNote::SessionExpired { .. }
        | LogNote::Committed { .. }
        | LogNote::CommitRejected { .. }
        | LogNote::UnstableOffsetCommit { .. }
        | LogNote::Position { .. } => {}
        // Idempotence: nothing was appended; the first append is the fact.
        LogNote::DuplicateSequence { .. } | LogNote::SequenceRejected { .. } => {}
    }
}

/// The broker appended `msg` at `offset` of `part`.
fn appended(f: &mut Facts, t: u64, msg: MsgId, part: Part, offset: u64) {
    f.log.appended += 1;
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
/// When the page kept a record of what it acknowledged (`acked_before`,
/// read before the carried records), a record at or past its partition's
/// frontier was written but never acknowledged: its outcome is unknown, not
/// `ok`. What the earlier visit acknowledged but storage did not keep is
/// counted from that note ([`acked_gone`]); without a record it cannot be:
/// the earlier visit's history is gone.
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
    let acked = f.acked_end.get(&part).is_none_or(|&end| offset < end);
    let m = f.msgs.entry(msg).or_default();
    (m.producer, m.key, m.invoked_ms) = (Some(producer), key, t);
    m.appended.push((t, part, offset));
    m.outcome = Some(match carried {
        Carried::Consumed | Carried::Acked if acked => OpType::Ok,
        Carried::Aborted => OpType::Fail,
        Carried::Consumed | Carried::Acked | Carried::InDoubt => OpType::Info,
    });
    if acked && matches!(carried, Carried::Consumed | Carried::Acked) {
        m.acked_at = Some((part.1, offset, t));
    }
    if carried == Carried::Consumed {
        // Consumed by some group of the earlier visit: which one is gone.
        m.processed.push((t, None));
        let max = f.processed_max.entry(part).or_insert((offset, t));
        if offset >= max.0 {
            *max = (offset, t);
        }
    }
}

/// Offsets `gone` of `part` were acknowledged in an earlier visit and are
/// not in its resumed log (see `LogNote::AckedBefore`): each was published
/// and confirmed then, and is lost now. Their message ids went with them,
/// so the finding names the partition and the offsets.
fn acked_gone(f: &mut Facts, t: u64, part: Part, gone: std::ops::Range<u64>, names: &Names) {
    let n = gone.end - gone.start;
    f.counts.published += n;
    f.counts.confirmed += n;
    f.counts.lost += n;
    f.log.acked_gone += n;
    let text = format!(
        "{}-{} offsets {}..{} ({n} records) were acknowledged before the page closed and are not in the recovered log: the disk lost them",
        names.topic(part.0),
        part.1,
        gone.start,
        gone.end
    );
    f.find("lost", vec![], vec![t], text);
}
