//! Client authentication (RFC 6749 §2.3), in the shape of python-oauth2's
//! `ClientAuthenticator`: two credential sources, [`http_basic_auth`] and
//! [`request_body`], and an authenticator with
//! [`by_identifier`](ClientAuthenticator::by_identifier) and
//! [`by_identifier_secret`](ClientAuthenticator::by_identifier_secret).
//!
//! The host only looks clients up ([`ClientLookup`]); the authenticator
//! compares secrets itself, in constant time.
//!
//! ```
//! use oauth2_provider::client_auth::{Client, ClientAuthenticator, ClientLookup};
//! use oauth2_provider::header::basic_header_value;
//! use oauth2_provider::secret::StoredSecret;
//! use oauth2_provider::{form::Params, Grant, OAuthError, Request};
//!
//! struct App;
//! struct AppClient;
//! impl Client for AppClient {
//!     fn client_id(&self) -> &str { "app" }
//!     fn secret(&self) -> Option<StoredSecret<'_>> { Some(StoredSecret::Plain("s3cret")) }
//!     fn allows_grant_type(&self, grant: Grant) -> bool { grant == Grant::ClientCredentials }
//! }
//! impl ClientLookup for App {
//!     type Client = AppClient;
//!     fn find_client(&self, id: &str) -> Result<Option<AppClient>, OAuthError> {
//!         Ok((id == "app").then_some(AppClient))
//!     }
//! }
//!
//! let auth = basic_header_value("app", "s3cret");
//! let headers = [("Authorization", auth.as_str())];
//! let request = Request::new("POST", "/token", &headers, b"grant_type=client_credentials");
//! let params = Params::parse(request.body()).unwrap();
//! let client = ClientAuthenticator::new(&App)
//!     .by_identifier_secret(&request, &params, Some(Grant::ClientCredentials))
//!     .unwrap();
//! assert_eq!(client.client_id(), "app");
//! ```

use std::fmt;
use std::sync::Arc;

use crate::error::{ErrorCode, OAuthError};
use crate::form::{self, Param, Params};
use crate::grant_type::Grant;
use crate::header::{self, BASIC_BUFFER_LEN};
use crate::request::Request;
use crate::scope::Scope;
use crate::secret::StoredSecret;

/// The scope of a client whose record names none.
static NO_SCOPE: Scope = Scope::empty();

/// What the library needs to know about a registered client.
///
/// Implemented by the host's client record. Every method but
/// [`client_id`](Client::client_id) and [`secret`](Client::secret) has a
/// default, and the defaults that grant something fail closed: no grant
/// type, no redirect URI, no introspection.
pub trait Client {
    /// The client identifier.
    fn client_id(&self) -> &str;

    /// The client identifier as a shared string, for the records a grant
    /// hands to the validator ([`IssuedToken`](crate::IssuedToken) and the
    /// others). Default: a copy of [`client_id`](Self::client_id); a host
    /// that keeps the identifier in an `Arc<str>` returns a clone of it,
    /// and a token request then copies no identifier at all.
    fn shared_client_id(&self) -> Arc<str> {
        Arc::from(self.client_id())
    }

    /// The stored secret of a confidential client; `None` for a public
    /// client (RFC 6749 §2.1), which cannot authenticate with a secret.
    fn secret(&self) -> Option<StoredSecret<'_>>;

    /// Whether the client is confidential. Defaults to "has a secret".
    fn is_confidential(&self) -> bool {
        self.secret().is_some()
    }

    /// The registered redirect URIs, compared by exact string match.
    fn redirect_uris(&self) -> &[String] {
        &[]
    }

    /// Whether the client may use `grant` (the authorization code grant
    /// also for `response_type=code`, the implicit grant for
    /// `response_type=token`). Default: false, so a client whose record
    /// says nothing about grant types may use none (`unauthorized_client`).
    fn allows_grant_type(&self, grant: Grant) -> bool {
        let _ = grant;
        false
    }

    /// Whether the client may call the introspection endpoint: a resource
    /// server the host has specifically authorised (RFC 7662 §4), since an
    /// introspection answer tells the caller whose token it holds. Default:
    /// false, so that no ordinary client reads other clients' tokens.
    fn may_introspect(&self) -> bool {
        false
    }

    /// The scopes the client may have, which the default
    /// [`validate_scopes`](crate::RequestValidator::validate_scopes)
    /// allows. Default: none, so a client whose record says nothing
    /// about scopes has none (`invalid_scope` for any it asks for).
    fn allowed_scopes(&self) -> &Scope {
        &NO_SCOPE
    }

    /// The scopes granted when a request names none, which the default
    /// [`get_default_scopes`](crate::RequestValidator::get_default_scopes)
    /// gives. Default: none.
    fn default_scope(&self) -> &Scope {
        &NO_SCOPE
    }

    /// Whether PKCE is required even though the client is confidential
    /// (a public client must use it whatever this says), which the
    /// default [`is_pkce_required`](crate::RequestValidator::is_pkce_required)
    /// answers. Default: false.
    fn requires_pkce(&self) -> bool {
        false
    }

    /// Whether the client may ask for tokens for `resource` (RFC 8707),
    /// compared by exact string: a value it may not use is
    /// `invalid_target`. Default: false, so a client whose record names
    /// no resource may ask for none (it still gets tokens without an
    /// audience by not sending `resource`).
    fn allows_resource(&self, resource: &str) -> bool {
        let _ = resource;
        false
    }

    /// Whether the client must push its authorization requests (RFC 9126
    /// §6, client metadata `require_pushed_authorization_requests`): an
    /// authorization request without `request_uri` is then refused.
    /// Default: false.
    fn requires_pushed_authorization_requests(&self) -> bool {
        false
    }
}

/// Finds clients by identifier: the one thing client authentication needs
/// from the host.
pub trait ClientLookup {
    /// The host's client record.
    type Client: Client;

    /// The client registered as `client_id`, `None` when there is none.
    /// An `Err` (storage failure) is answered as that error, typically
    /// `server_error`.
    fn find_client(&self, client_id: &str) -> Result<Option<Self::Client>, OAuthError>;
}

/// How a client presented its credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// HTTP Basic (`client_secret_basic`).
    Basic,
    /// `client_id` / `client_secret` in the form body (`client_secret_post`),
    /// or a public client's `client_id` alone (`none`).
    Body,
}

/// A `(client_id, client_secret)` pair from one credential source.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ClientCredentials<'a> {
    /// The claimed client identifier.
    pub client_id: &'a str,
    /// The presented secret, if any.
    pub client_secret: Option<&'a str>,
    /// Where the credentials came from.
    pub method: AuthMethod,
}

impl fmt::Debug for ClientCredentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.map(|_| "***"))
            .field("method", &self.method)
            .finish()
    }
}

/// `invalid_client`, the one detail-free answer to every failed
/// authentication (RFC 6749 §5.2).
pub fn invalid_client() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, "client authentication failed")
}

/// Credential source: HTTP Basic. `Ok(None)` when the request has no
/// `Authorization` header or uses another scheme; a malformed Basic header
/// is `invalid_client` (the client tried, and failed, to authenticate).
/// Decodes into `buf` (see [`header::parse_basic`]).
pub fn http_basic_auth<'b>(
    request: &Request<'_>,
    buf: &'b mut [u8],
) -> Result<Option<ClientCredentials<'b>>, OAuthError> {
    let value = request
        .unique_header("authorization")
        .map_err(|_| OAuthError::invalid_request("the Authorization header is repeated"))?;
    let Some(value) = value else { return Ok(None) };
    if !header::has_scheme(value, "basic") {
        return Ok(None);
    }
    let creds = header::parse_basic(value, buf)
        .map_err(|e| OAuthError::new(ErrorCode::InvalidClient, e.description()))?;
    Ok(Some(ClientCredentials {
        client_id: creds.client_id,
        client_secret: Some(creds.client_secret),
        method: AuthMethod::Basic,
    }))
}

/// Credential source: the form body's `client_id` and `client_secret`.
/// `Ok(None)` when neither is present; a secret without an identifier is
/// `invalid_request`.
pub fn request_body<'p>(
    params: &'p Params<'_>,
) -> Result<Option<ClientCredentials<'p>>, OAuthError> {
    match (params.get(Param::ClientId), params.get(Param::ClientSecret)) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(OAuthError::missing_parameter("client_id")),
        (Some(client_id), client_secret) => Ok(Some(ClientCredentials {
            client_id,
            client_secret,
            method: AuthMethod::Body,
        })),
    }
}

/// Rejects client credentials in the query string of a token-endpoint
/// request: they would end up in logs and browser history.
pub fn reject_query_credentials(request: &Request<'_>) -> Result<(), OAuthError> {
    let Some(query) = request.query() else {
        return Ok(());
    };
    // Each pair on its own: a malformed pair must not hide a later one.
    for segment in query.split('&') {
        let raw_name = segment.split('=').next().unwrap_or_default();
        let name = form::decode(raw_name.as_bytes());
        if matches!(name.as_deref(), Ok("client_secret" | "client_id")) {
            return Err(OAuthError::invalid_request(
                "client credentials must not be sent in the query string",
            ));
        }
    }
    Ok(())
}

/// The credentials a request presents, from at most one method.
///
/// RFC 6749 §2.3: a client must not use more than one authentication
/// method: a Basic header together with a body `client_secret` is
/// `invalid_request`, and so is a body `client_id` that differs from the
/// Basic one. Returns `Ok(None)` when the request presents none.
pub fn presented_credentials<'x>(
    request: &Request<'_>,
    params: &'x Params<'_>,
    buf: &'x mut [u8],
) -> Result<Option<ClientCredentials<'x>>, OAuthError> {
    let body = request_body(params)?;
    let basic = http_basic_auth(request, buf)?;
    match (basic, body) {
        (Some(basic), Some(body)) => {
            if body.client_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "client credentials sent both in the Authorization header and in the body",
                ));
            }
            if body.client_id != basic.client_id {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the Authorization header",
                ));
            }
            Ok(Some(basic))
        }
        (basic, body) => Ok(basic.or(body)),
    }
}

/// Authenticates clients against a [`ClientLookup`].
#[derive(Debug)]
pub struct ClientAuthenticator<'l, L: ?Sized> {
    lookup: &'l L,
}

// A digest that no secret has in practice: unknown clients are checked
// against it, so an unknown identifier costs the same as a wrong secret.
const UNKNOWN_CLIENT_DIGEST: [u8; 32] = [0xA5; 32];

impl<'l, L: ClientLookup + ?Sized> ClientAuthenticator<'l, L> {
    /// An authenticator that finds clients through `lookup`.
    pub fn new(lookup: &'l L) -> Self {
        ClientAuthenticator { lookup }
    }

    /// Identifies a client by the `client_id` parameter alone (a public
    /// client, or the authorization endpoint). A missing or unknown
    /// identifier is an error that must never be redirected.
    pub fn by_identifier(&self, params: &Params<'_>) -> Result<L::Client, OAuthError> {
        let Some(client_id) = params.get(Param::ClientId) else {
            return Err(OAuthError::no_redirect(
                ErrorCode::InvalidRequest,
                "missing required parameter 'client_id'",
            ));
        };
        self.lookup
            .find_client(client_id)?
            .ok_or_else(|| OAuthError::no_redirect(ErrorCode::InvalidRequest, "unknown client_id"))
    }

    /// Authenticates a client by identifier and secret, from a Basic header
    /// or the body (not both). When `grant` is given, a client not allowed
    /// that grant is `unauthorized_client`.
    ///
    /// Unknown client, public client, missing or wrong secret: all
    /// `invalid_client`, indistinguishable, in constant time.
    pub fn by_identifier_secret(
        &self,
        request: &Request<'_>,
        params: &Params<'_>,
        grant: Option<Grant>,
    ) -> Result<L::Client, OAuthError> {
        let mut buf = [0u8; BASIC_BUFFER_LEN];
        let creds = presented_credentials(request, params, &mut buf)?.ok_or_else(invalid_client)?;
        let client = self.lookup.find_client(creds.client_id)?;
        let presented = creds.client_secret.unwrap_or("");
        let verified = match client.as_ref().and_then(|c| c.secret()) {
            Some(stored) => stored.verify(presented) & creds.client_secret.is_some(),
            None => {
                let _ = StoredSecret::Sha256(&UNKNOWN_CLIENT_DIGEST).verify(presented);
                false
            }
        };
        let client = client.filter(|_| verified).ok_or_else(invalid_client)?;
        if let Some(grant) = grant {
            if !client.allows_grant_type(grant) {
                return Err(OAuthError::new(
                    ErrorCode::UnauthorizedClient,
                    "the client is not allowed to use this grant type",
                ));
            }
        }
        Ok(client)
    }
}
