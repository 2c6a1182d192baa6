//! The owner lease through the Web Locks API (wasm32 only).
//!
//! Why a lease and a fencing epoch are both needed is in [`super::ownership`].
//! This file only talks to `navigator.locks`:
//!
//! ```text
//!  navigator.locks.request(name, { ifAvailable: true }, lock => ...)
//!     lock == null  → another tab holds it: StorageError::OtherTab
//!     lock != null  → granted; the callback returns a promise we keep
//!                     unresolved: the lock is held until we resolve it
//!  navigator.locks.request(name, { steal: true }, lock => ...)
//!     granted at once; the old holder's request promise rejects with an
//!     AbortError, which flips its lease to TakenOver
//! ```
//!
//! `web-sys` has `LockManager` only behind `--cfg=web_sys_unstable_apis`, a
//! build-wide flag, so the two calls used are bound here directly.
//!
//! The lease is released by [`Lease::release`] (which waits until the lock
//! manager has let it go, so a reopen right after finds it free), or by
//! dropping it (at once, without waiting). A closed or crashed tab releases
//! its locks too: the browser does it.

use super::ownership::{lock_name, LeaseStatus};
use super::StorageError;
use js_sys::{Function, Object, Promise, Reflect};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks` (see the module docs for why not `web_sys`).
    type LockManager;

    /// `LockManager.request(name, options, callback)`; throws on a bad name
    /// or an opaque origin, hence `catch`.
    #[wasm_bindgen(method, catch, js_name = request)]
    fn request(
        this: &LockManager,
        name: &str,
        options: &Object,
        callback: &JsValue,
    ) -> Result<Promise, JsValue>;
}

/// How a lease protects the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseKind {
    /// A Web Lock is held (plus the fence).
    Locked,
    /// No Web Locks in this browser: the fencing epoch alone (last opener
    /// wins; see [`super::ownership`]).
    FenceOnly,
}

/// The right to write one log. Acquire it, then hand it to
/// [`IdbStore::open_owned`](super::idb::IdbStore::open_owned).
#[derive(Debug)]
pub struct Lease {
    db_name: String,
    kind: LeaseKind,
    status: Rc<Cell<LeaseStatus>>,
    /// Resolves the promise the lock callback returned: releases the lock.
    release: Option<Function>,
    /// The request's own promise: settles once the lock is released (or
    /// rejects with `AbortError` when stolen).
    settled: Option<Promise>,
}

impl Lease {
    /// Asks for the log's lock without waiting: `Err(OtherTab)` if another
    /// tab holds it. Without Web Locks, a fence-only lease (never refused).
    pub async fn acquire(db_name: &str) -> Result<Lease, StorageError> {
        match lock_manager()? {
            Some(locks) => Lease::request(&locks, db_name, "ifAvailable").await,
            None => Ok(Lease::fence_only(db_name)),
        }
    }

    /// Takes the log over from whichever tab holds it (`steal`): that tab's
    /// lease flips to `TakenOver` and the fence refuses its writes.
    pub async fn take_over(db_name: &str) -> Result<Lease, StorageError> {
        match lock_manager()? {
            Some(locks) => Lease::request(&locks, db_name, "steal").await,
            None => Ok(Lease::fence_only(db_name)),
        }
    }

    /// A lease with no lock behind it: the documented fallback when
    /// `navigator.locks` is missing, public so tests can take that path.
    pub fn fence_only(db_name: &str) -> Lease {
        Lease {
            db_name: db_name.to_string(),
            kind: LeaseKind::FenceOnly,
            status: Rc::new(Cell::new(LeaseStatus::Held)),
            release: None,
            settled: None,
        }
    }

    /// The log (database) this lease is for.
    pub fn db_name(&self) -> &str {
        &self.db_name
    }

    /// Whether a Web Lock backs it, or only the fencing epoch.
    pub fn kind(&self) -> LeaseKind {
        self.kind
    }

    /// Held, or taken over by another tab.
    pub fn status(&self) -> LeaseStatus {
        self.status.get()
    }

    /// A view of the status the store checks before every write.
    pub(crate) fn status_cell(&self) -> Rc<Cell<LeaseStatus>> {
        Rc::clone(&self.status)
    }

    /// Lets the lock go and waits until the lock manager has done so.
    pub async fn release(mut self) {
        let settled = self.settled.take();
        self.let_go();
        if let Some(settled) = settled {
            // Rejects if the lock was stolen meanwhile; either way it is gone.
            let _ = JsFuture::from(settled).await;
        }
    }

    fn let_go(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
        if self.status.get() == LeaseStatus::Held {
            self.status.set(LeaseStatus::Released);
        }
    }

    /// One `navigator.locks.request` with option `flag` set to true.
    async fn request(
        locks: &LockManager,
        db_name: &str,
        flag: &str,
    ) -> Result<Lease, StorageError> {
        let options = Object::new();
        let _ = Reflect::set(&options, &flag.into(), &JsValue::TRUE);
        // `granted` resolves with the release function, or null if refused.
        let mut resolve_granted: Option<Function> = None;
        let granted = Promise::new(&mut |resolve, _reject| resolve_granted = Some(resolve));
        let resolve_granted = resolve_granted.expect("Promise::new runs its executor at once");
        let on_lock = Closure::once_into_js({
            let resolve_granted = resolve_granted.clone();
            move |lock: JsValue| -> Promise {
                if lock.is_null() {
                    let _ = resolve_granted.call1(&JsValue::UNDEFINED, &JsValue::NULL);
                    return Promise::resolve(&JsValue::UNDEFINED);
                }
                // Held until `release` is called.
                Promise::new(&mut |release, _reject| {
                    let _ = resolve_granted.call1(&JsValue::UNDEFINED, &release);
                })
            }
        });
        let name = lock_name(db_name);
        let settled = locks
            .request(&name, &options, &on_lock)
            .map_err(lock_error)?;
        let status = Rc::new(Cell::new(LeaseStatus::Held));
        watch(settled.clone(), Rc::clone(&status), resolve_granted);
        let release = JsFuture::from(granted).await.map_err(lock_error)?;
        if release.is_null() {
            let db_name = db_name.to_string();
            return Err(StorageError::OtherTab { db_name });
        }
        Ok(Lease {
            db_name: db_name.to_string(),
            kind: LeaseKind::Locked,
            status,
            release: Some(release.unchecked_into()),
            settled: Some(settled),
        })
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.let_go();
    }
}

/// Follows the request's promise: an `AbortError` means another tab stole the
/// lock. `resolve_granted` is settled with null in case the request failed
/// before the callback ran, so `request` never waits forever.
fn watch(settled: Promise, status: Rc<Cell<LeaseStatus>>, resolve_granted: Function) {
    wasm_bindgen_futures::spawn_local(async move {
        let outcome = JsFuture::from(settled).await;
        let _ = resolve_granted.call1(&JsValue::UNDEFINED, &JsValue::NULL);
        if status.get() != LeaseStatus::Held {
            return;
        }
        let stolen = outcome.is_err_and(|error| error_name(&error) == "AbortError");
        status.set(if stolen {
            LeaseStatus::TakenOver
        } else {
            LeaseStatus::Released
        });
    });
}

/// `navigator.locks`, or `None` when this browser has no Web Locks.
fn lock_manager() -> Result<Option<LockManager>, StorageError> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).map_err(lock_error)?;
    if navigator.is_undefined() {
        return Ok(None);
    }
    let locks = Reflect::get(&navigator, &"locks".into()).map_err(lock_error)?;
    if locks.is_undefined() || locks.is_null() {
        return Ok(None);
    }
    Ok(Some(locks.unchecked_into()))
}

fn error_name(error: &JsValue) -> String {
    Reflect::get(error, &"name".into())
        .ok()
        .and_then(|name| name.as_string())
        .unwrap_or_else(|| "Error".to_string())
}

/// A failed lock request (an opaque origin, for one) means no lease.
fn lock_error(error: JsValue) -> StorageError {
    let message = Reflect::get(&error, &"message".into())
        .ok()
        .and_then(|message| message.as_string())
        .unwrap_or_else(|| format!("{error:?}"));
    StorageError::Unavailable {
        reason: format!(
            "Web Locks request failed, {}: {message}",
            error_name(&error)
        ),
    }
}
