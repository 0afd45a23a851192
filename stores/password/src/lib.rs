//! Resource owner passwords at rest, for the stores of `oauth2-provider`
//! (SQLite, PostgreSQL): PBKDF2-HMAC-SHA256 at 600,000 iterations
//! (OWASP's 2023 figure) with a 16-byte random salt from the operating
//! system, kept as `$pbkdf2-sha256$i=<iterations>$<salt hex>$<hash hex>`
//! (PHC's layout, in hexadecimal). One crate so every store writes and
//! reads the same form: a user moved from one store to another keeps their
//! password.
//!
//! ```
//! let stored = oauth2_provider_password::hash("wonderland").unwrap();
//! assert!(oauth2_provider_password::verify("wonderland", &stored));
//! assert!(!oauth2_provider_password::verify("wonderlanD", &stored));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;

use oauth2_provider::secret::constant_time_eq;
use pbkdf2::pbkdf2_hmac_array;
use pbkdf2::sha2::Sha256;

/// Iterations for new hashes. Verification uses the count stored with
/// each hash, so raising this leaves old hashes valid.
pub const ITERATIONS: u32 = 600_000;

const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
const PREFIX: &str = "$pbkdf2-sha256$i=";

/// The operating system supplied no randomness for a salt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRandomness;

impl fmt::Display for NoRandomness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operating system supplied no randomness")
    }
}

impl std::error::Error for NoRandomness {}

/// A fresh hash of `password` in the stored form, with a new salt.
pub fn hash(password: &str) -> Result<String, NoRandomness> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(|_| NoRandomness)?;
    let derived = pbkdf2_hmac_array::<Sha256, HASH_LEN>(password.as_bytes(), &salt, ITERATIONS);
    Ok(format!(
        "{PREFIX}{ITERATIONS}${}${}",
        hex(&salt),
        hex(&derived)
    ))
}

/// Whether `password` matches `stored`, comparing the derived keys in
/// constant time. A malformed `stored` matches nothing, after the same
/// work as a wrong password.
pub fn verify(password: &str, stored: &str) -> bool {
    match parse(stored) {
        Some((iterations, salt, expected)) => {
            let derived =
                pbkdf2_hmac_array::<Sha256, HASH_LEN>(password.as_bytes(), &salt, iterations);
            constant_time_eq(&derived, &expected)
        }
        None => {
            burn(password);
            false
        }
    }
}

/// The cost of one verification, for a user that does not exist: the
/// answer takes as long as for a wrong password, so timing tells no one
/// which users exist.
pub fn burn(password: &str) {
    let _ = pbkdf2_hmac_array::<Sha256, HASH_LEN>(password.as_bytes(), &[0; SALT_LEN], ITERATIONS);
}

fn parse(stored: &str) -> Option<(u32, [u8; SALT_LEN], [u8; HASH_LEN])> {
    let mut parts = stored.strip_prefix(PREFIX)?.split('$');
    let iterations: u32 = parts.next()?.parse().ok().filter(|&i| i > 0)?;
    let salt = unhex(parts.next()?)?;
    let hash = unhex(parts.next()?)?;
    parts.next().is_none().then_some((iterations, salt, hash))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("wonderland").unwrap();
        assert!(stored.starts_with("$pbkdf2-sha256$i=600000$"));
        assert!(!stored.contains("wonderland"));
        assert!(verify("wonderland", &stored));
        assert!(!verify("wonderlanD", &stored));
        assert_ne!(stored, hash("wonderland").unwrap(), "salts differ");
    }

    #[test]
    fn malformed_hashes_match_nothing() {
        for stored in [
            "",
            "$pbkdf2-sha256$i=0$00$00",
            "plain",
            "$pbkdf2-sha256$i=1$zz$zz",
        ] {
            assert!(!verify("", stored), "{stored}");
        }
    }
}
