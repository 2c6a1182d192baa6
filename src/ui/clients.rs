//! The client list: every producer and consumer with its own Crash, Restart
//! and (for consumers) Slow toggle, plus the settings for the next one added.

use super::controls::NumberField;
use super::state::Action;
use crate::playground::{ConsumerSettings, ProducerSettings};
use crate::session::{ClientRow, View};
use std::collections::BTreeMap;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ClientsProps {
    pub view: Rc<View>,
    pub new_producer: ProducerSettings,
    pub new_consumer: ConsumerSettings,
    pub input_errors: BTreeMap<&'static str, String>,
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
                <ul>{ for p.view.producers.iter().map(|c| client_item(c, &p.dispatch)) }</ul>
                <div class="add">
                    <NumberField label="Rate" value={p.new_producer.rate_per_s.to_string()}
                        error={p.input_errors.get("Rate").cloned()} onchange={setting("Rate")} />
                    <button onclick={send(Action::AddProducer)}>{ "Add producer" }</button>
                </div>
            </div>
            <div class="client-column">
                <h2>{ "Consumers" }</h2>
                <ul>{ for p.view.consumers.iter().map(|c| client_item(c, &p.dispatch)) }</ul>
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

fn client_item(c: &ClientRow, dispatch: &Callback<Action>) -> Html {
    let id = c.id.clone();
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
            <span class="client-state">
                { if c.alive { "running" } else { "crashed" } }
                if c.slow { { " · slow" } }
            </span>
            <span class="client-count">{ format!("{} {what}", c.count) }
                if !c.is_producer { { format!(" · {} in hand", c.in_hand) } }
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
            </span>
        </li>
    }
}
