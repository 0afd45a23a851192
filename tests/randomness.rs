//! Randomness from the operating system (issue 12): every value a request
//! makes comes from one call of the token generator, the default draws
//! them from the OS in one call, a host can plug in its own byte source,
//! and a source that fails answers `server_error` and changes nothing.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use oauth2_provider::token::{
    token_from_bytes, FillTokenGenerator, RandomTokenGenerator, TokenGenerator, TokenKind,
    TOKEN_BYTES,
};
use oauth2_provider::{Grant, OAuthError};

use common::{Delegating, CHALLENGE, CONF, VERIFIER};
use TokenKind::{AccessToken, AuthorizationCode, GrantId, RefreshToken};

/// The default generator, recording the kinds of each `generate_all` call
/// and counting calls of `generate` (which the server should not make).
#[derive(Clone, Default)]
struct Recording {
    batches: Arc<Mutex<Vec<Vec<TokenKind>>>>,
    singles: Arc<Mutex<usize>>,
}

impl TokenGenerator for Recording {
    fn generate(&self, kind: TokenKind) -> Result<String, OAuthError> {
        *self.singles.lock().unwrap() += 1;
        RandomTokenGenerator.generate(kind)
    }

    fn generate_all(&self, kinds: &[TokenKind], out: &mut [String]) -> Result<(), OAuthError> {
        self.batches.lock().unwrap().push(kinds.to_vec());
        RandomTokenGenerator.generate_all(kinds, out)
    }
}

impl Recording {
    fn take(&self) -> Vec<Vec<TokenKind>> {
        std::mem::take(&mut self.batches.lock().unwrap())
    }
}

/// A code for conf-client, approved by alice, with PKCE.
fn code<V: oauth2_provider::RequestValidator>(server: &oauth2_provider::Server<V>) -> String {
    let pending = common::get(
        server,
        &[
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", common::CONF_REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .expect("a valid authorization request");
    let r = common::approve(server, &pending, None);
    common::location_param(&r, "code").unwrap_or_else(|| panic!("no code: {r:?}"))
}

fn exchange_body(code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        common::CONF_REDIRECT
    )
}

#[test]
fn every_request_asks_the_generator_once_for_all_its_values() {
    let recording = Recording::default();
    let server = common::builder()
        .token_generator(recording.clone())
        .enable(Grant::Password)
        .enable(Grant::Implicit)
        .build()
        .unwrap();

    let r = common::token(&server, CONF, "grant_type=client_credentials");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(recording.take(), [vec![AccessToken]]);

    let (_, refresh) = common::login(&server, "read");
    assert_eq!(
        recording.take(),
        [vec![AccessToken, RefreshToken, GrantId]],
        "password: a new family"
    );

    let code = code(&server);
    assert_eq!(recording.take(), [vec![AuthorizationCode, GrantId]]);
    let r = common::token(&server, CONF, &exchange_body(&code));
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(
        recording.take(),
        [vec![AccessToken, RefreshToken]],
        "the code's grant id is kept"
    );

    let r = common::refresh(&server, &refresh, "");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(recording.take(), [vec![AccessToken, RefreshToken]]);

    let pending = common::get(
        &server,
        &[
            ("response_type", "token"),
            ("client_id", "public-client"),
            ("redirect_uri", common::PUBLIC_REDIRECT),
        ],
    )
    .expect("a valid implicit request");
    let r = common::approve(&server, &pending, None);
    assert!(
        common::location_param(&r, "access_token").is_some(),
        "{r:?}"
    );
    assert_eq!(recording.take(), [vec![AccessToken]]);

    assert_eq!(
        *recording.singles.lock().unwrap(),
        0,
        "no value drawn alone"
    );
}

/// A host's byte source.
type Fill = Box<dyn Fn(&mut [u8]) -> Result<(), OAuthError> + Send + Sync>;

/// A byte source that writes a known pattern (call `n`, byte `i`:
/// `n * 101 + i`) and records each request's length.
fn patterned() -> (FillTokenGenerator<Fill>, Arc<Mutex<Vec<usize>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let generator = FillTokenGenerator::new(Box::new(move |bytes: &mut [u8]| {
        let mut calls = seen.lock().unwrap();
        let n = calls.len();
        calls.push(bytes.len());
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (n * 101 + i) as u8;
        }
        Ok(())
    }) as Fill);
    (generator, calls)
}

/// The token that `patterned`'s call `n` puts at value `index`.
fn pattern_token(n: usize, index: usize) -> String {
    let bytes: [u8; TOKEN_BYTES] =
        std::array::from_fn(|i| (n * 101 + index * TOKEN_BYTES + i) as u8);
    token_from_bytes(&bytes)
}

#[test]
fn a_host_byte_source_gives_each_request_its_bytes_in_one_call() {
    let (generator, calls) = patterned();
    let server = common::builder()
        .token_generator(generator)
        .enable(Grant::Password)
        .build()
        .unwrap();

    let r = common::token(&server, CONF, &format!("{}&scope=read", common::ALICE));
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(common::field(&r, "access_token"), pattern_token(0, 0));
    assert_eq!(common::field(&r, "refresh_token"), pattern_token(0, 1));
    assert_eq!(*calls.lock().unwrap(), [3 * TOKEN_BYTES]);

    let r = common::token(&server, CONF, "grant_type=client_credentials");
    assert_eq!(common::field(&r, "access_token"), pattern_token(1, 0));
    assert_eq!(*calls.lock().unwrap(), [3 * TOKEN_BYTES, TOKEN_BYTES]);

    // The issued token is the host's bytes: the resource server accepts it.
    let info = common::bearer(&server, &pattern_token(1, 0), &["read"]).unwrap();
    assert_eq!(&*info.client_id, "conf-client");
}

#[test]
fn tokens_from_the_os_are_distinct_within_and_across_requests() {
    let server = common::password_server();
    let mut seen = HashSet::new();
    for _ in 0..500 {
        let (access, refresh) = common::login(&server, "read");
        for token in [access, refresh] {
            assert_eq!(token.len(), 43);
            assert!(seen.insert(token), "a token repeated");
        }
    }
    // Values drawn together are distinct too, for any count.
    for n in 1..=7 {
        let kinds = vec![AccessToken; n];
        let mut out = vec![String::new(); n];
        RandomTokenGenerator.generate_all(&kinds, &mut out).unwrap();
        assert!(out.iter().all(|t| t.len() == 43 && seen.insert(t.clone())));
    }
}

/// A byte source the test can break: while `broken`, every call fails.
fn breakable() -> (FillTokenGenerator<Fill>, Arc<AtomicBool>) {
    let broken = Arc::new(AtomicBool::new(false));
    let flag = broken.clone();
    let generator = FillTokenGenerator::new(Box::new(move |bytes: &mut [u8]| {
        if flag.load(Ordering::SeqCst) {
            return Err(OAuthError::server_error("the random source failed"));
        }
        getrandom::fill(bytes).map_err(|_| OAuthError::server_error("no randomness"))
    }) as Fill);
    (generator, broken)
}

fn assert_source_failure(r: &oauth2_provider::Response) {
    common::assert_error(r, 500, "server_error", "the random source failed");
}

#[test]
fn a_failing_source_is_server_error_and_saves_nothing() {
    let (generator, broken) = breakable();
    // Saving anything fails with another description: the answer shows
    // whether a save was attempted.
    let server = oauth2_provider::Server::builder(
        Delegating::new(common::realm()).failing("save_authorization_code"),
    )
    .issuer(common::ISSUER)
    .token_generator(generator)
    .enable(Grant::Password)
    .build()
    .unwrap();
    broken.store(true, Ordering::SeqCst);

    for body in ["grant_type=client_credentials", common::ALICE] {
        assert_source_failure(&common::token(&server, CONF, body));
    }
    assert_eq!(
        server.validator().inner.active_access_tokens(server.now()),
        0
    );

    // The authorization endpoint: the error goes back to the client,
    // without a code, and save_authorization_code was not reached.
    let pending = common::get(
        &server,
        &[
            ("response_type", "code"),
            ("client_id", "conf-client"),
            ("redirect_uri", common::CONF_REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .expect("a valid authorization request");
    let r = common::approve(&server, &pending, None);
    assert_eq!(
        common::location_param(&r, "error").as_deref(),
        Some("server_error"),
        "{r:?}"
    );
    assert_eq!(
        common::location_param(&r, "error_description").as_deref(),
        Some("the random source failed")
    );
    assert_eq!(common::location_param(&r, "code"), None);
}

#[test]
fn a_failing_source_leaves_the_code_and_the_refresh_token_unspent() {
    let (generator, broken) = breakable();
    let server = common::builder()
        .token_generator(generator)
        .enable(Grant::Password)
        .build()
        .unwrap();
    let (access, refresh) = common::login(&server, "read");
    let code = code(&server);
    let tokens = server.validator().active_access_tokens(server.now());

    broken.store(true, Ordering::SeqCst);
    assert_source_failure(&common::token(&server, CONF, &exchange_body(&code)));
    assert_source_failure(&common::refresh(&server, &refresh, ""));
    assert_eq!(
        server.validator().active_access_tokens(server.now()),
        tokens
    );

    // Once the source works again, the same code and refresh token work:
    // neither was spent, so neither counts as replayed, and nothing was
    // revoked.
    broken.store(false, Ordering::SeqCst);
    let r = common::token(&server, CONF, &exchange_body(&code));
    assert_eq!(r.status, 200, "{}", r.body_str());
    let r = common::refresh(&server, &refresh, "");
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert!(common::bearer(&server, &access, &["read"]).is_ok());
}

#[test]
fn a_host_generator_with_only_generate_still_serves_requests() {
    /// Implements only `generate`: the trait's default `generate_all`
    /// asks it kind by kind.
    struct Counter(Mutex<u32>);
    impl TokenGenerator for Counter {
        fn generate(&self, kind: TokenKind) -> Result<String, OAuthError> {
            let mut n = self.0.lock().unwrap();
            *n += 1;
            Ok(format!("{kind:?}-{n}"))
        }
    }
    let server = common::builder()
        .token_generator(Counter(Mutex::new(0)))
        .enable(Grant::Password)
        .build()
        .unwrap();
    let r = common::token(&server, CONF, &format!("{}&scope=read", common::ALICE));
    assert_eq!(common::field(&r, "access_token"), "AccessToken-1");
    assert_eq!(common::field(&r, "refresh_token"), "RefreshToken-2");
    let info = common::bearer(&server, "AccessToken-1", &["read"]).unwrap();
    assert_eq!(info.grant_id.as_deref(), Some("GrantId-3"));
}
