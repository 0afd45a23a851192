//! [`Server`]: every endpoint over one validator, configured once with
//! [`ServerBuilder`] and then shared, immutable, across threads.

use std::fmt;

use crate::error::OAuthError;
pub use crate::grant_type::Grant;
use crate::redirect_uri::{is_absolute_without_fragment, loopback_parts};
use crate::token::{RandomTokenGenerator, TokenGenerator, TokenKind};
use crate::validator::RequestValidator;

/// Where the endpoints are served, relative to the issuer (or absolute),
/// for the metadata document (RFC 8414).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointPaths {
    /// The authorization endpoint.
    pub authorization: String,
    /// The token endpoint.
    pub token: String,
    /// The revocation endpoint (RFC 7009).
    pub revocation: String,
    /// The introspection endpoint (RFC 7662).
    pub introspection: String,
    /// The pushed authorization request endpoint (RFC 9126).
    pub pushed_authorization: String,
    /// The device authorization endpoint (RFC 8628 §3.1).
    pub device_authorization: String,
}

impl Default for EndpointPaths {
    fn default() -> Self {
        EndpointPaths {
            authorization: "/authorize".into(),
            token: "/token".into(),
            revocation: "/revoke".into(),
            introspection: "/introspect".into(),
            pushed_authorization: "/par".into(),
            device_authorization: "/device_authorization".into(),
        }
    }
}

/// A clock: seconds since the Unix epoch.
pub type Clock = Box<dyn Fn() -> u64 + Send + Sync>;

/// Server configuration. Build it with [`ServerBuilder`].
pub struct Config {
    pub(crate) grants: u8,
    pub(crate) issuer: Option<String>,
    pub(crate) realm: String,
    pub(crate) access_token_lifetime: u64,
    pub(crate) code_lifetime: u64,
    pub(crate) refresh_token_lifetime: u64,
    pub(crate) pushed_request_lifetime: u64,
    pub(crate) require_pushed_authorization_requests: bool,
    pub(crate) allow_plain_pkce: bool,
    pub(crate) bearer_in_body: bool,
    pub(crate) bearer_in_query: bool,
    pub(crate) endpoints: EndpointPaths,
    /// RFC 8628 §3.2 `verification_uri`: where the user enters the code.
    pub(crate) device_verification_uri: Option<String>,
    pub(crate) device_code_lifetime: u64,
    pub(crate) device_poll_interval: u64,
    /// §5.1: at most this many wrong user codes per subject…
    pub(crate) user_code_attempts: u32,
    /// …within this many seconds.
    pub(crate) user_code_window: u64,
    pub(crate) scopes_supported: Vec<String>,
    /// RFC 9728 §4: the protected resources its tokens are for.
    pub(crate) protected_resources: Vec<String>,
    pub(crate) token_generator: Box<dyn TokenGenerator>,
    pub(crate) clock: Clock,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("grants", &Grant::names_in(self.grants))
            .field("issuer", &self.issuer)
            .field("realm", &self.realm)
            .field("access_token_lifetime", &self.access_token_lifetime)
            .field("code_lifetime", &self.code_lifetime)
            .field("refresh_token_lifetime", &self.refresh_token_lifetime)
            .field("pushed_request_lifetime", &self.pushed_request_lifetime)
            .field(
                "require_pushed_authorization_requests",
                &self.require_pushed_authorization_requests,
            )
            .field("allow_plain_pkce", &self.allow_plain_pkce)
            .field("bearer_in_body", &self.bearer_in_body)
            .field("bearer_in_query", &self.bearer_in_query)
            .field("endpoints", &self.endpoints)
            .field("device_verification_uri", &self.device_verification_uri)
            .field("device_code_lifetime", &self.device_code_lifetime)
            .field("device_poll_interval", &self.device_poll_interval)
            .field("user_code_attempts", &self.user_code_attempts)
            .field("user_code_window", &self.user_code_window)
            .finish()
    }
}

/// Why a [`ServerBuilder`] refused to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// A grant is enabled but no issuer is configured: an authorization
    /// server needs one for `iss` (RFC 9207) and its metadata (RFC 8414).
    /// A resource server enables no grant ([`Server::resource_server`]).
    MissingIssuer,
    /// The issuer is not an absolute `https` URL without query or fragment
    /// (RFC 8414 §2); `http` is accepted on a loopback host only
    /// (`127.0.0.1`, `[::1]`, `localhost`), for development.
    InvalidIssuer,
    /// An access token, code or refresh token lifetime is 0 or longer than
    /// [`MAX_LIFETIME`] (ten years): neither can be meant.
    InvalidLifetime,
    /// The realm holds a control character (CR, LF, TAB, NUL, …), which
    /// a `WWW-Authenticate` quoted-string cannot carry (RFC 9110 §5.6.4):
    /// refused rather than sent as another realm than the one configured.
    InvalidRealm,
    /// A protected resource's identifier or a listed protected resource
    /// is not an https URL (http only on a loopback host) without query
    /// or fragment (RFC 9728 §1.2).
    InvalidResource,
    /// The device authorization grant is enabled without a verification
    /// URI ([`ServerBuilder::device_verification_uri`]), or with one that
    /// is not an absolute https URL without fragment (http only on a
    /// loopback host); or its polling interval or user code throttle is 0.
    InvalidDeviceConfig,
}

/// The refresh token lifetime unless configured: 30 days.
pub const DEFAULT_REFRESH_TOKEN_LIFETIME: u64 = 30 * 24 * 3600;

/// The longest lifetime a server accepts for anything it issues: ten
/// years, in seconds. Longer cannot be meant, and would let expiry
/// arithmetic near `u64::MAX`.
pub const MAX_LIFETIME: u64 = 10 * 365 * 24 * 3600;

/// The longest window of the user-code throttle
/// ([`ServerBuilder::user_code_attempts`]): a day. Stores may forget
/// entries older than that (their purge does).
pub const USER_CODE_WINDOW_MAX: u64 = 24 * 3600;

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::MissingIssuer => {
                "an authorization server needs an issuer (ServerBuilder::issuer)"
            }
            ConfigError::InvalidIssuer => {
                "the issuer must be an absolute https URL without query or fragment \
                 (http only on a loopback host)"
            }
            ConfigError::InvalidLifetime => {
                "a token or code lifetime must be at least one second and at most ten years"
            }
            ConfigError::InvalidRealm => "the realm must not contain control characters",
            ConfigError::InvalidResource => {
                "a protected resource identifier must be an absolute https URL without query \
                 or fragment (http only on a loopback host)"
            }
            ConfigError::InvalidDeviceConfig => {
                "the device grant needs a verification URI (an absolute https URL without \
                 fragment, http only on a loopback host), a polling interval and a user code \
                 attempt limit of at least 1"
            }
        })
    }
}

impl std::error::Error for ConfigError {}

/// Whether `issuer` is an issuer identifier (RFC 8414 §2): an absolute
/// `https` URL with a host and no query or fragment, or an `http` one on a
/// loopback host (as RFC 8252 §7.3 allows for redirects), for development.
pub(crate) fn is_issuer(issuer: &str) -> bool {
    let has_host = match issuer.strip_prefix("https://") {
        Some(rest) => {
            let authority = rest.split('/').next().unwrap_or_default();
            !authority.is_empty() && !authority.starts_with(':') && !authority.contains('@')
        }
        None => loopback_parts(issuer).is_some(),
    };
    has_host && is_absolute_without_fragment(issuer) && !issuer.contains('?')
}

/// Whether `uri` can be a device verification URI (RFC 8628 §3.2): an
/// absolute `https` URL with a host and no fragment (or `http` on a
/// loopback host). A query is allowed: `user_code` is appended to it.
fn is_verification_uri(uri: &str) -> bool {
    let without_query = uri.split('?').next().unwrap_or_default();
    is_issuer(without_query) && is_absolute_without_fragment(uri)
}

/// Configures a [`Server`].
///
/// Defaults: authorization code, client credentials and refresh token
/// enabled (implicit, password and device code off), access tokens for 3600 s, codes
/// for 600 s, refresh tokens for 30 days, PKCE `S256` only, bearer tokens
/// only in the `Authorization` header, realm `"oauth2"`, random 256-bit
/// tokens, the system clock. The issuer has no default: an authorization
/// server must name itself, and [`build`](Self::build) refuses one that
/// does not.
///
/// ```
/// use oauth2_provider::memory::MemoryValidator;
/// use oauth2_provider::{Grant, Server};
/// let server = Server::builder(MemoryValidator::new())
///     .issuer("https://auth.example.com")
///     .enable(Grant::Password)
///     .access_token_lifetime(900)
///     .build()
///     .unwrap();
/// assert!(server.is_enabled(Grant::Password));
/// assert!(!server.is_enabled(Grant::Implicit));
/// ```
pub struct ServerBuilder<V> {
    validator: V,
    config: Config,
}

impl<V: RequestValidator> ServerBuilder<V> {
    /// A builder with the defaults above.
    pub fn new(validator: V) -> Self {
        ServerBuilder {
            validator,
            config: Config {
                grants: Grant::AuthorizationCode.bit()
                    | Grant::ClientCredentials.bit()
                    | Grant::RefreshToken.bit(),
                issuer: None,
                realm: "oauth2".into(),
                access_token_lifetime: 3600,
                code_lifetime: 600,
                refresh_token_lifetime: DEFAULT_REFRESH_TOKEN_LIFETIME,
                pushed_request_lifetime: 60,
                require_pushed_authorization_requests: false,
                allow_plain_pkce: false,
                bearer_in_body: false,
                bearer_in_query: false,
                endpoints: EndpointPaths::default(),
                device_verification_uri: None,
                device_code_lifetime: 600,
                device_poll_interval: 5,
                user_code_attempts: 10,
                user_code_window: 300,
                scopes_supported: Vec::new(),
                protected_resources: Vec::new(),
                token_generator: Box::new(RandomTokenGenerator),
                clock: Box::new(crate::clock::unix_seconds),
            },
        }
    }

    /// Turns a grant on.
    pub fn enable(mut self, grant: Grant) -> Self {
        self.config.grants |= grant.bit();
        self
    }

    /// Turns every grant off: a resource server, which needs no issuer
    /// (see [`Server::resource_server`]).
    ///
    /// ```
    /// use oauth2_provider::memory::MemoryValidator;
    /// use oauth2_provider::Server;
    /// let server = Server::builder(MemoryValidator::new())
    ///     .resource_server_only()
    ///     .realm("api")
    ///     .bearer_in_query(true)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(server.issuer(), None);
    /// ```
    pub fn resource_server_only(mut self) -> Self {
        self.config.grants = 0;
        self
    }

    /// Turns a grant off.
    pub fn disable(mut self, grant: Grant) -> Self {
        self.config.grants &= !grant.bit();
        self
    }

    /// The issuer identifier (RFC 8414, RFC 9207): an `https` URL without
    /// query or fragment (`http` on a loopback host, for development). Sent
    /// as `iss` in authorization responses; the metadata's endpoint URLs
    /// start with it. Required unless no grant is enabled.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.config.issuer = Some(issuer.into());
        self
    }

    /// The realm in `WWW-Authenticate` challenges. A control character in
    /// it makes [`build`](Self::build) fail with
    /// [`ConfigError::InvalidRealm`].
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.config.realm = realm.into();
        self
    }

    /// Access token lifetime, seconds.
    pub fn access_token_lifetime(mut self, seconds: u64) -> Self {
        self.config.access_token_lifetime = seconds;
        self
    }

    /// Authorization code lifetime, seconds (RFC 6749 §4.1.2: ten minutes at most is recommended).
    pub fn code_lifetime(mut self, seconds: u64) -> Self {
        self.config.code_lifetime = seconds;
        self
    }

    /// Pushed authorization request lifetime (RFC 9126 §2.2 `expires_in`),
    /// seconds: 60 unless set. The RFC suggests 5 to 600; a request URI
    /// outlives neither its lifetime nor its first authorization response.
    pub fn pushed_request_lifetime(mut self, seconds: u64) -> Self {
        self.config.pushed_request_lifetime = seconds;
        self
    }

    /// Requires every client to push its authorization requests (RFC 9126
    /// §5, metadata `require_pushed_authorization_requests`): a plain
    /// authorization request is refused. Off unless set; a client can
    /// require it for itself
    /// ([`Client::requires_pushed_authorization_requests`](crate::Client::requires_pushed_authorization_requests)).
    pub fn require_pushed_authorization_requests(mut self, required: bool) -> Self {
        self.config.require_pushed_authorization_requests = required;
        self
    }

    /// The device authorization grant's `verification_uri` (RFC 8628
    /// §3.2): the page where the user enters the user code (the host's,
    /// which calls [`Server::device_verification`] and
    /// [`Server::device_decision`]). Required to enable
    /// [`Grant::DeviceCode`]: an absolute `https` URL without fragment
    /// (`http` on a loopback host), else [`build`](Self::build) fails with
    /// [`ConfigError::InvalidDeviceConfig`]. `verification_uri_complete`
    /// is it with `user_code` added to its query.
    ///
    /// ```
    /// use oauth2_provider::memory::MemoryValidator;
    /// use oauth2_provider::{ConfigError, Grant, Server};
    /// let without = Server::builder(MemoryValidator::new())
    ///     .issuer("https://as.example")
    ///     .enable(Grant::DeviceCode)
    ///     .build();
    /// assert_eq!(without.err(), Some(ConfigError::InvalidDeviceConfig));
    /// let server = Server::builder(MemoryValidator::new())
    ///     .issuer("https://as.example")
    ///     .enable(Grant::DeviceCode)
    ///     .device_verification_uri("https://as.example/device")
    ///     .build()
    ///     .unwrap();
    /// assert!(server.is_enabled(Grant::DeviceCode));
    /// ```
    pub fn device_verification_uri(mut self, uri: impl Into<String>) -> Self {
        self.config.device_verification_uri = Some(uri.into());
        self
    }

    /// How long a device code and its user code live (RFC 8628 §3.2
    /// `expires_in`), seconds: 600 unless set.
    pub fn device_code_lifetime(mut self, seconds: u64) -> Self {
        self.config.device_code_lifetime = seconds;
        self
    }

    /// The device's minimum polling interval (RFC 8628 §3.2 `interval`),
    /// seconds: 5 unless set (the RFC's default). Each `slow_down` adds 5
    /// to it for that device code.
    pub fn device_poll_interval(mut self, seconds: u64) -> Self {
        self.config.device_poll_interval = seconds;
        self
    }

    /// The throttle on user code guesses (RFC 8628 §5.1): a user who
    /// entered `max` codes within the last `window_seconds` is refused
    /// (`temporarily_unavailable`) until the oldest leaves the window.
    /// Every code entered counts, right or wrong (see
    /// [`RequestValidator::record_user_code_attempt`]): a verification
    /// page that looks a code up to show it, then records the decision,
    /// spends two. 10 per 300 s unless set: an attacker then tries some
    /// 2 880 codes a day per account, of 20^8, while a live code lives ten
    /// minutes. The count is per user: a host whose users sign themselves
    /// up should also limit the page per client address. A `max` of 0, or
    /// a window over [`USER_CODE_WINDOW_MAX`] (a day), is
    /// [`ConfigError::InvalidDeviceConfig`] (with the grant on); a window
    /// of 0, [`ConfigError::InvalidLifetime`].
    pub fn user_code_attempts(mut self, max: u32, window_seconds: u64) -> Self {
        self.config.user_code_attempts = max;
        self.config.user_code_window = window_seconds;
        self
    }

    /// Refresh token lifetime, seconds: 30 days unless set. Every refresh
    /// token expires, so a store keeps a rotated one (for reuse detection,
    /// RFC 9700 §4.14.2) and a revoked grant's marker only that long.
    pub fn refresh_token_lifetime(mut self, seconds: u64) -> Self {
        self.config.refresh_token_lifetime = seconds;
        self
    }

    /// Allows the PKCE `plain` method (RFC 7636 §4.2; legacy clients only).
    pub fn allow_plain_pkce(mut self, allow: bool) -> Self {
        self.config.allow_plain_pkce = allow;
        self
    }

    /// Accepts bearer tokens in a form body `access_token` (RFC 6750 §2.2).
    pub fn bearer_in_body(mut self, allow: bool) -> Self {
        self.config.bearer_in_body = allow;
        self
    }

    /// Accepts bearer tokens in the `access_token` query parameter (RFC 6750 §2.3).
    pub fn bearer_in_query(mut self, allow: bool) -> Self {
        self.config.bearer_in_query = allow;
        self
    }

    /// Where the endpoints are served (for metadata).
    pub fn endpoints(mut self, endpoints: EndpointPaths) -> Self {
        self.config.endpoints = endpoints;
        self
    }

    /// The scopes advertised in metadata.
    pub fn scopes_supported<'s>(mut self, scopes: impl IntoIterator<Item = &'s str>) -> Self {
        self.config.scopes_supported = scopes.into_iter().map(String::from).collect();
        self
    }

    /// The resource identifiers of the protected resources that accept
    /// this server's tokens, listed as `protected_resources` in the
    /// metadata (RFC 9728 §4). Each must be a valid protected resource
    /// identifier ([`ProtectedResource::new`](crate::ProtectedResource::new)),
    /// else [`build`](Self::build) fails with
    /// [`ConfigError::InvalidResource`].
    pub fn protected_resources<'r>(mut self, resources: impl IntoIterator<Item = &'r str>) -> Self {
        self.config.protected_resources = resources.into_iter().map(String::from).collect();
        self
    }

    /// Replaces the token generator.
    pub fn token_generator(mut self, generator: impl TokenGenerator + 'static) -> Self {
        self.config.token_generator = Box::new(generator);
        self
    }

    /// Replaces the clock (tests, or hosts with their own time source).
    pub fn clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.config.clock = Box::new(clock);
        self
    }

    /// The configured server, or why it cannot be built: an enabled grant
    /// needs an issuer ([`ConfigError::MissingIssuer`]), an issuer must be
    /// an absolute URL ([`ConfigError::InvalidIssuer`]), and lifetimes lie
    /// between one second and ten years ([`ConfigError::InvalidLifetime`]),
    /// and the realm has no control character ([`ConfigError::InvalidRealm`]).
    pub fn build(self) -> Result<Server<V>, ConfigError> {
        let config = &self.config;
        match &config.issuer {
            Some(issuer) if !is_issuer(issuer) => return Err(ConfigError::InvalidIssuer),
            None if config.grants != 0 => return Err(ConfigError::MissingIssuer),
            _ => {}
        }
        let lifetimes = [
            config.access_token_lifetime,
            config.code_lifetime,
            config.refresh_token_lifetime,
            config.pushed_request_lifetime,
            config.device_code_lifetime,
            config.user_code_window,
        ];
        if lifetimes.iter().any(|l| !(1..=MAX_LIFETIME).contains(l)) {
            return Err(ConfigError::InvalidLifetime);
        }
        if config.realm.chars().any(char::is_control) {
            return Err(ConfigError::InvalidRealm);
        }
        if !config.protected_resources.iter().all(|r| is_issuer(r)) {
            return Err(ConfigError::InvalidResource);
        }
        if config.grants & Grant::DeviceCode.bit() != 0 {
            let uri_ok = config
                .device_verification_uri
                .as_deref()
                .is_some_and(is_verification_uri);
            let interval_ok = (1..=MAX_LIFETIME).contains(&config.device_poll_interval);
            // Stores keep entries a day (`USER_CODE_WINDOW_MAX`): a longer
            // window would count less than it says once they purge.
            let window_ok = config.user_code_window <= USER_CODE_WINDOW_MAX;
            if !uri_ok || !interval_ok || !window_ok || config.user_code_attempts == 0 {
                return Err(ConfigError::InvalidDeviceConfig);
            }
        }
        Ok(Server {
            validator: self.validator,
            config: self.config,
        })
    }
}

/// An OAuth 2.0 authorization server and resource server: every endpoint,
/// over one [`RequestValidator`].
///
/// Immutable once built, `Send + Sync` when the validator is: share one
/// `Server` (for example in an `Arc`) across every serving thread. Its
/// endpoints are methods, defined in [`crate::endpoint`]:
/// [`token_response`](Server::token_response),
/// [`validate_authorization_request`](Server::validate_authorization_request)
/// and [`authorize`](Server::authorize),
/// [`revocation_response`](Server::revocation_response),
/// [`introspection_response`](Server::introspection_response),
/// [`verify_bearer`](Server::verify_bearer),
/// [`metadata_response`](Server::metadata_response), and for the device
/// grant [`device_authorization_response`](Server::device_authorization_response),
/// [`device_verification`](Server::device_verification) and
/// [`device_decision`](Server::device_decision).
pub struct Server<V> {
    pub(crate) validator: V,
    pub(crate) config: Config,
}

impl<V: RequestValidator> Server<V> {
    /// A [`ServerBuilder`] with the defaults.
    pub fn builder(validator: V) -> ServerBuilder<V> {
        ServerBuilder::new(validator)
    }

    /// A resource server: it checks bearer tokens
    /// ([`verify_bearer`](Server::verify_bearer)), and answers revocation
    /// and introspection, but issues nothing: every grant is off, so it
    /// needs no issuer, and it has no authorization endpoint or metadata.
    /// For its other settings (realm, bearer token locations, clock), use
    /// [`Server::builder`] with [`ServerBuilder::resource_server_only`].
    ///
    /// ```
    /// use oauth2_provider::memory::MemoryValidator;
    /// use oauth2_provider::{Grant, Server};
    /// let server = Server::resource_server(MemoryValidator::new());
    /// assert!(Grant::ALL.iter().all(|g| !server.is_enabled(*g)));
    /// assert_eq!(server.metadata_response().status, 404);
    /// ```
    pub fn resource_server(validator: V) -> Self {
        let builder = ServerBuilder::new(validator).resource_server_only();
        Server {
            config: builder.config,
            validator: builder.validator,
        }
    }

    /// The validator.
    pub fn validator(&self) -> &V {
        &self.validator
    }

    /// Whether `grant` is enabled.
    pub fn is_enabled(&self, grant: Grant) -> bool {
        self.config.grants & grant.bit() != 0
    }

    /// The configured issuer.
    pub fn issuer(&self) -> Option<&str> {
        self.config.issuer.as_deref()
    }

    /// The realm of `WWW-Authenticate` challenges.
    pub fn realm(&self) -> &str {
        &self.config.realm
    }

    /// The server's current time, seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        (self.config.clock)()
    }

    /// The values one request issues, from one call of the generator.
    pub(crate) fn generate<const N: usize>(
        &self,
        kinds: [TokenKind; N],
    ) -> Result<[String; N], OAuthError> {
        let mut values = [const { String::new() }; N];
        self.config
            .token_generator
            .generate_all(&kinds, &mut values)?;
        Ok(values)
    }
}

impl<V> fmt::Debug for Server<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
