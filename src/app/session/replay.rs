//! A run rebuilt from where it started and what was done to it: the page's
//! live actions go through one door ([`Session::act`]), which records each
//! at its [`Mark`]; a share link carries that record
//! ([`Session::share_link`]) and [`Session::from_shared`] replays it. The
//! world is deterministic, so the replay has the same history, byte for
//! byte, as long as each action is applied at the same event it was taken at.

use super::Session;
use crate::app::share::{self, LinkError, LiveAction, Mark, Origin, Recorded, Shared};
use crate::world::Step;

impl Session {
    /// Where the run stands: events run and the virtual clock.
    pub fn mark(&self) -> Mark {
        let world = self.world();
        Mark {
            events: world.events_run(),
            time_ms: world.now_ms(),
        }
    }

    /// Does one live action, as the page's buttons and fields ask, and
    /// records it at the current [`Mark`] if it was done. A refused action
    /// changes nothing and is not recorded.
    pub fn act(&mut self, action: LiveAction) -> Result<(), String> {
        self.fork_if_in_the_past();
        let at = self.mark();
        self.apply(&action)?;
        self.recorded.push(Recorded { at, action });
        self.note_progress();
        Ok(())
    }

    /// Applies recorded action number `n` (1-based, for the message) of a
    /// replay, standing at its mark, and records it again.
    pub(super) fn record_applied(&mut self, r: Recorded, n: usize) -> Result<(), LinkError> {
        debug_assert_eq!(r.at, self.mark(), "replayed at its mark");
        self.apply(&r.action).map_err(|e| {
            LinkError::Content(format!(
                "action {n} ({} at t={} ms) was refused: {e}",
                r.action.label(),
                r.at.time_ms
            ))
        })?;
        self.recorded.push(r);
        Ok(())
    }

    fn apply(&mut self, action: &LiveAction) -> Result<(), String> {
        let text = |e: crate::config::ScenarioError| e.to_string();
        match action {
            LiveAction::CrashBroker => self.crash_broker().map_err(text),
            LiveAction::CrashBrokerTorn => self.crash_broker_torn().map_err(text),
            LiveAction::RestartBroker => self.restart_broker().map_err(text),
            LiveAction::CrashClient(id) => self.crash_client(id).map_err(text),
            LiveAction::RestartClient(id) => self.restart_client(id).map_err(text),
            LiveAction::DropAcks => self.drop_acks().map_err(text),
            LiveAction::AddProducer(p) => self.add_producer(*p),
            LiveAction::AddConsumer(c) => self.add_consumer(*c),
            LiveAction::AddClient(spec) => self.add_client((**spec).clone()),
            LiveAction::ToggleSlow(id) => self.toggle_slow(id),
            LiveAction::Set(id, set) => self.set_setting(id, *set),
        }
    }

    /// The live actions so far, in order.
    pub fn recorded(&self) -> &[Recorded] {
        &self.recorded
    }

    /// Where the run started, if a replay can rebuild it.
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    /// This run as a share link's content: origin, actions, and now.
    pub fn shared(&self) -> Result<Shared, String> {
        let origin = self.origin.clone().ok_or_else(|| {
            "This run continues a log stored by an earlier visit, so a link cannot rebuild it."
                .to_string()
        })?;
        Ok(Shared {
            origin,
            actions: self.recorded.clone(),
            at: self.mark(),
        })
    }

    /// This run as a link fragment (see [`share::encode`]).
    pub fn share_link(&self) -> Result<String, String> {
        Ok(share::encode(&self.shared()?))
    }

    /// A fresh run of `origin`, at its start, on the in-memory disk model.
    pub fn from_origin(origin: &Origin) -> Result<Session, LinkError> {
        let content = |e: String| LinkError::Content(e);
        let mut session = match origin.scenario_text()? {
            None => {
                let Origin::Setup(setup) = origin else {
                    unreachable!("only a setup has no scenario text")
                };
                Session::from_setup(setup).map_err(|e| content(e.to_string()))?
            }
            Some((name, text)) => {
                Session::from_json(&name, &text).map_err(|e| content(e.to_string()))?
            }
        };
        session.origin = Some(origin.clone());
        Ok(session)
    }

    /// The run a share link describes, replayed to the point it was shared.
    pub fn from_shared(shared: &Shared) -> Result<Session, LinkError> {
        let mut session = Session::from_origin(&shared.origin)?;
        session.replay(&shared.actions, shared.at)?;
        Ok(session)
    }

    /// Applies `actions` (from a fresh start or a point before the first
    /// of them), each at its mark, then runs on to `to`.
    pub(super) fn replay(&mut self, actions: &[Recorded], to: Mark) -> Result<(), LinkError> {
        self.apply_all(actions)?;
        self.run_to(to)?;
        self.refresh_summary();
        Ok(())
    }

    /// As [`Session::replay`], then every event due by `t_ms` (a seek).
    pub(super) fn replay_then(&mut self, actions: &[Recorded], t_ms: u64) -> Result<(), LinkError> {
        self.apply_all(actions)?;
        self.world
            .run_until(t_ms)
            .map_err(|e| LinkError::Content(format!("the replay stopped: {e}")))?;
        self.take_samples();
        self.refresh_summary();
        Ok(())
    }

    fn apply_all(&mut self, actions: &[Recorded]) -> Result<(), LinkError> {
        for (i, r) in actions.iter().enumerate() {
            self.run_to(r.at)?;
            self.record_applied(r.clone(), i + 1)?;
        }
        Ok(())
    }

    /// Runs exactly to `mark`: its number of events, then its clock. A
    /// replay that cannot get there exactly has diverged, which is an
    /// error, never a panic.
    pub(super) fn run_to(&mut self, mark: Mark) -> Result<(), LinkError> {
        let diverged = |why: String| LinkError::Content(format!("the replay diverged: {why}"));
        while self.world.events_run() < mark.events {
            match self.world.step() {
                Ok(Step::Ran { .. }) => self.take_samples(),
                Ok(Step::Finished) => {
                    return Err(diverged(format!(
                        "the run ended after {} events, before event {}",
                        self.world.events_run(),
                        mark.events
                    )))
                }
                Err(e) => return Err(diverged(e.to_string())),
            }
        }
        if self.world.now_ms() < mark.time_ms {
            self.world
                .run_until(mark.time_ms)
                .map_err(|e| diverged(e.to_string()))?;
        }
        self.take_samples();
        if self.mark() != mark {
            return Err(diverged(format!(
                "expected {} events at t={} ms, found {} at t={} ms",
                mark.events,
                mark.time_ms,
                self.world.events_run(),
                self.world.now_ms()
            )));
        }
        Ok(())
    }
}

impl Session {
    /// What the page opens for a share link: the run it describes, or,
    /// when the link cannot be opened, the default playground and a
    /// sentence saying what was wrong with the link.
    pub fn open_link(link: &str) -> (Session, Option<String>) {
        match share::decode(link).and_then(|shared| Session::from_shared(&shared)) {
            Ok(session) => (session, None),
            Err(e) => {
                let setup = crate::app::playground::Setup::default();
                // A constant: it builds, or no page could (tests/playground.rs).
                let session = Session::from_setup(&setup).expect("the default setup is valid");
                (
                    session,
                    Some(format!("{e} The default playground opened instead.")),
                )
            }
        }
    }
}

impl Session {
    /// The history so far as 16 hex digits (xxh3-64 of its JSON Lines):
    /// two runs with the same fingerprint have the same history, byte for
    /// byte. The page shows it beside a share link.
    pub fn fingerprint(&self) -> String {
        let world = self.world();
        format!("{:016x}", world.history().hash(world.names()))
    }
}
