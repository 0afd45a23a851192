//! The grants of RFC 6749, one file each, and what they share: scope
//! resolution and token issuance.
//!
//! Token-endpoint grants take an authenticated request and return the
//! token response; the authorization endpoint drives the code and implicit
//! grants (see [`crate::endpoint::authorization`]).

pub(crate) mod authorization_code;
pub mod authorization_request;
pub(crate) mod client_credentials;
pub(crate) mod device_code;
pub(crate) mod implicit;
pub(crate) mod password;
pub(crate) mod refresh_token;

use std::sync::Arc;

use crate::audience::Audience;
use crate::client_auth::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::form::Param;
use crate::request::OAuthRequest;
use crate::scope::Scope;
use crate::server::{Grant, Server};
use crate::token::{BearerToken, TokenKind};
use crate::validator::{Consumed, IssuedToken, RequestValidator};

/// The scope of a new grant: the requested one, or the client's default
/// when none is requested; either must pass `validate_scopes`.
pub(crate) fn resolve_scope<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
    client: &V::Client,
) -> Result<Scope, OAuthError> {
    let validator = &server.validator;
    let scopes = match request.params.get(Param::Scope) {
        Some(text) => Scope::parse(text)?,
        None => validator.get_default_scopes(client.client_id(), client, request)?,
    };
    if !validator.validate_scopes(client.client_id(), &scopes, client, request)? {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "the requested scope is not allowed for this client",
        ));
    }
    Ok(scopes)
}

/// Checks `validate_grant_type` for the authenticated client.
pub(crate) fn check_grant_type<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
    client: &V::Client,
    grant: Grant,
) -> Result<(), OAuthError> {
    if server
        .validator
        .validate_grant_type(client.client_id(), grant.as_str(), client, request)?
    {
        Ok(())
    } else {
        Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client is not allowed to use this grant type",
        ))
    }
}

/// What to do about a refresh token when issuing tokens.
pub(crate) enum Refresh {
    /// Issue none (client credentials, implicit).
    None,
    /// Issue a new one if the server and the client allow refresh tokens.
    IfAllowed,
    /// Rotation is off: hand back the presented one.
    Keep(String),
    /// Rotation: issue a new one if allowed, with the presented one's
    /// scope, whatever narrower scope the access token has (RFC 6749 §6).
    Rotate(Scope),
}

/// Who the tokens are for.
pub(crate) struct Grantee<'c, C> {
    pub client: &'c C,
    pub user: Option<Arc<str>>,
    pub scopes: Scope,
    /// The access token's audience (RFC 8707).
    pub audience: Audience,
    /// The audience a new refresh token keeps when the access token's was
    /// narrowed: the grant's. `None`: the access token's.
    pub refresh_audience: Option<Audience>,
    /// The token family; `None` starts a new one.
    pub grant_id: Option<Arc<str>>,
}

/// The audience of a token request that continues a grant of audience
/// `granted` (a code exchange, a refresh): what the request's `resource`
/// values narrow it to, or the grant's when it names none; `invalid_target`
/// for a value that is malformed, beyond the grant (RFC 8707 §2.2), or no
/// longer allowed for the client (least privilege: the grant may be older
/// than the client's registration). Also the audience the new refresh
/// token keeps: the grant's, unless the client has since lost part of it.
pub(crate) fn continued_audience<C: Client>(
    request: &OAuthRequest<'_>,
    client: &C,
    granted: Audience,
) -> Result<(Audience, Option<Audience>), OAuthError> {
    let audience = Audience::parse(request.params.resources())?.narrowing(&granted)?;
    audience.check_allowed(client)?;
    let keeps_grant = audience == granted || granted.check_allowed(client).is_ok();
    Ok((audience, keeps_grant.then_some(granted)))
}

/// Whether the server and the client allow refresh tokens.
fn refresh_allowed<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
    client: &V::Client,
) -> Result<bool, OAuthError> {
    Ok(server.is_enabled(Grant::RefreshToken)
        && server.validator.validate_grant_type(
            client.client_id(),
            Grant::RefreshToken.as_str(),
            client,
            request,
        )?)
}

/// Generates, saves and returns a bearer token (RFC 6749 §5.1).
pub(crate) fn issue_tokens<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
    grantee: Grantee<'_, V::Client>,
    refresh: Refresh,
) -> Result<BearerToken, OAuthError> {
    let drawn = draw_tokens(
        server,
        request,
        grantee.client,
        grantee.grant_id.is_some(),
        refresh,
    )?;
    save_tokens(server, request, grantee, drawn, None)
}

/// A token response's new values, made before anything is stored: a grant
/// that spends a code or a refresh token draws them first, so that a
/// failing generator leaves the code or token as it was.
pub(crate) struct Drawn {
    access_token: String,
    refresh_token: Option<String>,
    refresh_token_is_new: bool,
    refresh_scopes: Option<Scope>,
    /// A new grant id, when the grantee has none and a refresh token starts
    /// a family.
    grant_id: Option<Arc<str>>,
}

/// Makes the values of a token response, all of them from one call of the
/// token generator. `has_grant`: the grantee already belongs to a grant.
pub(crate) fn draw_tokens<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
    client: &V::Client,
    has_grant: bool,
    refresh: Refresh,
) -> Result<Drawn, OAuthError> {
    let (new_refresh, kept_refresh, refresh_scopes) = match refresh {
        Refresh::None => (false, None, None),
        Refresh::Keep(existing) => (false, Some(existing), None),
        Refresh::IfAllowed => (refresh_allowed(server, request, client)?, None, None),
        Refresh::Rotate(scopes) => (
            refresh_allowed(server, request, client)?,
            None,
            Some(scopes),
        ),
    };
    // A grant with a refresh token is a family worth naming; a lone access
    // token starts none (revoking it is revoking the token).
    use TokenKind::{AccessToken, GrantId, RefreshToken};
    let (access_token, refresh_token, grant_id) = match (new_refresh, kept_refresh, has_grant) {
        (true, _, false) => {
            let [access, refresh, id] = server.generate([AccessToken, RefreshToken, GrantId])?;
            (access, Some(refresh), Some(Arc::from(id)))
        }
        (true, _, true) => {
            let [access, refresh] = server.generate([AccessToken, RefreshToken])?;
            (access, Some(refresh), None)
        }
        (false, Some(kept), false) => {
            let [access, id] = server.generate([AccessToken, GrantId])?;
            (access, Some(kept), Some(Arc::from(id)))
        }
        (false, kept, _) => {
            let [access] = server.generate([AccessToken])?;
            (access, kept, None)
        }
    };
    Ok(Drawn {
        access_token,
        refresh_token,
        refresh_token_is_new: new_refresh,
        refresh_scopes,
        grant_id,
    })
}

/// Saves the tokens `drawn` for `grantee` and returns the response. With
/// `consumed`, the save spends that credential in the same step
/// ([`RequestValidator::consume_and_save`]); if a concurrent request spent
/// it first, the grant is revoked and the answer is `invalid_grant`.
pub(crate) fn save_tokens<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
    grantee: Grantee<'_, V::Client>,
    drawn: Drawn,
    consumed: Option<Consumed<'_>>,
) -> Result<BearerToken, OAuthError> {
    let client = grantee.client;
    // A grant id was drawn only for a grantee that had none: a new grant.
    let new_grant = drawn.grant_id.is_some();
    let new_refresh = drawn.refresh_token_is_new;
    let issued_at = request.now;
    let issued = IssuedToken {
        access_token: drawn.access_token,
        refresh_token: drawn.refresh_token,
        refresh_token_is_new: drawn.refresh_token_is_new,
        expires_in: server.config.access_token_lifetime,
        // Stored apart only when they differ: no copy in the common case.
        refresh_scopes: drawn.refresh_scopes.filter(|s| *s != grantee.scopes),
        scopes: grantee.scopes,
        refresh_audience: grantee.refresh_audience.filter(|a| *a != grantee.audience),
        audience: grantee.audience,
        client_id: client.shared_client_id(),
        user: grantee.user,
        new_grant,
        grant_id: grantee.grant_id.or(drawn.grant_id),
        issued_at,
        refresh_expires_at: new_refresh
            .then(|| issued_at.saturating_add(server.config.refresh_token_lifetime)),
    };
    match consumed {
        None => server.validator.save_token(&issued, request)?,
        Some(consumed) => {
            if !server
                .validator
                .consume_and_save(consumed, &issued, request)?
            {
                // Spent between our validation and the save: the replay
                // (code) or reuse (refresh token) the single-use rules
                // guard against, answered as if it had been seen first.
                if let Some(grant_id) = &issued.grant_id {
                    server.validator.revoke_grant(grant_id, request)?;
                }
                return Err(OAuthError::new(
                    ErrorCode::InvalidGrant,
                    match consumed {
                        Consumed::AuthorizationCode { .. } => {
                            "the authorization code was already used"
                        }
                        Consumed::RefreshToken { .. } => "the refresh token was already used",
                        Consumed::DeviceCode { .. } => "the device code was already used",
                    },
                ));
            }
        }
    }
    let IssuedToken {
        access_token,
        refresh_token,
        expires_in,
        scopes,
        ..
    } = issued;
    Ok(BearerToken {
        access_token,
        expires_in: Some(expires_in),
        refresh_token,
        scope: (!scopes.is_empty()).then(|| scopes.into_string()),
    })
}
