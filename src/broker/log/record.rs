//! How the log broker lays out one partition record in storage, and how it
//! reads it back.
//!
//! [`crate::storage::Record`] gives every record an offset, a timestamp, a
//! producer id, a key and a value; what the value holds is the broker's
//! business. Every value starts with the same 20 bytes (little-endian):
//!
//! ```text
//!   0   u64  message id
//!   8   u64  the producer's own sequence (the order it meant to publish in)
//!   16  u32  payload size in bytes
//! ```
//!
//! and ends with at most one *tail* that says who wrote it, told apart by
//! its length and its kind byte:
//!
//! ```text
//! none      20 bytes   a plain record (acks=0/1/all, no idempotence)
//! txn       + 11       producer id u64, epoch u16, kind u8:
//!                      0 = transactional data, 1 = commit marker, 2 = abort marker
//! idempotent + 15      producer id u64, epoch u16, kind u8 = 3, sequence u32
//! ```
//!
//! The idempotent tail is what Kafka keeps in its batch header
//! (`producerId`, `producerEpoch`, `baseSequence`): with it, recovery can
//! rebuild the idempotent producers' state from the log itself when the
//! `Producers` snapshot is stale (see [`super::producers`]). Logs
//! written before a tail existed read the same, since older layouts are
//! still exactly these lengths.
//!
//! Reading is fallible: the batch's CRC proves the bytes are the ones
//! written, not that this broker wrote them (a store shared with another
//! build, a hand-edited image). A value of any other layout comes back as a
//! [`RecordLayoutError`] that says where and what, never as a panic; the
//! broker then cuts the partition's log at that record, in memory and in
//! the store ([`crate::storage::Storage::truncate`]), and reports it as a
//! `truncated` with cause `bad_format`, as recovery reports a damaged batch.

use super::partition::StoredRecord;
use super::producers::{IdempotentTag, ProducerIdent};
use super::txn::TxnTag;
use crate::broker::{ClientId, KeyId, Message};
use crate::storage::{BatchEncoder, Record};
use std::fmt;

/// Bytes every record value starts with: message id, sequence, payload size.
const VALUE_HEAD_BYTES: usize = 20;

/// A stored value whose layout this broker does not write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordLayoutError {
    /// The record's offset in its partition.
    pub offset: u64,
    /// How many value bytes it has.
    pub value_len: usize,
    /// What is wrong with them, in words.
    pub why: &'static str,
}

impl fmt::Display for RecordLayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record at offset {}: {} ({} value bytes; this broker writes {}, {} or {})",
            self.offset,
            self.why,
            self.value_len,
            VALUE_HEAD_BYTES,
            VALUE_HEAD_BYTES + TXN_TAG_BYTES,
            VALUE_HEAD_BYTES + IDEMPOTENT_TAG_BYTES
        )
    }
}

/// The record `r` as storage keeps it (see the module doc for the layout).
/// The broker writes through [`push_record`]; this is the same layout as a
/// [`Record`], which the tests read back and compare with it.
#[cfg(test)]
pub(super) fn encode_record(r: &StoredRecord, key_names: &[String]) -> Record {
    let mut value = Vec::with_capacity(VALUE_BYTES_MAX);
    encode_value(r, &mut value);
    Record {
        offset: r.offset,
        timestamp_ms: r.timestamp_ms,
        producer_id: u64::from(r.msg.producer),
        key: r.msg.key.map(|k| key_names[k as usize].as_bytes().to_vec()),
        value,
    }
}

/// The longest value this broker writes (the head and an idempotent tail).
pub(super) const VALUE_BYTES_MAX: usize = VALUE_HEAD_BYTES + IDEMPOTENT_TAG_BYTES;

/// Appends `r` to `batch` exactly as [`encode_record`] lays it out, with no
/// [`Record`] in between: the group commit's path, which allocates nothing
/// per record. `scratch` is reused for the value.
pub(super) fn push_record(
    r: &StoredRecord,
    key_names: &[String],
    batch: &mut BatchEncoder,
    scratch: &mut Vec<u8>,
) {
    scratch.clear();
    encode_value(r, scratch);
    let key = r.msg.key.map(|k| key_names[k as usize].as_bytes());
    batch.push(r.timestamp_ms, u64::from(r.msg.producer), key, scratch);
}

/// The value bytes of `r` (see the module doc for the layout).
fn encode_value(r: &StoredRecord, value: &mut Vec<u8>) {
    assert!(
        r.txn.is_none() || r.idem.is_none(),
        "a record has one writer tail: transactional or idempotent"
    );
    value.extend_from_slice(&r.msg.id.to_le_bytes());
    value.extend_from_slice(&r.msg.seq.to_le_bytes());
    value.extend_from_slice(&r.msg.payload_bytes.to_le_bytes());
    encode_txn_tag(r.txn, value);
    if let Some(tag) = r.idem {
        encode_idem_tag(tag, value);
    }
}

/// The inverse of [`encode_record`]. `key_of` maps key bytes back to the
/// scenario's key ids (`None` for a key it does not know).
pub(super) fn decode_record(
    r: &Record,
    key_of: &dyn Fn(&[u8]) -> Option<KeyId>,
) -> Result<StoredRecord, RecordLayoutError> {
    let bad = |why| RecordLayoutError {
        offset: r.offset,
        value_len: r.value.len(),
        why,
    };
    let (head, tail) = r
        .value
        .split_at_checked(VALUE_HEAD_BYTES)
        .ok_or(bad("shorter than the 20 bytes every record starts with"))?;
    let (txn, idem) = decode_tail(tail).ok_or(bad("an unknown tail after the first 20 bytes"))?;
    let producer = ClientId::try_from(r.producer_id).map_err(|_| bad("producer id past u32"))?;
    let u64_at = |i: usize| u64::from_le_bytes(head[i..i + 8].try_into().expect("in 20 bytes"));
    let msg = Message {
        id: u64_at(0),
        producer,
        seq: u64_at(8),
        key: r.key.as_deref().and_then(key_of),
        payload_bytes: u32::from_le_bytes(head[16..20].try_into().expect("in 20 bytes")),
    };
    Ok(StoredRecord {
        offset: r.offset,
        timestamp_ms: r.timestamp_ms,
        msg,
        txn,
        idem,
    })
}

/// Bytes a [`TxnTag`] adds to a stored record's value.
const TXN_TAG_BYTES: usize = 11;

/// Appends the tag after the 20 bytes of a plain record: producer id, epoch,
/// kind (0 = data, 1 = commit marker, 2 = abort marker). Plain records stay
/// 20 bytes, so logs written before transactions existed read the same.
fn encode_txn_tag(tag: Option<TxnTag>, value: &mut Vec<u8>) {
    let Some(t) = tag else { return };
    value.extend_from_slice(&t.producer_id.to_le_bytes());
    value.extend_from_slice(&t.epoch.to_le_bytes());
    value.push(match t.marker {
        None => 0,
        Some(true) => 1,
        Some(false) => 2,
    });
}

/// The tag in `tail` (the bytes after a record's first 20), or `None` when
/// it is not a transactional tail.
fn decode_txn_tag(tail: &[u8]) -> Option<TxnTag> {
    let tail: &[u8; TXN_TAG_BYTES] = tail.try_into().ok()?;
    let [a, b, c, d, e, f, g, h, e0, e1, kind] = *tail;
    let marker = match kind {
        0 => None,
        1 => Some(true),
        2 => Some(false),
        _ => return None,
    };
    Some(TxnTag {
        producer_id: u64::from_le_bytes([a, b, c, d, e, f, g, h]),
        epoch: u16::from_le_bytes([e0, e1]),
        marker,
    })
}

/// Bytes an [`IdempotentTag`] adds after a stored record's 20 value bytes:
/// producer id (u64), epoch (u16), kind (u8, [`IDEMPOTENT_KIND`]),
/// sequence (u32). The first 11 bytes are laid out like a transactional
/// tag's (producer id, epoch, kind), so the kind byte tells them apart.
const IDEMPOTENT_TAG_BYTES: usize = 15;
/// The kind byte of an idempotent tail (a transactional tail uses 0, 1, 2).
const IDEMPOTENT_KIND: u8 = 3;

/// Appends an idempotent tail: producer id, epoch, kind 3, sequence.
fn encode_idem_tag(tag: IdempotentTag, value: &mut Vec<u8>) {
    value.extend_from_slice(&tag.producer.id.to_le_bytes());
    value.extend_from_slice(&tag.producer.epoch.to_le_bytes());
    value.push(IDEMPOTENT_KIND);
    value.extend_from_slice(&tag.sequence.to_le_bytes());
}

/// The tag in `tail` (the bytes after a record's 20), or `None` when
/// `tail` is not an idempotent tail.
fn decode_idem_tag(tail: &[u8]) -> Option<IdempotentTag> {
    let tail: &[u8; IDEMPOTENT_TAG_BYTES] = tail.try_into().ok()?;
    if tail[10] != IDEMPOTENT_KIND {
        return None;
    }
    let [a, b, c, d, e, f, g, h, e0, e1, _, s0, s1, s2, s3] = *tail;
    Some(IdempotentTag {
        producer: ProducerIdent {
            id: u64::from_le_bytes([a, b, c, d, e, f, g, h]),
            epoch: u16::from_le_bytes([e0, e1]),
        },
        sequence: u32::from_le_bytes([s0, s1, s2, s3]),
    })
}

/// The writer tail after the 20 head bytes; `None` for an unknown one.
type Tail = (Option<TxnTag>, Option<IdempotentTag>);

fn decode_tail(tail: &[u8]) -> Option<Tail> {
    match tail.len() {
        0 => Some((None, None)),
        TXN_TAG_BYTES => Some((Some(decode_txn_tag(tail)?), None)),
        IDEMPOTENT_TAG_BYTES => Some((None, Some(decode_idem_tag(tail)?))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(txn: Option<TxnTag>, idem: Option<IdempotentTag>) -> StoredRecord {
        StoredRecord {
            offset: 7,
            timestamp_ms: 42,
            msg: Message {
                id: 99,
                producer: 3,
                seq: 5,
                key: Some(1),
                payload_bytes: 128,
            },
            txn,
            idem,
        }
    }

    fn keys() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    fn key_of(k: &[u8]) -> Option<KeyId> {
        keys()
            .iter()
            .position(|n| n.as_bytes() == k)
            .map(|i| i as KeyId)
    }

    fn round_trip(r: StoredRecord) -> StoredRecord {
        decode_record(&encode_record(&r, &keys()), &key_of).expect("our own layout")
    }

    #[test]
    fn every_layout_reads_back_as_written() {
        let txn = TxnTag {
            producer_id: 1 << 40,
            epoch: 3,
            marker: Some(false),
        };
        let idem = IdempotentTag {
            producer: ProducerIdent {
                id: 1 << 33 | 2,
                epoch: 1,
            },
            sequence: 77,
        };
        for r in [
            record(None, None),
            record(Some(txn), None),
            record(None, Some(idem)),
        ] {
            let back = round_trip(r);
            assert_eq!((back.msg, back.txn, back.idem), (r.msg, r.txn, r.idem));
            assert_eq!((back.offset, back.timestamp_ms), (7, 42));
        }
        let len = |r| encode_record(&r, &keys()).value.len();
        assert_eq!(len(record(None, Some(idem))), 35);
        assert_eq!(len(record(Some(txn), None)), 31);
    }

    /// The group commit's path writes the very bytes a batch of
    /// [`encode_record`]s encodes to, tails and a missing key included.
    #[test]
    fn push_record_writes_what_a_record_batch_encodes() {
        let idem = IdempotentTag {
            producer: ProducerIdent { id: 9, epoch: 2 },
            sequence: 4,
        };
        let txn = TxnTag {
            producer_id: 5,
            epoch: 1,
            marker: None,
        };
        let mut unkeyed = record(None, None);
        unkeyed.msg.key = None;
        let records = [
            record(None, None),
            unkeyed,
            record(Some(txn), None),
            record(None, Some(idem)),
        ];
        let mut encoder = BatchEncoder::with_capacity(7, 0);
        let mut scratch = Vec::new();
        let mut expected = Vec::new();
        for (i, mut r) in records.into_iter().enumerate() {
            r.offset = 7 + i as u64;
            push_record(&r, &keys(), &mut encoder, &mut scratch);
            expected.push(encode_record(&r, &keys()));
        }
        let batch = crate::storage::RecordBatch {
            base_offset: 7,
            records: expected,
        };
        let pushed = encoder.finish().expect("four records");
        assert_eq!((pushed.base_offset, pushed.next_offset()), (7, 11));
        assert_eq!(pushed.bytes, batch.encode().expect("valid"));
    }

    #[test]
    fn an_unknown_layout_is_an_error_that_says_where_and_what() {
        let mut r = encode_record(&record(None, None), &keys());
        r.value.truncate(12);
        let e = decode_record(&r, &key_of).expect_err("cut short");
        assert_eq!((e.offset, e.value_len), (7, 12));
        assert!(e.to_string().contains("offset 7"), "{e}");
        for len in [21, 30, 34, 40] {
            r.value.resize(len, 0);
            decode_record(&r, &key_of).expect_err("no such tail");
        }
        // Right length, wrong kind byte: a txn-length tail of kind 3, an
        // idempotent-length tail of kind 0.
        r.value.resize(31, 0);
        r.value[30] = 3;
        assert!(decode_record(&r, &key_of).is_err());
        r.value.resize(35, 0);
        r.value[30] = 0;
        assert!(decode_record(&r, &key_of).is_err());
    }
}
