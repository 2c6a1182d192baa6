//! The history: everything that happened in a run, in order.
//!
//! It follows Jepsen's shape. A client operation is an `invoke` event followed
//! by one completion:
//!
//! - `ok`: it happened (a publish the broker confirmed, a message processed);
//! - `fail`: it certainly did not happen (a publish the broker refused with
//!   `basic.nack`, processing that failed before the effect);
//! - `info`: unknown, it may or may not have happened (no confirm before the
//!   timeout and no retries left, fire-and-forget publishes, a producer crash).
//!
//! Broker and world events (deliver, redeliver, requeue, dead-letter, crash,
//! restart, network drops) are `event` lines between them. The checker reads
//! only this history plus a final snapshot of where unprocessed messages sit.
//!
//! [`History::to_jsonl`] writes one JSON object per line. For the same scenario
//! and seed it is byte-identical on every platform; [`History::hash`] is the
//! xxh3-64 of those bytes, which the determinism tests compare.

//!
//! ## Rooms
//!
//! | file | what it holds |
//! |---|---|
//! | `entry.rs` | the entry types: [`Proc`], [`OpType`], [`Entry`], [`LogEntry`], [`HistoryEvent`] |
//! | `events.rs` | where the events live: fixed-size chunks, read through [`Events`] |
//! | `names.rs` | how ids print: [`Names`], [`msg_name`], [`stream_name`], [`return_reason`] |
//! | `jsonl/` | one event as a JSON line, the bytes [`History::hash`] reads |
//! | `edn.rs` | the client operations in Jepsen's EDN, for Jepsen and Elle ([`History::to_edn`]) |
//! | `read/` | the other way: JSON lines recorded anywhere read back into a history ([`read::read_jsonl`]) |
//! | `sentence/` | one event as an English sentence, for people ([`describe_event`]) |

/// `unreachable!` for a match arm a caller's dispatch rules out, naming the
/// value it got. Natively the message shows the value's `Debug`; the page's
/// build leaves it out, since formatting it would ship the `Debug` of every
/// note and entry in the bundle for a panic that cannot happen.
macro_rules! unreachable_shown {
    ($value:expr, $why:literal) => {{
        #[cfg(not(target_arch = "wasm32"))]
        unreachable!("{:?} {}", $value, $why);
        #[cfg(target_arch = "wasm32")]
        {
            let _ = &$value;
            unreachable!($why)
        }
    }};
}

mod edn;
mod entry;
mod events;
mod jsonl;
mod names;
pub mod read;
mod sentence;

pub use entry::{Entry, HistoryEvent, LogEntry, OpType, Proc};
pub use events::{Events, Iter, CHUNK_EVENTS};
pub use names::{msg_name, return_reason, stream_name, tag_name, Names};
pub use sentence::describe_event;

use xxhash_rust::xxh3::Xxh3;

/// The recorded run. Bound: the world stops with an error before the number of
/// events exceeds its `events_max` run bound times a small constant.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Every event in the order it happened (times never go back), in
    /// chunks that never move once full (see `events.rs`).
    /// After a [`History::rewind`] they also hold the rest of this same
    /// run, kept so a timeline checkpoint further on can be restored
    /// without a copy of its history (see `world::checkpoint`).
    events: events::Chunks,
}

impl History {
    /// An empty history.
    pub fn new() -> History {
        History::default()
    }

    /// Appends one event. Panics if `time_ms` is before the last event's.
    #[inline]
    pub fn push(&mut self, time_ms: u64, process: Proc, entry: Entry) {
        if let Some(last) = self.events.view().last() {
            assert!(last.time_ms <= time_ms, "history goes back in time");
        }
        self.events.push(HistoryEvent {
            time_ms,
            process,
            entry,
        });
    }

    /// Goes back (or forward within what is kept) to the first `len`
    /// events, keeping the later ones as the run's known future (a timeline
    /// checkpoint's restore: see `world::checkpoint`). Copies no event: a
    /// run going on from there meets the kept events and shows them again.
    /// Panics past the kept events.
    pub fn rewind(&mut self, len: usize) {
        self.events.set_len(len);
    }

    /// Drops the kept events past the current instant: the run forked, so
    /// they are no longer its future.
    pub fn forget_future(&mut self) {
        self.events.forget_future();
    }

    /// Every event so far, oldest first.
    pub fn events(&self) -> Events<'_> {
        self.events.view()
    }

    /// How many events there are.
    pub fn len(&self) -> usize {
        self.events.view().len()
    }

    /// True before the first event.
    pub fn is_empty(&self) -> bool {
        self.events.view().is_empty()
    }

    /// One event as a JSON line (without the newline).
    pub fn line(&self, ev: &HistoryEvent, names: &Names) -> String {
        jsonl::line(ev, names)
    }

    /// The whole history as JSON Lines.
    pub fn to_jsonl(&self, names: &Names) -> String {
        let mut out = String::new();
        for ev in self.events() {
            out.push_str(&self.line(ev, names));
            out.push('\n');
        }
        out
    }

    /// The client operations as Jepsen's `history.edn`: one map per line,
    /// `:type :invoke/:ok/:fail/:info`, `:f :send/:poll` as in Jepsen's
    /// Kafka workload, `:process` and `:time` in nanoseconds (see `edn.rs`).
    pub fn to_edn(&self, names: &Names) -> String {
        edn::to_edn(self.events(), names)
    }

    /// xxh3-64 of [`History::to_jsonl`], computed without building the string.
    pub fn hash(&self, names: &Names) -> u64 {
        let mut hasher = Xxh3::new();
        for ev in self.events() {
            hasher.update(self.line(ev, names).as_bytes());
            hasher.update(b"\n");
        }
        hasher.digest()
    }
}
