//! RFC 9728, OAuth 2.0 Protected Resource Metadata, through the public
//! API: the resource identifier (§1.2), the well-known URL (§3.1), the
//! document (§2, §3.2), `resource_metadata` in the bearer challenge
//! (§5.1), and `protected_resources` in the authorization server's
//! metadata (§4).

mod common;

use common::*;
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::{ConfigError, ProtectedResource, Request, Response, Server};
use serde_json::{json, Value};

const API: &str = "https://api.example.com/";

fn body(response: &Response) -> Value {
    serde_json::from_slice(&response.body).unwrap()
}

#[test]
fn a_resource_identifier_is_an_https_url_without_query_or_fragment() {
    for good in [
        "https://api.example.com",
        "https://api.example.com/",
        "https://api.example.com:8443/v1/photos",
        // Development on the loopback host (as for issuers).
        "http://127.0.0.1:8080/resource",
        "http://localhost/api",
        "http://[::1]:9/x",
    ] {
        assert!(ProtectedResource::new(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "/resource",
        "api.example.com",
        "http://api.example.com/",
        "https://api.example.com/#frag",
        "https://api.example.com/?tenant=1",
        "https://",
        "https://user@api.example.com/",
        "urn:example:api",
        "https://api.example.com/a b",
    ] {
        assert_eq!(
            ProtectedResource::new(bad).err(),
            Some(ConfigError::InvalidResource),
            "{bad:?}"
        );
    }
    assert!(ConfigError::InvalidResource.to_string().contains("https"));
}

#[test]
fn the_metadata_url_inserts_the_well_known_path_before_the_path() {
    let cases = [
        (
            "https://api.example.com",
            "https://api.example.com/.well-known/oauth-protected-resource",
        ),
        // §3.1: a terminating "/" is removed before inserting.
        (
            "https://api.example.com/",
            "https://api.example.com/.well-known/oauth-protected-resource",
        ),
        (
            "https://api.example.com/photos/",
            "https://api.example.com/.well-known/oauth-protected-resource/photos",
        ),
        (
            "https://api.example.com:8443/v1/photos",
            "https://api.example.com:8443/.well-known/oauth-protected-resource/v1/photos",
        ),
        (
            "http://127.0.0.1:8080/resource",
            "http://127.0.0.1:8080/.well-known/oauth-protected-resource/resource",
        ),
    ];
    for (resource, url) in cases {
        let r = ProtectedResource::new(resource).unwrap();
        assert_eq!(r.metadata_url(), url, "{resource}");
        assert_eq!(r.resource(), resource);
    }
    assert_eq!(
        oauth2_provider::endpoint::protected_resource::WELL_KNOWN_PATH,
        "/.well-known/oauth-protected-resource"
    );
}

#[test]
fn the_document_describes_the_resource() {
    let server = server();
    let minimal = ProtectedResource::new(API).unwrap();
    let response = server.protected_resource_metadata_response(&minimal);
    // §3.2: 200, application/json.
    assert_eq!(response.status, 200);
    assert!(response
        .header("Content-Type")
        .unwrap()
        .starts_with("application/json"));
    // `resource` is required; the authorization server defaults to the
    // one rendering it; no scopes: the array is left out (§2).
    assert_eq!(
        body(&response),
        json!({
            "resource": API,
            "authorization_servers": [ISSUER],
            "bearer_methods_supported": ["header"],
        })
    );
    let full = ProtectedResource::new(API)
        .unwrap()
        .authorization_servers(["https://as1.example", "https://as2.example"])
        .scopes_supported(["read", "write"])
        .resource_name("Example API")
        .resource_documentation("https://api.example.com/docs")
        .resource_policy_uri("https://api.example.com/policy")
        .resource_tos_uri("https://api.example.com/tos");
    assert_eq!(
        body(&server.protected_resource_metadata_response(&full)),
        json!({
            "resource": API,
            "authorization_servers": ["https://as1.example", "https://as2.example"],
            "scopes_supported": ["read", "write"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Example API",
            "resource_documentation": "https://api.example.com/docs",
            "resource_policy_uri": "https://api.example.com/policy",
            "resource_tos_uri": "https://api.example.com/tos",
        })
    );
    // Hostile text stays inside its JSON string.
    let odd = ProtectedResource::new(API)
        .unwrap()
        .resource_name("A \"quoted\"\n\\ name");
    let doc = body(&server.protected_resource_metadata_response(&odd));
    assert_eq!(doc["resource_name"], "A \"quoted\"\n\\ name");
}

#[test]
fn bearer_methods_follow_what_the_server_accepts() {
    let server = builder()
        .bearer_in_body(true)
        .bearer_in_query(true)
        .build()
        .unwrap();
    let doc =
        body(&server.protected_resource_metadata_response(&ProtectedResource::new(API).unwrap()));
    assert_eq!(
        doc["bearer_methods_supported"],
        json!(["header", "body", "query"])
    );
    let server = builder().bearer_in_query(true).build().unwrap();
    let doc =
        body(&server.protected_resource_metadata_response(&ProtectedResource::new(API).unwrap()));
    assert_eq!(doc["bearer_methods_supported"], json!(["header", "query"]));
}

#[test]
fn a_resource_server_without_issuer_names_only_the_servers_given() {
    let server = Server::resource_server(MemoryValidator::new());
    let r = ProtectedResource::new(API).unwrap();
    let doc = body(&server.protected_resource_metadata_response(&r));
    assert!(doc.get("authorization_servers").is_none(), "{doc}");
    let r = r.authorization_servers(["https://as.example"]);
    let doc = body(&server.protected_resource_metadata_response(&r));
    assert_eq!(doc["authorization_servers"], json!(["https://as.example"]));
}

/// `GET /api` at `resource` with `headers`, needing `scopes`.
fn check(
    server: &Server<MemoryValidator>,
    resource: &ProtectedResource,
    headers: &[(&str, &str)],
    scopes: &[&str],
) -> Result<oauth2_provider::TokenInfo, Response> {
    server.verify_bearer_at(&Request::new("GET", "/api", headers, b""), resource, scopes)
}

#[test]
fn every_challenge_carries_resource_metadata() {
    let v = realm_plus([MemoryClient::confidential("app", "app-secret", [])
        .grants(["client_credentials"])
        .scopes(["read", "write"])
        .resources([API])]);
    let server = builder_over(v).build().unwrap();
    let api = ProtectedResource::new(API).unwrap();
    let meta =
        r#"resource_metadata="https://api.example.com/.well-known/oauth-protected-resource""#;

    // §5.1 with no token (RFC 6750 §3.1: no error code).
    let r = check(&server, &api, &[], &[]).unwrap_err();
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(format!(r#"Bearer realm="oauth2", {meta}"#).as_str())
    );
    // An unknown token.
    let r = check(
        &server,
        &api,
        &[("Authorization", "Bearer nope")],
        &["read"],
    )
    .unwrap_err();
    assert_eq!(r.status, 401);
    let challenge = r.header("www-authenticate").unwrap();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert!(
        challenge.ends_with(&format!(r#"scope="read", {meta}"#)),
        "{challenge}"
    );
    // A malformed request (400).
    let r = check(&server, &api, &[("Authorization", "Bearer ")], &[]).unwrap_err();
    assert_eq!(r.status, 400);
    assert!(r.header("www-authenticate").unwrap().contains(meta));
    // A token without the scope (403) and one for nobody in particular (401).
    let t = token(
        &server,
        Some(("app", "app-secret")),
        &format!("grant_type=client_credentials&scope=read&resource={API}"),
    );
    let value = format!("Bearer {}", field(&t, "access_token"));
    let auth = [("Authorization", value.as_str())];
    let r = check(&server, &api, &auth, &["write"]).unwrap_err();
    assert_eq!(r.status, 403);
    let challenge = r.header("www-authenticate").unwrap();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(challenge.contains(meta), "{challenge}");
    assert!(check(&server, &api, &auth, &["read"]).is_ok());
    let t = token(
        &server,
        Some(("app", "app-secret")),
        "grant_type=client_credentials",
    );
    let value = format!("Bearer {}", field(&t, "access_token"));
    let r = check(&server, &api, &[("Authorization", value.as_str())], &[]).unwrap_err();
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().contains(meta));

    // Configurable per resource: off, the challenge is RFC 6750's alone.
    let quiet = api.clone().advertise_metadata(false);
    let r = check(&server, &quiet, &[], &[]).unwrap_err();
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="oauth2""#)
    );
    // The plain check never names a resource.
    let r = server
        .verify_bearer(&Request::new("GET", "/api", &[], b""), &[])
        .unwrap_err();
    assert!(!r
        .header("www-authenticate")
        .unwrap()
        .contains("resource_metadata"));
}

#[test]
fn the_authorization_servers_metadata_lists_its_protected_resources() {
    // §4: protected_resources, left out when none is configured.
    let doc = json_of(&server().metadata_response());
    assert!(doc.get("protected_resources").is_none(), "{doc}");
    let server = builder()
        .protected_resources([API, "https://photos.example.com/v1"])
        .build()
        .unwrap();
    let doc = json_of(&server.metadata_response());
    assert_eq!(
        doc["protected_resources"],
        json!([API, "https://photos.example.com/v1"])
    );
    // A listed resource must be a resource identifier.
    for bad in [
        "http://api.example.com/",
        "https://api.example.com/#x",
        "relative",
    ] {
        let built = builder().protected_resources([bad]).build();
        assert_eq!(built.err(), Some(ConfigError::InvalidResource), "{bad}");
    }
}

fn json_of(response: &Response) -> Value {
    serde_json::from_slice(&response.body).unwrap()
}
