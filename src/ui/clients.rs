//! The client list: every producer and consumer with its own Crash, Restart
//! and (for consumers) Slow toggle, a Settings row to change it while the
//! run goes on (rate and keys; processing time, prefetch and ack mode), plus
//! the settings for the next one added. The reducer checks every value; this
//! only renders and sends the raw text.

use super::controls::{dom_id, target_value, NumberField};
use super::state::Action;
use crate::app::playground::{ConsumerSettings, ProducerSettings};
use crate::app::session::{ClientRow, View};
use crate::config::{AckMode, CommitMode, ProcessingSpec};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ClientsProps {
    pub view: Rc<View>,
    pub new_producer: ProducerSettings,
    pub new_consumer: ConsumerSettings,
    pub input_errors: BTreeMap<&'static str, String>,
    pub settings_open: BTreeSet<String>,
    pub client_errors: BTreeMap<(String, &'static str), String>,
    pub dispatch: Callback<Action>,
}

#[function_component(Clients)]
pub fn clients(p: &ClientsProps) -> Html {
    let send = |a: Action| {
        let d = p.dispatch.clone();
        Callback::from(move |_| d.emit(a.clone()))
    };
    let setting = |field: &'static str| {
        p.dispatch
            .reform(move |text: String| Action::SetNewClient { field, text })
    };
    html! {
        <div class="clients">
            <div class="client-column">
                <h2>{ "Producers" }</h2>
                <ul>{ for p.view.producers.iter().map(|c| client_item(c, p)) }</ul>
                <div class="add">
                    <NumberField label="Rate" value={p.new_producer.rate_per_s.to_string()}
                        error={p.input_errors.get("Rate").cloned()} onchange={setting("Rate")} />
                    <button onclick={send(Action::AddProducer)}>{ "Add producer" }</button>
                </div>
            </div>
            <div class="client-column">
                <h2>{ "Consumers" }</h2>
                <ul>{ for p.view.consumers.iter().map(|c| client_item(c, p)) }</ul>
                <div class="add">
                    <NumberField label="Processing time" value={p.new_consumer.processing_ms.to_string()}
                        error={p.input_errors.get("Processing time").cloned()}
                        onchange={setting("Processing time")} />
                    <NumberField label="Prefetch" value={p.new_consumer.prefetch.to_string()}
                        error={p.input_errors.get("Prefetch").cloned()} onchange={setting("Prefetch")} />
                    <button onclick={send(Action::AddConsumer)}>{ "Add consumer" }</button>
                </div>
            </div>
        </div>
    }
}

fn client_item(c: &ClientRow, p: &ClientsProps) -> Html {
    let dispatch = &p.dispatch;
    let id = c.id.clone();
    let open = p.settings_open.contains(&c.id);
    let act = |make: fn(String) -> Action| {
        let d = dispatch.clone();
        let id = id.clone();
        Callback::from(move |_| d.emit(make(id.clone())))
    };
    let what = if c.is_producer {
        "published"
    } else {
        "processed"
    };
    html! {
        <li class={classes!("client", (!c.alive).then_some("dead"))} key={c.id.clone()}>
            <span class="client-id" title={c.id.clone()}>{ &c.id }</span>
            <span class="client-info">
                <span class="client-state">
                    { if c.alive { "running" } else { "crashed" } }
                    if c.slow { { " · slow" } }
                </span>
                <span class="client-count">{ format!("{} {what}", c.count) }
                    if !c.is_producer { { format!(" · {} in hand", c.in_hand) } }
                </span>
            </span>
            <span class="client-actions">
                if c.alive {
                    <button aria-label={format!("Crash {id}")} onclick={act(Action::CrashClient)}>{ "Crash" }</button>
                } else {
                    <button aria-label={format!("Restart {id}")} onclick={act(Action::RestartClient)}>{ "Restart" }</button>
                }
                if !c.is_producer {
                    <button aria-label={format!("Slow {id}")} aria-pressed={c.slow.to_string()}
                        onclick={act(Action::ToggleSlow)}>{ "Slow" }</button>
                }
                <button aria-label={format!("Settings for {id}")} aria-expanded={open.to_string()}
                    aria-controls={format!("settings-{}", dom_id(&id))}
                    onclick={act(Action::ToggleSettings)}>{ "Settings" }</button>
            </span>
            if open { { settings_row(c, p) } }
        </li>
    }
}

/// The open settings row of one client: labelled fields named after the
/// client ("Prefetch for c1"), each with its inline error.
fn settings_row(c: &ClientRow, p: &ClientsProps) -> Html {
    let field = |field: &'static str, label: String, caption: &'static str, value: String| {
        let id = c.id.clone();
        let onchange = p
            .dispatch
            .reform(move |text: String| Action::SetClientSetting {
                id: id.clone(),
                field,
                text,
            });
        // The message says what is wrong and that the last good value stays.
        let error = p
            .client_errors
            .get(&(c.id.clone(), field))
            .map(|e| format!("{e}; still {value}"));
        html! {
            <NumberField label={label} caption={AttrValue::from(caption)} {value} {error} {onchange} />
        }
    };
    let s = c.settings;
    let id = &c.id;
    html! {
        <div class="client-settings" id={format!("settings-{}", dom_id(id))}
            role="group" aria-label={format!("Settings of {id}")}>
            if let Some(rate) = s.rate_per_s {
                { field("Rate", format!("Rate (msgs/s) for {id}"), "Rate (msgs/s)", rate.to_string()) }
            }
            if let Some(keys) = s.keys {
                { field("Keys", format!("Keys for {id}"), "Keys (0 = none)", keys.to_string()) }
            }
            if let Some(ProcessingSpec::FixedMs(ms)) = s.processing {
                { field("Processing time", format!("Processing time (ms) for {id}"), "Processing (ms)", ms.to_string()) }
            }
            if let Some(ProcessingSpec::UniformMs { min, max }) = s.processing {
                <span class="field-note">{ format!("Processing {min}–{max} ms (uniform, from the file)") }</span>
            }
            if let Some(n) = s.prefetch {
                { field("Prefetch", format!("Prefetch for {id}"),
                    if s.commit.is_some() || s.ack_mode.is_none() { "max.poll.records" } else { "Prefetch" },
                    n.to_string()) }
            }
            { ack_mode_field(c, p) }
        </div>
    }
}

/// The ack (queue) or commit (log) mode: a select where it may change,
/// otherwise the mode and why it is fixed.
fn ack_mode_field(c: &ClientRow, p: &ClientsProps) -> Html {
    let id = &c.id;
    let label = format!("Ack mode for {id}");
    let note_id = format!("ack-note-{}", dom_id(id));
    let (mode, choosable) = match (c.settings.ack_mode, c.settings.commit) {
        (Some(AckMode::Auto), _) => ("auto (no_ack)", false),
        (Some(AckMode::BeforeProcessing), _) => ("ack before processing", true),
        (Some(AckMode::AfterProcessing), _) => ("ack after processing", true),
        (None, Some(CommitMode::BeforeProcessing)) => ("commit before processing", false),
        (None, Some(CommitMode::AfterProcessing)) => ("commit after processing", false),
        (None, None) => return html! {},
    };
    let why = if !choosable {
        Some(match c.settings.ack_mode {
            Some(_) => "no_ack is a basic.consume flag: it is set when the consumer subscribes."
                .to_string(),
            None => "A log consumer's commit mode is set when it starts.".to_string(),
        })
    } else {
        p.view.ack_mode_locked.clone()
    };
    let error = p.client_errors.get(&(id.clone(), "Ack mode")).cloned();
    let onchange = {
        let (d, id) = (p.dispatch.clone(), id.clone());
        Callback::from(move |e: Event| {
            if let Some(text) = target_value(&e) {
                d.emit(Action::SetClientSetting {
                    id: id.clone(),
                    field: "Ack mode",
                    text,
                });
            }
        })
    };
    let before = c.settings.ack_mode == Some(AckMode::BeforeProcessing);
    html! {
        <div class="field ack-mode">
            <span>{ "Ack mode" }</span>
            if why.is_none() {
                <select aria-label={label} {onchange}>
                    <option value="before_processing" selected={before}>{ "ack before processing" }</option>
                    <option value="after_processing" selected={!before}>{ "ack after processing" }</option>
                </select>
            } else {
                <select aria-label={label} disabled=true aria-describedby={note_id.clone()}>
                    <option selected=true>{ mode }</option>
                </select>
                <span class="field-note" id={note_id}>{ why.unwrap_or_default() }</span>
            }
            if let Some(e) = error { <span class="error" role="alert">{ e }</span> }
        </div>
    }
}
