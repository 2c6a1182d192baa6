//! Time travel: the run at any earlier instant, rebuilt from determinism.
//!
//! A run is its origin plus its live actions, each at its [`Mark`] (see
//! `replay.rs`), so the state at any instant is a replay: a fresh world from
//! the origin, the actions up to that instant applied at their marks, and
//! the clock run to it. Seeking keeps the actions after the instant as the
//! run's recorded future: Play or Forward runs into it and applies them at
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
        if t_ms >= self.world.now_ms() {
            return self.run_forward(t_ms).map_err(|e| e.to_string());
        }
        let head = self.head();
        let target = if t_ms >= head.time_ms {
            Target::At(head)
        } else {
            Target::Time(t_ms)
        };
        let all = self.all_actions();
        let fork = self.travel.fork.clone();
        self.rebuild(all, head, target, fork)
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
        self.rebuild(fork.actions, fork.head, Target::At(fork.at), None)
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

    /// Called before a new live action: in the past, it forks the run.
    pub(super) fn fork_if_in_the_past(&mut self) {
        if self.travel.future.is_empty() && self.head() == self.mark() {
            return;
        }
        self.travel.fork = Some(Fork {
            actions: self.all_actions(),
            head: self.head(),
            at: self.mark(),
        });
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

    /// Replaces this run by a replay of `actions` standing at `target`,
    /// with the actions after it as its recorded future. On error the run
    /// stays as it was.
    fn rebuild(
        &mut self,
        actions: Vec<Recorded>,
        head: Mark,
        target: Target,
        fork: Option<Fork>,
    ) -> Result<(), String> {
        if let Some(why) = self.travel_refused() {
            return Err(why.to_string());
        }
        let origin = self.origin().cloned().expect("checked above");
        let mut fresh = Session::from_origin(&origin).map_err(|e| e.to_string())?;
        let split = actions.partition_point(|r| match target {
            Target::Time(t) => r.at.time_ms <= t,
            Target::At(m) => r.at <= m,
        });
        let (past, future) = actions.split_at(split);
        match target {
            Target::At(m) => fresh.replay(past, m),
            Target::Time(t) => fresh.replay_then(past, t),
        }
        .map_err(|e| e.to_string())?;
        fresh.travel = Travel {
            future: future.to_vec(),
            head,
            fork,
        };
        fresh.delivery = self.delivery;
        *self = fresh;
        Ok(())
    }
}

/// The seek benchmark load: 25 producers at 400 msgs/s (10,000
/// msgs/s in all) and 25 consumers (2 ms processing, `prefetch` 50), the
/// same load as the page's frame benchmark.
pub fn seek_bench_setup() -> crate::app::playground::Setup {
    crate::app::playground::Setup::busy(25)
}
