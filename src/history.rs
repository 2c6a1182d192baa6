//! The history: everything that happened in a run, in order.
//!
//! It follows Jepsen's shape. A client operation is an `invoke` event followed
//! by one completion:
//!
//! - `ok`: it happened (a publish the broker confirmed, a message processed);
//! - `fail`: it certainly did not happen (a publish the broker refused with
//!   `basic.nack`, processing that failed before the effect);
//! - `info`: unknown, it may or may not have happened (no confirm before the
//!   timeout and no retries left, fire-and-forget publishes, a producer crash).
//!
//! Broker and world events (deliver, redeliver, requeue, dead-letter, crash,
//! restart, network drops) are `event` lines between them. The checker reads
//! only this history plus a final snapshot of where unprocessed messages sit.
//!
//! [`History::to_jsonl`] writes one JSON object per line. For the same scenario
//! and seed it is byte-identical on every platform; [`History::hash`] is the
//! xxh3-64 of those bytes, which the determinism tests compare.

use crate::broker::log::{
    partitions_of, GroupId, LogNote, PartitionId, PartitionSet, Seek, TopicId,
};
use crate::broker::{
    ClientId, DeadLetterReason, Delivery, DeliveryTag, KeyId, MsgId, Note, QueueId, ReturnReason,
};
use serde::Serialize;
use xxhash_rust::xxh3::Xxh3;

/// Who did it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proc {
    Broker,
    Client(ClientId),
}

/// Jepsen's operation types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpType {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// What happened. Client operations carry an [`OpType`]; the rest are events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A producer publishing one message (`attempt` 0 is the first send).
    Publish {
        ty: OpType,
        msg: MsgId,
        key: Option<KeyId>,
    },
    /// A producer re-sending a message after a confirm timeout.
    Retry {
        msg: MsgId,
        attempt: u32,
    },
    /// A consumer processing one delivery: `invoke` when it starts, `ok` when
    /// the effect is applied, `fail` when processing failed or the consumer died.
    Process {
        ty: OpType,
        delivery: Delivery,
    },
    /// A consumer sent `basic.ack` (SQS: `DeleteMessage`).
    AckSent {
        msg: MsgId,
        tag: DeliveryTag,
    },
    /// A consumer sent `basic.nack`.
    NackSent {
        msg: MsgId,
        tag: DeliveryTag,
        requeue: bool,
    },
    /// The broker handed a message to a consumer (a redelivery if flagged).
    Deliver {
        to: ClientId,
        delivery: Delivery,
    },
    Broker(Note),
    Crash,
    Restart,
    /// The `drop_acks` fault starts on this client's link.
    DropAcks {
        until_ms: u64,
    },
    /// A message vanished on the way: link loss, dropped ack, or a dead receiver.
    NetDrop {
        msg: Option<MsgId>,
        what: &'static str,
        why: &'static str,
    },
    /// A log client's operation (the log broker's own events are [`Note::Log`]).
    Log(LogEntry),
    /// The idempotent consumer found `msg` in its dedup store: processing
    /// finished, the effect was skipped (it was applied before).
    Deduplicated {
        msg: MsgId,
    },
    /// A live change of this client's settings (see [`crate::scenario::settings`]),
    /// from its next decision on.
    Setting(crate::config::Setting),
}

/// What a log producer or consumer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogEntry {
    /// The produce response arrived: the record is at `offset` of `partition`.
    /// Recorded just before the `ok publish` it explains.
    Produced {
        msg: MsgId,
        partition: PartitionId,
        offset: u64,
    },
    /// The consumer sent `JoinGroup`.
    Join {
        group: GroupId,
    },
    /// The consumer applied a new assignment (at its next `poll()`).
    Assigned {
        generation: u32,
        partitions: PartitionSet,
    },
    /// `poll()` was called (Jepsen's poll invoke).
    Poll {
        poll: u64,
    },
    /// One record the poll returned.
    Read {
        poll: u64,
        partition: PartitionId,
        offset: u64,
        msg: MsgId,
        key: Option<KeyId>,
    },
    /// Processing one record: `invoke`, then `ok` (effect applied) or `fail`
    /// (the consumer died first).
    Process {
        ty: OpType,
        partition: PartitionId,
        offset: u64,
        msg: MsgId,
        key: Option<KeyId>,
    },
    /// A commit was sent: `offset` is the next record to read.
    Commit {
        partition: PartitionId,
        offset: u64,
    },
    /// How a `commitSync` ended: `ok` (committed and durable), `fail` (the
    /// coordinator refused it, `error` says why) or `info` (no answer in
    /// time: it may or may not have been committed).
    CommitDone {
        ty: OpType,
        partition: PartitionId,
        offset: u64,
        error: Option<crate::broker::log::CommitError>,
    },
    Seek {
        partition: PartitionId,
        to: Seek,
    },
    /// `close()`: the consumer left its group.
    Leave {
        group: GroupId,
    },
    /// A transactional client got its (producer id, epoch) from
    /// `InitProducerId`; its writes until the next one carry this id.
    ProducerId {
        producer_id: u64,
        epoch: u16,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryEvent {
    pub time_ms: u64,
    pub process: Proc,
    pub entry: Entry,
}

/// Display names for the numeric ids inside events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    pub clients: Vec<String>,
    pub keys: Vec<String>,
    pub queues: Vec<String>,
    /// Log broker: topic names and consumer group ids (`group.id`).
    pub topics: Vec<String>,
    pub groups: Vec<String>,
}

impl Names {
    pub fn client(&self, c: ClientId) -> &str {
        &self.clients[c as usize]
    }
    pub fn key(&self, k: KeyId) -> &str {
        &self.keys[k as usize]
    }
    pub fn queue(&self, q: QueueId) -> &str {
        &self.queues[q as usize]
    }
    pub fn topic(&self, t: TopicId) -> &str {
        &self.topics[t as usize]
    }
    pub fn group(&self, g: GroupId) -> &str {
        &self.groups[g as usize]
    }
}

/// How a message id prints everywhere: `m17`.
pub fn msg_name(id: MsgId) -> String {
    format!("m{id}")
}

/// The recorded run. Bound: the world stops with an error before the number of
/// events exceeds its `events_max` run bound times a small constant.
#[derive(Clone, Debug, Default)]
pub struct History {
    events: Vec<HistoryEvent>,
}

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

fn tag_name(tag: DeliveryTag) -> String {
    format!("{}.{}", tag.incarnation, tag.n)
}

impl History {
    pub fn new() -> History {
        History::default()
    }

    pub fn push(&mut self, time_ms: u64, process: Proc, entry: Entry) {
        if let Some(last) = self.events.last() {
            assert!(last.time_ms <= time_ms, "history goes back in time");
        }
        self.events.push(HistoryEvent {
            time_ms,
            process,
            entry,
        });
    }

    pub fn events(&self) -> &[HistoryEvent] {
        &self.events
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// One event as a JSON line (without the newline).
    pub fn line(&self, ev: &HistoryEvent, names: &Names) -> String {
        let process = match ev.process {
            Proc::Broker => "broker",
            Proc::Client(c) => names.client(c),
        };
        let line = describe(
            ev.entry,
            names,
            Line {
                time_ms: ev.time_ms,
                process,
                ..Line::default()
            },
        );
        serde_json::to_string(&line).expect("a history line always serializes")
    }

    /// The whole history as JSON Lines.
    pub fn to_jsonl(&self, names: &Names) -> String {
        let mut out = String::new();
        for ev in &self.events {
            out.push_str(&self.line(ev, names));
            out.push('\n');
        }
        out
    }

    /// xxh3-64 of [`History::to_jsonl`], computed without building the string.
    pub fn hash(&self, names: &Names) -> u64 {
        let mut hasher = Xxh3::new();
        for ev in &self.events {
            hasher.update(self.line(ev, names).as_bytes());
            hasher.update(b"\n");
        }
        hasher.digest()
    }
}

fn describe<'a>(entry: Entry, names: &'a Names, base: Line<'a>) -> Line<'a> {
    let key = |k: Option<KeyId>| k.map(|k| names.key(k));
    match entry {
        Entry::Publish { ty, msg, key: k } => Line {
            ty: op_name(ty),
            f: "publish",
            msg: Some(msg_name(msg)),
            key: key(k),
            ..base
        },
        Entry::Retry { msg, attempt } => Line {
            ty: "event",
            f: "retry",
            msg: Some(msg_name(msg)),
            attempt: Some(attempt),
            ..base
        },
        Entry::Process { ty, delivery: d } => Line {
            ty: op_name(ty),
            f: "process",
            ..delivery_fields(d, names, base)
        },
        Entry::AckSent { msg, tag } => Line {
            ty: "event",
            f: "ack",
            msg: Some(msg_name(msg)),
            tag: Some(tag_name(tag)),
            ..base
        },
        Entry::NackSent { msg, tag, requeue } => Line {
            ty: "event",
            f: "nack",
            msg: Some(msg_name(msg)),
            tag: Some(tag_name(tag)),
            requeue: Some(requeue),
            ..base
        },
        Entry::Deliver { to, delivery: d } => Line {
            ty: "event",
            f: if d.redelivered {
                "redeliver"
            } else {
                "deliver"
            },
            consumer: Some(names.client(to)),
            ..delivery_fields(d, names, base)
        },
        Entry::Broker(note) => describe_note(note, names, base),
        Entry::Crash => Line {
            ty: "event",
            f: "crash",
            ..base
        },
        Entry::Restart => Line {
            ty: "event",
            f: "restart",
            ..base
        },
        Entry::Setting(set) => Line {
            ty: "event",
            f: "setting",
            what: Some(set.name()),
            value: Some(set.value_text()),
            ..base
        },
        Entry::DropAcks { until_ms } => Line {
            ty: "event",
            f: "drop_acks",
            until_ms: Some(until_ms),
            ..base
        },
        Entry::NetDrop { msg, what, why } => Line {
            ty: "event",
            f: "net_drop",
            msg: msg.map(msg_name),
            what: Some(what),
            reason: Some(why),
            ..base
        },
        Entry::Log(e) => describe_log(e, names, base),
        Entry::Deduplicated { msg } => Line {
            ty: "event",
            f: "deduplicated",
            msg: Some(msg_name(msg)),
            reason: Some("already in the dedup store"),
            ..base
        },
    }
}

fn describe_log<'a>(entry: LogEntry, names: &'a Names, base: Line<'a>) -> Line<'a> {
    let ev = Line {
        ty: "event",
        ..base
    };
    let m = |id| Some(msg_name(id));
    match entry {
        LogEntry::Produced {
            msg,
            partition,
            offset,
        } => Line {
            f: "produced",
            msg: m(msg),
            partition: Some(partition),
            offset: Some(offset),
            ..ev
        },
        LogEntry::ProducerId { producer_id, epoch } => Line {
            f: "init_producer_id",
            tag: Some(format!("pid {producer_id} epoch {epoch}")),
            ..ev
        },
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
            msg: m(msg),
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
            msg: m(msg),
            key: key.map(|k| names.key(k)),
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
        LogEntry::Seek { partition, to } => {
            let (what, offset) = match to {
                Seek::Earliest => ("TRIM_HORIZON", None),
                Seek::Latest => ("LATEST", None),
                Seek::Offset(o) => ("AT_SEQUENCE_NUMBER", Some(o)),
                Seek::Timestamp(t) => ("AT_TIMESTAMP", Some(t)),
            };
            Line {
                f: "seek",
                partition: Some(partition),
                what: Some(what),
                offset,
                ..ev
            }
        }
        LogEntry::Leave { group } => Line {
            f: "leave_group",
            group: Some(names.group(group)),
            ..ev
        },
    }
}

fn describe_log_note<'a>(note: LogNote, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    let m = |id| Some(msg_name(id));
    let range = |f: &'static str, t: TopicId, p, from: Option<u64>, to| Line {
        f,
        topic: Some(names.topic(t)),
        partition: Some(p),
        offset: from,
        to_offset: Some(to),
        ..ev.clone()
    };
    match note {
        LogNote::Appended {
            msg,
            topic,
            partition,
            offset,
        } => Line {
            f: "append",
            msg: m(msg),
            topic: Some(names.topic(topic)),
            partition: Some(partition),
            offset: Some(offset),
            ..ev
        },
        LogNote::Durable {
            topic,
            partition,
            to,
        } => range("durable", topic, partition, None, to),
        LogNote::RetentionDeleted {
            topic,
            partition,
            from,
            to,
        } => range("retention_delete", topic, partition, Some(from), to),
        LogNote::LostInCrash {
            topic,
            partition,
            from,
            to,
        } => range("lost_in_crash", topic, partition, Some(from), to),
        LogNote::Recovered {
            topic,
            partition,
            to,
        } => range("recovered", topic, partition, None, to),
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
            ..range("producer_state_from_log", topic, partition, Some(from), to)
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
        LogNote::Carried {
            msg,
            producer,
            key,
            topic,
            partition,
            offset,
            carried,
        } => Line {
            f: "carried",
            msg: m(msg),
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
        },
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
        LogNote::Txn(n) => describe_txn_note(n, names, ev),
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
        LogNote::DuplicateSequence {
            msg,
            topic,
            partition,
            offset,
        } => Line {
            f: "duplicate_sequence",
            msg: m(msg),
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
            msg: m(msg),
            topic: Some(names.topic(topic)),
            partition: Some(partition),
            attempt: Some(sequence),
            reason: Some("OutOfOrderSequenceException"),
            ..ev
        },
    }
}

/// A storage stream as the history names it: a partition the Kafka way
/// (`orders-0`), the bookkeeping streams by their name (`offsets`).
pub fn stream_name(stream: crate::storage::StreamId, names: &Names) -> String {
    match stream {
        crate::storage::StreamId::Partition { topic, partition } => {
            let topic = names.topics.get(topic as usize);
            match topic {
                Some(name) => format!("{name}-{partition}"),
                None => stream.to_string(),
            }
        }
        other => other.to_string(),
    }
}

fn delivery_fields<'a>(d: Delivery, names: &'a Names, base: Line<'a>) -> Line<'a> {
    Line {
        msg: Some(msg_name(d.msg.id)),
        key: d.msg.key.map(|k| names.key(k)),
        queue: Some(names.queue(d.queue)),
        tag: Some(tag_name(d.tag)),
        redelivered: Some(d.redelivered),
        delivery_count: Some(d.delivery_count),
        ..base
    }
}

/// A short phrase for why a message returned to its queue.
pub fn return_reason(reason: ReturnReason, names: &Names) -> String {
    match reason {
        ReturnReason::Nack => "basic.nack(requeue=true)".to_string(),
        ReturnReason::ChannelClosed(c) => format!("channel of {} closed", names.client(c)),
        ReturnReason::VisibilityTimeout => "visibility timeout expired".to_string(),
    }
}

fn describe_note<'a>(note: Note, names: &'a Names, base: Line<'a>) -> Line<'a> {
    let ev = Line {
        ty: "event",
        ..base
    };
    let m = |id| Some(msg_name(id));
    let q = |q| Some(names.queue(q));
    match note {
        Note::Enqueued { msg, queue } => Line {
            f: "enqueue",
            msg: m(msg),
            queue: q(queue),
            ..ev
        },
        Note::Deleted { msg, queue } => Line {
            f: "delete",
            msg: m(msg),
            queue: q(queue),
            ..ev
        },
        Note::Requeued { msg, queue, reason } => {
            let why = match reason {
                ReturnReason::Nack => "nack",
                ReturnReason::ChannelClosed(_) => "channel_closed",
                ReturnReason::VisibilityTimeout => "visibility_timeout",
            };
            let consumer = match reason {
                ReturnReason::ChannelClosed(c) => Some(names.client(c)),
                _ => None,
            };
            Line {
                f: "requeue",
                msg: m(msg),
                queue: q(queue),
                consumer,
                reason: Some(why),
                ..ev
            }
        }
        Note::DeadLettered {
            msg,
            from,
            to,
            reason,
        } => Line {
            f: if to.is_some() { "dead_letter" } else { "drop" },
            msg: m(msg),
            queue: q(from),
            to_queue: to.map(|t| names.queue(t)),
            reason: Some(match reason {
                DeadLetterReason::Rejected => "rejected",
                DeadLetterReason::DeliveryLimit => "delivery_limit",
            }),
            ..ev
        },
        Note::RejectedPublish { msg, queue } => Line {
            f: "reject_publish",
            msg: m(msg),
            queue: q(queue),
            reason: Some("x-max-length"),
            ..ev
        },
        Note::Unroutable { msg } => Line {
            f: "unroutable",
            msg: m(msg),
            ..ev
        },
        Note::DuplicateDropped { msg, queue } => Line {
            f: "duplicate_dropped",
            msg: m(msg),
            queue: q(queue),
            reason: Some("MessageDeduplicationId seen within 5 minutes"),
            ..ev
        },
        Note::LostInCrash { msg, queue } => Line {
            f: "lost_in_crash",
            msg: m(msg),
            queue: q(queue),
            ..ev
        },
        Note::StaleAck { tag } => Line {
            f: "stale_ack",
            tag: Some(tag_name(tag)),
            ..ev
        },
        Note::ConsumeRefused { consumer, queue } => Line {
            f: "consume_refused",
            consumer: Some(names.client(consumer)),
            queue: q(queue),
            reason: Some("exclusive"),
            ..ev
        },
        Note::Log(n) => describe_log_note(n, names, ev),
    }
}

/// The transaction coordinator's notes: `txn_state` (with Kafka's state name),
/// `txn_fenced`, `txn_timeout`, `txn_marker` (the offset a marker took).
fn describe_txn_note<'a>(
    note: crate::broker::txn::TxnNote,
    names: &'a Names,
    ev: Line<'a>,
) -> Line<'a> {
    use crate::broker::txn::TxnNote;
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
