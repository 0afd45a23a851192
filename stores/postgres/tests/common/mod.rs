//! What the store's tests share: a database of their own on a real
//! PostgreSQL, and a store holding the conformance kit's fixture.
//!
//! The server: `OAP_POSTGRES_URL` (a connection string to a database
//! whose user may create databases) if set; otherwise a throwaway cluster
//! started by `.ci/postgres.sh` in a temporary directory, stopped when
//! the test process ends. If neither works, the test fails, saying why:
//! these tests never skip.
#![allow(dead_code)]

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use oauth2_provider::testing::Fixture;
use oauth2_provider::{Grant, OAuthRequest, Request, Server};
use oauth2_provider_postgres::{ClientRecord, PostgresStore};

/// The server's connection string.
fn server_conninfo() -> &'static str {
    static CONNINFO: OnceLock<String> = OnceLock::new();
    CONNINFO.get_or_init(|| match std::env::var("OAP_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => start_cluster(),
    })
}

/// Starts a cluster of this process's own with `.ci/postgres.sh`, and a
/// watchdog that stops it when this process is gone.
fn start_cluster() -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.ci/postgres.sh");
    let dir = std::env::temp_dir().join(format!("oap-pg-{}", std::process::id()));
    let out = Command::new("bash")
        .arg(script)
        .arg("start")
        .arg(&dir)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("OAP_POSTGRES_URL is not set, and {script} cannot run: {e}"));
    assert!(
        out.status.success(),
        "OAP_POSTGRES_URL is not set, and no PostgreSQL 15 cluster could be started \
         with {script} (see its message above): these tests need a PostgreSQL server"
    );
    let watchdog = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         bash '{script}' kill '{dir}'; rm -rf '{dir}'",
        pid = std::process::id(),
        dir = dir.display()
    );
    // Not waited for: the watchdog's work starts when this process ends.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .args(["-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the cluster's watchdog");
    String::from_utf8(out.stdout)
        .expect("a UTF-8 connection string")
        .trim()
        .to_owned()
}

/// `conninfo` naming database `name` instead of its own: a `dbname=`
/// appended to a key=value string (the last one counts), or a URL's path
/// replaced.
fn with_dbname(conninfo: &str, name: &str) -> String {
    match conninfo.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
            let query = tail.find('?').map_or("", |i| &tail[i..]);
            format!("{scheme}://{authority}/{name}{query}")
        }
        None => format!("{conninfo} dbname={name}"),
    }
}

fn admin() -> postgres::Client {
    postgres::Client::connect(server_conninfo(), postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to the PostgreSQL server of the tests: {e}"))
}

/// A database of its own, dropped (with whatever is still connected to
/// it) when this is dropped.
pub struct TestDb {
    name: String,
    conninfo: String,
}

impl TestDb {
    pub fn new(label: &str) -> TestDb {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("oap_{label}_{}_{n}", std::process::id());
        admin()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a test database");
        let conninfo = with_dbname(server_conninfo(), &name);
        TestDb { name, conninfo }
    }

    pub fn conninfo(&self) -> &str {
        &self.conninfo
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A store on this database.
    pub fn store(&self) -> PostgresStore {
        PostgresStore::connect(&self.conninfo).expect("connect a store")
    }

    /// A plain connection to this database, for looking behind the store.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.conninfo, postgres::NoTls).expect("connect")
    }

    /// Ends every store connection to this database (those whose
    /// application is `oauth2-provider`), as a database restart would.
    pub fn terminate_connections(&self) -> u64 {
        admin()
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = $1 AND application_name = 'oauth2-provider'",
                &[&self.name],
            )
            .expect("terminate")
            .get::<_, i64>(0) as u64
    }

    /// Lets new connections in, or not, as a database down would not.
    pub fn allow_connections(&self, allow: bool) {
        admin()
            .batch_execute(&format!(
                "ALTER DATABASE {} ALLOW_CONNECTIONS {allow}",
                self.name
            ))
            .expect("alter database");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = admin().batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// Registers the kit's clients and users in `store`.
pub fn add_fixture(store: &PostgresStore, fixture: &Fixture) {
    for c in &fixture.clients {
        store.add_client(&c.record()).expect("add a client");
    }
    for (user, password) in &fixture.users {
        store.add_user(user, password).expect("add a user");
    }
}

/// Databases for the conformance kit, one a store, kept until the test
/// ends: the kit drops each store when its check is done, not when the
/// next one starts.
#[derive(Default)]
pub struct KitDbs(std::sync::Mutex<Vec<TestDb>>);

impl KitDbs {
    /// A store on a fresh database, holding the kit's `fixture`.
    pub fn store(&self, fixture: &Fixture) -> PostgresStore {
        let db = TestDb::new("kit");
        let store = db.store();
        add_fixture(&store, fixture);
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(db);
        store
    }
}

/// A confidential client's identifier, secret and redirect URI.
pub const WEB: (&str, &str, &str) = ("web", "web-secret-Zq8v", "https://web.example/cb");
/// A public client's identifier and redirect URI.
pub const APP: (&str, &str) = ("app", "http://127.0.0.1:9000/cb");

/// Registers [`WEB`] and [`APP`].
pub fn add_clients(store: &PostgresStore) {
    store
        .upsert_client(
            &ClientRecord::confidential(WEB.0, WEB.1, [WEB.2])
                .grant_types([
                    Grant::AuthorizationCode,
                    Grant::RefreshToken,
                    Grant::ClientCredentials,
                ])
                .scopes(["read", "write"])
                .may_introspect(true),
        )
        .expect("add web");
    store
        .upsert_client(
            &ClientRecord::public(APP.0, [APP.1])
                .grant_types([Grant::AuthorizationCode, Grant::RefreshToken])
                .scopes(["read"]),
        )
        .expect("add app");
}

/// A server over `store`.
pub fn server(store: PostgresStore) -> Server<PostgresStore> {
    Server::builder(store)
        .issuer("https://auth.test")
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

use oauth2_provider::form::{encode_pairs, pairs};
use oauth2_provider::header::basic_header_value;
use oauth2_provider::pkce::s256_challenge;
use oauth2_provider::Response;

/// The PKCE verifier every test's code uses.
pub const VERIFIER: &str = "test-verifier-test-verifier-test-verifier-0123";

/// A POST of `form` to `path` (`/token`, `/revoke`) as `client`: Basic
/// for a client with a secret, `client_id` in the body for one without.
pub fn post(
    server: &Server<PostgresStore>,
    path: &str,
    client: (&str, Option<&str>),
    form: &[(&str, &str)],
) -> Response {
    let mut form = form.to_vec();
    let auth = client.1.map(|s| basic_header_value(client.0, s));
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    match &auth {
        Some(value) => headers.push(("Authorization", value.as_str())),
        None => form.push(("client_id", client.0)),
    }
    let body = encode_pairs(form.iter().copied());
    let request = Request::new("POST", path, &headers, body.as_bytes());
    match path {
        "/revoke" => server.revocation_response(&request),
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

/// A code for [`APP`], approved by alice, with PKCE over [`VERIFIER`].
pub fn code(server: &Server<PostgresStore>) -> String {
    let challenge = s256_challenge(VERIFIER);
    let query = encode_pairs([
        ("response_type", "code"),
        ("client_id", APP.0),
        ("scope", "read"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    let uri = format!("/authorize?{query}");
    let request = Request::new("GET", &uri, &[], b"");
    let pending = server
        .validate_authorization_request(&request)
        .expect("a valid authorization request");
    let response = server.authorize(&request, &pending, "alice", None);
    let location = response.header("location").expect("a redirect");
    let query = location.split_once('?').map_or("", |(_, q)| q);
    pairs(query.as_bytes())
        .filter_map(Result::ok)
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .expect("a code")
}

/// Exchanges `code` as [`APP`], with [`VERIFIER`].
pub fn exchange(server: &Server<PostgresStore>, code: &str) -> Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", VERIFIER),
    ];
    post(server, "/token", (APP.0, None), &form)
}

/// Rotates `refresh` as [`APP`].
pub fn refresh(server: &Server<PostgresStore>, refresh: &str) -> Response {
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    post(server, "/token", (APP.0, None), &form)
}

/// Whether the resource server accepts `access`.
pub fn opens(server: &Server<PostgresStore>, access: &str) -> bool {
    let bearer = format!("Bearer {access}");
    let headers = [("Authorization", bearer.as_str())];
    server
        .verify_bearer(&Request::new("GET", "/api", &headers, b""), &[])
        .is_ok()
}
