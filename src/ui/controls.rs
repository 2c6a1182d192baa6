//! The toolbar: what system to build, how to run it, how to break it, and
//! which scenario to load or export.

use super::state::{Action, SPEEDS};
use super::SimHandle;
use crate::app::playground::{BrokerKind, Setup};
use crate::config::Guarantee;
use crate::guarantee::Unavailable;
use std::collections::BTreeMap;
use wasm_bindgen::JsCast;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    pub setup: Setup,
    pub playing: bool,
    pub speed_index: usize,
    pub broker_up: bool,
    /// A log broker: its disk can tear a write, so the torn crash is offered.
    pub broker_durable: bool,
    /// "waiting for the disk: N commits/s, …" while IndexedDB sets the pace.
    pub disk_pace: Option<String>,
    pub input_errors: BTreeMap<&'static str, String>,
    pub dispatch: Callback<Action>,
}

#[function_component(Controls)]
pub fn controls(p: &ControlsProps) -> Html {
    let send = |a: Action| {
        let d = p.dispatch.clone();
        Callback::from(move |_| d.emit(a.clone()))
    };
    html! {
        <section class="toolbar" aria-label="Controls">
            <fieldset class="group" aria-label="System">
                { broker_select(p) }
                { delivery_select(p) }
                <NumberField label="Partitions" value={p.setup.partitions.to_string()}
                    error={p.input_errors.get("Partitions").cloned()}
                    onchange={p.dispatch.reform(Action::SetPartitions)} />
                <NumberField label="Seed" value={p.setup.seed.to_string()}
                    error={p.input_errors.get("Seed").cloned()}
                    onchange={p.dispatch.reform(Action::SetSeed)} />
                if p.setup.broker == BrokerKind::Queue {
                    { durability_switches(p) }
                }
            </fieldset>
            <fieldset class="group" aria-label="Run">
                if p.playing {
                    <button class="primary" onclick={send(Action::Pause)}>{ "Pause" }</button>
                } else {
                    <button class="primary" onclick={send(Action::Play)}>{ "Play" }</button>
                }
                <button onclick={send(Action::Step)}>{ "Step" }</button>
                <button onclick={send(Action::FastForward)}>{ "Fast-forward" }</button>
                <button onclick={send(Action::Reset)}>{ "Reset" }</button>
                { speed_select(p) }
                if let Some(pace) = &p.disk_pace {
                    <span class="disk-pace" role="status">{ pace.clone() }</span>
                }
            </fieldset>
            <fieldset class="group" aria-label="Faults">
                <button class="danger" disabled={!p.broker_up} onclick={send(Action::CrashBroker)}>{ "Crash broker" }</button>
                if p.broker_durable {
                    <button class="danger" disabled={!p.broker_up} onclick={send(Action::CrashBrokerTorn)}
                        title="Crash while the disk writes a group commit: the batch in flight lands cut short, and the restart's recovery truncates the log there">
                        { "Crash broker (tear the last write)" }
                    </button>
                }
                <button disabled={p.broker_up} onclick={send(Action::RestartBroker)}>{ "Restart broker" }</button>
                <button onclick={send(Action::DropAcks)}
                    title="Drop every publisher confirm for 2 s of virtual time: producers time out and publish again">{ "Drop acks" }</button>
            </fieldset>
            <ScenarioMenu dispatch={p.dispatch.clone()} />
        </section>
    }
}

/// The broker picker, and beside it what the chosen broker simplifies.
fn broker_select(p: &ControlsProps) -> Html {
    let choice = Choice {
        label: "Broker",
        all: &BrokerKind::ALL,
        name: BrokerKind::label,
        unavailable: &|_| None,
        action: Action::SetBroker,
    };
    let broker = p.setup.broker;
    let simplifications = broker.simplifications();
    html! {
        <>
            { choice.render(broker, p) }
            if !simplifications.is_empty() {
                <details class="simplifications">
                    <summary>{ format!("How the {} differs from the real broker", broker.label().to_lowercase()) }</summary>
                    <ul>{ for simplifications.iter().map(|s| html! { <li>{ *s }</li> }) }</ul>
                </details>
            }
        </>
    }
}

/// The queue broker's two durability settings. RabbitMQ keeps a message
/// across a restart only when both hold: the queue is durable and the
/// message persistent. In the page the restart is also a reload.
fn durability_switches(p: &ControlsProps) -> Html {
    let switch = |label: &'static str, on: bool, title: &'static str, action: Action| {
        html! {
            <label class="switch" {title}>
                <input type="checkbox" checked={on} onchange={p.dispatch.reform(move |_| action.clone())} />
                <span>{ label }</span>
            </label>
        }
    };
    html! {
        <>
            { switch("Durable queues", p.setup.durable_queues,
                "Declare every queue durable: it keeps its persistent messages across a broker restart, and here across a reload (IndexedDB is its disk)",
                Action::ToggleDurableQueues) }
            { switch("Persistent messages", p.setup.persistent,
                "Publish with delivery_mode=2: a durable queue writes the message to disk and confirms it only once it is there",
                Action::TogglePersistent) }
        </>
    }
}

/// Which guarantees can run depends on the broker: transactions are a
/// log-broker feature.
fn delivery_select(p: &ControlsProps) -> Html {
    let broker = p.setup.broker;
    let choice = Choice {
        label: "Delivery",
        all: &Guarantee::ALL,
        name: Guarantee::label,
        unavailable: &move |d: Guarantee| broker.unavailable(d),
        action: Action::SetDelivery,
    };
    choice.render(p.setup.delivery, p)
}

/// A setting picked from a fixed list (Broker, Delivery).
struct Choice<'a, T: 'static> {
    label: &'static str,
    all: &'static [T],
    name: fn(T) -> &'static str,
    unavailable: &'a dyn Fn(T) -> Option<Unavailable>,
    action: fn(T) -> Action,
}

impl<T: Copy + PartialEq + 'static> Choice<'_, T> {
    fn render(self, current: T, p: &ControlsProps) -> Html {
        let options = self
            .all
            .iter()
            .map(|t| ((self.name)(*t), (self.unavailable)(*t), *t == current))
            .collect();
        let dispatch = p.dispatch.clone();
        let Choice {
            all, name, action, ..
        } = self;
        let onchange = Callback::from(move |picked: String| {
            if let Some(t) = all.iter().find(|t| name(**t) == picked) {
                dispatch.emit(action(*t));
            }
        });
        labelled_select(
            self.label,
            options,
            onchange,
            p.input_errors.get(self.label),
        )
    }
}

fn speed_select(p: &ControlsProps) -> Html {
    let dispatch = p.dispatch.clone();
    let onchange = Callback::from(move |e: Event| {
        if let Some(i) = target_value(&e).and_then(|v| v.parse::<usize>().ok()) {
            dispatch.emit(Action::SetSpeed(i));
        }
    });
    html! {
        <label class="field">
            <span>{ "Speed" }</span>
            <select aria-label="Speed" {onchange}>
                { for SPEEDS.iter().enumerate().map(|(i, s)| html! {
                    <option value={i.to_string()} selected={i == p.speed_index}>{ format!("{s}×") }</option>
                }) }
            </select>
        </label>
    }
}

/// A `<select>` named by its visible label. Options that cannot run with
/// the rest of the setup stay listed (so people see what exists) but are
/// disabled, saying what they need ("(needs the log broker)") and, in their
/// tooltip, why.
pub(super) fn labelled_select(
    label: &'static str,
    options: Vec<(&'static str, Option<Unavailable>, bool)>,
    onchange: Callback<String>,
    error: Option<&String>,
) -> Html {
    let onchange = Callback::from(move |e: Event| {
        if let Some(v) = target_value(&e) {
            onchange.emit(v);
        }
    });
    html! {
        <label class="field">
            <span>{ label }</span>
            <select aria-label={label} {onchange}>
                { for options.into_iter().map(|(name, unavailable, selected)| html! {
                    <option value={name} {selected} disabled={unavailable.is_some()}
                        title={unavailable.map(|u| u.to_string()).unwrap_or_default()}>
                        { name }
                        if let Some(u) = unavailable { { format!(" ({})", u.needs) } }
                    </option>
                }) }
            </select>
            if let Some(e) = error { <span class="error" role="alert">{ e.clone() }</span> }
        </label>
    }
}

#[derive(Properties, PartialEq)]
pub struct NumberFieldProps {
    /// The accessible name, e.g. `Prefetch` or `Prefetch for c1`.
    pub label: AttrValue,
    /// The visible text, when shorter than the label (a settings row says
    /// `Prefetch` under the client's name). Defaults to the label.
    #[prop_or_default]
    pub caption: Option<AttrValue>,
    pub value: String,
    pub error: Option<String>,
    /// Gets the raw text; the reducer checks it and keeps the last good value.
    pub onchange: Callback<String>,
}

/// A labelled text field for a whole number, with its error shown inline.
///
/// What a person types is kept as a draft until the value it stands for
/// changes: Yew re-applies `value` whenever the page redraws (every frame
/// while playing), which would otherwise wipe a half-typed number. A refused
/// entry stays visible next to its message; the setting keeps its last good
/// value.
#[function_component(NumberField)]
pub fn number_field(p: &NumberFieldProps) -> Html {
    let draft = use_state(|| None::<String>);
    {
        let draft = draft.clone();
        use_effect_with(p.value.clone(), move |_| draft.set(None));
    }
    let oninput = {
        let draft = draft.clone();
        Callback::from(move |e: InputEvent| {
            let text = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                .map(|input| input.value());
            draft.set(text);
        })
    };
    let onchange = {
        let cb = p.onchange.clone();
        Callback::from(move |e: Event| {
            if let Some(v) = target_value(&e) {
                cb.emit(v);
            }
        })
    };
    let error_id = format!("{}-error", dom_id(&p.label));
    let caption = p.caption.clone().unwrap_or_else(|| p.label.clone());
    let value = (*draft).clone().unwrap_or_else(|| p.value.clone());
    html! {
        <label class="field">
            <span>{ caption }</span>
            <input type="text" inputmode="numeric" aria-label={p.label.clone()} {value} {oninput} {onchange}
                aria-invalid={p.error.is_some().to_string()} size="6"
                aria-describedby={p.error.is_some().then(|| error_id.clone())} />
            if let Some(e) = &p.error { <span class="error" id={error_id} role="alert">{ e.clone() }</span> }
        </label>
    }
}

/// An element id made from a label: letters and digits kept, the rest `-`.
pub fn dom_id(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The value of the `<input>` or `<select>` an event came from.
pub fn target_value(e: &Event) -> Option<String> {
    let target = e.target()?;
    if let Some(input) = target.dyn_ref::<web_sys::HtmlInputElement>() {
        return Some(input.value());
    }
    target
        .dyn_ref::<web_sys::HtmlSelectElement>()
        .map(|s| s.value())
}

#[derive(Properties, PartialEq)]
struct ScenarioMenuProps {
    dispatch: Callback<Action>,
}

/// Load a bundled example or a file, and export the current run as a file.
#[function_component(ScenarioMenu)]
fn scenario_menu(p: &ScenarioMenuProps) -> Html {
    let sim = use_context::<SimHandle>().expect("App provides the simulation handle");
    let on_pick = {
        let d = p.dispatch.clone();
        Callback::from(move |e: Event| {
            let Some(name) = target_value(&e) else { return };
            if let Some((_, text)) = super::bundled::BUNDLED.iter().find(|(n, _)| *n == name) {
                d.emit(Action::LoadScenario {
                    name: format!("{name}.json"),
                    text: text.to_string(),
                });
            }
        })
    };
    let on_file = {
        let d = p.dispatch.clone();
        Callback::from(move |e: Event| read_picked_file(&e, d.clone()))
    };
    let save = |make: fn(&crate::app::session::Session) -> (String, String)| {
        let sim = sim.clone();
        Callback::from(move |_| {
            let (name, text) = make(&sim.0.borrow());
            if let Err(e) = download(&name, &text) {
                web_sys::console::error_1(&e);
            }
        })
    };
    let on_export = save(|s| ("brokerlab-scenario.json".into(), s.export_json()));
    let on_jsonl = save(|s| (format!("{}.jsonl", s.file_stem()), s.history_jsonl()));
    let on_edn = save(|s| (format!("{}.edn", s.file_stem()), s.history_edn()));
    html! {
        <fieldset class="group" aria-label="Scenarios">
            <label class="field">
                <span>{ "Scenario" }</span>
                <select aria-label="Scenario" onchange={on_pick}>
                    <option value="" selected=true>{ "Choose an example…" }</option>
                    { for super::bundled::BUNDLED.iter().map(|(name, _)| html! {
                        <option value={*name}>{ name.replace('_', " ") }</option>
                    }) }
                </select>
            </label>
            <label class="field file">
                <span>{ "Open file" }</span>
                <input type="file" aria-label="Open file" accept=".json,application/json" onchange={on_file} />
            </label>
            <button onclick={on_export}>{ "Export scenario" }</button>
            <super::real_export::RealExport dispatch={p.dispatch.clone()} />
            <button onclick={on_jsonl} title="Every event of the run so far, one JSON object per line">{ "History (JSONL)" }</button>
            <button onclick={on_edn} title="Client operations in Jepsen's history.edn conventions, for Jepsen and Elle">{ "History (EDN)" }</button>
        </fieldset>
    }
}

/// Reads the picked file's text and loads it; a read failure becomes a notice.
fn read_picked_file(e: &Event, dispatch: Callback<Action>) {
    let Some(input) = e
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return;
    };
    let Some(file) = input.files().and_then(|f| f.get(0)) else {
        return;
    };
    let name = file.name();
    wasm_bindgen_futures::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(file.text()).await {
            Ok(text) => dispatch.emit(Action::LoadScenario {
                name,
                text: text.as_string().unwrap_or_default(),
            }),
            Err(_) => dispatch.emit(Action::Notice(format!("{name} could not be read."))),
        }
    });
}

/// Offers `text` as a file download.
fn download(file_name: &str, text: &str) -> Result<(), wasm_bindgen::JsValue> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    let json = file_name.ends_with(".json");
    options.set_type(if json {
        "application/json"
    } else {
        "text/plain"
    });
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    offer(file_name, &blob)
}

/// Offers `blob` as a download named `file_name` (a link clicked for the person).
pub(super) fn offer(file_name: &str, blob: &web_sys::Blob) -> Result<(), wasm_bindgen::JsValue> {
    let url = web_sys::Url::create_object_url_with_blob(blob)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    a.set_href(&url);
    a.set_download(file_name);
    a.click();
    web_sys::Url::revoke_object_url(&url)
}
