//! The schema's version: a new file gets the current one, reopening keeps
//! it, and a file from a newer version of the store is refused.

mod common;

use common::{add_clients, code, exchange, opens, post, server, token, tokens, TempDb, WEB};
use oauth2_provider::ClientLookup;
use oauth2_provider_sqlite::{ClientRecord, SqliteStore, StoreError, SCHEMA_VERSION};
use rusqlite::Connection;

fn user_version(db: &TempDb) -> i64 {
    Connection::open(db.path())
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn a_new_file_gets_version_6_in_wal_mode() {
    let db = TempDb::new("migrate-new");
    drop(SqliteStore::open(db.path()).expect("open"));
    assert_eq!(SCHEMA_VERSION, 6);
    assert_eq!(user_version(&db), 6);
    assert_eq!(indexes(&db), INDEXES);
    let mode: String = Connection::open(db.path())
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn reopening_keeps_the_data_and_the_version() {
    let db = TempDb::new("migrate-reopen");
    let store = SqliteStore::open(db.path()).expect("open");
    store.add_client(&ClientRecord::public("app", [])).unwrap();
    drop(store);
    let store = SqliteStore::open(db.path()).expect("reopen");
    assert_eq!(store.list_clients().unwrap().len(), 1);
    assert_eq!(user_version(&db), SCHEMA_VERSION);
}

/// The indexes of the file (those SQLite makes for primary keys aside).
fn indexes(db: &TempDb) -> Vec<String> {
    let conn = Connection::open(db.path()).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_schema
             WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name",
        )
        .unwrap();
    let names = stmt.query_map([], |row| row.get(0)).unwrap();
    names.map(Result::unwrap).collect()
}

/// Every table is one b-tree keyed by what requests look up; wrong user
/// codes are counted by subject (version 6).
const INDEXES: [&str; 1] = ["user_code_attempts_subject"];

#[test]
fn a_version_1_file_keeps_its_data_and_loses_write_only_indexes() {
    let db = TempDb::new("migrate-1-to-2");
    let store = SqliteStore::open(db.path()).expect("open");
    store.add_client(&ClientRecord::public("app", [])).unwrap();
    drop(store);
    // Back to version 1's indexes and refresh token table, as a file
    // written by the first version of the store has them.
    let conn = Connection::open(db.path()).unwrap();
    back_to_version_2(&conn);
    conn.execute_batch(
        "DROP TABLE refresh_tokens;
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
         INSERT INTO refresh_tokens VALUES
             (zeroblob(32), 'app', NULL, 'read', 'g', 1, NULL, 'rotated');
         DROP INDEX access_grant;
         CREATE INDEX grants_client ON grants (client_id);
         CREATE INDEX grants_ends ON grants (ends_at);
         CREATE INDEX codes_client ON codes (client_id);
         CREATE INDEX codes_expiry ON codes (expires_at);
         CREATE INDEX access_client ON access_tokens (client_id);
         CREATE INDEX access_grant ON access_tokens (grant_id);
         CREATE INDEX access_expiry ON access_tokens (expires_at);
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(db.path()).expect("migrate");
    assert_eq!(user_version(&db), SCHEMA_VERSION);
    assert_eq!(indexes(&db), INDEXES);
    assert_eq!(store.list_clients().unwrap().len(), 1);
    let conn = Connection::open(db.path()).unwrap();
    let kept: (String, String) = conn
        .query_row("SELECT grant_id, state FROM refresh_tokens", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!(kept, ("g".to_owned(), "rotated".to_owned()));
    assert!(conn
        .execute("UPDATE refresh_tokens SET state = 'spent'", [])
        .is_err());
}

/// Takes away version 4's columns (resources, audiences), as a file
/// written by version 3 lacks them.
fn back_to_version_3(conn: &Connection) {
    back_to_version_4(conn);
    conn.execute_batch(
        "ALTER TABLE clients DROP COLUMN resources;
         ALTER TABLE codes DROP COLUMN audience;
         ALTER TABLE access_tokens DROP COLUMN audience;
         ALTER TABLE refresh_tokens DROP COLUMN audience;
         PRAGMA user_version = 3;",
    )
    .unwrap();
}

/// Puts back version 2's grants table (with `ends_at`, keeping every
/// grant) and its indexes on grant_id, as a file written by that version
/// has them.
fn back_to_version_2(conn: &Connection) {
    back_to_version_3(conn);
    conn.execute_batch(
        "CREATE TABLE grants_2 (
             grant_id  TEXT PRIMARY KEY NOT NULL,
             client_id TEXT NOT NULL,
             user      TEXT,
             revoked   INTEGER NOT NULL CHECK (revoked IN (0, 1)),
             ends_at   INTEGER NOT NULL
         ) STRICT;
         INSERT INTO grants_2 SELECT grant_id, client_id, user, revoked, 4000000000
             FROM grants;
         DROP TABLE grants;
         ALTER TABLE grants_2 RENAME TO grants;
         CREATE INDEX access_grant ON access_tokens (grant_id) WHERE grant_id IS NOT NULL;
         CREATE INDEX refresh_grant ON refresh_tokens (grant_id);
         PRAGMA user_version = 2;",
    )
    .unwrap();
}

#[test]
fn a_version_2_file_keeps_its_tokens_and_revocations() {
    let db = TempDb::new("migrate-2-to-3");
    let store = SqliteStore::open(db.path()).expect("open");
    add_clients(&store);
    let web = (WEB.0, Some(WEB.1));
    let old = server(store);
    let live = tokens(&exchange(&old, web, &code(&old, WEB.0)));
    let revoked = tokens(&exchange(&old, web, &code(&old, WEB.0)));
    // Revoked as version 2 did: the grant marked, its access tokens
    // deleted, its refresh tokens revoked.
    let revoked_grant: String = {
        let conn = Connection::open(db.path()).unwrap();
        let grant: String = conn
            .query_row(
                "SELECT grant_id FROM refresh_tokens WHERE state = 'active' LIMIT 1 OFFSET 1",
                [],
                |row| row.get(0),
            )
            .unwrap();
        grant
    };
    drop(old);
    let conn = Connection::open(db.path()).unwrap();
    back_to_version_2(&conn);
    conn.execute_batch(&format!(
        "UPDATE grants SET revoked = 1 WHERE grant_id = '{revoked_grant}';
         DELETE FROM access_tokens WHERE grant_id = '{revoked_grant}';
         UPDATE refresh_tokens SET state = 'revoked' WHERE grant_id = '{revoked_grant}';"
    ))
    .unwrap();
    let grants_before: i64 = conn
        .query_row("SELECT count(*) FROM grants", [], |row| row.get(0))
        .unwrap();
    drop(conn);

    let new = server(SqliteStore::open(db.path()).expect("migrate"));
    assert_eq!(user_version(&db), SCHEMA_VERSION);
    assert_eq!(indexes(&db), INDEXES);
    let conn = Connection::open(db.path()).unwrap();
    let (grants_after, revoked_after): (i64, i64) = conn
        .query_row("SELECT count(*), sum(revoked) FROM grants", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!((grants_after, revoked_after), (grants_before, 1));
    // Which of the two exchanges was revoked depends on the digests'
    // order: find the live one by its access token.
    let (live, revoked) = if opens(&new, &live.0) {
        (live, revoked)
    } else {
        (revoked, live)
    };
    assert!(opens(&new, &live.0));
    assert!(!opens(&new, &revoked.0));
    let refresh = |r: &str| {
        token(
            &new,
            web,
            &[("grant_type", "refresh_token"), ("refresh_token", r)],
        )
    };
    assert_eq!(refresh(revoked.1.as_deref().unwrap()).status, 400);
    let rotated = tokens(&refresh(live.1.as_deref().unwrap()));
    assert!(opens(&new, &rotated.0));
    // Revoking the live grant after the upgrade refuses its tokens.
    let gone = post(
        &new,
        "/revoke",
        web,
        &[("token", rotated.1.as_deref().unwrap())],
    );
    assert_eq!(gone.status, 200, "{}", gone.body_str());
    assert!(!opens(&new, &rotated.0));
}

#[test]
fn a_version_3_file_keeps_its_tokens_and_gains_audiences() {
    let db = TempDb::new("migrate-3-to-4");
    let store = SqliteStore::open(db.path()).expect("open");
    add_clients(&store);
    let web = (WEB.0, Some(WEB.1));
    let old = server(store);
    let before = tokens(&exchange(&old, web, &code(&old, WEB.0)));
    drop(old);
    back_to_version_3(&Connection::open(db.path()).unwrap());

    let store = SqliteStore::open(db.path()).expect("migrate");
    assert_eq!(user_version(&db), SCHEMA_VERSION);
    // Rows written before have no audience, clients no resources.
    let client = store.find_client(WEB.0).unwrap().unwrap();
    assert!(client.allowed_resources().is_empty());
    let new = server(store);
    assert!(opens(&new, &before.0));
    let rotated = tokens(&token(
        &new,
        web,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", before.1.as_deref().unwrap()),
        ],
    ));
    assert!(opens(&new, &rotated.0));
    let aud = post(&new, "/introspect", web, &[("token", &rotated.0)]);
    assert!(!aud.body_str().contains("\"aud\""), "{}", aud.body_str());
    // A resource now: the grant gets it, and a refresh may not widen it.
    let asked = token(
        &new,
        web,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rotated.1.as_deref().unwrap()),
            ("resource", "https://api.test/"),
        ],
    );
    assert_eq!(asked.status, 400, "{}", asked.body_str());
    assert!(asked.body_str().contains("invalid_target"));
}

/// Takes away version 5's table (pushed requests), as a file written by
/// version 4 lacks it.
fn back_to_version_4(conn: &Connection) {
    back_to_version_5(conn);
    conn.execute_batch(
        "DROP TABLE pushed_requests;
         PRAGMA user_version = 4;",
    )
    .unwrap();
}

#[test]
fn a_version_4_file_keeps_its_tokens_and_gains_pushed_requests() {
    let db = TempDb::new("migrate-4-to-5");
    let store = SqliteStore::open(db.path()).expect("open");
    add_clients(&store);
    let web = (WEB.0, Some(WEB.1));
    let old = server(store);
    let before = tokens(&exchange(&old, web, &code(&old, WEB.0)));
    drop(old);
    back_to_version_4(&Connection::open(db.path()).unwrap());
    // A version 4 file has no pushed requests to keep.
    let store = SqliteStore::open(db.path()).expect("migrate");
    assert_eq!(user_version(&db), SCHEMA_VERSION);
    let new = server(store);
    assert!(opens(&new, &before.0));
    // A pushed request is saved, found by its client, used up once.
    let auth = oauth2_provider::header::basic_header_value(WEB.0, WEB.1);
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let pushed = new.pushed_authorization_response(&oauth2_provider::Request::new(
        "POST",
        "/par",
        &headers,
        b"response_type=code&state=m",
    ));
    assert_eq!(pushed.status, 201, "{}", pushed.body_str());
    let request_uri = common::json(&pushed, "request_uri").unwrap();
    let query = oauth2_provider::form::encode_pairs([
        ("client_id", WEB.0),
        ("request_uri", request_uri.as_str()),
    ]);
    let uri = format!("/authorize?{query}");
    let get = oauth2_provider::Request::new("GET", &uri, &[], b"");
    let pending = new.validate_authorization_request(&get).unwrap();
    assert_eq!(pending.state.as_deref(), Some("m"));
    let response = new.authorize(&get, &pending, ALICE_NAME, None);
    assert!(response.header("location").unwrap().contains("code="));
    assert!(new.validate_authorization_request(&get).is_err());
    let rows: i64 = Connection::open(db.path())
        .unwrap()
        .query_row("SELECT count(*) FROM pushed_requests", [], |row| row.get(0))
        .unwrap();
    assert_eq!(rows, 0, "a used pushed request is deleted");
}

const ALICE_NAME: &str = "alice";

/// Takes away version 6's column (the PAR switch) and tables (device
/// authorizations), as a file written by version 5 lacks them.
fn back_to_version_5(conn: &Connection) {
    conn.execute_batch(
        "DROP TABLE device_authorizations;
         DROP TABLE user_code_attempts;
         ALTER TABLE clients DROP COLUMN require_par;
         PRAGMA user_version = 5;",
    )
    .unwrap();
}

#[test]
fn a_version_5_file_keeps_its_tokens_and_gains_the_par_switch() {
    let db = TempDb::new("migrate-5-to-6");
    let store = SqliteStore::open(db.path()).expect("open");
    add_clients(&store);
    let web = (WEB.0, Some(WEB.1));
    let old = server(store);
    let before = tokens(&exchange(&old, web, &code(&old, WEB.0)));
    drop(old);
    back_to_version_5(&Connection::open(db.path()).unwrap());
    let store = SqliteStore::open(db.path()).expect("migrate");
    assert_eq!(user_version(&db), SCHEMA_VERSION);
    assert_eq!(indexes(&db), INDEXES);
    // Clients registered before do not require pushed requests.
    let client = store.find_client(WEB.0).unwrap().unwrap();
    assert!(!oauth2_provider::Client::requires_pushed_authorization_requests(&client));
    let new = server(store);
    assert!(opens(&new, &before.0));
    assert!(opens(
        &new,
        &tokens(&exchange(&new, web, &code(&new, WEB.0))).0
    ));
}

#[test]
fn a_newer_schema_is_refused() {
    let db = TempDb::new("migrate-newer");
    drop(SqliteStore::open(db.path()).expect("open"));
    Connection::open(db.path())
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    match SqliteStore::open(db.path()) {
        Err(e @ StoreError::SchemaTooNew { found, known }) => {
            assert_eq!((found, known), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
            assert!(e.to_string().contains("newer than this code knows"), "{e}");
        }
        other => panic!("opened a newer schema: {other:?}"),
    }
}

#[test]
fn a_file_that_is_no_database_is_refused() {
    let db = TempDb::new("migrate-garbage");
    std::fs::write(db.path(), vec![0x5a; 8192]).unwrap();
    match SqliteStore::open(db.path()) {
        Err(StoreError::Sqlite(_)) => {}
        other => panic!("opened garbage: {other:?}"),
    }
}

#[test]
fn two_stores_opening_a_new_file_at_once_migrate_it_once() {
    let db = TempDb::new("migrate-race");
    let path = db.path().to_owned();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || SqliteStore::open(path).map(drop))
        })
        .collect();
    for h in handles {
        h.join().unwrap().expect("open");
    }
    assert_eq!(user_version(&db), SCHEMA_VERSION);
    assert_eq!(indexes(&db), INDEXES);
}
