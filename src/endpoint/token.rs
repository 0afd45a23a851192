//! The token endpoint (RFC 6749 §3.2, §5): dispatch on `grant_type`.

use crate::error::{ErrorCode, OAuthError};
use crate::form::{Param, Params};
use crate::grant;
use crate::request::{OAuthRequest, Request};
use crate::response::Response;
use crate::server::{Grant, Server};
use crate::token::BearerToken;
use crate::validator::RequestValidator;

use super::{json_error, parse_form_post};

impl<V: RequestValidator> Server<V> {
    /// Answers a token request: `POST`, form-encoded, each parameter at
    /// most once; dispatched on `grant_type` to the enabled grants. Success
    /// is the RFC 6749 §5.1 JSON token response, failure the §5.2 JSON
    /// error, both with `Cache-Control: no-store`.
    ///
    /// ```
    /// use oauth2_provider::header::basic_header_value;
    /// use oauth2_provider::memory::{MemoryClient, MemoryValidator};
    /// use oauth2_provider::{Request, Server};
    /// let v = MemoryValidator::new();
    /// v.add_client(MemoryClient::confidential("svc", "s3cret", []).grants(["client_credentials"]).scopes(["read"]));
    /// let server = Server::builder(v).issuer("https://as.example").build().unwrap();
    /// let auth = basic_header_value("svc", "s3cret");
    /// let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    /// let response = server.token_response(&Request::new("POST", "/token", &headers, b"grant_type=client_credentials&scope=read"));
    /// assert_eq!(response.status, 200);
    /// assert!(response.body_str().contains(r#""token_type":"Bearer""#));
    /// ```
    pub fn token_response(&self, request: &Request<'_>) -> Response {
        let mut oauth = OAuthRequest::new(*request, Params::default(), self.now());
        if let Err(response) = parse_form_post(&mut oauth) {
            return response;
        }
        match self.issue_token(&oauth) {
            Ok(token) => token.into_response(),
            Err(error) => json_error(&error, self.realm()),
        }
    }

    /// The grant behind a token request, as a value: the token, or the error.
    pub fn issue_token(&self, request: &OAuthRequest<'_>) -> Result<BearerToken, OAuthError> {
        let grant_type = request.params.require(Param::GrantType)?;
        let grant = Grant::from_grant_type(grant_type)
            .filter(|g| self.is_enabled(*g))
            .ok_or_else(|| {
                OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    "the grant_type is not supported",
                )
            })?;
        match grant {
            Grant::AuthorizationCode => self.validator.token_request(request, &mut || {
                grant::authorization_code::exchange(self, request)
            }),
            Grant::ClientCredentials => self.validator.token_request(request, &mut || {
                grant::client_credentials::issue(self, request)
            }),
            Grant::Password => grant::password::issue(self, request),
            Grant::RefreshToken => self.validator.token_request(request, &mut || {
                grant::refresh_token::refresh(self, request)
            }),
            Grant::DeviceCode => self
                .validator
                .token_request(request, &mut || grant::device_code::poll(self, request)),
            Grant::Implicit => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "the grant_type is not supported",
            )),
        }
    }
}
