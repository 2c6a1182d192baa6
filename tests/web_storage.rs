#![cfg(target_arch = "wasm32")]
//! The IndexedDB store against real IndexedDB in headless Chromium: round
//! trip, crash before and after commit, torn and corrupt data, reload,
//! injected quota and unavailable failures, versionchange, and the same
//! script giving the same recovery on the memory store and on IndexedDB.
//! Each test uses its own database name.

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use brokerlab::storage::batch::{sample_batch, DecodeError};
use brokerlab::storage::idb::{frame, FaultInjection, IdbConfig, IdbStore, DB_VERSION, STORE_NAME};
use brokerlab::storage::recovery::TruncationReason;
use brokerlab::storage::{
    FlushId, FlushState, Limits, MemoryStore, Recovery, Storage, StorageError, StreamId, Tear,
};
use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use wasm_bindgen_test::wasm_bindgen_test;

const P0: StreamId = StreamId::Partition {
    topic: 0,
    partition: 0,
};
const P1: StreamId = StreamId::Partition {
    topic: 0,
    partition: 1,
};
const FSYNC_MS: u64 = 5;

fn config(name: &str) -> IdbConfig {
    IdbConfig {
        fsync_latency_ms: FSYNC_MS,
        ..IdbConfig::new(name)
    }
}

/// A fresh, empty, recovered store.
async fn fresh(config: IdbConfig) -> IdbStore {
    IdbStore::delete_database(&config.db_name)
        .await
        .expect("delete old database");
    let mut store = IdbStore::open(config).await.expect("open");
    assert_eq!(store.recover().record_count(), 0, "fresh database is empty");
    store
}

/// Closes every handle and opens again, as a page reload would.
async fn reload(store: IdbStore, config: IdbConfig) -> IdbStore {
    store.close().await;
    IdbStore::open(config).await.expect("reopen")
}

fn append_batches(store: &mut impl Storage, stream: StreamId, from_offset: u64, count: u64) -> u64 {
    for i in 0..count {
        store
            .append(stream, &sample_batch(from_offset + i * 10, 10, 8))
            .expect("append");
    }
    from_offset + count * 10
}

/// Flushes at `now_ms` and waits until the flush is durable.
async fn flush_durable(store: &mut IdbStore, now_ms: u64) -> FlushId {
    let ticket = store.begin_flush(now_ms).expect("begin flush");
    store.wait_durable(ticket.id).await;
    assert_eq!(
        store.flush_state(ticket.id, ticket.completes_at_ms),
        FlushState::Durable
    );
    ticket.id
}

#[wasm_bindgen_test]
async fn write_then_reload_reads_the_same_records() {
    let config = config("brokerlab-storage-round-trip");
    let mut store = fresh(config.clone()).await;
    append_batches(&mut store, P0, 0, 3);
    append_batches(&mut store, StreamId::Offsets, 0, 1);
    let ticket = store.begin_flush(100).unwrap();
    assert_eq!(ticket.completes_at_ms, 105);
    // Before the virtual completion time it is in progress, whatever the disk did.
    store.wait_durable(ticket.id).await;
    assert_eq!(store.flush_state(ticket.id, 104), FlushState::InProgress);
    assert_eq!(store.flush_state(ticket.id, 105), FlushState::Durable);
    let mut store = reload(store, config.clone()).await;
    let recovery = store.recover();
    assert_eq!(recovery.offsets(P0), (0..30).collect::<Vec<_>>());
    assert_eq!(
        recovery.offsets(StreamId::Offsets),
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(
        recovery.streams[&P0][1],
        sample_batch(10, 10, 8),
        "every field survives"
    );
    assert_eq!(recovery.report.dropped_batches(), 0);
    // And writing continues where the log ends.
    append_batches(&mut store, P0, 30, 1);
    flush_durable(&mut store, 200).await;
    let mut store = reload(store, config).await;
    assert_eq!(store.recover().offsets(P0), (0..40).collect::<Vec<_>>());
}

#[wasm_bindgen_test]
async fn crash_before_commit_loses_exactly_the_undurable_writes() {
    let config = config("brokerlab-storage-crash-before");
    let mut store = fresh(config.clone()).await;
    append_batches(&mut store, P0, 0, 2);
    flush_durable(&mut store, 0).await;
    append_batches(&mut store, P0, 20, 1);
    let in_flight = store.begin_flush(10).unwrap();
    // The browser really commits it, but the crash comes first in virtual time.
    store.wait_durable(in_flight.id).await;
    append_batches(&mut store, P0, 30, 2); // pending
    let report = store.crash(12, Tear::None);
    assert_eq!(report.lost_pending_batches, 2);
    assert_eq!(report.lost_flushes, vec![in_flight.id]);
    assert_eq!(
        store.flush_state(in_flight.id, 100),
        FlushState::Failed(StorageError::LostInCrash)
    );
    assert_eq!(store.recover().offsets(P0), (0..20).collect::<Vec<_>>());
    // The repair deleted the committed-but-undurable batch from IndexedDB too.
    let mut store = reload(store, config).await;
    let recovery = store.recover();
    assert_eq!(recovery.offsets(P0), (0..20).collect::<Vec<_>>());
    assert_eq!(recovery.report.dropped_batches(), 0);
}

#[wasm_bindgen_test]
async fn crash_after_commit_loses_nothing() {
    let config = config("brokerlab-storage-crash-after");
    let mut store = fresh(config.clone()).await;
    append_batches(&mut store, P0, 0, 2);
    append_batches(&mut store, StreamId::Producers, 0, 1);
    let ticket = store.begin_flush(0).unwrap();
    store.wait_durable(ticket.id).await;
    let report = store.crash(ticket.completes_at_ms, Tear::LastBatch { keep_bytes: 9 });
    assert_eq!(
        (
            report.lost_pending_batches,
            report.lost_flushes.len(),
            report.torn
        ),
        (0, 0, None)
    );
    let mut store = reload(store, config).await;
    let recovery = store.recover();
    assert_eq!(recovery.offsets(P0), (0..20).collect::<Vec<_>>());
    assert_eq!(
        recovery.offsets(StreamId::Producers),
        (0..10).collect::<Vec<_>>()
    );
}

#[wasm_bindgen_test]
async fn torn_last_batch_is_truncated_and_earlier_batches_survive() {
    let config = config("brokerlab-storage-torn");
    let mut store = fresh(config.clone()).await;
    append_batches(&mut store, P0, 0, 2);
    flush_durable(&mut store, 0).await;
    append_batches(&mut store, P0, 20, 1);
    append_batches(&mut store, P0, 30, 1);
    store.begin_flush(10).unwrap();
    let torn = store
        .crash(11, Tear::LastBatch { keep_bytes: 50 })
        .torn
        .expect("torn batch");
    assert_eq!((torn.stream, torn.kept_bytes), (P0, 50));
    // Reload before recovering: the torn bytes are really in IndexedDB.
    let mut store = reload(store, config.clone()).await;
    let recovery = store.recover();
    assert_eq!(recovery.offsets(P0), (0..30).collect::<Vec<_>>());
    let cut = recovery.report.streams[&P0]
        .truncated
        .clone()
        .expect("truncated");
    assert_eq!(
        (cut.batch_index, cut.dropped_batches, cut.dropped_bytes),
        (3, 1, 50)
    );
    let torn_error = DecodeError::LengthPastEnd {
        at: 0,
        batch_len: torn.batch_len,
        available: 50,
    };
    assert_eq!(cut.reason, TruncationReason::Corrupt(torn_error));
    // Recovery deleted the torn value: the next reload is clean.
    let mut store = reload(store, config).await;
    let again = store.recover();
    assert_eq!(again.offsets(P0), (0..30).collect::<Vec<_>>());
    assert_eq!(again.report.dropped_batches(), 0);
}

/// Overwrites the stored value at `key` behind the store's back.
/// `truncate` (a record the broker cannot read, in an intact batch) is
/// really applied to IndexedDB: a reload recovers the cut log, the batch
/// holding the offset rewritten with the records before it.
#[wasm_bindgen_test]
async fn truncate_is_durable_across_a_reload() {
    let config = config("brokerlab-storage-truncate");
    let mut store = fresh(config.clone()).await;
    append_batches(&mut store, P0, 0, 3);
    append_batches(&mut store, P1, 0, 1);
    flush_durable(&mut store, 0).await;
    store.crash(10, Tear::None);
    store.recover();
    let cut = store.truncate(P0, 15).expect("this tab may write");
    assert_eq!(
        cut.reason,
        TruncationReason::UnreadableRecord { offset: 15 }
    );
    assert_eq!((cut.batch_index, cut.dropped_batches), (1, 2));
    let mut store = reload(store, config).await;
    let recovery = store.recover();
    assert_eq!(recovery.offsets(P0), (0..15).collect::<Vec<_>>());
    assert_eq!(recovery.offsets(P1).len(), 10);
    assert_eq!(recovery.report.dropped_batches(), 0, "nothing left to cut");
    append_batches(&mut store, P0, 15, 1);
}

async fn put_raw(db_name: &str, key: u64, value: wasm_bindgen::JsValue) {
    let db = Database::open(db_name)
        .with_version(DB_VERSION)
        .await
        .expect("raw open");
    let tx = db
        .transaction(STORE_NAME)
        .with_mode(TransactionMode::Readwrite)
        .build()
        .unwrap();
    let store = tx.object_store(STORE_NAME).unwrap();
    store
        .put(value)
        .with_key(key as f64)
        .primitive()
        .unwrap()
        .await
        .expect("raw put");
    drop(store);
    tx.commit().await.expect("raw commit");
    db.close();
}

#[wasm_bindgen_test]
async fn corrupt_stored_data_is_truncated_with_a_report() {
    let config = config("brokerlab-storage-corrupt");
    let mut store = fresh(config.clone()).await;
    append_batches(&mut store, P0, 0, 3);
    append_batches(&mut store, P1, 0, 1);
    flush_durable(&mut store, 0).await;
    let keys: Vec<u64> = store.durable().iter().map(|entry| entry.seq).collect();
    let mut rotten = sample_batch(10, 10, 8).encode().unwrap();
    rotten[30] ^= 0x01; // a flipped bit in P0's second batch
    store.close().await;
    put_raw(&config.db_name, keys[1], frame(P0, &rotten).into()).await;
    let junk = js_sys::Uint8Array::from(&[1u8, 2, 3][..]); // no stream header
    put_raw(&config.db_name, keys[3], junk.into()).await;
    let mut store = IdbStore::open(config.clone()).await.unwrap();
    let unreadable = store.unreadable();
    assert_eq!(unreadable.len(), 1);
    assert!(
        unreadable[0].reason.contains("no stream header"),
        "{:?}",
        unreadable
    );
    let recovery = store.recover();
    assert_eq!(recovery.offsets(P0), (0..10).collect::<Vec<_>>());
    let cut = recovery.report.streams[&P0].truncated.clone().unwrap();
    assert_eq!((cut.batch_index, cut.dropped_batches), (1, 2));
    assert!(matches!(
        cut.reason,
        TruncationReason::Corrupt(DecodeError::CrcMismatch { .. })
    ));
    assert!(recovery.report.to_string().contains("CRC-32C mismatch"));
    let mut store = reload(store, config).await;
    assert!(
        store.unreadable().is_empty(),
        "recovery deleted the unreadable value"
    );
    assert_eq!(store.recover().record_count(), 10);
}

#[wasm_bindgen_test]
async fn dropping_every_handle_without_close_keeps_durable_data() {
    let config = config("brokerlab-storage-drop");
    let mut store = fresh(config.clone()).await;
    append_batches(&mut store, StreamId::Txn, 0, 2);
    flush_durable(&mut store, 0).await;
    store.wait_idle().await;
    drop(store);
    // A dropped handle lets its Web Lock go a moment later (a reload's old
    // page is gone before the new one runs): give the browser that moment.
    let tick = js_sys::Promise::new(&mut |resolve, _| {
        let window = web_sys::window().unwrap();
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    wasm_bindgen_futures::JsFuture::from(tick).await.unwrap();
    let mut store = IdbStore::open(config).await.unwrap();
    assert_eq!(
        store.recover().offsets(StreamId::Txn),
        (0..20).collect::<Vec<_>>()
    );
}

#[wasm_bindgen_test]
async fn injected_quota_stops_writes_and_keeps_durable_data() {
    let mut config = config("brokerlab-storage-quota");
    config.faults = FaultInjection {
        unavailable: false,
        quota_bytes: Some(1_000),
    };
    let mut store = fresh(config.clone()).await;
    append_batches(&mut store, P0, 0, 1);
    flush_durable(&mut store, 0).await;
    append_batches(&mut store, P0, 10, 5);
    let full = store.begin_flush(10).unwrap();
    store.wait_durable(full.id).await;
    let FlushState::Failed(StorageError::QuotaExceeded { detail }) = store.flush_state(full.id, 15)
    else {
        panic!("expected a quota failure");
    };
    assert!(detail.contains("injected"), "{detail}");
    let refused = store.append(P0, &sample_batch(10, 1, 1)).unwrap_err();
    assert!(
        matches!(refused, StorageError::WritesStopped { .. }),
        "{refused}"
    );
    assert!(matches!(
        store.stopped(),
        Some(StorageError::QuotaExceeded { .. })
    ));
    let mut store = reload(store, config).await;
    assert_eq!(store.recover().offsets(P0), (0..10).collect::<Vec<_>>());
}

#[wasm_bindgen_test]
async fn a_failed_flush_among_pipelined_ones_leaves_no_hole() {
    let mut config = config("brokerlab-storage-pipeline-hole");
    config.faults.quota_bytes = Some(1_000);
    let mut store = fresh(config.clone()).await;
    // Three flushes queued at once: the writer starts all three transactions
    // before the first ends. The second one exceeds the quota.
    append_batches(&mut store, P0, 0, 1);
    let fits = store.begin_flush(0).unwrap();
    append_batches(&mut store, P0, 10, 5);
    let full = store.begin_flush(0).unwrap();
    append_batches(&mut store, P0, 60, 1);
    let after = store.begin_flush(0).unwrap();
    store.wait_durable(after.id).await;
    store.wait_idle().await;
    assert_eq!(store.flush_state(fits.id, FSYNC_MS), FlushState::Durable);
    for id in [full.id, after.id] {
        assert!(matches!(
            store.flush_state(id, FSYNC_MS),
            FlushState::Failed(StorageError::QuotaExceeded { .. })
        ));
    }
    let mut store = reload(store, config).await;
    assert_eq!(store.recover().offsets(P0), (0..10).collect::<Vec<_>>());
}

#[wasm_bindgen_test]
async fn injected_unavailable_falls_back_to_the_memory_store() {
    let mut config = config("brokerlab-storage-unavailable");
    config.faults.unavailable = true;
    let error = IdbStore::open(config).await.unwrap_err();
    assert!(matches!(error, StorageError::Unavailable { .. }));
    assert!(
        error.to_string().contains("running on the in-memory store"),
        "{error}"
    );
    // The documented fallback: the same trait, on the memory store.
    let mut fallback: Box<dyn Storage> = Box::new(MemoryStore::new(Limits::default(), FSYNC_MS));
    fallback.append(P0, &sample_batch(0, 3, 1)).unwrap();
    let ticket = fallback.begin_flush(0).unwrap();
    assert_eq!(
        fallback.flush_state(ticket.id, FSYNC_MS),
        FlushState::Durable
    );
}

#[wasm_bindgen_test]
async fn another_tabs_upgrade_closes_the_connection() {
    let config = config("brokerlab-storage-versionchange");
    let mut store = fresh(config.clone()).await;
    append_batches(&mut store, P0, 0, 1);
    flush_durable(&mut store, 0).await;
    store.wait_idle().await;
    // "Another tab" opens a newer version; it must not be blocked by us.
    let other = Database::open(config.db_name.as_str())
        .with_version(DB_VERSION + 1)
        .await
        .expect("upgrade");
    assert_eq!(store.closed(), Some(StorageError::VersionChange));
    let refused = store.append(P0, &sample_batch(10, 1, 1)).unwrap_err();
    assert_eq!(refused, StorageError::VersionChange);
    assert!(refused.to_string().contains("another tab"));
    other.close();
}

/// One scripted run; `wait` lets the IndexedDB driver await a flush.
async fn script<S: Storage>(store: &mut S, wait: impl AsyncFn(&S, FlushId)) -> Vec<Recovery> {
    let mut recoveries = vec![store.recover()];
    append_batches(store, P0, 0, 3);
    append_batches(store, StreamId::Offsets, 0, 1);
    let first = store.begin_flush(0).unwrap();
    wait(store, first.id).await;
    assert_eq!(store.flush_state(first.id, 5), FlushState::Durable);
    append_batches(store, P0, 30, 1);
    append_batches(store, P1, 0, 1);
    let second = store.begin_flush(6).unwrap();
    wait(store, second.id).await;
    append_batches(store, P0, 40, 1);
    store.crash(8, Tear::LastBatch { keep_bytes: 20 });
    recoveries.push(store.recover());
    append_batches(store, P1, 0, 2);
    let third = store.begin_flush(20).unwrap();
    wait(store, third.id).await;
    assert_eq!(store.flush_state(third.id, 25), FlushState::Durable);
    store.crash(30, Tear::None);
    recoveries.push(store.recover());
    recoveries
}

#[wasm_bindgen_test]
async fn memory_and_indexeddb_recover_identical_images() {
    let config = config("brokerlab-storage-same-as-memory");
    let mut memory = MemoryStore::new(Limits::default(), FSYNC_MS);
    let from_memory = script(&mut memory, async |_, _| {}).await;
    let mut idb = fresh(config.clone()).await;
    let from_idb = script(&mut idb, async |store: &IdbStore, id| {
        store.wait_durable(id).await
    })
    .await;
    assert_eq!(from_memory, from_idb);
    // The values themselves: P0's torn-flush batch 30..40 landed whole, P1's
    // torn batch was truncated, then P1 was rewritten from offset 0.
    assert_eq!(from_idb[1].offsets(P0), (0..40).collect::<Vec<_>>());
    assert_eq!(
        from_idb[1].report.streams[&P1]
            .truncated
            .as_ref()
            .unwrap()
            .batch_index,
        0
    );
    assert_eq!(from_idb[2].offsets(P1), (0..20).collect::<Vec<_>>());
    assert_eq!(memory.durable(), idb.durable().as_slice());
    // And what a reload reads from IndexedDB is that same image.
    let mut idb = reload(idb, config).await;
    let reloaded = idb.recover();
    assert_eq!(reloaded.streams, from_memory[2].streams);
}

#[wasm_bindgen_test]
async fn start_fresh_clears_the_database() {
    let config = config("brokerlab-storage-fresh");
    let mut store = fresh(config.clone()).await;
    append_batches(&mut store, P0, 0, 2);
    flush_durable(&mut store, 0).await;
    store.start_fresh();
    assert_eq!(store.recover().record_count(), 0);
    let mut store = reload(store, config).await;
    assert_eq!(store.recover().record_count(), 0);
}

/// The open says whether the browser had the database at all (the page's
/// sign that a log vanished), and a deliberate clear is dated, so a record of
/// acknowledgements older than it is not mistaken for a loss.
#[wasm_bindgen_test]
async fn an_open_says_whether_the_database_existed_and_a_clear_is_dated() {
    let config = config("brokerlab-storage-open-report");
    let mut store = fresh(config.clone()).await;
    assert!(store.open_report().created, "deleted, so created anew");
    assert_eq!(store.open_report().data_loss, None);
    assert_eq!(store.cleared_ms(), None, "never cleared");
    append_batches(&mut store, P0, 0, 2);
    flush_durable(&mut store, 0).await;

    let mut store = reload(store, config.clone()).await;
    assert!(!store.open_report().created, "the database was there");
    assert_eq!(store.recover().record_count(), 20);
    let before_ms = js_sys::Date::now() as u64;
    store.start_fresh();
    let store = reload(store, config).await;
    let cleared_ms = store.cleared_ms().expect("the clear is dated");
    assert!(cleared_ms >= before_ms, "{cleared_ms} < {before_ms}");
    assert!(!store.open_report().created);
    store.close().await;
}
