//! A Kafka-style cluster of log brokers (issue 13): how many brokers, how
//! many copies of each partition, and the settings that decide when a
//! write counts as safe.
//!
//! The whole object is optional. Without it the log broker is the one node
//! of every run so far, and behaves exactly as before: one replica per
//! partition (so the high watermark is the log end), `flush.messages=1`
//! (an `acks=all` answer waits for the group commit's `fsync`), and no
//! election. Those are the settings a `cluster` object of one broker would
//! spell out as `"brokers": 1, "flush.messages": 1`.
//!
//! ```json
//! "cluster": { "brokers": 3, "replication.factor": 3, "min.insync.replicas": 2,
//!              "replica.lag.time.max.ms": 100 }
//! ```
//!
//! Every name is Kafka's. What the types cannot say (`replication.factor`
//! at most `brokers`, `min.insync.replicas` at most `replication.factor`)
//! is checked in `scenario`, with errors that name the field.

use super::is_false;
use serde::{Deserialize, Serialize};

/// Bounds of a cluster.
pub mod bounds {
    /// Brokers in one cluster (named `b1` … `b5`).
    pub const BROKERS_MAX: u8 = 5;
    /// `replica.lag.time.max.ms` and `replica.fetch.wait.max.ms` upper
    /// bound: one minute, longer than any run needs.
    pub const LAG_MS_MAX: u64 = 60_000;
    /// `flush.ms` upper bound: one hour.
    pub const FLUSH_MS_MAX: u64 = 3_600_000;
}

/// How a replica that rejoins (a restarted broker, or a leader that lost
/// its leadership) finds where its log parted from the leader's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Truncation {
    /// KIP-101 / KIP-279: the follower asks the leader where its last
    /// leader epoch ended (`OffsetsForLeaderEpoch`) and cuts only what the
    /// leader does not have. Replicas never diverge. Kafka since 0.11.
    #[default]
    LeaderEpoch,
    /// Before KIP-101: the follower cuts its log at its own high watermark
    /// and fetches from there. A follower whose high watermark lagged can
    /// then lose a committed record, or two replicas can keep different
    /// records at one offset. Kept as a negative control.
    HighWatermark,
}

impl Truncation {
    /// For `skip_serializing_if`: the default stays out of the file.
    pub fn is_default(&self) -> bool {
        *self == Truncation::LeaderEpoch
    }
}

/// The cluster: brokers, replicas, and when a write is safe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// Broker nodes, 1 to [`bounds::BROKERS_MAX`], named `b1`, `b2`, …
    pub brokers: u8,
    /// Kafka's `replication.factor`: copies of each partition, one leader
    /// and the rest followers, on distinct brokers (at most `brokers`).
    #[serde(rename = "replication.factor", default = "one")]
    pub replication_factor: u8,
    /// Kafka's `min.insync.replicas`: an `acks=all` produce is refused with
    /// `NOT_ENOUGH_REPLICAS` while the in-sync replica set is smaller.
    #[serde(rename = "min.insync.replicas", default = "one")]
    pub min_insync_replicas: u8,
    /// Kafka's `unclean.leader.election.enable`: with no live in-sync
    /// replica, let an out-of-sync one lead (available, but what only the
    /// old leader had is gone) instead of leaving the partition offline.
    #[serde(
        rename = "unclean.leader.election.enable",
        default,
        skip_serializing_if = "is_false"
    )]
    pub unclean_leader_election_enable: bool,
    /// Kafka's `replica.lag.time.max.ms`: a follower that has not caught up
    /// to the leader's log end within this long leaves the ISR.
    #[serde(rename = "replica.lag.time.max.ms", default = "default_lag_ms")]
    pub replica_lag_time_max_ms: u64,
    /// Kafka's `replica.fetch.wait.max.ms`: how long the leader holds a
    /// follower's fetch that finds nothing new before answering it empty.
    #[serde(
        rename = "replica.fetch.wait.max.ms",
        default = "default_fetch_wait_ms"
    )]
    pub replica_fetch_wait_max_ms: u64,
    /// Kafka's `flush.messages`: a replica forces an `fsync` after this many
    /// appended records. Absent (Kafka's default, `Long.MAX_VALUE`) it never
    /// forces one; `flush.ms` and the page cache's writeback do. With 1 a
    /// replica counts a record only once it is on its disk.
    #[serde(
        rename = "flush.messages",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub flush_messages: Option<u64>,
    /// Kafka's `flush.ms`: a replica forces an `fsync` of what it holds
    /// this long after the oldest unflushed record. Absent, the page
    /// cache's writeback does it (every `OS_WRITEBACK_MS`, see the
    /// replication core).
    #[serde(rename = "flush.ms", default, skip_serializing_if = "Option::is_none")]
    pub flush_ms: Option<u64>,
    /// Kafka's `broker.session.timeout.ms`: how long the controller waits
    /// without hearing from a broker (crashed, or cut off from it) before
    /// it fences the broker and moves its leaderships elsewhere.
    #[serde(
        rename = "broker.session.timeout.ms",
        default = "default_session_timeout_ms"
    )]
    pub broker_session_timeout_ms: u64,
    /// How a rejoining replica truncates: by leader epoch (default) or by
    /// its high watermark (the pre-KIP-101 negative control).
    #[serde(default, skip_serializing_if = "Truncation::is_default")]
    pub truncation: Truncation,
}

fn one() -> u8 {
    1
}
fn default_lag_ms() -> u64 {
    30_000
}
fn default_fetch_wait_ms() -> u64 {
    500
}
fn default_session_timeout_ms() -> u64 {
    9_000
}

impl ClusterSpec {
    /// The single node of every run so far, spelled out: one broker, one
    /// replica, `flush.messages=1`.
    pub fn single_node() -> ClusterSpec {
        ClusterSpec {
            brokers: 1,
            replication_factor: 1,
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            replica_lag_time_max_ms: default_lag_ms(),
            replica_fetch_wait_max_ms: default_fetch_wait_ms(),
            flush_messages: Some(1),
            flush_ms: None,
            broker_session_timeout_ms: default_session_timeout_ms(),
            truncation: Truncation::LeaderEpoch,
        }
    }
}
