//! The IndexedDB store: the browser tab's real disk (wasm32 only).
//!
//! It is a [`Journal`] (the same bookkeeping as the memory store) plus a
//! *writer* that carries the journal's decisions out in IndexedDB:
//!
//! - **The object store [`STORE_NAME`]** holds the batches, keyed by the batch's global
//!   sequence number (a JavaScript number). Each value is a `Uint8Array`
//!   *frame*: the 8-byte little-endian [`StreamId::code`] followed by the
//!   encoded record batch. Keys sort numerically, so one `getAll` (plus one
//!   `getAllKeys` in the same transaction) reads the whole log back in write
//!   order. A second store, [`META_STORE`], holds the owner epoch.
//! - **One writing tab.** Opening for writing takes a [`Lease`] (Web Locks)
//!   and bumps the owner epoch in the same transaction that reads the log
//!   back; every write transaction checks that epoch first and aborts itself
//!   if another tab has taken over. See [`super::ownership`] for why both.
//! - **Group commit.** `begin_flush` seals every pending batch into one flush;
//!   the writer puts them all in *one* readwrite transaction. Its `complete`
//!   event is the `fsync`: only then does the flush count as committed.
//! - **Flushes in order, pipelined.** Each flush is one transaction, and a
//!   flush counts as committed only once *its* transaction completed. When
//!   several flushes are queued, the writer creates their transactions back
//!   to back and then awaits them in order; IndexedDB runs them one after the
//!   other in creation order, minus the idle round trip between them. If one
//!   fails (quota, a take-over), every later one aborts itself at its first
//!   request, before writing anything, so the log cannot get a hole.
//! - **No await inside a transaction** except on its own requests: the writer
//!   builds every `put` synchronously and then awaits only the transaction's
//!   end. Awaiting anything else (a timer, a channel, a fetch) would let the
//!   browser auto-commit the transaction half way: the auto-commit trap.
//! - **Durability.** Each transaction sets `durability` explicitly. The
//!   default here is [`Durability::Strict`]: `complete` fires only after the
//!   data is flushed to the disk, so an ack really means "survives a power
//!   cut", which is the lesson the playground teaches. Chromium's own default
//!   has been `relaxed` since version 121 (`complete` once the OS has the data,
//!   which survives a tab or browser crash but not a power cut), so leaving it
//!   unset would quietly weaken `acks=all`. `Relaxed` is there for speed (see
//!   the storage benchmark).
//!
//! `open` reads the whole durable image into the journal, so that `recover`
//! is then synchronous, like every other [`Storage`] call. How the simulation
//! waits for a flush's transaction without losing determinism is explained in
//! the parent module ([`super`]): it pauses at the flush's virtual completion
//! time and awaits [`IdbStore::wait_durable`].
//!
//! Failure modes, each with its own [`StorageError`]:
//! - IndexedDB missing or refusing to open → `Unavailable`: run on the memory
//!   store and show a banner.
//! - Quota exhausted (Chromium: `AbortError` on the transaction, its `error`
//!   a `QuotaExceededError`) → the flush fails with `QuotaExceeded`, writes
//!   stop, durable data stays.
//! - Another tab upgrades or deletes the database (`versionchange`) → the
//!   connection is closed and every later call answers `VersionChange`.
//! - Our open needs an upgrade but another tab (an older build of the page)
//!   keeps the old version open and ignores `versionchange` → `Blocked`, at
//!   once rather than hanging; the pending open is closed if it ever lands.
//! - Another tab owns the log → `OtherTab` from [`IdbStore::open`]; open it
//!   with [`IdbStore::open_read_only`] (writes answer `ReadOnly`) or
//!   [`IdbStore::take_over`]. The tab taken over gets `TakenOver` from every
//!   write, including a flush it had already started.
//! - Damaged values → recovery truncates them with a report, never panics.
//!
//! [`FaultInjection`] fakes the first two so tests can take those paths.

use super::journal::{Entry, Journal, Limits, Repair};
use super::locks::Lease;
use super::ownership::{check_fence, next_epoch, Access, LeaseStatus};
use super::recovery::{Recovery, Truncation};
use super::{CrashReport, FlushId, FlushState, FlushTicket, RecordBatch, Storage};
use super::{StorageError, StreamId, Tear};
use indexed_db_futures::database::Database;
use indexed_db_futures::error::{DomException, Error as IdbError, OpenDbError};
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{
    Transaction, TransactionDurability, TransactionMode, TransactionOptions,
};
use indexed_db_futures::KeyRange;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::{Future, IntoFuture};
use std::rc::Rc;
use std::task::{Poll, Waker};
use wasm_bindgen::{JsCast, JsValue};

/// Key of the page's saved setup in the database's `meta` store (see
/// `app::resume`). It is defined here, beside the store that keys by it, so
/// storage never reaches up to the page.
pub const SETUP_KEY: &str = "setup";

/// The object store holding every batch frame.
pub const STORE_NAME: &str = "batches";
/// The object store holding the owner epoch (one value, key [`OWNER_KEY`]).
pub const META_STORE: &str = "meta";
/// Key of the owner epoch in [`META_STORE`]: a JavaScript number.
pub const OWNER_KEY: &str = "owner";
/// Schema version; bump it (with an upgrade path) if the layout changes.
/// 1: `batches`. 2: adds `meta` (the owner epoch).
pub const DB_VERSION: u32 = 2;
/// Bytes before the batch in a frame: the stream code.
pub const FRAME_HEADER_LEN: usize = 8;

/// The IndexedDB transaction `durability` hint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `complete` after the OS has the data; lost on power failure.
    Relaxed,
    /// `complete` after the data is on disk (fsync). The default: see the
    /// module docs.
    #[default]
    Strict,
}

/// Test seam: makes the store take a failure path without a real failure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultInjection {
    /// `open` fails as if IndexedDB were missing (private mode, disabled).
    pub unavailable: bool,
    /// A flush that would make the durable image larger than this fails the
    /// way a full quota does: the writer aborts the real transaction (so
    /// nothing of it lands) and reports the error Chromium reports, an
    /// `AbortError` caused by a `QuotaExceededError`.
    pub quota_bytes: Option<usize>,
}

/// Everything `open` needs.
#[derive(Clone, Debug)]
pub struct IdbConfig {
    /// One database per log; tests use a fresh name each.
    pub db_name: String,
    pub durability: Durability,
    /// Virtual time a flush takes (the simulation's fsync latency).
    pub fsync_latency_ms: u64,
    pub limits: Limits,
    pub faults: FaultInjection,
}

impl IdbConfig {
    pub fn new(db_name: &str) -> IdbConfig {
        IdbConfig {
            db_name: db_name.to_string(),
            durability: Durability::default(),
            fsync_latency_ms: 0,
            limits: Limits::default(),
            faults: FaultInjection::default(),
        }
    }
}

/// A write the writer task must carry out, in order.
#[derive(Debug)]
enum DiskOp {
    /// Put every batch of this flush in one transaction.
    Flush(FlushId),
    /// Make the disk match the journal after a crash or a truncation.
    Repair(Repair),
    /// Delete keys of values that could not be read at open.
    DeleteKeys(Vec<JsValue>),
    /// Delete everything (start fresh): the batches and the saved setup.
    Clear,
    /// Save the page's setup next to the log (see [`crate::app::resume`]).
    PutSetup(String),
}

/// A stored value `open` could not make sense of (recovery deletes it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnreadableValue {
    pub key: String,
    pub reason: String,
}

/// State shared between the store handle and its writer task. Only touched
/// between awaits (wasm is single-threaded), so a `RefCell` suffices.
#[derive(Debug)]
struct Shared {
    journal: Journal,
    /// Oldest first. Bounded by the journal's in-flight limit plus one repair
    /// per crash or recovery.
    queue: VecDeque<DiskOp>,
    writer_running: bool,
    /// Set once the connection is gone (`versionchange`): every call fails.
    closed: Option<StorageError>,
    /// Tasks awaiting writer progress; woken after every operation.
    waiters: Vec<Waker>,
    /// Found by `open`, reported and deleted by the next `recover`.
    unreadable: Vec<(JsValue, UnreadableValue)>,
    faults: FaultInjection,
    durability: Durability,
    db_name: String,
    /// Owner (with its epoch) or read-only; fixed at open.
    access: Access,
    /// The lease's status (owners only); flips when another tab steals it.
    lease: Option<Rc<Cell<LeaseStatus>>>,
    /// Set when a write transaction found another tab's epoch (the fence).
    fenced: bool,
    /// The last failure of a repair, clear or delete (they do not stop
    /// writes, but a caller may want to show them).
    last_repair_error: Option<StorageError>,
    /// The setup saved with the log ([`crate::app::resume`]): read at open, then
    /// what this tab last saved. `Err` says why the stored value is unusable.
    saved_setup: Result<Option<String>, String>,
}

/// What `open` reads back: the batches, values it could not parse, and the
/// saved setup.
type Image = (
    Vec<Entry>,
    Vec<(JsValue, UnreadableValue)>,
    Result<Option<String>, String>,
);

impl Shared {
    /// Why this tab may not write, if it may not: the connection closed, the
    /// store is read-only, or another tab took the log over.
    fn writable(&self) -> Result<(), StorageError> {
        if let Some(error) = &self.closed {
            return Err(error.clone());
        }
        let db_name = self.db_name.clone();
        if self.access == Access::ReadOnly {
            return Err(StorageError::ReadOnly { db_name });
        }
        let lost = self.lease.as_ref().map(|status| status.get());
        if self.fenced || lost == Some(LeaseStatus::TakenOver) {
            return Err(StorageError::TakenOver { db_name });
        }
        Ok(())
    }
}

fn check_available(config: &IdbConfig) -> Result<(), StorageError> {
    if config.faults.unavailable {
        let reason = "injected fault: IndexedDB treated as unavailable".to_string();
        return Err(StorageError::Unavailable { reason });
    }
    Ok(())
}

/// The IndexedDB-backed [`Storage`].
#[derive(Debug)]
pub struct IdbStore {
    db: Database,
    shared: Rc<RefCell<Shared>>,
    /// The owner's lease (`None` when read-only). Held as long as this
    /// handle; a dropped handle releases it, and the fence then protects the
    /// log from writes still queued.
    lease: Option<Lease>,
}

impl IdbStore {
    /// Opens the log for writing: takes its lease without waiting, then
    /// [`open_owned`](Self::open_owned). `Err(OtherTab)` if another tab owns
    /// it: offer [`open_read_only`](Self::open_read_only) or
    /// [`take_over`](Self::take_over).
    pub async fn open(config: IdbConfig) -> Result<IdbStore, StorageError> {
        check_available(&config)?;
        let lease = Lease::acquire(&config.db_name).await?;
        IdbStore::open_owned(config, lease).await
    }

    /// Opens the log for writing after revoking the other tab's lease; that
    /// tab's writes then fail with `TakenOver`.
    pub async fn take_over(config: IdbConfig) -> Result<IdbStore, StorageError> {
        check_available(&config)?;
        let lease = Lease::take_over(&config.db_name).await?;
        IdbStore::open_owned(config, lease).await
    }

    /// Opens (creating if needed) the database under `lease`, bumps the owner
    /// epoch and loads the durable image, both in one transaction. Call
    /// [`Storage::recover`] next, before writing.
    pub async fn open_owned(config: IdbConfig, lease: Lease) -> Result<IdbStore, StorageError> {
        assert_eq!(lease.db_name(), config.db_name, "lease for another log");
        check_available(&config)?;
        if lease.status() != LeaseStatus::Held {
            let db_name = config.db_name.clone();
            return Err(StorageError::TakenOver { db_name });
        }
        let db = open_db(&config.db_name).await?;
        let (epoch, image) = claim_and_load(&db, config.durability).await?;
        let lease_status = lease.status_cell();
        let access = Access::Owner { epoch };
        let mut store = IdbStore::assemble(db, config, access, image)?;
        store.shared.borrow_mut().lease = Some(lease_status);
        store.lease = Some(lease);
        Ok(store)
    }

    /// Opens the log to read it while another tab owns it: no lease, no
    /// epoch, and every write (flush, repair, start fresh) answers `ReadOnly`.
    /// `recover` still works, in memory only, to show what the log holds.
    pub async fn open_read_only(config: IdbConfig) -> Result<IdbStore, StorageError> {
        check_available(&config)?;
        let db = open_db(&config.db_name).await?;
        let image = load_image(&db).await?;
        IdbStore::assemble(db, config, Access::ReadOnly, image)
    }

    fn assemble(
        db: Database,
        config: IdbConfig,
        access: Access,
        (entries, unreadable, saved_setup): Image,
    ) -> Result<IdbStore, StorageError> {
        let journal = Journal::from_image(config.limits, config.fsync_latency_ms, entries);
        let shared = Shared {
            journal,
            queue: VecDeque::new(),
            writer_running: false,
            closed: None,
            waiters: Vec::new(),
            unreadable,
            faults: config.faults,
            durability: config.durability,
            db_name: config.db_name,
            access,
            lease: None,
            fenced: false,
            last_repair_error: None,
            saved_setup,
        };
        let store = IdbStore {
            db,
            shared: Rc::new(RefCell::new(shared)),
            lease: None,
        };
        store.watch_version_change()?;
        Ok(store)
    }

    /// The lease's status: `None` when read-only, `TakenOver` once another
    /// tab stole the lock.
    pub fn lease_status(&self) -> Option<LeaseStatus> {
        self.lease.as_ref().map(Lease::status)
    }

    /// Owner (with its epoch) or read-only.
    pub fn access(&self) -> Access {
        self.shared.borrow().access
    }

    /// Whether this tab may still write: `Err(ReadOnly)`, `Err(TakenOver)`
    /// or the reason the connection closed. Check it to show a banner.
    pub fn writable(&self) -> Result<(), StorageError> {
        self.shared.borrow().writable()
    }

    /// Deletes a database by name (tests start from nothing with this).
    pub async fn delete_database(db_name: &str) -> Result<(), StorageError> {
        let request = Database::delete_by_name(db_name).map_err(open_error)?;
        request.await.map_err(|error| dom_error(&error, None))
    }

    /// Resolves once flush `id`'s transaction has finished (committed or
    /// failed), or at once if it has. The browser driver awaits this when the
    /// world pauses on an `InProgress` flush; then `flush_state` is final.
    pub async fn wait_durable(&self, id: FlushId) {
        self.wait_until(|shared| !shared.journal.io_pending(id))
            .await;
    }

    /// Resolves once every queued write, repair and clear has finished.
    pub async fn wait_idle(&self) {
        self.wait_until(|shared| shared.queue.is_empty() && !shared.writer_running)
            .await;
    }

    /// Waits for pending I/O, closes the connection and releases the lease
    /// (like a tab closing after its last write). Once it resolves, another
    /// tab can take the log.
    pub async fn close(mut self) {
        self.wait_idle().await;
        self.db.close();
        if let Some(lease) = self.lease.take() {
            lease.release().await;
        }
    }

    /// The setup saved with the log: `Ok(None)` when there is none, `Err`
    /// when the stored value is not text.
    pub fn saved_setup(&self) -> Result<Option<String>, String> {
        self.shared.borrow().saved_setup.clone()
    }

    /// Saves the page's setup next to the log, in write order with the
    /// flushes and under the same owner fence (see [`crate::app::resume`]).
    pub fn save_setup(&self, text: &str) -> Result<(), StorageError> {
        self.check_writable()?;
        self.shared.borrow_mut().saved_setup = Ok(Some(text.to_string()));
        self.enqueue(DiskOp::PutSetup(text.to_string()));
        Ok(())
    }

    /// Values `open` could not read (recovery deletes them).
    pub fn unreadable(&self) -> Vec<UnreadableValue> {
        let shared = self.shared.borrow();
        shared
            .unreadable
            .iter()
            .map(|(_, value)| value.clone())
            .collect()
    }

    /// Why the connection is closed, if it is.
    pub fn closed(&self) -> Option<StorageError> {
        self.shared.borrow().closed.clone()
    }

    /// The error that stopped durable writes, if one did.
    pub fn stopped(&self) -> Option<StorageError> {
        self.shared.borrow().journal.stopped().cloned()
    }

    /// The last failed repair or clear, if any.
    pub fn last_repair_error(&self) -> Option<StorageError> {
        self.shared.borrow().last_repair_error.clone()
    }

    /// The durable image as the journal sees it (what a reload would read,
    /// once [`wait_idle`](Self::wait_idle) has resolved).
    pub fn durable(&self) -> Vec<Entry> {
        self.shared.borrow().journal.durable().to_vec()
    }

    async fn wait_until(&self, ready: impl Fn(&Shared) -> bool) {
        std::future::poll_fn(|cx| {
            let mut shared = self.shared.borrow_mut();
            if ready(&shared) {
                return Poll::Ready(());
            }
            // Bounded by the number of tasks awaiting this store (one driver,
            // in practice); drained on every wake.
            shared.waiters.push(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }

    fn check_writable(&self) -> Result<(), StorageError> {
        self.shared.borrow().writable()
    }

    fn enqueue(&self, op: DiskOp) {
        let start = {
            let mut shared = self.shared.borrow_mut();
            shared.queue.push_back(op);
            !std::mem::replace(&mut shared.writer_running, true)
        };
        if start {
            let (db, shared) = (self.db.clone(), Rc::clone(&self.shared));
            wasm_bindgen_futures::spawn_local(run_writer(db, shared));
        }
    }

    /// Another tab asking for a new version (or deleting the database) gets
    /// this connection closed at once, so that tab is not blocked.
    fn watch_version_change(&self) -> Result<(), StorageError> {
        let mut listener = self
            .db
            .version_changes()
            .map_err(|error| dom_error(&error, None))?;
        let (db, shared) = (self.db.clone(), Rc::clone(&self.shared));
        wasm_bindgen_futures::spawn_local(async move {
            if listener.recv().await.is_some() {
                let mut state = shared.borrow_mut();
                state.closed = Some(StorageError::VersionChange);
                wake_all(&mut state);
                drop(state);
                db.close();
            }
        });
        Ok(())
    }
}

impl Storage for IdbStore {
    fn append(&mut self, stream: StreamId, batch: &RecordBatch) -> Result<(), StorageError> {
        self.check_writable()?;
        self.shared.borrow_mut().journal.append(stream, batch)
    }

    fn begin_flush(&mut self, now_ms: u64) -> Result<FlushTicket, StorageError> {
        self.check_writable()?;
        let ticket = self.shared.borrow_mut().journal.begin_flush(now_ms)?;
        if ticket.batch_count > 0 {
            self.enqueue(DiskOp::Flush(ticket.id));
        }
        Ok(ticket)
    }

    fn flush_state(&mut self, id: FlushId, now_ms: u64) -> FlushState {
        self.shared.borrow_mut().journal.flush_state(id, now_ms)
    }

    fn crash(&mut self, now_ms: u64, tear: Tear) -> CrashReport {
        let (report, repair) = self.shared.borrow_mut().journal.crash(now_ms, tear);
        if !repair.is_empty() && self.access() != Access::ReadOnly {
            self.enqueue(DiskOp::Repair(repair));
        }
        report
    }

    fn recover(&mut self) -> Recovery {
        let (recovery, repair, unreadable) = {
            let mut shared = self.shared.borrow_mut();
            let (recovery, repair) = shared.journal.recover();
            (recovery, repair, std::mem::take(&mut shared.unreadable))
        };
        if self.access() == Access::ReadOnly {
            // Another tab owns the disk: truncate the view, not the data.
            return recovery;
        }
        if !repair.is_empty() {
            self.enqueue(DiskOp::Repair(repair));
        }
        if !unreadable.is_empty() {
            self.enqueue(DiskOp::DeleteKeys(
                unreadable.into_iter().map(|(key, _)| key).collect(),
            ));
        }
        recovery
    }

    /// Refused unless this tab may write; the rewritten and deleted batches
    /// go to IndexedDB as one repair transaction.
    fn truncate(&mut self, stream: StreamId, offset: u64) -> Result<Truncation, StorageError> {
        let (cut, repair) = {
            let mut shared = self.shared.borrow_mut();
            shared.writable()?;
            shared.journal.truncate(stream, offset)?
        };
        if !repair.is_empty() {
            self.enqueue(DiskOp::Repair(repair));
        }
        Ok(cut)
    }

    /// Refused (recorded in [`last_repair_error`](IdbStore::last_repair_error),
    /// nothing changes) unless this tab may write.
    fn start_fresh(&mut self) {
        let mut shared = self.shared.borrow_mut();
        if let Err(error) = shared.writable() {
            shared.last_repair_error = Some(error);
            return;
        }
        shared.journal.start_fresh();
        shared.unreadable.clear();
        shared.saved_setup = Ok(None);
        drop(shared);
        self.enqueue(DiskOp::Clear);
    }
}

/// Flush transactions the writer starts before waiting for the first of them
/// (see [`run_flushes`]). Bounds the requests queued in the browser at once.
const PIPELINE_FLUSHES_MAX: usize = 64;

/// The writer task: runs queued operations until the queue is empty. At most
/// one runs per store (`writer_running`). Consecutive flushes are pipelined
/// ([`run_flushes`]); a repair, delete or clear runs alone, after them.
async fn run_writer(db: Database, shared: Rc<RefCell<Shared>>) {
    loop {
        let ops = next_ops(&shared);
        if ops.is_empty() {
            let mut state = shared.borrow_mut();
            state.writer_running = false;
            wake_all(&mut state);
            return;
        }
        if matches!(ops[0], DiskOp::Flush(_)) {
            run_flushes(&db, &shared, &ops).await;
            continue;
        }
        assert_eq!(ops.len(), 1, "only flushes are pipelined");
        let result = match start_op(&db, &shared, &ops[0]) {
            Ok(Some(started)) => finish_op(&shared, started, None).await,
            Ok(None) => Ok(()),
            Err(error) => Err(error),
        };
        let mut state = shared.borrow_mut();
        if let Err(error) = result {
            state.last_repair_error = Some(error);
        }
        wake_all(&mut state);
    }
}

/// The next run of queued flushes (at most [`PIPELINE_FLUSHES_MAX`]), or the
/// next other operation alone; empty when the queue is.
fn next_ops(shared: &Rc<RefCell<Shared>>) -> Vec<DiskOp> {
    let mut state = shared.borrow_mut();
    let Some(first) = state.queue.pop_front() else {
        return Vec::new();
    };
    let mut ops = vec![first];
    while matches!(ops[0], DiskOp::Flush(_)) && ops.len() < PIPELINE_FLUSHES_MAX {
        match state.queue.front() {
            Some(DiskOp::Flush(_)) => ops.push(state.queue.pop_front().expect("front exists")),
            _ => break,
        }
    }
    ops
}

/// Writes several flushes, one transaction each, without a round trip
/// between them: every transaction is created (its requests issued) first,
/// then they are awaited in order. IndexedDB runs read-write transactions on
/// the same stores one after the other, in the order they were created, so
/// the disk sees the same sequence as before, only without idle gaps.
///
/// The log must still never get a hole: if flush N fails, flush N+1 (already
/// created) must not commit. It cannot have started yet (it waits for N), and
/// its first request is the fence read; we are told of N's end before that
/// read answers, and abort N+1 there, before any of its writes is done.
async fn run_flushes(db: &Database, shared: &Rc<RefCell<Shared>>, ops: &[DiskOp]) {
    let started: Vec<_> = ops.iter().map(|op| start_op(db, shared, op)).collect();
    let mut failure: Option<StorageError> = None;
    for (op, started) in ops.iter().zip(started) {
        let DiskOp::Flush(id) = op else {
            unreachable!("next_ops pipelines flushes only");
        };
        let result = match started {
            Ok(Some(started)) => finish_op(shared, started, failure.clone()).await,
            Ok(None) => Ok(()),
            Err(error) => Err(error),
        };
        if let Err(error) = &result {
            failure.get_or_insert_with(|| error.clone());
        }
        let mut state = shared.borrow_mut();
        state.journal.io_done(*id, result);
        wake_all(&mut state);
    }
}

fn wake_all(shared: &mut Shared) {
    for waker in shared.waiters.drain(..) {
        waker.wake();
    }
}

/// A transaction whose requests are all issued, not yet finished.
struct Started<'db> {
    tx: Transaction<'db>,
    /// The owner-epoch read, the transaction's first request.
    fence:
        std::pin::Pin<Box<dyn Future<Output = indexed_db_futures::Result<Option<JsValue>>> + 'db>>,
    epoch: u64,
    db_name: String,
    inject_quota: bool,
}

/// Creates the transaction for `op` and issues every request synchronously
/// (no await: the auto-commit trap). `None` for a flush that a crash or an
/// earlier failure already discarded: it is never written.
fn start_op<'db>(
    db: &'db Database,
    shared: &Rc<RefCell<Shared>>,
    op: &DiskOp,
) -> Result<Option<Started<'db>>, StorageError> {
    let state = shared.borrow();
    state.writable()?;
    let Access::Owner { epoch } = state.access else {
        unreachable!("writable() refuses read-only stores");
    };
    if let DiskOp::Flush(id) = op {
        if state.journal.flush_entries(*id).is_none() {
            return Ok(None);
        }
    }
    let tx = readwrite(db, state.durability)?;
    // The fence goes first: IndexedDB answers requests in order, so its
    // answer arrives before any write below is carried out.
    let fence = Box::pin(get_owner(&tx)?);
    let store = tx
        .object_store(STORE_NAME)
        .map_err(|error| dom_error(&error, None))?;
    let inject_quota = match op {
        DiskOp::Flush(id) => {
            let entries = state.journal.flush_entries(*id).expect("checked above");
            put_entries(&store, entries)?;
            let limit = state.faults.quota_bytes;
            limit.is_some_and(|limit| state.journal.bytes_through(*id) > limit)
        }
        DiskOp::Repair(repair) => {
            put_entries(&store, &repair.put)?;
            let keys = repair
                .delete
                .iter()
                .map(|&seq| JsValue::from_f64(seq as f64));
            delete_keys(&store, keys)?;
            false
        }
        DiskOp::DeleteKeys(keys) => {
            delete_keys(&store, keys.iter().cloned())?;
            false
        }
        DiskOp::Clear => {
            store.clear().map_err(|error| dom_error(&error, None))?;
            let meta = meta_store(&tx)?;
            let key = KeyRange::Only(JsValue::from_str(SETUP_KEY));
            meta.delete::<JsValue, _>(key)
                .primitive()
                .map_err(|error| dom_error(&error, None))?;
            false
        }
        DiskOp::PutSetup(text) => {
            let meta = meta_store(&tx)?;
            meta.put(JsValue::from_str(text))
                .with_key(JsValue::from_str(SETUP_KEY))
                .primitive()
                .map_err(|error| dom_error(&error, None))?;
            false
        }
    };
    drop(store);
    let db_name = state.db_name.clone();
    Ok(Some(Started {
        tx,
        fence,
        epoch,
        db_name,
        inject_quota,
    }))
}

/// Waits for the fence read, then lets the transaction commit, or aborts it
/// (rolling back every request) when another tab owns the log, an earlier
/// pipelined flush failed (`earlier`), or a quota fault is injected.
async fn finish_op(
    shared: &Rc<RefCell<Shared>>,
    started: Started<'_>,
    earlier: Option<StorageError>,
) -> Result<(), StorageError> {
    let Started {
        tx,
        fence,
        epoch,
        db_name,
        inject_quota,
    } = started;
    let stored = fence.await.map_err(|error| dom_error(&error, None))?;
    if let Some(error) = earlier {
        let _ = tx.abort().await;
        return Err(error);
    }
    if let Err(error) = check_fence(stored.and_then(|v| v.as_f64()), epoch, &db_name) {
        // Another tab owns the log now: none of this may land.
        let _ = tx.abort().await;
        shared.borrow_mut().fenced = true;
        return Err(error);
    }
    if inject_quota {
        // Roll the real transaction back, then report what Chromium reports.
        let _ = tx.abort().await;
        let message = "injected fault: the flush exceeds FaultInjection::quota_bytes";
        return Err(StorageError::from_dom(
            "AbortError",
            message,
            Some("QuotaExceededError"),
        ));
    }
    finish(tx).await
}

fn readwrite(db: &Database, durability: Durability) -> Result<Transaction<'_>, StorageError> {
    let hint = match durability {
        Durability::Relaxed => TransactionDurability::Relaxed,
        Durability::Strict => TransactionDurability::Strict,
    };
    let mut options = TransactionOptions::new();
    options.set_durability(hint);
    let builder = db
        .transaction([STORE_NAME, META_STORE])
        .with_mode(TransactionMode::Readwrite);
    builder
        .with_options(options)
        .build()
        .map_err(|error| dom_error(&error, None))
}

/// Waits for the transaction's end and names the failure precisely: the
/// transaction's own `error` says *why* it aborted (e.g. the quota).
async fn finish(tx: Transaction<'_>) -> Result<(), StorageError> {
    let done = tx.on_done().map_err(|error| dom_error(&error, None))?;
    if done.await.is_ok() {
        return Ok(());
    }
    let cause = tx.error();
    let inner = cause.as_ref().map(dom_name);
    let message = cause
        .as_ref()
        .map_or_else(|| "transaction aborted".to_string(), |e| e.to_string());
    Err(StorageError::from_dom(
        "AbortError",
        &message,
        inner.as_deref(),
    ))
}

fn put_entries(store: &ObjectStore<'_>, entries: &[Entry]) -> Result<(), StorageError> {
    for entry in entries {
        let key = entry.seq as f64;
        let value: JsValue = frame(entry.stream, &entry.bytes).into();
        // The request future is dropped: requests go out when built, and a
        // failing one aborts the transaction, which `finish` reports.
        store
            .put(value)
            .with_key(key)
            .primitive()
            .map_err(|error| dom_error(&error, None))?;
    }
    Ok(())
}

fn delete_keys(
    store: &ObjectStore<'_>,
    keys: impl Iterator<Item = JsValue>,
) -> Result<(), StorageError> {
    for key in keys {
        store
            .delete::<JsValue, _>(KeyRange::Only(key))
            .primitive()
            .map_err(|error| dom_error(&error, None))?;
    }
    Ok(())
}

/// The stored value for one batch: stream code, then the batch bytes.
pub fn frame(stream: StreamId, bytes: &[u8]) -> js_sys::Uint8Array {
    let len = (FRAME_HEADER_LEN + bytes.len()) as u32;
    let array = js_sys::Uint8Array::new_with_length(len);
    array
        .subarray(0, FRAME_HEADER_LEN as u32)
        .copy_from(&stream.code().to_le_bytes());
    array
        .subarray(FRAME_HEADER_LEN as u32, len)
        .copy_from(bytes);
    array
}

fn meta_store<'tx>(tx: &'tx Transaction<'_>) -> Result<ObjectStore<'tx>, StorageError> {
    tx.object_store(META_STORE)
        .map_err(|error| dom_error(&error, None))
}

/// Reads the saved setup within `tx` (which must cover [`META_STORE`]).
async fn read_setup(tx: &Transaction<'_>) -> Result<Result<Option<String>, String>, StorageError> {
    let meta = meta_store(tx)?;
    let value = meta
        .get::<JsValue, JsValue, _>(KeyRange::Only(JsValue::from_str(SETUP_KEY)))
        .primitive()
        .map_err(|error| dom_error(&error, None))?
        .await
        .map_err(|error| dom_error(&error, None))?;
    Ok(match value {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(Some)
            .ok_or_else(|| format!("the value under `{SETUP_KEY}` is not text: {v:?}")),
    })
}

/// The request for the owner epoch (issued now, answered in order).
fn get_owner(
    tx: &Transaction<'_>,
) -> Result<impl Future<Output = indexed_db_futures::Result<Option<JsValue>>>, StorageError> {
    let meta = tx
        .object_store(META_STORE)
        .map_err(|error| dom_error(&error, None))?;
    meta.get::<JsValue, JsValue, _>(KeyRange::Only(JsValue::from_str(OWNER_KEY)))
        .primitive()
        .map_err(|error| dom_error(&error, None))
}

/// Opens the database, upgrading it to [`DB_VERSION`] if needed. If another
/// connection to an older version does not close (it ignores
/// `versionchange`), the browser fires `blocked` and would wait forever:
/// this answers `Blocked` instead, and closes the connection should the
/// open still succeed later, so the late connection blocks nobody.
async fn open_db(name: &str) -> Result<Database, StorageError> {
    let blocked = Rc::new(Cell::new(false));
    let waker: Rc<Cell<Option<Waker>>> = Rc::new(Cell::new(None));
    let on_blocked = {
        let (blocked, waker) = (Rc::clone(&blocked), Rc::clone(&waker));
        move |_event| {
            blocked.set(true);
            if let Some(waker) = waker.take() {
                waker.wake();
            }
            Ok(())
        }
    };
    let request = Database::open(name)
        .with_version(DB_VERSION)
        .with_on_blocked(on_blocked)
        .with_on_upgrade_needed(upgrade);
    let mut open = Box::pin(request.into_future());
    let outcome = std::future::poll_fn(|cx| {
        if let Poll::Ready(result) = open.as_mut().poll(cx) {
            return Poll::Ready(Some(result));
        }
        if blocked.get() {
            return Poll::Ready(None);
        }
        waker.set(Some(cx.waker().clone()));
        Poll::Pending
    })
    .await;
    match outcome {
        Some(result) => result.map_err(open_error),
        None => {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(db) = open.await {
                    db.close();
                }
            });
            Err(StorageError::Blocked)
        }
    }
}

/// Version 0 → 2 creates both stores; 1 → 2 adds `meta`.
fn upgrade(
    _event: indexed_db_futures::database::VersionChangeEvent,
    db: Database,
) -> indexed_db_futures::Result<()> {
    for name in [STORE_NAME, META_STORE] {
        if !db.object_store_names().any(|store| store == name) {
            db.create_object_store(name).build()?;
        }
    }
    Ok(())
}

/// Any failure to open means "no IndexedDB here": the app falls back.
fn open_error(error: OpenDbError) -> StorageError {
    let reason = match &error {
        OpenDbError::Base(IdbError::DomException(dom)) => {
            format!("{}: {}", dom_name_of(dom), dom.message())
        }
        other => other.to_string(),
    };
    StorageError::Unavailable { reason }
}

/// The owner's open: in ONE read-write transaction, bump the owner epoch and
/// read every frame back. An old owner's write transaction therefore runs
/// wholly before this one (and is in the image) or after it (and is fenced).
async fn claim_and_load(
    db: &Database,
    durability: Durability,
) -> Result<(u64, Image), StorageError> {
    let tx = readwrite(db, durability)?;
    let stored = get_owner(&tx)?
        .await
        .map_err(|error| dom_error(&error, None))?;
    let epoch = next_epoch(stored.and_then(|value| value.as_f64()))?;
    let meta = tx
        .object_store(META_STORE)
        .map_err(|error| dom_error(&error, None))?;
    meta.put(JsValue::from_f64(epoch as f64))
        .with_key(JsValue::from_str(OWNER_KEY))
        .primitive()
        .map_err(|error| dom_error(&error, None))?;
    drop(meta);
    let (entries, unreadable) = read_frames(&tx).await?;
    let setup = read_setup(&tx).await?;
    finish(tx).await?;
    Ok((epoch, (entries, unreadable, setup)))
}

/// Reads every frame, in key order, in one readonly transaction.
async fn load_image(db: &Database) -> Result<Image, StorageError> {
    let tx = db
        .transaction([STORE_NAME, META_STORE])
        .build()
        .map_err(|error| dom_error(&error, None))?;
    let (entries, unreadable) = read_frames(&tx).await?;
    let setup = read_setup(&tx).await?;
    Ok((entries, unreadable, setup))
}

/// Every frame of [`STORE_NAME`] within `tx`, in key order.
async fn read_frames(
    tx: &Transaction<'_>,
) -> Result<(Vec<Entry>, Vec<(JsValue, UnreadableValue)>), StorageError> {
    let store = tx
        .object_store(STORE_NAME)
        .map_err(|error| dom_error(&error, None))?;
    let keys = store
        .get_all_keys::<JsValue>()
        .primitive()
        .map_err(|e| dom_error(&e, None))?;
    let values = store
        .get_all::<JsValue>()
        .primitive()
        .map_err(|e| dom_error(&e, None))?;
    let keys = keys.await.map_err(|error| dom_error(&error, None))?;
    let values = values.await.map_err(|error| dom_error(&error, None))?;
    let mut entries = Vec::new();
    let mut unreadable = Vec::new();
    for (key, value) in keys.zip(values) {
        let (key, value) = (
            key.map_err(|e| dom_error(&e, None))?,
            value.map_err(|e| dom_error(&e, None))?,
        );
        match parse_frame(&key, value) {
            Ok(entry) => entries.push(entry),
            Err(reason) => {
                let shown = UnreadableValue {
                    key: format!("{key:?}"),
                    reason,
                };
                unreadable.push((key, shown));
            }
        }
    }
    Ok((entries, unreadable))
}

fn parse_frame(key: &JsValue, value: JsValue) -> Result<Entry, String> {
    let seq = key
        .as_f64()
        .filter(|k| k.fract() == 0.0 && (0.0..9.0e15).contains(k))
        .ok_or("key is not a batch sequence number")? as u64;
    let array = value
        .dyn_into::<js_sys::Uint8Array>()
        .map_err(|_| "value is not a Uint8Array")?;
    let len = array.length();
    if (len as usize) < FRAME_HEADER_LEN {
        return Err(format!("frame of {len} bytes has no stream header"));
    }
    // Copy the header and the batch out of JS memory separately: one copy of
    // the batch bytes, not two (copying is most of what a reload costs).
    let mut code = [0; FRAME_HEADER_LEN];
    array
        .subarray(0, FRAME_HEADER_LEN as u32)
        .copy_to(&mut code);
    let code = u64::from_le_bytes(code);
    let stream = StreamId::from_code(code).ok_or(format!("unknown stream code {code:#x}"))?;
    let bytes = array.subarray(FRAME_HEADER_LEN as u32, len).to_vec();
    Ok(Entry { seq, stream, bytes })
}

fn dom_name_of(dom: &DomException) -> String {
    let js: &JsValue = dom.as_ref();
    js.unchecked_ref::<web_sys::DomException>().name()
}

fn dom_name(error: &IdbError) -> String {
    match error {
        IdbError::DomException(dom) => dom_name_of(dom),
        _ => "Error".to_string(),
    }
}

fn dom_error(error: &IdbError, inner: Option<&str>) -> StorageError {
    StorageError::from_dom(&dom_name(error), &error.to_string(), inner)
}
