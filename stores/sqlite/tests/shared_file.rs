//! Two stores on one file, as two processes (or two pools) would share
//! it: single use holds across them, a revocation through one is seen by
//! the other, and what was issued survives closing and reopening.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use common::{add_clients, code, exchange, json, opens, post, server, token, tokens, TempDb};
use common::{APP, WEB};
use oauth2_provider_sqlite::SqliteStore;

fn two_servers(db: &TempDb) -> [Arc<oauth2_provider::Server<SqliteStore>>; 2] {
    let first = SqliteStore::open(db.path()).expect("open the first");
    add_clients(&first);
    let second = SqliteStore::open(db.path()).expect("open the second");
    [Arc::new(server(first)), Arc::new(server(second))]
}

#[test]
fn racing_exchanges_of_one_code_through_two_stores_succeed_once() {
    let db = TempDb::new("race");
    let servers = two_servers(&db);
    for round in 0..4 {
        let code = code(&servers[round % 2], APP.0);
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (server, barrier, code) = (
                    Arc::clone(&servers[i % 2]),
                    Arc::clone(&barrier),
                    code.clone(),
                );
                thread::spawn(move || {
                    barrier.wait();
                    exchange(&server, (APP.0, None), &code)
                })
            })
            .collect();
        let answers: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let won: Vec<_> = answers.iter().filter(|r| r.status == 200).collect();
        // Spending and saving are one transaction (consume_and_save): a
        // loser finds the code spent only once the winner's tokens are
        // saved, so exactly one wins.
        assert_eq!(won.len(), 1, "round {round}: {} winners", won.len());
        for r in answers.iter().filter(|r| r.status != 200) {
            assert_eq!(r.status, 400, "{}", r.body_str());
            assert_eq!(json(r, "error").as_deref(), Some("invalid_grant"));
        }
        // The losers' replays came from the code's client with its
        // verifier: they revoked the grant, the winner's token included.
        for r in won {
            let access = json(r, "access_token").unwrap();
            assert!(!opens(&servers[0], &access) && !opens(&servers[1], &access));
        }
    }
}

#[test]
fn a_revocation_through_one_store_is_seen_by_the_other() {
    let db = TempDb::new("revoke");
    let [a, b] = two_servers(&db);
    let web = (WEB.0, Some(WEB.1));
    let cc = [("grant_type", "client_credentials"), ("scope", "read")];
    let (access, _) = tokens(&token(&a, web, &cc));
    assert!(opens(&a, &access) && opens(&b, &access));
    let r = post(&b, "/revoke", web, &[("token", &access)]);
    assert_eq!(r.status, 200, "{}", r.body_str());
    assert!(!opens(&a, &access), "the other store still accepts it");

    // A refresh token rotated through one is reused through the other:
    // reuse detection revokes the grant in both.
    let login = [
        ("grant_type", "password"),
        ("username", common::ALICE.0),
        ("password", common::ALICE.1),
        ("scope", "read"),
    ];
    a.validator()
        .add_user(common::ALICE.0, common::ALICE.1)
        .unwrap();
    let (_, refresh1) = tokens(&token(&b, web, &login));
    let refresh1 = refresh1.unwrap();
    fn rotate(refresh: &str) -> [(&str, &str); 2] {
        [("grant_type", "refresh_token"), ("refresh_token", refresh)]
    }
    let (access2, refresh2) = tokens(&token(&a, web, &rotate(&refresh1)));
    let reuse = token(&b, web, &rotate(&refresh1));
    assert_eq!(json(&reuse, "error").as_deref(), Some("invalid_grant"));
    assert!(!opens(&a, &access2));
    let newest = token(&a, web, &rotate(&refresh2.unwrap()));
    assert_eq!(json(&newest, "error").as_deref(), Some("invalid_grant"));
}

#[test]
fn tokens_survive_closing_and_reopening_the_store() {
    let db = TempDb::new("reopen");
    let (access, refresh) = {
        let [a, b] = two_servers(&db);
        let code = code(&a, APP.0);
        let issued = tokens(&exchange(&b, (APP.0, None), &code));
        drop((a, b));
        issued
    };
    let reopened = server(SqliteStore::open(db.path()).expect("reopen"));
    assert!(opens(&reopened, &access), "the access token was lost");
    let r = token(
        &reopened,
        (APP.0, None),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh.expect("a refresh token")),
        ],
    );
    let (access2, _) = tokens(&r);
    assert!(opens(&reopened, &access2));
}
