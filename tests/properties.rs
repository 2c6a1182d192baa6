//! Property test: for random scenarios and random fault schedules, the checker's
//! invariants hold and the counts reconcile. Delivery guarantees that the setup
//! implies are checked too (at-least-once never loses, at-most-once never
//! duplicates). A failure prints the seed and the scenario to replay it with
//! `brokerlab run FILE --seed N --random-faults`.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::config::Scenario;
use brokerlab::sim::faults::with_random_faults;
use brokerlab::world::World;
use proptest::prelude::*;
use serde_json::json;

#[derive(Clone, Debug)]
struct Setup {
    seed: u64,
    consumers: u32,
    prefetch: u32,
    ack_mode: &'static str,
    sqs: bool,
    processing_ms: (u64, u64),
    loss: f64,
    duplicate: f64,
    fail_probability: f64,
    delivery_limit: Option<u32>,
    retries: u32,
    faults: (bool, bool, bool, bool),
    count: u64,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        (
            any::<u64>(),
            1u32..=3,
            1u32..=8,
            prop::sample::select(vec!["auto", "after_processing", "before_processing"]),
        ),
        (
            any::<bool>(),
            0u64..10,
            0u64..20,
            0.0f64..0.05,
            0.0f64..0.05,
            0.0f64..0.2,
        ),
        (
            prop::option::of(1u32..4),
            0u32..3,
            any::<(bool, bool, bool, bool)>(),
            10u64..80,
        ),
    )
        .prop_map(
            |(
                (seed, consumers, prefetch, ack_mode),
                (sqs, min, spread, loss, duplicate, fail),
                (limit, retries, faults, count),
            )| Setup {
                seed,
                consumers,
                prefetch,
                ack_mode,
                sqs,
                processing_ms: (min, min + spread),
                loss,
                duplicate,
                fail_probability: fail,
                delivery_limit: limit,
                retries,
                faults,
                count,
            },
        )
}

fn scenario(s: &Setup) -> Scenario {
    let mut work = json!({ "name": "work", "dead_letter_queue": "dlq" });
    if let Some(limit) = s.delivery_limit {
        work["delivery_limit"] = json!(limit);
        if !s.sqs {
            // RabbitMQ counts deliveries on quorum queues only.
            work["type"] = json!("quorum");
        }
    }
    if s.sqs {
        work["visibility_timeout_ms"] = json!(60);
    }
    let dlq = if s.sqs {
        json!({ "name": "dlq", "visibility_timeout_ms": 60 })
    } else {
        json!({ "name": "dlq" })
    };
    let mut clients = vec![json!({
        "kind": "producer", "id": "p1", "routing_key": "work", "keys": ["a", "b", "c"], "interval_ms": 3,
        "count": s.count, "confirms": { "timeout_ms": 80, "max_retries": s.retries }
    })];
    for i in 0..s.consumers {
        clients.push(json!({
            "kind": "consumer", "id": format!("c{i}"), "queue": "work", "prefetch": s.prefetch,
            "ack_mode": s.ack_mode, "fail_probability": s.fail_probability,
            "processing": { "uniform_ms": { "min": s.processing_ms.0, "max": s.processing_ms.1 } }
        }));
    }
    let (broker_crash, consumer_crash, producer_crash, drop_acks) = s.faults;
    let doc = json!({
        "name": "property", "seed": s.seed, "duration_ms": 3000,
        "broker": { "kind": "queue", "mode": if s.sqs { "sqs" } else { "rabbitmq" }, "queues": [work, dlq] },
        "network": { "latency_ms_min": 1, "latency_ms_max": 8, "loss_probability": s.loss, "duplicate_probability": s.duplicate },
        "clients": clients,
        "fault_options": { "broker_crash": broker_crash, "consumer_crash": consumer_crash,
                           "producer_crash": producer_crash, "drop_acks": drop_acks, "max_faults": 3 },
        "limits": { "events_max": 2000000 }
    });
    let base = Scenario::from_json(&doc.to_string()).expect("generated scenarios are valid");
    with_random_faults(&base, s.seed)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_and_counts_reconcile(s in setup()) {
        let scenario = scenario(&s);
        let replay = format!(
            "seed {} — save this scenario and run `brokerlab run FILE --seed {}`:\n{}",
            s.seed, s.seed, scenario.to_json_pretty()
        );
        let mut world = World::new(&scenario);
        prop_assert!(world.run().is_ok(), "run bound hit; {replay}");
        let sum = world.summary();
        let c = sum.counts;
        prop_assert!(sum.ok, "violations {:?}; {replay}", sum.violations);
        prop_assert_eq!(c.unexpected, 0, "{}", replay);
        prop_assert_eq!(c.published, c.processed + c.dead_lettered + c.pending + c.discarded + c.lost + c.unconfirmed_missing + c.transient_lost, "{}", replay);
        prop_assert_eq!(sum.effects_total, c.processed_total, "{}", replay);
        let broker_crashed = scenario.faults.iter().any(|f| f.target == "broker");
        if s.ack_mode == "after_processing" && !broker_crashed {
            // At-least-once: a confirmed message leaves the queue only after its effect.
            prop_assert_eq!(c.lost, 0, "at-least-once lost messages; {}", replay);
        }
        if s.ack_mode == "auto" && s.duplicate == 0.0 && s.retries == 0 {
            // At-most-once: the broker forgets a message as it sends it.
            prop_assert_eq!(c.duplicated, 0, "at-most-once duplicated messages; {}", replay);
        }
    }
}
