//! Resume tells the truth about what was acknowledged (issue 18, item 3):
//! a resumed log is checked against the record of acknowledgements the
//! earlier visit kept beside it (`storage::acked`, handed to the broker as
//! the store's checkpoint). Native tests on the memory store.
//!
//! A "visit" runs the page's setup on the store while an [`AckTracker`]
//! follows it, as the page does; the record is taken a little before the
//! tab dies (the page writes it every 250 ms), so the last acknowledgements
//! are missing from it, as after a real kill.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::app::acked::{checkpoint, topic_names, AckTracker};
use brokerlab::app::playground::{BrokerKind, Setup};
use brokerlab::app::resume::ResumeReport;
use brokerlab::config::Guarantee;
use brokerlab::config::Scenario;
use brokerlab::storage::acked::AckedRecord;
use brokerlab::storage::{MemoryStore, Storage, StreamId, Tear};
use brokerlab::world::World;
use std::cell::RefCell;
use std::rc::Rc;

type Disk = Rc<RefCell<MemoryStore>>;

const P0: StreamId = StreamId::Partition {
    topic: 0,
    partition: 0,
};

fn setup() -> Setup {
    Setup {
        broker: BrokerKind::Log,
        delivery: Guarantee::AtLeastOnce,
        partitions: 3,
        seed: 11,
        ..Setup::default()
    }
}

fn short(setup: &Setup) -> Scenario {
    let mut scenario = setup.to_scenario().expect("a valid setup");
    scenario.duration_ms = 3_000;
    scenario
}

/// The earlier visit: the record as of 1,400 ms, the tab killed at 1,500.
fn earlier_visit(setup: &Setup) -> (Disk, AckedRecord) {
    let mut store = MemoryStore::new(Default::default(), 5);
    store.recover();
    let store = Rc::new(RefCell::new(store));
    let mut world = World::with_storage(&short(setup), Box::new(store.clone()));
    let mut tracker = AckTracker::new();
    world.run_until(1_400).unwrap();
    tracker.update(&world);
    let record = tracker.record(&world, "test", 1);
    world.run_until(1_500).unwrap();
    let now = world.now_ms();
    drop(world);
    store.borrow_mut().crash(now, Tear::None);
    (store, record)
}

/// A new world on the stored log, with the record as the checkpoint.
fn resume(setup: &Setup, store: &Disk, record: Option<&AckedRecord>) -> World {
    let topics = topic_names(Some(setup));
    let checkpoint = record.map(|r| checkpoint(r, &topics, &[]));
    store.borrow_mut().set_acked_checkpoint(checkpoint);
    World::resume(&short(setup), Box::new(store.clone())).expect("resume")
}

#[test]
fn a_whole_log_recovers_every_acknowledged_record_and_names_the_unacknowledged() {
    let setup = setup();
    let (store, record) = earlier_visit(&setup);
    let k = record.acked_offsets();
    assert!(k > 50, "{record:?}");
    let world = resume(&setup, &store, Some(&record));
    let report = ResumeReport::of(&world);
    assert!(report.checked);
    assert_eq!((report.acked_before(), report.recovered), (k, k));
    assert!(report.missing.is_empty(), "{report:?}");
    assert!(
        report.unacknowledged > 0,
        "records acknowledged after the last record are written, not acknowledged: {report:?}"
    );
    assert_eq!(report.carried, k + report.unacknowledged);
    let text = report.text();
    let says =
        format!("{k} records were acknowledged before the page closed; {k} of {k} recovered.");
    assert!(text.contains(&says), "{text}");
    let unacked = format!(
        "{} more records were written to the log but never acknowledged",
        report.unacknowledged
    );
    assert!(text.contains(&unacked), "{text}");

    // Published is every carried record, Confirmed only the acknowledged.
    let summary = world.summary();
    let c = summary.counts;
    assert_eq!(c.published, c.confirmed + c.unconfirmed, "{c:?}");
    assert_eq!(
        (c.confirmed, c.unconfirmed),
        (k, report.unacknowledged),
        "{c:?}"
    );
    assert_eq!(c.lost, 0);
    assert!(summary.findings.iter().all(|f| f.kind != "lost"));
}

#[test]
fn a_shortened_log_is_a_lost_finding_naming_the_partition_and_offsets() {
    let setup = setup();
    let (store, record) = earlier_visit(&setup);
    let end = record.partitions["orders-0"];
    // The disk gives back all but the last 3 acknowledged records of orders-0.
    store.borrow_mut().recover();
    store.borrow_mut().truncate(P0, end - 3).unwrap();
    let mut world = resume(&setup, &store, Some(&record));

    let report = ResumeReport::of(&world);
    let k = record.acked_offsets();
    assert_eq!((report.acked_before(), report.recovered), (k, k - 3));
    let text = report.text();
    let says = format!(
        "{k} records were acknowledged before the page closed; {} of {k} recovered. Missing: orders-0 offsets {}..{end} (3).",
        k - 3,
        end - 3
    );
    assert!(text.contains(&says), "{text}");
    assert!(report.headline().contains("missing"));

    let mut live = world.live_checker();
    let summary = world.summary();
    assert_eq!(summary.counts.lost, 3, "{:?}", summary.counts);
    assert_eq!(summary.log.unwrap().acked_gone, 3);
    let want = format!("orders-0 offsets {}..{end} (3 records)", end - 3);
    let lost = |s: &brokerlab::check::Summary| {
        let found = s.findings.iter().filter(|f| f.kind == "lost");
        found.map(|f| f.explanation.clone()).collect::<Vec<_>>()
    };
    assert_eq!(lost(&summary).len(), 1, "{:?}", summary.findings);
    assert!(lost(&summary)[0].contains(&want), "{:?}", lost(&summary));
    // The counts still reconcile; the run fails only its "no lost" claim.
    assert_eq!(summary.violations, ["expect.no_lost: lost = 3"]);
    // The page's live checker says the same.
    let live_summary = world.live_summary(&mut live);
    assert_eq!(live_summary.counts, summary.counts);
    assert_eq!(live_summary.findings, summary.findings);

    // The loss stays on the books as the run goes on and drains. (The new
    // records written at the lost offsets are skipped too: the group's
    // committed offset points past them, so they are lost-writes.)
    world.finish().unwrap();
    let summary = world.summary();
    assert_eq!(lost(&summary), lost(&world.live_summary(&mut live)));
    assert!(lost(&summary)[0].contains(&want));
    assert_eq!(summary.log.unwrap().acked_gone, 3);
}

#[test]
fn without_a_record_resume_says_it_cannot_tell() {
    let setup = setup();
    let (store, _) = earlier_visit(&setup);
    let world = resume(&setup, &store, None);
    let report = ResumeReport::of(&world);
    assert!(!report.checked);
    assert_eq!(report.recovered, report.carried);
    let text = report.text();
    assert!(
        text.contains("No record of what was acknowledged survived"),
        "{text}"
    );
    let jsonl = world.history().to_jsonl(world.names());
    assert!(!jsonl.contains("acked_before"), "no checkpoint, no note");
}
