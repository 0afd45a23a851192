//! # oauth2-provider-postgres
//!
//! A PostgreSQL store for [`oauth2_provider`]: a
//! [`RequestValidator`](oauth2_provider::RequestValidator) that keeps
//! clients, users, authorization codes, tokens and grants in a PostgreSQL
//! database, so that several servers over one database act as one: a
//! code redeemed on one is used on all, a refresh token rotated on one is
//! reuse on another, a revocation on one is seen by the next request on
//! any.
//!
//! ```no_run
//! use oauth2_provider::{Grant, Server};
//! use oauth2_provider_postgres::{ClientRecord, PostgresStore};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = PostgresStore::connect("host=/run/postgresql dbname=oauth user=oauth")?;
//! store.upsert_client(
//!     &ClientRecord::confidential("svc", "s3cret", [])
//!         .grant_types([Grant::ClientCredentials])
//!         .scopes(["read"]),
//! )?;
//! let server = Server::builder(store).issuer("https://auth.example.com").build()?;
//! # drop(server);
//! # Ok(())
//! # }
//! ```
//!
//! ## What the database holds
//! As in the SQLite store: codes, access tokens, refresh tokens, device
//! codes and user codes only as their SHA-256 digests, client secrets likewise, user passwords as
//! PBKDF2-HMAC-SHA256 hashes (600,000 iterations, 16-byte random salt).
//! Grants (token families) are kept, with whether they were revoked,
//! until their last code or refresh token has expired, so that a request
//! that passed its checks before a revocation cannot save tokens after
//! it. Tables are named `oauth2_*`, in the connection's schema (its
//! `search_path`).
//!
//! ## Isolation: what each operation runs under, and why it is enough
//! Every write is one transaction at `READ COMMITTED`, PostgreSQL's
//! default, whose races are settled by row locks: an `UPDATE` takes the
//! row's lock, a second `UPDATE` of the row waits for the first
//! transaction to end and then evaluates its `WHERE` again on the row as
//! committed.
//!
//! | operation | statements | why no race gets through |
//! |---|---|---|
//! | `consume_and_save` (code exchange, refresh rotation) | `UPDATE oauth2_grants … RETURNING revoked` (locks the grant), `UPDATE … SET used/state … WHERE` unspent (row count 1 or 0), the token inserts | of racing requests spending one code or refresh token, the second's `UPDATE` waits for the first to commit, then finds it spent: 0 rows, nothing saved. A failure anywhere rolls back the spend too. |
//! | `save_bearer_token` | `UPDATE oauth2_grants … RETURNING revoked` (or an `INSERT … ON CONFLICT` for a new grant), the inserts | a revocation waits on the grant's lock until the save commits, and then deletes the saved tokens (its statements see committed rows); a revocation that committed first makes the save's `UPDATE` return `revoked`, and nothing is saved. |
//! | `revoke_grant`, `revoke_token` | `UPDATE oauth2_grants SET revoked`, then the tokens' `DELETE`/`UPDATE` | as above, from the other side. |
//! | `invalidate_*` | one conditional `UPDATE` | as for `consume_and_save`. |
//! | `save_authorization_code` | `INSERT … ON CONFLICT` of the grant, `INSERT` of the code | a unique key refuses a stored code value. |
//! | `consume_and_save` (device code, RFC 8628) | `UPDATE … SET status = 'used' WHERE status = 'approved'`, then the grant's `INSERT … ON CONFLICT` and the token inserts | of racing polls, the second's `UPDATE` waits for the first to commit, then finds it used: 0 rows, nothing saved (no grant either). |
//! | `save_device_authorization` | `DELETE` of an expired one holding either digest, `INSERT` | two unique keys (device and user code digests) refuse a live one's. |
//! | `decide_device_authorization` | one `UPDATE … WHERE status = 'pending'` | a racing decision waits on the row's lock, then finds it decided. |
//! | `record_user_code_attempt` | advisory lock on the subject, `DELETE` of old ones, `INSERT`, `count(*)` | a subject's racing guesses take turns: each counts all before it. |
//! | reads (`validate_*`, `introspect_token`, `find_client`) | one `SELECT` | sees what was committed when it ran: a revocation committed before a request's read fails that request's token. |
//!
//! Every transaction locks its grant row before the code or token rows,
//! as a revocation does, so the two cannot deadlock. Should PostgreSQL
//! still report a deadlock (the purge deletes tokens before grants) or a
//! serialization failure (with `default_transaction_isolation` set
//! otherwise), the transaction, rolled back, runs again (up to
//! [`CONFLICT_RETRIES`] times).
//!
//! ## A lost connection, a restarted database
//! A request whose connection is lost gets `server_error` (its
//! [`StoreError`] goes to the [`on_error`](PostgresStore::on_error)
//! hook), never half a write: PostgreSQL rolls back an uncommitted
//! transaction whose connection went, so a code is spent with its tokens
//! saved or not at all. The pool needs no care: a connection found dead
//! is dropped, and each use starts with a statement (`BEGIN`, or the one
//! `SELECT`) that, failing on a dead connection before anything ran, is
//! sent again on another, opened anew if need be. So after a restart of
//! the database, the first requests are served, without errors, on new
//! connections. While the database is down, a request waits up to
//! [`CONNECTION_TIMEOUT`] for a connection, then gets `server_error`.
//!
//! ## Schema
//! Versioned in table `oauth2_schema_version`; connecting migrates the
//! database to [`SCHEMA_VERSION`] under an advisory lock (servers starting
//! together migrate it once), and a database newer than that is refused
//! ([`StoreError::SchemaTooNew`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod error;
mod pool;
mod schema;
mod validator;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use oauth2_provider::Client;
use oauth2_provider_password as password;
use pool::{is_closed, is_collision, is_conflict, transaction, Conn, Failure, Manager};

pub use error::StoreError;
pub use oauth2_provider::ClientRecord;
pub use oauth2_provider_password::ITERATIONS as PASSWORD_ITERATIONS;
pub use schema::SCHEMA_VERSION;

/// How long a request waits for a connection from the pool (opening one
/// if none is idle) before failing with `server_error`.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(3);

/// How long [`PostgresStore::purge_expired`] keeps a user code entry (RFC 8628
/// §5.1's throttle), in seconds: the longest counting window a server
/// accepts ([`oauth2_provider::server::USER_CODE_WINDOW_MAX`]), since the
/// store does not know the one it counts in. A new entry also deletes its
/// subject's entries older than that window.
pub const USER_CODE_ATTEMPTS_KEPT: u64 = oauth2_provider::server::USER_CODE_WINDOW_MAX;

/// How many times a transaction that PostgreSQL rolled back for a
/// deadlock or a serialization failure runs again.
pub const CONFLICT_RETRIES: usize = 5;

/// The PostgreSQL store. See the [crate docs](crate).
///
/// `Send + Sync`: share one per process (in an `Arc`, or owned by the
/// [`Server`](oauth2_provider::Server)); any number of processes and
/// machines may use the same database.
pub struct PostgresStore {
    pool: r2d2::Pool<Manager>,
    /// Told of every store failure a validator method answers as
    /// `server_error`.
    on_error: Option<ErrorHook>,
}

/// What [`PostgresStore::on_error`] keeps.
type ErrorHook = Box<dyn Fn(&StoreError) + Send + Sync>;

/// A time in seconds as PostgreSQL's `BIGINT` (times past `i64::MAX` are
/// "never" in practice).
fn time(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// A `BIGINT` column read back as seconds (never negative when written by
/// this store).
fn seconds(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The columns of a [`ClientRecord`], in [`client::from_row`]'s order.
macro_rules! select_client {
    () => {
        "SELECT client_id, secret_sha256, redirect_uris, grants, scopes, \
         default_scopes, pkce_required, may_introspect, resources, require_par \
         FROM oauth2_clients"
    };
}
pub(crate) use select_client;

impl PostgresStore {
    /// Connects to the database `conninfo` names (`"host=… user=…
    /// dbname=…"` or a `postgresql://` URL), migrating it to
    /// [`SCHEMA_VERSION`], with a pool of up to 16 connections.
    ///
    /// # Errors
    /// [`StoreError::Config`] for a malformed `conninfo`;
    /// [`StoreError::Postgres`] when the database cannot be reached or
    /// migrated; [`StoreError::SchemaTooNew`] when a newer version of this
    /// store has migrated it.
    pub fn connect(conninfo: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect_with_pool_size(conninfo, 16)
    }

    /// [`connect`](Self::connect) with a pool of up to `max_connections`
    /// connections (at least 1): as many requests as that use the
    /// database at once, the others wait for a connection.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub fn connect_with_pool_size(
        conninfo: &str,
        max_connections: u32,
    ) -> Result<PostgresStore, StoreError> {
        // The parse error may quote the string, password included: it is
        // not kept.
        let mut config = postgres::Config::from_str(conninfo).map_err(|_| {
            StoreError::Config("not a key=value list nor a postgresql:// URL".into())
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECTION_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("oauth2-provider");
        }
        let manager = Manager { config };
        let mut first = r2d2::ManageConnection::connect(&manager)?;
        schema::migrate(first.client())?;
        drop(first);
        let pool = r2d2::Pool::builder()
            .max_size(max_connections.max(1))
            .min_idle(Some(0))
            .test_on_check_out(false)
            .connection_timeout(CONNECTION_TIMEOUT)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(manager);
        Ok(PostgresStore {
            pool,
            on_error: None,
        })
    }

    /// Calls `hook` with each store failure that a validator method
    /// answers as `server_error` (whose description says only that the
    /// store failed): for the host's log. A [`StoreError`] holds no code,
    /// token, secret or password.
    pub fn on_error(mut self, hook: impl Fn(&StoreError) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Box::new(hook));
        self
    }

    fn report(&self, error: &StoreError) {
        if let Some(hook) = &self.on_error {
            hook(error);
        }
    }

    /// A connection from the pool.
    fn checkout(&self) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        self.pool.get().map_err(|e| StoreError::Pool(e.to_string()))
    }

    /// How many dead connections one use may meet before a live one: every
    /// pooled connection, and the new one.
    fn attempts(&self) -> u32 {
        self.pool.max_size() + 1
    }

    /// Runs `f`, a read (one statement, or several that change nothing),
    /// on a pooled connection; on a connection found dead, again on
    /// another.
    fn with_conn<T, E: Failure>(
        &self,
        mut f: impl FnMut(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut attempts = self.attempts();
        loop {
            let mut conn = self.checkout()?;
            match f(&mut conn) {
                Err(e) if attempts > 1 && e.postgres().is_some_and(is_closed) => {
                    attempts -= 1;
                }
                out => return out,
            }
        }
    }

    /// Runs `f` in a `READ COMMITTED` transaction, committing if it
    /// succeeds, rolling back if it fails. Runs it again on another
    /// connection when `BEGIN` found the connection dead (nothing had
    /// run), and from the start when PostgreSQL rolled it back for a
    /// deadlock or a serialization failure.
    fn write<T, E: Failure>(&self, mut f: impl FnMut(&mut Conn) -> Result<T, E>) -> Result<T, E> {
        let mut dead = self.attempts();
        let mut conflicts = CONFLICT_RETRIES;
        loop {
            let mut conn = self.checkout()?;
            match transaction(&mut conn, &mut f) {
                Ok(out) => return Ok(out),
                Err((e, false)) if dead > 1 && e.postgres().is_some_and(is_closed) => dead -= 1,
                Err((e, _)) if conflicts > 0 && e.postgres().is_some_and(is_conflict) => {
                    conflicts -= 1;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Registers a client.
    ///
    /// # Errors
    /// [`StoreError::ClientExists`] if one with its identifier exists;
    /// [`StoreError::InvalidRecord`] for an empty identifier or redirect
    /// URI.
    pub fn add_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        client::check(client)?;
        self.write(|conn| {
            insert_client(conn, client, false).map_err(|e| {
                if is_collision(&e) {
                    StoreError::ClientExists(client.client_id().to_owned())
                } else {
                    StoreError::Postgres(e)
                }
            })
        })
    }

    /// Registers a client, or replaces the registration of the one with
    /// its identifier (its codes, tokens and grants stay).
    ///
    /// # Errors
    /// [`StoreError::InvalidRecord`] for an empty identifier or redirect
    /// URI; [`StoreError::Postgres`] if the write fails.
    pub fn upsert_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        client::check(client)?;
        self.write(|conn| Ok(insert_client(conn, client, true)?))
    }

    /// Every registered client, by identifier.
    ///
    /// # Errors
    /// [`StoreError::Postgres`] if the read fails.
    pub fn list_clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        self.with_conn(|conn| {
            conn.query(concat!(select_client!(), " ORDER BY client_id"), &[])?
                .iter()
                .map(client::from_row)
                .collect()
        })
    }

    /// Removes a client: its grants are revoked, its codes and tokens
    /// deleted. Returns whether it existed. No index leads from a client
    /// to its grants (one more index written by every request): this
    /// scans them, a rare administrative operation.
    ///
    /// # Errors
    /// [`StoreError::Postgres`] if the write fails.
    pub fn remove_client(&self, client_id: &str) -> Result<bool, StoreError> {
        self.write(|conn| {
            conn.execute(
                "UPDATE oauth2_grants SET revoked = true WHERE client_id = $1",
                &[&client_id],
            )?;
            // ON DELETE CASCADE takes its codes and tokens.
            let removed = conn.execute(
                "DELETE FROM oauth2_clients WHERE client_id = $1",
                &[&client_id],
            )?;
            Ok(removed > 0)
        })
    }

    /// Registers a resource owner, or sets the password of an existing
    /// one. The password is kept as a PBKDF2-HMAC-SHA256 hash
    /// ([`PASSWORD_ITERATIONS`] iterations, random salt); hashing takes a
    /// noticeable fraction of a second, by design.
    ///
    /// # Errors
    /// [`StoreError::Randomness`] if no salt can be drawn;
    /// [`StoreError::Postgres`] if the write fails.
    pub fn add_user(&self, username: &str, password: &str) -> Result<(), StoreError> {
        // Hashed before taking a connection.
        let hash = password::hash(password).map_err(|_| StoreError::Randomness)?;
        self.write(|conn| {
            conn.execute(
                "INSERT INTO oauth2_users (username, password_hash) VALUES ($1, $2)
                 ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash",
                &[&username, &hash],
            )?;
            Ok(())
        })
    }

    /// Removes a resource owner, and what was issued on their behalf: their
    /// grants are revoked (a request of one, past its checks, cannot save
    /// tokens now), their codes and access tokens deleted, their refresh
    /// tokens revoked. Returns whether they existed. The user columns
    /// have no index: a rare administrative step that scans.
    ///
    /// # Errors
    /// [`StoreError::Postgres`] if the write fails.
    pub fn remove_user(&self, username: &str) -> Result<bool, StoreError> {
        self.write(|conn| {
            conn.execute(
                "UPDATE oauth2_grants SET revoked = true WHERE username = $1",
                &[&username],
            )?;
            conn.execute("DELETE FROM oauth2_codes WHERE username = $1", &[&username])?;
            conn.execute(
                "DELETE FROM oauth2_access_tokens WHERE username = $1",
                &[&username],
            )?;
            conn.execute(
                "UPDATE oauth2_refresh_tokens SET state = 'revoked' WHERE username = $1",
                &[&username],
            )?;
            // Approved, not yet polled: no tokens for them now.
            conn.execute(
                "DELETE FROM oauth2_device_authorizations WHERE username = $1",
                &[&username],
            )?;
            Ok(conn.execute("DELETE FROM oauth2_users WHERE username = $1", &[&username])? > 0)
        })
    }

    /// Every resource owner's name, sorted.
    ///
    /// # Errors
    /// [`StoreError::Postgres`] if the read fails.
    pub fn list_users(&self) -> Result<Vec<String>, StoreError> {
        self.with_conn(|conn| {
            conn.query("SELECT username FROM oauth2_users ORDER BY username", &[])?
                .iter()
                .map(|row| Ok(row.try_get(0)?))
                .collect()
        })
    }

    /// Checks a resource owner's password, comparing in constant time; an
    /// unknown user costs as much as a wrong password. The host's login
    /// form uses this too.
    ///
    /// # Errors
    /// [`StoreError::Postgres`] if the read fails.
    pub fn check_user(&self, username: &str, password: &str) -> Result<bool, StoreError> {
        let stored: Option<String> = self.with_conn(|conn| -> Result<_, StoreError> {
            Ok(conn
                .query_opt(
                    "SELECT password_hash FROM oauth2_users WHERE username = $1",
                    &[&username],
                )?
                .map(|row| row.try_get(0))
                .transpose()?)
        })?;
        // Verified after the connection went back to the pool.
        Ok(match stored {
            Some(stored) => password::verify(password, &stored),
            None => {
                password::burn(password);
                false
            }
        })
    }

    /// Deletes what can no longer matter at `now` (seconds since the Unix
    /// epoch), and returns how many rows went: expired codes (a used code
    /// stays until it expires, so that its replay is recognised and
    /// revokes its grant), expired access tokens, expired or revoked
    /// refresh tokens (a rotated one stays until it expires, for reuse
    /// detection), expired device authorizations (a used one stays until
    /// it expires, so that its replay revokes its tokens), wrong user
    /// codes older than [`USER_CODE_ATTEMPTS_KEPT`], and grants whose
    /// last code and refresh token have
    /// expired (a request presenting one earlier and saving late is then
    /// refused, the grant being unknown). One transaction; it scans
    /// (no index on expiry times): run it periodically, from one server.
    ///
    /// # Errors
    /// [`StoreError::Postgres`] if the write fails.
    pub fn purge_expired(&self, now: u64) -> Result<u64, StoreError> {
        let now = time(now);
        self.write(|conn| {
            let mut removed = 0;
            removed += conn.execute("DELETE FROM oauth2_codes WHERE expires_at <= $1", &[&now])?;
            removed += conn.execute(
                "DELETE FROM oauth2_pushed_requests WHERE expires_at <= $1",
                &[&now],
            )?;
            removed += conn.execute(
                "DELETE FROM oauth2_device_authorizations WHERE expires_at <= $1",
                &[&now],
            )?;
            removed += conn.execute(
                "DELETE FROM oauth2_user_code_attempts WHERE at < $1",
                &[&now.saturating_sub(time(USER_CODE_ATTEMPTS_KEPT))],
            )?;
            removed += conn.execute(
                "DELETE FROM oauth2_access_tokens WHERE expires_at <= $1",
                &[&now],
            )?;
            removed += conn.execute(
                "DELETE FROM oauth2_refresh_tokens WHERE expires_at <= $1 OR state = 'revoked'",
                &[&now],
            )?;
            removed += conn.execute("DELETE FROM oauth2_grants WHERE ends_at <= $1", &[&now])?;
            Ok(removed)
        })
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the connection string: it may hold a password.
        let state = self.pool.state();
        f.debug_struct("PostgresStore")
            .field("connections", &state.connections)
            .field("idle_connections", &state.idle_connections)
            .finish_non_exhaustive()
    }
}

fn insert_client(conn: &mut Conn, c: &ClientRecord, replace: bool) -> Result<(), postgres::Error> {
    let redirect_uris: Vec<&str> = c.redirect_uris().iter().map(|u| &**u).collect();
    let grants = client::grants_column(c);
    let secret = c.secret_sha256().map(|d| d.as_slice());
    let resources: Vec<&str> = c.allowed_resources().iter().map(|r| &**r).collect();
    let require_par = c.requires_pushed_authorization_requests();
    let params: [&(dyn postgres::types::ToSql + Sync); 10] = [
        &c.client_id(),
        &secret,
        &redirect_uris,
        &grants,
        &c.allowed_scopes().as_str(),
        &c.default_scope().as_str(),
        &c.requires_pkce(),
        &c.may_introspect(),
        &resources,
        &require_par,
    ];
    if replace {
        conn.execute(
            "INSERT INTO oauth2_clients VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (client_id) DO UPDATE SET secret_sha256 = EXCLUDED.secret_sha256,
                 redirect_uris = EXCLUDED.redirect_uris, grants = EXCLUDED.grants,
                 scopes = EXCLUDED.scopes, default_scopes = EXCLUDED.default_scopes,
                 pkce_required = EXCLUDED.pkce_required,
                 may_introspect = EXCLUDED.may_introspect,
                 resources = EXCLUDED.resources,
                 require_par = EXCLUDED.require_par",
            &params,
        )?;
    } else {
        conn.execute(
            "INSERT INTO oauth2_clients VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &params,
        )?;
    }
    Ok(())
}

/// The crate README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
