//! One learner's pass through a lesson: the steps of the page, the
//! prediction, the run with its controls, the checklist, hints and outcome.
//!
//! The run is a room of [`super::lab`]: the playground's world, or a
//! Kafka-style cluster, advanced in ticks of [`TICK_MS`] of virtual time. After every tick and after every
//! action the goals are evaluated, so the checklist ticks itself while the
//! run plays. A learner's click and a solution's timed action go through
//! the same [`LessonRun::act`].

use super::format::{Action, CommitChoice, Condition, Goal, Lesson, TimedAction};
use super::lab::{self, Lab};
use super::validate::validate_setup;
use super::TICK_MS;
use crate::app::cluster::ClusterSession;
use crate::app::session::Session;
use crate::config::{BrokerSpec, ClientSpec, CommitMode, LogConsumerSpec, Scenario};

/// Where the learner is in the lesson's steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Intro step `n` (0-based).
    Intro(usize),
    /// The prediction, asked before the run.
    Predict,
    /// The experiment: controls, the picture, the checklist, hints.
    Run,
    /// What happened and the real brokers' settings behind it.
    Debrief,
}

/// The learner's answer to the prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// Choice `n` (0-based).
    Choice(usize),
    /// The learner chose not to predict.
    Skipped,
}

/// A checklist line's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoalStatus {
    /// A goal to reach, not reached yet.
    Pending,
    /// A goal to keep, kept so far (the run is not over).
    Holding,
    /// Reached, or kept to the end.
    Met,
    /// Broken, or not reached by the end.
    Failed,
}

/// A checklist line as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoalView {
    /// The line's text.
    pub text: String,
    /// Ticked, failed or still open.
    pub status: GoalStatus,
    /// The measured number now (so the page can say "lost: 3").
    pub value: u64,
    /// When it was reached or broken, in virtual ms.
    pub at_ms: Option<u64>,
}

/// The prediction against the run, once the run is over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// What the learner answered.
    pub picked: Pick,
    /// The choices whose conditions the run met (a well-made lesson has one).
    pub true_choices: Vec<usize>,
    /// When the first true choice's evidence was complete (the last of its
    /// "at least" conditions to be met), for the page to point at; `None`
    /// when the answer is that something never happened.
    pub at_ms: Option<u64>,
}

impl Outcome {
    /// Whether the learner's answer was right (`None` if they skipped).
    pub fn right(&self) -> Option<bool> {
        match self.picked {
            Pick::Choice(n) => Some(self.true_choices.contains(&n)),
            Pick::Skipped => None,
        }
    }
}

/// One condition's history in the run: its value now and when it first
/// held and first did not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tracker {
    value: u64,
    held_at: Option<u64>,
    broken_at: Option<u64>,
}

impl Tracker {
    fn update(&mut self, c: &Condition, value: u64, now_ms: u64) {
        self.value = value;
        if c.holds(value) {
            self.held_at.get_or_insert(now_ms);
        } else {
            self.broken_at.get_or_insert(now_ms);
        }
    }
}

/// One learner's pass through one lesson (see the module notes).
pub struct LessonRun {
    /// The lesson, as validated.
    lesson: Lesson,
    /// The page step shown (see [`LessonRun::stage`]).
    step: usize,
    /// The prediction; running waits for it.
    pick: Option<Pick>,
    /// Hints revealed so far.
    hints_shown: usize,
    /// The lesson's setup with the choices made before the run applied.
    setup: Scenario,
    /// The live run the page draws, in the room its setup runs in.
    lab: Box<dyn Lab>,
    /// One tracker per goal.
    goals: Vec<Tracker>,
    /// One tracker per condition of each prediction choice.
    choices: Vec<Vec<Tracker>>,
    /// What the learner did, at which virtual time (for the debrief and so
    /// a run can be told again).
    taken: Vec<TimedAction>,
}

impl LessonRun {
    /// A fresh pass: first intro step, no prediction, the setup untouched.
    /// `lesson` comes from [`Lesson::from_json`] (or the bundled list), so
    /// its setup is a valid scenario.
    pub fn new(lesson: Lesson) -> LessonRun {
        let setup = lesson.setup.clone();
        let lab = lab::open(&lesson, &setup);
        let mut run = LessonRun {
            goals: vec![Tracker::default(); lesson.goals.len()],
            choices: (lesson.prediction.choices.iter())
                .map(|c| vec![Tracker::default(); c.when.len()])
                .collect(),
            lesson,
            step: 0,
            pick: None,
            hints_shown: 0,
            setup,
            lab,
            taken: Vec::new(),
        };
        run.evaluate();
        run
    }

    /// The lesson taken.
    pub fn lesson(&self) -> &Lesson {
        &self.lesson
    }

    /// The live run in the world, what the page draws
    /// (`session().view(..)`); `None` for a cluster lesson.
    pub fn session(&self) -> Option<&Session> {
        self.lab.session()
    }

    /// The live run of a cluster lesson, what the page draws
    /// (`cluster().view()`); `None` for a lesson in the world.
    pub fn cluster(&self) -> Option<&ClusterSession> {
        self.lab.cluster()
    }

    /// The setup with the learner's before-the-run choices: what "Open in
    /// the playground" carries over.
    pub fn setup(&self) -> &Scenario {
        &self.setup
    }

    /// The learner's actions so far, with their virtual times.
    pub fn taken(&self) -> &[TimedAction] {
        &self.taken
    }

    /// Starts the experiment over from the lesson's setup: no actions, no
    /// prediction, no hints; the page stays on the step it shows.
    pub fn reset(&mut self) {
        let step = self.step;
        *self = LessonRun::new(self.lesson.clone());
        self.step = step;
    }

    // ----- steps -----

    /// Intro steps, then the prediction, the run and the debrief.
    pub fn step_count(&self) -> usize {
        self.lesson.intro.len() + 3
    }

    /// The step shown, 0-based (the deep link's `<step>`).
    pub fn step(&self) -> usize {
        self.step
    }

    /// What the step shown is.
    pub fn stage(&self) -> Stage {
        let intro = self.lesson.intro.len();
        match self.step {
            s if s < intro => Stage::Intro(s),
            s if s == intro => Stage::Predict,
            s if s == intro + 1 => Stage::Run,
            _ => Stage::Debrief,
        }
    }

    /// Shows step `step` (clamped to the last); returns the step shown.
    /// Every step is reachable: a wrong or missing prediction blocks nothing
    /// but the Run button.
    pub fn go_to(&mut self, step: usize) -> usize {
        self.step = step.min(self.step_count() - 1);
        self.step
    }

    /// The next step (Next, or the → key).
    pub fn next_step(&mut self) -> usize {
        self.go_to(self.step + 1)
    }

    /// The previous step (Back, or the ← key).
    pub fn back_step(&mut self) -> usize {
        self.go_to(self.step.saturating_sub(1))
    }

    // ----- prediction -----

    /// Answers the prediction with choice `n`. Refused once the run started:
    /// the answer is locked so the outcome compares it fairly.
    pub fn predict(&mut self, n: usize) -> Result<(), String> {
        if n >= self.lesson.prediction.choices.len() {
            return Err(format!("there is no choice {n}"));
        }
        self.set_pick(Pick::Choice(n))
    }

    /// Skips the prediction; the run may start.
    pub fn skip_prediction(&mut self) -> Result<(), String> {
        self.set_pick(Pick::Skipped)
    }

    fn set_pick(&mut self, pick: Pick) -> Result<(), String> {
        if self.started() {
            return Err("The run has started: the prediction is locked.".into());
        }
        self.pick = Some(pick);
        Ok(())
    }

    /// The learner's answer, if given.
    pub fn picked(&self) -> Option<Pick> {
        self.pick
    }

    /// Whether Run is enabled: a prediction was picked or skipped.
    pub fn can_run(&self) -> bool {
        self.pick.is_some()
    }

    // ----- running -----

    /// Virtual time of the run.
    pub fn now_ms(&self) -> u64 {
        self.lab.now_ms()
    }

    /// When the run ends.
    pub fn end_ms(&self) -> u64 {
        self.lab.end_ms()
    }

    /// The run reached its end; the checklist and the outcome are final.
    pub fn finished(&self) -> bool {
        self.now_ms() >= self.end_ms()
    }

    /// Whether the experiment is under way: time moved, or something was
    /// done to the running world.
    pub fn started(&self) -> bool {
        let live = |t: &TimedAction| !t.action.control().before_run();
        self.now_ms() > 0 || self.taken.iter().any(live)
    }

    /// Runs up to `virtual_ms` more, in ticks of [`TICK_MS`], evaluating the
    /// goals after each; stops early between ticks when `over_budget` says
    /// the frame's time is spent. Does nothing before a prediction is picked
    /// or skipped. Returns the virtual ms covered.
    pub fn advance(&mut self, virtual_ms: u64, over_budget: &mut dyn FnMut() -> bool) -> u64 {
        if !self.can_run() {
            return 0;
        }
        let start_ms = self.now_ms();
        let target_ms = start_ms.saturating_add(virtual_ms).min(self.end_ms());
        while self.now_ms() < target_ms && !self.lab.stopped() {
            let before_ms = self.now_ms();
            let to_ms = ((before_ms / TICK_MS + 1) * TICK_MS).min(target_ms);
            self.lab.advance(to_ms - before_ms);
            // Evaluate on the tick grid only, so how the page slices its
            // frames never changes a sampled peak.
            if self.now_ms().is_multiple_of(TICK_MS) || self.finished() {
                self.evaluate();
            }
            if self.now_ms() == before_ms || over_budget() {
                break;
            }
        }
        self.now_ms() - start_ms
    }

    /// Runs to virtual time `t_ms` (or the end), with no frame budget.
    pub fn run_to(&mut self, t_ms: u64) {
        let ms = t_ms.saturating_sub(self.now_ms());
        self.advance(ms, &mut || false);
    }

    /// Opens the run at virtual time `t_ms` (a deep link's instant): over
    /// again if it is already past it, the prediction skipped if none was
    /// given, then run there (or to the end).
    pub fn open_at(&mut self, t_ms: u64) {
        if self.now_ms() > t_ms {
            self.reset();
        }
        if self.pick.is_none() {
            self.pick = Some(Pick::Skipped);
        }
        self.run_to(t_ms);
    }

    /// Opens the run at `t_ms` after doing `actions` again, each at its
    /// time as the learner did it (a deep link that carries them): over
    /// again from the lesson's setup, the prediction kept or else skipped.
    /// A refused action leaves the run at its start and names it.
    pub fn open_with(&mut self, t_ms: u64, actions: &[TimedAction]) -> Result<(), String> {
        let pick = self.pick.unwrap_or(Pick::Skipped);
        self.reset();
        self.pick = Some(pick);
        if let Err((i, why)) = self.replay(actions) {
            self.reset();
            self.pick = Some(pick);
            return Err(format!(
                "The link's action {} was refused{why}: showing the run from its start.",
                i + 1
            ));
        }
        self.run_to(t_ms);
        Ok(())
    }

    /// Does `actions` through [`LessonRun::act`], each at its time, as a
    /// learner would click them; an error gives the refused one's index
    /// and why.
    fn replay(&mut self, actions: &[TimedAction]) -> Result<(), (usize, String)> {
        for (i, step) in actions.iter().enumerate() {
            self.run_to(step.at_ms);
            if self.now_ms() != step.at_ms {
                return Err((i, format!(": the run stopped before {} ms", step.at_ms)));
            }
            self.act(step.action.clone())
                .map_err(|e| (i, format!(" at {} ms: {e}", step.at_ms)))?;
        }
        Ok(())
    }

    /// Runs to the end of the run.
    pub fn run_to_end(&mut self) {
        self.run_to(self.end_ms());
    }

    /// Plays the lesson's solution through [`LessonRun::act`], as a learner
    /// would click it, then runs to the end. Skips the prediction if none
    /// was given. An error names the solution step that was refused.
    pub fn play_solution(&mut self) -> Result<(), String> {
        if self.pick.is_none() {
            self.skip_prediction()?;
        }
        let solution = self.lesson.solution.clone();
        self.replay(&solution)
            .map_err(|(i, why)| format!("solution[{i}]{why}"))?;
        self.run_to_end();
        Ok(())
    }

    // ----- controls -----

    /// Whether the lesson offers `control` at all (the page hides the rest).
    pub fn allows(&self, control: super::Control) -> bool {
        self.lesson.controls.contains(&control)
    }

    /// Why `action` cannot be done now, if it cannot: the page disables the
    /// control and shows this reason.
    pub fn why_not(&self, action: &Action) -> Option<String> {
        let control = action.control();
        if !self.allows(control) {
            return Some(format!("This lesson does not use `{}`.", control.name()));
        }
        if self.pick.is_none() {
            return Some("Answer the prediction (or skip it) first.".into());
        }
        if self.finished() {
            return Some("The run is over: reset to try again.".into());
        }
        if control.before_run() && self.started() {
            return Some(format!(
                "`{}` is chosen before the run starts: reset to change it.",
                control.name()
            ));
        }
        // Live actions depend on the run's state: its room says.
        (!control.before_run()).then(|| self.lab.why_not(action))?
    }

    /// Does `action` now, as the page's control does: refused (with the
    /// reason) when [`LessonRun::why_not`] says so. A choice made before the
    /// run rebuilds the run from the changed setup; anything else acts on
    /// the running world. The goals are evaluated right after.
    pub fn act(&mut self, action: Action) -> Result<(), String> {
        if let Some(why) = self.why_not(&action) {
            return Err(why);
        }
        if action.control().before_run() {
            self.choose(&action)?;
        } else {
            self.lab.apply(&action)?;
        }
        self.taken.push(TimedAction {
            at_ms: self.now_ms(),
            action,
        });
        self.evaluate();
        Ok(())
    }

    /// A choice made before the run: the setup changes, is validated, and
    /// the run is rebuilt from it (nothing has happened yet to lose).
    fn choose(&mut self, action: &Action) -> Result<(), String> {
        let mut setup = self.setup.clone();
        edit_setup(&mut setup, action)?;
        validate_setup(&setup).map_err(|e| e.to_string())?;
        self.lab = lab::open(&self.lesson, &setup);
        self.setup = setup;
        Ok(())
    }

    // ----- checklist, hints, outcome -----

    /// Reads the run (its room measures: the checker, the history, the
    /// backlog...); then updates every goal and prediction condition.
    fn evaluate(&mut self) {
        self.lab.measure();
        let (lab, now_ms) = (&self.lab, self.lab.now_ms());
        for (goal, t) in self.lesson.goals.iter().zip(&mut self.goals) {
            t.update(&goal.when, lab.value(&goal.when), now_ms);
        }
        let choices = self.lesson.prediction.choices.iter();
        for (choice, ts) in choices.zip(&mut self.choices) {
            for (c, t) in choice.when.iter().zip(ts) {
                t.update(c, lab.value(c), now_ms);
            }
        }
    }

    /// The checklist, in the lesson's order.
    pub fn goals(&self) -> Vec<GoalView> {
        let finished = self.finished();
        let goals = self.lesson.goals.iter().zip(&self.goals);
        goals.map(|(g, t)| goal_view(g, t, finished)).collect()
    }

    /// Every goal reached or kept to the end.
    pub fn all_goals_met(&self) -> bool {
        self.goals().iter().all(|g| g.status == GoalStatus::Met)
    }

    /// Reveals the next hint and returns it (`None` when all are shown).
    pub fn show_hint(&mut self) -> Option<&str> {
        let hint = self.lesson.hints.get(self.hints_shown)?;
        self.hints_shown += 1;
        Some(hint)
    }

    /// The hints revealed so far, in order.
    pub fn hints_shown(&self) -> &[String] {
        &self.lesson.hints[..self.hints_shown]
    }

    /// The prediction against what the run showed, once the run is over
    /// and a prediction was given (or skipped).
    pub fn outcome(&self) -> Option<Outcome> {
        let picked = self.pick.filter(|_| self.finished())?;
        let true_choices: Vec<usize> = (self.choices.iter().enumerate())
            .filter(|(i, ts)| {
                let when = &self.lesson.prediction.choices[*i].when;
                when.iter().zip(*ts).all(|(c, t)| c.holds(t.value))
            })
            .map(|(i, _)| i)
            .collect();
        let at_ms = true_choices.first().and_then(|&i| {
            let when = &self.lesson.prediction.choices[i].when;
            let reached = when.iter().zip(&self.choices[i]);
            let reached = reached.filter(|(c, _)| c.at_least.is_some_and(|n| n > 0));
            reached.filter_map(|(_, t)| t.held_at).max()
        });
        Some(Outcome {
            picked,
            true_choices,
            at_ms,
        })
    }
}

fn goal_view(goal: &Goal, t: &Tracker, finished: bool) -> GoalView {
    let reach = goal.when.at_least.is_some();
    let (status, at_ms) = match (reach, t.held_at, t.broken_at) {
        (true, Some(at), _) => (GoalStatus::Met, Some(at)),
        (true, None, _) if finished => (GoalStatus::Failed, None),
        (true, None, _) => (GoalStatus::Pending, None),
        (false, _, Some(at)) => (GoalStatus::Failed, Some(at)),
        (false, _, None) if finished => (GoalStatus::Met, None),
        (false, _, None) => (GoalStatus::Holding, None),
    };
    GoalView {
        text: goal.text.clone(),
        status,
        value: t.value,
        at_ms,
    }
}

/// Applies a before-the-run choice to `setup` (validated by the caller).
fn edit_setup(setup: &mut Scenario, action: &Action) -> Result<(), String> {
    let guarantee = setup.guarantee.map(|g| g.name());
    match action {
        Action::SetGuarantee { value } => setup.guarantee = Some(*value),
        Action::SetAcks { .. } | Action::SetCommit { .. } if guarantee.is_some() => {
            return Err(format!(
                "The guarantee ({}) sets this: choose another guarantee instead.",
                guarantee.unwrap_or_default()
            ))
        }
        Action::SetAcks { value } => {
            let producers = setup.clients.iter_mut().filter_map(|c| match c {
                ClientSpec::LogProducer(p) => Some(p),
                _ => None,
            });
            producers.for_each(|p| p.acks = *value);
        }
        Action::SetPartitions { value } => match &mut setup.broker {
            BrokerSpec::Log(b) => b.topics.iter_mut().for_each(|t| {
                t.partitions = *value;
            }),
            BrokerSpec::Queue(_) => return Err("queues have no partitions".into()),
        },
        Action::SetCommit { target, value } => {
            let k = log_consumer(setup, target)?;
            k.enable_auto_commit = *value == CommitChoice::AutoCommit;
            k.commit = match value {
                CommitChoice::BeforeProcessing => Some(CommitMode::BeforeProcessing),
                CommitChoice::AfterProcessing => Some(CommitMode::AfterProcessing),
                CommitChoice::AutoCommit => None,
            };
        }
        Action::SetIsolation { target, value } => {
            log_consumer(setup, target)?.isolation_level = *value
        }
        _ => unreachable!("only choices made before the run edit the setup"),
    }
    Ok(())
}

fn log_consumer<'a>(setup: &'a mut Scenario, id: &str) -> Result<&'a mut LogConsumerSpec, String> {
    setup
        .clients
        .iter_mut()
        .find_map(|c| match c {
            ClientSpec::LogConsumer(k) if k.id == id => Some(k),
            _ => None,
        })
        .ok_or_else(|| format!("`{id}` is not a log consumer of this lesson"))
}
