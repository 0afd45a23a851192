//! Resource owner password credentials grant (RFC 6749 §4.3). Legacy: off
//! unless the server enables [`Grant::Password`].

use std::sync::Arc;

use crate::audience::Audience;
use crate::error::{ErrorCode, OAuthError};
use crate::form::Param;
use crate::grant::{check_grant_type, issue_tokens, resolve_scope, Grantee, Refresh};
use crate::request::OAuthRequest;
use crate::server::{Grant, Server};
use crate::token::BearerToken;
use crate::validator::{self, RequestValidator};

/// Issues tokens for a resource owner's username and password.
pub(crate) fn issue<V: RequestValidator>(
    server: &Server<V>,
    request: &OAuthRequest<'_>,
) -> Result<BearerToken, OAuthError> {
    let v = &server.validator;
    let client = validator::authenticate(v, request)?;
    check_grant_type(server, request, &client, Grant::Password)?;
    let username = request.params.require(Param::Username)?;
    let password = request.params.require(Param::Password)?;
    let user = v
        .validate_user(username, password, &client, request)?
        .ok_or_else(|| {
            OAuthError::new(
                ErrorCode::InvalidGrant,
                "invalid resource owner credentials",
            )
        })?;
    let scopes = resolve_scope(server, request, &client)?;
    // RFC 8707 §2.2: the grant, and its tokens, are for what was asked.
    let audience = Audience::requested(&request.params, &client)?;
    issue_tokens(
        server,
        request,
        Grantee {
            client: &client,
            user: Some(Arc::from(user)),
            scopes,
            audience,
            refresh_audience: None,
            grant_id: None,
        },
        Refresh::IfAllowed,
    )
}
