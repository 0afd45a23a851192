//! The oxide-auth worker of `benches/compare/run.sh` (protocol: see
//! `benches/compare/main.rs`): oxide-auth 0.6's in-memory primitives
//! (`ClientMap`, `AuthMap` and `TokenMap` over `RandomGenerator`) behind
//! its `Generic` endpoint with the PKCE extension (`Pkce::required()`),
//! driven through its synchronous `simple` frontend.
//!
//! Not identical to the other contenders, stated in run.sh and the README:
//! - the client secret is checked by a SHA-256 `PasswordPolicy` (digest
//!   stored, digests compared in constant time) in place of oxide-auth's
//!   default Argon2, which would cost milliseconds per request;
//! - the simple frontend takes the form and query as `HashMap<String,
//!   String>`: each token request's body is parsed into one inside the
//!   timed call (`url::form_urlencoded`), as a frontend does;
//! - its tokens are 32 random bytes from `OsRng` (one `getrandom` call
//!   per token) in standard base64 (44 characters);
//! - it has no introspection endpoint (that row is n/a), and answers a
//!   wrong PKCE verifier with 400 `invalid_request`, not `invalid_grant`.
//!
//! Own cargo workspace: built only by run.sh, never by CI.

use std::collections::HashMap;
use std::hint::black_box;
use std::io::{BufRead, Write};
use std::time::Instant;

use oxide_auth::endpoint::{
    AccessTokenFlow, AuthorizationFlow, ClientCredentialsFlow, OwnerConsent, OwnerSolicitor,
    RefreshFlow, ResourceFlow, Solicitation,
};
use oxide_auth::frontends::simple::endpoint::{Generic, Vacant};
use oxide_auth::frontends::simple::extensions::{AddonList, Extended, Pkce};
use oxide_auth::frontends::simple::request::{Body, Request, Response, Status};
use oxide_auth::primitives::authorizer::AuthMap;
use oxide_auth::primitives::generator::RandomGenerator;
use oxide_auth::primitives::issuer::TokenMap;
use oxide_auth::primitives::registrar::{
    Client, ClientMap, PasswordPolicy, RegisteredUrl, RegistrarError,
};
use oxide_auth::primitives::scope::Scope;
use sha2::{Digest, Sha256};

const REDIRECT: &str = "https://client.example.com/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const WRONG_VERIFIER: &str = "xBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const UNKNOWN_TOKEN: &str = "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg=";
/// base64("conf-client:conf-secret") and base64("conf-client:not-the-secret").
const BASIC: &str = "Basic Y29uZi1jbGllbnQ6Y29uZi1zZWNyZXQ=";
const WRONG_BASIC: &str = "Basic Y29uZi1jbGllbnQ6bm90LXRoZS1zZWNyZXQ=";

/// The secret check swapped in for Argon2: SHA-256 digests, compared in
/// constant time.
struct Sha256Policy;

impl PasswordPolicy for Sha256Policy {
    fn store(&self, _client_id: &str, passphrase: &[u8]) -> Vec<u8> {
        Sha256::digest(passphrase).to_vec()
    }

    fn check(
        &self,
        _client_id: &str,
        passphrase: &[u8],
        stored: &[u8],
    ) -> Result<(), RegistrarError> {
        let digest = Sha256::digest(passphrase);
        let diff = digest.iter().zip(stored).fold(0u8, |d, (a, b)| d | (a ^ b));
        if diff == 0 && stored.len() == digest.len() {
            Ok(())
        } else {
            Err(RegistrarError::Unspecified)
        }
    }
}

/// The resource owner always consents, as alice.
struct Alice;

impl OwnerSolicitor<Request> for Alice {
    fn check_consent(&mut self, _: &mut Request, _: Solicitation) -> OwnerConsent<Response> {
        OwnerConsent::Authorized("alice".to_owned())
    }
}

type Endpoint = Extended<
    Generic<ClientMap, AuthMap<RandomGenerator>, TokenMap<RandomGenerator>, Alice, Vec<Scope>>,
    AddonList,
>;

fn endpoint() -> Endpoint {
    let mut registrar = ClientMap::new();
    registrar.set_password_policy(Sha256Policy);
    registrar.register_client(Client::confidential(
        "conf-client",
        RegisteredUrl::Semantic(REDIRECT.parse().unwrap()),
        "read".parse().unwrap(),
        b"conf-secret",
    ));
    let mut addons = AddonList::new();
    addons.push_code(Pkce::required());
    Extended::extend_with(
        Generic {
            registrar,
            authorizer: AuthMap::new(RandomGenerator::new(32)),
            issuer: TokenMap::new(RandomGenerator::new(32)),
            solicitor: Alice,
            scopes: vec!["read".parse().unwrap()],
            response: Vacant,
        },
        addons,
    )
}

/// A token request as the simple frontend takes it: the form body parsed.
fn form(body: &str, auth: &str) -> Request {
    Request {
        query: HashMap::new(),
        urlbody: url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect(),
        auth: Some(auth.to_owned()),
    }
}

fn json(response: &Response) -> &str {
    match &response.body {
        Some(Body::Json(s)) | Some(Body::Text(s)) => s,
        None => "",
    }
}

fn field(body: &str, name: &str) -> String {
    let key = format!("\"{name}\":\"");
    let start = body
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        + key.len();
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

struct Worker {
    e: Endpoint,
    bearers: Vec<String>,
    next: usize,
}

impl Worker {
    fn token(&mut self, body: &str, auth: &str) -> Response {
        let request = form(body, auth);
        if body.starts_with("grant_type=client_credentials") {
            ClientCredentialsFlow::prepare(&mut self.e)
                .unwrap()
                .execute(request)
        } else if body.starts_with("grant_type=refresh_token") {
            RefreshFlow::prepare(&mut self.e).unwrap().execute(request)
        } else {
            AccessTokenFlow::prepare(&mut self.e)
                .unwrap()
                .execute(request)
        }
        .unwrap_or_else(|e| panic!("oxide-auth error {e:?}"))
    }

    fn client_credentials(&mut self) -> Response {
        self.token("grant_type=client_credentials&scope=read", BASIC)
    }

    fn code(&mut self) -> String {
        let query: HashMap<String, String> = [
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", REDIRECT),
            ("scope", "read"),
            ("state", "xyz"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let r = AuthorizationFlow::prepare(&mut self.e)
            .unwrap()
            .execute(Request {
                query,
                ..Request::default()
            })
            .unwrap_or_else(|e| panic!("authorization: {e:?}"));
        assert_eq!(r.status, Status::Redirect);
        let location = r.location.expect("a redirect");
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .expect("a code")
            .1;
        code.into_owned()
    }

    fn exchange_body(&mut self, verifier: &str) -> String {
        format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={verifier}",
            enc(&self.code()),
            enc(REDIRECT)
        )
    }

    fn refresh_body(&mut self) -> String {
        let body = self.exchange_body(VERIFIER);
        let r = self.token(&body, BASIC);
        assert_eq!(r.status, Status::Ok, "{}", json(&r));
        format!(
            "grant_type=refresh_token&refresh_token={}",
            enc(&field(json(&r), "refresh_token"))
        )
    }

    fn bearer(&mut self, auth: String) -> bool {
        let request = Request {
            auth: Some(auth),
            ..Request::default()
        };
        ResourceFlow::prepare(&mut self.e)
            .unwrap()
            .execute(request)
            .is_ok()
    }

    fn check(&mut self) {
        let r = self.token("grant_type=client_credentials&scope=read", WRONG_BASIC);
        assert!(
            r.status == Status::Unauthorized && json(&r).contains("\"invalid_client\""),
            "wrong secret: {:?} {}",
            r.status,
            json(&r)
        );
        let body = self.exchange_body(WRONG_VERIFIER);
        let r = self.token(&body, BASIC);
        assert!(
            r.status == Status::BadRequest,
            "wrong verifier: {:?} {}",
            r.status,
            json(&r)
        );
        eprintln!("note: a wrong verifier gives 400 {}", json(&r));
        let body = self.exchange_body(VERIFIER);
        let r = self.token(&body, BASIC);
        assert_eq!(r.status, Status::Ok, "exchange: {}", json(&r));
        assert!(
            !self.bearer(format!("Bearer {UNKNOWN_TOKEN}")),
            "unknown token accepted"
        );
        let live = self.bearers[0].clone();
        assert!(self.bearer(live), "live token refused");
    }

    fn run(&mut self, op: &str, n: usize) -> Option<f64> {
        enum Input {
            Body(String),
            Bearer(String),
        }
        let inputs: Vec<Input> = match op {
            "client_credentials" => (0..n)
                .map(|_| Input::Body("grant_type=client_credentials&scope=read".into()))
                .collect(),
            "auth_code_pkce" => (0..n)
                .map(|_| Input::Body(self.exchange_body(VERIFIER)))
                .collect(),
            "refresh_rotation" => (0..n).map(|_| Input::Body(self.refresh_body())).collect(),
            "bearer_check" => (0..n)
                .map(|_| {
                    let b = self.bearers[self.next].clone();
                    self.next = (self.next + 1) % self.bearers.len();
                    Input::Bearer(b)
                })
                .collect(),
            _ => return None,
        };
        let start = Instant::now();
        for input in inputs {
            let ok = match input {
                Input::Body(body) => self.token(black_box(&body), BASIC).status == Status::Ok,
                Input::Bearer(auth) => self.bearer(black_box(auth)),
            };
            assert!(ok, "{op} failed");
        }
        Some(start.elapsed().as_nanos() as f64 / n as f64)
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let live: usize = args
        .iter()
        .position(|a| a == "--live")
        .and_then(|i| args.get(i + 1))
        .map_or(40_000, |v| v.parse().expect("--live N"));
    let mut w = Worker {
        e: endpoint(),
        bearers: Vec::new(),
        next: 0,
    };
    let mut tokens = Vec::with_capacity(live);
    for _ in 0..live.max(1) {
        let r = w.client_credentials();
        assert_eq!(r.status, Status::Ok, "{}", json(&r));
        tokens.push(field(json(&r), "access_token"));
    }
    let n = tokens.len();
    let stride = (1..)
        .map(|k| n / 2 + k)
        .find(|s| gcd(*s, n) == 1)
        .unwrap_or(1);
    w.bearers = (0..n)
        .map(|i| format!("Bearer {}", tokens[(i * stride) % n]))
        .collect();
    w.check();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            ["batch", op, n] => w
                .run(op, n.parse().unwrap())
                .map_or("n/a".to_owned(), |ns| format!("{ns:.1}")),
            ["quit"] => break,
            _ => panic!("unknown command {line:?}"),
        };
        writeln!(out, "{answer}").unwrap();
        out.flush().unwrap();
    }
}
