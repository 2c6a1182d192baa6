//! The queue model's findings told as stories: why a message was lost or
//! processed twice, and why one was processed out of order (fed one `ok
//! process` at a time, so the batch and the live checker share it).

use super::{one_msg, Counts, Facts, Finding, MsgInfo, FINDINGS_PER_KIND_MAX};
use crate::broker::{ClientId, Delivery, MsgId, Note, ReturnReason};
use crate::history::{msg_name, return_reason, Names};
use std::collections::BTreeMap;

/// The finding of `kind` about message `id`, told from what is known now.
pub(super) fn msg_finding(
    kind: &'static str,
    id: MsgId,
    m: &MsgInfo,
    crashes: &BTreeMap<ClientId, Vec<u64>>,
    names: &Names,
) -> Finding {
    let first = m
        .processed
        .first()
        .map(|(t, who, _)| (*t, names.client(*who)));
    match (kind, first) {
        ("unexpected", Some((t, who))) => one_msg(
            kind,
            id,
            t,
            format!(
                "{} was processed by {who} at t={t} but never published",
                msg_name(id)
            ),
        ),
        ("recovered", Some((t, who))) => one_msg(
            kind,
            id,
            t,
            format!(
                "{} had an unknown publish outcome but was processed by {who} at t={t} (allowed)",
                msg_name(id)
            ),
        ),
        ("duplicated", _) => {
            let by: Vec<String> = m
                .processed
                .iter()
                .map(|(t, who, _)| format!("{} at t={t}", names.client(*who)))
                .collect();
            Finding {
                kind,
                msgs: vec![msg_name(id)],
                times_ms: m.processed.iter().map(|p| p.0).collect(),
                explanation: format!(
                    "{} was processed {} times ({}): {}",
                    msg_name(id),
                    m.processed.len(),
                    by.join(", "),
                    duplicate_cause(m, names)
                ),
            }
        }
        ("transient_lost", _) => {
            let (t, queue) = match m.fate {
                Some((t, Note::LostInCrash { queue, .. })) => (t, names.queue(queue)),
                _ => (m.published_at_ms, "its queue"),
            };
            one_msg(
                kind,
                id,
                t,
                format!(
                    "{} was confirmed, then lost from {queue} when the broker crashed at t={t}: it was transient (a transient message, or a transient queue), and RabbitMQ keeps only persistent messages of durable queues across a restart. An expected loss, not a broker fault: publish it persistent to a durable queue to keep it",
                    msg_name(id)
                ),
            )
        }
        _ => one_msg(
            "lost",
            id,
            m.published_at_ms,
            explain_lost(id, m, crashes, names),
        ),
    }
}

fn duplicate_cause(m: &MsgInfo, names: &Names) -> String {
    if let Some(&(_, _, d)) = m.processed.iter().skip(1).find(|p| p.2.redelivered) {
        return match m.last_return {
            Some((t, r)) => format!(
                "redelivered (delivery {}) after {} at t={t}",
                d.delivery_count,
                return_reason(r, names)
            ),
            None => format!("redelivered (delivery {})", d.delivery_count),
        };
    }
    if m.retries > 0 {
        return format!(
            "the producer re-published it {} time(s) after confirm timeouts",
            m.retries
        );
    }
    "the same delivery arrived twice (network duplicate)".to_string()
}

fn explain_lost(
    id: MsgId,
    m: &MsgInfo,
    crashes: &BTreeMap<ClientId, Vec<u64>>,
    names: &Names,
) -> String {
    let name = msg_name(id);
    if let Some((t, Note::LostInCrash { queue, .. })) = m.fate {
        return format!(
            "{name} was confirmed, then lost from queue {} when the broker crashed at t={t}",
            names.queue(queue)
        );
    }
    if let Some((t, Note::LostFromDisk { queue, .. })) = m.fate {
        return format!(
            "{name} was confirmed as persistent in the durable queue {}, yet the disk did not give it back after the crash at t={t}: the confirm came before the disk had it",
            names.queue(queue)
        );
    }
    if let Some((t, c)) = m.last_delivery {
        let crash = crashes
            .get(&c)
            .and_then(|ts| ts.iter().find(|&&ct| ct >= t));
        if let Some(ct) = crash {
            return format!(
                "{name} was delivered to {} at t={t} and removed from the queue, and {} crashed at t={ct} before applying it",
                names.client(c),
                names.client(c)
            );
        }
        return format!(
            "{name} was delivered to {} at t={t} and never processed",
            names.client(c)
        );
    }
    format!("{name} was confirmed at publish but never reached a consumer")
}

/// One `ok process`: (time, consumer, delivery).
type Processing = (u64, ClientId, Delivery);

/// Out-of-order processing per producer and per (producer, key), fed one
/// `ok process` at a time in history order.
#[derive(Clone, Default)]
pub(super) struct Order {
    /// The latest-published message processed so far: (id, time, consumer).
    max_by_producer: BTreeMap<ClientId, (MsgId, u64, ClientId)>,
    max_by_key: BTreeMap<(ClientId, Option<u32>), MsgId>,
    /// Messages processed so far, shared between copies (see `shared.rs`).
    seen: super::SharedMap<()>,
    /// The first [`FINDINGS_PER_KIND_MAX`] reorders: (early, later); their
    /// stories are told when the findings are listed.
    found: Vec<(Processing, (MsgId, u64, ClientId))>,
}

impl Order {
    pub(super) fn step(&mut self, counts: &mut Counts, (t, c, d): Processing) {
        if self.seen.insert(d.msg.id, ()).is_some() {
            return; // a repeat is a duplicate, not a reorder
        }
        let p = d.msg.producer;
        let key_slot = self.max_by_key.entry((p, d.msg.key)).or_insert(d.msg.id);
        if d.msg.id < *key_slot {
            counts.out_of_order_per_key += 1;
        } else {
            *key_slot = d.msg.id;
        }
        match self.max_by_producer.get(&p).copied() {
            Some(later) if d.msg.id < later.0 => {
                counts.out_of_order += 1;
                if self.found.len() < FINDINGS_PER_KIND_MAX {
                    self.found.push(((t, c, d), later));
                }
            }
            _ => {
                self.max_by_producer.insert(p, (d.msg.id, t, c));
            }
        }
    }

    pub(super) fn findings<'a>(
        &'a self,
        f: &'a Facts,
        names: &'a Names,
    ) -> impl Iterator<Item = Finding> + 'a {
        self.found
            .iter()
            .map(|&((t, c, d), (later, lt, lc))| Finding {
                kind: "out_of_order",
                msgs: vec![msg_name(d.msg.id), msg_name(later)],
                times_ms: vec![t, lt],
                explanation: reorder_cause(f, (d.msg.id, t, c, d), (later, lt, lc), names),
            })
    }
}

fn reorder_cause(
    f: &Facts,
    early: (MsgId, u64, ClientId, Delivery),
    later: (MsgId, u64, ClientId),
    names: &Names,
) -> String {
    let (id, t, c, d) = early;
    let (lid, lt, lc) = later;
    let (m, l) = (msg_name(id), msg_name(lid));
    let info = &f.msgs[&id];
    let tail = format!(
        "{l} had already been processed by {} at t={lt}",
        names.client(lc)
    );
    if d.redelivered {
        if let Some((rt, reason)) = info.last_return {
            let crash = match reason {
                ReturnReason::ChannelClosed(cc) => f
                    .crashes
                    .get(&cc)
                    .and_then(|ts| ts.iter().rev().find(|&&x| x <= rt))
                    .map(|ct| format!(" ({} crashed at t={ct})", names.client(cc))),
                // No crash behind these: the consumer or the timer sent it back.
                ReturnReason::Nack | ReturnReason::VisibilityTimeout => None,
            };
            return format!(
                "{m} was redelivered (delivery {}) after {} at t={rt}{}; {tail}",
                d.delivery_count,
                return_reason(reason, names),
                crash.unwrap_or_default()
            );
        }
        return format!(
            "{m} was redelivered (delivery {}); {tail}",
            d.delivery_count
        );
    }
    if info.retries > 0 {
        return format!(
            "{m} was re-published after a confirm timeout, so its copy queued behind {l}; {tail}"
        );
    }
    if c != lc {
        return format!(
            "round-robin gave {m} to {} and {l} to {}; {} finished {m} at t={t}, after {tail}",
            names.client(c),
            names.client(lc),
            names.client(c)
        );
    }
    format!(
        "{m} reached {} after {l} (it was re-enqueued later); {tail}",
        names.client(c)
    )
}
