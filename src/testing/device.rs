//! The kit's checks of the device authorization grant (RFC 8628): the
//! store's device hooks, through the server and directly.

use super::*;
use crate::device::{
    normalize_user_code, user_code_digest, DeviceAuthorization, DeviceCodeKey, DeviceDecision,
    DeviceStatus, DEVICE_CODE_GRANT_TYPE, SLOW_DOWN_STEP,
};
use crate::secret::sha256;

/// The user code throttle's window the kit's server runs with: the
/// default, 300 s.
const ENTRY_WINDOW: u64 = 300;

/// Runs the checks of the device authorization grant on stores made by
/// `new_store`, one fresh store per check; panics at the first failure,
/// naming it:
///
/// - a device authorization is saved under both digests, found by each,
///   and a second save under either digest of a live one is refused
///   (`server_error`, [`token_collision`](crate::validator::token_collision));
/// - only a pending authorization is decided, and of two decisions the
///   first holds; a poll is recorded (`slow_down`'s interval too);
/// - user code entries are counted per subject, at or after `since`;
/// - the flow through the server: `authorization_pending`, `slow_down`,
///   approval, tokens once, and a replay that revokes them; denial,
///   another client's code, expiry;
/// - eight threads deciding one user code: one wins; eight threads
///   polling one approved code: at most one set of live tokens; eight
///   threads polling one pending code too fast: each is answered
///   `slow_down`, and the stored interval grew by 5 s for each;
/// - a failed save leaves the authorization approved, and the retry of
///   the poll gets the tokens.
///
/// Separate from [`check`] while some stores keep no device
/// authorizations (the trait's defaults refuse them).
pub fn check_device_authorizations<V, F>(new_store: F)
where
    V: RequestValidator + 'static,
    F: Fn(&Fixture) -> V,
{
    device_storage(&Direct {
        name: "device authorizations are stored",
        store: new_store(&Fixture::new()),
    });
    let checks: [(&str, Check<V>); 6] = [
        ("device flow", device_flow),
        ("device decisions", device_decisions),
        ("racing device decisions", racing_device_decisions),
        ("racing device polls", racing_device_polls),
        ("racing slow_downs", racing_slow_downs),
        ("a failed device save, then its retry", failed_device_save),
    ];
    for (name, run) in checks {
        run(&Kit::new(name, new_store(&Fixture::new())));
    }
}

/// Checks the store's purge, `purge(store, now)`, of device
/// authorizations and user code entries: an expired authorization is
/// forgotten (by both digests), a live one stays usable, an entry older
/// than the throttle's window (the kit's server: 300 s) is forgotten and
/// a recent one still counted.
pub fn check_device_purge<V, F, P>(new_store: F, purge: P)
where
    V: RequestValidator + 'static,
    F: Fn(&Fixture) -> V,
    P: Fn(&V, u64),
{
    let kit = Kit::new("device purge", new_store(&Fixture::new()));
    let (old_code, old_user) = kit.device_authorize(&PUBLIC);
    kit.wrong_user_code("kit-user");
    kit.clock.advance(DEVICE_LIFETIME / 2);
    let (live_code, live_user) = kit.device_authorize(&PUBLIC);
    kit.clock.advance(DEVICE_LIFETIME / 2);
    kit.wrong_user_code("kit-user");
    purge(kit.server.validator(), kit.clock.now());
    kit.expect(
        kit.find(DeviceCodeKey::DeviceCode(&sha256(old_code.as_bytes())))
            .is_none(),
        "an expired device authorization is still found by device code after a purge",
    );
    kit.expect(
        kit.find(DeviceCodeKey::UserCode(&user_digest(&old_user)))
            .is_none(),
        "an expired device authorization is still found by user code after a purge",
    );
    kit.expect_error(
        &kit.poll(&PUBLIC, &live_code),
        "authorization_pending",
        "a live device code after a purge",
    );
    let counted = kit.entries("kit-user", 0);
    kit.expect(
        counted == 1,
        &format!("{counted} user code entries counted after a purge, not 1 (the recent one)"),
    );
    kit.expect(
        kit.server
            .device_verification(&page(), "kit-user", &live_user)
            .is_ok(),
        "a live user code after a purge",
    );
}

/// A second user of the fixture of [`check_device_user_removal`], whose
/// approvals must outlive another user's removal.
const OTHER_USER: (&str, &str) = ("kit-other-user", "kit-other-password");

/// Checks a store's removal of a user, `remove_user(store, user)` (its
/// admin API: the trait has none), on device authorizations; panics,
/// naming the check, at the first failure:
///
/// - an authorization the removed user approved is forgotten (found by
///   neither digest), so that no later poll turns it into tokens for a
///   user who no longer exists;
/// - one another user approved still gives its tokens, and one nobody
///   decided yet is still pending.
///
/// For stores that remove users; `new_store` makes a store holding the
/// fixture, which has a second user here, `kit-other-user`.
pub fn check_device_user_removal<V, F, U>(new_store: F, remove_user: U)
where
    V: RequestValidator + 'static,
    F: Fn(&Fixture) -> V,
    U: Fn(&V, &str),
{
    let mut fixture = Fixture::new();
    fixture.users.push(OTHER_USER);
    let kit = Kit::new(
        "removing a user forgets their device approvals",
        new_store(&fixture),
    );
    let (removed, removed_user_code) = kit.device_authorize(&PUBLIC);
    kit.approve(&removed_user_code);
    let (kept, kept_user_code) = kit.device_authorize(&PUBLIC);
    kit.server
        .device_decision(
            &page(),
            OTHER_USER.0,
            &kept_user_code,
            None,
            DeviceDecision::Approve,
        )
        .unwrap_or_else(|e| kit.fail(&format!("approving as another user: {e:?}")));
    let (pending, _) = kit.device_authorize(&PUBLIC);
    remove_user(kit.server.validator(), "kit-user");
    kit.expect(
        kit.find(DeviceCodeKey::DeviceCode(&sha256(removed.as_bytes())))
            .is_none()
            && kit
                .find(DeviceCodeKey::UserCode(&user_digest(&removed_user_code)))
                .is_none(),
        "an authorization approved by a removed user is still found",
    );
    kit.expect_error(
        &kit.poll(&PUBLIC, &removed),
        "invalid_grant",
        "a device code approved by a removed user",
    );
    kit.expect_error(
        &kit.poll(&PUBLIC, &pending),
        "authorization_pending",
        "an undecided device code after a user's removal",
    );
    kit.tokens(
        &kit.poll(&PUBLIC, &kept),
        "a device code another user approved, after a user's removal",
    );
}

/// Checks how long a store keeps the user code entries the throttle
/// counts (RFC 8628 §5.1), `purge(store, now)` being its purge; panics,
/// naming the check, at the first failure:
///
/// - an entry recorded for the longest window a server may count over
///   ([`USER_CODE_WINDOW_MAX`](crate::server::USER_CODE_WINDOW_MAX), a
///   day) is still counted after a purge a day later (a server counting
///   over a day would otherwise count too few), and forgotten by a purge
///   a second after that (the store does not grow with every code ever
///   entered);
/// - a new entry drops its subject's entries from before its window:
///   a user entering codes for days keeps a bounded list between purges.
pub fn check_user_code_entries_kept<V, F, P>(new_store: F, purge: P)
where
    V: RequestValidator,
    F: Fn(&Fixture) -> V,
    P: Fn(&V, u64),
{
    use crate::server::USER_CODE_WINDOW_MAX as DAY;
    let d = Direct {
        name: "user code entries are kept a day",
        store: new_store(&Fixture::new()),
    };
    let store = &d.store;
    let at = |now| OAuthRequest::new(page(), Default::default(), now);
    // As a server counting over a day records them.
    let record = |subject, now: u64| {
        d.ok(
            store.record_user_code_attempt(subject, now.saturating_sub(DAY), &at(now)),
            "record_user_code_attempt",
        )
    };
    let counted = |subject, now| {
        d.ok(
            store.user_code_attempts(subject, 0, &at(now)),
            "user_code_attempts",
        )
    };
    record("kit-old", START);
    record("kit-recent", START + DAY);
    purge(store, START + DAY);
    d.expect(
        counted("kit-old", START + DAY) == 1,
        "an entry a day old was forgotten by the purge",
    );
    purge(store, START + DAY + 1);
    d.expect(
        counted("kit-old", START + DAY + 1) == 0,
        "an entry older than a day survived the purge",
    );
    d.expect(
        counted("kit-recent", START + DAY + 1) == 1,
        "an entry a second old was forgotten by the purge",
    );
    let later = START + 2 * DAY + 1;
    d.expect(
        record("kit-recent", later) == 1,
        "an entry counted its subject's entries from before its window",
    );
    d.expect(
        counted("kit-recent", later) == 1,
        "an entry kept its subject's entries from before its window",
    );
}

impl<V: RequestValidator> Kit<V> {
    /// A device authorization request of `client` (RFC 8628 §3.1) for
    /// `read`: its device code and user code.
    pub(super) fn device_authorize(&self, client: &FixtureClient) -> (String, String) {
        let mut pairs = vec![("scope", "read")];
        let auth = client
            .secret
            .map(|s| basic_header_value(client.client_id, s));
        let mut headers = vec![FORM];
        match &auth {
            Some(value) => headers.push(("Authorization", value.as_str())),
            None => pairs.push(("client_id", client.client_id)),
        }
        let body = encode_pairs(pairs.iter().copied());
        let response = self.server.device_authorization_response(&Request::new(
            "POST",
            "/device_authorization",
            &headers,
            body.as_bytes(),
        ));
        if response.status != 200 {
            self.fail(&format!(
                "device authorization request: {} {}",
                response.status,
                response.body_str()
            ));
        }
        let value = |name| {
            json_string(&response, name)
                .unwrap_or_else(|| self.fail(&format!("device authorization: no {name}")))
        };
        (value("device_code"), value("user_code"))
    }

    /// A poll of the token endpoint with `device_code`, as `client`.
    pub(super) fn poll(&self, client: &FixtureClient, device_code: &str) -> Response {
        self.token(
            client,
            &[
                ("grant_type", DEVICE_CODE_GRANT_TYPE),
                ("device_code", device_code),
            ],
        )
    }

    /// The kit's user decides on `user_code`.
    fn decide(&self, user_code: &str, decision: DeviceDecision) -> Result<(), OAuthError> {
        self.server
            .device_decision(&page(), "kit-user", user_code, None, decision)
    }

    pub(super) fn approve(&self, user_code: &str) {
        self.decide(user_code, DeviceDecision::Approve)
            .unwrap_or_else(|e| self.fail(&format!("approving a pending user code: {e:?}")));
    }

    /// `subject` enters a user code that does not exist.
    fn wrong_user_code(&self, subject: &str) {
        let answer = self
            .server
            .device_verification(&page(), subject, "ZZZZ-ZZZZ");
        match answer {
            Err(e) if e.code() == ErrorCode::InvalidGrant => {}
            other => self.fail(&format!("an unknown user code: {other:?}")),
        }
    }

    fn oauth(&self) -> OAuthRequest<'static> {
        OAuthRequest::new(page(), Default::default(), self.clock.now())
    }

    fn find(&self, key: DeviceCodeKey<'_>) -> Option<DeviceAuthorization> {
        self.server
            .validator()
            .find_device_authorization(key, &self.oauth())
            .unwrap_or_else(|e| self.fail(&format!("find_device_authorization: {e:?}")))
    }

    fn entries(&self, subject: &str, since: u64) -> u32 {
        self.server
            .validator()
            .user_code_attempts(subject, since, &self.oauth())
            .unwrap_or_else(|e| self.fail(&format!("user_code_attempts: {e:?}")))
    }
}

/// A poll of the token endpoint with `device_code`, as [`PUBLIC`], on a
/// racing thread's `server`.
fn public_poll<V: RequestValidator>(server: &Server<V>, device_code: &str) -> Response {
    let body = encode_pairs([
        ("grant_type", DEVICE_CODE_GRANT_TYPE),
        ("device_code", device_code),
        ("client_id", PUBLIC.client_id),
    ]);
    server.token_response(&Request::new("POST", "/token", &[FORM], body.as_bytes()))
}

/// The verification page's request.
fn page() -> Request<'static> {
    Request::new("POST", "/device", &[], b"")
}

/// The digest of a user code as shown.
fn user_digest(user_code: &str) -> [u8; 32] {
    user_code_digest(&normalize_user_code(user_code).unwrap_or_default())
}

fn pending(client_id: &str, expires_at: u64) -> DeviceAuthorization {
    DeviceAuthorization {
        client_id: client_id.into(),
        scopes: Scope::parse("read write").unwrap_or_default(),
        audience: crate::Audience::default(),
        grant_id: format!("kit-device-grant-{expires_at}"),
        expires_at,
        interval: 5,
        last_poll: None,
        status: DeviceStatus::Pending,
    }
}

fn device_storage<V: RequestValidator>(d: &Direct<V>) {
    let at = |now| OAuthRequest::new(page(), Default::default(), now);
    let r = at(START);
    let store = &d.store;
    let (device, user) = (sha256(b"kit-device-1"), sha256(b"kit-user-1"));
    let saved = pending(CONFIDENTIAL.client_id, START + DEVICE_LIFETIME);
    d.ok(
        store.save_device_authorization(&device, &user, &saved, &r),
        "save_device_authorization",
    );
    let other = pending(PUBLIC.client_id, START + DEVICE_LIFETIME);
    d.collided(
        store.save_device_authorization(&device, &sha256(b"kit-user-2"), &other, &r),
        "a second save under a stored device code digest",
    );
    d.collided(
        store.save_device_authorization(&sha256(b"kit-device-2"), &user, &other, &r),
        "a second save under a stored user code digest",
    );
    let find = |key: DeviceCodeKey<'_>| d.ok(store.find_device_authorization(key, &r), "find");
    d.expect(
        find(DeviceCodeKey::DeviceCode(&device)).as_ref() == Some(&saved),
        "found by device code, not as saved",
    );
    d.expect(
        find(DeviceCodeKey::UserCode(&user)).as_ref() == Some(&saved),
        "found by user code, not as saved",
    );
    d.expect(
        find(DeviceCodeKey::DeviceCode(&sha256(b"kit-device-2"))).is_none()
            && find(DeviceCodeKey::UserCode(&sha256(b"kit-user-2"))).is_none(),
        "a refused save stored something",
    );
    d.expect(
        find(DeviceCodeKey::UserCode(&device)).is_none()
            && find(DeviceCodeKey::DeviceCode(&user)).is_none(),
        "a device code digest found as a user code, or the other way",
    );

    // A slow_down grows the interval from 5 to 10; a poll in time keeps it.
    for (at, slowed_down) in [(START + 3, true), (START + 20, false)] {
        d.ok(
            store.record_device_poll(&device, at, slowed_down, &r),
            "record_device_poll",
        );
        let polled = find(DeviceCodeKey::DeviceCode(&device));
        d.expect(
            polled
                .as_ref()
                .is_some_and(|a| a.last_poll == Some(at) && a.interval == 10),
            &format!(
                "a poll at {at} (slow_down: {slowed_down}) reads back as {polled:?}, \
                 not polled then with interval 10"
            ),
        );
    }

    let approved = DeviceStatus::Approved {
        user_id: "kit-user".into(),
    };
    let narrowed = Scope::parse("read").unwrap_or_default();
    d.expect(
        !d.ok(
            store.decide_device_authorization(&device, &approved, &narrowed, &r),
            "decide_device_authorization",
        ),
        "a decision keyed by the device code digest was recorded",
    );
    d.expect(
        d.ok(
            store.decide_device_authorization(&user, &approved, &narrowed, &r),
            "decide_device_authorization",
        ),
        "a pending authorization was not decided",
    );
    d.expect(
        !d.ok(
            store.decide_device_authorization(&user, &DeviceStatus::Denied, &narrowed, &r),
            "decide_device_authorization",
        ),
        "a decided authorization was decided again",
    );
    let decided = find(DeviceCodeKey::DeviceCode(&device));
    d.expect(
        decided
            .as_ref()
            .is_some_and(|a| a.status == approved && a.scopes == narrowed),
        &format!("an approval with narrowed scopes reads back as {decided:?}"),
    );

    // Spent once, by its client, only once approved.
    let consume = |client_id, device: &[u8; 32], access: &str| {
        let token = issued(access, None, &saved.grant_id, true);
        let consumed = Consumed::DeviceCode {
            client_id,
            device_code: device,
        };
        d.ok(
            store.consume_and_save(consumed, &token, &r),
            "consume_and_save",
        )
    };
    let (waiting, waiting_user) = (sha256(b"kit-device-3"), sha256(b"kit-user-3"));
    let still_pending = pending(CONFIDENTIAL.client_id, START + DEVICE_LIFETIME);
    d.ok(
        store.save_device_authorization(&waiting, &waiting_user, &still_pending, &r),
        "save_device_authorization",
    );
    d.expect(
        !consume(CONFIDENTIAL.client_id, &waiting, "kit-device-access-0"),
        "a pending device authorization was spent",
    );
    d.expect(
        !consume(PUBLIC.client_id, &device, "kit-device-access-1"),
        "another client spent an approved device authorization",
    );
    d.expect(
        consume(CONFIDENTIAL.client_id, &device, "kit-device-access-2"),
        "an approved device authorization was not spent by its client",
    );
    d.expect(
        !consume(CONFIDENTIAL.client_id, &device, "kit-device-access-3"),
        "a device authorization was spent twice",
    );
    let used = find(DeviceCodeKey::DeviceCode(&device));
    d.expect(
        used.as_ref()
            .is_some_and(|a| a.status == DeviceStatus::Used),
        &format!("a spent device authorization reads back as {used:?}"),
    );
    d.expect(
        d.is_active("kit-device-access-2", &r)
            && !d.is_active("kit-device-access-0", &r)
            && !d.is_active("kit-device-access-1", &r)
            && !d.is_active("kit-device-access-3", &r),
        "consume_and_save saved tokens other than the one spend's",
    );

    // Failures: counted per subject, at or after `since`.
    let count = |now, since| {
        d.ok(
            store.record_user_code_attempt("kit-user", since, &at(now)),
            "record_user_code_attempt",
        )
    };
    d.expect(count(START, START - ENTRY_WINDOW) == 1, "first entry");
    d.expect(count(START + 10, START - ENTRY_WINDOW) == 2, "second entry");
    let entries = |subject, since| {
        d.ok(
            store.user_code_attempts(subject, since, &at(START + 10)),
            "user_code_attempts",
        )
    };
    d.expect(
        entries("kit-user", START) == 2,
        "two entries since the first",
    );
    d.expect(
        entries("kit-user", START + 1) == 1,
        "one entry since after the first",
    );
    d.expect(
        entries("kit-user", START + 11) == 0,
        "entries counted before `since`",
    );
    d.expect(
        entries("another-user", 0) == 0,
        "one subject's entries counted for another",
    );
    d.expect(
        count(START + 20, START + 15) == 1,
        "an entry counts itself and only what lies at or after `since`",
    );
}

fn device_flow<V: RequestValidator>(kit: &Kit<V>) {
    let (device_code, user_code) = kit.device_authorize(&PUBLIC);
    kit.expect_error(
        &kit.poll(&PUBLIC, &device_code),
        "authorization_pending",
        "the first poll",
    );
    kit.expect_error(
        &kit.poll(&PUBLIC, &device_code),
        "slow_down",
        "a poll sooner than the interval",
    );
    let digest = sha256(device_code.as_bytes());
    let slowed = kit.find(DeviceCodeKey::DeviceCode(&digest));
    kit.expect(
        slowed
            .as_ref()
            .is_some_and(|a| a.interval == 10 && a.last_poll == Some(START)),
        &format!("slow_down's interval (10) and poll not recorded: {slowed:?}"),
    );
    kit.clock.advance(5);
    kit.expect_error(
        &kit.poll(&PUBLIC, &device_code),
        "slow_down",
        "a poll after the old interval but before the grown one",
    );
    kit.clock.advance(15);
    kit.expect_error(
        &kit.poll(&PUBLIC, &device_code),
        "authorization_pending",
        "a poll after the grown interval",
    );
    // Typed by a user: lower case, no dash.
    let typed = user_code.replace('-', "").to_ascii_lowercase();
    let shown = kit
        .server
        .device_verification(&page(), "kit-user", &typed)
        .unwrap_or_else(|e| kit.fail(&format!("device_verification: {e:?}")));
    kit.expect(
        shown.client_id == PUBLIC.client_id && shown.user_code == user_code,
        &format!("device_verification shows {shown:?}"),
    );
    kit.approve(&typed);
    let (access, refresh) = kit.tokens(&kit.poll(&PUBLIC, &device_code), "the approved poll");
    kit.expect(
        kit.opens(&access),
        "the device's access token does not open",
    );
    let refresh = refresh.unwrap_or_else(|| kit.fail("the device grant gave no refresh token"));
    kit.expect_error(
        &kit.poll(&PUBLIC, &device_code),
        "invalid_grant",
        "a second poll of a used device code",
    );
    kit.expect(
        !kit.opens(&access),
        "a replayed device code did not revoke its access token",
    );
    kit.expect_error(
        &kit.refresh(&PUBLIC, &refresh),
        "invalid_grant",
        "the refresh token of a replayed device code",
    );
}

fn device_decisions<V: RequestValidator>(kit: &Kit<V>) {
    let (device_code, user_code) = kit.device_authorize(&CONFIDENTIAL);
    kit.expect_error(
        &kit.poll(&PUBLIC, &device_code),
        "invalid_grant",
        "another client's device code",
    );
    kit.expect_error(
        &kit.poll(&CONFIDENTIAL, &device_code),
        "authorization_pending",
        "a device code after another client tried it",
    );
    kit.decide(&user_code, DeviceDecision::Deny)
        .unwrap_or_else(|e| kit.fail(&format!("denying: {e:?}")));
    kit.expect(
        kit.decide(&user_code, DeviceDecision::Approve).is_err(),
        "a denied user code was approved",
    );
    kit.clock.advance(5);
    kit.expect_error(
        &kit.poll(&CONFIDENTIAL, &device_code),
        "access_denied",
        "a denied device code",
    );

    let (device_code, user_code) = kit.device_authorize(&CONFIDENTIAL);
    kit.clock.advance(DEVICE_LIFETIME);
    kit.expect_error(
        &kit.poll(&CONFIDENTIAL, &device_code),
        "expired_token",
        "an expired device code",
    );
    kit.expect(
        kit.decide(&user_code, DeviceDecision::Approve).is_err(),
        "an expired user code was approved",
    );
}

fn racing_device_decisions<V: RequestValidator + 'static>(kit: &Kit<V>) {
    let (_, user_code) = kit.device_authorize(&PUBLIC);
    let answers = race(kit, move |server| {
        let decided = server.device_decision(
            &page(),
            "kit-user",
            &user_code,
            None,
            DeviceDecision::Approve,
        );
        // The race helper collects responses: a 200 for the winner.
        Response::new(if decided.is_ok() { 200 } else { 400 })
    });
    let won = answers.iter().filter(|r| r.status == 200).count();
    kit.expect(
        won == 1,
        &format!("one user code decided by eight threads: {won} decisions recorded"),
    );
}

fn racing_device_polls<V: RequestValidator + 'static>(kit: &Kit<V>) {
    let (device_code, user_code) = kit.device_authorize(&PUBLIC);
    kit.approve(&user_code);
    let answers = race(kit, move |server| public_poll(server, &device_code));
    at_most_one_live_set(kit, &answers, "one device code polled by eight threads");
}

/// RFC 8628 §3.5: on `slow_down` the client's interval "MUST be increased
/// by 5 seconds for this and all subsequent requests", so after `n` of
/// them a client that obeys polls every `initial + 5 n` seconds. The
/// store's interval must be exactly that: less, and a client told to
/// slow down may poll faster than it was told (a growth lost between
/// racing polls); more, and a client that obeys is told to slow down.
fn racing_slow_downs<V: RequestValidator + 'static>(kit: &Kit<V>) {
    let (device_code, _) = kit.device_authorize(&PUBLIC);
    kit.expect_error(
        &kit.poll(&PUBLIC, &device_code),
        "authorization_pending",
        "the first poll",
    );
    let digest = sha256(device_code.as_bytes());
    let interval = || {
        kit.find(DeviceCodeKey::DeviceCode(&digest))
            .unwrap_or_else(|| kit.fail("a polled device authorization is not found"))
            .interval
    };
    let initial = interval();
    // The clock stands still: every racing poll comes too soon.
    let answers = race(kit, move |server| public_poll(server, &device_code));
    let slowed = answers
        .iter()
        .filter(|r| json_string(r, "error").as_deref() == Some("slow_down"))
        .count() as u64;
    kit.expect(
        slowed == answers.len() as u64,
        &format!(
            "{slowed} of {} polls sooner than the interval answered slow_down",
            answers.len()
        ),
    );
    let grown = interval();
    kit.expect(
        grown == initial + SLOW_DOWN_STEP * slowed,
        &format!(
            "after {slowed} racing slow_downs the interval is {grown} s, not {} s \
             (the initial {initial} s, plus 5 s for each)",
            initial + SLOW_DOWN_STEP * slowed
        ),
    );
}

fn failed_device_save<V: RequestValidator>(kit: &Kit<V>) {
    let (stored, _) = kit.tokens(
        &kit.token(&CONFIDENTIAL, &[("grant_type", "client_credentials")]),
        "client credentials",
    );
    let (device_code, user_code) = kit.device_authorize(&PUBLIC);
    kit.approve(&user_code);
    kit.tokens.repeat_next(&stored);
    let failed = kit.poll(&PUBLIC, &device_code);
    kit.expect(
        failed.status != 200,
        "a save over a stored access token succeeded: the store replaced it",
    );
    let after = kit.find(DeviceCodeKey::DeviceCode(&sha256(device_code.as_bytes())));
    kit.expect(
        after
            .as_ref()
            .is_some_and(|a| matches!(a.status, DeviceStatus::Approved { .. })),
        &format!("a failed save left the authorization {after:?}, not approved"),
    );
    let (access, _) = kit.tokens(
        &kit.poll(&PUBLIC, &device_code),
        "the retried poll after a failed save",
    );
    kit.expect(kit.opens(&access), "the retried poll's token does not open");
    kit.expect(
        kit.opens(&stored),
        "the stored token stopped working after a failed save over it",
    );
}
