//! Token revocation (RFC 7009): client authentication (§2.1), the
//! ownership check, `token_type_hint`, and the §2.2 rule that an invalid
//! token is still a `200`.

mod common;

use common::{
    failing_password_server, field, introspect, password_server, post, public_login, refresh,
    token, Delegating, ALICE, CONF, FORM, RS,
};
use oauth2_provider::{Grant, Request, RequestValidator, Response, Server, TokenType};
use serde_json::json;

fn revoke<V: RequestValidator>(s: &Server<V>, auth: Option<(&str, &str)>, body: &str) -> Response {
    post(|r| s.revocation_response(r), auth, body)
}

/// alice's access and refresh tokens for conf-client.
fn login<V: RequestValidator>(s: &Server<V>) -> (String, String) {
    let r = token(s, CONF, ALICE);
    assert_eq!(r.status, 200, "{}", r.body_str());
    (field(&r, "access_token"), field(&r, "refresh_token"))
}

/// The resource server's verdict on an access token: 200 or the status.
fn bearer<V: RequestValidator>(s: &Server<V>, token: &str) -> u16 {
    match common::bearer(s, token, &[]) {
        Ok(_) => 200,
        Err(r) => r.status,
    }
}

/// §2.2: success is 200; the body is ignored by clients (ours is empty).
fn assert_revoked_ok(response: &Response) {
    assert_eq!(response.status, 200, "{}", response.body_str());
    assert!(response.body.is_empty());
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
}

/// An error ([`common::assert_error`]) in JSON.
fn assert_error(response: &Response, status: u16, code: &str, fragment: &str) {
    common::assert_error(response, status, code, fragment);
    assert_eq!(
        response.header("Content-Type"),
        Some("application/json;charset=UTF-8")
    );
}

#[test]
fn revoking_an_access_token() {
    let s = password_server();
    let (access, refresh_token) = login(&s);
    assert_eq!(bearer(&s, &access), 200);
    assert_revoked_ok(&revoke(&s, CONF, &format!("token={access}")));
    assert_eq!(bearer(&s, &access), 401);
    assert_eq!(introspect(&s, &access), json!({"active": false}));
    // Only that access token: the refresh token (MAY be revoked too, §2.1)
    // is kept by this server.
    assert_eq!(refresh(&s, &refresh_token, "").status, 200);
}

#[test]
fn revoking_a_refresh_token_revokes_its_grant() {
    // §2.1: revoking a refresh token SHOULD also invalidate the access
    // tokens of the same grant.
    let s = password_server();
    let (access, refresh_token) = login(&s);
    let (other_access, other_refresh) = login(&s);
    assert_revoked_ok(&revoke(&s, CONF, &format!("token={refresh_token}")));
    assert_eq!(refresh(&s, &refresh_token, "").status, 400);
    assert_eq!(bearer(&s, &access), 401);
    assert_eq!(introspect(&s, &refresh_token), json!({"active": false}));
    // Another grant of the same user and client is untouched.
    assert_eq!(bearer(&s, &other_access), 200);
    assert_eq!(refresh(&s, &other_refresh, "").status, 200);
}

#[test]
fn token_type_hint_is_honoured() {
    let s = password_server();
    let (access, refresh_token) = login(&s);
    assert_revoked_ok(&revoke(
        &s,
        CONF,
        &format!("token={access}&token_type_hint=access_token"),
    ));
    assert_eq!(bearer(&s, &access), 401);
    assert_revoked_ok(&revoke(
        &s,
        CONF,
        &format!("token={refresh_token}&token_type_hint=refresh_token"),
    ));
    assert_eq!(refresh(&s, &refresh_token, "").status, 400);
}

#[test]
fn wrong_or_unknown_hints_still_revoke() {
    // §2.1: a server that cannot find the token with the hint "MUST extend
    // its search across all of its supported token types".
    let s = password_server();
    for hint in ["refresh_token", "bogus", "Access_Token"] {
        let (access, _) = login(&s);
        let r = revoke(&s, CONF, &format!("token={access}&token_type_hint={hint}"));
        assert_revoked_ok(&r);
        assert_eq!(bearer(&s, &access), 401, "hint {hint}");
    }
    for hint in ["access_token", "bogus", ""] {
        let (access, refresh_token) = login(&s);
        let r = revoke(
            &s,
            CONF,
            &format!("token={refresh_token}&token_type_hint={hint}"),
        );
        assert_revoked_ok(&r);
        assert_eq!(refresh(&s, &refresh_token, "").status, 400, "hint {hint}");
        assert_eq!(bearer(&s, &access), 401, "hint {hint}");
    }
}

#[test]
fn the_validator_is_told_the_type_found_not_a_wrong_hint() {
    // The library looked the token up; a host that trusts the hint it is
    // given must get the token's real type, not the client's wrong guess.
    let s = common::builder_over(Delegating::new(common::realm()))
        .enable(Grant::Password)
        .build()
        .unwrap();
    let (_, refresh_token) = login(&s);
    let (access, _) = login(&s);
    let r = revoke(
        &s,
        CONF,
        &format!("token={refresh_token}&token_type_hint=access_token"),
    );
    assert_revoked_ok(&r);
    let r = revoke(
        &s,
        CONF,
        &format!("token={access}&token_type_hint=refresh_token"),
    );
    assert_revoked_ok(&r);
    let hints = s.validator().revoke_hints.lock().unwrap().clone();
    assert_eq!(
        hints,
        [Some(TokenType::RefreshToken), Some(TokenType::AccessToken)]
    );
}

#[test]
fn unknown_or_already_revoked_token_is_200() {
    // §2.2: "invalid tokens do not cause an error response".
    let s = password_server();
    for token in ["nope", "a%20b", "%E2%9C%93"] {
        assert_revoked_ok(&revoke(&s, CONF, &format!("token={token}")));
    }
    let (access, _) = login(&s);
    assert_revoked_ok(&revoke(&s, CONF, &format!("token={access}")));
    assert_revoked_ok(&revoke(&s, CONF, &format!("token={access}")));
}

#[test]
fn token_of_another_client_is_refused_and_left_alone() {
    // §2.1: the server "verifies whether the token was issued to the
    // client making the revocation request. If this validation fails, the
    // request is refused and the client is informed of the error".
    let s = password_server();
    let r = token(&s, RS, "grant_type=client_credentials");
    let rs_token = field(&r, "access_token");
    let (access, refresh_token) = login(&s);

    let r = revoke(&s, CONF, &format!("token={rs_token}"));
    assert_error(&r, 400, "unauthorized_client", "not issued to this client");
    assert_eq!(r.header("WWW-Authenticate"), None);
    assert_eq!(bearer(&s, &rs_token), 200);

    let r = revoke(&s, RS, &format!("token={refresh_token}"));
    assert_error(&r, 400, "unauthorized_client", "not issued to this client");
    let r = revoke(
        &s,
        RS,
        &format!("token={access}&token_type_hint=access_token"),
    );
    assert_error(&r, 400, "unauthorized_client", "not issued to this client");
    assert_eq!(bearer(&s, &access), 200);
    assert_eq!(refresh(&s, &refresh_token, "").status, 200);
}

#[test]
fn missing_token_is_invalid_request() {
    let s = password_server();
    for body in ["", "token=", "token_type_hint=access_token"] {
        let r = revoke(&s, CONF, body);
        assert_error(
            &r,
            400,
            "invalid_request",
            "missing required parameter 'token'",
        );
    }
}

#[test]
fn repeated_token_is_invalid_request() {
    let s = password_server();
    let (access, _) = login(&s);
    let r = revoke(&s, CONF, &format!("token={access}&token=other"));
    assert_error(&r, 400, "invalid_request", "'token' is repeated");
    assert_eq!(bearer(&s, &access), 200);
}

#[test]
fn bad_client_authentication_is_401_invalid_client() {
    let s = password_server();
    let (access, _) = login(&s);
    let body = format!("token={access}");

    let r = revoke(&s, Some(("conf-client", "wrong")), &body);
    assert_error(&r, 401, "invalid_client", "client authentication failed");
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(r#"Basic realm="oauth2", charset="UTF-8""#)
    );

    let r = revoke(
        &s,
        None,
        &format!("{body}&client_id=conf-client&client_secret=wrong"),
    );
    assert_error(&r, 401, "invalid_client", "client authentication failed");
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(r#"Basic realm="oauth2", charset="UTF-8""#)
    );

    // A confidential client cannot skip its secret by naming itself.
    let r = revoke(&s, None, &format!("{body}&client_id=conf-client"));
    assert_error(&r, 401, "invalid_client", "");
    // Nobody at all.
    let r = revoke(&s, None, &body);
    assert_error(&r, 401, "invalid_client", "");
    let r = revoke(&s, None, &format!("{body}&client_id=ghost"));
    assert_error(&r, 401, "invalid_client", "");

    assert_eq!(bearer(&s, &access), 200);
}

#[test]
fn unknown_token_with_bad_client_authentication_is_still_401() {
    // Authentication comes first: a 200 here would let anyone probe.
    let s = password_server();
    let r = revoke(&s, Some(("conf-client", "wrong")), "token=nope");
    assert_error(&r, 401, "invalid_client", "");
}

#[test]
fn public_client_revokes_its_own_token_by_client_id() {
    let s = password_server();
    let (access, refresh_token) = public_login(&s, "bob");
    let r = revoke(&s, None, &format!("token={access}&client_id=public-client"));
    assert_revoked_ok(&r);
    assert_eq!(bearer(&s, &access), 401);
    let r = revoke(
        &s,
        None,
        &format!("token={refresh_token}&token_type_hint=refresh_token&client_id=public-client"),
    );
    assert_revoked_ok(&r);
    let r = token(
        &s,
        None,
        &format!("grant_type=refresh_token&refresh_token={refresh_token}&client_id=public-client"),
    );
    assert_error(&r, 400, "invalid_grant", "");
}

#[test]
fn public_client_cannot_revoke_another_clients_token() {
    let s = password_server();
    let (access, _) = login(&s);
    let r = revoke(&s, None, &format!("token={access}&client_id=public-client"));
    assert_error(&r, 400, "unauthorized_client", "not issued to this client");
    assert_eq!(bearer(&s, &access), 200);
    // Nor can another client revoke the public client's tokens.
    let (public_access, _) = public_login(&s, "bob");
    let r = revoke(&s, CONF, &format!("token={public_access}"));
    assert_error(&r, 400, "unauthorized_client", "not issued to this client");
    assert_eq!(bearer(&s, &public_access), 200);
}

#[test]
fn the_request_is_a_form_post() {
    let s = password_server();
    let (access, _) = login(&s);
    let auth = common::basic("conf-client", "conf-secret");
    let body = format!("token={access}");

    let headers = [FORM, ("Authorization", auth.as_str())];
    let r = s.revocation_response(&Request::new("GET", "/revoke", &headers, body.as_bytes()));
    assert_error(&r, 405, "invalid_request", "only accepts POST");
    assert_eq!(r.header("Allow"), Some("POST"));

    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    let r = s.revocation_response(&Request::new("POST", "/revoke", &headers, body.as_bytes()));
    assert_error(&r, 400, "invalid_request", "Content-Type");

    let headers = [FORM];
    let r = s.revocation_response(&Request::new(
        "POST",
        "/revoke?client_id=conf-client&client_secret=conf-secret",
        &headers,
        body.as_bytes(),
    ));
    assert_error(&r, 400, "invalid_request", "query string");

    let r = revoke(
        &s,
        CONF,
        &format!("{body}&client_id=conf-client&client_secret=conf-secret"),
    );
    assert_error(
        &r,
        400,
        "invalid_request",
        "both in the Authorization header and in the body",
    );

    let r = revoke(&s, CONF, "token=%zz");
    assert_error(&r, 400, "invalid_request", "percent-encoding");
    assert_eq!(bearer(&s, &access), 200);
}

#[test]
fn failing_revocation_is_server_error_and_the_token_lives_on() {
    let s = failing_password_server("revoke_token");
    let (access, _) = login(&s);
    let r = revoke(&s, CONF, &format!("token={access}"));
    assert_error(&r, 500, "server_error", "storage is unavailable");
    assert_eq!(bearer(&s, &access), 200);
}

#[test]
fn failing_lookup_is_server_error_not_200() {
    let s = failing_password_server("introspect_token");
    let (access, _) = login(&s);
    let r = revoke(&s, CONF, &format!("token={access}"));
    assert_error(&r, 500, "server_error", "storage is unavailable");
    assert_eq!(bearer(&s, &access), 200);
}
