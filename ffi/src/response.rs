//! `oap_response`: what an endpoint answers, for the host to send.

use provider::Response;

use crate::ffi::{free_handle, try_ref, Out};
use crate::panic;
use crate::slice::{oap_bytes, oap_str};
use crate::status::oap_status;

/// An HTTP response to send: status, headers, body. Created by the
/// `oap_server_*` endpoint functions; the caller owns it and frees it with
/// `oap_response_free`. Immutable: any number of threads may read one
/// response at once.
pub struct oap_response {
    pub(crate) inner: Response,
}

impl oap_response {
    pub(crate) fn handle(inner: Response) -> *mut oap_response {
        crate::ffi::into_handle(oap_response { inner })
    }
}

/// The HTTP status code (200, 302, 400, 401, …), or 0 when `response` is NULL.
///
/// # Safety
/// `response` is NULL or a live `oap_response`.
#[no_mangle]
pub unsafe extern "C" fn oap_response_status(response: Option<&oap_response>) -> u16 {
    panic::value(0, || response.map_or(0, |r| r.inner.status))
}

/// The number of headers, or 0 when `response` is NULL.
///
/// # Safety
/// `response` is NULL or a live `oap_response`.
#[no_mangle]
pub unsafe extern "C" fn oap_response_header_count(response: Option<&oap_response>) -> usize {
    panic::value(0, || response.map_or(0, |r| r.inner.headers.len()))
}

/// The header at `index` (0 ≤ index < `oap_response_header_count`), in
/// the order they should be sent. The strings borrow from `response` and
/// are valid until it is freed.
///
/// Errors: `OAP_STATUS_NULL_PARAMETER` for a NULL argument,
/// `OAP_STATUS_NOT_FOUND` for an index past the end.
///
/// # Safety
/// `response` is NULL or live; `name_out` and `value_out` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_response_header(
    response: *const oap_response,
    index: usize,
    name_out: *mut oap_str,
    value_out: *mut oap_str,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `response` NULL or live, the out-pointers NULL or
        // writable (contract).
        let (response, name_out, value_out) = unsafe {
            (
                try_ref(response)?,
                Out::new(name_out)?,
                Out::new(value_out)?,
            )
        };
        let (name, value) = response
            .inner
            .headers
            .get(index)
            .ok_or(oap_status::NotFound)?;
        name_out.write(oap_str::new(name));
        value_out.write(oap_str::new(value));
        Ok(())
    })
}

/// The value of the first header called `name` (ASCII case-insensitive),
/// borrowed from `response` until it is freed.
///
/// Errors: `OAP_STATUS_NOT_FOUND` when there is no such header,
/// `OAP_STATUS_NULL_PARAMETER`, `OAP_STATUS_INVALID_UTF8`.
///
/// # Safety
/// `response` is NULL or live; `name` valid for the call; `value_out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_response_header_value(
    response: *const oap_response,
    name: oap_str,
    value_out: *mut oap_str,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `response` NULL or live, `name` valid for the call,
        // `value_out` NULL or writable (contract).
        let (response, name, value_out) =
            unsafe { (try_ref(response)?, name.to_str()?, Out::new(value_out)?) };
        let value = response.inner.header(name).ok_or(oap_status::NotFound)?;
        value_out.write(oap_str::new(value));
        Ok(())
    })
}

/// The body bytes (JSON for most endpoints, empty for redirects and
/// revocation), borrowed from `response` until it is freed. The bytes are
/// not NUL-terminated. A NULL `response` gives `{NULL, 0}`.
///
/// # Safety
/// `response` is NULL or a live `oap_response`.
#[no_mangle]
pub unsafe extern "C" fn oap_response_body(response: Option<&oap_response>) -> oap_bytes {
    let empty = oap_bytes {
        ptr: std::ptr::null(),
        len: 0,
    };
    panic::value(empty, || {
        response.map_or(empty, |r| oap_bytes::new(&r.inner.body))
    })
}

/// Frees a response and everything borrowed from it. NULL does nothing.
/// Call it once per response, after the last use of its strings.
///
/// # Safety
/// `response` is NULL or a live `oap_response` that no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn oap_response_free(response: *mut oap_response) {
    panic::value((), || {
        // SAFETY: NULL or a response from oap_response::handle, freed once
        // and used by no thread from now on (contract): what free_handle
        // asks. The views handed out from it end here, as documented.
        unsafe { free_handle(response) }
    })
}
