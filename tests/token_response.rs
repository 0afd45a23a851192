//! Token generation and the bearer token response (RFC 6749 §5.1,
//! RFC 6750), including the JSON writer behind it.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oauth2_provider::response::{write_json_string, JsonObject, JSON_CONTENT_TYPE};
use oauth2_provider::token::{
    generate_token, generate_tokens, BearerToken, RandomTokenGenerator, TokenGenerator, TokenKind,
    TOKEN_BYTES,
};
use oauth2_provider::{OAuthError, Response};

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

// ---------------------------------------------------------------- generation

#[test]
fn generated_tokens_are_43_base64url_characters_of_32_random_bytes() {
    for _ in 0..100 {
        let t = generate_token().unwrap();
        assert_eq!(t.len(), 43, "{t}");
        assert!(t.bytes().all(is_base64url), "{t}");
        assert!(!t.contains('='));
        let raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        assert_eq!(raw.len(), TOKEN_BYTES);
    }
}

#[test]
fn generated_tokens_are_unique_over_10k_draws() {
    let mut seen = HashSet::with_capacity(10_000);
    for _ in 0..10_000 {
        assert!(seen.insert(generate_token().unwrap()), "a token repeated");
    }
}

#[test]
fn generated_tokens_use_the_whole_alphabet() {
    // 10k tokens are 430k characters: every one of the 64 symbols shows up,
    // and every position varies (a stuck byte would show here).
    let mut symbols = HashSet::new();
    let mut first_chars = HashSet::new();
    for _ in 0..10_000 {
        let t = generate_token().unwrap();
        symbols.extend(t.bytes());
        first_chars.insert(t.as_bytes()[0]);
    }
    assert_eq!(symbols.len(), 64);
    assert_eq!(first_chars.len(), 64);
}

#[test]
fn random_generator_serves_every_kind() {
    let g = RandomTokenGenerator;
    let mut seen = HashSet::new();
    for kind in [
        TokenKind::AccessToken,
        TokenKind::RefreshToken,
        TokenKind::AuthorizationCode,
        TokenKind::GrantId,
    ] {
        let t = g.generate(kind).unwrap();
        assert_eq!(t.len(), 43);
        assert!(t.bytes().all(is_base64url));
        assert!(seen.insert(t));
    }
}

#[test]
fn tokens_drawn_together_are_independent_full_tokens() {
    let mut seen = HashSet::new();
    for _ in 0..1000 {
        let [a, b, c] = generate_tokens::<3>().unwrap();
        for t in [a, b, c] {
            assert_eq!(URL_SAFE_NO_PAD.decode(&t).unwrap().len(), TOKEN_BYTES);
            assert!(seen.insert(t), "a token repeated");
        }
    }
    let mut values = [String::new(), String::new(), String::new()];
    RandomTokenGenerator
        .generate_all(
            &[
                TokenKind::AccessToken,
                TokenKind::RefreshToken,
                TokenKind::GrantId,
            ],
            &mut values,
        )
        .unwrap();
    for t in &values {
        assert_eq!(URL_SAFE_NO_PAD.decode(t).unwrap().len(), TOKEN_BYTES);
        assert!(seen.insert(t.clone()), "a token repeated");
    }
}

// ---------------------------------------------------------------- JSON

#[test]
fn bearer_token_json_exact() {
    assert_eq!(
        BearerToken::new("2YotnFZFEjr1zCsicMWpAA".into(), None).to_json(),
        r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer"}"#
    );
    assert_eq!(
        BearerToken::new("2YotnFZFEjr1zCsicMWpAA".into(), Some(3600)).to_json(),
        r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer","expires_in":3600}"#
    );
    // RFC 6749 §5.1's example, plus scope.
    assert_eq!(
        BearerToken::new("2YotnFZFEjr1zCsicMWpAA".into(), Some(3600))
            .with_refresh_token("tGzv3JOkF0XG5Qx2TlKWIA".into())
            .with_scope("read write")
            .to_json(),
        r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer","expires_in":3600,"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA","scope":"read write"}"#
    );
    assert_eq!(
        BearerToken::new("a".into(), Some(0))
            .with_scope("")
            .to_json(),
        r#"{"access_token":"a","token_type":"Bearer","expires_in":0,"scope":""}"#
    );
    assert_eq!(
        BearerToken::new("a".into(), Some(u64::MAX)).to_json(),
        r#"{"access_token":"a","token_type":"Bearer","expires_in":18446744073709551615}"#
    );
}

#[test]
fn bearer_token_json_escapes_hostile_values() {
    // A custom token generator or a host's scope could hold anything.
    let t = BearerToken::new("q\"b\\n\nr\rt\t\u{0}\u{1f}\u{7f}".into(), None)
        .with_refresh_token("\u{e9}\u{1F980}\u{2028}".into())
        .with_scope("</script>");
    assert_eq!(
        t.to_json(),
        "{\"access_token\":\"q\\\"b\\\\n\\nr\\rt\\t\\u0000\\u001f\u{7f}\",\"token_type\":\"Bearer\",\
         \"refresh_token\":\"\u{e9}\u{1F980}\u{2028}\",\"scope\":\"</script>\"}"
    );
}

#[test]
fn write_json_string_escapes_every_control_character() {
    for b in 0u8..0x20 {
        let mut out = String::new();
        write_json_string(&mut out, &(b as char).to_string());
        let expected = match b {
            b'\n' => "\"\\n\"".to_owned(),
            b'\r' => "\"\\r\"".to_owned(),
            b'\t' => "\"\\t\"".to_owned(),
            _ => format!("\"\\u{b:04x}\""),
        };
        assert_eq!(out, expected, "byte {b:#x}");
    }
    let mut out = String::from("prefix:");
    write_json_string(&mut out, "");
    assert_eq!(out, "prefix:\"\"");
}

#[test]
fn json_object_exact() {
    assert_eq!(JsonObject::new().finish(), "{}");
    let mut o = JsonObject::with_capacity(0);
    o.string("k\"ey", "v")
        .number("n", 42)
        .boolean("t", true)
        .boolean("f", false)
        .string_array("a", ["x", "y\"z"])
        .string_array("e", []);
    assert_eq!(
        o.finish(),
        r#"{"k\"ey":"v","n":42,"t":true,"f":false,"a":["x","y\"z"],"e":[]}"#
    );
}

// ---------------------------------------------------------------- response

fn assert_no_store_json(r: &Response) {
    assert_eq!(
        r.header("Content-Type"),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(r.header("content-type"), Some(JSON_CONTENT_TYPE));
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    assert_eq!(r.header("CACHE-CONTROL"), Some("no-store"));
    assert_eq!(r.header("Pragma"), Some("no-cache"));
}

#[test]
fn into_response_is_200_json_no_store() {
    let t = BearerToken::new("tok".into(), Some(60)).with_scope("read");
    let json = t.to_json();
    let r = t.into_response();
    assert_eq!(r.status, 200);
    assert_no_store_json(&r);
    assert_eq!(r.headers.len(), 3);
    assert_eq!(r.body_str(), json);
    assert_eq!(r.body, json.as_bytes());
    assert_eq!(r.header("Location"), None);
}

#[test]
fn bearer_token_debug_hides_tokens() {
    let t = BearerToken::new("access-SECRET-1".into(), Some(5))
        .with_refresh_token("refresh-SECRET-2".into())
        .with_scope("read");
    let d = format!("{t:?}");
    assert!(!d.contains("SECRET"), "{d}");
    assert!(d.contains("read"), "{d}");
    assert!(d.contains("expires_in: Some(5)"), "{d}");
    // The response's Debug shows no body either.
    let r = format!("{:?}", t.into_response());
    assert!(!r.contains("SECRET"), "{r}");
}

/// A generator that numbers its tokens, so responses can be compared exactly.
#[derive(Default)]
struct Sequence(AtomicUsize);

impl TokenGenerator for Sequence {
    fn generate(&self, kind: TokenKind) -> Result<String, OAuthError> {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        Ok(format!("{kind:?}-{n}"))
    }
}

#[test]
fn server_token_response_exact_body_and_headers() {
    let server = common::builder()
        .token_generator(Sequence::default())
        .build()
        .unwrap();
    let r = common::token(
        &server,
        common::CONF,
        "grant_type=client_credentials&scope=read+write",
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_no_store_json(&r);
    assert_eq!(
        r.body_str(),
        r#"{"access_token":"AccessToken-0","token_type":"Bearer","expires_in":3600,"scope":"read write"}"#
    );

    // Default scope, default generator.
    let server = common::server();
    let r = common::token(&server, common::CONF, "grant_type=client_credentials");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_no_store_json(&r);
    let token = common::json_field(&r, "access_token").unwrap();
    assert_eq!(token.len(), 43);
    assert!(token.bytes().all(is_base64url));
    assert_eq!(
        common::json_field(&r, "token_type").as_deref(),
        Some("Bearer")
    );
    assert_eq!(
        common::json_field(&r, "expires_in").as_deref(),
        Some("3600")
    );
    assert_eq!(common::json_field(&r, "scope").as_deref(), Some("read"));
    // Client credentials never issues a refresh token (RFC 6749 §4.4.3).
    assert_eq!(common::json_field(&r, "refresh_token"), None);
}

/// A host generator that implements only `generate`: the grants that issue
/// two values at once get each from it, in order, with its kind.
#[test]
fn pairs_come_from_a_host_generator_kind_by_kind() {
    let server = common::builder()
        .token_generator(Sequence::default())
        .enable(oauth2_provider::Grant::Password)
        .build()
        .unwrap();
    let r = common::token(
        &server,
        common::CONF,
        &format!("{}&scope=read", common::ALICE),
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(common::field(&r, "access_token"), "AccessToken-0");
    assert_eq!(common::field(&r, "refresh_token"), "RefreshToken-1");

    let pending = common::get(
        &server,
        &[
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", common::CONF_REDIRECT),
        ],
    )
    .expect("a valid authorization request");
    let code = common::location_param(&common::approve(&server, &pending, None), "code");
    assert_eq!(code.as_deref(), Some("AuthorizationCode-3"));
}
