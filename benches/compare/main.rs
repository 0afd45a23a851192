//! The Rust worker of `benches/compare/run.sh`: this library's Rust API
//! over the in-memory validator (or, with `--store sqlite`, the SQLite
//! store), driven over a pipe by the coordinator (`coordinator.py`).
//!
//! Protocol (one line in, one line out, as every worker of the harness):
//! - on start the worker builds the realm, fills the store with `--live N`
//!   live access tokens (its own client-credentials grants), proves the
//!   equivalence answers (`check`) and prints `ready`;
//! - `batch OPERATION N` makes the inputs of N calls untimed, times the N
//!   calls with a monotonic clock and prints the mean ns per call;
//! - `allocs OPERATION N` counts the heap allocations of N calls (untimed,
//!   the counter is off while batches are timed) and prints allocations
//!   per call;
//! - `floor OPERATION N` times the operation's unavoidable parts alone
//!   (see [`floor`]) and prints ns per call;
//! - `quit` (or end of input) ends it.
//!
//! The SQLite store opens a fresh temporary file (WAL,
//! `synchronous=NORMAL`, as every file it opens), deleted on exit.
//!
//! Run: `cargo bench --bench compare -- [--store memory|sqlite] [--live N]`.

// The allocation counter of tests/alloc_budget.rs: off (one thread-local
// read per allocation) except inside `count`, never while timing.
#[path = "../../tests/support/counting_alloc.rs"]
mod counting_alloc;
#[path = "../../tests/support/fixture.rs"]
mod fixture;

use std::hint::black_box;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use oauth2_provider::header::basic_header_value;
use oauth2_provider::{Request, RequestValidator, Server};

use fixture::{field, Fixture, CHALLENGE, VERIFIER};

/// The registered redirect URI, percent-encoded as a client sends it.
const REDIRECT_ENCODED: &str = "https%3A%2F%2Fclient.example.com%2Fcb";
/// A well-formed verifier that is not the code's.
const WRONG_VERIFIER: &str = "xBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// A well-formed token no store issued.
const UNKNOWN_TOKEN: &str = "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg";

/// A database file in the temporary directory, deleted (with its WAL and
/// shared-memory files) when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("oap-compare-{}.db", std::process::id()));
        let file = TempFile(path);
        file.remove();
        file
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.remove();
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let live = arg(&args, "--live").map_or(40_000, |v| v.parse().expect("--live N"));
    match arg(&args, "--store").as_deref().unwrap_or("memory") {
        "memory" => Worker::new(Fixture::new(), live).serve(),
        "sqlite" => {
            let file = TempFile::new();
            Worker::new(Fixture::sqlite(&file.0), live).serve();
        }
        other => panic!("unknown store {other:?}: memory or sqlite"),
    }
}

struct Worker<V> {
    b: Fixture<V>,
    /// `Bearer <token>` for each live token, in a scattered order.
    bearers: Vec<String>,
    /// `token=<token>` for each live token, in the same order.
    introspections: Vec<String>,
    next: usize,
}

impl<V: RequestValidator> Worker<V> {
    fn new(b: Fixture<V>, live: usize) -> Self {
        let mut tokens = Vec::with_capacity(live);
        for _ in 0..live.max(1) {
            let r = b.client_credentials();
            assert_eq!(r.status, 200, "{}", r.body_str());
            tokens.push(field(&r, "access_token"));
        }
        // A stride coprime with the count visits every token once, far
        // from the previous one in issue order.
        let n = tokens.len();
        let stride = (1..)
            .map(|k| n / 2 + k)
            .find(|s| gcd(*s, n) == 1)
            .unwrap_or(1);
        let order: Vec<&String> = (0..n).map(|i| &tokens[(i * stride) % n]).collect();
        Worker {
            bearers: order.iter().map(|t| format!("Bearer {t}")).collect(),
            introspections: order.iter().map(|t| format!("token={t}")).collect(),
            b,
            next: 0,
        }
    }

    /// An authorization code for alice with an S256 challenge and the
    /// redirect URI (so the exchange must repeat it).
    fn code(&self) -> String {
        let uri = format!(
            "/authorize?response_type=code&client_id=conf-client&redirect_uri={REDIRECT_ENCODED}&scope=read+write&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256"
        );
        let req = Request::new("GET", &uri, &[], b"");
        let pending = self
            .b
            .server
            .validate_authorization_request(&req)
            .expect("a valid authorization request");
        let response = self.b.server.authorize(&req, &pending, "alice", None);
        assert_eq!(response.status, 302);
        let location = response.header("location").expect("Location");
        let start = location.find("code=").expect("a code") + 5;
        let end = location[start..]
            .find('&')
            .map_or(location.len(), |e| start + e);
        location[start..end].to_owned()
    }

    fn exchange_body(&self, verifier: &str) -> String {
        format!(
            "grant_type=authorization_code&code={}&redirect_uri={REDIRECT_ENCODED}&code_verifier={verifier}",
            self.code()
        )
    }

    fn refresh_body(&self) -> String {
        let r = self
            .b
            .post(Server::token_response, &self.exchange_body(VERIFIER));
        assert_eq!(r.status, 200, "{}", r.body_str());
        format!(
            "grant_type=refresh_token&refresh_token={}",
            field(&r, "refresh_token")
        )
    }

    /// A device-grant poll for a fresh device authorization (RFC 8628
    /// §3.4), made untimed.
    fn device_poll_body(&self) -> String {
        let r = self.b.post_to(
            Server::device_authorization_response,
            "/device_authorization",
            "scope=read",
        );
        assert_eq!(r.status, 200, "{}", r.body_str());
        format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code={}",
            field(&r, "device_code")
        )
    }

    /// A pushed authorization request (RFC 9126) like the exchange's
    /// authorization request.
    fn par_body(&self) -> String {
        format!(
            "response_type=code&redirect_uri={REDIRECT_ENCODED}&scope=read+write&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256"
        )
    }

    fn bearer(&self, value: &str) -> bool {
        let headers = [("Authorization", value)];
        self.b
            .server
            .verify_bearer(&Request::new("GET", "/resource", &headers, b""), &["read"])
            .is_ok()
    }

    fn introspect(&self, body: &str) -> oauth2_provider::Response {
        self.b
            .post_to(Server::introspection_response, "/introspect", body)
    }

    /// The answers every contender must give before it is timed.
    fn check(&self) {
        let wrong = basic_header_value("conf-client", "not-the-secret");
        let headers = [("Authorization", wrong.as_str()), fixture::FORM];
        let r = self.b.server.token_response(&Request::new(
            "POST",
            "/token",
            &headers,
            b"grant_type=client_credentials&scope=read",
        ));
        assert!(
            r.status == 401 && r.body_str().contains("\"invalid_client\""),
            "wrong secret: {} {}",
            r.status,
            r.body_str()
        );
        let r = self
            .b
            .post(Server::token_response, &self.exchange_body(WRONG_VERIFIER));
        assert!(
            r.status == 400 && r.body_str().contains("\"invalid_grant\""),
            "wrong verifier: {} {}",
            r.status,
            r.body_str()
        );
        let r = self
            .b
            .post(Server::token_response, &self.exchange_body(VERIFIER));
        assert_eq!(r.status, 200, "exchange: {}", r.body_str());
        assert!(
            !self.bearer(&format!("Bearer {UNKNOWN_TOKEN}")),
            "unknown token accepted"
        );
        let r = self.introspect(&format!("token={UNKNOWN_TOKEN}"));
        assert!(
            r.status == 200 && r.body_str().starts_with("{\"active\":false"),
            "unknown token introspected: {}",
            r.body_str()
        );
        assert!(self.bearer(&self.bearers[0]), "live token refused");
        let r = self.introspect(&self.introspections[0]);
        assert!(
            r.body_str().starts_with("{\"active\":true"),
            "{}",
            r.body_str()
        );
    }

    fn next_index(&mut self) -> usize {
        let i = self.next;
        self.next = (self.next + 1) % self.bearers.len();
        i
    }

    /// Runs `n` calls of `op`; returns (ns per call, allocations per call).
    fn run(&mut self, op: &str, n: usize, count: bool) -> (f64, f64) {
        let inputs: Vec<String> = match op {
            "client_credentials" => vec![String::new(); n],
            "auth_code_pkce" => (0..n).map(|_| self.exchange_body(VERIFIER)).collect(),
            "refresh_rotation" => (0..n).map(|_| self.refresh_body()).collect(),
            "bearer_check" => (0..n)
                .map(|_| {
                    let i = self.next_index();
                    self.bearers[i].clone()
                })
                .collect(),
            "introspection" => (0..n)
                .map(|_| {
                    let i = self.next_index();
                    self.introspections[i].clone()
                })
                .collect(),
            "device_poll" => (0..n).map(|_| self.device_poll_body()).collect(),
            "par_push" => vec![self.par_body(); n],
            other => panic!("unknown operation {other}"),
        };
        let b = &self.b;
        let call: Box<dyn Fn(&str) -> bool + '_> = match op {
            "client_credentials" => Box::new(|_| b.client_credentials().status == 200),
            "auth_code_pkce" | "refresh_rotation" => {
                Box::new(|body| b.post(Server::token_response, body).status == 200)
            }
            "bearer_check" => Box::new(|h| self.bearer(h)),
            // A device polling before its user decided: the common poll.
            "device_poll" => Box::new(|body| {
                let r = b.post(Server::token_response, body);
                r.status == 400 && r.body.starts_with(b"{\"error\":\"authorization_pending\"")
            }),
            "par_push" => Box::new(|body| {
                b.post_to(Server::pushed_authorization_response, "/par", body)
                    .status
                    == 201
            }),
            _ => Box::new(|body| {
                let r = self.introspect(body);
                r.status == 200 && r.body.starts_with(b"{\"active\":true")
            }),
        };
        let calls = || {
            for input in &inputs {
                assert!(timed_call(&call, input), "{op} failed");
            }
        };
        if count {
            let ((), allocations, _) = counting_alloc::count(calls);
            return (0.0, allocations as f64 / n as f64);
        }
        let start = Instant::now();
        calls();
        (start.elapsed().as_nanos() as f64 / n as f64, 0.0)
    }

    fn serve(mut self) {
        self.check();
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        writeln!(out, "ready").unwrap();
        out.flush().unwrap();
        for line in std::io::stdin().lock().lines() {
            let line = line.expect("read a command");
            let words: Vec<&str> = line.split_whitespace().collect();
            let answer = match words.as_slice() {
                ["batch", op, n] => format!("{:.1}", self.run(op, n.parse().unwrap(), false).0),
                ["allocs", op, n] => format!("{:.2}", self.run(op, n.parse().unwrap(), true).1),
                ["floor", op, n] => {
                    format!("{:.1}", floor(op, n.parse().unwrap(), self.bearers.len()))
                }
                ["quit"] => break,
                _ => panic!("unknown command {line:?}"),
            };
            writeln!(out, "{answer}").unwrap();
            out.flush().unwrap();
        }
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// One call of the measured operation. Never inlined, so that an
/// instruction count can take it alone:
/// `valgrind --tool=callgrind --toggle-collect='compare::timed_call*'`.
#[inline(never)]
fn timed_call(op: &dyn Fn(&str) -> bool, input: &str) -> bool {
    black_box(op(black_box(input)))
}

/// The physical floor of an operation: its unavoidable parts, each done
/// alone, summed, in ns per call. Not a bound any implementation can
/// reach (nothing of the HTTP shape, the store's bookkeeping or the
/// checks is in it), the least any must do:
/// - every operation: parsing its form body or header (a split on `&`
///   and `=`, a percent-decode of each value);
/// - client credentials: the Basic header's base64 decode, one SHA-256
///   of the presented secret, one `getrandom` of the request's 32 bytes,
///   base64url of the token and its SHA-256 (the stored key), one insert into a hash table of the store's
///   size, and the JSON response written into a fresh `String`;
/// - code exchange: as client credentials, plus one SHA-256 of the
///   verifier (PKCE S256), a second token (the one `getrandom` call
///   draws 64 bytes), a removal (the code) and a second insert;
/// - bearer check and introspection: one lookup in a table of the
///   store's size (introspection: with the Basic decode, one SHA-256 and
///   the JSON).
fn floor(op: &str, n: usize, live: usize) -> f64 {
    use base64::Engine;
    use sha2::Digest;
    use std::collections::HashMap;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let std64 = base64::engine::general_purpose::STANDARD;
    let mut table: HashMap<[u8; 32], u64> = HashMap::with_capacity(live * 2 + n * 2);
    let mut keys = Vec::with_capacity(live);
    for i in 0..live as u64 {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).unwrap();
        table.insert(k, i);
        keys.push(k);
    }
    let basic = basic_header_value("conf-client", "conf-secret");
    let body = match op {
        "client_credentials" => "grant_type=client_credentials&scope=read".to_owned(),
        "auth_code_pkce" => format!("grant_type=authorization_code&code={UNKNOWN_TOKEN}&redirect_uri={REDIRECT_ENCODED}&code_verifier={VERIFIER}"),
        _ => format!("token={UNKNOWN_TOKEN}"),
    };
    let parse = |body: &str| -> usize {
        let mut total = 0;
        for pair in body.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            total += k.len() + decode(v).len();
        }
        total
    };
    // The request's randomness: one getrandom call for all its values.
    let issue = |table: &mut HashMap<[u8; 32], u64>, raw: &[u8]| -> String {
        let token = b64.encode(raw);
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        table.insert(digest, 1);
        token
    };
    let auth = || -> bool {
        let decoded = std64.decode(&basic.as_bytes()[6..]).unwrap();
        let secret = &decoded[decoded.iter().position(|c| *c == b':').unwrap() + 1..];
        sha2::Sha256::digest(secret)[0] != 0
    };
    let start = Instant::now();
    for i in 0..n {
        match op {
            "client_credentials" | "auth_code_pkce" => {
                black_box(parse(black_box(&body)));
                black_box(auth());
                if op == "auth_code_pkce" {
                    black_box(sha2::Sha256::digest(VERIFIER.as_bytes()));
                    black_box(table.remove(&keys[i % live]));
                }
                let mut raw = [0u8; 64];
                let values = if op == "auth_code_pkce" { 64 } else { 32 };
                getrandom::fill(&mut raw[..values]).unwrap();
                let access = issue(&mut table, &raw[..32]);
                let refresh = (op == "auth_code_pkce").then(|| issue(&mut table, &raw[32..]));
                let json = format!(
                    "{{\"access_token\":\"{access}\",\"token_type\":\"Bearer\",\"expires_in\":3600,\"scope\":\"read\"{}}}",
                    refresh.map_or(String::new(), |r| format!(",\"refresh_token\":\"{r}\""))
                );
                black_box(json);
            }
            "bearer_check" => {
                black_box(table.get(black_box(&keys[(i * 7919) % live])));
            }
            _ => {
                black_box(parse(black_box(&body)));
                black_box(auth());
                let hit = table.contains_key(black_box(&keys[(i * 7919) % live]));
                black_box(format!("{{\"active\":{hit},\"scope\":\"read\",\"client_id\":\"conf-client\",\"token_type\":\"Bearer\",\"exp\":1,\"iat\":0}}"));
            }
        }
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// Percent-decoding with `+` as a space (form encoding).
fn decode(v: &str) -> std::borrow::Cow<'_, str> {
    if !v.bytes().any(|c| c == b'%' || c == b'+') {
        return v.into();
    }
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned().into()
}
