//! Back-office benchmarks, SQLite and PostgreSQL side by side.
//!
//! `cargo bench --bench backoffice` runs, for each database, against an
//! in-process server on 127.0.0.1:0 (loopback only; client and server share
//! the machine's cores):
//!
//! 1. ingest: 64 concurrent uploaders posting 100-report batches;
//! 2. single-report POSTs from 16 concurrent clients;
//! 3. the "Port STCA2 non ouvert" query with 1,000,000 probes in `latest`
//!    (seeded in bulk), first pages and cursor pages, p50/p99;
//! 4. the ISP CSV export of 1,000,000 rows (250,000 reports x 4 targets)
//!    over HTTP, in a child process whose peak RSS (VmHWM) is reported.
//!
//! Every loop is bounded in count. `STCA2_BENCH_SCALE=0.01` (any factor)
//! shrinks every size for a quick smoke run; `STCA2_BENCH_ONLY=ingest,single`
//! runs only those (of ingest, single, query, export); `STCA2_BENCH_BACKENDS=sqlite`
//! skips PostgreSQL (which is otherwise taken from `STCA2_TEST_POSTGRES_URL`
//! or postgres://postgres@127.0.0.1:5432/test, and skipped loudly when it
//! does not answer).

use std::io::Write as _;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sqlx::ConnectOptions;
use sqlx::Connection;
use sqlx::postgres::PgConnectOptions;
use stca2_backoffice::auth::{hash_token, new_token};
use stca2_backoffice::server::{ServeConfig, Server};
use stca2_backoffice::store::{LatestRow, NewReport, Store, TokenRow, unix_ms};
use stca2_report::fixtures::upload;
use stca2_report::{Recommendation, Report, Role};
use time::OffsetDateTime;

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

fn scale() -> f64 {
    std::env::var("STCA2_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

fn scaled(n: usize) -> usize {
    ((n as f64 * scale()).round() as usize).max(1)
}

/// A report with 4 targets (2 sites x 2 ports), like the real gateway, from
/// the back office's fixtures ([`stca2_report::fixtures::upload`]), of
/// probes on many shop hosts and merchants.
fn report(probe: &str, id: &str, started: OffsetDateTime, closed: bool) -> Report {
    let mut identity = upload::probe(probe);
    identity.hostname = Some(format!("{probe}.shop.example"));
    identity.merchant = Some(format!("m-{}", probe.len() % 7));
    let results = [
        (Role::Primary, 1146, !closed),
        (Role::Primary, 7212, true),
        (Role::Secondary, 1146, true),
        (Role::Secondary, 7212, true),
    ]
    .into_iter()
    .map(|(role, port, open)| upload::result(role, port, open))
    .collect();
    let rec = if closed {
        Recommendation::ConfigureSecondary
    } else {
        Recommendation::None
    };
    let mut summary = upload::summary(
        closed,
        rec,
        "Configure 127.0.38.173 port 1146 as the failover gateway.",
    );
    summary.headline = "bench".into();
    let mut r = upload::report(identity, &upload::rid(id), started, results, summary);
    r.target_set = "lyra".into();
    r
}

struct Db {
    name: &'static str,
    url: String,
    store: Store,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

async fn open_sqlite() -> Db {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::connect(&url).await.expect("sqlite");
    Db {
        name: "sqlite",
        url,
        store,
        _dir: Some(dir),
        pg: None,
    }
}

async fn open_postgres() -> Option<Db> {
    let base = std::env::var("STCA2_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.into());
    let opts = PgConnectOptions::from_str(&base).ok()?;
    let mut c = match tokio::time::timeout(Duration::from_secs(2), opts.connect()).await {
        Ok(Ok(c)) => c,
        _ => {
            eprintln!("\n*** PostgreSQL half SKIPPED: {base} does not answer ***\n");
            return None;
        }
    };
    let schema = format!("bench_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&mut c)
    .await
    .ok()?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut c)
        .await
        .ok()?;
    let _ = c.close().await;
    let url = format!("{base}?options[search_path]={schema}");
    let store = Store::connect(&url).await.expect("postgres");
    Some(Db {
        name: "postgres",
        url,
        store,
        _dir: None,
        pg: Some((base, schema)),
    })
}

impl Db {
    async fn cleanup(self) {
        self.store.close().await;
        if let Some((base, schema)) = self.pg
            && let Ok(mut c) = PgConnectOptions::from_str(&base)
                .expect("url")
                .connect()
                .await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut c)
                .await;
            let _ = c.close().await;
        }
    }
}

async fn admin_token(store: &Store) -> String {
    let t = new_token().expect("rng");
    store
        .insert_token(&TokenRow {
            hash: hash_token(&t),
            kind: "admin".into(),
            probe_id: None,
            merchant_id: None,
            created_at: 0,
            revoked_at: None,
        })
        .await
        .expect("token");
    t
}

async fn start(
    store: &Store,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let cfg = ServeConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database: String::new(),
        tls: None,
        trusted_proxies: vec![],
        retention_days: 0,
    };
    let server = Server::with_store(store.clone(), &cfg, None)
        .await
        .expect("bind");
    let addr = server.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    (format!("http://{addr}"), tx, task)
}

fn client() -> reqwest::Client {
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("tls")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .no_proxy()
        .pool_max_idle_per_host(128)
        .timeout(Duration::from_secs(300))
        .build()
        .expect("client")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// POSTs one JSON body to the ingest endpoint and insists on 200.
async fn post(c: &reqwest::Client, url: &str, token: &str, body: String) -> reqwest::Response {
    let r = c
        .post(url)
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .expect("post");
    let status = r.status();
    assert_eq!(status, 200, "ingest failed: {status}");
    r
}

/// 1. Ingest with 64 uploaders x 100-report batches.
async fn bench_ingest(db: &Db, base: &str, admin: &str, out: &mut Vec<String>) {
    let uploaders = 64;
    let batches_per = scaled(10).max(1);
    let t0 = OffsetDateTime::now_utc() - time::Duration::days(2);
    let mut bodies: Vec<Vec<String>> = Vec::new();
    for u in 0..uploaders {
        let mut mine = Vec::new();
        for b in 0..batches_per {
            let reports: Vec<Report> = (0..100)
                .map(|i| {
                    let n = (u * batches_per + b) * 100 + i;
                    report(
                        &format!("probe-{:07}", n % 50_000),
                        &format!("ingest-{n}"),
                        t0 + time::Duration::seconds(n as i64),
                        n.is_multiple_of(10),
                    )
                })
                .collect();
            mine.push(serde_json::json!({ "reports": reports }).to_string());
        }
        bodies.push(mine);
    }
    let total = uploaders * batches_per * 100;
    let c = client();
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for mine in bodies {
        let (c, url, tok) = (
            c.clone(),
            format!("{base}/api/v1/reports"),
            admin.to_string(),
        );
        set.spawn(async move {
            let mut stored = 0u64;
            for b in mine {
                let r = post(&c, &url, &tok, b).await;
                let v: serde_json::Value = r.json().await.expect("json");
                stored += v["stored"].as_u64().unwrap_or(0);
            }
            stored
        });
    }
    let mut stored = 0;
    while let Some(r) = set.join_next().await {
        stored += r.expect("task");
    }
    let el = start.elapsed();
    assert_eq!(stored as usize, total, "every report stored");
    let line = format!(
        "| {} | ingest, 64 uploaders x 100-report batches | {total} reports in {:.2} s | **{:.0} reports/s** |",
        db.name,
        el.as_secs_f64(),
        total as f64 / el.as_secs_f64()
    );
    println!("{line}");
    out.push(line);
}

/// 2. Single-report POSTs from 16 concurrent clients.
async fn bench_single(db: &Db, base: &str, admin: &str, out: &mut Vec<String>) {
    let total = scaled(4000);
    let t0 = OffsetDateTime::now_utc() - time::Duration::days(1);
    let bodies: Vec<String> = (0..total)
        .map(|n| {
            serde_json::to_string(&report(
                &format!("single-{:05}", n % 1000),
                &format!("single-{n}"),
                t0 + time::Duration::seconds(n as i64),
                n % 3 == 0,
            ))
            .expect("json")
        })
        .collect();
    let c = client();
    let url = format!("{base}/api/v1/reports");
    let start = Instant::now();
    let lat: Vec<Duration> = futures_util::stream::iter(bodies)
        .map(|b| {
            let (c, url, tok) = (c.clone(), url.clone(), admin.to_string());
            async move {
                let t = Instant::now();
                let r = post(&c, &url, &tok, b).await;
                let _ = r.bytes().await;
                t.elapsed()
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let el = start.elapsed();
    let mut lat = lat;
    lat.sort();
    let line = format!(
        "| {} | single-report POST, 16 clients | {total} in {:.2} s, p50 {:.1} ms, p99 {:.1} ms | **{:.0} reports/s** |",
        db.name,
        el.as_secs_f64(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        total as f64 / el.as_secs_f64()
    );
    println!("{line}");
    out.push(line);
}

/// 3. The stca2-port-closed query over 1,000,000 probes in `latest`.
async fn bench_query(db: &Db, base: &str, admin: &str, out: &mut Vec<String>) {
    let probes = scaled(1_000_000);
    let now = unix_ms(OffsetDateTime::now_utc());
    let seed_start = Instant::now();
    let chunk = 20_000;
    let mut i = 0;
    while i < probes {
        let rows: Vec<LatestRow> = (i..(i + chunk).min(probes))
            .map(|n| {
                let closed = n % 10 == 3;
                LatestRow {
                    probe_id: format!("fleet-{n:07}"),
                    report_id: format!("fleet-r-{n}"),
                    started_at: now - (n as i64 % 86_400) * 1000,
                    stca2_port_closed: closed,
                    closed_since: closed.then_some(now - 3_600_000),
                    closed_streak: if closed { 12 } else { 0 },
                    recommendation: if closed {
                        "configure_secondary"
                    } else {
                        "none"
                    }
                    .into(),
                    message: "Configure 127.0.38.173 port 1146 as the failover gateway.".into(),
                    merchant_id: Some(format!("merchant-{:04}", n % 1000)),
                    public_ip: Some(format!("198.51.100.{}", n % 250)),
                }
            })
            .collect();
        db.store.seed_latest(&rows).await.expect("seed");
        i += chunk;
    }
    let seeded = seed_start.elapsed();
    if let Store::Postgres(p) = &db.store {
        sqlx::query("ANALYZE latest")
            .execute(p)
            .await
            .expect("analyze");
    }
    let c = client();
    let queries = scaled(2000).max(50);
    let mut lat = Vec::with_capacity(queries);
    let mut items = 0usize;
    let mut cursor: Option<String> = None;
    for q in 0..queries {
        // A mix: first page, next pages by cursor, one merchant, a time window.
        let mut url = format!("{base}/api/v1/filters/stca2-port-closed?limit=100");
        match q % 4 {
            0 => cursor = None,
            1 | 2 => {
                if let Some(cu) = &cursor {
                    url.push_str(&format!("&cursor={cu}"));
                }
            }
            _ => url.push_str(&format!("&merchant=merchant-{:04}", (q * 7) % 1000)),
        }
        let t = Instant::now();
        let r = c.get(&url).bearer_auth(admin).send().await.expect("get");
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = r.json().await.expect("json");
        lat.push(t.elapsed());
        items += v["items"].as_array().map(|a| a.len()).unwrap_or(0);
        if q % 4 != 3 {
            cursor = v["next_cursor"].as_str().map(String::from);
        }
    }
    lat.sort();
    let line = format!(
        "| {} | GET /filters/stca2-port-closed, {probes} probes in latest ({} closed), limit=100 | {queries} queries ({items} items), p50 {:.2} ms, p99 **{:.2} ms**, max {:.2} ms | seed {:.1} s |",
        db.name,
        probes / 10,
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        seeded.as_secs_f64()
    );
    println!("{line}");
    out.push(line);
}

/// Benchmark 4: seeds `reports` up to 250,000 reports (1,000,000 CSV
/// rows), then exports them over HTTP in a child process.
async fn bench_export(db: &Db, out: &mut Vec<String>) {
    let want_reports = scaled(250_000) as i64;
    let have = db.store.count_reports().await.expect("count");
    let seed_start = Instant::now();
    let t0 = OffsetDateTime::now_utc() - time::Duration::days(3);
    let mut n = have;
    while n < want_reports {
        let batch: Vec<NewReport> = (n..(n + 1000).min(want_reports))
            .map(|k| {
                let r = report(
                    &format!("exp-{:06}", k % 100_000),
                    &format!("exp-{k}"),
                    t0 + time::Duration::seconds(k),
                    k % 10 == 0,
                );
                let body = serde_json::to_string(&r).expect("json");
                NewReport::from_report(&r, body, None, Some("203.0.113.9".into()), unix_ms(t0))
            })
            .collect();
        db.store.insert_batch(&batch).await.expect("seed reports");
        n += batch.len() as i64;
    }
    let seeded = seed_start.elapsed();
    let exe = std::env::current_exe().expect("exe");
    let child = std::process::Command::new(exe)
        .env("STCA2_BENCH_EXPORT_CHILD", &db.url)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("child");
    let text = String::from_utf8_lossy(&child.stdout);
    let res: serde_json::Value = text
        .lines()
        .find_map(|l| l.strip_prefix("EXPORT "))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null);
    let line = format!(
        "| {} | GET /exports/isp.csv, {} reports -> {} rows, {:.0} MiB | **{:.1} s** ({:.0} rows/s); peak RSS {:.0} MiB (idle after start: {:.0} MiB) | seed {:.1} s |",
        db.name,
        want_reports,
        res["rows"].as_u64().unwrap_or(0),
        res["bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
        res["secs"].as_f64().unwrap_or(0.0),
        res["rows"].as_f64().unwrap_or(0.0) / res["secs"].as_f64().unwrap_or(1.0),
        res["hwm_kib"].as_f64().unwrap_or(0.0) / 1024.0,
        res["base_kib"].as_f64().unwrap_or(0.0) / 1024.0,
        seeded.as_secs_f64()
    );
    println!("{line}");
    out.push(line);
}

/// The child: a server and a client in one process, counting the CSV.
async fn export_child(url: &str) {
    let store = Store::connect(url).await.expect("connect");
    let admin = admin_token(&store).await;
    let (base, stop, task) = start(&store).await;
    let c = client();
    // Warm up the HTTP path, then take the baseline.
    let _ = c.get(format!("{base}/healthz")).send().await;
    let base_kib = vm_hwm_kib();
    let t = Instant::now();
    let r = c
        .get(format!("{base}/api/v1/exports/isp.csv"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let mut r = r;
    let (mut bytes, mut lines) = (0u64, 0u64);
    while let Some(chunk) = r.chunk().await.expect("chunk") {
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    let secs = t.elapsed().as_secs_f64();
    let hwm = vm_hwm_kib();
    println!(
        "EXPORT {}",
        serde_json::json!({"rows": lines.saturating_sub(1), "bytes": bytes, "secs": secs, "hwm_kib": hwm, "base_kib": base_kib})
    );
    let _ = std::io::stdout().flush();
    let _ = stop.send(());
    let _ = task.await;
}

/// Whether `name` is selected by `STCA2_BENCH_ONLY` (comma-separated:
/// ingest, single, query, export; all when unset).
fn selected(name: &str) -> bool {
    match std::env::var("STCA2_BENCH_ONLY") {
        Ok(only) => only.split(',').any(|s| s.trim() == name),
        Err(_) => true,
    }
}

async fn run_backend(db: Db, out: &mut Vec<String>) {
    eprintln!("== {} ==", db.name);
    let admin = admin_token(&db.store).await;
    let (base, stop, task) = start(&db.store).await;
    if selected("ingest") {
        bench_ingest(&db, &base, &admin, out).await;
    }
    if selected("single") {
        bench_single(&db, &base, &admin, out).await;
    }
    if selected("query") {
        bench_query(&db, &base, &admin, out).await;
    }
    let _ = stop.send(());
    let _ = task.await;
    if selected("export") {
        bench_export(&db, out).await;
    }
    db.cleanup().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Ok(url) = std::env::var("STCA2_BENCH_EXPORT_CHILD") {
        rt.block_on(export_child(&url));
        return;
    }
    // `cargo bench` passes --bench; `cargo test --benches` does not: then only a smoke check.
    let is_bench = std::env::args().any(|a| a == "--bench");
    if !is_bench && std::env::var("STCA2_BENCH_SCALE").is_err() {
        println!(
            "backoffice bench: run with `cargo bench --bench backoffice` (STCA2_BENCH_SCALE=0.01 for a smoke run)"
        );
        return;
    }
    let backends =
        std::env::var("STCA2_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let mut out = Vec::new();
    println!("scale {}", scale());
    println!("| database | benchmark | result | |");
    println!("|---|---|---|---|");
    rt.block_on(async {
        for b in backends.split(',') {
            let db = match b.trim() {
                "sqlite" => Some(open_sqlite().await),
                "postgres" => open_postgres().await,
                other => {
                    eprintln!("unknown backend {other}");
                    None
                }
            };
            if let Some(db) = db {
                run_backend(db, &mut out).await;
            }
        }
    });
    println!("\nSummary (scale {}):", scale());
    for l in out {
        println!("{l}");
    }
}
