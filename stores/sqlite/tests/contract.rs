//! Parts of the storage contract the kit reaches only through a server:
//! a save over a stored value is refused whole, a refused
//! `consume_and_save` leaves its credential usable, and the purge counts
//! what it deletes.

mod common;

use std::sync::Arc;

use common::{add_clients, request, APP, WEB};
use oauth2_provider::pkce::ChallengeMethod;
use oauth2_provider::validator::{grant_ended, token_collision, Consumed};
use oauth2_provider::{
    AuthorizationCode, ClientLookup, CodeStatus, IssuedToken, RequestValidator, Scope, TokenType,
};
use oauth2_provider_sqlite::SqliteStore;

const NOW: u64 = 1_800_000_000;

fn store() -> SqliteStore {
    let store = SqliteStore::open_in_memory().unwrap();
    add_clients(&store);
    store
}

fn issued(access: &str, refresh: Option<&str>, grant: &str, new_grant: bool) -> IssuedToken {
    IssuedToken {
        access_token: access.into(),
        refresh_token: refresh.map(String::from),
        refresh_token_is_new: refresh.is_some(),
        expires_in: 600,
        scopes: Scope::parse("read").unwrap(),
        refresh_scopes: None,
        audience: Default::default(),
        refresh_audience: None,
        client_id: Arc::from(WEB.0),
        user: Some(Arc::from("alice")),
        grant_id: Some(Arc::from(grant)),
        new_grant,
        issued_at: NOW,
        refresh_expires_at: refresh.map(|_| NOW + 3600),
    }
}

fn code(value: &str, grant: &str) -> AuthorizationCode {
    AuthorizationCode {
        code: value.into(),
        client_id: Arc::from(APP.0),
        redirect_uri: None,
        effective_redirect_uri: APP.1.into(),
        user: Arc::from("alice"),
        scopes: Scope::parse("read").unwrap(),
        audience: Default::default(),
        code_challenge: Some(("challenge-value".into(), ChallengeMethod::S256)),
        grant_id: Arc::from(grant),
        issued_at: NOW,
        expires_at: NOW + 60,
    }
}

#[test]
fn a_save_over_a_stored_token_is_refused_whole() {
    let store = store();
    let r = request(NOW);
    store
        .save_bearer_token(&issued("access-1", Some("refresh-1"), "g1", true), &r)
        .unwrap();
    // A new refresh token and a repeated access token: neither is saved.
    let repeat = issued("access-1", Some("refresh-2"), "g2", true);
    assert_eq!(store.save_bearer_token(&repeat, &r), Err(token_collision()));
    assert!(store
        .introspect_token("refresh-2", None, &r)
        .unwrap()
        .is_none());
    let info = store.validate_bearer_token("access-1", &[], &r).unwrap();
    assert_eq!(info.and_then(|i| i.grant_id).as_deref(), Some("g1"));
    // A repeated refresh token likewise.
    let repeat = issued("access-3", Some("refresh-1"), "g1", false);
    assert_eq!(store.save_bearer_token(&repeat, &r), Err(token_collision()));
    assert!(store
        .validate_bearer_token("access-3", &[], &r)
        .unwrap()
        .is_none());
    // And a repeated code.
    store
        .save_authorization_code(APP.0, &code("code-1", "g3"), &r)
        .unwrap();
    assert_eq!(
        store.save_authorization_code(APP.0, &code("code-1", "g4"), &r),
        Err(token_collision())
    );
}

#[test]
fn a_refused_consume_and_save_leaves_the_code_usable() {
    let store = store();
    let r = request(NOW);
    let app = store.find_client(APP.0).unwrap().unwrap();
    store
        .save_authorization_code(APP.0, &code("code-1", "g1"), &r)
        .unwrap();
    let consumed = Consumed::AuthorizationCode {
        client_id: APP.0,
        code: "code-1",
    };
    // The grant revoked meanwhile: refused, and nothing spent.
    store.revoke_grant("g1", &r).unwrap();
    let token = issued("access-1", Some("refresh-1"), "g1", false);
    assert_eq!(
        store.consume_and_save(consumed, &token, &r),
        Err(grant_ended())
    );
    assert!(matches!(
        store.validate_code(APP.0, "code-1", &app, &r).unwrap(),
        CodeStatus::Valid(_)
    ));

    // A save that collides: refused, and nothing spent either.
    store
        .save_authorization_code(APP.0, &code("code-2", "g2"), &r)
        .unwrap();
    store
        .save_bearer_token(&issued("taken", None, "g9", true), &r)
        .unwrap();
    let consumed = Consumed::AuthorizationCode {
        client_id: APP.0,
        code: "code-2",
    };
    let colliding = issued("taken", Some("refresh-2"), "g2", false);
    assert_eq!(
        store.consume_and_save(consumed, &colliding, &r),
        Err(token_collision())
    );
    // The retry spends it; a second attempt finds it spent.
    let token = issued("access-2", Some("refresh-2"), "g2", false);
    assert_eq!(store.consume_and_save(consumed, &token, &r), Ok(true));
    let again = issued("access-3", None, "g2", false);
    assert_eq!(store.consume_and_save(consumed, &again, &r), Ok(false));
    assert!(store
        .validate_bearer_token("access-3", &[], &r)
        .unwrap()
        .is_none());
    match store.validate_code(APP.0, "code-2", &app, &r).unwrap() {
        CodeStatus::Used {
            grant_id,
            code_challenge,
        } => {
            assert_eq!(&*grant_id, "g2");
            assert_eq!(
                code_challenge,
                Some((Arc::from("challenge-value"), ChallengeMethod::S256))
            );
        }
        other => panic!("a spent code reads {other:?}"),
    }

    // A refresh token: rotated once, then found spent.
    let consumed = Consumed::RefreshToken {
        refresh_token: "refresh-2",
    };
    let rotated = issued("access-4", Some("refresh-3"), "g2", false);
    assert_eq!(store.consume_and_save(consumed, &rotated, &r), Ok(true));
    let info = store
        .introspect_token("refresh-3", Some(TokenType::RefreshToken), &r)
        .unwrap();
    assert_eq!(
        info.map(|i| i.token_type),
        Some(Some(TokenType::RefreshToken))
    );
    assert_eq!(store.consume_and_save(consumed, &rotated, &r), Ok(false));
}

#[test]
fn the_purge_counts_what_it_deletes() {
    let store = store();
    let r = request(NOW);
    store
        .save_authorization_code(APP.0, &code("code-1", "g1"), &r)
        .unwrap();
    store
        .save_bearer_token(&issued("access-1", Some("refresh-1"), "g2", true), &r)
        .unwrap();
    assert_eq!(store.purge_expired(NOW).unwrap(), 0);
    // The code and the access token expire; the grants outlive the code
    // (g1) and last as long as the refresh token (g2).
    assert_eq!(store.purge_expired(NOW + 600).unwrap(), 3);
    // The refresh token and its grant.
    assert_eq!(store.purge_expired(NOW + 3600).unwrap(), 2);
    assert_eq!(store.purge_expired(NOW + 3600).unwrap(), 0);
}
