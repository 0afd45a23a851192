//! `oap_token`: what a token grants, from `oap_server_verify_bearer`, or
//! made once by the host (`oap_token_new`) to hand back from its
//! `validate_bearer_token` and `introspect_token` callbacks.

use provider::TokenInfo;

use crate::context::{copy_token_info, oap_token_info};
use crate::enums::{oap_token_type, token_type_code, OAP_TOKEN_TYPE_NONE};
use crate::ffi::{free_handle, into_handle, try_ref, Out};
use crate::panic;
use crate::slice::oap_str;
use crate::status::oap_status;

/// A token's information: a verified bearer token's, from
/// `oap_server_verify_bearer`, or a host's record, checked and copied once
/// by `oap_token_new`. Immutable, readable from any thread; its strings
/// are valid until it is freed with `oap_token_free`.
pub struct oap_token {
    pub(crate) inner: TokenInfo,
}

/// A copy of `info` for a request: `TokenInfo::clone`, without the call
/// to clone an empty audience list (a host's usual token has none).
#[inline]
pub(crate) fn clone_info(info: &TokenInfo) -> TokenInfo {
    TokenInfo {
        token_type: info.token_type,
        client_id: info.client_id.clone(),
        username: info.username.clone(),
        sub: info.sub.clone(),
        scopes: info.scopes.clone(),
        exp: info.exp,
        iat: info.iat,
        aud: if info.aud.is_empty() {
            Vec::new()
        } else {
            info.aud.clone()
        },
        iss: info.iss.clone(),
        grant_id: info.grant_id.clone(),
    }
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
        let token_out = Out::new(token_out)?;
        // SAFETY: NULL or valid for this call (contract).
        let inner = unsafe { copy_token_info(info) }?;
        let token = into_handle(oap_token { inner });
        // SAFETY: checked non-NULL, writable (contract).
        unsafe { token_out.write(token) };
        Ok(())
    })
}

/// Reads a live token; NULL (or a panic) gives `fallback`.
///
/// # Safety
/// `token` is NULL or live.
unsafe fn read<T: Copy>(
    token: *const oap_token,
    fallback: T,
    get: impl FnOnce(&TokenInfo) -> T,
) -> T {
    panic::value(fallback, || {
        // SAFETY: NULL or live (contract).
        unsafe { try_ref(token) }.map_or(fallback, |t| get(&t.inner))
    })
}

/// The client the token was issued to. Absent when `token` is NULL.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_client_id(token: *const oap_token) -> oap_str {
    // SAFETY: per contract.
    unsafe { read(token, oap_str::NONE, |t| oap_str::new(&t.client_id)) }
}

/// The resource owner's name, or absent.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_username(token: *const oap_token) -> oap_str {
    // SAFETY: per contract.
    unsafe {
        read(token, oap_str::NONE, |t| {
            oap_str::new_opt(t.username.as_deref())
        })
    }
}

/// The subject (resource owner identifier), or absent.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_sub(token: *const oap_token) -> oap_str {
    // SAFETY: per contract.
    unsafe { read(token, oap_str::NONE, |t| oap_str::new_opt(t.sub.as_deref())) }
}

/// The granted scopes, space-delimited (possibly empty). Absent when
/// `token` is NULL.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_scopes(token: *const oap_token) -> oap_str {
    // SAFETY: per contract.
    unsafe { read(token, oap_str::NONE, |t| oap_str::new(t.scopes.as_str())) }
}

/// Whether the token grants `scope` (one scope token). False when `token`
/// is NULL or `scope` is absent or not UTF-8.
///
/// # Safety
/// `token` is NULL or live; `scope` valid for the call.
#[no_mangle]
pub unsafe extern "C" fn oap_token_has_scope(token: *const oap_token, scope: oap_str) -> bool {
    // SAFETY: per contract: token NULL or live, scope valid for this call.
    unsafe {
        read(token, false, |t| {
            scope.to_str().is_ok_and(|s| t.scopes.contains(s))
        })
    }
}

/// Expiry, seconds since the Unix epoch; 0 when it does not expire (or
/// `token` is NULL).
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_exp(token: *const oap_token) -> u64 {
    // SAFETY: per contract.
    unsafe { read(token, 0, |t| t.exp.unwrap_or(0)) }
}

/// Issue time, seconds since the Unix epoch; 0 when unknown.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_iat(token: *const oap_token) -> u64 {
    // SAFETY: per contract.
    unsafe { read(token, 0, |t| t.iat.unwrap_or(0)) }
}

/// The token type the validator reported (`OAP_TOKEN_TYPE_*`).
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_token_type(token: *const oap_token) -> oap_token_type {
    // SAFETY: per contract.
    unsafe {
        read(token, OAP_TOKEN_TYPE_NONE, |t| {
            token_type_code(t.token_type)
        })
    }
}

/// The issuer the validator reported, or absent.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_iss(token: *const oap_token) -> oap_str {
    // SAFETY: per contract.
    unsafe { read(token, oap_str::NONE, |t| oap_str::new_opt(t.iss.as_deref())) }
}

/// The grant (token family) identifier, or absent.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_grant_id(token: *const oap_token) -> oap_str {
    // SAFETY: per contract.
    unsafe {
        read(token, oap_str::NONE, |t| {
            oap_str::new_opt(t.grant_id.as_deref())
        })
    }
}

/// The number of audiences (0 when `token` is NULL).
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_aud_count(token: *const oap_token) -> usize {
    // SAFETY: per contract.
    unsafe { read(token, 0, |t| t.aud.len()) }
}

/// The audience at `index`, or absent past the end.
///
/// # Safety
/// `token` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_token_aud(token: *const oap_token, index: usize) -> oap_str {
    // SAFETY: per contract.
    unsafe {
        read(token, oap_str::NONE, |t| {
            oap_str::new_opt(t.aud.get(index).map(String::as_str))
        })
    }
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
        // SAFETY: NULL or a live handle (contract).
        unsafe { free_handle(token) }
    })
}
