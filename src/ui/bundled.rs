//! The example scenarios shipped in `scenarios/`, compiled into the page by
//! `build.rs` so the Scenario menu always matches the repository.

include!(concat!(env!("OUT_DIR"), "/bundled_scenarios.rs"));
