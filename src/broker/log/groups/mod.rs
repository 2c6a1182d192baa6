//! Consumer groups: the log broker's group coordinator.
//!
//! A consumer group (`group.id`) shares a topic's partitions among its
//! members, one owner per partition, and remembers for each partition how
//! far the group has read (its *committed offset*). Consuming never deletes:
//! a group only moves its own offsets.
//!
//! | file | job |
//! |---|---|
//! | `membership` | `JoinGroup`, heartbeats, `LeaveGroup`, `session.timeout.ms`, and the rebalance every change causes (a new generation) |
//! | `fetch` | where each member reads next (Kafka's fetch sessions), polls that wait at the broker, `seek`, KIP-447's `UNSTABLE_OFFSET_COMMIT` |
//! | `offsets` | `OffsetCommit` fenced by generation, and the `Offsets` stream that makes commits durable (Kafka's `__consumer_offsets`) |
//! | `assignor` | `range` and `roundrobin`: who gets which partition |
//!
//! This file holds the state they share ([`GroupCoordinator`], [`Group`],
//! [`Member`]), routes the group requests, and answers questions about the
//! groups for the UI and the tests.
//!
//! Simplifications (said in the UI too): a rebalance happens in one step at
//! the coordinator (no waiting for every member to rejoin), so commits are
//! fenced by generation instead; membership is not persisted, so members
//! rejoin after a broker restart (committed offsets are persisted).

mod assignor;
mod fetch;
mod membership;
mod offsets;

pub use assignor::{assign, partitions_of};

use super::partition::{PartitionLog, Partitions};
use super::protocol::{GroupId, LogRequest, PartitionId, PartitionSet, TopicId};
use super::txn::TxnCoordinator;
use crate::broker::{ClientId, Output};
use crate::config::{Assignor, OffsetReset};
use std::collections::BTreeMap;

/// One member of a group, as the coordinator sees it.
#[derive(Clone, Debug)]
pub(super) struct Member {
    /// `session.timeout.ms`: how long it may go without a heartbeat.
    session_timeout_ms: u64,
    /// Its last sign of life; with the timeout, its session deadline.
    last_heartbeat_ms: u64,
    /// `auto.offset.reset`: where it starts in a partition with no
    /// committed offset.
    reset: OffsetReset,
    /// `isolation.level=read_committed`.
    read_committed: bool,
    /// What the last rebalance gave it (0 = idle).
    partitions: PartitionSet,
    /// The generation the fetch positions were resolved for.
    positions_generation: Option<u32>,
    /// Next fetch offset per owned partition. Bound: partitions per topic.
    positions: BTreeMap<PartitionId, u64>,
    /// Owned partitions whose committed offset is not stable yet: a
    /// transaction with offsets for them is still open (KIP-447's
    /// `UNSTABLE_OFFSET_COMMIT`). No position, no fetch, until it ends.
    unstable: PartitionSet,
    /// A poll waiting for records: (poll id, max records).
    parked: Option<(u64, u32)>,
    /// Which partition the next poll starts at (fairness across partitions).
    cursor: u16,
}

/// One consumer group.
#[derive(Clone, Debug)]
pub(super) struct Group {
    /// The topic the group reads (set by its first `JoinGroup`).
    topic: TopicId,
    /// How a rebalance deals the partitions.
    assignor: Assignor,
    /// Bumped by every rebalance; fences commits and polls of older ones.
    generation: u32,
    /// Bound: clients in the scenario.
    members: BTreeMap<ClientId, Member>,
    /// Committed offsets, per partition: the next record to read.
    committed: BTreeMap<PartitionId, u64>,
}

impl Group {
    /// A group known only by its committed offsets (after a restart, or a
    /// transaction's offsets for a group nobody joined yet): the first
    /// `JoinGroup` sets its topic and assignor.
    fn unjoined() -> Group {
        Group {
            topic: 0,
            assignor: Assignor::Range,
            generation: 0,
            members: BTreeMap::new(),
            committed: BTreeMap::new(),
        }
    }

    /// The member that owns `partition`, if any.
    fn owner(&self, partition: PartitionId) -> Option<(&ClientId, &Member)> {
        let mut members = self.members.iter();
        members.find(|(_, m)| m.partitions & (1 << partition) != 0)
    }
}

/// The group coordinator: every group's members and offsets, and the
/// offset commits on their way to the disk.
#[derive(Clone, Debug)]
pub(super) struct GroupCoordinator {
    /// Groups by index (names live in the world's `Names`); `None` until
    /// the first `JoinGroup`, or until recovery finds offsets for it.
    groups: Vec<Option<Group>>,
    /// Commits not yet handed to storage: ((group, partition), offset).
    /// Bound: groups × partitions (a later commit replaces an earlier one).
    offsets_pending: BTreeMap<(GroupId, PartitionId), u64>,
    /// Next offset in the `Offsets` stream.
    offsets_stream_end: u64,
    /// `commitSync` answers whose offsets are not handed to storage yet
    /// (they go out when that flush is durable, like an `acks=all`
    /// response). Bound: [`offsets::COMMIT_REPLIES_MAX`].
    commit_replies: Vec<(ClientId, PartitionId, u64)>,
    /// Rebalances so far, for the stats.
    pub(super) rebalances: u64,
}

impl GroupCoordinator {
    /// `groups` groups, none joined yet.
    pub(super) fn new(groups: usize) -> GroupCoordinator {
        GroupCoordinator {
            groups: vec![None; groups],
            offsets_pending: BTreeMap::new(),
            offsets_stream_end: 0,
            commit_replies: Vec::new(),
            rebalances: 0,
        }
    }

    /// A group interned after the start (a consumer added mid-run).
    pub(super) fn add_group(&mut self) {
        self.groups.push(None);
    }

    /// How many groups the scenario has.
    pub(super) fn len(&self) -> usize {
        self.groups.len()
    }

    /// One group request: `JoinGroup`, `Heartbeat`, `LeaveGroup`, `poll()`,
    /// `OffsetCommit` or `seek`. `txn` says which offsets an open
    /// transaction may still move (KIP-447).
    pub(super) fn handle(
        &mut self,
        now_ms: u64,
        from: ClientId,
        req: LogRequest,
        (partitions, txn): (&Partitions, &TxnCoordinator),
        out: &mut Vec<Output>,
    ) {
        match req {
            LogRequest::JoinGroup { .. } => self.join(now_ms, from, req, partitions, out),
            LogRequest::Heartbeat { group } => self.heartbeat(now_ms, group, from),
            LogRequest::LeaveGroup { group } => self.leave(group, from, partitions, out),
            LogRequest::Poll {
                group,
                generation,
                poll,
                max_records,
            } => {
                let pending = txn.pending_offsets(group);
                let at = (group, from, generation);
                self.poll(at, (poll, max_records), partitions, pending, out)
            }
            LogRequest::Commit {
                group,
                generation,
                partition,
                offset,
                reply,
            } => self.commit((group, from, generation), (partition, offset), reply, out),
            LogRequest::Seek {
                group,
                generation,
                partition,
                to,
            } => {
                let pending = txn.pending_offsets(group);
                let at = (group, from, generation);
                self.seek(at, (partition, to), partitions, pending, out)
            }
            LogRequest::Produce { .. }
            | LogRequest::ProduceIdempotent { .. }
            | LogRequest::Txn(_) => unreachable!("routed to the partitions or the transactions"),
        }
    }

    /// A crash: membership, commits in memory and their answers are gone
    /// (the `Offsets` stream on disk is not).
    pub(super) fn crash(&mut self) {
        self.groups.iter_mut().for_each(|g| *g = None);
        self.offsets_pending.clear();
        self.commit_replies.clear();
    }

    /// The topic a group reads, once it is known.
    pub(super) fn group_topic(&self, group: GroupId) -> Option<TopicId> {
        self.groups.get(group as usize)?.as_ref().map(|g| g.topic)
    }

    /// A stored log resumed under a setup whose scenario names the topic
    /// each group reads: a group known only by its recovered offsets gets
    /// it now, so recovery can tell which records it consumed.
    pub(super) fn set_unjoined_topics(&mut self, group_topics: &[Option<TopicId>]) {
        for (g, topic) in group_topics.iter().enumerate() {
            let group = self.groups.get_mut(g).and_then(Option::as_mut);
            if let (Some(group), Some(topic)) = (group, topic) {
                if group.members.is_empty() {
                    group.topic = *topic;
                }
            }
        }
    }

    /// A group's committed offset for a partition.
    pub(super) fn committed(&self, group: GroupId, partition: PartitionId) -> Option<u64> {
        let g = self.groups.get(group as usize)?.as_ref()?;
        g.committed.get(&partition).copied()
    }

    /// A group's members, their partitions (0 = idle) and the generation.
    pub(super) fn members(&self, group: GroupId) -> (u32, Vec<(ClientId, PartitionSet)>) {
        match self.groups.get(group as usize).and_then(|g| g.as_ref()) {
            Some(g) => (
                g.generation,
                g.members.iter().map(|(c, m)| (*c, m.partitions)).collect(),
            ),
            None => (0, Vec::new()),
        }
    }

    /// For the UI: every group reading `topic`, with the owner of
    /// `partition`, its committed offset and its lag behind the log end.
    pub(super) fn lag(
        &self,
        (topic, partition): (TopicId, PartitionId),
        log: &PartitionLog,
    ) -> Vec<(GroupId, Option<ClientId>, u64, u64)> {
        let groups = self.groups.iter().enumerate();
        let reading = groups.filter_map(|(gi, g)| Some((gi as GroupId, g.as_ref()?)));
        reading
            .filter(|(_, g)| g.topic == topic)
            .map(|(gi, g)| {
                let owner = g.owner(partition).map(|(c, _)| *c);
                let committed = g.committed.get(&partition).copied().unwrap_or(log.start);
                (gi, owner, committed, log.end().saturating_sub(committed))
            })
            .collect()
    }
}
