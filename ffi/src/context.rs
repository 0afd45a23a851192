//! `oap_ctx`: what a validator callback receives besides its arguments, like
//! the `request` object oauthlib's validator methods read and set attributes
//! on. Through it a callback reads the request (method, URI, headers, OAuth
//! parameters) and hands values back (`oap_ctx_set_*`), which the library
//! copies and checks.

use std::sync::Arc;

use provider::form::Param;
use provider::pkce::ChallengeMethod;
use provider::validator::{CodeStatus, IssuedToken, PushedRequest, RefreshTokenStatus, TokenInfo};
use provider::{
    Audience, DeviceAuthorization, OAuthRequest, Scope, ValidatedCode, ValidatedRefreshToken,
};

use crate::client::{oap_client, oap_registered_client, FfiClient};
use crate::enums::{device_status, oap_device_status, oap_pkce_method, pkce_method};
use crate::ffi::{into_handle, read_versioned, try_ref, Out, Versioned};
use crate::panic;
use crate::slice::oap_str;
use crate::status::oap_status;
use crate::token::{self, copy_token_info, oap_token, oap_token_info, scopes, time};

/// What was stored with a valid, unused authorization code, handed back by
/// `validate_code` through `oap_ctx_set_code` (copied).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_code_info {
    /// `sizeof(oap_code_info)`.
    pub struct_size: usize,
    /// The client the code was issued to.
    pub client_id: oap_str,
    /// The resource owner who approved it.
    pub user: oap_str,
    /// The approved scopes, space-delimited (absent: none).
    pub scopes: oap_str,
    /// The `redirect_uri` sent in the authorization request (the
    /// `redirect_uri` field of the saved `oap_authorization_code`), or
    /// absent if none was sent.
    pub redirect_uri: oap_str,
    /// The grant identifier saved with the code.
    pub grant_id: oap_str,
    /// Expiry, seconds since the Unix epoch (the library rejects expired codes).
    pub expires_at: u64,
    /// The PKCE challenge saved with the code (the `code_challenge` of the
    /// saved `oap_authorization_code`), or absent. Given with its method,
    /// the library checks the verifier against it and calls neither
    /// `get_code_challenge` nor `get_code_challenge_method`; absent, it
    /// calls them. Added after the first version of this struct.
    pub code_challenge: oap_str,
    /// The challenge's method, `OAP_PKCE_S256` or `OAP_PKCE_PLAIN`, when
    /// `code_challenge` is given (`OAP_PKCE_NONE` with a challenge is
    /// `OAP_STATUS_INVALID_PARAMETER`); ignored without one.
    pub code_challenge_method: oap_pkce_method,
    /// The grant's audience saved with the code (the `audience` of the
    /// saved `oap_authorization_code`): space-delimited resources, absent
    /// or empty for none (RFC 8707). A token request may narrow it, never
    /// widen it. Each must be an absolute URI without fragment, else
    /// `OAP_STATUS_INVALID_PARAMETER`. Added after the second version of
    /// this struct.
    pub audience: oap_str,
}

// SAFETY: #[repr(C)], struct_size first, every field valid when zero; the
// first version ends before `code_challenge`, the second before `audience`.
unsafe impl Versioned for oap_code_info {
    const FIRST_VERSION_SIZE: usize = std::mem::offset_of!(oap_code_info, code_challenge);
    const OTHER_VERSION_SIZES: &'static [usize] = &[std::mem::offset_of!(oap_code_info, audience)];
}

/// What was stored with a valid refresh token, handed back by
/// `validate_refresh_token` through `oap_ctx_set_refresh_token` (copied).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_refresh_token_info {
    /// `sizeof(oap_refresh_token_info)`.
    pub struct_size: usize,
    /// The client it was issued to.
    pub client_id: oap_str,
    /// The resource owner, or absent.
    pub user: oap_str,
    /// The scopes of the original grant, space-delimited.
    pub scopes: oap_str,
    /// The grant (token family) identifier.
    pub grant_id: oap_str,
    /// Expiry, seconds since the Unix epoch; 0: does not expire.
    pub expires_at: u64,
    /// The audience stored with the refresh token (the `refresh_audience`
    /// of the saved `oap_issued_token`): space-delimited resources, absent
    /// or empty for none (RFC 8707). A refresh may narrow it, never widen
    /// it. Each must be an absolute URI without fragment, else
    /// `OAP_STATUS_INVALID_PARAMETER`. Added after the first version of
    /// this struct.
    pub audience: oap_str,
}

// SAFETY: #[repr(C)], struct_size first, every field valid when zero; the
// first version ends before `audience`.
unsafe impl Versioned for oap_refresh_token_info {
    const FIRST_VERSION_SIZE: usize = std::mem::offset_of!(oap_refresh_token_info, audience);
}

/// A device authorization (RFC 8628), as `save_device_authorization`
/// receives it (borrowed: valid until the callback returns; copy what you
/// keep) and as `find_device_authorization` hands it back through
/// `oap_ctx_set_device_authorization` (copied). Neither code is in it: the
/// store keys it by the SHA-256 digests of the device code and of the
/// normalized user code, which the callbacks receive beside it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_device_authorization {
    /// `sizeof(oap_device_authorization)` (the library sets it in what it
    /// hands the host; the host sets it in what it hands back).
    pub struct_size: usize,
    /// The client that asked for it.
    pub client_id: oap_str,
    /// The scopes asked for, space-delimited; once approved, those the
    /// user approved (a subset).
    pub scopes: oap_str,
    /// The resources asked for (RFC 8707), space-delimited absolute URIs,
    /// absent or empty for none.
    pub audience: oap_str,
    /// The grant (token family) its tokens will belong to.
    pub grant_id: oap_str,
    /// Expiry, seconds since the Unix epoch (the library checks it).
    pub expires_at: u64,
    /// The current minimum polling interval, seconds (grows by 5 with
    /// each `slow_down`).
    pub interval: u64,
    /// When the device last polled, seconds since the Unix epoch; 0: never.
    pub last_poll: u64,
    /// `OAP_DEVICE_PENDING`, `OAP_DEVICE_APPROVED`, `OAP_DEVICE_DENIED` or
    /// `OAP_DEVICE_USED` (another value is `OAP_STATUS_INVALID_PARAMETER`).
    pub status: oap_device_status,
    /// The approving user, for `OAP_DEVICE_APPROVED` (required there, and
    /// not empty); absent otherwise (ignored when handed back).
    pub user_id: oap_str,
}

// SAFETY: #[repr(C)], struct_size first, every field valid when zero (a
// zero status is refused when read, not undefined).
unsafe impl Versioned for oap_device_authorization {
    const FIRST_VERSION_SIZE: usize = std::mem::size_of::<oap_device_authorization>();
}

/// A host's space-delimited audience, checked: absent or empty is none.
fn audience(text: Option<&str>) -> Result<Audience, oap_status> {
    // The usual case, no audience, without the splitting and parsing: this
    // runs on every refresh and code exchange.
    if text.is_none_or(str::is_empty) {
        return Ok(Audience::empty());
    }
    Audience::parse(text.unwrap_or("").split(' ').filter(|r| !r.is_empty()))
        .map_err(|_| oap_status::InvalidParameter)
}

/// Which value the running callback may hand back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    Nothing,
    Client,
    User,
    Scopes,
    RedirectUri,
    CodeChallenge,
    CodeChallengeMethod,
    TokenInfo,
    Code,
    RefreshToken,
    PushedRequest,
    DeviceAuthorization,
}

/// A value a callback handed back. Kept small (the large payloads boxed):
/// every callback's answer moves one through its context. A token info,
/// the answer of the most frequent callback (`validate_bearer_token`), has
/// a field of its own in [`oap_ctx`] instead: no allocation for it.
pub(crate) enum Value {
    Client(FfiClient),
    Text(String),
    Scopes(Scope),
    Method(ChallengeMethod),
    Code(Box<CodeStatus>),
    Refresh(Box<RefreshTokenStatus>),
    Pushed(Box<PushedRequest>),
    Device(Box<DeviceAuthorization>),
}

const _: () = assert!(std::mem::size_of::<Value>() <= 32);

/// The context of one validator callback: the request being served and
/// the value the callback hands back. Valid only until the callback
/// returns; never keep the pointer. Only the thread running the callback
/// may use it.
pub struct oap_ctx<'a> {
    pub(crate) request: Option<&'a OAuthRequest<'a>>,
    pub(crate) slot: Slot,
    pub(crate) value: Option<Value>,
    /// Where a token info handed back goes: the caller's slot, for the
    /// token-info callbacks only (a reference: the other callbacks' contexts
    /// stay small and have nothing more to drop).
    pub(crate) token_info: Option<&'a mut Option<TokenInfo>>,
    /// The tokens being saved (`save_bearer_token`, `save_token`,
    /// `consume_and_save` only).
    pub(crate) issued: Option<&'a IssuedToken>,
    /// A setter failed or did not apply: the callback's answer is not trusted.
    pub(crate) failed: bool,
}

impl<'a> oap_ctx<'a> {
    pub(crate) fn new(request: Option<&'a OAuthRequest<'a>>, slot: Slot) -> Self {
        oap_ctx {
            request,
            slot,
            value: None,
            token_info: None,
            issued: None,
            failed: false,
        }
    }
}

/// Stores the value `make` builds, if the running callback takes `slot`.
/// Any failure also marks the callback as failed (answered `server_error`).
///
/// # Safety
/// `ctx` is NULL or the live context of the running callback.
unsafe fn set(
    ctx: *mut oap_ctx<'_>,
    slot: Slot,
    make: impl FnOnce() -> Result<Value, oap_status>,
) -> oap_status {
    // SAFETY: same contract as ours.
    unsafe { set_into(ctx, slot, make, |ctx, value| ctx.value = Some(value)) }
}

/// As [`set`], with `put` storing the value in the context.
///
/// # Safety
/// As [`set`].
unsafe fn set_into<T>(
    ctx: *mut oap_ctx<'_>,
    slot: Slot,
    make: impl FnOnce() -> Result<T, oap_status>,
    put: impl FnOnce(&mut oap_ctx<'_>, T),
) -> oap_status {
    panic::status(|| {
        // SAFETY: NULL or the running callback's context, used by this thread
        // only (contract), so this exclusive borrow is unique.
        let ctx = unsafe { ctx.as_mut() }.ok_or(oap_status::NullParameter)?;
        if ctx.slot != slot {
            ctx.failed = true;
            return Err(oap_status::WrongContext);
        }
        match make() {
            Ok(value) => {
                put(ctx, value);
                Ok(())
            }
            Err(status) => {
                ctx.failed = true;
                Err(status)
            }
        }
    })
}

/// Hands back the client (`find_client`, `validate_client_id`,
/// `authenticate_client`, `authenticate_client_id`). Copies `client`.
///
/// Errors (each also makes the running callback count as failed):
/// `OAP_STATUS_WRONG_CONTEXT` from another callback,
/// `OAP_STATUS_NULL_PARAMETER`, `OAP_STATUS_INVALID_UTF8`,
/// `OAP_STATUS_INVALID_PARAMETER` (unknown `secret_kind`, malformed digest,
/// `confidential` set without a secret, unknown `grants` bits),
/// `OAP_STATUS_STRUCT_TOO_SMALL`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `client` NULL or valid
/// for the call.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_client(
    ctx: *mut oap_ctx,
    client: *const oap_client,
) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // `client` what FfiClient::copy_from asks, which copies it before we
    // return.
    unsafe {
        set(ctx, Slot::Client, || {
            Ok(Value::Client(FfiClient::copy_from(client)?))
        })
    }
}

/// Hands back a registered client (see `oap_registered_client`) where
/// `oap_ctx_set_client` would be used: the request takes a reference to
/// it, nothing is copied or checked again. The handle must stay live
/// until this call returns; the request keeps the client alive after.
///
/// Errors (each also makes the running callback count as failed):
/// `OAP_STATUS_WRONG_CONTEXT` from another callback,
/// `OAP_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `client` NULL or a
/// live registered client.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_registered_client(
    ctx: *mut oap_ctx,
    client: *const oap_registered_client,
) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // `client` NULL or live for this call, and share() takes its own
    // reference.
    unsafe {
        set(ctx, Slot::Client, || {
            Ok(Value::Client(try_ref(client)?.share()))
        })
    }
}

/// Hands back the authenticated resource owner (`validate_user`). Copies it.
/// Errors as `oap_ctx_set_client`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `user` valid for the call.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_user(ctx: *mut oap_ctx, user: oap_str) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // `user` valid for this call and copied (to_owned) within it.
    unsafe {
        set(ctx, Slot::User, || {
            Ok(Value::Text(user.to_str()?.to_owned()))
        })
    }
}

/// Hands back scopes, space-delimited (`get_default_scopes`,
/// `get_original_scopes`). Copies them. A malformed scope token is
/// `OAP_STATUS_INVALID_PARAMETER`. Errors as `oap_ctx_set_client`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `scopes` valid for the call.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_scopes(ctx: *mut oap_ctx, scopes: oap_str) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // `scopes` valid for this call and parsed into an owned Scope within it.
    unsafe {
        set(ctx, Slot::Scopes, || {
            Ok(Value::Scopes(token::scopes(Some(scopes.to_str()?))?))
        })
    }
}

/// Hands back a pushed authorization request (`find_pushed_request`):
/// the client that pushed it, its form-encoded parameters and when it
/// expires (seconds since the Unix epoch). Copies them. Errors as
/// `oap_ctx_set_client`; parameters that are not UTF-8 are
/// `OAP_STATUS_INVALID_UTF8`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `client_id` and
/// `parameters` valid for the call.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_pushed_request(
    ctx: *mut oap_ctx,
    client_id: oap_str,
    parameters: oap_str,
    expires_at: u64,
) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // the views valid for this call and copied (to_owned) within it.
    unsafe {
        set(ctx, Slot::PushedRequest, || {
            Ok(Value::Pushed(Box::new(PushedRequest {
                client_id: client_id.to_str()?.to_owned(),
                parameters: parameters.to_str()?.to_owned(),
                expires_at,
            })))
        })
    }
}

/// Hands back a device authorization (`find_device_authorization`), as
/// `save_device_authorization` was given it and the later callbacks
/// changed it. Copies it. Errors as `oap_ctx_set_client`;
/// `OAP_STATUS_INVALID_PARAMETER` also for an unknown `status`,
/// `OAP_DEVICE_APPROVED` without a `user_id`, malformed scopes, or an
/// audience entry that is no absolute URI without fragment.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `authorization` NULL
/// or an `oap_device_authorization` (`struct_size` bytes readable) whose
/// strings are valid for the call.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_device_authorization(
    ctx: *mut oap_ctx,
    authorization: *const oap_device_authorization,
) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // `authorization` what read_versioned asks, and its views valid for
    // this call and copied within it.
    unsafe {
        set(ctx, Slot::DeviceAuthorization, || {
            let a = read_versioned(authorization)?;
            Ok(Value::Device(Box::new(DeviceAuthorization {
                client_id: a.client_id.to_str()?.to_owned(),
                scopes: scopes(a.scopes.to_opt_str()?)?,
                audience: audience(a.audience.to_opt_str()?)?,
                grant_id: a.grant_id.to_str()?.to_owned(),
                expires_at: a.expires_at,
                interval: a.interval,
                last_poll: time(a.last_poll),
                status: device_status(a.status, a.user_id.to_opt_str()?)?,
            })))
        })
    }
}

/// Hands back a redirect URI (`get_default_redirect_uri`). Copies it.
/// Errors as `oap_ctx_set_client`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `uri` valid for the call.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_redirect_uri(ctx: *mut oap_ctx, uri: oap_str) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // `uri` valid for this call and copied (to_owned) within it.
    unsafe {
        set(ctx, Slot::RedirectUri, || {
            Ok(Value::Text(uri.to_str()?.to_owned()))
        })
    }
}

/// Hands back the PKCE challenge saved with a code (`get_code_challenge`).
/// Copies it. Errors as `oap_ctx_set_client`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `challenge` valid for
/// the call.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_code_challenge(
    ctx: *mut oap_ctx,
    challenge: oap_str,
) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // `challenge` valid for this call and copied (to_owned) within it.
    unsafe {
        set(ctx, Slot::CodeChallenge, || {
            Ok(Value::Text(challenge.to_str()?.to_owned()))
        })
    }
}

/// Hands back the PKCE method saved with a code
/// (`get_code_challenge_method`): `OAP_PKCE_PLAIN` or `OAP_PKCE_S256`;
/// anything else is `OAP_STATUS_INVALID_PARAMETER`. Errors as
/// `oap_ctx_set_client`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_code_challenge_method(
    ctx: *mut oap_ctx,
    method: oap_pkce_method,
) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context).
    unsafe {
        set(ctx, Slot::CodeChallengeMethod, || {
            Ok(Value::Method(pkce_method(method)?))
        })
    }
}

/// Hands back what a token grants (`introspect_token`,
/// `validate_bearer_token`). Copies `info`. Errors as `oap_ctx_set_client`
/// (`OAP_STATUS_INVALID_PARAMETER` for an unknown `token_type` or
/// malformed scopes). A host that keeps its tokens in memory can check and
/// copy each one once instead (`oap_token_new`, then
/// `oap_ctx_set_token`).
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `info` NULL or valid
/// for the call.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_token_info(
    ctx: *mut oap_ctx,
    info: *const oap_token_info,
) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // `info` what copy_token_info asks, which copies it before we return.
    unsafe {
        set_into(
            ctx,
            Slot::TokenInfo,
            || copy_token_info(info),
            put_token_info,
        )
    }
}

/// Hands back a token made by `oap_token_new` (or one that
/// `oap_server_verify_bearer` returned) where `oap_ctx_set_token_info`
/// would be used (`introspect_token`, `validate_bearer_token`): its
/// information was checked when the token was made, so nothing is parsed
/// or checked again; the request takes its own copy, and `token` need only
/// stay live until this call returns.
///
/// Errors (each also makes the running callback count as failed):
/// `OAP_STATUS_WRONG_CONTEXT` from another callback,
/// `OAP_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `token` NULL or a
/// live token.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_token(
    ctx: *mut oap_ctx,
    token: *const oap_token,
) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // `token` NULL or live for this call, its info cloned within it.
    unsafe {
        set_into(
            ctx,
            Slot::TokenInfo,
            || try_ref(token),
            |ctx, token| {
                // Copied straight into the caller's slot, not built
                // aside and moved there (a TokenInfo is large enough that
                // its move is a call to memcpy): this runs on every bearer
                // check.
                if let Some(out) = ctx.token_info.as_deref_mut() {
                    // A second answer replaces the first.
                    *out = None;
                    out.get_or_insert_with(|| copy_of(&token.inner));
                }
            },
        )
    }
}

/// `info`'s copy, as `TokenInfo::clone` makes it but without a call into
/// `Vec::clone` for the audience list, empty on most tokens: this runs on
/// every bearer check and introspection of a store that hands back its
/// tokens with `oap_ctx_set_token` (the strings are shared, not copied).
/// Listing every field keeps the copy whole when `TokenInfo` grows one.
/// Inlined so that the copy is written straight into its destination
/// rather than built on the stack and moved there with a memcpy.
#[inline(always)]
fn copy_of(info: &TokenInfo) -> TokenInfo {
    let TokenInfo {
        token_type,
        client_id,
        username,
        sub,
        scopes,
        exp,
        iat,
        aud,
        iss,
        grant_id,
    } = info;
    TokenInfo {
        token_type: *token_type,
        client_id: client_id.clone(),
        username: username.clone(),
        sub: sub.clone(),
        scopes: scopes.clone(),
        exp: *exp,
        iat: *iat,
        aud: if aud.is_empty() {
            Vec::new()
        } else {
            aud.clone()
        },
        iss: iss.clone(),
        grant_id: grant_id.clone(),
    }
}

/// Stores a token info in the caller's slot. Every context of
/// `Slot::TokenInfo` has one; were one missing, the info would be dropped
/// and the callback's `OAP_CB_TRUE` count as a failure (no value).
fn put_token_info(ctx: &mut oap_ctx<'_>, info: TokenInfo) {
    if let Some(out) = ctx.token_info.as_deref_mut() {
        // A second answer replaces the first.
        *out = Some(info);
    }
}

/// Hands back what was stored with a valid, unused code (`validate_code`,
/// which then returns `OAP_CB_TRUE`). Copies `info`. Errors as
/// `oap_ctx_set_client`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `info` NULL or valid
/// for the call.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_code(
    ctx: *mut oap_ctx,
    info: *const oap_code_info,
) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // `info` what read_versioned asks, its strings valid for this call and
    // copied (Arc::from, to_owned, scopes) within it.
    unsafe {
        set(ctx, Slot::Code, || {
            let i = read_versioned(info)?;
            Ok(Value::Code(Box::new(CodeStatus::Valid(ValidatedCode {
                client_id: Arc::from(i.client_id.to_str()?),
                user: Arc::from(i.user.to_str()?),
                scopes: scopes(i.scopes.to_opt_str()?)?,
                redirect_uri: i.redirect_uri.to_opt_str()?.map(str::to_owned),
                audience: audience(i.audience.to_opt_str()?)?,
                grant_id: Arc::from(i.grant_id.to_str()?),
                expires_at: i.expires_at,
                code_challenge: match i.code_challenge.to_opt_str()? {
                    Some(challenge) => {
                        Some((Arc::from(challenge), pkce_method(i.code_challenge_method)?))
                    }
                    None => None,
                },
            }))))
        })
    }
}

/// Reports that the code was already exchanged (`validate_code`, which then
/// returns `OAP_CB_TRUE`): a replay. The library answers `invalid_grant`
/// and revokes the grant `grant_id` (through `revoke_grant`) when the
/// replay proves it comes from the code's client: a confidential client
/// authenticated, a public one presented the verifier of the code's PKCE
/// challenge, looked up here through `get_code_challenge` and
/// `get_code_challenge_method` (`oap_ctx_set_code_used_pkce` hands it
/// over instead). Anyone else, who may merely have seen the code in a
/// URL, gets `invalid_grant` and revokes nothing. Copies `grant_id`.
/// Errors as `oap_ctx_set_client`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `grant_id` valid for
/// the call.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_code_used(ctx: *mut oap_ctx, grant_id: oap_str) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // `grant_id` valid for this call and copied (Arc::from) within it.
    unsafe {
        set(ctx, Slot::Code, || {
            Ok(Value::Code(Box::new(CodeStatus::Used {
                grant_id: Arc::from(grant_id.to_str()?),
                code_challenge: None,
            })))
        })
    }
}

/// `oap_ctx_set_code_used` with the PKCE challenge saved with the code
/// (the `code_challenge` and `code_challenge_method` of the saved
/// `oap_authorization_code`), as `oap_code_info` carries it for an unused
/// code: a public client's replay revokes the grant only if its
/// `code_verifier` matches this challenge, and neither
/// `get_code_challenge` nor `get_code_challenge_method` is called. An
/// absent `code_challenge` (NULL `ptr`) is `oap_ctx_set_code_used`; with
/// one, `code_challenge_method` must be `OAP_PKCE_S256` or
/// `OAP_PKCE_PLAIN` (else `OAP_STATUS_INVALID_PARAMETER`). Copies both
/// strings. Errors as `oap_ctx_set_client`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `grant_id` and
/// `code_challenge` valid for the call.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_code_used_pkce(
    ctx: *mut oap_ctx,
    grant_id: oap_str,
    code_challenge: oap_str,
    code_challenge_method: oap_pkce_method,
) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // both strings valid for this call and copied (Arc::from) within it.
    unsafe {
        set(ctx, Slot::Code, || {
            Ok(Value::Code(Box::new(CodeStatus::Used {
                grant_id: Arc::from(grant_id.to_str()?),
                code_challenge: match code_challenge.to_opt_str()? {
                    Some(challenge) => {
                        Some((Arc::from(challenge), pkce_method(code_challenge_method)?))
                    }
                    None => None,
                },
            })))
        })
    }
}

/// Hands back what was stored with a valid refresh token
/// (`validate_refresh_token`, which then returns `OAP_CB_TRUE`). Copies
/// `info`. Errors as `oap_ctx_set_client`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `info` NULL or valid
/// for the call.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_refresh_token(
    ctx: *mut oap_ctx,
    info: *const oap_refresh_token_info,
) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // `info` what read_versioned asks, its strings valid for this call and
    // copied (Arc::from, scopes) within it.
    unsafe {
        set(ctx, Slot::RefreshToken, || {
            let i = read_versioned(info)?;
            Ok(Value::Refresh(Box::new(RefreshTokenStatus::Active(
                ValidatedRefreshToken {
                    client_id: Arc::from(i.client_id.to_str()?),
                    user: i.user.to_opt_str()?.map(Arc::from),
                    scopes: scopes(i.scopes.to_opt_str()?)?,
                    audience: audience(i.audience.to_opt_str()?)?,
                    grant_id: Arc::from(i.grant_id.to_str()?),
                    expires_at: time(i.expires_at),
                },
            ))))
        })
    }
}

/// Reports that the refresh token was already replaced by rotation
/// (`validate_refresh_token`, which then returns `OAP_CB_TRUE`): it leaked.
/// The library answers `invalid_grant` and revokes the grant `grant_id`.
/// Copies `grant_id`. Errors as `oap_ctx_set_client`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `grant_id` valid for
/// the call.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_set_refresh_token_rotated(
    ctx: *mut oap_ctx,
    grant_id: oap_str,
) -> oap_status {
    // SAFETY: `ctx` as set asks (NULL or the running callback's context);
    // `grant_id` valid for this call and copied (Arc::from) within it.
    unsafe {
        set(ctx, Slot::RefreshToken, || {
            Ok(Value::Refresh(Box::new(RefreshTokenStatus::Rotated {
                grant_id: Arc::from(grant_id.to_str()?),
            })))
        })
    }
}

/// In `save_bearer_token`, `save_token` and `consume_and_save`: the access
/// token being saved, as a new `oap_token` written to `*token_out` (the
/// caller owns it and frees it with `oap_token_free`), to hand back later from
/// `validate_bearer_token` and `introspect_token` with
/// `oap_ctx_set_token`. Made from what the library issued, so nothing is
/// checked or parsed: `OAP_TOKEN_TYPE_ACCESS_TOKEN`, `client_id`, the
/// resource owner as both `username` and `sub` (absent for client
/// credentials), `scopes`, `iat` = `issued_at`, `exp` = `issued_at` +
/// `expires_in`, `grant_id`; no audience, no issuer (the server's is
/// used). A host that reports other claims builds the token with
/// `oap_token_new`.
///
/// Errors: `OAP_STATUS_NULL_PARAMETER`; `OAP_STATUS_WRONG_CONTEXT` in any
/// other callback. Neither makes the callback count as failed.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `token_out` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_issued_access_token(
    ctx: *const oap_ctx,
    token_out: *mut *mut oap_token,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `ctx` NULL or the running callback's context, `token_out`
        // NULL or writable (contract).
        let (ctx, token_out) = unsafe { (try_ref(ctx)?, Out::new(token_out)?) };
        let issued = ctx.issued.ok_or(oap_status::WrongContext)?;
        let token = into_handle(oap_token {
            inner: issued.access_token_info(),
        });
        token_out.write(token);
        Ok(())
    })
}

/// Runs a read accessor on the callback's request.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `out` NULL or writable.
unsafe fn read(
    ctx: *const oap_ctx<'_>,
    out: *mut oap_str,
    get: impl FnOnce(&OAuthRequest<'_>) -> Result<Option<oap_str>, oap_status>,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `ctx` NULL or the running callback's context, `out` NULL or
        // writable (contract).
        let (ctx, out) = unsafe { (try_ref(ctx)?, Out::new(out)?) };
        let request = ctx.request.ok_or(oap_status::NotFound)?;
        let value = get(request)?.ok_or(oap_status::NotFound)?;
        out.write(value);
        Ok(())
    })
}

/// The request method. The string is valid until the callback returns.
/// `OAP_STATUS_NOT_FOUND` in `find_client`, which runs outside any request
/// view.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `method_out` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_method(
    ctx: *const oap_ctx,
    method_out: *mut oap_str,
) -> oap_status {
    // SAFETY: `ctx` and the out-pointer as read asks (NULL or the running
    // callback's context; NULL or writable).
    unsafe { read(ctx, method_out, |r| Ok(Some(oap_str::new(r.http.method())))) }
}

/// The request target (path and query). Valid until the callback returns.
/// `OAP_STATUS_NOT_FOUND` in `find_client`.
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `uri_out` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_uri(ctx: *const oap_ctx, uri_out: *mut oap_str) -> oap_status {
    // SAFETY: `ctx` and the out-pointer as read asks (NULL or the running
    // callback's context; NULL or writable).
    unsafe { read(ctx, uri_out, |r| Ok(Some(oap_str::new(r.http.uri())))) }
}

/// The first request header called `name` (ASCII case-insensitive). Valid
/// until the callback returns. `OAP_STATUS_NOT_FOUND` when absent (and in
/// `find_client`).
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `name` valid for the
/// call; `value_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_header(
    ctx: *const oap_ctx,
    name: oap_str,
    value_out: *mut oap_str,
) -> oap_status {
    // SAFETY: `ctx` and the out-pointer as read asks (NULL or the running
    // callback's context; NULL or writable); `name` valid for this call, used
    // only within it.
    unsafe {
        read(ctx, value_out, |r| {
            let name = name.to_str()?;
            Ok(r.http.header(name).map(oap_str::new))
        })
    }
}

/// The OAuth parameter `name` of the request (form body, or the query for
/// the authorization endpoint), decoded. Only the parameters the library
/// reads are kept (grant_type, code, redirect_uri, client_id, scope, state,
/// response_type, code_verifier, code_challenge, code_challenge_method,
/// refresh_token, username, password, client_secret, token,
/// token_type_hint, access_token); others give `OAP_STATUS_NOT_FOUND`.
/// Secrets are included (a custom `authenticate_client` needs them): never
/// log them. Valid until the
/// callback returns. `OAP_STATUS_NOT_FOUND` when absent or not such a
/// parameter (and in `find_client`).
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `name` valid for the
/// call; `value_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_param(
    ctx: *const oap_ctx,
    name: oap_str,
    value_out: *mut oap_str,
) -> oap_status {
    // SAFETY: `ctx` and the out-pointer as read asks (NULL or the running
    // callback's context; NULL or writable); `name` valid for this call, used
    // only within it.
    unsafe {
        read(ctx, value_out, |r| {
            let name = name.to_str()?;
            let param = Param::from_name(name);
            Ok(param.and_then(|p| r.params.get(p)).map(oap_str::new))
        })
    }
}

/// The server's time for the request being served, seconds since the Unix
/// epoch, written to `*now_out`: read once when the request arrived, the
/// same instant the library decides expiry against. A store makes every
/// expiry decision of the request with it (an expired code, access or
/// refresh token, a grant whose last code or refresh token expired), so
/// it never disagrees with the library, and a purge run with the same
/// clock agrees with both. `OAP_STATUS_NOT_FOUND` in `find_client`, which
/// runs outside any request (and needs no time).
///
/// # Safety
/// `ctx` is NULL or the running callback's context; `now_out` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn oap_ctx_now(ctx: *const oap_ctx, now_out: *mut u64) -> oap_status {
    panic::status(|| {
        // SAFETY: `ctx` NULL or the running callback's context, `now_out`
        // NULL or writable (contract).
        let (ctx, now_out) = unsafe { (try_ref(ctx)?, Out::new(now_out)?) };
        let request = ctx.request.ok_or(oap_status::NotFound)?;
        now_out.write(request.now);
        Ok(())
    })
}
