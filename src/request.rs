//! [`Request`]: a borrowed view of the HTTP request an endpoint handles.
//! Nothing is copied: the host keeps the bytes, the library reads them.

use std::fmt;

use crate::scan::{eq_ignore_ascii_case, find_byte};

/// One request header as the host received it.
pub type HeaderPair<'a> = (&'a str, &'a str);

/// A borrowed view of an HTTP request: method, request target (path and
/// query), headers and body.
///
/// ```
/// use oauth2_provider::Request;
/// let headers = [("Content-Type", "application/x-www-form-urlencoded")];
/// let req = Request::new("POST", "/token?x=1", &headers, b"grant_type=client_credentials");
/// assert_eq!(req.path(), "/token");
/// assert_eq!(req.query(), Some("x=1"));
/// assert_eq!(req.header("content-type"), Some("application/x-www-form-urlencoded"));
/// assert!(req.has_form_body());
/// ```
#[derive(Clone, Copy)]
pub struct Request<'a> {
    method: &'a str,
    uri: &'a str,
    headers: &'a [HeaderPair<'a>],
    body: &'a [u8],
}

impl<'a> Request<'a> {
    /// A view of a request. `uri` is the request target as sent (origin
    /// form: path, then `?` and the query, if any).
    pub fn new(
        method: &'a str,
        uri: &'a str,
        headers: &'a [HeaderPair<'a>],
        body: &'a [u8],
    ) -> Self {
        Request {
            method,
            uri,
            headers,
            body,
        }
    }

    /// The request method, as sent.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The request target: path and query.
    pub fn uri(&self) -> &'a str {
        self.uri
    }

    /// The path: the request target up to `?` or `#`.
    pub fn path(&self) -> &'a str {
        let end = self.uri.find(['?', '#']).unwrap_or(self.uri.len());
        &self.uri[..end]
    }

    /// The query string without the `?`, if the target has one. A `?`
    /// after a `#` belongs to the fragment, not to a query.
    pub fn query(&self) -> Option<&'a str> {
        let uri = self.uri.as_bytes();
        let target = &self.uri[..find_byte(uri, b'#').unwrap_or(uri.len())];
        let start = find_byte(target.as_bytes(), b'?')? + 1;
        Some(&target[start..])
    }

    /// All headers, in the order received.
    pub fn headers(&self) -> &'a [HeaderPair<'a>] {
        self.headers
    }

    /// The first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| eq_ignore_ascii_case(n.as_bytes(), name.as_bytes()))
            .map(|(_, v)| *v)
    }

    /// The header called `name`, or an error when it occurs more than once
    /// (for headers such as `Authorization`, where two are ambiguous).
    pub fn unique_header(&self, name: &str) -> Result<Option<&'a str>, RepeatedHeader> {
        let mut found = self
            .headers
            .iter()
            .filter(|(n, _)| eq_ignore_ascii_case(n.as_bytes(), name.as_bytes()));
        let first = found.next().map(|(_, v)| *v);
        if found.next().is_some() {
            return Err(RepeatedHeader);
        }
        Ok(first)
    }

    /// The body bytes.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Whether the method is `name` (methods are case-sensitive, RFC 9110 §9.1).
    pub fn is_method(&self, name: &str) -> bool {
        self.method == name
    }

    /// Whether `Content-Type` is `application/x-www-form-urlencoded`
    /// (type and subtype case-insensitive, parameters such as `charset` allowed).
    pub fn has_form_body(&self) -> bool {
        self.header("content-type").is_some_and(|ct| {
            let media = find_byte(ct.as_bytes(), b';').map_or(ct, |end| &ct[..end]);
            eq_ignore_ascii_case(
                crate::header::trim_ows(media).as_bytes(),
                b"application/x-www-form-urlencoded",
            )
        })
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers and body may carry credentials: only names and sizes.
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path())
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A header that must occur at most once occurred more than once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepeatedHeader;

impl fmt::Display for RepeatedHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a header that must occur once is repeated")
    }
}

impl std::error::Error for RepeatedHeader {}

/// An HTTP request with its OAuth parameters parsed: what every
/// [`RequestValidator`](crate::RequestValidator) method receives, like
/// oauthlib's `request` object (without the mutation: values flow back as
/// typed return values).
#[derive(Clone, Debug)]
pub struct OAuthRequest<'r> {
    /// The HTTP request.
    pub http: Request<'r>,
    /// The recognised OAuth parameters, from the form body (token,
    /// revocation, introspection endpoints) or the query string
    /// (authorization endpoint).
    pub params: crate::form::Params<'r>,
    /// The server's time for this request, seconds since the Unix epoch,
    /// read once when the request arrives. Every expiry decision of the
    /// request, the library's and the validator's, is made against it, so
    /// a store never disagrees with the server about what has expired
    /// (and a store's purge, given the same clock, agrees with both).
    pub now: u64,
}

impl<'r> OAuthRequest<'r> {
    /// Pairs a request with its parsed parameters and the time it is
    /// served at (seconds since the Unix epoch).
    pub fn new(http: Request<'r>, params: crate::form::Params<'r>, now: u64) -> Self {
        OAuthRequest { http, params, now }
    }
}
