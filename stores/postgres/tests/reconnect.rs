//! A lost connection or a database that goes away: the requests in
//! flight get `server_error`, never half a write, and the same store
//! serves again once the database is back, without being rebuilt.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{add_clients, code, exchange, json, opens, post, server, TestDb, WEB};
use oauth2_provider::{ErrorCode, RequestValidator};

fn client_credentials(
    s: &oauth2_provider::Server<oauth2_provider_postgres::PostgresStore>,
) -> oauth2_provider::Response {
    post(
        s,
        "/token",
        (WEB.0, Some(WEB.1)),
        &[("grant_type", "client_credentials"), ("scope", "read")],
    )
}

#[test]
fn connections_killed_between_requests_are_replaced_unseen() {
    let db = TestDb::new("killidle");
    let errors = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&errors);
    let store = db.store().on_error(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    add_clients(&store);
    let server = Arc::new(server(store));
    // Several pooled connections, all idle.
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let server = Arc::clone(&server);
            thread::spawn(move || client_credentials(&server))
        })
        .collect();
    let issued: Vec<String> = handles
        .into_iter()
        .map(|h| json(&h.join().unwrap(), "access_token").expect("a token"))
        .collect();
    assert!(db.terminate_connections() >= 1);
    // Every dead connection is found at its first statement and the
    // work sent again on a new one: no request fails.
    for access in &issued {
        assert!(opens(&server, access));
    }
    let r = client_credentials(&server);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert_eq!(errors.load(Ordering::SeqCst), 0);
}

#[test]
fn an_outage_answers_server_error_then_the_same_store_serves_again() {
    let db = TestDb::new("outage");
    let errors = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&errors);
    let store = db.store().on_error(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    add_clients(&store);
    let server = server(store);
    let access = json(&client_credentials(&server), "access_token").unwrap();

    // The database goes away: no connection can be had.
    db.allow_connections(false);
    db.terminate_connections();
    let started = Instant::now();
    let r = client_credentials(&server);
    assert_eq!(r.status, 500, "{}", r.body_str());
    assert_eq!(json(&r, "error").as_deref(), Some("server_error"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "an outage answered after {:?}",
        started.elapsed()
    );
    let request = common::request(1_800_000_000);
    let e = server
        .validator()
        .validate_bearer_token(&access, &[], &request)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServerError);
    assert!(errors.load(Ordering::SeqCst) >= 2, "the hook was not told");

    // It is back: the same store serves, and nothing issued was lost.
    db.allow_connections(true);
    assert!(opens(&server, &access));
    let r = client_credentials(&server);
    assert_eq!(r.status, 200, "{}", r.body_str());
}

#[test]
fn a_connection_lost_mid_exchange_spends_nothing_and_saves_nothing() {
    let db = TestDb::new("midtx");
    let store = db.store();
    add_clients(&store);
    let server = Arc::new(server(store));
    let code = code(&server);

    // Another session holds the code's row: the exchange, inside its
    // transaction (grant row locked), waits at the spend.
    let mut holder = db.client();
    let mut hold = holder.transaction().unwrap();
    hold.execute("SELECT 1 FROM oauth2_codes FOR UPDATE", &[])
        .unwrap();
    let exchanging = {
        let (server, code) = (Arc::clone(&server), code.clone());
        thread::spawn(move || exchange(&server, &code))
    };
    let mut watch = db.client();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = watch
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                 AND application_name = 'oauth2-provider' AND wait_event_type = 'Lock'",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the exchange never reached the spend"
        );
        thread::sleep(Duration::from_millis(20));
    }
    // Its connection is lost there, as in a database crash.
    assert!(db.terminate_connections() >= 1);
    let r = exchanging.join().unwrap();
    assert_eq!(r.status, 500, "{}", r.body_str());
    assert_eq!(json(&r, "error").as_deref(), Some("server_error"));
    hold.rollback().unwrap();

    // Nothing of it was written: no token, the code unspent, its grant
    // live. The client's retry succeeds, once.
    let tokens: i64 = watch
        .query_one("SELECT count(*) FROM oauth2_access_tokens", &[])
        .unwrap()
        .get(0);
    assert_eq!(tokens, 0);
    let r = exchange(&server, &code);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert!(opens(&server, &json(&r, "access_token").unwrap()));
    let replay = exchange(&server, &code);
    assert_eq!(json(&replay, "error").as_deref(), Some("invalid_grant"));
}
