//! Store tests, each run against SQLite and PostgreSQL.

use crate::util::backoffice::{at, each_backend, report, row};
use stca2_backoffice::store::{ExportFilter, LatestFilter, NewReport, Store, unix_ms};
use stca2_report::Recommendation;

async fn latest_of(store: &Store, probe: &str) -> stca2_backoffice::store::LatestRow {
    store.probe(probe).await.unwrap().unwrap().latest
}

#[tokio::test]
async fn batch_insert_is_idempotent_on_report_id() {
    each_backend("batch_insert_is_idempotent_on_report_id", |db| async move {
        let batch: Vec<NewReport> = (0..50)
            .map(|i| row(&format!("p{i:03}"), &format!("r{i:03}"), i, i % 2 == 0))
            .collect();
        let o = db.store.insert_batch(&batch).await.unwrap();
        assert_eq!((o.stored, o.duplicates), (50, 0), "{}", db.name);
        let o = db.store.insert_batch(&batch).await.unwrap();
        assert_eq!((o.stored, o.duplicates), (0, 50), "{}", db.name);
        // The same report twice within one batch is stored once.
        let twice = vec![row("q", "rq", 1, false), row("q", "rq", 1, false)];
        let o = db.store.insert_batch(&twice).await.unwrap();
        assert_eq!((o.stored, o.duplicates), (1, 1), "{}", db.name);
        assert_eq!(db.store.count_reports().await.unwrap(), 51);
        assert_eq!(db.store.count_latest().await.unwrap(), 51);
        // The same report_id from another probe is not a retry: the whole
        // batch is refused.
        let foreign = vec![row("new", "r-new", 1, true), row("other", "r007", 1, true)];
        let err = db.store.insert_batch(&foreign).await.unwrap_err();
        assert!(
            matches!(
                err,
                stca2_backoffice::store::StoreError::ReportIdTaken { .. }
            ),
            "{}: {err}",
            db.name
        );
        assert_eq!(db.store.count_reports().await.unwrap(), 51, "{}", db.name);
        assert!(db.store.probe("new").await.unwrap().is_none());
        db
    })
    .await;
}

#[tokio::test]
async fn a_database_error_mid_batch_stores_nothing() {
    each_backend(
        "a_database_error_mid_batch_stores_nothing",
        |db| async move {
            db.store
                .insert_batch(&[row("p0", "r0", 0, true)])
                .await
                .unwrap();
            let mut batch = vec![row("p1", "r1", 1, true), row("p2", "r2", 2, true)];
            // Longer than the schema's CHECK allows: the database itself refuses
            // the second row, after the first was written in the transaction.
            batch.push(row("p3", &"x".repeat(200), 3, true));
            batch.push(row("p0", "r4", 4, false));
            let err = db.store.insert_batch(&batch).await;
            assert!(err.is_err(), "{}: the CHECK constraint must fail", db.name);
            assert_eq!(db.store.count_reports().await.unwrap(), 1, "{}", db.name);
            assert_eq!(db.store.count_latest().await.unwrap(), 1, "{}", db.name);
            let l = latest_of(&db.store, "p0").await;
            assert_eq!(l.report_id, "r0");
            assert!(l.stca2_port_closed);
            db
        },
    )
    .await;
}

#[tokio::test]
async fn closed_since_and_streak_follow_the_sequence() {
    each_backend(
        "closed_since_and_streak_follow_the_sequence",
        |db| async move {
            let s = &db.store;
            // open, closed, closed, closed (one batch of two), open, closed
            s.insert_batch(&[row("p", "a", 0, false)]).await.unwrap();
            let l = latest_of(s, "p").await;
            assert_eq!((l.closed_streak, l.closed_since), (0, None));
            s.insert_batch(&[row("p", "b", 5, true)]).await.unwrap();
            let l = latest_of(s, "p").await;
            assert_eq!((l.closed_streak, l.closed_since), (1, Some(unix_ms(at(5)))));
            // A batch holding two reports of the same probe, out of order.
            s.insert_batch(&[row("p", "d", 15, true), row("p", "c", 10, true)])
                .await
                .unwrap();
            let l = latest_of(s, "p").await;
            assert_eq!(l.report_id, "d", "{}", db.name);
            assert_eq!(
                (l.closed_streak, l.closed_since),
                (3, Some(unix_ms(at(5)))),
                "{}",
                db.name
            );
            // A late, older report goes to history but does not touch latest.
            s.insert_batch(&[row("p", "old", 1, false)]).await.unwrap();
            let l = latest_of(s, "p").await;
            assert_eq!(
                (l.report_id.as_str(), l.closed_streak),
                ("d", 3),
                "{}",
                db.name
            );
            s.insert_batch(&[row("p", "e", 20, false)]).await.unwrap();
            let l = latest_of(s, "p").await;
            assert_eq!(
                (l.closed_streak, l.closed_since, l.stca2_port_closed),
                (0, None, false)
            );
            s.insert_batch(&[row("p", "f", 25, true)]).await.unwrap();
            let l = latest_of(s, "p").await;
            assert_eq!(
                (l.closed_streak, l.closed_since),
                (1, Some(unix_ms(at(25))))
            );
            // The history lists the latest report and the reports that
            // changed the probe's state (issue 11: only those keep a body):
            // c and d said what b said, and "old" what a said. Every report
            // is still counted.
            let hist = s.history("p", 100).await.unwrap();
            let ids: Vec<&str> = hist.iter().map(|h| h.report_id.as_str()).collect();
            assert_eq!(ids, ["f", "e", "b", "a"], "{}", db.name);
            assert_eq!(s.count_reports().await.unwrap(), 7, "{}", db.name);
            db
        },
    )
    .await;
}

#[tokio::test]
async fn latest_filters_paginate_by_probe() {
    each_backend("latest_filters_paginate_by_probe", |db| async move {
        let batch: Vec<NewReport> = (0..25)
            .map(|i| {
                let mut r = row(&format!("p{i:02}"), &format!("r{i:02}"), i, i % 3 != 0);
                r.merchant_id = Some(if i < 10 { "m-a".into() } else { "m-b".into() });
                r
            })
            .collect();
        db.store.insert_batch(&batch).await.unwrap();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = db
                .store
                .latest(&LatestFilter {
                    closed_only: true,
                    after: after.clone(),
                    limit: 4,
                    ..Default::default()
                })
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 4);
            after = page.last().map(|r| r.probe_id.clone());
            seen.extend(page.into_iter().map(|r| r.probe_id));
        }
        let want: Vec<String> = (0..25)
            .filter(|i| i % 3 != 0)
            .map(|i| format!("p{i:02}"))
            .collect();
        assert_eq!(seen, want, "{}", db.name);
        let m = db
            .store
            .latest(&LatestFilter {
                closed_only: true,
                merchant: Some("m-a".into()),
                since: Some(unix_ms(at(4))),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        let ids: Vec<&str> = m.iter().map(|r| r.probe_id.as_str()).collect();
        assert_eq!(ids, ["p04", "p05", "p07", "p08"], "{}", db.name);
        db
    })
    .await;
}

#[tokio::test]
async fn prune_keeps_recent_history_and_every_latest_report() {
    each_backend(
        "prune_keeps_recent_history_and_every_latest_report",
        |db| async move {
            let s = &db.store;
            // p: closed at minute 0, open at 10 (a change), open at 20 (not:
            // counted only); q: one report at minute 1.
            s.insert_batch(&[
                row("p", "a", 0, true),
                row("p", "b", 10, false),
                row("p", "c", 20, false),
                row("q", "d", 1, false),
            ])
            .await
            .unwrap();
            assert_eq!(s.count_bodies().await.unwrap(), 3, "{}", db.name);
            // Bodies older than the cutoff go, but for each probe's newest
            // (which says since when its state holds); the body of the report
            // that began each probe's state stays in `latest` too. Hour rows go by whole days: these
            // are not a day old yet, so every report is still counted.
            let n = s.prune(unix_ms(at(5))).await.unwrap();
            assert_eq!(
                n, 1,
                "{}: only p's old body goes; q's is its newest",
                db.name
            );
            assert_eq!(s.count_bodies().await.unwrap(), 2, "{}", db.name);
            assert_eq!(s.count_reports().await.unwrap(), 4, "{}", db.name);
            assert_eq!(s.history("q", 10).await.unwrap().len(), 1);
            let ids: Vec<String> = s
                .history("p", 10)
                .await
                .unwrap()
                .into_iter()
                .map(|h| h.report_id)
                .collect();
            assert_eq!(ids, ["c", "b"], "{}", db.name);
            // The latest state names c; its body is b's, which began the
            // state c repeated, and which retention kept.
            let d = s.probe("p").await.unwrap().unwrap();
            assert_eq!(d.latest.report_id, "c");
            let body = d.body.unwrap();
            assert!(body.contains("\"b\""), "{}: {body}", db.name);
            assert_eq!(d.state_reports, 2, "{}", db.name);
            // Two days later, the hour rows of that day go too.
            let n = s.prune(unix_ms(at(3 * 24 * 60))).await.unwrap();
            assert!(n >= 2, "{}: {n}", db.name);
            assert_eq!(s.count_reports().await.unwrap(), 0, "{}", db.name);
            assert_eq!(s.count_bodies().await.unwrap(), 2, "{}", db.name);
            db
        },
    )
    .await;
}

#[tokio::test]
async fn tokens_issue_find_revoke() {
    each_backend("tokens_issue_find_revoke", |db| async move {
        let s = &db.store;
        let t = crate::util::backoffice::token(s, Some("p1"), Some("m")).await;
        let h = stca2_backoffice::auth::hash_token(&t);
        let found = s.find_token(&h).await.unwrap().unwrap();
        assert_eq!(found.probe_id.as_deref(), Some("p1"));
        assert_eq!(s.list_tokens().await.unwrap().len(), 1);
        assert_eq!(s.revoke_tokens(Some(&h[..10]), None, 5).await.unwrap(), 1);
        assert!(s.find_token(&h).await.unwrap().is_none());
        assert_eq!(s.revoke_tokens(Some(&h[..10]), None, 6).await.unwrap(), 0);
        let t2 = crate::util::backoffice::token(s, Some("p2"), None).await;
        // Selectors that would match every token, or smuggle a LIKE pattern, are refused.
        for (prefix, probe) in [
            (None, None),
            (Some(""), None),
            (Some("%"), None),
            (Some("_a"), None),
        ] {
            assert!(
                s.revoke_tokens(prefix, probe, 7).await.is_err(),
                "{}: {prefix:?}",
                db.name
            );
        }
        assert!(
            s.find_token(&stca2_backoffice::auth::hash_token(&t2))
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(s.revoke_tokens(None, Some("p2"), 7).await.unwrap(), 1);
        db
    })
    .await;
}

#[tokio::test]
async fn export_streams_neutralised_rows_with_public_ip() {
    each_backend(
        "export_streams_neutralised_rows_with_public_ip",
        |db| async move {
            let batch: Vec<NewReport> = (0..300)
                .map(|i| row(&format!("p{i:03}"), &format!("r{i:03}"), i, i % 2 == 0))
                .collect();
            db.store.insert_batch(&batch).await.unwrap();
            let mut out: Vec<u8> = Vec::new();
            let n = stca2_backoffice::cli::export_to(
                &db.store,
                &ExportFilter {
                    closed_only: true,
                    ..Default::default()
                },
                &mut out,
            )
            .await
            .unwrap();
            assert_eq!(n, 300, "{}: 150 closed probes x 2 targets", db.name);
            let text = String::from_utf8(out).unwrap();
            let mut rd = csv::Reader::from_reader(text.as_bytes());
            let headers = rd.headers().unwrap().clone();
            let cols: Vec<&str> = headers.iter().collect();
            assert_eq!(cols, stca2_report::csv::COLUMNS);
            let ip = cols.iter().position(|c| *c == "public_ip").unwrap();
            let msg = cols.iter().position(|c| *c == "message").unwrap();
            let mut rows = 0;
            for rec in rd.records() {
                let rec = rec.unwrap();
                assert_eq!(&rec[ip], "203.0.113.7");
                assert!(rec[msg].starts_with("'="), "{}", &rec[msg]);
                rows += 1;
            }
            assert_eq!(rows, 300);
            db
        },
    )
    .await;
}

/// The streak a sequence of (minute, closed) reports must end with, in
/// start order whatever the arrival order: (streak, closed_since minute).
fn expected_streak(reports: &[(i64, bool)]) -> (i64, Option<i64>) {
    let mut sorted = reports.to_vec();
    sorted.sort();
    let run: Vec<i64> = sorted
        .iter()
        .rev()
        .take_while(|(_, closed)| *closed)
        .map(|(m, _)| *m)
        .collect();
    (run.len() as i64, run.last().copied())
}

async fn assert_streak(store: &Store, probe: &str, reports: &[(i64, bool)], what: &str) {
    let (n, since) = expected_streak(reports);
    let l = latest_of(store, probe).await;
    assert_eq!(
        (l.closed_streak, l.closed_since),
        (n, since.map(|m| unix_ms(at(m)))),
        "{what}"
    );
    let newest = reports.iter().map(|(m, _)| *m).max().unwrap();
    assert_eq!(
        l.started_at,
        unix_ms(at(newest)),
        "{what}: latest moved back"
    );
}

#[tokio::test]
async fn late_reports_correct_the_streak() {
    each_backend("late_reports_correct_the_streak", |db| async move {
        let s = &db.store;
        let name = db.name;
        let mut seen: Vec<(i64, bool)> = Vec::new();
        let mut send = async |batch: &[(i64, bool)], what: &str| {
            let rows: Vec<NewReport> = batch
                .iter()
                .map(|(m, c)| row("p", &format!("r{m}"), *m, *c))
                .collect();
            s.insert_batch(&rows).await.unwrap();
            seen.extend_from_slice(batch);
            assert_streak(s, "p", &seen, &format!("{name}: {what}")).await;
        };
        send(&[(0, true), (10, true), (20, true)], "in order").await;
        // An open report inside the run: the run restarts after it.
        send(&[(15, false)], "open inside the run").await;
        // A closed report just before the run, nothing between: joins it.
        send(&[(17, true)], "closed just before the run").await;
        // A closed report before the run with an open one between: no change.
        send(&[(12, true)], "closed behind an open report").await;
        // Several late reports in one batch, in any order.
        send(&[(16, true), (30, true), (5, false)], "late and new mixed").await;
        send(&[(29, false), (29 - 1, true), (25, true)], "a late batch").await;
        // Once the latest is open, older closed reports change nothing.
        send(&[(40, false)], "open now").await;
        send(&[(35, true), (38, true)], "closed but older than open").await;
        db
    })
    .await;
}

#[tokio::test]
async fn concurrent_out_of_order_reports_give_the_sequential_streak() {
    each_backend(
        "concurrent_out_of_order_reports_give_the_sequential_streak",
        |db| async move {
            // 40 reports of one probe, closed but for minutes 7 and 23, sent
            // by 8 concurrent writers in a shuffled order.
            let reports: Vec<(i64, bool)> = (0..40).map(|m| (m, m != 7 && m != 23)).collect();
            let mut order: Vec<usize> = (0..reports.len()).collect();
            // A fixed permutation (37 is coprime with 40).
            order.sort_by_key(|i| (i * 37) % reports.len());
            let mut set = tokio::task::JoinSet::new();
            for w in 0..8 {
                let store = db.store.clone();
                let mine: Vec<(i64, bool)> = order
                    .iter()
                    .skip(w)
                    .step_by(8)
                    .map(|&i| reports[i])
                    .collect();
                set.spawn(async move {
                    for (m, c) in mine {
                        store
                            .insert_batch(&[row("p", &format!("r{m}"), m, c)])
                            .await
                            .unwrap();
                    }
                });
            }
            while let Some(r) = set.join_next().await {
                r.unwrap();
            }
            assert_eq!(db.store.count_reports().await.unwrap(), 40);
            assert_streak(&db.store, "p", &reports, db.name).await;
            db
        },
    )
    .await;
}

#[tokio::test]
async fn export_writes_the_same_bytes_as_the_contract_csv_writer() {
    each_backend(
        "export_writes_the_same_bytes_as_the_contract_csv_writer",
        |db| async move {
            // Enough rows for several chunks of the stream.
            let reports: Vec<stca2_report::Report> = (0..400)
                .map(|i| {
                    report(
                        &format!("p{i:03}"),
                        &format!("r{i:03}"),
                        at(i),
                        i % 3 == 0,
                        Recommendation::OpenPrimary,
                    )
                })
                .collect();
            let batch: Vec<NewReport> = reports
                .iter()
                .map(|r| {
                    NewReport::from_report(
                        r,
                        serde_json::to_string(r).unwrap(),
                        None,
                        Some("203.0.113.7".into()),
                        unix_ms(r.started_at),
                    )
                })
                .collect();
            db.store.insert_batch(&batch).await.unwrap();
            let mut out: Vec<u8> = Vec::new();
            let n = stca2_backoffice::cli::export_to(&db.store, &ExportFilter::default(), &mut out)
                .await
                .unwrap();
            assert_eq!(n, 800, "{}", db.name);
            assert!(out.len() > 2 * stca2_backoffice::isp_csv::CSV_CHUNK);
            let mut want: Vec<u8> = Vec::new();
            stca2_report::csv::write(&mut want, &reports, Some("203.0.113.7")).unwrap();
            assert!(
                out == want,
                "{}: the export differs from csv::write",
                db.name
            );
            db
        },
    )
    .await;
}

/// A TCP-only report (a daemon's `tls_every`: TLS `not_attempted`) moves
/// the TCP facts (latest report, "Port STCA2 non ouvert", its streak) but
/// never the failover recommendation, which only a full check judges; and
/// with the TCP facts of the state it is no change of state: no body kept,
/// the latest body (the console's TLS findings) stays the full report's.
#[tokio::test]
async fn a_tcp_only_report_keeps_the_recommendation_of_the_last_full_one() {
    fn tcp_only(probe: &str, id: &str, minute: i64, closed: bool) -> NewReport {
        let mut r = report(probe, id, at(minute), closed, Recommendation::None);
        for t in r.results.iter_mut().filter(|t| t.tls.is_some()) {
            t.tls = Some(stca2_report::TlsResult::not_attempted("TCP-only"));
        }
        r.summary.failover.message = "Failover is judged on full checks".into();
        assert!(r.tcp_only());
        let body = serde_json::to_string(&r).unwrap();
        NewReport::from_report(&r, body, None, None, unix_ms(at(minute)))
    }
    fn full(probe: &str, id: &str, minute: i64, rec: Recommendation) -> NewReport {
        let r = report(probe, id, at(minute), true, rec);
        let body = serde_json::to_string(&r).unwrap();
        NewReport::from_report(&r, body, None, None, unix_ms(at(minute)))
    }
    async fn body_id(s: &Store, probe: &str) -> String {
        let body = s.probe(probe).await.unwrap().unwrap().body.unwrap();
        serde_json::from_str::<stca2_report::Report>(&body)
            .unwrap()
            .report_id
    }
    each_backend(
        "a_tcp_only_report_keeps_the_recommendation",
        |db| async move {
            let s = &db.store;
            // Full and open, then TCP-only with the port closed: the blocked
            // list moves, the recommendation stays; the TCP facts changed, so
            // the report is kept whole.
            s.insert_batch(&[row("m", "m1", 1, false)]).await.unwrap();
            s.insert_batch(&[tcp_only("m", "m2", 2, true)])
                .await
                .unwrap();
            let l = latest_of(s, "m").await;
            assert_eq!(l.report_id, "m2", "{}", db.name);
            assert!(l.stca2_port_closed);
            assert_eq!((l.closed_streak, l.closed_since), (1, Some(unix_ms(at(2)))));
            assert_eq!(l.recommendation, "configure_secondary", "{}", db.name);
            assert!(l.message.contains("configure_secondary"), "{}", l.message);
            assert_eq!(s.count_bodies().await.unwrap(), 2, "{}", db.name);
            // In one batch, the same TCP facts: counted, streak extended,
            // no change of state, no body kept.
            s.insert_batch(&[tcp_only("m", "m4", 4, true), tcp_only("m", "m3", 3, true)])
                .await
                .unwrap();
            let l = latest_of(s, "m").await;
            assert_eq!((l.report_id.as_str(), l.closed_streak), ("m4", 3));
            assert_eq!(l.recommendation, "configure_secondary", "{}", db.name);
            assert_eq!(s.count_bodies().await.unwrap(), 2, "{}", db.name);
            let blocked = s
                .latest(&LatestFilter {
                    closed_only: true,
                    recommendation: Some("configure_secondary".into()),
                    limit: 10,
                    ..LatestFilter::default()
                })
                .await
                .unwrap();
            assert_eq!(blocked.len(), 1, "{}", db.name);
            // The next full report replaces it (its TLS facts are news).
            s.insert_batch(&[full("m", "m5", 5, Recommendation::OpenPrimary)])
                .await
                .unwrap();
            let l = latest_of(s, "m").await;
            assert_eq!(
                (l.closed_streak, l.recommendation.as_str()),
                (4, "open_primary")
            );
            assert_eq!(s.count_bodies().await.unwrap(), 3, "{}", db.name);
            // A TCP-only report after it, same TCP facts: not a change to
            // "TLS failing" nor anything else; the latest body stays m5's.
            s.insert_batch(&[tcp_only("m", "m6", 6, true)])
                .await
                .unwrap();
            let l = latest_of(s, "m").await;
            assert_eq!((l.report_id.as_str(), l.closed_streak), ("m6", 5));
            assert_eq!(l.recommendation, "open_primary", "{}", db.name);
            assert_eq!(s.count_bodies().await.unwrap(), 3, "{}", db.name);
            assert_eq!(body_id(s, "m").await, "m5", "{}", db.name);
            // A full report like m5 after it: still the same state, whose
            // body (m5's) stays.
            s.insert_batch(&[full("m", "m7", 7, Recommendation::OpenPrimary)])
                .await
                .unwrap();
            assert_eq!(s.count_bodies().await.unwrap(), 3, "{}", db.name);
            assert_eq!(body_id(s, "m").await, "m5", "{}", db.name);
            assert_eq!(latest_of(s, "m").await.report_id, "m7", "{}", db.name);
            // Late, TCP-only with the state's TCP facts before it: no body.
            s.insert_batch(&[tcp_only("m", "m5b", 5, true)])
                .await
                .unwrap();
            assert_eq!(s.count_bodies().await.unwrap(), 3, "{}", db.name);
            // A probe whose first report is TCP-only: no recommendation yet.
            s.insert_batch(&[tcp_only("n", "n1", 1, false)])
                .await
                .unwrap();
            assert_eq!(
                latest_of(s, "n").await.recommendation,
                "none",
                "{}",
                db.name
            );
            // The history keeps each report that changed the state as it came.
            let history = s.history("m", 10).await.unwrap();
            assert!(
                history
                    .iter()
                    .any(|h| h.report_id == "m2" && h.recommendation == "none")
            );
            db
        },
    )
    .await;
}

/// The probe's own facts: a new version (or host name, merchant, source,
/// interface) in a full report is a change of state, kept whole; a
/// TCP-only report does not judge them (it is compared on its TCP facts);
/// the spool's lost count is no change at all, but `latest` keeps the
/// newest report's (a spool at its bound loses one more each cycle).
#[tokio::test]
async fn probe_facts_change_the_state_and_the_lost_count_follows_the_newest() {
    each_backend(
        "probe_facts_change_the_state_and_the_lost_count_follows_the_newest",
        |db| async move {
            let s = &db.store;
            let make = |id: &str, minute: i64, version: &str, dropped: Option<u64>, tcp: bool| {
                let mut r = report("v", id, at(minute), false, Recommendation::None);
                r.probe.version = version.into();
                r.probe.spool_dropped = dropped;
                if tcp {
                    for t in r.results.iter_mut().filter(|t| t.tls.is_some()) {
                        t.tls = Some(stca2_report::TlsResult::not_attempted("TCP-only"));
                    }
                    assert!(r.tcp_only());
                }
                let body = serde_json::to_string(&r).unwrap();
                NewReport::from_report(&r, body, None, None, unix_ms(at(minute)))
            };
            s.insert_batch(&[make("v1", 0, "1.0", None, false)])
                .await
                .unwrap();
            // Lost reports: counted, no change, the count follows.
            for (k, n) in [(1, 1), (2, 2), (3, 3)] {
                s.insert_batch(&[make(&format!("d{k}"), k * 5, "1.0", Some(n), false)])
                    .await
                    .unwrap();
                let d = s.probe("v").await.unwrap().unwrap();
                assert_eq!(d.spool_dropped, Some(n as i64), "{}", db.name);
                assert_eq!(d.state_reports, k + 1, "{}", db.name);
            }
            assert_eq!(s.count_bodies().await.unwrap(), 1, "{}", db.name);
            // A TCP-only report from an upgraded probe: not judged.
            s.insert_batch(&[make("t1", 20, "2.0", Some(3), true)])
                .await
                .unwrap();
            assert_eq!(s.count_bodies().await.unwrap(), 1, "{}", db.name);
            // The next full report says the new version: a change, kept.
            s.insert_batch(&[make("v2", 25, "2.0", Some(3), false)])
                .await
                .unwrap();
            assert_eq!(s.count_bodies().await.unwrap(), 2, "{}", db.name);
            let d = s.probe("v").await.unwrap().unwrap();
            let body: stca2_report::Report = serde_json::from_str(&d.body.unwrap()).unwrap();
            assert_eq!(
                (body.report_id.as_str(), body.probe.version.as_str()),
                ("v2", "2.0"),
                "{}",
                db.name
            );
            assert_eq!(
                (d.state_since, d.state_reports),
                (Some(unix_ms(at(25))), 1),
                "{}",
                db.name
            );
            assert_eq!(s.count_reports().await.unwrap(), 6, "{}", db.name);
            db
        },
    )
    .await;
}

/// The closed probes' export gives each probe's state by the report that
/// began it, with the address that report came from: on an ISP ticket the
/// time and the address go together, even when the shop's address changed
/// since (the state did not).
#[tokio::test]
async fn the_closed_export_pairs_each_state_with_the_address_it_began_from() {
    each_backend(
        "the_closed_export_pairs_each_state_with_the_address_it_began_from",
        |db| async move {
            let s = &db.store;
            let mut first = row("e", "e1", 0, true);
            first.public_ip = Some("192.0.2.1".into());
            let mut later = row("e", "e2", 5, true);
            later.public_ip = Some("192.0.2.2".into());
            s.insert_batch(std::slice::from_ref(&first)).await.unwrap();
            s.insert_batch(std::slice::from_ref(&later)).await.unwrap();
            let d = s.probe("e").await.unwrap().unwrap();
            assert_eq!(d.latest.public_ip.as_deref(), Some("192.0.2.2"));
            assert_eq!(d.state_report_id.as_deref(), Some(first.report_id.as_str()));
            let mut out = Vec::new();
            let closed = ExportFilter {
                closed_only: true,
                ..Default::default()
            };
            let n = stca2_backoffice::cli::export_to(s, &closed, &mut out)
                .await
                .unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(n > 0, "{}: {text}", db.name);
            for line in text.lines().skip(1) {
                assert!(
                    line.contains(&first.report_id) && line.contains("192.0.2.1"),
                    "{}: {line}",
                    db.name
                );
                assert!(!line.contains("192.0.2.2"), "{}: {line}", db.name);
            }
            db
        },
    )
    .await;
}
