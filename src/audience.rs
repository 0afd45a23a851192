//! Resource indicators (RFC 8707): the `resource` values a request names,
//! checked, and the [`Audience`] they give a grant and its tokens.
//!
//! One reading for every endpoint that takes `resource` (authorization,
//! token, and those to come: pushed and device authorization): each value
//! is an absolute URI without a fragment (§2) that the client may use
//! ([`Client::allows_resource`]), else `invalid_target`. A token's
//! audience is what was asked; later token requests may narrow a grant's
//! audience, never widen it (§2.2).
//!
//! ```
//! use oauth2_provider::audience::Audience;
//! let grant = Audience::parse(["https://a.example/", "https://b.example/"]).unwrap();
//! let asked = Audience::parse(["https://b.example/"]).unwrap();
//! assert_eq!(asked.clone().narrowing(&grant).unwrap(), asked);
//! assert_eq!(Audience::empty().narrowing(&grant).unwrap(), grant);
//! let wider = Audience::parse(["https://c.example/"]).unwrap();
//! assert_eq!(wider.narrowing(&grant).unwrap_err().code().as_str(), "invalid_target");
//! assert!(Audience::parse(["https://a.example/#top"]).is_err());
//! ```

use std::fmt;

use crate::client_auth::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::form::Params;
use crate::redirect_uri::is_absolute_without_fragment;

/// The resources a grant or a token is for (RFC 8707; the `aud` of RFC
/// 7662 §2.2): absolute URIs without fragments, each once, in the order
/// first asked. Empty: no audience restriction was asked for.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Audience {
    resources: Vec<String>,
}

/// Whether `uri` can be a `resource` value: an absolute URI (RFC 3986
/// §4.3) without a fragment (RFC 8707 §2), and without the spaces and
/// control characters no URI has (so that a store may keep an audience as
/// one space-separated string).
///
/// ```
/// use oauth2_provider::audience::is_resource_indicator;
/// assert!(is_resource_indicator("https://api.example.com/"));
/// assert!(is_resource_indicator("urn:example:api"));
/// assert!(!is_resource_indicator("/relative"));
/// assert!(!is_resource_indicator("https://api.example.com/#frag"));
/// assert!(!is_resource_indicator("https://api.example.com/a b"));
/// ```
pub fn is_resource_indicator(uri: &str) -> bool {
    is_absolute_without_fragment(uri)
}

fn invalid_target(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, description)
}

impl Audience {
    /// No audience.
    pub const fn empty() -> Self {
        Audience {
            resources: Vec::new(),
        }
    }

    /// The audience of the `resource` values given, checked for syntax:
    /// `invalid_target` for a value that is no absolute URI, or has a
    /// fragment (RFC 8707 §2). A value given twice counts once.
    pub fn parse<'r>(resources: impl IntoIterator<Item = &'r str>) -> Result<Self, OAuthError> {
        let mut audience = Audience::empty();
        for resource in resources {
            if !is_resource_indicator(resource) {
                return Err(invalid_target(
                    "resource must be an absolute URI without a fragment",
                ));
            }
            if !audience.contains(resource) {
                audience.resources.push(resource.to_owned());
            }
        }
        Ok(audience)
    }

    /// The `resource` values of a request, checked for syntax
    /// ([`parse`](Self::parse)) and against what the client may use
    /// ([`Client::allows_resource`]): `invalid_target` otherwise. What
    /// every endpoint taking `resource` calls.
    pub fn requested<C: Client + ?Sized>(
        params: &Params<'_>,
        client: &C,
    ) -> Result<Self, OAuthError> {
        let audience = Audience::parse(params.resources())?;
        audience.check_allowed(client)?;
        Ok(audience)
    }

    /// `invalid_target` unless the client may use every resource of the
    /// audience (least privilege: a client with none configured may use
    /// none).
    pub fn check_allowed<C: Client + ?Sized>(&self, client: &C) -> Result<(), OAuthError> {
        if self.iter().all(|r| client.allows_resource(r)) {
            Ok(())
        } else {
            Err(invalid_target(
                "the resource is not allowed for this client",
            ))
        }
    }

    /// The audience a token request gets from a grant of audience
    /// `granted`: the grant's when nothing is asked (`self` empty), what is
    /// asked when it lies within the grant's, else `invalid_target` (RFC
    /// 8707 §2.2: a token request may narrow a grant, never widen it).
    pub fn narrowing(self, granted: &Audience) -> Result<Audience, OAuthError> {
        if self.is_empty() {
            return Ok(granted.clone());
        }
        if self.is_subset_of(granted) {
            Ok(self)
        } else {
            Err(invalid_target(
                "the requested resource is not within those of the grant",
            ))
        }
    }

    /// Whether no resource was asked for.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// How many resources.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// The resources, in the order first asked.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> {
        self.resources.iter().map(String::as_str)
    }

    /// The resources as a slice.
    pub fn as_slice(&self) -> &[String] {
        &self.resources
    }

    /// Whether `resource` is one of them (exact string comparison, RFC
    /// 3986 §6.2.1, as for redirect URIs).
    pub fn contains(&self, resource: &str) -> bool {
        self.resources.iter().any(|r| r == resource)
    }

    /// Whether every resource of `self` is one of `other`'s.
    pub fn is_subset_of(&self, other: &Audience) -> bool {
        self.iter().all(|r| other.contains(r))
    }

    /// The resources as a store keeps them: one string, space-separated
    /// (no resource contains a space), empty for no audience.
    ///
    /// ```
    /// use oauth2_provider::audience::Audience;
    /// let audience = Audience::parse(["https://a.example/", "urn:b"]).unwrap();
    /// assert_eq!(audience.to_stored(), "https://a.example/ urn:b");
    /// assert_eq!(Audience::from_stored(&audience.to_stored()), audience);
    /// assert!(Audience::from_stored("").is_empty());
    /// ```
    pub fn to_stored(&self) -> String {
        self.resources.join(" ")
    }

    /// An audience as [`to_stored`](Self::to_stored) wrote it. A store
    /// reads back only what the library validated, so nothing is checked
    /// again; empty parts are skipped.
    pub fn from_stored(stored: &str) -> Self {
        Audience {
            resources: stored
                .split(' ')
                .filter(|r| !r.is_empty())
                .map(String::from)
                .collect(),
        }
    }

    /// The resources, for [`TokenInfo::aud`](crate::TokenInfo::aud).
    pub fn into_vec(self) -> Vec<String> {
        self.resources
    }
}

impl fmt::Debug for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.resources).finish()
    }
}
