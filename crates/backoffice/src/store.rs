//! Storage: one schema, two databases.
//!
//! The back office keeps three tables (see `migrations/`): `reports`, the
//! history; `latest`, one row per probe, updated in the same transaction as
//! the history; and `tokens`, the hashes of API tokens. The same SQL runs on
//! SQLite (the default: one file, WAL mode, one writer connection and a few
//! readers) and on PostgreSQL (for a national fleet). Times are Unix
//! milliseconds (UTC) in both, so that every statement is written once: the
//! `with_pool!` macro expands a body once per backend, with `$1`-style
//! placeholders, which both accept.
//!
//! Writes are ordered to stay deadlock-free on PostgreSQL and to keep the
//! latest state exact whatever order reports arrive in (`write_batch`):
//! history first (`ON CONFLICT DO NOTHING`, so a retry stores nothing
//! twice), then `latest` in probe and start order. An older report arriving
//! late goes to the history, never overwrites a newer latest state, and
//! corrects the closed streak (`apply_late`).
//!
//! Every wait is bounded: connecting at start ([`CONNECT_TIMEOUT`]), taking
//! a pooled connection ([`ACQUIRE_TIMEOUT`]), a PostgreSQL statement
//! ([`STATEMENT_TIMEOUT`], [`EXPORT_TIMEOUT`] for exports) and SQLite's file
//! lock ([`SQLITE_BUSY_TIMEOUT`]).

use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row, SqlSafeStr};
use tokio::sync::mpsc;

use stca2_report::Report;

/// The SQLite migrations, embedded in the binary.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "backoffice",
    include_str!("../migrations/sqlite/0001_backoffice.sql"),
)];

/// The PostgreSQL migrations, embedded in the binary.
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "backoffice",
    include_str!("../migrations/postgres/0001_backoffice.sql"),
)];

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
    /// A `report_id` is already stored for another probe: not a retry.
    #[error(
        "report_id {report_id:?} is already stored for another probe; report ids must be unique (the probe makes a random one per check): nothing of this upload was stored"
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

/// One report ready to store: the columns, and the JSON body as uploaded.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    /// Unique per check.
    pub report_id: String,
    /// The probe that ran it.
    pub probe_id: String,
    /// The merchant, from the token or the report.
    pub merchant_id: Option<String>,
    /// When the back office received it (Unix ms).
    pub received_at: i64,
    /// When the check started (Unix ms).
    pub started_at: i64,
    /// When the check finished (Unix ms).
    pub finished_at: i64,
    /// The address the back office saw the upload come from.
    pub public_ip: Option<String>,
    /// "Port STCA2 non ouvert".
    pub stca2_port_closed: bool,
    /// Failover recommendation, contract spelling.
    pub recommendation: String,
    /// Failover message.
    pub message: String,
    /// The report as JSON text.
    pub body: String,
}

impl NewReport {
    /// Builds the row of `report`, whose JSON text is `body`.
    pub fn from_report(
        report: &Report,
        body: String,
        merchant_id: Option<String>,
        public_ip: Option<String>,
        received_at: i64,
    ) -> NewReport {
        NewReport {
            report_id: report.report_id.clone(),
            probe_id: report.probe.id.clone(),
            merchant_id: merchant_id.or_else(|| report.probe.merchant.clone()),
            received_at,
            started_at: unix_ms(report.started_at),
            finished_at: unix_ms(report.finished_at),
            public_ip,
            stca2_port_closed: report.summary.stca2_port_closed,
            recommendation: report.summary.failover.recommendation.as_str().to_string(),
            message: report.summary.failover.message.clone(),
            body,
        }
    }
}

/// What a batch insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct InsertOutcome {
    /// Reports stored now.
    pub stored: usize,
    /// Reports already stored before (a retried upload).
    pub duplicates: usize,
}

/// The latest state of one probe.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LatestRow {
    /// The probe.
    pub probe_id: String,
    /// Its latest report.
    pub report_id: String,
    /// When that report's check started (Unix ms).
    pub started_at: i64,
    /// "Port STCA2 non ouvert" in the latest report.
    pub stca2_port_closed: bool,
    /// Start of the first report of the current closed streak (Unix ms).
    pub closed_since: Option<i64>,
    /// Consecutive reports with the port closed, up to the latest.
    pub closed_streak: i64,
    /// Failover recommendation.
    pub recommendation: String,
    /// Failover message.
    pub message: String,
    /// The merchant.
    pub merchant_id: Option<String>,
    /// The address the latest upload came from.
    pub public_ip: Option<String>,
}

/// One history entry of a probe.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistoryRow {
    /// The report.
    pub report_id: String,
    /// Check start (Unix ms).
    pub started_at: i64,
    /// Check end (Unix ms).
    pub finished_at: i64,
    /// Reception (Unix ms).
    pub received_at: i64,
    /// The upload's address.
    pub public_ip: Option<String>,
    /// "Port STCA2 non ouvert".
    pub stca2_port_closed: bool,
    /// Failover recommendation.
    pub recommendation: String,
}

/// A stored token (its hash, never the token).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRow {
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// `probe` or `admin`.
    pub kind: String,
    /// The probe a probe token belongs to.
    pub probe_id: Option<String>,
    /// The merchant, when given.
    pub merchant_id: Option<String>,
    /// Issue time (Unix ms).
    pub created_at: i64,
    /// Revocation time (Unix ms).
    pub revoked_at: Option<i64>,
}

/// Filters over the latest state, with keyset pagination on `probe_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatestFilter {
    /// Only probes whose latest report says the STCA2 port is closed.
    pub closed_only: bool,
    /// Only this merchant.
    pub merchant: Option<String>,
    /// Only this recommendation.
    pub recommendation: Option<String>,
    /// Latest report started at or after (Unix ms).
    pub since: Option<i64>,
    /// Latest report started before (Unix ms).
    pub until: Option<i64>,
    /// Resume after this probe id (exclusive).
    pub after: Option<String>,
    /// At most this many rows.
    pub limit: u32,
}

/// Which rows `export_csv` writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Only the latest report of probes whose STCA2 port is closed; otherwise the whole history.
    pub closed_only: bool,
    /// Only this merchant.
    pub merchant: Option<String>,
    /// Reports started at or after (Unix ms).
    pub since: Option<i64>,
    /// Reports started before (Unix ms).
    pub until: Option<i64>,
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
                Param::Text(s) => q.bind(s),
                Param::Int(i) => q.bind(i),
            };
        }
        q
    }};
}

/// Reads a [`TokenRow`] from a row of `SELECT hash, kind, probe_id, merchant_id, created_at, revoked_at`.
macro_rules! token_row {
    ($r:expr) => {
        TokenRow {
            hash: $r.try_get(0)?,
            kind: $r.try_get(1)?,
            probe_id: $r.try_get(2)?,
            merchant_id: $r.try_get(3)?,
            created_at: $r.try_get(4)?,
            revoked_at: $r.try_get(5)?,
        }
    };
}

/// Reads a [`LatestRow`] from a row whose first columns are [`LATEST_COLS`].
macro_rules! latest_row {
    ($r:expr) => {
        LatestRow {
            probe_id: $r.try_get(0)?,
            report_id: $r.try_get(1)?,
            started_at: $r.try_get(2)?,
            stca2_port_closed: $r.try_get(3)?,
            closed_since: $r.try_get(4)?,
            closed_streak: $r.try_get(5)?,
            recommendation: $r.try_get(6)?,
            message: $r.try_get(7)?,
            merchant_id: $r.try_get(8)?,
            public_ip: $r.try_get(9)?,
        }
    };
}

/// The columns of `latest`, in [`LatestRow`] order.
const LATEST_COLS: &str = "probe_id, report_id, started_at, stca2_port_closed, closed_since, \
                           closed_streak, recommendation, message, merchant_id, public_ip";

/// How many columns `reports` has.
const REPORT_COLS: usize = 10;
/// How many columns [`LATEST_COLS`] names.
const LATEST_COL_COUNT: usize = 10;

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
        Ok(Store::Postgres(pool))
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

    /// Stores a batch in one transaction: all of it, or nothing on error.
    ///
    /// Reports already stored (same `report_id`) count as duplicates and
    /// change nothing; see `write_batch` in this module for the order of the writes.
    pub async fn insert_batch(&self, batch: &[NewReport]) -> Result<InsertOutcome, StoreError> {
        if batch.is_empty() {
            return Ok(InsertOutcome::default());
        }
        let mut sorted: Vec<&NewReport> = batch.iter().collect();
        sorted.sort_by(|a, b| a.report_id.cmp(&b.report_id));
        sorted.dedup_by(|a, b| a.report_id == b.report_id);
        let stored = with_pool!(self, write, pool => {
            let mut tx = pool.begin().await?;
            let stored = write_batch(&mut tx, &sorted).await?;
            tx.commit().await?;
            stored
        });
        Ok(InsertOutcome {
            stored,
            duplicates: batch.len() - stored,
        })
    }

    /// Writes `rows` straight into `latest` (benchmarks and imports); probes
    /// already there are left as they are.
    pub async fn seed_latest(&self, rows: &[LatestRow]) -> Result<(), StoreError> {
        with_pool!(self, write, pool => {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(CHUNK) {
                let sql = format!(
                    "INSERT INTO latest ({LATEST_COLS}) VALUES {} ON CONFLICT (probe_id) DO NOTHING",
                    values_sql(chunk.len(), LATEST_COL_COUNT)
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for r in chunk {
                    q = q
                        .bind(&r.probe_id)
                        .bind(&r.report_id)
                        .bind(r.started_at)
                        .bind(r.stca2_port_closed)
                        .bind(r.closed_since)
                        .bind(r.closed_streak)
                        .bind(&r.recommendation)
                        .bind(&r.message)
                        .bind(&r.merchant_id)
                        .bind(&r.public_ip);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Latest states matching `filter`, ordered by probe id; at most `filter.limit`.
    pub async fn latest(&self, filter: &LatestFilter) -> Result<Vec<LatestRow>, StoreError> {
        let mut c = Conditions::default();
        if filter.closed_only {
            c.raw("stca2_port_closed");
        }
        c.scope("", &filter.merchant, filter.since, filter.until);
        if let Some(r) = &filter.recommendation {
            c.push("recommendation = ?", Param::Text(r.clone()));
        }
        if let Some(a) = &filter.after {
            c.push("probe_id > ?", Param::Text(a.clone()));
        }
        let clause = c.clause();
        let limit = c.next_param(Param::Int(i64::from(filter.limit)));
        let sql =
            format!("SELECT {LATEST_COLS} FROM latest{clause} ORDER BY probe_id LIMIT {limit}");
        with_pool!(self, read, pool => {
            let q = bind_all!(sqlx::query(AssertSqlSafe(sql)), c.params);
            let rows = q.fetch_all(pool).await?;
            rows.iter().map(|row| Ok(latest_row!(row))).collect()
        })
    }

    /// The latest state of one probe, with its latest report's JSON body.
    pub async fn probe(
        &self,
        probe_id: &str,
    ) -> Result<Option<(LatestRow, Option<String>)>, StoreError> {
        let sql = "SELECT l.probe_id, l.report_id, l.started_at, l.stca2_port_closed, \
                   l.closed_since, l.closed_streak, l.recommendation, l.message, \
                   l.merchant_id, l.public_ip, r.body \
                   FROM latest l LEFT JOIN reports r ON r.report_id = l.report_id \
                   WHERE l.probe_id = $1";
        with_pool!(self, read, pool => {
            let row = sqlx::query(sql).bind(probe_id).fetch_optional(pool).await?;
            match row {
                None => Ok(None),
                Some(row) => Ok(Some((latest_row!(row), row.try_get(10)?))),
            }
        })
    }

    /// The `limit` most recent reports of one probe, newest first.
    pub async fn history(&self, probe_id: &str, limit: u32) -> Result<Vec<HistoryRow>, StoreError> {
        let sql = "SELECT report_id, started_at, finished_at, received_at, public_ip, \
                   stca2_port_closed, recommendation FROM reports WHERE probe_id = $1 \
                   ORDER BY started_at DESC, report_id DESC LIMIT $2";
        with_pool!(self, read, pool => {
            let rows = sqlx::query(sql).bind(probe_id).bind(i64::from(limit)).fetch_all(pool).await?;
            rows.iter().map(|row| Ok(HistoryRow {
                report_id: row.try_get(0)?,
                started_at: row.try_get(1)?,
                finished_at: row.try_get(2)?,
                received_at: row.try_get(3)?,
                public_ip: row.try_get(4)?,
                stca2_port_closed: row.try_get(5)?,
                recommendation: row.try_get(6)?,
            })).collect()
        })
    }

    /// Number of reports in the history.
    pub async fn count_reports(&self) -> Result<i64, StoreError> {
        with_pool!(self, read, p => Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM reports").fetch_one(p).await?))
    }

    /// Number of probes with a latest state.
    pub async fn count_latest(&self) -> Result<i64, StoreError> {
        with_pool!(self, read, p => Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM latest").fetch_one(p).await?))
    }

    /// Deletes history older than `cutoff` (Unix ms), keeping every probe's
    /// latest report; in chunks, so the writer is never held long.
    pub async fn prune(&self, cutoff: i64) -> Result<u64, StoreError> {
        // NOT EXISTS on latest's primary key: a NOT IN over a million latest
        // rows does not fit PostgreSQL's hashed subplan and turns quadratic.
        let sql = "DELETE FROM reports WHERE report_id IN (SELECT r.report_id FROM reports r \
                   WHERE r.started_at < $1 AND NOT EXISTS (SELECT 1 FROM latest l \
                   WHERE l.probe_id = r.probe_id AND l.report_id = r.report_id) \
                   LIMIT 5000)";
        let mut total = 0;
        loop {
            let n = with_pool!(self, write, p => sqlx::query(sql).bind(cutoff).execute(p).await?.rows_affected());
            total += n;
            if n == 0 {
                return Ok(total);
            }
        }
    }

    /// Streams the ISP-ticket CSV (header first) into `tx` in chunks of
    /// about [`CSV_CHUNK`] bytes. Memory stays constant: rows are read one by one from
    /// the database and the channel is bounded. Stops early, without error,
    /// when the receiver is gone.
    pub async fn export_csv(
        &self,
        filter: &ExportFilter,
        tx: &mpsc::Sender<Result<Bytes, StoreError>>,
    ) -> Result<u64, StoreError> {
        let mut c = Conditions::default();
        let sql = if filter.closed_only {
            c.raw("l.stca2_port_closed");
            c.scope("l.", &filter.merchant, filter.since, filter.until);
            format!(
                "SELECT r.body, r.public_ip FROM latest l JOIN reports r ON r.report_id = l.report_id{} ORDER BY l.probe_id",
                c.clause()
            )
        } else {
            c.scope("", &filter.merchant, filter.since, filter.until);
            format!(
                "SELECT body, public_ip FROM reports{} ORDER BY started_at, report_id",
                c.clause()
            )
        };
        let csv_err = |e: String| StoreError::Corrupt(format!("writing CSV: {e}"));
        let new_writer = || {
            csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(Vec::with_capacity(CSV_CHUNK + 16 * 1024))
        };
        // A writer per ~64 KiB chunk: `into_inner` hands over its buffer.
        let mut w = new_writer();
        w.write_record(stca2_report::csv::COLUMNS)
            .map_err(|e| csv_err(e.to_string()))?;
        let mut count = 0u64;
        with_pool!(self, read, pool => {
            // One read transaction: a consistent snapshot, and on PostgreSQL
            // a statement timeout that suits a long download.
            let mut db = pool.begin().await?;
            db.allow_long_statement().await?;
            let q = bind_all!(sqlx::query(AssertSqlSafe(sql)), c.params);
            let mut rows = q.fetch(&mut *db);
            while let Some(row) = rows.try_next().await? {
                let body: String = row.try_get(0)?;
                let ip: Option<String> = row.try_get(1)?;
                let report: Report = serde_json::from_str(&body)
                    .map_err(|e| StoreError::Corrupt(format!("stored report: {e}")))?;
                for cells in stca2_report::csv::rows(&report, ip.as_deref()) {
                    w.write_record(&cells).map_err(|e| csv_err(e.to_string()))?;
                    count += 1;
                }
                if w.get_ref().len() >= CSV_CHUNK {
                    let full = std::mem::replace(&mut w, new_writer());
                    let buf = full.into_inner().map_err(|e| csv_err(e.to_string()))?;
                    if tx.send(Ok(Bytes::from(buf))).await.is_err() {
                        return Ok(count);
                    }
                }
            }
        });
        let rest = w.into_inner().map_err(|e| csv_err(e.to_string()))?;
        if !rest.is_empty() {
            let _ = tx.send(Ok(Bytes::from(rest))).await;
        }
        Ok(count)
    }

    /// Stores a new token's hash.
    pub async fn insert_token(&self, t: &TokenRow) -> Result<(), StoreError> {
        with_pool!(self, write, p => {
            sqlx::query("INSERT INTO tokens (hash, kind, probe_id, merchant_id, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&t.hash).bind(&t.kind).bind(&t.probe_id).bind(&t.merchant_id)
                .bind(t.created_at).bind(t.revoked_at)
                .execute(p).await?;
        });
        Ok(())
    }

    /// The live (unrevoked) token with this hash.
    pub async fn find_token(&self, hash: &str) -> Result<Option<TokenRow>, StoreError> {
        let sql = "SELECT hash, kind, probe_id, merchant_id, created_at, revoked_at FROM tokens \
                   WHERE hash = $1 AND revoked_at IS NULL";
        with_pool!(self, read, p => {
            let row = sqlx::query(sql).bind(hash).fetch_optional(p).await?;
            match row {
                None => Ok(None),
                Some(r) => Ok(Some(token_row!(r))),
            }
        })
    }

    /// Every token, newest first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let sql = "SELECT hash, kind, probe_id, merchant_id, created_at, revoked_at FROM tokens \
                   ORDER BY created_at DESC, hash";
        with_pool!(self, read, p => {
            let rows = sqlx::query(sql).fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(token_row!(r));
            }
            Ok(out)
        })
    }

    /// Revokes the live tokens whose hash starts with `hash_prefix` (1 to 64
    /// lower-case hex digits) and, when `probe` is given, belong to that
    /// probe. Returns how many were revoked. Refuses to run with neither
    /// selector, which would revoke every token.
    pub async fn revoke_tokens(
        &self,
        hash_prefix: Option<&str>,
        probe: Option<&str>,
        now: i64,
    ) -> Result<u64, StoreError> {
        if hash_prefix.is_none() && probe.is_none() {
            return Err(StoreError::Refused(
                "name the token (its id or the token itself) or the probe to revoke".into(),
            ));
        }
        if let Some(h) = hash_prefix
            && (h.is_empty()
                || h.len() > 64
                || !h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        {
            // Checked here, so the LIKE pattern below holds no wildcard.
            return Err(StoreError::Refused(format!(
                "{h:?} is not a token id: give 1 to 64 lower-case hex digits from `stca2-probe token list`"
            )));
        }
        let mut c = Conditions::default();
        c.raw("revoked_at IS NULL");
        if let Some(h) = hash_prefix {
            c.push("hash LIKE ?", Param::Text(format!("{h}%")));
        }
        if let Some(p) = probe {
            c.push("probe_id = ?", Param::Text(p.to_string()));
        }
        c.params.push(Param::Int(now));
        let sql = format!(
            "UPDATE tokens SET revoked_at = ${}{}",
            c.params.len(),
            c.clause()
        );
        with_pool!(self, write, p => {
            let q = bind_all!(sqlx::query(AssertSqlSafe(sql)), c.params);
            Ok(q.execute(p).await?.rows_affected())
        })
    }
}

/// Size of the chunks [`Store::export_csv`] sends.
pub const CSV_CHUNK: usize = 64 * 1024;

/// Lets one transaction's statements run up to [`EXPORT_TIMEOUT`].
trait LongStatement {
    /// Raises the statement timeout for the rest of this transaction.
    async fn allow_long_statement(&mut self) -> Result<(), StoreError>;
}

impl LongStatement for sqlx::Transaction<'_, sqlx::Sqlite> {
    async fn allow_long_statement(&mut self) -> Result<(), StoreError> {
        Ok(()) // SQLite has no statement timeout.
    }
}

impl LongStatement for sqlx::Transaction<'_, sqlx::Postgres> {
    async fn allow_long_statement(&mut self) -> Result<(), StoreError> {
        let sql = format!(
            "SET LOCAL statement_timeout = {}",
            EXPORT_TIMEOUT.as_millis()
        );
        sqlx::query(AssertSqlSafe(sql)).execute(&mut **self).await?;
        Ok(())
    }
}

/// Most rows in one multi-row statement (PostgreSQL allows 65,535 parameters).
const CHUNK: usize = 500;

/// The closed-streak columns of one probe's latest state.
#[derive(Debug, Clone, Copy)]
struct Streak {
    started_at: i64,
    closed: bool,
    since: Option<i64>,
    count: i64,
}

/// The statements of a batch write. Written once in [`write_batch`] and
/// [`apply_late`]; implemented (same SQL) for both backends' transactions.
trait WriteTx {
    /// Inserts `chunk` into the history; returns the ids it stored (not the duplicates).
    async fn insert_reports(&mut self, chunk: &[&NewReport]) -> Result<Vec<String>, StoreError>;
    /// Upserts `chunk` (each probe at most once) into `latest`; returns the
    /// probes whose latest state moved to the given report.
    async fn upsert_latest(&mut self, chunk: &[&NewReport]) -> Result<Vec<String>, StoreError>;
    /// The streak of `probe`'s latest state.
    async fn streak(&mut self, probe: &str) -> Result<Streak, StoreError>;
    /// How many reports of `probe` started in `(after, up_to]`, and the first one's start.
    async fn reports_between(
        &mut self,
        probe: &str,
        after: i64,
        up_to: i64,
    ) -> Result<(i64, Option<i64>), StoreError>;
    /// The probe of each stored report among `ids`.
    async fn owners(&mut self, ids: &[&str]) -> Result<Vec<(String, String)>, StoreError>;
    /// Sets the streak of `probe`'s latest state.
    async fn set_streak(&mut self, probe: &str, since: i64, count: i64) -> Result<(), StoreError>;
}

macro_rules! impl_write_tx {
    ($db:ty) => {
        impl WriteTx for sqlx::Transaction<'_, $db> {
            async fn insert_reports(
                &mut self,
                chunk: &[&NewReport],
            ) -> Result<Vec<String>, StoreError> {
                let mut q = sqlx::query(AssertSqlSafe(insert_reports_sql(chunk.len())));
                for r in chunk {
                    q = q
                        .bind(&r.report_id)
                        .bind(&r.probe_id)
                        .bind(&r.merchant_id)
                        .bind(r.received_at)
                        .bind(r.started_at)
                        .bind(r.finished_at)
                        .bind(&r.public_ip)
                        .bind(r.stca2_port_closed)
                        .bind(&r.recommendation)
                        .bind(&r.body);
                }
                let rows = q.fetch_all(&mut **self).await?;
                Ok(rows
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, _>>()?)
            }

            async fn upsert_latest(
                &mut self,
                chunk: &[&NewReport],
            ) -> Result<Vec<String>, StoreError> {
                let mut q = sqlx::query(AssertSqlSafe(upsert_latest_sql(chunk.len())));
                for r in chunk {
                    q = q
                        .bind(&r.probe_id)
                        .bind(&r.report_id)
                        .bind(r.started_at)
                        .bind(r.stca2_port_closed)
                        .bind(&r.recommendation)
                        .bind(&r.message)
                        .bind(&r.merchant_id)
                        .bind(&r.public_ip);
                }
                let rows = q.fetch_all(&mut **self).await?;
                Ok(rows
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, _>>()?)
            }

            async fn owners(&mut self, ids: &[&str]) -> Result<Vec<(String, String)>, StoreError> {
                let sql = format!(
                    "SELECT report_id, probe_id FROM reports WHERE report_id IN {}",
                    values_sql(1, ids.len())
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for id in ids {
                    q = q.bind(*id);
                }
                let rows = q.fetch_all(&mut **self).await?;
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect()
            }

            async fn streak(&mut self, probe: &str) -> Result<Streak, StoreError> {
                let row = sqlx::query(
                    "SELECT started_at, stca2_port_closed, closed_since, closed_streak \
                     FROM latest WHERE probe_id = $1",
                )
                .bind(probe)
                .fetch_one(&mut **self)
                .await?;
                Ok(Streak {
                    started_at: row.try_get(0)?,
                    closed: row.try_get(1)?,
                    since: row.try_get(2)?,
                    count: row.try_get(3)?,
                })
            }

            async fn reports_between(
                &mut self,
                probe: &str,
                after: i64,
                up_to: i64,
            ) -> Result<(i64, Option<i64>), StoreError> {
                let row = sqlx::query(
                    "SELECT COUNT(*), MIN(started_at) FROM reports \
                     WHERE probe_id = $1 AND started_at > $2 AND started_at <= $3",
                )
                .bind(probe)
                .bind(after)
                .bind(up_to)
                .fetch_one(&mut **self)
                .await?;
                Ok((row.try_get(0)?, row.try_get(1)?))
            }

            async fn set_streak(
                &mut self,
                probe: &str,
                since: i64,
                count: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE latest SET closed_since = $2, closed_streak = $3 WHERE probe_id = $1",
                )
                .bind(probe)
                .bind(since)
                .bind(count)
                .execute(&mut **self)
                .await?;
                Ok(())
            }
        }
    };
}

impl_write_tx!(sqlx::Sqlite);
impl_write_tx!(sqlx::Postgres);

/// Writes a batch (sorted by `report_id`, no repeats) inside `tx`; returns
/// how many reports were new.
///
/// The order keeps PostgreSQL deadlock-free and the latest state exact:
/// 1. the history, in `report_id` order (`ON CONFLICT DO NOTHING`, so a
///    retry stores nothing twice and concurrent uploads of one report wait
///    for each other);
/// 2. `latest`, in rounds where each probe appears once, in start order, so
///    rows are locked in probe order and a multi-row upsert never touches a
///    row twice. A report older than the stored state does not move it;
/// 3. those late reports, newest first, correct the closed streak
///    ([`apply_late`]); their rows are already locked by step 2.
async fn write_batch<T: WriteTx>(tx: &mut T, sorted: &[&NewReport]) -> Result<usize, StoreError> {
    let mut inserted: Vec<&NewReport> = Vec::with_capacity(sorted.len());
    for chunk in sorted.chunks(CHUNK) {
        let mut ids = tx.insert_reports(chunk).await?;
        ids.sort();
        let (new, old): (Vec<&NewReport>, Vec<&NewReport>) = chunk
            .iter()
            .partition(|r| ids.binary_search(&r.report_id).is_ok());
        inserted.extend(new);
        check_retries(tx, &old).await?;
    }
    let mut late: Vec<&NewReport> = Vec::new();
    for round in rounds(&inserted) {
        for chunk in round.chunks(CHUNK) {
            let mut moved = tx.upsert_latest(chunk).await?;
            moved.sort();
            late.extend(
                chunk
                    .iter()
                    .filter(|r| moved.binary_search(&r.probe_id).is_err()),
            );
        }
    }
    late.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then_with(|| b.report_id.cmp(&a.report_id))
    });
    for r in late {
        apply_late(tx, r).await?;
    }
    Ok(inserted.len())
}

/// Reports already stored must be retries of the same probe's report; a
/// `report_id` stored for another probe fails the whole batch.
async fn check_retries<T: WriteTx>(tx: &mut T, old: &[&NewReport]) -> Result<(), StoreError> {
    if old.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = old.iter().map(|r| r.report_id.as_str()).collect();
    let owners = tx.owners(&ids).await?;
    for r in old {
        if let Some((id, _)) = owners
            .iter()
            .find(|(id, probe)| *id == r.report_id && *probe != r.probe_id)
        {
            return Err(StoreError::ReportIdTaken {
                report_id: id.clone(),
            });
        }
    }
    Ok(())
}

/// Groups reports into rounds where each probe appears at most once, in
/// probe order within a round and in start order across rounds.
fn rounds<'a>(reports: &[&'a NewReport]) -> Vec<Vec<&'a NewReport>> {
    let mut sorted = reports.to_vec();
    sorted.sort_by(|a, b| {
        a.probe_id
            .cmp(&b.probe_id)
            .then(a.started_at.cmp(&b.started_at))
            .then_with(|| a.report_id.cmp(&b.report_id))
    });
    let mut rounds: Vec<Vec<&NewReport>> = Vec::new();
    for group in sorted.chunk_by(|a, b| a.probe_id == b.probe_id) {
        for (k, r) in group.iter().enumerate() {
            if rounds.len() <= k {
                rounds.push(Vec::new());
            }
            rounds[k].push(r);
        }
    }
    rounds
}

/// Corrects the closed streak for a report older than its probe's latest
/// state (it arrived late: a spool replay, a retry after an outage).
///
/// The state keeps this invariant: the streak is the run of closed reports
/// that ends at the latest one, `closed_since` its first start. Late
/// reports are applied newest first, so every report newer than this one
/// is already accounted for:
/// - latest open: an older report changes nothing;
/// - closed, inside the run: one more closed report;
/// - closed, before the run: it joins the run only when no report lies
///   between (the report just before a run is an open one);
/// - open, inside the run: the run restarts after it (counted from history).
async fn apply_late<T: WriteTx>(tx: &mut T, r: &NewReport) -> Result<(), StoreError> {
    let s = tx.streak(&r.probe_id).await?;
    if !s.closed {
        return Ok(());
    }
    let since = s.since.unwrap_or(s.started_at);
    let t = r.started_at;
    let (since, count) = if r.stca2_port_closed {
        if t >= since {
            (since, s.count + 1)
        } else if tx.reports_between(&r.probe_id, t, since - 1).await?.0 == 0 {
            (t, s.count + 1)
        } else {
            return Ok(());
        }
    } else {
        if t < since || t >= s.started_at {
            return Ok(());
        }
        match tx.reports_between(&r.probe_id, t, s.started_at).await? {
            (n, Some(first)) if n > 0 => (first, n),
            _ => return Ok(()),
        }
    };
    tx.set_streak(&r.probe_id, since, count).await
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

/// `($1, ..., $cols), ($cols+1, ...), ...` for `rows` rows of `cols` parameters.
fn values_sql(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 6);
    for i in 0..rows {
        s.push_str(if i == 0 { "(" } else { ", (" });
        for k in 1..=cols {
            if k > 1 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(i * cols + k).to_string());
        }
        s.push(')');
    }
    s
}

fn insert_reports_sql(n: usize) -> String {
    format!(
        "INSERT INTO reports (report_id, probe_id, merchant_id, received_at, started_at, \
         finished_at, public_ip, stca2_port_closed, recommendation, body) VALUES {} \
         ON CONFLICT (report_id) DO NOTHING RETURNING report_id",
        values_sql(n, REPORT_COLS)
    )
}

/// The upsert of one round into `latest`, newer reports only (late ones are
/// [`apply_late`]'s). The closed streak: a closed report after a closed
/// latest extends it; a closed report after an open one starts it; an open
/// report ends it. Returns the probes it moved.
fn upsert_latest_sql(n: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO latest (probe_id, report_id, started_at, stca2_port_closed, closed_since, \
         closed_streak, recommendation, message, merchant_id, public_ip) VALUES ",
    );
    for i in 0..n {
        if i > 0 {
            sql.push(',');
        }
        let b = i * 8;
        // closed_since and closed_streak of a first report derive from its own flag.
        sql.push_str(&format!(
            "(${p}, ${r}, ${s}, ${c}, CASE WHEN ${c} THEN ${s} END, CASE WHEN ${c} THEN 1 ELSE 0 END, ${rec}, ${m}, ${mer}, ${ip})",
            p = b + 1,
            r = b + 2,
            s = b + 3,
            c = b + 4,
            rec = b + 5,
            m = b + 6,
            mer = b + 7,
            ip = b + 8,
        ));
    }
    sql.push_str(
        " ON CONFLICT (probe_id) DO UPDATE SET \
         report_id = excluded.report_id, \
         started_at = excluded.started_at, \
         stca2_port_closed = excluded.stca2_port_closed, \
         closed_since = CASE WHEN NOT excluded.stca2_port_closed THEN NULL \
                             WHEN latest.stca2_port_closed THEN latest.closed_since \
                             ELSE excluded.started_at END, \
         closed_streak = CASE WHEN NOT excluded.stca2_port_closed THEN 0 \
                              WHEN latest.stca2_port_closed THEN latest.closed_streak + 1 \
                              ELSE 1 END, \
         recommendation = excluded.recommendation, \
         message = excluded.message, \
         merchant_id = COALESCE(excluded.merchant_id, latest.merchant_id), \
         public_ip = excluded.public_ip \
         WHERE excluded.started_at > latest.started_at \
         RETURNING probe_id",
    );
    sql
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

#[cfg(test)]
mod sql_tests {
    use super::*;

    #[test]
    fn values_are_numbered_row_by_row() {
        assert_eq!(values_sql(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(LATEST_COLS.split(',').count(), LATEST_COL_COUNT);
    }
}
