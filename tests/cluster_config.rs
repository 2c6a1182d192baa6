//! The cluster's scenario fields (issue 13): impossible combinations are
//! refused with an error that names the field, and the single node spelled
//! out as a cluster (`"brokers": 1, "flush.messages": 1`) is today's broker
//! exactly, history for history.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::config::{BrokerSpec, ClusterSpec, Scenario};
use brokerlab::world::World;

const SWEEP: &str = include_str!("../scenarios/log_crash_sweep.json");

/// `log_crash_sweep.json` with `cluster` set to `json` and `faults` to `faults`.
fn with_cluster(json: &str, faults: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(SWEEP).unwrap();
    v["broker"]["cluster"] = serde_json::from_str(json).unwrap();
    v["faults"] = serde_json::from_str(faults).unwrap();
    v.to_string()
}

fn error(json: &str, faults: &str) -> (String, String) {
    let e = Scenario::from_json(&with_cluster(json, faults)).expect_err("refused");
    (e.path, e.reason)
}

#[test]
fn more_replicas_than_brokers_is_refused_by_name() {
    let (path, reason) = error(r#"{"brokers": 2, "replication.factor": 3}"#, "[]");
    assert_eq!(path, "broker.cluster.replication.factor");
    assert!(
        reason.contains("replication.factor 3 with 2 brokers"),
        "{reason}"
    );
}

#[test]
fn min_insync_above_the_replication_factor_is_refused_by_name() {
    let json = r#"{"brokers": 3, "replication.factor": 2, "min.insync.replicas": 3}"#;
    let (path, reason) = error(json, "[]");
    assert_eq!(path, "broker.cluster.min.insync.replicas");
    assert!(reason.contains("above replication.factor 2"), "{reason}");
}

#[test]
fn broker_counts_and_times_out_of_range_are_refused() {
    let cases = [
        (r#"{"brokers": 0}"#, "broker.cluster.brokers"),
        (r#"{"brokers": 6}"#, "broker.cluster.brokers"),
        (
            r#"{"brokers": 1, "flush.messages": 0}"#,
            "broker.cluster.flush.messages",
        ),
        (
            r#"{"brokers": 1, "flush.ms": 0}"#,
            "broker.cluster.flush.ms",
        ),
        (
            r#"{"brokers": 1, "replica.lag.time.max.ms": 0}"#,
            "broker.cluster.replica.lag.time.max.ms",
        ),
    ];
    for (json, want) in cases {
        let (path, _) = error(json, "[]");
        assert!(path.starts_with(want), "{json}: {path}");
    }
    // The producer's setting is not the cluster's: an unknown field.
    let (path, reason) = error(r#"{"brokers": 1, "acks": 1}"#, "[]");
    assert!(path.starts_with("broker"), "{path}");
    assert!(reason.contains("unknown field `acks`"), "{reason}");
}

#[test]
fn an_unknown_broker_in_a_fault_is_refused_by_name() {
    let cluster = r#"{"brokers": 3, "replication.factor": 3, "min.insync.replicas": 2}"#;
    let fault = r#"[{"at_ms": 100, "action": "crash", "target": "b4"}]"#;
    let (path, reason) = error(cluster, fault);
    assert_eq!(path, "faults[0].target");
    assert!(reason.contains("unknown broker `b4`"), "{reason}");
    assert!(reason.contains("b1, b2, b3"), "{reason}");
    // `broker` is the single node's name, not a cluster member's.
    let fault = r#"[{"at_ms": 100, "action": "crash", "target": "broker"}]"#;
    assert_eq!(error(cluster, fault).0, "faults[0].target");
}

#[test]
fn cluster_faults_need_a_cluster_and_a_broker() {
    let mut v: serde_json::Value = serde_json::from_str(SWEEP).unwrap();
    v["faults"] = serde_json::json!([{"at_ms": 100, "action": "isolate", "target": "broker"}]);
    let e = Scenario::from_json(&v.to_string()).expect_err("no cluster");
    assert_eq!(e.path, "faults[0].action");
    let cluster = r#"{"brokers": 3, "replication.factor": 3}"#;
    let fault = r#"[{"at_ms": 100, "action": "slow_follower", "target": "b2"}]"#;
    assert_eq!(error(cluster, fault).0, "faults[0].until_ms");
    let fault = r#"[{"at_ms": 100, "action": "heal", "target": "p1"}]"#;
    assert_eq!(error(cluster, fault).0, "faults[0].target");
}

#[test]
fn a_client_may_not_carry_a_brokers_name_in_a_cluster() {
    let mut v: serde_json::Value = serde_json::from_str(&with_cluster(
        r#"{"brokers": 3, "replication.factor": 3}"#,
        "[]",
    ))
    .unwrap();
    v["clients"][1]["id"] = "b2".into();
    let e = Scenario::from_json(&v.to_string()).expect_err("ambiguous");
    assert_eq!(e.path, "clients[1].id");
}

#[test]
fn cluster_draws_need_a_cluster() {
    let mut v: serde_json::Value = serde_json::from_str(SWEEP).unwrap();
    v["fault_options"]["broker_isolation"] = true.into();
    let e = Scenario::from_json(&v.to_string()).expect_err("no cluster");
    assert_eq!(e.path, "fault_options.broker_isolation");
}

#[test]
fn a_real_cluster_is_refused_by_the_world_with_the_reason() {
    let json = r#"{"brokers": 3, "replication.factor": 3, "min.insync.replicas": 2}"#;
    let (path, reason) = error(json, "[]");
    assert_eq!(path, "broker.cluster");
    assert!(reason.contains("replication core"), "{reason}");
}

/// `"brokers": 1, "flush.messages": 1` is the broker every run has had:
/// same history, seed for seed, plain and with random faults.
#[test]
fn the_single_node_spelled_out_keeps_every_history() {
    let plain = Scenario::from_json(SWEEP).unwrap();
    let explicit = Scenario::from_json(&with_cluster(
        r#"{"brokers": 1, "flush.messages": 1}"#,
        "[]",
    ))
    .expect("the single node is a valid cluster");
    let BrokerSpec::Log(l) = &explicit.broker else {
        panic!("a log broker")
    };
    let c = l.cluster.expect("set");
    assert_eq!(c.flush_messages, ClusterSpec::single_node().flush_messages);
    for seed in 1..=5 {
        let hash = |s: &Scenario| {
            let s = brokerlab::sim::faults::with_random_faults(s, seed);
            let mut w = World::new(&s);
            w.finish().unwrap();
            w.history().hash(w.names())
        };
        assert_eq!(hash(&plain), hash(&explicit), "seed {seed}");
    }
}

/// A scenario without a cluster writes no `cluster` field: exported
/// scenarios stay what they were.
#[test]
fn no_cluster_no_field() {
    let plain = Scenario::from_json(SWEEP).unwrap();
    let json = plain.to_json_pretty();
    assert!(!json.contains("cluster"), "{json}");
    assert!(!json.contains("broker_isolation"), "{json}");
}

/// A cluster's random draw hits brokers by name, isolates and slows them
/// only when asked, and a run without a cluster draws what it drew.
#[test]
fn random_cluster_faults_name_brokers() {
    let json = with_cluster(
        r#"{"brokers": 3, "replication.factor": 3, "min.insync.replicas": 2}"#,
        "[]",
    );
    let mut s = Scenario::cluster_from_json(&json).expect("a valid cluster");
    s.fault_options.broker_isolation = true;
    s.fault_options.slow_follower = true;
    s.fault_options.max_faults = 6;
    s.validate_cluster().expect("still valid");
    let mut seen = std::collections::BTreeSet::new();
    for seed in 1..=40 {
        for f in brokerlab::sim::faults::random_faults(&s, seed) {
            let t = f.target.as_str();
            if ["b1", "b2", "b3"].contains(&t) {
                seen.insert(format!("{:?}", f.action));
            }
            assert_ne!(t, "broker", "seed {seed}: {f:?}");
        }
    }
    for action in [
        "Crash",
        "Restart",
        "Isolate",
        "IsolateFromBrokers",
        "Heal",
        "SlowFollower",
    ] {
        assert!(seen.contains(action), "{action} never drawn: {seen:?}");
    }
}
