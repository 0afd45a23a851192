//! Refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2).

use crate::client_auth::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::form::Param;
use crate::grant::{
    check_grant_type, continued_audience, draw_tokens, save_tokens, Grantee, Refresh,
};
use crate::request::OAuthRequest;
use crate::scope::Scope;
use crate::server::{Grant, Server};
use crate::token::BearerToken;
use crate::validator::{self, Consumed, RefreshTokenStatus, RequestValidator};

fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

/// Issues a new access token (and, when rotating, a new refresh token).
pub(crate) fn refresh<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
) -> Result<BearerToken, OAuthError> {
    let v = &server.validator;
    let client = validator::authenticate(v, request)?;
    check_grant_type(server, request, &client, Grant::RefreshToken)?;
    let refresh_token = request.params.require(Param::RefreshToken)?;

    let original = match v.validate_refresh_token(refresh_token, &client, request)? {
        RefreshTokenStatus::Active(original) => original,
        RefreshTokenStatus::Invalid => {
            return Err(invalid_grant("the refresh token is invalid or expired"))
        }
        RefreshTokenStatus::Rotated { grant_id } => {
            v.revoke_grant(&grant_id, request)?;
            return Err(invalid_grant("the refresh token was already used"));
        }
    };
    if *original.client_id != *client.client_id() {
        return Err(invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if original.expires_at.is_some_and(|exp| exp <= request.now) {
        return Err(invalid_grant("the refresh token is invalid or expired"));
    }

    // §6: the new scope may only narrow the original one.
    let granted = v.get_original_scopes(refresh_token, &original, request)?;
    let scopes = match request.params.get(Param::Scope) {
        None => granted,
        Some(text) => {
            let requested = Scope::parse(text)?;
            if !requested.is_subset_of(&granted)
                && !v.is_within_original_scope(&requested, refresh_token, request)?
            {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "the requested scope exceeds the scope originally granted",
                ));
            }
            requested
        }
    };
    // Least privilege: the grant may be older than the client's current
    // registration. The new access token carries only scopes the client
    // may still have; asking for them again, narrowed, is the way on.
    if !v.validate_scopes(client.client_id(), &scopes, &client, request)? {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "the client is no longer allowed part of this scope; ask for a narrower one",
        ));
    }

    // RFC 8707 §2.2: a refresh may narrow the grant's audience, never
    // widen it; asked before the token is used up.
    let (audience, refresh_audience) =
        continued_audience(request, &client, original.audience.clone())?;

    // RFC 9700 §4.14.2: a public client's refresh tokens are rotated,
    // whatever the host prefers (they are not sender-constrained).
    let rotate = !client.is_confidential() || v.rotate_refresh_token(request)?;
    let refresh = if rotate {
        // §6: a new refresh token has the presented one's scope, however
        // the access token was narrowed, unless the client has since lost
        // part of it: then it narrows to the access token's, which passed
        // the check above (least privilege over §6's "identical"). Asked
        // before the token is used up, so a failing hook consumes nothing.
        let keeps_original = original.scopes == scopes
            || v.validate_scopes(client.client_id(), &original.scopes, &client, request)?;
        Refresh::Rotate(if keeps_original {
            original.scopes
        } else {
            scopes.clone()
        })
    } else {
        Refresh::Keep(refresh_token.to_owned())
    };
    // The new values first: a failing generator leaves the presented
    // token unspent.
    let drawn = draw_tokens(server, request, &client, true, refresh)?;
    // Rotating and saving are one step: a failed save leaves the presented
    // token active, and a concurrent refresh that rotated it first means
    // two holders of one token, the reuse RFC 9700 §4.14.2 guards against.
    save_tokens(
        server,
        request,
        Grantee {
            client: &client,
            user: original.user,
            scopes,
            audience,
            // Without rotation no refresh token is stored: nothing to keep.
            refresh_audience: if rotate { refresh_audience } else { None },
            grant_id: Some(original.grant_id),
        },
        drawn,
        rotate.then_some(Consumed::RefreshToken { refresh_token }),
    )
}
