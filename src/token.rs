//! Token generation and the bearer token response (RFC 6749 §5.1,
//! RFC 6750).
//!
//! ```
//! use oauth2_provider::token::{generate_token, BearerToken};
//! let access = generate_token().unwrap();
//! assert_eq!(access.len(), 43); // 256 bits, base64url without padding
//! let response = BearerToken::new(access, Some(3600)).with_scope("read").into_response();
//! assert_eq!(response.status, 200);
//! assert_eq!(response.header("cache-control"), Some("no-store"));
//! assert_eq!(response.header("pragma"), Some("no-cache"));
//! ```

use std::fmt;

use crate::error::OAuthError;
use crate::response::{push_decimal, write_json_string, Response};

/// Random bytes in a generated token: 256 bits.
pub const TOKEN_BYTES: usize = 32;

/// Generates a token: [`TOKEN_BYTES`] random bytes from the operating
/// system (`getrandom`), base64url-encoded without padding (43
/// characters). Fails only when the OS cannot supply randomness, as
/// `server_error`.
pub fn generate_token() -> Result<String, OAuthError> {
    let [token] = generate_tokens::<1>()?;
    Ok(token)
}

/// A token as [`generate_token`] makes it, after `prefix`, in one
/// allocation (a pushed request's URI, RFC 9126 §2.2).
pub(crate) fn generate_token_after(prefix: &str) -> Result<String, OAuthError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|_| no_randomness())?;
    let mut out = String::with_capacity(prefix.len() + BASE64URL_32_CHARS);
    out.push_str(prefix);
    out.push_str(std::str::from_utf8(&base64url_32(&bytes)).unwrap_or_default());
    Ok(out)
}

/// Generates `N` tokens as [`generate_token`] does, in one call to the
/// operating system: a grant issuing an access and a refresh token asks once.
///
/// ```
/// use oauth2_provider::token::generate_tokens;
/// let [access, refresh] = generate_tokens::<2>().unwrap();
/// assert_eq!((access.len(), refresh.len()), (43, 43));
/// assert_ne!(access, refresh);
/// ```
pub fn generate_tokens<const N: usize>() -> Result<[String; N], OAuthError> {
    tokens_from(|bytes| getrandom::fill(bytes).map_err(|_| no_randomness()))
}

#[cold]
fn no_randomness() -> OAuthError {
    OAuthError::server_error("no randomness available")
}

/// `N` tokens from `N` × [`TOKEN_BYTES`] bytes that one call of `fill`
/// writes.
fn tokens_from<const N: usize>(
    fill: impl FnOnce(&mut [u8]) -> Result<(), OAuthError>,
) -> Result<[String; N], OAuthError> {
    let mut raw = [[0u8; TOKEN_BYTES]; N];
    fill(raw.as_flattened_mut())?;
    Ok(raw.map(|bytes| token_from_bytes(&bytes)))
}

/// The token made of `bytes`: base64url without padding, 43 characters.
///
/// ```
/// use oauth2_provider::token::token_from_bytes;
/// assert_eq!(token_from_bytes(&[0; 32]), "A".repeat(43));
/// ```
pub fn token_from_bytes(bytes: &[u8; TOKEN_BYTES]) -> String {
    // Encoded on the stack, then copied once.
    let text = base64url_32(bytes);
    std::str::from_utf8(&text).unwrap_or_default().to_owned()
}

/// Characters of 32 bytes in base64url without padding: a generated token,
/// an `S256` challenge.
pub(crate) const BASE64URL_32_CHARS: usize = 43;

/// 32 bytes in base64url without padding (RFC 4648 §5). By hand, six bytes
/// into eight characters per step: the `base64` crate's general encoder
/// costs several times as much on inputs this short, and every token and
/// PKCE check encodes one.
pub(crate) fn base64url_32(bytes: &[u8; 32]) -> [u8; BASE64URL_32_CHARS] {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = [0u8; BASE64URL_32_CHARS];
    // Five steps of six bytes (read as the top of a big-endian word) make
    // 40 characters; the last two bytes make three.
    for (step, chars) in out[..40].chunks_exact_mut(8).enumerate() {
        let mut word = [0u8; 8];
        word[..6].copy_from_slice(&bytes[step * 6..step * 6 + 6]);
        let bits = u64::from_be_bytes(word);
        for (i, c) in chars.iter_mut().enumerate() {
            *c = ALPHABET[(bits >> (58 - 6 * i)) as usize & 63];
        }
    }
    let bits = u32::from(bytes[30]) << 16 | u32::from(bytes[31]) << 8;
    for (i, c) in out[40..].iter_mut().enumerate() {
        *c = ALPHABET[(bits >> (18 - 6 * i)) as usize & 63];
    }
    out
}

/// What a generated value will be used as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// An access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
    /// An authorization code.
    AuthorizationCode,
    /// A grant (token family) identifier, used to revoke every token issued
    /// from one authorization at once.
    GrantId,
    /// A device code (RFC 8628 §3.2), the device's secret while it polls.
    DeviceCode,
    /// The random value a user code (RFC 8628 §6.1) is made from: the
    /// server conditions it through SHA-256 into the user code's alphabet
    /// ([`device::user_code_from`](crate::device::user_code_from)), never
    /// using it as it is.
    UserCode,
}

/// The most values one request makes: an access token, a refresh token
/// and a new grant id. An authorization code and its grant id are two.
pub const MAX_VALUES_PER_REQUEST: usize = 3;

/// Makes the opaque values the server hands out. The default,
/// [`RandomTokenGenerator`], suits almost everyone; a host can plug in its
/// own (structured tokens, a prefix per kind, a test sequence), or its own
/// source of random bytes with [`FillTokenGenerator`].
///
/// Implementations are called concurrently from every thread that serves
/// requests.
pub trait TokenGenerator: Send + Sync {
    /// A fresh, unguessable value for `kind`.
    fn generate(&self, kind: TokenKind) -> Result<String, OAuthError>;

    /// Fresh values for everything one request issues, `kinds[i]` into
    /// `out[i]`: an access token (with a refresh token, and a grant id when
    /// the refresh token starts a family), or an authorization code and its
    /// grant id. The server asks once per request, with one to
    /// [`MAX_VALUES_PER_REQUEST`] kinds and as many empty strings in `out`;
    /// after an error it uses none of them.
    ///
    /// Default: [`generate`](Self::generate) for each kind in turn.
    /// [`RandomTokenGenerator`] and [`FillTokenGenerator`] draw the bytes
    /// of all of them at once.
    fn generate_all(&self, kinds: &[TokenKind], out: &mut [String]) -> Result<(), OAuthError> {
        for (kind, value) in kinds.iter().zip(out) {
            *value = self.generate(*kind)?;
        }
        Ok(())
    }
}

/// The default generator: [`TOKEN_BYTES`] bytes from the operating system
/// (`getrandom`) per value, base64url ([`token_from_bytes`]), the values of
/// one request from one call. Nothing is kept between calls: no state to
/// leak, to replay from a restored snapshot, or to share with a forked
/// child.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomTokenGenerator;

impl TokenGenerator for RandomTokenGenerator {
    fn generate(&self, _kind: TokenKind) -> Result<String, OAuthError> {
        generate_token()
    }

    fn generate_all(&self, _kinds: &[TokenKind], out: &mut [String]) -> Result<(), OAuthError> {
        fill_values(out, |bytes| {
            getrandom::fill(bytes).map_err(|_| no_randomness())
        })
    }
}

/// A generator over random bytes the host supplies (a hardware generator,
/// OpenSSL's `RAND_bytes`): `fill` is asked for [`TOKEN_BYTES`] bytes per
/// value, all the values of one request in one call (up to
/// [`MAX_VALUES_PER_REQUEST`] × [`TOKEN_BYTES`] bytes), and each value is
/// its bytes in base64url ([`token_from_bytes`]). The bytes are the tokens:
/// they must be unpredictable. An error from `fill` fails the request with
/// it (a `server_error`, say) before anything is saved.
///
/// ```
/// use oauth2_provider::token::{FillTokenGenerator, TokenGenerator, TokenKind};
/// let zeros = FillTokenGenerator::new(|bytes: &mut [u8]| {
///     bytes.fill(0); // a test source; use a real one
///     Ok(())
/// });
/// assert_eq!(zeros.generate(TokenKind::AccessToken).unwrap(), "A".repeat(43));
/// ```
pub struct FillTokenGenerator<F> {
    fill: F,
}

impl<F> FillTokenGenerator<F>
where
    F: Fn(&mut [u8]) -> Result<(), OAuthError> + Send + Sync,
{
    /// A generator drawing its bytes from `fill`.
    pub fn new(fill: F) -> Self {
        FillTokenGenerator { fill }
    }
}

impl<F> TokenGenerator for FillTokenGenerator<F>
where
    F: Fn(&mut [u8]) -> Result<(), OAuthError> + Send + Sync,
{
    fn generate(&self, _kind: TokenKind) -> Result<String, OAuthError> {
        let [token] = tokens_from(&self.fill)?;
        Ok(token)
    }

    fn generate_all(&self, _kinds: &[TokenKind], out: &mut [String]) -> Result<(), OAuthError> {
        fill_values(out, &self.fill)
    }
}

impl<F> fmt::Debug for FillTokenGenerator<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FillTokenGenerator")
    }
}

/// Fills every string of `out` with a token, the bytes of up to
/// [`MAX_VALUES_PER_REQUEST`] of them from one call of `fill`.
fn fill_values(
    out: &mut [String],
    fill: impl Fn(&mut [u8]) -> Result<(), OAuthError>,
) -> Result<(), OAuthError> {
    let mut raw = [[0u8; TOKEN_BYTES]; MAX_VALUES_PER_REQUEST];
    for values in out.chunks_mut(MAX_VALUES_PER_REQUEST) {
        let raw = &mut raw[..values.len()];
        fill(raw.as_flattened_mut())?;
        for (value, bytes) in values.iter_mut().zip(raw.iter()) {
            *value = token_from_bytes(bytes);
        }
    }
    Ok(())
}

/// A successful token response (RFC 6749 §5.1) of type `Bearer`.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken {
    /// The access token.
    pub access_token: String,
    /// Lifetime in seconds, if the token expires.
    pub expires_in: Option<u64>,
    /// The refresh token, if one was issued.
    pub refresh_token: Option<String>,
    /// The granted scope, space-separated, when it is to be reported.
    pub scope: Option<String>,
}

impl BearerToken {
    /// A token response with no refresh token and no scope.
    pub fn new(access_token: String, expires_in: Option<u64>) -> Self {
        BearerToken {
            access_token,
            expires_in,
            refresh_token: None,
            scope: None,
        }
    }

    /// Sets the reported scope.
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Sets the refresh token.
    pub fn with_refresh_token(mut self, refresh_token: String) -> Self {
        self.refresh_token = Some(refresh_token);
        self
    }

    /// The JSON body of RFC 6749 §5.1.
    ///
    /// ```
    /// use oauth2_provider::token::BearerToken;
    /// let t = BearerToken::new("2YotnFZFEjr1zCsicMWpAA".into(), Some(3600))
    ///     .with_refresh_token("tGzv3JOkF0XG5Qx2TlKWIA".into());
    /// assert_eq!(
    ///     t.to_json(),
    ///     r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer","expires_in":3600,"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA"}"#
    /// );
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(
            96 + self.access_token.len()
                + self.refresh_token.as_ref().map_or(0, |r| r.len() + 20)
                + self.scope.as_ref().map_or(0, |s| s.len() + 12),
        );
        // The keys are constants without escapes: each is written with its
        // punctuation in one piece; only the values go through the escaper.
        out.push_str("{\"access_token\":");
        write_json_string(&mut out, &self.access_token);
        out.push_str(",\"token_type\":\"Bearer\"");
        if let Some(expires_in) = self.expires_in {
            out.push_str(",\"expires_in\":");
            push_decimal(&mut out, expires_in);
        }
        if let Some(refresh) = &self.refresh_token {
            out.push_str(",\"refresh_token\":");
            write_json_string(&mut out, refresh);
        }
        if let Some(scope) = &self.scope {
            out.push_str(",\"scope\":");
            write_json_string(&mut out, scope);
        }
        out.push('}');
        out
    }

    /// The `200` JSON response with `Cache-Control: no-store` and
    /// `Pragma: no-cache`.
    pub fn into_response(self) -> Response {
        Response::json_no_store(200, self.to_json())
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken")
            .field("access_token", &"***")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("scope", &self.scope)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    /// The hand encoder agrees with the `base64` crate: each bit of each
    /// byte alone, all ones, and a few thousand pseudo-random inputs.
    #[test]
    fn base64url_agrees_with_the_crate() {
        let mut inputs = vec![[0u8; 32], [0xFF; 32]];
        for at in 0..32 {
            for bit in 0..8 {
                let mut bytes = [0u8; 32];
                bytes[at] = 1 << bit;
                inputs.push(bytes);
            }
        }
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..4096 {
            let mut bytes = [0u8; 32];
            for b in &mut bytes {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *b = (state >> 56) as u8;
            }
            inputs.push(bytes);
        }
        for bytes in inputs {
            assert_eq!(
                base64url_32(&bytes).as_slice(),
                URL_SAFE_NO_PAD.encode(bytes).as_bytes()
            );
        }
    }
}
