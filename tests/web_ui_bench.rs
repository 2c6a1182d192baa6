//! Frame-time benchmark of the live page (printed, not asserted).
//!
//! It builds the target load through the page's own controls — 25
//! producers publishing about 9,650 msgs/s in all and 25 consumers — presses
//! Play and then awaits real animation frames, recording the time between
//! them. The app's own rAF loop does the work: at most 8 ms of simulation per
//! frame, then the checker a few times a second, then rendering. It takes
//! several seconds of wall time, so it is ignored in the test suite and run by
//! `bash scripts/bench.sh` (release build).
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;

use brokerlab::ui::App;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const FRAMES: usize = 300;

async fn set(root: &web_sys::Element, label: &str, value: &str) {
    dom::change(&dom::get_by_label(root, label), value);
    yew::scheduler::flush().await;
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run by scripts/bench.sh"]
async fn frame_times_with_fifty_clients_at_ten_thousand_msgs_per_s() {
    let root = dom::fresh_root();
    let app = yew::Renderer::<App>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    set(&root, "Rate", "400").await;
    for _ in 0..24 {
        dom::click(&root, "Add producer");
    }
    set(&root, "Processing time", "2").await;
    set(&root, "Prefetch", "50").await;
    for _ in 0..23 {
        dom::click(&root, "Add consumer");
    }
    yew::scheduler::flush().await;
    let clients = root
        .query_selector_all(".client")
        .expect("selector")
        .length();
    assert_eq!(clients, 50, "25 producers and 25 consumers");

    dom::click(&root, "Play");
    yew::scheduler::flush().await;
    let gaps_ms = dom::frame_gaps_ms(FRAMES).await;
    dom::click(&root, "Pause");
    yew::scheduler::flush().await;

    let processed = dom::counter(&root, "Processed");
    let wall_s: f64 = gaps_ms.iter().sum::<f64>() / 1000.0;
    let caption = root
        .query_selector(".topology .caption")
        .ok()
        .flatten()
        .and_then(|c| c.text_content())
        .unwrap_or_default();
    web_sys::console::log_1(
        &format!(
            "ui-bench: 50 clients, {FRAMES} frames in {wall_s:.2} s wall; frame ms p50 {:.1} p95 {:.1} p99 {:.1} max {:.1}; \
             {processed} processed ({:.0}/s of wall time); {caption}",
            dom::percentile(&gaps_ms, 0.50),
            dom::percentile(&gaps_ms, 0.95),
            dom::percentile(&gaps_ms, 0.99),
            gaps_ms[gaps_ms.len() - 1],
            processed as f64 / wall_s,
        )
        .into(),
    );
    assert!(processed > 0, "the simulation ran");
    app.destroy();
}
