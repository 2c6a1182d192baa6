//! The world's room of the lesson engine (see [`super::lab`]): the run is
//! a [`Session`] (the one the playground draws), its goals read through
//! the [`Observer`], and the learner acts on the broker and the clients.

use super::format::{Action, Condition, Lesson};
use super::lab::Lab;
use super::measure::Observer;
use crate::app::session::Session;
use crate::config::{ClientSpec, Scenario};

/// A lesson's run in the world.
pub(crate) struct WorldLab {
    /// The live run the page draws.
    session: Session,
    /// Crashes, aborts and backlog peaks seen so far.
    observer: Observer,
    /// The lesson's `add` list: what `add_consumer` adds, in order.
    add: Vec<ClientSpec>,
    /// Clients of `add` added so far.
    added: usize,
}

impl WorldLab {
    /// `setup` (the lesson's, with its before-the-run choices), at 0.
    pub(super) fn new(lesson: &Lesson, setup: &Scenario) -> WorldLab {
        WorldLab {
            session: Session::from_scenario(&lesson.id, setup).without_checkpoints(),
            observer: Observer::default(),
            add: lesson.add.clone(),
            added: 0,
        }
    }
}

impl Lab for WorldLab {
    fn now_ms(&self) -> u64 {
        self.session.world().now_ms()
    }

    fn end_ms(&self) -> u64 {
        self.session.world().end_ms()
    }

    fn advance(&mut self, virtual_ms: u64) {
        self.session.advance(virtual_ms, &mut || false);
    }

    fn stopped(&self) -> bool {
        self.session.run_error.is_some()
    }

    fn why_not(&self, action: &Action) -> Option<String> {
        let world = self.session.world();
        let up = world.broker().is_up();
        let clients = world.clients();
        let consumer = |id: &str| clients.iter().find(|c| c.id == id && !c.is_producer);
        match action {
            Action::CrashBroker if !up => Some("The broker is already down.".into()),
            Action::RestartBroker if up => Some("The broker is running.".into()),
            Action::CrashConsumer { target } | Action::RestartConsumer { target } => {
                let crash = matches!(action, Action::CrashConsumer { .. });
                match consumer(target) {
                    None => Some(format!("`{target}` is not a consumer of this run.")),
                    Some(c) if c.alive != crash => Some(format!(
                        "`{target}` is already {}.",
                        if crash { "down" } else { "running" }
                    )),
                    Some(_) => None,
                }
            }
            Action::SlowConsumer { target } if consumer(target).is_none() => {
                Some(format!("`{target}` is not a consumer of this run."))
            }
            Action::AddConsumer if self.added >= self.add.len() => {
                Some("Every consumer this lesson offers has been added.".into())
            }
            _ => None,
        }
    }

    fn apply(&mut self, action: &Action) -> Result<(), String> {
        let s = &mut self.session;
        let done = match action {
            Action::CrashBroker => s.crash_broker(),
            Action::RestartBroker => s.restart_broker(),
            Action::CrashConsumer { target } => s.crash_client(target),
            Action::RestartConsumer { target } => s.restart_client(target),
            Action::DropConfirms => s.drop_acks(),
            Action::SlowConsumer { target } => return s.toggle_slow(target),
            Action::AddConsumer => {
                s.add_client(self.add[self.added].clone())?;
                self.added += 1;
                return Ok(());
            }
            _ => {
                return Err(format!(
                    "`{}` is not a live action",
                    action.control().name()
                ))
            }
        };
        done.map_err(|e| e.to_string())
    }

    fn measure(&mut self) {
        self.session.refresh_summary();
        self.observer.observe(self.session.world());
    }

    fn value(&self, c: &Condition) -> u64 {
        let summary = self.session.summary();
        self.observer.value(c, summary, self.session.world())
    }

    fn session(&self) -> Option<&Session> {
        Some(&self.session)
    }
}
