//! The history in plain English: one short sentence per event, for the
//! page's event log and a message's story ("p1 published m5 (key k3)",
//! "c2 got m5 again, redelivered (delivery 2)").
//!
//! The JSON line ([`super::History::line`]) keeps every field for tools and
//! the golden hashes; a sentence says what happened to whom, and why, in the
//! broker's own words where it has them (`basic.nack`, `x-max-length`,
//! `session.timeout.ms`). Sentences are plain text: names from a scenario
//! file are never markup.
//!
//! | file | which events |
//! |---|---|
//! | `mod.rs` | the dispatcher, a message's way through the clients, world events |
//! | `queue.rs` | the queue broker's notes |
//! | `log.rs` | what a log producer or consumer did |
//! | `log_note.rs` | the log broker's notes and the transaction coordinator's |

mod log;
mod log_note;
mod queue;

use super::{msg_name, Entry, HistoryEvent, Names, OpType, Proc};
use crate::broker::{ClientId, Delivery};
use crate::config::{AckMode, ProcessingSpec, Setting};

/// One event as a sentence, its subject first: the process that recorded
/// it, or the consumer a delivery went to.
pub fn describe_event(ev: &HistoryEvent, names: &Names) -> String {
    let who = process_name(ev.process, names);
    match ev.entry {
        Entry::Broker(note) => queue::note(note, who, names),
        Entry::Log(e) => log::entry(e, who, names),
        Entry::Publish { .. }
        | Entry::Retry { .. }
        | Entry::AckSent { .. }
        | Entry::NackSent { .. }
        | Entry::Deduplicated { .. } => client_step(ev.entry, who, names),
        Entry::Process { ty, delivery } => processing(ty, delivery, who),
        Entry::Deliver { to, delivery } => delivered(to, delivery, names),
        Entry::Crash => format!("{who} crashed"),
        Entry::Restart => format!("{who} restarted"),
        Entry::Setting(set) => setting(set, who),
        Entry::DropAcks { until_ms } => {
            format!("{who}'s link drops acks until {}", time(until_ms))
        }
        Entry::NetDrop { msg, what, why } => {
            // A request's wire name in words: `poll_end` is a poll end.
            let what = what.replace('_', " ");
            match msg {
                Some(m) => format!(
                    "the {what} of {} was dropped on the way: {why}",
                    msg_name(m)
                ),
                None => format!("a {what} was dropped on the way: {why}"),
            }
        }
    }
}

/// The name the history gives a process (`broker`, `p1`, `c2`).
fn process_name(process: Proc, names: &Names) -> &str {
    match process {
        Proc::Broker(node) => node.name(),
        Proc::Client(c) => names.client(c),
    }
}

/// A virtual time as the page shows it: `850 ms`, `12.400 s`.
fn time(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{}.{:03} s", ms / 1000, ms % 1000)
    }
}

/// ` (key k3)`, or nothing for a message without a key.
fn key_part(key: Option<crate::broker::KeyId>, names: &Names) -> String {
    key.map(|k| format!(" (key {})", names.key(k)))
        .unwrap_or_default()
}

/// A producer's publish, retry and confirm; a consumer's ack, nack and
/// dedup skip.
fn client_step(entry: Entry, who: &str, names: &Names) -> String {
    match entry {
        Entry::Publish { ty, msg, key } => {
            let m = msg_name(msg);
            match ty {
                OpType::Invoke => format!("{who} published {m}{}", key_part(key, names)),
                OpType::Ok => format!("{who}'s publish of {m} was confirmed"),
                OpType::Fail => format!("{who}'s publish of {m} was refused"),
                OpType::Info => format!("{who} does not know whether {m} arrived (no confirm)"),
            }
        }
        Entry::Retry { msg, attempt } => format!(
            "{who} sent {} again (attempt {attempt}): no confirm in time",
            msg_name(msg)
        ),
        Entry::AckSent { msg, .. } => format!("{who} acked {}", msg_name(msg)),
        Entry::NackSent { msg, requeue, .. } => {
            let how = if requeue {
                "asking to requeue it"
            } else {
                "without requeue"
            };
            format!("{who} nacked {}, {how}", msg_name(msg))
        }
        Entry::Deduplicated { msg } => format!(
            "{who} skipped {}: already in its dedup store, the effect is not applied twice",
            msg_name(msg)
        ),
        other => unreachable_shown!(other, "is not a client step"),
    }
}

/// A consumer processing a delivery: started, done, failed or unknown.
fn processing(ty: OpType, d: Delivery, who: &str) -> String {
    let m = msg_name(d.msg.id);
    match ty {
        OpType::Invoke => format!("{who} started processing {m}"),
        OpType::Ok => format!("{who} processed {m}"),
        OpType::Fail => format!("{who} did not finish processing {m}"),
        OpType::Info => format!("{who} may or may not have processed {m}"),
    }
}

/// The broker handed `d` to consumer `to`; a redelivery says so.
fn delivered(to: ClientId, d: Delivery, names: &Names) -> String {
    let (c, m) = (names.client(to), msg_name(d.msg.id));
    if d.redelivered {
        format!(
            "{c} got {m} again, redelivered (delivery {})",
            d.delivery_count
        )
    } else {
        format!("{c} got {m} from {}", names.queue(d.queue))
    }
}

/// A live change of a client's settings.
fn setting(set: Setting, who: &str) -> String {
    match set {
        Setting::RatePerS(n) => format!("{who} now publishes {n} messages a second"),
        Setting::Keys(n) => format!("{who} now spreads its messages over {n} keys"),
        Setting::Processing(ProcessingSpec::FixedMs(ms)) => {
            format!("{who} now takes {ms} ms per message")
        }
        Setting::Processing(ProcessingSpec::UniformMs { min, max }) => {
            format!("{who} now takes {min} to {max} ms per message")
        }
        Setting::Prefetch(n) => format!("{who} set prefetch to {n}"),
        Setting::AckMode(mode) => {
            let when = match mode {
                AckMode::Auto => "on delivery (auto ack)",
                AckMode::BeforeProcessing => "before processing",
                AckMode::AfterProcessing => "after processing",
            };
            format!("{who} now acks {when}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::log::LogNote;
    use crate::broker::{DeliveryTag, Message, Note};
    use crate::node::NodeId;

    fn names() -> Names {
        Names {
            clients: ["p1", "c2"].map(String::from).to_vec(),
            keys: vec!["k0".into(), "k3".into()],
            queues: vec!["orders".into()],
            topics: vec!["orders".into()],
            groups: vec!["g1".into()],
            headers: Vec::new(),
        }
    }

    fn say(process: Proc, entry: Entry) -> String {
        let ev = HistoryEvent {
            time_ms: 10,
            process,
            entry,
        };
        describe_event(&ev, &names())
    }

    #[test]
    fn a_publish_a_redelivery_and_a_crash_loss_read_as_sentences() {
        let publish = Entry::Publish {
            ty: OpType::Invoke,
            msg: 5,
            key: Some(1),
        };
        assert_eq!(say(Proc::Client(0), publish), "p1 published m5 (key k3)");
        let delivery = Delivery {
            tag: DeliveryTag {
                incarnation: 1,
                n: 9,
            },
            queue: 0,
            msg: Message {
                id: 5,
                producer: 0,
                seq: 5,
                key: Some(1),
                payload_bytes: 10,
            },
            redelivered: true,
            delivery_count: 2,
            x_delivery_count: None,
            death: None,
        };
        let deliver = Entry::Deliver { to: 1, delivery };
        assert_eq!(
            say(Proc::Broker(NodeId::FIRST), deliver),
            "c2 got m5 again, redelivered (delivery 2)"
        );
        let lost = Note::Log(LogNote::LostInCrash {
            topic: 0,
            partition: 0,
            from: 12,
            to: 24,
        });
        assert_eq!(
            say(Proc::Broker(NodeId::FIRST), Entry::Broker(lost)),
            "the crash lost offsets 12 to 23 of orders-0: not on disk yet"
        );
    }
}
