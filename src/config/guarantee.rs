//! The delivery guarantee a scenario claims, and what each one forbids. How a
//! guarantee sets the clients' knobs is `guarantee`'s job; the verdict on a
//! run is `check::guarantee`'s.

use super::Expectations;
use serde::{Deserialize, Serialize};

/// The delivery guarantee a scenario claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guarantee {
    /// A message is processed once or not at all: no duplicates, losses allowed.
    AtMostOnce,
    /// A message is processed once or more: no losses, duplicates allowed.
    AtLeastOnce,
    /// Exactly once from both idempotent halves: the idempotent producer
    /// (`enable.idempotence`, or SQS FIFO deduplication) and a consumer
    /// whose dedup store is committed with the effect.
    ExactlyOnceIdempotent,
    /// Exactly once through Kafka transactions: read-process-write commits
    /// the output and the input offsets together (log broker only).
    ExactlyOnceTransactional,
}

impl Guarantee {
    /// Every guarantee, `at_most_once` first.
    pub const ALL: [Guarantee; 4] = [
        Guarantee::AtMostOnce,
        Guarantee::AtLeastOnce,
        Guarantee::ExactlyOnceIdempotent,
        Guarantee::ExactlyOnceTransactional,
    ];

    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::AtMostOnce => "at_most_once",
            Guarantee::AtLeastOnce => "at_least_once",
            Guarantee::ExactlyOnceIdempotent => "exactly_once_idempotent",
            Guarantee::ExactlyOnceTransactional => "exactly_once_transactional",
        }
    }

    /// The name a person reads: the page's Delivery list, its verdict line
    /// ("At least once: holds") and the stored-log banner.
    pub fn label(self) -> &'static str {
        match self {
            Guarantee::AtMostOnce => "At most once",
            Guarantee::AtLeastOnce => "At least once",
            Guarantee::ExactlyOnceIdempotent => "Exactly once (idempotent)",
            Guarantee::ExactlyOnceTransactional => "Exactly once (transactional)",
        }
    }

    /// What the guarantee forbids, judged on processed effects.
    pub fn expectations(self) -> Expectations {
        let (no_lost, no_duplicated) = match self {
            Guarantee::AtMostOnce => (false, true),
            Guarantee::AtLeastOnce => (true, false),
            Guarantee::ExactlyOnceIdempotent | Guarantee::ExactlyOnceTransactional => (true, true),
        };
        Expectations {
            no_lost,
            no_duplicated,
            ..Expectations::default()
        }
    }
}
