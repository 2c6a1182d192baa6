//! The two history exports a learner can download: JSON Lines (every event)
//! and EDN in Jepsen's conventions (client operations and faults), read back
//! here with a real EDN parser (`edn-format` from crates.io), so an export
//! Jepsen or Elle could not load fails.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/bundled.rs"]
mod bundled;

use brokerlab::config::Scenario;
use brokerlab::history::{Entry, OpType};
use brokerlab::sim::faults::with_random_faults;
use brokerlab::world::World;
use edn_format::{Keyword, Value};
use std::collections::{BTreeMap, BTreeSet};

fn run(scenario: &Scenario) -> World {
    let mut world = World::new(scenario);
    world.finish().expect("within bounds");
    world
}

fn kw(name: &str) -> Value {
    Value::Keyword(Keyword::from_name(name))
}

/// One parsed operation's fields.
struct Op {
    index: i64,
    ty: String,
    f: String,
    value: Value,
    process: Value,
    time_ns: i64,
}

fn field<'a>(map: &'a BTreeMap<Value, Value>, name: &str, line: &str) -> &'a Value {
    map.get(&kw(name))
        .unwrap_or_else(|| panic!("`:{name}` missing in {line}"))
}

fn keyword_name(v: &Value, line: &str) -> String {
    match v {
        Value::Keyword(k) => k.name().to_string(),
        other => panic!("a keyword expected, got {other:?} in {line}"),
    }
}

fn integer(v: &Value, line: &str) -> i64 {
    match v {
        Value::Integer(n) => *n,
        other => panic!("an integer expected, got {other:?} in {line}"),
    }
}

/// Parses one line with `edn-format`: it must be one map with Jepsen's fields.
fn parse(line: &str) -> Op {
    let value = edn_format::parse_str(line).unwrap_or_else(|e| panic!("{line}: {e:?}"));
    let Value::Map(map) = value else {
        panic!("not a map: {line}")
    };
    Op {
        index: integer(field(&map, "index", line), line),
        ty: keyword_name(field(&map, "type", line), line),
        f: keyword_name(field(&map, "f", line), line),
        value: field(&map, "value", line).clone(),
        process: field(&map, "process", line).clone(),
        time_ns: integer(field(&map, "time", line), line),
    }
}

/// Jepsen's rules for one history: consecutive indexes, times that never go
/// back, known types and functions, and one operation at a time per
/// process, a process retired after `:info`.
fn check_jepsen_shape(name: &str, ops: &[Op]) {
    let mut open: BTreeMap<i64, String> = BTreeMap::new();
    let mut retired: BTreeSet<i64> = BTreeSet::new();
    let mut last_ns = 0;
    for (i, op) in ops.iter().enumerate() {
        assert_eq!(op.index, i as i64, "{name}: indexes count from 0");
        assert!(op.time_ns >= last_ns, "{name}: time went back at {i}");
        assert_eq!(op.time_ns % 1_000_000, 0, "{name}: ns from whole ms");
        last_ns = op.time_ns;
        assert!(["invoke", "ok", "fail", "info"].contains(&op.ty.as_str()));
        assert!(["send", "poll", "kill", "start"].contains(&op.f.as_str()));
        let Value::Integer(p) = op.process else {
            assert_eq!(op.process, kw("nemesis"), "{name}: {i}");
            assert_eq!(op.ty, "info", "{name}: the nemesis only reports");
            continue;
        };
        assert!(
            !retired.contains(&p),
            "{name}: process {p} reused after :info"
        );
        match op.ty.as_str() {
            "invoke" => {
                let before = open.insert(p, op.f.clone());
                assert!(before.is_none(), "{name}: process {p} runs two ops at {i}");
            }
            ty => {
                let f = open.remove(&p);
                assert_eq!(f.as_deref(), Some(op.f.as_str()), "{name}: {ty} at {i}");
                if ty == "info" {
                    retired.insert(p);
                }
            }
        }
    }
}

/// Message ids that `:ok :poll` values say were read.
fn polled(ops: &[Op]) -> BTreeSet<i64> {
    let mut seen = BTreeSet::new();
    for op in ops.iter().filter(|o| o.ty == "ok" && o.f == "poll") {
        let Value::Vector(mops) = &op.value else {
            panic!("a poll's value is a vector of micro-ops")
        };
        let [Value::Vector(mop)] = mops.as_slice() else {
            panic!("one micro-op per poll")
        };
        assert_eq!(mop[0], kw("poll"));
        let Value::Map(by_key) = &mop[1] else {
            panic!("reads by key")
        };
        for reads in by_key.values() {
            let Value::Vector(reads) = reads else {
                panic!("a key's reads are a vector")
            };
            for r in reads {
                let Value::Vector(pair) = r else {
                    panic!("[offset value]")
                };
                assert!(matches!(pair[0], Value::Integer(_) | Value::Nil));
                seen.insert(integer(&pair[1], "read value"));
            }
        }
    }
    seen
}

#[test]
fn the_edn_export_parses_and_keeps_jepsens_rules_for_every_scenario() {
    for (name, scenario) in bundled::scenarios() {
        for scenario in [scenario.clone(), with_random_faults(&scenario, 7)] {
            let world = run(&scenario);
            let edn = world.history().to_edn(world.names());
            let ops: Vec<Op> = edn.lines().map(parse).collect();
            check_jepsen_shape(&name, &ops);
            let events = world.history().events();
            let publishes = events
                .iter()
                .filter(|e| {
                    matches!(
                        e.entry,
                        Entry::Publish {
                            ty: OpType::Invoke,
                            ..
                        }
                    )
                })
                .count();
            let sends = ops.iter().filter(|o| o.ty == "invoke" && o.f == "send");
            assert_eq!(sends.count(), publishes, "{name}: one :send per publish");
            let delivered: BTreeSet<i64> = events
                .iter()
                .filter_map(|e| match e.entry {
                    Entry::Deliver { delivery, .. } => Some(delivery.msg.id as i64),
                    Entry::Log(brokerlab::history::LogEntry::Read { msg, .. }) => Some(msg as i64),
                    _ => None,
                })
                .collect();
            assert_eq!(
                polled(&ops),
                delivered,
                "{name}: polls read what was delivered"
            );
        }
    }
}

#[test]
fn a_log_runs_ok_send_carries_its_offset_as_in_jepsens_kafka_workload() {
    let text = std::fs::read_to_string("scenarios/log_at_least_once.json").expect("readable");
    let scenario = Scenario::from_json(&text).expect("valid");
    let world = run(&scenario);
    let edn = world.history().to_edn(world.names());
    // `cargo test --test history_export -- --nocapture` shows a sample.
    for line in edn.lines().take(12) {
        println!("{line}");
    }
    let ok_send = edn
        .lines()
        .map(parse)
        .find(|o| o.ty == "ok" && o.f == "send")
        .expect("a confirmed send");
    // [[:send key [offset value]]]
    let Value::Vector(mops) = ok_send.value else {
        panic!("micro-ops")
    };
    let Value::Vector(mop) = &mops[0] else {
        panic!("a micro-op")
    };
    assert_eq!(mop[0], kw("send"));
    assert!(
        matches!(mop[1], Value::Integer(_)),
        "the key is the partition"
    );
    let Value::Vector(pair) = &mop[2] else {
        panic!("[offset value], got {:?}", mop[2])
    };
    assert!(matches!(
        (&pair[0], &pair[1]),
        (Value::Integer(_), Value::Integer(_))
    ));
}

#[test]
fn every_jsonl_line_is_one_json_object() {
    for (name, scenario) in bundled::scenarios() {
        let world = run(&with_random_faults(&scenario, 3));
        let jsonl = world.history().to_jsonl(world.names());
        assert_eq!(jsonl.lines().count(), world.history().len(), "{name}");
        for line in jsonl.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect(line);
            assert!(
                v.get("time_ms").is_some() && v.get("type").is_some(),
                "{line}"
            );
        }
    }
}
