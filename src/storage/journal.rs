//! The bookkeeping both stores share: which batches are pending, which are in
//! flight in which flush, and which are durable.
//!
//! The memory store *is* a journal whose I/O always succeeds at once. The
//! IndexedDB store is a journal plus a writer that carries out the journal's
//! decisions in IndexedDB. Because both make every decision here, the same
//! sequence of calls leaves both with the same durable image, which the
//! browser tests check.
//!
//! Each stored batch is an [`Entry`] with a global sequence number `seq`:
//! the IndexedDB key, and the order recovery reads batches in.

use super::batch::{decode_exact, EncodedBatch, RecordBatch};
use super::recovery::{self, Recovery, Truncation, TruncationReason};
use super::{
    CrashReport, FlushId, FlushState, FlushTicket, StorageError, StreamId, Tear, TornBatch,
};
use std::collections::{BTreeMap, VecDeque};

/// Bounds on what a store buffers. Exceeding one is an error the broker sees
/// (it should flush, or back-pressure its producers), never a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Batches appended and not yet sealed by `begin_flush`.
    pub pending_batches_max: usize,
    /// Encoded bytes appended and not yet sealed.
    pub pending_bytes_max: usize,
    /// Flushes begun and not yet durable.
    pub in_flight_flushes_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            pending_batches_max: 100_000,
            pending_bytes_max: 64 * 1024 * 1024,
            in_flight_flushes_max: 1024,
        }
    }
}

/// One stored batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Global write order; the IndexedDB key. Below 2^53 so that it is an
    /// exact JavaScript number.
    pub seq: u64,
    /// The stream the batch belongs to.
    pub stream: StreamId,
    /// The encoded record batch (see [`super::batch`]); may be torn or corrupt.
    pub bytes: Vec<u8>,
}

/// What the real disk must do so that it matches the journal after a crash,
/// a recovery truncation or a start-fresh. The memory store ignores it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Repair {
    /// Entries to write (a torn batch, or the whole batches before it).
    pub put: Vec<Entry>,
    /// Entry keys to delete (lost or truncated batches).
    pub delete: Vec<u64>,
}

impl Repair {
    /// Nothing to put and nothing to delete: no transaction needed.
    pub fn is_empty(&self) -> bool {
        self.put.is_empty() && self.delete.is_empty()
    }
}

/// Outcome of a flush's real I/O.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Io {
    Pending,
    Committed,
}

#[derive(Clone, Debug)]
struct Flush {
    id: FlushId,
    completes_at_ms: u64,
    entries: Vec<Entry>,
    io: Io,
}

/// Flush ids that will never be durable, and why. One range per crash or
/// failure, so the list stays as short as the number of crashes in a run.
#[derive(Clone, Debug)]
struct LostFlushes {
    first: u64,
    end: u64,
    error: StorageError,
}

/// `seq` must stay an exact JavaScript number (IndexedDB keys are doubles).
const SEQ_MAX: u64 = (1 << 53) - 1;

/// The bookkeeping every store shares: pending, in-flight and durable
/// batches, group-commit flushes, crashes and recovery, with no I/O. A store
/// carries its decisions out on its own disk (memory, IndexedDB).
#[derive(Clone, Debug)]
pub struct Journal {
    limits: Limits,
    /// Virtual time an `fsync` takes; every flush completes this long after
    /// it begins.
    fsync_latency_ms: u64,
    next_seq: u64,
    next_flush: u64,
    pending: Vec<Entry>,
    pending_bytes: usize,
    /// Oldest first; flushes become durable in this order.
    in_flight: VecDeque<Flush>,
    /// The durable image, in `seq` order.
    durable: Vec<Entry>,
    /// Where each stream's log ends (durable + in flight + pending), so an
    /// append that would leave a hole is refused.
    log_ends: BTreeMap<StreamId, u64>,
    lost: Vec<LostFlushes>,
    /// Set by a failed write (quota): durable writes refuse until recovery.
    stopped: Option<StorageError>,
    /// After a crash or an open, writing must wait for `recover`.
    needs_recovery: bool,
}

impl Journal {
    /// An empty journal: nothing stored, nothing to recover.
    pub fn new(limits: Limits, fsync_latency_ms: u64) -> Journal {
        assert!(limits.pending_batches_max > 0 && limits.pending_bytes_max > 0);
        assert!(limits.in_flight_flushes_max > 0);
        Journal {
            limits,
            fsync_latency_ms,
            next_seq: 0,
            next_flush: 0,
            pending: Vec::new(),
            pending_bytes: 0,
            in_flight: VecDeque::new(),
            durable: Vec::new(),
            log_ends: BTreeMap::new(),
            lost: Vec::new(),
            stopped: None,
            needs_recovery: false,
        }
    }

    /// A journal over a durable image read back from disk (IndexedDB open).
    /// `entries` must be in `seq` order; recovery must run before writing.
    pub fn from_image(limits: Limits, fsync_latency_ms: u64, entries: Vec<Entry>) -> Journal {
        assert!(
            entries.windows(2).all(|w| w[0].seq < w[1].seq),
            "image out of seq order"
        );
        let mut journal = Journal::new(limits, fsync_latency_ms);
        journal.next_seq = entries.last().map_or(0, |entry| entry.seq + 1);
        journal.durable = entries;
        journal.needs_recovery = true;
        journal
    }

    /// The durable image, in write (`seq`) order.
    pub fn durable(&self) -> &[Entry] {
        &self.durable
    }

    /// Fault injection: the durable image, writable (bit rot, torn sectors).
    pub fn durable_mut(&mut self) -> &mut [Entry] {
        &mut self.durable
    }

    /// Bytes in the durable image.
    pub fn durable_bytes(&self) -> usize {
        self.durable.iter().map(|entry| entry.bytes.len()).sum()
    }

    /// Bytes the disk holds once flush `id` and every older one are written:
    /// what a quota is checked against (the same way by both stores).
    pub fn bytes_through(&self, id: FlushId) -> usize {
        let flushes = self.in_flight.iter().take_while(|flush| flush.id <= id);
        let in_flight: usize = flushes
            .flat_map(|flush| &flush.entries)
            .map(|e| e.bytes.len())
            .sum();
        self.durable_bytes() + in_flight
    }

    /// Bytes appended but not yet sealed into a flush.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// The batches of an in-flight flush (what the IndexedDB writer writes).
    pub fn flush_entries(&self, id: FlushId) -> Option<&[Entry]> {
        let flush = self.in_flight.iter().find(|flush| flush.id == id)?;
        Some(&flush.entries)
    }

    /// The error that stopped durable writes, if one did.
    pub fn stopped(&self) -> Option<&StorageError> {
        self.stopped.as_ref()
    }

    /// [`Storage::append`](super::Storage::append): encodes and buffers.
    pub fn append(&mut self, stream: StreamId, batch: &RecordBatch) -> Result<(), StorageError> {
        self.check_writable()?;
        self.check_gap(stream, batch.base_offset)?;
        let encoded = batch.encoded().map_err(StorageError::Encode)?;
        self.append_encoded(stream, encoded)
    }

    /// A stream's next batch must start where its log ends.
    fn check_gap(&self, stream: StreamId, found: u64) -> Result<(), StorageError> {
        match self.log_ends.get(&stream) {
            Some(&expected) if found != expected => Err(StorageError::OffsetGap {
                stream,
                expected,
                found,
            }),
            _ => Ok(()),
        }
    }

    /// [`Storage::append_encoded`](super::Storage::append_encoded): buffers
    /// a batch encoded already.
    pub fn append_encoded(
        &mut self,
        stream: StreamId,
        batch: EncodedBatch,
    ) -> Result<(), StorageError> {
        self.check_writable()?;
        self.check_gap(stream, batch.base_offset)?;
        let next_offset = batch.next_offset();
        let bytes = batch.bytes;
        let over_count = self.pending.len() + 1 > self.limits.pending_batches_max;
        if over_count || self.pending_bytes + bytes.len() > self.limits.pending_bytes_max {
            let pending_batches = self.pending.len();
            let pending_bytes = self.pending_bytes;
            return Err(StorageError::PendingFull {
                pending_batches,
                pending_bytes,
            });
        }
        assert!(self.next_seq <= SEQ_MAX, "sequence numbers exhausted");
        self.pending_bytes += bytes.len();
        self.pending.push(Entry {
            seq: self.next_seq,
            stream,
            bytes,
        });
        self.next_seq += 1;
        self.log_ends.insert(stream, next_offset);
        Ok(())
    }

    fn check_writable(&self) -> Result<(), StorageError> {
        if self.needs_recovery {
            return Err(StorageError::NotRecovered);
        }
        match &self.stopped {
            Some(cause) => Err(StorageError::WritesStopped {
                cause: Box::new(cause.clone()),
            }),
            None => Ok(()),
        }
    }

    /// [`Storage::begin_flush`](super::Storage::begin_flush): seals every
    /// pending batch into one flush.
    pub fn begin_flush(&mut self, now_ms: u64) -> Result<FlushTicket, StorageError> {
        self.check_writable()?;
        let in_flight = self.in_flight.len();
        if in_flight >= self.limits.in_flight_flushes_max {
            return Err(StorageError::TooManyFlushes { in_flight });
        }
        let entries = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let id = FlushId(self.next_flush);
        self.next_flush += 1;
        let completes_at_ms = now_ms + self.fsync_latency_ms;
        let batch_count = entries.len();
        // An empty flush has nothing to write: its I/O is done already.
        let io = if entries.is_empty() {
            Io::Committed
        } else {
            Io::Pending
        };
        self.in_flight.push_back(Flush {
            id,
            completes_at_ms,
            entries,
            io,
        });
        Ok(FlushTicket {
            id,
            completes_at_ms,
            batch_count,
        })
    }

    /// The real write of flush `id` finished. A result for a flush that a
    /// crash already discarded is ignored: in the simulated timeline it never
    /// happened (the crash repair deletes its data).
    pub fn io_done(&mut self, id: FlushId, result: Result<(), StorageError>) {
        let Some(index) = self.in_flight.iter().position(|flush| flush.id == id) else {
            return;
        };
        match result {
            Ok(()) => self.in_flight[index].io = Io::Committed,
            Err(error) => self.stop_writes(index, error),
        }
    }

    /// A write failed: it and every newer flush will never be durable (the
    /// log must not get a hole), pending data is dropped, and further writes
    /// are refused until recovery. Older flushes are unaffected.
    fn stop_writes(&mut self, index: usize, error: StorageError) {
        let failed: Vec<Flush> = self.in_flight.drain(index..).collect();
        let first = failed[0].id.0;
        self.lost.push(LostFlushes {
            first,
            end: self.next_flush,
            error: error.clone(),
        });
        self.pending.clear();
        self.pending_bytes = 0;
        self.stopped = Some(error);
        self.recompute_log_ends();
    }

    /// [`Storage::flush_state`](super::Storage::flush_state); a store whose
    /// disk is real also needs [`io_done`](Self::io_done) first.
    pub fn flush_state(&mut self, id: FlushId, now_ms: u64) -> FlushState {
        assert!(id.0 < self.next_flush, "flush {} was never begun", id.0);
        self.promote(now_ms);
        if let Some(lost) = self
            .lost
            .iter()
            .find(|lost| (lost.first..lost.end).contains(&id.0))
        {
            return FlushState::Failed(lost.error.clone());
        }
        if self.in_flight.iter().any(|flush| flush.id == id) {
            return FlushState::InProgress;
        }
        FlushState::Durable
    }

    /// Whether flush `id`'s real I/O is still running (the IndexedDB driver
    /// awaits this; the memory store never has any).
    pub fn io_pending(&self, id: FlushId) -> bool {
        let flush = self.in_flight.iter().find(|flush| flush.id == id);
        flush.is_some_and(|flush| flush.io == Io::Pending)
    }

    /// Moves finished flushes, oldest first, into the durable image. A flush
    /// is finished when its completion time has come *and* its I/O committed.
    fn promote(&mut self, now_ms: u64) {
        while let Some(front) = self.in_flight.front() {
            if front.completes_at_ms > now_ms || front.io != Io::Committed {
                break;
            }
            let flush = self.in_flight.pop_front().expect("front exists");
            self.durable.extend(flush.entries);
        }
    }

    /// [`Storage::crash`](super::Storage::crash), plus the [`Repair`] that
    /// makes a real disk match (undo in-flight writes, write the tear).
    pub fn crash(&mut self, now_ms: u64, tear: Tear) -> (CrashReport, Repair) {
        self.promote(now_ms);
        let lost_pending_batches = self.pending.len();
        let lost = self.drop_unflushed();
        let lost_flushes: Vec<FlushId> = lost.iter().map(|flush| flush.id).collect();
        let (torn, repair) = self.apply_tear(lost, tear);
        self.needs_recovery = true;
        let report = CrashReport {
            lost_pending_batches,
            lost_flushes,
            torn,
        };
        (report, repair)
    }

    /// Drops pending writes and in-flight flushes (a crash, or start-fresh);
    /// their tickets will answer `Failed(LostInCrash)`.
    fn drop_unflushed(&mut self) -> Vec<Flush> {
        self.pending.clear();
        self.pending_bytes = 0;
        let lost: Vec<Flush> = self.in_flight.drain(..).collect();
        if let (Some(first), Some(last)) = (lost.first(), lost.last()) {
            let (first, end) = (first.id.0, last.id.0 + 1);
            let error = StorageError::LostInCrash;
            self.lost.push(LostFlushes { first, end, error });
        }
        lost
    }

    /// Lands the torn part of the oldest lost flush on the durable image and
    /// lists everything else that was lost for deletion.
    fn apply_tear(&mut self, lost: Vec<Flush>, tear: Tear) -> (Option<TornBatch>, Repair) {
        let mut repair = Repair::default();
        let mut flushes = lost.into_iter().filter(|flush| !flush.entries.is_empty());
        let mut torn = None;
        // (Only a tear takes the oldest flush out of the list to delete.)
        let oldest = match tear {
            Tear::LastBatch { keep_bytes } => flushes.next().map(|flush| (keep_bytes, flush)),
            Tear::None => None,
        };
        if let Some((keep_bytes, oldest)) = oldest {
            let mut entries = oldest.entries;
            let mut last = entries.pop().expect("non-empty flush");
            let batch_len = last.bytes.len();
            let kept_bytes = (keep_bytes as usize).min(batch_len - 1);
            last.bytes.truncate(kept_bytes);
            torn = Some(TornBatch {
                stream: last.stream,
                kept_bytes,
                batch_len,
            });
            entries.push(last);
            repair.put.extend(entries.iter().cloned());
            self.durable.extend(entries);
        }
        for flush in flushes {
            repair
                .delete
                .extend(flush.entries.iter().map(|entry| entry.seq));
        }
        (torn, repair)
    }

    /// Restart: decode the durable image, truncate at damage, reopen writes.
    pub fn recover(&mut self) -> (Recovery, Repair) {
        assert!(
            self.pending.is_empty(),
            "recover: pending writes (crash first)"
        );
        assert!(
            self.in_flight.is_empty(),
            "recover: flushes in flight (crash first)"
        );
        let (recovery, delete) = recovery::recover(&self.durable);
        // `delete` is in seq order, like `durable`: a binary search per entry.
        self.durable
            .retain(|entry| delete.binary_search(&entry.seq).is_err());
        self.log_ends = recovery.log_ends();
        self.stopped = None;
        self.needs_recovery = false;
        (
            recovery,
            Repair {
                put: Vec::new(),
                delete,
            },
        )
    }

    /// Cuts `stream` at `offset` (see [`super::Storage::truncate`]): the
    /// batch holding `offset` keeps the records before it (rewritten in
    /// place, same `seq`), later batches are deleted. Returns what was cut
    /// and the repair a real disk must apply.
    ///
    /// Batches of flushes still in flight are cut the same way: the flush
    /// then writes what is left of them (a real disk's writer reads its
    /// batches when it starts the flush), and the repair, queued after the
    /// flush, deletes or rewrites what it had written already. Nothing may
    /// be pending (a cluster follower flushes what it appends at once).
    pub fn truncate(
        &mut self,
        stream: StreamId,
        offset: u64,
    ) -> Result<(Truncation, Repair), StorageError> {
        self.check_writable()?;
        assert!(self.pending.is_empty(), "truncate with nothing pending");
        let mut repair = Repair::default();
        let mut cut: Option<Truncation> = None;
        let flushing = self.in_flight.iter_mut().flat_map(|f| f.entries.iter_mut());
        let entries =
            (self.durable.iter_mut().chain(flushing)).filter(|entry| entry.stream == stream);
        for (batch_index, entry) in entries.enumerate() {
            let corrupt = |error| StorageError::Corrupt {
                stream,
                batch_index,
                error,
            };
            let header = super::batch::check_batch(&entry.bytes, 0).map_err(corrupt)?;
            if header.base_offset + header.record_count as u64 <= offset {
                continue;
            }
            let old_len = entry.bytes.len();
            let mut batch = decode_exact(&entry.bytes).map_err(corrupt)?;
            batch.records.retain(|record| record.offset < offset);
            let truncation = cut.get_or_insert(Truncation {
                batch_index,
                reason: TruncationReason::UnreadableRecord { offset },
                dropped_batches: 0,
                dropped_bytes: 0,
            });
            truncation.dropped_batches += 1;
            if batch.records.is_empty() {
                truncation.dropped_bytes += old_len;
                repair.delete.push(entry.seq);
                continue;
            }
            entry.bytes = batch
                .encode()
                .expect("a prefix of an encoded batch encodes");
            truncation.dropped_bytes += old_len - entry.bytes.len();
            repair.put.push(entry.clone());
        }
        // `delete` is in seq order, like `durable` then the flushes.
        let kept = |entry: &Entry| repair.delete.binary_search(&entry.seq).is_err();
        self.durable.retain(kept);
        for flush in &mut self.in_flight {
            flush.entries.retain(kept);
        }
        if self.log_ends.get(&stream).is_some_and(|&end| end > offset) {
            self.log_ends.insert(stream, offset);
        }
        let none = Truncation {
            batch_index: 0,
            reason: TruncationReason::UnreadableRecord { offset },
            dropped_batches: 0,
            dropped_bytes: 0,
        };
        Ok((cut.unwrap_or(none), repair))
    }

    /// Forgets everything, durable data included. Flush ids and `seq` keep
    /// counting up so an old ticket can never be confused with a new one.
    pub fn start_fresh(&mut self) {
        self.drop_unflushed();
        self.durable.clear();
        self.log_ends.clear();
        self.stopped = None;
        self.needs_recovery = false;
    }

    /// After a failure dropped data, each stream's end is the last batch
    /// still durable or in flight.
    fn recompute_log_ends(&mut self) {
        self.log_ends.clear();
        let flushed = self.in_flight.iter().flat_map(|flush| &flush.entries);
        for entry in self.durable.iter().chain(flushed) {
            if let Ok(header) = super::batch::check_batch(&entry.bytes, 0) {
                let end = header.base_offset + header.record_count as u64;
                self.log_ends.insert(entry.stream, end);
            }
        }
    }
}
