//! The replication core's harness: a run of a cluster scenario, until the
//! world itself sends each request to its partition's leader.
//!
//! It drives the sans-IO brokers and controller of
//! [`crate::broker::cluster`] the way the world drives its one broker:
//! an event queue ordered by (time, sequence), links with the scenario's
//! latency and loss between every pair of brokers and between each
//! client and each broker, and faults by broker name (`crash`,
//! `restart`, `isolate`, `isolate_from_brokers`, `heal`,
//! `slow_follower`). Its clients are the scenario's log producers
//! (`acks`, `retries`, `request.timeout.ms`, `enable.idempotence`, keys,
//! and `transactional`: transactions through the coordinator on the
//! controller, see `txn.rs`) and its log consumers as plain readers of
//! every partition from offset 0, `read_committed` or not (consumer
//! groups and committed offsets are not replicated yet: see
//! [`crate::broker::cluster`]).
//!
//! Every draw comes from a stream of its own ([`NET_STREAM`]), so the
//! world's streams are untouched. After `duration_ms` every broker is
//! healed and restarted and the run drains for `limits.drain_ms`; then
//! [`ClusterRun::facts`] is what [`crate::check::cluster`] judges.
//!
//! | room | job |
//! |---|---|
//! | `mod.rs` | the run: building it, the event loop, the drain, the facts |
//! | `wire.rs` | links, cuts and delivery; faults and the controller's fencing |
//! | `clients.rs` | producers and readers |
//! | `drive.rs` | what producers and readers do with timers and answers |
//! | `txn.rs` | transactional producers and the coordinator's markers |
//! | `stored.rs` | each broker's disk as storage streams, and a run that resumes from them |
//! | `disk.rs` | each broker's store following its replicas while the run goes on (the page's IndexedDB) |

mod clients;
mod disk;
mod drive;
pub mod stored;
mod txn;
mod wire;

use super::clock::Scheduled;
use crate::broker::cluster::{
    BrokerNode, ClientReply, ClientRequest, ClusterNote, Controller, LeaderAndIsr, NodeOut,
    NodeView, PartitionIdx, PeerMsg, Record,
};
use crate::broker::ClientId;
use crate::check::cluster::{check, ClientAck, ClusterFacts, ClusterVerdict, FinalPartition};
use crate::config::{
    BrokerSpec, ClientSpec, ClusterSpec, FaultAction, IsolationLevel, Scenario, ScenarioError,
};
use crate::node::NodeId;
use crate::sim::net::Link;
use crate::sim::rng::SimRng;
use clients::{Producer, Reader};
use std::collections::BinaryHeap;

/// The harness's PRNG stream (links): apart from the world's.
pub const NET_STREAM: u64 = 0xC1_0057;

/// What happens at a virtual time.
#[derive(Clone, Debug)]
enum Ev {
    /// A follower's fetch or a leader's answer reaches a broker.
    Peer {
        /// The destination.
        to: NodeId,
        /// The sender.
        from: NodeId,
        /// The message.
        msg: PeerMsg,
    },
    /// The controller's word reaches a broker.
    Word(NodeId, LeaderAndIsr),
    /// A leader's ISR change reaches the controller.
    Alter(NodeId, crate::broker::cluster::AlterIsr),
    /// A client's request reaches a broker.
    Request(NodeId, ClientId, ClientRequest),
    /// A broker's answer reaches a client.
    Reply(ClientId, NodeId, ClientReply),
    /// A broker asked to be woken.
    Wake(NodeId),
    /// A scheduled fault, by index.
    Fault(usize),
    /// The controller's session check of a broker silent since a time.
    FenceCheck(NodeId, u64),
    /// A producer's next record is due.
    Produce(ClientId),
    /// A producer's send `send_id` timed out (or its backoff ended).
    Retry(ClientId, u64),
    /// A reader fetches.
    Read(ClientId),
    /// The coordinator's marker reaches a partition's leader (none in
    /// the page's build: it runs no transactional producer).
    #[cfg(not(target_arch = "wasm32"))]
    Marker(NodeId, crate::broker::cluster::MarkerRequest),
    /// A leader's marker answer reaches the coordinator.
    #[cfg(not(target_arch = "wasm32"))]
    Marked(NodeId, crate::broker::cluster::MarkerAnswer),
    /// The coordinator asks again for every marker not yet written.
    #[cfg(not(target_arch = "wasm32"))]
    MarkerRetry,
}

/// How a broker is cut off.
#[derive(Clone, Copy, Debug, Default)]
struct Cut {
    /// From the other brokers.
    brokers: bool,
    /// From the controller.
    controller: bool,
    /// From the clients.
    clients: bool,
}

/// One run of a cluster scenario.
pub struct ClusterRun {
    /// The scenario, with its faults.
    scenario: Scenario,
    /// The cluster's settings.
    spec: ClusterSpec,
    /// The virtual clock.
    now_ms: u64,
    /// Events after this do not run.
    end_ms: u64,
    /// Pending events, earliest (time, seq) first. Bound: messages in
    /// flight and timers.
    queue: BinaryHeap<Scheduled<Ev>>,
    /// The next event's sequence number.
    next_seq: u64,
    /// Events run, against `limits.events_max`.
    events_run: u64,
    /// The brokers: `nodes[i]` is `b{i+1}`.
    nodes: Vec<BrokerNode>,
    /// The always-available controller.
    controller: Controller,
    /// The transaction coordinator, on the controller (see
    /// [`TxnCoordinator`]; none in the page's build, which runs no
    /// transactional producer).
    #[cfg(not(target_arch = "wasm32"))]
    coordinator: crate::broker::cluster::TxnCoordinator,
    /// Whether an `Ev::MarkerRetry` is pending.
    #[cfg(not(target_arch = "wasm32"))]
    marker_retry: bool,
    /// Each broker's cut.
    cuts: Vec<Cut>,
    /// Since when each broker has been silent to the controller.
    silent_since: Vec<Option<u64>>,
    /// Each broker's pending wake-up times: one event per time, however
    /// many of its timers ask for it. Bound: its timers.
    wakes: Vec<std::collections::BTreeSet<u64>>,
    /// Links, one per ordered pair of endpoints, made at their first
    /// message (a table indexed by `wire::link_slot`).
    links: Vec<Option<Link>>,
    /// The links' draws.
    rng: SimRng,
    /// Producers, by client id (`None` for readers).
    producers: Vec<Option<Producer>>,
    /// Readers, by client id (`None` for producers).
    readers: Vec<Option<Reader>>,
    /// Each producer's metadata cache: leader per partition, by index (a
    /// Vec, not a map: one fewer map type for the page to ship).
    metadata: Vec<Vec<Option<NodeId>>>,
    /// The next message id.
    next_msg: u64,
    /// What the checker reads.
    facts: ClusterFacts,
    /// The drain ran.
    drained: bool,
    /// The run proper is over: every broker was healed and restarted and
    /// the drain runs (or ran).
    draining: bool,
    /// Each broker's store, when the run keeps its logs (see [`disk`]).
    disks: disk::Disks,
}

impl ClusterRun {
    /// A run of a scenario that passed [`Scenario::validate_cluster`].
    pub fn new(scenario: &Scenario) -> Result<ClusterRun, ScenarioError> {
        let mut run = ClusterRun::build(scenario)?;
        run.start();
        Ok(run)
    }

    /// The run before its first event: empty brokers, the controller's
    /// placement, the clients (see [`stored`] for a run that resumes).
    fn build(scenario: &Scenario) -> Result<ClusterRun, ScenarioError> {
        scenario.validate_cluster()?;
        let BrokerSpec::Log(log) = &scenario.broker else {
            unreachable!("validated: a cluster is a log broker");
        };
        let spec = log.cluster.expect("validated: a cluster");
        let mut first = Vec::new();
        let mut total: u16 = 0;
        for t in &log.topics {
            let count = u16::try_from(t.partitions).expect("bounded by PARTITIONS_MAX");
            first.push((t.name.clone(), (total, count)));
            total += count;
        }
        let topic = |name: &str| first.iter().find(|(n, _)| n == name).expect("validated").1;
        let nodes: Vec<BrokerNode> = (1..=spec.brokers)
            .map(|i| BrokerNode::new(NodeId(i), &spec, log.fsync_latency_ms))
            .collect();
        let (mut producers, mut readers) = (Vec::new(), Vec::new());
        for (i, c) in scenario.clients.iter().enumerate() {
            let id = i as ClientId;
            let (p, r) = match c {
                ClientSpec::LogProducer(p) => (Some(Producer::new(id, p, topic(&p.topic))), None),
                ClientSpec::LogConsumer(k) => {
                    let committed = k.isolation_level == IsolationLevel::ReadCommitted;
                    (None, Some(Reader::new(topic(&k.topic), committed)))
                }
                _ => unreachable!("validated: a log broker has log clients"),
            };
            producers.push(p);
            readers.push(r);
        }
        let brokers = usize::from(spec.brokers);
        let run = ClusterRun {
            scenario: scenario.clone(),
            spec,
            now_ms: 0,
            end_ms: scenario.duration_ms,
            queue: BinaryHeap::new(),
            next_seq: 0,
            events_run: 0,
            nodes,
            controller: Controller::new(&spec, usize::from(total)),
            #[cfg(not(target_arch = "wasm32"))]
            coordinator: crate::broker::cluster::TxnCoordinator::new(txn::FIRST_PRODUCER_ID),
            #[cfg(not(target_arch = "wasm32"))]
            marker_retry: false,
            cuts: vec![Cut::default(); brokers],
            silent_since: vec![None; brokers],
            wakes: vec![Default::default(); brokers],
            links: vec![None; wire::link_slots(scenario.clients.len())],
            rng: SimRng::stream(scenario.seed, NET_STREAM),
            metadata: vec![vec![None; usize::from(total)]; scenario.clients.len()],
            producers,
            readers,
            next_msg: 1,
            facts: ClusterFacts::default(),
            drained: false,
            draining: false,
            disks: disk::Disks::default(),
        };
        Ok(run)
    }

    /// The controller's first words, the faults, the clients' first timers.
    fn start(&mut self) {
        let mut out = Vec::new();
        self.controller.start(&mut out);
        self.apply(None, out);
        for (i, f) in self.scenario.faults.clone().iter().enumerate() {
            self.schedule(f.at_ms, Ev::Fault(i));
        }
        for c in 0..self.producers.len() {
            if let Some(p) = &self.producers[c] {
                let at = p.due_ms(0);
                self.schedule(at, Ev::Produce(c as ClientId));
            }
            if self.readers[c].is_some() {
                self.schedule(0, Ev::Read(c as ClientId));
            }
        }
    }

    fn schedule(&mut self, at_ms: u64, ev: Ev) {
        assert!(at_ms >= self.now_ms, "the clock never goes back");
        self.queue.push(Scheduled {
            at_ms,
            seq: self.next_seq,
            ev,
        });
        self.next_seq += 1;
    }

    /// Runs to `duration_ms`, heals and restarts every broker, and drains
    /// for `limits.drain_ms`. Errs when `limits.events_max` is hit. With
    /// stores attached it may stop to wait for one
    /// ([`ClusterRun::disk_wait`]): call it again once that flush is
    /// durable, until [`ClusterRun::is_drained`].
    pub fn finish(&mut self) -> Result<(), String> {
        if !self.draining {
            self.run_to_end()?;
            if self.disk_wait().is_some() {
                return Ok(());
            }
            for i in 0..self.nodes.len() {
                let node = NodeId(i as u8 + 1);
                self.heal(node);
                self.restart(node);
            }
            self.end_ms += self.scenario.limits.drain_ms;
            self.draining = true;
        }
        self.run_to_end()?;
        self.drained = self.disk_wait().is_none() && self.shut_down_disks();
        Ok(())
    }

    fn run_to_end(&mut self) -> Result<(), String> {
        self.run_to(self.end_ms)
    }

    /// Runs every event up to `until_ms` (at most the run's end): what a
    /// page does one frame at a time. Errs when `limits.events_max` is
    /// hit.
    pub fn run_until(&mut self, until_ms: u64) -> Result<(), String> {
        self.run_to(until_ms.min(self.end_ms))
    }

    fn run_to(&mut self, limit_ms: u64) -> Result<(), String> {
        while let Some(next) = self.queue.peek() {
            if next.at_ms > limit_ms {
                break;
            }
            if !self.disks_allow(next.at_ms) {
                return Ok(()); // a store is late: wait for it (see `disk`)
            }
            if self.events_run >= self.scenario.limits.events_max {
                return Err(format!(
                    "run bound exceeded: more than limits.events_max = {} events by t={} ms",
                    self.scenario.limits.events_max, self.now_ms
                ));
            }
            let next = self.queue.pop().expect("peeked");
            self.now_ms = next.at_ms;
            self.events_run += 1;
            self.dispatch(next.ev);
        }
        if self.disks_allow(limit_ms) {
            self.now_ms = self.now_ms.max(limit_ms);
        }
        Ok(())
    }

    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::Peer { to, from, msg } if self.peer_open(from, to) => {
                self.at_node(to, |n, now, out| n.peer(now, from, msg, out))
            }
            Ev::Peer { .. } => {} // cut on the way
            Ev::Word(to, msg) if !self.cuts[usize::from(to.0) - 1].controller => {
                self.at_node(to, |n, now, out| n.leader_and_isr(now, msg, out))
            }
            Ev::Alter(from, msg) if !self.cuts[usize::from(from.0) - 1].controller => {
                let mut out = Vec::new();
                self.controller.alter_isr(from, msg, &mut out);
                self.apply(None, out);
            }
            Ev::Word(..) | Ev::Alter(..) => {} // cut on the way
            Ev::Request(to, from, req) => self.request_arrives(to, from, req),
            Ev::Reply(to, from, reply) => self.reply_arrives(to, from, reply),
            Ev::Wake(node) => {
                self.wakes[usize::from(node.0) - 1].remove(&self.now_ms);
                self.at_node(node, |n, now, out| n.tick(now, out))
            }
            Ev::Fault(i) => {
                let f = self.scenario.faults[i].clone();
                self.fault(&f);
            }
            Ev::FenceCheck(node, since) => self.fence_check(node, since),
            Ev::Produce(c) => self.produce_due(c),
            Ev::Retry(c, send_id) => self.retry_due(c, send_id),
            Ev::Read(c) => self.read_due(c),
            #[cfg(not(target_arch = "wasm32"))]
            Ev::Marker(to, req) if !self.cuts[usize::from(to.0) - 1].controller => {
                self.at_node(to, |n, now, out| n.marker(now, req, out))
            }
            #[cfg(not(target_arch = "wasm32"))]
            Ev::Marker(..) => {} // cut on the way
            #[cfg(not(target_arch = "wasm32"))]
            Ev::MarkerRetry => self.marker_retry_due(),
            #[cfg(not(target_arch = "wasm32"))]
            Ev::Marked(from, a) if !self.cuts[usize::from(from.0) - 1].controller => {
                self.coordinator.answered(a)
            }
            #[cfg(not(target_arch = "wasm32"))]
            Ev::Marked(..) => {} // cut on the way
        }
    }

    /// Runs one handler of a live broker, then applies its outputs.
    fn at_node(&mut self, node: NodeId, f: impl FnOnce(&mut BrokerNode, u64, &mut Vec<NodeOut>)) {
        let n = &mut self.nodes[usize::from(node.0) - 1];
        if !n.is_up() {
            return;
        }
        let mut out = Vec::new();
        f(n, self.now_ms, &mut out);
        self.apply(Some(node), out);
    }

    /// A broker's (or, with `None`, the controller's) outputs; then the
    /// broker's store follows its replicas.
    fn apply(&mut self, from: Option<NodeId>, out: Vec<NodeOut>) {
        for o in out {
            match (o, from) {
                (NodeOut::ToPeer { to, msg }, Some(from)) => self.send_peer(from, to, msg),
                (NodeOut::ToController(msg), Some(from)) => self.send_alter(from, msg),
                #[cfg(not(target_arch = "wasm32"))]
                (NodeOut::ToCoordinator(a), Some(from)) => self.send_marked(from, a),
                // The page's build asks no leader for a marker.
                #[cfg(target_arch = "wasm32")]
                (NodeOut::ToCoordinator(_), Some(_)) => {}
                (NodeOut::ToBroker { to, msg }, _) => self.send_word(to, msg),
                (NodeOut::ToClient { to, reply }, Some(from)) => self.send_reply(from, to, reply),
                (NodeOut::WakeAt(at), Some(from)) => self.wake_at(from, at),
                (NodeOut::Note(note), from) => self.note(from, note),
                // Not `{o:?}`: a Debug of every message would ship in the page.
                (_, None) => unreachable!("the controller only sends words and notes"),
            }
        }
        if let Some(node) = from {
            self.sync_disk(node);
        }
    }

    /// Schedules one wake-up of `node` at `at` (or now), unless one is
    /// already pending for that time.
    fn wake_at(&mut self, node: NodeId, at: u64) {
        let at = at.max(self.now_ms);
        if self.wakes[usize::from(node.0) - 1].insert(at) {
            self.schedule(at, Ev::Wake(node));
        }
    }

    /// Keeps a note; a leader's HW move records what became committed.
    /// Only a leader the controller can reach commits for the cluster: a
    /// zombie cut off from it may move its own HW (with the ISR it shrank
    /// alone), which the checker judges by what clients got from it.
    fn note(&mut self, from: Option<NodeId>, note: ClusterNote) {
        match &note {
            ClusterNote::Truncated {
                node,
                partition,
                from,
                ..
            } => self.cut_disk(*node, *partition, *from),
            ClusterNote::LostInCrash {
                node,
                partition,
                removed,
            } => {
                let from = removed.first().map_or(u64::MAX, |r| r.0);
                self.cut_disk(*node, *partition, from);
            }
            _ => {}
        }
        let reachable = from.is_some_and(|n| !self.cuts[usize::from(n.0) - 1].controller);
        if let (ClusterNote::HighWatermark { partition, hw, .. }, Some(node), true) =
            (&note, from, reachable)
        {
            let records = self.nodes[usize::from(node.0) - 1].records(*partition);
            // Every note fills offsets 0..hw, so what is kept is 0..k for
            // some k: start there (a scan from 0 on every HW move made a
            // run quadratic in its records).
            let mut kept = self
                .facts
                .committed
                .range((*partition, 0)..=(*partition, u64::MAX));
            let from = kept.next_back().map_or(0, |(&(_, o), _)| o as usize + 1);
            for r in records.unwrap_or(&[]).iter().take(*hw as usize).skip(from) {
                self.facts
                    .committed
                    .entry((*partition, r.offset))
                    .or_insert(r.msg);
            }
        }
        self.facts.notes.push((self.now_ms, note));
    }

    /// What the checker judges: the run's facts with every partition at
    /// quiescence (call after [`ClusterRun::finish`]).
    pub fn facts(&self) -> ClusterFacts {
        let mut facts = self.facts.clone();
        for (p, s) in self.controller.partitions().iter().enumerate() {
            let p = p as PartitionIdx;
            let log_of = |n: NodeId| {
                let node = &self.nodes[usize::from(n.0) - 1];
                node.records(p).map(<[_]>::to_vec).unwrap_or_default()
            };
            let Some(leader) = s.leader else {
                facts.partitions.push(FinalPartition {
                    leader: None,
                    hw: 0,
                    log: Vec::new(),
                    isr_logs: Vec::new(),
                });
                continue;
            };
            let view = self.nodes[usize::from(leader.0) - 1].view();
            let mine = view.replicas.iter().find(|r| r.partition == p);
            let isr = mine.and_then(|r| r.isr).unwrap_or_default();
            facts.partitions.push(FinalPartition {
                leader: Some(leader),
                hw: mine.map_or(0, |r| r.hw),
                log: log_of(leader),
                isr_logs: isr.without(leader).iter().map(|n| (n, log_of(n))).collect(),
            });
        }
        facts
    }

    /// The checker's verdict on this run (after [`ClusterRun::finish`]).
    pub fn verdict(&self) -> ClusterVerdict {
        check(&self.facts())
    }

    /// Success answers producers got so far.
    pub fn acks(&self) -> &[ClientAck] {
        &self.facts.acks
    }

    /// Each broker, for the page's topology (see [`NodeView`]).
    pub fn views(&self) -> Vec<NodeView> {
        self.nodes.iter().map(BrokerNode::view).collect()
    }

    /// Broker `node`'s replica of `partition`: its records (none when it
    /// hosts none).
    pub fn replica_records(&self, node: NodeId, partition: PartitionIdx) -> Option<&[Record]> {
        self.nodes
            .get(usize::from(node.0).wrapping_sub(1))?
            .records(partition)
    }

    /// The controller: leaders, epochs, ISRs.
    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// The virtual clock.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// When the run proper ends (`duration_ms`; the drain comes after).
    pub fn end_ms(&self) -> u64 {
        self.scenario.duration_ms
    }

    /// Whether [`ClusterRun::finish`] ran: every broker healed and
    /// restarted, and the drain done.
    pub fn is_drained(&self) -> bool {
        self.drained
    }

    /// Whether broker `node` is cut off from the other brokers (isolated).
    pub fn is_isolated(&self, node: NodeId) -> bool {
        self.cuts
            .get(usize::from(node.0).wrapping_sub(1))
            .is_some_and(|c| c.brokers)
    }

    /// A negative control's switch (no Kafka setting): every leader
    /// answers the coordinator's markers at its append, before any
    /// follower has them (see `BrokerNode::answer_markers_at_append`).
    pub fn answer_markers_at_append(&mut self) {
        self.nodes
            .iter_mut()
            .for_each(BrokerNode::answer_markers_at_append);
    }

    /// Broker `node`'s state for a button: whether it runs, whether it is
    /// cut off from the other brokers, and whether from everyone (`None`
    /// for a broker the cluster does not have).
    pub fn broker_state(&self, node: NodeId) -> Option<(bool, bool, bool)> {
        let i = usize::from(node.0).checked_sub(1)?;
        let (n, cut) = (self.nodes.get(i)?, self.cuts[i]);
        Some((n.is_up(), cut.brokers, cut.clients))
    }

    /// A broker fault now, as a page's button asks for it: `crash`,
    /// `restart`, `isolate`, `isolate_from_brokers` or `heal` of broker
    /// `node` (any other action,
    /// or a broker the cluster does not have, is refused by name).
    pub fn act(&mut self, action: FaultAction, node: NodeId) -> Result<(), String> {
        if node.0 == 0 || usize::from(node.0) > self.nodes.len() {
            return Err(format!(
                "unknown broker {node}: this cluster has b1..b{}",
                self.nodes.len()
            ));
        }
        if self.draining {
            return Err("the run is over: start it again to try another fault".into());
        }
        match action {
            FaultAction::Crash => self.crash(node),
            FaultAction::Restart => self.restart(node),
            FaultAction::Isolate => self.isolate(node, true),
            FaultAction::IsolateFromBrokers => self.isolate(node, false),
            FaultAction::Heal => self.heal(node),
            _ => return Err(
                "only crash, restart, isolate, isolate_from_brokers and heal are broker buttons"
                    .into(),
            ),
        }
        Ok(())
    }
}
