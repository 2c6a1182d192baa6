//! Channels: delivery tags, the deliveries each channel holds unacked,
//! and (SQS) when an unacked message becomes visible again.
//!
//! A delivery tag is widened with the broker incarnation, so an ack meant
//! for a broker that has since crashed cannot touch its successor; and each
//! client remembers the first tag of its current channel, so an ack sent on
//! a channel that is gone is told apart from a double ack (406).

use super::queues::Ready;
use crate::broker::{ClientId, DeliveryTag, QueueId};
use std::collections::{BTreeMap, BTreeSet};

/// The reply code of `channel.close` for an unknown delivery tag.
pub const PRECONDITION_FAILED: u16 = 406;

/// A message delivered and not yet acked.
#[derive(Clone, Copy, Debug)]
pub(super) struct Unacked {
    /// The queue it came from and returns to.
    pub(super) queue: QueueId,
    /// Who holds it.
    pub(super) consumer: ClientId,
    /// Which subscription of that consumer it was delivered on (see
    /// [`super::consumers::Subscription::generation`]); 0 for `basic.get`.
    pub(super) generation: u64,
    /// The queue position it returns to.
    pub(super) position: u64,
    /// The message, `delivery_count` including this delivery.
    pub(super) ready: Ready,
    /// SQS only: when it becomes visible again.
    pub(super) visible_at_ms: Option<u64>,
    /// When it was delivered: RabbitMQ's `consumer_timeout` counts from here.
    pub(super) delivered_ms: u64,
}

/// What a tag in an ack or nack is, seen from the channel that sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TagCheck {
    /// The channel holds it.
    Held,
    /// A tag this channel never got, or already settled: 406.
    Unknown,
    /// A tag from before a restart, from an earlier channel of the client,
    /// or one that belongs to another channel (our tags are per broker): an
    /// old connection's, a real broker would never see it.
    Stale,
}

/// Delivery tags and unacked deliveries.
#[derive(Clone, Debug, Default)]
pub(super) struct Channels {
    /// Bumped by every restart; part of every delivery tag.
    incarnation: u32,
    /// The next tag's number.
    next_tag: u64,
    /// By tag number. Bound: sum of prefetch over subscriptions.
    unacked: BTreeMap<u64, Unacked>,
    /// Per client: the first tag of its current channel. An ack for an older
    /// tag was sent on a channel that is gone (a real broker never sees it);
    /// a newer one it does not hold is a double or unknown ack (406). No
    /// entry: the client never opened a channel, every tag counts as its own.
    /// Bound: clients in the scenario.
    channel_first_tag: BTreeMap<ClientId, u64>,
    /// SQS: (visible_at_ms, tag). Bound: same as `unacked`.
    deadlines: BTreeSet<(u64, u64)>,
    /// Per client: when its current channel opened. Its `consumer_timeout`
    /// check ticks every `channel_tick_interval` from then. Bound: clients.
    opened_ms: BTreeMap<ClientId, u64>,
}

impl Channels {
    /// A fresh tag for one delivery.
    pub(super) fn new_tag(&mut self) -> DeliveryTag {
        self.next_tag += 1;
        DeliveryTag {
            incarnation: self.incarnation,
            n: self.next_tag - 1,
        }
    }

    /// `from` opened a channel: tags from here on are its own, and acks
    /// still on their way from an older channel are old ones now.
    pub(super) fn open(&mut self, from: ClientId, now_ms: u64) {
        self.channel_first_tag.insert(from, self.next_tag);
        self.opened_ms.insert(from, now_ms);
    }

    /// `from` uses its channel (a `basic.get` needs no `basic.consume`):
    /// the channel's ticks count from its first use.
    pub(super) fn used(&mut self, from: ClientId, now_ms: u64) {
        self.opened_ms.entry(from).or_insert(now_ms);
    }

    /// When `from`'s current channel opened (0 if it never said).
    pub(super) fn opened_ms(&self, from: ClientId) -> u64 {
        self.opened_ms.get(&from).copied().unwrap_or(0)
    }

    /// Each channel holding unacked deliveries, with its oldest one's
    /// delivery time. Tags grow with time, so a channel's first held tag is
    /// its oldest.
    pub(super) fn oldest_per_channel(&self) -> BTreeMap<ClientId, u64> {
        let mut oldest = BTreeMap::new();
        for u in self.unacked.values() {
            oldest.entry(u.consumer).or_insert(u.delivered_ms);
        }
        oldest
    }

    /// Holds delivery `n` unacked (and, SQS, arms its visibility deadline).
    pub(super) fn hold(&mut self, n: u64, u: Unacked) {
        if let Some(at) = u.visible_at_ms {
            self.deadlines.insert((at, n));
        }
        self.unacked.insert(n, u);
    }

    /// Removes unacked delivery `n`, which must be held, with its deadline.
    pub(super) fn take(&mut self, n: u64) -> Unacked {
        let u = self.unacked.remove(&n).expect("checked by the caller");
        if let Some(at) = u.visible_at_ms {
            self.deadlines.remove(&(at, n));
        }
        u
    }

    /// What `tag`, acked or nacked by `from`, is.
    pub(super) fn check(&self, from: ClientId, tag: DeliveryTag) -> TagCheck {
        let current = tag.incarnation == self.incarnation;
        if current && self.unacked.get(&tag.n).is_some_and(|u| u.consumer == from) {
            return TagCheck::Held;
        }
        let this_channel = tag.n >= self.channel_first_tag.get(&from).copied().unwrap_or(0);
        if current && this_channel && !self.unacked.contains_key(&tag.n) {
            TagCheck::Unknown
        } else {
            TagCheck::Stale
        }
    }

    /// The tags `from` holds up to and including `n` (`multiple`).
    pub(super) fn held_up_to(&self, from: ClientId, n: u64) -> Vec<u64> {
        let tags = self.unacked.range(..=n);
        tags.filter(|(_, u)| u.consumer == from)
            .map(|(&n, _)| n)
            .collect()
    }

    /// Every tag `from` holds.
    pub(super) fn held_by(&self, from: ClientId) -> Vec<u64> {
        self.unacked
            .iter()
            .filter(|(_, u)| u.consumer == from)
            .map(|(&t, _)| t)
            .collect()
    }

    /// The unacked delivery whose visibility deadline is due by `now_ms`,
    /// taken out.
    pub(super) fn take_due(&mut self, now_ms: u64) -> Option<Unacked> {
        let &(at, n) = self.deadlines.first()?;
        if at > now_ms {
            return None;
        }
        self.deadlines.pop_first();
        let u = self
            .unacked
            .remove(&n)
            .expect("every deadline has its unacked message");
        Some(u)
    }

    /// The next visibility deadline (SQS).
    pub(super) fn next_deadline_ms(&self) -> Option<u64> {
        self.deadlines.first().map(|&(at, _)| at)
    }

    /// Every unacked delivery, by tag.
    pub(super) fn unacked(&self) -> impl Iterator<Item = &Unacked> {
        self.unacked.values()
    }

    /// How many deliveries are unacked.
    pub(super) fn unacked_count(&self) -> u64 {
        self.unacked.len() as u64
    }

    /// Whether no visibility deadline is armed.
    pub(super) fn no_deadlines(&self) -> bool {
        self.deadlines.is_empty()
    }

    /// A crash: every channel and unacked delivery is gone; the unacked ones
    /// are handed back for the caller to keep or count lost.
    pub(super) fn crash(&mut self) -> Vec<Unacked> {
        self.channel_first_tag.clear();
        self.opened_ms.clear();
        self.deadlines.clear();
        std::mem::take(&mut self.unacked).into_values().collect()
    }

    /// A restart: tags from before it are stale from now on.
    pub(super) fn restart(&mut self) {
        self.incarnation += 1;
    }
}
