//! `oap_validator`: the host's `RequestValidator` as a table of C callbacks,
//! and [`FfiValidator`], which implements the Rust trait over that table.

use std::convert::Infallible;
use std::ffi::c_void;

use provider::client_auth::{Client, ClientLookup};
use provider::pkce::ChallengeMethod;
use provider::validator::{CodeStatus, RefreshTokenStatus, TokenInfo, TokenType};
use provider::{
    AuthorizationCode, ErrorCode, IssuedToken, OAuthError, OAuthRequest, RequestValidator, Scope,
    ValidatedRefreshToken,
};

use crate::client::FfiClient;
use crate::context::{oap_ctx, Slot, Value};
use crate::enums::{
    cb_answer, oap_cb_result, oap_pkce_method, oap_token_type, pkce_code, token_type_code,
};
use crate::ffi::{map_small, read_versioned, Versioned};
use crate::slice::oap_str;
use crate::status::oap_status;

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
/// `invalidate_authorization_code(client_id, code)` (required): mark the
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
/// `invalidate_refresh_token(refresh_token)` (required): mark it replaced
/// by rotation (from then on `validate_refresh_token` reports it with
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
/// or an unknown one when `new_grant` is 0). The library saves every token through this
/// one; set it and `save_bearer_token` is never called (it may be NULL).
/// NULL: calls `save_bearer_token`.
pub type oap_save_token_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        token: *const oap_issued_token,
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
/// a *required* one (introspect_token, invalidate_authorization_code,
/// revoke_token, revoke_grant, invalidate_refresh_token,
/// save_authorization_code, save_bearer_token unless save_token is set,
/// validate_bearer_token,
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
}

// SAFETY: #[repr(C)], struct_size first, every field valid when zero (NULL
// user_data, None callbacks).
unsafe impl Versioned for oap_validator {
    const FIRST_VERSION_SIZE: usize = std::mem::size_of::<oap_validator>();
}

/// The Rust [`RequestValidator`] over a copied callback table.
pub(crate) struct FfiValidator {
    table: oap_validator,
}

// SAFETY: the table holds plain function pointers and the host's
// user_data. oap_server_new's documented contract makes the host promise
// that every callback may run on any thread, concurrently, with that
// user_data: exactly what Send + Sync let the Rust API do.
unsafe impl Send for FfiValidator {}
// SAFETY: as above.
unsafe impl Sync for FfiValidator {}

/// A callback's answer.
struct Answer {
    yes: bool,
    value: Option<Value>,
}

/// A lookup's result: `OAP_CB_FALSE` is `None`; `OAP_CB_TRUE` must come
/// with a value, or the callback counts as failed.
fn handed_back<T>(
    name: &'static str,
    yes: bool,
    value: Option<T>,
) -> Result<Option<T>, OAuthError> {
    if !yes {
        return Ok(None);
    }
    value.map(Some).ok_or_else(|| failed(name))
}

/// A token-info lookup's answer, settled where the callback left the info
/// (`answer`, returned as is: a token info is large, better not moved):
/// `OAP_CB_FALSE` is `None` (whatever was set), `OAP_CB_TRUE` must have
/// come with an info, or the callback counts as failed.
fn settle(
    name: &'static str,
    yes: Result<bool, OAuthError>,
    answer: &mut Result<Option<TokenInfo>, OAuthError>,
) {
    match yes {
        Ok(true) if matches!(answer, Ok(None)) => *answer = Err(failed(name)),
        Ok(true) => {}
        Ok(false) => *answer = Ok(None),
        Err(e) => *answer = Err(e),
    }
}

/// A callback's raw answer: `OAP_CB_TRUE` or `OAP_CB_FALSE`, unless a
/// setter failed; anything else is a failure.
#[inline]
fn verdict(name: &'static str, raw: u32, setter_failed: bool) -> Result<bool, OAuthError> {
    match cb_answer(raw) {
        Some(yes) if !setter_failed => Ok(yes),
        _ => Err(failed(name)),
    }
}

#[cold]
fn failed(name: &'static str) -> OAuthError {
    OAuthError::server_error(format!("the validator's {name} callback failed"))
}

/// `save_bearer_token` / `save_token` answering `OAP_CB_FALSE`: the
/// token's grant was revoked meanwhile (see `oap_revoke_grant_cb`).
fn grant_revoked() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidGrant,
        "the grant was revoked, or ended, while this request was served",
    )
}

fn not_set(name: &'static str) -> OAuthError {
    OAuthError::server_error(format!("the validator has no {name} callback"))
}

impl FfiValidator {
    /// Copies a callback table.
    ///
    /// # Safety
    /// `table` is NULL or points to an `oap_validator` prefix of
    /// `struct_size` bytes.
    pub(crate) unsafe fn new(table: *const oap_validator) -> Result<Self, oap_status> {
        // SAFETY: per our contract.
        let table = unsafe { read_versioned(table) }?;
        Ok(FfiValidator { table })
    }

    /// Runs one callback with a fresh context and maps its answer.
    fn call<'r>(
        &self,
        name: &'static str,
        request: Option<&'r OAuthRequest<'r>>,
        slot: Slot,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<Answer, OAuthError> {
        self.call_in(name, &mut oap_ctx::new(request, slot), f)
    }

    /// Runs one callback with the context `ctx` and maps its answer.
    fn call_in<'r>(
        &self,
        name: &'static str,
        ctx: &mut oap_ctx<'r>,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<Answer, OAuthError> {
        let raw = f(self.table.user_data, ctx);
        let yes = verdict(name, raw, ctx.failed)?;
        Ok(Answer {
            yes,
            value: if yes { ctx.value.take() } else { None },
        })
    }

    /// A yes/no callback.
    fn ask<'r>(
        &self,
        name: &'static str,
        request: &'r OAuthRequest<'r>,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<bool, OAuthError> {
        self.call(name, Some(request), Slot::Nothing, f)
            .map(|a| a.yes)
    }

    /// A "done" callback: anything but `OAP_CB_TRUE` is a failure.
    fn done<'r>(
        &self,
        name: &'static str,
        request: &'r OAuthRequest<'r>,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<(), OAuthError> {
        if self.ask(name, request, f)? {
            Ok(())
        } else {
            Err(failed(name))
        }
    }

    /// A lookup: `OAP_CB_FALSE` is `None`; `OAP_CB_TRUE` must come with a
    /// value `pick` accepts, or the callback counts as failed.
    fn lookup<'r, T>(
        &self,
        name: &'static str,
        request: Option<&'r OAuthRequest<'r>>,
        slot: Slot,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
        pick: impl FnOnce(Value) -> Option<T>,
    ) -> Result<Option<T>, OAuthError> {
        let answer = self.call(name, request, slot, f)?;
        handed_back(name, answer.yes, answer.value.and_then(pick))
    }

    /// A client lookup; the client must carry the identifier asked for.
    fn client<'r>(
        &self,
        name: &'static str,
        client_id: Option<&str>,
        request: Option<&'r OAuthRequest<'r>>,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<Option<FfiClient>, OAuthError> {
        let pick = |v| match v {
            Value::Client(c) if client_id.is_none_or(|id| id == c.client_id()) => Some(c),
            _ => None,
        };
        self.lookup(name, request, Slot::Client, f, pick)
    }

    fn scopes<'r>(
        &self,
        name: &'static str,
        request: &'r OAuthRequest<'r>,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<Option<Scope>, OAuthError> {
        let pick = |v| match v {
            Value::Scopes(s) => Some(s),
            _ => None,
        };
        self.lookup(name, Some(request), Slot::Scopes, f, pick)
    }

    fn text<'r>(
        &self,
        name: &'static str,
        request: &'r OAuthRequest<'r>,
        slot: Slot,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<Option<String>, OAuthError> {
        let pick = |v| match v {
            Value::Text(s) => Some(s),
            _ => None,
        };
        self.lookup(name, Some(request), slot, f, pick)
    }

    /// A token-info callback: whether it answered `OAP_CB_TRUE`, the info
    /// it handed back left in `out`. Not through `call`: the info goes
    /// straight to the caller's slot, no `Value` (nor an allocation)
    /// carries it.
    fn token_info<'r>(
        &self,
        name: &'static str,
        request: &'r OAuthRequest<'r>,
        out: &'r mut Option<TokenInfo>,
        f: impl FnOnce(*mut c_void, *mut oap_ctx<'r>) -> u32,
    ) -> Result<bool, OAuthError> {
        let mut ctx = oap_ctx::new(Some(request), Slot::TokenInfo);
        ctx.token_info = Some(out);
        let raw = f(self.table.user_data, &mut ctx);
        verdict(name, raw, ctx.failed)
    }
}

/// The seed's defaults. `Defaults` implements only the trait's required
/// methods (delegating to the callback table), so calling any other method
/// on it runs the Rust trait's default body: a NULL callback gets exactly
/// the Rust API's behaviour, with no protocol logic copied here.
struct Defaults<'v>(&'v FfiValidator);

impl ClientLookup for Defaults<'_> {
    type Client = FfiClient;

    fn find_client(&self, client_id: &str) -> Result<Option<FfiClient>, OAuthError> {
        self.0.find_client(client_id)
    }
}

impl RequestValidator for Defaults<'_> {
    fn introspect_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        self.0.introspect_token(token, hint, request)
    }
    fn invalidate_authorization_code(
        &self,
        client_id: &str,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        self.0
            .invalidate_authorization_code(client_id, code, request)
    }
    fn revoke_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        self.0.revoke_token(token, hint, request)
    }
    fn revoke_grant(&self, grant_id: &str, request: &OAuthRequest<'_>) -> Result<(), OAuthError> {
        self.0.revoke_grant(grant_id, request)
    }
    fn invalidate_refresh_token(
        &self,
        refresh_token: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        self.0.invalidate_refresh_token(refresh_token, request)
    }
    fn save_authorization_code(
        &self,
        client_id: &str,
        code: &AuthorizationCode,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        self.0.save_authorization_code(client_id, code, request)
    }
    fn save_bearer_token(
        &self,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        self.0.save_bearer_token(token, request)
    }
    fn validate_bearer_token(
        &self,
        token: &str,
        scopes: &[&str],
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        self.0.validate_bearer_token(token, scopes, request)
    }
    fn validate_code(
        &self,
        client_id: &str,
        code: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<CodeStatus, OAuthError> {
        self.0.validate_code(client_id, code, client, request)
    }
    fn validate_refresh_token(
        &self,
        refresh_token: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<RefreshTokenStatus, OAuthError> {
        self.0
            .validate_refresh_token(refresh_token, client, request)
    }
    fn validate_scopes(
        &self,
        client_id: &str,
        scopes: &Scope,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        self.0.validate_scopes(client_id, scopes, client, request)
    }
}

// Every callback invocation below runs an `unsafe extern "C" fn` from the
// host's table. SAFETY (shared by each `unsafe` block that calls one, as
// each says): the host promised, in oap_server_new's contract, that each
// non-NULL callback is a valid function of the declared type, safe to call
// from this thread concurrently with others, and that it uses its borrowed
// arguments and ctx only until it returns; every argument we pass lives
// until then.

impl ClientLookup for FfiValidator {
    type Client = FfiClient;

    fn find_client(&self, client_id: &str) -> Result<Option<FfiClient>, OAuthError> {
        let Some(cb) = self.table.find_client else {
            return Err(not_set("find_client"));
        };
        self.client("find_client", Some(client_id), None, |ud, ctx| {
            // SAFETY: a host callback; see the comment above this impl.
            unsafe { cb(ud, oap_str::new(client_id), ctx) }
        })
    }
}

impl RequestValidator for FfiValidator {
    fn authenticate_client(
        &self,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<FfiClient>, OAuthError> {
        let Some(cb) = self.table.authenticate_client else {
            return Defaults(self).authenticate_client(request);
        };
        self.client("authenticate_client", None, Some(request), |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, ctx) }
        })
    }

    fn authenticate_client_id(
        &self,
        client_id: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<FfiClient>, OAuthError> {
        let Some(cb) = self.table.authenticate_client_id else {
            return Defaults(self).authenticate_client_id(client_id, request);
        };
        self.client(
            "authenticate_client_id",
            Some(client_id),
            Some(request),
            |ud, ctx| {
                // SAFETY: a host callback; see the comment above the ClientLookup impl.
                unsafe { cb(ud, oap_str::new(client_id), ctx) }
            },
        )
    }

    fn client_authentication_required(
        &self,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.client_authentication_required else {
            return Defaults(self).client_authentication_required(request);
        };
        self.ask("client_authentication_required", request, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, ctx) }
        })
    }

    fn confirm_redirect_uri(
        &self,
        client_id: &str,
        code: &str,
        redirect_uri: Option<&str>,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.confirm_redirect_uri else {
            return Defaults(self).confirm_redirect_uri(
                client_id,
                code,
                redirect_uri,
                client,
                request,
            );
        };
        self.ask("confirm_redirect_uri", request, |ud, ctx| {
            let (id, code, uri) = (
                oap_str::new(client_id),
                oap_str::new(code),
                oap_str::new_opt(redirect_uri),
            );
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, id, code, uri, ctx) }
        })
    }

    fn get_code_challenge(
        &self,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        let Some(cb) = self.table.get_code_challenge else {
            return Defaults(self).get_code_challenge(code, request);
        };
        self.text(
            "get_code_challenge",
            request,
            Slot::CodeChallenge,
            |ud, ctx| {
                // SAFETY: a host callback; see the comment above the ClientLookup impl.
                unsafe { cb(ud, oap_str::new(code), ctx) }
            },
        )
    }

    fn get_code_challenge_method(
        &self,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<ChallengeMethod>, OAuthError> {
        let Some(cb) = self.table.get_code_challenge_method else {
            return Defaults(self).get_code_challenge_method(code, request);
        };
        let pick = |v| match v {
            Value::Method(m) => Some(m),
            _ => None,
        };
        let f = |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, oap_str::new(code), ctx) }
        };
        self.lookup(
            "get_code_challenge_method",
            Some(request),
            Slot::CodeChallengeMethod,
            f,
            pick,
        )
    }

    fn get_default_redirect_uri(
        &self,
        client_id: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        let Some(cb) = self.table.get_default_redirect_uri else {
            return Defaults(self).get_default_redirect_uri(client_id, client, request);
        };
        self.text(
            "get_default_redirect_uri",
            request,
            Slot::RedirectUri,
            |ud, ctx| {
                // SAFETY: a host callback; see the comment above the ClientLookup impl.
                unsafe { cb(ud, oap_str::new(client_id), ctx) }
            },
        )
    }

    fn get_default_scopes(
        &self,
        client_id: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<Scope, OAuthError> {
        let Some(cb) = self.table.get_default_scopes else {
            return Defaults(self).get_default_scopes(client_id, client, request);
        };
        let scopes = self.scopes("get_default_scopes", request, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, oap_str::new(client_id), ctx) }
        })?;
        Ok(scopes.unwrap_or_default())
    }

    fn get_original_scopes(
        &self,
        refresh_token: &str,
        original: &ValidatedRefreshToken,
        request: &OAuthRequest<'_>,
    ) -> Result<Scope, OAuthError> {
        let Some(cb) = self.table.get_original_scopes else {
            return Defaults(self).get_original_scopes(refresh_token, original, request);
        };
        let scopes = self.scopes("get_original_scopes", request, |ud, ctx| {
            let (token, scopes) = (
                oap_str::new(refresh_token),
                oap_str::new(original.scopes.as_str()),
            );
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, token, scopes, ctx) }
        })?;
        Ok(scopes.unwrap_or_else(|| original.scopes.clone()))
    }

    fn introspect_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        let Some(cb) = self.table.introspect_token else {
            return Err(not_set("introspect_token"));
        };
        let mut answer = Ok(None);
        let Ok(slot) = &mut answer else {
            unreachable!()
        };
        let yes = self.token_info("introspect_token", request, slot, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, oap_str::new(token), token_type_code(hint), ctx) }
        });
        settle("introspect_token", yes, &mut answer);
        answer
    }

    fn invalidate_authorization_code(
        &self,
        client_id: &str,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.invalidate_authorization_code else {
            return Err(not_set("invalidate_authorization_code"));
        };
        self.ask("invalidate_authorization_code", request, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, oap_str::new(client_id), oap_str::new(code), ctx) }
        })
    }

    fn is_pkce_required(
        &self,
        client_id: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.is_pkce_required else {
            return Defaults(self).is_pkce_required(client_id, client, request);
        };
        self.ask("is_pkce_required", request, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, oap_str::new(client_id), ctx) }
        })
    }

    fn is_within_original_scope(
        &self,
        requested: &Scope,
        refresh_token: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.is_within_original_scope else {
            return Defaults(self).is_within_original_scope(requested, refresh_token, request);
        };
        self.ask("is_within_original_scope", request, |ud, ctx| {
            let (scopes, token) = (
                oap_str::new(requested.as_str()),
                oap_str::new(refresh_token),
            );
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, scopes, token, ctx) }
        })
    }

    fn revoke_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let Some(cb) = self.table.revoke_token else {
            return Err(not_set("revoke_token"));
        };
        self.done("revoke_token", request, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, oap_str::new(token), token_type_code(hint), ctx) }
        })
    }

    fn revoke_grant(&self, grant_id: &str, request: &OAuthRequest<'_>) -> Result<(), OAuthError> {
        let Some(cb) = self.table.revoke_grant else {
            return Err(not_set("revoke_grant"));
        };
        self.done("revoke_grant", request, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, oap_str::new(grant_id), ctx) }
        })
    }

    fn invalidate_refresh_token(
        &self,
        refresh_token: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.invalidate_refresh_token else {
            return Err(not_set("invalidate_refresh_token"));
        };
        self.ask("invalidate_refresh_token", request, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, oap_str::new(refresh_token), ctx) }
        })
    }

    fn rotate_refresh_token(&self, request: &OAuthRequest<'_>) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.rotate_refresh_token else {
            return Defaults(self).rotate_refresh_token(request);
        };
        self.ask("rotate_refresh_token", request, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, ctx) }
        })
    }

    fn save_authorization_code(
        &self,
        client_id: &str,
        code: &AuthorizationCode,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let Some(cb) = self.table.save_authorization_code else {
            return Err(not_set("save_authorization_code"));
        };
        let challenge = code.code_challenge.as_ref();
        let view = oap_authorization_code {
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
        };
        self.done("save_authorization_code", request, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, oap_str::new(client_id), &view, ctx) }
        })
    }

    fn save_bearer_token(
        &self,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let Some(cb) = self.table.save_bearer_token else {
            return Err(not_set("save_bearer_token"));
        };
        let view = issued_view(token);
        let mut ctx = oap_ctx::new(Some(request), Slot::Nothing);
        ctx.issued = Some(token);
        let saved = self.call_in("save_bearer_token", &mut ctx, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, &view, ctx) }
        })?;
        saved.yes.then_some(()).ok_or_else(grant_revoked)
    }

    fn save_token(
        &self,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let Some(cb) = self.table.save_token else {
            return Defaults(self).save_token(token, request);
        };
        let view = issued_view(token);
        let mut ctx = oap_ctx::new(Some(request), Slot::Nothing);
        ctx.issued = Some(token);
        let saved = self.call_in("save_token", &mut ctx, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, &view, ctx) }
        })?;
        saved.yes.then_some(()).ok_or_else(grant_revoked)
    }

    fn validate_bearer_token(
        &self,
        token: &str,
        scopes: &[&str],
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        let Some(cb) = self.table.validate_bearer_token else {
            return Err(not_set("validate_bearer_token"));
        };
        // map_small's slice never dangles, even when empty: C gets a real
        // address. The token info goes straight to `info`, not through
        // map_small's result.
        let to_view = |s: &&str| Ok::<_, Infallible>(oap_str::new(s));
        let mut answer = Ok(None);
        let Ok(slot) = &mut answer else {
            unreachable!()
        };
        let Ok(yes) = map_small(scopes, to_view, |views| {
            self.token_info("validate_bearer_token", request, slot, |ud, ctx| {
                // SAFETY: a host callback; see the comment above the ClientLookup impl.
                unsafe { cb(ud, oap_str::new(token), views.as_ptr(), views.len(), ctx) }
            })
        });
        settle("validate_bearer_token", yes, &mut answer);
        answer
    }

    fn validate_client_id(
        &self,
        client_id: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<FfiClient>, OAuthError> {
        let Some(cb) = self.table.validate_client_id else {
            return Defaults(self).validate_client_id(client_id, request);
        };
        self.client(
            "validate_client_id",
            Some(client_id),
            Some(request),
            |ud, ctx| {
                // SAFETY: a host callback; see the comment above the ClientLookup impl.
                unsafe { cb(ud, oap_str::new(client_id), ctx) }
            },
        )
    }

    fn validate_code(
        &self,
        client_id: &str,
        code: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<CodeStatus, OAuthError> {
        let _ = client;
        let Some(cb) = self.table.validate_code else {
            return Err(not_set("validate_code"));
        };
        let pick = |v| match v {
            Value::Code(c) => Some(*c),
            _ => None,
        };
        let f = |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, oap_str::new(client_id), oap_str::new(code), ctx) }
        };
        let status = self.lookup("validate_code", Some(request), Slot::Code, f, pick)?;
        Ok(status.unwrap_or(CodeStatus::Invalid))
    }

    fn validate_grant_type(
        &self,
        client_id: &str,
        grant_type: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.validate_grant_type else {
            return Defaults(self).validate_grant_type(client_id, grant_type, client, request);
        };
        self.ask("validate_grant_type", request, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, oap_str::new(client_id), oap_str::new(grant_type), ctx) }
        })
    }

    fn validate_redirect_uri(
        &self,
        client_id: &str,
        redirect_uri: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.validate_redirect_uri else {
            return Defaults(self).validate_redirect_uri(client_id, redirect_uri, client, request);
        };
        self.ask("validate_redirect_uri", request, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, oap_str::new(client_id), oap_str::new(redirect_uri), ctx) }
        })
    }

    fn validate_refresh_token(
        &self,
        refresh_token: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<RefreshTokenStatus, OAuthError> {
        let Some(cb) = self.table.validate_refresh_token else {
            return Err(not_set("validate_refresh_token"));
        };
        let pick = |v| match v {
            Value::Refresh(r) => Some(*r),
            _ => None,
        };
        let f = |ud, ctx| {
            let (token, id) = (
                oap_str::new(refresh_token),
                oap_str::new(client.client_id()),
            );
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, token, id, ctx) }
        };
        let status = self.lookup(
            "validate_refresh_token",
            Some(request),
            Slot::RefreshToken,
            f,
            pick,
        )?;
        Ok(status.unwrap_or(RefreshTokenStatus::Invalid))
    }

    fn validate_response_type(
        &self,
        client_id: &str,
        response_type: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let Some(cb) = self.table.validate_response_type else {
            return Defaults(self).validate_response_type(
                client_id,
                response_type,
                client,
                request,
            );
        };
        self.ask("validate_response_type", request, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe {
                cb(
                    ud,
                    oap_str::new(client_id),
                    oap_str::new(response_type),
                    ctx,
                )
            }
        })
    }

    fn validate_scopes(
        &self,
        client_id: &str,
        scopes: &Scope,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let _ = client;
        let Some(cb) = self.table.validate_scopes else {
            return Err(not_set("validate_scopes"));
        };
        self.ask("validate_scopes", request, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe {
                cb(
                    ud,
                    oap_str::new(client_id),
                    oap_str::new(scopes.as_str()),
                    ctx,
                )
            }
        })
    }

    fn validate_user(
        &self,
        username: &str,
        password: &str,
        client: &FfiClient,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        let Some(cb) = self.table.validate_user else {
            return Defaults(self).validate_user(username, password, client, request);
        };
        self.text("validate_user", request, Slot::User, |ud, ctx| {
            // SAFETY: a host callback; see the comment above the ClientLookup impl.
            unsafe { cb(ud, oap_str::new(username), oap_str::new(password), ctx) }
        })
    }
}

fn issued_view(token: &IssuedToken) -> oap_issued_token {
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
    }
}
