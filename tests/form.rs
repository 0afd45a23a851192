//! `application/x-www-form-urlencoded` parsing and encoding (RFC 6749
//! appendix B): borrowing, decoding errors, duplicate detection, empty
//! values, unknown parameters, and encode/parse round trips.

use std::borrow::Cow;

use oauth2_provider::form::{
    decode, decode_in_place, encode_into, encode_pairs, pairs, FormError, Param, Params,
};
use oauth2_provider::{ErrorCode, OAuthError};

#[allow(clippy::ptr_arg)] // the Cow variant is what is tested
fn is_borrowed(c: &Cow<'_, str>) -> bool {
    matches!(c, Cow::Borrowed(_))
}

fn collect(input: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    pairs(input)
        .map(|p| p.map(|(n, v)| (n.into_owned(), v.into_owned())))
        .collect()
}

fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------- decode

#[test]
fn decode_borrows_plain_components() {
    for raw in [
        &b""[..],
        b"plain",
        b"client_credentials",
        b"a.b-c_d~e*f",
        b"https://client.example.com/cb",
        "caf\u{e9}".as_bytes(),
    ] {
        let decoded = decode(raw).unwrap();
        assert!(is_borrowed(&decoded), "{raw:?} should borrow");
        assert_eq!(decoded.as_bytes(), raw);
    }
}

#[test]
fn decode_owns_when_plus_or_percent_is_present() {
    let cases: &[(&[u8], &str)] = &[
        (b"a+b", "a b"),
        (b"+", " "),
        (b"a%20b", "a b"),
        (b"%2B", "+"),
        (b"%2b", "+"),
        (b"%25", "%"),
        (b"%26%3D", "&="),
        (b"caf%C3%A9", "caf\u{e9}"),
        (b"caf%c3%a9", "caf\u{e9}"),
        (b"%F0%9F%A6%80", "\u{1F980}"),
        (b"%00", "\0"),
        (b"a%2Bb+c", "a+b c"),
        (b"%41%42%43", "ABC"),
    ];
    for (raw, expected) in cases {
        let decoded = decode(raw).unwrap();
        assert!(matches!(decoded, Cow::Owned(_)), "{raw:?} should own");
        assert_eq!(decoded, *expected, "decoding {raw:?}");
    }
}

#[test]
fn decode_rejects_bad_percent_escapes() {
    for raw in [
        &b"%"[..],
        b"%4",
        b"%zz",
        b"%%",
        b"%%41",
        b"%g0",
        b"%0g",
        b"abc%",
        b"abc%4",
        b"%4%41",
        b"% 41",
        b"%+1",
        b"%-1",
        b"%\xff\xff",
    ] {
        assert_eq!(
            decode(raw),
            Err(FormError::InvalidPercentEncoding),
            "{raw:?} must be rejected"
        );
    }
}

#[test]
fn decode_rejects_non_utf8() {
    for raw in [
        &b"%ff"[..],
        b"%FF",
        b"%C3",          // truncated two-byte sequence
        b"%C3%28",       // invalid continuation
        b"%C0%AF",       // overlong '/'
        b"%ED%A0%80",    // UTF-16 surrogate
        b"%F4%90%80%80", // above U+10FFFF
        b"\xff",         // raw, nothing to decode
        b"a\xc3",        // raw, truncated
        b"a+\xff",       // raw invalid byte next to a '+'
    ] {
        assert_eq!(decode(raw), Err(FormError::InvalidUtf8), "{raw:?}");
    }
}

#[test]
fn decode_in_place_shrinks_and_reports_length() {
    let mut buf = *b"a%20b+c%2F";
    let n = decode_in_place(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"a b c/");
    let mut bad = *b"ok%z1";
    assert_eq!(
        decode_in_place(&mut bad),
        Err(FormError::InvalidPercentEncoding)
    );
    // Not checked for UTF-8: the caller does that.
    let mut raw = *b"%ff";
    assert_eq!(decode_in_place(&mut raw), Ok(1));
    assert_eq!(raw[0], 0xff);
}

// ---------------------------------------------------------------- pairs

#[test]
fn pairs_borrow_each_component_independently() {
    let body = b"grant_type=client_credentials&scope=read+write&x%5Fy=z";
    let got: Vec<_> = pairs(body).collect::<Result<_, _>>().unwrap();
    assert_eq!(got.len(), 3);
    assert!(is_borrowed(&got[0].0) && is_borrowed(&got[0].1));
    assert_eq!(got[0], ("grant_type".into(), "client_credentials".into()));
    assert!(is_borrowed(&got[1].0));
    assert!(!is_borrowed(&got[1].1));
    assert_eq!(got[1].1, "read write");
    assert!(!is_borrowed(&got[2].0));
    assert!(is_borrowed(&got[2].1));
    assert_eq!(got[2], ("x_y".into(), "z".into()));
}

#[test]
fn pairs_skip_empty_segments_and_accept_missing_equals() {
    assert_eq!(collect(b"").unwrap(), owned(&[]));
    assert_eq!(collect(b"&&&").unwrap(), owned(&[]));
    assert_eq!(
        collect(b"&a=1&&b=2&").unwrap(),
        owned(&[("a", "1"), ("b", "2")])
    );
    assert_eq!(
        collect(b"flag&x=").unwrap(),
        owned(&[("flag", ""), ("x", "")])
    );
    // Only the first '=' separates: the rest belongs to the value.
    assert_eq!(
        collect(b"a==b&c=d=e").unwrap(),
        owned(&[("a", "=b"), ("c", "d=e")])
    );
    // ';' is not a separator.
    assert_eq!(collect(b"a=1;b=2").unwrap(), owned(&[("a", "1;b=2")]));
    // '+' in a name is a space too.
    assert_eq!(collect(b"a+b=c").unwrap(), owned(&[("a b", "c")]));
}

#[test]
fn pairs_reject_empty_names() {
    for body in [&b"=value"[..], b"=", b"a=1&=2", b"a=1&=&b=2", b"=%zz"] {
        let result = collect(body);
        assert_eq!(result, Err(FormError::EmptyName), "{body:?}");
    }
}

#[test]
fn pairs_report_decoding_errors_and_then_stop() {
    let mut it = pairs(b"a=1&b=%zz&c=3");
    assert_eq!(it.next().unwrap().unwrap(), ("a".into(), "1".into()));
    assert_eq!(it.next().unwrap(), Err(FormError::InvalidPercentEncoding));
    assert!(it.next().is_none(), "iteration must end after an error");
    assert!(it.next().is_none());

    let mut it = pairs(b"%ff=1&b=2");
    assert_eq!(it.next().unwrap(), Err(FormError::InvalidUtf8));
    assert!(it.next().is_none());

    let mut it = pairs(b"=1&b=2");
    assert_eq!(it.next().unwrap(), Err(FormError::EmptyName));
    assert!(it.next().is_none());
}

#[test]
fn pairs_never_panic_on_hostile_bytes() {
    // Every short string over a hostile alphabet: only values or errors.
    let alphabet: &[u8] = b"%=&+a4z\xff\xc3\xa9 ";
    let mut input = Vec::new();
    for len in 0..=5usize {
        let combos = alphabet.len().pow(len as u32);
        for mut n in 0..combos {
            input.clear();
            for _ in 0..len {
                input.push(alphabet[n % alphabet.len()]);
                n /= alphabet.len();
            }
            for (name, _) in pairs(&input).flatten() {
                assert!(!name.is_empty());
            }
            let _ = Params::parse(&input);
            let _ = decode(&input);
        }
    }
}

// ---------------------------------------------------------------- Params

#[test]
fn params_get_require_contains() {
    let params = Params::parse(
        b"grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA\
          &redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb",
    )
    .unwrap();
    assert_eq!(params.get(Param::GrantType), Some("authorization_code"));
    assert_eq!(params.get(Param::Code), Some("SplxlOBeZQQYbYS6WxSbIA"));
    assert_eq!(
        params.get(Param::RedirectUri),
        Some("https://client.example.com/cb")
    );
    assert!(params.contains(Param::Code));
    assert!(!params.contains(Param::Scope));
    assert_eq!(
        params.require(Param::Code).unwrap(),
        "SplxlOBeZQQYbYS6WxSbIA"
    );
    let missing = params.require(Param::CodeVerifier).unwrap_err();
    assert_eq!(missing.code(), ErrorCode::InvalidRequest);
    assert_eq!(missing.status(), 400);
    assert_eq!(
        missing.description(),
        "missing required parameter 'code_verifier'"
    );
    let listed: Vec<_> = params.iter().collect();
    assert_eq!(
        listed,
        vec![
            (Param::GrantType, "authorization_code"),
            (Param::Code, "SplxlOBeZQQYbYS6WxSbIA"),
            (Param::RedirectUri, "https://client.example.com/cb"),
        ]
    );
}

#[test]
fn params_reject_every_recognised_duplicate() {
    for &param in Param::ALL.iter().filter(|p| !p.repeatable()) {
        let body = format!("{0}=one&other=x&{0}=two", param.name());
        let err = Params::parse(body.as_bytes()).unwrap_err();
        assert_eq!(err, FormError::Duplicate(param), "{body}");
        assert!(err.to_string().contains(param.name()));

        let oauth: OAuthError = err.into();
        assert_eq!(oauth.code(), ErrorCode::InvalidRequest);
        assert_eq!(oauth.status(), 400);
        assert!(
            oauth.description().contains(param.name()),
            "description {:?} must name {}",
            oauth.description(),
            param.name()
        );
        assert_eq!(
            oauth.description(),
            format!("parameter '{}' is repeated", param.name())
        );
        // The description must read cleanly, not with '?' for quotes.
        assert!(
            !oauth.description().contains('?'),
            "{:?}",
            oauth.description()
        );
    }
}

#[test]
fn params_detect_duplicates_hidden_by_encoding() {
    // "scop%65" decodes to "scope".
    assert_eq!(
        Params::parse(b"scop%65=a&scope=b"),
        Err(FormError::Duplicate(Param::Scope))
    );
    assert_eq!(
        Params::parse(b"client%5Fid=a&client_id=a"),
        Err(FormError::Duplicate(Param::ClientId))
    );
    // Same value twice is still a duplicate.
    assert_eq!(
        Params::parse(b"grant_type=x&grant_type=x"),
        Err(FormError::Duplicate(Param::GrantType))
    );
}

#[test]
fn params_treat_empty_values_as_omitted() {
    let params = Params::parse(b"scope=&state&client_id=abc").unwrap();
    assert_eq!(params.get(Param::Scope), None);
    assert!(!params.contains(Param::Scope));
    assert_eq!(params.get(Param::State), None);
    assert_eq!(params.get(Param::ClientId), Some("abc"));
    // An empty one and a real one are not duplicates.
    let params = Params::parse(b"scope=&scope=read").unwrap();
    assert_eq!(params.get(Param::Scope), Some("read"));
    let params = Params::parse(b"scope=read&scope=").unwrap();
    assert_eq!(params.get(Param::Scope), Some("read"));
    let params = Params::parse(b"client_id=").unwrap();
    let err = params.require(Param::ClientId).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);
}

#[test]
fn params_ignore_unknown_parameters_even_repeated() {
    let params = Params::parse(b"foo=1&foo=2&grant_type=password&Scope=X&SCOPE=Y&bar").unwrap();
    assert_eq!(params.get(Param::GrantType), Some("password"));
    // Names are case-sensitive: "Scope" is not "scope".
    assert_eq!(params.get(Param::Scope), None);
    assert_eq!(params.iter().count(), 1);
}

#[test]
fn params_report_syntax_errors_as_invalid_request() {
    let cases: &[(&[u8], FormError)] = &[
        (b"grant_type=%", FormError::InvalidPercentEncoding),
        (b"grant_type=%4", FormError::InvalidPercentEncoding),
        (b"grant_type=%zz", FormError::InvalidPercentEncoding),
        (b"grant_type=%%", FormError::InvalidPercentEncoding),
        (b"grant_type=%ff", FormError::InvalidUtf8),
        (b"unknown=%ff", FormError::InvalidUtf8),
        (b"=x&grant_type=password", FormError::EmptyName),
    ];
    for (body, expected) in cases {
        let err = Params::parse(body).unwrap_err();
        assert_eq!(err, *expected, "{body:?}");
        let oauth = OAuthError::from(err);
        assert_eq!(oauth.code(), ErrorCode::InvalidRequest);
        assert_eq!(oauth.description(), expected.description());
        assert!(oauth.may_redirect());
    }
}

#[test]
fn params_borrow_unescaped_values() {
    // Observable through the zero-allocation test as well; here through
    // the values being slices of the input.
    let body = b"grant_type=client_credentials&scope=read";
    let params = Params::parse(body).unwrap();
    let value = params.get(Param::GrantType).unwrap();
    let range = body.as_ptr_range();
    assert!(
        range.contains(&value.as_ptr()),
        "value must point into the body"
    );
}

#[test]
fn params_debug_hides_secrets() {
    let body = b"client_id=app&client_secret=topsecret1&password=topsecret2&code=topsecret3\
                 &code_verifier=topsecret4&refresh_token=topsecret5&token=topsecret6\
                 &access_token=topsecret7&scope=read";
    let params = Params::parse(body).unwrap();
    let debug = format!("{params:?}");
    assert!(!debug.contains("topsecret"), "{debug}");
    assert!(debug.contains("\"client_id\": \"app\""), "{debug}");
    assert!(debug.contains("\"scope\": \"read\""), "{debug}");
    assert!(debug.contains("\"client_secret\": \"***\""), "{debug}");
}

#[test]
fn param_names_round_trip() {
    assert_eq!(Param::ALL.len(), 20);
    let repeatable: Vec<_> = Param::ALL.iter().filter(|p| p.repeatable()).collect();
    assert_eq!(
        repeatable,
        [&Param::Resource],
        "only resource may repeat (RFC 8707 §2)"
    );
    for &p in Param::ALL {
        assert_eq!(Param::from_name(p.name()), Some(p));
    }
    assert_eq!(Param::from_name("GRANT_TYPE"), None);
    assert_eq!(Param::from_name(""), None);
    assert_eq!(Param::CodeChallengeMethod.name(), "code_challenge_method");
}

#[test]
fn resource_repeats_in_order_and_other_duplicates_still_fail() {
    let body = b"resource=https%3A%2F%2Fa.example%2F&scope=read&resource=&resource=https://b.example/x?y=1";
    let params = Params::parse(body).unwrap();
    // Empty values are omitted, as for every parameter (RFC 6749 §3.1).
    assert_eq!(
        params.resources().collect::<Vec<_>>(),
        ["https://a.example/", "https://b.example/x?y=1"]
    );
    assert_eq!(params.get(Param::Resource), Some("https://a.example/"));
    let listed: Vec<_> = params.iter().collect();
    assert_eq!(
        listed,
        [
            (Param::Scope, "read"),
            (Param::Resource, "https://a.example/"),
            (Param::Resource, "https://b.example/x?y=1"),
        ]
    );
    assert!(Params::parse(b"x=1").unwrap().resources().next().is_none());
    // A repeated resource does not excuse another repeated parameter.
    assert_eq!(
        Params::parse(b"resource=a:b&scope=x&resource=c:d&scope=y"),
        Err(FormError::Duplicate(Param::Scope))
    );
    // Decoded values too.
    let params = Params::parse(b"resource=a:%C3%A9&resource=b:c").unwrap();
    assert_eq!(params.resources().collect::<Vec<_>>(), ["a:\u{e9}", "b:c"]);
}

// ---------------------------------------------------------------- encode

#[test]
fn encode_exact_outputs() {
    let mut out = String::new();
    encode_into(&mut out, "AZaz09*-._ ~!'()&=+%/?#:@,;$\u{e9}\n");
    assert_eq!(
        out,
        "AZaz09*-._+%7E%21%27%28%29%26%3D%2B%25%2F%3F%23%3A%40%2C%3B%24%C3%A9%0A"
    );
    assert_eq!(encode_pairs([]), "");
    assert_eq!(encode_pairs([("a", "")]), "a=");
    assert_eq!(
        encode_pairs([
            ("grant_type", "client_credentials"),
            ("scope", "read write")
        ]),
        "grant_type=client_credentials&scope=read+write"
    );
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn string(&mut self, min_len: usize, max_len: usize) -> String {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "0",
            "9",
            "-",
            ".",
            "_",
            "~",
            "*",
            "&",
            "=",
            "+",
            "%",
            "%2",
            "%zz",
            " ",
            "  ",
            "#",
            "?",
            "/",
            ":",
            "\"",
            "\\",
            "'",
            ";",
            "\t",
            "\n",
            "\r",
            "\0",
            "\u{7f}",
            "\u{e9}",
            "\u{65e5}\u{672c}",
            "\u{1F980}",
            "\u{200B}",
            "\u{FEFF}",
            "\u{10FFFF}",
            "grant_type",
            "scope",
        ];
        let len = min_len + self.below(max_len - min_len + 1);
        let mut s = String::new();
        while s.chars().count() < len {
            s.push_str(PIECES[self.below(PIECES.len())]);
        }
        s
    }
}

fn is_encoded_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_' | b'+' | b'%')
}

#[test]
fn encode_then_decode_round_trips_generated_strings() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..5_000 {
        let s = rng.string(0, 24);
        let mut encoded = String::new();
        encode_into(&mut encoded, &s);
        assert!(
            encoded.bytes().all(is_encoded_char),
            "encoding of {s:?} has a reserved character: {encoded:?}"
        );
        assert_eq!(decode(encoded.as_bytes()).unwrap(), s, "{encoded:?}");
    }
}

#[test]
fn encode_pairs_then_parse_round_trips_generated_pairs() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for _ in 0..2_000 {
        let count = rng.below(6);
        let list: Vec<(String, String)> = (0..count)
            .map(|_| (rng.string(1, 12), rng.string(0, 16)))
            .collect();
        let encoded = encode_pairs(list.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        assert_eq!(encoded.matches('&').count(), count.saturating_sub(1));
        assert_eq!(collect(encoded.as_bytes()).unwrap(), list, "{encoded:?}");
    }
}

#[test]
fn encode_pairs_then_params_round_trips_recognised_parameters() {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    for _ in 0..2_000 {
        // A random subset of the recognised parameters, each once, with
        // non-empty values, shuffled among unknown ones.
        let mut chosen: Vec<(String, String)> = Vec::new();
        for &p in Param::ALL {
            if rng.below(3) == 0 {
                chosen.push((p.name().to_owned(), rng.string(1, 10)));
            }
            if rng.below(5) == 0 {
                chosen.push((format!("x-{}", rng.string(1, 4)), rng.string(0, 6)));
            }
        }
        for i in (1..chosen.len()).rev() {
            let j = rng.below(i + 1);
            chosen.swap(i, j);
        }
        let body = encode_pairs(chosen.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let params = Params::parse(body.as_bytes()).unwrap();
        for &p in Param::ALL {
            let expected = chosen
                .iter()
                .find(|(n, _)| n == p.name())
                .map(|(_, v)| v.as_str());
            assert_eq!(params.get(p), expected, "{} in {body:?}", p.name());
        }
    }
}

// ---------------------------------------------------------------- scope

mod scope {
    use oauth2_provider::{ErrorCode, Scope};

    #[test]
    fn parse_normalises_spaces_and_duplicates() {
        assert_eq!(
            Scope::parse("read  write read").unwrap().as_str(),
            "read write"
        );
        assert_eq!(Scope::parse("  read ").unwrap().as_str(), "read");
        assert_eq!(Scope::parse("").unwrap(), Scope::empty());
        assert!(Scope::parse("   ").unwrap().is_empty());
        // Case matters: these are different tokens.
        assert_eq!(
            Scope::parse("Read read READ").unwrap().as_str(),
            "Read read READ"
        );
        // Every allowed punctuation character (%x21 / %x23-5B / %x5D-7E).
        let all = "!#$%&'()*+,-./:;<=>?@[]^_`{|}~";
        assert_eq!(Scope::parse(all).unwrap().as_str(), all);
        let s = Scope::parse("a b c").unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(s.contains("b") && !s.contains("d") && !s.contains(""));
        assert_eq!(s.to_string(), "a b c");
        assert_eq!(format!("{s:?}"), "Scope(\"a b c\")");
        assert_eq!(
            Scope::from_tokens(["x", "y", "x"]).unwrap().into_string(),
            "x y"
        );
    }

    #[test]
    fn parse_rejects_characters_outside_scope_token() {
        for text in [
            "bad\"quote",
            "back\\slash",
            "tab\tsep",
            "new\nline",
            "nul\0",
            "del\u{7f}",
            "caf\u{e9}",
            "nbsp\u{a0}x",
        ] {
            let err = Scope::parse(text).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidScope, "{text:?}");
            assert_eq!(err.status(), 400);
            assert_eq!(
                err.description(),
                "scope contains a character outside the scope-token syntax"
            );
        }
        assert!(Scope::from_tokens(["ok", "not ok\""]).is_err());
    }

    #[test]
    fn subsets() {
        let granted = Scope::parse("read write admin").unwrap();
        assert!(Scope::parse("read").unwrap().is_subset_of(&granted));
        assert!(Scope::parse("admin read").unwrap().is_subset_of(&granted));
        assert!(Scope::empty().is_subset_of(&granted));
        assert!(!Scope::parse("read delete").unwrap().is_subset_of(&granted));
        assert!(!Scope::parse("rea").unwrap().is_subset_of(&granted));
        assert!(!granted.is_subset_of(&Scope::empty()));
    }

    #[test]
    fn subsets_of_long_scopes() {
        // Past the short-scope scan the answer comes from a set: the same
        // answers, including a missing token at either end and a prefix.
        let tokens: Vec<String> = (0..50_000).map(|i| format!("s{i}")).collect();
        let granted = Scope::parse(&tokens.join(" ")).unwrap();
        let reversed: Vec<&str> = tokens.iter().rev().map(String::as_str).collect();
        assert!(Scope::parse(&reversed.join(" "))
            .unwrap()
            .is_subset_of(&granted));
        assert!(Scope::parse("s49999 s0").unwrap().is_subset_of(&granted));
        assert!(!Scope::parse("s50000 s0").unwrap().is_subset_of(&granted));
        assert!(!Scope::parse("s0 s1 s").unwrap().is_subset_of(&granted));
        let mut more = reversed.join(" ");
        more.push_str(" extra");
        assert!(!Scope::parse(&more).unwrap().is_subset_of(&granted));
        assert!(!granted.is_subset_of(&Scope::parse("s0 s1").unwrap()));
    }

    #[test]
    fn many_tokens_are_deduplicated_exactly() {
        // Past the point where duplicates are tracked in a set, the result
        // must be the same as for a short scope: first occurrences, in order.
        let distinct: Vec<String> = (0..5_000).map(|i| format!("s{i}")).collect();
        let mut text = String::new();
        for round in 0..3 {
            for (i, t) in distinct.iter().enumerate() {
                if round == 0 || i % (round + 1) == 0 {
                    text.push_str(t);
                    text.push_str(if i % 7 == 0 { "   " } else { " " });
                }
            }
        }
        let scope = Scope::parse(&text).unwrap();
        assert_eq!(scope.as_str(), distinct.join(" "));
        // Duplicates on both sides of the switch point.
        let mut text = String::from("dup ");
        for i in 0..200 {
            text.push_str(&format!("t{i} dup t{i} "));
        }
        let scope = Scope::parse(&text).unwrap();
        let expected: Vec<String> = std::iter::once("dup".to_owned())
            .chain((0..200).map(|i| format!("t{i}")))
            .collect();
        assert_eq!(scope.as_str(), expected.join(" "));
    }
}
