#![cfg(not(target_arch = "wasm32"))]
//! The memory store as a disk: pending vs durable, group commit, crashes with
//! and without a torn batch, recovery truncation, limits and quota.

use brokerlab::storage::batch::{sample_batch, DecodeError};
use brokerlab::storage::recovery::TruncationReason;
use brokerlab::storage::{
    FlushId, FlushState, Limits, MemoryStore, Storage, StorageError, StreamId, Tear,
};
use proptest::prelude::*;

const P0: StreamId = StreamId::Partition {
    topic: 0,
    partition: 0,
};
const P1: StreamId = StreamId::Partition {
    topic: 0,
    partition: 1,
};
const FSYNC_MS: u64 = 5;

fn store() -> MemoryStore {
    MemoryStore::new(Limits::default(), FSYNC_MS)
}

/// Appends `count` one-record-per-offset batches of 10 records to `stream`,
/// starting at `from_offset`; returns the offset after the last.
fn append_batches(store: &mut MemoryStore, stream: StreamId, from_offset: u64, count: u64) -> u64 {
    for i in 0..count {
        store
            .append(stream, &sample_batch(from_offset + i * 10, 10, 8))
            .unwrap();
    }
    from_offset + count * 10
}

#[test]
fn flush_becomes_durable_at_its_virtual_completion_time() {
    let mut store = store();
    append_batches(&mut store, P0, 0, 2);
    let ticket = store.begin_flush(100).unwrap();
    assert_eq!(ticket.completes_at_ms, 105);
    assert_eq!(ticket.batch_count, 2);
    assert_eq!(store.flush_state(ticket.id, 104), FlushState::InProgress);
    assert!(
        store.durable().is_empty(),
        "nothing durable before the fsync completes"
    );
    assert_eq!(store.flush_state(ticket.id, 105), FlushState::Durable);
    assert_eq!(store.durable().len(), 2);
}

#[test]
fn group_commit_seals_every_pending_batch_of_every_stream() {
    let mut store = store();
    append_batches(&mut store, P0, 0, 3);
    append_batches(&mut store, P1, 0, 2);
    store
        .append(StreamId::Offsets, &sample_batch(0, 1, 8))
        .unwrap();
    let first = store.begin_flush(0).unwrap();
    let second = store.begin_flush(1).unwrap();
    assert_eq!((first.batch_count, second.batch_count), (6, 0));
    assert_eq!(store.flush_state(second.id, 6), FlushState::Durable);
    assert_eq!(store.flush_state(first.id, 6), FlushState::Durable);
    assert_eq!(store.durable().len(), 6);
}

#[test]
fn crash_before_the_flush_completes_loses_exactly_the_undurable_writes() {
    let mut store = store();
    append_batches(&mut store, P0, 0, 2); // offsets 0..20
    let durable = store.begin_flush(0).unwrap();
    assert_eq!(store.flush_state(durable.id, FSYNC_MS), FlushState::Durable);
    append_batches(&mut store, P0, 20, 1); // 20..30, in flight at the crash
    let in_flight = store.begin_flush(10).unwrap();
    append_batches(&mut store, P0, 30, 2); // 30..50, pending at the crash
    let report = store.crash(12, Tear::None);
    assert_eq!(report.lost_pending_batches, 2);
    assert_eq!(report.lost_flushes, vec![in_flight.id]);
    assert_eq!(report.torn, None);
    assert_eq!(
        store.flush_state(in_flight.id, 100),
        FlushState::Failed(StorageError::LostInCrash)
    );
    let recovery = store.recover();
    assert_eq!(recovery.offsets(P0), (0..20).collect::<Vec<_>>());
    assert_eq!(recovery.report.dropped_batches(), 0);
    assert_eq!(recovery.log_ends().get(&P0), Some(&20));
}

#[test]
fn crash_after_durable_loses_nothing() {
    let mut store = store();
    append_batches(&mut store, P0, 0, 3);
    store
        .append(StreamId::Producers, &sample_batch(0, 2, 4))
        .unwrap();
    let ticket = store.begin_flush(0).unwrap();
    // The crash comes at the completion time: the flush made it.
    let report = store.crash(ticket.completes_at_ms, Tear::LastBatch { keep_bytes: 10 });
    assert_eq!(
        (report.lost_pending_batches, report.lost_flushes.len()),
        (0, 0)
    );
    assert_eq!(report.torn, None, "nothing in flight, nothing to tear");
    let recovery = store.recover();
    assert_eq!(recovery.offsets(P0), (0..30).collect::<Vec<_>>());
    assert_eq!(recovery.offsets(StreamId::Producers), vec![0, 1]);
    assert_eq!(recovery.record_count(), 32);
}

#[test]
fn torn_last_batch_is_truncated_and_earlier_batches_survive() {
    let mut store = store();
    append_batches(&mut store, P0, 0, 2);
    let durable = store.begin_flush(0).unwrap();
    assert_eq!(store.flush_state(durable.id, FSYNC_MS), FlushState::Durable);
    append_batches(&mut store, P0, 20, 1);
    append_batches(&mut store, P1, 0, 1);
    append_batches(&mut store, P0, 30, 1); // last batch of the in-flight flush
    store.begin_flush(10).unwrap();
    let report = store.crash(11, Tear::LastBatch { keep_bytes: 30 });
    let torn = report.torn.expect("a torn batch");
    assert_eq!((torn.stream, torn.kept_bytes), (P0, 30));
    let recovery = store.recover();
    // Batches before the torn one in the same flush reached the disk whole.
    assert_eq!(recovery.offsets(P0), (0..30).collect::<Vec<_>>());
    assert_eq!(recovery.offsets(P1), (0..10).collect::<Vec<_>>());
    let cut = recovery.report.streams[&P0]
        .truncated
        .clone()
        .expect("P0 truncated");
    assert_eq!(cut.batch_index, 3);
    assert_eq!(cut.dropped_batches, 1);
    assert_eq!(cut.dropped_bytes, 30);
    let expected = DecodeError::LengthPastEnd {
        at: 0,
        batch_len: torn.batch_len,
        available: 30,
    };
    assert_eq!(cut.reason, TruncationReason::Corrupt(expected));
    assert!(recovery
        .report
        .to_string()
        .contains("truncated at batch 3: torn batch"));
    // The torn bytes are gone from the disk: appends continue at offset 30,
    // and the next recovery is clean.
    append_batches(&mut store, P0, 30, 1);
    let ticket = store.begin_flush(20).unwrap();
    store.crash(ticket.completes_at_ms, Tear::None);
    let again = store.recover();
    assert_eq!(again.offsets(P0), (0..40).collect::<Vec<_>>());
    assert_eq!(again.report.dropped_batches(), 0);
}

#[test]
fn tear_keep_bytes_is_clamped_below_the_batch_length() {
    let mut store = store();
    append_batches(&mut store, P0, 0, 1);
    store.begin_flush(0).unwrap();
    let report = store.crash(
        1,
        Tear::LastBatch {
            keep_bytes: u32::MAX,
        },
    );
    let torn = report.torn.unwrap();
    assert_eq!(torn.kept_bytes, torn.batch_len - 1);
    let recovery = store.recover();
    assert_eq!(recovery.offsets(P0), Vec::<u64>::new());
    assert_eq!(
        recovery.report.streams[&P0]
            .truncated
            .as_ref()
            .unwrap()
            .batch_index,
        0
    );
}

#[test]
fn corrupt_middle_batch_truncates_the_rest_of_that_stream_only() {
    let mut store = store();
    append_batches(&mut store, P0, 0, 4);
    append_batches(&mut store, P1, 0, 2);
    let ticket = store.begin_flush(0).unwrap();
    store.crash(ticket.completes_at_ms, Tear::None);
    store.durable_mut()[1].bytes[40] ^= 0xff; // P0's second batch rots
    let recovery = store.recover();
    assert_eq!(recovery.offsets(P0), (0..10).collect::<Vec<_>>());
    assert_eq!(recovery.offsets(P1), (0..20).collect::<Vec<_>>());
    let cut = recovery.report.streams[&P0].truncated.clone().unwrap();
    assert_eq!((cut.batch_index, cut.dropped_batches), (1, 3));
    assert!(matches!(
        cut.reason,
        TruncationReason::Corrupt(DecodeError::CrcMismatch { .. })
    ));
    assert_eq!(
        store.durable().len(),
        3,
        "truncated batches are deleted from the disk"
    );
}

#[test]
fn garbage_on_disk_never_panics() {
    let mut store = store();
    append_batches(&mut store, P0, 0, 2);
    let ticket = store.begin_flush(0).unwrap();
    store.crash(ticket.completes_at_ms, Tear::None);
    store.durable_mut()[0].bytes = b"not a record batch at all, just junk".to_vec();
    let recovery = store.recover();
    assert_eq!(recovery.record_count(), 0);
    let cut = recovery.report.streams[&P0].truncated.clone().unwrap();
    assert_eq!(cut.dropped_batches, 2);
    assert!(matches!(
        cut.reason,
        TruncationReason::Corrupt(DecodeError::BadLength { .. })
    ));
}

#[test]
fn appends_that_would_leave_a_hole_are_refused() {
    let mut store = store();
    append_batches(&mut store, P0, 0, 1);
    let error = store.append(P0, &sample_batch(11, 1, 1)).unwrap_err();
    assert_eq!(
        error,
        StorageError::OffsetGap {
            stream: P0,
            expected: 10,
            found: 11
        }
    );
}

#[test]
fn writing_after_a_crash_needs_recovery_first() {
    let mut store = store();
    store.crash(0, Tear::None);
    assert_eq!(
        store.append(P0, &sample_batch(0, 1, 1)),
        Err(StorageError::NotRecovered)
    );
    assert_eq!(store.begin_flush(0), Err(StorageError::NotRecovered));
    store.recover();
    assert!(store.append(P0, &sample_batch(0, 1, 1)).is_ok());
}

#[test]
fn pending_limits_are_errors_not_panics() {
    let limits = Limits {
        pending_batches_max: 2,
        pending_bytes_max: 1 << 20,
        in_flight_flushes_max: 2,
    };
    let mut store = MemoryStore::new(limits, FSYNC_MS);
    append_batches(&mut store, P0, 0, 2);
    let full = store.append(P0, &sample_batch(20, 10, 8)).unwrap_err();
    assert!(matches!(
        full,
        StorageError::PendingFull {
            pending_batches: 2,
            ..
        }
    ));
    store.begin_flush(0).unwrap();
    store.begin_flush(0).unwrap();
    assert_eq!(
        store.begin_flush(0),
        Err(StorageError::TooManyFlushes { in_flight: 2 })
    );
    let bytes_limits = Limits {
        pending_bytes_max: 100,
        ..limits
    };
    let mut small = MemoryStore::new(bytes_limits, FSYNC_MS);
    let too_big = small.append(P0, &sample_batch(0, 10, 8)).unwrap_err();
    assert_eq!(
        too_big,
        StorageError::PendingFull {
            pending_batches: 0,
            pending_bytes: 0
        }
    );
}

#[test]
fn quota_exceeded_stops_durable_writes_and_keeps_what_was_durable() {
    let mut store = store().with_capacity_bytes(1_000);
    append_batches(&mut store, P0, 0, 1);
    let ok = store.begin_flush(0).unwrap();
    assert_eq!(store.flush_state(ok.id, FSYNC_MS), FlushState::Durable);
    append_batches(&mut store, P0, 10, 5);
    let full = store.begin_flush(10).unwrap();
    let FlushState::Failed(StorageError::QuotaExceeded { detail }) = store.flush_state(full.id, 15)
    else {
        panic!("expected quota failure");
    };
    assert!(detail.contains("1000 bytes"), "{detail}");
    let stopped = store.append(P0, &sample_batch(10, 1, 1)).unwrap_err();
    assert!(
        matches!(stopped, StorageError::WritesStopped { .. }),
        "{stopped}"
    );
    assert!(stopped.to_string().contains("quota exceeded"));
    store.crash(20, Tear::None);
    let recovery = store.recover();
    assert_eq!(recovery.offsets(P0), (0..10).collect::<Vec<_>>());
}

#[test]
fn start_fresh_clears_everything() {
    let mut store = store();
    append_batches(&mut store, P0, 0, 2);
    let ticket = store.begin_flush(0).unwrap();
    store.flush_state(ticket.id, FSYNC_MS);
    store.start_fresh();
    assert!(store.durable().is_empty());
    assert_eq!(store.recover().record_count(), 0);
    // Offsets may start anywhere again.
    assert!(store.append(P0, &sample_batch(0, 1, 1)).is_ok());
}

#[test]
fn stream_ids_round_trip_through_their_code() {
    let ids = [
        P0,
        StreamId::Partition {
            topic: u16::MAX,
            partition: u16::MAX,
        },
        StreamId::Offsets,
        StreamId::Producers,
        StreamId::Txn,
    ];
    for id in ids {
        assert_eq!(StreamId::from_code(id.code()), Some(id));
    }
    assert_eq!(StreamId::from_code(0), None);
    assert_eq!(StreamId::from_code((2 << 32) | 5), None);
    assert_eq!(P1.to_string(), "topic 0 partition 1");
}

#[test]
fn dom_errors_map_to_specific_storage_errors() {
    let wrapped = StorageError::from_dom("AbortError", "aborted", Some("QuotaExceededError"));
    assert!(matches!(wrapped, StorageError::QuotaExceeded { .. }));
    let direct = StorageError::from_dom("QuotaExceededError", "full", None);
    assert_eq!(
        direct,
        StorageError::QuotaExceeded {
            detail: "full".into()
        }
    );
    let plain_abort = StorageError::from_dom("AbortError", "aborted", None);
    assert_eq!(
        plain_abort,
        StorageError::Io {
            name: "AbortError".into(),
            message: "aborted".into()
        }
    );
    assert!(matches!(
        StorageError::from_dom("SecurityError", "no", None),
        StorageError::Unavailable { .. }
    ));
}

#[test]
fn flush_state_of_an_old_durable_flush_stays_durable() {
    let mut store = store();
    let ids: Vec<FlushId> = (0..3)
        .map(|i| {
            append_batches(&mut store, P0, i * 10, 1);
            store.begin_flush(i).unwrap().id
        })
        .collect();
    assert_eq!(store.flush_state(ids[2], 100), FlushState::Durable);
    assert_eq!(store.flush_state(ids[0], 100), FlushState::Durable);
}

/// One step of a random workload.
#[derive(Clone, Debug)]
enum Op {
    Append { partition: bool, records: usize },
    Flush,
    Advance { ms: u64 },
    Crash { tear: Option<u32> },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), 1usize..5).prop_map(|(partition, records)| Op::Append { partition, records }),
        2 => Just(Op::Flush),
        2 => (0u64..8).prop_map(|ms| Op::Advance { ms }),
        1 => proptest::option::of(0u32..200).prop_map(|tear| Op::Crash { tear }),
    ]
}

proptest! {
    /// Whatever the crash schedule: every batch whose flush was reported
    /// durable is recovered, and each stream recovers a gap-free prefix of
    /// what was appended to it (no invented or reordered records).
    #[test]
    fn durable_flushes_always_survive(ops in proptest::collection::vec(op(), 1..60)) {
        let mut store = store();
        let streams = [P0, P1];
        let mut next = [0u64; 2];
        let mut acked = [0u64; 2]; // log end covered by a Durable flush
        let mut flushes = Vec::new(); // (ticket, log ends at seal)
        let mut now = 0;
        for op in ops {
            match op {
                Op::Append { partition, records } => {
                    let i = usize::from(partition);
                    store.append(streams[i], &sample_batch(next[i], records, 4)).unwrap();
                    next[i] += records as u64;
                }
                Op::Flush => flushes.push((store.begin_flush(now).unwrap(), next)),
                Op::Advance { ms } => now += ms,
                Op::Crash { tear } => {
                    let tear = tear.map_or(Tear::None, |keep_bytes| Tear::LastBatch { keep_bytes });
                    store.crash(now, tear);
                    let recovery = store.recover();
                    for (i, stream) in streams.iter().enumerate() {
                        let got = recovery.offsets(*stream);
                        prop_assert_eq!(&got, &(0..got.len() as u64).collect::<Vec<_>>());
                        prop_assert!(got.len() as u64 >= acked[i]);
                        next[i] = got.len() as u64;
                        acked[i] = next[i];
                    }
                    flushes.clear();
                }
            }
            for (ticket, ends) in &flushes {
                if store.flush_state(ticket.id, now) == FlushState::Durable {
                    acked = [acked[0].max(ends[0]), acked[1].max(ends[1])];
                }
            }
        }
    }
}

#[test]
fn crash_repair_deletes_every_lost_batch_unless_torn() {
    use brokerlab::storage::Journal;
    // What the IndexedDB writer is told to do: the browser may already have
    // committed an in-flight flush, so every lost batch must be deleted.
    let mut journal = Journal::new(Limits::default(), FSYNC_MS);
    journal.append(P0, &sample_batch(0, 1, 1)).unwrap();
    journal.append(P1, &sample_batch(0, 1, 1)).unwrap();
    journal.begin_flush(0).unwrap();
    journal.append(P0, &sample_batch(1, 1, 1)).unwrap();
    journal.begin_flush(1).unwrap();
    let (_, repair) = journal.crash(2, Tear::None);
    assert_eq!(repair.delete, vec![0, 1, 2]);
    assert!(repair.put.is_empty());
    journal.recover();
    journal.append(P0, &sample_batch(0, 1, 1)).unwrap();
    journal.append(P1, &sample_batch(0, 1, 1)).unwrap();
    journal.begin_flush(10).unwrap();
    journal.append(P0, &sample_batch(1, 1, 1)).unwrap();
    journal.begin_flush(11).unwrap();
    let (report, repair) = journal.crash(12, Tear::LastBatch { keep_bytes: 5 });
    assert_eq!(report.torn.unwrap().stream, P1);
    let put: Vec<(u64, usize)> = repair.put.iter().map(|e| (e.seq, e.bytes.len())).collect();
    assert_eq!(put, vec![(3, sample_batch(0, 1, 1).encoded_len()), (4, 5)]);
    assert_eq!(repair.delete, vec![5]);
}

#[test]
fn truncate_cuts_mid_batch_keeps_the_records_before_and_the_next_append_follows() {
    let mut store = store();
    append_batches(&mut store, P0, 0, 3);
    append_batches(&mut store, P1, 0, 1);
    let ticket = store.begin_flush(0).unwrap();
    assert_eq!(store.flush_state(ticket.id, FSYNC_MS), FlushState::Durable);
    store.crash(10, Tear::None);
    store.recover();
    let cut = store.truncate(P0, 15).unwrap();
    assert_eq!(
        cut.reason,
        TruncationReason::UnreadableRecord { offset: 15 }
    );
    assert_eq!(
        (cut.batch_index, cut.dropped_batches),
        (1, 2),
        "batch 1 cut short, batch 2 deleted"
    );
    assert!(cut.dropped_bytes > 0);
    assert_eq!(
        store.append(P0, &sample_batch(20, 1, 8)).unwrap_err(),
        StorageError::OffsetGap {
            stream: P0,
            expected: 15,
            found: 20
        }
    );
    store.append(P0, &sample_batch(15, 2, 8)).unwrap();
    let ticket = store.begin_flush(20).unwrap();
    assert_eq!(
        store.flush_state(ticket.id, 20 + FSYNC_MS),
        FlushState::Durable
    );
    store.crash(30, Tear::None);
    let recovery = store.recover();
    assert_eq!(recovery.offsets(P0), (0..17).collect::<Vec<u64>>());
    assert_eq!(recovery.offsets(P1).len(), 10, "other streams untouched");
    assert_eq!(recovery.report.dropped_batches(), 0, "the cut was durable");
}

#[test]
fn truncate_needs_recovery_first() {
    let mut store = store();
    append_batches(&mut store, P0, 0, 1);
    store.crash(0, Tear::None);
    assert_eq!(
        store.truncate(P0, 0).unwrap_err(),
        StorageError::NotRecovered
    );
}
