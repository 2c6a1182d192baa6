//! The writer task: carries the journal's decisions out in IndexedDB, one
//! transaction per operation, flushes pipelined (see the parent module).

use super::open::frame;
use super::open::{get_owner, meta_store};
use super::STORE_NAME;
use super::{dom_error, dom_name, Durability, Shared, CLEARED_KEY, META_STORE, SETUP_KEY};

use crate::storage::journal::{Entry, Repair};
use crate::storage::ownership::{check_fence, Access};
use crate::storage::{FlushId, StorageError};
use indexed_db_futures::database::Database;
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{
    Transaction, TransactionDurability, TransactionMode, TransactionOptions,
};
use indexed_db_futures::KeyRange;
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use wasm_bindgen::JsValue;

/// A write the writer task must carry out, in order.
#[derive(Debug)]
pub(super) enum DiskOp {
    /// Put every batch of this flush in one transaction.
    Flush(FlushId),
    /// Make the disk match the journal after a crash or a truncation.
    Repair(Repair),
    /// Delete keys of values that could not be read at open.
    DeleteKeys(Vec<JsValue>),
    /// Delete everything (start fresh): the batches and the saved setup, and
    /// date the clear ([`CLEARED_KEY`]).
    Clear,
    /// Save the page's setup next to the log (see [`crate::app::resume`]).
    PutSetup(String),
}

/// Flush transactions the writer starts before waiting for the first of them
/// (see [`run_flushes`]). Bounds the requests queued in the browser at once.
const PIPELINE_FLUSHES_MAX: usize = 64;

/// The writer task: runs queued operations until the queue is empty. At most
/// one runs per store (`writer_running`). Consecutive flushes are pipelined
/// ([`run_flushes`]); a repair, delete or clear runs alone, after them.
pub(super) async fn run_writer(db: Database, shared: Rc<RefCell<Shared>>) {
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

pub(super) fn wake_all(shared: &mut Shared) {
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
            // When: a record of acknowledgements older than this describes
            // the log deleted here, not one the browser lost.
            meta.put(JsValue::from_f64(js_sys::Date::now()))
                .with_key(JsValue::from_str(CLEARED_KEY))
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

pub(super) fn readwrite(
    db: &Database,
    durability: Durability,
) -> Result<Transaction<'_>, StorageError> {
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
pub(super) async fn finish(tx: Transaction<'_>) -> Result<(), StorageError> {
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
