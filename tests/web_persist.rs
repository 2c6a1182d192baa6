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

#[wasm_bindgen_test]
async fn log_runs_are_written_to_indexeddb_and_acks_wait_for_it() {
    let root = dom::fresh_root();
    let app = yew::Renderer::<App>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    dom::change(&dom::get_by_label(&root, "Broker"), "Log");
    dom::until("the store to open", || {
        caption(&root).contains("log in IndexedDB")
    })
    .await;

    // The page asked for persistent storage and says what the browser answered.
    dom::until("the persistent-storage line", || {
        dom::all_by_role(&root, "status")
            .iter()
            .any(|(_, name)| name.starts_with("Persistent storage:"))
    })
    .await;
    let line = dom::all_by_role(&root, "status")
        .into_iter()
        .map(|(_, name)| name)
        .find(|name| name.starts_with("Persistent storage:"))
        .unwrap();
    assert!(
        line.starts_with("Persistent storage: granted.")
            || line.starts_with("Persistent storage: not granted."),
        "the browser answered: {line}"
    );

    dom::click(&root, "Play");
    dom::until("records to be confirmed", || {
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
    world: &mut brokerlab::world::World,
    store: &brokerlab::ui::persist::SharedStore,
) -> u32 {
    run_awaiting_until(world, store, u64::MAX).await
}

/// [`run_awaiting`], stopping before the first event after `until_ms`.
async fn run_awaiting_until(
    world: &mut brokerlab::world::World,
    store: &brokerlab::ui::persist::SharedStore,
    until_ms: u64,
) -> u32 {
    use brokerlab::world::{RunError, Step};
    let mut waits = 0;
    loop {
        if world.next_event_ms().is_none_or(|t| t > until_ms) {
            return waits;
        }
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
    use brokerlab::config::Scenario;
    use brokerlab::ui::persist::SharedStore;
    use brokerlab::world::World;
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
        brokerlab::config::BrokerSpec::Log(l) => l.fsync_latency_ms,
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
    dom::until("the other-tab banner", || {
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
    dom::until("the take-over", || {
        caption(&root).contains("log in IndexedDB")
            || alerts(&root).iter().any(|a| a.contains("earlier visit"))
    })
    .await;
    // The other tab had written a log: the page asks before clearing it.
    if !caption(&root).contains("log in IndexedDB") {
        dom::click(&root, "Start fresh");
        dom::until("the log to be this page's", || {
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

/// Opens (creating) IndexedDB log `db_name` with the playground's fsync
/// latency; `recover` makes it ready to write (a resume recovers it itself).
async fn open_store(db_name: &str, recover: bool) -> brokerlab::ui::persist::SharedStore {
    use std::cell::RefCell;
    use std::rc::Rc;
    let mut config = IdbConfig::new(db_name);
    config.fsync_latency_ms = 5;
    let mut idb = IdbStore::open(config).await.expect("open IndexedDB");
    if recover {
        idb.recover();
    }
    brokerlab::ui::persist::SharedStore(Rc::new(RefCell::new(idb)))
}

/// Drops the page's last handle on the store and closes it (its lease is
/// released, its queued writes finish), as a reload does.
async fn close(store: brokerlab::ui::persist::SharedStore) {
    let Ok(idb) = std::rc::Rc::try_unwrap(store.0) else {
        panic!("another handle on the store is still alive");
    };
    idb.into_inner().close().await;
}

#[wasm_bindgen_test]
async fn a_reloaded_page_resumes_its_log_from_indexeddb() {
    use brokerlab::app::playground::{self, BrokerKind, Setup};
    use brokerlab::broker::log::LogNote;
    use brokerlab::broker::Note;
    use brokerlab::config::Guarantee;
    use brokerlab::history::{Entry, Proc};
    use brokerlab::world::World;

    let db_name = "brokerlab-test-resume";
    IdbStore::delete_database(db_name)
        .await
        .expect("clear the test database");
    let setup = Setup {
        broker: BrokerKind::Log,
        delivery: Guarantee::AtLeastOnce,
        partitions: 3,
        seed: 5,
        ..Setup::default()
    };
    let mut scenario = setup.to_scenario().unwrap();
    scenario.duration_ms = 4_000;

    // First visit: run 1.5 s through IndexedDB, with the setup saved.
    let store = open_store(db_name, true).await;
    store
        .0
        .borrow()
        .save_setup(&brokerlab::app::resume::to_text(&setup))
        .unwrap();
    let mut first = World::with_storage(&scenario, Box::new(store.clone()));
    run_awaiting_until(&mut first, &store, 1_500).await;
    let log = first.broker().as_log().unwrap();
    let views_before = log.partition_views(usize::MAX);
    let committed_before: Vec<Option<u64>> = (0..3).map(|p| log.committed(0, p)).collect();
    drop(first);
    close(store).await; // every handle gone, as a reload leaves it

    // Second visit: open, read the saved setup, resume.
    let store = open_store(db_name, false).await;
    let saved = store
        .0
        .borrow()
        .saved_setup()
        .unwrap()
        .expect("a saved setup");
    let saved = brokerlab::app::resume::from_text(&saved).unwrap();
    assert_eq!(saved, setup);
    let mut world = World::resume(&scenario, Box::new(store.clone())).unwrap();
    let log = world.broker().as_log().unwrap();
    for (before, after) in views_before.iter().zip(log.partition_views(usize::MAX)) {
        // What was durable is back; what was in flight at the reload may be
        // too (its IndexedDB transaction finished), never more than existed.
        assert!(
            after.end >= before.durable_end && after.end <= before.end,
            "{}: {} not in {}..={}",
            after.topic,
            after.end,
            before.durable_end,
            before.end
        );
        let n = after.msgs.len();
        assert_eq!(
            after.msgs[..],
            before.msgs[..n],
            "partition {}: the same records",
            after.partition
        );
        assert_eq!(
            after.end,
            after.msgs_from + n as u64,
            "count and last offset agree"
        );
    }
    let committed: Vec<Option<u64>> = (0..3).map(|p| log.committed(0, p)).collect();
    for (p, (after, before)) in committed.iter().zip(&committed_before).enumerate() {
        assert!(after.is_some(), "partition {p}: committed offset recovered");
        assert!(
            after <= before,
            "partition {p}: committed {after:?} beyond {before:?}"
        );
    }

    // The run goes on: the group starts at its committed offsets.
    run_awaiting(&mut world, &store).await;
    let mut first_position = std::collections::BTreeMap::new();
    for e in world.history().events() {
        if let (
            Proc::Broker(brokerlab::node::NodeId::FIRST),
            Entry::Broker(Note::Log(LogNote::Position {
                group: 0,
                partition,
                offset,
                ..
            })),
        ) = (e.process, e.entry)
        {
            first_position.entry(partition).or_insert(offset);
        }
    }
    for (p, committed) in committed.iter().enumerate() {
        assert_eq!(
            first_position.get(&(p as u16)),
            committed.as_ref(),
            "partition {p}: first fetch position"
        );
    }
    let summary = world.summary();
    let verdict = playground::verdict(Guarantee::AtLeastOnce, &summary);
    assert!(verdict.holds, "{} ({})", verdict.text, summary.identity);
    assert_eq!(summary.counts.lost, 0, "{}", summary.identity);
    assert_eq!(summary.counts.unexpected, 0, "{}", summary.identity);
    assert!(
        summary.log.unwrap().carried > 0,
        "records were carried over"
    );
    web_sys::console::log_1(&format!("resumed: {}", summary.identity).into());
}
