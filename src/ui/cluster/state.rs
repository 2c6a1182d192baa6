//! The cluster page's state as a Yew `Reducible`, changed only through
//! [`ClusterAction`]. The reducer drives the [`ClusterSession`]; the
//! components draw the [`ClusterView`] it derives and send actions back.

use super::disks::{self, Disks};
use crate::app::cluster::{parse_acks, BrokerButton, ClusterSession, ClusterSetup, ClusterView};
use crate::node::NodeId;
use crate::storage::FlushId;
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
    /// The brokers' stores opened (or could not be).
    DisksOpened(Disks),
    /// Resume the cluster an earlier visit left.
    Resume,
    /// Delete it and start the setup on screen on empty disks.
    StartFresh,
    /// The store flush the run waited for is durable: run on.
    DiskDone,
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
    /// The brokers' IndexedDB stores.
    pub disks: Disks,
    /// The run on screen resumed an earlier visit's cluster.
    pub resumed: bool,
    /// The run on screen keeps its brokers' logs in IndexedDB.
    pub kept: bool,
}

impl PartialEq for ClusterState {
    /// The session is shared and changed in place; the view is what changes.
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.view, &other.view)
            && self.draft == other.draft
            && self.playing == other.playing
            && self.errors == other.errors
            && self.notice == other.notice
            && self.disks == other.disks
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
            disks: Disks::Opening,
            resumed: false,
            kept: false,
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

    /// A new run of `setup` replaces the one on screen; its brokers keep
    /// their logs on emptied disks unless an earlier visit's cluster waits
    /// for the person's choice.
    fn start(&mut self, setup: ClusterSetup) {
        match ClusterSession::new(&setup) {
            Ok(mut session) => {
                self.kept = false;
                if let Disks::Ready {
                    stores,
                    found: None,
                } = &self.disks
                {
                    session.keep_in(disks::fresh(stores, &setup));
                    self.kept = true;
                }
                *self.session.borrow_mut() = session;
                self.running = setup;
                self.errors.clear();
                self.notice = None;
                self.playing = false;
                self.resumed = false;
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

impl ClusterState {
    /// The store flush the run waits for: (broker, flush).
    pub fn disk_wait(&self) -> Option<(NodeId, FlushId)> {
        self.session.borrow().disk_wait()
    }

    /// Resolves once the flush the run waits for is durable (holding no
    /// borrow of the store meanwhile).
    pub fn disk_signal(&self) -> Option<impl std::future::Future<Output = ()> + 'static> {
        let (node, flush) = self.disk_wait()?;
        let Disks::Ready { stores, .. } = &self.disks else {
            return None;
        };
        let store = stores.get(usize::from(node.0) - 1)?;
        let signal = store.0.borrow().durable_signal(flush);
        Some(signal)
    }

    fn disks_opened(&mut self, disks: Disks) {
        self.disks = disks;
        let fresh = matches!(self.disks, Disks::Ready { found: None, .. });
        if fresh && self.view.now_ms == 0 {
            self.start(self.running.clone()); // the run on screen is kept from its start
        }
    }

    /// The earlier visit's cluster, on the logs its brokers' disks kept.
    fn resume(&mut self) {
        let Disks::Ready {
            stores,
            found: Some(found),
        } = &mut self.disks
        else {
            return;
        };
        let stores = stores.clone();
        let resumed = found.setup.clone().and_then(|setup| {
            let session = ClusterSession::resume(&setup, &disks::recover(&stores))?;
            Ok((setup, session))
        });
        match resumed {
            Ok((setup, mut session)) => {
                session.keep_in(disks::boxed(&stores));
                *self.session.borrow_mut() = session;
                self.disks = Disks::Ready {
                    stores,
                    found: None,
                };
                (self.draft, self.running) = (setup.clone(), setup);
                self.errors.clear();
                self.notice = None;
                self.playing = false;
                (self.resumed, self.kept) = (true, true);
            }
            Err(why) => {
                self.notice = Some(format!("Cannot resume: {why}. Start fresh instead."));
                found.setup = Err(why);
            }
        }
    }

    fn start_fresh(&mut self) {
        if let Disks::Ready { found, .. } = &mut self.disks {
            *found = None;
            self.start(self.running.clone());
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
            ClusterAction::DisksOpened(disks) => s.disks_opened(disks),
            ClusterAction::Resume => s.resume(),
            ClusterAction::StartFresh => s.start_fresh(),
            ClusterAction::DiskDone => s.session.borrow_mut().go_on(),
        }
        s.refresh();
        Rc::new(s)
    }
}
