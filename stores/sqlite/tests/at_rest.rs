//! A copy of the database file gives no usable credential: no code,
//! token, client secret or password issued or registered through the
//! store appears in its bytes (nor in its WAL), only digests and hashes.

mod common;

use std::path::Path;

use common::TempDb;
use oauth2_provider::testing;
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

#[test]
fn no_credential_appears_in_the_file() {
    let db = TempDb::new("at-rest");
    let secrets = testing::check_at_rest(
        |fixture| {
            let store = SqliteStore::open(db.path()).expect("open");
            common::add_fixture(&store, fixture);
            store
        },
        |_| file_bytes(db.path()),
    );
    // The kit looked while the store was open; look again now that it is
    // closed and its WAL checkpointed into the file.
    let bytes = file_bytes(db.path());
    assert!(bytes.len() > 4096, "after closing: nothing read");
    for secret in &secrets {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "after closing: a credential of {} bytes is in the file",
            secret.len()
        );
    }
}
