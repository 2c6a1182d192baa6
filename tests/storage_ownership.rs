//! The pure half of two-tab ownership: lock names, owner epochs and the
//! fence every write transaction passes (the browser half is tested in
//! `tests/web_storage_locks.rs`).

use brokerlab::storage::ownership::{check_fence, lock_name, next_epoch, EPOCH_MAX};
use brokerlab::storage::StorageError;

#[test]
fn lock_names_are_per_database_and_prefixed() {
    assert_eq!(lock_name("log"), "brokerlab-storage:log");
    assert_ne!(lock_name("a"), lock_name("b"));
}

#[test]
fn a_new_owner_takes_the_next_epoch() {
    assert_eq!(next_epoch(None), Ok(1));
    assert_eq!(next_epoch(Some(1.0)), Ok(2));
    // A damaged stored value counts as "no owner yet", never a panic.
    assert_eq!(next_epoch(Some(-3.0)), Ok(1));
    assert_eq!(next_epoch(Some(2.5)), Ok(1));
    assert_eq!(next_epoch(Some(f64::NAN)), Ok(1));
    assert!(matches!(
        next_epoch(Some(EPOCH_MAX as f64)),
        Err(StorageError::Io { .. })
    ));
}

#[test]
fn the_fence_passes_only_the_current_owner() {
    assert_eq!(check_fence(Some(3.0), 3, "log"), Ok(()));
    let taken = StorageError::TakenOver {
        db_name: "log".to_string(),
    };
    assert_eq!(check_fence(Some(4.0), 3, "log"), Err(taken.clone()));
    assert_eq!(check_fence(None, 3, "log"), Err(taken.clone()));
    assert_eq!(check_fence(Some(f64::INFINITY), 3, "log"), Err(taken));
}
