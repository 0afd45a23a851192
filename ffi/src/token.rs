//! `oap_token`: what a token grants, from `oap_server_verify_bearer`, or
//! made once by the host (`oap_token_new`) to hand back from its
//! `validate_bearer_token` and `introspect_token` callbacks; and
//! `oap_token_info`, the description of a token the host fills in, which
//! `oap_token_new` and `oap_ctx_set_token_info` check and copy.

use std::sync::Arc;

use provider::{Scope, TokenInfo};

use crate::enums::{oap_token_type, token_type, token_type_code, OAP_TOKEN_TYPE_NONE};
use crate::ffi::{free_handle, into_handle, read_versioned, try_slice, Out, Versioned};
use crate::panic;
use crate::slice::oap_str;
use crate::status::oap_status;

/// What a token grants, handed back by `introspect_token` and
/// `validate_bearer_token` through `oap_ctx_set_token_info` (copied).
/// Zero-initialise it, set `struct_size`, fill in what you know.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_token_info {
    /// `sizeof(oap_token_info)`.
    pub struct_size: usize,
    /// `OAP_TOKEN_TYPE_ACCESS_TOKEN`, `…_REFRESH_TOKEN`, or `…_NONE` (unknown).
    pub token_type: oap_token_type,
    /// The client the token was issued to (required).
    pub client_id: oap_str,
    /// Human-readable resource owner name, or absent (NULL `ptr`).
    pub username: oap_str,
    /// Subject: the resource owner's identifier, or absent.
    pub sub: oap_str,
    /// Space-delimited granted scopes (absent: none).
    pub scopes: oap_str,
    /// Expiry, seconds since the Unix epoch; 0: does not expire. The
    /// library treats a token past it as inactive.
    pub exp: u64,
    /// Issue time, seconds since the Unix epoch; 0: unknown.
    pub iat: u64,
    /// Intended audiences; may be NULL when `aud_len` is 0.
    pub aud: *const oap_str,
    /// The number of audiences.
    pub aud_len: usize,
    /// Issuer, or absent (the server's configured issuer is used).
    pub iss: oap_str,
    /// The grant (token family) identifier, or absent.
    pub grant_id: oap_str,
}

// SAFETY: #[repr(C)], struct_size first, every field valid when zero.
unsafe impl Versioned for oap_token_info {
    const FIRST_VERSION_SIZE: usize = std::mem::size_of::<oap_token_info>();
}

/// Checks and copies a host's token info (`oap_token_new`,
/// `oap_ctx_set_token_info`).
///
/// # Safety
/// `info` NULL or valid for the call, its strings and array too.
pub(crate) unsafe fn copy_token_info(info: *const oap_token_info) -> Result<TokenInfo, oap_status> {
    // SAFETY: our contract: `info` is what read_versioned asks for, and
    // every view in it (the strings, the `aud` array and its strings) is
    // valid for this call. Each borrowed &str is copied (to_owned,
    // Arc::from, scopes) before we return, so none outlives the call.
    unsafe {
        let i = read_versioned(info)?;
        let token_type = token_type(i.token_type)?;
        let aud = try_slice(i.aud, i.aud_len)?
            .iter()
            .map(|a| a.to_str().map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        let owned = |s: oap_str| s.to_opt_str().map(|o| o.map(str::to_owned));
        let shared = |s: oap_str| s.to_opt_str().map(|o| o.map(Arc::from));
        Ok(TokenInfo {
            token_type,
            client_id: Arc::from(i.client_id.to_str()?),
            username: shared(i.username)?,
            sub: shared(i.sub)?,
            scopes: scopes(i.scopes.to_opt_str()?)?,
            exp: time(i.exp),
            iat: time(i.iat),
            aud,
            iss: owned(i.iss)?,
            grant_id: shared(i.grant_id)?,
        })
    }
}

/// Parses a space-delimited scope list; malformed → invalid parameter.
pub(crate) fn scopes(text: Option<&str>) -> Result<Scope, oap_status> {
    Scope::parse(text.unwrap_or("")).map_err(|_| oap_status::InvalidParameter)
}

/// A time field where 0 means "none".
pub(crate) fn time(t: u64) -> Option<u64> {
    (t != 0).then_some(t)
}

/// A token's information: a verified bearer token's, from
/// `oap_server_verify_bearer`, or a host's record, checked and copied once
/// by `oap_token_new`. Immutable, readable from any thread; its strings
/// are valid until it is freed with `oap_token_free`.
pub struct oap_token {
    pub(crate) inner: TokenInfo,
}

/// Checks and copies `info` (as `oap_ctx_set_token_info` would) into a new
/// token, written to `*token_out` on success; the caller owns it and frees
/// it with `oap_token_free`. `info`'s memory may be released once this
/// returns. Thread-safe.
///
/// A host that keeps its tokens in memory makes one when it saves a token
/// (`save_bearer_token`) and hands it back from `validate_bearer_token`
/// and `introspect_token` with `oap_ctx_set_token`: the strings are
/// checked and the scopes parsed once, not on every request, the way the
/// Rust API's `MemoryValidator` keeps its records parsed.
///
/// Errors: `OAP_STATUS_NULL_PARAMETER`, `OAP_STATUS_INVALID_UTF8`,
/// `OAP_STATUS_INVALID_PARAMETER` (unknown `token_type`, malformed
/// scopes), `OAP_STATUS_STRUCT_TOO_SMALL`.
///
/// # Safety
/// `info` is NULL or points to an `oap_token_info` (`struct_size` bytes
/// readable) whose strings and array are valid for the call; `token_out`
/// is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_token_new(
    info: *const oap_token_info,
    token_out: *mut *mut oap_token,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `token_out` NULL or writable, `info` NULL or a readable
        // oap_token_info whose views are valid for the call (contract):
        // what copy_token_info asks.
        let (token_out, inner) = unsafe { (Out::new(token_out)?, copy_token_info(info)?) };
        token_out.write(into_handle(oap_token { inner }));
        Ok(())
    })
}

/// Reads a token; NULL (or a panic) gives `fallback`.
fn read<T: Copy>(token: Option<&oap_token>, fallback: T, get: impl FnOnce(&TokenInfo) -> T) -> T {
    panic::value(fallback, || token.map_or(fallback, |t| get(&t.inner)))
}

/// The client the token was issued to. Absent when `token` is NULL.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_client_id(token: Option<&oap_token>) -> oap_str {
    read(token, oap_str::NONE, |t| oap_str::new(&t.client_id))
}

/// The resource owner's name, or absent.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_username(token: Option<&oap_token>) -> oap_str {
    read(token, oap_str::NONE, |t| {
        oap_str::new_opt(t.username.as_deref())
    })
}

/// The subject (resource owner identifier), or absent.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_sub(token: Option<&oap_token>) -> oap_str {
    read(token, oap_str::NONE, |t| oap_str::new_opt(t.sub.as_deref()))
}

/// The granted scopes, space-delimited (possibly empty). Absent when
/// `token` is NULL.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_scopes(token: Option<&oap_token>) -> oap_str {
    read(token, oap_str::NONE, |t| oap_str::new(t.scopes.as_str()))
}

/// Whether the token grants `scope` (one scope token). False when `token`
/// is NULL or `scope` is absent or not UTF-8.
///
/// # Safety
/// `token` is NULL or live; `scope` valid for the call.
#[no_mangle]
pub unsafe extern "C" fn oap_token_has_scope(token: Option<&oap_token>, scope: oap_str) -> bool {
    read(token, false, |t| {
        // SAFETY: `scope` valid for the call (contract).
        let scope = unsafe { scope.to_str() };
        scope.is_ok_and(|s| t.scopes.contains(s))
    })
}

/// Expiry, seconds since the Unix epoch; 0 when it does not expire (or
/// `token` is NULL).
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_exp(token: Option<&oap_token>) -> u64 {
    read(token, 0, |t| t.exp.unwrap_or(0))
}

/// Issue time, seconds since the Unix epoch; 0 when unknown.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_iat(token: Option<&oap_token>) -> u64 {
    read(token, 0, |t| t.iat.unwrap_or(0))
}

/// The token type the validator reported (`OAP_TOKEN_TYPE_*`).
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_token_type(token: Option<&oap_token>) -> oap_token_type {
    read(token, OAP_TOKEN_TYPE_NONE, |t| {
        token_type_code(t.token_type)
    })
}

/// The issuer the validator reported, or absent.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_iss(token: Option<&oap_token>) -> oap_str {
    read(token, oap_str::NONE, |t| oap_str::new_opt(t.iss.as_deref()))
}

/// The grant (token family) identifier, or absent.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_grant_id(token: Option<&oap_token>) -> oap_str {
    read(token, oap_str::NONE, |t| {
        oap_str::new_opt(t.grant_id.as_deref())
    })
}

/// The number of audiences (0 when `token` is NULL).
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_aud_count(token: Option<&oap_token>) -> usize {
    read(token, 0, |t| t.aud.len())
}

/// The audience at `index`, or absent past the end.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_aud(token: Option<&oap_token>, index: usize) -> oap_str {
    read(token, oap_str::NONE, |t| {
        oap_str::new_opt(t.aud.get(index).map(String::as_str))
    })
}

/// Frees a token. NULL does nothing. No call taking `token` (an accessor,
/// `oap_ctx_set_token`) may be running or start afterwards; requests that
/// were handed it have their own copy.
///
/// # Safety
/// `token` is NULL or live and not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn oap_token_free(token: *mut oap_token) {
    panic::value((), || {
        // SAFETY: NULL or a token from into_handle (oap_token_new,
        // oap_ctx_issued_access_token, oap_server_verify_bearer), freed once
        // and used by no thread from now on (contract): what free_handle
        // asks.
        unsafe { free_handle(token) }
    })
}
