//! The schema's versioning: a new database is migrated once even when
//! servers start together, reconnecting keeps data and version, and a
//! database newer than the code is refused.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use common::TestDb;
use oauth2_provider_postgres::{PostgresStore, StoreError, SCHEMA_VERSION};

fn version(db: &TestDb) -> Vec<i64> {
    db.client()
        .query("SELECT version FROM oauth2_schema_version", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[test]
fn servers_starting_together_on_a_new_database_migrate_it_once() {
    let db = TestDb::new("migrate");
    let barrier = Arc::new(Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (conninfo, barrier) = (db.conninfo().to_owned(), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                PostgresStore::connect(&conninfo).map(drop)
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().expect("every server starts");
    }
    assert_eq!(version(&db), [SCHEMA_VERSION]);
}

#[test]
fn reconnecting_keeps_the_data_and_the_version() {
    let db = TestDb::new("reopen");
    db.store().add_user("alice", "wonderland").unwrap();
    let store = db.store();
    assert_eq!(version(&db), [SCHEMA_VERSION]);
    assert!(store.check_user("alice", "wonderland").unwrap());
}

#[test]
fn a_newer_schema_is_refused() {
    let db = TestDb::new("newer");
    drop(db.store());
    db.client()
        .execute(
            "UPDATE oauth2_schema_version SET version = $1",
            &[&(SCHEMA_VERSION + 1)],
        )
        .unwrap();
    match PostgresStore::connect(db.conninfo()) {
        Err(e @ StoreError::SchemaTooNew { found, known }) => {
            assert_eq!((found, known), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
            assert!(e.to_string().contains("newer"));
        }
        other => panic!("a newer schema: {other:?}"),
    }
}

#[test]
fn a_bad_connection_string_or_an_unreachable_server_is_an_error_without_secrets() {
    match PostgresStore::connect("host=/nonexistent password='hunter2' port=notaport") {
        Err(e @ StoreError::Config(_)) => assert!(!format!("{e} {e:?}").contains("hunter2")),
        other => panic!("a malformed string: {other:?}"),
    }
    match PostgresStore::connect("host=/nonexistent-dir port=1 user=x password=hunter2") {
        Err(e @ StoreError::Postgres(_)) => assert!(!format!("{e} {e:?}").contains("hunter2")),
        other => panic!("an unreachable server: {other:?}"),
    }
}
