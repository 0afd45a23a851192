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
    testing::check_device_records(memory_store);
    // It has no users to remove: check_device_user_removal does not apply.
    testing::check_user_code_entries_kept(memory_store, |store, now| store.purge_expired(now));
}

/// The device checks catch a store that keeps no device authorizations
/// (every hook left to the trait's defaults, which refuse).
#[test]
#[should_panic(expected = "conformance check 'device authorizations are stored'")]
fn a_store_without_device_hooks_fails_the_device_kit() {
    testing::check_device_authorizations(|fixture| common::Delegating::new(memory_store(fixture)));
}

/// The records check catches a store without device hooks: nothing it is
/// handed is saved.
#[test]
#[should_panic(expected = "conformance check 'device authorizations are read back and expire'")]
fn a_store_without_device_hooks_fails_the_records_check() {
    testing::check_device_records(|fixture| common::Delegating::new(memory_store(fixture)));
}

/// The removal check catches a store whose user removal keeps what the
/// user approved (here: a removal that forgets nothing).
#[test]
#[should_panic(expected = "an authorization approved by a removed user is still found")]
fn a_removal_that_keeps_approvals_fails_the_removal_check() {
    testing::check_device_user_removal(memory_store, |_, _| {});
}

/// The entries check catches a purge that forgets entries a second
/// early: a server counting over a day would count too few.
#[test]
#[should_panic(expected = "an entry a day old was forgotten by the purge")]
fn an_early_purge_fails_the_entries_check() {
    testing::check_user_code_entries_kept(memory_store, |store, now| store.purge_expired(now + 1));
}

/// The entries check catches a purge that keeps user code entries
/// forever.
#[test]
#[should_panic(expected = "an entry older than a day survived the purge")]
fn a_purge_that_keeps_entries_fails_the_entries_check() {
    testing::check_user_code_entries_kept(memory_store, |_, _| {});
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
