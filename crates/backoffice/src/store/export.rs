//! The export's reads: the stored reports an ISP-ticket CSV is made of,
//! streamed one by one with the address each upload came from.
//!
//! The store hands over reports, not CSV: the callers (the HTTP export and
//! `stca2-probe export`) write the CSV with `stca2_report::csv`. Memory stays
//! flat whatever the size: rows are read one by one from the database into
//! a bounded channel, in one read transaction (a consistent snapshot, with a
//! long statement timeout on PostgreSQL).

use futures_util::TryStreamExt;
use sqlx::{AssertSqlSafe, Row};
use tokio::sync::mpsc;

use stca2_report::Report;

use super::{Conditions, EXPORT_TIMEOUT, Store, StoreError};

/// Which reports [`Store::export_rows`] streams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Only the probes whose STCA2 port is closed, each by the report that
    /// began its current state (every report since said the same), with
    /// that report's upload address; `merchant`, `since` and `until` then
    /// pick probes by their latest report. Otherwise the stored history
    /// (the reports that changed a probe's state).
    pub closed_only: bool,
    /// Only this merchant.
    pub merchant: Option<String>,
    /// Reports started at or after (Unix ms).
    pub since: Option<i64>,
    /// Reports started before (Unix ms).
    pub until: Option<i64>,
}

/// One exported report: the report as stored, and what the back office
/// knows of it besides: the address its upload came from, its merchant.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    /// The stored report.
    pub report: Report,
    /// The public address the back office saw the upload come from.
    pub public_ip: Option<String>,
    /// The merchant as stored: the probe token's, else the report's (what
    /// the API shows and `merchant=` filters on).
    pub merchant_id: Option<String>,
}

impl Store {
    /// Sends the reports of `filter` into `tx`, one by one: with
    /// `closed_only`, the report that began each closed probe's state, in
    /// probe order;
    /// otherwise the stored history (state changes) in start order. Returns how many were sent;
    /// stops early, without error, when the receiver is gone.
    pub async fn export_rows(
        &self,
        filter: &ExportFilter,
        tx: &mpsc::Sender<ExportRow>,
    ) -> Result<u64, StoreError> {
        let mut c = Conditions::default();
        let sql = if filter.closed_only {
            c.raw("l.stca2_port_closed");
            c.raw("l.body IS NOT NULL");
            c.scope("l.", &filter.merchant, filter.since, filter.until);
            // The address that report came from (the state's first, kept
            // whole in `reports`), so that the row's time and address go
            // together on an ISP ticket; the latest one when that report
            // is not known (a state begun before 0005_state) or gone.
            format!(
                "SELECT l.body, COALESCE((SELECT r.public_ip FROM reports r \
                 WHERE r.report_id = l.state_report_id), l.public_ip), l.merchant_id \
                 FROM latest l{} ORDER BY l.probe_id",
                c.clause()
            )
        } else {
            c.scope("", &filter.merchant, filter.since, filter.until);
            format!(
                "SELECT body, public_ip, merchant_id FROM reports{} ORDER BY started_at, report_id",
                c.clause()
            )
        };
        let mut sent = 0u64;
        with_pool!(self, read, pool => {
            // One read transaction: a consistent snapshot, and on PostgreSQL
            // a statement timeout that suits a long download.
            let mut db = pool.begin().await?;
            db.allow_long_statement().await?;
            let q = bind_all!(sqlx::query(AssertSqlSafe(sql)), c.params);
            let mut rows = q.fetch(&mut *db);
            while let Some(row) = rows.try_next().await? {
                let body: String = row.try_get(0)?;
                let report: Report = serde_json::from_str(&body)
                    .map_err(|e| StoreError::Corrupt(format!("stored report: {e}")))?;
                let export = ExportRow {
                    report,
                    public_ip: row.try_get(1)?,
                    merchant_id: row.try_get(2)?,
                };
                if tx.send(export).await.is_err() {
                    return Ok(sent);
                }
                sent += 1;
            }
        });
        Ok(sent)
    }
}

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
