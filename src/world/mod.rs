//! The simulation world: one broker, its clients, the links between them, a
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

use crate::broker::log;
use crate::broker::log::{LogReply, LogRequest};
use crate::broker::{Broker, ClientId, Delivery, KeyId, MsgId, Output, Request, Target};
use crate::check::live::LiveChecker;
use crate::check::{self, Snapshot, Summary};
use crate::client::consumer::{Consumer, ConsumerConfig};
use crate::client::dedup::{DedupStore, StoreId};
use crate::client::group_member::MemberConfig;
use crate::client::log_consumer::{LogConsumer, LogConsumerConfig};
use crate::client::producer::{Producer, ProducerConfig, Route};
use crate::client::txn_producer::{TxnProducer, TxnProducerConfig};
use crate::client::{ClientOutput, ClientTimer};
use crate::config::IsolationLevel;
use crate::config::{
    AckMode, Acks, BrokerSpec, ClientSpec, CommitMode, ConfirmSpec, FaultAction, FaultSpec,
    ProcessingSpec, QueueMode, Scenario, ScenarioError,
};
use crate::config::{Setting, SettingSpec};
use crate::history::{msg_name, Entry, History, Names, Proc};
use crate::sim::net::{Direction, Link, Transit};
use crate::sim::rng::{Probability, SimRng};
use crate::storage::{FlushId, FlushState, MemoryStore, Storage, Tear};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::fmt;

/// Bound on events waiting in the queue at once. Structurally the queue holds a
/// few timers per client plus messages in flight on links (bounded by prefetch
/// and confirm windows), far below this; crossing it means a bug.
pub const PENDING_EVENTS_MAX: usize = 4_000_000;

/// Sequence numbers of setting changes (`Ev::Setting`) start here: above
/// every other event's, so a change sorts after every other event of its
/// millisecond, whether it was scheduled when the world started (a replayed
/// scenario) or clicked while the run went on (then that millisecond's other
/// events have already run). Changes among themselves keep their order.
const SETTING_SEQ_BASE: u64 = 1 << 62;

/// PRNG stream names (see [`SimRng::stream`]).
const NET_STREAM: u64 = 1;
const CLIENT_STREAM: u64 = 2;
/// Where a torn write is cut (`crash_torn`, `fault_options.torn_writes`).
/// Its own stream: runs without torn writes never draw from it.
const TEAR_STREAM: u64 = 3;
/// A tear keeps `below(2^k)` bytes of the batch, `k` drawn below this: cuts
/// in the header and deep in a large batch are both likely. (The store
/// clamps the cut below the batch's length, so the batch is always torn.)
const TEAR_BITS_MAX: u64 = 16;

/// Why a run stopped early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// More than `limits.events_max` events: raise the limit or shorten the run.
    EventLimit { events_max: u64, time_ms: u64 },
    /// Not a failure: a flush reached its virtual completion time but the
    /// store (IndexedDB) has not committed it yet. Await the store, then call
    /// `step` again; the event is still first in the queue.
    WaitingForStorage { flush: FlushId, time_ms: u64 },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::EventLimit { events_max, time_ms } => write!(
                f,
                "run bound exceeded: more than limits.events_max = {events_max} events by t={time_ms} ms"
            ),
            RunError::WaitingForStorage { flush, time_ms } => write!(
                f,
                "waiting for storage: flush {} is due at t={time_ms} ms and not yet on disk",
                flush.0
            ),
        }
    }
}

impl std::error::Error for RunError {}

/// A message on its way from the broker to a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Downlink {
    Deliver(Delivery),
    Confirm { msg: MsgId, ok: bool },
    Log(LogReply),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ev {
    /// A request reaches the broker. `sent_ms` is when it left the client
    /// (only [`World::in_flight`] reads it).
    ToBroker {
        from: ClientId,
        sent_ms: u64,
        req: Request,
    },
    /// A reply reaches a client; `conn` is the client connection it was sent on.
    ToClient {
        to: ClientId,
        conn: u32,
        sent_ms: u64,
        msg: Downlink,
    },
    Timer {
        client: ClientId,
        incarnation: u32,
        timer: ClientTimer,
    },
    /// The broker asked to be woken (visibility timeouts).
    BrokerWake,
    /// The consumer learns its broker connection died.
    ConnectionLost {
        client: ClientId,
        conn: u32,
    },
    Fault(u32),
    /// A live client setting of the scenario's `settings` list comes due.
    Setting(u32),
    /// A group commit of the broker's storage reaches its completion time.
    FlushDone(FlushId),
    /// A client crashed by an armed fault comes back (its `until_ms`).
    RestartClient(ClientId),
}

/// One entry of the event queue. Ordered by (time, sequence), earliest first.
#[derive(Clone, Copy, Debug)]
struct Scheduled {
    at_ms: u64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at_ms, self.seq) == (other.at_ms, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    /// Reversed, so `BinaryHeap` (a max-heap) pops the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at_ms, other.seq).cmp(&(self.at_ms, self.seq))
    }
}

#[derive(Clone, Debug)]
enum ClientKind {
    Producer(Producer),
    Consumer(Consumer),
    LogConsumer(LogConsumer),
    /// A read-process-write transactional client.
    TxnProducer(TxnProducer),
}

#[derive(Clone, Debug)]
struct Client {
    kind: ClientKind,
    /// Bumped on every restart: timers of an older incarnation belong to a
    /// dead process and are dropped.
    incarnation: u32,
    /// Bumped on every restart and connection reset: replies sent on an older
    /// connection are dropped on arrival.
    conn: u32,
}

impl Client {
    fn alive(&self) -> bool {
        match &self.kind {
            ClientKind::Producer(p) => p.alive,
            ClientKind::Consumer(c) => c.alive,
            ClientKind::LogConsumer(c) => c.alive,
            ClientKind::TxnProducer(c) => c.alive,
        }
    }
}

/// One message travelling on a link, for drawing it on its way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// The client at the far end of the link.
    pub client: String,
    /// Client → broker (publish) or broker → client (delivery, confirm).
    pub to_broker: bool,
    /// The message, as `m17`.
    pub msg: String,
    pub sent_ms: u64,
    pub arrives_ms: u64,
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// An event ran at this time.
    Ran { time_ms: u64 },
    /// Nothing left before the end of the run.
    Finished,
}

/// A live client's settings (see [`World::client_settings`]); `None` where
/// the client kind has no such setting or it cannot change live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientSettings {
    pub rate_per_s: Option<u64>,
    pub keys: Option<u32>,
    pub processing: Option<ProcessingSpec>,
    /// Queue `prefetch` or log `max.poll.records`.
    pub prefetch: Option<u32>,
    pub ack_mode: Option<AckMode>,
    /// A log consumer's manual commit mode (`None` with `enable.auto.commit`).
    pub commit: Option<CommitMode>,
}

/// A client's state for the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientView {
    pub id: String,
    pub is_producer: bool,
    pub alive: bool,
    /// Producer: messages published. Consumer: messages processed.
    pub count: u64,
    /// Consumer: deliveries received and not finished.
    pub in_hand: u64,
    pub busy_ms: u64,
}

pub struct World {
    scenario: Scenario,
    now_ms: u64,
    end_ms: u64,
    queue: BinaryHeap<Scheduled>,
    next_seq: u64,
    events_run: u64,
    rng_net: SimRng,
    rng_clients: SimRng,
    rng_tear: SimRng,
    /// One link per client, same index as `clients`.
    links: Vec<Link>,
    broker: Broker,
    /// The broker's disk. The log broker writes through it; the queue broker
    /// keeps no disk. Swappable for the IndexedDB store (see
    /// [`World::with_storage`]).
    storage: Box<dyn Storage>,
    /// Set after [`World::drain`]: the checker may call unread records unseen.
    drained: bool,
    clients: Vec<Client>,
    history: History,
    /// The consumers' visible effect: processed messages per key (`None` = no key).
    effects: BTreeMap<Option<KeyId>, u64>,
    names: Names,
    next_msg_id: MsgId,
    /// Reused output buffers (no allocation per event).
    broker_out: Vec<Output>,
    client_out: Vec<ClientOutput>,
    /// The idempotent consumers' dedup stores, kept with the effects (one
    /// downstream database). Bound: groups + queues.
    dedup: BTreeMap<StoreId, DedupStore>,
    /// Faults waiting for their moment: (client, `crash_after_send` or
    /// `crash_after_process`, restart at). Bound: the fault schedule.
    armed: Vec<(ClientId, FaultAction, u64)>,
}

impl World {
    /// Builds the world for a *validated* scenario (see [`Scenario::from_json`]).
    pub fn new(scenario: &Scenario) -> World {
        let mut world = World::build(scenario);
        world.start();
        world
    }

    /// The world before its clients start: nothing scheduled, nothing recorded.
    fn build(scenario: &Scenario) -> World {
        scenario
            .validate()
            .expect("World::new needs a validated scenario");
        // The delivery guarantee, if set, becomes the knobs underneath.
        let scenario = &crate::guarantee::resolved(scenario);
        scenario
            .validate()
            .expect("a guarantee resolves to a valid scenario");
        let names = build_names(scenario);
        let key_of = |k: &str| names.keys.iter().position(|n| n == k).map(|i| i as KeyId);
        let broker = Broker::new(
            &scenario.broker,
            &key_of,
            &names.keys,
            names.groups.len(),
            scenario.limits.queue_depth_max,
        );
        let fsync_latency_ms = match &scenario.broker {
            BrokerSpec::Log(l) => l.fsync_latency_ms,
            BrokerSpec::Queue(_) => 0,
        };
        let mut storage = MemoryStore::new(Default::default(), fsync_latency_ms);
        storage.recover(); // a fresh disk: nothing to recover, ready to write
        let links = scenario
            .clients
            .iter()
            .map(|c| Link::new(&c.network().unwrap_or(scenario.network)))
            .collect();
        let clients = build_clients(scenario, &names);
        World {
            scenario: scenario.clone(),
            now_ms: 0,
            end_ms: scenario.duration_ms,
            queue: BinaryHeap::new(),
            next_seq: 0,
            events_run: 0,
            rng_net: SimRng::stream(scenario.seed, NET_STREAM),
            rng_clients: SimRng::stream(scenario.seed, CLIENT_STREAM),
            rng_tear: SimRng::stream(scenario.seed, TEAR_STREAM),
            links,
            broker,
            storage: Box::new(storage),
            drained: false,
            clients,
            history: History::new(),
            effects: BTreeMap::new(),
            names,
            next_msg_id: 1,
            broker_out: Vec::new(),
            client_out: Vec::new(),
            dedup: BTreeMap::new(),
            armed: Vec::new(),
        }
    }

    /// Builds the world on another store (the browser passes its IndexedDB
    /// store here). The store must be empty and recovered (ready to write).
    pub fn with_storage(scenario: &Scenario, storage: Box<dyn Storage>) -> World {
        let mut world = World::new(scenario);
        world.storage = storage;
        world
    }

    /// Builds a log world on a store that holds the log of an earlier run (a
    /// page reload: the old world is gone, its disk is not). The broker
    /// recovers it exactly as after a crash (CRC checks, truncation, offsets,
    /// producer and transaction state; see [`log::LogBroker::resume`]) and the
    /// history opens with a broker `restart`, the recovery report and one
    /// `carried` event per record the earlier run left. Then the clients
    /// start, as in [`World::new`]: consumers of the stored group begin at
    /// its committed offsets, and new message ids follow the carried ones.
    ///
    /// Virtual time starts again at 0 (a new process); carried records keep
    /// the earlier run's timestamps. Errors (say what and where) when the
    /// scenario is not a log scenario or the stored log has partitions it
    /// lacks; nothing has run then.
    pub fn resume(scenario: &Scenario, mut storage: Box<dyn Storage>) -> Result<World, String> {
        let mut world = World::build(scenario);
        let Broker::Log(broker) = &world.broker else {
            return Err("only the log broker keeps a log to resume".to_string());
        };
        let recovery = storage.recover();
        let foreign = recovery.streams.keys().find(|stream| match **stream {
            crate::storage::StreamId::Partition { topic, partition } => {
                !broker.has_partition(topic, partition)
            }
            _ => false,
        });
        if let Some(stream) = foreign {
            return Err(format!(
                "the stored log has {stream}, which this setup does not have: start fresh instead"
            ));
        }
        world.storage = storage;
        world.record(Proc::Broker, Entry::Restart);
        let group_topics = world.group_topics();
        let mut out = std::mem::take(&mut world.broker_out);
        let Broker::Log(broker) = &mut world.broker else {
            unreachable!("checked above");
        };
        let storage = &mut *world.storage;
        broker.resume(world.now_ms, &recovery, &group_topics, storage, &mut out);
        // New ids continue past the stored ones; stored data that leaves no
        // room for that (forged, or from a runaway run) is refused, not
        // wrapped around into ids the log already holds.
        let max_msg_id = broker.max_msg_id().unwrap_or(0);
        if max_msg_id >= u64::MAX / 2 {
            return Err(format!(
                "the stored log's message ids reach {max_msg_id}, too close to the limit to continue: start fresh instead"
            ));
        }
        let shift = broker.producer_id_shift();
        if shift >= u32::MAX / 2 {
            return Err(format!(
                "the stored producer ids have used {shift} restarts, too close to the limit to continue: start fresh instead"
            ));
        }
        let next = max_msg_id + 1;
        world.next_msg_id = world.next_msg_id.max(next);
        world.apply_broker_outputs(&mut out);
        world.broker_out = out;
        world.start();
        Ok(world)
    }

    /// The topic each consumer group reads, by group index, from the
    /// scenario's consumers (`None` for a group no consumer names).
    fn group_topics(&self) -> Vec<Option<log::TopicId>> {
        let mut topics = vec![None; self.names.groups.len()];
        for c in &self.scenario.clients {
            let ClientSpec::LogConsumer(k) = c else {
                continue;
            };
            let group = self.names.groups.iter().position(|g| *g == k.group_id);
            let topic = self.names.topics.iter().position(|t| *t == k.topic);
            if let (Some(g), Some(t)) = (group, topic) {
                topics[g] = Some(t as log::TopicId);
            }
        }
        topics
    }

    /// The broker's store, for a driver that must await it (see
    /// [`RunError::WaitingForStorage`]).
    pub fn storage_mut(&mut self) -> &mut dyn Storage {
        &mut *self.storage
    }

    /// Parses, validates and builds in one go.
    pub fn from_json(text: &str) -> Result<World, crate::config::ScenarioError> {
        Scenario::from_json(text).map(|s| World::new(&s))
    }

    fn start(&mut self) {
        let times: Vec<u64> = self.scenario.faults.iter().map(|f| f.at_ms).collect();
        for (i, at_ms) in times.into_iter().enumerate() {
            self.schedule(at_ms, Ev::Fault(i as u32));
        }
        let times: Vec<u64> = self.scenario.settings.iter().map(|c| c.at_ms).collect();
        for (i, at_ms) in times.into_iter().enumerate() {
            self.schedule_setting(at_ms, i);
        }
        for c in 0..self.clients.len() as ClientId {
            self.start_client(c);
        }
    }

    /// A producer sets its first publish timer; a consumer subscribes.
    fn start_client(&mut self, c: ClientId) {
        let mut out = std::mem::take(&mut self.client_out);
        let now = self.now_ms;
        match &mut self.clients[c as usize].kind {
            ClientKind::Producer(p) => p.start(&mut out),
            ClientKind::Consumer(k) => k.subscribe(&mut out),
            ClientKind::LogConsumer(k) => k.start(now, &mut out),
            ClientKind::TxnProducer(k) => k.start(now, &mut out),
        }
        self.apply_client_outputs(c, &mut out);
        self.client_out = out;
    }

    /// Virtual time of the next pending event, if any. The page's frame loop
    /// uses it to jump over idle time instead of stepping through it.
    pub fn next_event_ms(&self) -> Option<u64> {
        self.queue.peek().map(|s| s.at_ms)
    }

    /// Applies a fault right now, as the page's buttons do. `fault.at_ms` is
    /// replaced by [`World::now_ms`]; the target and action follow the same
    /// rules as a scenario's `faults` (an error names `faults[N].field`). The
    /// fault is appended to the world's scenario, so exporting
    /// [`World::scenario`] shows what was done and when.
    pub fn inject(&mut self, mut fault: FaultSpec) -> Result<(), ScenarioError> {
        fault.at_ms = self.now_ms;
        let mut candidate = self.scenario.clone();
        candidate.faults.push(fault.clone());
        candidate.validate()?;
        self.scenario = candidate;
        self.apply_fault(&fault);
        Ok(())
    }

    /// Adds a producer or consumer mid-run, validated like a scenario client
    /// (an error names `clients[N].field`). A producer starts publishing at
    /// `max(spec.start_ms, now)`; its keys are interned and hashed like the
    /// scenario's own. The client is appended to the world's scenario.
    pub fn add_client(&mut self, mut spec: ClientSpec) -> Result<(), ScenarioError> {
        if let ClientSpec::Producer(p) = &mut spec {
            p.start_ms = p.start_ms.max(self.now_ms);
        }
        let mut candidate = self.scenario.clone();
        candidate.clients.push(spec.clone());
        candidate.validate()?;
        self.scenario = candidate;
        let (keys_before, groups_before) = (self.names.keys.len(), self.names.groups.len());
        intern_client(&mut self.names, &spec);
        for k in keys_before..self.names.keys.len() {
            self.broker.add_key(&self.names.keys[k]);
        }
        for _ in groups_before..self.names.groups.len() {
            if let Broker::Log(b) = &mut self.broker {
                b.add_group();
            }
        }
        let id = self.clients.len() as ClientId;
        let net = spec.network().unwrap_or(self.scenario.network);
        self.links.push(Link::new(&net));
        let client = build_client(&self.scenario, &self.names, id, &spec);
        self.clients.push(client);
        assert_eq!(self.clients.len(), self.names.clients.len());
        assert_eq!(self.clients.len(), self.links.len());
        self.start_client(id);
        Ok(())
    }

    /// Changes a consumer's processing time from the next message on (the
    /// page's "Slow" toggle): [`World::set_client`] with
    /// [`Setting::Processing`].
    pub fn set_processing(
        &mut self,
        client_id: &str,
        processing: ProcessingSpec,
    ) -> Result<(), ScenarioError> {
        self.set_client(client_id, Setting::Processing(processing))
    }

    /// Changes one setting of a live client right now, as the page's
    /// per-client settings do. The change is validated like a scenario's
    /// `settings` entry (an error names `settings[N].set.field` and says
    /// why), appended to the world's scenario at [`World::now_ms`] so an
    /// export replays it, recorded as a `setting` event, and applied from the
    /// client's next decision (see [`crate::scenario::settings`] for what stays as it
    /// was). Refused changes leave the world untouched.
    ///
    /// Why it is scheduled rather than applied in place: a replay of the
    /// exported scenario schedules the change when the world starts, so it
    /// must sort the same way among the other events of its millisecond. A
    /// change runs after every other event of its millisecond (see
    /// [`SETTING_SEQ_BASE`]) both ways, so the histories match byte for byte.
    pub fn set_client(&mut self, client_id: &str, set: Setting) -> Result<(), ScenarioError> {
        let mut candidate = self.scenario.clone();
        candidate.settings.push(SettingSpec {
            at_ms: self.now_ms,
            client: client_id.to_string(),
            set,
        });
        candidate.validate()?;
        self.scenario = candidate;
        self.schedule_setting(self.now_ms, self.scenario.settings.len() - 1);
        // Run what is due now, the change last: usually just the change. A
        // run bound or a flush still in IndexedDB stops this short; the
        // change then applies at the next step, in the same order.
        let _ = self.run_until(self.now_ms);
        Ok(())
    }

    /// Applies `settings[i]` (validated) to its client.
    fn apply_setting(&mut self, i: usize) {
        let SettingSpec { client, set, .. } = self.scenario.settings[i].clone();
        let c = self
            .names
            .clients
            .iter()
            .position(|n| *n == client)
            .expect("validated: a known client");
        self.record(Proc::Client(c as ClientId), Entry::Setting(set));
        let keys = match set {
            Setting::Keys(n) => self.intern_page_keys(c, n),
            _ => (Vec::new(), Vec::new()),
        };
        let mut out = std::mem::take(&mut self.client_out);
        let now = self.now_ms;
        match (&mut self.clients[c].kind, set) {
            (ClientKind::Producer(p), Setting::RatePerS(rate)) => p.set_rate(now, 1000, rate),
            (ClientKind::Producer(p), Setting::Keys(_)) => p.set_keys(keys.0, &keys.1),
            (ClientKind::Consumer(k), Setting::Processing(x)) => k.set_processing(x),
            (ClientKind::LogConsumer(k), Setting::Processing(x)) => k.set_processing(x),
            (ClientKind::TxnProducer(k), Setting::Processing(x)) => k.set_processing(x),
            (ClientKind::Consumer(k), Setting::Prefetch(n)) => k.set_prefetch(n, &mut out),
            (ClientKind::LogConsumer(k), Setting::Prefetch(n)) => k.set_max_poll_records(n),
            (ClientKind::Consumer(k), Setting::AckMode(mode)) => k.set_ack_mode(mode),
            _ => unreachable!("validated: {} fits {client}", set.name()),
        }
        self.apply_client_outputs(c as ClientId, &mut out);
        self.client_out = out;
    }

    /// The page's key strategy `k0..k{n-1}` for producer `c`: interns new
    /// keys (the broker learns them) and, on the log broker, gives each its
    /// partition by the default partitioner's murmur2 hash.
    fn intern_page_keys(
        &mut self,
        c: usize,
        n: u32,
    ) -> (Vec<KeyId>, Vec<(KeyId, log::PartitionId)>) {
        let partitions = match (&self.scenario.clients[c], &self.scenario.broker) {
            (ClientSpec::LogProducer(p), BrokerSpec::Log(b)) => b
                .topics
                .iter()
                .find(|t| t.name == p.topic)
                .map(|t| t.partitions),
            _ => None,
        };
        let mut ids = Vec::new();
        let mut parts = Vec::new();
        for j in 0..n {
            let name = format!("k{j}");
            if !self.names.keys.contains(&name) {
                intern_key(&mut self.names, &name);
                self.broker.add_key(&name);
            }
            let id = self
                .names
                .keys
                .iter()
                .position(|k| *k == name)
                .expect("interned") as KeyId;
            ids.push(id);
            if let Some(p) = partitions {
                parts.push((id, log::partition_for_key(name.as_bytes(), p)));
            }
        }
        (ids, parts)
    }

    /// A live client's current settings, as the page's settings row shows
    /// them (`None` for an unknown id).
    pub fn client_settings(&self, client_id: &str) -> Option<ClientSettings> {
        let c = self.names.clients.iter().position(|n| n == client_id)?;
        let none = ClientSettings::default();
        Some(match &self.clients[c].kind {
            ClientKind::Producer(p) => ClientSettings {
                rate_per_s: Some(p.rate_per_s()),
                keys: Some(p.key_count() as u32),
                ..none
            },
            ClientKind::Consumer(k) => ClientSettings {
                processing: Some(k.processing()),
                prefetch: Some(k.prefetch()),
                ack_mode: Some(k.ack_mode()),
                ..none
            },
            ClientKind::LogConsumer(k) => ClientSettings {
                processing: Some(k.processing()),
                prefetch: Some(k.max_poll_records()),
                commit: k.commit_mode(),
                ..none
            },
            ClientKind::TxnProducer(k) => ClientSettings {
                processing: Some(k.processing()),
                ..none
            },
        })
    }

    /// Messages on the wire right now (sent at or before now, arriving after
    /// it), earliest arrival first, at most `limit`: publishes and acks on
    /// the way up, deliveries and confirms on the way down. Acks name no
    /// message on the wire, so they are not listed. Costs one pass over the
    /// event queue.
    pub fn in_flight(&self, limit: usize) -> Vec<InFlight> {
        let mut found: Vec<(u64, u64, InFlight)> = Vec::new();
        for s in self.queue.iter().filter(|s| s.at_ms > self.now_ms) {
            let (client, to_broker, msg, sent_ms) = match s.ev {
                Ev::ToBroker { from, sent_ms, req } => match request_msg(req) {
                    Some(msg) => (from, true, msg, sent_ms),
                    None => continue,
                },
                Ev::ToClient {
                    to, sent_ms, msg, ..
                } => match downlink_msg(msg).0 {
                    Some(id) => (to, false, id, sent_ms),
                    None => continue,
                },
                _ => continue,
            };
            let flight = InFlight {
                client: self.names.clients[client as usize].clone(),
                to_broker,
                msg: msg_name(msg),
                sent_ms,
                arrives_ms: s.at_ms,
            };
            found.push((s.at_ms, s.seq, flight));
        }
        found.sort_unstable_by_key(|(at, seq, _)| (*at, *seq));
        found.truncate(limit);
        found.into_iter().map(|(_, _, f)| f).collect()
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    pub fn end_ms(&self) -> u64 {
        self.end_ms
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Processed messages per key name (`"(none)"` for keyless messages).
    pub fn effects(&self) -> BTreeMap<String, u64> {
        self.effects
            .iter()
            .map(|(k, v)| {
                (
                    k.map_or_else(|| "(none)".to_string(), |k| self.names.key(k).to_string()),
                    *v,
                )
            })
            .collect()
    }

    pub fn events_run(&self) -> u64 {
        self.events_run
    }

    pub fn is_finished(&self) -> bool {
        self.queue.peek().is_none_or(|s| s.at_ms > self.end_ms)
    }

    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    pub fn clients(&self) -> Vec<ClientView> {
        self.clients
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let id = self.names.clients[i].clone();
                match &c.kind {
                    ClientKind::Producer(p) => ClientView {
                        id,
                        is_producer: true,
                        alive: p.alive,
                        count: p.published(),
                        in_hand: 0,
                        busy_ms: 0,
                    },
                    ClientKind::Consumer(k) => ClientView {
                        id,
                        is_producer: false,
                        alive: k.alive,
                        count: k.processed,
                        in_hand: k.in_hand() as u64,
                        busy_ms: k.busy_ms,
                    },
                    ClientKind::LogConsumer(k) => ClientView {
                        id,
                        is_producer: false,
                        alive: k.alive && !k.left,
                        count: k.processed,
                        in_hand: k.in_hand() as u64,
                        busy_ms: k.busy_ms,
                    },
                    ClientKind::TxnProducer(k) => ClientView {
                        id,
                        is_producer: false,
                        alive: k.alive && !k.fenced(),
                        count: k.processed,
                        in_hand: k.in_hand() as u64,
                        busy_ms: k.busy_ms,
                    },
                }
            })
            .collect()
    }

    /// Runs the next event, if it is due before the end of the run.
    pub fn step(&mut self) -> Result<Step, RunError> {
        let Some(next) = self.queue.peek().copied() else {
            return Ok(Step::Finished);
        };
        if next.at_ms > self.end_ms {
            return Ok(Step::Finished);
        }
        if self.events_run >= self.scenario.limits.events_max {
            return Err(RunError::EventLimit {
                events_max: self.scenario.limits.events_max,
                time_ms: self.now_ms,
            });
        }
        if let Ev::FlushDone(flush) = next.ev {
            // Ask before popping: an IndexedDB flush may not be committed yet.
            if self.storage.flush_state(flush, next.at_ms) == FlushState::InProgress {
                return Err(RunError::WaitingForStorage {
                    flush,
                    time_ms: next.at_ms,
                });
            }
        }
        self.queue.pop();
        assert!(next.at_ms >= self.now_ms, "the clock never goes back");
        self.now_ms = next.at_ms;
        self.events_run += 1;
        self.dispatch(next.ev);
        Ok(Step::Ran {
            time_ms: self.now_ms,
        })
    }

    /// Runs every event due at or before `t_ms` (capped at the end of the run)
    /// and moves the clock to that time.
    pub fn run_until(&mut self, t_ms: u64) -> Result<(), RunError> {
        let until = t_ms.min(self.end_ms);
        while self.queue.peek().is_some_and(|s| s.at_ms <= until) {
            self.step()?;
        }
        self.now_ms = self.now_ms.max(until);
        Ok(())
    }

    /// Runs to `duration_ms`.
    pub fn run(&mut self) -> Result<(), RunError> {
        self.run_until(self.end_ms)
    }

    /// Schedules `settings[i]` in the late band (see [`SETTING_SEQ_BASE`]).
    fn schedule_setting(&mut self, at_ms: u64, i: usize) {
        assert!(at_ms >= self.now_ms, "cannot schedule in the past");
        assert!(
            i <= crate::config::setting::bounds::SETTINGS_MAX,
            "validated"
        );
        self.queue.push(Scheduled {
            at_ms,
            seq: SETTING_SEQ_BASE + i as u64,
            ev: Ev::Setting(i as u32),
        });
    }

    fn schedule(&mut self, at_ms: u64, ev: Ev) {
        assert!(at_ms >= self.now_ms, "cannot schedule in the past");
        assert!(
            self.next_seq < SETTING_SEQ_BASE,
            "sequence numbers run below the late band"
        );
        assert!(
            self.queue.len() < PENDING_EVENTS_MAX,
            "event queue over its bound"
        );
        self.queue.push(Scheduled {
            at_ms,
            seq: self.next_seq,
            ev,
        });
        self.next_seq += 1;
    }

    fn record(&mut self, process: Proc, entry: Entry) {
        self.history.push(self.now_ms, process, entry);
    }

    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::ToBroker { from, req, .. } => self.arrive_at_broker(from, req),
            Ev::ToClient { to, conn, msg, .. } => self.arrive_at_client(to, conn, msg),
            Ev::Timer {
                client,
                incarnation,
                timer,
            } => self.client_timer(client, incarnation, timer),
            Ev::BrokerWake => {
                let mut out = std::mem::take(&mut self.broker_out);
                self.broker.tick(self.now_ms, &mut *self.storage, &mut out);
                self.apply_broker_outputs(&mut out);
                self.broker_out = out;
            }
            Ev::FlushDone(id) => {
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
            Ev::ConnectionLost { client, conn } => {
                let c = &mut self.clients[client as usize];
                if c.conn == conn {
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
            Ev::Fault(i) => {
                let fault = self.scenario.faults[i as usize].clone();
                self.apply_fault(&fault);
            }
            Ev::Setting(i) => self.apply_setting(i as usize),
            Ev::RestartClient(c) => self.restart_client(c),
        }
    }

    fn arrive_at_broker(&mut self, from: ClientId, req: Request) {
        if !self.broker.is_up() {
            self.record(
                Proc::Broker,
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

    fn apply_broker_outputs(&mut self, out: &mut Vec<Output>) {
        for o in out.drain(..) {
            match o {
                Output::Deliver { to, delivery } => {
                    self.record(Proc::Broker, Entry::Deliver { to, delivery });
                    self.send_down(to, Downlink::Deliver(delivery));
                }
                Output::Confirm { to, msg, ok } => {
                    self.send_down(to, Downlink::Confirm { msg, ok })
                }
                Output::WakeAt { at_ms } => self.schedule(at_ms.max(self.now_ms), Ev::BrokerWake),
                Output::Note(note) => self.record(Proc::Broker, Entry::Broker(note)),
                Output::Log { to, reply } => self.send_down(to, Downlink::Log(reply)),
                Output::FlushAt { id, at_ms } => self.schedule(at_ms, Ev::FlushDone(id)),
            }
        }
    }

    fn send_down(&mut self, to: ClientId, msg: Downlink) {
        let link = &mut self.links[to as usize];
        let is_confirm = matches!(
            msg,
            Downlink::Confirm { .. }
                | Downlink::Log(LogReply::ProduceAck { .. } | LogReply::CommitResponse { .. })
        );
        if is_confirm && link.drops_acks(self.now_ms) {
            let (id, what) = downlink_msg(msg);
            let why = "drop_acks fault";
            self.record(Proc::Broker, Entry::NetDrop { msg: id, what, why });
            return;
        }
        let transit = link.send(self.now_ms, Direction::Down, true, &mut self.rng_net);
        let conn = self.clients[to as usize].conn;
        match transit {
            Transit::Lost => {
                let (id, what) = downlink_msg(msg);
                self.record(
                    Proc::Broker,
                    Entry::NetDrop {
                        msg: id,
                        what,
                        why: "link loss",
                    },
                );
                self.reset_consumer_connection(to);
            }
            Transit::Arrives {
                at_ms,
                duplicate_at_ms,
            } => {
                let sent_ms = self.now_ms;
                let ev = Ev::ToClient {
                    to,
                    conn,
                    sent_ms,
                    msg,
                };
                self.schedule(at_ms, ev);
                if let Some(dup) = duplicate_at_ms {
                    self.schedule(dup, ev);
                }
            }
        }
    }

    fn send_up(&mut self, from: ClientId, req: Request) {
        let link = &mut self.links[from as usize];
        let is_ack = matches!(
            req,
            Request::Ack { .. } | Request::Nack { .. } | Request::Log(LogRequest::Commit { .. })
        );
        if is_ack && link.drops_acks(self.now_ms) {
            let entry = Entry::NetDrop {
                msg: None,
                what: request_name(req),
                why: "drop_acks fault",
            };
            self.record(Proc::Client(from), entry);
            return;
        }
        // Subscribing and channel close are connection-level: not subject to loss.
        let lossy = !matches!(
            req,
            Request::Consume { .. }
                | Request::Qos { .. }
                | Request::ChannelClosed
                | Request::Log(
                    LogRequest::JoinGroup { .. }
                        | LogRequest::LeaveGroup { .. }
                        | LogRequest::Heartbeat { .. }
                )
        );
        match link.send(self.now_ms, Direction::Up, lossy, &mut self.rng_net) {
            Transit::Lost => {
                let entry = Entry::NetDrop {
                    msg: request_msg(req),
                    what: request_name(req),
                    why: "link loss",
                };
                self.record(Proc::Client(from), entry);
                self.reset_consumer_connection(from);
            }
            Transit::Arrives {
                at_ms,
                duplicate_at_ms,
            } => {
                let sent_ms = self.now_ms;
                let ev = Ev::ToBroker { from, sent_ms, req };
                self.schedule(at_ms, ev);
                if let Some(dup) = duplicate_at_ms {
                    self.schedule(dup, ev);
                }
            }
        }
    }

    /// A message lost on a consumer's link. Real AMQP runs over TCP, which does
    /// not lose single messages: a loss shows up as a broken connection. So the
    /// broker sees the channel close (and requeues the unacked deliveries), the
    /// consumer drops deliveries of the dead channel, and reconnects at once.
    /// Producers need no such step: their recovery is the confirm timeout.
    fn reset_consumer_connection(&mut self, c: ClientId) {
        let client = &mut self.clients[c as usize];
        if let ClientKind::TxnProducer(k) = &mut client.kind {
            if k.alive {
                client.conn += 1;
                let mut out = std::mem::take(&mut self.client_out);
                k.start_over(self.now_ms, &mut out);
                self.apply_client_outputs(c, &mut out);
                self.client_out = out;
            }
            return;
        }
        if let ClientKind::LogConsumer(k) = &mut client.kind {
            if k.alive {
                client.conn += 1;
                let mut out = std::mem::take(&mut self.client_out);
                k.rejoin(&mut out);
                self.apply_client_outputs(c, &mut out);
                self.client_out = out;
            }
            return;
        }
        let ClientKind::Consumer(k) = &mut client.kind else {
            return;
        };
        if !k.alive {
            return;
        }
        client.conn += 1;
        k.connection_lost();
        self.send_up(c, Request::ChannelClosed);
        let mut out = std::mem::take(&mut self.client_out);
        if let ClientKind::Consumer(k) = &self.clients[c as usize].kind {
            k.subscribe(&mut out);
        }
        self.apply_client_outputs(c, &mut out);
        self.client_out = out;
    }

    fn arrive_at_client(&mut self, to: ClientId, conn: u32, msg: Downlink) {
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

    fn client_timer(&mut self, client: ClientId, incarnation: u32, timer: ClientTimer) {
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

    fn apply_client_outputs(&mut self, client: ClientId, out: &mut Vec<ClientOutput>) {
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
    fn effect_once(
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

    /// Whether an armed fault of `client` fires after output `o` (`rest`
    /// is what the same step still has to do): a producer's publish went
    /// out, or a consumer's effect was applied (so the ack or commit that
    /// follows never does). A transactional client's effect is a whole
    /// committed batch, so it dies after the batch's last `ok process`, not
    /// between records of one transaction.
    fn armed_fault_fires(&self, client: ClientId, o: &ClientOutput, rest: &[ClientOutput]) -> bool {
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
    fn fire_armed_fault(&mut self, client: ClientId) {
        let at = self
            .armed
            .iter()
            .position(|a| a.0 == client)
            .expect("armed");
        let (_, action, restart_ms) = self.armed.remove(at);
        if let ClientKind::Producer(p) = &mut self.clients[client as usize].kind {
            assert_eq!(action, FaultAction::CrashAfterSend);
            p.keep_unacked_at_crash();
        }
        self.crash_client(client);
        self.schedule(restart_ms.max(self.now_ms), Ev::RestartClient(client));
    }

    fn apply_fault(&mut self, fault: &FaultSpec) {
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

    /// The broker dies. With `torn`, the batch its disk was writing lands
    /// torn (see [`FaultAction::CrashTorn`]).
    fn crash_broker(&mut self, torn: bool) {
        if !self.broker.is_up() {
            return;
        }
        self.record(Proc::Broker, Entry::Crash);
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
            let client = &self.clients[c as usize];
            let consumer = matches!(
                client.kind,
                ClientKind::Consumer(_) | ClientKind::LogConsumer(_) | ClientKind::TxnProducer(_)
            );
            if client.alive() && consumer {
                let conn = client.conn;
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

    fn restart_broker(&mut self) {
        if self.broker.is_up() {
            return;
        }
        self.record(Proc::Broker, Entry::Restart);
        let mut out = std::mem::take(&mut self.broker_out);
        self.broker
            .restart(self.now_ms, &mut *self.storage, &mut out);
        self.apply_broker_outputs(&mut out);
        self.broker_out = out;
        // Clients with automatic connection recovery re-subscribe.
        for c in 0..self.clients.len() as ClientId {
            let client = &mut self.clients[c as usize];
            if !client.alive() {
                continue;
            }
            // The old connection is certainly dead, even if the consumer has
            // not noticed yet: start a fresh one.
            let mut out = std::mem::take(&mut self.client_out);
            match &mut client.kind {
                ClientKind::Consumer(k) => {
                    client.conn += 1;
                    k.connection_lost();
                    k.subscribe(&mut out);
                }
                ClientKind::LogConsumer(k) => {
                    client.conn += 1;
                    k.rejoin(&mut out);
                }
                ClientKind::TxnProducer(k) => {
                    client.conn += 1;
                    k.start_over(self.now_ms, &mut out);
                }
                ClientKind::Producer(_) => {}
            }
            self.apply_client_outputs(c, &mut out);
            self.client_out = out;
        }
    }

    fn crash_client(&mut self, c: ClientId) {
        if !self.clients[c as usize].alive() {
            return;
        }
        self.record(Proc::Client(c), Entry::Crash);
        let mut out = std::mem::take(&mut self.client_out);
        let client = &mut self.clients[c as usize];
        client.incarnation += 1;
        client.conn += 1;
        let is_consumer = matches!(client.kind, ClientKind::Consumer(_));
        match &mut client.kind {
            ClientKind::Producer(p) => p.crash(&mut out),
            ClientKind::Consumer(k) => k.crash(&mut out),
            // Kafka notices a dead member by its missing heartbeats.
            ClientKind::LogConsumer(k) => k.crash(&mut out),
            ClientKind::TxnProducer(k) => k.crash(&mut out),
        }
        self.apply_client_outputs(c, &mut out);
        self.client_out = out;
        if is_consumer {
            // The broker notices the dead TCP connection (heartbeat) one link delay later.
            self.send_up(c, Request::ChannelClosed);
        }
    }

    fn restart_client(&mut self, c: ClientId) {
        if self.clients[c as usize].alive() {
            return;
        }
        self.record(Proc::Client(c), Entry::Restart);
        let mut out = std::mem::take(&mut self.client_out);
        let now = self.now_ms;
        match &mut self.clients[c as usize].kind {
            ClientKind::Producer(p) => p.restart(now, &mut out),
            ClientKind::Consumer(k) => k.restart(&mut out),
            ClientKind::LogConsumer(k) => k.restart(now, &mut out),
            ClientKind::TxnProducer(k) => k.restart(now, &mut out),
        }
        self.apply_client_outputs(c, &mut out);
        self.client_out = out;
    }

    /// Where every unfinished message is right now: in the broker, on a link,
    /// or in a consumer's hands. The checker needs this to tell "still queued"
    /// from "lost".
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_where(|_| true)
    }

    /// [`World::snapshot`] with only the `wanted` messages in `pending` (a
    /// live checker needs no others). A log broker's records are looked at
    /// only if some message is wanted: its log holds every record of the run.
    pub fn snapshot_among(&self, wanted: &BTreeSet<MsgId>) -> Snapshot {
        let (Some(&lo), Some(&hi)) = (wanted.first(), wanted.last()) else {
            if self.broker.as_log().is_some() {
                return Snapshot::default();
            }
            return self.snapshot_where(|_| false);
        };
        // Most records are outside the wanted ids' range: a cheap test first.
        self.snapshot_where(|m| (lo..=hi).contains(&m) && wanted.contains(&m))
    }

    fn snapshot_where(&self, keep: impl Fn(MsgId) -> bool) -> Snapshot {
        let copies = self.broker.held();
        let broker_held = copies.len() as u64;
        let mut held: BTreeSet<MsgId> = copies
            .into_iter()
            .map(|(_, m)| m)
            .filter(|m| keep(*m))
            .collect();
        for s in self.queue.iter() {
            match s.ev {
                Ev::ToBroker {
                    req: Request::Publish { msg, .. },
                    ..
                } => {
                    held.insert(msg.id);
                }
                Ev::ToClient {
                    msg: Downlink::Deliver(d),
                    ..
                } => {
                    held.insert(d.msg.id);
                }
                _ => {}
            }
        }
        for c in &self.clients {
            match &c.kind {
                ClientKind::Consumer(k) => held.extend(k.holding()),
                ClientKind::LogConsumer(k) => held.extend(k.holding()),
                ClientKind::TxnProducer(k) => held.extend(k.holding()),
                ClientKind::Producer(_) => {}
            }
        }
        held.retain(|m| keep(*m));
        Snapshot {
            pending: held,
            broker_held,
        }
    }

    /// Runs to the end; a log run then drains for `limits.drain_ms` (see
    /// [`World::drain`]). What `brokerlab run` and `sweep` judge.
    pub fn finish(&mut self) -> Result<(), RunError> {
        match self.scenario.broker {
            BrokerSpec::Queue(_) => self.run(),
            BrokerSpec::Log(_) => self.drain(self.scenario.limits.drain_ms),
        }
    }

    /// The final drain of a log run: the broker and every crashed consumer
    /// come back, and the run goes on `drain_ms` longer so the groups can
    /// read what is left. Only after it does the checker report `unseen`.
    pub fn drain(&mut self, drain_ms: u64) -> Result<(), RunError> {
        self.run()?;
        self.restart_broker();
        for c in 0..self.clients.len() as ClientId {
            let consumer = matches!(
                self.clients[c as usize].kind,
                ClientKind::Consumer(_) | ClientKind::LogConsumer(_)
            );
            if consumer {
                self.restart_client(c);
            }
        }
        self.end_ms = self.end_ms.saturating_add(drain_ms);
        self.run()?;
        self.drained = true;
        Ok(())
    }

    /// The consumers with `isolation.level=read_committed` (they never
    /// receive an aborted transaction's records, so the log checker does not
    /// call jumping over them a skip).
    pub fn read_committed_clients(&self) -> BTreeSet<ClientId> {
        let committed = |c: &ClientSpec| match c {
            ClientSpec::LogConsumer(k) => k.isolation_level == IsolationLevel::ReadCommitted,
            _ => false,
        };
        let clients = self.scenario.clients.iter().enumerate();
        clients
            .filter(|(_, c)| committed(c))
            .map(|(i, _)| i as ClientId)
            .collect()
    }

    /// Counts, reconciliation and checker findings for the run so far.
    pub fn summary(&self) -> Summary {
        let mut summary = match &self.scenario.broker {
            BrokerSpec::Queue(_) => check::check(
                &self.history,
                &self.snapshot(),
                &self.names,
                &self.scenario.expect,
            ),
            BrokerSpec::Log(_) => {
                let mut s = check::log::check(
                    &self.history,
                    &self.snapshot(),
                    &self.names,
                    &self.scenario.expect,
                    self.drained,
                    &self.read_committed_clients(),
                );
                check::txn_history::apply(&self.history, &mut s);
                s
            }
        };
        self.add_run_facts(&mut summary);
        summary
    }

    /// A [`LiveChecker`] for this run: pass it to [`World::live_summary`].
    pub fn live_checker(&self) -> LiveChecker {
        match &self.scenario.broker {
            BrokerSpec::Queue(_) => LiveChecker::queue(),
            BrokerSpec::Log(_) => LiveChecker::log(self.read_committed_clients()),
        }
    }

    /// The same as [`World::summary`], from a checker that reads only the
    /// events added since its last call (the page refreshes its verdict this
    /// way while a run plays). `checker` must come from
    /// [`World::live_checker`] of this world and be used with it alone.
    pub fn live_summary(&self, checker: &mut LiveChecker) -> Summary {
        checker.consume(&self.history, &self.names, self.drained);
        let snap = self.snapshot_among(checker.wanted());
        let mut summary = checker.summary(&snap, &self.names, &self.scenario.expect);
        self.add_run_facts(&mut summary);
        summary
    }

    /// Run metadata and the effect-store invariant, on top of a checker's summary.
    fn add_run_facts(&self, summary: &mut Summary) {
        summary.seed = self.scenario.seed;
        summary.scenario = self.scenario.name.clone();
        summary.time_ms = self.now_ms;
        summary.events = self.events_run;
        summary.effects_total = self.effects.values().sum();
        summary.consumer_busy_ms = self
            .clients
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match &c.kind {
                ClientKind::Consumer(k) => Some((self.names.clients[i].clone(), k.busy_ms)),
                ClientKind::LogConsumer(k) => Some((self.names.clients[i].clone(), k.busy_ms)),
                ClientKind::TxnProducer(k) => Some((self.names.clients[i].clone(), k.busy_ms)),
                ClientKind::Producer(_) => None,
            })
            .collect();
        check::add_effect_invariant(summary);
    }
}

/// An `ok process` entry of either consumer kind.
fn is_process_ok(e: &Entry) -> bool {
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

fn request_name(req: Request) -> &'static str {
    match req {
        Request::Log(LogRequest::Produce { .. }) => "produce",
        Request::Log(LogRequest::JoinGroup { .. }) => "join_group",
        Request::Log(LogRequest::Heartbeat { .. }) => "heartbeat",
        Request::Log(LogRequest::LeaveGroup { .. }) => "leave_group",
        Request::Log(LogRequest::Poll { .. }) => "poll",
        Request::Log(LogRequest::Commit { .. }) => "commit",
        Request::Log(LogRequest::Seek { .. }) => "seek",
        Request::Log(LogRequest::Txn(_)) => "txn",
        Request::Log(LogRequest::ProduceIdempotent { .. }) => "produce",
        Request::Publish { .. } => "publish",
        Request::Consume { .. } => "consume",
        Request::Ack { .. } => "ack",
        Request::Nack { .. } => "nack",
        Request::Credit => "credit",
        Request::Qos { .. } => "qos",
        Request::ChannelClosed => "channel_closed",
    }
}

fn request_msg(req: Request) -> Option<MsgId> {
    match req {
        Request::Publish { msg, .. } => Some(msg.id),
        Request::Log(LogRequest::Produce { msg, .. }) => Some(msg.id),
        Request::Log(LogRequest::ProduceIdempotent { msg, .. }) => Some(msg.id),
        _ => None,
    }
}

fn downlink_msg(msg: Downlink) -> (Option<MsgId>, &'static str) {
    match msg {
        Downlink::Deliver(d) => (Some(d.msg.id), "deliver"),
        Downlink::Confirm { msg, .. } => (Some(msg), "confirm"),
        Downlink::Log(LogReply::ProduceAck { msg, .. }) => (Some(msg), "produce_ack"),
        Downlink::Log(LogReply::Record { record, .. }) => (Some(record.msg.id), "record"),
        Downlink::Log(LogReply::Assignment { .. }) => (None, "assignment"),
        Downlink::Log(LogReply::PollEnd { .. }) => (None, "poll_end"),
        Downlink::Log(LogReply::Txn(_)) => (None, "txn"),
        Downlink::Log(LogReply::CommitResponse { .. }) => (None, "commit_response"),
    }
}

/// Interns client ids, keys (message keys and binding keys), queue names,
/// topic names and consumer group ids.
fn build_names(s: &Scenario) -> Names {
    let mut names = Names::default();
    match &s.broker {
        BrokerSpec::Queue(b) => names.queues = b.queues.iter().map(|q| q.name.clone()).collect(),
        BrokerSpec::Log(b) => names.topics = b.topics.iter().map(|t| t.name.clone()).collect(),
    }
    for c in &s.clients {
        intern_client(&mut names, c);
    }
    if let BrokerSpec::Queue(b) = &s.broker {
        for x in &b.exchanges {
            x.bindings
                .iter()
                .filter_map(|b| b.routing_key.as_deref())
                .for_each(|k| intern_key(&mut names, k));
        }
    }
    names
}

/// Adds a name to a table unless it is there.
/// Bound: the names in the scenario (validated clients × their keys).
fn intern(table: &mut Vec<String>, name: &str) {
    if !table.iter().any(|x| x == name) {
        table.push(name.to_string());
    }
}

fn intern_key(names: &mut Names, key: &str) {
    intern(&mut names.keys, key);
}

/// Interns a client's id, the keys it names and its consumer group.
fn intern_client(names: &mut Names, c: &ClientSpec) {
    names.clients.push(c.id().to_string());
    c.keys().iter().for_each(|k| intern_key(names, k));
    if let ClientSpec::LogConsumer(k) = c {
        intern(&mut names.groups, &k.group_id);
    }
}

fn build_clients(s: &Scenario, names: &Names) -> Vec<Client> {
    s.clients
        .iter()
        .enumerate()
        .map(|(i, c)| build_client(s, names, i as ClientId, c))
        .collect()
}

/// A producer's settings both producer kinds share. `schedule` is
/// (interval_ms, rate_per_s, start_ms, count); message `k` is due at
/// `start_ms + k * num / den` ms. The caller adds the confirm settings.
fn producer_config(
    route: Route,
    keys: Vec<KeyId>,
    schedule: (Option<u64>, Option<u64>, u64, u64),
    payload_bytes: u32,
) -> impl FnOnce(Option<ConfirmSpec>) -> ProducerConfig {
    let (interval_ms, rate_per_s, start_ms, count) = schedule;
    let (period_num, period_den) = match (interval_ms, rate_per_s) {
        (Some(ms), _) => (ms, 1),
        (None, Some(rate)) => (1000, rate),
        (None, None) => unreachable!("validated: a rate or an interval"),
    };
    move |confirms| ProducerConfig {
        route,
        keys,
        period_num,
        period_den,
        start_ms,
        count,
        payload_bytes,
        confirms,
        idempotence: false,
    }
}

/// One client's state machine from its (validated, interned) scenario entry.
/// A log consumer's group-protocol settings (both kinds of log consumer).
fn member_config(
    k: &crate::config::LogConsumerSpec,
    group: log::GroupId,
    topic: log::TopicId,
) -> MemberConfig {
    MemberConfig {
        group,
        topic,
        assignor: k.assignment,
        reset: k.auto_offset_reset,
        session_timeout_ms: k.session_timeout_ms,
        heartbeat_interval_ms: k.heartbeat_interval_ms,
        isolation: k.isolation_level,
    }
}

fn build_client(s: &Scenario, names: &Names, id: ClientId, c: &ClientSpec) -> Client {
    let key = |k: &str| names.keys.iter().position(|n| n == k).expect("interned") as KeyId;
    let queue = |q: &str| names.queues.iter().position(|n| n == q).expect("validated") as u32;
    let topic = |t: &str| names.topics.iter().position(|n| n == t).expect("validated") as u16;
    let kind = match (c, &s.broker) {
        (ClientSpec::Producer(p), BrokerSpec::Queue(b)) => {
            let target = if p.exchange.is_empty() {
                Target::Queue(queue(&p.routing_key))
            } else {
                Target::Exchange(
                    b.exchanges
                        .iter()
                        .position(|x| x.name == p.exchange)
                        .expect("validated") as u32,
                )
            };
            let schedule = (p.interval_ms, p.rate_per_s, p.start_ms, p.count);
            let keys = p.keys.iter().map(|k| key(k)).collect();
            let cfg = producer_config(Route::Queue(target), keys, schedule, p.payload_bytes);
            ClientKind::Producer(Producer::new(id, cfg(p.confirms)))
        }
        (ClientSpec::Consumer(k), BrokerSpec::Queue(b)) => ClientKind::Consumer(Consumer::new(
            id,
            ConsumerConfig {
                queue: queue(&k.queue),
                prefetch: k.prefetch,
                ack_mode: k.ack_mode,
                processing: k.processing,
                exclusive: k.exclusive,
                fail_keys: k.fail_keys.iter().map(|f| key(f)).collect(),
                fail_probability: Probability::new(k.fail_probability),
                on_failure: k.on_failure,
                sqs: b.mode == QueueMode::Sqs,
                dedup: k
                    .dedup_ids_max
                    .map(|n| (StoreId::Queue(queue(&k.queue)), n)),
            },
        )),
        (ClientSpec::LogProducer(p), BrokerSpec::Log(b)) => {
            let t = topic(&p.topic);
            let partitions = b.topics[t as usize].partitions;
            let confirms = (p.acks != Acks::Zero).then_some(ConfirmSpec {
                timeout_ms: p.request_timeout_ms,
                max_retries: p.retries,
                window: p.max_in_flight,
            });
            let key_partitions = p
                .keys
                .iter()
                .map(|k| (key(k), log::partition_for_key(k.as_bytes(), partitions)))
                .collect();
            let route = Route::Log {
                topic: t,
                partitions,
                key_partitions,
                partitioner: p.partitioner,
                acks: p.acks,
            };
            let schedule = (p.interval_ms, p.rate_per_s, p.start_ms, p.count);
            let keys = p.keys.iter().map(|k| key(k)).collect();
            let cfg = producer_config(route, keys, schedule, p.payload_bytes);
            let mut cfg = cfg(confirms);
            cfg.idempotence = p.enable_idempotence;
            ClientKind::Producer(Producer::new(id, cfg))
        }
        (ClientSpec::LogConsumer(k), BrokerSpec::Log(b)) if k.transactional.is_some() => {
            let t = k.transactional.as_ref().expect("matched");
            let group = names.groups.iter().position(|g| *g == k.group_id);
            let output = topic(&t.output_topic);
            ClientKind::TxnProducer(TxnProducer::new(
                id,
                TxnProducerConfig {
                    txn: crate::client::txn_producer::txn_index(s, &t.transactional_id),
                    transaction_timeout_ms: t.transaction_timeout_ms,
                    member: member_config(k, group.expect("interned") as u16, topic(&k.topic)),
                    output,
                    output_partitions: b.topics[output as usize].partitions,
                    processing: k.processing,
                    max_poll_records: k.max_poll_records,
                    start_ms: t.start_ms,
                },
            ))
        }
        (ClientSpec::LogConsumer(k), BrokerSpec::Log(_)) => {
            let group = names.groups.iter().position(|g| *g == k.group_id);
            ClientKind::LogConsumer(LogConsumer::new(
                id,
                LogConsumerConfig {
                    member: member_config(k, group.expect("interned") as u16, topic(&k.topic)),
                    processing: k.processing,
                    auto_commit_interval_ms: k
                        .enable_auto_commit
                        .then_some(k.auto_commit_interval_ms),
                    commit: k.commit,
                    max_poll_records: k.max_poll_records,
                    seeks: k.seeks.clone(),
                    leave_at_ms: k.leave_at_ms,
                    dedup: k
                        .dedup_ids_max
                        .map(|n| (StoreId::Group(group.expect("interned") as u16), n)),
                },
            ))
        }
        _ => unreachable!("validated: client kinds fit the broker kind"),
    };
    Client {
        kind,
        incarnation: 0,
        conn: 0,
    }
}
