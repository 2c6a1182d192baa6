//! "Show me" (issue 15 item 2): every finding the checker reports has a
//! causal chain read from the history by one rule for all kinds
//! (`check::chain`), never empty, in history order, starting from an event
//! that names the finding's message when it names one. Every bundled
//! scenario runs plain and under random faults, so each kind the checker
//! can report turns up; the kinds seen are printed with `--nocapture`.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/bundled.rs"]
mod bundled;

use brokerlab::check::chain::{causal_chain, CHAIN_EVENTS_MAX};
use brokerlab::config::Scenario;
use brokerlab::sim::faults::with_random_faults;
use brokerlab::world::World;
use std::collections::BTreeMap;

/// Seeds of random faults per scenario (plus the plain run).
const FAULT_SEEDS: u64 = 6;

#[test]
fn every_finding_of_every_kind_has_a_causal_chain() {
    let mut kinds: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (name, scenario) in bundled::scenarios() {
        let runs = std::iter::once(scenario.clone())
            .chain((1..=FAULT_SEEDS).map(|seed| with_random_faults(&scenario, seed)));
        for run in runs {
            let mut world = World::new(&run);
            world.finish().expect("within bounds");
            let events = world.history().events();
            for f in world.summary().findings {
                let chain = causal_chain(events, &f);
                assert!(!chain.is_empty(), "{name}: {} has no chain: {f:?}", f.kind);
                assert!(chain.len() <= CHAIN_EVENTS_MAX);
                assert!(chain.windows(2).all(|w| w[0] < w[1]), "in history order");
                assert!(chain.iter().all(|&i| i < events.len()));
                if let Some(first) = f.msgs.first() {
                    let names_it = chain.iter().any(|&i| {
                        events[i]
                            .entry
                            .msg()
                            .map(brokerlab::history::msg_name)
                            .as_ref()
                            == Some(first)
                    });
                    assert!(names_it, "{name}: {}'s chain never names {first}", f.kind);
                }
                *kinds.entry(f.kind).or_default() += 1;
            }
        }
    }
    println!("findings with a chain, by kind: {kinds:?}");
    for kind in EXPECTED_KINDS {
        assert!(
            kinds.contains_key(kind),
            "no run produced a `{kind}` finding"
        );
    }
}

/// The kinds these runs produce (each checked above).
const EXPECTED_KINDS: &[&str] = &[
    "lost",
    "duplicated",
    "recovered",
    "out_of_order",
    "duplicate",
    "inconsistent-offsets",
    "nonmonotonic-send",
];

/// Every kind the checkers can report (`check`, `check::log`,
/// `check::txn_history`).
const ALL_KINDS: &[&str] = &[
    "lost",
    "duplicated",
    "unexpected",
    "recovered",
    "out_of_order",
    "lost-write",
    "unseen",
    "duplicate",
    "inconsistent-offsets",
    "nonmonotonic-send",
    "nonmonotonic-poll",
    "poll-skip",
    "G1a",
    "precommitted-read",
];

/// The kinds the bundled runs above never produce (`poll-skip`, `G1a`...)
/// get a chain by the same rule: it reads the finding's messages and
/// times, never its kind. Here each kind names a message a log consumer
/// read in a run with a crash, as those checkers' findings do, and a
/// finding about no message (a recovery's missing offsets) is told by the
/// disruptions before it.
#[test]
fn the_rule_gives_a_chain_to_kinds_no_bundled_run_produces() {
    let text = std::fs::read_to_string("scenarios/txn_crash_sweep.json").expect("readable");
    let scenario = with_random_faults(&Scenario::from_json(&text).expect("valid"), 2);
    let mut world = World::new(&scenario);
    world.finish().expect("within bounds");
    let events = world.history().events();
    let (at, read) = events
        .iter()
        .find_map(|e| match e.entry {
            brokerlab::history::Entry::Log(brokerlab::history::LogEntry::Read { msg, .. }) => {
                Some((e.time_ms, msg))
            }
            _ => None,
        })
        .expect("a record read");
    for kind in ALL_KINDS {
        let finding = brokerlab::check::Finding {
            kind,
            msgs: vec![brokerlab::history::msg_name(read)],
            times_ms: vec![at],
            explanation: String::new(),
        };
        let chain = causal_chain(events, &finding);
        assert!(!chain.is_empty(), "{kind}");
        assert!(chain.iter().any(|&i| events[i].entry.msg() == Some(read)));
    }
    let end_ms = events.last().expect("events").time_ms;
    let about_no_message = brokerlab::check::Finding {
        kind: "lost",
        msgs: Vec::new(),
        times_ms: vec![end_ms],
        explanation: String::new(),
    };
    let chain = causal_chain(events, &about_no_message);
    assert!(!chain.is_empty(), "the crashes before it");
    assert!(chain
        .iter()
        .all(|&i| brokerlab::check::chain::is_disruption(events[i].entry)));
}
