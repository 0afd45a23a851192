//! The `Authorization` header (Basic per RFC 7617 with the RFC 6749 §2.3.1
//! encoding, Bearer per RFC 6750 §2.1) and the `WWW-Authenticate`
//! challenges.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use oauth2_provider::header::{
    basic_challenge, basic_header_value, bearer_challenge, has_scheme, parse_basic, parse_bearer,
    split_credentials, HeaderError, BASIC_BUFFER_LEN,
};
use oauth2_provider::{ErrorCode, OAuthError};

/// Parses a Basic value into owned strings.
fn basic(value: &str) -> Result<(String, String), HeaderError> {
    let mut buf = [0u8; BASIC_BUFFER_LEN];
    parse_basic(value, &mut buf).map(|c| (c.client_id.to_owned(), c.client_secret.to_owned()))
}

/// `Basic ` + base64 of raw bytes, no form-encoding.
fn raw_basic(decoded: &[u8]) -> String {
    format!("Basic {}", STANDARD.encode(decoded))
}

fn pair(id: &str, secret: &str) -> Result<(String, String), HeaderError> {
    Ok((id.to_owned(), secret.to_owned()))
}

// ---------------------------------------------------------------- Basic

#[test]
fn basic_rfc6749_example() {
    assert_eq!(
        basic("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
        pair("s6BhdRkqt3", "gX1fBat3bV")
    );
    assert_eq!(
        basic_header_value("s6BhdRkqt3", "gX1fBat3bV"),
        "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"
    );
}

#[test]
fn basic_scheme_is_case_insensitive_and_whitespace_tolerant() {
    for value in [
        "basic czZCaGRSa3F0MzpnWDFmQmF0M2JW",
        "BASIC czZCaGRSa3F0MzpnWDFmQmF0M2JW",
        "bAsIc czZCaGRSa3F0MzpnWDFmQmF0M2JW",
        "Basic    czZCaGRSa3F0MzpnWDFmQmF0M2JW",
        "  Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW  ",
        "\tBasic czZCaGRSa3F0MzpnWDFmQmF0M2JW\t",
    ] {
        assert_eq!(basic(value), pair("s6BhdRkqt3", "gX1fBat3bV"), "{value:?}");
    }
}

#[test]
fn basic_form_decodes_both_parts_after_splitting_at_the_first_colon() {
    // Raw (already form-encoded) "id:secret" strings and what they mean.
    let cases: &[(&str, &str, &str)] = &[
        ("my%3Aclient:p%40ss:word", "my:client", "p@ss:word"),
        ("a:b:c", "a", "b:c"),
        ("a::", "a", ":"),
        ("id:", "id", ""),
        ("a+b:c+d", "a b", "c d"),
        ("a%2Bb:c%2Bd", "a+b", "c+d"),
        ("%C3%A9t%C3%A9:%E2%82%AC", "\u{e9}t\u{e9}", "\u{20ac}"),
        ("caf\u{e9}:\u{65e5}", "caf\u{e9}", "\u{65e5}"),
        ("%25:%25", "%", "%"),
    ];
    for (raw, id, secret) in cases {
        assert_eq!(
            basic(&raw_basic(raw.as_bytes())),
            pair(id, secret),
            "{raw:?}"
        );
    }
}

#[test]
fn basic_padding_may_be_omitted() {
    // "a:bc" is 4 bytes: 8 characters with "==" padding.
    assert_eq!(basic("Basic YTpiYw=="), pair("a", "bc"));
    assert_eq!(basic("Basic YTpiYw"), pair("a", "bc"));
    // Partial padding is tolerated too; too much padding is not base64.
    assert_eq!(basic("Basic YTpiYw="), pair("a", "bc"));
    assert_eq!(basic("Basic YTpiYw==="), Err(HeaderError::InvalidBase64));
    assert_eq!(basic("Basic YTpi="), Err(HeaderError::InvalidBase64));
}

#[test]
fn basic_rejects_missing_colon() {
    assert_eq!(basic("Basic bm9jb2xvbg=="), Err(HeaderError::MissingColon));
    assert_eq!(basic(&raw_basic(b"")), Err(HeaderError::MissingCredentials));
    assert_eq!(basic(&raw_basic(b"x")), Err(HeaderError::MissingColon));
    // An encoded colon does not count as the separator.
    assert_eq!(
        basic(&raw_basic(b"id%3Asecret")),
        Err(HeaderError::MissingColon)
    );
}

#[test]
fn basic_rejects_invalid_base64() {
    for value in [
        "Basic Y",            // one character cannot encode a byte
        "Basic YTpiY",        // five characters
        "Basic YR==",         // non-zero trailing bits
        "Basic YTpi-_",       // the URL-safe alphabet is not Basic's
        "Basic YTpiYw==YTpi", // data after padding: not token68 either
    ] {
        let result = basic(value);
        assert!(
            result == Err(HeaderError::InvalidBase64)
                || result == Err(HeaderError::InvalidCharacter),
            "{value:?}: {result:?}"
        );
    }
    assert_eq!(basic("Basic Y"), Err(HeaderError::InvalidBase64));
    assert_eq!(basic("Basic YR=="), Err(HeaderError::InvalidBase64));
    assert_eq!(basic("Basic YTpi-_"), Err(HeaderError::InvalidBase64));
    assert_eq!(
        basic("Basic YTpiYw==YTpi"),
        Err(HeaderError::InvalidCharacter)
    );
}

#[test]
fn basic_rejects_invalid_utf8_and_bad_escapes() {
    assert_eq!(
        basic(&raw_basic(b"\xff:secret")),
        Err(HeaderError::InvalidUtf8)
    );
    assert_eq!(basic(&raw_basic(b"id:\xc3")), Err(HeaderError::InvalidUtf8));
    assert_eq!(
        basic(&raw_basic(b"%ff:secret")),
        Err(HeaderError::InvalidUtf8)
    );
    assert_eq!(
        basic(&raw_basic(b"id:%C3%28")),
        Err(HeaderError::InvalidUtf8)
    );
    for raw in [&b"%:s"[..], b"i%4:s", b"id:%zz", b"id:%", b"%%:%%"] {
        assert_eq!(
            basic(&raw_basic(raw)),
            Err(HeaderError::InvalidPercentEncoding),
            "{raw:?}"
        );
    }
}

#[test]
fn basic_rejects_whitespace_and_foreign_characters_inside_the_token() {
    for value in [
        "Basic czZC aGRSa3F0MzpnWDFmQmF0M2JW",
        "Basic czZC\taGRSa3F0MzpnWDFmQmF0M2JW",
        "Basic czZC\naGRSa3F0MzpnWDFmQmF0M2JW",
        "Basic czZC\r\naGRSa3F0MzpnWDFmQmF0M2JW",
        "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW\u{e9}",
        "Basic \u{ff21}\u{ff22}\u{ff23}\u{ff24}", // full-width letters
        "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW,",
        "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW;x",
        "Basic \"czZCaGRSa3F0MzpnWDFmQmF0M2JW\"",
        "Basic ====",
        "Basic =czZC",
        "Basic czZC\0",
    ] {
        assert_eq!(
            basic(value),
            Err(HeaderError::InvalidCharacter),
            "{value:?}"
        );
    }
}

#[test]
fn basic_rejects_wrong_scheme_and_missing_credentials() {
    assert_eq!(
        basic("Bearer czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
        Err(HeaderError::WrongScheme)
    );
    assert_eq!(
        basic("Basicx czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
        Err(HeaderError::WrongScheme)
    );
    assert_eq!(
        basic("Digest czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
        Err(HeaderError::WrongScheme)
    );
    for value in ["", " ", "Basic", "Basic ", "Basic    ", "basic\t"] {
        assert_eq!(
            basic(value),
            Err(HeaderError::MissingCredentials),
            "{value:?}"
        );
    }
}

#[test]
fn basic_rejects_empty_client_id() {
    assert_eq!(
        basic(&raw_basic(b":secret")),
        Err(HeaderError::EmptyClientId)
    );
    assert_eq!(basic(&raw_basic(b":")), Err(HeaderError::EmptyClientId));
    // An encoded space is an identifier, not an empty one.
    assert_eq!(basic(&raw_basic(b"+:s")), pair(" ", "s"));
}

#[test]
fn basic_length_limit_is_exactly_the_buffer() {
    // "a:" + secret decodes to exactly BASIC_BUFFER_LEN bytes: accepted,
    // with or without padding.
    let secret = "s".repeat(BASIC_BUFFER_LEN - 2);
    let value = basic_header_value("a", &secret);
    assert!(value.ends_with('='), "1024 bytes need padding");
    assert_eq!(basic(&value), pair("a", &secret));
    assert_eq!(basic(value.trim_end_matches('=')), pair("a", &secret));

    // One byte more is too long.
    let longer = "s".repeat(BASIC_BUFFER_LEN - 1);
    assert_eq!(
        basic(&basic_header_value("a", &longer)),
        Err(HeaderError::TooLong)
    );
    // Far too long, and garbage that is too long, is still TooLong (checked
    // before decoding).
    assert_eq!(
        basic(&format!("Basic {}", "A".repeat(100_000))),
        Err(HeaderError::TooLong)
    );

    // The caller's buffer sets the limit.
    let mut small = [0u8; 8];
    assert_eq!(
        parse_basic("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW", &mut small),
        Err(HeaderError::TooLong)
    );
    let mut exact = [0u8; 21]; // "s6BhdRkqt3:gX1fBat3bV"
    let creds = parse_basic("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW", &mut exact).unwrap();
    assert_eq!(creds.client_id, "s6BhdRkqt3");
    let mut one_short = [0u8; 20];
    assert_eq!(
        parse_basic("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW", &mut one_short),
        Err(HeaderError::TooLong)
    );
    let mut empty: [u8; 0] = [];
    assert_eq!(
        parse_basic("Basic YTpi", &mut empty),
        Err(HeaderError::TooLong)
    );
}

#[test]
fn basic_round_trips_generated_credentials() {
    const PIECES: &[&str] = &[
        "a",
        "Z",
        "0",
        ":",
        "%",
        "+",
        " ",
        "&",
        "=",
        "@",
        "/",
        "\"",
        "\\",
        "\u{e9}",
        "\u{1F980}",
        "%41",
        "\t",
        "~",
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for _ in 0..3_000 {
        let mut id = String::new();
        for _ in 0..1 + next(10) {
            id.push_str(PIECES[next(PIECES.len())]);
        }
        let mut secret = String::new();
        for _ in 0..next(16) {
            secret.push_str(PIECES[next(PIECES.len())]);
        }
        let value = basic_header_value(&id, &secret);
        assert_eq!(basic(&value), pair(&id, &secret), "{id:?} {secret:?}");
    }
}

#[test]
fn basic_debug_hides_the_secret() {
    let mut buf = [0u8; BASIC_BUFFER_LEN];
    let value = basic_header_value("client-a", "very-secret-value");
    let creds = parse_basic(&value, &mut buf).unwrap();
    let debug = format!("{creds:?}");
    assert!(!debug.contains("very-secret-value"), "{debug}");
    assert!(debug.contains("client-a"), "{debug}");
    assert!(debug.contains("***"), "{debug}");
}

#[test]
fn header_errors_become_invalid_request_with_their_description() {
    let all = [
        HeaderError::WrongScheme,
        HeaderError::MissingCredentials,
        HeaderError::InvalidCharacter,
        HeaderError::InvalidBase64,
        HeaderError::MissingColon,
        HeaderError::InvalidPercentEncoding,
        HeaderError::InvalidUtf8,
        HeaderError::EmptyClientId,
        HeaderError::TooLong,
    ];
    let mut seen = Vec::new();
    for e in all {
        let oauth = OAuthError::from(e);
        assert_eq!(oauth.code(), ErrorCode::InvalidRequest);
        assert_eq!(oauth.description(), e.description());
        assert_eq!(e.to_string(), e.description());
        assert!(!e.description().is_empty());
        // Descriptions survive sanitising unchanged and are distinct.
        assert!(!seen.contains(&e.description()), "{e:?}");
        seen.push(e.description());
    }
    assert_eq!(
        HeaderError::MissingColon.description(),
        "Basic credentials lack the ':' separator"
    );
}

// ---------------------------------------------------------------- Bearer

#[test]
fn bearer_accepts_b64token() {
    assert_eq!(
        parse_bearer("Bearer mF_9.B5f-4.1JqM"),
        Ok("mF_9.B5f-4.1JqM")
    );
    assert_eq!(
        parse_bearer("bearer mF_9.B5f-4.1JqM"),
        Ok("mF_9.B5f-4.1JqM")
    );
    assert_eq!(
        parse_bearer("BEARER mF_9.B5f-4.1JqM"),
        Ok("mF_9.B5f-4.1JqM")
    );
    assert_eq!(parse_bearer("  Bearer   abc==  "), Ok("abc=="));
    // Every b64token character (RFC 6750 §2.1).
    let all = "AZaz09-._~+/==";
    assert_eq!(parse_bearer(&format!("Bearer {all}")), Ok(all));
    let long = "x".repeat(10_000);
    assert_eq!(parse_bearer(&format!("Bearer {long}")), Ok(long.as_str()));
}

#[test]
fn bearer_rejects_malformed_tokens() {
    for value in [
        "Bearer a b",
        "Bearer a\tb",
        "Bearer a\r\nb",
        "Bearer a,b",
        "Bearer a=b",
        "Bearer ==",
        "Bearer =abc",
        "Bearer \"abc\"",
        "Bearer abc\u{e9}",
        "Bearer \u{e9}",
        "Bearer abc\0",
        "Bearer a;b",
        "Bearer a%20b",
        "Bearer a:b",
    ] {
        assert_eq!(
            parse_bearer(value),
            Err(HeaderError::InvalidCharacter),
            "{value:?}"
        );
    }
    for value in ["", "Bearer", "Bearer ", "bearer    ", "Bearer\tabc"] {
        assert_eq!(
            parse_bearer(value),
            Err(HeaderError::MissingCredentials),
            "{value:?}"
        );
    }
    for value in ["Basic abc", "Bearerx abc", "MAC abc", "Token abc"] {
        assert_eq!(
            parse_bearer(value),
            Err(HeaderError::WrongScheme),
            "{value:?}"
        );
    }
}

#[test]
fn split_credentials_and_has_scheme() {
    assert_eq!(split_credentials("X y"), Ok(("X", "y")));
    assert_eq!(
        split_credentials(" Bearer  abc== "),
        Ok(("Bearer", "abc=="))
    );
    assert_eq!(
        split_credentials("Bearer a b"),
        Err(HeaderError::InvalidCharacter)
    );
    assert_eq!(
        split_credentials("Bearer"),
        Err(HeaderError::MissingCredentials)
    );

    assert!(has_scheme("Basic abc", "basic"));
    assert!(has_scheme("BASIC abc", "Basic"));
    assert!(has_scheme("  basic\tabc", "basic"));
    assert!(has_scheme("Basic", "basic"));
    assert!(!has_scheme("Basicabc", "basic"));
    assert!(!has_scheme("Bearer abc", "basic"));
    assert!(!has_scheme("Bas", "basic"));
    assert!(!has_scheme("", "basic"));
    assert!(!has_scheme("\u{e9}asic abc", "basic"));
}

// ---------------------------------------------------------------- challenges

#[test]
fn basic_challenge_quotes_the_realm() {
    assert_eq!(
        basic_challenge("oauth"),
        r#"Basic realm="oauth", charset="UTF-8""#
    );
    assert_eq!(basic_challenge(""), r#"Basic realm="", charset="UTF-8""#);
    assert_eq!(
        basic_challenge(r#"my "realm" \ here"#),
        r#"Basic realm="my \"realm\" \\ here", charset="UTF-8""#
    );
    // Control characters cannot be quoted (header injection): dropped.
    assert_eq!(
        basic_challenge("a\r\nSet-Cookie: x=1\0\u{7f}"),
        r#"Basic realm="aSet-Cookie: x=1", charset="UTF-8""#
    );
}

#[test]
fn bearer_challenge_renders_error_description_and_scope() {
    assert_eq!(
        bearer_challenge("example", None, None),
        r#"Bearer realm="example""#
    );
    let expired = OAuthError::new(ErrorCode::InvalidToken, "The access token expired");
    assert_eq!(
        bearer_challenge("example", Some(&expired), None),
        r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#
    );
    let scope = OAuthError::new(ErrorCode::InsufficientScope, "more scope needed");
    assert_eq!(
        bearer_challenge("api", Some(&scope), Some("read write")),
        r#"Bearer realm="api", error="insufficient_scope", error_description="more scope needed", scope="read write""#
    );
    let bare = OAuthError::new(ErrorCode::InvalidRequest, "");
    assert_eq!(
        bearer_challenge("api", Some(&bare), None),
        r#"Bearer realm="api", error="invalid_request""#
    );
    assert_eq!(
        bearer_challenge("a\"b\\c\nd", None, Some("x")),
        r#"Bearer realm="a\"b\\cd", scope="x""#
    );
    // A description is sanitised on construction, so it cannot break out
    // of its quotes either.
    let hostile = OAuthError::new(ErrorCode::InvalidToken, "bad \"token\"\r\nX: y\\");
    assert_eq!(
        bearer_challenge("r", Some(&hostile), None),
        r#"Bearer realm="r", error="invalid_token", error_description="bad ?token???X: y?""#
    );
}
