//! The reducer's side of share links: "Copy link" makes one from the run
//! as it stands, and a `#/play/<link>` URL opens one (see
//! [`crate::app::share`]). What a link holds and how it replays is app
//! code; this only puts the result on the page.

use super::AppState;
use crate::app::playground::Setup;
use crate::app::session::Session;
use crate::app::share::Origin;

/// What the share panel shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkPanel {
    /// The link's fragment after `#/play/`, or why this run has none.
    pub fragment: Result<String, String>,
    /// The run's history fingerprint when the link was made or opened,
    /// so two people can see they hold the same run.
    pub fingerprint: String,
    /// Made by "Copy link" (the panel copies it to the clipboard), not
    /// opened from the URL.
    pub copy: bool,
}

impl AppState {
    /// "Copy link": the run as it stands, as a link (the panel copies it).
    pub(super) fn make_link(&mut self) {
        let session = self.session.borrow();
        self.link = Some(LinkPanel {
            fragment: session.share_link(),
            fingerprint: session.fingerprint(),
            copy: true,
        });
    }

    /// Opens a share link: its run, paused at the instant it was shared, or
    /// the default playground with the link's problem as the page notice.
    pub(super) fn open_link(&mut self, link: &str) {
        let (session, notice) = Session::open_link(link);
        // Reset starts the shared setup again from its beginning.
        self.setup = match session.origin() {
            Some(Origin::Setup(setup)) => setup.clone(),
            _ => Setup::default(),
        };
        let panel = notice.is_none().then(|| LinkPanel {
            fragment: Ok(link.to_string()),
            fingerprint: session.fingerprint(),
            copy: false,
        });
        self.playing = false;
        self.focus = None;
        self.resumed = None;
        self.last_frame_ms = None;
        self.start_run(session);
        self.link = panel;
        self.notice = notice;
        self.settle();
    }
}
