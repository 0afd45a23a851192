//! The pushed authorization request endpoint (RFC 9126 §2): an
//! authenticated client posts an authorization request and gets back a
//! short-lived, single-use `request_uri` for the authorization endpoint
//! (which resolves it, [`Server::validate_authorization_request`]).
//! Errors are JSON (§2.3), never redirects.

use crate::error::{ErrorCode, OAuthError};
use crate::form::{encode_pairs_into, encoded_len, Param, Params};
use crate::request::{OAuthRequest, Request};
use crate::response::{JsonObject, Response};
use crate::secret::sha256;
use crate::server::Server;
use crate::token::generate_token_after;
use crate::validator::{self, PushedRequest, RequestValidator};

use super::authorization::Source;
use super::{json_error, parse_form_post};

/// The prefix of every request URI (RFC 9126 §2.2, the URN registered in §7.1).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

impl<V: RequestValidator> Server<V> {
    /// Answers a pushed authorization request (RFC 9126 §2): `POST`, a
    /// form body; the client authenticates as at the token endpoint; the
    /// body is validated as the authorization endpoint would. Success is
    /// `201` with `request_uri` and `expires_in`, `Cache-Control:
    /// no-store`; failure a JSON error (`invalid_client` a `401`).
    ///
    /// ```
    /// use oauth2_provider::header::basic_header_value;
    /// use oauth2_provider::memory::{MemoryClient, MemoryValidator};
    /// use oauth2_provider::{Request, Server};
    /// let v = MemoryValidator::new();
    /// v.add_client(MemoryClient::confidential("web", "s3cret", ["https://web.example/cb"]).grants(["authorization_code"]));
    /// let server = Server::builder(v).issuer("https://as.example").build().unwrap();
    /// let auth = basic_header_value("web", "s3cret");
    /// let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    /// let response = server.pushed_authorization_response(&Request::new("POST", "/par", &headers, b"response_type=code&state=x"));
    /// assert_eq!(response.status, 201);
    /// assert!(response.body_str().contains(r#""request_uri":"urn:ietf:params:oauth:request_uri:"#));
    /// assert!(response.body_str().contains(r#""expires_in":60"#));
    /// ```
    pub fn pushed_authorization_response(&self, request: &Request<'_>) -> Response {
        let mut oauth = OAuthRequest::new(*request, Params::default(), self.now());
        if let Err(response) = parse_form_post(&mut oauth) {
            return response;
        }
        match self.push_authorization_request(&oauth) {
            Ok((request_uri, expires_in)) => {
                let mut json = JsonObject::with_capacity(128);
                json.string("request_uri", &request_uri);
                json.number("expires_in", expires_in);
                Response::json_no_store(201, json.finish())
            }
            Err(error) => json_error(&error, self.realm()),
        }
    }

    /// RFC 9126 §2.1–2.2: authenticate, validate, save; the request URI
    /// and its lifetime.
    fn push_authorization_request(
        &self,
        oauth: &OAuthRequest<'_>,
    ) -> Result<(String, u64), OAuthError> {
        let v = &self.validator;
        // A resource server has no authorization endpoint to push to.
        if self.issuer().is_none() {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "this server has no authorization endpoint (a resource server)",
            ));
        }
        let client = validator::authenticate(v, oauth)?;
        // §2.1: "The request_uri authorization request parameter MUST NOT
        // be provided in this case."
        if oauth.params.contains(Param::RequestUri) {
            return Err(OAuthError::invalid_request(
                "request_uri must not be sent to the pushed authorization request endpoint",
            ));
        }
        if oauth
            .params
            .get(Param::ClientId)
            .is_some_and(|id| id != crate::client_auth::Client::client_id(&client))
        {
            return Err(OAuthError::invalid_request(
                "client_id does not match the authenticated client",
            ));
        }
        // §2.1: validated as the authorization endpoint would; every error
        // is this endpoint's JSON answer, never a redirect. The checked
        // request's copy of the client's identifier is the one saved.
        let client_id = self
            .check_authorization(oauth, Source::Pushing(client))
            .map_err(|e| {
                let e = e.error();
                match e.code() {
                    ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable => e.clone(),
                    code => OAuthError::new(code, e.description().to_owned()),
                }
            })?
            .client_id;
        // What the authorization endpoint will read again: the recognised
        // parameters, the client's identifier first, never its secret.
        let pairs = || {
            std::iter::once(("client_id", client_id.as_str())).chain(
                oauth
                    .params
                    .iter()
                    .filter(|(p, _)| {
                        !matches!(p, Param::ClientId | Param::ClientSecret | Param::RequestUri)
                    })
                    .map(|(p, value)| (p.name(), value)),
            )
        };
        // Sized first: grown push by push, the string was reallocated
        // six times for a typical request.
        let len = pairs().map(|(n, v)| encoded_len(n) + encoded_len(v) + 2);
        let mut parameters = String::with_capacity(len.sum());
        encode_pairs_into(&mut parameters, pairs());
        let lifetime = self.config.pushed_request_lifetime;
        let request_uri = generate_token_after(REQUEST_URI_PREFIX)?;
        let pushed = PushedRequest {
            client_id,
            parameters,
            expires_at: oauth.now.saturating_add(lifetime),
        };
        v.save_pushed_request(&sha256(request_uri.as_bytes()), &pushed, oauth)?;
        Ok((request_uri, lifetime))
    }
}
