//! Where the demo keeps its state. Any store of the library's contract
//! serves; the app asks two more things of one: checking a user's
//! password on the login page, and purging what has expired.
//!
//! Three stores: an SQLite file (the default; a restart loses nothing, and
//! several servers may share the file), a PostgreSQL database
//! (`--postgres`; several servers on several machines may share it) and
//! the library's in-memory `MemoryValidator` (`--memory`).

use std::fmt::Display;

use oauth2_provider::memory::MemoryValidator;
use oauth2_provider::{ClientRecord, RequestValidator};
use oauth2_provider_postgres::PostgresStore;
use oauth2_provider_sqlite::SqliteStore;

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

/// What the demo asks of a database store: `Store`, and the
/// administrative calls that make its clients and users the realm's. The
/// SQLite and PostgreSQL stores have the same ones.
pub trait Registry: Store {
    /// Why a call failed.
    type Error: Display;
    fn list_clients(&self) -> Result<Vec<ClientRecord>, Self::Error>;
    fn remove_client(&self, client_id: &str) -> Result<bool, Self::Error>;
    fn upsert_client(&self, client: &ClientRecord) -> Result<(), Self::Error>;
    fn list_users(&self) -> Result<Vec<String>, Self::Error>;
    fn remove_user(&self, username: &str) -> Result<bool, Self::Error>;
    fn is_password(&self, username: &str, password: &str) -> Result<bool, Self::Error>;
    fn add_user(&self, username: &str, password: &str) -> Result<(), Self::Error>;
}

/// `Store` and `Registry` for a database store, by its own methods.
macro_rules! database_store {
    ($store:ident, $error:ty) => {
        impl Store for $store {
            fn check_user(&self, username: &str, password: &str) -> bool {
                // A store that cannot answer lets no one in.
                $store::check_user(self, username, password).unwrap_or(false)
            }

            fn purge_expired(&self, now: u64) {
                if let Err(e) = $store::purge_expired(self, now) {
                    eprintln!("demo_server: purge failed: {e}");
                }
            }
        }

        impl Registry for $store {
            type Error = $error;
            fn list_clients(&self) -> Result<Vec<ClientRecord>, $error> {
                $store::list_clients(self)
            }
            fn remove_client(&self, client_id: &str) -> Result<bool, $error> {
                $store::remove_client(self, client_id)
            }
            fn upsert_client(&self, client: &ClientRecord) -> Result<(), $error> {
                $store::upsert_client(self, client)
            }
            fn list_users(&self) -> Result<Vec<String>, $error> {
                $store::list_users(self)
            }
            fn remove_user(&self, username: &str) -> Result<bool, $error> {
                $store::remove_user(self, username)
            }
            fn is_password(&self, username: &str, password: &str) -> Result<bool, $error> {
                $store::check_user(self, username, password)
            }
            fn add_user(&self, username: &str, password: &str) -> Result<(), $error> {
                $store::add_user(self, username, password)
            }
        }
    };
}

database_store!(SqliteStore, oauth2_provider_sqlite::StoreError);
database_store!(PostgresStore, oauth2_provider_postgres::StoreError);

/// Opens (or creates) the SQLite file `path` holding the realm (see
/// [`hold_realm`]).
pub fn open_sqlite(path: &str, realm: &Realm) -> Result<SqliteStore, String> {
    let store = SqliteStore::open(path)
        .map_err(|e| e.to_string())?
        .on_error(|e| eprintln!("demo_server: store: {e}"));
    hold_realm(store, realm)
}

/// Connects to the PostgreSQL database `conninfo` names, holding the
/// realm (see [`hold_realm`]). Servers sharing the database each do this
/// at start: the result is the same whichever runs last.
pub fn open_postgres(conninfo: &str, realm: &Realm) -> Result<PostgresStore, String> {
    let store = PostgresStore::connect(conninfo)
        .map_err(|e| e.to_string())?
        .on_error(|e| eprintln!("demo_server: store: {e}"));
    hold_realm(store, realm)
}

/// Makes `store`'s clients and users the realm's: clients are registered
/// afresh, a user's password is set unless it is already the realm's, and
/// a client or user the realm no longer names is removed (a client with
/// its codes and tokens: what the configuration no longer grants, nobody
/// keeps). Everything else already in the store stays: a restart loses
/// nothing.
fn hold_realm<S: Registry>(store: S, realm: &Realm) -> Result<S, String> {
    let sync = || -> Result<(), S::Error> {
        let stored = store.list_clients()?;
        for stale in &stored {
            let id = oauth2_provider::Client::client_id(stale);
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
            let before = stored
                .iter()
                .find(|c| oauth2_provider::Client::client_id(*c) == client.id);
            store.upsert_client(&store_client(client, before))?;
        }
        for user in &realm.users {
            // Hashing is slow by design: skip it when nothing changed.
            if !store.is_password(&user.name, &user.password)? {
                store.add_user(&user.name, &user.password)?;
            }
        }
        Ok(())
    };
    sync().map_err(|e| e.to_string())?;
    Ok(store)
}

/// A realm client as a database store registers it; `before` is its
/// record already in the store, if any.
///
/// Servers sharing a database act as one authorization server, but each
/// serves the demo's protected resource at its own address: a client the
/// realm gives "own" may use every one of them, so the `http://…/resource`
/// URLs other servers registered for it are kept (else the last server
/// started would take the others' resource away).
fn store_client(client: &RealmClient, before: Option<&ClientRecord>) -> ClientRecord {
    let mut resources = client.resources.clone();
    if client.resources.iter().any(|r| is_demo_resource(r)) {
        let others = before
            .map(ClientRecord::allowed_resources)
            .unwrap_or_default()
            .iter()
            .filter(|r| is_demo_resource(r) && !resources.contains(r));
        let others: Vec<String> = others.cloned().collect();
        resources.extend(others);
    }
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
        .resources(resources.iter().map(String::as_str))
}

/// Whether `url` is a demo server's protected resource,
/// `http://HOST:PORT/resource`.
fn is_demo_resource(url: &str) -> bool {
    url.strip_prefix("http://")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(authority, path)| !authority.is_empty() && path == "resource")
}
