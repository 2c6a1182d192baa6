//! The cost of each delivery guarantee in the browser: the same workloads as
//! `brokerlab bench --guarantees` (`src/bench.rs`), printed as JSON lines
//! with `"platform":"wasm"`. It takes several seconds of wall time, so it is
//! ignored in the test suite and run by `bash scripts/bench.sh` (release
//! build), which prints the wasm/native ratio per guarantee.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
#[ignore = "benchmark: run by scripts/bench.sh"]
fn guarantee_bench_prints_messages_per_second_per_guarantee() {
    let messages = brokerlab::bench::GUARANTEE_MESSAGES;
    let performance = web_sys::window()
        .and_then(|w| w.performance())
        .expect("a page has window.performance");
    let mut clock_s = || performance.now() / 1000.0;
    let lines = brokerlab::bench::guarantee_lines("wasm", messages, &mut clock_s);
    assert_eq!(lines.len(), 7, "4 guarantees on the log, 3 on the queue");
    for line in lines {
        console_log!("{line}");
    }
}
