//! What the page reads of a client: its state ([`ClientView`]) and its live
//! settings ([`ClientSettings`]), plus the keys a live key change hands it
//! ([`NewKeys`]).

use crate::broker::log::PartitionId;
use crate::broker::KeyId;
use crate::config::{AckMode, CommitMode, ProcessingSpec};

/// A client's state for the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientView {
    /// The client's id, as the scenario names it.
    pub id: String,
    /// Producers are drawn on the left, everything that reads on the right.
    pub is_producer: bool,
    /// Running: not crashed, not left its group, not fenced.
    pub alive: bool,
    /// Producer: messages published. Consumer: messages processed.
    pub count: u64,
    /// Consumer: deliveries received and not finished.
    pub in_hand: u64,
    /// Consumer: virtual time spent processing so far.
    pub busy_ms: u64,
}

/// A live client's settings (see [`crate::world::World::client_settings`]);
/// `None` where the client kind has no such setting or it cannot change live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// A producer's publish rate.
    pub rate_per_s: Option<u64>,
    /// How many keys a producer spreads its messages over (`k0..`).
    pub keys: Option<u32>,
    /// A consumer's processing time per message.
    pub processing: Option<ProcessingSpec>,
    /// Queue `prefetch` or log `max.poll.records`.
    pub prefetch: Option<u32>,
    /// A queue consumer's ack mode.
    pub ack_mode: Option<AckMode>,
    /// A log consumer's manual commit mode (`None` with `enable.auto.commit`).
    pub commit: Option<CommitMode>,
}

/// The keys of a live key change (`Setting::Keys`), interned by the world
/// (the broker learns new keys there): empty for every other setting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewKeys {
    /// The keys to cycle through, in order.
    pub keys: Vec<KeyId>,
    /// On the log broker, each new key's partition (murmur2, the default
    /// partitioner); empty on the queue broker.
    pub partitions: Vec<(KeyId, PartitionId)>,
}
