//! The replication matrix (issue 13): a 3-broker cluster,
//! `replication.factor=3`, `min.insync.replicas=2`, `acks=all`, one
//! broker fault at a time (crash and restart, isolation and heal, a slow
//! follower), swept over seeds: at least once, exactly once
//! (idempotent) and exactly once (transactional) must hold in every
//! seed. And the negative controls: the five of issue 13, each of which
//! must find a loss or a divergence in some seed, and a
//! `read_uncommitted` reader that reads aborted records.
//! `GUARANTEE_SEEDS` sets the seeds per cell (default 20; CI runs 2,000
//! in the `sweep` profile), as for `guarantees_sweep.rs`; `CLUSTER_SEED`
//! runs one seed of a cell, as a failing cell's message says.
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
    scenario_with(cluster, producer, "", faults)
}

/// [`scenario`] with `consumer` appended to the reader, and `{id}` in
/// `producer` replaced by each producer's id.
fn scenario_with(cluster: &str, producer: &str, consumer: &str, faults: &str) -> Scenario {
    // Keyless: each producer's records go round-robin over the partitions.
    let producer = |id: &str| {
        let producer = producer.replace("{id}", id);
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
      "processing": {{ "fixed_ms": 1 }} {consumer} }} ],
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
    verdict_of(s, seed, random, false)
}

/// [`verdict`], with the leaders answering markers at their append
/// (`markers_at_append`, a negative control's switch).
fn verdict_of(s: &Scenario, seed: u64, random: bool, markers_at_append: bool) -> ClusterVerdict {
    let s = if random {
        with_random_faults(s, seed)
    } else {
        let mut s = s.clone();
        s.seed = seed;
        s
    };
    let mut run = ClusterRun::new(&s).expect("a valid cluster scenario");
    if markers_at_append {
        run.answer_markers_at_append();
    }
    run.finish().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    run.verdict()
}

const SAFETY: [FindingKind; 4] = [
    FindingKind::Lost,
    FindingKind::Diverged,
    FindingKind::HwMovedBack,
    FindingKind::ReadVanished,
];

/// The seeds of a cell: 1..=`GUARANTEE_SEEDS`, or only `CLUSTER_SEED`.
fn cell_seeds() -> std::ops::RangeInclusive<u64> {
    match std::env::var("CLUSTER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => seed..=seed,
        None => 1..=seeds(),
    }
}

/// Sweeps cell `name` of scenario `s`: no finding of `kinds` in any
/// seed. A failure names the seed, its faults, the finding and the
/// command that runs that seed alone.
fn sweep(name: &str, s: &Scenario, kinds: &[FindingKind]) {
    let started = std::time::Instant::now();
    let seeds = cell_seeds();
    let count = seeds.clone().count();
    for seed in seeds {
        let v = verdict(s, seed, true);
        if let Some(f) = v.findings.iter().find(|f| kinds.contains(&f.kind)) {
            let faults = with_random_faults(s, seed).faults;
            panic!(
                "seed {seed} ({faults:?}): {} {}\nreproduce: CLUSTER_SEED={seed} cargo test --profile sweep --test cluster_sweep -- --exact {name}",
                f.kind.name(),
                f.story
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{name}: {count} seeds in {secs:.1} s");
}

/// Sweeps one cell of the common scenario with `producer`.
fn cell(name: &str, producer: &str, kinds: &[FindingKind]) {
    sweep(name, &scenario(CELL, producer, "[]"), kinds);
}

#[test]
fn at_least_once_holds_with_one_broker_fault_at_a_time() {
    cell(
        "at_least_once_holds_with_one_broker_fault_at_a_time",
        r#", "acks": "all""#,
        &SAFETY,
    );
}

#[test]
fn exactly_once_idempotent_holds_with_one_broker_fault_at_a_time() {
    let mut kinds = SAFETY.to_vec();
    kinds.push(FindingKind::Duplicated);
    cell(
        "exactly_once_idempotent_holds_with_one_broker_fault_at_a_time",
        r#", "acks": "all", "enable.idempotence": true"#,
        &kinds,
    );
}

/// The transactional cell's producers: idempotent, each with its own
/// `transactional.id`, three records a transaction (so most span all
/// three partitions), and every fourth transaction aborted by the
/// application so that there are aborted records to skip.
const TXN_PRODUCER: &str = r#", "acks": "all", "enable.idempotence": true,
    "transactional": { "transactional.id": "tx-{id}", "records_per_transaction": 3,
                       "abort_every": 4 }"#;

/// Every finding the transactional guarantee rules out.
const TXN_KINDS: [FindingKind; 7] = [
    FindingKind::Lost,
    FindingKind::Diverged,
    FindingKind::HwMovedBack,
    FindingKind::ReadVanished,
    FindingKind::Duplicated,
    FindingKind::NotAtomic,
    FindingKind::AbortedRead,
];

#[test]
fn exactly_once_transactional_holds_with_one_broker_fault_at_a_time() {
    let read_committed = r#", "isolation.level": "read_committed""#;
    let s = scenario_with(CELL, TXN_PRODUCER, read_committed, "[]");
    sweep(
        "exactly_once_transactional_holds_with_one_broker_fault_at_a_time",
        &s,
        &TXN_KINDS,
    );
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

/// The control of the transactional cell: the same transactions read
/// `read_uncommitted` get aborted records (and the cell's reader, at
/// `read_committed`, does not in the same seeds).
#[test]
fn control_read_uncommitted_reads_aborted_records() {
    let s = scenario_with(CELL, TXN_PRODUCER, "", "[]");
    let story = finds(&s, &[FindingKind::AbortedRead]);
    assert!(story.contains("its transaction aborted"), "{story}");
}

/// The other control of the transactional cell: leaders that answer the
/// coordinator's marker at their append, before replicating it. b1,
/// cut off from its followers, takes markers its followers never fetch;
/// it crashes before they do, and the new leaders lack them: committed
/// transactions stay open in b1's partition, their records there never
/// visible. With markers answered once committed, the same faults are
/// safe.
#[test]
fn control_markers_answered_before_replication_break_atomicity() {
    let faults = r#"[{"at_ms": 600, "action": "isolate_from_brokers", "target": "b1"},
        {"at_ms": 660, "action": "crash", "target": "b1"},
        {"at_ms": 900, "action": "heal", "target": "b1"},
        {"at_ms": 1000, "action": "restart", "target": "b1"}]"#;
    let read_committed = r#", "isolation.level": "read_committed""#;
    let s = scenario_with(CELL, TXN_PRODUCER, read_committed, faults);
    let found = (1..=seeds().max(20)).find_map(|seed| {
        let v = verdict_of(&s, seed, false, true);
        let f = v
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::NotAtomic)?;
        Some(format!("seed {seed}: {}", f.story))
    });
    let story = found.expect("some seed finds a transaction not atomic");
    println!("{story}");
    assert!(story.contains("committed; visible"), "{story}");
    for seed in 1..=10 {
        let v = verdict(&s, seed, false);
        let bad = TXN_KINDS.iter().map(|k| v.count(*k)).sum::<u64>();
        assert_eq!(bad, 0, "seed {seed}: {:?}", v.findings);
    }
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
