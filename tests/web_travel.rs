//! The timeline in the browser (issue 15 item 1): scrubbing back shows the
//! counters of a fresh run stopped at that instant, scrubbing forward again
//! gives back the end, and acting in the past forks (Undo brings the old
//! future back).
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;
use dom::{click_and_render as click, mount_app as mount};

use wasm_bindgen_test::*;
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

const COUNTERS: [&str; 6] = [
    "Published",
    "Confirmed",
    "Delivered",
    "Processed",
    "Redelivered",
    "In flight",
];

fn counters(root: &Element) -> Vec<u64> {
    COUNTERS.iter().map(|c| dom::counter(root, c)).collect()
}

async fn scrub(root: &Element, ms: u64) {
    dom::change(&dom::get_by_label(root, "Time"), &ms.to_string());
    yew::scheduler::flush().await;
}

#[wasm_bindgen_test]
async fn scrubbing_back_and_forth_matches_a_fresh_run_stopped_there() {
    // A fresh run stopped at 5 s (one Fast-forward covers exactly 5 s).
    let (fresh, app) = mount().await;
    click(&fresh, "Fast-forward").await;
    let at_5s = counters(&fresh);
    app.destroy();

    let (root, app) = mount().await;
    click(&root, "Fast-forward").await;
    click(&root, "Fast-forward").await;
    let at_10s = counters(&root);
    assert!(at_10s[0] > at_5s[0], "the run went on");
    scrub(&root, 5_000).await;
    assert_eq!(counters(&root), at_5s, "back at 5 s");
    click(&root, "Back").await;
    click(&root, "Forward").await;
    assert_eq!(counters(&root), at_5s, "Back then Forward");
    click(&root, "Jump to the end").await;
    assert_eq!(counters(&root), at_10s, "forward to the end again");
    app.destroy();
}

#[wasm_bindgen_test]
async fn acting_in_the_past_forks_and_undo_brings_the_future_back() {
    let (root, app) = mount().await;
    click(&root, "Fast-forward").await;
    click(&root, "Fast-forward").await;
    let at_10s = counters(&root);
    scrub(&root, 3_000).await;
    assert!(dom::all_by_role(&root, "button")
        .iter()
        .all(|(_, n)| n != "Undo"));
    click(&root, "Crash broker").await;
    click(&root, "Undo").await;
    click(&root, "Jump to the end").await;
    assert_eq!(counters(&root), at_10s, "the old future is back");
    app.destroy();
}
