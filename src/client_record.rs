//! [`ClientRecord`]: a client's registration as a store keeps it, and as
//! the library sees it ([`Client`]). The in-memory store and the database
//! stores share it, so that a client means the same wherever it is kept.

use std::fmt;
use std::sync::Arc;

use crate::client_auth::Client;
use crate::grant_type::Grant;
use crate::scope::Scope;
use crate::secret::{sha256, StoredSecret};

/// A registered client: identifier, secret (kept only as its SHA-256
/// digest, all a constant-time comparison needs), redirect URIs, grant
/// types, scopes, default scopes, the resources it may ask tokens for
/// (RFC 8707), and the two switches (PKCE even when confidential;
/// introspection).
///
/// What nobody configured, nobody gets: a new record may use no grant
/// type, has no scope, may name no resource and may not introspect. A client with a secret is
/// confidential.
///
/// ```
/// use oauth2_provider::{Client, ClientRecord, Grant};
/// let web = ClientRecord::confidential("web", "s3cret", ["https://web.example/cb"])
///     .grants(["authorization_code", "refresh_token"])
///     .scopes(["read", "write"])
///     .default_scopes(["read"]);
/// assert!(web.is_confidential());
/// assert!(web.allows_grant_type(Grant::RefreshToken));
/// assert!(!web.allows_grant_type(Grant::Password));
/// assert_eq!(web.allowed_scopes().as_str(), "read write");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// Shared with every record issued to the client: no copy per token.
    client_id: Arc<str>,
    secret_sha256: Option<[u8; 32]>,
    redirect_uris: Vec<String>,
    /// The grant types the client may use, one bit each
    /// ([`Grant::bit`]): none until configured.
    grants: u8,
    /// The scopes the client may have: none until configured.
    scopes: Scope,
    default_scopes: Scope,
    may_introspect: bool,
    pkce_required: bool,
    /// The resources (RFC 8707) the client may ask tokens for: none until
    /// configured.
    resources: Vec<String>,
    /// RFC 9126 §6: authorization requests only through the PAR endpoint.
    require_par: bool,
}

impl ClientRecord {
    /// A confidential client with a plaintext secret, kept as its SHA-256
    /// digest.
    pub fn confidential<'u>(
        client_id: &str,
        secret: &str,
        redirect_uris: impl IntoIterator<Item = &'u str>,
    ) -> Self {
        ClientRecord::confidential_hashed(client_id, sha256(secret.as_bytes()), redirect_uris)
    }

    /// A confidential client whose secret is given as its SHA-256 digest.
    pub fn confidential_hashed<'u>(
        client_id: &str,
        secret_sha256: [u8; 32],
        redirect_uris: impl IntoIterator<Item = &'u str>,
    ) -> Self {
        ClientRecord {
            secret_sha256: Some(secret_sha256),
            ..ClientRecord::public(client_id, redirect_uris)
        }
    }

    /// A public client (no secret; PKCE is required of it).
    pub fn public<'u>(client_id: &str, redirect_uris: impl IntoIterator<Item = &'u str>) -> Self {
        ClientRecord {
            client_id: Arc::from(client_id),
            secret_sha256: None,
            redirect_uris: redirect_uris.into_iter().map(String::from).collect(),
            grants: 0,
            scopes: Scope::empty(),
            default_scopes: Scope::empty(),
            may_introspect: false,
            pkce_required: false,
            resources: Vec::new(),
            require_par: false,
        }
    }

    /// The grant types the client may use, by name (`authorization_code`,
    /// `implicit`, `password`, `client_credentials`, `refresh_token`).
    /// A client given none may use none (`unauthorized_client`).
    ///
    /// # Panics
    /// If a name is none of these (a configuration error).
    pub fn grants<'g>(self, grants: impl IntoIterator<Item = &'g str>) -> Self {
        self.grant_types(
            grants
                .into_iter()
                .map(|name| Grant::from_name(name).expect("a grant type name")),
        )
    }

    /// The grant types the client may use, as values.
    pub fn grant_types(mut self, grants: impl IntoIterator<Item = Grant>) -> Self {
        self.grants = grants.into_iter().fold(0, |set, grant| set | grant.bit());
        self
    }

    /// The scopes the client may have. A client given none has none: a
    /// request naming a scope is `invalid_scope` (RFC 6749 §3.3), a request
    /// naming none gets the default scopes, which must be among these.
    ///
    /// # Panics
    /// If a scope token is malformed (a configuration error).
    pub fn scopes<'s>(mut self, scopes: impl IntoIterator<Item = &'s str>) -> Self {
        self.scopes = Scope::from_tokens(scopes).expect("valid scope tokens");
        self
    }

    /// The scopes granted when a request names none.
    ///
    /// # Panics
    /// If a scope token is malformed (a configuration error).
    pub fn default_scopes<'s>(mut self, scopes: impl IntoIterator<Item = &'s str>) -> Self {
        self.default_scopes = Scope::from_tokens(scopes).expect("valid scope tokens");
        self
    }

    /// The scopes as values, for a store reading them back.
    pub fn with_scopes(mut self, scopes: Scope, default_scopes: Scope) -> Self {
        self.scopes = scopes;
        self.default_scopes = default_scopes;
        self
    }

    /// The resources (RFC 8707 `resource` values) the client may ask
    /// tokens for, compared by exact string. A client given none may ask
    /// for none: a request naming one is `invalid_target`.
    ///
    /// # Panics
    /// If a value is not an absolute URI without a fragment (a
    /// configuration error).
    ///
    /// ```
    /// use oauth2_provider::{Client, ClientRecord};
    /// let app = ClientRecord::public("app", []).resources(["https://api.example.com/"]);
    /// assert!(app.allows_resource("https://api.example.com/"));
    /// assert!(!app.allows_resource("https://api.example.com"));
    /// assert!(!ClientRecord::public("other", []).allows_resource("https://api.example.com/"));
    /// ```
    pub fn resources<'r>(mut self, resources: impl IntoIterator<Item = &'r str>) -> Self {
        self.resources = crate::audience::Audience::parse(resources)
            .expect("resources must be absolute URIs without a fragment")
            .into_vec();
        self
    }

    /// The resources as a checked [`Audience`](crate::Audience), for a
    /// store reading them back.
    pub fn with_resources(mut self, resources: crate::Audience) -> Self {
        self.resources = resources.into_vec();
        self
    }

    /// The resources the client may ask tokens for.
    pub fn allowed_resources(&self) -> &[String] {
        &self.resources
    }

    /// Allows the client to call the introspection endpoint (a
    /// confidential client only: a public one never may).
    pub fn may_introspect(mut self, allow: bool) -> Self {
        self.may_introspect = allow;
        self
    }

    /// Requires PKCE even though the client is confidential.
    pub fn pkce_required(mut self, required: bool) -> Self {
        self.pkce_required = required;
        self
    }

    /// Requires pushed authorization requests (RFC 9126 §6): a plain
    /// authorization request of this client is refused.
    pub fn require_pushed_authorization_requests(mut self, required: bool) -> Self {
        self.require_par = required;
        self
    }

    /// The SHA-256 digest of the secret; `None` for a public client.
    pub fn secret_sha256(&self) -> Option<&[u8; 32]> {
        self.secret_sha256.as_ref()
    }

    /// The grant types the client may use, in [`Grant::ALL`]'s order.
    pub fn allowed_grants(&self) -> impl Iterator<Item = Grant> + '_ {
        Grant::ALL
            .into_iter()
            .filter(|g| self.grants & g.bit() != 0)
    }

    /// The scopes the client may have.
    pub fn allowed_scopes(&self) -> &Scope {
        &self.scopes
    }

    /// The scopes granted when a request names none.
    pub fn default_scope(&self) -> &Scope {
        &self.default_scopes
    }

    /// Whether PKCE is required even though the client is confidential.
    pub fn requires_pkce(&self) -> bool {
        self.pkce_required
    }
}

impl fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRecord")
            .field("client_id", &self.client_id)
            .field("confidential", &self.secret_sha256.is_some())
            .field("redirect_uris", &self.redirect_uris)
            .field("grants", &Grant::names_in(self.grants))
            .field("scopes", &self.scopes)
            .field("default_scopes", &self.default_scopes)
            .field("pkce_required", &self.pkce_required)
            .field("may_introspect", &self.may_introspect)
            .field("resources", &self.resources)
            .field("require_par", &self.require_par)
            .finish()
    }
}

impl Client for ClientRecord {
    fn client_id(&self) -> &str {
        &self.client_id
    }

    fn shared_client_id(&self) -> Arc<str> {
        Arc::clone(&self.client_id)
    }

    fn secret(&self) -> Option<StoredSecret<'_>> {
        self.secret_sha256.as_ref().map(StoredSecret::Sha256)
    }

    fn redirect_uris(&self) -> &[String] {
        &self.redirect_uris
    }

    fn allows_grant_type(&self, grant: Grant) -> bool {
        self.grants & grant.bit() != 0
    }

    fn may_introspect(&self) -> bool {
        self.may_introspect && self.secret_sha256.is_some()
    }

    fn allowed_scopes(&self) -> &Scope {
        &self.scopes
    }

    fn default_scope(&self) -> &Scope {
        &self.default_scopes
    }

    fn requires_pkce(&self) -> bool {
        self.pkce_required
    }

    fn allows_resource(&self, resource: &str) -> bool {
        self.resources.iter().any(|r| r == resource)
    }

    fn requires_pushed_authorization_requests(&self) -> bool {
        self.require_par
    }
}

/// A record shared by reference count (as the in-memory store hands its
/// clients out) is the same client.
impl Client for Arc<ClientRecord> {
    fn client_id(&self) -> &str {
        <ClientRecord as Client>::client_id(self)
    }

    fn shared_client_id(&self) -> Arc<str> {
        <ClientRecord as Client>::shared_client_id(self)
    }

    fn secret(&self) -> Option<StoredSecret<'_>> {
        <ClientRecord as Client>::secret(self)
    }

    fn redirect_uris(&self) -> &[String] {
        <ClientRecord as Client>::redirect_uris(self)
    }

    fn allows_grant_type(&self, grant: Grant) -> bool {
        <ClientRecord as Client>::allows_grant_type(self, grant)
    }

    fn may_introspect(&self) -> bool {
        <ClientRecord as Client>::may_introspect(self)
    }

    fn allowed_scopes(&self) -> &Scope {
        <ClientRecord as Client>::allowed_scopes(self)
    }

    fn default_scope(&self) -> &Scope {
        <ClientRecord as Client>::default_scope(self)
    }

    fn requires_pkce(&self) -> bool {
        <ClientRecord as Client>::requires_pkce(self)
    }

    fn allows_resource(&self, resource: &str) -> bool {
        <ClientRecord as Client>::allows_resource(self, resource)
    }

    fn requires_pushed_authorization_requests(&self) -> bool {
        <ClientRecord as Client>::requires_pushed_authorization_requests(self)
    }
}
