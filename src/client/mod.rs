//! Simulated clients: producers and consumers.
//!
//! Clients are sans-IO like the broker. Each handler gets a [`Ctx`] (the
//! virtual time, the clients' random stream, the run's message-id counter)
//! and pushes [`ClientOutput`]s: requests to send over the client's link,
//! timers to set, history entries, and effects. The world turns those into
//! scheduled events.
//!
//! Every client kind implements one trait, [`Client`], and the world drives
//! them all through it without knowing which kind it holds: a reply arrives
//! ([`Client::on_reply`]), a timer fires ([`Client::on_timer`]), the process
//! crashes and restarts, its connection to the broker is replaced
//! ([`Client::reconnect`]), the page changes a setting or draws it
//! ([`Client::view`]).
//!
//! | module | client kind |
//! |---|---|
//! | [`producer`] | publishes on a schedule, to a queue broker or a log broker: confirms, retries, `enable.idempotence` |
//! | [`consumer`] | a queue consumer: `prefetch`, ack modes, failures, dead-lettering, SQS mode |
//! | [`log_consumer`] | a consumer-group member of the log broker: polls, commits, seeks, leaves |
//! | [`txn_producer`] | a read-process-write transactional client (Kafka's exactly-once loop) |
//! | [`group_member`], [`dedup`], [`view`] | parts they share: the group protocol, the idempotent consumer's store, what the page shows |
//!
//! ## Adding a client kind
//!
//! One new module that implements [`Client`] (and builds itself from its
//! scenario entry), plus one registration: a `pub mod` line and one arm of
//! [`build`], both in this file. The world needs no change. Its scenario
//! entry is vocabulary and rules, so it also gets a [`ClientSpec`] variant
//! (`config::client`) and its validation (`scenario`).

pub mod consumer;
pub mod dedup;
pub mod group_member;
pub mod id_map;
pub mod log_consumer;
pub mod producer;
pub mod txn_producer;
pub mod view;

pub use view::{ClientSettings, ClientView, NewKeys};

use crate::broker::log::LogReply;
use crate::broker::{ClientId, Delivery, KeyId, MsgId, Request};
use crate::config::{BrokerSpec, ClientSpec, FaultAction, Scenario, Setting};
use crate::history::{Entry, Names};
use crate::sim::rng::SimRng;
use std::collections::BTreeSet;

/// A timer a client asks for. The world stamps it with the client's incarnation
/// and drops it if the client crashed in between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientTimer {
    /// A producer's next publish slot (for a transactional client: its start).
    Publish,
    /// The producer's earliest confirm deadline is due (for a log consumer:
    /// its `commitSync`'s; for a transactional client: its request's).
    ConfirmDeadline,
    /// The consumer finishes the message it is processing.
    ProcessDone,
    /// A log consumer's next heartbeat (`heartbeat.interval.ms`).
    Heartbeat,
    /// A log consumer's scheduled seek, by index into its `seeks`.
    Seek(u32),
    /// A log consumer's `close()` (`leave_at_ms`).
    Leave,
}

/// What a client asks the world to do, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientOutput {
    /// Send a request to the broker over the client's link.
    Send(Request),
    /// Call [`Client::on_timer`] with `timer` at `at_ms`.
    Timer {
        /// When (virtual ms, not before now).
        at_ms: u64,
        /// Which timer, handed back when it fires.
        timer: ClientTimer,
    },
    /// Append an entry to the history, as this client.
    Record(Entry),
    /// The consumer applied one message's effect: count one for its key.
    Effect {
        /// The message's key (`None`: keyless).
        key: Option<KeyId>,
    },
    /// The idempotent consumer: in one transaction, if `msg` is not in dedup
    /// store `store` (bounded at `ids_max` ids), add it, apply the effect and
    /// record `ok`; otherwise skip the effect and record `Deduplicated`.
    EffectOnce {
        /// The store shared by the consumers of one stream of work.
        store: dedup::StoreId,
        /// The store's bound (`dedup_ids_max`).
        ids_max: u64,
        /// The message whose effect it is.
        msg: MsgId,
        /// Its key, for the effect table.
        key: Option<KeyId>,
        /// The `ok process` entry recorded when the effect is applied.
        ok: Entry,
    },
}

/// A message on its way from the broker to a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Downlink {
    /// A queue broker's delivery (`basic.deliver`).
    Deliver(Delivery),
    /// A queue broker's publisher confirm (`basic.ack` / `basic.nack`).
    Confirm {
        /// The message confirmed.
        msg: MsgId,
        /// `basic.ack` (true) or `basic.nack` (false).
        ok: bool,
    },
    /// Any reply of the log broker.
    Log(LogReply),
}

/// What a client handler works with besides its own state.
pub struct Ctx<'a> {
    /// The virtual clock (ms).
    pub now_ms: u64,
    /// The clients' seeded stream (processing times, failures): one stream
    /// for all clients, drawn in event order.
    pub rng: &'a mut SimRng,
    /// The run's next message id: ids are unique across every producer.
    pub next_msg_id: &'a mut MsgId,
    /// Where the handler pushes what it wants done.
    pub out: &'a mut Vec<ClientOutput>,
}

/// Why the world replaces a client's connection to the broker (see
/// [`Client::reconnect`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reconnect {
    /// The client noticed its connection died: the broker crashed one link
    /// delay ago.
    Noticed,
    /// A message on the client's link was lost. Real clients talk TCP, which
    /// does not lose single messages: the loss is a broken connection, the
    /// broker sees the channel close, and the client reconnects at once.
    LinkLoss,
    /// The broker restarted: the old connection is certainly dead, even if
    /// the client has not noticed yet, so it opens a fresh one.
    BrokerRestart,
}

/// One simulated client process, as the world drives it. Handlers push
/// their outputs to [`Ctx::out`]; the world applies them in order.
pub trait Client {
    /// The run starts (or the client was added live): first timers, subscribe.
    fn start(&mut self, ctx: &mut Ctx);
    /// A message from the broker arrived on the client's current connection
    /// (the world drops those of older connections and of dead processes).
    fn on_reply(&mut self, ctx: &mut Ctx, msg: Downlink);
    /// A timer this incarnation set fires.
    fn on_timer(&mut self, ctx: &mut Ctx, timer: ClientTimer);
    /// The process dies: what it held in memory is gone.
    fn crash(&mut self, ctx: &mut Ctx);
    /// A new incarnation of the process starts.
    fn restart(&mut self, ctx: &mut Ctx);
    /// Whether the process runs (crashed clients receive nothing).
    fn alive(&self) -> bool;
    /// Whether the client keeps a connection to the broker that a broker
    /// crash or a lost message breaks (consumers). Producers keep none:
    /// their recovery is the confirm timeout.
    fn has_connection(&self) -> bool;
    /// Its connection was replaced (the world already counts the new one).
    /// Only called when [`Client::has_connection`].
    fn reconnect(&mut self, ctx: &mut Ctx, why: Reconnect);
    /// An armed fault (`crash_after_send`, `crash_after_process`) is about
    /// to crash this client. The default does nothing.
    fn before_armed_crash(&mut self, _action: FaultAction) {}
    /// Whether the final drain of a log run restarts it if it is down, so
    /// the groups can read what is left.
    fn back_for_drain(&self) -> bool;
    /// A validated live setting (see [`crate::config::Setting`]); `keys`
    /// holds the interned keys of a [`Setting::Keys`] change.
    fn apply_setting(&mut self, ctx: &mut Ctx, set: Setting, keys: NewKeys);
    /// Its live settings as the page's settings row shows them.
    fn settings(&self) -> ClientSettings;
    /// Its state for the page, named `id`.
    fn view(&self, id: &str) -> ClientView;
    /// Adds the messages it holds and has not finished to `into` (the
    /// checker tells "in a consumer's hands" from "lost" with it).
    fn holding(&self, into: &mut BTreeSet<MsgId>);
    /// Virtual time spent processing, for a client that processes.
    fn busy_ms(&self) -> Option<u64>;
    /// A copy of this client as it stands, for a timeline checkpoint (see
    /// `app::session::checkpoints`); every kind is plain state and copies
    /// itself.
    fn checkpoint(&self) -> Option<Box<dyn Client>>;
}

/// Builds client `id` from its (validated) scenario entry, its names
/// interned in `names`. **The registry of client kinds:** one arm per kind.
pub fn build(s: &Scenario, names: &Names, id: ClientId, spec: &ClientSpec) -> Box<dyn Client> {
    match (spec, &s.broker) {
        (ClientSpec::Producer(p), BrokerSpec::Queue(b)) => {
            Box::new(producer::Producer::for_queue(s, names, id, p, b))
        }
        (ClientSpec::LogProducer(p), BrokerSpec::Log(b)) => {
            Box::new(producer::Producer::for_log(s, names, id, p, b))
        }
        (ClientSpec::Consumer(k), BrokerSpec::Queue(b)) => {
            Box::new(consumer::Consumer::from_spec(names, k, b))
        }
        (ClientSpec::LogConsumer(k), BrokerSpec::Log(b)) if k.transactional.is_some() => {
            Box::new(txn_producer::TxnProducer::from_spec(s, names, id, k, b))
        }
        (ClientSpec::LogConsumer(k), BrokerSpec::Log(_)) => {
            Box::new(log_consumer::LogConsumer::from_spec(names, k))
        }
        _ => unreachable!("validated: client kinds fit the broker kind"),
    }
}

/// Interned ids the builders look up by name (all validated and interned
/// before any client is built, so a miss is a bug).
struct Lookup<'a>(&'a Names);

impl Lookup<'_> {
    /// A key's id.
    fn key(&self, k: &str) -> KeyId {
        let i = self.0.keys.iter().position(|n| n == k);
        i.expect("interned") as KeyId
    }

    /// A producer's interned `headers` table (`None` without headers).
    fn headers(&self, h: &crate::config::Headers) -> Option<crate::broker::HeadersId> {
        if h.is_empty() {
            return None;
        }
        let i = self.0.headers.iter().position(|t| t == h);
        Some(i.expect("interned") as crate::broker::HeadersId)
    }

    /// A queue's id.
    fn queue(&self, q: &str) -> crate::broker::QueueId {
        let i = self.0.queues.iter().position(|n| n == q);
        i.expect("validated") as crate::broker::QueueId
    }

    /// A topic's id.
    fn topic(&self, t: &str) -> crate::broker::log::TopicId {
        let i = self.0.topics.iter().position(|n| n == t);
        i.expect("validated") as crate::broker::log::TopicId
    }

    /// A consumer group's id.
    fn group(&self, g: &str) -> crate::broker::log::GroupId {
        let i = self.0.groups.iter().position(|n| n == g);
        i.expect("interned") as crate::broker::log::GroupId
    }
}
