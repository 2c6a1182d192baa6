//! Browser test: the page's log broker writes its log to IndexedDB.
//!
//! In its own file so it gets its own browser session and an empty database.
//! Waiting is done by awaiting animation frames (the browser's own turns, in
//! which IndexedDB completes transactions), never by sleeping.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;

use brokerlab::storage::idb::{IdbConfig, IdbStore};
use brokerlab::storage::Storage;
use brokerlab::ui::persist::DB_NAME;
use brokerlab::ui::App;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn caption(root: &web_sys::Element) -> String {
    root.query_selector(".topology .caption")
        .unwrap()
        .and_then(|c| c.text_content())
        .unwrap_or_default()
}

/// Awaits frames until `ready` holds; panics with `what` after 300 frames.
async fn until(what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..300 {
        yew::scheduler::flush().await;
        if ready() {
            return;
        }
        dom::next_frame().await;
    }
    panic!("gave up waiting for {what}");
}

#[wasm_bindgen_test]
async fn log_runs_are_written_to_indexeddb_and_acks_wait_for_it() {
    let root = dom::fresh_root();
    let app = yew::Renderer::<App>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    dom::change(&dom::get_by_label(&root, "Broker"), "Log");
    until("the store to open", || {
        caption(&root).contains("log in IndexedDB")
    })
    .await;

    dom::click(&root, "Play");
    until("records to be confirmed", || {
        dom::counter(&root, "Confirmed") >= 20
    })
    .await;
    dom::click(&root, "Pause");
    yew::scheduler::flush().await;
    let confirmed = dom::counter(&root, "Confirmed");
    assert_eq!(dom::counter(&root, "Lost"), 0);

    // Every confirmed record is in IndexedDB: read it back through a
    // read-only handle while the page still owns the log.
    let mut reader = IdbStore::open_read_only(IdbConfig::new(DB_NAME))
        .await
        .expect("open the page's log read-only");
    let stored: u64 = reader
        .recover()
        .streams
        .values()
        .flatten()
        .map(|batch| batch.records.len() as u64)
        .sum();
    assert!(
        stored >= confirmed,
        "{stored} records stored, {confirmed} confirmed (acks=all waits for IndexedDB)"
    );
    app.destroy();
}
