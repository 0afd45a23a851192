//! A token request in one transaction
//! ([`RequestValidator::token_request`](oauth2_provider::RequestValidator::token_request)):
//! the client and code (or refresh token) lookups and the write of an
//! authorization code exchange, a refresh or a client-credentials request
//! share one `BEGIN IMMEDIATE` transaction instead of taking two read
//! transactions and a write one; so do a device's poll's lookup and its
//! record (pending) or the spend of its device code and the save
//! (approved). Each SQLite transaction takes and drops
//! shared-memory locks of the log's index (`fcntl`, 2 to 4 a transaction),
//! which were about a sixth of an exchange's time.
//!
//! The request's connection is lent to its thread for the duration: the
//! store's methods called by the request's flow find it here (by the
//! store's address) and run on it: reads inside the transaction, writes
//! each all or nothing within it ([`write_in_request`]).

use std::cell::RefCell;

use oauth2_provider::OAuthError;
use rusqlite::Connection;

use crate::{connect, lock, Connections, Db, SqliteStore, StoreError};

/// The connection of the token request this thread is running, and the
/// address of its store.
struct Lent {
    store: usize,
    conn: Connection,
    /// Whether a write has been done in the request's transaction (a
    /// later one runs in a savepoint, so that its failure keeps it).
    wrote: bool,
    /// Set when a failed write could not be undone: the transaction may
    /// hold half of it, and is rolled back whole at the request's end;
    /// later writes are refused.
    poisoned: bool,
}

thread_local! {
    static LENT: RefCell<Option<Lent>> = const { RefCell::new(None) };
}

fn id(store: &SqliteStore) -> usize {
    std::ptr::from_ref(store) as usize
}

/// Whether this thread is running a token request of `store`.
pub(crate) fn in_request(store: &SqliteStore) -> bool {
    LENT.with(|lent| {
        lent.borrow()
            .as_ref()
            .is_some_and(|lent| lent.store == id(store))
    })
}

/// Runs `f` on the connection of this thread's token request of `store`;
/// hands `f` back when there is none.
pub(crate) fn with_request_conn<T, F: FnOnce(&mut Connection) -> T>(
    store: &SqliteStore,
    f: F,
) -> Result<T, F> {
    LENT.with(|lent| match lent.borrow_mut().as_mut() {
        Some(lent) if lent.store == id(store) => Ok(f(&mut lent.conn)),
        _ => Err(f),
    })
}

/// Runs the write `f` within this thread's token request of `store`, all
/// or nothing: the request's first write directly in its transaction
/// (a failure rolls it back, nothing having been written before, and
/// begins a new one for the rest of the request), a later one in a
/// savepoint (rolled back to on failure; a savepoint costs a copy of each
/// page it changes). Hands `f` back when there is no such request.
pub(crate) fn write_in_request<T, E: From<StoreError>, F: FnOnce(&Connection) -> Result<T, E>>(
    store: &SqliteStore,
    f: F,
) -> Result<Result<T, E>, F> {
    LENT.with(|lent| {
        let mut lent = lent.borrow_mut();
        let lent = match lent.as_mut() {
            Some(lent) if lent.store == id(store) => lent,
            _ => return Err(f),
        };
        if lent.poisoned {
            return Ok(Err(StoreError::InvalidRecord(
                "an earlier write of this request could not be undone",
            )
            .into()));
        }
        let conn = &lent.conn;
        if !lent.wrote {
            let out = f(conn);
            if out.is_ok() {
                lent.wrote = true;
            } else {
                // SQLite may have rolled back already (after some I/O
                // errors); the request continues in a new transaction.
                let rolled_back = conn.is_autocommit() || conn.execute_batch("ROLLBACK").is_ok();
                if !rolled_back || conn.execute_batch("BEGIN IMMEDIATE").is_err() {
                    lent.poisoned = true;
                }
            }
            return Ok(out);
        }
        let savepoint = match Savepoint::begin(conn) {
            Ok(savepoint) => savepoint,
            Err(e) => return Ok(Err(e.into())),
        };
        Ok(match f(conn) {
            Ok(value) => match savepoint.release() {
                Ok(()) => Ok(value),
                Err(e) => {
                    // The write stays in the transaction while reported
                    // failed: the request must not commit it.
                    lent.poisoned = true;
                    Err(e.into())
                }
            },
            Err(e) => {
                if !savepoint.undo() {
                    lent.poisoned = true;
                }
                Err(e)
            }
        })
    })
}

/// A savepoint within a token request's transaction.
struct Savepoint<'c> {
    conn: &'c Connection,
}

impl<'c> Savepoint<'c> {
    fn begin(conn: &'c Connection) -> Result<Self, StoreError> {
        conn.prepare_cached("SAVEPOINT store_write")
            .db()?
            .execute([])
            .db()?;
        Ok(Savepoint { conn })
    }

    fn release(self) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("RELEASE store_write")
            .db()?
            .execute([])
            .db()?;
        Ok(())
    }

    /// Rolls back to the savepoint and releases it; whether that worked.
    fn undo(self) -> bool {
        self.conn
            .execute_batch("ROLLBACK TO store_write; RELEASE store_write")
            .is_ok()
    }
}

/// Takes the lent connection back (at the end of a request, or when it
/// unwinds), with whether it is poisoned.
fn take_back() -> Option<(Connection, bool)> {
    LENT.with(|lent| lent.borrow_mut().take())
        .map(|lent| (lent.conn, lent.poisoned))
}

/// Ends the request's transaction if it unwinds before its commit, and
/// returns its connection to the pool.
struct Unwind<'s> {
    store: &'s SqliteStore,
    armed: bool,
}

impl Drop for Unwind<'_> {
    fn drop(&mut self) {
        if self.armed {
            if let Some((conn, _)) = take_back() {
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                self.store.give_back(conn);
            }
        }
    }
}

impl SqliteStore {
    /// Runs a token request's flow in one `BEGIN IMMEDIATE` transaction
    /// (see the [module](self)): commits what it did, whatever it
    /// answers (a failed write was rolled back to its savepoint; a grant
    /// revoked after a replay stays revoked); answers `server_error`
    /// instead when the commit fails, nothing being saved.
    ///
    /// The in-memory store, a single connection, runs `run` as it is.
    pub(crate) fn run_request<T>(
        &self,
        run: &mut dyn FnMut() -> Result<T, OAuthError>,
    ) -> Result<T, OAuthError> {
        let Connections::File { path, .. } = &self.connections else {
            return run();
        };
        if in_request(self) {
            return run();
        }
        // This process's writers queue here (see `writers`), the request
        // holding its turn throughout.
        let _turn = lock(&self.writers);
        let conn = match self.take_idle().map_or_else(|| connect(path), Ok) {
            Ok(conn) => conn,
            Err(e) => return self.failed(&e),
        };
        if let Err(e) = conn
            .prepare_cached("BEGIN IMMEDIATE")
            .db()
            .and_then(|mut s| s.execute([]).db())
        {
            self.give_back(conn);
            return self.failed(&e);
        }
        LENT.with(|lent| {
            *lent.borrow_mut() = Some(Lent {
                store: id(self),
                conn,
                wrote: false,
                poisoned: false,
            });
        });
        let mut unwind = Unwind {
            store: self,
            armed: true,
        };
        let out = run();
        unwind.armed = false;
        let Some((conn, poisoned)) = take_back() else {
            // Not reachable: nothing else takes the lent connection.
            return self.failed(&StoreError::InvalidRecord(
                "a token request lost its connection",
            ));
        };
        let ended = if poisoned {
            Err(StoreError::InvalidRecord(
                "a failed write could not be rolled back to its savepoint",
            ))
        } else {
            conn.prepare_cached("COMMIT")
                .db()
                .and_then(|mut s| s.execute([]).db())
                .map(drop)
        };
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.give_back(conn);
        self.committed();
        match ended {
            Ok(()) => out,
            Err(e) => self.failed(&e),
        }
    }

    /// Reports `error` to the error hook and answers `server_error`.
    fn failed<T>(&self, error: &StoreError) -> Result<T, OAuthError> {
        self.report(error);
        Err(oauth2_provider::validator::store_failed())
    }
}
