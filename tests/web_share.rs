//! Share links in the browser (issue 15 item 3): "Copy link" shows a link
//! and the run's history fingerprint; the link opened in a fresh page gives
//! the same fingerprint (the same history, byte for byte); a bad link opens
//! the default playground and says what was wrong.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;
use dom::click_and_render as click;

use brokerlab::ui::{App, AppProps};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::Element;
use yew::AppHandle;

wasm_bindgen_test_configure!(run_in_browser);

async fn mount(share: Option<String>) -> (Element, AppHandle<App>) {
    let root = dom::fresh_root();
    let props = AppProps {
        share: share.map(Rc::new),
        ..AppProps::default()
    };
    let app = yew::Renderer::<App>::with_root_and_props(root.clone(), props).render();
    yew::scheduler::flush().await;
    yew::scheduler::flush().await;
    (root, app)
}

fn fingerprint(root: &Element) -> String {
    dom::get_by_role(root, "status", "History fingerprint")
        .text_content()
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn a_copied_link_reopened_in_a_fresh_page_gives_the_same_history() {
    let (root, app) = mount(None).await;
    click(&root, "Fast-forward").await;
    click(&root, "Crash c1").await;
    click(&root, "Step").await;
    click(&root, "Drop acks").await;
    click(&root, "Fast-forward").await;
    click(&root, "Restart c1").await;
    click(&root, "Fast-forward").await;
    let published = dom::counter(&root, "Published");
    click(&root, "Copy link").await;
    let url = dom::get_by_label(&root, "Share link")
        .dyn_into::<web_sys::HtmlInputElement>()
        .expect("an input")
        .value();
    let fragment = url
        .split_once("#/play/")
        .map(|(_, f)| f.to_string())
        .expect("a #/play/ link");
    assert!(
        url.len() <= 2_000,
        "a playground run fits: {} characters",
        url.len()
    );
    let original = fingerprint(&root);
    assert_eq!(original.len(), 16, "{original}");
    app.destroy();

    let (root, app) = mount(Some(fragment)).await;
    assert_eq!(
        fingerprint(&root),
        original,
        "the same history, byte for byte"
    );
    assert_eq!(dom::counter(&root, "Published"), published);
    assert!(
        dom::all_by_role(&root, "alert").is_empty(),
        "no notice for a good link"
    );
    app.destroy();
}

#[wasm_bindgen_test]
async fn a_bad_link_opens_the_default_playground_and_says_what_was_wrong() {
    for (link, says) in [
        ("9.eJwrSS0u0S0u", "newer brokerlab"),
        ("1.eJwrSS0u", "damaged or cut short"),
        ("hello", "does not start with its version"),
    ] {
        let (root, app) = mount(Some(link.to_string())).await;
        let alerts: Vec<String> = dom::all_by_role(&root, "alert")
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert!(
            alerts
                .iter()
                .any(|a| a.contains(says) && a.contains("default playground")),
            "{link}: {alerts:?}"
        );
        assert_eq!(dom::counter(&root, "Published"), 0, "a fresh default run");
        app.destroy();
    }
}
