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

/// A broker note: the queue broker's own here, the log broker's in
/// [`log_note`].
pub(super) fn describe_note<'a>(note: Note, names: &'a Names, base: Line<'a>) -> Line<'a> {
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
        Note::Requeued { msg, queue, reason } => requeued(msg, queue, reason, names, ev),
        Note::DeadLettered {
            msg,
            from,
            to,
            reason,
        } => dead_lettered(msg, (from, to), reason, names, ev),
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
            queue: q(queue),
            reason: Some("exclusive"),
            ..ev
        },
        Note::Log(n) => log_note::describe_log_note(n, names, ev),
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
