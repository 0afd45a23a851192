//! The fuzz targets' bodies and invariants, shared by the cargo-fuzz
//! binaries (`fuzz/fuzz_targets/*.rs`, nightly) and the stable replay of
//! the committed corpus (`tests/fuzz_corpus.rs`).
//!
//! Each function takes arbitrary bytes, drives one public entry point, and
//! panics only when an invariant breaks: that is what the fuzzer reports.
#![allow(dead_code)]

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};

use oauth2_provider::device::normalize_user_code;
use oauth2_provider::form::{self, Params};
use oauth2_provider::header::{self, BASIC_BUFFER_LEN};
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::token::{TokenGenerator, TokenKind};
use oauth2_provider::{
    AuthorizationError, DeviceDecision, ErrorCode, OAuthError, ProtectedResource, Request,
    Response, Server, DEVICE_CODE_GRANT_TYPE,
};

/// Registered redirect URIs of the fuzz realm, by client.
const REDIRECTS: &[(&str, &str)] = &[
    ("conf-client", "https://client.example.com/cb"),
    ("conf-client", "https://client.example.com/cb2"),
    ("public-client", "http://127.0.0.1:9999/callback"),
    ("query-client", "https://q.example/cb?app=1"),
];

/// The protected resource of the fuzz realm (RFC 8707, RFC 9728), which
/// conf-client may ask tokens for, with `https://photos.example/v1`.
pub const API: &str = "https://api.example/";

/// RFC 7636 appendix B.
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Predictable values, so corpus inputs can name codes and tokens that
/// exist: `ac1`, `at1`, `rt1`, … fresh for every input.
#[derive(Default)]
struct SequentialTokens(AtomicU64);

impl TokenGenerator for SequentialTokens {
    fn generate(&self, kind: TokenKind) -> Result<String, OAuthError> {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        let prefix = match kind {
            TokenKind::AccessToken => "at",
            TokenKind::RefreshToken => "rt",
            TokenKind::AuthorizationCode => "ac",
            TokenKind::GrantId => "g",
            TokenKind::DeviceCode => "dc",
            TokenKind::UserCode => "uc",
        };
        Ok(format!("{prefix}{n}"))
    }
}

fn realm() -> MemoryValidator {
    let v = MemoryValidator::new();
    let conf: Vec<&str> = REDIRECTS
        .iter()
        .filter(|r| r.0 == "conf-client")
        .map(|r| r.1)
        .collect();
    v.add_client(
        MemoryClient::confidential("conf-client", "conf-secret", conf)
            .grants([
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "password",
                "implicit",
            ])
            .scopes(["read", "write"])
            .default_scopes(["read"])
            .resources([API, "https://photos.example/v1"])
            .may_introspect(true),
    );
    v.add_client(
        MemoryClient::public("public-client", ["http://127.0.0.1:9999/callback"])
            .grants(["authorization_code", "refresh_token", "implicit"])
            .scopes(["read"]),
    );
    v.add_client(
        MemoryClient::public("query-client", ["https://q.example/cb?app=1"])
            .grants(["authorization_code"]),
    );
    v.add_client(
        MemoryClient::public("device-client", [])
            .grants([oauth2_provider::DEVICE_CODE_GRANT_TYPE, "refresh_token"])
            .scopes(["read", "write"])
            .resources([API]),
    );
    v.add_user("alice", "wonderland");
    v
}

/// A fresh server with every grant on, plus state for the corpus to hit:
/// codes `ac1` (conf-client, redirect_uri sent) and `ac3` (public-client,
/// PKCE S256 with the RFC 7636 verifier), device codes `dc5` (pending,
/// user code [`PENDING_USER_CODE`]) and `dc8` (approved by alice) of
/// device-client, and tokens from a password grant.
fn server() -> Server<MemoryValidator> {
    let server = Server::builder(realm())
        .issuer("https://as.example")
        .enable(oauth2_provider::Grant::Implicit)
        .enable(oauth2_provider::Grant::Password)
        .enable(oauth2_provider::Grant::DeviceCode)
        .device_verification_uri("https://as.example/device")
        .bearer_in_body(true)
        .bearer_in_query(true)
        .token_generator(SequentialTokens::default())
        .build()
        .expect("a valid configuration");
    for query in [
        "response_type=code&client_id=conf-client&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&state=s",
        &format!("response_type=code&client_id=public-client&code_challenge={CHALLENGE}&code_challenge_method=S256"),
    ] {
        let uri = format!("/authorize?{query}");
        let req = Request::new("GET", &uri, &[], b"");
        let pending = server.validate_authorization_request(&req).expect("fuzz realm set-up");
        server.authorize(&req, &pending, "alice", None);
    }
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    for approve in [false, true] {
        let request = Request::new(
            "POST",
            "/device_authorization",
            &form,
            b"client_id=device-client&scope=read",
        );
        let response = server.device_authorization_response(&request);
        assert_eq!(
            response.status,
            200,
            "fuzz realm set-up: {}",
            response.body_str()
        );
        // The corpus and the dictionary name these codes.
        let expected = if approve { "dc8" } else { "dc5" };
        assert_eq!(json_str(&response, "device_code"), expected);
        if !approve {
            assert_eq!(json_str(&response, "user_code"), PENDING_USER_CODE);
        }
        if approve {
            let user_code = json_str(&response, "user_code");
            let page = Request::new("POST", "/device", &[], b"");
            server
                .device_decision(&page, "alice", &user_code, None, DeviceDecision::Approve)
                .expect("fuzz realm set-up");
        }
    }
    server
}

/// The user code of the fuzz realm's pending device authorization (`dc5`):
/// the one the generator's `uc6` makes.
pub const PENDING_USER_CODE: &str = "MPSX-BMFP";

fn json_str(response: &Response, name: &str) -> String {
    let json: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON body");
    json[name].as_str().expect("a string member").to_owned()
}

const ERROR_CODES: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "unsupported_token_type",
    "invalid_target",
    // RFC 8628 §3.5, at the token endpoint.
    "authorization_pending",
    "slow_down",
    "access_denied",
    "expired_token",
];

/// A token-endpoint style response is a well-formed RFC 6749 §5 response.
fn check_json_response(response: &Response) {
    assert!(
        matches!(response.status, 200 | 400 | 401 | 405),
        "unexpected status {}",
        response.status
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let json: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON body");
    let object = json.as_object().expect("JSON object");
    if response.status == 200 {
        assert!(object["access_token"].is_string());
        assert_eq!(object["token_type"], "Bearer");
        return;
    }
    let error = object["error"].as_str().expect("error string");
    assert!(ERROR_CODES.contains(&error), "unexpected error {error}");
    if let Some(d) = object.get("error_description") {
        let d = d.as_str().expect("description string");
        assert!(d
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)));
    }
    if response.status == 401 {
        assert_eq!(error, ErrorCode::InvalidClient.as_str());
    }
}

/// Target `authorization_header`: arbitrary bytes into the Basic and Bearer
/// parsers. A Basic header that parses re-encodes to the same credentials.
pub fn authorization_header(data: &[u8]) {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let _ = header::split_credentials(value);
    if let Ok(token) = header::parse_bearer(value) {
        assert!(!token.is_empty() && !token.contains([' ', '\t']));
    }
    let mut buf = [0u8; BASIC_BUFFER_LEN];
    if let Ok(creds) = header::parse_basic(value, &mut buf) {
        assert!(!creds.client_id.is_empty());
        let again = header::basic_header_value(creds.client_id, creds.client_secret);
        let mut buf2 = [0u8; BASIC_BUFFER_LEN];
        if let Ok(round) = header::parse_basic(&again, &mut buf2) {
            assert_eq!(
                (round.client_id, round.client_secret),
                (creds.client_id, creds.client_secret)
            );
        }
    }
}

/// Target `form`: arbitrary bytes into the form parser, and the round-trip
/// property: pairs made from the input, encoded, parse back to themselves.
pub fn form(data: &[u8]) {
    let parsed: Result<Vec<_>, _> = form::pairs(data).collect();
    if let Ok(pairs) = &parsed {
        for (name, value) in pairs {
            assert!(!name.is_empty());
            // Borrowed exactly when nothing needed decoding.
            if let (Cow::Borrowed(n), Cow::Borrowed(v)) = (name, value) {
                assert!(!n.contains(['%', '+']) && !v.contains(['%', '+']));
            }
        }
    }
    if let Ok(params) = Params::parse(data) {
        // `resource` may repeat (RFC 8707); every value kept is non-empty.
        assert!(params.resources().all(|r| !r.is_empty()));
        assert_eq!(
            params.resources().next(),
            params.get(oauth2_provider::form::Param::Resource)
        );
    }

    // Round trip: split the input (lossily decoded) into pairs at control bytes.
    let text = String::from_utf8_lossy(data);
    let originals: Vec<(&str, &str)> = text
        .split('\u{1}')
        .filter_map(|p| p.split_once('\u{2}'))
        .filter(|(n, _)| !n.is_empty())
        .collect();
    let encoded = form::encode_pairs(originals.iter().copied());
    let decoded: Vec<_> = form::pairs(encoded.as_bytes())
        .collect::<Result<_, _>>()
        .expect("encoded pairs parse");
    assert_eq!(decoded.len(), originals.len());
    for ((n, v), (on, ov)) in decoded.iter().zip(&originals) {
        assert_eq!((n.as_ref(), v.as_ref()), (*on, *ov));
    }
}

/// Splits fuzz input as a small HTTP request: `METHOD TARGET\n`, header
/// lines `Name: value\n`, an empty line, then the body bytes.
fn split_request(data: &[u8]) -> (String, String, Vec<(String, String)>, &[u8]) {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &data[data.len()..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let first = lines.next().unwrap_or("");
    let (method, target) = first.split_once(' ').unwrap_or((first, "/token"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    (method.to_owned(), target.to_owned(), headers, body)
}

/// Target `token_request`: arbitrary method, headers and body into the
/// token endpoint (and, with the same bytes, revocation and introspection).
/// Every answer is a well-formed RFC response; no validator error occurs,
/// so never a 500.
pub fn token_request(data: &[u8]) {
    let server = server();
    let (method, target, headers, body) = split_request(data);
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let request = Request::new(&method, &target, &headers, body);
    check_json_response(&server.token_response(&request));

    let revoked = server.revocation_response(&request);
    assert!(
        matches!(revoked.status, 200 | 400 | 401 | 405),
        "revocation status {}",
        revoked.status
    );
    if revoked.status != 200 {
        check_json_response(&revoked);
    }
    let introspected = server.introspection_response(&request);
    check_json_response_or_introspection(&introspected);

    let resource = server.verify_bearer(&request, &["read"]);
    if let Err(response) = resource {
        assert!(matches!(response.status, 400 | 401 | 403));
        let challenge = response.header("www-authenticate").expect("challenge");
        assert!(challenge.starts_with("Bearer realm="));
    }
    // At a protected resource (RFC 9728): only a token for it opens it,
    // and every refusal names the metadata.
    let api = ProtectedResource::new(API).expect("a resource identifier");
    match server.verify_bearer_at(&request, &api, &["read"]) {
        Ok(info) => assert!(info.aud.iter().any(|a| a == API), "{:?}", info.aud),
        Err(response) => {
            assert!(matches!(response.status, 400 | 401 | 403));
            let challenge = response.header("www-authenticate").expect("challenge");
            assert!(challenge.starts_with("Bearer realm="));
            assert!(challenge.ends_with(&format!("resource_metadata=\"{}\"", api.metadata_url())));
        }
    }
}

fn check_json_response_or_introspection(response: &Response) {
    if response.status == 200 {
        let json: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON body");
        assert!(json["active"].is_boolean());
    } else {
        check_json_response(response);
    }
}

/// Whether `location` sends the user agent to `registered` (with only
/// parameters added).
fn is_to(location: &str, registered: &str) -> bool {
    location
        .strip_prefix(registered)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['?', '&', '#']))
}

fn assert_registered_redirect(response: &Response, client_id: Option<&str>) {
    let Some(location) = response.header("location") else {
        panic!("redirect without Location");
    };
    let ok = REDIRECTS
        .iter()
        .any(|(c, uri)| client_id.is_none_or(|id| id == *c) && is_to(location, uri));
    assert!(ok, "redirect to an unregistered URI: {location}");
}

/// Target `authorization_request`: arbitrary query strings (and the same
/// bytes as a POST form) into authorization-request validation. A redirect
/// only ever goes to a URI registered for the client; fatal errors never
/// redirect; approving and denying a valid request redirect there too.
pub fn authorization_request(data: &[u8]) {
    let server = server();
    let query = String::from_utf8_lossy(data);
    let uri = format!("/authorize?{query}");
    let form_headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let requests = [
        Request::new("GET", &uri, &[], b""),
        Request::new("POST", "/authorize", &form_headers, data),
    ];
    for request in &requests {
        // The parameters as the endpoint sees them: the query (up to any
        // fragment) for GET, the body for POST.
        let raw = match request.method() {
            "GET" => request.query().unwrap_or("").as_bytes(),
            _ => data,
        };
        let client_id = Params::parse(raw).ok().and_then(|p| {
            p.get(oauth2_provider::form::Param::ClientId)
                .map(str::to_owned)
        });
        match server.validate_authorization_request(request) {
            Err(AuthorizationError::Fatal(e)) => {
                assert!(!e.may_redirect());
                let response = AuthorizationError::Fatal(e).into_response();
                assert!(response.header("location").is_none());
                assert_eq!(response.status, 400);
            }
            Err(AuthorizationError::Redirect { error, response }) => {
                assert!(error.may_redirect());
                assert_eq!(response.status, 302);
                assert_registered_redirect(&response, client_id.as_deref());
            }
            Ok(pending) => {
                assert!(REDIRECTS
                    .iter()
                    .any(|(c, u)| *c == pending.client_id && *u == pending.redirect_uri));
                let approved = server.authorize(request, &pending, "alice", None);
                assert_eq!(approved.status, 302);
                assert_registered_redirect(&approved, Some(&pending.client_id));
                let denied = server.deny(&pending);
                assert_registered_redirect(&denied, Some(&pending.client_id));
            }
        }
    }
    pushed_authorization_request(&server, data);
}

/// The same bytes as a pushed authorization request body (RFC 9126) of
/// conf-client: a 201 whose `request_uri` resolves for that client only
/// and is used up by the response, or a JSON error, never a redirect.
fn pushed_authorization_request(server: &Server<MemoryValidator>, data: &[u8]) {
    let auth = header::basic_header_value("conf-client", "conf-secret");
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", auth.as_str()),
    ];
    let response =
        server.pushed_authorization_response(&Request::new("POST", "/par", &headers, data));
    assert!(response.header("location").is_none());
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    if response.status != 201 {
        assert!(
            matches!(response.status, 400 | 401 | 500),
            "{}",
            response.status
        );
        return;
    }
    let body = response.body_str();
    let start = body
        .find("urn:ietf:params:oauth:request_uri:")
        .expect("a request_uri");
    let request_uri = &body[start..start + body[start..].find('"').expect("a JSON string")];
    let by = |client_id: &str| {
        let query = form::encode_pairs([("client_id", client_id), ("request_uri", request_uri)]);
        let uri = format!("/authorize?{query}");
        let request = Request::new("GET", &uri, &[], b"");
        server.validate_authorization_request(&request).map(|p| {
            let approved = server.authorize(&request, &p, "alice", None);
            assert_registered_redirect(&approved, Some("conf-client"));
        })
    };
    assert!(matches!(
        by("public-client"),
        Err(AuthorizationError::Fatal(_))
    ));
    // Valid when pushed, valid when used (same store, same clock second
    // or a few later); used up after.
    let _ = by("conf-client");
    assert!(matches!(
        by("conf-client"),
        Err(AuthorizationError::Fatal(_))
    ));
}

/// Target `device_authorization`: arbitrary method, headers and body into
/// the device authorization endpoint (RFC 8628 §3.1–3.2), and the body as
/// a user code at the verification page. A `200` has every member, a user
/// code of the alphabet, and starts a flow that gives tokens once; any
/// other answer is a JSON error of RFC 6749 §5.2, never a redirect or a
/// 500; the page answers `invalid_grant` (or shows device-client's
/// request), never panics.
pub fn device_authorization(data: &[u8]) {
    let server = server();
    let (method, target, headers, body) = split_request(data);
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let request = Request::new(&method, &target, &headers, body);
    let response = server.device_authorization_response(&request);
    assert!(response.header("location").is_none());
    if response.status == 200 {
        assert_eq!(response.header("cache-control"), Some("no-store"));
        let user_code = json_str(&response, "user_code");
        assert_eq!(user_code.len(), 9);
        assert!(normalize_user_code(&user_code).is_some(), "{user_code}");
        let device_code = json_str(&response, "device_code");
        let complete = json_str(&response, "verification_uri_complete");
        assert!(complete.ends_with(&format!("?user_code={user_code}")));
        // Only device-client may use the grant.
        let poll = || {
            let body = form::encode_pairs([
                ("grant_type", DEVICE_CODE_GRANT_TYPE),
                ("client_id", "device-client"),
                ("device_code", &device_code),
            ]);
            let form = [("Content-Type", "application/x-www-form-urlencoded")];
            server.token_response(&Request::new("POST", "/token", &form, body.as_bytes()))
        };
        let pending = poll();
        check_json_response(&pending);
        assert!(pending.body_str().contains("authorization_pending"));
        let page = Request::new("POST", "/device", &[], b"");
        let shown = server
            .device_verification(&page, "bob", &user_code)
            .expect("a fresh user code");
        assert_eq!(shown.client_id, "device-client");
        server
            .device_decision(&page, "bob", &user_code, None, DeviceDecision::Approve)
            .expect("a pending user code");
        let tokens = poll();
        check_json_response(&tokens);
        assert_eq!(tokens.status, 200, "{}", tokens.body_str());
        let replay = poll();
        check_json_response(&replay);
        assert_eq!(replay.status, 400);
    } else {
        check_json_response(&response);
    }
    let page = Request::new("POST", "/device", &[], b"");
    let typed = String::from_utf8_lossy(body);
    match server.device_verification(&page, "alice", &typed) {
        Ok(shown) => assert_eq!(shown.client_id, "device-client"),
        Err(e) => {
            assert!(
                matches!(
                    e.code(),
                    ErrorCode::InvalidGrant | ErrorCode::TemporarilyUnavailable
                ),
                "{e:?}"
            );
            assert!(!e.description().is_empty());
        }
    }
}
