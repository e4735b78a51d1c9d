//! Storage: one schema, two databases.
//!
//! The back office keeps four tables (see `migrations/`): `reports`, the
//! history of state changes (a report's full body, kept when it changed
//! what an operator cares about); `report_hours`, every report counted once
//! per probe and hour (PostgreSQL: partitioned by day); `latest`, one row
//! per probe with the latest state and the body of the report that began
//! it, updated in the same
//! transaction; and `tokens`, the hashes of API tokens. Nothing held in
//! memory changes an answer, so several servers may share one PostgreSQL. The same SQL runs on
//! SQLite (the default: one file, WAL mode, one writer connection and a few
//! readers) and on PostgreSQL (for a national fleet). Times are Unix
//! milliseconds (UTC) in both, so that every statement is written once: the
//! `with_pool!` macro expands a body once per backend, with `$1`-style
//! placeholders, which both accept.
//!
//! The store is split by job, each file adding methods to [`Store`]:
//! this module opens the database (pools, migrations) and holds what every
//! job shares (errors, the `WHERE` builder, times); `write.rs` is the ingest
//! path (history and latest state in one transaction) and retention;
//! `query.rs` the operators' reads (latest lists with filters and cursors, a
//! probe's detail); `tokens.rs` the API tokens' hashes; `export.rs` streams
//! the stored reports for the ISP-ticket CSV, which its callers write (the
//! store knows nothing of CSV).
//!
//! Every wait is bounded: connecting at start ([`CONNECT_TIMEOUT`]), taking
//! a pooled connection ([`ACQUIRE_TIMEOUT`]), a PostgreSQL statement
//! ([`STATEMENT_TIMEOUT`], [`EXPORT_TIMEOUT`] for exports) and SQLite's file
//! lock ([`SQLITE_BUSY_TIMEOUT`]).

use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::Connection;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// The SQLite migrations, embedded in the binary.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "backoffice",
        include_str!("../../migrations/sqlite/0001_backoffice.sql"),
    ),
    (
        2,
        "console",
        include_str!("../../migrations/sqlite/0002_console.sql"),
    ),
    (
        3,
        "fleet",
        include_str!("../../migrations/sqlite/0003_fleet.sql"),
    ),
    (
        4,
        "findings",
        include_str!("../../migrations/sqlite/0004_findings.sql"),
    ),
    (
        5,
        "state",
        include_str!("../../migrations/sqlite/0005_state.sql"),
    ),
    (
        6,
        "body_last",
        include_str!("../../migrations/sqlite/0006_body_last.sql"),
    ),
];

/// The PostgreSQL migrations, embedded in the binary.
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "backoffice",
        include_str!("../../migrations/postgres/0001_backoffice.sql"),
    ),
    (
        2,
        "console",
        include_str!("../../migrations/postgres/0002_console.sql"),
    ),
    (
        3,
        "fleet",
        include_str!("../../migrations/postgres/0003_fleet.sql"),
    ),
    (
        4,
        "findings",
        include_str!("../../migrations/postgres/0004_findings.sql"),
    ),
    (
        5,
        "state",
        include_str!("../../migrations/postgres/0005_state.sql"),
    ),
];

/// How long opening a database may take at start before giving up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request waits for a pooled connection (below the API's request timeout).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(20);
/// PostgreSQL `statement_timeout` of every statement but exports: no lock
/// wait or runaway query holds a connection longer than this.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// PostgreSQL `statement_timeout` of an export, which streams for as long as
/// the client reads (a million rows take seconds; a slow link, minutes).
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(3600);
/// SQLite: how long a writer waits for the file lock held by another process.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a storage operation failed.
///
/// Every message is complete on its own (the driver's words included), so
/// the variants carry no `source()` chain that a printer would repeat.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no supported database.
    #[error(
        "unsupported database URL {0}: use sqlite://FILE (created on first start) or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl(String),
    /// Connecting failed at start.
    #[error("cannot open database {url}: {cause}; {hint}")]
    Connect {
        /// The URL, password removed.
        url: String,
        /// What the driver said.
        cause: String,
        /// What the operator should check.
        hint: String,
    },
    /// Applying the schema failed.
    #[error(
        "cannot apply the back-office schema: {0}; is this database used by another program, or was it made by a newer stca2-probe?"
    )]
    Migrate(sqlx::migrate::MigrateError),
    /// A statement failed.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// A stored value could not be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The caller asked for something the store refuses to do.
    #[error("{0}")]
    Refused(String),
    /// Nothing was stored, for a reason that may pass (the database failed
    /// a merged ingest batch, the server is stopping): retry later.
    #[error("{0}")]
    Unavailable(String),
    /// A `report_id` is already stored (or sent in the same batch) for another probe: not a retry.
    #[error(
        "report_id {report_id:?} is already stored or sent for another probe; report ids must be unique (the probe makes a random one per check): nothing of this upload was stored"
    )]
    ReportIdTaken {
        /// The id.
        report_id: String,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        StoreError::Database(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> StoreError {
        StoreError::Migrate(e)
    }
}

/// `url` without its password (user info and a `password=` parameter), for
/// messages and logs. SQLite URLs are returned as they are.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    if scheme.starts_with("sqlite") {
        return url.to_string();
    }
    // The user info ends at the last '@' before the query, so that an
    // unencoded '/' or '@' in a password is still hidden.
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = match before_query.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => before_query.to_string(),
    };
    let query = query.map(|q| {
        let parts: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        format!("?{}", parts.join("&"))
    });
    format!("{scheme}://{authority}{}", query.unwrap_or_default())
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Lower-case name, as shown by `/healthz` and the benchmarks.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The back office's database: SQLite or PostgreSQL behind one API.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite: one writer connection (SQLite has one writer anyway) and a reader pool.
    Sqlite {
        /// The single writer.
        write: SqlitePool,
        /// Concurrent readers (WAL mode).
        read: SqlitePool,
    },
    /// PostgreSQL: one pool.
    Postgres(PgPool),
}

/// Expands `$body` once per backend with `$p` bound to the right pool.
macro_rules! with_pool {
    ($store:expr, write, $p:ident => $body:expr) => {
        match $store {
            Store::Sqlite { write: $p, .. } => $body,
            Store::Postgres($p) => $body,
        }
    };
    ($store:expr, read, $p:ident => $body:expr) => {
        match $store {
            Store::Sqlite { read: $p, .. } => $body,
            Store::Postgres($p) => $body,
        }
    };
}

/// A bound parameter of a dynamically assembled query.
enum Param {
    Text(String),
    Int(i64),
}

/// Builds `WHERE` clauses with numbered placeholders.
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    params: Vec<Param>,
}

impl Conditions {
    fn push(&mut self, template: &str, p: Param) {
        self.params.push(p);
        let n = self.params.len();
        self.sql.push(template.replace('?', &format!("${n}")));
    }
    fn raw(&mut self, sql: &str) {
        self.sql.push(sql.to_string());
    }
    /// `{col}merchant_id = ?`, `{col}started_at >= ?` and `< ?` for the given
    /// filters; `col` is a table prefix such as `"l."` or `""`.
    fn scope(
        &mut self,
        col: &str,
        merchant: &Option<String>,
        since: Option<i64>,
        until: Option<i64>,
    ) {
        if let Some(m) = merchant {
            self.push(&format!("{col}merchant_id = ?"), Param::Text(m.clone()));
        }
        if let Some(s) = since {
            self.push(&format!("{col}started_at >= ?"), Param::Int(s));
        }
        if let Some(u) = until {
            self.push(&format!("{col}started_at < ?"), Param::Int(u));
        }
    }
    /// The next placeholder, for a parameter pushed after the conditions.
    fn next_param(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }
    fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.sql.join(" AND "))
        }
    }
}

/// Binds `params` in order.
macro_rules! bind_all {
    ($q:expr, $params:expr) => {{
        let mut q = $q;
        for p in $params {
            q = match p {
                $crate::store::Param::Text(s) => q.bind(s),
                $crate::store::Param::Int(i) => q.bind(i),
            };
        }
        q
    }};
}

mod console;
mod export;
mod query;
mod tokens;
mod write;

pub use console::{ConsoleList, ConsoleRow, Counts, ListKind, Sort};
pub use export::{ExportFilter, ExportRow};
pub use query::{HistoryRow, HourRow, LatestFilter, LatestRow, ProbeDetail};
pub use tokens::TokenRow;
pub use write::{HOUR_MS, InsertOutcome, NewReport, PARTITIONS_AHEAD, hour_of, state_key};

impl Store {
    /// Opens (and creates, for SQLite) the database at `url` and applies the schema.
    ///
    /// Fails within [`CONNECT_TIMEOUT`] when the database does not answer,
    /// with the driver's reason, the URL without its password and what to check.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url).await
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Self::connect_postgres(url).await
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    async fn connect_sqlite(url: &str) -> Result<Store, StoreError> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::UnsupportedUrl(format!(
                "{url} (in-memory SQLite is not shared between connections; use a file)"
            )));
        }
        let conn_err = |cause: sqlx::Error| StoreError::Connect {
            url: url.to_string(),
            cause: cause.to_string(),
            hint: "check that the file's directory exists and that this user may write there"
                .into(),
        };
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(conn_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .pragma("cache_size", "-65536");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(opts.clone())
            .await
            .map_err(conn_err)?;
        migrator(SQLITE_MIGRATIONS).run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(opts.read_only(true))
            .await
            .map_err(conn_err)?;
        Ok(Store::Sqlite { write, read })
    }

    async fn connect_postgres(url: &str) -> Result<Store, StoreError> {
        let shown = redact_url(url);
        let mut opts = PgConnectOptions::from_str(url).map_err(|e| StoreError::Connect {
            url: shown.clone(),
            cause: e.to_string(),
            hint: "write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE".into(),
        })?;
        let hint = format!(
            "check that PostgreSQL runs and accepts TCP connections on {}:{}, that user {:?} may log in \
             there (password, pg_hba.conf) and that database {:?} exists",
            opts.get_host(),
            opts.get_port(),
            opts.get_username(),
            opts.get_database().unwrap_or(opts.get_username()),
        );
        if !opts
            .get_options()
            .is_some_and(|o| o.contains("statement_timeout"))
        {
            opts = opts.options([
                (
                    "statement_timeout",
                    format!("{}ms", STATEMENT_TIMEOUT.as_millis()),
                ),
                (
                    "idle_in_transaction_session_timeout",
                    format!("{}ms", 2 * STATEMENT_TIMEOUT.as_millis()),
                ),
            ]);
        }
        // One direct connection first: the pool would retry until its
        // timeout and then report only "pool timed out", losing the reason.
        let first = match tokio::time::timeout(CONNECT_TIMEOUT, opts.connect()).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                return Err(StoreError::Connect {
                    url: shown,
                    cause: e.to_string(),
                    hint,
                });
            }
            Err(_) => {
                return Err(StoreError::Connect {
                    url: shown,
                    cause: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
                    hint,
                });
            }
        };
        let _ = first.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Connect {
                url: shown,
                cause: e.to_string(),
                hint,
            })?;
        migrator(POSTGRES_MIGRATIONS).run(&pool).await?;
        let store = Store::Postgres(pool);
        store
            .upkeep(unix_ms(time::OffsetDateTime::now_utc()))
            .await?;
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite { .. } => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Store::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Store::Postgres(p) => p.close().await,
        }
    }

    /// A trivial query: is the database answering?
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, read, p => {
            sqlx::query("SELECT 1").execute(p).await?;
        });
        Ok(())
    }
}

fn migrator(list: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        list.iter()
            .map(|(v, d, sql)| {
                Migration::new(
                    *v,
                    (*d).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Unix milliseconds of `t`.
pub fn unix_ms(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Unix milliseconds of an RFC 3339 time such as `2025-01-31T12:00:00Z`.
pub fn parse_rfc3339_ms(s: &str) -> Result<i64, time::error::Parse> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map(unix_ms)
}

/// RFC 3339 (UTC) of Unix milliseconds.
pub fn rfc3339_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password() {
        for (url, shown) in [
            (
                "postgres://u:secret@db:5432/x",
                "postgres://u:***@db:5432/x",
            ),
            (
                "postgresql://u:se/cr@et@db/x?sslmode=require",
                "postgresql://u:***@db/x?sslmode=require",
            ),
            (
                "postgres://u@db/x?password=secret&application_name=a",
                "postgres://u@db/x?password=***&application_name=a",
            ),
            ("postgres://db/x", "postgres://db/x"),
            ("sqlite:///var/lib/a@b:c.db", "sqlite:///var/lib/a@b:c.db"),
            ("sqlite:bo.db", "sqlite:bo.db"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    /// 0006 rebuilds SQLite's `latest` with the body last (a column after
    /// a long value is read through its overflow pages) and keeps every
    /// column, with its type, default and NOT NULL, and every index of
    /// 0001 to 0005. A column added by a later migration lands after
    /// `body`: this test then says to rebuild the table again.
    #[tokio::test]
    async fn sqlite_latest_keeps_its_body_last_and_everything_else() {
        async fn shape(list: &[(i64, &'static str, &'static str)]) -> (Vec<String>, Vec<String>) {
            // One connection: each connection to `:memory:` is a database of its own.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect("sqlite::memory:")
                .await
                .unwrap();
            migrator(list).run(&pool).await.unwrap();
            let column = |sql: &'static str| {
                let pool = pool.clone();
                async move {
                    let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
                    rows.iter()
                        .map(|r| sqlx::Row::get(r, 0))
                        .collect::<Vec<String>>()
                }
            };
            let cols = column(
                "SELECT name || ' ' || type || ' ' || \"notnull\" || ' ' || COALESCE(dflt_value, '-') \
                 || ' ' || pk FROM pragma_table_info('latest') ORDER BY cid",
            )
            .await;
            let indexes = column(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'latest' \
                 AND sql IS NOT NULL ORDER BY name",
            )
            .await;
            (cols, indexes)
        }
        let (before, before_idx) = shape(&SQLITE_MIGRATIONS[..5]).await;
        let (after, after_idx) = shape(&SQLITE_MIGRATIONS[..6]).await;
        let (now, _) = shape(SQLITE_MIGRATIONS).await;
        assert!(
            after.last().is_some_and(|c| c.starts_with("body "))
                && now.last().is_some_and(|c| c.starts_with("body ")),
            "`body` must be the last column of `latest` on SQLite; rebuild the table \
             (as migrations/sqlite/0006_body_last.sql does) after adding a column: {now:?}"
        );
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        assert_eq!(sorted(before), sorted(after), "the same columns");
        assert_eq!(before_idx.len(), 9, "{before_idx:?}");
        assert_eq!(before_idx, after_idx, "the same indexes");
    }

    #[tokio::test]
    async fn an_unreachable_database_fails_fast_and_says_what_to_check() {
        // Port 1 on loopback: refused at once, nothing leaves the machine.
        let t = std::time::Instant::now();
        let err = Store::connect("postgres://stca2:hunter2@127.0.0.1:1/fleet")
            .await
            .unwrap_err()
            .to_string();
        assert!(t.elapsed() < CONNECT_TIMEOUT, "{:?}", t.elapsed());
        assert!(!err.contains("hunter2"), "{err}");
        for want in [
            "postgres://stca2:***@127.0.0.1:1/fleet",
            "refused",
            "127.0.0.1:1",
            "\"stca2\"",
            "\"fleet\"",
        ] {
            assert!(err.contains(want), "{want:?} missing from: {err}");
        }
        let err = Store::connect("sqlite:///nonexistent-dir-stca2/x.db")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("directory exists"), "{err}");
        let err = Store::connect("mysql://root:pw@127.0.0.1/x")
            .await
            .unwrap_err()
            .to_string();
        assert!(!err.contains(":pw@"), "{err}");
    }
}
