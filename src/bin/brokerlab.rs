//! The native command-line runner. Scenario files and seed sweeps arrive with the
//! simulation core; on wasm32 this is an empty program.

fn main() {}
