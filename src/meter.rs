//! How many heap bytes the process holds: the timeline's checkpoints weigh
//! themselves with it, so their memory limit counts real bytes, not a guess.
//!
//! [`Meter`] wraps the system allocator and keeps one running total of the
//! bytes allocated and not yet freed. It is this crate's global allocator,
//! so every binary and test that links brokerlab (the page's wasm
//! included, where the system allocator is dlmalloc) is metered the same
//! way. A checkpoint is a fresh copy of plain state, so what copying it
//! allocates is what it holds (see `session::checkpoints`).
//!
//! The cost is one relaxed atomic add per allocation and per free.
//!
//! A copy that shares parts with its original (the live checker's tables,
//! `check::shared`) costs little when it is made and more later: each part
//! the original changes afterwards is copied then, and the old part stays
//! with the copy. Those later copies are counted apart
//! ([`note_copied_on_write`]), so the checkpoints can add them to their
//! weight.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting (see the module notes).
pub struct Meter;

/// Bytes allocated and not freed, over the whole process.
static HELD_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to `System` unchanged; the counter only watches.
unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            HELD_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            HELD_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        HELD_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = System.realloc(p, layout, new_size);
        if !q.is_null() {
            HELD_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
            HELD_BYTES.fetch_add(new_size, Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static METER: Meter = Meter;

/// Heap bytes the process holds now (allocated, not freed).
pub fn held_bytes() -> usize {
    HELD_BYTES.load(Ordering::Relaxed)
}

/// What `make` allocated and still holds when it returns: for a copy of
/// plain state, the bytes the copy keeps. Other threads' allocations in
/// the meantime would count too; the page and the timeline run on one.
pub fn weigh<T>(make: impl FnOnce() -> T) -> (T, usize) {
    let before = held_bytes();
    let made = make();
    (made, held_bytes().saturating_sub(before))
}

/// Bytes copied on write by shared tables since the last
/// [`take_copied_on_write`] (see the module notes).
static COPIED_ON_WRITE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Counts `bytes` a shared table allocated to copy a part it shared.
pub fn note_copied_on_write(bytes: usize) {
    COPIED_ON_WRITE_BYTES.fetch_add(bytes, Ordering::Relaxed);
}

/// The bytes copied on write since the last call, and a fresh count.
pub fn take_copied_on_write() -> usize {
    COPIED_ON_WRITE_BYTES.swap(0, Ordering::Relaxed)
}
