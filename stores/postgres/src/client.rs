//! How a [`ClientRecord`] (the library's, shared with the other stores)
//! maps onto the `oauth2_clients` table: redirect URIs and grant names as
//! `TEXT[]` arrays, scopes as their space-separated text.

use oauth2_provider::{Audience, Client, ClientRecord, Grant, Scope};

use crate::StoreError;

/// Checks what the columns cannot: an identifier, and redirect URIs that
/// are not empty.
pub(crate) fn check(client: &ClientRecord) -> Result<(), StoreError> {
    if client.client_id().is_empty() {
        return Err(StoreError::InvalidRecord("an empty client_id"));
    }
    if client.redirect_uris().iter().any(|u| u.is_empty()) {
        return Err(StoreError::InvalidRecord("an empty redirect URI"));
    }
    Ok(())
}

pub(crate) fn grants_column(client: &ClientRecord) -> Vec<&'static str> {
    client.allowed_grants().map(Grant::as_str).collect()
}

/// A record from a row of `SELECT_CLIENT` (the scopes were valid when
/// stored).
pub(crate) fn from_row(row: &postgres::Row) -> Result<ClientRecord, StoreError> {
    let client_id: &str = row.try_get(0)?;
    let secret: Option<&[u8]> = row.try_get(1)?;
    let redirect_uris: Vec<String> = row.try_get(2)?;
    let grants: Vec<String> = row.try_get(3)?;
    let resources: Vec<String> = row.try_get(8)?;
    let record = match secret {
        Some(d) => ClientRecord::confidential_hashed(
            client_id,
            <[u8; 32]>::try_from(d)
                .map_err(|_| StoreError::InvalidRecord("a secret digest of the wrong size"))?,
            redirect_uris.iter().map(String::as_str),
        ),
        None => ClientRecord::public(client_id, redirect_uris.iter().map(String::as_str)),
    };
    let scope = |text: &str| {
        Scope::parse(text).map_err(|_| StoreError::InvalidRecord("a malformed stored scope"))
    };
    Ok(record
        .grant_types(grants.iter().filter_map(|g| Grant::from_name(g)))
        .with_scopes(scope(row.try_get(4)?)?, scope(row.try_get(5)?)?)
        .pkce_required(row.try_get(6)?)
        .may_introspect(row.try_get(7)?)
        .require_pushed_authorization_requests(row.try_get(9)?)
        .with_resources(
            Audience::parse(resources.iter().map(String::as_str))
                .map_err(|_| StoreError::InvalidRecord("a malformed stored resource"))?,
        ))
}
