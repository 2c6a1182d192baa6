//! # brokerlab
//!
//! A message-broker playground. The same Rust core runs natively (tests, the
//! `brokerlab` command-line runner) and in the browser (a Yew app compiled to
//! WebAssembly), so what a learner sees in the page is exactly what the tests check.
//!
//! ## Layout
//!
//! The crate is split along one hard line: the **core** is sans-IO and
//! deterministic, the **shell** talks to the outside world.
//!
//! Core (compiles everywhere, never reads a clock, never touches `web-sys`,
//! never draws OS randomness):
//!
//! | module | what it holds |
//! |---|---|
//! | [`version`] | the product name and one-line pitch, shared by the UI and the CLI |
//! | [`sim`] | the deterministic simulation: seeded PRNG (`sim::rng`), links (`sim::net`), random faults (`sim::faults`), the world with its virtual clock and event queue (`world`) |
//! | [`broker`] | brokers as sans-IO state machines; [`broker::queue`] is the in-memory RabbitMQ/SQS queue broker |
//! | [`client`] | simulated producers (confirms, retries) and consumers (prefetch, ack modes, effects) |
//! | [`history`] | the Jepsen-style history (invoke/ok/fail/info + broker events), JSONL and its hash |
//! | [`check`] | the queue-model checker: lost, duplicated, unexpected, recovered, out-of-order, count reconciliation; the log and transactional checkers; `check::live`, the same summary kept up to date as the history grows |
//! | [`app::playground`] | the page's settings (broker, delivery guarantee, partitions, clients) turned into a scenario, and the verdict for the claimed guarantee |
//! | [`app::resume`] | the setup saved next to the page's stored log, so a reload can resume the run on it |
//! | [`app::session`] | one live run as the page drives it: advance under a frame budget, faults and clients added live, and the `View` the components draw |
//! | [`config`] | the scenario vocabulary as plain serde types: brokers, clients, faults, live settings, the delivery guarantee, bounds |
//! | [`scenario`] | loading a scenario from JSON and its validation, live settings' rules included (errors name the field) |
//! | [`bench`] | the throughput workloads shared by the native and the browser benchmark, and the cost of each delivery guarantee |
//! | [`storage`] | durable storage: CRC-32C record batches, the `Storage` trait (append, group-commit flush, crash, recovery) and the memory store that models a disk |
//!
//! Shell (browser only, `target_arch = "wasm32"`):
//!
//! | module | what it holds |
//! |---|---|
//! | `ui` | the Yew app: a `Reducible` state with an `Action` enum, the simulation handle in a context, components that only render (see `src/ui/mod.rs`) |
//! | `storage::idb` | the IndexedDB store behind the `Storage` trait: group commit, `durability`, quota and `versionchange` handling |
//! | `storage::locks` | the owner lease through the Web Locks API (`ifAvailable`, `steal`); the fencing epoch beside it is core, `storage::ownership` |
//!
//! Binaries:
//!
//! - `src/bin/brokerlab.rs`: the native CLI (`brokerlab run`, `brokerlab sweep`).
//! - `src/bin/brokerlab-web.rs`: the entry point Trunk builds into the page.
//!
//! Read the README's "concept → file" table to find where each broker idea lives.

pub mod app;
pub mod bench;
pub mod broker;
pub mod check;
pub mod client;
pub mod config;
pub mod guarantee;
pub mod history;
pub mod scenario;
pub mod sim;
pub mod storage;
pub mod version;
pub mod world;

#[cfg(target_arch = "wasm32")]
pub mod ui;
