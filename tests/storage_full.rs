//! A full disk in the middle of a run (IndexedDB's `QuotaExceededError`,
//! modelled by the memory store's capacity): durable writes stop, nothing
//! more is acknowledged, nothing acknowledged before is lost, and nothing
//! panics. A restart recovers what was durable and tries again.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::config::{FaultAction, FaultSpec, Scenario};
use brokerlab::storage::{MemoryStore, Storage};
use brokerlab::world::World;

fn scenario(seed: u64) -> Scenario {
    let mut s = Scenario::from_json(include_str!("../scenarios/log_at_least_once.json")).unwrap();
    s.faults.clear();
    s.seed = seed;
    s
}

fn lines_with(world: &World, f: &str) -> usize {
    let needle = format!("\"f\":\"{f}\"");
    let jsonl = world.history().to_jsonl(world.names());
    jsonl.lines().filter(|l| l.contains(&needle)).count()
}

fn broker(world: &mut World, at_ms: u64, action: FaultAction) {
    let fault = FaultSpec {
        at_ms,
        action,
        target: "broker".into(),
        until_ms: None,
    };
    world.inject(fault).expect("a valid fault");
}

#[test]
fn a_full_disk_stops_durable_writes_without_losing_acknowledged_records() {
    for seed in 1..=8 {
        let repro = format!("seed {seed}");
        let mut store = MemoryStore::new(Default::default(), 5).with_capacity_bytes(6_000);
        store.recover();
        let mut world = World::with_storage(&scenario(seed), Box::new(store));
        world.run_until(1_500).unwrap();
        assert_eq!(lines_with(&world, "writes_stopped"), 1, "{repro}");
        let acked_before = world.summary().counts.confirmed;
        assert!(acked_before > 0, "{repro}: some records were durable first");
        world.run_until(2_500).unwrap();
        assert_eq!(
            world.summary().counts.confirmed,
            acked_before,
            "{repro}: nothing is acknowledged once writes stopped"
        );
        // A restart recovers what was durable; the disk is still full, so
        // writes stop again, and still nothing acknowledged is lost.
        broker(&mut world, 0, FaultAction::Crash);
        broker(&mut world, 0, FaultAction::Restart);
        world.finish().unwrap();
        let summary = world.summary();
        assert_eq!(summary.counts.lost, 0, "{repro}: {}", summary.identity);
        assert!(lines_with(&world, "writes_stopped") >= 1, "{repro}");
    }
}

/// A store that cannot truncate (the trait's default refusal), as the page's
/// IndexedDB store is once another tab has taken the log over.
struct NoTruncate(std::rc::Rc<std::cell::RefCell<MemoryStore>>);

impl Storage for NoTruncate {
    fn append_encoded(
        &mut self,
        stream: brokerlab::storage::StreamId,
        batch: brokerlab::storage::EncodedBatch,
    ) -> Result<(), brokerlab::storage::StorageError> {
        self.0.append_encoded(stream, batch)
    }
    fn begin_flush(
        &mut self,
        now_ms: u64,
    ) -> Result<brokerlab::storage::FlushTicket, brokerlab::storage::StorageError> {
        self.0.begin_flush(now_ms)
    }
    fn flush_state(
        &mut self,
        id: brokerlab::storage::FlushId,
        now_ms: u64,
    ) -> brokerlab::storage::FlushState {
        self.0.flush_state(id, now_ms)
    }
    fn crash(
        &mut self,
        now_ms: u64,
        tear: brokerlab::storage::Tear,
    ) -> brokerlab::storage::CrashReport {
        self.0.crash(now_ms, tear)
    }
    fn recover(&mut self) -> brokerlab::storage::Recovery {
        self.0.recover()
    }
    fn start_fresh(&mut self) {
        self.0.start_fresh()
    }
}

/// An unreadable record the store refuses to cut: the broker keeps the log
/// up to it, stops durable writes (the next append would land on an offset
/// the disk still holds) and says so; it used to panic.
#[test]
fn an_unreadable_record_the_store_cannot_cut_stops_writes_instead_of_panicking() {
    let mut memory = MemoryStore::new(Default::default(), 5);
    memory.recover();
    let disk = std::rc::Rc::new(std::cell::RefCell::new(memory));
    let mut world = World::with_storage(&scenario(3), Box::new(NoTruncate(disk.clone())));
    world.run_until(1_000).unwrap();
    broker(&mut world, 0, FaultAction::Crash);
    {
        let mut disk = disk.borrow_mut();
        let p0 = brokerlab::storage::StreamId::Partition {
            topic: 0,
            partition: 0,
        };
        let entry = disk
            .durable_mut()
            .iter_mut()
            .rev()
            .find(|e| e.stream == p0)
            .expect("partition 0 has durable batches");
        let mut batch = brokerlab::storage::batch::decode_exact(&entry.bytes).unwrap();
        // 21 bytes: no layout this broker writes (20, 31 or 35).
        batch.records[0].value.push(0);
        entry.bytes = batch.encode().unwrap();
    }
    broker(&mut world, 0, FaultAction::Restart);
    world.run_until(2_000).unwrap();
    assert_eq!(lines_with(&world, "writes_stopped"), 1);
    assert_eq!(lines_with(&world, "truncated"), 0, "the store made no cut");
}
