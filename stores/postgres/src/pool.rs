//! The connection pool: r2d2 over `postgres` connections, each keeping
//! its prepared statements, and the transaction and retry rules every
//! operation runs under.

use std::collections::HashMap;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use crate::StoreError;

/// A pooled connection: the client, and the statements prepared on it
/// (about 25, each parsed and planned once per connection instead of once
/// per use).
pub(crate) struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    /// Set when a rollback failed: the connection may still be inside a
    /// transaction, so the pool drops it instead of handing it out.
    broken: bool,
}

impl Conn {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    /// Runs `sql`, returning how many rows it changed.
    pub(crate) fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.execute(&statement, params)
    }

    /// Runs `sql`, returning its one row if any.
    pub(crate) fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query_opt(&statement, params)
    }

    /// Runs `sql`, returning its rows.
    pub(crate) fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query(&statement, params)
    }

    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// Opens connections for r2d2.
pub(crate) struct Manager {
    pub(crate) config: postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn {
            client: self.config.connect(NoTls)?,
            statements: HashMap::new(),
            broken: false,
        })
    }

    /// Not called (the pool does not test connections on checkout: the
    /// first statement of each use is the test, see [`retry`]).
    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.broken || conn.client.is_closed()
    }
}

/// Whether `e` says the connection was lost: the server shut down,
/// restarted or terminated it (then the client sees its `FATAL` message,
/// a closed connection, or a connection reset when writing to it), or
/// the network failed. Whatever the statement was, it did not commit.
pub(crate) fn is_closed(e: &postgres::Error) -> bool {
    e.is_closed()
        || matches!(
            e.code(),
            Some(&SqlState::ADMIN_SHUTDOWN) | Some(&SqlState::CRASH_SHUTDOWN)
        )
        || std::error::Error::source(e).is_some_and(|cause| cause.is::<std::io::Error>())
}

/// Whether `e` is a serialization failure or a deadlock: PostgreSQL
/// rolled the transaction back, and running it again is safe.
pub(crate) fn is_conflict(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED)
    )
}

/// Whether `e` is a primary key (or unique) collision.
pub(crate) fn is_collision(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// What [`crate::PostgresStore`]'s operations fail with, as far as the
/// retry rules need to know.
pub(crate) trait Failure: From<StoreError> {
    /// The PostgreSQL error behind this failure, if any.
    fn postgres(&self) -> Option<&postgres::Error>;
}

impl Failure for StoreError {
    fn postgres(&self) -> Option<&postgres::Error> {
        match self {
            StoreError::Postgres(e) => Some(e),
            _ => None,
        }
    }
}

/// Runs a transaction on `conn`: `BEGIN ISOLATION LEVEL READ COMMITTED`,
/// `f`, `COMMIT`; `ROLLBACK` if `f` fails. Returns `Err((error, begun))`,
/// `begun` saying whether `BEGIN` had succeeded (before it, nothing was
/// sent that could have changed anything).
pub(crate) fn transaction<T, E: Failure>(
    conn: &mut Conn,
    f: &mut impl FnMut(&mut Conn) -> Result<T, E>,
) -> Result<T, (E, bool)> {
    if let Err(e) = conn
        .client
        .batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED")
    {
        return Err((StoreError::Postgres(e).into(), false));
    }
    let out = match f(conn) {
        Ok(out) => out,
        Err(e) => {
            if conn.client.batch_execute("ROLLBACK").is_err() {
                conn.broken = true;
            }
            return Err((e, true));
        }
    };
    // A COMMIT lost with the connection leaves the outcome unknown to
    // this side, but whole either way: PostgreSQL commits all of it or
    // none.
    match conn.client.batch_execute("COMMIT") {
        Ok(()) => Ok(out),
        Err(e) => {
            conn.broken = true;
            Err((StoreError::Postgres(e).into(), true))
        }
    }
}
