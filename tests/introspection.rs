//! Token introspection (RFC 7662): an authenticated, authorized caller
//! (§2.1), the claims of an active token (§2.2), exactly `{"active":false}`
//! for anything else, and the §2.3 errors.

mod common;

use std::sync::atomic::Ordering;

use common::{
    assert_no_store_json, clocked, failing_password_server, field, json, login, post, token,
    Delegating, CONF, FORM, RS, START,
};
use oauth2_provider::server::DEFAULT_REFRESH_TOKEN_LIFETIME;
use oauth2_provider::{Request, RequestValidator, Response, Server};
use serde_json::{json, Value};

/// A server whose clock the test moves; the validator's stays at START,
/// so expiry is the library's decision.
fn server() -> Server<Delegating> {
    clocked(None, false).0
}

fn introspect<V: RequestValidator>(
    s: &Server<V>,
    auth: Option<(&str, &str)>,
    body: &str,
) -> Response {
    post(|r| s.introspection_response(r), auth, body)
}

/// A 200 introspection answer, no-store JSON.
fn answer<V: RequestValidator>(s: &Server<V>, token: &str) -> Value {
    let r = introspect(s, RS, &format!("token={token}"));
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_no_store_json(&r);
    json(&r)
}

/// §2.2: an inactive token is exactly `{"active":false}`, nothing more.
fn assert_inactive<V: RequestValidator>(s: &Server<V>, token: &str) {
    let r = introspect(s, RS, &format!("token={token}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body_str(), r#"{"active":false}"#);
}

/// An error ([`common::assert_error`]) that never leaks the token's state.
fn assert_error(response: &Response, status: u16, code: &str, fragment: &str) {
    let body = common::assert_error(response, status, code, fragment);
    assert!(body.get("active").is_none());
}

#[test]
fn active_access_token_has_every_claim() {
    let (s, _) = clocked(None, false);
    let (access, _) = login(&s, "read%20write");
    assert_eq!(
        answer(&s, &access),
        json!({
            "active": true,
            "scope": "read write",
            "client_id": "conf-client",
            "username": "alice",
            "token_type": "Bearer",
            "exp": START + 3600,
            "iat": START,
            "sub": "alice",
            "iss": "https://as.example",
        })
    );
}

#[test]
fn client_credentials_token_has_no_resource_owner() {
    let s = server();
    let r = token(&s, CONF, "grant_type=client_credentials");
    let access = field(&r, "access_token");
    let info = answer(&s, &access);
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], "conf-client");
    assert_eq!(info["scope"], "read");
    assert!(info.get("username").is_none(), "{info}");
    assert!(info.get("sub").is_none(), "{info}");
}

#[test]
fn refresh_token_introspection() {
    let (s, _) = clocked(None, false);
    let (_, refresh_token) = login(&s, "read");
    assert_eq!(
        answer(&s, &refresh_token),
        json!({
            "active": true,
            "scope": "read",
            "client_id": "conf-client",
            "username": "alice",
            "token_type": "refresh_token",
            "iat": START,
            "exp": START + DEFAULT_REFRESH_TOKEN_LIFETIME,
            "sub": "alice",
            "iss": "https://as.example",
        })
    );
    // With a lifetime, its expiry is reported.
    let (s, _) = clocked(Some(86_400), false);
    let (_, refresh_token) = login(&s, "read");
    assert_eq!(answer(&s, &refresh_token)["exp"], START + 86_400);
}

#[test]
fn hints_do_not_hide_tokens() {
    let s = server();
    let (access, refresh_token) = login(&s, "read");
    for hint in ["access_token", "refresh_token", "bogus"] {
        let r = introspect(&s, RS, &format!("token={access}&token_type_hint={hint}"));
        assert_eq!(json(&r)["token_type"], "Bearer", "hint {hint}");
        let r = introspect(
            &s,
            RS,
            &format!("token={refresh_token}&token_type_hint={hint}"),
        );
        assert_eq!(json(&r)["token_type"], "refresh_token", "hint {hint}");
    }
}

#[test]
fn expired_token_is_exactly_inactive() {
    let (s, now) = clocked(Some(7200), false);
    let (access, refresh_token) = login(&s, "read");
    now.store(START + 3599, Ordering::SeqCst);
    assert_eq!(answer(&s, &access)["active"], true);
    // exp is the first second the token is no longer valid.
    now.store(START + 3600, Ordering::SeqCst);
    assert_inactive(&s, &access);
    assert_eq!(answer(&s, &refresh_token)["active"], true);
    now.store(START + 7200, Ordering::SeqCst);
    assert_inactive(&s, &refresh_token);
}

#[test]
fn revoked_token_is_exactly_inactive() {
    let s = server();
    let (access, refresh_token) = login(&s, "read");
    let r = post(
        |r| s.revocation_response(r),
        CONF,
        &format!("token={access}"),
    );
    assert_eq!(r.status, 200);
    assert_inactive(&s, &access);
    let r = post(
        |r| s.revocation_response(r),
        CONF,
        &format!("token={refresh_token}"),
    );
    assert_eq!(r.status, 200);
    assert_inactive(&s, &refresh_token);
}

#[test]
fn rotated_refresh_token_is_exactly_inactive() {
    let s = server();
    let (_, refresh_token) = login(&s, "read");
    let r = token(
        &s,
        CONF,
        &format!("grant_type=refresh_token&refresh_token={refresh_token}"),
    );
    assert_eq!(r.status, 200);
    assert_inactive(&s, &refresh_token);
    assert_eq!(answer(&s, &field(&r, "refresh_token"))["active"], true);
}

#[test]
fn unknown_token_is_exactly_inactive() {
    let s = server();
    for token in ["nope", "%E2%9C%93", "a+b", "x".repeat(5000).as_str()] {
        assert_inactive(&s, token);
    }
}

#[test]
fn caller_must_authenticate() {
    // §2.1: "the endpoint MUST also require some form of authorization".
    let s = server();
    let (access, _) = login(&s, "read");
    let body = format!("token={access}");

    let r = introspect(&s, None, &body);
    assert_error(&r, 401, "invalid_client", "");
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(r#"Basic realm="oauth2", charset="UTF-8""#)
    );

    let r = introspect(&s, Some(("rs-client", "wrong")), &body);
    assert_error(&r, 401, "invalid_client", "client authentication failed");
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(r#"Basic realm="oauth2", charset="UTF-8""#)
    );

    let r = introspect(
        &s,
        None,
        &format!("{body}&client_id=rs-client&client_secret=wrong"),
    );
    assert_error(&r, 401, "invalid_client", "client authentication failed");
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(r#"Basic realm="oauth2", charset="UTF-8""#)
    );

    // Naming a client is not authenticating as it.
    let r = introspect(&s, None, &format!("{body}&client_id=rs-client"));
    assert_error(&r, 401, "invalid_client", "");
    let r = introspect(&s, None, &format!("{body}&client_id=public-client"));
    assert_error(&r, 401, "invalid_client", "");
}

#[test]
fn authentication_comes_before_anything_else() {
    let s = server();
    let r = introspect(&s, None, "");
    assert_error(&r, 401, "invalid_client", "");
    let r = introspect(&s, Some(("rs-client", "wrong")), "token=nope");
    assert_error(&r, 401, "invalid_client", "");
}

#[test]
fn client_not_allowed_to_introspect_gets_an_error() {
    let s = server();
    let (access, _) = login(&s, "read");
    let r = introspect(&s, CONF, &format!("token={access}"));
    assert_error(&r, 400, "unauthorized_client", "not allowed to introspect");
    assert_eq!(r.header("WWW-Authenticate"), None);
    // Not even an unknown token gets an answer.
    let r = introspect(&s, CONF, "token=nope");
    assert_error(&r, 400, "unauthorized_client", "not allowed to introspect");
}

#[test]
fn body_authentication_works_for_the_resource_server() {
    let s = server();
    let (access, _) = login(&s, "read");
    let r = introspect(
        &s,
        None,
        &format!("token={access}&client_id=rs-client&client_secret=rs-secret"),
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(json(&r)["active"], true);
}

#[test]
fn missing_or_repeated_token_is_invalid_request() {
    let s = server();
    for body in ["", "token=", "token_type_hint=access_token"] {
        let r = introspect(&s, RS, body);
        assert_error(
            &r,
            400,
            "invalid_request",
            "missing required parameter 'token'",
        );
    }
    let r = introspect(&s, RS, "token=a&token=b");
    assert_error(&r, 400, "invalid_request", "'token' is repeated");
}

#[test]
fn the_request_is_a_form_post() {
    let s = server();
    let (access, _) = login(&s, "read");
    let auth = common::basic("rs-client", "rs-secret");
    let body = format!("token={access}");

    let headers = [FORM, ("Authorization", auth.as_str())];
    let uri = format!("/introspect?token={access}");
    let r = s.introspection_response(&Request::new("GET", &uri, &headers, b""));
    assert_error(&r, 405, "invalid_request", "only accepts POST");
    assert_eq!(r.header("Allow"), Some("POST"));

    let headers = [
        ("Content-Type", "text/plain"),
        ("Authorization", auth.as_str()),
    ];
    let r = s.introspection_response(&Request::new(
        "POST",
        "/introspect",
        &headers,
        body.as_bytes(),
    ));
    assert_error(&r, 400, "invalid_request", "Content-Type");

    let r = s.introspection_response(&Request::new(
        "POST",
        "/introspect?client_id=rs-client&client_secret=rs-secret",
        &[FORM],
        body.as_bytes(),
    ));
    assert_error(&r, 400, "invalid_request", "query string");
}

#[test]
fn failing_lookup_is_server_error_not_inactive() {
    let s = failing_password_server("introspect_token");
    let (access, _) = login(&s, "read");
    let r = introspect(&s, RS, &format!("token={access}"));
    assert_error(&r, 500, "server_error", "storage is unavailable");
}

#[test]
fn failing_client_lookup_is_server_error_not_invalid_client() {
    let s = common::builder_over(Delegating::new(common::realm()).failing("find_client"))
        .build()
        .unwrap();
    let r = introspect(&s, RS, "token=nope");
    assert_error(&r, 500, "server_error", "storage is unavailable");
    assert_eq!(r.header("WWW-Authenticate"), None);
}
