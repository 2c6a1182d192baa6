//! Each broker's store following its replicas while a cluster runs
//! (issue 13's storage: the page keeps each broker's log in IndexedDB;
//! here the memory store stands in for it, and a store that is late
//! stands in for a slow IndexedDB transaction).
//!
//! - A run with stores is the same run as one without: same answers,
//!   same notes, same verdict.
//! - At every moment a store holds a prefix of its replica's log (a
//!   truncation or a crash is cut from it at once, so a reload never
//!   brings back a removed record) and at least what the replica counts
//!   as on disk (a replica's `fsync` is its store's flush).
//! - A late store stops the run at the flush's completion time; the run
//!   goes on, unchanged, once the store says it is durable.
//! - After the run, each store holds its replica's whole log, and a
//!   cluster resumed from the stores has it back.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::broker::cluster::ClusterNote;
use brokerlab::config::Scenario;
use brokerlab::node::NodeId;
use brokerlab::storage::{
    recovery, CrashReport, EncodedBatch, FlushId, FlushState, FlushTicket, Limits, MemoryStore,
    Recovery, Storage, StorageError, StreamId, Tear, Truncation,
};
use brokerlab::world::cluster::stored::StoredCluster;
use brokerlab::world::cluster::ClusterRun;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// 3 brokers, RF 3, 3 partitions, two producers, with `cluster` added to
/// `broker.cluster`, `producer` to each producer and `faults` as given.
fn scenario(cluster: &str, producer: &str, faults: &str, seed: u64) -> Scenario {
    let producer = |id: &str| {
        format!(
            r#"{{ "kind": "log_producer", "id": "{id}", "topic": "events", "interval_ms": 2,
      "count": 400, "retries": 1000, "request.timeout.ms": 150, "max.in.flight.requests": 1
      {producer} }}"#
        )
    };
    let (p1, p2) = (producer("p1"), producer("p2"));
    let json = format!(
        r#"{{ "name": "disks", "seed": {seed}, "duration_ms": 1500,
  "broker": {{ "kind": "log", "topics": [ {{ "name": "events", "partitions": 3 }} ],
    "fsync_latency_ms": 4,
    "cluster": {{ "brokers": 3, "replication.factor": 3, "min.insync.replicas": 2,
      "replica.lag.time.max.ms": 100, "replica.fetch.wait.max.ms": 20,
      "broker.session.timeout.ms": 60 {cluster} }} }},
  "network": {{ "latency_ms_min": 1, "latency_ms_max": 4 }},
  "clients": [ {p1}, {p2},
    {{ "kind": "log_consumer", "id": "c1", "topic": "events", "group.id": "g",
      "processing": {{ "fixed_ms": 1 }} }} ],
  "faults": {faults},
  "limits": {{ "drain_ms": 1000 }} }}"#
    );
    Scenario::cluster_from_json(&json).unwrap_or_else(|e| panic!("{e}\n{json}"))
}

/// A memory store that can be late: while `late` is set, a flush whose
/// time has come still answers `InProgress`, as an IndexedDB transaction
/// that has not completed.
#[derive(Clone)]
struct Store {
    disk: Rc<RefCell<MemoryStore>>,
    late: Rc<Cell<bool>>,
}

impl Store {
    fn new() -> Store {
        Store {
            disk: Rc::new(RefCell::new(MemoryStore::new(Limits::default(), 4))),
            late: Rc::new(Cell::new(false)),
        }
    }

    /// What the store holds on disk, read back as a reload reads it.
    fn durable(&self) -> Recovery {
        recovery::recover(self.disk.borrow().durable()).0
    }
}

impl Storage for Store {
    fn append_encoded(
        &mut self,
        stream: StreamId,
        batch: EncodedBatch,
    ) -> Result<(), StorageError> {
        self.disk.append_encoded(stream, batch)
    }
    fn begin_flush(&mut self, now_ms: u64) -> Result<FlushTicket, StorageError> {
        self.disk.begin_flush(now_ms)
    }
    fn flush_state(&mut self, id: FlushId, now_ms: u64) -> FlushState {
        if self.late.get() {
            return FlushState::InProgress;
        }
        self.disk.flush_state(id, now_ms)
    }
    fn crash(&mut self, now_ms: u64, tear: Tear) -> CrashReport {
        self.disk.crash(now_ms, tear)
    }
    fn recover(&mut self) -> Recovery {
        self.disk.recover()
    }
    fn start_fresh(&mut self) {
        self.disk.start_fresh()
    }
    fn truncate(&mut self, stream: StreamId, offset: u64) -> Result<Truncation, StorageError> {
        self.disk.truncate(stream, offset)
    }
}

fn with_stores(s: &Scenario) -> (ClusterRun, Vec<Store>) {
    let mut run = ClusterRun::new(s).expect("valid");
    let stores: Vec<Store> = (0..3).map(|_| Store::new()).collect();
    let boxed = stores
        .iter()
        .map(|st| Box::new(st.clone()) as Box<dyn Storage>);
    run.attach_disks(boxed.collect());
    (run, stores)
}

/// Every store holds a prefix of its replicas' logs, and at least what
/// each replica counts as on disk.
fn check_stores(s: &Scenario, run: &ClusterRun, stores: &[Store], at: &str) {
    for (i, store) in stores.iter().enumerate() {
        let node = NodeId(i as u8 + 1);
        let stored = StoredCluster::read_node(s, node, &store.durable()).expect("readable");
        let view = &run.views()[i];
        for r in &view.replicas {
            let records = run.replica_records(node, r.partition).expect("hosted");
            let on_disk = stored.iter().find(|x| x.partition == r.partition);
            let on_disk = on_disk.map_or(&[][..], |x| &x.records[..]);
            assert!(
                on_disk.len() <= records.len() && on_disk == &records[..on_disk.len()],
                "{at}: {node} partition {}: the store holds {} records that are not a prefix of the replica's {}",
                r.partition,
                on_disk.len(),
                records.len()
            );
            assert!(
                on_disk.len() as u64 >= r.durable_end,
                "{at}: {node} partition {}: the replica counts {} on disk, its store holds {}",
                r.partition,
                r.durable_end,
                on_disk.len()
            );
        }
    }
}

/// Runs `s` with stores in 10 ms slices, checking the stores after each,
/// and compares the outcome with the same run without stores. Returns
/// how many records replicas removed (truncations and crashes).
fn same_run_and_faithful_stores(s: &Scenario) -> usize {
    let mut plain = ClusterRun::new(s).expect("valid");
    plain.finish().expect("within bounds");

    let (mut run, stores) = with_stores(s);
    let mut t = 0;
    while t < s.duration_ms {
        t += 10;
        run.run_until(t).expect("within bounds");
        assert_eq!(run.disk_wait(), None, "the memory store is never late");
        check_stores(s, &run, &stores, &format!("seed {} t={t}", s.seed));
    }
    run.finish().expect("within bounds");
    assert!(run.is_drained());
    assert_eq!(
        run.acks(),
        plain.acks(),
        "seed {}: the same answers",
        s.seed
    );
    assert_eq!(
        format!("{:?}", run.facts().notes),
        format!("{:?}", plain.facts().notes),
        "seed {}: the same notes",
        s.seed
    );
    assert_eq!(run.verdict().counts, plain.verdict().counts);
    assert_eq!(run.disk_failures().count(), 0);
    let facts = run.facts();
    let removed = facts.notes.iter().map(|(_, note)| match note {
        ClusterNote::Truncated { removed, .. } | ClusterNote::LostInCrash { removed, .. } => {
            removed.len()
        }
        _ => 0,
    });
    removed.sum()
}

const LEADER_CRASH: &str = r#"[{"at_ms": 700, "action": "crash", "target": "b1"},
    {"at_ms": 1000, "action": "restart", "target": "b1"}]"#;
const ALL_CRASH: &str = r#"[{"at_ms": 700, "action": "crash", "target": "b1"},
    {"at_ms": 700, "action": "crash", "target": "b2"}, {"at_ms": 700, "action": "crash", "target": "b3"},
    {"at_ms": 900, "action": "restart", "target": "b1"}, {"at_ms": 900, "action": "restart", "target": "b2"},
    {"at_ms": 900, "action": "restart", "target": "b3"}]"#;

#[test]
fn stores_follow_truncations_and_crashes_and_change_nothing() {
    let (mut truncated, mut crashed) = (0, 0);
    for seed in 1..=6 {
        // acks=1 with a leader crash: the old leader truncates when it rejoins.
        let one = r#", "acks": "1""#;
        truncated += same_run_and_faithful_stores(&scenario("", one, LEADER_CRASH, seed));
        // The old high-watermark truncation cuts more, more often.
        let hw = r#", "truncation": "high_watermark""#;
        truncated += same_run_and_faithful_stores(&scenario(hw, one, LEADER_CRASH, seed));
        // Every broker crashes: only what each had fsynced is left.
        let all = r#", "acks": "all""#;
        let flush = r#", "flush.ms": 50"#;
        crashed += same_run_and_faithful_stores(&scenario(flush, all, ALL_CRASH, seed));
        let sync = r#", "flush.messages": 1"#;
        crashed += same_run_and_faithful_stores(&scenario(sync, all, ALL_CRASH, seed));
    }
    assert!(
        truncated > 0 && crashed > 0,
        "{truncated} cut, {crashed} lost in crashes"
    );
}

#[test]
fn a_late_store_holds_the_run_at_the_flush_until_it_is_durable() {
    let s = scenario(
        r#", "flush.messages": 1"#,
        r#", "acks": "all""#,
        LEADER_CRASH,
        3,
    );
    let mut plain = ClusterRun::new(&s).expect("valid");
    plain.finish().expect("within bounds");

    let (mut run, stores) = with_stores(&s);
    let mut waits = 0;
    let mut t = 0;
    while !run.is_drained() {
        t += 25;
        // b2's disk is late on every other slice.
        stores[1].late.set(t % 50 == 0);
        let before = run.now_ms();
        if t < s.duration_ms {
            run.run_until(t).expect("within bounds");
        } else {
            run.finish().expect("within bounds");
        }
        if let Some((node, flush)) = run.disk_wait() {
            waits += 1;
            assert_eq!(node, NodeId(2), "only b2 is late");
            assert!(run.now_ms() >= before, "the clock never goes back");
            assert!(
                stores[1]
                    .disk
                    .borrow()
                    .journal()
                    .flush_entries(flush)
                    .is_some(),
                "it waits for a flush in flight"
            );
            // Nothing ran past the flush's completion time.
            assert!(run.now_ms() < t, "stopped short of {t}: {}", run.now_ms());
        }
        assert!(t < 100_000, "the run ends");
    }
    assert!(waits > 10, "b2 was waited for {waits} times");
    assert_eq!(
        run.acks(),
        plain.acks(),
        "the same answers, late disk or not"
    );
    assert_eq!(run.verdict().counts, plain.verdict().counts);
}

#[test]
fn after_the_run_each_store_holds_its_replicas_and_a_cluster_resumes_from_them() {
    // No flush settings: the writeback alone would leave the last records
    // in the page cache; the clean shutdown writes them.
    let s = scenario("", r#", "acks": "all""#, LEADER_CRASH, 2);
    let (mut run, stores) = with_stores(&s);
    run.finish().expect("within bounds");
    assert!(run.verdict().counts.is_empty(), "{:?}", run.verdict());
    let mut stored = StoredCluster::default();
    for (i, store) in stores.iter().enumerate() {
        let node = NodeId(i as u8 + 1);
        let mine = StoredCluster::read_node(&s, node, &store.durable()).expect("readable");
        for r in &mine {
            let records = run.replica_records(node, r.partition).expect("hosted");
            assert_eq!(&r.records[..], records, "{node}: the whole log is stored");
        }
        assert_eq!(mine.len(), 3, "{node} stores its 3 replicas");
        stored.replicas.extend(mine);
    }
    let mut resumed = ClusterRun::resume(&s, &stored).expect("the same layout");
    // The stores go on under the resumed run, as the page's do.
    let boxed = stores.iter().map(|st| {
        st.disk.borrow_mut().recover();
        Box::new(st.clone()) as Box<dyn Storage>
    });
    resumed.attach_disks(boxed.collect());
    resumed.finish().expect("within bounds");
    assert!(
        resumed.verdict().counts.is_empty(),
        "{:?}",
        resumed.verdict()
    );
    for a in run.acks() {
        let leader = resumed.controller().leader_of(a.partition).expect("led");
        let log = resumed
            .replica_records(leader, a.partition)
            .expect("hosted");
        assert!(log.iter().any(|r| r.msg == a.msg), "m{} came back", a.msg);
    }
    check_stores(&s, &resumed, &stores, "after the resumed run");
}

/// The journal's cut reaches a flush still in flight: its batches from
/// the offset on are not written, and what it wrote before is kept.
#[test]
fn a_cut_reaches_a_flush_in_flight() {
    use brokerlab::storage::{Record, RecordBatch};
    let stream = StreamId::Partition {
        topic: 0,
        partition: 0,
    };
    let batch = |base: u64, n: u64| RecordBatch {
        base_offset: base,
        records: (base..base + n)
            .map(|offset| Record {
                offset,
                timestamp_ms: 0,
                producer_id: 0,
                key: None,
                value: vec![offset as u8],
            })
            .collect(),
    };
    let mut store = MemoryStore::new(Limits::default(), 4);
    store.append(stream, &batch(0, 5)).unwrap();
    let first = store.begin_flush(0).unwrap();
    assert_eq!(store.flush_state(first.id, 4), FlushState::Durable);
    store.append(stream, &batch(5, 5)).unwrap();
    let second = store.begin_flush(10).unwrap();
    store.truncate(stream, 7).expect("cut while in flight");
    store.truncate(stream, 3).expect("and into what is durable");
    assert_eq!(store.flush_state(second.id, 14), FlushState::Durable);
    let back = recovery::recover(store.durable()).0;
    let offsets: Vec<u64> = back.streams[&stream]
        .iter()
        .flat_map(|b| b.records.iter().map(|r| r.offset))
        .collect();
    assert_eq!(offsets, vec![0, 1, 2]);
    store
        .append(stream, &batch(3, 2))
        .expect("the next append starts at the cut");
}
