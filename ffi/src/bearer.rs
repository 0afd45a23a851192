//! `oap_bearer_check`: the resource server's bearer check from the
//! `Authorization` header value alone, its answer lent out of a handle the
//! caller keeps (one per thread) instead of a token handle made, or a
//! callback run, per request. The check itself is the Rust API's
//! `Server::verify_bearer`, as for `oap_server_verify_bearer`.

use provider::{Request, TokenInfo};

use crate::ffi::{free_handle, into_handle, try_ref, Out};
use crate::panic;
use crate::protected_resource::oap_protected_resource;
use crate::response::oap_response;
use crate::server::{oap_server, with_required_scopes};
use crate::slice::oap_str;
use crate::status::oap_status;

/// What a granted bearer check found, lent by its `oap_bearer_check`: the
/// strings point into the token's record that the check keeps, valid until
/// the next `oap_server_check_bearer` on that check or `oap_bearer_check_free`
/// (copy what must live longer). Absent strings have a NULL `ptr`.
///
/// The library writes it; `struct_size` is its size in the library that
/// wrote it, so a caller built against a later header, whose struct has
/// more fields, can tell which are there.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_bearer_grant {
    /// `sizeof(oap_bearer_grant)` of the library.
    pub struct_size: usize,
    /// The client the token was issued to.
    pub client_id: oap_str,
    /// The resource owner's name; absent for a client's own token.
    pub username: oap_str,
    /// The resource owner's identifier (`sub`); absent for a client's own
    /// token.
    pub sub: oap_str,
    /// The scopes the token grants, space-separated (may be empty).
    pub scopes: oap_str,
    /// The grant (token family) identifier, or absent.
    pub grant_id: oap_str,
    /// Expiry, seconds since the Unix epoch; 0 when the token has none.
    pub exp: u64,
    /// Issue time, seconds since the Unix epoch; 0 when unknown.
    pub iat: u64,
}

impl oap_bearer_grant {
    /// Nothing granted: every string absent.
    const NONE: oap_bearer_grant = oap_bearer_grant {
        struct_size: std::mem::size_of::<oap_bearer_grant>(),
        client_id: oap_str::NONE,
        username: oap_str::NONE,
        sub: oap_str::NONE,
        scopes: oap_str::NONE,
        grant_id: oap_str::NONE,
        exp: 0,
        iat: 0,
    };

    /// The view of `info`, borrowing its strings.
    fn of(info: &TokenInfo) -> oap_bearer_grant {
        oap_bearer_grant {
            client_id: oap_str::new(&info.client_id),
            username: oap_str::new_opt(info.username.as_deref()),
            sub: oap_str::new_opt(info.sub.as_deref()),
            scopes: oap_str::new(info.scopes.as_str()),
            grant_id: oap_str::new_opt(info.grant_id.as_deref()),
            exp: info.exp.unwrap_or(0),
            iat: info.iat.unwrap_or(0),
            ..oap_bearer_grant::NONE
        }
    }
}

/// Where `oap_server_check_bearer` keeps the token record of its last
/// granted check, which its `oap_bearer_grant` borrows: one per thread
/// (an nginx worker keeps one), used by one thread at a time, reused for
/// every request. Made by `oap_bearer_check_new`, freed by
/// `oap_bearer_check_free`.
pub struct oap_bearer_check {
    /// The last granted check's record; `grant` points into it.
    info: Option<TokenInfo>,
    /// What the last check lends.
    grant: oap_bearer_grant,
}

/// Makes an `oap_bearer_check`, written to `*check_out`; the caller owns
/// it and frees it with `oap_bearer_check_free`. Thread-safe.
///
/// Errors: `OAP_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// `check_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_bearer_check_new(check_out: *mut *mut oap_bearer_check) -> oap_status {
    panic::status(|| {
        // SAFETY: `check_out` NULL or writable (contract).
        let check_out = unsafe { Out::new(check_out) }?;
        check_out.write(into_handle(oap_bearer_check {
            info: None,
            grant: oap_bearer_grant::NONE,
        }));
        Ok(())
    })
}

/// Frees a check and the record it keeps (what its last grant lent);
/// NULL does nothing.
///
/// # Safety
/// `check` NULL or from `oap_bearer_check_new`, not yet freed, in use by
/// no other call.
#[no_mangle]
pub unsafe extern "C" fn oap_bearer_check_free(check: *mut oap_bearer_check) {
    panic::value((), || {
        // SAFETY: NULL or a check from into_handle, freed once, used by no
        // thread from now on (contract): what free_handle asks.
        unsafe { free_handle(check) }
    })
}

/// The bearer check of `oap_server_verify_bearer` (RFC 6750) on the
/// `Authorization` header value alone: `authorization` is the value as
/// received (its `ptr` NULL when the request has no such header). The
/// answers are those `oap_server_verify_bearer` gives a GET without a
/// query carrying that one header, so a server that also takes tokens in
/// a form body or the query (`bearer_in_body`, `bearer_in_query`) must use
/// `oap_server_verify_bearer` for requests that may carry one there.
/// `resource`, when not NULL, also requires the token to be for it, as
/// `oap_server_verify_bearer_at` does; `scopes` as in
/// `oap_server_verify_bearer` (a required scope that is not a scope token
/// is `OAP_STATUS_INVALID_PARAMETER`). A non-UTF-8 `authorization` is
/// `OAP_STATUS_INVALID_UTF8`.
///
/// On `OAP_STATUS_OK` exactly one of the out-parameters is non-NULL:
/// access granted — `*grant_out` points to what the token grants, lent by
/// `check` until the next call on it or its free, and `*response_out` is
/// NULL; or access denied — `*response_out` is the response to send (as
/// `oap_server_verify_bearer`'s; free it with `oap_response_free`),
/// `*grant_out` NULL. Each call drops the record the previous one lent.
/// Nothing is allocated on the granted path beyond what the validator's
/// `validate_bearer_token` allocates: none when it hands back a token
/// with `oap_ctx_set_token` that has no audience and no issuer (their
/// strings are copied; the others are shared with the token). Thread-safe
/// for `server`; one call at a time per `check`.
///
/// # Safety
/// `server`, `check`, `resource` NULL or live (`check` used by no other
/// call meanwhile); `authorization` and `scopes` NULL or valid for the
/// call; `grant_out` and `response_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_server_check_bearer(
    server: *const oap_server,
    check: *mut oap_bearer_check,
    authorization: oap_str,
    resource: *const oap_protected_resource,
    scopes: *const oap_str,
    scopes_len: usize,
    grant_out: *mut *const oap_bearer_grant,
    response_out: *mut *mut oap_response,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `server`, `resource` NULL or live, `check` NULL or live
        // and used by this call alone, the out-pointers NULL or writable;
        // `authorization` NULL or valid for this call (contract): the &str
        // borrowed from it is used within this call only.
        let (server, check, resource, grant_out, response_out, authorization) = unsafe {
            (
                try_ref(server)?,
                check.as_mut().ok_or(oap_status::NullParameter)?,
                if resource.is_null() {
                    None
                } else {
                    Some(&try_ref(resource)?.inner)
                },
                Out::new(grant_out)?,
                Out::new(response_out)?,
                authorization.to_opt_str()?,
            )
        };
        // The record lent by the previous call goes now: a failure below
        // must not leave it looking granted.
        check.info = None;
        check.grant = oap_bearer_grant::NONE;
        let header;
        let headers: &[(&str, &str)] = match authorization {
            Some(value) => {
                header = [("authorization", value)];
                &header
            }
            None => &[],
        };
        let request = Request::new("GET", "/", headers, b"");
        // The outcome is handled where the check leaves it, not returned
        // through with_required_scopes first: their Result is large enough
        // that each move of it is a call to memcpy.
        // SAFETY: `scopes` NULL or `scopes_len` views valid for this call
        // (contract).
        unsafe {
            with_required_scopes(scopes, scopes_len, |required| {
                match server.inner.verify_bearer(&request, required, resource) {
                    Ok(info) => {
                        let info = check.info.insert(info);
                        check.grant = oap_bearer_grant::of(info);
                        grant_out.write(&check.grant);
                        response_out.write(std::ptr::null_mut());
                    }
                    Err(response) => {
                        grant_out.write(std::ptr::null());
                        response_out.write(oap_response::handle(response));
                    }
                }
            })
        }?;
        Ok(())
    })
}
