//! A finding's causal chain, read from the history: the events that show
//! how it came about, in order. The page draws them as marked points on
//! the timeline, each with its sentence ("Show me").
//!
//! One rule for every kind of finding, so no kind is told by hand:
//!
//! 1. every event that names one of the finding's messages
//!    ([`Entry::msg`]): its publish, retries, deliveries, reads, processing,
//!    acks, requeues, losses;
//! 2. the processes those events involve (who published, who got it, the
//!    broker that held it);
//! 3. every disruption ([`is_disruption`]: a crash, a restart, dropped
//!    acks, a torn write, a truncation, a rebalance, a fenced producer...)
//!    of an involved process, or of a broker, between the first of those
//!    events and the finding's last time;
//! 4. and the last disruption of each of those processes before the first
//!    event, since it may still be in effect (acks dropped for two seconds,
//!    a broker not yet restarted).
//!
//! A finding about no message (offsets a recovery did not bring back) is
//! told by the disruptions before it. The chain is bounded by
//! [`CHAIN_EVENTS_MAX`]; a longer one keeps its beginning and its end.

use super::Finding;
use crate::broker::log::LogNote;
use crate::broker::txn::TxnNote;
use crate::broker::{ClientId, MsgId, Note};
use crate::history::{Entry, Events, HistoryEvent, LogEntry, OpType, Proc};
use std::collections::{BTreeMap, BTreeSet};

/// Events in one chain at most (its first and last halves when longer).
pub const CHAIN_EVENTS_MAX: usize = 60;

/// The history indexes of `finding`'s causal chain in `events`, in order
/// (see the module doc). Never empty when the history holds an event that
/// names one of its messages or any disruption before it.
pub fn causal_chain(events: Events<'_>, finding: &Finding) -> Vec<usize> {
    let mut ids: BTreeSet<MsgId> = BTreeSet::new();
    ids.extend(
        finding
            .msgs
            .iter()
            .filter_map(|m| m.strip_prefix('m')?.parse::<MsgId>().ok()),
    );
    let until_ms = finding
        .times_ms
        .iter()
        .copied()
        .max()
        .unwrap_or_else(|| events.last().map_or(0, |e| e.time_ms));
    let mut chain = Vec::new();
    let mut involved: BTreeSet<ClientId> = BTreeSet::new();
    for (i, ev) in events.iter().enumerate() {
        if ev.entry.msg().is_some_and(|m| ids.contains(&m)) {
            chain.push(i);
            involved.extend(clients_of(ev));
        }
    }
    let disruptions = events
        .iter()
        .enumerate()
        .filter(|(_, ev)| ev.time_ms <= until_ms && is_disruption(ev.entry))
        .filter(|(_, ev)| match ev.process {
            Proc::Broker(_) => true,
            Proc::Client(c) => ids.is_empty() || involved.contains(&c),
        });
    match chain.first().copied() {
        Some(first) => {
            let from_ms = events[first].time_ms;
            // Per process, the last disruption before the first event.
            let mut before: BTreeMap<ProcKey, usize> = BTreeMap::new();
            for (i, ev) in disruptions {
                if i < first {
                    before.insert(proc_key(ev.process), i);
                } else if ev.time_ms >= from_ms {
                    chain.push(i);
                }
            }
            chain.extend(before.into_values());
        }
        // No message to follow: the last disruptions before it tell it.
        None => {
            let all: Vec<usize> = disruptions.map(|(i, _)| i).collect();
            chain.extend(&all[all.len().saturating_sub(CHAIN_EVENTS_MAX)..]);
        }
    }
    chain.sort_unstable();
    chain.dedup();
    bound(chain)
}

/// A process as a map key: brokers by node, clients by id.
type ProcKey = (bool, u32);

fn proc_key(p: Proc) -> ProcKey {
    match p {
        Proc::Broker(node) => (true, u32::from(node.0)),
        Proc::Client(c) => (false, c),
    }
}

/// The chain's first and last halves when it is longer than allowed.
fn bound(chain: Vec<usize>) -> Vec<usize> {
    if chain.len() <= CHAIN_EVENTS_MAX {
        return chain;
    }
    let half = CHAIN_EVENTS_MAX / 2;
    let tail = chain.len() - (CHAIN_EVENTS_MAX - half);
    chain[..half]
        .iter()
        .chain(&chain[tail..])
        .copied()
        .collect()
}

/// The clients an event involves: who recorded it, and whom a delivery
/// went to.
fn clients_of(ev: &HistoryEvent) -> Vec<ClientId> {
    let mut out = Vec::new();
    if let Proc::Client(c) = ev.process {
        out.push(c);
    }
    if let Entry::Deliver { to, .. } = ev.entry {
        out.push(to);
    }
    out
}

/// Whether an entry is something done to a process or its data rather
/// than a step of one message's way: what can explain a finding.
pub fn is_disruption(entry: Entry) -> bool {
    match entry {
        Entry::Crash | Entry::Restart | Entry::DropAcks { .. } => true,
        Entry::NetDrop { msg, .. } => msg.is_none(),
        Entry::Broker(note) => note_disrupts(note),
        Entry::Log(e) => log_entry_disrupts(e),
        Entry::Publish { .. }
        | Entry::Retry { .. }
        | Entry::Process { .. }
        | Entry::AckSent { .. }
        | Entry::NackSent { .. }
        | Entry::Deliver { .. }
        | Entry::Deduplicated { .. }
        | Entry::Setting(_) => false,
    }
}

fn log_entry_disrupts(e: LogEntry) -> bool {
    match e {
        // A new assignment, a seek, leaving the group, a commit that did
        // not go through: each moves where a consumer reads from.
        LogEntry::Assigned { .. } | LogEntry::Seek { .. } | LogEntry::Leave { .. } => true,
        LogEntry::CommitDone { ty, .. } => ty != OpType::Ok,
        LogEntry::Produced { .. }
        | LogEntry::Join { .. }
        | LogEntry::Poll { .. }
        | LogEntry::Read { .. }
        | LogEntry::Process { .. }
        | LogEntry::Commit { .. }
        | LogEntry::ProducerId { .. } => false,
    }
}

fn note_disrupts(note: Note) -> bool {
    match note {
        Note::LostInCrash { .. }
        | Note::LostFromDisk { .. }
        | Note::Restored { .. }
        | Note::ChannelError { .. }
        | Note::StaleAck { .. } => true,
        // Back from an earlier run's store: where its story here begins.
        Note::Carried { .. }
        | Note::Enqueued { .. }
        | Note::Deleted { .. }
        | Note::Requeued { .. }
        | Note::DeadLettered { .. }
        | Note::RejectedPublish { .. }
        | Note::Unroutable { .. }
        | Note::DuplicateDropped { .. }
        | Note::ConsumeRefused { .. } => false,
        Note::Log(n) => log_note_disrupts(n),
    }
}

fn log_note_disrupts(n: LogNote) -> bool {
    match n {
        LogNote::LostInCrash { .. }
        | LogNote::TornWrite { .. }
        | LogNote::Truncated { .. }
        | LogNote::WritesStopped { .. }
        | LogNote::Recovered { .. }
        | LogNote::AckedBefore { .. }
        | LogNote::SessionExpired { .. }
        | LogNote::CommitRejected { .. }
        | LogNote::Assigned { .. } => true,
        LogNote::Txn(t) => match t {
            TxnNote::Fenced { .. } | TxnNote::TimedOut { .. } => true,
            TxnNote::State { .. } | TxnNote::Marker { .. } => false,
        },
        LogNote::Appended { .. }
        | LogNote::Durable { .. }
        | LogNote::RetentionDeleted { .. }
        | LogNote::RecoveredOffset { .. }
        | LogNote::ProducerStateFromLog { .. }
        | LogNote::RecoveredProducer { .. }
        | LogNote::Carried { .. }
        | LogNote::DuplicateSequence { .. }
        | LogNote::SequenceRejected { .. }
        | LogNote::Committed { .. }
        | LogNote::UnstableOffsetCommit { .. }
        | LogNote::Position { .. } => false,
    }
}
