//! `PostgresStore` passes the conformance kit (`oauth2_provider::testing`)
//! against a real PostgreSQL, each check on a fresh database.

mod common;

use std::sync::Mutex;

use common::TestDb;
use oauth2_provider::testing::{self, Fixture};

#[test]
fn postgres_store_passes_the_kit() {
    // The databases live until the test ends: the kit drops each store
    // when its check is done, not when the next one starts.
    let dbs = Mutex::new(Vec::new());
    testing::check(|fixture: &Fixture| {
        let db = TestDb::new("kit");
        let store = db.store();
        common::add_fixture(&store, fixture);
        dbs.lock().unwrap().push(db);
        store
    });
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
