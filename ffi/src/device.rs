//! `oap_device_pending`: a device authorization (RFC 8628) awaiting the
//! user's decision, as the verification page shows it, with accessors.

use provider::PendingDevice;

use crate::ffi::{free_handle, into_handle};
use crate::panic;
use crate::slice::oap_str;

/// A pending device authorization found by its user code (from
/// `oap_server_device_verification`): what the verification page shows
/// before the user approves or denies it with `oap_server_device_decision`.
/// Freed with `oap_device_pending_free`. Immutable; readable from any
/// thread. Its strings are valid until it is freed. It does not refer to
/// its server.
pub struct oap_device_pending {
    inner: PendingDevice,
}

impl oap_device_pending {
    pub(crate) fn handle(inner: PendingDevice) -> *mut oap_device_pending {
        into_handle(oap_device_pending { inner })
    }
}

/// Reads a string of a pending device authorization; NULL gives the
/// absent string.
fn field(
    pending: Option<&oap_device_pending>,
    get: impl FnOnce(&PendingDevice) -> &str,
) -> oap_str {
    panic::value(oap_str::NONE, || {
        pending.map_or(oap_str::NONE, |p| oap_str::new(get(&p.inner)))
    })
}

/// The client (device) asking for access. Absent when `pending` is NULL.
///
/// # Safety
/// `pending` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_device_pending_client_id(
    pending: Option<&oap_device_pending>,
) -> oap_str {
    field(pending, |p| &p.client_id)
}

/// The scopes asked for, space-delimited (possibly empty): what the user
/// approves, or narrows with `oap_server_device_decision`'s
/// `approved_scopes`. Absent when `pending` is NULL.
///
/// # Safety
/// `pending` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_device_pending_scopes(
    pending: Option<&oap_device_pending>,
) -> oap_str {
    field(pending, |p| p.scopes.as_str())
}

/// The user code in the form shown to users (`XXXX-XXXX`, normalized:
/// what the user typed may have differed in case and dashes): for the
/// page to ask "is this the code on your device?". Absent when `pending`
/// is NULL.
///
/// # Safety
/// `pending` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_device_pending_user_code(
    pending: Option<&oap_device_pending>,
) -> oap_str {
    field(pending, |p| &p.user_code)
}

/// When the device authorization expires, seconds since the Unix epoch
/// (0 when `pending` is NULL): a decision after it is refused.
///
/// # Safety
/// `pending` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_device_pending_expires_at(
    pending: Option<&oap_device_pending>,
) -> u64 {
    panic::value(0, || pending.map_or(0, |p| p.inner.expires_at))
}

/// The number of resources (RFC 8707) the device asked for, the tokens'
/// audience, for the page to show. 0 when it named none (or `pending` is
/// NULL).
///
/// # Safety
/// `pending` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_device_pending_resource_count(
    pending: Option<&oap_device_pending>,
) -> usize {
    panic::value(0, || pending.map_or(0, |p| p.inner.audience.len()))
}

/// The resource at `index` (in the order asked), or absent past the end.
///
/// # Safety
/// `pending` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_device_pending_resource(
    pending: Option<&oap_device_pending>,
    index: usize,
) -> oap_str {
    panic::value(oap_str::NONE, || {
        pending
            .and_then(|p| p.inner.audience.iter().nth(index))
            .map_or(oap_str::NONE, oap_str::new)
    })
}

/// Frees a pending device authorization. NULL does nothing.
///
/// # Safety
/// `pending` is NULL or live and not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn oap_device_pending_free(pending: *mut oap_device_pending) {
    panic::value((), || {
        // SAFETY: NULL or a handle from oap_device_pending::handle, freed
        // once and used by no thread from now on (contract): what
        // free_handle asks.
        unsafe { free_handle(pending) }
    })
}
