//! Several processes on one file: the test binary runs itself as child
//! processes that open the store and race to exchange one code.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{add_clients, code, exchange, json, opens, server, token, TempDb, APP, WEB};
use oauth2_provider_sqlite::SqliteStore;

const DB: &str = "OAP_SQLITE_CHILD_DB";
const CODE: &str = "OAP_SQLITE_CHILD_CODE";

/// A child's part, a no-op unless the parent started this binary for it:
/// open the file, wait for the start signal, exchange the code (or, with
/// no code, get a client-credentials token), print the outcome.
#[test]
fn child() {
    let Ok(path) = std::env::var(DB) else { return };
    let server = server(SqliteStore::open(&path).expect("the child opens the file"));
    let go = PathBuf::from(format!("{path}.go"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !go.exists() {
        assert!(Instant::now() < deadline, "no start signal");
        std::thread::sleep(Duration::from_millis(1));
    }
    let response = match std::env::var(CODE) {
        Ok(code) => exchange(&server, (APP.0, None), &code),
        Err(_) => token(
            &server,
            (WEB.0, Some(WEB.1)),
            &[("grant_type", "client_credentials")],
        ),
    };
    let access = json(&response, "access_token").unwrap_or_default();
    println!("OAP-CHILD {} {access}", response.status);
}

/// Starts `n` children on `db`, gives the signal, and returns each one's
/// status and access token.
fn run_children(db: &TempDb, n: usize, code: Option<&str>) -> Vec<(u16, String)> {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..n)
        .map(|_| {
            let mut cmd = Command::new(&exe);
            cmd.args(["--exact", "child", "--nocapture", "--test-threads=1"])
                .env(DB, db.path())
                .env_remove(CODE)
                .stdout(Stdio::piped());
            if let Some(code) = code {
                cmd.env(CODE, code);
            }
            cmd.spawn().expect("start a child")
        })
        .collect();
    let go = PathBuf::from(format!("{}.go", db.path().display()));
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(&go, b"").unwrap();
    let outcomes = children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "a child failed");
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let line = text
                .lines()
                .find_map(|l| l.split_once("OAP-CHILD ").map(|(_, outcome)| outcome))
                .unwrap_or_else(|| panic!("no outcome in {text}"))
                .to_owned();
            let (status, access) = line.split_once(' ').unwrap_or((&line, ""));
            (status.parse().unwrap(), access.to_owned())
        })
        .collect();
    std::fs::remove_file(go).unwrap();
    outcomes
}

#[test]
fn processes_racing_for_one_code_get_at_most_one_set_of_tokens() {
    let db = TempDb::new("processes");
    let store = SqliteStore::open(db.path()).unwrap();
    add_clients(&store);
    let server = server(store);

    // What a child issues, this process accepts.
    for (status, access) in run_children(&db, 2, None) {
        assert_eq!(status, 200);
        assert!(opens(&server, &access), "another process's token");
    }

    let code = code(&server, APP.0);
    let outcomes = run_children(&db, 4, Some(&code));
    let won = outcomes.iter().filter(|(s, _)| *s == 200).count();
    // Spending and saving are one transaction: a loser finds the code
    // spent only once the winner's tokens are saved, so one wins.
    assert_eq!(won, 1, "{won} processes exchanged one code");
    assert!(outcomes.iter().all(|(s, _)| *s == 200 || *s == 400));
    // Every loser proved it was the code's client: the grant is revoked.
    for (_, access) in outcomes.iter().filter(|(s, _)| *s == 200) {
        assert!(!opens(&server, access));
    }
    // And this process sees the code as used.
    let r = exchange(&server, (APP.0, None), &code);
    assert_eq!(json(&r, "error").as_deref(), Some("invalid_grant"));
}
