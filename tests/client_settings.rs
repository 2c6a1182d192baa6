//! Live per-client settings (issue 7): a change takes effect from the
//! client's next decision, is a `setting` event in the history, replays from
//! an exported scenario byte for byte, and bad values are refused with what
//! and where while the old value stays.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::app::playground::{BrokerKind, Setup};
use brokerlab::app::session::Session;
use brokerlab::config::Guarantee;
use brokerlab::config::Setting;
use brokerlab::config::{AckMode, ProcessingSpec, Scenario};
use brokerlab::history::{Entry, Proc};
use brokerlab::world::World;

const SEED: u64 = 7;

fn playground(broker: BrokerKind, delivery: Guarantee) -> Scenario {
    let setup = Setup {
        broker,
        delivery,
        seed: SEED,
        ..Setup::default()
    };
    let mut s = setup.to_scenario().expect("a valid setup");
    s.duration_ms = 6_000;
    s
}

fn reproduce(test: &str) -> String {
    format!("seed {SEED}; reproduce: cargo test --test client_settings {test}")
}

/// The `setting` events of the history: (time, client, setting).
fn setting_events(world: &World) -> Vec<(u64, String, Setting)> {
    world
        .history()
        .events()
        .iter()
        .filter_map(|ev| match (ev.process, ev.entry) {
            (Proc::Client(c), Entry::Setting(set)) => {
                Some((ev.time_ms, world.names().client(c).to_string(), set))
            }
            _ => None,
        })
        .collect()
}

/// The changes one test makes, at fixed virtual times.
fn changes() -> Vec<(u64, &'static str, Setting)> {
    vec![
        (1_000, "c1", Setting::Prefetch(1)),
        (1_500, "p1", Setting::RatePerS(200)),
        (2_000, "c2", Setting::Processing(ProcessingSpec::FixedMs(5))),
        (2_500, "p1", Setting::Keys(9)),
        (3_000, "c1", Setting::AckMode(AckMode::BeforeProcessing)),
    ]
}

fn run_with_changes(scenario: &Scenario) -> World {
    let mut world = World::new(scenario);
    for (at_ms, id, set) in changes() {
        world.run_until(at_ms).unwrap();
        world
            .set_client(id, set)
            .unwrap_or_else(|e| panic!("{id} {set:?}: {e}; {}", reproduce("same_changes")));
    }
    world.run().unwrap();
    world
}

#[test]
fn same_changes_give_the_same_history_and_the_export_replays_it() {
    let scenario = playground(BrokerKind::Queue, Guarantee::AtLeastOnce);
    let a = run_with_changes(&scenario);
    let b = run_with_changes(&scenario);
    let hash = |w: &World| w.history().hash(w.names());
    assert_eq!(hash(&a), hash(&b), "{}", reproduce("same_changes"));
    let logged = setting_events(&a);
    let wanted: Vec<_> = changes()
        .into_iter()
        .map(|(t, id, set)| (t, id.to_string(), set))
        .collect();
    assert_eq!(
        logged, wanted,
        "every change is a setting event at its time"
    );
    // The exported scenario carries the changes and replays the same run.
    let exported = Scenario::from_json(&a.scenario().to_json_pretty()).expect("valid export");
    assert_eq!(exported.settings.len(), changes().len());
    let mut replay = World::new(&exported);
    replay.run().unwrap();
    assert_eq!(hash(&replay), hash(&a), "{}", reproduce("same_changes"));
    // And a run without the changes differs.
    let mut plain = World::new(&scenario);
    plain.run().unwrap();
    assert_ne!(hash(&plain), hash(&a));
}

#[test]
fn a_lowered_prefetch_keeps_what_is_in_hand_and_then_bounds_it() {
    let mut s = playground(BrokerKind::Queue, Guarantee::AtLeastOnce);
    s.settings.clear();
    let mut world = World::new(&s);
    // c2 (35 ms per message, prefetch 5) falls behind a 50 msg/s producer
    // only slightly; make it slow so its prefetch window fills.
    world
        .set_client("c2", Setting::Processing(ProcessingSpec::FixedMs(200)))
        .unwrap();
    world.run_until(2_000).unwrap();
    let in_hand = |w: &World| w.clients().iter().find(|c| c.id == "c2").unwrap().in_hand;
    assert_eq!(in_hand(&world), 5, "the window is full before the change");
    world.set_client("c2", Setting::Prefetch(2)).unwrap();
    assert_eq!(in_hand(&world), 5, "basic.qos takes nothing back");
    assert_eq!(world.client_settings("c2").unwrap().prefetch, Some(2));
    // Once the deliveries in hand are done, never more than 2 again.
    world.run_until(3_500).unwrap();
    for t in (3_500..5_000).step_by(50) {
        world.run_until(t).unwrap();
        assert!(in_hand(&world) <= 2, "t={t}: {}", reproduce("a_lowered"));
    }
    // Raising it lets more through right away.
    world.set_client("c2", Setting::Prefetch(8)).unwrap();
    world.run_until(5_600).unwrap();
    assert!(in_hand(&world) > 2, "{}", reproduce("a_lowered"));
}

#[test]
fn a_rate_change_applies_from_the_next_publish_slot() {
    let s = playground(BrokerKind::Log, Guarantee::AtLeastOnce);
    let mut world = World::new(&s);
    let published = |w: &World| w.clients().iter().find(|c| c.id == "p1").unwrap().count;
    world.run_until(1_000).unwrap();
    let before = published(&world);
    assert!((49..=51).contains(&before), "50 msgs/s: {before}");
    world.set_client("p1", Setting::RatePerS(400)).unwrap();
    world.run_until(2_000).unwrap();
    let during = published(&world) - before;
    assert!((395..=402).contains(&during), "400 msgs/s: {during}");
    assert_eq!(world.client_settings("p1").unwrap().rate_per_s, Some(400));
    // Keys k0..k5 on the log: new keys go to their murmur2 partitions, and
    // the run still holds at least once.
    world.set_client("p1", Setting::Keys(6)).unwrap();
    world.run().unwrap();
    assert_eq!(world.client_settings("p1").unwrap().keys, Some(6));
    let summary = world.summary();
    assert_eq!(summary.counts.lost, 0, "{}", reproduce("a_rate_change"));
}

#[test]
fn a_log_consumers_max_poll_records_changes_at_its_next_poll() {
    let s = playground(BrokerKind::Log, Guarantee::AtLeastOnce);
    let mut world = World::new(&s);
    world.run_until(500).unwrap();
    world.set_client("c1", Setting::Prefetch(1)).unwrap();
    assert_eq!(world.client_settings("c1").unwrap().prefetch, Some(1));
    world.run_until(1_500).unwrap();
    for t in (1_500..3_000).step_by(25) {
        world.run_until(t).unwrap();
        let c1 = world.clients().into_iter().find(|c| c.id == "c1").unwrap();
        assert!(c1.in_hand <= 1, "t={t}: {}", reproduce("max_poll_records"));
    }
    world.run().unwrap();
    assert_eq!(world.summary().counts.lost, 0);
}

#[test]
fn bad_changes_are_refused_with_what_and_where_and_change_nothing() {
    let s = playground(BrokerKind::Queue, Guarantee::AtLeastOnce);
    let mut world = World::new(&s);
    world.run_until(300).unwrap();
    let events_before = world.history().len();
    let cases = [
        (
            "c1",
            Setting::Prefetch(0),
            "settings[0].set.prefetch",
            "from 1 to 10000",
        ),
        (
            "c1",
            Setting::Prefetch(10_001),
            "settings[0].set.prefetch",
            "from 1",
        ),
        (
            "p1",
            Setting::RatePerS(0),
            "settings[0].set.rate_per_s",
            "from 1",
        ),
        (
            "p1",
            Setting::Keys(65),
            "settings[0].set.keys",
            "from 0 to 64",
        ),
        (
            "p1",
            Setting::Prefetch(3),
            "settings[0].set.prefetch",
            "is a producer",
        ),
        (
            "c1",
            Setting::RatePerS(3),
            "settings[0].set.rate_per_s",
            "is a consumer",
        ),
        (
            "ghost",
            Setting::Prefetch(3),
            "settings[0].client",
            "unknown client id",
        ),
        (
            "c1",
            Setting::AckMode(AckMode::Auto),
            "settings[0].set.ack_mode",
            "basic.consume flag",
        ),
        (
            "c1",
            Setting::Processing(ProcessingSpec::UniformMs { min: 9, max: 1 }),
            "settings[0].set.processing.uniform_ms.min",
            "greater than max",
        ),
    ];
    for (id, set, path, reason) in cases {
        let e = world.set_client(id, set).expect_err("refused");
        assert_eq!(e.path, path, "{id} {set:?}");
        assert!(e.reason.contains(reason), "{id} {set:?}: {}", e.reason);
    }
    assert_eq!(world.history().len(), events_before, "nothing recorded");
    assert!(world.scenario().settings.is_empty(), "nothing kept");
    assert_eq!(world.client_settings("c1").unwrap().prefetch, Some(5));
    // A scenario's guarantee sets the ack modes: a change is refused.
    let mut g = playground(BrokerKind::Queue, Guarantee::AtLeastOnce);
    g.guarantee = Some(brokerlab::config::Guarantee::AtLeastOnce);
    let mut world = World::new(&g);
    let e = world
        .set_client("c1", Setting::AckMode(AckMode::BeforeProcessing))
        .expect_err("the guarantee sets it");
    assert!(e.reason.contains("guarantee"), "{e}");
    // A log consumer's commit mode is set at start.
    let mut world = World::new(&playground(BrokerKind::Log, Guarantee::AtLeastOnce));
    let e = world
        .set_client("c1", Setting::AckMode(AckMode::BeforeProcessing))
        .expect_err("log commit mode");
    assert!(e.reason.contains("commit mode"), "{e}");
}

#[test]
fn a_scenario_files_settings_are_validated_with_their_path() {
    let mut s = playground(BrokerKind::Queue, Guarantee::AtLeastOnce);
    let text = s.to_json_pretty().replace(
        "\"faults\": [],",
        "\"faults\": [], \"settings\": [{\"at_ms\": 10, \"client\": \"c1\", \"set\": {\"prefetch\": 0}}],",
    );
    assert!(
        text.contains("\"settings\""),
        "the replace found its anchor"
    );
    let e = Scenario::from_json(&text).expect_err("prefetch 0");
    assert!(e.to_string().starts_with("settings[0].set.prefetch"), "{e}");
    s.settings.clear();
    assert!(
        !s.to_json_pretty().contains("settings"),
        "empty lists are left out"
    );
}

#[test]
fn the_session_keeps_the_setup_refuses_guaranteed_ack_modes_and_keeps_slow() {
    let mut session = Session::from_setup(&Setup::default()).unwrap();
    let mut never = || false;
    session.advance(500, &mut never);
    session.set_setting("c1", Setting::Prefetch(2)).unwrap();
    session.set_setting("p1", Setting::RatePerS(120)).unwrap();
    let setup = session.setup().unwrap();
    assert_eq!(setup.consumers[0].prefetch, 2, "saved for resume");
    assert_eq!(setup.producers[0].rate_per_s, 120);
    // Page bounds: prefetch at most 1000, rate at most 10000 msgs/s.
    let e = session
        .set_setting("c1", Setting::Prefetch(1001))
        .unwrap_err();
    assert!(e.contains("1 to 1000"), "{e}");
    let e = session.set_setting("p1", Setting::RatePerS(0)).unwrap_err();
    assert!(e.contains("from 1"), "{e}");
    assert_eq!(
        session.setup().unwrap().consumers[0].prefetch,
        2,
        "old value stays"
    );
    let e = session
        .set_setting("c1", Setting::AckMode(AckMode::BeforeProcessing))
        .unwrap_err();
    assert!(e.contains("Set by Delivery (At least once)"), "{e}");
    // Slow, then a new processing time: slow stays on, from the new base.
    session.toggle_slow("c1").unwrap();
    session
        .set_setting("c1", Setting::Processing(ProcessingSpec::FixedMs(7)))
        .unwrap();
    let live = session.world().client_settings("c1").unwrap().processing;
    assert_eq!(live, Some(ProcessingSpec::FixedMs(70)));
    let view = session.view(None);
    let c1 = view.consumers.iter().find(|c| c.id == "c1").unwrap();
    assert_eq!(c1.settings.processing, Some(ProcessingSpec::FixedMs(7)));
    assert!(c1.slow);
    session.toggle_slow("c1").unwrap();
    let live = session.world().client_settings("c1").unwrap().processing;
    assert_eq!(live, Some(ProcessingSpec::FixedMs(7)));
    assert_eq!(session.setup().unwrap().consumers[0].processing_ms, 7);
    // The export carries every change, Slow included.
    let exported = Scenario::from_json(&session.export_json()).unwrap();
    assert_eq!(exported.settings.len(), 5);
}
