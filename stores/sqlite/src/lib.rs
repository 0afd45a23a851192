//! # oauth2-provider-sqlite
//!
//! An SQLite store for [`oauth2_provider`]: a
//! [`RequestValidator`](oauth2_provider::RequestValidator) that keeps
//! clients, users, authorization codes, tokens and grants in one file, so
//! that a server keeps its state across restarts and several
//! processes (or several [`SqliteStore`]s in one) can share it.
//!
//! ```
//! use oauth2_provider::header::basic_header_value;
//! use oauth2_provider::{Grant, Request, Server};
//! use oauth2_provider_sqlite::{ClientRecord, SqliteStore};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A file path in production: `SqliteStore::open("oauth.db")?`.
//! let store = SqliteStore::open_in_memory()?;
//! store.upsert_client(
//!     &ClientRecord::confidential("svc", "s3cret", [])
//!         .grant_types([Grant::ClientCredentials])
//!         .scopes(["read"]),
//! )?;
//! let server = Server::builder(store).issuer("https://auth.example.com").build()?;
//!
//! let auth = basic_header_value("svc", "s3cret");
//! let headers = [
//!     ("Authorization", auth.as_str()),
//!     ("Content-Type", "application/x-www-form-urlencoded"),
//! ];
//! let body = b"grant_type=client_credentials&scope=read";
//! let response = server.token_response(&Request::new("POST", "/token", &headers, body));
//! assert_eq!(response.status, 200);
//! # Ok(())
//! # }
//! ```
//!
//! ## What the file holds
//! Codes, access tokens, refresh tokens, device codes and user codes
//! (RFC 8628) are stored only as their SHA-256 digests, client secrets likewise, and user passwords as
//! PBKDF2-HMAC-SHA256 hashes (600,000 iterations, 16-byte random salt): a
//! copy of the file gives no usable credential. Grants (token families)
//! are kept, with whether they were revoked, until their last code or
//! refresh token has expired, so that a request that passed its checks
//! before a revocation cannot save tokens after it.
//!
//! ## Durability
//! Every connection runs in WAL mode with `synchronous=NORMAL`: a commit
//! appends to the write-ahead log without waiting for the disk. The log
//! is synced, and copied into the database file (synced too), by the
//! store's checkpoint thread, off the requests' path, each time the log
//! has grown by 8,000 pages (about 8,000 client-credentials token saves,
//! or 1,600 authorization-code flows, a code saved then exchanged); only a
//! commit that finds the log past 32,000 pages, the thread having fallen
//! behind, checkpoints (and syncs) in its own thread, as SQLite's own
//! autocheckpoint would (see [`CheckpointStats`]). A process
//! crash loses nothing that was committed (the log is in the operating
//! system's hands). A power loss or an operating system crash may lose
//! the last transactions committed before it (those since the log was
//! last synced), never a transaction in part: after the restart the file
//! is as it was at some earlier commit.
//! Losing a last token save makes that token unknown (its client asks
//! again); losing a last "code used" or "refresh token rotated" mark lets
//! that code or token be presented once more, as after any rollback.
//!
//! ## Concurrency
//! The store keeps a small pool of connections (one per thread at work,
//! up to the machine's parallelism kept idle). Writes run in `BEGIN
//! IMMEDIATE` transactions: racing writers, in this process or another,
//! take turns (waiting up to the 5-second busy timeout) instead of failing
//! on a lock upgrade; within one store they queue on a mutex, without
//! SQLite's sleeps. Readers never wait for writers (WAL). A token
//! request of the authorization code, refresh token, client credentials
//! or device code grant (a poll) runs whole in one such transaction, its
//! lookups included
//! ([`token_request`](oauth2_provider::RequestValidator::token_request)):
//! what it read cannot change before it writes, and it takes SQLite's
//! locks once instead of three times.
//!
//! ## Page size
//! Files keep SQLite's default page size, 4 KiB. Smaller pages put fewer
//! bytes in each log frame (and its checksum), but the random leaves that
//! digest keys land on split and rebalance more often, which costs more
//! than it saves. A code exchange, per `benches/compare/icount.sh`
//! (`STORE=sqlite ROUNDS=3`) and `benches/compare/sqlite_io.sh`: with
//! 1 KiB pages 162k instructions, 7.3 frames and 24 system calls; 2 KiB:
//! 136k, 5.5 and 19; 4 KiB: 129k, 4.6 and 17; 8 KiB: 132k, 3.9 and 15
//! (twice the bytes per frame). Client credentials and refreshes rank
//! the same way.
//!
//! ## Schema
//! Versioned by `PRAGMA user_version`; opening a file migrates it to
//! [`SCHEMA_VERSION`], and a file newer than that is refused
//! ([`StoreError::SchemaTooNew`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod checkpoint;
mod client;
mod error;
mod request;
mod schema;
mod validator;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use oauth2_provider::Client;
use oauth2_provider_password as password;
use rusqlite::{params, Connection, OptionalExtension};

pub use checkpoint::CheckpointStats;
pub use error::StoreError;
pub use oauth2_provider::ClientRecord;
pub use oauth2_provider_password::ITERATIONS as PASSWORD_ITERATIONS;
pub use schema::SCHEMA_VERSION;

/// How long [`SqliteStore::purge_expired`] keeps a user code entry (RFC 8628
/// §5.1's throttle), in seconds: the longest counting window a server
/// accepts ([`oauth2_provider::server::USER_CODE_WINDOW_MAX`]), since the
/// store does not know the one it counts in. A new entry also deletes its
/// subject's entries older than that window.
pub const USER_CODE_ATTEMPTS_KEPT: u64 = oauth2_provider::server::USER_CODE_WINDOW_MAX;

/// How long a connection waits for another's write lock before failing
/// with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite store. See the [crate docs](crate).
///
/// `Send + Sync`: share one per process (in an `Arc`, or owned by the
/// [`Server`](oauth2_provider::Server)); several processes may open the
/// same file.
pub struct SqliteStore {
    /// The log's checkpoint thread (a file only); first, so that it is
    /// stopped and joined before the pool's connections close.
    checkpointer: Option<checkpoint::Checkpointer>,
    connections: Connections,
    /// Told of every store failure a validator method answers as
    /// `server_error`.
    on_error: Option<ErrorHook>,
    /// Taken by every write transaction of this store, before its `BEGIN
    /// IMMEDIATE`: this process's writers queue here, woken as soon as
    /// the one before them commits, instead of in SQLite's busy handler,
    /// which sleeps 1, 2, 5, 10 … ms between tries. Writers in other
    /// processes still meet at SQLite's lock. Shared with the
    /// checkpointer, which takes it for a `RESTART`.
    writers: Arc<Mutex<()>>,
}

/// What [`SqliteStore::on_error`] keeps.
type ErrorHook = Box<dyn Fn(&StoreError) + Send + Sync>;

enum Connections {
    /// A file: connections opened on demand, kept idle up to `max_idle`.
    File {
        path: PathBuf,
        idle: Mutex<Vec<Connection>>,
        max_idle: usize,
    },
    /// A private in-memory database: one connection, taken in turn.
    Memory(Mutex<Connection>),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Each connection's page cache, in KiB (SQLite's default: 2,000).
/// Codes and tokens are keyed by digests, so each request touches
/// b-tree pages all over the file: once the file outgrew 2 MB, lookups
/// read pages back from the operating system (`pread`; a run of
/// `benches/compare --store sqlite`, whose file reaches about 10 MB, made
/// 84,000 of them, 34,000 with 16 MiB, no fewer with 64 MiB: those left
/// are the checkpoints' reads of the log). A ceiling, filled as pages
/// are read: a connection of a small file takes what the file holds.
const PAGE_CACHE_KIB: i64 = 16 * 1024;

/// Opens a connection to `path` and sets it up: busy timeout, WAL,
/// `synchronous=NORMAL`, foreign keys, no autocheckpoint (the
/// [`checkpoint`] thread's work), [`PAGE_CACHE_KIB`].
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let _mode: String =
        retry_busy(|| conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The checkpoints run in the store's thread (see [`checkpoint`]);
    // this hook, set after the pragma (which replaces any hook), notes
    // the log's length at each commit for it.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.wal_hook(Some(checkpoint::on_commit));
    conn.pragma_update(None, "journal_size_limit", checkpoint::LOG_SIZE_KEPT)?;
    conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
    // Every statement the store runs stays prepared (about 25).
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Runs `step` again while SQLite answers `SQLITE_BUSY`, for up to
/// [`BUSY_TIMEOUT`]. Switching a new file to WAL takes an exclusive lock,
/// and where waiting for it could deadlock (another connection opening
/// the same new file holds a shared lock and wants the same), SQLite
/// answers busy at once instead of calling the busy handler: processes
/// starting together on one new file would otherwise fail to open it.
fn retry_busy<T>(mut step: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        match step() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// A `BEGIN IMMEDIATE` transaction on a connection, begun and committed
/// through its cached statements (rusqlite's `Transaction` prepares
/// `BEGIN` and `COMMIT` anew each time, a few percent of a request);
/// rolled back if dropped uncommitted: after an error, a failed commit
/// or a panic, so that no connection goes back to the pool inside a
/// transaction.
struct WriteTx<'c> {
    conn: &'c Connection,
    committed: bool,
}

impl<'c> WriteTx<'c> {
    fn begin(conn: &'c Connection) -> Result<Self, StoreError> {
        conn.prepare_cached("BEGIN IMMEDIATE")
            .db()?
            .execute([])
            .db()?;
        Ok(WriteTx {
            conn,
            committed: false,
        })
    }

    fn commit(mut self) -> Result<(), StoreError> {
        self.conn.prepare_cached("COMMIT").db()?.execute([]).db()?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if !self.committed && !self.conn.is_autocommit() {
            // Nothing to report if it fails: the connection then holds no
            // transaction (SQLite rolled back on its own) or is broken.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Turns a `rusqlite` result into the store's.
trait Db<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(StoreError::Sqlite)
    }
}

/// Whether `e` is a primary key (or unique) collision.
fn is_collision(e: &rusqlite::Error) -> bool {
    e.sqlite_error().is_some_and(|e| {
        e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    })
}

/// A time in seconds as SQLite's integer (times past `i64::MAX` are
/// "never" in practice).
fn time(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// An integer column read back as seconds (never negative when written by
/// this store).
fn seconds(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, migrating
    /// it to [`SCHEMA_VERSION`].
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] when the file cannot be opened or is not a
    /// database; [`StoreError::SchemaTooNew`] when a newer version of this
    /// store has migrated it.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_owned();
        let mut conn = connect(&path)?;
        schema::migrate(&mut conn)?;
        let max_idle = std::thread::available_parallelism().map_or(4, |n| n.get().max(4));
        let mut idle = Vec::with_capacity(max_idle);
        idle.push(conn);
        let mut store = SqliteStore::with_connections(Connections::File {
            path: path.clone(),
            idle: Mutex::new(idle),
            max_idle,
        });
        store.checkpointer = Some(checkpoint::Checkpointer::start(
            connect(&path)?,
            Arc::clone(&store.writers),
        )?);
        Ok(store)
    }

    /// A private, empty, in-memory store on one connection, for tests and
    /// demos: it is gone when dropped, and requests take turns on it.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] if SQLite cannot set it up.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let mut conn = Connection::open_in_memory()?;
        configure(&conn)?;
        schema::migrate(&mut conn)?;
        Ok(SqliteStore::with_connections(Connections::Memory(
            Mutex::new(conn),
        )))
    }

    fn with_connections(connections: Connections) -> SqliteStore {
        SqliteStore {
            checkpointer: None,
            connections,
            on_error: None,
            writers: Arc::new(Mutex::new(())),
        }
    }

    /// What the write-ahead log's checkpoints did since the store was
    /// opened (all zero for [`open_in_memory`](Self::open_in_memory),
    /// which has no log): for the host's metrics. They run in a thread of
    /// the store's own, off the requests' path; see
    /// [Durability](crate#durability).
    pub fn checkpoint_stats(&self) -> CheckpointStats {
        self.checkpointer
            .as_ref()
            .map_or_else(CheckpointStats::default, checkpoint::Checkpointer::stats)
    }

    /// Tells the checkpointer of what this thread's last statement
    /// committed, if anything (see [`checkpoint`]).
    fn committed(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.committed();
        }
    }

    /// Calls `hook` with each store failure that a validator method
    /// answers as `server_error` (whose description says only that the
    /// store failed): for the host's log. A [`StoreError`] holds no code,
    /// token, secret or password.
    ///
    /// ```
    /// use oauth2_provider_sqlite::SqliteStore;
    /// let store = SqliteStore::open_in_memory()?
    ///     .on_error(|e| eprintln!("token store: {e}"));
    /// # Ok::<(), oauth2_provider_sqlite::StoreError>(())
    /// ```
    pub fn on_error(mut self, hook: impl Fn(&StoreError) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Box::new(hook));
        self
    }

    fn report(&self, error: &StoreError) {
        if let Some(hook) = &self.on_error {
            hook(error);
        }
    }

    /// Runs `f` on a connection of the pool (opening one if none is idle),
    /// or, within a token request (`request`), on that
    /// request's connection, inside its transaction.
    fn with_conn<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        let f = match request::with_request_conn(self, f) {
            Ok(out) => return out,
            Err(f) => f,
        };
        match &self.connections {
            Connections::Memory(conn) => f(&mut lock(conn)),
            Connections::File { path, .. } => {
                let mut conn = match self.take_idle() {
                    Some(conn) => conn,
                    None => connect(path)?,
                };
                let out = f(&mut conn);
                self.give_back(conn);
                self.committed();
                out
            }
        }
    }

    /// An idle connection of a file's pool, if there is one.
    fn take_idle(&self) -> Option<Connection> {
        match &self.connections {
            Connections::File { idle, .. } => lock(idle).pop(),
            Connections::Memory(_) => None,
        }
    }

    /// Returns a connection to a file's pool (or closes it, the pool being
    /// full).
    fn give_back(&self, conn: Connection) {
        if let Connections::File { idle, max_idle, .. } = &self.connections {
            let mut idle = lock(idle);
            if idle.len() < *max_idle {
                idle.push(conn);
            }
        }
    }

    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`: the write lock
    /// first, so racing writers wait their turn); commits if `f` succeeds,
    /// rolls back if it fails (or panics). Within a token request, whose
    /// transaction is already open (and whose thread holds `writers`),
    /// `f` runs in it, all or nothing ([`request::write_in_request`]).
    fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        let f = match request::write_in_request(self, f) {
            Ok(out) => return out,
            Err(f) => f,
        };
        let _turn = lock(&self.writers);
        self.with_conn(|conn| {
            let tx = WriteTx::begin(conn)?;
            let out = f(conn)?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Registers a client.
    ///
    /// # Errors
    /// [`StoreError::ClientExists`] if one with its identifier exists;
    /// [`StoreError::InvalidRecord`] for a redirect URI with whitespace.
    pub fn add_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        client::check(client)?;
        self.write(|tx| {
            insert_client(tx, client, false).map_err(|e| {
                if is_collision(&e) {
                    StoreError::ClientExists(client.client_id().to_owned())
                } else {
                    StoreError::Sqlite(e)
                }
            })
        })
    }

    /// Registers a client, or replaces the registration of the one with
    /// its identifier (its codes, tokens and grants stay).
    ///
    /// # Errors
    /// [`StoreError::InvalidRecord`] for a redirect URI with whitespace;
    /// [`StoreError::Sqlite`] if the write fails.
    pub fn upsert_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        client::check(client)?;
        self.write(|tx| insert_client(tx, client, true).db())
    }

    /// Every registered client, by identifier.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] if the read fails.
    pub fn list_clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare_cached(concat!(select_client!(), " ORDER BY client_id"))
                .db()?;
            let rows = stmt.query_map([], client_columns).db()?;
            rows.map(|row| row.db()?).collect()
        })
    }

    /// Removes a client: its grants are revoked, its codes and tokens
    /// deleted. Returns whether it existed.
    ///
    /// No index leads from a client to its grants, codes and tokens (each
    /// would cost every request a b-tree page written): this scans those
    /// tables, holding the write lock meanwhile, which is fine for a rare
    /// administrative operation.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] if the write fails.
    pub fn remove_client(&self, client_id: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE grants SET revoked = 1 WHERE client_id = ?1",
                [client_id],
            )
            .db()?;
            // ON DELETE CASCADE takes its codes and tokens.
            let removed = tx
                .execute("DELETE FROM clients WHERE client_id = ?1", [client_id])
                .db()?;
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
    /// [`StoreError::Sqlite`] if the write fails.
    pub fn add_user(&self, username: &str, password: &str) -> Result<(), StoreError> {
        // Hashed before taking a connection: no lock held meanwhile.
        let hash = password::hash(password).map_err(|_| StoreError::Randomness)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO users (username, password_hash) VALUES (?1, ?2)
                 ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
                params![username, hash],
            )
            .db()
        })?;
        Ok(())
    }

    /// Removes a resource owner, and what was issued on their behalf: their
    /// grants are revoked (a request of one, past its checks, cannot save
    /// tokens now), their codes and access tokens deleted, their refresh
    /// tokens revoked. What nobody may have any longer, nobody keeps.
    /// Returns whether they existed. The user columns have no index: this
    /// reads every code, token and grant, under the write lock (a rare
    /// administrative step).
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] if the write fails.
    pub fn remove_user(&self, username: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            for sql in [
                "UPDATE grants SET revoked = 1 WHERE user = ?1",
                "DELETE FROM codes WHERE user = ?1",
                "DELETE FROM access_tokens WHERE user = ?1",
                "UPDATE refresh_tokens SET state = 'revoked' WHERE user = ?1",
                // Approved, not yet polled: no tokens for them now.
                "DELETE FROM device_authorizations WHERE user = ?1",
            ] {
                tx.execute(sql, [username]).db()?;
            }
            Ok(tx
                .execute("DELETE FROM users WHERE username = ?1", [username])
                .db()?
                > 0)
        })
    }

    /// Every resource owner's name, sorted.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] if the read fails.
    pub fn list_users(&self) -> Result<Vec<String>, StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT username FROM users ORDER BY username")
                .db()?;
            let rows = stmt.query_map([], |row| row.get(0)).db()?;
            rows.map(Db::db).collect()
        })
    }

    /// Checks a resource owner's password, comparing in constant time; an
    /// unknown user costs as much as a wrong password. The host's login
    /// form uses this too.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] if the read fails.
    pub fn check_user(&self, username: &str, password: &str) -> Result<bool, StoreError> {
        let stored: Option<String> = self.with_conn(|conn| {
            conn.prepare_cached("SELECT password_hash FROM users WHERE username = ?1")
                .db()?
                .query_row([username], |row| row.get(0))
                .optional()
                .db()
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
    /// revokes its grant), expired access tokens and those of revoked
    /// grants, expired or revoked refresh tokens and those of revoked
    /// grants (a rotated one stays until it expires, for reuse
    /// detection), expired device authorizations (a used one stays until
    /// it expires, so that its replay revokes its tokens), wrong user
    /// codes older than [`USER_CODE_ATTEMPTS_KEPT`], and grants that no
    /// code or refresh token names any
    /// longer (a request presenting one earlier and saving late is then
    /// refused, the grant being unknown).
    ///
    /// No index on expiry times or grants (each would cost every request
    /// a b-tree page written): this reads the tables through, holding
    /// the write lock meanwhile; run it periodically, not per request.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] if the write fails.
    pub fn purge_expired(&self, now: u64) -> Result<usize, StoreError> {
        let now = time(now);
        self.write(|tx| {
            let mut removed = 0;
            for sql in [
                "DELETE FROM codes WHERE expires_at <= ?1",
                "DELETE FROM pushed_requests WHERE expires_at <= ?1",
                "DELETE FROM device_authorizations WHERE expires_at <= ?1",
                "DELETE FROM access_tokens WHERE expires_at <= ?1
                 OR grant_id IN (SELECT grant_id FROM grants WHERE revoked = 1)",
                "DELETE FROM refresh_tokens WHERE expires_at <= ?1 OR state = 'revoked'
                 OR grant_id IN (SELECT grant_id FROM grants WHERE revoked = 1)",
            ] {
                removed += tx.prepare_cached(sql).db()?.execute([now]).db()?;
            }
            removed += tx
                .prepare_cached("DELETE FROM user_code_attempts WHERE at < ?1")
                .db()?
                .execute([now.saturating_sub(time(USER_CODE_ATTEMPTS_KEPT))])
                .db()?;
            removed += tx
                .prepare_cached(
                    "DELETE FROM grants WHERE grant_id NOT IN
                     (SELECT grant_id FROM codes UNION SELECT grant_id FROM refresh_tokens)",
                )
                .db()?
                .execute([])
                .db()?;
            Ok(removed)
        })
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.connections {
            Connections::File { path, idle, .. } => f
                .debug_struct("SqliteStore")
                .field("path", path)
                .field("idle_connections", &lock(idle).len())
                .finish_non_exhaustive(),
            Connections::Memory(_) => f
                .debug_struct("SqliteStore")
                .field("path", &":memory:")
                .finish_non_exhaustive(),
        }
    }
}

/// The columns of a [`ClientRecord`], in [`client_columns`]' order.
macro_rules! select_client {
    () => {
        "SELECT client_id, secret_sha256, redirect_uris, grants, scopes, \
         default_scopes, pkce_required, may_introspect, resources, require_par \
         FROM clients"
    };
}
pub(crate) use select_client;

fn client_columns(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<ClientRecord, StoreError>> {
    Ok(client::from_columns(
        text(row, 0)?,
        borrowed(row, 1, rusqlite::types::ValueRef::as_blob_or_null)?,
        text(row, 2)?,
        text(row, 3)?,
        text(row, 4)?,
        text(row, 5)?,
        row.get(6)?,
        row.get(7)?,
        text(row, 8)?,
        row.get(9)?,
    ))
}

/// A text column of `row`, borrowed from SQLite's copy: reading a row
/// into owned `String`s cost an allocation and a copy each (a fifth of a
/// client lookup), though the record built from it copies what it keeps.
fn text<'r>(row: &'r rusqlite::Row<'_>, column: usize) -> rusqlite::Result<&'r str> {
    borrowed(row, column, rusqlite::types::ValueRef::as_str)
}

/// A text column of `row` that may be NULL, borrowed as [`text`].
fn text_or_null<'r>(
    row: &'r rusqlite::Row<'_>,
    column: usize,
) -> rusqlite::Result<Option<&'r str>> {
    borrowed(row, column, rusqlite::types::ValueRef::as_str_or_null)
}

/// A column of `row` read by `as_type` without a copy; an error, as
/// `Row::get` reports one, when the column does not hold that type.
fn borrowed<'r, T>(
    row: &'r rusqlite::Row<'_>,
    column: usize,
    as_type: impl FnOnce(&rusqlite::types::ValueRef<'r>) -> rusqlite::types::FromSqlResult<T>,
) -> rusqlite::Result<T> {
    let value = row.get_ref(column)?;
    as_type(&value)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, value.data_type(), e.into()))
}

fn insert_client(tx: &Connection, c: &ClientRecord, replace: bool) -> rusqlite::Result<()> {
    // ON CONFLICT DO UPDATE, not REPLACE: a REPLACE deletes the row, and
    // with it (ON DELETE CASCADE) the client's codes and tokens.
    let sql = if replace {
        "INSERT INTO clients VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (client_id) DO UPDATE SET secret_sha256 = excluded.secret_sha256,
             redirect_uris = excluded.redirect_uris, grants = excluded.grants,
             scopes = excluded.scopes, default_scopes = excluded.default_scopes,
             pkce_required = excluded.pkce_required, may_introspect = excluded.may_introspect,
             resources = excluded.resources, require_par = excluded.require_par"
    } else {
        "INSERT INTO clients VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    };
    tx.execute(
        sql,
        params![
            c.client_id(),
            c.secret_sha256().map(|d| d.as_slice()),
            client::redirect_uris_column(c),
            client::grants_column(c),
            c.allowed_scopes().as_str(),
            c.default_scope().as_str(),
            c.requires_pkce(),
            c.may_introspect(),
            client::resources_column(c),
            c.requires_pushed_authorization_requests(),
        ],
    )?;
    Ok(())
}

/// The crate README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
