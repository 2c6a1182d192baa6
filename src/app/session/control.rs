//! Driving a live run: faults injected now, clients added, a client's
//! settings changed, the Slow toggle. Every change goes into the world's
//! scenario (so an export replays it) and the history (so the event log
//! shows it); a refused change leaves the run and the page's setup as they
//! were.

use super::{Session, Source, DROP_ACKS_MS, SLOW_FACTOR};
use crate::app::playground::{self, Setup};
use crate::app::share::LiveAction;
use crate::config::{ClientSpec, FaultAction, FaultSpec, ProcessingSpec, ScenarioError, Setting};

// The Slow toggle multiplies the page's longest processing time; the
// result must still be a setting the world accepts.
const _: () = assert!(
    playground::bounds::PROCESSING_MS_MAX * SLOW_FACTOR
        <= crate::config::setting::bounds::PROCESSING_MS_MAX
);

impl Session {
    /// "Crash broker": the broker loses what it did not write to disk.
    pub fn crash_broker(&mut self) -> Result<(), ScenarioError> {
        self.inject_faults(&LiveAction::CrashBroker)
    }

    /// Crashes the broker while its disk writes: the batch in flight lands
    /// torn (`crash_torn`), and the restart's recovery truncates it. With
    /// nothing in flight it is a plain crash. Log broker only.
    pub fn crash_broker_torn(&mut self) -> Result<(), ScenarioError> {
        self.inject_faults(&LiveAction::CrashBrokerTorn)
    }

    /// "Restart broker": it recovers what its disk holds.
    pub fn restart_broker(&mut self) -> Result<(), ScenarioError> {
        self.inject_faults(&LiveAction::RestartBroker)
    }

    /// Crashes client `id` now (its in-flight work is gone).
    pub fn crash_client(&mut self, id: &str) -> Result<(), ScenarioError> {
        self.inject_faults(&LiveAction::CrashClient(id.to_string()))
    }

    /// Restarts client `id` as a new incarnation.
    pub fn restart_client(&mut self, id: &str) -> Result<(), ScenarioError> {
        self.inject_faults(&LiveAction::RestartClient(id.to_string()))
    }

    /// Drops publisher confirms (broker → producer) on every live producer's
    /// link for [`DROP_ACKS_MS`]: the producers time out and re-publish, which
    /// is how at-least-once turns a lost ack into a duplicate.
    ///
    /// Consumer acks are left alone here: only RabbitMQ's `consumer_timeout`
    /// would give their messages back, and it is off unless a scenario sets
    /// `consumer_timeout_ms` (30 minutes in RabbitMQ, longer than a run), so a
    /// consumer whose acks vanish keeps its prefetch window full and the
    /// page would simply stall.
    pub fn drop_acks(&mut self) -> Result<(), ScenarioError> {
        self.inject_faults(&LiveAction::DropAcks)
    }

    /// The faults `action` injects now (Drop acks: one per live producer),
    /// or `None` when it is not a fault.
    fn faults_of(&self, action: &LiveAction) -> Option<Vec<FaultSpec>> {
        let at_ms = self.world.now_ms();
        let fault = |action, target: &str, until_ms| FaultSpec {
            at_ms,
            action,
            target: target.to_string(),
            until_ms,
        };
        let one = |action, target: &str| Some(vec![fault(action, target, None)]);
        match action {
            LiveAction::CrashBroker => one(FaultAction::Crash, "broker"),
            LiveAction::CrashBrokerTorn => one(FaultAction::CrashTorn, "broker"),
            LiveAction::RestartBroker => one(FaultAction::Restart, "broker"),
            LiveAction::CrashClient(id) => one(FaultAction::Crash, id),
            LiveAction::RestartClient(id) => one(FaultAction::Restart, id),
            LiveAction::DropAcks => {
                let until_ms = Some(at_ms + DROP_ACKS_MS);
                let clients = self.world.clients().into_iter();
                let producers = clients.filter(|c| c.alive && c.is_producer);
                Some(
                    producers
                        .map(|c| fault(FaultAction::DropAcks, &c.id, until_ms))
                        .collect(),
                )
            }
            _ => None,
        }
    }

    /// Whether the fault `action` would be done now, changing nothing: each
    /// of its faults is checked as [`crate::world::World::inject`] checks
    /// it. Anything else than a fault is refused (it is not checked here).
    pub fn check_fault(&self, action: &LiveAction) -> Result<(), String> {
        let faults = self
            .faults_of(action)
            .ok_or_else(|| format!("{} is not a fault", action.label()))?;
        self.world.check_faults(&faults).map_err(|e| e.to_string())
    }

    /// Injects the faults of `action`, all or none: they are checked
    /// together first, so a refusal leaves the run as it was.
    fn inject_faults(&mut self, action: &LiveAction) -> Result<(), ScenarioError> {
        let faults = self.faults_of(action).unwrap_or_default();
        self.world.check_faults(&faults)?;
        for fault in faults {
            self.world.inject(fault)?;
        }
        self.refresh_summary();
        Ok(())
    }

    /// Adds the next producer of a playground setup while the run goes on.
    /// Refused (the setup and the run unchanged) when the grown setup could
    /// not run, e.g. at a rate a run cannot hold.
    pub fn add_producer(&mut self, settings: playground::ProducerSettings) -> Result<(), String> {
        let mut setup = self.playground_setup()?.clone();
        setup.producers.push(settings);
        let id = playground::producer_id(setup.producers.len() - 1);
        self.add_to_setup(setup, &id)
    }

    /// Adds the next consumer of a playground setup while the run goes on;
    /// refused like [`Session::add_producer`].
    pub fn add_consumer(&mut self, settings: playground::ConsumerSettings) -> Result<(), String> {
        let mut setup = self.playground_setup()?.clone();
        setup.consumers.push(settings);
        let id = playground::consumer_id(setup.consumers.len() - 1);
        self.add_to_setup(setup, &id)
    }

    fn playground_setup(&self) -> Result<&Setup, String> {
        self.setup().ok_or_else(|| {
            "Clients can be added to playground runs only, not to a loaded file.".into()
        })
    }

    /// Validates the grown `setup` by building its scenario, adds client
    /// `id` as that scenario configures it, and only then keeps `setup`: a
    /// refusal anywhere leaves the setup (what the page saves) untouched.
    fn add_to_setup(&mut self, setup: Setup, id: &str) -> Result<(), String> {
        let scenario = setup.to_scenario().map_err(|e| e.to_string())?;
        let spec = scenario
            .clients
            .into_iter()
            .find(|c| c.id() == id)
            .ok_or_else(|| format!("{id} is missing from the setup's scenario"))?;
        self.add_client(spec)?;
        self.source = Source::Playground(setup);
        Ok(())
    }

    /// Adds any client while the run goes on (a lesson's `add_consumer`),
    /// validated as [`World::add_client`] does; the summary follows.
    pub fn add_client(&mut self, spec: ClientSpec) -> Result<(), String> {
        self.world.add_client(spec).map_err(|e| e.to_string())?;
        self.refresh_summary();
        Ok(())
    }

    /// The Slow toggle: processing takes [`SLOW_FACTOR`] times longer. It
    /// is a live [`Setting::Processing`] change, so it is in the history and
    /// an export replays it.
    pub fn toggle_slow(&mut self, id: &str) -> Result<(), String> {
        if let Some(base) = self.slow.get(id).copied() {
            self.world
                .set_client(id, Setting::Processing(base))
                .map_err(|e| e.to_string())?;
            self.slow.remove(id);
            return Ok(());
        }
        let base = self
            .world
            .client_settings(id)
            .and_then(|c| c.processing)
            .ok_or_else(|| format!("Slow: {id} is not a consumer"))?;
        self.world
            .set_client(id, Setting::Processing(scale(base, SLOW_FACTOR)))
            .map_err(|e| e.to_string())?;
        self.slow.insert(id.to_string(), base);
        Ok(())
    }

    /// Why ack and commit modes cannot change per client in this run, if
    /// they cannot: the run claims a delivery guarantee, the guarantee set
    /// every client's mode, and the verdict judges the run against it.
    /// Changing one client would make the verdict judge something that
    /// client no longer does, so the change is refused instead.
    pub fn ack_mode_locked(&self) -> Option<String> {
        let guarantee = self
            .world
            .scenario()
            .guarantee
            .map(|g| g.name().to_string());
        match (self.delivery, guarantee) {
            (Some(d), _) => Some(format!(
                "Set by Delivery ({}): the verdict judges the ack mode that guarantee sets. Choose another Delivery to change it.",
                d.label()
            )),
            (None, Some(g)) => Some(format!(
                "Set by the scenario's guarantee ({g}): the verdict judges the ack mode it sets."
            )),
            (None, None) => None,
        }
    }

    /// Changes one setting of a live client from its next decision on (see
    /// [`crate::scenario::settings`]): validated against the page's bounds (a
    /// playground run) and the scenario's, recorded in the history, kept in
    /// the page's setup (so it is saved for resume) and in the scenario (so
    /// an export replays it). An error says what is wrong with the value;
    /// the old value stays.
    pub fn set_setting(&mut self, id: &str, set: Setting) -> Result<(), String> {
        if let (Setting::AckMode(_), Some(why)) = (set, self.ack_mode_locked()) {
            return Err(why);
        }
        let setup = self.setup_with(id, set)?;
        let to_world = match (set, self.slow.contains_key(id)) {
            (Setting::Processing(p), true) => Setting::Processing(scale(p, SLOW_FACTOR)),
            _ => set,
        };
        self.world.set_client(id, to_world).map_err(|e| e.reason)?;
        if let (Setting::Processing(p), Some(base)) = (set, self.slow.get_mut(id)) {
            *base = p;
        }
        if let Some(setup) = setup {
            self.source = Source::Playground(setup);
        }
        self.refresh_summary();
        Ok(())
    }

    /// The playground setup with `set` applied to client `id`, checked
    /// against the page's bounds (`None` for a file run, which has no setup).
    fn setup_with(&self, id: &str, set: Setting) -> Result<Option<Setup>, String> {
        let Some(mut setup) = self.setup().cloned() else {
            return Ok(None);
        };
        let producer = (0..setup.producers.len()).find(|&i| playground::producer_id(i) == id);
        let consumer = (0..setup.consumers.len()).find(|&i| playground::consumer_id(i) == id);
        match (set, producer, consumer) {
            (Setting::RatePerS(n), Some(i), _) => setup.producers[i].rate_per_s = n,
            (Setting::Keys(n), Some(i), _) => setup.producers[i].keys = n,
            (Setting::Processing(ProcessingSpec::FixedMs(ms)), _, Some(i)) => {
                setup.consumers[i].processing_ms = ms
            }
            (Setting::Prefetch(n), _, Some(i)) => setup.consumers[i].prefetch = n,
            (Setting::AckMode(_), _, Some(_)) => {}
            _ => return Err(format!("{id} has no setting {}", set.name())),
        }
        // Build it, not just check it: what builds is what the page saves.
        setup.to_scenario().map_err(|e| e.reason)?;
        Ok(Some(setup))
    }
}

/// `p` made `factor` times slower (the Slow toggle).
fn scale(p: ProcessingSpec, factor: u64) -> ProcessingSpec {
    match p {
        ProcessingSpec::FixedMs(ms) => ProcessingSpec::FixedMs(ms.saturating_mul(factor)),
        ProcessingSpec::UniformMs { min, max } => ProcessingSpec::UniformMs {
            min: min.saturating_mul(factor),
            max: max.saturating_mul(factor),
        },
    }
}
