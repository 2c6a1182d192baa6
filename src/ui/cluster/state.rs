//! The cluster page's state as a Yew `Reducible`, changed only through
//! [`ClusterAction`]. The reducer drives the [`ClusterSession`]; the
//! components draw the [`ClusterView`] it derives and send actions back.

use crate::app::cluster::{parse_acks, BrokerButton, ClusterSession, ClusterSetup, ClusterView};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use yew::Reducible;

/// Virtual ms one "Forward 1 s" click runs.
pub const FORWARD_MS: u64 = 1_000;

/// Everything that can happen to the cluster page.
#[derive(Clone, Debug, PartialEq)]
pub enum ClusterAction {
    /// An animation frame while playing (virtual time runs at 1×).
    Frame {
        /// The frame's wall time (`performance.now()`).
        wall_ms: f64,
    },
    /// Play.
    Play,
    /// Pause.
    Pause,
    /// Run [`FORWARD_MS`] at once.
    Forward,
    /// Run to the end, heal and restart every broker, drain, and judge.
    RunToEnd,
    /// Start the same setup again from 0.
    Reset,
    /// A setting changed: its label and the picked text.
    Set(&'static str, String),
    /// A broker button, on broker `b{n}`.
    Press(BrokerButton, u8),
}

/// The cluster page's state.
#[derive(Clone)]
pub struct ClusterState {
    /// The run, changed in place by the reducer.
    session: Rc<RefCell<ClusterSession>>,
    /// What the components draw, derived after every change.
    pub view: Rc<ClusterView>,
    /// The settings as picked, runnable or not: the fields show these.
    pub draft: ClusterSetup,
    /// The setup of the run on screen (the last one that could run).
    running: ClusterSetup,
    /// Frames advance the run.
    pub playing: bool,
    /// Why the draft cannot run, by field label.
    pub errors: BTreeMap<&'static str, String>,
    /// A message for the whole page (a refused button).
    pub notice: Option<String>,
    /// The last frame's wall time.
    last_frame_ms: Option<f64>,
}

impl PartialEq for ClusterState {
    /// The session is shared and changed in place; the view is what changes.
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.view, &other.view)
            && self.draft == other.draft
            && self.playing == other.playing
            && self.errors == other.errors
            && self.notice == other.notice
    }
}

impl Default for ClusterState {
    /// The default setup's run, paused at 0.
    fn default() -> Self {
        let setup = ClusterSetup::default();
        // A constant: tests/cluster_page.rs runs it.
        let session = ClusterSession::new(&setup).expect("the default cluster is valid");
        ClusterState {
            view: Rc::new(session.view()),
            session: Rc::new(RefCell::new(session)),
            draft: setup.clone(),
            running: setup,
            playing: false,
            errors: BTreeMap::new(),
            notice: None,
            last_frame_ms: None,
        }
    }
}

impl ClusterState {
    fn refresh(&mut self) {
        let view = self.session.borrow().view();
        if view.finished || view.error.is_some() {
            self.playing = false;
        }
        self.view = Rc::new(view);
    }

    fn frame(&mut self, wall_ms: f64) {
        if !self.playing {
            self.last_frame_ms = None;
            return;
        }
        let gap_ms = super::super::state::frame_gap_ms(&mut self.last_frame_ms, wall_ms);
        self.session.borrow_mut().advance(gap_ms as u64);
    }

    /// A new run of `setup` replaces the one on screen.
    fn start(&mut self, setup: ClusterSetup) {
        match ClusterSession::new(&setup) {
            Ok(session) => {
                *self.session.borrow_mut() = session;
                self.running = setup;
                self.errors.clear();
                self.notice = None;
                self.playing = false;
            }
            Err(e) => {
                self.errors.clear();
                self.errors.insert(e.field, e.reason);
            }
        }
    }

    /// A setting picked: the draft changes, and a runnable draft starts a
    /// new run; an impossible one says why next to the field it names.
    fn set(&mut self, field: &'static str, text: &str) {
        let mut draft = self.draft.clone();
        let number = text.trim().parse::<u8>();
        match (field, number) {
            ("brokers", Ok(n)) => draft.brokers = n,
            ("replication.factor", Ok(n)) => draft.replication_factor = n,
            ("min.insync.replicas", Ok(n)) => draft.min_insync_replicas = n,
            ("acks", _) => draft.acks = parse_acks(text).unwrap_or(draft.acks),
            ("unclean.leader.election.enable", _) => {
                draft.unclean_leader_election_enable = text == "true";
            }
            ("Seed", _) => match text.trim().parse::<u64>() {
                Ok(seed) => draft.seed = seed,
                Err(_) => {
                    let why = format!("`{}` is not a whole number", text.trim());
                    self.errors.insert("Seed", why);
                    return;
                }
            },
            (other, _) => {
                self.notice = Some(format!("{other}: `{text}` is not one of its choices"));
                return;
            }
        }
        self.draft = draft.clone();
        if draft == self.running {
            self.errors.clear();
        } else {
            self.start(draft);
        }
    }
}

impl Reducible for ClusterState {
    type Action = ClusterAction;

    fn reduce(self: Rc<Self>, action: ClusterAction) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            ClusterAction::Frame { wall_ms } => s.frame(wall_ms),
            ClusterAction::Play => s.playing = !s.view.finished,
            ClusterAction::Pause => s.playing = false,
            ClusterAction::Forward => s.session.borrow_mut().advance(FORWARD_MS),
            ClusterAction::RunToEnd => s.session.borrow_mut().run_to_end(),
            ClusterAction::Reset => {
                let setup = s.running.clone();
                s.start(setup);
            }
            ClusterAction::Set(field, text) => s.set(field, &text),
            ClusterAction::Press(button, broker) => {
                s.notice = s.session.borrow_mut().press(button, broker).err();
            }
        }
        s.refresh();
        Rc::new(s)
    }
}
