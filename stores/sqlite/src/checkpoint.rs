//! The write-ahead log's checkpoints, off the request path.
//!
//! SQLite's own autocheckpoint runs in the thread whose commit crosses
//! the mark: that request (and, as it holds the store's write turn, every
//! request queued behind it) waits for the copy of thousands of pages and
//! two `fsync`s, 4–47 ms on a shared disk. Here connections run with
//! `wal_autocheckpoint=0` and a write-ahead log hook ([`on_commit`]) that
//! only notes the log's length; after its commit the store tells its
//! [`Checkpointer`], a thread with a connection of its own, which copies
//! the log into the file once it has grown by [`CHECKPOINT_PAGES`].
//!
//! A `PASSIVE` checkpoint never blocks a writer, so under a steady stream
//! of commits it never quite catches up (each round leaves the frames
//! committed while it synced), and the log is only rewound from its start
//! by a writer that finds it wholly copied: left alone, the file would
//! grow without bound. Once the log passes [`RESTART_PAGES`], the
//! checkpointer takes the store's write turn (this process's writers
//! queue on the mutex, as they do behind each other) and runs a `RESTART`
//! checkpoint: it copies the few frames the `PASSIVE` round left, waits
//! (briefly) for readers to leave the log, and the next commit rewinds it.
//! That stall is one short checkpoint every few thousand commits instead
//! of a long one, and `journal_size_limit` then trims the file. No
//! `RESTART` is tried while a reader that stays (another connection's
//! open transaction, a backup) keeps more than [`RESTART_LAG`] pages
//! from being copied: it would hold the write turn only to wait for that
//! reader and fail.
//!
//! Should the thread fall behind anyway (starved of CPU, or a checkpoint
//! failing), the commit that takes the log past [`INLINE_PAGES`]
//! checkpoints in its own thread as SQLite's autocheckpoint would: the
//! old behaviour, as a backstop. A reader that keeps an old snapshot open
//! keeps the log from being copied past it, by any of these; the log
//! then grows until that reader ends, as with SQLite's own checkpoints.
//!
//! A checkpoint that fails (`SQLITE_BUSY`: another connection is
//! checkpointing, or readers stayed) is retried after [`RETRY_AFTER`] or
//! at the next wake-up; no request sees it. Several stores or processes
//! on one file each run a checkpointer: SQLite lets one checkpoint at a
//! time, and the others' are busy, retried later.

use std::cell::Cell;
use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::hooks::{CheckpointMode, Wal};
use rusqlite::Connection;

use crate::{lock, StoreError};

/// Pages of log, beyond its length at the last round, after which the
/// checkpointer copies them into the database file (SQLite's default
/// autocheckpoint: 1,000). Fewer, larger checkpoints copy a page changed
/// by many commits once; what it costs: a power loss can take up to about
/// this many pages of last commits (see
/// [Durability](crate#durability)), and opening the file after a crash
/// reads that much log to rebuild its index. 8,000 rather than 4,000:
/// a round's copy and `fsync`s slow the requests running beside it (on
/// two cores, `benches/latency.sh` at 5,000 requests/s: p99 17–19 times
/// the p50 with 4,000, 6–8 times with 8,000, 4–6 with 16,000; none
/// checkpointing at all, 3), so fewer rounds slow fewer requests, and
/// the log file is trimmed back to 66 MB after a rewind
/// ([`LOG_SIZE_KEPT`]).
pub(crate) const CHECKPOINT_PAGES: u32 = 8000;

/// Pages of log after which the checkpointer, its `PASSIVE` round done,
/// takes the write turn for a `RESTART` one so that the log is rewound
/// (see the [module](self)): twice [`CHECKPOINT_PAGES`], so that such a
/// stall comes once every other round.
pub(crate) const RESTART_PAGES: u32 = 2 * CHECKPOINT_PAGES;

/// Pages of log a `PASSIVE` round may leave uncopied and still be
/// followed by a `RESTART`: what the snapshots of requests' short read
/// transactions hold back. A reader further behind is one that stays
/// (another connection's open transaction, a backup): a `RESTART` would
/// wait for it, the store's write turn held, and fail.
pub(crate) const RESTART_LAG: u32 = 1000;

/// Pages of log past which a commit checkpoints in its own thread, the
/// checkpointer having fallen behind.
pub(crate) const INLINE_PAGES: u32 = 4 * CHECKPOINT_PAGES;

/// The log file's size kept after it is rewound (`journal_size_limit`,
/// in bytes): [`RESTART_PAGES`] frames of 4 KiB pages (each frame has a
/// 24-byte header), so that a log that grew past it (a reader held it
/// back) shrinks again, and one that did not is not shortened and
/// regrown on each round.
pub(crate) const LOG_SIZE_KEPT: i64 = RESTART_PAGES as i64 * (4096 + 24);

/// How long the checkpointer waits before trying again after a
/// checkpoint that failed or could not finish, when no commit wakes it
/// sooner.
const RETRY_AFTER: Duration = Duration::from_millis(100);

/// How long the checkpointer's connection waits for a lock (SQLite's
/// busy handler): a `RESTART` waits for the readers in the log with the
/// store's write turn held, so not long; it is retried later instead.
const CHECKPOINT_BUSY_TIMEOUT: Duration = Duration::from_millis(20);

thread_local! {
    /// What [`on_commit`] saw at this thread's last commit: the log's
    /// length in pages, and whether it checkpointed there. Read and reset
    /// by [`Checkpointer::committed`] after the commit.
    static LAST_COMMIT: Cell<(u32, bool)> = const { Cell::new((0, false)) };
}

/// The write-ahead log hook of every connection (SQLite calls it in the
/// committing thread, after the commit, its locks released): notes the
/// log's length, and checkpoints there only past [`INLINE_PAGES`].
/// Answers `Ok` whatever happens: an error would be the committing
/// statement's, and the transaction is already committed.
pub(crate) fn on_commit(wal: &Wal, pages: c_int) -> rusqlite::Result<()> {
    let pages = u32::try_from(pages).unwrap_or(0);
    let inline = pages >= INLINE_PAGES;
    if inline {
        // What SQLite's autocheckpoint does; a failure (busy: the
        // checkpointer is at work) is left to the next commit.
        let _ = wal.checkpoint_v2(CheckpointMode::PASSIVE);
    }
    LAST_COMMIT.with(|last| last.set((pages, inline)));
    Ok(())
}

/// What a store's checkpoints did since it was opened
/// ([`SqliteStore::checkpoint_stats`](crate::SqliteStore::checkpoint_stats)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckpointStats {
    /// Checkpoints run by the background thread (`PASSIVE` and
    /// `RESTART`), finished or not.
    pub background: u64,
    /// Of those, how many could not finish (`SQLITE_BUSY`, readers in the
    /// way, or another error) and were retried later.
    pub retried: u64,
    /// `RESTART` checkpoints that finished: the next commit rewinds the
    /// log.
    pub restarts: u64,
    /// Commits of this store that checkpointed in their own thread, the
    /// log having passed 32,000 pages (a backstop; 0 when the thread
    /// keeps up).
    pub inline: u64,
}

/// What the store's threads and its checkpointer share.
#[derive(Default)]
struct Shared {
    /// Guards nothing but the condition variable's waits.
    mutex: Mutex<()>,
    wake: Condvar,
    /// A commit asked for a checkpoint.
    wanted: AtomicBool,
    /// The store is dropping: the thread ends.
    stop: AtomicBool,
    /// The log's length in pages at the last round (0 once the log was
    /// seen rewound): the thread is woken again [`CHECKPOINT_PAGES`]
    /// later, also when a reader kept that round from copying it all.
    last_log: AtomicU32,
    background: AtomicU64,
    retried: AtomicU64,
    restarts: AtomicU64,
    inline: AtomicU64,
}

impl Shared {
    fn signal(&self, flag: &AtomicBool) {
        flag.store(true, Ordering::Release);
        // Taken so that the thread cannot miss it between its check of
        // the flags and its wait.
        let _guard = lock(&self.mutex);
        self.wake.notify_one();
    }
}

/// A store's checkpoint thread; stopped and joined when dropped.
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread, which checkpoints over `conn` and takes
    /// `writers` (the store's write turn) for its `RESTART`s.
    pub(crate) fn start(conn: Connection, writers: Arc<Mutex<()>>) -> Result<Self, StoreError> {
        conn.busy_timeout(CHECKPOINT_BUSY_TIMEOUT)?;
        let shared = Arc::new(Shared::default());
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("sqlite-checkpoint".into())
                .spawn(move || run(&shared, &conn, &writers))
                .map_err(|_| {
                    StoreError::InvalidRecord("the checkpoint thread could not be started")
                })?
        };
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// Called by the store after each of its connections' statements
    /// that may have committed: wakes the thread when the log has grown
    /// by [`CHECKPOINT_PAGES`] since its last round. Costs a thread-local
    /// read when nothing was committed.
    pub(crate) fn committed(&self) {
        let (pages, inline) = LAST_COMMIT.with(|last| last.replace((0, false)));
        if pages == 0 {
            return;
        }
        if inline {
            self.shared.inline.fetch_add(1, Ordering::Relaxed);
        }
        let mut last_log = self.shared.last_log.load(Ordering::Relaxed);
        if pages < last_log {
            // The log was rewound since that round.
            self.shared.last_log.store(0, Ordering::Relaxed);
            last_log = 0;
        }
        if pages - last_log >= CHECKPOINT_PAGES && !self.shared.wanted.load(Ordering::Relaxed) {
            self.shared.signal(&self.shared.wanted);
        }
    }

    pub(crate) fn stats(&self) -> CheckpointStats {
        let s = &self.shared;
        CheckpointStats {
            background: s.background.load(Ordering::Relaxed),
            retried: s.retried.load(Ordering::Relaxed),
            restarts: s.restarts.load(Ordering::Relaxed),
            inline: s.inline.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.signal(&self.shared.stop);
        if let Some(thread) = self.thread.take() {
            // A panic in the thread has nothing left to clean: its
            // connection was dropped as it unwound.
            let _ = thread.join();
        }
    }
}

/// The thread: waits for a commit's call (or a retry's time), then runs
/// a round; ends when the store drops, closing its connection.
fn run(shared: &Shared, conn: &Connection, writers: &Mutex<()>) {
    let mut retry = false;
    loop {
        {
            let mut guard = lock(&shared.mutex);
            loop {
                if shared.stop.load(Ordering::Acquire) {
                    return;
                }
                if shared.wanted.swap(false, Ordering::AcqRel) {
                    break;
                }
                if retry {
                    let (next, timeout) = shared
                        .wake
                        .wait_timeout(guard, RETRY_AFTER)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    guard = next;
                    if timeout.timed_out() {
                        break;
                    }
                } else {
                    guard = shared
                        .wake
                        .wait(guard)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            }
        }
        retry = !round(shared, conn, writers);
    }
}

/// One round: a `PASSIVE` checkpoint, then, the log being past
/// [`RESTART_PAGES`] and copied but for [`RESTART_LAG`], a `RESTART` one holding the
/// store's write turn. Whether it finished (false: retry later).
fn round(shared: &Shared, conn: &Connection, writers: &Mutex<()>) -> bool {
    let Some(Progress { log, copied }) = checkpoint(shared, conn, "PASSIVE") else {
        return false;
    };
    if log - copied.min(log) > RESTART_LAG {
        // A reader's old snapshot kept much of the log from being copied:
        // a `RESTART` would wait for that reader with the write turn
        // held, stalling every writer for its busy timeout, round after
        // round. Tried again after `RETRY_AFTER`, or once the log has
        // grown by another `CHECKPOINT_PAGES`.
        shared.retried.fetch_add(1, Ordering::Relaxed);
        return false;
    }
    if log < RESTART_PAGES {
        return true;
    }
    let _turn = lock(writers);
    if checkpoint(shared, conn, "RESTART").is_none() {
        return false;
    }
    shared.restarts.fetch_add(1, Ordering::Relaxed);
    true
}

/// What a checkpoint that finished saw: the log's length and how much of
/// it is copied into the database file, in pages.
struct Progress {
    log: u32,
    copied: u32,
}

/// Runs one checkpoint of `mode`; what it saw if it finished, `None` if
/// it did not (counted as retried).
fn checkpoint(shared: &Shared, conn: &Connection, mode: &str) -> Option<Progress> {
    shared.background.fetch_add(1, Ordering::Relaxed);
    // One row: busy (1 if it could not finish), the log's pages, the
    // pages copied (-1 each when not in WAL mode).
    let result = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, i64>(2)?,
        ))
    });
    match result {
        Ok((0, log, copied)) => {
            let log = u32::try_from(log).unwrap_or(0);
            shared.last_log.store(log, Ordering::Relaxed);
            Some(Progress {
                log,
                copied: u32::try_from(copied).unwrap_or(0),
            })
        }
        _ => {
            shared.retried.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}
