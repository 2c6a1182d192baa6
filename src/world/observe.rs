//! Observation: what the page draws (client views, effects) and what the
//! checker judges (the snapshot of unfinished messages, the summary, kept
//! up to date live by a [`LiveChecker`]).

use super::clock::Ev;
use super::World;
use crate::broker::{Broker, ClientId, MsgId, Request};
use crate::check::live::LiveChecker;
use crate::check::{self, Snapshot, Summary};
use crate::client::{ClientView, Downlink};
use crate::config::IsolationLevel;
use crate::config::{BrokerSpec, ClientSpec, Scenario};
use crate::history::{History, Names};
use crate::node::NodeId;
use crate::storage::Storage;
use std::collections::{BTreeMap, BTreeSet};

impl World {
    /// Every client's state for the page, in [`crate::broker::ClientId`] order.
    pub fn clients(&self) -> Vec<ClientView> {
        self.clients
            .iter()
            .enumerate()
            .map(|(i, slot)| slot.client.view(&self.names.clients[i]))
            .collect()
    }

    /// The scenario as run so far, live changes included (see
    /// [`World::inject`]): exporting it replays this run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Everything that happened so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The interned names the history's ids stand for.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Processed messages per key name (`"(none)"` for keyless messages).
    pub fn effects(&self) -> BTreeMap<String, u64> {
        let mut effects = BTreeMap::new();
        effects.extend(self.effects.iter().map(|(k, v)| {
            (
                k.map_or_else(|| "(none)".to_string(), |k| self.names.key(k).to_string()),
                *v,
            )
        }));
        effects
    }

    /// Node 0's broker, for views of its queues or partitions: the broker
    /// of a one-node run.
    pub fn broker(&self) -> &Broker {
        self.node(NodeId::FIRST)
    }

    /// The broker of node `node`.
    ///
    /// # Panics
    /// For a node the world does not have (see [`World::node_ids`]).
    pub fn node(&self, node: NodeId) -> &Broker {
        &self.nodes[node.index()].broker
    }

    /// The world's broker nodes, in order: node 0 alone in a one-node run.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + use<> {
        let count = u8::try_from(self.nodes.len()).expect("bounded by NODES_MAX");
        (0..count).map(NodeId)
    }

    /// Whether each broker node is up, by node: what the page's broker
    /// drawing and its Crash / Restart buttons show.
    pub fn nodes_up(&self) -> Vec<bool> {
        self.nodes.iter().map(|n| n.broker.is_up()).collect()
    }

    /// Node 0's store, for a driver that must await it (see
    /// [`super::RunError::WaitingForStorage`]).
    pub fn storage_mut(&mut self) -> &mut dyn Storage {
        self.storage_of(NodeId::FIRST)
    }

    /// Node `node`'s store: [`super::RunError::WaitingForStorage`] names
    /// the node whose flush the driver must await.
    pub fn storage_of(&mut self, node: NodeId) -> &mut dyn Storage {
        &mut *self.nodes[node.index()].storage
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
            if self.nodes.iter().any(|n| n.broker.as_log().is_some()) {
                return Snapshot::default();
            }
            return self.snapshot_where(|_| false);
        };
        // Most records are outside the wanted ids' range: a cheap test first.
        self.snapshot_where(|m| (lo..=hi).contains(&m) && wanted.contains(&m))
    }

    fn snapshot_where(&self, keep: impl Fn(MsgId) -> bool) -> Snapshot {
        let mut broker_held = 0;
        let mut held: BTreeSet<MsgId> = BTreeSet::new();
        for node in &self.nodes {
            let copies = node.broker.held();
            broker_held += copies.len() as u64;
            held.extend(copies.into_iter().map(|(_, m)| m).filter(|m| keep(*m)));
        }
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
        for slot in &self.clients {
            slot.client.holding(&mut held);
        }
        held.retain(|m| keep(*m));
        Snapshot {
            pending: held,
            broker_held,
        }
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
        let mut ids = BTreeSet::new();
        ids.extend(
            clients
                .filter(|(_, c)| committed(c))
                .map(|(i, _)| i as ClientId),
        );
        ids
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
        summary.consumer_busy_ms = BTreeMap::new();
        summary
            .consumer_busy_ms
            .extend(self.clients.iter().enumerate().filter_map(|(i, slot)| {
                let busy_ms = slot.client.busy_ms()?;
                Some((self.names.clients[i].clone(), busy_ms))
            }));
        check::add_effect_invariant(summary);
    }
}
