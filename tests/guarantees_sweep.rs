//! The matrix: broker kind × guarantee × fault mix, swept over seeds. The
//! configured guarantee must never be violated. Cells: queue and log × at
//! most once, at least once, exactly once (idempotent), and log × exactly
//! once (transactional). `GUARANTEE_SEEDS` sets the seeds per cell (default
//! 20; CI runs it in the `sweep` profile with more).
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::config::Guarantee;
use brokerlab::config::{ClientSpec, CommitMode, Scenario};
use brokerlab::sim::faults::with_random_faults;
use brokerlab::world::World;

fn seeds() -> u64 {
    std::env::var("GUARANTEE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

/// One cell's workload: a keyed producer and a group of two consumers.
/// The log topic has 4 partitions so a rebalance between the two members
/// moves partitions while their work on them (a transaction, a batch whose
/// commit is in flight) is still open.
fn base(log: bool, g: Guarantee) -> Scenario {
    let broker = if log {
        r#"{ "kind": "log", "topics": [ { "name": "t", "partitions": 4 } ], "fsync_latency_ms": 3 }"#
    } else {
        r#"{ "kind": "queue", "mode": "sqs", "queues": [ { "name": "t", "visibility_timeout_ms": 80 } ] }"#
    };
    let (producer, consumer) = if log {
        (
            r#"{ "kind": "log_producer", "id": "p1", "topic": "t", "keys": ["a", "b", "c"], "interval_ms": 4, "count": 150, "request.timeout.ms": 50 }"#,
            r#""kind": "log_consumer", "topic": "t", "group.id": "g", "processing": { "uniform_ms": { "min": 1, "max": 4 } }, "auto.offset.reset": "earliest", "session.timeout.ms": 200, "heartbeat.interval.ms": 50"#,
        )
    } else {
        (
            r#"{ "kind": "producer", "id": "p1", "routing_key": "t", "keys": ["a", "b", "c"], "interval_ms": 4, "count": 150, "confirms": { "timeout_ms": 50 } }"#,
            r#""kind": "consumer", "queue": "t", "prefetch": 3, "processing": { "uniform_ms": { "min": 1, "max": 4 } }"#,
        )
    };
    // The in-memory queue broker keeps nothing across a crash, so no
    // guarantee that forbids loss can hold through one: it is left out there.
    let broker_crash = log;
    // Every cell meets every fault, the armed ones (crash after send / after
    // process) drawn at random too, on top of `with_armed_faults`. Except:
    // a producer that re-sends an unknown outcome after a restart does so
    // under a new producer id, which no broker can deduplicate (Kafka's
    // idempotence lasts one producer session), and the transactional
    // pipeline has no dedup store on its input, so that cell leaves out
    // `crash_after_send` (the known limit in `guarantee_txn`).
    let drop_acks = true;
    let resend = g != Guarantee::ExactlyOnceTransactional;
    // On the log every broker crash tears the batch its disk was writing
    // (`torn_writes`); the queue broker keeps no disk. A tear can keep
    // records and cut the idempotent producer state written after them:
    // the broker rebuilds that state from the log (see `broker::log::producers`),
    // or a retry would land twice in the transactional cell's input topic.
    let torn = log;
    let doc = format!(
        r#"{{ "name": "matrix", "seed": 1, "duration_ms": 1500, "guarantee": "{}",
        "broker": {broker}, "network": {{ "latency_ms_min": 1, "latency_ms_max": 3 }},
        "clients": [ {producer}, {{ "id": "c1", {consumer} }}, {{ "id": "c2", {consumer} }} ],
        "fault_options": {{ "broker_crash": {broker_crash}, "consumer_crash": true, "producer_crash": true,
                            "drop_acks": {drop_acks}, "crash_after_send": {resend}, "crash_after_process": true,
                            "torn_writes": {torn}, "max_faults": 4, "downtime_ms_min": 20, "downtime_ms_max": 300 }} }}"#,
        g.name()
    );
    Scenario::from_json(&doc).unwrap()
}

/// Adds the armed faults that tell the guarantees apart, at a time drawn
/// from the seed: crash after send (p1, when the cell's `fault_options`
/// allow it) and crash after process (c1 or c2).
fn with_armed_faults(s: &mut Scenario, seed: u64) {
    let at_ms = 100 + seed * 37 % 900;
    let after_process = format!(
        r#"{{ "at_ms": {}, "action": "crash_after_process", "target": "c{}", "until_ms": {} }}"#,
        at_ms + 20,
        1 + seed % 2,
        at_ms + 200
    );
    let after_send = format!(
        r#"{{ "at_ms": {at_ms}, "action": "crash_after_send", "target": "p1", "until_ms": {} }}"#,
        at_ms + 50
    );
    let mut armed = vec![after_process];
    if s.fault_options.crash_after_send {
        armed.insert(0, after_send);
    }
    for doc in armed {
        s.faults.push(serde_json::from_str(&doc).unwrap());
    }
}

/// The exact command that replays a run, with the scenario it needs.
fn reproduce(s: &Scenario, seed: u64) -> String {
    format!(
        "reproduce: save this scenario and run `brokerlab run FILE --seed {seed}`:\n{}",
        s.to_json_pretty()
    )
}

fn cell(log: bool, g: Guarantee, seeds: u64) {
    let kind = if log { "log" } else { "queue" };
    for seed in 1..=seeds {
        let mut s = with_random_faults(&base(log, g), seed);
        with_armed_faults(&mut s, seed);
        s.validate().unwrap();
        let mut w = World::new(&s);
        w.finish().expect("within bounds");
        let sum = w.summary();
        let v = brokerlab::check::guarantee::verdict(g, &sum, w.history(), w.names());
        assert!(
            v.holds,
            "{kind} × {}: seed {seed}: {}\n{}",
            g.name(),
            v.text,
            reproduce(&s, seed)
        );
    }
}

#[test]
fn every_cell_of_the_matrix_holds_its_guarantee() {
    let n = seeds();
    for log in [false, true] {
        for g in Guarantee::ALL {
            // Transactions need the log broker (the queue broker refuses
            // the setting: see `guarantee::txn::QUEUE_UNAVAILABLE`).
            if !log && g == Guarantee::ExactlyOnceTransactional {
                continue;
            }
            cell(log, g, n);
        }
    }
}

/// Log × exactly once (transactional) under broker and consumer crashes
/// where every broker crash tears the batch its disk was writing:
/// `scenarios/txn_crash_sweep.json` (idempotent producer → read-process-
/// write transactions → `read_committed` sink), each seed's random faults
/// on top. A tear can keep an idempotent record and cut the producer state
/// written after it; the broker rebuilds that state from the log, so the
/// producer's retry is not appended twice (see `src/broker/log/producers.rs`).
#[test]
fn the_transactional_crash_sweep_holds_across_torn_writes() {
    let s = Scenario::from_json(include_str!("../scenarios/txn_crash_sweep.json")).unwrap();
    assert!(s.fault_options.torn_writes && s.fault_options.broker_crash);
    for seed in 1..=seeds() {
        let mut w = World::new(&with_random_faults(&s, seed));
        w.finish().expect("within bounds");
        let summary = w.summary();
        // Markers and aborted records take up offsets a read_committed
        // consumer never receives: jumping over them is not a skip.
        let skips = summary.log.as_ref().expect("a log run").poll_skip;
        assert!(
            summary.ok && skips == 0,
            "log × exactly_once_transactional (torn writes): seed {seed}: {:?}, poll-skip {skips}\n\
             reproduce with: brokerlab run scenarios/txn_crash_sweep.json --seed {seed} --random-faults",
            summary.violations
        );
    }
}

/// Negative controls: the checker must be able to fail.
#[test]
fn exactly_once_without_the_dedup_store_is_violated() {
    for log in [false, true] {
        let found = (1..=20).any(|seed| {
            let mut s =
                brokerlab::guarantee::resolved(&base(log, Guarantee::ExactlyOnceIdempotent));
            s.guarantee = None;
            s.seed = seed;
            with_armed_faults(&mut s, seed);
            for c in &mut s.clients {
                match c {
                    ClientSpec::Consumer(k) => k.dedup_ids_max = None,
                    ClientSpec::LogConsumer(k) => k.dedup_ids_max = None,
                    _ => {}
                }
            }
            let mut w = World::new(&s);
            w.finish().unwrap();
            let g = Guarantee::ExactlyOnceIdempotent;
            !brokerlab::check::guarantee::verdict(g, &w.summary(), w.history(), w.names()).holds
        });
        assert!(found, "log={log}: dedup off must duplicate");
    }
}

/// The log cell's setup for `g` with its armed faults, taken as written
/// (the guarantee is not applied again on top), every log consumer
/// committing by `mode`: a broken setup when `mode` is the other
/// guarantee's.
fn log_with_commit_mode(g: Guarantee, mode: CommitMode, seed: u64) -> Scenario {
    let mut s = brokerlab::guarantee::resolved(&base(true, g));
    s.guarantee = None;
    s.seed = seed;
    with_armed_faults(&mut s, seed);
    for c in &mut s.clients {
        if let ClientSpec::LogConsumer(k) = c {
            k.commit = Some(mode);
        }
    }
    s
}

#[test]
fn at_least_once_with_commit_before_processing_is_violated() {
    let found = (1..=20).any(|seed| {
        let mut s =
            log_with_commit_mode(Guarantee::AtLeastOnce, CommitMode::BeforeProcessing, seed);
        s.faults.push(
            serde_json::from_str(r#"{ "at_ms": 703, "action": "crash", "target": "c1" }"#).unwrap(),
        );
        let mut w = World::new(&s);
        w.finish().unwrap();
        let v = brokerlab::check::guarantee::verdict(
            Guarantee::AtLeastOnce,
            &w.summary(),
            w.history(),
            w.names(),
        );
        !v.holds
    });
    assert!(found, "commit before processing must lose a record");
}

/// The log × at most once cell means something only if its runs meet what
/// `commitSync` guards against (refused and unanswered commits), and if
/// every record a consumer processed was covered by its latest commit of
/// that partition, confirmed.
#[test]
fn at_most_once_processes_only_what_a_confirmed_commit_covers() {
    use brokerlab::history::{Entry, LogEntry, OpType, Proc};
    use std::collections::BTreeMap;
    let (mut refused, mut unanswered) = (0, 0);
    for seed in 1..=200 {
        let mut s = with_random_faults(&base(true, Guarantee::AtMostOnce), seed);
        with_armed_faults(&mut s, seed);
        let mut w = World::new(&s);
        w.finish().expect("within bounds");
        // (client, partition) → how its latest commitSync ended.
        let mut latest: BTreeMap<(u32, u16), (OpType, u64)> = BTreeMap::new();
        for e in w.history().events() {
            let (Proc::Client(c), Entry::Log(l)) = (e.process, e.entry) else {
                continue;
            };
            match l {
                LogEntry::CommitDone {
                    ty,
                    partition,
                    offset,
                    ..
                } => {
                    refused += u32::from(ty == OpType::Fail);
                    unanswered += u32::from(ty == OpType::Info);
                    latest.insert((c, partition), (ty, offset));
                }
                LogEntry::Process {
                    ty: OpType::Invoke,
                    partition,
                    offset,
                    ..
                } => {
                    let covered = latest.get(&(c, partition));
                    assert!(
                        covered.is_some_and(|&(ty, o)| ty == OpType::Ok && offset < o),
                        "seed {seed}: {} processed offset {offset} of partition {partition} \
                         without a confirmed commit past it (latest: {covered:?})\n{}",
                        w.names().client(c),
                        reproduce(&s, seed)
                    );
                }
                _ => {}
            }
        }
    }
    assert!(refused > 0, "no commitSync was refused in 200 seeds");
    assert!(unanswered > 0, "every commitSync was answered in 200 seeds");
}

#[test]
fn at_most_once_with_processing_before_the_commit_is_violated() {
    let found = (1..=20).any(|seed| {
        let s = log_with_commit_mode(Guarantee::AtMostOnce, CommitMode::AfterProcessing, seed);
        let mut w = World::new(&s);
        w.finish().unwrap();
        let sum = w.summary();
        let g = Guarantee::AtMostOnce;
        let v = brokerlab::check::guarantee::verdict(g, &sum, w.history(), w.names());
        !v.holds && sum.counts.duplicated > 0
    });
    assert!(
        found,
        "processing before the commit must duplicate a record"
    );
}
