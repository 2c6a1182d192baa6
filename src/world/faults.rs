//! Faults: crashes and restarts of the broker and of clients, scheduled in
//! the scenario or injected live, `drop_acks`, armed faults that fire at a
//! client's next send or effect (`crash_after_send`, `crash_after_process`),
//! and torn crashes of the broker's disk.

use super::clock::Ev;
use super::wire::request_msg;
use super::World;
use crate::broker::ClientId;
use crate::client::{ClientOutput, Reconnect};
use crate::config::{FaultAction, FaultSpec};
use crate::history::{Entry, Proc};
use crate::node::NodeId;
use crate::sim::net::{Direction, Transit};
use crate::storage::Tear;

/// A tear keeps `below(2^k)` bytes of the batch, `k` drawn below this: cuts
/// in the header and deep in a large batch are both likely. (The store
/// clamps the cut below the batch's length, so the batch is always torn.)
const TEAR_BITS_MAX: u64 = 16;

impl World {
    /// Applies a (validated) fault now. Its target names a broker node
    /// (`broker` is node 0, see [`crate::node`]) or a client.
    pub(super) fn apply_fault(&mut self, fault: &FaultSpec) {
        match self.node_named(&fault.target) {
            Some(node) => self.apply_node_fault(node, fault.action),
            None => self.apply_client_fault(fault),
        }
    }

    /// The broker node a fault target names, if this world has it. A name
    /// of a node the world lacks (`b1` in a one-node run) is left to the
    /// clients, as before nodes had names.
    fn node_named(&self, target: &str) -> Option<NodeId> {
        NodeId::from_name(target).filter(|node| node.index() < self.nodes.len())
    }

    fn apply_node_fault(&mut self, node: NodeId, action: FaultAction) {
        match action {
            FaultAction::Crash => self.crash_broker(node, self.scenario.fault_options.torn_writes),
            FaultAction::CrashTorn => self.crash_broker(node, true),
            FaultAction::Restart => self.restart_broker(node),
            FaultAction::DropAcks
            | FaultAction::CrashAfterSend
            | FaultAction::CrashAfterProcess => {
                unreachable!("validated: these target a client")
            }
            FaultAction::Isolate
            | FaultAction::IsolateFromBrokers
            | FaultAction::Heal
            | FaultAction::SlowFollower => {
                unreachable!("validated: the world runs no cluster yet")
            }
        }
    }

    fn apply_client_fault(&mut self, fault: &FaultSpec) {
        let c = self
            .names
            .clients
            .iter()
            .position(|n| *n == fault.target)
            .expect("validated client id") as ClientId;
        match fault.action {
            FaultAction::Crash => self.crash_client(c),
            FaultAction::CrashTorn
            | FaultAction::Isolate
            | FaultAction::IsolateFromBrokers
            | FaultAction::Heal
            | FaultAction::SlowFollower => unreachable!("validated: these target a broker"),
            FaultAction::Restart => self.restart_client(c),
            FaultAction::DropAcks => {
                let until_ms = fault.until_ms.expect("validated: drop_acks has until_ms");
                self.links[c as usize].drop_acks_until_ms = until_ms;
                self.record(Proc::Client(c), Entry::DropAcks { until_ms });
            }
            FaultAction::CrashAfterSend | FaultAction::CrashAfterProcess => {
                let until_ms = fault
                    .until_ms
                    .expect("validated: armed faults have until_ms");
                self.armed.retain(|a| a.0 != c);
                self.armed.push((c, fault.action, until_ms));
            }
        }
    }

    /// Whether an armed fault of `client` fires after output `o` (`rest`
    /// is what the same step still has to do): a producer's publish went
    /// out, or a consumer's effect was applied (so the ack or commit that
    /// follows never does). A transactional client's effect is a whole
    /// committed batch, so it dies after the batch's last `ok process`, not
    /// between records of one transaction.
    pub(super) fn armed_fault_fires(
        &self,
        client: ClientId,
        o: &ClientOutput,
        rest: &[ClientOutput],
    ) -> bool {
        let Some(&(_, action, _)) = self.armed.iter().find(|a| a.0 == client) else {
            return false;
        };
        match (action, o) {
            (FaultAction::CrashAfterSend, ClientOutput::Send(req)) => request_msg(*req).is_some(),
            // The effect and its `ok` are in; the ack or commit is next.
            (FaultAction::CrashAfterProcess, ClientOutput::EffectOnce { .. }) => true,
            (FaultAction::CrashAfterProcess, ClientOutput::Record(e)) => {
                let more_ok =
                    |r: &ClientOutput| matches!(r, ClientOutput::Record(e) if is_process_ok(e));
                is_process_ok(e) && !rest.iter().any(more_ok)
            }
            _ => false,
        }
    }

    /// Crashes the client whose armed fault fired and schedules its restart.
    pub(super) fn fire_armed_fault(&mut self, client: ClientId) {
        let at = self
            .armed
            .iter()
            .position(|a| a.0 == client)
            .expect("armed");
        let (_, action, restart_ms) = self.armed.remove(at);
        self.clients[client as usize]
            .client
            .before_armed_crash(action);
        self.crash_client(client);
        self.schedule(restart_ms.max(self.now_ms), Ev::RestartClient(client));
    }

    /// Broker node `node` dies. With `torn`, the batch its disk was writing
    /// lands torn (see [`FaultAction::CrashTorn`]).
    pub(super) fn crash_broker(&mut self, node: NodeId, torn: bool) {
        if !self.nodes[node.index()].broker.is_up() {
            return;
        }
        self.record(Proc::Broker(node), Entry::Crash);
        let tear = if torn {
            let bits = self.rng_tear.below(TEAR_BITS_MAX);
            let keep_bytes = self.rng_tear.below(1 << bits);
            Tear::LastBatch {
                keep_bytes: u32::try_from(keep_bytes).expect("below 2^16"),
            }
        } else {
            Tear::None
        };
        self.with_node(node, |broker, now_ms, storage, out| {
            broker.crash(now_ms, tear, storage, out)
        });
        // Every consumer's TCP connection breaks; it notices after one link delay.
        for c in 0..self.clients.len() as ClientId {
            let slot = &self.clients[c as usize];
            if slot.client.alive() && slot.client.has_connection() {
                let conn = slot.conn;
                let at_ms = match self.links[c as usize].send(
                    self.now_ms,
                    Direction::Down,
                    false,
                    &mut self.rng_net,
                ) {
                    Transit::Arrives { at_ms, .. } => at_ms,
                    Transit::Lost => unreachable!("non-lossy sends arrive"),
                };
                let lost = Ev::ConnectionLost {
                    client: c,
                    node,
                    conn,
                };
                self.schedule(at_ms, lost);
            }
        }
    }

    /// Broker node `node` comes back (recovering its disk, for the log
    /// broker) and every live client with a connection opens a fresh one.
    pub(super) fn restart_broker(&mut self, node: NodeId) {
        if self.nodes[node.index()].broker.is_up() {
            return;
        }
        self.record(Proc::Broker(node), Entry::Restart);
        self.with_node(node, |broker, now_ms, storage, out| {
            broker.restart(now_ms, storage, out)
        });
        // Clients with automatic connection recovery re-subscribe: the old
        // connection is certainly dead, even if the client has not noticed
        // yet, so each starts a fresh one.
        for c in 0..self.clients.len() as ClientId {
            let slot = &mut self.clients[c as usize];
            if slot.client.alive() && slot.client.has_connection() {
                slot.conn += 1;
                self.with_client(c, |client, ctx| {
                    client.reconnect(ctx, Reconnect::BrokerRestart)
                });
            }
        }
    }

    /// A client process dies: its timers and connection die with it (the
    /// incarnation and connection counters move on).
    pub(super) fn crash_client(&mut self, c: ClientId) {
        if !self.clients[c as usize].client.alive() {
            return;
        }
        self.record(Proc::Client(c), Entry::Crash);
        let slot = &mut self.clients[c as usize];
        slot.incarnation += 1;
        slot.conn += 1;
        self.with_client(c, |client, ctx| client.crash(ctx));
    }

    /// A crashed client process starts again.
    pub(super) fn restart_client(&mut self, c: ClientId) {
        if self.clients[c as usize].client.alive() {
            return;
        }
        self.record(Proc::Client(c), Entry::Restart);
        self.with_client(c, |client, ctx| client.restart(ctx));
    }
}

/// An `ok process` entry of either consumer kind.
pub(super) fn is_process_ok(e: &Entry) -> bool {
    matches!(
        e,
        Entry::Process {
            ty: crate::history::OpType::Ok,
            ..
        } | Entry::Log(crate::history::LogEntry::Process {
            ty: crate::history::OpType::Ok,
            ..
        })
    )
}
