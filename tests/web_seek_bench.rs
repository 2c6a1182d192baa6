//! Seek benchmark of the timeline (issue 15 item 1), printed, not asserted:
//! a 60 s run of the load (25 producers at 10,000 msgs/s in all, 25
//! consumers), then seeks to instants across it, timed with
//! `performance.now()`. A seek restores the nearest checkpoint at or before
//! its instant and replays the rest (`src/app/session/checkpoints.rs`);
//! the checkpoints' memory is what copying them allocated, weighed by the
//! crate's heap meter (`src/meter.rs`). Ignored in the suite; run by
//! `bash scripts/bench.sh` (release build).
#![cfg(target_arch = "wasm32")]

// Only `next_frame` is used here.
#[path = "support/dom.rs"]
#[allow(dead_code)]
mod dom;

use brokerlab::app::session::{seek_bench_setup, Session};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Virtual length of the run seeked in.
const RUN_MS: u64 = 60_000;

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Where the seek benchmark seeks, back and forth. Off the whole seconds
/// on purpose: a run advanced a second at a time takes its checkpoints on
/// them, and a seek onto one replays nothing. x_999 ms is the worst case,
/// a whole spacing (1 s) of replay.
const SEEK_INSTANTS_MS: [u64; 7] = [4_999, 30_500, 58_999, 15_250, 45_750, 1_234, 59_999];

#[wasm_bindgen_test]
#[ignore = "benchmark: run by scripts/bench.sh"]
async fn seek_time_in_a_sixty_second_run_at_ten_thousand_msgs_per_s() {
    let mut s = Session::from_setup(&seek_bench_setup()).expect("a valid setup");
    let mut run_ms = 0.0;
    // A second of virtual time at a time, giving the browser its turn
    // between them (a renderer busy for 30 s is taken for hung).
    for _ in 0..RUN_MS / 1_000 {
        let start = now_ms();
        s.advance(1_000, &mut || false);
        run_ms += now_ms() - start;
        dom::next_frame().await;
    }
    let mut seeks = Vec::new();
    // Back and forth: each lands at most a checkpoint's spacing past one.
    for t in SEEK_INSTANTS_MS {
        let start = now_ms();
        s.seek_ms(t).expect("seek");
        seeks.push(now_ms() - start);
        dom::next_frame().await;
    }
    let mean = seeks.iter().sum::<f64>() / seeks.len() as f64;
    let max = seeks.iter().copied().fold(0.0, f64::max);
    let (bytes, count) = s.checkpoint_memory();
    web_sys::console::log_1(
        &format!(
            "{{\"bench\":\"seek\",\"platform\":\"wasm\",\"run_virtual_ms\":{RUN_MS},\"events\":{},\"run_wall_ms\":{run_ms:.0},\"seek_ms_mean\":{mean:.0},\"seek_ms_max\":{max:.0},\"seeks_ms\":{seeks:.0?},\"checkpoints\":{count},\"checkpoint_bytes\":{bytes},\"goal_seek_ms\":100,\"goal_checkpoint_bytes_max\":67108864}}",
            s.head().events
        )
        .into(),
    );
}
