//! Two tabs, one log: who may write.
//!
//! Every tab of the playground runs its own broker over the same IndexedDB
//! database. If two of them appended to one log, their batches would
//! interleave and each broker's idea of "where the log ends" would be wrong.
//! So exactly one tab *owns* a log at a time, and the others only read it.
//! Two mechanisms give that, one for politeness and one for safety:
//!
//! 1. **A lease (the Web Locks API).** Before opening a log for writing, a tab
//!    asks `navigator.locks` for an exclusive lock named [`lock_name`]. With
//!    `ifAvailable` the answer is immediate: granted, or "another tab has it"
//!    ([`StorageError::OtherTab`]). That tab can then open the log read-only,
//!    or *take it over* with `steal`, which revokes the first tab's lock.
//!    The lock is the browser's, so it is released when a tab closes or
//!    crashes. (The wasm-only half is `storage::locks`.)
//! 2. **A fencing epoch (in the database itself).** A lock alone cannot stop
//!    a write the old owner had already started when it lost the lock, and a
//!    browser without Web Locks has no lock at all. So the database holds an
//!    *owner epoch*: opening for writing bumps it, in the same IndexedDB
//!    transaction that reads the log back, and every write transaction first
//!    reads it and aborts itself if it is no longer its own
//!    ([`check_fence`]). IndexedDB runs overlapping read-write transactions
//!    one after the other, so an old owner's write lands either wholly before
//!    the new owner read the log, or never. This is the fencing token of
//!    leases in distributed systems, and Kafka's producer epoch.
//!
//! Without Web Locks (an old browser, an insecure context) the lease is
//! *fence only*: opening for writing always succeeds and takes the log over
//! (the last tab to open wins), and the fence still stops the previous
//! owner's writes with [`StorageError::TakenOver`]. Writes never interleave
//! either way; only the friendly "another tab has it" answer is lost.
//!
//! Everything here is pure (no browser, no clock), so it is tested natively.

use super::StorageError;

/// Prefix of every lock name, so the playground's locks cannot collide with
/// another app's on the same origin.
pub const LOCK_PREFIX: &str = "brokerlab-storage:";

/// Upper bound on an owner epoch: it is stored as a JavaScript number, which
/// is exact below 2^53. One bump per open, so it is never reached.
pub const EPOCH_MAX: u64 = (1 << 53) - 1;

/// The Web Locks name guarding database `db_name`. Locks are per origin, so
/// every tab of the page asks for the same name.
pub fn lock_name(db_name: &str) -> String {
    format!("{LOCK_PREFIX}{db_name}")
}

/// How a store was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// This tab owns the log: it may write, under owner epoch `epoch`.
    Owner {
        /// The owner epoch this tab wrote at open; writes check it.
        epoch: u64,
    },
    /// Another tab owns (or may own) the log: reads only.
    ReadOnly,
}

/// Where a lease stands. Only the lease changes it; the store reads it before
/// every write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseStatus {
    /// This tab holds the lock (or, fence only, believes it owns the log).
    Held,
    /// Another tab took the log over (stole the lock, or bumped the epoch).
    TakenOver,
    /// This tab let the lock go (`release`, `close` or drop).
    Released,
}

/// The epoch a new owner writes: one above the stored one. `stored` is what
/// the database held (`None` for a new database, or a value that is not a
/// whole number in range, which is treated as "no owner yet").
pub fn next_epoch(stored: Option<f64>) -> Result<u64, StorageError> {
    let current = stored.and_then(epoch_from_f64).unwrap_or(0);
    if current >= EPOCH_MAX {
        // Not reachable by opening tabs (one bump each), only by a damaged value.
        return Err(StorageError::Io {
            name: "EpochExhausted".to_string(),
            message: format!("owner epoch {current} has no successor below 2^53"),
        });
    }
    Ok(current + 1)
}

/// The fence every write transaction passes first: the stored epoch must
/// still be ours. `db_name` only makes the error say where.
pub fn check_fence(stored: Option<f64>, mine: u64, db_name: &str) -> Result<(), StorageError> {
    assert!(
        mine > 0 && mine <= EPOCH_MAX,
        "owner epoch {mine} out of range"
    );
    match stored.and_then(epoch_from_f64) {
        Some(epoch) if epoch == mine => Ok(()),
        _ => Err(StorageError::TakenOver {
            db_name: db_name.to_string(),
        }),
    }
}

fn epoch_from_f64(value: f64) -> Option<u64> {
    let whole = value.fract() == 0.0 && (0.0..=EPOCH_MAX as f64).contains(&value);
    whole.then_some(value as u64)
}
