//! The page's cluster (issue 13, `app::cluster`): the settings refuse an
//! impossible combination by the field's Kafka name, and crashing the
//! leader's broker by name keeps every acknowledged record with
//! `acks=all` and `min.insync.replicas=2`, but loses one with `acks=1`,
//! told with its chain. The browser test (`tests/web_cluster.rs`) clicks
//! the same run.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::app::cluster::{BrokerButton, ClusterSession, ClusterSetup, FSYNC_LATENCY_MS};
use brokerlab::config::Acks;
use brokerlab::storage::{Limits, MemoryStore, Recovery, Storage};
use std::cell::RefCell;
use std::rc::Rc;

#[test]
fn impossible_combinations_name_their_field() {
    let rf = ClusterSetup {
        brokers: 2,
        ..ClusterSetup::default()
    };
    let e = ClusterSession::new(&rf).err().expect("RF 3 on 2 brokers");
    assert_eq!(e.field, "replication.factor");
    assert!(
        e.reason.contains("replication.factor 3 with 2 brokers"),
        "{e}"
    );

    let min = ClusterSetup {
        min_insync_replicas: 4,
        ..ClusterSetup::default()
    };
    let e = ClusterSession::new(&min)
        .err()
        .expect("min.insync above RF");
    assert_eq!(e.field, "min.insync.replicas");

    let many = ClusterSetup {
        brokers: 6,
        ..ClusterSetup::default()
    };
    let e = ClusterSession::new(&many).err().expect("6 brokers");
    assert_eq!(e.field, "brokers");
    assert!(e.reason.contains("1..=5"), "{e}");
}

/// Runs `setup` for `before_ms`, crashes the leader of partition 0 by
/// name, and runs to the end: the session's view then.
fn crash_leader(setup: &ClusterSetup, before_ms: u64) -> brokerlab::app::cluster::ClusterView {
    let mut s = ClusterSession::new(setup).expect("a valid setup");
    s.advance(before_ms);
    let view = s.view();
    let leader = view
        .brokers
        .iter()
        .position(|b| {
            b.replicas
                .iter()
                .any(|r| r.partition == "events-0" && r.leader)
        })
        .expect("partition 0 has a leader");
    assert_eq!(s.leader_of(0).map(|n| usize::from(n.0)), Some(leader + 1));
    s.press(BrokerButton::Crash, leader as u8 + 1)
        .expect("crash");
    assert!(!s.view().brokers[leader].up);
    s.run_to_end();
    let v = s.view();
    assert!(v.finished && v.error.is_none(), "{:?}", v.error);
    assert!(v.acked > 100, "the producer got answers: {}", v.acked);
    v
}

#[test]
fn acks_all_keeps_every_record_through_a_leader_crash() {
    let v = crash_leader(&ClusterSetup::default(), 3_000);
    assert_eq!(v.holds, Some(true), "{:?}", v.findings);
}

#[test]
fn acks_1_loses_a_record_and_tells_its_chain() {
    let setup = ClusterSetup {
        acks: Acks::One,
        ..ClusterSetup::default()
    };
    let v = crash_leader(&setup, 3_000);
    assert_eq!(v.holds, Some(false));
    let lost = v.counts.iter().find(|(k, _)| *k == "lost");
    assert!(lost.is_some_and(|(_, n)| *n >= 1), "{:?}", v.counts);
    let (_, story) = v.findings.iter().find(|(k, _)| *k == "lost").expect("told");
    println!("{story}");
    assert!(story.contains("acknowledged by b1 (leader"), "{story}");
    assert!(story.contains("acks=1"), "{story}");
    assert!(story.contains("b1 crashed"), "{story}");
    assert!(story.contains("became leader at epoch 1"), "{story}");
}

#[test]
fn isolate_and_heal_by_name_and_views_show_replicas() {
    let mut s = ClusterSession::new(&ClusterSetup::default()).expect("valid");
    s.advance(1_000);
    let v = s.view();
    assert_eq!(v.brokers.len(), 3);
    for b in &v.brokers {
        assert_eq!(b.replicas.len(), 3, "RF 3 of 3 partitions on 3 brokers");
        assert!(b.replicas.iter().all(|r| r.in_sync && r.hw <= r.leo));
    }
    let led: Vec<_> = v.brokers[0].replicas.iter().filter(|r| r.leader).collect();
    assert_eq!(led.len(), 1);
    assert_eq!(led[0].isr.as_deref(), Some("b1 b2 b3"));
    s.press(BrokerButton::Isolate, 2).expect("isolate");
    assert!(s.view().brokers[1].isolated);
    s.advance(2_000);
    let b2 = &s.view().brokers[1];
    assert!(
        b2.replicas.iter().all(|r| !r.in_sync),
        "an isolated broker leaves every ISR: {b2:?}"
    );
    s.press(BrokerButton::Heal, 2).expect("heal");
    assert!(!s.view().brokers[1].isolated);
    assert!(s.press(BrokerButton::Crash, 7).is_err(), "no broker b7");
    s.run_to_end();
    assert_eq!(s.view().holds, Some(true), "{:?}", s.view().findings);
    assert!(s.press(BrokerButton::Crash, 1).is_err(), "the run is over");
}

/// The page keeps each broker's log in a store of its own (the memory
/// store here, IndexedDB in the page): five stores, as the page opens.
fn stores() -> Vec<Rc<RefCell<MemoryStore>>> {
    let store = || {
        Rc::new(RefCell::new(MemoryStore::new(
            Limits::default(),
            FSYNC_LATENCY_MS,
        )))
    };
    (0..5).map(|_| store()).collect()
}

fn boxed(stores: &[Rc<RefCell<MemoryStore>>]) -> Vec<Box<dyn Storage>> {
    let each = stores
        .iter()
        .map(|s| Box::new(Rc::clone(s)) as Box<dyn Storage>);
    each.collect()
}

/// What each store kept, as a reload reads it.
fn reload(stores: &[Rc<RefCell<MemoryStore>>]) -> Vec<Recovery> {
    stores.iter().map(|s| s.borrow_mut().recover()).collect()
}

#[test]
fn the_saved_setup_reads_back_and_what_does_not_fit_is_named() {
    let setup = ClusterSetup {
        brokers: 4,
        acks: Acks::One,
        unclean_leader_election_enable: true,
        seed: 77,
        ..ClusterSetup::default()
    };
    assert_eq!(ClusterSetup::from_text(&setup.to_text()), Ok(setup.clone()));
    let fewer = setup.to_text().replace("partitions=3", "partitions=2");
    let e = ClusterSetup::from_text(&fewer).unwrap_err();
    assert!(e.starts_with("stored.setup.partitions: `2`"), "{e}");
    let bad = setup.to_text().replace("acks=1", "acks=most");
    let e = ClusterSetup::from_text(&bad).unwrap_err();
    assert!(e.starts_with("stored.setup.acks"), "{e}");
    let e = ClusterSetup::from_text("{\"broker\": \"kafka\"}").unwrap_err();
    assert!(e.starts_with("stored.setup:"), "{e}");
}

#[test]
fn a_reload_resumes_the_cluster_from_its_stores() {
    let setup = ClusterSetup::default();
    let disks = stores();
    let mut s = ClusterSession::new(&setup).expect("valid");
    s.keep_in(boxed(&disks));
    s.run_to_end();
    let before = s.view();
    assert_eq!(before.holds, Some(true));
    assert!(before.acked > 100, "{} acknowledged", before.acked);
    assert!(disks[3].borrow().durable().is_empty(), "b4 is not used");

    let recoveries = reload(&disks);
    let mut again = ClusterSession::resume(&setup, &recoveries).expect("resumes");
    again.keep_in(boxed(&disks));
    let view = again.view();
    for (b, old) in view.brokers.iter().zip(&before.brokers) {
        for (r, o) in b.replicas.iter().zip(&old.replicas) {
            assert_eq!(
                r.leo, o.leo,
                "{} {}: the whole log came back",
                b.name, r.partition
            );
            assert_eq!(r.on_disk, r.leo, "all of it on disk");
        }
    }
    again.run_to_end();
    let after = again.view();
    assert_eq!(after.holds, Some(true), "{:?}", after.findings);
    assert!(after.acked > 100, "the resumed run takes new records");
}

#[test]
fn a_stored_cluster_of_another_layout_is_refused_by_name() {
    let disks = stores();
    let mut s = ClusterSession::new(&ClusterSetup::default()).expect("valid");
    s.keep_in(boxed(&disks));
    s.run_to_end();
    let recoveries = reload(&disks);
    // Two brokers at replication.factor 2: b3's log has no place.
    let two = ClusterSetup {
        brokers: 2,
        replication_factor: 2,
        ..ClusterSetup::default()
    };
    let e = ClusterSession::resume(&two, &recoveries)
        .err()
        .expect("refused");
    assert!(e.starts_with("stored.b"), "{e}");
    // Five brokers place the partitions elsewhere.
    let five = ClusterSetup {
        brokers: 5,
        ..ClusterSetup::default()
    };
    let e = ClusterSession::resume(&five, &recoveries)
        .err()
        .expect("refused");
    assert!(e.starts_with("stored.b"), "{e}");
}

/// A partition the controller could not give a leader is drawn offline on
/// every broker that still runs, not as a follower in sync: b2 and b3
/// crash one after the other, then b1, the last in-sync replica of
/// `events-1`, is isolated and fenced.
#[test]
fn a_leaderless_partitions_replicas_are_drawn_offline() {
    let mut s = ClusterSession::new(&ClusterSetup::default()).expect("valid");
    let faults = [
        (2_160, BrokerButton::Crash, 2),
        (3_177, BrokerButton::Crash, 3),
        (4_118, BrokerButton::Isolate, 1),
    ];
    for (at_ms, button, broker) in faults {
        s.advance(at_ms - s.view().now_ms);
        s.press(button, broker).expect("a broker button");
    }
    s.advance(1_100);
    assert_eq!(s.leader_of(1), None, "events-1 is offline");
    let v = s.view();
    let b1 = &v.brokers[0];
    assert!(b1.up && b1.isolated, "{b1:?}");
    let row = b1.replicas.iter().find(|r| r.partition == "events-1");
    let row = row.expect("b1 holds events-1");
    assert!(row.offline && !row.leader && !row.in_sync, "{row:?}");
    assert_eq!(row.role(), "offline, no leader");
    for b in &v.brokers {
        for r in &b.replicas {
            let offline = s
                .leader_of(r.partition[7..].parse().expect("events-N"))
                .is_none();
            assert_eq!(r.offline, offline, "{} {r:?}", b.name);
        }
    }
}
