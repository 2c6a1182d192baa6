//! Checking a history recorded anywhere: a simulated run's export, or a real
//! broker driven by an exported program (`brokerlab check`).
//!
//! The checkers are the simulation's own ([`super::check`],
//! [`super::log::check`]); what a recorded history lacks is the world around
//! it, so this module supplies the rest:
//!
//! - **the end-of-run snapshot.** A recorder that drains its queues writes a
//!   `held` line per message it found ([`crate::history::read`]). Without
//!   them, the messages still held are worked out from the broker's notes:
//!   each `enqueue` adds a copy, each `delete`, `dead_letter`, `drop` and
//!   `lost_in_crash` takes one away.
//! - **the broker's bookkeeping.** `enqueued = deleted + dead_lettered +
//!   lost_in_crash + held` can be checked only when the history has the
//!   broker's `enqueue` notes. A real broker does not report them, so for
//!   such a history the identity reads "not recorded" and is not a
//!   violation.
//! - **the end of the run.** A recorded run is over: a log history is judged
//!   as drained (an acknowledged write nobody processed is `unseen`), and no
//!   consumer is taken as `read_committed`.
//!
//! The effect-store invariant ([`super::add_effect_invariant`]) needs the
//! simulated consumers' store and is not checked.

use super::guarantee::{verdict, Verdict};
use super::{Snapshot, Summary};
use crate::broker::{MsgId, Note};
use crate::config::{Expectations, Guarantee};
use crate::history::read::Recorded;
use crate::history::Entry;
use std::collections::{BTreeMap, BTreeSet};

/// How the broker-bookkeeping violation starts (see [`super::check`]); a
/// history without the broker's notes cannot be held to it.
const BOOKKEEPING: &str = "broker bookkeeping does not reconcile";

/// What `brokerlab check` reports about one recorded history.
#[derive(Clone, Debug)]
pub struct RecordedCheck {
    /// The checker's summary, as `brokerlab run` prints it.
    pub summary: Summary,
    /// `queue` or `log`: the model that judged it.
    pub model: &'static str,
    /// The verdict for the claimed guarantee, if one was given.
    pub verdict: Option<Verdict>,
    /// The anomaly kinds found, sorted, each once.
    pub anomalies: Vec<&'static str>,
}

/// Runs the checker (and, given a guarantee, the verdict) on `r`.
/// `guarantee` also sets what counts as a violation, as a scenario's
/// `guarantee` does; without one only the invariants are checked.
pub fn check_recorded(r: &Recorded, guarantee: Option<Guarantee>) -> RecordedCheck {
    let expect = guarantee.map_or_else(Expectations::default, |g| g.expectations());
    let (summary, model) = if r.log {
        let snap = Snapshot::default();
        let read_committed = BTreeSet::new();
        let mut s = super::log::check(&r.history, &snap, &r.names, &expect, true, &read_committed);
        super::txn_history::apply(&r.history, &mut s);
        (s, "log")
    } else {
        (queue_summary(r, &expect), "queue")
    };
    let mut summary = summary;
    summary.events = r.history.len() as u64;
    summary.time_ms = r.history.events().last().map_or(0, |e| e.time_ms);
    let mut anomalies: BTreeSet<&'static str> = BTreeSet::new();
    anomalies.extend(summary.findings.iter().map(|f| f.kind));
    RecordedCheck {
        verdict: guarantee.map(|g| verdict(g, &summary, &r.history, &r.names)),
        anomalies: anomalies.into_iter().collect(),
        summary,
        model,
    }
}

/// The queue model's summary, with the snapshot from `held` lines or the
/// broker's notes, and the bookkeeping identity only where it was recorded.
fn queue_summary(r: &Recorded, expect: &Expectations) -> Summary {
    let copies = copies_from_notes(r);
    let recorded_notes = copies.enqueued > 0;
    let snap = match &r.held {
        Some(held) => Snapshot {
            pending: {
                let mut pending = BTreeSet::new();
                pending.extend(held.iter().copied());
                pending
            },
            broker_held: held.len() as u64,
        },
        None => Snapshot {
            pending: {
                let mut pending = BTreeSet::new();
                pending.extend(copies.held.keys().copied());
                pending
            },
            broker_held: copies.held.values().sum(),
        },
    };
    let mut s = super::check(&r.history, &snap, &r.names, expect);
    if !recorded_notes {
        s.violations.retain(|v| !v.starts_with(BOOKKEEPING));
        s.broker_identity =
            "not recorded: the history has no enqueue notes from the broker".to_string();
        s.ok = s.violations.is_empty();
    }
    s
}

/// Copies counted from the broker's notes.
#[derive(Default)]
struct Copies {
    /// `enqueue` notes.
    enqueued: u64,
    /// Copies still held at the end, per message (only those above 0).
    held: BTreeMap<MsgId, u64>,
}

/// Counts each message's copies: `enqueue`, `restored` and `carried` add one;
/// `delete`, `dead_letter`, `drop`, `lost_in_crash` and `lost_from_disk`
/// take one away.
fn copies_from_notes(r: &Recorded) -> Copies {
    let mut net: BTreeMap<MsgId, i64> = BTreeMap::new();
    let mut enqueued = 0;
    for ev in r.history.events() {
        let Entry::Broker(note) = ev.entry else {
            continue;
        };
        let (msg, delta) = match note {
            // A copy back from a durable queue's disk enters it again.
            Note::Enqueued { msg, .. } | Note::Restored { msg, .. } | Note::Carried { msg, .. } => {
                enqueued += 1;
                (msg, 1)
            }
            Note::Deleted { msg, .. }
            | Note::DeadLettered { msg, .. }
            | Note::LostInCrash { msg, .. }
            | Note::LostFromDisk { msg, .. } => (msg, -1),
            // Returns, refusals and channel events move no copy in or out.
            Note::Requeued { .. }
            | Note::RejectedPublish { .. }
            | Note::Unroutable { .. }
            | Note::DuplicateDropped { .. }
            | Note::StaleAck { .. }
            | Note::ChannelError { .. }
            | Note::ConsumeRefused { .. }
            | Note::Log(_) => continue,
        };
        *net.entry(msg).or_insert(0) += delta;
    }
    let mut held = BTreeMap::new();
    held.extend(
        net.into_iter()
            .filter_map(|(m, n)| u64::try_from(n).ok().filter(|&n| n > 0).map(|n| (m, n))),
    );
    Copies { enqueued, held }
}

#[cfg(test)]
mod tests {
    use super::{check_recorded, BOOKKEEPING};
    use crate::config::Guarantee;
    use crate::history::read::read_jsonl;

    /// The violation text this module filters must be the checker's.
    #[test]
    fn the_bookkeeping_violation_is_the_one_filtered() {
        // One enqueue and nothing else: the broker identity cannot hold.
        let text = r#"{"time_ms":1,"process":"p1","type":"invoke","f":"publish","msg":"m0"}
{"time_ms":2,"process":"broker","type":"event","f":"enqueue","msg":"m0","queue":"q"}
{"time_ms":3,"process":"broker","type":"event","f":"held","msg":"m0","queue":"q"}
{"time_ms":3,"process":"broker","type":"event","f":"held","msg":"m0","queue":"q"}
"#;
        let r = read_jsonl(text).unwrap();
        let c = check_recorded(&r, None);
        assert!(
            c.summary
                .violations
                .iter()
                .any(|v| v.starts_with(BOOKKEEPING)),
            "{:?}",
            c.summary.violations
        );
    }

    /// A real broker's history: confirmed, never processed, not held at the
    /// end: lost, and at least once is violated.
    #[test]
    fn a_confirmed_message_nobody_processed_is_lost() {
        let text = r#"{"time_ms":1,"process":"p1","type":"invoke","f":"publish","msg":"m0"}
{"time_ms":2,"process":"p1","type":"ok","f":"publish","msg":"m0"}
{"time_ms":3,"process":"p1","type":"invoke","f":"publish","msg":"m1"}
{"time_ms":4,"process":"p1","type":"ok","f":"publish","msg":"m1"}
{"time_ms":5,"process":"broker","type":"event","f":"held","msg":"m1","queue":"q"}
"#;
        let r = read_jsonl(text).unwrap();
        let c = check_recorded(&r, Some(Guarantee::AtLeastOnce));
        assert_eq!(c.model, "queue");
        assert_eq!(c.anomalies, vec!["lost"]);
        assert_eq!(c.summary.counts.lost, 1);
        assert_eq!(c.summary.counts.pending, 1);
        let v = c.verdict.unwrap();
        assert!(!v.holds);
        assert_eq!(v.text, "violated: 1 finding (lost)");
        assert!(c.summary.broker_identity.starts_with("not recorded"));
    }
}
