//! What a log producer or consumer did ([`LogEntry`]) as JSON lines.

use super::{msg_name, op_name, Line, Names};
use crate::broker::log::{partitions_of, Seek};
use crate::history::{LogEntry, OpType};

/// One log client's entry, by family.
pub(super) fn describe_log<'a>(entry: LogEntry, names: &'a Names, base: Line<'a>) -> Line<'a> {
    let ev = Line {
        ty: "event",
        ..base
    };
    match entry {
        LogEntry::Produced { .. } | LogEntry::ProducerId { .. } => producer_step(entry, ev),
        LogEntry::Poll { .. }
        | LogEntry::Read { .. }
        | LogEntry::Process { .. }
        | LogEntry::Seek { .. } => reader_step(entry, names, ev),
        LogEntry::Join { .. }
        | LogEntry::Assigned { .. }
        | LogEntry::Commit { .. }
        | LogEntry::CommitDone { .. }
        | LogEntry::Leave { .. } => group_step(entry, names, ev),
    }
}

/// `produced` (where an acknowledged write landed) and `init_producer_id`.
fn producer_step(entry: LogEntry, ev: Line<'_>) -> Line<'_> {
    match entry {
        LogEntry::Produced {
            msg,
            partition,
            offset,
        } => Line {
            f: "produced",
            msg: Some(msg_name(msg)),
            partition: Some(partition),
            offset: Some(offset),
            ..ev
        },
        LogEntry::ProducerId { producer_id, epoch } => Line {
            f: "init_producer_id",
            tag: Some(format!("pid {producer_id} epoch {epoch}")),
            ..ev
        },
        other => unreachable_shown!(other, "is not a producer's step"),
    }
}

/// A consumer's polls, reads, processing and seeks.
fn reader_step<'a>(entry: LogEntry, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    match entry {
        LogEntry::Poll { poll } => Line {
            ty: "invoke",
            f: "poll",
            poll: Some(poll),
            ..ev
        },
        LogEntry::Read {
            poll,
            partition,
            offset,
            msg,
            key,
        } => Line {
            f: "read",
            poll: Some(poll),
            partition: Some(partition),
            offset: Some(offset),
            msg: Some(msg_name(msg)),
            key: key.map(|k| names.key(k)),
            ..ev
        },
        LogEntry::Process {
            ty,
            partition,
            offset,
            msg,
            key,
        } => Line {
            ty: op_name(ty),
            f: "process",
            partition: Some(partition),
            offset: Some(offset),
            msg: Some(msg_name(msg)),
            key: key.map(|k| names.key(k)),
            ..ev
        },
        LogEntry::Seek { partition, to } => {
            let (what, offset) = seek_name(to);
            Line {
                f: "seek",
                partition: Some(partition),
                what: Some(what),
                offset,
                ..ev
            }
        }
        other => unreachable_shown!(other, "is not a reader's step"),
    }
}

/// A seek by its Kinesis iterator name, with its offset or timestamp.
pub(in crate::history) fn seek_name(to: Seek) -> (&'static str, Option<u64>) {
    match to {
        Seek::Earliest => ("TRIM_HORIZON", None),
        Seek::Latest => ("LATEST", None),
        Seek::Offset(o) => ("AT_SEQUENCE_NUMBER", Some(o)),
        Seek::Timestamp(t) => ("AT_TIMESTAMP", Some(t)),
    }
}

/// Group membership and offset commits.
fn group_step<'a>(entry: LogEntry, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    match entry {
        LogEntry::Join { group } => Line {
            f: "join_group",
            group: Some(names.group(group)),
            ..ev
        },
        LogEntry::Assigned {
            generation,
            partitions,
        } => Line {
            f: "assigned",
            generation: Some(generation),
            partitions: Some(partitions_of(partitions).collect()),
            ..ev
        },
        LogEntry::Commit { partition, offset } => Line {
            f: "commit",
            partition: Some(partition),
            offset: Some(offset),
            ..ev
        },
        LogEntry::CommitDone {
            ty,
            partition,
            offset,
            error,
        } => Line {
            ty: op_name(ty),
            f: "commit",
            partition: Some(partition),
            offset: Some(offset),
            reason: match (ty, error) {
                (_, Some(e)) => Some(e.name()),
                (OpType::Info, None) => Some("no answer within session.timeout.ms"),
                _ => None,
            },
            ..ev
        },
        LogEntry::Leave { group } => Line {
            f: "leave_group",
            group: Some(names.group(group)),
            ..ev
        },
        other => unreachable_shown!(other, "is not a group step"),
    }
}
