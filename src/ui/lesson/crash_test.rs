//! The crash test: the shortest way to the seed's first surprise. One click
//! crashes an in-memory queue (lesson 3's setup) and a log broker with
//! `acks=all` (lesson 8's) at a moment when each holds a backlog, restarts
//! them, and shows what each lost. Both runs are the lessons' own
//! solutions, played by the lesson engine, so what this page shows is what
//! `tests/lessons.rs` checks.

use crate::app::learn::Route;
use crate::app::lesson::{Action, Lesson, LessonRun};
use crate::app::session::{Session, View};
use crate::ui::topology::Topology;
use std::rc::Rc;
use yew::prelude::*;

/// The crash test's inputs.
#[derive(Properties, PartialEq)]
pub struct CrashTestProps {
    /// The in-memory crash lesson (03).
    pub memory: Rc<Lesson>,
    /// The log durability lesson (08).
    pub log: Rc<Lesson>,
    /// Asks the router to show a page.
    pub nav: Callback<Route>,
}

/// What one side of the test showed.
#[derive(Clone, PartialEq)]
struct Side {
    /// The picture just before the crash: the backlog it is about to hit.
    at_crash: Rc<View>,
    /// When the broker crashed, virtual ms.
    crash_ms: u64,
    /// Messages the broker confirmed by the end.
    confirmed: u64,
    /// Confirmed messages gone for good.
    lost: u64,
}

/// Plays `lesson`'s solution as a learner would click it, keeping the
/// picture the moment before the broker's crash.
fn crash(lesson: &Lesson) -> Result<Side, String> {
    let mut run = LessonRun::new(lesson.clone());
    run.skip_prediction()?;
    let mut at_crash = None;
    for step in &lesson.solution {
        run.run_to(step.at_ms);
        if step.action == Action::CrashBroker {
            at_crash = Some((Rc::new(world(&run)?.view(None)), step.at_ms));
        }
        run.act(step.action.clone())?;
    }
    run.run_to_end();
    let (at_crash, crash_ms) = at_crash.ok_or("the lesson's solution never crashes the broker")?;
    let counts = &world(&run)?.view(None).counts;
    Ok(Side {
        at_crash,
        crash_ms,
        confirmed: counts.confirmed,
        // The in-memory queue's messages are transient: its crash loss is
        // `transient_lost`, expected, but gone all the same.
        lost: counts.lost + counts.transient_lost,
    })
}

/// The run's world: both lessons of the test run in it.
fn world(run: &LessonRun) -> Result<&Session, String> {
    let why = "the crash test's lessons run in the world, not on a cluster";
    run.session().ok_or_else(|| why.to_string())
}

/// The page: one button, two results.
#[function_component(CrashTest)]
pub fn crash_test(p: &CrashTestProps) -> Html {
    let result = use_state(|| None::<Result<(Side, Side), String>>);
    let onclick = {
        let (result, memory, log) = (result.clone(), p.memory.clone(), p.log.clone());
        move |_| result.set(Some(crash(&memory).and_then(|m| Ok((m, crash(&log)?)))))
    };
    let go = |id: &Rc<Lesson>| {
        let (nav, id) = (p.nav.clone(), id.id.clone());
        move |_| nav.emit(Route::lesson(&id, 0))
    };
    html! {
        <section class="crash-test" aria-labelledby="crash-heading">
            <h2 id="crash-heading">{ "Crash test: an in-memory queue against a log" }</h2>
            <p class="lesson-text">{ "Two brokers take the same kind of load: a producer that publishes faster than its consumer can keep up, so each broker holds a backlog of confirmed messages. Crash both, restart them, and count what is gone." }</p>
            <button class="primary" {onclick}>{ "Crash both brokers" }</button>
            { match &*result {
                None => Html::default(),
                Some(Err(e)) => html! { <p class="notice" role="alert">{ format!("The crash test could not run: {e}") }</p> },
                Some(Ok((m, l))) => html! { <>
                    <p class="crash-verdict" role="status">{ format!(
                        "The in-memory queue lost {} confirmed messages in the crash; the log lost {}.", m.lost, l.lost) }</p>
                    <div class="crash-sides">
                        { side("In-memory queue (like RabbitMQ without persistence)", m) }
                        { side("Log broker with acks=all (like Kafka)", l) }
                    </div>
                    <p class="lesson-text">{ "The queue kept its messages only in memory, so the crash took every one it held, confirmed or not. The log broker answered acks=all only once a record was on disk: the crash took nothing it had acknowledged, and the producer re-sent the rest." }</p>
                    <p>
                        { "Try each one yourself: " }
                        <button class="link" onclick={go(&p.memory)}>{ format!("Lesson: {}", p.memory.title) }</button>
                        { " · " }
                        <button class="link" onclick={go(&p.log)}>{ format!("Lesson: {}", p.log.title) }</button>
                    </p>
                </> },
            } }
        </section>
    }
}

fn side(title: &str, s: &Side) -> Html {
    html! {
        <section class="crash-side" aria-label={title.to_string()}>
            <h3>{ title }</h3>
            <p class="quiet">{ format!("What it held the moment before the crash at t = {}:", crate::ui::topology::format_ms(s.crash_ms)) }</p>
            <Topology view={s.at_crash.clone()} />
            <dl class="counters">
                <div class="counter"><dt>{ "Confirmed" }</dt><dd>{ s.confirmed }</dd></div>
                <div class={classes!("counter", (s.lost > 0).then_some("bad"))}><dt>{ "Lost" }</dt><dd>{ s.lost }</dd></div>
            </dl>
        </section>
    }
}
