//! # brokerlab
//!
//! A message-broker playground. The same Rust core runs natively (tests, the
//! `brokerlab` command-line runner) and in the browser (a Yew app compiled to
//! WebAssembly), so what a learner sees in the page is exactly what the tests check.
//!
//! ## Layers
//!
//! The crate is split along one hard line: the **core** is sans-IO and
//! deterministic (it compiles everywhere, never reads a clock, never touches
//! `web-sys`, never draws OS randomness); the **shell** (`ui`, and the
//! browser stores in `storage`) talks to the outside world.
//!
//! The top-level modules form layers, bottom to top. A module uses only the
//! layers below it, so there is no cycle, and each layer can be read (and
//! tested) knowing only what is under it. `tests/architecture.rs` holds the
//! same table and fails, naming the edge and its `file:line`, on an edge that
//! points up or sideways and on any cycle.
//!
//! | layer | module | its one job | why it sits here |
//! |---|---|---|---|
//! | 0 | [`version`] | the product name and one-line pitch | plain constants for the CLI and the page |
//! | 0 | [`node`] | broker identity: [`node::NodeId`] and node names (`broker`, `b1`…) | storage streams, faults, brokers, the history and the world all name nodes |
//! | 0 | [`meter`] | the heap meter: the crate's global allocator, counting the bytes held, so a copy can be weighed | the checker's shared tables and the timeline's checkpoints weigh their copies with it; it needs nothing |
//! | 0 | [`json`] | reading JSON into serde types through one deserializer, the error naming the field path | scenarios, lessons, links and stored values all read JSON; it needs only serde |
//! | 1 | [`config`] | the scenario vocabulary as plain serde types: brokers, clients, faults, live settings, the delivery guarantee, bounds | everyone above speaks it; it needs nothing but serde |
//! | 1 | [`storage`] | durable storage: CRC-32C record batches, the `Storage` trait (append, group-commit flush, crash, recovery), the memory store that models a disk; in the browser IndexedDB and the Web Locks lease | a disk knows bytes and streams, not brokers or pages |
//! | 2 | [`sim`] | the deterministic substrate: seeded PRNG (`sim::rng`), links (`sim::net`), random fault schedules (`sim::faults`) | needs only the vocabulary; clients and the world draw from it |
//! | 3 | [`broker`] | brokers as sans-IO state machines: the queue broker (RabbitMQ/SQS) and the log broker (Kafka), with transactions and idempotent producers | speaks requests and replies, writes to `storage`; knows nothing of who drives it |
//! | 4 | [`history`] | the Jepsen-style history (invoke/ok/fail/info + broker events), JSONL and its hash, a plain-English sentence per event | its events name broker requests and notes |
//! | 5 | [`client`] | simulated producers (confirms, retries, idempotence, transactions) and consumers (prefetch, ack modes, groups, dedup) | sends broker requests and records history entries |
//! | 6 | [`check`] | the checkers: queue model, log, transactions, the verdict per guarantee, and `check::live` as the history grows | reads a history of what clients and brokers did |
//! | 6 | [`guarantee`] | one delivery-guarantee setting turned into every client's knobs | sets client knobs within the clients' own limits |
//! | 7 | [`scenario`] | loading a scenario from JSON and validating it, live settings' rules included (errors name the field) | validation asks `guarantee` and `client` for their rules |
//! | 8 | [`world`] | one run: builds brokers and clients from a scenario, the event loop with its virtual clock, faults, live control, the checker's feed | ties every layer below together |
//! | 9 | [`app`] | what a page drives: the playground's settings (`app::playground`), one live run under a frame budget (`app::session`), the setup saved for a reload (`app::resume`), what a run acknowledged (`app::acked`), lessons and one learner's pass through one (`app::lesson`) | drives a world; knows nothing of the DOM |
//! | 9 | [`mod@bench`] | the throughput workloads of the native and the browser benchmark, and the cost of each delivery guarantee | drives worlds, like `app` |
//! | 9 | [`export`] | a scenario as a runnable experiment on a real broker (RabbitMQ, Kafka, NATS JetStream): the files, what maps, what cannot be reproduced, the simulated verdict to compare with | runs a world for that verdict, like `app` |
//! | 10 | `ui` | the Yew page (wasm only): a `Reducible` state with an `Action` enum, components that only render (see `src/ui/mod.rs`) | the top: draws what `app` holds |
//!
//! Two notes on the table. `Scenario::from_json` and `Scenario::validate`
//! are methods of the `config` type defined in `scenario`, so the plain types
//! stay free of validation rules; the architecture test counts a call to them
//! as a use of `scenario`. And the browser stores (`storage::idb`,
//! `storage::locks`) are shell code in a core layer: they implement the
//! `Storage` trait and reach nothing above `storage`.
//!
//! Binaries:
//!
//! - `src/bin/brokerlab.rs`: the native CLI (`brokerlab run`, `sweep`, `bench`,
//!   `check`).
//! - `src/bin/brokerlab-web.rs`: the entry point Trunk builds into the page.
//!
//! Read the README's "concept → file" table to find where each broker idea lives.
//!
//! ## Habits the crate keeps
//!
//! Two lints hold the code to the house rules; `cargo clippy -- -D warnings`
//! (scripts/test.sh, and every landing) turns them into errors:
//!
//! - `missing_docs`: every public item says what it is for.
//! - `clippy::too_many_lines`: no function over 70 lines (the threshold is in
//!   `clippy.toml`). A long function usually does several things; split it by
//!   meaning. A rare `#[allow]` carries its reason beside it.
//!
//! No source file over 800 lines is the third habit; `tests/architecture.rs`
//! checks it along with the layers.
#![warn(missing_docs)]
#![warn(clippy::too_many_lines)]

// The modules in layer order, bottom first (see the table above).
pub mod json;
pub mod meter;
pub mod node;
pub mod version;

pub mod config;
pub mod storage;

pub mod sim;

pub mod broker;

pub mod history;

pub mod client;

pub mod check;
pub mod guarantee;

pub mod scenario;

pub mod world;

pub mod app;
pub mod bench;
pub mod export;

#[cfg(target_arch = "wasm32")]
pub mod ui;
