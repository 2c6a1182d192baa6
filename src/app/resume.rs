//! Resuming the page's stored log after a reload: the setup saved with it.
//!
//! A log in IndexedDB is only half of what a reload needs. To go on with the
//! run, the page must also build the same system again: the same broker
//! kind, partitions, delivery guarantee, seed and clients. So when a log run
//! starts (and whenever a client is added to it) the page saves its
//! [`Setup`] next to the log, and on the next visit offers "Resume" (rebuild
//! that setup on the stored log, [`crate::app::session::Session::resume_with_store`])
//! or "Start fresh" (delete both).
//!
//! ## Where the setup is kept, and why there
//!
//! In the same IndexedDB database as the log, in its `meta` object store
//! under the key `storage::idb::SETUP_KEY`, not in `localStorage`:
//!
//! - **One lifetime.** The browser evicts or clears an origin's IndexedDB
//!   data as a unit; a setup in `localStorage` could outlive its log or
//!   vanish without it. "Start fresh" deletes both in one transaction.
//! - **One owner.** Writes to the log are fenced by the owner epoch so that
//!   two tabs never interleave (`storage::ownership`); the setup write goes
//!   through the same writer and the same fence. `localStorage` is shared by
//!   every tab with no such guard.
//! - **In order.** The setup is queued before the run's first flush, so a log
//!   with records always has the setup it was written under (unless that
//!   write itself failed, which the page reports as a missing setup).
//!
//! The saved text is versioned JSON ([`SAVED_SETUP_VERSION`]). A missing,
//! unreadable or newer one is an error with a message saying what and where
//! ([`from_text`]); the page then offers only "Start fresh", never panics.

use crate::app::playground::Setup;
use serde::{Deserialize, Serialize};

/// Format of the saved text. Bump it when [`Setup`] changes incompatibly.
pub const SAVED_SETUP_VERSION: u32 = 1;
/// A saved setup is a few hundred bytes; anything this large is not one.
pub const SAVED_SETUP_BYTES_MAX: usize = 64 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    version: u32,
    setup: Setup,
}

/// The text saved next to the log.
pub fn to_text(setup: &Setup) -> String {
    let saved = Saved {
        version: SAVED_SETUP_VERSION,
        setup: setup.clone(),
    };
    serde_json::to_string(&saved).expect("a setup always serializes")
}

/// Reads a saved setup back. The error says what is wrong and at which
/// field (`setup.partitions: invalid type ...`), and that Start fresh helps.
pub fn from_text(text: &str) -> Result<Setup, String> {
    if text.len() > SAVED_SETUP_BYTES_MAX {
        return Err(format!(
            "the saved setup is {} bytes, more than {SAVED_SETUP_BYTES_MAX}: not one this page wrote",
            text.len()
        ));
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    let saved: Saved = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        format!(
            "the saved setup is unreadable at `{path}`: {}",
            e.into_inner()
        )
    })?;
    if saved.version != SAVED_SETUP_VERSION {
        return Err(format!(
            "the saved setup has format version {}, this page reads version {SAVED_SETUP_VERSION}",
            saved.version
        ));
    }
    saved
        .setup
        .to_scenario()
        .map_err(|e| format!("the saved setup cannot run: {e}"))?;
    Ok(saved.setup)
}

/// One line for the banner: "Log, At least once, 3 partitions, seed 1,
/// 1 producer and 2 consumers".
pub fn describe(setup: &Setup) -> String {
    let plural = |n: usize, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    format!(
        "{}, {}, {}, seed {}, {} and {}",
        setup.broker.label(),
        setup.delivery.label(),
        plural(setup.partitions as usize, "partition"),
        setup.seed,
        plural(setup.producers.len(), "producer"),
        plural(setup.consumers.len(), "consumer"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::playground::{BrokerKind, Delivery};

    fn log_setup() -> Setup {
        Setup {
            broker: BrokerKind::Log,
            delivery: Delivery::ExactlyOnceIdempotent,
            partitions: 3,
            seed: 42,
            ..Setup::default()
        }
    }

    #[test]
    fn a_saved_setup_reads_back_the_same() {
        let setup = log_setup();
        assert_eq!(from_text(&to_text(&setup)), Ok(setup.clone()));
        assert_eq!(
            describe(&setup),
            "Log, Exactly once (idempotent), 3 partitions, seed 42, 1 producer and 2 consumers"
        );
    }

    #[test]
    fn a_broken_saved_setup_says_what_and_where() {
        let good = to_text(&log_setup());
        let cases = [
            ("", "unreadable at `.`"),
            ("{\"version\":1}", "missing field `setup`"),
            (
                &good.replace("\"partitions\":3", "\"partitions\":\"x\""),
                "`setup.partitions`",
            ),
            (
                &good.replace("\"partitions\":3", "\"partitions\":0"),
                "Partitions",
            ),
            (
                &good.replace("\"version\":1", "\"version\":9"),
                "format version 9",
            ),
            (&good.replace("\"log\"", "\"kafka\""), "`setup.broker`"),
        ];
        for (text, want) in cases {
            let error = from_text(text).expect_err(text);
            assert!(error.contains(want), "{text:?}: {error}");
        }
        let huge = "x".repeat(SAVED_SETUP_BYTES_MAX + 1);
        assert!(from_text(&huge).unwrap_err().contains("bytes"));
    }
}
