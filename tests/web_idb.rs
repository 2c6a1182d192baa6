//! Browser test: the IndexedDB harness works end to end in headless Chromium.
//!
//! It writes a record, closes the database, opens it again (as a page reload
//! would) and reads the record back. Persistence code builds on exactly this.
#![cfg(target_arch = "wasm32")]

use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const DB_NAME: &str = "brokerlab-harness-test";
const STORE: &str = "records";

async fn open_db() -> Database {
    Database::open(DB_NAME)
        .with_version(1u8)
        .with_on_upgrade_needed(|_event, db| {
            db.create_object_store(STORE).build()?;
            Ok(())
        })
        .await
        .expect("open the harness database")
}

#[wasm_bindgen_test]
async fn record_survives_close_and_reopen() {
    // Start from nothing, so an earlier run cannot make this pass.
    Database::delete_by_name(DB_NAME)
        .expect("request deletion")
        .await
        .expect("delete old database");

    let db = open_db().await;
    let tx = db
        .transaction(STORE)
        .with_mode(TransactionMode::Readwrite)
        .build()
        .expect("readwrite transaction");
    let store = tx.object_store(STORE).expect("object store");
    store
        .put("m1: hello <b>not html</b>")
        .with_key("offset-0")
        .primitive()
        .expect("build put")
        .await
        .expect("put");
    drop(store);
    // Durability point: the record counts as written only once commit resolves.
    tx.commit().await.expect("commit");
    db.close();

    let db = open_db().await;
    let tx = db.transaction(STORE).build().expect("readonly transaction");
    let store = tx.object_store(STORE).expect("object store");
    let value: Option<String> = store
        .get("offset-0")
        .primitive()
        .expect("build get")
        .await
        .expect("get");
    let missing: Option<String> = store
        .get("offset-1")
        .primitive()
        .expect("build get")
        .await
        .expect("get missing");
    assert_eq!(value.as_deref(), Some("m1: hello <b>not html</b>"));
    assert_eq!(missing, None, "only the one record was written");
    drop(store);
    drop(tx);
    db.close();
}
