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
