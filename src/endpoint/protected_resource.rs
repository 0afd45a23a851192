//! OAuth 2.0 Protected Resource Metadata (RFC 9728): a protected
//! resource's description ([`ProtectedResource`]), its metadata document
//! (§2, §3.2) at its well-known URL (§3.1), and the audience check and
//! `resource_metadata` challenge (§5.1) of a bearer check made for it
//! ([`Server::verify_bearer_at`]).

use crate::error::{ErrorCode, OAuthError};
use crate::response::{JsonObject, Response, JSON_CONTENT_TYPE};
use crate::server::{is_issuer, ConfigError, Server};
use crate::validator::{RequestValidator, TokenInfo};

/// The well-known path segment of RFC 9728 §3.1.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// A protected resource, as the resource server that guards it describes
/// it (RFC 9728 §2): its resource identifier — the `resource` value
/// (RFC 8707) clients ask tokens for, and the audience its tokens must
/// carry — and the metadata clients discover it by.
///
/// ```
/// use oauth2_provider::ProtectedResource;
/// let api = ProtectedResource::new("https://api.example.com/photos")
///     .unwrap()
///     .authorization_servers(["https://as.example.com"])
///     .scopes_supported(["read", "write"]);
/// assert_eq!(
///     api.metadata_url(),
///     "https://api.example.com/.well-known/oauth-protected-resource/photos"
/// );
/// // The identifier is an https URL (http only on a loopback host),
/// // without query or fragment.
/// assert!(ProtectedResource::new("http://api.example.com/").is_err());
/// assert!(ProtectedResource::new("https://api.example.com/#x").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtectedResource {
    resource: String,
    metadata_url: String,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
    resource_policy_uri: Option<String>,
    resource_tos_uri: Option<String>,
    accept_unrestricted: bool,
    advertise_metadata: bool,
}

/// The well-known metadata URL of a resource identifier (RFC 9728 §3.1):
/// `/.well-known/oauth-protected-resource` inserted between the host and
/// the path, the path's terminating `/` removed.
fn well_known_url(resource: &str) -> String {
    let (scheme, rest) = resource.split_once("://").unwrap_or(("", resource));
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let path = path.strip_suffix('/').unwrap_or(path);
    format!("{scheme}://{authority}{WELL_KNOWN_PATH}{path}")
}

impl ProtectedResource {
    /// A protected resource with identifier `resource`: an `https` URL
    /// (`http` only on a loopback host, for development) without query or
    /// fragment (RFC 9728 §1.2), else [`ConfigError::InvalidResource`].
    /// Its bearer check refuses tokens without an audience until
    /// [`accept_unrestricted_tokens`](Self::accept_unrestricted_tokens)
    /// says otherwise, and advertises its metadata in challenges.
    pub fn new(resource: &str) -> Result<Self, ConfigError> {
        if !is_issuer(resource) {
            return Err(ConfigError::InvalidResource);
        }
        Ok(ProtectedResource {
            resource: resource.to_owned(),
            metadata_url: well_known_url(resource),
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            resource_name: None,
            resource_documentation: None,
            resource_policy_uri: None,
            resource_tos_uri: None,
            accept_unrestricted: false,
            advertise_metadata: true,
        })
    }

    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The URL of the metadata document (RFC 9728 §3.1), which the host
    /// serves with [`Server::protected_resource_metadata_response`].
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The issuers of the authorization servers that issue its tokens
    /// (`authorization_servers`). When none is given, the document names
    /// the issuer of the [`Server`] rendering it, if it has one.
    pub fn authorization_servers<'s>(mut self, issuers: impl IntoIterator<Item = &'s str>) -> Self {
        self.authorization_servers = issuers.into_iter().map(String::from).collect();
        self
    }

    /// The scopes used to ask for access to it (`scopes_supported`).
    pub fn scopes_supported<'s>(mut self, scopes: impl IntoIterator<Item = &'s str>) -> Self {
        self.scopes_supported = scopes.into_iter().map(String::from).collect();
        self
    }

    /// A human-readable name (`resource_name`).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// A page of documentation for developers (`resource_documentation`).
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// The page on how a client may use its data (`resource_policy_uri`).
    pub fn resource_policy_uri(mut self, url: impl Into<String>) -> Self {
        self.resource_policy_uri = Some(url.into());
        self
    }

    /// Its terms of service (`resource_tos_uri`).
    pub fn resource_tos_uri(mut self, url: impl Into<String>) -> Self {
        self.resource_tos_uri = Some(url.into());
        self
    }

    /// Whether its bearer check accepts a token issued without any
    /// audience (a client that sent no `resource`). Default: false, only
    /// tokens whose audience includes the identifier: a token asked for
    /// no resource in particular is not one for this resource.
    pub fn accept_unrestricted_tokens(mut self, accept: bool) -> Self {
        self.accept_unrestricted = accept;
        self
    }

    /// Whether its bearer check's challenges carry
    /// `resource_metadata="…"` (RFC 9728 §5.1). Default: true.
    pub fn advertise_metadata(mut self, advertise: bool) -> Self {
        self.advertise_metadata = advertise;
        self
    }

    /// Whether a token with audience `aud` may be used here.
    pub fn admits(&self, aud: &[String]) -> bool {
        if aud.is_empty() {
            return self.accept_unrestricted;
        }
        aud.contains(&self.resource)
    }

    /// The `resource_metadata` URL for a challenge, if advertised.
    pub(crate) fn challenge_metadata(&self) -> Option<&str> {
        self.advertise_metadata
            .then_some(self.metadata_url.as_str())
    }
}

impl<V: RequestValidator> Server<V> {
    /// [`verify_bearer`](Self::verify_bearer) at a protected resource:
    /// the token must also be for `resource` (RFC 8707): its audience
    /// ([`TokenInfo::aud`]) includes the resource identifier — or is
    /// empty, where the resource
    /// [accepts unrestricted tokens](ProtectedResource::accept_unrestricted_tokens)
    /// — else 401 `invalid_token` (RFC 6750 §3.1). Every challenge carries
    /// `resource_metadata` (RFC 9728 §5.1) unless the resource
    /// [says not to](ProtectedResource::advertise_metadata).
    ///
    /// ```
    /// use oauth2_provider::memory::MemoryValidator;
    /// use oauth2_provider::{ProtectedResource, Request, Server};
    /// let server = Server::resource_server(MemoryValidator::new());
    /// let api = ProtectedResource::new("https://api.example.com/").unwrap();
    /// let denied = server.verify_bearer_at(&Request::new("GET", "/", &[], b""), &api, &[]).unwrap_err();
    /// assert_eq!(denied.status, 401);
    /// assert_eq!(
    ///     denied.header("www-authenticate"),
    ///     Some(r#"Bearer realm="oauth2", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource""#)
    /// );
    /// ```
    pub fn verify_bearer_at(
        &self,
        request: &crate::Request<'_>,
        resource: &ProtectedResource,
        required_scopes: &[&str],
    ) -> Result<TokenInfo, Response> {
        self.check_bearer(request, required_scopes, Some(resource))
    }

    /// The RFC 9728 §2 metadata document of `resource`: `resource`,
    /// `authorization_servers` (the resource's, else this server's
    /// issuer), `scopes_supported`, `bearer_methods_supported` (the ways
    /// this server accepts a token: `header`, and `body` and `query` where
    /// enabled), the names and pages given. Arrays without elements are
    /// left out (§2).
    ///
    /// ```
    /// use oauth2_provider::memory::MemoryValidator;
    /// use oauth2_provider::{ProtectedResource, Server};
    /// let server = Server::builder(MemoryValidator::new()).issuer("https://as.example").build().unwrap();
    /// let api = ProtectedResource::new("https://api.example/").unwrap().scopes_supported(["read"]);
    /// assert_eq!(
    ///     server.protected_resource_metadata_json(&api),
    ///     r#"{"resource":"https://api.example/","authorization_servers":["https://as.example"],"scopes_supported":["read"],"bearer_methods_supported":["header"]}"#
    /// );
    /// ```
    pub fn protected_resource_metadata_json(&self, resource: &ProtectedResource) -> String {
        let mut json = JsonObject::with_capacity(256);
        json.string("resource", &resource.resource);
        if resource.authorization_servers.is_empty() {
            if let Some(issuer) = self.issuer() {
                json.string_array("authorization_servers", [issuer]);
            }
        } else {
            let servers = resource.authorization_servers.iter().map(String::as_str);
            json.string_array("authorization_servers", servers);
        }
        if !resource.scopes_supported.is_empty() {
            let scopes = resource.scopes_supported.iter().map(String::as_str);
            json.string_array("scopes_supported", scopes);
        }
        let methods = [
            ("header", true),
            ("body", self.config.bearer_in_body),
            ("query", self.config.bearer_in_query),
        ];
        json.string_array(
            "bearer_methods_supported",
            methods.iter().filter(|(_, on)| *on).map(|(m, _)| *m),
        );
        let texts = [
            ("resource_name", &resource.resource_name),
            ("resource_documentation", &resource.resource_documentation),
            ("resource_policy_uri", &resource.resource_policy_uri),
            ("resource_tos_uri", &resource.resource_tos_uri),
        ];
        for (key, value) in texts {
            if let Some(value) = value {
                json.string(key, value);
            }
        }
        json.finish()
    }

    /// The metadata document as the `200` JSON response of RFC 9728 §3.2.
    pub fn protected_resource_metadata_response(&self, resource: &ProtectedResource) -> Response {
        let mut response = Response::new(200).with_header("Content-Type", JSON_CONTENT_TYPE);
        response.body = self.protected_resource_metadata_json(resource).into_bytes();
        response
    }
}

/// The refusal of a token that is not for the resource.
pub(crate) fn wrong_audience() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidToken,
        "the access token is not for this resource",
    )
}
