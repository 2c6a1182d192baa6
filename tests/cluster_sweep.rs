//! The replication matrix (issue 13): a 3-broker cluster,
//! `replication.factor=3`, `min.insync.replicas=2`, `acks=all`, one
//! broker fault at a time (crash and restart, isolation and heal, a slow
//! follower), swept over seeds: at least once and exactly once
//! (idempotent) must hold in every seed. And the five negative controls,
//! each of which must find a loss or a divergence in some seed.
//! `GUARANTEE_SEEDS` sets the seeds per cell (default 20; CI runs 2,000
//! in the `sweep` profile), as for `guarantees_sweep.rs`.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::check::cluster::{ClusterVerdict, FindingKind};
use brokerlab::config::Scenario;
use brokerlab::sim::faults::with_random_faults;
use brokerlab::world::cluster::ClusterRun;

fn seeds() -> u64 {
    std::env::var("GUARANTEE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

/// The matrix's cluster: `broker.session.timeout.ms` below
/// `replica.lag.time.max.ms`, as Kafka's defaults (9 s, 30 s), so the
/// controller fences a silent leader before it could shrink its ISR.
const CELL: &str = r#""brokers": 3, "replication.factor": 3, "min.insync.replicas": 2,
    "replica.lag.time.max.ms": 100, "replica.fetch.wait.max.ms": 20,
    "broker.session.timeout.ms": 60"#;

/// A cluster scenario: `cluster` inside `broker.cluster`, `producer`
/// appended to each of the two producers, `faults` the fault list, and
/// the random draw of one broker fault at a time.
fn scenario(cluster: &str, producer: &str, faults: &str) -> Scenario {
    // Keyless: each producer's records go round-robin over the partitions.
    let producer = |id: &str| {
        format!(
            r#"{{ "kind": "log_producer", "id": "{id}", "topic": "events", "interval_ms": 2,
      "count": 600, "retries": 1000, "request.timeout.ms": 150, "max.in.flight.requests": 1
      {producer} }}"#
        )
    };
    let (p1, p2) = (producer("p1"), producer("p2"));
    let json = format!(
        r#"{{
  "name": "cluster-cell", "seed": 1, "duration_ms": 1500,
  "broker": {{ "kind": "log", "topics": [ {{ "name": "events", "partitions": 3 }} ],
              "fsync_latency_ms": 4, "cluster": {{ {cluster} }} }},
  "network": {{ "latency_ms_min": 1, "latency_ms_max": 4 }},
  "clients": [ {p1}, {p2},
    {{ "kind": "log_consumer", "id": "c1", "topic": "events", "group.id": "g",
      "processing": {{ "fixed_ms": 1 }} }} ],
  "faults": {faults},
  "fault_options": {{ "broker_crash": true, "broker_isolation": true, "slow_follower": true,
                      "max_faults": 1, "downtime_ms_min": 50, "downtime_ms_max": 400 }},
  "limits": {{ "drain_ms": 1000 }}
}}"#
    );
    Scenario::cluster_from_json(&json).unwrap_or_else(|e| panic!("{e}\n{json}"))
}

/// The verdict of seed `seed`, with the drawn faults when `random`.
fn verdict(s: &Scenario, seed: u64, random: bool) -> ClusterVerdict {
    let s = if random {
        with_random_faults(s, seed)
    } else {
        let mut s = s.clone();
        s.seed = seed;
        s
    };
    let mut run = ClusterRun::new(&s).expect("a valid cluster scenario");
    run.finish().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    run.verdict()
}

const SAFETY: [FindingKind; 4] = [
    FindingKind::Lost,
    FindingKind::Diverged,
    FindingKind::HwMovedBack,
    FindingKind::ReadVanished,
];

/// Sweeps one cell: no finding of `kinds` in any seed.
fn cell(producer: &str, kinds: &[FindingKind]) {
    let s = scenario(CELL, producer, "[]");
    for seed in 1..=seeds() {
        let v = verdict(&s, seed, true);
        if let Some(f) = v.findings.iter().find(|f| kinds.contains(&f.kind)) {
            let faults = with_random_faults(&s, seed).faults;
            panic!("seed {seed} ({faults:?}): {} {}", f.kind.name(), f.story);
        }
    }
}

#[test]
fn at_least_once_holds_with_one_broker_fault_at_a_time() {
    cell(r#", "acks": "all""#, &SAFETY);
}

#[test]
fn exactly_once_idempotent_holds_with_one_broker_fault_at_a_time() {
    let mut kinds = SAFETY.to_vec();
    kinds.push(FindingKind::Duplicated);
    cell(r#", "acks": "all", "enable.idempotence": true"#, &kinds);
}

/// A negative control: some seed of `s` (fixed faults) finds `kind`;
/// returns its story.
fn finds(s: &Scenario, kinds: &[FindingKind]) -> String {
    for seed in 1..=seeds().max(20) {
        let v = verdict(s, seed, false);
        if let Some(f) = v.findings.iter().find(|f| kinds.contains(&f.kind)) {
            let story = format!("seed {seed}: {} {}", f.kind.name(), f.story);
            println!("{story}");
            return story;
        }
    }
    panic!("no seed found {kinds:?}");
}

const LEADER_CRASH: &str = r#"[{"at_ms": 700, "action": "crash", "target": "b1"},
    {"at_ms": 1000, "action": "restart", "target": "b1"}]"#;

#[test]
fn control_acks_1_with_a_leader_crash_loses() {
    let s = scenario(CELL, r#", "acks": "1""#, LEADER_CRASH);
    let story = finds(&s, &[FindingKind::Lost]);
    assert!(story.contains("acks=1"), "{story}");
}

/// The split brain as it happens with an ISR the controller approves: the
/// leader is cut off from its followers (its ISR shrinks to itself, and
/// with `min.insync.replicas=1` it acknowledges alone), then from
/// everyone; the controller fences it, and with no live ISR member an
/// unclean election makes a follower lead without those records.
#[test]
fn control_min_insync_1_with_the_leader_isolated_loses_in_a_split_brain() {
    let unclean = r#", "unclean.leader.election.enable": true"#;
    let cluster = CELL.replace(r#""min.insync.replicas": 2"#, r#""min.insync.replicas": 1"#);
    let faults = r#"[{"at_ms": 500, "action": "isolate_from_brokers", "target": "b1"},
        {"at_ms": 800, "action": "isolate", "target": "b1"},
        {"at_ms": 1100, "action": "heal", "target": "b1"}]"#;
    let s = scenario(&format!("{cluster}{unclean}"), r#", "acks": "all""#, faults);
    let story = finds(&s, &[FindingKind::Lost]);
    assert!(story.contains("cut off from the other brokers"), "{story}");
    assert!(story.contains("unclean"), "{story}");
    // The same faults with min.insync.replicas=2: nothing was acknowledged
    // by the leader alone, so the unclean election loses nothing acked.
    let safe = scenario(&format!("{CELL}{unclean}"), r#", "acks": "all""#, faults);
    for seed in 1..=10 {
        let v = verdict(&safe, seed, false);
        assert_eq!(
            v.count(FindingKind::Lost),
            0,
            "seed {seed}: {:?}",
            v.findings
        );
    }
}

#[test]
fn control_unclean_leader_election_loses() {
    // Both followers stall, the ISR shrinks to the leader, the leader
    // crashes: only an unclean election gives the partition a leader.
    let cluster = format!(
        r#"{}, "flush.messages": 1, "unclean.leader.election.enable": true"#,
        CELL.replace(r#""min.insync.replicas": 2"#, r#""min.insync.replicas": 1"#)
    );
    let faults = r#"[{"at_ms": 400, "action": "slow_follower", "target": "b2", "until_ms": 1300},
        {"at_ms": 400, "action": "slow_follower", "target": "b3", "until_ms": 1300},
        {"at_ms": 800, "action": "crash", "target": "b1"},
        {"at_ms": 1400, "action": "restart", "target": "b1"}]"#;
    let s = scenario(&cluster, r#", "acks": "all""#, faults);
    let story = finds(&s, &[FindingKind::Lost]);
    assert!(story.contains("unclean"), "{story}");
}

#[test]
fn control_high_watermark_truncation_loses_or_diverges() {
    let cluster = format!(r#"{CELL}, "flush.messages": 1, "truncation": "high_watermark""#);
    // b2 (leader of partition 1) crashes; b3 leads it next, and b1, now
    // its follower, cuts its log at its own high watermark, which lags
    // the leader's. b3 crashes before b1 fetched the cut records again:
    // b1, the last in-sync replica alive, leads without them (KIP-101).
    let faults = r#"[{"at_ms": 600, "action": "crash", "target": "b2"},
        {"at_ms": 663, "action": "crash", "target": "b3"},
        {"at_ms": 1100, "action": "restart", "target": "b2"},
        {"at_ms": 1100, "action": "restart", "target": "b3"}]"#;
    let s = scenario(&cluster, r#", "acks": "all""#, faults);
    finds(
        &s,
        &[
            FindingKind::Lost,
            FindingKind::Diverged,
            FindingKind::HwMovedBack,
        ],
    );
    // Leader epochs keep the same faults safe.
    let epochs = scenario(
        &format!(r#"{CELL}, "flush.messages": 1"#),
        r#", "acks": "all""#,
        faults,
    );
    for seed in 1..=10 {
        let v = verdict(&epochs, seed, false);
        let bad = SAFETY.iter().map(|k| v.count(*k)).sum::<u64>();
        assert_eq!(bad, 0, "seed {seed}: {:?}", v.findings);
    }
}

#[test]
fn control_default_flush_with_every_replica_crashed_loses() {
    let crash_all = r#"[{"at_ms": 800, "action": "crash", "target": "b1"},
        {"at_ms": 800, "action": "crash", "target": "b2"},
        {"at_ms": 800, "action": "crash", "target": "b3"},
        {"at_ms": 1000, "action": "restart", "target": "b1"},
        {"at_ms": 1000, "action": "restart", "target": "b2"},
        {"at_ms": 1000, "action": "restart", "target": "b3"}]"#;
    let s = scenario(CELL, r#", "acks": "all""#, crash_all);
    let story = finds(&s, &[FindingKind::Lost]);
    assert!(story.contains("not on its disk yet"), "{story}");
    // flush.messages=1: every acknowledged record was on two disks.
    let synced = scenario(
        &format!(r#"{CELL}, "flush.messages": 1"#),
        r#", "acks": "all""#,
        crash_all,
    );
    for seed in 1..=10 {
        let v = verdict(&synced, seed, false);
        assert_eq!(
            v.count(FindingKind::Lost),
            0,
            "seed {seed}: {:?}",
            v.findings
        );
    }
}
