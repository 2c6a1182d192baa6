//! The declared queues: their settings (`x-queue-type`, `durable`,
//! `x-max-length`, `x-message-ttl`, the dead-letter queue...) and their
//! ready messages, ordered by position.
//!
//! Every message gets a *position* when it enters a queue, from one counter
//! the whole broker shares. Ready messages are kept by position, so a classic
//! queue's requeued message slots back into its original place, and a quorum
//! queue's return takes a fresh position behind the ready ones.

use crate::broker::{Death, KeyId, Message, Properties, QueueId};
use crate::config::{Overflow, QueueBrokerSpec, QueueKind};
use std::collections::{BTreeMap, BTreeSet};

/// A declared queue's settings (not its contents).
#[derive(Clone, Debug)]
pub(super) struct QueueConfig {
    /// The queue's name, for views and messages.
    pub(super) name: String,
    /// Classic or quorum: delivery counting, the limit and where returns go.
    pub(super) kind: QueueKind,
    /// Whether its persistent messages survive a crash.
    pub(super) durable: bool,
    /// SQS `VisibilityTimeout`: how long a received message stays hidden.
    pub(super) visibility_timeout_ms: Option<u64>,
    /// Quorum `x-delivery-limit` or SQS `maxReceiveCount`.
    pub(super) delivery_limit: Option<u32>,
    /// Where its dead-lettered messages go (none: they are dropped).
    pub(super) dead_letter: Option<QueueId>,
    /// `x-max-length`: bound on ready messages.
    pub(super) max_length: Option<u64>,
    /// `x-max-length-bytes`: bound on ready payload bytes.
    pub(super) max_length_bytes: Option<u64>,
    /// `x-overflow`: what a full queue does with one more message.
    pub(super) overflow: Overflow,
    /// `x-message-ttl`.
    pub(super) ttl_ms: Option<u64>,
    /// SQS FIFO: messages are grouped by key (`MessageGroupId`), one in
    /// flight per group.
    pub(super) fifo: bool,
    /// The simulation's bound on ready + unacked (`limits.queue_depth_max`):
    /// past it a publish is refused, whatever the queue's own limits say.
    pub(super) depth_max: u64,
}

/// A message in a queue, ready or (inside an unacked delivery) delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Ready {
    /// The message itself.
    pub(super) msg: Message,
    /// Deliveries so far (the next one's `x-delivery-count`).
    pub(super) delivery_count: u32,
    /// AMQP's `redelivered`: it may have been delivered before.
    pub(super) redelivered: bool,
    /// `delivery_mode=2`.
    pub(super) persistent: bool,
    /// When it entered this queue, for `x-message-ttl` and `expiration`
    /// (kept across returns).
    pub(super) enqueued_ms: u64,
    /// The message's own `expiration`, ms after `enqueued_ms`. RabbitMQ
    /// removes it when it dead-letters the message.
    pub(super) expiration_ms: Option<u32>,
    /// How it got here if it was dead-lettered (`x-death`).
    pub(super) death: Option<Death>,
}

impl Ready {
    /// A message as it first enters a queue: never delivered.
    pub(super) fn fresh(msg: Message, props: Properties, now_ms: u64) -> Ready {
        Ready {
            msg,
            delivery_count: 0,
            redelivered: false,
            persistent: props.persistent,
            enqueued_ms: now_ms,
            expiration_ms: props.expiration_ms,
            death: None,
        }
    }

    /// When it expires in a queue with `x-message-ttl` = `ttl_ms`: the lower
    /// of the queue's TTL and its own `expiration` wins.
    pub(super) fn expires_at_ms(&self, ttl_ms: Option<u64>) -> Option<u64> {
        let own = self.expiration_ms.map(u64::from);
        let ttl = match (ttl_ms, own) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(self.enqueued_ms.saturating_add(ttl))
    }
}

/// One queue's contents.
#[derive(Clone, Debug, Default)]
pub(super) struct QueueState {
    /// Ready messages keyed by their position, so a requeued message slots
    /// back into its original place. Bound: `depth_max`.
    pub(super) ready: BTreeMap<u64, Ready>,
    /// Payload bytes of the ready messages (`x-max-length-bytes`).
    pub(super) ready_bytes: u64,
    /// How many of this queue's messages are unacked.
    pub(super) unacked: u64,
}

impl QueueState {
    /// A queue holding `ready` and nothing unacked (after a restart).
    pub(super) fn with_ready(ready: BTreeMap<u64, Ready>) -> QueueState {
        QueueState {
            ready_bytes: ready.values().map(|r| u64::from(r.msg.payload_bytes)).sum(),
            ready,
            unacked: 0,
        }
    }
}

/// Every declared queue: settings, contents and the position counter.
#[derive(Clone, Debug)]
pub(super) struct Queues {
    /// Settings, by [`QueueId`].
    pub(super) cfg: Vec<QueueConfig>,
    /// Contents, by [`QueueId`].
    pub(super) state: Vec<QueueState>,
    /// The next position a message entering any queue gets.
    next_position: u64,
}

impl Queues {
    /// The scenario's queues, empty. `queue_depth_max` is the simulation's
    /// bound on each queue (`limits.queue_depth_max`).
    pub(super) fn from_spec(spec: &QueueBrokerSpec, queue_depth_max: u64) -> Queues {
        let index = |name: &str| -> Option<QueueId> {
            let i = spec.queues.iter().position(|q| q.name == name)?;
            QueueId::try_from(i).ok()
        };
        let cfg: Vec<QueueConfig> = spec
            .queues
            .iter()
            .map(|q| QueueConfig {
                name: q.name.clone(),
                kind: q.kind,
                durable: q.durable || q.kind == QueueKind::Quorum,
                visibility_timeout_ms: q.visibility_timeout_ms,
                delivery_limit: q.delivery_limit,
                // Validated: it names a declared queue.
                dead_letter: q.dead_letter_queue.as_deref().and_then(index),
                max_length: q.max_length,
                max_length_bytes: q.max_length_bytes,
                overflow: q.overflow.unwrap_or_default(),
                // Validated: not negative.
                ttl_ms: q.message_ttl_ms.and_then(|ms| u64::try_from(ms).ok()),
                fifo: q.fifo,
                depth_max: queue_depth_max,
            })
            .collect();
        Queues {
            state: vec![QueueState::default(); cfg.len()],
            cfg,
            next_position: 0,
        }
    }

    /// How many queues are declared.
    pub(super) fn len(&self) -> usize {
        self.cfg.len()
    }

    /// Every queue's id, in declaration order.
    pub(super) fn ids(&self) -> impl Iterator<Item = QueueId> {
        0..self.cfg.len() as QueueId
    }

    /// The settings of queue `q`.
    pub(super) fn cfg(&self, q: QueueId) -> &QueueConfig {
        &self.cfg[q as usize]
    }

    /// The contents of queue `q`.
    pub(super) fn state(&self, q: QueueId) -> &QueueState {
        &self.state[q as usize]
    }

    /// The contents of queue `q`, to change.
    pub(super) fn state_mut(&mut self, q: QueueId) -> &mut QueueState {
        &mut self.state[q as usize]
    }

    /// Whether queue `q` has no ready message.
    pub(super) fn is_empty(&self, q: QueueId) -> bool {
        self.state[q as usize].ready.is_empty()
    }

    /// After the queues' contents were set from a store (a resume): new
    /// positions go behind every message held.
    pub(super) fn after_restore(&mut self) {
        let held = self.state.iter().filter_map(|s| s.ready.last_key_value());
        let next = held.map(|(&p, _)| p + 1).max().unwrap_or(0);
        self.next_position = self.next_position.max(next);
    }

    /// A fresh position, behind every message in every queue.
    pub(super) fn take_position(&mut self) -> u64 {
        self.next_position += 1;
        self.next_position - 1
    }

    /// Puts `ready` at the tail of `q`; returns its position.
    pub(super) fn push_back(&mut self, q: QueueId, ready: Ready) -> u64 {
        let position = self.take_position();
        self.put(q, position, ready);
        position
    }

    /// Puts `ready` back at `position` of `q`.
    pub(super) fn put(&mut self, q: QueueId, position: u64, ready: Ready) {
        let state = &mut self.state[q as usize];
        state.ready_bytes += u64::from(ready.msg.payload_bytes);
        let previous = state.ready.insert(position, ready);
        assert!(previous.is_none(), "two messages at one queue position");
    }

    /// Takes the head of `q`, which must not be empty.
    pub(super) fn pop_first(&mut self, q: QueueId) -> (u64, Ready) {
        let state = &mut self.state[q as usize];
        let (position, ready) = state.ready.pop_first().expect("not empty");
        state.ready_bytes -= u64::from(ready.msg.payload_bytes);
        (position, ready)
    }

    /// The position of the first ready message of `q` whose
    /// `MessageGroupId` (key) is not in `busy`; with no `busy` set (not a
    /// FIFO queue), the head. Bound: the ready messages of `q`.
    pub(super) fn first_eligible(
        &self,
        q: QueueId,
        busy: Option<&BTreeSet<Option<KeyId>>>,
    ) -> Option<u64> {
        let mut ready = self.state[q as usize].ready.iter();
        match busy {
            None => ready.next().map(|(&p, _)| p),
            Some(busy) => ready
                .find(|(_, r)| !busy.contains(&r.msg.key))
                .map(|(&p, _)| p),
        }
    }

    /// Takes the message at `position` of `q`, which must be there.
    pub(super) fn take_at(&mut self, q: QueueId, position: u64) -> Ready {
        let state = &mut self.state[q as usize];
        let ready = state.ready.remove(&position).expect("a ready position");
        state.ready_bytes -= u64::from(ready.msg.payload_bytes);
        ready
    }

    /// Takes the tail of `q`, which must not be empty.
    pub(super) fn pop_last(&mut self, q: QueueId) -> (u64, Ready) {
        let state = &mut self.state[q as usize];
        let (position, ready) = state.ready.pop_last().expect("just inserted");
        state.ready_bytes -= u64::from(ready.msg.payload_bytes);
        (position, ready)
    }

    /// Ready plus unacked messages of `q`.
    pub(super) fn depth(&self, q: QueueId) -> u64 {
        let s = &self.state[q as usize];
        s.ready.len() as u64 + s.unacked
    }

    /// Whether one more ready message of `bytes` would pass `x-max-length(-bytes)`.
    pub(super) fn over_limit(&self, q: QueueId, bytes: u32) -> bool {
        let cfg = &self.cfg[q as usize];
        let state = &self.state[q as usize];
        cfg.max_length
            .is_some_and(|max| state.ready.len() as u64 >= max)
            || cfg
                .max_length_bytes
                .is_some_and(|max| state.ready_bytes + u64::from(bytes) > max)
    }

    /// Whether the head of `q` has outlived `x-message-ttl` or its own
    /// `expiration` at `now_ms`.
    pub(super) fn head_expired(&self, q: QueueId, now_ms: u64) -> bool {
        let ttl = self.cfg[q as usize].ttl_ms;
        let head = self.state[q as usize].ready.first_key_value();
        head.and_then(|(_, r)| r.expires_at_ms(ttl))
            .is_some_and(|at| at <= now_ms)
    }

    /// When the first head of any queue expires (`x-message-ttl`, `expiration`).
    pub(super) fn next_expiry_ms(&self) -> Option<u64> {
        self.cfg
            .iter()
            .zip(&self.state)
            .filter_map(|(cfg, s)| s.ready.first_key_value()?.1.expires_at_ms(cfg.ttl_ms))
            .min()
    }
}
