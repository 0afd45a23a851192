//! The schema and its migrations, tracked in table
//! `oauth2_schema_version`.
//!
//! Migration *n* brings a database from version *n − 1* to *n*. They run
//! in one transaction holding a transaction-level advisory lock
//! ([`MIGRATION_LOCK`]): servers starting together on a new database
//! queue on it, the first migrates, the others find the work done. DDL is
//! transactional in PostgreSQL, so a migration interrupted half way
//! leaves the database as it was.

use postgres::Client;

use crate::StoreError;

/// The key of the advisory lock held while migrating (an arbitrary
/// constant, "oauth2pg" in ASCII).
pub(crate) const MIGRATION_LOCK: i64 = 0x6f61_7574_6832_7067;

/// The migrations, in order: `MIGRATIONS[n - 1]` makes version `n`.
const MIGRATIONS: &[&str] = &[
    // 1: everything. Codes and tokens are keyed by the SHA-256 digest of
    // their value: the database holds no usable credential. Grants
    // outlive their tokens (revoked) until `ends_at`, so a late save of a
    // revoked grant is refused. Codes and tokens go with their client
    // (ON DELETE CASCADE); grants stay, revoked, until purged. Tables are
    // prefixed `oauth2_` so they can share a schema with the host's own.
    // Indexes: the primary keys (every request's lookups) and grant_id on
    // tokens (revoking a grant's tokens); removing a client or a user and
    // the purge scan (rare, administrative).
    "
    CREATE TABLE oauth2_clients (
        client_id      TEXT PRIMARY KEY,
        secret_sha256  BYTEA CHECK (octet_length(secret_sha256) = 32),
        redirect_uris  TEXT[] NOT NULL,
        grants         TEXT[] NOT NULL,
        scopes         TEXT NOT NULL,
        default_scopes TEXT NOT NULL,
        pkce_required  BOOLEAN NOT NULL,
        may_introspect BOOLEAN NOT NULL
    );
    CREATE TABLE oauth2_users (
        username      TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL
    );
    CREATE TABLE oauth2_grants (
        grant_id  TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        username  TEXT,
        revoked   BOOLEAN NOT NULL,
        ends_at   BIGINT NOT NULL
    );
    CREATE TABLE oauth2_codes (
        digest                 BYTEA PRIMARY KEY CHECK (octet_length(digest) = 32),
        client_id              TEXT NOT NULL REFERENCES oauth2_clients ON DELETE CASCADE,
        username               TEXT NOT NULL,
        scopes                 TEXT NOT NULL,
        redirect_uri           TEXT,
        effective_redirect_uri TEXT NOT NULL,
        challenge              TEXT,
        challenge_method       TEXT CHECK (challenge_method IN ('plain', 'S256')),
        grant_id               TEXT NOT NULL,
        issued_at              BIGINT NOT NULL,
        expires_at             BIGINT NOT NULL,
        used                   BOOLEAN NOT NULL
    );
    CREATE TABLE oauth2_access_tokens (
        digest     BYTEA PRIMARY KEY CHECK (octet_length(digest) = 32),
        client_id  TEXT NOT NULL REFERENCES oauth2_clients ON DELETE CASCADE,
        username   TEXT,
        scopes     TEXT NOT NULL,
        grant_id   TEXT,
        issued_at  BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX oauth2_access_grant ON oauth2_access_tokens (grant_id)
        WHERE grant_id IS NOT NULL;
    CREATE TABLE oauth2_refresh_tokens (
        digest     BYTEA PRIMARY KEY CHECK (octet_length(digest) = 32),
        client_id  TEXT NOT NULL REFERENCES oauth2_clients ON DELETE CASCADE,
        username   TEXT,
        scopes     TEXT NOT NULL,
        grant_id   TEXT NOT NULL,
        issued_at  BIGINT NOT NULL,
        expires_at BIGINT,
        state      TEXT NOT NULL CHECK (state IN ('active', 'rotated', 'revoked'))
    );
    CREATE INDEX oauth2_refresh_grant ON oauth2_refresh_tokens (grant_id);
    ",
    // 2: resource indicators (RFC 8707). The resources a client may ask
    // tokens for (an array, as its redirect URIs), and the audience of
    // each code and token, space-separated as scopes are (no resource URI
    // holds a space); empty for none, which is what every row written
    // before had.
    "
    ALTER TABLE oauth2_clients ADD COLUMN resources TEXT[] NOT NULL DEFAULT '{}';
    ALTER TABLE oauth2_codes ADD COLUMN audience TEXT NOT NULL DEFAULT '';
    ALTER TABLE oauth2_access_tokens ADD COLUMN audience TEXT NOT NULL DEFAULT '';
    ALTER TABLE oauth2_refresh_tokens ADD COLUMN audience TEXT NOT NULL DEFAULT '';
    ",
    // 3: pushed authorization requests (RFC 9126), keyed like codes by
    // the SHA-256 digest of their request URI; the parameters as pushed
    // (form-encoded, without the client's secret). Deleted when used.
    "
    CREATE TABLE oauth2_pushed_requests (
        digest     BYTEA PRIMARY KEY CHECK (octet_length(digest) = 32),
        client_id  TEXT NOT NULL REFERENCES oauth2_clients ON DELETE CASCADE,
        parameters TEXT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    ",
    // 4: a client's `require_pushed_authorization_requests` (RFC 9126 §6),
    // off for every client registered before; and the device
    // authorization grant (RFC 8628). A device authorization is keyed by
    // the SHA-256 digest of its device code, and found by that of its
    // user code (unique too): neither code is stored. `username` is the
    // approver, set from approval on. Wrong user codes are counted per
    // subject (the user at the verification page) and time, to throttle
    // guessing; the index serves that count.
    "
    ALTER TABLE oauth2_clients ADD COLUMN require_par BOOLEAN NOT NULL DEFAULT false;
    CREATE TABLE oauth2_device_authorizations (
        device_digest BYTEA PRIMARY KEY CHECK (octet_length(device_digest) = 32),
        user_digest   BYTEA NOT NULL UNIQUE CHECK (octet_length(user_digest) = 32),
        client_id     TEXT NOT NULL REFERENCES oauth2_clients ON DELETE CASCADE,
        scopes        TEXT NOT NULL,
        audience      TEXT NOT NULL,
        grant_id      TEXT NOT NULL,
        expires_at    BIGINT NOT NULL,
        poll_interval BIGINT NOT NULL,
        last_poll     BIGINT,
        status        TEXT NOT NULL
                      CHECK (status IN ('pending', 'approved', 'denied', 'used')),
        username      TEXT,
        CHECK (status <> 'approved' OR username IS NOT NULL)
    );
    CREATE TABLE oauth2_user_code_attempts (
        subject TEXT NOT NULL,
        at      BIGINT NOT NULL
    );
    CREATE INDEX oauth2_user_code_attempts_subject ON oauth2_user_code_attempts (subject, at);
    ",
];

/// The schema version this code writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`SCHEMA_VERSION`], or refuses it when it
/// is newer.
pub(crate) fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    // Created under the lock: two servers cannot both create it.
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS oauth2_schema_version (version BIGINT NOT NULL);",
    )?;
    let found: Option<i64> = tx
        .query_opt("SELECT version FROM oauth2_schema_version", &[])?
        .map(|row| row.try_get(0))
        .transpose()?;
    let found = found.unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    let start = usize::try_from(found)
        .map_err(|_| StoreError::InvalidRecord("the database's schema version is negative"))?;
    for migration in &MIGRATIONS[start..] {
        tx.batch_execute(migration)?;
    }
    if found == 0 {
        tx.execute(
            "INSERT INTO oauth2_schema_version (version) VALUES ($1)",
            &[&SCHEMA_VERSION],
        )?;
    } else if found < SCHEMA_VERSION {
        tx.execute(
            "UPDATE oauth2_schema_version SET version = $1",
            &[&SCHEMA_VERSION],
        )?;
    }
    tx.commit()?;
    Ok(())
}
