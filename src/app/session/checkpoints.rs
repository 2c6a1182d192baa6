//! Checkpoints of the timeline: copies of the run every
//! [`CHECKPOINT_EVERY_MS`] of virtual time, so a seek restores the nearest
//! one at or before its instant and replays only the rest (see
//! `timeline.rs`), instead of replaying the whole run from its start.
//!
//! A checkpoint holds what the session needs to go on from its instant:
//! the world without its history ([`WorldCheckpoint`]: the history is
//! shared, rewound on restore), the live checker, the chart's samples, the
//! Slow toggles, the setup as it had grown, and how many recorded actions
//! had been applied. The run is deterministic, so going on from a
//! checkpoint gives the same history, byte for byte, as going on from the
//! start (`tests/timeline.rs` checks it at random instants of every
//! bundled scenario).
//!
//! A checkpoint is cheap because most of it is shared: the history with
//! the live run, and the live checker's per-message tables range by range
//! (`check::shared`), so a copy costs the world (~170 KB on the seek
//! benchmark's load) plus the ranges of the messages in flight, not the
//! whole run's facts.
//!
//! **Limits.** Each checkpoint is weighed as it is taken (the bytes its
//! copy allocated, by [`crate::meter`]), plus what the live checker's
//! shared tables copy on write before the next one. When the checkpoints
//! together pass [`CHECKPOINTS_BYTES_MAX`], or their number passes
//! [`CHECKPOINTS_MAX`], every other one is dropped and the spacing doubles:
//! a long or heavy run keeps fewer, further apart, and its seeks replay
//! further. The one at the start is always kept.
//!
//! **Log runs.** The log model's checker is copied whole (only the queue
//! model's tables are shared), so a log run's checkpoints grow with the
//! run and the limits space them out sooner.

use super::{Sample, Session, Source};
use crate::check::live::LiveChecker;
use crate::config::ProcessingSpec;
use crate::meter;
use crate::world::WorldCheckpoint;
use std::collections::{BTreeMap, VecDeque};

/// Virtual ms between two checkpoints, until the limits spread them out.
pub const CHECKPOINT_EVERY_MS: u64 = 1_000;
/// Memory all checkpoints of one run may hold together, in bytes (the
/// issue's 64 MB for a 60 s run at 10,000 msgs/s).
pub const CHECKPOINTS_BYTES_MAX: usize = 64 * 1024 * 1024;
/// History events a checkpoint must follow for its bytes per event to
/// predict the next one's size.
const PREDICT_EVENTS_MIN: usize = 10_000;
/// Checkpoints kept at most, however small.
pub const CHECKPOINTS_MAX: usize = 256;

/// The session at one instant (see the module notes).
pub(super) struct Checkpoint {
    /// The world, its history left out.
    world: WorldCheckpoint,
    /// The checker as it had read the history then.
    checker: LiveChecker,
    /// The chart's samples then.
    samples: VecDeque<Sample>,
    /// The time of the next chart sample then.
    next_sample_ms: u64,
    /// The consumers toggled slow then, with their own processing time.
    slow: BTreeMap<String, ProcessingSpec>,
    /// The run's source then (a playground setup grows with clients added live).
    source: Source,
    /// How many recorded actions had been applied: the run's actions
    /// before this index are part of the checkpoint.
    pub(super) recorded_len: usize,
    /// What the copy holds, in bytes.
    bytes: usize,
}

impl Checkpoint {
    /// Events run at this checkpoint.
    pub(super) fn events_run(&self) -> u64 {
        self.world.events_run()
    }

    /// Virtual clock at this checkpoint.
    pub(super) fn now_ms(&self) -> u64 {
        self.world.now_ms()
    }
}

/// A run's checkpoints, in run order.
#[derive(Default)]
pub(super) struct Checkpoints {
    /// Taken as the run went forward; events run and clock only grow.
    list: Vec<Checkpoint>,
    /// Virtual ms between checkpoints: [`CHECKPOINT_EVERY_MS`], doubled
    /// each time the limits thin the list.
    every_ms: u64,
    /// The sum of the list's `bytes`.
    bytes: usize,
    /// When the next checkpoint is due, in virtual ms: `every_ms` after
    /// the last one taken or skipped (one that did not fit is not tried
    /// again at every step).
    next_ms: u64,
    /// Bytes per history event of the latest checkpoint: how big the next
    /// one will be (the checker's facts grow with the run), so one that
    /// cannot fit is not copied at all.
    bytes_per_event: usize,
    /// This run has no timeline (a Compare pane, a lesson's experiment):
    /// it takes none, since copies nobody seeks to would cost frame time
    /// and up to [`CHECKPOINTS_BYTES_MAX`] each.
    off: bool,
}

impl Checkpoints {
    /// Bytes the checkpoints hold together.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many checkpoints there are.
    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    /// Events run at checkpoint `i`.
    pub(super) fn events_run_of(&self, i: usize) -> u64 {
        self.list[i].events_run()
    }

    /// The latest checkpoint no later than the point `(events, time_ms)`
    /// whose applied actions are among the first `actions` ones.
    pub(super) fn nearest(&self, events: u64, time_ms: u64, actions: usize) -> Option<usize> {
        self.list.iter().rposition(|c| {
            c.events_run() <= events && c.now_ms() <= time_ms && c.recorded_len <= actions
        })
    }

    /// Drops the checkpoints past a fork made at `(events, time_ms)` with
    /// `actions` actions applied: they belong to a future that is gone.
    pub(super) fn forget_after(&mut self, events: u64, time_ms: u64, actions: usize) {
        let keep = self.nearest(events, time_ms, actions).map_or(0, |i| i + 1);
        for c in self.list.drain(keep..) {
            self.bytes -= c.bytes;
        }
        let every_ms = self.every_ms.max(CHECKPOINT_EVERY_MS);
        self.next_ms = self.list.last().map_or(0, |c| c.now_ms() + every_ms);
    }

    /// Adds to the latest checkpoint what the live checker's shared tables
    /// copied on write since it was taken (`check::shared`): each range the
    /// run changed since is now held twice, the old one by the checkpoint.
    /// About right: a range two checkpoints share is counted for the later
    /// one only, and copies made while replaying after a seek are the live
    /// run's own (a restore drops their count).
    fn settle_copies(&mut self) {
        let copied = meter::take_copied_on_write();
        if let Some(last) = self.list.last_mut() {
            last.bytes += copied;
            self.bytes += copied;
        }
    }

    /// Keeps `c`, thinning the list while it is over a limit.
    fn push(&mut self, c: Checkpoint) {
        self.bytes += c.bytes;
        self.list.push(c);
        while self.list.len() > 2
            && (self.bytes > CHECKPOINTS_BYTES_MAX || self.list.len() > CHECKPOINTS_MAX)
        {
            self.thin();
        }
        // One checkpoint heavier than what the first leaves is not kept.
        if self.bytes > CHECKPOINTS_BYTES_MAX && self.list.len() > 1 {
            let c = self.list.pop().expect("more than one");
            self.bytes -= c.bytes;
        }
        assert!(self.list.len() <= CHECKPOINTS_MAX, "the count limit holds");
        assert!(
            self.bytes <= CHECKPOINTS_BYTES_MAX || self.list.len() == 1,
            "the memory limit holds"
        );
    }

    /// Drops every other checkpoint after the first and doubles the spacing.
    fn thin(&mut self) {
        let mut i = 0;
        self.list.retain(|c| {
            i += 1;
            let keep = i % 2 == 1;
            if !keep {
                self.bytes -= c.bytes;
            }
            keep
        });
        self.every_ms = self.every_ms.saturating_mul(2);
    }
}

impl Session {
    /// This run takes no checkpoints: for runs no one seeks in (a Compare
    /// pane, a lesson's experiment). A seek still works; it replays from
    /// the start.
    pub fn without_checkpoints(mut self) -> Session {
        self.checkpoints.off = true;
        self
    }

    /// Takes a checkpoint when the run has gone [`CHECKPOINT_EVERY_MS`]
    /// (or the thinned spacing) past the latest one. A run whose store
    /// cannot be copied (IndexedDB) takes none.
    pub(super) fn checkpoint_if_due(&mut self) {
        let every_ms = self.checkpoints.every_ms.max(CHECKPOINT_EVERY_MS);
        let now_ms = self.world.now_ms();
        let first = self.checkpoints.list.is_empty();
        if now_ms < self.checkpoints.next_ms || self.persistent || self.checkpoints.off {
            return;
        }
        self.checkpoints.next_ms = now_ms.saturating_add(every_ms);
        self.checkpoints.every_ms = every_ms;
        // One that would not fit beside the start's is not copied.
        let events = self.world.history().len();
        let expected_bytes = self.checkpoints.bytes_per_event.saturating_mul(events);
        let start_bytes = self.checkpoints.list.first().map_or(0, |c| c.bytes);
        if !first && expected_bytes.saturating_add(start_bytes) > CHECKPOINTS_BYTES_MAX {
            return;
        }
        // Up to date, so a restore does not read the history from afar, and
        // with every message it read judged (its list of messages to judge
        // would otherwise be copied whole, ~10,000 a second at 10k msgs/s).
        self.refresh_summary();
        self.checkpoints.settle_copies();
        let (made, bytes) = meter::weigh(|| {
            Some((
                self.checker.checkpoint()?,
                self.world.checkpoint()?,
                self.samples.clone(),
                self.slow.clone(),
                self.source.clone(),
            ))
        });
        let Some((checker, world, samples, slow, source)) = made else {
            // A store that cannot be copied: this run takes no
            // checkpoints (its seeks replay from the start).
            self.checkpoints.next_ms = u64::MAX;
            return;
        };
        // The start's few events are no guide to the checker's growth.
        if events >= PREDICT_EVENTS_MIN {
            self.checkpoints.bytes_per_event = bytes / events;
        }
        self.checkpoints.push(Checkpoint {
            world,
            checker,
            samples,
            next_sample_ms: self.next_sample_ms,
            slow,
            source,
            recorded_len: self.recorded.len(),
            bytes,
        });
    }

    /// Puts the session at checkpoint `i`, with `actions` as the run's
    /// actions (its first `recorded_len` are the checkpoint's). With
    /// `forget`, the history kept past the checkpoint is dropped first (Undo
    /// goes back to another branch of the run).
    pub(super) fn restore_checkpoint(
        &mut self,
        i: usize,
        actions: &[crate::app::share::Recorded],
        forget: bool,
    ) {
        // What the live checker copied since the latest checkpoint was its
        // own (see `settle_copies`); it is dropped now.
        meter::take_copied_on_write();
        let c = &self.checkpoints.list[i];
        self.world.restore(&c.world);
        if forget {
            self.world.forget_future();
        }
        self.checker = c
            .checker
            .checkpoint()
            .expect("a checkpoint's checker copies again");
        self.samples = c.samples.clone();
        self.next_sample_ms = c.next_sample_ms;
        self.slow = c.slow.clone();
        self.source = c.source.clone();
        self.recorded = actions[..c.recorded_len].to_vec();
        self.run_error = None;
        self.waiting_for_flush = None;
        // Both read the history from its start as it grows.
        self.chain_cache = Default::default();
        self.crash_reader = Default::default();
    }

    /// Heap bytes the timeline's checkpoints hold, and how many there are.
    pub fn checkpoint_memory(&self) -> (usize, usize) {
        (self.checkpoints.bytes(), self.checkpoints.len())
    }
}
