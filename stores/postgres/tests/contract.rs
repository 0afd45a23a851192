//! The kit's storage checks (`oauth2_provider::testing`: a save over a
//! stored value is refused whole, a refused `consume_and_save` leaves its
//! credential usable, hostile tokens are unknown, the purge counts what
//! it deletes, nothing is stored in clear), the administrative API, and
//! hostile values for the database.

mod common;

use std::sync::Arc;

use common::{add_clients, add_fixture, request, KitDbs, TestDb, APP, WEB};
use oauth2_provider::testing::{self, Fixture};
use oauth2_provider::{
    Client, ClientLookup, ErrorCode, Grant, IssuedToken, RequestValidator, Scope,
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

#[test]
fn postgres_store_passes_the_storage_checks() {
    let dbs = KitDbs::default();
    testing::check_storage(|fixture: &Fixture| dbs.store(fixture));
    testing::check_consume_and_save(|fixture: &Fixture| dbs.store(fixture));
}

#[test]
fn the_purge_counts_what_it_deletes() {
    let dbs = KitDbs::default();
    testing::check_purge_count(
        |fixture: &Fixture| dbs.store(fixture),
        |store, now| store.purge_expired(now).expect("purge"),
    );
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
    testing::check_at_rest(
        |fixture| {
            let store = db.store();
            add_fixture(&store, fixture);
            store
        },
        |_| {
            let dump: String = db
                .client()
                .query(
                    "SELECT concat_ws(' ', t::text) FROM (
                         SELECT row_to_json(c)::text AS t FROM oauth2_clients c
                         UNION ALL SELECT row_to_json(u)::text FROM oauth2_users u
                         UNION ALL SELECT row_to_json(k)::text FROM oauth2_codes k
                         UNION ALL SELECT row_to_json(a)::text FROM oauth2_access_tokens a
                         UNION ALL SELECT row_to_json(f)::text FROM oauth2_refresh_tokens f) rows",
                    &[],
                )
                .expect("dump the tables")
                .iter()
                .map(|row| row.get::<_, String>(0))
                .collect();
            assert!(dump.contains("pbkdf2-sha256"), "{dump}");
            dump.into_bytes()
        },
    );
}

#[test]
fn hostile_values_are_refused_or_stored_as_given_never_a_panic() {
    let db = TestDb::new("hostile");
    let store = store(&db);
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
    // Long and odd tokens: testing::check_storage.
    // The tables are all still there.
    assert_eq!(store.list_clients().unwrap().len(), 3);
}
