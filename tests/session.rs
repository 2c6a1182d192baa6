//! The page's session, natively: budgeted advancing, live faults and clients,
//! and a view that stays bounded however much is going on.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::app::playground::{ConsumerSettings, ProducerSettings, Setup};
use brokerlab::app::session::{Session, BOXES_PER_QUEUE_MAX, EVENT_ROWS_MAX};

fn session() -> Session {
    Session::from_setup(&Setup::default()).expect("default setup")
}

fn never() -> impl FnMut() -> bool {
    || false
}

#[test]
fn advance_covers_the_requested_virtual_time_unless_the_budget_runs_out() {
    let mut s = session();
    assert_eq!(s.advance(1_000, &mut never()), 1_000);
    assert_eq!(s.world().now_ms(), 1_000);
    // A budget spent at the first look stops after one batch of events.
    let mut spent = || true;
    let covered = s.advance(60_000, &mut spent);
    assert!(covered < 60_000, "stopped early, covered {covered} ms");
    assert!(s.world().now_ms() > 1_000, "but made progress");
}

#[test]
fn a_producer_added_mid_run_publishes_and_a_consumer_receives() {
    let mut s = session();
    s.advance(1_000, &mut never());
    s.add_producer(ProducerSettings {
        rate_per_s: 100,
        keys: 2,
    })
    .unwrap();
    s.add_consumer(ConsumerSettings {
        processing_ms: 5,
        prefetch: 3,
    })
    .unwrap();
    s.advance(2_000, &mut never());
    let view = s.view(None);
    let p2 = view
        .producers
        .iter()
        .find(|p| p.id == "p2")
        .expect("p2 listed");
    assert!(p2.count >= 150, "p2 published {} in 2 s at 100/s", p2.count);
    let c3 = view
        .consumers
        .iter()
        .find(|c| c.id == "c3")
        .expect("c3 listed");
    assert!(c3.count > 0, "the new consumer got work");
    assert!(
        s.export_json().contains("\"p2\""),
        "the export includes live additions"
    );
}

#[test]
fn slow_toggle_makes_a_consumer_do_less_and_toggles_back() {
    let mut fast = session();
    let mut slow = session();
    slow.toggle_slow("c1").unwrap();
    fast.advance(3_000, &mut never());
    slow.advance(3_000, &mut never());
    let count = |s: &Session| s.view(None).consumers[0].count;
    assert!(count(&slow) * 3 < count(&fast), "slow c1 did far less");
    assert!(slow.view(None).consumers[0].slow);
    slow.toggle_slow("c1").unwrap();
    assert!(!slow.view(None).consumers[0].slow);
    assert!(
        slow.toggle_slow("p1").is_err(),
        "only consumers can be slowed"
    );
}

#[test]
fn dropped_confirms_make_producers_retry_into_duplicates() {
    let mut s = session();
    s.advance(500, &mut never());
    s.drop_acks().unwrap();
    s.advance(5_000, &mut never());
    s.refresh_summary();
    let c = s.view(None).counts;
    assert!(c.publish_retries > 0, "{c:?}");
    assert!(c.duplicated > 0, "at least once duplicates: {c:?}");
    assert_eq!(c.lost, 0, "{c:?}");
}

#[test]
fn crash_and_restart_live_then_the_story_of_a_lost_message() {
    let mut s = session();
    s.toggle_slow("c1").unwrap();
    s.toggle_slow("c2").unwrap();
    s.advance(3_000, &mut never());
    s.crash_broker().unwrap();
    assert!(!s.view(None).broker_up());
    assert!(
        s.crash_broker().is_ok(),
        "crashing a dead broker is a no-op"
    );
    s.restart_broker().unwrap();
    s.advance(1_000, &mut never());
    s.refresh_summary();
    let view = s.view(None);
    // The playground's queue and messages are transient: the crash's loss
    // is the expected kind, told apart from a broker's fault.
    assert!(view.counts.transient_lost > 0, "{:?}", view.counts);
    assert_eq!(view.counts.lost, 0, "{:?}", view.counts);
    let lost = view
        .findings
        .iter()
        .find(|f| f.kind == "transient_lost")
        .expect("a transient_lost finding");
    assert!(lost.explanation.contains("expected loss"), "{lost:?}");
    let msg = lost.msgs[0].clone();
    let story = s.view(Some(&msg)).chain;
    let texts: Vec<&str> = story.iter().map(|r| r.text.as_str()).collect();
    assert!(texts[0].contains(&format!("published {msg}")), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("in the crash")),
        "the story ends in the crash: {texts:?}"
    );
    // Every row keeps its raw fields: the JSON line, naming the message,
    // or the broker's crash the finding dates from (its cause).
    assert!(story
        .iter()
        .all(|r| r.raw.contains(&format!("\"msg\":\"{msg}\""))
            || r.raw.contains("\"process\":\"broker\"")));
    assert!(story.iter().any(|r| r.raw.contains("\"f\":\"crash\"")));
    assert!(story
        .iter()
        .any(|r| r.raw.contains("\"f\":\"lost_in_crash\"")));
    assert!(s.crash_client("c9").is_err(), "unknown clients are refused");
}

#[test]
fn the_view_stays_bounded() {
    let mut s = session();
    s.toggle_slow("c1").unwrap();
    s.toggle_slow("c2").unwrap();
    s.advance(20_000, &mut never());
    let view = s.view(None);
    let q = &view.queues[0];
    assert!(
        q.ready_total > BOXES_PER_QUEUE_MAX,
        "a real backlog: {}",
        q.ready_total
    );
    assert!(q.ready.len() <= BOXES_PER_QUEUE_MAX);
    assert_eq!(view.events.len(), EVENT_ROWS_MAX);
    assert!(view.events[0].index > view.events[1].index, "newest first");
}

#[test]
fn a_bad_scenario_file_names_the_field() {
    let err = Session::from_json("bad.json", r#"{"seed": 1, "duration_ms": 0}"#)
        .err()
        .unwrap();
    assert!(err.reason.contains("missing field `broker`"), "{err}");
    let err = Session::from_json("bad.json", "{").err().unwrap();
    assert!(err.to_string().contains("EOF"), "{err}");
}

#[test]
fn log_sessions_add_members_slow_them_and_chart_the_lag() {
    use brokerlab::app::playground::BrokerKind;
    let setup = Setup {
        broker: BrokerKind::Log,
        partitions: 2,
        ..Setup::default()
    };
    let mut s = Session::from_setup(&setup).unwrap();
    s.advance(1_000, &mut never());
    s.add_consumer(ConsumerSettings::default()).unwrap();
    s.toggle_slow("c1").unwrap();
    s.advance(2_000, &mut never());
    let view = s.view(None);
    assert!(view.broker_durable);
    assert_eq!(view.partitions.len(), 2);
    assert_eq!(view.consumers.len(), 3);
    let group = view.group.expect("a consumer group");
    let idle: Vec<&str> = group
        .members
        .iter()
        .filter(|(_, owned)| owned.is_empty())
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(
        idle.len(),
        1,
        "3 members, 2 partitions: one idle: {:?}",
        group.members
    );
    let lag: u64 = view.partitions.iter().map(|p| p.lag).sum();
    let last = view.samples.last().expect("chart samples");
    assert_eq!(last.backlog, lag, "the chart's backlog is the group's lag");
    for p in &view.partitions {
        assert!(p.records.len() <= BOXES_PER_QUEUE_MAX);
        assert_eq!(
            p.records.last().map(|r| r.0 + 1),
            Some(p.end),
            "the newest records are drawn"
        );
    }
}

#[test]
fn the_sessions_live_checker_agrees_with_the_batch_checker_as_the_run_goes_on() {
    for setup in [
        Setup::default(),
        Setup {
            broker: brokerlab::app::playground::BrokerKind::Log,
            ..Setup::default()
        },
    ] {
        let mut s = Session::from_setup(&setup).expect("valid");
        for step in 0..6 {
            s.advance(400, &mut never());
            match step {
                1 => s.crash_broker().unwrap(),
                2 => s.restart_broker().unwrap(),
                3 => s.crash_client("c1").unwrap(),
                _ => {}
            }
            s.refresh_summary();
            let batch = s.world().summary();
            let view = s.view(None);
            assert_eq!(view.counts, batch.counts, "{:?} step {step}", setup.broker);
            let findings: Vec<_> = batch
                .findings
                .iter()
                .map(|f| (f.kind, f.msgs.clone()))
                .collect();
            let shown: Vec<_> = view
                .findings
                .iter()
                .map(|f| (f.kind, f.msgs.clone()))
                .collect();
            assert_eq!(
                shown,
                findings[..shown.len()],
                "{:?} step {step}",
                setup.broker
            );
        }
    }
}

/// A client added live is configured by the run's guarantee exactly as the
/// ones it started with: under exactly once (transactional) a new consumer
/// is a read-process-write client too, and the run still holds.
#[test]
fn a_consumer_added_live_gets_the_guarantees_knobs() {
    use brokerlab::app::playground::BrokerKind;
    use brokerlab::config::ClientSpec;
    use brokerlab::config::Guarantee;
    let setup = Setup {
        broker: BrokerKind::Log,
        delivery: Guarantee::ExactlyOnceTransactional,
        partitions: 3,
        ..Setup::default()
    };
    let mut s = Session::from_setup(&setup).unwrap();
    s.advance(500, &mut never());
    s.add_consumer(ConsumerSettings::default()).unwrap();
    let added = s.world().scenario().clients.iter().find(|c| c.id() == "c3");
    let Some(ClientSpec::LogConsumer(c3)) = added else {
        panic!("c3 is a log consumer: {added:?}")
    };
    assert!(c3.transactional.is_some(), "c3 is read-process-write");
    s.advance(3_000, &mut never());
    s.refresh_summary();
    let view = s.view(None);
    let c3 = view.consumers.iter().find(|c| c.id == "c3").unwrap();
    assert!(c3.count > 0, "c3 got partitions and processed");
    let verdict = view.verdict.expect("a playground run has a verdict");
    assert!(verdict.holds, "{}", verdict.text);
}

/// "Crash broker (tear the last write)" on a log run with the in-memory disk
/// model: the view's crash report says which batch was torn, then what the
/// restart's recovery cut; a plain crash with nothing in flight says so.
#[test]
fn a_torn_crash_is_reported_with_what_recovery_cut() {
    use brokerlab::app::playground::BrokerKind;
    let setup = Setup {
        broker: BrokerKind::Log,
        ..Setup::default()
    };
    let mut s = Session::from_setup(&setup).expect("log setup");
    assert_eq!(s.view(None).last_crash, None);
    s.advance(500, &mut never());
    let in_flight = |s: &Session| {
        let view = s.view(None);
        view.partitions.iter().any(|p| p.durable_end < p.end)
    };
    for _ in 0..1_000 {
        if in_flight(&s) {
            break;
        }
        s.step_once();
    }
    assert!(in_flight(&s), "a group commit in flight");
    s.crash_broker_torn().expect("a log broker can tear");
    let crash = s.view(None).last_crash.expect("the crash is reported");
    let torn = crash.torn.as_ref().expect("the write in flight was torn");
    assert_eq!(torn.stream, "orders-0");
    assert!(torn.kept_bytes < torn.batch_len, "{torn:?}");
    assert!(crash.text().contains("recovery runs at its restart"));
    s.restart_broker().unwrap();
    let crash = s.view(None).last_crash.unwrap();
    assert_eq!(crash.truncated.len(), 1, "{crash:?}");
    assert!(
        crash
            .text()
            .contains("recovery truncated orders-0 at offset"),
        "{}",
        crash.text()
    );

    // A plain crash with no write in flight tears nothing and cuts nothing.
    s.advance(2_000, &mut never());
    while in_flight(&s) {
        s.step_once();
    }
    s.crash_broker().unwrap();
    s.restart_broker().unwrap();
    let text = s.view(None).last_crash.unwrap().text();
    assert!(text.contains("no write was in flight"), "{text}");
    assert!(text.contains("cut nothing"), "{text}");
}
