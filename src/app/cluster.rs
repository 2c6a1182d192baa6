//! The page's cluster (issue 13): a Kafka-style cluster set up with
//! Kafka's names, run by the replication core's harness
//! ([`ClusterRun`]), and drawn broker by broker.
//!
//! The playground's world still runs one broker node, so a cluster page
//! drives this instead of the playground's session. What a learner
//! sets is [`ClusterSetup`]: brokers, `replication.factor`,
//! `min.insync.replicas`, the producer's `acks` and
//! `unclean.leader.election.enable`. It becomes a scenario (one topic of
//! [`PARTITIONS`] partitions, one producer, one reader) that the
//! scenario's own cluster validation checks, so an impossible combination
//! is refused with the field it names. A [`ClusterSession`] runs it a
//! slice of virtual time at a time, takes the broker buttons (crash,
//! restart, isolate, heal by name) and, once the run is over, heals and
//! restarts every broker, lets it drain, and asks the replication checker
//! ([`crate::check::cluster`]) for the verdict: a lost record comes with
//! its causal chain.
//!
//! Each broker's log can be kept in a store of its own
//! ([`ClusterSession::keep_in`]; the page's IndexedDB databases, one per
//! broker) with the setup saved beside it as text
//! ([`ClusterSetup::to_text`]), so a reload resumes the whole cluster
//! ([`ClusterSession::resume`]): a reload is every broker losing power at
//! once, so each comes back with what it had fsynced. Stored data that
//! does not fit (another layout, a broker or partition the setup does not
//! have) is refused naming the stored item.
//!
//! Simplified here, and said on the page: the controller is always
//! available; the reader reads every partition from offset 0 (no
//! consumer group, no committed offsets); a resumed cluster starts its
//! producer and reader again (only the brokers' logs are kept).

use crate::app::playground::SetupError;
use crate::broker::cluster::{NodeView, PartitionIdx};
use crate::check::cluster::ClusterVerdict;
use crate::config::{Acks, FaultAction, Scenario, ScenarioError};
use crate::node::NodeId;
use crate::storage::{FlushId, Recovery, Storage};
use crate::world::cluster::stored::StoredCluster;
use crate::world::cluster::ClusterRun;

/// Partitions of the page's topic: spread round-robin, so each of three
/// brokers leads one.
pub const PARTITIONS: u32 = 3;
/// The page's topic.
pub const TOPIC: &str = "events";
/// How long a run lasts, virtual ms (the drain comes after).
pub const DURATION_MS: u64 = 10_000;
/// How long the run drains after every broker is healed and restarted.
pub const DRAIN_MS: u64 = 3_000;
/// The producer starts one record every this many ms (it keeps one in
/// flight, so `acks` sets its pace).
pub const PRODUCE_EVERY_MS: u64 = 2;
/// Links between brokers are slower than the clients' (a follower
/// lags its leader by a fetch's round trip, so `acks=1` has something to
/// lose): 10 to 20 ms between brokers, 1 to 2 ms to a client.
const CLIENT_LINK: &str = r#"{ "latency_ms_min": 1, "latency_ms_max": 2 }"#;
/// Virtual ms one `fsync` takes: the scenario's `fsync_latency_ms`, and
/// what a broker's store is opened with.
pub const FSYNC_LATENCY_MS: u64 = 4;
/// Findings told on the page (the counts are always complete).
pub const FINDINGS_SHOWN_MAX: usize = 20;

/// The checker's kinds that break at-least-once: an acknowledged record
/// lost, replicas that diverged, a committed record moved back, a read
/// record gone. `duplicated` is not among them: a producer that retries
/// without `enable.idempotence` may write a record twice.
pub const SAFETY_KINDS: [&str; 4] = ["lost", "diverged", "hw_moved_back", "read_vanished"];

/// What a learner sets: Kafka's names, the page's labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSetup {
    /// Broker nodes, `b1` … `b5`.
    pub brokers: u8,
    /// Copies of each partition (at most `brokers`).
    pub replication_factor: u8,
    /// Smallest ISR an `acks=all` write is taken with.
    pub min_insync_replicas: u8,
    /// The producer's `acks`.
    pub acks: Acks,
    /// Whether an out-of-sync replica may lead when no in-sync one lives.
    pub unclean_leader_election_enable: bool,
    /// The links' draws.
    pub seed: u64,
}

impl Default for ClusterSetup {
    /// The matrix's cell: 3 brokers, RF 3, `min.insync.replicas=2`,
    /// `acks=all`, clean elections only.
    fn default() -> Self {
        ClusterSetup {
            brokers: 3,
            replication_factor: 3,
            min_insync_replicas: 2,
            acks: Acks::All,
            unclean_leader_election_enable: false,
            seed: 1,
        }
    }
}

impl ClusterSetup {
    /// The scenario this setup runs; an impossible combination is refused
    /// by the scenario's cluster validation, naming the field by its
    /// Kafka name (`replication.factor`, `min.insync.replicas`, `brokers`).
    pub fn to_scenario(&self) -> Result<Scenario, SetupError> {
        let acks = serde_json::to_string(&self.acks).expect("acks serialize");
        let count = DURATION_MS / PRODUCE_EVERY_MS;
        let json = format!(
            r#"{{ "name": "cluster", "seed": {seed}, "duration_ms": {DURATION_MS},
  "broker": {{ "kind": "log", "topics": [ {{ "name": "{TOPIC}", "partitions": {PARTITIONS} }} ],
    "fsync_latency_ms": {FSYNC_LATENCY_MS},
    "cluster": {{ "brokers": {brokers}, "replication.factor": {rf}, "min.insync.replicas": {min},
      "unclean.leader.election.enable": {unclean}, "replica.lag.time.max.ms": 500,
      "replica.fetch.wait.max.ms": 100, "broker.session.timeout.ms": 1000 }} }},
  "network": {{ "latency_ms_min": 10, "latency_ms_max": 20 }},
  "clients": [
    {{ "kind": "log_producer", "id": "p1", "topic": "{TOPIC}", "interval_ms": {PRODUCE_EVERY_MS},
      "count": {count}, "retries": 1000, "request.timeout.ms": 300, "acks": {acks},
      "network": {CLIENT_LINK} }},
    {{ "kind": "log_consumer", "id": "c1", "topic": "{TOPIC}", "group.id": "g",
      "processing": {{ "fixed_ms": 1 }}, "network": {CLIENT_LINK} }} ],
  "limits": {{ "drain_ms": {DRAIN_MS} }} }}"#,
            seed = self.seed,
            brokers = self.brokers,
            rf = self.replication_factor,
            min = self.min_insync_replicas,
            unclean = self.unclean_leader_election_enable,
        );
        Scenario::cluster_from_json(&json).map_err(|e| SetupError {
            field: field_label(&e.path),
            reason: e.reason,
        })
    }
}

impl ClusterSetup {
    /// The setup as saved beside each broker's stored log: one line of
    /// `name=value` words, the layout (topic, partitions) included.
    pub fn to_text(&self) -> String {
        let acks = acks_name(self.acks);
        format!(
            "cluster-v1 topic={TOPIC} partitions={PARTITIONS} brokers={} replication.factor={} \
             min.insync.replicas={} acks={acks} unclean.leader.election.enable={} seed={}",
            self.brokers,
            self.replication_factor,
            self.min_insync_replicas,
            self.unclean_leader_election_enable,
            self.seed
        )
    }

    /// A saved setup read back; what does not fit this page is refused
    /// naming the stored item (`stored.setup.partitions`).
    pub fn from_text(text: &str) -> Result<ClusterSetup, String> {
        let mut words = text.split_whitespace();
        if words.next() != Some("cluster-v1") {
            return Err("stored.setup: not a cluster setup this page wrote".into());
        }
        let mut setup = ClusterSetup::default();
        for word in words {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            let number = value.parse::<u8>().ok();
            let flag = value.parse::<bool>().ok();
            let fits = match key {
                "topic" => value == TOPIC,
                "partitions" => value == PARTITIONS.to_string(),
                "brokers" => number.map(|n| setup.brokers = n).is_some(),
                "replication.factor" => number.map(|n| setup.replication_factor = n).is_some(),
                "min.insync.replicas" => number.map(|n| setup.min_insync_replicas = n).is_some(),
                "acks" => parse_acks(value).map(|a| setup.acks = a).is_some(),
                "unclean.leader.election.enable" => flag
                    .map(|f| setup.unclean_leader_election_enable = f)
                    .is_some(),
                "seed" => value.parse().map(|n| setup.seed = n).is_ok(),
                _ => false,
            };
            if !fits {
                return Err(format!(
                    "stored.setup.{key}: `{value}` does not fit this page's cluster (topic {TOPIC}, {PARTITIONS} partitions)"
                ));
            }
        }
        Ok(setup)
    }
}

/// How the page's list (and the saved setup) names an `acks`.
pub fn acks_name(acks: Acks) -> &'static str {
    match acks {
        Acks::Zero => "0",
        Acks::One => "1",
        Acks::All => "all",
    }
}

/// `acks` as the page's list (and the saved setup) names it.
pub fn parse_acks(text: &str) -> Option<Acks> {
    match text {
        "0" => Some(Acks::Zero),
        "1" => Some(Acks::One),
        "all" => Some(Acks::All),
        _ => None,
    }
}

/// The page's label of a scenario path the cluster validation names.
fn field_label(path: &str) -> &'static str {
    match path.strip_prefix("broker.cluster.") {
        Some("brokers") => "brokers",
        Some("replication.factor") => "replication.factor",
        Some("min.insync.replicas") => "min.insync.replicas",
        _ => "Cluster",
    }
}

/// A broker button.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerButton {
    /// Crash broker bN.
    Crash,
    /// Restart broker bN.
    Restart,
    /// Cut broker bN off from the other brokers only (`isolate_from_brokers`:
    /// the controller and the clients still reach it).
    Cut,
    /// Isolate broker bN from brokers, controller and clients.
    Isolate,
    /// Heal broker bN's links.
    Heal,
}

impl BrokerButton {
    /// The button's verb (its accessible name is "`verb` broker bN").
    pub fn verb(self) -> &'static str {
        match self {
            BrokerButton::Crash => "Crash",
            BrokerButton::Restart => "Restart",
            BrokerButton::Cut => "Cut",
            BrokerButton::Isolate => "Isolate",
            BrokerButton::Heal => "Heal",
        }
    }

    /// The button's accessible name on broker `broker` (`Crash broker b1`,
    /// `Cut broker b1 off from the other brokers`).
    pub fn label(self, broker: &str) -> String {
        match self {
            BrokerButton::Cut => format!("Cut broker {broker} off from the other brokers"),
            _ => format!("{} broker {broker}", self.verb()),
        }
    }

    fn fault(self) -> FaultAction {
        match self {
            BrokerButton::Crash => FaultAction::Crash,
            BrokerButton::Restart => FaultAction::Restart,
            BrokerButton::Cut => FaultAction::IsolateFromBrokers,
            BrokerButton::Isolate => FaultAction::Isolate,
            BrokerButton::Heal => FaultAction::Heal,
        }
    }
}

/// One replica on one broker, as drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaRow {
    /// `events-0`.
    pub partition: String,
    /// This broker believes it leads the partition.
    pub leader: bool,
    /// In the controller's ISR (an out-of-sync replica is dimmed).
    pub in_sync: bool,
    /// The partition has no leader (the controller found no replica to
    /// elect): its replicas wait, and none of them follows anyone. The
    /// ISR the controller keeps then names only brokers it fenced, and
    /// one of those may still run, cut off.
    pub offline: bool,
    /// The leader epoch it knows.
    pub epoch: u32,
    /// Its log end offset.
    pub leo: u64,
    /// Its high watermark.
    pub hw: u64,
    /// Records on its broker's disk (what a power cut, or a reload, leaves).
    pub on_disk: u64,
    /// On the leader: its ISR, by name (`b1 b2`).
    pub isr: Option<String>,
}

impl ReplicaRow {
    /// Its role as the page says it: `leader, epoch 2`, `follower, in
    /// sync`, `follower, out of sync`, or `offline, no leader`.
    pub fn role(&self) -> String {
        match (self.offline, self.leader, self.in_sync) {
            (true, _, _) => "offline, no leader".into(),
            (false, true, _) => format!("leader, epoch {}", self.epoch),
            (false, false, true) => "follower, in sync".into(),
            (false, false, false) => "follower, out of sync".into(),
        }
    }
}

/// One broker, as drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerRow {
    /// `b1` … `b5`.
    pub name: &'static str,
    /// Its process runs.
    pub up: bool,
    /// It is cut off from brokers, controller and clients.
    pub isolated: bool,
    /// Its replicas, by partition.
    pub replicas: Vec<ReplicaRow>,
}

/// What the cluster page draws, derived in one go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterView {
    /// The virtual clock.
    pub now_ms: u64,
    /// When the run proper ends.
    pub end_ms: u64,
    /// The run is over and judged.
    pub finished: bool,
    /// Each broker.
    pub brokers: Vec<BrokerRow>,
    /// Success answers the producer got so far.
    pub acked: usize,
    /// Once finished: whether at-least-once held (no finding of a
    /// [`SAFETY_KINDS`] kind; duplicates are what at-least-once allows).
    pub holds: Option<bool>,
    /// Once finished: findings per kind (`lost 3`), empty when clean.
    pub counts: Vec<(&'static str, u64)>,
    /// Once finished: the first findings, as (kind, story).
    pub findings: Vec<(&'static str, String)>,
    /// Why the run stopped early, if it did.
    pub error: Option<String>,
    /// Brokers whose store stopped taking writes, and why.
    pub disk_failures: Vec<String>,
}

/// One cluster run as the page drives it.
pub struct ClusterSession {
    /// The harness's run.
    run: ClusterRun,
    /// Once the run is over: the checker's verdict.
    verdict: Option<ClusterVerdict>,
    /// A run bound that stopped it.
    error: Option<String>,
    /// The virtual time asked for: the run goes there, waiting for its
    /// stores on the way when they are late.
    target_ms: u64,
}

impl ClusterSession {
    /// A run of `setup`, at virtual time 0.
    pub fn new(setup: &ClusterSetup) -> Result<ClusterSession, SetupError> {
        ClusterSession::from_scenario(&setup.to_scenario()?).map_err(|e| SetupError {
            field: field_label(&e.path),
            reason: e.reason,
        })
    }

    /// A run of any cluster scenario (a lesson's setup), at virtual time 0.
    pub fn from_scenario(scenario: &Scenario) -> Result<ClusterSession, ScenarioError> {
        Ok(ClusterSession::of(ClusterRun::new(scenario)?))
    }

    fn of(run: ClusterRun) -> ClusterSession {
        ClusterSession {
            run,
            verdict: None,
            error: None,
            target_ms: 0,
        }
    }

    /// A run of `setup` on the logs each broker's store kept
    /// (`recoveries[i]` is `b{i+1}`'s; more stores than brokers may be
    /// given, and must then be empty): the cluster restarts as after
    /// every broker lost power at once. Stored data that does not fit is
    /// refused naming the stored item (`stored.b4`, `stored.b1.events-2`).
    pub fn resume(setup: &ClusterSetup, recoveries: &[Recovery]) -> Result<ClusterSession, String> {
        let scenario = setup.to_scenario().map_err(|e| e.to_string())?;
        let mut stored = StoredCluster::default();
        for (i, recovery) in recoveries.iter().enumerate() {
            let node = NodeId(i as u8 + 1);
            let replicas = StoredCluster::read_node(&scenario, node, recovery);
            stored.replicas.extend(replicas.map_err(|e| e.to_string())?);
        }
        let run = ClusterRun::resume(&scenario, &stored).map_err(|e| e.to_string())?;
        Ok(ClusterSession::of(run))
    }

    /// From now on each broker keeps its log in a store of its own:
    /// `stores[i]` is `b{i+1}`'s (recovered, holding what the run's
    /// replicas hold; stores past the run's brokers are not used). Call
    /// before the first [`advance`](Self::advance).
    pub fn keep_in(&mut self, stores: Vec<Box<dyn Storage>>) {
        let brokers = self.run.views().len();
        self.run
            .attach_disks(stores.into_iter().take(brokers).collect());
    }

    /// The harness's run: its clock, its brokers, what it acknowledged.
    pub fn run(&self) -> &ClusterRun {
        &self.run
    }

    /// Once the run is over: the replication checker's verdict.
    pub fn verdict(&self) -> Option<&ClusterVerdict> {
        self.verdict.as_ref()
    }

    /// Why the run stopped early (a run bound), if it did.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Whether broker `b{broker}` leads a partition now, as the
    /// controller has it.
    pub fn leads(&self, broker: u8) -> bool {
        let partitions = self.run.controller().partitions().len();
        (0..partitions).any(|p| self.leader_of(p as PartitionIdx) == Some(NodeId(broker)))
    }

    /// Runs `virtual_ms` more; at the run's end, heals and restarts every
    /// broker, drains, and judges.
    pub fn advance(&mut self, virtual_ms: u64) {
        let from_ms = self.target_ms.max(self.run.now_ms());
        self.target_ms = from_ms.saturating_add(virtual_ms);
        self.go_on();
    }

    /// Runs on toward the time asked for: after a store's flush that the
    /// run waited for ([`disk_wait`](Self::disk_wait)) is durable.
    pub fn go_on(&mut self) {
        if self.is_over() {
            return;
        }
        let result = self.run.run_until(self.target_ms).and_then(|()| {
            let waiting = self.run.disk_wait().is_some();
            if !waiting && self.run.now_ms() >= self.run.end_ms() {
                self.run.finish()?;
            }
            if self.run.is_drained() {
                self.verdict = Some(self.run.verdict());
            }
            Ok(())
        });
        self.error = result.err();
    }

    /// The store flush the run waits for: (broker, flush).
    pub fn disk_wait(&self) -> Option<(NodeId, FlushId)> {
        self.run.disk_wait()
    }

    /// Runs to the end and judges.
    pub fn run_to_end(&mut self) {
        self.advance(u64::MAX);
    }

    /// Whether nothing more will run (judged, or stopped on a bound).
    pub fn is_over(&self) -> bool {
        self.verdict.is_some() || self.error.is_some()
    }

    /// A broker button: `button` on broker `b{broker}` now.
    pub fn press(&mut self, button: BrokerButton, broker: u8) -> Result<(), String> {
        if self.is_over() {
            return Err("the run is over: Reset to run it again".into());
        }
        self.run.act(button.fault(), NodeId(broker))
    }

    /// The leader of partition `partition` as the controller has it.
    pub fn leader_of(&self, partition: PartitionIdx) -> Option<NodeId> {
        self.run.controller().leader_of(partition)
    }

    /// What the page draws.
    pub fn view(&self) -> ClusterView {
        let (counts, findings) = match &self.verdict {
            Some(v) => (
                v.counts.iter().map(|(k, n)| (*k, *n)).collect(),
                (v.findings.iter().take(FINDINGS_SHOWN_MAX))
                    .map(|f| (f.kind.name(), f.story.clone()))
                    .collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        ClusterView {
            now_ms: self.run.now_ms(),
            end_ms: self.run.end_ms(),
            finished: self.verdict.is_some(),
            holds: (self.verdict.as_ref())
                .map(|v| v.counts.keys().all(|k| !SAFETY_KINDS.contains(k))),
            brokers: self
                .run
                .views()
                .iter()
                .map(|n| self.broker_row(n))
                .collect(),
            acked: self.run.acks().len(),
            counts,
            findings,
            error: self.error.clone(),
            disk_failures: (self.run.disk_failures())
                .map(|(node, why)| format!("{node}'s disk stopped taking writes ({why}): its later records are not kept"))
                .collect(),
        }
    }

    fn broker_row(&self, n: &NodeView) -> BrokerRow {
        let partitions = self.run.controller().partitions();
        let replicas = n.replicas.iter().map(|r| {
            let state = &partitions[usize::from(r.partition)];
            let offline = state.leader.is_none();
            ReplicaRow {
                partition: format!("{TOPIC}-{}", r.partition),
                leader: n.up && n.leads(r.partition) && !offline,
                in_sync: state.isr.has(n.node) && !offline,
                offline,
                epoch: r.epoch,
                leo: r.leo,
                hw: r.hw,
                on_disk: r.durable_end,
                isr: r.isr.filter(|_| n.up).map(|isr| {
                    let names: Vec<&str> = isr.iter().map(NodeId::name).collect();
                    names.join(" ")
                }),
            }
        });
        BrokerRow {
            name: n.node.name(),
            up: n.up,
            isolated: self.run.is_isolated(n.node),
            replicas: replicas.collect(),
        }
    }
}
