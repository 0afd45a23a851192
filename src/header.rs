//! The `Authorization` request header (HTTP Basic, RFC 7617 with the
//! RFC 6749 §2.3.1 encoding; Bearer, RFC 6750 §2.1) and the
//! `WWW-Authenticate` challenges answered on failure.
//!
//! Parsing never allocates: Basic credentials are decoded into a buffer the
//! caller provides (percent-decoding happens in place), Bearer tokens are
//! slices of the header value.
//!
//! ```
//! use oauth2_provider::header::{parse_basic, parse_bearer, BASIC_BUFFER_LEN};
//! let mut buf = [0u8; BASIC_BUFFER_LEN];
//! // "s6BhdRkqt3:gX1fBat3bV" (RFC 6749 §2.3.1)
//! let creds = parse_basic("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW", &mut buf).unwrap();
//! assert_eq!((creds.client_id, creds.client_secret), ("s6BhdRkqt3", "gX1fBat3bV"));
//! assert_eq!(parse_bearer("bearer mF_9.B5f-4.1JqM").unwrap(), "mF_9.B5f-4.1JqM");
//! ```

use std::fmt;

use base64::Engine;

use crate::error::OAuthError;
use crate::form;
use crate::scan::{eq_ignore_ascii_case, has_form_escape};

/// Why an `Authorization` header was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// The header uses another authentication scheme.
    WrongScheme,
    /// The scheme is not followed by a space and credentials.
    MissingCredentials,
    /// The credentials hold a character outside the token68 / b64token
    /// syntax: whitespace inside them, non-ASCII, or punctuation.
    InvalidCharacter,
    /// Basic credentials that are not valid base64.
    InvalidBase64,
    /// Decoded Basic credentials without the `:` between id and secret.
    MissingColon,
    /// Decoded Basic credentials with a bad `%XX` escape.
    InvalidPercentEncoding,
    /// Decoded Basic credentials that are not UTF-8.
    InvalidUtf8,
    /// Basic credentials with an empty client identifier.
    EmptyClientId,
    /// Basic credentials longer than the caller's buffer.
    TooLong,
}

impl HeaderError {
    /// A short description, suitable for `error_description`.
    pub fn description(self) -> &'static str {
        match self {
            HeaderError::WrongScheme => "unsupported authorization scheme",
            HeaderError::MissingCredentials => "authorization header has no credentials",
            HeaderError::InvalidCharacter => {
                "authorization header credentials contain an invalid character"
            }
            HeaderError::InvalidBase64 => "Basic credentials are not valid base64",
            HeaderError::MissingColon => "Basic credentials lack the ':' separator",
            HeaderError::InvalidPercentEncoding => {
                "Basic credentials have malformed percent-encoding"
            }
            HeaderError::InvalidUtf8 => "Basic credentials are not valid UTF-8",
            HeaderError::EmptyClientId => "Basic credentials have an empty client identifier",
            HeaderError::TooLong => "Basic credentials are too long",
        }
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for HeaderError {}

impl From<HeaderError> for OAuthError {
    fn from(e: HeaderError) -> Self {
        OAuthError::invalid_request(e.description())
    }
}

/// A buffer size that holds any Basic credentials this crate accepts
/// (client identifier and secret together, 1 KiB once decoded).
pub const BASIC_BUFFER_LEN: usize = 1024;

/// Client credentials decoded from a Basic `Authorization` header.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BasicCredentials<'b> {
    /// The user-id part: the client identifier, form-decoded.
    pub client_id: &'b str,
    /// The password part: the client secret, form-decoded.
    pub client_secret: &'b str,
}

impl fmt::Debug for BasicCredentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .finish()
    }
}

/// Splits an `Authorization` value into its scheme and credentials,
/// checking the credentials against the token68 syntax (RFC 9110 §11.2):
/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
///
/// Surrounding whitespace is ignored; the scheme and credentials are
/// separated by one or more spaces; nothing may follow the credentials.
///
/// ```
/// use oauth2_provider::header::{split_credentials, HeaderError};
/// assert_eq!(split_credentials(" Bearer  abc== ").unwrap(), ("Bearer", "abc=="));
/// assert_eq!(split_credentials("Bearer a b"), Err(HeaderError::InvalidCharacter));
/// ```
pub fn split_credentials(value: &str) -> Result<(&str, &str), HeaderError> {
    let (scheme, token) = split_scheme(value)?;
    check_token68(token)?;
    Ok((scheme, token))
}

/// [`split_credentials`] but for the token68 check of the credentials.
fn split_scheme(value: &str) -> Result<(&str, &str), HeaderError> {
    let value = trim_ows(value);
    // A byte loop: the scheme is a few bytes, shorter than `find`'s set-up.
    let (scheme, rest) = match value.bytes().position(|b| b == b' ') {
        Some(i) => (&value[..i], &value[i..]),
        None => (value, ""),
    };
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(HeaderError::MissingCredentials);
    }
    Ok((scheme, token))
}

/// The token68 syntax of [`split_credentials`].
fn check_token68(token: &str) -> Result<(), HeaderError> {
    let body_end = token.trim_end_matches('=').len();
    // A table and no early exit: every Basic and Bearer request pays it.
    let all_token68 = token.as_bytes()[..body_end]
        .iter()
        .fold(true, |ok, &b| ok & TOKEN68[usize::from(b)]);
    if body_end == 0 || !all_token68 {
        return Err(HeaderError::InvalidCharacter);
    }
    Ok(())
}

/// `s` without leading or trailing optional whitespace (spaces and tabs,
/// RFC 9110 §5.6.3).
pub(crate) fn trim_ows(s: &str) -> &str {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let bytes = s.as_bytes();
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |e| e + 1);
    // Both ends are next to ASCII bytes: character boundaries.
    s.get(start..end).unwrap_or_default()
}

/// The token68 characters before the padding, by byte.
static TOKEN68: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    table
};

/// Parses a Bearer `Authorization` value (RFC 6750 §2.1) and returns the
/// token. The scheme name is case-insensitive.
///
/// ```
/// use oauth2_provider::header::{parse_bearer, HeaderError};
/// assert_eq!(parse_bearer("Basic abc"), Err(HeaderError::WrongScheme));
/// assert_eq!(parse_bearer("Bearer"), Err(HeaderError::MissingCredentials));
/// ```
pub fn parse_bearer(value: &str) -> Result<&str, HeaderError> {
    let (scheme, token) = split_credentials(value)?;
    if !eq_ignore_ascii_case(scheme.as_bytes(), b"bearer") {
        return Err(HeaderError::WrongScheme);
    }
    Ok(token)
}

/// Whether an `Authorization` value uses the given scheme (case-insensitive).
pub fn has_scheme(value: &str, scheme: &str) -> bool {
    let value = value.trim_start_matches([' ', '\t']);
    value.len() >= scheme.len()
        && eq_ignore_ascii_case(&value.as_bytes()[..scheme.len()], scheme.as_bytes())
        && matches!(
            value.as_bytes().get(scheme.len()),
            None | Some(b' ' | b'\t')
        )
}

/// Parses a Basic `Authorization` value carrying OAuth client credentials.
///
/// RFC 6749 §2.3.1: the client identifier and secret are form-urlencoded
/// and then joined with `:` and base64-encoded, so this decodes base64,
/// splits at the *first* colon, then form-decodes each part — in place in
/// `buf`, without allocating. Padding may be omitted.
///
/// ```
/// use oauth2_provider::header::{parse_basic, HeaderError, BASIC_BUFFER_LEN};
/// let mut buf = [0u8; BASIC_BUFFER_LEN];
/// // base64("my%3Aclient:p%40ss:word")
/// let c = parse_basic("BASIC bXklM0FjbGllbnQ6cCU0MHNzOndvcmQ=", &mut buf).unwrap();
/// assert_eq!((c.client_id, c.client_secret), ("my:client", "p@ss:word"));
/// let mut buf = [0u8; BASIC_BUFFER_LEN];
/// assert_eq!(parse_basic("Basic bm9jb2xvbg==", &mut buf), Err(HeaderError::MissingColon));
/// ```
pub fn parse_basic<'b>(
    value: &str,
    buf: &'b mut [u8],
) -> Result<BasicCredentials<'b>, HeaderError> {
    let (scheme, token) = split_scheme(value)?;
    let decoded = if eq_ignore_ascii_case(scheme.as_bytes(), b"basic") {
        decode_base64(token, buf)
    } else {
        Err(HeaderError::WrongScheme)
    };
    // Base64 is token68 less "-._~": credentials that decode are token68,
    // and only a failure needs the token68 check, whose error comes first.
    let len = decoded.or_else(|e| check_token68(token).and(Err(e)))?;
    let decoded = &mut buf[..len];
    let colon = decoded
        .iter()
        .position(|&b| b == b':')
        .ok_or(HeaderError::MissingColon)?;
    // One UTF-8 check of `id:secret` rather than one per part (the check
    // costs more to start than per byte). With escapes, each part is
    // decoded in place and the secret moved up to the identifier's end.
    let (text, id_len) = if has_form_escape(decoded) {
        let (id, rest) = decoded.split_at_mut(colon);
        let id_len = form::decode_in_place(id).map_err(|_| HeaderError::InvalidPercentEncoding)?;
        let secret_len = form::decode_in_place(&mut rest[1..])
            .map_err(|_| HeaderError::InvalidPercentEncoding)?;
        decoded.copy_within(colon..colon + 1 + secret_len, id_len);
        (&decoded[..id_len + 1 + secret_len], id_len)
    } else {
        (&decoded[..], colon)
    };
    // The colon is ASCII: the whole is UTF-8 exactly when both parts are.
    let text = std::str::from_utf8(text).map_err(|_| HeaderError::InvalidUtf8)?;
    let (client_id, client_secret) = (&text[..id_len], &text[id_len + 1..]);
    if client_id.is_empty() {
        return Err(HeaderError::EmptyClientId);
    }
    Ok(BasicCredentials {
        client_id,
        client_secret,
    })
}

/// Decodes standard base64 (RFC 4648 §4) with optional padding into
/// `buf`, rejecting what the `base64` crate's strict decoder rejects (a
/// lone final character, excess padding, non-zero trailing bits), and
/// returns the decoded length. By hand: the crate's set-up costs more than
/// the few dozen characters of a Basic header.
fn decode_base64(token: &str, buf: &mut [u8]) -> Result<usize, HeaderError> {
    let body = token.trim_end_matches('=').as_bytes();
    let padding = token.len() - body.len();
    // 4 characters decode into 3 bytes; padding decodes to nothing.
    if body.len() * 3 / 4 > buf.len() {
        return Err(HeaderError::TooLong);
    }
    let tail_len = body.len() % 4;
    if tail_len == 1 || padding > (4 - tail_len) % 4 {
        return Err(HeaderError::InvalidBase64);
    }
    let quads = body.chunks_exact(4);
    let tail = quads.remainder();
    let full = body.len() / 4 * 3;
    // Values are below 64, and 0xFF marks a byte outside the alphabet:
    // the high bits of all values or-ed together say if any was.
    let mut seen = 0u8;
    for (quad, out) in quads.zip(buf[..full].chunks_exact_mut(3)) {
        let mut bits = 0u32;
        for &c in quad {
            let value = BASE64_VALUES[usize::from(c)];
            seen |= value;
            bits = bits << 6 | u32::from(value);
        }
        out.copy_from_slice(&bits.to_be_bytes()[1..]);
    }
    let mut bits = 0u32;
    for (i, &c) in tail.iter().enumerate() {
        let value = BASE64_VALUES[usize::from(c)];
        seen |= value;
        bits |= u32::from(value) << (18 - 6 * i);
    }
    // Two characters give one byte, three give two; the bits left over
    // must be zero, as a canonical encoder writes them.
    let tail_bytes = tail_len.saturating_sub(1);
    let bytes = bits.to_be_bytes();
    let (kept, rest) = bytes[1..].split_at(tail_bytes);
    if seen & 0xC0 != 0 || rest.iter().any(|&b| b != 0) {
        return Err(HeaderError::InvalidBase64);
    }
    buf[full..full + tail_bytes].copy_from_slice(kept);
    Ok(full + tail_bytes)
}

/// The standard base64 alphabet's values, by byte; 0xFF for other bytes.
static BASE64_VALUES: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Encodes client credentials for a Basic header the RFC 6749 §2.3.1 way
/// (form-urlencode each, join with `:`, base64). Useful for clients and tests.
///
/// ```
/// use oauth2_provider::header::basic_header_value;
/// assert_eq!(basic_header_value("s6BhdRkqt3", "gX1fBat3bV"), "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW");
/// ```
pub fn basic_header_value(client_id: &str, client_secret: &str) -> String {
    let mut joined = String::with_capacity(client_id.len() + client_secret.len() + 1);
    form::encode_into(&mut joined, client_id);
    joined.push(':');
    form::encode_into(&mut joined, client_secret);
    let mut out = String::from("Basic ");
    base64::engine::general_purpose::STANDARD.encode_string(joined.as_bytes(), &mut out);
    out
}

/// Appends `s` as an HTTP quoted-string (RFC 9110 §5.6.4).
fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            // Control characters cannot be quoted; drop them.
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The `WWW-Authenticate` challenge for a failed Basic client
/// authentication (RFC 6749 §5.2, RFC 7617).
///
/// ```
/// assert_eq!(oauth2_provider::header::basic_challenge("oauth"), r#"Basic realm="oauth", charset="UTF-8""#);
/// ```
pub fn basic_challenge(realm: &str) -> String {
    let mut out = String::with_capacity(realm.len() + 32);
    out.push_str("Basic realm=");
    push_quoted(&mut out, realm);
    out.push_str(", charset=\"UTF-8\"");
    out
}

/// The RFC 6750 §3 `WWW-Authenticate: Bearer` challenge. `error` is left
/// out when the request carried no token at all (§3.1).
///
/// ```
/// use oauth2_provider::header::bearer_challenge;
/// use oauth2_provider::{ErrorCode, OAuthError};
/// let e = OAuthError::new(ErrorCode::InvalidToken, "The access token expired");
/// assert_eq!(
///     bearer_challenge("example", Some(&e), None),
///     r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#
/// );
/// assert_eq!(bearer_challenge("example", None, None), r#"Bearer realm="example""#);
/// ```
pub fn bearer_challenge(realm: &str, error: Option<&OAuthError>, scope: Option<&str>) -> String {
    let mut out = bearer_challenge_start(realm, error);
    if let Some(scope) = scope {
        push_auth_param(&mut out, "scope", scope);
    }
    out
}

/// Appends `, name="value"` to a challenge, the value quoted (RFC 9110
/// §11.2): how a scheme's further parameters join it, such as RFC 9728
/// §5.1's `resource_metadata`.
///
/// ```
/// let mut challenge = oauth2_provider::header::bearer_challenge("api", None, None);
/// oauth2_provider::header::push_auth_param(&mut challenge, "resource_metadata", "https://api.example/m");
/// assert_eq!(challenge, r#"Bearer realm="api", resource_metadata="https://api.example/m""#);
/// ```
pub fn push_auth_param(challenge: &mut String, name: &str, value: &str) {
    challenge.push_str(", ");
    challenge.push_str(name);
    challenge.push('=');
    push_quoted(challenge, value);
}

fn bearer_challenge_start(realm: &str, error: Option<&OAuthError>) -> String {
    let mut out = String::with_capacity(realm.len() + 96);
    out.push_str("Bearer realm=");
    push_quoted(&mut out, realm);
    if let Some(e) = error {
        out.push_str(", error=\"");
        out.push_str(e.code().as_str());
        out.push('"');
        if !e.description().is_empty() {
            out.push_str(", error_description=");
            push_quoted(&mut out, e.description());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use base64::engine::DecodePaddingMode;

    /// The decoder agrees with the `base64` crate's strict one, padding
    /// optional, on every string of up to six symbols from an alphabet of
    /// the characters that matter (values with and without low bits set,
    /// padding, the URL-safe characters, a byte outside both).
    #[test]
    fn base64_decoder_agrees_with_the_crate() {
        const CRATE: GeneralPurpose = GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        );
        const ALPHABET: &[u8] = b"AQw/+=9-_*";
        let mut checked = 0;
        for len in 0..=6u32 {
            for n in 0..ALPHABET.len().pow(len) {
                let mut rest = n;
                let token: String = (0..len)
                    .map(|_| {
                        let c = ALPHABET[rest % ALPHABET.len()];
                        rest /= ALPHABET.len();
                        char::from(c)
                    })
                    .collect();
                let (mut ours, mut theirs) = ([0u8; 8], [0u8; 8]);
                let expected = CRATE
                    .decode_slice(&token, &mut theirs)
                    .map(|n| theirs[..n].to_vec())
                    .map_err(|_| HeaderError::InvalidBase64);
                let got = decode_base64(&token, &mut ours).map(|n| ours[..n].to_vec());
                assert_eq!(got, expected, "{token:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 1_111_111);
    }

    /// A value `split_credentials` rejects, `parse_basic` rejects with the
    /// same error, though it leaves the token68 check until decoding
    /// fails: every value of a scheme and up to five symbols.
    #[test]
    fn parse_basic_reports_syntax_errors_first() {
        const ALPHABET: &[u8] = b"AQw=-~ *";
        for scheme in ["Basic ", "bearer ", "Basic", ""] {
            for len in 0..=5u32 {
                for n in 0..ALPHABET.len().pow(len) {
                    let mut rest = n;
                    let mut value = String::from(scheme);
                    for _ in 0..len {
                        value.push(char::from(ALPHABET[rest % ALPHABET.len()]));
                        rest /= ALPHABET.len();
                    }
                    let mut buf = [0u8; 8];
                    let parsed = parse_basic(&value, &mut buf).map(|_| ());
                    if let Err(e) = split_credentials(&value) {
                        assert_eq!(parsed, Err(e), "{value:?}");
                    }
                }
            }
        }
    }
}
