//! The queue broker's notes as JSON lines, and the fields of a delivery.

use super::{log_note, msg_name, tag_name, Line, Names};
use crate::broker::{DeadLetterReason, Delivery, MsgId, Note, QueueId, ReturnReason};

/// The fields every delivery carries: message, key, queue, tag, the
/// `redelivered` flag and the delivery count.
pub(super) fn delivery_fields<'a>(d: Delivery, names: &'a Names, base: Line<'a>) -> Line<'a> {
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

/// A broker note: the queue broker's own here, by family, the log broker's
/// in [`log_note`].
pub(super) fn describe_note<'a>(note: Note, names: &'a Names, base: Line<'a>) -> Line<'a> {
    let ev = Line {
        ty: "event",
        ..base
    };
    match note {
        Note::Enqueued { .. }
        | Note::Deleted { .. }
        | Note::Requeued { .. }
        | Note::DeadLettered { .. }
        | Note::LostInCrash { .. } => in_queue(note, names, ev),
        Note::LostFromDisk { .. } | Note::Restored { .. } => from_disk(note, names, ev),
        Note::Carried {
            msg,
            queue,
            confirmed,
            redelivered,
        } => Line {
            f: "carried",
            msg: Some(msg_name(msg)),
            queue: Some(names.queue(queue)),
            reason: Some(if confirmed {
                CARRIED_CONFIRMED
            } else {
                CARRIED_UNCONFIRMED
            }),
            redelivered: Some(redelivered),
            ..ev
        },
        Note::RejectedPublish { .. } | Note::Unroutable { .. } | Note::DuplicateDropped { .. } => {
            not_enqueued(note, names, ev)
        }
        Note::StaleAck { .. } | Note::ChannelError { .. } | Note::ConsumeRefused { .. } => {
            channel(note, names, ev)
        }
        Note::Log(n) => log_note::describe_log_note(n, names, ev),
    }
}

/// A message's life in a queue: it arrives, leaves for good, comes back,
/// dies into a dead-letter queue (or is dropped), or dies with the broker.
fn in_queue<'a>(note: Note, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    let (f, msg, queue) = match note {
        Note::Enqueued { msg, queue } => ("enqueue", msg, queue),
        Note::Deleted { msg, queue } => ("delete", msg, queue),
        Note::Requeued { msg, queue, reason } => return requeued(msg, queue, reason, names, ev),
        Note::DeadLettered {
            msg,
            from,
            to,
            reason,
        } => return dead_lettered(msg, (from, to), reason, names, ev),
        Note::LostInCrash { msg, queue } => ("lost_in_crash", msg, queue),
        other => unreachable_shown!(other, "is not about a message in a queue"),
    };
    Line {
        f,
        msg: Some(msg_name(msg)),
        queue: Some(names.queue(queue)),
        ..ev
    }
}

/// The `reason` of a `carried` message that was confirmed before the page closed.
pub(crate) const CARRIED_CONFIRMED: &str =
    "kept by its durable queue's store; confirmed in the earlier run";
/// The `reason` of a `carried` message that was written but never confirmed.
pub(crate) const CARRIED_UNCONFIRMED: &str =
    "kept by its durable queue's store; written but never confirmed in the earlier run";

/// What a durable queue's disk did not match after a crash: a message whose
/// write was not on disk yet (`lost_from_disk`), or one whose leaving was
/// not (`restored`, it is back); `reason` says which write was missing.
fn from_disk<'a>(note: Note, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    let (f, msg, queue, reason) = match note {
        Note::LostFromDisk { msg, queue } => (
            "lost_from_disk",
            msg,
            queue,
            "its write was not on disk at the crash",
        ),
        Note::Restored { msg, queue } => (
            "restored",
            msg,
            queue,
            "the record of its leaving was not on disk at the crash",
        ),
        other => unreachable_shown!(other, "is not about a durable queue's disk"),
    };
    Line {
        f,
        msg: Some(msg_name(msg)),
        queue: Some(names.queue(queue)),
        reason: Some(reason),
        ..ev
    }
}

/// A publish the broker confirmed or refused without enqueueing it: the
/// queue was full (`reject-publish`), nothing was bound, or SQS FIFO had
/// seen its deduplication id. `reason` says which rule.
fn not_enqueued<'a>(note: Note, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    let (f, msg, queue, reason) = match note {
        Note::RejectedPublish { msg, queue } => {
            ("reject_publish", msg, Some(queue), Some("x-max-length"))
        }
        Note::Unroutable { msg } => ("unroutable", msg, None, None),
        Note::DuplicateDropped { msg, queue } => (
            "duplicate_dropped",
            msg,
            Some(queue),
            Some("MessageDeduplicationId seen within 5 minutes"),
        ),
        other => unreachable_shown!(other, "is not about a publish left out"),
    };
    Line {
        f,
        msg: Some(msg_name(msg)),
        queue: queue.map(|q| names.queue(q)),
        reason,
        ..ev
    }
}

/// A channel or a consumer: an ack for a tag nobody holds, a channel the
/// broker closed, a `basic.consume` refused by an exclusive consumer.
fn channel<'a>(note: Note, names: &'a Names, ev: Line<'a>) -> Line<'a> {
    match note {
        Note::StaleAck { tag } => Line {
            f: "stale_ack",
            tag: Some(tag_name(tag)),
            ..ev
        },
        Note::ChannelError { client, code } => Line {
            f: "channel_error",
            consumer: Some(names.client(client)),
            reason: Some(if code == 406 {
                "406 PRECONDITION_FAILED: unknown delivery tag"
            } else {
                "channel error"
            }),
            ..ev
        },
        Note::ConsumeRefused { consumer, queue } => Line {
            f: "consume_refused",
            consumer: Some(names.client(consumer)),
            queue: Some(names.queue(queue)),
            reason: Some("exclusive"),
            ..ev
        },
        other => unreachable_shown!(other, "is not about a channel"),
    }
}

/// `requeue`: the message went back to its queue; `reason` names why, and a
/// closed channel names its consumer.
fn requeued<'a>(
    msg: MsgId,
    queue: QueueId,
    reason: ReturnReason,
    names: &'a Names,
    ev: Line<'a>,
) -> Line<'a> {
    let (why, consumer) = match reason {
        ReturnReason::Nack => ("nack", None),
        ReturnReason::ChannelClosed(c) => ("channel_closed", Some(names.client(c))),
        ReturnReason::VisibilityTimeout => ("visibility_timeout", None),
    };
    Line {
        f: "requeue",
        msg: Some(msg_name(msg)),
        queue: Some(names.queue(queue)),
        consumer,
        reason: Some(why),
        ..ev
    }
}

/// `dead_letter` into `to`, or `drop` when the queue has no dead-letter queue.
fn dead_lettered<'a>(
    msg: MsgId,
    (from, to): (QueueId, Option<QueueId>),
    reason: DeadLetterReason,
    names: &'a Names,
    ev: Line<'a>,
) -> Line<'a> {
    Line {
        f: if to.is_some() { "dead_letter" } else { "drop" },
        msg: Some(msg_name(msg)),
        queue: Some(names.queue(from)),
        to_queue: to.map(|t| names.queue(t)),
        reason: Some(reason.name()),
        ..ev
    }
}
