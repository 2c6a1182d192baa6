//! The throughput benchmark workload, in the library so that the native CLI
//! (`brokerlab bench`) and the browser test (`tests/web_sim.rs`) run exactly the
//! same code and their numbers can be compared.
//!
//! The workload pushes messages through publish → deliver → process → ack with
//! publisher confirms, four consumers and full history recording. Only wall time
//! is platform specific, so the caller measures it: this module never reads a clock.

use crate::scenario::Scenario;
use crate::sim::world::World;

/// The benchmark scenario for `messages` messages.
pub fn scenario(messages: u64) -> Scenario {
    assert!(messages > 0);
    let json = format!(
        r#"{{
        "name": "bench",
        "seed": 42,
        "duration_ms": {duration},
        "broker": {{ "kind": "queue", "queues": [ {{ "name": "work" }} ] }},
        "network": {{ "latency_ms_min": 1, "latency_ms_max": 2 }},
        "clients": [
          {{ "kind": "producer", "id": "p1", "routing_key": "work", "keys": ["a", "b", "c"],
             "rate_per_s": 100000, "count": {messages}, "confirms": {{ "timeout_ms": 1000, "window": 10000 }} }},
          {{ "kind": "consumer", "id": "c1", "queue": "work", "prefetch": 50, "processing": {{ "fixed_ms": 0 }} }},
          {{ "kind": "consumer", "id": "c2", "queue": "work", "prefetch": 50, "processing": {{ "fixed_ms": 0 }} }},
          {{ "kind": "consumer", "id": "c3", "queue": "work", "prefetch": 50, "processing": {{ "fixed_ms": 0 }} }},
          {{ "kind": "consumer", "id": "c4", "queue": "work", "prefetch": 50, "processing": {{ "fixed_ms": 0 }} }}
        ],
        "limits": {{ "events_max": {events} }}
      }}"#,
        duration = messages / 100 + 10_000,
        events = messages * 20 + 100_000,
    );
    Scenario::from_json(&json).expect("the bench scenario is valid")
}

/// Runs the workload; returns the number of messages processed.
pub fn run(messages: u64) -> u64 {
    run_counting(&scenario(messages), messages)
}

/// Runs a bench scenario to its end and checks every message was processed once.
fn run_counting(scenario: &Scenario, messages: u64) -> u64 {
    let mut world = World::new(scenario);
    world.run().expect("the bench stays within its bounds");
    let processed = world
        .clients()
        .iter()
        .filter(|c| !c.is_producer)
        .map(|c| c.count)
        .sum();
    assert_eq!(processed, messages, "every bench message is processed once");
    processed
}

/// Partition counts the log benchmark runs (one consumer per partition).
pub const LOG_PARTITIONS: [u32; 3] = [1, 4, 16];

/// The log workload: produce (`acks=all`, so every record waits for its
/// group-commit `fsync`) → poll → process → commit after processing, with
/// `partitions` partitions and as many consumers in one group.
pub fn log_scenario(messages: u64, partitions: u32) -> Scenario {
    assert!(messages > 0 && partitions > 0);
    let consumers: Vec<String> = (0..partitions)
        .map(|i| {
            format!(
                r#"{{ "kind": "log_consumer", "id": "c{i}", "topic": "t", "group.id": "bench",
                   "processing": {{ "fixed_ms": 0 }}, "enable.auto.commit": false, "commit": "after_processing",
                   "auto.offset.reset": "earliest", "max.poll.records": 500 }}"#
            )
        })
        .collect();
    let json = format!(
        r#"{{ "name": "bench-log", "seed": 42, "duration_ms": {duration},
        "broker": {{ "kind": "log", "topics": [ {{ "name": "t", "partitions": {partitions} }} ], "fsync_latency_ms": 2 }},
        "network": {{ "latency_ms_min": 1, "latency_ms_max": 2 }},
        "clients": [
          {{ "kind": "log_producer", "id": "p1", "topic": "t", "keys": ["a", "b", "c", "d", "e", "f", "g", "h"],
             "rate_per_s": 100000, "count": {messages}, "acks": "all", "max.in.flight.requests": 10000 }},
          {consumers}
        ],
        "limits": {{ "events_max": {events}, "drain_ms": 1000 }}
      }}"#,
        duration = messages / 100 + 10_000,
        consumers = consumers.join(","),
        events = messages * 20 + 1_000_000,
    );
    Scenario::from_json(&json).expect("the log bench scenario is valid")
}

/// Runs the log workload; returns the number of records processed.
pub fn run_log(messages: u64, partitions: u32) -> u64 {
    run_counting(&log_scenario(messages, partitions), messages)
}
