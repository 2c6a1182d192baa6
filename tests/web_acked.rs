//! Browser test: the page's record of what it acknowledged (`localStorage`
//! `brokerlab.acked`), kept outside its database. A log that vanishes
//! between two loads does not vanish silently: the test deletes or shortens
//! the database, as a browser that lost its files would, and the next load
//! says how many acknowledged records are gone, per partition, and what it
//! means. And Resume tells the truth: how many records were acknowledged
//! before the page closed, how many came back, which are missing, and how
//! many were written but never acknowledged.
//!
//! In its own file (its own browser session): it deletes and damages the
//! page's database, which other suites expect to be theirs.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;

use brokerlab::storage::acked::{AckedRecord, ACKED_KEY};
use brokerlab::storage::idb::{IdbConfig, IdbStore};
use brokerlab::storage::{Storage, StreamId};
use brokerlab::ui::persist::DB_NAME;
use brokerlab::ui::App;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

fn stored_record() -> Option<AckedRecord> {
    let text = local_storage().get_item(ACKED_KEY).unwrap()?;
    Some(AckedRecord::from_json(&text).expect("the page writes a readable record"))
}

fn caption(root: &web_sys::Element) -> String {
    let caption = root.query_selector(".topology .caption").unwrap();
    caption.and_then(|c| c.text_content()).unwrap_or_default()
}

fn page_text(root: &web_sys::Element) -> String {
    root.text_content().unwrap_or_default()
}

/// The earlier visit, in the page itself: a log run with `acks=all` until
/// `confirmed` records are confirmed, then the page is hidden (its record is
/// written at once) and closed. Returns the record it left.
async fn earlier_visit(confirmed: u64) -> AckedRecord {
    IdbStore::delete_database(DB_NAME).await.unwrap();
    local_storage().remove_item(ACKED_KEY).unwrap();
    let root = dom::fresh_root();
    let app = yew::Renderer::<App>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    dom::change(&dom::get_by_label(&root, "Broker"), "Log");
    dom::until("the store to open", || {
        caption(&root).contains("log in IndexedDB")
    })
    .await;
    dom::click(&root, "Play");
    dom::until("records to be confirmed", || {
        dom::counter(&root, "Confirmed") >= confirmed
    })
    .await;
    dom::click(&root, "Pause");
    yew::scheduler::flush().await;
    let event = web_sys::Event::new("pagehide").unwrap();
    web_sys::window().unwrap().dispatch_event(&event).unwrap();
    let record = stored_record().expect("the page recorded its acknowledgements");
    let shown = dom::counter(&root, "Confirmed");
    app.destroy();
    dom::closed_page_lets_go().await;
    assert_eq!(record.db, DB_NAME);
    assert!(
        record.acked >= confirmed && record.acked >= shown,
        "{record:?}, {shown} confirmed on the page"
    );
    record
}

/// Renders the page and waits for the alert named `name`.
async fn load_page_until_alert(name: &str) -> (web_sys::Element, yew::AppHandle<App>) {
    let root = dom::fresh_root();
    let app = yew::Renderer::<App>::with_root(root.clone()).render();
    dom::until(name, || {
        let alerts = dom::all_by_role(&root, "alert");
        alerts.iter().any(|(_, n)| n == name)
    })
    .await;
    (root, app)
}

#[wasm_bindgen_test]
async fn a_database_deleted_between_two_loads_is_reported_with_the_count() {
    let record = earlier_visit(30).await;
    let gone = record.acked_offsets();
    assert!(gone >= 30, "{record:?}");
    // The browser loses the database, as Chromium does after a crash.
    IdbStore::delete_database(DB_NAME).await.unwrap();

    let headline = format!("{gone} acknowledged records are gone from the stored log");
    let (root, app) = load_page_until_alert(&headline).await;
    let banner = dom::get_by_role(&root, "alert", &headline);
    let text = banner.text_content().unwrap_or_default();
    for (partition, end) in &record.partitions {
        let listed = format!("{partition} offsets 0..{end} ({end})");
        assert!(text.contains(&listed), "{listed} not in: {text}");
    }
    assert!(text.contains("created anew"), "{text}");
    assert!(text.contains("The browser reported nothing."), "{text}");
    assert!(
        text.contains("the browser's storage is this broker's disk, and the disk failed"),
        "{text}"
    );
    assert!(
        text.contains(&format!("acknowledged {} produce requests", record.acked)),
        "{text}"
    );
    // Until the person chooses, log runs keep off the store, so the record
    // stays as evidence.
    dom::change(&dom::get_by_label(&root, "Broker"), "Log");
    yew::scheduler::flush().await;
    assert!(
        caption(&root).contains("in-memory"),
        "log runs use the in-memory model: {}",
        caption(&root)
    );
    assert_eq!(stored_record(), Some(record));

    // Start fresh forgets the record; the next log run is stored again.
    dom::click(&root, "Start fresh");
    dom::until("the loss banner to go", || {
        !page_text(&root).contains("acknowledged records are gone")
    })
    .await;
    dom::until("a run in IndexedDB", || {
        caption(&root).contains("log in IndexedDB")
    })
    .await;
    let fresh = stored_record().unwrap_or_else(|| AckedRecord::new(DB_NAME));
    assert_eq!(fresh.acked_offsets(), 0, "{fresh:?}");
    app.destroy();
}

#[wasm_bindgen_test]
async fn a_shortened_log_is_reported_next_to_the_resume_choice() {
    let record = earlier_visit(40).await;
    // The disk keeps all but the last 3 acknowledged records of orders-0.
    let end = record.partitions["orders-0"];
    assert!(end > 3, "{record:?}");
    let mut store = IdbStore::open(IdbConfig::new(DB_NAME)).await.unwrap();
    store.recover();
    let stream = StreamId::Partition {
        topic: 0,
        partition: 0,
    };
    store.truncate(stream, end - 3).unwrap();
    store.close().await;

    let headline = "3 acknowledged records are gone from the stored log";
    let (root, app) = load_page_until_alert(headline).await;
    let banner = dom::get_by_role(&root, "alert", headline);
    let text = banner.text_content().unwrap_or_default();
    let listed = format!("orders-0 offsets {}..{end} (3)", end - 3);
    assert!(text.contains(&listed), "{listed} not in: {text}");
    assert!(text.contains("came back shorter"), "{text}");
    // The rest of the log is offered as before, with one Start fresh.
    let page = page_text(&root);
    assert!(page.contains("A log from an earlier visit"), "{page}");
    assert!(!dom::get_by_role(&root, "button", "Resume").has_attribute("disabled"));

    // Resume says which acknowledged records are missing, and the checker
    // counts them as lost.
    dom::click(&root, "Resume");
    let resumed = "Resumed the log of an earlier visit: acknowledged records are missing";
    dom::until("the resumed alert", || {
        dom::all_by_role(&root, "alert")
            .iter()
            .any(|(_, n)| n == resumed)
    })
    .await;
    let k = record.acked_offsets();
    let text = dom::get_by_role(&root, "alert", resumed)
        .text_content()
        .unwrap_or_default();
    let says = format!(
        "{k} records were acknowledged before the page closed; {} of {k} recovered. Missing: {listed}.",
        k - 3
    );
    assert!(text.contains(&says), "{says:?} not in: {text}");
    assert_eq!(dom::counter(&root, "Lost"), 3);
    assert!(
        page_text(&root)
            .contains("were acknowledged before the page closed and are not in the recovered log"),
        "the lost finding is listed"
    );
    app.destroy();
}

#[wasm_bindgen_test]
async fn resume_says_how_many_acknowledged_records_came_back() {
    let record = earlier_visit(30).await;
    let k = record.acked_offsets();
    let root = dom::fresh_root();
    let app = yew::Renderer::<App>::with_root(root.clone()).render();
    dom::until("the stored-log banner", || {
        page_text(&root).contains("A log from an earlier visit")
    })
    .await;
    assert!(
        !page_text(&root).contains("acknowledged records are gone"),
        "a whole log raises no alarm"
    );
    dom::click(&root, "Resume");
    let resumed = "Resumed the log of an earlier visit";
    dom::until("the resumed status", || {
        dom::all_by_role(&root, "status")
            .iter()
            .any(|(_, n)| n == resumed)
    })
    .await;
    let text = dom::get_by_role(&root, "status", resumed)
        .text_content()
        .unwrap_or_default();
    let says =
        format!("{k} records were acknowledged before the page closed; {k} of {k} recovered.");
    assert!(text.contains(&says), "{says:?} not in: {text}");
    assert!(
        text.contains("written to the log but never acknowledged")
            || text.contains("No recovered record was written without being acknowledged."),
        "{text}"
    );
    // Confirmed is what was acknowledged, not every stored record.
    assert_eq!(dom::counter(&root, "Confirmed"), k);
    assert!(dom::counter(&root, "Published") >= k);
    assert_eq!(dom::counter(&root, "Lost"), 0);
    app.destroy();
}
