//! `oap_sqlite`: the SQLite store of `oauth2-provider-sqlite` as a handle,
//! its administration (clients, users, purge), and what
//! `oap_server_new_sqlite` builds a server over. Only conversions: the
//! store and the Rust API decide everything.

use std::ffi::c_void;
use std::sync::{Arc, PoisonError, RwLock};

use oauth2_provider_sqlite::{ClientRecord, SqliteStore, StoreError};
use provider::Scope;

use crate::client::{oap_client, ClientData};
use crate::ffi::{free_handle, into_handle, try_ref, Out};
use crate::panic;
use crate::slice::oap_str;
use crate::status::oap_status;

/// An SQLite store: registered clients, resource owners, authorization
/// codes, tokens and grants in one file, kept across restarts and
/// shareable by several processes (the file is in WAL mode; writers take
/// turns). Codes, tokens and client secrets are stored as SHA-256
/// digests, passwords as PBKDF2-HMAC-SHA256 hashes.
///
/// Made by `oap_sqlite_open`, freed by `oap_sqlite_free`. Thread-safe:
/// any number of threads may call `oap_sqlite_*` on one store at once,
/// while servers made over it by `oap_server_new_sqlite` serve. Each such
/// server holds its own reference: the store may be freed before them.
/// Absent from a library built without the `sqlite` feature.
pub struct oap_sqlite {
    store: Arc<SqliteStore>,
    /// What `oap_sqlite_set_error_log` set; read by the store's error
    /// hook, which the servers share.
    log: Arc<RwLock<Option<HostLog>>>,
}

/// `log(user_data, message)`: told of a store failure that a request
/// answered with 500 `server_error` ("the token store failed"), for the
/// host's log. `message` (UTF-8, borrowed for the call) says what failed,
/// e.g. "SQLite: database is locked"; it never holds a code, token,
/// secret or password. Called on the threads serving requests,
/// concurrently; it must not unwind through the library, nor call
/// `oap_sqlite_set_error_log`.
pub type oap_sqlite_error_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, message: oap_str)>;

/// The host's error log callback and its `user_data`.
#[derive(Clone, Copy)]
struct HostLog {
    log: unsafe extern "C" fn(user_data: *mut c_void, message: oap_str),
    user_data: *mut c_void,
}

// SAFETY: a function pointer and the host's user_data. oap_sqlite_error_cb's
// contract makes the host promise that the callback may run on any
// thread, concurrently, with that user_data.
unsafe impl Send for HostLog {}
// SAFETY: as above.
unsafe impl Sync for HostLog {}

/// Tells the host's log, if one is set, of `error`.
fn report(log: &RwLock<Option<HostLog>>, error: &StoreError) {
    // Copied out: the lock is not held while the host runs.
    let host = *log.read().unwrap_or_else(PoisonError::into_inner);
    if let Some(host) = host {
        let message = error.to_string();
        // SAFETY: a host callback called as its contract says: user_data
        // as given, the message valid UTF-8 alive for the call.
        unsafe { (host.log)(host.user_data, oap_str::new(&message)) };
    }
}

impl oap_sqlite {
    /// The store, shared with a server (a reference count bump).
    pub(crate) fn share(&self) -> Arc<SqliteStore> {
        Arc::clone(&self.store)
    }
}

/// The status for a store failure.
fn status(error: StoreError) -> oap_status {
    match error {
        StoreError::ClientExists(_) => oap_status::AlreadyExists,
        StoreError::InvalidRecord(_) => oap_status::InvalidParameter,
        StoreError::Randomness => oap_status::RandomnessUnavailable,
        StoreError::SchemaTooNew { .. } => oap_status::SchemaTooNew,
        _ => oap_status::StoreFailed,
    }
}

/// Opens the SQLite database file at `path` (a file path, UTF-8),
/// creating it if it does not exist and migrating it to this version's
/// schema, in WAL mode. `":memory:"` opens a private in-memory store
/// instead, gone when freed (for tests). On success writes the new store
/// to `*store_out`; the caller owns it and frees it with
/// `oap_sqlite_free`. Thread-safe.
///
/// Errors: `OAP_STATUS_NULL_PARAMETER`, `OAP_STATUS_INVALID_UTF8`,
/// `OAP_STATUS_INVALID_PARAMETER` (an empty path),
/// `OAP_STATUS_STORE_FAILED` (the file cannot be opened or created — a
/// directory, no permission, a missing parent directory — or is not a
/// database), `OAP_STATUS_SCHEMA_TOO_NEW` (a newer library migrated it).
///
/// # Safety
/// `path` valid for the call; `store_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_sqlite_open(
    path: oap_str,
    store_out: *mut *mut oap_sqlite,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `store_out` NULL or writable, `path` valid for the call
        // (contract); the &str is used within it only.
        let (store_out, path) = unsafe { (Out::new(store_out)?, path.to_str()?) };
        let store = match path {
            "" => return Err(oap_status::InvalidParameter),
            ":memory:" => SqliteStore::open_in_memory(),
            path => SqliteStore::open(path),
        }
        .map_err(status)?;
        let log = Arc::new(RwLock::new(None));
        let hook = Arc::clone(&log);
        let store = store.on_error(move |e| report(&hook, e));
        store_out.write(into_handle(oap_sqlite {
            store: Arc::new(store),
            log,
        }));
        Ok(())
    })
}

/// Frees a store handle. NULL does nothing. Servers made over it keep
/// the store open until they are freed; no `oap_sqlite_*` call on this
/// handle may be running or start afterwards.
///
/// # Safety
/// `store` is NULL or a live store that no running call uses.
#[no_mangle]
pub unsafe extern "C" fn oap_sqlite_free(store: *mut oap_sqlite) {
    panic::value((), || {
        // SAFETY: NULL or a store from oap_sqlite_open, freed once and
        // used by no running call (contract): what free_handle asks.
        // Servers hold their own Arc: only this handle's reference goes.
        unsafe { free_handle(store) }
    })
}

/// Sets the function told of each store failure a request answers with
/// 500 `server_error` (see `oap_sqlite_error_cb`); NULL `log` removes it.
/// It serves every server over this store, also after the handle is
/// freed: `user_data` must stay valid, and `log` callable, until the
/// store and every server over it are freed. Requests already running
/// may still call the previous one. Thread-safe. The store's own calls
/// (`oap_sqlite_*`) report failures by their status instead.
///
/// Errors: `OAP_STATUS_NULL_PARAMETER` (a NULL `store`).
///
/// # Safety
/// `store` NULL or live; `log` honours `oap_sqlite_error_cb`'s contract
/// with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn oap_sqlite_set_error_log(
    store: *mut oap_sqlite,
    log: oap_sqlite_error_cb,
    user_data: *mut c_void,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `store` NULL or live (contract).
        let store = unsafe { try_ref(store)? };
        let host = log.map(|log| HostLog { log, user_data });
        *store.log.write().unwrap_or_else(PoisonError::into_inner) = host;
        Ok(())
    })
}

/// A space-delimited scope list; absent or empty is none.
///
/// # Safety
/// `scopes` valid for the call.
unsafe fn scope_list(scopes: oap_str) -> Result<Scope, oap_status> {
    // SAFETY: our contract.
    match unsafe { scopes.to_opt_str() }? {
        None => Ok(Scope::empty()),
        Some(text) => Scope::parse(text).map_err(|_| oap_status::InvalidParameter),
    }
}

/// The store's record for a C description and its extra settings.
///
/// # Safety
/// `client` as `ClientData::copy_from`; `scopes`, `default_scopes` valid
/// for the call.
unsafe fn record(
    client: *const oap_client,
    scopes: oap_str,
    default_scopes: oap_str,
    pkce_required: u8,
) -> Result<ClientRecord, oap_status> {
    // SAFETY: our contract, passed on to each helper.
    let (data, scopes, default_scopes) = unsafe {
        (
            ClientData::copy_from(client)?,
            scope_list(scopes)?,
            scope_list(default_scopes)?,
        )
    };
    let uris = data.redirect_uris().iter().map(String::as_str);
    let record = match data.secret_sha256() {
        Some(digest) => ClientRecord::confidential_hashed(data.client_id(), digest, uris),
        None => ClientRecord::public(data.client_id(), uris),
    };
    // The scopes were parsed above: the builder's own parse cannot fail.
    Ok(record
        .grant_types(data.grants())
        .scopes(scopes.iter())
        .default_scopes(default_scopes.iter())
        .pkce_required(pkce_required != 0)
        .may_introspect(data.may_introspect())
        .require_pushed_authorization_requests(data.requires_pushed_authorization_requests())
        .resources(data.resources().iter().map(String::as_str)))
}

/// Registers a client described by `client` (checked and refused as
/// `oap_registered_client_new` does) with the settings `oap_client` has
/// no field for, which a callback table answers by callback instead:
/// `scopes`, the space-delimited scopes the client may have, and
/// `default_scopes`, those granted when a request names none (each
/// absent or empty for none; a malformed one is
/// `OAP_STATUS_INVALID_PARAMETER`); `pkce_required` non-zero to require
/// PKCE of a confidential client too (a public one always needs it).
///
/// The secret (`OAP_SECRET_PLAIN` or `OAP_SECRET_SHA256_HEX`) is stored
/// as its SHA-256 digest. `may_introspect` counts for a client with a
/// secret only. The description's memory may be released once this
/// returns. Thread-safe.
///
/// Errors: those of `oap_registered_client_new`;
/// `OAP_STATUS_INVALID_PARAMETER` also for an empty `client_id` or a
/// redirect URI that is empty or holds whitespace;
/// `OAP_STATUS_ALREADY_EXISTS` if a client with this `client_id` is
/// registered (see `oap_sqlite_upsert_client`); `OAP_STATUS_STORE_FAILED`.
///
/// # Safety
/// `store` NULL or live; `client` NULL or an `oap_client` (`struct_size`
/// bytes readable) whose strings and array are valid for the call;
/// `scopes`, `default_scopes` valid for the call.
#[no_mangle]
pub unsafe extern "C" fn oap_sqlite_add_client(
    store: *mut oap_sqlite,
    client: *const oap_client,
    scopes: oap_str,
    default_scopes: oap_str,
    pkce_required: u8,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `store` NULL or live, `client` and the strings what
        // record asks (contract).
        let (store, record) = unsafe {
            (
                try_ref(store)?,
                record(client, scopes, default_scopes, pkce_required)?,
            )
        };
        store.store.add_client(&record).map_err(status)
    })
}

/// As `oap_sqlite_add_client`, but a client already registered with this
/// `client_id` has its registration replaced (its codes, tokens and
/// grants stay) instead of `OAP_STATUS_ALREADY_EXISTS`. Requests in
/// flight may finish with the old registration. Thread-safe.
///
/// # Safety
/// As `oap_sqlite_add_client`.
#[no_mangle]
pub unsafe extern "C" fn oap_sqlite_upsert_client(
    store: *mut oap_sqlite,
    client: *const oap_client,
    scopes: oap_str,
    default_scopes: oap_str,
    pkce_required: u8,
) -> oap_status {
    panic::status(|| {
        // SAFETY: as in oap_sqlite_add_client: our contract is the same.
        let (store, record) = unsafe {
            (
                try_ref(store)?,
                record(client, scopes, default_scopes, pkce_required)?,
            )
        };
        store.store.upsert_client(&record).map_err(status)
    })
}

/// Removes the client `client_id`: its grants are revoked, its codes and
/// tokens deleted. Writes 1 to `*removed_out` if it was registered, 0 if
/// not. Thread-safe.
///
/// Errors: `OAP_STATUS_NULL_PARAMETER`, `OAP_STATUS_INVALID_UTF8`,
/// `OAP_STATUS_STORE_FAILED`.
///
/// # Safety
/// `store` NULL or live; `client_id` valid for the call; `removed_out`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_sqlite_remove_client(
    store: *mut oap_sqlite,
    client_id: oap_str,
    removed_out: *mut u8,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `store` NULL or live, `client_id` valid for the call,
        // `removed_out` NULL or writable (contract).
        let (store, client_id, removed_out) =
            unsafe { (try_ref(store)?, client_id.to_str()?, Out::new(removed_out)?) };
        let removed = store.store.remove_client(client_id).map_err(status)?;
        removed_out.write(u8::from(removed));
        Ok(())
    })
}

/// Registers the resource owner `username` with `password`, or sets the
/// password of an existing one (for the password grant, and the host's
/// own login page through `oap_sqlite_check_user`). The password is
/// stored as a PBKDF2-HMAC-SHA256 hash (600,000 iterations, random salt):
/// this takes a noticeable fraction of a second, by design. Thread-safe.
///
/// Errors: `OAP_STATUS_NULL_PARAMETER`, `OAP_STATUS_INVALID_UTF8`,
/// `OAP_STATUS_INVALID_PARAMETER` (an empty `username`, which identifies
/// nobody), `OAP_STATUS_RANDOMNESS_UNAVAILABLE` (no salt),
/// `OAP_STATUS_STORE_FAILED`.
///
/// # Safety
/// `store` NULL or live; `username`, `password` valid for the call.
#[no_mangle]
pub unsafe extern "C" fn oap_sqlite_add_user(
    store: *mut oap_sqlite,
    username: oap_str,
    password: oap_str,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `store` NULL or live, the strings valid for the call
        // (contract); the &strs are used within it only.
        let (store, username, password) =
            unsafe { (try_ref(store)?, username.to_str()?, password.to_str()?) };
        if username.is_empty() {
            return Err(oap_status::InvalidParameter);
        }
        store.store.add_user(username, password).map_err(status)
    })
}

/// Checks a resource owner's password, as the password grant does: for
/// the host's login page. Writes 1 to `*ok_out` if `username` is
/// registered with `password`, 0 otherwise (an unknown user costs as much
/// time as a wrong password, and answers the same). Takes a noticeable
/// fraction of a second (the hash), by design. Thread-safe.
///
/// Errors: `OAP_STATUS_NULL_PARAMETER`, `OAP_STATUS_INVALID_UTF8`,
/// `OAP_STATUS_STORE_FAILED`.
///
/// # Safety
/// `store` NULL or live; `username`, `password` valid for the call;
/// `ok_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_sqlite_check_user(
    store: *const oap_sqlite,
    username: oap_str,
    password: oap_str,
    ok_out: *mut u8,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `store` NULL or live, the strings valid for the call,
        // `ok_out` NULL or writable (contract).
        let (store, username, password, ok_out) = unsafe {
            (
                try_ref(store)?,
                username.to_str()?,
                password.to_str()?,
                Out::new(ok_out)?,
            )
        };
        let ok = store.store.check_user(username, password).map_err(status)?;
        ok_out.write(u8::from(ok));
        Ok(())
    })
}

/// Deletes what can no longer matter at `now` (seconds since the Unix
/// epoch: the servers' clock): expired codes and tokens, revoked refresh
/// tokens, grants whose last code and refresh token expired, expired
/// pushed requests and device authorizations, and wrong user codes too old
/// for the throttle to count. Codes
/// used and refresh tokens rotated stay until they expire, so that a
/// replay is still recognised. Writes the number of rows deleted to
/// `*removed_out`. Run it now and then (say hourly) from one thread or
/// process. Thread-safe.
///
/// Errors: `OAP_STATUS_NULL_PARAMETER`, `OAP_STATUS_STORE_FAILED`.
///
/// # Safety
/// `store` NULL or live; `removed_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oap_sqlite_purge(
    store: *mut oap_sqlite,
    now: u64,
    removed_out: *mut u64,
) -> oap_status {
    panic::status(|| {
        // SAFETY: `store` NULL or live, `removed_out` NULL or writable
        // (contract).
        let (store, removed_out) = unsafe { (try_ref(store)?, Out::new(removed_out)?) };
        let removed = store.store.purge_expired(now).map_err(status)?;
        removed_out.write(u64::try_from(removed).unwrap_or(u64::MAX));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::{
        OAP_GRANT_AUTHORIZATION_CODE, OAP_GRANT_REFRESH_TOKEN, OAP_SECRET_PLAIN,
        OAP_SECRET_SHA256_HEX,
    };
    use provider::Grant;

    fn description(client_id: &'static str, uris: &[oap_str]) -> oap_client {
        oap_client {
            struct_size: std::mem::size_of::<oap_client>(),
            client_id: oap_str::new(client_id),
            secret_kind: 0,
            secret: oap_str::NONE,
            confidential: 0,
            redirect_uris: uris.as_ptr(),
            redirect_uris_len: uris.len(),
            grants: OAP_GRANT_AUTHORIZATION_CODE | OAP_GRANT_REFRESH_TOKEN,
            may_introspect: 1,
            resources: std::ptr::null(),
            resources_len: 0,
            require_pushed_authorization_requests: 0,
        }
    }

    /// Each field of a C description lands in the record the Rust API
    /// would have built: plain and hex secrets as the same digest.
    #[test]
    fn a_description_maps_onto_the_record() {
        let mut store = std::ptr::null_mut();
        // SAFETY: a valid string and out-pointer.
        let opened = unsafe { oap_sqlite_open(oap_str::new(":memory:"), &mut store) };
        assert_eq!(opened, oap_status::Ok);
        let uris = [oap_str::new("https://web.example/cb")];
        let mut plain = description("web", &uris);
        plain.secret_kind = OAP_SECRET_PLAIN;
        plain.secret = oap_str::new("s3cret");
        let mut hex = description("hex", &uris);
        hex.secret_kind = OAP_SECRET_SHA256_HEX;
        let digest = "d7f0b3e4f0a4b7b5a2d5d6e1b0a3f0b9bd1f6a1c1f0ad0d8b0b6e8f5c3a2e1d0";
        hex.secret = oap_str::new(digest);
        let public = description("spa", &uris);
        for (client, pkce) in [(&plain, 0), (&hex, 1), (&public, 0)] {
            // SAFETY: a live store, descriptions and strings valid for the call.
            let added = unsafe {
                oap_sqlite_add_client(
                    store,
                    client,
                    oap_str::new("read write"),
                    oap_str::new("read"),
                    pkce,
                )
            };
            assert_eq!(added, oap_status::Ok);
        }
        // SAFETY: the live store, read before it is freed.
        let listed = unsafe { &*store }.store.list_clients().unwrap();
        let settings = |r: ClientRecord| {
            r.grant_types([Grant::AuthorizationCode, Grant::RefreshToken])
                .scopes(["read", "write"])
                .default_scopes(["read"])
                .may_introspect(true)
        };
        let digest = provider::secret::parse_sha256_hex(digest).unwrap();
        let uri = ["https://web.example/cb"];
        assert_eq!(
            listed,
            [
                settings(ClientRecord::confidential_hashed("hex", digest, uri)).pkce_required(true),
                // A public client never may introspect: the store keeps
                // what the flag means, not the flag.
                settings(ClientRecord::public("spa", uri)).may_introspect(false),
                settings(ClientRecord::confidential("web", "s3cret", uri)),
            ]
        );
        // SAFETY: freed once.
        unsafe { oap_sqlite_free(store) };
    }

    unsafe extern "C" fn remember(user_data: *mut c_void, message: oap_str) {
        // SAFETY: user_data is the test's Mutex, message valid for the call.
        let (seen, text) = unsafe {
            (
                &*user_data.cast::<std::sync::Mutex<Vec<String>>>(),
                message.to_str().unwrap(),
            )
        };
        seen.lock().unwrap().push(text.to_owned());
    }

    /// A store failure during a request reaches the host's log, through
    /// every server over the store, once set; not before, not after NULL.
    /// The client's PAR requirement (RFC 9126 §6) is kept with it.
    #[test]
    fn a_client_requiring_pushed_requests_keeps_it() {
        use provider::client_auth::{Client, ClientLookup};
        let mut store = std::ptr::null_mut();
        // SAFETY: a valid string and out-pointer.
        let opened = unsafe { oap_sqlite_open(oap_str::new(":memory:"), &mut store) };
        assert_eq!(opened, oap_status::Ok);
        let uris = [oap_str::new("https://web.example/cb")];
        let mut strict = description("strict", &uris);
        strict.require_pushed_authorization_requests = 1;
        let lax = description("lax", &uris);
        let none = oap_str::NONE;
        for client in [&strict, &lax] {
            // SAFETY: a live store, a description and strings valid for the call.
            let added = unsafe { oap_sqlite_add_client(store, client, none, none, 0) };
            assert_eq!(added, oap_status::Ok);
        }
        // SAFETY: the live store, read before it is freed.
        let handle = unsafe { &*store };
        let requires = |id| {
            let client = handle.store.find_client(id).unwrap().expect("registered");
            client.requires_pushed_authorization_requests()
        };
        assert!(requires("strict"));
        assert!(!requires("lax"));
        // SAFETY: the live store, freed once.
        unsafe { oap_sqlite_free(store) };
    }

    #[test]
    fn a_failure_during_a_request_reaches_the_error_log() {
        use provider::header::basic_header_value;
        use provider::{Request, Server};

        let path = std::env::temp_dir().join(format!("oap-log-{}.db", std::process::id()));
        let path_text = path.to_str().unwrap().to_owned();
        let mut store = std::ptr::null_mut();
        // SAFETY: a valid string and out-pointer.
        let opened = unsafe { oap_sqlite_open(oap_str::new(&path_text), &mut store) };
        assert_eq!(opened, oap_status::Ok);
        // SAFETY: live until freed below.
        let handle = unsafe { &*store };
        handle
            .store
            .add_client(
                &ClientRecord::confidential("svc", "s3cret", [])
                    .grant_types([Grant::ClientCredentials])
                    .scopes(["read"]),
            )
            .unwrap();
        let server = Server::builder(handle.share())
            .issuer("https://auth.example.com")
            .build()
            .unwrap();
        let auth = basic_header_value("svc", "s3cret");
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        let request = || {
            let body = b"grant_type=client_credentials";
            server
                .token_response(&Request::new("POST", "/token", &headers, body))
                .status
        };
        assert_eq!(request(), 200);

        // Another connection breaks the file: tokens have nowhere to go.
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("DROP TABLE access_tokens").unwrap();
        assert_eq!(request(), 500, "no log set: nothing to call");

        let seen = std::sync::Mutex::new(Vec::<String>::new());
        let user_data = std::ptr::from_ref(&seen).cast_mut().cast::<c_void>();
        // SAFETY: a live store; `remember` honours the contract with `seen`,
        // which outlives every request below.
        let set = unsafe { oap_sqlite_set_error_log(store, Some(remember), user_data) };
        assert_eq!(set, oap_status::Ok);
        assert_eq!(request(), 500);
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert!(
            seen.lock().unwrap()[0].contains("access_tokens"),
            "{:?}",
            seen.lock().unwrap()
        );

        // SAFETY: a live store; NULL removes the log.
        let unset = unsafe { oap_sqlite_set_error_log(store, None, std::ptr::null_mut()) };
        assert_eq!(unset, oap_status::Ok);
        assert_eq!(request(), 500);
        assert_eq!(seen.lock().unwrap().len(), 1);
        // SAFETY: a NULL store is refused.
        let null = unsafe { oap_sqlite_set_error_log(std::ptr::null_mut(), None, user_data) };
        assert_eq!(null, oap_status::NullParameter);

        drop(server);
        // SAFETY: freed once.
        unsafe { oap_sqlite_free(store) };
        drop(other);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path_text}{suffix}"));
        }
    }
}
