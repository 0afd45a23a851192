//! The admin API: clients and users added, listed, replaced and removed;
//! passwords checked and hashed at rest.

mod common;

use common::{add_clients, json, opens, request, server, token, tokens, TempDb, ALICE, APP, WEB};
use oauth2_provider::secret::sha256;
use oauth2_provider::{Client, ClientLookup, Grant, RequestValidator};
use oauth2_provider_sqlite::{ClientRecord, SqliteStore, StoreError};
use rusqlite::Connection;

#[test]
fn clients_are_added_listed_replaced_and_removed() {
    let store = SqliteStore::open_in_memory().unwrap();
    add_clients(&store);
    let ids: Vec<String> = store
        .list_clients()
        .unwrap()
        .iter()
        .map(|c| c.client_id().to_owned())
        .collect();
    assert_eq!(ids, ["app", "web"]);

    let web = store.find_client(WEB.0).unwrap().expect("web");
    assert!(web.is_confidential());
    assert_eq!(web.secret_sha256(), Some(&sha256(WEB.1.as_bytes())));
    assert_eq!(web.redirect_uris(), [WEB.2]);
    assert!(web.allows_grant_type(Grant::ClientCredentials));
    assert!(!web.allows_grant_type(Grant::Implicit));
    assert_eq!(web.allowed_scopes().as_str(), "read write");
    assert!(Client::may_introspect(&web));
    let app = store.find_client("app").unwrap().expect("app");
    assert!(!app.is_confidential() && !Client::may_introspect(&app));

    match store.add_client(&ClientRecord::public("app", [])) {
        Err(StoreError::ClientExists(id)) => assert_eq!(id, "app"),
        other => panic!("added a duplicate: {other:?}"),
    }
    let replaced = ClientRecord::public("app", ["http://127.0.0.1/a", "http://127.0.0.1/b"])
        .grant_types([Grant::AuthorizationCode])
        .scopes(["read", "profile"])
        .default_scopes(["profile"])
        .pkce_required(true);
    store.upsert_client(&replaced).unwrap();
    assert_eq!(store.find_client("app").unwrap().as_ref(), Some(&replaced));

    assert!(store.remove_client("app").unwrap());
    assert!(!store.remove_client("app").unwrap());
    assert!(store.find_client("app").unwrap().is_none());
    assert_eq!(store.list_clients().unwrap().len(), 1);
}

#[test]
fn a_redirect_uri_with_whitespace_is_refused() {
    let store = SqliteStore::open_in_memory().unwrap();
    for uris in [["https://a.example/cb x"], [""]] {
        match store.add_client(&ClientRecord::public("bad", uris)) {
            Err(StoreError::InvalidRecord(_)) => {}
            other => panic!("stored {uris:?}: {other:?}"),
        }
    }
}

#[test]
fn removing_a_client_revokes_its_grants_and_tokens() {
    let db = TempDb::new("remove-client");
    let store = SqliteStore::open(db.path()).unwrap();
    add_clients(&store);
    store.add_user(ALICE.0, ALICE.1).unwrap();
    let server = server(store);
    let web = (WEB.0, Some(WEB.1));
    let (access, refresh) = tokens(&token(
        &server,
        web,
        &[
            ("grant_type", "password"),
            ("username", ALICE.0),
            ("password", ALICE.1),
        ],
    ));
    let refresh = refresh.expect("a refresh token");
    let store = server.validator();
    let info = store
        .introspect_token(&refresh, None, &request(server.now()))
        .unwrap()
        .expect("the refresh token");
    let grant_id = info.grant_id.expect("a grant");
    assert!(store.remove_client(WEB.0).unwrap());
    assert!(!opens(&server, &access));
    assert!(store
        .introspect_token(&refresh, None, &request(server.now()))
        .unwrap()
        .is_none());
    // The grant is remembered as revoked: a request of it, past its
    // checks before the removal, cannot save tokens now.
    let revoked: bool = Connection::open(db.path())
        .unwrap()
        .query_row(
            "SELECT revoked FROM grants WHERE grant_id = ?1",
            [&*grant_id],
            |row| row.get(0),
        )
        .unwrap();
    assert!(revoked);
}

#[test]
fn removing_a_user_revokes_what_was_issued_to_them() {
    let db = TempDb::new("remove-user");
    let store = SqliteStore::open(db.path()).unwrap();
    add_clients(&store);
    store.add_user(ALICE.0, ALICE.1).unwrap();
    store.add_user("bob", "bob-password-Hq2x").unwrap();
    let server = server(store);
    let web = (WEB.0, Some(WEB.1));
    let login = |user: &str, password: &str| {
        let r = token(
            &server,
            web,
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", password),
            ],
        );
        let (access, refresh) = tokens(&r);
        (access, refresh.expect("a refresh token"))
    };
    let (access, refresh) = login(ALICE.0, ALICE.1);
    let (bobs, _) = login("bob", "bob-password-Hq2x");
    let code = common::code(&server, APP.0);
    assert!(server.validator().remove_user(ALICE.0).unwrap());
    assert!(!opens(&server, &access), "her access token still opens");
    let r = token(
        &server,
        web,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    );
    assert_eq!(json(&r, "error").as_deref(), Some("invalid_grant"));
    let r = common::exchange(&server, (APP.0, None), &code);
    assert_eq!(json(&r, "error").as_deref(), Some("invalid_grant"));
    assert!(
        opens(&server, &bobs),
        "another user's token stopped working"
    );
}

#[test]
fn users_are_added_checked_listed_and_removed() {
    let db = TempDb::new("users");
    let store = SqliteStore::open(db.path()).unwrap();
    store.add_user(ALICE.0, ALICE.1).unwrap();
    store.add_user("bob", "bob-password").unwrap();
    assert_eq!(store.list_users().unwrap(), ["alice", "bob"]);
    assert!(store.check_user(ALICE.0, ALICE.1).unwrap());
    assert!(!store.check_user(ALICE.0, "alice-password-kp3w").unwrap());
    assert!(!store.check_user(ALICE.0, "").unwrap());
    assert!(!store.check_user("carol", ALICE.1).unwrap());

    // A new password replaces the old one.
    store.add_user("bob", "bob-new-password").unwrap();
    assert!(!store.check_user("bob", "bob-password").unwrap());
    assert!(store.check_user("bob", "bob-new-password").unwrap());

    // At rest: PBKDF2-SHA256, 600,000 iterations, salted (two users with
    // one password get different hashes), no trace of the password.
    store.add_user("carol", ALICE.1).unwrap();
    let conn = Connection::open(db.path()).unwrap();
    let hash = |user: &str| -> String {
        conn.query_row(
            "SELECT password_hash FROM users WHERE username = ?1",
            [user],
            |row| row.get(0),
        )
        .unwrap()
    };
    let (alice, carol) = (hash("alice"), hash("carol"));
    assert!(alice.starts_with("$pbkdf2-sha256$i=600000$"), "{alice}");
    assert_ne!(alice, carol);
    assert!(!alice.contains(ALICE.1));

    assert!(store.remove_user("bob").unwrap());
    assert!(!store.remove_user("bob").unwrap());
    assert!(!store.check_user("bob", "bob-new-password").unwrap());
    assert_eq!(store.list_users().unwrap(), ["alice", "carol"]);
}

#[test]
fn a_store_failure_answers_server_error_and_reaches_the_hook() {
    use std::sync::{Arc, Mutex};
    let db = TempDb::new("failure");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let store = SqliteStore::open(db.path())
        .unwrap()
        .on_error(move |e| log.lock().unwrap().push(e.to_string()));
    add_clients(&store);
    Connection::open(db.path())
        .unwrap()
        .execute_batch("DROP TABLE access_tokens")
        .unwrap();
    let secret_token = "a-bearer-token-that-must-not-be-logged";
    let e = store
        .validate_bearer_token(secret_token, &[], &request(0))
        .unwrap_err();
    assert_eq!(e.code(), oauth2_provider::ErrorCode::ServerError);
    assert_eq!(e.description(), "the token store failed");
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert!(seen[0].contains("access_tokens"), "{}", seen[0]);
        assert!(!seen[0].contains(secret_token));
    }
    // A refusal is no failure: a save for an unknown grant is refused
    // without reaching the hook.
    let late = oauth2_provider::IssuedToken {
        access_token: "late".into(),
        refresh_token: None,
        refresh_token_is_new: false,
        expires_in: 60,
        scopes: oauth2_provider::Scope::empty(),
        refresh_scopes: None,
        audience: Default::default(),
        refresh_audience: None,
        client_id: WEB.0.into(),
        user: None,
        grant_id: Some("unknown-grant".into()),
        new_grant: false,
        issued_at: 0,
        refresh_expires_at: None,
    };
    assert_eq!(
        store.save_bearer_token(&late, &request(0)),
        Err(oauth2_provider::validator::grant_ended())
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn a_client_record_shows_no_secret() {
    let client = ClientRecord::confidential("web", "the-secret", []);
    assert!(!format!("{client:?}").contains("the-secret"));
    assert!(!format!("{client:?}").contains(&format!("{:?}", sha256(b"the-secret"))));
}
