//! Running the state machines: a request that reaches the broker, a reply or
//! timer that reaches a client, and what each of them outputs in turn:
//! history entries, messages onto the wire, timers and effects.

use super::clock::Ev;
use super::wire::{downlink_msg, request_msg, request_name, Downlink};
use super::{ClientKind, World};
use crate::broker::log::LogReply;
use crate::broker::{ClientId, KeyId, MsgId, Output, Request};
use crate::client::dedup::{DedupStore, StoreId};
use crate::client::{ClientOutput, ClientTimer};
use crate::history::{Entry, Proc};
use crate::node::NodeId;
use crate::storage::{FlushId, FlushState};

impl World {
    pub(super) fn arrive_at_broker(&mut self, from: ClientId, req: Request) {
        if !self.broker.is_up() {
            self.record(
                Proc::Broker(NodeId::FIRST),
                Entry::NetDrop {
                    msg: request_msg(req),
                    what: request_name(req),
                    why: "broker down",
                },
            );
            return;
        }
        let mut out = std::mem::take(&mut self.broker_out);
        let storage = &mut *self.storage;
        self.broker
            .handle(self.now_ms, from, req, storage, &mut out);
        self.apply_broker_outputs(&mut out);
        self.broker_out = out;
    }

    pub(super) fn apply_broker_outputs(&mut self, out: &mut Vec<Output>) {
        for o in out.drain(..) {
            match o {
                Output::Deliver { to, delivery } => {
                    self.record(Proc::Broker(NodeId::FIRST), Entry::Deliver { to, delivery });
                    self.send_down(to, Downlink::Deliver(delivery));
                }
                Output::Confirm { to, msg, ok } => {
                    self.send_down(to, Downlink::Confirm { msg, ok })
                }
                Output::WakeAt { at_ms } => self.schedule(at_ms.max(self.now_ms), Ev::BrokerWake),
                Output::Note(note) => self.record(Proc::Broker(NodeId::FIRST), Entry::Broker(note)),
                Output::Log { to, reply } => self.send_down(to, Downlink::Log(reply)),
                Output::FlushAt { id, at_ms } => self.schedule(at_ms, Ev::FlushDone(id)),
            }
        }
    }

    pub(super) fn arrive_at_client(&mut self, to: ClientId, conn: u32, msg: Downlink) {
        let client = &self.clients[to as usize];
        if !client.alive() || client.conn != conn {
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
        let mut out = std::mem::take(&mut self.client_out);
        match (&mut self.clients[to as usize].kind, msg) {
            (ClientKind::Consumer(k), Downlink::Deliver(d)) => {
                k.on_deliver(self.now_ms, d, &mut self.rng_clients, &mut out)
            }
            (ClientKind::Producer(p), Downlink::Confirm { msg, ok }) => {
                p.on_confirm(self.now_ms, msg, ok, &mut out)
            }
            (
                ClientKind::Producer(p),
                Downlink::Log(LogReply::ProduceAck {
                    msg,
                    partition,
                    offset,
                }),
            ) => p.on_produce_ack(self.now_ms, msg, partition, offset, &mut out),
            (ClientKind::LogConsumer(k), Downlink::Log(reply)) => {
                k.on_reply(self.now_ms, reply, &mut self.rng_clients, &mut out)
            }
            (ClientKind::TxnProducer(k), Downlink::Log(reply)) => {
                k.on_reply(self.now_ms, reply, &mut out)
            }
            _ => unreachable!("deliveries go to consumers, confirms to producers"),
        }
        self.apply_client_outputs(to, &mut out);
        self.client_out = out;
    }

    pub(super) fn client_timer(&mut self, client: ClientId, incarnation: u32, timer: ClientTimer) {
        let c = &mut self.clients[client as usize];
        if c.incarnation != incarnation || !c.alive() {
            return; // a timer of a process that has since died
        }
        let mut out = std::mem::take(&mut self.client_out);
        let now = self.now_ms;
        match (&mut c.kind, timer) {
            // Producers stop at `duration_ms`, also when a drain runs on.
            (ClientKind::Producer(_), ClientTimer::Publish) if now > self.scenario.duration_ms => {}
            (ClientKind::Producer(p), ClientTimer::Publish) => {
                p.on_publish_slot(now, &mut self.next_msg_id, &mut out)
            }
            (ClientKind::Producer(p), ClientTimer::ConfirmDeadline) => {
                p.on_confirm_deadline(now, &mut out)
            }
            (ClientKind::Consumer(k), ClientTimer::ProcessDone) => {
                k.on_process_done(now, &mut self.rng_clients, &mut out)
            }
            (ClientKind::LogConsumer(k), ClientTimer::ProcessDone) => {
                k.on_process_done(now, &mut self.rng_clients, &mut out)
            }
            (ClientKind::LogConsumer(k), ClientTimer::Heartbeat) => {
                k.on_heartbeat_timer(now, &mut out)
            }
            (ClientKind::LogConsumer(k), ClientTimer::ConfirmDeadline) => {
                k.on_commit_deadline(now, &mut out)
            }
            (ClientKind::LogConsumer(k), ClientTimer::Seek(i)) => k.on_seek_timer(i, &mut out),
            (ClientKind::LogConsumer(k), ClientTimer::Leave) => k.on_leave_timer(now, &mut out),
            // The transactional client: start, heartbeat, batch done, request deadline.
            (ClientKind::TxnProducer(k), ClientTimer::Publish) => k.on_start_timer(now, &mut out),
            (ClientKind::TxnProducer(k), ClientTimer::Heartbeat) => {
                k.on_heartbeat_timer(now, &mut out)
            }
            (ClientKind::TxnProducer(k), ClientTimer::ProcessDone) => {
                k.on_process_done(now, &mut self.next_msg_id, &mut self.rng_clients, &mut out)
            }
            (ClientKind::TxnProducer(k), ClientTimer::ConfirmDeadline) => {
                k.on_deadline_timer(now, &mut out)
            }
            _ => unreachable!("timers go to the client kind that set them"),
        }
        self.apply_client_outputs(client, &mut out);
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

    /// The broker asked to be woken (visibility timeouts, group timers).
    pub(super) fn broker_wake(&mut self) {
        let mut out = std::mem::take(&mut self.broker_out);
        self.broker.tick(self.now_ms, &mut *self.storage, &mut out);
        self.apply_broker_outputs(&mut out);
        self.broker_out = out;
    }

    /// A group commit reached its completion time (and, for IndexedDB, its
    /// transaction committed: [`World::step`] waits for that).
    pub(super) fn flush_done(&mut self, id: FlushId) {
        if !self.broker.is_up() {
            return; // the crash already failed it
        }
        let state = self.storage.flush_state(id, self.now_ms);
        assert!(state != FlushState::InProgress, "step waits for the store");
        let mut out = std::mem::take(&mut self.broker_out);
        let storage = &mut *self.storage;
        self.broker
            .flush_done(self.now_ms, id, state, storage, &mut out);
        self.apply_broker_outputs(&mut out);
        self.broker_out = out;
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
        match &mut c.kind {
            ClientKind::Consumer(k) => k.connection_lost(),
            ClientKind::LogConsumer(k) => {
                let mut out = std::mem::take(&mut self.client_out);
                k.rejoin(&mut out);
                self.apply_client_outputs(client, &mut out);
                self.client_out = out;
            }
            ClientKind::TxnProducer(k) => {
                let mut out = std::mem::take(&mut self.client_out);
                k.start_over(self.now_ms, &mut out);
                self.apply_client_outputs(client, &mut out);
                self.client_out = out;
            }
            ClientKind::Producer(_) => {}
        }
    }
}
