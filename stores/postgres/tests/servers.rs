//! Several stores over one database, as several servers behind a load
//! balancer: single use holds across them under racing requests, reuse
//! detected through one revokes the grant for all, a revocation through
//! one is seen by the next request through another.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use common::{add_clients, code, exchange, json, opens, post, refresh, server, TestDb, APP};
use oauth2_provider::Server;
use oauth2_provider_postgres::PostgresStore;

fn servers(db: &TestDb, n: usize) -> Vec<Arc<Server<PostgresStore>>> {
    (0..n)
        .map(|_| {
            let store = db.store();
            add_clients(&store);
            Arc::new(server(store))
        })
        .collect()
}

/// Runs `f(server)` on `threads` threads at once, spread over `servers`.
fn race<T: Send + 'static>(
    servers: &[Arc<Server<PostgresStore>>],
    threads: usize,
    f: impl Fn(&Server<PostgresStore>) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(threads));
    let f = Arc::new(f);
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (server, barrier, f) = (
                Arc::clone(&servers[i % servers.len()]),
                Arc::clone(&barrier),
                Arc::clone(&f),
            );
            thread::spawn(move || {
                barrier.wait();
                f(&server)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn racing_exchanges_of_one_code_across_servers_succeed_once() {
    let db = TestDb::new("xcode");
    let servers = servers(&db, 3);
    for round in 0..6 {
        let code = code(&servers[round % 3]);
        let answers = race(&servers, 9, move |s| exchange(s, &code));
        let won: Vec<_> = answers.iter().filter(|r| r.status == 200).collect();
        assert_eq!(won.len(), 1, "round {round}: {} winners", won.len());
        for r in answers.iter().filter(|r| r.status != 200) {
            assert_eq!(r.status, 400, "{}", r.body_str());
            assert_eq!(json(r, "error").as_deref(), Some("invalid_grant"));
        }
        // The losers' replays revoked the grant, the winner's token
        // included, on every server.
        let access = json(won[0], "access_token").unwrap();
        assert!(servers.iter().all(|s| !opens(s, &access)));
    }
}

#[test]
fn racing_refreshes_across_servers_rotate_once() {
    let db = TestDb::new("xrefresh");
    let servers = servers(&db, 3);
    for round in 0..6 {
        let first = exchange(&servers[0], &code(&servers[1]));
        assert_eq!(first.status, 200, "{}", first.body_str());
        let token = json(&first, "refresh_token").unwrap();
        let answers = race(&servers, 9, move |s| refresh(s, &token));
        let won: Vec<_> = answers.iter().filter(|r| r.status == 200).collect();
        assert_eq!(won.len(), 1, "round {round}: {} winners", won.len());
        // The losers are reuse: the grant is revoked everywhere, so no
        // set of tokens stays live.
        let access = json(won[0], "access_token").unwrap();
        let newest = json(won[0], "refresh_token").unwrap();
        assert!(servers.iter().all(|s| !opens(s, &access)));
        let r = refresh(&servers[2], &newest);
        assert_eq!(json(&r, "error").as_deref(), Some("invalid_grant"));
    }
}

#[test]
fn a_revocation_through_one_server_fails_the_token_on_the_next_request_to_another() {
    let db = TestDb::new("xrevoke");
    let servers = servers(&db, 2);
    let r = exchange(&servers[0], &code(&servers[0]));
    let access = json(&r, "access_token").unwrap();
    let refresh_token = json(&r, "refresh_token").unwrap();
    assert!(opens(&servers[1], &access));
    let r = post(&servers[1], "/revoke", (APP.0, None), &[("token", &access)]);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert!(!opens(&servers[0], &access));
    // Revoking the refresh token through one ends the grant on the other.
    let r = refresh(&servers[1], &refresh_token);
    let (access2, refresh2) = (
        json(&r, "access_token").unwrap(),
        json(&r, "refresh_token").unwrap(),
    );
    let r = post(
        &servers[0],
        "/revoke",
        (APP.0, None),
        &[("token", &refresh2)],
    );
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert!(!opens(&servers[1], &access2));
    let r = refresh(&servers[1], &refresh2);
    assert_eq!(json(&r, "error").as_deref(), Some("invalid_grant"));
}

#[test]
fn racing_revocations_and_refreshes_leave_no_live_token_of_a_revoked_grant() {
    let db = TestDb::new("xrr");
    let servers = servers(&db, 2);
    for round in 0..10 {
        let r = exchange(&servers[0], &code(&servers[0]));
        let token = json(&r, "refresh_token").unwrap();
        let turn = AtomicUsize::new(0);
        let answers = race(&servers, 4, move |s| {
            // Half refresh, half revoke the same refresh token.
            if turn.fetch_add(1, Ordering::SeqCst) % 2 == 0 {
                (false, refresh(s, &token))
            } else {
                (
                    true,
                    post(s, "/revoke", (APP.0, None), &[("token", &token)]),
                )
            }
        });
        // Revocation always succeeds (RFC 7009), and revokes the grant
        // whichever request came first: no token a refresh issued may
        // work afterwards.
        for (revocation, r) in &answers {
            if *revocation {
                assert_eq!(r.status, 200, "{}", r.body_str());
            } else if let Some(access) = json(r, "access_token") {
                assert!(
                    servers.iter().all(|s| !opens(s, &access)),
                    "round {round}: a token of a revoked grant lives"
                );
            }
        }
    }
}
