//! Log recovery, the way Kafka does it after an unclean shutdown.
//!
//! Each stream is read batch by batch in write order. A batch is trusted only
//! if its length fits, its CRC-32C matches and its first offset is where the
//! previous batch ended. The first batch that fails any check ends the
//! stream's log: it and every later batch of that stream are *truncated*
//! (reported, then deleted from the store), because nothing after a damaged
//! batch can be trusted to be in order. Other streams are unaffected.
//!
//! Why truncate instead of skipping the bad batch? A consumer reads a
//! partition by offset; a hole in the middle would silently skip records.
//! Truncating loses only data whose write never completed (a torn tail) or
//! that the disk damaged, and the report says exactly what went.

use super::batch::{decode_exact, DecodeError, RecordBatch};
use super::journal::Entry;
use super::StreamId;
use std::collections::BTreeMap;
use std::fmt;

/// What a restart rebuilds from: every stream's surviving batches, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Each stream's batches, up to its first damaged one.
    pub streams: BTreeMap<StreamId, Vec<RecordBatch>>,
    /// What was kept and cut, per stream.
    pub report: RecoveryReport,
}

/// What recovery kept and cut, per stream. Its `Display` gives one line per
/// stream, ready to be a history event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// One report per stream found on the disk.
    pub streams: BTreeMap<StreamId, StreamReport>,
}

/// What recovery kept of one stream, and where it cut it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamReport {
    /// Batches kept.
    pub batches: usize,
    /// Records in them.
    pub records: u64,
    /// Offset the next append must start at (`None`: nothing survived).
    pub log_end_offset: Option<u64>,
    /// Where and why the stream was cut, if it was.
    pub truncated: Option<Truncation>,
}

/// Where and why a stream's log was cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Truncation {
    /// Index (among the stream's stored batches) of the first batch dropped.
    pub batch_index: usize,
    /// What was wrong with that batch.
    pub reason: TruncationReason,
    /// Batches dropped: the bad one and every later one of the stream.
    pub dropped_batches: usize,
    /// Bytes of those batches.
    pub dropped_bytes: usize,
}

/// Why a stream was cut, with the detail a report needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TruncationReason {
    /// The batch's bytes failed a check (torn, CRC mismatch, ...).
    Corrupt(DecodeError),
    /// The batch is intact but does not start where the log ends.
    OffsetGap {
        /// Where the log ended.
        expected: u64,
        /// Where the batch starts.
        found: u64,
    },
    /// The batch is intact, but its reader found a record at `offset` it
    /// could not have written (a value layout it does not know) and cut
    /// the stream there (see [`crate::storage::Storage::truncate`]). Here
    /// `dropped_batches` counts the batch cut short too.
    UnreadableRecord {
        /// The offset of the record the reader could not read.
        offset: u64,
    },
}

/// The kind of damage that ended a stream's log, small and `Copy` so it can
/// ride in a history event (see `LogNote::Truncated`). The full
/// [`TruncationReason`] keeps the byte positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TruncationCause {
    /// The batch was cut short: the crash tore its write (header or body).
    Torn,
    /// The bytes changed after they were written (bit rot, a bad sector).
    CrcMismatch,
    /// `batch_len` cannot be right.
    BadLength,
    /// The checksum matched but the header or a record is not one we wrote.
    BadFormat,
    /// The batch is intact but does not start where the log ends.
    OffsetGap,
}

impl TruncationCause {
    /// How the history names it.
    pub fn name(self) -> &'static str {
        match self {
            TruncationCause::Torn => "torn",
            TruncationCause::CrcMismatch => "crc_mismatch",
            TruncationCause::BadLength => "bad_length",
            TruncationCause::BadFormat => "bad_format",
            TruncationCause::OffsetGap => "offset_gap",
        }
    }
}

impl TruncationReason {
    /// The short kind, for the history.
    pub fn cause(&self) -> TruncationCause {
        match self {
            TruncationReason::OffsetGap { .. } => TruncationCause::OffsetGap,
            TruncationReason::UnreadableRecord { .. } => TruncationCause::BadFormat,
            TruncationReason::Corrupt(error) => match error {
                DecodeError::TornHeader { .. } | DecodeError::LengthPastEnd { .. } => {
                    TruncationCause::Torn
                }
                DecodeError::CrcMismatch { .. } => TruncationCause::CrcMismatch,
                DecodeError::BadLength { .. } => TruncationCause::BadLength,
                _ => TruncationCause::BadFormat,
            },
        }
    }
}

impl fmt::Display for TruncationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TruncationReason::Corrupt(error) => write!(f, "{error}"),
            TruncationReason::OffsetGap { expected, found } => {
                write!(f, "batch starts at offset {found}, log ends at {expected}")
            }
            TruncationReason::UnreadableRecord { offset } => {
                write!(
                    f,
                    "record at offset {offset} has a layout its reader does not know"
                )
            }
        }
    }
}

impl fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (stream, report) in &self.streams {
            write!(
                f,
                "{stream}: recovered {} batches ({} records)",
                report.batches, report.records
            )?;
            if let Some(cut) = &report.truncated {
                write!(
                    f,
                    "; truncated at batch {}: {}; dropped {} batches ({} bytes)",
                    cut.batch_index, cut.reason, cut.dropped_batches, cut.dropped_bytes
                )?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

impl RecoveryReport {
    /// Total batches dropped over all streams.
    pub fn dropped_batches(&self) -> usize {
        let cuts = self
            .streams
            .values()
            .filter_map(|report| report.truncated.as_ref());
        cuts.map(|cut| cut.dropped_batches).sum()
    }
}

impl Recovery {
    /// Where each non-empty stream's log ends.
    pub fn log_ends(&self) -> BTreeMap<StreamId, u64> {
        let reports = self.report.streams.iter();
        let mut ends = BTreeMap::new();
        ends.extend(reports.filter_map(|(stream, report)| Some((*stream, report.log_end_offset?))));
        ends
    }

    /// Offsets of every recovered record of `stream`, in order.
    pub fn offsets(&self, stream: StreamId) -> Vec<u64> {
        let batches = self
            .streams
            .get(&stream)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let records = batches.iter().flat_map(|batch| &batch.records);
        records.map(|record| record.offset).collect()
    }

    /// Total records recovered over all streams.
    pub fn record_count(&self) -> u64 {
        self.report
            .streams
            .values()
            .map(|report| report.records)
            .sum()
    }
}

/// Decodes `image` (in `seq` order). Returns the recovery and the `seq` of
/// every truncated entry, in order, for the store to delete.
pub fn recover(image: &[Entry]) -> (Recovery, Vec<u64>) {
    let mut recovery = Recovery::default();
    let mut truncated = Vec::new();
    for entry in image {
        let batches = recovery.streams.entry(entry.stream).or_default();
        let report = recovery.report.streams.entry(entry.stream).or_default();
        if let Some(cut) = &mut report.truncated {
            cut.dropped_batches += 1;
            cut.dropped_bytes += entry.bytes.len();
            truncated.push(entry.seq);
            continue;
        }
        match check_entry(entry, report.log_end_offset) {
            Ok(batch) => {
                report.batches += 1;
                report.records += batch.records.len() as u64;
                report.log_end_offset = Some(batch.next_offset());
                batches.push(batch);
            }
            Err(reason) => {
                let batch_index = batches.len();
                let dropped_bytes = entry.bytes.len();
                let cut = Truncation {
                    batch_index,
                    reason,
                    dropped_batches: 1,
                    dropped_bytes,
                };
                report.truncated = Some(cut);
                truncated.push(entry.seq);
            }
        }
    }
    (recovery, truncated)
}

fn check_entry(entry: &Entry, log_end: Option<u64>) -> Result<RecordBatch, TruncationReason> {
    let batch = decode_exact(&entry.bytes).map_err(TruncationReason::Corrupt)?;
    match log_end {
        Some(expected) if batch.base_offset != expected => Err(TruncationReason::OffsetGap {
            expected,
            found: batch.base_offset,
        }),
        _ => Ok(batch),
    }
}
