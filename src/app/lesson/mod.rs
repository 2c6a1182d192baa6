//! Lessons: short interactive tutorials, each an experiment the page checks.
//!
//! A lesson is data, in `lessons/*.json`, in the spirit of learnGitBranching
//! (a start, a goal, a solution, hints):
//!
//! | field | what it is |
//! |---|---|
//! | `id`, `title`, `concept` | the file stem, the heading, the one idea taught |
//! | `intro` | short steps of text, each with an optional [`Picture`] |
//! | `setup` | a scenario, validated like `scenarios/*.json` |
//! | `controls` | what the learner may use ([`Control`], a closed list) |
//! | `add` | the clients `add_consumer` adds, in order |
//! | `prediction` | a question whose choices are conditions on the run: the true answer is computed, never written down |
//! | `goals` | the checklist: conditions on the live checker's counts, the world's state and the history ([`Counter`]) |
//! | `hints` | shown one at a time |
//! | `solution` | timed actions (`{"at_ms": 400, "action": "crash_broker"}`) that reach every goal |
//! | `debrief` | what happened, and the real brokers' settings by name |
//!
//! A lesson about a failure also asserts that the failure happened (a goal
//! such as "the broker crashed"), so "0 lost" cannot pass just because
//! nothing was done. `tests/lessons.rs` holds every lesson to that: its
//! solution reaches every goal, its untouched setup misses at least one.
//!
//! [`LessonRun`] is one learner's pass through a lesson, built for a page:
//! step through the intro, answer the prediction, act through the controls
//! while the run plays and the checklist ticks, reveal hints, read the
//! outcome and the debrief. It is core: sans-IO, deterministic, tested
//! natively.
//!
//! What the run does not do: the log broker's final drain (`World::finish`).
//! A lesson judges what happened within `duration_ms`, which is what the
//! learner watched, so an unread log record is pending, never `unseen`.

pub mod bundled;
pub mod cluster;
mod format;
mod lab;
mod measure;
mod run;
mod validate;
mod world;

pub use format::{
    bounds, Action, Choice, CommitChoice, Condition, Control, Counter, Debrief, Goal, IntroStep,
    Lesson, Picture, Prediction, RealSetting, TimedAction,
};
pub use run::{GoalStatus, GoalView, LessonRun, Outcome, Pick, Stage};
pub use validate::is_cluster;

use std::fmt;

/// Virtual ms between two evaluations of the goals while a lesson runs:
/// fine enough to catch a backlog's peak at lesson scale, coarse enough that
/// evaluating costs little next to running.
pub const TICK_MS: u64 = 10;

/// A bad lesson file: which file, which field, and why. Printed as
/// `lessons/03_broker_crash.json: setup.clients[1].prefetch: reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LessonError {
    /// The file, as given to [`Lesson::from_json`].
    pub file: String,
    /// A field path such as `goals[1].when.counter`, or `.` for the whole file.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for LessonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.path, self.reason)
    }
}

impl std::error::Error for LessonError {}

impl Lesson {
    /// Parses and validates the lesson in `text`, read from `file` (a path
    /// such as `lessons/03_broker_crash.json`, whose stem must be the
    /// lesson's `id`). Malformed JSON, unknown fields, unknown controls or
    /// counters and bad values all come back as a [`LessonError`] naming the
    /// file and the field; nothing here panics on bad input.
    pub fn from_json(file: &str, text: &str) -> Result<Lesson, LessonError> {
        let in_file = |mut e: LessonError| {
            e.file = file.to_string();
            e
        };
        let lesson: Lesson = crate::json::from_str(text).map_err(|e| {
            in_file(LessonError {
                file: String::new(),
                path: e.path,
                reason: e.error.to_string(),
            })
        })?;
        lesson.validate().map_err(in_file)?;
        let stem = file.rsplit('/').next().unwrap_or(file);
        let stem = stem.strip_suffix(".json").unwrap_or(stem);
        if lesson.id != stem {
            return Err(in_file(LessonError {
                file: String::new(),
                path: "id".into(),
                reason: format!("`{}` must match the file name `{stem}`", lesson.id),
            }));
        }
        Ok(lesson)
    }
}
