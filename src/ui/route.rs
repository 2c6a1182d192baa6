//! The site around the playground: which page shows (the lessons, the crash
//! test, the playground), the URL that says so, and the progress kept
//! between visits.
//!
//! Pages live in the URL fragment (`#/learn/<lesson>/<step>`, see
//! [`Route`]). Moving between them pushes a History API entry whose state is
//! the route (through `serde-wasm-bindgen`), so the browser's back button
//! returns to the previous step; `popstate` and `hashchange` bring a typed
//! or remembered link back in. Progress is JSON in localStorage under
//! [`PROGRESS_KEY`]. A bad link or unreadable stored progress shows a
//! sentence and falls back to a page that exists.

use super::cluster::ClusterPage;
use super::lesson::crash_test::CrashTest;
use super::lesson::index::LessonIndex;
use super::lesson::LessonPage;
use super::App;
use crate::app::learn::{Progress, Route, PROGRESS_KEY};
use crate::app::lesson::{bundled, Lesson};
use crate::version::{PRODUCT_NAME, TAGLINE};
use std::rc::Rc;
use yew::prelude::*;

/// The lesson the crash test crashes as the in-memory queue, and as the log.
const CRASH_TEST_LESSONS: (&str, &str) = ("03_broker_crash", "08_log_durability");

/// Everything the site shell decides.
#[derive(Clone, PartialEq)]
pub struct SiteState {
    /// The bundled lessons, in index order.
    lessons: Rc<Vec<Rc<Lesson>>>,
    /// The page shown.
    route: Route,
    /// What the learner has done, as stored.
    progress: Rc<Progress>,
    /// A sentence about a bad link, bad stored progress or a broken lesson.
    notice: Option<String>,
    /// The scenario "Open in the playground" carries: (name, JSON).
    carry: Option<Rc<(String, String)>>,
}

/// What changes the site.
pub enum SiteAction {
    /// Show a page and push a history entry (a click in the page).
    Go(Route),
    /// The browser moved (back, forward, a typed link): show its page.
    Arrived,
    /// Every goal of this lesson was met.
    Complete(String),
    /// Open the playground on this scenario (name, JSON).
    OpenPlayground(String, String),
}

impl SiteState {
    /// The state for a page load: the lessons, stored progress, and the
    /// page the URL names (or the landing page).
    fn load() -> SiteState {
        let mut notes = Vec::new();
        let lessons = bundled::lessons().unwrap_or_else(|e| {
            notes.push(format!("The lessons could not be loaded: {e}"));
            Vec::new()
        });
        let progress = load_progress().unwrap_or_else(|e| {
            notes.push(e);
            Progress::default()
        });
        let mut s = SiteState {
            lessons: Rc::new(lessons.into_iter().map(Rc::new).collect()),
            route: Route::Index,
            progress: Rc::new(progress),
            notice: None,
            carry: None,
        };
        s.arrive(true);
        notes.extend(s.notice.take());
        s.notice = (!notes.is_empty()).then(|| notes.join(" "));
        s
    }

    /// Each lesson's (id, step count, experiment length in ms), for
    /// [`Route::resolve`].
    fn steps(&self) -> Vec<(&str, usize, u64)> {
        let lessons = self.lessons.iter();
        lessons
            .map(|l| (l.id.as_str(), l.intro.len() + 3, l.setup.duration_ms))
            .collect()
    }

    /// Shows the page the URL names; an empty fragment is the landing page
    /// (lesson 1 for a first visit), written back into the URL.
    fn arrive(&mut self, landing: bool) {
        let hash = location_hash();
        let first = self.lessons.first().map_or("", |l| l.id.as_str());
        let (route, notice) = match Route::parse(&hash) {
            Ok(Some(route)) => route.resolve(&self.steps()),
            Ok(None) if landing => self.progress.landing(first).resolve(&self.steps()),
            Ok(None) => (Route::Index, None),
            Err(e) => (
                Route::Index,
                Some(format!("{e} Here is the list of lessons.")),
            ),
        };
        if route.to_hash() != hash {
            replace_url(&route);
        }
        self.notice = notice;
        self.show(route);
    }

    fn show(&mut self, route: Route) {
        if route != Route::Playground {
            self.carry = None;
        }
        Rc::make_mut(&mut self.progress).visit(&route);
        self.route = route;
        save_progress(&self.progress);
    }
}

impl Reducible for SiteState {
    type Action = SiteAction;

    fn reduce(self: Rc<Self>, action: SiteAction) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            SiteAction::Go(route) => {
                let (route, notice) = route.resolve(&s.steps());
                if route == s.route {
                    return self;
                }
                push_url(&route);
                s.notice = notice;
                s.show(route);
            }
            SiteAction::Arrived => {
                if Route::parse(&location_hash()) == Ok(Some(s.route.clone())) {
                    return self;
                }
                s.arrive(false);
            }
            SiteAction::Complete(id) => {
                Rc::make_mut(&mut s.progress).complete(&id);
                save_progress(&s.progress);
            }
            SiteAction::OpenPlayground(name, text) => {
                push_url(&Route::Playground);
                s.show(Route::Playground);
                s.carry = Some(Rc::new((name, text)));
            }
        }
        Rc::new(s)
    }
}

/// The whole page: the site's header and whichever page the route names.
#[function_component(Site)]
pub fn site() -> Html {
    let state = use_reducer(SiteState::load);
    use_history(state.dispatcher());
    let nav = {
        let d = state.dispatcher();
        Callback::from(move |r: Route| d.dispatch(SiteAction::Go(r)))
    };
    let page = page(&state, &nav);
    let on_lesson = matches!(state.route, Route::Lesson { .. });
    let in_playground = matches!(state.route, Route::Playground | Route::Shared { .. });
    html! {
        <div class="app site">
            if !in_playground {
                <header class="app-header">
                    <h1>{ PRODUCT_NAME }</h1>
                    <p>{ TAGLINE }</p>
                    { site_nav(&state.route, &nav, on_lesson) }
                </header>
            } else {
                <div class="site-bar">{ site_nav(&state.route, &nav, false) }</div>
            }
            if let Some(notice) = &state.notice {
                <p class="notice" role="alert">{ notice.clone() }</p>
            }
            { page }
        </div>
    }
}

fn page(state: &UseReducerHandle<SiteState>, nav: &Callback<Route>) -> Html {
    let d = state.dispatcher();
    match &state.route {
        Route::Index => html! {
            <main class="learn-main"><LessonIndex lessons={state.lessons.clone()} progress={state.progress.clone()} nav={nav.clone()} /></main>
        },
        Route::Lesson {
            id,
            step,
            at_ms,
            actions,
        } => {
            let Some(number) = state.lessons.iter().position(|l| &l.id == id) else {
                return Html::default();
            };
            let next_id = state.lessons.get(number + 1).map(|l| l.id.clone());
            let (done, open) = (d.clone(), d);
            html! {
                <main class="learn-main">
                    <LessonPage key={id.clone()} lesson={state.lessons[number].clone()} {number}
                        total={state.lessons.len()} {next_id} step={*step} at_ms={*at_ms} actions={actions.clone()} nav={nav.clone()}
                        on_complete={Callback::from(move |id| done.dispatch(SiteAction::Complete(id)))}
                        open_playground={Callback::from(move |(n, t)| open.dispatch(SiteAction::OpenPlayground(n, t)))} />
                </main>
            }
        }
        Route::CrashTest => {
            let find = |id: &str| state.lessons.iter().find(|l| l.id == id).cloned();
            match (find(CRASH_TEST_LESSONS.0), find(CRASH_TEST_LESSONS.1)) {
                (Some(memory), Some(log)) => html! {
                    <main class="learn-main"><CrashTest {memory} {log} nav={nav.clone()} /></main>
                },
                _ => {
                    html! { <p class="notice" role="alert">{ "The crash test needs lessons 3 and 8, which did not load." }</p> }
                }
            }
        }
        Route::Compare => html! { <main class="learn-main"><super::compare::ComparePage /></main> },
        Route::Playground => html! { <App scenario={state.carry.clone()} /> },
        Route::Cluster => html! { <ClusterPage /> },
        Route::Shared { link } => html! { <App share={Some(Rc::new(link.clone()))} /> },
    }
}

/// The site's links; on a lesson, the playground link says it skips.
fn site_nav(route: &Route, nav: &Callback<Route>, on_lesson: bool) -> Html {
    let link = |to: Route, text: &'static str| {
        let current = (route == &to
            || matches!(
                (route, &to),
                (Route::Lesson { .. }, Route::Index) | (Route::Shared { .. }, Route::Playground)
            ))
        .then_some("page");
        let (nav, href) = (nav.clone(), to.to_hash());
        let onclick = move |e: MouseEvent| {
            e.prevent_default();
            nav.emit(to.clone());
        };
        html! { <a {href} aria-current={current} {onclick}>{ text }</a> }
    };
    html! {
        <nav class="site-nav" aria-label="Site">
            { link(Route::Index, "Lessons") }
            { link(Route::CrashTest, "Crash test") }
            { link(Route::Compare, "Compare") }
            { link(Route::Playground, if on_lesson { "Skip to the playground" } else { "Playground" }) }
            { link(Route::Cluster, "Cluster") }
        </nav>
    }
}

/// Listens for the browser moving between history entries (back, forward,
/// an edited fragment) while the site is mounted.
#[hook]
fn use_history(dispatch: UseReducerDispatcher<SiteState>) {
    use_effect_with((), move |_| {
        let window = web_sys::window();
        let listeners = window.map(|w| {
            let d = dispatch.clone();
            let pop = gloo_events::EventListener::new(&w, "popstate", move |_| {
                d.dispatch(SiteAction::Arrived)
            });
            let hash = gloo_events::EventListener::new(&w, "hashchange", move |_| {
                dispatch.dispatch(SiteAction::Arrived)
            });
            (pop, hash)
        });
        move || drop(listeners)
    });
}

fn location_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Writes `route` into the URL: a new history entry (`push`) or in place.
fn set_url(route: &Route, push: bool) {
    let Some(history) = web_sys::window().and_then(|w| w.history().ok()) else {
        return;
    };
    let state = serde_wasm_bindgen::to_value(route).unwrap_or(wasm_bindgen::JsValue::NULL);
    let hash = route.to_hash();
    // A refused write (a sandboxed frame) leaves the URL as it was; the
    // page itself still shows the route.
    let _ = if push {
        history.push_state_with_url(&state, "", Some(&hash))
    } else {
        history.replace_state_with_url(&state, "", Some(&hash))
    };
}

fn push_url(route: &Route) {
    set_url(route, true);
}

fn replace_url(route: &Route) {
    set_url(route, false);
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Stored progress; `Ok(default)` when there is none (a first visit), an
/// error sentence when what is stored cannot be read.
fn load_progress() -> Result<Progress, String> {
    let Some(text) = local_storage().and_then(|s| s.get_item(PROGRESS_KEY).ok().flatten()) else {
        return Ok(Progress::default());
    };
    Progress::from_text(&text).map_err(|e| {
        format!("Your saved lesson progress could not be read ({e}), so it starts over.")
    })
}

fn save_progress(progress: &Progress) {
    if let Some(storage) = local_storage() {
        // Full or disabled storage: progress then lasts as long as the tab.
        let _ = storage.set_item(PROGRESS_KEY, &progress.to_text());
    }
}
