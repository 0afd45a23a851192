//! `MemoryValidator` passes the conformance kit (`oauth2_provider::testing`).

mod common;

use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::testing::{self, Fixture};

fn memory_store(fixture: &Fixture) -> MemoryValidator {
    let clock = fixture.clock();
    let store = MemoryValidator::new().with_clock(move || clock.now());
    for c in &fixture.clients {
        let client = match c.secret {
            Some(secret) => MemoryClient::confidential(c.client_id, secret, [c.redirect_uri]),
            None => MemoryClient::public(c.client_id, [c.redirect_uri]),
        };
        store.add_client(
            client
                .grants(c.grants.iter().copied())
                .scopes(c.scopes.iter().copied()),
        );
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
