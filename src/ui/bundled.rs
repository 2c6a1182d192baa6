//! The example scenarios shipped in `scenarios/`, compiled into the crate by
//! `build.rs` so the Scenario menu always matches the repository. The list
//! lives in [`crate::app::share`], which names a bundled example in a share
//! link by its file stem.

pub use crate::app::share::BUNDLED;
