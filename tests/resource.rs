//! The resource server's bearer token check (RFC 6750): the three ways a
//! token may travel (§2), and the `WWW-Authenticate: Bearer` challenge
//! with its error codes (§3).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::{
    bearer, builder, failing_password_server, field, json, password_server, post, token, ALICE,
    CONF, FORM,
};
use oauth2_provider::{Grant, Request, RequestValidator, Response, Server, TokenInfo};
const INVALID_TOKEN: &str = r#"Bearer realm="oauth2", error="invalid_token", error_description="the access token is invalid, expired or revoked""#;

/// alice's access token for conf-client, with `scope`.
fn login<V: RequestValidator>(s: &Server<V>, scope: &str) -> String {
    let r = token(s, CONF, &format!("{ALICE}&scope={scope}"));
    assert_eq!(r.status, 200, "{}", r.body_str());
    field(&r, "access_token")
}

fn check<V: RequestValidator>(
    s: &Server<V>,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
    scopes: &[&str],
) -> Result<TokenInfo, Response> {
    s.verify_bearer(&Request::new(method, uri, headers, body.as_bytes()), scopes)
}

fn challenge(response: &Response) -> &str {
    response.header("WWW-Authenticate").expect("a challenge")
}

/// A §3.1 error: status, challenge, and the JSON body with the same code.
fn assert_bearer_error(response: &Response, status: u16, code: &str, fragment: &str) {
    assert_eq!(response.status, status, "body: {}", response.body_str());
    let c = challenge(response);
    assert!(c.starts_with(r#"Bearer realm="oauth2", "#), "{c}");
    assert!(c.contains(&format!(r#"error="{code}""#)), "{c}");
    assert!(c.contains("error_description=\""), "{c}");
    assert!(c.contains(fragment), "{c:?} should contain {fragment:?}");
    let body = json(response);
    assert_eq!(body["error"], code);
}

/// §3: no token at all: 401 and a challenge without an error code.
fn assert_no_token(response: &Response, expected_challenge: &str) {
    assert_eq!(response.status, 401);
    assert_eq!(challenge(response), expected_challenge);
    assert!(!challenge(response).contains("error"));
    assert!(response.body.is_empty());
}

#[test]
fn header_token_is_accepted_with_its_scopes() {
    let s = password_server();
    let token = login(&s, "read%20write");
    for scopes in [&[][..], &["read"], &["write"], &["read", "write"]] {
        let info = bearer(&s, &token, scopes).expect("a valid token");
        assert_eq!(&*info.client_id, "conf-client");
        assert_eq!(info.username.as_deref(), Some("alice"));
        assert_eq!(info.scopes.as_str(), "read write");
    }
    // The scheme name is case-insensitive (RFC 9110 §11.1).
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let auth = format!("{scheme} {token}");
        let r = check(
            &s,
            "GET",
            "/api",
            &[("authorization", &auth)],
            "",
            &["read"],
        );
        assert!(r.is_ok(), "{scheme}");
    }
}

#[test]
fn missing_token_is_401_without_error() {
    // §3.1: "If the request lacks any authentication information … the
    // resource server SHOULD NOT include an error code".
    let s = password_server();
    let r = check(&s, "GET", "/api", &[], "", &[]).unwrap_err();
    assert_no_token(&r, r#"Bearer realm="oauth2""#);
    let r = check(&s, "GET", "/api", &[], "", &["read", "write"]).unwrap_err();
    assert_no_token(&r, r#"Bearer realm="oauth2", scope="read write""#);
}

#[test]
fn other_authentication_schemes_count_as_no_token() {
    let s = password_server();
    let basic = common::basic("conf-client", "conf-secret");
    for value in [basic.as_str(), "Digest abc", "Bearerx abc", "MAC x"] {
        let r = check(
            &s,
            "GET",
            "/api",
            &[("Authorization", value)],
            "",
            &["read"],
        )
        .unwrap_err();
        assert_no_token(&r, r#"Bearer realm="oauth2", scope="read""#);
    }
}

#[test]
fn realm_is_configurable_and_quoted() {
    let s = builder().realm(r#"photos "eu""#).build().unwrap();
    let r = check(&s, "GET", "/api", &[], "", &[]).unwrap_err();
    assert_eq!(challenge(&r), r#"Bearer realm="photos \"eu\"""#);
}

#[test]
fn malformed_header_is_400_invalid_request() {
    let s = password_server();
    let r = check(&s, "GET", "/api", &[("Authorization", "Bearer")], "", &[]).unwrap_err();
    assert_eq!(
        challenge(&r),
        r#"Bearer realm="oauth2", error="invalid_request", error_description="the Bearer authorization has no token""#
    );
    for value in [
        "Bearer ",
        "Bearer a b",
        "Bearer a,b",
        "Bearer to=ken",
        "Bearer tok\"en",
        "Bearer t\u{e9}",
        "Bearer ====",
    ] {
        let r = check(&s, "GET", "/api", &[("Authorization", value)], "", &[]).unwrap_err();
        assert_bearer_error(&r, 400, "invalid_request", "");
    }
}

#[test]
fn repeated_authorization_header_is_400_invalid_request() {
    let s = password_server();
    let token = login(&s, "read");
    let auth = format!("Bearer {token}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Authorization", auth.as_str()),
    ];
    let r = check(&s, "GET", "/api", &headers, "", &[]).unwrap_err();
    assert_bearer_error(
        &r,
        400,
        "invalid_request",
        "Authorization header is repeated",
    );
}

#[test]
fn unknown_token_is_401_invalid_token() {
    let s = password_server();
    for token in ["nope", "abc==", "a-b.c_d~e+f/g"] {
        let r = bearer(&s, token, &[]).unwrap_err();
        assert_eq!(r.status, 401);
        assert_eq!(challenge(&r), INVALID_TOKEN);
    }
    let r = bearer(&s, "nope", &["read"]).unwrap_err();
    assert_eq!(challenge(&r), format!(r#"{INVALID_TOKEN}, scope="read""#));
}

#[test]
fn expired_token_is_401_invalid_token() {
    // The store's lookups see START: the library rejects the expired token itself.
    const START: u64 = 1_700_000_000;
    let now = Arc::new(AtomicU64::new(START));
    let c = Arc::clone(&now);
    let mut lagging = common::Delegating::new(common::realm());
    lagging.store_now = Some(START);
    let s = common::builder_over(lagging)
        .enable(Grant::Password)
        .access_token_lifetime(60)
        .clock(move || c.load(Ordering::SeqCst))
        .build()
        .unwrap();
    let token = login(&s, "read");
    now.store(START + 59, Ordering::SeqCst);
    assert!(bearer(&s, &token, &["read"]).is_ok());
    now.store(START + 60, Ordering::SeqCst);
    let r = bearer(&s, &token, &["read"]).unwrap_err();
    assert_bearer_error(&r, 401, "invalid_token", "expired");
}

#[test]
fn revoked_token_is_401_invalid_token() {
    let s = password_server();
    let token = login(&s, "read");
    assert!(bearer(&s, &token, &[]).is_ok());
    let r = post(
        |r| s.revocation_response(r),
        CONF,
        &format!("token={token}"),
    );
    assert_eq!(r.status, 200);
    let r = bearer(&s, &token, &[]).unwrap_err();
    assert_eq!(r.status, 401);
    assert_eq!(challenge(&r), INVALID_TOKEN);
}

#[test]
fn refresh_token_is_no_access_token() {
    let s = password_server();
    let r = token(&s, CONF, ALICE);
    let body = json(&r);
    let refresh = body["refresh_token"].as_str().unwrap();
    let r = bearer(&s, refresh, &[]).unwrap_err();
    assert_bearer_error(&r, 401, "invalid_token", "");
}

#[test]
fn insufficient_scope_is_403_with_the_scope_needed() {
    let s = password_server();
    let token = login(&s, "read");
    let r = bearer(&s, &token, &["read", "write"]).unwrap_err();
    assert_eq!(r.status, 403);
    assert_eq!(
        challenge(&r),
        r#"Bearer realm="oauth2", error="insufficient_scope", error_description="the access token does not grant the required scope", scope="read write""#
    );
    let body = json(&r);
    assert_eq!(body["error"], "insufficient_scope");
    // Scopes are case-sensitive.
    let r = bearer(&s, &token, &["READ"]).unwrap_err();
    assert_eq!(r.status, 403);
}

#[test]
fn query_token_is_ignored_unless_enabled() {
    let token = login(&password_server(), "read");
    let s = password_server();
    let token_here = login(&s, "read");
    let uri = format!("/api?access_token={token_here}");
    let r = check(&s, "GET", &uri, &[], "", &["read"]).unwrap_err();
    assert_no_token(&r, r#"Bearer realm="oauth2", scope="read""#);

    let s = builder()
        .enable(Grant::Password)
        .bearer_in_query(true)
        .build()
        .unwrap();
    let token_here = login(&s, "read");
    for uri in [
        format!("/api?access_token={token_here}"),
        format!("/api?x=1&access_token={token_here}&y=%zz"),
        format!("/api?%61ccess_token={token_here}"),
    ] {
        let info = check(&s, "GET", &uri, &[], "", &["read"]).expect("query token");
        assert_eq!(info.username.as_deref(), Some("alice"));
    }
    // Another server's token is as unknown in the query as anywhere.
    let r = check(
        &s,
        "GET",
        &format!("/api?access_token={token}"),
        &[],
        "",
        &[],
    )
    .unwrap_err();
    assert_eq!(challenge(&r), INVALID_TOKEN);
}

#[test]
fn body_token_is_ignored_unless_enabled() {
    let s = password_server();
    let token = login(&s, "read");
    let body = format!("access_token={token}");
    let r = check(&s, "POST", "/api", &[FORM], &body, &[]).unwrap_err();
    assert_no_token(&r, r#"Bearer realm="oauth2""#);

    let s = builder()
        .enable(Grant::Password)
        .bearer_in_body(true)
        .build()
        .unwrap();
    let token = login(&s, "read");
    let body = format!("photo=1&access_token={token}");
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        assert!(
            check(&s, method, "/api", &[FORM], &body, &["read"]).is_ok(),
            "{method}"
        );
    }
    // §2.2: only a form-encoded body…
    let json = [("Content-Type", "application/json")];
    let r = check(&s, "POST", "/api", &json, &body, &[]).unwrap_err();
    assert_no_token(&r, r#"Bearer realm="oauth2""#);
    let r = check(&s, "POST", "/api", &[], &body, &[]).unwrap_err();
    assert_no_token(&r, r#"Bearer realm="oauth2""#);
    // …and only in the query when the query method is enabled.
    let r = check(
        &s,
        "GET",
        &format!("/api?access_token={token}"),
        &[],
        "",
        &[],
    )
    .unwrap_err();
    assert_no_token(&r, r#"Bearer realm="oauth2""#);
}

#[test]
fn body_token_on_get_is_rejected() {
    // §2.2: "The HTTP request method is one for which the request-body has
    // defined semantics. In particular, this means that the "GET" method
    // MUST NOT be used."
    let s = builder()
        .enable(Grant::Password)
        .bearer_in_body(true)
        .build()
        .unwrap();
    let token = login(&s, "read");
    let body = format!("access_token={token}");
    let r = check(&s, "GET", "/api", &[FORM], &body, &["read"]).unwrap_err();
    assert_no_token(&r, r#"Bearer realm="oauth2", scope="read""#);
}

#[test]
fn token_by_two_methods_is_400_invalid_request() {
    let s = builder()
        .enable(Grant::Password)
        .bearer_in_body(true)
        .bearer_in_query(true)
        .build()
        .unwrap();
    let token = login(&s, "read");
    let auth = format!("Bearer {token}");
    let with_auth = [FORM, ("Authorization", auth.as_str())];
    let body = format!("access_token={token}");
    let query = format!("/api?access_token={token}");
    for (uri, headers, body) in [
        ("/api", &with_auth[..], body.as_str()),
        (query.as_str(), &with_auth[..], ""),
        (query.as_str(), &[FORM][..], body.as_str()),
        (query.as_str(), &with_auth[..], body.as_str()),
    ] {
        let r = check(&s, "POST", uri, headers, body, &[]).unwrap_err();
        assert_bearer_error(&r, 400, "invalid_request", "more than one method");
    }
    // Even when the two carry different tokens.
    let r = check(&s, "POST", "/api", &with_auth, "access_token=other", &[]).unwrap_err();
    assert_bearer_error(&r, 400, "invalid_request", "more than one method");
}

#[test]
fn header_wins_over_a_disabled_method() {
    // With the query method off, an access_token query parameter is just
    // the resource's own parameter, not a second method.
    let s = password_server();
    let token = login(&s, "read");
    let auth = format!("Bearer {token}");
    let r = check(
        &s,
        "GET",
        "/api?access_token=whatever",
        &[("Authorization", &auth)],
        "",
        &["read"],
    );
    assert!(r.is_ok());
}

#[test]
fn repeated_access_token_parameter_is_400_invalid_request() {
    // §3.1 invalid_request: the request "repeats the same parameter".
    let s = builder()
        .enable(Grant::Password)
        .bearer_in_body(true)
        .bearer_in_query(true)
        .build()
        .unwrap();
    let token = login(&s, "read");
    let twice = format!("access_token={token}&access_token={token}");
    let r = check(&s, "GET", &format!("/api?{twice}"), &[], "", &[]).unwrap_err();
    assert_bearer_error(&r, 400, "invalid_request", "'access_token' is repeated");
    let r = check(&s, "POST", "/api", &[FORM], &twice, &[]).unwrap_err();
    assert_bearer_error(&r, 400, "invalid_request", "'access_token' is repeated");
    // An empty one is treated as omitted (RFC 6749 §3.1).
    let once = format!("/api?access_token=&access_token={token}");
    assert!(check(&s, "GET", &once, &[], "", &[]).is_ok());
}

#[test]
fn undecodable_access_token_parameter_is_400_invalid_request() {
    let s = builder().bearer_in_query(true).build().unwrap();
    let r = check(&s, "GET", "/api?access_token=%zz", &[], "", &[]).unwrap_err();
    assert_bearer_error(&r, 400, "invalid_request", "malformed");
}

#[test]
fn failing_validator_is_500_server_error_never_access() {
    let s = failing_password_server("validate_bearer_token");
    let token = login(&s, "read");
    let r = bearer(&s, &token, &["read"]).unwrap_err();
    assert_eq!(r.status, 500);
    let body = json(&r);
    assert_eq!(body["error"], "server_error");
    assert_eq!(body["error_description"], "the storage is unavailable");
}

#[test]
fn realm_with_a_control_character_is_refused_not_stripped() {
    use oauth2_provider::memory::MemoryValidator;
    use oauth2_provider::ConfigError;
    // The challenge's quoted-string cannot carry them (RFC 9110 §5.6.4):
    // dropping them silently would send a realm nobody configured.
    for realm in [
        "api\r\nX-Injected: 1",
        "api\n",
        "a\tb",
        "nul\0",
        "del\u{7f}",
    ] {
        let built = builder().realm(realm).build();
        assert_eq!(built.err(), Some(ConfigError::InvalidRealm), "{realm:?}");
        let resource_only = Server::builder(MemoryValidator::new())
            .resource_server_only()
            .realm(realm)
            .build();
        assert_eq!(resource_only.err(), Some(ConfigError::InvalidRealm));
    }
    let s = builder().realm("api \"v2\" ü").build().unwrap();
    let r = check(&s, "GET", "/api", &[], "", &[]).unwrap_err();
    assert_eq!(challenge(&r), r#"Bearer realm="api \"v2\" ü""#);
}

/// RFC 6750 §1 and RFC 6749 §1.5: only an access token opens a protected
/// resource. A validator whose one token lookup also finds refresh tokens
/// must not turn a refresh token into a bearer credential.
#[test]
fn a_refresh_token_is_not_a_bearer_token() {
    let server = common::builder_over(common::Delegating {
        bearer_via_introspect: true,
        ..common::Delegating::new(common::realm())
    })
    .enable(Grant::Password)
    .build()
    .unwrap();
    let (access, refresh_token) = common::login(&server, "read");
    assert!(bearer(&server, &access, &["read"]).is_ok());

    let denied = bearer(&server, &refresh_token, &["read"]).unwrap_err();
    assert_eq!(denied.status, 401);
    let challenge = denied.header("www-authenticate").unwrap();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
}
