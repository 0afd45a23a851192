//! RFC 8628, the device authorization grant, through the public API: the
//! device authorization request and response (§3.1–3.2), user codes
//! (§6.1: short, case-insensitive, dash-tolerant, no vowels, 34.6 bits)
//! and their throttle (§5.1), the user's approval or denial (§3.3), the
//! polling at the token endpoint (§3.4–3.5: `authorization_pending`,
//! `slow_down`, `access_denied`, `expired_token`, single use), resource
//! indicators (RFC 8707) and the metadata (RFC 8628 §4, RFC 8414).

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::*;
use oauth2_provider::device::{
    normalize_user_code, user_code_from, USER_CODE_ALPHABET, USER_CODE_LEN,
};
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::{
    ConfigError, DeviceDecision, EndpointPaths, ErrorCode, FillTokenGenerator, Grant, OAuthError,
    Request, RequestValidator, Response, Scope, Server, ServerBuilder, DEVICE_CODE_GRANT_TYPE,
};

const VERIFY: &str = "https://as.example/device";
const API: &str = "https://api.example.com/";
const API2: &str = "https://api2.example.com/";
const TV: Option<(&str, &str)> = None;
const BOX: Option<(&str, &str)> = Some(("box", "box-secret"));

/// A request that must fail: credentials, body, status, error, and a
/// fragment of its description.
type Case<B> = (
    Option<(&'static str, &'static str)>,
    B,
    u16,
    &'static str,
    &'static str,
);

/// The realm plus `tv` (public, device and refresh grants, two resources)
/// and `box` (confidential, device grant only).
fn device_realm() -> MemoryValidator {
    realm_plus([
        MemoryClient::public("tv", [])
            .grants([DEVICE_CODE_GRANT_TYPE, "refresh_token"])
            .scopes(["read", "write"])
            .default_scopes(["read"])
            .resources([API, API2]),
        MemoryClient::confidential("box", "box-secret", [])
            .grants([DEVICE_CODE_GRANT_TYPE])
            .scopes(["read"]),
    ])
}

fn device_builder() -> ServerBuilder<MemoryValidator> {
    builder_over(device_realm())
        .enable(Grant::DeviceCode)
        .device_verification_uri(VERIFY)
}

/// A device server on a clock the test moves.
fn clocked_device(
    configure: impl FnOnce(ServerBuilder<MemoryValidator>) -> ServerBuilder<MemoryValidator>,
) -> (Server<MemoryValidator>, Arc<AtomicU64>) {
    let now = Arc::new(AtomicU64::new(START));
    let c = Arc::clone(&now);
    let server = configure(device_builder())
        .clock(move || c.load(Ordering::SeqCst))
        .build()
        .unwrap();
    (server, now)
}

fn device_server() -> (Server<MemoryValidator>, Arc<AtomicU64>) {
    clocked_device(|b| b)
}

fn authorize_device<V: RequestValidator>(
    server: &Server<V>,
    auth: Option<(&str, &str)>,
    body: &str,
) -> Response {
    post(|r| server.device_authorization_response(r), auth, body)
}

/// tv's device authorization for `body`: its device code and user code.
fn tv_codes<V: RequestValidator>(server: &Server<V>, body: &str) -> (String, String) {
    let r = authorize_device(server, TV, body);
    assert_eq!(r.status, 200, "{}", r.body_str());
    (field(&r, "device_code"), field(&r, "user_code"))
}

fn poll<V: RequestValidator>(server: &Server<V>, device_code: &str) -> Response {
    token(
        server,
        TV,
        &format!("grant_type={DEVICE_CODE_GRANT_TYPE}&client_id=tv&device_code={device_code}"),
    )
}

fn page() -> Request<'static> {
    Request::new("POST", "/device", &[], b"")
}

fn decide<V: RequestValidator>(
    server: &Server<V>,
    user_code: &str,
    approved: Option<&str>,
    decision: DeviceDecision,
) -> Result<(), OAuthError> {
    let approved = approved.map(|s| Scope::parse(s).unwrap());
    server.device_decision(&page(), "alice", user_code, approved, decision)
}

fn advance(clock: &AtomicU64, seconds: u64) {
    clock.fetch_add(seconds, Ordering::SeqCst);
}

#[track_caller]
fn assert_oauth_error<T: std::fmt::Debug>(
    result: Result<T, OAuthError>,
    code: ErrorCode,
    fragment: &str,
) {
    let error = result.expect_err("an error");
    assert_eq!(error.code(), code, "{error:?}");
    assert!(
        error.description().contains(fragment),
        "{:?} should contain {fragment:?}",
        error.description()
    );
}

// §3.1–3.2: the device authorization request and response.

#[test]
fn the_device_authorization_response_has_every_member() {
    let (server, _) = device_server();
    let r = authorize_device(&server, TV, "client_id=tv&scope=read%20write");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_no_store_json(&r);
    let body = json(&r);
    let device_code = body["device_code"].as_str().unwrap();
    assert_eq!(device_code.len(), 43, "256 random bits");
    let user_code = body["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(user_code
        .bytes()
        .filter(|b| *b != b'-')
        .all(|b| USER_CODE_ALPHABET.contains(&b)));
    assert_eq!(body["verification_uri"], VERIFY);
    assert_eq!(
        body["verification_uri_complete"],
        format!("{VERIFY}?user_code={user_code}")
    );
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["interval"], 5);
    let shown = server
        .device_verification(&page(), "alice", user_code)
        .unwrap();
    assert_eq!(shown.client_id, "tv");
    assert_eq!(shown.scopes.as_str(), "read write");
    assert_eq!(shown.expires_at, START + 600);
    assert_eq!(shown.user_code, user_code);
}

#[test]
fn configured_lifetime_interval_and_a_verification_uri_with_a_query() {
    let (server, _) = clocked_device(|b| {
        b.device_verification_uri("https://as.example/device?lang=en")
            .device_code_lifetime(900)
            .device_poll_interval(8)
    });
    let r = authorize_device(&server, TV, "client_id=tv");
    let body = json(&r);
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["interval"], 8);
    let user_code = body["user_code"].as_str().unwrap();
    assert_eq!(
        body["verification_uri_complete"],
        format!("https://as.example/device?lang=en&user_code={user_code}")
    );
    // The default scope, as for every grant.
    let shown = server
        .device_verification(&page(), "alice", user_code)
        .unwrap();
    assert_eq!(shown.scopes.as_str(), "read");
}

#[test]
fn a_confidential_client_authenticates() {
    let (server, _) = device_server();
    let r = authorize_device(&server, BOX, "scope=read");
    assert_eq!(r.status, 200, "{}", r.body_str());
    // In the body too (RFC 6749 §2.3.1).
    let r = authorize_device(&server, None, "client_id=box&client_secret=box-secret");
    assert_eq!(r.status, 200, "{}", r.body_str());
    // Not by its identifier alone, nor with a wrong secret.
    let r = authorize_device(&server, None, "client_id=box");
    assert_error(&r, 401, "invalid_client", "");
    assert!(r.header("WWW-Authenticate").unwrap().starts_with("Basic"));
    let r = authorize_device(&server, Some(("box", "wrong")), "");
    assert_error(&r, 401, "invalid_client", "");
}

#[test]
fn device_authorization_request_errors() {
    let (server, _) = device_server();
    let cases: [Case<&str>; 12] = [
        (None, "", 401, "invalid_client", "client_id"),
        (None, "client_id=nobody", 401, "invalid_client", ""),
        (CONF, "", 400, "unauthorized_client", "grant type"),
        (
            None,
            "client_id=public-client",
            400,
            "unauthorized_client",
            "",
        ),
        (TV, "client_id=tv&scope=admin", 400, "invalid_scope", ""),
        (TV, "client_id=tv&scope=read%00", 400, "invalid_scope", ""),
        (
            TV,
            "client_id=tv&resource=%2Frelative",
            400,
            "invalid_target",
            "",
        ),
        (
            TV,
            "client_id=tv&resource=https%3A%2F%2Fapi.example.com%2F%23frag",
            400,
            "invalid_target",
            "",
        ),
        (
            TV,
            "client_id=tv&resource=https%3A%2F%2Fevil.example%2F",
            400,
            "invalid_target",
            "not allowed",
        ),
        (
            TV,
            "client_id=tv&scope=read&scope=write",
            400,
            "invalid_request",
            "scope",
        ),
        (
            TV,
            "client_id=tv&client_id=tv",
            400,
            "invalid_request",
            "client_id",
        ),
        (BOX, "client_id=tv", 400, "invalid_request", "differs"),
    ];
    for (auth, body, status, code, fragment) in cases {
        let r = authorize_device(&server, auth, body);
        assert_error(&r, status, code, fragment);
    }
    // Several resources may be asked (RFC 8707 §2).
    let body = format!(
        "client_id=tv&resource={}&resource={}",
        urlencode(API),
        urlencode(API2)
    );
    let (_, user_code) = tv_codes(&server, &body);
    let shown = server
        .device_verification(&page(), "alice", &user_code)
        .unwrap();
    assert_eq!(shown.audience.as_slice(), [API, API2]);
}

#[test]
fn only_a_form_post_is_a_device_authorization_request() {
    let (server, _) = device_server();
    let r = server.device_authorization_response(&Request::new("GET", "/", &[], b"client_id=tv"));
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("POST"));
    let json_type = [("Content-Type", "application/json")];
    let r = server.device_authorization_response(&Request::new(
        "POST",
        "/",
        &json_type,
        b"{\"client_id\":\"tv\"}",
    ));
    assert_error(&r, 400, "invalid_request", "Content-Type");
    let r = server.device_authorization_response(&Request::new(
        "POST",
        "/?client_secret=x",
        &[FORM],
        b"client_id=tv",
    ));
    assert_error(&r, 400, "invalid_request", "");
}

// The grant's switch and configuration.

#[test]
fn the_device_grant_is_off_by_default() {
    let server = builder_over(device_realm()).build().unwrap();
    assert!(!server.is_enabled(Grant::DeviceCode));
    let r = authorize_device(&server, TV, "client_id=tv");
    assert_error(&r, 400, "unsupported_grant_type", "not enabled");
    let r = poll(&server, "anything");
    assert_error(&r, 400, "unsupported_grant_type", "");
    assert_oauth_error(
        server.device_verification(&page(), "alice", "BCDF-GHJK"),
        ErrorCode::UnsupportedGrantType,
        "not enabled",
    );
    let doc = server.metadata_json().unwrap();
    assert!(!doc.contains("device_authorization_endpoint"));
    assert!(!doc.contains(DEVICE_CODE_GRANT_TYPE));
}

#[test]
fn enabling_the_device_grant_needs_a_verification_uri() {
    let build = |uri: Option<&str>| {
        let b = builder_over(MemoryValidator::new()).enable(Grant::DeviceCode);
        match uri {
            Some(uri) => b.device_verification_uri(uri),
            None => b,
        }
        .build()
        .err()
    };
    assert_eq!(build(None), Some(ConfigError::InvalidDeviceConfig));
    for bad in [
        "",
        "/device",
        "device",
        "http://as.example/device",
        "https://as.example/device#top",
        "https:///device",
        "ftp://as.example/device",
    ] {
        assert_eq!(
            build(Some(bad)),
            Some(ConfigError::InvalidDeviceConfig),
            "{bad}"
        );
    }
    for good in [
        VERIFY,
        "https://as.example/device?x=1",
        "http://localhost:8080/device",
        "http://127.0.0.1/device",
    ] {
        assert_eq!(build(Some(good)), None, "{good}");
    }
    let zero_interval = device_builder().device_poll_interval(0).build().err();
    assert_eq!(zero_interval, Some(ConfigError::InvalidDeviceConfig));
    let no_attempts = device_builder().user_code_attempts(0, 300).build().err();
    assert_eq!(no_attempts, Some(ConfigError::InvalidDeviceConfig));
    let no_window = device_builder().user_code_attempts(5, 0).build().err();
    assert_eq!(no_window, Some(ConfigError::InvalidLifetime));
    let zero_lifetime = device_builder().device_code_lifetime(0).build().err();
    assert_eq!(zero_lifetime, Some(ConfigError::InvalidLifetime));
    assert!(ConfigError::InvalidDeviceConfig
        .to_string()
        .contains("verification URI"));
}

// §6.1: user codes.

#[test]
fn user_codes_are_case_insensitive_and_ignore_dashes_and_spaces() {
    for (typed, normalized) in [
        ("WDJB-MJHT", Some("WDJBMJHT")),
        ("wdjb-mjht", Some("WDJBMJHT")),
        ("wdjbmjht", Some("WDJBMJHT")),
        (" Wd Jb - mJ hT ", Some("WDJBMJHT")),
        ("W-D-J-B-M-J-H-T", Some("WDJBMJHT")),
        ("WDJB-MJHA", None),  // a vowel
        ("WDJB-MJH1", None),  // a digit
        ("WDJB-MJH", None),   // seven
        ("WDJB-MJHTX", None), // nine
        ("WDJB_MJHT", None),  // other punctuation
        ("WDJB-MJHŤ", None),  // not ASCII
        ("", None),
        ("--------", None),
    ] {
        assert_eq!(
            normalize_user_code(typed).as_deref(),
            normalized,
            "{typed:?}"
        );
    }
    assert_eq!(normalize_user_code(&"-".repeat(100_000)), None);
    assert_eq!(normalize_user_code(&"B".repeat(100_000)), None);
}

#[test]
fn user_codes_use_the_whole_alphabet_without_vowels() {
    assert_eq!(USER_CODE_LEN, 8);
    assert_eq!(USER_CODE_ALPHABET.len(), 20);
    assert!(!USER_CODE_ALPHABET
        .iter()
        .any(|b| b"AEIOUY0123456789".contains(b)));
    // 20^8 codes: 34.6 bits (RFC 8628 §6.1's example).
    let bits = (USER_CODE_ALPHABET.len() as f64)
        .powi(USER_CODE_LEN as i32)
        .log2();
    assert!(bits > 34.5, "{bits}");
    let (server, _) = device_server();
    let mut seen = HashSet::new();
    let mut letters = HashSet::new();
    for _ in 0..300 {
        let (_, user_code) = tv_codes(&server, "client_id=tv");
        let normalized = normalize_user_code(&user_code).expect("a well-formed user code");
        letters.extend(normalized.bytes());
        assert!(seen.insert(normalized), "a repeated user code");
    }
    assert_eq!(letters.len(), 20, "every letter appears among 2400");
}

#[test]
fn a_custom_generators_values_are_conditioned_into_user_codes() {
    // Generated values are never used as user codes as they are.
    assert_eq!(
        normalize_user_code(&user_code_from("BCDFGHJK"))
            .unwrap()
            .len(),
        8
    );
    assert_ne!(user_code_from("BCDFGHJK"), "BCDFGHJK");
    assert_ne!(user_code_from("a"), user_code_from("b"));
    // A generator of zeros: the user code is still of the alphabet, and
    // the second request collides on both codes: three tries, then a
    // server_error, nothing handed out.
    let server = device_builder()
        .token_generator(FillTokenGenerator::new(|bytes: &mut [u8]| {
            bytes.fill(0);
            Ok(())
        }))
        .build()
        .unwrap();
    let r = authorize_device(&server, TV, "client_id=tv");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert!(normalize_user_code(&field(&r, "user_code")).is_some());
    let r = authorize_device(&server, TV, "client_id=tv");
    assert_error(&r, 500, "server_error", "already stored");
}

#[test]
fn a_store_without_device_hooks_refuses_the_request() {
    let server = builder_over(Delegating::new(device_realm()))
        .enable(Grant::DeviceCode)
        .device_verification_uri(VERIFY)
        .build()
        .unwrap();
    let r = post(
        |r| server.device_authorization_response(r),
        TV,
        "client_id=tv",
    );
    assert_error(&r, 500, "server_error", "no device authorizations");
    // Nor can anyone guess at a store that counts no guesses.
    let e = server
        .device_verification(&page(), "alice", "BCDF-GHJK")
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServerError);
}

// §3.3 and §5.1: the verification page.

#[test]
fn unknown_malformed_and_decided_codes_are_invalid_grant() {
    let (server, _) = device_server();
    let (_, user_code) = tv_codes(&server, "client_id=tv");
    for wrong in ["BCDF-GHJK", "hello", "", "WDJB-MJHA", &"Z".repeat(5000)] {
        assert_oauth_error(
            server.device_verification(&page(), "bob", wrong),
            ErrorCode::InvalidGrant,
            "unknown or expired user code",
        );
    }
    decide(&server, &user_code, None, DeviceDecision::Deny).unwrap();
    assert_oauth_error(
        server.device_verification(&page(), "alice", &user_code),
        ErrorCode::InvalidGrant,
        "unknown or expired user code",
    );
    assert_oauth_error(
        decide(&server, &user_code, None, DeviceDecision::Approve),
        ErrorCode::InvalidGrant,
        "unknown or expired user code",
    );
    assert_oauth_error(
        server.device_verification(&page(), "", &user_code),
        ErrorCode::InvalidRequest,
        "signed in",
    );
}

#[test]
fn wrong_user_codes_are_throttled_per_user() {
    let (server, clock) = clocked_device(|b| b.user_code_attempts(3, 60));
    let (_, user_code) = tv_codes(&server, "client_id=tv");
    for _ in 0..3 {
        assert_oauth_error(
            server.device_verification(&page(), "mallory", "BCDF-GHJK"),
            ErrorCode::InvalidGrant,
            "unknown",
        );
    }
    // At the limit nothing is looked up: the right code is refused too.
    for _ in 0..2 {
        assert_oauth_error(
            server.device_verification(&page(), "mallory", &user_code),
            ErrorCode::TemporarilyUnavailable,
            "too many user codes entered",
        );
        assert_oauth_error(
            server.device_decision(
                &page(),
                "mallory",
                &user_code,
                None,
                DeviceDecision::Approve,
            ),
            ErrorCode::TemporarilyUnavailable,
            "too many",
        );
    }
    // Another user is not slowed down by mallory.
    assert!(server
        .device_verification(&page(), "alice", &user_code)
        .is_ok());
    // Once the entries leave the window, mallory may try again.
    advance(&clock, 61);
    assert!(server
        .device_verification(&page(), "mallory", &user_code)
        .is_ok());
    // Right codes count too: each entry is counted before its lookup.
    assert!(server
        .device_verification(&page(), "mallory", &user_code)
        .is_ok());
    assert!(server
        .device_verification(&page(), "mallory", &user_code)
        .is_ok());
    assert_oauth_error(
        server.device_verification(&page(), "mallory", &user_code),
        ErrorCode::TemporarilyUnavailable,
        "too many",
    );
    // The default: ten per 300 s.
    let (server, _) = device_server();
    for _ in 0..10 {
        let _ = server.device_verification(&page(), "eve", "BCDF-GHJK");
    }
    assert_oauth_error(
        server.device_verification(&page(), "eve", "BCDF-GHJK"),
        ErrorCode::TemporarilyUnavailable,
        "",
    );
    let e = server
        .device_verification(&page(), "eve", "BCDF-GHJK")
        .unwrap_err();
    assert_eq!(e.status(), 503);
}

#[test]
fn racing_guesses_never_pass_the_limit_together() {
    // RFC 8628 §5.1: guesses sent at once by one user must not each see
    // the count from before the others.
    let (server, _) = clocked_device(|b| b.user_code_attempts(5, 300));
    let (_, user_code) = tv_codes(&server, "client_id=tv");
    for round in 0..20 {
        let subject = format!("racer-{round}");
        let looked_up = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(
                    || match server.device_verification(&page(), &subject, &user_code) {
                        Ok(_) => {
                            looked_up.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(e) => assert_eq!(e.code(), ErrorCode::TemporarilyUnavailable),
                    },
                );
            }
        });
        assert_eq!(looked_up.into_inner(), 5, "round {round}");
    }
}

#[test]
fn approval_may_narrow_the_scope_but_never_widen_it() {
    let (server, clock) = device_server();
    let (device_code, user_code) = tv_codes(&server, "client_id=tv&scope=read");
    assert_oauth_error(
        decide(
            &server,
            &user_code,
            Some("read write"),
            DeviceDecision::Approve,
        ),
        ErrorCode::InvalidScope,
        "not within",
    );
    let (wide_device, wide_user) = tv_codes(&server, "client_id=tv&scope=read%20write");
    decide(&server, &wide_user, Some("write"), DeviceDecision::Approve).unwrap();
    let r = poll(&server, &wide_device);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(field(&r, "scope"), "write");
    let info = bearer(&server, &field(&r, "access_token"), &["write"]).unwrap();
    assert_eq!(info.username.as_deref(), Some("alice"));
    assert!(bearer(&server, &field(&r, "access_token"), &["read"]).is_err());
    // The first one is still pending: the refused approval changed nothing.
    advance(&clock, 0);
    assert_error(
        &poll(&server, &device_code),
        400,
        "authorization_pending",
        "",
    );
}

#[test]
fn racing_decisions_one_wins() {
    let (server, _) = device_server();
    let server = Arc::new(server);
    let (_, user_code) = tv_codes(&server, "client_id=tv");
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (server, user_code) = (Arc::clone(&server), user_code.clone());
            std::thread::spawn(move || {
                let decision = if i % 2 == 0 {
                    DeviceDecision::Approve
                } else {
                    DeviceDecision::Deny
                };
                server
                    .device_decision(&page(), "alice", &user_code, None, decision)
                    .is_ok()
            })
        })
        .collect();
    let won = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|ok| *ok)
        .count();
    assert_eq!(won, 1);
}

// §3.4–3.5: polling.

#[test]
fn polling_until_approval_gives_tokens_once() {
    let (server, clock) = device_server();
    let (device_code, user_code) = tv_codes(&server, "client_id=tv&scope=read");
    let r = poll(&server, &device_code);
    assert_error(&r, 400, "authorization_pending", "not decided");
    advance(&clock, 5);
    assert_error(
        &poll(&server, &device_code),
        400,
        "authorization_pending",
        "",
    );
    decide(&server, &user_code, None, DeviceDecision::Approve).unwrap();
    advance(&clock, 5);
    let r = poll(&server, &device_code);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_no_store_json(&r);
    let body = json(&r);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
    let access = field(&r, "access_token");
    let refresh = field(&r, "refresh_token");
    let info = bearer(&server, &access, &["read"]).unwrap();
    assert_eq!(&*info.client_id, "tv");
    assert_eq!(info.username.as_deref(), Some("alice"));
    // The refresh token of the device grant works, and rotates.
    let r = token(
        &server,
        TV,
        &format!("grant_type=refresh_token&client_id=tv&refresh_token={refresh}"),
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    let renewed = field(&r, "access_token");
    assert!(bearer(&server, &renewed, &["read"]).is_ok());
    // Single use: a second poll is a replay, which revokes the grant.
    advance(&clock, 5);
    assert_error(
        &poll(&server, &device_code),
        400,
        "invalid_grant",
        "already used",
    );
    assert!(bearer(&server, &access, &[]).is_err());
    assert!(bearer(&server, &renewed, &[]).is_err());
    let r = token(
        &server,
        TV,
        &format!(
            "grant_type=refresh_token&client_id=tv&refresh_token={}",
            field(&r, "refresh_token")
        ),
    );
    assert_error(&r, 400, "invalid_grant", "");
}

/// Each poll runs whole inside `token_request`, where a store may open one
/// transaction: a pending poll's lookup and its record, an approved one's
/// lookup and the spend of its device code.
#[test]
fn each_poll_runs_inside_token_request() {
    let server = builder_over(Delegating::new(device_realm()).with_device())
        .enable(Grant::DeviceCode)
        .device_verification_uri(VERIFY)
        .build()
        .unwrap();
    let calls = || std::mem::take(&mut *server.validator().device_calls.lock().unwrap());
    let (device_code, user_code) = tv_codes(&server, "client_id=tv&scope=read");
    calls();
    assert_error(
        &poll(&server, &device_code),
        400,
        "authorization_pending",
        "",
    );
    assert_eq!(
        calls(),
        [
            ("find_device_authorization", true),
            ("record_device_poll", true)
        ]
    );
    decide(&server, &user_code, None, DeviceDecision::Approve).unwrap();
    calls();
    let r = poll(&server, &device_code);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(
        calls(),
        [
            ("find_device_authorization", true),
            ("invalidate_device_code", true)
        ]
    );
    assert!(!server.validator().in_token_request.load(Ordering::SeqCst));
}

#[test]
fn polling_too_fast_is_slow_down_and_the_interval_grows_by_five() {
    let (server, clock) = device_server();
    let (device_code, _) = tv_codes(&server, "client_id=tv");
    assert_error(
        &poll(&server, &device_code),
        400,
        "authorization_pending",
        "",
    );
    // Interval 5; a poll at +4 is too soon: slow_down, interval 10.
    advance(&clock, 4);
    assert_error(&poll(&server, &device_code), 400, "slow_down", "10 seconds");
    // "for this and all subsequent requests": +9 after that poll is too
    // soon for 10 (now 15), +15 after the last one is not.
    advance(&clock, 9);
    assert_error(&poll(&server, &device_code), 400, "slow_down", "15 seconds");
    advance(&clock, 15);
    assert_error(
        &poll(&server, &device_code),
        400,
        "authorization_pending",
        "",
    );
    advance(&clock, 14);
    assert_error(&poll(&server, &device_code), 400, "slow_down", "20 seconds");
    advance(&clock, 20);
    assert_error(
        &poll(&server, &device_code),
        400,
        "authorization_pending",
        "",
    );
    let found = server
        .validator()
        .find_device_authorization(
            oauth2_provider::DeviceCodeKey::DeviceCode(&oauth2_provider::secret::sha256(
                device_code.as_bytes(),
            )),
            &oauth2_provider::OAuthRequest::new(page(), Default::default(), START),
        )
        .unwrap()
        .unwrap();
    assert_eq!(found.interval, 20);
    assert_eq!(found.last_poll, Some(START + 4 + 9 + 15 + 14 + 20));
}

#[test]
fn a_denied_authorization_is_access_denied() {
    let (server, clock) = device_server();
    let (device_code, user_code) = tv_codes(&server, "client_id=tv");
    decide(&server, &user_code, Some("write"), DeviceDecision::Deny).unwrap();
    assert_error(&poll(&server, &device_code), 400, "access_denied", "denied");
    advance(&clock, 10);
    assert_error(&poll(&server, &device_code), 400, "access_denied", "");
}

#[test]
fn an_expired_device_code_is_expired_token() {
    let (server, clock) = device_server();
    let (device_code, user_code) = tv_codes(&server, "client_id=tv");
    let (approved_code, approved_user) = tv_codes(&server, "client_id=tv");
    decide(&server, &approved_user, None, DeviceDecision::Approve).unwrap();
    advance(&clock, 599);
    assert_error(
        &poll(&server, &device_code),
        400,
        "authorization_pending",
        "",
    );
    advance(&clock, 1);
    assert_error(
        &poll(&server, &device_code),
        400,
        "expired_token",
        "expired",
    );
    // An approved one unused until then expires too.
    assert_error(&poll(&server, &approved_code), 400, "expired_token", "");
    // And the user can no longer approve.
    assert_oauth_error(
        decide(&server, &user_code, None, DeviceDecision::Approve),
        ErrorCode::InvalidGrant,
        "expired",
    );
}

#[test]
fn another_clients_device_code_is_invalid_grant() {
    let (server, _) = device_server();
    let r = authorize_device(&server, BOX, "");
    let (box_code, box_user) = (field(&r, "device_code"), field(&r, "user_code"));
    decide(&server, &box_user, None, DeviceDecision::Approve).unwrap();
    assert_error(
        &poll(&server, &box_code),
        400,
        "invalid_grant",
        "unknown device code",
    );
    // It neither spent nor revoked it: box gets its token, without a
    // refresh token (box may not refresh).
    let r = token(
        &server,
        BOX,
        &format!("grant_type={DEVICE_CODE_GRANT_TYPE}&device_code={box_code}"),
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert!(json(&r).get("refresh_token").is_none());
    // A confidential client must authenticate to poll.
    let r = token(
        &server,
        None,
        &format!("grant_type={DEVICE_CODE_GRANT_TYPE}&client_id=box&device_code={box_code}"),
    );
    assert_error(&r, 401, "invalid_client", "");
}

#[test]
fn token_request_errors() {
    let (server, _) = device_server();
    let (device_code, _) = tv_codes(&server, "client_id=tv");
    let urn = DEVICE_CODE_GRANT_TYPE;
    let cases: [Case<String>; 6] = [
        (
            TV,
            format!("grant_type={urn}&client_id=tv"),
            400,
            "invalid_request",
            "device_code",
        ),
        (
            TV,
            format!("grant_type={urn}&client_id=tv&device_code=nope"),
            400,
            "invalid_grant",
            "unknown device code",
        ),
        (
            TV,
            format!(
                "grant_type={urn}&client_id=tv&device_code={device_code}&device_code={device_code}"
            ),
            400,
            "invalid_request",
            "device_code",
        ),
        (
            CONF,
            format!("grant_type={urn}&device_code={device_code}"),
            400,
            "unauthorized_client",
            "",
        ),
        (
            None,
            format!("grant_type={urn}&device_code={device_code}"),
            401,
            "invalid_client",
            "",
        ),
        (
            TV,
            format!("grant_type={urn}x&client_id=tv&device_code={device_code}"),
            400,
            "unsupported_grant_type",
            "",
        ),
    ];
    for (auth, body, status, code, fragment) in cases {
        assert_error(&token(&server, auth, &body), status, code, fragment);
    }
    // None of them was a poll: the next is not too fast.
    assert_error(
        &poll(&server, &device_code),
        400,
        "authorization_pending",
        "",
    );
}

// RFC 8707: resources asked at the device endpoint, narrowed at the token
// endpoint, never widened.

#[test]
fn resources_are_narrowed_never_widened() {
    let (server, _) = device_server();
    let asked = format!(
        "client_id=tv&resource={}&resource={}",
        urlencode(API),
        urlencode(API2)
    );
    let (device_code, user_code) = tv_codes(&server, &asked);
    decide(&server, &user_code, None, DeviceDecision::Approve).unwrap();
    let narrowed = format!(
        "grant_type={DEVICE_CODE_GRANT_TYPE}&client_id=tv&device_code={device_code}&resource={}",
        urlencode(API2)
    );
    let r = token(&server, TV, &narrowed);
    assert_eq!(r.status, 200, "{}", r.body_str());
    let info = introspect(&server, &field(&r, "access_token"));
    assert_eq!(info["aud"], API2);

    let (device_code, user_code) = tv_codes(
        &server,
        &format!("client_id=tv&resource={}", urlencode(API)),
    );
    decide(&server, &user_code, None, DeviceDecision::Approve).unwrap();
    let widened = format!(
        "grant_type={DEVICE_CODE_GRANT_TYPE}&client_id=tv&device_code={device_code}&resource={}",
        urlencode(API2)
    );
    assert_error(
        &token(&server, TV, &widened),
        400,
        "invalid_target",
        "not within",
    );
    // The refusal spent nothing: without the wider resource it works.
    let r = poll(&server, &device_code);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(introspect(&server, &field(&r, "access_token"))["aud"], API);
}

// RFC 8628 §4: metadata.

#[test]
fn metadata_names_the_device_endpoint_and_grant() {
    let (server, _) = device_server();
    let doc: serde_json::Value = serde_json::from_str(&server.metadata_json().unwrap()).unwrap();
    assert_eq!(
        doc["device_authorization_endpoint"],
        "https://as.example/device_authorization"
    );
    let grants = doc["grant_types_supported"].as_array().unwrap();
    assert!(grants.iter().any(|g| g == DEVICE_CODE_GRANT_TYPE));
    let server = device_builder()
        .endpoints(EndpointPaths {
            device_authorization: "/oauth/device".into(),
            ..EndpointPaths::default()
        })
        .build()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&server.metadata_json().unwrap()).unwrap();
    assert_eq!(
        doc["device_authorization_endpoint"],
        "https://as.example/oauth/device"
    );
}

// Hostile input: an RFC error with a description, never a panic.

#[test]
fn hostile_input_gets_rfc_errors() {
    let (server, _) = device_server();
    let long = "A".repeat(100_000);
    let bodies = [
        "client_id=tv&scope=%ZZ".to_owned(),
        "client_id=tv&scope=%FF%FE".to_owned(),
        format!("client_id={long}"),
        format!("client_id=tv&scope={long}"),
        format!("client_id=tv&resource={long}"),
        "client_id=tv&&&===&".to_owned(),
        "client_id=tv%00".to_owned(),
        "\u{0}\u{1}\u{2}".to_owned(),
    ];
    for body in &bodies {
        let r = authorize_device(&server, TV, body);
        assert!(
            [200, 400, 401].contains(&r.status),
            "{body:.40}: {}",
            r.status
        );
        if r.status != 200 {
            let description = json(&r)["error_description"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(!description.is_empty(), "{body:.40}");
        }
        let poll_body =
            format!("grant_type={DEVICE_CODE_GRANT_TYPE}&client_id=tv&device_code={body}");
        let r = token(&server, TV, &poll_body);
        assert!([400, 401].contains(&r.status), "{}", r.status);
        assert!(json(&r)["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()));
    }
    for code in [
        long.as_str(),
        "\u{0}",
        "ＢＣＤＦ-ＧＨＪＫ",
        "BCDF\u{200b}GHJK",
        "🦀🦀🦀🦀-🦀🦀🦀🦀",
    ] {
        let e = server
            .device_verification(&page(), "hostile", code)
            .unwrap_err();
        assert!(!e.description().is_empty());
        let e = server
            .device_decision(&page(), &long, code, None, DeviceDecision::Approve)
            .unwrap_err();
        assert!(!e.description().is_empty());
    }
}

fn urlencode(s: &str) -> String {
    oauth2_provider::form::encode_pairs([("x", s)])[2..].to_owned()
}
