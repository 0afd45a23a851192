//! The introspection endpoint (RFC 7662).

use crate::client_auth::{self, Client};
use crate::error::{ErrorCode, OAuthError};
use crate::form::{Param, Params};
use crate::request::{OAuthRequest, Request};
use crate::response::{JsonObject, Response};
use crate::server::Server;
use crate::validator::{RequestValidator, TokenInfo, TokenType};

use super::{json_error, parse_form_post};

impl<V: RequestValidator> Server<V> {
    /// Answers an introspection request (RFC 7662 §2): the caller
    /// authenticates as a client allowed to introspect
    /// ([`Client::may_introspect`]); an active token gives its claims, and
    /// anything else — unknown, expired, revoked — `{"active":false}`.
    pub fn introspection_response(&self, request: &Request<'_>) -> Response {
        let mut oauth = OAuthRequest::new(*request, Params::default(), self.now());
        if let Err(response) = parse_form_post(&mut oauth) {
            return response;
        }
        match self.introspect(&oauth) {
            Ok(info) => Response::json_no_store(200, self.introspection_json(info.as_ref())),
            Err(error) => json_error(&error, self.realm()),
        }
    }

    /// The active token's claims, or `None` for an inactive one.
    fn introspect(&self, request: &OAuthRequest<'_>) -> Result<Option<TokenInfo>, OAuthError> {
        let v = &self.validator;
        let caller = v
            .authenticate_client(request)?
            .ok_or_else(client_auth::invalid_client)?;
        if !caller.may_introspect() {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "the client is not allowed to introspect tokens",
            ));
        }
        let token = request.params.require(Param::Token)?;
        let hint = request
            .params
            .get(Param::TokenTypeHint)
            .and_then(TokenType::from_hint);
        let info = v.introspect_token(token, hint, request)?;
        Ok(info.filter(|i| i.exp.is_none_or(|exp| exp > request.now)))
    }

    /// The RFC 7662 §2.2 body for `info` (`None`: inactive).
    fn introspection_json(&self, info: Option<&TokenInfo>) -> String {
        let mut json = JsonObject::with_capacity(256);
        let Some(info) = info else {
            json.boolean("active", false);
            return json.finish();
        };
        json.boolean("active", true);
        if !info.scopes.is_empty() {
            json.string("scope", info.scopes.as_str());
        }
        json.string("client_id", &info.client_id);
        if let Some(username) = &info.username {
            json.string("username", username);
        }
        json.string(
            "token_type",
            match info.token_type {
                Some(TokenType::RefreshToken) => "refresh_token",
                _ => "Bearer",
            },
        );
        if let Some(exp) = info.exp {
            json.number("exp", exp);
        }
        if let Some(iat) = info.iat {
            json.number("iat", iat);
        }
        if let Some(sub) = &info.sub {
            json.string("sub", sub);
        }
        match info.aud.as_slice() {
            [] => {}
            [one] => {
                json.string("aud", one);
            }
            many => {
                json.string_array("aud", many.iter().map(String::as_str));
            }
        }
        if let Some(iss) = info.iss.as_deref().or(self.issuer()) {
            json.string("iss", iss);
        }
        json.finish()
    }
}
