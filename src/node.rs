//! Broker identity: which broker node did it, and how that node is named.
//!
//! Today a run has one broker. A Kafka-style cluster (replicas, ISR, leader
//! election) has several, so everything that says "the broker" carries a
//! [`NodeId`] instead: the world's events, the history's process names, the
//! storage streams a node writes and the targets of faults. A one-node run
//! uses [`NodeId::FIRST`] everywhere, which keeps today's name, `broker`, so
//! its histories are byte for byte what they were.
//!
//! Names, used in histories, fault targets and the page:
//!
//! | node | name |
//! |---|---|
//! | 0 | `broker` |
//! | 1 … 7 | `b1` … `b7` |
//!
//! This module sits at the bottom of the layers (beside `version`): storage,
//! the vocabulary, brokers and the world all name nodes, and a node id needs
//! nothing of the crate.

use std::fmt;

/// One broker node of a run, by number. Node 0 is the broker of every
/// one-node run (and of every run today).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u8);

/// Bound on broker nodes in one run: a cluster of up to five (issue 13)
/// with room to spare. Node names, stream codes and fault targets are
/// defined for these only.
pub const NODES_MAX: usize = 8;

/// The name of each node, by number (see the module's table).
const NAMES: [&str; NODES_MAX] = ["broker", "b1", "b2", "b3", "b4", "b5", "b6", "b7"];

impl NodeId {
    /// Node 0: the broker of a one-node run, named `broker`.
    pub const FIRST: NodeId = NodeId(0);

    /// The node's name in histories, fault targets and the page: `broker`
    /// for node 0, `b1` … `b7` for the others.
    ///
    /// # Panics
    /// For a node at or above [`NODES_MAX`]: no run has one.
    pub fn name(self) -> &'static str {
        assert!(
            usize::from(self.0) < NODES_MAX,
            "node {} over NODES_MAX",
            self.0
        );
        NAMES[usize::from(self.0)]
    }

    /// The node a name stands for (`broker` → node 0, `b2` → node 2), or
    /// `None` when it names no node. Whether the run *has* that node is the
    /// scenario's question, not this one's.
    pub fn from_name(name: &str) -> Option<NodeId> {
        let i = NAMES.iter().position(|n| *n == name)?;
        Some(NodeId(u8::try_from(i).expect("NODES_MAX fits a u8")))
    }

    /// The node's index into per-node tables (`Vec`s indexed by node).
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_zero_keeps_the_single_brokers_name() {
        assert_eq!(NodeId::FIRST.name(), "broker");
        assert_eq!(NodeId::from_name("broker"), Some(NodeId::FIRST));
    }

    #[test]
    fn every_name_reads_back_as_its_node() {
        for i in 0..NODES_MAX {
            let node = NodeId(u8::try_from(i).unwrap());
            assert_eq!(NodeId::from_name(node.name()), Some(node));
        }
        assert_eq!(NodeId(2).to_string(), "b2");
    }

    #[test]
    fn names_of_no_node_are_refused() {
        for name in ["b0", "b8", "B1", "", "broker ", "c1"] {
            assert_eq!(NodeId::from_name(name), None, "{name:?}");
        }
    }
}
