//! The Yew app (browser only).
//!
//! The UI follows one rule: components render and forward callbacks; they hold no
//! broker logic. When the playground arrives, its state will be a `Reducible`
//! changed only through an `Action` enum, with the simulation handle in a context.

use crate::version::{PRODUCT_NAME, TAGLINE};
use yew::prelude::*;

/// The root component: the header, then the playground area.
#[function_component(App)]
pub fn app() -> Html {
    html! {
        <div class="app">
            <Header />
            <main class="app-main" aria-label="Playground">
                <p class="empty-state">
                    { "No system yet: the broker controls will appear here." }
                </p>
            </main>
        </div>
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

/// Mounts the app on `<body>`; called by the `brokerlab-web` binary.
pub fn start() {
    yew::Renderer::<App>::new().render();
}
