//! Keeps the record of what the page acknowledged in `localStorage` (key and
//! format: [`crate::storage::acked`]), next to the IndexedDB log it is about.
//!
//! The reducer tells the [`AckRecorder`] when a run starts and lets it look
//! at the run after every frame; the recorder reads the new history events
//! ([`AckTracker`]) and writes the record at most every
//! [`RECORD_EVERY_MS`] of real time, and at once when the page is hidden or
//! closed (`pagehide`, `visibilitychange`): a hard kill can cost the last
//! quarter second of the record, never more. Only runs that write to the
//! page's IndexedDB store are recorded; a run on the in-memory model, or a
//! scenario file, leaves the record of the stored log alone.

use crate::app::acked::AckTracker;
use crate::app::session::SharedSession;
use crate::storage::acked::{AckedRecord, ACKED_KEY};
use std::cell::RefCell;
use std::rc::Rc;

/// Real ms between two writes of the record while a run plays.
pub const RECORD_EVERY_MS: f64 = 250.0;

/// Writes the record for the page's runs (see the module docs).
pub struct AckRecorder {
    /// The page's run; the same handle for the page's whole life (a new run
    /// replaces what it holds).
    session: SharedSession,
    /// The database the record is about.
    db: String,
    /// The run's acknowledgements so far.
    tracker: AckTracker,
    /// The run writes to the page's store: only then is it recorded.
    active: bool,
    /// Wall ms (`performance.now()`) of the last write, to throttle.
    written_ms: Option<f64>,
    /// What the last write said, `updated_ms` aside: an unchanged record is
    /// not written again.
    written: Option<AckedRecord>,
    /// Why the last write failed (private mode, a full quota), if it did.
    pub error: Option<String>,
}

/// The recorder, shared by the reducer and the page's `pagehide` listener.
pub type SharedRecorder = Rc<RefCell<AckRecorder>>;

impl AckRecorder {
    /// A recorder for `session`'s runs, about database `db`; idle until
    /// [`new_run`](Self::new_run) says a run writes to it.
    pub fn new(session: SharedSession, db: &str) -> AckRecorder {
        AckRecorder {
            session,
            db: db.to_string(),
            tracker: AckTracker::new(),
            active: false,
            written_ms: None,
            written: None,
            error: None,
        }
    }

    /// The session now holds a new run (a reset, a new setting, a Resume, a
    /// loaded file): follow it from its first event if it writes to the
    /// page's store (`persistent`), else leave the record as it is.
    pub fn new_run(&mut self, persistent: bool) {
        self.tracker = AckTracker::new();
        self.active = persistent;
        self.written_ms = None;
        self.written = None;
    }

    /// After a frame or an action at wall time `now_ms`: reads the run's new
    /// events, and writes the record if [`RECORD_EVERY_MS`] have passed.
    pub fn observe(&mut self, now_ms: f64) {
        let due = self
            .written_ms
            .is_none_or(|last| now_ms - last >= RECORD_EVERY_MS);
        if self.active && due {
            self.write();
            self.written_ms = Some(now_ms);
        }
    }

    /// Writes the record now (the page is being hidden or closed).
    pub fn flush(&mut self) {
        if self.active {
            self.write();
        }
    }

    /// Start fresh: the log is deleted on purpose, so is its record. New
    /// runs write a new one.
    pub fn clear(&mut self) {
        self.active = false;
        self.written = None;
        if let Some(storage) = local_storage() {
            if let Err(e) = storage.remove_item(ACKED_KEY) {
                self.error = Some(format!("{e:?}"));
            }
        }
    }

    fn write(&mut self) {
        let session = self.session.borrow();
        let world = session.world();
        self.tracker.update(world);
        let now_ms = js_sys::Date::now() as u64;
        let record = self.tracker.record(world, &self.db, now_ms);
        drop(session);
        // Everything but the time it was written (no copies: they would
        // bring a map clone's code into the page).
        let same = |w: &AckedRecord| {
            (w.partitions == record.partitions && w.queues == record.queues)
                && (w.acked, w.in_memory) == (record.acked, record.in_memory)
        };
        if self.written.as_ref().is_some_and(same) {
            return;
        }
        let Some(storage) = local_storage() else {
            self.error = Some("localStorage is not available".to_string());
            return;
        };
        match storage.set_item(ACKED_KEY, &record.to_json()) {
            Ok(()) => (self.written, self.error) = (Some(record), None),
            Err(e) => self.error = Some(format!("{e:?}")),
        }
    }
}

/// The record an earlier visit left, if there is a readable one.
pub fn read() -> Option<AckedRecord> {
    let text = local_storage()?.get_item(ACKED_KEY).ok()??;
    AckedRecord::from_json(&text).ok()
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}
