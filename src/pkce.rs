//! Proof Key for Code Exchange (RFC 7636): verifier and challenge syntax,
//! the `S256` and `plain` methods, and a constant-time check.
//!
//! ```
//! use oauth2_provider::pkce::{s256_challenge, verify, ChallengeMethod};
//! // RFC 7636 appendix B
//! let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
//! let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
//! assert_eq!(s256_challenge(verifier).as_str(), challenge);
//! assert!(verify(verifier, challenge, ChallengeMethod::S256));
//! ```

use std::fmt;

use crate::secret::{constant_time_eq, fixed_len_eq, sha256};
use crate::token::base64url_32;

/// A `code_challenge_method` (RFC 7636 §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChallengeMethod {
    /// `plain`: the challenge is the verifier. Only for clients that cannot
    /// do SHA-256; off unless the server allows it.
    Plain,
    /// `S256`: the challenge is `BASE64URL(SHA256(verifier))`.
    S256,
}

impl ChallengeMethod {
    /// The method's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ChallengeMethod::Plain => "plain",
            ChallengeMethod::S256 => "S256",
        }
    }

    /// Parses a method name (case-sensitive, as RFC 7636 registers them).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "plain" => Some(ChallengeMethod::Plain),
            "S256" => Some(ChallengeMethod::S256),
            _ => None,
        }
    }
}

impl fmt::Display for ChallengeMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `s` is 43 to 128 characters of `ALPHA / DIGIT / "-" / "." / "_" / "~"`:
/// the syntax of both `code_verifier` (§4.1) and `code_challenge` (§4.2).
///
/// ```
/// use oauth2_provider::pkce::is_valid_verifier;
/// assert!(is_valid_verifier(&"a".repeat(43)));
/// assert!(!is_valid_verifier(&"a".repeat(42)));
/// assert!(!is_valid_verifier(&"a".repeat(129)));
/// assert!(!is_valid_verifier(&format!("{}+", "a".repeat(43))));
/// ```
pub fn is_valid_verifier(s: &str) -> bool {
    // A table and no early exit: a verifier is checked on every exchange.
    (43..=128).contains(&s.len()) && s.bytes().fold(true, |ok, b| ok & UNRESERVED[b as usize])
}

/// RFC 3986 §2.3 unreserved characters (the verifier alphabet), by byte.
static UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~');
        b += 1;
    }
    table
};

/// Whether `s` is a syntactically valid `code_challenge` for `method`.
/// For `S256` it must be exactly 43 base64url characters (a SHA-256 digest).
pub fn is_valid_challenge(s: &str, method: ChallengeMethod) -> bool {
    match method {
        ChallengeMethod::Plain => is_valid_verifier(s),
        ChallengeMethod::S256 => {
            s.len() == S256_CHALLENGE_LEN
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
    }
}

/// The length of an `S256` challenge: 32 bytes in unpadded base64url.
pub const S256_CHALLENGE_LEN: usize = 43;

/// An `S256` challenge, held inline (no allocation).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct S256Challenge([u8; S256_CHALLENGE_LEN]);

impl S256Challenge {
    /// The challenge text.
    pub fn as_str(&self) -> &str {
        // Only base64url characters are ever written here.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Debug for S256Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `BASE64URL-ENCODE(SHA256(ASCII(verifier)))` (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> S256Challenge {
    S256Challenge(base64url_32(&sha256(verifier.as_bytes())))
}

/// Whether `verifier` matches the stored `challenge` under `method`
/// (RFC 7636 §4.6), comparing in constant time. A verifier of invalid
/// syntax never matches.
pub fn verify(verifier: &str, challenge: &str, method: ChallengeMethod) -> bool {
    is_valid_verifier(verifier) && matches(verifier, challenge, method)
}

/// [`verify`] for a verifier whose syntax the caller has checked (the code
/// exchange does, to answer a malformed one with its own error).
pub(crate) fn matches(verifier: &str, challenge: &str, method: ChallengeMethod) -> bool {
    match method {
        ChallengeMethod::S256 => {
            // Both sides have a fixed, public length: a length mismatch only
            // says the stored challenge is malformed.
            <&[u8; S256_CHALLENGE_LEN]>::try_from(challenge.as_bytes())
                .is_ok_and(|challenge| fixed_len_eq(&s256_challenge(verifier).0, challenge))
        }
        ChallengeMethod::Plain => constant_time_eq(verifier.as_bytes(), challenge.as_bytes()),
    }
}
