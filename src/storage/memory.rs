//! The memory store: a simulated disk.
//!
//! It behaves like a file with `write` and `fsync`: appends are pending until
//! a flush, a flush is durable `fsync_latency_ms` of virtual time after it
//! begins, and a crash loses whatever was not durable (optionally leaving the
//! batch being written half on disk, see [`Tear`]). Its "disk" is a `Vec` in
//! memory, so it does *not* survive a page reload: that is what the
//! IndexedDB store is for. It runs everywhere, so native tests and the
//! browser share it, and it is the fallback when IndexedDB is unavailable.
//!
//! Bounds: pending data is capped by [`Limits`]; the disk itself can be given
//! a capacity (`with_capacity_bytes`), and a flush that would overflow it
//! fails with `QuotaExceeded`, the same path a full browser quota takes.

use super::journal::{Entry, Journal, Limits};
use super::recovery::{Recovery, Truncation};
use super::{CrashReport, EncodedBatch, FlushId, FlushState, FlushTicket, Storage};
use super::{StorageError, StreamId, Tear};
use std::collections::BTreeMap;

/// A simulated disk in memory: the [`Journal`] with nothing behind it, so a
/// flush is durable at its virtual completion time.
#[derive(Clone, Debug)]
pub struct MemoryStore {
    journal: Journal,
    /// Simulated disk size; `None` is unlimited.
    capacity_bytes: Option<usize>,
    /// The checkpoint of acknowledged offsets kept beside this disk, if a
    /// test gives one ([`Storage::acked_checkpoint`]).
    acked_checkpoint: Option<BTreeMap<StreamId, u64>>,
}

impl MemoryStore {
    /// A store whose `fsync` takes `fsync_latency_ms` of virtual time.
    pub fn new(limits: Limits, fsync_latency_ms: u64) -> MemoryStore {
        MemoryStore {
            journal: Journal::new(limits, fsync_latency_ms),
            capacity_bytes: None,
            acked_checkpoint: None,
        }
    }

    /// Keeps `checkpoint` beside the disk: what a resuming broker is told
    /// was acknowledged ([`Storage::acked_checkpoint`]).
    pub fn set_acked_checkpoint(&mut self, checkpoint: Option<BTreeMap<StreamId, u64>>) {
        self.acked_checkpoint = checkpoint;
    }

    /// Makes flushes fail with `QuotaExceeded` once durable plus in-flight
    /// bytes would pass `capacity_bytes`.
    pub fn with_capacity_bytes(mut self, capacity_bytes: usize) -> MemoryStore {
        self.capacity_bytes = Some(capacity_bytes);
        self
    }

    /// The durable image, in write order (what a crash would leave).
    pub fn durable(&self) -> &[Entry] {
        self.journal.durable()
    }

    /// Fault injection for tests: lets the "disk" rot. Changes durable
    /// bytes behind the store's back, as a bad sector would.
    pub fn durable_mut(&mut self) -> &mut [Entry] {
        self.journal.durable_mut()
    }

    /// The bookkeeping, for tests that look at the disk directly.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }
}

impl Storage for MemoryStore {
    fn append_encoded(
        &mut self,
        stream: StreamId,
        batch: EncodedBatch,
    ) -> Result<(), StorageError> {
        self.journal.append_encoded(stream, batch)
    }

    fn begin_flush(&mut self, now_ms: u64) -> Result<FlushTicket, StorageError> {
        let ticket = self.journal.begin_flush(now_ms)?;
        // The simulated write itself is instant; only the virtual fsync
        // latency delays durability.
        // Summing the disk walks every durable batch: only a store with a
        // capacity pays for it (the world's store has none, and paying it on
        // every flush made long runs quadratic).
        let over = self.capacity_bytes.and_then(|capacity| {
            let used_bytes = self.journal.bytes_through(ticket.id);
            (used_bytes > capacity).then_some((capacity, used_bytes))
        });
        let result = match over {
            Some((capacity, used_bytes)) => Err(StorageError::QuotaExceeded {
                detail: format!("simulated disk of {capacity} bytes would hold {used_bytes}"),
            }),
            None => Ok(()),
        };
        self.journal.io_done(ticket.id, result);
        Ok(ticket)
    }

    fn flush_state(&mut self, id: FlushId, now_ms: u64) -> FlushState {
        self.journal.flush_state(id, now_ms)
    }

    fn crash(&mut self, now_ms: u64, tear: Tear) -> CrashReport {
        self.journal.crash(now_ms, tear).0
    }

    fn recover(&mut self) -> Recovery {
        self.journal.recover().0
    }

    fn start_fresh(&mut self) {
        self.journal.start_fresh();
    }

    fn checkpoint(&self) -> Option<Box<dyn Storage>> {
        Some(Box::new(self.clone()))
    }

    fn truncate(&mut self, stream: StreamId, offset: u64) -> Result<Truncation, StorageError> {
        Ok(self.journal.truncate(stream, offset)?.0)
    }

    fn acked_checkpoint(&self) -> Option<BTreeMap<StreamId, u64>> {
        self.acked_checkpoint.clone()
    }
}
