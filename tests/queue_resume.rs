//! Resuming a queue broker on the store an earlier run left (what a page
//! reload does with IndexedDB): the durable queues come back with their
//! persistent messages, the delivered-but-unacked ones `redelivered`, and
//! nothing transient. Native tests on the memory store.
//!
//! A "reload" here is: the tab dies (the store crashes, so what was not yet
//! durable is gone), the world is dropped, and a new world is built on the
//! same store with [`World::resume`].
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::broker::{MsgId, Note};
use brokerlab::config::Scenario;
use brokerlab::history::{Entry, OpType, Proc};
use brokerlab::storage::{MemoryStore, Storage, StreamId, Tear};
use brokerlab::world::World;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

type Disk = Rc<RefCell<MemoryStore>>;

fn disk() -> Disk {
    let mut store = MemoryStore::new(Default::default(), 5);
    store.recover();
    Rc::new(RefCell::new(store))
}

/// `work` is durable, `scratch` is not. p1 publishes persistent messages
/// to `work`, p2 transient ones to `work`, p3 persistent ones to
/// `scratch`; c1 works through `work` slowly, so a backlog builds and some
/// messages sit delivered but unacked in its prefetch.
fn scenario() -> Scenario {
    Scenario::from_json(
        r#"{
  "name": "queue-resume",
  "seed": 5,
  "duration_ms": 3000,
  "broker": { "kind": "queue", "queues": [
    { "name": "work", "durable": true },
    { "name": "scratch" } ] },
  "clients": [
    { "kind": "producer", "id": "p1", "routing_key": "work", "interval_ms": 10, "count": 200, "persistent": true,
      "confirms": { "timeout_ms": 200, "max_retries": 3 } },
    { "kind": "producer", "id": "p2", "routing_key": "work", "interval_ms": 10, "count": 200,
      "confirms": { "timeout_ms": 200, "max_retries": 3 } },
    { "kind": "producer", "id": "p3", "routing_key": "scratch", "interval_ms": 10, "count": 200, "persistent": true,
      "confirms": { "timeout_ms": 200, "max_retries": 3 } },
    { "kind": "consumer", "id": "c1", "queue": "work", "prefetch": 10, "processing": { "fixed_ms": 30 } }
  ]
}"#,
    )
    .expect("a valid scenario")
}

/// What the first run did, per message, read from its history.
#[derive(Default)]
struct Before {
    /// Messages confirmed (`ok publish`), by producer name.
    confirmed: BTreeMap<MsgId, String>,
    /// Messages deleted from a queue (acked).
    deleted: BTreeSet<MsgId>,
    /// Messages delivered at least once.
    delivered: BTreeSet<MsgId>,
}

/// Runs the scenario for `run_ms` on `store`, then kills the tab.
fn first_visit(store: &Disk, run_ms: u64) -> Before {
    let mut world = World::with_storage(&scenario(), Box::new(store.clone()));
    world.run_until(run_ms).unwrap();
    let names = world.names().clone();
    let mut before = Before::default();
    for ev in world.history().events() {
        match (ev.process, ev.entry) {
            (
                Proc::Client(c),
                Entry::Publish {
                    ty: OpType::Ok,
                    msg,
                    ..
                },
            ) => {
                before.confirmed.insert(msg, names.client(c).to_string());
            }
            (_, Entry::Broker(Note::Deleted { msg, .. })) => {
                before.deleted.insert(msg);
            }
            (_, Entry::Deliver { delivery, .. }) => {
                before.delivered.insert(delivery.msg.id);
            }
            _ => {}
        }
    }
    let now = world.now_ms();
    drop(world);
    store.borrow_mut().crash(now, Tear::None);
    before
}

/// The `carried` notes of a resumed world: message → (queue name, confirmed).
fn carried(world: &World) -> BTreeMap<MsgId, (String, bool)> {
    let names = world.names();
    let mut carried = BTreeMap::new();
    for ev in world.history().events() {
        if let Entry::Broker(Note::Carried {
            msg,
            queue,
            confirmed,
            ..
        }) = ev.entry
        {
            let previous = carried.insert(msg, (names.queue(queue).to_string(), confirmed));
            assert!(previous.is_none(), "{msg} carried twice");
        }
    }
    carried
}

#[test]
fn confirmed_persistent_messages_of_a_durable_queue_come_back_and_nothing_transient_does() {
    let store = disk();
    let before = first_visit(&store, 800);
    let world = World::resume(&scenario(), Box::new(store.clone())).expect("resumes");
    let carried = carried(&world);
    // Every p1 message confirmed and not acked by c1 is back in `work`.
    let kept: Vec<MsgId> = before
        .confirmed
        .iter()
        .filter(|(msg, p)| *p == "p1" && !before.deleted.contains(msg))
        .map(|(msg, _)| *msg)
        .collect();
    assert!(
        kept.len() > 10,
        "a backlog of confirmed persistent messages: {kept:?}"
    );
    for msg in &kept {
        let back = carried.get(msg);
        assert_eq!(back, Some(&("work".to_string(), true)), "{msg}");
    }
    // Nothing transient: no p2 message (transient) nor p3 one (transient queue).
    for (msg, (queue, _)) in &carried {
        assert_eq!(queue, "work");
        let producer = before.confirmed.get(msg).map(String::as_str);
        assert!(
            matches!(producer, Some("p1") | None),
            "{msg} from {producer:?}"
        );
    }
    // A message acked in the first run and still carried is one whose
    // removal was not on disk yet; there are few of those.
    let acked_back = carried
        .keys()
        .filter(|m| before.deleted.contains(m))
        .count();
    assert!(acked_back <= 10, "{acked_back} acked messages came back");
}

#[test]
fn delivered_but_unacked_messages_come_back_redelivered() {
    let store = disk();
    let before = first_visit(&store, 800);
    let mut world = World::resume(&scenario(), Box::new(store.clone())).expect("resumes");
    let carried = carried(&world);
    world.run_until(3_000).unwrap();
    let mut first_delivery: BTreeMap<MsgId, bool> = BTreeMap::new();
    for ev in world.history().events() {
        if let Entry::Deliver { delivery, .. } = ev.entry {
            first_delivery
                .entry(delivery.msg.id)
                .or_insert(delivery.redelivered);
        }
    }
    // The `carried` note says what the first delivery will say.
    for ev in world.history().events() {
        if let Entry::Broker(Note::Carried {
            msg, redelivered, ..
        }) = ev.entry
        {
            assert_eq!(first_delivery.get(&msg), Some(&redelivered), "{msg}");
        }
    }
    // The JSON lines say it too, and read back the same.
    let jsonl = world.history().to_jsonl(world.names());
    let carried_lines: Vec<&str> = jsonl
        .lines()
        .filter(|l| l.contains("\"f\":\"carried\""))
        .collect();
    assert_eq!(carried_lines.len(), carried.len());
    assert!(carried_lines
        .iter()
        .any(|l| l.contains("\"redelivered\":true")));
    let back = brokerlab::history::read::read_jsonl(&jsonl).expect("reads back");
    let notes = |h: &brokerlab::history::History| {
        h.events()
            .iter()
            .filter(|ev| matches!(ev.entry, Entry::Broker(Note::Carried { .. })))
            .map(|ev| ev.entry)
            .collect::<Vec<_>>()
    };
    assert_eq!(notes(&back.history), notes(world.history()));
    let mut redelivered = 0;
    for msg in carried.keys() {
        let flag = first_delivery.get(msg).copied();
        let was_delivered = before.delivered.contains(msg);
        // A delivery before the reload shows as `redelivered` only if its
        // `Delivered` entry reached the disk; one never delivered never does.
        if !was_delivered {
            assert_eq!(flag, Some(false), "{msg} was never delivered");
        }
        redelivered += usize::from(flag == Some(true));
    }
    assert!(
        redelivered > 0,
        "c1's unacked prefetch comes back redelivered"
    );
}

#[test]
fn the_resumed_run_counts_carried_messages_and_loses_nothing_confirmed() {
    let store = disk();
    first_visit(&store, 800);
    let mut world = World::resume(&scenario(), Box::new(store.clone())).expect("resumes");
    let carried = carried(&world).len() as u64;
    world.finish().unwrap();
    let summary = world.summary();
    let c = &summary.counts;
    assert_eq!(c.unexpected, 0, "{}", summary.identity);
    assert_eq!(c.lost, 0, "{}", summary.identity);
    // Carried messages count as published (and confirmed) in this run too.
    let new_p1 = world
        .history()
        .events()
        .iter()
        .filter(|ev| {
            matches!(
                ev.entry,
                Entry::Publish {
                    ty: OpType::Invoke,
                    ..
                }
            )
        })
        .map(|ev| ev.entry.msg())
        .collect::<BTreeSet<_>>()
        .len() as u64;
    assert_eq!(c.published, new_p1 + carried, "{}", summary.identity);
    assert!(summary.violations.is_empty(), "{:?}", summary.violations);
}

#[test]
fn a_store_with_a_queue_the_setup_lacks_is_refused_with_its_name() {
    let store = disk();
    {
        let mut s = store.borrow_mut();
        let record = brokerlab::storage::Record {
            offset: 0,
            timestamp_ms: 0,
            producer_id: 0,
            key: None,
            value: vec![1, 2, 3],
        };
        let batch = brokerlab::storage::RecordBatch {
            base_offset: 0,
            records: vec![record],
        };
        s.append(StreamId::Queue { queue: 7 }, &batch).unwrap();
        let ticket = s.begin_flush(0).unwrap();
        let state = s.flush_state(ticket.id, ticket.completes_at_ms);
        assert_eq!(state, brokerlab::storage::FlushState::Durable);
    }
    let error = World::resume(&scenario(), Box::new(store.clone()))
        .err()
        .expect("refused");
    assert!(error.contains("start fresh"), "{error}");
    assert!(error.contains('7'), "names the stream: {error}");
}

/// The page's queue setup with durable queues, persistent messages or not.
fn page_setup(persistent: bool) -> brokerlab::app::playground::Setup {
    brokerlab::app::playground::Setup {
        durable_queues: true,
        persistent,
        seed: 4,
        ..Default::default()
    }
}

#[test]
fn the_record_keeps_each_durable_queues_store_end_and_what_only_memory_held() {
    use brokerlab::app::acked::AckTracker;
    for persistent in [true, false] {
        let setup = page_setup(persistent);
        let store = disk();
        let mut world = World::with_storage(&setup.to_scenario().unwrap(), Box::new(store.clone()));
        let mut tracker = AckTracker::new();
        for t_ms in [300, 900, 2_000] {
            world.run_until(t_ms).unwrap();
            tracker.update(&world);
        }
        let record = tracker.record(&world, "db", 1);
        assert!(record.acked > 50, "{record:?}");
        assert!(record.partitions.is_empty(), "{record:?}");
        let queue = world.broker().as_queue().unwrap();
        if persistent {
            let end = record.queues["work"];
            assert_eq!(queue.durable_store_ends(), [("work".to_string(), end)]);
            assert!(end > 0);
            assert_eq!(record.in_memory, 0, "{record:?}");
            // Never past what is on disk: every entry below it is durable.
            let durable = store.borrow().durable().len();
            assert!(durable > 0);
        } else {
            assert!(record.queues.is_empty(), "{record:?}");
            assert!(record.in_memory > 0, "a backlog held in memory: {record:?}");
            assert_eq!(record.in_memory, queue.held().len() as u64);
        }
        // The JSON reads back the same; a log record's text is unchanged.
        let text = record.to_json();
        assert_eq!(
            brokerlab::storage::acked::AckedRecord::from_json(&text),
            Ok(record)
        );
    }
}

#[test]
fn the_resume_report_says_what_came_back_and_what_only_memory_held() {
    use brokerlab::app::acked::{checkpoint, queue_names, AckTracker};
    use brokerlab::app::resume::ResumeReport;
    let setup = page_setup(true);
    let scenario = setup.to_scenario().unwrap();
    let store = disk();
    let mut world = World::with_storage(&scenario, Box::new(store.clone()));
    let mut tracker = AckTracker::new();
    world.run_until(1_500).unwrap();
    tracker.update(&world);
    let record = tracker.record(&world, "db", 1);
    let now = world.now_ms();
    drop(world);
    store.borrow_mut().crash(now, Tear::None);
    // The page hands the record to the store as its checkpoint.
    let streams = checkpoint(&record, &[], &queue_names(Some(&setup)));
    assert_eq!(streams.len(), 1, "{streams:?}");
    store
        .borrow_mut()
        .set_acked_checkpoint(Some(streams.clone()));
    let world = World::resume(&scenario, Box::new(store.clone())).unwrap();
    let report = ResumeReport::of(&world).with_record(Some(&record), &[]);
    let back = report.queues.clone().expect("a queue resume");
    assert!(back.messages > 0 && back.redelivered > 0, "{back:?}");
    assert_eq!(back.messages, carried(&world).len() as u64);
    assert_eq!(
        report.headline(),
        "Resumed the durable queues of an earlier visit"
    );
    let text = report.text();
    assert!(
        text.contains(&format!("{} persistent messages are back", back.messages)),
        "{text}"
    );
    assert!(text.contains("redelivered set"), "{text}");
    assert!(text.contains("held no transient messages"), "{text}");
    assert!(text.contains("Nothing is replayed"), "{text}");
    assert_eq!(
        back.unconfirmed, 0,
        "all on disk at the last record: {back:?}"
    );

    // Entries past the record's end were written but never confirmed.
    let halved = streams.into_iter().map(|(s, end)| (s, end / 2)).collect();
    store.borrow_mut().set_acked_checkpoint(Some(halved));
    let world = World::resume(&scenario, Box::new(store.clone())).unwrap();
    let report = ResumeReport::of(&world).with_record(Some(&record), &[]);
    let back = report.queues.clone().unwrap();
    assert!(back.unconfirmed > 0, "{back:?}");
    assert!(
        report.text().contains("written but never confirmed"),
        "{}",
        report.text()
    );
    // The checker counts them the same (before the clients publish anew).
    let c = world.summary().counts;
    assert_eq!(c.published, back.messages, "{c:?}");
    assert_eq!(c.unconfirmed, back.unconfirmed, "{c:?}");
    assert_eq!(c.confirmed, back.messages - back.unconfirmed, "{c:?}");
}
