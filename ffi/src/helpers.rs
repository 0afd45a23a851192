//! Pure helpers: the Rust API's building blocks, for hosts that need one
//! piece (comparing a secret, checking PKCE, parsing a header) without an
//! endpoint. All are thread-safe and keep nothing.

use std::ffi::{c_char, c_void};

use provider::form;
use provider::header::{self, HeaderError};
use provider::{pkce, secret, token};

use crate::enums::{cb_answer, oap_cb_result, oap_pkce_method, pkce_method};
use crate::ffi::{check_len, Out};
use crate::panic;
use crate::slice::{oap_bytes, oap_str};
use crate::status::oap_status;

/// The length of a generated token (`oap_generate_token`): 256 random bits
/// in unpadded base64url.
pub const OAP_TOKEN_LEN: usize = 43;
/// The length of an S256 PKCE challenge.
pub const OAP_S256_CHALLENGE_LEN: usize = 43;
/// A buffer size that holds any Basic credentials `oap_parse_basic` accepts.
pub const OAP_BASIC_BUFFER_LEN: usize = 1024;
const _: () = assert!(OAP_BASIC_BUFFER_LEN == header::BASIC_BUFFER_LEN);

/// The library version, e.g. "0.1.0" (static; also NUL-terminated).
#[no_mangle]
pub extern "C" fn oap_version() -> oap_str {
    panic::value(oap_str::NONE, || {
        oap_str::from_static_nul(concat!(env!("CARGO_PKG_VERSION"), "\0"))
    })
}

/// A short English description of `status` (any number: unknown ones get
/// "unknown status").
///
/// The returned text is static (never free it), valid UTF-8, and followed
/// by a NUL byte that `len` does not count, so `ptr` may also be printed
/// with `"%s"`. Thread-safe.
#[no_mangle]
pub extern "C" fn oap_status_message(status: u32) -> oap_str {
    panic::value(oap_str::NONE, || {
        let text = oap_status::from_u32(status).map_or("unknown status\0", oap_status::message_nul);
        oap_str::from_static_nul(text)
    })
}

/// Copies `text` into the caller's buffer. A `buf_len` over `PTRDIFF_MAX`
/// is refused as every length is (`check_len`), however short `text`.
///
/// # Safety
/// `buf` is NULL or writable for `buf_len` bytes.
unsafe fn copy_out(
    text: &[u8],
    buf: *mut c_char,
    buf_len: usize,
    written_out: Out<usize>,
) -> Result<(), oap_status> {
    check_len::<u8>(buf_len)?;
    if buf.is_null() {
        return Err(oap_status::NullParameter);
    }
    if buf_len < text.len() {
        return Err(oap_status::BufferTooSmall);
    }
    // SAFETY: buf is writable for buf_len >= text.len() bytes (contract);
    // text is our own slice, so they do not overlap.
    unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len()) };
    written_out.write(text.len());
    Ok(())
}

/// Whether `len` bytes at `ptr` share an address with `input`.
fn overlap(input: &[u8], ptr: *const u8, len: usize) -> bool {
    let (a, b) = (input.as_ptr() as usize, ptr as usize);
    a < b.saturating_add(len) && b < a.saturating_add(input.len())
}

/// Compares two byte strings in time independent of their contents and of
/// which is longer (it compares their SHA-256 digests). Writes the result
/// to `*equal_out`.
///
/// # Safety
/// `a` and `b` valid for the call; `equal_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_constant_time_eq(
    a: oap_bytes,
    b: oap_bytes,
    equal_out: *mut bool,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `equal_out` NULL or writable, `a` and `b` valid for the
        // call (contract).
        let (equal_out, a, b) = unsafe { (Out::new(equal_out)?, a.to_slice()?, b.to_slice()?) };
        equal_out.write(secret::constant_time_eq(a, b));
        Ok(())
    })
}

/// Whether `verifier` matches `challenge` under `method` (RFC 7636 §4.6),
/// in constant time; a verifier of invalid syntax never matches. Writes the
/// result to `*matches_out`. An unknown `method` (or `OAP_PKCE_NONE`) is
/// `OAP_STATUS_INVALID_PARAMETER`.
///
/// # Safety
/// `verifier`, `challenge` valid for the call; `matches_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_pkce_verify(
    verifier: oap_str,
    challenge: oap_str,
    method: oap_pkce_method,
    matches_out: *mut bool,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `matches_out` NULL or writable, `verifier` and
        // `challenge` valid for the call (contract).
        let (matches_out, verifier, challenge) = unsafe {
            (
                Out::new(matches_out)?,
                verifier.to_str()?,
                challenge.to_str()?,
            )
        };
        let method = pkce_method(method)?;
        matches_out.write(pkce::verify(verifier, challenge, method));
        Ok(())
    })
}

/// Writes the S256 challenge of `verifier`, BASE64URL(SHA256(verifier)),
/// to `buf` (`OAP_S256_CHALLENGE_LEN` bytes, not NUL-terminated) and its
/// length to `*written_out`. `OAP_STATUS_BUFFER_TOO_SMALL` when `buf_len`
/// is too small.
///
/// # Safety
/// `verifier` valid for the call; `buf` NULL or writable for `buf_len`
/// bytes; `written_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_pkce_s256_challenge(
    verifier: oap_str,
    buf: *mut c_char,
    buf_len: usize,
    written_out: *mut usize,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `written_out` NULL or writable, `verifier` valid for the
        // call, `buf` NULL or writable for `buf_len` bytes (contract).
        unsafe {
            let written_out = Out::new(written_out)?;
            let challenge = pkce::s256_challenge(verifier.to_str()?);
            copy_out(challenge.as_str().as_bytes(), buf, buf_len, written_out)
        }
    })
}

/// Writes a fresh random token (256 bits from the OS, unpadded base64url:
/// `OAP_TOKEN_LEN` bytes, not NUL-terminated) to `buf` and its length to
/// `*written_out`. `OAP_STATUS_RANDOMNESS_UNAVAILABLE` if the OS has no
/// randomness; `OAP_STATUS_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `buf` NULL or writable for `buf_len` bytes; `written_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_generate_token(
    buf: *mut c_char,
    buf_len: usize,
    written_out: *mut usize,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `written_out` NULL or writable (contract).
        let written_out = unsafe { Out::new(written_out) }?;
        check_len::<u8>(buf_len)?;
        if buf.is_null() {
            return Err(oap_status::NullParameter);
        }
        if buf_len < OAP_TOKEN_LEN {
            return Err(oap_status::BufferTooSmall);
        }
        let token = token::generate_token().map_err(|_| oap_status::RandomnessUnavailable)?;
        // SAFETY: `buf` NULL or writable for `buf_len` bytes (contract), as
        // copy_out asks.
        unsafe { copy_out(token.as_bytes(), buf, buf_len, written_out) }
    })
}

/// Parses a Basic `Authorization` header value carrying OAuth client
/// credentials (RFC 6749 §2.3.1: base64 of the form-encoded id and secret
/// joined by ':'), decoding into the caller's `buf` (`OAP_BASIC_BUFFER_LEN`
/// bytes always suffice). On success `*client_id_out` and
/// `*client_secret_out` point into `buf`, valid while it is; on failure
/// `buf` holds unspecified bytes.
///
/// `buf` must not overlap `header_value`: decoding in place is refused
/// with `OAP_STATUS_INVALID_PARAMETER` (copy the value first).
///
/// Errors: `OAP_STATUS_MALFORMED` (not Basic, bad base64, no ':', bad
/// percent-encoding, not UTF-8, empty id), `OAP_STATUS_BUFFER_TOO_SMALL`,
/// `OAP_STATUS_INVALID_PARAMETER` (overlapping buffers).
///
/// # Safety
/// `header_value` valid for the call; `buf` NULL or writable for
/// `buf_len` bytes; the out-pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_parse_basic(
    header_value: oap_str,
    buf: *mut c_char,
    buf_len: usize,
    client_id_out: *mut oap_str,
    client_secret_out: *mut oap_str,
) -> oap_status {
    panic::status(|| {
        // SAFETY: the out-pointers NULL or writable, `header_value` valid
        // for the call (contract).
        let (id_out, secret_out, value) = unsafe {
            let outs = (Out::new(client_id_out)?, Out::new(client_secret_out)?);
            (outs.0, outs.1, header_value.to_str()?)
        };
        check_len::<u8>(buf_len)?;
        if buf.is_null() {
            return Err(oap_status::NullParameter);
        }
        if overlap(value.as_bytes(), buf.cast_const().cast::<u8>(), buf_len) {
            return Err(oap_status::InvalidParameter);
        }
        // SAFETY: buf is writable for buf_len <= isize::MAX (checked) bytes
        // (contract), and disjoint from `value`, the only memory of the
        // caller's we read while it is borrowed (checked just above).
        let buf = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), buf_len) };
        let creds = header::parse_basic(value, buf).map_err(|e| match e {
            HeaderError::TooLong => oap_status::BufferTooSmall,
            _ => oap_status::Malformed,
        })?;
        id_out.write(oap_str::new(creds.client_id));
        secret_out.write(oap_str::new(creds.client_secret));
        Ok(())
    })
}

/// Parses a Bearer `Authorization` header value (RFC 6750 §2.1): on
/// success `*token_out` points into `header_value`. `OAP_STATUS_MALFORMED`
/// for another scheme, a missing token or invalid token characters.
///
/// # Safety
/// `header_value` valid for the call (and as long as `*token_out` is
/// used); `token_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_parse_bearer(
    header_value: oap_str,
    token_out: *mut oap_str,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `token_out` NULL or writable; `header_value` valid for
        // the call and as long as `*token_out`, which borrows it, is used
        // (contract).
        let (token_out, value) = unsafe { (Out::new(token_out)?, header_value.to_str()?) };
        let token = header::parse_bearer(value).map_err(|_| oap_status::Malformed)?;
        token_out.write(oap_str::new(token));
        Ok(())
    })
}

/// Writes the Basic `Authorization` header value for client credentials
/// ("Basic " + base64 of the form-encoded id ':' secret) to `buf`, and its
/// length to `*written_out`. For clients and tests.
/// `OAP_STATUS_BUFFER_TOO_SMALL` when it does not fit.
///
/// # Safety
/// `client_id`, `client_secret` valid for the call; `buf` NULL or writable
/// for `buf_len` bytes; `written_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_basic_header_value(
    client_id: oap_str,
    client_secret: oap_str,
    buf: *mut c_char,
    buf_len: usize,
    written_out: *mut usize,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `written_out` NULL or writable, the strings valid for the
        // call, `buf` NULL or writable for `buf_len` bytes (contract).
        unsafe {
            let written_out = Out::new(written_out)?;
            let (id, secret) = (client_id.to_str()?, client_secret.to_str()?);
            let value = header::basic_header_value(id, secret);
            copy_out(value.as_bytes(), buf, buf_len, written_out)
        }
    })
}

/// Called by `oap_form_parse` for each pair, in order: `name` and `value`
/// are decoded and valid until the callback returns. Return `OAP_CB_TRUE`
/// to go on, `OAP_CB_FALSE` to stop (the parse still succeeds), anything
/// else to stop with `OAP_STATUS_CALLBACK_FAILED`.
pub type oap_form_pair_cb = Option<
    unsafe extern "C" fn(user_data: *mut c_void, name: oap_str, value: oap_str) -> oap_cb_result,
>;

/// Parses `application/x-www-form-urlencoded` data (a body or a query
/// string without '?'), calling `callback` with `user_data` for each
/// decoded pair. Empty segments are skipped; a segment without '=' has an
/// empty value. `OAP_STATUS_MALFORMED` at the first malformed pair (bad
/// percent-encoding, not UTF-8 once decoded, empty name), after the pairs
/// before it were delivered.
///
/// # Safety
/// `input` valid for the call; `callback` NULL or a valid function that
/// does not unwind.
#[no_mangle]
pub unsafe extern "C" fn oap_form_parse(
    input: oap_bytes,
    callback: oap_form_pair_cb,
    user_data: *mut c_void,
) -> oap_status {
    panic::status(|| {
        let callback = callback.ok_or(oap_status::NullParameter)?;
        // SAFETY: `input` valid for the call (contract); the pairs borrow
        // it during the loop only.
        let input = unsafe { input.to_slice() }?;
        for pair in form::pairs(input) {
            let (name, value) = pair.map_err(|_| oap_status::Malformed)?;
            // SAFETY: the caller's callback (contract); name and value live
            // until it returns.
            let answer = unsafe { callback(user_data, oap_str::new(&name), oap_str::new(&value)) };
            match cb_answer(answer) {
                Some(true) => {}
                Some(false) => return Ok(()),
                None => return Err(oap_status::CallbackFailed),
            }
        }
        Ok(())
    })
}
