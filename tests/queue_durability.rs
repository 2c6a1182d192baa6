//! Durable queues through `Storage` (issue 14, What to build 1): persistent
//! messages of durable queues are written in group commits, their publisher
//! confirm waits for the disk, a crash keeps what the disk has (a torn write
//! cut at its batch), and the history says what was lost or came back.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::broker::queue::QueueBroker;
use brokerlab::broker::{
    Delivery, DeliveryTag, Message, MsgId, Note, Output, Properties, Request, Target,
};
use brokerlab::config::{QueueBrokerSpec, QueueMode, QueueSpec};
use brokerlab::storage::{FlushId, MemoryStore, Storage, Tear};

/// The publisher's client id; the consumer is 1.
const PUBLISHER: u32 = 9;
const CONSUMER: u32 = 1;
/// Virtual ms one flush takes.
const FSYNC_MS: u64 = 5;

/// Queue 0 `work` (durable unless `transient`), queue 1 `other` (durable).
fn broker(durable: bool) -> (QueueBroker, MemoryStore) {
    let spec = QueueBrokerSpec {
        mode: QueueMode::Rabbitmq,
        queues: vec![
            QueueSpec {
                durable,
                ..QueueSpec::named("work".into())
            },
            QueueSpec {
                durable: true,
                ..QueueSpec::named("other".into())
            },
        ],
        exchanges: Vec::new(),
        consumer_timeout_ms: None,
        channel_tick_interval_ms: None,
        fsync_latency_ms: FSYNC_MS,
    };
    let mut disk = MemoryStore::new(Default::default(), FSYNC_MS);
    disk.recover();
    (QueueBroker::from_spec(&spec, &|_| None, &[], 1000), disk)
}

fn publish(id: MsgId, queue: u32, persistent: bool) -> Request {
    let msg = Message {
        id,
        producer: PUBLISHER,
        seq: id,
        key: None,
        payload_bytes: 10,
    };
    Request::Publish {
        target: Target::Queue(queue),
        msg,
        confirm: true,
        props: Properties {
            persistent,
            ..Properties::default()
        },
    }
}

/// Handles `req` at `now_ms` and runs the group commit's first step.
fn send(
    b: &mut QueueBroker,
    disk: &mut MemoryStore,
    now_ms: u64,
    from: u32,
    req: Request,
) -> Vec<Output> {
    let mut out = Vec::new();
    b.handle(now_ms, from, req, &mut out);
    b.write(now_ms, disk, &mut out);
    out
}

fn confirms(out: &[Output]) -> Vec<MsgId> {
    out.iter()
        .filter_map(|o| match o {
            Output::Confirm { msg, ok: true, .. } => Some(*msg),
            _ => None,
        })
        .collect()
}

fn flushes(out: &[Output]) -> Vec<(FlushId, u64)> {
    out.iter()
        .filter_map(|o| match o {
            Output::FlushAt { id, at_ms } => Some((*id, *at_ms)),
            _ => None,
        })
        .collect()
}

/// Completes every flush in `out` (and the ones they start) at its time.
fn settle(b: &mut QueueBroker, disk: &mut MemoryStore, mut out: Vec<Output>) -> Vec<Output> {
    let mut all = Vec::new();
    while let Some((id, at)) = flushes(&out).first().copied() {
        all.append(&mut out);
        all.retain(|o| !matches!(o, Output::FlushAt { id: i, .. } if *i == id));
        let state = disk.flush_state(id, at);
        b.flush_done(at, id, state, disk, &mut out);
    }
    all.append(&mut out);
    all
}

fn notes(out: &[Output]) -> Vec<Note> {
    out.iter()
        .filter_map(|o| match o {
            Output::Note(n) => Some(*n),
            _ => None,
        })
        .collect()
}

fn deliveries(out: &[Output]) -> Vec<Delivery> {
    out.iter()
        .filter_map(|o| match o {
            Output::Deliver { delivery, .. } => Some(*delivery),
            Output::Got {
                delivery: Some(d), ..
            } => Some(*d),
            _ => None,
        })
        .collect()
}

/// Everything queue `q` holds, taken with auto-ack `basic.get`s.
fn drain(b: &mut QueueBroker, q: u32) -> Vec<(MsgId, bool)> {
    let mut got = Vec::new();
    for _ in 0..100 {
        let mut out = Vec::new();
        let req = Request::Get {
            queue: q,
            auto_ack: true,
        };
        b.handle(1_000, 50, req, &mut out);
        match deliveries(&out).first() {
            Some(d) => got.push((d.msg.id, d.redelivered)),
            None => return got,
        }
    }
    got
}

#[test]
fn a_persistent_message_in_a_durable_queue_is_confirmed_once_on_disk() {
    let (mut b, mut disk) = broker(true);
    let out = send(&mut b, &mut disk, 0, PUBLISHER, publish(1, 0, true));
    assert!(confirms(&out).is_empty(), "no confirm before the fsync");
    assert_eq!(flushes(&out).len(), 1, "one group commit began");
    // A transient message is confirmed at once, even while a flush is in flight.
    let out = send(&mut b, &mut disk, 1, PUBLISHER, publish(2, 0, false));
    assert_eq!(confirms(&out), [2]);
    // Another persistent one waits for the next group commit.
    let out = send(&mut b, &mut disk, 2, PUBLISHER, publish(3, 0, true));
    assert!(confirms(&out).is_empty() && flushes(&out).is_empty());
    let (id, at) = (FlushId(0), FSYNC_MS);
    let mut out = Vec::new();
    let state = disk.flush_state(id, at);
    b.flush_done(at, id, state, &mut disk, &mut out);
    assert_eq!(confirms(&out), [1], "the first flush held m1 only");
    let out = settle(&mut b, &mut disk, out);
    assert_eq!(confirms(&out), [1, 3]);
    assert_eq!(b.flushes(), 2);
}

#[test]
fn a_crash_keeps_what_the_disk_has_and_marks_the_delivered_redelivered() {
    let (mut b, mut disk) = broker(true);
    for id in 1..=3 {
        let out = send(&mut b, &mut disk, id, PUBLISHER, publish(id, 0, true));
        settle(&mut b, &mut disk, out);
    }
    let consume = Request::Consume {
        queue: 0,
        prefetch: 1,
        auto_ack: false,
        exclusive: false,
        window: 0,
    };
    let out = send(&mut b, &mut disk, 10, CONSUMER, consume);
    let first = deliveries(&out)[0];
    assert_eq!((first.msg.id, first.redelivered), (1, false));
    settle(&mut b, &mut disk, out);
    // m4 is published but its flush is still in flight at the crash.
    let out = send(&mut b, &mut disk, 20, PUBLISHER, publish(4, 0, true));
    assert!(confirms(&out).is_empty());
    let mut out = Vec::new();
    b.crash(21, Tear::None, &mut disk, &mut out);
    assert_eq!(
        notes(&out),
        [Note::LostFromDisk { msg: 4, queue: 0 }],
        "only the unconfirmed m4 is lost"
    );
    b.restart();
    assert_eq!(drain(&mut b, 0), [(1, true), (2, false), (3, false)]);
}

#[test]
fn transient_messages_and_transient_queues_are_lost_in_a_crash() {
    let (mut b, mut disk) = broker(false);
    let out = send(&mut b, &mut disk, 0, PUBLISHER, publish(1, 0, true));
    assert_eq!(confirms(&out), [1], "a transient queue writes nothing");
    let out = send(&mut b, &mut disk, 1, PUBLISHER, publish(2, 1, false));
    assert_eq!(confirms(&out), [2], "a transient message writes nothing");
    let mut out = Vec::new();
    b.crash(2, Tear::None, &mut disk, &mut out);
    assert_eq!(
        notes(&out),
        [
            Note::LostInCrash { msg: 1, queue: 0 },
            Note::LostInCrash { msg: 2, queue: 1 }
        ]
    );
    b.restart();
    assert!(drain(&mut b, 0).is_empty() && drain(&mut b, 1).is_empty());
}

#[test]
fn an_ack_not_on_disk_yet_brings_the_message_back() {
    let (mut b, mut disk) = broker(true);
    let out = send(&mut b, &mut disk, 0, PUBLISHER, publish(1, 0, true));
    settle(&mut b, &mut disk, out);
    let get = Request::Get {
        queue: 0,
        auto_ack: false,
    };
    let out = send(&mut b, &mut disk, 10, CONSUMER, get);
    let tag: DeliveryTag = deliveries(&out)[0].tag;
    settle(&mut b, &mut disk, out);
    let ack = Request::Ack {
        tag,
        multiple: false,
    };
    let out = send(&mut b, &mut disk, 20, CONSUMER, ack);
    assert_eq!(flushes(&out).len(), 1, "the ack is written too");
    let mut out = Vec::new();
    b.crash(21, Tear::None, &mut disk, &mut out);
    assert_eq!(notes(&out), [Note::Restored { msg: 1, queue: 0 }]);
    b.restart();
    assert_eq!(drain(&mut b, 0), [(1, true)]);
}

#[test]
fn a_torn_write_cuts_its_batch_and_the_stream_goes_on_from_there() {
    let (mut b, mut disk) = broker(true);
    let out = send(&mut b, &mut disk, 0, PUBLISHER, publish(1, 0, true));
    settle(&mut b, &mut disk, out);
    // One group commit with a batch for each queue; the crash tears the
    // last one (queue 1's), the one before lands whole.
    let mut out = Vec::new();
    for (id, q) in [(2, 0), (3, 1)] {
        b.handle(10, PUBLISHER, publish(id, q, true), &mut out);
    }
    b.write(10, &mut disk, &mut out);
    assert_eq!(flushes(&out).len(), 1);
    let mut out = Vec::new();
    b.crash(11, Tear::LastBatch { keep_bytes: 30 }, &mut disk, &mut out);
    assert_eq!(notes(&out), [Note::LostFromDisk { msg: 3, queue: 1 }]);
    b.restart();
    // The cut stream takes new writes where it now ends, and they survive.
    let out = send(&mut b, &mut disk, 20, PUBLISHER, publish(4, 1, true));
    let out = settle(&mut b, &mut disk, out);
    assert_eq!(confirms(&out), [4]);
    let mut out = Vec::new();
    b.crash(40, Tear::None, &mut disk, &mut out);
    assert!(notes(&out).is_empty(), "{:?}", notes(&out));
    b.restart();
    assert_eq!(drain(&mut b, 0), [(1, false), (2, false)]);
    assert_eq!(drain(&mut b, 1), [(4, false)]);
}
