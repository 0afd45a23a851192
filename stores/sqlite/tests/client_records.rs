//! What a client record says beyond its credentials (resources, the
//! pushed-requests switch) and the audiences of codes and tokens survive
//! a restart: the kit's `check_client_records`, on a file reopened.

mod common;

use common::TempDb;
use oauth2_provider::testing::{self, Fixture};
use oauth2_provider_sqlite::SqliteStore;

#[test]
fn client_records_and_audiences_survive_a_restart() {
    let db = TempDb::new("client-records");
    testing::check_client_records(
        |fixture: &Fixture| {
            let store = SqliteStore::open(db.path()).expect("open");
            common::add_fixture(&store, fixture);
            store
        },
        |_| SqliteStore::open(db.path()).expect("reopen"),
    );
}

#[test]
fn the_switch_is_listed_and_replaced() {
    use oauth2_provider::{Client, ClientLookup, ClientRecord};
    let store = SqliteStore::open_in_memory().unwrap();
    let pushing = ClientRecord::public("app", ["http://127.0.0.1/cb"])
        .require_pushed_authorization_requests(true);
    store.add_client(&pushing).unwrap();
    assert!(store.list_clients().unwrap()[0].requires_pushed_authorization_requests());
    store
        .upsert_client(&pushing.require_pushed_authorization_requests(false))
        .unwrap();
    let found = store.find_client("app").unwrap().unwrap();
    assert!(!found.requires_pushed_authorization_requests());
}
