//! Running the state machines: a request that reaches the broker, a reply or
//! timer that reaches a client, and what each of them outputs in turn:
//! history entries, messages onto the wire, timers and effects.

use super::clock::Ev;
use super::wire::{downlink_msg, request_msg, request_name};
use super::World;
use crate::broker::{Broker, ClientId, KeyId, MsgId, Output, Request};
use crate::client::dedup::{DedupStore, StoreId};
use crate::client::{Client, ClientOutput, ClientTimer, Ctx, Downlink, Reconnect};
use crate::history::{Entry, Proc};
use crate::node::NodeId;
use crate::storage::{FlushId, FlushState, Storage};

impl World {
    /// A request reaches broker node `node`: a node that is down drops it.
    pub(super) fn arrive_at_broker(&mut self, node: NodeId, from: ClientId, req: Request) {
        if !self.nodes[node.index()].broker.is_up() {
            self.record(
                Proc::Broker(node),
                Entry::NetDrop {
                    msg: request_msg(req),
                    what: request_name(req),
                    why: "broker down",
                },
            );
            return;
        }
        self.with_node(node, |broker, now_ms, storage, out| {
            broker.handle(now_ms, from, req, storage, out)
        });
    }

    /// Runs one handler of broker node `node` on its own disk, then applies
    /// what it output. Every call into a broker goes through here.
    pub(super) fn with_node(
        &mut self,
        node: NodeId,
        f: impl FnOnce(&mut Broker, u64, &mut dyn Storage, &mut Vec<Output>),
    ) {
        let mut out = std::mem::take(&mut self.broker_out);
        let n = &mut self.nodes[node.index()];
        f(&mut n.broker, self.now_ms, &mut *n.storage, &mut out);
        self.apply_broker_outputs(node, &mut out);
        self.broker_out = out;
    }

    /// What node `node` output, in order: history entries, messages down to
    /// clients, its wake-up and flush timers.
    pub(super) fn apply_broker_outputs(&mut self, node: NodeId, out: &mut Vec<Output>) {
        for o in out.drain(..) {
            match o {
                Output::Deliver { to, delivery } => {
                    self.record(Proc::Broker(node), Entry::Deliver { to, delivery });
                    self.send_down(node, to, Downlink::Deliver(delivery));
                }
                Output::Confirm { to, msg, ok } => {
                    self.send_down(node, to, Downlink::Confirm { msg, ok })
                }
                Output::WakeAt { at_ms } => {
                    self.schedule(at_ms.max(self.now_ms), Ev::BrokerWake(node))
                }
                // The world's consumers never send basic.get.
                Output::Got { .. } => unreachable!("no simulated client sends basic.get"),
                // The note is in the history; the consumer finds its channel
                // gone and subscribes again, as after a connection loss.
                Output::ChannelError { to, .. } => self.reset_consumer_connection(to),
                Output::Note(note) => self.record(Proc::Broker(node), Entry::Broker(note)),
                Output::Log { to, reply } => self.send_down(node, to, Downlink::Log(reply)),
                Output::FlushAt { id, at_ms } => self.schedule(at_ms, Ev::FlushDone(node, id)),
            }
        }
    }

    pub(super) fn arrive_at_client(&mut self, to: ClientId, conn: u32, msg: Downlink) {
        let slot = &self.clients[to as usize];
        if !slot.client.alive() || slot.conn != conn {
            let (id, what) = downlink_msg(msg);
            self.record(
                Proc::Client(to),
                Entry::NetDrop {
                    msg: id,
                    what,
                    why: "receiver gone",
                },
            );
            return;
        }
        self.with_client(to, |client, ctx| client.on_reply(ctx, msg));
    }

    /// A client's timer fires, unless it belongs to an older incarnation.
    pub(super) fn client_timer(&mut self, client: ClientId, incarnation: u32, timer: ClientTimer) {
        let c = &self.clients[client as usize];
        if c.incarnation != incarnation || !c.client.alive() {
            return; // a timer of a process that has since died
        }
        self.with_client(client, |c, ctx| c.on_timer(ctx, timer));
    }

    /// Runs one handler of client `c` with a fresh [`Ctx`], then applies
    /// what it output. Every call into a client goes through here.
    pub(super) fn with_client(&mut self, c: ClientId, f: impl FnOnce(&mut dyn Client, &mut Ctx)) {
        let mut out = std::mem::take(&mut self.client_out);
        let mut ctx = Ctx {
            now_ms: self.now_ms,
            rng: &mut self.rng_clients,
            next_msg_id: &mut self.next_msg_id,
            out: &mut out,
        };
        f(&mut *self.clients[c as usize].client, &mut ctx);
        self.apply_client_outputs(c, &mut out);
        self.client_out = out;
    }

    pub(super) fn apply_client_outputs(&mut self, client: ClientId, out: &mut Vec<ClientOutput>) {
        let incarnation = self.clients[client as usize].incarnation;
        let mut i = 0;
        while i < out.len() {
            let o = out[i];
            i += 1;
            match o {
                ClientOutput::EffectOnce {
                    store,
                    ids_max,
                    msg,
                    key,
                    ok,
                } => self.effect_once(client, store, ids_max, msg, key, ok),
                ClientOutput::Send(req) => self.send_up(client, req),
                ClientOutput::Timer { at_ms, timer } => self.schedule(
                    at_ms,
                    Ev::Timer {
                        client,
                        incarnation,
                        timer,
                    },
                ),
                ClientOutput::Record(entry) => self.record(Proc::Client(client), entry),
                ClientOutput::Effect { key } => *self.effects.entry(key).or_insert(0) += 1,
            }
            if !self.armed.is_empty() && self.armed_fault_fires(client, &o, &out[i..]) {
                // The process dies right after `o`: nothing after it ran.
                out.clear();
                self.fire_armed_fault(client);
                return;
            }
        }
        out.clear();
    }

    /// The idempotent consumer's transaction: the dedup store and the effect
    /// change together or not at all (see [`crate::client::dedup`]).
    pub(super) fn effect_once(
        &mut self,
        client: ClientId,
        store: StoreId,
        ids_max: u64,
        msg: MsgId,
        key: Option<KeyId>,
        ok: Entry,
    ) {
        let store = self
            .dedup
            .entry(store)
            .or_insert_with(|| DedupStore::new(ids_max));
        if store.first_time(msg) {
            *self.effects.entry(key).or_insert(0) += 1;
            self.record(Proc::Client(client), ok);
        } else {
            self.record(Proc::Client(client), Entry::Deduplicated { msg });
        }
    }

    /// Broker node `node` asked to be woken (visibility timeouts, group
    /// timers).
    pub(super) fn broker_wake(&mut self, node: NodeId) {
        self.with_node(node, |broker, now_ms, storage, out| {
            broker.tick(now_ms, storage, out)
        });
    }

    /// A group commit of node `node` reached its completion time (and, for
    /// IndexedDB, its transaction committed: [`World::step`] waits for that).
    pub(super) fn flush_done(&mut self, node: NodeId, id: FlushId) {
        if !self.nodes[node.index()].broker.is_up() {
            return; // the crash already failed it
        }
        self.with_node(node, |broker, now_ms, storage, out| {
            let state = storage.flush_state(id, now_ms);
            assert!(state != FlushState::InProgress, "step waits for the store");
            broker.flush_done(now_ms, id, state, storage, out)
        });
    }

    /// A client notices that its connection `conn` died (the broker crashed
    /// one link delay ago). Stale notices, of a connection already
    /// replaced, are ignored.
    pub(super) fn connection_lost(&mut self, client: ClientId, conn: u32) {
        let c = &mut self.clients[client as usize];
        if c.conn != conn {
            return;
        }
        c.conn += 1;
        if c.client.has_connection() {
            self.with_client(client, |c, ctx| c.reconnect(ctx, Reconnect::Noticed));
        }
    }
}
