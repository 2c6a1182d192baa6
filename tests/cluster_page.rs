//! The page's cluster (issue 13, `app::cluster`): the settings refuse an
//! impossible combination by the field's Kafka name, and crashing the
//! leader's broker by name keeps every acknowledged record with
//! `acks=all` and `min.insync.replicas=2`, but loses one with `acks=1`,
//! told with its chain. The browser test (`tests/web_cluster.rs`) clicks
//! the same run.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::app::cluster::{BrokerButton, ClusterSession, ClusterSetup};
use brokerlab::config::Acks;

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
