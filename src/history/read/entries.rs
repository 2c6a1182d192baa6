//! One line's `f` turned into an [`Entry`]: client operations, the queue
//! broker's notes, world events, log clients' steps and log-broker notes.
//! The field names are the ones [`crate::history::History::to_jsonl`] writes.

use super::{Fields, ReadError, Reader};
use crate::broker::log::{LogNote, PartitionId, PartitionSet, Seek, TopicId};
use crate::broker::{DeadLetterReason, Delivery, Message, Note, ReturnReason};
use crate::history::{Entry, LogEntry, OpType, Proc};

/// Partitions an `assigned` line may name: one bit each in a [`PartitionSet`].
const PARTITION_BITS: u64 = PartitionSet::BITS as u64;

impl Reader {
    /// The entry a line stands for (`None` for a line read and skipped).
    pub(super) fn entry(
        &mut self,
        f: &str,
        process: Proc,
        l: &Fields<'_>,
    ) -> Result<Option<Entry>, ReadError> {
        let entry = match f {
            "publish" | "retry" | "process" | "ack" | "nack" | "deliver" | "redeliver"
            | "deduplicated" => self.client_op(f, l)?,
            "enqueue" | "delete" | "requeue" | "dead_letter" | "drop" | "reject_publish"
            | "unroutable" | "duplicate_dropped" | "lost_from_disk" | "restored" | "carried" => {
                Entry::Broker(self.queue_note(f, l)?)
            }
            "lost_in_crash" if !l.has("topic") => Entry::Broker(self.queue_note(f, l)?),
            "crash" => Entry::Crash,
            "restart" => Entry::Restart,
            "drop_acks" => Entry::DropAcks {
                until_ms: l.u64("until_ms")?,
            },
            "assign" | "idle" => {
                self.out.log = true;
                Entry::Broker(Note::Log(LogNote::Assigned {
                    group: self.group(l)?,
                    generation: l.small("generation")?,
                    member: self.client(l.str("consumer")?),
                    partitions: partition_set(l)?,
                }))
            }
            "produced" | "init_producer_id" | "poll" | "read" | "seek" | "join_group"
            | "assigned" | "commit" | "leave_group" => {
                self.out.log = true;
                Entry::Log(self.log_step(f, l)?)
            }
            "append" | "durable" | "retention_delete" | "lost_in_crash" | "recovered" => {
                self.out.log = true;
                Entry::Broker(Note::Log(self.log_note(f, l)?))
            }
            other => return Err(l.err("f", format!("unknown event `{other}`"))),
        };
        self.note_publish(process, &entry);
        Ok(Some(entry))
    }

    /// A message's way through the clients (see `jsonl::client_op`); `process` is the
    /// log consumer's when it names a partition.
    fn client_op(&mut self, f: &str, l: &Fields<'_>) -> Result<Entry, ReadError> {
        Ok(match f {
            "publish" => Entry::Publish {
                ty: l.op()?,
                msg: l.msg("msg")?,
                key: l.opt_str("key")?.map(|k| self.key(k)),
            },
            "retry" => Entry::Retry {
                msg: l.msg("msg")?,
                attempt: l.small("attempt")?,
            },
            "process" if l.has("partition") => {
                self.out.log = true;
                Entry::Log(self.log_step(f, l)?)
            }
            "process" => Entry::Process {
                ty: l.op()?,
                delivery: self.delivery(l)?,
            },
            "ack" => Entry::AckSent {
                msg: l.msg("msg")?,
                tag: l.tag("tag")?,
            },
            "nack" => Entry::NackSent {
                msg: l.msg("msg")?,
                tag: l.tag("tag")?,
                requeue: l.opt_bool("requeue")?.unwrap_or(true),
            },
            "deliver" | "redeliver" => Entry::Deliver {
                to: self.client(l.str("consumer")?),
                delivery: self.delivery(l)?,
            },
            _ => Entry::Deduplicated { msg: l.msg("msg")? },
        })
    }

    /// A delivery's fields: message, key, queue, tag, `redelivered`, count.
    /// Its producer and place in the producer's order come from the
    /// message's publish; a message never published (an `unexpected` one)
    /// is given the consumer's id as its producer, which nothing prints.
    fn delivery(&mut self, l: &Fields<'_>) -> Result<Delivery, ReadError> {
        let id = l.msg("msg")?;
        let key = l.opt_str("key")?.map(|k| self.key(k));
        let queue = self.queue(l.str("queue")?);
        let fallback = match l.opt_str("consumer")? {
            Some(c) => self.client(c),
            None => 0,
        };
        let (producer, seq) = self.producer_of.get(&id).copied().unwrap_or((fallback, 0));
        let delivery_count: u32 = match l.opt_u64("delivery_count")? {
            Some(_) => l.small("delivery_count")?,
            None => 1,
        };
        Ok(Delivery {
            tag: l.tag("tag")?,
            queue,
            msg: Message {
                id,
                producer,
                seq,
                key,
                payload_bytes: 0,
            },
            redelivered: l.opt_bool("redelivered")?.unwrap_or(false),
            delivery_count,
            x_delivery_count: None,
            death: None,
        })
    }

    /// A queue broker's note (see `jsonl::queue::describe_note`).
    fn queue_note(&mut self, f: &str, l: &Fields<'_>) -> Result<Note, ReadError> {
        let msg = l.msg("msg")?;
        if f == "unroutable" {
            return Ok(Note::Unroutable { msg });
        }
        let queue = self.queue(l.str("queue")?);
        Ok(match f {
            "enqueue" => Note::Enqueued { msg, queue },
            "delete" => Note::Deleted { msg, queue },
            "requeue" => Note::Requeued {
                msg,
                queue,
                reason: self.return_reason(l)?,
            },
            "dead_letter" | "drop" => Note::DeadLettered {
                msg,
                from: queue,
                to: match l.opt_str("to_queue")? {
                    Some(q) => Some(self.queue(q)),
                    None if f == "dead_letter" => return Err(l.err("to_queue", "missing")),
                    None => None,
                },
                reason: dead_letter_reason(l)?,
            },
            "reject_publish" => Note::RejectedPublish { msg, queue },
            "duplicate_dropped" => Note::DuplicateDropped { msg, queue },
            "lost_from_disk" => Note::LostFromDisk { msg, queue },
            "restored" => Note::Restored { msg, queue },
            "carried" => Note::Carried {
                msg,
                queue,
                confirmed: match l.str("reason")? {
                    crate::history::jsonl::queue::CARRIED_CONFIRMED => true,
                    crate::history::jsonl::queue::CARRIED_UNCONFIRMED => false,
                    _ => return Err(l.err("reason", "not a reason a carried message has")),
                },
                redelivered: l.opt_bool("redelivered")?.unwrap_or(false),
            },
            _ => Note::LostInCrash { msg, queue },
        })
    }

    /// Why a `requeue` happened.
    fn return_reason(&mut self, l: &Fields<'_>) -> Result<ReturnReason, ReadError> {
        match l.str("reason")? {
            "nack" => Ok(ReturnReason::Nack),
            "channel_closed" => Ok(ReturnReason::ChannelClosed(self.client(l.str("consumer")?))),
            "visibility_timeout" => Ok(ReturnReason::VisibilityTimeout),
            other => Err(l.err(
                "reason",
                format!("expected nack, channel_closed or visibility_timeout, found `{other}`"),
            )),
        }
    }

    /// A log client's step (see `jsonl::log::describe_log`).
    fn log_step(&mut self, f: &str, l: &Fields<'_>) -> Result<LogEntry, ReadError> {
        Ok(match f {
            "produced" => LogEntry::Produced {
                msg: l.msg("msg")?,
                partition: l.small("partition")?,
                offset: l.u64("offset")?,
            },
            "init_producer_id" => producer_id(l)?,
            "poll" => LogEntry::Poll {
                poll: l.u64("poll")?,
            },
            "read" => LogEntry::Read {
                poll: l.u64("poll")?,
                partition: l.small("partition")?,
                offset: l.u64("offset")?,
                msg: l.msg("msg")?,
                key: l.opt_str("key")?.map(|k| self.key(k)),
            },
            "process" => LogEntry::Process {
                ty: l.op()?,
                partition: l.small("partition")?,
                offset: l.u64("offset")?,
                msg: l.msg("msg")?,
                key: l.opt_str("key")?.map(|k| self.key(k)),
            },
            "seek" => LogEntry::Seek {
                partition: l.small("partition")?,
                to: seek(l)?,
            },
            "join_group" => LogEntry::Join {
                group: self.group(l)?,
            },
            "leave_group" => LogEntry::Leave {
                group: self.group(l)?,
            },
            "assigned" => LogEntry::Assigned {
                generation: l.small("generation")?,
                partitions: partition_set(l)?,
            },
            _ => commit(l)?,
        })
    }

    /// The id of the line's `group`.
    fn group(&mut self, l: &Fields<'_>) -> Result<u16, ReadError> {
        let id = self.groups.id(l.str("group")?, &mut self.out.names.groups);
        u16::try_from(id).map_err(|_| l.err("group", "too many groups"))
    }

    /// The id of the line's `topic`.
    fn topic(&mut self, l: &Fields<'_>) -> Result<TopicId, ReadError> {
        let id = self.topics.id(l.str("topic")?, &mut self.out.names.topics);
        TopicId::try_from(id).map_err(|_| l.err("topic", "too many topics"))
    }

    /// A log broker's note about records (see `jsonl::log_note::records`).
    fn log_note(&mut self, f: &str, l: &Fields<'_>) -> Result<LogNote, ReadError> {
        let topic = self.topic(l)?;
        let partition: PartitionId = l.small("partition")?;
        Ok(match f {
            "append" => LogNote::Appended {
                msg: l.msg("msg")?,
                topic,
                partition,
                offset: l.u64("offset")?,
            },
            "durable" => LogNote::Durable {
                topic,
                partition,
                to: l.u64("to_offset")?,
            },
            "recovered" => LogNote::Recovered {
                topic,
                partition,
                to: l.u64("to_offset")?,
            },
            "retention_delete" => LogNote::RetentionDeleted {
                topic,
                partition,
                from: l.u64("offset")?,
                to: l.u64("to_offset")?,
            },
            _ => LogNote::LostInCrash {
                topic,
                partition,
                from: l.u64("offset")?,
                to: l.u64("to_offset")?,
            },
        })
    }
}

/// `reason` of a `dead_letter` or `drop`.
fn dead_letter_reason(l: &Fields<'_>) -> Result<DeadLetterReason, ReadError> {
    match l.str("reason")? {
        "rejected" => Ok(DeadLetterReason::Rejected),
        "delivery_limit" => Ok(DeadLetterReason::DeliveryLimit),
        "expired" => Ok(DeadLetterReason::Expired),
        "maxlen" => Ok(DeadLetterReason::MaxLen),
        other => Err(l.err(
            "reason",
            format!("expected rejected, delivery_limit, expired or maxlen, found `{other}`"),
        )),
    }
}

/// `init_producer_id`: its `tag` reads `pid 7 epoch 0`.
fn producer_id(l: &Fields<'_>) -> Result<LogEntry, ReadError> {
    let tag = l.str("tag")?;
    let mut words = tag.split(' ');
    let parsed = match (words.next(), words.next(), words.next(), words.next()) {
        (Some("pid"), Some(pid), Some("epoch"), Some(epoch)) => {
            pid.parse().ok().zip(epoch.parse().ok())
        }
        _ => None,
    };
    let (producer_id, epoch) =
        parsed.ok_or_else(|| l.err("tag", format!("expected `pid N epoch E`, found `{tag}`")))?;
    Ok(LogEntry::ProducerId { producer_id, epoch })
}

/// A `seek`'s target by its Kinesis iterator name (`what`).
fn seek(l: &Fields<'_>) -> Result<Seek, ReadError> {
    Ok(match l.str("what")? {
        "TRIM_HORIZON" => Seek::Earliest,
        "LATEST" => Seek::Latest,
        "AT_SEQUENCE_NUMBER" => Seek::Offset(l.u64("offset")?),
        "AT_TIMESTAMP" => Seek::Timestamp(l.u64("offset")?),
        other => {
            return Err(l.err(
                "what",
                format!("expected TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER or AT_TIMESTAMP, found `{other}`"),
            ))
        }
    })
}

/// `assigned`'s `partitions`: a list of partition numbers.
fn partition_set(l: &Fields<'_>) -> Result<PartitionSet, ReadError> {
    let list = l.obj.get("partitions").and_then(|v| v.as_array());
    let list = list.ok_or_else(|| l.err("partitions", "missing (expected a list of numbers)"))?;
    let mut set: PartitionSet = 0;
    for v in list {
        match v.as_u64() {
            Some(p) if p < PARTITION_BITS => set |= 1 << p,
            _ => {
                return Err(l.err(
                    "partitions",
                    format!("expected partition numbers below {PARTITION_BITS}, found {v}"),
                ))
            }
        }
    }
    Ok(set)
}

/// `commit`: an `event` when sent, `ok` / `fail` / `info` when it ended
/// (its `reason` is not read back: no checker reads it).
fn commit(l: &Fields<'_>) -> Result<LogEntry, ReadError> {
    let partition = l.small("partition")?;
    let offset = l.u64("offset")?;
    if l.str("type")? == "event" {
        return Ok(LogEntry::Commit { partition, offset });
    }
    let ty = l.op()?;
    if ty == OpType::Invoke {
        return Err(l.err("type", "a commit ends with ok, fail or info"));
    }
    Ok(LogEntry::CommitDone {
        ty,
        partition,
        offset,
        error: None,
    })
}
