//! The share panel: "Copy link" makes a link of the run as it stands
//! (see [`crate::app::share`]), copies it to the clipboard and shows it,
//! with the run's history fingerprint, so whoever opens it can check they
//! see the same run. A lesson's "Copy link to this step" uses the same
//! clipboard call ([`copy_to_clipboard`]).

use super::state::{Action, LinkPanel};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct SharePanelProps {
    /// The link last made or opened.
    pub panel: Option<LinkPanel>,
    pub dispatch: Callback<Action>,
}

#[function_component(SharePanel)]
pub fn share_panel(p: &SharePanelProps) -> Html {
    let copied = use_state(|| None::<Result<(), String>>);
    {
        let copied = copied.clone();
        use_effect_with(p.panel.clone(), move |panel| {
            copied.set(None);
            if let Some(LinkPanel {
                fragment: Ok(fragment),
                copy: true,
                ..
            }) = panel
            {
                let copied = Callback::from(move |r| copied.set(Some(r)));
                copy_to_clipboard(full_url(fragment), copied);
            }
        });
    }
    let make = p.dispatch.reform(|_| Action::MakeLink);
    html! {
        <section class="share" aria-label="Share">
            <button onclick={make} title="A link that opens this run, at this instant, for anyone">{ "Copy link" }</button>
            { for p.panel.as_ref().map(|panel| link_row(panel, &copied)) }
        </section>
    }
}

fn link_row(panel: &LinkPanel, copied: &Option<Result<(), String>>) -> Html {
    let fragment = match &panel.fragment {
        Ok(fragment) => fragment,
        Err(why) => return html! { <p class="share-status" aria-live="polite">{ why.clone() }</p> },
    };
    let url = full_url(fragment);
    let status = match copied {
        Some(Ok(())) => format!("Copied ({} characters).", url.len()),
        Some(Err(why)) => format!("Select the link to copy it: {why}"),
        None => format!("{} characters.", url.len()),
    };
    html! {
        <>
            <label class="field share-link">
                <span>{ "Share link" }</span>
                <input type="text" readonly=true value={url} aria-label="Share link" />
            </label>
            <span class="share-status" aria-live="polite">{ status }</span>
            <span class="fingerprint">
                { "History fingerprint " }
                <output aria-label="History fingerprint">{ panel.fingerprint.clone() }</output>
            </span>
        </>
    }
}

/// This page's address with `#/play/<fragment>`.
fn full_url(fragment: &str) -> String {
    page_url(&format!("#/play/{fragment}"))
}

/// This page's address with `hash` (`#/learn/…`) in place of its own.
pub(super) fn page_url(hash: &str) -> String {
    let location = web_sys::window().map(|w| w.location());
    let base = location
        .map(|l| {
            let origin = l.origin().unwrap_or_default();
            let path = l.pathname().unwrap_or_default();
            let search = l.search().unwrap_or_default();
            format!("{origin}{path}{search}")
        })
        .unwrap_or_default();
    format!("{base}{hash}")
}

/// Writes `text` to the clipboard and says how it went.
pub(super) fn copy_to_clipboard(text: String, copied: Callback<Result<(), String>>) {
    let Some(clipboard) = web_sys::window().map(|w| w.navigator().clipboard()) else {
        return;
    };
    let promise = clipboard.write_text(&text);
    wasm_bindgen_futures::spawn_local(async move {
        let result = wasm_bindgen_futures::JsFuture::from(promise).await;
        copied.emit(result.map(|_| ()).map_err(|e| {
            format!(
                "the browser did not allow the clipboard ({})",
                e.as_string().unwrap_or_else(|| "refused".into())
            )
        }));
    });
}
