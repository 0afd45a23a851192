//! Authorization server metadata (RFC 8414).

use crate::response::{JsonObject, Response};
use crate::server::{Grant, Server};
use crate::validator::RequestValidator;

impl<V: RequestValidator> Server<V> {
    /// The RFC 8414 metadata document for this server's configuration:
    /// endpoints, response and grant types, client authentication methods,
    /// PKCE methods, and RFC 9207 `iss` support. `None` for a resource
    /// server without an issuer ([`Server::resource_server`]), which has no
    /// authorization server to describe.
    ///
    /// ```
    /// use oauth2_provider::memory::MemoryValidator;
    /// use oauth2_provider::Server;
    /// let server = Server::builder(MemoryValidator::new()).issuer("https://as.example").build().unwrap();
    /// let doc = server.metadata_json().unwrap();
    /// assert!(doc.contains(r#""token_endpoint":"https://as.example/token""#));
    /// assert!(doc.contains(r#""code_challenge_methods_supported":["S256"]"#));
    /// ```
    pub fn metadata_json(&self) -> Option<String> {
        let issuer = self.issuer()?;
        let url = |path: &str| {
            if path.contains("://") {
                path.to_owned()
            } else {
                format!("{}{}", issuer.trim_end_matches('/'), path)
            }
        };
        let endpoints = &self.config.endpoints;
        let mut json = JsonObject::with_capacity(1024);
        json.string("issuer", issuer);
        let code = self.is_enabled(Grant::AuthorizationCode);
        let implicit = self.is_enabled(Grant::Implicit);
        if code || implicit {
            json.string("authorization_endpoint", &url(&endpoints.authorization));
        }
        json.string("token_endpoint", &url(&endpoints.token));
        // RFC 9126 §5: the PAR endpoint is the authorization endpoint's.
        if code || implicit {
            json.string(
                "pushed_authorization_request_endpoint",
                &url(&endpoints.pushed_authorization),
            );
            json.boolean(
                "require_pushed_authorization_requests",
                self.config.require_pushed_authorization_requests,
            );
        }
        // RFC 8628 §4.
        if self.is_enabled(Grant::DeviceCode) {
            json.string(
                "device_authorization_endpoint",
                &url(&endpoints.device_authorization),
            );
        }
        json.string("revocation_endpoint", &url(&endpoints.revocation));
        json.string("introspection_endpoint", &url(&endpoints.introspection));
        let scopes = self.config.scopes_supported.iter().map(String::as_str);
        array(&mut json, "scopes_supported", scopes);
        let response_types = [("code", code), ("token", implicit)];
        array(
            &mut json,
            "response_types_supported",
            response_types.iter().filter(|(_, on)| *on).map(|(t, _)| *t),
        );
        let response_modes = [("query", code || implicit), ("fragment", implicit)];
        array(
            &mut json,
            "response_modes_supported",
            response_modes.iter().filter(|(_, on)| *on).map(|(m, _)| *m),
        );
        array(
            &mut json,
            "grant_types_supported",
            Grant::ALL
                .iter()
                .filter(|g| self.is_enabled(**g))
                .map(|g| g.as_str()),
        );
        let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
        json.string_array("token_endpoint_auth_methods_supported", auth_methods);
        json.string_array("revocation_endpoint_auth_methods_supported", auth_methods);
        json.string_array(
            "introspection_endpoint_auth_methods_supported",
            ["client_secret_basic", "client_secret_post"],
        );
        let pkce: &[&str] = if self.config.allow_plain_pkce {
            &["S256", "plain"]
        } else {
            &["S256"]
        };
        json.string_array("code_challenge_methods_supported", pkce.iter().copied());
        json.boolean("authorization_response_iss_parameter_supported", true);
        // RFC 9728 §4. RFC 8707 itself registers no metadata field.
        let resources = self.config.protected_resources.iter().map(String::as_str);
        array(&mut json, "protected_resources", resources);
        Some(json.finish())
    }

    /// The metadata document as a `200` JSON response, or `404` without a
    /// body for a resource server without an issuer.
    pub fn metadata_response(&self) -> Response {
        let Some(document) = self.metadata_json() else {
            return Response::new(404);
        };
        let mut response =
            Response::new(200).with_header("Content-Type", crate::response::JSON_CONTENT_TYPE);
        response.body = document.into_bytes();
        response
    }
}

/// Adds a JSON array claim, or nothing when it has no elements: RFC 8414
/// §3.2, "Claims with zero elements MUST be omitted from the response."
fn array<'s>(json: &mut JsonObject, key: &str, values: impl Iterator<Item = &'s str>) {
    let mut values = values.peekable();
    if values.peek().is_some() {
        json.string_array(key, values);
    }
}
