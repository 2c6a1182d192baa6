//! Browser test, issue 14 item 1 in the page: the queue broker's durable
//! queues keep their persistent messages in IndexedDB. A run with Durable
//! queues and Persistent messages on, then a remount of the page on the
//! same database (a reload): Resume brings the confirmed persistent
//! messages back, the delivered-but-unacked ones `redelivered`, and the
//! counters go on from them. With Persistent messages off, nothing is
//! stored and nothing comes back. Driven by accessible names; every wait is
//! `yew::scheduler::flush()` or an animation frame, never a sleep.
//!
//! In its own file (its own browser session) because it leaves stored
//! queues in the page's database, which other suites expect to be empty.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;

use brokerlab::storage::acked::{AckedRecord, ACKED_KEY};
use brokerlab::storage::idb::{IdbConfig, IdbStore};
use brokerlab::storage::{Storage, StreamId};
use brokerlab::ui::persist::DB_NAME;
use brokerlab::ui::App;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

fn caption(root: &Element) -> String {
    let caption = root.query_selector(".topology .caption").unwrap();
    caption.and_then(|c| c.text_content()).unwrap_or_default()
}

fn alerts(root: &Element) -> Vec<String> {
    let found = dom::all_by_role(root, "alert");
    found.into_iter().map(|(_, text)| text).collect()
}

/// Turns the switch labelled `label` on, as a click would.
fn switch_on(root: &Element, label: &str) {
    let input = dom::get_by_label(root, label)
        .dyn_into::<web_sys::HtmlInputElement>()
        .expect("a checkbox");
    assert!(!input.checked(), "{label} starts off");
    input.click();
}

/// A fresh page database and no record of earlier confirms; the page
/// mounted on it with the queue broker's durable queues on (and persistent
/// messages when `persistent`), played until 30 messages are confirmed,
/// then hidden (its record written at once) and closed. Returns what the
/// page showed as confirmed and the record it left.
async fn earlier_visit(persistent: bool) -> (u64, AckedRecord) {
    IdbStore::delete_database(DB_NAME).await.unwrap();
    local_storage().remove_item(ACKED_KEY).unwrap();
    let root = dom::fresh_root();
    let app = yew::Renderer::<App>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    dom::until("the store to open", || {
        dom::all_by_role(&root, "status")
            .iter()
            .any(|(_, name)| name.starts_with("Persistent storage:"))
    })
    .await;
    switch_on(&root, "Durable queues");
    yew::scheduler::flush().await;
    if persistent {
        switch_on(&root, "Persistent messages");
        yew::scheduler::flush().await;
    }
    dom::until("the durable queues on IndexedDB", || {
        caption(&root).contains("durable queues in IndexedDB")
    })
    .await;
    dom::click(&root, "Play");
    dom::until("messages to be confirmed", || {
        dom::counter(&root, "Confirmed") >= 30
    })
    .await;
    dom::click(&root, "Pause");
    yew::scheduler::flush().await;
    let confirmed = dom::counter(&root, "Confirmed");
    let event = web_sys::Event::new("pagehide").unwrap();
    web_sys::window().unwrap().dispatch_event(&event).unwrap();
    let text = local_storage().get_item(ACKED_KEY).unwrap();
    let record = AckedRecord::from_json(&text.expect("a record")).expect("readable");
    app.destroy();
    dom::closed_page_lets_go().await;
    (confirmed, record)
}

/// Messages each queue's stream holds in the page's database (entries of
/// every kind), read through a read-only handle.
async fn stored_entries() -> u64 {
    let mut reader = IdbStore::open_read_only(IdbConfig::new(DB_NAME))
        .await
        .expect("open the page's database read-only");
    let recovery = reader.recover();
    let queues = recovery.streams.iter();
    let queues = queues.filter(|(s, _)| matches!(s, StreamId::Queue { .. }));
    queues
        .flat_map(|(_, batches)| batches)
        .map(|b| b.records.len() as u64)
        .sum()
}

#[wasm_bindgen_test]
async fn confirmed_persistent_messages_come_back_after_a_remount_redelivered_when_unacked() {
    let (confirmed, record) = earlier_visit(true).await;
    assert!(
        record.acked >= confirmed,
        "{record:?}, {confirmed} confirmed"
    );
    assert!(
        record.queues.get("work").is_some_and(|&end| end > 0),
        "{record:?}"
    );
    assert_eq!(
        record.in_memory, 0,
        "every message was persistent: {record:?}"
    );
    assert!(stored_entries().await > 0);

    // The reload: a new page on the same database offers the stored queues.
    let root = dom::fresh_root();
    let app = yew::Renderer::<App>::with_root(root.clone()).render();
    dom::until("the stored-queues banner", || {
        alerts(&root)
            .iter()
            .any(|a| a.contains("Durable queues from an earlier visit"))
    })
    .await;
    let banner = alerts(&root).join(" ");
    assert!(
        banner.contains("durable queues, persistent messages"),
        "the saved setup is described: {banner}"
    );
    assert!(banner.contains("nothing is replayed"), "{banner}");
    dom::click(&root, "Resume");
    dom::until("the resume report", || {
        dom::all_by_role(&root, "status")
            .iter()
            .any(|(_, n)| n == "Resumed the durable queues of an earlier visit")
    })
    .await;
    let report = dom::all_by_role(&root, "status")
        .into_iter()
        .find(|(_, n)| n == "Resumed the durable queues of an earlier visit")
        .map(|(el, _)| el.text_content().unwrap_or_default())
        .unwrap();
    // "N persistent messages are back in the durable queues, M of them
    // confirmed before the page closed ... R had been delivered and not
    // acked, so they come back with redelivered set".
    let number_before = |text: &str, what: &str| -> u64 {
        let at = text
            .find(what)
            .unwrap_or_else(|| panic!("{what:?} in {text}"));
        let head = text[..at].trim_end();
        let digits: String = head
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect();
        digits
            .chars()
            .rev()
            .collect::<String>()
            .parse()
            .unwrap_or_else(|_| panic!("{text}"))
    };
    let back = number_before(&report, " persistent message");
    let redelivered = number_before(&report, " had been delivered and not acked");
    assert!(back > 0, "{report}");
    assert!(
        redelivered > 0,
        "the unacked prefetch comes back redelivered: {report}"
    );
    assert!(report.contains("held no transient messages"), "{report}");
    assert!(report.contains("Nothing is replayed"), "{report}");

    // The counters start from what came back: each message once (a
    // publish retried after a lost confirm may have left two copies).
    let published = dom::counter(&root, "Published");
    assert!(published > 0 && published <= back, "{published}: {report}");
    let unconfirmed = report.find(" written but never confirmed").map_or(0, |_| {
        number_before(&report, " written but never confirmed")
    });
    assert!(
        dom::counter(&root, "Confirmed") + unconfirmed >= published,
        "{report}"
    );
    assert_eq!(dom::counter(&root, "Lost"), 0);
    // The run goes on from them; the redelivered ones say so in the log.
    dom::click(&root, "Play");
    dom::until("the carried messages to be processed", || {
        dom::counter(&root, "Processed") >= back
    })
    .await;
    dom::click(&root, "Pause");
    yew::scheduler::flush().await;
    assert_eq!(dom::counter(&root, "Lost"), 0);
    let events = root
        .query_selector(".events")
        .unwrap()
        .and_then(|e| e.text_content())
        .unwrap_or_default();
    assert!(
        events.contains("from its store after the reload"),
        "{events}"
    );
    app.destroy();
}

#[wasm_bindgen_test]
async fn transient_messages_are_not_stored_and_do_not_come_back() {
    let (confirmed, record) = earlier_visit(false).await;
    assert!(confirmed >= 30);
    // Durable queues, transient messages: nothing reached the disk, and
    // the record counts what only memory held.
    assert_eq!(stored_entries().await, 0);
    assert!(record.queues.is_empty(), "{record:?}");
    assert!(
        record.in_memory > 0,
        "a backlog was held in memory: {record:?}"
    );

    // The reload offers nothing to resume: the messages are gone.
    let root = dom::fresh_root();
    let app = yew::Renderer::<App>::with_root(root.clone()).render();
    dom::until("the store to open", || {
        dom::all_by_role(&root, "status")
            .iter()
            .any(|(_, name)| name.starts_with("Persistent storage:"))
    })
    .await;
    let banners = alerts(&root).join(" ");
    assert!(!banners.contains("earlier visit"), "{banners}");
    assert_eq!(dom::counter(&root, "Published"), 0);
    app.destroy();
}
