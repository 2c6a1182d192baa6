//! The deterministic simulation: a virtual clock, an event queue, a seeded
//! PRNG, network links and faults. [`crate::world::World`] ties them to a broker and
//! its clients; the UI, the CLI and the tests all drive it with `step()` and
//! `run_until(t)`.

pub mod faults;
pub mod net;
pub mod rng;
