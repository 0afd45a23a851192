//! The OAuth error model (codes, statuses, descriptions, redirectability),
//! the JSON error response, and redirect URIs carrying parameters.

use oauth2_provider::response::{redirect_uri_with, ResponseMode};
use oauth2_provider::{ErrorCode, OAuthError, Response};

// ---------------------------------------------------------------- codes

/// Every registered code, its wire name, its direct-response status, and
/// where it is registered.
const CODES: &[(ErrorCode, &str, u16)] = &[
    // RFC 6749 §4.1.2.1, §4.2.2.1, §5.2
    (ErrorCode::InvalidRequest, "invalid_request", 400),
    (ErrorCode::InvalidClient, "invalid_client", 401),
    (ErrorCode::InvalidGrant, "invalid_grant", 400),
    (ErrorCode::UnauthorizedClient, "unauthorized_client", 400),
    (
        ErrorCode::UnsupportedGrantType,
        "unsupported_grant_type",
        400,
    ),
    (
        ErrorCode::UnsupportedResponseType,
        "unsupported_response_type",
        400,
    ),
    (ErrorCode::InvalidScope, "invalid_scope", 400),
    // RFC 6749 §4.1.2.1 and RFC 8628 §3.5
    (ErrorCode::AccessDenied, "access_denied", 400),
    (ErrorCode::ServerError, "server_error", 500),
    (
        ErrorCode::TemporarilyUnavailable,
        "temporarily_unavailable",
        503,
    ),
    // RFC 6750 §3.1
    (ErrorCode::InvalidToken, "invalid_token", 401),
    (ErrorCode::InsufficientScope, "insufficient_scope", 403),
    // RFC 7009 §2.2.1
    (
        ErrorCode::UnsupportedTokenType,
        "unsupported_token_type",
        400,
    ),
    // RFC 8628 §3.5
    (
        ErrorCode::AuthorizationPending,
        "authorization_pending",
        400,
    ),
    (ErrorCode::SlowDown, "slow_down", 400),
    (ErrorCode::ExpiredToken, "expired_token", 400),
    // RFC 8707 §2
    (ErrorCode::InvalidTarget, "invalid_target", 400),
];

#[test]
fn every_code_has_its_registered_name_and_status() {
    assert_eq!(ErrorCode::ALL.len(), CODES.len());
    for (i, &(code, name, status)) in CODES.iter().enumerate() {
        assert_eq!(ErrorCode::ALL[i], code, "ALL is in RFC order");
        assert_eq!(code.as_str(), name);
        assert_eq!(code.to_string(), name);
        assert_eq!(code.status(), status, "{name}");
        let e = OAuthError::new(code, "x");
        assert_eq!(e.code(), code);
        assert_eq!(e.status(), status);
        assert_eq!(e.to_string(), format!("{name}: x"));
    }
}

#[test]
fn code_names_fit_the_error_syntax() {
    // RFC 6749 §5.2: error = 1*( %x20-21 / %x23-5B / %x5D-7E ); in practice
    // lowercase and '_'. All distinct.
    let mut names: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    for n in &names {
        assert!(
            n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{n}"
        );
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ErrorCode::ALL.len());
}

// ---------------------------------------------------------------- descriptions

fn allowed(c: char) -> bool {
    matches!(c as u32, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

#[test]
fn description_keeps_exactly_the_rfc_characters() {
    for b in 0u8..=0x7f {
        let c = b as char;
        let e = OAuthError::new(ErrorCode::InvalidRequest, c.to_string());
        let expected = if allowed(c) {
            c.to_string()
        } else {
            "?".into()
        };
        assert_eq!(e.description(), expected, "byte {b:#04x}");
    }
    // The boundaries by name.
    assert_eq!(
        OAuthError::invalid_request(" !#[]~").description(),
        " !#[]~"
    );
    assert_eq!(OAuthError::invalid_request("\"\\").description(), "??");
    assert_eq!(
        OAuthError::invalid_request("\u{7f}\u{1f}").description(),
        "??"
    );
}

#[test]
fn description_replaces_each_non_ascii_character_once() {
    assert_eq!(
        OAuthError::invalid_request("caf\u{e9} \u{65e5}\u{672c} \u{1F980}!").description(),
        "caf? ?? ?!"
    );
    assert_eq!(
        OAuthError::invalid_request("line1\r\nline2\ttab").description(),
        "line1??line2?tab"
    );
    assert_eq!(
        OAuthError::invalid_request(String::from("owned \"x\"")).description(),
        "owned ?x?"
    );
    assert_eq!(OAuthError::invalid_request("").description(), "");
    let clean = "The request is missing a required parameter.";
    assert_eq!(OAuthError::invalid_request(clean).description(), clean);
}

#[test]
fn sanitised_descriptions_are_safe_everywhere() {
    let hostile = "\"}],\"x\":\"<script>\\u0000\r\n\u{2028}";
    for code in ErrorCode::ALL {
        let e = OAuthError::new(code, hostile);
        assert!(
            e.description().chars().all(allowed),
            "{:?}",
            e.description()
        );
        assert!(!e.description().contains('"'));
        assert!(!e.description().contains('\\'));
    }
}

#[test]
fn redirect_flag() {
    assert!(OAuthError::new(ErrorCode::AccessDenied, "denied").may_redirect());
    assert!(OAuthError::invalid_request("x").may_redirect());
    assert!(OAuthError::server_error("x").may_redirect());
    assert!(OAuthError::duplicate_parameter("state").may_redirect());
    assert!(OAuthError::missing_parameter("response_type").may_redirect());
    let e = OAuthError::no_redirect(ErrorCode::InvalidRequest, "bad \"redirect_uri\"");
    assert!(!e.may_redirect());
    assert_eq!(e.code(), ErrorCode::InvalidRequest);
    // no_redirect sanitises too.
    assert_eq!(e.description(), "bad ?redirect_uri?");
    // The flag takes part in equality.
    assert_ne!(
        OAuthError::no_redirect(ErrorCode::InvalidRequest, "x"),
        OAuthError::new(ErrorCode::InvalidRequest, "x")
    );
    assert_eq!(
        OAuthError::invalid_request("x"),
        OAuthError::new(ErrorCode::InvalidRequest, "x")
    );
}

#[test]
fn helper_constructors_exact() {
    let e = OAuthError::duplicate_parameter("scope");
    assert_eq!(e.code(), ErrorCode::InvalidRequest);
    assert_eq!(e.description(), "parameter 'scope' is repeated");
    let e = OAuthError::missing_parameter("grant_type");
    assert_eq!(e.code(), ErrorCode::InvalidRequest);
    assert_eq!(e.description(), "missing required parameter 'grant_type'");
    let e = OAuthError::server_error("storage failed");
    assert_eq!((e.code(), e.status()), (ErrorCode::ServerError, 500));
}

#[test]
fn debug_and_display() {
    let e = OAuthError::no_redirect(ErrorCode::InvalidClient, "client authentication failed");
    assert_eq!(
        e.to_string(),
        "invalid_client: client authentication failed"
    );
    assert_eq!(
        format!("{e:?}"),
        r#"OAuthError { code: "invalid_client", description: "client authentication failed", may_redirect: false }"#
    );
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert_eq!(
        boxed.to_string(),
        "invalid_client: client authentication failed"
    );
}

// ---------------------------------------------------------------- JSON error

#[test]
fn error_json_exact_bodies() {
    let r = Response::error_json(&OAuthError::new(ErrorCode::InvalidGrant, "code expired"));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body_str(),
        r#"{"error":"invalid_grant","error_description":"code expired"}"#
    );
    assert_eq!(
        r.header("Content-Type"),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert_eq!(r.header("Pragma"), Some("no-cache"));
    assert_eq!(r.header("WWW-Authenticate"), None);

    // Empty description: no error_description member.
    let r = Response::error_json(&OAuthError::new(ErrorCode::InvalidScope, ""));
    assert_eq!(r.body_str(), r#"{"error":"invalid_scope"}"#);

    // Hostile description: sanitised, so the JSON needs no escaping.
    let r = Response::error_json(&OAuthError::invalid_request("a\"b\\c\n"));
    assert_eq!(
        r.body_str(),
        r#"{"error":"invalid_request","error_description":"a?b?c?"}"#
    );

    for &(code, name, status) in CODES {
        let r = Response::error_json(&OAuthError::new(code, "d"));
        assert_eq!(r.status, status, "{name}");
        assert_eq!(
            r.body_str(),
            format!(r#"{{"error":"{name}","error_description":"d"}}"#)
        );
    }
}

#[test]
fn response_helpers() {
    let r = Response::new(204);
    assert_eq!((r.status, r.headers.len(), r.body.len()), (204, 0, 0));
    assert_eq!(r.body_str(), "");
    let r = Response::redirect("https://c.example/cb?code=x".into());
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("https://c.example/cb?code=x"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = Response::new(200)
        .with_header("X-One", "1")
        .with_header("X-One", String::from("2"));
    // The first of repeated headers; lookup is case-insensitive.
    assert_eq!(r.header("x-one"), Some("1"));
    assert_eq!(r.headers.len(), 2);
    let debug = format!(
        "{:?}",
        Response::json_no_store(200, "{\"access_token\":\"SECRET\"}".into())
    );
    assert!(!debug.contains("SECRET"), "{debug}");
}

// ---------------------------------------------------------------- redirects

#[test]
fn redirect_query_mode() {
    let q = ResponseMode::Query;
    assert_eq!(
        redirect_uri_with(
            "https://c.example/cb",
            q,
            &[("code", Some("abc")), ("state", Some("xyz"))]
        ),
        "https://c.example/cb?code=abc&state=xyz"
    );
    // An existing query is kept (RFC 6749 §3.1.2).
    assert_eq!(
        redirect_uri_with(
            "https://c.example/cb?app=1&b=2",
            q,
            &[("code", Some("abc"))]
        ),
        "https://c.example/cb?app=1&b=2&code=abc"
    );
    assert_eq!(
        redirect_uri_with("https://c.example/cb?", q, &[("code", Some("abc"))]),
        "https://c.example/cb?code=abc"
    );
    assert_eq!(
        redirect_uri_with("https://c.example/cb?a=1&", q, &[("code", Some("abc"))]),
        "https://c.example/cb?a=1&code=abc"
    );
}

#[test]
fn redirect_fragment_mode() {
    let f = ResponseMode::Fragment;
    assert_eq!(
        redirect_uri_with(
            "https://c.example/cb",
            f,
            &[
                ("access_token", Some("2YotnFZFEjr1zCsicMWpAA")),
                ("token_type", Some("Bearer"))
            ]
        ),
        "https://c.example/cb#access_token=2YotnFZFEjr1zCsicMWpAA&token_type=Bearer"
    );
    // The query stays where it is.
    assert_eq!(
        redirect_uri_with("https://c.example/cb?app=1", f, &[("state", Some("s"))]),
        "https://c.example/cb?app=1#state=s"
    );
}

#[test]
fn redirect_skips_none_parameters() {
    let params = [
        ("iss", None),
        ("code", Some("c")),
        ("state", None),
        ("x", Some("")),
    ];
    assert_eq!(
        redirect_uri_with("https://c.example/cb", ResponseMode::Query, &params),
        "https://c.example/cb?code=c&x="
    );
    assert_eq!(
        redirect_uri_with("https://c.example/cb", ResponseMode::Fragment, &params),
        "https://c.example/cb#code=c&x="
    );
    // Nothing to add: the base, untouched.
    for mode in [ResponseMode::Query, ResponseMode::Fragment] {
        assert_eq!(
            redirect_uri_with("https://c.example/cb", mode, &[("state", None)]),
            "https://c.example/cb"
        );
        assert_eq!(
            redirect_uri_with("https://c.example/cb?a=1", mode, &[]),
            "https://c.example/cb?a=1"
        );
    }
}

#[test]
fn redirect_encodes_every_reserved_character() {
    // RFC 3986 gen-delims and sub-delims, '%', space, non-ASCII, controls.
    let value = ":/?#[]@!$&'()*+,;= %\"<>\\^`{|}\u{e9}\n~";
    let uri = redirect_uri_with(
        "https://c.example/cb",
        ResponseMode::Query,
        &[("st&ate=", Some(value))],
    );
    assert_eq!(
        uri,
        "https://c.example/cb?st%26ate%3D=%3A%2F%3F%23%5B%5D%40%21%24%26%27%28%29*%2B%2C%3B%3D+%25%22%3C%3E%5C%5E%60%7B%7C%7D%C3%A9%0A%7E"
    );
    // And the parameter comes back intact.
    let query = uri.split_once('?').unwrap().1;
    let (name, decoded) = oauth2_provider::form::pairs(query.as_bytes())
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(name, "st&ate=");
    assert_eq!(decoded, value);
}

#[test]
fn redirect_base_with_a_fragment() {
    // Not a valid redirect URI (RFC 6749 §3.1.2), but the result must
    // still be a well-formed URI: the query before the fragment.
    assert_eq!(
        redirect_uri_with(
            "https://c.example/cb#frag",
            ResponseMode::Query,
            &[("code", Some("c"))]
        ),
        "https://c.example/cb?code=c#frag"
    );
    assert_eq!(
        redirect_uri_with(
            "https://c.example/cb?a=1#frag?x=1",
            ResponseMode::Query,
            &[("code", Some("c"))]
        ),
        "https://c.example/cb?a=1&code=c#frag?x=1"
    );
    // Fragment parameters replace a fragment.
    assert_eq!(
        redirect_uri_with(
            "https://c.example/cb#frag",
            ResponseMode::Fragment,
            &[("state", Some("s"))]
        ),
        "https://c.example/cb#state=s"
    );
    assert_eq!(
        redirect_uri_with("https://c.example/cb#frag", ResponseMode::Fragment, &[]),
        "https://c.example/cb#frag"
    );
}
