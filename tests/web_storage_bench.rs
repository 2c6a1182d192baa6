#![cfg(target_arch = "wasm32")]
//! Storage benchmark in headless Chromium, printed and not asserted (run it
//! with `bash scripts/bench-storage.sh`; ignored by default because it writes
//! a few hundred MB and takes longer than a unit test should).
//!
//! Prints, in one run, one JSON line each:
//! - durable records/s through the IndexedDB store, for record batches of 1,
//!   100 and 1,000 records, under `relaxed` and `strict` durability, and the
//!   same bytes written by a raw single-transaction bulk `put` (the
//!   reference), with our ratio to it;
//! - recovery time (IndexedDB read at open, then decode + CRC check) for 100k
//!   and 1M records.
//!
//! Goals (issue 6): ≥ 100k durable records/s, ≥ 50% of the raw reference,
//! recovery of 1M records ≤ 1 s.

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use brokerlab::storage::batch::sample_batch;
use brokerlab::storage::idb::{frame, Durability, IdbConfig, IdbStore, DB_VERSION, STORE_NAME};
use brokerlab::storage::{RecordBatch, Storage, StreamId};
use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{TransactionDurability, TransactionMode, TransactionOptions};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

const P0: StreamId = StreamId::Partition {
    topic: 0,
    partition: 0,
};
/// Kafka's benchmarks use 100-byte records; so do we.
const VALUE_BYTES: usize = 100;
/// Records per flush (group commit): a broker flushing every few ms under load.
const RECORDS_PER_FLUSH: usize = 10_000;

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn config(name: &str, durability: Durability) -> IdbConfig {
    IdbConfig {
        durability,
        ..IdbConfig::new(name)
    }
}

async fn fresh(config: IdbConfig) -> IdbStore {
    IdbStore::delete_database(&config.db_name)
        .await
        .expect("delete");
    let mut store = IdbStore::open(config).await.expect("open");
    store.recover();
    store
}

/// The workload, built before any timer starts (so neither our run nor the
/// raw reference pays for making up records).
fn workload(records: usize, batch_records: usize) -> Vec<RecordBatch> {
    let count = records / batch_records;
    (0..count)
        .map(|i| sample_batch((i * batch_records) as u64, batch_records, VALUE_BYTES))
        .collect()
}

/// Writes `batches` through the store, one flush (group commit) per
/// `RECORDS_PER_FLUSH` records, and returns the ms until the last flush is
/// durable and, within that, the ms spent appending (encode + CRC-32C +
/// journal) and beginning flushes (which build the IndexedDB requests).
async fn durable_run(store: &mut IdbStore, batches: &[RecordBatch]) -> (f64, f64) {
    let batch_records = batches[0].records.len();
    let batches_per_flush = (RECORDS_PER_FLUSH / batch_records).max(1);
    let start = now_ms();
    let mut last = None;
    for group in batches.chunks(batches_per_flush) {
        for batch in group {
            store.append(P0, batch).unwrap();
        }
        last = Some(store.begin_flush(0).unwrap());
    }
    let appended = now_ms();
    let last = last.expect("at least one flush");
    store.wait_durable(last.id).await;
    assert!(store.stopped().is_none(), "bench writes must not fail");
    (now_ms() - start, appended - start)
}

/// The reference: the same frames (already encoded) put in ONE transaction,
/// with nothing of ours around it.
async fn raw_run(name: &str, durability: Durability, batches: &[RecordBatch]) -> f64 {
    let frames: Vec<_> = batches
        .iter()
        .map(|batch| frame(P0, &batch.encode().unwrap()))
        .collect();
    let store = fresh(config(name, durability)).await;
    store.close().await;
    let db = Database::open(name).with_version(DB_VERSION).await.unwrap();
    let hint = match durability {
        Durability::Relaxed => TransactionDurability::Relaxed,
        Durability::Strict => TransactionDurability::Strict,
    };
    let mut options = TransactionOptions::new();
    options.set_durability(hint);
    let start = now_ms();
    let tx = db
        .transaction(STORE_NAME)
        .with_mode(TransactionMode::Readwrite)
        .with_options(options)
        .build()
        .unwrap();
    let object_store = tx.object_store(STORE_NAME).unwrap();
    for (key, value) in frames.into_iter().enumerate() {
        let value: wasm_bindgen::JsValue = value.into();
        // The request is sent when built; its outcome shows in the commit.
        let request = object_store.put(value).with_key(key as f64).primitive();
        drop(request.unwrap());
    }
    drop(object_store);
    tx.commit().await.unwrap();
    let elapsed = now_ms() - start;
    db.close();
    elapsed
}

fn per_s(records: usize, ms: f64) -> f64 {
    records as f64 / (ms.max(0.001) / 1000.0)
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run with scripts/bench-storage.sh"]
async fn bench_durable_writes_and_recovery() {
    for durability in [Durability::Relaxed, Durability::Strict] {
        for batch_records in [1usize, 100, 1_000] {
            // Batches of 1 cost one IndexedDB value per record: fewer of them.
            let records = if batch_records == 1 { 20_000 } else { 200_000 };
            let name = format!("brokerlab-bench-{durability:?}-{batch_records}");
            let mut store = fresh(config(&name, durability)).await;
            let batches = workload(records, batch_records);
            let (ours_ms, append_ms) = durable_run(&mut store, &batches).await;
            store.close().await;
            let raw_ms = raw_run(&name, durability, &batches).await;
            // Our share that the raw reference does not do: encode + CRC-32C.
            let start = now_ms();
            let encoded: usize = batches.iter().map(|b| b.encode().unwrap().len()).sum();
            let encode_ms = now_ms() - start;
            assert!(encoded > records * VALUE_BYTES);
            console_log!(
                "{{\"bench\":\"storage_durable\",\"durability\":\"{durability:?}\",\"batch_records\":{batch_records},\"records\":{records},\"records_per_s\":{:.0},\"raw_records_per_s\":{:.0},\"ratio_to_raw\":{:.2},\"encode_ms\":{encode_ms:.0},\"append_ms\":{append_ms:.0},\"ours_ms\":{ours_ms:.0},\"raw_ms\":{raw_ms:.0}}}",
                per_s(records, ours_ms),
                per_s(records, raw_ms),
                raw_ms / ours_ms.max(0.001)
            );
        }
    }
    for records in [100_000usize, 1_000_000] {
        let name = format!("brokerlab-bench-recovery-{records}");
        let mut store = fresh(config(&name, Durability::Relaxed)).await;
        // Written in slices so the workload never sits in memory twice.
        for slice in 0..records / 100_000 {
            let mut batches = workload(100_000, 1_000);
            for batch in &mut batches {
                batch.base_offset += (slice * 100_000) as u64;
                batch
                    .records
                    .iter_mut()
                    .for_each(|r| r.offset += (slice * 100_000) as u64);
            }
            durable_run(&mut store, &batches).await;
        }
        store.close().await;
        let start = now_ms();
        let mut store = IdbStore::open(config(&name, Durability::Relaxed))
            .await
            .unwrap();
        let loaded = now_ms();
        let recovery = store.recover();
        let done = now_ms();
        assert_eq!(recovery.record_count(), records as u64);
        console_log!(
            "{{\"bench\":\"storage_recovery\",\"records\":{records},\"batch_records\":1000,\"load_ms\":{:.0},\"decode_ms\":{:.0},\"total_ms\":{:.0}}}",
            loaded - start,
            done - loaded,
            done - start
        );
        store.close().await;
        IdbStore::delete_database(&name).await.unwrap();
    }
}
