//! The page's event rows come from typed history entries: a sentence per
//! event ([`describe_event`]) and a message's story by [`Entry::msg`].
//!
//! Before, the story was found by searching each JSON line for
//! `"msg":"m5"`. These runs show the typed answer is the same set of events
//! for every bundled scenario (plain and with random faults), and that every
//! sentence is plain English naming the message its event is about.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/bundled.rs"]
mod bundled;

use brokerlab::history::{describe_event, msg_name, Entry};
use brokerlab::sim::faults::with_random_faults;
use brokerlab::world::World;
use std::collections::BTreeSet;

/// The message a JSON line's `msg` field names, if it has one.
fn msg_field(line: &str) -> Option<String> {
    let at = line.find("\"msg\":\"")? + "\"msg\":\"".len();
    let len = line[at..].find('"')?;
    Some(line[at..at + len].to_string())
}

#[test]
fn typed_message_ids_match_the_json_lines_and_sentences_name_them() {
    let mut kinds_seen = BTreeSet::new();
    for (file, scenario) in bundled::scenarios() {
        for faults in [false, true] {
            let mut s = scenario.clone();
            s.seed = 7;
            if faults {
                s = with_random_faults(&s, 7);
            }
            let mut world = World::new(&s);
            let _ = world.finish();
            let (history, names) = (world.history(), world.names());
            for ev in history.events() {
                let line = history.line(ev, names);
                let typed = ev.entry.msg().map(msg_name);
                assert_eq!(typed, msg_field(&line), "{file}: {line}");
                let sentence = describe_event(ev, names);
                assert!(!sentence.is_empty(), "{file}: {line}");
                assert!(
                    !sentence.contains(['{', '"']),
                    "{file}: a sentence, not fields: {sentence:?} for {line}"
                );
                if let Some(m) = &typed {
                    assert!(
                        sentence.contains(m.as_str()),
                        "{file}: {sentence:?} should name {m} ({line})"
                    );
                    assert!(ev.entry.mentions(ev.entry.msg().unwrap()));
                }
                let f = line
                    .split("\"f\":\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next());
                kinds_seen.insert(f.unwrap_or("").to_string());
            }
        }
    }
    // The runs cover the common kinds of event of both broker families.
    for kind in [
        "publish",
        "deliver",
        "redeliver",
        "append",
        "read",
        "commit",
        "crash",
    ] {
        assert!(
            kinds_seen.contains(kind),
            "no {kind} event in any run: {kinds_seen:?}"
        );
    }
    assert!(Entry::Crash.msg().is_none());
}
