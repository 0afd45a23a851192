//! What the store's tests share: temporary database files and a store
//! holding the conformance kit's fixture.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use oauth2_provider::testing::Fixture;
use oauth2_provider::Grant;
use oauth2_provider_sqlite::{ClientRecord, SqliteStore};

/// A database file path unique to this process and call, removed (with
/// its WAL and shared-memory files) when dropped.
pub struct TempDb(PathBuf);

impl TempDb {
    pub fn new(name: &str) -> TempDb {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("oap-sqlite-{name}-{}-{n}.db", std::process::id()));
        let db = TempDb(path);
        db.remove();
        db
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Registers the kit's clients and users in `store`.
pub fn add_fixture(store: &SqliteStore, fixture: &Fixture) {
    for c in &fixture.clients {
        let client = match c.secret {
            Some(secret) => ClientRecord::confidential(c.client_id, secret, [c.redirect_uri]),
            None => ClientRecord::public(c.client_id, [c.redirect_uri]),
        };
        let grants = c
            .grants
            .iter()
            .map(|g| Grant::from_name(g).expect("a grant name"));
        store
            .add_client(&client.grants(grants).scopes(c.scopes.iter().copied()))
            .expect("add a client");
    }
    for (user, password) in &fixture.users {
        store.add_user(user, password).expect("add a user");
    }
}
