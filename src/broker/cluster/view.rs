//! What the page may draw of each broker: its replicas, the leader
//! marked, the ISR, and the LEO and high watermark of every partition
//! row. Plain data, built fresh on each call; nothing here changes a
//! broker.

use super::{Epoch, NodeSet, PartitionIdx};
use crate::node::NodeId;

/// One replica on one broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaView {
    /// The partition.
    pub partition: PartitionIdx,
    /// The leader this replica was told of (itself when it leads).
    pub leader: Option<NodeId>,
    /// The newest leader epoch it knows.
    pub epoch: Epoch,
    /// The ISR, on the leader only (a follower does not keep one).
    pub isr: Option<NodeSet>,
    /// Every replica of the partition, on the leader only.
    pub replicas: NodeSet,
    /// On the leader: each follower's LEO as its last fetch said.
    pub follower_leos: Vec<(NodeId, u64)>,
    /// The log end offset.
    pub leo: u64,
    /// The high watermark as this replica knows it.
    pub hw: u64,
    /// Records below this are on disk.
    pub durable_end: u64,
}

/// One broker, for the topology drawing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    /// The broker.
    pub node: NodeId,
    /// Whether its process runs.
    pub up: bool,
    /// Its replicas, by partition.
    pub replicas: Vec<ReplicaView>,
}

impl NodeView {
    /// Whether it leads `partition` (for the leader mark).
    pub fn leads(&self, partition: PartitionIdx) -> bool {
        let mine = self.replicas.iter().find(|r| r.partition == partition);
        mine.is_some_and(|r| r.leader == Some(self.node) && r.isr.is_some())
    }
}
