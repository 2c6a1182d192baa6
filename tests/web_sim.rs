//! The simulation core in the browser: the same scenario and seed give the
//! same history bytes as natively (the golden hash in `tests/golden` is checked
//! by `tests/determinism.rs` too), and the throughput benchmark prints msgs/s.
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod golden;

use brokerlab::config::Scenario;
use brokerlab::world::World;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

#[wasm_bindgen_test]
fn the_browser_history_hash_equals_the_native_one() {
    let scenario = Scenario::from_json(golden::SCENARIO_JSON).unwrap();
    let mut first = World::new(&scenario);
    first.run().unwrap();
    let mut second = World::new(&scenario);
    second.run().unwrap();
    let hash = first.history().hash(first.names());
    assert_eq!(hash, second.history().hash(second.names()));
    assert!(first.history().len() > 500);
    assert_eq!(
        hash,
        golden::HISTORY_HASH,
        "wasm history differs from native: {hash:#018x}"
    );
}

#[wasm_bindgen_test]
fn the_browser_log_history_hash_equals_the_native_one() {
    let scenario = Scenario::from_json(golden::LOG_SCENARIO_JSON).unwrap();
    let mut world = World::new(&scenario);
    world.finish().unwrap();
    let hash = world.history().hash(world.names());
    assert_eq!(
        hash,
        golden::LOG_HISTORY_HASH,
        "wasm log history differs from native: {hash:#018x}"
    );
}

#[wasm_bindgen_test]
fn bench_prints_messages_per_second() {
    // Debug builds (the regular test run) get a short workload; the release
    // run from scripts/bench.sh gets the same size as the native bench.
    let messages = if cfg!(debug_assertions) {
        20_000
    } else {
        200_000
    };
    let start = js_sys::Date::now();
    let processed = brokerlab::bench::run(messages);
    let secs = ((js_sys::Date::now() - start) / 1000.0).max(0.001);
    assert_eq!(processed, messages);
    console_log!(
        "{{\"bench\":\"wasm\",\"messages\":{processed},\"seconds\":{secs:.3},\"msgs_per_s\":{:.0}}}",
        processed as f64 / secs
    );
}

#[wasm_bindgen_test]
fn log_bench_prints_messages_per_second_per_partition_count() {
    let messages = if cfg!(debug_assertions) {
        5_000
    } else {
        200_000
    };
    for partitions in brokerlab::bench::LOG_PARTITIONS {
        let start = js_sys::Date::now();
        let processed = brokerlab::bench::run_log(messages, partitions);
        let secs = ((js_sys::Date::now() - start) / 1000.0).max(0.001);
        assert_eq!(processed, messages);
        console_log!(
            "{{\"bench\":\"wasm-log\",\"partitions\":{partitions},\"messages\":{processed},\"seconds\":{secs:.3},\"msgs_per_s\":{:.0}}}",
            processed as f64 / secs
        );
    }
}

/// Issue 13's performance line in the browser: the replication core's
/// workload on one broker, then on 3 brokers with `replication.factor` 3
/// (`brokerlab bench --cluster` natively), and the ratio.
#[wasm_bindgen_test]
fn cluster_bench_prints_messages_per_second_and_the_ratio() {
    let messages = if cfg!(debug_assertions) {
        3_200
    } else {
        100_000
    };
    let mut rates = Vec::new();
    for brokers in [1u8, 3] {
        let start = js_sys::Date::now();
        let acked = brokerlab::bench::run_cluster(brokers, messages);
        let secs = ((js_sys::Date::now() - start) / 1000.0).max(0.001);
        assert_eq!(acked, messages);
        let rate = acked as f64 / secs;
        rates.push(rate);
        console_log!(
            "{{\"bench\":\"wasm-cluster\",\"brokers\":{brokers},\"replication.factor\":{brokers},\"messages\":{acked},\"seconds\":{secs:.3},\"msgs_per_s\":{rate:.0}}}"
        );
    }
    console_log!(
        "{{\"bench\":\"wasm-cluster-ratio\",\"rf3_over_1_broker\":{:.2},\"goal\":0.5}}",
        rates[1] / rates[0]
    );
}

/// Issue 16's "a 1M-message scenario, run and fully checked, in the
/// browser": the queue workload run to its end, then the full checker.
/// Ignored in the test run (it needs ~1.6 GB natively); scripts/bench.sh
/// runs it on its own, so that running out of memory costs only its line.
#[wasm_bindgen_test]
#[ignore]
fn checked_bench_prints_seconds() {
    let messages = brokerlab::bench::CHECKED_MESSAGES;
    let start = js_sys::Date::now();
    let processed = brokerlab::bench::run_checked(messages);
    let secs = ((js_sys::Date::now() - start) / 1000.0).max(0.001);
    assert_eq!(processed, messages);
    console_log!("{{\"bench\":\"wasm-checked\",\"messages\":{processed},\"seconds\":{secs:.3}}}");
}
