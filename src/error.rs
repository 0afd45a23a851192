//! The OAuth error model: the registered error codes, their HTTP status, a
//! safe `error_description`, and whether an error may be sent back to the
//! client's redirect URI.
//!
//! Every endpoint turns failures into an [`OAuthError`]; the endpoint then
//! renders it as a JSON body (token, revocation, introspection), a redirect
//! (authorization endpoint, when allowed) or a `WWW-Authenticate` challenge
//! (resource endpoint).

use std::borrow::Cow;
use std::fmt;

/// An error code registered by the OAuth RFCs.
///
/// Sources: RFC 6749 §4.1.2.1, §4.2.2.1 and §5.2; RFC 6750 §3.1;
/// RFC 7009 §2.2.1; RFC 8628 §3.5; RFC 8707 §2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// A required parameter is missing, invalid, or repeated; the request is malformed.
    InvalidRequest,
    /// Client authentication failed (unknown client, bad credentials, unsupported method).
    InvalidClient,
    /// The grant (code, refresh token, owner credentials) is invalid, expired or revoked.
    InvalidGrant,
    /// The authenticated client may not use this grant or response type.
    UnauthorizedClient,
    /// The `grant_type` is not supported by this server.
    UnsupportedGrantType,
    /// The `response_type` is not supported by this server.
    UnsupportedResponseType,
    /// The requested scope is invalid, unknown, malformed, or exceeds what was granted.
    InvalidScope,
    /// The resource owner or the server denied the request.
    AccessDenied,
    /// The server met an unexpected condition (HTTP 500).
    ServerError,
    /// The server is temporarily unable to handle the request (HTTP 503).
    TemporarilyUnavailable,
    /// RFC 6750: the access token is expired, revoked, malformed or invalid.
    InvalidToken,
    /// RFC 6750: the token lacks the scope the resource requires.
    InsufficientScope,
    /// RFC 7009: the server cannot revoke this type of token.
    UnsupportedTokenType,
    /// RFC 8628: the user has not yet finished the device authorization.
    AuthorizationPending,
    /// RFC 8628: the client polls too fast.
    SlowDown,
    /// RFC 8628: the device code has expired.
    ExpiredToken,
    /// RFC 8707: a `resource` is invalid, unknown, malformed, not allowed
    /// for the client, or beyond what the grant covers.
    InvalidTarget,
}

impl ErrorCode {
    /// Every code, in the order of the RFC sections above.
    pub const ALL: [ErrorCode; 17] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidClient,
        ErrorCode::InvalidGrant,
        ErrorCode::UnauthorizedClient,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::UnsupportedResponseType,
        ErrorCode::InvalidScope,
        ErrorCode::AccessDenied,
        ErrorCode::ServerError,
        ErrorCode::TemporarilyUnavailable,
        ErrorCode::InvalidToken,
        ErrorCode::InsufficientScope,
        ErrorCode::UnsupportedTokenType,
        ErrorCode::AuthorizationPending,
        ErrorCode::SlowDown,
        ErrorCode::ExpiredToken,
        ErrorCode::InvalidTarget,
    ];

    /// The code as it appears in the `error` parameter.
    ///
    /// ```
    /// use oauth2_provider::ErrorCode;
    /// assert_eq!(ErrorCode::InvalidGrant.as_str(), "invalid_grant");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InvalidTarget => "invalid_target",
        }
    }

    /// The HTTP status the RFCs give this code when it is answered directly
    /// (not through a redirect).
    ///
    /// `invalid_client` and `invalid_token` are 401, `insufficient_scope` is
    /// 403, `server_error` is 500, `temporarily_unavailable` is 503, and every
    /// other code is 400 (RFC 6749 §5.2, RFC 6750 §3.1).
    pub const fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => 401,
            ErrorCode::InsufficientScope => 403,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error: a code, a human-readable description, and whether the
/// authorization endpoint may deliver it to the client's redirect URI.
///
/// Descriptions are cleaned on construction so they only hold the characters
/// RFC 6749 allows in `error_description` (`%x20-21 / %x23-5B / %x5D-7E`):
/// anything else becomes `?`. That keeps host data (a client id with a quote,
/// a control character) from breaking the JSON or header it ends up in.
///
/// ```
/// use oauth2_provider::{ErrorCode, OAuthError};
/// let e = OAuthError::new(ErrorCode::InvalidRequest, "missing \"code\"\n");
/// assert_eq!(e.description(), "missing ?code??");
/// assert_eq!(e.status(), 400);
/// assert!(e.may_redirect());
/// assert!(!OAuthError::no_redirect(ErrorCode::InvalidRequest, "bad redirect_uri").may_redirect());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthError {
    code: ErrorCode,
    description: Cow<'static, str>,
    redirectable: bool,
}

impl OAuthError {
    /// An error that the authorization endpoint may redirect to the client.
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            code,
            description: sanitize_description(description.into()),
            redirectable: true,
        }
    }

    /// An error that must be shown to the user agent and never redirected:
    /// a missing or unknown client, or a missing, invalid or mismatched
    /// redirect URI (RFC 6749 §4.1.2.1, first paragraph).
    pub fn no_redirect(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            redirectable: false,
            ..OAuthError::new(code, description)
        }
    }

    /// `invalid_request` with the given description.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError::new(ErrorCode::InvalidRequest, description)
    }

    /// `server_error`: what a validator returns when its storage fails.
    pub fn server_error(description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError::new(ErrorCode::ServerError, description)
    }

    /// `invalid_request` naming a parameter given more than once
    /// (RFC 6749 §3.1 and §3.2).
    pub fn duplicate_parameter(name: &str) -> Self {
        OAuthError::invalid_request(format!("parameter '{name}' is repeated"))
    }

    /// `invalid_request` naming a required parameter that is missing.
    pub fn missing_parameter(name: &str) -> Self {
        OAuthError::invalid_request(format!("missing required parameter '{name}'"))
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The `error_description`, already restricted to the RFC's characters.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The HTTP status of a direct error response.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// Whether the authorization endpoint may send this error to the
    /// client's redirect URI.
    pub fn may_redirect(&self) -> bool {
        self.redirectable
    }
}

impl fmt::Debug for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthError")
            .field("code", &self.code.as_str())
            .field("description", &self.description)
            .field("may_redirect", &self.redirectable)
            .finish()
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

/// Whether `b` may appear in `error_description` (RFC 6749 §5.2).
pub(crate) const fn is_description_byte(b: u8) -> bool {
    matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

fn sanitize_description(text: Cow<'static, str>) -> Cow<'static, str> {
    if text.bytes().all(is_description_byte) {
        return text;
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_ascii() && is_description_byte(c as u8) {
                    c
                } else {
                    '?'
                }
            })
            .collect(),
    )
}
