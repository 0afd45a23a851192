//! The implicit grant (RFC 6749 §4.2): off by default (RFC 9700 §2.1.2);
//! when enabled, the access token, success or error, travels in the
//! redirect URI's fragment with `state` and `iss` (RFC 9207), and no
//! refresh token is ever issued (§4.2.2).

mod common;

use common::*;
use oauth2_provider::form::pairs;
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::{
    AuthorizationError, AuthorizationRequest, ErrorCode, Grant, Response, ResponseType, Server,
};

const SPA: &str = "https://spa.example/app?tenant=7";

/// The demo realm plus `spa`, a public client allowed only the implicit
/// grant, with a query in its redirect URI.
fn validator() -> MemoryValidator {
    let v = realm();
    v.add_client(
        MemoryClient::public("spa", [SPA])
            .grants(["implicit"])
            .scopes(["read", "write"])
            .default_scopes(["read"]),
    );
    v
}

fn implicit_server() -> Server<MemoryValidator> {
    common::builder_over(validator())
        .issuer(ISSUER)
        .enable(Grant::Implicit)
        .build()
        .unwrap()
}

/// The `Location` split into the part before `#` and the fragment's
/// parameters, in order.
#[track_caller]
fn split(response: &Response) -> (String, Vec<(String, String)>) {
    assert_eq!(response.status, 302);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let location = response.header("location").expect("Location");
    let (base, fragment) = location
        .split_once('#')
        .unwrap_or_else(|| panic!("no fragment in {location}"));
    let params = pairs(fragment.as_bytes())
        .map(|p| {
            let (n, v) = p.unwrap();
            (n.into_owned(), v.into_owned())
        })
        .collect();
    (base.to_owned(), params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn token_request<'a>(client_id: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("response_type", "token"),
        ("client_id", client_id),
        ("state", "xyz"),
    ];
    pairs.extend_from_slice(extra);
    pairs
}

/// Asserts an error delivered in the fragment of `redirect`.
#[track_caller]
fn assert_fragment_error(response: &Response, redirect: &str, code: ErrorCode, fragment: &str) {
    let (base, params) = split(response);
    assert_eq!(base, redirect);
    assert_eq!(param(&params, "error"), Some(code.as_str()));
    let description = param(&params, "error_description").unwrap_or("");
    assert!(
        description.contains(fragment),
        "{description:?} lacks {fragment:?}"
    );
    assert_eq!(param(&params, "state"), Some("xyz"));
    assert_eq!(param(&params, "iss"), Some(ISSUER));
    assert_eq!(param(&params, "access_token"), None);
}

#[track_caller]
fn redirect_response<C>(result: Result<AuthorizationRequest<C>, AuthorizationError>) -> Response {
    match result {
        Err(AuthorizationError::Redirect { response, .. }) => response,
        Err(AuthorizationError::Fatal(e)) => panic!("not redirected: {e:?}"),
        Ok(_) => panic!("accepted a request that must fail"),
    }
}

#[test]
fn implicit_is_off_by_default() {
    let server = common::builder_over(validator())
        .issuer(ISSUER)
        .build()
        .unwrap();
    assert!(!server.is_enabled(Grant::Implicit));
    let response = redirect_response(get(&server, &token_request("spa", &[])));
    assert_fragment_error(
        &response,
        SPA,
        ErrorCode::UnsupportedResponseType,
        "not supported",
    );
    // Metadata does not offer it either.
    let metadata = server.metadata_response();
    assert!(metadata
        .body_str()
        .contains(r#""response_types_supported":["code"]"#));
    let enabled = implicit_server().metadata_response();
    assert!(enabled
        .body_str()
        .contains(r#""response_types_supported":["code","token"]"#));
}

#[test]
fn token_in_the_fragment_with_state_and_iss() {
    let server = implicit_server();
    let pending = get(&server, &token_request("public-client", &[])).unwrap();
    assert_eq!(pending.response_type, ResponseType::Token);
    assert_eq!(pending.redirect_uri, PUBLIC_REDIRECT);
    assert_eq!(pending.code_challenge, None);
    let response = approve(&server, &pending, None);
    let (base, params) = split(&response);
    // Nothing in the query: the token is only in the fragment.
    assert_eq!(base, PUBLIC_REDIRECT);
    let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "access_token",
            "token_type",
            "expires_in",
            "scope",
            "state",
            "iss"
        ]
    );
    assert_eq!(param(&params, "token_type"), Some("Bearer"));
    assert_eq!(param(&params, "expires_in"), Some("3600"));
    assert_eq!(param(&params, "scope"), Some("read"));
    assert_eq!(param(&params, "state"), Some("xyz"));
    assert_eq!(param(&params, "iss"), Some(ISSUER));
    // §4.2.2: never a refresh token, though the client may refresh.
    assert_eq!(param(&params, "refresh_token"), None);
    assert_eq!(param(&params, "code"), None);

    let token = param(&params, "access_token").unwrap();
    assert!(token.len() >= 43);
    let info = bearer(&server, token, &["read"]).unwrap();
    assert_eq!(&*info.client_id, "public-client");
    assert_eq!(info.username.as_deref(), Some("alice"));
    assert_eq!(info.scopes.as_str(), "read");
}

#[test]
fn fragment_follows_the_registered_query() {
    let server = implicit_server();
    let pending = get(&server, &token_request("spa", &[("scope", "read write")])).unwrap();
    let response = approve(&server, &pending, None);
    let location = response.header("location").unwrap();
    assert!(
        location.starts_with(&format!("{SPA}#access_token=")),
        "{location}"
    );
    let (_, params) = split(&response);
    assert_eq!(param(&params, "scope"), Some("read write"));
}

#[test]
fn approved_narrower_scope_is_what_the_token_carries() {
    let server = implicit_server();
    let pending = get(&server, &token_request("spa", &[("scope", "read write")])).unwrap();
    let response = approve(&server, &pending, Some("write"));
    let (_, params) = split(&response);
    assert_eq!(param(&params, "scope"), Some("write"));
    let token = param(&params, "access_token").unwrap();
    assert!(bearer(&server, token, &["write"]).is_ok());
    assert_eq!(bearer(&server, token, &["read"]).unwrap_err().status, 403);
    // Broader than requested: refused, in the fragment.
    let pending = get(&server, &token_request("spa", &[("scope", "read")])).unwrap();
    let response = approve(&server, &pending, Some("read write"));
    assert_fragment_error(&response, SPA, ErrorCode::InvalidScope, "approved scope");
}

#[test]
fn no_state_when_none_was_sent_and_always_iss() {
    let server = common::builder_over(validator())
        .enable(Grant::Implicit)
        .access_token_lifetime(300)
        .build()
        .unwrap();
    let pending = get(&server, &[("response_type", "token"), ("client_id", "spa")]).unwrap();
    let (_, params) = split(&approve(&server, &pending, None));
    assert_eq!(param(&params, "state"), None);
    // RFC 9207: an authorization server always has an issuer to send.
    assert_eq!(param(&params, "iss"), Some(common::ISSUER));
    assert_eq!(param(&params, "expires_in"), Some("300"));
}

#[test]
fn pkce_is_not_asked_of_the_implicit_grant() {
    let server = implicit_server();
    // A public client needs no challenge here, and stray PKCE parameters
    // are not interpreted.
    let pending = get(
        &server,
        &token_request(
            "public-client",
            &[("code_challenge_method", "plain"), ("code_challenge", "x")],
        ),
    )
    .unwrap();
    assert_eq!(pending.code_challenge, None);
}

#[test]
fn errors_go_in_the_fragment() {
    let server = implicit_server();
    // Bad scope.
    let response = redirect_response(get(&server, &token_request("spa", &[("scope", "admin")])));
    assert_fragment_error(&response, SPA, ErrorCode::InvalidScope, "not allowed");
    let response = redirect_response(get(&server, &token_request("spa", &[("scope", "a\\b")])));
    assert_fragment_error(&response, SPA, ErrorCode::InvalidScope, "scope-token");
    // A client not allowed the implicit grant.
    let response = redirect_response(get(
        &server,
        &token_request("conf-client", &[("redirect_uri", CONF_REDIRECT)]),
    ));
    assert_fragment_error(
        &response,
        CONF_REDIRECT,
        ErrorCode::UnauthorizedClient,
        "response_type",
    );
    // spa is not allowed the code grant: that error is in the query.
    let response = redirect_response(get(
        &server,
        &[
            ("response_type", "code"),
            ("client_id", "spa"),
            ("state", "xyz"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    ));
    let location = response.header("location").unwrap();
    assert!(
        location.starts_with(&format!("{SPA}&error=unauthorized_client")),
        "{location}"
    );
    assert!(!location.contains('#'));
}

#[test]
fn deny_goes_in_the_fragment() {
    let server = implicit_server();
    let pending = get(&server, &token_request("spa", &[])).unwrap();
    let response = server.deny(&pending);
    assert_fragment_error(&response, SPA, ErrorCode::AccessDenied, "denied");
}

#[test]
fn untrusted_redirect_is_never_used_for_a_token() {
    let server = implicit_server();
    for pairs in [
        token_request("spa", &[("redirect_uri", "https://evil.example/cb")]),
        token_request("spa", &[("redirect_uri", "https://spa.example/app")]),
        token_request(
            "spa",
            &[("redirect_uri", "https://spa.example/app?tenant=7#x")],
        ),
        token_request("nobody", &[]),
        token_request("spa", &[("state", "again")]),
    ] {
        match get(&server, &pairs) {
            Err(AuthorizationError::Fatal(e)) => {
                assert_eq!(e.code(), ErrorCode::InvalidRequest);
                let response = AuthorizationError::Fatal(e).into_response();
                assert_eq!(response.status, 400);
                assert_eq!(response.header("location"), None);
            }
            other => panic!("{pairs:?}: {other:?}"),
        }
    }
}

#[test]
fn each_authorization_is_a_new_token() {
    let server = implicit_server();
    let pending = get(&server, &token_request("spa", &[])).unwrap();
    let (_, a) = split(&approve(&server, &pending, None));
    let (_, b) = split(&approve(&server, &pending, None));
    assert_ne!(param(&a, "access_token"), param(&b, "access_token"));
    assert!(bearer(&server, param(&a, "access_token").unwrap(), &[]).is_ok());
    assert!(bearer(&server, param(&b, "access_token").unwrap(), &[]).is_ok());
}

#[test]
fn implicit_cannot_be_used_at_the_token_endpoint() {
    let server = implicit_server();
    let response = post(
        |r| server.token_response(r),
        None,
        "grant_type=implicit&client_id=spa",
    );
    assert_eq!(response.status, 400);
    assert_eq!(
        json_field(&response, "error").as_deref(),
        Some("unsupported_grant_type")
    );
}

#[test]
fn failing_validator_is_server_error_in_the_fragment() {
    for hook in ["save_bearer_token", "validate_scopes"] {
        let server = common::builder_over(Delegating::new(validator()).failing(hook))
            .issuer(ISSUER)
            .enable(Grant::Implicit)
            .build()
            .unwrap();
        let response = match get(&server, &token_request("spa", &[])) {
            Ok(pending) => approve(&server, &pending, None),
            Err(AuthorizationError::Redirect { response, .. }) => response,
            Err(e) => panic!("{hook}: {e:?}"),
        };
        assert_fragment_error(&response, SPA, ErrorCode::ServerError, "unavailable");
    }
}
