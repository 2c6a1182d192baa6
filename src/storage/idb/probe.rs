//! The first look at the database: did it exist, and did the browser say it
//! lost data?
//!
//! Chromium deletes a database whose files it finds damaged and recreates it
//! empty on the next open. It says so only on that open's `upgradeneeded`
//! event, through two fields no standard has: `dataLoss` (`"none"` or
//! `"total"`) and `dataLossMessage`. The IndexedDB wrapper crate hands its
//! upgrade callback a wrapper of the event that hides both, so the store
//! first opens the database itself, through `web-sys`: this open does the
//! schema upgrade, reads the two fields with `Reflect`, notes whether the
//! database was created anew (old version 0), and closes again. The wrapper's
//! own open that follows finds the schema current.

use super::{DB_VERSION, META_STORE, STORE_NAME};
use crate::storage::StorageError;
use gloo_events::EventListener;
use std::cell::RefCell;
use std::rc::Rc;
use std::task::{Poll, Waker};
use wasm_bindgen::{JsCast, JsValue};

/// What opening the database said besides handing over a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// The browser had no database of this name: this open created it (its
    /// `upgradeneeded` came from version 0). True on a first visit too.
    pub created: bool,
    /// Chromium's `dataLoss` and `dataLossMessage`, when it reported a loss:
    /// `dataLoss "total": <message>`.
    pub data_loss: Option<String>,
}

/// Where the probe stands; shared with its event listeners.
#[derive(Default)]
struct ProbeState {
    /// Filled in by `upgradeneeded`.
    report: OpenReport,
    /// Set by `success`, `error` or `blocked`.
    done: Option<Result<(), StorageError>>,
    /// The task awaiting `done`.
    waker: Option<Waker>,
}

impl ProbeState {
    fn finish(&mut self, result: Result<(), StorageError>) {
        self.done.get_or_insert(result);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// Opens `name` at [`DB_VERSION`] with `web-sys`, upgrading it if needed,
/// and closes it. `Blocked` when an older tab keeps an older version open
/// (the connection is closed should it open later, as in `open_db`).
pub(super) async fn probe(name: &str) -> Result<OpenReport, StorageError> {
    let unavailable = |what: &str, error: JsValue| StorageError::Unavailable {
        reason: format!("{what}: {}", js_text(&error)),
    };
    let factory = web_sys::window()
        .ok_or_else(|| unavailable("no window", JsValue::NULL))?
        .indexed_db()
        .map_err(|e| unavailable("indexedDB", e))?
        .ok_or_else(|| unavailable("indexedDB", JsValue::NULL))?;
    let request = factory
        .open_with_u32(name, DB_VERSION)
        .map_err(|e| unavailable("indexedDB.open", e))?;
    let state = Rc::new(RefCell::new(ProbeState::default()));
    let on = |kind: &'static str| {
        let (state, request) = (Rc::clone(&state), request.clone());
        EventListener::new(&request.clone(), kind, move |event| {
            react(&state, &request, kind, event);
        })
    };
    let listeners = [
        on("upgradeneeded"),
        on("success"),
        on("error"),
        on("blocked"),
    ];
    let result = std::future::poll_fn(|cx| {
        let mut state = state.borrow_mut();
        match state.done.take() {
            Some(result) => Poll::Ready(result),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
    .await;
    if matches!(result, Err(StorageError::Blocked)) {
        // The open goes on once the old tab lets go: it must still create
        // the stores, and close the connection it opens.
        listeners.into_iter().for_each(EventListener::forget);
    }
    result.map(|()| std::mem::take(&mut state.borrow_mut().report))
}

/// One event of the open request.
fn react(
    state: &RefCell<ProbeState>,
    request: &web_sys::IdbOpenDbRequest,
    kind: &str,
    event: &web_sys::Event,
) {
    let mut state = state.borrow_mut();
    match kind {
        "upgradeneeded" => {
            state.report = report_of(event);
            if let Err(error) = create_stores(request) {
                state.finish(Err(error));
            }
        }
        "success" => {
            if let Some(db) = open_database(request) {
                db.close();
            }
            state.finish(Ok(()));
        }
        "blocked" => state.finish(Err(StorageError::Blocked)),
        _ => {
            let reason = request
                .error()
                .ok()
                .flatten()
                .map_or_else(|| "the open failed".to_string(), |e| e.message());
            state.finish(Err(StorageError::Unavailable { reason }));
        }
    }
}

fn open_database(request: &web_sys::IdbOpenDbRequest) -> Option<web_sys::IdbDatabase> {
    request.result().ok()?.dyn_into().ok()
}

/// Version 0 → 2 creates both stores; 1 → 2 adds `meta`.
fn create_stores(request: &web_sys::IdbOpenDbRequest) -> Result<(), StorageError> {
    let db = open_database(request).ok_or_else(|| StorageError::Unavailable {
        reason: "upgradeneeded without a database".to_string(),
    })?;
    for name in [STORE_NAME, META_STORE] {
        if !db.object_store_names().contains(name) {
            db.create_object_store(name)
                .map_err(|e| StorageError::Unavailable {
                    reason: format!("createObjectStore({name}): {}", js_text(&e)),
                })?;
        }
    }
    Ok(())
}

/// Reads `oldVersion`, and Chromium's `dataLoss` / `dataLossMessage` when
/// present (other browsers have neither).
fn report_of(event: &web_sys::Event) -> OpenReport {
    let created = event
        .dyn_ref::<web_sys::IdbVersionChangeEvent>()
        .is_some_and(|e| e.old_version() == 0.0);
    let field = |key: &str| {
        js_sys::Reflect::get(event, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_string())
    };
    let data_loss = match field("dataLoss").as_deref() {
        None | Some("none") | Some("") => None,
        Some(kind) => Some(match field("dataLossMessage").filter(|m| !m.is_empty()) {
            Some(message) => format!("dataLoss \"{kind}\": {message}"),
            None => format!("dataLoss \"{kind}\", with no message"),
        }),
    };
    OpenReport { created, data_loss }
}

fn js_text(value: &JsValue) -> String {
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}
