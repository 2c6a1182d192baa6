//! Issue 18: no saved setup may brick the page. Every setup a person can
//! reach through the page's fields either builds a valid scenario (and so
//! can be saved, read back and run again) or is refused with a message
//! naming the field, and a refused change leaves the setup as it was.
//!
//! Walked two ways: every whole-number field at and just past its bounds,
//! and random sequences of what the page's controls do (toolbar changes,
//! Add producer / Add consumer, a live client's settings row), mirroring
//! `ui::state`'s reducer, which is browser-only.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::app::playground::{
    bounds, fields, BrokerKind, ConsumerSettings, FieldBounds, ProducerSettings, Setup,
};
use brokerlab::app::resume;
use brokerlab::app::session::Session;
use brokerlab::config::Guarantee;
use brokerlab::config::{ProcessingSpec, Setting};
use proptest::prelude::*;

/// `setup` can be saved, read back and run: what the page relies on.
fn assert_runs(setup: &Setup) {
    let scenario = setup
        .to_scenario()
        .unwrap_or_else(|e| panic!("{setup:?} is refused: {e}"));
    scenario.validate().expect("the scenario is valid");
    assert_eq!(
        resume::from_text(&resume::to_text(setup)).as_ref(),
        Ok(setup)
    );
    Session::from_setup(setup).expect("the page can start it");
}

/// `setup` with `value` written into the field `field` names.
fn with_field(setup: &Setup, field: &FieldBounds, value: u64) -> Setup {
    let mut s = setup.clone();
    let narrow = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    match field.field {
        "Partitions" => s.partitions = narrow(value),
        "Seed" => s.seed = value,
        "Rate" => s.producers[0].rate_per_s = value,
        "Keys" => s.producers[0].keys = narrow(value),
        "Processing time" => s.consumers[0].processing_ms = value,
        "Prefetch" => s.consumers[0].prefetch = narrow(value),
        other => panic!("a field this test does not know: {other}"),
    }
    s
}

/// Each broker with each guarantee it can run.
fn systems() -> Vec<Setup> {
    let mut out = Vec::new();
    for broker in BrokerKind::ALL {
        for delivery in Guarantee::ALL {
            let setup = Setup {
                broker,
                delivery,
                ..Setup::default()
            };
            if setup.check().is_ok() {
                out.push(setup);
            }
        }
    }
    assert_eq!(out.len(), 7, "4 guarantees on the log, 3 on the queue");
    out
}

#[test]
fn every_field_at_its_bounds_builds_or_is_refused_by_name() {
    for system in systems() {
        for field in fields::ALL {
            let inside = [field.min, field.max];
            let outside = [field.min.checked_sub(1), field.max.checked_add(1)];
            for value in inside {
                assert_runs(&with_field(&system, &field, value));
            }
            for value in outside.into_iter().flatten() {
                let setup = with_field(&system, &field, value);
                let error = setup.to_scenario().expect_err("out of bounds");
                assert_eq!(error.field, field.field, "{value}: {error}");
                assert!(
                    error.reason.contains(&field.max.to_string()),
                    "says the range: {error}"
                );
                let typed = field.parse(&value.to_string()).expect_err("refused");
                assert_eq!(typed.field, field.field);
            }
        }
    }
}

/// The case: 2,778 msgs/s × 3,600 s is more than a run holds.
#[test]
fn a_rate_a_run_cannot_hold_is_refused_with_the_reason() {
    assert_eq!(bounds::RATE_PER_S_MAX, 2_777);
    let mut setup = Setup::default();
    setup.producers[0].rate_per_s = 2_778;
    let error = setup.to_scenario().expect_err("too fast");
    assert_eq!(error.field, "Rate");
    assert_eq!(
        error.reason,
        "must be from 1 to 2777: a run lasts 3,600 s and holds at most 10,000,000 messages per producer"
    );
    // A saved setup like it (an older page allowed 10,000) is damaged, with
    // the reason, instead of panicking every later load.
    let saved = resume::from_text(&resume::to_text(&setup)).expect_err("damaged");
    assert!(saved.contains("Rate: must be from 1 to 2777"), "{saved}");
}

#[test]
fn the_largest_page_setup_runs_on_every_broker_and_guarantee() {
    for system in systems() {
        let half = bounds::CLIENTS_MAX / 2;
        let setup = Setup {
            partitions: bounds::PARTITIONS_MAX,
            seed: u64::MAX,
            producers: vec![
                ProducerSettings {
                    rate_per_s: bounds::RATE_PER_S_MAX,
                    keys: bounds::KEYS_MAX,
                };
                half
            ],
            consumers: vec![
                ConsumerSettings {
                    processing_ms: bounds::PROCESSING_MS_MAX,
                    prefetch: bounds::PREFETCH_MAX,
                };
                bounds::CLIENTS_MAX - half
            ],
            ..system
        };
        assert_runs(&setup);
        let mut more = setup.clone();
        more.consumers.push(ConsumerSettings::default());
        assert_eq!(more.to_scenario().unwrap_err().field, "Clients");
        let empty = Setup {
            producers: Vec::new(),
            consumers: Vec::new(),
            ..setup
        };
        assert_eq!(empty.to_scenario().unwrap_err().field, "Clients");
    }
}

#[test]
fn a_refused_add_leaves_the_setup_and_the_run_alone() {
    let mut session = Session::from_setup(&Setup::default()).unwrap();
    let before = session.setup().cloned();
    let clients = session.world().clients().len();
    let fast = ProducerSettings {
        rate_per_s: 10_000,
        keys: 0,
    };
    let error = session.add_producer(fast).expect_err("too fast");
    assert!(error.starts_with("Rate: must be from 1 to 2777"), "{error}");
    assert_eq!(
        session.setup().cloned(),
        before,
        "the saved setup is untouched"
    );
    assert_eq!(session.world().clients().len(), clients, "no p2 in the run");
    session.add_producer(ProducerSettings::default()).unwrap();
    assert_eq!(session.setup().unwrap().producers.len(), 2);
}

/// One thing a person can do to the page's setup.
#[derive(Clone, Debug)]
enum Op {
    Broker(BrokerKind),
    Guarantee(Guarantee),
    /// Text typed into Partitions or Seed.
    Toolbar(&'static str, String),
    AddProducer(ProducerSettings),
    AddConsumer(ConsumerSettings),
    /// A settings-row field of the `n`th client (wrapping), as typed.
    Live(usize, &'static str, u32),
}

/// Numbers at and around every bound, and anything else a field might get.
fn number() -> impl Strategy<Value = u64> {
    let mut edges: Vec<u64> = vec![0, 1, 2, u64::from(u32::MAX), u64::MAX];
    for f in fields::ALL {
        edges.extend([
            f.min,
            f.max,
            f.min.saturating_sub(1),
            f.max.saturating_add(1),
        ]);
    }
    prop_oneof![prop::sample::select(edges), 0u64..20_000, any::<u64>()]
}

fn op() -> impl Strategy<Value = Op> {
    let narrow = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    prop_oneof![
        prop::sample::select(BrokerKind::ALL.to_vec()).prop_map(Op::Broker),
        prop::sample::select(Guarantee::ALL.to_vec()).prop_map(Op::Guarantee),
        (prop::sample::select(vec!["Partitions", "Seed"]), number())
            .prop_map(|(f, n)| Op::Toolbar(f, n.to_string())),
        (number(), number()).prop_map(move |(rate_per_s, keys)| Op::AddProducer(
            ProducerSettings {
                rate_per_s,
                keys: narrow(keys),
            }
        )),
        (number(), number()).prop_map(move |(processing_ms, prefetch)| Op::AddConsumer(
            ConsumerSettings {
                processing_ms,
                prefetch: narrow(prefetch),
            }
        )),
        (
            0usize..64,
            prop::sample::select(vec!["Rate", "Keys", "Processing time", "Prefetch"]),
            number()
        )
            .prop_map(move |(i, f, n)| Op::Live(i, f, narrow(n))),
    ]
}

/// The page as the reducer keeps it: the toolbar's last good setup and the
/// running session (whose setup grows with clients added live).
struct Page {
    toolbar: Setup,
    session: Session,
}

impl Page {
    /// A new run from the toolbar, as `AppState::try_setup`: kept only if it
    /// builds.
    fn restart(&mut self, setup: Setup) -> Result<(), String> {
        let session = Session::from_setup(&setup).map_err(|e| e.to_string())?;
        (self.toolbar, self.session) = (setup, session);
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), String> {
        let toolbar = self.toolbar.clone();
        match op {
            Op::Broker(broker) => self.restart(Setup {
                broker: *broker,
                ..toolbar
            }),
            Op::Guarantee(delivery) => self.restart(Setup {
                delivery: *delivery,
                ..toolbar
            }),
            Op::Toolbar(field, text) => {
                let bounds = if *field == "Seed" {
                    fields::SEED
                } else {
                    fields::PARTITIONS
                };
                let n = bounds.parse(text).map_err(|e| e.to_string())?;
                let setup = match *field {
                    "Seed" => Setup { seed: n, ..toolbar },
                    _ => Setup {
                        partitions: u32::try_from(n).map_err(|e| e.to_string())?,
                        ..toolbar
                    },
                };
                self.restart(setup)
            }
            Op::AddProducer(p) => self.session.add_producer(*p),
            Op::AddConsumer(c) => self.session.add_consumer(*c),
            Op::Live(i, field, n) => {
                let clients = self.session.world().clients();
                let id = clients[i % clients.len()].id.clone();
                let set = match *field {
                    "Rate" => Setting::RatePerS(u64::from(*n)),
                    "Keys" => Setting::Keys(*n),
                    "Processing time" => Setting::Processing(ProcessingSpec::FixedMs((*n).into())),
                    _ => Setting::Prefetch(*n),
                };
                self.session.set_setting(&id, set)
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn whatever_the_page_is_told_its_setup_still_runs(ops in prop::collection::vec(op(), 1..40)) {
        let mut page = Page {
            toolbar: Setup::default(),
            session: Session::from_setup(&Setup::default()).unwrap(),
        };
        for op in &ops {
            let before = page.session.setup().cloned().expect("a playground run");
            let clients_before = page.session.world().clients().len();
            match page.apply(op) {
                Ok(()) => {}
                Err(message) => {
                    prop_assert!(!message.trim().is_empty(), "{op:?}: an empty refusal");
                    let after = page.session.setup().cloned();
                    prop_assert_eq!(after.as_ref(), Some(&before), "{:?} was refused but changed the setup", op);
                    prop_assert_eq!(page.session.world().clients().len(), clients_before);
                }
            }
            let setup = page.session.setup().expect("a playground run");
            prop_assert!(setup.to_scenario().is_ok(), "{op:?} left {setup:?}");
            let saved = resume::from_text(&resume::to_text(setup));
            prop_assert_eq!(saved.as_ref(), Ok(setup));
            prop_assert!(page.toolbar.to_scenario().is_ok());
        }
    }
}
