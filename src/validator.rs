//! [`RequestValidator`]: the host's side of the protocol, one method per
//! question the grants ask, after oauthlib's `RequestValidator`.
//!
//! The host looks data up and stores it; the library makes the
//! security decisions (secret and PKCE comparison, exact redirect URI
//! matching, single-use codes, refresh-token rotation and reuse detection,
//! expiry). Where oauthlib's methods set attributes on `request`
//! (`request.user`, `request.scopes`, `request.client`…), these return the
//! values as typed results.
//!
//! Every method returns `Result<_, OAuthError>`: `Err` means the validator
//! itself failed (storage unreachable…) and is answered as that error —
//! usually [`OAuthError::server_error`] — never as a plain "no".
//!
//! Methods are called concurrently from every thread serving requests.
//!
//! # The storage contract
//!
//! Each request reads the server's clock once: [`OAuthRequest::now`]. A
//! store makes every expiry decision against it, never against its own
//! clock, and a purge run with the server's clock
//! ([`Server::now`](crate::Server::now)) agrees with both.
//!
//! The client is looked up once per request, by
//! [`find_client`](ClientLookup::find_client) inside whichever of
//! [`authenticate_client`](RequestValidator::authenticate_client),
//! [`authenticate_client_id`](RequestValidator::authenticate_client_id)
//! or [`validate_client_id`](RequestValidator::validate_client_id) runs,
//! and the record is handed to every later call.
//!
//! The calls of each flow, in order. A call that ends the flow with an
//! error is the last; the hooks in *italics* are asked only in the case
//! named. Reads need no more isolation than `READ COMMITTED`: every
//! decision that must hold against concurrent requests is made again in a
//! write step. **Writes** are marked; each must be atomic on its own.
//!
//! The authorization code, refresh token, client credentials and device
//! code token requests make all their calls, authentication included,
//! inside [`token_request`](RequestValidator::token_request), where a
//! store may open one transaction for the whole request.
//!
//! **Token request, every grant but client credentials** (authentication):
//!
//! | # | call | notes |
//! |---|------|-------|
//! | 1 | `client_authentication_required` | default: credentials presented |
//! | 2 | `authenticate_client` or `authenticate_client_id` | one `find_client`; a client with a secret always goes through `authenticate_client` |
//! | 3 | `validate_grant_type` | `unauthorized_client` if false |
//!
//! **Client credentials**: `authenticate_client` (confidential clients
//! only), `validate_grant_type`, *`get_default_scopes`* (no `scope`
//! sent), `validate_scopes`, then **`save_token`** (the default calls
//! `save_bearer_token`).
//!
//! **Password**: authentication, `validate_user`, *`get_default_scopes`*,
//! `validate_scopes`, `validate_grant_type("refresh_token")` (whether to
//! issue a refresh token), then **`save_token`**: a new grant
//! ([`IssuedToken::new_grant`]) when a refresh token starts one.
//!
//! **Authorization endpoint** (code and implicit): `validate_client_id`,
//! `validate_redirect_uri` or *`get_default_redirect_uri`* (no
//! `redirect_uri` sent), `validate_response_type`, *`get_default_scopes`*,
//! `validate_scopes`, `is_pkce_required`. On the user's approval (the
//! validated request carries the client along, so no lookup):
//! **`save_authorization_code`** (code; the code starts its grant) or
//! **`save_token`** (implicit).
//!
//! **Authorization code, token request**:
//!
//! | # | call | notes |
//! |---|------|-------|
//! | 1–3 | authentication | as above |
//! | 4 | `validate_code` | [`CodeStatus::Used`]: *`get_code_challenge(_method)`* (no challenge handed back) to check the replay's proof, then **`revoke_grant`** if proven; `invalid_grant` |
//! | 5 | *`get_code_challenge`*, *`get_code_challenge_method`* | only when [`ValidatedCode::code_challenge`] is `None` |
//! | 6 | *`is_pkce_required`* | confidential client, code without a challenge |
//! | 7 | *`get_default_redirect_uri`* | `redirect_uri` sent, none bound to the code |
//! | 8 | `confirm_redirect_uri` | |
//! | 9 | `validate_grant_type("refresh_token")` | whether to issue a refresh token |
//! | 10 | **`consume_and_save`** | [`Consumed::AuthorizationCode`]; `false`: **`revoke_grant`**, `invalid_grant` |
//!
//! **Refresh token**:
//!
//! | # | call | notes |
//! |---|------|-------|
//! | 1–3 | authentication | as above |
//! | 4 | `validate_refresh_token` | [`RefreshTokenStatus::Rotated`]: **`revoke_grant`**, `invalid_grant` |
//! | 5 | `get_original_scopes`, *`is_within_original_scope`* | the latter when the asked scope is no subset |
//! | 6 | `validate_scopes` | the new access token's scope; again with the original scope when rotating and narrower |
//! | 7 | *`rotate_refresh_token`* | confidential clients; public ones always rotate |
//! | 8 | `validate_grant_type("refresh_token")` | whether to issue a new refresh token |
//! | 9 | **`consume_and_save`** (rotating) or **`save_token`** | [`Consumed::RefreshToken`]; `false`: **`revoke_grant`**, `invalid_grant` |
//!
//! **Revocation**: authentication, `introspect_token` (whose token is
//! it?), **`revoke_token`**. **Introspection**: `authenticate_client`,
//! `introspect_token`. **Resource**: `validate_bearer_token`.
//!
//! **Resource indicators** (RFC 8707) need no hook: every `resource` a
//! request names is checked against [`Client::allows_resource`] (after
//! the scopes, at the authorization endpoint and for every grant at the
//! token endpoint), and the audience travels in the records a store
//! keeps: [`AuthorizationCode::audience`] back as
//! [`ValidatedCode::audience`], [`IssuedToken::audience`] back as
//! [`TokenInfo::aud`], [`IssuedToken::refresh_token_audience`] back as
//! [`ValidatedRefreshToken::audience`]. The library narrows; the store
//! keeps what it is handed.
//!
//! **Pushed authorization request** (RFC 9126): authentication as at the
//! token endpoint, the authorization endpoint's checks, then
//! **`save_pushed_request`**. At the authorization endpoint, a
//! `request_uri` is looked up with `find_pushed_request` (the library
//! checks its client and expiry) and its parameters validated as above;
//! the authorization response (approve or deny) spends it with
//! **`consume_pushed_request`**. Request URIs reach the store only as
//! SHA-256 digests.
//!
//! **Device authorization grant** (RFC 8628). Device codes and user codes
//! reach the store only as SHA-256 digests (of the normalized user code).
//!
//! | # | call | notes |
//! |---|------|-------|
//! | | *device authorization endpoint* (§3.1) | |
//! | 1–3 | authentication, `validate_grant_type(URN)` | as at the token endpoint |
//! | 4 | *`get_default_scopes`*, `validate_scopes` | then every `resource` against [`Client::allows_resource`] |
//! | 5 | **`save_device_authorization`** | [`token_collision`]: new codes, up to three times |
//! | | *verification page* (§3.3, [`Server::device_verification`](crate::Server::device_verification), [`Server::device_decision`](crate::Server::device_decision)) | |
//! | 1 | `user_code_attempts` | at the limit: `temporarily_unavailable`, nothing recorded or looked up |
//! | 2 | **`record_user_code_attempt`** | over the limit (a racing entry): `temporarily_unavailable`, nothing looked up |
//! | 3 | `find_device_authorization(UserCode)` | malformed, unknown, expired or decided: `invalid_grant` |
//! | 4 | **`decide_device_authorization`** | decision only; `false`: `invalid_grant` |
//! | | *token endpoint* (§3.4–3.5, every call inside `token_request`) | |
//! | 1–3 | authentication, `validate_grant_type(URN)` | |
//! | 4 | `find_device_authorization(DeviceCode)` | another client's: `invalid_grant`; expired: `expired_token` |
//! | 5 | ***`record_device_poll`*** | pending: `slow_down` (stored interval + 5, atomically) or `authorization_pending`; denied: `access_denied` |
//! | 6 | *`revoke_grant`* | used: a replay, `invalid_grant` |
//! | 7 | `validate_grant_type("refresh_token")` | whether to issue a refresh token |
//! | 8 | **`consume_and_save`** | [`Consumed::DeviceCode`], a new grant; `false`: **`revoke_grant`**, `invalid_grant` |
//!
//! What each write must do atomically:
//!
//! - **`consume_and_save`**: check the credential is unspent, spend it,
//!   and save the new tokens, as one transaction: a failed save leaves
//!   the credential usable, a lost race saves nothing. A SQL store claims
//!   the row with a conditional `UPDATE … WHERE` unspent and reads the
//!   row count: the update's row lock serializes racing requests under
//!   `READ COMMITTED` (PostgreSQL), and SQLite's `BEGIN IMMEDIATE`
//!   serializes writers. The default, for stores without transactions,
//!   spends first and saves second: race-safe, but a failed save leaves
//!   the credential spent.
//! - **`save_bearer_token`**: refuse, saving nothing, a token of a
//!   revoked or ended grant ([`grant_ended`]) and a token value already
//!   stored ([`token_collision`]). The grant check and the insert are one
//!   transaction, or a revocation between them would let a token of a
//!   revoked grant live.
//! - **`revoke_grant`**: mark the grant revoked (so later saves for it
//!   fail) and remove or revoke its tokens, in one transaction.
//! - **`save_authorization_code`**: insert the code and its grant.
//! - **`consume_pushed_request`**: remove (or mark used) the pushed
//!   request of that digest *and client*, and say whether this call did:
//!   of two racing authorization responses, one wins.
//! - **`save_device_authorization`**: refuse, saving nothing, a device
//!   or user code digest of a live authorization ([`token_collision`]).
//! - **`decide_device_authorization`**: change only a pending one, and say
//!   whether this call did: of two racing decisions, one wins.
//! - **`consume_and_save`** of a [`Consumed::DeviceCode`]: turn the
//!   approved authorization of that client into used and save the tokens,
//!   as for a code; of two racing polls, one gets tokens.
//! - **`record_user_code_attempt`**: add and count in one step, so racing
//!   guesses are all counted.
//! - **`record_device_poll`**: grow the stored interval by incrementing
//!   it (`SET interval = interval + 5`), not by writing back a value read
//!   before, so racing `slow_down`s each add their 5 s.

use std::fmt;
use std::sync::Arc;

use crate::audience::Audience;
use crate::client_auth::{self, Client, ClientAuthenticator, ClientLookup};
use crate::device::{DeviceAuthorization, DeviceCodeKey, DeviceStatus};
use crate::error::{ErrorCode, OAuthError};
use crate::form::Param;
use crate::grant_type::Grant;
use crate::header::BASIC_BUFFER_LEN;
use crate::pkce::ChallengeMethod;
use crate::request::OAuthRequest;
use crate::scope::Scope;
use crate::token::BearerToken;

/// An authorization code to persist (RFC 6749 §4.1.2), bound to everything
/// the token request will be checked against.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// The code itself.
    pub code: String,
    /// The client it was issued to.
    pub client_id: Arc<str>,
    /// The `redirect_uri` sent in the authorization request, if one was
    /// sent; the token request must then repeat it exactly (§4.1.3).
    pub redirect_uri: Option<String>,
    /// The redirect URI the response went to (sent or defaulted).
    pub effective_redirect_uri: String,
    /// The resource owner who approved it.
    pub user: Arc<str>,
    /// The approved scopes.
    pub scopes: Scope,
    /// The resources the authorization request named (RFC 8707): the
    /// grant's audience, empty when it named none.
    pub audience: Audience,
    /// The PKCE challenge and method, if the request carried one.
    pub code_challenge: Option<(String, ChallengeMethod)>,
    /// The grant (token family) this code starts: every token issued from
    /// it carries this identifier, so all can be revoked together.
    pub grant_id: Arc<str>,
    /// Issue time, seconds since the Unix epoch.
    pub issued_at: u64,
    /// Expiry time, seconds since the Unix epoch.
    pub expires_at: u64,
}

impl fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationCode")
            .field("code", &"***")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("user", &self.user)
            .field("scopes", &self.scopes)
            .field("audience", &self.audience)
            .field(
                "code_challenge_method",
                &self.code_challenge.as_ref().map(|c| c.1),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What [`RequestValidator::validate_code`] found stored with a code: the
/// values oauthlib's `validate_code` sets on `request`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatedCode {
    /// The client the code was issued to.
    pub client_id: Arc<str>,
    /// The resource owner.
    pub user: Arc<str>,
    /// The approved scopes.
    pub scopes: Scope,
    /// The `redirect_uri` sent in the authorization request, if any.
    pub redirect_uri: Option<String>,
    /// The grant's audience saved with the code (RFC 8707): what the token
    /// request may narrow, never widen.
    pub audience: Audience,
    /// The grant (token family) identifier saved with the code.
    pub grant_id: Arc<str>,
    /// Expiry, seconds since the Unix epoch; the library rejects expired codes.
    pub expires_at: u64,
    /// The PKCE challenge and method saved with the code, as oauthlib's
    /// `validate_code` sets `request.code_challenge` and
    /// `request.code_challenge_method`: the library checks the verifier
    /// against it. `None` leaves the question to
    /// [`get_code_challenge`](RequestValidator::get_code_challenge) and
    /// [`get_code_challenge_method`](RequestValidator::get_code_challenge_method),
    /// for a host that keeps challenges apart; answering here saves those
    /// two lookups.
    pub code_challenge: Option<(Arc<str>, ChallengeMethod)>,
}

/// The state of an authorization code presented at the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeStatus {
    /// Unknown, expired or issued to another client.
    Invalid,
    /// Already exchanged by the client it was issued to: a replay. The
    /// library revokes the grant's tokens (RFC 6749 §4.1.2, RFC 9700
    /// §4.2.1) when the replaying request proves it comes from that client:
    /// a confidential client that authenticated, or a public client that
    /// presents the verifier of the code's PKCE challenge. A code travels
    /// in URLs; whoever merely saw it gets `invalid_grant` and revokes
    /// nothing.
    Used {
        /// The grant the code started.
        grant_id: Arc<str>,
        /// The code's PKCE challenge and method, as in
        /// [`ValidatedCode::code_challenge`]: what a public client's
        /// verifier is checked against before its replay revokes anything.
        /// `None` leaves it to
        /// [`get_code_challenge`](RequestValidator::get_code_challenge) and
        /// [`get_code_challenge_method`](RequestValidator::get_code_challenge_method).
        code_challenge: Option<(Arc<str>, ChallengeMethod)>,
    },
    /// Valid and unused.
    Valid(ValidatedCode),
}

/// What [`RequestValidator::validate_refresh_token`] found stored with a
/// refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatedRefreshToken {
    /// The client it was issued to.
    pub client_id: Arc<str>,
    /// The resource owner, if any.
    pub user: Option<Arc<str>>,
    /// The scopes of the original grant.
    pub scopes: Scope,
    /// The audience stored with the refresh token (RFC 8707): what a
    /// refresh may narrow, never widen. Empty: none.
    pub audience: Audience,
    /// The grant (token family) identifier.
    pub grant_id: Arc<str>,
    /// Expiry, seconds since the Unix epoch, if it expires.
    pub expires_at: Option<u64>,
}

/// The state of a refresh token presented at the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshTokenStatus {
    /// Unknown, expired or revoked.
    Invalid,
    /// Already replaced by rotation: presenting it again means it leaked.
    /// The library revokes the whole grant (RFC 9700 §4.14.2).
    Rotated {
        /// The grant the token belonged to.
        grant_id: Arc<str>,
    },
    /// Valid.
    Active(ValidatedRefreshToken),
}

/// The kind of a token, as in RFC 7009 / RFC 7662 `token_type_hint`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// An access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
}

impl TokenType {
    /// The hint's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenType::AccessToken => "access_token",
            TokenType::RefreshToken => "refresh_token",
        }
    }

    /// Parses a `token_type_hint`; unknown hints are ignored (`None`), as
    /// RFC 7009 §2.1 has the server search every type anyway.
    pub fn from_hint(hint: &str) -> Option<Self> {
        match hint {
            "access_token" => Some(TokenType::AccessToken),
            "refresh_token" => Some(TokenType::RefreshToken),
            _ => None,
        }
    }
}

/// Tokens to persist after a grant succeeded: what oauthlib passes to
/// `save_bearer_token` together with `request.user`, `request.scopes` and
/// `request.client`.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The access token.
    pub access_token: String,
    /// The refresh token, if one was issued. When a refresh is not rotated,
    /// this is the presented refresh token, already stored.
    pub refresh_token: Option<String>,
    /// Whether `refresh_token` is new and must be stored.
    pub refresh_token_is_new: bool,
    /// Access token lifetime in seconds.
    pub expires_in: u64,
    /// The granted scopes (of the access token).
    pub scopes: Scope,
    /// The scopes to store with a new refresh token when they differ from
    /// `scopes`: a refresh request that narrowed the access token's scope
    /// leaves the new refresh token with the presented one's (RFC 6749 §6).
    /// `None` means the same as `scopes`;
    /// [`refresh_token_scopes`](Self::refresh_token_scopes) resolves it.
    pub refresh_scopes: Option<Scope>,
    /// The access token's audience (RFC 8707): the resources asked for,
    /// or the grant's when a token request named none. Empty: none.
    pub audience: Audience,
    /// The audience to store with a new refresh token when it differs
    /// from `audience`: a refresh or code exchange that narrowed the
    /// access token's leaves the refresh token with the grant's. `None`
    /// means the same as `audience`;
    /// [`refresh_token_audience`](Self::refresh_token_audience) resolves it.
    pub refresh_audience: Option<Audience>,
    /// The client the tokens were issued to.
    pub client_id: Arc<str>,
    /// The resource owner, absent for client credentials.
    pub user: Option<Arc<str>>,
    /// The grant (token family) identifier. Always set when a refresh token
    /// is issued; `None` for a lone access token that starts no family
    /// (client credentials, and the implicit or password grant without a
    /// refresh token): revoking its grant is revoking the token itself.
    pub grant_id: Option<Arc<str>>,
    /// Whether `grant_id` names a grant that starts with these tokens (a
    /// password grant's first refresh token). Otherwise the tokens
    /// continue a grant the store already knows (from a code or a refresh
    /// token), which may have been revoked, or have ended, while this
    /// request was served: the save must then be refused.
    pub new_grant: bool,
    /// Issue time, seconds since the Unix epoch.
    pub issued_at: u64,
    /// The new refresh token's expiry, seconds since the Unix epoch
    /// (`issued_at` plus the server's refresh token lifetime); `None` when
    /// no new refresh token is issued.
    pub refresh_expires_at: Option<u64>,
}

impl IssuedToken {
    /// What the issued access token grants, as a store hands it back from
    /// [`validate_bearer_token`](RequestValidator::validate_bearer_token)
    /// and [`introspect_token`](RequestValidator::introspect_token): its
    /// client, user, scopes, audience, grant, issue time and expiry
    /// (`issued_at + expires_in`). No issuer: the server's stands in.
    pub fn access_token_info(&self) -> TokenInfo {
        TokenInfo {
            token_type: Some(TokenType::AccessToken),
            client_id: Arc::clone(&self.client_id),
            username: self.user.clone(),
            sub: self.user.clone(),
            scopes: self.scopes.clone(),
            exp: Some(self.issued_at.saturating_add(self.expires_in)),
            iat: Some(self.issued_at),
            aud: self.audience.as_slice().to_vec(),
            iss: None,
            grant_id: self.grant_id.clone(),
        }
    }

    /// The scopes to store with a new refresh token: `refresh_scopes` if
    /// set, else `scopes`.
    pub fn refresh_token_scopes(&self) -> &Scope {
        self.refresh_scopes.as_ref().unwrap_or(&self.scopes)
    }

    /// The audience to store with a new refresh token:
    /// `refresh_audience` if set, else `audience`.
    pub fn refresh_token_audience(&self) -> &Audience {
        self.refresh_audience.as_ref().unwrap_or(&self.audience)
    }
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("access_token", &"***")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("expires_in", &self.expires_in)
            .field("scopes", &self.scopes)
            .field("refresh_scopes", &self.refresh_scopes)
            .field("audience", &self.audience)
            .field("refresh_audience", &self.refresh_audience)
            .field("client_id", &self.client_id)
            .field("user", &self.user)
            .field("grant_id", &self.grant_id)
            .finish()
    }
}

/// What the host knows about a token: the claims of RFC 7662 §2.2, and
/// what [`RequestValidator::validate_bearer_token`] hands back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenInfo {
    /// Access or refresh token.
    pub token_type: Option<TokenType>,
    /// The client the token was issued to.
    pub client_id: Arc<str>,
    /// Human-readable resource owner identifier.
    pub username: Option<Arc<str>>,
    /// Subject: the resource owner's identifier.
    pub sub: Option<Arc<str>>,
    /// The granted scopes.
    pub scopes: Scope,
    /// Expiry, seconds since the Unix epoch. The library treats a token
    /// past it as inactive whatever the host says.
    pub exp: Option<u64>,
    /// Issue time, seconds since the Unix epoch.
    pub iat: Option<u64>,
    /// Intended audiences: the resources (RFC 8707) the token is for;
    /// empty when it has no audience restriction. Introspection answers
    /// them as `aud`; a bearer check for a
    /// [`ProtectedResource`](crate::ProtectedResource) requires its
    /// identifier among them.
    pub aud: Vec<String>,
    /// Issuer; the server's configured issuer is used when absent.
    pub iss: Option<String>,
    /// The grant (token family) identifier.
    pub grant_id: Option<Arc<str>>,
}

/// The answer of a save refused because the token's grant was revoked, or
/// ended, while the request was served (RFC 9700 §4.14.2: no token of a
/// revoked grant may become active): `invalid_grant`. Every store answers
/// it the same way; see
/// [`save_bearer_token`](RequestValidator::save_bearer_token).
pub fn grant_ended() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidGrant,
        "the grant was revoked, or ended, while this request was served",
    )
}

/// The answer of a save refused because a token it would store is already
/// stored: a store never replaces a stored token with another record, as
/// that would hand the earlier holder's token to a new grant. Random
/// 256-bit tokens never collide, so this is a broken generator or a
/// broken store, answered as `server_error`, and the request may be
/// retried. See [`save_bearer_token`](RequestValidator::save_bearer_token).
pub fn token_collision() -> OAuthError {
    OAuthError::server_error("a token of this value is already stored")
}

/// The answer of a store that failed (its database down, a statement
/// refused, a row it cannot read): `server_error`, with a fixed
/// description. What failed is for the host's log, not for the client.
/// Every store answers it the same way: the SQLite and PostgreSQL stores
/// hand their error to their `on_error` hook, then answer this.
pub fn store_failed() -> OAuthError {
    OAuthError::server_error("the token store failed")
}

/// The credential a token request spends: what
/// [`RequestValidator::consume_and_save`] uses up in the same step that
/// saves the tokens replacing it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Consumed<'a> {
    /// An authorization code (single use, RFC 6749 §4.1.2), as presented
    /// by the client it must have been issued to.
    AuthorizationCode {
        /// The authenticated client.
        client_id: &'a str,
        /// The code.
        code: &'a str,
    },
    /// A refresh token replaced by rotation (RFC 9700 §4.14.2).
    RefreshToken {
        /// The presented refresh token.
        refresh_token: &'a str,
    },
    /// An approved device authorization (RFC 8628 §3.5), polled for by
    /// the client it was issued to: it becomes [`DeviceStatus::Used`].
    DeviceCode {
        /// The authenticated client.
        client_id: &'a str,
        /// The SHA-256 digest of the device code.
        device_code: &'a [u8; 32],
    },
}

impl fmt::Debug for Consumed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Consumed::AuthorizationCode { client_id, .. } => f
                .debug_struct("AuthorizationCode")
                .field("client_id", client_id)
                .field("code", &"***")
                .finish(),
            Consumed::RefreshToken { .. } => f
                .debug_struct("RefreshToken")
                .field("refresh_token", &"***")
                .finish(),
            Consumed::DeviceCode { client_id, .. } => f
                .debug_struct("DeviceCode")
                .field("client_id", client_id)
                .field("device_code", &"***")
                .finish(),
        }
    }
}

/// A pushed authorization request (RFC 9126 §2) to keep until it is used
/// or expires. The store keys it by the SHA-256 digest of its
/// `request_uri`, never the URI itself.
#[derive(Clone, PartialEq, Eq)]
pub struct PushedRequest {
    /// The client that pushed it, the only one that may use it (§4).
    pub client_id: String,
    /// The authorization request's parameters, form-encoded, without the
    /// client's credentials.
    pub parameters: String,
    /// When it expires, seconds since the Unix epoch.
    pub expires_at: u64,
}

impl fmt::Debug for PushedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The parameters carry the PKCE challenge and state: not for logs.
        f.debug_struct("PushedRequest")
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The host's side of the protocol: the methods of oauthlib's
/// `RequestValidator`, with the same names, meanings and defaults, and the
/// few additions that let the library own rotation and replay detection
/// ([`find_client`](ClientLookup::find_client),
/// [`revoke_grant`](Self::revoke_grant),
/// [`invalidate_refresh_token`](Self::invalidate_refresh_token)).
///
/// Each method's documentation says when it is called, which grants use
/// it, what it must do, and its default. A ready, thread-safe in-memory
/// implementation lives in [`crate::memory`].
pub trait RequestValidator: ClientLookup + Send + Sync {
    /// Authenticates a client by means outside OAuth proper (HTTP Basic or
    /// `client_secret` in the body) and returns it, or `None` for
    /// `invalid_client`.
    ///
    /// Called by the token endpoint when
    /// [`client_authentication_required`](Self::client_authentication_required)
    /// is true, and by revocation and introspection. Used by: authorization
    /// code, password, client credentials, refresh token.
    ///
    /// Default: [`ClientAuthenticator::by_identifier_secret`] over
    /// [`ClientLookup::find_client`] — constant-time, one method per request.
    fn authenticate_client(
        &self,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<Self::Client>, OAuthError> {
        defaults::authenticate_client(self, request)
    }

    /// Identifies a public (non-confidential) client by `client_id` alone.
    ///
    /// Called by the token endpoint when client authentication is not
    /// required. Used by: authorization code, password, refresh token.
    ///
    /// Default: the client if it exists and is public; `None` otherwise, so
    /// a confidential client can never skip its secret. Whatever an
    /// implementation returns, a client that has a secret or is
    /// confidential is accepted only if
    /// [`authenticate_client`](Self::authenticate_client) also accepts the
    /// request as that client; otherwise it is `invalid_client`.
    fn authenticate_client_id(
        &self,
        client_id: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<Self::Client>, OAuthError> {
        defaults::authenticate_client_id(self, client_id, request)
    }

    /// Whether the token request must carry client authentication.
    ///
    /// RFC 6749 §4.1.3, §4.3.2, §6: yes for confidential clients and
    /// whenever the client presents credentials. Used by: authorization
    /// code, password, refresh token (client credentials always requires it).
    ///
    /// Default: true when the request presents client credentials (an
    /// `Authorization` header or a `client_secret`), without a lookup: the
    /// client is looked up once, by whichever of
    /// [`authenticate_client`](Self::authenticate_client) and
    /// [`authenticate_client_id`](Self::authenticate_client_id) runs. A
    /// `false` cannot let a client with a secret in by `client_id` alone:
    /// the library then still has it authenticated
    /// ([`authenticate_client`](Self::authenticate_client)), or answers
    /// `invalid_client`.
    fn client_authentication_required(
        &self,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        defaults::client_authentication_required(self, request)
    }

    /// Confirms the code's authorization began with this `redirect_uri`.
    ///
    /// The library already compares the token request's `redirect_uri`
    /// with the one saved with the code, by exact string match (RFC 6749
    /// §4.1.3); this hook may add host checks. Used by: authorization code
    /// (token request). Default: true.
    fn confirm_redirect_uri(
        &self,
        client_id: &str,
        code: &str,
        redirect_uri: Option<&str>,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        defaults::confirm_redirect_uri(self, client_id, code, redirect_uri, client, request)
    }

    /// The PKCE `code_challenge` saved with `code`, or `None` if the code
    /// was issued without one. Called for every authorization code token
    /// request whose [`ValidatedCode::code_challenge`] is `None`. Default:
    /// `None`.
    fn get_code_challenge(
        &self,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        defaults::get_code_challenge(self, code, request)
    }

    /// The `code_challenge_method` saved with `code`. Called when
    /// [`get_code_challenge`](Self::get_code_challenge) returned a
    /// challenge. Default: `None`, read as `plain` (RFC 7636 §4.3) when the
    /// server allows `plain`, and as `S256` (the only method it accepts)
    /// when it does not.
    fn get_code_challenge_method(
        &self,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<ChallengeMethod>, OAuthError> {
        defaults::get_code_challenge_method(self, code, request)
    }

    /// The redirect URI to use when the authorization request omits
    /// `redirect_uri`. Used by: authorization code, implicit.
    ///
    /// Default: the client's only registered URI; `None` (the request is
    /// refused, never redirected) when it has none or several.
    fn get_default_redirect_uri(
        &self,
        client_id: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        defaults::get_default_redirect_uri(self, client_id, client, request)
    }

    /// The scopes granted when a request names none. Used by:
    /// authorization code, implicit, password, client credentials.
    /// Default: [`Client::default_scope`] (the empty scope unless the
    /// record names some).
    fn get_default_scopes(
        &self,
        client_id: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<Scope, OAuthError> {
        defaults::get_default_scopes(self, client_id, client, request)
    }

    /// The scopes of the grant a refresh token belongs to. Used by: refresh
    /// token. Default: the scopes [`validate_refresh_token`](Self::validate_refresh_token) returned.
    fn get_original_scopes(
        &self,
        refresh_token: &str,
        original: &ValidatedRefreshToken,
        request: &OAuthRequest<'_>,
    ) -> Result<Scope, OAuthError> {
        defaults::get_original_scopes(self, refresh_token, original, request)
    }

    /// Looks up an access or refresh token for introspection (RFC 7662) and
    /// revocation (RFC 7009, to check which client owns it). `hint` may
    /// speed the search but the lookup must fall back to every type.
    /// Returns `None` for unknown tokens. The library reports tokens past
    /// `exp` as inactive. Used by: introspection and revocation endpoints.
    fn introspect_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError>;

    /// Invalidates an authorization code after use, keeping a record of it
    /// so a replay is reported as [`CodeStatus::Used`].
    ///
    /// Returns whether *this* call consumed the code: `false` means a
    /// concurrent request already did, and the library answers
    /// `invalid_grant` (single use, even under races). Used by:
    /// authorization code.
    fn invalidate_authorization_code(
        &self,
        client_id: &str,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError>;

    /// Whether this request must use PKCE. Asked for both authorization and
    /// token requests. Public clients must use PKCE whatever this says.
    /// Used by: authorization code. Default: [`Client::requires_pkce`]
    /// (false unless the record says).
    fn is_pkce_required(
        &self,
        client_id: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        defaults::is_pkce_required(self, client_id, client, request)
    }

    /// Whether `requested` lies within the refresh token's grant, asked only
    /// when it is not a subset of [`get_original_scopes`](Self::get_original_scopes)
    /// (for hosts whose scope sets are not practical to list). Used by:
    /// refresh token. Default: false.
    fn is_within_original_scope(
        &self,
        requested: &Scope,
        refresh_token: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        defaults::is_within_original_scope(self, requested, refresh_token, request)
    }

    /// Revokes an access or refresh token (RFC 7009). The library has
    /// checked it belongs to the requesting client. Revoking a refresh
    /// token should revoke the access tokens of its grant (RFC 7009 §2.1).
    /// Used by: revocation endpoint.
    fn revoke_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError>;

    /// Revokes every token of a grant (token family): called when an
    /// authorization code is replayed or a rotated refresh token is reused.
    ///
    /// The revocation is of the grant, not only of the tokens stored so
    /// far: a concurrent request may have passed its checks for this grant
    /// and be about to save what it issues. Such a later
    /// [`save_bearer_token`](Self::save_bearer_token) for `grant_id` must
    /// fail (e.g. with `invalid_grant`), so that no token of a revoked grant
    /// ever becomes active (RFC 9700 §4.14.2).
    fn revoke_grant(&self, grant_id: &str, request: &OAuthRequest<'_>) -> Result<(), OAuthError>;

    /// Marks a refresh token as replaced by rotation: it must stop working,
    /// and [`validate_refresh_token`](Self::validate_refresh_token) must
    /// from then on report it as [`RefreshTokenStatus::Rotated`].
    ///
    /// Returns whether *this* call rotated it: `false` means a concurrent
    /// refresh already did, and the library treats it as reuse.
    fn invalidate_refresh_token(
        &self,
        refresh_token: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError>;

    /// Whether to issue a new refresh token on refresh (and retire the old
    /// one). Asked for confidential clients only: a public client's refresh
    /// tokens are always rotated (RFC 9700 §4.14.2). Used by: refresh
    /// token. Default: true.
    fn rotate_refresh_token(&self, request: &OAuthRequest<'_>) -> Result<bool, OAuthError> {
        defaults::rotate_refresh_token(self, request)
    }

    /// Persists an authorization code with its client, redirect URI, user,
    /// scopes, PKCE challenge and grant id. Used by: authorization code.
    fn save_authorization_code(
        &self,
        client_id: &str,
        code: &AuthorizationCode,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError>;

    /// Persists a pushed authorization request (RFC 9126 §2.2) under
    /// `digest`, the SHA-256 digest of its `request_uri`. Called by the PAR
    /// endpoint once the client is authenticated and the request validated;
    /// its success is the `201`. Must refuse (an error, nothing saved) a
    /// digest already stored.
    ///
    /// Default: `server_error`, saving nothing: a store that keeps no
    /// pushed requests has no PAR endpoint.
    fn save_pushed_request(
        &self,
        digest: &[u8; 32],
        pushed: &PushedRequest,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        defaults::save_pushed_request(self, digest, pushed, request)
    }

    /// The pushed request saved under `digest`, if any, as saved: the
    /// library checks its client and its expiry against
    /// [`OAuthRequest::now`], so a store may hand back an expired one.
    /// Called by the authorization endpoint for a request with
    /// `request_uri`, every time it is presented (a reload of the consent
    /// page looks it up again; only the response spends it).
    ///
    /// Default: `None`, so every `request_uri` is refused.
    fn find_pushed_request(
        &self,
        digest: &[u8; 32],
        request: &OAuthRequest<'_>,
    ) -> Result<Option<PushedRequest>, OAuthError> {
        defaults::find_pushed_request(self, digest, request)
    }

    /// Spends the pushed request saved under `digest` for `client_id`:
    /// removes it (or marks it used) and returns whether *this* call did.
    /// Atomic: of two racing calls one gets `true`, and a request of
    /// another client is neither spent nor reported spent. Called by
    /// [`Server::authorize`](crate::Server::authorize) (before the code or
    /// token is issued: `false` refuses the response) and
    /// [`Server::deny`](crate::Server::deny), one-time use (RFC 9126 §4).
    ///
    /// Default: `false`.
    fn consume_pushed_request(
        &self,
        digest: &[u8; 32],
        client_id: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        defaults::consume_pushed_request(self, digest, client_id, request)
    }

    /// Saves a new device authorization (RFC 8628 §3.2) under the SHA-256
    /// digests of its device code and of its normalized user code (the
    /// codes themselves never reach the store). Called by the device
    /// authorization endpoint; its success is the `200`.
    ///
    /// Must refuse with [`token_collision`], saving nothing, when either
    /// digest is already stored for an authorization that has not
    /// expired (against [`OAuthRequest::now`]): the library then draws
    /// new codes (up to three times). An expired one under the same
    /// digest may be replaced.
    ///
    /// Default: `server_error` ("this store keeps no device
    /// authorizations"), saving nothing: a store without them has no
    /// device grant.
    fn save_device_authorization(
        &self,
        device_code: &[u8; 32],
        user_code: &[u8; 32],
        authorization: &DeviceAuthorization,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        defaults::save_device_authorization(self, device_code, user_code, authorization, request)
    }

    /// The device authorization saved under `key`'s digest, as saved: the
    /// library checks its expiry against [`OAuthRequest::now`] and its
    /// client, so a store may hand back an expired one. Called by the
    /// token endpoint (by device code, every poll) and by
    /// [`Server::device_verification`](crate::Server::device_verification)
    /// and [`Server::device_decision`](crate::Server::device_decision) (by
    /// user code).
    ///
    /// Default: `None`, so every code is unknown.
    fn find_device_authorization(
        &self,
        key: DeviceCodeKey<'_>,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<DeviceAuthorization>, OAuthError> {
        defaults::find_device_authorization(self, key, request)
    }

    /// Records the user's decision on the *pending* device authorization
    /// saved under the user code digest `user_code`: `status` is
    /// [`DeviceStatus::Approved`] (then `scopes`, a subset of those asked
    /// that the library checked, replaces
    /// [`DeviceAuthorization::scopes`]) or [`DeviceStatus::Denied`]
    /// (`scopes` is then to be ignored).
    ///
    /// Atomic: only a [`DeviceStatus::Pending`] authorization changes, and
    /// the answer is whether *this* call changed it: of two racing
    /// decisions one wins, and the other is refused (`invalid_grant`).
    ///
    /// Default: `false`, nothing decided.
    fn decide_device_authorization(
        &self,
        user_code: &[u8; 32],
        status: &DeviceStatus,
        scopes: &Scope,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        defaults::decide_device_authorization(self, user_code, status, scopes, request)
    }

    /// Records a poll of the device authorization saved under the device
    /// code digest `device_code`: its `last_poll`, and, when the poll was
    /// answered `slow_down` (`slowed_down`), its stored interval grown by
    /// [`SLOW_DOWN_STEP`](crate::device::SLOW_DOWN_STEP).
    ///
    /// The growth is an atomic increment of the stored interval (as
    /// `SET interval = interval + 5`), not a value read and written back:
    /// the client adds 5 s for each `slow_down` it was answered (RFC 8628
    /// §3.5, "for this and all subsequent requests"), so the store's
    /// interval must grow by 5 s for each one too, racing polls included.
    /// A read-modify-write loses all but one of racing growths, and a
    /// client polling from several threads then polls faster than it was
    /// told.
    ///
    /// Default: nothing recorded, so polling is never slowed down.
    fn record_device_poll(
        &self,
        device_code: &[u8; 32],
        last_poll: u64,
        slowed_down: bool,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        defaults::record_device_poll(self, device_code, last_poll, slowed_down, request)
    }

    /// Records a user code entered by `subject` (the authenticated user at
    /// the verification page) at [`OAuthRequest::now`], and returns how
    /// many codes `subject` entered at or after `since`, this one
    /// included: the throttle against guessing (RFC 8628 §5.1). Atomic:
    /// of racing entries, each sees a different count, so that no more
    /// than the limit are ever looked up together.
    ///
    /// Called before the code is looked up, so every entry counts, right
    /// or wrong: a guess is only known wrong after the lookup, and
    /// counting only then would let racing guesses all pass the limit.
    ///
    /// Default: `server_error`: a store that cannot count guesses must
    /// not let anyone guess.
    fn record_user_code_attempt(
        &self,
        subject: &str,
        since: u64,
        request: &OAuthRequest<'_>,
    ) -> Result<u32, OAuthError> {
        defaults::record_user_code_attempt(self, subject, since, request)
    }

    /// How many user codes `subject` entered at or after `since`. Asked
    /// first: at the limit, the entry is refused without being recorded
    /// (a user refused for a while does not fill the store).
    ///
    /// Default: `server_error`, as for
    /// [`record_user_code_attempt`](Self::record_user_code_attempt).
    fn user_code_attempts(
        &self,
        subject: &str,
        since: u64,
        request: &OAuthRequest<'_>,
    ) -> Result<u32, OAuthError> {
        defaults::user_code_attempts(self, subject, since, request)
    }

    /// Marks the *approved* device authorization under the device code
    /// digest `device_code`, of `client_id`, as [`DeviceStatus::Used`],
    /// and returns whether *this* call did: `false` when it is not
    /// approved any more (a racing poll took it) or belongs to another
    /// client. Only the default
    /// [`consume_and_save`](Self::consume_and_save) calls it.
    ///
    /// Default: `false`.
    fn invalidate_device_code(
        &self,
        client_id: &str,
        device_code: &[u8; 32],
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        defaults::invalidate_device_code(self, client_id, device_code, request)
    }

    /// Persists a bearer token: access token, refresh token if new, client,
    /// user, scopes, expiry, grant id. Used by every grant that issues tokens.
    ///
    /// Must save nothing and return [`grant_ended`] when the token's grant
    /// was revoked meanwhile (see [`revoke_grant`](Self::revoke_grant)),
    /// or is no longer known and the token does not start it
    /// ([`IssuedToken::new_grant`]); the error is the token response, and
    /// the tokens are never handed out. Must save nothing and return
    /// [`token_collision`] when the access token, or a new refresh token,
    /// is already stored: a save never replaces another token's record.
    /// Either way, nothing is half-written.
    fn save_bearer_token(
        &self,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError>;

    /// Spends `consumed` and saves `token`, the tokens that replace it, as
    /// one step: the heart of the authorization code and the rotating
    /// refresh token grants.
    ///
    /// - `Ok(true)`: this call spent the code (marked used, so that
    ///   [`validate_code`](Self::validate_code) reports it
    ///   [`CodeStatus::Used`]) or the refresh token (marked rotated, so
    ///   that [`validate_refresh_token`](Self::validate_refresh_token)
    ///   reports it [`RefreshTokenStatus::Rotated`]), and saved `token` as
    ///   [`save_bearer_token`](Self::save_bearer_token) would.
    /// - `Ok(false)`: a concurrent request spent it first (the code is
    ///   used or unknown, the refresh token no longer active); nothing is
    ///   saved. The library treats it as the replay or reuse it is:
    ///   [`revoke_grant`](Self::revoke_grant), then `invalid_grant`.
    /// - `Err`: nothing may have changed. The code or refresh token stays
    ///   usable, so the client's retry of a request that failed on a
    ///   storage error succeeds instead of being taken for an attack.
    ///   [`grant_ended`] and [`token_collision`] are such errors.
    ///
    /// A store with transactions does all of it in one; in SQL terms, a
    /// transaction that first claims the credential with a conditional
    /// `UPDATE … WHERE used = 0` (or `state = 'active'`) and reads the
    /// row count, then checks the grant and inserts the tokens. The
    /// conditional update takes the row's write lock, so `READ COMMITTED`
    /// is enough in PostgreSQL; SQLite's `BEGIN IMMEDIATE` serializes
    /// writers.
    ///
    /// Default: [`defaults::consume_and_save`], the two steps of a store
    /// without transactions:
    /// [`invalidate_authorization_code`](Self::invalidate_authorization_code)
    /// or [`invalidate_refresh_token`](Self::invalidate_refresh_token),
    /// then [`save_token`](Self::save_token). Racing requests stay safe
    /// (one wins the invalidation), but a failed save leaves the
    /// credential spent and the retry is refused as a replay.
    fn consume_and_save(
        &self,
        consumed: Consumed<'_>,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        defaults::consume_and_save(self, consumed, token, request)
    }

    /// Persists a token with its type's method. Only bearer tokens exist,
    /// so the default calls [`save_bearer_token`](Self::save_bearer_token).
    fn save_token(
        &self,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        defaults::save_token(self, token, request)
    }

    /// Runs one token request of the authorization code, refresh token,
    /// client credentials or device code grant: `run` makes every call of
    /// that request's flow (the tables above, authentication included)
    /// and returns its answer, which this method returns.
    ///
    /// A store with transactions may run `run` inside one write
    /// transaction, so that the request's lookups and its write cost one
    /// transaction instead of three, or, for a device's poll while its
    /// user has not decided, its lookup and the record of the poll one
    /// instead of two (SQLite's `BEGIN IMMEDIATE` and its locks are most
    /// of what such a request costs). Each write method
    /// called within must then stay atomic on its own (a savepoint): a
    /// failed [`consume_and_save`](Self::consume_and_save) changes
    /// nothing, while a [`revoke_grant`](Self::revoke_grant) after a
    /// replay stays done although the request answers `invalid_grant`.
    /// Commit whatever `run` answers, an error too (a pending poll
    /// answers `authorization_pending` or `slow_down` after recording the
    /// poll, which must stay); if the commit fails, answer that failure
    /// (`server_error`) instead: the tokens `run` returned were not saved,
    /// and the code, refresh token or device code it spent is usable
    /// again.
    /// Password grants do not come here (hashing a password under a
    /// write lock would stall every other request).
    ///
    /// Default: `run()`, each method its own step.
    fn token_request(
        &self,
        request: &OAuthRequest<'_>,
        run: &mut dyn FnMut() -> Result<BearerToken, OAuthError>,
    ) -> Result<BearerToken, OAuthError> {
        let _ = request;
        run()
    }

    /// Checks a bearer token presented to a protected resource and returns
    /// what it grants, or `None` when it is unknown, revoked or expired.
    /// `scopes` are the ones the resource requires; the library checks
    /// that the token carries all of them, its expiry, and that it is not a
    /// refresh token (a `token_type` of refresh is refused). Used indirectly
    /// by every grant that issues bearer tokens.
    fn validate_bearer_token(
        &self,
        token: &str,
        scopes: &[&str],
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError>;

    /// Finds a valid, active client for the authorization endpoint, or
    /// `None` (the error is shown, never redirected). Used by:
    /// authorization code, implicit. Default: [`ClientLookup::find_client`].
    fn validate_client_id(
        &self,
        client_id: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<Self::Client>, OAuthError> {
        defaults::validate_client_id(self, client_id, request)
    }

    /// Checks a code at the token endpoint and returns what was saved with
    /// it (user, scopes, redirect URI, grant id), or reports it invalid or
    /// already used. Used by: authorization code.
    fn validate_code(
        &self,
        client_id: &str,
        code: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<CodeStatus, OAuthError>;

    /// Whether the client may use `grant_type`. Used by: authorization
    /// code, password, client credentials, refresh token. Default:
    /// [`Client::allows_grant_type`].
    fn validate_grant_type(
        &self,
        client_id: &str,
        grant_type: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        defaults::validate_grant_type(self, client_id, grant_type, client, request)
    }

    /// Whether the client registered `redirect_uri`. Used by: authorization
    /// code, implicit. Default: exact string match against
    /// [`Client::redirect_uris`] (RFC 9700 §2.1), any port allowed on a
    /// loopback redirect (RFC 8252 §7.3); see
    /// [`redirect_uri_matches`](crate::redirect_uri::redirect_uri_matches).
    fn validate_redirect_uri(
        &self,
        client_id: &str,
        redirect_uri: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        defaults::validate_redirect_uri(self, client_id, redirect_uri, client, request)
    }

    /// Checks a refresh token and returns what it grants, or reports it
    /// invalid or already rotated. Used by: refresh token.
    fn validate_refresh_token(
        &self,
        refresh_token: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<RefreshTokenStatus, OAuthError>;

    /// Whether the client may use `response_type` (`code`, `token`). Used
    /// by: authorization code, implicit. Default: `code` needs the
    /// `authorization_code` grant, `token` the `implicit` grant
    /// ([`Client::allows_grant_type`]).
    fn validate_response_type(
        &self,
        client_id: &str,
        response_type: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        defaults::validate_response_type(self, client_id, response_type, client, request)
    }

    /// Whether the client may have `scopes`. Used by: authorization code,
    /// implicit, password, client credentials, and refresh token (every
    /// refresh asks again, so a client that has lost a scope since the
    /// grant gets no new token carrying it). Default: `scopes` lie within
    /// [`Client::allowed_scopes`] (none unless the record names some).
    fn validate_scopes(
        &self,
        client_id: &str,
        scopes: &Scope,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        defaults::validate_scopes(self, client_id, scopes, client, request)
    }

    /// Checks a resource owner's username and password and returns the
    /// user's identifier, or `None`. Used by: password grant.
    fn validate_user(
        &self,
        username: &str,
        password: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        defaults::validate_user(self, username, password, client, request)
    }
}

/// A validator shared by reference count: a server owns one `Arc` and
/// the host keeps another, to register clients or purge while the server
/// serves. Every method forwards to the shared validator, the defaulted
/// ones too, so its overrides hold.
impl<V: ClientLookup + ?Sized> ClientLookup for Arc<V> {
    type Client = V::Client;

    fn find_client(&self, client_id: &str) -> Result<Option<Self::Client>, OAuthError> {
        (**self).find_client(client_id)
    }
}

// A method left out would silently take the trait's default instead of
// the shared validator's override: the lint makes leaving one out an error.
#[deny(clippy::missing_trait_methods)]
impl<V: RequestValidator + ?Sized> RequestValidator for Arc<V> {
    fn authenticate_client(
        &self,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<Self::Client>, OAuthError> {
        (**self).authenticate_client(request)
    }

    fn authenticate_client_id(
        &self,
        client_id: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<Self::Client>, OAuthError> {
        (**self).authenticate_client_id(client_id, request)
    }

    fn client_authentication_required(
        &self,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        (**self).client_authentication_required(request)
    }

    fn confirm_redirect_uri(
        &self,
        client_id: &str,
        code: &str,
        redirect_uri: Option<&str>,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        (**self).confirm_redirect_uri(client_id, code, redirect_uri, client, request)
    }

    fn get_code_challenge(
        &self,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        (**self).get_code_challenge(code, request)
    }

    fn get_code_challenge_method(
        &self,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<ChallengeMethod>, OAuthError> {
        (**self).get_code_challenge_method(code, request)
    }

    fn get_default_redirect_uri(
        &self,
        client_id: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        (**self).get_default_redirect_uri(client_id, client, request)
    }

    fn get_default_scopes(
        &self,
        client_id: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<Scope, OAuthError> {
        (**self).get_default_scopes(client_id, client, request)
    }

    fn get_original_scopes(
        &self,
        refresh_token: &str,
        original: &ValidatedRefreshToken,
        request: &OAuthRequest<'_>,
    ) -> Result<Scope, OAuthError> {
        (**self).get_original_scopes(refresh_token, original, request)
    }

    fn introspect_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        (**self).introspect_token(token, hint, request)
    }

    fn invalidate_authorization_code(
        &self,
        client_id: &str,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        (**self).invalidate_authorization_code(client_id, code, request)
    }

    fn is_pkce_required(
        &self,
        client_id: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        (**self).is_pkce_required(client_id, client, request)
    }

    fn is_within_original_scope(
        &self,
        requested: &Scope,
        refresh_token: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        (**self).is_within_original_scope(requested, refresh_token, request)
    }

    fn revoke_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        (**self).revoke_token(token, hint, request)
    }

    fn revoke_grant(&self, grant_id: &str, request: &OAuthRequest<'_>) -> Result<(), OAuthError> {
        (**self).revoke_grant(grant_id, request)
    }

    fn invalidate_refresh_token(
        &self,
        refresh_token: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        (**self).invalidate_refresh_token(refresh_token, request)
    }

    fn rotate_refresh_token(&self, request: &OAuthRequest<'_>) -> Result<bool, OAuthError> {
        (**self).rotate_refresh_token(request)
    }

    fn save_authorization_code(
        &self,
        client_id: &str,
        code: &AuthorizationCode,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        (**self).save_authorization_code(client_id, code, request)
    }

    fn save_bearer_token(
        &self,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        (**self).save_bearer_token(token, request)
    }

    fn consume_and_save(
        &self,
        consumed: Consumed<'_>,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        (**self).consume_and_save(consumed, token, request)
    }

    fn save_token(
        &self,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        (**self).save_token(token, request)
    }

    fn save_pushed_request(
        &self,
        digest: &[u8; 32],
        pushed: &PushedRequest,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        (**self).save_pushed_request(digest, pushed, request)
    }

    fn find_pushed_request(
        &self,
        digest: &[u8; 32],
        request: &OAuthRequest<'_>,
    ) -> Result<Option<PushedRequest>, OAuthError> {
        (**self).find_pushed_request(digest, request)
    }

    fn consume_pushed_request(
        &self,
        digest: &[u8; 32],
        client_id: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        (**self).consume_pushed_request(digest, client_id, request)
    }

    fn save_device_authorization(
        &self,
        device_code: &[u8; 32],
        user_code: &[u8; 32],
        authorization: &DeviceAuthorization,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        (**self).save_device_authorization(device_code, user_code, authorization, request)
    }

    fn find_device_authorization(
        &self,
        key: DeviceCodeKey<'_>,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<DeviceAuthorization>, OAuthError> {
        (**self).find_device_authorization(key, request)
    }

    fn decide_device_authorization(
        &self,
        user_code: &[u8; 32],
        status: &DeviceStatus,
        scopes: &Scope,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        (**self).decide_device_authorization(user_code, status, scopes, request)
    }

    fn record_device_poll(
        &self,
        device_code: &[u8; 32],
        last_poll: u64,
        slowed_down: bool,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        (**self).record_device_poll(device_code, last_poll, slowed_down, request)
    }

    fn record_user_code_attempt(
        &self,
        subject: &str,
        since: u64,
        request: &OAuthRequest<'_>,
    ) -> Result<u32, OAuthError> {
        (**self).record_user_code_attempt(subject, since, request)
    }

    fn user_code_attempts(
        &self,
        subject: &str,
        since: u64,
        request: &OAuthRequest<'_>,
    ) -> Result<u32, OAuthError> {
        (**self).user_code_attempts(subject, since, request)
    }

    fn invalidate_device_code(
        &self,
        client_id: &str,
        device_code: &[u8; 32],
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        (**self).invalidate_device_code(client_id, device_code, request)
    }

    fn token_request(
        &self,
        request: &OAuthRequest<'_>,
        run: &mut dyn FnMut() -> Result<BearerToken, OAuthError>,
    ) -> Result<BearerToken, OAuthError> {
        (**self).token_request(request, run)
    }

    fn validate_bearer_token(
        &self,
        token: &str,
        scopes: &[&str],
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        (**self).validate_bearer_token(token, scopes, request)
    }

    fn validate_client_id(
        &self,
        client_id: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<Self::Client>, OAuthError> {
        (**self).validate_client_id(client_id, request)
    }

    fn validate_code(
        &self,
        client_id: &str,
        code: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<CodeStatus, OAuthError> {
        (**self).validate_code(client_id, code, client, request)
    }

    fn validate_grant_type(
        &self,
        client_id: &str,
        grant_type: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        (**self).validate_grant_type(client_id, grant_type, client, request)
    }

    fn validate_redirect_uri(
        &self,
        client_id: &str,
        redirect_uri: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        (**self).validate_redirect_uri(client_id, redirect_uri, client, request)
    }

    fn validate_refresh_token(
        &self,
        refresh_token: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<RefreshTokenStatus, OAuthError> {
        (**self).validate_refresh_token(refresh_token, client, request)
    }

    fn validate_response_type(
        &self,
        client_id: &str,
        response_type: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        (**self).validate_response_type(client_id, response_type, client, request)
    }

    fn validate_scopes(
        &self,
        client_id: &str,
        scopes: &Scope,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        (**self).validate_scopes(client_id, scopes, client, request)
    }

    fn validate_user(
        &self,
        username: &str,
        password: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        (**self).validate_user(username, password, client, request)
    }
}
/// The trait's default answers, as functions: a host that overrides a hook
/// for some requests calls these for the rest, and the C ABI's adapter
/// uses them for every callback left NULL.
pub mod defaults {
    use super::*;

    /// What [`RequestValidator::authenticate_client`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn authenticate_client<V: RequestValidator + ?Sized>(
        validator: &V,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<V::Client>, OAuthError> {
        ClientAuthenticator::new(validator)
            .by_identifier_secret(&request.http, &request.params, None)
            .map(Some)
    }

    /// What [`RequestValidator::save_pushed_request`] does unless a host
    /// overrides it: refuses, saving nothing.
    pub fn save_pushed_request<V: RequestValidator + ?Sized>(
        validator: &V,
        digest: &[u8; 32],
        pushed: &PushedRequest,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let _ = (validator, digest, pushed, request);
        Err(OAuthError::server_error(
            "this store keeps no pushed authorization requests",
        ))
    }

    /// What [`RequestValidator::find_pushed_request`] does unless a host
    /// overrides it: finds none.
    pub fn find_pushed_request<V: RequestValidator + ?Sized>(
        validator: &V,
        digest: &[u8; 32],
        request: &OAuthRequest<'_>,
    ) -> Result<Option<PushedRequest>, OAuthError> {
        let _ = (validator, digest, request);
        Ok(None)
    }

    /// What [`RequestValidator::consume_pushed_request`] does unless a host
    /// overrides it: spends none.
    pub fn consume_pushed_request<V: RequestValidator + ?Sized>(
        validator: &V,
        digest: &[u8; 32],
        client_id: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let _ = (validator, digest, client_id, request);
        Ok(false)
    }

    /// What [`RequestValidator::save_device_authorization`] does unless a
    /// host overrides it: refuses, saving nothing.
    pub fn save_device_authorization<V: RequestValidator + ?Sized>(
        validator: &V,
        device_code: &[u8; 32],
        user_code: &[u8; 32],
        authorization: &DeviceAuthorization,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let _ = (validator, device_code, user_code, authorization, request);
        Err(OAuthError::server_error(
            "this store keeps no device authorizations",
        ))
    }

    /// What [`RequestValidator::find_device_authorization`] does unless a
    /// host overrides it: finds none.
    pub fn find_device_authorization<V: RequestValidator + ?Sized>(
        validator: &V,
        key: DeviceCodeKey<'_>,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<DeviceAuthorization>, OAuthError> {
        let _ = (validator, key, request);
        Ok(None)
    }

    /// What [`RequestValidator::decide_device_authorization`] does unless
    /// a host overrides it: decides nothing.
    pub fn decide_device_authorization<V: RequestValidator + ?Sized>(
        validator: &V,
        user_code: &[u8; 32],
        status: &DeviceStatus,
        scopes: &Scope,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let _ = (validator, user_code, status, scopes, request);
        Ok(false)
    }

    /// What [`RequestValidator::record_device_poll`] does unless a host
    /// overrides it: records nothing.
    pub fn record_device_poll<V: RequestValidator + ?Sized>(
        validator: &V,
        device_code: &[u8; 32],
        last_poll: u64,
        slowed_down: bool,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        let _ = (validator, device_code, last_poll, slowed_down, request);
        Ok(())
    }

    /// What [`RequestValidator::record_user_code_attempt`] does unless a
    /// host overrides it: fails (no store, no guessing).
    pub fn record_user_code_attempt<V: RequestValidator + ?Sized>(
        validator: &V,
        subject: &str,
        since: u64,
        request: &OAuthRequest<'_>,
    ) -> Result<u32, OAuthError> {
        let _ = (validator, subject, since, request);
        Err(no_user_code_throttle())
    }

    /// What [`RequestValidator::user_code_attempts`] does unless a host
    /// overrides it: fails (no store, no guessing).
    pub fn user_code_attempts<V: RequestValidator + ?Sized>(
        validator: &V,
        subject: &str,
        since: u64,
        request: &OAuthRequest<'_>,
    ) -> Result<u32, OAuthError> {
        let _ = (validator, subject, since, request);
        Err(no_user_code_throttle())
    }

    fn no_user_code_throttle() -> OAuthError {
        OAuthError::server_error("this store counts no user code guesses")
    }

    /// What [`RequestValidator::invalidate_device_code`] does unless a
    /// host overrides it: spends none.
    pub fn invalidate_device_code<V: RequestValidator + ?Sized>(
        validator: &V,
        client_id: &str,
        device_code: &[u8; 32],
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let _ = (validator, client_id, device_code, request);
        Ok(false)
    }

    /// What [`RequestValidator::authenticate_client_id`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn authenticate_client_id<V: RequestValidator + ?Sized>(
        validator: &V,
        client_id: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<V::Client>, OAuthError> {
        let _ = request;
        Ok(validator
            .find_client(client_id)?
            .filter(|c| !c.is_confidential()))
    }

    /// What [`RequestValidator::client_authentication_required`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn client_authentication_required<V: RequestValidator + ?Sized>(
        validator: &V,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let _ = validator;
        Ok(request.http.header("authorization").is_some()
            || request.params.contains(Param::ClientSecret))
    }

    /// What [`RequestValidator::confirm_redirect_uri`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn confirm_redirect_uri<V: RequestValidator + ?Sized>(
        validator: &V,
        client_id: &str,
        code: &str,
        redirect_uri: Option<&str>,
        client: &V::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let _ = (validator, client_id, code, redirect_uri, client, request);
        Ok(true)
    }

    /// What [`RequestValidator::get_code_challenge`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn get_code_challenge<V: RequestValidator + ?Sized>(
        validator: &V,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        let _ = (validator, code, request);
        Ok(None)
    }

    /// What [`RequestValidator::get_code_challenge_method`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn get_code_challenge_method<V: RequestValidator + ?Sized>(
        validator: &V,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<ChallengeMethod>, OAuthError> {
        let _ = (validator, code, request);
        Ok(None)
    }

    /// What [`RequestValidator::get_default_redirect_uri`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn get_default_redirect_uri<V: RequestValidator + ?Sized>(
        validator: &V,
        client_id: &str,
        client: &V::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        let _ = (validator, client_id, request);
        match client.redirect_uris() {
            [only] => Ok(Some(only.clone())),
            _ => Ok(None),
        }
    }

    /// What [`RequestValidator::get_default_scopes`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn get_default_scopes<V: RequestValidator + ?Sized>(
        validator: &V,
        client_id: &str,
        client: &V::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<Scope, OAuthError> {
        let _ = (validator, client_id, request);
        Ok(client.default_scope().clone())
    }

    /// What [`RequestValidator::get_original_scopes`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn get_original_scopes<V: RequestValidator + ?Sized>(
        validator: &V,
        refresh_token: &str,
        original: &ValidatedRefreshToken,
        request: &OAuthRequest<'_>,
    ) -> Result<Scope, OAuthError> {
        let _ = (validator, refresh_token, request);
        Ok(original.scopes.clone())
    }

    /// What [`RequestValidator::is_pkce_required`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn is_pkce_required<V: RequestValidator + ?Sized>(
        validator: &V,
        client_id: &str,
        client: &V::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let _ = (validator, client_id, request);
        Ok(client.requires_pkce())
    }

    /// What [`RequestValidator::is_within_original_scope`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn is_within_original_scope<V: RequestValidator + ?Sized>(
        validator: &V,
        requested: &Scope,
        refresh_token: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let _ = (validator, requested, refresh_token, request);
        Ok(false)
    }

    /// What [`RequestValidator::rotate_refresh_token`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn rotate_refresh_token<V: RequestValidator + ?Sized>(
        validator: &V,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let _ = (validator, request);
        Ok(true)
    }

    /// What [`RequestValidator::save_token`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn save_token<V: RequestValidator + ?Sized>(
        validator: &V,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        validator.save_bearer_token(token, request)
    }

    /// What [`RequestValidator::consume_and_save`] does unless a host
    /// overrides it: invalidate, then save, in two steps.
    pub fn consume_and_save<V: RequestValidator + ?Sized>(
        validator: &V,
        consumed: Consumed<'_>,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let spent = match consumed {
            Consumed::AuthorizationCode { client_id, code } => {
                validator.invalidate_authorization_code(client_id, code, request)?
            }
            Consumed::RefreshToken { refresh_token } => {
                validator.invalidate_refresh_token(refresh_token, request)?
            }
            Consumed::DeviceCode {
                client_id,
                device_code,
            } => validator.invalidate_device_code(client_id, device_code, request)?,
        };
        if spent {
            validator.save_token(token, request)?;
        }
        Ok(spent)
    }

    /// What [`RequestValidator::validate_client_id`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn validate_client_id<V: RequestValidator + ?Sized>(
        validator: &V,
        client_id: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<V::Client>, OAuthError> {
        let _ = request;
        validator.find_client(client_id)
    }

    /// What [`RequestValidator::validate_grant_type`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn validate_grant_type<V: RequestValidator + ?Sized>(
        validator: &V,
        client_id: &str,
        grant_type: &str,
        client: &V::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let _ = (validator, client_id, request);
        Ok(Grant::from_grant_type(grant_type).is_some_and(|g| client.allows_grant_type(g)))
    }

    /// What [`RequestValidator::validate_redirect_uri`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn validate_redirect_uri<V: RequestValidator + ?Sized>(
        validator: &V,
        client_id: &str,
        redirect_uri: &str,
        client: &V::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let _ = (validator, client_id, request);
        Ok(client
            .redirect_uris()
            .iter()
            .any(|u| crate::redirect_uri::redirect_uri_matches(u, redirect_uri)))
    }

    /// What [`RequestValidator::validate_response_type`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn validate_response_type<V: RequestValidator + ?Sized>(
        validator: &V,
        client_id: &str,
        response_type: &str,
        client: &V::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let _ = (validator, client_id, request);
        Ok(match response_type {
            "code" => client.allows_grant_type(Grant::AuthorizationCode),
            "token" => client.allows_grant_type(Grant::Implicit),
            _ => false,
        })
    }

    /// What [`RequestValidator::validate_scopes`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn validate_scopes<V: RequestValidator + ?Sized>(
        validator: &V,
        client_id: &str,
        scopes: &Scope,
        client: &V::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        let _ = (validator, client_id, request);
        Ok(scopes.is_subset_of(client.allowed_scopes()))
    }

    /// What [`RequestValidator::validate_user`] does unless a host
    /// overrides it; an override can fall back to it.
    pub fn validate_user<V: RequestValidator + ?Sized>(
        validator: &V,
        username: &str,
        password: &str,
        client: &V::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        let _ = (validator, username, password, client, request);
        Ok(None)
    }
}

/// Authenticates the client of a token-endpoint style request the way
/// every grant does: [`RequestValidator::client_authentication_required`]
/// decides between [`RequestValidator::authenticate_client`] and
/// [`RequestValidator::authenticate_client_id`].
///
/// Whatever those hooks answer, a client identified by `client_id` alone
/// must be public: one with a secret (or that calls itself confidential)
/// must authenticate through `authenticate_client` as well, or the request
/// is `invalid_client`. A host whose `client_authentication_required` says
/// no for it, or whose `authenticate_client_id` hands it back, would
/// otherwise let anyone who knows the identifier act as the client.
pub(crate) fn authenticate<V: RequestValidator + ?Sized>(
    validator: &V,
    request: &OAuthRequest<'_>,
) -> Result<V::Client, OAuthError> {
    if validator.client_authentication_required(request)? {
        return validator
            .authenticate_client(request)?
            .ok_or_else(client_auth::invalid_client);
    }
    // Public client: identified by client_id in the body.
    let mut buf = [0u8; BASIC_BUFFER_LEN];
    let creds = client_auth::presented_credentials(&request.http, &request.params, &mut buf)?;
    let Some(creds) = creds else {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "client authentication or client_id is required",
        ));
    };
    let client = validator
        .authenticate_client_id(creds.client_id, request)?
        .ok_or_else(client_auth::invalid_client)?;
    if client.secret().is_none() && !client.is_confidential() {
        return Ok(client);
    }
    // A confidential client the hooks let through on its identifier: it
    // must authenticate after all, as the same client.
    validator
        .authenticate_client(request)?
        .filter(|authenticated| authenticated.client_id() == client.client_id())
        .ok_or_else(client_auth::invalid_client)
}
