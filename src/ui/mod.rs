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
//! | `persist.rs` | the IndexedDB store behind log-broker runs |
//! | `disk.rs` | the disk pump: a run waiting for an IndexedDB commit goes on as soon as it is on disk |
//! | `banners.rs` | what the page says about its stored log: unavailable, stopped, an earlier visit's log (Resume / Start fresh), a log that came back short, the resumed log, persistent storage |
//! | `acked.rs` | the record of what log runs acknowledged, kept in `localStorage` outside the log's database |
//! | `travel.rs` | the timeline bar: the slider over virtual time, Back, Forward, Jump to the end, Undo |
//! | `share.rs` | "Copy link": the share link, copied to the clipboard, and the run's history fingerprint |
//! | `route.rs` | the site: which page shows (lessons, crash test, playground), the URL, stored progress |
//! | `lesson/` | the lesson index, a lesson step by step, the crash test |
//! | `real_export.rs` | "Export for a real broker": a real broker to pick, and the run's scenario as a zip of `brokerlab export-real`'s files |
//! | `cluster/` | the cluster page: Kafka's replication settings, each broker with its replicas and Crash/Restart/Isolate/Heal, the replication verdict |
//! | `compare/` | Compare: one run under two settings in two panes, and what differs |

pub mod acked;
mod banners;
mod bundled;
mod clients;
pub mod cluster;
pub mod compare;
mod controls;
mod disk;
mod figures;
mod lesson;
pub mod persist;
mod real_export;
pub mod route;
mod share;
pub mod state;
mod timeline;
mod topology;
mod travel;

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
pub(crate) fn wall_clock() -> state::Clock {
    let performance = web_sys::window().and_then(|w| w.performance());
    Rc::new(move || performance.as_ref().map_or(0.0, |p| p.now()))
}

/// The playground's inputs.
#[derive(Properties, PartialEq, Default)]
pub struct AppProps {
    /// A scenario to load on mount, as (name, JSON): what a lesson's "Open
    /// in the playground" carries over.
    #[prop_or_default]
    pub scenario: Option<Rc<(String, String)>>,
    /// A share link to open on mount (the fragment after `#/play/`).
    #[prop_or_default]
    pub share: Option<Rc<String>>,
}

/// The playground.
#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let state = use_reducer(|| AppState::new(wall_clock()));
    let frames = {
        let d = state.dispatcher();
        Callback::from(move |wall_ms| d.dispatch(Action::Frame { wall_ms }))
    };
    use_frame_loop(state.playing, frames);
    {
        let d = state.dispatcher();
        use_effect_with(props.scenario.clone(), move |carried| {
            if let Some(carried) = carried {
                let (name, text) = (**carried).clone();
                d.dispatch(Action::LoadScenario { name, text });
            }
        });
    }
    {
        let d = state.dispatcher();
        use_effect_with(props.share.clone(), move |link| {
            if let Some(link) = link {
                d.dispatch(Action::OpenLink((**link).clone()));
            }
        });
    }
    use_keyboard(state.dispatcher());
    use_store(state.dispatcher());
    disk::use_disk_pump(state.disk.clone(), state.dispatcher());
    use_record_on_hide(state.acks.clone());
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
                { banners::persistence(&state, &dispatch) }
                <controls::Controls
                    setup={state.setup.clone()}
                    playing={state.playing}
                    speed_index={state.speed_index}
                    broker_up={view.broker_up()}
                    broker_durable={view.broker_durable}
                    disk_pace={state.disk.borrow().pace.pace().and_then(|p| p.disk_text()).filter(|_| view.persistent && state.playing)}
                    input_errors={state.input_errors.clone()}
                    dispatch={dispatch.clone()} />
                <travel::Travel view={view.clone()} dispatch={dispatch.clone()} />
                <share::SharePanel panel={state.link.clone()} dispatch={dispatch.clone()} />
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
                        <timeline::EventLog view={view.clone()} raw_fields={state.raw_fields} dispatch={dispatch.clone()} />
                    </section>
                    <section class="side" aria-label="Results">
                        <figures::Figures view={view.clone()} raw_fields={state.raw_fields} dispatch={dispatch.clone()} />
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

/// Opens the IndexedDB store once, when the app mounts, then asks for
/// persistent storage (without holding the store up: a browser may prompt).
#[hook]
fn use_store(dispatch: UseReducerDispatcher<AppState>) {
    use_effect_with((), move |_| {
        wasm_bindgen_futures::spawn_local(async move {
            let persistence = persist::open().await;
            let ready = matches!(persistence, persist::Persistence::Ready { .. });
            dispatch.dispatch(Action::StoreOpened(persistence));
            if ready {
                let answer = persist::request_persistent_storage().await;
                dispatch.dispatch(Action::StoragePersisted(answer));
            }
        });
    });
}

/// Writes the record of acknowledgements at once when the page is hidden or
/// closed (`pagehide`, `visibilitychange` to hidden): the throttle must not
/// cost what happened in the page's last quarter second.
#[hook]
fn use_record_on_hide(acks: acked::SharedRecorder) {
    use_effect_with((), move |_| {
        let window = web_sys::window();
        let document = window.as_ref().and_then(|w| w.document());
        let on_hide = {
            let acks = acks.clone();
            move |_: &web_sys::Event| acks.borrow_mut().flush()
        };
        let pagehide = window.map(|w| gloo_events::EventListener::new(&w, "pagehide", on_hide));
        let visibility = document.map(|doc| {
            let target = doc.clone();
            gloo_events::EventListener::new(&target, "visibilitychange", move |_| {
                if doc.visibility_state() == web_sys::VisibilityState::Hidden {
                    acks.borrow_mut().flush();
                }
            })
        });
        move || drop((pagehide, visibility))
    });
}

/// While `playing`, calls `on_frame` with each animation frame's time. The
/// handle of the pending frame lives in the effect; dropping it (pause,
/// unmount) cancels it. The playground and the lesson pages share it.
#[hook]
pub(crate) fn use_frame_loop(playing: bool, on_frame: Callback<f64>) {
    use_effect_with(playing, move |playing| {
        let pending = Rc::new(std::cell::RefCell::new(None));
        if *playing {
            schedule_frame(pending.clone(), on_frame);
        }
        move || drop(pending.borrow_mut().take())
    });
}

fn schedule_frame(
    pending: Rc<std::cell::RefCell<Option<gloo_render::AnimationFrame>>>,
    on_frame: Callback<f64>,
) {
    let next = pending.clone();
    let frame = gloo_render::request_animation_frame(move |wall_ms| {
        on_frame.emit(wall_ms);
        schedule_frame(next, on_frame);
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
    focus_in(event, &["INPUT", "SELECT", "TEXTAREA", "BUTTON"])
}

/// Whether the key went to an element with one of these tag names (a
/// control that uses the key itself).
pub(crate) fn focus_in(event: &web_sys::KeyboardEvent, tags: &[&str]) -> bool {
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| tags.contains(&el.tag_name().as_str()))
}

/// Mounts the site (lessons, crash test, playground) on `<body>`; called
/// by the `brokerlab-web` binary.
pub fn start() {
    yew::Renderer::<route::Site>::new().render();
}
