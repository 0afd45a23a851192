//! [`StoreError`]: why a store operation failed.

use std::fmt;

/// Why a [`PostgresStore`](crate::PostgresStore) operation failed. A
/// validator method answers it as `server_error`, saying only that the
/// store failed, and hands it to the
/// [`on_error`](crate::PostgresStore::on_error) hook for the host's log.
///
/// Carries no secret: codes, tokens, client secrets and passwords never
/// reach an SQL statement's text (they are bound as parameters, and only
/// as digests), so neither `Display` nor `Debug` can show one. The
/// connection string is not kept in it either (it may hold a password).
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// PostgreSQL failed, or could not be reached: the server is down or
    /// restarting, the connection was lost, a statement failed…
    Postgres(postgres::Error),
    /// No connection could be had from the pool in time (the database is
    /// unreachable, or every connection is busy).
    Pool(String),
    /// The connection string could not be parsed.
    Config(String),
    /// The database's schema is newer than this code knows (table
    /// `oauth2_schema_version`): a newer version of the store migrated it.
    SchemaTooNew {
        /// The database's schema version.
        found: i64,
        /// The newest version this code knows.
        known: i64,
    },
    /// A client with this identifier already exists
    /// ([`add_client`](crate::PostgresStore::add_client); use
    /// [`upsert_client`](crate::PostgresStore::upsert_client) to replace it).
    ClientExists(String),
    /// A record cannot be stored as given (the reason says which field).
    InvalidRecord(&'static str),
    /// The operating system supplied no randomness (for a password salt).
    Randomness,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Postgres(e) => write!(f, "PostgreSQL: {e}"),
            StoreError::Pool(e) => write!(f, "no PostgreSQL connection: {e}"),
            StoreError::Config(e) => write!(f, "a bad PostgreSQL connection string: {e}"),
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
            StoreError::Postgres(e) => Some(e),
            _ => None,
        }
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        StoreError::Postgres(e)
    }
}
