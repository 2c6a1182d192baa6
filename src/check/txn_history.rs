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
use crate::broker::{ClientId, MsgId};
use crate::history::{msg_name, Entry, History, HistoryEvent, LogEntry, OpType, Proc};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// (topic, partition, offset).
type Place = (TopicId, PartitionId, u64);

#[derive(Clone, Default)]
struct Gathered {
    topic_of: BTreeMap<MsgId, TopicId>,
    /// Each transactional client's current producer id.
    producer_of: BTreeMap<ClientId, u64>,
    /// (client, msg, partition, offset, time) of each transactional write.
    produced: Vec<(ClientId, MsgId, PartitionId, u64, u64)>,
    /// Indexes into `produced` per message, in order.
    produced_of: BTreeMap<MsgId, Vec<usize>>,
    markers: Vec<TxnMarker>,
    /// Indexes into `markers` per (topic, partition, producer id), by
    /// offset (the first marker seen at an offset).
    markers_of: BTreeMap<(TopicId, PartitionId, u64), BTreeMap<u64, usize>>,
    /// (reader, msg, partition, offset, time).
    reads: Vec<(ClientId, MsgId, PartitionId, u64, u64)>,
    /// Every message appended at each place.
    held: BTreeMap<Place, Vec<MsgId>>,
}

fn gather(history: &History) -> Gathered {
    let mut g = Gathered::default();
    for ev in history.events() {
        gather_event(&mut g, ev);
    }
    g
}

/// What one event taught [`Gathered`] that the live checker reacts to
/// beyond new reads and writes (it finds those by the lists' lengths).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Learned {
    /// Nothing that places a message or closes a transaction.
    Nothing,
    /// `msg` was appended at `place`; `first` when that told its topic.
    Appended {
        msg: MsgId,
        place: Place,
        first: bool,
    },
    /// A marker landed: the last of [`Gathered::markers`].
    Marker,
}

/// Learns from one event (the batch checker reads all of them in a row, the
/// live one as they come). Every entry is named: a new one does not compile
/// until the transactional checker decides what it means.
fn gather_event(g: &mut Gathered, ev: &HistoryEvent) -> Learned {
    let t = ev.time_ms;
    match ev.entry {
        Entry::Log(e) => {
            if let Proc::Client(c) = ev.process {
                gather_client(g, t, c, e);
            }
            Learned::Nothing
        }
        Entry::Broker(note) => match (ev.process, super::log_note(note)) {
            (Proc::Broker(_), Some(n)) => gather_note(g, t, n),
            // Broker notes come from the broker, log notes from a log broker.
            (Proc::Client(_), _) | (Proc::Broker(_), None) => Learned::Nothing,
        },
        // Publishes, processing and faults: a transactional write is known
        // by its `produced`, its outcome by the markers; the lineage of
        // inputs and outputs is [`Lineage`]'s.
        Entry::Publish { .. }
        | Entry::Retry { .. }
        | Entry::Process { .. }
        | Entry::AckSent { .. }
        | Entry::NackSent { .. }
        | Entry::Deliver { .. }
        | Entry::Crash
        | Entry::Restart
        | Entry::DropAcks { .. }
        | Entry::NetDrop { .. }
        | Entry::Deduplicated { .. }
        | Entry::Setting(_) => Learned::Nothing,
    }
}

/// A log client's entry: producer ids, transactional writes, reads.
fn gather_client(g: &mut Gathered, t: u64, c: ClientId, e: LogEntry) {
    match e {
        LogEntry::ProducerId { producer_id, .. } => {
            g.producer_of.insert(c, producer_id);
        }
        LogEntry::Produced {
            msg,
            partition,
            offset,
        } => {
            if g.producer_of.contains_key(&c) {
                g.produced_of.entry(msg).or_default().push(g.produced.len());
                g.produced.push((c, msg, partition, offset, t));
            }
        }
        LogEntry::Read {
            msg,
            partition,
            offset,
            ..
        } => g.reads.push((c, msg, partition, offset, t)),
        // Group membership, polls, processing, commits and seeks: what was
        // read is in the reads; processing is [`Lineage`]'s.
        LogEntry::Join { .. }
        | LogEntry::Assigned { .. }
        | LogEntry::Poll { .. }
        | LogEntry::Process { .. }
        | LogEntry::Commit { .. }
        | LogEntry::CommitDone { .. }
        | LogEntry::Seek { .. }
        | LogEntry::Leave { .. } => {}
    }
}

/// A log-broker note: appends place messages, markers close transactions.
fn gather_note(g: &mut Gathered, t: u64, n: LogNote) -> Learned {
    match n {
        LogNote::Appended {
            msg,
            topic,
            partition,
            offset,
        } => {
            let first = !g.topic_of.contains_key(&msg);
            g.topic_of.entry(msg).or_insert(topic);
            let place = (topic, partition, offset);
            let held = g.held.entry(place).or_default();
            if !held.contains(&msg) {
                held.push(msg);
            }
            Learned::Appended { msg, place, first }
        }
        LogNote::Txn(txn) => {
            let Some(m) = TxnMarker::from_note(txn, t) else {
                return Learned::Nothing;
            };
            let of = g.markers_of.entry((m.topic, m.partition, m.producer_id));
            of.or_default().entry(m.offset).or_insert(g.markers.len());
            g.markers.push(m);
            Learned::Marker
        }
        // A carried record's transaction ended in an earlier visit (the
        // log checker hides aborted ones); the rest neither places a
        // transactional record nor closes a transaction.
        LogNote::Carried { .. }
        | LogNote::AckedBefore { .. }
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
        | LogNote::Assigned { .. }
        | LogNote::SessionExpired { .. }
        | LogNote::Committed { .. }
        | LogNote::CommitRejected { .. }
        | LogNote::UnstableOffsetCommit { .. }
        | LogNote::Position { .. }
        | LogNote::DuplicateSequence { .. }
        | LogNote::SequenceRejected { .. } => Learned::Nothing,
    }
}

impl Gathered {
    fn single(&self, p: &Place) -> bool {
        self.held.get(p).is_none_or(|m| m.len() == 1)
    }

    /// Write `i` of `produced` with its topic and producer id (as known now),
    /// if its message was appended somewhere.
    fn write(&self, i: usize) -> Option<TxnWrite> {
        let (c, msg, partition, offset, time_ms) = self.produced[i];
        let topic = *self.topic_of.get(&msg)?;
        Some(TxnWrite {
            msg,
            producer_id: self.producer_of[&c],
            topic,
            partition,
            offset,
            time_ms,
        })
    }

    /// The first marker of `w`'s producer in its partition at an offset
    /// `from` or later.
    fn closing(&self, w: &TxnWrite, from: u64) -> Option<&TxnMarker> {
        let of = self
            .markers_of
            .get(&(w.topic, w.partition, w.producer_id))?;
        of.range(from..).next().map(|(_, i)| &self.markers[*i])
    }
}

/// The writes, markers and reads [`txn::check`] needs, from the history.
pub fn inputs(history: &History) -> (Vec<TxnWrite>, Vec<TxnMarker>, Vec<TxnRead>) {
    let g = gather(history);
    let single = |p: &Place| g.single(p);
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
    let survived = |p: &Place, msg: MsgId| g.held.get(p).is_none_or(|m| m.last() == Some(&msg));
    let mut writes = Vec::new();
    for w in (0..g.produced.len()).filter_map(|i| g.write(i)) {
        let place = (w.topic, w.partition, w.offset);
        let keep = if only_single {
            g.single(&place)
        } else {
            survived(&place, w.msg)
        };
        if keep {
            writes.push(w);
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
    let count = |kind| found.iter().filter(|f| finding_kind(f) == kind).count();
    let counts = [
        ("G1a", count("G1a")),
        ("precommitted-read", count("precommitted-read")),
    ];
    let listed = found.iter().copied().scan(BTreeMap::new(), |n, f| {
        let seen = n.entry(finding_kind(&f)).or_insert(0);
        *seen += 1;
        Some((*seen <= FINDINGS_PER_KIND_MAX).then_some(f))
    });
    report(summary, listed.flatten(), counts);
    found
}

fn finding_kind(f: &TxnFinding) -> &'static str {
    match f {
        TxnFinding::AbortedRead { .. } => "G1a",
        TxnFinding::PrecommittedRead { .. } => "precommitted-read",
    }
}

/// Adds the listed findings (at most [`FINDINGS_PER_KIND_MAX`] per kind, in
/// read order) and a violation per kind found to `summary`.
fn report(
    summary: &mut Summary,
    listed: impl Iterator<Item = TxnFinding>,
    counts: [(&'static str, usize); 2],
) {
    for f in listed {
        let read = match &f {
            TxnFinding::AbortedRead { read, .. } | TxnFinding::PrecommittedRead { read, .. } => {
                read
            }
        };
        summary.findings.push(Finding {
            kind: finding_kind(&f),
            msgs: vec![msg_name(read.msg)],
            times_ms: vec![read.time_ms],
            explanation: f.to_string(),
        });
    }
    for (kind, n) in counts.into_iter().filter(|(_, n)| *n > 0) {
        let what = match kind {
            "G1a" => "G1a (aborted read)",
            _ => "precommitted-read",
        };
        summary.violations.push(format!("{what}: {n} reads"));
        summary.ok = false;
    }
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
/// Each input comes with the client that processed it (its consumer group
/// judges duplicates).
pub fn committed_in_doubt(history: &History) -> BTreeMap<MsgId, (u64, ClientId)> {
    let g = gather(history);
    let mut lineage = Lineage::default();
    for ev in history.events() {
        lineage.step(&g, ev);
    }
    resolve(&g, &lineage.in_doubt)
}

/// Which input each transactional output was written for, read event by
/// event (see [`committed_in_doubt`]).
#[derive(Clone, Default)]
struct Lineage {
    /// Per client: inputs whose output has not been handed over yet.
    queue: BTreeMap<ClientId, VecDeque<MsgId>>,
    output_of: BTreeMap<MsgId, MsgId>,
    /// (client, input, its output in the attempt whose outcome is unknown).
    in_doubt: Vec<(ClientId, MsgId, MsgId)>,
}

impl Lineage {
    fn step(&mut self, g: &Gathered, ev: &HistoryEvent) {
        let Proc::Client(c) = ev.process else {
            return;
        };
        if !g.producer_of.contains_key(&c) {
            return; // not a transactional client
        }
        match ev.entry {
            Entry::Log(LogEntry::Process { ty, msg, .. }) => match ty {
                OpType::Invoke => self.queue.entry(c).or_default().push_back(msg),
                // A batch given up before its outputs were handed over.
                OpType::Ok | OpType::Fail | OpType::Info => {
                    self.queue.entry(c).or_default().retain(|m| *m != msg);
                    if ty == OpType::Info {
                        if let Some(out) = self.output_of.get(&msg) {
                            self.in_doubt.push((c, msg, *out));
                        }
                    }
                }
            },
            Entry::Publish { ty, msg, .. } => {
                if ty == OpType::Invoke {
                    let input = self.queue.entry(c).or_default().pop_front();
                    self.output_of
                        .insert(input.expect("one output per input record"), msg);
                }
            }
            Entry::Crash => {
                self.queue.remove(&c);
            }
            // The client's other log steps (reads, commits, producer ids)
            // say nothing about which input an output belongs to.
            Entry::Log(_) => {}
            // Not a transactional client's lineage: queue-client steps,
            // broker notes, a restart (the crash already cleared the batch),
            // faults and settings.
            Entry::Retry { .. }
            | Entry::Process { .. }
            | Entry::AckSent { .. }
            | Entry::NackSent { .. }
            | Entry::Deliver { .. }
            | Entry::Broker(_)
            | Entry::Restart
            | Entry::DropAcks { .. }
            | Entry::NetDrop { .. }
            | Entry::Deduplicated { .. }
            | Entry::Setting(_) => {}
        }
    }
}

/// The in-doubt inputs whose output's transaction committed, with the time
/// of the commit marker and the client that processed them.
fn resolve(
    g: &Gathered,
    in_doubt: &[(ClientId, MsgId, MsgId)],
) -> BTreeMap<MsgId, (u64, ClientId)> {
    // Every write, also at an offset reused after a crash: the outcome is
    // looked up by message id, not by what a reader saw there.
    let survived = |w: &TxnWrite| {
        let place = (w.topic, w.partition, w.offset);
        g.held.get(&place).is_none_or(|m| m.last() == Some(&w.msg))
    };
    let mut resolved = BTreeMap::new();
    for &(client, input, out) in in_doubt {
        let tries = g.produced_of.get(&out).into_iter().flatten();
        let Some(w) = tries.filter_map(|i| g.write(*i)).find(survived) else {
            continue;
        };
        // `>=`: a write lost in a broker crash leaves its offset free, and
        // the recovery's marker for its transaction may take it.
        if let Some(m) = g.closing(&w, w.offset).filter(|m| m.commit) {
            resolved.insert(input, (m.time_ms, client));
        }
    }
    resolved
}

/// The transactional checks, live (see [`super::live`]): the same findings
/// as [`apply`] and the same resolutions as [`committed_in_doubt`], kept up
/// to date event by event. A read is judged again only when something it
/// depends on changes: a write or another record lands at its offset, a
/// marker of the writer's producer lands after the write, or (rarely) a
/// client's producer id changes, which re-judges every read.
#[derive(Clone, Default)]
pub(super) struct Live {
    g: Gathered,
    lineage: Lineage,
    /// Reads and writes by place; those whose message's topic is not known
    /// yet wait in `unplaced` (indexes, `true` for a read).
    reads_at: BTreeMap<Place, Vec<usize>>,
    writes_at: BTreeMap<Place, Vec<usize>>,
    unplaced: BTreeMap<MsgId, Vec<(bool, usize)>>,
    /// Places whose reads must be judged again.
    dirty: BTreeSet<Place>,
    rejudge_all: bool,
    /// Current findings by read index, per kind.
    aborted_reads: BTreeMap<usize, TxnFinding>,
    precommitted_reads: BTreeMap<usize, TxnFinding>,
}

impl Live {
    pub(super) fn consume(&mut self, ev: &HistoryEvent) {
        let (reads, produced) = (self.g.reads.len(), self.g.produced.len());
        let pid_before = match ev.process {
            Proc::Client(c) => self.g.producer_of.get(&c).copied(),
            Proc::Broker(_) => None,
        };
        let learned = gather_event(&mut self.g, ev);
        self.lineage.step(&self.g, ev);
        if let Proc::Client(c) = ev.process {
            let pid = self.g.producer_of.get(&c).copied();
            if pid_before.is_some() && pid != pid_before {
                self.rejudge_all = true; // every write of this client changed producer
            }
        }
        if reads < self.g.reads.len() {
            let msg = self.g.reads[reads].1;
            self.place(true, reads, msg);
        }
        if produced < self.g.produced.len() {
            let msg = self.g.produced[produced].1;
            self.place(false, produced, msg);
        }
        match learned {
            Learned::Appended { msg, place, first } => {
                self.dirty.insert(place);
                if first {
                    for (is_read, i) in self.unplaced.remove(&msg).unwrap_or_default() {
                        self.place(is_read, i, msg);
                    }
                }
            }
            Learned::Marker => {
                let m = *self.g.markers.last().expect("a marker just landed");
                self.marker_landed(m);
            }
            Learned::Nothing => {}
        }
    }

    /// Files read or write `i` under its place, or waits for its topic.
    fn place(&mut self, is_read: bool, i: usize, msg: MsgId) {
        let Some(&topic) = self.g.topic_of.get(&msg) else {
            self.unplaced.entry(msg).or_default().push((is_read, i));
            return;
        };
        let (partition, offset) = if is_read {
            let r = self.g.reads[i];
            (r.2, r.3)
        } else {
            let w = self.g.produced[i];
            (w.2, w.3)
        };
        let place = (topic, partition, offset);
        let at = if is_read {
            &mut self.reads_at
        } else {
            &mut self.writes_at
        };
        let list = at.entry(place).or_default();
        // Keep production order: a write placed late goes where it belongs.
        let pos = list.partition_point(|&j| j < i);
        list.insert(pos, i);
        self.dirty.insert(place);
    }

    /// A marker at `m.offset` closes the producer's writes from its
    /// previous marker in that partition up to this one.
    fn marker_landed(&mut self, m: TxnMarker) {
        let of = &self.g.markers_of[&(m.topic, m.partition, m.producer_id)];
        let from = of.range(..m.offset).next_back().map_or(0, |(o, _)| *o);
        let lo = (m.topic, m.partition, from);
        let hi = (m.topic, m.partition, m.offset);
        let places: Vec<Place> = self.reads_at.range(lo..hi).map(|(p, _)| *p).collect();
        self.dirty.extend(places);
    }

    /// The in-doubt inputs resolved as committed, as [`committed_in_doubt`].
    pub(super) fn resolved(&self) -> BTreeMap<MsgId, (u64, ClientId)> {
        resolve(&self.g, &self.lineage.in_doubt)
    }

    /// Judges what changed and adds the findings and violations to
    /// `summary`, as [`apply`] does.
    pub(super) fn apply(&mut self, summary: &mut Summary) {
        let places: Vec<Place> = if std::mem::take(&mut self.rejudge_all) {
            self.dirty.clear();
            self.reads_at.keys().copied().collect()
        } else {
            std::mem::take(&mut self.dirty).into_iter().collect()
        };
        for place in places {
            let reads = self.reads_at.get(&place).cloned().unwrap_or_default();
            for i in reads {
                let found = self.judge(i, place);
                self.aborted_reads.remove(&i);
                self.precommitted_reads.remove(&i);
                match found {
                    Some(f @ TxnFinding::AbortedRead { .. }) => self.aborted_reads.insert(i, f),
                    Some(f) => self.precommitted_reads.insert(i, f),
                    None => None,
                };
            }
        }
        let first = |m: &BTreeMap<usize, TxnFinding>| {
            let listed = m.iter().take(FINDINGS_PER_KIND_MAX);
            listed.map(|(i, f)| (*i, *f)).collect::<Vec<_>>()
        };
        let mut listed = first(&self.aborted_reads);
        listed.extend(first(&self.precommitted_reads));
        listed.sort_unstable_by_key(|(i, _)| *i);
        let counts = [
            ("G1a", self.aborted_reads.len()),
            ("precommitted-read", self.precommitted_reads.len()),
        ];
        report(summary, listed.into_iter().map(|(_, f)| f), counts);
    }

    /// Read `i` (at `place`) judged against its write and closing marker,
    /// as [`txn::check`] does.
    fn judge(&self, i: usize, place: Place) -> Option<TxnFinding> {
        let g = &self.g;
        if !g.single(&place) {
            return None;
        }
        let w = g.write(*self.writes_at.get(&place)?.first()?)?;
        let (reader, msg, partition, offset, time_ms) = g.reads[i];
        let read = TxnRead {
            reader,
            msg,
            topic: place.0,
            partition,
            offset,
            time_ms,
        };
        assert_eq!(w.msg, read.msg, "one offset holds one value");
        txn::judge(&read, &w, g.closing(&w, w.offset + 1))
    }
}
