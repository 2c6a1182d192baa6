//! The chart of throughput and backlog over virtual time, and the log of the
//! most recent events (a bounded window: the newest rows only).

use super::figures::event_row;
use super::state::Action;
use crate::app::session::{throughput_per_s, Sample, View};
use std::rc::Rc;
use yew::prelude::*;

const CHART_W: f64 = 400.0;
const CHART_H: f64 = 110.0;

#[derive(Properties, PartialEq)]
pub struct TimelineProps {
    pub view: Rc<View>,
}

#[derive(Properties, PartialEq)]
pub struct EventLogProps {
    pub view: Rc<View>,
    /// Each row shows its raw fields under its sentence.
    pub raw_fields: bool,
    pub dispatch: Callback<Action>,
}

/// The newest events as sentences, with a switch for their raw fields. The
/// list scrolls, so it takes the keyboard focus too.
#[function_component(EventLog)]
pub fn event_log(p: &EventLogProps) -> Html {
    let raw = p.raw_fields;
    html! {
        <section class="events" aria-label="Event log">
            <div class="log-head">
                <h2>{ "Event log (newest first)" }</h2>
                <label class="switch">
                    <input type="checkbox" checked={raw}
                        onchange={p.dispatch.reform(|_| Action::ToggleRawFields)} />
                    <span>{ "Raw fields" }</span>
                </label>
            </div>
            <ol class="log" tabindex="0" aria-label="Events, newest first">
                { for p.view.events.iter().map(|r| event_row(r, raw)) }
            </ol>
        </section>
    }
}

#[function_component(Chart)]
pub fn chart_panel(p: &TimelineProps) -> Html {
    chart(&p.view.samples)
}

/// Processed messages per second (see [`throughput_per_s`]) and the
/// broker's backlog, each scaled to its own maximum.
fn chart(samples: &[Sample]) -> Html {
    let throughput = throughput_per_s(samples);
    let backlog: Vec<u64> = samples.iter().skip(1).map(|s| s.backlog).collect();
    let last = |xs: &[u64]| xs.last().copied().unwrap_or(0);
    html! {
        <figure class="chart">
            <svg viewBox={format!("0 0 {CHART_W} {CHART_H}")} role="img"
                aria-label={format!("Throughput {} per second, backlog {}", last(&throughput), last(&backlog))}>
                <polyline class="throughput" points={points(&throughput)} />
                <polyline class="backlog" points={points(&backlog)} />
            </svg>
            <figcaption>
                <span class="key throughput">{ format!("throughput {}/s", last(&throughput)) }</span>
                <span class="key backlog">{ format!("backlog {}", last(&backlog)) }</span>
                <span>{ " over the last 24 s of virtual time" }</span>
            </figcaption>
        </figure>
    }
}

fn points(values: &[u64]) -> String {
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = CHART_W / (crate::app::session::SAMPLES_MAX as f64 - 1.0);
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                CHART_H - 4.0 - (*v as f64 / max) * (CHART_H - 8.0)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}
