//! The operators' reads: latest states with filters and keyset cursors,
//! one probe's detail and history, counts.
//!
//! Lists are keyed on `probe_id`, which is unique: a page resumes after the
//! last probe of the previous one, so no probe is skipped or repeated.

use sqlx::{AssertSqlSafe, Row};

use super::{Conditions, Param, Store, StoreError};

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
pub(super) const LATEST_COLS: &str = "probe_id, report_id, started_at, stca2_port_closed, closed_since, \
                           closed_streak, recommendation, message, merchant_id, public_ip";

/// How many columns [`LATEST_COLS`] names.
pub(super) const LATEST_COL_COUNT: usize = 10;

impl Store {
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
}
