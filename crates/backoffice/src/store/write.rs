//! The write path: ingest (history and latest state in one transaction) and retention.
//!
//! Writes are ordered to stay deadlock-free on PostgreSQL and to keep the
//! latest state exact whatever order reports arrive in (`write_batch`):
//! history first (`ON CONFLICT DO NOTHING`, so a retry stores nothing
//! twice), then `latest` in probe and start order. An older report arriving
//! late goes to the history, never overwrites a newer latest state, and
//! corrects the closed streak (`apply_late`).
//!
//! Every row of `latest` is written by one statement shape, `INSERT INTO
//! latest (LATEST_COLS) VALUES ...`, bound by one helper ([`bind_latest`]):
//! a probe's first report gives it the state [`LatestRow::first`], and the
//! upsert's `ON CONFLICT` clause moves an existing state forward.

use sqlx::{AssertSqlSafe, Row};

use stca2_report::Report;

use super::query::{LATEST_COL_COUNT, LATEST_COLS, LatestRow};
use super::{Store, StoreError, unix_ms};

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
        }
    }
}

/// Binds the columns of `latest` ([`LATEST_COLS`], in order) of each row:
/// the one bind sequence of every statement that writes `latest`.
fn bind_latest<'q, DB>(
    mut q: sqlx::query::Query<'q, DB, DB::Arguments>,
    rows: &[LatestRow],
) -> sqlx::query::Query<'q, DB, DB::Arguments>
where
    DB: sqlx::Database,
    for<'t> &'t String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> &'t Option<String>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<i64>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> bool: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    for r in rows {
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
    q
}

/// `INSERT INTO latest (LATEST_COLS) VALUES ...` for `n` rows.
fn insert_latest_sql(n: usize) -> String {
    format!(
        "INSERT INTO latest ({LATEST_COLS}) VALUES {}",
        values_sql(n, LATEST_COL_COUNT)
    )
}

impl Store {
    /// Stores a batch in one transaction: all of it, or nothing on error.
    ///
    /// Reports already stored (same `report_id`), or sent twice in the
    /// batch, count as duplicates and change nothing; a `report_id` of two
    /// probes (stored, or both in the batch) fails it with
    /// [`StoreError::ReportIdTaken`]; see `write_batch` in this module for the order of the writes.
    pub async fn insert_batch(&self, batch: &[NewReport]) -> Result<InsertOutcome, StoreError> {
        if batch.is_empty() {
            return Ok(InsertOutcome::default());
        }
        let mut sorted: Vec<&NewReport> = batch.iter().collect();
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
                    "{} ON CONFLICT (probe_id) DO NOTHING",
                    insert_latest_sql(chunk.len())
                );
                let q = bind_latest(sqlx::query(AssertSqlSafe(sql)), chunk);
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
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
}

/// How many columns `reports` has.
const REPORT_COLS: usize = 10;

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
                let rows: Vec<LatestRow> = chunk.iter().map(|r| LatestRow::first(r)).collect();
                let q = bind_latest(
                    sqlx::query(AssertSqlSafe(upsert_latest_sql(rows.len()))),
                    &rows,
                );
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
/// report ends it. A probe's first report inserts the values bound for it
/// ([`LatestRow::first`]). Returns the probes it moved.
fn upsert_latest_sql(n: usize) -> String {
    let mut sql = insert_latest_sql(n);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_numbered_row_by_row() {
        assert_eq!(values_sql(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(LATEST_COLS.split(',').count(), LATEST_COL_COUNT);
    }
}
