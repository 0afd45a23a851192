//! The schema and its migrations, tracked by `PRAGMA user_version`.
//!
//! Migration *n* brings a file from version *n − 1* to *n*; each runs in
//! its own `BEGIN IMMEDIATE` transaction together with the version bump,
//! so two processes opening a new file at once migrate it once.

use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;

/// The migrations, in order: `MIGRATIONS[n - 1]` makes version `n`.
const MIGRATIONS: &[&str] = &[
    // 1: everything. Codes and tokens are keyed by the SHA-256 digest of
    // their value: the file holds no usable credential. Grants outlive
    // their tokens (revoked = 1) until `ends_at`, so a late save of a
    // revoked grant is refused. Codes and tokens go with their client
    // (ON DELETE CASCADE); grants stay, revoked, until purged.
    "
    CREATE TABLE clients (
        client_id      TEXT PRIMARY KEY NOT NULL,
        secret_sha256  BLOB CHECK (secret_sha256 IS NULL OR length(secret_sha256) = 32),
        redirect_uris  TEXT NOT NULL,
        grants         TEXT NOT NULL,
        scopes         TEXT NOT NULL,
        default_scopes TEXT NOT NULL,
        pkce_required  INTEGER NOT NULL CHECK (pkce_required IN (0, 1)),
        may_introspect INTEGER NOT NULL CHECK (may_introspect IN (0, 1))
    ) STRICT;
    CREATE TABLE users (
        username      TEXT PRIMARY KEY NOT NULL,
        password_hash TEXT NOT NULL
    ) STRICT;
    CREATE TABLE grants (
        grant_id  TEXT PRIMARY KEY NOT NULL,
        client_id TEXT NOT NULL,
        user      TEXT,
        revoked   INTEGER NOT NULL CHECK (revoked IN (0, 1)),
        ends_at   INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX grants_client ON grants (client_id);
    CREATE INDEX grants_ends ON grants (ends_at);
    CREATE TABLE codes (
        digest                 BLOB PRIMARY KEY NOT NULL CHECK (length(digest) = 32),
        client_id              TEXT NOT NULL REFERENCES clients ON DELETE CASCADE,
        user                   TEXT NOT NULL,
        scopes                 TEXT NOT NULL,
        redirect_uri           TEXT,
        effective_redirect_uri TEXT NOT NULL,
        challenge              TEXT,
        challenge_method       TEXT CHECK (challenge_method IN ('plain', 'S256')),
        grant_id               TEXT NOT NULL,
        issued_at              INTEGER NOT NULL,
        expires_at             INTEGER NOT NULL,
        used                   INTEGER NOT NULL CHECK (used IN (0, 1))
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX codes_client ON codes (client_id);
    CREATE INDEX codes_expiry ON codes (expires_at);
    CREATE TABLE access_tokens (
        digest     BLOB PRIMARY KEY NOT NULL CHECK (length(digest) = 32),
        client_id  TEXT NOT NULL REFERENCES clients ON DELETE CASCADE,
        user       TEXT,
        scopes     TEXT NOT NULL,
        grant_id   TEXT,
        issued_at  INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX access_client ON access_tokens (client_id);
    CREATE INDEX access_grant ON access_tokens (grant_id);
    CREATE INDEX access_expiry ON access_tokens (expires_at);
    CREATE TABLE refresh_tokens (
        digest     BLOB PRIMARY KEY NOT NULL CHECK (length(digest) = 32),
        client_id  TEXT NOT NULL REFERENCES clients ON DELETE CASCADE,
        user       TEXT,
        scopes     TEXT NOT NULL,
        grant_id   TEXT NOT NULL,
        issued_at  INTEGER NOT NULL,
        expires_at INTEGER,
        state      TEXT NOT NULL CHECK (state IN ('active', 'rotated', 'revoked'))
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX refresh_client ON refresh_tokens (client_id);
    CREATE INDEX refresh_grant ON refresh_tokens (grant_id);
    CREATE INDEX refresh_expiry ON refresh_tokens (expires_at);
    ",
    // 2: fewer indexes, since every index is one more b-tree page written
    // (to the log, then at the checkpoint) by each insert. Kept: the
    // lookups a request makes (primary keys) and revoking a grant's
    // tokens (by grant_id; client-credentials tokens have none, so the
    // index on access tokens leaves them out). Dropped: the indexes on
    // client_id, whose users are removing a client (its UPDATE of grants
    // and the ON DELETE CASCADE of its codes and tokens now scan those
    // tables: a rare administrative operation) and on expiry times, whose
    // one user is `purge_expired` (which now scans).
    // Refresh tokens' table is rebuilt for its CHECK on `state`: SQLite
    // evaluates `IN` with three values through a temporary b-tree built
    // and freed at every insert or update of a refresh token (about a
    // tenth of a code exchange's instructions); three equalities do not.
    "
    DROP INDEX grants_client;
    DROP INDEX grants_ends;
    DROP INDEX codes_client;
    DROP INDEX codes_expiry;
    DROP INDEX access_client;
    DROP INDEX access_grant;
    DROP INDEX access_expiry;
    CREATE INDEX access_grant ON access_tokens (grant_id) WHERE grant_id IS NOT NULL;
    CREATE TABLE refresh_tokens_2 (
        digest     BLOB PRIMARY KEY NOT NULL CHECK (length(digest) = 32),
        client_id  TEXT NOT NULL REFERENCES clients ON DELETE CASCADE,
        user       TEXT,
        scopes     TEXT NOT NULL,
        grant_id   TEXT NOT NULL,
        issued_at  INTEGER NOT NULL,
        expires_at INTEGER,
        state      TEXT NOT NULL
                   CHECK (state = 'active' OR state = 'rotated' OR state = 'revoked')
    ) STRICT, WITHOUT ROWID;
    INSERT INTO refresh_tokens_2 SELECT * FROM refresh_tokens;
    DROP TABLE refresh_tokens;
    ALTER TABLE refresh_tokens_2 RENAME TO refresh_tokens;
    CREATE INDEX refresh_grant ON refresh_tokens (grant_id);
    ",
    // 3: a code exchange or a refresh writes 3 b-tree pages instead of 6:
    // the code or refresh token spent, the new refresh token, the new
    // access token. Gone: the indexes on grant_id, whose one user was
    // revoking a grant (its tokens are now refused at lookup while their
    // grant is revoked, then deleted by `purge_expired`), and `ends_at`,
    // which every save updated (a grant now lasts while a code or refresh
    // token names it; `purge_expired` deletes it after). Grants become
    // one b-tree keyed by grant_id (WITHOUT ROWID) instead of a table and
    // its primary key's index. Revoked grants keep their `revoked = 1`,
    // and their tokens stay refused.
    "
    CREATE TABLE grants_3 (
        grant_id  TEXT PRIMARY KEY NOT NULL,
        client_id TEXT NOT NULL,
        user      TEXT,
        revoked   INTEGER NOT NULL CHECK (revoked = 0 OR revoked = 1)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO grants_3 SELECT grant_id, client_id, user, revoked FROM grants;
    DROP TABLE grants;
    ALTER TABLE grants_3 RENAME TO grants;
    DROP INDEX access_grant;
    DROP INDEX refresh_grant;
    ",
    // 4: resource indicators (RFC 8707). The resources a client may ask
    // tokens for, and the audience of each code and token, space-separated
    // (no resource URI holds a space); empty for none, which is what every
    // row written before had.
    "
    ALTER TABLE clients ADD COLUMN resources TEXT NOT NULL DEFAULT '';
    ALTER TABLE codes ADD COLUMN audience TEXT NOT NULL DEFAULT '';
    ALTER TABLE access_tokens ADD COLUMN audience TEXT NOT NULL DEFAULT '';
    ALTER TABLE refresh_tokens ADD COLUMN audience TEXT NOT NULL DEFAULT '';
    ",
    // 5: pushed authorization requests (RFC 9126), keyed like codes by
    // the SHA-256 digest of their request URI; the parameters as pushed
    // (form-encoded, without the client's secret). Deleted when used.
    "
    CREATE TABLE pushed_requests (
        digest     BLOB PRIMARY KEY NOT NULL CHECK (length(digest) = 32),
        client_id  TEXT NOT NULL REFERENCES clients ON DELETE CASCADE,
        parameters TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    ",
    // 6: a client's `require_pushed_authorization_requests` (RFC 9126 §6),
    // off for every client registered before; and the device
    // authorization grant (RFC 8628). A device authorization is keyed by
    // the SHA-256 digest of its device code, and found by that of its
    // user code (unique too): neither code is stored. `user` is the
    // approver, set from approval on. Wrong user codes are counted per
    // subject (the user at the verification page) and time, to throttle
    // guessing; the index serves that count.
    "
    ALTER TABLE clients ADD COLUMN require_par INTEGER NOT NULL DEFAULT 0
        CHECK (require_par = 0 OR require_par = 1);
    CREATE TABLE device_authorizations (
        device_digest BLOB PRIMARY KEY NOT NULL CHECK (length(device_digest) = 32),
        user_digest   BLOB NOT NULL UNIQUE CHECK (length(user_digest) = 32),
        client_id     TEXT NOT NULL REFERENCES clients ON DELETE CASCADE,
        scopes        TEXT NOT NULL,
        audience      TEXT NOT NULL,
        grant_id      TEXT NOT NULL,
        expires_at    INTEGER NOT NULL,
        poll_interval INTEGER NOT NULL,
        last_poll     INTEGER,
        status        TEXT NOT NULL CHECK (status = 'pending' OR status = 'approved'
                      OR status = 'denied' OR status = 'used'),
        user          TEXT,
        CHECK (status <> 'approved' OR user IS NOT NULL)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE user_code_attempts (
        subject TEXT NOT NULL,
        at      INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX user_code_attempts_subject ON user_code_attempts (subject, at);
    ",
];

/// The schema version this code writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn user_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Brings the file up to [`SCHEMA_VERSION`], or refuses it when it is
/// newer.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    loop {
        let found = user_version(conn)?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found,
                known: SCHEMA_VERSION,
            });
        }
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated between the read and the lock.
        if user_version(&tx)? == found {
            let index = usize::try_from(found).map_err(|_| {
                StoreError::InvalidRecord("the database's user_version is negative")
            })?;
            tx.execute_batch(MIGRATIONS[index])?;
            tx.pragma_update(None, "user_version", found + 1)?;
        }
        tx.commit()?;
    }
}
