//! Benchmarks of the parsers and of full requests through the Rust API,
//! against the in-memory validator. Before timing, each operation's heap
//! allocations per call are counted and printed (counts are deterministic;
//! times are not).
//!
//! Run: `cargo bench --bench core`

#[path = "../tests/support/counting_alloc.rs"]
mod counting_alloc;
#[path = "../tests/support/fixture.rs"]
mod fixture;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use oauth2_provider::header::{basic_header_value, parse_basic, BASIC_BUFFER_LEN};
use oauth2_provider::{form::Params, pkce, token, Request, Server};

use fixture::{exchange_body, field, Fixture, CHALLENGE, VERIFIER};

/// Allocations and bytes of one call of `f` (after one warm-up call).
fn count<R>(mut f: impl FnMut() -> R) -> (u64, u64) {
    black_box(f());
    count_once(f)
}

/// Allocations and bytes of a single call (for operations that consume
/// state).
fn count_once<R>(f: impl FnOnce() -> R) -> (u64, u64) {
    let (_, n, bytes) = counting_alloc::count(f);
    (n, bytes)
}

fn report_allocations() {
    let f = Fixture::new();
    let basic = f.basic.clone();
    let access = field(&f.client_credentials(), "access_token");
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
    let exchange = exchange_body(&code);
    let rows_code = count_once(|| f.post(Server::token_response, &exchange));
    let refresh_body = f.refresh_body();
    let rows_refresh = count_once(|| f.post(Server::token_response, &refresh_body));
    eprintln!("\nallocations per operation (count, bytes):");
    for (name, (n, b)) in rows.into_iter().chain([
        ("authorization code + PKCE exchange", rows_code),
        ("refresh with rotation", rows_refresh),
    ]) {
        eprintln!("  {name:<38} {n:>3} allocs {b:>6} bytes");
    }
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
            || exchange_body(&f.code()),
            |body| f.post(Server::token_response, &body),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("refresh_with_rotation", |b| {
        b.iter_batched(
            || f.refresh_body(),
            |body| f.post(Server::token_response, &body),
            BatchSize::SmallInput,
        )
    });
    let access = field(&f.client_credentials(), "access_token");
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
