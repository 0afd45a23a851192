//! Allocation counts of the hot paths, measured with a counting global
//! allocator. The parsers promise to borrow: these tests hold them to zero
//! allocations, and print (without asserting) what a whole token request
//! costs:
//!
//! ```text
//! cargo test --test alloc_counts -- --nocapture
//! ```

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use std::hint::black_box;

use oauth2_provider::form::{self, Param, Params};
use oauth2_provider::header::{self, basic_header_value, BASIC_BUFFER_LEN};
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::pkce::{self, ChallengeMethod};
use oauth2_provider::secret::{constant_time_eq, StoredSecret};
use oauth2_provider::{Request, Server};

/// Runs `f` and returns its result with the number of allocations it made
/// on this thread.
fn count<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let (result, n, _) = counting_alloc::count(f);
    (result, n as usize)
}

#[test]
fn the_counter_counts() {
    let (v, n) = count(|| black_box(Vec::<u8>::with_capacity(16)));
    assert_eq!(n, 1);
    drop(v);
    let (s, n) = count(|| {
        let mut s = String::with_capacity(1);
        s.push_str(black_box("grow beyond one byte"));
        s
    });
    assert_eq!(n, 2, "an allocation and a reallocation");
    drop(s);
    // Decoding that must copy does allocate: the counter can fail a test.
    let (decoded, n) = count(|| form::decode(black_box(b"a+b")).map(|c| c.len()));
    assert_eq!(decoded, Ok(3));
    assert_eq!(n, 1);
    let ((), n) = count(|| ());
    assert_eq!(n, 0);
}

#[test]
fn parse_basic_without_percent_decoding_allocates_nothing() {
    let value = black_box("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW");
    let (ids, n) = count(|| {
        let mut buf = [0u8; BASIC_BUFFER_LEN];
        let creds = header::parse_basic(value, &mut buf).unwrap();
        (creds.client_id.len(), creds.client_secret.len())
    });
    assert_eq!(ids, (10, 10));
    assert_eq!(n, 0);

    // Percent-decoding happens in the caller's buffer: still nothing.
    let encoded = basic_header_value("my:client", "p@ss word");
    let (ok, n) = count(|| {
        let mut buf = [0u8; BASIC_BUFFER_LEN];
        header::parse_basic(&encoded, &mut buf).map(|c| c.client_id == "my:client")
    });
    assert_eq!(ok, Ok(true));
    assert_eq!(n, 0);

    // Failures are Copy values, not allocations.
    let (err, n) = count(|| {
        let mut buf = [0u8; BASIC_BUFFER_LEN];
        header::parse_basic(black_box("Basic bm9jb2xvbg=="), &mut buf).is_err()
    });
    assert!(err);
    assert_eq!(n, 0);
}

#[test]
fn parse_bearer_allocates_nothing() {
    let (t, n) = count(|| header::parse_bearer(black_box("Bearer mF_9.B5f-4.1JqM")).map(str::len));
    assert_eq!(t, Ok(15));
    assert_eq!(n, 0);
}

#[test]
fn params_parse_of_a_plain_token_request_allocates_nothing() {
    for body in [
        &b"grant_type=client_credentials&scope=read"[..],
        b"grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA\
          &redirect_uri=https://client.example.com/cb&client_id=s6BhdRkqt3\
          &code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        b"grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA&unknown=1",
    ] {
        let (grant_len, n) = count(|| {
            let params = Params::parse(black_box(body)).unwrap();
            params.get(Param::GrantType).map(str::len)
        });
        assert!(grant_len.is_some());
        assert_eq!(n, 0, "{}", String::from_utf8_lossy(body));
    }
    // A duplicate is reported without allocating.
    let (err, n) = count(|| Params::parse(black_box(b"scope=a&scope=b")).is_err());
    assert!(err);
    assert_eq!(n, 0);
}

#[test]
fn pkce_s256_verify_allocates_nothing() {
    let verifier = black_box("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    let challenge = black_box("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    let (ok, n) = count(|| pkce::verify(verifier, challenge, ChallengeMethod::S256));
    assert!(ok);
    assert_eq!(n, 0);
    let (ok, n) = count(|| pkce::s256_challenge(verifier).as_str() == challenge);
    assert!(ok);
    assert_eq!(n, 0);
    let (ok, n) = count(|| pkce::verify(verifier, verifier, ChallengeMethod::Plain));
    assert!(ok);
    assert_eq!(n, 0);
}

#[test]
fn decode_of_a_plain_component_allocates_nothing() {
    let (len, n) = count(|| form::decode(black_box(b"client_credentials")).map(|c| c.len()));
    assert_eq!(len, Ok(18));
    assert_eq!(n, 0);
    let (err, n) = count(|| form::decode(black_box(b"%zz")).is_err());
    assert!(err);
    assert_eq!(n, 0);
}

#[test]
fn secret_comparison_and_request_view_allocate_nothing() {
    let (eq, n) = count(|| constant_time_eq(black_box(b"conf-secret"), black_box(b"conf-secret")));
    assert!(eq);
    assert_eq!(n, 0);
    let (ok, n) = count(|| StoredSecret::Plain(black_box("conf-secret")).verify("conf-secret"));
    assert!(ok);
    assert_eq!(n, 0);
    let headers = [
        (
            "Content-Type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        ),
        ("Authorization", "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
    ];
    let (found, n) = count(|| {
        let r = Request::new(
            "POST",
            "/token?x=1",
            &headers,
            b"grant_type=client_credentials",
        );
        (
            r.has_form_body(),
            r.query(),
            r.unique_header("authorization").is_ok(),
        )
    });
    assert_eq!(found, (true, Some("x=1"), true));
    assert_eq!(n, 0);
}

/// A labelled request: headers and body.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [u8]);

#[test]
fn print_allocations_of_a_client_credentials_token_request() {
    let v = MemoryValidator::new();
    v.add_client(
        MemoryClient::confidential("svc", "s3cret", [])
            .grants(["client_credentials"])
            .scopes(["read", "write"]),
    );
    let server = Server::builder(v)
        .issuer("https://as.example")
        .build()
        .unwrap();
    let basic = basic_header_value("svc", "s3cret");
    let basic_headers = [
        ("Authorization", basic.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let form_headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let cases: [Case<'_>; 3] = [
        (
            "client_credentials, Basic, scope=read",
            &basic_headers,
            b"grant_type=client_credentials&scope=read",
        ),
        (
            "client_credentials, body credentials, scope=read+write",
            &form_headers,
            b"grant_type=client_credentials&client_id=svc&client_secret=s3cret&scope=read+write",
        ),
        (
            "client_credentials, Basic, wrong secret (401)",
            &[
                ("Authorization", "Basic c3ZjOndyb25n"),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            b"grant_type=client_credentials",
        ),
    ];
    for (label, headers, body) in cases {
        let request = Request::new("POST", "/token", headers, body);
        // Warm up once (lazily initialised state), then measure.
        let _ = server.token_response(&request);
        let (response, n) = count(|| server.token_response(&request));
        assert!(
            matches!(response.status, 200 | 401),
            "{}",
            response.body_str()
        );
        println!(
            "token_response [{label}] -> {}: {n} allocations",
            response.status
        );
    }
}
