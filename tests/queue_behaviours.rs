//! One test per broker behaviour the issue names, each on a scenario file from
//! `scenarios/` (what a learner can run) or directly on the broker state machine.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::broker::queue::QueueBroker;
use brokerlab::broker::{
    DeadLetterReason, Delivery, Message, MsgId, Note, Output, Properties, Request, ReturnReason,
    Target,
};
use brokerlab::config::{BrokerSpec, ClientSpec, Scenario};
use brokerlab::history::{Entry, HistoryEvent, OpType};
use brokerlab::world::{Step, World};
use std::collections::{BTreeMap, BTreeSet};

fn scenario(file: &str) -> Scenario {
    let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    Scenario::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn finished(s: &Scenario) -> World {
    let mut world = World::new(s);
    world.run().expect("within bounds");
    world
}

fn deliveries(world: &World) -> Vec<(u64, Delivery)> {
    let mut out = Vec::new();
    for ev in world.history().events() {
        if let Entry::Deliver { delivery, .. } = ev.entry {
            out.push((ev.time_ms, delivery));
        }
    }
    out
}

fn notes(world: &World) -> Vec<(u64, Note)> {
    let mut out = Vec::new();
    for ev in world.history().events() {
        if let Entry::Broker(n) = ev.entry {
            out.push((ev.time_ms, n));
        }
    }
    out
}

#[test]
fn round_robin_with_a_slow_consumer_reorders_and_the_checker_says_why() {
    let world = finished(&scenario("round_robin_reorder.json"));
    let s = world.summary();
    assert_eq!(s.counts.processed, 40);
    assert_eq!(s.counts.lost, 0);
    assert!(
        s.counts.out_of_order >= 10,
        "every slow-consumer message is overtaken: {}",
        s.counts.out_of_order
    );
    let first = s
        .findings
        .iter()
        .find(|f| f.kind == "out_of_order")
        .expect("a reorder finding");
    assert_eq!(first.msgs, vec!["m2".to_string(), "m4".to_string()]);
    assert!(
        first.times_ms[0] > first.times_ms[1],
        "the earlier message finished later"
    );
    assert!(
        first
            .explanation
            .starts_with("round-robin gave m2 to c2 and m4 to c1"),
        "{}",
        first.explanation
    );
    // Round-robin alternates: consecutive first deliveries go to different consumers.
    let to: Vec<u32> = world
        .history()
        .events()
        .iter()
        .filter_map(|e| match e.entry {
            Entry::Deliver { to, .. } => Some(to),
            _ => None,
        })
        .take(2)
        .collect();
    assert_ne!(to[0], to[1]);
}

#[test]
fn prefetch_bounds_unacked_deliveries() {
    let mut world = World::new(&scenario("prefetch.json"));
    let (mut max_unacked, mut max_ready) = (0, 0);
    while let Step::Ran { .. } = world.step().unwrap() {
        let q = &world.broker().queue_views()[0];
        assert!(
            q.unacked.len() <= 3,
            "prefetch 3 exceeded at t={}: {:?}",
            world.now_ms(),
            q.unacked
        );
        max_unacked = max_unacked.max(q.unacked.len());
        max_ready = max_ready.max(q.ready.len());
    }
    assert_eq!(max_unacked, 3, "the consumer was kept full");
    assert!(
        max_ready >= 20,
        "the rest of the burst waited in the queue: {max_ready}"
    );
    let s = world.summary();
    assert_eq!(
        (
            s.counts.processed,
            s.counts.out_of_order,
            s.counts.duplicated
        ),
        (30, 0, 0)
    );
}

#[test]
fn an_ack_deletes_the_message_and_nothing_else_does() {
    let mut world = World::new(&scenario("ack_deletes.json"));
    let find =
        |w: &World, f: &dyn Fn(&HistoryEvent) -> bool| w.history().events().iter().position(f);
    let is_deliver = |e: &HistoryEvent| matches!(e.entry, Entry::Deliver { delivery, .. } if delivery.msg.id == 1);
    while find(&world, &is_deliver).is_none() {
        world.step().unwrap();
    }
    let q = &world.broker().queue_views()[0];
    assert_eq!(
        (q.ready.clone(), q.unacked.clone()),
        (vec![], vec![1]),
        "delivered = unacked, not deleted"
    );
    let is_processed = |e: &HistoryEvent| matches!(e.entry, Entry::Process { ty: OpType::Ok, delivery } if delivery.msg.id == 1);
    while find(&world, &is_processed).is_none() {
        world.step().unwrap();
    }
    assert_eq!(
        world.broker().queue_views()[0].unacked,
        vec![1],
        "processed but not yet acked: still held"
    );
    let is_delete =
        |e: &HistoryEvent| matches!(e.entry, Entry::Broker(Note::Deleted { msg: 1, .. }));
    while find(&world, &is_delete).is_none() {
        world.step().unwrap();
    }
    let ack_sent = find(&world, &|e| {
        matches!(e.entry, Entry::AckSent { msg: 1, .. })
    })
    .unwrap();
    assert!(ack_sent < find(&world, &is_delete).unwrap());
    assert!(world.broker().queue_views()[0].unacked.is_empty());
    world.run().unwrap();
    let s = world.summary();
    assert_eq!((s.counts.processed, s.counts.pending), (5, 0));
    assert_eq!(
        s.broker_identity,
        "enqueued 5 = deleted 5 + dead_lettered 0 + lost_in_crash 0 + held 0"
    );
}

/// A bare broker with one queue, for state-machine tests.
fn bare_broker() -> QueueBroker {
    let s = scenario("ack_deletes.json");
    let BrokerSpec::Queue(spec) = &s.broker else {
        panic!("a queue broker")
    };
    QueueBroker::from_spec(spec, &|_| None, &[], 1000)
}

fn msg(id: MsgId) -> Message {
    Message {
        id,
        producer: 9,
        seq: id,
        key: None,
        payload_bytes: 0,
    }
}

fn delivered(out: &[Output]) -> Vec<(u32, Delivery)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Deliver { to, delivery } => Some((*to, *delivery)),
            _ => None,
        })
        .collect()
}

#[test]
fn nack_with_requeue_restores_the_original_position() {
    let mut b = bare_broker();
    let mut out = Vec::new();
    for id in 1..=5 {
        b.handle(
            0,
            9,
            Request::Publish {
                target: Target::Queue(0),
                msg: msg(id),
                confirm: false,
                props: Properties::default(),
            },
            &mut out,
        );
    }
    out.clear();
    let consume = |prefetch| Request::Consume {
        queue: 0,
        prefetch,
        auto_ack: false,
        exclusive: false,
        window: 0,
    };
    b.handle(1, 1, consume(2), &mut out); // A gets m1, m2
    b.handle(1, 2, consume(1), &mut out); // B gets m3
    let got = delivered(&out);
    assert_eq!(
        got.iter().map(|(c, d)| (*c, d.msg.id)).collect::<Vec<_>>(),
        vec![(1, 1), (1, 2), (2, 3)]
    );
    assert_eq!(b.queue_views()[0].ready, vec![4, 5]);
    out.clear();
    // A nacks m2 with requeue: m2 goes back *ahead of* m4, so it is what A gets next.
    b.handle(
        2,
        1,
        Request::Nack {
            tag: got[1].1.tag,
            multiple: false,
            requeue: true,
        },
        &mut out,
    );
    let again = delivered(&out);
    assert_eq!(again.len(), 1);
    assert_eq!(
        (
            again[0].0,
            again[0].1.msg.id,
            again[0].1.redelivered,
            again[0].1.delivery_count
        ),
        (1, 2, true, 2)
    );
    assert!(out.contains(&Output::Note(Note::Requeued {
        msg: 2,
        queue: 0,
        reason: ReturnReason::Nack
    })));
    out.clear();
    // A's channel closes with m1 and m2 unacked; B is full: both return in order.
    b.handle(3, 1, Request::ChannelClosed, &mut out);
    assert_eq!(
        b.queue_views()[0].ready,
        vec![1, 2, 4, 5],
        "original positions restored"
    );
    assert!(delivered(&out).is_empty());
}

#[test]
fn nacked_messages_are_redelivered_next_in_the_scenario() {
    let world = finished(&scenario("nack_requeue.json"));
    let events = world.history().events();
    let mut checked = 0;
    for (i, e) in events.iter().enumerate() {
        if let Entry::Broker(Note::Requeued {
            msg,
            reason: ReturnReason::Nack,
            ..
        }) = e.entry
        {
            let next = events.iter_from(i).find_map(|e| match e.entry {
                Entry::Deliver { delivery, .. } => Some(delivery),
                _ => None,
            });
            let next = next.expect("the consumer has free prefetch after its nack");
            assert_eq!(
                next.msg.id, msg,
                "a requeued message goes to the head, at t={}",
                e.time_ms
            );
            assert!(next.redelivered && next.delivery_count >= 2);
            checked += 1;
        }
    }
    assert!(
        checked >= 3,
        "the scenario nacks several messages: {checked}"
    );
    let s = world.summary();
    assert_eq!(
        (s.counts.processed, s.counts.lost, s.counts.duplicated),
        (30, 0, 0)
    );
}

#[test]
fn a_consumer_crash_requeues_its_unacked_messages_with_the_redelivered_flag() {
    let world = finished(&scenario("consumer_crash_redelivery.json"));
    let requeued: BTreeSet<MsgId> = notes(&world)
        .into_iter()
        .filter_map(|(t, n)| match n {
            Note::Requeued {
                msg,
                reason: ReturnReason::ChannelClosed(2),
                ..
            } => {
                assert!(t >= 200, "requeued after the crash at t=200");
                Some(msg)
            }
            _ => None,
        })
        .collect();
    assert!(
        !requeued.is_empty(),
        "c2 held unacked deliveries when it crashed"
    );
    for id in &requeued {
        let redelivery = deliveries(&world)
            .into_iter()
            .find(|(_, d)| d.msg.id == *id && d.redelivered);
        let (t, d) = redelivery.expect("every requeued message is redelivered");
        assert!(
            t >= 200 && d.delivery_count == 2,
            "{id}: t={t} count={}",
            d.delivery_count
        );
    }
    let s = world.summary();
    assert_eq!((s.counts.lost, s.counts.processed), (0, 100));
    assert!(s.counts.redeliveries >= requeued.len() as u64);
    let why = s
        .findings
        .iter()
        .find(|f| f.explanation.contains("redelivered"))
        .expect("a reorder caused by the crash");
    assert!(
        why.explanation.contains("channel of c2 closed")
            && why.explanation.contains("c2 crashed at t=200"),
        "{}",
        why.explanation
    );
}

#[test]
fn the_visibility_timeout_expires_and_the_message_reappears() {
    let world = finished(&scenario("visibility_timeout.json"));
    let mut last_delivery: BTreeMap<MsgId, u64> = BTreeMap::new();
    let mut expiries = 0;
    for e in world.history().events() {
        match e.entry {
            Entry::Deliver { delivery, .. } => {
                last_delivery.insert(delivery.msg.id, e.time_ms);
            }
            Entry::Broker(Note::Requeued {
                msg,
                reason: ReturnReason::VisibilityTimeout,
                ..
            }) => {
                assert_eq!(
                    e.time_ms - last_delivery[&msg],
                    100,
                    "{msg} reappears exactly visibility_timeout_ms after its receive"
                );
                expiries += 1;
            }
            _ => {}
        }
    }
    assert!(expiries > 0);
    let receive_counts: Vec<u32> = deliveries(&world)
        .iter()
        .map(|(_, d)| d.delivery_count)
        .collect();
    assert!(
        receive_counts.iter().any(|&c| c >= 2),
        "ApproximateReceiveCount rises on a receive after expiry"
    );
    let s = world.summary();
    assert!(
        s.counts.duplicated > 0,
        "the slow first receiver still applied its copy"
    );
    assert_eq!(s.counts.lost, 0);
}

#[test]
fn the_dead_letter_queue_fills_after_the_delivery_limit() {
    let world = finished(&scenario("dead_letter_queue.json"));
    let poison: BTreeSet<MsgId> = (1..=40).filter(|id| (id - 1) % 4 == 3).collect();
    assert_eq!(poison.len(), 10);
    for id in &poison {
        let counts: Vec<(u32, Option<u32>)> = deliveries(&world)
            .iter()
            .filter(|(_, d)| d.msg.id == *id)
            .map(|(_, d)| (d.delivery_count, d.x_delivery_count))
            .collect();
        assert_eq!(
            counts,
            vec![(1, Some(0)), (2, Some(1)), (3, Some(2)), (4, Some(3))],
            "quorum x-delivery-limit 3: the first delivery and three redeliveries (x-delivery-count 0..=3), as RabbitMQ 3.10 does"
        );
    }
    let dead: BTreeSet<MsgId> = notes(&world)
        .into_iter()
        .filter_map(|(_, n)| match n {
            Note::DeadLettered {
                msg,
                from: 0,
                to: Some(1),
                reason: DeadLetterReason::DeliveryLimit,
            } => Some(msg),
            _ => None,
        })
        .collect();
    assert_eq!(dead, poison);
    let dlq = &world.broker().queue_views()[1];
    assert_eq!((dlq.name.as_str(), dlq.ready.len()), ("work.dlq", 10));
    let s = world.summary();
    assert_eq!(
        (s.counts.processed, s.counts.dead_lettered, s.counts.lost),
        (30, 10, 0)
    );
}

/// Builds a hot-key variant: most messages share one key.
fn hot_keys(mut s: Scenario) -> Scenario {
    for c in &mut s.clients {
        if let ClientSpec::Producer(p) = c {
            p.keys = ["alice", "alice", "alice", "alice", "alice", "bob"]
                .map(String::from)
                .to_vec();
        }
    }
    s
}

#[test]
fn fan_out_partitions_keep_per_key_order_at_a_measurable_cost() {
    let partitioned = finished(&scenario("fanout_partitions.json"));
    let shared = finished(&scenario("round_robin_keys.json"));
    let (p, r) = (partitioned.summary(), shared.summary());
    assert_eq!((p.counts.processed, r.counts.processed), (300, 300));
    assert_eq!(
        p.counts.out_of_order_per_key, 0,
        "one consumer per partition keeps each key in order"
    );
    assert!(
        r.counts.out_of_order_per_key > 0,
        "round-robin breaks per-key order"
    );
    // Each key is processed by exactly one consumer.
    let mut owner: BTreeMap<u32, u32> = BTreeMap::new();
    for e in partitioned.history().events() {
        if let (
            Entry::Process {
                ty: OpType::Ok,
                delivery,
            },
            brokerlab::history::Proc::Client(c),
        ) = (e.entry, e.process)
        {
            let key = delivery.msg.key.unwrap();
            assert_eq!(
                *owner.entry(key).or_insert(c),
                c,
                "a key moved between consumers"
            );
        }
    }
    // The cost: with a hot key, one partition does most of the work alone.
    let hot_p = finished(&hot_keys(scenario("fanout_partitions.json"))).summary();
    let hot_r = finished(&hot_keys(scenario("round_robin_keys.json"))).summary();
    assert_eq!(hot_p.counts.out_of_order_per_key, 0);
    assert!(
        hot_p.counts.last_processed_ms > hot_r.counts.last_processed_ms * 3 / 2,
        "partitioned {} ms vs shared {} ms",
        hot_p.counts.last_processed_ms,
        hot_r.counts.last_processed_ms
    );
    let idle = hot_p
        .consumer_busy_ms
        .values()
        .filter(|&&ms| ms == 0)
        .count();
    assert!(
        idle >= 1,
        "some partitions sit idle: {:?}",
        hot_p.consumer_busy_ms
    );
}

#[test]
fn a_broker_crash_loses_exactly_the_queued_and_unacked_messages() {
    let mut world = World::new(&scenario("broker_crash.json"));
    world.run_until(399).unwrap();
    let held: BTreeSet<MsgId> = world.broker().held().into_iter().map(|(_, m)| m).collect();
    let (ready, unacked) = {
        let q = &world.broker().queue_views()[0];
        (q.ready.len(), q.unacked.len())
    };
    assert!(
        ready > 0 && unacked > 0,
        "both kinds are held: ready {ready}, unacked {unacked}"
    );
    world.run_until(400).unwrap();
    let lost_in_crash: BTreeSet<MsgId> = notes(&world)
        .into_iter()
        .filter_map(|(_, n)| match n {
            Note::LostInCrash { msg, .. } => Some(msg),
            _ => None,
        })
        .collect();
    assert_eq!(lost_in_crash, held);
    assert!(
        world.broker().held().is_empty(),
        "nothing survives in memory"
    );
    world.run().unwrap();
    let processed: BTreeSet<MsgId> = world
        .history()
        .events()
        .iter()
        .filter_map(|e| match e.entry {
            Entry::Process {
                ty: OpType::Ok,
                delivery,
            } => Some(delivery.msg.id),
            _ => None,
        })
        .collect();
    let s = world.summary();
    let expected_lost = held.iter().filter(|m| !processed.contains(m)).count() as u64;
    assert!(expected_lost > 0);
    assert_eq!(
        (s.counts.transient_lost, s.counts.lost),
        (expected_lost, 0),
        "transient_lost = crashed-away transient messages that nobody processed"
    );
    let lost = s
        .findings
        .iter()
        .find(|f| f.kind == "transient_lost")
        .unwrap();
    assert!(
        lost.explanation
            .contains("when the broker crashed at t=400: it was transient"),
        "{}",
        lost.explanation
    );
    assert!(s.ok, "an expected loss is no violation: {:?}", s.violations);
}

#[test]
fn fanout_exchange_copies_to_every_bound_queue() {
    let world = finished(&scenario("fanout_exchange.json"));
    let s = world.summary();
    assert_eq!(
        (
            s.counts.published,
            s.counts.processed_total,
            s.counts.duplicated
        ),
        (20, 40, 0)
    );
    let per_client: BTreeMap<String, u64> = world
        .clients()
        .into_iter()
        .map(|c| (c.id, c.count))
        .collect();
    assert_eq!((per_client["billing"], per_client["audit"]), (20, 20));
}

#[test]
fn auto_ack_loses_the_consumer_buffer_on_a_crash() {
    let world = finished(&scenario("auto_ack_loss.json"));
    let s = world.summary();
    assert!(
        s.counts.lost > 0 && s.counts.duplicated == 0,
        "{:?}",
        s.counts
    );
    assert_eq!(s.counts.processed + s.counts.lost, 200);
    let f = s.findings.iter().find(|f| f.kind == "lost").unwrap();
    assert!(
        f.explanation.contains("c1 crashed at t=150"),
        "{}",
        f.explanation
    );
}

#[test]
fn dropped_confirms_make_retries_that_duplicate() {
    let world = finished(&scenario("confirm_retry_duplicates.json"));
    let s = world.summary();
    assert!(s.counts.publish_retries > 0 && s.counts.duplicated > 0);
    assert_eq!((s.counts.lost, s.counts.processed), (0, 100));
    let dup = s.findings.iter().find(|f| f.kind == "duplicated").unwrap();
    assert!(
        dup.explanation.contains("re-published"),
        "{}",
        dup.explanation
    );
}
