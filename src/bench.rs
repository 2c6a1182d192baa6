//! The throughput benchmark workload, in the library so that the native CLI
//! (`brokerlab bench`) and the browser test (`tests/web_sim.rs`) run exactly the
//! same code and their numbers can be compared.
//!
//! The workload pushes messages through publish → deliver → process → ack with
//! publisher confirms, four consumers and full history recording. Only wall time
//! is platform specific, so the caller measures it: this module never reads a clock.
//!
//! The guarantee workloads ([`guarantee_lines`], issue 5's "cost of each
//! guarantee") run the same traffic under each delivery guarantee, set by the
//! one `guarantee` setting, on both brokers. The caller passes its clock in
//! as a closure; every run is checked against what its guarantee promises
//! before its number is printed.

use crate::config::Guarantee;
use crate::config::Scenario;
use crate::world::World;

/// The benchmark scenario for `messages` messages.
pub fn scenario(messages: u64) -> Scenario {
    assert!(messages > 0);
    let json = format!(
        r#"{{
        "name": "bench",
        "seed": 42,
        "duration_ms": {duration},
        "broker": {{ "kind": "queue", "queues": [ {{ "name": "work" }} ] }},
        "network": {{ "latency_ms_min": 1, "latency_ms_max": 2 }},
        "clients": [
          {{ "kind": "producer", "id": "p1", "routing_key": "work", "keys": ["a", "b", "c"],
             "rate_per_s": 100000, "count": {messages}, "confirms": {{ "timeout_ms": 1000, "window": 10000 }} }},
          {{ "kind": "consumer", "id": "c1", "queue": "work", "prefetch": 50, "processing": {{ "fixed_ms": 0 }} }},
          {{ "kind": "consumer", "id": "c2", "queue": "work", "prefetch": 50, "processing": {{ "fixed_ms": 0 }} }},
          {{ "kind": "consumer", "id": "c3", "queue": "work", "prefetch": 50, "processing": {{ "fixed_ms": 0 }} }},
          {{ "kind": "consumer", "id": "c4", "queue": "work", "prefetch": 50, "processing": {{ "fixed_ms": 0 }} }}
        ],
        "limits": {{ "events_max": {events} }}
      }}"#,
        duration = messages / 100 + 10_000,
        events = messages * 20 + 100_000,
    );
    Scenario::from_json(&json).expect("the bench scenario is valid")
}

/// Runs the workload; returns the number of messages processed.
pub fn run(messages: u64) -> u64 {
    run_counting(&scenario(messages), messages)
}

/// Runs a bench scenario to its end and checks every message was processed once.
fn run_counting(scenario: &Scenario, messages: u64) -> u64 {
    let mut world = World::new(scenario);
    world.run().expect("the bench stays within its bounds");
    processed_once(&world, messages)
}

/// Messages in the "run and fully checked" workload (issue 16: a 1M-message
/// scenario, run and checked, in the browser).
pub const CHECKED_MESSAGES: u64 = 1_000_000;

/// The queue workload with `messages` messages, run to its end and then
/// judged by the full checker ([`World::summary`]), as `brokerlab run`
/// does; returns the number of messages processed. Panics if the checker
/// finds anything (the workload loses and duplicates nothing).
pub fn run_checked(messages: u64) -> u64 {
    let scenario = scenario(messages);
    let mut world = World::new(&scenario);
    world.finish().expect("the bench stays within its bounds");
    let summary = world.summary();
    assert!(
        summary.ok,
        "the checked bench is clean: {:?}",
        summary.violations
    );
    processed_once(&world, messages)
}

/// Messages the consumers processed, checked to be every one once.
fn processed_once(world: &World, messages: u64) -> u64 {
    let processed = world
        .clients()
        .iter()
        .filter(|c| !c.is_producer)
        .map(|c| c.count)
        .sum();
    assert_eq!(processed, messages, "every bench message is processed once");
    processed
}

/// Partition counts the log benchmark runs (one consumer per partition).
pub const LOG_PARTITIONS: [u32; 3] = [1, 4, 16];

/// The log workload: produce (`acks=all`, so every record waits for its
/// group-commit `fsync`) → poll → process → commit after processing, with
/// `partitions` partitions and as many consumers in one group.
pub fn log_scenario(messages: u64, partitions: u32) -> Scenario {
    assert!(messages > 0 && partitions > 0);
    let consumers: Vec<String> = (0..partitions)
        .map(|i| {
            format!(
                r#"{{ "kind": "log_consumer", "id": "c{i}", "topic": "t", "group.id": "bench",
                   "processing": {{ "fixed_ms": 0 }}, "enable.auto.commit": false, "commit": "after_processing",
                   "auto.offset.reset": "earliest", "max.poll.records": 500 }}"#
            )
        })
        .collect();
    let json = format!(
        r#"{{ "name": "bench-log", "seed": 42, "duration_ms": {duration},
        "broker": {{ "kind": "log", "topics": [ {{ "name": "t", "partitions": {partitions} }} ], "fsync_latency_ms": 2 }},
        "network": {{ "latency_ms_min": 1, "latency_ms_max": 2 }},
        "clients": [
          {{ "kind": "log_producer", "id": "p1", "topic": "t", "keys": ["a", "b", "c", "d", "e", "f", "g", "h"],
             "rate_per_s": 100000, "count": {messages}, "acks": "all", "max.in.flight.requests": 10000 }},
          {consumers}
        ],
        "limits": {{ "events_max": {events}, "drain_ms": 1000 }}
      }}"#,
        duration = messages / 100 + 10_000,
        consumers = consumers.join(","),
        events = messages * 20 + 1_000_000,
    );
    Scenario::from_json(&json).expect("the log bench scenario is valid")
}

/// Runs the log workload; returns the number of records processed.
pub fn run_log(messages: u64, partitions: u32) -> u64 {
    run_counting(&log_scenario(messages, partitions), messages)
}

/// Producers of the cluster workload: the replication core's producers
/// keep one request in flight, so the load comes from several.
pub const CLUSTER_PRODUCERS: u64 = 16;

/// The cluster workload (issue 13): the replication core's harness
/// ([`crate::world::cluster::ClusterRun`]) with `brokers` brokers and
/// `replication.factor` = `brokers`, `acks=all`, [`CLUSTER_PRODUCERS`]
/// producers over 3 partitions. With one broker it is the same traffic
/// with nothing to replicate: the pair gives replication's cost.
pub fn cluster_scenario(brokers: u8, messages: u64) -> Scenario {
    assert!(messages >= CLUSTER_PRODUCERS && (1..=5).contains(&brokers));
    let each = messages / CLUSTER_PRODUCERS;
    let producers: Vec<String> = (0..CLUSTER_PRODUCERS)
        .map(|i| {
            format!(
                r#"{{ "kind": "log_producer", "id": "p{i}", "topic": "t", "interval_ms": 1, "count": {each},
                   "acks": "all", "retries": 1000, "max.in.flight.requests": 1 }}"#
            )
        })
        .collect();
    let json = format!(
        r#"{{ "name": "bench-cluster", "seed": 42, "duration_ms": {duration},
        "broker": {{ "kind": "log", "topics": [ {{ "name": "t", "partitions": 3 }} ], "fsync_latency_ms": 2,
          "cluster": {{ "brokers": {brokers}, "replication.factor": {brokers}, "min.insync.replicas": {min},
            "replica.fetch.wait.max.ms": 5 }} }},
        "network": {{ "latency_ms_min": 1, "latency_ms_max": 2 }},
        "clients": [ {producers} ],
        "limits": {{ "events_max": {events}, "drain_ms": 1000 }}
      }}"#,
        min = brokers.min(2),
        // One in flight, acks=all: at worst ~20 ms a record per producer.
        duration = each * 20 + 10_000,
        producers = producers.join(","),
        events = messages * 60 + 1_000_000,
    );
    Scenario::cluster_from_json(&json).expect("the cluster bench scenario is valid")
}

/// Runs the cluster workload; returns the records acknowledged, checked
/// to be every one, with none lost (the replication checker).
pub fn run_cluster(brokers: u8, messages: u64) -> u64 {
    let scenario = cluster_scenario(brokers, messages);
    let mut run = crate::world::cluster::ClusterRun::new(&scenario).expect("valid");
    run.run_until(scenario.duration_ms)
        .expect("the bench stays within its bounds");
    let acked = run.acks().len() as u64;
    let sent = messages / CLUSTER_PRODUCERS * CLUSTER_PRODUCERS;
    assert_eq!(
        acked, sent,
        "every record of the cluster bench is acknowledged"
    );
    acked
}

/// Messages per workload in the guarantee-cost benchmark, the same natively
/// (`brokerlab bench --guarantees`) and in the browser (`tests/web_bench_guarantees.rs`).
pub const GUARANTEE_MESSAGES: u64 = 50_000;
/// Producers in a guarantee workload, each with its own keys.
pub const GUARANTEE_PRODUCERS: u64 = 8;
/// `max.in.flight.requests` of every producer in a guarantee workload: Kafka's
/// default and the most `enable.idempotence` allows. The same for every
/// guarantee, so the numbers compare the guarantees, not the window.
const GUARANTEE_IN_FLIGHT: u32 = 5;

/// The broker a guarantee workload runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchBroker {
    /// The queue broker (RabbitMQ semantics).
    Queue,
    /// The log broker (Kafka semantics).
    Log,
}

impl BenchBroker {
    /// Both brokers, in the order the benchmark prints them.
    pub const ALL: [BenchBroker; 2] = [BenchBroker::Log, BenchBroker::Queue];

    /// The name the benchmark prints (`queue`, `log`).
    pub fn name(self) -> &'static str {
        match self {
            BenchBroker::Queue => "queue",
            BenchBroker::Log => "log",
        }
    }

    /// The guarantees measured on this broker: every one on the log; the
    /// queue broker has no transactions (see [`crate::guarantee::txn`]).
    pub fn guarantees(self) -> &'static [Guarantee] {
        match self {
            BenchBroker::Log => &Guarantee::ALL,
            BenchBroker::Queue => &Guarantee::ALL[..3],
        }
    }
}

/// The guarantee workload: `messages` records from eight producers into four
/// partitions (or one queue) read by four consumers, with `g` applied by the
/// one guarantee setting ([`crate::guarantee::apply`] through `World::new`).
/// Under `exactly_once_transactional` the consumers become read-process-write
/// clients into `t.out` and a `read_committed` sink reads that topic.
pub fn guarantee_scenario(broker: BenchBroker, g: Guarantee, messages: u64) -> Scenario {
    assert!(messages >= GUARANTEE_PRODUCERS && messages.is_multiple_of(GUARANTEE_PRODUCERS));
    assert!(
        broker.guarantees().contains(&g),
        "{} on {}",
        g.name(),
        broker.name()
    );
    let count = messages / GUARANTEE_PRODUCERS;
    let producer = |i: u64| match broker {
        BenchBroker::Log => format!(
            r#"{{ "kind": "log_producer", "id": "p{i}", "topic": "t", "keys": ["a{i}", "b{i}", "c{i}"],
               "rate_per_s": 100000, "count": {count}, "max.in.flight.requests": {GUARANTEE_IN_FLIGHT} }}"#
        ),
        BenchBroker::Queue => format!(
            r#"{{ "kind": "producer", "id": "p{i}", "routing_key": "t", "keys": ["a{i}", "b{i}", "c{i}"],
               "rate_per_s": 100000, "count": {count}, "confirms": {{ "timeout_ms": 1000, "window": {GUARANTEE_IN_FLIGHT} }} }}"#
        ),
    };
    let consumer = |i: u64| match broker {
        BenchBroker::Log => format!(
            r#"{{ "kind": "log_consumer", "id": "c{i}", "topic": "t", "group.id": "bench",
               "processing": {{ "fixed_ms": 0 }}, "auto.offset.reset": "earliest", "max.poll.records": 500 }}"#
        ),
        BenchBroker::Queue => format!(
            r#"{{ "kind": "consumer", "id": "c{i}", "queue": "t", "prefetch": 50, "processing": {{ "fixed_ms": 0 }} }}"#
        ),
    };
    let broker_json = match broker {
        BenchBroker::Log => {
            r#"{ "kind": "log", "topics": [ { "name": "t", "partitions": 4 } ], "fsync_latency_ms": 2 }"#
        }
        BenchBroker::Queue => r#"{ "kind": "queue", "queues": [ { "name": "t" } ] }"#,
    };
    let clients: Vec<String> = (1..=GUARANTEE_PRODUCERS)
        .map(producer)
        .chain((1..=4).map(consumer))
        .collect();
    let json = format!(
        r#"{{ "name": "bench-{broker_name}-{g}", "seed": 42, "duration_ms": {duration},
        "guarantee": "{g}", "broker": {broker_json},
        "network": {{ "latency_ms_min": 1, "latency_ms_max": 2 }},
        "clients": [ {clients} ],
        "limits": {{ "events_max": {events}, "drain_ms": {drain} }} }}"#,
        broker_name = broker.name(),
        g = g.name(),
        clients = clients.join(","),
        // Each producer sends about 5 records per round trip (~5 ms); the
        // transactional sink processes one record per ms on its own.
        duration = messages + 10_000,
        drain = messages + 10_000,
        events = messages * 60 + 1_000_000,
    );
    Scenario::from_json(&json).expect("the guarantee bench scenario is valid")
}

/// One measured guarantee workload.
#[derive(Clone, Debug, PartialEq)]
pub struct GuaranteeRun {
    /// The broker it ran on.
    pub broker: BenchBroker,
    /// The guarantee that set the clients' knobs.
    pub guarantee: Guarantee,
    /// Messages the producers published.
    pub messages: u64,
    /// Effects applied: what the consumers (the sink, under transactions) processed.
    pub effects: u64,
    /// Wall-clock seconds to build and run the world (the scenario text excluded).
    pub seconds: f64,
}

impl GuaranteeRun {
    /// Throughput: published messages per wall-clock second.
    pub fn msgs_per_s(&self) -> f64 {
        self.messages as f64 / self.seconds.max(1e-6)
    }
}

/// Runs one workload, timing the simulation only with `clock_s` (seconds from
/// any origin: the caller's platform clock), then checks it delivered what
/// `g` promises. The run has no faults, so every guarantee must process every
/// message, and all but at least once must process none twice; a workload
/// that falls short panics instead of printing a fast number.
pub fn run_guarantee(
    broker: BenchBroker,
    g: Guarantee,
    messages: u64,
    clock_s: &mut dyn FnMut() -> f64,
) -> GuaranteeRun {
    let (world, seconds) = time_guarantee(broker, g, messages, clock_s);
    let effects = sink_effects(&world, g);
    check_guarantee_run(&world, g, messages, effects);
    GuaranteeRun {
        broker,
        guarantee: g,
        messages,
        effects,
        seconds,
    }
}

/// Builds and runs one workload; the seconds cover only that.
fn time_guarantee(
    broker: BenchBroker,
    g: Guarantee,
    messages: u64,
    clock_s: &mut dyn FnMut() -> f64,
) -> (World, f64) {
    let scenario = guarantee_scenario(broker, g, messages);
    let start = clock_s();
    let mut world = World::new(&scenario);
    world
        .finish()
        .expect("the guarantee bench stays within its bounds");
    (world, clock_s() - start)
}

/// What the end of the pipeline processed: the consumers, or under
/// transactions the `read_committed` sinks of the output topic (the
/// read-process-write clients' own processing is not yet an effect).
fn sink_effects(world: &World, g: Guarantee) -> u64 {
    let sink = |id: &str| id.ends_with(".sink");
    world
        .clients()
        .iter()
        .filter(|c| !c.is_producer)
        .filter(|c| g != Guarantee::ExactlyOnceTransactional || sink(&c.id))
        .map(|c| c.count)
        .sum()
}

fn check_guarantee_run(world: &World, g: Guarantee, messages: u64, effects: u64) {
    let summary = world.summary();
    let c = &summary.counts;
    let what = format!(
        "guarantee bench ({}, seed 42, {messages} messages; reproduce with `brokerlab bench --guarantees --messages {messages}`)",
        g.name()
    );
    let verdict = crate::check::guarantee::judge(g, &summary);
    assert!(verdict.holds, "{what}: {}", verdict.text);
    assert!(summary.ok, "{what}: {:?}", summary.violations);
    assert_eq!(c.lost, 0, "{what}: no faults, nothing may be lost");
    // Under transactions a message is processed twice over, by two stages:
    // the read-process-write client reads it and writes a new record (its own
    // message id) to the output topic, which the sink processes.
    let stages = if g == Guarantee::ExactlyOnceTransactional {
        2
    } else {
        1
    };
    assert_eq!(
        c.processed,
        messages * stages,
        "{what}: every message processed by every stage"
    );
    if g == Guarantee::AtLeastOnce {
        assert!(effects >= messages, "{what}: {effects} effects");
    } else {
        assert_eq!(c.duplicated, 0, "{what}: none processed twice");
        assert_eq!(effects, messages, "{what}: one effect per message");
    }
}

/// Every (broker, guarantee) workload, in the same run, as JSON lines with
/// msgs/s and the ratio to at least once on the same broker.
pub fn guarantee_lines(
    platform: &str,
    messages: u64,
    clock_s: &mut dyn FnMut() -> f64,
) -> Vec<String> {
    let mut lines = Vec::new();
    for broker in BenchBroker::ALL {
        let runs: Vec<GuaranteeRun> = broker
            .guarantees()
            .iter()
            .map(|&g| {
                let mut run = run_guarantee(broker, g, messages, clock_s);
                // The same seed gives the same run, checked above: the
                // repeats only time it again.
                for _ in 1..GUARANTEE_REPEATS {
                    let seconds = time_guarantee(broker, g, messages, clock_s).1;
                    run.seconds = run.seconds.min(seconds);
                }
                run
            })
            .collect();
        let baseline = runs
            .iter()
            .find(|r| r.guarantee == Guarantee::AtLeastOnce)
            .expect("every broker measures at least once")
            .msgs_per_s();
        lines.extend(runs.iter().map(|r| guarantee_line(platform, r, baseline)));
    }
    lines
}

/// Times each guarantee workload is run; the fastest counts, since other
/// work on the machine only ever adds time.
pub const GUARANTEE_REPEATS: u32 = 3;

fn guarantee_line(platform: &str, r: &GuaranteeRun, baseline_msgs_per_s: f64) -> String {
    format!(
        "{{\"bench\":\"guarantee\",\"platform\":\"{platform}\",\"broker\":\"{}\",\"guarantee\":\"{}\",\"messages\":{},\"effects\":{},\"seconds\":{:.3},\"msgs_per_s\":{:.0},\"vs_at_least_once\":{:.2}}}",
        r.broker.name(),
        r.guarantee.name(),
        r.messages,
        r.effects,
        r.seconds,
        r.msgs_per_s(),
        r.msgs_per_s() / baseline_msgs_per_s,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workload that falls short must not print a number: here the
    /// consumers are gone, so nothing is processed and the check panics.
    #[test]
    #[should_panic(expected = "every message processed")]
    fn a_workload_that_processes_nothing_fails_its_check() {
        let g = Guarantee::AtMostOnce;
        let mut s = guarantee_scenario(BenchBroker::Queue, g, 80);
        s.clients
            .retain(|c| matches!(c, crate::config::ClientSpec::Producer(_)));
        let mut world = World::new(&s);
        world.finish().unwrap();
        check_guarantee_run(&world, g, 80, sink_effects(&world, g));
    }
}
