//! Fleet scale (issue 11), on SQLite and PostgreSQL: storage that grows
//! with change (a body per state change, every report counted once per
//! probe and hour), exactly-once ingest for reports only counted, the
//! migration of an existing database, and two `serve` replicas on one
//! database.

use std::collections::BTreeMap;

use crate::util::backoffice::{
    at, each_backend, each_empty_url, json, post_reports, report, row, start, token,
};
use stca2_backoffice::store::{ExportFilter, NewReport, Store, hour_of, unix_ms};
use stca2_report::Recommendation;

/// `r` with findings of these codes (and one spelled as no contract code
/// is, which the store leaves out of `findings`).
fn with_findings(r: NewReport, codes: &[&str]) -> NewReport {
    let mut report: stca2_report::Report = serde_json::from_str(&r.body).unwrap();
    for code in codes.iter().chain(&["Not,A%Code"]) {
        report.summary.findings.push(
            serde_json::from_value(
                serde_json::json!({"severity": "warning", "code": code, "message": "m"}),
            )
            .unwrap(),
        );
    }
    let body = serde_json::to_string(&report).unwrap();
    NewReport::from_report(&report, body, None, r.public_ip, r.received_at)
}

/// Sum of the hour rows' `reports` and `closed` of `probe` over the test's span.
async fn hour_totals(store: &Store, probe: &str) -> (i64, i64) {
    let rows = store
        .hours(
            probe,
            hour_of(unix_ms(at(-60))),
            hour_of(unix_ms(at(3 * 24 * 60))),
        )
        .await
        .unwrap();
    rows.iter()
        .fold((0, 0), |(n, c), h| (n + h.reports, c + h.closed))
}

#[tokio::test]
async fn a_body_per_state_change_and_every_report_counted() {
    each_backend(
        "a_body_per_state_change_and_every_report_counted",
        |db| async move {
            let s = &db.store;
            // A day of 5-minute reports: open, closed from minute 600 to
            // 895, open again.
            let closed = |m: i64| (600..900).contains(&m);
            let batch: Vec<NewReport> = (0..288)
                .map(|k| row("p", &format!("r{k:03}"), k * 5, closed(k * 5)))
                .collect();
            for chunk in batch.chunks(7) {
                s.insert_batch(chunk).await.unwrap();
            }
            assert_eq!(s.count_reports().await.unwrap(), 288, "{}", db.name);
            assert_eq!(
                s.count_bodies().await.unwrap(),
                3,
                "{}: first, closed, open",
                db.name
            );
            assert_eq!(hour_totals(s, "p").await, (288, 60), "{}", db.name);
            let hist: Vec<String> = s
                .history("p", 10)
                .await
                .unwrap()
                .into_iter()
                .map(|h| h.report_id)
                .collect();
            assert_eq!(hist, ["r287", "r180", "r120", "r000"], "{}", db.name);
            // The latest state names the newest report; its body is that
            // of the report that began the state (r180, open again), which
            // the 107 reports after it did not rewrite.
            let d = s.probe("p").await.unwrap().unwrap();
            assert_eq!(d.latest.report_id, "r287");
            assert_eq!(d.latest.started_at, unix_ms(at(287 * 5)));
            let r: stca2_report::Report = serde_json::from_str(&d.body.unwrap()).unwrap();
            assert_eq!(r.report_id, "r180", "{}", db.name);
            assert_eq!(unix_ms(r.started_at), unix_ms(at(180 * 5)));
            assert_eq!(
                (d.state_since, d.state_reports),
                (Some(unix_ms(at(180 * 5))), 108),
                "{}",
                db.name
            );
            // The history export lists the state changes.
            let mut out = Vec::new();
            let n = stca2_backoffice::cli::export_to(s, &ExportFilter::default(), &mut out)
                .await
                .unwrap();
            assert_eq!(n, 6, "{}: 3 reports x 2 targets", db.name);
            db
        },
    )
    .await;
}

#[tokio::test]
async fn a_retry_of_a_report_only_counted_is_a_duplicate() {
    each_backend(
        "a_retry_of_a_report_only_counted_is_a_duplicate",
        |db| async move {
            let s = &db.store;
            // a: stored whole (first); b: only counted; c: a change.
            s.insert_batch(&[row("p", "a", 0, false), row("p", "b", 5, false)])
                .await
                .unwrap();
            assert_eq!(s.count_bodies().await.unwrap(), 1);
            let o = s.insert_batch(&[row("p", "b", 5, false)]).await.unwrap();
            assert_eq!((o.stored, o.duplicates), (0, 1), "{}: b retried", db.name);
            s.insert_batch(&[row("p", "c", 10, true)]).await.unwrap();
            // After the state changed, b (open) would look like a change
            // if it were new: it is still a retry.
            let o = s
                .insert_batch(&[
                    row("p", "b", 5, false),
                    row("p", "a", 0, false),
                    row("p", "d", 15, true),
                ])
                .await
                .unwrap();
            assert_eq!((o.stored, o.duplicates), (1, 2), "{}", db.name);
            assert_eq!(s.count_reports().await.unwrap(), 4, "{}", db.name);
            assert_eq!(s.count_bodies().await.unwrap(), 2, "{}", db.name);
            let l = s.probe("p").await.unwrap().unwrap().latest;
            assert_eq!(
                (l.report_id.as_str(), l.closed_streak),
                ("d", 2),
                "{}",
                db.name
            );
            for (id, m) in [("a", 0), ("b", 5), ("d", 15)] {
                assert!(s.counted("p", id, unix_ms(at(m))).await.unwrap(), "{id}");
            }
            assert!(!s.counted("p", "zz", unix_ms(at(5))).await.unwrap());
            // Eight writers sending the same 24 unchanged reports, in
            // different orders: each counted once.
            let mut set = tokio::task::JoinSet::new();
            for w in 0..8usize {
                let store = s.clone();
                set.spawn(async move {
                    let mut stored = 0;
                    for k in 0..24usize {
                        let k = (k * 5 + w * 7) % 24;
                        let m = 20 + 5 * k as i64;
                        let o = store
                            .insert_batch(&[row("p", &format!("s{m}"), m, true)])
                            .await
                            .unwrap();
                        stored += o.stored;
                    }
                    stored
                });
            }
            let mut stored = 0;
            while let Some(n) = set.join_next().await {
                stored += n.unwrap();
            }
            assert_eq!(stored, 24, "{}", db.name);
            assert_eq!(s.count_reports().await.unwrap(), 28, "{}", db.name);
            assert_eq!(s.count_bodies().await.unwrap(), 2, "{}", db.name);
            let l = s.probe("p").await.unwrap().unwrap().latest;
            assert_eq!(l.closed_streak, 26, "{}", db.name);
            assert_eq!(l.started_at, unix_ms(at(20 + 5 * 23)), "{}", db.name);
            db
        },
    )
    .await;
}

/// The first migration as shipped before issue 11.
fn first_migration(backend: &str) -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr;
    let sql = match backend {
        "sqlite" => include_str!("../crates/backoffice/migrations/sqlite/0001_backoffice.sql"),
        _ => include_str!("../crates/backoffice/migrations/postgres/0001_backoffice.sql"),
    };
    sqlx::migrate::Migrator::with_migrations(vec![sqlx::migrate::Migration::new(
        1,
        "backoffice".into(),
        sqlx::migrate::MigrationType::Simple,
        sql.into_sql_str(),
        false,
    )])
}

/// `'text'` with quotes doubled, or NULL.
fn lit(s: Option<&str>) -> String {
    s.map_or("NULL".into(), |s| format!("'{}'", s.replace('\'', "''")))
}

#[tokio::test]
async fn an_old_database_is_migrated_and_answers_the_same() {
    each_empty_url(
        "an_old_database_is_migrated_and_answers_the_same",
        |name, url| async move {
            // The old schema, and what the old ingest wrote: every report
            // whole, and each probe's latest state.
            let rows: Vec<NewReport> = (0..3)
                .flat_map(|p| {
                    (0..5).map(move |k| {
                        row(&format!("p{p}"), &format!("r{p}-{k}"), k * 30, k >= p + 2)
                    })
                })
                .map(|r| match r.probe_id.as_str() {
                    "p1" => with_findings(r, &["old_ca", "interception", "old_ca"]),
                    _ => r,
                })
                .collect();
            assert_eq!(rows[9].findings, ",interception,old_ca,");
            // p0's newest report says its spool lost 7 reports.
            let mut rows = rows;
            let mut v: serde_json::Value = serde_json::from_str(&rows[4].body).unwrap();
            v["probe"]["spool_dropped"] = 7.into();
            rows[4].body = v.to_string();
            let mut sql = String::new();
            for r in &rows {
                sql.push_str(&format!(
                    "INSERT INTO reports VALUES ({}, {}, NULL, {}, {}, {}, {}, {}, {}, {});\n",
                    lit(Some(&r.report_id)),
                    lit(Some(&r.probe_id)),
                    r.received_at,
                    r.started_at,
                    r.finished_at,
                    lit(r.public_ip.as_deref()),
                    r.stca2_port_closed,
                    lit(Some(&r.recommendation)),
                    lit(Some(&r.body)),
                ));
            }
            // Probe p's port is closed from report p + 2 on (k = 0..5, every
            // 30 minutes): the old ingest's streak of the latest.
            let streak = |r: &NewReport| {
                let p: i64 = r.probe_id[1..].parse().unwrap();
                3 - p
            };
            let since = |r: &NewReport| {
                let p: i64 = r.probe_id[1..].parse().unwrap();
                unix_ms(at((p + 2) * 30)).to_string()
            };
            let mut latest: BTreeMap<&str, &NewReport> = BTreeMap::new();
            for r in &rows {
                latest.insert(&r.probe_id, r);
            }
            for r in latest.values() {
                sql.push_str(&format!(
                    "INSERT INTO latest VALUES ({}, {}, {}, {}, {}, {}, {}, {}, NULL, {});\n",
                    lit(Some(&r.probe_id)),
                    lit(Some(&r.report_id)),
                    r.started_at,
                    r.stca2_port_closed,
                    since(r),
                    streak(r),
                    lit(Some(&r.recommendation)),
                    lit(Some(&r.message)),
                    lit(r.public_ip.as_deref()),
                ));
            }
            if name == "sqlite" {
                let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
                first_migration(name).run(&pool).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            } else {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                first_migration(name).run(&pool).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
            // Migrated by the current code.
            let s = Store::connect(&url).await.unwrap();
            let dropped: Vec<Option<i64>> = [0, 1]
                .map(|p| format!("p{p}"))
                .iter()
                .map(|p| s.probe(p))
                .collect::<futures_util::future::JoinAll<_>>()
                .await
                .into_iter()
                .map(|d| d.unwrap().unwrap().spool_dropped)
                .collect();
            assert_eq!(dropped, [Some(7), None], "{name}: from the latest bodies");
            // The day partitions 0003 made get 0005's storage settings.
            if let Store::Postgres(pool) = &s {
                let opts: Vec<(String, Vec<String>)> = sqlx::query_as(
                    "SELECT c.relname::TEXT, COALESCE(c.reloptions, '{}') FROM pg_class c \
                     WHERE c.relnamespace = current_schema()::regnamespace \
                     AND c.relname ~ '^report_hours_d[0-9]+$'",
                )
                .fetch_all(pool)
                .await
                .unwrap();
                assert!(!opts.is_empty());
                for (part, o) in &opts {
                    assert!(o.iter().any(|x| x == "fillfactor=90"), "{part}: {o:?}");
                }
            }
            assert_eq!(s.count_reports().await.unwrap(), 15, "{name}");
            assert_eq!(s.count_latest().await.unwrap(), 3, "{name}");
            for p in 0..3 {
                let probe = format!("p{p}");
                let hist: Vec<String> = s
                    .history(&probe, 100)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|h| h.report_id)
                    .collect();
                let want: Vec<String> = (0..5).rev().map(|k| format!("r{p}-{k}")).collect();
                assert_eq!(hist, want, "{name}: old reports stay whole");
                let d = s.probe(&probe).await.unwrap().unwrap();
                let l = d.latest;
                assert_eq!(l.report_id, format!("r{p}-4"));
                assert_eq!(
                    d.body.as_deref(),
                    Some(latest[probe.as_str()].body.as_str()),
                    "{name}"
                );
                assert_eq!(
                    l.findings,
                    latest[probe.as_str()].findings,
                    "{name}: the latest report's finding codes, from its body"
                );
                assert_eq!(hour_totals(&s, &probe).await.0, 5, "{name}");
            }
            let mut out = Vec::new();
            let n = stca2_backoffice::cli::export_to(&s, &ExportFilter::default(), &mut out)
                .await
                .unwrap();
            assert_eq!(n, 30, "{name}");
            let mut out = Vec::new();
            let closed = ExportFilter {
                closed_only: true,
                ..Default::default()
            };
            let n = stca2_backoffice::cli::export_to(&s, &closed, &mut out)
                .await
                .unwrap();
            assert_eq!(n, 6, "{name}: 3 closed probes x 2 targets");
            // Retries of migrated reports are duplicates; new ones count,
            // and a late one corrects the streak from the migrated records.
            let o = s.insert_batch(&rows[..4]).await.unwrap();
            assert_eq!((o.stored, o.duplicates), (0, 4), "{name}");
            s.insert_batch(&[row("p0", "new", 150, true), row("p2", "late", 100, true)])
                .await
                .unwrap();
            assert_eq!(s.count_reports().await.unwrap(), 17, "{name}");
            let l = s.probe("p0").await.unwrap().unwrap().latest;
            assert_eq!(
                (l.report_id.as_str(), l.closed_streak, l.closed_since),
                ("new", 4, Some(unix_ms(at(60)))),
                "{name}"
            );
            // p2 closed at 120 only; a closed report at 100, with r2-3 (90,
            // open) before it and nothing between, joins the run.
            let l = s.probe("p2").await.unwrap().unwrap().latest;
            assert_eq!(
                (l.report_id.as_str(), l.closed_streak, l.closed_since),
                ("r2-4", 2, Some(unix_ms(at(100)))),
                "{name}"
            );
            s.close().await;
        },
    )
    .await;
}

/// Replicas share a PostgreSQL server (SQLite is one file for one `serve`):
/// this test runs on PostgreSQL only, and says so when it is missing.
#[tokio::test]
async fn two_replicas_on_one_database_count_every_report_once() {
    let test = "two_replicas_on_one_database_count_every_report_once";
    let Some(db) = crate::util::backoffice::postgres(test).await else {
        return;
    };
    let run = async |db: crate::util::backoffice::TestDb| {
        // A second server process as far as the database can tell: its
        // own store (pool) on the same database.
        let other = Store::connect(&db.url).await.unwrap();
        let a = start(&db.store, "127.0.0.1:0", &[]).await;
        let b = start(&other, "127.0.0.1:0", &[]).await;
        // Each probe from its own address, as in a fleet (one address
        // may hold only so many connections without a valid token yet).
        let net = crate::util::net::network();
        // 8 probes x 12 reports; probe k's port closes at report k.
        let mut uploads = Vec::new();
        for p in 0..8i64 {
            let c = crate::util::backoffice::client_from(net.host(u8::try_from(p + 1).unwrap()));
            let tok = token(&db.store, Some(&format!("p{p}")), None).await;
            for k in 0..12i64 {
                let r = report(
                    &format!("p{p}"),
                    &format!("r{p}-{k}"),
                    at(k * 5),
                    k >= p,
                    Recommendation::ConfigureSecondary,
                );
                uploads.push((c.clone(), tok.clone(), json(&r).to_string()));
            }
        }
        // Every report to both replicas at once, in a shuffled order.
        let mut set = tokio::task::JoinSet::new();
        for (i, (c, tok, body)) in uploads.iter().enumerate() {
            for (j, base) in [&a.base, &b.base].into_iter().enumerate() {
                let (c, base, tok, body) = (c.clone(), base.clone(), tok.clone(), body.clone());
                let delay = ((i * 37 + j * 11) % 23) as u64;
                set.spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                    post_reports(&c, &base, &tok, body).await
                });
            }
        }
        let mut stored = 0;
        while let Some(r) = set.join_next().await {
            let (s, v) = r.unwrap();
            assert!(s.is_success(), "{}: {s} {v}", db.name);
            stored += v["stored"].as_u64().unwrap();
        }
        assert_eq!(stored, 96, "{}", db.name);
        for store in [&db.store, &other] {
            assert_eq!(store.count_reports().await.unwrap(), 96, "{}", db.name);
            for p in 0..8i64 {
                let l = store.probe(&format!("p{p}")).await.unwrap().unwrap().latest;
                assert_eq!(
                    l.report_id,
                    crate::util::backoffice::rid(&format!("r{p}-11"))
                );
                assert_eq!(l.closed_streak, 12 - p, "{}: p{p}", db.name);
                assert_eq!(
                    l.closed_since,
                    Some(unix_ms(at(p * 5))),
                    "{}: p{p}",
                    db.name
                );
            }
        }
        // Partition upkeep and retention from both at once: one does
        // it, the other finds the lock taken; neither fails.
        let (x, y) = tokio::join!(
            db.store.prune(unix_ms(at(-10 * 24 * 60))),
            other.prune(unix_ms(at(-10 * 24 * 60)))
        );
        x.unwrap();
        y.unwrap();
        let now = unix_ms(time::OffsetDateTime::now_utc());
        let (x, y) = tokio::join!(db.store.upkeep(now), other.upkeep(now));
        x.unwrap();
        y.unwrap();
        assert_eq!(db.store.count_reports().await.unwrap(), 96, "{}", db.name);
        // Autovacuum keeps pace with the tables every report updates
        // (0005_state): `latest`, and each day partition, made before the
        // migration or after.
        if let stca2_backoffice::store::Store::Postgres(pool) = &db.store {
            let opts: Vec<(String, Vec<String>)> = sqlx::query_as(
                "SELECT c.relname::TEXT, COALESCE(c.reloptions, '{}') FROM pg_class c \
                 WHERE c.relnamespace = current_schema()::regnamespace \
                 AND (c.relname = 'latest' OR c.relname ~ '^report_hours_d[0-9]+$')",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            assert!(opts.len() > 1, "{opts:?}");
            for (name, o) in &opts {
                assert!(
                    o.iter().any(|x| x == "autovacuum_vacuum_scale_factor=0.02")
                        && o.iter().any(|x| x == "autovacuum_vacuum_cost_delay=0"),
                    "{name}: {o:?}"
                );
                if name != "latest" {
                    assert!(o.iter().any(|x| x == "fillfactor=90"), "{name}: {o:?}");
                }
            }
        }
        a.stop().await;
        b.stop().await;
        other.close().await;
        db
    };
    run(db).await.cleanup().await;
}
