//! A lesson page's state: a `Reducible` over one [`LessonRun`], changed only
//! through [`LessonAction`]. Buttons, keys and tests all go through it; the
//! components only draw the snapshot it keeps ([`LearnState::view`],
//! [`LearnState::goals`]).

use crate::app::cluster::ClusterView;
use crate::app::learn;
use crate::app::lesson::{self, GoalStatus, GoalView, Lesson, LessonRun};
use crate::app::session::View;
use std::cell::RefCell;
use std::rc::Rc;
use yew::Reducible;

/// Speeds offered while a lesson plays (virtual ms per wall ms): slower
/// than the playground's, since a lesson asks for a click at the right
/// moment.
pub const SPEEDS: [f64; 4] = [0.1, 0.25, 0.5, 1.0];
const SPEED_DEFAULT_INDEX: usize = 1;
/// Virtual ms one "Step" click covers: short enough to stop at a chosen
/// moment, long enough that a backlog visibly changes.
pub const STEP_MS: u64 = 100;
/// Wall ms of simulation per animation frame, as in the playground.
const FRAME_BUDGET_MS: f64 = 8.0;

/// Everything a learner does on a lesson page.
#[derive(Clone, Debug, PartialEq)]
pub enum LessonAction {
    /// Show step `n`, at the experiment's instant if one is given, after
    /// the learner's actions the link carries (the route changed).
    GoTo(usize, Option<u64>, Option<String>),
    /// Answer the prediction with choice `n`.
    Predict(usize),
    /// Skip the prediction.
    SkipPrediction,
    /// Play or pause the run.
    TogglePlay,
    /// An animation frame at this wall time.
    Frame {
        /// `requestAnimationFrame`'s timestamp.
        wall_ms: f64,
    },
    /// Run [`STEP_MS`] more, paused.
    Step,
    /// Run to the end, paused.
    RunToEnd,
    /// Choose a play speed from [`SPEEDS`].
    SetSpeed(usize),
    /// A lesson control (crash the broker, set acks…).
    Act(lesson::Action),
    /// Reveal the next hint.
    Hint,
    /// Start the experiment over.
    Reset,
    /// Show a message's story (a finding was clicked), or close it.
    Focus(Option<String>),
    /// "Copy link to this step" made this link (the page's address).
    LinkMade(String),
    /// The clipboard took the link, or why not.
    LinkCopied(Result<(), String>),
}

/// A lesson page's state (see the module notes).
#[derive(Clone)]
pub struct LearnState {
    /// The learner's pass, mutated in place; `revision` says it changed.
    pub run: Rc<RefCell<LessonRun>>,
    /// Bumped on every change of `run`, so Yew redraws.
    pub revision: u64,
    /// What the playground's picture and counters draw (a lesson in the
    /// world).
    pub view: Rc<View>,
    /// What the cluster page's brokers and verdict draw (a cluster
    /// lesson), instead of `view`.
    pub cluster: Option<Rc<ClusterView>>,
    /// The checklist now.
    pub goals: Vec<GoalView>,
    /// The last goal that changed, said aloud by the live region.
    pub announce: String,
    /// The run plays in animation frames.
    pub playing: bool,
    /// Index into [`SPEEDS`].
    pub speed_index: usize,
    /// The message whose story is shown.
    pub focus: Option<String>,
    /// Why the last action was refused, if it was.
    pub refused: Option<String>,
    /// The link "Copy link to this step" made, and what the clipboard
    /// said ("Copied."), shown to select by hand if it refused.
    pub link: Option<(String, String)>,
    /// The wall time of the last frame (none when paused).
    last_frame_ms: Option<f64>,
    /// A monotonic wall clock, passed in so tests could drive it.
    clock: super::super::state::Clock,
}

impl PartialEq for LearnState {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.run, &other.run)
            && self.revision == other.revision
            && self.playing == other.playing
            && self.speed_index == other.speed_index
            && self.refused == other.refused
            && self.focus == other.focus
            && self.link == other.link
    }
}

impl LearnState {
    /// A fresh pass through `lesson`, showing `step`, its run at `at_ms`
    /// if given, after the link's `actions` (see [`open`]).
    pub fn new(
        lesson: Lesson,
        step: usize,
        at_ms: Option<u64>,
        actions: Option<&str>,
        clock: super::super::state::Clock,
    ) -> LearnState {
        let mut run = LessonRun::new(lesson);
        run.go_to(step);
        let refused = at_ms.and_then(|t| open(&mut run, t, actions).err());
        let mut s = LearnState {
            view: Rc::default(),
            cluster: None,
            goals: run.goals(),
            run: Rc::new(RefCell::new(run)),
            revision: 0,
            announce: String::new(),
            playing: false,
            speed_index: SPEED_DEFAULT_INDEX,
            focus: None,
            refused,
            link: None,
            last_frame_ms: None,
            clock,
        };
        s.refresh();
        s
    }

    /// Redraws from the run, and words the goals that changed since.
    fn refresh(&mut self) {
        let run = self.run.borrow();
        let goals = run.goals();
        for (old, new) in self.goals.iter().zip(&goals) {
            if old.status != new.status {
                self.announce = announcement(new);
            }
        }
        self.goals = goals;
        if let Some(session) = run.session() {
            self.view = Rc::new(session.view(self.focus.as_deref()));
        }
        self.cluster = run.cluster().map(|c| Rc::new(c.view()));
        if run.finished() {
            self.playing = false;
        }
        drop(run);
        self.revision += 1;
    }

    fn frame(&mut self, wall_ms: f64) {
        if !self.playing {
            self.last_frame_ms = None;
            return;
        }
        let gap_ms = super::super::state::frame_gap_ms(&mut self.last_frame_ms, wall_ms);
        let virtual_ms = (gap_ms * SPEEDS[self.speed_index]).round() as u64;
        let clock = self.clock.clone();
        let deadline_ms = clock() + FRAME_BUDGET_MS;
        (self.run.borrow_mut()).advance(virtual_ms, &mut || clock() >= deadline_ms);
        self.refresh();
    }

    /// Shows step `n`, the run opened at `at_ms` if given (a deep link),
    /// after the link's `actions`.
    fn go_to(&mut self, n: usize, at_ms: Option<u64>, actions: Option<&str>) {
        let mut run = self.run.borrow_mut();
        run.go_to(n);
        if let Some(t) = at_ms {
            self.refused = open(&mut run, t, actions).err();
            self.playing = false;
        }
        drop(run);
        self.link = None;
        self.refresh();
    }

    /// Whether the page already shows step `n` at `at_ms` after the
    /// link's `actions` (so a route change to it need not replay them).
    fn shows(&self, n: usize, at_ms: Option<u64>, actions: Option<&str>) -> bool {
        let run = self.run.borrow();
        let same_actions = || actions.is_none_or(|a| a == learn::write_actions(run.taken()));
        run.step() == n && at_ms.is_none_or(|t| t == run.now_ms()) && same_actions()
    }

    fn result(&mut self, r: Result<(), String>) {
        self.refused = r.err();
        self.refresh();
    }
}

/// Opens `run` at a link's instant `t_ms`, after the learner's actions the
/// link carries (packed, see [`learn::read_actions`]); an unreadable or
/// refused one leaves the run at its start and says why.
fn open(run: &mut LessonRun, t_ms: u64, actions: Option<&str>) -> Result<(), String> {
    match actions {
        None => {
            run.open_at(t_ms);
            Ok(())
        }
        Some(text) => learn::read_actions(text, t_ms).and_then(|a| run.open_with(t_ms, &a)),
    }
}

/// The sentence the live region says when a goal changes.
fn announcement(g: &GoalView) -> String {
    match g.status {
        GoalStatus::Met => format!("Goal met: {}", g.text),
        GoalStatus::Failed => format!("Goal missed: {}", g.text),
        GoalStatus::Holding | GoalStatus::Pending => format!("Goal open: {}", g.text),
    }
}

impl Reducible for LearnState {
    type Action = LessonAction;

    fn reduce(self: Rc<Self>, action: LessonAction) -> Rc<Self> {
        let mut s = (*self).clone();
        let run = s.run.clone();
        match action {
            LessonAction::GoTo(n, at_ms, actions) => {
                if s.shows(n, at_ms, actions.as_deref()) {
                    return self;
                }
                s.go_to(n, at_ms, actions.as_deref());
            }
            LessonAction::Predict(n) => {
                let r = run.borrow_mut().predict(n);
                s.result(r);
            }
            LessonAction::SkipPrediction => {
                let r = run.borrow_mut().skip_prediction();
                s.result(r);
            }
            LessonAction::TogglePlay => {
                s.playing = !s.playing && run.borrow().can_run() && !run.borrow().finished();
                s.last_frame_ms = None;
            }
            LessonAction::Frame { wall_ms } => s.frame(wall_ms),
            LessonAction::Step => {
                s.playing = false;
                run.borrow_mut().advance(STEP_MS, &mut || false);
                s.refresh();
            }
            LessonAction::RunToEnd => {
                s.playing = false;
                run.borrow_mut().run_to_end();
                s.refresh();
            }
            LessonAction::SetSpeed(i) => s.speed_index = i.min(SPEEDS.len() - 1),
            LessonAction::Act(a) => {
                let r = run.borrow_mut().act(a);
                s.result(r);
            }
            LessonAction::Hint => {
                run.borrow_mut().show_hint();
                s.refresh();
            }
            LessonAction::Reset => {
                s.playing = false;
                s.focus = None;
                run.borrow_mut().reset();
                s.result(Ok(()));
            }
            LessonAction::Focus(msg) => {
                s.focus = msg;
                s.refresh();
            }
            LessonAction::LinkMade(url) => s.link = Some((url, String::new())),
            LessonAction::LinkCopied(result) => {
                let Some((_, status)) = &mut s.link else {
                    return self;
                };
                *status = match result {
                    Ok(()) => "Copied.".into(),
                    Err(why) => format!("Select the link to copy it: {why}"),
                };
            }
        }
        Rc::new(s)
    }
}
