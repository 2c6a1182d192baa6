//! Every file in `scenarios/` loads, runs and meets its own `expect` block; bad
//! scenarios are rejected with the field path and the reason, never a panic.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::config::Scenario;
use brokerlab::world::World;

#[path = "support/cli.rs"]
mod cli;
use cli::scenario_files;

#[test]
fn every_scenario_file_runs_and_passes_its_checks() {
    let files = scenario_files();
    assert!(files.len() >= 10, "one scenario per behaviour: {files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let scenario =
            Scenario::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            !scenario.description.is_empty(),
            "{} explains itself",
            path.display()
        );
        let mut world = World::new(&scenario);
        world
            .run()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let s = world.summary();
        assert!(
            s.ok,
            "{} (seed {}): {:?}",
            path.display(),
            s.seed,
            s.violations
        );
        assert!(
            s.counts.published > 0 && s.counts.processed > 0,
            "{}: {:?}",
            path.display(),
            s.counts
        );
        let c = s.counts;
        assert_eq!(
            c.published,
            c.processed
                + c.dead_lettered
                + c.pending
                + c.discarded
                + c.lost
                + c.unconfirmed_missing
                + c.transient_lost
        );
        // The scenario format round-trips: what we print is what we read.
        assert_eq!(
            Scenario::from_json(&scenario.to_json_pretty()).unwrap(),
            scenario
        );
    }
}

const BASE: &str = r#"{
  "seed": 1, "duration_ms": 1000,
  "broker": { "kind": "queue", "queues": [ { "name": "work" } ] },
  "clients": [
    { "kind": "producer", "id": "p1", "routing_key": "work", "interval_ms": 10, "count": 5 },
    { "kind": "consumer", "id": "c1", "queue": "work", "prefetch": 1, "processing": { "fixed_ms": 1 } }
  ],
  "faults": [ { "at_ms": 100, "action": "crash", "target": "c1" } ]
}"#;

fn error_for(from: &str, to: &str) -> (String, String) {
    assert!(BASE.contains(from), "test typo: {from}");
    let e = Scenario::from_json(&BASE.replacen(from, to, 1)).expect_err("must be rejected");
    (e.path, e.reason)
}

#[test]
fn the_base_scenario_is_valid() {
    assert!(Scenario::from_json(BASE).is_ok());
}

#[test]
fn malformed_json_names_the_position() {
    let e = Scenario::from_json("{ \"seed\": 1,, }").unwrap_err();
    assert!(e.reason.contains("line 1"), "{e}");
}

#[test]
fn unknown_fields_are_errors() {
    let (path, reason) = error_for(r#""prefetch": 1"#, r#""prefech": 1"#);
    assert!(path.starts_with("clients[1]"), "{path}");
    assert!(reason.contains("prefech"), "{reason}");
    let (path, reason) = error_for(r#""seed": 1"#, r#""seed": 1, "colour": "red""#);
    assert_eq!(path, "colour");
    assert!(reason.contains("unknown field `colour`"), "{reason}");
}

#[test]
fn zero_and_negative_rates_are_errors() {
    assert_eq!(
        error_for(r#""interval_ms": 10"#, r#""interval_ms": 0"#),
        ("clients[0].interval_ms".into(), "must be positive".into())
    );
    let (path, reason) = error_for(r#""interval_ms": 10"#, r#""interval_ms": -5"#);
    assert!(
        path.starts_with("clients[0]") && reason.contains("-5"),
        "{path}: {reason}"
    );
    let (path, _) = error_for(r#""interval_ms": 10"#, r#""rate_per_s": 0"#);
    assert_eq!(path, "clients[0].rate_per_s");
}

#[test]
fn probabilities_outside_zero_one_are_errors() {
    let (path, reason) = error_for(
        r#""seed": 1"#,
        r#""seed": 1, "network": { "loss_probability": 1.5 }"#,
    );
    assert_eq!(path, "network.loss_probability");
    assert!(reason.contains("outside [0, 1]"), "{reason}");
    let (path, _) = error_for(
        r#""prefetch": 1"#,
        r#""prefetch": 1, "fail_probability": -0.1"#,
    );
    assert_eq!(path, "clients[1].fail_probability");
}

#[test]
fn a_crash_after_the_end_is_an_error() {
    let (path, reason) = error_for(r#""at_ms": 100"#, r#""at_ms": 5000"#);
    assert_eq!(path, "faults[0].at_ms");
    assert!(reason.contains("after the end"), "{reason}");
}

#[test]
fn unknown_client_ids_are_errors() {
    let (path, reason) = error_for(r#""target": "c1""#, r#""target": "c9""#);
    assert_eq!(
        (path.as_str(), reason.as_str()),
        ("faults[0].target", "unknown client id `c9`")
    );
    let (path, _) = error_for(r#""queue": "work""#, r#""queue": "nope""#);
    assert_eq!(path, "clients[1].queue");
}

/// Queue arguments RabbitMQ would refuse (issue 14): the error names the field.
#[test]
fn rabbitmq_queue_arguments_it_would_refuse_are_errors() {
    let queue = r#"{ "name": "work" }"#;
    let (path, reason) = error_for(queue, r#"{ "name": "work", "delivery_limit": 3 }"#);
    assert_eq!(path, "broker.queues[0].delivery_limit");
    assert!(reason.contains("quorum"), "{reason}");
    let quorum = r#"{ "name": "work", "type": "quorum", "delivery_limit": 3 }"#;
    assert!(Scenario::from_json(&BASE.replacen(queue, quorum, 1)).is_ok());
    let (path, reason) = error_for(queue, r#"{ "name": "work", "message_ttl_ms": -5 }"#);
    assert_eq!(path, "broker.queues[0].message_ttl_ms", "{reason}");
    let (_, reason) = error_for(queue, r#"{ "name": "work", "type": "stream" }"#);
    assert!(
        reason.contains("`stream`") && reason.contains("quorum"),
        "{reason}"
    );
    let (path, _) = error_for(queue, r#"{ "name": "work", "overflow": "reject-publish" }"#);
    assert_eq!(path, "broker.queues[0].overflow");
}

#[test]
fn a_topic_binding_key_with_an_empty_word_is_an_error() {
    let broker = r#""queues": [ { "name": "work" } ] }"#;
    let topic = |key: &str| {
        format!(
            r#""queues": [ {{ "name": "work" }} ], "exchanges": [ {{ "name": "t", "type": "topic", "bindings": [ {{ "queue": "work", "routing_key": "{key}" }} ] }} ] }}"#
        )
    };
    let (path, reason) = error_for(broker, &topic("orders..eu"));
    assert_eq!(path, "broker.exchanges[0].bindings[0].routing_key");
    assert!(reason.contains("empty word"), "{reason}");
    let (_, reason) = error_for(broker, &topic("orders.eu*"));
    assert!(reason.contains("whole words"), "{reason}");
    assert!(Scenario::from_json(&BASE.replacen(broker, &topic("orders.*.#"), 1)).is_ok());
}
