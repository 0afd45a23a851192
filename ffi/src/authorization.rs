//! `oap_authorization`: a validated authorization request awaiting the
//! resource owner's decision, with accessors for the consent page.

use provider::AuthorizationRequest;

#[cfg(feature = "sqlite")]
use oauth2_provider_sqlite::ClientRecord;

use crate::client::FfiClient;
use crate::enums::{oap_pkce_method, pkce_code, OAP_PKCE_NONE};
use crate::ffi::{free_handle, into_handle};
use crate::panic;
use crate::slice::oap_str;

/// A validated authorization request (from
/// `oap_server_validate_authorization_request`), answered with
/// `oap_server_authorize` or `oap_server_deny`, freed with
/// `oap_authorization_free`. Immutable; readable from any thread. Its
/// strings are valid until it is freed. It does not refer to its server.
pub struct oap_authorization {
    pub(crate) inner: Pending,
}

/// The validated request, with the client of the server that validated
/// it: only that kind of server can answer it.
pub(crate) enum Pending {
    /// From a server over a callback table (`oap_server_new`).
    Callbacks(AuthorizationRequest<FfiClient>),
    /// From a server over an SQLite store (`oap_server_new_sqlite`).
    #[cfg(feature = "sqlite")]
    Sqlite(AuthorizationRequest<ClientRecord>),
}

impl oap_authorization {
    pub(crate) fn handle(inner: Pending) -> *mut oap_authorization {
        into_handle(oap_authorization { inner })
    }
}

/// `$body` with `$r` the pending `AuthorizationRequest`, whichever
/// client it carries (the accessors read no client field).
macro_rules! request {
    ($pending:expr, $r:ident => $body:expr) => {
        match $pending {
            Pending::Callbacks($r) => $body,
            #[cfg(feature = "sqlite")]
            Pending::Sqlite($r) => $body,
        }
    };
}

/// Reads a string of an authorization; NULL gives the absent string.
fn field(
    authorization: Option<&oap_authorization>,
    get: impl FnOnce(&Pending) -> Option<&str>,
) -> oap_str {
    panic::value(oap_str::NONE, || {
        authorization
            .and_then(|a| get(&a.inner))
            .map_or(oap_str::NONE, oap_str::new)
    })
}

/// The client identifier. Absent (NULL `ptr`) when `authorization` is NULL.
///
/// # Safety
/// `authorization` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_authorization_client_id(
    authorization: Option<&oap_authorization>,
) -> oap_str {
    field(authorization, |a| request!(a, r => Some(&r.client_id)))
}

/// Where the response will go: the `redirect_uri` sent, or the client's
/// registered one. Absent when `authorization` is NULL.
///
/// # Safety
/// `authorization` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_authorization_redirect_uri(
    authorization: Option<&oap_authorization>,
) -> oap_str {
    field(authorization, |a| request!(a, r => Some(&r.redirect_uri)))
}

/// The requested (or default) scopes, space-delimited, possibly empty.
/// Absent when `authorization` is NULL.
///
/// # Safety
/// `authorization` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_authorization_scopes(
    authorization: Option<&oap_authorization>,
) -> oap_str {
    field(authorization, |a| request!(a, r => Some(r.scopes.as_str())))
}

/// The number of resources (RFC 8707 `resource` values) the request
/// asked for: the grant's audience, for the consent page to show. 0 when
/// it named none (or `authorization` is NULL).
///
/// # Safety
/// `authorization` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_authorization_resource_count(
    authorization: Option<&oap_authorization>,
) -> usize {
    panic::value(0, || {
        authorization.map_or(0, |a| request!(&a.inner, r => r.audience.len()))
    })
}

/// The resource at `index` (in the order asked), or absent past the end.
///
/// # Safety
/// `authorization` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_authorization_resource(
    authorization: Option<&oap_authorization>,
    index: usize,
) -> oap_str {
    field(
        authorization,
        |a| request!(a, r => r.audience.iter().nth(index)),
    )
}

/// The client's `state`, or absent if it sent none (or `authorization` is
/// NULL). The library echoes it back; the consent page need not.
///
/// # Safety
/// `authorization` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_authorization_state(
    authorization: Option<&oap_authorization>,
) -> oap_str {
    field(authorization, |a| request!(a, r => r.state.as_deref()))
}

/// The response type: "code" or "token". Absent when `authorization` is NULL.
///
/// # Safety
/// `authorization` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_authorization_response_type(
    authorization: Option<&oap_authorization>,
) -> oap_str {
    field(
        authorization,
        |a| request!(a, r => Some(r.response_type.as_str())),
    )
}

/// The PKCE code challenge, or absent when none was sent.
///
/// # Safety
/// `authorization` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_authorization_code_challenge(
    authorization: Option<&oap_authorization>,
) -> oap_str {
    field(
        authorization,
        |a| request!(a, r => r.code_challenge.as_ref().map(|c| c.0.as_str())),
    )
}

/// The PKCE method (`OAP_PKCE_S256`, `OAP_PKCE_PLAIN`), or `OAP_PKCE_NONE`
/// without a challenge or when `authorization` is NULL.
///
/// # Safety
/// `authorization` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn oap_authorization_code_challenge_method(
    authorization: Option<&oap_authorization>,
) -> oap_pkce_method {
    panic::value(OAP_PKCE_NONE, || {
        authorization.map_or(
            OAP_PKCE_NONE,
            |a| request!(&a.inner, r => pkce_code(r.code_challenge.as_ref().map(|c| c.1))),
        )
    })
}

/// Frees a pending authorization. NULL does nothing.
///
/// # Safety
/// `authorization` is NULL or live and not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn oap_authorization_free(authorization: *mut oap_authorization) {
    panic::value((), || {
        // SAFETY: NULL or an authorization from oap_authorization::handle,
        // freed once and used by no thread from now on (contract): what
        // free_handle asks.
        unsafe { free_handle(authorization) }
    })
}
