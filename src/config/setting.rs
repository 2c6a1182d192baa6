//! The vocabulary of live client settings: a [`Setting`] is one new value, a
//! [`SettingSpec`] puts it at a virtual time for one client. Whether a change
//! is allowed is decided in `scenario::settings` (see it for what each
//! setting leaves alone and what is refused).

use super::{AckMode, ProcessingSpec};
use serde::{Deserialize, Serialize};

/// Bounds on live changes, on top of the scenario's own.
pub mod bounds {
    /// Changes one scenario may carry (a person clicking for an hour makes
    /// far fewer).
    pub const SETTINGS_MAX: usize = 10_000;
    /// A producer's rate, messages per second.
    pub const RATE_PER_S_MAX: u64 = 10_000;
    /// Keys a producer cycles through (`k0..k{n-1}`).
    pub const KEYS_MAX: u32 = 64;
    /// A consumer's processing time, ms.
    pub const PROCESSING_MS_MAX: u64 = 600_000;
    /// Queue `prefetch` and log `max.poll.records`: the scenario format's limits.
    pub const PREFETCH_MAX: u32 = crate::config::bounds::PREFETCH_MAX;
    /// `max.poll.records` of a log consumer, as the scenario format bounds it.
    pub const MAX_POLL_RECORDS_MAX: u32 = crate::config::bounds::MAX_POLL_RECORDS_MAX;
}

/// One setting's new value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Setting {
    /// Producer: messages per second from the next publish slot on.
    RatePerS(u64),
    /// Producer: the key strategy, cycling through `k0..k{n-1}`; 0 = no key.
    Keys(u32),
    /// Consumer: how long each message takes to process.
    Processing(ProcessingSpec),
    /// Queue consumer: `basic.qos(prefetch_count)`. Log consumer:
    /// `max.poll.records`.
    Prefetch(u32),
    /// Queue consumer: `before_processing` or `after_processing`.
    AckMode(AckMode),
}

impl Setting {
    /// The field name used in paths and the history (`prefetch`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Setting::RatePerS(_) => "rate_per_s",
            Setting::Keys(_) => "keys",
            Setting::Processing(_) => "processing",
            Setting::Prefetch(_) => "prefetch",
            Setting::AckMode(_) => "ack_mode",
        }
    }

    /// The value as the history line shows it (`20`, `uniform_ms 5..50`, ...).
    pub fn value_text(self) -> String {
        match self {
            Setting::RatePerS(n) | Setting::Processing(ProcessingSpec::FixedMs(n)) => n.to_string(),
            Setting::Keys(n) | Setting::Prefetch(n) => n.to_string(),
            Setting::Processing(ProcessingSpec::UniformMs { min, max }) => {
                format!("uniform_ms {min}..{max}")
            }
            Setting::AckMode(AckMode::Auto) => "auto".into(),
            Setting::AckMode(AckMode::BeforeProcessing) => "before_processing".into(),
            Setting::AckMode(AckMode::AfterProcessing) => "after_processing".into(),
        }
    }
}

/// One change at a virtual time: `{"at_ms": 5000, "client": "c1", "set": {"prefetch": 2}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingSpec {
    /// When the change takes effect (virtual ms, at most `duration_ms`).
    pub at_ms: u64,
    /// The id of the client that changes.
    pub client: String,
    /// The new value.
    pub set: Setting,
}
