//! The cluster's room of the lesson engine (see [`super::lab`]): the run
//! is a Kafka-style cluster in the replication core's harness, driven as
//! the cluster page drives it ([`ClusterSession`]). The learner acts on
//! brokers by name (crash, restart, cut off from the other brokers,
//! isolate, heal), and the goals read the replication checker's findings
//! and the broker faults done.
//!
//! The checker judges once the run is over (every broker healed and
//! restarted, the drain done), so `lost` and `duplicated` count from the
//! end of the run; the fault counters tick at the click.

use super::format::{Action, Condition, Control, Counter};
use super::lab::Lab;
use crate::app::cluster::{BrokerButton, ClusterSession};
use crate::check::cluster::FindingKind;
use crate::config::{BrokerSpec, Scenario};
use crate::node::NodeId;

/// What a cluster lesson may offer: the run, `acks` before it, and the
/// broker buttons.
pub(super) const CONTROLS: [Control; 7] = [
    Control::Play,
    Control::SetAcks,
    Control::CrashNode,
    Control::RestartNode,
    Control::CutNode,
    Control::IsolateNode,
    Control::HealNode,
];

/// What a cluster lesson's goals and choices may bound.
pub(super) const COUNTERS: [Counter; 6] = [
    Counter::Confirmed,
    Counter::Lost,
    Counter::Duplicated,
    Counter::BrokerCrashes,
    Counter::LeaderCrashes,
    Counter::LeaderIsolations,
];

/// The brokers of `setup`'s cluster (0 without one).
pub fn brokers(setup: &Scenario) -> u8 {
    match &setup.broker {
        BrokerSpec::Log(l) => l.cluster.map_or(0, |c| c.brokers),
        BrokerSpec::Queue(_) => 0,
    }
}

/// Broker `name`'s number in `setup`'s cluster, or why there is none.
pub(super) fn broker_of(setup: &Scenario, name: &str) -> Result<u8, String> {
    numbered(name, brokers(setup))
}

/// Broker `name`'s number among `brokers`, or why there is none.
fn numbered(name: &str, brokers: u8) -> Result<u8, String> {
    match NodeId::from_name(name) {
        Some(id) if (1..=brokers).contains(&id.0) => Ok(id.0),
        _ => Err(format!(
            "unknown broker `{name}`: this cluster has b1..b{brokers}"
        )),
    }
}

/// A lesson's run on a cluster.
pub(crate) struct ClusterLab {
    /// The run, as the cluster page drives it.
    session: ClusterSession,
    /// The cluster's brokers, for a name's check.
    brokers: u8,
    /// Broker crashes done.
    crashes: u64,
    /// Crashes of a broker that led a partition then.
    leader_crashes: u64,
    /// Cuts and isolations of a broker that led a partition then.
    leader_isolations: u64,
}

impl ClusterLab {
    /// `setup`, validated as a cluster's, at 0.
    pub(super) fn new(setup: &Scenario) -> ClusterLab {
        let session = ClusterSession::from_scenario(setup);
        ClusterLab {
            // Lesson::validate and LessonRun::choose ran the same
            // validation ClusterRun::new runs.
            session: session.expect("a validated cluster setup runs"),
            brokers: brokers(setup),
            crashes: 0,
            leader_crashes: 0,
            leader_isolations: 0,
        }
    }

    /// The button and broker number of a broker action.
    fn target(&self, action: &Action) -> Result<(BrokerButton, u8), String> {
        let button = action.control().node_button();
        let (Some(button), Some(name)) = (button, action.broker()) else {
            return Err(format!(
                "`{}` is not a broker action",
                action.control().name()
            ));
        };
        Ok((button, numbered(name, self.brokers)?))
    }
}

impl Lab for ClusterLab {
    fn now_ms(&self) -> u64 {
        self.session.run().now_ms().min(self.end_ms())
    }

    fn end_ms(&self) -> u64 {
        self.session.run().end_ms()
    }

    fn advance(&mut self, virtual_ms: u64) {
        self.session.advance(virtual_ms);
    }

    fn stopped(&self) -> bool {
        self.session.error().is_some()
    }

    fn why_not(&self, action: &Action) -> Option<String> {
        let (button, n) = match self.target(action) {
            Ok(target) => target,
            Err(why) => return Some(why),
        };
        let (up, cut, isolated) = self.session.run().broker_state(NodeId(n))?;
        let name = NodeId(n).name();
        match button {
            BrokerButton::Crash if !up => Some(format!("{name} is already down.")),
            BrokerButton::Restart if up => Some(format!("{name} is running.")),
            BrokerButton::Cut if cut => Some(format!("{name} is already cut off.")),
            BrokerButton::Isolate if isolated => Some(format!("{name} is already isolated.")),
            BrokerButton::Heal if !cut => Some(format!("{name}'s links are whole.")),
            _ => None,
        }
    }

    fn apply(&mut self, action: &Action) -> Result<(), String> {
        let (button, n) = self.target(action)?;
        let leads = u64::from(self.session.leads(n));
        self.session.press(button, n)?;
        match button {
            BrokerButton::Crash => {
                self.crashes += 1;
                self.leader_crashes += leads;
            }
            BrokerButton::Cut | BrokerButton::Isolate => self.leader_isolations += leads,
            BrokerButton::Restart | BrokerButton::Heal => {}
        }
        Ok(())
    }

    /// Nothing to read as the run goes: the faults are counted at the
    /// click, and the verdict comes with the run's end.
    fn measure(&mut self) {}

    fn value(&self, c: &Condition) -> u64 {
        let found = |kind| self.session.verdict().map_or(0, |v| v.count(kind));
        match c.counter {
            Counter::Confirmed => self.session.run().acks().len() as u64,
            Counter::Lost => found(FindingKind::Lost),
            Counter::Duplicated => found(FindingKind::Duplicated),
            Counter::BrokerCrashes => self.crashes,
            Counter::LeaderCrashes => self.leader_crashes,
            Counter::LeaderIsolations => self.leader_isolations,
            // Lesson::validate keeps the others out of a cluster lesson.
            _ => 0,
        }
    }

    fn cluster(&self) -> Option<&ClusterSession> {
        Some(&self.session)
    }
}
