//! The replication core through its harness (issue 13): a 3-broker
//! cluster with `replication.factor=3`, faults by broker name, and the
//! checker's verdict. The sweep over 2,000 seeds per cell is
//! `cluster_sweep.rs`.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::check::cluster::FindingKind;
use brokerlab::config::Scenario;
use brokerlab::world::cluster::ClusterRun;

/// A cluster scenario: `cluster` is the `broker.cluster` object, `acks`
/// the producer's, `faults` the fault list.
pub fn scenario(cluster: &str, producer: &str, faults: &str) -> Scenario {
    scenario_at(cluster, producer, faults, (10, 150, 1))
}

/// [`scenario`] with the producers' (`interval_ms`, `count`, how many).
pub fn scenario_at(
    cluster: &str,
    producer: &str,
    faults: &str,
    (interval, count, producers): (u64, u64, usize),
) -> Scenario {
    let producers: Vec<String> = (1..=producers)
        .map(|i| {
            format!(
                r#"{{ "kind": "log_producer", "id": "p{i}", "topic": "events", "keys": ["k{i}", "j{i}", "l{i}"],
      "interval_ms": {interval}, "count": {count}, "retries": 1000, "request.timeout.ms": 150 {producer} }},"#
            )
        })
        .collect();
    let producers = producers.join("\n");
    let json = format!(
        r#"{{
  "name": "cluster", "seed": 1, "duration_ms": 2000,
  "broker": {{ "kind": "log", "topics": [ {{ "name": "events", "partitions": 2 }} ],
              "fsync_latency_ms": 4, "cluster": {cluster} }},
  "network": {{ "latency_ms_min": 1, "latency_ms_max": 4 }},
  "clients": [
    {producers}
    {{ "kind": "log_consumer", "id": "c1", "topic": "events", "group.id": "g",
      "processing": {{ "fixed_ms": 1 }} }}
  ],
  "faults": {faults},
  "limits": {{ "drain_ms": 1500 }}
}}"#
    );
    Scenario::cluster_from_json(&json).unwrap_or_else(|e| panic!("{e}\n{json}"))
}

const SAFE: &str = r#"{ "brokers": 3, "replication.factor": 3, "min.insync.replicas": 2,
    "replica.lag.time.max.ms": 100, "replica.fetch.wait.max.ms": 20,
    "broker.session.timeout.ms": 150 }"#;

fn run(s: &Scenario) -> ClusterRun {
    let mut run = ClusterRun::new(s).expect("valid");
    run.finish().expect("within bounds");
    run
}

#[test]
fn without_faults_every_acknowledged_record_is_committed_everywhere() {
    let run = run(&scenario(SAFE, r#", "acks": "all""#, "[]"));
    let v = run.verdict();
    assert!(v.findings.is_empty(), "{v:#?}");
    assert_eq!(run.acks().len(), 150, "every record acknowledged");
    for view in run.views() {
        for r in &view.replicas {
            assert_eq!(r.leo, r.hw, "{view:?}: quiescent replicas are caught up");
        }
    }
}

/// The verdict's lost count over seeds `1..=seeds`, and the first lost
/// story found.
fn lost_over(s: &Scenario, seeds: u64, kinds: &[FindingKind]) -> (u64, Option<String>) {
    let (mut found, mut story) = (0, None);
    for seed in 1..=seeds {
        let mut s = s.clone();
        s.seed = seed;
        let v = run(&s).verdict();
        for k in kinds {
            if v.count(*k) > 0 {
                found += 1;
                let f = v.findings.iter().find(|f| f.kind == *k).expect("told");
                story.get_or_insert_with(|| format!("seed {seed}: {}", f.story));
            }
        }
    }
    (found, story)
}

/// A producer as fast as its answers come back.
const FAST: (u64, u64, usize) = (1, 1500, 4);

const LEADER_CRASH: &str = r#"[{"at_ms": 700, "action": "crash", "target": "b1"},
    {"at_ms": 1100, "action": "restart", "target": "b1"}]"#;

#[test]
fn acks_all_with_min_insync_2_survives_a_leader_crash() {
    let s = scenario_at(SAFE, r#", "acks": "all""#, LEADER_CRASH, FAST);
    let all = [
        FindingKind::Lost,
        FindingKind::Diverged,
        FindingKind::HwMovedBack,
        FindingKind::ReadVanished,
    ];
    let (found, story) = lost_over(&s, 30, &all);
    assert_eq!(found, 0, "{story:?}");
}

#[test]
fn acks_1_with_a_leader_crash_loses_an_acknowledged_record_and_says_why() {
    let s = scenario_at(SAFE, r#", "acks": "1""#, LEADER_CRASH, FAST);
    let (found, story) = lost_over(&s, 30, &[FindingKind::Lost]);
    let story = story.expect("acks=1 loses a record in some seed");
    assert!(found > 0);
    assert!(
        story.contains("acks=1") && story.contains("b1 crashed"),
        "{story}"
    );
    assert!(story.contains("became leader at epoch 1"), "{story}");
    println!("{story}");
}
