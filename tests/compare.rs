//! Compare mode (issue 15 item 4): one setup under two guarantees in
//! lockstep, live faults going to both panes. Under the same dropped
//! confirms, at least once duplicates and exactly once (idempotent) does
//! not, and the diff row says so.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::app::compare::Compare;
use brokerlab::app::playground::Setup;
use brokerlab::app::share::LiveAction;
use brokerlab::config::Guarantee;

#[test]
fn at_least_once_duplicates_and_exactly_once_does_not_under_the_same_dropped_confirms() {
    let mut c = Compare::new(
        &Setup::default(),
        Guarantee::AtLeastOnce,
        Guarantee::ExactlyOnceIdempotent,
    )
    .unwrap();
    c.advance(2_000, &mut || false);
    assert_eq!(c.now_ms(), 2_000);
    assert_eq!(c.right.world().now_ms(), 2_000, "one clock");
    c.act(LiveAction::DropAcks).unwrap();
    c.advance(6_000, &mut || false);
    assert_eq!(c.right.world().now_ms(), c.now_ms(), "lockstep");
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
fn an_action_one_pane_refuses_is_reported() {
    let mut c = Compare::new(
        &Setup::default(),
        Guarantee::AtMostOnce,
        Guarantee::AtLeastOnce,
    )
    .unwrap();
    let e = c.act(LiveAction::CrashClient("c9".into())).unwrap_err();
    assert!(e.contains("c9"), "{e}");
    assert!(c.left.recorded().is_empty() && c.right.recorded().is_empty());
}
