//! The callback table, as the header shows it: the callbacks' typedefs
//! (`oap_*_cb`), the borrowed views some of them receive
//! (`oap_authorization_code`, `oap_issued_token`, `oap_consumed`,
//! `oap_device_authorization`), and the
//! `oap_validator`
//! struct that holds them. No behaviour: [`super::adapter`] runs them.

use std::ffi::c_void;

use provider::{
    Audience, AuthorizationCode, Consumed, DeviceAuthorization, DeviceStatus, IssuedToken,
};

use crate::context::{oap_ctx, oap_device_authorization};
use crate::enums::{
    device_status_code, oap_cb_result, oap_consumed_kind, oap_device_code_kind, oap_device_status,
    oap_pkce_method, oap_token_type, pkce_code, OAP_CONSUMED_AUTHORIZATION_CODE,
    OAP_CONSUMED_REFRESH_TOKEN,
};
use crate::ffi::Versioned;
use crate::slice::oap_str;

/// An authorization code to persist, as `save_authorization_code` receives
/// it. Borrowed: valid until the callback returns; copy what you keep.
/// Later versions may append fields.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_authorization_code {
    /// The code itself.
    pub code: oap_str,
    /// The client it was issued to.
    pub client_id: oap_str,
    /// The `redirect_uri` sent in the authorization request, or absent
    /// (NULL `ptr`) if none was sent. Hand it back in `oap_code_info`.
    pub redirect_uri: oap_str,
    /// The redirect URI the response went to (sent or defaulted).
    pub effective_redirect_uri: oap_str,
    /// The resource owner who approved it.
    pub user: oap_str,
    /// The approved scopes, space-delimited.
    pub scopes: oap_str,
    /// The PKCE challenge, or absent. Hand it back from `get_code_challenge`.
    pub code_challenge: oap_str,
    /// The PKCE method (`OAP_PKCE_NONE` without a challenge).
    pub code_challenge_method: oap_pkce_method,
    /// The grant (token family) this code starts.
    pub grant_id: oap_str,
    /// Issue time, seconds since the Unix epoch.
    pub issued_at: u64,
    /// Expiry, seconds since the Unix epoch.
    pub expires_at: u64,
    /// The resources the authorization request named (RFC 8707), the
    /// grant's audience: space-delimited absolute URIs, empty for none.
    /// Store it and hand it back in `oap_code_info`'s `audience`. Added
    /// after the first version of this struct.
    pub audience: oap_str,
}

/// Tokens to persist, as `save_bearer_token` / `save_token` receive them.
/// Borrowed: valid until the callback returns. The library writes it, so
/// it has no `struct_size`: later versions append fields, which a host
/// built with an older header does not see (and so ignores).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_issued_token {
    /// The access token.
    pub access_token: oap_str,
    /// The refresh token, or absent (NULL `ptr`).
    pub refresh_token: oap_str,
    /// Whether `refresh_token` is new and must be stored (false when
    /// rotation is off and the presented one is handed back).
    pub refresh_token_is_new: bool,
    /// Access token lifetime, seconds: the configured
    /// `access_token_lifetime`, 1 to `OAP_MAX_LIFETIME` (ten years), sent
    /// as the token response's `expires_in`. The access token expires at
    /// `issued_at + expires_in`; with `issued_at` a current Unix time and
    /// `expires_in` so bounded, the sum cannot overflow a `uint64_t`
    /// (`oap_ctx_issued_access_token` computes it the same way, and would
    /// saturate at `UINT64_MAX`). A token past that instant is refused by
    /// the library even if the host still answers for it.
    pub expires_in: u64,
    /// The access token's scopes, space-delimited.
    pub scopes: oap_str,
    /// The scopes to store with a new refresh token, space-delimited: the
    /// grant's, which differ from `scopes` when a refresh narrowed the
    /// access token's scope (RFC 6749 §6).
    pub refresh_scopes: oap_str,
    /// The client the tokens were issued to.
    pub client_id: oap_str,
    /// The resource owner, or absent (client credentials).
    pub user: oap_str,
    /// The grant (token family) identifier; always set with a refresh
    /// token, absent for a lone access token that starts no family (its
    /// grant is the token itself).
    pub grant_id: oap_str,
    /// Issue time, seconds since the Unix epoch.
    pub issued_at: u64,
    /// Refresh token expiry, seconds since the Unix epoch:
    /// `issued_at + refresh_token_lifetime` (saturating; the lifetime is at
    /// most `OAP_MAX_LIFETIME`); 0: none (`refresh_token_lifetime` 0).
    pub refresh_expires_at: u64,
    /// 1 when `grant_id` names a grant that starts with these tokens (a
    /// password grant's first refresh token): the store records it. 0
    /// when the tokens continue a grant the store already knows, from a
    /// saved code or refresh token (or carry no `grant_id`): if the store
    /// no longer knows that grant (its last code or refresh token expired)
    /// or it was revoked, the save must be refused. Added after the
    /// first version of this struct.
    pub new_grant: u8,
    /// The access token's audience (RFC 8707): the resources it is for,
    /// space-delimited, empty for none. Store it and hand it back as
    /// `oap_token_info`'s `aud` (one entry per resource). Added after the
    /// second version of this struct.
    pub audience: oap_str,
    /// The audience to store with a new refresh token, space-delimited:
    /// the grant's, which differs from `audience` when a token request
    /// narrowed the access token's (RFC 8707 §2.2). Hand it back in
    /// `oap_refresh_token_info`'s `audience`.
    pub refresh_audience: oap_str,
}

/// The audiences of a token or code as the views show them (one
/// space-delimited string each), kept alive for the callback the view is
/// passed to.
pub(crate) struct AudienceText {
    access: String,
    refresh: String,
}

impl AudienceText {
    /// The access and refresh audiences of `token`.
    pub(crate) fn of(token: &IssuedToken) -> Self {
        AudienceText {
            access: stored(&token.audience),
            refresh: stored(token.refresh_token_audience()),
        }
    }

    /// The audience of `code` (in `access`).
    pub(crate) fn of_code(code: &AuthorizationCode) -> Self {
        AudienceText {
            access: stored(&code.audience),
            refresh: String::new(),
        }
    }
}

/// `audience.to_stored()`, without the call into `join` for the usual
/// empty audience: this runs on every save of a token or code.
fn stored(audience: &Audience) -> String {
    if audience.is_empty() {
        String::new()
    } else {
        audience.to_stored()
    }
}

/// The strings of a device authorization's view that the Rust value holds
/// in another form, kept alive for the callback the view is passed to.
pub(crate) struct DeviceText {
    audience: String,
}

impl DeviceText {
    pub(crate) fn of(authorization: &DeviceAuthorization) -> Self {
        DeviceText {
            audience: authorization.audience.to_stored(),
        }
    }
}

impl oap_device_authorization {
    /// The view of `authorization` passed to `save_device_authorization`.
    pub(crate) fn view(authorization: &DeviceAuthorization, text: &DeviceText) -> Self {
        let user_id = match &authorization.status {
            DeviceStatus::Approved { user_id } => oap_str::new(user_id),
            _ => oap_str::NONE,
        };
        oap_device_authorization {
            struct_size: std::mem::size_of::<oap_device_authorization>(),
            client_id: oap_str::new(&authorization.client_id),
            scopes: oap_str::new(authorization.scopes.as_str()),
            audience: oap_str::new(&text.audience),
            grant_id: oap_str::new(&authorization.grant_id),
            expires_at: authorization.expires_at,
            interval: authorization.interval,
            last_poll: authorization.last_poll.unwrap_or(0),
            status: device_status_code(&authorization.status),
            user_id,
        }
    }
}

/// The credential `consume_and_save` spends, as it receives it. Borrowed:
/// valid until the callback returns. The library writes it, so it has no
/// `struct_size`: later versions append fields.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_consumed {
    /// `OAP_CONSUMED_AUTHORIZATION_CODE` or `OAP_CONSUMED_REFRESH_TOKEN`.
    pub kind: oap_consumed_kind,
    /// For a code, the authenticated client presenting it (spend the code
    /// only if it was issued to this client, as
    /// `invalidate_authorization_code` does); absent (NULL `ptr`) for a
    /// refresh token, whose client is the `client_id` of the tokens saved.
    pub client_id: oap_str,
    /// The code, or the refresh token.
    pub value: oap_str,
}

/// `find_client(client_id)`: the registered client `client_id`. Called to
/// authenticate clients (by the default `authenticate_client`,
/// `authenticate_client_id`, `client_authentication_required` and
/// `validate_client_id`). Set it with `oap_ctx_set_client` and return
/// `OAP_CB_TRUE`; `OAP_CB_FALSE` when there is no such client. Runs outside
/// a request view: `oap_ctx_header` etc. give `OAP_STATUS_NOT_FOUND`.
/// NULL: server_error whenever a client must be looked up.
pub type oap_find_client_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `authenticate_client()`: authenticate the client of a token, revocation
/// or introspection request by other means (the credentials are in
/// `oap_ctx_header`/`oap_ctx_param`); set it with `oap_ctx_set_client` and
/// return `OAP_CB_TRUE`, or `OAP_CB_FALSE` for `invalid_client`. NULL
/// (recommended): the library checks HTTP Basic or `client_secret` in the
/// body against `find_client`'s secret, in constant time.
pub type oap_authenticate_client_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, ctx: *mut oap_ctx) -> oap_cb_result>;
/// `authenticate_client_id(client_id)`: identify a public client by its id
/// alone; `oap_ctx_set_client` + `OAP_CB_TRUE`, or `OAP_CB_FALSE`. NULL:
/// `find_client`'s client if it is not confidential. A client handed back
/// with a secret is accepted only if the request also authenticates as it
/// (`authenticate_client`), else refused with `invalid_client`: a
/// confidential client always authenticates with its secret.
pub type oap_authenticate_client_id_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `client_authentication_required()`: whether the token request must
/// authenticate the client. NULL: yes when it carries an Authorization
/// header or client_secret, or names a confidential (or no) client. An
/// `OAP_CB_FALSE` for a client with a secret does not let it in by
/// `client_id` alone: it must still authenticate, or gets `invalid_client`.
pub type oap_client_authentication_required_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, ctx: *mut oap_ctx) -> oap_cb_result>;
/// `confirm_redirect_uri(client_id, code, redirect_uri)`: extra host check
/// of the token request's `redirect_uri` (absent: NULL `ptr`); the library
/// already compares it exactly with the saved one. NULL: `OAP_CB_TRUE`.
pub type oap_confirm_redirect_uri_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        code: oap_str,
        redirect_uri: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `get_code_challenge(code)`: the PKCE challenge saved with `code`:
/// `oap_ctx_set_code_challenge` + `OAP_CB_TRUE`, or `OAP_CB_FALSE` when the
/// code has none. NULL: none (then a code saved with a challenge can be
/// exchanged without a verifier: implement it with PKCE).
pub type oap_get_code_challenge_cb = Option<
    unsafe extern "C" fn(user_data: *mut c_void, code: oap_str, ctx: *mut oap_ctx) -> oap_cb_result,
>;
/// `get_code_challenge_method(code)`: the PKCE method saved with `code`:
/// `oap_ctx_set_code_challenge_method` + `OAP_CB_TRUE`; `OAP_CB_FALSE`
/// reads as `plain`. NULL: `plain`.
pub type oap_get_code_challenge_method_cb = Option<
    unsafe extern "C" fn(user_data: *mut c_void, code: oap_str, ctx: *mut oap_ctx) -> oap_cb_result,
>;
/// `get_default_redirect_uri(client_id)`: the redirect URI when the
/// authorization request has none: `oap_ctx_set_redirect_uri` +
/// `OAP_CB_TRUE`, or `OAP_CB_FALSE` (the request is refused, not
/// redirected). NULL: the client's only registered URI, if it has one.
pub type oap_get_default_redirect_uri_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `get_default_scopes(client_id)`: the scopes when a request names none:
/// `oap_ctx_set_scopes` + `OAP_CB_TRUE`; `OAP_CB_FALSE`: none. NULL: none.
pub type oap_get_default_scopes_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `get_original_scopes(refresh_token, original_scopes)`: the scopes of the
/// refresh token's grant (`original_scopes`: what `validate_refresh_token`
/// set): `oap_ctx_set_scopes` + `OAP_CB_TRUE`; `OAP_CB_FALSE`:
/// `original_scopes`. NULL: `original_scopes`.
pub type oap_get_original_scopes_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        refresh_token: oap_str,
        original_scopes: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `introspect_token(token, hint)` (required): look up an access or
/// refresh token (try every type whatever `hint` says) for introspection
/// and revocation: `oap_ctx_set_token_info` (or `oap_ctx_set_token`) +
/// `OAP_CB_TRUE`, or `OAP_CB_FALSE` for an unknown one. NULL: server_error
/// when called.
pub type oap_introspect_token_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        token: oap_str,
        hint: oap_token_type,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `invalidate_authorization_code(client_id, code)` (required unless
/// `consume_and_save` is set: only its default calls this one): mark the
/// code used, keeping a record so `validate_code` reports a replay.
/// `OAP_CB_TRUE` if this call consumed it, `OAP_CB_FALSE` if a concurrent
/// request already had (atomically: single use). NULL: server_error.
pub type oap_invalidate_authorization_code_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        code: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `is_pkce_required(client_id)`: whether this (confidential) client must
/// use PKCE; public clients always must. NULL: `OAP_CB_FALSE`.
pub type oap_is_pkce_required_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `is_within_original_scope(requested_scopes, refresh_token)`: asked when
/// a refresh requests scopes outside the original ones. NULL: `OAP_CB_FALSE`.
pub type oap_is_within_original_scope_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        requested_scopes: oap_str,
        refresh_token: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `revoke_token(token, hint)` (required): revoke the token (checked to
/// belong to the requesting client); revoking a refresh token should revoke
/// its grant's access tokens. `OAP_CB_TRUE` when done; anything else is a
/// failure. NULL: server_error.
pub type oap_revoke_token_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        token: oap_str,
        hint: oap_token_type,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `revoke_grant(grant_id)` (required): revoke every token of the grant
/// (code replay, rotated refresh token reuse). `OAP_CB_TRUE` when done.
/// NULL: server_error. The grant stays revoked: a concurrent request may be
/// about to save tokens of it, and `save_bearer_token` must refuse them.
/// Remember the grant id at least as long as its codes and tokens.
pub type oap_revoke_grant_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        grant_id: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `invalidate_refresh_token(refresh_token)` (required unless
/// `consume_and_save` is set: only its default calls this one): mark it
/// replaced by rotation (from then on `validate_refresh_token` reports it with
/// `oap_ctx_set_refresh_token_rotated`). `OAP_CB_TRUE` if this call rotated
/// it, `OAP_CB_FALSE` if a concurrent refresh already had. `OAP_CB_FALSE`
/// is not a mere "no": two requests presented one refresh token, the reuse
/// RFC 9700 §4.14.2 treats as theft, so the library calls `revoke_grant`
/// for the token's whole grant (every access and refresh token of it) and
/// answers this request `invalid_grant`. Answer it only when the token was
/// really already rotated. NULL: server_error.
pub type oap_invalidate_refresh_token_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        refresh_token: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `rotate_refresh_token()`: whether a refresh issues a new refresh token
/// (and retires the presented one through `invalidate_refresh_token`).
/// Asked for confidential clients only: a public client's refresh tokens
/// are always rotated (RFC 9700 §4.14.2), whatever this would answer.
/// NULL: `OAP_CB_TRUE`.
pub type oap_rotate_refresh_token_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, ctx: *mut oap_ctx) -> oap_cb_result>;
/// `save_authorization_code(client_id, code)` (required): persist the code
/// with everything in `code`. `OAP_CB_TRUE` when stored. NULL: server_error.
pub type oap_save_authorization_code_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        code: *const oap_authorization_code,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `save_bearer_token(token)` (required unless `save_token` is set: the
/// library calls `save_token` to save tokens, and only the default
/// `save_token` calls this one): persist the access token (and the
/// refresh token when `refresh_token_is_new`). `OAP_CB_TRUE` when stored;
/// `OAP_CB_FALSE`, storing nothing, when the tokens' grant may not get
/// them (the request then fails with `invalid_grant`): the store keeps a
/// record of each grant, made when a code is saved (`grant_id` of
/// `oap_authorization_code`) or a token with `new_grant` 1, and kept
/// until the grant's last code or refresh token expires; a `grant_id`
/// whose record is revoked (`revoke_grant`, or `revoke_token` of its
/// refresh token), or that has no record while `new_grant` is 0 (the
/// grant ended while the request was served), is refused. A host that keeps
/// its tokens in memory can take the access token's information, ready
/// for `oap_ctx_set_token`, with `oap_ctx_issued_access_token`.
/// NULL: server_error.
pub type oap_save_bearer_token_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        token: *const oap_issued_token,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `save_token(token)`: persist a token by its type, answering as
/// `save_bearer_token` does (including `OAP_CB_FALSE` for a revoked grant,
/// or an unknown one when `new_grant` is 0). The library saves every
/// token through this one (except those `consume_and_save` saves, when it
/// is set); set it and `save_bearer_token` is never called (it may be
/// NULL). NULL: calls `save_bearer_token`.
pub type oap_save_token_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        token: *const oap_issued_token,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `consume_and_save(consumed, token)`: spend `consumed` (an authorization
/// code being exchanged, or a refresh token being rotated) and save
/// `token`, the tokens that replace it, as ONE atomic step. Called by the
/// authorization code grant, and by the refresh token grant when it
/// rotates, once the request is validated; the library then calls neither
/// `invalidate_authorization_code` / `invalidate_refresh_token` nor
/// `save_token` for it.
///
/// Atomic: under one lock or in one transaction, check that `consumed` is
/// unspent (a code not used and issued to `consumed->client_id`, a
/// refresh token active), check that the save would succeed (as
/// `save_bearer_token` checks it: the grant, no access or new refresh
/// token already stored), then mark the code used (`validate_code` then
/// reports it with `oap_ctx_set_code_used`) or the refresh token rotated
/// (`validate_refresh_token` then reports it with
/// `oap_ctx_set_refresh_token_rotated`) and store the tokens. Nothing
/// half-written: no answer but `OAP_CB_TRUE` may leave anything changed.
///
/// - `OAP_CB_TRUE`: this call spent it and saved the tokens.
/// - `OAP_CB_FALSE`: nothing spent, nothing saved, because a concurrent
///   request already spent it (the code is used or unknown, the refresh
///   token no longer active): the replay or reuse the single-use rules
///   guard against, so the library calls `revoke_grant` for the tokens'
///   grant and answers `invalid_grant`. Answer it too when the tokens'
///   grant may not get them (revoked, or ended, where `save_bearer_token`
///   answers `OAP_CB_FALSE`): the request gets `invalid_grant` all the
///   same, and revoking a grant already revoked or ended changes nothing.
/// - `OAP_CB_ERROR`: nothing changed (a storage failure, an access token
///   already stored). The library answers `server_error` (500), and the
///   code or refresh token stays usable: the client's retry succeeds
///   instead of being taken for a replay.
///
/// `oap_ctx_issued_access_token` works here as in `save_bearer_token`.
/// NULL (and in a table whose `struct_size` ends before this field): the
/// two steps of a store without transactions, `invalidate_authorization_code`
/// or `invalidate_refresh_token`, then (if it answered `OAP_CB_TRUE`)
/// `save_token`. Racing requests stay safe, one wins the invalidation, but
/// a save that fails after it leaves the credential spent, and the
/// client's retry is refused as a replay (and revokes the grant).
pub type oap_consume_and_save_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        consumed: *const oap_consumed,
        token: *const oap_issued_token,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `save_pushed_request(digest, client_id, parameters, expires_at)`: keep
/// a pushed authorization request (RFC 9126) under `digest`, the 32-byte
/// SHA-256 digest of its `request_uri` (the URI itself never reaches the
/// store), until `expires_at` or until `consume_pushed_request` spends it.
/// `parameters` is the form-encoded authorization request (without the
/// client's secret), `client_id` the client that pushed it. `OAP_CB_TRUE`:
/// saved; anything else saves nothing (a digest already stored too), and
/// the push is answered `server_error`. NULL (and in a table whose
/// `struct_size` ends before this field): refused, so the PAR endpoint
/// answers `server_error`.
pub type oap_save_pushed_request_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        digest: *const u8,
        client_id: oap_str,
        parameters: oap_str,
        expires_at: u64,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `find_pushed_request(digest)`: the pushed request saved under `digest`
/// (32 bytes): `oap_ctx_set_pushed_request` + `OAP_CB_TRUE`, or
/// `OAP_CB_FALSE` when there is none. An expired one may be handed back:
/// the library checks its client and expiry. Called for every
/// authorization request with `request_uri` (a reload looks it up
/// again). NULL (and in an older table): none, every `request_uri` is
/// refused.
pub type oap_find_pushed_request_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        digest: *const u8,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `consume_pushed_request(digest, client_id)`: remove the pushed request
/// saved under `digest` if it is `client_id`'s, atomically: `OAP_CB_TRUE`
/// when this call removed it, `OAP_CB_FALSE` otherwise (of racing calls,
/// one wins; another client's request is left alone). Called by
/// `oap_server_authorize` (`OAP_CB_FALSE` refuses the response) and
/// `oap_server_deny`. NULL (and in an older table): `OAP_CB_FALSE`.
pub type oap_consume_pushed_request_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        digest: *const u8,
        client_id: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `validate_bearer_token(token, scopes, scopes_len)` (required): check a
/// bearer token presented to a protected resource requiring `scopes`
/// (`scopes_len` strings at `scopes`, a valid pointer even when 0):
/// `oap_ctx_set_token_info` (or `oap_ctx_set_token`: no per-request copy
/// or check of the host's strings and scopes) + `OAP_CB_TRUE`, or
/// `OAP_CB_FALSE` when unknown, revoked or expired. The library itself
/// checks expiry and that every required scope is granted. NULL:
/// server_error.
pub type oap_validate_bearer_token_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        token: oap_str,
        scopes: *const oap_str,
        scopes_len: usize,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `validate_client_id(client_id)`: the client of an authorization
/// request: `oap_ctx_set_client` + `OAP_CB_TRUE`, or `OAP_CB_FALSE` (the
/// error is shown, never redirected). NULL: `find_client`.
pub type oap_validate_client_id_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `validate_code(client_id, code)` (required): look the code up. Valid
/// and unused: `oap_ctx_set_code` + `OAP_CB_TRUE` (with the code's PKCE
/// challenge in `oap_code_info`, the library needs no
/// `get_code_challenge` call); already exchanged:
/// `oap_ctx_set_code_used_pkce` (with the code's PKCE challenge) or
/// `oap_ctx_set_code_used` + `OAP_CB_TRUE`; unknown, expired or another
/// client's: `OAP_CB_FALSE`. NULL: server_error.
pub type oap_validate_code_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        code: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `validate_grant_type(client_id, grant_type)`: whether the client may use
/// the grant. NULL: the client's `grants`.
pub type oap_validate_grant_type_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        grant_type: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `validate_redirect_uri(client_id, redirect_uri)`: whether the client
/// registered `redirect_uri`. NULL: exact match against the client's
/// `redirect_uris`.
pub type oap_validate_redirect_uri_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        redirect_uri: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `validate_refresh_token(refresh_token, client_id)` (required): look the
/// refresh token up. Valid: `oap_ctx_set_refresh_token` + `OAP_CB_TRUE`;
/// replaced by rotation: `oap_ctx_set_refresh_token_rotated` +
/// `OAP_CB_TRUE`; unknown, expired or revoked: `OAP_CB_FALSE`. NULL:
/// server_error.
pub type oap_validate_refresh_token_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        refresh_token: oap_str,
        client_id: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `validate_response_type(client_id, response_type)`: whether the client
/// may use `code` / `token`. NULL: `code` needs the authorization code
/// grant, `token` the implicit grant.
pub type oap_validate_response_type_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        response_type: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `validate_scopes(client_id, scopes)` (required): whether the client may
/// have `scopes` (space-delimited, possibly empty). NULL: server_error.
pub type oap_validate_scopes_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        scopes: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `save_device_authorization(device_code, user_code, authorization)`
/// (device grant, at the device authorization endpoint): keep a new
/// device authorization under `device_code` and `user_code`, the 32-byte
/// SHA-256 digests of its device code and of its normalized user code
/// (neither code reaches the store in clear), until it expires.
/// `OAP_CB_TRUE`: saved. `OAP_CB_FALSE`: nothing saved, because either
/// digest is already stored for a live authorization (the library draws
/// new codes and tries again). `OAP_CB_ERROR`: nothing saved; the request
/// gets `server_error`. NULL (and in a table whose `struct_size` ends
/// before this field): refused, so the device authorization endpoint
/// answers `server_error` and the device grant cannot start.
pub type oap_save_device_authorization_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        device_code: *const u8,
        user_code: *const u8,
        authorization: *const oap_device_authorization,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `find_device_authorization(kind, digest)`: the device authorization
/// saved under `digest` (32 bytes), the digest of its device code
/// (`OAP_DEVICE_CODE_KIND_DEVICE_CODE`, a poll at the token endpoint) or
/// of its user code (`OAP_DEVICE_CODE_KIND_USER_CODE`, the verification
/// page), as last changed: `oap_ctx_set_device_authorization` +
/// `OAP_CB_TRUE`, or `OAP_CB_FALSE` when there is none. An expired one
/// may be handed back: the library checks expiry and client. NULL (and
/// in an older table): none.
pub type oap_find_device_authorization_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        kind: oap_device_code_kind,
        digest: *const u8,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `decide_device_authorization(user_code, status, user_id, scopes)`:
/// record the user's decision on the authorization saved under the user
/// code digest `user_code` (32 bytes), atomically and only if it is still
/// `OAP_DEVICE_PENDING`: `status` `OAP_DEVICE_APPROVED` (with `user_id`,
/// and `scopes`, the approved subset the library checked, to store as the
/// authorization's scopes) or `OAP_DEVICE_DENIED` (`user_id` absent).
/// `OAP_CB_TRUE`: this call changed it; `OAP_CB_FALSE`: it was not pending
/// (decided by a racing call), nothing changed. NULL (and in an older
/// table): `OAP_CB_FALSE`.
pub type oap_decide_device_authorization_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        user_code: *const u8,
        status: oap_device_status,
        user_id: oap_str,
        scopes: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `record_device_poll(device_code, last_poll, slowed_down)`: store a poll
/// of the authorization saved under the device code digest `device_code`
/// (32 bytes): its `last_poll` time, and, if the poll was answered
/// `slow_down` (`slowed_down`), its interval grown by 5 s. The growth is
/// an increment of the stored interval in one step (under the store's
/// lock, or `SET interval = interval + 5`), so that racing polls each add
/// theirs (RFC 8628 §3.5). `OAP_CB_TRUE`: done; anything else is
/// `server_error`. NULL (and in an older table): nothing recorded, so
/// `slow_down` is never answered.
pub type oap_record_device_poll_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        device_code: *const u8,
        last_poll: u64,
        slowed_down: bool,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `record_user_code_attempt(subject, since, count_out)`: record a
/// user code entry entered by `subject` (the user the host authenticated
/// at the verification page) at the request's time (`oap_ctx_now`), and
/// write to `*count_out` how many codes `subject` entered at or
/// after `since`, this one included; `OAP_CB_TRUE`. Anything else is
/// `server_error`; a count left unwritten reads as `UINT32_MAX` (too
/// many: the user is refused). NULL (and in an older table):
/// `server_error`, so the verification page cannot work (it is throttled
/// per subject).
pub type oap_record_user_code_attempt_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        subject: oap_str,
        since: u64,
        count_out: *mut u32,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `user_code_attempts(subject, since, count_out)`: write to
/// `*count_out` how many user code entries `subject` entered at or after
/// `since`; `OAP_CB_TRUE`. Anything else is `server_error`; a count left
/// unwritten reads as `UINT32_MAX`, as above. NULL (and in an older
/// table): `server_error`.
pub type oap_user_code_attempts_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        subject: oap_str,
        since: u64,
        count_out: *mut u32,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `invalidate_device_code(client_id, device_code)`: mark the
/// authorization saved under the device code digest `device_code` (32
/// bytes) `OAP_DEVICE_USED`, atomically and only if it is `client_id`'s
/// and `OAP_DEVICE_APPROVED`: `OAP_CB_TRUE` when this call did, else
/// `OAP_CB_FALSE` (a racing poll got the tokens: the library answers
/// `invalid_grant` and revokes the grant). Used only without
/// `consume_device_code_and_save`, then followed by `save_token`. NULL
/// (and in an older table): `OAP_CB_FALSE`.
pub type oap_invalidate_device_code_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        device_code: *const u8,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `consume_device_code_and_save(client_id, device_code, token)`: in one
/// transaction, mark the authorization saved under the device code digest
/// `device_code` (32 bytes) `OAP_DEVICE_USED` if it is `client_id`'s and
/// `OAP_DEVICE_APPROVED`, and store the tokens (`token.new_grant` is 1:
/// their grant starts here). Answers as `consume_and_save`: `OAP_CB_TRUE`
/// done; `OAP_CB_FALSE` nothing changed because it is no longer approved
/// (a racing poll got the tokens: `invalid_grant`, grant revoked);
/// `OAP_CB_ERROR` nothing changed (`server_error`, the device's next poll
/// may succeed). `oap_ctx_issued_access_token` works here. NULL: the two
/// steps `invalidate_device_code` then `save_token`.
pub type oap_consume_device_code_and_save_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client_id: oap_str,
        device_code: *const u8,
        token: *const oap_issued_token,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;
/// `validate_user(username, password)` (password grant): check the
/// resource owner's credentials: `oap_ctx_set_user` + `OAP_CB_TRUE`, or
/// `OAP_CB_FALSE`. NULL: `OAP_CB_FALSE` (no user ever valid).
pub type oap_validate_user_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        username: oap_str,
        password: oap_str,
        ctx: *mut oap_ctx,
    ) -> oap_cb_result,
>;

/// The host's validator: the methods of oauthlib's `RequestValidator` (same
/// names, meanings and defaults) plus `find_client`, as callbacks.
///
/// Zero-initialise it, set `struct_size = sizeof(oap_validator)`,
/// `user_data`, and the callbacks you implement. `oap_server_new` copies
/// the table. A NULL callback means the default documented on its type;
/// a *required* one (introspect_token, invalidate_authorization_code and
/// invalidate_refresh_token unless consume_and_save is set, revoke_token,
/// revoke_grant, save_authorization_code, save_bearer_token unless
/// save_token is set, validate_bearer_token,
/// validate_code, validate_refresh_token, validate_scopes, and find_client
/// unless every default that uses it is replaced) left NULL makes the
/// request that needs it fail with `server_error` (HTTP 500).
///
/// Every callback gets `user_data` first and an `oap_ctx` last. String
/// arguments are borrowed, valid until the callback returns, not
/// NUL-terminated. Answers: `OAP_CB_TRUE`, `OAP_CB_FALSE`, or
/// `OAP_CB_ERROR`, which the library answers with `server_error` (500);
/// values set through the context are then ignored, and so they are when
/// a setter failed or a required value was not set.
///
/// Thread-safety: callbacks run on the threads calling the `oap_server_*`
/// functions, concurrently when the server is shared. They must be safe to
/// call concurrently with the same `user_data`, must not call back into the
/// same server, and must not unwind (no C++ exceptions, no longjmp) through
/// the library.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct oap_validator {
    /// `sizeof(oap_validator)`. Callbacks added in later versions are
    /// appended; a table from an older header gets their defaults.
    pub struct_size: usize,
    /// Passed as the first argument of every callback.
    pub user_data: *mut c_void,
    /// See `oap_find_client_cb`.
    pub find_client: oap_find_client_cb,
    /// See `oap_authenticate_client_cb`.
    pub authenticate_client: oap_authenticate_client_cb,
    /// See `oap_authenticate_client_id_cb`.
    pub authenticate_client_id: oap_authenticate_client_id_cb,
    /// See `oap_client_authentication_required_cb`.
    pub client_authentication_required: oap_client_authentication_required_cb,
    /// See `oap_confirm_redirect_uri_cb`.
    pub confirm_redirect_uri: oap_confirm_redirect_uri_cb,
    /// See `oap_get_code_challenge_cb`.
    pub get_code_challenge: oap_get_code_challenge_cb,
    /// See `oap_get_code_challenge_method_cb`.
    pub get_code_challenge_method: oap_get_code_challenge_method_cb,
    /// See `oap_get_default_redirect_uri_cb`.
    pub get_default_redirect_uri: oap_get_default_redirect_uri_cb,
    /// See `oap_get_default_scopes_cb`.
    pub get_default_scopes: oap_get_default_scopes_cb,
    /// See `oap_get_original_scopes_cb`.
    pub get_original_scopes: oap_get_original_scopes_cb,
    /// See `oap_introspect_token_cb` (required).
    pub introspect_token: oap_introspect_token_cb,
    /// See `oap_invalidate_authorization_code_cb` (required).
    pub invalidate_authorization_code: oap_invalidate_authorization_code_cb,
    /// See `oap_is_pkce_required_cb`.
    pub is_pkce_required: oap_is_pkce_required_cb,
    /// See `oap_is_within_original_scope_cb`.
    pub is_within_original_scope: oap_is_within_original_scope_cb,
    /// See `oap_revoke_token_cb` (required).
    pub revoke_token: oap_revoke_token_cb,
    /// See `oap_revoke_grant_cb` (required).
    pub revoke_grant: oap_revoke_grant_cb,
    /// See `oap_invalidate_refresh_token_cb` (required).
    pub invalidate_refresh_token: oap_invalidate_refresh_token_cb,
    /// See `oap_rotate_refresh_token_cb`.
    pub rotate_refresh_token: oap_rotate_refresh_token_cb,
    /// See `oap_save_authorization_code_cb` (required).
    pub save_authorization_code: oap_save_authorization_code_cb,
    /// See `oap_save_bearer_token_cb` (required unless `save_token` is set).
    pub save_bearer_token: oap_save_bearer_token_cb,
    /// See `oap_save_token_cb`.
    pub save_token: oap_save_token_cb,
    /// See `oap_validate_bearer_token_cb` (required).
    pub validate_bearer_token: oap_validate_bearer_token_cb,
    /// See `oap_validate_client_id_cb`.
    pub validate_client_id: oap_validate_client_id_cb,
    /// See `oap_validate_code_cb` (required).
    pub validate_code: oap_validate_code_cb,
    /// See `oap_validate_grant_type_cb`.
    pub validate_grant_type: oap_validate_grant_type_cb,
    /// See `oap_validate_redirect_uri_cb`.
    pub validate_redirect_uri: oap_validate_redirect_uri_cb,
    /// See `oap_validate_refresh_token_cb` (required).
    pub validate_refresh_token: oap_validate_refresh_token_cb,
    /// See `oap_validate_response_type_cb`.
    pub validate_response_type: oap_validate_response_type_cb,
    /// See `oap_validate_scopes_cb` (required).
    pub validate_scopes: oap_validate_scopes_cb,
    /// See `oap_validate_user_cb`.
    pub validate_user: oap_validate_user_cb,
    /// See `oap_consume_and_save_cb`. Added after the first version of
    /// this struct.
    pub consume_and_save: oap_consume_and_save_cb,
    /// See `oap_save_pushed_request_cb`. Added after `consume_and_save`.
    pub save_pushed_request: oap_save_pushed_request_cb,
    /// See `oap_find_pushed_request_cb`. Added after `consume_and_save`.
    pub find_pushed_request: oap_find_pushed_request_cb,
    /// See `oap_consume_pushed_request_cb`. Added after `consume_and_save`.
    pub consume_pushed_request: oap_consume_pushed_request_cb,
    /// See `oap_save_device_authorization_cb`. The device callbacks were
    /// added after `consume_pushed_request` (the fourth version).
    pub save_device_authorization: oap_save_device_authorization_cb,
    /// See `oap_find_device_authorization_cb`.
    pub find_device_authorization: oap_find_device_authorization_cb,
    /// See `oap_decide_device_authorization_cb`.
    pub decide_device_authorization: oap_decide_device_authorization_cb,
    /// See `oap_record_device_poll_cb`.
    pub record_device_poll: oap_record_device_poll_cb,
    /// See `oap_record_user_code_attempt_cb`.
    pub record_user_code_attempt: oap_record_user_code_attempt_cb,
    /// See `oap_user_code_attempts_cb`.
    pub user_code_attempts: oap_user_code_attempts_cb,
    /// See `oap_invalidate_device_code_cb`.
    pub invalidate_device_code: oap_invalidate_device_code_cb,
    /// See `oap_consume_device_code_and_save_cb`.
    pub consume_device_code_and_save: oap_consume_device_code_and_save_cb,
}

// SAFETY: #[repr(C)], struct_size first, every field valid when zero (NULL
// user_data, None callbacks); the first version ends before
// `consume_and_save`, the second before `save_pushed_request`, the third
// before `save_device_authorization`.
unsafe impl Versioned for oap_validator {
    const FIRST_VERSION_SIZE: usize = std::mem::offset_of!(oap_validator, consume_and_save);
    const OTHER_VERSION_SIZES: &'static [usize] = &[
        std::mem::offset_of!(oap_validator, save_pushed_request),
        std::mem::offset_of!(oap_validator, save_device_authorization),
    ];
}

impl oap_authorization_code {
    /// The view of `code` passed to `save_authorization_code`.
    pub(crate) fn view(code: &AuthorizationCode, text: &AudienceText) -> Self {
        let challenge = code.code_challenge.as_ref();
        oap_authorization_code {
            code: oap_str::new(&code.code),
            client_id: oap_str::new(&code.client_id),
            redirect_uri: oap_str::new_opt(code.redirect_uri.as_deref()),
            effective_redirect_uri: oap_str::new(&code.effective_redirect_uri),
            user: oap_str::new(&code.user),
            scopes: oap_str::new(code.scopes.as_str()),
            code_challenge: oap_str::new_opt(challenge.map(|c| c.0.as_str())),
            code_challenge_method: pkce_code(challenge.map(|c| c.1)),
            grant_id: oap_str::new(&code.grant_id),
            issued_at: code.issued_at,
            expires_at: code.expires_at,
            audience: oap_str::new(&text.access),
        }
    }
}

impl oap_issued_token {
    /// The view of `token` passed to `save_bearer_token` / `save_token`.
    pub(crate) fn view(token: &IssuedToken, text: &AudienceText) -> Self {
        oap_issued_token {
            access_token: oap_str::new(&token.access_token),
            refresh_token: oap_str::new_opt(token.refresh_token.as_deref()),
            refresh_token_is_new: token.refresh_token_is_new,
            expires_in: token.expires_in,
            scopes: oap_str::new(token.scopes.as_str()),
            refresh_scopes: oap_str::new(token.refresh_token_scopes().as_str()),
            client_id: oap_str::new(&token.client_id),
            user: oap_str::new_opt(token.user.as_deref()),
            grant_id: oap_str::new_opt(token.grant_id.as_deref()),
            issued_at: token.issued_at,
            refresh_expires_at: token.refresh_expires_at.unwrap_or(0),
            new_grant: u8::from(token.new_grant),
            audience: oap_str::new(&text.access),
            refresh_audience: oap_str::new(&text.refresh),
        }
    }
}

impl oap_consumed {
    /// The view of `consumed` passed to `consume_and_save`; `None` for a
    /// device code, which has its own callback.
    pub(crate) fn view(consumed: Consumed<'_>) -> Option<Self> {
        Some(match consumed {
            Consumed::AuthorizationCode { client_id, code } => oap_consumed {
                kind: OAP_CONSUMED_AUTHORIZATION_CODE,
                client_id: oap_str::new(client_id),
                value: oap_str::new(code),
            },
            Consumed::RefreshToken { refresh_token } => oap_consumed {
                kind: OAP_CONSUMED_REFRESH_TOKEN,
                client_id: oap_str::NONE,
                value: oap_str::new(refresh_token),
            },
            // Its own callback (consume_device_code_and_save): the adapter
            // never passes a device code here.
            Consumed::DeviceCode { .. } => return None,
        })
    }
}
