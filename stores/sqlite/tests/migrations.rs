//! The schema's version: a new file gets the current one, reopening keeps
//! it, and a file from a newer version of the store is refused.

mod common;

use common::TempDb;
use oauth2_provider_sqlite::{ClientRecord, SqliteStore, StoreError, SCHEMA_VERSION};
use rusqlite::Connection;

fn user_version(db: &TempDb) -> i64 {
    Connection::open(db.path())
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn a_new_file_gets_version_1_in_wal_mode() {
    let db = TempDb::new("migrate-new");
    drop(SqliteStore::open(db.path()).expect("open"));
    assert_eq!(SCHEMA_VERSION, 1);
    assert_eq!(user_version(&db), 1);
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
    assert_eq!(user_version(&db), 1);
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
    assert_eq!(user_version(&db), 1);
}
