//! The authorization code grant end to end (RFC 6749 §4.1, §10.6), with
//! PKCE (RFC 7636 §4.5–4.6) and the RFC 9700 §2.1.1 and §4.2 rules: the
//! token request checks client, code, redirect URI and verifier; a code
//! works once, and its replay revokes what it issued.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use oauth2_provider::client_auth::ClientLookup;
use oauth2_provider::form::encode_pairs;
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::pkce::{s256_challenge, ChallengeMethod};
use oauth2_provider::{
    AuthorizationCode, CodeStatus, Grant, IssuedToken, OAuthError, OAuthRequest,
    RefreshTokenStatus, RequestValidator, Response, Server, TokenInfo, TokenType, ValidatedCode,
};
use serde_json::Value;

/// Validates `pairs` as a `GET /authorize` and approves them for alice
/// (`approved`: the consented scope, `None` for all requested); returns
/// the code.
fn code_for<V: RequestValidator>(
    server: &Server<V>,
    pairs: &[(&str, &str)],
    approved: Option<&str>,
) -> String {
    let pending = get(server, pairs).expect("a valid authorization request");
    let response = approve(server, &pending, approved);
    assert_eq!(response.status, 302);
    location_param(&response, "code").expect("a code in the redirect")
}

/// conf-client, redirect URI sent, "read write".
fn conf_code<V: RequestValidator>(server: &Server<V>) -> String {
    code_for(
        server,
        &[
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", CONF_REDIRECT),
            ("scope", "read write"),
            ("state", "xyz"),
        ],
        None,
    )
}

/// public-client, S256 challenge of [`VERIFIER`], redirect URI omitted.
fn public_code<V: RequestValidator>(server: &Server<V>) -> String {
    code_for(
        server,
        &[
            ("response_type", "code"),
            ("client_id", "public-client"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
        None,
    )
}

/// `POST /token` with the form `pairs`.
fn token<V: RequestValidator>(
    server: &Server<V>,
    basic: Option<(&str, &str)>,
    pairs: &[(&str, &str)],
) -> Response {
    post(
        |r| server.token_response(r),
        basic,
        &encode_pairs(pairs.iter().copied()),
    )
}

/// The token request for a conf-client code, with Basic.
fn conf_exchange<V: RequestValidator>(server: &Server<V>, code: &str) -> Response {
    token(
        server,
        Some(("conf-client", "conf-secret")),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CONF_REDIRECT),
        ],
    )
}

/// The token request for a public-client code.
fn public_exchange<V: RequestValidator>(
    server: &Server<V>,
    code: &str,
    verifier: &str,
) -> Response {
    token(
        server,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", "public-client"),
            ("code_verifier", verifier),
        ],
    )
}

/// Asserts a JSON error response ([`common::assert_error`]) without a token.
#[track_caller]
fn assert_error(response: &Response, status: u16, code: &str, fragment: &str) {
    let body = common::assert_error(response, status, code, fragment);
    assert!(body.get("access_token").is_none());
}

/// Asserts a successful token response and returns its JSON.
#[track_caller]
fn assert_tokens(response: &Response) -> Value {
    let body = json(response);
    assert_eq!(response.status, 200, "{body}");
    assert_eq!(
        response.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("pragma"), Some("no-cache"));
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["access_token"].as_str().is_some_and(|t| t.len() >= 43));
    body
}

fn refresh<V: RequestValidator>(
    server: &Server<V>,
    basic: Option<(&str, &str)>,
    refresh_token: &str,
    client_id: Option<&str>,
) -> Response {
    let mut pairs = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    if let Some(id) = client_id {
        pairs.push(("client_id", id));
    }
    token(server, basic, &pairs)
}

/// A clock tests move by hand, shared by the server and the validator.
#[derive(Clone)]
struct Clock(Arc<AtomicU64>);

impl Clock {
    fn new() -> Self {
        Clock(Arc::new(AtomicU64::new(START)))
    }

    fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    fn source(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let now = Arc::clone(&self.0);
        move || now.load(Ordering::SeqCst)
    }

    fn server(&self) -> Server<MemoryValidator> {
        common::builder_over(realm())
            .issuer(ISSUER)
            .clock(self.source())
            .build()
            .unwrap()
    }
}

// ---------------------------------------------------------------------
// Happy paths.

#[test]
fn confidential_client_with_basic() {
    let server = server();
    let code = conf_code(&server);
    let response = conf_exchange(&server, &code);
    let body = assert_tokens(&response);
    // RFC 6749 §4.1.4 / §5.1: exactly these members.
    let keys: BTreeSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "scope"
        ])
    );
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read write");
    assert!(body["refresh_token"]
        .as_str()
        .is_some_and(|t| t.len() >= 43));
    assert_ne!(body["refresh_token"], body["access_token"]);

    let info = bearer(
        &server,
        body["access_token"].as_str().unwrap(),
        &["read", "write"],
    )
    .unwrap();
    assert_eq!(&*info.client_id, "conf-client");
    assert_eq!(info.username.as_deref(), Some("alice"));
    assert_eq!(info.scopes.as_str(), "read write");
}

#[test]
fn confidential_client_with_body_credentials() {
    let server = server();
    let code = conf_code(&server);
    let response = token(
        &server,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CONF_REDIRECT),
            ("client_id", "conf-client"),
            ("client_secret", "conf-secret"),
        ],
    );
    let body = assert_tokens(&response);
    assert_eq!(body["scope"], "read write");
    assert!(body["refresh_token"].is_string());
}

#[test]
fn public_client_with_client_id_and_verifier() {
    let server = server();
    let code = public_code(&server);
    let body = assert_tokens(&public_exchange(&server, &code, VERIFIER));
    assert_eq!(body["scope"], "read");
    assert_eq!(body["expires_in"], 3600);
    // public-client is allowed refresh_token.
    let refresh_token = body["refresh_token"].as_str().unwrap();
    let info = bearer(&server, body["access_token"].as_str().unwrap(), &["read"]).unwrap();
    assert_eq!(&*info.client_id, "public-client");
    assert_eq!(info.username.as_deref(), Some("alice"));
    // And the refresh token works for it.
    assert_tokens(&refresh(
        &server,
        None,
        refresh_token,
        Some("public-client"),
    ));
}

#[test]
fn confidential_client_with_pkce() {
    let server = server();
    let code = code_for(
        &server,
        &[
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", CONF_REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
        None,
    );
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CONF_REDIRECT),
    ];
    // The secret alone is not enough once a challenge was sent.
    assert_error(
        &token(&server, Some(("conf-client", "conf-secret")), &pairs),
        400,
        "invalid_request",
        "'code_verifier'",
    );
    pairs.push(("code_verifier", VERIFIER));
    assert_tokens(&token(
        &server,
        Some(("conf-client", "conf-secret")),
        &pairs,
    ));
}

#[test]
fn approved_narrower_scope_is_what_the_token_carries() {
    let server = server();
    let code = code_for(
        &server,
        &[
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", CONF_REDIRECT),
            ("scope", "read write"),
        ],
        Some("read"),
    );
    let body = assert_tokens(&conf_exchange(&server, &code));
    assert_eq!(body["scope"], "read");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(
        bearer(&server, access, &["read"]).unwrap().scopes.as_str(),
        "read"
    );
    let denied = bearer(&server, access, &["write"]).unwrap_err();
    assert_eq!(denied.status, 403);
    assert!(denied
        .header("www-authenticate")
        .unwrap()
        .contains(r#"error="insufficient_scope""#));
    // Refreshing cannot win the scope back.
    let refresh_token = body["refresh_token"].as_str().unwrap();
    let response = token(
        &server,
        Some(("conf-client", "conf-secret")),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("scope", "read write"),
        ],
    );
    assert_error(&response, 400, "invalid_scope", "scope");
}

#[test]
fn plain_pkce_end_to_end_when_allowed() {
    let server = builder().allow_plain_pkce(true).build().unwrap();
    let pairs = [
        ("response_type", "code"),
        ("client_id", "public-client"),
        ("code_challenge", VERIFIER),
        ("code_challenge_method", "plain"),
    ];
    let code = code_for(&server, &pairs, None);
    assert_error(
        &public_exchange(&server, &code, CHALLENGE),
        400,
        "invalid_grant",
        "code_verifier does not match",
    );
    assert_tokens(&public_exchange(&server, &code, VERIFIER));
}

// ---------------------------------------------------------------------
// PKCE at the token endpoint (RFC 7636 §4.6, RFC 9700 §2.1.1).

#[test]
fn wrong_verifier_is_invalid_grant() {
    let server = server();
    let code = public_code(&server);
    let other = "a".repeat(43);
    let case = format!("D{}", &VERIFIER[1..]);
    let longer = format!("{VERIFIER}a");
    for verifier in [
        other.as_str(),
        CHALLENGE, // the challenge itself: a plain downgrade attempt
        case.as_str(),
        longer.as_str(),
    ] {
        assert_error(
            &public_exchange(&server, &code, verifier),
            400,
            "invalid_grant",
            "code_verifier does not match",
        );
    }
    // The right verifier still works: a failed check does not consume it.
    assert_tokens(&public_exchange(&server, &code, VERIFIER));
}

#[test]
fn malformed_verifier_is_invalid_request() {
    let server = server();
    let code = public_code(&server);
    let long = "a".repeat(129);
    let bad_char = format!("{}+", &VERIFIER[..43]);
    for verifier in [&VERIFIER[..42], long.as_str(), bad_char.as_str(), "a b"] {
        assert_error(
            &public_exchange(&server, &code, verifier),
            400,
            "invalid_request",
            "code_verifier must be 43 to 128",
        );
    }
}

#[test]
fn missing_verifier_when_a_challenge_was_stored() {
    let server = server();
    let code = public_code(&server);
    let response = token(
        &server,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "public-client"),
        ],
    );
    assert_error(&response, 400, "invalid_request", "'code_verifier'");
}

#[test]
fn verifier_for_a_code_issued_without_challenge_is_refused() {
    // RFC 9700 §2.1.1: a code_verifier is accepted only if the
    // authorization request carried a code_challenge (PKCE downgrade).
    let server = server();
    let code = conf_code(&server);
    let response = token(
        &server,
        Some(("conf-client", "conf-secret")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CONF_REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_error(&response, 400, "invalid_grant", "without a code challenge");
}

#[test]
fn pkce_required_confidential_client_end_to_end() {
    let challenge = s256_challenge(&"k".repeat(64));
    let server = common::builder_over(realm_plus([MemoryClient::confidential(
        "strict",
        "secret",
        ["https://strict.example/cb"],
    )
    .grants(["authorization_code"])
    .pkce_required(true)]))
    .issuer(ISSUER)
    .build()
    .unwrap();
    let code = code_for(
        &server,
        &[
            ("response_type", "code"),
            ("client_id", "strict"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
        None,
    );
    let verifier = "k".repeat(64);
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    assert_tokens(&token(&server, Some(("strict", "secret")), &pairs));
}

// ---------------------------------------------------------------------
// redirect_uri (RFC 6749 §4.1.3, §10.6).

#[test]
fn redirect_uri_required_when_sent_at_authorization() {
    let server = server();
    let code = conf_code(&server);
    let response = token(
        &server,
        Some(("conf-client", "conf-secret")),
        &[("grant_type", "authorization_code"), ("code", &code)],
    );
    assert_error(&response, 400, "invalid_request", "'redirect_uri'");
}

#[test]
fn redirect_uri_must_be_identical() {
    let server = server();
    let code = conf_code(&server);
    for uri in [
        "https://client.example.com/cb2", // the client's other registered URI
        "https://client.example.com/cb/",
        "https://CLIENT.example.com/cb",
        "https://client.example.com/cb?x=1",
        "https://evil.example/cb",
    ] {
        let response = token(
            &server,
            Some(("conf-client", "conf-secret")),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", uri),
            ],
        );
        assert_error(
            &response,
            400,
            "invalid_grant",
            "redirect_uri does not match",
        );
    }
    // The failed attempts did not use the code up.
    assert_tokens(&conf_exchange(&server, &code));
}

#[test]
fn redirect_uri_not_required_when_omitted_at_authorization() {
    let server = server();
    // public_code omits redirect_uri (the client's only one is used).
    let code = public_code(&server);
    assert_tokens(&public_exchange(&server, &code, VERIFIER));
    // Sending the default one is fine too.
    let code = public_code(&server);
    let response = token(
        &server,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "public-client"),
            ("code_verifier", VERIFIER),
            ("redirect_uri", PUBLIC_REDIRECT),
        ],
    );
    assert_tokens(&response);
}

#[test]
fn loopback_code_is_bound_to_the_port_used() {
    let server = server();
    let used = "http://127.0.0.1:51004/callback";
    let code = code_for(
        &server,
        &[
            ("response_type", "code"),
            ("client_id", "public-client"),
            ("redirect_uri", used),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
        None,
    );
    let exchange = |uri: &str| {
        token(
            &server,
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", "public-client"),
                ("code_verifier", VERIFIER),
                ("redirect_uri", uri),
            ],
        )
    };
    // The registered port is not the one the code went to.
    assert_error(
        &exchange(PUBLIC_REDIRECT),
        400,
        "invalid_grant",
        "redirect_uri",
    );
    assert_tokens(&exchange(used));
}

// ---------------------------------------------------------------------
// The code: bound to its client, unknown, expired, single use.

#[test]
fn code_issued_to_another_client_is_invalid_grant() {
    let server = server();
    // public-client's code, redeemed by conf-client (authenticated).
    let code = public_code(&server);
    let response = token(
        &server,
        Some(("conf-client", "conf-secret")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_error(&response, 400, "invalid_grant", "invalid");
    // conf-client's code, redeemed by public-client (client_id only).
    let code = conf_code(&server);
    let response = token(
        &server,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "public-client"),
            ("redirect_uri", CONF_REDIRECT),
        ],
    );
    assert_error(&response, 400, "invalid_grant", "invalid");
    // Both codes still work for their own clients.
    assert_tokens(&conf_exchange(&server, &code));
}

#[test]
fn unknown_or_altered_code_is_invalid_grant() {
    let server = server();
    let code = conf_code(&server);
    let upper = code.to_uppercase();
    let truncated = &code[..code.len() - 1];
    let padded = format!("{code} ");
    for bad in ["nope", upper.as_str(), truncated, padded.as_str()] {
        let response = conf_exchange(&server, bad);
        assert_error(&response, 400, "invalid_grant", "invalid or expired");
    }
}

#[test]
fn missing_code_is_invalid_request() {
    let server = server();
    let response = token(
        &server,
        Some(("conf-client", "conf-secret")),
        &[
            ("grant_type", "authorization_code"),
            ("redirect_uri", CONF_REDIRECT),
        ],
    );
    assert_error(&response, 400, "invalid_request", "'code'");
}

#[test]
fn repeated_code_parameter_is_invalid_request() {
    let server = server();
    let code = conf_code(&server);
    let response = token(
        &server,
        Some(("conf-client", "conf-secret")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code", &code),
            ("redirect_uri", CONF_REDIRECT),
        ],
    );
    assert_error(&response, 400, "invalid_request", "'code' is repeated");
}

#[test]
fn expired_code_is_invalid_grant() {
    let clock = Clock::new();
    let server = clock.server();
    // §4.1.2: short-lived; 600 s by default.
    let fresh = conf_code(&server);
    let stale = conf_code(&server);
    clock.advance(599);
    assert_tokens(&conf_exchange(&server, &fresh));
    clock.advance(1);
    assert_error(
        &conf_exchange(&server, &stale),
        400,
        "invalid_grant",
        "invalid or expired",
    );
}

#[test]
fn code_lifetime_is_configurable() {
    let clock = Clock::new();
    let server = common::builder_over(realm())
        .clock(clock.source())
        .code_lifetime(30)
        .build()
        .unwrap();
    let code = conf_code(&server);
    clock.advance(30);
    assert_error(
        &conf_exchange(&server, &code),
        400,
        "invalid_grant",
        "expired",
    );
}

#[test]
fn replayed_code_is_refused_and_revokes_its_tokens() {
    let server = server();
    let code = conf_code(&server);
    let first = assert_tokens(&conf_exchange(&server, &code));
    let access = first["access_token"].as_str().unwrap();
    let refresh_token = first["refresh_token"].as_str().unwrap();
    assert!(bearer(&server, access, &["read"]).is_ok());

    // RFC 6749 §4.1.2: deny, and revoke what the code issued.
    assert_error(
        &conf_exchange(&server, &code),
        400,
        "invalid_grant",
        "already used",
    );
    let denied = bearer(&server, access, &["read"]).unwrap_err();
    assert_eq!(denied.status, 401);
    assert!(denied
        .header("www-authenticate")
        .unwrap()
        .contains(r#"error="invalid_token""#));
    assert_error(
        &refresh(
            &server,
            Some(("conf-client", "conf-secret")),
            refresh_token,
            None,
        ),
        400,
        "invalid_grant",
        "invalid",
    );
    // And a third try is still refused.
    assert_error(
        &conf_exchange(&server, &code),
        400,
        "invalid_grant",
        "already used",
    );
}

#[test]
fn replay_revokes_tokens_obtained_by_refreshing_too() {
    let server = server();
    let code = public_code(&server);
    let first = assert_tokens(&public_exchange(&server, &code, VERIFIER));
    let second = assert_tokens(&refresh(
        &server,
        None,
        first["refresh_token"].as_str().unwrap(),
        Some("public-client"),
    ));
    let access = second["access_token"].as_str().unwrap();
    assert!(bearer(&server, access, &["read"]).is_ok());
    // The stolen code is replayed (with the right verifier, even).
    assert_error(
        &public_exchange(&server, &code, VERIFIER),
        400,
        "invalid_grant",
        "already used",
    );
    assert_eq!(bearer(&server, access, &["read"]).unwrap_err().status, 401);
    assert_error(
        &refresh(
            &server,
            None,
            second["refresh_token"].as_str().unwrap(),
            Some("public-client"),
        ),
        400,
        "invalid_grant",
        "invalid",
    );
}

#[test]
fn replay_leaves_other_grants_alone() {
    let server = server();
    let replayed = conf_code(&server);
    let other = conf_code(&server);
    let a = assert_tokens(&conf_exchange(&server, &replayed));
    let b = assert_tokens(&conf_exchange(&server, &other));
    assert_error(
        &conf_exchange(&server, &replayed),
        400,
        "invalid_grant",
        "already used",
    );
    assert!(bearer(&server, a["access_token"].as_str().unwrap(), &[]).is_err());
    assert!(bearer(&server, b["access_token"].as_str().unwrap(), &[]).is_ok());
}

// ---------------------------------------------------------------------
// Client authentication (RFC 6749 §2.3, §3.2.1, §5.2).

#[test]
fn wrong_secret_with_basic_is_401_with_challenge() {
    let server = server();
    let code = conf_code(&server);
    let response = token(
        &server,
        Some(("conf-client", "wrong")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CONF_REDIRECT),
        ],
    );
    assert_error(
        &response,
        401,
        "invalid_client",
        "client authentication failed",
    );
    assert_eq!(
        response.header("www-authenticate"),
        Some(r#"Basic realm="oauth2", charset="UTF-8""#)
    );
    // The code survives a failed authentication.
    assert_tokens(&conf_exchange(&server, &code));
}

#[test]
fn wrong_secret_in_body_is_401_with_a_basic_challenge() {
    let server = server();
    let code = conf_code(&server);
    let response = token(
        &server,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CONF_REDIRECT),
            ("client_id", "conf-client"),
            ("client_secret", "wrong"),
        ],
    );
    assert_error(
        &response,
        401,
        "invalid_client",
        "client authentication failed",
    );
    assert_eq!(
        response.header("www-authenticate"),
        Some(r#"Basic realm="oauth2", charset="UTF-8""#)
    );
}

#[test]
fn confidential_client_with_client_id_only_is_invalid_client() {
    let server = server();
    let code = conf_code(&server);
    // Even with the code and a PKCE-shaped verifier: no secret, no tokens.
    for extra in [None, Some(("code_verifier", VERIFIER))] {
        let mut pairs = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CONF_REDIRECT),
            ("client_id", "conf-client"),
        ];
        pairs.extend(extra);
        let response = token(&server, None, &pairs);
        assert_error(
            &response,
            401,
            "invalid_client",
            "client authentication failed",
        );
    }
    assert_tokens(&conf_exchange(&server, &code));
}

#[test]
fn public_client_without_client_id_is_invalid_client() {
    let server = server();
    let code = public_code(&server);
    let response = token(
        &server,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_error(&response, 401, "invalid_client", "");
}

#[test]
fn unknown_client_is_invalid_client() {
    let server = server();
    let code = public_code(&server);
    let response = token(
        &server,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "nobody"),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_error(
        &response,
        401,
        "invalid_client",
        "client authentication failed",
    );
}

#[test]
fn client_not_allowed_the_grant_is_unauthorized_client() {
    let server = common::builder_over(realm_plus([MemoryClient::confidential(
        "cc-only",
        "secret",
        ["https://cc.example/cb"],
    )
    .grants(["client_credentials"])]))
    .build()
    .unwrap();
    let response = token(
        &server,
        Some(("cc-only", "secret")),
        &[("grant_type", "authorization_code"), ("code", "whatever")],
    );
    assert_error(&response, 400, "unauthorized_client", "grant type");
}

#[test]
fn grant_disabled_on_the_server_is_unsupported() {
    let server = builder().disable(Grant::AuthorizationCode).build().unwrap();
    let response = token(
        &server,
        Some(("conf-client", "conf-secret")),
        &[("grant_type", "authorization_code"), ("code", "whatever")],
    );
    assert_error(&response, 400, "unsupported_grant_type", "not supported");
}

// ---------------------------------------------------------------------
// Refresh tokens only where allowed.

#[test]
fn refresh_token_only_when_the_client_allows_it() {
    let server = common::builder_over(realm_plus([MemoryClient::confidential(
        "no-refresh",
        "secret",
        ["https://nr.example/cb"],
    )
    .grants(["authorization_code"])]))
    .build()
    .unwrap();
    let code = code_for(
        &server,
        &[("response_type", "code"), ("client_id", "no-refresh")],
        None,
    );
    let body = assert_tokens(&token(
        &server,
        Some(("no-refresh", "secret")),
        &[("grant_type", "authorization_code"), ("code", &code)],
    ));
    assert!(body.get("refresh_token").is_none(), "{body}");
    // No scope requested, none by default: no scope member either.
    assert!(body.get("scope").is_none(), "{body}");
    assert_eq!(body["expires_in"], 3600);
}

#[test]
fn refresh_token_only_when_the_server_allows_it() {
    let server = builder().disable(Grant::RefreshToken).build().unwrap();
    let code = conf_code(&server);
    let body = assert_tokens(&conf_exchange(&server, &code));
    assert!(body.get("refresh_token").is_none(), "{body}");
}

#[test]
fn access_token_lifetime_is_reported() {
    let server = builder().access_token_lifetime(120).build().unwrap();
    let code = conf_code(&server);
    assert_eq!(
        assert_tokens(&conf_exchange(&server, &code))["expires_in"],
        120
    );
}

// ---------------------------------------------------------------------
// A failing validator is server_error (500), never success.

#[test]
fn failing_validator_at_the_token_endpoint_is_server_error() {
    for hook in [
        "validate_code",
        "get_code_challenge",
        "invalidate_authorization_code",
        "save_bearer_token",
    ] {
        let server = common::builder_over(Delegating::new(realm()).failing(hook))
            .build()
            .unwrap();
        let code = conf_code(&server);
        let response = conf_exchange(&server, &code);
        assert_error(&response, 500, "server_error", "unavailable");
        assert!(response.header("www-authenticate").is_none(), "{hook}");
    }
}

/// A challenge handed back by `validate_code` (as oauthlib's sets
/// `request.code_challenge`) is checked without the two challenge hooks:
/// failing ones are never reached, and the check is as strict.
#[test]
fn challenge_from_validate_code_needs_no_hooks() {
    for hook in ["get_code_challenge", "get_code_challenge_method"] {
        let mut validator = Delegating::new(realm()).failing(hook);
        validator.challenge_in_validate_code = true;
        let server = common::builder_over(validator).build().unwrap();
        let code = public_code(&server);
        for wrong in [CHALLENGE, &"a".repeat(43)] {
            assert_error(
                &public_exchange(&server, &code, wrong),
                400,
                "invalid_grant",
                "code_verifier does not match",
            );
        }
        assert_error(
            &token(
                &server,
                None,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("client_id", "public-client"),
                ],
            ),
            400,
            "invalid_request",
            "code_verifier",
        );
        assert_tokens(&public_exchange(&server, &code, VERIFIER));
    }
}

/// A host that reports an S256 code's method as `plain` on a server that
/// refuses `plain`: the public challenge must not pass as the verifier.
#[test]
fn a_plain_method_is_refused_where_plain_is_not_accepted() {
    let mut validator = Delegating::new(realm());
    validator.challenge_in_validate_code = true;
    validator.claim_plain = true;
    let server = common::builder_over(validator).build().unwrap();
    let code = public_code(&server);
    for verifier in [CHALLENGE, VERIFIER] {
        assert_error(
            &public_exchange(&server, &code, verifier),
            400,
            "invalid_grant",
            "plain",
        );
    }
}

#[test]
fn failing_revocation_on_replay_is_server_error() {
    let server = common::builder_over(Delegating::new(realm()).failing("revoke_grant"))
        .build()
        .unwrap();
    let code = conf_code(&server);
    assert_tokens(&conf_exchange(&server, &code));
    assert_error(
        &conf_exchange(&server, &code),
        500,
        "server_error",
        "unavailable",
    );
}

// ---------------------------------------------------------------------
// A careless host: validate_code that does not check the client, the
// expiry or use. The library still does (RFC 6749 §4.1.3).

/// Forwards to a [`MemoryValidator`] (the client-record methods are the
/// trait's defaults, as in every store), but answers `validate_code`
/// from its own record of every code, ignoring client, expiry and use.
struct Careless {
    inner: MemoryValidator,
    codes: Mutex<HashMap<String, AuthorizationCode>>,
}

impl ClientLookup for Careless {
    type Client = Arc<MemoryClient>;

    fn find_client(&self, client_id: &str) -> Result<Option<Self::Client>, OAuthError> {
        self.inner.find_client(client_id)
    }
}

impl RequestValidator for Careless {
    fn validate_code(
        &self,
        _client_id: &str,
        code: &str,
        _client: &Self::Client,
        _request: &OAuthRequest<'_>,
    ) -> Result<CodeStatus, OAuthError> {
        Ok(match self.codes.lock().unwrap().get(code) {
            Some(c) => CodeStatus::Valid(ValidatedCode {
                client_id: c.client_id.clone(),
                user: c.user.clone(),
                scopes: c.scopes.clone(),
                redirect_uri: c.redirect_uri.clone(),
                audience: c.audience.clone(),
                grant_id: c.grant_id.clone(),
                expires_at: c.expires_at,
                // Left to get_code_challenge(_method): the hooks' path.
                code_challenge: None,
            }),
            None => CodeStatus::Invalid,
        })
    }

    fn save_authorization_code(
        &self,
        client_id: &str,
        code: &AuthorizationCode,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        self.codes
            .lock()
            .unwrap()
            .insert(code.code.clone(), code.clone());
        self.inner.save_authorization_code(client_id, code, request)
    }

    fn get_code_challenge(
        &self,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        self.inner.get_code_challenge(code, request)
    }

    fn get_code_challenge_method(
        &self,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<ChallengeMethod>, OAuthError> {
        self.inner.get_code_challenge_method(code, request)
    }

    fn introspect_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        self.inner.introspect_token(token, hint, request)
    }

    fn invalidate_authorization_code(
        &self,
        client_id: &str,
        code: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        self.inner
            .invalidate_authorization_code(client_id, code, request)
    }

    fn revoke_token(
        &self,
        token: &str,
        hint: Option<TokenType>,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        self.inner.revoke_token(token, hint, request)
    }

    fn revoke_grant(&self, grant_id: &str, request: &OAuthRequest<'_>) -> Result<(), OAuthError> {
        self.inner.revoke_grant(grant_id, request)
    }

    fn invalidate_refresh_token(
        &self,
        refresh_token: &str,
        request: &OAuthRequest<'_>,
    ) -> Result<bool, OAuthError> {
        self.inner.invalidate_refresh_token(refresh_token, request)
    }

    fn save_bearer_token(
        &self,
        token: &IssuedToken,
        request: &OAuthRequest<'_>,
    ) -> Result<(), OAuthError> {
        self.inner.save_bearer_token(token, request)
    }

    fn validate_bearer_token(
        &self,
        token: &str,
        scopes: &[&str],
        request: &OAuthRequest<'_>,
    ) -> Result<Option<TokenInfo>, OAuthError> {
        self.inner.validate_bearer_token(token, scopes, request)
    }

    fn validate_refresh_token(
        &self,
        refresh_token: &str,
        client: &Self::Client,
        request: &OAuthRequest<'_>,
    ) -> Result<RefreshTokenStatus, OAuthError> {
        self.inner
            .validate_refresh_token(refresh_token, client, request)
    }
}

fn careless_server(clock: &Clock) -> Server<Careless> {
    // The validator's own clock never moves: only the server's does.
    let careless = Careless {
        inner: realm(),
        codes: Mutex::default(),
    };
    common::builder_over(careless)
        .clock(clock.source())
        .build()
        .unwrap()
}

#[test]
fn library_checks_the_client_of_the_code() {
    let clock = Clock::new();
    let server = careless_server(&clock);
    let code = public_code(&server);
    let response = token(
        &server,
        Some(("conf-client", "conf-secret")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_error(&response, 400, "invalid_grant", "issued to another client");
    assert_tokens(&public_exchange(&server, &code, VERIFIER));
}

#[test]
fn library_checks_the_expiry_of_the_code() {
    let clock = Clock::new();
    let server = careless_server(&clock);
    let code = conf_code(&server);
    clock.advance(600);
    assert_error(
        &conf_exchange(&server, &code),
        400,
        "invalid_grant",
        "expired",
    );
}

#[test]
fn library_enforces_single_use() {
    let clock = Clock::new();
    let server = careless_server(&clock);
    let code = conf_code(&server);
    assert_tokens(&conf_exchange(&server, &code));
    // validate_code says "valid" again; invalidate_authorization_code
    // says it was already consumed.
    assert_error(
        &conf_exchange(&server, &code),
        400,
        "invalid_grant",
        "already used",
    );
}

#[test]
fn redirect_uri_sent_only_at_the_token_endpoint_must_be_the_default() {
    // §10.6: the URI used to obtain the code and the one presented with
    // it must be identical, even when the authorization request left it
    // to the client's only registered URI.
    let server = server();
    let code = public_code(&server);
    for uri in [
        "https://evil.example/cb",
        "http://127.0.0.1:9999/callback/",
        "http://127.0.0.1:5555/callback",
    ] {
        let response = token(
            &server,
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", "public-client"),
                ("code_verifier", VERIFIER),
                ("redirect_uri", uri),
            ],
        );
        assert_error(
            &response,
            400,
            "invalid_grant",
            "redirect_uri does not match",
        );
    }
    assert_tokens(&public_exchange(&server, &code, VERIFIER));
}

/// A used public-client code replayed without proof that the replay comes
/// from its client: refused, and nothing revoked. With the verifier, the
/// grant is revoked. `challenge_in_validate_code`: whether the host hands
/// the challenge back with `CodeStatus::Used` or through the hooks.
fn replay_needs_the_verifier_to_revoke(challenge_in_validate_code: bool) {
    let mut host = Delegating::new(realm());
    host.challenge_in_validate_code = challenge_in_validate_code;
    let server = builder_over(host).build().unwrap();
    let code = public_code(&server);
    let first = assert_tokens(&public_exchange(&server, &code, VERIFIER));
    let access = first["access_token"].as_str().unwrap();
    let refresh_token = first["refresh_token"].as_str().unwrap();

    let wrong = "w".repeat(43);
    let no_verifier = token(
        &server,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "public-client"),
        ],
    );
    for replay in [
        no_verifier,
        public_exchange(&server, &code, &wrong),
        public_exchange(&server, &code, "short"),
    ] {
        assert_error(&replay, 400, "invalid_grant", "already used");
        assert!(
            bearer(&server, access, &["read"]).is_ok(),
            "a replay without proof revoked the grant"
        );
    }
    // The grant is whole: its refresh token still works.
    let refreshed = assert_tokens(&refresh(
        &server,
        None,
        refresh_token,
        Some("public-client"),
    ));
    let access = refreshed["access_token"].as_str().unwrap();
    // The verifier is the proof: now the replay revokes.
    assert_error(
        &public_exchange(&server, &code, VERIFIER),
        400,
        "invalid_grant",
        "already used",
    );
    assert_eq!(bearer(&server, access, &["read"]).unwrap_err().status, 401);
}

#[test]
fn public_replay_without_the_verifier_revokes_nothing() {
    replay_needs_the_verifier_to_revoke(true);
}

#[test]
fn public_replay_without_the_verifier_revokes_nothing_when_hooks_hold_the_challenge() {
    replay_needs_the_verifier_to_revoke(false);
}

/// RFC 7636 §4.3 / §4.6, RFC 9700 §2.1.1 and §4.8: with `plain` disabled, a
/// challenge can only have been accepted as S256. A validator that stores
/// the challenge but returns no method must not turn the check into
/// `plain`, where the challenge itself (seen in the authorization request's
/// URL) passes as the verifier.
#[test]
fn pkce_missing_method_is_not_read_as_plain_when_plain_is_disabled() {
    let server = builder_over(Delegating {
        forget_method: true,
        ..Delegating::new(realm())
    })
    .enable(Grant::Password)
    .build()
    .unwrap();
    let code = public_code(&server);
    let r = public_exchange(&server, &code, CHALLENGE);
    common::assert_error(&r, 400, "invalid_grant", "code_verifier does not match");

    // The right verifier still works: the check is S256.
    let r = public_exchange(&server, &code, VERIFIER);
    assert_eq!(r.status, 200, "{}", r.body_str());
}

/// RFC 6749 §4.1.2 and RFC 9700 §4.2.1: a code used twice revokes what it
/// issued, also when the second exchange raced the first one past
/// `validate_code` and only `invalidate_authorization_code` tells them
/// apart.
#[test]
fn code_replay_racing_past_validate_code_revokes_the_grant() {
    let server = builder_over(Delegating {
        stale_codes: true,
        ..Delegating::new(realm())
    })
    .enable(Grant::Password)
    .build()
    .unwrap();
    let code = public_code(&server);
    let first = public_exchange(&server, &code, VERIFIER);
    assert_eq!(first.status, 200, "{}", first.body_str());
    let (access, refresh_token) = (
        field(&first, "access_token"),
        field(&first, "refresh_token"),
    );
    assert!(bearer(&server, &access, &[]).is_ok());

    let second = public_exchange(&server, &code, VERIFIER);
    common::assert_error(&second, 400, "invalid_grant", "already used");

    assert!(
        bearer(&server, &access, &[]).is_err(),
        "access token revoked"
    );
    assert_eq!(introspect(&server, &access)["active"], false);
    assert_eq!(introspect(&server, &refresh_token)["active"], false);
}
