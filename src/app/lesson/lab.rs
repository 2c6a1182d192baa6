//! Where a lesson's experiment runs. Each kind of run is a room of its own
//! behind one trait, so the lesson engine ([`super::LessonRun`]) steps,
//! acts and measures without asking which:
//!
//! | room | what runs | what goals measure |
//! |---|---|---|
//! | `world.rs` ([`super::world::WorldLab`]) | the world: one broker node, queue or log, and its clients (the playground's [`Session`]) | the live checker's counts, the history, the backlog |
//! | `cluster.rs` ([`super::cluster::ClusterLab`]) | a Kafka-style cluster in the replication core's harness ([`ClusterSession`]) | the replication checker's findings and the broker faults done |
//!
//! Which room a lesson gets is read off its setup once, here
//! ([`super::validate::is_cluster`]); `Lesson::validate` has already held
//! its controls and counters to what that room offers.

use super::cluster::ClusterLab;
use super::format::{Action, Condition, Lesson};
use super::validate::is_cluster;
use super::world::WorldLab;
use crate::app::cluster::ClusterSession;
use crate::app::session::Session;
use crate::config::Scenario;

/// One running experiment, as the lesson engine drives it.
pub(super) trait Lab {
    /// Virtual time of the run (never past [`Lab::end_ms`]).
    fn now_ms(&self) -> u64;
    /// When the run ends.
    fn end_ms(&self) -> u64;
    /// Runs `virtual_ms` more (the engine asks for one tick at a time).
    fn advance(&mut self, virtual_ms: u64);
    /// The run stopped early, on a run bound.
    fn stopped(&self) -> bool;
    /// Why `action` (one the lesson offers, during the run) cannot be done
    /// in the run's state now, if it cannot.
    fn why_not(&self, action: &Action) -> Option<String>;
    /// Does `action` to the running experiment.
    fn apply(&mut self, action: &Action) -> Result<(), String>;
    /// Reads what happened since the last call (history, samples).
    fn measure(&mut self);
    /// The number condition `c` bounds, as of the last [`Lab::measure`].
    fn value(&self, c: &Condition) -> u64;
    /// The world's session, for the playground's picture.
    fn session(&self) -> Option<&Session> {
        None
    }
    /// The cluster's session, for the cluster page's brokers.
    fn cluster(&self) -> Option<&ClusterSession> {
        None
    }
}

/// The room `setup` runs in, at virtual time 0. `setup` is `lesson`'s, or
/// it with the learner's choices made before the run, validated.
pub(super) fn open(lesson: &Lesson, setup: &Scenario) -> Box<dyn Lab> {
    if is_cluster(setup) {
        Box::new(ClusterLab::new(setup))
    } else {
        Box::new(WorldLab::new(lesson, setup))
    }
}
