//! Message properties and the routing that reads them: `headers` exchanges
//! (`x-match` all / any), per-message `expiration` and `consumer_timeout`
//! (RabbitMQ 3.10), SQS FIFO `MessageGroupId`, and the scenario errors for
//! what RabbitMQ or SQS would refuse.
//! `tests/rabbitmq_fidelity.rs` compares the same behaviours with a real
//! RabbitMQ step by step.

use brokerlab::broker::queue::QueueBroker;
use brokerlab::broker::{
    ClientId, DeadLetterReason, DeliveryTag, KeyId, Message, MsgId, Note, Output, Properties,
    QueueId, Request, Target,
};
use brokerlab::config::{QueueBrokerSpec, QueueMode, QueueSpec, Scenario};
use brokerlab::history::Entry;
use brokerlab::world::World;
use std::collections::BTreeMap;

/// A queue-broker scenario from its `broker` and `clients` JSON.
fn scenario(broker: &str, clients: &str) -> Result<Scenario, String> {
    let text = format!(
        r#"{{ "name": "t", "seed": 1, "duration_ms": 2000,
             "broker": {broker}, "clients": {clients} }}"#
    );
    Scenario::from_json(&text).map_err(|e| e.to_string())
}

fn notes(world: &World) -> Vec<(u64, Note)> {
    let events = world.history().events();
    let notes = events.iter().filter_map(|ev| match ev.entry {
        Entry::Broker(n) => Some((ev.time_ms, n)),
        _ => None,
    });
    notes.collect()
}

/// How many messages entered each queue (by id).
fn enqueued_per_queue(world: &World) -> BTreeMap<QueueId, u64> {
    let mut per = BTreeMap::new();
    for (_, n) in notes(world) {
        if let Note::Enqueued { queue, .. } = n {
            *per.entry(queue).or_default() += 1;
        }
    }
    per
}

const HEADERS_BROKER: &str = r#"{ "kind": "queue",
  "queues": [ { "name": "pdf_reports" }, { "name": "anything_pdf" }, { "name": "all" } ],
  "exchanges": [ { "name": "docs", "type": "headers", "bindings": [
    { "queue": "pdf_reports", "arguments": { "format": "pdf", "type": "report" } },
    { "queue": "anything_pdf", "arguments": { "x-match": "any", "format": "pdf", "type": "nothing" } },
    { "queue": "all", "arguments": { "x-match": "all", "x-tenant": "a" } } ] } ] }"#;

#[test]
fn a_headers_exchange_routes_by_all_or_any_of_the_binding_arguments() {
    let clients = r#"[
      { "kind": "producer", "id": "reports", "exchange": "docs", "interval_ms": 10, "count": 5,
        "headers": { "format": "pdf", "type": "report" } },
      { "kind": "producer", "id": "invoices", "exchange": "docs", "interval_ms": 10, "count": 3,
        "headers": { "format": "pdf", "type": "invoice" } },
      { "kind": "producer", "id": "plain", "exchange": "docs", "interval_ms": 10, "count": 2 } ]"#;
    let s = scenario(HEADERS_BROKER, clients).unwrap();
    let mut world = World::new(&s);
    world.run().unwrap();
    let per = enqueued_per_queue(&world);
    // all: only the reports; any: every pdf; `x-tenant` is left out of the
    // match, so the binding with nothing else to compare takes everything.
    assert_eq!(per, BTreeMap::from([(0, 5), (1, 8), (2, 10)]));
}

#[test]
fn a_producer_added_mid_run_brings_its_headers() {
    let clients = r#"[ { "kind": "producer", "id": "plain", "exchange": "docs", "interval_ms": 10, "count": 2 } ]"#;
    let s = scenario(HEADERS_BROKER, clients).unwrap();
    let mut world = World::new(&s);
    world.run_until(100).unwrap();
    let late = r#"{ "kind": "producer", "id": "late", "exchange": "docs", "interval_ms": 10,
      "count": 4, "headers": { "format": "pdf", "type": "report" } }"#;
    world
        .add_client(serde_json::from_str(late).unwrap())
        .unwrap();
    world.run().unwrap();
    assert_eq!(
        enqueued_per_queue(&world),
        BTreeMap::from([(0, 4), (1, 4), (2, 6)])
    );
}

/// Header values keep their JSON type, and a binding matches only the same
/// type (the fidelity experiment `headers_values_are_typed` is the same
/// check against a real RabbitMQ).
#[test]
fn header_values_match_only_values_of_their_type() {
    let broker = r#"{ "kind": "queue",
      "queues": [ { "name": "text_1" }, { "name": "int_1" }, { "name": "bool_true" } ],
      "exchanges": [ { "name": "h", "type": "headers", "bindings": [
        { "queue": "text_1", "arguments": { "n": "1" } },
        { "queue": "int_1", "arguments": { "n": 1 } },
        { "queue": "bool_true", "arguments": { "x-match": "any", "n": true, "flag": true } } ] } ] }"#;
    let producer = |id: &str, headers: &str| {
        format!(
            r#"{{ "kind": "producer", "id": "{id}", "exchange": "h", "interval_ms": 10,
                 "count": 2, "headers": {headers} }}"#
        )
    };
    let clients = [
        producer("text", r#"{ "n": "1" }"#),
        producer("int", r#"{ "n": 1 }"#),
        producer("flag", r#"{ "flag": true, "n": "true" }"#),
    ];
    let s = scenario(broker, &format!("[{}]", clients.join(","))).unwrap();
    let mut world = World::new(&s);
    world.run().unwrap();
    let per = enqueued_per_queue(&world);
    assert_eq!(per, BTreeMap::from([(0, 2), (1, 2), (2, 2)]));
}

#[test]
fn a_header_value_that_is_not_text_an_integer_or_a_boolean_is_refused() {
    let queue = r#"{ "kind": "queue", "queues": [ { "name": "q" } ] }"#;
    for (value, what) in [
        ("1.5", "floating point"),
        ("null", "null"),
        ("[1]", "sequence"),
    ] {
        let clients = format!(
            r#"[ {{ "kind": "producer", "id": "p", "routing_key": "q", "interval_ms": 10,
                  "count": 1, "headers": {{ "n": {value} }} }} ]"#
        );
        let e = scenario(queue, &clients).unwrap_err();
        assert!(
            e.contains("clients[0]")
                && e.contains(what)
                && e.contains("text, an integer or a boolean"),
            "{value}: {e}"
        );
    }
    let typed_x_match = HEADERS_BROKER.replace(r#""x-match": "any""#, r#""x-match": 1"#);
    let producer = r#"[ { "kind": "producer", "id": "p", "exchange": "docs", "interval_ms": 10, "count": 1 } ]"#;
    let e = scenario(&typed_x_match, producer).unwrap_err();
    assert!(
        e.contains("bindings[1].arguments.x-match") && e.contains("the text all"),
        "{e}"
    );
}

#[test]
fn a_message_expires_at_the_head_after_the_lower_of_its_expiration_and_the_queue_ttl() {
    let broker = r#"{ "kind": "queue", "queues": [
      { "name": "short_ttl", "message_ttl_ms": 100, "dead_letter_queue": "dlq" },
      { "name": "long_ttl", "message_ttl_ms": 100000, "dead_letter_queue": "dlq" },
      { "name": "dlq" } ] }"#;
    let clients = r#"[
      { "kind": "producer", "id": "a", "routing_key": "short_ttl", "interval_ms": 1000, "count": 1,
        "expiration_ms": 50000 },
      { "kind": "producer", "id": "b", "routing_key": "long_ttl", "interval_ms": 1000, "count": 1,
        "expiration_ms": 30 } ]"#;
    let s = scenario(broker, clients).unwrap();
    let mut world = World::new(&s);
    world.run().unwrap();
    let expired: Vec<(u64, QueueId, Option<QueueId>)> = notes(&world)
        .into_iter()
        .filter_map(|(t, n)| match n {
            Note::DeadLettered {
                from,
                to,
                reason: DeadLetterReason::Expired,
                ..
            } => Some((t, from, to)),
            _ => None,
        })
        .collect();
    // Both arrive at 1 ms: b's own 30 ms beats its queue's TTL, a's queue's
    // 100 ms beats its own 50 s. Neither expires again in the dead-letter
    // queue: RabbitMQ removes `expiration` when it dead-letters.
    assert_eq!(expired, vec![(31, 1, Some(2)), (101, 0, Some(2))]);
}

#[test]
fn what_rabbitmq_would_refuse_is_an_error_naming_the_field() {
    let bad_x_match = HEADERS_BROKER.replace(r#""x-match": "any""#, r#""x-match": "some""#);
    let producer = r#"[ { "kind": "producer", "id": "p", "exchange": "docs", "interval_ms": 10, "count": 1 } ]"#;
    let e = scenario(&bad_x_match, producer).unwrap_err();
    assert!(
        e.contains("broker.exchanges[0].bindings[1].arguments.x-match") && e.contains("some"),
        "{e}"
    );

    let direct = r#"{ "kind": "queue", "queues": [ { "name": "q" } ], "exchanges": [
      { "name": "d", "type": "direct", "bindings": [
        { "queue": "q", "routing_key": "k", "arguments": { "format": "pdf" } } ] } ] }"#;
    let e = scenario(direct, producer.replace("docs", "d").as_str()).unwrap_err();
    assert!(
        e.contains("broker.exchanges[0].bindings[0].arguments"),
        "{e}"
    );

    let queue = r#"{ "kind": "queue", "queues": [ { "name": "q" } ] }"#;
    let negative = r#"[ { "kind": "producer", "id": "p", "routing_key": "q", "interval_ms": 10,
      "count": 1, "expiration_ms": -5 } ]"#;
    let e = scenario(queue, negative).unwrap_err();
    assert!(e.contains("clients[0].expiration_ms"), "{e}");

    let sqs = r#"{ "kind": "queue", "mode": "sqs", "queues": [ { "name": "q", "visibility_timeout_ms": 100 } ] }"#;
    let with_headers = r#"[ { "kind": "producer", "id": "p", "routing_key": "q", "interval_ms": 10,
      "count": 1, "headers": { "a": "b" } } ]"#;
    let e = scenario(sqs, with_headers).unwrap_err();
    assert!(e.contains("clients[0].headers") && e.contains("sqs"), "{e}");
}

#[test]
fn consumer_timeout_closes_a_slow_consumers_channel_at_its_tick_and_requeues() {
    let broker = r#"{ "kind": "queue", "consumer_timeout_ms": 1000, "channel_tick_interval_ms": 300,
      "queues": [ { "name": "q" } ] }"#;
    let clients = r#"[
      { "kind": "producer", "id": "p", "routing_key": "q", "interval_ms": 10, "count": 1 },
      { "kind": "consumer", "id": "slow", "queue": "q", "prefetch": 1,
        "processing": { "fixed_ms": 1500 } } ]"#;
    let s = scenario(broker, clients).unwrap();
    let mut world = World::new(&s);
    world.run().unwrap();
    let closes: Vec<u64> = notes(&world)
        .into_iter()
        .filter_map(|(t, n)| match n {
            Note::ChannelError { code: 406, .. } => Some(t),
            _ => None,
        })
        .collect();
    // Delivered at 2 ms on a channel opened at 1 ms: the tick at 1201 ms is
    // the first to find it more than 1000 ms old (the run ends before the
    // redelivery's own timeout).
    assert_eq!(closes, vec![1201]);
    let redelivered = world
        .history()
        .events()
        .iter()
        .any(|ev| matches!(ev.entry, Entry::Deliver { delivery, .. } if delivery.redelivered));
    assert!(redelivered, "the requeued message comes back redelivered");
}

#[test]
fn consumer_timeout_errors_name_the_field() {
    let clients = r#"[ { "kind": "producer", "id": "p", "routing_key": "q", "interval_ms": 10, "count": 1 } ]"#;
    let zero = r#"{ "kind": "queue", "consumer_timeout_ms": 0, "queues": [ { "name": "q" } ] }"#;
    let e = scenario(zero, clients).unwrap_err();
    assert!(e.contains("broker.consumer_timeout_ms"), "{e}");
    let sqs = r#"{ "kind": "queue", "mode": "sqs", "consumer_timeout_ms": 5000,
      "queues": [ { "name": "q", "visibility_timeout_ms": 100 } ] }"#;
    let e = scenario(sqs, clients).unwrap_err();
    assert!(
        e.contains("broker.consumer_timeout_ms") && e.contains("visibility"),
        "{e}"
    );
    let tick_alone =
        r#"{ "kind": "queue", "channel_tick_interval_ms": 100, "queues": [ { "name": "q" } ] }"#;
    let e = scenario(tick_alone, clients).unwrap_err();
    assert!(e.contains("broker.channel_tick_interval_ms"), "{e}");
}

/// An SQS broker with one FIFO queue `q.fifo` (visibility timeout 1 s).
fn fifo_broker() -> QueueBroker {
    let spec = QueueBrokerSpec {
        mode: QueueMode::Sqs,
        queues: vec![QueueSpec {
            fifo: true,
            visibility_timeout_ms: Some(1000),
            ..QueueSpec::named("q.fifo".into())
        }],
        exchanges: Vec::new(),
        fsync_latency_ms: 0,
        consumer_timeout_ms: None,
        channel_tick_interval_ms: None,
    };
    QueueBroker::from_spec(&spec, &|_| None, &[], 1000)
}

fn send(b: &mut QueueBroker, now_ms: u64, id: MsgId, group: KeyId, out: &mut Vec<Output>) {
    let msg = Message {
        id,
        producer: 9,
        seq: id,
        key: Some(group),
        payload_bytes: 0,
    };
    let req = Request::Publish {
        target: Target::Queue(0),
        msg,
        confirm: false,
        props: Properties::default(),
    };
    b.handle(now_ms, 9, req, out);
}

/// (consumer, message id) of every push in `out`.
fn pushes(out: &[Output]) -> Vec<(ClientId, MsgId, DeliveryTag)> {
    let pushed = out.iter().filter_map(|o| match o {
        Output::Deliver { to, delivery } => Some((*to, delivery.msg.id, delivery.tag)),
        _ => None,
    });
    pushed.collect()
}

#[test]
fn an_sqs_fifo_group_has_one_message_in_flight_and_keeps_its_order() {
    let mut b = fifo_broker();
    let mut out = Vec::new();
    for c in [1, 2] {
        let consume = Request::Consume {
            queue: 0,
            prefetch: 5,
            auto_ack: false,
            exclusive: false,
            window: 0,
        };
        b.handle(0, c, consume, &mut out);
    }
    // Group 0: messages 1, 2, 3; group 1: messages 4, 5.
    for (id, group) in [(1, 0), (2, 0), (3, 0), (4, 1), (5, 1)] {
        send(&mut b, 0, id, group, &mut out);
    }
    let first = pushes(&out);
    let ids: Vec<(ClientId, MsgId)> = first.iter().map(|&(c, m, _)| (c, m)).collect();
    assert_eq!(ids, vec![(1, 1), (2, 4)], "one message per group in flight");
    // c1 deletes message 1: message 2 of its group goes out, nothing of group 1.
    out.clear();
    let ack = Request::Ack {
        tag: first[0].2,
        multiple: false,
    };
    b.handle(10, 1, ack, &mut out);
    let second = pushes(&out);
    assert_eq!(second.iter().map(|p| p.1).collect::<Vec<_>>(), vec![2]);
    // Nobody deletes: after the visibility timeout both come back to their
    // places and go out again first, each still alone in its group.
    out.clear();
    b.tick(1010, &mut out);
    let again: Vec<MsgId> = pushes(&out).iter().map(|p| p.1).collect();
    assert_eq!(again, vec![2, 4], "returned to their positions: {again:?}");
}

#[test]
fn sqs_fifo_errors_name_the_field() {
    let queue = |name: &str, extra: &str| {
        format!(
            r#"{{ "kind": "queue", "mode": "sqs", "queues": [
          {{ "name": "{name}", "visibility_timeout_ms": 100, "fifo": true {extra} }},
          {{ "name": "dlq", "visibility_timeout_ms": 100 }} ] }}"#
        )
    };
    let keyed = r#"[ { "kind": "producer", "id": "p", "routing_key": "q.fifo", "keys": ["a"],
      "interval_ms": 10, "count": 1 } ]"#;
    let e = scenario(&queue("q", ""), &keyed.replace("q.fifo", "q")).unwrap_err();
    assert!(
        e.contains("broker.queues[0].name") && e.contains(".fifo"),
        "{e}"
    );
    let e = scenario(&queue("q.fifo", r#", "dead_letter_queue": "dlq""#), keyed).unwrap_err();
    assert!(e.contains("broker.queues[0].dead_letter_queue"), "{e}");
    let unkeyed = keyed.replace(r#""keys": ["a"],"#, "");
    let e = scenario(&queue("q.fifo", ""), &unkeyed).unwrap_err();
    assert!(
        e.contains("clients[0].keys") && e.contains("MessageGroupId"),
        "{e}"
    );
    scenario(&queue("q.fifo", ""), keyed).expect("a keyed producer on a FIFO queue is fine");
    let rabbit = r#"{ "kind": "queue", "queues": [ { "name": "q.fifo", "fifo": true } ] }"#;
    let e = scenario(rabbit, keyed).unwrap_err();
    assert!(e.contains("broker.queues[0].fifo"), "{e}");
}

#[test]
fn two_consumers_never_hold_one_sqs_fifo_groups_messages_at_once() {
    let broker = r#"{ "kind": "queue", "mode": "sqs", "queues": [
      { "name": "orders.fifo", "fifo": true, "visibility_timeout_ms": 50 } ] }"#;
    let clients = r#"[
      { "kind": "producer", "id": "p", "routing_key": "orders.fifo", "keys": ["alice", "bob", "carol"],
        "interval_ms": 2, "count": 60 },
      { "kind": "consumer", "id": "c1", "queue": "orders.fifo", "prefetch": 3,
        "processing": { "fixed_ms": 5 }, "fail_probability": 0.2 },
      { "kind": "consumer", "id": "c2", "queue": "orders.fifo", "prefetch": 3,
        "processing": { "fixed_ms": 7 } } ]"#;
    let s = scenario(broker, clients).unwrap();
    let mut world = World::new(&s);
    world.run().unwrap();
    // Group (key) -> the message of it in flight, from delivery to delete or return.
    let mut in_flight: BTreeMap<Option<KeyId>, MsgId> = BTreeMap::new();
    let mut last_seq: BTreeMap<Option<KeyId>, u64> = BTreeMap::new();
    let mut deliveries = 0;
    for ev in world.history().events() {
        match ev.entry {
            Entry::Deliver { delivery, .. } => {
                let group = delivery.msg.key;
                let held = in_flight.insert(group, delivery.msg.id);
                assert_eq!(
                    held, None,
                    "{group:?} had {held:?} in flight at {}",
                    ev.time_ms
                );
                let seq = delivery.msg.seq;
                let last = last_seq.insert(group, seq);
                assert!(last.is_none_or(|l| l <= seq), "{group:?} out of order");
                deliveries += 1;
            }
            Entry::Broker(Note::Deleted { msg, .. } | Note::Requeued { msg, .. }) => {
                in_flight.retain(|_, m| *m != msg);
            }
            _ => {}
        }
    }
    assert!(deliveries >= 60, "{deliveries}");
}
