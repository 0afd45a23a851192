//! Resource indicators (RFC 8707) in the SQLite store: a client's
//! resources, and the audience of codes and tokens, survive a restart.

mod common;

use common::{exchange, post, server, token, tokens, TempDb, ALICE, VERIFIER, WEB};
use oauth2_provider::form::{encode_pairs, pairs};
use oauth2_provider::pkce::s256_challenge;
use oauth2_provider::{ClientLookup, Grant, Request, Server};
use oauth2_provider_sqlite::{ClientRecord, SqliteStore};

const API: &str = "https://api.test/";
const PHOTOS: &str = "https://photos.test/v1";

fn add_web(store: &SqliteStore) {
    store
        .add_client(
            &ClientRecord::confidential(WEB.0, WEB.1, [WEB.2])
                .grant_types([
                    Grant::AuthorizationCode,
                    Grant::RefreshToken,
                    Grant::ClientCredentials,
                ])
                .scopes(["read"])
                .resources([API, PHOTOS])
                .may_introspect(true),
        )
        .unwrap();
    store.add_user(ALICE.0, ALICE.1).unwrap();
}

/// A code for `client_id` approved by alice, with PKCE over
/// [`VERIFIER`] and `extra` parameters.
fn code_with(server: &Server<SqliteStore>, client_id: &str, extra: &[(&str, &str)]) -> String {
    let challenge = s256_challenge(VERIFIER);
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("scope", "read"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    query.extend_from_slice(extra);
    let uri = format!("/authorize?{}", encode_pairs(query));
    let request = Request::new("GET", &uri, &[], b"");
    let pending = server
        .validate_authorization_request(&request)
        .expect("valid");
    let response = server.authorize(&request, &pending, ALICE.0, None);
    let location = response.header("location").expect("a redirect");
    let query = location.split_once('?').map_or("", |(_, q)| q);
    pairs(query.as_bytes())
        .filter_map(Result::ok)
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .expect("a code")
}

fn aud(server: &Server<SqliteStore>, token: &str) -> String {
    let r = post(
        server,
        "/introspect",
        (WEB.0, Some(WEB.1)),
        &[("token", token)],
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    let body = r.body_str();
    match body.find("\"aud\":") {
        Some(i) => {
            let rest = &body[i + 6..];
            let end = if rest.starts_with('[') {
                rest.find(']').unwrap() + 1
            } else {
                rest.find([',', '}']).unwrap()
            };
            rest[..end].to_owned()
        }
        None => String::new(),
    }
}

#[test]
fn resources_and_audiences_survive_a_restart() {
    let db = TempDb::new("resources-restart");
    let store = SqliteStore::open(db.path()).unwrap();
    add_web(&store);
    let web = (WEB.0, Some(WEB.1));
    let first = server(store);
    // A code for both resources, exchanged after a restart.
    let code = code_with(&first, WEB.0, &[("resource", API), ("resource", PHOTOS)]);
    drop(first);
    let store = SqliteStore::open(db.path()).unwrap();
    let client = store.find_client(WEB.0).unwrap().unwrap();
    assert_eq!(client.allowed_resources(), [API, PHOTOS]);
    assert_eq!(
        store.list_clients().unwrap()[0].allowed_resources(),
        [API, PHOTOS]
    );
    let second = server(store);
    // Narrowed at the exchange: the access token is for PHOTOS, the
    // refresh token keeps both.
    let mut form = vec![("resource", PHOTOS)];
    form.extend([
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
    ]);
    form.push(("code_verifier", VERIFIER));
    let (access, refresh) = tokens(&token(&second, web, &form));
    let refresh = refresh.unwrap();
    drop(second);
    let third = server(SqliteStore::open(db.path()).unwrap());
    assert_eq!(aud(&third, &access), format!("\"{PHOTOS}\""));
    assert_eq!(aud(&third, &refresh), format!("[\"{API}\",\"{PHOTOS}\"]"));
    // Widening at a refresh is refused; the grant's audience is kept.
    let wider = token(
        &third,
        web,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("resource", "https://other.test/"),
        ],
    );
    assert_eq!(wider.status, 400);
    assert!(wider.body_str().contains("invalid_target"));
    let (access, refresh) = tokens(&token(
        &third,
        web,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    ));
    assert_eq!(aud(&third, &access), format!("[\"{API}\",\"{PHOTOS}\"]"));
    assert_eq!(
        aud(&third, &refresh.unwrap()),
        format!("[\"{API}\",\"{PHOTOS}\"]")
    );
    // Client credentials: what was asked.
    let (cc, _) = tokens(&token(
        &third,
        web,
        &[("grant_type", "client_credentials"), ("resource", API)],
    ));
    assert_eq!(aud(&third, &cc), format!("\"{API}\""));
    // Without resource, an exchange's tokens have no audience.
    let (plain, _) = tokens(&exchange(&third, web, &code_with(&third, WEB.0, &[])));
    assert_eq!(aud(&third, &plain), "");
}
