//! The Compare page (`#/compare`): one scenario, seed and fault schedule
//! under two settings, in two panes on one clock. Each pane is the
//! playground's own counters and findings ([`Figures`]); between them, the
//! row of what differs. The state is [`state::CompareState`]; this file
//! only draws it and forwards clicks.

pub mod state;

use crate::app::compare::{Diff, Pair};
use crate::app::playground::Setup;
use crate::app::share::LiveAction;
use crate::ui::figures::Figures;
use crate::ui::topology::format_ms;
use state::{CompareAction, CompareState, STEP_MS};
use std::rc::Rc;
use yew::prelude::*;

/// The comparison's name, as its button says it.
fn pair_name(pair: Pair) -> String {
    let [left, right] = pair.sides();
    format!("{left} vs {right}")
}

/// What the Compare page may be given.
#[derive(Properties, PartialEq, Default)]
pub struct CompareProps {
    /// The setup both panes start from (the frame benchmark's 20 clients);
    /// none for each comparison's own.
    #[prop_or_default]
    pub base: Option<Rc<Setup>>,
}

/// The Compare page.
#[function_component(ComparePage)]
pub fn compare_page(props: &CompareProps) -> Html {
    let base = props.base.clone();
    let state = use_reducer(|| CompareState::new(Pair::Guarantee, base, super::wall_clock()));
    let d = {
        let d = state.dispatcher();
        Callback::from(move |a: CompareAction| d.dispatch(a))
    };
    let frames = d.reform(|wall_ms| CompareAction::Frame { wall_ms });
    super::use_frame_loop(state.playing, frames);
    let sides = state.pair.sides();
    let alert = match &state.runs {
        Err(why) => Some(why.clone()),
        Ok(_) => state.refused.clone(),
    };
    let panes = state.views.as_ref().map(|views| {
        let focus = d.reform(|a| match a {
            crate::ui::state::Action::Focus(msg) => CompareAction::Focus(msg),
            _ => CompareAction::Focus(None),
        });
        html! {
            <div class="crash-sides">
                { for views.iter().zip(sides).map(|(view, side)| html! {
                    <section class="crash-side" aria-label={side}>
                        <h3>{ side }</h3>
                        <Figures view={view.clone()} dispatch={focus.clone()} pane={side} />
                    </section>
                }) }
            </div>
        }
    });
    html! {
        <section class="compare" aria-labelledby="compare-heading">
            <h2 id="compare-heading">{ "Compare" }</h2>
            <p class="lesson-text">{ "One setup, one seed, one clock: the two panes differ in one setting only. A fault you inject goes to both at the same instant." }</p>
            <div class="choices" role="group" aria-label="What to compare">
                { for Pair::ALL.iter().map(|&pair| html! {
                    <button class="choice" aria-pressed={(pair == state.pair).to_string()}
                        onclick={d.reform(move |_| CompareAction::Choose(pair))}>{ pair_name(pair) }</button>
                }) }
            </div>
            { run_bar(&state, &d) }
            if let Some(why) = alert {
                <p class="notice" role="alert">{ why }</p>
            }
            { diff_row(&state.diff, sides) }
            { panes.unwrap_or_default() }
        </section>
    }
}

/// Run, Step, Reset and the clock; then the faults that go to both panes.
fn run_bar(state: &CompareState, d: &Callback<CompareAction>) -> Html {
    let (now_ms, end_ms) = state.clock_ms();
    let done = now_ms >= end_ms;
    let act = |a: LiveAction| d.reform(move |_| CompareAction::Act(a.clone()));
    html! {
        <>
        <div class="lesson-run-bar" role="group" aria-label="Run both">
            <button class="primary" disabled={done} onclick={d.reform(|_| CompareAction::TogglePlay)}>
                { if state.playing { "Pause" } else { "Run" } }
            </button>
            <button disabled={done} onclick={d.reform(|_| CompareAction::Step)}>{ format!("Step {} s", STEP_MS / 1000) }</button>
            <button onclick={d.reform(|_| CompareAction::Reset)}>{ "Reset" }</button>
            <span class="lesson-clock" aria-label="Virtual time">{ format!("t = {}", format_ms(now_ms)) }</span>
        </div>
        <div class="lesson-run-bar" role="group" aria-label="Faults, to both panes">
            <button onclick={act(LiveAction::DropAcks)}>{ "Drop confirms" }</button>
            <button class="danger" onclick={act(LiveAction::CrashBroker)}>{ "Crash broker" }</button>
            <button onclick={act(LiveAction::RestartBroker)}>{ "Restart broker" }</button>
        </div>
        </>
    }
}

/// The counters that differ, and the findings only one side has.
fn diff_row(diff: &Diff, [left, right]: [&str; 2]) -> Html {
    let only = |side: &str, kinds: &[&str]| {
        (!kinds.is_empty()).then(|| {
            html! {
                <p>{ format!("Findings only {side} has: {}", kinds.join(", ")) }</p>
            }
        })
    };
    html! {
        <section class="compare-diff" aria-label="What differs">
            if diff.counts.is_empty() && diff.only_left.is_empty() && diff.only_right.is_empty() {
                <p class="quiet">{ "Nothing differs yet." }</p>
            } else {
                <table class="settings">
                    <thead><tr><th scope="col">{ "Counter" }</th><th scope="col">{ left }</th><th scope="col">{ right }</th></tr></thead>
                    <tbody>
                        { for diff.counts.iter().map(|c| html! {
                            <tr><th scope="row"><code>{ &c.name }</code></th><td>{ c.left }</td><td>{ c.right }</td></tr>
                        }) }
                    </tbody>
                </table>
                { only(left, &diff.only_left).unwrap_or_default() }
                { only(right, &diff.only_right).unwrap_or_default() }
            }
        </section>
    }
}
