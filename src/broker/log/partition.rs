//! The partition log: what one partition holds, and the topics around it.
//!
//! A partition is an append-only list of records with dense offsets
//! 0, 1, 2... Three offsets describe it, and a learner meets each of them:
//!
//! ```text
//!   start            durable_end     stored_end          end
//!     │ records on disk  │ handed to storage │ only in memory │
//!     ▼                  ▼                   ▼                ▼
//!     [ 5 ][ 6 ][ 7 ][ 8 ][ 9 ][10 ][11 ][12 ][13 ][14 ]
//! ```
//!
//! - the **log start offset** moves up when retention deletes the oldest
//!   records (see `retention`);
//! - the **log end offset** is where the next record goes;
//! - in between, the group commit (see `durability`) hands records to
//!   storage (`stored_end`) and learns when they are on disk
//!   (`durable_end`). With one broker and no replication the high watermark
//!   is the log end: a consumer may read a record before it is durable,
//!   and `acks=all` only waits for the `fsync`.
//!
//! [`Partitions`] owns every topic's partitions and is the only place
//! records are appended.

use super::notes::{note, LogNote};
use super::producers::IdempotentTag;
use super::protocol::{LogReply, PartitionId, Seek, TopicId};
use super::record::{push_record, VALUE_BYTES_MAX};
use super::txn::{PartitionTxn, TxnTag};
use crate::broker::{ClientId, Message, MsgId, Output};
use crate::config::{Acks, LogBrokerSpec};
use crate::storage::batch::{HEADER_LEN, RECORD_HEADER_LEN};
use crate::storage::{BatchEncoder, EncodeError, EncodedBatch};
use std::collections::VecDeque;

/// One record as a partition keeps it.
#[derive(Clone, Copy, Debug)]
pub(super) struct StoredRecord {
    /// Its place in the partition.
    pub(super) offset: u64,
    /// The broker's clock at the append (`LogAppendTime`): what
    /// `retention.ms` and a seek by timestamp look at.
    pub(super) timestamp_ms: u64,
    /// The message it carries.
    pub(super) msg: Message,
    /// Set on a transactional record or a commit/abort marker.
    pub(super) txn: Option<TxnTag>,
    /// Set on an idempotent producer's record: written to storage with it,
    /// so recovery can rebuild producer state from the log (see
    /// [`super::producers`]). Never set together with `txn`.
    pub(super) idem: Option<IdempotentTag>,
}

/// One partition: its records and how far they have reached the disk.
#[derive(Clone, Debug, Default)]
pub(super) struct PartitionLog {
    /// Records from the log start offset on. Bound: retention, else the
    /// producers' `count` in the scenario.
    pub(super) records: VecDeque<StoredRecord>,
    /// Offset of `records[0]` (the log start offset).
    pub(super) start: u64,
    /// Records before this offset were handed to storage (`append`).
    pub(super) stored_end: u64,
    /// Records before this offset are durable.
    pub(super) durable_end: u64,
    /// `acks=all` produce responses waiting for durability, by offset.
    /// Bound: records not yet durable.
    pub(super) waiting: VecDeque<(u64, ClientId, MsgId)>,
    /// Open and aborted transactions here: the last stable offset.
    pub(super) txn: PartitionTxn,
}

impl PartitionLog {
    /// The log end offset: where the next record goes.
    pub(super) fn end(&self) -> u64 {
        self.start + self.records.len() as u64
    }

    /// Appends `msg` at the log end, with its writer's tail (transactional
    /// or idempotent, never both); returns its offset.
    pub(super) fn push(
        &mut self,
        now_ms: u64,
        msg: Message,
        txn: Option<TxnTag>,
        idem: Option<IdempotentTag>,
    ) -> u64 {
        let offset = self.end();
        self.records.push_back(StoredRecord {
            offset,
            timestamp_ms: now_ms,
            msg,
            txn,
            idem,
        });
        if txn.is_some() {
            self.txn.on_record(offset, txn);
        }
        offset
    }

    /// The record at `offset`, if the log still holds it.
    pub(super) fn get(&self, offset: u64) -> Option<&StoredRecord> {
        let i = offset.checked_sub(self.start)?;
        self.records.get(usize::try_from(i).ok()?)
    }

    /// Where a consumer with this `isolation.level` may read up to:
    /// `read_committed` stops at the last stable offset.
    pub(super) fn visible_end(&self, read_committed: bool) -> u64 {
        if read_committed {
            self.txn.last_stable_offset(self.end())
        } else {
            self.end()
        }
    }

    /// The offset a seek moves to, kept inside the log.
    pub(super) fn seek_offset(&self, to: Seek) -> u64 {
        match to {
            Seek::Earliest => self.start,
            Seek::Latest => self.end(),
            Seek::Offset(o) => o.clamp(self.start, self.end()),
            Seek::Timestamp(t) => self
                .records
                .iter()
                .find(|r| r.timestamp_ms >= t)
                .map_or(self.end(), |r| r.offset),
        }
    }

    /// The records appended since the last flush, as one encoded batch
    /// (written record by record, see [`push_record`]).
    pub(super) fn unstored_batch(
        &self,
        key_names: &[String],
    ) -> Option<Result<EncodedBatch, EncodeError>> {
        let from = self.stored_end.max(self.start);
        if from >= self.end() {
            return None;
        }
        let count = (self.end() - from) as usize;
        let bytes_hint = HEADER_LEN + count * (RECORD_HEADER_LEN + VALUE_BYTES_MAX);
        let mut batch = BatchEncoder::with_capacity(from, bytes_hint);
        let mut value = Vec::with_capacity(VALUE_BYTES_MAX);
        for o in from..self.end() {
            push_record(
                self.get(o).expect("in range"),
                key_names,
                &mut batch,
                &mut value,
            );
        }
        Some(batch.finish())
    }

    /// Answers a produce per its `acks`: at once for `acks=1`, once durable
    /// for `acks=all` (already, or when the flush that covers it completes).
    pub(super) fn acknowledge(
        &mut self,
        (from, msg): (ClientId, MsgId),
        (partition, offset): (PartitionId, u64),
        acks: Acks,
        out: &mut Vec<Output>,
    ) {
        let reply = LogReply::ProduceAck {
            msg,
            partition,
            offset,
        };
        match acks {
            Acks::Zero => {}
            Acks::One => out.push(Output::Log { to: from, reply }),
            Acks::All if offset < self.durable_end => out.push(Output::Log { to: from, reply }),
            Acks::All => self.waiting.push_back((offset, from, msg)),
        }
    }

    /// Records before `end` are on disk: releases the `acks=all` answers
    /// they were holding back.
    pub(super) fn settle_durable(
        &mut self,
        partition: PartitionId,
        end: u64,
        out: &mut Vec<Output>,
    ) {
        assert!(end >= self.durable_end, "durability only grows");
        self.durable_end = end;
        while self.waiting.front().is_some_and(|w| w.0 < end) {
            let (offset, to, msg) = self.waiting.pop_front().expect("checked");
            let reply = LogReply::ProduceAck {
                msg,
                partition,
                offset,
            };
            out.push(Output::Log { to, reply });
        }
    }
}

/// A topic: its retention settings and its partitions.
#[derive(Clone, Debug)]
pub(super) struct Topic {
    /// The topic's name, for the UI.
    pub(super) name: String,
    /// `retention.ms`: records older than this are deleted.
    pub(super) retention_ms: Option<u64>,
    /// `retention.records`: a count stand-in for `retention.bytes`.
    pub(super) retention_records: Option<u64>,
    /// The partitions, by [`PartitionId`].
    pub(super) partitions: Vec<PartitionLog>,
}

/// Every topic's partitions: the only place records are appended.
#[derive(Clone, Debug)]
pub(super) struct Partitions {
    /// The scenario's topics, by [`TopicId`].
    pub(super) topics: Vec<Topic>,
    /// Key names, to write a record's key bytes and read them back
    /// (index = [`crate::broker::KeyId`]). Grows when a client added mid-run brings a key.
    pub(super) key_names: Vec<String>,
    /// Records appended by producers (markers not counted).
    pub(super) appended: u64,
    /// Records retention deleted.
    pub(super) retention_deleted: u64,
    /// Records a crash lost before they were durable.
    pub(super) lost_in_crash: u64,
}

impl Partitions {
    /// Empty partitions for the scenario's topics.
    pub(super) fn from_spec(spec: &LogBrokerSpec, key_names: Vec<String>) -> Partitions {
        let topics = spec
            .topics
            .iter()
            .map(|t| Topic {
                name: t.name.clone(),
                retention_ms: t.retention_ms,
                retention_records: t.retention_records,
                partitions: vec![PartitionLog::default(); t.partitions as usize],
            })
            .collect();
        Partitions {
            topics,
            key_names,
            appended: 0,
            retention_deleted: 0,
            lost_in_crash: 0,
        }
    }

    /// One partition's log. Panics on a partition the scenario lacks:
    /// requests are validated against the scenario before they get here.
    pub(super) fn log(&self, topic: TopicId, partition: PartitionId) -> &PartitionLog {
        &self.topics[topic as usize].partitions[partition as usize]
    }

    /// One partition's log, to change it.
    pub(super) fn log_mut(&mut self, topic: TopicId, partition: PartitionId) -> &mut PartitionLog {
        &mut self.topics[topic as usize].partitions[partition as usize]
    }

    /// How many partitions `topic` has.
    pub(super) fn count(&self, topic: TopicId) -> usize {
        self.topics[topic as usize].partitions.len()
    }

    /// Whether the scenario has this partition (a stored log from another
    /// setup may name more).
    pub(super) fn has(&self, topic: TopicId, partition: PartitionId) -> bool {
        let topic = self.topics.get(topic as usize);
        topic.is_some_and(|t| (partition as usize) < t.partitions.len())
    }

    /// Every partition with its ids, topic by topic.
    pub(super) fn iter(&self) -> impl Iterator<Item = (TopicId, PartitionId, &PartitionLog)> {
        self.topics.iter().enumerate().flat_map(|(t, topic)| {
            let logs = topic.partitions.iter().enumerate();
            logs.map(move |(p, log)| (t as TopicId, p as PartitionId, log))
        })
    }

    /// Every partition with its ids, to change them.
    pub(super) fn iter_mut(
        &mut self,
    ) -> impl Iterator<Item = (TopicId, PartitionId, &mut PartitionLog)> {
        self.logs_and_keys().0
    }

    /// Every partition to change, with the key names to encode its records.
    pub(super) fn logs_and_keys(
        &mut self,
    ) -> (
        impl Iterator<Item = (TopicId, PartitionId, &mut PartitionLog)>,
        &[String],
    ) {
        let logs = self.topics.iter_mut().enumerate().flat_map(|(t, topic)| {
            let logs = topic.partitions.iter_mut().enumerate();
            logs.map(move |(p, log)| (t as TopicId, p as PartitionId, log))
        });
        (logs, &self.key_names)
    }

    /// A producer's record (plain, idempotent or transactional): appended,
    /// counted and told to the history. Returns its offset. The caller
    /// answers the producer, then applies `retention.records`.
    pub(super) fn append(
        &mut self,
        now_ms: u64,
        (topic, partition): (TopicId, PartitionId),
        msg: Message,
        tail: (Option<TxnTag>, Option<IdempotentTag>),
        out: &mut Vec<Output>,
    ) -> u64 {
        let log = self.log_mut(topic, partition);
        let offset = log.push(now_ms, msg, tail.0, tail.1);
        self.appended += 1;
        out.push(note(LogNote::Appended {
            msg: msg.id,
            topic,
            partition,
            offset,
        }));
        offset
    }

    /// Every record in every log (markers included).
    pub(super) fn record_count(&self) -> u64 {
        self.iter().map(|(_, _, l)| l.records.len() as u64).sum()
    }
}
