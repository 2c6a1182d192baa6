//! The live counters, the checker's verdict for the chosen guarantee, the
//! findings, and the story of one message when a finding is clicked.

use super::state::Action;
use super::topology::format_ms;
use crate::app::session::{EventRow, View};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct FiguresProps {
    pub view: Rc<View>,
    /// Story rows show their raw fields under the sentence (the event
    /// log's switch; off where there is no log, as in a lesson).
    #[prop_or_default]
    pub raw_fields: bool,
    pub dispatch: Callback<Action>,
    /// The pane's name where two panes show on one page (Compare): each
    /// region's name ends with it ("Findings, at least once"), so no two
    /// regions of the page share a name.
    #[prop_or_default]
    pub pane: Option<AttrValue>,
}

#[function_component(Figures)]
pub fn figures(p: &FiguresProps) -> Html {
    let v = &p.view;
    let c = &v.counts;
    let named = |what: &str| match &p.pane {
        Some(pane) => format!("{what}, {pane}"),
        None => what.to_string(),
    };
    // (label, value, what it means): the labels are the page's contract with tests.
    let counters: [(&str, u64, &str); 9] = [
        ("Published", c.published, "distinct messages producers sent"),
        ("Confirmed", c.confirmed, "publishes the broker confirmed"),
        (
            "Delivered",
            c.deliveries,
            "deliveries to consumers, redeliveries included",
        ),
        (
            "Processed",
            c.processed,
            "distinct messages whose effect was applied",
        ),
        (
            "Lost",
            c.lost + c.transient_lost,
            "confirmed, yet gone for good: never processed and nowhere to be found (transient messages a broker crash took included: the findings call those transient_lost, the loss RabbitMQ promises for them)",
        ),
        (
            "Duplicated",
            c.duplicated,
            "messages whose effect was applied more than once",
        ),
        (
            "Out of order",
            c.out_of_order,
            "processed before an earlier message of the same producer",
        ),
        (
            "Redelivered",
            c.redeliveries,
            "deliveries flagged redelivered",
        ),
        (
            "In flight",
            c.pending,
            "in the broker, on the wire or in a consumer's hands",
        ),
    ];
    let verdict_class = match &v.verdict {
        Some(verdict) if verdict.holds => "verdict holds",
        Some(_) => "verdict violated",
        None => "verdict",
    };
    let verdict_text = v.verdict.as_ref().map_or_else(
        || {
            format!(
                "{}: the scenario's own expectations are checked",
                v.source_name
            )
        },
        |verdict| verdict.text.clone(),
    );
    html! {
        <div class="figures">
            if !v.description.is_empty() {
                <p class="about">
                    <strong>{ format!("{}: ", v.source_name) }</strong>{ &v.description }
                </p>
            }
            <p class={verdict_class} role="status" aria-live="polite">{ verdict_text }</p>
            <dl class="counters">
                { for counters.iter().map(|(label, value, meaning)| html! {
                    <div class="counter" title={*meaning}>
                        <dt>{ *label }</dt>
                        <dd>{ value }</dd>
                    </div>
                }) }
            </dl>
            if let Some(crash) = &v.last_crash {
                <section class="crash-report" aria-label={named("Last broker crash")}>
                    <h2>{ "Last broker crash" }</h2>
                    <p>{ crash.text() }</p>
                </section>
            }
            { findings(v, &named("Findings"), &p.dispatch) }
            if let Some(msg) = &v.focus_msg {
                { chain(msg, &named(&format!("Story of {msg}")), &v.chain, p.raw_fields, &p.dispatch) }
            }
        </div>
    }
}

fn findings(v: &View, name: &str, dispatch: &Callback<Action>) -> Html {
    if v.findings.is_empty() {
        return html! { <p class="quiet">{ "No findings yet." }</p> };
    }
    html! {
        <section class="findings" aria-label={name.to_string()}>
            <h2>{ "Findings" }</h2>
            <ul>
                { for v.findings.iter().map(|f| {
                    // "Show me": its first message, or its kind for a
                    // finding about no message (see `Session::finding_for`).
                    let key = f.msgs.first().cloned().unwrap_or_else(|| f.kind.to_string());
                    let pressed = v.focus_msg.as_ref() == Some(&key);
                    let onclick = dispatch.reform(move |_| Action::Focus(Some(key.clone())));
                    html! {
                        <li>
                            <button class={classes!("finding", f.kind)} {onclick}
                                title="Show me: its causal chain, from its first event"
                                aria-label={finding_name(f.kind, &f.msgs, f.time_ms)}
                                aria-pressed={pressed.to_string()}>
                                // Spaces between the words, so the text reads as
                                // the name says (not "lost-writem77").
                                <span class="kind">{ f.kind }</span>{ " " }
                                <span class="ids">{ f.msgs.join(", ") }</span>{ " " }
                                <span class="time">{ format!("at {}", format_ms(f.time_ms)) }</span>
                            </button>
                            <p class="explain">{ &f.explanation }</p>
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}

/// A finding button's name: its visible words in order ("lost m40 at 16.160 s"),
/// so speech input can say what it sees. A finding about offsets rather
/// than messages (a resumed log's `lost`) has no ids.
fn finding_name(kind: &str, msgs: &[String], time_ms: u64) -> String {
    let mut words = vec![kind.to_string()];
    if !msgs.is_empty() {
        words.push(msgs.join(", "));
    }
    words.push(format!("at {}", format_ms(time_ms)));
    words.join(" ")
}

fn chain(msg: &str, name: &str, rows: &[EventRow], raw: bool, dispatch: &Callback<Action>) -> Html {
    html! {
        <section class="chain" aria-label={name.to_string()}>
            <h2>{ format!("Story of {msg}") }</h2>
            <button onclick={dispatch.reform(|_| Action::Focus(None))}>{ "Close story" }</button>
            <ol>{ for rows.iter().enumerate().map(|(i, r)| row_item(r, raw, i == 0)) }</ol>
        </section>
    }
}

/// One event as a list item: its time and its sentence, and with `raw` its
/// JSON line underneath. Used by the log as well. Both are text nodes: a
/// name from a scenario file never becomes markup.
pub fn event_row(r: &EventRow, raw: bool) -> Html {
    row_item(r, raw, false)
}

/// [`event_row`], marked as where a story starts when `first` (its first
/// event: highlighted, and `aria-current` for a screen reader).
fn row_item(r: &EventRow, raw: bool, first: bool) -> Html {
    html! {
        <li key={r.index} class={first.then_some("first")} aria-current={first.then_some("step")}>
            <span class="t">{ format_ms(r.time_ms) }</span>
            <span class="what">{ &r.text }</span>
            if raw {
                <code class="raw">{ &r.raw }</code>
            }
        </li>
    }
}
