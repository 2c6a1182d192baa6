//! The page's settings become valid scenarios, the guarantee configures both
//! ends, and the verdict judges processed effects against the guarantee.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::app::playground::{verdict, BrokerKind, Setup};
use brokerlab::app::session::Session;
use brokerlab::config::{AckMode, BrokerSpec, ClientSpec, FaultAction, FaultSpec, Guarantee};
use brokerlab::world::World;

fn consumers(s: &brokerlab::config::Scenario) -> Vec<&brokerlab::config::ConsumerSpec> {
    s.clients
        .iter()
        .filter_map(|c| match c {
            ClientSpec::Consumer(k) => Some(k),
            _ => None,
        })
        .collect()
}

#[test]
fn default_setup_is_a_valid_round_robin_system() {
    let scenario = Setup::default()
        .to_scenario()
        .expect("the default setup runs");
    assert_eq!(scenario.clients.len(), 3);
    let BrokerSpec::Queue(b) = &scenario.broker else {
        panic!("a queue broker")
    };
    assert_eq!(b.queues.len(), 1);
    assert!(consumers(&scenario).iter().all(|c| c.queue == "work"));
}

/// What a new user meets (issue 12): the default playground holds a growing
/// backlog, so a first broker crash on the in-memory queue loses confirmed
/// messages and the verdict says so.
#[test]
fn default_setup_builds_a_backlog_that_a_crash_loses() {
    let mut session = Session::from_setup(&Setup::default()).expect("the default setup runs");
    let mut never = || false;
    session.advance(2_000, &mut never);
    let early = held(&session);
    session.advance(3_000, &mut never);
    let late = held(&session);
    assert!(early >= 10, "a backlog after 2 s: {early}");
    assert!(
        late >= early + 20,
        "and it grows: {early} at 2 s, {late} at 5 s"
    );
    session.refresh_summary();
    assert_eq!(session.summary().counts.lost, 0, "nothing lost yet");

    session.crash_broker().expect("a crash now");
    session.restart_broker().expect("a restart now");
    session.advance(1_000, &mut never);
    session.refresh_summary();
    // The default queue and messages are transient: an expected loss
    // (transient_lost), not a broker fault (lost), yet gone all the same.
    let counts = session.summary().counts;
    let lost = counts.transient_lost;
    assert!(
        lost >= late / 2 && counts.lost == 0,
        "the crash lost the backlog: {lost} of {late}"
    );
    let view = session.view(None);
    assert!(
        view.verdict.is_some_and(|v| !v.holds),
        "at least once is violated"
    );
}

/// Messages the broker holds: what the chart draws as the backlog.
fn held(session: &Session) -> u64 {
    session.world().broker().held().len() as u64
}

#[test]
fn guarantee_configures_both_ends() {
    let mut setup = Setup {
        delivery: Guarantee::AtMostOnce,
        ..Setup::default()
    };
    let s = setup.to_scenario().unwrap();
    assert!(consumers(&s).iter().all(|c| c.ack_mode == AckMode::Auto));
    assert!(s.clients.iter().all(|c| match c {
        ClientSpec::Producer(p) => p.confirms.is_none(),
        _ => true,
    }));
    assert!(s.expect.no_duplicated && !s.expect.no_lost);

    setup.delivery = Guarantee::AtLeastOnce;
    let s = setup.to_scenario().unwrap();
    assert!(consumers(&s)
        .iter()
        .all(|c| c.ack_mode == AckMode::AfterProcessing));
    assert!(s.clients.iter().all(|c| match c {
        ClientSpec::Producer(p) => p.confirms.is_some_and(|c| c.max_retries > 0),
        _ => true,
    }));
    assert!(s.expect.no_lost && !s.expect.no_duplicated);
}

#[test]
fn partitions_fan_out_by_key_hash_to_one_queue_each() {
    let setup = Setup {
        partitions: 3,
        consumers: vec![Default::default(); 3],
        ..Setup::default()
    };
    let s = setup.to_scenario().unwrap();
    let BrokerSpec::Queue(b) = &s.broker else {
        panic!("a queue broker")
    };
    let names: Vec<&str> = b.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["q0", "q1", "q2"]);
    assert_eq!(b.exchanges.len(), 1);
    let queues: Vec<&str> = consumers(&s).iter().map(|c| c.queue.as_str()).collect();
    assert_eq!(queues, ["q0", "q1", "q2"]);
}

#[test]
fn impossible_or_unbuilt_settings_name_their_control() {
    let bad = |setup: Setup| setup.to_scenario().unwrap_err().field;
    assert_eq!(
        bad(Setup {
            partitions: 0,
            ..Setup::default()
        }),
        "Partitions"
    );
    assert_eq!(
        bad(Setup {
            partitions: 17,
            ..Setup::default()
        }),
        "Partitions"
    );
    let mut setup = Setup {
        delivery: Guarantee::ExactlyOnceTransactional,
        ..Setup::default()
    };
    assert_eq!(bad(setup.clone()), "Delivery");
    setup.delivery = Guarantee::AtLeastOnce;
    setup.consumers[0].prefetch = 0;
    assert_eq!(bad(setup.clone()), "Prefetch");
    setup.consumers[0].prefetch = 5;
    setup.producers[0].rate_per_s = 0;
    assert_eq!(bad(setup), "Rate");
}

/// Issue 11: one guarantee table. The page's knobs are exactly what the
/// guarantee module sets for a scenario file claiming the same guarantee,
/// and a guarantee a broker cannot give is refused with the one text.
#[test]
fn the_pages_delivery_is_the_guarantee_modules_table() {
    for broker in BrokerKind::ALL {
        for delivery in Guarantee::ALL {
            let setup = Setup {
                broker,
                delivery,
                partitions: 3,
                ..Setup::default()
            };
            let Some(why) = broker.unavailable(delivery) else {
                let page = setup.to_scenario().expect("runs");
                let mut file = page.clone();
                file.guarantee = Some(delivery);
                let file = brokerlab::guarantee::resolved(&file);
                assert_eq!(page.clients, file.clients, "{broker:?} {delivery:?}");
                assert_eq!(page.expect, file.expect, "{broker:?} {delivery:?}");
                let retries = |c: &ClientSpec| match c {
                    ClientSpec::Producer(p) => p.confirms.map(|c| c.max_retries),
                    ClientSpec::LogProducer(p) => Some(p.retries),
                    _ => None,
                };
                let want = match delivery {
                    Guarantee::AtMostOnce => None,
                    _ => Some(brokerlab::guarantee::RETRIES_AT_LEAST),
                };
                for p in page.clients.iter().filter_map(retries) {
                    assert_eq!(Some(p).filter(|&n| n > 0), want, "{broker:?} {delivery:?}");
                }
                continue;
            };
            let error = setup.to_scenario().expect_err("refused");
            assert_eq!((error.field, error.reason), ("Delivery", why.to_string()));
            // A scenario file on the same broker claiming it: the same text.
            let mut file = Setup {
                delivery: Guarantee::AtLeastOnce,
                ..setup
            }
            .to_scenario()
            .unwrap();
            file.guarantee = Some(delivery);
            let error = file.validate().expect_err("a file is refused too");
            assert_eq!(error.reason, format!("{} {why}", delivery.name()));
        }
    }
}

/// Runs a setup for 4 s with the broker crashing at 1 s and restarting at 1.2 s.
fn run_with_broker_crash(delivery: Guarantee) -> brokerlab::check::Summary {
    // Consumers slower than the producer (2 × 10/s < 50/s), so a backlog builds.
    let slow = brokerlab::app::playground::ConsumerSettings {
        processing_ms: 100,
        prefetch: 5,
    };
    let mut scenario = Setup {
        delivery,
        consumers: vec![slow; 2],
        ..Setup::default()
    }
    .to_scenario()
    .unwrap();
    scenario.duration_ms = 4_000;
    crash_broker_at_1s(&mut scenario);
    let mut world = World::new(&scenario);
    world.run().unwrap();
    world.summary()
}

#[test]
fn verdict_judges_the_claimed_guarantee() {
    // An in-memory broker crash loses confirmed messages it still held.
    let run = run_with_broker_crash(Guarantee::AtLeastOnce);
    // The playground's messages are transient: the loss is the expected
    // kind, yet it still breaks at least once.
    assert!(
        run.counts.transient_lost > 0 && run.counts.lost == 0,
        "the crash lost messages: {:?}",
        run.counts
    );
    assert_eq!(run.counts.duplicated, 0, "{:?}", run.counts);

    // That loss breaks at least once, and the verdict says how much and what.
    let v = verdict(Guarantee::AtLeastOnce, &run);
    assert!(!v.holds);
    assert_eq!(v.violations, run.counts.transient_lost);
    assert!(
        v.text.starts_with("At least once: violated: "),
        "{}",
        v.text
    );
    assert!(v.text.ends_with("(transient_lost)"), "{}", v.text);

    // At most once tolerates loss; with no duplicates the same run holds.
    let v = verdict(Guarantee::AtMostOnce, &run);
    assert!(v.holds, "{}", v.text);
    assert_eq!(v.text, "At most once: holds");
}

#[test]
fn fire_and_forget_loss_is_not_jepsen_lost() {
    // Without confirms nothing was acknowledged, so vanished messages are
    // "unconfirmed and missing", not "lost" in Jepsen's sense.
    let run = run_with_broker_crash(Guarantee::AtMostOnce);
    assert_eq!(run.counts.lost, 0, "{:?}", run.counts);
    assert!(run.counts.unconfirmed_missing > 0, "{:?}", run.counts);
}

/// The log broker on the page: partitions become a topic, consumers one group.
fn log_setup(delivery: Guarantee) -> Setup {
    Setup {
        broker: BrokerKind::Log,
        delivery,
        partitions: 4,
        ..Setup::default()
    }
}

#[test]
fn the_log_broker_maps_partitions_consumers_and_delivery_to_kafka_settings() {
    use brokerlab::config::{Acks, CommitMode};
    let s = log_setup(Guarantee::AtMostOnce).to_scenario().unwrap();
    let BrokerSpec::Log(b) = &s.broker else {
        panic!("a log broker")
    };
    assert_eq!(b.topics[0].partitions, 4);
    for c in &s.clients {
        match c {
            ClientSpec::LogProducer(p) => assert_eq!((p.acks, p.retries), (Acks::Zero, 0)),
            ClientSpec::LogConsumer(k) => {
                assert_eq!(k.commit, Some(CommitMode::BeforeProcessing));
                assert!(!k.enable_auto_commit);
                assert_eq!(k.group_id, brokerlab::app::playground::LOG_GROUP);
            }
            other => panic!("a queue client in a log setup: {other:?}"),
        }
    }
    let s = log_setup(Guarantee::AtLeastOnce).to_scenario().unwrap();
    for c in &s.clients {
        match c {
            ClientSpec::LogProducer(p) => {
                assert_eq!(p.acks, Acks::All);
                assert!(p.retries > 0);
            }
            ClientSpec::LogConsumer(k) => assert_eq!(k.commit, Some(CommitMode::AfterProcessing)),
            other => panic!("a queue client in a log setup: {other:?}"),
        }
    }
}

#[test]
fn at_least_once_on_the_log_survives_a_broker_crash_and_at_most_once_does_not_duplicate() {
    let run = |delivery: Guarantee| {
        let mut scenario = log_setup(delivery).to_scenario().unwrap();
        scenario.duration_ms = 4_000;
        crash_broker_at_1s(&mut scenario);
        let mut world = brokerlab::world::World::new(&scenario);
        world.finish().unwrap();
        world.summary()
    };
    let least = run(Guarantee::AtLeastOnce);
    assert_eq!(least.counts.lost, 0, "{:?}", least.findings);
    assert!(least.counts.processed > 100);
    assert!(brokerlab::app::playground::verdict(Guarantee::AtLeastOnce, &least).holds);
    let most = run(Guarantee::AtMostOnce);
    assert_eq!(most.counts.duplicated, 0, "{:?}", most.findings);
    assert!(brokerlab::app::playground::verdict(Guarantee::AtMostOnce, &most).holds);
}

/// The broker crashes at 1 s and restarts at 1.2 s.
fn crash_broker_at_1s(scenario: &mut brokerlab::config::Scenario) {
    for (at_ms, action) in [(1_000, FaultAction::Crash), (1_200, FaultAction::Restart)] {
        scenario.faults.push(FaultSpec {
            at_ms,
            action,
            target: "broker".into(),
            until_ms: None,
        });
    }
}
