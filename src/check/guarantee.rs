//! The verdict for a claimed delivery guarantee, with a cause chain per
//! finding.
//!
//! The checkers ([`super::check`], [`super::log::check`]) count what happened
//! to processed effects. This module judges those counts against what a
//! guarantee forbids (at most once: `duplicated`; at least once: `lost`;
//! exactly once: both) and, for every forbidding finding, tells the story of
//! the message from the history: who published it, retried it, processed it,
//! crashed after it, and processed it again. The verdict reads `holds` or
//! `violated: N findings`.

use super::{Finding, Summary, FINDINGS_PER_KIND_MAX};
use crate::broker::{ClientId, MsgId};
use crate::config::Guarantee;
use crate::history::{msg_name, Entry, History, HistoryEvent, LogEntry, Names, OpType, Proc};

/// Steps told per cause chain; a longer story ends in "…".
pub const CHAIN_STEPS_MAX: usize = 12;

/// A guarantee's judgement of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// True when no finding breaks the guarantee.
    pub holds: bool,
    /// Findings that break the guarantee (counts are complete).
    pub violations: u64,
    /// `holds` or `violated: N findings (lost, duplicated)`.
    pub text: String,
    /// One cause chain per listed finding (at most [`FINDINGS_PER_KIND_MAX`]
    /// per kind).
    pub causes: Vec<String>,
}

/// Judges `summary` against `g`, explaining each violation from `history`.
pub fn verdict(g: Guarantee, summary: &Summary, history: &History, names: &Names) -> Verdict {
    let mut v = judge(g, summary);
    let kinds = violated_kinds(g, summary);
    v.causes = summary
        .findings
        .iter()
        .filter(|f| kinds.contains(&f.kind))
        .take(FINDINGS_PER_KIND_MAX * kinds.len())
        .map(|f| cause_chain(f, history, names))
        .collect();
    v
}

/// The kinds of finding that break `g` in this run.
fn violated_kinds(g: Guarantee, summary: &Summary) -> Vec<&'static str> {
    let expect = g.expectations();
    let c = &summary.counts;
    let mut kinds = Vec::new();
    if expect.no_lost && c.lost > 0 {
        kinds.push("lost");
    }
    if expect.no_lost && c.transient_lost > 0 {
        kinds.push("transient_lost");
    }
    if expect.no_duplicated && c.duplicated > 0 {
        kinds.push("duplicated");
    }
    kinds
}

/// The judgement alone, without cause chains: cheap enough for the page to
/// show live. [`verdict`] adds the chains.
pub fn judge(g: Guarantee, summary: &Summary) -> Verdict {
    let expect = g.expectations();
    let c = &summary.counts;
    let mut kinds = Vec::new();
    let mut violations = 0;
    if expect.no_lost && c.lost > 0 {
        violations += c.lost;
        kinds.push("lost");
    }
    // Expected from transient settings, but not at least once all the same.
    if expect.no_lost && c.transient_lost > 0 {
        violations += c.transient_lost;
        kinds.push("transient_lost");
    }
    if expect.no_duplicated && c.duplicated > 0 {
        violations += c.duplicated;
        kinds.push("duplicated");
    }
    let text = match violations {
        0 => "holds".to_string(),
        1 => format!("violated: 1 finding ({})", kinds.join(", ")),
        n => format!("violated: {n} findings ({})", kinds.join(", ")),
    };
    Verdict {
        holds: violations == 0,
        violations,
        text,
        causes: Vec::new(),
    }
}

/// "m42 lost: p1 published m42 (ok) at 10 ms, c1 processed m42 at 30 ms,
/// c1 crashed at 31 ms before its ack/commit, c2 processed m42 at 250 ms".
pub fn cause_chain(f: &Finding, history: &History, names: &Names) -> String {
    let Some(msg) = f
        .msgs
        .first()
        .and_then(|m| m.strip_prefix('m')?.parse::<MsgId>().ok())
    else {
        return format!("{}: {}", f.kind, f.explanation);
    };
    let mut steps: Vec<String> = Vec::new();
    let mut processed_by: Vec<ClientId> = Vec::new();
    for ev in history.events() {
        steps.extend(chain_step(msg, ev, names, &mut processed_by));
        if steps.len() > CHAIN_STEPS_MAX {
            steps.truncate(CHAIN_STEPS_MAX);
            steps.push("…".to_string());
            break;
        }
    }
    format!("{} {}: {}", msg_name(msg), f.kind, steps.join(", then "))
}

/// One step of `msg`'s story, if `ev` tells one. `processed_by` holds the
/// consumers that processed it, most recent last: a crash of the last one
/// is part of the story. Every entry is named, so a new one does not
/// compile until the story decides.
fn chain_step(
    msg: MsgId,
    ev: &HistoryEvent,
    names: &Names,
    processed_by: &mut Vec<ClientId>,
) -> Option<String> {
    let who = || match ev.process {
        Proc::Client(c) => names.client(c).to_string(),
        Proc::Broker(node) => node.name().to_string(),
    };
    let t = ev.time_ms;
    match ev.entry {
        Entry::Publish { ty, msg: m, .. } => (m == msg)
            .then(|| format!("{} published {} ({}) at {t} ms", who(), msg_name(m), op(ty))),
        Entry::Retry { msg: m, attempt } => {
            (m == msg).then(|| format!("{} retried it (attempt {attempt}) at {t} ms", who()))
        }
        Entry::Process { ty, delivery } => {
            let this = delivery.msg.id == msg && ty == OpType::Ok;
            let Proc::Client(c) = ev.process else {
                return None;
            };
            this.then(|| {
                processed_by.push(c);
                format!("{} processed it at {t} ms", who())
            })
        }
        Entry::Log(e) => {
            let at = log_processed(e).filter(|(m, _)| *m == msg)?.1;
            let Proc::Client(c) = ev.process else {
                return None;
            };
            processed_by.push(c);
            Some(format!("{} processed it at {t} ms{at}", who()))
        }
        Entry::Crash => match ev.process {
            Proc::Client(c) if processed_by.last() == Some(&c) => {
                processed_by.pop();
                Some(format!(
                    "{} crashed at {t} ms before its ack/commit reached the broker",
                    who()
                ))
            }
            Proc::Client(_) | Proc::Broker(_) => None,
        },
        Entry::Deduplicated { msg: m } => {
            (m == msg).then(|| format!("{} skipped it at {t} ms (dedup store)", who()))
        }
        // The story is told by publishes, processing and crashes: what the
        // broker and the network did in between shows in the finding itself.
        Entry::AckSent { .. }
        | Entry::NackSent { .. }
        | Entry::Deliver { .. }
        | Entry::Broker(_)
        | Entry::Restart
        | Entry::DropAcks { .. }
        | Entry::NetDrop { .. }
        | Entry::Setting(_) => None,
    }
}

/// The message and place of a log consumer's `ok process`, if `e` is one.
fn log_processed(e: LogEntry) -> Option<(MsgId, String)> {
    match e {
        LogEntry::Process {
            ty,
            partition,
            offset,
            msg,
            ..
        } => {
            (ty == OpType::Ok).then(|| (msg, format!(" (partition {partition}, offset {offset})")))
        }
        // Reads, commits and group steps are not part of the story.
        LogEntry::Produced { .. }
        | LogEntry::Join { .. }
        | LogEntry::Assigned { .. }
        | LogEntry::Poll { .. }
        | LogEntry::Read { .. }
        | LogEntry::Commit { .. }
        | LogEntry::CommitDone { .. }
        | LogEntry::Seek { .. }
        | LogEntry::Leave { .. }
        | LogEntry::ProducerId { .. } => None,
    }
}

fn op(ty: OpType) -> &'static str {
    match ty {
        OpType::Invoke => "sent",
        OpType::Ok => "acknowledged",
        OpType::Fail => "refused",
        OpType::Info => "outcome unknown",
    }
}
