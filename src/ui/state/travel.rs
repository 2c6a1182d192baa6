//! The reducer's side of the timeline and of "Show me": seeking to an
//! instant, stepping back and forward, jumping to the end, Undo after a
//! fork (see `app::session::timeline`), and a selected finding's story kept
//! while the run is shown at its first event.

use super::{Action, AppState};
use crate::app::session::EventRow;

/// Virtual ms the Back and Forward buttons move.
pub const TRAVEL_STEP_MS: u64 = 1_000;

/// A selected finding's story, kept as it was when selected: the run then
/// goes back to its first event, where the finding has not happened yet.
#[derive(Clone, Debug, PartialEq)]
pub struct Story {
    /// The focus it was selected by (a message, or a finding's kind).
    pub focus: String,
    /// Its causal chain, as the checker built it at selection.
    pub rows: Vec<EventRow>,
}

impl AppState {
    /// The timeline's actions: Seek, Back/Forward, Jump to the end, Undo.
    pub(super) fn travel(&mut self, action: Action) {
        match action {
            Action::Seek(t_ms) => self.seek(t_ms),
            Action::SeekBy(forward) => self.seek_by(forward),
            Action::SeekEnd => self.seek(u64::MAX),
            Action::Undo => self.undo_fork(),
            // No `{other:?}`: the Debug of every Action would ship in the page.
            _ => unreachable!("the reducer sends only timeline actions here"),
        }
    }

    /// Shows the run at virtual time `t_ms` (paused); a refusal is the
    /// page notice and the run stays where it was.
    pub(super) fn seek(&mut self, t_ms: u64) {
        self.playing = false;
        self.last_frame_ms = None;
        let result = self.session.borrow_mut().seek_ms(t_ms);
        self.notice = result.err();
        self.settle();
    }

    /// Back (negative) or Forward by [`TRAVEL_STEP_MS`].
    pub(super) fn seek_by(&mut self, forward: bool) {
        let now_ms = self.session.borrow().world().now_ms();
        let t_ms = match forward {
            true => now_ms.saturating_add(TRAVEL_STEP_MS),
            false => now_ms.saturating_sub(TRAVEL_STEP_MS),
        };
        self.seek(t_ms);
    }

    /// Undo: the future the last fork dropped comes back.
    pub(super) fn undo_fork(&mut self) {
        self.playing = false;
        let result = self.session.borrow_mut().undo_fork();
        self.notice = result.err();
        self.settle();
    }

    /// "Show me" on a finding (or closing its story): its causal chain is
    /// kept, and the run goes back to the chain's first event when it can.
    pub(super) fn show(&mut self, focus: Option<String>) {
        self.focus = focus.clone();
        self.story = None;
        let Some(focus) = focus else {
            self.refresh_view();
            return;
        };
        let rows = self.session.borrow().view(Some(&focus)).chain;
        let first_ms = rows.first().map(|r| r.time_ms);
        let can_travel = self.session.borrow().travel_refused().is_none();
        self.story = Some(Story { focus, rows });
        match first_ms {
            Some(t_ms) if can_travel => self.seek(t_ms),
            _ => self.refresh_view(),
        }
    }

    /// The view with a kept story in place of the live one.
    pub(super) fn keep_story(&self, view: &mut crate::app::session::View) {
        if let Some(story) = &self.story {
            view.focus_msg = Some(story.focus.clone());
            view.chain = story.rows.clone();
        }
    }
}
