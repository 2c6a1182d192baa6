//! Compare mode (issue 15 item 4): one setup under two settings in
//! lockstep, live faults going to both panes. Under the same dropped
//! confirms, at least once duplicates and exactly once (idempotent) does
//! not; under the same broker crash, `acks=1` and the in-memory queue lose
//! what they confirmed and `acks=all` and the log do not; the diff row
//! says so each time.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::app::compare::{Compare, Pair};
use brokerlab::app::share::LiveAction;

/// `pair` from seed 1: 2 s, then its fault in both panes, then `then_ms`
/// more (with a broker restart 300 ms after a crash).
fn run(pair: Pair, then_ms: u64) -> Compare {
    let mut c = Compare::new(pair, 1).unwrap();
    c.advance(2_000, &mut || false);
    assert_eq!(c.now_ms(), 2_000);
    assert_eq!(c.right.world().now_ms(), 2_000, "one clock");
    c.act(pair.fault()).unwrap();
    if pair.fault() == LiveAction::CrashBroker {
        c.advance(300, &mut || false);
        c.act(LiveAction::RestartBroker).unwrap();
    }
    c.advance(then_ms, &mut || false);
    assert_eq!(c.right.world().now_ms(), c.now_ms(), "lockstep");
    assert_eq!(c.left.recorded().len(), c.right.recorded().len());
    c
}

#[test]
fn at_least_once_duplicates_and_exactly_once_does_not_under_the_same_dropped_confirms() {
    let c = run(Pair::Guarantee, 6_000);
    let (l, r) = (c.left.summary(), c.right.summary());
    assert!(
        l.counts.publish_retries > 0,
        "dropped confirms make retries"
    );
    assert!(
        r.counts.publish_retries > 0,
        "on both sides: {:?}",
        r.counts
    );
    assert!(
        l.counts.duplicated > 0,
        "at least once duplicates: {:?}",
        l.counts
    );
    assert_eq!(r.counts.duplicated, 0, "exactly once does not");
    let diff = c.diff();
    assert!(diff.only_left.contains(&"duplicated"), "{diff:?}");
    assert!(!diff.only_right.contains(&"duplicated"), "{diff:?}");
    let dup = diff.counts.iter().find(|d| d.name == "duplicated").unwrap();
    assert_eq!((dup.left, dup.right), (l.counts.duplicated, 0));
}

#[test]
fn a_crash_loses_what_acks_1_confirmed_and_nothing_acks_all_did() {
    let c = run(Pair::Acks, 6_000);
    let (l, r) = (c.left.summary(), c.right.summary());
    assert!(l.counts.lost > 0, "acks=1 loses the tail: {:?}", l.counts);
    assert_eq!(r.counts.lost, 0, "acks=all: {:?}", r.counts);
    let diff = c.diff();
    assert!(diff.counts.iter().any(|d| d.name == "lost"), "{diff:?}");
    assert!(diff.only_left.contains(&"lost-write"), "{diff:?}");
}

#[test]
fn a_crash_takes_the_queues_backlog_and_not_the_logs() {
    let c = run(Pair::Broker, 6_000);
    let (l, r) = (c.left.summary(), c.right.summary());
    let gone = |c: &brokerlab::check::Counts| c.lost + c.transient_lost;
    assert!(gone(&l.counts) > 0, "the queue: {:?}", l.counts);
    assert_eq!(gone(&r.counts), 0, "the log: {:?}", r.counts);
    assert!(!c.diff().only_left.is_empty(), "{:?}", c.diff());
}

#[test]
fn an_action_one_pane_refuses_is_done_in_neither() {
    // Both refuse: no such client.
    let mut c = Compare::new(Pair::Guarantee, 1).unwrap();
    let e = c.act(LiveAction::CrashClient("c9".into())).unwrap_err();
    assert!(e.contains("c9"), "{e}");
    assert!(c.left.recorded().is_empty() && c.right.recorded().is_empty());

    // Only the left refuses: the in-memory queue has no disk to tear.
    let mut c = Compare::new(Pair::Broker, 1).unwrap();
    c.advance(1_000, &mut || false);
    let e = c.act(LiveAction::CrashBrokerTorn).unwrap_err();
    assert!(e.starts_with("The left pane refused it"), "{e}");
    assert!(c.left.recorded().is_empty() && c.right.recorded().is_empty());
    assert_eq!(c.right.world().nodes_up(), c.left.world().nodes_up());

    // Only the right refuses: its run already holds as many faults as a
    // scenario may (put there directly, not through the comparison).
    let mut c = Compare::new(Pair::Guarantee, 1).unwrap();
    let faults_max = brokerlab::config::bounds::FAULTS_MAX;
    for i in 0..faults_max {
        let fault = [LiveAction::CrashBroker, LiveAction::RestartBroker][i % 2].clone();
        c.right.act(fault).unwrap();
    }
    let history_left = c.left.world().history().len();
    let e = c.act(LiveAction::CrashBroker).unwrap_err();
    assert!(e.starts_with("The right pane refused it"), "{e}");
    assert!(c.left.recorded().is_empty(), "the left did not crash");
    assert_eq!(c.left.world().history().len(), history_left);
    assert_eq!(c.left.world().scenario().faults.len(), 0);
    assert_eq!(c.right.recorded().len(), faults_max);

    // Anything but a fault is not for both panes.
    let e = c.act(LiveAction::ToggleSlow("c1".into())).unwrap_err();
    assert!(e.contains("not a fault"), "{e}");
}

#[test]
fn every_pair_names_its_sides_and_starts_alike() {
    for pair in Pair::ALL {
        let c = Compare::new(pair, 7).unwrap();
        let [left, right] = pair.sides();
        assert_ne!(left, right);
        assert_eq!(c.now_ms(), 0);
        assert_eq!(c.end_ms(), c.right.world().end_ms(), "{pair:?}");
        assert_eq!(c.diff(), Default::default(), "{pair:?}: nothing yet");
    }
}
