//! A cluster that comes back from its brokers' disks (issue 13: each
//! broker node keeps its own log, so a reload resumes the whole cluster).
//!
//! Each broker's disk is a [`Storage`] of its own: the page's IndexedDB
//! store, or the memory store natively. The replica of a partition that
//! a broker hosts is that partition's stream there
//! (`StreamId::Partition { topic, partition }`), one storage record per
//! cluster record: its offset, its idempotent producer id, and as value
//! the leader epoch, the message, the producer's sequence and what the
//! record is ([`VALUE_BYTES`] bytes, little-endian); a transactional
//! record or a marker adds its producer epoch ([`TXN_VALUE_BYTES`]).
//!
//! - [`StoredCluster::of_run`]: what every broker's disk holds now, the
//!   records below each replica's `durable_end` (what a crash of every
//!   broker at once would leave).
//! - [`StoredCluster::write_node`] and [`StoredCluster::read_node`]: one
//!   broker's part, to and from its store (read from what recovery
//!   kept, so a torn or damaged batch is already cut).
//! - [`ClusterRun::resume`]: a run of a scenario on a stored cluster, as
//!   a cluster restarting after every broker went down: each replica
//!   starts with its stored records, all on disk; the controller elects
//!   each partition's leader by the newest stored log (see
//!   [`Controller::resumed`]); message and producer ids start above
//!   every stored one, so nothing new is taken for a duplicate of an
//!   earlier visit's record.
//!
//! Stored data that does not fit the scenario (a broker or partition it
//! does not have, a replica it places elsewhere, offsets with a hole) is
//! refused with the stored item named (`stored.b3.events-1`); nothing
//! panics.

use super::{clients, ClusterRun};
#[cfg(not(target_arch = "wasm32"))]
use crate::broker::cluster::TxnCoordinator;
use crate::broker::cluster::{Controller, Epoch, Idem, PartitionIdx, Record, RecordKind};
use crate::config::{BrokerSpec, Scenario, ScenarioError};
use crate::node::NodeId;
use crate::storage::{BatchEncoder, FlushTicket, Recovery, Storage, StorageError, StreamId};
#[cfg(not(target_arch = "wasm32"))]
use std::collections::BTreeMap;

/// Bytes of one stored record's value: epoch (4), message (8),
/// idempotent sequence (4), and its kind (1): 0 plain, 1 idempotent,
/// 2 transactional, 3 commit marker, 4 abort marker.
pub const VALUE_BYTES: usize = 17;
/// Bytes of a transactional record's or a marker's value: the above and
/// the producer epoch (2).
pub const TXN_VALUE_BYTES: usize = VALUE_BYTES + 2;
/// Records one stored batch holds at most (a replica's image is split
/// into batches of this many).
const BATCH_RECORDS: usize = 500;

/// One replica's stored log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredReplica {
    /// The broker whose disk holds it.
    pub node: NodeId,
    /// Its partition.
    pub partition: PartitionIdx,
    /// Its records, from offset 0, dense.
    pub records: Vec<Record>,
}

/// Every broker's stored logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredCluster {
    /// One entry per (broker, partition) with something stored.
    pub replicas: Vec<StoredReplica>,
}

/// The scenario's partitions, by [`PartitionIdx`]: (topic index,
/// partition in the topic, its name `events-1`).
pub(super) fn layout(scenario: &Scenario) -> Vec<(u16, u16, String)> {
    let BrokerSpec::Log(log) = &scenario.broker else {
        return Vec::new();
    };
    let topics = log.topics.iter().enumerate();
    let each = topics.flat_map(|(t, spec)| {
        (0..spec.partitions).map(move |p| (t as u16, p as u16, format!("{}-{p}", spec.name)))
    });
    each.collect()
}

/// A refusal naming the stored item.
fn refused(node: NodeId, what: &str, reason: String) -> ScenarioError {
    ScenarioError {
        path: format!("stored.{node}.{what}"),
        reason,
    }
}

impl StoredCluster {
    /// What every broker's disk holds now: each replica's records below
    /// its `durable_end`.
    pub fn of_run(run: &ClusterRun) -> StoredCluster {
        let mut replicas = Vec::new();
        for (node, view) in run.nodes.iter().zip(run.views()) {
            for r in view.replicas.iter().filter(|r| r.durable_end > 0) {
                let records = node.records(r.partition).unwrap_or_default();
                let end = usize::try_from(r.durable_end).expect("in memory");
                replicas.push(StoredReplica {
                    node: view.node,
                    partition: r.partition,
                    records: records[..end].to_vec(),
                });
            }
        }
        StoredCluster { replicas }
    }

    /// Appends broker `node`'s part to its (empty) store and starts one
    /// flush of it; the caller asks the store when it is durable.
    pub fn write_node(
        &self,
        scenario: &Scenario,
        node: NodeId,
        store: &mut impl Storage,
        now_ms: u64,
    ) -> Result<FlushTicket, StorageError> {
        let layout = layout(scenario);
        for r in self.replicas.iter().filter(|r| r.node == node) {
            let (topic, partition, _) = &layout[usize::from(r.partition)];
            let stream = StreamId::Partition {
                topic: *topic,
                partition: *partition,
            };
            append_records(store, stream, &r.records)?;
        }
        store.begin_flush(now_ms)
    }

    /// Broker `node`'s part, read from what recovery kept of its store.
    /// A stream the scenario has no partition for, or a record that is
    /// not a cluster record, is refused by name.
    pub fn read_node(
        scenario: &Scenario,
        node: NodeId,
        recovery: &Recovery,
    ) -> Result<Vec<StoredReplica>, ScenarioError> {
        let layout = layout(scenario);
        let mut replicas = Vec::new();
        for (stream, batches) in &recovery.streams {
            let StreamId::Partition { topic, partition } = *stream else {
                let why = "a cluster broker stores only partition logs".to_string();
                return Err(refused(node, &stream.to_string(), why));
            };
            let found = layout.iter().position(|l| (l.0, l.1) == (topic, partition));
            let Some(index) = found else {
                let why = "this cluster has no such partition".to_string();
                return Err(refused(node, &stream.to_string(), why));
            };
            let name = &layout[index].2;
            let mut records = Vec::new();
            for rec in batches.iter().flat_map(|b| &b.records) {
                let decoded = decode(rec.offset, rec.producer_id, &rec.value);
                records.push(decoded.ok_or_else(|| {
                    let why = format!(
                        "the record at offset {} ({} bytes) is not a cluster record of {VALUE_BYTES} or {TXN_VALUE_BYTES} bytes",
                        rec.offset,
                        rec.value.len()
                    );
                    refused(node, name, why)
                })?);
            }
            replicas.push(StoredReplica {
                node,
                partition: index as PartitionIdx,
                records,
            });
        }
        Ok(replicas)
    }
}

/// Appends `records` to `stream`, in batches of [`BATCH_RECORDS`].
pub fn append_records(
    store: &mut (impl Storage + ?Sized),
    stream: StreamId,
    records: &[Record],
) -> Result<(), StorageError> {
    for chunk in records.chunks(BATCH_RECORDS) {
        let mut batch = BatchEncoder::with_capacity(chunk[0].offset, chunk.len() * 48);
        for r in chunk {
            let pid = r.idem.map_or(0, |i| i.producer_id);
            batch.push(0, pid, None, &encode(r));
        }
        store.append_encoded(stream, batch.finish().map_err(StorageError::Encode)?)?;
    }
    Ok(())
}

/// A cluster record's stored value.
fn encode(r: &Record) -> Vec<u8> {
    let mut v = vec![0u8; VALUE_BYTES];
    v[0..4].copy_from_slice(&r.epoch.to_le_bytes());
    v[4..12].copy_from_slice(&r.msg.to_le_bytes());
    if let Some(idem) = r.idem {
        v[12..16].copy_from_slice(&idem.sequence.to_le_bytes());
        v[16] = 1;
    }
    let kind = match r.kind {
        RecordKind::Data => return v,
        RecordKind::Txn => 2,
        RecordKind::Commit => 3,
        RecordKind::Abort => 4,
    };
    v[16] = kind;
    let epoch = r.idem.map_or(0, |i| i.producer_epoch);
    v.extend_from_slice(&epoch.to_le_bytes());
    v
}

/// The record a stored value holds, or `None` when it is not one.
fn decode(offset: u64, producer_id: u64, value: &[u8]) -> Option<Record> {
    let (v, epoch) = match value.len() {
        VALUE_BYTES => (value, 0),
        TXN_VALUE_BYTES => {
            let (v, e) = value.split_at(VALUE_BYTES);
            (v, u16::from_le_bytes(e.try_into().expect("2 bytes")))
        }
        _ => return None,
    };
    let word = |at: usize| u32::from_le_bytes(v[at..at + 4].try_into().expect("4 bytes"));
    let kind = match (v[16], value.len()) {
        (0 | 1, VALUE_BYTES) => RecordKind::Data,
        (2, TXN_VALUE_BYTES) => RecordKind::Txn,
        (3, TXN_VALUE_BYTES) => RecordKind::Commit,
        (4, TXN_VALUE_BYTES) => RecordKind::Abort,
        _ => return None,
    };
    let idem = (v[16] != 0).then(|| Idem {
        producer_id,
        producer_epoch: epoch,
        sequence: word(12),
    });
    Some(Record {
        offset,
        epoch: word(0),
        msg: u64::from_le_bytes(v[4..12].try_into().expect("8 bytes")),
        idem,
        kind,
    })
}

impl ClusterRun {
    /// A run of `scenario` on a stored cluster (see the module): every
    /// stored replica must be one the scenario places, with dense
    /// offsets from 0 and epochs that never go back; anything else is
    /// refused with the stored item named.
    pub fn resume(
        scenario: &Scenario,
        stored: &StoredCluster,
    ) -> Result<ClusterRun, ScenarioError> {
        let mut run = ClusterRun::build(scenario)?;
        let layout = layout(scenario);
        let mut tails = vec![Vec::new(); layout.len()];
        for r in &stored.replicas {
            check_replica(&run, &layout, r)?;
            run.nodes[usize::from(r.node.0) - 1].restore(r.partition, &r.records);
            let last = r.records.last();
            let tail = (r.node, last.map(|l| l.epoch), r.records.len() as u64);
            tails[usize::from(r.partition)].push(tail);
        }
        run.controller = Controller::resumed(&run.spec, &tails);
        let records = stored.replicas.iter().flat_map(|r| &r.records);
        let msg_max = records.clone().map(|r| r.msg).max().unwrap_or(0);
        run.next_msg = run.next_msg.max(msg_max + 1);
        let pid_max = records.filter_map(|r| r.idem).map(|i| i.producer_id).max();
        let past = pid_max.map_or(0, clients::past_producer_ids);
        for p in run.producers.iter_mut().flatten() {
            p.producer_id += past;
        }
        #[cfg(not(target_arch = "wasm32"))]
        run.recover_transactions(stored, past);
        run.start();
        #[cfg(not(target_arch = "wasm32"))]
        run.marker_retry_due(); // the recovered transactions' markers
        Ok(run)
    }

    /// The coordinator of a resumed run: its producer ids move up past
    /// every stored one, and it has the markers to write of each
    /// transaction the stored logs left open.
    #[cfg(not(target_arch = "wasm32"))]
    fn recover_transactions(&mut self, stored: &StoredCluster, past: u64) {
        self.coordinator = TxnCoordinator::new(super::txn::FIRST_PRODUCER_ID + past);
        for (txn, (commit, partitions)) in open_transactions(stored) {
            self.coordinator.recover(txn, commit, partitions);
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// Transactions some stored replica holds records of but no marker for:
/// (producer id, producer epoch) → (commit, as a marker of it stored
/// anywhere says, else abort; the partitions lacking a marker).
fn open_transactions(stored: &StoredCluster) -> BTreeMap<(u64, u16), (bool, Vec<PartitionIdx>)> {
    let key = |r: &Record| r.idem.map(|i| (i.producer_id, i.producer_epoch));
    let records = stored.replicas.iter().flat_map(|s| &s.records);
    let markers = records.filter(|r| r.kind.is_marker());
    let decided: BTreeMap<(u64, u16), bool> = markers
        .filter_map(|r| Some((key(r)?, r.kind == RecordKind::Commit)))
        .collect();
    let mut open: BTreeMap<(u64, u16), (bool, Vec<PartitionIdx>)> = BTreeMap::new();
    for s in &stored.replicas {
        let closed = |k| {
            s.records
                .iter()
                .any(|r| r.kind.is_marker() && key(r) == Some(k))
        };
        for r in s.records.iter().filter(|r| r.kind == RecordKind::Txn) {
            let Some(k) = key(r).filter(|k| !closed(*k)) else {
                continue;
            };
            let commit = decided.get(&k).copied().unwrap_or(false);
            let e = open.entry(k).or_insert((commit, Vec::new()));
            if !e.1.contains(&s.partition) {
                e.1.push(s.partition);
            }
        }
    }
    open
}

/// Refuses a stored replica the run cannot take, naming it.
fn check_replica(
    run: &ClusterRun,
    layout: &[(u16, u16, String)],
    r: &StoredReplica,
) -> Result<(), ScenarioError> {
    let brokers = run.nodes.len();
    if r.node.0 == 0 || usize::from(r.node.0) > brokers {
        let why = format!(
            "a log of broker {} is stored, but this cluster has b1..b{brokers}",
            r.node
        );
        return Err(ScenarioError {
            path: format!("stored.{}", r.node),
            reason: why,
        });
    }
    let Some((_, _, name)) = layout.get(usize::from(r.partition)) else {
        let why = format!(
            "partition {} is stored, but this cluster has {}",
            r.partition,
            layout.len()
        );
        return Err(refused(r.node, &r.partition.to_string(), why));
    };
    if run.nodes[usize::from(r.node.0) - 1]
        .records(r.partition)
        .is_some()
    {
        let why = "it is stored twice".to_string();
        return Err(refused(r.node, name, why));
    }
    let placed = &run.controller.partitions()[usize::from(r.partition)].replicas;
    if !placed.contains(&r.node) {
        let names: Vec<&str> = placed.iter().map(|n| n.name()).collect();
        let why = format!(
            "{} keeps a replica of {name}, but this cluster places {name} on {}",
            r.node,
            names.join(" ")
        );
        return Err(refused(r.node, name, why));
    }
    let mut epoch: Epoch = 0;
    for (i, rec) in r.records.iter().enumerate() {
        if rec.offset != i as u64 {
            let why = format!(
                "the record at index {i} has offset {}: the log has a hole",
                rec.offset
            );
            return Err(refused(r.node, name, why));
        }
        if rec.epoch < epoch {
            let why = format!(
                "the leader epoch goes back from {epoch} to {} at offset {i}",
                rec.epoch
            );
            return Err(refused(r.node, name, why));
        }
        epoch = rec.epoch;
    }
    Ok(())
}
