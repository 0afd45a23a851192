//! Authorization server metadata (RFC 8414 §2, §3), checked against the
//! server's configuration and against what its endpoints actually do.

mod common;

use common::{builder, json, token, CONF, CONF_REDIRECT};
use oauth2_provider::memory::MemoryValidator;
use oauth2_provider::{EndpointPaths, Grant, Request, Server};
use serde_json::{json, Value};

fn metadata(server: &Server<MemoryValidator>) -> Value {
    serde_json::from_str(&server.metadata_json().expect("an issuer")).expect("metadata is JSON")
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("{value} is not an array"))
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect()
}

/// §3.2: "Claims with zero elements MUST be omitted from the response."
fn assert_no_empty_claims(doc: &Value) {
    for (name, value) in doc.as_object().unwrap() {
        let empty = match value {
            Value::Array(a) => a.is_empty(),
            Value::String(s) => s.is_empty(),
            Value::Null => true,
            _ => false,
        };
        assert!(!empty, "{name} is empty in {doc}");
    }
}

#[test]
fn default_configuration() {
    let s = common::server();
    let doc = metadata(&s);
    assert_eq!(
        doc,
        json!({
            "issuer": "https://as.example",
            "authorization_endpoint": "https://as.example/authorize",
            "token_endpoint": "https://as.example/token",
            "revocation_endpoint": "https://as.example/revoke",
            "introspection_endpoint": "https://as.example/introspect",
            "pushed_authorization_request_endpoint": "https://as.example/par",
            "require_pushed_authorization_requests": false,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
        })
    );
    assert_no_empty_claims(&doc);
}

#[test]
fn issuer_is_the_configured_identifier() {
    // §2: REQUIRED; §3.3: identical to the issuer the client expects.
    for issuer in ["https://as.example", "https://as.example/tenant/a"] {
        let s = common::builder_over(common::realm())
            .issuer(issuer)
            .build()
            .unwrap();
        let doc = metadata(&s);
        assert_eq!(doc["issuer"], issuer);
        assert_eq!(doc["token_endpoint"], format!("{issuer}/token"));
    }
}

#[test]
fn endpoints_follow_the_configured_paths() {
    let s = common::builder_over(common::realm())
        .issuer("https://as.example/")
        .endpoints(EndpointPaths {
            authorization: "/oauth/authorize".into(),
            token: "/oauth/token".into(),
            revocation: "https://revoke.example/r".into(),
            introspection: "/oauth/introspect".into(),
            pushed_authorization: "/oauth/par".into(),
            device_authorization: "/oauth/device".into(),
        })
        .build()
        .unwrap();
    let doc = metadata(&s);
    assert_eq!(doc["issuer"], "https://as.example/");
    assert_eq!(
        doc["authorization_endpoint"],
        "https://as.example/oauth/authorize"
    );
    assert_eq!(doc["token_endpoint"], "https://as.example/oauth/token");
    assert_eq!(doc["revocation_endpoint"], "https://revoke.example/r");
    assert_eq!(
        doc["introspection_endpoint"],
        "https://as.example/oauth/introspect"
    );
}

#[test]
fn grant_types_supported_reflects_enabled_grants() {
    let s = builder()
        .enable(Grant::Password)
        .enable(Grant::Implicit)
        .build()
        .unwrap();
    let doc = metadata(&s);
    assert_eq!(
        strings(&doc["grant_types_supported"]),
        [
            "authorization_code",
            "implicit",
            "password",
            "client_credentials",
            "refresh_token"
        ]
    );
    assert_eq!(strings(&doc["response_types_supported"]), ["code", "token"]);
    assert_eq!(
        strings(&doc["response_modes_supported"]),
        ["query", "fragment"]
    );

    let s = builder()
        .disable(Grant::RefreshToken)
        .disable(Grant::ClientCredentials)
        .build()
        .unwrap();
    assert_eq!(
        strings(&metadata(&s)["grant_types_supported"]),
        ["authorization_code"]
    );
}

#[test]
fn advertised_grants_work_and_the_others_are_unsupported() {
    // Cross-check the document with the token endpoint: every grant_type
    // it lists is dispatched, every other one is unsupported_grant_type.
    for s in [
        common::server(),
        builder().enable(Grant::Password).build().unwrap(),
        builder().disable(Grant::ClientCredentials).build().unwrap(),
        builder().disable(Grant::AuthorizationCode).build().unwrap(),
    ] {
        let listed = metadata(&s)["grant_types_supported"].clone();
        let listed = strings(&listed);
        for grant in [
            "authorization_code",
            "password",
            "client_credentials",
            "refresh_token",
        ] {
            let r = token(&s, CONF, &format!("grant_type={grant}"));
            let body = json(&r);
            let unsupported = body["error"] == "unsupported_grant_type";
            assert_eq!(unsupported, !listed.contains(&grant), "{grant}: {body}");
        }
    }
}

#[test]
fn advertised_response_types_work_and_the_others_are_unsupported() {
    for (s, listed) in [
        (common::server(), vec!["code"]),
        (
            builder().enable(Grant::Implicit).build().unwrap(),
            vec!["code", "token"],
        ),
    ] {
        assert_eq!(strings(&metadata(&s)["response_types_supported"]), listed);
        for response_type in ["code", "token"] {
            let uri = format!(
                "/authorize?response_type={response_type}&client_id=conf-client\
                 &redirect_uri={CONF_REDIRECT}&state=x"
            );
            let result = s.validate_authorization_request(&Request::new("GET", &uri, &[], b""));
            let unsupported = matches!(
                &result,
                Err(e) if e.error().code().as_str() == "unsupported_response_type"
            );
            assert_eq!(
                unsupported,
                !listed.contains(&response_type),
                "{response_type}: {result:?}"
            );
        }
    }
}

#[test]
fn code_challenge_methods_list_plain_only_when_allowed() {
    let s = common::server();
    assert_eq!(
        strings(&metadata(&s)["code_challenge_methods_supported"]),
        ["S256"]
    );
    let s = builder().allow_plain_pkce(true).build().unwrap();
    assert_eq!(
        strings(&metadata(&s)["code_challenge_methods_supported"]),
        ["S256", "plain"]
    );
}

#[test]
fn client_authentication_methods() {
    let doc = metadata(&common::server());
    // Basic and post for confidential clients, none for public ones at the
    // token and revocation endpoints; introspection needs a real secret.
    assert_eq!(
        strings(&doc["token_endpoint_auth_methods_supported"]),
        ["client_secret_basic", "client_secret_post", "none"]
    );
    assert_eq!(
        strings(&doc["revocation_endpoint_auth_methods_supported"]),
        ["client_secret_basic", "client_secret_post", "none"]
    );
    assert_eq!(
        strings(&doc["introspection_endpoint_auth_methods_supported"]),
        ["client_secret_basic", "client_secret_post"]
    );
}

#[test]
fn iss_parameter_support_follows_the_issuer() {
    // RFC 9207 §3: the server sends iss in authorization responses exactly
    // when it has an issuer to send, which every authorization server has;
    // a resource server has no metadata to publish.
    let doc = metadata(&common::server());
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(doc["issuer"], common::ISSUER);
    let s = Server::resource_server(common::realm());
    assert_eq!(s.metadata_json(), None);
    assert_eq!(s.metadata_response().status, 404);
}

#[test]
fn scopes_supported_only_when_configured() {
    assert!(metadata(&common::server())
        .get("scopes_supported")
        .is_none());
    let s = builder()
        .scopes_supported(["read", "write"])
        .build()
        .unwrap();
    assert_eq!(
        strings(&metadata(&s)["scopes_supported"]),
        ["read", "write"]
    );
}

#[test]
fn without_the_authorization_endpoint_its_claims_are_omitted() {
    // §2: authorization_endpoint is required only when a grant uses it;
    // §3.2: claims with zero elements MUST be omitted.
    let s = builder().disable(Grant::AuthorizationCode).build().unwrap();
    let doc = metadata(&s);
    assert!(doc.get("authorization_endpoint").is_none(), "{doc}");
    assert!(doc.get("response_types_supported").is_none(), "{doc}");
    assert!(doc.get("response_modes_supported").is_none(), "{doc}");
    assert_eq!(
        strings(&doc["grant_types_supported"]),
        ["client_credentials", "refresh_token"]
    );
    assert_no_empty_claims(&doc);
}

#[test]
fn no_configuration_yields_an_empty_claim() {
    let configs = [
        common::server(),
        builder().disable(Grant::AuthorizationCode).build().unwrap(),
        builder()
            .disable(Grant::AuthorizationCode)
            .disable(Grant::ClientCredentials)
            .disable(Grant::RefreshToken)
            .build()
            .unwrap(),
        builder()
            .enable(Grant::Implicit)
            .disable(Grant::AuthorizationCode)
            .build()
            .unwrap(),
        builder().scopes_supported([]).build().unwrap(),
    ];
    for s in &configs {
        assert_no_empty_claims(&metadata(s));
    }
}

#[test]
fn metadata_response_is_200_json() {
    let s = common::server();
    let r = s.metadata_response();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Type"),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(Some(r.body_str().to_owned()), s.metadata_json());
}

#[test]
fn issuer_with_json_special_characters_is_escaped() {
    let s = common::builder_over(common::realm())
        .issuer("https://as.example/\"x\\y")
        .build()
        .unwrap();
    let doc = metadata(&s);
    assert_eq!(doc["issuer"], "https://as.example/\"x\\y");
}
