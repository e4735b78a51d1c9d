//! The console's reads (and its sessions): the dashboard's counts, the
//! lists its numbers link to (keyset-paginated, each on an index of
//! `latest` where the filter has one), a probe's recent history with
//! bodies for its latency chart, a page of tokens, and the sign-in sessions
//! (`console_sessions`: the SHA-256 of each session id, never the id).
//!
//! Lists that depend on a finding of the latest report (suspected
//! interception, old STCA chain, expiring chain) read `latest.findings`,
//! the report's codes between commas, each on a partial index whose
//! predicate is the query's own ([`INDEXED_FINDINGS`]): no list or count
//! parses a stored body.

use sqlx::{AssertSqlSafe, Row};

use super::query::{LATEST_COL_COUNT, LATEST_COLS, LatestRow, latest_row};
use super::{Backend, Conditions, Param, Store, StoreError, TokenRow};

/// Which probes a console list holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// Every probe with a latest state.
    All,
    /// "Port STCA2 non ouvert" in the latest report.
    Closed,
    /// This failover recommendation (contract spelling).
    Recommendation(String),
    /// The latest report has a finding with this code, one of
    /// [`INDEXED_FINDINGS`] (each has a partial index of `latest`).
    Finding(&'static str),
    /// No report started at or after this time (Unix ms): silent probes.
    SilentBefore(i64),
}

/// The order of a console list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// By probe id.
    #[default]
    Probe,
    /// By the start of the closed streak, oldest first, then probe id
    /// (probes that are not closed have no start: first on SQLite, last on
    /// PostgreSQL).
    Since,
}

/// A console list: what, narrowed how, in which order, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleList {
    /// Which probes.
    pub kind: ListKind,
    /// Only this merchant.
    pub merchant: Option<String>,
    /// Only this recommendation (on top of `kind`).
    pub recommendation: Option<String>,
    /// Latest report started at or after (Unix ms).
    pub since: Option<i64>,
    /// The order.
    pub sort: Sort,
    /// Resume after this row: its `closed_since` (for [`Sort::Since`]) and probe id.
    pub after: Option<(Option<i64>, String)>,
    /// At most this many rows.
    pub limit: u32,
}

/// The dashboard's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Counts {
    /// Probes with a latest state.
    pub reporting: i64,
    /// Probes whose STCA2 port is not open.
    pub closed: i64,
    /// Probes ready for "Connectivité secondaire" (`configure_secondary`).
    pub secondary_ready: i64,
    /// Suspected interceptions in the latest report.
    pub interception: i64,
    /// Old STCA chains in the latest report.
    pub old_ca: i64,
    /// Chains expiring soon in the latest report.
    pub expiring: i64,
    /// Probes silent since the cut-off.
    pub silent: i64,
}

impl ConsoleList {
    /// Every condition of this list but the cursor, on `latest` (no prefix).
    fn conditions(&self) -> Conditions {
        let mut c = Conditions::default();
        match &self.kind {
            ListKind::All => {}
            ListKind::Closed => c.raw("stca2_port_closed"),
            ListKind::Recommendation(r) => recommendation_condition(&mut c, r),
            ListKind::Finding(code) => c.raw(&finding_condition(code)),
            ListKind::SilentBefore(t) => c.push("started_at < ?", Param::Int(*t)),
        }
        if let Some(r) = &self.recommendation {
            recommendation_condition(&mut c, r);
        }
        c.scope("", &self.merchant, self.since, None);
        c
    }
}

/// `recommendation = 'r'`: a contract spelling as a literal, so
/// that a plan PostgreSQL caches for the statement still sees the partial
/// index of [`SECONDARY_READY`]; anything else as a parameter.
fn recommendation_condition(c: &mut Conditions, r: &str) {
    if super::write::is_contract_spelling(r) {
        c.raw(&format!("recommendation = '{r}'"));
    } else {
        c.push("recommendation = ?", Param::Text(r.to_string()));
    }
}

/// The recommendation of the probes ready for "Connectivité secondaire"
/// (contract spelling), which has a partial index of `latest`.
pub const SECONDARY_READY: &str = "configure_secondary";

/// A console list's row: the latest state, and the latest report's failover
/// facts (`summary.failover.params`, JSON) so that the page words the
/// recommendation in its own language rather than showing the stored
/// English sentence.
pub struct ConsoleRow {
    /// The latest state.
    pub latest: LatestRow,
    /// The failover facts as JSON, when the latest report carries them.
    pub failover: Option<String>,
}

/// The SQL that reads the latest report's failover facts, as JSON text.
fn failover_facts(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "json_extract(latest.body, '$.summary.failover.params')",
        Backend::Postgres => "(latest.body::jsonb #>> '{summary,failover,params}')",
    }
}

/// The findings the console lists and counts: each has a partial index
/// of `latest` on exactly [`finding_condition`] (migration 0004_findings).
pub const INDEXED_FINDINGS: [&str; 3] = [
    stca2_report::codes::INTERCEPTION,
    stca2_report::codes::OLD_CA,
    stca2_report::codes::EXPIRING,
];

/// "The latest report has a finding with code `code`", on `latest` rows,
/// spelled as the partial indexes are (a literal, so that both planners
/// match it to the index; `code` is one of [`INDEXED_FINDINGS`], never
/// input).
fn finding_condition(code: &'static str) -> String {
    // Another code would still be answered right, by a scan.
    debug_assert!(
        INDEXED_FINDINGS.contains(&code),
        "{code} has no partial index on latest"
    );
    // `_` is a wildcard of LIKE: escaped, so that `old_ca` matches only itself.
    format!(
        "findings LIKE '%,{},%' ESCAPE '\\'",
        code.replace('_', "\\_")
    )
}

impl Store {
    /// One page of a console list, with each row's failover facts.
    pub async fn console_list(&self, list: &ConsoleList) -> Result<Vec<ConsoleRow>, StoreError> {
        let mut c = list.conditions();
        let order = match list.sort {
            Sort::Probe => {
                if let Some((_, p)) = &list.after {
                    c.push("probe_id > ?", Param::Text(p.clone()));
                }
                "probe_id"
            }
            Sort::Since => {
                // Each database's own place for NULLs (first on SQLite, last
                // on PostgreSQL), so that both walk latest_closed_since.
                let nulls_first = self.backend() == Backend::Sqlite;
                if let Some((since, p)) = &list.after {
                    let n = c.next_param(Param::Text(p.clone()));
                    let cond = match since {
                        // Among the NULLs, by probe id; then the other side.
                        None if nulls_first => {
                            format!("(closed_since IS NOT NULL OR probe_id > {n})")
                        }
                        None => format!("(closed_since IS NULL AND probe_id > {n})"),
                        Some(s) => {
                            let a = c.next_param(Param::Int(*s));
                            let after = format!("(closed_since, probe_id) > ({a}, {n})");
                            if nulls_first {
                                format!("(closed_since IS NOT NULL AND {after})")
                            } else {
                                format!("(closed_since IS NULL OR {after})")
                            }
                        }
                    };
                    c.raw(&cond);
                }
                "closed_since, probe_id"
            }
        };
        let clause = c.clause();
        let limit = c.next_param(Param::Int(i64::from(list.limit)));
        let facts = failover_facts(self.backend());
        let sql = format!(
            "SELECT {LATEST_COLS}, {facts} FROM latest{clause} ORDER BY {order} LIMIT {limit}"
        );
        with_pool!(self, read, pool => {
            let q = bind_all!(sqlx::query(AssertSqlSafe(sql)), c.params);
            let rows = q.fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(ConsoleRow {
                        latest: latest_row!(row),
                        failover: row.try_get(LATEST_COL_COUNT)?,
                    })
                })
                .collect()
        })
    }

    /// Rows `offset..offset + limit` of a console list in probe order (a
    /// campaign's part), cursor and sort ignored.
    pub async fn console_list_part(
        &self,
        list: &ConsoleList,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<LatestRow>, StoreError> {
        let mut c = list.conditions();
        let clause = c.clause();
        let lim = c.next_param(Param::Int(i64::from(limit)));
        let off = c.next_param(Param::Int(i64::try_from(offset).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT {LATEST_COLS} FROM latest{clause} ORDER BY probe_id LIMIT {lim} OFFSET {off}"
        );
        with_pool!(self, read, pool => {
            let q = bind_all!(sqlx::query(AssertSqlSafe(sql)), c.params);
            let rows = q.fetch_all(pool).await?;
            rows.iter().map(|r| Ok(latest_row!(r))).collect()
        })
    }

    /// How many probes a console list holds (cursor ignored).
    pub async fn console_count(&self, list: &ConsoleList) -> Result<i64, StoreError> {
        let c = list.conditions();
        let sql = format!("SELECT COUNT(*) FROM latest{}", c.clause());
        with_pool!(self, read, pool => {
            let q = bind_all!(sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)), c.params);
            Ok(q.fetch_one(pool).await?)
        })
    }

    /// The dashboard's numbers; probes whose latest report started before
    /// `silent_before` (Unix ms) are silent.
    ///
    /// One count a number, each the count of the list it links to, and each
    /// on an index of `latest` (the closed, secondary and finding partial
    /// indexes, `latest_started`, and any index for the whole table): no
    /// count reads the table's rows, which hold the latest bodies.
    pub async fn console_counts(&self, silent_before: i64) -> Result<Counts, StoreError> {
        let list = |kind: ListKind| ConsoleList {
            kind,
            merchant: None,
            recommendation: None,
            since: None,
            sort: Sort::Probe,
            after: None,
            limit: 0,
        };
        let count = |kind| async move { self.console_count(&list(kind)).await };
        let (reporting, closed, secondary_ready, interception, old_ca, expiring, silent) = tokio::try_join!(
            count(ListKind::All),
            count(ListKind::Closed),
            count(ListKind::Recommendation(SECONDARY_READY.into())),
            count(ListKind::Finding(stca2_report::codes::INTERCEPTION)),
            count(ListKind::Finding(stca2_report::codes::OLD_CA)),
            count(ListKind::Finding(stca2_report::codes::EXPIRING)),
            count(ListKind::SilentBefore(silent_before)),
        )?;
        Ok(Counts {
            reporting,
            closed,
            secondary_ready,
            interception,
            old_ca,
            expiring,
            silent,
        })
    }

    /// One probe's history with bodies, newest first, at most `limit`
    /// entries, as [`Store::history`] lists them: its latest report (no
    /// body: it said what the state's first report, stored, says), then
    /// every report kept whole (each one changed the probe's state):
    /// (started_at, "port STCA2 non ouvert", JSON body).
    pub async fn history_bodies(
        &self,
        probe_id: &str,
        limit: u32,
    ) -> Result<Vec<(i64, bool, Option<String>)>, StoreError> {
        let sql = "SELECT started_at, stca2_port_closed, body FROM ( \
                   SELECT report_id, started_at, stca2_port_closed, CAST(NULL AS TEXT) AS body \
                   FROM latest l WHERE probe_id = $1 AND finished_at IS NOT NULL AND NOT EXISTS \
                   (SELECT 1 FROM reports r WHERE r.report_id = l.report_id) \
                   UNION ALL \
                   SELECT report_id, started_at, stca2_port_closed, body FROM reports \
                   WHERE probe_id = $1) h \
                   ORDER BY started_at DESC, report_id DESC LIMIT $2";
        with_pool!(self, read, pool => {
            let rows = sqlx::query(sql).bind(probe_id).bind(i64::from(limit)).fetch_all(pool).await?;
            rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
        })
    }

    /// A page of tokens in hash order, after `after` (exclusive).
    pub async fn tokens_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TokenRow>, StoreError> {
        let sql = "SELECT hash, kind, probe_id, merchant_id, created_at, revoked_at FROM tokens \
                   WHERE hash > $1 ORDER BY hash LIMIT $2";
        with_pool!(self, read, pool => {
            let rows = sqlx::query(sql).bind(after.unwrap_or("")).bind(i64::from(limit)).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(TokenRow {
                hash: r.try_get(0)?,
                kind: r.try_get(1)?,
                probe_id: r.try_get(2)?,
                merchant_id: r.try_get(3)?,
                created_at: r.try_get(4)?,
                revoked_at: r.try_get(5)?,
            })).collect()
        })
    }

    /// Opens a session: the hash of its id, the admin token's hash, its
    /// expiry. Expired sessions are deleted on the way.
    pub async fn insert_session(
        &self,
        id_hash: &str,
        token_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, write, p => {
            sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                .bind(now).execute(p).await?;
            sqlx::query("INSERT INTO console_sessions (id_hash, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(id_hash).bind(token_hash).bind(now).bind(expires_at)
                .execute(p).await?;
        });
        Ok(())
    }

    /// Whether the session with this id hash is open at `now`: unexpired,
    /// and opened with an admin token that is still live.
    pub async fn session_open(&self, id_hash: &str, now: i64) -> Result<bool, StoreError> {
        let sql = "SELECT 1 FROM console_sessions s JOIN tokens t ON t.hash = s.token_hash \
                   WHERE s.id_hash = $1 AND s.expires_at > $2 AND t.kind = 'admin' \
                   AND t.revoked_at IS NULL";
        with_pool!(self, read, p => {
            Ok(sqlx::query(sql).bind(id_hash).bind(now).fetch_optional(p).await?.is_some())
        })
    }

    /// Closes a session.
    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        with_pool!(self, write, p => {
            sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
                .bind(id_hash).execute(p).await?;
        });
        Ok(())
    }
}
