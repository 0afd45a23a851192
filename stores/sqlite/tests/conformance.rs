//! `SqliteStore` passes the conformance kit (`oauth2_provider::testing`),
//! each check on a fresh database file.

mod common;

use std::sync::Mutex;

use common::TempDb;
use oauth2_provider::testing::{self, Fixture};
use oauth2_provider_sqlite::SqliteStore;

#[test]
fn sqlite_store_passes_the_kit() {
    // The files live until the test ends: the kit drops each store when
    // its check is done, not when the next one starts.
    let files = Mutex::new(Vec::new());
    testing::check(|fixture: &Fixture| {
        let db = TempDb::new("kit");
        let store = SqliteStore::open(db.path()).expect("open");
        common::add_fixture(&store, fixture);
        files.lock().unwrap().push(db);
        store
    });
}

#[test]
fn in_memory_store_passes_the_kit() {
    testing::check(|fixture: &Fixture| {
        let store = SqliteStore::open_in_memory().expect("open");
        common::add_fixture(&store, fixture);
        store
    });
}

#[test]
fn purge_keeps_what_replay_and_reuse_detection_need() {
    let db = TempDb::new("purge");
    testing::check_purge(
        |fixture: &Fixture| {
            let store = SqliteStore::open(db.path()).expect("open");
            common::add_fixture(&store, fixture);
            store
        },
        |store, now| {
            store.purge_expired(now).expect("purge");
        },
    );
}

#[test]
fn in_memory_purge_keeps_what_replay_and_reuse_detection_need() {
    testing::check_purge(
        |fixture: &Fixture| {
            let store = SqliteStore::open_in_memory().expect("open");
            common::add_fixture(&store, fixture);
            store
        },
        |store, now| {
            store.purge_expired(now).expect("purge");
        },
    );
}

#[test]
fn sqlite_store_keeps_pushed_requests() {
    let db = TempDb::new("pushed");
    testing::check_pushed_requests(|fixture: &Fixture| {
        let store = SqliteStore::open(db.path()).expect("open");
        common::add_fixture(&store, fixture);
        store
    });
}

#[test]
fn sqlite_store_keeps_device_authorizations() {
    let files = Mutex::new(Vec::new());
    let new_store = |fixture: &Fixture| {
        let db = TempDb::new("device-kit");
        let store = SqliteStore::open(db.path()).expect("open");
        common::add_fixture(&store, fixture);
        files.lock().unwrap().push(db);
        store
    };
    testing::check_device_authorizations(new_store);
    testing::check_device_purge(new_store, |store, now| {
        store.purge_expired(now).expect("purge");
    });
    testing::check_device_records(new_store);
    testing::check_device_user_removal(new_store, |store, user| {
        assert!(store.remove_user(user).expect("remove_user"));
    });
    testing::check_user_code_entries_kept(new_store, |store, now| {
        store.purge_expired(now).expect("purge");
    });
}

#[test]
fn in_memory_store_keeps_device_authorizations() {
    let new_store = |fixture: &Fixture| {
        let store = SqliteStore::open_in_memory().expect("open");
        common::add_fixture(&store, fixture);
        store
    };
    testing::check_device_authorizations(new_store);
    testing::check_device_purge(new_store, |store, now| {
        store.purge_expired(now).expect("purge");
    });
}
