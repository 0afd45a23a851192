//! Resource indicators (RFC 8707) in the PostgreSQL store: a database of
//! schema version 1 migrates to them keeping its tokens. (That they are
//! stored and read back is the kit's `check_client_records`, in
//! `client_records.rs`.)

mod common;

use common::{exchange, json, opens, refresh, server, TestDb, APP, VERIFIER};
use oauth2_provider::form::{encode_pairs, pairs};
use oauth2_provider::pkce::s256_challenge;
use oauth2_provider::{ClientLookup, ClientRecord, Grant, Request, Response, Server};
use oauth2_provider_postgres::{PostgresStore, SCHEMA_VERSION};

const API: &str = "https://api.test/";
const PHOTOS: &str = "https://photos.test/v1";

/// `app`, public, allowed both resources; `rs`, which may introspect.
fn add_clients(store: &PostgresStore) {
    store
        .upsert_client(
            &ClientRecord::public(APP.0, [APP.1])
                .grant_types([Grant::AuthorizationCode, Grant::RefreshToken])
                .scopes(["read"])
                .resources([API, PHOTOS]),
        )
        .unwrap();
    store
        .upsert_client(
            &ClientRecord::confidential("rs", "rs-secret", [])
                .grant_types([Grant::ClientCredentials])
                .may_introspect(true),
        )
        .unwrap();
}

/// A code for `app` asking for `resources`.
fn code_for(server: &Server<PostgresStore>, resources: &[&str]) -> String {
    let challenge = s256_challenge(VERIFIER);
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", APP.0),
        ("scope", "read"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    query.extend(resources.iter().map(|r| ("resource", *r)));
    let uri = format!("/authorize?{}", encode_pairs(query));
    let request = Request::new("GET", &uri, &[], b"");
    let pending = server
        .validate_authorization_request(&request)
        .expect("valid");
    let response = server.authorize(&request, &pending, "alice", None);
    let location = response.header("location").expect("a redirect");
    let query = location.split_once('?').map_or("", |(_, q)| q);
    pairs(query.as_bytes())
        .filter_map(Result::ok)
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .expect("a code")
}

/// The `aud` member of `token`'s introspection, as JSON text ("" if none).
fn aud(server: &Server<PostgresStore>, token: &str) -> String {
    let auth = oauth2_provider::header::basic_header_value("rs", "rs-secret");
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", auth.as_str()),
    ];
    let body = encode_pairs([("token", token)]);
    let r = server.introspection_response(&Request::new(
        "POST",
        "/introspect",
        &headers,
        body.as_bytes(),
    ));
    assert_eq!(r.status, 200, "{}", r.body_str());
    let body = r.body_str();
    let Some(at) = body.find("\"aud\":") else {
        return String::new();
    };
    let rest = &body[at + 6..];
    let end = if rest.starts_with('[') {
        rest.find(']').unwrap() + 1
    } else {
        rest.find([',', '}']).unwrap()
    };
    rest[..end].to_owned()
}

fn tokens(r: &Response) -> (String, String) {
    assert_eq!(r.status, 200, "{}", r.body_str());
    (
        json(r, "access_token").unwrap(),
        json(r, "refresh_token").unwrap(),
    )
}

#[test]
fn a_version_1_database_keeps_its_tokens_and_gains_audiences() {
    let db = TestDb::new("migrate_v1");
    let store = db.store();
    add_clients(&store);
    let old = server(store);
    let (access, refresh_token) = tokens(&exchange(&old, &code_for(&old, &[])));
    drop(old);
    // Back to version 1: without the columns of version 2.
    db.client()
        .batch_execute(
            "DROP TABLE oauth2_device_authorizations;
             DROP TABLE oauth2_user_code_attempts;
             ALTER TABLE oauth2_clients DROP COLUMN require_par;
             DROP TABLE oauth2_pushed_requests;
             ALTER TABLE oauth2_clients DROP COLUMN resources;
             ALTER TABLE oauth2_codes DROP COLUMN audience;
             ALTER TABLE oauth2_access_tokens DROP COLUMN audience;
             ALTER TABLE oauth2_refresh_tokens DROP COLUMN audience;
             UPDATE oauth2_schema_version SET version = 1;",
        )
        .unwrap();
    let store = db.store();
    let version: i64 = db
        .client()
        .query_one("SELECT version FROM oauth2_schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!((version, SCHEMA_VERSION), (4, 4));
    // The client lost its resources with the column; the realm gives them back.
    assert!(store
        .find_client(APP.0)
        .unwrap()
        .unwrap()
        .allowed_resources()
        .is_empty());
    add_clients(&store);
    let new = server(store);
    assert!(opens(&new, &access));
    assert_eq!(aud(&new, &access), "");
    let (rotated, _) = tokens(&refresh(&new, &refresh_token));
    assert!(opens(&new, &rotated));
    let (for_api, _) = tokens(&exchange(&new, &code_for(&new, &[API])));
    assert_eq!(aud(&new, &for_api), format!("\"{API}\""));
}
