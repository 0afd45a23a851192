//! `PostgresStore` passes the conformance kit (`oauth2_provider::testing`)
//! against a real PostgreSQL, each check on a fresh database.

mod common;

use common::{KitDbs, TestDb};
use oauth2_provider::testing::{self, Fixture};

#[test]
fn postgres_store_passes_the_kit() {
    let dbs = KitDbs::default();
    testing::check(|fixture: &Fixture| dbs.store(fixture));
}

#[test]
fn purge_keeps_what_replay_and_reuse_detection_need() {
    let db = TestDb::new("purge");
    testing::check_purge(
        |fixture: &Fixture| {
            let store = db.store();
            common::add_fixture(&store, fixture);
            store
        },
        |store, now| {
            store.purge_expired(now).expect("purge");
        },
    );
}

#[test]
fn postgres_store_keeps_pushed_requests() {
    let db = TestDb::new("pushed");
    testing::check_pushed_requests(|fixture: &Fixture| {
        let store = db.store();
        common::add_fixture(&store, fixture);
        store
    });
}

/// Versions 3 and 4 add the pushed requests' table and the PAR switch
/// to a version 2 database; the kit's PAR check then passes on it.
#[test]
fn a_version_2_database_gains_pushed_requests() {
    let db = TestDb::new("migrate_v2");
    let store = db.store();
    drop(store);
    db.client()
        .batch_execute(
            "DROP TABLE oauth2_device_authorizations;
             DROP TABLE oauth2_user_code_attempts;
             ALTER TABLE oauth2_clients DROP COLUMN require_par;
             DROP TABLE oauth2_pushed_requests;
             UPDATE oauth2_schema_version SET version = 2;",
        )
        .unwrap();
    testing::check_pushed_requests(|fixture: &Fixture| {
        let store = db.store();
        common::add_fixture(&store, fixture);
        store
    });
    let version: i64 = db
        .client()
        .query_one("SELECT version FROM oauth2_schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, oauth2_provider_postgres::SCHEMA_VERSION);
}

#[test]
fn postgres_store_keeps_device_authorizations() {
    let dbs = KitDbs::default();
    testing::check_device_authorizations(|fixture: &Fixture| dbs.store(fixture));
    let purge = |store: &oauth2_provider_postgres::PostgresStore, now: u64| {
        store.purge_expired(now).expect("purge");
    };
    testing::check_device_purge(|fixture: &Fixture| dbs.store(fixture), purge);
    testing::check_device_records(|fixture: &Fixture| dbs.store(fixture));
    testing::check_device_user_removal(
        |fixture: &Fixture| dbs.store(fixture),
        |store, user| {
            assert!(store.remove_user(user).expect("remove_user"));
        },
    );
    testing::check_user_code_entries_kept(|fixture: &Fixture| dbs.store(fixture), purge);
}
