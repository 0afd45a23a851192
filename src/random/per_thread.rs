//! Each thread's generator state, in memory that a forked child sees as
//! zeros: one private anonymous page marked `MADV_WIPEONFORK` (Linux 4.14
//! and later). A child never continues its parent's sequence: it finds the
//! state zeroed, which reads as "not seeded", and seeds itself. This holds
//! for every way of forking (`fork`, `_Fork`, a raw `clone`), with no check
//! on the hot path.
//!
//! Three system calls and one pointer: one of the crate's three `unsafe`
//! places (see `lib.rs`). The invariant: `page` is a live, private,
//! page-aligned mapping of at least `size_of::<T>()` bytes, owned by this
//! value alone (the type is neither `Send` nor `Sync`: a raw pointer field
//! sees to that), and `T` is valid for any bytes, all zeros included
//! (`ZeroValid`).
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::ptr::NonNull;

use super::State;

/// Types for which every byte pattern, zeros included, is a valid value.
///
/// # Safety
/// Implement only for `#[repr(C)]` types made of integers and arrays of
/// integers, no padding.
pub(crate) unsafe trait ZeroValid: Sized {}

/// Bytes mapped: one page on every supported target.
const MAPPED: usize = 4096;

const PROT_READ: c_int = 0x1;
const PROT_WRITE: c_int = 0x2;
const MAP_PRIVATE: c_int = 0x02;
const MAP_ANONYMOUS: c_int = 0x20;
const MADV_WIPEONFORK: c_int = 18;

extern "C" {
    fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        offset: i64,
    ) -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> c_int;
    fn madvise(addr: *mut c_void, len: usize, advice: c_int) -> c_int;
}

/// A `T` in a page of its own that a forked child sees zeroed.
pub(crate) struct WipeOnFork<T: ZeroValid> {
    page: NonNull<T>,
}

impl<T: ZeroValid> WipeOnFork<T> {
    /// Maps a zeroed `T`, or `None` when the kernel cannot wipe it on fork
    /// (before Linux 4.14: `madvise` answers `EINVAL`). The caller then
    /// keeps no state at all.
    pub(crate) fn new() -> Option<Self> {
        const { assert!(size_of::<T>() <= MAPPED && align_of::<T>() <= MAPPED) };
        // SAFETY: a fresh anonymous private mapping at an address of the
        // kernel's choosing touches no existing memory; every argument is a
        // constant valid for the call.
        let addr = unsafe {
            mmap(
                std::ptr::null_mut(),
                MAPPED,
                PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        // MAP_FAILED is (void *)-1.
        if addr as usize == usize::MAX {
            return None;
        }
        // SAFETY: `addr` is the page-aligned mapping of `MAPPED` bytes made
        // above, not yet shared with anything.
        if unsafe { madvise(addr, MAPPED, MADV_WIPEONFORK) } != 0 {
            // SAFETY: as above; it is unmapped before anyone sees it.
            unsafe { munmap(addr, MAPPED) };
            return None;
        }
        NonNull::new(addr.cast()).map(|page| WipeOnFork { page })
    }

    /// The value, zeroed if this process was forked since it was last
    /// written.
    pub(crate) fn get_mut(&mut self) -> &mut T {
        // SAFETY: the invariant above: the mapping is live, aligned, large
        // enough and initialized (the kernel zero-fills it, and zeros are a
        // valid `T`); `&mut self` makes this the only reference. A fork
        // wipes the page only in the child, whose one thread is the one
        // that called fork, not one inside this borrow.
        unsafe { self.page.as_mut() }
    }
}

impl<T: ZeroValid> Drop for WipeOnFork<T> {
    fn drop(&mut self) {
        // SAFETY: the mapping was made in `new`, is owned by this value
        // alone, and no reference to it outlives `&mut self`.
        unsafe { munmap(self.page.as_ptr().cast(), MAPPED) };
    }
}

// SAFETY: `State` is `#[repr(C)]`: ten `u32`s and a byte array, no padding.
unsafe impl ZeroValid for State {}

thread_local! {
    /// Mapped on a thread's first draw, unmapped when the thread ends.
    static STATE: RefCell<Option<WipeOnFork<State>>> = RefCell::new(WipeOnFork::new());
}

/// Runs `f` on this thread's state: `Ok(None)` when there is none (the
/// kernel cannot wipe on fork), `Err` when the thread is being torn down or
/// the state is already borrowed; the caller then asks the OS.
pub(super) fn with<R>(f: impl FnOnce(&mut State) -> R) -> Result<Option<R>, ()> {
    STATE
        .try_with(|cell| {
            let mut slot = cell.try_borrow_mut().map_err(|_| ())?;
            Ok(slot.as_mut().map(|page| f(page.get_mut())))
        })
        .map_err(|_| ())?
}
