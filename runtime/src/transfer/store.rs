//! The `TransferStore` port and its adapters: MySQL (RDS; MariaDB in tests) and SQLite (the
//! embedded default for local runs). Both run the same SQL shape and the same tests.
//!
//! Every read returns the **database's** time with the row, so lease decisions compare database
//! times only (crash matrix C16). Every write after a claim is a compare-and-set on `fence`.
//! A happy transfer costs 1 read and 4 single-statement autocommit writes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use sqlx::Row as _;

// Every dynamic SQL string below is assembled from this module's constants only (column list,
// the dialect's clock expression); values always travel as bind parameters. Hence `AssertSqlSafe`.

use super::machine::{NotificationState, Row, TransferState};

/// The store failed; the caller fails the message so it is retried.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be reached or refused the statement.
    #[error("transfer store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A row holds a value this version does not understand.
    #[error("transfer row {transfer_id:?} is corrupt: {problem}")]
    Corrupt {
        /// The row.
        transfer_id: String,
        /// What is wrong.
        problem: String,
    },
}

fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

/// A boxed future, so the port is object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Persistence of transfer rows.
pub trait TransferStore: Send + Sync {
    /// The database's time and the row, in one round trip.
    fn load<'a>(
        &'a self,
        transfer_id: &'a str,
    ) -> BoxFuture<'a, Result<(i64, Option<Row>), StoreError>>;
    /// Inserts a new row; `false` when the id already exists (another consumer won, C8).
    fn insert<'a>(&'a self, row: &'a Row) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Writes `row` if the stored fence is still `expected_fence`; `false` otherwise (a newer
    /// claim exists: this writer is late, C7).
    fn update<'a>(
        &'a self,
        row: &'a Row,
        expected_fence: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Non-terminal rows whose deadline has passed (database time), oldest first (C13).
    fn overdue<'a>(&'a self, limit: u32) -> BoxFuture<'a, Result<Vec<Row>, StoreError>>;
    /// Round trips and commits so far (benchmark figures).
    fn stats(&self) -> StoreStats;
}

/// Counters of database work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Statements sent.
    pub round_trips: u64,
    /// Of which writes (each is its own autocommit transaction).
    pub commits: u64,
}

#[derive(Debug, Default)]
struct Counters {
    round_trips: AtomicU64,
    commits: AtomicU64,
}

impl Counters {
    fn read(&self) {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
    }
    fn write(&self) {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.commits.fetch_add(1, Ordering::Relaxed);
    }
    fn get(&self) -> StoreStats {
        StoreStats {
            round_trips: self.round_trips.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
        }
    }
}

const COLUMNS: &str = "transfer_id, payload_hash, payload, state, notification, fence, lease_owner, \
     lease_until_ms, attempts, post_sent_at_ms, deadline_ms, outcome, created_at_ms, updated_at_ms";

const MYSQL_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS transfers (
    transfer_id VARCHAR(48) NOT NULL PRIMARY KEY,
    payload_hash CHAR(64) NOT NULL,
    payload TEXT NOT NULL,
    state VARCHAR(16) NOT NULL,
    notification VARCHAR(16) NULL,
    fence BIGINT NOT NULL,
    lease_owner VARCHAR(64) NOT NULL,
    lease_until_ms BIGINT NOT NULL,
    attempts INT NOT NULL,
    post_sent_at_ms BIGINT NULL,
    deadline_ms BIGINT NOT NULL,
    outcome VARCHAR(128) NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    KEY transfers_by_state_deadline (state, deadline_ms)
) ENGINE=InnoDB";

const SQLITE_SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS transfers (
    transfer_id TEXT NOT NULL PRIMARY KEY,
    payload_hash TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    notification TEXT NULL,
    fence INTEGER NOT NULL,
    lease_owner TEXT NOT NULL,
    lease_until_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    post_sent_at_ms INTEGER NULL,
    deadline_ms INTEGER NOT NULL,
    outcome TEXT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
)",
    "CREATE INDEX IF NOT EXISTS transfers_by_state_deadline ON transfers (state, deadline_ms)",
];

/// The database's clock in Unix milliseconds, per dialect.
const MYSQL_NOW: &str = "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)";
const SQLITE_NOW: &str = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

fn parse_row<R>(r: &R, offset: usize) -> Result<Row, StoreError>
where
    R: sqlx::Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    usize: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let g = |e: sqlx::Error| unavailable(e);
    let transfer_id: String = r.try_get(offset).map_err(g)?;
    let corrupt = |problem: String| StoreError::Corrupt {
        transfer_id: transfer_id.clone(),
        problem,
    };
    let state_s: String = r.try_get(offset + 3).map_err(g)?;
    let state =
        TransferState::parse(&state_s).ok_or_else(|| corrupt(format!("state {state_s:?}")))?;
    let note_s: Option<String> = r.try_get(offset + 4).map_err(g)?;
    let notification = match note_s {
        None => None,
        Some(s) => Some(
            NotificationState::parse(&s).ok_or_else(|| corrupt(format!("notification {s:?}")))?,
        ),
    };
    let attempts: i64 = r.try_get(offset + 8).map_err(g)?;
    Ok(Row {
        payload_hash: r.try_get(offset + 1).map_err(g)?,
        payload: r.try_get(offset + 2).map_err(g)?,
        state,
        notification,
        fence: r.try_get(offset + 5).map_err(g)?,
        lease_owner: r.try_get(offset + 6).map_err(g)?,
        lease_until_ms: r.try_get(offset + 7).map_err(g)?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt(format!("attempts {attempts}")))?,
        post_sent_at_ms: r.try_get(offset + 9).map_err(g)?,
        deadline_ms: r.try_get(offset + 10).map_err(g)?,
        outcome: r.try_get(offset + 11).map_err(g)?,
        created_at_ms: r.try_get(offset + 12).map_err(g)?,
        updated_at_ms: r.try_get(offset + 13).map_err(g)?,
        transfer_id,
    })
}

macro_rules! sql_store {
    ($name:ident, $pool:ty, $now:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone)]
        pub struct $name {
            pool: $pool,
            /// Added to the database's clock: lets tests move "database time" forward without
            /// sleeping. Always 0 in production.
            offset_ms: Arc<AtomicI64>,
            counters: Arc<Counters>,
        }

        impl $name {
            /// A store over `pool`; call `migrate` once before use.
            pub fn new(pool: $pool) -> Self {
                Self {
                    pool,
                    offset_ms: Arc::new(AtomicI64::new(0)),
                    counters: Arc::new(Counters::default()),
                }
            }

            /// The same store with a shared database-clock offset (tests; see the field doc).
            pub fn with_time_offset(mut self, offset_ms: Arc<AtomicI64>) -> Self {
                self.offset_ms = offset_ms;
                self
            }

            /// The pool.
            pub fn pool(&self) -> &$pool {
                &self.pool
            }

            fn offset(&self) -> i64 {
                self.offset_ms.load(Ordering::SeqCst)
            }
        }

        impl TransferStore for $name {
            fn load<'a>(&'a self, transfer_id: &'a str) -> BoxFuture<'a, Result<(i64, Option<Row>), StoreError>> {
                Box::pin(async move {
                    let sql = format!(
                        "SELECT {} + ? AS db_now, t.* FROM (SELECT 1 AS one) d \
                         LEFT JOIN (SELECT {COLUMNS} FROM transfers WHERE transfer_id = ?) t ON 1 = 1",
                        $now
                    );
                    self.counters.read();
                    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(self.offset())
                        .bind(transfer_id)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(unavailable)?;
                    let now: i64 = r.try_get(0).map_err(unavailable)?;
                    let present: Option<String> = r.try_get(1).map_err(unavailable)?;
                    let row = match present {
                        Some(_) => Some(parse_row(&r, 1)?),
                        None => None,
                    };
                    Ok((now, row))
                })
            }

            fn insert<'a>(&'a self, row: &'a Row) -> BoxFuture<'a, Result<bool, StoreError>> {
                Box::pin(async move {
                    let sql = format!(
                        "INSERT INTO transfers ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    );
                    self.counters.write();
                    let res = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(&row.transfer_id)
                        .bind(&row.payload_hash)
                        .bind(&row.payload)
                        .bind(row.state.as_str())
                        .bind(row.notification.map(|n| n.as_str()))
                        .bind(row.fence)
                        .bind(&row.lease_owner)
                        .bind(row.lease_until_ms)
                        .bind(i64::from(row.attempts))
                        .bind(row.post_sent_at_ms)
                        .bind(row.deadline_ms)
                        .bind(&row.outcome)
                        .bind(row.created_at_ms)
                        .bind(row.updated_at_ms)
                        .execute(&self.pool)
                        .await;
                    match res {
                        Ok(_) => Ok(true),
                        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
                        Err(e) => Err(unavailable(e)),
                    }
                })
            }

            fn update<'a>(&'a self, row: &'a Row, expected_fence: i64) -> BoxFuture<'a, Result<bool, StoreError>> {
                Box::pin(async move {
                    // The payload hash is in the WHERE clause too: a row is never rewritten under
                    // another payload.
                    let sql = "UPDATE transfers SET state = ?, notification = ?, fence = ?, lease_owner = ?, \
                         lease_until_ms = ?, attempts = ?, post_sent_at_ms = ?, outcome = ?, updated_at_ms = ? \
                         WHERE transfer_id = ? AND fence = ? AND payload_hash = ?";
                    self.counters.write();
                    let res = sqlx::query(sql)
                        .bind(row.state.as_str())
                        .bind(row.notification.map(|n| n.as_str()))
                        .bind(row.fence)
                        .bind(&row.lease_owner)
                        .bind(row.lease_until_ms)
                        .bind(i64::from(row.attempts))
                        .bind(row.post_sent_at_ms)
                        .bind(&row.outcome)
                        .bind(row.updated_at_ms)
                        .bind(&row.transfer_id)
                        .bind(expected_fence)
                        .bind(&row.payload_hash)
                        .execute(&self.pool)
                        .await
                        .map_err(unavailable)?;
                    Ok(res.rows_affected() == 1)
                })
            }

            fn overdue<'a>(&'a self, limit: u32) -> BoxFuture<'a, Result<Vec<Row>, StoreError>> {
                Box::pin(async move {
                    let sql = format!(
                        "SELECT 0, 0, {COLUMNS} FROM transfers \
                         WHERE state IN ('EVENT_CONSUMED', 'REQUEST_BEFORE', 'WAITING') \
                         AND deadline_ms < {} + ? ORDER BY deadline_ms LIMIT ?",
                        $now
                    );
                    self.counters.read();
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(self.offset())
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(unavailable)?;
                    rows.iter().map(|r| parse_row(r, 2)).collect()
                })
            }

            fn stats(&self) -> StoreStats {
                self.counters.get()
            }
        }
    };
}

sql_store!(
    MySqlStore,
    sqlx::MySqlPool,
    MYSQL_NOW,
    "Transfer rows in MySQL (RDS in AWS, MariaDB locally), InnoDB, one autocommit statement per write."
);
sql_store!(
    SqliteStore,
    sqlx::SqlitePool,
    SQLITE_NOW,
    "Transfer rows in SQLite: the embedded default for local runs (single process)."
);

impl MySqlStore {
    /// Connects lazily (no I/O until the first query: cheap Lambda init).
    pub fn connect_lazy(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let pool = sqlx::mysql::MySqlPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_lazy(url)
            .map_err(unavailable)?;
        Ok(Self::new(pool))
    }

    /// Creates the table if it does not exist.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::query(MYSQL_SCHEMA)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, or memory for `:memory:`.
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let opts = if path == ":memory:" {
            sqlx::sqlite::SqliteConnectOptions::new().in_memory(true)
        } else {
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
        }
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(5));
        // One connection: SQLite serializes writers anyway, and ":memory:" is per connection.
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .map_err(unavailable)?;
        Ok(Self::new(pool))
    }

    /// Creates the table if it does not exist.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        for stmt in SQLITE_SCHEMA {
            sqlx::query(stmt)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }
}
