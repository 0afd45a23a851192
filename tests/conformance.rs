//! `MemoryValidator` passes the conformance kit (`oauth2_provider::testing`).

mod common;

use oauth2_provider::memory::MemoryValidator;
use oauth2_provider::testing::{self, Fixture};

fn memory_store(fixture: &Fixture) -> MemoryValidator {
    let store = MemoryValidator::new();
    for c in &fixture.clients {
        store.add_client(c.record());
    }
    for (user, password) in &fixture.users {
        store.add_user(user, password);
    }
    store
}

#[test]
fn memory_validator_passes_the_kit() {
    testing::check(memory_store);
}

/// The kit catches a store that breaks the contract: one whose grant
/// revocation fails cannot pass (a replayed code must revoke).
#[test]
#[should_panic(expected = "conformance check 'authorization code'")]
fn a_store_that_cannot_revoke_fails_the_kit() {
    testing::check(|fixture| {
        common::Delegating::new(memory_store(fixture)).failing("revoke_grant")
    });
}

#[test]
fn memory_validator_passes_the_storage_checks() {
    // It keeps nothing outside the process, and its purge does not
    // count: check_at_rest and check_purge_count do not apply.
    testing::check_storage(memory_store);
    testing::check_consume_and_save(memory_store);
}

/// The storage checks catch a store without transactions: its two-step
/// `consume_and_save` spends a code whose save is then refused.
#[test]
#[should_panic(
    expected = "conformance check 'a refused consume_and_save leaves its credential usable'"
)]
fn a_two_step_store_fails_the_storage_checks() {
    testing::check_consume_and_save(|fixture| common::Delegating::new(memory_store(fixture)));
}

#[test]
fn memory_validator_purges_what_the_kit_expects() {
    testing::check_purge(memory_store, |store, now| store.purge_expired(now));
}

/// A store that spends the code and saves its tokens in two steps (the
/// trait's default `consume_and_save`, for stores without transactions)
/// stays race-safe but fails the failed-save check: its retry is refused.
#[test]
#[should_panic(expected = "conformance check 'a failed save, then its retry'")]
fn a_two_step_store_fails_the_retry_check() {
    testing::check(|fixture| common::Delegating::new(memory_store(fixture)));
}

/// A store shared by reference count (the server holds one `Arc`, the
/// host another) is the store itself: every method forwards, the
/// defaulted ones too, so it passes where a two-step default would not.
#[test]
fn a_store_behind_an_arc_passes_the_kit() {
    testing::check(|fixture| std::sync::Arc::new(memory_store(fixture)));
}

#[test]
fn memory_validator_keeps_pushed_requests() {
    testing::check_pushed_requests(memory_store);
    // Shared by reference count, the forwarding keeps the hooks.
    testing::check_pushed_requests(|fixture| std::sync::Arc::new(memory_store(fixture)));
}

#[test]
fn memory_validator_keeps_device_authorizations() {
    testing::check_device_authorizations(memory_store);
    testing::check_device_authorizations(|fixture| std::sync::Arc::new(memory_store(fixture)));
    testing::check_device_purge(memory_store, |store, now| store.purge_expired(now));
}

/// The device checks catch a store that keeps no device authorizations
/// (every hook left to the trait's defaults, which refuse).
#[test]
#[should_panic(expected = "conformance check 'device authorizations are stored'")]
fn a_store_without_device_hooks_fails_the_device_kit() {
    testing::check_device_authorizations(|fixture| common::Delegating::new(memory_store(fixture)));
}

/// The racing slow_down check catches a store that keeps one growth of
/// the interval where racing polls answered several slow_downs (each
/// poll writing back the interval it read, grown once).
#[test]
#[should_panic(expected = "conformance check 'racing slow_downs'")]
fn a_store_losing_racing_growths_fails_the_device_kit() {
    testing::check_device_authorizations(|fixture| common::Delegating {
        one_slow_down: true,
        ..common::Delegating::new(memory_store(fixture)).with_device()
    });
}
