//! Parts of the storage contract the kit reaches only by calling the
//! store itself (`oauth2_provider::testing::check_storage`: a save over a
//! stored value is refused whole, hostile tokens are unknown;
//! `check_consume_and_save`: a refused `consume_and_save` leaves its
//! credential usable), and the purge's count.

mod common;

use oauth2_provider::testing::{self, Fixture};
use oauth2_provider_sqlite::SqliteStore;

fn store(fixture: &Fixture) -> SqliteStore {
    let store = SqliteStore::open_in_memory().expect("open");
    common::add_fixture(&store, fixture);
    store
}

#[test]
fn sqlite_store_passes_the_storage_checks() {
    testing::check_storage(store);
    testing::check_consume_and_save(store);
}

#[test]
fn the_purge_counts_what_it_deletes() {
    testing::check_purge_count(store, |store, now| {
        store.purge_expired(now).expect("purge") as u64
    });
}
