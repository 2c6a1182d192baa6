//! Torn writes at broker crashes (issue 6: "a crash drops pending writes and
//! can tear the last batch"): `crash_torn` and `fault_options.torn_writes`
//! cut the batch the disk was writing, the batches before it in the same
//! group commit land whole, recovery truncates at the torn one, and nothing
//! acknowledged is lost.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::broker::log::LogNote;
use brokerlab::broker::Note;
use brokerlab::history::Entry;
use brokerlab::scenario::Scenario;
use brokerlab::sim::world::World;
use brokerlab::storage::StreamId;
use std::collections::BTreeMap;

/// The consumer is down around the crash on even seeds: no offsets commit
/// rides in the flush, so its last batch (the one a tear cuts) is a
/// partition's instead of the `Offsets` stream's.
const CONSUMER_DOWN: &str = r#", { "at_ms": 300, "action": "crash", "target": "c1" },
    { "at_ms": 600, "action": "restart", "target": "c1" }"#;

/// At least once on three partitions with a slow disk (10 ms per group
/// commit), so a flush is in flight at almost any instant; the broker crashes
/// with `action` at 400 ms and restarts at 500 ms.
fn scenario(seed: u64, action: &str) -> Scenario {
    let doc = format!(
        r#"{{ "name": "torn", "seed": {seed}, "duration_ms": 1500, "guarantee": "at_least_once",
        "broker": {{ "kind": "log", "topics": [ {{ "name": "t", "partitions": 3 }} ], "fsync_latency_ms": 10 }},
        "network": {{ "latency_ms_min": 1, "latency_ms_max": 3 }},
        "clients": [
          {{ "kind": "log_producer", "id": "p1", "topic": "t", "keys": ["a", "b", "c", "d", "e"],
             "interval_ms": 1, "count": 800, "request.timeout.ms": 100, "max.in.flight.requests": 50 }},
          {{ "kind": "log_consumer", "id": "c1", "topic": "t", "group.id": "g", "auto.offset.reset": "earliest",
             "processing": {{ "uniform_ms": {{ "min": 1, "max": 3 }} }} }}
        ],
        "faults": [ {{ "at_ms": {crash_ms}, "action": "{action}", "target": "broker" }},
                    {{ "at_ms": 500, "action": "restart", "target": "broker" }} {consumer_down} ] }}"#,
        crash_ms = 400 + seed % 7,
        consumer_down = if seed.is_multiple_of(2) {
            CONSUMER_DOWN
        } else {
            ""
        },
    );
    Scenario::from_json(&doc).unwrap()
}

/// What one run's history says about its crash and recovery.
#[derive(Debug, Default)]
struct Story {
    torn: Option<StreamId>,
    truncated: Vec<StreamId>,
    /// Per partition: durable end before the crash, and end after recovery.
    durable_before: BTreeMap<u16, u64>,
    recovered: BTreeMap<u16, u64>,
}

fn story(w: &World) -> Story {
    let mut s = Story::default();
    let mut crashed = false;
    for ev in w.history().events() {
        let Entry::Broker(Note::Log(n)) = ev.entry else {
            if ev.entry == Entry::Crash && ev.process == brokerlab::history::Proc::Broker {
                crashed = true;
            }
            continue;
        };
        match n {
            LogNote::Durable { partition, to, .. } if !crashed => {
                s.durable_before.insert(partition, to);
            }
            LogNote::TornWrite { stream, .. } => s.torn = Some(stream),
            LogNote::Truncated { stream, .. } => s.truncated.push(stream),
            LogNote::Recovered { partition, to, .. } if s.recovered.len() < 3 => {
                s.recovered.entry(partition).or_insert(to);
            }
            _ => {}
        }
    }
    s
}

fn run(s: &Scenario) -> World {
    let mut w = World::new(s);
    w.finish().expect("within bounds");
    let sum = w.summary();
    let v = brokerlab::check::guarantee::verdict(
        brokerlab::guarantee::Guarantee::AtLeastOnce,
        &sum,
        w.history(),
        w.names(),
    );
    assert!(
        v.holds && sum.counts.lost == 0,
        "seed {}: {} {:?}\nreproduce: save this scenario and run `brokerlab run FILE`:\n{}",
        s.seed,
        v.text,
        v.causes,
        s.to_json_pretty()
    );
    w
}

#[test]
fn a_torn_crash_truncates_the_torn_batch_keeps_the_ones_before_it_and_loses_nothing_acked() {
    let (mut tears, mut partition_tears, mut survivors) = (0, 0, 0);
    for seed in 1..=20 {
        let w = run(&scenario(seed, "crash_torn"));
        let s = story(&w);
        // No flush in flight (or it completed at the crash's instant): nothing to tear.
        let Some(torn) = s.torn else {
            assert!(s.truncated.is_empty(), "seed {seed}: {s:?}");
            continue;
        };
        tears += 1;
        assert_eq!(
            s.truncated,
            vec![torn],
            "seed {seed}: recovery cut the torn stream"
        );
        for (&p, &end) in &s.recovered {
            let before = s.durable_before.get(&p).copied().unwrap_or(0);
            assert!(
                end >= before,
                "seed {seed}: partition {p} kept what was durable"
            );
            let stream = StreamId::Partition {
                topic: 0,
                partition: p,
            };
            if stream == torn {
                assert_eq!(end, before, "seed {seed}: the torn batch is gone");
                partition_tears += 1;
            } else if end > before {
                // Unacknowledged records of the torn flush that landed whole.
                survivors += 1;
            }
        }
    }
    assert!(
        tears >= 15,
        "a flush is in flight at most crashes: {tears} of 20"
    );
    assert!(partition_tears > 0, "some tears cut a partition's batch");
    assert!(survivors > 0, "some whole batches of a torn flush survived");
}

#[test]
fn a_clean_crash_tears_nothing_and_matches_the_torn_run_until_the_crash() {
    let (clean, torn) = (scenario(3, "crash"), scenario(3, "crash_torn"));
    let (wc, wt) = (run(&clean), run(&torn));
    let s = story(&wc);
    assert_eq!((s.torn, s.truncated.len()), (None, 0), "{s:?}");
    let crash_at = |w: &World| {
        w.history()
            .events()
            .iter()
            .position(|e| e.entry == Entry::Crash)
            .expect("a crash")
    };
    let n = crash_at(&wc);
    assert_eq!(n, crash_at(&wt));
    assert_eq!(
        wc.history().events()[..=n],
        wt.history().events()[..=n],
        "the tear changes nothing before the crash"
    );
}

#[test]
fn torn_writes_tear_every_broker_crash_and_crash_torn_needs_the_log_broker() {
    let mut s = scenario(5, "crash");
    s.fault_options.torn_writes = true;
    s.validate().unwrap();
    assert!(
        story(&run(&s)).torn.is_some(),
        "the option tears a plain crash"
    );
    let queue = r#"{ "name": "q", "seed": 1, "duration_ms": 100,
        "broker": { "kind": "queue", "queues": [ { "name": "q" } ] },
        "clients": [ { "kind": "producer", "id": "p1", "routing_key": "q", "interval_ms": 1, "count": 1 } ],"#;
    for (tail, path) in [
        (
            r#""faults": [ { "at_ms": 5, "action": "crash_torn", "target": "broker" } ] }"#,
            "faults[0].action",
        ),
        (
            r#""fault_options": { "torn_writes": true } }"#,
            "fault_options.torn_writes",
        ),
    ] {
        let e = Scenario::from_json(&format!("{queue} {tail}")).expect_err("queues keep no disk");
        assert_eq!(e.path, path, "{e}");
    }
    let mut on_client = scenario(1, "crash_torn");
    on_client.faults[0].target = "p1".into();
    assert_eq!(on_client.validate().unwrap_err().path, "faults[0].action");
}
