//! What a client record says beyond its credentials (resources, the
//! pushed-requests switch) and the audiences of codes and tokens are
//! stored, and read by another store over the database: the kit's
//! `check_client_records`.

mod common;

use common::TestDb;
use oauth2_provider::testing::{self, Fixture};

#[test]
fn client_records_and_audiences_survive_a_restart() {
    let db = TestDb::new("client_records");
    testing::check_client_records(
        |fixture: &Fixture| {
            let store = db.store();
            common::add_fixture(&store, fixture);
            store
        },
        |_| db.store(),
    );
}

#[test]
fn the_switch_is_listed_and_replaced() {
    use oauth2_provider::{Client, ClientLookup, ClientRecord};
    let db = TestDb::new("par_switch");
    let store = db.store();
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
