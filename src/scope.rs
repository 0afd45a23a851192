//! Scopes (RFC 6749 §3.3): a space-delimited list of scope tokens.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use crate::error::{ErrorCode, OAuthError};

/// A set of scope tokens, kept as one normalised space-delimited string
/// (single spaces, no duplicates, request order).
///
/// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
///
/// The text is shared: a clone (a token saved with its scope, a code's
/// scope handed to the tokens it issues) costs no copy.
///
/// ```
/// use oauth2_provider::Scope;
/// let s = Scope::parse("read  write read").unwrap();
/// assert_eq!(s.as_str(), "read write");
/// assert!(Scope::parse("read").unwrap().is_subset_of(&s));
/// assert!(Scope::parse("bad\"quote").is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope(Option<Arc<str>>);

impl Scope {
    /// The empty scope.
    pub const fn empty() -> Self {
        Scope(None)
    }

    /// Parses a `scope` parameter. Malformed tokens give `invalid_scope`.
    pub fn parse(text: &str) -> Result<Self, OAuthError> {
        // The normalised form is copied out of `text` only once `text`
        // turns out not to be normalised (an extra space, a duplicate);
        // until then it is `text[..end]`, and the usual scope is shared
        // as it came, one allocation.
        let mut copy: Option<String> = None;
        let mut end = 0;
        // Duplicates are found by scanning the normalised form while it is
        // short, then through a set, so that a hostile scope of many
        // tokens costs linear time rather than quadratic.
        let mut seen: Option<HashSet<&str>> = None;
        for token in text.split(' ') {
            let start = token.as_ptr() as usize - text.as_ptr() as usize;
            if token.is_empty() {
                copy.get_or_insert_with(|| copy_of(&text[..end], text.len()));
                continue;
            }
            if !token.bytes().all(is_scope_byte) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "scope contains a character outside the scope-token syntax",
                ));
            }
            let normalised = copy.as_deref().unwrap_or(&text[..end]);
            let is_new = match &mut seen {
                Some(set) => set.insert(token),
                None => !normalised.split_ascii_whitespace().any(|t| t == token),
            };
            if !is_new {
                copy.get_or_insert_with(|| copy_of(&text[..end], text.len()));
                continue;
            }
            let normalised_len = match &mut copy {
                Some(out) => {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(token);
                    out.len()
                }
                None => {
                    end = start + token.len();
                    end
                }
            };
            if seen.is_none() && normalised_len > LINEAR_SCAN_LIMIT {
                // Every token up to and including this one, from `text`.
                let upto = start + token.len();
                seen = Some(text[..upto].split(' ').filter(|t| !t.is_empty()).collect());
            }
        }
        let normalised = copy.as_deref().unwrap_or(&text[..end]);
        Ok(Scope(
            (!normalised.is_empty()).then(|| Arc::from(normalised)),
        ))
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
        self.0.as_deref().unwrap_or("")
    }

    /// The normalised space-delimited form, owned.
    pub fn into_string(self) -> String {
        String::from(self.as_str())
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The tokens.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        // Tokens hold no whitespace, and the form has single spaces: the
        // byte-predicate split is exact, and costs less than `split(' ')`'s
        // searcher on a few short tokens.
        self.as_str().split_ascii_whitespace()
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
        if other.as_str().len() <= LINEAR_SCAN_LIMIT {
            return self.iter().all(|t| other.contains(t));
        }
        let known: HashSet<&str> = other.iter().collect();
        self.iter().all(|t| known.contains(t))
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({:?})", self.as_str())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `normalised`, owned, with room for what `text_len` may still add.
fn copy_of(normalised: &str, text_len: usize) -> String {
    let mut out = String::with_capacity(text_len);
    out.push_str(normalised);
    out
}

/// Up to this many bytes of normalised scope, duplicates are found by a scan.
const LINEAR_SCAN_LIMIT: usize = 256;

/// Whether `token` is one scope token (RFC 6749 §3.3):
/// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, so not empty and
/// without spaces, quotes, backslashes or control characters.
///
/// ```
/// use oauth2_provider::scope::is_scope_token;
/// assert!(is_scope_token("photos:read"));
/// assert!(!is_scope_token("") && !is_scope_token("a b") && !is_scope_token("a\"b"));
/// ```
pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(is_scope_byte)
}

const fn is_scope_byte(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scope of `text` the plain way: tokens, checked, first of each
    /// kept, joined by single spaces.
    fn reference(text: &str) -> Option<String> {
        let mut kept: Vec<&str> = Vec::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            if !token.bytes().all(is_scope_byte) {
                return None;
            }
            if !kept.contains(&token) {
                kept.push(token);
            }
        }
        Some(kept.join(" "))
    }

    /// Shared as it came or copied once not normalised, the result is the
    /// plain way's on every string of up to six symbols, and on long
    /// scopes past the linear scan, with spaces and duplicates on both
    /// sides of that limit.
    #[test]
    fn parse_agrees_with_the_plain_normalisation() {
        const ALPHABET: [&str; 6] = ["a", "b", "ab", " ", "  ", "\""];
        let mut inputs = Vec::new();
        for len in 0..=6u32 {
            for n in 0..ALPHABET.len().pow(len) {
                let mut rest = n;
                let mut text = String::new();
                for _ in 0..len {
                    text.push_str(ALPHABET[rest % ALPHABET.len()]);
                    rest /= ALPHABET.len();
                }
                inputs.push(text);
            }
        }
        let many: Vec<String> = (0..200).map(|i| format!("s{}", i % 70)).collect();
        inputs.push(many.join(" "));
        inputs.push(many.join("  "));
        inputs.push(format!(" {} s3 s150 ", many[..60].join(" ")));
        for text in inputs {
            let parsed = Scope::parse(&text).ok();
            assert_eq!(
                parsed.as_ref().map(Scope::as_str),
                reference(&text).as_deref(),
                "{text:?}"
            );
            if let Some(scope) = parsed {
                assert_eq!(scope.is_empty(), scope.as_str().is_empty());
                assert_eq!(scope, Scope::parse(scope.as_str()).unwrap());
            }
        }
    }
}
