//! Transactions in the replicated cluster (issue 13): transactional
//! producers, the coordinator on the controller, markers replicated as
//! records, the LSO and `read_committed`, fencing by producer epoch, and
//! the scenario rules. The 2,000-seed cell is `cluster_sweep.rs`.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::broker::cluster::RecordKind;
use brokerlab::check::cluster::FindingKind;
use brokerlab::config::Scenario;
use brokerlab::world::cluster::ClusterRun;
use std::collections::BTreeSet;

/// 3 brokers, RF 3, `min.insync.replicas` 2, 3 partitions; producers
/// `p1`, `p2` with `producer` appended (`{id}` is each one's id), a
/// `read_committed` reader, `faults`.
fn scenario(producer: &str, faults: &str) -> Scenario {
    let producer = |id: &str| {
        let producer = producer.replace("{id}", id);
        format!(
            r#"{{ "kind": "log_producer", "id": "{id}", "topic": "events", "interval_ms": 5,
      "count": 120, "retries": 1000, "request.timeout.ms": 150, "max.in.flight.requests": 1,
      "acks": "all", "enable.idempotence": true {producer} }}"#
        )
    };
    let (p1, p2) = (producer("p1"), producer("p2"));
    let json = format!(
        r#"{{ "name": "txn", "seed": 1, "duration_ms": 1500,
  "broker": {{ "kind": "log", "topics": [ {{ "name": "events", "partitions": 3 }} ],
    "fsync_latency_ms": 4, "cluster": {{ "brokers": 3, "replication.factor": 3,
      "min.insync.replicas": 2, "replica.lag.time.max.ms": 100,
      "replica.fetch.wait.max.ms": 20, "broker.session.timeout.ms": 60 }} }},
  "network": {{ "latency_ms_min": 1, "latency_ms_max": 4 }},
  "clients": [ {p1}, {p2},
    {{ "kind": "log_consumer", "id": "c1", "topic": "events", "group.id": "g",
      "processing": {{ "fixed_ms": 1 }}, "isolation.level": "read_committed" }} ],
  "faults": {faults},
  "limits": {{ "drain_ms": 1000 }} }}"#
    );
    Scenario::cluster_from_json(&json).unwrap_or_else(|e| panic!("{e}\n{json}"))
}

const TXN: &str = r#", "transactional": { "transactional.id": "tx-{id}",
    "records_per_transaction": 3, "abort_every": 3 }"#;

fn finished(s: &Scenario) -> ClusterRun {
    let mut run = ClusterRun::new(s).expect("valid");
    run.finish().expect("within bounds");
    run
}

#[test]
fn read_committed_reads_exactly_the_committed_transactions() {
    let run = finished(&scenario(TXN, "[]"));
    let v = run.verdict();
    assert!(v.findings.is_empty(), "{v:#?}");
    let facts = run.facts();
    assert!(facts.txns.len() >= 40, "{} transactions", facts.txns.len());
    let outcome = |commit| {
        facts
            .txns
            .iter()
            .filter(move |t| t.committed == Some(commit))
    };
    for id in ["tx-p1", "tx-p2"] {
        let mine: Vec<_> = facts
            .txns
            .iter()
            .filter(|t| t.transactional_id == id)
            .collect();
        // Three records each (the last may hold fewer: the run ended);
        // every third transaction aborts.
        let (last, full) = mine.split_last().expect("some transactions");
        assert!(full.iter().all(|t| t.records.len() == 3), "{full:?}");
        assert!((1..=3).contains(&last.records.len()), "{last:?}");
        let aborted = mine.iter().filter(|t| t.committed == Some(false)).count();
        assert_eq!(aborted, mine.len() / 3, "{id}: {mine:?}");
    }
    let committed: BTreeSet<u64> = outcome(true)
        .flat_map(|t| t.records.iter().map(|r| r.1))
        .collect();
    let read: BTreeSet<u64> = facts.reads.iter().map(|r| r.2).collect();
    assert_eq!(
        read, committed,
        "the reader got every committed record and nothing else"
    );
    assert_eq!(facts.reads.len(), read.len(), "each once");
    // Each aborted transaction left an abort marker in each of its
    // partitions, replicated to every in-sync replica like any record.
    let aborts: usize = (facts.partitions.iter())
        .map(|p| p.log.iter().filter(|r| r.kind == RecordKind::Abort).count())
        .sum();
    let aborted: usize = outcome(false).map(|t| t.records.len()).sum();
    assert_eq!(
        aborts, aborted,
        "one record per partition each, round-robin"
    );
    for p in &facts.partitions {
        for (node, log) in &p.isr_logs {
            assert_eq!(
                log, &p.log,
                "{node} holds the leader's log, markers included"
            );
        }
    }
}

/// Two producers with one `transactional.id`: each `InitProducerId`
/// fences the other's epoch, which aborts its open transaction; its
/// records are refused (`INVALID_PRODUCER_EPOCH`) and it starts over.
/// Through a leader crash, no transaction is seen half, and no reader
/// gets a record of one that did not commit.
#[test]
fn a_shared_transactional_id_fences_and_nothing_is_seen_half() {
    let shared = TXN.replace("tx-{id}", "shared");
    let faults = r#"[{"at_ms": 600, "action": "crash", "target": "b1"},
        {"at_ms": 900, "action": "restart", "target": "b1"}]"#;
    let mut s = scenario(&shared, faults);
    let mut fenced = 0;
    for seed in 1..=10 {
        s.seed = seed;
        let run = finished(&s);
        let v = run.verdict();
        let kinds = [
            FindingKind::Lost,
            FindingKind::Duplicated,
            FindingKind::NotAtomic,
            FindingKind::AbortedRead,
            FindingKind::ReadVanished,
        ];
        let bad: u64 = kinds.iter().map(|k| v.count(*k)).sum();
        assert_eq!(bad, 0, "seed {seed}: {:#?}", v.findings);
        let facts = run.facts();
        fenced += facts.txns.iter().filter(|t| t.committed.is_none()).count();
        assert!(
            facts.txns.iter().any(|t| t.committed == Some(true)),
            "seed {seed}: something commits"
        );
    }
    assert!(fenced > 0, "the two instances fenced each other");
}

#[test]
fn a_transactional_producer_needs_idempotence_and_a_cluster() {
    let json = serde_json::to_string(&scenario(TXN, "[]")).expect("serializable");
    let without = json.replace(r#""enable.idempotence":true,"#, "");
    let e = Scenario::cluster_from_json(&without).expect_err("refused");
    assert_eq!(e.path, "clients[0].transactional", "{e}");
    assert!(e.reason.contains("enable.idempotence"), "{e}");
    let e = Scenario::from_json(&json).expect_err("the world refuses it");
    assert_eq!(e.path, "clients[0].transactional", "{e}");
    let empty = json.replace(r#""transactional.id":"tx-p1""#, r#""transactional.id":"""#);
    let e = Scenario::cluster_from_json(&empty).expect_err("refused");
    assert_eq!(e.path, "clients[0].transactional.transactional.id", "{e}");
}
