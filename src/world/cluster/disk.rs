//! Each broker's disk as a real store: in the page, an IndexedDB database
//! per broker (issue 13: each broker node keeps its own log, so a reload
//! resumes the whole cluster).
//!
//! The replicas model their disk themselves: a replica starts an `fsync`
//! per `flush.messages` / `flush.ms` and counts it done `fsync_latency_ms`
//! later. With stores attached ([`ClusterRun::attach_disks`]) the harness
//! makes each store follow its broker's replicas, after every handler of
//! that broker:
//!
//! - a replica's `fsync` becomes one group commit of its broker's store,
//!   holding the records it covers (one stream per partition, the layout
//!   of [`super::stored`]), begun at the same virtual time with the same
//!   latency;
//! - a follower's truncation, and what a crash took from a replica, is cut
//!   from its stream (`Storage::truncate`), so a reload never brings back
//!   a record the replica had removed;
//! - a broker's crash is its store's crash and recovery.
//!
//! The run never passes a flush's completion time before the store says
//! it is durable: as the single broker's world does, it stops and says
//! which flush it waits for ([`ClusterRun::disk_wait`]); the page awaits
//! the IndexedDB transaction and runs on. So a replica counts records on
//! disk only once its store's transaction completed, and with
//! `flush.messages=1` no `acks=all` answer goes out before that. The
//! memory store is never late, so a run with memory stores is the same
//! run, event for event, as one without.
//!
//! When the run ends every broker shuts down cleanly and writes its whole
//! log (Kafka flushes every log on a controlled shutdown); the run counts
//! as drained once those flushes are durable. A store that fails (quota,
//! another tab) stops taking that broker's writes; the run goes on and
//! [`ClusterRun::disk_failures`] says why.

use super::stored::{append_records, layout};
use super::ClusterRun;
use crate::broker::cluster::{BrokerNode, PartitionIdx};
use crate::node::NodeId;
use crate::storage::{FlushId, FlushState, FlushTicket, Storage, StorageError, StreamId, Tear};
use std::collections::VecDeque;

/// One broker's store and what it holds.
struct Disk {
    /// The store (IndexedDB in the page, the memory store in tests).
    store: Box<dyn Storage>,
    /// Per partition index: where its stream ends in the store (durable or
    /// being written), so the next write starts there.
    written: Vec<u64>,
    /// Flushes begun and not yet seen durable, oldest first. Bound: one
    /// per handler of the broker within `fsync_latency_ms`.
    tickets: VecDeque<FlushTicket>,
    /// Why the store stopped taking this broker's writes, if it did.
    failed: Option<String>,
}

/// The brokers' stores, when a run has them.
#[derive(Default)]
pub(super) struct Disks {
    /// `each[i]` is `b{i+1}`'s; empty when the run keeps nothing.
    each: Vec<Disk>,
    /// Each partition's stream, by partition index.
    streams: Vec<StreamId>,
    /// The flush the run stopped for: (broker, flush).
    wait: Option<(NodeId, FlushId)>,
    /// The shutdown's flushes were begun.
    shut: bool,
}

impl Disk {
    /// Makes the store follow `node`'s replicas: cut what they cut, write
    /// and flush what they `fsync`.
    fn sync(
        &mut self,
        node: &BrokerNode,
        streams: &[StreamId],
        now_ms: u64,
        everything: bool,
    ) -> Result<(), StorageError> {
        let mut appended = false;
        for (p, records, fsync_end) in node.disk_ends() {
            let (stream, end) = (streams[usize::from(p)], records.len() as u64);
            self.cut(stream, p, end)?;
            let target = if everything { end } else { fsync_end };
            let written = &mut self.written[usize::from(p)];
            if target > *written {
                let new = &records[*written as usize..target as usize];
                append_records(&mut *self.store, stream, new)?;
                (*written, appended) = (target, true);
            }
        }
        if appended {
            self.tickets.push_back(self.store.begin_flush(now_ms)?);
        }
        Ok(())
    }

    /// Cuts partition `p`'s stream at `end` if it holds more.
    fn cut(&mut self, stream: StreamId, p: PartitionIdx, end: u64) -> Result<(), StorageError> {
        let written = &mut self.written[usize::from(p)];
        if *written > end {
            self.store.truncate(stream, end)?;
            *written = end;
        }
        Ok(())
    }

    /// Runs `f` unless the store failed; a failure stops the store.
    fn guard(&mut self, f: impl FnOnce(&mut Disk) -> Result<(), StorageError>) {
        if self.failed.is_none() {
            if let Err(e) = f(self) {
                self.failed = Some(e.to_string());
            }
        }
    }
}

impl ClusterRun {
    /// Puts each broker's log on a store of its own: `stores[i]` is
    /// `b{i+1}`'s, recovered and holding exactly what the run's replicas
    /// hold now (nothing for a new run, the stored logs for one that
    /// [resumed](ClusterRun::resume)). Call before the run's first event.
    pub fn attach_disks(&mut self, stores: Vec<Box<dyn Storage>>) {
        assert_eq!(stores.len(), self.nodes.len(), "one store per broker");
        let streams = layout(&self.scenario).into_iter();
        let streams = streams.map(|(topic, partition, _)| StreamId::Partition { topic, partition });
        self.disks.streams = streams.collect();
        let each = stores.into_iter().zip(&self.nodes).map(|(store, node)| {
            let mut written = vec![0; self.disks.streams.len()];
            for (p, records, _) in node.disk_ends() {
                written[usize::from(p)] = records.len() as u64;
            }
            Disk {
                store,
                written,
                tickets: VecDeque::new(),
                failed: None,
            }
        });
        self.disks.each = each.collect();
    }

    /// After a handler of `node`: its store follows its replicas.
    pub(super) fn sync_disk(&mut self, node: NodeId) {
        let (Disks { each, streams, .. }, now_ms) = (&mut self.disks, self.now_ms);
        let i = usize::from(node.0) - 1;
        if let Some(disk) = each.get_mut(i) {
            disk.guard(|d| d.sync(&self.nodes[i], streams, now_ms, false));
        }
    }

    /// A replica of `node` removed its records from `from` on (a
    /// truncation, or a crash): its stream is cut there at once.
    pub(super) fn cut_disk(&mut self, node: NodeId, partition: PartitionIdx, from: u64) {
        let Disks { each, streams, .. } = &mut self.disks;
        if let Some(disk) = each.get_mut(usize::from(node.0) - 1) {
            let stream = streams[usize::from(partition)];
            disk.guard(|d| d.cut(stream, partition, from));
        }
    }

    /// Broker `node` crashed: its store loses what was not durable and
    /// recovers (the replicas' cuts follow in [`ClusterRun::sync_disk`]).
    pub(super) fn crash_disk(&mut self, node: NodeId) {
        let (streams, now_ms) = (&self.disks.streams, self.now_ms);
        let disk = self.disks.each.get_mut(usize::from(node.0) - 1);
        if let Some(disk) = disk.filter(|d| d.failed.is_none()) {
            disk.store.crash(now_ms, Tear::None);
            let ends = disk.store.recover().log_ends();
            for (p, stream) in streams.iter().enumerate() {
                disk.written[p] = ends.get(stream).copied().unwrap_or(0);
            }
            disk.tickets.clear();
        }
    }

    /// The first flush due by `t_ms` that its store has not made durable.
    /// A failed one stops its store.
    fn disk_due(&mut self, t_ms: u64) -> Option<(NodeId, FlushId)> {
        for (i, disk) in self.disks.each.iter_mut().enumerate() {
            while let Some(ticket) = disk.tickets.front() {
                if ticket.completes_at_ms > t_ms {
                    break;
                }
                match disk.store.flush_state(ticket.id, t_ms) {
                    FlushState::InProgress => return Some((NodeId(i as u8 + 1), ticket.id)),
                    FlushState::Durable => drop(disk.tickets.pop_front()),
                    FlushState::Failed(e) => {
                        disk.failed.get_or_insert(e.to_string());
                        disk.tickets.clear();
                    }
                }
            }
        }
        None
    }

    /// Whether the run may pass `t_ms`; if not, it notes what it waits for.
    pub(super) fn disks_allow(&mut self, t_ms: u64) -> bool {
        if self.disks.each.is_empty() {
            return true;
        }
        self.disks.wait = self.disk_due(t_ms);
        self.disks.wait.is_none()
    }

    /// The clean shutdown at the run's end: every broker writes its whole
    /// log; true once all of it is durable (then every replica counts it
    /// on disk).
    pub(super) fn shut_down_disks(&mut self) -> bool {
        if !std::mem::replace(&mut self.disks.shut, true) {
            let (Disks { each, streams, .. }, now_ms) = (&mut self.disks, self.now_ms);
            for (disk, node) in each.iter_mut().zip(&self.nodes) {
                disk.guard(|d| d.sync(node, streams, now_ms, true));
            }
        }
        let done = self.disks_allow(u64::MAX);
        if done {
            self.nodes.iter_mut().for_each(BrokerNode::shut_down);
        }
        done
    }

    /// The flush the run stopped for, if it stopped for one: (broker,
    /// flush). Await it in the store, then run on.
    pub fn disk_wait(&self) -> Option<(NodeId, FlushId)> {
        self.disks.wait
    }

    /// Brokers whose store stopped taking writes, and why.
    pub fn disk_failures(&self) -> impl Iterator<Item = (NodeId, &str)> {
        let each = self.disks.each.iter().enumerate();
        each.filter_map(|(i, d)| Some((NodeId(i as u8 + 1), d.failed.as_deref()?)))
    }
}
