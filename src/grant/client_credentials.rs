//! Client credentials grant (RFC 6749 §4.4): confidential clients only,
//! no refresh token (§4.4.3).

use crate::audience::Audience;
use crate::client_auth::{self, Client};
use crate::error::{ErrorCode, OAuthError};
use crate::grant::{check_grant_type, issue_tokens, resolve_scope, Grantee, Refresh};
use crate::request::OAuthRequest;
use crate::server::{Grant, Server};
use crate::token::BearerToken;
use crate::validator::RequestValidator;

/// Issues an access token to an authenticated confidential client.
pub(crate) fn issue<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
) -> Result<BearerToken, OAuthError> {
    let client = server
        .validator
        .authenticate_client(request)?
        .ok_or_else(client_auth::invalid_client)?;
    if !client.is_confidential() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client credentials grant is for confidential clients only",
        ));
    }
    check_grant_type(server, request, &client, Grant::ClientCredentials)?;
    let scopes = resolve_scope(server, request, &client)?;
    // RFC 8707 §2.2: the token is for what was asked, none if nothing.
    let audience = Audience::requested(&request.params, &client)?;
    issue_tokens(
        server,
        request,
        Grantee {
            client: &client,
            user: None,
            scopes,
            audience,
            refresh_audience: None,
            grant_id: None,
        },
        Refresh::None,
    )
}
