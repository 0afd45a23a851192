//! Device authorizations (RFC 8628) in the SQLite store: the kit's
//! `check_device_records`, and what the admin API and the purge do to
//! them beyond the contract. (The kit's flow checks run in
//! `conformance.rs`.)

mod common;

use common::{request, TempDb};
use oauth2_provider::secret::sha256;
use oauth2_provider::testing::{self, Fixture};
use oauth2_provider::{DeviceAuthorization, DeviceCodeKey, DeviceStatus, RequestValidator, Scope};
use oauth2_provider_sqlite::{ClientRecord, SqliteStore, USER_CODE_ATTEMPTS_KEPT};

#[test]
fn device_authorizations_are_read_back_and_expire() {
    let db = TempDb::new("device");
    testing::check_device_records(|fixture: &Fixture| {
        let store = SqliteStore::open(db.path()).expect("open");
        common::add_fixture(&store, fixture);
        store
    });
}

#[test]
fn removing_a_user_forgets_what_they_approved_and_the_purge_old_failures() {
    let store = SqliteStore::open_in_memory().unwrap();
    store
        .add_client(&ClientRecord::public("tv", []).scopes(["read"]))
        .unwrap();
    store.add_user("alice", "alice-password").unwrap();
    let now = 1_700_000_000;
    let r = request(now);
    let (device, user) = (sha256(b"device"), sha256(b"user"));
    let pending = DeviceAuthorization {
        client_id: "tv".into(),
        scopes: Scope::parse("read").unwrap(),
        audience: Default::default(),
        grant_id: "g".into(),
        expires_at: now + 600,
        interval: 5,
        last_poll: None,
        status: DeviceStatus::Pending,
    };
    store
        .save_device_authorization(&device, &user, &pending, &r)
        .unwrap();
    let alice = DeviceStatus::Approved {
        user_id: "alice".into(),
    };
    assert!(store
        .decide_device_authorization(&user, &alice, &pending.scopes, &r)
        .unwrap());
    assert!(store.remove_user("alice").unwrap());
    let found = store
        .find_device_authorization(DeviceCodeKey::DeviceCode(&device), &r)
        .unwrap();
    assert_eq!(found, None, "an approval of a removed user is kept");

    assert_eq!(store.record_user_code_attempt("bob", 0, &r).unwrap(), 1);
    let later = request(now + USER_CODE_ATTEMPTS_KEPT);
    assert_eq!(store.record_user_code_attempt("eve", 0, &later).unwrap(), 1);
    store.purge_expired(now + USER_CODE_ATTEMPTS_KEPT).unwrap();
    assert_eq!(store.user_code_attempts("bob", 0, &later).unwrap(), 1);
    store
        .purge_expired(now + USER_CODE_ATTEMPTS_KEPT + 1)
        .unwrap();
    assert_eq!(store.user_code_attempts("bob", 0, &later).unwrap(), 0);
    assert_eq!(store.user_code_attempts("eve", 0, &later).unwrap(), 1);
    // A new failure drops its subject's failures from before its window.
    assert_eq!(
        store
            .record_user_code_attempt(
                "eve",
                now + USER_CODE_ATTEMPTS_KEPT + 1,
                &request(now + USER_CODE_ATTEMPTS_KEPT + 1)
            )
            .unwrap(),
        1
    );
    assert_eq!(store.user_code_attempts("eve", 0, &later).unwrap(), 1);
}
