//! `oap_request`: the C view of an HTTP request, turned into the Rust API's
//! borrowed [`Request`] for the duration of one call.

use provider::request::HeaderPair;
use provider::Request;

use crate::ffi::{map_small, try_ref, try_slice};
use crate::slice::{oap_bytes, oap_str};
use crate::status::oap_status;

/// One request header, as received. Names are matched ASCII
/// case-insensitively.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_header {
    /// The header name, e.g. "Authorization".
    pub name: oap_str,
    /// The header value, without surrounding whitespace.
    pub value: oap_str,
}

/// A borrowed view of an HTTP request: filled in by the caller, read only
/// during the call it is passed to (nothing is kept), never modified.
///
/// `method` and `uri` are required (non-NULL `ptr`). `headers` may be NULL
/// when `headers_len` is 0; `body.ptr` may be NULL when `body.len` is 0.
/// The token, revocation and introspection endpoints read the body only
/// with a `Content-Type: application/x-www-form-urlencoded` header among
/// `headers`. Every string must be UTF-8 (else `OAP_STATUS_INVALID_UTF8`): a server
/// should reject non-UTF-8 header bytes before they get here, or leave such
/// headers out.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_request {
    /// The method, e.g. "POST" (case-sensitive).
    pub method: oap_str,
    /// The request target as sent: path, then "?" and the query, if any.
    pub uri: oap_str,
    /// The headers, in the order received.
    pub headers: *const oap_header,
    /// The number of headers.
    pub headers_len: usize,
    /// The body bytes (a form body for token, revocation, introspection).
    pub body: oap_bytes,
}

/// Runs `f` with the Rust view of `request`.
///
/// # Safety
/// `request` is NULL or points to an `oap_request` whose pointers are valid
/// as the header documents, for the duration of this call.
pub(crate) unsafe fn with_request<R>(
    request: *const oap_request,
    f: impl FnOnce(&Request<'_>) -> R,
) -> Result<R, oap_status> {
    // SAFETY: our contract: `request` NULL or a readable oap_request, its
    // strings, body and `headers_len` headers (and their strings) valid
    // for this call. The views borrowed here live only until `f`, run
    // within this call, returns: nothing keeps them.
    let (method, uri, body, raw) = unsafe {
        let request = try_ref(request)?;
        let method = request.method.to_str()?;
        let uri = request.uri.to_str()?;
        let body = request.body.to_slice()?;
        (
            method,
            uri,
            body,
            try_slice(request.headers, request.headers_len)?,
        )
    };
    map_small(
        raw,
        // SAFETY: each header's strings are valid for this call, as above.
        |header| unsafe {
            Ok::<HeaderPair<'_>, _>((header.name.to_str()?, header.value.to_str()?))
        },
        |headers| f(&Request::new(method, uri, headers, body)),
    )
}
