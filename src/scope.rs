//! Scopes (RFC 6749 §3.3): a space-delimited list of scope tokens.

use std::collections::HashSet;
use std::fmt;

use crate::error::{ErrorCode, OAuthError};

/// A set of scope tokens, kept as one normalised space-delimited string
/// (single spaces, no duplicates, request order).
///
/// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
///
/// ```
/// use oauth2_provider::Scope;
/// let s = Scope::parse("read  write read").unwrap();
/// assert_eq!(s.as_str(), "read write");
/// assert!(Scope::parse("read").unwrap().is_subset_of(&s));
/// assert!(Scope::parse("bad\"quote").is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope(String);

impl Scope {
    /// The empty scope.
    pub const fn empty() -> Self {
        Scope(String::new())
    }

    /// Parses a `scope` parameter. Malformed tokens give `invalid_scope`.
    pub fn parse(text: &str) -> Result<Self, OAuthError> {
        let mut out = String::with_capacity(text.len());
        // Duplicates are found by scanning `out` while it is short, then
        // through a set, so that a hostile scope of many tokens costs linear
        // time rather than quadratic.
        let mut seen: Option<HashSet<&str>> = None;
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            if !token.bytes().all(is_scope_byte) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "scope contains a character outside the scope-token syntax",
                ));
            }
            let is_new = match &mut seen {
                Some(set) => set.insert(token),
                None => !out.split(' ').any(|t| t == token),
            };
            if !is_new {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(token);
            if seen.is_none() && out.len() > LINEAR_SCAN_LIMIT {
                // Every token up to and including this one, from `text`.
                let end = token.as_ptr() as usize - text.as_ptr() as usize + token.len();
                seen = Some(text[..end].split(' ').filter(|t| !t.is_empty()).collect());
            }
        }
        Ok(Scope(out))
    }

    /// A scope from tokens that are already known to be well-formed (for
    /// example a host's configuration). Malformed tokens are rejected the
    /// same way as in [`Scope::parse`].
    pub fn from_tokens<'s>(tokens: impl IntoIterator<Item = &'s str>) -> Result<Self, OAuthError> {
        let mut joined = String::new();
        for t in tokens {
            joined.push_str(t);
            joined.push(' ');
        }
        Scope::parse(&joined)
    }

    /// The normalised space-delimited form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normalised space-delimited form, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tokens.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split(' ').filter(|t| !t.is_empty())
    }

    /// Whether `token` is one of the tokens.
    pub fn contains(&self, token: &str) -> bool {
        self.iter().any(|t| t == token)
    }

    /// Whether every token of `self` is in `other`.
    ///
    /// Linear time however many tokens either has: a hostile refresh
    /// request or consent form must not cost the product of two long lists.
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        if other.0.len() <= LINEAR_SCAN_LIMIT {
            return self.iter().all(|t| other.contains(t));
        }
        let known: HashSet<&str> = other.iter().collect();
        self.iter().all(|t| known.contains(t))
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({:?})", self.0)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Up to this many bytes of normalised scope, duplicates are found by a scan.
const LINEAR_SCAN_LIMIT: usize = 256;

const fn is_scope_byte(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}
