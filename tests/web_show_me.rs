//! "Show me" in the browser (issue 15 item 2): selecting a duplicate lists
//! its causal chain, built by the checker from the history, from its first
//! event (marked) through the confirm that never came back to the second
//! processing, and highlights the message in the topology.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;

use brokerlab::ui::App;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn show_me_on_a_duplicate_lists_its_chain_from_the_first_event() {
    let root = dom::fresh_root();
    let app = yew::Renderer::<App>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    // At least once with confirms dropped: producers publish again.
    dom::click(&root, "Fast-forward");
    yew::scheduler::flush().await;
    dom::click(&root, "Drop acks");
    yew::scheduler::flush().await;
    for _ in 0..2 {
        dom::click(&root, "Fast-forward");
        yew::scheduler::flush().await;
    }
    let (finding, name) = dom::all_by_role(&root, "button")
        .into_iter()
        .find(|(_, name)| name.starts_with("duplicated"))
        .expect("a duplicated finding is listed");
    finding.dyn_into::<web_sys::HtmlElement>().unwrap().click();
    yew::scheduler::flush().await;
    let msg = name.split_whitespace().nth(1).expect("names its message");
    let story = dom::get_by_role(&root, "region", &format!("Story of {msg}"));
    let rows = story.query_selector_all("li").unwrap();
    assert!(rows.length() >= 4, "publish, retry, and two processings");
    let first = story
        .query_selector("li[aria-current=\"step\"]")
        .unwrap()
        .expect("the first event is marked");
    let first_text = first.text_content().unwrap_or_default();
    assert!(first_text.contains("published"), "{first_text}");
    let text = story.text_content().unwrap_or_default();
    assert!(
        text.contains("drop"),
        "the dropped confirms are in the chain: {text}"
    );
    assert!(text.contains("again"), "and the repeat: {text}");
    app.destroy();
}
