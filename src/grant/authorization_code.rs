//! Authorization code grant, token request (RFC 6749 §4.1.3) with PKCE
//! (RFC 7636 §4.5–4.6). The authorization request half lives in
//! [`crate::endpoint::authorization`].

use std::sync::Arc;

use crate::client_auth::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::form::Param;
use crate::grant::authorization_request::AuthorizationRequest;
use crate::grant::{
    check_grant_type, continued_audience, draw_tokens, save_tokens, Grantee, Refresh,
};
use crate::pkce::{self, ChallengeMethod};
use crate::request::OAuthRequest;
use crate::scope::Scope;
use crate::server::{Grant, Server};
use crate::token::{BearerToken, TokenKind};
use crate::validator::{self, AuthorizationCode, CodeStatus, Consumed, RequestValidator};

fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

/// Exchanges an authorization code for tokens.
pub(crate) fn exchange<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
) -> Result<BearerToken, OAuthError> {
    let v = &server.validator;
    let client = validator::authenticate(v, request)?;
    let client_id = client.client_id();
    check_grant_type(server, request, &client, Grant::AuthorizationCode)?;
    let code = request.params.require(Param::Code)?;

    let validated = match v.validate_code(client_id, code, &client, request)? {
        CodeStatus::Valid(validated) => validated,
        CodeStatus::Invalid => {
            return Err(invalid_grant(
                "the authorization code is invalid or expired",
            ))
        }
        CodeStatus::Used {
            grant_id,
            code_challenge,
        } => {
            // A replayed code: the tokens first issued from it are no
            // longer safe (RFC 6749 §4.1.2), if the replay comes from the
            // code's client. Anyone else who saw the code in a URL would
            // otherwise log its user out at will.
            if replay_is_proven(server, request, &client, code, code_challenge.as_ref())? {
                v.revoke_grant(&grant_id, request)?;
            }
            return Err(invalid_grant("the authorization code was already used"));
        }
    };
    if *validated.client_id != *client_id {
        return Err(invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if validated.expires_at <= request.now {
        return Err(invalid_grant(
            "the authorization code is invalid or expired",
        ));
    }

    check_pkce(
        server,
        request,
        &client,
        code,
        validated.code_challenge.as_ref(),
    )?;

    // §4.1.3: redirect_uri is required, and must be identical, when it was
    // included in the authorization request. §10.6: one sent anyway must
    // be the one the code went to, the client's default.
    let presented_uri = request.params.get(Param::RedirectUri);
    let mismatch = || {
        Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ))
    };
    match (&validated.redirect_uri, presented_uri) {
        (Some(_), None) => return Err(OAuthError::missing_parameter("redirect_uri")),
        (Some(bound), Some(uri)) if uri != bound => return mismatch(),
        (None, Some(uri)) => {
            let default = v.get_default_redirect_uri(client_id, &client, request)?;
            if default.as_deref() != Some(uri) {
                return mismatch();
            }
        }
        _ => {}
    }
    if !v.confirm_redirect_uri(client_id, code, presented_uri, &client, request)? {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }

    // RFC 8707 §2.2: the token request may narrow the grant's audience.
    let (audience, refresh_audience) = continued_audience(request, &client, validated.audience)?;

    // The new values first: a failing generator leaves the code unspent.
    let drawn = draw_tokens(server, request, &client, true, Refresh::IfAllowed)?;
    // Spending the code and saving its tokens are one step: a failed save
    // leaves the code usable, and a concurrent exchange that spent it
    // after our validate_code is the same replay as CodeStatus::Used.
    save_tokens(
        server,
        request,
        Grantee {
            client: &client,
            user: Some(validated.user),
            scopes: validated.scopes,
            audience,
            refresh_audience,
            grant_id: Some(validated.grant_id),
        },
        drawn,
        Some(Consumed::AuthorizationCode { client_id, code }),
    )
}

/// Whether a replayed code's request proves it comes from the code's
/// client: a confidential client has authenticated (with its secret) to
/// get here; a public client must present the verifier of the code's PKCE
/// challenge, which [`check_pkce`] accepts only then (PKCE is always
/// required of it). A storage failure stays an error.
fn replay_is_proven<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
    client: &V::Client,
    code: &str,
    saved: Option<&(Arc<str>, ChallengeMethod)>,
) -> Result<bool, OAuthError> {
    if client.is_confidential() {
        return Ok(true);
    }
    match check_pkce(server, request, client, code, saved) {
        Ok(()) => Ok(true),
        Err(e) if e.code() == ErrorCode::ServerError => Err(e),
        Err(_) => Ok(false),
    }
}

/// RFC 7636 §4.6, and RFC 9700 §2.1.1's downgrade rule: a verifier is
/// accepted only for a code issued with a challenge. The challenge is the
/// one `validate_code` handed back (`saved`), else the hooks' answer.
fn check_pkce<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
    client: &V::Client,
    code: &str,
    saved: Option<&(Arc<str>, ChallengeMethod)>,
) -> Result<(), OAuthError> {
    let v = &server.validator;
    let verifier = request.params.get(Param::CodeVerifier);
    let looked_up;
    let challenge = match saved {
        Some((challenge, method)) => Some((&**challenge, Some(*method))),
        None => {
            looked_up = v.get_code_challenge(code, request)?;
            looked_up.as_deref().map(|challenge| (challenge, None))
        }
    };
    match challenge {
        Some((challenge, saved_method)) => {
            let verifier =
                verifier.ok_or_else(|| OAuthError::missing_parameter("code_verifier"))?;
            if !pkce::is_valid_verifier(verifier) {
                return Err(OAuthError::invalid_request(
                    "code_verifier must be 43 to 128 unreserved characters",
                ));
            }
            // No method saved: RFC 7636 §4.3's default, `plain`, applies
            // only where the server accepts `plain` at all. Otherwise only
            // an S256 challenge can have been accepted, and reading it as
            // `plain` would let the challenge itself (public, in the
            // authorization request's URL) pass as the verifier.
            let unsaved = if server.config.allow_plain_pkce {
                ChallengeMethod::Plain
            } else {
                ChallengeMethod::S256
            };
            let method = match saved_method {
                Some(method) => method,
                None => v
                    .get_code_challenge_method(code, request)?
                    .unwrap_or(unsaved),
            };
            // A `plain` challenge on a server that refuses `plain` cannot
            // have come from its authorization endpoint: the host saved the
            // method wrongly, and reading it as `plain` would let the public
            // challenge pass as the verifier.
            if method == ChallengeMethod::Plain && !server.config.allow_plain_pkce {
                return Err(invalid_grant(
                    "the code's PKCE method is plain, which this server does not accept",
                ));
            }
            if !pkce::matches(verifier, challenge, method) {
                return Err(invalid_grant(
                    "code_verifier does not match the code challenge",
                ));
            }
            Ok(())
        }
        None if verifier.is_some() => Err(invalid_grant(
            "code_verifier sent for a code issued without a code challenge",
        )),
        None => {
            let required = !client.is_confidential()
                || v.is_pkce_required(client.client_id(), client, request)?;
            if required {
                Err(invalid_grant(
                    "the authorization code was issued without PKCE, which is required",
                ))
            } else {
                Ok(())
            }
        }
    }
}

/// Issues and saves an authorization code for an approved request
/// (RFC 6749 §4.1.2), bound to the client, redirect URI, user, scopes and
/// PKCE challenge; returns the code.
pub(crate) fn create_code<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
    pending: &AuthorizationRequest<V::Client>,
    user: &str,
    scopes: Scope,
) -> Result<String, OAuthError> {
    let issued_at = request.now;
    let [code, grant_id] = server.generate([TokenKind::AuthorizationCode, TokenKind::GrantId])?;
    let code = AuthorizationCode {
        code,
        client_id: Arc::from(pending.client_id.as_str()),
        redirect_uri: pending
            .redirect_uri_sent
            .then(|| pending.redirect_uri.clone()),
        effective_redirect_uri: pending.redirect_uri.clone(),
        user: Arc::from(user),
        scopes,
        audience: pending.audience.clone(),
        code_challenge: pending.code_challenge.clone(),
        grant_id: Arc::from(grant_id),
        issued_at,
        expires_at: issued_at.saturating_add(server.config.code_lifetime),
    };
    server
        .validator
        .save_authorization_code(&pending.client_id, &code, request)?;
    Ok(code.code)
}
