//! How a durable queue's message store lays out one change in storage, and
//! how it reads it back.
//!
//! A durable queue writes what happens to its persistent messages, the way
//! RabbitMQ's queue index does: a message entered at a position, was
//! delivered, moved (a quorum queue's return), or left (acked,
//! dead-lettered, expired, dropped). Replaying a queue's stream from the
//! start gives the messages it holds and which of them were delivered.
//!
//! Every value starts with a kind byte and the position (little-endian):
//!
//! ```text
//!   0   u8   kind: 1 = enqueued, 2 = delivered, 3 = moved, 4 = removed,
//!            5 = enqueued with an `expiration`
//!   1   u64  position
//! enqueued  + 46: message id u64, producer u32, seq u64, key u32
//!                 (u32::MAX: none), payload bytes u32, delivery count u32,
//!                 redelivered u8, enqueued_ms u64, x-death reason u8
//!                 (0: none), x-death queue u32
//! enqueued with an expiration + 50: the same, then expiration ms u32
//! delivered + 4:  delivery count u32
//! moved     + 8:  the new position u64
//! removed   + 0
//! ```
//!
//! Reading is fallible: a value of another layout comes back as a
//! [`StoreLayoutError`] saying where and what, never as a panic.

use super::queues::Ready;
use crate::broker::{DeadLetterReason, Death, Message};
use std::fmt;

/// One change to a durable queue's persistent messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StoreEntry {
    /// A persistent message entered the queue at `position`.
    Enqueued {
        /// Where it sits in the queue.
        position: u64,
        /// The message as it entered.
        ready: Ready,
    },
    /// It was delivered: recovered, it comes back `redelivered`.
    Delivered {
        /// The message's position.
        position: u64,
        /// Deliveries so far, this one included.
        delivery_count: u32,
    },
    /// A quorum queue's return moved it behind the ready messages.
    Moved {
        /// Its old position.
        position: u64,
        /// Its new one.
        to: u64,
    },
    /// Acked, dead-lettered, expired or dropped: gone from the queue.
    Removed {
        /// The message's position.
        position: u64,
    },
}

/// A stored value whose layout this broker does not write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreLayoutError {
    /// The record's offset in its queue's stream.
    pub offset: u64,
    /// How many value bytes it has.
    pub value_len: usize,
    /// What is wrong with them, in words.
    pub why: &'static str,
}

impl fmt::Display for StoreLayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "queue store record at offset {}: {} ({} value bytes)",
            self.offset, self.why, self.value_len
        )
    }
}

const KIND_ENQUEUED: u8 = 1;
const KIND_DELIVERED: u8 = 2;
const KIND_MOVED: u8 = 3;
const KIND_REMOVED: u8 = 4;
/// An enqueued entry whose message has an `expiration` (kind 1 stays the
/// layout of every message without one).
const KIND_ENQUEUED_EXPIRING: u8 = 5;
/// Bytes of the kind and the position.
const HEAD_BYTES: usize = 9;
/// Bytes an enqueued entry adds after the head.
const ENQUEUED_BYTES: usize = 46;
/// `key` value that means "no key".
const NO_KEY: u32 = u32::MAX;

/// The value bytes of `entry` (see the module doc for the layout).
pub(super) fn encode(entry: &StoreEntry) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEAD_BYTES + ENQUEUED_BYTES);
    match *entry {
        StoreEntry::Enqueued { position, ready } => match ready.expiration_ms {
            None => {
                head(&mut v, KIND_ENQUEUED, position);
                encode_ready(&ready, &mut v);
            }
            Some(ms) => {
                head(&mut v, KIND_ENQUEUED_EXPIRING, position);
                encode_ready(&ready, &mut v);
                v.extend_from_slice(&ms.to_le_bytes());
            }
        },
        StoreEntry::Delivered {
            position,
            delivery_count,
        } => {
            head(&mut v, KIND_DELIVERED, position);
            v.extend_from_slice(&delivery_count.to_le_bytes());
        }
        StoreEntry::Moved { position, to } => {
            head(&mut v, KIND_MOVED, position);
            v.extend_from_slice(&to.to_le_bytes());
        }
        StoreEntry::Removed { position } => head(&mut v, KIND_REMOVED, position),
    }
    v
}

fn head(v: &mut Vec<u8>, kind: u8, position: u64) {
    v.push(kind);
    v.extend_from_slice(&position.to_le_bytes());
}

fn encode_ready(r: &Ready, v: &mut Vec<u8>) {
    v.extend_from_slice(&r.msg.id.to_le_bytes());
    v.extend_from_slice(&r.msg.producer.to_le_bytes());
    v.extend_from_slice(&r.msg.seq.to_le_bytes());
    v.extend_from_slice(&r.msg.key.unwrap_or(NO_KEY).to_le_bytes());
    v.extend_from_slice(&r.msg.payload_bytes.to_le_bytes());
    v.extend_from_slice(&r.delivery_count.to_le_bytes());
    v.push(u8::from(r.redelivered));
    v.extend_from_slice(&r.enqueued_ms.to_le_bytes());
    let (reason, queue) = r.death.map_or((0, 0), |d| (reason_code(d.reason), d.queue));
    v.push(reason);
    v.extend_from_slice(&queue.to_le_bytes());
}

fn reason_code(r: DeadLetterReason) -> u8 {
    match r {
        DeadLetterReason::Rejected => 1,
        DeadLetterReason::DeliveryLimit => 2,
        DeadLetterReason::Expired => 3,
        DeadLetterReason::MaxLen => 4,
    }
}

fn reason_of(code: u8) -> Option<Option<DeadLetterReason>> {
    match code {
        0 => Some(None),
        1 => Some(Some(DeadLetterReason::Rejected)),
        2 => Some(Some(DeadLetterReason::DeliveryLimit)),
        3 => Some(Some(DeadLetterReason::Expired)),
        4 => Some(Some(DeadLetterReason::MaxLen)),
        _ => None,
    }
}

/// Reads little-endian fields one after another, refusing to run past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let field = self.bytes.get(self.at..self.at + N)?;
        self.at += N;
        field.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
}

/// The inverse of [`encode`]; `offset` is the record's, for the error.
pub(super) fn decode(offset: u64, value: &[u8]) -> Result<StoreEntry, StoreLayoutError> {
    let bad = |why| StoreLayoutError {
        offset,
        value_len: value.len(),
        why,
    };
    let mut r = Reader {
        bytes: value,
        at: 0,
    };
    let (kind, position) = (r.u8(), r.u64());
    let (Some(kind), Some(position)) = (kind, position) else {
        return Err(bad(
            "shorter than the kind and position every entry starts with",
        ));
    };
    let entry = match kind {
        KIND_ENQUEUED => {
            let ready = decode_ready(&mut r).ok_or(bad("an enqueued entry cut short"))?;
            StoreEntry::Enqueued { position, ready }
        }
        KIND_ENQUEUED_EXPIRING => {
            let ready = decode_ready(&mut r).and_then(|ready| {
                let expiration_ms = Some(r.u32()?);
                Some(Ready {
                    expiration_ms,
                    ..ready
                })
            });
            let ready = ready.ok_or(bad("an enqueued entry cut short"))?;
            StoreEntry::Enqueued { position, ready }
        }
        KIND_DELIVERED => StoreEntry::Delivered {
            position,
            delivery_count: r.u32().ok_or(bad("a delivered entry cut short"))?,
        },
        KIND_MOVED => StoreEntry::Moved {
            position,
            to: r.u64().ok_or(bad("a moved entry cut short"))?,
        },
        KIND_REMOVED => StoreEntry::Removed { position },
        _ => return Err(bad("an unknown kind byte")),
    };
    if r.at != value.len() {
        return Err(bad("bytes after the entry's end"));
    }
    Ok(entry)
}

fn decode_ready(r: &mut Reader<'_>) -> Option<Ready> {
    let (id, producer, seq, key) = (r.u64()?, r.u32()?, r.u64()?, r.u32()?);
    let (payload_bytes, delivery_count) = (r.u32()?, r.u32()?);
    let redelivered = match r.u8()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let enqueued_ms = r.u64()?;
    let (reason, queue) = (reason_of(r.u8()?)?, r.u32()?);
    Some(Ready {
        msg: Message {
            id,
            producer,
            seq,
            key: (key != NO_KEY).then_some(key),
            payload_bytes,
        },
        delivery_count,
        redelivered,
        persistent: true,
        enqueued_ms,
        expiration_ms: None,
        death: reason.map(|reason| Death { reason, queue }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Ready {
        let msg = Message {
            id: 7,
            producer: 2,
            seq: 3,
            key: Some(4),
            payload_bytes: 100,
        };
        Ready {
            death: Some(Death {
                reason: DeadLetterReason::Expired,
                queue: 1,
            }),
            ..Ready::fresh(msg, props(None), 55)
        }
    }

    fn props(expiration_ms: Option<u32>) -> crate::broker::Properties {
        crate::broker::Properties {
            persistent: true,
            expiration_ms,
            headers: None,
        }
    }

    #[test]
    fn every_entry_reads_back_as_written() {
        let entries = [
            StoreEntry::Enqueued {
                position: 9,
                ready: sample(),
            },
            StoreEntry::Delivered {
                position: 9,
                delivery_count: 2,
            },
            StoreEntry::Moved {
                position: 9,
                to: 12,
            },
            StoreEntry::Removed { position: 12 },
            StoreEntry::Enqueued {
                position: 13,
                ready: Ready::fresh(sample().msg, props(Some(250)), 60),
            },
        ];
        for e in entries {
            assert_eq!(decode(0, &encode(&e)), Ok(e));
        }
    }

    #[test]
    fn a_foreign_value_is_an_error_naming_its_offset() {
        let cut = &encode(&StoreEntry::Enqueued {
            position: 1,
            ready: sample(),
        })[..20];
        let err = decode(41, cut).unwrap_err();
        assert_eq!(err.offset, 41);
        assert!(err.to_string().contains("cut short"), "{err}");
        assert!(decode(0, &[9; 9]).is_err());
        assert!(decode(0, &[]).is_err());
    }
}
