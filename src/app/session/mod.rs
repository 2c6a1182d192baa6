//! The page's handle on one simulation run.
//!
//! A [`Session`] owns a [`World`] and the little bookkeeping the page needs
//! around it: which consumers are toggled slow, a throttled checker summary,
//! and samples for the chart. It advances the world under a time budget (the
//! caller says when the budget is spent) and derives a [`View`]: plain data,
//! already cut down to what fits on screen, that components render without
//! knowing anything about brokers.

use crate::app::playground::{self, Setup, SetupError};
use crate::app::recovery::{CrashReader, LastCrash};
use crate::app::share::{Origin, Recorded};
use crate::check::guarantee::Verdict;
use crate::check::live::LiveChecker;
use crate::check::{Counts, Summary};
use crate::config::{Guarantee, ProcessingSpec, Scenario, ScenarioError};
use crate::history::{describe_event, HistoryEvent};
use crate::storage::Storage;
use crate::world::{ClientSettings, InFlight, RunError, Step, World};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

mod checkpoints;
mod control;
mod export;
mod replay;
mod story;
mod timeline;
pub use checkpoints::{CHECKPOINTS_BYTES_MAX, CHECKPOINTS_MAX, CHECKPOINT_EVERY_MS};
pub use timeline::seek_bench_setup;

/// Samples the chart's throughput line averages over: one second of virtual
/// time. Work arrives in bursts (a poll's worth of records, a transaction's
/// commit), so a per-sample slope swings between 0 and a peak every 100 ms
/// and hides the trend a learner is looking for.
pub const THROUGHPUT_WINDOW_SAMPLES: usize = (1000 / SAMPLE_EVERY_MS) as usize;

/// Processed messages per second at each sample after the first: the slope
/// of the processed count over the last [`THROUGHPUT_WINDOW_SAMPLES`] (fewer
/// at the start of a run).
pub fn throughput_per_s(samples: &[Sample]) -> Vec<u64> {
    (1..samples.len())
        .map(|i| {
            let from = &samples[i.saturating_sub(THROUGHPUT_WINDOW_SAMPLES)];
            let to = &samples[i];
            let done = to.processed_total.saturating_sub(from.processed_total);
            let span_ms = to.time_ms.saturating_sub(from.time_ms).max(1);
            done * 1000 / span_ms
        })
        .collect()
}

/// Chart samples kept (one per [`SAMPLE_EVERY_MS`] of virtual time).
pub const SAMPLES_MAX: usize = 240;
/// Virtual ms between chart samples.
pub const SAMPLE_EVERY_MS: u64 = 100;
/// Message boxes drawn per queue row; the rest are a "+N" label.
pub const BOXES_PER_QUEUE_MAX: usize = 24;
/// Messages drawn moving on links at once.
pub const IN_FLIGHT_DRAWN_MAX: usize = 48;
/// Rows of the event log.
pub const EVENT_ROWS_MAX: usize = 120;
/// Events shown in a finding's cause chain.
pub const CHAIN_ROWS_MAX: usize = 60;
/// Findings listed (the counts are always complete).
pub const FINDINGS_SHOWN_MAX: usize = 50;
/// How much slower a consumer gets when its Slow toggle is on.
pub const SLOW_FACTOR: u64 = 10;
/// Events run between two looks at the frame budget: small enough to stop
/// close to the budget, large enough that looking costs nothing.
const STEPS_PER_BUDGET_CHECK: u32 = 256;
/// How long "Drop acks" drops them for, in virtual ms.
pub const DROP_ACKS_MS: u64 = 2_000;

/// Where the running scenario came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Built from the page's controls.
    Playground(Setup),
    /// A bundled example or a file the user picked.
    File {
        /// Its file name, shown as the run's name.
        name: String,
    },
}

/// One chart point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Virtual time of the sample, a multiple of [`SAMPLE_EVERY_MS`].
    pub time_ms: u64,
    /// Messages processed so far (counting repeats): the slope is throughput.
    pub processed_total: u64,
    /// Messages held by the broker (ready + unacked): the backlog, or "lag".
    pub backlog: u64,
}

/// A queue as drawn: the first few message ids and how many more there are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRow {
    /// The queue's name (`work`, `q0`, ...).
    pub name: String,
    /// The first [`BOXES_PER_QUEUE_MAX`] ready messages, oldest first.
    pub ready: Vec<String>,
    /// Every ready message, drawn or not (the "+N" label).
    pub ready_total: usize,
    /// The first delivered but unacknowledged messages.
    pub unacked: Vec<String>,
    /// Every unacknowledged message, drawn or not.
    pub unacked_total: usize,
    /// The consumers subscribed to it, in subscription order.
    pub consumers: Vec<String>,
}

/// A client as drawn and listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRow {
    /// `p1`, `c2`, or a file's client id.
    pub id: String,
    /// Producers and consumers are listed (and drawn) apart.
    pub is_producer: bool,
    /// False between a crash and its restart.
    pub alive: bool,
    /// The Slow toggle is on.
    pub slow: bool,
    /// Producer: published. Consumer: processed.
    pub count: u64,
    /// Consumer: deliveries in hand.
    pub in_hand: u64,
    /// What the settings row shows and edits.
    pub settings: ClientSettings,
}

/// A log partition as drawn: its offsets, a window of its records, and how
/// far the consumer group has got (the lag is what is left to read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionRow {
    /// `topic-partition`, as Kafka names them (`orders-0`).
    pub name: String,
    /// Log start offset (retention moves it).
    pub start: u64,
    /// Log end offset: the next record goes here.
    pub end: u64,
    /// Records below this offset are on disk; the rest wait for an fsync.
    pub durable_end: u64,
    /// (offset, message id) of the records drawn.
    pub records: Vec<(u64, String)>,
    /// The first group's owner of this partition, if any.
    pub owner: Option<String>,
    /// The first group's committed offset (where a new owner starts).
    pub committed: u64,
    /// Records the first group has still to read.
    pub lag: u64,
}

/// The first consumer group: its generation and who owns which partitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRow {
    /// Bumped by every rebalance.
    pub generation: u32,
    /// (member id, partitions it owns); an empty list means idle.
    pub members: Vec<(String, Vec<u16>)>,
}

/// One line of the event log or of a cause chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    /// Position in the history, a stable key for list rendering.
    pub index: usize,
    /// Virtual time of the event.
    pub time_ms: u64,
    /// What happened, as a sentence ([`crate::history::describe_event`]).
    pub text: String,
    /// The same event with every field: its JSON line, for the details view.
    pub raw: String,
}

/// One checker finding, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindingRow {
    /// The checker's name for it: `lost`, `duplicated`, ...
    pub kind: &'static str,
    /// The messages it is about (click one for its story).
    pub msgs: Vec<String>,
    /// When it first showed, in virtual ms.
    pub time_ms: u64,
    /// Why it happened, in the checker's words.
    pub explanation: String,
}

/// Everything the page draws, derived from the session in one go.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct View {
    /// `playground`, or the loaded file's name.
    pub source_name: String,
    /// A loaded scenario's `description` (what it demonstrates), shown next
    /// to its name; empty for the playground's own setup.
    pub description: String,
    /// The virtual clock.
    pub now_ms: u64,
    /// When the run ends (its `duration_ms`).
    pub end_ms: u64,
    /// Nothing is left to happen.
    pub finished: bool,
    /// Whether each broker node is up, by node (one today): see
    /// [`View::broker_up`].
    pub brokers_up: Vec<bool>,
    /// A log broker keeps its log on disk across a crash; a queue broker does not.
    pub broker_durable: bool,
    /// The log is written to IndexedDB (not only the in-memory disk model).
    pub persistent: bool,
    /// The world waits for this flush's IndexedDB transaction to complete.
    pub waiting_for_flush: Option<u64>,
    /// The live checker's counts (published, confirmed, lost, ...).
    pub counts: Counts,
    /// The claimed guarantee's verdict (playground runs).
    pub verdict: Option<Verdict>,
    /// The first [`FINDINGS_SHOWN_MAX`] findings.
    pub findings: Vec<FindingRow>,
    /// Queue broker only: its queues.
    pub queues: Vec<QueueRow>,
    /// Log broker only: partitions and the consumer group.
    pub partitions: Vec<PartitionRow>,
    /// Log broker only: the first consumer group.
    pub group: Option<GroupRow>,
    /// The producers, in id order.
    pub producers: Vec<ClientRow>,
    /// The consumers, in id order.
    pub consumers: Vec<ClientRow>,
    /// Up to [`IN_FLIGHT_DRAWN_MAX`] messages on the wire.
    pub in_flight: Vec<InFlight>,
    /// The newest [`EVENT_ROWS_MAX`] events, newest first.
    pub events: Vec<EventRow>,
    /// The chart's samples, oldest first.
    pub samples: Vec<Sample>,
    /// What the shown story is of (a finding was selected): its first
    /// message, or the kind of a finding about no message.
    pub focus_msg: Option<String>,
    /// The selected finding's causal chain, or the message's story (at
    /// most [`CHAIN_ROWS_MAX`] events, in order; see `story.rs`).
    pub chain: Vec<EventRow>,
    /// Why ack/commit modes cannot be changed per client, if they cannot.
    pub ack_mode_locked: Option<String>,
    /// The broker's last crash and the recovery after it: what was torn,
    /// lost and cut (see [`super::recovery`]).
    pub last_crash: Option<LastCrash>,
    /// The furthest instant reached: the timeline slider's end.
    pub head_ms: u64,
    /// A fork dropped a future that Undo can bring back.
    pub can_undo: bool,
    /// Why this run cannot travel in time, if it cannot.
    pub travel_refused: Option<&'static str>,
}

impl View {
    /// Whether node 0, the broker of a one-node run, is up (false before
    /// any run): what the page's broker drawing and buttons show.
    pub fn broker_up(&self) -> bool {
        self.brokers_up.first().copied().unwrap_or(false)
    }
}

/// One live run as the page drives it (see the module doc).
pub struct Session {
    /// Where the run came from; a playground run's setup grows with the
    /// clients added live and is what the page saves beside its log.
    pub source: Source,
    /// The guarantee the verdict judges against (`None` for files, which carry
    /// their own `expect` block instead).
    pub delivery: Option<Guarantee>,
    world: World,
    /// Consumers toggled slow, with the processing time they had before
    /// (what the toggle goes back to, and what a setting changed while slow
    /// replaces).
    slow: BTreeMap<String, ProcessingSpec>,
    /// The checker, fed only the events added since its last refresh.
    checker: LiveChecker,
    /// The checker's last summary: what the counters and verdict show.
    summary: Summary,
    /// The chart's last [`SAMPLES_MAX`] samples.
    samples: VecDeque<Sample>,
    /// The virtual time of the next sample.
    next_sample_ms: u64,
    /// Set when the run stopped on a bound; shown instead of running on.
    pub run_error: Option<String>,
    /// The focused message's story so far, extended with new events only (a
    /// full scan per frame would re-read the whole history while playing).
    chain_cache: std::cell::RefCell<story::ChainCache>,
    /// The last broker crash's report, kept current from new events only.
    crash_reader: std::cell::RefCell<CrashReader>,
    /// True when the log is written to a real store (IndexedDB in the page).
    pub persistent: bool,
    /// Where the run started, for a share link and the timeline's replays
    /// (`None` for a run resumed from a stored log, which no replay rebuilds).
    origin: Option<Origin>,
    /// Every live action so far, each at the point of the run it was taken
    /// (see [`Session::act`]): with `origin`, the whole run.
    recorded: Vec<Recorded>,
    /// The timeline: the recorded future after a seek back, the furthest
    /// point reached, the last fork (see `timeline.rs`).
    travel: timeline::Travel,
    /// Copies of the run every second or so, for fast seeks (see
    /// `checkpoints.rs`).
    checkpoints: checkpoints::Checkpoints,
    /// The flush the world is waiting for, if it is waiting for the store.
    pub waiting_for_flush: Option<u64>,
}

impl Session {
    /// A run of the page's `setup` on the in-memory disk model; an error
    /// names the control that cannot run (see [`Setup::to_scenario`]).
    pub fn from_setup(setup: &Setup) -> Result<Session, SetupError> {
        Session::from_setup_with_store(setup, None)
    }

    /// As [`Session::from_setup`], with the broker writing through `store`
    /// (the page passes its IndexedDB store) when the setup keeps data
    /// ([`Setup::keeps_data`]: the log, or durable queues). The store is
    /// cleared first: a new run starts from an empty disk.
    pub fn from_setup_with_store(
        setup: &Setup,
        store: Option<Box<dyn Storage>>,
    ) -> Result<Session, SetupError> {
        let scenario = setup.to_scenario()?;
        // Only a broker that keeps data gets the store; it starts empty.
        let log_store = store.filter(|_| setup.keeps_data());
        let persistent = log_store.is_some();
        let world = match log_store {
            Some(mut store) => {
                store.start_fresh();
                store.recover();
                let mut world = World::with_storage(&scenario, store);
                world.set_disk_run_ahead_ms(super::pace::disk_run_ahead_ms(&scenario));
                world
            }
            None => World::new(&scenario),
        };
        let source = Source::Playground(setup.clone());
        let origin = Some(Origin::Setup(setup.clone()));
        let mut session = Session::new(source, Some(setup.delivery), world, origin);
        session.persistent = persistent;
        Ok(session)
    }

    /// A run of `setup` that resumes the log `store` holds from an earlier
    /// visit (a page reload), instead of clearing it: see
    /// [`World::resume`]. Nothing is written until the run goes on.
    pub fn resume_with_store(setup: &Setup, store: Box<dyn Storage>) -> Result<Session, String> {
        let scenario = setup.to_scenario().map_err(|e| e.to_string())?;
        let mut world = World::resume(&scenario, store)?;
        world.set_disk_run_ahead_ms(super::pace::disk_run_ahead_ms(&scenario));
        let source = Source::Playground(setup.clone());
        let mut session = Session::new(source, Some(setup.delivery), world, None);
        session.persistent = true;
        Ok(session)
    }

    /// The playground setup of this run (with clients added live), if it is
    /// a playground run: what the page saves next to its log.
    pub fn setup(&self) -> Option<&Setup> {
        match &self.source {
            Source::Playground(setup) => Some(setup),
            Source::File { .. } => None,
        }
    }

    /// `text` is a scenario file; errors name the field and the reason.
    pub fn from_json(name: &str, text: &str) -> Result<Session, ScenarioError> {
        let scenario = Scenario::from_json(text)?;
        let mut session = Session::from_scenario(name, &scenario);
        session.origin = Some(Origin::file(name, text));
        Ok(session)
    }

    /// A run of an already validated scenario (a lesson's setup), shown
    /// under `name` like a loaded file.
    pub fn from_scenario(name: &str, scenario: &Scenario) -> Session {
        let source = Source::File {
            name: name.to_string(),
        };
        let json = serde_json::to_string(scenario).expect("a scenario always serializes");
        let origin = Some(Origin::File {
            name: name.to_string(),
            json,
        });
        Session::new(source, None, World::new(scenario), origin)
    }

    fn new(
        source: Source,
        delivery: Option<Guarantee>,
        world: World,
        origin: Option<Origin>,
    ) -> Session {
        let mut checker = world.live_checker();
        let summary = world.live_summary(&mut checker);
        let mut session = Session {
            source,
            delivery,
            world,
            slow: BTreeMap::new(),
            checker,
            summary,
            samples: VecDeque::new(),
            next_sample_ms: 0,
            run_error: None,
            persistent: false,
            origin,
            recorded: Vec::new(),
            travel: Default::default(),
            waiting_for_flush: None,
            chain_cache: Default::default(),
            crash_reader: Default::default(),
            checkpoints: Default::default(),
        };
        // The start: every seek has a checkpoint at or before it.
        session.checkpoint_if_due();
        session
    }

    /// The world being run, for reading (its clock, history, broker).
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The scenario as run so far (with faults and clients added live), as JSON.
    pub fn export_json(&self) -> String {
        self.world.scenario().to_json_pretty()
    }

    /// Advances virtual time by up to `virtual_ms`, stopping early when
    /// `over_budget` says the frame's time is spent. Returns the virtual ms
    /// actually covered.
    pub fn advance(&mut self, virtual_ms: u64, over_budget: &mut dyn FnMut() -> bool) -> u64 {
        let start_ms = self.world.now_ms();
        let target_ms = start_ms.saturating_add(virtual_ms).min(self.world.end_ms());
        // After a seek back, the recorded future's actions come first.
        if let Err(e) = self.apply_due(target_ms, false) {
            self.run_error = Some(e.to_string());
        }
        while self.run_error.is_none() {
            match self.world.next_event_ms() {
                Some(next_ms) if next_ms <= target_ms => {}
                // Nothing happens before the target: jump the clock there.
                _ => {
                    self.guard(|w| w.run_until(target_ms));
                    break;
                }
            }
            let mut blocked = false;
            for _ in 0..STEPS_PER_BUDGET_CHECK {
                if blocked || self.world.next_event_ms().is_none_or(|t| t > target_ms) {
                    break;
                }
                blocked = self.guard(|w| w.step().map(|_| ()));
            }
            self.take_samples();
            // Waiting for the store: give the browser its turn to finish the
            // transaction; the next frame carries on from the same event.
            if blocked || over_budget() {
                break;
            }
        }
        self.take_samples();
        self.note_progress();
        assert!(
            self.world.now_ms() >= start_ms,
            "virtual time never goes back"
        );
        self.world.now_ms() - start_ms
    }

    /// Runs exactly one event (the Step button).
    pub fn step_once(&mut self) {
        // A recorded action at this very point goes first (after a seek).
        if let Err(e) = self.apply_due(self.world.now_ms(), true) {
            self.run_error = Some(e.to_string());
        }
        if self.run_error.is_some() {
            return;
        }
        self.guard(|w| w.step().map(|_: Step| ()));
        self.take_samples();
        self.note_progress();
    }

    /// Runs `f` and says whether the world is waiting for its store. A run
    /// bound stops the run for good; waiting for a flush just means "not yet"
    /// (the memory store never waits).
    fn guard(&mut self, f: impl FnOnce(&mut World) -> Result<(), RunError>) -> bool {
        self.waiting_for_flush = None;
        match f(&mut self.world) {
            Ok(()) => false,
            Err(RunError::WaitingForStorage { flush, .. }) => {
                self.waiting_for_flush = Some(flush.0);
                true
            }
            Err(e) => {
                self.run_error = Some(run_error_text(&e));
                false
            }
        }
    }

    fn take_samples(&mut self) {
        while self.next_sample_ms <= self.world.now_ms() {
            let backlog = self.backlog();
            let processed_total = self
                .world
                .clients()
                .iter()
                .filter(|c| !c.is_producer)
                .map(|c| c.count)
                .sum();
            if self.samples.len() == SAMPLES_MAX {
                self.samples.pop_front();
            }
            self.samples.push_back(Sample {
                time_ms: self.next_sample_ms,
                processed_total,
                backlog,
            });
            self.next_sample_ms += SAMPLE_EVERY_MS;
        }
        // Where the clock moved on, a timeline checkpoint may be due.
        self.checkpoint_if_due();
    }

    /// What is waiting to be consumed: a queue's held messages, or a log's
    /// lag summed over partitions (a log keeps every record, read or not).
    fn backlog(&self) -> u64 {
        match self.world.broker().as_log() {
            Some(log) => log
                .partition_views(0)
                .iter()
                .filter_map(|p| p.groups.first().map(|g| g.3))
                .sum(),
            None => self.world.broker().held().len() as u64,
        }
    }

    /// Brings the checker's summary up to date. The live checker reads only
    /// the events added since the last refresh (see [`crate::check::live`]),
    /// so its cost follows the run's rate, not its length.
    pub fn refresh_summary(&mut self) {
        self.summary = self.world.live_summary(&mut self.checker);
    }

    /// The checker's summary as of the last [`Session::refresh_summary`].
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Derives what the page draws. `focus` is the message whose story to show.
    pub fn view(&self, focus: Option<&str>) -> View {
        let world = &self.world;
        let (producers, consumers) = self.client_rows();
        View {
            source_name: match &self.source {
                Source::Playground(_) => "playground".into(),
                Source::File { name } => name.clone(),
            },
            description: match &self.source {
                Source::Playground(_) => String::new(),
                Source::File { .. } => world.scenario().description.clone(),
            },
            now_ms: world.now_ms(),
            end_ms: world.end_ms(),
            finished: world.is_finished(),
            brokers_up: world.nodes_up(),
            broker_durable: world.broker().as_log().is_some(),
            persistent: self.persistent,
            waiting_for_flush: self.waiting_for_flush,
            counts: self.summary.counts,
            verdict: self.delivery.map(|d| playground::verdict(d, &self.summary)),
            findings: self.finding_rows(),
            queues: self.queue_rows(),
            partitions: self.partition_rows(),
            group: self.group_row(),
            producers,
            consumers,
            in_flight: world.in_flight(IN_FLIGHT_DRAWN_MAX),
            events: self.recent_events(),
            samples: self.samples.iter().copied().collect(),
            focus_msg: focus.map(str::to_string),
            chain: focus.map(|m| self.chain(m)).unwrap_or_default(),
            ack_mode_locked: self.ack_mode_locked(),
            last_crash: self
                .crash_reader
                .borrow_mut()
                .read(world.history(), world.names())
                .cloned(),
            head_ms: self.head().time_ms,
            can_undo: self.can_undo(),
            travel_refused: self.travel_refused(),
        }
    }

    fn client_rows(&self) -> (Vec<ClientRow>, Vec<ClientRow>) {
        self.world
            .clients()
            .into_iter()
            .map(|c| ClientRow {
                slow: self.slow.contains_key(&c.id),
                settings: self.settings_shown(&c.id),
                id: c.id,
                is_producer: c.is_producer,
                alive: c.alive,
                count: c.count,
                in_hand: c.in_hand,
            })
            .partition(|c| c.is_producer)
    }

    /// A client's settings as its settings row shows them: a slow consumer
    /// shows the processing time it goes back to.
    fn settings_shown(&self, id: &str) -> ClientSettings {
        let mut settings = self.world.client_settings(id).unwrap_or_default();
        if let Some(base) = self.slow.get(id) {
            settings.processing = Some(*base);
        }
        settings
    }

    fn queue_rows(&self) -> Vec<QueueRow> {
        let names = self.world.names();
        let name_of = |c: &u32| names.client(*c).to_string();
        self.world
            .broker()
            .queue_views()
            .into_iter()
            .map(|q| QueueRow {
                ready: q
                    .ready
                    .iter()
                    .take(BOXES_PER_QUEUE_MAX)
                    .map(|m| crate::history::msg_name(*m))
                    .collect(),
                ready_total: q.ready.len(),
                unacked: q
                    .unacked
                    .iter()
                    .take(BOXES_PER_QUEUE_MAX)
                    .map(|m| crate::history::msg_name(*m))
                    .collect(),
                unacked_total: q.unacked.len(),
                consumers: q.consumers.iter().map(name_of).collect(),
                name: q.name,
            })
            .collect()
    }

    fn partition_rows(&self) -> Vec<PartitionRow> {
        let Some(log) = self.world.broker().as_log() else {
            return Vec::new();
        };
        let names = self.world.names();
        log.partition_views(BOXES_PER_QUEUE_MAX)
            .into_iter()
            .map(|p| {
                let (owner, committed, lag) = p.groups.first().map_or(
                    (None, p.start, p.end - p.start),
                    |(_, owner, committed, lag)| {
                        (owner.map(|c| names.client(c).to_string()), *committed, *lag)
                    },
                );
                PartitionRow {
                    name: format!("{}-{}", p.topic, p.partition),
                    records: (p.msgs_from..)
                        .zip(p.msgs.iter().map(|m| crate::history::msg_name(*m)))
                        .collect(),
                    start: p.start,
                    end: p.end,
                    durable_end: p.durable_end,
                    owner,
                    committed,
                    lag,
                }
            })
            .collect()
    }

    fn group_row(&self) -> Option<GroupRow> {
        let log = self.world.broker().as_log()?;
        let (generation, members) = log.members(0);
        let names = self.world.names();
        Some(GroupRow {
            generation,
            members: members
                .into_iter()
                .map(|(c, set)| {
                    let owned = (0..64u16).filter(|p| set & (1u64 << p) != 0).collect();
                    (names.client(c).to_string(), owned)
                })
                .collect(),
        })
    }

    fn finding_rows(&self) -> Vec<FindingRow> {
        self.summary
            .findings
            .iter()
            .take(FINDINGS_SHOWN_MAX)
            .map(|f| FindingRow {
                kind: f.kind,
                msgs: f.msgs.clone(),
                time_ms: f.times_ms.first().copied().unwrap_or(0),
                explanation: f.explanation.clone(),
            })
            .collect()
    }

    fn row(&self, index: usize, ev: &HistoryEvent) -> EventRow {
        let (history, names) = (self.world.history(), self.world.names());
        EventRow {
            index,
            time_ms: ev.time_ms,
            text: describe_event(ev, names),
            raw: history.line(ev, names),
        }
    }

    fn recent_events(&self) -> Vec<EventRow> {
        let events = self.world.history().events();
        let from = events.len().saturating_sub(EVENT_ROWS_MAX);
        (from..events.len())
            .rev()
            .map(|i| self.row(i, &events[i]))
            .collect()
    }
}

fn run_error_text(e: &RunError) -> String {
    format!("The run stopped: {e}. Reset to start again.")
}

/// The session behind an `Rc`, for the context.
pub type SharedSession = Rc<std::cell::RefCell<Session>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(time_ms: u64, processed_total: u64) -> Sample {
        Sample {
            time_ms,
            processed_total,
            backlog: 0,
        }
    }

    #[test]
    fn throughput_averages_bursts_over_a_second() {
        // 5 records every other sample: a bursty 25 msgs/s.
        let samples: Vec<Sample> = (0..=30)
            .map(|i| sample(i * SAMPLE_EVERY_MS, i / 2 * 5))
            .collect();
        let t = throughput_per_s(&samples);
        assert_eq!(t.len(), 30);
        assert_eq!(t[0], 0, "the first 100 ms held no completed burst");
        // Once a full second is in the window, every point is the average.
        assert!(t[10..].iter().all(|&v| v == 25), "{t:?}");
    }
}
