//! A copy of the database file gives no usable credential: no code,
//! token, client secret or password issued or registered through the
//! store appears in its bytes (nor in its WAL), only digests and hashes.

mod common;

use std::path::Path;

use common::{add_clients, code, exchange, server, token, tokens, TempDb, ALICE, APP, WEB};
use oauth2_provider_sqlite::SqliteStore;

/// The bytes of the database and of its WAL and shared-memory files, as a
/// copy of the directory would take them.
fn file_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.to_owned().into_os_string();
        p.push(suffix);
        if let Ok(b) = std::fs::read(&p) {
            bytes.extend(b);
        }
    }
    bytes
}

fn assert_absent(bytes: &[u8], secrets: &[String], when: &str) {
    assert!(bytes.len() > 4096, "{when}: nothing read");
    for secret in secrets {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{when}: a credential of {} bytes is in the file",
            secret.len()
        );
    }
}

#[test]
fn no_credential_appears_in_the_file() {
    let db = TempDb::new("at-rest");
    let store = SqliteStore::open(db.path()).unwrap();
    add_clients(&store);
    store.add_user(ALICE.0, ALICE.1).unwrap();
    let server = server(store);
    let web = (WEB.0, Some(WEB.1));
    let mut secrets = vec![WEB.1.to_owned(), ALICE.1.to_owned()];

    // A code exchanged, and one left unexchanged.
    let used = code(&server, APP.0);
    let (access, refresh) = tokens(&exchange(&server, (APP.0, None), &used));
    secrets.extend([used, access, refresh.expect("a refresh token")]);
    secrets.push(code(&server, APP.0));
    // Client credentials, password grant, and a rotation.
    let (cc, _) = tokens(&token(
        &server,
        web,
        &[("grant_type", "client_credentials")],
    ));
    secrets.push(cc);
    let (access, refresh) = tokens(&token(
        &server,
        web,
        &[
            ("grant_type", "password"),
            ("username", ALICE.0),
            ("password", ALICE.1),
        ],
    ));
    let refresh = refresh.expect("a refresh token");
    let (access2, refresh2) = tokens(&token(
        &server,
        web,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    ));
    secrets.extend([access, refresh, access2, refresh2.expect("rotated")]);
    for s in &secrets {
        assert!(s.len() >= 12, "a credential too short to search for: {s}");
    }

    assert_absent(&file_bytes(db.path()), &secrets, "while open");
    drop(server);
    assert_absent(&file_bytes(db.path()), &secrets, "after closing");
    // The test would see a credential stored in the clear: the user
    // names, stored as they are, are there.
    assert!(file_bytes(db.path())
        .windows(ALICE.0.len())
        .any(|w| w == ALICE.0.as_bytes()));
}
