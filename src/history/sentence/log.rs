//! What a log producer or consumer did ([`LogEntry`]) as sentences.

use super::{key_part, msg_name, time, Names};
use crate::broker::log::{partitions_of, PartitionSet, Seek};
use crate::history::{LogEntry, OpType};

/// One log client's entry, by family.
pub(super) fn entry(e: LogEntry, who: &str, names: &Names) -> String {
    match e {
        LogEntry::Produced {
            msg,
            partition,
            offset,
        } => format!(
            "{who} heard {} is at partition {partition}, offset {offset}",
            msg_name(msg)
        ),
        LogEntry::ProducerId { producer_id, epoch } => {
            format!("{who} got producer id {producer_id}, epoch {epoch}")
        }
        LogEntry::Poll { poll } => format!("{who} polled (poll {poll})"),
        LogEntry::Read {
            partition,
            offset,
            msg,
            key,
            ..
        } => format!(
            "{who} read {}{} at partition {partition}, offset {offset}",
            msg_name(msg),
            key_part(key, names)
        ),
        LogEntry::Process {
            ty,
            partition,
            offset,
            msg,
            ..
        } => {
            let place = format!("partition {partition}, offset {offset}");
            processing(ty, &msg_name(msg), &place, who)
        }
        LogEntry::Seek { partition, to } => {
            format!("{who} moved to {} of partition {partition}", seek(to))
        }
        LogEntry::Join { .. }
        | LogEntry::Assigned { .. }
        | LogEntry::Commit { .. }
        | LogEntry::CommitDone { .. }
        | LogEntry::Leave { .. } => group_step(e, who, names),
    }
}

/// Processing one record: started, done, failed or unknown.
fn processing(ty: OpType, m: &str, place: &str, who: &str) -> String {
    match ty {
        OpType::Invoke => format!("{who} started processing {m} ({place})"),
        OpType::Ok => format!("{who} processed {m} ({place})"),
        OpType::Fail => format!("{who} did not finish processing {m} ({place})"),
        OpType::Info => format!("{who} may or may not have processed {m} ({place})"),
    }
}

/// Where a seek went, with the Kinesis iterator name beside Kafka's.
fn seek(to: Seek) -> String {
    match to {
        Seek::Earliest => "the start (TRIM_HORIZON)".to_string(),
        Seek::Latest => "the end (LATEST)".to_string(),
        Seek::Offset(o) => format!("offset {o}"),
        Seek::Timestamp(t) => format!("the first record at or after {}", time(t)),
    }
}

/// `0, 1, 3`.
pub(super) fn partition_list(set: PartitionSet) -> String {
    let list: Vec<String> = partitions_of(set).map(|p| p.to_string()).collect();
    list.join(", ")
}

/// Group membership and offset commits.
fn group_step(e: LogEntry, who: &str, names: &Names) -> String {
    match e {
        LogEntry::Join { group } => format!("{who} asked to join group {}", names.group(group)),
        LogEntry::Assigned {
            generation,
            partitions: 0,
        } => format!("{who} has no partitions to read (generation {generation})"),
        LogEntry::Assigned {
            generation,
            partitions,
        } => format!(
            "{who} now reads partitions {} (generation {generation})",
            partition_list(partitions)
        ),
        LogEntry::Commit { partition, offset } => {
            format!("{who} committed offset {offset} of partition {partition}")
        }
        LogEntry::CommitDone {
            ty,
            partition,
            offset,
            error,
        } => {
            let what = format!("{who}'s commit of offset {offset} of partition {partition}");
            match (ty, error) {
                (_, Some(e)) => format!("{what} was refused: {}", e.name()),
                (OpType::Ok, None) => format!("{what} is durable"),
                (OpType::Info, None) => {
                    format!("{what} got no answer within session.timeout.ms")
                }
                (OpType::Fail, None) => format!("{what} was refused"),
                (OpType::Invoke, None) => format!("{what} is on its way"),
            }
        }
        LogEntry::Leave { group } => format!("{who} left group {}", names.group(group)),
        other => unreachable_shown!(other, "is not a group step"),
    }
}
