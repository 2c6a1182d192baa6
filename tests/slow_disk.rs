//! A disk slower than the model (the page's IndexedDB at high speed): with
//! a run-ahead the world runs on past a late group commit instead of
//! stopping, the next commit takes everything that arrived meanwhile, and
//! nothing is acknowledged before it is on disk. Without one it waits.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::app::playground::{BrokerKind, Setup};
use brokerlab::storage::journal::Limits;
use brokerlab::storage::memory::MemoryStore;
use brokerlab::storage::{
    CrashReport, EncodedBatch, FlushId, FlushState, FlushTicket, Recovery, Storage, StorageError,
    StreamId, Tear,
};
use brokerlab::world::{RunError, World};

/// A memory store whose flushes finish `late_ms` after their completion
/// time, as a real disk that is slower than the model.
struct LateDisk {
    inner: MemoryStore,
    late_ms: u64,
}

impl Storage for LateDisk {
    fn append_encoded(
        &mut self,
        stream: StreamId,
        batch: EncodedBatch,
    ) -> Result<(), StorageError> {
        self.inner.append_encoded(stream, batch)
    }
    fn begin_flush(&mut self, now_ms: u64) -> Result<FlushTicket, StorageError> {
        self.inner.begin_flush(now_ms)
    }
    fn flush_state(&mut self, id: FlushId, now_ms: u64) -> FlushState {
        match self
            .inner
            .flush_state(id, now_ms.saturating_sub(self.late_ms))
        {
            FlushState::Durable => self.inner.flush_state(id, now_ms),
            other => other,
        }
    }
    fn crash(&mut self, now_ms: u64, tear: Tear) -> CrashReport {
        self.inner.crash(now_ms, tear)
    }
    fn recover(&mut self) -> Recovery {
        self.inner.recover()
    }
    fn start_fresh(&mut self) {
        self.inner.start_fresh()
    }
}

fn world(late_ms: u64, run_ahead_ms: u64) -> World {
    let setup = Setup {
        broker: BrokerKind::Log,
        ..Setup::default()
    };
    let disk = LateDisk {
        inner: MemoryStore::new(Limits::default(), 5),
        late_ms,
    };
    let mut world = World::with_storage(&setup.to_scenario().unwrap(), Box::new(disk));
    world.set_disk_run_ahead_ms(run_ahead_ms);
    world
}

#[test]
fn without_a_run_ahead_the_world_waits_at_the_late_commit() {
    let mut w = world(20, 0);
    let err = w.run_until(2_000).unwrap_err();
    assert!(matches!(err, RunError::WaitingForStorage { .. }), "{err}");
}

#[test]
fn with_a_run_ahead_the_world_runs_on_and_acks_only_what_is_on_disk() {
    let mut w = world(20, 50);
    w.run_until(5_000)
        .expect("a commit 20 ms late is within 50 ms");
    let log = w.broker().as_log().unwrap();
    let views = log.partition_views(0);
    let durable: u64 = views.iter().map(|p| p.durable_end).sum();
    assert!(durable > 150, "records reach the disk: {durable}");
    let stats = log.stats();
    // 5 s of one producer at 50/s: each commit took 25 ms instead of 5, so
    // commits carry more records each (group commit), not fewer records.
    assert!(stats.flushes < stats.appended, "{stats:?}");
    let summary = w.summary();
    assert_eq!(summary.counts.lost, 0);
    // A disk 200 ms late is past the run-ahead: the world waits.
    let mut w = world(200, 50);
    assert!(matches!(
        w.run_until(2_000),
        Err(RunError::WaitingForStorage { .. })
    ));
}
