//! The revocation endpoint (RFC 7009).

use crate::client_auth::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::form::{Param, Params};
use crate::request::{OAuthRequest, Request};
use crate::response::Response;
use crate::server::Server;
use crate::validator::{self, RequestValidator, TokenType};

use super::{json_error, parse_form_post};

impl<V: RequestValidator> Server<V> {
    /// Answers a revocation request (RFC 7009 §2): the client
    /// authenticates (a public client by `client_id`), names a `token` and
    /// optionally a `token_type_hint`. A token of another client is refused
    /// and left alone; an unknown or already invalid token is `200`
    /// (§2.2), as is success.
    pub fn revocation_response(&self, request: &Request<'_>) -> Response {
        let mut oauth = OAuthRequest::new(*request, Params::default(), self.now());
        let outcome = parse_form_post(&mut oauth).and_then(|()| {
            self.revoke(&oauth)
                .map_err(|e| json_error(&e, self.realm()))
        });
        match outcome {
            Ok(()) => Response::new(200)
                .with_header("Cache-Control", "no-store")
                .with_header("Pragma", "no-cache"),
            Err(response) => response,
        }
    }

    fn revoke(&self, request: &OAuthRequest<'_>) -> Result<(), OAuthError> {
        let v = &self.validator;
        let client = validator::authenticate(v, request)?;
        let token = request.params.require(Param::Token)?;
        let hint = request
            .params
            .get(Param::TokenTypeHint)
            .and_then(TokenType::from_hint);
        let Some(info) = v.introspect_token(token, hint, request)? else {
            return Ok(());
        };
        if *info.client_id != *client.client_id() {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "the token was not issued to this client",
            ));
        }
        // The lookup found the token's real type: pass that on, not a
        // hint the client may have got wrong (RFC 7009 §2.1).
        v.revoke_token(token, info.token_type.or(hint), request)
    }
}
