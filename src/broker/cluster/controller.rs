//! The controller: which brokers are alive, who leads each partition,
//! and the epochs that order those choices.
//!
//! It is always available (a simplification, see the module map): it is
//! no broker, cannot crash, and hears every broker it is not cut off
//! from. The driver tells it when a broker has been silent for
//! `broker.session.timeout.ms` ([`Controller::fence`]) and when it is
//! back ([`Controller::unfence`]).
//!
//! **Election.** When a leader is fenced, the first replica (in
//! assignment order) that is alive and in the controller's ISR leads, at
//! the next epoch: a *clean* election, which keeps every committed
//! record. With none, the partition goes offline (no leader) until an
//! ISR member returns, unless `unclean.leader.election.enable`: then any
//! live replica leads, and whatever only the old ISR had is gone.

use super::{AlterIsr, ClusterNote, Epoch, LeaderAndIsr, NodeOut, NodeSet, PartitionIdx};
use crate::config::ClusterSpec;
use crate::node::NodeId;

/// What the controller knows of one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    /// Its replicas, the preferred leader first.
    pub replicas: Vec<NodeId>,
    /// Its leader; `None` while offline.
    pub leader: Option<NodeId>,
    /// The leader epoch: bumped by every leadership change.
    pub epoch: Epoch,
    /// The ISR as the leader last told it (or as an election left it).
    pub isr: NodeSet,
}

impl PartitionState {
    /// Its replicas as a set.
    pub fn replica_set(&self) -> NodeSet {
        (self.replicas.iter()).fold(NodeSet::default(), |s, n| s.with(*n))
    }

    /// The controller's word about it.
    fn word(&self, partition: PartitionIdx) -> LeaderAndIsr {
        LeaderAndIsr {
            partition,
            leader: self.leader,
            epoch: self.epoch,
            isr: self.isr,
            replicas: self.replica_set(),
        }
    }
}

/// The always-available controller.
#[derive(Clone, Debug)]
pub struct Controller {
    /// `unclean.leader.election.enable`, and the counts.
    spec: ClusterSpec,
    /// Brokers it fenced (silent past the session timeout).
    fenced: NodeSet,
    /// Every partition, by [`PartitionIdx`]. Bound: the topics'
    /// partitions.
    partitions: Vec<PartitionState>,
}

impl Controller {
    /// `partitions` partitions placed round-robin on brokers `b1` …
    /// `bN`, each led by its first replica at epoch 0 with every replica
    /// in sync (all logs are empty).
    pub fn new(spec: &ClusterSpec, partitions: usize) -> Controller {
        let n = u16::from(spec.brokers);
        let place = |p: u16| {
            let replicas: Vec<NodeId> = (0..u16::from(spec.replication_factor))
                .map(|i| NodeId(u8::try_from((p + i) % n + 1).expect("brokers fit a u8")))
                .collect();
            let isr = replicas.iter().fold(NodeSet::default(), |s, r| s.with(*r));
            PartitionState {
                leader: Some(replicas[0]),
                replicas,
                epoch: 0,
                isr,
            }
        };
        let count = u16::try_from(partitions).expect("partitions fit a u16");
        Controller {
            spec: *spec,
            fenced: NodeSet::default(),
            partitions: (0..count).map(place).collect(),
        }
    }

    /// A cluster coming back from its brokers' disks (a resumed run):
    /// placed as [`Controller::new`] places it, each partition led by
    /// the replica whose stored log is the newest, by (last epoch, log
    /// end offset), the first in assignment order on a tie: under leader
    /// epochs, a log that holds every record the others could have
    /// committed. The epoch is one past every stored one; the ISR is the
    /// replicas whose tail equals the leader's (the others rejoin when
    /// they catch up). `tails[p]` lists each stored replica's (node,
    /// last epoch, log end offset); a replica with nothing stored counts
    /// as (no epoch, 0).
    pub fn resumed(spec: &ClusterSpec, tails: &[Vec<(NodeId, Option<Epoch>, u64)>]) -> Controller {
        let mut c = Controller::new(spec, tails.len());
        for (s, tails) in c.partitions.iter_mut().zip(tails) {
            let tail = |n: &NodeId| {
                let found = tails.iter().find(|t| t.0 == *n);
                found.map_or((None, 0), |t| (t.1, t.2))
            };
            let newest = (s.replicas.iter().map(tail)).max().unwrap_or((None, 0));
            let leader = *s
                .replicas
                .iter()
                .find(|n| tail(n) == newest)
                .expect("a replica");
            let isr = s.replicas.iter().filter(|n| tail(n) == newest);
            s.isr = isr.fold(NodeSet::default(), |set, n| set.with(*n));
            s.leader = Some(leader);
            s.epoch = tails.iter().filter_map(|t| t.1).max().map_or(0, |e| e + 1);
        }
        c
    }

    /// Its first word to every replica.
    pub fn start(&self, out: &mut Vec<NodeOut>) {
        for (p, s) in self.partitions.iter().enumerate() {
            send_all(s, p as PartitionIdx, NodeSet::default(), out);
        }
    }

    /// Every partition's state, by index.
    pub fn partitions(&self) -> &[PartitionState] {
        &self.partitions
    }

    /// The leader of `partition` (what a client's metadata request gets).
    pub fn leader_of(&self, partition: PartitionIdx) -> Option<NodeId> {
        self.partitions.get(usize::from(partition))?.leader
    }

    /// Whether it fenced `node`.
    pub fn is_fenced(&self, node: NodeId) -> bool {
        self.fenced.has(node)
    }

    /// `node` was silent for `broker.session.timeout.ms`: it leaves every
    /// ISR (but the last member's), and its leaderships are elected anew.
    pub fn fence(&mut self, node: NodeId, out: &mut Vec<NodeOut>) {
        if self.fenced.has(node) {
            return;
        }
        self.fenced = self.fenced.with(node);
        out.push(NodeOut::Note(ClusterNote::Fenced { node }));
        for p in 0..self.partitions.len() {
            let s = &mut self.partitions[p];
            if s.leader == Some(node) {
                self.elect(p as PartitionIdx, out);
            } else if s.isr.has(node) && s.isr.len() > 1 {
                s.isr = s.isr.without(node);
            }
        }
    }

    /// `node` registered again: offline partitions it can lead get a
    /// leader, and it hears the state of every partition it hosts.
    pub fn unfence(&mut self, node: NodeId, out: &mut Vec<NodeOut>) {
        if !self.fenced.has(node) {
            return self.reachable_again(node, out);
        }
        self.fenced = self.fenced.without(node);
        out.push(NodeOut::Note(ClusterNote::Unfenced { node }));
        for p in 0..self.partitions.len() {
            let s = &self.partitions[p];
            if s.leader.is_none() && s.replicas.contains(&node) {
                self.elect(p as PartitionIdx, out);
            }
        }
        self.reachable_again(node, out);
    }

    /// `node` can be reached again (a heal before it was fenced, or after
    /// a restart): it hears the state of every partition it hosts.
    pub fn reachable_again(&self, node: NodeId, out: &mut Vec<NodeOut>) {
        for (p, s) in self.partitions.iter().enumerate() {
            if s.replicas.contains(&node) {
                let msg = s.word(p as PartitionIdx);
                out.push(NodeOut::ToBroker { to: node, msg });
            }
        }
    }

    /// A leader's proposed ISR: approved (and the approval sent back)
    /// when it comes from the current leader at the current epoch, as
    /// ZooKeeper's conditional write and KIP-497's `AlterPartition` do;
    /// a stale leader's proposal is ignored. A fenced broker is never
    /// let back in.
    pub fn alter_isr(&mut self, from: NodeId, msg: AlterIsr, out: &mut Vec<NodeOut>) {
        let fenced = self.fenced;
        let Some(s) = self.partitions.get_mut(usize::from(msg.partition)) else {
            return;
        };
        if s.leader != Some(from) || s.epoch != msg.epoch || msg.isr.0 & fenced.0 != 0 {
            return;
        }
        s.isr = msg.isr;
        let word = s.word(msg.partition);
        out.push(NodeOut::ToBroker {
            to: from,
            msg: word,
        });
    }

    /// Elects a leader for `partition` (see the module doc) at the next
    /// epoch and tells every live replica.
    fn elect(&mut self, partition: PartitionIdx, out: &mut Vec<NodeOut>) {
        let fenced = self.fenced;
        let s = &mut self.partitions[usize::from(partition)];
        let alive = |n: &&NodeId| !fenced.has(**n);
        let clean = s.replicas.iter().filter(alive).find(|n| s.isr.has(**n));
        let (leader, unclean) = match clean {
            Some(n) => (Some(*n), false),
            None if self.spec.unclean_leader_election_enable => {
                (s.replicas.iter().find(alive).copied(), true)
            }
            None => (None, false),
        };
        let live_isr = NodeSet(s.isr.0 & !fenced.0);
        s.isr = match leader {
            Some(n) if unclean => NodeSet::of(n),
            Some(_) => live_isr,
            None => s.isr, // kept: its members may lead cleanly on return
        };
        s.leader = leader;
        s.epoch += 1;
        out.push(NodeOut::Note(ClusterNote::Elected {
            partition,
            leader,
            epoch: s.epoch,
            isr: s.isr,
            unclean: unclean && leader.is_some(),
        }));
        send_all(s, partition, fenced, out);
    }
}

/// The controller's word about `partition` to every replica it has not
/// fenced.
fn send_all(s: &PartitionState, partition: PartitionIdx, fenced: NodeSet, out: &mut Vec<NodeOut>) {
    for &to in s.replicas.iter().filter(|n| !fenced.has(**n)) {
        let msg = s.word(partition);
        out.push(NodeOut::ToBroker { to, msg });
    }
}
