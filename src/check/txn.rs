//! The transactional checker: Jepsen's G1a (aborted read) and
//! precommitted-read, judged from what was written, decided and read.
//!
//! A transactional record belongs to the transaction its producer had open
//! in that partition: the one closed by the producer's first marker at a
//! higher offset. Then, for every read of such a record:
//!
//! - the closing marker is an **abort** → **G1a**: the reader saw a value
//!   that, as far as the system is concerned, was never written;
//! - there is no closing marker yet, or it was written *after* the read →
//!   **precommitted-read**: the reader saw the value before its transaction
//!   committed (it might still have aborted).
//!
//! Each finding carries its ids, offsets and times, and its `Display` tells
//! the cause chain in one line.

use crate::broker::log::{PartitionId, TopicId};
use crate::broker::txn::TxnNote;
use crate::broker::{ClientId, MsgId};
use std::fmt;

/// A transactional record landed at `offset` (from the broker's append).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnWrite {
    /// The message written.
    pub msg: MsgId,
    /// The transactional producer that wrote it.
    pub producer_id: u64,
    /// Where it landed: topic...
    pub topic: TopicId,
    /// ...partition...
    pub partition: PartitionId,
    /// ...and offset.
    pub offset: u64,
    /// When the producer learned it landed.
    pub time_ms: u64,
}

/// A commit or abort marker took up `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnMarker {
    /// The producer whose transaction it closes.
    pub producer_id: u64,
    /// Where it sits: topic...
    pub topic: TopicId,
    /// ...partition...
    pub partition: PartitionId,
    /// ...and offset.
    pub offset: u64,
    /// Commit (true) or abort.
    pub commit: bool,
    /// When the broker wrote it.
    pub time_ms: u64,
}

impl TxnMarker {
    /// The marker a coordinator note tells of, if it tells of one.
    pub fn from_note(note: TxnNote, time_ms: u64) -> Option<TxnMarker> {
        match note {
            TxnNote::Marker {
                producer_id,
                topic,
                partition,
                offset,
                commit,
            } => Some(TxnMarker {
                producer_id,
                topic,
                partition,
                offset,
                commit,
                time_ms,
            }),
            // State changes, fencing and timeouts take no offset: only a
            // marker decides what a transactional record's readers saw.
            TxnNote::State { .. } | TxnNote::Fenced { .. } | TxnNote::TimedOut { .. } => None,
        }
    }
}

/// A consumer received the record at `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnRead {
    /// The consumer that read it.
    pub reader: ClientId,
    /// The message it read.
    pub msg: MsgId,
    /// Where the record sits: topic...
    pub topic: TopicId,
    /// ...partition...
    pub partition: PartitionId,
    /// ...and offset.
    pub offset: u64,
    /// When the poll returned it.
    pub time_ms: u64,
}

/// A read the transactional checker objects to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnFinding {
    /// G1a: a value of an aborted transaction was read.
    AbortedRead {
        /// The read.
        read: TxnRead,
        /// The producer that wrote the record.
        producer_id: u64,
        /// The marker that aborted its transaction.
        abort: TxnMarker,
    },
    /// A value was read before its transaction committed.
    PrecommittedRead {
        /// The read.
        read: TxnRead,
        /// The producer that wrote the record.
        producer_id: u64,
        /// The commit marker written after the read; `None` if the
        /// transaction never ended.
        commit: Option<TxnMarker>,
    },
}

impl fmt::Display for TxnFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxnFinding::AbortedRead {
                read,
                producer_id,
                abort,
            } => write!(
                f,
                "G1a: c{} read m{} at p{}@{} (t={} ms), written by producer {} in a \
                 transaction aborted by the marker at offset {} (t={} ms)",
                read.reader,
                read.msg,
                read.partition,
                read.offset,
                read.time_ms,
                producer_id,
                abort.offset,
                abort.time_ms
            ),
            TxnFinding::PrecommittedRead {
                read,
                producer_id,
                commit,
            } => {
                write!(
                    f,
                    "precommitted-read: c{} read m{} at p{}@{} (t={} ms) from producer {}'s \
                     open transaction, ",
                    read.reader, read.msg, read.partition, read.offset, read.time_ms, producer_id
                )?;
                match commit {
                    Some(m) => write!(
                        f,
                        "committed only later at offset {} (t={} ms)",
                        m.offset, m.time_ms
                    ),
                    None => write!(f, "which never ended"),
                }
            }
        }
    }
}

/// The finding, if any, about `read` of `write`, given the first marker of
/// `write`'s producer after it in that partition (`closing`).
pub fn judge(read: &TxnRead, write: &TxnWrite, closing: Option<&TxnMarker>) -> Option<TxnFinding> {
    let producer_id = write.producer_id;
    match closing {
        Some(m) if !m.commit => Some(TxnFinding::AbortedRead {
            read: *read,
            producer_id,
            abort: *m,
        }),
        Some(m) if m.time_ms <= read.time_ms => None,
        commit => Some(TxnFinding::PrecommittedRead {
            read: *read,
            producer_id,
            commit: commit.copied(),
        }),
    }
}

/// Every G1a and precommitted-read in a run. Cost: reads × markers of the
/// read partition (fine for the playground's runs).
pub fn check(writes: &[TxnWrite], markers: &[TxnMarker], reads: &[TxnRead]) -> Vec<TxnFinding> {
    let mut findings = Vec::new();
    for read in reads {
        let at = |w: &&TxnWrite| {
            (w.topic, w.partition, w.offset) == (read.topic, read.partition, read.offset)
        };
        let Some(write) = writes.iter().find(at) else {
            continue; // not a transactional record
        };
        assert_eq!(write.msg, read.msg, "one offset holds one value");
        let closing = markers
            .iter()
            .filter(|m| (m.topic, m.partition) == (read.topic, read.partition))
            .filter(|m| m.producer_id == write.producer_id && m.offset > write.offset)
            .min_by_key(|m| m.offset);
        findings.extend(judge(read, write, closing));
    }
    findings
}
