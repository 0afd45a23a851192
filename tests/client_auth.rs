//! Client authentication (RFC 6749 §2.3) and the request view it reads:
//! credential sources, the authenticator with a minimal `ClientLookup` and
//! with the `MemoryValidator`, and the token endpoint's 401 answers.

mod common;

use oauth2_provider::client_auth::{
    http_basic_auth, invalid_client, presented_credentials, reject_query_credentials, request_body,
    AuthMethod, Client, ClientAuthenticator, ClientCredentials, ClientLookup,
};
use oauth2_provider::form::Params;
use oauth2_provider::header::{basic_header_value, parse_basic, BASIC_BUFFER_LEN};
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::request::RepeatedHeader;
use oauth2_provider::secret::{sha256, StoredSecret};
use oauth2_provider::{ErrorCode, Grant, OAuthError, Request, Response, Secret, Server};

use common::FORM;

// ---------------------------------------------------------------- request view

#[test]
fn request_path_and_query() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("/token", "/token", None),
        ("/token?", "/token", Some("")),
        ("/token?a=1&b=2", "/token", Some("a=1&b=2")),
        ("/token?a=1#frag", "/token", Some("a=1")),
        ("/token#frag", "/token", None),
        // A '?' inside the fragment is not a query.
        ("/token#frag?x=1", "/token", None),
        ("/a?b?c", "/a", Some("b?c")),
        ("", "", None),
        ("?x", "", Some("x")),
        ("*", "*", None),
    ];
    for &(uri, path, query) in cases {
        let r = Request::new("GET", uri, &[], b"");
        assert_eq!(r.uri(), uri);
        assert_eq!(r.path(), path, "{uri:?}");
        assert_eq!(r.query(), query, "{uri:?}");
    }
}

#[test]
fn request_header_lookup_is_case_insensitive_and_first_wins() {
    let headers = [
        ("content-TYPE", "text/plain"),
        ("X-Dup", "one"),
        ("x-dup", "two"),
        ("Authorization", "Basic abc"),
    ];
    let r = Request::new("POST", "/", &headers, b"body");
    assert_eq!(r.header("Content-Type"), Some("text/plain"));
    assert_eq!(r.header("CONTENT-type"), Some("text/plain"));
    assert_eq!(r.header("x-dup"), Some("one"));
    assert_eq!(r.header("missing"), None);
    assert_eq!(r.header("content-typ"), None);
    assert_eq!(r.headers().len(), 4);
    assert_eq!(r.body(), b"body");
    assert_eq!(r.method(), "POST");

    assert_eq!(r.unique_header("authorization"), Ok(Some("Basic abc")));
    assert_eq!(r.unique_header("nope"), Ok(None));
    assert_eq!(r.unique_header("X-DUP"), Err(RepeatedHeader));
    assert_eq!(
        RepeatedHeader.to_string(),
        "a header that must occur once is repeated"
    );
}

#[test]
fn request_methods_are_case_sensitive() {
    let r = Request::new("post", "/", &[], b"");
    assert!(!r.is_method("POST"));
    assert!(r.is_method("post"));
}

#[test]
fn request_form_body_detection() {
    let yes = [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "application/x-www-form-urlencoded;charset=utf-8",
        "APPLICATION/X-WWW-FORM-URLENCODED",
        "Application/X-Www-Form-Urlencoded ; Charset=\"UTF-8\"",
        " application/x-www-form-urlencoded ",
        "\tapplication/x-www-form-urlencoded\t;charset=ISO-8859-1",
    ];
    for ct in yes {
        let headers = [("Content-Type", ct)];
        assert!(
            Request::new("POST", "/", &headers, b"").has_form_body(),
            "{ct:?}"
        );
    }
    let no = [
        "",
        "application/json",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded-extra",
        "application/x-www-form-urlencode",
        "text/plain; application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded, application/json",
        "application /x-www-form-urlencoded",
    ];
    for ct in no {
        let headers = [("content-type", ct)];
        assert!(
            !Request::new("POST", "/", &headers, b"").has_form_body(),
            "{ct:?}"
        );
    }
    assert!(!Request::new("POST", "/", &[], b"a=b").has_form_body());
}

#[test]
fn request_debug_shows_no_header_values_or_body() {
    let auth = basic_header_value("app", "debug-secret-1");
    let headers = [("Authorization", auth.as_str())];
    let r = Request::new("POST", "/token", &headers, b"client_secret=debug-secret-2");
    let d = format!("{r:?}");
    assert!(!d.contains("debug-secret"), "{d}");
    assert!(!d.contains(&auth[6..]), "{d}");
    assert!(d.contains("Authorization"), "{d}");
    assert!(d.contains("/token"), "{d}");
}

// ---------------------------------------------------------------- sources

fn form_request<'a>(headers: &'a [(&'a str, &'a str)], body: &'a str) -> Request<'a> {
    Request::new("POST", "/token", headers, body.as_bytes())
}

#[test]
fn http_basic_auth_source() {
    let mut buf = [0u8; BASIC_BUFFER_LEN];
    let r = form_request(&[FORM], "");
    assert_eq!(http_basic_auth(&r, &mut buf), Ok(None));

    let headers = [("Authorization", "Bearer abc")];
    let r = form_request(&headers, "");
    assert_eq!(http_basic_auth(&r, &mut buf), Ok(None));

    let auth = basic_header_value("app:1", "s e&cret");
    let headers = [("authorization", auth.as_str())];
    let r = form_request(&headers, "");
    let creds = http_basic_auth(&r, &mut buf).unwrap().unwrap();
    assert_eq!(
        creds,
        ClientCredentials {
            client_id: "app:1",
            client_secret: Some("s e&cret"),
            method: AuthMethod::Basic,
        }
    );

    // A malformed Basic header is a failed authentication attempt.
    for bad in [
        "Basic",
        "Basic !!!!",
        "Basic bm9jb2xvbg==",
        "basic YTpi YTpi",
        "Basic Og==",
    ] {
        let headers = [("Authorization", bad)];
        let r = form_request(&headers, "");
        let err = http_basic_auth(&r, &mut buf).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidClient, "{bad:?}");
        assert_eq!(err.status(), 401);
    }

    // Two Authorization headers are ambiguous.
    let headers = [
        ("Authorization", auth.as_str()),
        ("AUTHORIZATION", "Bearer x"),
    ];
    let r = form_request(&headers, "");
    let err = http_basic_auth(&r, &mut buf).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);
    assert_eq!(err.description(), "the Authorization header is repeated");
}

#[test]
fn request_body_source() {
    let params = Params::parse(b"grant_type=x").unwrap();
    assert_eq!(request_body(&params), Ok(None));

    let params = Params::parse(b"client_id=pub").unwrap();
    assert_eq!(
        request_body(&params),
        Ok(Some(ClientCredentials {
            client_id: "pub",
            client_secret: None,
            method: AuthMethod::Body,
        }))
    );

    let params = Params::parse(b"client_id=conf&client_secret=a%26b").unwrap();
    assert_eq!(
        request_body(&params).unwrap().unwrap().client_secret,
        Some("a&b")
    );

    // An empty client_secret is an omitted one.
    let params = Params::parse(b"client_id=conf&client_secret=").unwrap();
    assert_eq!(request_body(&params).unwrap().unwrap().client_secret, None);

    let params = Params::parse(b"client_secret=orphan").unwrap();
    let err = request_body(&params).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);
    assert_eq!(err.description(), "missing required parameter 'client_id'");
}

#[test]
fn presented_credentials_allows_one_method_only() {
    let auth = basic_header_value("conf-client", "conf-secret");
    let headers = [("Authorization", auth.as_str()), FORM];
    let mut buf = [0u8; BASIC_BUFFER_LEN];

    // Header only.
    let r = form_request(&headers, "grant_type=client_credentials");
    let params = Params::parse(r.body()).unwrap();
    let c = presented_credentials(&r, &params, &mut buf)
        .unwrap()
        .unwrap();
    assert_eq!(c.method, AuthMethod::Basic);
    assert_eq!(c.client_id, "conf-client");

    // Header and a body secret: two methods.
    let r = form_request(&headers, "client_id=conf-client&client_secret=conf-secret");
    let params = Params::parse(r.body()).unwrap();
    let err = presented_credentials(&r, &params, &mut buf).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);
    assert_eq!(
        err.description(),
        "client credentials sent both in the Authorization header and in the body"
    );

    // Header and the same client_id in the body: fine, it is the header's.
    let r = form_request(&headers, "client_id=conf-client");
    let params = Params::parse(r.body()).unwrap();
    let c = presented_credentials(&r, &params, &mut buf)
        .unwrap()
        .unwrap();
    assert_eq!(c.method, AuthMethod::Basic);

    // Header and another client_id in the body.
    let r = form_request(&headers, "client_id=other");
    let params = Params::parse(r.body()).unwrap();
    let err = presented_credentials(&r, &params, &mut buf).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);
    assert_eq!(
        err.description(),
        "client_id in the body differs from the Authorization header"
    );

    // Body only, and nothing at all.
    let r = form_request(&[FORM], "client_id=conf-client&client_secret=conf-secret");
    let params = Params::parse(r.body()).unwrap();
    let c = presented_credentials(&r, &params, &mut buf)
        .unwrap()
        .unwrap();
    assert_eq!(c.method, AuthMethod::Body);
    assert_eq!(c.client_secret, Some("conf-secret"));
    let r = form_request(&[FORM], "grant_type=client_credentials");
    let params = Params::parse(r.body()).unwrap();
    assert_eq!(presented_credentials(&r, &params, &mut buf), Ok(None));
}

#[test]
fn query_credentials_are_rejected() {
    for uri in [
        "/token?client_secret=x",
        "/token?client_id=x",
        "/token?a=1&client_id=x",
        "/token?client%5Fsecret=x",
        "/token?client_secret",
        "/token?client_secret=",
        // A malformed pair must not hide a later one.
        "/token?x=%zz&client_secret=y",
        "/token?%ff=1&client_id=y",
        "/token?=&client_id=y",
    ] {
        let r = Request::new("POST", uri, &[FORM], b"");
        let err = reject_query_credentials(&r).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest, "{uri}");
        assert_eq!(
            err.description(),
            "client credentials must not be sent in the query string"
        );
    }
    for uri in [
        "/token",
        "/token?",
        "/token?a=1&b=%zz",
        "/token?client_ids=x&xclient_id=y",
        "/token#client_secret=x",
        "/token?x=client_secret",
    ] {
        let r = Request::new("POST", uri, &[FORM], b"");
        assert_eq!(reject_query_credentials(&r), Ok(()), "{uri}");
    }
}

// ---------------------------------------------------------------- a minimal lookup

#[derive(Debug)]
enum TestSecret {
    Public,
    Plain(String),
    Hashed([u8; 32]),
}

#[derive(Debug)]
struct TestClient {
    id: String,
    secret: TestSecret,
    grants: &'static [&'static str],
}

impl Client for TestClient {
    fn client_id(&self) -> &str {
        &self.id
    }

    fn secret(&self) -> Option<StoredSecret<'_>> {
        match &self.secret {
            TestSecret::Public => None,
            TestSecret::Plain(s) => Some(StoredSecret::Plain(s)),
            TestSecret::Hashed(d) => Some(StoredSecret::Sha256(d)),
        }
    }

    fn allows_grant_type(&self, grant: Grant) -> bool {
        self.grants.contains(&grant.as_str())
    }
}

/// RFC 7662 §4: only specifically authorised callers introspect. A host
/// client that says nothing about it is not one, confidential or not.
#[test]
fn introspection_is_opt_in_for_a_host_client() {
    let confidential = TestClient {
        id: "app".into(),
        secret: TestSecret::Plain("s3cret".into()),
        grants: &[],
    };
    assert!(confidential.is_confidential());
    assert!(!confidential.may_introspect());
}

/// Least privilege: a host client that says nothing about grant types
/// may use none.
#[test]
fn grant_types_are_opt_in_for_a_host_client() {
    struct Silent;
    impl Client for Silent {
        fn client_id(&self) -> &str {
            "silent"
        }
        fn secret(&self) -> Option<StoredSecret<'_>> {
            Some(StoredSecret::Plain("pw"))
        }
    }
    struct SilentLookup;
    impl ClientLookup for SilentLookup {
        type Client = Silent;
        fn find_client(&self, id: &str) -> Result<Option<Silent>, OAuthError> {
            Ok((id == "silent").then_some(Silent))
        }
    }
    for grant in [
        "authorization_code",
        "implicit",
        "password",
        "client_credentials",
        "refresh_token",
    ] {
        assert!(!Silent.allows_grant_type(Grant::from_name(grant).unwrap()));
        let err = authenticate(&SilentLookup, Some(("silent", "pw")), "", Some(grant)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::UnauthorizedClient, "{grant}");
    }
    // Without a grant to check, the credentials alone are right.
    assert_eq!(
        authenticate(&SilentLookup, Some(("silent", "pw")), "", None).unwrap(),
        "silent"
    );
}

struct TestLookup;

impl ClientLookup for TestLookup {
    type Client = TestClient;

    fn find_client(&self, client_id: &str) -> Result<Option<TestClient>, OAuthError> {
        let (secret, grants): (TestSecret, &'static [&'static str]) = match client_id {
            "conf" => (TestSecret::Plain("conf-pw".into()), &["client_credentials"]),
            "hashed" => (
                TestSecret::Hashed(sha256(b"hashed-pw")),
                &["client_credentials"],
            ),
            "pub" => (TestSecret::Public, &["authorization_code"]),
            "broken" => return Err(OAuthError::server_error("storage is down")),
            _ => return Ok(None),
        };
        Ok(Some(TestClient {
            id: client_id.to_owned(),
            secret,
            grants,
        }))
    }
}

/// Authenticates with the given Basic credentials (if any) and body.
fn authenticate<L: ClientLookup>(
    lookup: &L,
    basic: Option<(&str, &str)>,
    body: &str,
    grant: Option<&str>,
) -> Result<String, OAuthError> {
    let auth = basic.map(|(id, secret)| basic_header_value(id, secret));
    let mut headers = vec![FORM];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    let r = Request::new("POST", "/token", &headers, body.as_bytes());
    let params = Params::parse(r.body()).unwrap();
    ClientAuthenticator::new(lookup)
        .by_identifier_secret(&r, &params, grant.and_then(Grant::from_name))
        .map(|c| c.client_id().to_owned())
}

#[test]
fn by_identifier() {
    let auth = ClientAuthenticator::new(&TestLookup);
    let params = Params::parse(b"client_id=pub").unwrap();
    assert_eq!(auth.by_identifier(&params).unwrap().client_id(), "pub");

    let params = Params::parse(b"response_type=code").unwrap();
    let err = auth.by_identifier(&params).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);
    assert!(!err.may_redirect());
    assert_eq!(err.description(), "missing required parameter 'client_id'");

    let params = Params::parse(b"client_id=nobody").unwrap();
    let err = auth.by_identifier(&params).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);
    assert!(!err.may_redirect());
    assert_eq!(err.description(), "unknown client_id");

    let params = Params::parse(b"client_id=broken").unwrap();
    let err = auth.by_identifier(&params).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ServerError);
}

#[test]
fn by_identifier_secret_success_paths() {
    let l = &TestLookup;
    let cc = Some("client_credentials");
    assert_eq!(
        authenticate(l, Some(("conf", "conf-pw")), "", cc).unwrap(),
        "conf"
    );
    assert_eq!(
        authenticate(l, None, "client_id=conf&client_secret=conf-pw", cc).unwrap(),
        "conf"
    );
    assert_eq!(
        authenticate(l, Some(("hashed", "hashed-pw")), "", cc).unwrap(),
        "hashed"
    );
    assert_eq!(
        authenticate(l, None, "client_id=hashed&client_secret=hashed-pw", None).unwrap(),
        "hashed"
    );
}

#[test]
fn by_identifier_secret_failures_are_one_detail_free_invalid_client() {
    let l = &TestLookup;
    let expected = invalid_client();
    assert_eq!(expected.code(), ErrorCode::InvalidClient);
    assert_eq!(expected.status(), 401);
    assert_eq!(expected.description(), "client authentication failed");
    let cc = Some("client_credentials");
    let failures: &[(Option<(&str, &str)>, &str)] = &[
        (Some(("nobody", "conf-pw")), ""),          // unknown client
        (Some(("conf", "wrong")), ""),              // wrong secret
        (Some(("conf", "conf-pw ")), ""),           // near miss
        (Some(("conf", "")), ""),                   // empty secret
        (Some(("CONF", "conf-pw")), ""),            // ids are case-sensitive
        (Some(("hashed", "hashed-PW")), ""),        // wrong secret, hashed
        (Some(("pub", "anything")), ""),            // public client with a secret
        (Some(("pub", "")), ""),                    // public client, empty secret
        (None, "client_id=nobody&client_secret=x"), // unknown, body
        (None, "client_id=conf&client_secret=x"),   // wrong, body
        (None, "client_id=conf"),                   // confidential, no secret
        (None, "client_id=pub&client_secret=x"),    // public with a secret, body
        (None, "client_id=pub"),                    // public: no secret to check
        (None, "grant_type=client_credentials"),    // no credentials at all
    ];
    for (basic, body) in failures {
        let err = authenticate(l, *basic, body, cc).unwrap_err();
        assert_eq!(err, expected, "{basic:?} {body:?}");
        // And without a grant to check.
        assert_eq!(authenticate(l, *basic, body, None).unwrap_err(), expected);
    }
}

#[test]
fn by_identifier_secret_other_errors() {
    let l = &TestLookup;
    // Client not allowed the grant: only after successful authentication.
    let err = authenticate(l, Some(("conf", "conf-pw")), "", Some("password")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnauthorizedClient);
    assert_eq!(err.status(), 400);
    assert_eq!(
        err.description(),
        "the client is not allowed to use this grant type"
    );
    let err = authenticate(l, Some(("conf", "bad")), "", Some("password")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidClient);

    // Two methods at once.
    let err = authenticate(
        l,
        Some(("conf", "conf-pw")),
        "client_id=conf&client_secret=conf-pw",
        None,
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);

    // Storage failure is the host's error, not invalid_client.
    let err = authenticate(l, Some(("broken", "x")), "", None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ServerError);
    assert_eq!(err.description(), "storage is down");
}

// ---------------------------------------------------------------- MemoryValidator

fn memory_realm() -> MemoryValidator {
    common::realm_plus([
        MemoryClient::confidential_hashed("hashed-client", sha256(b"hashed-secret"), [])
            .grants(["client_credentials"])
            .scopes(["read"]),
        MemoryClient::confidential("code-only", "code-secret", [common::CONF_REDIRECT])
            .grants(["authorization_code"])
            .scopes(["read"]),
    ])
}

#[test]
fn memory_validator_as_client_lookup() {
    let v = memory_realm();
    let cc = Some("client_credentials");
    let expected = invalid_client();
    assert_eq!(
        authenticate(&v, Some(("conf-client", "conf-secret")), "", cc).unwrap(),
        "conf-client"
    );
    assert_eq!(
        authenticate(&v, None, "client_id=rs-client&client_secret=rs-secret", cc).unwrap(),
        "rs-client"
    );
    assert_eq!(
        authenticate(&v, Some(("hashed-client", "hashed-secret")), "", cc).unwrap(),
        "hashed-client"
    );
    for (id, secret) in [
        ("hashed-client", "hashed-secreT"),
        ("conf-client", "rs-secret"),
        ("nobody", "conf-secret"),
        ("public-client", "x"),
    ] {
        assert_eq!(
            authenticate(&v, Some((id, secret)), "", cc).unwrap_err(),
            expected,
            "{id}"
        );
    }
    let err = authenticate(&v, Some(("code-only", "code-secret")), "", cc).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnauthorizedClient);

    let auth = ClientAuthenticator::new(&v);
    let params = Params::parse(b"client_id=public-client").unwrap();
    assert_eq!(
        auth.by_identifier(&params).unwrap().client_id(),
        "public-client"
    );
    let params = Params::parse(b"client_id=ghost").unwrap();
    assert!(!auth.by_identifier(&params).unwrap_err().may_redirect());
}

// ---------------------------------------------------------------- Debug

#[test]
fn debug_never_shows_secrets() {
    const S: &str = "Sup3r-S3cret-Value";
    let creds = ClientCredentials {
        client_id: "app",
        client_secret: Some(S),
        method: AuthMethod::Body,
    };
    let digest = sha256(S.as_bytes());
    let header = basic_header_value("app", S);
    let mut buf = [0u8; BASIC_BUFFER_LEN];
    let basic = parse_basic(&header, &mut buf).unwrap();
    let body = format!("client_id=app&client_secret={S}&password={S}&code={S}");
    let params = Params::parse(body.as_bytes()).unwrap();
    let v = MemoryValidator::new();
    v.add_client(MemoryClient::confidential("app", S, []));
    v.add_user("alice", S);
    let client = v.find_client("app").unwrap().unwrap();
    let printed = [
        format!("{creds:?}"),
        format!("{creds:#?}"),
        format!("{basic:?}"),
        format!("{:?}", Secret::new(S)),
        format!("{:?}", StoredSecret::Plain(S)),
        format!("{:?}", StoredSecret::Sha256(&digest)),
        format!("{params:?}"),
        format!("{params:#?}"),
        format!("{client:?}"),
        format!("{v:?}"),
    ];
    for p in &printed {
        assert!(!p.contains(S), "{p}");
        assert!(!p.contains("Sup3r"), "{p}");
    }
    assert!(printed[0].contains("app"));
    assert!(printed[0].contains("***"));
}

// ---------------------------------------------------------------- token endpoint

fn token(
    server: &Server<MemoryValidator>,
    headers: &[(&str, &str)],
    uri: &str,
    body: &str,
) -> Response {
    server.token_response(&Request::new("POST", uri, headers, body.as_bytes()))
}

const INVALID_CLIENT_BODY: &str =
    r#"{"error":"invalid_client","error_description":"client authentication failed"}"#;

#[test]
fn token_endpoint_basic_failure_is_401_with_challenge() {
    let server = common::builder_over(memory_realm()).build().unwrap();
    for (id, secret) in [
        ("conf-client", "wrong"),
        ("nobody", "conf-secret"),
        ("public-client", "x"),
        ("hashed-client", "nope"),
    ] {
        let auth = basic_header_value(id, secret);
        let r = token(
            &server,
            &[FORM, ("Authorization", &auth)],
            "/token",
            "grant_type=client_credentials",
        );
        assert_eq!(r.status, 401, "{id}");
        assert_eq!(r.body_str(), INVALID_CLIENT_BODY);
        assert_eq!(
            r.header("WWW-Authenticate"),
            Some(r#"Basic realm="oauth2", charset="UTF-8""#)
        );
        assert_eq!(r.header("Cache-Control"), Some("no-store"));
    }
    // A malformed Basic header is also a failed Basic attempt.
    let r = token(
        &server,
        &[FORM, ("Authorization", "Basic bm9jb2xvbg==")],
        "/token",
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        common::json_field(&r, "error").as_deref(),
        Some("invalid_client")
    );
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Basic realm="oauth2", charset="UTF-8""#)
    );
}

#[test]
fn token_endpoint_challenge_uses_the_configured_realm() {
    let server = common::builder_over(memory_realm())
        .realm("my \"AS\"")
        .build()
        .unwrap();
    let auth = basic_header_value("conf-client", "wrong");
    let r = token(
        &server,
        &[FORM, ("Authorization", &auth)],
        "/token",
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(r#"Basic realm="my \"AS\"", charset="UTF-8""#)
    );
}

#[test]
fn token_endpoint_body_failure_is_401_with_a_basic_challenge() {
    let server = common::builder_over(memory_realm()).build().unwrap();
    for body in [
        "grant_type=client_credentials&client_id=conf-client&client_secret=wrong",
        "grant_type=client_credentials&client_id=nobody&client_secret=x",
        "grant_type=client_credentials&client_id=conf-client",
        "grant_type=client_credentials",
    ] {
        let r = token(&server, &[FORM], "/token", body);
        assert_eq!(r.status, 401, "{body}");
        assert_eq!(r.body_str(), INVALID_CLIENT_BODY, "{body}");
        assert_eq!(
            r.header("WWW-Authenticate"),
            Some(r#"Basic realm="oauth2", charset="UTF-8""#),
            "{body}"
        );
    }
}

#[test]
fn token_endpoint_client_auth_outcomes() {
    let server = common::builder_over(memory_realm()).build().unwrap();

    // Hashed secret, Basic and body.
    let auth = basic_header_value("hashed-client", "hashed-secret");
    let r = token(
        &server,
        &[FORM, ("Authorization", &auth)],
        "/token",
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    let r = token(
        &server,
        &[FORM],
        "/token",
        "grant_type=client_credentials&client_id=hashed-client&client_secret=hashed-secret",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());

    // Both methods at once.
    let auth = basic_header_value("conf-client", "conf-secret");
    let r = token(
        &server,
        &[FORM, ("Authorization", &auth)],
        "/token",
        "grant_type=client_credentials&client_id=conf-client&client_secret=conf-secret",
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        common::json_field(&r, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(r.header("WWW-Authenticate"), None);

    // Credentials in the query string.
    let r = token(
        &server,
        &[FORM],
        "/token?client_id=conf-client&client_secret=conf-secret",
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body_str(),
        r#"{"error":"invalid_request","error_description":"client credentials must not be sent in the query string"}"#
    );

    // Authenticated, but not allowed this grant.
    let auth = basic_header_value("code-only", "code-secret");
    let r = token(
        &server,
        &[FORM, ("Authorization", &auth)],
        "/token",
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        common::json_field(&r, "error").as_deref(),
        Some("unauthorized_client")
    );
    assert_eq!(r.header("WWW-Authenticate"), None);

    // Repeated Authorization header.
    let r = token(
        &server,
        &[FORM, ("Authorization", &auth), ("authorization", &auth)],
        "/token",
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        common::json_field(&r, "error").as_deref(),
        Some("invalid_request")
    );

    // Duplicate parameter in the body names it.
    let r = token(
        &server,
        &[FORM, ("Authorization", &auth)],
        "/token",
        "grant_type=client_credentials&scope=read&scope=read",
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body_str(),
        r#"{"error":"invalid_request","error_description":"parameter 'scope' is repeated"}"#
    );
}

// ------------------------------------------- a client with a secret is confidential

#[test]
fn a_client_with_a_secret_is_never_accepted_by_client_id_alone() {
    // A host whose client_authentication_required says "no" and whose
    // authenticate_client_id hands back conf-client, which has a secret:
    // the library still refuses every grant that would take client_id
    // alone, and issues nothing.
    let mut v = common::Delegating::new(common::realm());
    v.skip_client_auth = true;
    let s = Server::builder(v)
        .issuer(common::ISSUER)
        .enable(oauth2_provider::Grant::Password)
        .build()
        .unwrap();
    let by_id = |body: &str| common::token(&s, None, &format!("{body}&client_id=conf-client"));

    let r = by_id(common::ALICE);
    common::assert_error(&r, 401, "invalid_client", "client authentication failed");

    let (_, refresh) = common::login(&s, "read");
    let r = by_id(&format!("grant_type=refresh_token&refresh_token={refresh}"));
    common::assert_error(&r, 401, "invalid_client", "client authentication failed");
    // The refresh token was not rotated by the refused request.
    assert_eq!(common::refresh(&s, &refresh, "").status, 200);

    let pending = common::get(
        &s,
        &[
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", common::CONF_REDIRECT),
            ("scope", "read"),
            ("code_challenge", common::CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .expect("a valid authorization request");
    let code = common::location_param(&common::approve(&s, &pending, None), "code").unwrap();
    let r = by_id(&format!(
        "grant_type=authorization_code&code={code}&code_verifier={}&redirect_uri={}",
        common::VERIFIER,
        common::CONF_REDIRECT
    ));
    common::assert_error(&r, 401, "invalid_client", "client authentication failed");
    // Two logins' worth of tokens (the password grant and the refresh).
    assert_eq!(s.validator().inner.active_access_tokens(s.now()), 2);
}
