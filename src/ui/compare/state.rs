//! The Compare page's state: a `Reducible` over one [`Compare`], changed
//! only through [`CompareAction`]. The page draws the snapshot it keeps
//! (each pane's [`View`] and the [`Diff`] between them); the two runs, the
//! lockstep and the diff are app code ([`crate::app::compare`]).

use crate::app::compare::{Compare, Diff, Pair};
use crate::app::playground::Setup;
use crate::app::session::View;
use crate::app::share::LiveAction;
use crate::ui::state::{Clock, FRAME_BUDGET_MS};
use std::cell::RefCell;
use std::rc::Rc;
use yew::Reducible;

/// The seed both panes run from.
pub const SEED: u64 = 1;
/// Virtual ms one "Step" click covers: a comparison builds over seconds.
pub const STEP_MS: u64 = 1_000;

/// Everything a person does on the Compare page.
#[derive(Clone, Debug, PartialEq)]
pub enum CompareAction {
    /// Compare this pair instead, from the start.
    Choose(Pair),
    /// Play or pause both runs.
    TogglePlay,
    /// An animation frame at this wall time.
    Frame {
        /// `requestAnimationFrame`'s timestamp.
        wall_ms: f64,
    },
    /// Run [`STEP_MS`] more, paused.
    Step,
    /// A fault, done in both panes at the same instant.
    Act(LiveAction),
    /// Start both runs over.
    Reset,
    /// Show a message's story in both panes (a finding was clicked).
    Focus(Option<String>),
}

/// The Compare page's state (see the module notes).
#[derive(Clone)]
pub struct CompareState {
    /// The two runs, mutated in place; `revision` says they changed. An
    /// error when the pair's setup cannot run (said on the page).
    pub runs: Result<Rc<RefCell<Compare>>, String>,
    /// Bumped on every change of `runs`, so Yew redraws.
    pub revision: u64,
    /// What is compared.
    pub pair: Pair,
    /// The setup both panes start from, when the page was given one (the
    /// frame benchmark's 20 clients); else each pair's own [`Pair::base`].
    base: Option<Rc<Setup>>,
    /// What each pane draws, left then right.
    pub views: Option<[Rc<View>; 2]>,
    /// The row between the panes.
    pub diff: Rc<Diff>,
    /// The runs play in animation frames.
    pub playing: bool,
    /// The message whose story both panes show.
    pub focus: Option<String>,
    /// Why the last fault was refused, if it was.
    pub refused: Option<String>,
    /// The wall time of the last frame (none when paused).
    last_frame_ms: Option<f64>,
    /// A monotonic wall clock, passed in so tests could drive it.
    clock: Clock,
}

impl PartialEq for CompareState {
    fn eq(&self, other: &Self) -> bool {
        self.revision == other.revision
            && self.pair == other.pair
            && self.playing == other.playing
            && self.refused == other.refused
            && self.focus == other.focus
    }
}

impl CompareState {
    /// `pair` from the start of `base` (or of the pair's own setup from
    /// [`SEED`]), paused.
    pub fn new(pair: Pair, base: Option<Rc<Setup>>, clock: Clock) -> CompareState {
        let runs = match &base {
            Some(setup) => Compare::from_base(pair, setup),
            None => Compare::new(pair, SEED),
        };
        let mut s = CompareState {
            runs: runs
                .map(|c| Rc::new(RefCell::new(c)))
                .map_err(|e| format!("This comparison cannot run: {e}")),
            revision: 0,
            pair,
            base,
            views: None,
            diff: Rc::default(),
            playing: false,
            focus: None,
            refused: None,
            last_frame_ms: None,
            clock,
        };
        s.refresh();
        s
    }

    /// `pair` from the start, paused, as a change of this state.
    fn start(&mut self, pair: Pair) {
        let revision = self.revision;
        *self = CompareState::new(pair, self.base.clone(), self.clock.clone());
        self.revision += revision;
    }

    /// Virtual time and end of both runs, ms.
    pub fn clock_ms(&self) -> (u64, u64) {
        self.runs.as_ref().map_or((0, 0), |c| {
            let c = c.borrow();
            (c.now_ms(), c.end_ms())
        })
    }

    fn refresh(&mut self) {
        if let Ok(runs) = &self.runs {
            let c = runs.borrow();
            let focus = self.focus.as_deref();
            self.views = Some([c.left.view(focus), c.right.view(focus)].map(Rc::new));
            self.diff = Rc::new(c.diff());
        }
        self.revision += 1;
    }

    /// Runs both by `virtual_ms`, or less if `over_budget` says so.
    fn advance(&mut self, virtual_ms: u64, over_budget: &mut dyn FnMut() -> bool) {
        if let Ok(runs) = &self.runs {
            runs.borrow_mut().advance(virtual_ms, over_budget);
        }
        self.refresh();
    }

    fn frame(&mut self, wall_ms: f64) {
        if !self.playing {
            self.last_frame_ms = None;
            return;
        }
        let gap_ms = crate::ui::state::frame_gap_ms(&mut self.last_frame_ms, wall_ms);
        let clock = self.clock.clone();
        let deadline_ms = clock() + FRAME_BUDGET_MS;
        self.advance(gap_ms.round() as u64, &mut || clock() >= deadline_ms);
        let (now_ms, end_ms) = self.clock_ms();
        self.playing = now_ms < end_ms;
    }
}

impl Reducible for CompareState {
    type Action = CompareAction;

    fn reduce(self: Rc<Self>, action: CompareAction) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            CompareAction::Choose(pair) if pair == s.pair => return self,
            CompareAction::Choose(pair) => s.start(pair),
            CompareAction::Reset => s.start(s.pair),
            CompareAction::TogglePlay => {
                s.playing = !s.playing && s.runs.is_ok();
                s.last_frame_ms = None;
            }
            CompareAction::Frame { wall_ms } => s.frame(wall_ms),
            CompareAction::Step => {
                s.playing = false;
                s.advance(STEP_MS, &mut || false);
            }
            CompareAction::Act(action) => {
                if let Ok(runs) = &s.runs {
                    s.refused = runs.borrow_mut().act(action).err();
                }
                s.refresh();
            }
            CompareAction::Focus(msg) => {
                s.focus = msg;
                s.refresh();
            }
        }
        Rc::new(s)
    }
}
