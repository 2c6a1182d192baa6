//! The Yew app (browser only).
//!
//! One rule holds the design together: components render and forward
//! callbacks; they hold no broker logic. The state is a `Reducible`
//! ([`state::AppState`]) changed only through [`state::Action`]; the reducer
//! drives the [`crate::app::session::Session`], which owns the simulation. The
//! shared session also sits in a context so a component that needs to read
//! it (the scenario export) does not need it threaded through props.
//!
//! | file | what it draws |
//! |---|---|
//! | `controls.rs` | Broker, Delivery, Partitions, Seed, Play/Pause/Step/Reset, speed, faults, scenarios |
//! | `clients.rs` | the producer and consumer list with per-client Crash/Restart/Slow, and Add |
//! | `topology.rs` | the SVG picture: producers → queues with message boxes → consumers |
//! | `figures.rs` | the live counters, the verdict, the findings and a message's cause chain |
//! | `timeline.rs` | the event log and the throughput/backlog chart |
//! | `persist.rs` | the IndexedDB store behind log-broker runs, and its banners |

mod bundled;
mod clients;
mod controls;
mod figures;
pub mod persist;
pub mod state;
mod timeline;
mod topology;

use crate::app::session::SharedSession;
use crate::version::{PRODUCT_NAME, TAGLINE};
use state::{Action, AppState};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// The simulation handle, shared through a context.
#[derive(Clone)]
pub struct SimHandle(pub SharedSession);

impl PartialEq for SimHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// `performance.now()`: the page's monotonic wall clock, handed to the state.
fn wall_clock() -> state::Clock {
    let performance = web_sys::window().and_then(|w| w.performance());
    Rc::new(move || performance.as_ref().map_or(0.0, |p| p.now()))
}

/// The root component.
#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(|| AppState::new(wall_clock()));
    use_frame_loop(state.playing, state.dispatcher());
    use_keyboard(state.dispatcher());
    use_store(state.dispatcher());
    let dispatch = {
        let d = state.dispatcher();
        Callback::from(move |a: Action| d.dispatch(a))
    };
    let view = state.view.clone();
    html! {
        <ContextProvider<SimHandle> context={SimHandle(state.session.clone())}>
            <div class="app">
                <Header />
                if let Some(notice) = &state.notice {
                    <p class="notice" role="alert">{ notice.clone() }</p>
                }
                { persistence_banner(&state.persistence, state.resumed.as_deref(), &dispatch) }
                <controls::Controls
                    setup={state.setup.clone()}
                    playing={state.playing}
                    speed_index={state.speed_index}
                    broker_up={view.broker_up}
                    input_errors={state.input_errors.clone()}
                    dispatch={dispatch.clone()} />
                <main class="app-main" aria-label="Playground">
                    <section class="stage" aria-label="System">
                        <topology::Topology view={view.clone()} />
                        <clients::Clients
                            view={view.clone()}
                            new_producer={state.new_producer}
                            new_consumer={state.new_consumer}
                            input_errors={state.input_errors.clone()}
                            settings_open={state.settings_open.clone()}
                            client_errors={state.client_errors.clone()}
                            dispatch={dispatch.clone()} />
                        <timeline::EventLog view={view.clone()} />
                    </section>
                    <section class="side" aria-label="Results">
                        <figures::Figures view={view.clone()} dispatch={dispatch.clone()} />
                        <timeline::Chart view={view} />
                    </section>
                </main>
            </div>
        </ContextProvider<SimHandle>>
    }
}

/// The page header: product name and a one-line description.
#[function_component(Header)]
fn header() -> Html {
    html! {
        <header class="app-header">
            <h1>{ PRODUCT_NAME }</h1>
            <p>{ TAGLINE }</p>
        </header>
    }
}

/// Opens the IndexedDB store once, when the app mounts.
#[hook]
fn use_store(dispatch: UseReducerDispatcher<AppState>) {
    use_effect_with((), move |_| {
        wasm_bindgen_futures::spawn_local(async move {
            dispatch.dispatch(Action::StoreOpened(persist::open().await));
        });
    });
}

/// Says where log runs keep their log when that is not simply "IndexedDB",
/// and what a resumed log brought back (`resumed`).
fn persistence_banner(
    p: &persist::Persistence,
    resumed: Option<&str>,
    dispatch: &Callback<Action>,
) -> Html {
    if let persist::Persistence::Ready { store, .. } = p {
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
        persist::Persistence::Unavailable {
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
        persist::Persistence::Ready {
            found_records,
            found_any: true,
            saved_setup,
            ..
        } => stored_log_banner(*found_records, saved_setup, dispatch),
        _ => resumed.map_or_else(Html::default, |text| {
            html! {
                <div class="banner banner-info">
                    <p>{ text.to_string() }</p>
                    <button onclick={dispatch.reform(|_| Action::StartFresh)}>{ "Start fresh" }</button>
                </div>
            }
        }),
    }
}

/// The choice a stored log offers on load: Resume (under the setup saved
/// with it) or Start fresh (delete it). Without a usable saved setup, the
/// reason is shown and Resume is disabled.
fn stored_log_banner(
    found_records: u64,
    saved_setup: &Result<crate::app::playground::Setup, String>,
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
    let what = match found_records {
        0 => "no records, only committed offsets or producer and transaction state".to_string(),
        n => format!("{n} records"),
    };
    html! {
        <div class="banner" role="alert">
            <p>{ format!(
                "A log from an earlier visit is stored in this browser ({what}). {setup_text} \
                 Resume it, or start fresh (deletes it). Until you choose, log runs use the in-memory disk model."
            ) }</p>
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

/// While `playing`, sends one `Frame` per animation frame. The handle of the
/// pending frame lives in the effect; dropping it (pause, unmount) cancels it.
#[hook]
fn use_frame_loop(playing: bool, dispatch: UseReducerDispatcher<AppState>) {
    use_effect_with(playing, move |playing| {
        let pending = Rc::new(std::cell::RefCell::new(None));
        if *playing {
            schedule_frame(pending.clone(), dispatch);
        }
        move || drop(pending.borrow_mut().take())
    });
}

fn schedule_frame(
    pending: Rc<std::cell::RefCell<Option<gloo_render::AnimationFrame>>>,
    dispatch: UseReducerDispatcher<AppState>,
) {
    let next = pending.clone();
    let frame = gloo_render::request_animation_frame(move |wall_ms| {
        dispatch.dispatch(Action::Frame { wall_ms });
        schedule_frame(next, dispatch);
    });
    *pending.borrow_mut() = Some(frame);
}

/// Space plays or pauses, S steps, unless the focus is in a control that uses
/// those keys itself (a text field, a select, a button).
#[hook]
fn use_keyboard(dispatch: UseReducerDispatcher<AppState>) {
    use_effect_with((), move |_| {
        let document = web_sys::window().and_then(|w| w.document());
        let listener = document.map(|doc| {
            gloo_events::EventListener::new(&doc, "keydown", move |event| {
                let Some(key) = event.dyn_ref::<web_sys::KeyboardEvent>() else {
                    return;
                };
                if key.ctrl_key() || key.meta_key() || key.alt_key() || in_control(key) {
                    return;
                }
                match key.key().as_str() {
                    " " => {
                        key.prevent_default();
                        dispatch.dispatch(Action::TogglePlay);
                    }
                    "s" | "S" => dispatch.dispatch(Action::Step),
                    _ => {}
                }
            })
        });
        move || drop(listener)
    });
}

fn in_control(event: &web_sys::KeyboardEvent) -> bool {
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| {
            matches!(
                el.tag_name().as_str(),
                "INPUT" | "SELECT" | "TEXTAREA" | "BUTTON"
            )
        })
}

/// Mounts the app on `<body>`; called by the `brokerlab-web` binary.
pub fn start() {
    yew::Renderer::<App>::new().render();
}
