//! Browser test: the app shell renders its header and playground area.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;

use brokerlab::ui::App;
use brokerlab::version::{PRODUCT_NAME, TAGLINE};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn shell_renders_header_and_main() {
    let root = dom::fresh_root();
    yew::Renderer::<App>::with_root(root.clone()).render();
    yew::scheduler::flush().await;

    let heading = dom::get_by_role(&root, "heading", PRODUCT_NAME);
    assert_eq!(heading.tag_name(), "H1");

    let banner = dom::all_by_role(&root, "banner");
    assert_eq!(banner.len(), 1, "exactly one page header");
    assert!(
        banner[0].1.contains(TAGLINE),
        "header shows the tagline, got {:?}",
        banner[0].1
    );

    dom::get_by_role(&root, "main", "Playground");
}
