//! What the store's tests share: temporary database files and a store
//! holding the conformance kit's fixture.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use oauth2_provider::testing::Fixture;
use oauth2_provider::Grant;
use oauth2_provider_sqlite::{ClientRecord, SqliteStore};

/// A database file path unique to this process and call, removed (with
/// its WAL and shared-memory files) when dropped.
pub struct TempDb(PathBuf);

impl TempDb {
    pub fn new(name: &str) -> TempDb {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("oap-sqlite-{name}-{}-{n}.db", std::process::id()));
        let db = TempDb(path);
        db.remove();
        db
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Registers the kit's clients and users in `store`.
pub fn add_fixture(store: &SqliteStore, fixture: &Fixture) {
    for c in &fixture.clients {
        store.add_client(&c.record()).expect("add a client");
    }
    for (user, password) in &fixture.users {
        store.add_user(user, password).expect("add a user");
    }
}

use oauth2_provider::form::{encode_pairs, pairs};
use oauth2_provider::header::basic_header_value;
use oauth2_provider::pkce::s256_challenge;
use oauth2_provider::{OAuthRequest, Request, Response, Server};

/// A confidential client's identifier, secret and redirect URI.
pub const WEB: (&str, &str, &str) = ("web", "web-secret-Zq8v", "https://web.example/cb");
/// A public client's identifier and redirect URI.
pub const APP: (&str, &str) = ("app", "http://127.0.0.1:9000/cb");
/// A user's name and password.
pub const ALICE: (&str, &str) = ("alice", "alice-password-Kp3w");
/// The PKCE verifier every test's code uses.
pub const VERIFIER: &str = "test-verifier-test-verifier-test-verifier-0123";

/// Registers [`WEB`], [`APP`] and [`ALICE`].
pub fn add_clients(store: &SqliteStore) {
    store
        .add_client(
            &ClientRecord::confidential(WEB.0, WEB.1, [WEB.2])
                .grant_types([
                    Grant::AuthorizationCode,
                    Grant::RefreshToken,
                    Grant::ClientCredentials,
                    Grant::Password,
                ])
                .scopes(["read", "write"])
                .may_introspect(true),
        )
        .expect("add web");
    store
        .add_client(
            &ClientRecord::public(APP.0, [APP.1])
                .grant_types([Grant::AuthorizationCode, Grant::RefreshToken])
                .scopes(["read"]),
        )
        .expect("add app");
}

/// A server over `store` with the password grant on.
pub fn server(store: SqliteStore) -> Server<SqliteStore> {
    Server::builder(store)
        .issuer("https://auth.test")
        .enable(Grant::Password)
        .build()
        .expect("a valid configuration")
}

/// A request served at `now`, for calling validator methods directly.
pub fn request(now: u64) -> OAuthRequest<'static> {
    OAuthRequest::new(
        Request::new("POST", "/token", &[], b""),
        Default::default(),
        now,
    )
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

/// A token request: Basic for a client with a secret, `client_id` in the
/// body for one without.
pub fn token<V: oauth2_provider::RequestValidator>(
    server: &Server<V>,
    client: (&str, Option<&str>),
    form: &[(&str, &str)],
) -> Response {
    post(server, "/token", client, form)
}

/// A POST of `form` to `path` as `client`.
pub fn post<V: oauth2_provider::RequestValidator>(
    server: &Server<V>,
    path: &str,
    client: (&str, Option<&str>),
    form: &[(&str, &str)],
) -> Response {
    let mut form = form.to_vec();
    let auth = client.1.map(|s| basic_header_value(client.0, s));
    let mut headers = vec![FORM];
    match &auth {
        Some(value) => headers.push(("Authorization", value.as_str())),
        None => form.push(("client_id", client.0)),
    }
    let body = encode_pairs(form.iter().copied());
    let request = Request::new("POST", path, &headers, body.as_bytes());
    match path {
        "/revoke" => server.revocation_response(&request),
        "/introspect" => server.introspection_response(&request),
        _ => server.token_response(&request),
    }
}

/// A JSON response's top-level string member `name`.
pub fn json(response: &Response, name: &str) -> Option<String> {
    let needle = format!("\"{name}\":\"");
    let body = response.body_str();
    let start = body.find(&needle)? + needle.len();
    let end = body[start..].find('"')?;
    Some(body[start..start + end].to_owned())
}

/// A successful token response's access and refresh tokens.
pub fn tokens(response: &Response) -> (String, Option<String>) {
    assert_eq!(response.status, 200, "{}", response.body_str());
    (
        json(response, "access_token").expect("an access token"),
        json(response, "refresh_token"),
    )
}

/// A code for `client_id` (redirect URI registered alone), approved by
/// [`ALICE`], with PKCE over [`VERIFIER`].
pub fn code<V: oauth2_provider::RequestValidator>(server: &Server<V>, client_id: &str) -> String {
    let challenge = s256_challenge(VERIFIER);
    let query = encode_pairs([
        ("response_type", "code"),
        ("client_id", client_id),
        ("scope", "read"),
        ("state", "s"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    let uri = format!("/authorize?{query}");
    let request = Request::new("GET", &uri, &[], b"");
    let pending = server
        .validate_authorization_request(&request)
        .expect("a valid authorization request");
    let response = server.authorize(&request, &pending, ALICE.0, None);
    let location = response.header("location").expect("a redirect");
    let query = location.split_once('?').map_or("", |(_, q)| q);
    pairs(query.as_bytes())
        .filter_map(Result::ok)
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .expect("a code")
}

/// Exchanges `code` as `client`, with [`VERIFIER`].
pub fn exchange<V: oauth2_provider::RequestValidator>(
    server: &Server<V>,
    client: (&str, Option<&str>),
    code: &str,
) -> Response {
    token(
        server,
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", VERIFIER),
        ],
    )
}

/// Whether the resource server accepts `access`.
pub fn opens<V: oauth2_provider::RequestValidator>(server: &Server<V>, access: &str) -> bool {
    let bearer = format!("Bearer {access}");
    let headers = [("Authorization", bearer.as_str())];
    server
        .verify_bearer(&Request::new("GET", "/api", &headers, b""), &[])
        .is_ok()
}
