//! Secrets (constant-time comparison, stored forms, hex digests) and PKCE
//! (RFC 7636).

use oauth2_provider::pkce::{
    is_valid_challenge, is_valid_verifier, s256_challenge, verify, ChallengeMethod,
    S256_CHALLENGE_LEN,
};
use oauth2_provider::secret::{constant_time_eq, parse_sha256_hex, sha256, StoredSecret};
use oauth2_provider::Secret;

/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

const SHA256_EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SHA256_ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

fn hex(d: &[u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------- secrets

#[test]
fn sha256_known_vectors() {
    assert_eq!(hex(&sha256(b"")), SHA256_EMPTY);
    assert_eq!(hex(&sha256(b"abc")), SHA256_ABC);
}

#[test]
fn constant_time_eq_exact_outcomes() {
    assert!(constant_time_eq(b"", b""));
    assert!(constant_time_eq(b"s3cret", b"s3cret"));
    assert!(constant_time_eq(b"\0\xff\x80", b"\0\xff\x80"));
    assert!(!constant_time_eq(b"s3cret", b"s3creT"));
    assert!(!constant_time_eq(b"s3cret", b"s3cre"));
    assert!(!constant_time_eq(b"s3cre", b"s3cret"));
    assert!(!constant_time_eq(b"", b"\0"));
    assert!(!constant_time_eq(b"s3cret", b""));
    assert!(!constant_time_eq(b"a", b"b"));
    let long = vec![7u8; 1 << 16];
    let mut other = long.clone();
    assert!(constant_time_eq(&long, &other));
    other[(1 << 16) - 1] = 8;
    assert!(!constant_time_eq(&long, &other));
}

#[test]
fn stored_secret_plain_and_sha256() {
    let plain = StoredSecret::Plain("conf-secret");
    assert!(plain.verify("conf-secret"));
    assert!(!plain.verify("conf-secreT"));
    assert!(!plain.verify("conf-secret "));
    assert!(!plain.verify(""));
    assert!(!plain.verify("conf"));

    let digest = sha256(b"conf-secret");
    let hashed = StoredSecret::Sha256(&digest);
    assert!(hashed.verify("conf-secret"));
    assert!(!hashed.verify("CONF-SECRET"));
    assert!(!hashed.verify(""));
    // The digest itself (as hex) is not the secret.
    assert!(!hashed.verify(&hex(&digest)));

    // An empty stored secret matches only the empty string.
    assert!(StoredSecret::Plain("").verify(""));
    assert!(!StoredSecret::Plain("").verify("x"));
    let empty = parse_sha256_hex(SHA256_EMPTY).unwrap();
    assert!(StoredSecret::Sha256(&empty).verify(""));

    // Unicode secrets are compared on their UTF-8 bytes.
    let d = sha256("p\u{e4}ss".as_bytes());
    assert!(StoredSecret::Sha256(&d).verify("p\u{e4}ss"));
    assert!(!StoredSecret::Sha256(&d).verify("pa\u{308}ss")); // not normalised
}

#[test]
fn stored_secret_and_secret_debug_hide_the_value() {
    let digest = sha256(b"hunter2-stored");
    for (value, debug) in [
        (StoredSecret::Plain("hunter2-plain"), "Plain(***)"),
        (StoredSecret::Sha256(&digest), "Sha256(***)"),
    ] {
        let printed = format!("{value:?}");
        assert_eq!(printed, debug);
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains(&hex(&digest)[..8]));
    }
    let s = Secret::new("hunter2-owned");
    assert_eq!(format!("{s:?}"), "Secret(***)");
    assert_eq!(format!("{:#?}", s), "Secret(***)");
    assert_eq!(format!("{:?}", Some(&s)), "Some(Secret(***))");
}

#[test]
fn secret_equality_and_verify() {
    let s = Secret::new("hunter2");
    assert_eq!(s.expose(), "hunter2");
    assert!(s.verify("hunter2"));
    assert!(!s.verify("hunter"));
    assert!(!s.verify("hunter22"));
    assert_eq!(s, Secret::from("hunter2"));
    assert_eq!(s, Secret::from(String::from("hunter2")));
    assert_ne!(s, Secret::new("Hunter2"));
    assert_eq!(Secret::default(), Secret::new(""));
    assert_eq!(Secret::default().expose(), "");
}

#[test]
fn parse_sha256_hex_edge_cases() {
    assert_eq!(parse_sha256_hex(SHA256_ABC), Some(sha256(b"abc")));
    assert_eq!(
        parse_sha256_hex(&SHA256_ABC.to_ascii_uppercase()),
        Some(sha256(b"abc"))
    );
    let mixed: String = SHA256_ABC
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    assert_eq!(parse_sha256_hex(&mixed), Some(sha256(b"abc")));
    assert_eq!(parse_sha256_hex(&"0".repeat(64)), Some([0u8; 32]));
    assert_eq!(parse_sha256_hex(&"f".repeat(64)), Some([0xffu8; 32]));

    let rejected = [
        String::new(),
        "ba78".to_owned(),
        SHA256_ABC[..63].to_owned(),
        format!("{SHA256_ABC}0"),
        format!("0x{}", &SHA256_ABC[..62]),
        format!("{}g", &SHA256_ABC[..63]),
        format!("g{}", &SHA256_ABC[1..]),
        format!("{} ", &SHA256_ABC[..63]),
        format!(" {}", &SHA256_ABC[..63]),
        format!("{}\n", &SHA256_ABC[..63]),
        "+1".repeat(32),
        "-1".repeat(32),
        "\u{e9}".repeat(32),         // 64 bytes, not hex
        "\u{ff10}".repeat(21) + "0", // full-width digits, 64 bytes
        "\u{0660}".repeat(32),       // Arabic-Indic digits, 64 bytes
        "zz".repeat(32),
    ];
    for text in &rejected {
        assert_eq!(parse_sha256_hex(text), None, "{text:?}");
    }
}

// ---------------------------------------------------------------- PKCE

#[test]
fn pkce_rfc7636_appendix_b() {
    assert_eq!(s256_challenge(VERIFIER).as_str(), CHALLENGE);
    assert_eq!(format!("{:?}", s256_challenge(VERIFIER)), CHALLENGE);
    assert_eq!(s256_challenge(VERIFIER), s256_challenge(VERIFIER));
    assert!(verify(VERIFIER, CHALLENGE, ChallengeMethod::S256));
    assert!(is_valid_verifier(VERIFIER));
    assert!(is_valid_challenge(CHALLENGE, ChallengeMethod::S256));
    assert_eq!(CHALLENGE.len(), S256_CHALLENGE_LEN);
    // S256 never accepts the verifier itself as the challenge.
    assert!(!verify(VERIFIER, VERIFIER, ChallengeMethod::S256));
    // Plain compares the verifier with the challenge.
    assert!(verify(VERIFIER, VERIFIER, ChallengeMethod::Plain));
    assert!(!verify(VERIFIER, CHALLENGE, ChallengeMethod::Plain));
}

#[test]
fn pkce_s256_rejects_near_misses() {
    let mut wrong_last = CHALLENGE.to_owned();
    wrong_last.pop();
    wrong_last.push('N');
    assert!(!verify(VERIFIER, &wrong_last, ChallengeMethod::S256));
    let mut wrong_verifier = VERIFIER.to_owned();
    wrong_verifier.replace_range(0..1, "e");
    assert!(!verify(&wrong_verifier, CHALLENGE, ChallengeMethod::S256));
    // Wrong-length challenges: short, long, padded, empty.
    for challenge in [
        &CHALLENGE[..42],
        &format!("{CHALLENGE}A"),
        &format!("{CHALLENGE}="),
        "",
        &CHALLENGE.to_ascii_lowercase(),
    ] {
        assert!(
            !verify(VERIFIER, challenge, ChallengeMethod::S256),
            "{challenge:?}"
        );
    }
    // The standard (not URL-safe) alphabet is a different challenge.
    let standard = CHALLENGE.replace('-', "+");
    assert!(!verify(VERIFIER, &standard, ChallengeMethod::S256));
}

#[test]
fn pkce_verifier_length_bounds() {
    for (len, valid) in [
        (0, false),
        (1, false),
        (42, false),
        (43, true),
        (128, true),
        (129, false),
        (1000, false),
    ] {
        let v = "a".repeat(len);
        assert_eq!(is_valid_verifier(&v), valid, "length {len}");
        assert_eq!(
            is_valid_challenge(&v, ChallengeMethod::Plain),
            valid,
            "length {len}"
        );
        // A verifier of invalid syntax never verifies, whatever the challenge.
        assert_eq!(
            verify(&v, &v, ChallengeMethod::Plain),
            valid,
            "length {len}"
        );
        let c = s256_challenge(&v);
        assert_eq!(
            verify(&v, c.as_str(), ChallengeMethod::S256),
            valid,
            "length {len}"
        );
    }
}

#[test]
fn pkce_verifier_characters() {
    let base = "a".repeat(42);
    for allowed in ['A', 'Z', 'a', 'z', '0', '9', '-', '.', '_', '~'] {
        let v = format!("{base}{allowed}");
        assert!(is_valid_verifier(&v), "{allowed:?} is unreserved");
        assert!(verify(
            &v,
            s256_challenge(&v).as_str(),
            ChallengeMethod::S256
        ));
    }
    for forbidden in [
        "+",
        "/",
        "=",
        " ",
        "%",
        "!",
        "*",
        "\0",
        "\n",
        "\u{e9}",
        "\u{1F980}",
        ":",
    ] {
        let v = format!("{base}{forbidden}");
        assert!(!is_valid_verifier(&v), "{forbidden:?} is forbidden");
        assert!(!verify(&v, &v, ChallengeMethod::Plain), "{forbidden:?}");
        assert!(
            !verify(&v, s256_challenge(&v).as_str(), ChallengeMethod::S256),
            "{forbidden:?}"
        );
    }
    // Multi-byte characters: 43 characters but more bytes, or fewer
    // characters but 43 bytes; both invalid.
    assert!(!is_valid_verifier(&"\u{e9}".repeat(43)));
    assert!(!is_valid_verifier(&format!("{}\u{e9}", "a".repeat(41))));
}

#[test]
fn pkce_challenge_syntax() {
    assert!(is_valid_challenge(CHALLENGE, ChallengeMethod::S256));
    assert!(!is_valid_challenge(&CHALLENGE[..42], ChallengeMethod::S256));
    assert!(!is_valid_challenge(
        &format!("{CHALLENGE}A"),
        ChallengeMethod::S256
    ));
    assert!(!is_valid_challenge(
        &format!("{CHALLENGE}="),
        ChallengeMethod::S256
    ));
    // '.' and '~' are verifier characters but never appear in base64url.
    let dotted = format!("{}.", &CHALLENGE[..42]);
    assert!(!is_valid_challenge(&dotted, ChallengeMethod::S256));
    assert!(is_valid_challenge(&dotted, ChallengeMethod::Plain));
    let tilde = format!("{}~", &CHALLENGE[..42]);
    assert!(!is_valid_challenge(&tilde, ChallengeMethod::S256));
    for bad in ["+", "/", "=", " "] {
        let c = format!("{}{bad}", &CHALLENGE[..42]);
        assert!(!is_valid_challenge(&c, ChallengeMethod::S256), "{bad:?}");
        assert!(!is_valid_challenge(&c, ChallengeMethod::Plain), "{bad:?}");
    }
    // A plain challenge may be as long as a verifier.
    assert!(is_valid_challenge(&"x".repeat(128), ChallengeMethod::Plain));
    assert!(!is_valid_challenge(&"x".repeat(128), ChallengeMethod::S256));
}

#[test]
fn pkce_plain_requires_exact_match() {
    let v = "x".repeat(50);
    assert!(verify(&v, &v, ChallengeMethod::Plain));
    assert!(!verify(&v, &"x".repeat(49), ChallengeMethod::Plain));
    assert!(!verify(&v, &"x".repeat(51), ChallengeMethod::Plain));
    assert!(!verify(&v, &"X".repeat(50), ChallengeMethod::Plain));
    assert!(!verify(&v, "", ChallengeMethod::Plain));
}

#[test]
fn pkce_challenges_of_distinct_verifiers_differ() {
    let mut seen = std::collections::HashSet::new();
    for i in 0..500u32 {
        let v = format!("{:0>43}", format!("v{i}"));
        let c = s256_challenge(&v);
        assert!(is_valid_challenge(c.as_str(), ChallengeMethod::S256));
        assert!(verify(&v, c.as_str(), ChallengeMethod::S256));
        assert!(seen.insert(c.as_str().to_owned()));
    }
    let a = "a".repeat(43);
    let b = "b".repeat(43);
    assert!(!verify(
        &a,
        s256_challenge(&b).as_str(),
        ChallengeMethod::S256
    ));
}

#[test]
fn challenge_method_parse_is_case_sensitive() {
    assert_eq!(ChallengeMethod::parse("S256"), Some(ChallengeMethod::S256));
    assert_eq!(
        ChallengeMethod::parse("plain"),
        Some(ChallengeMethod::Plain)
    );
    for name in [
        "s256", "S-256", "SHA256", "PLAIN", "Plain", "S256 ", " plain", "", "none",
    ] {
        assert_eq!(ChallengeMethod::parse(name), None, "{name:?}");
    }
    assert_eq!(ChallengeMethod::S256.as_str(), "S256");
    assert_eq!(ChallengeMethod::Plain.as_str(), "plain");
    assert_eq!(ChallengeMethod::S256.to_string(), "S256");
    assert_eq!(ChallengeMethod::Plain.to_string(), "plain");
}
