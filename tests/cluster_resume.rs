//! A cluster resumed from its brokers' disks (issue 13's storage): each
//! broker's durable log goes through a store of its own (the Storage
//! trait, here the memory store the page's IndexedDB store stands in
//! for), comes back through recovery, and a new run starts on it with
//! every record back on every replica. Stored data that does not fit
//! the cluster is refused with the stored item named.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::broker::cluster::RecordKind;
use brokerlab::check::cluster::FindingKind;
use brokerlab::config::{ClientSpec, ProducerTxnSpec, Scenario};
use brokerlab::node::NodeId;
use brokerlab::storage::{FlushState, Limits, MemoryStore, Storage, StreamId};
use brokerlab::world::cluster::stored::{StoredCluster, StoredReplica};
use brokerlab::world::cluster::ClusterRun;

/// 3 brokers (or `brokers`), `replication.factor` `rf`, `acks=all`,
/// `flush.messages=1` (so what is acknowledged is on disk), 3
/// partitions, an idempotent producer.
fn scenario(brokers: u8, rf: u8, seed: u64) -> Scenario {
    let json = format!(
        r#"{{ "name": "resume", "seed": {seed}, "duration_ms": 1500,
  "broker": {{ "kind": "log", "topics": [ {{ "name": "events", "partitions": 3 }} ],
    "fsync_latency_ms": 4,
    "cluster": {{ "brokers": {brokers}, "replication.factor": {rf}, "min.insync.replicas": 1,
      "flush.messages": 1, "replica.lag.time.max.ms": 100, "replica.fetch.wait.max.ms": 20,
      "broker.session.timeout.ms": 150 }} }},
  "network": {{ "latency_ms_min": 1, "latency_ms_max": 4 }},
  "clients": [
    {{ "kind": "log_producer", "id": "p1", "topic": "events",
      "interval_ms": 10, "count": 100, "retries": 1000, "request.timeout.ms": 150,
      "acks": "all", "enable.idempotence": true, "max.in.flight.requests": 1 }},
    {{ "kind": "log_consumer", "id": "c1", "topic": "events", "group.id": "g",
      "processing": {{ "fixed_ms": 1 }} }} ],
  "limits": {{ "drain_ms": 1500 }} }}"#
    );
    Scenario::cluster_from_json(&json).unwrap_or_else(|e| panic!("{e}\n{json}"))
}

fn finished(s: &Scenario) -> ClusterRun {
    let mut run = ClusterRun::new(s).expect("valid");
    run.finish().expect("within bounds");
    run
}

/// Every broker's part through a store of its own and back, as a
/// reload reads it.
fn through_stores(s: &Scenario, stored: &StoredCluster, brokers: u8) -> StoredCluster {
    let mut back = StoredCluster::default();
    for b in 1..=brokers {
        let node = NodeId(b);
        let mut store = MemoryStore::new(Limits::default(), 4);
        let ticket = stored.write_node(s, node, &mut store, 0).expect("written");
        let state = store.flush_state(ticket.id, ticket.completes_at_ms);
        assert_eq!(state, FlushState::Durable);
        let recovery = store.recover();
        let read = StoredCluster::read_node(s, node, &recovery).expect("readable");
        back.replicas.extend(read);
    }
    back
}

#[test]
fn a_resumed_cluster_has_every_record_back_on_every_replica() {
    let s = scenario(3, 3, 1);
    let first = finished(&s);
    assert_eq!(first.verdict().counts.len(), 0, "{:?}", first.verdict());
    let stored = StoredCluster::of_run(&first);
    assert_eq!(stored.replicas.len(), 9, "3 partitions x 3 replicas");
    assert!(
        first.acks().len() >= 90,
        "{} acknowledged",
        first.acks().len()
    );
    for a in first.acks() {
        let on = stored
            .replicas
            .iter()
            .filter(|r| r.partition == a.partition);
        let holding = on
            .filter(|r| r.records.iter().any(|x| x.msg == a.msg))
            .count();
        assert_eq!(holding, 3, "m{} is on the disks of its 3 replicas", a.msg);
    }

    let back = through_stores(&s, &stored, 3);
    assert_eq!(back, stored, "the stores give back what they were given");

    let mut resumed = ClusterRun::resume(&s, &back).expect("the same layout resumes");
    for view in resumed.views() {
        for r in &view.replicas {
            let mine = stored
                .replicas
                .iter()
                .find(|x| x.node == view.node && x.partition == r.partition);
            assert_eq!(
                r.leo,
                mine.expect("stored").records.len() as u64,
                "{view:?}"
            );
            assert_eq!(r.durable_end, r.leo, "all on disk at once");
        }
    }
    resumed.finish().expect("within bounds");
    let verdict = resumed.verdict();
    assert_eq!(verdict.counts.len(), 0, "{verdict:?}");
    let again = StoredCluster::of_run(&resumed);
    for old in &stored.replicas {
        let new = again
            .replicas
            .iter()
            .find(|x| (x.node, x.partition) == (old.node, old.partition));
        let new = new.expect("still stored");
        assert_eq!(
            new.records[..old.records.len()],
            old.records[..],
            "{:?} kept its log",
            old.node
        );
        assert!(
            new.records.len() > old.records.len(),
            "and took new records"
        );
    }
    let msgs = |c: &StoredCluster| {
        c.replicas
            .iter()
            .flat_map(|r| r.records.iter().map(|x| x.msg))
            .collect::<Vec<_>>()
    };
    let old_max = msgs(&stored).into_iter().max().expect("records");
    let new_msgs: Vec<u64> = resumed.acks().iter().map(|a| a.msg).collect();
    assert!(
        new_msgs.iter().all(|m| *m > old_max),
        "new messages are numbered past the stored ones"
    );
}

#[test]
fn an_uneven_stored_cluster_resumes_under_its_newest_log() {
    let s = scenario(3, 3, 2);
    let first = finished(&s);
    let mut stored = StoredCluster::of_run(&first);
    // b2's copy of partition 0 lost its last 5 records (its disk was behind).
    let short = stored
        .replicas
        .iter_mut()
        .find(|r| r.node == NodeId(2) && r.partition == 0);
    let short = short.expect("b2 hosts partition 0");
    let full = short.records.len();
    short.records.truncate(full - 5);
    let mut resumed = ClusterRun::resume(&s, &stored).expect("resumes");
    let leader = resumed.controller().leader_of(0).expect("a leader");
    assert_ne!(leader, NodeId(2), "the shorter log does not lead");
    resumed.finish().expect("within bounds");
    assert_eq!(resumed.verdict().count(FindingKind::Diverged), 0);
    let again = StoredCluster::of_run(&resumed);
    let b2 = again
        .replicas
        .iter()
        .find(|r| r.node == NodeId(2) && r.partition == 0);
    assert!(
        b2.expect("stored").records.len() > full,
        "b2 caught up with the leader"
    );
}

#[test]
fn a_stored_cluster_that_does_not_fit_is_refused_by_name() {
    let s3 = scenario(3, 3, 1);
    let stored = StoredCluster::of_run(&finished(&s3));
    let err = |s: &Scenario, stored: &StoredCluster| match ClusterRun::resume(s, stored) {
        Ok(_) => panic!("resumed a cluster that does not fit"),
        Err(e) => e.to_string(),
    };
    let two_brokers = scenario(2, 2, 1);
    let e = err(&two_brokers, &stored);
    assert!(
        e.starts_with("stored.b3: a log of broker b3 is stored, but this cluster has b1..b2"),
        "{e}"
    );

    let rf2 = scenario(3, 2, 1);
    let e = err(&rf2, &stored);
    assert!(e.contains("keeps a replica of events-"), "{e}");
    assert!(e.starts_with("stored.b"), "{e}");

    let mut holed = stored.clone();
    holed.replicas[0].records.remove(1);
    let e = err(&s3, &holed);
    assert!(e.contains("has offset 2: the log has a hole"), "{e}");

    let mut twice = stored.clone();
    let copy: StoredReplica = twice.replicas[0].clone();
    twice.replicas.push(copy);
    assert!(err(&s3, &twice).contains("it is stored twice"));

    // A stream that is not a cluster record, and one of a partition the
    // cluster lacks, read back from b1's store.
    let e = read_foreign(&s3, 1, 5).expect_err("refused");
    assert_eq!(e.path, "stored.b1.events-1");
    assert!(e.reason.contains("not a cluster record"), "{e}");
    let e = read_foreign(&s3, 7, 17).expect_err("refused");
    assert_eq!(
        e.to_string(),
        "stored.b1.topic 0 partition 7: this cluster has no such partition"
    );
}

/// b1's store holding two sample records (values of `value_len` bytes)
/// in topic 0's partition `partition`, read back as a cluster broker's.
fn read_foreign(
    s: &Scenario,
    partition: u16,
    value_len: usize,
) -> Result<Vec<StoredReplica>, brokerlab::config::ScenarioError> {
    let mut store = MemoryStore::new(Limits::default(), 4);
    let stream = StreamId::Partition {
        topic: 0,
        partition,
    };
    let batch = brokerlab::storage::batch::sample_batch(0, 2, value_len);
    store.append(stream, &batch).expect("appended");
    let t = store.begin_flush(0).expect("flush");
    store.flush_state(t.id, t.completes_at_ms);
    StoredCluster::read_node(s, NodeId(1), &store.recover())
}

/// A transactional producer stopped mid-transaction: the stored logs
/// hold transactional records with no marker. Through the stores and
/// back, the resumed cluster's coordinator writes an abort marker for
/// each such transaction (a commit where a stored marker of it says
/// so), so no transaction stays open and the LSO reaches the HW.
#[test]
fn a_resumed_cluster_closes_the_transactions_its_logs_left_open() {
    let mut s = scenario(3, 3, 1);
    let ClientSpec::LogProducer(p) = &mut s.clients[0] else {
        panic!("the first client produces");
    };
    p.transactional = Some(ProducerTxnSpec {
        transactional_id: "t1".into(),
        records_per_transaction: 3,
        abort_every: 0,
    });
    s.validate_cluster()
        .expect("a valid transactional producer");
    let mut first = ClusterRun::new(&s).expect("valid");
    // Mid-run: some transaction is open in some partition.
    let open_at = (300..1000).step_by(7).find(|&t| {
        first.run_until(t).expect("within bounds");
        let stored = StoredCluster::of_run(&first);
        open_keys(&stored) > 0
    });
    assert!(
        open_at.is_some(),
        "no moment with an open transaction on disk"
    );
    let stored = through_stores(&s, &StoredCluster::of_run(&first), 3);
    assert!(open_keys(&stored) > 0);
    let mut resumed = ClusterRun::resume(&s, &stored).expect("resumes");
    resumed.finish().expect("within bounds");
    let facts = resumed.facts();
    for (p, fp) in facts.partitions.iter().enumerate() {
        let markers: Vec<_> = fp.log.iter().filter(|r| r.kind.is_marker()).collect();
        for r in fp.log.iter().filter(|r| r.kind == RecordKind::Txn) {
            let key = r.idem.map(|i| (i.producer_id, i.producer_epoch));
            let closed = markers.iter().any(|m| {
                m.offset > r.offset && m.idem.map(|i| (i.producer_id, i.producer_epoch)) == key
            });
            assert!(closed, "partition {p}: {r:?} has no marker after it");
        }
    }
    let verdict = resumed.verdict();
    assert_eq!(verdict.count(FindingKind::NotAtomic), 0, "{verdict:?}");
    assert_eq!(verdict.count(FindingKind::Lost), 0, "{verdict:?}");
}

/// How many (replica, transaction) pairs a stored cluster holds
/// transactional records of with no marker.
fn open_keys(stored: &StoredCluster) -> usize {
    let key =
        |r: &brokerlab::broker::cluster::Record| r.idem.map(|i| (i.producer_id, i.producer_epoch));
    let mut open = std::collections::BTreeSet::new();
    for s in &stored.replicas {
        for r in s.records.iter().filter(|r| r.kind == RecordKind::Txn) {
            let closed = s
                .records
                .iter()
                .any(|m| m.kind.is_marker() && key(m) == key(r));
            if !closed {
                open.insert((s.node, s.partition, key(r)));
            }
        }
    }
    open.len()
}
