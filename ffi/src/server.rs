//! `oap_server`: a configured server over a callback table or an SQLite
//! store, and its endpoints, each a thin call into the Rust API's
//! `Server`.

use std::ffi::c_void;
#[cfg(feature = "sqlite")]
use std::sync::Arc;

use provider::scope::is_scope_token;
use provider::{
    AuthorizationError, DeviceDecision, OAuthError, PendingDevice, ProtectedResource, Request,
    Response, Scope, Server, TokenInfo,
};

#[cfg(feature = "sqlite")]
use oauth2_provider_sqlite::SqliteStore;

use crate::authorization::{oap_authorization, Pending};
use crate::config::{self, oap_config};
use crate::device::oap_device_pending;
use crate::enums::{device_decision, oap_device_decision};
use crate::ffi::{free_handle, into_handle, map_small, try_ref, try_slice, Out};
use crate::panic;
use crate::protected_resource::oap_protected_resource;
use crate::request::{oap_request, with_request};
use crate::response::oap_response;
use crate::slice::oap_str;
#[cfg(feature = "sqlite")]
use crate::sqlite::oap_sqlite;
use crate::status::oap_status;
use crate::token::oap_token;
use crate::validator::{oap_validator, FfiValidator};

/// An authorization server and resource server: every endpoint over one
/// validator. Immutable once created and shareable across threads: any
/// number of threads may call the `oap_server_*` functions on one server at
/// once (the validator's callbacks then run concurrently). Free it with
/// `oap_server_free` after every call on it has returned.
pub struct oap_server {
    pub(crate) inner: AnyServer,
}

/// The Rust API's `Server` over whichever validator the server was made
/// with. Its methods are `Server`'s, dispatched: the endpoints below
/// read the same for both.
// One per server handle, allocated once: boxing the larger variant would
// add an indirection to every request for no saving.
#[allow(clippy::large_enum_variant)]
pub(crate) enum AnyServer {
    /// `oap_server_new`: the host's callback table.
    Callbacks(Server<FfiValidator>),
    /// `oap_server_new_sqlite`: the store, shared with its `oap_sqlite`.
    #[cfg(feature = "sqlite")]
    Sqlite(Server<Arc<SqliteStore>>),
}

/// `$body` with `$s` the `Server`, whichever validator it has.
macro_rules! dispatch {
    ($server:expr, $s:ident => $body:expr) => {
        match $server {
            AnyServer::Callbacks($s) => $body,
            #[cfg(feature = "sqlite")]
            AnyServer::Sqlite($s) => $body,
        }
    };
}

impl AnyServer {
    fn token_response(&self, request: &Request<'_>) -> Response {
        dispatch!(self, s => s.token_response(request))
    }

    fn revocation_response(&self, request: &Request<'_>) -> Response {
        dispatch!(self, s => s.revocation_response(request))
    }

    fn introspection_response(&self, request: &Request<'_>) -> Response {
        dispatch!(self, s => s.introspection_response(request))
    }

    fn pushed_authorization_response(&self, request: &Request<'_>) -> Response {
        dispatch!(self, s => s.pushed_authorization_response(request))
    }

    fn device_authorization_response(&self, request: &Request<'_>) -> Response {
        dispatch!(self, s => s.device_authorization_response(request))
    }

    fn device_verification(
        &self,
        request: &Request<'_>,
        subject: &str,
        user_code: &str,
    ) -> Result<PendingDevice, OAuthError> {
        dispatch!(self, s => s.device_verification(request, subject, user_code))
    }

    fn device_decision(
        &self,
        request: &Request<'_>,
        subject: &str,
        user_code: &str,
        approved: Option<Scope>,
        decision: DeviceDecision,
    ) -> Result<(), OAuthError> {
        dispatch!(self, s => s.device_decision(request, subject, user_code, approved, decision))
    }

    fn metadata_response(&self) -> Response {
        dispatch!(self, s => s.metadata_response())
    }

    pub(crate) fn verify_bearer(
        &self,
        request: &Request<'_>,
        scopes: &[&str],
        resource: Option<&ProtectedResource>,
    ) -> Result<TokenInfo, Response> {
        match resource {
            None => dispatch!(self, s => s.verify_bearer(request, scopes)),
            Some(r) => dispatch!(self, s => s.verify_bearer_at(request, r, scopes)),
        }
    }

    fn protected_resource_metadata_response(&self, resource: &ProtectedResource) -> Response {
        dispatch!(self, s => s.protected_resource_metadata_response(resource))
    }

    fn validate_authorization_request(
        &self,
        request: &Request<'_>,
    ) -> Result<Pending, AuthorizationError> {
        match self {
            AnyServer::Callbacks(s) => s
                .validate_authorization_request(request)
                .map(Pending::Callbacks),
            #[cfg(feature = "sqlite")]
            AnyServer::Sqlite(s) => s
                .validate_authorization_request(request)
                .map(Pending::Sqlite),
        }
    }

    /// `Server::authorize`; an authorization validated by the other kind
    /// of server is `OAP_STATUS_INVALID_PARAMETER`.
    fn authorize(
        &self,
        request: &Request<'_>,
        pending: &Pending,
        user: &str,
        approved: Option<Scope>,
    ) -> Result<Response, oap_status> {
        match (self, pending) {
            (AnyServer::Callbacks(s), Pending::Callbacks(p)) => {
                Ok(s.authorize(request, p, user, approved))
            }
            #[cfg(feature = "sqlite")]
            (AnyServer::Sqlite(s), Pending::Sqlite(p)) => {
                Ok(s.authorize(request, p, user, approved))
            }
            #[cfg(feature = "sqlite")]
            _ => Err(oap_status::InvalidParameter),
        }
    }

    /// `Server::deny`; as `authorize` for an authorization of the other kind.
    fn deny(&self, pending: &Pending) -> Result<Response, oap_status> {
        match (self, pending) {
            (AnyServer::Callbacks(s), Pending::Callbacks(p)) => Ok(s.deny(p)),
            #[cfg(feature = "sqlite")]
            (AnyServer::Sqlite(s), Pending::Sqlite(p)) => Ok(s.deny(p)),
            #[cfg(feature = "sqlite")]
            _ => Err(oap_status::InvalidParameter),
        }
    }
}

/// Creates a server from `config` (see `oap_config_default`) and the
/// callback table `validator`, both copied: neither needs to outlive this
/// call, but `validator->user_data` (and `config->fill_random_user_data`)
/// must stay valid, and the callbacks callable from any thread, until the
/// server is freed.
///
/// On success writes the new server to `*server_out`; the caller owns it.
/// Errors: `OAP_STATUS_NULL_PARAMETER`, `OAP_STATUS_STRUCT_TOO_SMALL`
/// (`struct_size` unset), `OAP_STATUS_INVALID_UTF8`,
/// `OAP_STATUS_INVALID_PARAMETER` (a lifetime of 0 or over
/// `OAP_MAX_LIFETIME`, unknown `grants` bits, a control character in
/// `realm`; no `issuer` while a grant is enabled, or an issuer that is not
/// an absolute `https` URL without query or fragment, `http` being
/// accepted on a loopback host only). A resource server that only checks
/// bearer tokens enables no grant (`grants = 0`) and needs no issuer; it
/// then has no authorization endpoint and no metadata.
///
/// # Safety
/// `config` and `validator` are NULL or valid (their `struct_size` bytes
/// readable, their strings valid for the call); `server_out` is NULL or
/// writable. The callbacks must honour `oap_validator`'s contract, and
/// `config->fill_random` `oap_fill_random_cb`'s.
#[no_mangle]
pub unsafe extern "C" fn oap_server_new(
    config: *const oap_config,
    validator: *const oap_validator,
    server_out: *mut *mut oap_server,
) -> oap_status {
    panic::status(|| {
        // SAFETY: this function's contract gives each helper its own:
        // `server_out` NULL or writable (Out::new), `validator` and
        // `config` NULL or `struct_size` readable bytes (read_versioned,
        // inside), `config`'s strings valid for the call.
        let (server_out, builder) = unsafe {
            let server_out = Out::new(server_out)?;
            let validator = FfiValidator::new(validator)?;
            (server_out, config::builder(config, validator)?)
        };
        let inner = builder.build().map_err(|_| oap_status::InvalidParameter)?;
        server_out.write(into_handle(oap_server {
            inner: AnyServer::Callbacks(inner),
        }));
        Ok(())
    })
}

/// Creates a server from `config` (as `oap_server_new`) over the SQLite
/// store `store` instead of a callback table: no callback to write. The
/// server shares the store (a reference count): `store` may be freed
/// before the server, and the host may keep calling `oap_sqlite_*` on it
/// (register clients, purge) while the server serves.
///
/// On success writes the new server to `*server_out`; the caller owns it
/// and frees it with `oap_server_free`. Every `oap_server_*` function
/// works on it as on a server from `oap_server_new`; an
/// `oap_authorization` from one kind of server answered by the other is
/// `OAP_STATUS_INVALID_PARAMETER`. Errors: as `oap_server_new`.
/// Thread-safe. Absent from a library built without the `sqlite` feature.
///
/// # Safety
/// `config` is NULL or valid (its `struct_size` bytes readable, its
/// strings valid for the call); `store` NULL or live; `server_out` NULL
/// or writable. `config->fill_random` honours `oap_fill_random_cb`'s
/// contract.
#[cfg(feature = "sqlite")]
#[no_mangle]
pub unsafe extern "C" fn oap_server_new_sqlite(
    config: *const oap_config,
    store: *const oap_sqlite,
    server_out: *mut *mut oap_server,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `server_out` NULL or writable (Out::new), `store` NULL or
        // live (try_ref), `config` NULL or `struct_size` readable bytes
        // with strings valid for the call (builder): our contract.
        let (server_out, builder) = unsafe {
            let server_out = Out::new(server_out)?;
            let store = try_ref(store)?;
            (server_out, config::builder(config, store.share())?)
        };
        let inner = builder.build().map_err(|_| oap_status::InvalidParameter)?;
        server_out.write(into_handle(oap_server {
            inner: AnyServer::Sqlite(inner),
        }));
        Ok(())
    })
}

/// Frees a server. NULL does nothing. No call on the server may be running
/// or start afterwards. Handles obtained from it (responses, authorizations,
/// tokens) stay valid and are freed separately.
///
/// # Safety
/// `server` is NULL or a live server not in use by any thread.
#[no_mangle]
pub unsafe extern "C" fn oap_server_free(server: *mut oap_server) {
    panic::value((), || {
        // SAFETY: NULL or a server from oap_server_new, freed once and in
        // use by no thread (contract): what free_handle asks.
        unsafe { free_handle(server) }
    })
}

/// Runs an endpoint that answers with a response.
///
/// # Safety
/// `server` NULL or live; `request` NULL or valid for the call;
/// `response_out` NULL or writable.
unsafe fn respond(
    server: *const oap_server,
    request: *const oap_request,
    response_out: *mut *mut oap_response,
    endpoint: impl FnOnce(&AnyServer, &Request<'_>) -> Response,
) -> oap_status {
    panic::status(|| {
        // SAFETY: our contract, each pointer as its helper asks: `server`
        // NULL or live, `response_out` NULL or writable, `request` NULL or
        // valid for this call.
        // The response is boxed where the endpoint returns it, not moved
        // out through with_request first.
        let (response_out, response) = unsafe {
            let server = try_ref(server)?;
            let response_out = Out::new(response_out)?;
            (
                response_out,
                with_request(request, |r| {
                    oap_response::handle(endpoint(&server.inner, r))
                })?,
            )
        };
        response_out.write(response);
        Ok(())
    })
}

/// The token endpoint (RFC 6749 §3.2): a POST with a form body, answered
/// with the JSON token response or a JSON error (both `no-store`).
///
/// The request must carry the header `Content-Type:
/// application/x-www-form-urlencoded` (a `charset` parameter is allowed)
/// in `request->headers`: without it the body is not read, and the answer
/// is 400 `invalid_request` ("Content-Type must be
/// application/x-www-form-urlencoded"), whatever the body holds. The same
/// holds for the revocation and introspection endpoints.
///
/// In the authorization code grant, a code saved with a PKCE challenge
/// and a request without `code_verifier` is 400 `invalid_request`
/// ("missing required parameter 'code_verifier'"); a wrong verifier is
/// 400 `invalid_grant`, and so is a code saved without a challenge when
/// the client is public (or `is_pkce_required` says yes).
///
/// Every
/// OAuth outcome, including a failing callback (500 `server_error`), is a
/// response with `OAP_STATUS_OK`; a non-OK status means the request view
/// itself was unusable (NULL, invalid UTF-8).
///
/// On success writes a new response to `*response_out` (free it with
/// `oap_response_free`). Thread-safe.
///
/// # Safety
/// `server` NULL or live; `request` NULL or valid for the call;
/// `response_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_server_token_response(
    server: *const oap_server,
    request: *const oap_request,
    response_out: *mut *mut oap_response,
) -> oap_status {
    // SAFETY: our contract is respond's.
    unsafe { respond(server, request, response_out, |s, r| s.token_response(r)) }
}

/// The revocation endpoint (RFC 7009): 200 on success and for unknown
/// tokens, a JSON error otherwise. As `oap_server_token_response`.
///
/// # Safety
/// As `oap_server_token_response`.
#[no_mangle]
pub unsafe extern "C" fn oap_server_revocation_response(
    server: *const oap_server,
    request: *const oap_request,
    response_out: *mut *mut oap_response,
) -> oap_status {
    // SAFETY: our contract is respond's.
    unsafe {
        respond(server, request, response_out, |s, r| {
            s.revocation_response(r)
        })
    }
}

/// The pushed authorization request endpoint (RFC 9126 §2): the client
/// authenticates as at the token endpoint and posts an authorization
/// request; the answer is 201 `{"request_uri":"urn:ietf:params:oauth:request_uri:…","expires_in":N}`
/// (`no-store`), or a JSON error, never a redirect: 400 `invalid_request`
/// (also for a `request_uri` in the body), `invalid_scope`,
/// `invalid_target`, `unauthorized_client`…, 401 `invalid_client`. The
/// `request_uri` then goes to `oap_server_validate_authorization_request`
/// with `client_id`; the authorization response (`oap_server_authorize`
/// or `oap_server_deny`) uses it up. The store keeps the pushed request:
/// the SQLite store does; a callback table through `save_pushed_request`,
/// `find_pushed_request` and `consume_pushed_request`, without which
/// (NULL, or a table from before them) the push is answered 500
/// `server_error`. As `oap_server_token_response`.
///
/// # Safety
/// As `oap_server_token_response`.
#[no_mangle]
pub unsafe extern "C" fn oap_server_pushed_authorization_response(
    server: *const oap_server,
    request: *const oap_request,
    response_out: *mut *mut oap_response,
) -> oap_status {
    // SAFETY: our contract is respond's.
    unsafe {
        respond(server, request, response_out, |s, r| {
            s.pushed_authorization_response(r)
        })
    }
}

/// The introspection endpoint (RFC 7662): the caller authenticates as a
/// client allowed to introspect; the answer is the token's claims or
/// `{"active":false}`. As `oap_server_token_response`.
///
/// A caller that authenticates but whose `oap_client` has
/// `may_introspect` 0 gets 400 `unauthorized_client` ("the client is not
/// allowed to introspect tokens"), for every token, known or not: an
/// answer tells whose token it is, so only resource servers the host
/// marked may ask (RFC 7662 §4). A caller that does not authenticate
/// (no or wrong secret, a public client, which has none) gets 401
/// `invalid_client` with a `WWW-Authenticate: Basic` challenge.
///
/// # Safety
/// As `oap_server_token_response`.
#[no_mangle]
pub unsafe extern "C" fn oap_server_introspection_response(
    server: *const oap_server,
    request: *const oap_request,
    response_out: *mut *mut oap_response,
) -> oap_status {
    // SAFETY: our contract is respond's.
    unsafe {
        respond(server, request, response_out, |s, r| {
            s.introspection_response(r)
        })
    }
}

/// The authorization server metadata document (RFC 8414), as a 200 JSON
/// response written to `*response_out`. Thread-safe.
///
/// # Safety
/// `server` NULL or live; `response_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_server_metadata_response(
    server: *const oap_server,
    response_out: *mut *mut oap_response,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `server` NULL or live, `response_out` NULL or writable
        // (contract).
        let (server, response_out) = unsafe { (try_ref(server)?, Out::new(response_out)?) };
        response_out.write(oap_response::handle(server.inner.metadata_response()));
        Ok(())
    })
}

/// `verify_bearer` for the exports that hand back a token handle
/// (`oap_server_verify_bearer`, `oap_server_verify_bearer_at`): writes
/// exactly one of the two out-parameters non-NULL.
///
/// # Safety
/// As `verify_bearer`.
unsafe fn verify_bearer_into(
    server: &oap_server,
    request: *const oap_request,
    resource: Option<&ProtectedResource>,
    scopes: *const oap_str,
    scopes_len: usize,
    token_out: Out<*mut oap_token>,
    response_out: Out<*mut oap_response>,
) -> Result<(), oap_status> {
    // SAFETY: our contract is verify_bearer's.
    let (token, response) = unsafe {
        verify_bearer(
            server,
            request,
            resource,
            scopes,
            scopes_len,
            |outcome| match outcome {
                Ok(info) => (into_handle(oap_token { inner: info }), std::ptr::null_mut()),
                Err(response) => (std::ptr::null_mut(), oap_response::handle(response)),
            },
        )
    }?;
    token_out.write(token);
    response_out.write(response);
    Ok(())
}

/// The bearer check shared by `oap_server_verify_bearer` and
/// `oap_server_verify_bearer_with`: `then` gets the token's information,
/// or the denial to send, where the check leaves it (not moved out
/// through the request view's layers first).
///
/// # Safety
/// `request`, `scopes` NULL or valid for the call (the exports' contract).
unsafe fn verify_bearer<R>(
    server: &oap_server,
    request: *const oap_request,
    resource: Option<&ProtectedResource>,
    scopes: *const oap_str,
    scopes_len: usize,
    then: impl FnOnce(Result<TokenInfo, Response>) -> R,
) -> Result<R, oap_status> {
    // SAFETY: our contract: `scopes` and `request` NULL or valid for this
    // call, what with_required_scopes and with_request ask.
    unsafe {
        with_required_scopes(scopes, scopes_len, |required| {
            with_request(request, |r| {
                then(server.inner.verify_bearer(r, required, resource))
            })
        })?
    }
}

/// Runs `f` with the scopes a bearer check requires: `scopes_len` views
/// at `scopes` (NULL when `scopes_len` is 0), each one scope token, else
/// `OAP_STATUS_INVALID_PARAMETER` before `f` runs.
///
/// # Safety
/// `scopes` NULL or `scopes_len` views, each valid for this call.
pub(crate) unsafe fn with_required_scopes<R>(
    scopes: *const oap_str,
    scopes_len: usize,
    f: impl FnOnce(&[&str]) -> R,
) -> Result<R, oap_status> {
    // SAFETY: our contract: `scopes` NULL or `scopes_len` views, each
    // valid for this call. The &strs borrowed from them are used within
    // this call only.
    unsafe {
        let raw = try_slice(scopes, scopes_len)?;
        map_small(
            raw,
            |s| {
                let scope = s.to_str()?;
                // A scope no token can carry ("", "read write", a quote)
                // would deny every request: a caller's mistake, said so.
                if is_scope_token(scope) {
                    Ok(scope)
                } else {
                    Err(oap_status::InvalidParameter)
                }
            },
            f,
        )
    }
}

/// The resource server's bearer token check (RFC 6750) for a resource that
/// requires every scope in `scopes` (`scopes_len` strings; `scopes` may be
/// NULL when `scopes_len` is 0). Each must be one scope token (RFC 6749
/// §3.3: one or more of the characters `%x21 / %x23-5B / %x5D-7E`, so not
/// empty, no space, quote or backslash): anything else is
/// `OAP_STATUS_INVALID_PARAMETER`, before the request is looked at.
///
/// On `OAP_STATUS_OK` exactly one of the out-parameters is non-NULL: access
/// granted — `*token_out` is the token's information (free it with
/// `oap_token_free`), `*response_out` NULL; or access denied —
/// `*response_out` is the response to send (401 with a
/// `WWW-Authenticate: Bearer` challenge, 400, 403 `insufficient_scope`, or
/// 500 if a callback failed), `*token_out` NULL. Thread-safe.
/// `oap_server_verify_bearer_with` does the same without a token handle
/// to allocate and free.
///
/// # Safety
/// `server` NULL or live; `request`, `scopes` NULL or valid for the call;
/// `token_out` and `response_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_server_verify_bearer(
    server: *const oap_server,
    request: *const oap_request,
    scopes: *const oap_str,
    scopes_len: usize,
    token_out: *mut *mut oap_token,
    response_out: *mut *mut oap_response,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `server` NULL or live, `token_out` and `response_out`
        // NULL or writable (contract).
        let (server, token_out, response_out) = unsafe {
            (
                try_ref(server)?,
                Out::new(token_out)?,
                Out::new(response_out)?,
            )
        };
        // SAFETY: request and scopes NULL or valid for this call (contract).
        unsafe {
            verify_bearer_into(
                server,
                request,
                None,
                scopes,
                scopes_len,
                token_out,
                response_out,
            )
        }
    })
}

/// `oap_server_verify_bearer` at a protected resource (RFC 8707, RFC
/// 9728): the token must also be for `resource` — its audience includes
/// the resource identifier, or is empty where the resource accepts
/// unrestricted tokens — else the denial is 401 `invalid_token`; and
/// every denial's `WWW-Authenticate` challenge carries
/// `resource_metadata="…"` (RFC 9728 §5.1) unless the resource omits it.
/// Out-parameters, errors and thread-safety as `oap_server_verify_bearer`;
/// a NULL `resource` is `OAP_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// `server`, `resource` NULL or live; `request`, `scopes` NULL or valid
/// for the call; `token_out` and `response_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_server_verify_bearer_at(
    server: *const oap_server,
    request: *const oap_request,
    resource: *const oap_protected_resource,
    scopes: *const oap_str,
    scopes_len: usize,
    token_out: *mut *mut oap_token,
    response_out: *mut *mut oap_response,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `server`, `resource` NULL or live, `token_out` and
        // `response_out` NULL or writable (contract).
        let (server, resource, token_out, response_out) = unsafe {
            (
                try_ref(server)?,
                try_ref(resource)?,
                Out::new(token_out)?,
                Out::new(response_out)?,
            )
        };
        // SAFETY: request and scopes NULL or valid for this call (contract).
        unsafe {
            verify_bearer_into(
                server,
                request,
                Some(&resource.inner),
                scopes,
                scopes_len,
                token_out,
                response_out,
            )
        }
    })
}

/// The protected resource metadata document of `resource` (RFC 9728 §2,
/// §3.2) as a 200 JSON response written to `*response_out`: `resource`,
/// `authorization_servers` (the resource's, else this server's issuer),
/// `scopes_supported`, `bearer_methods_supported` (how this server
/// accepts tokens), and the names and pages configured. Serve it at
/// `oap_protected_resource_metadata_url`. Thread-safe.
///
/// # Safety
/// `server`, `resource` NULL or live; `response_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_server_protected_resource_metadata_response(
    server: *const oap_server,
    resource: *const oap_protected_resource,
    response_out: *mut *mut oap_response,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `server`, `resource` NULL or live, `response_out` NULL or
        // writable (contract).
        let (server, resource, response_out) = unsafe {
            (
                try_ref(server)?,
                try_ref(resource)?,
                Out::new(response_out)?,
            )
        };
        let response = server
            .inner
            .protected_resource_metadata_response(&resource.inner);
        response_out.write(oap_response::handle(response));
        Ok(())
    })
}

/// What `oap_server_verify_bearer_with` calls when access is granted:
/// `token` is the token's information, borrowed, valid only until the
/// callback returns. Read what the request needs with the `oap_token_*`
/// accessors (copying strings that must outlive the call); never free
/// `token` or keep the pointer. Runs on the thread that called
/// `oap_server_verify_bearer_with`.
pub type oap_bearer_granted_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, token: *const oap_token)>;

/// The bearer token check of `oap_server_verify_bearer`, without a token
/// handle to allocate and free: the one a resource server runs on every
/// request.
///
/// On `OAP_STATUS_OK`: access granted — `granted(user_data, token)` has
/// run once, before this returned, with the token's information borrowed
/// for that call, and `*response_out` is NULL; or access denied —
/// `granted` was not called and `*response_out` is the response to send
/// (as `oap_server_verify_bearer`'s; free it with `oap_response_free`).
/// A NULL `granted` is `OAP_STATUS_NULL_PARAMETER`, checked before any
/// work; `scopes` as in `oap_server_verify_bearer` (a required scope that
/// is not a scope token is `OAP_STATUS_INVALID_PARAMETER`). Thread-safe.
///
/// # Safety
/// `server` NULL or live; `request`, `scopes` NULL or valid for the call;
/// `response_out` NULL or writable; `granted` honours
/// `oap_bearer_granted_cb`'s contract with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn oap_server_verify_bearer_with(
    server: *const oap_server,
    request: *const oap_request,
    scopes: *const oap_str,
    scopes_len: usize,
    granted: oap_bearer_granted_cb,
    user_data: *mut c_void,
    response_out: *mut *mut oap_response,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `server` NULL or live, `response_out` NULL or writable
        // (contract).
        let (server, granted, response_out) = unsafe {
            let server = try_ref(server)?;
            let granted = granted.ok_or(oap_status::NullParameter)?;
            (server, granted, Out::new(response_out)?)
        };
        let hand_over = |outcome: Result<TokenInfo, Response>| match outcome {
            Ok(info) => {
                let token = oap_token { inner: info };
                // SAFETY: a host callback called as its contract says:
                // user_data as given, the token live (on this stack) for
                // the call and not used by the host after it.
                unsafe { granted(user_data, &token) };
                std::ptr::null_mut()
            }
            Err(response) => oap_response::handle(response),
        };
        // SAFETY: request and scopes NULL or valid for this call (contract).
        let response =
            unsafe { verify_bearer(server, request, None, scopes, scopes_len, hand_over) }?;
        response_out.write(response);
        Ok(())
    })
}

/// Validates an authorization request (RFC 6749 §4.1.1: a GET with a
/// query, or a POST with a form body), the first of two phases.
///
/// On `OAP_STATUS_OK` exactly one of the out-parameters is non-NULL:
/// `*authorization_out`, a pending authorization whose accessors feed the
/// consent page (free it with `oap_authorization_free`), then answered
/// with `oap_server_authorize` or `oap_server_deny`; or `*response_out`,
/// the error to send: a 302 redirect carrying the error to the client, or,
/// when the client or redirect URI cannot be trusted, a 400 JSON error that
/// must not be redirected (hosts often render their own page for it).
/// Thread-safe.
///
/// # Safety
/// `server` NULL or live; `request` NULL or valid for the call;
/// `authorization_out` and `response_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_server_validate_authorization_request(
    server: *const oap_server,
    request: *const oap_request,
    authorization_out: *mut *mut oap_authorization,
    response_out: *mut *mut oap_response,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `server` NULL or live, `authorization_out` and
        // `response_out` NULL or writable (contract).
        let (server, auth_out, response_out) = unsafe {
            let server = try_ref(server)?;
            (
                server,
                Out::new(authorization_out)?,
                Out::new(response_out)?,
            )
        };
        // SAFETY: NULL or valid for this call (contract).
        let outcome =
            unsafe { with_request(request, |r| server.inner.validate_authorization_request(r)) }?;
        let (pending, response) = match outcome {
            Ok(pending) => (oap_authorization::handle(pending), std::ptr::null_mut()),
            Err(error) => (
                std::ptr::null_mut(),
                oap_response::handle(error.into_response()),
            ),
        };
        auth_out.write(pending);
        response_out.write(response);
        Ok(())
    })
}

/// Approves a pending authorization for the resource owner `user` (whom
/// the host authenticated) and writes the response to `*response_out`: a
/// 302 to the client's redirect URI with the code (or, for
/// `response_type=token`, the token), `state`, and `iss` when an issuer is
/// configured; or a 302 carrying an error.
///
/// `user` identifies the resource owner in the code and tokens; an empty
/// one identifies nobody and is `OAP_STATUS_INVALID_PARAMETER`.
///
/// `approved_scopes`: the space-delimited scopes the user consented to, or
/// absent (NULL `ptr`, `len` 0) for all requested ones; malformed scopes
/// are `OAP_STATUS_INVALID_PARAMETER`, a NULL `ptr` with a non-zero `len`
/// `OAP_STATUS_NULL_PARAMETER`. `request` is the HTTP request being
/// answered (the consent form's submission), shown to the callbacks.
///
/// The authorization is not consumed (free it with
/// `oap_authorization_free`); approving it twice issues two codes, so
/// don't. One validated by the other kind of server (over callbacks,
/// over SQLite) is `OAP_STATUS_INVALID_PARAMETER`. Thread-safe.
///
/// # Safety
/// `server`, `authorization` NULL or live; `request` NULL or valid for the
/// call; `user`, `approved_scopes` valid for the call; `response_out`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_server_authorize(
    server: *const oap_server,
    authorization: *const oap_authorization,
    request: *const oap_request,
    user: oap_str,
    approved_scopes: oap_str,
    response_out: *mut *mut oap_response,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `server`, `authorization` NULL or live, `response_out`
        // NULL or writable, `user` and `approved_scopes` valid for the call
        // (contract): the borrowed strings are used only within it.
        let (server, pending, response_out, user, approved_scopes) = unsafe {
            let server = try_ref(server)?;
            let pending = try_ref(authorization)?;
            let response_out = Out::new(response_out)?;
            let user = user.to_str()?;
            if user.is_empty() {
                return Err(oap_status::InvalidParameter);
            }
            (
                server,
                pending,
                response_out,
                user,
                approved_scopes.to_opt_str()?,
            )
        };
        let approved = match approved_scopes {
            Some(text) => Some(Scope::parse(text).map_err(|_| oap_status::InvalidParameter)?),
            None => None,
        };
        // SAFETY: NULL or valid for this call (contract).
        let response = unsafe {
            with_request(request, |r| {
                server.inner.authorize(r, &pending.inner, user, approved)
            })
        }??;
        response_out.write(oap_response::handle(response));
        Ok(())
    })
}

/// Refuses a pending authorization (the user or the host said no): writes
/// a 302 with `error=access_denied` to `*response_out`. As in
/// `oap_server_authorize`, an authorization validated by the other kind
/// of server is `OAP_STATUS_INVALID_PARAMETER`. Thread-safe.
///
/// # Safety
/// `server`, `authorization` NULL or live; `response_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_server_deny(
    server: *const oap_server,
    authorization: *const oap_authorization,
    response_out: *mut *mut oap_response,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `server`, `authorization` NULL or live, `response_out`
        // NULL or writable (contract).
        let (server, pending, response_out) = unsafe {
            (
                try_ref(server)?,
                try_ref(authorization)?,
                Out::new(response_out)?,
            )
        };
        response_out.write(oap_response::handle(server.inner.deny(&pending.inner)?));
        Ok(())
    })
}

/// The device authorization endpoint (RFC 8628 §3.1–3.2): the device (a
/// client, authenticated as at the token endpoint; a public one by
/// `client_id`) posts a form with `scope` and `resource`s; the answer is
/// 200 JSON `device_code`, `user_code` (`XXXX-XXXX`), `verification_uri`,
/// `verification_uri_complete`, `expires_in`, `interval` (`no-store`), or
/// a JSON error: 400 `invalid_request`, `invalid_scope`,
/// `invalid_target`, `unauthorized_client` (the client lacks
/// `OAP_GRANT_DEVICE_CODE`), `unsupported_grant_type` (the server has it
/// off), 401
/// `invalid_client`. The device then polls the token endpoint with
/// `grant_type=urn:ietf:params:oauth:grant-type:device_code`. The store
/// keeps the authorization: a callback table through its device callbacks
/// (`save_device_authorization` and those after it), without which (NULL,
/// or a table from before them) the request is answered 500
/// `server_error`. As `oap_server_token_response`.
///
/// # Safety
/// As `oap_server_token_response`.
#[no_mangle]
pub unsafe extern "C" fn oap_server_device_authorization_response(
    server: *const oap_server,
    request: *const oap_request,
    response_out: *mut *mut oap_response,
) -> oap_status {
    // SAFETY: our contract is respond's.
    unsafe {
        respond(server, request, response_out, |s, r| {
            s.device_authorization_response(r)
        })
    }
}

/// The verification page's first step (RFC 8628 §3.3): the user `subject`
/// (whom the host authenticated; an empty one is
/// `OAP_STATUS_INVALID_PARAMETER`) typed `user_code` (case, dashes and
/// spaces do not matter). On `OAP_STATUS_OK` exactly one out-parameter is
/// non-NULL: `*pending_out`, the pending authorization to show (client,
/// scopes, resources, expiry; free it with `oap_device_pending_free`),
/// then answered with `oap_server_device_decision`; or `*error_out`, a
/// JSON error response whose status and `error` say why:
/// 400 `invalid_grant` ("unknown or expired user code": malformed,
/// unknown, expired or already decided, each counted as a wrong guess of
/// `subject`), 503 `temporarily_unavailable` (`subject` guessed wrong too
/// often lately: nothing was looked up), 500 `server_error`. The host
/// renders its own page from it. `request` is the HTTP request being
/// answered, shown to the callbacks. Thread-safe.
///
/// # Safety
/// `server` NULL or live; `request` NULL or valid for the call; `subject`,
/// `user_code` valid for the call; `pending_out`, `error_out` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn oap_server_device_verification(
    server: *const oap_server,
    request: *const oap_request,
    subject: oap_str,
    user_code: oap_str,
    pending_out: *mut *mut oap_device_pending,
    error_out: *mut *mut oap_response,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `server` NULL or live, `pending_out`, `error_out` NULL
        // or writable, `subject`, `user_code` valid for the call
        // (contract): the borrowed strings are used only within it.
        let (server, pending_out, error_out, subject, user_code) = unsafe {
            (
                try_ref(server)?,
                Out::new(pending_out)?,
                Out::new(error_out)?,
                subject_of(subject)?,
                user_code.to_str()?,
            )
        };
        // SAFETY: NULL or valid for this call (contract).
        let outcome = unsafe {
            with_request(request, |r| {
                server.inner.device_verification(r, subject, user_code)
            })
        }?;
        let (pending, error) = match outcome {
            Ok(pending) => (oap_device_pending::handle(pending), std::ptr::null_mut()),
            Err(e) => (
                std::ptr::null_mut(),
                oap_response::handle(Response::error_json(&e)),
            ),
        };
        pending_out.write(pending);
        error_out.write(error);
        Ok(())
    })
}

/// The verification page's second step: `subject` (as in
/// `oap_server_device_verification`) approves (`OAP_DEVICE_DECISION_APPROVE`)
/// or denies (`OAP_DEVICE_DECISION_DENY`; another value is
/// `OAP_STATUS_INVALID_PARAMETER`) the pending authorization of
/// `user_code`. `approved_scopes`: on approval, the space-delimited scopes
/// the user consented to, or absent for all asked (a scope not asked is
/// `invalid_scope`; malformed ones are `OAP_STATUS_INVALID_PARAMETER`);
/// ignored on denial. The device's next poll gets its tokens, or
/// `access_denied`.
///
/// On `OAP_STATUS_OK`, `*error_out` is NULL when the decision was
/// recorded, else a JSON error response: 400 `invalid_grant` (unknown,
/// expired, or already decided, as by a racing call), `invalid_scope`,
/// 503 `temporarily_unavailable`, 500 `server_error`, as for
/// `oap_server_device_verification`. Thread-safe.
///
/// # Safety
/// `server` NULL or live; `request` NULL or valid for the call; `subject`,
/// `user_code`, `approved_scopes` valid for the call; `error_out` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn oap_server_device_decision(
    server: *const oap_server,
    request: *const oap_request,
    subject: oap_str,
    user_code: oap_str,
    approved_scopes: oap_str,
    decision: oap_device_decision,
    error_out: *mut *mut oap_response,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `server` NULL or live, `error_out` NULL or writable,
        // the strings valid for the call (contract): the borrowed ones are
        // used only within it.
        let (server, error_out, subject, user_code, approved_scopes) = unsafe {
            (
                try_ref(server)?,
                Out::new(error_out)?,
                subject_of(subject)?,
                user_code.to_str()?,
                approved_scopes.to_opt_str()?,
            )
        };
        let decision = device_decision(decision)?;
        let approved = match approved_scopes {
            Some(text) => Some(Scope::parse(text).map_err(|_| oap_status::InvalidParameter)?),
            None => None,
        };
        // SAFETY: NULL or valid for this call (contract).
        let outcome = unsafe {
            with_request(request, |r| {
                server
                    .inner
                    .device_decision(r, subject, user_code, approved, decision)
            })
        }?;
        error_out.write(match outcome {
            Ok(()) => std::ptr::null_mut(),
            Err(e) => oap_response::handle(Response::error_json(&e)),
        });
        Ok(())
    })
}

/// The user at the verification page: an empty one identifies nobody.
///
/// # Safety
/// `subject` valid for the call.
unsafe fn subject_of<'a>(subject: oap_str) -> Result<&'a str, oap_status> {
    // SAFETY: our contract.
    let subject = unsafe { subject.to_str() }?;
    if subject.is_empty() {
        Err(oap_status::InvalidParameter)
    } else {
        Ok(subject)
    }
}
