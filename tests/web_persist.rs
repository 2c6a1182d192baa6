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

/// Runs `world` to its end, awaiting the store whenever the world waits for
/// a flush: the browser driver's loop, with a bound on how often it waits.
async fn run_awaiting(
    world: &mut brokerlab::sim::world::World,
    store: &brokerlab::ui::persist::SharedStore,
) -> u32 {
    use brokerlab::sim::world::{RunError, Step};
    let mut waits = 0;
    loop {
        match world.step() {
            Ok(Step::Ran { .. }) => {}
            Ok(Step::Finished) => return waits,
            Err(RunError::WaitingForStorage { flush, .. }) => {
                waits += 1;
                assert!(waits < 100_000, "waited on storage too often");
                wait_durable(store, flush).await;
            }
            Err(e) => panic!("run failed: {e}"),
        }
    }
}

/// Awaits flush `id`. The shared borrow lives across the await on purpose:
/// nothing borrows the store mutably meanwhile (the world is not stepped
/// while it waits), and the store's writer keeps its own state.
#[allow(clippy::await_holding_refcell_ref)]
async fn wait_durable(
    store: &brokerlab::ui::persist::SharedStore,
    id: brokerlab::storage::FlushId,
) {
    store.0.borrow().wait_durable(id).await;
}

#[wasm_bindgen_test]
async fn the_same_scenario_gives_the_same_history_on_memory_and_on_indexeddb() {
    use brokerlab::scenario::Scenario;
    use brokerlab::sim::world::World;
    use brokerlab::ui::persist::SharedStore;
    use std::cell::RefCell;
    use std::rc::Rc;

    // A broker crash at 1.5 s and a restart at 1.8 s: recovery reads the log
    // back from the store, so IndexedDB is on the critical path.
    let scenario =
        Scenario::from_json(include_str!("../scenarios/log_at_least_once.json")).unwrap();
    let mut on_memory = World::new(&scenario);
    on_memory.run().unwrap();

    let db_name = "brokerlab-test-same-history";
    IdbStore::delete_database(db_name)
        .await
        .expect("clear the test database");
    let mut config = IdbConfig::new(db_name);
    config.fsync_latency_ms = match &scenario.broker {
        brokerlab::scenario::BrokerSpec::Log(l) => l.fsync_latency_ms,
        _ => unreachable!("a log scenario"),
    };
    let mut idb = IdbStore::open(config).await.expect("open IndexedDB");
    idb.recover();
    let store = SharedStore(Rc::new(RefCell::new(idb)));
    let mut on_idb = World::with_storage(&scenario, Box::new(store.clone()));
    let waits = run_awaiting(&mut on_idb, &store).await;

    assert!(
        waits > 0,
        "the world really waited for IndexedDB transactions"
    );
    let names = on_memory.names();
    assert_eq!(on_memory.history().len(), on_idb.history().len());
    assert_eq!(
        on_memory.history().hash(names),
        on_idb.history().hash(on_idb.names()),
        "byte-identical histories"
    );
    web_sys::console::log_1(
        &format!("same history on memory and IndexedDB; the world waited {waits} times").into(),
    );
}

fn alerts(root: &web_sys::Element) -> Vec<String> {
    dom::all_by_role(root, "alert")
        .into_iter()
        .map(|(_, text)| text)
        .collect()
}

#[wasm_bindgen_test]
async fn another_tab_owning_the_log_is_offered_a_take_over() {
    // Play the other tab: take the page's log before the page opens it.
    let other = IdbStore::take_over(IdbConfig::new(DB_NAME))
        .await
        .expect("hold the page's log");
    let root = dom::fresh_root();
    let app = yew::Renderer::<App>::with_root(root.clone()).render();
    until("the other-tab banner", || {
        alerts(&root)
            .iter()
            .any(|a| a.contains("another tab owns the stored log"))
    })
    .await;
    dom::change(&dom::get_by_label(&root, "Broker"), "Log");
    yew::scheduler::flush().await;
    assert!(
        caption(&root).contains("in-memory disk model"),
        "{}",
        caption(&root)
    );

    dom::click(&root, "Take over");
    until("the take-over", || {
        caption(&root).contains("log in IndexedDB")
            || alerts(&root).iter().any(|a| a.contains("earlier visit"))
    })
    .await;
    // The other tab had written a log: the page asks before clearing it.
    if !caption(&root).contains("log in IndexedDB") {
        dom::click(&root, "Start fresh");
        until("the log to be this page's", || {
            caption(&root).contains("log in IndexedDB")
        })
        .await;
    }
    assert!(alerts(&root).is_empty(), "{:?}", alerts(&root));
    assert!(
        other.writable().is_err(),
        "the other tab can no longer write"
    );
    app.destroy();
}
