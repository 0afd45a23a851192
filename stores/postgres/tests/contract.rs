//! Parts of the storage contract the kit reaches only through a server
//! (a save over a stored value is refused whole, a refused
//! `consume_and_save` leaves its credential usable, the purge counts what
//! it deletes), the administrative API, and hostile values.

mod common;

use std::sync::Arc;

use common::{add_clients, request, TestDb, APP, WEB};
use oauth2_provider::pkce::ChallengeMethod;
use oauth2_provider::validator::{grant_ended, token_collision, Consumed};
use oauth2_provider::{
    AuthorizationCode, Client, ClientLookup, CodeStatus, ErrorCode, Grant, IssuedToken,
    RequestValidator, Scope, TokenType,
};
use oauth2_provider_postgres::{ClientRecord, PostgresStore, StoreError};

const NOW: u64 = 1_800_000_000;

fn store(db: &TestDb) -> PostgresStore {
    let store = db.store();
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
    let db = TestDb::new("collide");
    let store = store(&db);
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
    // An unknown grant that is not new: refused.
    let stray = issued("access-9", None, "no-such-grant", false);
    assert_eq!(store.save_bearer_token(&stray, &r), Err(grant_ended()));
}

#[test]
fn a_refused_consume_and_save_leaves_the_code_usable() {
    let db = TestDb::new("refused");
    let store = store(&db);
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
    let db = TestDb::new("purgecount");
    let store = store(&db);
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

#[test]
fn clients_and_users_are_administered() {
    let db = TestDb::new("admin");
    let store = store(&db);
    match store.add_client(&ClientRecord::public(APP.0, [APP.1])) {
        Err(StoreError::ClientExists(id)) => assert_eq!(id, APP.0),
        other => panic!("a second add: {other:?}"),
    }
    let listed = store.list_clients().unwrap();
    let ids: Vec<&str> = listed.iter().map(|c| c.client_id()).collect();
    assert_eq!(ids, [APP.0, WEB.0]);
    let web = store.find_client(WEB.0).unwrap().unwrap();
    assert!(web.secret_sha256().is_some() && Client::may_introspect(&web));
    assert!(web.allows_grant_type(Grant::ClientCredentials));
    assert_eq!(web.redirect_uris(), [WEB.2]);
    // Upsert replaces, keeping what was issued.
    let r = request(NOW);
    store
        .save_bearer_token(&issued("access-1", None, "g1", true), &r)
        .unwrap();
    store
        .upsert_client(
            &ClientRecord::confidential(WEB.0, "new-secret", ["https://web.example/new"])
                .grant_types([Grant::ClientCredentials])
                .scopes(["read"]),
        )
        .unwrap();
    let web = store.find_client(WEB.0).unwrap().unwrap();
    assert_eq!(web.redirect_uris(), ["https://web.example/new"]);
    assert!(store
        .validate_bearer_token("access-1", &[], &r)
        .unwrap()
        .is_some());
    // Removing it takes its tokens and revokes its grants.
    assert!(store.remove_client(WEB.0).unwrap());
    assert!(!store.remove_client(WEB.0).unwrap());
    assert!(store.find_client(WEB.0).unwrap().is_none());
    assert!(store
        .validate_bearer_token("access-1", &[], &r)
        .unwrap()
        .is_none());

    store.add_user("alice", "wonderland").unwrap();
    store.add_user("bob", "builder").unwrap();
    assert!(store.check_user("alice", "wonderland").unwrap());
    assert!(!store.check_user("alice", "builder").unwrap());
    assert!(!store.check_user("carol", "wonderland").unwrap());
    assert_eq!(store.list_users().unwrap(), ["alice", "bob"]);
    // Removing a user takes what was issued to them.
    add_clients(&store);
    store
        .save_bearer_token(&issued("access-2", Some("refresh-2"), "g2", true), &r)
        .unwrap();
    assert!(store.remove_user("alice").unwrap());
    assert!(!store.remove_user("alice").unwrap());
    assert!(store
        .validate_bearer_token("access-2", &[], &r)
        .unwrap()
        .is_none());
    assert!(store
        .introspect_token("refresh-2", None, &r)
        .unwrap()
        .is_none());
    assert_eq!(store.list_users().unwrap(), ["bob"]);
}

#[test]
fn the_database_holds_no_usable_credential() {
    let db = TestDb::new("atrest");
    let store = store(&db);
    store.add_user("alice", "wonderland-password").unwrap();
    let r = request(NOW);
    store
        .save_authorization_code(APP.0, &code("code-plaintext", "g1"), &r)
        .unwrap();
    store
        .save_bearer_token(
            &issued("access-plaintext", Some("refresh-plaintext"), "g2", true),
            &r,
        )
        .unwrap();
    let mut client = db.client();
    let dump: String = client
        .query(
            "SELECT concat_ws(' ', t::text) FROM (
                 SELECT row_to_json(c)::text AS t FROM oauth2_clients c
                 UNION ALL SELECT row_to_json(u)::text FROM oauth2_users u
                 UNION ALL SELECT row_to_json(k)::text FROM oauth2_codes k
                 UNION ALL SELECT row_to_json(a)::text FROM oauth2_access_tokens a
                 UNION ALL SELECT row_to_json(f)::text FROM oauth2_refresh_tokens f) rows",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get::<_, String>(0))
        .collect();
    assert!(dump.contains("pbkdf2-sha256"), "{dump}");
    for secret in [
        WEB.1,
        "wonderland-password",
        "code-plaintext",
        "access-plaintext",
        "refresh-plaintext",
    ] {
        assert!(!dump.contains(secret), "{secret} is stored in clear");
    }
}

#[test]
fn hostile_values_are_refused_or_stored_as_given_never_a_panic() {
    let db = TestDb::new("hostile");
    let store = store(&db);
    let r = request(NOW);
    // Quotes and SQL are data (bound parameters).
    let evil = "x'); DROP TABLE oauth2_clients; --";
    store
        .add_client(&ClientRecord::public(evil, ["https://e.example/cb"]))
        .unwrap();
    assert_eq!(store.find_client(evil).unwrap().unwrap().client_id(), evil);
    assert!(store.check_user(evil, evil).is_ok());
    // PostgreSQL text holds no NUL: a store failure, answered as
    // server_error (validator) or an error (admin), never a panic.
    assert!(store
        .add_client(&ClientRecord::public("nul\0id", ["https://e.example/cb"]))
        .is_err());
    let e = store.find_client("nul\0id").unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServerError);
    // An empty identifier or redirect URI is refused before the database.
    assert!(matches!(
        store.add_client(&ClientRecord::public("", ["https://e.example/cb"])),
        Err(StoreError::InvalidRecord(_))
    ));
    assert!(matches!(
        store.add_client(&ClientRecord::public("empty-uri", [""])),
        Err(StoreError::InvalidRecord(_))
    ));
    // Long and odd tokens are just unknown.
    let long = "a".repeat(100_000);
    for token in [long.as_str(), "", "\u{1F600}", "%00"] {
        assert!(store
            .validate_bearer_token(token, &[], &r)
            .unwrap()
            .is_none());
        assert!(store.introspect_token(token, None, &r).unwrap().is_none());
        store.revoke_token(token, None, &r).unwrap();
    }
    // The tables are all still there.
    assert_eq!(store.list_clients().unwrap().len(), 3);
}
