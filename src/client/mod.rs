//! Simulated clients: producers and consumers.
//!
//! Clients are sans-IO like the broker. Each handler gets the virtual time and
//! pushes [`ClientOutput`]s: requests to send over the client's link, timers to
//! set, history entries, and effects. The world turns those into scheduled
//! events. Client kinds are an enum in the world, so an idempotent or
//! transactional producer (issue 5) or a log consumer (issue 4) is a new module
//! plus a new variant.

pub mod consumer;
pub mod dedup;
pub mod group_member;
pub mod log_consumer;
pub mod producer;
pub mod txn_producer;

use crate::broker::{KeyId, Request};
use crate::history::Entry;

/// A timer a client asks for. The world stamps it with the client's incarnation
/// and drops it if the client crashed in between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientTimer {
    /// A producer's next publish slot.
    Publish,
    /// The producer's earliest confirm deadline is due (for a log consumer:
    /// its `commitSync`'s; for a transactional client: its request's).
    ConfirmDeadline,
    /// The consumer finishes the message it is processing.
    ProcessDone,
    /// A log consumer's next heartbeat (`heartbeat.interval.ms`).
    Heartbeat,
    /// A log consumer's scheduled seek, by index into its `seeks`.
    Seek(u32),
    /// A log consumer's `close()` (`leave_at_ms`).
    Leave,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientOutput {
    Send(Request),
    Timer {
        at_ms: u64,
        timer: ClientTimer,
    },
    Record(Entry),
    /// The consumer applied one message's effect: count one for its key.
    Effect {
        key: Option<KeyId>,
    },
    /// The idempotent consumer: in one transaction, if `msg` is not in dedup
    /// store `store` (bounded at `ids_max` ids), add it, apply the effect and
    /// record `ok`; otherwise skip the effect and record `Deduplicated`.
    EffectOnce {
        store: dedup::StoreId,
        ids_max: u64,
        msg: crate::broker::MsgId,
        key: Option<KeyId>,
        ok: Entry,
    },
}
