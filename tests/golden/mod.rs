//! Golden values shared by the native and the browser determinism tests, so
//! both check the same bytes: if the two platforms disagreed, one would fail.

/// The scenario whose history is pinned.
pub const SCENARIO_JSON: &str = include_str!("../../scenarios/consumer_crash_redelivery.json");

/// xxh3-64 of its JSONL history with its own seed.
pub const HISTORY_HASH: u64 = 0xd00b82e079adcdd2;
