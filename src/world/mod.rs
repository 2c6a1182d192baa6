//! The simulation world: brokers, their clients, the links between them, a
//! virtual clock and an event queue.
//!
//! Everything that happens is an event at a virtual time (ms, `u64`). Events
//! are ordered by `(time, sequence)`: the sequence number is the order in which
//! they were scheduled, so two events at the same millisecond always run in the
//! same order. Together with the seeded PRNG that makes a run a pure function of
//! (scenario, seed): the history is byte-identical natively and in the browser.
//!
//! ```no_run
//! use brokerlab::config::Scenario;
//! use brokerlab::world::World;
//! let scenario = Scenario::from_json(&std::fs::read_to_string("scenarios/prefetch.json").unwrap()).unwrap();
//! let mut world = World::new(&scenario);
//! world.run_until(500).unwrap();      // partial run, e.g. one UI frame
//! world.run().unwrap();               // to the end (duration_ms)
//! let summary = world.summary();      // counts + checker findings
//! ```
//!
//! ## Map
//!
//! [`World`] is one struct; its methods live in rooms, one job each:
//!
//! | room | its job |
//! |---|---|
//! | `clock.rs` | the event loop: the virtual clock, the queue ordered by (time, seq), `step`, `run_until`, `finish`, `drain`, and `dispatch`, which hands each event to its room |
//! | `build.rs` | building the world from a scenario: names, the broker, the clients (each built by [`crate::client::build`]), the store; `new`, `with_storage`, `resume` |
//! | `drive.rs` | running the state machines: an arrival goes to the broker or a client (through the [`crate::client::Client`] trait, never by kind), and what they output becomes history, messages on the wire and timers |
//! | `wire.rs` | the links: latency, loss and duplication on the way up and down, `drop_acks`, connections reset by a loss, and the messages in flight |
//! | `faults.rs` | faults: scheduled and injected crashes and restarts, `drop_acks`, armed `crash_after_*` faults, torn crashes of the broker's disk |
//! | `control.rs` | live control, as the page drives it: `inject`, `add_client`, `set_client`, and the client settings the page shows |
//! | `checkpoint.rs` | a copy of the world at one instant, its history left out, and restoring it (the timeline's checkpoints) |
//! | `observe.rs` | observation: client views, the snapshot the checker needs, the summary (full and live) |
//! | `cluster/` | the replication core's harness (issue 13): a cluster scenario run over its own event queue and links until this world routes requests to partition leaders |
//!
//! Rooms reach each other's helpers through `pub(super)` methods; the
//! world's fields are private to this module and its rooms.
//!
//! ## Broker nodes
//!
//! The world holds its brokers as nodes ([`NodeId`]), each with its own
//! disk. A run has one today, node 0, named `broker` in histories and fault
//! targets exactly as before nodes had ids. Every event that concerns a
//! broker names its node (`Ev::ToBroker`, `ToClient`, `BrokerWake`,
//! `FlushDone`, `ConnectionLost`), every broker history entry is
//! `Proc::Broker(node)`, a fault targets a node by name, and a flush the
//! driver must await names its node ([`RunError::WaitingForStorage`]).
//! What a cluster still has to add: more nodes in `build.rs`, and where a
//! request goes (`node_for` in `wire.rs`, the one place that picks a node).

mod build;
mod checkpoint;
mod clock;
pub mod cluster;
mod control;
mod drive;
mod faults;
mod observe;
mod queue;
mod wire;

pub use crate::client::{ClientSettings, ClientView};
pub use checkpoint::WorldCheckpoint;
pub use clock::Step;
pub use wire::InFlight;

use crate::broker::ClientId;
use crate::broker::{Broker, KeyId, MsgId, Output};
use crate::client::dedup::{DedupStore, StoreId};
use crate::client::{Client, ClientOutput};
use crate::config::{FaultAction, Scenario};
use crate::history::{History, Names};
use crate::node::NodeId;
use crate::sim::net::Link;
use crate::sim::rng::SimRng;
use crate::storage::{FlushId, Storage};
use queue::EventQueue;
use std::collections::BTreeMap;
use std::fmt;
/// few timers per client plus messages in flight on links (bounded by prefetch
/// and confirm windows), far below this; crossing it means a bug.
pub const PENDING_EVENTS_MAX: usize = 4_000_000;

/// Why a run stopped early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// More than `limits.events_max` events: raise the limit or shorten the run.
    EventLimit {
        /// The limit that was hit.
        events_max: u64,
        /// The virtual time it was hit at.
        time_ms: u64,
    },
    /// Not a failure: a flush reached its virtual completion time but the
    /// store (IndexedDB) has not committed it yet. Await the store, then call
    /// `step` again; the event is still first in the queue.
    WaitingForStorage {
        /// The broker node whose store it is (see [`World::storage_of`]).
        node: NodeId,
        /// The flush the store has not committed yet.
        flush: FlushId,
        /// Its virtual completion time.
        time_ms: u64,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::EventLimit { events_max, time_ms } => write!(
                f,
                "run bound exceeded: more than limits.events_max = {events_max} events by t={time_ms} ms"
            ),
            RunError::WaitingForStorage {
                node,
                flush,
                time_ms,
            } => write!(
                f,
                "waiting for storage: {node}'s flush {} is due at t={time_ms} ms and not yet on disk",
                flush.0
            ),
        }
    }
}

impl std::error::Error for RunError {}

/// One broker node: the broker state machine and its own disk. A node's
/// crash tears only its own disk's write in progress, as each Kafka broker
/// has its own `log.dirs`.
struct Node {
    /// The broker under test on this node.
    broker: Broker,
    /// The node's disk. The log broker writes through it; the queue broker
    /// keeps no disk. Swappable for the IndexedDB store (see
    /// [`World::with_storage`]).
    storage: Box<dyn Storage>,
}

/// One client process as the world keeps it: the client itself, plus the
/// two counters that tell a stale timer or reply from a current one.
struct Slot {
    /// The client's state machine; the world drives it through the
    /// [`Client`] trait without knowing its kind.
    client: Box<dyn Client>,
    /// Bumped on every restart: timers of an older incarnation belong to a
    /// dead process and are dropped.
    incarnation: u32,
    /// Bumped on every restart and connection reset: replies sent on an older
    /// connection are dropped on arrival.
    conn: u32,
}

/// One simulated run: a broker, its clients and their links, advanced event by
/// event on a virtual clock. Build it with [`World::new`] (or
/// [`World::with_storage`], [`World::resume`]), drive it with
/// [`World::step`] / [`World::run_until`] / [`World::finish`], and read it
/// with [`World::summary`], [`World::clients`] and [`World::history`].
pub struct World {
    /// The scenario as run so far: live changes (faults, clients, settings)
    /// are appended to it, so exporting it replays this run.
    scenario: Scenario,
    /// The virtual clock: the time of the event running now.
    now_ms: u64,
    /// Events after this time do not run (`duration_ms`, plus a drain).
    end_ms: u64,
    /// The pending events, earliest (time, seq) first.
    queue: EventQueue,
    /// The next event's sequence number: ties at one millisecond run in
    /// the order they were scheduled.
    next_seq: u64,
    /// Events run so far, checked against `limits.events_max`.
    events_run: u64,
    /// The links' draws (latency, loss, duplication): their own stream, so
    /// a client's draws never shift the network's.
    rng_net: SimRng,
    /// The clients' draws (processing times, failures).
    rng_clients: SimRng,
    /// Where a torn write is cut; runs without torn writes never draw from it.
    rng_tear: SimRng,
    /// One link per client, same index as `clients`.
    links: Vec<Link>,
    /// The broker nodes, indexed by [`NodeId`]. A run has one today
    /// ([`NodeId::FIRST`]); a cluster adds nodes here, and every event,
    /// history entry and fault already names the node it is about.
    /// Bound: [`crate::node::NODES_MAX`].
    nodes: Vec<Node>,
    /// Set after [`World::drain`]: the checker may call unread records unseen.
    drained: bool,
    /// The clients, indexed by [`ClientId`].
    clients: Vec<Slot>,
    /// Everything that happened, for the checker and the page.
    history: History,
    /// The consumers' visible effect: processed messages per key (`None` = no key).
    effects: BTreeMap<Option<KeyId>, u64>,
    /// Interned names (clients, keys, queues, topics, groups): events carry
    /// small ids, the history prints names.
    names: Names,
    /// The next message id a producer assigns: ids are unique across the run.
    next_msg_id: MsgId,
    /// Reused output buffers (no allocation per event).
    broker_out: Vec<Output>,
    /// Reused output buffer of the clients (see `broker_out`).
    client_out: Vec<ClientOutput>,
    /// The idempotent consumers' dedup stores, kept with the effects (one
    /// downstream database). Bound: groups + queues.
    dedup: BTreeMap<StoreId, DedupStore>,
    /// Faults waiting for their moment: (client, `crash_after_send` or
    /// `crash_after_process`, restart at). Bound: the fault schedule.
    armed: Vec<(ClientId, FaultAction, u64)>,
    /// How far past a group commit's completion time the world may run on
    /// while a real store (IndexedDB) has not finished it; 0 waits at once
    /// (see [`World::set_disk_run_ahead_ms`]).
    disk_run_ahead_ms: u64,
    /// The group commit the world runs ahead of (its node and flush), and
    /// the time it was due: the run-ahead is counted from there. One at a
    /// time (each broker has one flush in flight, and one node runs today).
    flush_overdue: Option<(NodeId, FlushId, u64)>,
}
