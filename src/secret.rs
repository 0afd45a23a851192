//! Constant-time comparison of secrets, and the forms a stored client
//! secret may take.
//!
//! Comparisons never leak length: both sides are hashed with SHA-256 and
//! the fixed-size digests are compared with `subtle`. Every secret-bearing
//! type prints `***` in `Debug`.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 digest of `data`.
///
/// ```
/// let d = oauth2_provider::secret::sha256(b"abc");
/// assert_eq!(d[0], 0xba);
/// ```
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Compares two byte strings in time that depends on neither their
/// contents nor which of them is longer: it compares their SHA-256 digests.
///
/// ```
/// use oauth2_provider::secret::constant_time_eq;
/// assert!(constant_time_eq(b"s3cret", b"s3cret"));
/// assert!(!constant_time_eq(b"s3cret", b"s3cret-and-more"));
/// ```
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    fixed_len_eq(&sha256(a), &sha256(b))
}

/// Whether two arrays of one public length are equal, in time independent
/// of their contents: `subtle`'s `ConstantTimeEq`, whose `Choice` becomes a
/// `bool` only here, at the decision. The length is part of the type, so
/// nothing about it can leak.
pub(crate) fn fixed_len_eq<const N: usize>(a: &[u8; N], b: &[u8; N]) -> bool {
    bool::from(a.ct_eq(b))
}

/// A client secret as the host stores it: the plaintext, or the SHA-256
/// digest of the plaintext (so a leaked client table does not leak
/// secrets). Borrowed from the host's record.
///
/// ```
/// use oauth2_provider::secret::{sha256, StoredSecret};
/// assert!(StoredSecret::Plain("conf-secret").verify("conf-secret"));
/// let digest = sha256(b"conf-secret");
/// assert!(StoredSecret::Sha256(&digest).verify("conf-secret"));
/// assert!(!StoredSecret::Sha256(&digest).verify("conf-secreT"));
/// ```
#[derive(Clone, Copy)]
pub enum StoredSecret<'a> {
    /// The secret itself.
    Plain(&'a str),
    /// SHA-256 of the secret's UTF-8 bytes.
    Sha256(&'a [u8; 32]),
}

impl StoredSecret<'_> {
    /// Whether `presented` is this secret, in constant time.
    pub fn verify(&self, presented: &str) -> bool {
        let presented = sha256(presented.as_bytes());
        let stored = match self {
            StoredSecret::Plain(s) => sha256(s.as_bytes()),
            StoredSecret::Sha256(d) => **d,
        };
        fixed_len_eq(&presented, &stored)
    }
}

impl fmt::Debug for StoredSecret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoredSecret::Plain(_) => f.write_str("Plain(***)"),
            StoredSecret::Sha256(_) => f.write_str("Sha256(***)"),
        }
    }
}

/// Parses 64 hexadecimal digits into a SHA-256 digest.
///
/// ```
/// use oauth2_provider::secret::{parse_sha256_hex, sha256};
/// let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
/// assert_eq!(parse_sha256_hex(hex), Some(sha256(b"abc")));
/// assert_eq!(parse_sha256_hex("ba78"), None);
/// ```
pub fn parse_sha256_hex(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    // Without branches on the digits (they encode a secret's digest), and
    // in a few instructions each: C hosts hand a digest over per request.
    let mut invalid = 0u8;
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let (high, low) = (hex_digit(pair[0]), hex_digit(pair[1]));
        invalid |= (high | low) & 0xF0;
        out[i] = high << 4 | (low & 0x0F);
    }
    (invalid == 0).then_some(out)
}

/// The value of a hexadecimal digit (either case), or `0xFF`.
const fn hex_digit(c: u8) -> u8 {
    let decimal = c.wrapping_sub(b'0');
    let letter = (c | 0x20).wrapping_sub(b'a');
    if decimal < 10 {
        decimal
    } else if letter < 6 {
        letter + 10
    } else {
        0xFF
    }
}

/// An owned secret (a client secret, a password, a token) whose `Debug`
/// prints `***` and whose equality is constant-time.
///
/// ```
/// use oauth2_provider::Secret;
/// let s = Secret::new("hunter2");
/// assert_eq!(format!("{s:?}"), "Secret(***)");
/// assert_eq!(s, Secret::new("hunter2"));
/// assert_eq!(s.expose(), "hunter2");
/// ```
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// The secret itself. Named so that every use stands out in review.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` equals this secret, in constant time.
    pub fn verify(&self, presented: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), presented.as_bytes())
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.verify(&other.0)
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

#[cfg(test)]
mod tests {
    use super::fixed_len_eq;

    fn every_single_bit_difference_is_seen<const N: usize>() {
        let a: [u8; N] = std::array::from_fn(|i| (i * 37 + 11) as u8);
        assert!(fixed_len_eq(&a, &a));
        for byte in 0..N {
            for bit in 0..8 {
                let mut b = a;
                b[byte] ^= 1 << bit;
                assert!(!fixed_len_eq(&a, &b), "byte {byte}, bit {bit}");
            }
        }
    }

    #[test]
    fn fixed_len_eq_sees_every_bit() {
        every_single_bit_difference_is_seen::<32>(); // digests
        every_single_bit_difference_is_seen::<43>(); // S256 challenges
        every_single_bit_difference_is_seen::<1>();
    }
}
