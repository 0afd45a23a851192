//! Borrowed views that cross the ABI: `oap_str` (UTF-8 text) and
//! `oap_bytes` (raw bytes), each a pointer and a length, never assumed
//! NUL-terminated.

use std::ffi::{c_char, CStr};
use std::{ptr, slice, str};

use crate::ffi::check_len;
use crate::panic;
use crate::status::oap_status;

/// A borrowed string: `len` bytes of valid UTF-8 at `ptr`, not
/// NUL-terminated.
///
/// `ptr == NULL` (with `len == 0`) means "absent" (for example no `state`
/// parameter); a non-NULL `ptr` with `len == 0` is the empty string. A NULL
/// `ptr` with a non-zero `len` is a caller bug, refused with
/// `OAP_STATUS_NULL_PARAMETER` rather than read as "absent" (which would
/// silently pick a default). Strings the library
/// hands out are valid for as long as the function documenting them says
/// (usually: until the handle they come from is freed, or until the
/// callback returns); an empty one's `ptr` points to a NUL byte, never to
/// a dangling address, so `memcpy(dst, s.ptr, s.len)` is always defined.
/// Strings the caller hands in are read during the call only and copied if
/// kept.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_str {
    /// The first byte, or NULL.
    pub ptr: *const c_char,
    /// The number of bytes.
    pub len: usize,
}

/// Borrowed bytes: `len` bytes at `ptr`. `ptr` may be NULL when `len` is 0.
/// Bytes the library hands out never have a dangling `ptr`: when empty it
/// is NULL or points to a NUL byte.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_bytes {
    /// The first byte, or NULL when `len` is 0.
    pub ptr: *const u8,
    /// The number of bytes.
    pub len: usize,
}

/// Where the empty strings and byte views the library hands out point: a
/// real, readable NUL byte.
static EMPTY: [u8; 1] = [0];

/// `b`'s pointer, or [`EMPTY`]'s when `b` is empty.
fn non_dangling(b: &[u8]) -> *const u8 {
    if b.is_empty() {
        EMPTY.as_ptr()
    } else {
        b.as_ptr()
    }
}

/// `bytes` as text, or `OAP_STATUS_INVALID_UTF8`. Most strings crossing
/// the ABI (methods, URIs, header names and values, identifiers) are
/// ASCII and short, where `str::from_utf8`'s per-call and per-byte
/// overhead dominates: the standard library's word-at-a-time ASCII scan
/// comes first, and the full check runs only when a byte above 0x7F
/// turns up.
#[inline]
fn utf8(bytes: &[u8]) -> Result<&str, oap_status> {
    if is_ascii(bytes) {
        // SAFETY: every byte is below 0x80 (just checked): ASCII, which is
        // valid UTF-8.
        return Ok(unsafe { str::from_utf8_unchecked(bytes) });
    }
    str::from_utf8(bytes).map_err(|_| oap_status::InvalidUtf8)
}

/// Whether every byte is below 0x80, as `<[u8]>::is_ascii`, in fewer
/// instructions for the short strings that cross the ABI: the bytes are
/// OR-ed together eight at a time (the last eight read again, overlapping,
/// rather than one by one), then the high bits tested once.
#[inline]
fn is_ascii(bytes: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().unwrap_or([0xFF; 8]));
    let half = |b: &[u8]| u32::from_ne_bytes(b.try_into().unwrap_or([0xFF; 4]));
    let n = bytes.len();
    if n >= 8 {
        let mut acc = word(&bytes[n - 8..]);
        for chunk in bytes.chunks_exact(8) {
            acc |= word(chunk);
        }
        acc & HIGH == 0
    } else if n >= 4 {
        (half(&bytes[..4]) | half(&bytes[n - 4..])) & HIGH as u32 == 0
    } else {
        bytes.iter().fold(0, |acc, b| acc | b) < 0x80
    }
}

impl oap_str {
    /// The absent string.
    pub(crate) const NONE: oap_str = oap_str {
        ptr: ptr::null(),
        len: 0,
    };

    /// A view of `s` (valid as long as `s`). An empty `s` gives a view of
    /// [`EMPTY`]: Rust's empty slices may have a dangling pointer (an empty
    /// `String`'s is 0x1), which C may not pass even to `memcpy(d, p, 0)`.
    pub(crate) fn new(s: &str) -> oap_str {
        oap_str {
            ptr: non_dangling(s.as_bytes()).cast(),
            len: s.len(),
        }
    }

    /// A view of `s`, or the absent string.
    pub(crate) fn new_opt(s: Option<&str>) -> oap_str {
        s.map_or(oap_str::NONE, oap_str::new)
    }

    /// A view of a static text ending in NUL; the NUL is not counted.
    pub(crate) fn from_static_nul(s: &'static str) -> oap_str {
        let text = s.strip_suffix('\0').unwrap_or(s);
        oap_str::new(text)
    }

    /// The text, or `None` when `ptr` is NULL and `len` 0. A `len` over
    /// `PTRDIFF_MAX` is `OAP_STATUS_INVALID_PARAMETER` (checked first, see
    /// `check_len`); a NULL `ptr`
    /// with another non-zero `len` is `OAP_STATUS_NULL_PARAMETER`: a broken view,
    /// not an absent one (taking it as absent would fail open, e.g. an
    /// `approved_scopes` meaning "all requested scopes").
    ///
    /// # Safety
    /// When `ptr` is not NULL it must point to `len` readable bytes that
    /// stay valid and unchanged for `'a`.
    pub(crate) unsafe fn to_opt_str<'a>(self) -> Result<Option<&'a str>, oap_status> {
        check_len::<u8>(self.len)?;
        if self.ptr.is_null() {
            return if self.len == 0 {
                Ok(None)
            } else {
                Err(oap_status::NullParameter)
            };
        }
        // SAFETY: ptr is non-NULL, len <= isize::MAX (checked) and, by this
        // function's contract, ptr is valid for len bytes during 'a.
        let bytes = unsafe { slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) };
        utf8(bytes).map(Some)
    }

    /// The text; a NULL `ptr` is `OAP_STATUS_NULL_PARAMETER`.
    ///
    /// # Safety
    /// As [`oap_str::to_opt_str`].
    pub(crate) unsafe fn to_str<'a>(self) -> Result<&'a str, oap_status> {
        // SAFETY: same contract as ours.
        unsafe { self.to_opt_str() }?.ok_or(oap_status::NullParameter)
    }
}

impl oap_bytes {
    /// A view of `b`; an empty `b` gives a view of [`EMPTY`] (see
    /// [`oap_str::new`]).
    pub(crate) fn new(b: &[u8]) -> oap_bytes {
        oap_bytes {
            ptr: non_dangling(b),
            len: b.len(),
        }
    }

    /// The bytes; NULL with a zero length is empty, NULL with a non-zero
    /// length is `OAP_STATUS_NULL_PARAMETER`, any pointer with a length
    /// over `PTRDIFF_MAX` `OAP_STATUS_INVALID_PARAMETER`.
    ///
    /// # Safety
    /// When `ptr` is not NULL it must point to `len` readable bytes valid
    /// and unchanged for `'a`.
    pub(crate) unsafe fn to_slice<'a>(self) -> Result<&'a [u8], oap_status> {
        check_len::<u8>(self.len)?;
        if self.ptr.is_null() {
            return if self.len == 0 {
                Ok(&[])
            } else {
                Err(oap_status::NullParameter)
            };
        }
        // SAFETY: non-NULL, len <= isize::MAX (checked), and valid for len
        // bytes by the contract.
        Ok(unsafe { slice::from_raw_parts(self.ptr, self.len) })
    }
}

/// A view of the NUL-terminated C string `cstr` (the NUL not counted): a
/// convenience for callers holding C strings. The view borrows `cstr` and
/// is valid as long as it is. The bytes are not checked here: functions
/// that take the `oap_str` check UTF-8. NULL gives the absent string
/// (`ptr == NULL`). Thread-safe.
///
/// # Safety
/// `cstr` must be NULL or point to a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn oap_str_from_cstr(cstr: *const c_char) -> oap_str {
    panic::value(oap_str::NONE, || {
        if cstr.is_null() {
            return oap_str::NONE;
        }
        // SAFETY: non-NULL and NUL-terminated by this function's contract.
        let len = unsafe { CStr::from_ptr(cstr) }.to_bytes().len();
        oap_str { ptr: cstr, len }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_scan_agrees_with_from_utf8() {
        // A high byte at every position of every length up to three words,
        // alone (invalid) and as part of a valid two-byte sequence.
        for len in 0..=40 {
            let ascii = vec![b'a'; len];
            assert_eq!(utf8(&ascii), Ok(str::from_utf8(&ascii).unwrap()));
            for at in 0..len {
                let mut bad = ascii.clone();
                bad[at] = 0x80;
                assert!(!bad.is_ascii());
                assert_eq!(utf8(&bad), Err(oap_status::InvalidUtf8));
                if at + 1 < len {
                    let mut good = ascii.clone();
                    good[at..at + 2].copy_from_slice("é".as_bytes());
                    assert_eq!(utf8(&good), Ok(str::from_utf8(&good).unwrap()));
                }
            }
        }
    }

    #[test]
    fn views_convert_back_and_reject_bad_input() {
        // An empty String's pointer dangles (0x1).
        let owned = String::with_capacity(0);
        let empty = oap_str::new(owned.as_str());
        // SAFETY: a view of EMPTY, a static: readable, and one byte long.
        assert_eq!((empty.len, unsafe { *empty.ptr }), (0, 0));
        let s = oap_str::new("héllo");
        // SAFETY: s views a live 'static string.
        assert_eq!(unsafe { s.to_str() }, Ok("héllo"));
        // SAFETY: NULL is always allowed.
        assert_eq!(unsafe { oap_str::NONE.to_opt_str() }, Ok(None));
        let dangling_len = oap_str {
            ptr: ptr::null(),
            len: 4,
        };
        // SAFETY: NULL is checked before any read.
        let broken = unsafe { dangling_len.to_opt_str() };
        assert_eq!(broken, Err(oap_status::NullParameter));
        // SAFETY: as above.
        let absent = unsafe { oap_str::NONE.to_str() };
        assert_eq!(absent, Err(oap_status::NullParameter));
        let bad = [0xffu8, 0xfe];
        let view = oap_str {
            ptr: bad.as_ptr().cast(),
            len: 2,
        };
        // SAFETY: view points into `bad`, alive here.
        assert_eq!(unsafe { view.to_str() }, Err(oap_status::InvalidUtf8));
        let none = oap_bytes {
            ptr: ptr::null(),
            len: 0,
        };
        // SAFETY: NULL with len 0.
        assert_eq!(unsafe { none.to_slice() }, Ok(&[][..]));
        let broken = oap_bytes {
            ptr: ptr::null(),
            len: 3,
        };
        // SAFETY: NULL is checked before any read.
        assert_eq!(unsafe { broken.to_slice() }, Err(oap_status::NullParameter));
        let text = "abc";
        let huge = oap_str {
            ptr: text.as_ptr().cast(),
            len: usize::MAX,
        };
        // SAFETY: the impossible length is refused before any read.
        assert_eq!(unsafe { huge.to_str() }, Err(oap_status::InvalidParameter));
        let huge_bytes = oap_bytes {
            ptr: text.as_ptr(),
            len: isize::MAX as usize + 1,
        };
        // SAFETY: as above.
        let refused = unsafe { huge_bytes.to_slice() };
        assert_eq!(refused, Err(oap_status::InvalidParameter));
        // SAFETY: a NUL-terminated literal.
        let c = unsafe { oap_str_from_cstr(c"abc".as_ptr()) };
        assert_eq!(c.len, 3);
    }
}
