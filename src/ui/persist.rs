//! The page's durable log: the IndexedDB store behind the simulated log broker.
//!
//! The app opens one [`IdbStore`] when it starts. Every log-broker run then
//! writes through it, so a broker's `acks=all` reply goes out only after the
//! IndexedDB transaction holding the record has completed. When the world
//! reaches a flush's completion time and the browser has not finished the
//! transaction yet, the world runs on a little (producers keep sending; the
//! next group commit takes it all, see [`crate::app::pace`]), then answers
//! "waiting for storage"; the disk pump ([`super::disk`]) goes on as soon as
//! the transaction completes. Such a run's timing follows the real disk, so
//! unlike a run on the in-memory disk model it is not replayed event for
//! event.
//!
//! When IndexedDB cannot be used — unavailable (private mode, disabled),
//! blocked by an old tab, owned by another tab — the page says so in a banner
//! and the log runs on the in-memory disk model instead. In-memory queue runs
//! never persist anything: that is the seed's point about them.

use crate::app::playground::Setup;
use crate::storage::acked::{AckedRecord, Vanished};
use crate::storage::idb::{IdbConfig, IdbStore};
use crate::storage::{
    CrashReport, EncodedBatch, FlushId, FlushState, FlushTicket, Recovery, Storage, StorageError,
    StreamId, Tear, Truncation,
};
use std::cell::RefCell;
use std::rc::Rc;

/// The IndexedDB database that holds the page's log.
pub const DB_NAME: &str = "brokerlab-log";
/// Virtual ms a flush takes; matches the playground's `fsync_latency_ms`.
const FSYNC_LATENCY_MS: u64 = 5;

/// One open store shared by successive runs (Reset builds a new world, not a
/// new database connection).
#[derive(Clone)]
pub struct SharedStore(pub Rc<RefCell<IdbStore>>);

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedStore(IndexedDB)")
    }
}

impl PartialEq for SharedStore {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Storage for SharedStore {
    fn append_encoded(
        &mut self,
        stream: StreamId,
        batch: EncodedBatch,
    ) -> Result<(), StorageError> {
        self.0.borrow_mut().append_encoded(stream, batch)
    }
    fn begin_flush(&mut self, now_ms: u64) -> Result<FlushTicket, StorageError> {
        self.0.borrow_mut().begin_flush(now_ms)
    }
    fn flush_state(&mut self, id: FlushId, now_ms: u64) -> FlushState {
        self.0.borrow_mut().flush_state(id, now_ms)
    }
    fn crash(&mut self, now_ms: u64, tear: Tear) -> CrashReport {
        self.0.borrow_mut().crash(now_ms, tear)
    }
    fn recover(&mut self) -> Recovery {
        self.0.borrow_mut().recover()
    }
    fn start_fresh(&mut self) {
        self.0.borrow_mut().start_fresh()
    }
    /// Forwarded, so a stored record the broker cannot read is cut with a
    /// report instead of stopping the page (see `broker::log::cut_stream`).
    fn truncate(&mut self, stream: StreamId, offset: u64) -> Result<Truncation, StorageError> {
        self.0.borrow_mut().truncate(stream, offset)
    }
    fn acked_checkpoint(&self) -> Option<std::collections::BTreeMap<StreamId, u64>> {
        self.0.borrow().acked_checkpoint()
    }
}

/// What the page knows about its durable log.
#[derive(Clone, Debug, PartialEq)]
pub enum Persistence {
    /// The store is being opened.
    Opening,
    /// Log runs persist to IndexedDB.
    Ready {
        /// The open store every log run writes through.
        store: SharedStore,
        /// Partition records (or durable queues' messages) already stored
        /// when the page loaded (an earlier visit's), until resumed or cleared.
        found_records: u64,
        /// Anything at all is stored: partition records, or only committed
        /// offsets and producer or transaction state (retention may have
        /// deleted every record). Such a log is offered too, never wiped
        /// silently by the next run.
        found_any: bool,
        /// The setup saved with that log, or why it cannot be used (then only
        /// "Start fresh" is offered).
        saved_setup: Result<Setup, String>,
        /// The record of acknowledgements the earlier visit left
        /// ([`crate::storage::acked`]), unless a deliberate clear came after
        /// it; until the log is resumed or cleared.
        acked_before: Option<AckedRecord>,
        /// That record names acknowledged records the stored log does not
        /// hold: the database vanished, is empty, or came back shorter. The
        /// page says so, and runs use the in-memory model until the person
        /// chooses (Start fresh, or Resume when records are left).
        vanished: Option<Vanished>,
    },
    /// IndexedDB cannot be used.
    Unavailable {
        /// Why, and what happens now (the banner's text).
        message: String,
        /// Another tab owns the log and this one may take it over.
        can_take_over: bool,
    },
}

/// Opens the page's store and counts what an earlier visit left in it.
pub async fn open() -> Persistence {
    opened(IdbStore::open(config()).await)
}

/// Takes the log over from the tab that owns it (its later writes are refused).
pub async fn take_over() -> Persistence {
    opened(IdbStore::take_over(config()).await)
}

fn config() -> IdbConfig {
    let mut config = IdbConfig::new(DB_NAME);
    config.fsync_latency_ms = FSYNC_LATENCY_MS;
    config
}

/// Counts the records an earlier visit left without recovering the store:
/// recovery (and the truncation it may write) is for Resume or Start fresh
/// to do, once the person has chosen; loading the page writes nothing.
fn opened(result: Result<IdbStore, StorageError>) -> Persistence {
    match result {
        Ok(store) => {
            let (recovery, _) = crate::storage::recovery::recover(&store.durable());
            let saved_setup = match store.saved_setup() {
                Ok(Some(text)) => crate::app::resume::from_text(&text),
                Ok(None) => Err(
                    "no setup was saved with it (an older page wrote it, or saving failed)"
                        .to_string(),
                ),
                Err(why) => Err(format!("the saved setup is unreadable: {why}")),
            };
            let acked_before =
                super::acked::read().filter(|r| r.db == DB_NAME && !r.is_stale(store.cleared_ms()));
            let vanished = acked_before.as_ref().and_then(|record| {
                let report = store.open_report();
                crate::app::acked::vanished_on_load(
                    record,
                    DB_NAME,
                    report.created,
                    &recovery,
                    saved_setup.as_ref().ok(),
                    report.data_loss.clone(),
                )
            });
            Persistence::Ready {
                store: SharedStore(Rc::new(RefCell::new(store))),
                found_records: partition_records(&recovery)
                    + crate::broker::queue::stored_messages(&recovery),
                found_any: recovery.report.streams.values().any(|r| r.records > 0),
                saved_setup,
                acked_before,
                vanished,
            }
        }
        Err(e) => Persistence::Unavailable {
            message: unavailable_message(&e),
            can_take_over: matches!(e, StorageError::OtherTab { .. }),
        },
    }
}

/// Records in the partitions' logs (what a person calls "the log"; the
/// offsets, producer and transaction streams are bookkeeping about them).
fn partition_records(recovery: &crate::storage::Recovery) -> u64 {
    let reports = recovery.report.streams.iter();
    let partitions = reports.filter(|(s, _)| matches!(s, StreamId::Partition { .. }));
    partitions.map(|(_, report)| report.records).sum()
}

/// Why durable writes stopped during a run, if they did (the quota ran out,
/// another tab took the log over, or another tab upgraded the database), and
/// whether taking the log back could help.
pub fn stopped(store: &SharedStore) -> Option<(String, bool)> {
    let store = store.0.borrow();
    let why = store.closed().or_else(|| store.stopped())?;
    let taken = matches!(why, StorageError::TakenOver { .. })
        || matches!(&why, StorageError::WritesStopped { cause } if matches!(**cause, StorageError::TakenOver { .. }));
    let text = format!(
        "Durable writes stopped: {why}. Nothing already acknowledged is lost; producers waiting for acks=all time out and retry."
    );
    Some((text, taken))
}

/// The banner text for a store that could not be opened.
fn unavailable_message(e: &StorageError) -> String {
    let what = match e {
        StorageError::Unavailable { .. } => {
            "IndexedDB is not available here (private browsing or disabled storage)"
        }
        StorageError::OtherTab { .. } => "another tab owns the stored log",
        StorageError::Blocked => "an older tab keeps the database open and blocks its upgrade",
        StorageError::QuotaExceeded { .. } => "the browser's storage quota is used up",
        _ => "IndexedDB could not be opened",
    };
    format!("{what} ({e}). The log broker runs on the in-memory disk model: crashes behave the same, but nothing survives a reload.")
}

/// Asks the browser to keep this site's storage under pressure
/// (`navigator.storage.persist()`; already persisted counts as granted).
/// Without it IndexedDB is "best-effort" data the browser may evict when
/// space runs low. Chromium decides without a prompt; other browsers may ask
/// the person, so nothing waits for this.
pub async fn request_persistent_storage() -> Result<bool, String> {
    use wasm_bindgen_futures::JsFuture;
    let text = |e: wasm_bindgen::JsValue| format!("{e:?}");
    let window = web_sys::window().ok_or("no window")?;
    let manager = window.navigator().storage();
    let persisted = JsFuture::from(manager.persisted().map_err(text)?).await;
    if persisted.map_err(text)?.as_bool() == Some(true) {
        return Ok(true);
    }
    let granted = JsFuture::from(manager.persist().map_err(text)?).await;
    Ok(granted.map_err(text)?.as_bool() == Some(true))
}

/// The line shown beside the log's storage: what `persist()` answered.
pub fn persistent_storage_text(answer: &Result<bool, String>) -> String {
    match answer {
        Ok(true) => "Persistent storage: granted. The browser will not evict this log to free space; a crash can still damage it.".to_string(),
        Ok(false) => "Persistent storage: not granted. The browser treats this log as best-effort data and may evict it when space runs low.".to_string(),
        Err(why) => format!("Persistent storage: could not be asked for ({why})."),
    }
}
