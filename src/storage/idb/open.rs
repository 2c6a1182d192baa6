//! Opening the database and reading its durable image back.

use super::probe::{probe, OpenReport};
use super::writer::{finish, readwrite};
use super::STORE_NAME;
use super::{dom_error, dom_name_of, Durability, Image, UnreadableValue};
use super::{CLEARED_KEY, DB_VERSION, FRAME_HEADER_LEN, META_STORE, OWNER_KEY, SETUP_KEY};

use crate::storage::journal::Entry;
use crate::storage::ownership::next_epoch;
use crate::storage::{StorageError, StreamId};
use indexed_db_futures::database::Database;
use indexed_db_futures::error::{Error as IdbError, OpenDbError};
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::Transaction;
use indexed_db_futures::KeyRange;
use std::cell::Cell;
use std::future::{Future, IntoFuture};
use std::rc::Rc;
use std::task::{Poll, Waker};
use wasm_bindgen::{JsCast, JsValue};

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

pub(super) fn meta_store<'tx>(tx: &'tx Transaction<'_>) -> Result<ObjectStore<'tx>, StorageError> {
    tx.object_store(META_STORE)
        .map_err(|error| dom_error(&error, None))
}

/// Reads the value under `key` of [`META_STORE`] within `tx`.
async fn read_meta(tx: &Transaction<'_>, key: &str) -> Result<Option<JsValue>, StorageError> {
    let meta = meta_store(tx)?;
    meta.get::<JsValue, JsValue, _>(KeyRange::Only(JsValue::from_str(key)))
        .primitive()
        .map_err(|error| dom_error(&error, None))?
        .await
        .map_err(|error| dom_error(&error, None))
}

/// Reads the saved setup within `tx` (which must cover [`META_STORE`]).
async fn read_setup(tx: &Transaction<'_>) -> Result<Result<Option<String>, String>, StorageError> {
    let value = read_meta(tx, SETUP_KEY).await?;
    Ok(match value {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(Some)
            .ok_or_else(|| format!("the value under `{SETUP_KEY}` is not text: {v:?}")),
    })
}

/// The request for the owner epoch (issued now, answered in order).
pub(super) fn get_owner(
    tx: &Transaction<'_>,
) -> Result<impl Future<Output = indexed_db_futures::Result<Option<JsValue>>>, StorageError> {
    let meta = tx
        .object_store(META_STORE)
        .map_err(|error| dom_error(&error, None))?;
    meta.get::<JsValue, JsValue, _>(KeyRange::Only(JsValue::from_str(OWNER_KEY)))
        .primitive()
        .map_err(|error| dom_error(&error, None))
}

/// Opens the database, upgrading it to [`DB_VERSION`] if needed, and says
/// what the open found ([`probe`] does the upgrade and reads what the
/// browser reported). If another connection to an older version does not
/// close (it ignores `versionchange`), the browser fires `blocked` and would
/// wait forever: this answers `Blocked` instead, and closes the connection
/// should the open still succeed later, so the late connection blocks nobody.
pub(super) async fn open_db(name: &str) -> Result<(Database, OpenReport), StorageError> {
    let report = probe(name).await?;
    let db = open_versioned(name).await?;
    Ok((db, report))
}

/// The wrapper crate's open, at [`DB_VERSION`], with the `blocked` guard.
async fn open_versioned(name: &str) -> Result<Database, StorageError> {
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

/// Version 0 → 2 creates both stores; 1 → 2 adds `meta`. Normally
/// [`probe`] has upgraded the database already; this covers another tab
/// deleting it in between.
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
pub(super) fn open_error(error: OpenDbError) -> StorageError {
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
pub(super) async fn claim_and_load(
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
    let image = read_image(&tx).await?;
    finish(tx).await?;
    Ok((epoch, image))
}

/// Reads every frame, in key order, in one readonly transaction.
pub(super) async fn load_image(db: &Database) -> Result<Image, StorageError> {
    let tx = db
        .transaction([STORE_NAME, META_STORE])
        .build()
        .map_err(|error| dom_error(&error, None))?;
    read_image(&tx).await
}

/// The frames and the meta values, within `tx`.
async fn read_image(tx: &Transaction<'_>) -> Result<Image, StorageError> {
    let (entries, unreadable) = read_frames(tx).await?;
    let setup = read_setup(tx).await?;
    let cleared = read_meta(tx, CLEARED_KEY).await?;
    let cleared_ms = cleared
        .and_then(|v| v.as_f64())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| ms as u64);
    Ok(Image {
        entries,
        unreadable,
        setup,
        cleared_ms,
    })
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
