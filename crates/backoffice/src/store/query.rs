//! The operators' reads: latest states with filters and keyset cursors,
//! one probe's detail and history (its latest report, then the reports
//! that changed its state, newest first), hourly aggregates, counts.
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
    /// The finding codes of the latest report, each between commas
    /// (`,interception,old_ca,`; `` when it has none), so that the console's
    /// lists of a finding walk a partial index instead of parsing bodies.
    /// Not part of the API's JSON.
    #[serde(skip)]
    pub findings: String,
}

/// One probe's detail: its latest state ([`LatestRow`]: the newest report's
/// id, times and verdict) and the full body of the report that began its
/// current state. Reports that said what the state says (same state key)
/// are counted, not kept, so the body is that first report's: its
/// `report_id` and times are those of `state_since`, not of the newest
/// report; what it says about ports, chains, the recommendation and the
/// findings is what every later report said.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeDetail {
    /// The latest state.
    pub latest: LatestRow,
    /// The JSON body of the report that began the current state (on a
    /// database written by an older version, possibly a later report of the
    /// same state); None for a probe migrated without one.
    pub body: Option<String>,
    /// When the current state began (Unix ms): the start of the report
    /// whose body this is.
    pub state_since: Option<i64>,
    /// How many reports said the current state, the latest included (a
    /// report older than the latest, arriving late, is not counted here).
    pub state_reports: i64,
    /// How many reports the probe's spool has dropped since it was
    /// installed, as its newest report says (None: none, or not said).
    pub spool_dropped: Option<i64>,
    /// The report that began the current state (None for a state begun
    /// before the back office kept it).
    pub state_report_id: Option<String>,
}

/// One history entry of a probe: its latest report, or a report that
/// changed its state (the only ones whose body is kept).
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

/// One probe's reports in one hour: counters and latency and loss
/// aggregates (every report counts, changed or not).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HourRow {
    /// Hours since the epoch (UTC) of the checks' start.
    pub hour: i64,
    /// Reports received.
    pub reports: i64,
    /// Of which said "Port STCA2 non ouvert".
    pub closed: i64,
    /// TCP connection attempts, every target.
    pub attempts: i64,
    /// Of which succeeded (loss: the rest).
    pub successes: i64,
    /// Mean of the targets' median connect times (ms).
    pub connect_ms_mean: Option<f64>,
    /// Slowest connection (ms).
    pub connect_ms_max: f64,
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
            findings: $r.try_get(10)?,
        }
    };
}
pub(super) use latest_row;

/// The columns of `latest`, in [`LatestRow`] order.
pub(super) const LATEST_COLS: &str = "probe_id, report_id, started_at, stca2_port_closed, closed_since, \
                           closed_streak, recommendation, message, merchant_id, public_ip, findings";

/// How many columns [`LATEST_COLS`] names.
pub(super) const LATEST_COL_COUNT: usize = 11;

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

    /// One probe's latest state, and the body of the report that began it.
    pub async fn probe(&self, probe_id: &str) -> Result<Option<ProbeDetail>, StoreError> {
        let sql = format!(
            "SELECT {LATEST_COLS}, body, state_since, state_reports, spool_dropped, \
             state_report_id FROM latest WHERE probe_id = $1"
        );
        with_pool!(self, read, pool => {
            let row = sqlx::query(AssertSqlSafe(sql)).bind(probe_id).fetch_optional(pool).await?;
            match row {
                None => Ok(None),
                Some(row) => Ok(Some(ProbeDetail {
                    latest: latest_row!(row),
                    body: row.try_get(LATEST_COL_COUNT)?,
                    state_since: row.try_get(LATEST_COL_COUNT + 1)?,
                    state_reports: row.try_get(LATEST_COL_COUNT + 2)?,
                    spool_dropped: row.try_get(LATEST_COL_COUNT + 3)?,
                    state_report_id: row.try_get(LATEST_COL_COUNT + 4)?,
                })),
            }
        })
    }

    /// One probe's history, newest first, at most `limit` entries: its
    /// latest report, then every stored report (each one changed the
    /// probe's state when it arrived). Reports that changed nothing are
    /// counted in [`Store::hours`], not listed.
    pub async fn history(&self, probe_id: &str, limit: u32) -> Result<Vec<HistoryRow>, StoreError> {
        let sql = "SELECT report_id, started_at, finished_at, received_at, public_ip, \
                   stca2_port_closed, recommendation FROM ( \
                   SELECT report_id, started_at, finished_at, received_at, public_ip, \
                   stca2_port_closed, recommendation FROM latest l WHERE probe_id = $1 \
                   AND finished_at IS NOT NULL AND NOT EXISTS \
                   (SELECT 1 FROM reports r WHERE r.report_id = l.report_id) \
                   UNION ALL \
                   SELECT report_id, started_at, finished_at, received_at, public_ip, \
                   stca2_port_closed, recommendation FROM reports WHERE probe_id = $1) h \
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

    /// Number of reports received (each once, retries not counted), kept
    /// whole or not, within retention.
    pub async fn count_reports(&self) -> Result<i64, StoreError> {
        let sql = "SELECT CAST(COALESCE(SUM(reports), 0) AS BIGINT) FROM report_hours";
        with_pool!(self, read, p => Ok(sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await?))
    }

    /// Whether the report `report_id` of `probe_id`, started at
    /// `started_at` (Unix ms), was received: stored whole, or counted in
    /// its hour.
    pub async fn counted(
        &self,
        probe_id: &str,
        report_id: &str,
        started_at: i64,
    ) -> Result<bool, StoreError> {
        let rec = super::write::hour_record(report_id, started_at);
        let sql = "SELECT COUNT(*) FROM reports WHERE report_id = $1";
        let recs_sql = "SELECT recs FROM report_hours WHERE probe_id = $1 AND hour = $2";
        with_pool!(self, read, pool => {
            let whole: i64 = sqlx::query_scalar(sql).bind(report_id).fetch_one(pool).await?;
            let recs: Option<Vec<u8>> = sqlx::query_scalar(recs_sql)
                .bind(probe_id)
                .bind(super::hour_of(started_at))
                .fetch_optional(pool)
                .await?;
            Ok(whole > 0
                || recs.is_some_and(|r| r.chunks_exact(rec.len()).any(|c| c[..8] == rec[..8])))
        })
    }

    /// Number of reports whose full body is stored (the state changes).
    pub async fn count_bodies(&self) -> Result<i64, StoreError> {
        with_pool!(self, read, p => Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM reports").fetch_one(p).await?))
    }

    /// One probe's hourly aggregates for hours `first` to `last` (hours
    /// since the epoch, [`super::hour_of`]), oldest first.
    pub async fn hours(
        &self,
        probe_id: &str,
        first: i64,
        last: i64,
    ) -> Result<Vec<HourRow>, StoreError> {
        let sql = "SELECT hour, reports, closed, attempts, successes, connect_n, \
                   connect_ms_sum, connect_ms_max FROM report_hours \
                   WHERE probe_id = $1 AND hour >= $2 AND hour <= $3 ORDER BY hour";
        with_pool!(self, read, pool => {
            let rows = sqlx::query(sql).bind(probe_id).bind(first).bind(last).fetch_all(pool).await?;
            rows.iter().map(|row| {
                let n: i64 = row.try_get::<i32, _>(5)?.into();
                let sum: f64 = row.try_get(6)?;
                Ok(HourRow {
                    hour: row.try_get(0)?,
                    reports: row.try_get::<i32, _>(1)?.into(),
                    closed: row.try_get::<i32, _>(2)?.into(),
                    attempts: row.try_get::<i32, _>(3)?.into(),
                    successes: row.try_get::<i32, _>(4)?.into(),
                    connect_ms_mean: (n > 0).then(|| sum / n as f64),
                    connect_ms_max: f64::from(row.try_get::<f32, _>(7)?),
                })
            }).collect()
        })
    }

    /// Number of probes with a latest state.
    pub async fn count_latest(&self) -> Result<i64, StoreError> {
        with_pool!(self, read, p => Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM latest").fetch_one(p).await?))
    }
}
