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

mod open;
mod probe;
mod writer;

use super::journal::{Entry, Journal, Limits};
use super::locks::Lease;
use super::ownership::{Access, LeaseStatus};
use super::recovery::{Recovery, Truncation};
use super::{CrashReport, EncodedBatch, FlushId, FlushState, FlushTicket, Storage};
use super::{StorageError, StreamId, Tear};
use indexed_db_futures::database::Database;
use indexed_db_futures::error::{DomException, Error as IdbError};
use open::{claim_and_load, load_image, open_db, open_error};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::task::{Poll, Waker};
use wasm_bindgen::{JsCast, JsValue};
use writer::{run_writer, wake_all, DiskOp};

pub use open::frame;
pub use probe::OpenReport;

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
/// Key in [`META_STORE`] of the `Date.now()` of the last deliberate clear
/// (Start fresh, or a new run): a record of acknowledgements older than it
/// describes a log deleted on purpose (see [`crate::storage::acked`]).
pub const CLEARED_KEY: &str = "cleared_ms";
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
    /// The transaction `durability` hint of every write.
    pub durability: Durability,
    /// Virtual time a flush takes (the simulation's fsync latency).
    pub fsync_latency_ms: u64,
    /// Bounds on pending data and flushes in flight.
    pub limits: Limits,
    /// Failures to fake (tests).
    pub faults: FaultInjection,
}

impl IdbConfig {
    /// The defaults for database `db_name`: strict durability, no fsync
    /// latency, default limits, no faults.
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

/// A stored value `open` could not make sense of (recovery deletes it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnreadableValue {
    /// Its key, as the browser shows it.
    pub key: String,
    /// Why it cannot be read.
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

/// What `open` reads back.
struct Image {
    /// The batches, in key order.
    entries: Vec<Entry>,
    /// Values that could not be parsed (recovery deletes them).
    unreadable: Vec<(JsValue, UnreadableValue)>,
    /// The saved setup, or why the stored value is unusable.
    setup: Result<Option<String>, String>,
    /// When the log was last cleared on purpose ([`CLEARED_KEY`]).
    cleared_ms: Option<u64>,
}

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
    /// What the open found: whether the database existed, and any data loss
    /// the browser reported (see [`OpenReport`]).
    opened: OpenReport,
    /// [`CLEARED_KEY`] as the open read it.
    cleared_ms: Option<u64>,
    /// What the page's record says was acknowledged, once the page hands
    /// it over for a Resume ([`Storage::acked_checkpoint`]).
    acked_checkpoint: Option<BTreeMap<StreamId, u64>>,
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
        let (db, opened) = open_db(&config.db_name).await?;
        let (epoch, image) = claim_and_load(&db, config.durability).await?;
        let lease_status = lease.status_cell();
        let access = Access::Owner { epoch };
        let mut store = IdbStore::assemble((db, opened), config, access, image)?;
        store.shared.borrow_mut().lease = Some(lease_status);
        store.lease = Some(lease);
        Ok(store)
    }

    /// Opens the log to read it while another tab owns it: no lease, no
    /// epoch, and every write (flush, repair, start fresh) answers `ReadOnly`.
    /// `recover` still works, in memory only, to show what the log holds.
    pub async fn open_read_only(config: IdbConfig) -> Result<IdbStore, StorageError> {
        check_available(&config)?;
        let (db, opened) = open_db(&config.db_name).await?;
        let image = load_image(&db).await?;
        IdbStore::assemble((db, opened), config, Access::ReadOnly, image)
    }

    fn assemble(
        (db, opened): (Database, OpenReport),
        config: IdbConfig,
        access: Access,
        image: Image,
    ) -> Result<IdbStore, StorageError> {
        let journal = Journal::from_image(config.limits, config.fsync_latency_ms, image.entries);
        let shared = Shared {
            journal,
            queue: VecDeque::new(),
            writer_running: false,
            closed: None,
            waiters: Vec::new(),
            unreadable: image.unreadable,
            faults: config.faults,
            durability: config.durability,
            db_name: config.db_name,
            access,
            lease: None,
            fenced: false,
            last_repair_error: None,
            saved_setup: image.setup,
        };
        let store = IdbStore {
            db,
            shared: Rc::new(RefCell::new(shared)),
            lease: None,
            opened,
            cleared_ms: image.cleared_ms,
            acked_checkpoint: None,
        };
        store.watch_version_change()?;
        Ok(store)
    }

    /// The lease's status: `None` when read-only, `TakenOver` once another
    /// tab stole the lock.
    pub fn lease_status(&self) -> Option<LeaseStatus> {
        self.lease.as_ref().map(Lease::status)
    }

    /// What the open found: whether the browser had the database at all,
    /// and the data loss it reported, if any.
    pub fn open_report(&self) -> &OpenReport {
        &self.opened
    }

    /// When the log was last cleared on purpose, as stored at open
    /// (`Date.now()` ms; `None` if never).
    pub fn cleared_ms(&self) -> Option<u64> {
        self.cleared_ms
    }

    /// Keeps the checkpoint of acknowledged offsets (the page's record,
    /// read from `localStorage`) beside the log, for the broker that
    /// resumes it ([`Storage::acked_checkpoint`]).
    pub fn set_acked_checkpoint(&mut self, checkpoint: Option<BTreeMap<StreamId, u64>>) {
        self.acked_checkpoint = checkpoint;
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

    /// Like [`wait_durable`](Self::wait_durable), but the future holds no
    /// borrow of the store while it waits: the page's frames keep writing
    /// through the store (a `RefCell`) while the disk finishes the flush.
    pub fn durable_signal(&self, id: FlushId) -> impl std::future::Future<Output = ()> + 'static {
        let shared = Rc::clone(&self.shared);
        async move { wait_on(&shared, |shared| !shared.journal.io_pending(id)).await }
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
        wait_on(&self.shared, ready).await;
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
    fn append_encoded(
        &mut self,
        stream: StreamId,
        batch: EncodedBatch,
    ) -> Result<(), StorageError> {
        self.check_writable()?;
        self.shared
            .borrow_mut()
            .journal
            .append_encoded(stream, batch)
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

    fn acked_checkpoint(&self) -> Option<BTreeMap<StreamId, u64>> {
        self.acked_checkpoint.clone()
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

/// Resolves once `ready` holds for the store's shared state; wakes on every
/// change the writer makes.
async fn wait_on(shared: &Rc<RefCell<Shared>>, ready: impl Fn(&Shared) -> bool) {
    std::future::poll_fn(|cx| {
        let mut shared = shared.borrow_mut();
        if ready(&shared) {
            return Poll::Ready(());
        }
        // Bounded by the number of tasks awaiting this store (the driver and
        // the page's disk pump, in practice); drained on every wake.
        shared.waiters.push(cx.waker().clone());
        Poll::Pending
    })
    .await;
}
