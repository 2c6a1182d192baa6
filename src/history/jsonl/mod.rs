//! The history as JSON Lines: one object per event, fields in a fixed order,
//! absent fields left out. The bytes are the run's fingerprint (see
//! [`super::History::hash`]): a change here moves every golden hash, so
//! these functions only ever say what the event says, field by field.
//!
//! | file | which events |
//! |---|---|
//! | `mod.rs` | the line itself, client operations and world events |
//! | `queue.rs` | the queue broker's notes, and a delivery's fields |
//! | `log.rs` | what a log producer or consumer did ([`super::LogEntry`]) |
//! | `log_note.rs` | the log broker's notes, by family, and the transaction coordinator's |

mod log;
mod log_note;
pub(crate) mod queue;

use super::names::{msg_name, tag_name};
use super::{Entry, HistoryEvent, Names, OpType, Proc};
use crate::broker::log::PartitionId;
use serde::Serialize;

/// One JSONL line. Field order is fixed by this struct, absent fields are skipped.
#[derive(Serialize, Default, Clone)]
struct Line<'a> {
    time_ms: u64,
    process: &'a str,
    #[serde(rename = "type")]
    ty: &'static str,
    f: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    msg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consumer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to_queue: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redelivered: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requeue: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    until_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    what: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partition: Option<PartitionId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to_offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    generation: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partitions: Option<Vec<PartitionId>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    poll: Option<u64>,
    /// Recovery: the storage stream a truncation cut, and what it dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dropped_batches: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dropped_bytes: Option<u64>,
    /// Recovery: how many of something (a producer's partitions).
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<u64>,
    /// A carried-over record's producer.
    #[serde(skip_serializing_if = "Option::is_none")]
    producer: Option<&'a str>,
    /// A client setting's new value (`what` names the setting).
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

fn op_name(ty: OpType) -> &'static str {
    match ty {
        OpType::Invoke => "invoke",
        OpType::Ok => "ok",
        OpType::Fail => "fail",
        OpType::Info => "info",
    }
}

/// One event as a JSON line (without the newline).
pub(super) fn line(ev: &HistoryEvent, names: &Names) -> String {
    let process = match ev.process {
        Proc::Broker(node) => node.name(),
        Proc::Client(c) => names.client(c),
    };
    let base = Line {
        time_ms: ev.time_ms,
        process,
        ..Line::default()
    };
    let line = match ev.entry {
        Entry::Broker(note) => queue::describe_note(note, names, base),
        Entry::Log(e) => log::describe_log(e, names, base),
        Entry::Publish { .. }
        | Entry::Retry { .. }
        | Entry::Process { .. }
        | Entry::AckSent { .. }
        | Entry::NackSent { .. }
        | Entry::Deliver { .. }
        | Entry::Deduplicated { .. } => client_op(ev.entry, names, base),
        Entry::Crash
        | Entry::Restart
        | Entry::Setting(_)
        | Entry::DropAcks { .. }
        | Entry::NetDrop { .. } => world_event(ev.entry, base),
    };
    serde_json::to_string(&line).expect("a history line always serializes")
}

/// A message's way through the clients: publish, retry, deliver, process,
/// ack, nack, dedup.
fn client_op<'a>(entry: Entry, names: &'a Names, base: Line<'a>) -> Line<'a> {
    let event = Line {
        ty: "event",
        ..base.clone()
    };
    match entry {
        Entry::Publish { ty, msg, key } => Line {
            ty: op_name(ty),
            f: "publish",
            msg: Some(msg_name(msg)),
            key: key.map(|k| names.key(k)),
            ..base
        },
        Entry::Retry { msg, attempt } => Line {
            f: "retry",
            msg: Some(msg_name(msg)),
            attempt: Some(attempt),
            ..event
        },
        Entry::Process { ty, delivery: d } => Line {
            ty: op_name(ty),
            f: "process",
            ..queue::delivery_fields(d, names, base)
        },
        Entry::AckSent { msg, tag } => Line {
            f: "ack",
            msg: Some(msg_name(msg)),
            tag: Some(tag_name(tag)),
            ..event
        },
        Entry::NackSent { msg, tag, requeue } => Line {
            f: "nack",
            msg: Some(msg_name(msg)),
            tag: Some(tag_name(tag)),
            requeue: Some(requeue),
            ..event
        },
        Entry::Deliver { to, delivery: d } => Line {
            f: if d.redelivered {
                "redeliver"
            } else {
                "deliver"
            },
            consumer: Some(names.client(to)),
            ..queue::delivery_fields(d, names, event)
        },
        Entry::Deduplicated { msg } => Line {
            f: "deduplicated",
            msg: Some(msg_name(msg)),
            reason: Some("already in the dedup store"),
            ..event
        },
        other => unreachable_shown!(other, "is not a client operation"),
    }
}

/// What the world did to a process: crash, restart, a setting, a fault.
fn world_event(entry: Entry, base: Line<'_>) -> Line<'_> {
    let event = Line {
        ty: "event",
        ..base
    };
    match entry {
        Entry::Crash => Line {
            f: "crash",
            ..event
        },
        Entry::Restart => Line {
            f: "restart",
            ..event
        },
        Entry::Setting(set) => Line {
            f: "setting",
            what: Some(set.name()),
            value: Some(set.value_text()),
            ..event
        },
        Entry::DropAcks { until_ms } => Line {
            f: "drop_acks",
            until_ms: Some(until_ms),
            ..event
        },
        Entry::NetDrop { msg, what, why } => Line {
            f: "net_drop",
            msg: msg.map(msg_name),
            what: Some(what),
            reason: Some(why),
            ..event
        },
        other => unreachable_shown!(other, "is not a world event"),
    }
}
