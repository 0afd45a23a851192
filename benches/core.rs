//! Benchmarks of the parsers and of full requests through the Rust API,
//! against the in-memory validator. Before timing, each operation's heap
//! allocations per call are counted and printed (counts are deterministic;
//! times are not).
//!
//! Run: `cargo bench --bench core`

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use oauth2_provider::header::{basic_header_value, parse_basic, BASIC_BUFFER_LEN};
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::{form::Params, pkce, token, Grant, Request, Response, Server};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

// SAFETY: forwards to the system allocator; only counts on the side.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| {
            let (n, b) = c.get();
            c.set((n + 1, b + layout.size() as u64));
        });
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| {
            let (n, b) = c.get();
            c.set((n + 1, b + new_size as u64));
        });
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Allocations and bytes of one call of `f` (after one warm-up call).
fn count<R>(mut f: impl FnMut() -> R) -> (u64, u64) {
    black_box(f());
    let before = ALLOCATIONS.with(Cell::get);
    black_box(f());
    let after = ALLOCATIONS.with(Cell::get);
    (after.0 - before.0, after.1 - before.1)
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const REDIRECT: &str = "https://client.example.com/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn server() -> Arc<Server<MemoryValidator>> {
    let v = MemoryValidator::new();
    v.add_client(
        MemoryClient::confidential("conf-client", "conf-secret", [REDIRECT])
            .grants(["authorization_code", "refresh_token", "client_credentials"])
            .scopes(["read", "write"])
            .may_introspect(true),
    );
    Arc::new(
        Server::builder(v)
            .issuer("https://as.example")
            .enable(Grant::RefreshToken)
            .build()
            .expect("a valid configuration"),
    )
}

struct Fixture {
    server: Arc<Server<MemoryValidator>>,
    basic: String,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            server: server(),
            basic: basic_header_value("conf-client", "conf-secret"),
        }
    }

    fn post(
        &self,
        endpoint: fn(&Server<MemoryValidator>, &Request<'_>) -> Response,
        body: &str,
    ) -> Response {
        let headers = [("Authorization", self.basic.as_str()), FORM];
        endpoint(
            &self.server,
            &Request::new("POST", "/", &headers, body.as_bytes()),
        )
    }

    fn client_credentials(&self) -> Response {
        self.post(
            Server::token_response,
            "grant_type=client_credentials&scope=read",
        )
    }

    fn field(response: &Response, name: &str) -> String {
        let body = response.body_str();
        let key = format!("\"{name}\":\"");
        let start = body.find(&key).expect("field") + key.len();
        body[start..start + body[start..].find('"').unwrap()].to_owned()
    }

    fn code(&self) -> String {
        let uri = format!(
            "/authorize?response_type=code&client_id=conf-client&scope=read&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256"
        );
        let req = Request::new("GET", &uri, &[], b"");
        let pending = self
            .server
            .validate_authorization_request(&req)
            .expect("valid");
        let response = self.server.authorize(&req, &pending, "alice", None);
        let location = response.header("location").unwrap();
        let start = location.find("code=").unwrap() + 5;
        location[start..start + location[start..].find('&').unwrap()].to_owned()
    }

    fn exchange_body(code: &str) -> String {
        format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}")
    }

    fn refresh_token(&self) -> String {
        let body = Self::exchange_body(&self.code());
        Self::field(&self.post(Server::token_response, &body), "refresh_token")
    }
}

fn report_allocations() {
    let f = Fixture::new();
    let basic = f.basic.clone();
    let access = Fixture::field(&f.client_credentials(), "access_token");
    let bearer = format!("Bearer {access}");
    let introspect_body = format!("token={access}");
    let rows: Vec<(&str, (u64, u64))> = vec![
        (
            "basic header parse",
            count(|| {
                let mut buf = [0u8; BASIC_BUFFER_LEN];
                parse_basic(&basic, &mut buf)
                    .map(|c| c.client_id.len())
                    .ok()
            }),
        ),
        (
            "form parse (token request)",
            count(|| {
                Params::parse(b"grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").is_ok()
            }),
        ),
        (
            "pkce S256 verify",
            count(|| pkce::verify(VERIFIER, CHALLENGE, pkce::ChallengeMethod::S256)),
        ),
        ("token generation", count(token::generate_token)),
        (
            "client credentials (Basic)",
            count(|| f.client_credentials()),
        ),
        (
            "introspection",
            count(|| f.post(Server::introspection_response, &introspect_body)),
        ),
        (
            "bearer resource check",
            count(|| {
                let headers = [("Authorization", bearer.as_str())];
                f.server
                    .verify_bearer(&Request::new("GET", "/r", &headers, b""), &["read"])
                    .is_ok()
            }),
        ),
    ];
    let code = f.code();
    let exchange = Fixture::exchange_body(&code);
    let rows_code = count_once(|| f.post(Server::token_response, &exchange));
    let refresh = f.refresh_token();
    let refresh_body = format!("grant_type=refresh_token&refresh_token={refresh}");
    let rows_refresh = count_once(|| f.post(Server::token_response, &refresh_body));
    eprintln!("\nallocations per operation (count, bytes):");
    for (name, (n, b)) in rows.into_iter().chain([
        ("authorization code + PKCE exchange", rows_code),
        ("refresh with rotation", rows_refresh),
    ]) {
        eprintln!("  {name:<38} {n:>3} allocs {b:>6} bytes");
    }
}

/// Allocations of a single call (for operations that consume state).
fn count_once<R>(f: impl FnOnce() -> R) -> (u64, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    black_box(f());
    let after = ALLOCATIONS.with(Cell::get);
    (after.0 - before.0, after.1 - before.1)
}

fn parsers(c: &mut Criterion) {
    report_allocations();
    let basic = basic_header_value("conf-client", "conf-secret");
    c.bench_function("basic_header_parse", |b| {
        b.iter(|| {
            let mut buf = [0u8; BASIC_BUFFER_LEN];
            parse_basic(black_box(&basic), &mut buf)
                .map(|c| c.client_id.len())
                .ok()
        })
    });
    let body: &[u8] = b"grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    c.bench_function("form_parse_token_request", |b| {
        b.iter(|| Params::parse(black_box(body)).is_ok())
    });
    c.bench_function("pkce_s256_verify", |b| {
        b.iter(|| {
            pkce::verify(
                black_box(VERIFIER),
                black_box(CHALLENGE),
                pkce::ChallengeMethod::S256,
            )
        })
    });
    c.bench_function("token_generation", |b| b.iter(token::generate_token));
    // The system call under every token, alone: 32 bytes (one token) and
    // 96 (the most one request draws).
    c.bench_function("getrandom_32_bytes", |b| {
        b.iter(|| {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).is_ok() && black_box(bytes)[0] < 255
        })
    });
    c.bench_function("getrandom_96_bytes", |b| {
        b.iter(|| {
            let mut bytes = [0u8; 96];
            getrandom::fill(&mut bytes).is_ok() && black_box(bytes)[0] < 255
        })
    });
}

fn requests(c: &mut Criterion) {
    let f = Fixture::new();
    c.bench_function("client_credentials_basic", |b| {
        b.iter(|| f.client_credentials())
    });
    c.bench_function("authorization_code_pkce_exchange", |b| {
        b.iter_batched(
            || Fixture::exchange_body(&f.code()),
            |body| f.post(Server::token_response, &body),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("refresh_with_rotation", |b| {
        b.iter_batched(
            || {
                format!(
                    "grant_type=refresh_token&refresh_token={}",
                    f.refresh_token()
                )
            },
            |body| f.post(Server::token_response, &body),
            BatchSize::SmallInput,
        )
    });
    let access = Fixture::field(&f.client_credentials(), "access_token");
    let introspect_body = format!("token={access}");
    c.bench_function("introspection_active", |b| {
        b.iter(|| f.post(Server::introspection_response, &introspect_body))
    });
    let bearer = format!("Bearer {access}");
    c.bench_function("bearer_resource_check", |b| {
        b.iter(|| {
            let headers = [("Authorization", bearer.as_str())];
            f.server
                .verify_bearer(&Request::new("GET", "/r", &headers, b""), &["read"])
                .is_ok()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = parsers, requests
}
criterion_main!(benches);
