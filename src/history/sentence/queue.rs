//! The queue broker's notes as sentences.

use super::{log_note, msg_name, Names};
use crate::broker::{DeadLetterReason, MsgId, Note, QueueId};
use crate::history::names::{return_reason, tag_name};

/// A broker note: the queue broker's here, the log broker's in [`log_note`].
pub(super) fn note(note: Note, who: &str, names: &Names) -> String {
    let q = |q: QueueId| names.queue(q);
    match note {
        Note::Enqueued { msg, queue } => format!("{} entered {}", msg_name(msg), q(queue)),
        Note::Deleted { msg, queue } => {
            format!("{who} deleted {} from {}", msg_name(msg), q(queue))
        }
        Note::Requeued { msg, queue, reason } => format!(
            "{} went back to {}: {}",
            msg_name(msg),
            q(queue),
            return_reason(reason, names)
        ),
        Note::DeadLettered {
            msg,
            from,
            to,
            reason,
        } => dead_lettered(msg, (from, to), reason, names),
        Note::RejectedPublish { msg, queue } => format!(
            "{who} refused {}: {} is full (x-max-length)",
            msg_name(msg),
            q(queue)
        ),
        Note::Unroutable { msg } => {
            format!("{} matched no binding and was dropped", msg_name(msg))
        }
        Note::DuplicateDropped { msg, queue } => format!(
            "{who} dropped a duplicate of {} for {}: same MessageDeduplicationId within 5 minutes",
            msg_name(msg),
            q(queue)
        ),
        Note::LostInCrash { msg, queue } => format!(
            "{} was lost from {} in the crash: only persistent messages of a durable queue survive one",
            msg_name(msg),
            q(queue)
        ),
        Note::LostFromDisk { msg, queue } => format!(
            "{} was lost from {} in the crash: persistent in a durable queue, but its write was not on disk yet (never confirmed)",
            msg_name(msg),
            q(queue)
        ),
        Note::Restored { msg, queue } => format!(
            "{} came back to {} from its disk: it had left the queue, but that was not on disk yet; it will be delivered again",
            msg_name(msg),
            q(queue)
        ),
        Note::Carried {
            msg,
            queue,
            confirmed,
            redelivered,
        } => carried(msg, q(queue), confirmed, redelivered),
        Note::StaleAck { tag } => format!(
            "{who} ignored an ack for tag {}: it no longer holds that delivery",
            tag_name(tag)
        ),
        Note::ChannelError { client, code } => format!(
            "{who} closed the channel of {} with {code} PRECONDITION_FAILED: it acked a tag it does not hold; its unacked messages go back",
            names.client(client)
        ),
        Note::ConsumeRefused { consumer, queue } => format!(
            "{} may not consume from {}: it has an exclusive consumer",
            names.client(consumer),
            q(queue)
        ),
        Note::Log(n) => log_note::note(n, who, names),
    }
}

/// Into a dead-letter queue, or dropped when the queue has none.
fn dead_lettered(
    msg: MsgId,
    (from, to): (QueueId, Option<QueueId>),
    reason: DeadLetterReason,
    names: &Names,
) -> String {
    let why = match reason {
        DeadLetterReason::Rejected => "rejected",
        DeadLetterReason::DeliveryLimit => "x-delivery-limit reached",
        DeadLetterReason::Expired => "x-message-ttl expired",
        DeadLetterReason::MaxLen => "pushed out by x-max-length",
    };
    let (m, from) = (msg_name(msg), names.queue(from));
    match to {
        Some(to) => format!(
            "{m} moved from {from} to dead-letter queue {}: {why}",
            names.queue(to)
        ),
        None => format!("{m} was dropped from {from}: {why}, and there is no dead-letter queue"),
    }
}

/// A message a resume brought back from its durable queue's store.
fn carried(msg: MsgId, queue: &str, confirmed: bool, redelivered: bool) -> String {
    let confirmed = if confirmed {
        "confirmed before the page closed"
    } else {
        "written but never confirmed before the page closed"
    };
    let redelivered = if redelivered {
        "; delivered then and not acked, so it comes back redelivered"
    } else {
        ""
    };
    format!(
        "{} is back in {queue} from its store after the reload: persistent in a durable queue, {confirmed}{redelivered}",
        msg_name(msg)
    )
}
