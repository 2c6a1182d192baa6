//! Frame-time benchmark of the Compare page (issue 15 item 4), printed, not
//! asserted: two panes of 20 clients each (10 producers at 400 msgs/s and
//! 10 consumers a pane, `app::compare::bench_setup`), Run pressed, then
//! real animation frames awaited and the time between them recorded, as
//! `web_ui_bench` does for the playground, for the queue pair (at least
//! once vs exactly once) and a log pair (`acks=1` vs `acks=all`). The
//! page's own rAF loop does the work: both runs in lockstep within the
//! frame's budget, the checkers, the diff row and both panes' figures. Ignored in the suite; run by
//! `bash scripts/bench.sh` (release build).
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;

use brokerlab::app::compare::{bench_setup, Pair};
use brokerlab::ui::compare::{ComparePage, CompareProps};
use std::rc::Rc;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const FRAMES: usize = 300;

/// Runs the pair named `pair` (its button's name) from its start for
/// [`FRAMES`] frames and prints one `compare-bench:` line.
async fn measure(root: &web_sys::Element, pair: &str, sides: [&str; 2]) {
    dom::click(root, pair);
    dom::click(root, "Reset");
    yew::scheduler::flush().await;
    dom::click(root, "Run");
    yew::scheduler::flush().await;
    let gaps_ms = dom::frame_gaps_ms(FRAMES).await;
    dom::click(root, "Pause");
    yew::scheduler::flush().await;

    let processed =
        sides.map(|side| dom::counter(&dom::get_by_role(root, "region", side), "Processed"));
    let clock = root
        .query_selector("[aria-label='Virtual time']")
        .ok()
        .flatten()
        .and_then(|c| c.text_content())
        .unwrap_or_default();
    let wall_s: f64 = gaps_ms.iter().sum::<f64>() / 1000.0;
    web_sys::console::log_1(
        &format!(
            "compare-bench: {pair}, 2 panes x 20 clients, {FRAMES} frames in {wall_s:.2} s wall; frame ms p50 {:.1} p95 {:.1} p99 {:.1} max {:.1}; \
             processed {} / {}; {clock}",
            dom::percentile(&gaps_ms, 0.50),
            dom::percentile(&gaps_ms, 0.95),
            dom::percentile(&gaps_ms, 0.99),
            gaps_ms[gaps_ms.len() - 1],
            processed[0],
            processed[1],
        )
        .into(),
    );
    assert!(
        processed.iter().all(|&n| n > 0),
        "both runs ran: {processed:?}"
    );
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run by scripts/bench.sh"]
async fn frame_times_with_two_panes_of_twenty_clients() {
    let root = dom::fresh_root();
    let props = CompareProps {
        base: Some(Rc::new(bench_setup())),
    };
    let app = yew::Renderer::<ComparePage>::with_root_and_props(root.clone(), props).render();
    yew::scheduler::flush().await;
    // The queue pair, then a log pair (its checker also reads the log).
    for pair in [Pair::Guarantee, Pair::Acks] {
        let [left, right] = pair.sides();
        measure(&root, &format!("{left} vs {right}"), [left, right]).await;
    }
    app.destroy();
    root.remove();
}
