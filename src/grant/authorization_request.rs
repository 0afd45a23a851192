//! A validated authorization request (RFC 6749 §4.1.1, §4.2.1): what the
//! authorization endpoint hands the host's consent page, and what the code
//! and implicit grants issue from once the user approves. It lives here,
//! below both the endpoint and the grants that share it.

use std::fmt;

use crate::audience::Audience;
use crate::pkce::ChallengeMethod;
use crate::response::ResponseMode;
use crate::scope::Scope;

/// The `response_type` of an authorization request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseType {
    /// `code`: the authorization code grant.
    Code,
    /// `token`: the implicit grant.
    Token,
}

impl ResponseType {
    /// The value on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ResponseType::Code => "code",
            ResponseType::Token => "token",
        }
    }

    /// Where the response parameters go.
    pub const fn response_mode(self) -> ResponseMode {
        match self {
            ResponseType::Code => ResponseMode::Query,
            ResponseType::Token => ResponseMode::Fragment,
        }
    }
}

/// A validated authorization request: what the consent page shows, and
/// what [`Server::authorize`](crate::Server::authorize) needs.
#[derive(Clone)]
pub struct AuthorizationRequest<C> {
    /// The client, as the validator returned it.
    pub client: C,
    /// The client identifier.
    pub client_id: String,
    /// Where the response goes: the `redirect_uri` sent, or the client's
    /// only registered one.
    pub redirect_uri: String,
    /// Whether `redirect_uri` was sent (then the token request must repeat it).
    pub redirect_uri_sent: bool,
    /// `code` or `token`.
    pub response_type: ResponseType,
    /// The requested scopes (or the client's default ones).
    pub scopes: Scope,
    /// The resources asked for (RFC 8707), checked: the grant's audience.
    /// Empty when the request named none.
    pub audience: Audience,
    /// The client's `state`, echoed back in the response.
    pub state: Option<String>,
    /// The PKCE challenge and method, if sent.
    pub code_challenge: Option<(String, ChallengeMethod)>,
    /// For a pushed request (RFC 9126), the SHA-256 digest of its
    /// `request_uri`: the response to it uses it up.
    pub pushed: Option<[u8; 32]>,
}

impl<C> fmt::Debug for AuthorizationRequest<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("response_type", &self.response_type)
            .field("scopes", &self.scopes)
            .field("audience", &self.audience)
            .field("state", &self.state)
            .field(
                "code_challenge_method",
                &self.code_challenge.as_ref().map(|c| c.1),
            )
            .field("pushed", &self.pushed.is_some())
            .finish_non_exhaustive()
    }
}
