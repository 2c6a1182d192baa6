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
    pub(super) fn apply_fault(&mut self, fault: &FaultSpec) {
        if fault.target == "broker" {
            match fault.action {
                FaultAction::Crash => self.crash_broker(self.scenario.fault_options.torn_writes),
                FaultAction::CrashTorn => self.crash_broker(true),
                FaultAction::Restart => self.restart_broker(),
                FaultAction::DropAcks
                | FaultAction::CrashAfterSend
                | FaultAction::CrashAfterProcess => {
                    unreachable!("validated: these target a client")
                }
            }
            return;
        }
        let c = self
            .names
            .clients
            .iter()
            .position(|n| *n == fault.target)
            .expect("validated client id") as ClientId;
        match fault.action {
            FaultAction::Crash => self.crash_client(c),
            FaultAction::CrashTorn => unreachable!("validated: crash_torn targets the broker"),
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

    /// The broker dies. With `torn`, the batch its disk was writing lands
    /// torn (see [`FaultAction::CrashTorn`]).
    pub(super) fn crash_broker(&mut self, torn: bool) {
        if !self.broker.is_up() {
            return;
        }
        self.record(Proc::Broker(NodeId::FIRST), Entry::Crash);
        let tear = if torn {
            let bits = self.rng_tear.below(TEAR_BITS_MAX);
            let keep_bytes = self.rng_tear.below(1 << bits);
            Tear::LastBatch {
                keep_bytes: u32::try_from(keep_bytes).expect("below 2^16"),
            }
        } else {
            Tear::None
        };
        let mut out = std::mem::take(&mut self.broker_out);
        self.broker
            .crash(self.now_ms, tear, &mut *self.storage, &mut out);
        self.apply_broker_outputs(&mut out);
        self.broker_out = out;
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
                self.schedule(at_ms, Ev::ConnectionLost { client: c, conn });
            }
        }
    }

    /// The broker comes back (recovering its disk, for the log broker) and
    /// every live client with a connection opens a fresh one.
    pub(super) fn restart_broker(&mut self) {
        if self.broker.is_up() {
            return;
        }
        self.record(Proc::Broker(NodeId::FIRST), Entry::Restart);
        let mut out = std::mem::take(&mut self.broker_out);
        self.broker
            .restart(self.now_ms, &mut *self.storage, &mut out);
        self.apply_broker_outputs(&mut out);
        self.broker_out = out;
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
