//! The delivery-guarantee setting and the idempotence half of exactly once:
//! one behaviour per test, each with the fault that tells the guarantees apart.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::config::Scenario;
use brokerlab::history::Entry;
use brokerlab::world::World;

/// A keyed log workload; `guarantee` and `faults` are JSON fragments.
fn log_scenario(guarantee: &str, faults: &str) -> Scenario {
    let doc = format!(
        r#"{{ "name": "g", "seed": 3, "duration_ms": 2000, "guarantee": "{guarantee}",
        "broker": {{ "kind": "log", "topics": [ {{ "name": "t", "partitions": 2 }} ] }},
        "network": {{ "latency_ms_min": 1, "latency_ms_max": 3 }},
        "clients": [
          {{ "kind": "log_producer", "id": "p1", "topic": "t", "keys": ["a", "b"], "interval_ms": 5,
             "count": 200, "request.timeout.ms": 60 }},
          {{ "kind": "log_consumer", "id": "c1", "topic": "t", "group.id": "g",
             "processing": {{ "fixed_ms": 2 }}, "auto.offset.reset": "earliest",
             "session.timeout.ms": 300, "heartbeat.interval.ms": 100 }} ],
        "faults": [ {faults} ] }}"#
    );
    Scenario::from_json(&doc).unwrap()
}

fn queue_scenario(guarantee: &str, faults: &str) -> Scenario {
    let doc = format!(
        r#"{{ "name": "g", "seed": 3, "duration_ms": 2000, "guarantee": "{guarantee}",
        "broker": {{ "kind": "queue", "mode": "sqs", "queues": [ {{ "name": "work", "visibility_timeout_ms": 100 }} ] }},
        "clients": [
          {{ "kind": "producer", "id": "p1", "routing_key": "work", "interval_ms": 5, "count": 200,
             "confirms": {{ "timeout_ms": 60 }} }},
          {{ "kind": "consumer", "id": "c1", "queue": "work", "prefetch": 4, "processing": {{ "fixed_ms": 2 }} }} ],
        "faults": [ {faults} ] }}"#
    );
    Scenario::from_json(&doc).unwrap()
}

fn run(s: &Scenario) -> World {
    let mut w = World::new(s);
    w.finish().unwrap();
    w
}

fn count(w: &World, f: impl Fn(&Entry) -> bool) -> usize {
    w.history().events().iter().filter(|e| f(&e.entry)).count()
}

const DROP_CONFIRMS: &str =
    r#"{ "at_ms": 300, "action": "drop_acks", "target": "p1", "until_ms": 700 }"#;
const CRASH_AFTER_PROCESS: &str =
    r#"{ "at_ms": 500, "action": "crash_after_process", "target": "c1", "until_ms": 900 }"#;
const CRASH_AFTER_SEND: &str =
    r#"{ "at_ms": 500, "action": "crash_after_send", "target": "p1", "until_ms": 800 }"#;

#[test]
fn dropped_produce_acks_duplicate_at_least_once_and_not_with_enable_idempotence() {
    let w = run(&log_scenario("at_least_once", DROP_CONFIRMS));
    assert!(w.summary().counts.duplicated > 0, "retries wrote copies");
    let w = run(&log_scenario("exactly_once_idempotent", DROP_CONFIRMS));
    let s = w.summary();
    assert_eq!(
        (s.counts.duplicated, s.counts.lost),
        (0, 0),
        "{:?}",
        s.findings
    );
    assert!(s.ok, "{:?}", s.violations);
    let dup_seq = count(&w, |e| {
        matches!(
            e,
            Entry::Broker(brokerlab::broker::Note::Log(
                brokerlab::broker::log::LogNote::DuplicateSequence { .. }
            ))
        )
    });
    assert!(dup_seq > 0, "the broker dropped retried sequences");
}

#[test]
fn consumer_crash_after_processing_duplicates_without_the_dedup_store() {
    for (mk, name) in [
        (log_scenario as fn(&str, &str) -> Scenario, "log"),
        (queue_scenario, "queue"),
    ] {
        let w = run(&mk("at_least_once", CRASH_AFTER_PROCESS));
        assert!(
            w.summary().counts.duplicated > 0,
            "{name}: re-read after the crash"
        );
        let w = run(&mk("exactly_once_idempotent", CRASH_AFTER_PROCESS));
        let s = w.summary();
        assert!(s.ok && s.counts.duplicated == 0, "{name}: {:?}", s.findings);
        assert!(
            count(&w, |e| matches!(e, Entry::Deduplicated { .. })) > 0,
            "{name}"
        );
    }
}

#[test]
fn producer_crash_after_send_then_retry_holds_exactly_once() {
    for (mk, name) in [
        (log_scenario as fn(&str, &str) -> Scenario, "log"),
        (queue_scenario, "queue"),
    ] {
        let w = run(&mk("exactly_once_idempotent", CRASH_AFTER_SEND));
        let s = w.summary();
        assert!(s.ok, "{name}: {:?} {:?}", s.violations, s.findings);
        assert!(
            count(&w, |e| matches!(e, Entry::Crash)) == 1,
            "{name}: the fault fired"
        );
    }
}

#[test]
fn sqs_fifo_message_deduplication_id_drops_a_retried_publish() {
    let s = queue_scenario("exactly_once_idempotent", DROP_CONFIRMS);
    let w = run(&s);
    let dropped = count(&w, |e| {
        matches!(
            e,
            Entry::Broker(brokerlab::broker::Note::DuplicateDropped { .. })
        )
    });
    assert!(
        dropped > 0,
        "confirms were dropped, retries were deduplicated"
    );
    assert!(w.summary().ok);
}

#[test]
fn the_guarantee_sets_the_knobs_and_rules_are_checked() {
    let resolved = brokerlab::guarantee::resolved(&log_scenario("exactly_once_idempotent", ""));
    let text = resolved.to_json_pretty();
    assert!(text.contains("\"enable.idempotence\": true"), "{text}");
    assert!(text.contains("\"dedup_ids_max\": 100000"), "{text}");
    assert!(resolved.expect.no_lost && resolved.expect.no_duplicated);
    let bad = r#"{ "seed": 1, "duration_ms": 100,
        "broker": { "kind": "log", "topics": [ { "name": "t", "partitions": 1 } ] },
        "clients": [ { "kind": "log_producer", "id": "p", "topic": "t", "interval_ms": 5, "count": 1,
                       "enable.idempotence": true, "acks": "1", "retries": 3 } ] }"#;
    let e = Scenario::from_json(bad).unwrap_err();
    assert_eq!(e.path, "clients[0].acks", "{e}");
    let e = Scenario::from_json(
        &bad.replace("\"acks\": \"1\"", "\"acks\": \"all\"").replace(
            "\"count\": 1,",
            "\"count\": 1, \"max.in.flight.requests\": 6,",
        ),
    )
    .unwrap_err();
    assert_eq!(e.path, "clients[0].max.in.flight.requests", "{e}");
}
