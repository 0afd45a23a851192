//! RFC 9126, pushed authorization requests, through the public API: the
//! PAR endpoint (client authentication as at the token endpoint, the
//! authorization endpoint's validation, JSON errors never redirected, no
//! `request_uri` in the body, `201` with `request_uri` and `expires_in`),
//! `request_uri` at the authorization endpoint (bound to its client,
//! short-lived, used up by the response, other parameters ignored), the
//! `require_pushed_authorization_requests` switches and the metadata.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::*;
use oauth2_provider::endpoint::pushed_authorization::REQUEST_URI_PREFIX;
use oauth2_provider::form::{encode_pairs, Params};
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::secret::sha256;
use oauth2_provider::{
    AuthorizationError, OAuthRequest, Request, RequestValidator, Response, Server,
};

const API: &str = "https://api.example.com/";

fn par<V: RequestValidator>(
    server: &Server<V>,
    auth: Option<(&str, &str)>,
    body: &str,
) -> Response {
    post(|r| server.pushed_authorization_response(r), auth, body)
}

/// A valid push body for conf-client.
const CONF_PUSH: &str =
    "response_type=code&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&state=s1&scope=read";

fn realm_with_api() -> MemoryValidator {
    realm_plus([
        MemoryClient::confidential("api-client", "api-secret", [CONF_REDIRECT])
            .grants(["authorization_code"])
            .scopes(["read"])
            .resources([API]),
    ])
}

/// A server whose clock the test moves.
fn clocked_server(
    configure: impl FnOnce(
        oauth2_provider::ServerBuilder<MemoryValidator>,
    ) -> oauth2_provider::ServerBuilder<MemoryValidator>,
) -> (Server<MemoryValidator>, Arc<AtomicU64>) {
    let now = Arc::new(AtomicU64::new(START));
    let c = Arc::clone(&now);
    let server = configure(builder_over(realm_with_api()))
        .clock(move || c.load(Ordering::SeqCst))
        .build()
        .unwrap();
    (server, now)
}

fn pushed(server: &Server<MemoryValidator>) -> String {
    let r = par(server, CONF, CONF_PUSH);
    assert_eq!(r.status, 201, "{}", r.body_str());
    field(&r, "request_uri")
}

fn by_reference<V: RequestValidator>(
    server: &Server<V>,
    client_id: &str,
    request_uri: &str,
) -> Result<Pending<V>, AuthorizationError> {
    get(
        server,
        &[("client_id", client_id), ("request_uri", request_uri)],
    )
}

#[track_caller]
fn assert_fatal<T>(result: Result<T, AuthorizationError>, fragment: &str) {
    match result {
        Err(AuthorizationError::Fatal(e)) => {
            assert_eq!(e.code().as_str(), "invalid_request");
            assert!(e.description().contains(fragment), "{}", e.description());
        }
        Err(AuthorizationError::Redirect { error, .. }) => panic!("redirected: {error:?}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn a_pushed_request_is_created_with_201_and_no_store() {
    let server = server();
    let r = par(&server, CONF, CONF_PUSH);
    assert_eq!(r.status, 201, "{}", r.body_str());
    assert_no_store_json(&r);
    let body = json(&r);
    let uri = body["request_uri"].as_str().unwrap();
    assert!(uri.starts_with(REQUEST_URI_PREFIX), "{uri}");
    // A cryptographically strong random part (§2.2, §7.1).
    assert!(uri.len() >= REQUEST_URI_PREFIX.len() + 43);
    assert_eq!(body["expires_in"], 60);
    // Every push gets its own URI.
    assert_ne!(pushed(&server), pushed(&server));
}

#[test]
fn the_full_flow_gives_a_code_that_exchanges() {
    let server = server();
    let uri = pushed(&server);
    let pending = by_reference(&server, "conf-client", &uri).unwrap();
    assert_eq!(pending.client_id, "conf-client");
    assert_eq!(pending.redirect_uri, CONF_REDIRECT);
    assert_eq!(pending.state.as_deref(), Some("s1"));
    assert_eq!(pending.scopes.to_string(), "read");
    let r = approve(&server, &pending, None);
    assert_eq!(r.status, 302);
    assert_eq!(location_param(&r, "state").as_deref(), Some("s1"));
    let code = location_param(&r, "code").expect("a code");
    let t = token(
        &server,
        CONF,
        &encode_pairs([
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CONF_REDIRECT),
        ]),
    );
    assert_eq!(t.status, 200, "{}", t.body_str());
}

#[test]
fn client_authentication_is_the_token_endpoints() {
    let server = server();
    // Body credentials work as at /token.
    let r = par(
        &server,
        None,
        &format!("{CONF_PUSH}&client_id=conf-client&client_secret=conf-secret"),
    );
    assert_eq!(r.status, 201, "{}", r.body_str());
    // A wrong secret, no credentials, a confidential client by id alone.
    let r = par(&server, Some(("conf-client", "wrong")), CONF_PUSH);
    assert_error(&r, 401, "invalid_client", "");
    assert!(r.header("WWW-Authenticate").unwrap().starts_with("Basic"));
    assert_error(&par(&server, None, CONF_PUSH), 401, "invalid_client", "");
    let r = par(&server, None, &format!("{CONF_PUSH}&client_id=conf-client"));
    assert_error(&r, 401, "invalid_client", "");
    let r = par(&server, None, &format!("{CONF_PUSH}&client_id=nobody"));
    assert_error(&r, 401, "invalid_client", "");
}

#[test]
fn a_public_client_pushes_with_its_client_id_and_pkce() {
    let server = server();
    let base = encode_pairs([
        ("response_type", "code"),
        ("client_id", "public-client"),
        ("redirect_uri", PUBLIC_REDIRECT),
    ]);
    let r = par(
        &server,
        None,
        &format!("{base}&code_challenge={CHALLENGE}&code_challenge_method=S256"),
    );
    assert_eq!(r.status, 201, "{}", r.body_str());
    let pending = by_reference(&server, "public-client", &field(&r, "request_uri")).unwrap();
    assert!(pending.code_challenge.is_some());
    // Without PKCE: the authorization endpoint's error, as JSON.
    let r = par(&server, None, &base);
    assert_error(&r, 400, "invalid_request", "code challenge required");
    assert!(r.header("Location").is_none());
}

#[test]
fn request_uri_in_the_body_is_invalid_request() {
    let server = server();
    let r = par(
        &server,
        CONF,
        &format!("{CONF_PUSH}&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax"),
    );
    assert_error(&r, 400, "invalid_request", "request_uri must not be sent");
}

#[test]
fn a_client_id_other_than_the_authenticated_one_is_invalid_request() {
    let r = par(
        &server(),
        CONF,
        &format!("{CONF_PUSH}&client_id=public-client"),
    );
    assert_error(&r, 400, "invalid_request", "differs");
}

#[test]
fn authorization_request_errors_are_json_never_redirects() {
    let server = builder_over(realm_with_api()).build().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("response_type=code&scope=admin", "invalid_scope", ""),
        (
            "response_type=code&resource=https%3A%2F%2Fevil.example%2F",
            "invalid_target",
            "",
        ),
        ("response_type=code&resource=relative", "invalid_target", ""),
        ("response_type=token", "unsupported_response_type", ""),
        ("scope=read", "invalid_request", "response_type"),
        (
            "response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
            "invalid_request",
            "not registered",
        ),
        (
            "response_type=code&code_challenge_method=S256",
            "invalid_request",
            "code_challenge",
        ),
    ];
    for (body, code, fragment) in cases {
        // conf-client has two redirect URIs: one must be named.
        let body = if body.contains("redirect_uri") {
            body.to_string()
        } else {
            format!("{body}&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb")
        };
        let r = par(&server, CONF, &body);
        assert_error(&r, 400, code, fragment);
        assert!(r.header("Location").is_none(), "{body} redirected");
    }
    // A client allowed no authorization code grant.
    let r = par(
        &server,
        RS,
        "response_type=code&redirect_uri=https%3A%2F%2Frs.example%2Fcb",
    );
    assert_eq!(r.status, 400, "{}", r.body_str());
    assert!(r.header("Location").is_none());
    // A resource the client may use is accepted and kept.
    let body = encode_pairs([("response_type", "code"), ("resource", API)]);
    let r = par(&server, Some(("api-client", "api-secret")), &body);
    assert_eq!(r.status, 201, "{}", r.body_str());
    let pending = by_reference(&server, "api-client", &field(&r, "request_uri")).unwrap();
    assert_eq!(pending.audience.iter().collect::<Vec<_>>(), [API]);
}

#[test]
fn an_unauthorized_client_is_unauthorized_client() {
    let v = realm_plus([
        MemoryClient::confidential("cc-only", "cc-secret", [CONF_REDIRECT])
            .grants(["client_credentials"]),
    ]);
    let server = builder_over(v).build().unwrap();
    let r = par(
        &server,
        Some(("cc-only", "cc-secret")),
        "response_type=code",
    );
    assert_error(&r, 400, "unauthorized_client", "");
}

#[test]
fn the_endpoint_is_a_form_post() {
    let server = server();
    let auth = basic("conf-client", "conf-secret");
    let get_headers = [("Authorization", auth.as_str())];
    let get = Request::new("GET", "/par?response_type=code", &get_headers, b"");
    let r = server.pushed_authorization_response(&get);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("POST"));
    let json_headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let json_body = Request::new("POST", "/par", &json_headers, b"{}");
    assert_error(
        &server.pushed_authorization_response(&json_body),
        400,
        "invalid_request",
        "Content-Type",
    );
    let r = par(&server, CONF, &format!("{CONF_PUSH}&state=again"));
    assert_error(&r, 400, "invalid_request", "state");
}

#[test]
fn the_request_uri_is_used_up_by_the_response() {
    let server = server();
    let uri = pushed(&server);
    // A reload looks it up again (§4 MAY allow it): both validate.
    let pending = by_reference(&server, "conf-client", &uri).unwrap();
    by_reference(&server, "conf-client", &uri).unwrap();
    assert_eq!(approve(&server, &pending, None).status, 302);
    assert_fatal(by_reference(&server, "conf-client", &uri), "unknown, used");
    // The same validated request answered twice: the second is refused.
    let r = approve(&server, &pending, None);
    assert_eq!(
        location_param(&r, "error").as_deref(),
        Some("invalid_request")
    );
    assert!(location_param(&r, "code").is_none());
}

#[test]
fn a_denial_uses_it_up_too() {
    let server = server();
    let uri = pushed(&server);
    let pending = by_reference(&server, "conf-client", &uri).unwrap();
    let r = server.deny(&pending);
    assert_eq!(
        location_param(&r, "error").as_deref(),
        Some("access_denied")
    );
    assert_fatal(by_reference(&server, "conf-client", &uri), "unknown, used");
    let r = approve(&server, &pending, None);
    assert!(location_param(&r, "code").is_none());
}

#[test]
fn racing_responses_give_one_code() {
    let server = Arc::new(server());
    let uri = pushed(&server);
    let pending = Arc::new(by_reference(&*server, "conf-client", &uri).unwrap());
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (s, p) = (Arc::clone(&server), Arc::clone(&pending));
            std::thread::spawn(move || location_param(&approve(&*s, &p, None), "code").is_some())
        })
        .collect();
    let codes = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|c| *c)
        .count();
    assert_eq!(codes, 1);
}

#[test]
fn the_request_uri_is_bound_to_its_client() {
    let server = server();
    let uri = pushed(&server);
    // Another client's request URI: an error shown, never a redirect.
    assert_fatal(
        by_reference(&server, "public-client", &uri),
        "not this client's",
    );
    assert_fatal(by_reference(&server, "nobody", &uri), "not this client's");
    // Nor spent by the attempt: its client still uses it.
    let pending = by_reference(&server, "conf-client", &uri).unwrap();
    // Spending is bound as well: another client's id spends nothing.
    let v = server.validator();
    let oauth = OAuthRequest::new(Request::new("GET", "/", &[], b""), Params::default(), START);
    let digest = sha256(uri.as_bytes());
    assert!(!v
        .consume_pushed_request(&digest, "public-client", &oauth)
        .unwrap());
    assert_eq!(approve(&server, &pending, None).status, 302);
    assert!(location_param(&approve(&server, &pending, None), "code").is_none());
}

#[test]
fn request_uri_needs_client_id_and_a_known_value() {
    let server = server();
    let uri = pushed(&server);
    assert_fatal(get(&server, &[("request_uri", &uri)]), "client_id");
    assert_fatal(
        by_reference(
            &server,
            "conf-client",
            &format!("{REQUEST_URI_PREFIX}forged"),
        ),
        "unknown",
    );
    // The URI's digest, not the URI, names it: a prefix is no match.
    assert_fatal(
        by_reference(&server, "conf-client", &uri[..uri.len() - 1]),
        "unknown",
    );
}

#[test]
fn an_expired_request_uri_is_refused() {
    let (server, now) = clocked_server(|b| b);
    let uri = pushed(&server);
    now.store(START + 59, Ordering::SeqCst);
    by_reference(&server, "conf-client", &uri).unwrap();
    now.store(START + 60, Ordering::SeqCst);
    assert_fatal(by_reference(&server, "conf-client", &uri), "expired");
    // Purged with the server's clock, it is gone.
    server.validator().purge_expired(server.now());
    assert_fatal(by_reference(&server, "conf-client", &uri), "unknown");
}

#[test]
fn the_lifetime_is_configurable() {
    let (server, now) = clocked_server(|b| b.pushed_request_lifetime(5));
    let r = par(&server, CONF, CONF_PUSH);
    assert_eq!(json(&r)["expires_in"], 5);
    now.store(START + 5, Ordering::SeqCst);
    assert_fatal(
        by_reference(&server, "conf-client", &field(&r, "request_uri")),
        "expired",
    );
    assert!(builder().pushed_request_lifetime(0).build().is_err());
}

#[test]
fn other_parameters_alongside_request_uri_are_ignored() {
    let server = server();
    let uri = pushed(&server);
    let pending = get(
        &server,
        &[
            ("client_id", "conf-client"),
            ("request_uri", &uri),
            ("state", "forged"),
            ("scope", "write"),
            ("redirect_uri", "https://client.example.com/cb2"),
            ("response_type", "token"),
        ],
    )
    .unwrap();
    assert_eq!(pending.state.as_deref(), Some("s1"));
    assert_eq!(pending.scopes.to_string(), "read");
    assert_eq!(pending.redirect_uri, CONF_REDIRECT);
    assert_eq!(pending.response_type.as_str(), "code");
}

#[test]
fn the_store_keeps_a_digest_and_no_secret() {
    let server = server();
    let r = par(
        &server,
        None,
        &format!("{CONF_PUSH}&client_id=conf-client&client_secret=conf-secret"),
    );
    let uri = field(&r, "request_uri");
    let oauth = OAuthRequest::new(Request::new("GET", "/", &[], b""), Params::default(), START);
    let saved = server
        .validator()
        .find_pushed_request(&sha256(uri.as_bytes()), &oauth)
        .unwrap()
        .expect("saved by the digest of its request_uri");
    assert_eq!(saved.client_id, "conf-client");
    assert!(
        !saved.parameters.contains("conf-secret"),
        "{}",
        saved.parameters
    );
    assert!(saved.parameters.contains("state=s1"));
}

#[test]
fn the_server_can_require_pushed_requests() {
    let server = builder()
        .require_pushed_authorization_requests(true)
        .build()
        .unwrap();
    let plain = get(
        &server,
        &[
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", CONF_REDIRECT),
            ("state", "p"),
        ],
    );
    match plain {
        Err(AuthorizationError::Redirect { error, response }) => {
            assert_eq!(error.code().as_str(), "invalid_request");
            assert!(error
                .description()
                .contains("pushed authorization requests are required"));
            assert_eq!(location_param(&response, "state").as_deref(), Some("p"));
        }
        other => panic!("{other:?}"),
    }
    let uri = pushed(&server);
    by_reference(&server, "conf-client", &uri).unwrap();
    let doc = server.metadata_json().unwrap();
    assert!(
        doc.contains(r#""require_pushed_authorization_requests":true"#),
        "{doc}"
    );
}

#[test]
fn a_client_can_require_pushed_requests() {
    let v = realm_plus([
        MemoryClient::confidential("fapi", "fapi-secret", [CONF_REDIRECT])
            .grants(["authorization_code"])
            .require_pushed_authorization_requests(true),
    ]);
    let server = builder_over(v).build().unwrap();
    let plain = get(&server, &[("response_type", "code"), ("client_id", "fapi")]);
    assert!(matches!(plain, Err(AuthorizationError::Redirect { .. })));
    // Other clients are unaffected.
    get(
        &server,
        &[
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", CONF_REDIRECT),
        ],
    )
    .unwrap();
    let r = par(&server, Some(("fapi", "fapi-secret")), "response_type=code");
    assert_eq!(r.status, 201, "{}", r.body_str());
    by_reference(&server, "fapi", &field(&r, "request_uri")).unwrap();
}

#[test]
fn metadata_lists_the_endpoint() {
    let doc = server().metadata_json().unwrap();
    assert!(
        doc.contains(r#""pushed_authorization_request_endpoint":"https://as.example/par""#),
        "{doc}"
    );
    assert!(
        doc.contains(r#""require_pushed_authorization_requests":false"#),
        "{doc}"
    );
}

#[test]
fn a_store_without_pushed_requests_fails_closed() {
    let server = builder_over(Delegating::new(realm())).build().unwrap();
    let r = par(&server, CONF, CONF_PUSH);
    assert_error(&r, 500, "server_error", "pushed");
    assert_fatal(
        by_reference(&server, "conf-client", &format!("{REQUEST_URI_PREFIX}x")),
        "unknown",
    );
}

#[test]
fn a_resource_server_has_no_par_endpoint() {
    let server = Server::resource_server(realm());
    let r = par(&server, CONF, CONF_PUSH);
    assert_error(&r, 400, "unsupported_response_type", "resource server");
}
