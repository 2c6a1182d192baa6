//! "Export for a real broker": the run's scenario as the files `brokerlab
//! export-real` writes, for the real broker picked beside the button, in one
//! zip (built by [`crate::export::zipped`]). A scenario the broker cannot run
//! gets the page's notice, naming the field.
//!
//! The export's templates (the Python program, the README, the run script)
//! are not in the page's bundle: Trunk copies them beside the page
//! ([`TEMPLATES_DIR`], see `index.html`) and the button fetches the ones the
//! broker needs when it is pressed. A file that cannot be loaded gets a
//! notice naming it, and nothing is downloaded.

use super::state::Action;
use super::SimHandle;
use crate::export::{Origin, Target, Templates};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

/// Where the export's templates sit, relative to the page: `index.html`
/// copies `src/export/templates/` there.
pub const TEMPLATES_DIR: &str = "export-templates";

/// What the button is for, said once beside it (its `aria-describedby`).
pub const PURPOSE: &str = "Download this scenario as a small project that runs it on a real \
    RabbitMQ, NATS JetStream or Kafka and records a history for brokerlab check.";

/// The real brokers offered, as the picker shows them.
const CHOICES: [(Target, &str); 3] = [
    (Target::Rabbitmq, "RabbitMQ"),
    (Target::Nats, "NATS JetStream"),
    (Target::Kafka, "Kafka"),
];

/// The picker and button's properties.
#[derive(Properties, PartialEq)]
pub struct RealExportProps {
    /// Where a refusal goes, as a notice.
    pub dispatch: Callback<Action>,
}

/// The real-broker picker, the button and its sentence.
#[function_component(RealExport)]
pub fn real_export(p: &RealExportProps) -> Html {
    let sim = use_context::<SimHandle>().expect("App provides the simulation handle");
    let picked = use_state(|| Target::Rabbitmq);
    let on_pick = {
        let picked = picked.clone();
        Callback::from(move |e: Event| {
            if let Some(t) = super::controls::target_value(&e).and_then(|n| Target::from_name(&n)) {
                picked.set(t);
            }
        })
    };
    let on_export = {
        let (d, target) = (p.dispatch.clone(), *picked);
        Callback::from(move |_| {
            let product = CHOICES
                .iter()
                .find(|(t, _)| *t == target)
                .map_or("", |c| c.1);
            let refused = crate::export::refusal(sim.0.borrow().world().scenario(), target);
            if let Some(e) = refused {
                d.emit(Action::Notice(format!(
                    "This scenario cannot run on {product}: {e}."
                )));
                return;
            }
            let (sim, d) = (sim.clone(), d.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(why) = export_zip(&sim, target).await {
                    d.emit(Action::Notice(why));
                }
            });
        })
    };
    html! {
        <>
            <label class="field">
                <span>{ "Real broker" }</span>
                <select aria-label="Real broker" onchange={on_pick}>
                    { for CHOICES.iter().map(|(t, label)| html! {
                        <option value={t.name()} selected={*t == *picked}>{ *label }</option>
                    }) }
                </select>
            </label>
            <button onclick={on_export} aria-describedby="real-export-purpose">{ "Export for a real broker" }</button>
            <span id="real-export-purpose" class="hint">{ PURPOSE }</span>
        </>
    }
}

/// Fetches `target`'s templates, builds the zip of the run's scenario and
/// offers it as a download; the error is the notice to show.
async fn export_zip(sim: &SimHandle, target: Target) -> Result<(), String> {
    let templates = fetch_templates(target).await?;
    let session = sim.0.borrow();
    let origin = match session.source_file() {
        Some(name) => Origin::PageFile { name },
        None => Origin::Playground,
    };
    let scenario = session.world().scenario();
    let (name, bytes) = crate::export::zipped(scenario, origin, target, &templates)
        .map_err(|e| format!("The export could not be built: {e}."))?;
    offer_zip(&name, &bytes).map_err(|_| format!("The browser refused to save {name}."))
}

/// The template files `target` needs, fetched from [`TEMPLATES_DIR`] all at
/// once; the error names the first file that could not be loaded.
async fn fetch_templates(target: Target) -> Result<Templates, String> {
    let window = web_sys::window().ok_or("The page has no window to fetch from.")?;
    let started: Vec<(&str, String, js_sys::Promise)> = target
        .template_files()
        .iter()
        .map(|name| {
            let url = format!("{TEMPLATES_DIR}/{name}");
            let promise = window.fetch_with_str(&url);
            (*name, url, promise)
        })
        .collect();
    let mut texts = Vec::with_capacity(started.len());
    for (name, url, promise) in started {
        let text = fetched_text(promise).await.map_err(|why| {
            format!(
                "The export's file {url} could not be loaded ({why}), so nothing was downloaded."
            )
        })?;
        texts.push((name.to_string(), text));
    }
    Ok(Templates::from_texts(texts))
}

/// The body of a fetch as text, or why not (`HTTP 404`, a network error).
async fn fetched_text(fetch: js_sys::Promise) -> Result<String, String> {
    let network = |_| "the network request failed".to_string();
    let response: web_sys::Response = JsFuture::from(fetch)
        .await
        .map_err(network)?
        .dyn_into()
        .map_err(|_| "no response".to_string())?;
    if !response.ok() {
        return Err(format!("HTTP {}", response.status()));
    }
    let body = response.text().map_err(network)?;
    JsFuture::from(body)
        .await
        .map_err(network)?
        .as_string()
        .ok_or_else(|| "the body is not text".to_string())
}

/// Offers `bytes` as a zip download named `name`.
fn offer_zip(name: &str, bytes: &[u8]) -> Result<(), wasm_bindgen::JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/zip");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
    super::controls::offer(name, &blob)
}
