//! Rough throughput of a file store, printed, not asserted: run with
//! `cargo test --release -p oauth2-provider-sqlite --test throughput -- --ignored --nocapture`.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{add_clients, opens, server, token, tokens, TempDb, WEB};
use oauth2_provider_sqlite::SqliteStore;

fn rate(what: &str, n: usize, threads: usize, f: impl Fn() + Send + Sync + 'static) {
    let f = Arc::new(f);
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let f = Arc::clone(&f);
            std::thread::spawn(move || (0..n / threads).for_each(|_| f()))
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    let elapsed = start.elapsed();
    println!(
        "{what:<40} {threads} threads: {:>8.0}/s ({:.1} µs each)",
        n as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / n as f64
    );
}

#[test]
#[ignore = "a measurement, not a check"]
fn throughput() {
    let db = TempDb::new("throughput");
    let store = SqliteStore::open(db.path()).unwrap();
    add_clients(&store);
    let server = Arc::new(server(store));
    let web = (WEB.0, Some(WEB.1));
    let cc = [("grant_type", "client_credentials"), ("scope", "read")];
    let (access, _) = tokens(&token(&server, web, &cc));
    for threads in [1, 8] {
        let s = Arc::clone(&server);
        rate("client credentials token", 4000, threads, move || {
            assert_eq!(token(&s, web, &cc).status, 200);
        });
        let (s, a) = (Arc::clone(&server), access.clone());
        rate("bearer check", 40000, threads, move || {
            assert!(opens(&s, &a));
        });
    }
    let start = Instant::now();
    server.validator().add_user("u", "p").unwrap();
    println!(
        "add_user (PBKDF2, 600,000 iterations): {:?}",
        start.elapsed()
    );
    let start = Instant::now();
    assert!(server.validator().check_user("u", "p").unwrap());
    println!("check_user: {:?}", start.elapsed());
}
