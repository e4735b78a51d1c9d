//! Storage: one schema, two databases.
//!
//! The back office keeps three tables (see `migrations/`): `reports`, the
//! history; `latest`, one row per probe, updated in the same transaction as
//! the history; and `tokens`, the hashes of API tokens. The same SQL runs on
//! SQLite (the default: one file, WAL mode, one writer connection and a few
//! readers) and on PostgreSQL (for a national fleet). Times are Unix
//! milliseconds (UTC) in both, so that every statement is written once: the
//! [`with_pool!`] macro expands a body once per backend, with `$1`-style
//! placeholders, which both accept.
//!
//! Writes are ordered to stay deadlock-free on PostgreSQL: a batch inserts its
//! reports sorted by `report_id` (`ON CONFLICT DO NOTHING`, so a retry stores
//! nothing twice), then updates `latest` sorted by probe and start time. An
//! older report arriving late goes to the history but never overwrites a newer
//! latest state.

use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row, SqlSafeStr};
use tokio::sync::mpsc;

use crate::report::Report;

/// The SQLite migrations, embedded in the binary.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "backoffice",
    include_str!("../../migrations/sqlite/0001_backoffice.sql"),
)];

/// The PostgreSQL migrations, embedded in the binary.
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "backoffice",
    include_str!("../../migrations/postgres/0001_backoffice.sql"),
)];

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no supported database.
    #[error(
        "unsupported database URL {0:?}: use sqlite://FILE (created on first start) or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl(String),
    /// Connecting failed.
    #[error(
        "cannot open database {url}: {source}; check the URL, that the server runs and that the file's directory is writable"
    )]
    Connect {
        /// The URL, as given.
        url: String,
        /// What the driver said.
        source: sqlx::Error,
    },
    /// Applying the schema failed.
    #[error("cannot apply the back-office schema: {0}; is this database used by another program?")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A statement failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value could not be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Nothing matched.
    #[error("{0}")]
    NotFound(String),
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

const LATEST_COLS: &str = "probe_id, report_id, started_at, stca2_port_closed, closed_since, \
                           closed_streak, recommendation, message, merchant_id, public_ip";

const REPORT_COLS: usize = 10;

impl Store {
    /// Opens (and creates, for SQLite) the database at `url` and applies the schema.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let conn_err = |source| StoreError::Connect {
            url: url.to_string(),
            source,
        };
        if url.starts_with("sqlite:") {
            if url.contains(":memory:") || url.contains("mode=memory") {
                return Err(StoreError::UnsupportedUrl(format!(
                    "{url} (in-memory SQLite is not shared between connections; use a file)"
                )));
            }
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(conn_err)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .pragma("cache_size", "-65536");
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts.clone())
                .await
                .map_err(conn_err)?;
            migrator(SQLITE_MIGRATIONS).run(&write).await?;
            let read = SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts.read_only(true))
                .await
                .map_err(conn_err)?;
            Ok(Store::Sqlite { write, read })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url).map_err(conn_err)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await
                .map_err(conn_err)?;
            migrator(POSTGRES_MIGRATIONS).run(&pool).await?;
            Ok(Store::Postgres(pool))
        } else {
            Err(StoreError::UnsupportedUrl(url.to_string()))
        }
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
    /// change nothing.
    pub async fn insert_batch(&self, batch: &[NewReport]) -> Result<InsertOutcome, StoreError> {
        if batch.is_empty() {
            return Ok(InsertOutcome::default());
        }
        let mut sorted: Vec<&NewReport> = batch.iter().collect();
        sorted.sort_by(|a, b| a.report_id.cmp(&b.report_id));
        sorted.dedup_by(|a, b| a.report_id == b.report_id);

        with_pool!(self, write, pool => {
            let mut tx = pool.begin().await?;
            // 1. History, in chunks of multi-row inserts.
            let mut inserted: Vec<&NewReport> = Vec::with_capacity(sorted.len());
            for chunk in sorted.chunks(500) {
                let sql = insert_reports_sql(chunk.len());
                let mut q = sqlx::query(AssertSqlSafe(sql));
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
                let rows = q.fetch_all(&mut *tx).await?;
                let mut ids = Vec::with_capacity(rows.len());
                for row in &rows {
                    ids.push(row.try_get::<String, _>(0)?);
                }
                ids.sort();
                inserted.extend(chunk.iter().filter(|r| ids.binary_search(&r.report_id).is_ok()));
            }
            let stored = inserted.len();
            // 2. Latest state, in rounds where each probe appears at most once,
            //    in start order, so a multi-row upsert never touches a row twice.
            inserted.sort_by(|a, b| {
                a.probe_id.cmp(&b.probe_id).then(a.started_at.cmp(&b.started_at))
            });
            let mut rounds: Vec<Vec<&NewReport>> = Vec::new();
            let mut i = 0;
            while i < inserted.len() {
                let mut k = 0;
                let mut j = i;
                while j < inserted.len() && inserted[j].probe_id == inserted[i].probe_id {
                    if rounds.len() <= k {
                        rounds.push(Vec::new());
                    }
                    rounds[k].push(inserted[j]);
                    k += 1;
                    j += 1;
                }
                i = j;
            }
            for round in &rounds {
                for chunk in round.chunks(500) {
                    let sql = upsert_latest_sql(chunk.len());
                    let mut q = sqlx::query(AssertSqlSafe(sql));
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
                    q.execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(InsertOutcome {
                stored,
                duplicates: batch.len() - stored,
            })
        })
    }

    /// Writes `rows` straight into `latest` (benchmarks and imports), replacing any.
    pub async fn seed_latest(&self, rows: &[LatestRow]) -> Result<(), StoreError> {
        with_pool!(self, write, pool => {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(1000) {
                let mut sql = format!("INSERT INTO latest ({LATEST_COLS}) VALUES ");
                for i in 0..chunk.len() {
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&placeholders(i * 10, 10));
                }
                sql.push_str(" ON CONFLICT (probe_id) DO NOTHING");
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
        if let Some(m) = &filter.merchant {
            c.push("merchant_id = ?", Param::Text(m.clone()));
        }
        if let Some(r) = &filter.recommendation {
            c.push("recommendation = ?", Param::Text(r.clone()));
        }
        if let Some(s) = filter.since {
            c.push("started_at >= ?", Param::Int(s));
        }
        if let Some(u) = filter.until {
            c.push("started_at < ?", Param::Int(u));
        }
        if let Some(a) = &filter.after {
            c.push("probe_id > ?", Param::Text(a.clone()));
        }
        let sql = format!(
            "SELECT {LATEST_COLS} FROM latest{} ORDER BY probe_id LIMIT {}",
            c.clause(),
            filter.limit
        );
        with_pool!(self, read, pool => {
            let q = bind_all!(sqlx::query(AssertSqlSafe(sql)), c.params);
            let rows = q.fetch_all(pool).await?;
            rows.iter().map(|row| Ok(LatestRow {
                probe_id: row.try_get(0)?,
                report_id: row.try_get(1)?,
                started_at: row.try_get(2)?,
                stca2_port_closed: row.try_get(3)?,
                closed_since: row.try_get(4)?,
                closed_streak: row.try_get(5)?,
                recommendation: row.try_get(6)?,
                message: row.try_get(7)?,
                merchant_id: row.try_get(8)?,
                public_ip: row.try_get(9)?,
            })).collect()
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
                Some(row) => Ok(Some((
                    LatestRow {
                        probe_id: row.try_get(0)?,
                        report_id: row.try_get(1)?,
                        started_at: row.try_get(2)?,
                        stca2_port_closed: row.try_get(3)?,
                        closed_since: row.try_get(4)?,
                        closed_streak: row.try_get(5)?,
                        recommendation: row.try_get(6)?,
                        message: row.try_get(7)?,
                        merchant_id: row.try_get(8)?,
                        public_ip: row.try_get(9)?,
                    },
                    row.try_get(10)?,
                ))),
            }
        })
    }

    /// The `limit` most recent reports of one probe, newest first.
    pub async fn history(&self, probe_id: &str, limit: u32) -> Result<Vec<HistoryRow>, StoreError> {
        let sql = "SELECT report_id, started_at, finished_at, received_at, public_ip, \
                   stca2_port_closed, recommendation FROM reports WHERE probe_id = $1 \
                   ORDER BY started_at DESC LIMIT $2";
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
        let sql = "DELETE FROM reports WHERE report_id IN (SELECT report_id FROM reports \
                   WHERE started_at < $1 AND report_id NOT IN (SELECT report_id FROM latest) \
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
    /// about 64 KiB. Memory stays constant: rows are read one by one from
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
            if let Some(m) = &filter.merchant {
                c.push("l.merchant_id = ?", Param::Text(m.clone()));
            }
            if let Some(s) = filter.since {
                c.push("l.started_at >= ?", Param::Int(s));
            }
            if let Some(u) = filter.until {
                c.push("l.started_at < ?", Param::Int(u));
            }
            format!(
                "SELECT r.body, r.public_ip FROM latest l JOIN reports r ON r.report_id = l.report_id{} ORDER BY l.probe_id",
                c.clause()
            )
        } else {
            if let Some(m) = &filter.merchant {
                c.push("merchant_id = ?", Param::Text(m.clone()));
            }
            if let Some(s) = filter.since {
                c.push("started_at >= ?", Param::Int(s));
            }
            if let Some(u) = filter.until {
                c.push("started_at < ?", Param::Int(u));
            }
            format!(
                "SELECT body, public_ip FROM reports{} ORDER BY started_at, report_id",
                c.clause()
            )
        };
        let csv_err = |e: String| StoreError::Corrupt(format!("writing CSV: {e}"));
        let new_writer = || {
            csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(Vec::with_capacity(80 * 1024))
        };
        // A writer per ~64 KiB chunk: `into_inner` hands over its buffer.
        let mut w = new_writer();
        w.write_record(crate::report::csv::COLUMNS)
            .map_err(|e| csv_err(e.to_string()))?;
        let mut count = 0u64;
        let mut pending = 0usize;
        with_pool!(self, read, pool => {
            let q = bind_all!(sqlx::query(AssertSqlSafe(sql)), c.params);
            let mut rows = q.fetch(pool);
            while let Some(row) = rows.try_next().await? {
                let body: String = row.try_get(0)?;
                let ip: Option<String> = row.try_get(1)?;
                let report: Report = serde_json::from_str(&body)
                    .map_err(|e| StoreError::Corrupt(format!("stored report: {e}")))?;
                pending += body.len();
                for cells in crate::report::csv::rows(&report, ip.as_deref()) {
                    w.write_record(&cells).map_err(|e| csv_err(e.to_string()))?;
                    count += 1;
                }
                if pending >= 64 * 1024 {
                    pending = 0;
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

    /// Revokes the live tokens whose hash starts with `hash_prefix`, or
    /// (when `probe` is given instead) every live token of that probe.
    /// Returns how many were revoked.
    pub async fn revoke_tokens(
        &self,
        hash_prefix: Option<&str>,
        probe: Option<&str>,
        now: i64,
    ) -> Result<u64, StoreError> {
        let mut c = Conditions::default();
        c.raw("revoked_at IS NULL");
        if let Some(h) = hash_prefix {
            // Callers pass hex only, so the prefix holds no LIKE wildcard.
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

/// `($from+1, ..., $from+n)`.
fn placeholders(from: usize, n: usize) -> String {
    let mut s = String::from("(");
    for k in 1..=n {
        if k > 1 {
            s.push_str(", ");
        }
        s.push('$');
        s.push_str(&(from + k).to_string());
    }
    s.push(')');
    s
}

fn insert_reports_sql(n: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO reports (report_id, probe_id, merchant_id, received_at, started_at, \
         finished_at, public_ip, stca2_port_closed, recommendation, body) VALUES ",
    );
    for i in 0..n {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&placeholders(i * REPORT_COLS, REPORT_COLS));
    }
    sql.push_str(" ON CONFLICT (report_id) DO NOTHING RETURNING report_id");
    sql
}

/// The closed streak: a closed report after a closed latest extends it; a
/// closed report after an open one starts it; an open report ends it.
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
         WHERE excluded.started_at > latest.started_at",
    );
    sql
}

/// Unix milliseconds of `t`.
pub fn unix_ms(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
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
