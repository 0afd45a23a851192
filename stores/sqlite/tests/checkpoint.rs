//! The write-ahead log's checkpoints, run by the store's own thread: the
//! log stays bounded under a stream of commits, a checkpoint that cannot
//! finish is retried and never fails a request, and dropping the store
//! ends the thread and closes its connection.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{add_clients, server, token, tokens, TempDb, WEB};
use oauth2_provider_sqlite::SqliteStore;

/// Client-credentials token requests: each saves a token, one commit of
/// about one page of log.
const CC: [(&str, &str); 2] = [("grant_type", "client_credentials"), ("scope", "read")];

/// A frame of the log: a 4 KiB page and its 24-byte header.
const FRAME: u64 = 4096 + 24;

/// The store's backstop: past 32,000 pages of log (4 × its 8,000-page
/// checkpoint mark) a commit checkpoints in its own thread, so a log
/// written by one store's commits, without a reader holding it back,
/// stays under that, give or take what commits add while a checkpoint
/// runs. Without any checkpoint, [`SAVES`] token saves make a log of
/// about 60,000 frames (247 MB).
const LOG_BOUND: u64 = 40_000 * FRAME;

/// Token saves in the bounded-log test: enough for the log to pass the
/// backstop twice over had nothing checkpointed it.
const SAVES: usize = 60_000;

/// The store's checkpoint mark: the thread runs a round each time the log
/// has grown by this many pages.
const CHECKPOINT_FRAMES: u64 = 8_000;

/// The log's length at which the thread tries a `RESTART` (twice the
/// store's 8,000-page checkpoint mark), and to which `journal_size_limit`
/// trims the file after a rewind.
const RESTART_FRAMES: u64 = 16_000;

fn wal(path: &Path) -> PathBuf {
    let mut wal = path.to_owned().into_os_string();
    wal.push("-wal");
    wal.into()
}

fn wal_size(path: &Path) -> u64 {
    std::fs::metadata(wal(path)).map_or(0, |m| m.len())
}

#[test]
fn the_log_stays_bounded_under_thousands_of_commits() {
    let db = TempDb::new("bounded");
    let store = SqliteStore::open(db.path()).unwrap();
    add_clients(&store);
    let server = server(store);
    let web = (WEB.0, Some(WEB.1));
    let mut largest = 0;
    for i in 0..SAVES {
        tokens(&token(&server, web, &CC));
        if i % 500 == 0 {
            largest = largest.max(wal_size(db.path()));
        }
    }
    largest = largest.max(wal_size(db.path()));
    assert!(
        largest < LOG_BOUND,
        "the log reached {largest} bytes, over {LOG_BOUND}"
    );
    let stats = server.validator().checkpoint_stats();
    // The thread rewound the log (a RESTART every 16,000 pages); what
    // the backstop alone would bound at 32,000 pages stays near 16,000
    // in runs, which is not asserted: it depends on the thread
    // being scheduled in time.
    assert!(stats.restarts > 0, "{stats:?}");
}

#[test]
fn a_checkpoint_kept_from_finishing_is_retried_and_fails_no_request() {
    let db = TempDb::new("retried");
    let store = SqliteStore::open(db.path()).unwrap();
    add_clients(&store);
    let server = server(store);
    let web = (WEB.0, Some(WEB.1));
    // A reader in another connection keeps a snapshot open: no
    // checkpoint can copy the log past it, and a RESTART (which waits
    // for the readers to leave the log) cannot finish.
    let reader = rusqlite::Connection::open(db.path()).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let _: i64 = reader
        .query_row("SELECT count(*) FROM clients", [], |row| row.get(0))
        .unwrap();
    let mut sent = 0;
    // Bounded by a count, not a time: the thread is woken every 8,000
    // pages of log.
    while server.validator().checkpoint_stats().retried == 0 {
        assert!(sent < 200_000, "no checkpoint was kept from finishing");
        // Every request succeeds while the checkpoints fail.
        tokens(&token(&server, web, &CC));
        sent += 1;
    }
    let held_back = wal_size(db.path());
    assert!(
        held_back > CHECKPOINT_FRAMES * FRAME,
        "the log was {held_back} bytes"
    );
    // Past the RESTART mark with the reader still there: the thread must
    // not try a RESTART round after round (each would hold the write turn
    // for its busy timeout, waiting for the reader). Its rounds are one per
    // 8,000 pages plus one per 100 ms retry, whatever the machine's speed.
    let before = server.validator().checkpoint_stats();
    let started = Instant::now();
    for _ in 0..12_000 {
        tokens(&token(&server, web, &CC));
    }
    let rounds = server.validator().checkpoint_stats().background - before.background;
    let allowed = 12_000 / CHECKPOINT_FRAMES + started.elapsed().as_millis() as u64 / 100 + 4;
    assert!(
        rounds <= allowed,
        "{rounds} checkpoint rounds while a reader held the log, over {allowed}"
    );
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    // The reader gone, a RESTART finishes, the next commit rewinds the log
    // and `journal_size_limit` trims the file back to 16,000 frames.
    let restarts = server.validator().checkpoint_stats().restarts;
    let mut more = 0;
    while server.validator().checkpoint_stats().restarts == restarts
        || wal_size(db.path()) > RESTART_FRAMES * FRAME
    {
        assert!(more < 200_000, "the log was never rewound");
        tokens(&token(&server, web, &CC));
        more += 1;
    }
}

#[test]
fn dropping_the_store_joins_its_thread_and_closes_every_connection() {
    let db = TempDb::new("joined");
    for round in 0..3 {
        let store = SqliteStore::open(db.path()).unwrap();
        if round == 0 {
            add_clients(&store);
        }
        let server = server(store);
        for _ in 0..100 {
            tokens(&token(&server, (WEB.0, Some(WEB.1)), &CC));
        }
        assert!(wal_size(db.path()) > 0);
        drop(server);
        // The last connection to close checkpoints the log and deletes
        // it: had the thread (or its connection) outlived the store, the
        // log would still be there.
        assert!(
            !wal(db.path()).exists(),
            "a connection outlived the store (round {round})"
        );
    }
}

#[test]
fn an_in_memory_store_has_no_checkpoints() {
    let store = SqliteStore::open_in_memory().unwrap();
    add_clients(&store);
    let server = server(store);
    tokens(&token(&server, (WEB.0, Some(WEB.1)), &CC));
    assert_eq!(
        server.validator().checkpoint_stats(),
        oauth2_provider_sqlite::CheckpointStats::default()
    );
}
