//! Resource owner password credentials grant (RFC 6749 §4.3): legacy, off
//! unless enabled; client authentication for confidential clients
//! (§4.3.2), the owner's credentials checked, a refresh token issued where
//! the client may refresh (§4.3.3).

mod common;

use common::{builder, failing_password_server, field, json, password_server, token, ALICE, CONF};
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::{Grant, Response, Server};

/// A §5.2 error ([`common::assert_error`]), never cached, and no token.
fn assert_error(response: &Response, status: u16, code: &str, fragment: &str) {
    let body = common::assert_error(response, status, code, fragment);
    assert_eq!(response.header("Pragma"), Some("no-cache"));
    assert!(body.get("access_token").is_none());
}

/// The resource server's verdict on an access token: its user, or the status.
fn bearer(server: &Server<MemoryValidator>, token: &str, scopes: &[&str]) -> Result<String, u16> {
    common::bearer(server, token, scopes)
        .map(|info| info.username.as_deref().unwrap_or_default().to_owned())
        .map_err(|r| r.status)
}

#[test]
fn good_login_issues_access_and_refresh_tokens() {
    let s = password_server();
    let r = token(&s, CONF, ALICE);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert_eq!(r.header("Pragma"), Some("no-cache"));
    let body = json(&r);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read");
    let access = field(&r, "access_token");
    let refresh = field(&r, "refresh_token");
    assert_ne!(access, refresh);
    // The token acts for alice.
    assert_eq!(bearer(&s, &access, &["read"]), Ok("alice".to_owned()));
    assert_eq!(bearer(&s, &access, &["write"]), Err(403));
    // The refresh token works.
    let r = token(
        &s,
        CONF,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
}

#[test]
fn body_client_authentication_works_too() {
    let s = password_server();
    let r = token(
        &s,
        None,
        &format!("{ALICE}&client_id=conf-client&client_secret=conf-secret"),
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    let r = token(
        &s,
        None,
        "grant_type=password&username=bob&password=builder&client_id=conf-client&client_secret=conf-secret&scope=write",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(json(&r)["scope"], "write");
    assert_eq!(
        bearer(&s, &field(&r, "access_token"), &["write"]),
        Ok("bob".to_owned())
    );
}

#[test]
fn requested_scope_is_checked() {
    let s = password_server();
    let r = token(&s, CONF, &format!("{ALICE}&scope=read%20write"));
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(json(&r)["scope"], "read write");
    let r = token(&s, CONF, &format!("{ALICE}&scope=read%20admin"));
    assert_error(&r, 400, "invalid_scope", "not allowed for this client");
    let r = token(&s, CONF, &format!("{ALICE}&scope=r%22ead"));
    assert_error(&r, 400, "invalid_scope", "scope-token syntax");
}

#[test]
fn wrong_password_or_unknown_user_is_invalid_grant() {
    let s = password_server();
    let wrong = token(
        &s,
        CONF,
        "grant_type=password&username=alice&password=builder",
    );
    assert_error(
        &wrong,
        400,
        "invalid_grant",
        "invalid resource owner credentials",
    );
    for body in [
        "grant_type=password&username=mallory&password=wonderland",
        "grant_type=password&username=Alice&password=wonderland",
        "grant_type=password&username=alice&password=Wonderland",
        "grant_type=password&username=alice&password=wonderland%20",
        "grant_type=password&username=alice%00&password=wonderland",
    ] {
        let r = token(&s, CONF, body);
        // Same answer for a wrong password and an unknown user: no enumeration.
        assert_eq!(r.status, wrong.status, "{body}");
        assert_eq!(r.body, wrong.body, "{body}");
    }
    assert_eq!(wrong.header("WWW-Authenticate"), None);
    assert_eq!(s.validator().active_access_tokens(s.now()), 0);
}

#[test]
fn missing_username_or_password_is_invalid_request() {
    let s = password_server();
    for (body, name) in [
        ("grant_type=password&password=wonderland", "username"),
        (
            "grant_type=password&username=&password=wonderland",
            "username",
        ),
        ("grant_type=password&username=alice", "password"),
        ("grant_type=password&username=alice&password=", "password"),
        ("grant_type=password", "username"),
    ] {
        let r = token(&s, CONF, body);
        assert_error(
            &r,
            400,
            "invalid_request",
            &format!("missing required parameter '{name}'"),
        );
    }
}

#[test]
fn repeated_username_or_password_is_invalid_request() {
    let s = password_server();
    let r = token(&s, CONF, &format!("{ALICE}&password=other"));
    assert_error(&r, 400, "invalid_request", "'password' is repeated");
    let r = token(&s, CONF, &format!("{ALICE}&username=bob"));
    assert_error(&r, 400, "invalid_request", "'username' is repeated");
}

#[test]
fn form_encoded_credentials_are_decoded() {
    let s = password_server();
    s.validator().add_user("carol smith", "p&ss=w%rd +é");
    let r = token(
        &s,
        CONF,
        "grant_type=password&username=carol+smith&password=p%26ss%3Dw%25rd%20%2B%C3%A9",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(
        bearer(&s, &field(&r, "access_token"), &[]),
        Ok("carol smith".to_owned())
    );
}

#[test]
fn confidential_client_must_authenticate() {
    // §4.3.2: "require client authentication for confidential clients".
    let s = password_server();
    let r = token(&s, None, ALICE);
    assert_error(&r, 401, "invalid_client", "");
    // Naming the confidential client without its secret is not enough.
    let r = token(&s, None, &format!("{ALICE}&client_id=conf-client"));
    assert_error(&r, 401, "invalid_client", "client authentication failed");
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(r#"Basic realm="oauth2", charset="UTF-8""#)
    );
    let r = token(&s, Some(("conf-client", "wrong")), ALICE);
    assert_error(&r, 401, "invalid_client", "client authentication failed");
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(r#"Basic realm="oauth2", charset="UTF-8""#)
    );
    // An unknown client named in the body.
    let r = token(&s, None, &format!("{ALICE}&client_id=ghost"));
    assert_error(&r, 401, "invalid_client", "");
    assert_eq!(s.validator().active_access_tokens(s.now()), 0);
}

#[test]
fn client_authentication_is_checked_before_the_owner_credentials() {
    // A wrong client secret with a right password must not confirm the
    // password: invalid_client, not a token and not invalid_grant.
    let s = password_server();
    let r = token(
        &s,
        Some(("conf-client", "wrong")),
        "grant_type=password&username=alice&password=nope",
    );
    assert_error(&r, 401, "invalid_client", "");
}

#[test]
fn client_not_allowed_the_grant_is_unauthorized_client() {
    let s = password_server();
    let r = token(&s, Some(("rs-client", "rs-secret")), ALICE);
    assert_error(
        &r,
        400,
        "unauthorized_client",
        "not allowed to use this grant type",
    );
    // public-client is not registered for the password grant either.
    let r = token(&s, None, &format!("{ALICE}&client_id=public-client"));
    assert_error(
        &r,
        400,
        "unauthorized_client",
        "not allowed to use this grant type",
    );
}

#[test]
fn public_client_allowed_the_grant_identifies_by_client_id() {
    // §4.3.2 only requires authentication of confidential clients.
    let s = password_server();
    s.validator().add_client(
        MemoryClient::public("legacy-app", [])
            .grants(["password", "refresh_token"])
            .scopes(["read"]),
    );
    let r = token(
        &s,
        None,
        &format!("{ALICE}&client_id=legacy-app&scope=read"),
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert!(json(&r).get("refresh_token").is_some());
    // But it cannot pretend to authenticate with a secret.
    let r = token(
        &s,
        None,
        &format!("{ALICE}&client_id=legacy-app&client_secret=guess"),
    );
    assert_error(&r, 401, "invalid_client", "client authentication failed");
}

#[test]
fn no_refresh_token_when_the_client_may_not_refresh() {
    let s = password_server();
    s.validator()
        .add_client(MemoryClient::confidential("pw-only", "pw-secret", []).grants(["password"]));
    let r = token(&s, Some(("pw-only", "pw-secret")), ALICE);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert!(json(&r).get("refresh_token").is_none(), "{}", r.body_str());
}

#[test]
fn no_refresh_token_when_the_server_disables_refresh() {
    let s = builder()
        .enable(Grant::Password)
        .disable(Grant::RefreshToken)
        .build()
        .unwrap();
    let r = token(&s, CONF, ALICE);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert!(json(&r).get("refresh_token").is_none(), "{}", r.body_str());
}

#[test]
fn disabled_grant_is_unsupported_grant_type() {
    let s = common::server();
    let r = token(&s, CONF, ALICE);
    assert_error(&r, 400, "unsupported_grant_type", "not supported");
}

#[test]
fn failing_user_check_is_server_error_not_invalid_grant() {
    let s = failing_password_server("validate_user");
    let r = token(&s, CONF, ALICE);
    assert_error(&r, 500, "server_error", "storage is unavailable");
    assert_eq!(s.validator().inner.active_access_tokens(s.now()), 0);
}

#[test]
fn failing_token_storage_is_server_error() {
    let s = failing_password_server("save_bearer_token");
    let r = token(&s, CONF, ALICE);
    assert_error(&r, 500, "server_error", "storage is unavailable");
    assert!(json(&r).get("refresh_token").is_none());
}
