//! Recovery in the history, and resuming a stored log in a new world (what a
//! page reload does): native tests on the memory store.
//!
//! A "reload" here is: the tab dies (the store crashes, so what was not yet
//! durable is gone), the world is dropped, and a new world is built on the
//! same store with [`World::resume`].
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::app::playground::{self, BrokerKind, Setup};
use brokerlab::broker::log::{Carried, LogNote};
use brokerlab::broker::Note;
use brokerlab::config::Guarantee;
use brokerlab::config::{FaultAction, FaultSpec, Scenario};
use brokerlab::history::{Entry, LogEntry, Proc};
use brokerlab::storage::{MemoryStore, Storage, StreamId, Tear};
use brokerlab::world::World;
use std::cell::RefCell;
use std::rc::Rc;

type Disk = Rc<RefCell<MemoryStore>>;

fn disk(fsync_latency_ms: u64) -> Disk {
    let mut store = MemoryStore::new(Default::default(), fsync_latency_ms);
    store.recover();
    Rc::new(RefCell::new(store))
}

fn broker_fault(world: &mut World, action: FaultAction) {
    let fault = FaultSpec {
        at_ms: 0,
        action,
        target: "broker".into(),
        until_ms: None,
    };
    world.inject(fault).expect("a valid fault");
}

/// The JSON lines of the history that have `"f":"<f>"`.
fn lines_with(world: &World, f: &str) -> Vec<String> {
    let needle = format!("\"f\":\"{f}\"");
    let jsonl = world.history().to_jsonl(world.names());
    jsonl
        .lines()
        .filter(|l| l.contains(&needle))
        .map(str::to_string)
        .collect()
}

/// The log scenario with its scheduled faults removed (the tests inject
/// their own) and a seed.
fn log_scenario(seed: u64) -> Scenario {
    let mut s = Scenario::from_json(include_str!("../scenarios/log_at_least_once.json")).unwrap();
    s.faults.clear();
    s.seed = seed;
    s
}

/// Damages the last durable batch of partition 0 with `damage`, between a
/// crash and a restart, and returns the base offset of that batch.
fn damage_last_batch_of_partition_0(store: &Disk, damage: impl Fn(&mut Vec<u8>)) -> u64 {
    let mut store = store.borrow_mut();
    let stream = StreamId::Partition {
        topic: 0,
        partition: 0,
    };
    let entry = store
        .durable_mut()
        .iter_mut()
        .rev()
        .find(|e| e.stream == stream)
        .expect("partition 0 has durable batches");
    let base = u64::from_le_bytes(entry.bytes[16..24].try_into().unwrap());
    damage(&mut entry.bytes);
    base
}

fn crash_damage_restart(seed: u64, damage: impl Fn(&mut Vec<u8>)) -> (World, u64) {
    let scenario = log_scenario(seed);
    let store = disk(5);
    let mut world = World::with_storage(&scenario, Box::new(store.clone()));
    world.run_until(1_000).unwrap();
    broker_fault(&mut world, FaultAction::Crash);
    let base = damage_last_batch_of_partition_0(&store, damage);
    broker_fault(&mut world, FaultAction::Restart);
    (world, base)
}

#[test]
fn a_torn_last_batch_is_truncated_and_the_history_names_the_stream_and_offset() {
    let seed = 11;
    let (world, base) = crash_damage_restart(seed, |bytes| {
        let keep = bytes.len() / 2;
        bytes.truncate(keep);
    });
    let cut = lines_with(&world, "truncated");
    assert_eq!(
        cut.len(),
        1,
        "seed {seed}: one stream cut, got {cut:?} (cargo test --test resume torn)"
    );
    let line = &cut[0];
    for want in [
        "\"stream\":\"orders-0\"".to_string(),
        format!("\"offset\":{base}"),
        "\"reason\":\"torn\"".to_string(),
        "\"dropped_batches\":1".to_string(),
    ] {
        assert!(
            line.contains(&want),
            "seed {seed}: {want} missing in {line}"
        );
    }
    // The partition's recovered end is where the cut begins.
    let recovered = lines_with(&world, "recovered");
    let p0 = recovered
        .iter()
        .find(|l| l.contains("\"partition\":0,"))
        .expect("a recovered line for partition 0");
    assert!(p0.contains(&format!("\"to_offset\":{base}")), "{p0}");
    // Committed offsets come back as events too.
    assert!(
        !lines_with(&world, "recovered_offset").is_empty(),
        "seed {seed}: the group's committed offsets are reported"
    );
}

#[test]
fn a_crc_mismatch_is_reported_as_such_and_acknowledged_records_it_cut_are_lost() {
    let seed = 12;
    let (mut world, base) = crash_damage_restart(seed, |bytes| {
        let last = bytes.len() - 1;
        bytes[last] ^= 0x5a; // bit rot in the last record's payload
    });
    let cut = lines_with(&world, "truncated");
    assert_eq!(cut.len(), 1, "seed {seed}: {cut:?}");
    assert!(cut[0].contains("\"reason\":\"crc_mismatch\""), "{}", cut[0]);
    assert!(cut[0].contains(&format!("\"offset\":{base}")), "{}", cut[0]);
    // The disk lost records that were durable, so acknowledged: the checker
    // must see it (this is the negative control for durability).
    world.finish().unwrap();
    let summary = world.summary();
    assert!(
        summary.counts.lost > 0 || summary.log.unwrap().inconsistent_offsets > 0,
        "seed {seed}: damage to acknowledged data goes unnoticed: {}",
        summary.identity
    );
}

#[test]
fn a_restart_reports_recovered_producers_for_idempotent_runs() {
    let mut setup = log_setup(Guarantee::ExactlyOnceIdempotent);
    setup.seed = 3;
    let scenario = short(&setup);
    let mut world = World::with_storage(&scenario, Box::new(disk(5)));
    world.run_until(1_000).unwrap();
    broker_fault(&mut world, FaultAction::Crash);
    broker_fault(&mut world, FaultAction::Restart);
    let producers = lines_with(&world, "recovered_producer");
    assert!(
        producers
            .iter()
            .any(|l| l.contains("pid 0 epoch 0") && l.contains("\"count\":")),
        "seed {}: {producers:?}",
        setup.seed
    );
}

fn log_setup(delivery: Guarantee) -> Setup {
    Setup {
        broker: BrokerKind::Log,
        delivery,
        partitions: 3,
        ..Setup::default()
    }
}

/// The page's scenario for `setup`, cut to 3 s of publishing.
fn short(setup: &Setup) -> Scenario {
    let mut scenario = setup.to_scenario().expect("a valid setup");
    scenario.duration_ms = 3_000;
    scenario
}

/// What the stored log held at the "reload", read from the first world.
struct Before {
    durable_end: Vec<u64>,
    max_msg: u64,
}

/// Runs `setup` for `run_ms` on `store`, then kills the tab: the store
/// crashes (pending and in-flight writes are gone) and the world is dropped.
fn first_visit(setup: &Setup, store: &Disk, run_ms: u64) -> Before {
    let mut world = World::with_storage(&short(setup), Box::new(store.clone()));
    world.run_until(run_ms).unwrap();
    let log = world.broker().as_log().unwrap();
    let views = log.partition_views(usize::MAX);
    let durable_end = views.iter().map(|p| p.durable_end).collect();
    let max_msg = log.max_msg_id().unwrap_or(0);
    let now = world.now_ms();
    drop(world);
    store.borrow_mut().crash(now, Tear::None);
    Before {
        durable_end,
        max_msg,
    }
}

/// (msg, topic, partition, offset, what) of every `carried` event.
fn carried(world: &World) -> Vec<(u64, u16, u16, u64, Carried)> {
    let notes = world
        .history()
        .events()
        .iter()
        .filter_map(|e| match e.entry {
            Entry::Broker(Note::Log(LogNote::Carried {
                msg,
                topic,
                partition,
                offset,
                carried,
                ..
            })) => Some((msg, topic, partition, offset, carried)),
            _ => None,
        });
    notes.collect()
}

/// Per (consumer, partition), the offset of its first read in this run.
fn first_reads(world: &World) -> Vec<(u32, u16, u64)> {
    let mut seen = Vec::new();
    for e in world.history().events() {
        if let (
            Proc::Client(c),
            Entry::Log(LogEntry::Read {
                partition, offset, ..
            }),
        ) = (e.process, e.entry)
        {
            if !seen.iter().any(|(sc, sp, _)| *sc == c && *sp == partition) {
                seen.push((c, partition, offset));
            }
        }
    }
    seen
}

#[test]
fn resume_recovers_the_stored_log_and_consumers_continue_from_their_committed_offsets() {
    for delivery in [
        Guarantee::AtLeastOnce,
        Guarantee::ExactlyOnceIdempotent,
        Guarantee::ExactlyOnceTransactional,
    ] {
        for seed in 1..=3 {
            let mut setup = log_setup(delivery);
            setup.seed = seed;
            let repro = format!(
                "seed {seed}, {} (cargo test --test resume resume_recovers)",
                delivery.label()
            );
            let store = disk(5);
            let before = first_visit(&setup, &store, 1_500);

            let mut world = World::resume(&short(&setup), Box::new(store.clone()))
                .unwrap_or_else(|e| panic!("{repro}: {e}"));
            let log = world.broker().as_log().unwrap();
            let views = log.partition_views(usize::MAX);
            let ends: Vec<u64> = views.iter().map(|p| p.end).collect();
            // A transactional log may gain markers on recovery (a prepared
            // commit completes), never lose durable records.
            for (p, (end, durable)) in ends.iter().zip(&before.durable_end).enumerate() {
                assert!(
                    end >= durable,
                    "{repro}: partition {p} ends at {end}, had {durable} durable"
                );
            }
            let committed: Vec<Option<u64>> = (0..setup.partitions as u16)
                .map(|p| log.committed(0, p))
                .collect();
            assert!(
                committed.iter().any(Option::is_some),
                "{repro}: the group's committed offsets were recovered"
            );
            let carried = carried(&world);
            assert!(!carried.is_empty(), "{repro}: records carried over");
            // Topic 0 is the page's input topic, read by group 0.
            for &(msg, _, partition, offset, how) in carried.iter().filter(|c| c.1 == 0) {
                let c = committed[partition as usize].unwrap_or(0);
                if how == Carried::Consumed {
                    assert!(
                        offset < c,
                        "{repro}: m{msg} consumed at {offset} >= committed {c}"
                    );
                }
                if how == Carried::Acked {
                    assert!(
                        offset >= c,
                        "{repro}: m{msg} unconsumed at {offset} < committed {c}"
                    );
                }
            }

            // The live checker (the page's) agrees with the batch one on a
            // resumed run, chunk by chunk, carried records included.
            let mut live = world.live_checker();
            while !world.is_finished() {
                for _ in 0..97 {
                    world.step().unwrap();
                }
                let same = world.live_summary(&mut live) == world.summary();
                assert!(
                    same,
                    "{repro}: live checker differs at {} ms",
                    world.now_ms()
                );
            }
            world.finish().unwrap();
            let same = world.live_summary(&mut live) == world.summary();
            assert!(same, "{repro}: live checker differs after the drain");
            // Consumers of the stored group start at its committed offsets.
            let names = world.names().clone();
            for (c, partition, offset) in first_reads(&world) {
                let in_group = names.clients[c as usize].starts_with('c');
                if let (true, Some(committed)) = (in_group, committed[partition as usize]) {
                    assert!(
                        offset >= committed,
                        "{repro}: {} first read partition {partition} at {offset}, below committed {committed}",
                        names.clients[c as usize]
                    );
                }
            }
            // New message ids follow the carried ones.
            for e in world.history().events() {
                if let (Proc::Client(_), Entry::Publish { msg, .. }) = (e.process, e.entry) {
                    assert!(msg > before.max_msg, "{repro}: m{msg} reuses an earlier id");
                }
            }
            let summary = world.summary();
            // Recovered commit/abort markers are told to the checker, so a
            // consumer jumping over one is not a skip.
            let skips = summary.log.as_ref().expect("a log run").poll_skip;
            assert_eq!(skips, 0, "{repro}: poll-skip {skips} after resuming");
            let verdict = playground::verdict(delivery, &summary);
            assert!(
                verdict.holds,
                "{repro}: {} ({})",
                verdict.text, summary.identity
            );
            assert_eq!(summary.counts.lost, 0, "{repro}: {}", summary.identity);
            assert_eq!(
                summary.counts.unexpected, 0,
                "{repro}: {}",
                summary.identity
            );
            let counts = summary.log.unwrap();
            assert_eq!(counts.carried, carried.len() as u64, "{repro}");
            assert!(
                counts.appended > 100,
                "{repro}: new writes landed: {}",
                summary.broker_identity
            );
            if delivery != Guarantee::ExactlyOnceTransactional {
                // (Aborted transactions' writes are refused, so missing there.)
                let missing = summary.counts.unconfirmed_missing;
                assert_eq!(missing, 0, "{repro}: {}", summary.identity);
            }
        }
    }
}

#[test]
fn idempotent_producers_of_a_resumed_run_are_not_mistaken_for_the_earlier_ones() {
    let setup = log_setup(Guarantee::ExactlyOnceIdempotent);
    let store = disk(5);
    first_visit(&setup, &store, 1_500);
    let mut world = World::resume(&short(&setup), Box::new(store)).unwrap();
    assert!(world.broker().as_log().unwrap().producer_id_shift() > 0);
    world.finish().unwrap();
    for f in ["duplicate_sequence", "sequence_rejected"] {
        let judged = lines_with(&world, f);
        assert!(
            judged.is_empty(),
            "seed {}: new producers judged by the earlier visit's sequence numbers: {:?}",
            setup.seed,
            &judged[..judged.len().min(3)]
        );
    }
}

#[test]
fn resuming_a_log_under_a_setup_with_fewer_partitions_is_refused_with_a_reason() {
    let setup = log_setup(Guarantee::AtLeastOnce);
    let store = disk(5);
    first_visit(&setup, &store, 1_000);
    let smaller = Setup {
        partitions: 1,
        ..setup
    };
    let error = World::resume(&short(&smaller), Box::new(store))
        .err()
        .expect("refused");
    assert!(
        error.contains("orders") || error.contains("partition"),
        "{error}"
    );
}

#[test]
fn resuming_an_empty_store_is_a_fresh_run() {
    let setup = log_setup(Guarantee::AtLeastOnce);
    let fresh = World::with_storage(&short(&setup), Box::new(disk(5)));
    let resumed = World::resume(&short(&setup), Box::new(disk(5))).unwrap();
    assert!(carried(&resumed).is_empty());
    assert_eq!(
        resumed.broker().as_log().unwrap().record_count(),
        fresh.broker().as_log().unwrap().record_count()
    );
}

/// Rewrites the first record of `stream`'s last durable batch with `garble`
/// and recomputes the batch's CRC, so only the record layout is wrong.
/// Returns the record's offset.
fn garble_last_record_batch(
    store: &Disk,
    stream: StreamId,
    garble: impl FnOnce(&mut brokerlab::storage::Record),
) -> u64 {
    let mut store = store.borrow_mut();
    let entry = store
        .durable_mut()
        .iter_mut()
        .rev()
        .find(|e| e.stream == stream)
        .unwrap_or_else(|| panic!("{stream} has durable batches"));
    let mut batch = brokerlab::storage::batch::decode_exact(&entry.bytes).unwrap();
    garble(&mut batch.records[0]);
    entry.bytes = batch.encode().unwrap();
    batch.base_offset
}

/// A `Txn` state record that passed its batch's CRC but is not one the
/// coordinator writes (here: cut to 3 bytes, CRC recomputed) is cut from the
/// stream with a `bad_format` report when the log is resumed, never a panic.
#[test]
fn an_unreadable_transaction_state_record_is_cut_with_a_report() {
    let setup = log_setup(Guarantee::ExactlyOnceTransactional);
    let store = disk(5);
    first_visit(&setup, &store, 1_500);
    let damaged_offset = garble_last_record_batch(&store, StreamId::Txn, |r| r.value.truncate(3));
    let world = World::resume(&short(&setup), Box::new(store.clone())).unwrap();
    let cuts = lines_with(&world, "truncated");
    let txn_cut = cuts.iter().find(|l| l.contains("txn")).cloned();
    let line = txn_cut.unwrap_or_else(|| panic!("no truncated line for the txn stream: {cuts:?}"));
    assert!(line.contains("bad_format"), "{line}");
    assert!(
        line.contains(&format!("\"offset\":{damaged_offset}")),
        "{line}"
    );
    // The cut is on disk too: a second resume finds nothing to cut.
    drop(world);
    store.borrow_mut().crash(0, Tear::None);
    let again = World::resume(&short(&setup), Box::new(store)).unwrap();
    assert!(lines_with(&again, "truncated").is_empty());
}

/// The same for a committed-offset record: cut with a report; the offsets
/// before it still count.
#[test]
fn an_unreadable_committed_offset_record_is_cut_with_a_report() {
    let setup = log_setup(Guarantee::AtLeastOnce);
    let store = disk(5);
    first_visit(&setup, &store, 1_500);
    let damaged_offset = garble_last_record_batch(&store, StreamId::Offsets, |r| r.key = None);
    let world = World::resume(&short(&setup), Box::new(store)).unwrap();
    let cuts = lines_with(&world, "truncated");
    assert!(
        cuts.iter().any(|l| l.contains("\"stream\":\"offsets\"")
            && l.contains("bad_format")
            && l.contains(&format!("\"offset\":{damaged_offset}"))),
        "{cuts:?}"
    );
    assert!(
        !lines_with(&world, "recovered_offset").is_empty(),
        "earlier commits still count"
    );
}

/// A resumed transactional log holds commit/abort markers from the earlier
/// visit; the read_committed sink jumps over them, which is not a skip.
/// (Seed 193 of 200 jumps over one; `RESUME_SEEDS` sets the count.)
#[test]
fn jumps_over_recovered_transaction_markers_are_not_poll_skips() {
    let seeds: u64 = std::env::var("RESUME_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    for seed in 1..=seeds {
        let mut setup = log_setup(Guarantee::ExactlyOnceTransactional);
        setup.partitions = 1;
        setup.seed = seed;
        setup.consumers.push(setup.consumers[0]);
        let store = disk(5);
        // The earlier visit: a broker crash and restart mid-run, then the
        // tab dies with transactions open.
        let mut first = World::with_storage(&short(&setup), Box::new(store.clone()));
        first.run_until(1_500).unwrap();
        broker_fault(&mut first, FaultAction::Crash);
        first.run_until(1_900).unwrap();
        broker_fault(&mut first, FaultAction::Restart);
        first.run_until(3_100).unwrap();
        let now = first.now_ms();
        drop(first);
        store.borrow_mut().crash(now, Tear::None);
        let mut world = World::resume(&short(&setup), Box::new(store)).unwrap();
        world.finish().unwrap();
        let summary = world.summary();
        let skips = summary.log.as_ref().expect("a log run").poll_skip;
        assert_eq!(skips, 0, "seed {seed}: poll-skip {skips} after resuming");
    }
}

/// A `Txn` record that decodes but names a partition the topic does not
/// have (partition 200 of 3) is as unreadable as a garbled one: cut with a
/// report. Finishing its transaction would have written a marker there.
#[test]
fn a_transaction_record_naming_an_unknown_partition_is_cut_with_a_report() {
    let setup = log_setup(Guarantee::ExactlyOnceTransactional);
    let store = disk(5);
    first_visit(&setup, &store, 1_500);
    // The value: producer id (8), epoch (2), state (1), timeout (8),
    // started (8), partition count (2), then (topic, partition) pairs.
    let damaged_offset = {
        let mut store = store.borrow_mut();
        let named = store.durable_mut().iter_mut().rev().find_map(|entry| {
            if entry.stream != StreamId::Txn {
                return None;
            }
            let mut batch = brokerlab::storage::batch::decode_exact(&entry.bytes).unwrap();
            let r = batch
                .records
                .iter_mut()
                .find(|r| r.value[27..29] != [0, 0])?;
            r.value[31..33].copy_from_slice(&200u16.to_le_bytes());
            let offset = r.offset;
            entry.bytes = batch.encode().unwrap();
            Some(offset)
        });
        named.expect("a transaction that added a partition")
    };
    let world = World::resume(&short(&setup), Box::new(store)).unwrap();
    let cuts = lines_with(&world, "truncated");
    assert!(
        cuts.iter().any(|l| l.contains("\"stream\":\"txn\"")
            && l.contains("bad_format")
            && l.contains(&format!("\"offset\":{damaged_offset}"))),
        "{cuts:?}"
    );
}

/// A stored message id at the top of the range leaves no room for new ids:
/// Resume is refused with the reason (it used to overflow `id + 1`).
#[test]
fn a_stored_message_id_at_the_limit_refuses_resume_with_a_reason() {
    let setup = log_setup(Guarantee::AtLeastOnce);
    let store = disk(5);
    first_visit(&setup, &store, 1_500);
    let p0 = StreamId::Partition {
        topic: 0,
        partition: 0,
    };
    garble_last_record_batch(&store, p0, |r| {
        r.value[0..8].copy_from_slice(&u64::MAX.to_le_bytes())
    });
    let error = World::resume(&short(&setup), Box::new(store))
        .err()
        .expect("refused");
    assert!(error.contains("message ids reach"), "{error}");
    assert!(error.contains("start fresh"), "{error}");
}
