//! HTTP API tests against an in-process server on 127.0.0.1:0, each run
//! against SQLite and PostgreSQL.

use std::sync::Arc;

use crate::util::backoffice::{at, client, each_backend, json, report, rid, start, token};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use stca2_report::Recommendation;

const REPORTS: &str = "/api/v1/reports";

async fn post(
    c: &reqwest::Client,
    base: &str,
    tok: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let mut rq = c
        .post(format!("{base}{REPORTS}"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = tok {
        rq = rq.bearer_auth(t);
    }
    let resp = rq.send().await.unwrap();
    let status = resp.status();
    let v = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, v)
}

async fn get(c: &reqwest::Client, url: String, tok: &str) -> (StatusCode, Value) {
    let resp = c.get(url).bearer_auth(tok).send().await.unwrap();
    let status = resp.status();
    (status, resp.json::<Value>().await.unwrap_or(Value::Null))
}

fn body(v: &Value) -> String {
    v.to_string()
}

#[tokio::test]
async fn ingest_single_batch_and_retry() {
    each_backend("ingest_single_batch_and_retry", |db| async move {
        let srv = start(&db.store, "127.0.0.1:0", &[]).await;
        let c = client(None);
        let tok = token(&db.store, Some("p1"), None).await;
        let one = json(&report(
            "p1",
            "r-1",
            at(0),
            true,
            Recommendation::ConfigureSecondary,
        ));
        let (s, v) = post(&c, &srv.base, Some(&tok), body(&one)).await;
        assert_eq!(s, StatusCode::OK, "{}: {v}", db.name);
        assert_eq!(
            (v["stored"].as_u64(), v["duplicates"].as_u64()),
            (Some(1), Some(0))
        );
        assert_eq!(v["public_ip"], "127.0.0.1");
        // No trusted proxy configured: X-Forwarded-For is not believed.
        let spoofed = json(&report("p1", "r-0", at(1), true, Recommendation::None));
        let resp = c
            .post(format!("{}{REPORTS}", srv.base))
            .bearer_auth(&tok)
            .header("x-forwarded-for", "198.51.100.99")
            .body(body(&spoofed))
            .send()
            .await
            .unwrap();
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["public_ip"], "127.0.0.1", "{v}");
        let batch = json!({"reports": [
            json(&report("p1", "r-2", at(5), true, Recommendation::ConfigureSecondary)),
            json(&report("p1", "r-3", at(10), false, Recommendation::None)),
            one,
        ]});
        let (s, v) = post(&c, &srv.base, Some(&tok), body(&batch)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            (
                v["received"].as_u64(),
                v["stored"].as_u64(),
                v["duplicates"].as_u64()
            ),
            (Some(3), Some(2), Some(1))
        );
        // A retried upload: success, nothing stored twice.
        let (s, v) = post(&c, &srv.base, Some(&tok), body(&batch)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            (v["stored"].as_u64(), v["duplicates"].as_u64()),
            (Some(0), Some(3))
        );
        assert_eq!(db.store.count_reports().await.unwrap(), 4, "{}", db.name);
        // A field the v1 schema does not know is refused, as the schema does.
        let mut extended = json(&report("p1", "r-4", at(15), false, Recommendation::None));
        extended["future_field"] = json!({"x": 1});
        let (s, v) = post(&c, &srv.base, Some(&tok), body(&extended)).await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("future_field")),
            "{v}"
        );
        extended.as_object_mut().unwrap().remove("future_field");
        let (s, _) = post(&c, &srv.base, Some(&tok), body(&extended)).await;
        assert_eq!(s, StatusCode::OK);
        let admin = token(&db.store, None, None).await;
        // Another probe's report under a stored report_id: 409, nothing stored.
        let taken = json(&report("p2", "r-1", at(20), true, Recommendation::None));
        let (s, v) = post(&c, &srv.base, Some(&admin), body(&taken)).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert_eq!(v["error"]["code"], "report_id_taken");
        assert_eq!(db.store.count_reports().await.unwrap(), 5, "{}", db.name);
        let (s, v) = get(&c, format!("{}/api/v1/probes/p1", srv.base), &admin).await;
        assert_eq!(s, StatusCode::OK);
        // r-4 said what r-3 said: the state (and its body) is r-3's.
        assert_eq!(v["probe"]["report_id"], rid("r-4"), "{}", db.name);
        assert_eq!(v["report"]["report_id"], rid("r-3"), "{}", db.name);
        assert_eq!(v["state"]["reports"], 2, "{}", db.name);
        srv.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn concurrent_uploads_of_one_report_store_it_once() {
    each_backend(
        "concurrent_uploads_of_one_report_store_it_once",
        |db| async move {
            let srv = start(&db.store, "127.0.0.1:0", &[]).await;
            let c = client(None);
            let tok = token(&db.store, Some("p1"), None).await;
            let b = body(&json(&report(
                "p1",
                "same",
                at(0),
                true,
                Recommendation::OpenPrimary,
            )));
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..16 {
                let (c, base, tok, b) = (c.clone(), srv.base.clone(), tok.clone(), b.clone());
                set.spawn(async move { post(&c, &base, Some(&tok), b).await });
            }
            let mut stored = 0;
            while let Some(r) = set.join_next().await {
                let (s, v) = r.unwrap();
                assert_eq!(s, StatusCode::OK, "{}: {v}", db.name);
                stored += v["stored"].as_u64().unwrap();
            }
            assert_eq!(stored, 1, "{}", db.name);
            assert_eq!(db.store.count_reports().await.unwrap(), 1);
            let l = db.store.probe("p1").await.unwrap().unwrap().latest;
            assert_eq!(l.closed_streak, 1, "{}", db.name);
            srv.stop().await;
            db
        },
    )
    .await;
}

#[tokio::test]
async fn probe_tokens_cannot_submit_for_others_or_read() {
    each_backend(
        "probe_tokens_cannot_submit_for_others_or_read",
        |db| async move {
            let srv = start(&db.store, "127.0.0.1:0", &[]).await;
            let c = client(None);
            let tok = token(&db.store, Some("p1"), Some("m-1")).await;
            let other = body(&json(&report(
                "p2",
                "r",
                at(0),
                true,
                Recommendation::OpenBoth,
            )));
            let (s, v) = post(&c, &srv.base, Some(&tok), other).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
            assert_eq!(v["error"]["field"], "probe.id");
            // A batch with one foreign report is refused whole.
            let batch = json!({"reports": [
                json(&report("p1", "a", at(0), true, Recommendation::OpenBoth)),
                json(&report("p2", "b", at(0), true, Recommendation::OpenBoth)),
            ]});
            let (s, v) = post(&c, &srv.base, Some(&tok), body(&batch)).await;
            assert_eq!(s, StatusCode::FORBIDDEN);
            assert_eq!(v["error"]["field"], "reports[1].probe.id");
            for path in [
                "/api/v1/filters/stca2-port-closed",
                "/api/v1/recommendations/failover",
                "/api/v1/probes/p1",
                "/api/v1/exports/isp.csv",
            ] {
                let (s, v) = get(&c, format!("{}{path}", srv.base), &tok).await;
                assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
                assert_eq!(v["error"]["code"], "forbidden");
                let (s, _) = get(&c, format!("{}{path}", srv.base), "stca2_nope").await;
                assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
            }
            // A revoked token is refused.
            let h = stca2_backoffice::auth::hash_token(&tok);
            db.store.revoke_tokens(Some(&h), None, 1).await.unwrap();
            let mine = body(&json(&report(
                "p1",
                "x",
                at(0),
                true,
                Recommendation::OpenBoth,
            )));
            let (s, _) = post(&c, &srv.base, Some(&tok), mine).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED);
            assert_eq!(db.store.count_reports().await.unwrap(), 0, "{}", db.name);
            srv.stop().await;
            db
        },
    )
    .await;
}

/// A response's status and error code, or a transport error.
type Outcome = Result<(u16, String), String>;

/// One bad request: its body, token choice and expected status and code.
struct Bad {
    body: Arc<Vec<u8>>,
    token: u8, // 0 none, 1 probe p1, 2 unknown
    status: u16,
    code: &'static str,
}

#[tokio::test]
async fn a_thousand_bad_requests_change_nothing() {
    each_backend("a_thousand_bad_requests_change_nothing", |db| async move {
        let srv = start(&db.store, "127.0.0.1:0", &[]).await;
        let c = client(None);
        let tok = token(&db.store, Some("p1"), None).await;
        let good = report("p1", "good", at(0), true, Recommendation::OpenPrimary);
        let (s, _) = post(&c, &srv.base, Some(&tok), body(&json(&good))).await;
        assert_eq!(s, StatusCode::OK);

        let mk = |v: Value| Arc::new(v.to_string().into_bytes());
        let mut wrong_version = json(&report("p1", "v", at(1), true, Recommendation::None));
        wrong_version["schema"] = json!("stca2-probe/report/v9");
        let mut missing = json(&report("p1", "m", at(1), true, Recommendation::None));
        missing["probe"].as_object_mut().unwrap().remove("id");
        let mut bad_enum = json(&report("p1", "e", at(1), true, Recommendation::None));
        bad_enum["results"][1]["tcp"]["status"] = json!("sideways");
        let future = json(&report(
            "p1",
            "f",
            time::OffsetDateTime::now_utc() + time::Duration::hours(2),
            true,
            Recommendation::None,
        ));
        let mid_batch = json!({"reports": [
            json(&report("p1", "ok-1", at(2), false, Recommendation::None)),
            bad_enum.clone(),
            json(&report("p1", "ok-3", at(3), false, Recommendation::None)),
        ]});
        let too_many = format!("{{\"reports\":[{}]}}", vec!["{}"; 1001].join(","));
        let huge = {
            let mut v = json(&report("p1", "h", at(1), true, Recommendation::None));
            v["padding"] = json!("x".repeat(8 * 1024 * 1024));
            mk(v)
        };
        let kinds = vec![
            Bad {
                body: Arc::new(
                    b"{\"schema\": \"stca2-probe/report/v1\",\n  \"report_id\": }".to_vec(),
                ),
                token: 1,
                status: 400,
                code: "malformed_json",
            },
            Bad {
                body: Arc::new(Vec::new()),
                token: 1,
                status: 400,
                code: "malformed_json",
            },
            Bad {
                body: mk(wrong_version),
                token: 1,
                status: 422,
                code: "unsupported_schema",
            },
            Bad {
                body: mk(missing),
                token: 1,
                status: 422,
                code: "invalid_report",
            },
            Bad {
                body: mk(bad_enum.clone()),
                token: 1,
                status: 422,
                code: "invalid_report",
            },
            Bad {
                body: mk(future),
                token: 1,
                status: 422,
                code: "future_timestamp",
            },
            Bad {
                body: mk(mid_batch),
                token: 1,
                status: 422,
                code: "invalid_report",
            },
            Bad {
                body: Arc::new(too_many.into_bytes()),
                token: 1,
                status: 413,
                code: "batch_too_large",
            },
            Bad {
                body: mk(json!([1, 2])),
                token: 1,
                status: 422,
                code: "invalid_report",
            },
            Bad {
                body: mk(json(&good)),
                token: 0,
                status: 401,
                code: "unauthorized",
            },
            Bad {
                body: mk(json(&good)),
                token: 2,
                status: 401,
                code: "unauthorized",
            },
            Bad {
                body: mk(json(&report("p9", "x", at(1), true, Recommendation::None))),
                token: 1,
                status: 403,
                code: "forbidden",
            },
            Bad {
                body: huge,
                token: 1,
                status: 413,
                code: "body_too_large",
            },
            Bad {
                body: Arc::new(
                    b"{\"schema\": \"stca2-probe/report/v1\",\n \"x\": \"\xff\"}".to_vec(),
                ),
                token: 1,
                status: 400,
                code: "malformed_json",
            },
        ];
        // The messages name the problem.
        let (s, v) = post(&c, &srv.base, Some(&tok), kinds[0].body.to_vec()).await;
        assert_eq!(s, 400);
        let m = v["error"]["message"].as_str().unwrap();
        assert!(m.contains("line 2 column"), "{m}");
        let not_utf8 = kinds.last().unwrap().body.to_vec();
        let (s, v) = post(&c, &srv.base, Some(&tok), not_utf8).await;
        assert_eq!(s, 400);
        let m = v["error"]["message"].as_str().unwrap();
        assert!(m.contains("line 2 column 8") && m.contains("UTF-8"), "{m}");
        let (_, v) = post(&c, &srv.base, Some(&tok), kinds[3].body.to_vec()).await;
        assert_eq!(v["error"]["field"], "probe.id", "{v}");
        let (_, v) = post(&c, &srv.base, Some(&tok), kinds[4].body.to_vec()).await;
        assert_eq!(v["error"]["field"], "results[1].tcp.status", "{v}");
        let (_, v) = post(&c, &srv.base, Some(&tok), kinds[6].body.to_vec()).await;
        assert_eq!(
            v["error"]["field"], "reports[1].results[1].tcp.status",
            "{v}"
        );
        let (_, v) = post(&c, &srv.base, Some(&tok), kinds[5].body.to_vec()).await;
        assert_eq!(v["error"]["field"], "started_at", "{v}");

        let kinds = Arc::new(kinds);
        let n_kinds = kinds.len();
        let results: Vec<(usize, Outcome)> = futures_util::stream::iter(0..1000usize)
            .map(|i| {
                let (c, base, tok, kinds) =
                    (c.clone(), srv.base.clone(), tok.clone(), kinds.clone());
                async move {
                    let k = &kinds[i % n_kinds];
                    let mut rq = c.post(format!("{base}{REPORTS}")).body(k.body.to_vec());
                    rq = match k.token {
                        1 => rq.bearer_auth(&tok),
                        2 => rq.bearer_auth("stca2_unknown"),
                        _ => rq,
                    };
                    let r = match rq.send().await {
                        Ok(resp) => {
                            let s = resp.status().as_u16();
                            let v: Value = resp.json().await.unwrap_or(Value::Null);
                            Ok((s, v["error"]["code"].as_str().unwrap_or("").to_string()))
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    (i % n_kinds, r)
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        for (k, r) in results {
            let want = &kinds[k];
            match r {
                Ok((s, code)) => {
                    assert_eq!(
                        (s, code.as_str()),
                        (want.status, want.code),
                        "{}: kind {k}",
                        db.name
                    )
                }
                // The server may close the connection on an oversized body
                // before the client finished sending it.
                Err(e) => assert_eq!(want.status, 413, "{}: kind {k}: {e}", db.name),
            }
        }
        assert_eq!(db.store.count_reports().await.unwrap(), 1, "{}", db.name);
        assert_eq!(db.store.count_latest().await.unwrap(), 1);
        let l = db.store.probe("p1").await.unwrap().unwrap().latest;
        assert_eq!((l.report_id, l.closed_streak), (rid("good"), 1));
        let h = c.get(format!("{}/healthz", srv.base)).send().await.unwrap();
        assert_eq!(h.status(), 200);
        srv.stop().await;
        db
    })
    .await;
}

#[tokio::test]
async fn filters_recommendations_and_probe_detail() {
    each_backend(
        "filters_recommendations_and_probe_detail",
        |db| async move {
            let srv = start(&db.store, "127.0.0.1:0", &[]).await;
            let c = client(None);
            let admin = token(&db.store, None, None).await;
            // p0..p5: closed for 3 reports; p6..p9: open. p2 belongs to another merchant.
            let mut reports = Vec::new();
            for p in 0..10 {
                for k in 0..3 {
                    let closed = p < 6 && (k > 0 || p % 2 == 0);
                    let rec = if closed {
                        Recommendation::ConfigureSecondary
                    } else {
                        Recommendation::None
                    };
                    let mut r = json(&report(
                        &format!("p{p}"),
                        &format!("r{p}-{k}"),
                        at(k * 5),
                        closed,
                        rec,
                    ));
                    if p == 2 {
                        r["probe"]["merchant"] = json!("m-2");
                    }
                    reports.push(r);
                }
            }
            let (s, v) = post(
                &c,
                &srv.base,
                Some(&admin),
                body(&json!({ "reports": reports })),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            assert_eq!(v["stored"], 30);

            // Pages of 4 over the six closed probes.
            let url = format!("{}/api/v1/filters/stca2-port-closed?limit=4", srv.base);
            let (s, page1) = get(&c, url.clone(), &admin).await;
            assert_eq!(s, StatusCode::OK, "{page1}");
            let items = page1["items"].as_array().unwrap();
            assert_eq!(items.len(), 4);
            let cursor = page1["next_cursor"].as_str().unwrap();
            let (_, page2) = get(&c, format!("{url}&cursor={cursor}"), &admin).await;
            let items2 = page2["items"].as_array().unwrap();
            assert_eq!(items2.len(), 2);
            assert!(page2["next_cursor"].is_null());
            let all: Vec<&Value> = items.iter().chain(items2).collect();
            let ids: Vec<&str> = all
                .iter()
                .map(|i| i["probe_id"].as_str().unwrap())
                .collect();
            assert_eq!(ids, ["p0", "p1", "p2", "p3", "p4", "p5"], "{}", db.name);
            let p0 = all[0];
            assert_eq!(p0["closed_streak"], 3);
            assert_eq!(
                p0["closed_since"],
                stca2_backoffice::store::rfc3339_ms(stca2_backoffice::store::unix_ms(at(0)))
            );
            let p1 = all[1];
            assert_eq!(p1["closed_streak"], 2);
            assert_eq!(
                p1["closed_since"],
                stca2_backoffice::store::rfc3339_ms(stca2_backoffice::store::unix_ms(at(5)))
            );
            assert_eq!(p1["public_ip"], "127.0.0.1");
            assert_eq!(p1["recommendation"], "configure_secondary");

            // Merchant filter.
            let (_, m) = get(
                &c,
                format!("{}/api/v1/filters/stca2-port-closed?merchant=m-2", srv.base),
                &admin,
            )
            .await;
            let ids: Vec<&str> = m["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["probe_id"].as_str().unwrap())
                .collect();
            assert_eq!(ids, ["p2"]);
            // Time filter: nothing reported after tomorrow.
            let since = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            let (s, m) = get(
                &c,
                format!(
                    "{}/api/v1/filters/stca2-port-closed?since={since}",
                    srv.base
                ),
                &admin,
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{m}");
            assert_eq!(m["items"].as_array().unwrap().len(), 0);

            // Failover recommendations.
            let (_, f) = get(
                &c,
                format!("{}/api/v1/recommendations/failover?limit=100", srv.base),
                &admin,
            )
            .await;
            assert_eq!(f["items"].as_array().unwrap().len(), 10);
            let (_, f) = get(
                &c,
                format!(
                    "{}/api/v1/recommendations/failover?recommendation=configure_secondary",
                    srv.base
                ),
                &admin,
            )
            .await;
            let items = f["items"].as_array().unwrap();
            assert_eq!(items.len(), 6);
            assert!(
                items[0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("configure_secondary")
            );

            // Probe detail.
            let (s, d) = get(
                &c,
                format!("{}/api/v1/probes/p1?history=2", srv.base),
                &admin,
            )
            .await;
            assert_eq!(s, StatusCode::OK);
            // The newest report is r1-2; the body is r1-1's, which began
            // the closed state r1-2 repeated.
            assert_eq!(d["probe"]["report_id"], rid("r1-2"));
            assert_eq!(d["report"]["report_id"], rid("r1-1"));
            assert_eq!(
                d["state"],
                json!({"since": stca2_backoffice::store::rfc3339_ms(
                    stca2_backoffice::store::unix_ms(at(5))), "reports": 2,
                    "report_id": rid("r1-1")}),
            );
            assert_eq!(d["history"].as_array().unwrap().len(), 2);
            assert_eq!(d["history"][0]["report_id"], rid("r1-2"));
            let (s, e) = get(&c, format!("{}/api/v1/probes/nope", srv.base), &admin).await;
            assert_eq!(s, StatusCode::NOT_FOUND);
            assert_eq!(e["error"]["code"], "not_found");

            // Bad query parameters are named.
            let (s, e) = get(
                &c,
                format!("{}/api/v1/filters/stca2-port-closed?cursor=%%%", srv.base),
                &admin,
            )
            .await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
            let (s, e) = get(
                &c,
                format!(
                    "{}/api/v1/filters/stca2-port-closed?since=yesterday",
                    srv.base
                ),
                &admin,
            )
            .await;
            assert_eq!(
                (s, e["error"]["field"].as_str()),
                (StatusCode::BAD_REQUEST, Some("since"))
            );
            for (query, field) in [
                ("filters/stca2-port-closed?limit=0", "limit"),
                ("filters/stca2-port-closed?limit=abc", "limit"),
                ("filters/stca2-port-closed?limit=1001", "limit"),
                ("recommendations/failover?limit=-1", "limit"),
                (
                    "recommendations/failover?recommendation=reboot",
                    "recommendation",
                ),
                ("filters/stca2-port-closed?until=soon", "until"),
                ("probes/p1?history=lots", "history"),
            ] {
                let (s, e) = get(&c, format!("{}/api/v1/{query}", srv.base), &admin).await;
                assert_eq!(
                    (s, e["error"]["field"].as_str()),
                    (StatusCode::BAD_REQUEST, Some(field)),
                    "{query}: {e}"
                );
            }
            srv.stop().await;
            db
        },
    )
    .await;
}

#[tokio::test]
async fn csv_export_is_neutralised_and_has_the_forwarded_public_ip() {
    each_backend(
        "csv_export_is_neutralised_and_has_the_forwarded_public_ip",
        |db| async move {
            // The test client connects from 127.0.0.1: a trusted proxy here.
            let srv = start(&db.store, "127.0.0.1:0", &["127.0.0.1/32"]).await;
            let c = client(None);
            let admin = token(&db.store, None, None).await;
            let tok = token(&db.store, Some("p1"), Some("m-1")).await;
            for (i, closed) in [(0, true), (1, false)] {
                let r = json(&report(
                    "p1",
                    &format!("r{i}"),
                    at(i),
                    closed,
                    Recommendation::OpenPrimary,
                ));
                let resp = c
                    .post(format!("{}{REPORTS}", srv.base))
                    .bearer_auth(&tok)
                    .header("x-forwarded-for", "198.51.100.23, 127.0.0.1")
                    .body(body(&r))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
            }
            let resp = c
                .get(format!("{}/api/v1/exports/isp.csv", srv.base))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
            let text = resp.text().await.unwrap();
            let mut rd = csv::Reader::from_reader(text.as_bytes());
            let cols: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
            assert_eq!(cols, stca2_report::csv::COLUMNS);
            let recs: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
            assert_eq!(recs.len(), 4, "{}: 2 reports x 2 targets", db.name);
            let ip = cols.iter().position(|c| c == "public_ip").unwrap();
            let detail = cols.iter().position(|c| c == "tcp_detail").unwrap();
            let msg = cols.iter().position(|c| c == "message").unwrap();
            for r in &recs {
                assert_eq!(&r[ip], "198.51.100.23");
                assert!(r[msg].starts_with("'=HYPERLINK"), "{}", &r[msg]);
            }
            assert!(recs.iter().any(|r| r[detail].starts_with("'-no answer")));
            // The filter keeps only the latest report of closed probes: p1 is open now.
            let resp = c
                .get(format!(
                    "{}/api/v1/exports/isp.csv?filter=stca2-port-closed",
                    srv.base
                ))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            let text = resp.text().await.unwrap();
            assert_eq!(text.lines().count(), 1, "{}: header only\n{text}", db.name);
            let (s, e) = get(
                &c,
                format!("{}/api/v1/exports/isp.csv?filter=bogus", srv.base),
                &admin,
            )
            .await;
            assert_eq!(
                (s, e["error"]["field"].as_str()),
                (StatusCode::BAD_REQUEST, Some("filter"))
            );
            srv.stop().await;
            db
        },
    )
    .await;
}

#[tokio::test]
async fn https_with_tls_cert_and_key() {
    let db = crate::util::backoffice::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, ck.cert.pem()).unwrap();
    std::fs::write(&key_path, ck.signing_key.serialize_pem()).unwrap();
    let acc = stca2_backoffice::server::tls_acceptor(&cert_path, &key_path).unwrap();
    let srv = crate::util::backoffice::start_tls(&db.store, "127.0.0.1:0", &[], Some(acc)).await;
    let c = client(Some(ck.cert.der().clone()));
    let resp = c.get(format!("{}/healthz", srv.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["database"], "sqlite");
    // Plain HTTP to the HTTPS port does not get an answer.
    let plain = client(None);
    assert!(
        plain
            .get(format!("http://{}/healthz", srv.addr))
            .send()
            .await
            .is_err()
    );
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn the_token_is_checked_before_the_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = crate::util::backoffice::sqlite().await;
    let srv = start(&db.store, "127.0.0.1:0", &[]).await;
    // A head announcing 8 MiB, then nothing: the server answers 401 at
    // once instead of waiting for a body it would throw away.
    for auth in ["", "Authorization: Bearer stca2_unknown\r\n"] {
        let mut s = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
        let head = format!(
            "POST {REPORTS} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: 8000000\r\n\r\n"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("no answer before the body was sent")
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with("HTTP/1.1 401"), "{auth:?}: {text}");
    }
    // The scheme is case-insensitive (RFC 9110).
    let tok = token(&db.store, Some("p1"), None).await;
    let r = json(&report("p1", "r", at(0), false, Recommendation::None));
    let resp = client(None)
        .post(format!("{}{REPORTS}", srv.base))
        .header("authorization", format!("bearer {tok}"))
        .body(body(&r))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    srv.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn shutdown_closes_idle_keep_alive_connections_at_once() {
    let db = crate::util::backoffice::sqlite().await;
    let srv = start(&db.store, "127.0.0.1:0", &[]).await;
    let c = client(None);
    // The client keeps this connection open (keep-alive) after the answer.
    let resp = c.get(format!("{}/healthz", srv.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let t = std::time::Instant::now();
    srv.stop().await;
    // Without a graceful shutdown of each connection this waits out the
    // whole drain timeout (5 s) for the idle connection.
    assert!(
        t.elapsed() < std::time::Duration::from_secs(4),
        "stop took {:?}",
        t.elapsed()
    );
    db.cleanup().await;
}

/// What `stca2-probe [log args] serve` wrote to stderr over one run on
/// 127.0.0.1:0: started, asked for a page with a made-up token, stopped by
/// SIGTERM. Returns the lines and the exit status.
fn serve_logs(log_args: &[&str], database: &str) -> (Vec<String>, std::process::ExitStatus) {
    use std::io::{BufRead, Read, Write};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let mut child = crate::util::cli::bin()
        .env_remove("RUST_LOG")
        .args(log_args)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    // The start-up line names the address (the port is the kernel's choice).
    let addr = loop {
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(l) => l,
            Err(e) => {
                let _ = child.kill();
                panic!("no start-up line within 30 s ({e}); so far: {lines:?}");
            }
        };
        let found = line
            .split(['"', ' '])
            .find_map(|w| w.strip_prefix("url=http://").or(w.strip_prefix("http://")))
            .map(str::to_string);
        lines.push(line);
        if let Some(a) = found {
            break a;
        }
    };
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /api/v1/filters/stca2-port-closed HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer stca2_not-a-real-token-1234\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // SIGTERM to the server this test started, by its own pid.
    // SAFETY: kill(2) on a child of this process, which has not been reaped.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let t = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("serve did not stop within 15 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    reader.join().unwrap();
    lines.extend(rx.try_iter());
    (lines, status)
}

/// Every line is one JSON object with a level and a message.
fn json_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            assert!(v["level"].is_string(), "no level: {l}");
            assert!(v["message"].is_string(), "no message: {l}");
            assert!(v["timestamp"].is_string(), "no timestamp: {l}");
            v
        })
        .collect()
}

#[test]
fn serve_logs_one_json_object_a_line_with_log_format_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bo.db").display());
    let (lines, status) = serve_logs(&["--log-format", "json"], &db);
    assert!(status.success(), "{status}: {lines:?}");
    let events = json_lines(&lines);
    let start = events
        .iter()
        .find(|e| e["message"] == "listening")
        .unwrap_or_else(|| panic!("no start-up event: {lines:?}"));
    assert_eq!(start["level"], "INFO");
    assert_eq!(start["database"], db.as_str());
    assert_eq!(start["retention_days"], 90);
    assert!(
        start["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{start}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["level"] == "WARN" && e["message"].as_str().unwrap().contains("plain HTTP")),
        "{lines:?}"
    );
    assert_eq!(events.last().unwrap()["message"], "stopped", "{lines:?}");
    let all = lines.join("\n");
    assert!(
        !all.contains("not-a-real-token"),
        "a token was logged: {all}"
    );
    // A start that fails is one JSON object too.
    let out = crate::util::cli::bin()
        .env_remove("RUST_LOG")
        .args(["--log-format", "json", "serve", "--database", "mysql://x/y"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<String> = err.lines().map(String::from).collect();
    let events = json_lines(&lines);
    assert_eq!(events.len(), 1, "{err}");
    assert_eq!(events[0]["level"], "ERROR");
    assert!(
        events[0]["message"]
            .as_str()
            .unwrap()
            .contains("unsupported database URL"),
        "{err}"
    );
}

#[test]
fn serve_logs_human_text_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bo.db").display());
    let (lines, status) = serve_logs(&[], &db);
    assert!(status.success(), "{status}: {lines:?}");
    let start = lines
        .iter()
        .find(|l| l.contains("listening"))
        .unwrap_or_else(|| panic!("no start-up line: {lines:?}"));
    assert!(serde_json::from_str::<Value>(start).is_err(), "{start}");
    for want in [" INFO ", "url=http://127.0.0.1:", "retention_days=90"] {
        assert!(start.contains(want), "{want:?} missing from {start}");
    }
    assert!(start.contains(&format!("database={db}")), "{start}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" WARN ") && l.contains("plain HTTP")),
        "{lines:?}"
    );
    assert!(lines.last().unwrap().ends_with("INFO stopped"), "{lines:?}");
    // No colour codes when stderr is not a terminal.
    assert!(!lines.join("\n").contains('\u{1b}'), "{lines:?}");
}

#[tokio::test]
async fn serve_never_logs_a_database_password() {
    // Refused at once on loopback port 1: the failure names the URL, without its password.
    for log_args in [&[][..], &["--log-format", "json"][..]] {
        let out = crate::util::cli::bin()
            .env_remove("RUST_LOG")
            .args(log_args)
            .args([
                "serve",
                "--database",
                "postgres://stca2:hunter2@127.0.0.1:1/fleet",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(
            err.contains("postgres://stca2:***@127.0.0.1:1/fleet"),
            "{err}"
        );
    }
    // A server that starts: PostgreSQL with a password in the URL (a trust
    // setup ignores it; a password setup must be given the right one).
    let Some(db) = crate::util::backoffice::postgres("serve_never_logs_a_database_password").await
    else {
        return;
    };
    let base = crate::util::backoffice::postgres_url().await.unwrap();
    let stca2_backoffice::Store::Postgres(pool) = &db.store else {
        unreachable!()
    };
    let schema: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(pool)
        .await
        .unwrap();
    let (scheme, rest) = base.split_once("://").unwrap();
    let (userinfo, host) = rest.rsplit_once('@').expect("a user in the PostgreSQL URL");
    // A password the base URL already has is looked for as `:password@`
    // (it may be a word that appears elsewhere); ours anywhere.
    let (user, password, needle) = match userinfo.split_once(':') {
        Some((u, p)) => (u, p.to_string(), format!(":{p}@")),
        None => (userinfo, "hunter2-pg".to_string(), "hunter2-pg".to_string()),
    };
    let sep = if host.contains('?') { '&' } else { '?' };
    let url = format!("{scheme}://{user}:{password}@{host}{sep}options[search_path]={schema}");
    let (lines, status) =
        tokio::task::spawn_blocking(move || serve_logs(&["--log-format", "json"], &url))
            .await
            .unwrap();
    assert!(status.success(), "{status}: {lines:?}");
    let events = json_lines(&lines);
    let start = events.iter().find(|e| e["message"] == "listening").unwrap();
    assert!(
        start["database"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{scheme}://{user}:***@")),
        "{start}"
    );
    let all = lines.join("\n");
    assert!(!all.contains(&needle), "the password was logged: {all}");
    db.cleanup().await;
}

/// Uploads that arrive together share a transaction (`ingest`): each still
/// gets its own answer. 24 probes upload at once, each its report twice
/// (a retry racing the original), and one upload carries a `report_id`
/// another probe's report already holds: that one is refused (409) and
/// nothing else is.
#[tokio::test]
async fn uploads_merged_in_one_transaction_each_get_their_own_answer() {
    each_backend(
        "uploads_merged_in_one_transaction_each_get_their_own_answer",
        |db| async move {
            let srv = start(&db.store, "127.0.0.1:0", &[]).await;
            let net = crate::util::net::network();
            let owner = token(&db.store, Some("owner"), None).await;
            let first = json(&report(
                "owner",
                "taken",
                at(0),
                false,
                Recommendation::None,
            ));
            let c = crate::util::backoffice::client_from(net.host(200));
            let (s, _) = post(&c, &srv.base, Some(&owner), body(&first)).await;
            assert_eq!(s, StatusCode::OK);
            let mut set = tokio::task::JoinSet::new();
            for p in 0..24u8 {
                let probe = format!("m{p}");
                let tok = token(&db.store, Some(&probe), None).await;
                let c = crate::util::backoffice::client_from(net.host(p + 1));
                let own = body(&json(&report(
                    &probe,
                    &probe,
                    at(5),
                    p % 2 == 0,
                    Recommendation::None,
                )));
                let mut bodies = vec![own.clone(), own];
                if p == 7 {
                    bodies.push(body(&json(&report(
                        &probe,
                        "taken",
                        at(6),
                        false,
                        Recommendation::None,
                    ))));
                }
                for b in bodies {
                    let (c, base, tok) = (c.clone(), srv.base.clone(), tok.clone());
                    set.spawn(async move { post(&c, &base, Some(&tok), b).await });
                }
            }
            let (mut stored, mut duplicates, mut refused) = (0, 0, 0);
            while let Some(r) = set.join_next().await {
                let (s, v) = r.unwrap();
                match s {
                    StatusCode::OK => {
                        stored += v["stored"].as_u64().unwrap();
                        duplicates += v["duplicates"].as_u64().unwrap();
                    }
                    StatusCode::CONFLICT => {
                        assert_eq!(v["error"]["code"], "report_id_taken", "{v}");
                        refused += 1;
                    }
                    s => panic!("{s}: {v}"),
                }
            }
            assert_eq!(
                (stored, duplicates, refused),
                (24, 24, 1),
                "{}: each report once, each retry a duplicate",
                db.name
            );
            assert_eq!(db.store.count_reports().await.unwrap(), 25, "{}", db.name);
            srv.stop().await;
            db
        },
    )
    .await;
}
