//! What the world, the UI and the tests may ask the log broker: the
//! partitions' ranges and lag, the groups, the counters. Nothing here
//! changes the broker.

use super::protocol::{GroupId, PartitionId, PartitionSet, TopicId};
use super::txn::partition::is_marker;
use super::LogBroker;
use crate::broker::{ClientId, MsgId};

/// Per-partition view for the UI: log range, durability and each group's lag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionView {
    /// The topic's name.
    pub topic: String,
    /// The partition's index in its topic.
    pub partition: PartitionId,
    /// Log start offset (retention moved it).
    pub start: u64,
    /// Log end offset: where the next record goes.
    pub end: u64,
    /// Every offset below this is on disk.
    pub durable_end: u64,
    /// (group index, owner, committed offset, lag = end - committed).
    pub groups: Vec<(GroupId, Option<ClientId>, u64, u64)>,
    /// The offset of `msgs[0]`.
    pub msgs_from: u64,
    /// Message ids of the newest `limit` records, the first at `msgs_from`:
    /// the end of the log is where writes and reads happen.
    pub msgs: Vec<MsgId>,
}

/// Counters for the summary and the tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogBrokerStats {
    /// Records producers appended (markers not counted).
    pub appended: u64,
    /// Records retention deleted.
    pub retention_deleted: u64,
    /// Records a crash lost before they were durable.
    pub lost_in_crash: u64,
    /// Group commits begun.
    pub flushes: u64,
    /// Rebalances, over all groups.
    pub rebalances: u64,
}

impl LogBroker {
    /// The counters so far.
    pub fn stats(&self) -> LogBrokerStats {
        LogBrokerStats {
            appended: self.partitions.appended,
            retention_deleted: self.partitions.retention_deleted,
            lost_in_crash: self.partitions.lost_in_crash,
            flushes: self.durability.flushes,
            rebalances: self.groups.rebalances,
        }
    }

    /// Each partition's range, durability, owners and lag; the newest
    /// `limit` message ids per partition.
    pub fn partition_views(&self, limit: usize) -> Vec<PartitionView> {
        let mut views = Vec::new();
        for (t, p, log) in self.partitions.iter() {
            let newest = log.records.iter().rev().take(limit).rev();
            views.push(PartitionView {
                topic: self.partitions.topics[t as usize].name.clone(),
                partition: p,
                start: log.start,
                end: log.end(),
                durable_end: log.durable_end,
                groups: self.groups.lag((t, p), log),
                msgs_from: log.end() - log.records.len().min(limit) as u64,
                msgs: newest.map(|r| r.msg.id).collect(),
            });
        }
        views
    }

    /// Messages the broker holds (every record in every log, markers aside).
    pub fn held(&self) -> Vec<MsgId> {
        let logs = self.partitions.iter().map(|(_, _, log)| log);
        logs.flat_map(|l| l.records.iter().filter(|r| !is_marker(r)).map(|r| r.msg.id))
            .collect()
    }

    /// The highest message id in any log (markers excluded): a resumed world
    /// numbers new messages after it.
    pub fn max_msg_id(&self) -> Option<MsgId> {
        self.held().into_iter().max()
    }

    /// Records in every log, markers included.
    pub fn record_count(&self) -> u64 {
        self.partitions.record_count()
    }

    /// Whether the scenario has this partition (a stored log from another
    /// setup may name more; [`crate::world::World::resume`] refuses it).
    pub fn has_partition(&self, topic: TopicId, partition: PartitionId) -> bool {
        self.partitions.has(topic, partition)
    }

    /// The log end offset of a partition (markers included).
    pub fn log_end(&self, topic: TopicId, partition: PartitionId) -> u64 {
        self.partitions.log(topic, partition).end()
    }

    /// The topic a group reads, once a member joined (or a resume named it).
    pub fn group_topic(&self, group: GroupId) -> Option<TopicId> {
        self.groups.group_topic(group)
    }

    /// A group's committed offset for a partition.
    pub fn committed(&self, group: GroupId, partition: PartitionId) -> Option<u64> {
        self.groups.committed(group, partition)
    }

    /// A group's members, their partitions (0 = idle) and the generation.
    pub fn members(&self, group: GroupId) -> (u32, Vec<(ClientId, PartitionSet)>) {
        self.groups.members(group)
    }

    /// Added to the restart count in every idempotent producer id this broker
    /// is sent: 0, except after a [`resume`](Self::resume).
    pub fn producer_id_shift(&self) -> u32 {
        self.producers.id_shift()
    }
}
