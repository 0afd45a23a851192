//! A counting global allocator, shared by the allocation tests
//! (`tests/alloc_budget.rs`, `tests/alloc_counts.rs`) and the core
//! benchmark (`benches/core.rs`), each of which includes this file with
//! `#[path = …] mod counting_alloc;`. Including it installs the allocator
//! for that test or bench binary.
//!
//! It counts allocations and reallocations (and their bytes) made on the
//! calling thread while [`count`] runs; everything passes through to the
//! system allocator.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

struct Counting;

thread_local! {
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static COUNTS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

fn record(bytes: usize) {
    // `try_with`: thread-locals may be gone while a thread exits.
    if ACTIVE.try_with(Cell::get).unwrap_or(false) {
        let _ = COUNTS.try_with(|c| {
            let (n, b) = c.get();
            c.set((n + 1, b + bytes as u64));
        });
    }
}

// SAFETY: every method forwards to the system allocator unchanged; the
// bookkeeping only touches const-initialised thread-locals without
// destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`; returns its result, and the allocations and bytes it made on
/// this thread.
pub fn count<R>(f: impl FnOnce() -> R) -> (R, u64, u64) {
    COUNTS.with(|c| c.set((0, 0)));
    ACTIVE.with(|a| a.set(true));
    let result = black_box(f());
    ACTIVE.with(|a| a.set(false));
    let (n, bytes) = COUNTS.with(Cell::get);
    (result, n, bytes)
}
