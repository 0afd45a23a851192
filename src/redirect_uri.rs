//! Redirect URIs (RFC 6749 §3.1.2): what can be one, and when a presented
//! one matches a registered one (exact, but for a loopback redirect's port,
//! RFC 8252 §7.3). Shared by the authorization endpoint, the validator's
//! default `validate_redirect_uri` and the issuer check, so it lives below
//! all three.

/// Whether `uri` can be a redirection endpoint: an absolute URI (a scheme,
/// then `:`) without a fragment (RFC 6749 §3.1.2).
pub(crate) fn is_absolute_without_fragment(uri: &str) -> bool {
    let Some(colon) = uri.find(':') else {
        return false;
    };
    let scheme = &uri[..colon];
    !scheme.is_empty()
        && scheme.as_bytes()[0].is_ascii_alphabetic()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && !uri.contains('#')
        && !uri
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
}

/// Whether a `presented` redirect URI matches a `registered` one: by exact
/// string comparison (RFC 3986 §6.2.1; RFC 9700 §2.1), except that for a
/// native app's loopback redirect (`http` to `127.0.0.1`, `[::1]` or
/// `localhost`) the port may differ, as RFC 8252 §7.3 and RFC 9700 §4.1.3
/// require. Host, path and query must still be identical.
///
/// ```
/// use oauth2_provider::redirect_uri::redirect_uri_matches;
/// assert!(redirect_uri_matches("https://app.example/cb", "https://app.example/cb"));
/// assert!(!redirect_uri_matches("https://app.example/cb", "https://app.example/cb/"));
/// assert!(redirect_uri_matches("http://127.0.0.1:9999/cb", "http://127.0.0.1:51004/cb"));
/// assert!(redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:51004/cb"));
/// assert!(!redirect_uri_matches("http://127.0.0.1:9999/cb", "http://localhost:9999/cb"));
/// assert!(!redirect_uri_matches("https://127.0.0.1:9999/cb", "https://127.0.0.1:1/cb"));
/// ```
pub fn redirect_uri_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    match (loopback_parts(registered), loopback_parts(presented)) {
        (Some(r), Some(p)) => r == p,
        _ => false,
    }
}

/// The host and the rest (path, query) of a loopback redirect URI
/// `http://HOST[:PORT]REST`, or `None` if `uri` is not one.
pub(crate) fn loopback_parts(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok()
    });
    (port_ok && matches!(host, "127.0.0.1" | "[::1]" | "localhost")).then_some((host, tail))
}
