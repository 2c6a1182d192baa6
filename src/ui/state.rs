//! The page's state as a Yew `Reducible`, changed only through [`Action`].
//!
//! Every interaction is one named action, so keyboard shortcuts, buttons and
//! tests all go through the same door. The reducer talks to the [`Session`]
//! (the simulation handle, shared through a context); components only render
//! the derived [`View`] and send actions back.

mod links;
mod stored_log;
mod travel;

pub use links::LinkPanel;
pub use travel::{Story, TRAVEL_STEP_MS};

use super::acked::{AckRecorder, SharedRecorder};
use super::disk::SharedPump;
use super::persist::{Persistence, DB_NAME};
use crate::app::playground::{
    fields, BrokerKind, ConsumerSettings, FieldBounds, ProducerSettings, Setup,
};
use crate::app::session::{Session, SharedSession, View};
use crate::app::share::LiveAction;
use crate::config::Guarantee;
use crate::config::Setting;
use crate::config::{AckMode, ProcessingSpec};
use crate::storage::FlushId;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use yew::Reducible;

/// Speeds offered: virtual ms per wall ms.
pub const SPEEDS: [f64; 8] = [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 100.0];
const SPEED_DEFAULT_INDEX: usize = 2;
/// Simulation work allowed per animation frame, in wall ms: half a 60 fps
/// frame, leaving the rest for rendering.
pub const FRAME_BUDGET_MS: f64 = 8.0;
/// A frame after a long pause (a background tab) advances at most this much
/// wall time, so the page never tries to catch up minutes at once.
const FRAME_GAP_MS_MAX: f64 = 100.0;

/// Wall ms since the last frame, at most [`FRAME_GAP_MS_MAX`] (0 for the
/// first frame after a pause), and this frame becomes the last one: what
/// the lesson and cluster pages advance by.
pub(super) fn frame_gap_ms(last_frame_ms: &mut Option<f64>, wall_ms: f64) -> f64 {
    let gap_ms = last_frame_ms.map_or(0.0, |last| (wall_ms - last).clamp(0.0, FRAME_GAP_MS_MAX));
    *last_frame_ms = Some(wall_ms);
    gap_ms
}
/// The checker ([`crate::check::live`]) reads only the events added since
/// its last refresh, so refreshing every frame spreads its work evenly. What
/// it cannot avoid per refresh (a look at the broker's contents) still
/// grows with a log broker's log, so after each refresh it waits at least
/// this many times the refresh's cost, which keeps it under a tenth of the
/// page's time however long the run.
const SUMMARY_COST_FACTOR: f64 = 10.0;
/// Virtual ms one "Fast-forward" click covers.
pub const FAST_FORWARD_MS: u64 = 5_000;
/// Wall ms one fast-forward may spend.
const FAST_FORWARD_BUDGET_MS: f64 = 250.0;

/// The toolbar's fields, which show a refused setup's message inline.
const TOOLBAR_FIELDS: [&str; 4] = ["Broker", "Delivery", "Partitions", "Seed"];

/// A monotonic wall clock in ms (`performance.now()` in the page). Passed in
/// so the reducer itself never reads a clock and tests can drive it.
pub type Clock = Rc<dyn Fn() -> f64>;

/// Everything that can happen to the page, one named door each.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// An animation frame.
    Frame {
        /// The frame's wall time (`performance.now()`).
        wall_ms: f64,
    },
    /// The group commit the run waited for is on disk: run on without
    /// waiting for the next frame (see [`super::disk`]).
    DiskDone,
    /// Play: virtual time advances every frame at the chosen speed.
    Play,
    /// Pause, and check the run now.
    Pause,
    /// Space: Play when paused, Pause when playing.
    TogglePlay,
    /// Run exactly one event (the Step button, or S).
    Step,
    /// Start the setup's run again from virtual time 0.
    Reset,
    /// Run [`FAST_FORWARD_MS`] of virtual time at once.
    FastForward,
    /// The Speed list: an index into [`SPEEDS`].
    SetSpeed(usize),
    /// The Broker list.
    SetBroker(BrokerKind),
    /// The Delivery list.
    SetDelivery(Guarantee),
    /// Raw text from the Partitions field; checked before it is used.
    SetPartitions(String),
    /// Raw text from the Seed field.
    SetSeed(String),
    /// The Durable queues switch (queue broker): every queue `durable`.
    ToggleDurableQueues,
    /// The Persistent messages switch (queue broker): `delivery_mode=2`.
    TogglePersistent,
    /// Raw text of a new-client setting (`Rate`, `Processing time`, `Prefetch`).
    SetNewClient {
        /// The field's label.
        field: &'static str,
        /// What was typed.
        text: String,
    },
    /// Open or close a client's settings row.
    ToggleSettings(String),
    /// Raw text of one live client setting (`Rate`, `Keys`, `Processing
    /// time`, `Prefetch`, `Ack mode`); checked before it is used.
    SetClientSetting {
        /// The client (`p1`, `c2`).
        id: String,
        /// The field's label.
        field: &'static str,
        /// What was typed or picked.
        text: String,
    },
    /// Add a producer with the Add fields' settings.
    AddProducer,
    /// Add a consumer with the Add fields' settings.
    AddConsumer,
    /// Crash one client now.
    CrashClient(String),
    /// Restart a crashed client.
    RestartClient(String),
    /// Make a consumer 10 times slower, or back.
    ToggleSlow(String),
    /// Crash the broker now.
    CrashBroker,
    /// Crash the broker with its disk mid-write: the batch in flight is torn.
    CrashBrokerTorn,
    /// Restart the crashed broker.
    RestartBroker,
    /// Drop every publisher confirm for a while.
    DropAcks,
    /// Show the cause chain of a message (a finding was clicked), or close it.
    Focus(Option<String>),
    /// Show or hide every event row's raw fields (its JSON line) under its
    /// sentence, in the event log and the story alike.
    ToggleRawFields,
    /// A bundled example or a picked file to run instead.
    LoadScenario {
        /// Its file name.
        name: String,
        /// Its JSON text, checked before it runs.
        text: String,
    },
    /// The IndexedDB store finished opening (or could not be opened).
    StoreOpened(Persistence),
    /// Clear the log an earlier visit left in IndexedDB and store new runs there.
    StartFresh,
    /// Go on with the log an earlier visit left, under the setup saved with it.
    Resume,
    /// What `navigator.storage.persist()` answered (or why it could not be asked).
    StoragePersisted(Result<bool, String>),
    /// An error from outside the reducer (e.g. a file could not be read).
    Notice(String),
    /// "Copy link": make a share link of the run as it stands.
    MakeLink,
    /// Open a share link (`#/play/<link>`): its run, or the default
    /// playground and a message saying what was wrong with it.
    OpenLink(String),
    /// The timeline slider: show the run at this virtual ms.
    Seek(u64),
    /// Back (false) or Forward (true) by [`TRAVEL_STEP_MS`].
    SeekBy(bool),
    /// Jump to the furthest instant reached.
    SeekEnd,
    /// Bring back the future that acting in the past dropped.
    Undo,
}

/// The page's state: the run (shared with the components through a
/// context) and everything the controls show.
#[derive(Clone)]
pub struct AppState {
    /// The run, mutated in place by the reducer.
    pub session: SharedSession,
    /// What the components draw, derived after every change.
    pub view: Rc<View>,
    /// The controls' last good values; a new run starts from these.
    pub setup: Setup,
    /// The Add fields' producer: what "Add producer" adds.
    pub new_producer: ProducerSettings,
    /// The Add fields' consumer: what "Add consumer" adds.
    pub new_consumer: ConsumerSettings,
    /// Frames advance the run.
    pub playing: bool,
    /// The chosen speed, an index into [`SPEEDS`].
    pub speed_index: usize,
    /// The message whose story is shown.
    pub focus: Option<String>,
    /// A selected finding's story, kept while the run shows its first event.
    pub story: Option<Story>,
    /// Event rows show their raw fields under the sentence.
    pub raw_fields: bool,
    /// Inline messages per control label, e.g. "Seed" → "must be a whole number".
    pub input_errors: BTreeMap<&'static str, String>,
    /// Clients whose settings row is open.
    pub settings_open: BTreeSet<String>,
    /// Inline messages of the settings rows: (client id, field) → message.
    pub client_errors: BTreeMap<(String, &'static str), String>,
    /// A message for the whole page (a failed load, an unbuilt option).
    pub notice: Option<String>,
    /// Where log-broker runs keep their log.
    pub persistence: Persistence,
    /// After Resume: what recovery found, until the next run starts.
    pub resumed: Option<crate::app::resume::ResumeReport>,
    /// Keeps the record of what log runs acknowledged outside their
    /// database (see `ui::acked`); shared with the `pagehide` listener.
    pub acks: SharedRecorder,
    /// What `navigator.storage.persist()` answered, once it has.
    pub storage_persisted: Option<Result<bool, String>>,
    /// The share link last made or opened, and the run's fingerprint.
    pub link: Option<LinkPanel>,
    /// The page's wall clock, passed in (tests drive their own).
    clock: Clock,
    /// The last frame's wall time, to turn the next one into virtual ms.
    last_frame_ms: Option<f64>,
    /// When the checker last ran (wall ms).
    last_summary_ms: f64,
    /// Wall ms the last checker run took.
    summary_cost_ms: f64,
    /// Runs a log run on IndexedDB on as soon as the commit it waits for
    /// is on disk (see [`super::disk`]); shared with the pump task.
    pub disk: SharedPump,
}

impl PartialEq for AppState {
    /// The session is shared and mutated in place; the view is what changes.
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.view, &other.view)
            && self.setup == other.setup
            && self.playing == other.playing
            && self.speed_index == other.speed_index
            && self.focus == other.focus
            && self.story == other.story
            && self.raw_fields == other.raw_fields
            && self.input_errors == other.input_errors
            && self.settings_open == other.settings_open
            && self.client_errors == other.client_errors
            && self.notice == other.notice
            && self.new_producer == other.new_producer
            && self.new_consumer == other.new_consumer
            && self.persistence == other.persistence
            && self.resumed == other.resumed
            && self.storage_persisted == other.storage_persisted
            && self.link == other.link
    }
}

impl AppState {
    /// The page as it opens: the default setup's run, paused, and the
    /// store still opening.
    pub fn new(clock: Clock) -> AppState {
        let setup = Setup::default();
        // A constant, not a person's or a stored setting: it builds, or no
        // page could (tests/playground.rs default_setup_is_a_valid_...).
        let session = Session::from_setup(&setup).expect("the default setup is valid");
        let view = Rc::new(session.view(None));
        let session = Rc::new(RefCell::new(session));
        let acks = AckRecorder::new(Rc::clone(&session), DB_NAME);
        AppState {
            acks: Rc::new(RefCell::new(acks)),
            storage_persisted: None,
            link: None,
            session,
            view,
            setup,
            new_producer: ProducerSettings::default(),
            new_consumer: ConsumerSettings::default(),
            playing: false,
            speed_index: SPEED_DEFAULT_INDEX,
            focus: None,
            story: None,
            raw_fields: false,
            input_errors: BTreeMap::new(),
            settings_open: BTreeSet::new(),
            client_errors: BTreeMap::new(),
            notice: None,
            persistence: Persistence::Opening,
            resumed: None,
            clock,
            last_frame_ms: None,
            last_summary_ms: 0.0,
            summary_cost_ms: 0.0,
            disk: SharedPump::default(),
        }
    }

    /// Virtual ms per wall ms.
    pub fn speed(&self) -> f64 {
        SPEEDS[self.speed_index]
    }

    fn refresh_view(&mut self) {
        let mut view = self.session.borrow().view(self.focus.as_deref());
        self.keep_story(&mut view);
        self.view = Rc::new(view);
        self.acks.borrow_mut().observe((self.clock)());
    }

    /// `session` becomes the page's run.
    fn start_run(&mut self, session: Session) {
        self.link = None;
        self.story = None;
        self.acks.borrow_mut().new_run(session.persistent);
        *self.session.borrow_mut() = session;
    }

    /// Runs the checker now and redraws.
    fn settle(&mut self) {
        self.check_now();
        self.refresh_view();
    }

    fn check_now(&mut self) {
        let start_ms = (self.clock)();
        self.session.borrow_mut().refresh_summary();
        self.last_summary_ms = (self.clock)();
        self.summary_cost_ms = self.last_summary_ms - start_ms;
    }

    /// Starts a new run from `setup`. If it cannot run, the message shows next
    /// to its control and the last good setup (and its run) stay.
    fn try_setup(&mut self, setup: Setup) {
        match Session::from_setup_with_store(&setup, self.store_for_runs()) {
            Ok(session) => {
                self.start_run(session);
                self.setup = setup;
                self.notice = None;
                self.resumed = None;
                self.save_setup();
            }
            Err(e) => {
                // The toolbar shows its own fields' messages; anything else
                // (a client's setting) is said for the whole page.
                if TOOLBAR_FIELDS.contains(&e.field) {
                    self.input_errors.insert(e.field, e.reason);
                } else {
                    self.notice = Some(format!("This setup cannot run: {e}"));
                }
                self.playing = false;
            }
        }
        self.focus = None;
        self.last_frame_ms = None;
        self.settle();
    }

    fn frame(&mut self, wall_ms: f64) {
        if !self.playing {
            self.last_frame_ms = None;
            return;
        }
        let gap_ms = self
            .last_frame_ms
            .map_or(0.0, |last| (wall_ms - last).clamp(0.0, FRAME_GAP_MS_MAX));
        {
            let mut disk = self.disk.borrow_mut();
            if self.last_frame_ms.is_none() {
                disk.pace.reset();
                disk.owed_ms = 0.0;
            }
            // Time the last frame asked for is still owed: the disk, not the
            // speed setting, held the run back.
            disk.waited |= disk.owed_ms >= 1.0;
            disk.frame_spent_ms = 0.0;
            let owed_max_ms = FRAME_GAP_MS_MAX * self.speed();
            disk.owed_ms = (disk.owed_ms + gap_ms * self.speed()).min(owed_max_ms);
        }
        self.last_frame_ms = Some(wall_ms);
        self.run_owed();
        self.observe_pace(wall_ms);
        let wait_ms = self.summary_cost_ms * SUMMARY_COST_FACTOR;
        if (self.clock)() - self.last_summary_ms >= wait_ms {
            self.check_now();
        }
        let session = self.session.borrow();
        if session.world().is_finished() || session.run_error.is_some() {
            self.playing = false;
        }
        drop(session);
        self.refresh_view();
    }

    /// Advances `virtual_ms` of simulation within `budget_ms` of wall time;
    /// the virtual ms covered.
    fn run_for(&self, virtual_ms: u64, budget_ms: f64) -> u64 {
        let clock = self.clock.clone();
        let deadline_ms = clock() + budget_ms;
        let mut over_budget = move || clock() >= deadline_ms;
        self.session
            .borrow_mut()
            .advance(virtual_ms, &mut over_budget)
    }

    /// Runs the virtual time the frames asked for, within what is left of
    /// this frame's budget. If the run stops to wait for the disk, the rest
    /// stays owed and the disk pump comes back as soon as the commit is on
    /// disk, without waiting for the next frame; if the budget runs out, the
    /// rest is dropped (the page never races to catch up). Changes nothing
    /// the page draws: the next frame redraws.
    fn run_owed(&self) {
        let (owed_ms, budget_ms) = {
            let disk = self.disk.borrow();
            (disk.owed_ms, FRAME_BUDGET_MS - disk.frame_spent_ms)
        };
        if !self.playing || budget_ms <= 0.0 || owed_ms < 1.0 {
            self.disk.borrow_mut().disarm();
            return;
        }
        let start_ms = (self.clock)();
        let covered_ms = self.run_for(owed_ms as u64, budget_ms);
        let mut disk = self.disk.borrow_mut();
        disk.frame_spent_ms += (self.clock)() - start_ms;
        let waiting = self.session.borrow().waiting_for_flush;
        match (waiting, &self.persistence) {
            (Some(flush), Persistence::Ready { store, .. }) => {
                disk.owed_ms = (owed_ms - covered_ms as f64).max(0.0);
                let done = store.0.borrow().durable_signal(FlushId(flush));
                disk.arm(done);
            }
            _ => {
                disk.owed_ms = 0.0;
                disk.disarm();
            }
        }
    }

    /// One frame's worth of the pace: group commits, virtual time, waits.
    fn observe_pace(&self, wall_ms: f64) {
        let session = self.session.borrow();
        let world = session.world();
        let broker = world.broker();
        let queue_commits = broker.as_queue().map(|b| b.flushes());
        let commits = broker.as_log().map(|b| b.stats().flushes);
        let commits = commits.or(queue_commits).unwrap_or(0);
        let mut disk = self.disk.borrow_mut();
        let waited = std::mem::take(&mut disk.waited);
        disk.pace.observe(wall_ms, commits, world.now_ms(), waited);
    }

    /// Applies a live change to the session and reports its error inline.
    fn live(&mut self, f: impl FnOnce(&mut Session) -> Result<(), String>) {
        let result = f(&mut self.session.borrow_mut());
        self.notice = result.err();
        self.settle();
    }

    /// Stops playing, does `f` to the session (nothing, or one step), and
    /// redraws with a fresh check.
    fn stop(&mut self, f: impl FnOnce(&mut Session)) {
        self.playing = false;
        f(&mut self.session.borrow_mut());
        self.settle();
    }

    /// Opens client `id`'s settings row, or closes it if it is open.
    fn toggle_settings(&mut self, id: String) {
        if !self.settings_open.remove(&id) {
            self.settings_open.insert(id);
        }
    }

    /// A live change that grows the setup (Add producer, Add consumer):
    /// applied, then the setup saved beside the log for a reload.
    fn live_and_save(&mut self, f: impl FnOnce(&mut Session) -> Result<(), String>) {
        self.live(f);
        self.save_setup();
    }

    /// A toolbar change: the last good setup with `change` applied starts a
    /// new run, or the control shows why it cannot.
    fn change_setup(&mut self, field: &'static str, change: impl FnOnce(&mut Setup)) {
        self.input_errors.remove(field);
        let mut setup = self.setup.clone();
        change(&mut setup);
        self.try_setup(setup);
    }

    /// Saves the running setup next to the log, so a reload can resume it
    /// (see [`crate::app::resume`]). Only for runs that write to IndexedDB.
    fn save_setup(&mut self) {
        let Persistence::Ready { store, .. } = &self.persistence else {
            return;
        };
        let session = self.session.borrow();
        let Some(setup) = session.setup().filter(|_| session.persistent) else {
            return;
        };
        let text = crate::app::resume::to_text(setup);
        if let Err(e) = store.0.borrow().save_setup(&text) {
            self.notice = Some(format!(
                "The setup could not be saved with the log ({e}): a reload will not be able to resume this run."
            ));
        }
    }

    /// The number typed into a field, checked against its bounds; a refusal
    /// shows next to the field and the last good value stays.
    fn set_number(&mut self, field: &FieldBounds, text: &str) -> Option<u64> {
        match field.parse(text) {
            Ok(n) => {
                self.input_errors.remove(field.field);
                Some(n)
            }
            Err(e) => {
                self.input_errors.insert(e.field, e.reason);
                None
            }
        }
    }
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        if action == Action::DiskDone {
            // The pump's turn: the state stays the same Rc, so nothing renders.
            self.run_owed();
            return self;
        }
        let mut s = (*self).clone();
        match action {
            Action::Frame { wall_ms } => s.frame(wall_ms),
            Action::DiskDone => unreachable!("handled above"),
            Action::Play => s.playing = s.session.borrow().run_error.is_none(),
            Action::Pause => s.stop(|_| {}),
            Action::TogglePlay => {
                let play = !s.playing;
                return Rc::new(s).reduce(if play { Action::Play } else { Action::Pause });
            }
            Action::Step => s.stop(Session::step_once),
            Action::Reset => {
                s.playing = false;
                s.try_setup(s.setup.clone());
            }
            Action::FastForward => {
                s.run_for(FAST_FORWARD_MS, FAST_FORWARD_BUDGET_MS);
                s.settle();
            }
            Action::SetSpeed(i) => s.speed_index = i.min(SPEEDS.len() - 1),
            Action::SetBroker(broker) => s.change_setup("Broker", |x| x.broker = broker),
            Action::SetDelivery(delivery) => s.change_setup("Delivery", |x| x.delivery = delivery),
            a @ (Action::ToggleDurableQueues | Action::TogglePersistent) => s.toggle_durability(a),
            Action::SetPartitions(text) => {
                let n = s.set_number(&fields::PARTITIONS, &text);
                if let Some(n) = n.and_then(|n| u32::try_from(n).ok()) {
                    s.change_setup("Partitions", |x| x.partitions = n);
                }
            }
            Action::SetSeed(text) => s.set_seed(&text),
            Action::SetNewClient { field, text } => s.set_new_client(field, &text),
            Action::ToggleSettings(id) => s.toggle_settings(id),
            Action::SetClientSetting { id, field, text } => s.set_client_setting(id, field, &text),
            Action::AddProducer => {
                let p = s.new_producer;
                s.live_and_save(|session| session.act(LiveAction::AddProducer(p)));
            }
            Action::AddConsumer => {
                let c = s.new_consumer;
                s.live_and_save(|session| session.act(LiveAction::AddConsumer(c)));
            }
            Action::CrashClient(id) => s.live(|x| x.act(LiveAction::CrashClient(id))),
            Action::RestartClient(id) => s.live(|x| x.act(LiveAction::RestartClient(id))),
            Action::ToggleSlow(id) => s.live(|x| x.act(LiveAction::ToggleSlow(id))),
            Action::CrashBroker => s.live(|x| x.act(LiveAction::CrashBroker)),
            Action::CrashBrokerTorn => s.live(|x| x.act(LiveAction::CrashBrokerTorn)),
            Action::RestartBroker => s.live(|x| x.act(LiveAction::RestartBroker)),
            Action::DropAcks => s.live(|x| x.act(LiveAction::DropAcks)),
            Action::MakeLink => s.make_link(),
            Action::OpenLink(link) => s.open_link(&link),
            Action::Focus(msg) => s.show(msg),
            Action::Seek(_) | Action::SeekBy(_) | Action::SeekEnd | Action::Undo => {
                s.travel(action)
            }
            Action::ToggleRawFields => s.raw_fields = !s.raw_fields,
            Action::LoadScenario { name, text } => s.load(&name, &text),
            Action::Notice(text) => s.notice = Some(text),
            Action::StoreOpened(p) => s.store_opened(p),
            Action::StartFresh => s.start_fresh(),
            Action::Resume => s.resume(),
            Action::StoragePersisted(answer) => s.storage_persisted = Some(answer),
        }
        Rc::new(s)
    }
}

impl AppState {
    /// The Seed field: a number within its bounds starts a new run.
    fn set_seed(&mut self, text: &str) {
        if let Some(seed) = self.set_number(&fields::SEED, text) {
            self.change_setup("Seed", |x| x.seed = seed);
        }
    }

    /// The queue broker's Durable queues or Persistent messages switch
    /// flipped: a new run with it.
    fn toggle_durability(&mut self, action: Action) {
        if matches!(action, Action::ToggleDurableQueues) {
            self.change_setup("Durable queues", |x| x.durable_queues = !x.durable_queues);
        } else {
            self.change_setup("Persistent messages", |x| x.persistent = !x.persistent);
        }
    }

    /// One field of a client's settings row: parsed here, checked and applied
    /// by the session. A bad value shows its message next to the field and
    /// the client keeps its last good value.
    fn set_client_setting(&mut self, id: String, field: &'static str, text: &str) {
        let key = (id.clone(), field);
        let result = parse_setting(field, text).and_then(|set| {
            let mut session = self.session.borrow_mut();
            session.act(LiveAction::Set(id.clone(), set))
        });
        match result {
            Ok(()) => {
                self.client_errors.remove(&key);
                self.save_setup();
            }
            Err(e) => {
                self.client_errors.insert(key, e);
            }
        }
        self.settle();
    }

    /// A field of the next producer or consumer to add: checked here, so
    /// "Add producer" only ever adds a client the page's bounds allow.
    fn set_new_client(&mut self, field: &'static str, text: &str) {
        match field {
            "Rate" => {
                if let Some(n) = self.set_number(&fields::RATE, text) {
                    self.new_producer.rate_per_s = n;
                }
            }
            "Processing time" => {
                if let Some(n) = self.set_number(&fields::PROCESSING, text) {
                    self.new_consumer.processing_ms = n;
                }
            }
            "Prefetch" => {
                let n = self.set_number(&fields::PREFETCH, text);
                if let Some(n) = n.and_then(|n| u32::try_from(n).ok()) {
                    self.new_consumer.prefetch = n;
                }
            }
            other => self.notice = Some(format!("unknown setting {other}")),
        }
    }

    fn load(&mut self, name: &str, text: &str) {
        self.playing = false;
        match Session::from_json(name, text) {
            Ok(session) => {
                self.start_run(session);
                self.notice = None;
                // A loaded file is a new run: the resumed log's banner no
                // longer describes what is on screen.
                self.resumed = None;
                self.focus = None;
                self.last_frame_ms = None;
            }
            Err(e) => self.notice = Some(format!("{name} was not loaded: {e}")),
        }
        self.settle();
    }
}

/// The setting a settings-row field's text asks for, or why it is no value.
fn parse_setting(field: &str, text: &str) -> Result<Setting, String> {
    let number = || {
        text.trim()
            .parse::<u32>()
            .map_err(|_| format!("`{}` is not a whole number", text.trim()))
    };
    match field {
        "Rate" => number().map(|n| Setting::RatePerS(n.into())),
        "Keys" => number().map(Setting::Keys),
        "Processing time" => {
            number().map(|n| Setting::Processing(ProcessingSpec::FixedMs(n.into())))
        }
        "Prefetch" => number().map(Setting::Prefetch),
        "Ack mode" => match text {
            "before_processing" => Ok(Setting::AckMode(AckMode::BeforeProcessing)),
            "after_processing" => Ok(Setting::AckMode(AckMode::AfterProcessing)),
            other => Err(format!("unknown ack mode `{other}`")),
        },
        other => Err(format!("unknown setting {other}")),
    }
}
