//! Browser test: the page finds a log an earlier visit left in IndexedDB and
//! offers to resume it. Driven by accessible names, like `web_ui.rs`.
//!
//! In its own file (its own browser session) because it leaves a stored log
//! in the page's database, which other suites expect to be empty.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;

use brokerlab::app::playground::{BrokerKind, Setup};
use brokerlab::config::Guarantee;
use brokerlab::storage::idb::{IdbConfig, IdbStore};
use brokerlab::storage::Storage;
use brokerlab::ui::persist::{SharedStore, DB_NAME};
use brokerlab::ui::App;
use brokerlab::world::{RunError, Step, World};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn alerts(root: &web_sys::Element) -> Vec<String> {
    let found = dom::all_by_role(root, "alert");
    found.into_iter().map(|(_, text)| text).collect()
}

fn caption(root: &web_sys::Element) -> String {
    let caption = root.query_selector(".topology .caption").unwrap();
    caption.and_then(|c| c.text_content()).unwrap_or_default()
}

/// The partitions as the topology names them (each `<g>`'s SVG `<title>`,
/// its accessible name): "orders-0: offsets 0..12, 12 on disk, ...".
fn partition_titles(root: &web_sys::Element) -> Vec<String> {
    let titles = root.query_selector_all("svg g > title").unwrap();
    (0..titles.length())
        .filter_map(|i| titles.item(i)?.text_content())
        .filter(|t| t.starts_with("orders-") && t.contains(": offsets "))
        .collect()
}

fn button_disabled(root: &web_sys::Element, name: &str) -> bool {
    dom::get_by_role(root, "button", name).has_attribute("disabled")
}

/// The page's database, emptied, opened and recovered, with `setup` saved
/// next to the (empty) log as the page saves it.
async fn page_store_with(setup: &Setup) -> IdbStore {
    IdbStore::delete_database(DB_NAME)
        .await
        .expect("clear the page's log");
    let mut config = IdbConfig::new(DB_NAME);
    config.fsync_latency_ms = 5;
    let mut idb = IdbStore::open(config).await.expect("open IndexedDB");
    idb.recover();
    idb.save_setup(&brokerlab::app::resume::to_text(setup))
        .unwrap();
    idb
}

/// The earlier visit: a log run of `setup` for 1.5 s through the page's own
/// database, its setup saved, then every handle closed (a reload).
async fn earlier_visit(setup: &Setup) -> u64 {
    let idb = page_store_with(setup).await;
    let store = SharedStore(Rc::new(RefCell::new(idb)));
    let mut world = World::with_storage(&setup.to_scenario().unwrap(), Box::new(store.clone()));
    while world.next_event_ms().is_some_and(|t| t <= 1_500) {
        match world.step() {
            Ok(Step::Ran { .. } | Step::Finished) => {}
            Err(RunError::WaitingForStorage { flush, .. }) => wait_durable(&store, flush).await,
            Err(e) => panic!("the earlier visit's run failed: {e}"),
        }
    }
    let durable: u64 = world
        .broker()
        .as_log()
        .unwrap()
        .partition_views(0)
        .iter()
        .map(|p| p.durable_end)
        .sum();
    drop(world);
    let Ok(idb) = Rc::try_unwrap(store.0) else {
        panic!("a handle on the store is still alive");
    };
    idb.into_inner().close().await;
    durable
}

/// Awaits flush `id`; see `web_persist.rs` for why the borrow may span it.
#[allow(clippy::await_holding_refcell_ref)]
async fn wait_durable(store: &SharedStore, id: brokerlab::storage::FlushId) {
    store.0.borrow().wait_durable(id).await;
}

/// Renders the page and waits for its stored-log banner.
async fn load_page() -> (web_sys::Element, yew::AppHandle<App>) {
    let root = dom::fresh_root();
    let app = yew::Renderer::<App>::with_root(root.clone()).render();
    dom::until("the stored-log banner", || {
        alerts(&root).iter().any(|a| a.contains("earlier visit"))
    })
    .await;
    (root, app)
}

fn log_setup() -> Setup {
    Setup {
        broker: BrokerKind::Log,
        delivery: Guarantee::AtLeastOnce,
        partitions: 2,
        seed: 9,
        ..Setup::default()
    }
}

#[wasm_bindgen_test]
async fn a_stored_log_is_offered_for_resume_and_resume_shows_its_records() {
    let durable = earlier_visit(&log_setup()).await;
    assert!(
        durable > 20,
        "the earlier visit stored a log ({durable} records)"
    );

    let (root, app) = load_page().await;
    let banner = alerts(&root).join(" ");
    assert!(
        banner.contains("Log, At least once, 2 partitions, seed 9"),
        "{banner}"
    );
    assert!(!button_disabled(&root, "Resume"), "Resume is offered");
    assert!(
        !button_disabled(&root, "Start fresh"),
        "Start fresh is offered"
    );

    dom::click(&root, "Resume");
    dom::until("the resumed run", || {
        caption(&root).contains("log in IndexedDB")
    })
    .await;
    assert!(alerts(&root).is_empty(), "{:?}", alerts(&root));
    // The setup of the earlier visit is back in the controls.
    let partitions = dom::get_by_label(&root, "Partitions");
    let value = partitions
        .dyn_ref::<web_sys::HtmlInputElement>()
        .unwrap()
        .value();
    assert_eq!(value, "2");
    // The recovered records are drawn, and counted as published.
    let titles = partition_titles(&root);
    assert_eq!(titles.len(), 2, "{titles:?}");
    let ends: u64 = titles
        .iter()
        .map(|t| {
            let range = t.split(": offsets ").nth(1).unwrap();
            let end = range.split(',').next().unwrap().split("..").nth(1).unwrap();
            end.parse::<u64>().unwrap()
        })
        .sum();
    assert!(
        ends >= durable,
        "{ends} records shown, {durable} were durable: {titles:?}"
    );
    assert!(dom::counter(&root, "Published") >= durable);
    let page = root.text_content().unwrap_or_default();
    assert!(
        page.contains("Resumed the log of an earlier visit"),
        "the resume is reported"
    );
    // That visit ran outside the page, so it left no record of what was
    // acknowledged: Resume says it cannot tell.
    let resumed = dom::get_by_role(&root, "status", "Resumed the log of an earlier visit");
    let text = resumed.text_content().unwrap_or_default();
    assert!(
        text.contains("No record of what was acknowledged survived"),
        "{text}"
    );
    assert!(
        page.contains("came back from an earlier visit"),
        "the event log lists carried records"
    );

    // It runs on, with nothing lost.
    dom::click(&root, "Play");
    dom::until("new records to be confirmed", || {
        dom::counter(&root, "Confirmed") >= dom::counter(&root, "Published") / 2 + 20
    })
    .await;
    dom::click(&root, "Pause");
    yew::scheduler::flush().await;
    assert_eq!(dom::counter(&root, "Lost"), 0);

    // Start fresh after Resume still works: the log is cleared and a new,
    // empty run begins on it.
    dom::click(&root, "Start fresh");
    dom::until("a fresh run", || {
        partition_titles(&root)
            .iter()
            .all(|t| t.contains(": offsets 0..0,"))
    })
    .await;
    assert!(
        caption(&root).contains("log in IndexedDB"),
        "{}",
        caption(&root)
    );
    app.destroy();
}

#[wasm_bindgen_test]
async fn a_stored_log_without_a_usable_setup_offers_only_start_fresh() {
    earlier_visit(&log_setup()).await;
    // Damage the saved setup, as an older page or a broken write would.
    let config = IdbConfig::new(DB_NAME);
    let idb = IdbStore::open(config).await.expect("open IndexedDB");
    idb.save_setup("{\"version\":1,\"setup\":{\"broker\":\"kafka\"}}")
        .unwrap();
    idb.close().await;

    let (root, app) = load_page().await;
    let banner = alerts(&root).join(" ");
    assert!(banner.contains("cannot be resumed"), "{banner}");
    assert!(banner.contains("setup.broker"), "says where: {banner}");
    assert!(button_disabled(&root, "Resume"));
    dom::click(&root, "Start fresh");
    dom::until("the log to be cleared", || alerts(&root).is_empty()).await;
    app.destroy();
}

#[wasm_bindgen_test]
async fn loading_a_scenario_after_resume_retires_the_resumed_banner() {
    earlier_visit(&log_setup()).await;
    let (root, app) = load_page().await;
    dom::click(&root, "Resume");
    dom::until("the resumed banner", || {
        root.text_content()
            .unwrap_or_default()
            .contains("Resumed the log of an earlier visit")
    })
    .await;
    // A bundled example is a new run: the banner no longer describes it.
    let menu = dom::get_by_label(&root, "Scenario");
    dom::change(&menu, "ack_deletes");
    yew::scheduler::flush().await;
    let page = root.text_content().unwrap_or_default();
    assert!(
        !page.contains("Resumed the log of an earlier visit"),
        "the resumed banner stays after loading a scenario"
    );
    // The stored log stays; the next test's earlier visit deletes it.
    app.destroy();
}

/// A stored log with no partition records (here only a committed offset, as
/// when retention deleted every record) is still offered, never wiped by
/// the page's first log run.
#[wasm_bindgen_test]
async fn a_stored_log_without_records_is_offered_not_wiped() {
    let mut idb = page_store_with(&log_setup()).await;
    // Group 0, partition 0, committed offset 42.
    let offset = brokerlab::storage::RecordBatch {
        base_offset: 0,
        records: vec![brokerlab::storage::Record {
            offset: 0,
            timestamp_ms: 0,
            producer_id: 0,
            key: Some(vec![0, 0, 0, 0]),
            value: 42u64.to_le_bytes().to_vec(),
        }],
    };
    idb.append(brokerlab::storage::StreamId::Offsets, &offset)
        .unwrap();
    let ticket = idb.begin_flush(0).unwrap();
    idb.wait_durable(ticket.id).await;
    idb.close().await;

    let (root, app) = load_page().await;
    let banner = alerts(&root).join(" ");
    assert!(
        banner.contains("no records, only committed offsets"),
        "{banner}"
    );
    assert!(!button_disabled(&root, "Resume"));
    app.destroy();
}
