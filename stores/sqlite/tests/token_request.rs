//! A token request in one transaction (`RequestValidator::token_request`):
//! each write within it stays all or nothing, a request that fails or
//! panics leaves nothing half done, and the transaction holds the write
//! lock from the first lookup to the commit. (The kit runs every grant
//! through it, over files; these reach the cases no grant's flow makes.)

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use oauth2_provider::validator::{grant_ended, token_collision};
use oauth2_provider::{
    BearerToken, ClientRecord, Grant, IssuedToken, OAuthError, OAuthRequest, Request,
    RequestValidator, Scope,
};
use oauth2_provider_sqlite::SqliteStore;

const NOW: u64 = 1_800_000_000;

/// A database file, deleted with its log when dropped.
struct File(PathBuf);

impl File {
    fn new(name: &str) -> File {
        let path = std::env::temp_dir().join(format!(
            "oap-sqlite-token-request-{name}-{}.db",
            std::process::id()
        ));
        let file = File(path);
        file.remove();
        file
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        self.remove();
    }
}

fn open(file: &File) -> SqliteStore {
    let store = SqliteStore::open(&file.0).expect("open");
    store
        .upsert_client(
            &ClientRecord::confidential("svc", "svc-secret", [])
                .grant_types([Grant::ClientCredentials])
                .scopes(["read"]),
        )
        .expect("add a client");
    store
}

fn request() -> OAuthRequest<'static> {
    OAuthRequest::new(
        Request::new("POST", "/token", &[], b""),
        Default::default(),
        NOW,
    )
}

/// A client-credentials access token `access`, in `grant` if given (one
/// that is neither stored nor new: its save is refused as ended).
fn issued(access: &str, grant: Option<&str>) -> IssuedToken {
    IssuedToken {
        access_token: access.into(),
        refresh_token: None,
        refresh_token_is_new: false,
        expires_in: 600,
        scopes: Scope::parse("read").unwrap(),
        refresh_scopes: None,
        client_id: Arc::from("svc"),
        user: None,
        grant_id: grant.map(Arc::from),
        new_grant: false,
        issued_at: NOW,
        refresh_expires_at: None,
        audience: Default::default(),
        refresh_audience: None,
    }
}

fn answer() -> Result<BearerToken, OAuthError> {
    Ok(BearerToken::new("answer".into(), Some(600)))
}

fn opens(store: &SqliteStore, access: &str) -> bool {
    store
        .validate_bearer_token(access, &[], &request())
        .expect("a lookup")
        .is_some()
}

#[test]
fn a_refused_write_changes_nothing_and_the_request_goes_on() {
    let file = File::new("refused");
    let store = open(&file);
    let out = store.token_request(&request(), &mut || {
        // First write of the request refused (an ended grant): rolled back.
        assert_eq!(
            store.save_bearer_token(&issued("ended", Some("gone")), &request()),
            Err(grant_ended())
        );
        store.save_bearer_token(&issued("first", None), &request())?;
        // A later write refused (a repeated value): its savepoint undone,
        // the first write kept.
        assert_eq!(
            store.save_bearer_token(&issued("first", None), &request()),
            Err(token_collision())
        );
        store.save_bearer_token(&issued("second", None), &request())?;
        answer()
    });
    assert_eq!(out, answer());
    // Seen from another store on the file: committed.
    let other = SqliteStore::open(&file.0).expect("open");
    assert!(opens(&other, "first"));
    assert!(opens(&other, "second"));
    assert!(!opens(&other, "ended"));
}

#[test]
fn what_a_failed_request_wrote_is_committed_with_its_answer() {
    // A request answering an error (a replay: the grant revoked, then
    // `invalid_grant`) keeps what its writes did.
    let file = File::new("error");
    let store = open(&file);
    let out = store.token_request(&request(), &mut || {
        store.save_bearer_token(&issued("kept", None), &request())?;
        Err(OAuthError::invalid_request("refused after a write"))
    });
    assert_eq!(
        out,
        Err(OAuthError::invalid_request("refused after a write"))
    );
    assert!(opens(&SqliteStore::open(&file.0).expect("open"), "kept"));
}

#[test]
fn a_panicking_request_is_rolled_back_and_the_store_goes_on() {
    let file = File::new("panic");
    let store = open(&file);
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.token_request(&request(), &mut || {
            store
                .save_bearer_token(&issued("lost", None), &request())
                .expect("a save");
            panic!("the request's flow panics");
        })
    }));
    assert!(unwound.is_err());
    assert!(!opens(&store, "lost"));
    // The connection went back to the pool out of its transaction, and
    // the next request can write.
    let out = store.token_request(&request(), &mut || {
        store.save_bearer_token(&issued("after", None), &request())?;
        answer()
    });
    assert_eq!(out, answer());
    assert!(opens(&SqliteStore::open(&file.0).expect("open"), "after"));
}

#[test]
fn a_request_holds_the_write_lock_from_its_first_lookup() {
    // Another store on the file (as another process would) cannot write
    // between a request's lookups and its write: the request's reads see
    // the state its write applies to.
    let file = File::new("lock");
    let store = open(&file);
    let other = SqliteStore::open(&file.0).expect("open");
    let (done, finished) = mpsc::channel();
    std::thread::scope(|s| {
        let out = store.token_request(&request(), &mut || {
            assert!(!opens(&store, "racer"));
            let other = &other;
            let done = done.clone();
            s.spawn(move || {
                let saved = other.save_bearer_token(&issued("racer", None), &request());
                done.send(saved).expect("the test waits");
            });
            // The other writer waits for this request's commit.
            assert!(finished.recv_timeout(Duration::from_millis(300)).is_err());
            assert!(!opens(&store, "racer"));
            answer()
        });
        assert_eq!(out, answer());
    });
    assert_eq!(finished.recv().expect("a save"), Ok(()));
    assert!(opens(&store, "racer"));
}

#[test]
fn an_in_memory_store_runs_the_request_as_it_is() {
    let store = SqliteStore::open_in_memory().expect("open");
    store
        .upsert_client(&ClientRecord::confidential("svc", "svc-secret", []).scopes(["read"]))
        .expect("add a client");
    let out = store.token_request(&request(), &mut || {
        store.save_bearer_token(&issued("mem", None), &request())?;
        answer()
    });
    assert_eq!(out, answer());
    assert!(opens(&store, "mem"));
}

/// `issued`'s token with a new refresh token `refresh`, in `grant`,
/// which it starts when `new_grant`.
fn rotated(access: &str, refresh: &str, grant: &str, new_grant: bool) -> IssuedToken {
    IssuedToken {
        refresh_token: Some(refresh.into()),
        refresh_token_is_new: true,
        new_grant,
        ..issued(access, Some(grant))
    }
}

/// `consume_and_save` checks the token's grant in the `UPDATE` that
/// spends the credential, and falls back to telling the cases apart when
/// that changes nothing: each answer, and what it leaves, as before.
#[test]
fn a_spend_and_save_answers_for_each_state_of_the_grant() {
    use oauth2_provider::validator::Consumed;
    let file = File::new("spend-grant");
    let store = open(&file);
    let r = request();
    let spend = |refresh_token| Consumed::RefreshToken { refresh_token };
    store
        .save_bearer_token(&rotated("a0", "r0", "g1", true), &r)
        .expect("the first save starts g1");

    // Live grant: spent and saved in one go; a second spend finds it spent.
    assert_eq!(
        store.consume_and_save(spend("r0"), &rotated("a1", "r1", "g1", false), &r),
        Ok(true)
    );
    assert!(opens(&store, "a1"));
    assert_eq!(
        store.consume_and_save(spend("r0"), &rotated("a2", "r2", "g1", false), &r),
        Ok(false)
    );
    assert!(
        !opens(&store, "a2"),
        "a spent token's second save was stored"
    );

    // Unknown grant that the token does not start: refused, r1 unspent.
    assert_eq!(
        store.consume_and_save(spend("r1"), &rotated("a3", "r3", "g-none", false), &r),
        Err(grant_ended())
    );
    assert!(!opens(&store, "a3"));
    // Unknown grant that the token starts: recorded, and r1 spent.
    assert_eq!(
        store.consume_and_save(spend("r1"), &rotated("a4", "r4", "g2", true), &r),
        Ok(true)
    );
    assert!(opens(&store, "a4"));

    // Revoked grant: refused, r4 unspent, so a save in a live grant
    // still spends it.
    store.revoke_grant("g2", &r).expect("revoke g2");
    assert_eq!(
        store.consume_and_save(spend("r4"), &rotated("a5", "r5", "g2", false), &r),
        Err(grant_ended())
    );
    assert!(!opens(&store, "a5"));
    assert_eq!(
        store.consume_and_save(spend("r4"), &rotated("a6", "r6", "g1", false), &r),
        Ok(true)
    );

    // A collision on the first path's insert rolls its spend back too.
    assert_eq!(
        store.consume_and_save(spend("r6"), &rotated("a1", "r7", "g1", false), &r),
        Err(token_collision())
    );
    assert_eq!(
        store.consume_and_save(spend("r6"), &rotated("a7", "r7", "g1", false), &r),
        Ok(true)
    );
}
