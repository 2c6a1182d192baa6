//! Browser test: "Crash broker (tear the last write)" crashes the log broker
//! while its disk writes a group commit to IndexedDB; the batch in flight
//! lands cut short, and after "Restart broker" the page reports what
//! recovery truncated. Driven by accessible names, like `web_ui.rs`.
//!
//! In its own file (its own browser session) because it writes the page's
//! database, which other suites expect to be empty.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;

use brokerlab::storage::idb::IdbStore;
use brokerlab::ui::persist::DB_NAME;
use brokerlab::ui::App;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Steps at most this many times looking for a write in flight.
const STEPS_MAX: usize = 400;

fn caption(root: &web_sys::Element) -> String {
    let caption = root.query_selector(".topology .caption").unwrap();
    caption.and_then(|c| c.text_content()).unwrap_or_default()
}

/// Some record is drawn as appended but not on disk yet: its group commit
/// is being written (each box's SVG `<title>`, its accessible name).
fn a_write_in_flight(root: &web_sys::Element) -> bool {
    let titles = root.query_selector_all("svg g > title").unwrap();
    (0..titles.length())
        .filter_map(|i| titles.item(i)?.text_content())
        .any(|t| t.ends_with("(not yet on disk)"))
}

/// The text of the "Last broker crash" report, if the page shows one.
fn crash_report(root: &web_sys::Element) -> Option<String> {
    dom::all_by_role(root, "region")
        .into_iter()
        .find(|(_, name)| name == "Last broker crash")
        .and_then(|(el, _)| el.text_content())
}

#[wasm_bindgen_test]
async fn a_torn_write_is_truncated_at_restart_and_the_page_says_what_was_cut() {
    IdbStore::delete_database(DB_NAME)
        .await
        .expect("start from an empty page database");
    let root = dom::fresh_root();
    let _app = yew::Renderer::<App>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    let plain = dom::all_by_role(&root, "button");
    assert!(
        !plain
            .iter()
            .any(|(_, n)| n == "Crash broker (tear the last write)"),
        "the in-memory queue has no disk to tear"
    );
    dom::change(&dom::get_by_label(&root, "Broker"), "Log");
    dom::until("the log run on IndexedDB", || {
        caption(&root).contains("log in IndexedDB")
    })
    .await;
    assert!(crash_report(&root).is_none(), "no crash yet");

    for _ in 0..STEPS_MAX {
        if a_write_in_flight(&root) {
            break;
        }
        dom::click(&root, "Step");
        yew::scheduler::flush().await;
    }
    assert!(
        a_write_in_flight(&root),
        "no write in flight after {STEPS_MAX} steps"
    );

    dom::click(&root, "Crash broker (tear the last write)");
    yew::scheduler::flush().await;
    let report = crash_report(&root).expect("the crash is reported");
    assert!(
        report.contains(
            "the write in flight was torn: its last batch (orders-0) reached the disk with"
        ),
        "{report}"
    );
    assert!(report.contains("recovery runs at its restart"), "{report}");

    dom::click(&root, "Restart broker");
    yew::scheduler::flush().await;
    let report = crash_report(&root).expect("the restart is reported");
    assert!(
        report.contains("recovery truncated orders-0 at offset"),
        "{report}"
    );
    assert!(report.contains("batches,"), "{report}");
    // The log goes on after the cut, on the same store.
    dom::click(&root, "Play");
    dom::until("new records after the restart", || {
        dom::counter(&root, "Confirmed") > 5
    })
    .await;
    dom::click(&root, "Pause");
    yew::scheduler::flush().await;
    assert_eq!(
        dom::counter(&root, "Lost"),
        0,
        "nothing acknowledged was cut"
    );
}
