//! Speed of a log run with its log in IndexedDB (printed, not asserted).
//!
//! The page's own controls: the Log broker with `acks=all` (At least once),
//! then for each speed a fresh run (Reset), Play, and real animation frames
//! for a few seconds of wall time. It prints one JSON line per speed: the
//! virtual ms the run covered per real ms, and what the page said about the
//! disk. Every `acks=all` answer waits for its IndexedDB transaction, so at
//! high speeds the disk sets the pace. Run by `bash scripts/bench.sh`
//! (release build); ignored in the test suite because it takes wall time.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;

use brokerlab::storage::idb::IdbStore;
use brokerlab::ui::persist::DB_NAME;
use brokerlab::ui::App;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Real ms each speed runs for.
const WALL_MS: f64 = 4_000.0;
/// The speeds measured, as the Speed control names them.
const SPEEDS: [&str; 4] = ["1×", "10×", "25×", "100×"];

fn caption(root: &web_sys::Element) -> String {
    let caption = root.query_selector(".topology .caption").unwrap();
    caption.and_then(|c| c.text_content()).unwrap_or_default()
}

/// The virtual clock the picture shows: "broker · t = 12.345 s · ...".
fn virtual_ms(root: &web_sys::Element) -> f64 {
    let text = caption(root);
    let t = text
        .split("t = ")
        .nth(1)
        .and_then(|rest| rest.split(" · ").next())
        .unwrap_or_else(|| panic!("no clock in {text:?}"));
    match t.strip_suffix(" ms") {
        Some(ms) => ms.parse().unwrap(),
        None => t.strip_suffix(" s").unwrap().parse::<f64>().unwrap() * 1000.0,
    }
}

/// Picks the option of the Speed control whose text is `label`.
fn choose_speed(root: &web_sys::Element, label: &str) {
    use wasm_bindgen::JsCast;
    let select = dom::get_by_label(root, "Speed");
    let options = select.query_selector_all("option").unwrap();
    let value = (0..options.length())
        .filter_map(|i| {
            options
                .item(i)?
                .dyn_into::<web_sys::HtmlOptionElement>()
                .ok()
        })
        .find(|o| o.text() == label)
        .unwrap_or_else(|| panic!("no speed {label}"))
        .value();
    dom::change(&select, &value);
}

/// What the page says about the disk while it sets the pace, if anything.
fn disk_line(root: &web_sys::Element) -> String {
    let text = root.text_content().unwrap_or_default();
    text.split("waiting for the disk")
        .nth(1)
        .and_then(|rest| rest.split(" real time").next())
        .map(|line| format!("waiting for the disk{line} real time"))
        .unwrap_or_default()
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run by scripts/bench.sh"]
async fn a_log_run_in_indexeddb_at_each_speed() {
    IdbStore::delete_database(DB_NAME)
        .await
        .expect("start from an empty page database");
    let root = dom::fresh_root();
    let _app = yew::Renderer::<App>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    dom::change(&dom::get_by_label(&root, "Broker"), "Log");
    dom::until("the log run on IndexedDB", || {
        caption(&root).contains("log in IndexedDB")
    })
    .await;
    for speed in SPEEDS {
        dom::click(&root, "Reset");
        choose_speed(&root, speed);
        yew::scheduler::flush().await;
        let start_virtual_ms = virtual_ms(&root);
        dom::click(&root, "Play");
        let start_ms = dom::next_frame().await;
        let mut now_ms = start_ms;
        let mut disk = String::new();
        while now_ms - start_ms < WALL_MS {
            now_ms = dom::next_frame().await;
            yew::scheduler::flush().await;
            let line = disk_line(&root);
            if !line.is_empty() {
                disk = line;
            }
        }
        dom::click(&root, "Pause");
        yew::scheduler::flush().await;
        let covered_ms = virtual_ms(&root) - start_virtual_ms;
        let ratio = covered_ms / (now_ms - start_ms);
        let confirmed = dom::counter(&root, "Confirmed");
        let lost = dom::counter(&root, "Lost");
        console_log!(
            "{{\"bench\":\"log_in_indexeddb\",\"speed\":\"{speed}\",\"virtual_ms_per_real_ms\":{ratio:.2},\"confirmed\":{confirmed},\"lost\":{lost},\"disk\":\"{disk}\"}}"
        );
    }
}
