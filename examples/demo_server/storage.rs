//! Where the demo keeps its state. Any store of the library's contract
//! serves; the app asks two more things of one: checking a user's
//! password on the login page, and purging what has expired.
//!
//! Two stores: an SQLite file (the default; a restart loses nothing, and
//! several servers may share the file) and the library's in-memory
//! `MemoryValidator` (`--memory`).

use oauth2_provider::memory::MemoryValidator;
use oauth2_provider::RequestValidator;
use oauth2_provider_sqlite::{ClientRecord, SqliteStore, StoreError};

use super::realm::{Realm, RealmClient};

/// A store the demo can run on.
pub trait Store: RequestValidator + 'static {
    /// Whether `password` is `username`'s.
    fn check_user(&self, username: &str, password: &str) -> bool;

    /// Forgets codes and tokens expired at `now`, keeping what replay and
    /// reuse detection still need.
    fn purge_expired(&self, now: u64);
}

impl Store for MemoryValidator {
    fn check_user(&self, username: &str, password: &str) -> bool {
        MemoryValidator::check_user(self, username, password)
    }

    fn purge_expired(&self, now: u64) {
        MemoryValidator::purge_expired(self, now);
    }
}

impl Store for SqliteStore {
    fn check_user(&self, username: &str, password: &str) -> bool {
        // A store that cannot answer lets no one in.
        SqliteStore::check_user(self, username, password).unwrap_or(false)
    }

    fn purge_expired(&self, now: u64) {
        if let Err(e) = SqliteStore::purge_expired(self, now) {
            eprintln!("demo_server: purge failed: {e}");
        }
    }
}

/// Opens (or creates) the SQLite file `path` and makes its clients and
/// users the realm's: clients are registered afresh, a user's password is
/// set unless it is already the realm's, and a client or user the realm no
/// longer names is removed (a client with its codes and tokens: what the
/// configuration no longer grants, nobody keeps). Everything else already
/// in the file stays: a restart loses nothing.
pub fn open_sqlite(path: &str, realm: &Realm) -> Result<SqliteStore, StoreError> {
    let store = SqliteStore::open(path)?.on_error(|e| eprintln!("demo_server: store: {e}"));
    for stale in store.list_clients()? {
        let id = oauth2_provider::Client::client_id(&stale);
        if !realm.clients.iter().any(|c| c.id == id) {
            store.remove_client(id)?;
        }
    }
    for stale in store.list_users()? {
        if !realm.users.iter().any(|u| u.name == stale) {
            store.remove_user(&stale)?;
        }
    }
    for client in &realm.clients {
        store.upsert_client(&sqlite_client(client))?;
    }
    for user in &realm.users {
        // Hashing is slow by design: skip it when nothing changed.
        if !SqliteStore::check_user(&store, &user.name, &user.password)? {
            store.add_user(&user.name, &user.password)?;
        }
    }
    Ok(store)
}

/// A realm client as the SQLite store registers it.
fn sqlite_client(client: &RealmClient) -> ClientRecord {
    let redirects = client.redirect_uris.iter().map(String::as_str);
    let record = match &client.secret_sha256 {
        Some(digest) => ClientRecord::confidential_hashed(&client.id, *digest, redirects),
        None => ClientRecord::public(&client.id, redirects),
    };
    record
        .grants(client.grants.iter().map(String::as_str))
        .scopes(client.scopes.iter().map(String::as_str))
        .default_scopes(client.default_scopes.iter().map(String::as_str))
        .may_introspect(client.may_introspect)
        .pkce_required(client.pkce_required)
}
