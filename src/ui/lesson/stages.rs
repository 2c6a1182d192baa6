//! What each step of a lesson shows: an idea with its picture, the
//! prediction, the experiment (controls, checklist, hints, outcome) and the
//! debrief with the real brokers' settings.

use super::controls::{lesson_controls, run_bar};
use super::pictures::picture;
use super::state::{LearnState, LessonAction};
use crate::app::learn::Route;
use crate::app::lesson::{GoalStatus, GoalView, LessonRun, Outcome, Pick, Stage};
use crate::ui::topology::format_ms;
use yew::prelude::*;

/// The step's text and controls.
pub fn body(
    run: &LessonRun,
    state: &LearnState,
    d: &Callback<LessonAction>,
    nav: &Callback<Route>,
) -> Html {
    let lesson = run.lesson();
    match run.stage() {
        Stage::Intro(n) => {
            let step = &lesson.intro[n];
            html! { <>
                if n == 0 {
                    <p class="concept"><strong>{ "The idea: " }</strong>{ &lesson.concept }</p>
                }
                <p class="lesson-text">{ &step.text }</p>
                { step.picture.map(picture).unwrap_or_default() }
            </> }
        }
        Stage::Predict => predict(run, d),
        Stage::Run => experiment(run, state, d, nav),
        Stage::Debrief => debrief(run),
    }
}

fn predict(run: &LessonRun, d: &Callback<LessonAction>) -> Html {
    let p = &run.lesson().prediction;
    let locked = run.started();
    html! {
        <div class="predict">
            <h3>{ "Predict" }</h3>
            <p class="lesson-text">{ &p.question }</p>
            <div class="choices" role="group" aria-label="Your prediction">
                { for p.choices.iter().enumerate().map(|(i, c)| {
                    let pressed = run.picked() == Some(Pick::Choice(i));
                    html! {
                        <button class="choice" aria-pressed={pressed.to_string()} disabled={locked}
                            onclick={d.reform(move |_| LessonAction::Predict(i))}>{ &c.text }</button>
                    }
                }) }
                <button class="choice skip" disabled={locked}
                    aria-pressed={(run.picked() == Some(Pick::Skipped)).to_string()}
                    onclick={d.reform(|_| LessonAction::SkipPrediction)}>{ "Skip the prediction" }</button>
            </div>
            <p class="quiet" role="status">{ match (run.picked(), locked) {
                (_, true) => "The run has started: your prediction is locked. Reset the experiment to answer again.".to_string(),
                (None, _) => "Pick the answer you expect, or skip. Then go on to the experiment.".to_string(),
                (Some(Pick::Skipped), _) => "Skipped. The experiment is open.".to_string(),
                (Some(Pick::Choice(i)), _) => format!("Your prediction: {} The experiment is open.", p.choices[i].text),
            } }</p>
        </div>
    }
}

fn experiment(
    run: &LessonRun,
    state: &LearnState,
    d: &Callback<LessonAction>,
    nav: &Callback<Route>,
) -> Html {
    let gate = if run.can_run() {
        Html::default()
    } else {
        let nav = nav.clone();
        let to = Route::lesson(&run.lesson().id, run.lesson().intro.len());
        html! {
            <p class="lesson-gate">
                { "Run is disabled until you answer the prediction (or skip it). " }
                <button onclick={move |_| nav.emit(to.clone())}>{ "Go to the prediction" }</button>
            </p>
        }
    };
    html! {
        <div class="experiment">
            <h3>{ "The experiment" }</h3>
            { gate }
            { run_bar(run, state.playing, state.speed_index, d) }
            { lesson_controls(run, &state.view, d) }
            if let Some(why) = &state.refused {
                <p class="notice" role="alert">{ why }</p>
            }
            { goals(&state.goals, &state.announce) }
            { hints(run, d) }
            { run.outcome().map(|o| outcome(run, &o, true)).unwrap_or_default() }
        </div>
    }
}

/// The checklist; a polite live region says each line that changes.
fn goals(goals: &[GoalView], announce: &str) -> Html {
    html! {
        <section class="goals" aria-labelledby="goals-heading">
            <h4 id="goals-heading">{ "Goals" }</h4>
            <ul>
                { for goals.iter().map(|g| {
                    let (mark, word) = match g.status {
                        GoalStatus::Met => ("✓", "met"),
                        GoalStatus::Failed => ("✗", "missed"),
                        GoalStatus::Holding => ("…", "holding so far"),
                        GoalStatus::Pending => ("○", "not yet"),
                    };
                    let when = g.at_ms.map(|t| format!(" at t = {}", format_ms(t))).unwrap_or_default();
                    html! {
                        <li class={classes!("goal", word.replace(' ', "-"))}>
                            <span class="goal-mark" aria-hidden="true">{ mark }</span>
                            <span class="goal-text">{ &g.text }</span>
                            <span class="goal-state">{ format!("{word}{when} · now {}", g.value) }</span>
                        </li>
                    }
                }) }
            </ul>
            <p class="visually-hidden" role="status" aria-live="polite">{ announce }</p>
        </section>
    }
}

fn hints(run: &LessonRun, d: &Callback<LessonAction>) -> Html {
    let (shown, total) = (run.hints_shown().len(), run.lesson().hints.len());
    html! {
        <section class="hints" aria-label="Hints">
            <button disabled={shown == total} onclick={d.reform(|_| LessonAction::Hint)}>
                { if shown == total { "No more hints".to_string() } else { format!("Show a hint ({} of {total})", shown + 1) } }
            </button>
            <ol aria-live="polite">{ for run.hints_shown().iter().map(|h| html! { <li>{ h }</li> }) }</ol>
        </section>
    }
}

/// The prediction against what the checker saw, pointing at the moment;
/// on the experiment step (`then`) also what to do next.
fn outcome(run: &LessonRun, o: &Outcome, then: bool) -> Html {
    let choices = &run.lesson().prediction.choices;
    let saw = (o.true_choices.iter()).map(|&i| choices[i].text.trim_end_matches('.'));
    let saw = saw.collect::<Vec<_>>().join(" / ");
    let predicted = match o.picked {
        Pick::Choice(i) => format!("You predicted: {}", choices[i].text),
        Pick::Skipped => "You skipped the prediction.".to_string(),
    };
    let verdict = match o.right() {
        Some(true) => "Your prediction was right.",
        Some(false) => "Not what you predicted: that is what experiments are for. Read on.",
        None => "",
    };
    let when = o.at_ms.map_or_else(
        || " That held for the whole run, so there is no one moment to point at.".to_string(),
        |t| format!(" It happened at t = {}.", format_ms(t)),
    );
    html! {
        <section class="outcome" aria-label="Outcome" role="status">
            <p>{ predicted }</p>
            <p>{ format!("The checker saw: {saw}.{when}") }</p>
            <p><strong>{ verdict }</strong></p>
            if then {
                if run.all_goals_met() {
                    <p class="good">{ "Every goal is met. Next: the debrief." }</p>
                } else {
                    <p>{ "Not every goal is met: reset and try again, or read a hint." }</p>
                }
            }
        </section>
    }
}

fn debrief(run: &LessonRun) -> Html {
    let b = &run.lesson().debrief;
    html! {
        <div class="debrief">
            <h3>{ "Debrief" }</h3>
            { run.outcome().map(|o| outcome(run, &o, false)).unwrap_or_default() }
            { for b.text.iter().map(|t| html! { <p class="lesson-text">{ t }</p> }) }
            <table class="settings">
                <caption>{ "The real brokers' settings involved" }</caption>
                <thead><tr><th scope="col">{ "Setting" }</th><th scope="col">{ "Broker" }</th><th scope="col">{ "What it does" }</th></tr></thead>
                <tbody>
                    { for b.settings.iter().map(|s| html! {
                        <tr><th scope="row"><code>{ &s.name }</code></th><td>{ &s.broker }</td><td>{ &s.meaning }</td></tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}

/// The run's picture and counters: the playground's own components, or a
/// cluster's brokers and verdict as the cluster page draws them (its
/// buttons are the lesson's controls).
pub fn lab(state: &LearnState, d: &Callback<LessonAction>) -> Html {
    if let Some(cluster) = &state.cluster {
        return html! {
            <section class="lesson-lab" aria-label="The run">
                { crate::ui::cluster::drawing(cluster, |_| Html::default()) }
            </section>
        };
    }
    let focus = d.reform(|a| match a {
        crate::ui::state::Action::Focus(msg) => LessonAction::Focus(msg),
        _ => LessonAction::Focus(None),
    });
    html! {
        <section class="lesson-lab" aria-label="The run">
            <crate::ui::topology::Topology view={state.view.clone()} />
            <crate::ui::figures::Figures view={state.view.clone()} dispatch={focus} />
        </section>
    }
}
