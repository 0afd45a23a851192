//! Client credentials grant (RFC 6749 §4.4): confidential clients only,
//! authenticated by HTTP Basic or the body (§2.3.1), scope per §3.3, and no
//! refresh token (§4.4.3).

mod common;

use common::{assert_error, bearer, json, server, token, Delegating, CONF};
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::secret::sha256;
use oauth2_provider::{Grant, Response, Server};

/// The access token of a successful response, checked against the
/// resource server for `scopes`.
fn assert_token_grants(server: &Server<MemoryValidator>, response: &Response, scopes: &[&str]) {
    let access = json(response)["access_token"].as_str().unwrap().to_owned();
    let info = bearer(server, &access, scopes).expect("the token works");
    // No resource owner behind a client credentials token.
    assert_eq!((info.username, info.sub), (None, None));
}

#[test]
fn basic_authentication_issues_a_token_with_the_default_scope() {
    let s = server();
    let r = token(&s, CONF, "grant_type=client_credentials");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert_eq!(r.header("Pragma"), Some("no-cache"));
    let body = json(&r);
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["access_token", "expires_in", "scope", "token_type"]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read");
    assert_token_grants(&s, &r, &["read"]);
}

#[test]
fn body_authentication_client_secret_post_works() {
    let s = server();
    let r = token(
        &s,
        None,
        "grant_type=client_credentials&client_id=conf-client&client_secret=conf-secret",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(json(&r)["scope"], "read");
    assert_token_grants(&s, &r, &["read"]);
}

#[test]
fn no_refresh_token_is_issued() {
    // §4.4.3: "A refresh token SHOULD NOT be included" — even for a client
    // allowed the refresh_token grant (conf-client is).
    let s = server();
    for auth_in_body in [false, true] {
        let r = if auth_in_body {
            token(
                &s,
                None,
                "grant_type=client_credentials&client_id=conf-client&client_secret=conf-secret",
            )
        } else {
            token(&s, CONF, "grant_type=client_credentials&scope=read%20write")
        };
        assert_eq!(r.status, 200);
        assert!(json(&r).get("refresh_token").is_none(), "{}", r.body_str());
    }
}

#[test]
fn requested_scope_is_granted() {
    let s = server();
    for (asked, granted) in [
        ("read%20write", "read write"),
        ("write", "write"),
        ("write+read+write", "write read"),
        ("%20read%20%20", "read"),
    ] {
        let r = token(
            &s,
            CONF,
            &format!("grant_type=client_credentials&scope={asked}"),
        );
        assert_eq!(r.status, 200, "{asked}: {}", r.body_str());
        assert_eq!(json(&r)["scope"], granted, "{asked}");
    }
    let r = token(&s, CONF, "grant_type=client_credentials&scope=read%20write");
    assert_token_grants(&s, &r, &["read", "write"]);
}

#[test]
fn empty_scope_parameter_means_the_default_scope() {
    let s = server();
    let r = token(&s, CONF, "grant_type=client_credentials&scope=");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(json(&r)["scope"], "read");
}

#[test]
fn client_without_scopes_gets_a_token_without_scope() {
    // rs-client has no default scope: the response has no "scope" member.
    let s = server();
    let r = token(
        &s,
        Some(("rs-client", "rs-secret")),
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert!(json(&r).get("scope").is_none(), "{}", r.body_str());
}

#[test]
fn scope_beyond_the_allowed_is_invalid_scope() {
    let s = server();
    for asked in ["admin", "read%20admin", "read%20write%20delete", "READ"] {
        let r = token(
            &s,
            CONF,
            &format!("grant_type=client_credentials&scope={asked}"),
        );
        assert_error(&r, 400, "invalid_scope", "not allowed for this client");
        assert_eq!(r.header("WWW-Authenticate"), None);
    }
    assert_eq!(s.validator().active_access_tokens(s.now()), 0);
}

#[test]
fn malformed_scope_is_invalid_scope() {
    // §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
    let s = server();
    for asked in [
        "read%22", // '"'
        "re%5Cad", // '\'
        "r%C3%A9ad",
        "read%09write", // tab
        "read%00",
        "read%7F",
    ] {
        let r = token(
            &s,
            CONF,
            &format!("grant_type=client_credentials&scope={asked}"),
        );
        assert_error(&r, 400, "invalid_scope", "scope-token syntax");
    }
}

#[test]
fn public_client_cannot_authenticate_so_it_is_invalid_client() {
    // §4.4: the grant "MUST only be used by confidential clients". A public
    // client has no secret, so client authentication — which this grant
    // always requires (§4.4.2) — fails first: invalid_client, 401. Whatever
    // it presents, the answer is the same detail-free invalid_client.
    let s = server();
    let r = token(
        &s,
        None,
        "grant_type=client_credentials&client_id=public-client",
    );
    assert_error(&r, 401, "invalid_client", "client authentication failed");
    let r = token(
        &s,
        Some(("public-client", "")),
        "grant_type=client_credentials",
    );
    assert_error(&r, 401, "invalid_client", "client authentication failed");
    assert!(r.header("WWW-Authenticate").is_some());
    let r = token(
        &s,
        None,
        "grant_type=client_credentials&client_id=public-client&client_secret=anything",
    );
    assert_error(&r, 401, "invalid_client", "client authentication failed");
}

#[test]
fn public_client_let_through_by_the_host_is_still_unauthorized_client() {
    // A host whose authenticate_client accepts a client_id alone: the
    // library itself still refuses the grant to a non-confidential client,
    // as unauthorized_client (it was "authenticated", but may not use it).
    let mut v = Delegating::new(common::realm());
    v.trust_client_id = true;
    let s = common::builder_over(v).build().unwrap();
    let r = token(
        &s,
        None,
        "grant_type=client_credentials&client_id=public-client",
    );
    assert_error(&r, 400, "unauthorized_client", "confidential clients only");
    assert_eq!(s.validator().inner.active_access_tokens(s.now()), 0);
}

#[test]
fn client_not_allowed_the_grant_is_unauthorized_client() {
    let s = server();
    s.validator().add_client(
        MemoryClient::confidential("code-only", "code-secret", ["https://c.example/cb"])
            .grants(["authorization_code"]),
    );
    let r = token(
        &s,
        Some(("code-only", "code-secret")),
        "grant_type=client_credentials",
    );
    assert_error(
        &r,
        400,
        "unauthorized_client",
        "not allowed to use this grant type",
    );
    assert_eq!(r.header("WWW-Authenticate"), None);
    // The same client with a wrong secret is invalid_client: authentication comes first.
    let r = token(
        &s,
        Some(("code-only", "nope")),
        "grant_type=client_credentials",
    );
    assert_error(&r, 401, "invalid_client", "");
}

#[test]
fn hashed_secret_client_authenticates_with_the_secret_not_the_digest() {
    let s = server();
    let digest = sha256(b"hashed-secret");
    s.validator().add_client(
        MemoryClient::confidential_hashed("hashed", digest, [])
            .grants(["client_credentials"])
            .scopes(["read"]),
    );
    let r = token(
        &s,
        Some(("hashed", "hashed-secret")),
        "grant_type=client_credentials&scope=read",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_token_grants(&s, &r, &["read"]);
    let r = token(
        &s,
        None,
        "grant_type=client_credentials&client_id=hashed&client_secret=hashed-secret",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());

    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    for wrong in [hex.as_str(), "hashed-secreT", "hashed-secret ", ""] {
        let r = token(&s, Some(("hashed", wrong)), "grant_type=client_credentials");
        assert_error(&r, 401, "invalid_client", "client authentication failed");
    }
}

#[test]
fn basic_credentials_are_form_decoded() {
    // §2.3.1: id and secret are form-urlencoded before Basic encoding.
    let s = server();
    s.validator().add_client(
        MemoryClient::confidential("svc:1 é", "p@ss w:rd+%", []).grants(["client_credentials"]),
    );
    let r = token(
        &s,
        Some(("svc:1 é", "p@ss w:rd+%")),
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    let r = token(
        &s,
        None,
        "grant_type=client_credentials&client_id=svc%3A1+%C3%A9&client_secret=p%40ss+w%3Ard%2B%25",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
}

#[test]
fn each_request_gets_a_fresh_token() {
    let s = server();
    let a = json(&token(&s, CONF, "grant_type=client_credentials"))["access_token"].clone();
    let b = json(&token(&s, CONF, "grant_type=client_credentials"))["access_token"].clone();
    assert_ne!(a, b);
    assert_eq!(s.validator().active_access_tokens(s.now()), 2);
}

#[test]
fn failing_scope_validation_is_server_error() {
    let s = common::builder_over(Delegating::new(common::realm()).failing("validate_scopes"))
        .build()
        .unwrap();
    let r = token(&s, CONF, "grant_type=client_credentials&scope=read");
    assert_error(&r, 500, "server_error", "storage is unavailable");
    assert!(json(&r).get("access_token").is_none());
    assert_eq!(s.validator().inner.active_access_tokens(s.now()), 0);
}

#[test]
fn failing_default_scopes_is_server_error() {
    let s = common::builder_over(Delegating::new(common::realm()).failing("get_default_scopes"))
        .build()
        .unwrap();
    let r = token(&s, CONF, "grant_type=client_credentials");
    assert_error(&r, 500, "server_error", "storage is unavailable");
    assert_eq!(s.validator().inner.active_access_tokens(s.now()), 0);
}

// Least privilege: what nobody configured, nobody gets.

/// A server with every token-endpoint grant on, over the realm plus
/// `client` (registered as `lean` / `lean-secret`).
fn with_lean(client: MemoryClient) -> Server<MemoryValidator> {
    common::builder_over(common::realm_plus([client]))
        .enable(Grant::Password)
        .build()
        .unwrap()
}

#[test]
fn a_client_given_no_grant_types_may_use_none() {
    let s = with_lean(MemoryClient::confidential("lean", "lean-secret", []).scopes(["read"]));
    for body in [
        "grant_type=client_credentials",
        "grant_type=client_credentials&scope=read",
        "grant_type=password&username=alice&password=wonderland",
        "grant_type=refresh_token&refresh_token=anything",
        "grant_type=authorization_code&code=anything&redirect_uri=https%3A%2F%2Fx%2Fcb",
    ] {
        let r = token(&s, Some(("lean", "lean-secret")), body);
        assert_error(&r, 400, "unauthorized_client", "grant type");
    }
}

#[test]
fn a_client_given_no_scopes_has_none() {
    let s = with_lean(
        MemoryClient::confidential("lean", "lean-secret", []).grants(["client_credentials"]),
    );
    // RFC 6749 §3.3: a scope the client may not have is invalid_scope.
    for scope in ["read", "write", "read%20write", "anything"] {
        let r = token(
            &s,
            Some(("lean", "lean-secret")),
            &format!("grant_type=client_credentials&scope={scope}"),
        );
        assert_error(&r, 400, "invalid_scope", "not allowed");
    }
    // Naming none gives a token without scope, which opens only what
    // asks for no scope.
    let r = token(
        &s,
        Some(("lean", "lean-secret")),
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    let body = json(&r);
    assert_eq!(body.get("scope"), None);
    let access = body["access_token"].as_str().unwrap();
    assert!(bearer(&s, access, &[]).is_ok());
    assert!(bearer(&s, access, &["read"]).is_err());
}

#[test]
fn default_scopes_are_given_when_none_is_named() {
    let s = with_lean(
        MemoryClient::confidential("lean", "lean-secret", [])
            .grants(["client_credentials"])
            .scopes(["read", "write"])
            .default_scopes(["write"]),
    );
    let r = token(
        &s,
        Some(("lean", "lean-secret")),
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(json(&r)["scope"], "write");
}
