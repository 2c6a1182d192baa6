//! The reducer's side of the page's stored log: the store opening, a log an
//! earlier visit left (Resume or Start fresh, Resume checking the log
//! against the record of what was acknowledged), and one that came back
//! short of that record (see `ui::acked`).

use super::AppState;
use crate::app::acked::checkpoint;
use crate::app::resume::ResumeReport;
use crate::app::session::Session;
use crate::ui::persist::Persistence;

impl AppState {
    /// The store new log runs write to: IndexedDB once it is open and holds
    /// no earlier visit's log, nor the trace of a lost one (the person
    /// decides about those first).
    pub(super) fn store_for_runs(&self) -> Option<Box<dyn crate::storage::Storage>> {
        match &self.persistence {
            Persistence::Ready {
                store,
                found_any: false,
                vanished: None,
                ..
            } => Some(Box::new(store.clone())),
            _ => None,
        }
    }

    pub(super) fn store_opened(&mut self, persistence: Persistence) {
        self.persistence = persistence;
        if self.setup.keeps_data() && self.store_for_runs().is_some() {
            self.playing = false;
            self.try_setup(self.setup.clone());
        }
    }

    /// Deletes the stored log and its record of acknowledgements (the
    /// record first: a kill in between then leaves a log to offer, never a
    /// record that cries loss over a log deleted on purpose).
    pub(super) fn start_fresh(&mut self) {
        if let Persistence::Ready {
            store,
            found_records,
            found_any,
            acked_before,
            vanished,
            ..
        } = &mut self.persistence
        {
            use crate::storage::Storage as _;
            self.acks.borrow_mut().clear();
            store.clone().start_fresh();
            (*found_records, *found_any) = (0, false);
            (*acked_before, *vanished) = (None, None);
            self.playing = false;
            self.try_setup(self.setup.clone());
        }
    }

    /// Builds the earlier visit's setup on its stored log: the broker
    /// recovers it as after a crash, and the run goes on from there. From
    /// then on the log is this run's: Reset or a new setting starts fresh.
    pub(super) fn resume(&mut self) {
        let Persistence::Ready {
            store,
            saved_setup,
            acked_before,
            vanished,
            ..
        } = &self.persistence
        else {
            return;
        };
        let setup = match saved_setup {
            Ok(setup) => setup.clone(),
            Err(why) => {
                self.notice = Some(format!("Cannot resume: {why}. Start fresh instead."));
                return;
            }
        };
        // The record of what the earlier visit acknowledged goes to the
        // broker as the store's checkpoint: it checks the log against it.
        let topics = crate::app::acked::topic_names(Some(&setup));
        let queues = crate::app::acked::queue_names(Some(&setup));
        let checkpoint = acked_before
            .as_ref()
            .map(|r| checkpoint(r, &topics, &queues));
        store.0.borrow_mut().set_acked_checkpoint(checkpoint);
        match Session::resume_with_store(&setup, Box::new(store.clone())) {
            Ok(session) => {
                let missing = vanished.as_ref().map_or(&[][..], |v| &v.missing[..]);
                let report = ResumeReport::of(session.world());
                self.resumed = Some(report.with_record(acked_before.as_ref(), missing));
                self.start_run(session);
                if let Persistence::Ready {
                    found_records,
                    found_any,
                    acked_before,
                    vanished,
                    ..
                } = &mut self.persistence
                {
                    (*found_records, *found_any) = (0, false);
                    (*acked_before, *vanished) = (None, None);
                }
                self.setup = setup;
                self.notice = None;
                self.input_errors.clear();
            }
            Err(why) => self.notice = Some(format!("Cannot resume: {why}. Start fresh instead.")),
        }
        self.playing = false;
        self.focus = None;
        self.last_frame_ms = None;
        self.settle();
    }
}
