//! Shared set-up for the integration tests: the demo realm on a
//! [`MemoryValidator`], and small helpers to drive endpoints.
#![allow(dead_code)]

use oauth2_provider::header::basic_header_value;
use oauth2_provider::memory::{MemoryClient, MemoryValidator};
use oauth2_provider::{Request, Response, Server, ServerBuilder};

pub const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
pub const CONF_REDIRECT: &str = "https://client.example.com/cb";
pub const PUBLIC_REDIRECT: &str = "http://127.0.0.1:9999/callback";
/// RFC 7636 appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The demo realm (see shared/DEMO_SERVER.md).
pub fn realm() -> MemoryValidator {
    let v = MemoryValidator::new();
    v.add_client(
        MemoryClient::confidential(
            "conf-client",
            "conf-secret",
            [CONF_REDIRECT, "https://client.example.com/cb2"],
        )
        .grants(["authorization_code", "refresh_token", "client_credentials", "password"])
        .scopes(["read", "write"])
        .default_scopes(["read"]),
    );
    v.add_client(
        MemoryClient::public("public-client", [PUBLIC_REDIRECT])
            .grants(["authorization_code", "refresh_token", "implicit"])
            .scopes(["read"])
            .default_scopes(["read"]),
    );
    v.add_client(
        MemoryClient::confidential("rs-client", "rs-secret", [])
            .grants(["client_credentials"])
            .may_introspect(true),
    );
    v.add_user("alice", "wonderland");
    v.add_user("bob", "builder");
    v
}

pub fn builder() -> ServerBuilder<MemoryValidator> {
    Server::builder(realm()).issuer("https://as.example")
}

pub fn server() -> Server<MemoryValidator> {
    builder().build()
}

pub fn basic(id: &str, secret: &str) -> String {
    basic_header_value(id, secret)
}

/// POSTs a form to an endpoint with optional Basic credentials.
pub fn post(
    endpoint: impl Fn(&Request<'_>) -> Response,
    basic_auth: Option<(&str, &str)>,
    body: &str,
) -> Response {
    let auth = basic_auth.map(|(id, secret)| basic(id, secret));
    let mut headers = vec![FORM];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    endpoint(&Request::new("POST", "/", &headers, body.as_bytes()))
}

/// A parameter of a JSON body (string or number), by a deliberately
/// simple scan: enough for the flat objects OAuth returns.
pub fn json_field(response: &Response, name: &str) -> Option<String> {
    let body = response.body_str();
    let key = format!("\"{name}\":");
    let start = body.find(&key)? + key.len();
    let rest = &body[start..];
    if let Some(stripped) = rest.strip_prefix('"') {
        let end = stripped.find('"')?;
        Some(stripped[..end].to_owned())
    } else {
        let end = rest.find([',', '}'])?;
        Some(rest[..end].to_owned())
    }
}

/// A query (or fragment) parameter of a redirect's `Location`.
pub fn location_param(response: &Response, name: &str) -> Option<String> {
    let location = response.header("location")?;
    let params = location.split_once(['?', '#'])?.1;
    oauth2_provider::form::pairs(params.as_bytes())
        .filter_map(Result::ok)
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}
