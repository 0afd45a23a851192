//! What every endpoint returns: [`Response`] (status, headers, body), the
//! small JSON writer the bodies are made with, and redirect URIs with
//! correctly encoded query or fragment parameters.

use std::borrow::Cow;
use std::fmt;

use crate::error::OAuthError;
use crate::form;
use crate::scan::eq_ignore_ascii_case;

/// A response header: a static name and a value that is static unless the
/// endpoint had to build it (a `Location`, a `WWW-Authenticate` challenge).
pub type Header = (&'static str, Cow<'static, str>);

/// An HTTP response produced by an endpoint, ready for the host to send.
///
/// ```
/// use oauth2_provider::{ErrorCode, OAuthError, Response};
/// let r = Response::error_json(&OAuthError::new(ErrorCode::InvalidGrant, "code expired"));
/// assert_eq!(r.status, 400);
/// assert_eq!(r.header("content-type"), Some("application/json;charset=UTF-8"));
/// assert_eq!(r.body_str(), r#"{"error":"invalid_grant","error_description":"code expired"}"#);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The headers, in the order they should be sent: a shared constant
    /// list when the endpoint added nothing of its own (a JSON response's
    /// three), else owned; [`with_header`](Self::with_header) adds one.
    pub headers: Cow<'static, [Header]>,
    /// The body bytes (JSON, HTML from the host, or empty).
    pub body: Vec<u8>,
}

/// `Content-Type` of every JSON body.
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

impl Response {
    /// A response with no headers and an empty body.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Cow::Borrowed(&[]),
            body: Vec::new(),
        }
    }

    /// A JSON response that must not be cached: `Cache-Control: no-store`
    /// and `Pragma: no-cache`, as RFC 6749 §5.1 requires for any response
    /// that carries tokens or credentials.
    pub fn json_no_store(status: u16, body: String) -> Self {
        // The same three on every JSON response: shared, not allocated.
        static HEADERS: [Header; 3] = [
            ("Content-Type", Cow::Borrowed(JSON_CONTENT_TYPE)),
            ("Cache-Control", Cow::Borrowed("no-store")),
            ("Pragma", Cow::Borrowed("no-cache")),
        ];
        Response {
            status,
            headers: Cow::Borrowed(&HEADERS),
            body: body.into_bytes(),
        }
    }

    /// The RFC 6749 §5.2 JSON error response for `error`, with its status.
    pub fn error_json(error: &OAuthError) -> Self {
        let mut json = JsonObject::with_capacity(64 + error.description().len());
        json.string("error", error.code().as_str());
        if !error.description().is_empty() {
            json.string("error_description", error.description());
        }
        Response::json_no_store(error.status(), json.finish())
    }

    /// A `302 Found` to `location`.
    pub fn redirect(location: String) -> Self {
        let mut r = Response::new(302);
        r.headers = Cow::Owned(vec![
            ("Location", Cow::Owned(location)),
            ("Cache-Control", Cow::Borrowed("no-store")),
        ]);
        r
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<Cow<'static, str>>) -> Self {
        let header = (name, value.into());
        match &mut self.headers {
            Cow::Owned(headers) => headers.push(header),
            // Copied once, with room: an endpoint adds one or two.
            Cow::Borrowed(shared) => {
                let mut headers = Vec::with_capacity(shared.len() + 2);
                headers.extend_from_slice(shared);
                headers.push(header);
                self.headers = Cow::Owned(headers);
            }
        }
        self
    }

    /// The first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| eq_ignore_ascii_case(n.as_bytes(), name.as_bytes()))
            .map(|(_, v)| v.as_ref())
    }

    /// The body as text (bodies built by this crate are always UTF-8).
    pub fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies carry tokens: show their size only.
        f.debug_struct("Response")
            .field("status", &self.status)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A writer for one flat JSON object, enough for every OAuth response.
///
/// ```
/// use oauth2_provider::response::JsonObject;
/// let mut o = JsonObject::new();
/// o.string("scope", "read \"all\"");
/// o.number("expires_in", 3600);
/// o.boolean("active", true);
/// o.string_array("aud", ["a", "b"]);
/// assert_eq!(o.finish(), r#"{"scope":"read \"all\"","expires_in":3600,"active":true,"aud":["a","b"]}"#);
/// ```
#[derive(Debug, Default)]
pub struct JsonObject {
    out: String,
}

impl JsonObject {
    /// An empty object.
    pub fn new() -> Self {
        JsonObject::with_capacity(128)
    }

    /// An empty object with room for `capacity` bytes of output.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut out = String::with_capacity(capacity);
        out.push('{');
        JsonObject { out }
    }

    fn key(&mut self, key: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        write_json_string(&mut self.out, key);
        self.out.push(':');
    }

    /// Adds `"key":"value"`, escaping both.
    pub fn string(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        write_json_string(&mut self.out, value);
        self
    }

    /// Adds `"key":number`.
    pub fn number(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        push_decimal(&mut self.out, value);
        self
    }

    /// Adds `"key":true` or `"key":false`.
    pub fn boolean(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    /// Adds `"key":["a","b",…]`.
    pub fn string_array<'s>(
        &mut self,
        key: &str,
        values: impl IntoIterator<Item = &'s str>,
    ) -> &mut Self {
        self.key(key);
        self.out.push('[');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            write_json_string(&mut self.out, v);
        }
        self.out.push(']');
        self
    }

    /// Closes the object and returns its text.
    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// Appends the decimal digits of `value`.
pub(crate) fn push_decimal(out: &mut String, value: u64) {
    // By hand: `write!` goes through `core::fmt`, several times the cost,
    // on every token response.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = value;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    // ASCII digits, pushed as characters: no UTF-8 check of bytes just
    // written. The mask changes no digit, and tells the compiler each is
    // one byte of UTF-8, which spares a branch per digit.
    for &digit in &digits[start..] {
        out.push(char::from(digit & 0x7F));
    }
}

/// Appends `s` as a JSON string literal (RFC 8259 §7): quotes, backslashes
/// and control characters escaped; everything else (all of Unicode) as is.
pub fn write_json_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Tokens, identifiers and scopes need no escape, and are copied whole.
    if crate::scan::has_json_escape(s.as_bytes()) {
        write_escaped(out, s);
    } else {
        out.push_str(s);
    }
    out.push('"');
}

/// Appends `s` with the escapes of [`write_json_string`], copying whole runs
/// between the bytes that need one.
fn write_escaped(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(offset) = bytes[start..].iter().position(|&b| needs_escape(b)) {
        let i = start + offset;
        let b = bytes[i];
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ => {
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xF) as usize] as char);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Whether a byte must be escaped in a JSON string: `"`, `\`, and the
/// control characters U+0000 to U+001F.
const fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Where the authorization endpoint puts its response parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    /// In the query component (authorization code grant, RFC 6749 §4.1.2).
    Query,
    /// In the fragment component (implicit grant, RFC 6749 §4.2.2).
    Fragment,
}

/// Builds the URI the user agent is redirected to: `base` with `params`
/// form-encoded into its query (keeping any query it already has, as
/// RFC 6749 §3.1.2 requires) or into its fragment. Parameters whose value is
/// `None` are left out.
///
/// A redirect URI must not have a fragment (RFC 6749 §3.1.2); should `base`
/// have one anyway, query parameters still go into the query, before it,
/// and fragment parameters replace it.
///
/// ```
/// use oauth2_provider::response::{redirect_uri_with, ResponseMode};
/// let uri = redirect_uri_with(
///     "https://client.example.com/cb?app=1",
///     ResponseMode::Query,
///     &[("code", Some("Splx/lOk")), ("state", Some("a b&c")), ("iss", None)],
/// );
/// assert_eq!(uri, "https://client.example.com/cb?app=1&code=Splx%2FlOk&state=a+b%26c");
/// ```
pub fn redirect_uri_with(
    base: &str,
    mode: ResponseMode,
    params: &[(&str, Option<&str>)],
) -> String {
    let (target, fragment) = match base.find('#') {
        Some(i) => (&base[..i], Some(&base[i..])),
        None => (base, None),
    };
    let mut out = String::with_capacity(base.len() + 96);
    out.push_str(target);
    let mut separator = match mode {
        ResponseMode::Query if target.contains('?') => {
            if target.ends_with('?') || target.ends_with('&') {
                None
            } else {
                Some('&')
            }
        }
        ResponseMode::Query => Some('?'),
        ResponseMode::Fragment => Some('#'),
    };
    let mut wrote_any = false;
    for (name, value) in params {
        let Some(value) = value else { continue };
        if let Some(sep) = separator {
            out.push(sep);
        }
        separator = Some('&');
        wrote_any = true;
        form::encode_into(&mut out, name);
        out.push('=');
        form::encode_into(&mut out, value);
    }
    if let Some(fragment) = fragment {
        if mode == ResponseMode::Query || !wrote_any {
            out.push_str(fragment);
        }
    }
    out
}
