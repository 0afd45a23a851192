//! The measured realm: one server with one confidential client, over the
//! in-memory validator ([`Fixture::new`]) or an SQLite file
//! ([`Fixture::sqlite`]), and the requests whose cost is measured. Shared by
//! the allocation budgets (`tests/alloc_budget.rs`), the core benchmark
//! (`benches/core.rs`) and the Rust column of the comparison
//! (`benches/compare/main.rs`), each of which includes this file with
//! `#[path = …] mod fixture;`. It matches the realm of the C and oauthlib
//! drivers of `benches/compare/` (see `run.sh`).
#![allow(dead_code)]

use oauth2_provider::header::basic_header_value;
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::{Grant, Request, RequestValidator, Response, Server};
use oauth2_provider_sqlite::{ClientRecord, SqliteStore};

pub const REDIRECT: &str = "https://client.example.com/cb";
/// RFC 7636 Appendix B's verifier and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

pub struct Fixture<V = MemoryValidator> {
    pub server: Server<V>,
    /// conf-client's HTTP Basic `Authorization` value.
    pub basic: String,
}

impl Fixture {
    /// The realm over [`MemoryValidator`].
    pub fn new() -> Self {
        let v = MemoryValidator::new();
        v.add_client(
            MemoryClient::confidential("conf-client", "conf-secret", [REDIRECT])
                .grants([
                    "authorization_code",
                    "refresh_token",
                    "client_credentials",
                    oauth2_provider::DEVICE_CODE_GRANT_TYPE,
                ])
                .scopes(["read", "write"])
                .default_scopes(["read"])
                .may_introspect(true),
        );
        v.add_user("alice", "wonderland");
        Fixture::with(v)
    }
}

impl Fixture<SqliteStore> {
    /// The same realm in the SQLite store at `path` (created if missing;
    /// WAL, `synchronous=NORMAL`, as every file the store opens).
    pub fn sqlite(path: &std::path::Path) -> Self {
        let store = SqliteStore::open(path).expect("open the database");
        store
            .upsert_client(
                &ClientRecord::confidential("conf-client", "conf-secret", [REDIRECT])
                    .grant_types([
                        Grant::AuthorizationCode,
                        Grant::RefreshToken,
                        Grant::ClientCredentials,
                        Grant::DeviceCode,
                    ])
                    .scopes(["read", "write"])
                    .default_scopes(["read"])
                    .may_introspect(true),
            )
            .expect("register the client");
        store
            .add_user("alice", "wonderland")
            .expect("register the user");
        Fixture::with(store)
    }
}

impl<V: RequestValidator> Fixture<V> {
    fn with(validator: V) -> Self {
        Fixture {
            server: Server::builder(validator)
                .issuer("https://as.example")
                .enable(Grant::RefreshToken)
                .enable(Grant::DeviceCode)
                .device_verification_uri("https://as.example/device")
                .build()
                .expect("a valid configuration"),
            basic: basic_header_value("conf-client", "conf-secret"),
        }
    }

    /// A form POST to `path` with conf-client's Basic credentials.
    pub fn post_to(
        &self,
        endpoint: fn(&Server<V>, &Request<'_>) -> Response,
        path: &str,
        body: &str,
    ) -> Response {
        let headers = [("Authorization", self.basic.as_str()), FORM];
        endpoint(
            &self.server,
            &Request::new("POST", path, &headers, body.as_bytes()),
        )
    }

    /// A form POST to `/token` (the endpoints do not read the path).
    pub fn post(&self, endpoint: fn(&Server<V>, &Request<'_>) -> Response, body: &str) -> Response {
        self.post_to(endpoint, "/token", body)
    }

    /// A client-credentials token request (HTTP Basic, scope given).
    pub fn client_credentials(&self) -> Response {
        self.post(
            Server::token_response,
            "grant_type=client_credentials&scope=read",
        )
    }

    /// An authorization code for alice, with an S256 challenge.
    pub fn code(&self) -> String {
        let uri = format!(
            "/authorize?response_type=code&client_id=conf-client&scope=read+write&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256"
        );
        let req = Request::new("GET", &uri, &[], b"");
        let pending = self
            .server
            .validate_authorization_request(&req)
            .expect("a valid authorization request");
        let response = self.server.authorize(&req, &pending, "alice", None);
        assert_eq!(response.status, 302);
        let location = response.header("location").expect("Location");
        let start = location.find("code=").expect("a code") + 5;
        let end = location[start..]
            .find('&')
            .map_or(location.len(), |e| start + e);
        location[start..end].to_owned()
    }

    /// A refresh request body with a fresh refresh token, from a full code
    /// exchange.
    pub fn refresh_body(&self) -> String {
        let response = self.post(Server::token_response, &exchange_body(&self.code()));
        let token = field(&response, "refresh_token");
        format!("grant_type=refresh_token&refresh_token={token}")
    }
}

/// A code exchange's body for `code`, with the PKCE verifier.
pub fn exchange_body(code: &str) -> String {
    format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}")
}

/// The string member `name` of a JSON response body.
pub fn field(response: &Response, name: &str) -> String {
    let body = response.body_str();
    let key = format!("\"{name}\":\"");
    let start = body
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        + key.len();
    body[start..start + body[start..].find('"').expect("closing quote")].to_owned()
}
