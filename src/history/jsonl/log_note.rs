//! The log broker's notes ([`LogNote`]) as JSON lines, one small function
//! per family: records in a partition, idempotence, storage faults,
//! recovery, group membership, offsets, and the transaction coordinator.

use super::{msg_name, Line, Names};
use crate::broker::log::{partitions_of, LogNote, PartitionId, TopicId};
use crate::broker::txn::TxnNote;
use crate::history::names::stream_name;

/// One log-broker note, by family.
pub(super) fn describe_log_note<'a>(note: LogNote, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    match note {
        LogNote::Appended { .. }
        | LogNote::Durable { .. }
        | LogNote::RetentionDeleted { .. }
        | LogNote::LostInCrash { .. }
        | LogNote::Recovered { .. } => records(note, names, ev),
        LogNote::DuplicateSequence { .. } | LogNote::SequenceRejected { .. } => {
            idempotence(note, names, ev)
        }
        LogNote::TornWrite { .. } | LogNote::Truncated { .. } | LogNote::WritesStopped { .. } => {
            storage(note, names, ev)
        }
        LogNote::RecoveredOffset { .. }
        | LogNote::ProducerStateFromLog { .. }
        | LogNote::RecoveredProducer { .. }
        | LogNote::AckedBefore { .. }
        | LogNote::Carried { .. } => recovery(note, names, ev),
        LogNote::Assigned { .. } | LogNote::SessionExpired { .. } => membership(note, names, ev),
        LogNote::Committed { .. }
        | LogNote::CommitRejected { .. }
        | LogNote::UnstableOffsetCommit { .. }
        | LogNote::Position { .. } => offsets(note, names, ev),
        LogNote::Txn(n) => txn(n, names, ev),
    }
}

/// A range of records `[from, to)` of one partition (`from` may be absent).
fn range<'a>(
    f: &'static str,
    (topic, partition): (TopicId, PartitionId),
    from: Option<u64>,
    to: u64,
    names: &'a Names,
    ev: Line<'a>,
) -> Line<'a> {
    Line {
        f,
        topic: Some(names.topic(topic)),
        partition: Some(partition),
        offset: from,
        to_offset: Some(to),
        ..ev
    }
}

/// Records coming and going: appended, durable, deleted by retention,
/// lost in a crash, what recovery kept.
fn records<'a>(note: LogNote, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    match note {
        LogNote::Appended {
            msg,
            topic,
            partition,
            offset,
        } => Line {
            f: "append",
            msg: Some(msg_name(msg)),
            topic: Some(names.topic(topic)),
            partition: Some(partition),
            offset: Some(offset),
            ..ev
        },
        LogNote::Durable {
            topic,
            partition,
            to,
        } => range("durable", (topic, partition), None, to, names, ev),
        LogNote::RetentionDeleted {
            topic,
            partition,
            from,
            to,
        } => range(
            "retention_delete",
            (topic, partition),
            Some(from),
            to,
            names,
            ev,
        ),
        LogNote::LostInCrash {
            topic,
            partition,
            from,
            to,
        } => range(
            "lost_in_crash",
            (topic, partition),
            Some(from),
            to,
            names,
            ev,
        ),
        LogNote::Recovered {
            topic,
            partition,
            to,
        } => range("recovered", (topic, partition), None, to, names, ev),
        other => unreachable_shown!(other, "is not about records"),
    }
}

/// `enable.idempotence`: a duplicate the broker recognised, a sequence it refused.
fn idempotence<'a>(note: LogNote, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    match note {
        LogNote::DuplicateSequence {
            msg,
            topic,
            partition,
            offset,
        } => Line {
            f: "duplicate_sequence",
            msg: Some(msg_name(msg)),
            topic: Some(names.topic(topic)),
            partition: Some(partition),
            offset: Some(offset),
            reason: Some("enable.idempotence: already appended"),
            ..ev
        },
        LogNote::SequenceRejected {
            msg,
            topic,
            partition,
            sequence,
            ..
        } => Line {
            f: "sequence_rejected",
            msg: Some(msg_name(msg)),
            topic: Some(names.topic(topic)),
            partition: Some(partition),
            attempt: Some(sequence),
            reason: Some("OutOfOrderSequenceException"),
            ..ev
        },
        other => unreachable_shown!(other, "is not about idempotence"),
    }
}

/// The disk: a torn write, recovery's truncation, writes stopped.
fn storage<'a>(note: LogNote, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    match note {
        LogNote::TornWrite {
            stream,
            kept_bytes,
            batch_len,
        } => Line {
            f: "torn_write",
            stream: Some(stream_name(stream, names)),
            tag: Some(format!("kept {kept_bytes} of {batch_len} bytes")),
            ..ev
        },
        LogNote::Truncated {
            stream,
            batch_index,
            offset,
            cause,
            dropped_batches,
            dropped_bytes,
        } => Line {
            f: "truncated",
            stream: Some(stream_name(stream, names)),
            batch: Some(batch_index),
            offset: Some(offset),
            reason: Some(cause.name()),
            dropped_batches: Some(dropped_batches),
            dropped_bytes: Some(dropped_bytes),
            ..ev
        },
        LogNote::WritesStopped { quota } => Line {
            f: "writes_stopped",
            reason: Some(if quota {
                "the disk is full (QuotaExceededError)"
            } else {
                "the store refused the write (taken over or closed)"
            }),
            ..ev
        },
        other => unreachable_shown!(other, "is not about storage"),
    }
}

/// What recovery read back: committed offsets, producer state, records
/// carried over from an earlier visit.
fn recovery<'a>(note: LogNote, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    match note {
        LogNote::RecoveredOffset {
            group,
            partition,
            offset,
        } => Line {
            f: "recovered_offset",
            group: Some(names.group(group)),
            partition: Some(partition),
            offset: Some(offset),
            ..ev
        },
        LogNote::ProducerStateFromLog {
            topic,
            partition,
            from,
            to,
            replayed,
            forgot,
        } => Line {
            tag: Some(format!("replayed {replayed}, forgot {forgot}")),
            ..range(
                "producer_state_from_log",
                (topic, partition),
                Some(from),
                to,
                names,
                ev,
            )
        },
        LogNote::RecoveredProducer {
            producer_id,
            epoch,
            partitions,
        } => Line {
            f: "recovered_producer",
            tag: Some(format!("pid {producer_id} epoch {epoch}")),
            count: Some(u64::from(partitions)),
            ..ev
        },
        // `offset..to_offset` is what did not come back (empty if nothing).
        LogNote::AckedBefore {
            topic,
            partition,
            acked_end,
            recovered_end,
        } => Line {
            tag: Some(format!(
                "acknowledged below {acked_end}, recovered below {recovered_end}"
            )),
            ..range(
                "acked_before",
                (topic, partition),
                Some(recovered_end),
                acked_end,
                names,
                ev,
            )
        },
        LogNote::Carried { .. } => carried(note, names, ev),
        other => unreachable_shown!(other, "is not about recovery"),
    }
}

/// `carried`: a record of the stored log that an earlier visit wrote.
fn carried<'a>(note: LogNote, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    let LogNote::Carried {
        msg,
        producer,
        key,
        topic,
        partition,
        offset,
        carried,
    } = note
    else {
        unreachable_shown!(note, "is not a carried record");
    };
    Line {
        f: "carried",
        msg: Some(msg_name(msg)),
        // A resumed setup may lack a client or key of the earlier visit.
        producer: Some(
            names
                .clients
                .get(producer as usize)
                .map_or("?", String::as_str),
        ),
        key: key
            .and_then(|k| names.keys.get(k as usize))
            .map(String::as_str),
        topic: Some(names.topic(topic)),
        partition: Some(partition),
        offset: Some(offset),
        what: Some(carried.name()),
        ..ev
    }
}

/// Group membership: an assignment (or none: `idle`), an expired session.
fn membership<'a>(note: LogNote, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    match note {
        LogNote::Assigned {
            group,
            generation,
            member,
            partitions,
        } => Line {
            f: if partitions == 0 { "idle" } else { "assign" },
            group: Some(names.group(group)),
            generation: Some(generation),
            consumer: Some(names.client(member)),
            partitions: Some(partitions_of(partitions).collect()),
            ..ev
        },
        LogNote::SessionExpired { group, member } => Line {
            f: "session_expired",
            group: Some(names.group(group)),
            consumer: Some(names.client(member)),
            reason: Some("session.timeout.ms"),
            ..ev
        },
        other => unreachable_shown!(other, "is not about membership"),
    }
}

/// Committed offsets and fetch positions.
fn offsets<'a>(note: LogNote, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    match note {
        LogNote::Committed {
            group,
            partition,
            offset,
        } => Line {
            f: "committed",
            group: Some(names.group(group)),
            partition: Some(partition),
            offset: Some(offset),
            ..ev
        },
        LogNote::CommitRejected {
            group,
            member,
            partition,
            offset,
            error,
        } => Line {
            f: "commit_rejected",
            group: Some(names.group(group)),
            consumer: Some(names.client(member)),
            partition: Some(partition),
            offset: Some(offset),
            reason: Some(error.name()),
            ..ev
        },
        LogNote::UnstableOffsetCommit {
            group,
            member,
            partition,
        } => Line {
            f: "unstable_offset_commit",
            group: Some(names.group(group)),
            consumer: Some(names.client(member)),
            partition: Some(partition),
            reason: Some("UNSTABLE_OFFSET_COMMIT: a transaction with offsets here is open"),
            ..ev
        },
        LogNote::Position {
            group,
            member,
            partition,
            offset,
        } => Line {
            f: "position",
            group: Some(names.group(group)),
            consumer: Some(names.client(member)),
            partition: Some(partition),
            offset: Some(offset),
            ..ev
        },
        other => unreachable_shown!(other, "is not about offsets"),
    }
}

/// The transaction coordinator's notes: `txn_state` (with Kafka's state name),
/// `txn_fenced`, `txn_timeout`, `txn_marker` (the offset a marker took).
fn txn<'a>(note: TxnNote, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    let pid = |producer_id: u64, epoch: u16| Some(format!("pid {producer_id} epoch {epoch}"));
    match note {
        TxnNote::State {
            txn,
            producer_id,
            epoch,
            state,
        } => Line {
            f: "txn_state",
            what: Some(state.name()),
            tag: pid(producer_id, epoch),
            generation: Some(u32::from(txn)),
            ..ev
        },
        TxnNote::Fenced {
            txn,
            producer_id,
            epoch,
        } => Line {
            f: "txn_fenced",
            reason: Some("ProducerFenced"),
            tag: pid(producer_id, epoch),
            generation: Some(u32::from(txn)),
            ..ev
        },
        TxnNote::TimedOut { txn } => Line {
            f: "txn_timeout",
            reason: Some("transaction.timeout.ms"),
            generation: Some(u32::from(txn)),
            ..ev
        },
        TxnNote::Marker {
            producer_id,
            topic,
            partition,
            offset,
            commit,
        } => Line {
            f: "txn_marker",
            what: Some(if commit { "commit" } else { "abort" }),
            tag: Some(format!("pid {producer_id}")),
            topic: Some(names.topic(topic)),
            partition: Some(partition),
            offset: Some(offset),
            ..ev
        },
    }
}
