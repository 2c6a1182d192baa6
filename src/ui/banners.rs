//! What the page says about its stored log, above the controls: IndexedDB
//! unavailable or taken over, durable writes stopped, a log an earlier visit
//! left (Resume or Start fresh), a log that came back short of what the page
//! had acknowledged, what a Resume brought back, and whether the browser
//! keeps the log under storage pressure. Text only; every decision is the
//! reducer's ([`super::state`]) or the store's ([`super::persist`]).

use super::persist::{self, Persistence};
use super::state::{Action, AppState};
use crate::app::playground::Setup;
use crate::app::resume::ResumeReport;
use crate::storage::acked::Vanished;
use yew::prelude::*;

/// Every banner about the stored log, in order of urgency.
pub fn persistence(state: &AppState, dispatch: &Callback<Action>) -> Html {
    let banner = main_banner(&state.persistence, state.resumed.as_ref(), dispatch);
    let line = match (&state.persistence, &state.storage_persisted) {
        (Persistence::Ready { .. }, Some(answer)) => html! {
            <p class="storage-line" role="status">{ persist::persistent_storage_text(answer) }</p>
        },
        _ => Html::default(),
    };
    html! { <>{ banner }{ line }</> }
}

/// The one banner that matters most now, if any.
fn main_banner(
    p: &Persistence,
    resumed: Option<&ResumeReport>,
    dispatch: &Callback<Action>,
) -> Html {
    if let Persistence::Ready { store, .. } = p {
        if let Some((text, taken)) = persist::stopped(store) {
            return html! {
                <div class="banner" role="alert">
                    <p>{ text }</p>
                    if taken {
                        <button onclick={take_over(dispatch)}>{ "Take over" }</button>
                    }
                </div>
            };
        }
    }
    match p {
        Persistence::Unavailable {
            message,
            can_take_over,
        } => html! {
            <div class="banner" role="alert">
                <p>{ message.clone() }</p>
                if *can_take_over {
                    <button onclick={take_over(dispatch)}>{ "Take over" }</button>
                }
            </div>
        },
        Persistence::Ready {
            found_records,
            found_any,
            saved_setup,
            vanished,
            ..
        } if *found_any || vanished.is_some() => html! {
            <>
                if let Some(vanished) = vanished {
                    { vanished_banner(vanished, !found_any, dispatch) }
                }
                if *found_any {
                    { stored_log_banner(*found_records, saved_setup, dispatch) }
                }
            </>
        },
        _ => resumed.map_or_else(Html::default, |report| resumed_banner(report, dispatch)),
    }
}

/// Acknowledged records did not come back: how many, per partition, what
/// the browser said, what it means. `with_choice` when no stored-log banner
/// offers Start fresh beside it (nothing is left to resume).
fn vanished_banner(vanished: &Vanished, with_choice: bool, dispatch: &Callback<Action>) -> Html {
    html! {
        <div class="banner banner-loss" role="alert" aria-labelledby="vanished-title">
            <h2 id="vanished-title">{ vanished.headline() }</h2>
            { for vanished.paragraphs().into_iter().map(|p| html! { <p>{ p }</p> }) }
            if with_choice {
                <p>{ "Start fresh forgets this record and keeps new log runs in IndexedDB again. \
                      Until then, log runs use the in-memory disk model." }</p>
                <button onclick={dispatch.reform(|_| Action::StartFresh)}>{ "Start fresh" }</button>
            }
        </div>
    }
}

/// What a Resume brought back: acknowledged before the page closed against
/// recovered, the missing ones, the ones never acknowledged. An alert when
/// acknowledged records are missing, else a status.
fn resumed_banner(report: &ResumeReport, dispatch: &Callback<Action>) -> Html {
    let (class, role) = if report.missing.is_empty() {
        ("banner banner-info banner-resumed", "status")
    } else {
        ("banner banner-loss banner-resumed", "alert")
    };
    html! {
        <div {class} {role} aria-labelledby="resumed-title">
            <h2 id="resumed-title">{ report.headline() }</h2>
            { for report.paragraphs().into_iter().filter(|p| !p.is_empty()).map(|p| html! { <p>{ p }</p> }) }
            <button onclick={dispatch.reform(|_| Action::StartFresh)}>{ "Start fresh" }</button>
        </div>
    }
}

/// The choice a stored log offers on load: Resume (under the setup saved
/// with it) or Start fresh (delete it). Without a usable saved setup, the
/// reason is shown and Resume is disabled.
fn stored_log_banner(
    found_records: u64,
    saved_setup: &Result<Setup, String>,
    dispatch: &Callback<Action>,
) -> Html {
    let (setup_text, can_resume) = match saved_setup {
        Ok(setup) => (
            format!(
                "It was written by: {}.",
                crate::app::resume::describe(setup)
            ),
            true,
        ),
        Err(why) => (format!("It cannot be resumed: {why}."), false),
    };
    let queues =
        matches!(saved_setup, Ok(s) if s.broker == crate::app::playground::BrokerKind::Queue);
    let text = if queues {
        format!(
            "Durable queues from an earlier visit are stored in this browser ({found_records} persistent messages). {setup_text} \
             Resume them, as a RabbitMQ restart would: the durable queues come back with their persistent messages, \
             the delivered but unacked ones redelivered; nothing is replayed. Or start fresh (deletes them). \
             Until you choose, runs use the in-memory disk model."
        )
    } else {
        let what = match found_records {
            0 => "no records, only committed offsets or producer and transaction state".to_string(),
            n => format!("{n} records"),
        };
        format!(
            "A log from an earlier visit is stored in this browser ({what}). {setup_text} \
             Resume it, or start fresh (deletes it). Until you choose, log runs use the in-memory disk model."
        )
    };
    html! {
        <div class="banner" role="alert">
            <p>{ text }</p>
            <button disabled={!can_resume} onclick={dispatch.reform(|_| Action::Resume)}>{ "Resume" }</button>
            <button onclick={dispatch.reform(|_| Action::StartFresh)}>{ "Start fresh" }</button>
        </div>
    }
}

/// Takes the log over from another tab, then reports the store as opened.
fn take_over(dispatch: &Callback<Action>) -> Callback<MouseEvent> {
    let dispatch = dispatch.clone();
    Callback::from(move |_| {
        let dispatch = dispatch.clone();
        wasm_bindgen_futures::spawn_local(async move {
            dispatch.emit(Action::StoreOpened(persist::take_over().await));
        });
    })
}
