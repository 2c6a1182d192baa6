//! Torn writes at broker crashes (issue 6: "a crash drops pending writes and
//! can tear the last batch"): `crash_torn` and `fault_options.torn_writes`
//! cut the batch the disk was writing, the batches before it in the same
//! group commit land whole, recovery truncates at the torn one, and nothing
//! acknowledged is lost; and a tear that keeps an idempotent record but cuts
//! the producer state written after it does not let the retry append a copy
//! (the broker rebuilds that state from the log, `cut_producer_state`).
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::broker::log::LogNote;
use brokerlab::broker::Note;
use brokerlab::config::Scenario;
use brokerlab::history::Entry;
use brokerlab::storage::StreamId;
use brokerlab::world::World;
use std::collections::BTreeMap;

/// The consumer is down around the crash on even seeds: no offsets commit
/// rides in the flush, so its last batch (the one a tear cuts) is a
/// partition's instead of the `Offsets` stream's.
const CONSUMER_DOWN: &str = r#", { "at_ms": 300, "action": "crash", "target": "c1" },
    { "at_ms": 600, "action": "restart", "target": "c1" }"#;

/// At least once on three partitions with a slow disk (10 ms per group
/// commit), so a flush is in flight at almost any instant; the broker crashes
/// with `action` at 400 ms and restarts at 500 ms.
fn scenario(seed: u64, action: &str) -> Scenario {
    let doc = format!(
        r#"{{ "name": "torn", "seed": {seed}, "duration_ms": 1500, "guarantee": "at_least_once",
        "broker": {{ "kind": "log", "topics": [ {{ "name": "t", "partitions": 3 }} ], "fsync_latency_ms": 10 }},
        "network": {{ "latency_ms_min": 1, "latency_ms_max": 3 }},
        "clients": [
          {{ "kind": "log_producer", "id": "p1", "topic": "t", "keys": ["a", "b", "c", "d", "e"],
             "interval_ms": 1, "count": 800, "request.timeout.ms": 100, "max.in.flight.requests": 50 }},
          {{ "kind": "log_consumer", "id": "c1", "topic": "t", "group.id": "g", "auto.offset.reset": "earliest",
             "processing": {{ "uniform_ms": {{ "min": 1, "max": 3 }} }} }}
        ],
        "faults": [ {{ "at_ms": {crash_ms}, "action": "{action}", "target": "broker" }},
                    {{ "at_ms": 500, "action": "restart", "target": "broker" }} {consumer_down} ] }}"#,
        crash_ms = 400 + seed % 7,
        consumer_down = if seed.is_multiple_of(2) {
            CONSUMER_DOWN
        } else {
            ""
        },
    );
    Scenario::from_json(&doc).unwrap()
}

/// What one run's history says about its crash and recovery.
#[derive(Debug, Default)]
struct Story {
    torn: Option<StreamId>,
    truncated: Vec<StreamId>,
    /// Per partition: durable end before the crash, and end after recovery.
    durable_before: BTreeMap<u16, u64>,
    recovered: BTreeMap<u16, u64>,
}

fn story(w: &World) -> Story {
    let mut s = Story::default();
    let mut crashed = false;
    for ev in w.history().events() {
        let Entry::Broker(Note::Log(n)) = ev.entry else {
            if ev.entry == Entry::Crash
                && ev.process == brokerlab::history::Proc::Broker(brokerlab::node::NodeId::FIRST)
            {
                crashed = true;
            }
            continue;
        };
        match n {
            LogNote::Durable { partition, to, .. } if !crashed => {
                s.durable_before.insert(partition, to);
            }
            LogNote::TornWrite { stream, .. } => s.torn = Some(stream),
            LogNote::Truncated { stream, .. } => s.truncated.push(stream),
            LogNote::Recovered { partition, to, .. } if s.recovered.len() < 3 => {
                s.recovered.entry(partition).or_insert(to);
            }
            _ => {}
        }
    }
    s
}

fn run(s: &Scenario) -> World {
    let mut w = World::new(s);
    w.finish().expect("within bounds");
    let sum = w.summary();
    let v = brokerlab::check::guarantee::verdict(
        brokerlab::config::Guarantee::AtLeastOnce,
        &sum,
        w.history(),
        w.names(),
    );
    assert!(
        v.holds && sum.counts.lost == 0,
        "seed {}: {} {:?}\nreproduce: save this scenario and run `brokerlab run FILE`:\n{}",
        s.seed,
        v.text,
        v.causes,
        s.to_json_pretty()
    );
    w
}

#[test]
fn a_torn_crash_truncates_the_torn_batch_keeps_the_ones_before_it_and_loses_nothing_acked() {
    let (mut tears, mut partition_tears, mut survivors) = (0, 0, 0);
    for seed in 1..=20 {
        let w = run(&scenario(seed, "crash_torn"));
        let s = story(&w);
        // No flush in flight (or it completed at the crash's instant): nothing to tear.
        let Some(torn) = s.torn else {
            assert!(s.truncated.is_empty(), "seed {seed}: {s:?}");
            continue;
        };
        tears += 1;
        assert_eq!(
            s.truncated,
            vec![torn],
            "seed {seed}: recovery cut the torn stream"
        );
        for (&p, &end) in &s.recovered {
            let before = s.durable_before.get(&p).copied().unwrap_or(0);
            assert!(
                end >= before,
                "seed {seed}: partition {p} kept what was durable"
            );
            let stream = StreamId::Partition {
                topic: 0,
                partition: p,
            };
            if stream == torn {
                assert_eq!(end, before, "seed {seed}: the torn batch is gone");
                partition_tears += 1;
            } else if end > before {
                // Unacknowledged records of the torn flush that landed whole.
                survivors += 1;
            }
        }
    }
    assert!(
        tears >= 15,
        "a flush is in flight at most crashes: {tears} of 20"
    );
    assert!(partition_tears > 0, "some tears cut a partition's batch");
    assert!(survivors > 0, "some whole batches of a torn flush survived");
}

#[test]
fn a_clean_crash_tears_nothing_and_matches_the_torn_run_until_the_crash() {
    let (clean, torn) = (scenario(3, "crash"), scenario(3, "crash_torn"));
    let (wc, wt) = (run(&clean), run(&torn));
    let s = story(&wc);
    assert_eq!((s.torn, s.truncated.len()), (None, 0), "{s:?}");
    let crash_at = |w: &World| {
        w.history()
            .events()
            .iter()
            .position(|e| e.entry == Entry::Crash)
            .expect("a crash")
    };
    let n = crash_at(&wc);
    assert_eq!(n, crash_at(&wt));
    let upto_crash =
        |w: &World| -> Vec<_> { w.history().events().iter().take(n + 1).copied().collect() };
    assert_eq!(
        upto_crash(&wc),
        upto_crash(&wt),
        "the tear changes nothing before the crash"
    );
}

#[test]
fn torn_writes_tear_every_broker_crash_and_crash_torn_needs_the_log_broker() {
    let mut s = scenario(5, "crash");
    s.fault_options.torn_writes = true;
    s.validate().unwrap();
    assert!(
        story(&run(&s)).torn.is_some(),
        "the option tears a plain crash"
    );
    let queue = r#"{ "name": "q", "seed": 1, "duration_ms": 100,
        "broker": { "kind": "queue", "queues": [ { "name": "q" } ] },
        "clients": [ { "kind": "producer", "id": "p1", "routing_key": "q", "interval_ms": 1, "count": 1 } ],"#;
    for (tail, path) in [
        (
            r#""faults": [ { "at_ms": 5, "action": "crash_torn", "target": "broker" } ] }"#,
            "faults[0].action",
        ),
        (
            r#""fault_options": { "torn_writes": true } }"#,
            "fault_options.torn_writes",
        ),
    ] {
        let e = Scenario::from_json(&format!("{queue} {tail}")).expect_err("queues keep no disk");
        assert_eq!(e.path, path, "{e}");
    }
    let mut on_client = scenario(1, "crash_torn");
    on_client.faults[0].target = "p1".into();
    assert_eq!(on_client.validate().unwrap_err().path, "faults[0].action");
}

/// The case a torn group commit used to get wrong, driven on the broker
/// itself: an idempotent record lands whole, the `Producers` snapshot
/// written after it in the same flush is torn. Recovery must rebuild the
/// producer's state from the log, so the producer's retry is a duplicate
/// answered with the original offset, not a second copy.
mod cut_producer_state {
    use brokerlab::broker::log::{producer_id, ProducerIdent};
    use brokerlab::broker::log::{LogBroker, LogNote, LogReply, LogRequest};
    use brokerlab::broker::{Message, Note, Output};
    use brokerlab::config::LogBrokerSpec;
    use brokerlab::storage::{FlushState, MemoryStore, Storage, StreamId, Tear, TruncationCause};

    const WHO: ProducerIdent = ProducerIdent { id: 1, epoch: 0 };
    const FSYNC_MS: u64 = 5;
    const P0: StreamId = StreamId::Partition {
        topic: 0,
        partition: 0,
    };

    struct Rig {
        broker: LogBroker,
        store: MemoryStore,
        out: Vec<Output>,
    }

    impl Rig {
        fn new() -> Rig {
            let spec: LogBrokerSpec = serde_json::from_str(
                r#"{ "topics": [ { "name": "t", "partitions": 1 } ], "fsync_latency_ms": 5 }"#,
            )
            .unwrap();
            Rig {
                broker: LogBroker::from_spec(&spec, Vec::new(), 0),
                store: MemoryStore::new(Default::default(), FSYNC_MS),
                out: Vec::new(),
            }
        }

        /// Client 1 sends `sequence` of message `id`; returns what came out.
        fn produce(&mut self, now_ms: u64, id: u64, sequence: u32) -> Vec<Output> {
            let msg = Message {
                id,
                producer: 1,
                seq: u64::from(sequence),
                key: None,
                payload_bytes: 8,
            };
            let req = LogRequest::ProduceIdempotent {
                topic: 0,
                partition: 0,
                msg,
                producer: ProducerIdent {
                    id: producer_id(1, 0),
                    ..WHO
                },
                sequence,
            };
            self.broker
                .handle(now_ms, 1, req, &mut self.store, &mut self.out);
            std::mem::take(&mut self.out)
        }

        /// Runs the group commit begun in `outputs` to its end.
        fn complete_flush(&mut self, outputs: &[Output]) -> Vec<Output> {
            let (id, at_ms) = outputs
                .iter()
                .find_map(|o| match o {
                    Output::FlushAt { id, at_ms } => Some((*id, *at_ms)),
                    _ => None,
                })
                .expect("the append began a group commit");
            let state = self.store.flush_state(id, at_ms);
            assert_eq!(state, FlushState::Durable);
            self.broker
                .flush_done(at_ms, id, state, &mut self.store, &mut self.out);
            std::mem::take(&mut self.out)
        }

        /// Partition 0's `index`-th durable batch, to damage it on "disk".
        fn partition_batch(&mut self, index: usize) -> &mut brokerlab::storage::journal::Entry {
            let batches = self.store.durable_mut().iter_mut();
            batches
                .filter(|e| e.stream == P0)
                .nth(index)
                .expect("a durable batch")
        }

        fn restart(&mut self, now_ms: u64) -> Vec<LogNote> {
            self.broker.restart(now_ms, &mut self.store, &mut self.out);
            log_notes(&std::mem::take(&mut self.out))
        }
    }

    fn log_notes(outputs: &[Output]) -> Vec<LogNote> {
        outputs
            .iter()
            .filter_map(|o| match o {
                Output::Note(Note::Log(n)) => Some(*n),
                _ => None,
            })
            .collect()
    }

    fn appended(msg: u64, offset: u64) -> LogNote {
        LogNote::Appended {
            msg,
            topic: 0,
            partition: 0,
            offset,
        }
    }

    /// Sequences `0..n` of messages 100.., each in its own durable batch,
    /// then a clean crash: the disk holds `n` batches of partition 0.
    fn durable_then_crash(n: u64) -> Rig {
        let mut rig = Rig::new();
        for i in 0..n {
            let begun = rig.produce(i * 10, 100 + i, i as u32);
            rig.complete_flush(&begun);
        }
        rig.broker
            .crash(n * 10, Tear::None, &mut rig.store, &mut rig.out);
        rig.out.clear();
        rig
    }

    /// Partition 0's state rebuilt from records `[from, to)` of its log.
    fn from_log([from, to]: [u64; 2], replayed: u32, forgot: u32) -> LogNote {
        LogNote::ProducerStateFromLog {
            topic: 0,
            partition: 0,
            from,
            to,
            replayed,
            forgot,
        }
    }

    fn acks(outputs: &[Output]) -> Vec<(u64, u64)> {
        outputs
            .iter()
            .filter_map(|o| match o {
                Output::Log {
                    reply: LogReply::ProduceAck { msg, offset, .. },
                    ..
                } => Some((*msg, *offset)),
                _ => None,
            })
            .collect()
    }

    /// Sequences 0 and 1 durable, sequence 2 in a flush that a crash tears
    /// at its last batch (`Producers`): the record lands, its state is cut.
    fn records_durable_state_torn() -> Rig {
        let mut rig = Rig::new();
        for (i, now_ms) in [(0, 0), (1, 10)] {
            let begun = rig.produce(now_ms, 100 + i, i as u32);
            let done = rig.complete_flush(&begun);
            assert_eq!(acks(&done), vec![(100 + i, i)], "acks=all once durable");
        }
        let begun = rig.produce(20, 102, 2);
        assert!(acks(&begun).is_empty(), "not durable yet: no answer");
        rig.broker.crash(
            21,
            Tear::LastBatch { keep_bytes: 9 },
            &mut rig.store,
            &mut rig.out,
        );
        let crash = log_notes(&std::mem::take(&mut rig.out));
        assert!(
            crash.iter().any(|n| matches!(
                n,
                LogNote::TornWrite {
                    stream: StreamId::Producers,
                    ..
                }
            )),
            "the flush's last batch, the producer state, is torn: {crash:?}"
        );
        rig
    }

    #[test]
    fn the_retry_of_a_record_that_landed_is_a_duplicate_with_its_original_offset() {
        let mut rig = records_durable_state_torn();
        let notes = rig.restart(30);
        assert!(
            notes.contains(&LogNote::Recovered {
                topic: 0,
                partition: 0,
                to: 3
            }),
            "the torn flush's partition batch landed whole: {notes:?}"
        );
        assert!(
            notes.iter().any(|n| matches!(
                n,
                LogNote::Truncated {
                    stream: StreamId::Producers,
                    ..
                }
            )),
            "the torn snapshot batch was cut: {notes:?}"
        );
        assert!(
            notes.contains(&from_log([2, 3], 1, 0)),
            "the log past the snapshot's horizon (offset 1) was replayed: {notes:?}"
        );
        // The producer never heard back about sequence 2: it retries it.
        let retry = rig.produce(40, 102, 2);
        assert!(
            log_notes(&retry).contains(&LogNote::DuplicateSequence {
                msg: 102,
                topic: 0,
                partition: 0,
                offset: 2
            }),
            "{retry:?}"
        );
        assert_eq!(
            acks(&retry),
            vec![(102, 2)],
            "answered with the original offset"
        );
        assert_eq!(rig.broker.log_end(0, 0), 3, "nothing appended twice");
        // The rebuilt state is written again in the next group commit...
        let rewritten = rig.complete_flush(&retry);
        assert!(acks(&rewritten).is_empty(), "{rewritten:?}");
        // ...and the next sequence is in line.
        let next = rig.produce(50, 103, 3);
        assert!(log_notes(&next).contains(&appended(103, 3)));
        rig.complete_flush(&next);
        let again = rig.restart_after_clean_crash(60);
        assert!(
            !again
                .iter()
                .any(|n| matches!(n, LogNote::ProducerStateFromLog { .. })),
            "the snapshot is current again: nothing to replay {again:?}"
        );
    }

    impl Rig {
        fn restart_after_clean_crash(&mut self, now_ms: u64) -> Vec<LogNote> {
            self.broker
                .crash(now_ms, Tear::None, &mut self.store, &mut self.out);
            self.out.clear();
            self.restart(now_ms + 1)
        }
    }

    #[test]
    fn a_snapshot_ahead_of_the_log_yields_to_it() {
        // The opposite damage: the partition's last batch rots on disk while
        // the snapshot that covers it is intact. Recovery cuts the batch; the
        // state must forget sequence 1, or its retry would be answered with
        // an offset that no longer exists (an acknowledged loss).
        let mut rig = durable_then_crash(2);
        let last = rig.partition_batch(1);
        *last.bytes.last_mut().unwrap() ^= 0xff;
        let notes = rig.restart(30);
        assert!(notes.contains(&from_log([1, 1], 0, 1)), "{notes:?}");
        let retry = rig.produce(40, 101, 1);
        assert!(
            log_notes(&retry).contains(&appended(101, 1)),
            "the lost record is written again: {retry:?}"
        );
    }

    #[test]
    fn a_record_of_unknown_layout_is_cut_with_a_report_not_a_panic() {
        // Sequences 0, 1, 2 in three durable batches; then, on disk, record
        // 1's value gets a layout the broker never writes, inside a batch
        // whose CRC is recomputed (so recovery's checks pass it).
        let mut rig = durable_then_crash(3);
        let entry = rig.partition_batch(1);
        let mut batch = brokerlab::storage::batch::decode_exact(&entry.bytes).unwrap();
        batch.records[0].value.truncate(33);
        entry.bytes = batch.encode().unwrap();
        let notes = rig.restart(40);
        let cut = notes.iter().any(|n| {
            matches!(*n, LogNote::Truncated {
                stream,
                batch_index: 1,
                offset: 1,
                cause: TruncationCause::BadFormat,
                dropped_batches: 2,
                dropped_bytes,
            } if stream == P0 && dropped_bytes > 0)
        });
        assert!(
            cut,
            "batch 1 cut at offset 1, batch 2 dropped, bad_format: {notes:?}"
        );
        assert!(notes.contains(&LogNote::Recovered {
            topic: 0,
            partition: 0,
            to: 1
        }));
        assert!(notes.contains(&from_log([1, 1], 0, 2)), "{notes:?}");
        // The store cut its stream too: the retry of sequence 1 takes
        // offset 1 again and becomes durable.
        let retry = rig.produce(50, 101, 1);
        assert!(log_notes(&retry).contains(&appended(101, 1)));
        assert_eq!(acks(&rig.complete_flush(&retry)), vec![(101, 1)]);
        let clean = rig.restart_after_clean_crash(70);
        assert!(
            !clean.iter().any(|n| matches!(n, LogNote::Truncated { .. })),
            "the cut was durable: {clean:?}"
        );
        assert_eq!(rig.broker.log_end(0, 0), 2);
    }
}
