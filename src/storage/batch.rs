//! The record batch: the unit of persistence, as in Kafka.
//!
//! A broker never writes one record at a time. It groups records into a
//! *record batch*, writes the batch as one blob, and protects the blob with a
//! CRC-32C (the Castagnoli polynomial, the checksum Kafka, ext4 and iSCSI use,
//! with hardware support on x86 and ARM). On restart the log is read batch by
//! batch; the first batch whose checksum does not match, or that is cut short,
//! marks the end of the trustworthy log.
//!
//! ## Byte layout (all integers little-endian)
//!
//! ```text
//! batch header, HEADER_LEN = 24 bytes
//!   0   u32  batch_len      bytes in the whole batch, header included
//!   4   u32  crc32c         CRC-32C of bytes [8 .. batch_len)
//!   8   u8   magic          format version, MAGIC = 1
//!   9   [u8; 3] reserved    zero
//!   12  u32  record_count   records in the body, 1 ..= BATCH_RECORDS_MAX
//!   16  u64  base_offset    offset of the first record
//! body: record_count records, each
//!   0   u64  timestamp_ms   virtual time the producer stamped it with
//!   8   u64  producer_id
//!   16  u32  key_len        NO_KEY (u32::MAX) means "no key"
//!   20  u32  value_len
//!   24  key bytes, then value bytes
//! ```
//!
//! Why these choices:
//! - **Length first.** A reader can skip to the next batch without parsing
//!   records, and can tell a batch cut short by a crash ("length past end")
//!   from one whose bytes changed ("CRC mismatch").
//! - **The CRC covers everything after itself**, header fields included, as in
//!   Kafka's v2 format. A flipped bit in `base_offset` or `record_count` is
//!   caught too, not only one in a record.
//! - **Offsets are implicit.** Records in a batch have dense offsets
//!   `base_offset, base_offset + 1, ...`, so the body does not repeat them.
//! - **Fixed-width fields, no varints.** Decoding is a handful of bounds
//!   checks and copies per record, which keeps recovery of a million records
//!   well under a second (see `scripts/bench-storage.sh`).
//!
//! Decoding never panics on bad input: every problem comes back as a
//! [`DecodeError`] that says what is wrong and at which byte.

use std::fmt;

/// Bytes in the batch header.
pub const HEADER_LEN: usize = 24;
/// Bytes in each record's fixed part (before key and value).
pub const RECORD_HEADER_LEN: usize = 24;
/// Format version written in every header. A different value means garbage or
/// a future format, and recovery stops there.
pub const MAGIC: u8 = 1;
/// `key_len` value that means "this record has no key" (distinct from an
/// empty key, which Kafka also distinguishes).
pub const NO_KEY: u32 = u32::MAX;
/// Upper bound on one encoded batch. Bounds the memory a corrupt `batch_len`
/// could make a reader trust, and keeps one IndexedDB value reasonably small.
pub const BATCH_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Upper bound on records in one batch (a Kafka producer's batches are far
/// smaller; this only stops a corrupt count from driving a huge allocation).
pub const BATCH_RECORDS_MAX: usize = 1 << 20;

/// One record, as a producer sent it and a consumer will read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Position in its stream's log. Dense within a batch.
    pub offset: u64,
    /// Virtual time (ms) stamped by the producer; never a wall clock.
    pub timestamp_ms: u64,
    /// Which producer wrote it; the idempotent-producer dedup state is keyed by it.
    pub producer_id: u64,
    /// Partitioning key. `None` and `Some(empty)` are different things.
    pub key: Option<Vec<u8>>,
    /// The payload, opaque to storage (the broker's record layout).
    pub value: Vec<u8>,
}

/// Records with consecutive offsets starting at `base_offset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordBatch {
    /// Offset of the first record; the batch's place in its stream.
    pub base_offset: u64,
    /// The records, at `base_offset`, `base_offset + 1`, ...
    pub records: Vec<Record>,
}

/// Why a batch could not be encoded. The caller built too big a batch; this
/// is an error (the caller can split it), not a panic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// No records: a batch always holds at least one.
    Empty,
    /// More than [`BATCH_RECORDS_MAX`] records.
    TooManyRecords {
        /// Records the caller put in the batch.
        record_count: usize,
    },
    /// The encoded batch would exceed [`BATCH_BYTES_MAX`].
    TooLarge {
        /// Its encoded length in bytes.
        batch_len: usize,
    },
    /// `records[index].offset` is not `base_offset + index`.
    OffsetNotDense {
        /// The record's index in the batch.
        index: usize,
        /// The offset it should have.
        expected: u64,
        /// The offset it has.
        found: u64,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::Empty => write!(f, "a record batch needs at least one record"),
            EncodeError::TooManyRecords { record_count } => write!(
                f,
                "{record_count} records in one batch, more than BATCH_RECORDS_MAX = {BATCH_RECORDS_MAX}"
            ),
            EncodeError::TooLarge { batch_len } => write!(
                f,
                "batch of {batch_len} bytes, more than BATCH_BYTES_MAX = {BATCH_BYTES_MAX}"
            ),
            EncodeError::OffsetNotDense { index, expected, found } => write!(
                f,
                "record {index} has offset {found}, expected {expected} (offsets in a batch are dense)"
            ),
        }
    }
}

impl std::error::Error for EncodeError {}

/// What is wrong with stored bytes, and where (`at` is the byte position of
/// the batch in the buffer handed to the decoder).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer than [`HEADER_LEN`] bytes left: a crash cut the header short.
    TornHeader {
        /// Byte position of the batch.
        at: usize,
        /// Bytes left from there.
        available: usize,
    },
    /// `batch_len` cannot be right (smaller than a header or above the cap).
    BadLength {
        /// Byte position of the batch.
        at: usize,
        /// The length its header claims.
        batch_len: usize,
    },
    /// `batch_len` says the batch goes past the end of the data: a torn write.
    LengthPastEnd {
        /// Byte position of the batch.
        at: usize,
        /// The length its header claims.
        batch_len: usize,
        /// Bytes actually left from `at`.
        available: usize,
    },
    /// The bytes changed after they were written.
    CrcMismatch {
        /// Byte position of the batch.
        at: usize,
        /// The checksum stored in the header.
        expected: u32,
        /// The checksum of the bytes found.
        actual: u32,
    },
    /// The checksum matched but the header is not one we wrote.
    BadMagic {
        /// Byte position of the batch.
        at: usize,
        /// The magic byte found.
        found: u8,
    },
    /// The checksum matched but the record count is zero or above
    /// [`BATCH_RECORDS_MAX`].
    BadRecordCount {
        /// Byte position of the batch.
        at: usize,
        /// The count the header claims.
        record_count: usize,
    },
    /// The checksum matched but record `index` does not fit in the body.
    BadRecord {
        /// Byte position of the batch.
        at: usize,
        /// Index of the record that does not fit.
        index: usize,
    },
    /// A stored value holds more than one batch's bytes.
    TrailingBytes {
        /// Byte position of the batch.
        at: usize,
        /// Bytes after its end.
        extra: usize,
    },
}

impl DecodeError {
    /// True for the damage an interrupted write leaves (as opposed to bytes
    /// that changed after they were written).
    pub fn is_torn(&self) -> bool {
        matches!(
            self,
            DecodeError::TornHeader { .. } | DecodeError::LengthPastEnd { .. }
        )
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TornHeader { at, available } => write!(
                f,
                "torn header at byte {at}: {available} bytes left, a header needs {HEADER_LEN}"
            ),
            DecodeError::BadLength { at, batch_len } => {
                write!(f, "impossible batch length {batch_len} at byte {at}")
            }
            DecodeError::LengthPastEnd { at, batch_len, available } => write!(
                f,
                "torn batch at byte {at}: header says {batch_len} bytes, only {available} present"
            ),
            DecodeError::CrcMismatch { at, expected, actual } => write!(
                f,
                "CRC-32C mismatch at byte {at}: header says {expected:#010x}, bytes give {actual:#010x}"
            ),
            DecodeError::BadMagic { at, found } => {
                write!(f, "unknown batch format {found} at byte {at} (expected {MAGIC})")
            }
            DecodeError::BadRecordCount { at, record_count } => {
                write!(f, "impossible record count {record_count} at byte {at}")
            }
            DecodeError::BadRecord { at, index } => {
                write!(f, "record {index} of the batch at byte {at} overruns the batch")
            }
            DecodeError::TrailingBytes { at, extra } => {
                write!(f, "{extra} unexpected bytes after the batch at byte {at}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

impl Record {
    fn encoded_len(&self) -> usize {
        RECORD_HEADER_LEN + self.key.as_ref().map_or(0, Vec::len) + self.value.len()
    }
}

impl RecordBatch {
    /// Offset one past the last record: where the next batch must start.
    pub fn next_offset(&self) -> u64 {
        self.base_offset + self.records.len() as u64
    }

    /// Bytes [`encode`](Self::encode) will produce.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.records.iter().map(Record::encoded_len).sum::<usize>()
    }

    /// Serializes the batch in the layout described in the module docs.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        Ok(self.encoded()?.bytes)
    }

    /// [`encode`](Self::encode), keeping the batch's offsets beside its bytes.
    pub fn encoded(&self) -> Result<EncodedBatch, EncodeError> {
        self.check_encodable()?;
        let mut encoder = BatchEncoder::with_capacity(self.base_offset, self.encoded_len());
        for record in &self.records {
            encoder.push(
                record.timestamp_ms,
                record.producer_id,
                record.key.as_deref(),
                &record.value,
            );
        }
        let batch = encoder.finish()?;
        assert_eq!(
            batch.bytes.len(),
            self.encoded_len(),
            "encoded_len and encode disagree"
        );
        Ok(batch)
    }

    fn check_encodable(&self) -> Result<(), EncodeError> {
        if self.records.is_empty() {
            return Err(EncodeError::Empty);
        }
        if self.records.len() > BATCH_RECORDS_MAX {
            return Err(EncodeError::TooManyRecords {
                record_count: self.records.len(),
            });
        }
        let batch_len = self.encoded_len();
        if batch_len > BATCH_BYTES_MAX {
            return Err(EncodeError::TooLarge { batch_len });
        }
        for (index, record) in self.records.iter().enumerate() {
            let expected = self.base_offset + index as u64;
            if record.offset != expected {
                return Err(EncodeError::OffsetNotDense {
                    index,
                    expected,
                    found: record.offset,
                });
            }
        }
        Ok(())
    }
}

/// A batch in its stored form: the bytes of the layout in the module docs,
/// with the offsets they cover (what a store needs to place it in its stream).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedBatch {
    /// Offset of the first record.
    pub base_offset: u64,
    /// Records in the batch, at least one.
    pub record_count: u32,
    /// The encoded batch, header and CRC included.
    pub bytes: Vec<u8>,
}

impl EncodedBatch {
    /// Offset one past the last record: where the next batch must start.
    pub fn next_offset(&self) -> u64 {
        self.base_offset + u64::from(self.record_count)
    }
}

/// Writes a batch's records straight into its bytes, one at a time, so a
/// group commit of many records costs one allocation instead of a
/// [`Record`] (two buffers) each. The profile of the log workload
/// (callgrind, 4 partitions, `acks=all`) had nearly every `malloc` of the
/// run in building records for a flush.
#[derive(Debug)]
pub struct BatchEncoder {
    /// Offset of the first record.
    base_offset: u64,
    /// Records pushed so far.
    record_count: usize,
    /// The header (its length, count and CRC filled in by `finish`), then
    /// the records pushed so far.
    bytes: Vec<u8>,
}

impl BatchEncoder {
    /// An empty batch starting at `base_offset`, with room for `bytes_hint` bytes.
    pub fn with_capacity(base_offset: u64, bytes_hint: usize) -> BatchEncoder {
        let mut bytes = Vec::with_capacity(bytes_hint.clamp(HEADER_LEN, BATCH_BYTES_MAX));
        bytes.extend_from_slice(&[0; 4]); // batch_len, filled in by `finish`
        bytes.extend_from_slice(&[0; 4]); // CRC, filled in by `finish`
        bytes.extend_from_slice(&[MAGIC, 0, 0, 0]);
        bytes.extend_from_slice(&[0; 4]); // record_count, filled in by `finish`
        bytes.extend_from_slice(&base_offset.to_le_bytes());
        BatchEncoder {
            base_offset,
            record_count: 0,
            bytes,
        }
    }

    /// Appends the next record (its offset is `base_offset` + records so far).
    pub fn push(&mut self, timestamp_ms: u64, producer_id: u64, key: Option<&[u8]>, value: &[u8]) {
        let key_len = key.map_or(NO_KEY, |key| key.len() as u32);
        self.bytes.extend_from_slice(&timestamp_ms.to_le_bytes());
        self.bytes.extend_from_slice(&producer_id.to_le_bytes());
        self.bytes.extend_from_slice(&key_len.to_le_bytes());
        self.bytes
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        if let Some(key) = key {
            self.bytes.extend_from_slice(key);
        }
        self.bytes.extend_from_slice(value);
        self.record_count += 1;
    }

    /// Fills in the header and the CRC. Refuses an empty batch and one past
    /// [`BATCH_RECORDS_MAX`] records or [`BATCH_BYTES_MAX`] bytes.
    pub fn finish(mut self) -> Result<EncodedBatch, EncodeError> {
        if self.record_count == 0 {
            return Err(EncodeError::Empty);
        }
        if self.record_count > BATCH_RECORDS_MAX {
            let record_count = self.record_count;
            return Err(EncodeError::TooManyRecords { record_count });
        }
        let batch_len = self.bytes.len();
        if batch_len > BATCH_BYTES_MAX {
            return Err(EncodeError::TooLarge { batch_len });
        }
        let record_count = u32::try_from(self.record_count).expect("below BATCH_RECORDS_MAX");
        self.bytes[0..4].copy_from_slice(&(batch_len as u32).to_le_bytes());
        self.bytes[12..16].copy_from_slice(&record_count.to_le_bytes());
        let crc = castagnoli(&self.bytes[8..]);
        self.bytes[4..8].copy_from_slice(&crc.to_le_bytes());
        Ok(EncodedBatch {
            base_offset: self.base_offset,
            record_count,
            bytes: self.bytes,
        })
    }
}

/// The checked header of one batch: enough to skip it or to know its offsets
/// without decoding records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// Bytes of the whole batch, header included.
    pub batch_len: usize,
    /// Records in it.
    pub record_count: usize,
    /// Offset of its first record.
    pub base_offset: u64,
}

/// Checks the batch starting at `buf[at..]`: length, CRC-32C, magic and
/// record count. Does not look inside records (the CRC vouches for them).
pub fn check_batch(buf: &[u8], at: usize) -> Result<BatchHeader, DecodeError> {
    assert!(
        at <= buf.len(),
        "check_batch: start {at} past the end {}",
        buf.len()
    );
    let available = buf.len() - at;
    if available < HEADER_LEN {
        return Err(DecodeError::TornHeader { at, available });
    }
    let header = &buf[at..at + HEADER_LEN];
    let batch_len = read_u32(header, 0) as usize;
    if !(HEADER_LEN..=BATCH_BYTES_MAX).contains(&batch_len) {
        return Err(DecodeError::BadLength { at, batch_len });
    }
    if batch_len > available {
        return Err(DecodeError::LengthPastEnd {
            at,
            batch_len,
            available,
        });
    }
    let expected = read_u32(header, 4);
    let actual = castagnoli(&buf[at + 8..at + batch_len]);
    if expected != actual {
        return Err(DecodeError::CrcMismatch {
            at,
            expected,
            actual,
        });
    }
    if header[8] != MAGIC {
        return Err(DecodeError::BadMagic {
            at,
            found: header[8],
        });
    }
    let record_count = read_u32(header, 12) as usize;
    // Every record takes at least RECORD_HEADER_LEN bytes: a count that cannot
    // fit would otherwise drive a huge `Vec::with_capacity`.
    // (Bound the count first so the multiplication cannot overflow on wasm32.)
    let fits = |count: usize| count * RECORD_HEADER_LEN <= batch_len - HEADER_LEN;
    if record_count == 0 || record_count > BATCH_RECORDS_MAX || !fits(record_count) {
        return Err(DecodeError::BadRecordCount { at, record_count });
    }
    let base_offset = read_u64(header, 16);
    Ok(BatchHeader {
        batch_len,
        record_count,
        base_offset,
    })
}

/// Decodes one batch from the front of `buf[at..]` and returns it with the
/// number of bytes it used, so a caller can walk a log of concatenated batches.
pub fn decode_batch(buf: &[u8], at: usize) -> Result<(RecordBatch, usize), DecodeError> {
    let header = check_batch(buf, at)?;
    let body = &buf[at + HEADER_LEN..at + header.batch_len];
    let mut records = Vec::with_capacity(header.record_count);
    let mut pos = 0;
    for index in 0..header.record_count {
        let offset = header.base_offset.wrapping_add(index as u64);
        let (record, used) =
            decode_record(&body[pos..], offset).ok_or(DecodeError::BadRecord { at, index })?;
        records.push(record);
        pos += used;
    }
    if pos != body.len() {
        let extra = body.len() - pos;
        return Err(DecodeError::TrailingBytes { at, extra });
    }
    let batch = RecordBatch {
        base_offset: header.base_offset,
        records,
    };
    Ok((batch, header.batch_len))
}

/// Decodes a buffer that must hold exactly one batch (one stored value).
pub fn decode_exact(buf: &[u8]) -> Result<RecordBatch, DecodeError> {
    let (batch, used) = decode_batch(buf, 0)?;
    if used != buf.len() {
        return Err(DecodeError::TrailingBytes {
            at: 0,
            extra: buf.len() - used,
        });
    }
    Ok(batch)
}

/// One record from the front of `body`; `None` if it does not fit.
fn decode_record(body: &[u8], offset: u64) -> Option<(Record, usize)> {
    let fixed = body.get(..RECORD_HEADER_LEN)?;
    let timestamp_ms = read_u64(fixed, 0);
    let producer_id = read_u64(fixed, 8);
    let key_len = read_u32(fixed, 16);
    let value_len = read_u32(fixed, 20) as usize;
    let mut pos = RECORD_HEADER_LEN;
    let key = if key_len == NO_KEY {
        None
    } else {
        let key = body.get(pos..pos.checked_add(key_len as usize)?)?;
        pos += key.len();
        Some(key.to_vec())
    };
    let value = body.get(pos..pos.checked_add(value_len)?)?.to_vec();
    pos += value_len;
    let record = Record {
        offset,
        timestamp_ms,
        producer_id,
        key,
        value,
    };
    Some((record, pos))
}

/// CRC-32C (Castagnoli) in the page: the crc crate's byte-at-a-time table
/// (1 KB), not the crc32c crate's portable slice-by-8 one (8 KB of the
/// bundle). The same checksum, checked against crc32c in the tests below.
#[cfg(any(target_arch = "wasm32", test))]
const CASTAGNOLI: crc::Crc<u32, crc::Table<1>> =
    crc::Crc::<u32, crc::Table<1>>::new(&crc::CRC_32_ISCSI);

/// CRC-32C of `bytes`: hardware-accelerated natively (crc32c), the small
/// table in the page ([`CASTAGNOLI`]).
fn castagnoli(bytes: &[u8]) -> u32 {
    #[cfg(target_arch = "wasm32")]
    return CASTAGNOLI.checksum(bytes);
    #[cfg(not(target_arch = "wasm32"))]
    return crc32c::crc32c(bytes);
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// A deterministic batch of `record_count` records with `value_len`-byte
/// values, for tests and the storage benchmark. Every byte depends on the
/// offset, so a batch stored in the wrong place cannot pass for the right one.
pub fn sample_batch(base_offset: u64, record_count: usize, value_len: usize) -> RecordBatch {
    let records = (0..record_count as u64)
        .map(|index| {
            let offset = base_offset + index;
            let fill = (offset % 251) as u8;
            Record {
                offset,
                timestamp_ms: offset * 10,
                producer_id: offset % 7,
                key: (!offset.is_multiple_of(3))
                    .then(|| format!("key-{}", offset % 16).into_bytes()),
                value: vec![fill; value_len],
            }
        })
        .collect();
    RecordBatch {
        base_offset,
        records,
    }
}

// Native only: the crc32c crate is not built for the page.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    /// The page's table and the crc32c crate give the same CRC-32C, for
    /// every length around the crate's 8-byte steps and a batch's size.
    #[test]
    fn the_pages_table_is_crc32c() {
        let bytes: Vec<u8> = (0..5_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in (0..64).chain([1_000, 4_093, 5_000]) {
            let b = &bytes[..len];
            assert_eq!(
                super::CASTAGNOLI.checksum(b),
                crc32c::crc32c(b),
                "{len} bytes"
            );
        }
        assert_eq!(super::CASTAGNOLI.checksum(b"123456789"), 0xE306_9283);
    }
}
