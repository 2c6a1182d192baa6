//! Faults: the ones a scenario schedules at fixed times, and the options
//! that say which ones a randomised run may draw.

use super::is_false;
use serde::{Deserialize, Serialize};

/// One fault at a fixed virtual time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// When the fault happens (virtual ms, before `duration_ms`).
    pub at_ms: u64,
    /// What happens to the target.
    pub action: FaultAction,
    /// `"broker"` or a client id; in a cluster, a broker by name (`b1` …
    /// `b5`, see [`crate::node`]) or a client id.
    pub target: String,
    /// For `drop_acks`: when the link starts delivering acks again; for
    /// `slow_follower`: when the follower catches its breath.
    #[serde(default)]
    pub until_ms: Option<u64>,
}

/// What a fault does to its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// The target stops: a client loses its in-memory state and its link, the
    /// queue broker loses everything it held, the log broker keeps what its
    /// disk made durable.
    Crash,
    /// A crashed target comes back up (the log broker recovers what its
    /// disk holds).
    Restart,
    /// Drop consumer acks (to the broker) or publisher confirms (to the
    /// producer) on the target's link until `until_ms`.
    DropAcks,
    /// A producer crashes right after its next send, before the ack (an
    /// unknown outcome); it restarts at `until_ms` and re-sends what was
    /// unacknowledged (see [`crate::guarantee`]).
    CrashAfterSend,
    /// A consumer crashes right after its next effect, before the ack or
    /// commit goes out; it restarts at `until_ms`.
    CrashAfterProcess,
    /// Log broker only: the broker crashes while its disk writes a group
    /// commit, so the last batch of the oldest flush in flight lands torn
    /// (cut at a point drawn from the seeded PRNG) and the batches before it
    /// land whole. Recovery truncates the stream at the torn batch. Nothing
    /// in that flush was acknowledged, so no guarantee may lose by it.
    CrashTorn,
    /// Cluster only: the broker is cut off from the other brokers, the
    /// controller and every client (its process runs on) until `heal`.
    Isolate,
    /// Cluster only: the broker is cut off from the other brokers only
    /// (the controller and clients still reach it) until `heal`: a leader
    /// whose followers cannot fetch, so its ISR shrinks to itself.
    IsolateFromBrokers,
    /// Cluster only: an isolated broker's links come back.
    Heal,
    /// Cluster only: the broker's replica fetcher stalls (a long GC pause,
    /// a saturated disk) until `until_ms`; its followers fall behind and,
    /// after `replica.lag.time.max.ms`, out of the ISR.
    SlowFollower,
}

impl FaultAction {
    /// Whether the action only makes sense for a broker of a cluster.
    pub fn is_cluster_only(self) -> bool {
        matches!(
            self,
            FaultAction::Isolate
                | FaultAction::IsolateFromBrokers
                | FaultAction::Heal
                | FaultAction::SlowFollower
        )
    }
}

/// The one place that says which faults a randomised run may inject.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultOptions {
    /// Draw broker crashes (each followed by a restart).
    #[serde(default)]
    pub broker_crash: bool,
    /// Draw consumer crashes (each followed by a restart).
    #[serde(default)]
    pub consumer_crash: bool,
    /// Draw producer crashes (each followed by a restart).
    #[serde(default)]
    pub producer_crash: bool,
    /// Draw `drop_acks` windows on a client's link.
    #[serde(default)]
    pub drop_acks: bool,
    /// Draw `crash_after_send` (a producer crashes right after a send,
    /// before its ack: an unknown outcome, then a retry). One of the faults
    /// that tell the guarantees apart. Off by default, so seeds drawn before
    /// it existed keep their faults.
    #[serde(default, skip_serializing_if = "is_false")]
    pub crash_after_send: bool,
    /// Draw `crash_after_process` (a consumer crashes right after its
    /// effect, before its ack or commit: the effect is applied again after
    /// the restart unless deduplicated). Off by default, like
    /// `crash_after_send`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub crash_after_process: bool,
    /// Log broker only: every broker crash of the run (scheduled, drawn or
    /// injected) tears the batch its disk was writing, as `crash_torn` does,
    /// instead of losing the flush in flight cleanly. Where it is cut is
    /// drawn from its own PRNG stream, so with this off nothing else in a
    /// run moves.
    #[serde(default, skip_serializing_if = "is_false")]
    pub torn_writes: bool,
    /// Cluster only: draw `isolate` / `heal` of a named broker. Off by
    /// default, so seeds drawn before clusters existed keep their faults.
    #[serde(default, skip_serializing_if = "is_false")]
    pub broker_isolation: bool,
    /// Cluster only: draw `slow_follower` windows of a named broker. Off by
    /// default, like `broker_isolation`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub slow_follower: bool,
    /// How many faults one randomised run draws at most.
    #[serde(default = "default_max_faults")]
    pub max_faults: u32,
    /// How long a crashed node stays down (uniform in `[min, max]`).
    #[serde(default = "default_downtime_min")]
    pub downtime_ms_min: u64,
    /// The longest downtime of a crashed node, ms.
    #[serde(default = "default_downtime_max")]
    pub downtime_ms_max: u64,
}

fn default_max_faults() -> u32 {
    3
}
fn default_downtime_min() -> u64 {
    50
}
fn default_downtime_max() -> u64 {
    500
}

impl Default for FaultOptions {
    fn default() -> FaultOptions {
        FaultOptions {
            broker_crash: false,
            consumer_crash: false,
            producer_crash: false,
            drop_acks: false,
            crash_after_send: false,
            crash_after_process: false,
            torn_writes: false,
            broker_isolation: false,
            slow_follower: false,
            max_faults: default_max_faults(),
            downtime_ms_min: default_downtime_min(),
            downtime_ms_max: default_downtime_max(),
        }
    }
}
