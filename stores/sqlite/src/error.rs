//! [`StoreError`]: why a store operation failed.

use std::fmt;

/// Why a [`SqliteStore`](crate::SqliteStore) operation failed. A
/// validator method answers it as `server_error`, saying only that the
/// store failed, and hands it to the
/// [`on_error`](crate::SqliteStore::on_error) hook for the host's log.
///
/// Carries no secret: codes, tokens, client secrets and passwords never
/// reach an SQL statement's text (they are bound as parameters, and only
/// as digests), so neither `Display` nor `Debug` can show one.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed: the file cannot be opened, is not a database, is
    /// locked past the busy timeout, the disk is full…
    Sqlite(rusqlite::Error),
    /// The file's schema is newer than this code knows (`PRAGMA
    /// user_version`): a newer version of the store migrated it. Opening
    /// it with older code could corrupt what the newer code relies on.
    SchemaTooNew {
        /// The file's schema version.
        found: i64,
        /// The newest version this code knows.
        known: i64,
    },
    /// A client with this identifier already exists
    /// ([`add_client`](crate::SqliteStore::add_client); use
    /// [`upsert_client`](crate::SqliteStore::upsert_client) to replace it).
    ClientExists(String),
    /// A record cannot be stored as given (the reason says which field).
    InvalidRecord(&'static str),
    /// The operating system supplied no randomness (for a password salt).
    Randomness,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "SQLite: {e}"),
            StoreError::SchemaTooNew { found, known } => write!(
                f,
                "the database's schema version {found} is newer than this code knows \
                 ({known}): open it with the newer version that migrated it"
            ),
            StoreError::ClientExists(id) => write!(f, "a client '{id}' already exists"),
            StoreError::InvalidRecord(why) => write!(f, "invalid record: {why}"),
            StoreError::Randomness => f.write_str("the operating system supplied no randomness"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Sqlite(e) => Some(e),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}
