//! Golden values shared by the native and the browser determinism tests, so
//! both check the same bytes: if the two platforms disagreed, one would fail.

/// The scenario whose history is pinned.
pub const SCENARIO_JSON: &str = include_str!("../../scenarios/consumer_crash_redelivery.json");

/// xxh3-64 of its JSONL history with its own seed.
pub const HISTORY_HASH: u64 = 0xd00b82e079adcdd2;

/// The log-broker scenario whose history (after its final drain) is pinned.
pub const LOG_SCENARIO_JSON: &str = include_str!("../../scenarios/log_at_least_once.json");

/// xxh3-64 of its JSONL history with its own seed, after `World::finish`.
pub const LOG_HISTORY_HASH: u64 = 0xc482608bc20c2df3;
