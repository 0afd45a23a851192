//! # oauth2-provider
//!
//! A synchronous, allocation-conscious OAuth 2.0 authorization server and
//! resource server core, for Rust hosts and — through the `ffi` crate —
//! C and C++ servers.
//!
//! The library does the protocol: parsing, client authentication, grant
//! validation, PKCE, token issuance, revocation, introspection and bearer
//! checks, with constant-time secret comparison. The host keeps the data
//! behind a [`RequestValidator`] (after oauthlib's), or uses the ready
//! [`memory::MemoryValidator`].
//!
//! ```
//! use oauth2_provider::header::basic_header_value;
//! use oauth2_provider::memory::{MemoryClient, MemoryValidator};
//! use oauth2_provider::{Request, Server};
//!
//! let validator = MemoryValidator::new();
//! validator.add_client(
//!     MemoryClient::confidential("svc", "s3cret", []).grants(["client_credentials"]).scopes(["read"]),
//! );
//! let server = Server::builder(validator).issuer("https://auth.example.com").build().unwrap();
//!
//! // Token endpoint: client credentials with HTTP Basic.
//! let auth = basic_header_value("svc", "s3cret");
//! let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
//! let response = server.token_response(&Request::new("POST", "/token", &headers, b"grant_type=client_credentials&scope=read"));
//! assert_eq!(response.status, 200);
//! assert_eq!(response.header("Cache-Control"), Some("no-store"));
//!
//! // Resource server: check the bearer token.
//! let body = response.body_str();
//! let token = body.split('"').nth(3).unwrap();
//! let bearer = format!("Bearer {token}");
//! let headers = [("Authorization", bearer.as_str())];
//! let info = server.verify_bearer(&Request::new("GET", "/api", &headers, b""), &["read"]).unwrap();
//! assert_eq!(&*info.client_id, "svc");
//! ```
// One place may use `unsafe`, for a measured need: the coarse clock
// (`clock.rs`; the precise one was a third of a bearer check). Randomness
// comes from the operating system through `getrandom`, with no unsafe code
// of ours.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod audience;
pub mod client_auth;
pub mod client_record;
mod clock;
pub mod device;
pub mod endpoint;
pub mod error;
pub mod form;
mod grant;
pub mod grant_type;
pub mod header;
pub mod memory;
pub mod pkce;
pub mod redirect_uri;
pub mod request;
pub mod response;
mod scan;
pub mod scope;
pub mod secret;
pub mod server;
pub mod stored;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;
pub mod validator;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub use audience::Audience;
pub use client_auth::{Client, ClientAuthenticator, ClientLookup};
pub use client_record::ClientRecord;
pub use device::{
    DeviceAuthorization, DeviceCodeKey, DeviceDecision, DeviceStatus, PendingDevice,
    DEVICE_CODE_GRANT_TYPE,
};
pub use endpoint::authorization::{AuthorizationError, AuthorizationRequest, ResponseType};
pub use endpoint::protected_resource::ProtectedResource;
pub use error::{ErrorCode, OAuthError};
pub use request::{OAuthRequest, Request};
pub use response::Response;
pub use scope::Scope;
pub use secret::Secret;
pub use server::{ConfigError, EndpointPaths, Grant, Server, ServerBuilder};
pub use token::{BearerToken, FillTokenGenerator, TokenGenerator, TokenKind};
pub use validator::{
    AuthorizationCode, CodeStatus, Consumed, IssuedToken, PushedRequest, RefreshTokenStatus,
    RequestValidator, TokenInfo, TokenType, ValidatedCode, ValidatedRefreshToken,
};
