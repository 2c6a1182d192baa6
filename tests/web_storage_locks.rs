#![cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
// Two tabs on one log, against real Web Locks and IndexedDB in headless
// Chromium. Locks are per origin, so two stores in one page contend exactly
// as two tabs would. Also: an open blocked by an old connection. Each test
// uses its own database name.

use brokerlab::storage::batch::sample_batch;
use brokerlab::storage::idb::{frame, IdbConfig, IdbStore, DB_VERSION, STORE_NAME};
use brokerlab::storage::locks::{Lease, LeaseKind};
use brokerlab::storage::ownership::{Access, LeaseStatus};
use brokerlab::storage::{FlushState, Storage, StorageError, StreamId};
use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use wasm_bindgen_test::wasm_bindgen_test;

const P0: StreamId = StreamId::Partition {
    topic: 0,
    partition: 0,
};

/// A fresh, empty database owned by a recovered store.
async fn fresh_owner(name: &str) -> IdbStore {
    IdbStore::delete_database(name).await.expect("delete");
    let mut store = IdbStore::open(IdbConfig::new(name)).await.expect("owner");
    assert_eq!(store.recover().record_count(), 0);
    store
}

/// Appends one 10-record batch at `offset` and waits for it to be durable.
async fn write_durable(store: &mut IdbStore, offset: u64) {
    store.append(P0, &sample_batch(offset, 10, 8)).unwrap();
    let ticket = store.begin_flush(0).unwrap();
    store.wait_durable(ticket.id).await;
    assert_eq!(store.flush_state(ticket.id, 0), FlushState::Durable);
}

fn offsets(store: &mut IdbStore) -> Vec<u64> {
    store.recover().offsets(P0)
}

/// Lets spawned tasks (the lease watcher) run.
async fn yield_to_browser() {
    let tick = js_sys::Promise::new(&mut |resolve, _| {
        let window = web_sys::window().unwrap();
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 10);
    });
    wasm_bindgen_futures::JsFuture::from(tick).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_second_owner_is_refused_while_the_first_holds_the_lock() {
    let name = "brokerlab-locks-refused";
    let first = fresh_owner(name).await;
    assert_eq!(first.lease_status(), Some(LeaseStatus::Held));
    let error = IdbStore::open(IdbConfig::new(name)).await.unwrap_err();
    assert_eq!(
        error,
        StorageError::OtherTab {
            db_name: name.to_string()
        }
    );
    assert!(error.to_string().contains("read-only"), "{error}");
    let refused = Lease::acquire(name).await.unwrap_err();
    assert!(matches!(refused, StorageError::OtherTab { .. }));
    first.close().await;
}

#[wasm_bindgen_test]
async fn a_read_only_tab_reads_the_log_and_refuses_writes() {
    let name = "brokerlab-locks-read-only";
    let mut owner = fresh_owner(name).await;
    write_durable(&mut owner, 0).await;
    let mut reader = IdbStore::open_read_only(IdbConfig::new(name))
        .await
        .unwrap();
    assert_eq!(reader.access(), Access::ReadOnly);
    assert_eq!(offsets(&mut reader), (0..10).collect::<Vec<_>>());
    let db_name = name.to_string();
    let refused = reader.append(P0, &sample_batch(10, 1, 1)).unwrap_err();
    assert_eq!(refused, StorageError::ReadOnly { db_name });
    assert!(matches!(
        reader.begin_flush(0),
        Err(StorageError::ReadOnly { .. })
    ));
    reader.start_fresh();
    assert!(matches!(
        reader.last_repair_error(),
        Some(StorageError::ReadOnly { .. })
    ));
    // The owner is untouched and keeps writing.
    write_durable(&mut owner, 10).await;
    assert!(owner.writable().is_ok());
    reader.close().await;
    owner.close().await;
}

#[wasm_bindgen_test]
async fn take_over_hands_the_log_over_and_refuses_the_old_owners_writes() {
    let name = "brokerlab-locks-take-over";
    let mut old = fresh_owner(name).await;
    write_durable(&mut old, 0).await;
    let mut new = IdbStore::take_over(IdbConfig::new(name)).await.unwrap();
    yield_to_browser().await;
    assert_eq!(old.lease_status(), Some(LeaseStatus::TakenOver));
    let db_name = name.to_string();
    let refused = old.append(P0, &sample_batch(10, 1, 1)).unwrap_err();
    assert_eq!(refused, StorageError::TakenOver { db_name });
    assert!(refused.to_string().contains("took over"), "{refused}");
    // The new owner has everything the old one made durable, and goes on.
    assert_eq!(offsets(&mut new), (0..10).collect::<Vec<_>>());
    write_durable(&mut new, 10).await;
    let Access::Owner { epoch } = new.access() else {
        panic!("the new owner owns the log");
    };
    assert!(epoch >= 2, "taking over bumps the epoch: {epoch}");
    drop(old);
    new.close().await;
    let mut reopened = IdbStore::open(IdbConfig::new(name)).await.unwrap();
    assert_eq!(offsets(&mut reopened), (0..20).collect::<Vec<_>>());
    reopened.close().await;
}

#[wasm_bindgen_test]
async fn a_flush_racing_a_take_over_lands_whole_or_not_at_all() {
    let name = "brokerlab-locks-race";
    let mut old = fresh_owner(name).await;
    write_durable(&mut old, 0).await;
    // The old owner starts a flush and is taken over before it finishes.
    old.append(P0, &sample_batch(10, 10, 8)).unwrap();
    let racing = old.begin_flush(0).unwrap();
    let mut new = IdbStore::take_over(IdbConfig::new(name)).await.unwrap();
    old.wait_durable(racing.id).await;
    let seen = offsets(&mut new);
    match old.flush_state(racing.id, 0) {
        FlushState::Durable => assert_eq!(seen, (0..20).collect::<Vec<_>>()),
        FlushState::Failed(StorageError::TakenOver { .. }) => {
            assert_eq!(seen, (0..10).collect::<Vec<_>>())
        }
        other => panic!("unexpected {other:?}"),
    }
    // Whatever happened, the new owner continues the log without a hole.
    let end = *seen.last().unwrap() + 1;
    write_durable(&mut new, end).await;
    drop(old);
    new.close().await;
    let mut reopened = IdbStore::open(IdbConfig::new(name)).await.unwrap();
    assert_eq!(offsets(&mut reopened), (0..end + 10).collect::<Vec<_>>());
    reopened.close().await;
}

#[wasm_bindgen_test]
async fn release_lets_the_other_tab_in() {
    let name = "brokerlab-locks-release";
    let mut first = fresh_owner(name).await;
    write_durable(&mut first, 0).await;
    first.close().await;
    let mut second = IdbStore::open(IdbConfig::new(name)).await.unwrap();
    assert_eq!(offsets(&mut second), (0..10).collect::<Vec<_>>());
    write_durable(&mut second, 10).await;
    second.wait_idle().await;
    // Dropping the handle (a tab going away) releases the lock too.
    drop(second);
    yield_to_browser().await;
    let lease = Lease::acquire(name).await.unwrap();
    assert_eq!(lease.kind(), LeaseKind::Locked);
    lease.release().await;
}

#[wasm_bindgen_test]
async fn without_web_locks_the_fence_alone_refuses_the_old_owner() {
    let name = "brokerlab-locks-fence-only";
    IdbStore::delete_database(name).await.unwrap();
    let config = IdbConfig::new(name);
    let lease = Lease::fence_only(name);
    let mut old = IdbStore::open_owned(config.clone(), lease).await.unwrap();
    old.recover();
    write_durable(&mut old, 0).await;
    // The last opener wins: it bumps the epoch, and the old owner, which has
    // no lock to lose, learns of it only when its next write is fenced.
    let mut new = IdbStore::open_owned(config.clone(), Lease::fence_only(name))
        .await
        .unwrap();
    old.append(P0, &sample_batch(10, 10, 8)).unwrap();
    let fenced = old.begin_flush(0).unwrap();
    old.wait_durable(fenced.id).await;
    let db_name = name.to_string();
    let expected = StorageError::TakenOver { db_name };
    assert_eq!(
        old.flush_state(fenced.id, 0),
        FlushState::Failed(expected.clone())
    );
    assert_eq!(old.writable(), Err(expected));
    // Nothing of the fenced flush reached the disk.
    assert_eq!(offsets(&mut new), (0..10).collect::<Vec<_>>());
    new.close().await;
    let mut reopened = IdbStore::open(config).await.unwrap();
    assert_eq!(offsets(&mut reopened), (0..10).collect::<Vec<_>>());
    reopened.close().await;
}

/// An older build of the page: version 1 of the schema (no `meta` store),
/// one frame in it, and a connection that ignores `versionchange`.
async fn open_version_1(name: &str) -> Database {
    let db = Database::open(name)
        .with_version(1u32)
        .with_on_upgrade_needed(|_, db| {
            db.create_object_store(STORE_NAME).build()?;
            Ok(())
        })
        .await
        .expect("open version 1");
    let tx = db
        .transaction(STORE_NAME)
        .with_mode(TransactionMode::Readwrite)
        .build()
        .unwrap();
    let store = tx.object_store(STORE_NAME).unwrap();
    let value: wasm_bindgen::JsValue = frame(P0, &sample_batch(0, 10, 8).encode().unwrap()).into();
    store.put(value).with_key(0f64).primitive().unwrap();
    drop(store);
    tx.commit().await.expect("commit");
    db
}

#[wasm_bindgen_test]
async fn an_upgrade_blocked_by_an_old_connection_answers_blocked() {
    let name = "brokerlab-locks-blocked";
    IdbStore::delete_database(name).await.unwrap();
    const { assert!(DB_VERSION > 1) };
    let old_tab = open_version_1(name).await;
    let error = IdbStore::open(IdbConfig::new(name)).await.unwrap_err();
    assert_eq!(error, StorageError::Blocked);
    assert!(error.to_string().contains("another tab"), "{error}");
    // Once the old tab goes away, the upgrade to version 2 keeps its data.
    old_tab.close();
    yield_to_browser().await;
    let mut store = IdbStore::open(IdbConfig::new(name)).await.unwrap();
    assert_eq!(offsets(&mut store), (0..10).collect::<Vec<_>>());
    write_durable(&mut store, 10).await;
    store.close().await;
}
