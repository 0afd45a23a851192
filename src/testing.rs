//! A conformance kit for validators (feature `testing`): runs a store
//! through every flow the library drives and panics, naming the check and
//! what it saw, where the store breaks the [`RequestValidator`] contract.
//!
//! A store passes it before it ships. The kit does not know how a store
//! registers clients, so the host hands it a factory: a function that
//! makes an empty store holding the kit's [`Fixture`] (its clients and
//! users). The kit moves the server's clock; the store sees it as each
//! request's [`OAuthRequest::now`].
//!
//! ```
//! use oauth2_provider::memory::MemoryValidator;
//! use oauth2_provider::testing::{self, Fixture};
//!
//! fn memory_store(fixture: &Fixture) -> MemoryValidator {
//!     let store = MemoryValidator::new();
//!     for c in &fixture.clients {
//!         store.add_client(c.record());
//!     }
//!     for (user, password) in &fixture.users {
//!         store.add_user(user, password);
//!     }
//!     store
//! }
//!
//! testing::check(memory_store);
//! testing::check_purge(memory_store, |store, now| store.purge_expired(now));
//! ```
//!
//! What it checks, each on a fresh store: a client-credentials token that
//! opens the resource and is revoked; an authorization code with PKCE
//! that works once and whose replay by its client revokes its grant; a
//! refresh token that rotates, and whose reuse revokes the grant; expiry
//! of codes, access and refresh tokens on the kit's clock; a revoked
//! grant's store refusing a late save; racing exchanges of one code and
//! of one refresh token, which give at most one set of tokens; and a save
//! that fails (the kit repeats a stored token's value, which the store
//! must refuse) after which the code, or the refresh token, still works
//! and its retry succeeds; and the audiences (RFC 8707) saved with a code,
//! an access token and a refresh token, handed back as saved. [`check_purge`] adds the store's purge: it
//! forgets what expired and keeps what replay and reuse detection need.
//!
//! Some parts of the contract a server reaches only on rare paths; these
//! checks call the store's methods directly: [`check_storage`]
//! (collisions refused whole, hostile tokens unknown) and
//! [`check_consume_and_save`] (a refused spend leaves its credential
//! usable). [`check_purge_count`] and [`check_at_rest`] apply to stores
//! whose purge counts and whose data can be copied. A check that does not
//! apply to a store is skipped by not calling it, and the caller says why.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

mod device;

pub use device::{
    check_device_authorizations, check_device_purge, check_device_user_removal,
    check_user_code_entries_kept,
};

use crate::client_record::ClientRecord;
use crate::form::encode_pairs;
use crate::header::basic_header_value;
use crate::pkce::s256_challenge;
use crate::pkce::ChallengeMethod;
use crate::request::{OAuthRequest, Request};
use crate::response::Response;
use crate::scope::Scope;
use crate::server::Server;
use crate::token::{TokenGenerator, TokenKind};
use crate::validator::{
    grant_ended, AuthorizationCode, CodeStatus, Consumed, IssuedToken, RequestValidator, TokenType,
};
use crate::{ErrorCode, OAuthError};

/// The time the kit's clock starts at, seconds since the Unix epoch.
pub const START: u64 = 1_700_000_000;

/// A client of the kit's fixture.
#[derive(Clone, Copy, Debug)]
pub struct FixtureClient {
    /// Its identifier.
    pub client_id: &'static str,
    /// Its secret (plain text), `None` for a public client.
    pub secret: Option<&'static str>,
    /// Its one redirect URI.
    pub redirect_uri: &'static str,
    /// The grant types it may use, by name (`authorization_code`, …).
    pub grants: &'static [&'static str],
    /// The scopes it may have; it has no default scope.
    pub scopes: &'static [&'static str],
    /// The resources (RFC 8707) it may ask tokens for.
    pub resources: &'static [&'static str],
    /// Whether it must push its authorization requests (RFC 9126 §6).
    pub require_par: bool,
}

impl FixtureClient {
    /// The client as a [`ClientRecord`], the record every store of this
    /// workspace keeps (public when it has no secret).
    pub fn record(&self) -> ClientRecord {
        let record = match self.secret {
            Some(secret) => ClientRecord::confidential(self.client_id, secret, [self.redirect_uri]),
            None => ClientRecord::public(self.client_id, [self.redirect_uri]),
        };
        record
            .grants(self.grants.iter().copied())
            .scopes(self.scopes.iter().copied())
            .resources(self.resources.iter().copied())
            .require_pushed_authorization_requests(self.require_par)
    }
}

/// The confidential client of the fixture.
pub const CONFIDENTIAL: FixtureClient = FixtureClient {
    client_id: "kit-confidential",
    secret: Some("kit-secret"),
    redirect_uri: "https://kit.example/cb",
    grants: &[
        "authorization_code",
        "client_credentials",
        "password",
        "refresh_token",
        crate::device::DEVICE_CODE_GRANT_TYPE,
    ],
    scopes: &["read", "write"],
    resources: &[],
    require_par: false,
};

/// The public client of the fixture (PKCE required, as for every public
/// client).
pub const PUBLIC: FixtureClient = FixtureClient {
    client_id: "kit-public",
    secret: None,
    redirect_uri: "http://127.0.0.1:7777/cb",
    grants: &[
        "authorization_code",
        "refresh_token",
        crate::device::DEVICE_CODE_GRANT_TYPE,
    ],
    scopes: &["read"],
    resources: &[],
    require_par: false,
};

/// What a store must hold for the kit.
#[derive(Debug)]
pub struct Fixture {
    /// The clients to register.
    pub clients: Vec<FixtureClient>,
    /// The users to register, `(name, password)`.
    pub users: Vec<(&'static str, &'static str)>,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            clients: vec![CONFIDENTIAL, PUBLIC],
            users: vec![("kit-user", "kit-password")],
        }
    }
}

/// The kit's clock: the server's, which the store sees as each request's
/// [`OAuthRequest::now`].
#[derive(Clone, Debug)]
struct KitClock(Arc<AtomicU64>);

impl KitClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

/// The kit's token generator: unique values from a counter, except that
/// the kit can have the next access token repeat a stored one, the one
/// way it has to make any store's save fail.
#[derive(Debug, Default)]
struct KitTokens {
    issued: AtomicU64,
    repeat: Mutex<Option<String>>,
}

impl KitTokens {
    /// Makes the next access token `value`.
    fn repeat_next(&self, value: &str) {
        *self.repeat.lock().unwrap_or_else(PoisonError::into_inner) = Some(value.to_owned());
    }
}

impl TokenGenerator for KitTokens {
    fn generate(&self, kind: TokenKind) -> Result<String, OAuthError> {
        if kind == TokenKind::AccessToken {
            let repeat = self
                .repeat
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(value) = repeat {
                return Ok(value);
            }
        }
        let n = self.issued.fetch_add(1, Ordering::SeqCst);
        Ok(format!("kit-{kind:?}-{n:08}"))
    }
}

/// Lifetimes the kit configures: short, so expiry is quick to reach.
const ACCESS_LIFETIME: u64 = 600;
const CODE_LIFETIME: u64 = 60;
const REFRESH_LIFETIME: u64 = 3600;
const DEVICE_LIFETIME: u64 = 600;

/// Runs every check on stores made by `new_store`, one fresh store per
/// check; panics at the first failure, naming it.
pub fn check<V, F>(new_store: F)
where
    V: RequestValidator + 'static,
    F: Fn(&Fixture) -> V,
{
    let checks: [(&str, Check<V>); 9] = [
        ("client credentials", client_credentials),
        ("authorization code", authorization_code),
        ("refresh rotation and reuse", refresh_rotation),
        ("expiry", expiry),
        (
            "a revoked grant refuses a late save",
            revoked_grant_refuses_saves,
        ),
        ("racing code exchanges", racing_code_exchanges),
        ("racing refreshes", racing_refreshes),
        ("a failed save, then its retry", failed_save_and_retry),
        ("audiences are stored", audiences_are_stored),
    ];
    for (name, run) in checks {
        run(&Kit::new(name, new_store(&Fixture::new())));
    }
}

/// Checks the store's purge, `purge(store, now)`, on a store made by
/// `new_store`: run at the kit's time after codes and tokens expired, it
/// must keep every live token working, and keep what replay and reuse
/// detection need while a replayed code or a reused refresh token could
/// still be presented.
pub fn check_purge<V, F, P>(new_store: F, purge: P)
where
    V: RequestValidator + 'static,
    F: Fn(&Fixture) -> V,
    P: Fn(&V, u64),
{
    let kit = Kit::new("purge", new_store(&Fixture::new()));
    let purge = || purge(kit.server.validator(), kit.clock.now());

    // An expired access token, a used code and a rotated refresh token.
    let (old_access, _) = kit.tokens(
        &kit.token(&CONFIDENTIAL, &[("grant_type", "client_credentials")]),
        "client credentials",
    );
    let code = kit.code(&PUBLIC);
    let (_, refresh) = kit.tokens(&kit.exchange(&PUBLIC, &code), "code exchange");
    let refresh = refresh.unwrap_or_else(|| kit.fail("code exchange: no refresh token"));
    let (_, rotated) = kit.tokens(&kit.refresh(&PUBLIC, &refresh), "refresh");
    let rotated = rotated.unwrap_or_else(|| kit.fail("refresh: no refresh token"));
    kit.clock.advance(ACCESS_LIFETIME);
    purge();
    kit.expect(!kit.opens(&old_access), "an expired access token opens");
    // The rotated-out token is still remembered: its reuse revokes.
    kit.expect_error(
        &kit.refresh(&PUBLIC, &refresh),
        "invalid_grant",
        "reuse of a rotated refresh token after a purge",
    );
    kit.expect_error(
        &kit.refresh(&PUBLIC, &rotated),
        "invalid_grant",
        "the grant's live refresh token after its reuse was detected across a purge",
    );
    // A purge keeps a live grant working, and forgets an expired one.
    let (access, live) = kit.login();
    purge();
    kit.expect(
        kit.opens(&access),
        "a live access token stops working after a purge",
    );
    let (_, live) = kit.tokens(&kit.refresh(&CONFIDENTIAL, &live), "refresh after a purge");
    let live = live.unwrap_or_else(|| kit.fail("refresh after a purge: no refresh token"));
    kit.clock.advance(REFRESH_LIFETIME);
    purge();
    kit.expect_error(
        &kit.refresh(&CONFIDENTIAL, &live),
        "invalid_grant",
        "an expired refresh token after a purge",
    );
    kit.expect_error(
        &kit.exchange(&PUBLIC, &code),
        "invalid_grant",
        "an expired, used code after a purge",
    );
}

/// Checks the parts of the storage contract a server reaches only on
/// rare paths, by calling the store's methods directly, each on a fresh
/// store made by `new_store`; panics at the first failure, naming it:
///
/// - a save over a stored value is refused whole: an access token, a
///   new refresh token or a code already stored makes the save answer
///   `server_error` ([`token_collision`](crate::validator::token_collision))
///   and store nothing of it; a token of an unknown grant that does not
///   start it is refused with [`grant_ended`];
/// - hostile tokens (100,000 bytes, empty, non-ASCII, `%00`, SQL) are
///   unknown to every lookup, and their revocation succeeds.
pub fn check_storage<V, F>(new_store: F)
where
    V: RequestValidator,
    F: Fn(&Fixture) -> V,
{
    let checks: [(&str, DirectCheck<V>); 2] = [
        (
            "a save over a stored value is refused whole",
            saves_refused_whole,
        ),
        ("hostile tokens are unknown", hostile_tokens_are_unknown),
    ];
    for (name, run) in checks {
        run(&Direct {
            name,
            store: new_store(&Fixture::new()),
        });
    }
}

/// Checks, by calling the store's methods directly on a store made by
/// `new_store`, that a refused
/// [`consume_and_save`](RequestValidator::consume_and_save) leaves its
/// credential usable: for a grant revoked meanwhile it answers
/// [`grant_ended`] and the code still validates; after a collision the
/// retry spends the code; a spent code reads [`CodeStatus::Used`] with
/// its grant and challenge; a spent refresh token cannot be spent again.
/// Panics, naming the check, at the first failure.
///
/// A store without transactions (the trait's two-step default
/// `consume_and_save`) fails it: that is the finding. A store behind the
/// C ABI cannot pass it as the ABI stands (its `consume_and_save`
/// callback has no answer for "grant ended": a refusal reads as "already
/// spent"), so it does not call it.
pub fn check_consume_and_save<V, F>(new_store: F)
where
    V: RequestValidator,
    F: Fn(&Fixture) -> V,
{
    refused_consume_leaves_usable(&Direct {
        name: "a refused consume_and_save leaves its credential usable",
        store: new_store(&Fixture::new()),
    });
}

/// Checks that the store's purge, `purge(store, now)`, returns how many
/// records it deleted, counting each code, access token, refresh token
/// and grant: nothing before anything expired; a code and an access
/// token, and the code's grant, once they expired; a refresh token and
/// its grant once it expired; nothing the second time.
///
/// For a store whose purge counts; one that does not count skips this
/// check by not calling it.
pub fn check_purge_count<V, F, P>(new_store: F, purge: P)
where
    V: RequestValidator,
    F: Fn(&Fixture) -> V,
    P: Fn(&V, u64) -> u64,
{
    let d = Direct {
        name: "the purge counts what it deletes",
        store: new_store(&Fixture::new()),
    };
    let r = d.request();
    d.ok(
        d.store
            .save_authorization_code(PUBLIC.client_id, &stored_code("code-1", "g1"), &r),
        "save_authorization_code",
    );
    d.ok(
        d.store
            .save_bearer_token(&issued("access-1", Some("refresh-1"), "g2", true), &r),
        "save_bearer_token",
    );
    let expect = |now: u64, count: u64, what: &str| {
        let got = purge(&d.store, now);
        d.expect(
            got == count,
            &format!("{what}: the purge counted {got}, not {count}"),
        );
    };
    expect(START, 0, "nothing expired yet");
    // The grants outlive the code (g1) and last as long as the refresh
    // token (g2).
    expect(
        START + ACCESS_LIFETIME,
        3,
        "an expired code and access token, and the code's grant",
    );
    expect(
        START + REFRESH_LIFETIME,
        2,
        "an expired refresh token and its grant",
    );
    expect(START + REFRESH_LIFETIME, 0, "a second purge");
}

/// Checks that the store keeps no usable credential: after codes (one
/// exchanged, one not), client credentials, password grant, rotated
/// tokens and a device flow's codes and tokens are issued and the
/// fixture's secrets registered, `dump(store)` (the bytes a copy of the store's data would give: its files, or its
/// rows as text) holds none of them, only digests and hashes. The dump
/// must hold the fixture's user name, stored as given, so that a dump of
/// nothing cannot pass.
///
/// Returns the credentials it looked for, so that a store can look again
/// (after closing its files, say). For a store whose data can be copied;
/// one that keeps nothing outside its process skips this check by not
/// calling it.
pub fn check_at_rest<V, F, D>(new_store: F, dump: D) -> Vec<String>
where
    V: RequestValidator + 'static,
    F: Fn(&Fixture) -> V,
    D: Fn(&V) -> Vec<u8>,
{
    let kit = Kit::new("nothing stored in clear", new_store(&Fixture::new()));
    let mut secrets = vec![
        CONFIDENTIAL.secret.unwrap_or_default().to_owned(),
        "kit-password".to_owned(),
    ];
    let used = kit.code(&PUBLIC);
    let (access, refresh) = kit.tokens(&kit.exchange(&PUBLIC, &used), "code exchange");
    let refresh = refresh.unwrap_or_else(|| kit.fail("code exchange: no refresh token"));
    secrets.extend([used, access, refresh, kit.code(&PUBLIC)]);
    let (client, _) = kit.tokens(
        &kit.token(&CONFIDENTIAL, &[("grant_type", "client_credentials")]),
        "client credentials",
    );
    let (access, refresh) = kit.login();
    let (rotated_access, rotated) = kit.tokens(&kit.refresh(&CONFIDENTIAL, &refresh), "refresh");
    let rotated = rotated.unwrap_or_else(|| kit.fail("refresh: no refresh token"));
    secrets.extend([client, access, refresh, rotated_access, rotated]);
    // A device flow (RFC 8628): the device code, the user code as shown
    // and as typed, and the tokens they gave.
    let (device_code, user_code) = kit.device_authorize(&PUBLIC);
    kit.approve(&user_code);
    let (device_access, device_refresh) =
        kit.tokens(&kit.poll(&PUBLIC, &device_code), "device code poll");
    secrets.extend([device_code, user_code.replace('-', ""), user_code]);
    secrets.extend([device_access].into_iter().chain(device_refresh));

    let bytes = dump(kit.server.validator());
    kit.expect(
        contains(&bytes, "kit-user"),
        "the dump does not hold the user name: it is not the store's data",
    );
    for secret in &secrets {
        kit.expect(
            !contains(&bytes, secret),
            &format!("a credential of {} bytes is stored in clear", secret.len()),
        );
    }
    secrets
}

fn contains(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// One check that calls the store's methods itself, on a fresh store.
type DirectCheck<V> = fn(&Direct<V>);

/// A check that calls the store's methods itself, at the kit's start.
struct Direct<V> {
    name: &'static str,
    store: V,
}

impl<V: RequestValidator> Direct<V> {
    fn request(&self) -> OAuthRequest<'static> {
        OAuthRequest::new(
            Request::new("POST", "/token", &[FORM], b""),
            Default::default(),
            START,
        )
    }

    fn expect(&self, ok: bool, what: &str) {
        if !ok {
            fail(self.name, what);
        }
    }

    /// The value of a call that must succeed.
    fn ok<T>(&self, result: Result<T, OAuthError>, call: &str) -> T {
        result.unwrap_or_else(|e| fail(self.name, &format!("{call} failed: {e:?}")))
    }

    /// A save that must be refused as a collision: `server_error`, which
    /// is what [`token_collision`](crate::validator::token_collision) answers and what a store behind the C
    /// ABI answers with a failed callback.
    fn collided<T: std::fmt::Debug>(&self, result: Result<T, OAuthError>, what: &str) {
        match result {
            Err(e) if e.code() == ErrorCode::ServerError => {}
            other => fail(
                self.name,
                &format!("{what}: answered {other:?}, not server_error (token_collision)"),
            ),
        }
    }

    /// A call that must answer `expected`.
    fn refused<T: std::fmt::Debug>(
        &self,
        result: Result<T, OAuthError>,
        expected: &OAuthError,
        what: &str,
    ) {
        match result {
            Err(e) if &e == expected => {}
            other => fail(
                self.name,
                &format!("{what}: answered {other:?}, not {expected:?}"),
            ),
        }
    }

    fn is_active(&self, token: &str, r: &OAuthRequest<'_>) -> bool {
        self.ok(
            self.store.introspect_token(token, None, r),
            "introspect_token",
        )
        .is_some()
    }

    fn code_status(&self, code: &str, r: &OAuthRequest<'_>) -> CodeStatus {
        let client = self
            .ok(self.store.find_client(PUBLIC.client_id), "find_client")
            .unwrap_or_else(|| fail(self.name, "the fixture's public client is unknown"));
        self.ok(
            self.store.validate_code(PUBLIC.client_id, code, &client, r),
            "validate_code",
        )
    }
}

/// A token of the fixture's confidential client and user, issued at the
/// kit's start.
fn issued(access: &str, refresh: Option<&str>, grant: &str, new_grant: bool) -> IssuedToken {
    IssuedToken {
        access_token: access.into(),
        refresh_token: refresh.map(String::from),
        refresh_token_is_new: refresh.is_some(),
        expires_in: ACCESS_LIFETIME,
        scopes: Scope::parse("read").unwrap_or_default(),
        refresh_scopes: None,
        audience: Default::default(),
        refresh_audience: None,
        client_id: CONFIDENTIAL.client_id.into(),
        user: Some("kit-user".into()),
        grant_id: Some(grant.into()),
        new_grant,
        issued_at: START,
        refresh_expires_at: refresh.map(|_| START + REFRESH_LIFETIME),
    }
}

const CHALLENGE: &str = "kit-challenge";

/// A code of the fixture's public client, with an S256 challenge.
fn stored_code(value: &str, grant: &str) -> AuthorizationCode {
    AuthorizationCode {
        code: value.into(),
        client_id: PUBLIC.client_id.into(),
        redirect_uri: None,
        effective_redirect_uri: PUBLIC.redirect_uri.into(),
        user: "kit-user".into(),
        scopes: Scope::parse("read").unwrap_or_default(),
        audience: Default::default(),
        code_challenge: Some((CHALLENGE.into(), ChallengeMethod::S256)),
        grant_id: grant.into(),
        issued_at: START,
        expires_at: START + CODE_LIFETIME,
    }
}

fn saves_refused_whole<V: RequestValidator>(d: &Direct<V>) {
    let r = d.request();
    let first = issued("access-1", Some("refresh-1"), "g1", true);
    d.ok(d.store.save_bearer_token(&first, &r), "save_bearer_token");
    // A new refresh token and a repeated access token: neither is saved.
    d.collided(
        d.store
            .save_bearer_token(&issued("access-1", Some("refresh-2"), "g2", true), &r),
        "a save repeating a stored access token",
    );
    d.expect(
        !d.is_active("refresh-2", &r),
        "the new refresh token of a refused save was stored",
    );
    let info = d.ok(
        d.store.validate_bearer_token("access-1", &[], &r),
        "validate_bearer_token",
    );
    d.expect(
        info.and_then(|i| i.grant_id).as_deref() == Some("g1"),
        "a refused save changed the stored access token's record",
    );
    // A repeated refresh token likewise.
    d.collided(
        d.store
            .save_bearer_token(&issued("access-3", Some("refresh-1"), "g1", false), &r),
        "a save repeating a stored refresh token",
    );
    d.expect(
        !d.is_active("access-3", &r),
        "the access token of a refused save was stored",
    );
    // And a repeated code.
    let save_code = |value, grant| {
        d.store
            .save_authorization_code(PUBLIC.client_id, &stored_code(value, grant), &r)
    };
    d.ok(save_code("code-1", "g3"), "save_authorization_code");
    d.collided(save_code("code-1", "g4"), "a save repeating a stored code");
    // A token of an unknown grant that does not start it.
    d.refused(
        d.store
            .save_bearer_token(&issued("access-9", None, "no-such-grant", false), &r),
        &grant_ended(),
        "a token of an unknown grant that does not start it",
    );
    d.expect(
        !d.is_active("access-9", &r),
        "a token of an unknown grant was stored",
    );
}

fn refused_consume_leaves_usable<V: RequestValidator>(d: &Direct<V>) {
    let r = d.request();
    let spend = |code| Consumed::AuthorizationCode {
        client_id: PUBLIC.client_id,
        code,
    };
    d.ok(
        d.store
            .save_authorization_code(PUBLIC.client_id, &stored_code("code-1", "g1"), &r),
        "save_authorization_code",
    );
    // The grant revoked meanwhile: refused, and nothing spent.
    d.ok(d.store.revoke_grant("g1", &r), "revoke_grant");
    d.refused(
        d.store.consume_and_save(
            spend("code-1"),
            &issued("access-1", Some("refresh-1"), "g1", false),
            &r,
        ),
        &grant_ended(),
        "consume_and_save for a revoked grant",
    );
    d.expect(
        matches!(d.code_status("code-1", &r), CodeStatus::Valid(_)),
        "a consume_and_save refused for a revoked grant spent the code",
    );

    // A save that collides: refused, and nothing spent either.
    d.ok(
        d.store
            .save_authorization_code(PUBLIC.client_id, &stored_code("code-2", "g2"), &r),
        "save_authorization_code",
    );
    d.ok(
        d.store
            .save_bearer_token(&issued("taken", None, "g9", true), &r),
        "save_bearer_token",
    );
    d.collided(
        d.store.consume_and_save(
            spend("code-2"),
            &issued("taken", Some("refresh-2"), "g2", false),
            &r,
        ),
        "consume_and_save repeating a stored access token",
    );
    // The retry spends it; a second attempt finds it spent.
    let token = issued("access-2", Some("refresh-2"), "g2", false);
    let spent = d.ok(
        d.store.consume_and_save(spend("code-2"), &token, &r),
        "the retried consume_and_save after a collision",
    );
    d.expect(
        spent,
        "the retry after a refused consume_and_save found the code spent",
    );
    let again = issued("access-3", None, "g2", false);
    let spent = d.ok(
        d.store.consume_and_save(spend("code-2"), &again, &r),
        "consume_and_save of a spent code",
    );
    d.expect(!spent, "a spent code was spent again");
    d.expect(
        !d.is_active("access-3", &r),
        "the tokens of a spent code's second consume_and_save were stored",
    );
    match d.code_status("code-2", &r) {
        CodeStatus::Used {
            grant_id,
            code_challenge,
        } => d.expect(
            &*grant_id == "g2" && code_challenge == Some((CHALLENGE.into(), ChallengeMethod::S256)),
            "a spent code reads another grant or challenge",
        ),
        other => fail(d.name, &format!("a spent code reads {other:?}")),
    }

    // A refresh token: rotated once, then found spent.
    let consumed = Consumed::RefreshToken {
        refresh_token: "refresh-2",
    };
    let rotated = issued("access-4", Some("refresh-3"), "g2", false);
    let spent = d.ok(
        d.store.consume_and_save(consumed, &rotated, &r),
        "consume_and_save of a refresh token",
    );
    d.expect(spent, "an active refresh token was not spent");
    let info = d.ok(
        d.store
            .introspect_token("refresh-3", Some(TokenType::RefreshToken), &r),
        "introspect_token",
    );
    d.expect(
        info.and_then(|i| i.token_type) == Some(TokenType::RefreshToken),
        "the rotated-in refresh token does not read as a refresh token",
    );
    let spent = d.ok(
        d.store.consume_and_save(consumed, &rotated, &r),
        "consume_and_save of a spent refresh token",
    );
    d.expect(!spent, "a spent refresh token was spent again");
}

fn hostile_tokens_are_unknown<V: RequestValidator>(d: &Direct<V>) {
    let r = d.request();
    let long = "a".repeat(100_000);
    for token in [long.as_str(), "", "\u{1F600}", "%00", "x' OR '1'='1"] {
        let shown: String = token.chars().take(16).collect();
        let found = d.ok(
            d.store.validate_bearer_token(token, &[], &r),
            "validate_bearer_token",
        );
        d.expect(
            found.is_none(),
            &format!("validate_bearer_token knows {shown:?}"),
        );
        d.expect(
            !d.is_active(token, &r),
            &format!("introspect_token knows {shown:?}"),
        );
        d.ok(d.store.revoke_token(token, None, &r), "revoke_token");
    }
}

/// One check of the kit, run on a fresh store.
type Check<V> = fn(&Kit<V>);

/// A failed check: the panic every check of the kit ends with.
fn fail(check: &str, what: &str) -> ! {
    panic!("conformance check '{check}': {what}")
}

/// One check's server, clock and token generator.
struct Kit<V> {
    name: &'static str,
    server: Arc<Server<V>>,
    clock: KitClock,
    tokens: Arc<KitTokens>,
}

/// The generator as the server holds it, shared with the kit.
struct SharedTokens(Arc<KitTokens>);

impl TokenGenerator for SharedTokens {
    fn generate(&self, kind: TokenKind) -> Result<String, OAuthError> {
        self.0.generate(kind)
    }
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const VERIFIER: &str = "kit-verifier-kit-verifier-kit-verifier-kit-verifier";

impl<V: RequestValidator> Kit<V> {
    fn new(name: &'static str, store: V) -> Self {
        let clock = KitClock(Arc::new(AtomicU64::new(START)));
        let tokens = Arc::new(KitTokens::default());
        let server_clock = clock.clone();
        let server = Server::builder(store)
            .issuer("https://kit.example")
            .enable(crate::Grant::Password)
            .enable(crate::Grant::DeviceCode)
            .device_verification_uri("https://kit.example/device")
            .device_code_lifetime(DEVICE_LIFETIME)
            .access_token_lifetime(ACCESS_LIFETIME)
            .code_lifetime(CODE_LIFETIME)
            .refresh_token_lifetime(REFRESH_LIFETIME)
            .clock(move || server_clock.now())
            .token_generator(SharedTokens(Arc::clone(&tokens)))
            .build()
            .expect("the kit's configuration is valid");
        Kit {
            name,
            server: Arc::new(server),
            clock,
            tokens,
        }
    }

    fn fail(&self, what: &str) -> ! {
        fail(self.name, what)
    }

    fn expect(&self, ok: bool, what: &str) {
        if !ok {
            self.fail(what);
        }
    }

    /// A token request with the form `pairs`, as `client` (Basic for a
    /// confidential client, `client_id` in the body for a public one).
    fn token(&self, client: &FixtureClient, pairs: &[(&str, &str)]) -> Response {
        let mut pairs = pairs.to_vec();
        let auth = client
            .secret
            .map(|s| basic_header_value(client.client_id, s));
        let mut headers = vec![FORM];
        match &auth {
            Some(value) => headers.push(("Authorization", value.as_str())),
            None => pairs.push(("client_id", client.client_id)),
        }
        let body = encode_pairs(pairs.iter().copied());
        self.server
            .token_response(&Request::new("POST", "/token", &headers, body.as_bytes()))
    }

    /// A successful token response's `access_token` and `refresh_token`.
    fn tokens(&self, response: &Response, what: &str) -> (String, Option<String>) {
        if response.status != 200 {
            self.fail(&format!(
                "{what}: {} {}",
                response.status,
                response.body_str()
            ));
        }
        let access = json_string(response, "access_token")
            .unwrap_or_else(|| self.fail(&format!("{what}: no access_token")));
        (access, json_string(response, "refresh_token"))
    }

    fn expect_error(&self, response: &Response, code: &str, what: &str) {
        if json_string(response, "error").as_deref() != Some(code) {
            self.fail(&format!(
                "{what}: expected {code}, got {} {}",
                response.status,
                response.body_str()
            ));
        }
    }

    /// Whether the resource server accepts `access` (no scope required).
    fn opens(&self, access: &str) -> bool {
        let bearer = format!("Bearer {access}");
        let headers = [("Authorization", bearer.as_str())];
        self.server
            .verify_bearer(&Request::new("GET", "/api", &headers, b""), &[])
            .is_ok()
    }

    /// A code for `client` approved by the kit's user, with PKCE.
    fn code(&self, client: &FixtureClient) -> String {
        let challenge = s256_challenge(VERIFIER);
        let query = encode_pairs([
            ("response_type", "code"),
            ("client_id", client.client_id),
            ("scope", "read"),
            ("state", "kit"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]);
        let uri = format!("/authorize?{query}");
        let request = Request::new("GET", &uri, &[], b"");
        let pending = self
            .server
            .validate_authorization_request(&request)
            .unwrap_or_else(|e| self.fail(&format!("authorization request: {e:?}")));
        let response = self.server.authorize(&request, &pending, "kit-user", None);
        let location = response
            .header("location")
            .unwrap_or_else(|| self.fail("authorization response: no Location"));
        let query = location.split_once('?').map_or("", |(_, q)| q);
        crate::form::pairs(query.as_bytes())
            .filter_map(Result::ok)
            .find(|(name, _)| name == "code")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_else(|| self.fail(&format!("authorization response: {location}")))
    }

    fn exchange(&self, client: &FixtureClient, code: &str) -> Response {
        self.token(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("code_verifier", VERIFIER),
            ],
        )
    }

    fn refresh(&self, client: &FixtureClient, refresh_token: &str) -> Response {
        self.token(
            client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
    }

    fn login(&self) -> (String, String) {
        let r = self.token(
            &CONFIDENTIAL,
            &[
                ("grant_type", "password"),
                ("username", "kit-user"),
                ("password", "kit-password"),
                ("scope", "read"),
            ],
        );
        let (access, refresh) = self.tokens(&r, "password grant");
        let refresh = refresh.unwrap_or_else(|| self.fail("password grant: no refresh token"));
        (access, refresh)
    }
}

/// A JSON response's top-level string member `name` (the library writes
/// tokens and error codes without escapes).
fn json_string(response: &Response, name: &str) -> Option<String> {
    let needle = format!("\"{name}\":\"");
    let body = response.body_str();
    let start = body.find(&needle)? + needle.len();
    let end = body[start..].find('"')?;
    Some(body[start..start + end].to_owned())
}

fn client_credentials<V: RequestValidator>(kit: &Kit<V>) {
    let r = kit.token(
        &CONFIDENTIAL,
        &[("grant_type", "client_credentials"), ("scope", "read")],
    );
    let (access, refresh) = kit.tokens(&r, "token request");
    kit.expect(
        refresh.is_none(),
        "client credentials issued a refresh token",
    );
    kit.expect(
        kit.opens(&access),
        "the issued token does not open the resource",
    );
    kit.expect(
        !kit.opens("kit-unknown-token"),
        "an unknown token opens the resource",
    );
    let auth = basic_header_value(CONFIDENTIAL.client_id, CONFIDENTIAL.secret.unwrap_or(""));
    let headers = [FORM, ("Authorization", auth.as_str())];
    let body = format!("token={access}");
    let r =
        kit.server
            .revocation_response(&Request::new("POST", "/revoke", &headers, body.as_bytes()));
    kit.expect(r.status == 200, "revocation was refused");
    kit.expect(
        !kit.opens(&access),
        "a revoked token still opens the resource",
    );
    let r = kit.token(
        &CONFIDENTIAL,
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    );
    kit.expect_error(&r, "invalid_scope", "a scope the client may not have");
}

fn authorization_code<V: RequestValidator>(kit: &Kit<V>) {
    let code = kit.code(&PUBLIC);
    let (access, refresh) = kit.tokens(&kit.exchange(&PUBLIC, &code), "code exchange");
    kit.expect(
        kit.opens(&access),
        "the code's token does not open the resource",
    );
    kit.expect(
        refresh.is_some(),
        "no refresh token for a client allowed one",
    );
    // A replay by the code's client (with its verifier): invalid_grant,
    // and the grant's tokens revoked (RFC 6749 §4.1.2).
    kit.expect_error(
        &kit.exchange(&PUBLIC, &code),
        "invalid_grant",
        "a replayed code",
    );
    kit.expect(
        !kit.opens(&access),
        "a replayed code left its tokens active",
    );
    // Another client cannot use a code that is not its own.
    let code = kit.code(&PUBLIC);
    kit.expect_error(
        &kit.exchange(&CONFIDENTIAL, &code),
        "invalid_grant",
        "another client's code",
    );
}

fn refresh_rotation<V: RequestValidator>(kit: &Kit<V>) {
    let (access1, refresh1) = kit.login();
    let (access2, refresh2) = kit.tokens(&kit.refresh(&CONFIDENTIAL, &refresh1), "refresh");
    let refresh2 = refresh2.unwrap_or_else(|| kit.fail("refresh: no new refresh token"));
    kit.expect(refresh2 != refresh1, "the refresh token was not rotated");
    kit.expect(
        kit.opens(&access1) && kit.opens(&access2),
        "tokens lost on rotation",
    );
    // Reuse of the rotated token: invalid_grant, and the whole grant goes.
    kit.expect_error(
        &kit.refresh(&CONFIDENTIAL, &refresh1),
        "invalid_grant",
        "a reused refresh token",
    );
    kit.expect(
        !kit.opens(&access2),
        "reuse left the grant's access token active",
    );
    kit.expect_error(
        &kit.refresh(&CONFIDENTIAL, &refresh2),
        "invalid_grant",
        "the newest refresh token of a revoked grant",
    );
}

fn expiry<V: RequestValidator>(kit: &Kit<V>) {
    let code = kit.code(&PUBLIC);
    let (access, refresh) = kit.login();
    kit.clock.advance(CODE_LIFETIME);
    kit.expect_error(
        &kit.exchange(&PUBLIC, &code),
        "invalid_grant",
        "an expired code",
    );
    kit.expect(kit.opens(&access), "an access token expired too early");
    kit.clock.advance(ACCESS_LIFETIME - CODE_LIFETIME);
    kit.expect(
        !kit.opens(&access),
        "an expired access token opens the resource",
    );
    kit.clock.advance(REFRESH_LIFETIME - ACCESS_LIFETIME);
    kit.expect_error(
        &kit.refresh(&CONFIDENTIAL, &refresh),
        "invalid_grant",
        "an expired refresh token",
    );
}

fn revoked_grant_refuses_saves<V: RequestValidator>(kit: &Kit<V>) {
    let (_, refresh) = kit.login();
    let http = Request::new("POST", "/token", &[FORM], b"");
    let request = OAuthRequest::new(http, Default::default(), kit.clock.now());
    let validator = kit.server.validator();
    let grant_id = validator
        .introspect_token(&refresh, Some(TokenType::RefreshToken), &request)
        .ok()
        .flatten()
        .and_then(|info| info.grant_id)
        .unwrap_or_else(|| kit.fail("introspect_token gives a refresh token no grant_id"));
    validator
        .revoke_grant(&grant_id, &request)
        .unwrap_or_else(|e| kit.fail(&format!("revoke_grant failed: {e:?}")));
    // A request of that grant, past its checks before the revocation,
    // now saves its tokens: the store must refuse them.
    let late = IssuedToken {
        access_token: "kit-late-access-token".into(),
        refresh_token: None,
        refresh_token_is_new: false,
        expires_in: ACCESS_LIFETIME,
        scopes: Scope::parse("read").unwrap_or_default(),
        refresh_scopes: None,
        audience: Default::default(),
        refresh_audience: None,
        client_id: CONFIDENTIAL.client_id.into(),
        user: Some("kit-user".into()),
        grant_id: Some(grant_id),
        new_grant: false,
        issued_at: kit.clock.now(),
        refresh_expires_at: None,
    };
    match validator.save_token(&late, &request) {
        Err(e) if e == grant_ended() => {}
        Err(e) => kit.fail(&format!(
            "a late save was refused with {e:?}, not grant_ended()"
        )),
        Ok(()) => kit.fail("a token of a revoked grant was saved"),
    }
    kit.expect(
        !kit.opens("kit-late-access-token"),
        "a late token opens the resource",
    );
}

/// The audiences (RFC 8707) a store is handed come back as they were:
/// the code's from `validate_code`, the access token's (`aud`) from
/// `validate_bearer_token`, the refresh token's, which may differ, from
/// `validate_refresh_token` and `introspect_token`. Narrowing is the
/// library's; keeping is the store's.
fn audiences_are_stored<V: RequestValidator>(kit: &Kit<V>) {
    use crate::audience::Audience;
    use crate::validator::{AuthorizationCode, CodeStatus, Consumed, RefreshTokenStatus};
    const API: &str = "https://api.kit.example/";
    const PHOTOS: &str = "https://photos.kit.example/v1";
    let both = Audience::parse([API, PHOTOS]).unwrap_or_default();
    let photos = Audience::parse([PHOTOS]).unwrap_or_default();
    let http = Request::new("POST", "/token", &[FORM], b"");
    let request = OAuthRequest::new(http, Default::default(), kit.clock.now());
    let validator = kit.server.validator();
    let client = validator
        .find_client(PUBLIC.client_id)
        .ok()
        .flatten()
        .unwrap_or_else(|| kit.fail("find_client does not find the public client"));
    let now = kit.clock.now();
    let code = AuthorizationCode {
        code: "kit-audience-code".into(),
        client_id: PUBLIC.client_id.into(),
        redirect_uri: None,
        effective_redirect_uri: PUBLIC.redirect_uri.into(),
        user: "kit-user".into(),
        scopes: Scope::parse("read").unwrap_or_default(),
        audience: both.clone(),
        code_challenge: None,
        grant_id: "kit-audience-grant".into(),
        issued_at: now,
        expires_at: now + CODE_LIFETIME,
    };
    validator
        .save_authorization_code(PUBLIC.client_id, &code, &request)
        .unwrap_or_else(|e| kit.fail(&format!("save_authorization_code failed: {e:?}")));
    match validator.validate_code(PUBLIC.client_id, &code.code, &client, &request) {
        Ok(CodeStatus::Valid(stored)) => kit.expect(
            stored.audience == both,
            &format!(
                "validate_code hands back the audience {:?}, not {both:?}",
                stored.audience
            ),
        ),
        other => kit.fail(&format!("validate_code of a saved code: {other:?}")),
    }
    // The exchange's tokens: the access token narrowed, the refresh token
    // with the grant's audience.
    let issued = IssuedToken {
        access_token: "kit-audience-access".into(),
        refresh_token: Some("kit-audience-refresh".into()),
        refresh_token_is_new: true,
        expires_in: ACCESS_LIFETIME,
        scopes: code.scopes.clone(),
        refresh_scopes: None,
        audience: photos.clone(),
        refresh_audience: Some(both.clone()),
        client_id: PUBLIC.client_id.into(),
        user: Some("kit-user".into()),
        grant_id: Some(code.grant_id.clone()),
        new_grant: false,
        issued_at: now,
        refresh_expires_at: Some(now + REFRESH_LIFETIME),
    };
    let consumed = Consumed::AuthorizationCode {
        client_id: PUBLIC.client_id,
        code: &code.code,
    };
    match validator.consume_and_save(consumed, &issued, &request) {
        Ok(true) => {}
        other => kit.fail(&format!("consume_and_save of a fresh code: {other:?}")),
    }
    match validator.validate_bearer_token("kit-audience-access", &[], &request) {
        Ok(Some(info)) => kit.expect(
            info.aud == [PHOTOS],
            &format!(
                "validate_bearer_token gives aud {:?}, not [{PHOTOS:?}]",
                info.aud
            ),
        ),
        other => kit.fail(&format!(
            "validate_bearer_token of a saved token: {other:?}"
        )),
    }
    match validator.validate_refresh_token("kit-audience-refresh", &client, &request) {
        Ok(RefreshTokenStatus::Active(stored)) => kit.expect(
            stored.audience == both,
            &format!(
                "validate_refresh_token hands back the audience {:?}, not {both:?}",
                stored.audience
            ),
        ),
        other => kit.fail(&format!(
            "validate_refresh_token of a saved token: {other:?}"
        )),
    }
    let introspected = validator
        .introspect_token(
            "kit-audience-refresh",
            Some(TokenType::RefreshToken),
            &request,
        )
        .ok()
        .flatten()
        .unwrap_or_else(|| kit.fail("introspect_token does not find a saved refresh token"));
    kit.expect(
        introspected.aud == [API, PHOTOS],
        &format!(
            "introspect_token gives a refresh token aud {:?}",
            introspected.aud
        ),
    );
}

/// Runs `attempt` on eight threads at once and counts the successes.
fn race<V: RequestValidator + 'static>(
    kit: &Kit<V>,
    attempt: impl Fn(&Server<V>) -> Response + Send + Sync + 'static,
) -> Vec<Response> {
    let attempt = Arc::new(attempt);
    let barrier = Arc::new(std::sync::Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (server, attempt, barrier) = (
                Arc::clone(&kit.server),
                Arc::clone(&attempt),
                Arc::clone(&barrier),
            );
            thread::spawn(move || {
                barrier.wait();
                attempt(&server)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|_| kit.fail("a racing request panicked"))
        })
        .collect()
}

fn racing_code_exchanges<V: RequestValidator + 'static>(kit: &Kit<V>) {
    let code = kit.code(&PUBLIC);
    let kit_code = code.clone();
    let answers = race(kit, move |server| {
        let body = encode_pairs([
            ("grant_type", "authorization_code"),
            ("code", kit_code.as_str()),
            ("code_verifier", VERIFIER),
            ("client_id", PUBLIC.client_id),
        ]);
        server.token_response(&Request::new("POST", "/token", &[FORM], body.as_bytes()))
    });
    at_most_one_live_set(kit, &answers, "one code exchanged by eight threads");
}

fn racing_refreshes<V: RequestValidator + 'static>(kit: &Kit<V>) {
    let (_, refresh) = kit.login();
    let answers = race(kit, move |server| {
        let body = encode_pairs([("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
        let auth = basic_header_value(CONFIDENTIAL.client_id, CONFIDENTIAL.secret.unwrap_or(""));
        let headers = [FORM, ("Authorization", auth.as_str())];
        server.token_response(&Request::new("POST", "/token", &headers, body.as_bytes()))
    });
    at_most_one_live_set(kit, &answers, "one refresh token used by eight threads");
}

/// Of racing requests for one credential, at most one may leave live
/// tokens; every other answer is an error.
fn at_most_one_live_set<V: RequestValidator>(kit: &Kit<V>, answers: &[Response], what: &str) {
    let live = answers
        .iter()
        .filter_map(|r| json_string(r, "access_token"))
        .filter(|access| kit.opens(access))
        .count();
    kit.expect(live <= 1, &format!("{what}: {live} sets of live tokens"));
    for r in answers.iter().filter(|r| r.status != 200) {
        kit.expect(
            r.status == 400,
            &format!("{what}: {} {}", r.status, r.body_str()),
        );
    }
}

/// A save that fails leaves the code, and the refresh token, usable: the
/// retry succeeds and is not taken for a replay. The kit makes the save
/// fail by repeating a stored access token, which the store must refuse
/// rather than overwrite.
fn failed_save_and_retry<V: RequestValidator>(kit: &Kit<V>) {
    let (stored, _) = kit.tokens(
        &kit.token(&CONFIDENTIAL, &[("grant_type", "client_credentials")]),
        "client credentials",
    );
    let expect_failed = |response: &Response, what: &str| {
        if response.status == 200 {
            kit.fail(&format!(
                "{what}: a save over a stored access token succeeded: the store replaced it"
            ));
        }
    };

    let code = kit.code(&PUBLIC);
    kit.tokens.repeat_next(&stored);
    expect_failed(&kit.exchange(&PUBLIC, &code), "code exchange");
    let (access, refresh) = kit.tokens(
        &kit.exchange(&PUBLIC, &code),
        "the retried code exchange after a failed save",
    );
    kit.expect(
        kit.opens(&access),
        "the retried exchange's access token does not open",
    );
    kit.expect(
        kit.opens(&stored),
        "the stored token stopped working after a failed save over it",
    );
    let refresh = refresh.unwrap_or_else(|| kit.fail("code exchange: no refresh token"));

    kit.tokens.repeat_next(&stored);
    expect_failed(&kit.refresh(&PUBLIC, &refresh), "refresh");
    let (renewed, _) = kit.tokens(
        &kit.refresh(&PUBLIC, &refresh),
        "the retried refresh after a failed save",
    );
    kit.expect(
        kit.opens(&renewed),
        "the retried refresh's access token does not open",
    );
    kit.expect(
        kit.opens(&access),
        "the grant was revoked by the retry of a failed refresh",
    );
}

/// Checks the store's pushed authorization requests (RFC 9126) on a
/// store made by `new_store`: a pushed request is found by its client
/// only (another client's use neither works nor spends it), survives a
/// reload of the consent page, is used up by the authorization response
/// (its code works once), cannot be spent twice, and expires on the
/// kit's clock.
///
/// Separate from [`check`] while some stores keep no pushed requests
/// (the trait's defaults refuse them); a store with a PAR endpoint runs
/// both.
pub fn check_pushed_requests<V, F>(new_store: F)
where
    V: RequestValidator + 'static,
    F: Fn(&Fixture) -> V,
{
    let kit = Kit::new("pushed requests", new_store(&Fixture::new()));
    let request_uri = kit.push(&CONFIDENTIAL);
    let by_reference = |client: &FixtureClient| {
        let query = encode_pairs([
            ("client_id", client.client_id),
            ("request_uri", request_uri.as_str()),
        ]);
        let uri = format!("/authorize?{query}");
        kit.server
            .validate_authorization_request(&Request::new("GET", &uri, &[], b""))
    };
    kit.expect(
        by_reference(&PUBLIC).is_err(),
        "another client's request_uri was accepted",
    );
    let pending = by_reference(&CONFIDENTIAL)
        .unwrap_or_else(|e| kit.fail(&format!("its client's request_uri: {e:?}")));
    kit.expect(
        by_reference(&CONFIDENTIAL).is_ok(),
        "a request_uri looked up twice (a reload) is gone",
    );
    let digest = crate::secret::sha256(request_uri.as_bytes());
    let oauth = OAuthRequest::new(
        Request::new("POST", "/authorize", &[], b""),
        crate::form::Params::default(),
        kit.clock.now(),
    );
    let store = kit.server.validator();
    kit.expect(
        !store
            .consume_pushed_request(&digest, PUBLIC.client_id, &oauth)
            .unwrap_or_else(|e| kit.fail(&format!("consume_pushed_request: {e:?}"))),
        "another client spent a pushed request",
    );
    let consent = Request::new("POST", "/authorize", &[FORM], b"action=approve");
    let response = kit.server.authorize(&consent, &pending, "kit-user", None);
    let location = response.header("location").unwrap_or_default();
    kit.expect(
        location.contains("code="),
        &format!("the pushed request's response: {location}"),
    );
    kit.expect(
        by_reference(&CONFIDENTIAL).is_err(),
        "a used request_uri was accepted again",
    );
    let again = kit.server.authorize(&consent, &pending, "kit-user", None);
    kit.expect(
        !again
            .header("location")
            .unwrap_or_default()
            .contains("code="),
        "a pushed request answered twice gave two codes",
    );
    kit.expect(
        !store
            .consume_pushed_request(&digest, CONFIDENTIAL.client_id, &oauth)
            .unwrap_or_else(|e| kit.fail(&format!("consume_pushed_request: {e:?}"))),
        "a pushed request was spent twice",
    );
    let request_uri = kit.push(&CONFIDENTIAL);
    kit.clock.advance(PUSHED_LIFETIME);
    let query = encode_pairs([
        ("client_id", CONFIDENTIAL.client_id),
        ("request_uri", request_uri.as_str()),
    ]);
    let uri = format!("/authorize?{query}");
    kit.expect(
        kit.server
            .validate_authorization_request(&Request::new("GET", &uri, &[], b""))
            .is_err(),
        "an expired request_uri was accepted",
    );
}

/// The pushed request lifetime the kit runs with: the server's default.
const PUSHED_LIFETIME: u64 = 60;

impl<V: RequestValidator> Kit<V> {
    /// Pushes an authorization request of `client` (RFC 9126 §2) with
    /// PKCE; its `request_uri`.
    fn push(&self, client: &FixtureClient) -> String {
        let challenge = s256_challenge(VERIFIER);
        let mut pairs = vec![
            ("response_type", "code"),
            ("scope", "read"),
            ("state", "kit"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let auth = client
            .secret
            .map(|s| basic_header_value(client.client_id, s));
        let mut headers = vec![FORM];
        match &auth {
            Some(value) => headers.push(("Authorization", value.as_str())),
            None => pairs.push(("client_id", client.client_id)),
        }
        let body = encode_pairs(pairs.iter().copied());
        let response = self.server.pushed_authorization_response(&Request::new(
            "POST",
            "/par",
            &headers,
            body.as_bytes(),
        ));
        if response.status != 201 {
            self.fail(&format!(
                "pushed authorization request: {} {}",
                response.status,
                response.body_str()
            ));
        }
        json_string(&response, "request_uri")
            .unwrap_or_else(|| self.fail("pushed authorization request: no request_uri"))
    }
}

// ---------------------------------------------------------------------
// Client records kept by a store: the switches and resources of a
// client, through a restart.

/// A client that may ask tokens for two resources (RFC 8707).
pub const RESOURCEFUL: FixtureClient = FixtureClient {
    client_id: "kit-resourceful",
    secret: Some("kit-resourceful-secret"),
    redirect_uri: "https://resourceful.kit.example/cb",
    grants: &["authorization_code", "client_credentials", "refresh_token"],
    scopes: &["read"],
    resources: &[KIT_API, KIT_PHOTOS],
    require_par: false,
};

/// A client that must push its authorization requests (RFC 9126 §6).
pub const PUSHING: FixtureClient = FixtureClient {
    client_id: "kit-pushing",
    secret: Some("kit-pushing-secret"),
    redirect_uri: "https://pushing.kit.example/cb",
    grants: &["authorization_code"],
    scopes: &["read"],
    resources: &[],
    require_par: true,
};

const KIT_API: &str = "https://api.kit.example/";
const KIT_PHOTOS: &str = "https://photos.kit.example/v1";

/// Checks that a store keeps what a client record says beyond its
/// identifier, secret, grants and scopes, and the audiences of what it
/// issues, across restarts: `new_store` makes a store holding the
/// fixture (with [`RESOURCEFUL`] and [`PUSHING`] besides the usual
/// clients), `reopen(store)` a second store over the same data (as a
/// restart, or another server, would open it). Panics, naming the check,
/// at the first failure:
///
/// - after a restart, [`PUSHING`] still requires pushed requests: a
///   plain authorization request is refused (`invalid_request`, to its
///   redirect URI), a pushed one accepted; the other clients do not;
/// - [`RESOURCEFUL`]'s resources come back as registered; a code asked
///   for both, exchanged after a restart for one, gives an access token
///   for that one and a refresh token for both (read after another
///   restart); a refresh may not widen them (`invalid_target`) and keeps
///   both; client credentials get what they asked; an exchange without
///   `resource` gives tokens without audience.
pub fn check_client_records<V, F, R>(new_store: F, reopen: R)
where
    V: RequestValidator,
    F: Fn(&Fixture) -> V,
    R: Fn(&V) -> V,
{
    use crate::client_auth::Client;
    let mut fixture = Fixture::new();
    fixture.clients.extend([RESOURCEFUL, PUSHING]);
    let first = Kit::new("client records", new_store(&fixture));
    let kit = first.reopened(reopen(first.server.validator()));
    drop(first);
    let store = kit.server.validator();
    let client = |c: &FixtureClient| {
        store
            .find_client(c.client_id)
            .ok()
            .flatten()
            .unwrap_or_else(|| kit.fail(&format!("find_client({}) after a restart", c.client_id)))
    };
    kit.expect(
        client(&PUSHING).requires_pushed_authorization_requests(),
        "a client registered to require pushed requests does not, after a restart",
    );
    kit.expect(
        !client(&CONFIDENTIAL).requires_pushed_authorization_requests(),
        "a client registered without the PAR switch requires pushed requests",
    );
    let resources = client(&RESOURCEFUL);
    kit.expect(
        resources.allows_resource(KIT_API)
            && resources.allows_resource(KIT_PHOTOS)
            && !resources.allows_resource("https://api.kit.example"),
        "a client's resources do not come back as registered",
    );

    // RFC 9126 §6: plain requests refused, pushed ones accepted.
    let plain = encode_pairs([
        ("response_type", "code"),
        ("client_id", PUSHING.client_id),
        ("scope", "read"),
        ("state", "kit"),
        ("code_challenge", s256_challenge(VERIFIER).as_str()),
        ("code_challenge_method", "S256"),
    ]);
    let uri = format!("/authorize?{plain}");
    match kit
        .server
        .validate_authorization_request(&Request::new("GET", &uri, &[], b""))
    {
        Err(crate::AuthorizationError::Redirect { error, .. })
            if error.code() == ErrorCode::InvalidRequest => {}
        Err(e) => kit.fail(&format!(
            "a plain request of a client that must push: {:?}, not a redirected invalid_request",
            e.error()
        )),
        Ok(_) => kit.fail("a plain request of a client that must push was accepted"),
    }
    let request_uri = kit.push(&PUSHING);
    let pushed = encode_pairs([
        ("client_id", PUSHING.client_id),
        ("request_uri", request_uri.as_str()),
    ]);
    let uri = format!("/authorize?{pushed}");
    if let Err(e) = kit
        .server
        .validate_authorization_request(&Request::new("GET", &uri, &[], b""))
    {
        kit.fail(&format!(
            "a pushed request of a client that must push: {:?}",
            e.error()
        ));
    }
    kit.code(&CONFIDENTIAL);

    // RFC 8707 audiences, through restarts.
    let code = kit.code_for(&RESOURCEFUL, &[KIT_API, KIT_PHOTOS]);
    let kit = kit.reopened(reopen(kit.server.validator()));
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
        ("resource", KIT_PHOTOS),
    ];
    let (access, refresh) = kit.tokens(&kit.token(&RESOURCEFUL, &exchange), "narrowed exchange");
    let refresh = refresh.unwrap_or_else(|| kit.fail("narrowed exchange: no refresh token"));
    let kit = kit.reopened(reopen(kit.server.validator()));
    kit.expect_aud(&access, &[KIT_PHOTOS], "a narrowed exchange's access token");
    kit.expect_aud(
        &refresh,
        &[KIT_API, KIT_PHOTOS],
        "a narrowed exchange's refresh token",
    );
    kit.expect_error(
        &kit.token(
            &RESOURCEFUL,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
                ("resource", "https://other.kit.example/"),
            ],
        ),
        "invalid_target",
        "a refresh widening the audience",
    );
    let (access, refresh) = kit.tokens(&kit.refresh(&RESOURCEFUL, &refresh), "refresh");
    let refresh = refresh.unwrap_or_else(|| kit.fail("refresh: no refresh token"));
    kit.expect_aud(&access, &[KIT_API, KIT_PHOTOS], "a refreshed access token");
    kit.expect_aud(&refresh, &[KIT_API, KIT_PHOTOS], "a rotated refresh token");
    let (cc, _) = kit.tokens(
        &kit.token(
            &RESOURCEFUL,
            &[("grant_type", "client_credentials"), ("resource", KIT_API)],
        ),
        "client credentials with a resource",
    );
    kit.expect_aud(&cc, &[KIT_API], "a client-credentials token");
    let plain = kit.code_for(&RESOURCEFUL, &[]);
    let (access, _) = kit.tokens(&kit.exchange(&RESOURCEFUL, &plain), "exchange");
    kit.expect_aud(&access, &[], "an exchange without resource");
}

impl<V: RequestValidator> Kit<V> {
    /// This kit's check, clock and token counter over `store`: the same
    /// server after a restart.
    fn reopened(&self, store: V) -> Kit<V> {
        let kit = Kit::new(self.name, store);
        kit.clock.0.store(self.clock.now(), Ordering::SeqCst);
        kit.tokens
            .issued
            .store(self.tokens.issued.load(Ordering::SeqCst), Ordering::SeqCst);
        kit
    }

    /// A code for `client` asking for `resources`, approved by the kit's
    /// user, with PKCE.
    fn code_for(&self, client: &FixtureClient, resources: &[&str]) -> String {
        let challenge = s256_challenge(VERIFIER);
        let mut query = vec![
            ("response_type", "code"),
            ("client_id", client.client_id),
            ("scope", "read"),
            ("state", "kit"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        query.extend(resources.iter().map(|r| ("resource", *r)));
        let uri = format!("/authorize?{}", encode_pairs(query));
        let request = Request::new("GET", &uri, &[], b"");
        let pending = self
            .server
            .validate_authorization_request(&request)
            .unwrap_or_else(|e| self.fail(&format!("authorization request: {e:?}")));
        let response = self.server.authorize(&request, &pending, "kit-user", None);
        let location = response.header("location").unwrap_or_default();
        let query = location.split_once('?').map_or("", |(_, q)| q);
        crate::form::pairs(query.as_bytes())
            .filter_map(Result::ok)
            .find(|(name, _)| name == "code")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_else(|| self.fail(&format!("authorization response: {location}")))
    }

    /// Fails unless the store introspects `token` (access or refresh)
    /// with audience `aud`.
    fn expect_aud(&self, token: &str, aud: &[&str], what: &str) {
        let request = OAuthRequest::new(
            Request::new("POST", "/introspect", &[FORM], b""),
            crate::form::Params::default(),
            self.clock.now(),
        );
        let info = self
            .server
            .validator()
            .introspect_token(token, None, &request)
            .ok()
            .flatten()
            .unwrap_or_else(|| self.fail(&format!("{what}: not found by introspect_token")));
        self.expect(
            info.aud == aud,
            &format!("{what}: audience {:?}, not {aud:?}", info.aud),
        );
    }
}

// ---------------------------------------------------------------------
// Device authorizations (RFC 8628) as a store keeps them, beyond
// `check_device_authorizations`: every field read back, and a code space
// reused after expiry.

/// Checks, by calling the store's methods directly on a store made by
/// `new_store`, what [`check_device_authorizations`] leaves aside;
/// panics, naming the check, at the first failure:
///
/// - a device authorization is read back as saved, every field of it
///   (an audience, a last poll, an approval saved as such);
/// - a device or user code digest of a live authorization is refused
///   ([`token_collision`](crate::validator::token_collision)), but once
///   that authorization expired (not yet purged) the digest may be saved
///   again, and finds the new one (user codes are short: their space is
///   reused).
pub fn check_device_records<V, F>(new_store: F)
where
    V: RequestValidator,
    F: Fn(&Fixture) -> V,
{
    use crate::device::{DeviceAuthorization, DeviceCodeKey, DeviceStatus};
    use crate::secret::sha256;
    let d = Direct {
        name: "device authorizations are read back and expire",
        store: new_store(&Fixture::new()),
    };
    let store = &d.store;
    let at = |now: u64| {
        OAuthRequest::new(
            Request::new("POST", "/token", &[FORM], b""),
            Default::default(),
            now,
        )
    };
    let r = at(START);
    let find = |key: DeviceCodeKey<'_>, r: &OAuthRequest<'_>| {
        d.ok(
            store.find_device_authorization(key, r),
            "find_device_authorization",
        )
    };
    let (device, user) = (sha256(b"kit-records-device"), sha256(b"kit-records-user"));
    let saved = DeviceAuthorization {
        client_id: PUBLIC.client_id.into(),
        scopes: Scope::parse("read").unwrap_or_default(),
        audience: crate::audience::Audience::parse([KIT_API, KIT_PHOTOS]).unwrap_or_default(),
        grant_id: "kit-records-grant".into(),
        expires_at: START + CODE_LIFETIME,
        interval: 15,
        last_poll: Some(START - 1),
        status: DeviceStatus::Approved {
            user_id: "kit-user".into(),
        },
    };
    d.ok(
        store.save_device_authorization(&device, &user, &saved, &r),
        "save_device_authorization",
    );
    for (key, what) in [
        (DeviceCodeKey::DeviceCode(&device), "device code"),
        (DeviceCodeKey::UserCode(&user), "user code"),
    ] {
        let found = find(key, &r);
        d.expect(
            found.as_ref() == Some(&saved),
            &format!("found by {what}, it reads {found:?}, not {saved:?}"),
        );
    }
    let other = sha256(b"kit-records-other");
    let fresh = DeviceAuthorization {
        expires_at: START + 2 * CODE_LIFETIME,
        last_poll: None,
        status: DeviceStatus::Pending,
        ..saved.clone()
    };
    let almost = at(START + CODE_LIFETIME - 1);
    d.collided(
        store.save_device_authorization(&other, &user, &fresh, &almost),
        "a save over the user code of an authorization live for one more second",
    );
    d.collided(
        store.save_device_authorization(&device, &other, &fresh, &almost),
        "a save over the device code of an authorization live for one more second",
    );
    // A second authorization, so that each reuse below meets one
    // expired authorization by one digest only.
    let (device_b, user_b) = (
        sha256(b"kit-records-device-b"),
        sha256(b"kit-records-user-b"),
    );
    d.ok(
        store.save_device_authorization(&device_b, &user_b, &saved, &r),
        "save_device_authorization",
    );
    let expired = at(START + CODE_LIFETIME);
    d.ok(
        store.save_device_authorization(&other, &user, &fresh, &expired),
        "a save over an expired authorization's user code",
    );
    d.expect(
        find(DeviceCodeKey::UserCode(&user), &expired).as_ref() == Some(&fresh)
            && find(DeviceCodeKey::DeviceCode(&device), &expired).is_none(),
        "an expired authorization's user code, saved again, does not find the new one alone",
    );
    let user_c = sha256(b"kit-records-user-c");
    d.ok(
        store.save_device_authorization(&device_b, &user_c, &fresh, &expired),
        "a save over an expired authorization's device code",
    );
    d.expect(
        find(DeviceCodeKey::DeviceCode(&device_b), &expired).as_ref() == Some(&fresh)
            && find(DeviceCodeKey::UserCode(&user_b), &expired).is_none(),
        "an expired authorization's device code, saved again, does not find the new one alone",
    );
}
