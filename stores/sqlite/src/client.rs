//! How a [`ClientRecord`] (the library's, shared with the in-memory
//! store) maps onto the `clients` table: checks the columns cannot make,
//! and the conversions both ways.

use oauth2_provider::{Audience, Client, ClientRecord, Grant, Scope};

use crate::StoreError;

/// Checks what the columns cannot: redirect URIs and grant names are
/// stored space-separated, so a URI may hold no whitespace (RFC 3986
/// allows none).
pub(crate) fn check(client: &ClientRecord) -> Result<(), StoreError> {
    if client.client_id().is_empty() {
        return Err(StoreError::InvalidRecord("an empty client_id"));
    }
    if client
        .redirect_uris()
        .iter()
        .any(|u| u.is_empty() || u.contains(char::is_whitespace))
    {
        return Err(StoreError::InvalidRecord(
            "a redirect URI that is empty or holds whitespace",
        ));
    }
    Ok(())
}

pub(crate) fn redirect_uris_column(client: &ClientRecord) -> String {
    client.redirect_uris().join(" ")
}

pub(crate) fn resources_column(client: &ClientRecord) -> String {
    client.allowed_resources().join(" ")
}

pub(crate) fn grants_column(client: &ClientRecord) -> String {
    let names: Vec<&str> = client.allowed_grants().map(Grant::as_str).collect();
    names.join(" ")
}

/// A record from its columns (the scopes were valid when stored).
#[allow(clippy::too_many_arguments)]
pub(crate) fn from_columns(
    client_id: &str,
    secret_sha256: Option<&[u8]>,
    redirect_uris: &str,
    grants: &str,
    scopes: &str,
    default_scopes: &str,
    pkce_required: bool,
    may_introspect: bool,
    resources: &str,
    require_par: bool,
) -> Result<ClientRecord, StoreError> {
    let redirect_uris = redirect_uris.split_whitespace();
    let record = match secret_sha256 {
        Some(d) => ClientRecord::confidential_hashed(
            client_id,
            <[u8; 32]>::try_from(d)
                .map_err(|_| StoreError::InvalidRecord("a secret digest of the wrong size"))?,
            redirect_uris,
        ),
        None => ClientRecord::public(client_id, redirect_uris),
    };
    let scope = |text: &str| {
        Scope::parse(text).map_err(|_| StoreError::InvalidRecord("a malformed stored scope"))
    };
    Ok(record
        .grant_types(grants.split_whitespace().filter_map(Grant::from_name))
        .with_scopes(scope(scopes)?, scope(default_scopes)?)
        .pkce_required(pkce_required)
        .may_introspect(may_introspect)
        .require_pushed_authorization_requests(require_par)
        .with_resources(
            Audience::parse(resources.split_whitespace())
                .map_err(|_| StoreError::InvalidRecord("a malformed stored resource"))?,
        ))
}
