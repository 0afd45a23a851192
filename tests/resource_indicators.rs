//! RFC 8707, resource indicators, through the public API: `resource` at
//! the authorization and token endpoints (absolute, no fragment, allowed
//! for the client, else `invalid_target`), the audience it gives a grant
//! and its tokens (asked, narrowed, never widened), `aud` at
//! introspection, and the audience check of a bearer check.

mod common;

use common::*;
use oauth2_provider::form::encode_pairs;
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::{
    Audience, AuthorizationError, Client, ErrorCode, Grant, ProtectedResource, Request, Server,
};

const API: &str = "https://api.example.com/";
const PHOTOS: &str = "https://photos.example.com/v1";
/// A resource no client of these tests may use.
const ELSEWHERE: &str = "https://elsewhere.example/";
const APP_REDIRECT: &str = "https://app.example/cb";

/// The realm plus `app` (confidential, every grant, both resources) and
/// `spa` (public, implicit and code, API only). conf-client names no
/// resource: least privilege, it may ask for none.
fn validator() -> MemoryValidator {
    realm_plus([
        MemoryClient::confidential("app", "app-secret", [APP_REDIRECT])
            .grants([
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "password",
            ])
            .scopes(["read", "write"])
            .resources([API, PHOTOS]),
        MemoryClient::public("spa", [PUBLIC_REDIRECT])
            .grants(["authorization_code", "refresh_token", "implicit"])
            .scopes(["read"])
            .resources([API]),
    ])
}

fn rs() -> Server<MemoryValidator> {
    builder_over(validator())
        .enable(Grant::Password)
        .enable(Grant::Implicit)
        .build()
        .unwrap()
}

const APP: Option<(&str, &str)> = Some(("app", "app-secret"));

/// `GET /authorize` for `app`, response_type=code, plus `extra` pairs.
fn authorize(
    server: &Server<MemoryValidator>,
    extra: &[(&str, &str)],
) -> Result<Pending<MemoryValidator>, AuthorizationError> {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", "app"),
        ("state", "s1"),
        ("scope", "read"),
    ];
    pairs.extend_from_slice(extra);
    get(server, &pairs)
}

/// A code for `app` issued for `resources`.
fn code_for(server: &Server<MemoryValidator>, resources: &[&str]) -> String {
    let extra: Vec<_> = resources.iter().map(|r| ("resource", *r)).collect();
    let pending = authorize(server, &extra).expect("a valid request");
    location_param(&approve(server, &pending, None), "code").expect("a code")
}

/// The code exchange with `resources` in the token request.
fn exchange(
    server: &Server<MemoryValidator>,
    code: &str,
    resources: &[&str],
) -> oauth2_provider::Response {
    let mut pairs = vec![("grant_type", "authorization_code"), ("code", code)];
    pairs.extend(resources.iter().map(|r| ("resource", *r)));
    token(server, APP, &encode_pairs(pairs))
}

fn refresh_app(
    server: &Server<MemoryValidator>,
    refresh_token: &str,
    resources: &[&str],
) -> oauth2_provider::Response {
    let mut pairs = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    pairs.extend(resources.iter().map(|r| ("resource", *r)));
    token(server, APP, &encode_pairs(pairs))
}

/// The introspected `aud` of a token, as a list (absent: empty).
fn aud(server: &Server<MemoryValidator>, token: &str) -> Vec<String> {
    let body = introspect(server, token);
    assert_eq!(body["active"], true, "{body}");
    match &body["aud"] {
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::String(one) => vec![one.clone()],
        serde_json::Value::Array(many) => many
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect(),
        other => panic!("aud is {other}"),
    }
}

#[track_caller]
fn assert_redirected_invalid_target(result: Result<Pending<MemoryValidator>, AuthorizationError>) {
    match result {
        Err(AuthorizationError::Redirect { error, response }) => {
            assert_eq!(error.code(), ErrorCode::InvalidTarget);
            assert_eq!(response.status, 302);
            assert_eq!(
                location_param(&response, "error").as_deref(),
                Some("invalid_target")
            );
            assert_eq!(location_param(&response, "state").as_deref(), Some("s1"));
            assert_eq!(location_param(&response, "iss").as_deref(), Some(ISSUER));
            assert!(response
                .header("location")
                .unwrap()
                .starts_with(APP_REDIRECT));
        }
        Err(other) => panic!("expected a redirect, got {other:?}"),
        Ok(pending) => panic!("accepted: {pending:?}"),
    }
}

// ------------------------------------------------ §2: the parameter itself

#[test]
fn a_resource_is_an_absolute_uri_without_fragment() {
    let server = rs();
    // Not absolute: a relative reference, a path, a bare word.
    for bad in ["/api", "api.example.com", "//api.example.com/", ":x"] {
        assert_redirected_invalid_target(authorize(&server, &[("resource", bad)]));
    }
    // §2: "MUST NOT include a fragment component."
    let fragment = format!("{API}#section");
    assert_redirected_invalid_target(authorize(&server, &[("resource", &fragment)]));
    assert_redirected_invalid_target(authorize(
        &server,
        &[("resource", "https://api.example.com/#")],
    ));
    // The same rules at the token endpoint, before anything is looked up.
    let r = token(
        &server,
        APP,
        "grant_type=client_credentials&resource=%2Fapi",
    );
    assert_error(&r, 400, "invalid_target", "absolute URI");
    let r = token(
        &server,
        APP,
        "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com%2F%23x",
    );
    assert_error(&r, 400, "invalid_target", "fragment");
}

#[test]
fn a_resource_must_be_allowed_for_the_client() {
    let server = rs();
    assert_redirected_invalid_target(authorize(&server, &[("resource", ELSEWHERE)]));
    // One bad value among good ones spoils the request.
    assert_redirected_invalid_target(authorize(
        &server,
        &[("resource", API), ("resource", ELSEWHERE)],
    ));
    // Exact comparison: no trailing-slash or case folding.
    assert_redirected_invalid_target(authorize(
        &server,
        &[("resource", "https://api.example.com")],
    ));
    assert_redirected_invalid_target(authorize(
        &server,
        &[("resource", "https://API.example.com/")],
    ));
    // Least privilege: a client whose record names no resource may ask for none...
    let pending = get(
        &server,
        &[
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", CONF_REDIRECT),
            ("state", "s1"),
            ("resource", API),
        ],
    );
    match pending {
        Err(AuthorizationError::Redirect { error, .. }) => {
            assert_eq!(error.code(), ErrorCode::InvalidTarget);
            assert!(error.description().contains("not allowed"), "{error:?}");
        }
        other => panic!("{other:?}"),
    }
    let r = token(
        &server,
        CONF,
        &format!("grant_type=client_credentials&resource={API}"),
    );
    assert_error(&r, 400, "invalid_target", "not allowed");
    // ...and still gets tokens without an audience by naming none.
    let r = token(&server, CONF, "grant_type=client_credentials");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert!(aud(&server, &field(&r, "access_token")).is_empty());
    // The trait's default fails closed too.
    struct Bare;
    impl Client for Bare {
        fn client_id(&self) -> &str {
            "bare"
        }
        fn secret(&self) -> Option<oauth2_provider::secret::StoredSecret<'_>> {
            None
        }
    }
    assert!(!Bare.allows_resource(API));
}

#[test]
fn resource_may_repeat_and_nothing_else_may() {
    let server = rs();
    let pending = authorize(&server, &[("resource", API), ("resource", PHOTOS)]).unwrap();
    assert_eq!(pending.audience.as_slice(), [API, PHOTOS]);
    // A value given twice counts once.
    let pending = authorize(&server, &[("resource", API), ("resource", API)]).unwrap();
    assert_eq!(pending.audience.as_slice(), [API]);
    // RFC 6749 §3.1 still holds for every other parameter.
    let twice = authorize(&server, &[("resource", API), ("state", "again")]);
    match twice {
        Err(AuthorizationError::Fatal(e)) => {
            assert_eq!(e.code(), ErrorCode::InvalidRequest);
            assert!(e.description().contains("'state' is repeated"), "{e:?}");
        }
        other => panic!("{other:?}"),
    }
    let r = token(
        &server,
        APP,
        &format!(
            "grant_type=client_credentials&resource={API}&scope=read&resource={PHOTOS}&scope=write"
        ),
    );
    assert_error(&r, 400, "invalid_request", "'scope' is repeated");
}

#[test]
fn no_resource_gives_a_grant_without_audience() {
    let server = rs();
    let pending = authorize(&server, &[]).unwrap();
    assert!(pending.audience.is_empty());
    let code = location_param(&approve(&server, &pending, None), "code").unwrap();
    let r = exchange(&server, &code, &[]);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert!(aud(&server, &field(&r, "access_token")).is_empty());
    // A grant without audience cannot be narrowed into one: asking for a
    // resource now is beyond the grant (§2.2).
    let code = code_for(&server, &[]);
    let r = exchange(&server, &code, &[API]);
    assert_error(&r, 400, "invalid_target", "not within");
}

// --------------------------------------- §2.1–2.2: code exchange, refresh

#[test]
fn the_code_exchange_keeps_or_narrows_the_grants_audience() {
    let server = rs();
    // No resource at the token endpoint: the grant's audience.
    let code = code_for(&server, &[API, PHOTOS]);
    let r = exchange(&server, &code, &[]);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(aud(&server, &field(&r, "access_token")), [API, PHOTOS]);
    // The refresh token carries the grant's audience too.
    assert_eq!(aud(&server, &field(&r, "refresh_token")), [API, PHOTOS]);

    // Narrowed to one: the access token is for it alone...
    let code = code_for(&server, &[API, PHOTOS]);
    let r = exchange(&server, &code, &[PHOTOS]);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(
        introspect(&server, &field(&r, "access_token"))["aud"],
        PHOTOS
    );
    // ...and the refresh token keeps the whole grant, for the next
    // access token to be for the other.
    let refresh_token = field(&r, "refresh_token");
    assert_eq!(aud(&server, &refresh_token), [API, PHOTOS]);
    let r = refresh_app(&server, &refresh_token, &[API]);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(aud(&server, &field(&r, "access_token")), [API]);
}

#[test]
fn the_code_exchange_never_widens_and_spends_nothing_when_refused() {
    let server = rs();
    let code = code_for(&server, &[API]);
    // Beyond the grant, even a resource the client may use: invalid_target.
    let r = exchange(&server, &code, &[PHOTOS]);
    assert_error(&r, 400, "invalid_target", "not within");
    let r = exchange(&server, &code, &[API, PHOTOS]);
    assert_error(&r, 400, "invalid_target", "not within");
    let r = exchange(&server, &code, &[ELSEWHERE]);
    assert_error(&r, 400, "invalid_target", "");
    // Refused before the code was spent: the corrected request succeeds.
    let r = exchange(&server, &code, &[API]);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(aud(&server, &field(&r, "access_token")), [API]);
    // And only once.
    let r = exchange(&server, &code, &[API]);
    assert_error(&r, 400, "invalid_grant", "already used");
}

#[test]
fn a_refresh_keeps_or_narrows_and_never_widens() {
    let server = rs();
    let code = code_for(&server, &[API]);
    let r = exchange(&server, &code, &[]);
    let refresh_token = field(&r, "refresh_token");
    // Wider: refused, and the refresh token is not rotated by it.
    let r = refresh_app(&server, &refresh_token, &[PHOTOS]);
    assert_error(&r, 400, "invalid_target", "not within");
    let r = refresh_app(&server, &refresh_token, &["not a uri"]);
    assert_error(&r, 400, "invalid_target", "absolute URI");
    // No resource: the grant's audience.
    let r = refresh_app(&server, &refresh_token, &[]);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(aud(&server, &field(&r, "access_token")), [API]);
    let rotated = field(&r, "refresh_token");
    assert_eq!(aud(&server, &rotated), [API]);
    // The same resource again is within the grant.
    let r = refresh_app(&server, &rotated, &[API]);
    assert_eq!(r.status, 200, "{}", r.body_str());
}

#[test]
fn a_client_that_lost_a_resource_can_no_longer_refresh_into_it() {
    let v = validator();
    let server = builder_over(v).build().unwrap();
    let code = code_for(&server, &[API, PHOTOS]);
    let r = exchange(&server, &code, &[]);
    let refresh_token = field(&r, "refresh_token");
    // The host takes PHOTOS away from the client.
    server.validator().add_client(
        MemoryClient::confidential("app", "app-secret", [APP_REDIRECT])
            .grants(["authorization_code", "refresh_token"])
            .scopes(["read", "write"])
            .resources([API]),
    );
    // The grant's whole audience is no longer allowed: ask for less.
    let r = refresh_app(&server, &refresh_token, &[]);
    assert_error(&r, 400, "invalid_target", "not allowed");
    let r = refresh_app(&server, &refresh_token, &[PHOTOS]);
    assert_error(&r, 400, "invalid_target", "not allowed");
    let r = refresh_app(&server, &refresh_token, &[API]);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(aud(&server, &field(&r, "access_token")), [API]);
    // The rotated refresh token narrows with it: least privilege.
    assert_eq!(aud(&server, &field(&r, "refresh_token")), [API]);
}

// ----------------------------------------------------- the other grants

#[test]
fn client_credentials_are_for_what_was_asked() {
    let server = rs();
    let r = token(
        &server,
        APP,
        &encode_pairs([
            ("grant_type", "client_credentials"),
            ("resource", API),
            ("resource", PHOTOS),
        ]),
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(aud(&server, &field(&r, "access_token")), [API, PHOTOS]);
    let r = token(&server, APP, "grant_type=client_credentials");
    assert!(aud(&server, &field(&r, "access_token")).is_empty());
    let r = token(
        &server,
        APP,
        &format!("grant_type=client_credentials&resource={ELSEWHERE}"),
    );
    assert_error(&r, 400, "invalid_target", "not allowed");
}

#[test]
fn the_password_grant_is_for_what_was_asked_and_refreshes_within_it() {
    let server = rs();
    let r = token(
        &server,
        APP,
        &format!("{ALICE}&resource={}", urlencode(PHOTOS)),
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(aud(&server, &field(&r, "access_token")), [PHOTOS]);
    let refresh_token = field(&r, "refresh_token");
    assert_eq!(aud(&server, &refresh_token), [PHOTOS]);
    let r = refresh_app(&server, &refresh_token, &[API]);
    assert_error(&r, 400, "invalid_target", "not within");
    let r = token(&server, APP, &format!("{ALICE}&resource={ELSEWHERE}"));
    assert_error(&r, 400, "invalid_target", "not allowed");
}

#[test]
fn the_implicit_grants_token_is_for_what_was_asked() {
    let server = rs();
    let pending = get(
        &server,
        &[
            ("response_type", "token"),
            ("client_id", "spa"),
            ("state", "s1"),
            ("resource", API),
        ],
    )
    .unwrap();
    let access = location_param(&approve(&server, &pending, None), "access_token").unwrap();
    assert_eq!(aud(&server, &access), [API]);
    // Its error goes to the fragment, as every implicit error does.
    let refused = get(
        &server,
        &[
            ("response_type", "token"),
            ("client_id", "spa"),
            ("resource", PHOTOS),
        ],
    );
    match refused {
        Err(AuthorizationError::Redirect { response, .. }) => {
            let location = response.header("location").unwrap();
            assert!(location.contains("#error=invalid_target"), "{location}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_public_clients_code_flow_carries_the_audience() {
    let server = rs();
    let pending = get(
        &server,
        &[
            ("response_type", "code"),
            ("client_id", "spa"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("resource", API),
        ],
    )
    .unwrap();
    let code = location_param(&approve(&server, &pending, None), "code").unwrap();
    let r = token(
        &server,
        None,
        &format!(
            "grant_type=authorization_code&code={code}&client_id=spa&code_verifier={VERIFIER}&resource={}",
            urlencode(API)
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(aud(&server, &field(&r, "access_token")), [API]);
}

// ------------------------------------------ the resource server's check

fn check_at(
    server: &Server<MemoryValidator>,
    resource: &ProtectedResource,
    token: &str,
) -> Result<oauth2_provider::TokenInfo, oauth2_provider::Response> {
    let value = format!("Bearer {token}");
    let headers = [("Authorization", value.as_str())];
    server.verify_bearer_at(&Request::new("GET", "/", &headers, b""), resource, &[])
}

#[test]
fn a_bearer_check_for_a_resource_requires_its_audience() {
    let server = rs();
    let api = ProtectedResource::new(API).unwrap();
    let for_api = token(
        &server,
        APP,
        &format!("grant_type=client_credentials&resource={API}"),
    );
    let for_api = field(&for_api, "access_token");
    let for_photos = token(
        &server,
        APP,
        &format!(
            "grant_type=client_credentials&resource={}",
            urlencode(PHOTOS)
        ),
    );
    let for_photos = field(&for_photos, "access_token");
    let for_none = field(
        &token(&server, APP, "grant_type=client_credentials"),
        "access_token",
    );

    let info = check_at(&server, &api, &for_api).unwrap();
    assert_eq!(info.aud, [API]);
    // A token for another resource: 401 invalid_token (RFC 6750 §3.1).
    let refused = check_at(&server, &api, &for_photos).unwrap_err();
    assert_eq!(refused.status, 401);
    let challenge = refused.header("www-authenticate").unwrap();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert!(challenge.contains("not for this resource"), "{challenge}");
    // A token without audience is for no resource in particular: refused
    // unless the resource accepts unrestricted tokens.
    let refused = check_at(&server, &api, &for_none).unwrap_err();
    assert_eq!(refused.status, 401);
    let lenient = api.clone().accept_unrestricted_tokens(true);
    assert!(check_at(&server, &lenient, &for_none).is_ok());
    // Accepting unrestricted tokens still refuses restricted ones for others.
    assert_eq!(
        check_at(&server, &lenient, &for_photos).unwrap_err().status,
        401
    );
    // A token for several resources opens each of them.
    let both = token(
        &server,
        APP,
        &encode_pairs([
            ("grant_type", "client_credentials"),
            ("resource", API),
            ("resource", PHOTOS),
        ]),
    );
    let both = field(&both, "access_token");
    let photos = ProtectedResource::new(PHOTOS).unwrap();
    assert!(check_at(&server, &api, &both).is_ok());
    assert!(check_at(&server, &photos, &both).is_ok());
    // The plain check asks nothing of the audience.
    for t in [&for_api, &for_photos, &for_none] {
        assert!(bearer(&server, t, &[]).is_ok());
    }
}

// -------------------------------------------------- the value type

#[test]
fn audiences_store_and_narrow() {
    let grant = Audience::parse([API, PHOTOS]).unwrap();
    assert_eq!(Audience::from_stored(&grant.to_stored()), grant);
    assert_eq!(grant.len(), 2);
    assert!(Audience::parse(["https://a.example/ b"]).is_err());
    let e = Audience::parse([ELSEWHERE])
        .unwrap()
        .narrowing(&grant)
        .unwrap_err();
    assert_eq!((e.code(), e.status()), (ErrorCode::InvalidTarget, 400));
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    oauth2_provider::form::encode_into(&mut out, s);
    out
}
