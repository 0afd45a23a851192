//! The authorization endpoint (RFC 6749 §3.1, §3.1.2, §4.1.1–4.1.2.1,
//! §4.2.1, §10.6, §10.12; RFC 7636 §4.3–4.4.1; RFC 9207; RFC 9700 §2.1,
//! §4.1–4.2), driven through `Server::validate_authorization_request`,
//! `authorize` and `deny` over the demo realm.
//!
//! Two kinds of failure: before the client and its redirect URI are
//! trusted, errors are `AuthorizationError::Fatal` and are never sent to a
//! `Location`; after, they are redirects carrying `error`, `state` and
//! `iss`.

mod common;

use common::*;
use oauth2_provider::form::encode_pairs;
use oauth2_provider::memory::MemoryClient;
use oauth2_provider::pkce::{s256_challenge, ChallengeMethod};
use oauth2_provider::{
    AuthorizationError, AuthorizationRequest, ConfigError, ErrorCode, Grant, OAuthError, Request,
    Response, ResponseType, Scope, Server,
};

/// A public-client code request with a valid S256 challenge, plus `extra`.
fn public_request<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", "public-client"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", "xyz"),
    ];
    pairs.extend_from_slice(extra);
    pairs
}

/// A conf-client code request to its first redirect URI, plus `extra`.
fn conf_request<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", "conf-client"),
        ("redirect_uri", CONF_REDIRECT),
        ("state", "xyz"),
    ];
    pairs.extend_from_slice(extra);
    pairs
}

/// Asserts a fatal (never redirected) `invalid_request` whose description
/// contains `fragment`, and that its response has no `Location`.
#[track_caller]
fn assert_fatal<C>(result: Result<AuthorizationRequest<C>, AuthorizationError>, fragment: &str) {
    let error = match result {
        Err(AuthorizationError::Fatal(e)) => e,
        Err(AuthorizationError::Redirect { error, .. }) => {
            panic!("redirected an error that must be shown: {error:?}")
        }
        Ok(_) => panic!("accepted a request that must fail"),
    };
    assert_eq!(error.code(), ErrorCode::InvalidRequest, "{error:?}");
    assert!(!error.may_redirect());
    assert!(
        error.description().contains(fragment),
        "{:?} lacks {fragment:?}",
        error.description()
    );
    let response = AuthorizationError::Fatal(error).into_response();
    assert_eq!(response.status, 400);
    assert_eq!(response.header("location"), None);
    assert_eq!(
        json_field(&response, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
}

/// Asserts a redirected error: `302` to `redirect` with `error=code`, a
/// description containing `fragment`, `state=xyz` and `iss`. Returns the
/// response.
#[track_caller]
fn assert_redirected<C>(
    result: Result<AuthorizationRequest<C>, AuthorizationError>,
    redirect: &str,
    code: ErrorCode,
    fragment: &str,
) -> Response {
    let (error, response) = match result {
        Err(AuthorizationError::Redirect { error, response }) => (error, response),
        Err(AuthorizationError::Fatal(e)) => panic!("not redirected: {e:?}"),
        Ok(_) => panic!("accepted a request that must fail"),
    };
    assert_eq!(error.code(), code, "{error:?}");
    assert!(
        error.description().contains(fragment),
        "{:?} lacks {fragment:?}",
        error.description()
    );
    assert_eq!(response.status, 302);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert!(response.body.is_empty());
    let location = response.header("location").expect("Location");
    assert!(
        location.starts_with(redirect)
            && matches!(
                location.as_bytes().get(redirect.len()),
                Some(b'?' | b'#' | b'&')
            ),
        "{location} is not a redirect to {redirect}"
    );
    assert_eq!(
        location_param(&response, "error").as_deref(),
        Some(code.as_str())
    );
    assert_eq!(
        location_param(&response, "error_description").as_deref(),
        Some(error.description())
    );
    assert_eq!(location_param(&response, "state").as_deref(), Some("xyz"));
    assert_eq!(location_param(&response, "iss").as_deref(), Some(ISSUER));
    response
}

// ---------------------------------------------------------------------
// §3.1: GET with a query, POST with a form body; parameter rules.

#[test]
fn get_with_query_is_validated() {
    let server = server();
    let pending = get(&server, &public_request(&[("scope", "read")])).unwrap();
    assert_eq!(pending.client_id, "public-client");
    // Only one URI registered: it may be omitted (§3.1.2.3).
    assert_eq!(pending.redirect_uri, PUBLIC_REDIRECT);
    assert!(!pending.redirect_uri_sent);
    assert_eq!(pending.response_type, ResponseType::Code);
    assert_eq!(pending.scopes.as_str(), "read");
    assert_eq!(pending.state.as_deref(), Some("xyz"));
    assert_eq!(
        pending.code_challenge,
        Some((CHALLENGE.to_owned(), ChallengeMethod::S256))
    );
}

#[test]
fn post_with_form_body_is_validated() {
    let server = server();
    let body = encode_pairs(conf_request(&[("scope", "read write")]));
    let headers = [FORM];
    let request = Request::new("POST", "/authorize", &headers, body.as_bytes());
    let pending = server.validate_authorization_request(&request).unwrap();
    assert_eq!(pending.client_id, "conf-client");
    assert_eq!(pending.redirect_uri, CONF_REDIRECT);
    assert!(pending.redirect_uri_sent);
    assert_eq!(pending.scopes.as_str(), "read write");
    assert_eq!(pending.code_challenge, None);
}

#[test]
fn post_reads_the_body_only() {
    let server = server();
    // The query names a valid client, the body none: parameters are never
    // mixed from two places.
    let uri = format!("/authorize?{}", encode_pairs(conf_request(&[])));
    let headers = [FORM];
    let request = Request::new("POST", &uri, &headers, b"response_type=code");
    assert_fatal(
        server.validate_authorization_request(&request),
        "'client_id'",
    );
}

#[test]
fn post_without_form_content_type_does_not_read_the_body() {
    let server = server();
    let body = encode_pairs(conf_request(&[]));
    let headers = [("Content-Type", "text/plain")];
    let request = Request::new("POST", "/authorize", &headers, body.as_bytes());
    assert_fatal(
        server.validate_authorization_request(&request),
        "'client_id'",
    );
}

#[test]
fn percent_encoded_values_are_decoded_before_matching() {
    let server = server();
    let query = "response_type=code&client_id=conf%2Dclient\
                 &redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&scope=read+write";
    let pending = get_raw(&server, query).unwrap();
    assert_eq!(pending.redirect_uri, CONF_REDIRECT);
    assert_eq!(pending.scopes.as_str(), "read write");
}

#[test]
fn duplicate_parameters_are_fatal_and_named() {
    let server = server();
    for name in [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    ] {
        let mut pairs = conf_request(&[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("scope", "read"),
        ]);
        let value = pairs.iter().find(|(n, _)| *n == name).unwrap().1;
        pairs.push((name, value));
        // Even with a trusted client and redirect URI, the request cannot
        // be trusted to say where to go: shown, not redirected.
        assert_fatal(get(&server, &pairs), &format!("'{name}' is repeated"));
    }
}

#[test]
fn unrecognised_parameters_are_ignored_even_when_repeated() {
    let server = server();
    let pending = get(
        &server,
        &public_request(&[("foo", "1"), ("foo", "2"), ("prompt", "consent")]),
    )
    .unwrap();
    assert_eq!(pending.client_id, "public-client");
}

#[test]
fn parameters_without_a_value_are_omitted() {
    let server = server();
    // §3.1: an empty value is as if the parameter were absent.
    let pending = get(
        &server,
        &[
            ("response_type", "code"),
            ("client_id", "public-client"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("redirect_uri", ""),
            ("scope", ""),
            ("state", ""),
        ],
    )
    .unwrap();
    assert_eq!(pending.redirect_uri, PUBLIC_REDIRECT);
    assert!(!pending.redirect_uri_sent);
    assert_eq!(pending.scopes.as_str(), "read"); // the client's default
    assert_eq!(pending.state, None);
    let response = approve(&server, &pending, None);
    assert_eq!(location_param(&response, "state"), None);

    // So "empty, then a value" is one value, not a repetition.
    let pending = get_raw(
        &server,
        &format!(
            "{}&state=&state=abc",
            encode_pairs(conf_request(&[])).replace("state=xyz", "")
        ),
    )
    .unwrap();
    assert_eq!(pending.state.as_deref(), Some("abc"));
}

#[test]
fn malformed_query_is_fatal() {
    let server = server();
    for query in [
        "response_type=code&client_id=public-client&state=%zz",
        "response_type=code&client_id=public-client&state=%ff",
        "response_type=code&client_id=public-client&=x",
    ] {
        assert_fatal(get_raw(&server, query), "form data");
    }
}

// ---------------------------------------------------------------------
// Phase 1: the client and the redirect URI. Never redirected (§3.1.2.4,
// §4.1.2.1 first paragraph).

#[test]
fn missing_client_id_is_fatal() {
    let server = server();
    assert_fatal(
        get(
            &server,
            &[
                ("response_type", "code"),
                ("redirect_uri", CONF_REDIRECT),
                ("state", "xyz"),
            ],
        ),
        "'client_id'",
    );
}

#[test]
fn unknown_client_id_is_fatal() {
    let server = server();
    for id in ["nobody", "CONF-CLIENT", "conf-client ", "conf"] {
        assert_fatal(
            get(
                &server,
                &[
                    ("response_type", "code"),
                    ("client_id", id),
                    ("redirect_uri", CONF_REDIRECT),
                ],
            ),
            "unknown client_id",
        );
    }
}

#[test]
fn missing_redirect_uri_with_two_registered_is_fatal() {
    let server = server();
    assert_fatal(
        get(
            &server,
            &[("response_type", "code"), ("client_id", "conf-client")],
        ),
        "'redirect_uri'",
    );
}

#[test]
fn client_without_registered_redirect_uri_is_fatal() {
    let server = common::builder_over(realm_plus([MemoryClient::confidential(
        "no-uris",
        "secret",
        [],
    )]))
    .issuer(ISSUER)
    .build()
    .unwrap();
    // Omitted: nowhere to go.
    assert_fatal(
        get(
            &server,
            &[("response_type", "code"), ("client_id", "no-uris")],
        ),
        "'redirect_uri'",
    );
    // Sent: nothing to match it against; an unregistered URI is never used.
    assert_fatal(
        get(
            &server,
            &[
                ("response_type", "code"),
                ("client_id", "no-uris"),
                ("redirect_uri", "https://client.example.com/cb"),
            ],
        ),
        "not registered",
    );
    // The same for the rs-client of the demo realm.
    assert_fatal(
        get(
            &server,
            &[
                ("response_type", "code"),
                ("client_id", "rs-client"),
                ("redirect_uri", "https://evil.example/cb"),
            ],
        ),
        "not registered",
    );
}

#[test]
fn unregistered_redirect_uri_is_fatal() {
    let server = server();
    for uri in [
        "https://evil.example/cb",
        PUBLIC_REDIRECT, // registered, but for another client
        "https://client.example.com/cb3",
    ] {
        assert_fatal(
            get(
                &server,
                &conf_request(&[])
                    .into_iter()
                    .map(|(n, v)| (n, if n == "redirect_uri" { uri } else { v }))
                    .collect::<Vec<_>>(),
            ),
            "not registered",
        );
    }
}

#[test]
fn redirect_uri_is_matched_exactly() {
    let server = server();
    // RFC 9700 §2.1 / §4.1.3: simple string comparison, no normalisation.
    for uri in [
        "https://CLIENT.example.com/cb",
        "https://client.example.com/CB",
        "HTTPS://client.example.com/cb",
        "https://client.example.com/cb/",
        "https://client.example.com/cb?",
        "https://client.example.com/cb?x=1",
        "https://client.example.com/cb?code=attacker",
        "https://client.example.com/cb/../cb",
        "https://client.example.com/./cb",
        "https://client.example.com/%63b",
        "https://client.example.com:443/cb",
        "https://client.example.com./cb",
        "https://client.example.com/cbx",
        "https://client.example.com/c",
        "https://client.example.com",
        "https://client.example.com.evil.example/cb",
        "https://client.example.com@evil.example/cb",
        "https://evil.example/https://client.example.com/cb",
        "http://client.example.com/cb",
        "https://client.example.com/cb%00",
        "https://client.example.com/cb%20",
    ] {
        let pairs = [
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", uri),
            ("state", "xyz"),
        ];
        assert_fatal(get(&server, &pairs), "not registered");
    }
    // The registered ones themselves pass.
    for uri in [CONF_REDIRECT, "https://client.example.com/cb2"] {
        let pairs = [
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", uri),
        ];
        assert_eq!(get(&server, &pairs).unwrap().redirect_uri, uri);
    }
}

#[test]
fn redirect_uri_with_a_fragment_is_fatal() {
    let server = server();
    for uri in [
        "https://client.example.com/cb#",
        "https://client.example.com/cb#frag",
        "https://client.example.com/cb?x=1#frag",
    ] {
        let pairs = [
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", uri),
        ];
        assert_fatal(get(&server, &pairs), "fragment");
    }
}

#[test]
fn relative_or_malformed_redirect_uri_is_fatal() {
    let server = server();
    for uri in [
        "/cb",
        "cb",
        "client.example.com/cb",
        "//client.example.com/cb",
        ":client.example.com/cb",
        "1https://client.example.com/cb",
        "ht tps://client.example.com/cb",
        " https://client.example.com/cb",
        "https://client.example.com/cb ",
        "https://client.example.com/c b",
        "https://client.example.com/cb\n",
        "https://client.example.com/cb\r\nSet-Cookie: x=1",
        "https://client.example.com/\u{0}cb",
    ] {
        let pairs = [
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", uri),
        ];
        assert_fatal(get(&server, &pairs), "absolute URI");
    }
}

#[test]
fn misregistered_default_redirect_uri_is_fatal() {
    // A registration mistake (a fragment, a relative path) is caught when
    // the only registered URI is used by default, too.
    for registered in ["https://client.example.com/cb#x", "/cb"] {
        let server = common::builder_over(realm_plus([MemoryClient::confidential(
            "misregistered",
            "secret",
            [registered],
        )]))
        .issuer(ISSUER)
        .build()
        .unwrap();
        let pairs = [
            ("response_type", "code"),
            ("client_id", "misregistered"),
            ("state", "xyz"),
        ];
        assert_fatal(get(&server, &pairs), "registered redirect URI");
    }
}

#[test]
fn fatal_checks_come_before_every_redirectable_one() {
    let server = server();
    // Bad response_type, scope and PKCE too: the redirect URI decides.
    let pairs = [
        ("response_type", "bogus"),
        ("client_id", "public-client"),
        ("redirect_uri", "https://evil.example/cb"),
        ("scope", "admin"),
        ("code_challenge_method", "plain"),
        ("state", "xyz"),
    ];
    assert_fatal(get(&server, &pairs), "not registered");
    let pairs = [
        ("response_type", "bogus"),
        ("client_id", "nobody"),
        ("scope", "admin"),
    ];
    assert_fatal(get(&server, &pairs), "unknown client_id");
}

#[test]
fn loopback_redirect_may_use_any_port() {
    // RFC 8252 §7.3, RFC 9700 §2.1: a native app's loopback redirect
    // matches whatever port it listens on; the rest must be exact.
    let server = common::builder_over(realm_plus([MemoryClient::public(
        "native",
        [
            "http://127.0.0.1/callback",
            "http://[::1]:8000/callback",
            "http://localhost/cb?app=1",
        ],
    )
    .grants(["authorization_code"])]))
    .issuer(ISSUER)
    .build()
    .unwrap();
    let with = |uri: &'static str| {
        let pairs = [
            ("response_type", "code"),
            ("client_id", "native"),
            ("redirect_uri", uri),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
        ];
        get(&server, &pairs)
    };
    for uri in [
        "http://127.0.0.1/callback",
        "http://127.0.0.1:51004/callback",
        "http://127.0.0.1:1/callback",
        "http://[::1]/callback",
        "http://[::1]:65535/callback",
        "http://localhost:4000/cb?app=1",
    ] {
        let pending = with(uri).unwrap();
        assert_eq!(pending.redirect_uri, uri);
        assert!(pending.redirect_uri_sent);
        let response = approve(&server, &pending, None);
        assert!(response.header("location").unwrap().starts_with(uri));
    }
    for uri in [
        "http://127.0.0.1:51004/callback/",
        "http://127.0.0.1:51004/Callback",
        "http://127.0.0.2:51004/callback",
        "http://localhost:51004/callback", // another host than registered
        "https://127.0.0.1:51004/callback",
        "http://127.0.0.1:65536/callback",
        "http://127.0.0.1:/callback",
        "http://127.0.0.1:+80/callback",
        "http://127.0.0.1:80x/callback",
        "http://user@127.0.0.1:80/callback",
        "http://127.0.0.1.evil.example:80/callback",
        "http://[::1]:80:80/callback",
        "http://localhost:4000/cb",
        "http://localhost:4000/cb?app=2",
    ] {
        assert_fatal(with(uri), "not registered");
    }
    // Not for loopback URIs of other clients, nor for non-loopback hosts.
    let pairs = [
        ("response_type", "code"),
        ("client_id", "conf-client"),
        ("redirect_uri", "https://client.example.com:8443/cb"),
    ];
    assert_fatal(get(&server, &pairs), "not registered");
}

// ---------------------------------------------------------------------
// Phase 2: trusted client and redirect URI; errors are redirected with
// state and iss (§4.1.2.1, RFC 9207 §2).

#[test]
fn missing_response_type_is_redirected() {
    let server = server();
    let pairs = [
        ("client_id", "conf-client"),
        ("redirect_uri", CONF_REDIRECT),
        ("state", "xyz"),
    ];
    assert_redirected(
        get(&server, &pairs),
        CONF_REDIRECT,
        ErrorCode::InvalidRequest,
        "'response_type'",
    );
}

#[test]
fn unknown_response_type_is_unsupported() {
    let server = server();
    for rt in [
        "bogus",
        "CODE",
        "Code",
        "code token",
        "token code",
        "id_token",
        "none",
        "code ",
    ] {
        let pairs = [
            ("response_type", rt),
            ("client_id", "conf-client"),
            ("redirect_uri", CONF_REDIRECT),
            ("state", "xyz"),
        ];
        let response = assert_redirected(
            get(&server, &pairs),
            CONF_REDIRECT,
            ErrorCode::UnsupportedResponseType,
            "response_type",
        );
        // Only response_type=token is answered in the fragment.
        assert!(response
            .header("location")
            .unwrap()
            .starts_with(&format!("{CONF_REDIRECT}?")));
    }
}

#[test]
fn token_response_type_is_unsupported_while_implicit_is_off() {
    let server = server();
    assert!(!server.is_enabled(Grant::Implicit));
    let pairs = [
        ("response_type", "token"),
        ("client_id", "public-client"),
        ("state", "xyz"),
    ];
    let response = assert_redirected(
        get(&server, &pairs),
        PUBLIC_REDIRECT,
        ErrorCode::UnsupportedResponseType,
        "not supported",
    );
    // A client asking for a token reads its answer from the fragment.
    assert!(response
        .header("location")
        .unwrap()
        .starts_with(&format!("{PUBLIC_REDIRECT}#")));
}

#[test]
fn code_response_type_is_unsupported_when_the_grant_is_off() {
    let server = builder().disable(Grant::AuthorizationCode).build().unwrap();
    assert_redirected(
        get(&server, &conf_request(&[])),
        CONF_REDIRECT,
        ErrorCode::UnsupportedResponseType,
        "not supported",
    );
}

#[test]
fn client_not_allowed_the_response_type_is_unauthorized() {
    let server = common::builder_over(realm_plus([MemoryClient::confidential(
        "cc-only",
        "secret",
        ["https://cc.example/cb"],
    )
    .grants(["client_credentials"])]))
    .issuer(ISSUER)
    .enable(Grant::Implicit)
    .build()
    .unwrap();
    // No authorization_code grant: no response_type=code.
    let pairs = [
        ("response_type", "code"),
        ("client_id", "cc-only"),
        ("state", "xyz"),
    ];
    assert_redirected(
        get(&server, &pairs),
        "https://cc.example/cb",
        ErrorCode::UnauthorizedClient,
        "response_type",
    );
    // conf-client has no implicit grant: no response_type=token (fragment).
    let pairs = [
        ("response_type", "token"),
        ("client_id", "conf-client"),
        ("redirect_uri", CONF_REDIRECT),
        ("state", "xyz"),
    ];
    let response = assert_redirected(
        get(&server, &pairs),
        CONF_REDIRECT,
        ErrorCode::UnauthorizedClient,
        "response_type",
    );
    assert!(response
        .header("location")
        .unwrap()
        .starts_with(&format!("{CONF_REDIRECT}#")));
}

#[test]
fn invalid_scope_is_redirected() {
    let server = server();
    for scope in ["admin", "read admin", "read write", "Read"] {
        assert_redirected(
            get(&server, &public_request(&[("scope", scope)])),
            PUBLIC_REDIRECT,
            ErrorCode::InvalidScope,
            "not allowed",
        );
    }
    // Outside the scope-token syntax (§3.3): quote, backslash, controls.
    for scope in ["read\"", "re\\ad", "read\u{7f}", "r\u{e9}ad", "read\twrite"] {
        assert_redirected(
            get(&server, &public_request(&[("scope", scope)])),
            PUBLIC_REDIRECT,
            ErrorCode::InvalidScope,
            "scope-token",
        );
    }
}

#[test]
fn omitted_scope_uses_the_default_and_duplicates_collapse() {
    let server = server();
    let pending = get(&server, &conf_request(&[])).unwrap();
    assert_eq!(pending.scopes.as_str(), "read");
    let pending = get(&server, &conf_request(&[("scope", "write  read write")])).unwrap();
    assert_eq!(pending.scopes.as_str(), "write read");
}

#[test]
fn state_is_echoed_exactly() {
    let server = server();
    // §4.1.2: "the exact value received from the client", whatever bytes.
    for state in [
        "a b&c=d#e%f+g",
        "日本語",
        "'\"<>\\",
        "x".repeat(2000).as_str(),
    ] {
        let pairs = [
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", CONF_REDIRECT),
            ("state", state),
        ];
        let pending = get(&server, &pairs).unwrap();
        assert_eq!(pending.state.as_deref(), Some(state));
        let response = approve(&server, &pending, None);
        assert_eq!(location_param(&response, "state").as_deref(), Some(state));
        let response = server.deny(&pending);
        assert_eq!(location_param(&response, "state").as_deref(), Some(state));
        // And in a redirected error.
        let mut bad = pairs.to_vec();
        bad.push(("scope", "admin"));
        let Err(AuthorizationError::Redirect { response, .. }) = get(&server, &bad) else {
            panic!("not redirected")
        };
        assert_eq!(location_param(&response, "state").as_deref(), Some(state));
    }
}

#[test]
fn errors_without_state_carry_no_state() {
    let server = server();
    let pairs = [
        ("response_type", "bogus"),
        ("client_id", "conf-client"),
        ("redirect_uri", CONF_REDIRECT),
    ];
    let Err(AuthorizationError::Redirect { response, .. }) = get(&server, &pairs) else {
        panic!("not redirected")
    };
    assert_eq!(location_param(&response, "state"), None);
    assert_eq!(
        location_param(&response, "error").as_deref(),
        Some("unsupported_response_type")
    );
}

#[test]
fn an_authorization_server_cannot_be_built_without_an_issuer() {
    // RFC 9207 / RFC 8414: the issuer is in every authorization response
    // and the metadata; a server that would send neither cannot be built.
    let missing = Server::builder(realm()).build().unwrap_err();
    assert_eq!(missing, ConfigError::MissingIssuer);
    for grant in Grant::ALL {
        let only = Server::builder(realm())
            .resource_server_only()
            .enable(grant)
            .build();
        assert_eq!(only.err(), Some(ConfigError::MissingIssuer), "{grant:?}");
    }
    for issuer in [
        "",
        "as.example",
        "/relative",
        "https://",
        "https:///path",
        "https://:443",
        "https://user@as.example",
        "https://as.example?tenant=1",
        "https://as.example#f",
        "https://as example",
        "http://as.example",
        "http://10.0.0.1:8080",
        "ftp://as.example",
    ] {
        let built = Server::builder(realm()).issuer(issuer).build();
        assert_eq!(built.err(), Some(ConfigError::InvalidIssuer), "{issuer:?}");
    }
    for issuer in [
        "https://as.example",
        "https://as.example:8443/tenant/1",
        "http://127.0.0.1:8080",
        "http://localhost:3000",
        "http://[::1]:9000",
    ] {
        let server = Server::builder(realm()).issuer(issuer).build().unwrap();
        assert_eq!(server.issuer(), Some(issuer));
    }
}

#[test]
fn a_resource_server_has_no_authorization_endpoint_or_metadata() {
    let server = Server::resource_server(realm());
    assert_eq!(server.issuer(), None);
    let Err(AuthorizationError::Fatal(error)) = get(&server, &conf_request(&[])) else {
        panic!("a resource server served an authorization request");
    };
    assert_eq!(error.code(), ErrorCode::UnsupportedResponseType);
    assert!(!error.may_redirect());
    assert!(error.description().contains("no authorization endpoint"));
    assert_eq!(server.metadata_response().status, 404);
    assert_eq!(server.metadata_json(), None);
}

#[test]
fn redirect_keeps_the_registered_query() {
    // §3.1.2: the query of the registered URI MUST be retained.
    let registered = "https://app.example/cb?tenant=7&lang=en";
    let server = common::builder_over(realm_plus([MemoryClient::confidential(
        "with-query",
        "secret",
        [registered],
    )
    .grants(["authorization_code"])]))
    .issuer(ISSUER)
    .build()
    .unwrap();
    let pairs = [
        ("response_type", "code"),
        ("client_id", "with-query"),
        ("state", "xyz"),
    ];
    let pending = get(&server, &pairs).unwrap();
    let response = approve(&server, &pending, None);
    let location = response.header("location").unwrap();
    assert!(
        location.starts_with(&format!("{registered}&code=")),
        "{location}"
    );
    assert_eq!(location_param(&response, "tenant").as_deref(), Some("7"));
    assert_eq!(location_param(&response, "state").as_deref(), Some("xyz"));

    let mut bad = pairs.to_vec();
    bad.push(("scope", "x\\y"));
    let response = assert_redirected(
        get(&server, &bad),
        registered,
        ErrorCode::InvalidScope,
        "scope",
    );
    assert!(response
        .header("location")
        .unwrap()
        .starts_with(&format!("{registered}&error=invalid_scope")));

    let response = server.deny(&pending);
    assert!(response
        .header("location")
        .unwrap()
        .starts_with(&format!("{registered}&error=access_denied")));
}

#[test]
fn redirected_error_descriptions_stay_in_the_allowed_characters() {
    let server = server();
    let pairs = [
        ("response_type", "code"),
        ("client_id", "public-client"),
        ("code_challenge_method", "S256"),
        ("state", "xyz"),
    ];
    let Err(AuthorizationError::Redirect { response, .. }) = get(&server, &pairs) else {
        panic!("not redirected")
    };
    let description = location_param(&response, "error_description").unwrap();
    assert!(!description.is_empty());
    // RFC 6749 §4.1.2.1: %x20-21 / %x23-5B / %x5D-7E.
    assert!(description
        .bytes()
        .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)));
}

#[test]
fn no_cors_at_the_authorization_endpoint() {
    // RFC 9700 §2.6: CORS MUST NOT be supported at the authorization endpoint.
    let server = server();
    let headers = [("Origin", "https://evil.example")];
    let uri = format!(
        "/authorize?{}",
        encode_pairs(conf_request(&[("scope", "admin")]))
    );
    let request = Request::new("GET", &uri, &headers, b"");
    let response = server
        .validate_authorization_request(&request)
        .unwrap_err()
        .into_response();
    assert_eq!(response.header("access-control-allow-origin"), None);
    let pending = server
        .validate_authorization_request(&Request::new(
            "GET",
            &format!("/authorize?{}", encode_pairs(conf_request(&[]))),
            &headers,
            b"",
        ))
        .unwrap();
    let response = approve(&server, &pending, None);
    assert_eq!(response.header("access-control-allow-origin"), None);
}

// ---------------------------------------------------------------------
// PKCE at the authorization endpoint (RFC 7636 §4.3–4.4.1, RFC 9700 §2.1.1).

#[test]
fn public_client_without_code_challenge_is_refused() {
    let server = server();
    let pairs = [
        ("response_type", "code"),
        ("client_id", "public-client"),
        ("state", "xyz"),
    ];
    assert_redirected(
        get(&server, &pairs),
        PUBLIC_REDIRECT,
        ErrorCode::InvalidRequest,
        "code challenge required",
    );
}

#[test]
fn plain_method_is_refused_by_default() {
    let server = server();
    // Explicitly, and implicitly (the method defaults to plain, §4.3).
    for pairs in [
        vec![
            ("response_type", "code"),
            ("client_id", "public-client"),
            ("code_challenge", VERIFIER),
            ("code_challenge_method", "plain"),
            ("state", "xyz"),
        ],
        vec![
            ("response_type", "code"),
            ("client_id", "public-client"),
            ("code_challenge", VERIFIER),
            ("state", "xyz"),
        ],
    ] {
        assert_redirected(
            get(&server, &pairs),
            PUBLIC_REDIRECT,
            ErrorCode::InvalidRequest,
            "transform algorithm not supported",
        );
    }
}

#[test]
fn plain_method_is_accepted_when_allowed() {
    let server = builder().allow_plain_pkce(true).build().unwrap();
    let pairs = [
        ("response_type", "code"),
        ("client_id", "public-client"),
        ("code_challenge", VERIFIER),
        ("code_challenge_method", "plain"),
    ];
    let pending = get(&server, &pairs).unwrap();
    assert_eq!(
        pending.code_challenge,
        Some((VERIFIER.to_owned(), ChallengeMethod::Plain))
    );
    let pairs = [
        ("response_type", "code"),
        ("client_id", "public-client"),
        ("code_challenge", VERIFIER),
    ];
    let pending = get(&server, &pairs).unwrap();
    assert_eq!(
        pending.code_challenge,
        Some((VERIFIER.to_owned(), ChallengeMethod::Plain))
    );
    // S256 still works.
    assert_eq!(
        get(&server, &public_request(&[])).unwrap().code_challenge,
        Some((CHALLENGE.to_owned(), ChallengeMethod::S256))
    );
}

#[test]
fn unknown_challenge_method_is_refused() {
    let server = builder().allow_plain_pkce(true).build().unwrap();
    for method in ["s256", "SHA256", "S512", "PLAIN", "S256 ", "none"] {
        let pairs = [
            ("response_type", "code"),
            ("client_id", "public-client"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", method),
            ("state", "xyz"),
        ];
        assert_redirected(
            get(&server, &pairs),
            PUBLIC_REDIRECT,
            ErrorCode::InvalidRequest,
            "transform algorithm not supported",
        );
    }
}

#[test]
fn challenge_method_without_challenge_is_refused() {
    let server = server();
    for client in [
        ("public-client", None),
        ("conf-client", Some(CONF_REDIRECT)),
    ] {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", client.0),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
        ];
        if let Some(uri) = client.1 {
            pairs.push(("redirect_uri", uri));
        }
        assert_redirected(
            get(&server, &pairs),
            client.1.unwrap_or(PUBLIC_REDIRECT),
            ErrorCode::InvalidRequest,
            "code_challenge_method sent without code_challenge",
        );
    }
}

#[test]
fn malformed_challenge_is_refused() {
    let server = builder().allow_plain_pkce(true).build().unwrap();
    let long = "a".repeat(129);
    let s256_bad = [
        &CHALLENGE[..42],                      // too short
        &format!("{CHALLENGE}A")[..],          // too long
        &format!("{}+", &CHALLENGE[..42])[..], // base64, not base64url
        &format!("{}/", &CHALLENGE[..42])[..],
        &format!("{}=", &CHALLENGE[..42])[..], // padding
        &format!("{}~", &CHALLENGE[..42])[..], // unreserved, but not base64url
        &format!("{}.", &CHALLENGE[..42])[..],
        &format!("{} ", &CHALLENGE[..42])[..],
    ];
    for challenge in s256_bad {
        let pairs = [
            ("response_type", "code"),
            ("client_id", "public-client"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
        ];
        assert_redirected(
            get(&server, &pairs),
            PUBLIC_REDIRECT,
            ErrorCode::InvalidRequest,
            "code_challenge is malformed",
        );
    }
    let plain_bad = [
        &VERIFIER[..42],
        long.as_str(),
        &format!("{}+", &VERIFIER[..42])[..],
    ];
    for challenge in plain_bad {
        let pairs = [
            ("response_type", "code"),
            ("client_id", "public-client"),
            ("code_challenge", challenge),
            ("code_challenge_method", "plain"),
            ("state", "xyz"),
        ];
        assert_redirected(
            get(&server, &pairs),
            PUBLIC_REDIRECT,
            ErrorCode::InvalidRequest,
            "code_challenge is malformed",
        );
    }
    // The boundaries are accepted: 43 and 128 unreserved characters.
    for challenge in ["a".repeat(43), "~._-".repeat(32)] {
        let pairs = [
            ("response_type", "code"),
            ("client_id", "public-client"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "plain"),
        ];
        assert!(get(&server, &pairs).is_ok(), "{challenge}");
    }
}

#[test]
fn confidential_client_may_omit_pkce_unless_required() {
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
    // Without the requirement, a confidential client may omit PKCE.
    let pending = get(&server, &conf_request(&[])).unwrap();
    assert_eq!(pending.code_challenge, None);
    // pkce_required(true): "code challenge required" (RFC 7636 §4.4.1).
    let pairs = [
        ("response_type", "code"),
        ("client_id", "strict"),
        ("state", "xyz"),
    ];
    assert_redirected(
        get(&server, &pairs),
        "https://strict.example/cb",
        ErrorCode::InvalidRequest,
        "code challenge required",
    );
    let challenge = s256_challenge(&"k".repeat(64));
    let pairs = [
        ("response_type", "code"),
        ("client_id", "strict"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    assert_eq!(
        get(&server, &pairs).unwrap().code_challenge,
        Some((challenge.as_str().to_owned(), ChallengeMethod::S256))
    );
}

// ---------------------------------------------------------------------
// authorize() and deny().

#[test]
fn authorize_redirects_with_code_state_and_iss() {
    let server = server();
    let pending = get(&server, &conf_request(&[("scope", "read write")])).unwrap();
    let response = approve(&server, &pending, None);
    // 302, never 307: the consent form's credentials must not be re-posted
    // to the client (RFC 9700 §4.12).
    assert_eq!(response.status, 302);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert!(response.body.is_empty());
    let location = response.header("location").unwrap();
    assert!(
        location.starts_with(&format!("{CONF_REDIRECT}?code=")),
        "{location}"
    );
    assert!(!location.contains('#'));
    let code = location_param(&response, "code").unwrap();
    assert!(code.len() >= 43, "{code}");
    assert_eq!(location_param(&response, "state").as_deref(), Some("xyz"));
    assert_eq!(location_param(&response, "iss").as_deref(), Some(ISSUER));
    // Nothing else leaks into the redirect.
    for name in [
        "access_token",
        "scope",
        "error",
        "client_id",
        "code_challenge",
    ] {
        assert_eq!(location_param(&response, name), None, "{name}");
    }
}

#[test]
fn every_authorization_gets_a_fresh_code() {
    let server = server();
    let pending = get(&server, &conf_request(&[])).unwrap();
    let a = location_param(&approve(&server, &pending, None), "code").unwrap();
    let b = location_param(&approve(&server, &pending, None), "code").unwrap();
    assert_ne!(a, b);
}

#[test]
fn deny_redirects_access_denied_with_state_and_iss() {
    let server = server();
    let pending = get(&server, &conf_request(&[])).unwrap();
    let response = server.deny(&pending);
    assert_eq!(response.status, 302);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let location = response.header("location").unwrap();
    assert!(
        location.starts_with(&format!("{CONF_REDIRECT}?error=access_denied")),
        "{location}"
    );
    assert_eq!(location_param(&response, "state").as_deref(), Some("xyz"));
    assert_eq!(location_param(&response, "iss").as_deref(), Some(ISSUER));
    assert!(location_param(&response, "error_description").is_some());
    assert_eq!(location_param(&response, "code"), None);
}

#[test]
fn approved_scope_beyond_the_request_is_refused() {
    let server = server();
    // Requested "read"; a tampered consent form approves "read write".
    let pending = get(&server, &conf_request(&[("scope", "read")])).unwrap();
    let consent = Request::new("POST", "/authorize", &[FORM], b"");
    for approved in ["read write", "write", "admin"] {
        let response = server.authorize(
            &consent,
            &pending,
            "alice",
            Some(Scope::parse(approved).unwrap()),
        );
        assert_eq!(response.status, 302);
        assert_eq!(
            location_param(&response, "error").as_deref(),
            Some("invalid_scope")
        );
        assert_eq!(location_param(&response, "state").as_deref(), Some("xyz"));
        assert_eq!(location_param(&response, "iss").as_deref(), Some(ISSUER));
        assert_eq!(location_param(&response, "code"), None);
    }
    // Narrower or equal is fine.
    for approved in ["read", ""] {
        let response = server.authorize(
            &consent,
            &pending,
            "alice",
            Some(Scope::parse(approved).unwrap()),
        );
        assert!(location_param(&response, "code").is_some(), "{approved:?}");
    }
}

#[test]
fn validation_alone_issues_nothing() {
    // §10.12: nothing is issued without the host's explicit authorize()
    // after the resource owner's consent.
    let server = server();
    let before = server.validator().active_access_tokens(server.now());
    let pending = get(&server, &conf_request(&[])).unwrap();
    let _ = pending;
    assert_eq!(
        server.validator().active_access_tokens(server.now()),
        before
    );
}

// ---------------------------------------------------------------------
// A failing validator becomes server_error, never success.

#[test]
fn failing_client_lookup_is_a_fatal_server_error() {
    let hook = "find_client";
    let server = common::builder_over(Delegating::new(realm()).failing(hook))
        .issuer(ISSUER)
        .build()
        .unwrap();
    let error = match get(&server, &conf_request(&[])) {
        Err(AuthorizationError::Fatal(e)) => e,
        other => panic!("{hook}: {other:?}"),
    };
    assert_eq!(error.code(), ErrorCode::ServerError);
    let response = AuthorizationError::Fatal(error).into_response();
    assert_eq!(response.status, 500);
    assert_eq!(response.header("location"), None);
    assert_eq!(
        json_field(&response, "error").as_deref(),
        Some("server_error")
    );
}

#[test]
fn failing_checks_after_the_redirect_is_trusted_redirect_server_error() {
    for hook in ["validate_scopes", "get_default_scopes", "is_pkce_required"] {
        let server = common::builder_over(Delegating::new(realm()).failing(hook))
            .issuer(ISSUER)
            .build()
            .unwrap();
        // is_pkce_required is only asked of a client that sends no challenge.
        let response = assert_redirected(
            get(&server, &conf_request(&[])),
            CONF_REDIRECT,
            ErrorCode::ServerError,
            "unavailable",
        );
        assert_eq!(location_param(&response, "code"), None, "{hook}");
    }
}

#[test]
fn failing_code_storage_redirects_server_error_without_a_code() {
    let server = common::builder_over(Delegating::new(realm()).failing("save_authorization_code"))
        .issuer(ISSUER)
        .build()
        .unwrap();
    let pending = get(&server, &conf_request(&[])).unwrap();
    let response = approve(&server, &pending, None);
    assert_eq!(response.status, 302);
    assert_eq!(
        location_param(&response, "error").as_deref(),
        Some("server_error")
    );
    assert_eq!(location_param(&response, "state").as_deref(), Some("xyz"));
    assert_eq!(location_param(&response, "iss").as_deref(), Some(ISSUER));
    assert_eq!(location_param(&response, "code"), None);
}

#[test]
fn fatal_error_keeps_its_code() {
    // into_response of a host-made fatal error: 400 for request errors.
    let response =
        AuthorizationError::Fatal(OAuthError::no_redirect(ErrorCode::InvalidRequest, "x"))
            .into_response();
    assert_eq!(response.status, 400);
    let response = AuthorizationError::Fatal(OAuthError::no_redirect(
        ErrorCode::TemporarilyUnavailable,
        "maintenance",
    ))
    .into_response();
    assert_eq!(response.status, 503);
}

#[test]
fn metadata_lets_clients_detect_pkce() {
    // RFC 9700 §2.1.1: the server MUST provide a way to detect PKCE support.
    let body = server().metadata_response();
    assert!(body
        .body_str()
        .contains(r#""code_challenge_methods_supported":["S256"]"#));
    let body = builder()
        .allow_plain_pkce(true)
        .build()
        .unwrap()
        .metadata_response();
    assert!(body
        .body_str()
        .contains(r#""code_challenge_methods_supported":["S256","plain"]"#));
}

#[test]
fn a_client_given_no_grant_types_gets_no_code_or_token() {
    // Least privilege: a client registered without grant types may use
    // neither response type (RFC 6749 §4.1.2.1 unauthorized_client).
    let server = builder_over(realm_plus([MemoryClient::public(
        "lean",
        ["https://lean.example/cb"],
    )
    .scopes(["read"])]))
    .enable(Grant::Implicit)
    .build()
    .unwrap();
    for response_type in ["code", "token"] {
        let pairs = [
            ("response_type", response_type),
            ("client_id", "lean"),
            ("state", "xyz"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        assert_redirected(
            get(&server, &pairs),
            "https://lean.example/cb",
            ErrorCode::UnauthorizedClient,
            "response_type",
        );
    }
}
