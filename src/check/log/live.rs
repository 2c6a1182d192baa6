//! The log model, live: [`super::check`]'s summary (and the transactional
//! checks after it), kept up to date event by event. See
//! [`crate::check::live`] for the idea; this file holds the log model's
//! bookkeeping.

use super::{
    clash_finding, duplicate_finding, gather, passed, send_clash, send_finding, summarize,
    write_finding, Facts, Part, Reader, WriteBucket,
};
use crate::broker::log::{LogNote, PartitionId};
use crate::broker::{ClientId, KeyId, MsgId};
use crate::check::live::{msg_of, set_member};
use crate::check::{Finding, Snapshot, Summary, FINDINGS_PER_KIND_MAX};
use crate::config::Expectations;
use crate::history::{msg_name, Entry, HistoryEvent, LogEntry, Names, OpType, Proc};
use std::collections::{BTreeMap, BTreeSet};

/// A producer's sends with one key (Kafka orders per key).
type SendKey = (ClientId, Option<KeyId>);

/// What one event changes in the live bookkeeping beyond the facts.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// An `invoke publish`: the message joins this send list.
    Sent(SendKey),
    /// A `produced`: the write was acknowledged.
    Acked,
    /// A `read` used this offset.
    Read { partition: PartitionId, offset: u64 },
    /// An `ok process`; `max_before` is the partition's highest processed
    /// offset before it.
    Processed {
        partition: PartitionId,
        max_before: Option<u64>,
    },
    /// An `append` or `carried` record at `offset` of `part`; `max_before`
    /// as above for a carried record (`None` for an append).
    Placed {
        part: Part,
        offset: u64,
        max_before: Option<u64>,
    },
    /// Nothing beyond the facts.
    Nothing,
}

#[derive(Clone)]
pub(in crate::check) struct Live {
    /// The batch checker's facts; its counts also hold the sum of `buckets`.
    f: Facts,
    txn: crate::check::txn_history::Live,
    drained: bool,
    /// Each message's bucket as last judged. Bound: messages in the run.
    buckets: BTreeMap<MsgId, WriteBucket>,
    /// Messages per finding kind, in [`WriteBucket::FINDING_KINDS`] order.
    by_kind: [BTreeSet<MsgId>; 3],
    dirty: BTreeSet<MsgId>,
    /// The pending messages of the last snapshot (only `wanted` ones).
    pending: BTreeSet<MsgId>,
    /// Published, unprocessed and unacknowledged (or any unprocessed once
    /// drained): their bucket depends on the snapshot.
    wanted: BTreeSet<MsgId>,
    /// In-doubt inputs whose transaction committed, with the marker's time
    /// and the client that processed them.
    resolved: BTreeMap<MsgId, (u64, ClientId)>,
    /// Acknowledged, unprocessed messages by where they were acknowledged:
    /// processing a later offset of that partition makes them lost-writes.
    unread: BTreeSet<(Part, u64, MsgId)>,
    unread_at: BTreeMap<MsgId, (Part, u64)>,
    /// Messages in the log at more than one place (`duplicate`).
    duplicates: BTreeSet<MsgId>,
    /// Offsets that held more than one message (`inconsistent-offsets`).
    clashes: BTreeSet<(Part, u64)>,
    /// Each message's send list and position in it.
    send_pos: BTreeMap<MsgId, (SendKey, usize)>,
    /// Acknowledged sends per list, by position.
    acked_sends: BTreeMap<SendKey, BTreeMap<usize, MsgId>>,
    /// `nonmonotonic-send`: the later send of each bad pair (its list and
    /// position); the earlier is the acknowledged send before it.
    bad_sends: BTreeSet<(SendKey, usize)>,
}

impl Live {
    pub(in crate::check) fn new(read_committed: BTreeSet<ClientId>) -> Live {
        let mut f = Facts::default();
        f.hidden.read_committed = read_committed;
        Live {
            f,
            txn: Default::default(),
            drained: false,
            buckets: BTreeMap::new(),
            by_kind: Default::default(),
            dirty: BTreeSet::new(),
            pending: BTreeSet::new(),
            wanted: BTreeSet::new(),
            resolved: BTreeMap::new(),
            unread: BTreeSet::new(),
            unread_at: BTreeMap::new(),
            duplicates: BTreeSet::new(),
            clashes: BTreeSet::new(),
            send_pos: BTreeMap::new(),
            acked_sends: BTreeMap::new(),
            bad_sends: BTreeSet::new(),
        }
    }

    pub(in crate::check) fn wanted(&self) -> &BTreeSet<MsgId> {
        &self.wanted
    }

    pub(in crate::check) fn consume(&mut self, ev: &HistoryEvent, names: &Names) {
        self.txn.consume(ev);
        let step = self.step_of(ev);
        gather(&mut self.f, ev.time_ms, ev.process, ev.entry, names);
        let Some(id) = msg_of(&ev.entry) else {
            return;
        };
        self.dirty.insert(id);
        let m = &self.f.msgs[&id];
        let open = m.producer.is_some()
            && m.processed.is_empty()
            && (m.outcome != Some(OpType::Ok) || self.drained);
        set_member(&mut self.wanted, id, open);
        match step {
            Step::Sent(key) => {
                let list = &self.f.sends[&key];
                self.send_pos.insert(id, (key, list.len() - 1));
            }
            Step::Acked => self.acked(id),
            Step::Read { partition, offset } => {
                self.offset_used((self.f.topic_of(id), partition), offset);
            }
            Step::Processed {
                partition,
                max_before,
            } => {
                self.first_processing(id);
                self.passed_by((self.f.topic_of(id), partition), max_before);
            }
            Step::Placed {
                part,
                offset,
                max_before,
            } => {
                let twice = duplicate_finding(id, &self.f.msgs[&id]).is_some();
                set_member(&mut self.duplicates, id, twice);
                self.offset_used(part, offset);
                if self.f.processed_max.contains_key(&part) {
                    // A carried record consumed in the earlier visit counts
                    // as processed there.
                    self.passed_by(part, max_before);
                }
            }
            Step::Nothing => {}
        }
    }

    /// What `ev` will change here, read before the facts learn from it
    /// (some steps need the partition's processed offset from before).
    /// Every entry is named: a new one does not compile until this decides.
    fn step_of(&self, ev: &HistoryEvent) -> Step {
        match ev.entry {
            Entry::Publish { ty, key, .. } => match (ev.process, ty) {
                (Proc::Client(p), OpType::Invoke) => Step::Sent((p, key)),
                // An outcome: `produced` (just before an `ok`) is the step.
                (Proc::Client(_), OpType::Ok | OpType::Fail | OpType::Info) => Step::Nothing,
                (Proc::Broker(_), _) => Step::Nothing,
            },
            Entry::Log(e) => self.log_step(e),
            Entry::Broker(note) => match crate::check::log_note(note) {
                Some(n) => self.note_step(n),
                None => Step::Nothing,
            },
            // Retries count in the facts; the queue broker's client steps
            // are not a log run's; the rest is about processes and links.
            Entry::Retry { .. }
            | Entry::Process { .. }
            | Entry::AckSent { .. }
            | Entry::NackSent { .. }
            | Entry::Deliver { .. }
            | Entry::Crash
            | Entry::Restart
            | Entry::DropAcks { .. }
            | Entry::NetDrop { .. }
            | Entry::Deduplicated { .. }
            | Entry::Setting(_) => Step::Nothing,
        }
    }

    /// See [`Live::step_of`]: a log client's entry.
    fn log_step(&self, e: LogEntry) -> Step {
        match e {
            LogEntry::Produced { .. } => Step::Acked,
            LogEntry::Read {
                partition, offset, ..
            } => Step::Read { partition, offset },
            LogEntry::Process {
                ty: OpType::Ok,
                partition,
                msg,
                ..
            } => {
                let part = (self.f.topic_of(msg), partition);
                Step::Processed {
                    partition,
                    max_before: self.f.processed_max.get(&part).map(|m| m.0),
                }
            }
            // Only an applied effect counts as processing.
            LogEntry::Process {
                ty: OpType::Invoke | OpType::Fail | OpType::Info,
                ..
            } => Step::Nothing,
            // Membership, polls, commits, seeks and producer ids: the facts
            // keep what matters (poll resets, producer ids).
            LogEntry::Join { .. }
            | LogEntry::Assigned { .. }
            | LogEntry::Poll { .. }
            | LogEntry::Commit { .. }
            | LogEntry::CommitDone { .. }
            | LogEntry::Seek { .. }
            | LogEntry::Leave { .. }
            | LogEntry::ProducerId { .. } => Step::Nothing,
        }
    }

    /// See [`Live::step_of`]: a log-broker note.
    fn note_step(&self, n: LogNote) -> Step {
        match n {
            LogNote::Appended {
                topic,
                partition,
                offset,
                ..
            } => Step::Placed {
                part: (topic, partition),
                offset,
                max_before: None,
            },
            LogNote::Carried {
                topic,
                partition,
                offset,
                ..
            } => Step::Placed {
                part: (topic, partition),
                offset,
                max_before: self.f.processed_max.get(&(topic, partition)).map(|m| m.0),
            },
            // No record changes place: duplicates and refused sequences
            // append nothing, and the rest is bookkeeping the facts count
            // (retention, crash losses, rebalances, markers) or ignore.
            LogNote::DuplicateSequence { .. }
            | LogNote::SequenceRejected { .. }
            | LogNote::Durable { .. }
            | LogNote::RetentionDeleted { .. }
            | LogNote::LostInCrash { .. }
            | LogNote::Recovered { .. }
            | LogNote::TornWrite { .. }
            | LogNote::Truncated { .. }
            | LogNote::WritesStopped { .. }
            | LogNote::RecoveredOffset { .. }
            | LogNote::ProducerStateFromLog { .. }
            | LogNote::RecoveredProducer { .. }
            | LogNote::AckedBefore { .. }
            | LogNote::Assigned { .. }
            | LogNote::SessionExpired { .. }
            | LogNote::Committed { .. }
            | LogNote::CommitRejected { .. }
            | LogNote::UnstableOffsetCommit { .. }
            | LogNote::Position { .. }
            | LogNote::Txn(_) => Step::Nothing,
        }
    }

    /// The partition's highest processed offset may have moved past
    /// acknowledged, unread messages: judge those again.
    fn passed_by(&mut self, part: Part, before: Option<u64>) {
        let now = self.f.processed_max[&part].0;
        let from = before.unwrap_or(0);
        if before.is_some_and(|b| b >= now) {
            return;
        }
        let range = (part, from, 0)..(part, now, 0);
        let ids: Vec<MsgId> = self.unread.range(range).map(|e| e.2).collect();
        self.dirty.extend(ids);
    }

    fn offset_used(&mut self, part: Part, offset: u64) {
        let held = self.f.offsets.get(&(part, offset)).map_or(0, |h| h.len());
        if held > 1 {
            self.clashes.insert((part, offset));
        }
    }

    /// Per-key order: a first processing that comes before an earlier send.
    fn first_processing(&mut self, id: MsgId) {
        let m = &self.f.msgs[&id];
        let (Some(p), Some(_), 1) = (m.producer, m.key, m.processed.len()) else {
            return;
        };
        let order = &self.f.process_order[&(p, m.key)];
        if let [.., a, b] = order.as_slice() {
            if self.f.msgs[b].invoked_ms < self.f.msgs[a].invoked_ms {
                self.f.counts.out_of_order_per_key += 1;
            }
        }
    }

    /// `id`'s acknowledgment arrived: re-pair it with its neighbours among
    /// the acknowledged sends of its list (`nonmonotonic-send`).
    fn acked(&mut self, id: MsgId) {
        let Some(&(key, pos)) = self.send_pos.get(&id) else {
            return;
        };
        let list = self.acked_sends.entry(key).or_default();
        list.insert(pos, id);
        let prev = list.range(..pos).next_back().map(|(_, m)| *m);
        let next = list.range(pos + 1..).next().map(|(p, m)| (*p, *m));
        let f = &self.f;
        let bad = prev.is_some_and(|prev| send_clash(f, prev, id));
        set_member_send(&mut self.bad_sends, (key, pos), bad);
        if let Some((next_pos, next)) = next {
            set_member_send(
                &mut self.bad_sends,
                (key, next_pos),
                send_clash(f, id, next),
            );
        }
    }

    /// A drained run turns unread acknowledged writes into `unseen`.
    pub(in crate::check) fn set_drained(&mut self, drained: bool) {
        if drained == self.drained {
            return;
        }
        self.drained = drained;
        self.dirty.extend(self.f.msgs.keys().copied());
        for (id, m) in &self.f.msgs {
            let open = m.producer.is_some()
                && m.processed.is_empty()
                && (m.outcome != Some(OpType::Ok) || drained);
            set_member(&mut self.wanted, *id, open);
        }
    }

    pub(in crate::check) fn summary(&mut self, snap: &Snapshot, expect: &Expectations) -> Summary {
        let moved = self.pending.symmetric_difference(&snap.pending);
        let moved: Vec<MsgId> = moved.copied().collect();
        self.dirty.extend(moved);
        self.pending.clone_from(&snap.pending);
        let resolved = self.txn.resolved();
        for (id, _) in resolved.iter().chain(&self.resolved) {
            if resolved.get(id) != self.resolved.get(id) {
                self.dirty.insert(*id);
            }
        }
        self.resolved = resolved;
        for id in std::mem::take(&mut self.dirty) {
            self.judge(id);
        }
        let mut log = self.f.log;
        log.duplicate = self.duplicates.len() as u64;
        log.inconsistent_offsets = self.clashes.len() as u64;
        log.nonmonotonic_send = self.bad_sends.len() as u64;
        let mut findings = self.f.findings.clone();
        findings.extend(self.write_findings());
        findings.extend(self.offset_findings());
        findings.extend(self.send_findings());
        let mut summary = summarize(self.f.counts, log, findings, expect);
        self.txn.apply(&mut summary);
        summary
    }

    /// A committed in-doubt processing of `id`, which the history's own
    /// processing entries do not hold: when, and by which group.
    fn resolved_processing(&self, id: MsgId) -> Option<(u64, Reader)> {
        let (t, client) = self.resolved.get(&id)?;
        Some((*t, self.f.group_of.get(client).copied()))
    }

    /// The times a finding of `kind` about `id` points at: for `duplicated`
    /// the processing of the group that did it more than once, else all.
    fn processed_times(&self, kind: &str, id: MsgId) -> Vec<u64> {
        let m = &self.f.msgs[&id];
        let extra = self.resolved_processing(id);
        if kind == "duplicated" {
            return m.times_in_busiest_group(extra);
        }
        let mut times = m.processed_times();
        times.extend(extra.map(|p| p.0));
        times
    }

    /// Re-judges one message's bucket and swaps it into the counts.
    fn judge(&mut self, id: MsgId) {
        let Some(m) = self.f.msgs.get(&id) else {
            return;
        };
        let extra = self.resolved_processing(id);
        let processed = m.processed.len() + usize::from(extra.is_some());
        let in_one_group = m.busiest_group(extra).0;
        let pending = self.pending.contains(&id);
        let passed = passed(&self.f, id).is_some();
        let counts = (processed, in_one_group);
        let new = WriteBucket::of(m, counts, pending, self.drained, passed);
        let unread = m.producer.is_some() && m.outcome == Some(OpType::Ok) && processed == 0;
        let at = unread.then(|| {
            let (partition, offset, _) = super::acked_place(m);
            ((self.f.topic_of(id), partition), offset)
        });
        if let Some((part, offset)) = self.unread_at.remove(&id) {
            self.unread.remove(&(part, offset, id));
        }
        if let Some((part, offset)) = at {
            self.unread.insert((part, offset, id));
            self.unread_at.insert(id, (part, offset));
        }
        let old = self.buckets.insert(id, new).unwrap_or_default();
        if old == new {
            return;
        }
        old.add_to(&mut self.f.counts, &mut self.f.log, -1);
        new.add_to(&mut self.f.counts, &mut self.f.log, 1);
        for (k, (bit, _)) in WriteBucket::FINDING_KINDS.iter().enumerate() {
            set_member(&mut self.by_kind[k], id, new.0 & bit != 0);
        }
    }

    /// `duplicated`, `lost-write` and `unseen`, in message order.
    fn write_findings(&self) -> Vec<Finding> {
        let mut listed: Vec<(MsgId, usize)> = Vec::new();
        for (k, ids) in self.by_kind.iter().enumerate() {
            listed.extend(ids.iter().take(FINDINGS_PER_KIND_MAX).map(|id| (*id, k)));
        }
        listed.sort_unstable();
        let tell = |(id, k): (MsgId, usize)| {
            let kind = WriteBucket::FINDING_KINDS[k].1;
            let pending = self.pending.contains(&id);
            let times = self.processed_times(kind, id);
            let (times, text) = write_finding(&self.f, kind, id, times, pending);
            finding(kind, vec![id], times, text)
        };
        listed.into_iter().map(tell).collect()
    }

    /// `duplicate` and `inconsistent-offsets`.
    fn offset_findings(&self) -> Vec<Finding> {
        let dups = self.duplicates.iter().take(FINDINGS_PER_KIND_MAX);
        let dups = dups.filter_map(|id| {
            let (times, text) = duplicate_finding(*id, &self.f.msgs[id])?;
            Some(finding("duplicate", vec![*id], times, text))
        });
        let clashes = self.clashes.iter().take(FINDINGS_PER_KIND_MAX);
        let clashes = clashes.filter_map(|place| {
            let (ids, times, text) = clash_finding(*place, &self.f.offsets[place])?;
            Some(finding("inconsistent-offsets", ids, times, text))
        });
        dups.chain(clashes).collect()
    }

    /// `nonmonotonic-send`, in list order.
    fn send_findings(&self) -> Vec<Finding> {
        let bad = self.bad_sends.iter().take(FINDINGS_PER_KIND_MAX);
        bad.filter_map(|(key, pos)| {
            let list = &self.acked_sends[key];
            let prev = list.range(..pos).next_back().map(|(_, m)| *m)?;
            let (ids, times, text) = send_finding(&self.f, prev, list[pos])?;
            Some(finding("nonmonotonic-send", ids, times, text))
        })
        .collect()
    }
}

fn set_member_send(set: &mut BTreeSet<(SendKey, usize)>, at: (SendKey, usize), on: bool) {
    if on {
        set.insert(at);
    } else {
        set.remove(&at);
    }
}

fn finding(kind: &'static str, msgs: Vec<MsgId>, times_ms: Vec<u64>, text: String) -> Finding {
    Finding {
        kind,
        msgs: msgs.into_iter().map(msg_name).collect(),
        times_ms,
        explanation: text,
    }
}
