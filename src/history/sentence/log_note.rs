//! The log broker's notes ([`LogNote`]) as sentences, one small function per
//! family, and the transaction coordinator's notes.

use super::log::partition_list;
use super::{msg_name, Names};
use crate::broker::log::{Carried, LogNote, PartitionId, TopicId};
use crate::broker::txn::TxnNote;
use crate::history::names::stream_name;

/// One log-broker note, by family.
pub(super) fn note(n: LogNote, who: &str, names: &Names) -> String {
    match n {
        LogNote::Appended { .. }
        | LogNote::Durable { .. }
        | LogNote::RetentionDeleted { .. }
        | LogNote::LostInCrash { .. }
        | LogNote::Recovered { .. }
        | LogNote::DuplicateSequence { .. }
        | LogNote::SequenceRejected { .. } => records(n, who, names),
        LogNote::TornWrite { .. }
        | LogNote::Truncated { .. }
        | LogNote::WritesStopped { .. }
        | LogNote::RecoveredOffset { .. }
        | LogNote::ProducerStateFromLog { .. }
        | LogNote::RecoveredProducer { .. }
        | LogNote::AckedBefore { .. }
        | LogNote::Carried { .. } => recovery(n, who, names),
        LogNote::Assigned { .. }
        | LogNote::SessionExpired { .. }
        | LogNote::Committed { .. }
        | LogNote::CommitRejected { .. }
        | LogNote::UnstableOffsetCommit { .. }
        | LogNote::Position { .. } => group(n, who, names),
        LogNote::Txn(t) => txn(t, who, names),
    }
}

/// A partition the Kafka way: `orders-0`.
fn part(topic: TopicId, partition: PartitionId, names: &Names) -> String {
    format!("{}-{partition}", names.topic(topic))
}

/// The offsets `[from, to)` in words.
fn range(from: u64, to: u64) -> String {
    match to.saturating_sub(from) {
        0 => "no records".to_string(),
        1 => format!("offset {from}"),
        _ => format!("offsets {from} to {}", to - 1),
    }
}

/// Records coming and going in a partition, and what idempotence refused.
fn records(n: LogNote, who: &str, names: &Names) -> String {
    match n {
        LogNote::Appended {
            msg,
            topic,
            partition,
            offset,
        } => format!(
            "{who} appended {} to {} at offset {offset}",
            msg_name(msg),
            part(topic, partition, names)
        ),
        LogNote::Durable {
            topic,
            partition,
            to,
        } => format!(
            "{} is on disk up to offset {to}",
            part(topic, partition, names)
        ),
        LogNote::RetentionDeleted {
            topic,
            partition,
            from,
            to,
        } => format!(
            "retention deleted {} of {}",
            range(from, to),
            part(topic, partition, names)
        ),
        LogNote::LostInCrash {
            topic,
            partition,
            from,
            to,
        } => format!(
            "the crash lost {} of {}: not on disk yet",
            range(from, to),
            part(topic, partition, names)
        ),
        LogNote::Recovered {
            topic,
            partition,
            to,
        } => format!(
            "after the restart {} ends at offset {to}",
            part(topic, partition, names)
        ),
        LogNote::DuplicateSequence { .. } | LogNote::SequenceRejected { .. } => {
            idempotence(n, who, names)
        }
        other => unreachable_shown!(other, "is not about records"),
    }
}

/// `enable.idempotence`: a retry the broker recognised, a sequence it refused.
fn idempotence(n: LogNote, who: &str, names: &Names) -> String {
    match n {
        LogNote::DuplicateSequence {
            msg,
            topic,
            partition,
            offset,
        } => format!(
            "{who} already had {} at {} offset {offset}: the retry was not appended (enable.idempotence)",
            msg_name(msg),
            part(topic, partition, names)
        ),
        LogNote::SequenceRejected {
            msg,
            topic,
            partition,
            sequence,
            expected,
        } => format!(
            "{who} refused {} for {}: sequence {sequence}, expected {expected} (OutOfOrderSequenceException)",
            msg_name(msg),
            part(topic, partition, names)
        ),
        other => unreachable_shown!(other, "is not about idempotence"),
    }
}

/// Storage faults and what recovery read back.
fn recovery(n: LogNote, who: &str, names: &Names) -> String {
    match n {
        LogNote::TornWrite {
            stream,
            kept_bytes,
            batch_len,
        } => format!(
            "the crash tore the write to {}: {kept_bytes} of {batch_len} bytes landed",
            stream_name(stream, names)
        ),
        LogNote::Truncated {
            stream,
            offset,
            cause,
            dropped_batches,
            dropped_bytes,
            ..
        } => format!(
            "recovery cut {} at offset {offset} ({}): {dropped_batches} batches, {dropped_bytes} bytes dropped",
            stream_name(stream, names),
            cause.name()
        ),
        LogNote::WritesStopped { quota } => format!(
            "{who} stopped durable writes: {}",
            if quota {
                "the disk is full (QuotaExceededError)"
            } else {
                "the store refused the write (taken over or closed)"
            }
        ),
        LogNote::Carried { .. } => carried(n, names),
        LogNote::AckedBefore { .. }
        | LogNote::RecoveredOffset { .. }
        | LogNote::ProducerStateFromLog { .. }
        | LogNote::RecoveredProducer { .. } => read_back(n, names),
        other => unreachable_shown!(other, "is not about recovery"),
    }
}

/// Committed offsets and producer state, read back by recovery.
fn read_back(n: LogNote, names: &Names) -> String {
    match n {
        LogNote::RecoveredOffset {
            group,
            partition,
            offset,
        } => format!(
            "recovery read back group {}'s committed offset {offset} of partition {partition}",
            names.group(group)
        ),
        LogNote::ProducerStateFromLog {
            topic,
            partition,
            from,
            to,
            replayed,
            forgot,
        } => format!(
            "recovery rebuilt the producer state of {} from {}: {replayed} sequences replayed, {forgot} forgotten",
            part(topic, partition, names),
            range(from, to)
        ),
        LogNote::RecoveredProducer {
            producer_id,
            epoch,
            partitions,
        } => format!(
            "recovery read back producer {producer_id} (epoch {epoch}) on {partitions} partitions"
        ),
        LogNote::AckedBefore {
            topic,
            partition,
            acked_end,
            recovered_end,
        } => {
            let p = part(topic, partition, names);
            if recovered_end < acked_end {
                format!(
                    "the earlier visit had acknowledged {p} up to offset {acked_end}, but recovery found it ending at {recovered_end}: {} gone",
                    range(recovered_end, acked_end)
                )
            } else {
                format!("the earlier visit had acknowledged {p} up to offset {acked_end}; recovery kept all of it")
            }
        }
        other => unreachable_shown!(other, "is not read back by recovery"),
    }
}

/// A record of the stored log that an earlier visit wrote.
fn carried(n: LogNote, names: &Names) -> String {
    let LogNote::Carried {
        msg,
        topic,
        partition,
        offset,
        carried,
        ..
    } = n
    else {
        unreachable_shown!(n, "is not a carried record");
    };
    let how = match carried {
        Carried::Consumed => "consumed back then",
        Carried::Acked => "acknowledged, still to be read",
        Carried::Aborted => "its transaction aborted",
        Carried::InDoubt => "its transaction's outcome is unknown",
    };
    format!(
        "{} came back from an earlier visit at {} offset {offset}: {how}",
        msg_name(msg),
        part(topic, partition, names)
    )
}

/// Group membership, commits and positions.
fn group(n: LogNote, who: &str, names: &Names) -> String {
    match n {
        LogNote::Assigned {
            group,
            generation,
            member,
            partitions,
        } => {
            let (g, c) = (names.group(group), names.client(member));
            if partitions == 0 {
                format!("group {g} left {c} idle (generation {generation})")
            } else {
                let list = partition_list(partitions);
                format!("group {g} gave {c} partitions {list} (generation {generation})")
            }
        }
        LogNote::SessionExpired { group, member } => format!(
            "{} sent no heartbeat within session.timeout.ms and was removed from group {}",
            names.client(member),
            names.group(group)
        ),
        LogNote::Committed { .. }
        | LogNote::CommitRejected { .. }
        | LogNote::UnstableOffsetCommit { .. }
        | LogNote::Position { .. } => offsets(n, who, names),
        other => unreachable_shown!(other, "is not about a group"),
    }
}

/// Committed offsets and fetch positions.
fn offsets(n: LogNote, who: &str, names: &Names) -> String {
    match n {
        LogNote::Committed {
            group,
            partition,
            offset,
        } => format!(
            "group {} committed offset {offset} of partition {partition}",
            names.group(group)
        ),
        LogNote::CommitRejected {
            member,
            partition,
            offset,
            error,
            ..
        } => format!(
            "{who} refused {}'s commit of offset {offset} of partition {partition}: {}",
            names.client(member),
            error.name()
        ),
        LogNote::UnstableOffsetCommit {
            member, partition, ..
        } => format!(
            "{} waits on partition {partition}: an open transaction has offsets there (UNSTABLE_OFFSET_COMMIT)",
            names.client(member)
        ),
        LogNote::Position {
            member,
            partition,
            offset,
            ..
        } => format!(
            "{} will read partition {partition} from offset {offset}",
            names.client(member)
        ),
        other => unreachable_shown!(other, "is not about offsets"),
    }
}

/// The transaction coordinator: state changes, fencing, timeouts, markers.
fn txn(n: TxnNote, who: &str, names: &Names) -> String {
    match n {
        TxnNote::State {
            txn,
            producer_id,
            epoch,
            state,
        } => format!(
            "transaction {txn} of producer {producer_id} (epoch {epoch}) is now {}",
            state.name()
        ),
        TxnNote::Fenced {
            producer_id, epoch, ..
        } => format!("{who} fenced producer {producer_id} epoch {epoch}: a newer epoch exists (ProducerFenced)"),
        TxnNote::TimedOut { txn } => format!(
            "transaction {txn} passed transaction.timeout.ms: the coordinator aborts it"
        ),
        TxnNote::Marker {
            producer_id,
            topic,
            partition,
            offset,
            commit,
        } => format!(
            "a {} marker of producer {producer_id} took {} offset {offset}",
            if commit { "commit" } else { "abort" },
            part(topic, partition, names)
        ),
    }
}
