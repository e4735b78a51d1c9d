//! The write path: ingest (hour counters, latest state and changed bodies
//! in one transaction) and retention.
//!
//! Storage grows with change, not with time. Every report is counted once
//! in `report_hours` (one row per probe and hour of check start: counters,
//! latency and loss aggregates, and a 12-byte record per report);
//! `latest` holds the latest report's columns and the body of the report
//! that began the current state; and `reports` keeps a report's full body
//! only when it changed the probe's state ([`state_key`]: port statuses,
//! CA family, chain fingerprint, recommendation, finding codes). A report
//! that says what its probe's state says writes no body at all.
//!
//! Exactly once: a retry of a report stored whole finds its `report_id` in
//! `reports`; a retry of a report only counted finds its record in its
//! hour's row, which the upsert checks and extends in one statement (the
//! row lock orders concurrent uploads of one report: the second sees the
//! first's record). The hour of a report is that of its start, so a retry
//! always meets the row that counted it.
//!
//! Writes are ordered to stay deadlock-free on PostgreSQL and to keep the
//! latest state exact whatever order reports arrive in (`write_batch`). An
//! older report arriving late is counted, never overwrites a newer latest
//! state, and corrects the closed streak (`apply_late`).
//!
//! Every row of `latest` is written by one statement shape, `INSERT INTO
//! latest (LATEST_COLS) VALUES ...`, bound by one helper ([`bind_latest`]):
//! a probe's first report gives it the state [`LatestRow::first`], and the
//! upsert's `ON CONFLICT` clause moves an existing state forward.
//!
//! A TCP-only report (a daemon's `tls_every` on a metered link: its TLS
//! parts say `not_attempted`, [`Report::tcp_only`]) says nothing about TLS.
//! It moves the TCP facts forward like any other report (the latest report,
//! "Port STCA2 non ouvert" and its closed streak) but keeps the failover
//! recommendation and message of the state before it; and when its TCP
//! facts are those of the state (the first half of [`state_key`]), it is
//! not a change of state: the state's key, its start and the state's body
//! (whose TLS facts still stand, for the console's finding lists) stay, and
//! its body is not kept. A probe whose first report is TCP-only starts with
//! the recommendation `none` until a full one arrives.

use sqlx::{AssertSqlSafe, Row};

use stca2_report::Report;

use super::query::{LATEST_COL_COUNT, LATEST_COLS, LatestRow};
use super::{Backend, Store, StoreError, unix_ms};

/// One hour in milliseconds: the unit of `report_hours`.
pub const HOUR_MS: i64 = 3_600_000;

/// The hour (since the epoch, UTC) a time in Unix ms falls in.
pub fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS)
}

/// Bytes per report in `report_hours.recs`: 8 of SHA-256 of the report id,
/// 4 of the start's offset in its hour (ms), big-endian.
pub const REC_BYTES: usize = 12;

/// What an operator cares about in `report`, digested, in two halves of
/// [`STATE_HALF`] hex digits: the TCP facts (every target's address, port
/// and TCP outcome, and the STCA2 verdict), then the rest (every target's
/// TLS outcome, CA family and chain: subject, issuer, serial of each
/// certificate; the recommendation, the set of finding codes, and the
/// probe's own facts: version, host name, merchant, source, interface).
/// Two reports with the same key say the same thing; only latencies,
/// times, ids and the spool's lost count differ (the latter has a column
/// of its own in `latest`, moved by every report: a spool at its bound
/// loses one more report each cycle). A TCP-only report is compared on
/// the first half alone ([`same_state`]).
pub fn state_key(report: &Report) -> String {
    use std::collections::BTreeSet;
    let tcp: Vec<serde_json::Value> = report
        .results
        .iter()
        .map(|t| serde_json::json!([t.site, t.address, t.port, t.tcp.status]))
        .collect();
    let tcp = serde_json::json!([tcp, report.summary.stca2_port_closed]);
    let tls: Vec<serde_json::Value> = report
        .results
        .iter()
        .map(|t| {
            let tls = t.tls.as_ref();
            serde_json::json!([
                tls.map(|x| x.status),
                tls.and_then(|x| x.ca_family),
                tls.map(|x| x
                    .chain
                    .iter()
                    .map(|c| [c.subject.as_str(), c.issuer.as_str(), c.serial.as_str()])
                    .collect::<Vec<_>>()),
            ])
        })
        .collect();
    let codes: BTreeSet<&str> = report
        .summary
        .findings
        .iter()
        .map(|f| f.code.as_str())
        .collect();
    let p = &report.probe;
    let probe = serde_json::json!([p.version, p.hostname, p.merchant, p.source, p.interface]);
    let rest = serde_json::json!([tls, report.summary.failover.recommendation, codes, probe]);
    let half = |v: serde_json::Value| -> String {
        let d = ring::digest::digest(&ring::digest::SHA256, v.to_string().as_bytes());
        d.as_ref()[..STATE_HALF / 2]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    half(tcp) + &half(rest)
}

/// Hex digits in each half of a [`state_key`].
pub const STATE_HALF: usize = 16;

/// Whether `r` leaves its probe in the state whose key is `before`: the
/// same key, or for a TCP-only report the same TCP facts (the key's first
/// half). The SQL twin is [`same_state_sql`].
fn same_state(before: &str, r: &NewReport) -> bool {
    if r.tls_checked {
        before == r.state_key
    } else {
        before.get(..STATE_HALF) == r.state_key.get(..STATE_HALF)
    }
}

/// [`same_state`] in the upsert of `latest`: `latest.state_key` is the
/// state before, `excluded` the report.
fn same_state_sql(tls_checked: bool) -> String {
    if tls_checked {
        "latest.state_key = excluded.state_key".into()
    } else {
        format!(
            "substr(latest.state_key, 1, {STATE_HALF}) = substr(excluded.state_key, 1, {STATE_HALF})"
        )
    }
}

/// The record of a report in its hour's row (see [`REC_BYTES`]).
pub(super) fn hour_record(report_id: &str, started_at: i64) -> Vec<u8> {
    let d = ring::digest::digest(&ring::digest::SHA256, report_id.as_bytes());
    let offset = (started_at - hour_of(started_at) * HOUR_MS) as u32;
    let mut rec = Vec::with_capacity(REC_BYTES);
    rec.extend_from_slice(&d.as_ref()[..8]);
    rec.extend_from_slice(&offset.to_be_bytes());
    rec
}

/// The start times (Unix ms) of the reports counted in one hour's row.
fn record_starts(hour: i64, recs: &[u8]) -> impl Iterator<Item = i64> + '_ {
    recs.chunks_exact(REC_BYTES)
        .map(move |r| hour * HOUR_MS + i64::from(u32::from_be_bytes([r[8], r[9], r[10], r[11]])))
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
    /// The report's finding codes, each between commas ([`finding_codes`]).
    pub findings: String,
    /// False for a TCP-only report ([`Report::tcp_only`]): it keeps the
    /// state's recommendation, and its TCP facts alone tell a change.
    pub tls_checked: bool,
    /// The report as JSON text.
    pub body: String,
    /// What an operator cares about, digested ([`state_key`]): a report
    /// whose key differs from its probe's previous state is stored whole.
    pub state_key: String,
    /// Connection attempts over every target.
    pub attempts: u32,
    /// Successful connections over every target (loss: the rest).
    pub successes: u32,
    /// Targets with a connect-time median.
    pub connect_n: u32,
    /// Sum of those medians (ms).
    pub connect_ms_sum: f64,
    /// The slowest connection of any target (ms).
    pub connect_ms_max: f64,
    /// How many reports the probe's spool has dropped since it was
    /// installed, as this report says (`probe.spool_dropped`).
    pub spool_dropped: Option<i64>,
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
        let medians: Vec<f64> = report
            .results
            .iter()
            .filter_map(|t| t.tcp.connect_ms.as_ref().map(|s| s.p50))
            .collect();
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
            findings: finding_codes(report),
            tls_checked: !report.tcp_only(),
            body,
            state_key: state_key(report),
            attempts: report.results.iter().map(|t| t.tcp.attempts).sum(),
            successes: report.results.iter().map(|t| t.tcp.successes).sum(),
            connect_n: medians.len() as u32,
            connect_ms_sum: medians.iter().sum(),
            connect_ms_max: report
                .results
                .iter()
                .filter_map(|t| t.tcp.connect_ms.as_ref().map(|s| s.max))
                .fold(0.0, f64::max),
            spool_dropped: report
                .probe
                .spool_dropped
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        }
    }
}

/// Whether `s` is spelled as the contract's codes and recommendations are:
/// not empty, `[a-z0-9_]` only. Such a word can stand as a literal in SQL.
pub fn is_contract_spelling(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The finding codes of `report`, sorted, once each, each between commas:
/// `,interception,old_ca,`, or `` when it has none. A code is a contract
/// spelling ([`is_contract_spelling`]); one from the field that is not
/// cannot be asked for, and is left out so that it cannot make a list's
/// `LIKE` match another code.
pub fn finding_codes(report: &Report) -> String {
    let mut codes: Vec<&str> = report
        .summary
        .findings
        .iter()
        .map(|f| f.code.as_str())
        .filter(|c| is_contract_spelling(c))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    if codes.is_empty() {
        String::new()
    } else {
        format!(",{},", codes.join(","))
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

impl LatestRow {
    /// The state a probe's first report gives it: a closed report starts a
    /// streak of one, an open one none.
    pub fn first(r: &NewReport) -> LatestRow {
        LatestRow {
            probe_id: r.probe_id.clone(),
            report_id: r.report_id.clone(),
            started_at: r.started_at,
            stca2_port_closed: r.stca2_port_closed,
            closed_since: r.stca2_port_closed.then_some(r.started_at),
            closed_streak: i64::from(r.stca2_port_closed),
            recommendation: r.recommendation.clone(),
            message: r.message.clone(),
            merchant_id: r.merchant_id.clone(),
            public_ip: r.public_ip.clone(),
            findings: r.findings.clone(),
        }
    }
}

/// Binds the columns of `latest` ([`LATEST_COLS`], in order) of one row:
/// the one bind sequence of every statement that writes `latest`.
fn bind_latest_row<'q, DB>(
    q: sqlx::query::Query<'q, DB, DB::Arguments>,
    r: &LatestRow,
) -> sqlx::query::Query<'q, DB, DB::Arguments>
where
    DB: sqlx::Database,
    for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<String>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<i64>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> bool: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    q.bind(r.probe_id.clone())
        .bind(r.report_id.clone())
        .bind(r.started_at)
        .bind(r.stca2_port_closed)
        .bind(r.closed_since)
        .bind(r.closed_streak)
        .bind(r.recommendation.clone())
        .bind(r.message.clone())
        .bind(r.merchant_id.clone())
        .bind(r.public_ip.clone())
        .bind(r.findings.clone())
}

/// `INSERT INTO latest (LATEST_COLS) VALUES ...` for `n` rows.
fn insert_latest_sql(n: usize) -> String {
    format!(
        "INSERT INTO latest ({LATEST_COLS}) VALUES {}",
        values_sql(n, LATEST_COL_COUNT)
    )
}

/// The columns the ingest writes in `latest` besides [`LATEST_COLS`].
/// (Not the body: the upsert does not send it, since most reports leave
/// the state's body as it is; [`write_batch`] sets the body of a state
/// that changed.)
const LATEST_INGEST_COLS: &str = "finished_at, received_at, state_key, prev_state_key, \
     state_since, state_reports, spool_dropped, state_report_id";

/// How many columns [`LATEST_INGEST_COLS`] names.
const LATEST_INGEST_COL_COUNT: usize = 8;

impl Store {
    /// Stores a batch in one transaction: all of it, or nothing on error.
    ///
    /// Reports already stored (same `report_id`, whether kept whole or only
    /// counted), or sent twice in the batch, count as duplicates and change
    /// nothing; a `report_id` of two probes (stored whole, or both in the
    /// batch) fails it with [`StoreError::ReportIdTaken`]; see `write_batch`
    /// in this module for the order of the writes.
    pub async fn insert_batch(&self, batch: &[NewReport]) -> Result<InsertOutcome, StoreError> {
        let refs: Vec<&NewReport> = batch.iter().collect();
        let stored = self.insert_counted(&refs).await?.len();
        Ok(InsertOutcome {
            stored,
            duplicates: batch.len() - stored,
        })
    }

    /// [`Store::insert_batch`], returning the ids of the reports stored now
    /// (each once, whatever the batch repeats): what a caller that merged
    /// several uploads into one batch (their rows by reference, not copied)
    /// needs to answer each of them.
    pub async fn insert_counted(&self, batch: &[&NewReport]) -> Result<Vec<String>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut sorted: Vec<&NewReport> = batch.to_vec();
        sorted.sort_by(|a, b| a.report_id.cmp(&b.report_id));
        // One report sent twice is a retry; one id for two probes is not.
        if let Some(w) = sorted
            .windows(2)
            .find(|w| w[0].report_id == w[1].report_id && w[0].probe_id != w[1].probe_id)
        {
            return Err(StoreError::ReportIdTaken {
                report_id: w[0].report_id.clone(),
            });
        }
        sorted.dedup_by(|a, b| a.report_id == b.report_id);
        let backend = self.backend();
        let counted = with_pool!(self, write, pool => {
            let mut tx = pool.begin().await?;
            let counted = write_batch(&mut tx, backend, &sorted).await?;
            tx.commit().await?;
            counted
        });
        Ok(counted)
    }

    /// Writes `rows` straight into `latest` (benchmarks and imports); probes
    /// already there are left as they are.
    pub async fn seed_latest(&self, rows: &[LatestRow]) -> Result<(), StoreError> {
        with_pool!(self, write, pool => {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(CHUNK) {
                let sql = format!(
                    "{} ON CONFLICT (probe_id) DO NOTHING",
                    insert_latest_sql(chunk.len())
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for r in chunk {
                    q = bind_latest_row(q, r);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Deletes history older than `cutoff` (Unix ms); returns how many rows
    /// went (bodies and hour rows).
    ///
    /// Bodies: every stored report that started before `cutoff` and is not
    /// its probe's newest stored one (which tells since when the current
    /// state holds), in chunks, so the writer is never held long. Hour
    /// rows: whole days, once the day ends before `cutoff`: on PostgreSQL
    /// by dropping the day's partition, on SQLite in chunks. On PostgreSQL
    /// one replica at a time does it (an advisory lock); another finding
    /// the lock taken returns 0 at once.
    pub async fn prune(&self, cutoff: i64) -> Result<u64, StoreError> {
        let first_kept_hour = hour_of(cutoff).div_euclid(24) * 24;
        let bodies = "DELETE FROM reports WHERE report_id IN (SELECT r.report_id FROM reports r \
                      WHERE r.started_at < $1 AND EXISTS (SELECT 1 FROM reports n \
                      WHERE n.probe_id = r.probe_id AND n.started_at > r.started_at) \
                      LIMIT 5000)";
        let hours = "DELETE FROM report_hours WHERE (probe_id, hour) IN \
                     (SELECT probe_id, hour FROM report_hours WHERE hour < $1 LIMIT 5000)";
        match self {
            Store::Sqlite { write, .. } => {
                let mut total = 0;
                for (sql, bound) in [(bodies, cutoff), (hours, first_kept_hour)] {
                    loop {
                        let n = sqlx::query(sql)
                            .bind(bound)
                            .execute(write)
                            .await?
                            .rows_affected();
                        total += n;
                        if n == 0 {
                            break;
                        }
                    }
                }
                Ok(total)
            }
            Store::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let got: bool = sqlx::query_scalar(UPKEEP_TRY_LOCK)
                    .fetch_one(&mut *conn)
                    .await?;
                if !got {
                    return Ok(0);
                }
                let run = async {
                    let mut total = 0u64;
                    let parts: Vec<(String, i64)> = sqlx::query_as(
                        "SELECT c.relname::TEXT, substr(c.relname, 15)::BIGINT \
                         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                         WHERE i.inhparent = 'report_hours'::regclass \
                         AND c.relname ~ '^report_hours_d[0-9]+$'",
                    )
                    .fetch_all(&mut *conn)
                    .await?;
                    for (name, day) in parts {
                        if (day + 1) * 24 > first_kept_hour {
                            continue;
                        }
                        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
                            "SELECT COUNT(*) FROM \"{name}\""
                        )))
                        .fetch_one(&mut *conn)
                        .await?;
                        sqlx::query("SET lock_timeout = '5s'")
                            .execute(&mut *conn)
                            .await?;
                        let dropped = sqlx::query(AssertSqlSafe(format!("DROP TABLE \"{name}\"")))
                            .execute(&mut *conn)
                            .await;
                        sqlx::query("SET lock_timeout = 0")
                            .execute(&mut *conn)
                            .await?;
                        dropped?;
                        total += n as u64;
                    }
                    for (sql, bound) in [(bodies, cutoff), (hours, first_kept_hour)] {
                        loop {
                            let n = sqlx::query(sql)
                                .bind(bound)
                                .execute(&mut *conn)
                                .await?
                                .rows_affected();
                            total += n;
                            if n == 0 {
                                break;
                            }
                        }
                    }
                    Ok::<u64, StoreError>(total)
                };
                let out = run.await;
                sqlx::query(UPKEEP_UNLOCK).execute(&mut *conn).await?;
                out
            }
        }
    }

    /// PostgreSQL: creates the day partitions of `report_hours` from the
    /// day before `now` (Unix ms) to [`PARTITIONS_AHEAD`] days after, under
    /// the upkeep advisory lock (a replica finding it taken does nothing:
    /// another is at it). Returns how many it created; SQLite: nothing to do.
    pub async fn upkeep(&self, now: i64) -> Result<u32, StoreError> {
        let Store::Postgres(pool) = self else {
            return Ok(0);
        };
        let day = now.div_euclid(86_400_000);
        let mut conn = pool.acquire().await?;
        let got: bool = sqlx::query_scalar(UPKEEP_TRY_LOCK)
            .fetch_one(&mut *conn)
            .await?;
        if !got {
            return Ok(0);
        }
        sqlx::query("SET lock_timeout = '5s'")
            .execute(&mut *conn)
            .await?;
        let made: Result<i32, sqlx::Error> =
            sqlx::query_scalar("SELECT stca2_report_hours_ensure($1, $2)")
                .bind(day - 1)
                .bind(day + PARTITIONS_AHEAD)
                .fetch_one(&mut *conn)
                .await;
        sqlx::query("SET lock_timeout = 0")
            .execute(&mut *conn)
            .await?;
        sqlx::query(UPKEEP_UNLOCK).execute(&mut *conn).await?;
        Ok(made? as u32)
    }
}

/// How many days ahead [`Store::upkeep`] creates partitions.
pub const PARTITIONS_AHEAD: i64 = 7;

/// The session advisory lock of retention and partition upkeep: one per
/// schema, so that replicas on one database take turns.
const UPKEEP_TRY_LOCK: &str =
    "SELECT pg_try_advisory_lock(hashtext(current_schema() || '.stca2_upkeep'))";
const UPKEEP_UNLOCK: &str =
    "SELECT pg_advisory_unlock(hashtext(current_schema() || '.stca2_upkeep'))";

/// How many columns `reports` has.
const REPORT_COLS: usize = 11;

/// How many columns `report_hours` has.
const HOUR_COLS: usize = 10;

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
/// [`apply_late`]; implemented (same SQL but where noted) for both
/// backends' transactions.
trait WriteTx {
    /// Serialises this transaction with every other one touching these
    /// probes (PostgreSQL advisory locks, taken in key order; SQLite has a
    /// single writer).
    async fn lock_probes(&mut self, probes: &[&str]) -> Result<(), StoreError>;
    /// Counts `chunk` (each probe at most once) in its hours' rows; returns
    /// the probes whose report was new there (not a retry).
    async fn count_hours(
        &mut self,
        backend: Backend,
        chunk: &[&NewReport],
    ) -> Result<Vec<String>, StoreError>;
    /// Stores the bodies of `chunk`; returns the ids it stored.
    async fn insert_reports(&mut self, chunk: &[&NewReport]) -> Result<Vec<String>, StoreError>;
    /// Upserts `chunk` (each probe at most once) into `latest`; returns the
    /// probes whose latest state moved to the given report, each with
    /// whether its state stayed the same (false for a new probe).
    async fn upsert_latest(
        &mut self,
        chunk: &[&NewReport],
    ) -> Result<Vec<(String, bool)>, StoreError>;
    /// The state key of `probe`'s newest stored report started at or
    /// before `t`: None when there is none, Some(None) for one stored
    /// before state keys existed.
    async fn state_before(
        &mut self,
        probe: &str,
        t: i64,
    ) -> Result<Option<Option<String>>, StoreError>;
    /// The streak of `probe`'s latest state.
    async fn streak(&mut self, probe: &str) -> Result<Streak, StoreError>;
    /// The records of `probe`'s hour rows from hour `first` to `last`.
    async fn hour_records(
        &mut self,
        probe: &str,
        first: i64,
        last: i64,
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError>;
    /// The probe of each report among `ids` stored whole.
    async fn owners(&mut self, ids: &[&str]) -> Result<Vec<(String, String)>, StoreError>;
    /// Sets the streak of `probe`'s latest state.
    async fn set_streak(&mut self, probe: &str, since: i64, count: i64) -> Result<(), StoreError>;
    /// Sets the body of each report's probe's latest state to the
    /// report's (a state that began now; one report per probe).
    async fn set_latest_bodies(&mut self, chunk: &[&NewReport]) -> Result<(), StoreError>;
}

macro_rules! impl_write_tx {
    ($db:ty) => {
        impl WriteTx for sqlx::Transaction<'_, $db> {
            async fn lock_probes(&mut self, probes: &[&str]) -> Result<(), StoreError> {
                lock_probes_in(self, probes).await
            }

            async fn count_hours(
                &mut self,
                backend: Backend,
                chunk: &[&NewReport],
            ) -> Result<Vec<String>, StoreError> {
                let mut q = sqlx::query(AssertSqlSafe(count_hours_sql(backend, chunk.len())));
                for r in chunk {
                    q = q
                        .bind(&r.probe_id)
                        .bind(hour_of(r.started_at))
                        .bind(1i32)
                        .bind(i32::from(r.stca2_port_closed))
                        .bind(r.attempts as i32)
                        .bind(r.successes as i32)
                        .bind(r.connect_n as i32)
                        .bind(r.connect_ms_sum)
                        .bind(r.connect_ms_max)
                        .bind(hour_record(&r.report_id, r.started_at));
                }
                let rows = q.fetch_all(&mut **self).await?;
                Ok(rows
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, _>>()?)
            }

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
                        .bind(&r.body)
                        .bind(&r.state_key);
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
            ) -> Result<Vec<(String, bool)>, StoreError> {
                // Full and TCP-only reports: one statement each.
                let mut moved = Vec::with_capacity(chunk.len());
                for tls_checked in [true, false] {
                    let rows: Vec<&&NewReport> = chunk
                        .iter()
                        .filter(|r| r.tls_checked == tls_checked)
                        .collect();
                    if rows.is_empty() {
                        continue;
                    }
                    let sql = upsert_latest_sql(rows.len(), tls_checked);
                    let mut q = sqlx::query(AssertSqlSafe(sql));
                    for r in rows {
                        q = bind_latest_row(q, &LatestRow::first(r))
                            .bind(r.finished_at)
                            .bind(r.received_at)
                            .bind(&r.state_key)
                            .bind(None::<String>)
                            .bind(r.started_at)
                            .bind(1i64)
                            .bind(r.spool_dropped)
                            .bind(&r.report_id);
                    }
                    for row in q.fetch_all(&mut **self).await? {
                        let (probe, before, after): (String, Option<String>, Option<String>) =
                            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                        moved.push((probe, before.is_some() && before == after));
                    }
                }
                Ok(moved)
            }

            async fn state_before(
                &mut self,
                probe: &str,
                t: i64,
            ) -> Result<Option<Option<String>>, StoreError> {
                let row = sqlx::query(
                    "SELECT state_key FROM reports WHERE probe_id = $1 AND started_at <= $2 \
                     ORDER BY started_at DESC, report_id DESC LIMIT 1",
                )
                .bind(probe)
                .bind(t)
                .fetch_optional(&mut **self)
                .await?;
                Ok(match row {
                    None => None,
                    Some(r) => Some(r.try_get(0)?),
                })
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

            async fn hour_records(
                &mut self,
                probe: &str,
                first: i64,
                last: i64,
            ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT hour, recs FROM report_hours \
                     WHERE probe_id = $1 AND hour >= $2 AND hour <= $3",
                )
                .bind(probe)
                .bind(first)
                .bind(last)
                .fetch_all(&mut **self)
                .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect()
            }

            async fn set_latest_bodies(&mut self, chunk: &[&NewReport]) -> Result<(), StoreError> {
                let sql = format!(
                    "WITH v (probe_id, body) AS (VALUES {}) \
                     UPDATE latest SET body = v.body FROM v WHERE latest.probe_id = v.probe_id",
                    values_sql(chunk.len(), 2)
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for r in chunk {
                    q = q.bind(&r.probe_id).bind(&r.body);
                }
                q.execute(&mut **self).await?;
                Ok(())
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

/// Takes the transaction's advisory lock of each probe, in key order, so
/// that two batches sharing probes queue instead of deadlocking.
trait LockProbes {
    async fn lock(&mut self, keys: Vec<i64>) -> Result<(), StoreError>;
}

impl LockProbes for sqlx::Transaction<'_, sqlx::Sqlite> {
    async fn lock(&mut self, _keys: Vec<i64>) -> Result<(), StoreError> {
        Ok(()) // One writer: transactions never overlap.
    }
}

impl LockProbes for sqlx::Transaction<'_, sqlx::Postgres> {
    async fn lock(&mut self, keys: Vec<i64>) -> Result<(), StoreError> {
        sqlx::query(
            "SELECT COUNT(pg_advisory_xact_lock(k)) FROM \
             (SELECT k FROM unnest($1::BIGINT[]) AS k ORDER BY k) s",
        )
        .bind(keys)
        .execute(&mut **self)
        .await?;
        Ok(())
    }
}

async fn lock_probes_in<T: LockProbes>(tx: &mut T, probes: &[&str]) -> Result<(), StoreError> {
    let mut keys: Vec<i64> = probes
        .iter()
        .map(|p| {
            let d = ring::digest::digest(&ring::digest::SHA256, p.as_bytes());
            let mut k = [0u8; 8];
            k.copy_from_slice(&d.as_ref()[..8]);
            i64::from_be_bytes(k)
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    tx.lock(keys).await
}

/// Writes a batch (sorted by `report_id`, no repeats) inside `tx`; returns
/// the ids of the reports that were new.
///
/// The order keeps PostgreSQL deadlock-free and the latest state exact:
/// 1. reports stored whole before are retries (same probe) or refused
///    (another probe's id);
/// 2. a batch of several probes takes their advisory locks, in key order
///    (a batch of one probe locks rows in start order, which cannot cycle);
/// 3. every report is counted in its hour's row, in rounds where each probe
///    appears once, in start order: a report whose record is already there
///    is a retry and goes no further;
/// 4. `latest`, in the same rounds: a report newer than the stored state
///    moves it, and is stored whole when its state key differs from the
///    one it replaces;
/// 5. reports older than the stored state, newest first, correct the
///    closed streak ([`apply_late`]) and are stored whole when their state
///    key differs from the stored report before them.
async fn write_batch<T: WriteTx>(
    tx: &mut T,
    backend: Backend,
    sorted: &[&NewReport],
) -> Result<Vec<String>, StoreError> {
    let mut fresh: Vec<&NewReport> = Vec::with_capacity(sorted.len());
    for chunk in sorted.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|r| r.report_id.as_str()).collect();
        let owners = tx.owners(&ids).await?;
        for r in chunk {
            match owners.iter().find(|(id, _)| *id == r.report_id) {
                None => fresh.push(r),
                Some((_, probe)) if *probe == r.probe_id => {}
                Some((id, _)) => {
                    return Err(StoreError::ReportIdTaken {
                        report_id: id.clone(),
                    });
                }
            }
        }
    }
    let mut probes: Vec<&str> = fresh.iter().map(|r| r.probe_id.as_str()).collect();
    probes.sort_unstable();
    probes.dedup();
    if probes.len() > 1 {
        tx.lock_probes(&probes).await?;
    }
    let mut counted: Vec<&NewReport> = Vec::with_capacity(fresh.len());
    for round in rounds(&fresh) {
        for chunk in round.chunks(CHUNK) {
            let mut new = tx.count_hours(backend, chunk).await?;
            new.sort();
            counted.extend(
                chunk
                    .iter()
                    .filter(|r| new.binary_search(&r.probe_id).is_ok()),
            );
        }
    }
    let mut changed: Vec<&NewReport> = Vec::new();
    let mut late: Vec<&NewReport> = Vec::new();
    for round in rounds(&counted) {
        for chunk in round.chunks(CHUNK) {
            let mut moved = tx.upsert_latest(chunk).await?;
            moved.sort();
            for r in chunk {
                match moved.binary_search_by(|(p, _)| p.as_str().cmp(&r.probe_id)) {
                    Ok(i) if moved[i].1 => {}
                    Ok(_) => changed.push(r),
                    Err(_) => late.push(r),
                }
            }
        }
    }
    // Each probe whose state changed gets the body of the newest report
    // that changed it (a later one in the batch that said the same left
    // the body to it).
    let mut newest: Vec<&NewReport> = changed.clone();
    newest.sort_by(|a, b| {
        a.probe_id
            .cmp(&b.probe_id)
            .then(b.started_at.cmp(&a.started_at))
            .then_with(|| b.report_id.cmp(&a.report_id))
    });
    newest.dedup_by(|a, b| a.probe_id == b.probe_id);
    for chunk in newest.chunks(CHUNK) {
        tx.set_latest_bodies(chunk).await?;
    }
    changed.sort_by(|a, b| a.report_id.cmp(&b.report_id));
    for chunk in changed.chunks(CHUNK) {
        store_bodies(tx, chunk).await?;
    }
    late.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then_with(|| b.report_id.cmp(&a.report_id))
    });
    for r in late {
        apply_late(tx, r).await?;
        let before = tx.state_before(&r.probe_id, r.started_at).await?;
        if !before.flatten().is_some_and(|k| same_state(&k, r)) {
            store_bodies(tx, &[r]).await?;
        }
    }
    Ok(counted.iter().map(|r| r.report_id.clone()).collect())
}

/// Stores the bodies of `chunk`, new reports all: one whose id is taken
/// meanwhile (by another probe: a retry would not have been counted)
/// fails the batch.
async fn store_bodies<T: WriteTx>(tx: &mut T, chunk: &[&NewReport]) -> Result<(), StoreError> {
    let ids = tx.insert_reports(chunk).await?;
    if ids.len() == chunk.len() {
        return Ok(());
    }
    let taken = chunk
        .iter()
        .find(|r| !ids.contains(&r.report_id))
        .map(|r| r.report_id.clone())
        .unwrap_or_default();
    Err(StoreError::ReportIdTaken { report_id: taken })
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

/// How many reports of `probe` started in `(after, up_to]`, and the first
/// one's start: read from the records of its hour rows.
async fn reports_between<T: WriteTx>(
    tx: &mut T,
    probe: &str,
    after: i64,
    up_to: i64,
) -> Result<(i64, Option<i64>), StoreError> {
    let rows = tx
        .hour_records(probe, hour_of(after), hour_of(up_to))
        .await?;
    let starts = rows
        .iter()
        .flat_map(|(h, recs)| record_starts(*h, recs))
        .filter(|t| *t > after && *t <= up_to);
    Ok(starts.fold((0, None), |(n, first), t| {
        (n + 1, Some(first.map_or(t, |f: i64| f.min(t))))
    }))
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
/// - open, inside the run: the run restarts after it (counted from the
///   hour rows' records).
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
        } else if reports_between(tx, &r.probe_id, t, since - 1).await?.0 == 0 {
            (t, s.count + 1)
        } else {
            return Ok(());
        }
    } else {
        if t < since || t >= s.started_at {
            return Ok(());
        }
        match reports_between(tx, &r.probe_id, t, s.started_at).await? {
            (n, Some(first)) if n > 0 => (first, n),
            _ => return Ok(()),
        }
    };
    tx.set_streak(&r.probe_id, since, count).await
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
         finished_at, public_ip, stca2_port_closed, recommendation, body, state_key) VALUES {} \
         ON CONFLICT (report_id) DO NOTHING RETURNING report_id",
        values_sql(n, REPORT_COLS)
    )
}

/// Counts one round in `report_hours`: a new row per probe and hour, or
/// the existing one extended, unless it already holds the report's record
/// (a retry: no row returned). The record's 8 hash bytes are looked for
/// anywhere in `recs`: a false match needs 64 bits of SHA-256 to collide.
fn count_hours_sql(backend: Backend, n: usize) -> String {
    let (greatest, concat, absent) = match backend {
        Backend::Postgres => (
            "GREATEST",
            "report_hours.recs || excluded.recs",
            "position(substring(excluded.recs FROM 1 FOR 8) IN report_hours.recs) = 0",
        ),
        Backend::Sqlite => (
            "max",
            "CAST(report_hours.recs || excluded.recs AS BLOB)",
            "instr(report_hours.recs, substr(excluded.recs, 1, 8)) = 0",
        ),
    };
    format!(
        "INSERT INTO report_hours (probe_id, hour, reports, closed, attempts, successes, \
         connect_n, connect_ms_sum, connect_ms_max, recs) VALUES {} \
         ON CONFLICT (probe_id, hour) DO UPDATE SET \
         reports = report_hours.reports + 1, \
         closed = report_hours.closed + excluded.closed, \
         attempts = report_hours.attempts + excluded.attempts, \
         successes = report_hours.successes + excluded.successes, \
         connect_n = report_hours.connect_n + excluded.connect_n, \
         connect_ms_sum = report_hours.connect_ms_sum + excluded.connect_ms_sum, \
         connect_ms_max = {greatest}(report_hours.connect_ms_max, excluded.connect_ms_max), \
         recs = {concat} \
         WHERE {absent} RETURNING probe_id",
        values_sql(n, HOUR_COLS)
    )
}

/// The upsert of one round into `latest`, newer reports only (late ones are
/// [`apply_late`]'s). The closed streak: a closed report after a closed
/// latest extends it; a closed report after an open one starts it; an open
/// report ends it. The state: the same state ([`same_state`]) extends it,
/// another starts a new one; `prev_state_key` keeps the key replaced, which
/// the statement returns with the new one so that the caller knows, under
/// the row's lock, whether the report changed the state. While the state
/// stays, the body (the state's first report's), its finding codes and the
/// state's key stay too. A TCP-only report (`tls_checked` false) keeps the
/// recommendation and message, and is the same state when its TCP facts
/// are the state's.
/// A probe's first report inserts the values bound for it
/// ([`LatestRow::first`], no previous key). Returns the probes it moved.
fn upsert_latest_sql(n: usize, tls_checked: bool) -> String {
    let same = same_state_sql(tls_checked);
    // The columns a report leaves to the state's while it says what the
    // state says: the body (the state's first report: rewriting an
    // unchanged body for every report was the largest write of the ingest,
    // and on PostgreSQL a dead TOAST copy of it each time), its finding
    // codes (so the console's lists of interceptions, old chains and
    // expiring chains keep them) and the state's key (a TCP-only report
    // has only half of one).
    let keep = |col: &str| format!("CASE WHEN {same} THEN latest.{col} ELSE excluded.{col} END");
    let (findings, key) = (keep("findings"), keep("state_key"));
    // A new state's body is set after the upsert, by the caller.
    let body = format!("CASE WHEN {same} THEN latest.body ELSE NULL END");
    let failover = if tls_checked {
        "recommendation = excluded.recommendation, message = excluded.message, "
    } else {
        ""
    };
    let mut sql = format!(
        "INSERT INTO latest ({LATEST_COLS}, {LATEST_INGEST_COLS}) VALUES {}",
        values_sql(n, LATEST_COL_COUNT + LATEST_INGEST_COL_COUNT)
    );
    sql.push_str(&format!(
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
         {failover}\
         merchant_id = COALESCE(excluded.merchant_id, latest.merchant_id), \
         public_ip = excluded.public_ip, \
         findings = {findings}, \
         body = {body}, \
         finished_at = excluded.finished_at, \
         received_at = excluded.received_at, \
         prev_state_key = latest.state_key, \
         state_key = {key}, \
         state_since = CASE WHEN {same} THEN latest.state_since ELSE excluded.started_at END, \
         state_reports = CASE WHEN {same} THEN latest.state_reports + 1 ELSE 1 END, \
         spool_dropped = excluded.spool_dropped, \
         state_report_id = CASE WHEN {same} THEN latest.state_report_id \
                                ELSE excluded.state_report_id END \
         WHERE excluded.started_at > latest.started_at \
         RETURNING probe_id, prev_state_key, state_key"
    ));
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_codes_are_sorted_once_each_between_commas() {
        let mut r = stca2_report::fixtures::upload::report(
            stca2_report::fixtures::upload::probe("p"),
            &stca2_report::fixtures::upload::rid("r"),
            time::OffsetDateTime::UNIX_EPOCH,
            vec![],
            stca2_report::fixtures::upload::summary(false, stca2_report::Recommendation::None, "m"),
        );
        assert_eq!(finding_codes(&r), "");
        for code in [
            "old_ca",
            "interception",
            "old_ca",
            "",
            "a,interception",
            "X%",
            "é",
        ] {
            r.summary.findings.push(
                serde_json::from_value(
                    serde_json::json!({"severity": "warning", "code": code, "message": "m"}),
                )
                .unwrap(),
            );
        }
        // What no contract code looks like is left out: a comma or a
        // wildcard from the field cannot make `LIKE` match another code.
        assert_eq!(finding_codes(&r), ",interception,old_ca,");
    }

    #[test]
    fn values_are_numbered_row_by_row() {
        assert_eq!(values_sql(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(LATEST_COLS.split(',').count(), LATEST_COL_COUNT);
        assert_eq!(
            LATEST_INGEST_COLS.split(',').count(),
            LATEST_INGEST_COL_COUNT
        );
    }

    #[test]
    fn hour_records_give_back_the_start() {
        for t in [0, 1, HOUR_MS - 1, HOUR_MS, 1_764_000_123_456, -5] {
            let rec = hour_record("r", t);
            assert_eq!(rec.len(), REC_BYTES);
            let back: Vec<i64> = record_starts(hour_of(t), &rec).collect();
            assert_eq!(back, [t]);
        }
        assert_ne!(hour_record("a", 0)[..8], hour_record("b", 0)[..8]);
    }
}
