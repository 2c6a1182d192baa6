//! Building a world from a scenario: the interned names, the broker, one
//! state machine per client, the links and the store; a fresh start
//! ([`World::new`]), another store ([`World::with_storage`]) or a stored log
//! resumed after a reload ([`World::resume`]).

use super::clock::Ev;
use super::{EventQueue, Node, Slot, World};
use crate::broker::log;
use crate::broker::{Broker, ClientId, KeyId};
use crate::config::{BrokerSpec, ClientSpec, Scenario};
use crate::history::{Entry, History, Names, Proc};
use crate::node::NodeId;
use crate::sim::net::Link;
use crate::sim::rng::SimRng;
use crate::storage::{MemoryStore, Storage, StreamId};
use std::collections::BTreeMap;

/// PRNG stream names (see [`SimRng::stream`]): the links' draws.
const NET_STREAM: u64 = 1;
/// The clients' draws (processing times, failures).
const CLIENT_STREAM: u64 = 2;

/// Where a torn write is cut (`crash_torn`, `fault_options.torn_writes`).
/// Its own stream: runs without torn writes never draw from it.
const TEAR_STREAM: u64 = 3;

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
        let nodes = vec![build_node(scenario, &names)];
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
            queue: EventQueue::default(),
            next_seq: 0,
            events_run: 0,
            disk_run_ahead_ms: 0,
            flush_overdue: None,
            rng_net: SimRng::stream(scenario.seed, NET_STREAM),
            rng_clients: SimRng::stream(scenario.seed, CLIENT_STREAM),
            rng_tear: SimRng::stream(scenario.seed, TEAR_STREAM),
            links,
            nodes,
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
    /// store here), node 0's disk. The store must be empty and recovered
    /// (ready to write).
    pub fn with_storage(scenario: &Scenario, storage: Box<dyn Storage>) -> World {
        let mut world = World::new(scenario);
        world.nodes[NodeId::FIRST.index()].storage = storage;
        world
    }

    /// Builds a world on a store that holds the data of an earlier run (a
    /// page reload: the old world is gone, its disk is not). The broker
    /// recovers it exactly as after a crash (CRC checks, truncation, offsets,
    /// producer and transaction state; see [`log::LogBroker::resume`]) and the
    /// history opens with a broker `restart`, the recovery report and one
    /// `carried` event per record the earlier run left. A queue broker gets
    /// back its durable queues' persistent messages, one `carried` note each
    /// ([`crate::broker::queue::QueueBroker::resume`]). Then the clients
    /// start, as in [`World::new`]: consumers of the stored group begin at
    /// its committed offsets, and new message ids follow the carried ones.
    ///
    /// Virtual time starts again at 0 (a new process); carried records keep
    /// the earlier run's timestamps. Errors (say what and where) when the
    /// store has partitions or queues the scenario lacks; nothing has run then.
    pub fn resume(scenario: &Scenario, storage: Box<dyn Storage>) -> Result<World, String> {
        let mut world = World::build(scenario);
        world.resume_node(NodeId::FIRST, storage)?;
        world.start();
        Ok(world)
    }

    /// Node `node` recovers the log on `storage` (see [`World::resume`]).
    fn resume_node(&mut self, node: NodeId, mut storage: Box<dyn Storage>) -> Result<(), String> {
        let recovery = storage.recover();
        match &self.nodes[node.index()].broker {
            Broker::Log(broker) => {
                let foreign = recovery.streams.keys().find(|stream| match **stream {
                    StreamId::Partition { topic, partition } => {
                        !broker.has_partition(topic, partition)
                    }
                    _ => false,
                });
                if let Some(stream) = foreign {
                    return Err(format!(
                        "the stored log has {stream}, which this setup does not have: start fresh instead"
                    ));
                }
            }
            Broker::Queue(_) => {
                let queues = self.names.queues.len();
                let foreign = recovery.streams.keys().find(|stream| {
                    matches!(**stream, StreamId::Queue { queue } if usize::from(queue) >= queues)
                });
                if let Some(stream) = foreign {
                    return Err(format!(
                        "the store has {stream}, which this setup does not have: start fresh instead"
                    ));
                }
            }
        }
        self.nodes[node.index()].storage = storage;
        self.record(Proc::Broker(node), Entry::Restart);
        let group_topics = self.group_topics();
        self.with_node(node, |broker, now_ms, storage, out| match broker {
            Broker::Log(broker) => broker.resume(now_ms, &recovery, &group_topics, storage, out),
            Broker::Queue(broker) => broker.resume(&recovery, storage, out),
        });
        let (max_msg_id, shift) = match &self.nodes[node.index()].broker {
            Broker::Log(broker) => (broker.max_msg_id(), broker.producer_id_shift()),
            Broker::Queue(broker) => (broker.max_msg_id(), 0),
        };
        // New ids continue past the stored ones; stored data that leaves no
        // room for that (forged, or from a runaway run) is refused, not
        // wrapped around into ids the store already holds.
        let max_msg_id = max_msg_id.unwrap_or(0);
        if max_msg_id >= u64::MAX / 2 {
            return Err(format!(
                "the stored message ids reach {max_msg_id}, too close to the limit to continue: start fresh instead"
            ));
        }
        if shift >= u32::MAX / 2 {
            return Err(format!(
                "the stored producer ids have used {shift} restarts, too close to the limit to continue: start fresh instead"
            ));
        }
        self.next_msg_id = self.next_msg_id.max(max_msg_id + 1);
        Ok(())
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

    /// A client's first step: a producer sets its first publish timer, a
    /// consumer subscribes.
    pub(super) fn start_client(&mut self, c: ClientId) {
        self.with_client(c, |client, ctx| client.start(ctx));
    }
}

/// One broker node of the scenario, on a fresh memory disk.
fn build_node(scenario: &Scenario, names: &Names) -> Node {
    let key_of = |k: &str| names.keys.iter().position(|n| n == k).map(|i| i as KeyId);
    let mut broker = Broker::new(
        &scenario.broker,
        &key_of,
        &names.keys,
        names.groups.len(),
        scenario.limits.queue_depth_max,
    );
    for table in &names.headers {
        broker.add_headers(table);
    }
    let fsync_latency_ms = match &scenario.broker {
        BrokerSpec::Log(l) => l.fsync_latency_ms,
        BrokerSpec::Queue(q) => q.fsync_latency_ms,
    };
    let mut storage = MemoryStore::new(Default::default(), fsync_latency_ms);
    storage.recover(); // a fresh disk: nothing to recover, ready to write
    Node {
        broker,
        storage: Box::new(storage),
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

pub(super) fn intern_key(names: &mut Names, key: &str) {
    intern(&mut names.keys, key);
}

/// Interns a client's id, the keys it names, its message headers and its
/// consumer group.
pub(super) fn intern_client(names: &mut Names, c: &ClientSpec) {
    names.clients.push(c.id().to_string());
    c.keys().iter().for_each(|k| intern_key(names, k));
    match c {
        ClientSpec::Producer(p) if !p.headers.is_empty() && !names.headers.contains(&p.headers) => {
            names.headers.push(p.headers.clone());
        }
        _ => {}
    }
    if let ClientSpec::LogConsumer(k) = c {
        intern(&mut names.groups, &k.group_id);
    }
}

/// One slot per scenario client, each built by the client registry
/// ([`crate::client::build`]).
fn build_clients(s: &Scenario, names: &Names) -> Vec<Slot> {
    s.clients
        .iter()
        .enumerate()
        .map(|(i, c)| new_slot(s, names, i as ClientId, c))
        .collect()
}

/// A fresh slot for client `id` (first incarnation, first connection).
pub(super) fn new_slot(s: &Scenario, names: &Names, id: ClientId, c: &ClientSpec) -> Slot {
    Slot {
        client: crate::client::build(s, names, id, c),
        incarnation: 0,
        conn: 0,
    }
}
