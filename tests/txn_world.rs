//! The read-process-write transactional client inside the world: each
//! input record's effect (its committed transaction) happens exactly once
//! across a coordinator crash, a zombie is fenced, and the scenario syntax
//! rejects bad settings with the field's path.

use brokerlab::history::{Entry, LogEntry, OpType, Proc};
use brokerlab::scenario::Scenario;
use brokerlab::sim::world::World;
use std::collections::BTreeMap;

const RPW: &str = include_str!("txn/txn_read_process_write.json");

/// Per client name: how many times each message got `ok process`.
fn processed(world: &World) -> BTreeMap<String, BTreeMap<u64, u32>> {
    let names = world.names();
    let mut by: BTreeMap<String, BTreeMap<u64, u32>> = BTreeMap::new();
    for ev in world.history().events() {
        if let (
            Proc::Client(c),
            Entry::Log(LogEntry::Process {
                ty: OpType::Ok,
                msg,
                ..
            }),
        ) = (ev.process, ev.entry)
        {
            let m = by.entry(names.client(c).to_string()).or_default();
            *m.entry(msg).or_insert(0) += 1;
        }
    }
    by
}

fn run(text: &str) -> World {
    let s = Scenario::from_json(text).expect("valid");
    let mut w = World::new(&s);
    w.run().expect("runs");
    w
}

#[test]
fn every_input_commits_exactly_once_across_a_coordinator_crash() {
    let w = run(RPW);
    let p = processed(&w);
    let rpw = &p["rpw"];
    assert_eq!(rpw.len(), 200, "every order is processed");
    assert!(rpw.values().all(|n| *n == 1), "and committed once: {rpw:?}");
    let mail = &p["mail"];
    assert_eq!(
        mail.len(),
        200,
        "one committed invoice per order reaches read_committed"
    );
}

#[test]
fn a_zombie_with_the_same_transactional_id_is_fenced() {
    // A second instance starts while the first is in a slow transaction.
    let text = RPW
        .replace(r#""processing": { "fixed_ms": 1 }, "enable.auto.commit": false, "max.poll.records": 20"#,
                 r#""processing": { "fixed_ms": 30 }, "enable.auto.commit": false, "max.poll.records": 20"#)
        .replace(r#""faults": ["#, r#""faults": [ { "at_ms": 100, "action": "crash", "target": "p1" }, { "at_ms": 600, "action": "restart", "target": "p1" },"#);
    let mut s = Scenario::from_json(&text).expect("valid");
    let mut twin = s.clients[1].clone();
    if let brokerlab::scenario::ClientSpec::LogConsumer(k) = &mut twin {
        k.id = "rpw2".into();
        k.transactional.as_mut().unwrap().start_ms = 300;
    }
    s.clients.push(twin);
    let mut w = World::new(&s);
    w.run().expect("runs");
    let fenced = w.history().events().iter().any(|e| {
        matches!(e.entry, Entry::Log(LogEntry::Leave { .. })) && e.process == Proc::Client(1)
    });
    assert!(fenced, "the first instance is fenced and leaves");
    let p = processed(&w);
    let mut once: BTreeMap<u64, u32> = BTreeMap::new();
    for c in ["rpw", "rpw2"] {
        for (m, n) in p.get(c).into_iter().flatten() {
            *once.entry(*m).or_insert(0) += n;
        }
    }
    assert!(
        once.values().all(|n| *n == 1),
        "no input commits twice: {once:?}"
    );
}

#[test]
fn transactional_settings_are_checked_with_their_path() {
    let bad = RPW.replace(r#""output_topic": "invoices""#, r#""output_topic": "nope""#);
    let e = Scenario::from_json(&bad).expect_err("unknown output topic");
    assert_eq!(e.path, "clients[1].transactional.output_topic");
    let bad = RPW.replace(
        r#""output_topic": "invoices""#,
        r#""output_topic": "orders""#,
    );
    let e = Scenario::from_json(&bad).expect_err("output = input");
    assert_eq!(e.path, "clients[1].transactional.output_topic");
    let bad = RPW.replace(
        r#""enable.auto.commit": false, "max.poll.records": 20"#,
        r#""enable.auto.commit": true, "max.poll.records": 20"#,
    );
    let e = Scenario::from_json(&bad).expect_err("auto-commit");
    assert_eq!(e.path, "clients[1].enable.auto.commit");
    let bad = RPW.replace(
        r#""transaction.timeout.ms": 2000"#,
        r#""transaction.timeout.ms": 0"#,
    );
    let e = Scenario::from_json(&bad).expect_err("zero timeout");
    assert_eq!(e.path, "clients[1].transactional.transaction.timeout.ms");
    let bad = RPW.replace(
        r#""transactional.id": "billing-rpw""#,
        r#""transactional.id": """#,
    );
    let e = Scenario::from_json(&bad).expect_err("empty id");
    assert_eq!(e.path, "clients[1].transactional.transactional.id");
}
