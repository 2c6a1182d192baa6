//! How fast a live run goes against the wall clock, and whether the disk
//! sets the pace.
//!
//! With the log in IndexedDB every `acks=all` answer waits for a browser
//! transaction, and the browser finishes a transaction only between two
//! turns of its event loop. At 100× a frame asks for well over a second of
//! virtual time; if the world stopped at every group commit's completion
//! time until the browser caught up, a run would crawl at about one commit
//! per frame (0.5× real time, whatever the speed). Instead the world runs
//! on for a short while past a commit that is late
//! ([`crate::world::World::set_disk_run_ahead_ms`]): producers keep
//! sending, and everything that arrives meanwhile waits in the broker for
//! the next group commit, which takes all of it, across partitions and
//! producers, in one transaction. That is how a real broker survives a slow
//! disk, and it is what the page shows: "waiting for the disk: N commits/s".
//!
//! The run-ahead is kept well below the producers' `request.timeout.ms`, so
//! a slow disk delays acknowledgements without making producers time out
//! and retry: the speed setting never changes what a run teaches.

use crate::config::{ClientSpec, Scenario};

/// The run-ahead is this fraction of the shortest `request.timeout.ms`: an
/// acknowledgement can wait for the commit in flight and then its own, two
/// run-aheads, and still arrive in time.
pub const RUN_AHEAD_TIMEOUT_SHARE: u64 = 4;
/// A run-ahead never exceeds this (virtual ms), whatever the timeouts.
pub const DISK_RUN_AHEAD_MS_MAX: u64 = 100;
/// Wall ms over which the pace is measured.
pub const PACE_WINDOW_MS: f64 = 1_000.0;

/// How far a run on a real store may run past a late group commit: a
/// quarter of the shortest `request.timeout.ms` of its log producers, at
/// most [`DISK_RUN_AHEAD_MS_MAX`], at least 1.
pub fn disk_run_ahead_ms(scenario: &Scenario) -> u64 {
    let shortest = scenario
        .clients
        .iter()
        .filter_map(|c| match c {
            ClientSpec::LogProducer(p) => Some(p.request_timeout_ms),
            _ => None,
        })
        .min()
        .unwrap_or(u64::MAX);
    (shortest / RUN_AHEAD_TIMEOUT_SHARE).clamp(1, DISK_RUN_AHEAD_MS_MAX)
}

/// The pace over the last window of wall time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pace {
    /// Group commits the broker began, per wall second.
    pub commits_per_s: u64,
    /// Virtual ms the run covered per wall ms.
    pub virtual_per_real: f64,
    /// The run stopped for the disk during the window: the disk, not the
    /// speed setting, set the pace.
    pub disk_bound: bool,
}

impl Pace {
    /// "waiting for the disk: 412 commits/s, the run goes at 38× real time",
    /// when the disk set the pace.
    pub fn disk_text(&self) -> Option<String> {
        self.disk_bound.then(|| {
            format!(
                "waiting for the disk: {} commits/s, the run goes at {:.0}× real time",
                self.commits_per_s, self.virtual_per_real
            )
        })
    }
}

/// Measures [`Pace`] over windows of [`PACE_WINDOW_MS`] of wall time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PaceMeter {
    /// Where the window began: wall ms, group commits so far, virtual ms.
    start: Option<(f64, u64, u64)>,
    /// The run stopped for the disk since the window began.
    waited: bool,
    /// The last full window's pace.
    last: Option<Pace>,
}

impl PaceMeter {
    /// Forgets the current window and the last pace (a pause, a new run).
    pub fn reset(&mut self) {
        *self = PaceMeter::default();
    }

    /// One frame: the wall clock, the broker's group commits so far, the
    /// virtual clock, and whether the frame ended waiting for the disk.
    pub fn observe(&mut self, wall_ms: f64, commits: u64, virtual_ms: u64, waited: bool) {
        self.waited |= waited;
        let Some((wall0, commits0, virtual0)) = self.start else {
            self.start = Some((wall_ms, commits, virtual_ms));
            return;
        };
        let span_ms = wall_ms - wall0;
        if span_ms < PACE_WINDOW_MS {
            return;
        }
        let commits_per_s = (commits.saturating_sub(commits0) as f64 * 1000.0 / span_ms).round();
        self.last = Some(Pace {
            commits_per_s: commits_per_s as u64,
            virtual_per_real: virtual_ms.saturating_sub(virtual0) as f64 / span_ms,
            disk_bound: self.waited,
        });
        self.start = Some((wall_ms, commits, virtual_ms));
        self.waited = false;
    }

    /// The last full window's pace, if a window has closed.
    pub fn pace(&self) -> Option<Pace> {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_is_measured_per_window_and_says_when_the_disk_set_it() {
        let mut meter = PaceMeter::default();
        meter.observe(0.0, 10, 0, false);
        meter.observe(500.0, 200, 20_000, true);
        assert_eq!(meter.pace(), None, "no window closed yet");
        meter.observe(1_000.0, 410, 40_000, false);
        let pace = meter.pace().unwrap();
        assert_eq!(pace.commits_per_s, 400);
        assert!((pace.virtual_per_real - 40.0).abs() < 1e-9);
        assert_eq!(
            pace.disk_text().unwrap(),
            "waiting for the disk: 400 commits/s, the run goes at 40× real time"
        );
        meter.observe(2_000.0, 420, 140_000, false);
        assert_eq!(meter.pace().unwrap().disk_text(), None, "the speed set it");
        meter.reset();
        assert_eq!(meter.pace(), None);
    }

    #[test]
    fn the_run_ahead_stays_well_inside_the_producers_timeout() {
        let text = std::fs::read_to_string("scenarios/log_at_least_once.json").unwrap();
        let scenario = Scenario::from_json(&text).unwrap();
        let ahead = disk_run_ahead_ms(&scenario);
        assert!((1..=DISK_RUN_AHEAD_MS_MAX).contains(&ahead));
        let setup = crate::app::playground::Setup {
            broker: crate::app::playground::BrokerKind::Log,
            ..Default::default()
        };
        let scenario = setup.to_scenario().unwrap();
        assert_eq!(disk_run_ahead_ms(&scenario), 50, "200 ms timeouts");
    }
}
