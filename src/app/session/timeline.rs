//! Time travel: the run at any earlier instant, rebuilt from determinism.
//!
//! A run is its origin plus its live actions, each at its [`Mark`] (see
//! `replay.rs`), so the state at any instant is a replay: the nearest
//! checkpoint at or before that instant (`checkpoints.rs`; the run's start
//! is one; a run without any starts over from its origin), the
//! actions from there to the instant applied at their marks, and the clock
//! run to it. Seeking keeps the actions after the instant as the run's
//! recorded future: Play or Forward runs into it and applies them at
//! their marks again, so going back and forth never changes the run.
//!
//! Acting in the past forks the run, as in RaftScope: the old future is
//! dropped and the new action starts a new one. Undo brings the old future
//! back (the run as it was just before the fork).
//!
//! Replays run on the in-memory disk model; a run written to IndexedDB has
//! no earlier instants to visit (its disk cannot be rewound).

use super::Session;
use crate::app::share::{LinkError, Mark, Recorded};

/// What a fork dropped, for Undo.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Fork {
    /// Every action of the run before the fork, its old future included.
    actions: Vec<Recorded>,
    /// How far the run had got before the fork.
    head: Mark,
    /// Where the fork was made (Undo returns here).
    at: Mark,
    /// How many actions had been applied there (the forking one not yet).
    applied: usize,
}

/// The timeline's part of a session: the recorded future and the furthest
/// point the run has reached.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Travel {
    /// Actions after the current instant, in order: applied again at their
    /// marks as the run goes forward.
    future: Vec<Recorded>,
    /// The furthest point reached on this branch of the run.
    head: Mark,
    /// The last fork, until Undo or the next fork.
    fork: Option<Fork>,
}

/// Where a rebuilt run should stand.
enum Target {
    /// All events due at or before this virtual time.
    Time(u64),
    /// Exactly this point (its events and clock).
    At(Mark),
}

impl Target {
    /// The latest (events run, clock) a checkpoint may have to lead here.
    fn point(&self) -> (u64, u64) {
        match *self {
            Target::Time(t) => (u64::MAX, t),
            Target::At(m) => (m.events, m.time_ms),
        }
    }
}

impl Session {
    /// The furthest point this run has reached (the end of the slider).
    pub fn head(&self) -> Mark {
        self.travel.head.max(self.mark())
    }

    /// Whether there is a dropped future to bring back.
    pub fn can_undo(&self) -> bool {
        self.travel.fork.is_some()
    }

    /// Why this run cannot travel in time, if it cannot.
    pub fn travel_refused(&self) -> Option<&'static str> {
        if self.persistent {
            return Some("This run writes its log to IndexedDB, which cannot be rewound.");
        }
        if self.origin().is_none() {
            return Some(
                "This run continues a log from an earlier visit, so it cannot be replayed.",
            );
        }
        None
    }

    /// The run as it was at virtual time `t_ms` (all events due by then,
    /// and the actions taken by then), at most the furthest point reached.
    /// Refused (the run unchanged) when it cannot be rebuilt.
    pub fn seek_ms(&mut self, t_ms: u64) -> Result<(), String> {
        if let Some(why) = self.travel_refused() {
            return Err(why.to_string());
        }
        let head = self.head();
        let target = if t_ms >= head.time_ms {
            Target::At(head)
        } else {
            Target::Time(t_ms)
        };
        // Forward, running on is the way unless a checkpoint is closer.
        if t_ms >= self.world.now_ms() && !self.checkpoint_ahead(&target) {
            return self.run_forward(t_ms).map_err(|e| e.to_string());
        }
        let all = self.all_actions();
        let fork = self.travel.fork.clone();
        self.rebuild(all, head, target, fork, false)
    }

    /// The run at its furthest point ("Jump to the end").
    pub fn seek_end(&mut self) -> Result<(), String> {
        self.seek_ms(u64::MAX)
    }

    /// Brings back the future the last fork dropped: the run as it was just
    /// before the forking action, with its old future ahead of it.
    pub fn undo_fork(&mut self) -> Result<(), String> {
        let Some(fork) = self.travel.fork.clone() else {
            return Err("There is no dropped future to bring back.".into());
        };
        // The new branch's checkpoints past the fork are not the old one's.
        let at = fork.at;
        self.checkpoints
            .forget_after(at.events, at.time_ms, fork.applied);
        self.rebuild(fork.actions, fork.head, Target::At(at), None, true)
    }

    /// A seek forward: the run goes on from where it stands into its
    /// recorded future, which is the same run a rebuild would give, at the
    /// cost of the distance only.
    fn run_forward(&mut self, t_ms: u64) -> Result<(), LinkError> {
        let head = self.head();
        if t_ms >= head.time_ms {
            self.apply_due(head.time_ms, false)?;
            self.run_to(head)?;
        } else {
            self.apply_due(t_ms, false)?;
            self.world
                .run_until(t_ms)
                .map_err(|e| LinkError::Content(format!("the run stopped: {e}")))?;
            self.take_samples();
        }
        self.refresh_summary();
        Ok(())
    }

    /// Whether a checkpoint lies between where the run stands and `target`
    /// (after a seek back, the checkpoints further on are still this run's).
    fn checkpoint_ahead(&self, target: &Target) -> bool {
        let (events, time_ms) = target.point();
        self.checkpoints
            .nearest(events, time_ms, usize::MAX)
            .is_some_and(|i| self.checkpoints.events_run_of(i) > self.world.events_run())
    }

    /// Called before a new live action: in the past, it forks the run.
    pub(super) fn fork_if_in_the_past(&mut self) {
        if self.travel.future.is_empty() && self.head() == self.mark() {
            return;
        }
        let (at, applied) = (self.mark(), self.recorded.len());
        self.travel.fork = Some(Fork {
            actions: self.all_actions(),
            head: self.head(),
            at,
            applied,
        });
        // The old future's history and checkpoints are another branch now.
        self.world.forget_future();
        self.checkpoints
            .forget_after(at.events, at.time_ms, applied);
        self.travel.future.clear();
        self.travel.head = self.mark();
    }

    /// Applies the recorded future's actions due by `target_ms`, each at
    /// its exact mark (Play and Forward run into the recorded future).
    /// `now_only` applies only those at the current mark (before a Step).
    pub(super) fn apply_due(&mut self, target_ms: u64, now_only: bool) -> Result<(), LinkError> {
        while let Some(next) = self.travel.future.first().cloned() {
            let due = match now_only {
                true => next.at == self.mark(),
                false => next.at.time_ms <= target_ms && next.at >= self.mark(),
            };
            if !due {
                break;
            }
            self.run_to(next.at)?;
            self.travel.future.remove(0);
            self.record_applied(next, 0)?;
        }
        Ok(())
    }

    /// Moves the head along as the run goes forward.
    pub(super) fn note_progress(&mut self) {
        self.travel.head = self.head();
    }

    fn all_actions(&self) -> Vec<Recorded> {
        let mut all = self.recorded().to_vec();
        all.extend(self.travel.future.iter().cloned());
        all
    }

    /// Puts this run at `target` on the branch of `actions`: the nearest
    /// checkpoint at or before it, then the actions up to it replayed at
    /// their marks, with the actions after it as its recorded future. A
    /// restore that meets a different branch's history (after Undo)
    /// forgets it first (`other_branch`). An error leaves the run stopped
    /// with the message.
    fn rebuild(
        &mut self,
        actions: Vec<Recorded>,
        head: Mark,
        target: Target,
        fork: Option<Fork>,
        other_branch: bool,
    ) -> Result<(), String> {
        if let Some(why) = self.travel_refused() {
            return Err(why.to_string());
        }
        let split = actions.partition_point(|r| match target {
            Target::Time(t) => r.at.time_ms <= t,
            Target::At(m) => r.at <= m,
        });
        let (events, time_ms) = target.point();
        match self.checkpoints.nearest(events, time_ms, split) {
            Some(i) => self.restore_checkpoint(i, &actions, other_branch),
            // A run without checkpoints (see `checkpoints.rs`) starts over
            // from its origin.
            None => {
                let origin = self.origin().cloned().expect("checked above");
                let mut fresh = Session::from_origin(&origin).map_err(|e| e.to_string())?;
                fresh.delivery = self.delivery;
                *self = fresh;
            }
        }
        let from = self.recorded.len();
        let (past, future) = actions.split_at(split);
        let done = match target {
            Target::At(m) => self.replay(&past[from..], m),
            Target::Time(t) => self.replay_then(&past[from..], t),
        };
        self.travel = Travel {
            future: future.to_vec(),
            head,
            fork,
        };
        done.map_err(|e| {
            let text = e.to_string();
            self.run_error = Some(text.clone());
            text
        })
    }
}

/// The seek benchmark load: 25 producers at 400 msgs/s (10,000
/// msgs/s in all) and 25 consumers (2 ms processing, `prefetch` 50), the
/// same load as the page's frame benchmark.
pub fn seek_bench_setup() -> crate::app::playground::Setup {
    crate::app::playground::Setup::busy(25)
}
