//! The queue-model checker: reads a history and says what went wrong.
//!
//! It judges *processed effects* (a consumer's `ok process`), not deliveries:
//! a message delivered to a consumer that crashed before applying it is not
//! processed. The names follow Jepsen's `total-queue` model:
//!
//! - **lost**: the broker confirmed the publish (`ok`), yet the message was
//!   never processed and is nowhere any more, and nothing it was promised
//!   explains it: a violation;
//! - **transient_lost**: confirmed, then taken by a broker crash while it
//!   was transient (a transient message, or any message in a transient
//!   queue). RabbitMQ keeps only persistent messages of durable queues
//!   across a restart, so this loss is expected: counted apart from `lost`,
//!   not a violation of the scenario's `expect.no_lost` (a guarantee's
//!   verdict still counts it: the setup did not deliver at least once);
//! - **unexpected**: processed, but never published;
//! - **duplicated**: processed more than once;
//! - **recovered**: a publish with unknown outcome (`info`) that was processed
//!   anyway. Allowed: `info` means "may have happened".
//!
//! Plus **out-of-order**: a producer's message processed after a later message
//! of the same producer (and the stricter per-key variant), each with the cause
//! when the history names one.
//!
//! ## Count reconciliation
//!
//! Every published message id ends in exactly one of these, checked in order:
//!
//! ```text
//! published = processed            (at least one ok process)
//!           + dead_lettered        (sitting in a dead-letter queue at the end)
//!           + pending              (still in the broker, on a link or in a consumer)
//!           + discarded            (dropped on purpose: reject without DLQ,
//!                                   x-max-length, unroutable)
//!           + lost                 (publish ok, gone: the anomaly)
//!           + unconfirmed_missing  (publish info/fail, gone: allowed)
//!           + transient_lost       (publish ok, transient, taken by a crash;
//!                                   written only when there are any)
//! ```
//!
//! A second identity checks the broker's own bookkeeping from its notes:
//! `enqueued copies = deleted + dead_lettered + lost_in_crash + held at the end`.
//! A third checks the consumers' effect store: `sum of effects = ok process events`.
//!
//! ## Rooms
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | the queue model: facts from the history, buckets, the summary |
//! | `story.rs` | the queue model's findings told as stories, and out-of-order |
//! | `live.rs` | the same summary kept up to date as the history grows |
//! | `log/` | the log model (Jepsen's Kafka anomalies), batch and live |
//! | `txn.rs`, `txn_history.rs` | G1a and precommitted-read, and their feed from the history |
//! | `guarantee.rs` | the verdict for a claimed delivery guarantee, with cause chains |
//! | `chain.rs` | a finding's causal chain read from the history, one rule for every kind ("Show me") |
//! | `recorded.rs` | the same checks on a history recorded anywhere (`brokerlab check`) |
//! | `cluster.rs` | the replication checker: lost with its chain, diverged replicas, a committed record moved back, a read record vanished (issue 13) |
//!
//! Every match over history entries and broker notes here names each
//! variant: a new note does not compile until each checker decides what it
//! means for it.

pub mod chain;
pub mod cluster;
#[cfg(not(target_arch = "wasm32"))]
pub mod cluster_txn;
pub mod guarantee;
pub mod live;
pub mod log;
pub mod recorded;
mod shared;
mod story;
pub mod txn;
pub mod txn_history;

use shared::SharedMap;
use story::{msg_finding, Order};

use crate::broker::{ClientId, Delivery, MsgId, Note, ReturnReason};
use crate::config::Expectations;
use crate::history::{msg_name, Entry, History, HistoryEvent, Names, OpType, Proc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// At most this many findings of one kind are listed; counts are always complete.
pub const FINDINGS_PER_KIND_MAX: usize = 20;

/// Where unfinished messages are at the end of the run (from the world).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Messages still in the broker, on a link, or in a consumer's hands.
    pub pending: BTreeSet<MsgId>,
    /// Copies the broker holds (ready + unacked), for the broker identity.
    pub broker_held: u64,
}

/// One thing the checker found, naming messages and times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `lost`, `duplicated`, `unexpected`, `recovered`, `out_of_order`.
    pub kind: &'static str,
    /// The messages it is about (`m5`), first the one whose story tells it.
    pub msgs: Vec<String>,
    /// When it happened: the virtual times the explanation names.
    pub times_ms: Vec<u64>,
    /// A sentence for people.
    pub explanation: String,
}

/// Every count the checker reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Distinct messages producers published.
    pub published: u64,
    /// Publish outcomes: `ok` (confirmed), `info` (unknown), `fail` (refused).
    pub confirmed: u64,
    /// Publishes whose outcome is unknown (`info`, or no answer yet).
    pub unconfirmed: u64,
    /// Publishes the broker refused (`fail`).
    pub refused: u64,
    /// Distinct messages whose effect was applied at least once.
    pub processed: u64,
    /// `ok process` events, counting repeats.
    pub processed_total: u64,
    /// Unprocessed messages sitting in a dead-letter queue at the end.
    pub dead_lettered: u64,
    /// Unprocessed messages still in the broker, on a link or in a consumer.
    pub pending: u64,
    /// Messages dropped on purpose (reject without DLQ, `x-max-length`,
    /// unroutable).
    pub discarded: u64,
    /// Confirmed, never processed, gone: the anomaly.
    pub lost: u64,
    /// Unconfirmed and gone: allowed (the producer was never told yes).
    pub unconfirmed_missing: u64,
    /// Confirmed, transient, and taken by a broker crash: the loss RabbitMQ
    /// promises for a transient message or queue. Expected, not `lost`.
    /// Left out of the summary JSON when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub transient_lost: u64,
    /// Messages whose effect was applied more than once.
    pub duplicated: u64,
    /// Processed but never published.
    pub unexpected: u64,
    /// Unknown publish outcome, processed anyway (allowed).
    pub recovered: u64,
    /// Processed after a later message of the same producer.
    pub out_of_order: u64,
    /// Processed after a later message of the same producer and key.
    pub out_of_order_per_key: u64,
    /// Deliveries to consumers (queue) or records read (log).
    pub deliveries: u64,
    /// Deliveries flagged `redelivered` (log: records read again).
    pub redeliveries: u64,
    /// Publishes re-sent after a confirm timeout.
    pub publish_retries: u64,
    /// Virtual time of the last `ok process`: how long the work took.
    pub last_processed_ms: u64,
}

/// The one-line result of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The scenario's name (the world fills it in).
    pub scenario: String,
    /// The seed of the run.
    pub seed: u64,
    /// Virtual time at the end of the run.
    pub time_ms: u64,
    /// History events recorded.
    pub events: u64,
    /// Every count, reconciled.
    pub counts: Counts,
    /// The reconciliation identity with numbers filled in.
    pub identity: String,
    /// The broker's conservation identity with numbers filled in.
    pub broker_identity: String,
    /// The consumers' effect store: effects applied, summed over messages.
    pub effects_total: u64,
    /// Virtual ms each consumer spent processing (the parallelism it delivered).
    pub consumer_busy_ms: BTreeMap<String, u64>,
    /// True when no invariant and no scenario expectation is violated.
    pub ok: bool,
    /// Each broken invariant or expectation, as a sentence.
    pub violations: Vec<String>,
    /// What was found, at most [`FINDINGS_PER_KIND_MAX`] of each kind.
    pub findings: Vec<Finding>,
    /// Log-model counts (Jepsen's Kafka anomalies); `None` for queue runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<log::LogCounts>,
}

/// What the checker learns about one message id.
#[derive(Clone, Debug, Default)]
struct MsgInfo {
    producer: Option<ClientId>,
    published_at_ms: u64,
    outcome: Option<OpType>,
    retries: u32,
    /// (time, consumer) of each `ok process`.
    processed: Vec<(u64, ClientId, Delivery)>,
    /// The last thing the broker did with it that decides its fate.
    fate: Option<(u64, Note)>,
    /// The last time it went back to its queue, and why.
    last_return: Option<(u64, ReturnReason)>,
    /// The last delivery: (time, consumer).
    last_delivery: Option<(u64, ClientId)>,
    /// An earlier run published it: a resume carried it over from a
    /// durable queue's store (`carried`), so it has no producer here.
    carried: bool,
}

/// Reads the history once and builds per-message facts.
#[derive(Clone)]
struct Facts {
    /// Per message: shared between the live checker's copies (the
    /// timeline's checkpoints), see `shared.rs`. Bound: messages in the run.
    msgs: SharedMap<MsgInfo>,
    crashes: BTreeMap<ClientId, Vec<u64>>,
    broker_crashes: Vec<u64>,
    counts: Counts,
    notes: BrokerTally,
}

#[derive(Clone, Copy, Debug, Default)]
struct BrokerTally {
    enqueued: u64,
    deleted: u64,
    dead_lettered: u64,
    lost_in_crash: u64,
}

impl Facts {
    fn new() -> Facts {
        Facts {
            msgs: SharedMap::default(),
            crashes: BTreeMap::new(),
            broker_crashes: Vec::new(),
            counts: Counts::default(),
            notes: BrokerTally::default(),
        }
    }
}

/// The facts of a whole history, and every `ok process` in history order:
/// (time, consumer, delivery), for the order check.
fn gather(history: &History) -> (Facts, Vec<(u64, ClientId, Delivery)>) {
    let mut f = Facts::new();
    let mut process_order = Vec::new();
    for ev in history.events() {
        gather_event(&mut f, ev);
        process_order.extend(ok_processing(ev));
    }
    (f, process_order)
}

/// An `ok process` as (time, consumer, delivery), what the order check
/// reads; `None` for any other event.
fn ok_processing(ev: &HistoryEvent) -> Option<(u64, ClientId, Delivery)> {
    match (ev.process, ev.entry) {
        (
            Proc::Client(c),
            Entry::Process {
                ty: OpType::Ok,
                delivery,
            },
        ) => Some((ev.time_ms, c, delivery)),
        _ => None,
    }
}

/// Learns from one history event (the batch checker reads them all in a
/// row; the live one, [`live`], as they come). Every entry is named: a new
/// one does not compile until the queue model decides what it means.
fn gather_event(f: &mut Facts, ev: &HistoryEvent) {
    let t = ev.time_ms;
    match ev.entry {
        Entry::Publish { ty, msg, .. } => {
            if let Proc::Client(p) = ev.process {
                let info = f.msgs.entry_or_default(msg);
                if ty == OpType::Invoke {
                    info.producer = Some(p);
                    info.published_at_ms = t;
                } else {
                    info.outcome = Some(ty);
                }
            }
        }
        Entry::Retry { msg, .. } => {
            f.counts.publish_retries += 1;
            f.msgs.entry_or_default(msg).retries += 1;
        }
        Entry::Process { ty, delivery } => {
            if let (Proc::Client(c), OpType::Ok) = (ev.process, ty) {
                gather_processed(f, t, c, delivery);
            }
        }
        Entry::Deliver { to, delivery } => {
            f.counts.deliveries += 1;
            f.counts.redeliveries += u64::from(delivery.redelivered);
            f.msgs.entry_or_default(delivery.msg.id).last_delivery = Some((t, to));
        }
        Entry::Crash => match ev.process {
            Proc::Client(c) => f.crashes.entry(c).or_default().push(t),
            Proc::Broker(_) => f.broker_crashes.push(t),
        },
        Entry::Broker(note) => gather_note(f, t, note),
        // What the consumer sent back: the broker's notes (delete, requeue)
        // tell what the ack or nack did.
        Entry::AckSent { .. } | Entry::NackSent { .. } => {}
        // A restart changes no message; the crash before it was counted.
        Entry::Restart => {}
        // Link faults: a lost message shows as its fate or as pending.
        Entry::DropAcks { .. } | Entry::NetDrop { .. } => {}
        // The effect was not applied again: no `ok process`, nothing to count.
        Entry::Deduplicated { .. } => {}
        // A setting changes how clients behave, not what happened.
        Entry::Setting(_) => {}
        // A log client's entry: the log model's (see [`log`]).
        Entry::Log(_) => {}
    }
}

/// An `ok process`: the effect was applied.
fn gather_processed(f: &mut Facts, t: u64, c: ClientId, delivery: Delivery) {
    f.msgs
        .entry_or_default(delivery.msg.id)
        .processed
        .push((t, c, delivery));
    f.counts.processed_total += 1;
    f.counts.last_processed_ms = t;
}

fn gather_note(f: &mut Facts, t: u64, note: Note) {
    let msg = match note {
        Note::Enqueued { msg, .. } => {
            f.notes.enqueued += 1;
            msg
        }
        Note::Deleted { .. } => {
            f.notes.deleted += 1;
            return;
        }
        Note::Requeued { msg, reason, .. } => {
            f.msgs.entry_or_default(msg).last_return = Some((t, reason));
            return;
        }
        Note::DeadLettered { msg, .. } => {
            f.notes.dead_lettered += 1;
            msg
        }
        Note::LostInCrash { msg, .. } | Note::LostFromDisk { msg, .. } => {
            f.notes.lost_in_crash += 1;
            msg
        }
        // Back from a durable queue's disk: a copy entered the queue again.
        Note::Restored { msg, .. } => {
            f.notes.enqueued += 1;
            msg
        }
        // An earlier run's message, back from its durable queue's store on
        // a resume: published then, and confirmed then if `confirmed`. It
        // counts as published here (what the page's counters show), so
        // that its processing is expected, not `unexpected`.
        Note::Carried { msg, confirmed, .. } => {
            f.notes.enqueued += 1;
            let info = f.msgs.entry_or_default(msg);
            info.carried = true;
            info.published_at_ms = t;
            info.outcome = Some(if confirmed { OpType::Ok } else { OpType::Info });
            msg
        }
        Note::RejectedPublish { msg, .. } | Note::Unroutable { msg } => msg,
        Note::StaleAck { .. }
        | Note::ChannelError { .. }
        | Note::ConsumeRefused { .. }
        | Note::DuplicateDropped { .. }
        | Note::Log(_) => return,
    };
    let info = f.msgs.entry_or_default(msg);
    // An Enqueued after a dead-letter is the copy arriving in the DLQ: keep the
    // dead-letter as the fate.
    let into_dlq = matches!(note, Note::Enqueued { .. })
        && matches!(info.fate, Some((ft, Note::DeadLettered { to: Some(_), .. })) if ft == t);
    if !into_dlq {
        info.fate = Some((t, note));
    }
}

/// The log broker's note inside `note`, if it is one. The log-model
/// checkers read only these: the queue broker's notes never come from a log
/// broker. Every variant is named, so a new queue note does not compile
/// until this decides.
fn log_note(note: Note) -> Option<crate::broker::log::LogNote> {
    match note {
        Note::Log(n) => Some(n),
        Note::Enqueued { .. }
        | Note::Deleted { .. }
        | Note::Requeued { .. }
        | Note::DeadLettered { .. }
        | Note::RejectedPublish { .. }
        | Note::Unroutable { .. }
        | Note::DuplicateDropped { .. }
        | Note::LostInCrash { .. }
        | Note::LostFromDisk { .. }
        | Note::Restored { .. }
        | Note::Carried { .. }
        | Note::StaleAck { .. }
        | Note::ChannelError { .. }
        | Note::ConsumeRefused { .. } => None,
    }
}

/// Runs the checker. The world adds run metadata afterwards.
pub fn check(history: &History, snap: &Snapshot, names: &Names, expect: &Expectations) -> Summary {
    let (mut f, process_order) = gather(history);
    let mut findings = Vec::new();
    classify(&mut f, snap, names, &mut findings);
    let mut order = Order::default();
    for &p in &process_order {
        order.step(&mut f.counts, p);
    }
    findings.extend(order.findings(&f, names));
    finish(&f.counts, &f.notes, snap, expect, findings)
}

/// The summary from the counts: the reconciliation identities, checked.
fn finish(
    c: &Counts,
    n: &BrokerTally,
    snap: &Snapshot,
    expect: &Expectations,
    findings: Vec<Finding>,
) -> Summary {
    let mut identity = format!(
        "published {} = processed {} + dead_lettered {} + pending {} + discarded {} + lost {} + unconfirmed_missing {}",
        c.published, c.processed, c.dead_lettered, c.pending, c.discarded, c.lost, c.unconfirmed_missing
    );
    if c.transient_lost > 0 {
        identity.push_str(&format!(" + transient_lost {}", c.transient_lost));
    }
    let broker_identity = format!(
        "enqueued {} = deleted {} + dead_lettered {} + lost_in_crash {} + held {}",
        n.enqueued, n.deleted, n.dead_lettered, n.lost_in_crash, snap.broker_held
    );
    let mut violations = Vec::new();
    let sum = c.processed
        + c.dead_lettered
        + c.pending
        + c.discarded
        + c.lost
        + c.unconfirmed_missing
        + c.transient_lost;
    if sum != c.published {
        violations.push(format!("counts do not reconcile: {identity}"));
    }
    if n.enqueued != n.deleted + n.dead_lettered + n.lost_in_crash + snap.broker_held {
        violations.push(format!(
            "broker bookkeeping does not reconcile: {broker_identity}"
        ));
    }
    expectation_violations(c, expect, &mut violations);
    Summary {
        counts: *c,
        identity,
        broker_identity,
        ok: violations.is_empty(),
        violations,
        findings,
        ..Summary::default()
    }
}

/// What both models forbid: unexpected messages, and the scenario's `expect`.
fn expectation_violations(c: &Counts, expect: &Expectations, violations: &mut Vec<String>) {
    if c.unexpected > 0 {
        violations.push(format!(
            "{} unexpected messages were processed",
            c.unexpected
        ));
    }
    let rules = [
        (expect.no_lost, c.lost, "expect.no_lost: lost"),
        (
            expect.no_duplicated,
            c.duplicated,
            "expect.no_duplicated: duplicated",
        ),
        (
            expect.no_out_of_order,
            c.out_of_order,
            "expect.no_out_of_order: out_of_order",
        ),
        (
            expect.no_out_of_order_per_key,
            c.out_of_order_per_key,
            "expect.no_out_of_order_per_key: out_of_order_per_key",
        ),
    ];
    for (on, count, what) in rules {
        if on && count > 0 {
            violations.push(format!("{what} = {count}"));
        }
    }
}

/// For `skip_serializing_if`: a count of 0 is left out of the summary JSON.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Cross-checks the consumers' effect store against the history.
pub fn add_effect_invariant(summary: &mut Summary) {
    if summary.effects_total != summary.counts.processed_total {
        summary.violations.push(format!(
            "effects do not match history: effects sum {} != ok process events {}",
            summary.effects_total, summary.counts.processed_total
        ));
        summary.ok = false;
    }
}

/// A finding about one message at one time.
fn one_msg(kind: &'static str, id: MsgId, time_ms: u64, explanation: String) -> Finding {
    Finding {
        kind,
        msgs: vec![msg_name(id)],
        times_ms: vec![time_ms],
        explanation,
    }
}

fn push(findings: &mut Vec<Finding>, finding: Finding) {
    if findings.iter().filter(|x| x.kind == finding.kind).count() < FINDINGS_PER_KIND_MAX {
        findings.push(finding);
    }
}

/// Puts every message in exactly one reconciliation bucket.
fn classify(f: &mut Facts, snap: &Snapshot, names: &Names, findings: &mut Vec<Finding>) {
    for (id, m) in f.msgs.iter() {
        let bucket = Bucket::of(m, snap.pending.contains(&id));
        bucket.add_to(&mut f.counts, 1);
        for kind in bucket.kinds() {
            push(findings, msg_finding(kind, id, m, &f.crashes, names));
        }
    }
}

/// The reconciliation buckets (and anomaly kinds) one message falls in, as
/// bits. Both checkers count with it: the batch one adds every message's
/// bucket once, the live one keeps each message's bucket and swaps it when
/// the message changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Bucket(u16);

impl Bucket {
    const PUBLISHED: u16 = 1;
    const CONFIRMED: u16 = 1 << 1;
    const UNCONFIRMED: u16 = 1 << 2;
    const REFUSED: u16 = 1 << 3;
    const PROCESSED: u16 = 1 << 4;
    const UNEXPECTED: u16 = 1 << 5;
    const RECOVERED: u16 = 1 << 6;
    const DUPLICATED: u16 = 1 << 7;
    const DEAD_LETTERED: u16 = 1 << 8;
    const PENDING: u16 = 1 << 9;
    const DISCARDED: u16 = 1 << 10;
    const LOST: u16 = 1 << 11;
    const UNCONFIRMED_MISSING: u16 = 1 << 12;
    const TRANSIENT_LOST: u16 = 1 << 13;
    /// The kinds that are findings, in the order they are listed per message.
    const FINDING_KINDS: [(u16, &'static str); 5] = [
        (Bucket::UNEXPECTED, "unexpected"),
        (Bucket::RECOVERED, "recovered"),
        (Bucket::DUPLICATED, "duplicated"),
        (Bucket::LOST, "lost"),
        (Bucket::TRANSIENT_LOST, "transient_lost"),
    ];

    /// Where message `m` stands; `pending` says the world still holds it.
    fn of(m: &MsgInfo, pending: bool) -> Bucket {
        let processed = !m.processed.is_empty();
        if m.producer.is_none() && !m.carried {
            return Bucket(if processed { Bucket::UNEXPECTED } else { 0 });
        }
        let mut b = Bucket::PUBLISHED
            | match m.outcome {
                Some(OpType::Ok) => Bucket::CONFIRMED,
                Some(OpType::Fail) => Bucket::REFUSED,
                // No confirm (yet): `info`, or only the `invoke` so far.
                Some(OpType::Info | OpType::Invoke) | None => Bucket::UNCONFIRMED,
            };
        if processed {
            b |= Bucket::PROCESSED;
            if m.outcome != Some(OpType::Ok) {
                b |= Bucket::RECOVERED;
            }
            // A fanout exchange legitimately puts one copy in each bound
            // queue, so a duplicate is a second processing from one queue.
            let mut per_queue: BTreeMap<u32, u32> = BTreeMap::new();
            for p in &m.processed {
                *per_queue.entry(p.2.queue).or_insert(0) += 1;
            }
            if per_queue.values().any(|&n| n > 1) {
                b |= Bucket::DUPLICATED;
            }
            return Bucket(b);
        }
        let dead_lettered = matches!(m.fate, Some((_, Note::DeadLettered { to: Some(_), .. })));
        let discarded = matches!(
            m.fate,
            Some((
                _,
                Note::DeadLettered { to: None, .. }
                    | Note::RejectedPublish { .. }
                    | Note::Unroutable { .. }
            ))
        );
        // A crash took it while it was transient (a persistent message of a
        // durable queue that the disk lost is `lost_from_disk`, and `lost`).
        let transient = matches!(m.fate, Some((_, Note::LostInCrash { .. })));
        b |= match (pending, dead_lettered) {
            (true, true) => Bucket::DEAD_LETTERED,
            (true, false) => Bucket::PENDING,
            _ if discarded => Bucket::DISCARDED,
            _ if m.outcome == Some(OpType::Ok) && transient => Bucket::TRANSIENT_LOST,
            _ if m.outcome == Some(OpType::Ok) => Bucket::LOST,
            _ => Bucket::UNCONFIRMED_MISSING,
        };
        Bucket(b)
    }

    /// Adds (`sign` 1) or takes away (`sign` -1) this bucket from `c`.
    fn add_to(self, c: &mut Counts, sign: i64) {
        let fields: [(u16, &mut u64); 14] = [
            (Bucket::PUBLISHED, &mut c.published),
            (Bucket::CONFIRMED, &mut c.confirmed),
            (Bucket::UNCONFIRMED, &mut c.unconfirmed),
            (Bucket::REFUSED, &mut c.refused),
            (Bucket::PROCESSED, &mut c.processed),
            (Bucket::UNEXPECTED, &mut c.unexpected),
            (Bucket::RECOVERED, &mut c.recovered),
            (Bucket::DUPLICATED, &mut c.duplicated),
            (Bucket::DEAD_LETTERED, &mut c.dead_lettered),
            (Bucket::PENDING, &mut c.pending),
            (Bucket::DISCARDED, &mut c.discarded),
            (Bucket::LOST, &mut c.lost),
            (Bucket::UNCONFIRMED_MISSING, &mut c.unconfirmed_missing),
            (Bucket::TRANSIENT_LOST, &mut c.transient_lost),
        ];
        add_where(self.0, fields, sign);
    }

    /// The finding kinds of this bucket, in listing order.
    fn kinds(self) -> impl Iterator<Item = &'static str> {
        Bucket::FINDING_KINDS
            .into_iter()
            .filter(move |(bit, _)| self.0 & bit != 0)
            .map(|(_, kind)| kind)
    }
}

/// Adds `sign` to every field whose bits are set in `bits`.
fn add_where<const N: usize>(bits: u16, fields: [(u16, &mut u64); N], sign: i64) {
    for (bit, field) in fields {
        if bits & bit != 0 {
            *field = field
                .checked_add_signed(sign)
                .expect("a count never goes below 0");
        }
    }
}
