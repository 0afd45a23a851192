//! `application/x-www-form-urlencoded` parsing and encoding (RFC 6749
//! appendix B, the WHATWG URL standard's `application/x-www-form-urlencoded`),
//! used for request bodies and query strings alike.
//!
//! Parsing borrows: a name or value is a `Cow::Borrowed` slice of the input
//! unless a `%XX` escape or a `+` forces a decoded copy. Hostile input is an
//! error value, never a panic.
//!
//! ```
//! use oauth2_provider::form::{pairs, Param, Params};
//! let body = b"grant_type=client_credentials&scope=read+write";
//! let collected: Vec<_> = pairs(body).collect::<Result<_, _>>().unwrap();
//! assert_eq!(collected[1].1, "read write");
//!
//! let params = Params::parse(body).unwrap();
//! assert_eq!(params.get(Param::GrantType), Some("client_credentials"));
//! assert!(Params::parse(b"scope=a&scope=b").is_err()); // RFC 6749 §3.1
//!
//! // `resource` (RFC 8707 §2) is the one parameter that may repeat.
//! let params = Params::parse(b"resource=https%3A%2F%2Fa.example%2F&resource=https://b.example/").unwrap();
//! assert_eq!(params.resources().collect::<Vec<_>>(), ["https://a.example/", "https://b.example/"]);
//! ```

use std::borrow::Cow;
use std::fmt;

use crate::error::OAuthError;
use crate::scan::{find_byte, has_form_escape};

/// Why a form or query string was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormError {
    /// A `%` not followed by two hexadecimal digits.
    InvalidPercentEncoding,
    /// A name or value that is not UTF-8 once decoded.
    InvalidUtf8,
    /// A pair with an empty name (`=value`).
    EmptyName,
    /// A recognised OAuth parameter given more than once (RFC 6749 §3.1, §3.2).
    Duplicate(Param),
}

impl FormError {
    /// A short description, suitable for `error_description`.
    pub fn description(self) -> &'static str {
        match self {
            FormError::InvalidPercentEncoding => "malformed percent-encoding in form data",
            FormError::InvalidUtf8 => "form data is not valid UTF-8",
            FormError::EmptyName => "form data has a parameter with an empty name",
            FormError::Duplicate(_) => "a parameter is repeated",
        }
    }
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormError::Duplicate(p) => write!(f, "parameter '{}' is repeated", p.name()),
            other => f.write_str(other.description()),
        }
    }
}

impl std::error::Error for FormError {}

impl From<FormError> for OAuthError {
    fn from(e: FormError) -> Self {
        match e {
            FormError::Duplicate(p) => OAuthError::duplicate_parameter(p.name()),
            other => OAuthError::invalid_request(other.description()),
        }
    }
}

/// An iterator over the decoded `(name, value)` pairs of a form body or a
/// query string. Empty segments (`a=1&&b=2`, a trailing `&`) are skipped; a
/// segment without `=` is a name with an empty value.
#[derive(Clone, Debug)]
pub struct Pairs<'a> {
    rest: &'a [u8],
}

/// Parses `input` as `application/x-www-form-urlencoded`. See [`Pairs`].
pub fn pairs(input: &[u8]) -> Pairs<'_> {
    Pairs { rest: input }
}

/// A decoded name/value pair.
pub type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<Pair<'a>, FormError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (segment, rest) = match self.rest.iter().position(|&b| b == b'&') {
                Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
                None => (self.rest, &self.rest[self.rest.len()..]),
            };
            self.rest = rest;
            if segment.is_empty() {
                continue;
            }
            let (name, value) = match segment.iter().position(|&b| b == b'=') {
                Some(i) => (&segment[..i], &segment[i + 1..]),
                None => (segment, &segment[segment.len()..]),
            };
            if name.is_empty() {
                self.rest = &[];
                return Some(Err(FormError::EmptyName));
            }
            let pair = decode(name).and_then(|n| Ok((n, decode(value)?)));
            if pair.is_err() {
                self.rest = &[];
            }
            return Some(pair);
        }
    }
}

/// Decodes one form-urlencoded component: `+` is a space, `%XX` a byte.
/// Borrows when there is nothing to decode.
///
/// ```
/// use oauth2_provider::form::{decode, FormError};
/// assert_eq!(decode(b"a%20b+c").unwrap(), "a b c");
/// assert!(matches!(decode(b"plain").unwrap(), std::borrow::Cow::Borrowed(_)));
/// assert_eq!(decode(b"%zz"), Err(FormError::InvalidPercentEncoding));
/// assert_eq!(decode(b"%ff"), Err(FormError::InvalidUtf8));
/// ```
pub fn decode(raw: &[u8]) -> Result<Cow<'_, str>, FormError> {
    if !has_form_escape(raw) {
        return std::str::from_utf8(raw)
            .map(Cow::Borrowed)
            .map_err(|_| FormError::InvalidUtf8);
    }
    // Reject bad escapes before copying: hostile input costs no allocation.
    let mut i = 0;
    while let Some(offset) = raw[i..].iter().position(|&b| b == b'%') {
        let at = i + offset;
        match (raw.get(at + 1), raw.get(at + 2)) {
            (Some(&hi), Some(&lo)) if hex_value(hi).is_some() && hex_value(lo).is_some() => {}
            _ => return Err(FormError::InvalidPercentEncoding),
        }
        i = at + 3;
    }
    let mut out = raw.to_vec();
    let len = decode_in_place(&mut out)?;
    out.truncate(len);
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| FormError::InvalidUtf8)
}

/// Decodes a form-urlencoded component in place (decoding only shrinks) and
/// returns the decoded length. The bytes are not checked for UTF-8.
pub fn decode_in_place(buf: &mut [u8]) -> Result<usize, FormError> {
    if !has_form_escape(buf) {
        return Ok(buf.len());
    }
    let mut read = 0;
    let mut write = 0;
    while read < buf.len() {
        let b = buf[read];
        let decoded = match b {
            b'+' => {
                read += 1;
                b' '
            }
            b'%' => {
                let hi = buf.get(read + 1).and_then(|&h| hex_value(h));
                let lo = buf.get(read + 2).and_then(|&l| hex_value(l));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => {
                        read += 3;
                        hi << 4 | lo
                    }
                    _ => return Err(FormError::InvalidPercentEncoding),
                }
            }
            _ => {
                read += 1;
                b
            }
        };
        buf[write] = decoded;
        write += 1;
    }
    Ok(write)
}

const fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends `s` form-urlencoded: ASCII alphanumerics and `*-._` as is, space
/// as `+`, every other byte as `%XX`.
///
/// ```
/// let mut out = String::new();
/// oauth2_provider::form::encode_into(&mut out, "a b/é");
/// assert_eq!(out, "a+b%2F%C3%A9");
/// ```
pub fn encode_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xF) as usize] as char);
            }
        }
    }
}

/// The length of `s` as [`encode_into`] writes it, to size a buffer.
pub(crate) fn encoded_len(s: &str) -> usize {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' | b' ' => 1,
            _ => 3,
        })
        .sum()
}

/// Encodes pairs as a form body or query string.
///
/// ```
/// use oauth2_provider::form::encode_pairs;
/// assert_eq!(encode_pairs([("a", "1 2"), ("b&", "=")]), "a=1+2&b%26=%3D");
/// ```
pub fn encode_pairs<'s>(pairs: impl IntoIterator<Item = (&'s str, &'s str)>) -> String {
    let mut out = String::new();
    encode_pairs_into(&mut out, pairs);
    out
}

/// Appends pairs as [`encode_pairs`] writes them, into a buffer the
/// caller sized.
pub(crate) fn encode_pairs_into<'s>(
    out: &mut String,
    pairs: impl IntoIterator<Item = (&'s str, &'s str)>,
) {
    for (i, (name, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_into(out, name);
        out.push('=');
        encode_into(out, value);
    }
}

macro_rules! params {
    ($($variant:ident => $name:literal,)*) => {
        /// A parameter the endpoints of RFC 6749, 7009, 7636, 7662, 8707 and 9126 read.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Param {
            $(#[doc = concat!("`", $name, "`")] $variant,)*
        }

        impl Param {
            /// Every recognised parameter.
            pub const ALL: &'static [Param] = &[$(Param::$variant,)*];

            /// The parameter's name on the wire.
            pub const fn name(self) -> &'static str {
                match self { $(Param::$variant => $name,)* }
            }

            /// The parameter called `name`, if it is one this crate reads.
            pub fn from_name(name: &str) -> Option<Param> {
                match name { $($name => Some(Param::$variant),)* _ => None }
            }
        }
    };
}

params! {
    GrantType => "grant_type",
    Code => "code",
    RedirectUri => "redirect_uri",
    ClientId => "client_id",
    ClientSecret => "client_secret",
    Scope => "scope",
    State => "state",
    ResponseType => "response_type",
    CodeVerifier => "code_verifier",
    CodeChallenge => "code_challenge",
    CodeChallengeMethod => "code_challenge_method",
    RefreshToken => "refresh_token",
    Username => "username",
    Password => "password",
    Token => "token",
    TokenTypeHint => "token_type_hint",
    AccessToken => "access_token",
    Resource => "resource",
    RequestUri => "request_uri",
    DeviceCode => "device_code",
}

const PARAM_COUNT: usize = 20;

impl Param {
    /// Whether the parameter may be given more than once: only `resource`
    /// (RFC 8707 §2, "multiple resource parameters MAY be used"); every
    /// other repeated parameter is an error (RFC 6749 §3.1).
    pub const fn repeatable(self) -> bool {
        matches!(self, Param::Resource)
    }
}

/// The recognised OAuth parameters of one form body or query string, each
/// at most once but for `resource`.
///
/// Parsing rejects a recognised parameter given twice (RFC 6749 §3.1, §3.2)
/// unless it is [repeatable](Param::repeatable) (`resource`, RFC 8707 §2,
/// whose values [`resources`](Params::resources) gives in order),
/// ignores unrecognised ones (RFC 6749 §3.1), and treats a parameter sent
/// with an empty value as omitted (RFC 6749 §3.1). It allocates nothing
/// unless a value needs decoding.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params<'a> {
    values: [Option<Cow<'a, str>>; PARAM_COUNT],
    /// The `resource` values after the first (which is in `values`): a
    /// request names one resource, or none, far more often than several,
    /// and an empty `Vec` allocates nothing.
    more_resources: Vec<Cow<'a, str>>,
}

impl<'a> Params<'a> {
    /// Parses a form body or query string.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormError> {
        let mut params = Params::default();
        params.parse_into(input)?;
        Ok(params)
    }

    /// [`parse`](Self::parse) into `self`, which must be empty: for callers
    /// that keep the parameters where they are built, since they are some
    /// 400 bytes, and every move of them a copy.
    pub(crate) fn parse_into(&mut self, input: &'a [u8]) -> Result<(), FormError> {
        match std::str::from_utf8(input) {
            Ok(text) => self.parse_text(text),
            // Some name or value is not UTF-8 before decoding: the pair by
            // pair path finds which, and the first error in order.
            Err(_) => self.parse_pairs(input),
        }
    }

    /// The common case: the whole input validated as UTF-8 once, so that a
    /// name or value without escapes is a slice of it, checked no further.
    fn parse_text(&mut self, text: &'a str) -> Result<(), FormError> {
        let mut rest = text;
        while !rest.is_empty() {
            // Separators are ASCII: slicing at them keeps to char boundaries.
            let (segment, after) = match find_byte(rest.as_bytes(), b'&') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, ""),
            };
            rest = after;
            if segment.is_empty() {
                continue;
            }
            let (name, value) = match find_byte(segment.as_bytes(), b'=') {
                Some(i) => (&segment[..i], &segment[i + 1..]),
                None => (segment, ""),
            };
            if name.is_empty() {
                return Err(FormError::EmptyName);
            }
            let param = if has_form_escape(name.as_bytes()) {
                Param::from_name(&decode(name.as_bytes())?)
            } else {
                Param::from_name(name)
            };
            let value = if has_form_escape(value.as_bytes()) {
                decode(value.as_bytes())?
            } else {
                Cow::Borrowed(value)
            };
            self.insert(param, value)?;
        }
        Ok(())
    }

    fn parse_pairs(&mut self, input: &'a [u8]) -> Result<(), FormError> {
        for pair in pairs(input) {
            let (name, value) = pair?;
            self.insert(Param::from_name(&name), value)?;
        }
        Ok(())
    }

    /// Keeps a recognised, non-empty value; a second one is an error.
    fn insert(&mut self, param: Option<Param>, value: Cow<'a, str>) -> Result<(), FormError> {
        let Some(param) = param else {
            return Ok(());
        };
        if value.is_empty() {
            return Ok(());
        }
        let slot = &mut self.values[param as usize];
        if slot.is_some() {
            if param.repeatable() {
                self.more_resources.push(value);
                return Ok(());
            }
            return Err(FormError::Duplicate(param));
        }
        *slot = Some(value);
        Ok(())
    }

    /// The value of `param`, if it was given with a non-empty value (for
    /// `resource`, the first one: [`resources`](Self::resources) gives all).
    pub fn get(&self, param: Param) -> Option<&str> {
        self.values[param as usize].as_deref()
    }

    /// The value of `param`, or `invalid_request` naming it.
    pub fn require(&self, param: Param) -> Result<&str, OAuthError> {
        self.get(param)
            .ok_or_else(|| OAuthError::missing_parameter(param.name()))
    }

    /// Whether `param` was given.
    pub fn contains(&self, param: Param) -> bool {
        self.values[param as usize].is_some()
    }

    /// Every `resource` value (RFC 8707 §2), in the order given; empty
    /// ones are omitted like any other parameter's.
    pub fn resources(&self) -> impl Iterator<Item = &str> {
        self.get(Param::Resource)
            .into_iter()
            .chain(self.more_resources.iter().map(|r| &**r))
    }

    /// The given parameters, in [`Param::ALL`] order; a repeated
    /// `resource` once per value.
    pub fn iter(&self) -> impl Iterator<Item = (Param, &str)> {
        Param::ALL
            .iter()
            .filter_map(move |&p| self.get(p).map(|v| (p, v)))
            .chain(self.more_resources.iter().map(|r| (Param::Resource, &**r)))
    }
}

impl fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (p, v) in self.iter() {
            let secret = matches!(
                p,
                Param::ClientSecret
                    | Param::Password
                    | Param::Code
                    | Param::CodeVerifier
                    | Param::RefreshToken
                    | Param::Token
                    | Param::AccessToken
            );
            m.entry(&p.name(), &if secret { "***" } else { v });
        }
        m.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole-text fast path and the pair-by-pair path agree on every
    /// UTF-8 input, errors included: every string of up to five symbols
    /// from an alphabet of the bytes that matter.
    #[test]
    fn text_path_agrees_with_pair_path() {
        const ALPHABET: [&str; 11] = [
            "scope", "state", "=", "&", "%", "%41", "%ff", "+", "x", "é", "%C3%A9",
        ];
        let mut input = String::new();
        let mut checked = 0;
        for n in 0..ALPHABET.len().pow(5) {
            input.clear();
            let mut rest = n;
            for _ in 0..5 {
                input.push_str(ALPHABET[rest % ALPHABET.len()]);
                rest /= ALPHABET.len();
            }
            let (mut text, mut pairs) = (Params::default(), Params::default());
            assert_eq!(
                text.parse_text(&input).map(|()| text),
                pairs.parse_pairs(input.as_bytes()).map(|()| pairs),
                "{input:?}"
            );
            checked += 1;
        }
        assert_eq!(checked, 161_051);
    }

    #[test]
    fn param_count_matches_table() {
        assert_eq!(Param::ALL.len(), PARAM_COUNT);
        for (i, p) in Param::ALL.iter().enumerate() {
            assert_eq!(*p as usize, i);
            assert_eq!(Param::from_name(p.name()), Some(*p));
        }
    }
}
