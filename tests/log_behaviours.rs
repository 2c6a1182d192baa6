//! One test per log-broker behaviour of issue 4 (Kafka / Kinesis semantics).
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::broker::log::{partition_for_key, LogNote};
use brokerlab::broker::Note;
use brokerlab::config::{ProcessingSpec, Scenario};
use brokerlab::history::{Entry, LogEntry, OpType, Proc};
use brokerlab::world::World;
use std::collections::BTreeMap;

/// A log scenario: `partitions`, `producer` and `consumers` are JSON snippets.
fn log_scenario(partitions: u32, topic_extra: &str, clients: &[String], faults: &str) -> Scenario {
    let json = format!(
        r#"{{ "seed": 3, "duration_ms": 4000,
        "broker": {{ "kind": "log", "topics": [ {{ "name": "t", "partitions": {partitions} {topic_extra} }} ] }},
        "network": {{ "latency_ms_min": 1, "latency_ms_max": 2 }},
        "clients": [ {} ], "faults": [ {faults} ] }}"#,
        clients.join(",")
    );
    Scenario::from_json(&json).unwrap_or_else(|e| panic!("{e}\n{json}"))
}

fn producer(id: &str, keys: &str, extra: &str) -> String {
    format!(
        r#"{{ "kind": "log_producer", "id": "{id}", "topic": "t", "keys": [{keys}], "interval_ms": 4, "count": 200 {extra} }}"#
    )
}

fn consumer(id: &str, extra: &str) -> String {
    consumer_ms(id, 1, extra)
}

fn consumer_ms(id: &str, processing_ms: u64, extra: &str) -> String {
    format!(
        r#"{{ "kind": "log_consumer", "id": "{id}", "topic": "t", "group.id": "g", "processing": {{ "fixed_ms": {processing_ms} }},
        "auto.offset.reset": "earliest", "session.timeout.ms": 300, "heartbeat.interval.ms": 100 {extra} }}"#
    )
}

fn finished(s: &Scenario) -> World {
    let mut world = World::new(s);
    world.finish().expect("within bounds");
    world
}

fn log_notes(world: &World) -> Vec<(u64, LogNote)> {
    let events = world.history().events().iter();
    events
        .filter_map(|e| match e.entry {
            Entry::Broker(Note::Log(n)) => Some((e.time_ms, n)),
            _ => None,
        })
        .collect()
}

fn log_entries(world: &World, who: &str) -> Vec<(u64, LogEntry)> {
    let c = world.names().clients.iter().position(|n| n == who).unwrap() as u32;
    let events = world.history().events().iter();
    events
        .filter_map(|e| match (e.process, e.entry) {
            (Proc::Client(x), Entry::Log(l)) if x == c => Some((e.time_ms, l)),
            _ => None,
        })
        .collect()
}

#[test]
fn keyed_records_go_to_their_murmur2_partition_with_dense_offsets_in_order() {
    let keys = r#""alice","bob","carol","dave","erin","frank""#;
    let s = log_scenario(4, "", &[producer("p1", keys, ""), consumer("c1", "")], "");
    let world = finished(&s);
    let mut next: BTreeMap<u16, u64> = BTreeMap::new();
    for (_, n) in log_notes(&world) {
        if let LogNote::Appended {
            msg,
            partition,
            offset,
            ..
        } = n
        {
            let key = (msg - 1) % 6; // msg ids start at 1, keys in turn
            let name = ["alice", "bob", "carol", "dave", "erin", "frank"][key as usize];
            assert_eq!(partition, partition_for_key(name.as_bytes(), 4), "{name}");
            let want = next.entry(partition).or_insert(0);
            assert_eq!(offset, *want, "dense offsets");
            *want += 1;
        }
    }
    // Each partition is read in offset order.
    let mut last: BTreeMap<u16, u64> = BTreeMap::new();
    for (_, e) in log_entries(&world, "c1") {
        if let LogEntry::Process {
            ty: OpType::Ok,
            partition,
            offset,
            ..
        } = e
        {
            assert!(last.insert(partition, offset).is_none_or(|o| o < offset));
        }
    }
    assert_eq!(world.summary().counts.processed, 200);
}

#[test]
fn keyless_records_go_round_robin_or_sticky_per_batch() {
    let partitions_of = |partitioner: &str| {
        let p = producer("p1", "", &format!(r#", "partitioner": "{partitioner}""#));
        let world = finished(&log_scenario(4, "", &[p, consumer("c1", "")], ""));
        log_notes(&world)
            .into_iter()
            .filter_map(|(_, n)| match n {
                LogNote::Appended { partition, .. } => Some(partition),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let rr = partitions_of("round_robin");
    assert_eq!(&rr[..6], &[0, 1, 2, 3, 0, 1]);
    let sticky = partitions_of("sticky");
    assert!(sticky[..16].iter().all(|p| *p == 0));
    assert!(sticky[16..32].iter().all(|p| *p == 1));
}

#[test]
fn consuming_never_deletes_and_retention_by_count_shows_what_it_removed() {
    let s = log_scenario(1, "", &[producer("p1", "", ""), consumer("c1", "")], "");
    let world = finished(&s);
    let log = world.broker().as_log().unwrap();
    assert_eq!(world.summary().counts.processed, 200);
    assert_eq!(log.record_count(), 200, "every record is still in the log");

    let s = log_scenario(
        1,
        r#", "retention.records": 50"#,
        &[producer("p1", "", ""), consumer("c1", "")],
        "",
    );
    let world = finished(&s);
    let log = world.broker().as_log().unwrap();
    assert_eq!(log.record_count(), 50);
    let deleted: u64 = log_notes(&world)
        .iter()
        .filter_map(|(_, n)| match n {
            LogNote::RetentionDeleted { from, to, .. } => Some(to - from),
            _ => None,
        })
        .sum();
    assert_eq!(deleted, 150);
    let view = &log.partition_views(10)[0];
    assert_eq!((view.start, view.end), (150, 200));
}

#[test]
fn retention_by_age_deletes_old_records_as_time_passes() {
    let s = log_scenario(
        2,
        r#", "retention.ms": 500"#,
        &[producer("p1", "", ""), consumer("c1", "")],
        "",
    );
    let world = finished(&s);
    let log = world.broker().as_log().unwrap();
    assert_eq!(
        log.record_count(),
        0,
        "long after the last write everything aged out"
    );
    assert_eq!(world.summary().log.unwrap().retention_deleted, 200);
}

#[test]
fn acks_0_never_hears_back_acks_1_acks_at_append_acks_all_after_the_fsync() {
    let run = |acks: &str| {
        let p = producer("p1", "", &format!(r#", "acks": "{acks}""#));
        finished(&log_scenario(1, "", &[p, consumer("c1", "")], ""))
    };
    let zero = run("0");
    let s = zero.summary();
    assert_eq!((s.counts.confirmed, s.counts.unconfirmed), (0, 200));

    for (acks, after_fsync) in [("1", false), ("all", true)] {
        let world = run(acks);
        assert_eq!(world.summary().counts.confirmed, 200, "acks={acks}");
        let durable: Vec<(u64, u64)> = log_notes(&world)
            .iter()
            .filter_map(|(t, n)| match n {
                LogNote::Durable { to, .. } => Some((*t, *to)),
                _ => None,
            })
            .collect();
        for (t, e) in log_entries(&world, "p1") {
            let LogEntry::Produced { offset, .. } = e else {
                continue;
            };
            let durable_at = durable.iter().find(|(_, to)| *to > offset).unwrap().0;
            // The response travels 1-2 ms after the broker decides.
            if after_fsync {
                assert!(t > durable_at, "acks=all answered only after the fsync");
            } else {
                assert!(t < durable_at, "acks=1 answered before the fsync");
            }
        }
    }
}

#[test]
fn a_broker_crash_loses_acks_1_writes_not_yet_on_disk_but_not_acks_all_writes() {
    let run = |acks: &str| {
        let p = producer(
            "p1",
            "",
            &format!(r#", "acks": "{acks}", "retries": 5, "request.timeout.ms": 100"#),
        );
        let faults = r#"{ "at_ms": 402, "action": "crash", "target": "broker" },
                        { "at_ms": 600, "action": "restart", "target": "broker" }"#;
        let s = log_scenario(
            1,
            r#""#,
            &[
                p,
                consumer(
                    "c1",
                    r#", "enable.auto.commit": false, "commit": "after_processing""#,
                ),
            ],
            faults,
        );
        let mut s = s;
        if let brokerlab::config::BrokerSpec::Log(b) = &mut s.broker {
            b.fsync_latency_ms = 20;
        }
        finished(&s).summary()
    };
    let one = run("1");
    assert!(
        one.counts.lost > 0,
        "acks=1 lost an acknowledged write: {one:?}"
    );
    assert!(one
        .findings
        .iter()
        .any(|f| f.kind == "lost-write" || f.kind == "unseen"));
    let all = run("all");
    assert_eq!(all.counts.lost, 0, "{:?}", all.findings);
    assert!(
        all.log.unwrap().lost_in_crash > 0,
        "the crash did lose unacknowledged records"
    );
}

#[test]
fn a_retried_produce_whose_first_try_landed_is_a_duplicate_at_a_new_offset() {
    let p = producer(
        "p1",
        "",
        r#", "acks": "all", "retries": 3, "request.timeout.ms": 50"#,
    );
    let faults = r#"{ "at_ms": 100, "action": "drop_acks", "target": "p1", "until_ms": 160 }"#;
    let world = finished(&log_scenario(1, "", &[p, consumer("c1", "")], faults));
    let s = world.summary();
    assert!(s.log.unwrap().duplicate > 0);
    let f = s.findings.iter().find(|f| f.kind == "duplicate").unwrap();
    assert!(f.explanation.contains("offset"), "{}", f.explanation);
    assert_eq!(s.counts.lost, 0);
}

#[test]
fn groups_rebalance_on_join_leave_and_session_timeout_with_generations_and_idle_members() {
    let faults = r#"{ "at_ms": 1000, "action": "crash", "target": "c2" }"#;
    let clients = [
        producer("p1", "", r#", "partitioner": "round_robin""#),
        consumer("c1", ""),
        consumer("c2", ""),
        consumer("c3", r#", "leave_at_ms": 2000"#),
    ];
    let world = finished(&log_scenario(2, "", &clients, faults));
    let notes = log_notes(&world);
    let gens: Vec<u32> = notes
        .iter()
        .filter_map(|(_, n)| match n {
            LogNote::Assigned { generation, .. } => Some(*generation),
            _ => None,
        })
        .collect();
    assert!(
        gens.windows(2).all(|w| w[0] <= w[1]),
        "generations only grow"
    );
    let idle = notes
        .iter()
        .any(|(_, n)| matches!(n, LogNote::Assigned { partitions: 0, .. }));
    assert!(idle, "three members, two partitions: one is idle");
    let expired = notes
        .iter()
        .find(|(_, n)| matches!(n, LogNote::SessionExpired { .. }))
        .expect("c2 missed its heartbeats");
    assert!(expired.0 >= 1000 + 300 - 100 && expired.0 <= 1000 + 300 + 5);
    // One owner per partition in every generation.
    let mut owners: BTreeMap<(u32, u16), u32> = BTreeMap::new();
    for (_, n) in &notes {
        if let LogNote::Assigned {
            generation,
            member,
            partitions,
            ..
        } = n
        {
            for p in 0..2u16 {
                if partitions & (1 << p) != 0 {
                    assert!(owners.insert((*generation, p), *member).is_none());
                }
            }
        }
    }
    let left = log_entries(&world, "c3")
        .iter()
        .any(|(_, e)| matches!(e, LogEntry::Leave { .. }));
    assert!(left);
    assert_eq!(world.summary().counts.lost, 0);
}

#[test]
fn auto_commit_commits_the_previous_polls_position_inside_poll() {
    let c = consumer(
        "c1",
        r#", "auto.commit.interval.ms": 200, "max.poll.records": 5"#,
    );
    let world = finished(&log_scenario(1, "", &[producer("p1", "", ""), c], ""));
    let entries = log_entries(&world, "c1");
    let mut processed_end = 0; // one past the last processed offset
    let mut commits = 0;
    let mut last_commit_ms = 0;
    for (i, (t, e)) in entries.iter().enumerate() {
        match *e {
            LogEntry::Process {
                ty: OpType::Ok,
                offset,
                ..
            } => processed_end = offset + 1,
            LogEntry::Commit { offset, .. } => {
                commits += 1;
                assert!(
                    offset <= processed_end,
                    "never commits past what was processed"
                );
                let next = entries.get(i + 1).map(|e| e.1);
                assert!(
                    matches!(next, Some(LogEntry::Poll { .. })),
                    "the commit happens inside poll(), right before the fetch"
                );
                assert!(*t >= last_commit_ms + 200 || last_commit_ms == 0);
                last_commit_ms = *t;
            }
            _ => {}
        }
    }
    assert!(commits >= 3);
}

#[test]
fn auto_offset_reset_latest_skips_history_and_earliest_reads_it() {
    let run = |reset: &str| {
        let late = format!(
            r#"{{ "kind": "log_consumer", "id": "late", "topic": "t", "group.id": "other",
            "processing": {{ "fixed_ms": 1 }}, "auto.offset.reset": "{reset}" }}"#
        );
        let mut world = World::new(&log_scenario(1, "", &[producer("p1", "", "")], ""));
        world.run_until(400).unwrap();
        world
            .add_client(brokerlab::config::Scenario::from_json(&format!(
                r#"{{ "seed": 1, "duration_ms": 10, "broker": {{ "kind": "log", "topics": [ {{ "name": "t", "partitions": 1 }} ] }}, "clients": [ {late} ] }}"#
            ))
            .unwrap()
            .clients[0]
            .clone())
            .unwrap();
        world.finish().unwrap();
        world
            .clients()
            .iter()
            .find(|c| c.id == "late")
            .unwrap()
            .count
    };
    assert_eq!(run("earliest"), 200);
    let latest = run("latest");
    assert!(
        latest < 200 && latest > 50,
        "only records after it joined: {latest}"
    );
}

#[test]
fn seek_to_trim_horizon_replays_the_partition() {
    let c = consumer(
        "c1",
        r#", "seeks": [ { "at_ms": 2000, "position": "TRIM_HORIZON" } ]"#,
    );
    let world = finished(&log_scenario(1, "", &[producer("p1", "", ""), c], ""));
    let s = world.summary();
    assert_eq!(s.counts.processed, 200);
    assert!(
        s.counts.duplicated >= 100,
        "replayed from offset 0: {}",
        s.counts.duplicated
    );
    let c = consumer(
        "c1",
        r#", "seeks": [ { "at_ms": 2000, "position": "AT_SEQUENCE_NUMBER", "offset": 150 } ]"#,
    );
    let world = finished(&log_scenario(1, "", &[producer("p1", "", ""), c], ""));
    let replayed = world.summary().counts.duplicated;
    assert!(
        replayed > 0 && replayed <= 50,
        "replayed from 150 only: {replayed}"
    );
}

#[test]
fn a_slow_consumer_blocks_its_partition_and_its_lag_shows_it() {
    let clients = [
        producer("p1", "", r#", "partitioner": "round_robin""#),
        consumer(
            "c1",
            r#", "partition.assignment.strategy": "roundrobin", "enable.auto.commit": false, "commit": "after_processing""#,
        ),
        consumer(
            "c2",
            r#", "partition.assignment.strategy": "roundrobin", "enable.auto.commit": false, "commit": "after_processing""#,
        ),
    ];
    let mut world = World::new(&log_scenario(2, "", &clients, ""));
    world.run_until(300).unwrap();
    let owner_of_0 = world.broker().as_log().unwrap().partition_views(0)[0].groups[0]
        .1
        .unwrap();
    let slow = world.names().clients[owner_of_0 as usize].clone();
    world
        .set_processing(&slow, ProcessingSpec::FixedMs(40))
        .unwrap();
    world.run_until(700).unwrap();
    let views = world.broker().as_log().unwrap().partition_views(0);
    let (lag0, lag1) = (views[0].groups[0].3, views[1].groups[0].3);
    assert!(lag0 >= 30, "partition 0 is held up: lag {lag0}");
    assert!(lag1 <= 3, "partition 1 flows: lag {lag1}");
}

#[test]
fn throughput_rises_with_partitions_and_consumers() {
    let done_ms = |partitions: u32, consumers: usize| {
        let mut clients = vec![producer("p1", "", r#", "partitioner": "round_robin""#)];
        for i in 0..consumers {
            clients.push(consumer_ms(&format!("c{i}"), 8, ""));
        }
        let world = finished(&log_scenario(partitions, "", &clients, ""));
        let s = world.summary();
        assert_eq!(s.counts.processed, 200);
        s.counts.last_processed_ms
    };
    let one = done_ms(1, 1);
    let four = done_ms(4, 4);
    assert!(
        one > 1500 && four < one / 2,
        "1 partition: {one} ms, 4: {four} ms"
    );
}
