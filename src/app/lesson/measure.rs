//! The numbers goals and prediction choices bound, read from a running world.
//!
//! Three sources, as the lesson format promises:
//!
//! - the live checker's [`Summary`] (lost, duplicated, out of order, ...);
//! - the history, read incrementally: crashes of the broker and of
//!   consumers, and transactions the coordinator aborted;
//! - the world's state, sampled at each evaluation: the backlog (what waits
//!   to be consumed) and its fullest single queue or partition, kept as
//!   peaks so "a backlog built up" stays true after it drains.
//!
//! Samples are taken only where the lesson run evaluates (every
//! [`super::TICK_MS`] of virtual time and right after a learner's action), so
//! the same actions at the same times give the same peaks however the page
//! slices its frames.

use super::format::{Condition, Counter};
use crate::broker::log::LogNote;
use crate::broker::txn::{TxnNote, TxnState};
use crate::broker::Note;
use crate::check::Summary;
use crate::history::{Entry, Proc};
use crate::world::World;

/// What the history and the sampled state have shown so far in one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Observer {
    /// History events already read (the history only grows).
    read: usize,
    /// `crash` events of the broker (of any of its nodes).
    broker_crashes: u64,
    /// `crash` events of consumers (producers' crashes are not counted).
    consumer_crashes: u64,
    /// The coordinator's moves to `CompleteAbort`.
    aborted_transactions: u64,
    /// The largest backlog sampled.
    backlog_peak: u64,
    /// The largest single queue or partition backlog sampled.
    queue_peak: u64,
}

impl Observer {
    /// Reads the history events added since the last call, then samples the
    /// backlog. Cost: the new events plus one look at each queue/partition.
    pub(super) fn observe(&mut self, world: &World) {
        let events = world.history().events();
        assert!(self.read <= events.len(), "the history only grows");
        let producers: Vec<bool> = world.clients().iter().map(|c| c.is_producer).collect();
        for ev in events.iter_from(self.read) {
            match (ev.process, &ev.entry) {
                (Proc::Broker(_), Entry::Crash) => self.broker_crashes += 1,
                (Proc::Client(c), Entry::Crash) if !producers[c as usize] => {
                    self.consumer_crashes += 1
                }
                (
                    _,
                    Entry::Broker(Note::Log(LogNote::Txn(TxnNote::State {
                        state: TxnState::CompleteAbort,
                        ..
                    }))),
                ) => self.aborted_transactions += 1,
                _ => {}
            }
        }
        self.read = events.len();
        let depths = backlogs(world);
        self.backlog_peak = self.backlog_peak.max(depths.iter().sum());
        self.queue_peak = self.queue_peak.max(depths.into_iter().max().unwrap_or(0));
    }

    /// The current value of the number `c` bounds.
    pub(super) fn value(&self, c: &Condition, summary: &Summary, world: &World) -> u64 {
        let counts = &summary.counts;
        let log = summary.log.unwrap_or_default();
        let listed = |kind: &str| summary.findings.iter().filter(|f| f.kind == kind).count() as u64;
        match c.counter {
            Counter::Published => counts.published,
            Counter::Confirmed => counts.confirmed,
            Counter::Processed => counts.processed,
            Counter::Lost => counts.lost,
            Counter::TransientLost => counts.transient_lost,
            Counter::Duplicated => counts.duplicated,
            Counter::OutOfOrder => counts.out_of_order,
            Counter::OutOfOrderPerKey => counts.out_of_order_per_key,
            Counter::Redelivered => counts.redeliveries,
            Counter::PublishRetries => counts.publish_retries,
            Counter::LogDuplicates => log.duplicate,
            Counter::AbortedReads => listed("G1a"),
            Counter::PrecommittedReads => listed("precommitted-read"),
            Counter::BrokerCrashes => self.broker_crashes,
            Counter::ConsumerCrashes => self.consumer_crashes,
            Counter::AbortedTransactions => self.aborted_transactions,
            Counter::BacklogPeak => self.backlog_peak,
            Counter::QueuePeak => self.queue_peak,
            Counter::ProcessedBy => {
                let id = c.client.as_deref().unwrap_or_default();
                let clients = world.clients();
                clients.iter().find(|v| v.id == id).map_or(0, |v| v.count)
            }
            // A cluster's: Lesson::validate keeps them out of a world lesson.
            Counter::LeaderCrashes | Counter::LeaderIsolations => 0,
        }
    }
}

/// What waits to be consumed, per queue (ready + unacked) or per partition
/// (the lag of the first consumer group, as the page's chart shows it).
pub(super) fn backlogs(world: &World) -> Vec<u64> {
    match world.broker().as_log() {
        Some(log) => log
            .partition_views(0)
            .iter()
            .map(|p| p.groups.first().map_or(0, |g| g.3))
            .collect(),
        None => world
            .broker()
            .queue_views()
            .iter()
            .map(|q| (q.ready.len() + q.unacked.len()) as u64)
            .collect(),
    }
}
