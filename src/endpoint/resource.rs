//! The resource server's bearer token check (RFC 6750).

use std::borrow::Cow;

use crate::endpoint::protected_resource::{wrong_audience, ProtectedResource};
use crate::error::{ErrorCode, OAuthError};
use crate::form::{self, Params};
use crate::header::{self, HeaderError};
use crate::request::{OAuthRequest, Request};
use crate::response::Response;
use crate::server::Server;
use crate::validator::{RequestValidator, TokenInfo, TokenType};

impl<V: RequestValidator> Server<V> {
    /// Checks the bearer token of a request to a protected resource that
    /// requires every scope in `required_scopes`, and returns what the token
    /// grants.
    ///
    /// The token comes from the `Authorization` header (RFC 6750 §2.1), or,
    /// only where the server enables them, a form body's `access_token`
    /// (§2.2) or the query's (§2.3); using more than one is an error. On
    /// failure the `Err` is the response to send, with the §3
    /// `WWW-Authenticate: Bearer` challenge: 401 without an error code when
    /// no token was sent, 400 `invalid_request` for a malformed request, 401
    /// `invalid_token` for an unknown, revoked or expired token, 403
    /// `insufficient_scope` when a required scope is missing.
    ///
    /// ```
    /// use oauth2_provider::memory::MemoryValidator;
    /// use oauth2_provider::{Request, Server};
    /// let server = Server::resource_server(MemoryValidator::new());
    /// let denied = server.verify_bearer(&Request::new("GET", "/photos", &[], b""), &["read"]).unwrap_err();
    /// assert_eq!(denied.status, 401);
    /// assert_eq!(denied.header("www-authenticate"), Some(r#"Bearer realm="oauth2", scope="read""#));
    /// ```
    ///
    /// This check takes any audience; [`verify_bearer_at`](Self::verify_bearer_at)
    /// also requires the token to be for a given resource (RFC 8707).
    pub fn verify_bearer(
        &self,
        request: &Request<'_>,
        required_scopes: &[&str],
    ) -> Result<TokenInfo, Response> {
        self.check_bearer(request, required_scopes, None)
    }

    /// The bearer check, for `resource` when one is given.
    pub(crate) fn check_bearer(
        &self,
        request: &Request<'_>,
        required_scopes: &[&str],
        resource: Option<&ProtectedResource>,
    ) -> Result<TokenInfo, Response> {
        let fail = |error| self.bearer_failure(error, required_scopes, resource);
        let token = match self.bearer_token(request) {
            Ok(Some(token)) => token,
            Ok(None) => return Err(fail(None)),
            Err(e) => return Err(fail(Some(e))),
        };
        // The parameters are parsed where they stay: they are some 400
        // bytes, and every move of them a copy.
        let mut oauth = OAuthRequest::new(*request, Params::default(), self.now());
        if oauth.params.parse_into(self.bearer_form(request)).is_err() {
            // A malformed form simply carries no token.
            oauth.params = Params::default();
        }
        let info = match self
            .validator
            .validate_bearer_token(&token, required_scopes, &oauth)
        {
            Ok(Some(info)) => info,
            Ok(None) => return Err(fail(Some(invalid_token()))),
            Err(e) => return Err(Response::error_json(&e)),
        };
        // Only an access token opens a resource (RFC 6749 §1.5): a host
        // whose one lookup also finds refresh tokens must not turn them
        // into bearer credentials.
        let refresh_token = info.token_type == Some(TokenType::RefreshToken);
        if refresh_token || info.exp.is_some_and(|exp| exp <= oauth.now) {
            return Err(fail(Some(invalid_token())));
        }
        // RFC 8707: a token for another resource must not open this one
        // (RFC 6750 §3.1: a token invalid here is `invalid_token`).
        if resource.is_some_and(|r| !r.admits(&info.aud)) {
            return Err(fail(Some(wrong_audience())));
        }
        if !required_scopes.iter().all(|s| info.scopes.contains(s)) {
            let e = OAuthError::new(
                ErrorCode::InsufficientScope,
                "the access token does not grant the required scope",
            );
            return Err(fail(Some(e)));
        }
        Ok(info)
    }

    /// The form body or query whose parameters may carry a token, where
    /// the server allows it.
    fn bearer_form<'r>(&self, request: &Request<'r>) -> &'r [u8] {
        let body =
            self.config.bearer_in_body && !request.is_method("GET") && request.has_form_body();
        if body {
            request.body()
        } else if self.config.bearer_in_query {
            request.query().unwrap_or("").as_bytes()
        } else {
            b""
        }
    }

    /// The token, from whichever one method carried it: the header, or
    /// where the server accepts them, the body or the query.
    fn bearer_token<'r>(&self, request: &Request<'r>) -> Result<Option<Cow<'r, str>>, OAuthError> {
        let header = request
            .unique_header("authorization")
            .map_err(|_| OAuthError::invalid_request("the Authorization header is repeated"))?
            .filter(|v| header::has_scheme(v, "bearer"));
        let from_header = match header.map(header::parse_bearer) {
            Some(Ok(token)) => Some(Cow::Borrowed(token)),
            Some(Err(HeaderError::MissingCredentials)) => {
                return Err(OAuthError::invalid_request(
                    "the Bearer authorization has no token",
                ))
            }
            Some(Err(e)) => return Err(OAuthError::invalid_request(e.description())),
            None => None,
        };
        // §2.2: never in the body of a GET.
        let in_body =
            self.config.bearer_in_body && !request.is_method("GET") && request.has_form_body();
        let from_body = if in_body {
            access_token_param(request.body())?
        } else {
            None
        };
        let from_query = if self.config.bearer_in_query {
            access_token_param(request.query().unwrap_or("").as_bytes())?
        } else {
            None
        };
        let mut found = from_header.into_iter().chain(from_body).chain(from_query);
        let token = found.next();
        if found.next().is_some() {
            // §3.1: "uses more than one method for including an access token".
            return Err(OAuthError::invalid_request(
                "the access token is sent by more than one method",
            ));
        }
        Ok(token)
    }

    fn bearer_failure(
        &self,
        error: Option<OAuthError>,
        required_scopes: &[&str],
        resource: Option<&ProtectedResource>,
    ) -> Response {
        let scope = (!required_scopes.is_empty()).then(|| required_scopes.join(" "));
        let mut challenge =
            header::bearer_challenge(self.realm(), error.as_ref(), scope.as_deref());
        if let Some(url) = resource.and_then(ProtectedResource::challenge_metadata) {
            // RFC 9728 §5.1: where the client finds the resource's metadata.
            header::push_auth_param(&mut challenge, "resource_metadata", url);
        }
        let response = match &error {
            Some(e) => Response::error_json(e),
            None => Response::new(401),
        };
        response.with_header("WWW-Authenticate", challenge)
    }
}

/// The `access_token` parameter of a form body or a query (RFC 6750 §2.2,
/// §2.3): `None` when absent or empty, an error when repeated or not
/// decodable. The other parameters, well-formed or not, are the
/// resource's business.
fn access_token_param(raw: &[u8]) -> Result<Option<Cow<'_, str>>, OAuthError> {
    let mut found = None;
    for segment in raw.split(|&b| b == b'&') {
        let (name, value) = match segment.iter().position(|&b| b == b'=') {
            Some(i) => (&segment[..i], &segment[i + 1..]),
            None => (segment, &segment[..0]),
        };
        if value.is_empty() || form::decode(name).ok().as_deref() != Some("access_token") {
            continue;
        }
        if found.is_some() {
            return Err(OAuthError::duplicate_parameter("access_token"));
        }
        let value = form::decode(value)
            .map_err(|_| OAuthError::invalid_request("the access_token parameter is malformed"))?;
        found = Some(value);
    }
    Ok(found)
}

fn invalid_token() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidToken,
        "the access token is invalid, expired or revoked",
    )
}
