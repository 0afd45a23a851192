//! Allocation budgets of whole requests through the Rust API and the
//! in-memory validator (issue 7). Allocation counts are deterministic,
//! unlike times, so they are asserted: the parsers stay at zero, a
//! client-credentials token request with HTTP Basic at 8 or fewer, and the
//! other operations at the figures measured when the budgets were set, as
//! upper bounds that a change may lower but not raise.
//!
//! `cargo test --test alloc_budget -- --nocapture` prints every count.
//!
//! Each test builds its own server, so the validator's maps hold the same
//! entries every run: the counted call never lands on a map's growth step
//! (a fresh map has room for three entries; the counted calls store at most
//! the second and third).

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
#[path = "support/fixture.rs"]
mod fixture;

use oauth2_provider::form::{Param, Params};
use oauth2_provider::header::{basic_header_value, parse_basic, parse_bearer, BASIC_BUFFER_LEN};
use oauth2_provider::pkce::{self, ChallengeMethod};
use oauth2_provider::{Request, Server};

use counting_alloc::count;
use fixture::{exchange_body, field, Fixture, CHALLENGE, FORM, VERIFIER};

/// A client-credentials token request (HTTP Basic, scope given).
const CLIENT_CREDENTIALS_BUDGET: u64 = 4;
/// An authorization code + PKCE S256 exchange issuing a refresh token.
const CODE_EXCHANGE_BUDGET: u64 = 4;
/// A refresh with rotation.
const REFRESH_BUDGET: u64 = 4;
/// Introspection of an active access token.
const INTROSPECTION_BUDGET: u64 = 1;
/// A bearer check of a valid token at a resource server: none at all.
const BEARER_CHECK_BUDGET: u64 = 0;
/// A pushed authorization request (RFC 9126) with a percent-encoded
/// `redirect_uri`, as `benches/compare` pushes it (20 before its saved
/// parameters were sized up front and its request URI made in one piece).
const PUSHED_REQUEST_BUDGET: u64 = 12;

fn report(operation: &str, n: u64, bytes: u64, budget: u64) {
    println!("{operation:<36} {n:>3} allocations {bytes:>6} bytes (budget {budget})");
}

#[test]
fn the_counter_counts_allocations_and_bytes() {
    let (_, n, bytes) = count(|| Vec::<u8>::with_capacity(40));
    assert_eq!((n, bytes), (1, 40));
    let (_, n, bytes) = count(|| {
        let mut v = Vec::<u8>::with_capacity(8);
        v.extend_from_slice(&[0; 16]);
        v
    });
    assert_eq!((n, bytes), (2, 24), "an allocation and a reallocation");
    let (_, n, _) = count(|| 1 + 1);
    assert_eq!(n, 0);
}

#[test]
fn parse_paths_allocate_nothing() {
    let basic = basic_header_value("conf-client", "conf-secret");
    let (ids, n, _) = count(|| {
        let mut buf = [0u8; BASIC_BUFFER_LEN];
        parse_basic(&basic, &mut buf).map(|c| (c.client_id.len(), c.client_secret.len()))
    });
    assert_eq!(ids, Ok((11, 11)));
    assert_eq!(n, 0, "HTTP Basic parse");

    let body: &[u8] = b"grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let (code_len, n, _) = count(|| {
        Params::parse(body)
            .ok()
            .and_then(|p| p.get(Param::Code).map(str::len))
    });
    assert_eq!(code_len, Some(22));
    assert_eq!(n, 0, "form parse of a token request");

    let (ok, n, _) = count(|| pkce::verify(VERIFIER, CHALLENGE, ChallengeMethod::S256));
    assert!(ok);
    assert_eq!(n, 0, "PKCE S256 verify");

    let (token, n, _) = count(|| parse_bearer("Bearer mF_9.B5f-4.1JqM").map(str::len));
    assert_eq!(token, Ok(15));
    assert_eq!(n, 0, "Bearer parse");
}

#[test]
fn client_credentials_token_request_within_budget() {
    let f = Fixture::new();
    assert_eq!(f.client_credentials().status, 200, "warm-up");
    let (response, n, bytes) = count(|| f.client_credentials());
    assert_eq!(response.status, 200, "{}", response.body_str());
    assert_eq!(field(&response, "token_type"), "Bearer");
    report(
        "client credentials (Basic)",
        n,
        bytes,
        CLIENT_CREDENTIALS_BUDGET,
    );
    assert!(
        n <= CLIENT_CREDENTIALS_BUDGET,
        "client credentials: {n} allocations, budget {CLIENT_CREDENTIALS_BUDGET}"
    );
}

#[test]
fn rejected_client_costs_no_more_than_a_token() {
    // A wrong secret must not be an expensive path either (the error
    // response with its WWW-Authenticate challenge).
    let f = Fixture::new();
    let bad = basic_header_value("conf-client", "wrong-secret");
    let headers = [("Authorization", bad.as_str()), FORM];
    let req = Request::new(
        "POST",
        "/token",
        &headers,
        b"grant_type=client_credentials&scope=read",
    );
    let _ = f.server.token_response(&req);
    let (response, n, bytes) = count(|| f.server.token_response(&req));
    assert_eq!(response.status, 401);
    assert_eq!(field(&response, "error"), "invalid_client");
    report(
        "client credentials, wrong secret",
        n,
        bytes,
        CLIENT_CREDENTIALS_BUDGET,
    );
    assert!(n <= CLIENT_CREDENTIALS_BUDGET, "{n} allocations");
}

#[test]
fn authorization_code_pkce_exchange_within_budget() {
    let f = Fixture::new();
    let warm = exchange_body(&f.code());
    assert_eq!(f.post(Server::token_response, &warm).status, 200);
    let body = exchange_body(&f.code());
    let (response, n, bytes) = count(|| f.post(Server::token_response, &body));
    assert_eq!(response.status, 200, "{}", response.body_str());
    assert_eq!(field(&response, "refresh_token").len(), 43);
    report(
        "authorization code + PKCE exchange",
        n,
        bytes,
        CODE_EXCHANGE_BUDGET,
    );
    assert!(
        n <= CODE_EXCHANGE_BUDGET,
        "code exchange: {n} allocations, budget {CODE_EXCHANGE_BUDGET}"
    );
}

#[test]
fn refresh_with_rotation_within_budget() {
    let f = Fixture::new();
    let first = f.post(Server::token_response, &exchange_body(&f.code()));
    let refresh = field(&first, "refresh_token");
    let body = format!("grant_type=refresh_token&refresh_token={refresh}");
    let (response, n, bytes) = count(|| f.post(Server::token_response, &body));
    assert_eq!(response.status, 200, "{}", response.body_str());
    let rotated = field(&response, "refresh_token");
    assert_ne!(rotated, refresh, "rotation issues a new refresh token");
    report("refresh with rotation", n, bytes, REFRESH_BUDGET);
    assert!(
        n <= REFRESH_BUDGET,
        "refresh: {n} allocations, budget {REFRESH_BUDGET}"
    );
    // The presented token is spent.
    assert_eq!(f.post(Server::token_response, &body).status, 400);
}

#[test]
fn introspection_and_bearer_check_within_budget() {
    let f = Fixture::new();
    let access = field(&f.client_credentials(), "access_token");
    let introspect = format!("token={access}");
    let _ = f.post(Server::introspection_response, &introspect);
    let (response, n, bytes) = count(|| f.post(Server::introspection_response, &introspect));
    assert_eq!(response.status, 200);
    assert!(
        response
            .body_str()
            .starts_with(r#"{"active":true,"scope":"read","client_id":"conf-client""#),
        "{}",
        response.body_str()
    );
    report("introspection (active)", n, bytes, INTROSPECTION_BUDGET);
    assert!(n <= INTROSPECTION_BUDGET, "introspection: {n} allocations");

    let bearer = format!("Bearer {access}");
    let headers = [("Authorization", bearer.as_str())];
    let req = Request::new("GET", "/resource", &headers, b"");
    let (info, n, bytes) = count(|| f.server.verify_bearer(&req, &["read"]));
    let info = info.expect("a valid token");
    assert_eq!(&*info.client_id, "conf-client");
    assert_eq!(info.scopes.as_str(), "read");
    report("bearer resource check", n, bytes, BEARER_CHECK_BUDGET);
    assert_eq!(n, BEARER_CHECK_BUDGET, "bearer check: {n} allocations");
}

#[test]
fn pushed_authorization_request_within_budget() {
    let f = Fixture::new();
    let body = format!(
        "response_type=code&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb\
         &scope=read+write&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256"
    );
    let push = || f.post_to(Server::pushed_authorization_response, "/par", &body);
    // The first push, outside the count: the store's map of pushed
    // requests gets its table then.
    assert_eq!(push().status, 201);
    let (response, n, bytes) = count(push);
    assert_eq!(response.status, 201, "{}", response.body_str());
    assert!(response
        .body_str()
        .starts_with(r#"{"request_uri":"urn:ietf:params:oauth:request_uri:"#));
    report(
        "pushed authorization request",
        n,
        bytes,
        PUSHED_REQUEST_BUDGET,
    );
    assert!(
        n <= PUSHED_REQUEST_BUDGET,
        "pushed authorization request: {n} allocations, budget {PUSHED_REQUEST_BUDGET}"
    );
}
