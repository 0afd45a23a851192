//! Pointers and ownership across the ABI.
//!
//! Each opaque handle (`oap_server`, `oap_response`, …) is a Rust struct
//! that C only ever sees behind a pointer made by [`into_handle`] (a
//! `Box`), borrowed with [`try_ref`] and released by [`free_handle`]. The
//! pointer checks here are the "NULL parameter" path of every export.

use std::mem::{size_of, MaybeUninit};
use std::ptr;

use crate::status::oap_status;

/// Borrows the object behind `ptr`; NULL is `OAP_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` that nothing mutates during `'a`.
pub(crate) unsafe fn try_ref<'a, T>(ptr: *const T) -> Result<&'a T, oap_status> {
    // SAFETY: by the contract, a non-NULL ptr is a valid, shared T for 'a.
    unsafe { ptr.as_ref() }.ok_or(oap_status::NullParameter)
}

/// An out-parameter, checked for NULL before any work is done and written
/// only at the end, on success. Making one is the unsafe step (the caller
/// vouches for the pointer once); writing is then safe.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Checks `ptr` for NULL: `OAP_STATUS_NULL_PARAMETER`.
    ///
    /// # Safety
    /// `ptr` is NULL or valid for a write of one `T` until the `Out` is
    /// written or dropped.
    pub(crate) unsafe fn new(ptr: *mut T) -> Result<Self, oap_status> {
        if ptr.is_null() {
            Err(oap_status::NullParameter)
        } else {
            Ok(Out(ptr))
        }
    }

    /// Writes the value (without dropping whatever the caller left there).
    pub(crate) fn write(self, value: T) {
        // SAFETY: non-NULL (checked in new) and writable for one T, as the
        // caller of the unsafe new promised. write: the old contents are
        // the caller's, possibly uninitialised, and are not dropped.
        unsafe { self.0.write(value) }
    }
}

/// Hands `value` to C as an owned handle, to be released by [`free_handle`].
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Releases a handle made by [`into_handle`]; NULL does nothing.
///
/// # Safety
/// `ptr` is NULL or a pointer from [`into_handle::<T>`] not yet freed and
/// not in use by another thread.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: by the contract, ptr came from Box::into_raw and is freed once.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// Checks that `len` values of `T` could be one object: at most
/// `isize::MAX` (`PTRDIFF_MAX`) bytes, as `slice::from_raw_parts`
/// requires. A larger length (say `(size_t)-1` meant as "NUL-terminated")
/// cannot describe a real buffer: `OAP_STATUS_INVALID_PARAMETER` instead
/// of undefined behaviour.
///
/// The rule is the same for every pointer-and-length the ABI takes
/// (`oap_str`, `oap_bytes`, arrays, output buffers): the length is checked
/// first, before the pointer, so an impossible length is
/// `OAP_STATUS_INVALID_PARAMETER` whether the pointer is NULL or not, and
/// whether the call would have read or written that many bytes or not.
pub(crate) fn check_len<T>(len: usize) -> Result<(), oap_status> {
    match len.checked_mul(size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(oap_status::InvalidParameter),
    }
}

/// A slice from a C array; NULL is allowed only with `len == 0`. An empty
/// array's pointer is never looked at (it may be anything, even
/// misaligned); an impossible `len` is `OAP_STATUS_INVALID_PARAMETER`
/// ([`check_len`], before the pointer is looked at).
///
/// # Safety
/// A non-NULL `ptr` points to `len` initialised `T`s valid during `'a`.
pub(crate) unsafe fn try_slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], oap_status> {
    check_len::<T>(len)?;
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(oap_status::NullParameter)
        };
    }
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: non-NULL, len * size_of::<T>() <= isize::MAX (checked), and
    // valid for len elements by the contract (which implies alignment).
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A `#[repr(C)]` struct the caller fills in, whose first field is
/// `size_t struct_size`: the caller's `sizeof` of it, so later versions can
/// append fields without breaking callers compiled against older headers.
///
/// # Safety
/// Implementors are `#[repr(C)]`, start with a `usize` `struct_size`, and
/// are valid when all-zero (every field an integer, raw pointer, `oap_str`,
/// or `Option` of a function pointer), because fields past the caller's
/// `struct_size` are read as zero: absent, NULL, no. No field is a `bool`:
/// every byte pattern the caller can leave in a field must be a valid
/// value of it (a `bool` holding 2 is undefined behaviour), so yes/no
/// fields are integers tested `!= 0`.
pub(crate) unsafe trait Versioned: Sized {
    /// The size of the struct's first version; a smaller `struct_size` is
    /// refused with `OAP_STATUS_STRUCT_TOO_SMALL`.
    const FIRST_VERSION_SIZE: usize;

    /// The sizes of the versions between the first and the current one,
    /// each the end of a field: any other `struct_size` between the first
    /// version's and the current size ends inside a field.
    const OTHER_VERSION_SIZES: &'static [usize] = &[];
}

/// Copies a versioned struct: the first `min(struct_size, sizeof)` bytes of
/// the caller's, the rest zero (fields the caller's version does not have).
///
/// A `struct_size` below the first version's size is
/// `OAP_STATUS_STRUCT_TOO_SMALL`; one below the current size that is no
/// version's size would end inside a field (half a pointer, half a
/// length): `OAP_STATUS_INVALID_PARAMETER`, nothing read. A larger one is
/// a later version's: the fields this version knows are read.
///
/// # Safety
/// `ptr` is NULL or points to at least `struct_size` readable bytes holding
/// an initialised `T` prefix (its first field being `struct_size`).
pub(crate) unsafe fn read_versioned<T: Versioned>(ptr: *const T) -> Result<T, oap_status> {
    if ptr.is_null() {
        return Err(oap_status::NullParameter);
    }
    // SAFETY: non-NULL; the first field of every Versioned struct is a usize,
    // readable by the contract. read_unaligned: no alignment assumption.
    let struct_size = unsafe { ptr.cast::<usize>().read_unaligned() };
    if struct_size < T::FIRST_VERSION_SIZE {
        return Err(oap_status::StructTooSmall);
    }
    if struct_size < size_of::<T>()
        && struct_size != T::FIRST_VERSION_SIZE
        && !T::OTHER_VERSION_SIZES.contains(&struct_size)
    {
        return Err(oap_status::InvalidParameter);
    }
    let mut out = MaybeUninit::<T>::zeroed();
    let n = struct_size.min(size_of::<T>());
    // SAFETY: the source holds struct_size >= n readable bytes (contract);
    // the destination is a T, size_of::<T>() >= n bytes; they do not overlap
    // (out is a fresh local).
    unsafe { ptr::copy_nonoverlapping(ptr.cast::<u8>(), out.as_mut_ptr().cast::<u8>(), n) };
    // SAFETY: all-zero is a valid T (Versioned's contract), and the first n
    // bytes are the caller's initialised T prefix: every field is either
    // fully copied, or zero. No field is cut in half: n is size_of::<T>(),
    // FIRST_VERSION_SIZE or one of OTHER_VERSION_SIZES, the end of a field
    // (checked above).
    Ok(unsafe { out.assume_init() })
}

/// Arrays up to this length are converted on the stack by [`map_small`]:
/// more than a request usually has headers, or a resource required scopes.
const INLINE_ITEMS: usize = 24;

/// Runs `f` on `items` mapped one by one (the first error returned): on
/// the stack for up to [`INLINE_ITEMS`] of them (the usual case: a
/// request's headers, a resource's required scopes), in one `Vec` beyond.
/// The slice `f` gets never has a dangling pointer, even when empty.
pub(crate) fn map_small<T, U: Copy, E, R>(
    items: &[T],
    mut map: impl FnMut(&T) -> Result<U, E>,
    f: impl FnOnce(&[U]) -> R,
) -> Result<R, E> {
    if items.len() <= INLINE_ITEMS {
        // Only the slots used are written.
        let mut inline = [const { MaybeUninit::<U>::uninit() }; INLINE_ITEMS];
        for (slot, item) in inline.iter_mut().zip(items) {
            slot.write(map(item)?);
        }
        // SAFETY: the first items.len() slots were all written just above
        // (an error returned before this point), MaybeUninit<U> has U's
        // layout, and the slice borrows `inline`, which outlives it. An
        // empty slice points into `inline`: never dangling.
        let mapped =
            unsafe { std::slice::from_raw_parts(inline.as_ptr().cast::<U>(), items.len()) };
        Ok(f(mapped))
    } else {
        let mut mapped = Vec::with_capacity(items.len());
        for item in items {
            mapped.push(map(item)?);
        }
        Ok(f(&mapped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_small_maps_on_the_stack_and_beyond() {
        for n in [0usize, 1, INLINE_ITEMS, INLINE_ITEMS + 1, 40] {
            let items: Vec<usize> = (0..n).collect();
            let doubled = map_small(
                &items,
                |&i| Ok::<_, ()>(i * 2),
                |out| {
                    // Not the dangling pointer of an empty Vec (its alignment).
                    assert_ne!(out.as_ptr() as usize, std::mem::align_of::<usize>());
                    out.to_vec()
                },
            );
            assert_eq!(doubled, Ok(items.iter().map(|i| i * 2).collect::<Vec<_>>()));
            // The first error is returned, and f is not run.
            if n > 0 {
                let failed = map_small(
                    &items,
                    |&i| if i + 1 == n { Err(i) } else { Ok(i) },
                    |_| unreachable!(),
                );
                assert_eq!(failed, Err::<(), _>(n - 1));
            }
        }
    }
}
