//! The Compare page in a browser, driven as a person would: controls by
//! their accessible names, every wait a `yew::scheduler::flush()` (never a
//! sleep). Virtual time moves with the page's own "Step 1 s".
//!
//! Issue 15's test: under the same dropped confirms, the at-least-once
//! pane duplicates and the exactly-once (idempotent) pane does not, and
//! the row between them says so.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;
use dom::click_and_render as click;

use brokerlab::ui::route::Site;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Sets the URL's fragment without a history entry, as a typed link would.
fn set_hash(hash: &str) {
    let history = web_sys::window().unwrap().history().unwrap();
    (history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(hash))).unwrap();
}

/// No two regions of the page share an accessible name.
fn assert_region_names_unique(root: &web_sys::Element) {
    let mut names: Vec<String> = dom::all_by_role(root, "region")
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "region names are unique: {names:?}");
}

async fn steps(root: &web_sys::Element, n: usize) {
    for _ in 0..n {
        click(root, "Step 1 s").await;
    }
}

#[wasm_bindgen_test]
async fn compare_shows_at_least_once_duplicating_and_exactly_once_not() {
    set_hash("#/compare");
    let root = dom::fresh_root();
    let app = yew::Renderer::<Site>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    dom::get_by_role(&root, "heading", "Compare");
    let pair = dom::get_by_role(
        &root,
        "button",
        "at least once vs exactly once (idempotent)",
    );
    assert_eq!(pair.get_attribute("aria-pressed").as_deref(), Some("true"));
    let diff = || dom::get_by_role(&root, "region", "What differs");
    assert!(diff()
        .text_content()
        .unwrap()
        .contains("Nothing differs yet."));

    steps(&root, 2).await;
    click(&root, "Drop confirms").await;
    steps(&root, 6).await;
    let clock = root.query_selector("[aria-label='Virtual time']").unwrap();
    assert_eq!(clock.unwrap().text_content().unwrap(), "t = 8.000 s");

    let left = dom::get_by_role(&root, "region", "at least once");
    let right = dom::get_by_role(&root, "region", "exactly once (idempotent)");
    assert!(
        dom::counter(&left, "Duplicated") > 0,
        "at least once duplicates"
    );
    assert_eq!(
        dom::counter(&right, "Duplicated"),
        0,
        "exactly once does not"
    );
    // Each pane's regions carry its name (axe's landmark-unique), the
    // story a clicked finding opens in both panes included.
    dom::get_by_role(&root, "region", "Findings, at least once");
    assert_region_names_unique(&root);
    let finding = left.query_selector("button.finding").unwrap().unwrap();
    finding.dyn_into::<web_sys::HtmlElement>().unwrap().click();
    yew::scheduler::flush().await;
    let stories = dom::all_by_role(&root, "region");
    let stories: Vec<&String> = stories
        .iter()
        .map(|(_, n)| n)
        .filter(|n| n.starts_with("Story of "))
        .collect();
    assert_eq!(stories.len(), 2, "a story in each pane: {stories:?}");
    assert_region_names_unique(&root);
    let said = diff().text_content().unwrap();
    assert!(said.contains("duplicated"), "{said}");
    assert!(said.contains("Findings only at least once has: "), "{said}");

    // Another pair starts both panes over.
    click(&root, "acks=1 vs acks=all").await;
    dom::get_by_role(&root, "region", "acks=1");
    dom::get_by_role(&root, "region", "acks=all");
    assert!(diff()
        .text_content()
        .unwrap()
        .contains("Nothing differs yet."));
    app.destroy();
    root.remove();
}
