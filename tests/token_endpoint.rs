//! The token endpoint's generic checks (RFC 6749 §2.3, §3.2, §5), before
//! and around any grant: method, content type, parameter syntax, client
//! authentication, and the shape of every response.

mod common;

use common::{assert_no_store_json, basic, builder, json, server, token, Delegating, CONF, FORM};
use oauth2_provider::memory::MemoryValidator;
use oauth2_provider::{Grant, Request, Response, Server};

const CC: &str = "grant_type=client_credentials";
/// RFC 7617 §2: the realm, and the charset the credentials are read in.
const BASIC_CHALLENGE: &str = r#"Basic realm="oauth2", charset="UTF-8""#;

fn send(
    server: &Server<MemoryValidator>,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    server.token_response(&Request::new(method, uri, headers, body.as_bytes()))
}

/// A §5.2 error ([`common::assert_error`]), JSON never cached, with
/// nothing but `error` and `error_description` in the body.
fn assert_error(response: &Response, status: u16, code: &str, fragment: &str) {
    let body = common::assert_error(response, status, code, fragment);
    assert_no_store_json(response);
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "body: {body}");
}

#[test]
fn client_credentials_happy_path_for_reference() {
    let s = server();
    let r = token(&s, CONF, CC);
    assert_eq!(r.status, 200);
    assert_no_store_json(&r);
    let body = json(&r);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["access_token"].as_str().is_some_and(|t| t.len() >= 43));
}

// --- RFC 6749 §3.2: "The client MUST use the HTTP POST method" ---

#[test]
fn get_is_405_with_allow_post() {
    let s = server();
    let auth = basic("conf-client", "conf-secret");
    let headers = [("Authorization", auth.as_str())];
    let r = send(
        &s,
        "GET",
        "/token?grant_type=client_credentials",
        &headers,
        "",
    );
    assert_error(&r, 405, "invalid_request", "only accepts POST");
    assert_eq!(r.header("Allow"), Some("POST"));
}

#[test]
fn every_other_method_is_405_too() {
    let s = server();
    let auth = basic("conf-client", "conf-secret");
    let headers = [FORM, ("Authorization", auth.as_str())];
    // Methods are case-sensitive (RFC 9110 §9.1): "post" is not POST.
    for method in ["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "post", ""] {
        let r = send(&s, method, "/token", &headers, CC);
        assert_error(&r, 405, "invalid_request", "only accepts POST");
        assert_eq!(r.header("Allow"), Some("POST"), "method {method:?}");
    }
}

// --- Appendix B / §4.x.3: application/x-www-form-urlencoded ---

#[test]
fn missing_content_type_is_invalid_request() {
    let s = server();
    let auth = basic("conf-client", "conf-secret");
    let r = send(&s, "POST", "/token", &[("Authorization", &auth)], CC);
    assert_error(&r, 400, "invalid_request", "Content-Type");
}

#[test]
fn wrong_content_type_is_invalid_request() {
    let s = server();
    let auth = basic("conf-client", "conf-secret");
    for (ct, body) in [
        ("application/json", r#"{"grant_type":"client_credentials"}"#),
        ("text/plain", CC),
        ("multipart/form-data; boundary=x", CC),
        ("application/x-www-form-urlencodedx", CC),
        ("", CC),
    ] {
        let headers = [("Content-Type", ct), ("Authorization", auth.as_str())];
        let r = send(&s, "POST", "/token", &headers, body);
        assert_error(&r, 400, "invalid_request", "Content-Type");
    }
}

#[test]
fn form_content_type_with_parameters_or_other_case_is_accepted() {
    let s = server();
    let auth = basic("conf-client", "conf-secret");
    for ct in [
        "application/x-www-form-urlencoded; charset=UTF-8",
        "Application/X-WWW-Form-URLEncoded",
        "application/x-www-form-urlencoded;charset=utf-8",
    ] {
        let headers = [("Content-Type", ct), ("Authorization", auth.as_str())];
        let r = send(&s, "POST", "/token", &headers, CC);
        assert_eq!(r.status, 200, "Content-Type {ct:?}: {}", r.body_str());
    }
}

// --- §3.2: "Request and response parameters MUST NOT be included more than once" ---

#[test]
fn duplicate_parameter_is_invalid_request_naming_it() {
    let s = server();
    for (body, name) in [
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            "grant_type",
        ),
        (
            "grant_type=client_credentials&scope=read&scope=write",
            "scope",
        ),
        (
            "grant_type=password&username=alice&username=bob&password=wonderland",
            "username",
        ),
        (
            "grant_type=client_credentials&client_id=a&client_id=b",
            "client_id",
        ),
    ] {
        let r = token(&s, CONF, body);
        assert_error(&r, 400, "invalid_request", &format!("'{name}' is repeated"));
    }
}

#[test]
fn duplicate_parameter_is_found_even_when_percent_encoded() {
    let s = server();
    let r = token(
        &s,
        CONF,
        "grant_type=client_credentials&%73cope=read&scope=read",
    );
    assert_error(&r, 400, "invalid_request", "'scope' is repeated");
}

#[test]
fn parameter_without_value_is_treated_as_omitted() {
    // §3.2: "Parameters sent without a value MUST be treated as if they
    // were omitted from the request."
    let s = server();
    let r = token(&s, CONF, "grant_type=");
    assert_error(
        &r,
        400,
        "invalid_request",
        "missing required parameter 'grant_type'",
    );
    // An empty duplicate is no duplicate.
    let r = token(&s, CONF, "grant_type=&grant_type=client_credentials&scope=");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(json(&r)["scope"], "read");
}

#[test]
fn unknown_parameters_are_ignored() {
    // §3.2: "The authorization server MUST ignore unrecognized request parameters."
    let s = server();
    let r = token(&s, CONF, "grant_type=client_credentials&foo=1&foo=2&x");
    assert_eq!(r.status, 200, "{}", r.body_str());
}

#[test]
fn malformed_form_is_invalid_request() {
    let s = server();
    for (body, fragment) in [
        (
            "grant_type=client_credentials&scope=%zz",
            "percent-encoding",
        ),
        ("grant_type=client_credentials&scope=%4", "percent-encoding"),
        ("grant_type=client_credentials&scope=%FF", "UTF-8"),
        ("grant_type=client_credentials&=read", "empty name"),
    ] {
        let r = token(&s, CONF, body);
        assert_error(&r, 400, "invalid_request", fragment);
    }
    // Raw non-UTF-8 bytes in the body.
    let auth = basic("conf-client", "conf-secret");
    let headers = [FORM, ("Authorization", auth.as_str())];
    let raw = b"grant_type=client_credentials&scope=\xff\xfe";
    let r = s.token_response(&Request::new("POST", "/token", &headers, raw));
    assert_error(&r, 400, "invalid_request", "UTF-8");
}

// --- §2.3.1: credentials "MUST NOT be included in the request URI" ---

#[test]
fn client_credentials_in_query_string_are_invalid_request() {
    let s = server();
    for uri in [
        "/token?client_secret=conf-secret",
        "/token?client_id=conf-client&client_secret=conf-secret",
        "/token?client_id=conf-client",
        "/token?x=1&client_secret=",
    ] {
        // Even alongside valid Basic credentials, the request is refused.
        let auth = basic("conf-client", "conf-secret");
        let headers = [FORM, ("Authorization", auth.as_str())];
        let r = send(&s, "POST", uri, &headers, CC);
        assert_error(&r, 400, "invalid_request", "query string");
        // And with credentials only in the query.
        let r = send(&s, "POST", uri, &[FORM], CC);
        assert_error(&r, 400, "invalid_request", "query string");
    }
}

#[test]
fn unrelated_query_parameters_are_harmless() {
    let s = server();
    let auth = basic("conf-client", "conf-secret");
    let headers = [FORM, ("Authorization", auth.as_str())];
    let r = send(&s, "POST", "/token?tenant=a", &headers, CC);
    assert_eq!(r.status, 200, "{}", r.body_str());
}

// --- §4.x.3: grant_type REQUIRED; §5.2 unsupported_grant_type ---

#[test]
fn missing_grant_type_is_invalid_request() {
    let s = server();
    let r = token(&s, CONF, "scope=read");
    assert_error(
        &r,
        400,
        "invalid_request",
        "missing required parameter 'grant_type'",
    );
    let r = token(&s, CONF, "");
    assert_error(&r, 400, "invalid_request", "'grant_type'");
}

#[test]
fn unknown_grant_type_is_unsupported_grant_type() {
    let s = server();
    for grant in [
        "magic",
        "implicit",
        "Client_Credentials",
        "client_credentials%20",
        "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
        "token",
        "code",
    ] {
        let r = token(&s, CONF, &format!("grant_type={grant}"));
        assert_error(&r, 400, "unsupported_grant_type", "not supported");
    }
}

#[test]
fn password_grant_while_disabled_is_unsupported_grant_type() {
    let s = server();
    assert!(!s.is_enabled(Grant::Password));
    let r = token(
        &s,
        CONF,
        "grant_type=password&username=alice&password=wonderland",
    );
    assert_error(&r, 400, "unsupported_grant_type", "not supported");
    // The same request succeeds once the host enables the grant.
    let s = builder().enable(Grant::Password).build().unwrap();
    let r = token(
        &s,
        CONF,
        "grant_type=password&username=alice&password=wonderland",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
}

#[test]
fn disabled_default_grant_is_unsupported_grant_type() {
    let s = builder().disable(Grant::ClientCredentials).build().unwrap();
    let r = token(&s, CONF, CC);
    assert_error(&r, 400, "unsupported_grant_type", "not supported");
}

// --- §2.3: "The client MUST NOT use more than one authentication method" ---

#[test]
fn basic_plus_body_secret_is_invalid_request() {
    let s = server();
    let r = token(
        &s,
        CONF,
        "grant_type=client_credentials&client_id=conf-client&client_secret=conf-secret",
    );
    assert_error(
        &r,
        400,
        "invalid_request",
        "both in the Authorization header and in the body",
    );
    // Even a body secret alone, without client_id, next to Basic.
    let r = token(
        &s,
        CONF,
        "grant_type=client_credentials&client_secret=conf-secret",
    );
    assert_eq!(r.status, 400);
    assert_eq!(json(&r)["error"], "invalid_request");
    assert_eq!(r.header("WWW-Authenticate"), None);
}

#[test]
fn basic_plus_matching_body_client_id_is_accepted() {
    let s = server();
    let r = token(
        &s,
        CONF,
        "grant_type=client_credentials&client_id=conf-client",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
}

#[test]
fn basic_plus_different_body_client_id_is_invalid_request() {
    let s = server();
    let r = token(
        &s,
        CONF,
        "grant_type=client_credentials&client_id=rs-client",
    );
    assert_error(&r, 400, "invalid_request", "client_id in the body differs");
}

#[test]
fn body_secret_without_client_id_is_invalid_request() {
    let s = server();
    let r = token(
        &s,
        None,
        "grant_type=client_credentials&client_secret=conf-secret",
    );
    assert_error(&r, 400, "invalid_request", "'client_id'");
}

#[test]
fn repeated_authorization_header_is_invalid_request() {
    let s = server();
    let good = basic("conf-client", "conf-secret");
    let other = basic("rs-client", "rs-secret");
    for (first, second) in [(&good, &good), (&good, &other)] {
        let headers = [
            FORM,
            ("Authorization", first.as_str()),
            ("authorization", second.as_str()),
        ];
        let r = send(&s, "POST", "/token", &headers, CC);
        assert_error(
            &r,
            400,
            "invalid_request",
            "Authorization header is repeated",
        );
        assert_eq!(r.header("WWW-Authenticate"), None);
    }
    // Also for the grants that decide between public and confidential clients.
    let s = builder().enable(Grant::Password).build().unwrap();
    let headers = [
        FORM,
        ("Authorization", good.as_str()),
        ("Authorization", good.as_str()),
    ];
    let r = send(
        &s,
        "POST",
        "/token",
        &headers,
        "grant_type=password&username=alice&password=wonderland",
    );
    assert_error(
        &r,
        400,
        "invalid_request",
        "Authorization header is repeated",
    );
}

// --- §5.2 invalid_client: 401, and WWW-Authenticate when Basic was tried ---

#[test]
fn wrong_basic_secret_is_401_with_basic_challenge() {
    let s = server();
    let r = token(&s, Some(("conf-client", "wrong")), CC);
    assert_error(&r, 401, "invalid_client", "client authentication failed");
    assert_eq!(r.header("WWW-Authenticate"), Some(BASIC_CHALLENGE));
}

#[test]
fn basic_challenge_carries_the_configured_realm() {
    let s = builder().realm("as.example \"main\"").build().unwrap();
    let r = token(&s, Some(("conf-client", "wrong")), CC);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(r#"Basic realm="as.example \"main\"", charset="UTF-8""#)
    );
}

#[test]
fn unknown_client_and_wrong_secret_are_indistinguishable() {
    let s = server();
    let wrong_secret = token(&s, Some(("conf-client", "nope")), CC);
    let unknown = token(&s, Some(("nobody", "nope")), CC);
    let public = token(&s, Some(("public-client", "nope")), CC);
    let empty = token(&s, Some(("conf-client", "")), CC);
    for r in [&unknown, &public, &empty] {
        assert_eq!(r.status, wrong_secret.status);
        assert_eq!(r.body, wrong_secret.body);
        assert_eq!(r.headers, wrong_secret.headers);
    }
    assert_error(
        &unknown,
        401,
        "invalid_client",
        "client authentication failed",
    );
}

#[test]
fn malformed_basic_header_is_invalid_client_with_challenge() {
    let s = server();
    for value in [
        "Basic !!!!",
        "Basic bm9jb2xvbg==", // "nocolon"
        "Basic",
        "Basic a b",
        "basic OmVtcHR5LWlk", // ":empty-id"
    ] {
        let headers = [FORM, ("Authorization", value)];
        let r = send(&s, "POST", "/token", &headers, CC);
        assert_eq!(r.status, 401, "{value:?}: {}", r.body_str());
        assert_eq!(json(&r)["error"], "invalid_client", "{value:?}");
        assert_eq!(
            r.header("WWW-Authenticate"),
            Some(BASIC_CHALLENGE),
            "{value:?}"
        );
        assert_no_store_json(&r);
    }
}

#[test]
fn basic_scheme_name_is_case_insensitive() {
    let s = server();
    let auth = basic("conf-client", "conf-secret").replacen("Basic", "bAsIc", 1);
    let headers = [FORM, ("Authorization", auth.as_str())];
    let r = send(&s, "POST", "/token", &headers, CC);
    assert_eq!(r.status, 200, "{}", r.body_str());
}

#[test]
fn failed_body_authentication_is_401_with_a_basic_challenge() {
    let s = server();
    let r = token(
        &s,
        None,
        "grant_type=client_credentials&client_id=conf-client&client_secret=wrong",
    );
    assert_error(&r, 401, "invalid_client", "client authentication failed");
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(r#"Basic realm="oauth2", charset="UTF-8""#)
    );
}

#[test]
fn no_credentials_at_all_is_invalid_client_with_a_basic_challenge() {
    let s = server();
    let r = token(&s, None, CC);
    assert_error(&r, 401, "invalid_client", "");
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(r#"Basic realm="oauth2", charset="UTF-8""#)
    );
}

#[test]
fn other_authorization_scheme_is_not_a_basic_attempt() {
    // A Bearer header is no client authentication: it is ignored, and the
    // missing credentials are invalid_client, whose 401 names the scheme
    // the endpoint does accept (RFC 6749 §5.2, RFC 9110 §15.5.2).
    let s = server();
    let headers = [FORM, ("Authorization", "Bearer abc")];
    let r = send(&s, "POST", "/token", &headers, CC);
    assert_error(&r, 401, "invalid_client", "");
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(r#"Basic realm="oauth2", charset="UTF-8""#)
    );
    // Body credentials still work next to it.
    let body = "grant_type=client_credentials&client_id=conf-client&client_secret=conf-secret";
    let r = send(&s, "POST", "/token", &headers, body);
    assert_eq!(r.status, 200, "{}", r.body_str());
}

#[test]
fn challenge_only_accompanies_invalid_client() {
    // A Basic attempt that authenticates but fails later gets no challenge.
    let s = server();
    let r = token(&s, CONF, "grant_type=client_credentials&scope=admin");
    assert_error(&r, 400, "invalid_scope", "");
    assert_eq!(r.header("WWW-Authenticate"), None);
}

// --- §5.1/§5.2: every response is JSON with Cache-Control: no-store and Pragma: no-cache ---

#[test]
fn every_response_is_no_store_json() {
    let s = builder().enable(Grant::Password).build().unwrap();
    let auth = basic("conf-client", "conf-secret");
    let with_auth = [FORM, ("Authorization", auth.as_str())];
    let cases: Vec<Response> = vec![
        send(&s, "POST", "/token", &with_auth, CC),
        send(&s, "GET", "/token", &with_auth, CC),
        send(&s, "POST", "/token", &[("Authorization", &auth)], CC),
        send(
            &s,
            "POST",
            "/token",
            &with_auth,
            "grant_type=a&grant_type=b",
        ),
        send(&s, "POST", "/token", &with_auth, "grant_type=%zz"),
        send(&s, "POST", "/token?client_secret=x", &with_auth, CC),
        send(&s, "POST", "/token", &with_auth, ""),
        send(&s, "POST", "/token", &with_auth, "grant_type=magic"),
        send(&s, "POST", "/token", &[FORM], CC),
        token(&s, Some(("conf-client", "bad")), CC),
        token(&s, CONF, "grant_type=client_credentials&scope=admin"),
        token(&s, CONF, "grant_type=password&username=alice&password=x"),
        token(&s, CONF, "grant_type=refresh_token&refresh_token=nope"),
        token(&s, CONF, "grant_type=authorization_code&code=nope"),
        token(
            &s,
            CONF,
            "grant_type=password&username=alice&password=wonderland",
        ),
    ];
    for r in &cases {
        assert_no_store_json(r);
        let body = json(r);
        assert!(
            body.get("access_token").is_some() || body.get("error").is_some(),
            "{body}"
        );
    }
}

#[test]
fn error_responses_carry_only_rfc_description_characters() {
    // §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
    let s = server();
    let r = token(&s, CONF, "grant_type=client_credentials&scope=r%C3%A9ad");
    let body = json(&r);
    let description = body["error_description"].as_str().unwrap();
    assert!(description
        .bytes()
        .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)));
}

// --- A failing validator is a server_error, never a success ---

#[test]
fn failing_client_lookup_is_server_error_not_invalid_client() {
    let s = common::builder_over(Delegating::new(common::realm()).failing("find_client"))
        .build()
        .unwrap();
    let r = token(&s, CONF, CC);
    assert_error(&r, 500, "server_error", "storage is unavailable");
    assert_eq!(r.header("WWW-Authenticate"), None);
    assert!(json(&r).get("access_token").is_none());
}

#[test]
fn failing_token_storage_is_server_error_and_nothing_is_issued() {
    let s = common::builder_over(Delegating::new(common::realm()).failing("save_bearer_token"))
        .build()
        .unwrap();
    let r = token(&s, CONF, CC);
    assert_error(&r, 500, "server_error", "storage is unavailable");
    assert_eq!(s.validator().inner.active_access_tokens(s.now()), 0);
}

/// Each token request looks its client up once, public or confidential,
/// and hands the record along: no hook asks the store for it again.
#[test]
fn a_token_request_looks_its_client_up_once() {
    use std::sync::atomic::Ordering;
    let s = common::builder_over(common::Delegating::new(common::realm()))
        .enable(Grant::Password)
        .build()
        .unwrap();
    let lookups = || s.validator().lookups.swap(0, Ordering::SeqCst);
    let uri = format!(
        "/authorize?response_type=code&client_id=public-client&scope=read&state=x\
         &code_challenge={}&code_challenge_method=S256",
        common::CHALLENGE
    );
    let req = Request::new("GET", &uri, &[], b"");
    let pending = s.validate_authorization_request(&req).unwrap();
    assert_eq!(lookups(), 1, "the authorization request");
    let code = common::location_param(&s.authorize(&req, &pending, "alice", None), "code").unwrap();
    lookups();
    let r = common::token(
        &s,
        None,
        &format!(
            "grant_type=authorization_code&code={code}&client_id=public-client&code_verifier={}",
            common::VERIFIER
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(lookups(), 1, "a public client's code exchange");
    let refresh = common::field(&r, "refresh_token");
    let r = common::token(
        &s,
        None,
        &format!("grant_type=refresh_token&refresh_token={refresh}&client_id=public-client"),
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(lookups(), 1, "a public client's refresh");
    common::login(&s, "read");
    assert_eq!(lookups(), 1, "a confidential client's password grant");
}
