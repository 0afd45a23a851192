//! The Rust column of `benches/compare/run.sh`: the five side-by-side
//! operations through this library's Rust API and the in-memory validator,
//! timed the same way as the C driver (`c_driver.c`) and the oauthlib
//! driver (`oauthlib_bench.py`).
//!
//! Method (identical in all three drivers): for each operation, `ROUNDS`
//! rounds of `BATCH` calls; a round's time divided by `BATCH` is one sample;
//! the figure printed is the median sample, in microseconds. Operations
//! that consume state (a code, a refresh token) get their inputs made before
//! the round starts, outside the timed region.
//!
//! Output: one line per operation, `rust<TAB>operation<TAB>median_us`.
//!
//! Run: `cargo bench --bench compare` (options after `--`: `--rounds N`,
//! `--batch N`, `--only OPERATION`).

use std::hint::black_box;
use std::time::Instant;

use oauth2_provider::header::basic_header_value;
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::{Grant, Request, Response, Server};

const REDIRECT: &str = "https://client.example.com/cb";
/// RFC 7636 Appendix B's verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

struct Bench {
    server: Server<MemoryValidator>,
    basic: String,
}

impl Bench {
    fn new() -> Self {
        let v = MemoryValidator::new();
        v.add_client(
            MemoryClient::confidential("conf-client", "conf-secret", [REDIRECT])
                .grants(["authorization_code", "refresh_token", "client_credentials"])
                .scopes(["read", "write"])
                .default_scopes(["read"])
                .may_introspect(true),
        );
        v.add_user("alice", "wonderland");
        Bench {
            server: Server::builder(v)
                .issuer("https://as.example")
                .enable(Grant::RefreshToken)
                .build()
                .expect("a valid configuration"),
            basic: basic_header_value("conf-client", "conf-secret"),
        }
    }

    fn post(
        &self,
        endpoint: fn(&Server<MemoryValidator>, &Request<'_>) -> Response,
        path: &str,
        body: &str,
    ) -> Response {
        let headers = [("Authorization", self.basic.as_str()), FORM];
        endpoint(
            &self.server,
            &Request::new("POST", path, &headers, body.as_bytes()),
        )
    }

    fn client_credentials(&self) -> Response {
        self.post(
            Server::token_response,
            "/token",
            "grant_type=client_credentials&scope=read",
        )
    }

    /// An authorization code for alice, with an S256 challenge (untimed set-up).
    fn code(&self) -> String {
        let uri = format!(
            "/authorize?response_type=code&client_id=conf-client&scope=read+write&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256"
        );
        let req = Request::new("GET", &uri, &[], b"");
        let pending = self
            .server
            .validate_authorization_request(&req)
            .expect("valid authorization request");
        let response = self.server.authorize(&req, &pending, "alice", None);
        let location = response.header("location").expect("redirect");
        let start = location.find("code=").expect("code") + 5;
        let end = location[start..]
            .find('&')
            .map_or(location.len(), |e| start + e);
        location[start..end].to_owned()
    }

    fn exchange_body(code: &str) -> String {
        format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}")
    }

    /// A fresh refresh token, from a full code exchange (untimed set-up).
    fn refresh_body(&self) -> String {
        let response = self.post(
            Server::token_response,
            "/token",
            &Self::exchange_body(&self.code()),
        );
        let token = field(&response, "refresh_token");
        format!("grant_type=refresh_token&refresh_token={token}")
    }
}

fn field(response: &Response, name: &str) -> String {
    assert_eq!(response.status, 200, "{}", response.body_str());
    let body = response.body_str();
    let key = format!("\"{name}\":\"");
    let start = body.find(&key).expect("field") + key.len();
    body[start..start + body[start..].find('"').expect("end")].to_owned()
}

/// Median of `rounds` samples, each the mean time of `batch` calls of `op`
/// on inputs made by `setup` before the round (µs).
fn measure<I>(
    rounds: usize,
    batch: usize,
    mut setup: impl FnMut() -> I,
    mut op: impl FnMut(&I) -> bool,
) -> f64 {
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let inputs: Vec<I> = (0..batch).map(|_| setup()).collect();
        let start = Instant::now();
        for input in &inputs {
            assert!(timed_call(&mut op, input), "operation failed");
        }
        samples.push(start.elapsed().as_secs_f64() * 1e6 / batch as f64);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// One call of the measured operation. Never inlined, so that an
/// instruction count can take it alone:
/// `valgrind --tool=callgrind --toggle-collect='compare::timed_call*'`.
#[inline(never)]
fn timed_call<I>(op: &mut impl FnMut(&I) -> bool, input: &I) -> bool {
    black_box(op(black_box(input)))
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds = arg(&args, "--rounds", 31);
    let batch = arg(&args, "--batch", 400);
    let b = Bench::new();

    // Warm up every path once (and check it answers as expected).
    let access = field(&b.client_credentials(), "access_token");
    let bearer = format!("Bearer {access}");
    let introspect_body = format!("token={access}");

    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let want = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let mut results = Vec::new();
    if want("client_credentials") {
        let us = measure(
            rounds,
            batch,
            || (),
            |_| b.client_credentials().status == 200,
        );
        results.push(("client_credentials", us));
    }
    if want("auth_code_pkce") {
        let us = measure(
            rounds,
            batch,
            || Bench::exchange_body(&b.code()),
            |body| b.post(Server::token_response, "/token", body).status == 200,
        );
        results.push(("auth_code_pkce", us));
    }
    if want("refresh_rotation") {
        let us = measure(
            rounds,
            batch,
            || b.refresh_body(),
            |body| b.post(Server::token_response, "/token", body).status == 200,
        );
        results.push(("refresh_rotation", us));
    }
    if want("introspection") {
        let us = measure(
            rounds,
            batch,
            || (),
            |_| {
                let r = b.post(
                    Server::introspection_response,
                    "/introspect",
                    &introspect_body,
                );
                r.status == 200 && r.body.starts_with(b"{\"active\":true")
            },
        );
        results.push(("introspection", us));
    }
    if want("bearer_check") {
        let us = measure(
            rounds,
            batch,
            || (),
            |_| {
                let headers = [("Authorization", bearer.as_str())];
                b.server
                    .verify_bearer(&Request::new("GET", "/resource", &headers, b""), &["read"])
                    .is_ok()
            },
        );
        results.push(("bearer_check", us));
    }
    for (name, us) in results {
        println!("rust\t{name}\t{us:.3}");
    }
}
