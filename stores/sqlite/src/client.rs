//! [`ClientRecord`]: a registered client, as stored and as the library
//! sees it ([`Client`]).

use std::fmt;
use std::sync::Arc;

use oauth2_provider::secret::{sha256, StoredSecret};
use oauth2_provider::{Client, Grant, Scope};

use crate::StoreError;

/// A registered client of a [`SqliteStore`](crate::SqliteStore): what
/// [`add_client`](crate::SqliteStore::add_client) stores and
/// [`find_client`](oauth2_provider::ClientLookup::find_client) hands back.
///
/// Its secret is kept only as its SHA-256 digest; a client with a secret
/// is confidential. What nobody configured, nobody gets: no grant types,
/// no scopes, no introspection until set.
///
/// ```
/// use oauth2_provider::{Client, Grant};
/// use oauth2_provider_sqlite::ClientRecord;
/// let web = ClientRecord::confidential("web", "s3cret", ["https://web.example/cb"])
///     .grants([Grant::AuthorizationCode, Grant::RefreshToken])
///     .scopes(["read", "write"])
///     .default_scopes(["read"]);
/// assert!(web.is_confidential());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub(crate) client_id: Arc<str>,
    pub(crate) secret_sha256: Option<[u8; 32]>,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) grants: Vec<Grant>,
    pub(crate) scopes: Scope,
    pub(crate) default_scopes: Scope,
    pub(crate) pkce_required: bool,
    pub(crate) may_introspect: bool,
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

    /// A public client: no secret, and PKCE required of it.
    pub fn public<'u>(client_id: &str, redirect_uris: impl IntoIterator<Item = &'u str>) -> Self {
        ClientRecord {
            client_id: Arc::from(client_id),
            secret_sha256: None,
            redirect_uris: redirect_uris.into_iter().map(String::from).collect(),
            grants: Vec::new(),
            scopes: Scope::empty(),
            default_scopes: Scope::empty(),
            pkce_required: false,
            may_introspect: false,
        }
    }

    /// The grant types the client may use (none until set).
    pub fn grants(mut self, grants: impl IntoIterator<Item = Grant>) -> Self {
        self.grants = Grant::ALL.into_iter().collect::<Vec<_>>();
        let wanted: Vec<Grant> = grants.into_iter().collect();
        self.grants.retain(|g| wanted.contains(g));
        self
    }

    /// The scopes the client may have (none until set).
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

    /// Requires PKCE of the client even though it is confidential.
    pub fn pkce_required(mut self, required: bool) -> Self {
        self.pkce_required = required;
        self
    }

    /// Lets the client call the introspection endpoint (a confidential
    /// client only).
    pub fn may_introspect(mut self, allow: bool) -> Self {
        self.may_introspect = allow;
        self
    }

    /// The SHA-256 digest of the client's secret, `None` for a public
    /// client.
    pub fn secret_sha256(&self) -> Option<&[u8; 32]> {
        self.secret_sha256.as_ref()
    }

    /// The grant types the client may use, in [`Grant::ALL`]'s order.
    pub fn grant_types(&self) -> &[Grant] {
        &self.grants
    }

    /// The scopes the client may have.
    pub fn allowed_scopes(&self) -> &Scope {
        &self.scopes
    }

    /// The scopes granted when a request names none.
    pub fn default_scope(&self) -> &Scope {
        &self.default_scopes
    }

    /// Whether PKCE is required of the client even if it is confidential.
    pub fn requires_pkce(&self) -> bool {
        self.pkce_required
    }

    /// Checks what the columns cannot: redirect URIs and grant names are
    /// stored space-separated, so a URI may hold no whitespace (RFC 3986
    /// allows none).
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if self.client_id.is_empty() {
            return Err(StoreError::InvalidRecord("an empty client_id"));
        }
        if self
            .redirect_uris
            .iter()
            .any(|u| u.is_empty() || u.contains(char::is_whitespace))
        {
            return Err(StoreError::InvalidRecord(
                "a redirect URI that is empty or holds whitespace",
            ));
        }
        Ok(())
    }

    pub(crate) fn redirect_uris_column(&self) -> String {
        self.redirect_uris.join(" ")
    }

    pub(crate) fn grants_column(&self) -> String {
        let names: Vec<&str> = self.grants.iter().map(|g| g.as_str()).collect();
        names.join(" ")
    }

    /// A record from its columns (the scopes were valid when stored).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_columns(
        client_id: &str,
        secret_sha256: Option<Vec<u8>>,
        redirect_uris: &str,
        grants: &str,
        scopes: &str,
        default_scopes: &str,
        pkce_required: bool,
        may_introspect: bool,
    ) -> Result<Self, StoreError> {
        let secret_sha256 = match secret_sha256 {
            Some(d) => Some(
                <[u8; 32]>::try_from(d.as_slice())
                    .map_err(|_| StoreError::InvalidRecord("a secret digest of the wrong size"))?,
            ),
            None => None,
        };
        let scope = |text: &str| {
            Scope::parse(text).map_err(|_| StoreError::InvalidRecord("a malformed stored scope"))
        };
        Ok(ClientRecord {
            client_id: Arc::from(client_id),
            secret_sha256,
            redirect_uris: redirect_uris.split_whitespace().map(String::from).collect(),
            grants: grants
                .split_whitespace()
                .filter_map(Grant::from_name)
                .collect(),
            scopes: scope(scopes)?,
            default_scopes: scope(default_scopes)?,
            pkce_required,
            may_introspect,
        })
    }
}

impl fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRecord")
            .field("client_id", &self.client_id)
            .field("confidential", &self.secret_sha256.is_some())
            .field("redirect_uris", &self.redirect_uris)
            .field("grants", &self.grants)
            .field("scopes", &self.scopes)
            .field("default_scopes", &self.default_scopes)
            .field("pkce_required", &self.pkce_required)
            .field("may_introspect", &self.may_introspect)
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
        self.grants.contains(&grant)
    }

    fn may_introspect(&self) -> bool {
        self.may_introspect && self.secret_sha256.is_some()
    }
}
