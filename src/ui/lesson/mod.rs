//! The lesson pages: the index with progress marks ([`index`]), one lesson
//! step by step (this file), the experiment's controls ([`controls`]), the
//! named pictures ([`pictures`]) and the crash test ([`crash_test`]).
//!
//! A lesson page draws a [`LessonRun`](crate::app::lesson::LessonRun)
//! through its own `Reducible` ([`state`]); the picture and the counters of
//! the run are the playground's own components. Which step shows is the
//! route's business (`#/learn/<lesson>/<step>`): Back, Next and the ←/→ keys
//! ask the router to go there, and the page follows.

mod controls;
pub mod crash_test;
pub mod index;
mod pictures;
mod stages;
pub mod state;

use crate::app::learn::{write_actions, Route};
use crate::app::lesson::{Lesson, Stage};
use state::{LearnState, LessonAction};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// A lesson page's inputs.
#[derive(Properties, PartialEq)]
pub struct LessonProps {
    /// The lesson shown.
    pub lesson: Rc<Lesson>,
    /// Its place in the index, 0-based.
    pub number: usize,
    /// Lessons in the index.
    pub total: usize,
    /// The next lesson's id, if there is one.
    pub next_id: Option<String>,
    /// The step the route shows.
    pub step: usize,
    /// The experiment's instant the route opens at (a deep link's).
    pub at_ms: Option<u64>,
    /// The learner's actions up to that instant the link carries, packed
    /// ([`crate::app::learn::write_actions`]).
    pub actions: Option<String>,
    /// Asks the router to show a page.
    pub nav: Callback<Route>,
    /// Every goal was met (the index marks the lesson done).
    pub on_complete: Callback<String>,
    /// "Open in the playground": the setup's name and JSON.
    pub open_playground: Callback<(String, String)>,
}

/// One lesson, one step at a time.
#[function_component(LessonPage)]
pub fn lesson_page(p: &LessonProps) -> Html {
    let state = {
        let (lesson, step, at_ms) = ((*p.lesson).clone(), p.step, p.at_ms);
        let actions = p.actions.clone();
        use_reducer(move || {
            LearnState::new(lesson, step, at_ms, actions.as_deref(), super::wall_clock())
        })
    };
    let d = {
        let d = state.dispatcher();
        Callback::from(move |a: LessonAction| d.dispatch(a))
    };
    use_lesson_effects(p, &state);
    let run = state.run.borrow();
    let (step, steps) = (run.step(), run.step_count());
    use_arrow_keys(p, step, steps);
    let is_run = run.stage() == Stage::Run;
    let body = stages::body(&run, &state, &d, &p.nav);
    drop(run);
    html! {
        <div class={classes!("lesson-page", is_run.then_some("with-lab"))}>
            { step_list(p, step, steps, &state) }
            <section class="lesson" aria-labelledby="lesson-heading">
                <p class="lesson-kicker">
                    { format!("Lesson {} of {} · step {} of {steps}", p.number + 1, p.total, step + 1) }
                </p>
                <h2 id="lesson-heading">{ &p.lesson.title }</h2>
                { body }
                { lesson_nav(p, (step, steps), &state, &d) }
            </section>
            if is_run {
                { stages::lab(&state, &d) }
            }
        </div>
    }
}

/// The page follows the route's step, plays in animation frames, and
/// reports the lesson done once every goal is met.
#[hook]
fn use_lesson_effects(p: &LessonProps, state: &UseReducerHandle<LearnState>) {
    let d = state.dispatcher();
    use_effect_with(
        (p.step, p.at_ms, p.actions.clone()),
        move |(step, at_ms, a)| d.dispatch(LessonAction::GoTo(*step, *at_ms, a.clone())),
    );
    let d = state.dispatcher();
    let frames = Callback::from(move |wall_ms| d.dispatch(LessonAction::Frame { wall_ms }));
    super::use_frame_loop(state.playing, frames);
    let all_met = state.run.borrow().all_goals_met();
    let (done, id) = (p.on_complete.clone(), p.lesson.id.clone());
    use_effect_with(all_met, move |met| {
        if *met {
            done.emit(id);
        }
    });
}

/// Back, Next (or the next lesson), Open in the playground and Copy link
/// to this step.
fn lesson_nav(
    p: &LessonProps,
    (step, steps): (usize, usize),
    state: &LearnState,
    d: &Callback<LessonAction>,
) -> Html {
    let go = |id: &str, to: usize| {
        let (nav, id) = (p.nav.clone(), id.to_string());
        Callback::from(move |_: MouseEvent| nav.emit(Route::lesson(&id, to)))
    };
    let here = p.lesson.id.as_str();
    // A cluster's setup does not run in the playground (one broker node).
    let in_world = state.run.borrow().session().is_some();
    let next = match (step + 1 < steps, &p.next_id) {
        (true, _) => {
            html! { <button class="primary" onclick={go(here, step + 1)}>{ "Next" }</button> }
        }
        (false, Some(id)) => {
            html! { <button class="primary" onclick={go(id, 0)}>{ "Next lesson" }</button> }
        }
        (false, None) => {
            let nav = p.nav.clone();
            html! { <button class="primary" onclick={move |_| nav.emit(Route::Index)}>{ "All lessons" }</button> }
        }
    };
    // The setup is read at the click, with the choices made by then.
    let open = {
        let (open, name, run) = (
            p.open_playground.clone(),
            p.lesson.id.clone(),
            state.run.clone(),
        );
        Callback::from(move |_| open.emit((name.clone(), run.borrow().setup().to_json_pretty())))
    };
    // The link is made at the click, at the run's instant then.
    let copy = {
        let (d, hash) = (d.clone(), here_hash(p, state));
        Callback::from(move |_| {
            let url = crate::ui::share::page_url(&hash);
            d.emit(LessonAction::LinkMade(url.clone()));
            crate::ui::share::copy_to_clipboard(url, d.reform(LessonAction::LinkCopied));
        })
    };
    html! {
        <div class="lesson-nav" role="group" aria-label="Lesson steps">
            <button disabled={step == 0} onclick={go(here, step.saturating_sub(1))}>{ "Back" }</button>
            { next }
            if in_world {
                <button class="lesson-open" onclick={open}>{ "Open in the playground" }</button>
            }
            <button onclick={copy}>{ "Copy link to this step" }</button>
            if let Some((url, status)) = &state.link {
                <input class="copied-link" type="text" readonly=true value={url.clone()} aria-label="Copied link" />
                <span class="share-status" aria-live="polite">{ status }</span>
            }
        </div>
    }
}

/// This step's link; on a step that shows the run, at its instant once it
/// has moved or the learner acted, with what they did.
fn here_hash(p: &LessonProps, state: &LearnState) -> String {
    let run = state.run.borrow();
    let shows_run = matches!(run.stage(), Stage::Run | Stage::Debrief);
    let taken = run.taken();
    let moved = run.now_ms() > 0 || !taken.is_empty();
    let at_ms = (shows_run && moved).then(|| run.now_ms());
    let actions = (at_ms.is_some() && !taken.is_empty()).then(|| write_actions(taken));
    let (id, step) = (p.lesson.id.clone(), run.step());
    Route::Lesson {
        id,
        step,
        at_ms,
        actions,
    }
    .to_hash()
}

/// The steps as links (`#/learn/<lesson>/<n>`), the current one marked.
fn step_list(p: &LessonProps, step: usize, steps: usize, state: &LearnState) -> Html {
    let run = state.run.borrow();
    let intro = run.lesson().intro.len();
    let name = |n: usize| match n {
        n if n < intro => format!("Idea {}", n + 1),
        n if n == intro => "Predict".to_string(),
        n if n == intro + 1 => "Experiment".to_string(),
        _ => "Debrief".to_string(),
    };
    html! {
        <nav class="lesson-steps" aria-label="Steps of this lesson">
            <ol>
                { for (0..steps).map(|n| {
                    let href = Route::lesson(&p.lesson.id, n).to_hash();
                    let current = (n == step).then_some("step");
                    html! { <li><a {href} aria-current={current}>{ name(n) }</a></li> }
                }) }
            </ol>
        </nav>
    }
}

/// ← and → move between steps, unless the focus is in a field that uses
/// the arrows itself.
#[hook]
fn use_arrow_keys(p: &LessonProps, step: usize, steps: usize) {
    let (nav, id) = (p.nav.clone(), p.lesson.id.clone());
    use_effect_with((id, step, steps), move |(id, step, steps)| {
        let (id, step, steps) = (id.clone(), *step, *steps);
        let document = web_sys::window().and_then(|w| w.document());
        let listener = document.map(|doc| {
            gloo_events::EventListener::new(&doc, "keydown", move |event| {
                let Some(key) = event.dyn_ref::<web_sys::KeyboardEvent>() else {
                    return;
                };
                if key.ctrl_key()
                    || key.meta_key()
                    || key.alt_key()
                    || super::focus_in(key, &["INPUT", "SELECT", "TEXTAREA"])
                {
                    return;
                }
                let to = match key.key().as_str() {
                    "ArrowLeft" if step > 0 => step - 1,
                    "ArrowRight" if step + 1 < steps => step + 1,
                    _ => return,
                };
                key.prevent_default();
                nav.emit(Route::lesson(&id, to));
            })
        });
        move || drop(listener)
    });
}
