//! The store's checkpoint thread ends with the store: a binary of its
//! own, so that no other test's threads change the count.

mod common;

use common::TempDb;
use oauth2_provider_sqlite::SqliteStore;

/// The threads of this process, from `/proc` (Linux).
fn threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line["Threads:".len()..].trim().parse().ok()
}

#[test]
fn a_file_store_runs_one_thread_and_dropping_it_joins_it() {
    let Some(before) = threads() else {
        eprintln!("no /proc/self/status: nothing to count");
        return;
    };
    let db = TempDb::new("thread");
    let stores: Vec<SqliteStore> = (0..3)
        .map(|_| SqliteStore::open(db.path()).unwrap())
        .collect();
    assert_eq!(threads(), Some(before + 3), "one thread a store");
    let memory = SqliteStore::open_in_memory().unwrap();
    assert_eq!(threads(), Some(before + 3), "none for an in-memory store");
    drop(memory);
    drop(stores);
    // Joined in the drop: gone now, not some time later.
    assert_eq!(threads(), Some(before));
}
