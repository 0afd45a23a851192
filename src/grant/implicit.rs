//! Implicit grant (RFC 6749 §4.2). Legacy: off unless the server enables
//! [`Grant::Implicit`](crate::Grant::Implicit). No refresh token (§4.2.2).

use std::sync::Arc;

use crate::error::OAuthError;
use crate::grant::authorization_request::AuthorizationRequest;
use crate::grant::{issue_tokens, Grantee, Refresh};
use crate::request::OAuthRequest;
use crate::response::{redirect_uri_with, ResponseMode};
use crate::scope::Scope;
use crate::server::Server;
use crate::validator::RequestValidator;

/// Issues an access token and returns the redirect URI carrying it in the
/// fragment (§4.2.2), with `state` and `iss`.
pub(crate) fn issue<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
    pending: &AuthorizationRequest<V::Client>,
    user: &str,
    scopes: Scope,
) -> Result<String, OAuthError> {
    let token = issue_tokens(
        server,
        request,
        Grantee {
            client: &pending.client,
            user: Some(Arc::from(user)),
            scopes,
            audience: pending.audience.clone(),
            refresh_audience: None,
            grant_id: None,
        },
        Refresh::None,
    )?;
    let expires_in = token.expires_in.map(|e| e.to_string());
    Ok(redirect_uri_with(
        &pending.redirect_uri,
        ResponseMode::Fragment,
        &[
            ("access_token", Some(&token.access_token)),
            ("token_type", Some("Bearer")),
            ("expires_in", expires_in.as_deref()),
            ("scope", token.scope.as_deref()),
            ("state", pending.state.as_deref()),
            ("iss", server.issuer()),
        ],
    ))
}
