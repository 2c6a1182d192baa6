//! Links, cuts and delivery, broker faults, and the controller's fencing.
//!
//! Every ordered pair of endpoints (a broker, the controller, a client)
//! has its own [`Link`]: FIFO, with the scenario's latency; broker and
//! client links lose messages at its `loss_probability`, the
//! controller's do not (it is always available). A cut broker's messages
//! are dropped when sent and when they arrive: `isolate` cuts it from
//! brokers, controller and clients, `isolate_from_brokers` from the
//! other brokers only. A crashed broker, or one cut from the controller,
//! is *silent*: the controller fences it after
//! `broker.session.timeout.ms` of silence and unfences it when it is
//! back. A restarted broker is fenced at once (a new incarnation).

use super::{ClusterRun, Cut, Ev};
use crate::broker::cluster::{AlterIsr, ClientReply, ClientRequest, LeaderAndIsr, PeerMsg};
use crate::broker::ClientId;
use crate::config::{FaultAction, FaultSpec};
use crate::node::NodeId;
use crate::sim::net::{Direction, Link, Transit};

/// The controller's endpoint number on the links.
const CONTROLLER: u16 = 100;
/// Client `c`'s endpoint number is this plus `c`.
const CLIENT_BASE: u16 = 200;

/// Where the link from endpoint `from` to `to` sits in
/// `ClusterRun::links`, a dense table of [`link_slots`]`(clients)` entries
/// (a table, not a map keyed by the pair: cheaper in the page).
fn link_slot((from, to): (u16, u16), clients: usize) -> usize {
    let index = |end: u16| match end {
        CONTROLLER => 0,
        c if c >= CLIENT_BASE => ENDPOINT_CLIENT_FIRST + usize::from(c - CLIENT_BASE),
        broker => usize::from(broker),
    };
    let ends = ENDPOINT_CLIENT_FIRST + clients;
    let slot = index(from) * ends + index(to);
    assert!(
        slot < ends * ends,
        "endpoints {from} and {to} are in the table"
    );
    slot
}

/// The link table's first client index: 0 is the controller, 1 to
/// `BROKERS_MAX` the brokers `b1` to `b5`.
const ENDPOINT_CLIENT_FIRST: usize = 1 + crate::config::cluster::bounds::BROKERS_MAX as usize;

/// Entries of the link table of a run with `clients` clients: one per
/// ordered pair of endpoints.
pub(super) fn link_slots(clients: usize) -> usize {
    (ENDPOINT_CLIENT_FIRST + clients).pow(2)
}

impl ClusterRun {
    /// The cut of broker `node`.
    fn cut(&self, node: NodeId) -> Cut {
        self.cuts[usize::from(node.0) - 1]
    }

    fn is_up(&self, node: NodeId) -> bool {
        self.nodes[usize::from(node.0) - 1].is_up()
    }

    /// One trip from endpoint `from` to `to`: when it arrives (and a
    /// duplicate's arrival), or `None` when the link loses it.
    fn trip(&mut self, (from, to): (u16, u16), lossy: bool) -> Option<(u64, Option<u64>)> {
        let spec = match (from.checked_sub(CLIENT_BASE), to.checked_sub(CLIENT_BASE)) {
            (Some(c), _) | (_, Some(c)) => {
                let client = &self.scenario.clients[usize::from(c)];
                client.network().unwrap_or(self.scenario.network)
            }
            _ => self.scenario.network,
        };
        let link = self.links[link_slot((from, to), self.producers.len())]
            .get_or_insert_with(|| Link::new(&spec));
        match link.send(self.now_ms, Direction::Up, lossy, &mut self.rng) {
            Transit::Lost => None,
            Transit::Arrives {
                at_ms,
                duplicate_at_ms,
            } => Some((at_ms, duplicate_at_ms)),
        }
    }

    /// Schedules `ev` at a trip's arrival (and its duplicate's).
    fn deliver(&mut self, ends: (u16, u16), lossy: bool, ev: Ev) {
        let Some((at_ms, dup)) = self.trip(ends, lossy) else {
            return;
        };
        if let Some(dup) = dup {
            self.schedule(dup, ev.clone());
        }
        self.schedule(at_ms, ev);
    }

    /// Broker to broker (the replication protocol).
    pub(super) fn send_peer(&mut self, from: NodeId, to: NodeId, msg: PeerMsg) {
        if self.cut(from).brokers || self.cut(to).brokers {
            return;
        }
        let ev = Ev::Peer { to, from, msg };
        self.deliver((u16::from(from.0), u16::from(to.0)), true, ev);
    }

    /// A leader's ISR change, to the controller.
    pub(super) fn send_alter(&mut self, from: NodeId, msg: AlterIsr) {
        if !self.cut(from).controller {
            self.deliver((u16::from(from.0), CONTROLLER), false, Ev::Alter(from, msg));
        }
    }

    /// A leader's marker answer, to the coordinator on the controller.
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) fn send_marked(&mut self, from: NodeId, a: crate::broker::cluster::MarkerAnswer) {
        if !self.cut(from).controller {
            self.deliver((u16::from(from.0), CONTROLLER), false, Ev::Marked(from, a));
        }
    }

    /// The coordinator's marker, to a partition's leader.
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) fn send_marker(&mut self, to: NodeId, req: crate::broker::cluster::MarkerRequest) {
        if !self.cut(to).controller && self.is_up(to) {
            self.deliver((CONTROLLER, u16::from(to.0)), false, Ev::Marker(to, req));
        }
    }

    /// The controller's word, to a broker.
    pub(super) fn send_word(&mut self, to: NodeId, msg: LeaderAndIsr) {
        if !self.cut(to).controller && self.is_up(to) {
            self.deliver((CONTROLLER, u16::from(to.0)), false, Ev::Word(to, msg));
        }
    }

    /// A broker's answer, to a client.
    pub(super) fn send_reply(&mut self, from: NodeId, to: ClientId, reply: ClientReply) {
        if !self.cut(from).clients {
            let ends = (u16::from(from.0), CLIENT_BASE + to as u16);
            self.deliver(ends, true, Ev::Reply(to, from, reply));
        }
    }

    /// A client's request, to a broker.
    pub(super) fn send_request(&mut self, from: ClientId, to: NodeId, req: ClientRequest) {
        if !self.cut(to).clients {
            let ends = (CLIENT_BASE + from as u16, u16::from(to.0));
            self.deliver(ends, true, Ev::Request(to, from, req));
        }
    }

    /// A request arrives: dropped by a broker that is down or cut off.
    pub(super) fn request_arrives(&mut self, to: NodeId, from: ClientId, req: ClientRequest) {
        if self.cut(to).clients {
            return;
        }
        self.at_node(to, |n, now, out| n.client(now, from, req, out));
    }

    /// Whether a message between brokers still gets through on arrival.
    pub(super) fn peer_open(&self, from: NodeId, to: NodeId) -> bool {
        !self.cut(from).brokers && !self.cut(to).brokers
    }

    /// A fault of the scenario, by broker name (validated).
    pub(super) fn fault(&mut self, f: &FaultSpec) {
        let Some(node) = self.broker_named(&f.target) else {
            return; // a client fault: the harness's clients do not crash
        };
        match f.action {
            FaultAction::Crash | FaultAction::CrashTorn => self.crash(node),
            FaultAction::Restart => self.restart(node),
            FaultAction::Isolate => self.isolate(node, true),
            FaultAction::IsolateFromBrokers => self.isolate(node, false),
            FaultAction::Heal => self.heal(node),
            FaultAction::SlowFollower => {
                let until_ms = f.until_ms.expect("validated: slow_follower has until_ms");
                self.facts.faults.push((self.now_ms, node, "slow_follower"));
                self.at_node(node, |n, _, out| n.stall_fetcher(until_ms, out));
            }
            FaultAction::DropAcks
            | FaultAction::CrashAfterSend
            | FaultAction::CrashAfterProcess => {
                unreachable!("validated: these target a client")
            }
        }
    }

    /// The broker a fault names: `b1` … `bN`, or `broker` for a cluster
    /// of one.
    fn broker_named(&self, target: &str) -> Option<NodeId> {
        let node = NodeId::from_name(target)?;
        let node = if node == NodeId::FIRST {
            NodeId(1)
        } else {
            node
        };
        (usize::from(node.0) <= self.nodes.len()).then_some(node)
    }

    /// Broker `node` crashes: silent from now on.
    pub(super) fn crash(&mut self, node: NodeId) {
        if !self.is_up(node) {
            return;
        }
        self.facts.faults.push((self.now_ms, node, "crash"));
        let mut out = Vec::new();
        self.nodes[usize::from(node.0) - 1].crash(self.now_ms, &mut out);
        self.crash_disk(node);
        self.apply(Some(node), out);
        self.silent(node);
    }

    /// Broker `node` comes back; the controller hears it unless it is cut.
    pub(super) fn restart(&mut self, node: NodeId) {
        if self.is_up(node) {
            return;
        }
        self.facts.faults.push((self.now_ms, node, "restart"));
        self.nodes[usize::from(node.0) - 1].restart();
        if !self.cut(node).controller {
            // A new process registers a new incarnation: the controller
            // knows the old one is gone, even within its session, and
            // moves its leaderships off it before it rejoins as a follower
            // (it may have lost what was not on its disk).
            let mut out = Vec::new();
            self.controller.fence(node, &mut out);
            self.apply(None, out);
            self.reachable(node);
        }
    }

    /// Cuts `node` from the other brokers, and with `everyone` from the
    /// controller and the clients too.
    pub(super) fn isolate(&mut self, node: NodeId, everyone: bool) {
        let what = if everyone {
            "isolate"
        } else {
            "isolate_from_brokers"
        };
        self.facts.faults.push((self.now_ms, node, what));
        self.cuts[usize::from(node.0) - 1] = Cut {
            brokers: true,
            controller: everyone,
            clients: everyone,
        };
        if everyone {
            self.silent(node);
        }
    }

    /// Broker `node`'s links come back.
    pub(super) fn heal(&mut self, node: NodeId) {
        let cut = self.cut(node);
        if !cut.brokers && !cut.controller && !cut.clients {
            return;
        }
        self.facts.faults.push((self.now_ms, node, "heal"));
        self.cuts[usize::from(node.0) - 1] = Cut::default();
        if self.is_up(node) {
            self.reachable(node);
        }
    }

    /// `node` went silent: the controller fences it after the session
    /// timeout unless it is heard from before.
    fn silent(&mut self, node: NodeId) {
        let since = &mut self.silent_since[usize::from(node.0) - 1];
        if since.is_some() {
            return;
        }
        *since = Some(self.now_ms);
        let at = self.now_ms + self.spec.broker_session_timeout_ms;
        self.schedule(at, Ev::FenceCheck(node, self.now_ms));
    }

    /// The controller hears `node` again.
    fn reachable(&mut self, node: NodeId) {
        self.silent_since[usize::from(node.0) - 1] = None;
        let mut out = Vec::new();
        self.controller.unfence(node, &mut out);
        self.apply(None, out);
    }

    /// The session check: still silent since `since`? Fenced.
    pub(super) fn fence_check(&mut self, node: NodeId, since: u64) {
        if self.silent_since[usize::from(node.0) - 1] == Some(since) {
            let mut out = Vec::new();
            self.controller.fence(node, &mut out);
            self.apply(None, out);
        }
    }
}
