//! Fleet benchmarks (issue 11): the back office under the fleet's real
//! traffic, SQLite and PostgreSQL side by side.
//!
//! Reports are real ([`common::lab_reports`]): the lab's scenarios on
//! loopback, each checked once by the probe's own engine, so every report
//! has the lab's certificate chains, findings and sizes (7 to 15 KB of
//! JSON). Simulated probes reuse them under their own probe id, report id
//! and times.
//!
//! `cargo bench --bench fleet` measures, per database:
//!
//! 1. `upload`: `stca2-probe serve` (the real binary, a child process) with
//!    `STCA2_FLEET_TOKENS` (100,000) probe tokens in the table; clients post
//!    one report per request on a new connection each (the daemon's way),
//!    plain HTTP and HTTPS (`--tls-cert`): reports/s, p50/p99 latency,
//!    the server's CPU per 1,000 reports and its peak RSS. The probes that
//!    upload have a state already (one report each, stored first): most
//!    reports then say what the previous one said, as in the fleet.
//! 2. `storage`: `STCA2_FLEET_PROBES` (20,000) probes over one day of
//!    5-minute reports (`STCA2_FLEET_SLOTS`, 288), stored through the
//!    ingest path in 100-report batches: 90 % stable, 5 % flapping between
//!    healthy and primary-blocked every hour, 5 % changing once (healthy
//!    to intercepted); then bytes on disk, tables and indexes.
//! 3. `schema`: the cost of JSON-Schema validation (contract.rs) per
//!    report, beside parsing it.
//!
//! `STCA2_FLEET_ONLY=upload,storage,schema` picks parts,
//! `STCA2_BENCH_BACKENDS=sqlite` skips PostgreSQL (otherwise taken from
//! `STCA2_TEST_POSTGRES_URL` or postgres://postgres@127.0.0.1:5432/test; the
//! bench works in a schema of its own, dropped at the end; `STCA2_BENCH_DIR`
//! holds the SQLite files),
//! `STCA2_FLEET_UPLOADS` (20,000) and `STCA2_FLEET_CLIENTS` (32) size part 1.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Db, as_probe, open, percentile};
use stca2_backoffice::auth::{hash_token, new_token};
use stca2_backoffice::store::{NewReport, Store, unix_ms};
use stca2_report::Report;
use time::OffsetDateTime;

const SCENARIOS: &[&str] = &[
    "healthy",
    "primary-blocked",
    "intercepted",
    "mixed",
    "old-ca",
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn selected(part: &str) -> bool {
    std::env::var("STCA2_FLEET_ONLY")
        .map(|v| v.split(',').any(|p| p.trim() == part))
        .unwrap_or(true)
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Inserts `n` probe tokens (probes `fleet-000000`...) in bulk; returns them.
async fn seed_tokens(store: &Store, n: usize) -> Vec<String> {
    let tokens: Vec<String> = (0..n).map(|_| new_token().unwrap()).collect();
    for (c, chunk) in tokens.chunks(1000).enumerate() {
        let mut sql = String::from(
            "INSERT INTO tokens (hash, kind, probe_id, merchant_id, created_at) VALUES ",
        );
        for (i, t) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "('{}', 'probe', 'fleet-{:06}', 'm-{}', 0)",
                hash_token(t),
                c * 1000 + i,
                (c * 1000 + i) % 97
            ));
        }
        match store {
            Store::Sqlite { write, .. } => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(write)
                    .await
                    .expect("tokens");
            }
            Store::Postgres(p) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(p)
                    .await
                    .expect("tokens");
            }
        }
    }
    tokens
}

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn vm_hwm_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// A free loopback port (bound then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `stca2-probe serve` as a child process, ready to answer.
struct Serve {
    child: std::process::Child,
    base: String,
}

impl Serve {
    async fn start(url: &str, tls: Option<(&Path, &Path)>) -> Serve {
        let port = free_port();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stca2-probe"));
        cmd.args(["serve", "--database", url, "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some((c, k)) = tls {
            cmd.arg("--tls-cert").arg(c).arg("--tls-key").arg(k);
        }
        let child = cmd.spawn().expect("stca2-probe serve");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(60);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(Instant::now() < deadline, "serve did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        Serve {
            child,
            base: format!("{scheme}://127.0.0.1:{port}"),
        }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new connection for every upload, as the daemon does.
fn client(root: Option<rustls_pki_types::CertificateDer<'static>>) -> reqwest::Client {
    common::client(root, 0, Duration::from_secs(60))
}

/// Part 1: single-report uploads, plain and HTTPS, on one database.
async fn bench_upload(backend: &str, reports: &[(String, Report)], out: &mut Vec<String>) {
    let Some(db) = open(backend, "up").await else {
        return;
    };
    let n_tokens = env_usize("STCA2_FLEET_TOKENS", 100_000);
    let uploads = env_usize("STCA2_FLEET_UPLOADS", 20_000);
    let clients = env_usize("STCA2_FLEET_CLIENTS", 32);
    let store = Store::connect(&db.url).await.expect("store");
    let t = Instant::now();
    let tokens = seed_tokens(&store, n_tokens).await;
    eprintln!("{}: {n_tokens} tokens in {:?}", db.name, t.elapsed());
    // The uploading probes: a state each (their first report).
    let active = (uploads / 4).clamp(1, n_tokens);
    let day0 = OffsetDateTime::now_utc() - time::Duration::days(1);
    let healthy = &reports[0].1;
    let first: Vec<NewReport> = (0..active)
        .map(|p| {
            let r = as_probe(healthy, &format!("fleet-{p:06}"), &uuid(), day0);
            NewReport::from_report(&r, serde_json::to_string(&r).unwrap(), None, None, 0)
        })
        .collect();
    for chunk in first.chunks(100) {
        store.insert_batch(chunk).await.expect("seed states");
    }
    drop(first);
    store.close().await;

    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let round = Arc::new(AtomicUsize::new(0));
    for tls in [false, true] {
        let serve = Serve::start(&db.url, tls.then_some((cert.as_path(), key.as_path()))).await;
        let pid = serve.child.id();
        let c = client(tls.then(|| ck.cert.der().clone()));
        let cpu0 = cpu_seconds(pid);
        let next = Arc::new(AtomicUsize::new(0));
        let tokens = Arc::new(tokens.clone());
        let templates: Arc<Vec<Report>> =
            Arc::new(reports.iter().map(|(_, r)| r.clone()).collect());
        let pass = round.fetch_add(1, Ordering::Relaxed);
        let t0 = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..clients {
            let (c, base, next, tokens, templates) = (
                c.clone(),
                serve.base.clone(),
                next.clone(),
                tokens.clone(),
                templates.clone(),
            );
            set.spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= uploads {
                        return lat;
                    }
                    let p = i % active;
                    let k = i / active + 1 + pass * (uploads / active + 1);
                    // 5 % of probes flap between healthy and primary-blocked.
                    let tpl = if p % 20 == 7 && k % 2 == 1 {
                        &templates[1]
                    } else {
                        &templates[0]
                    };
                    let t = day0 + time::Duration::minutes(5 * k as i64);
                    let r = as_probe(tpl, &format!("fleet-{p:06}"), &uuid(), t);
                    let body = serde_json::to_string(&r).unwrap();
                    let s = Instant::now();
                    let resp = c
                        .post(format!("{base}/api/v1/reports"))
                        .header("content-type", "application/json")
                        .bearer_auth(&tokens[p])
                        .body(body)
                        .send()
                        .await
                        .expect("upload");
                    let status = resp.status();
                    let _ = resp.bytes().await;
                    assert!(status.is_success(), "upload: {status}");
                    lat.push(s.elapsed());
                }
            });
        }
        let mut lat = Vec::with_capacity(uploads);
        while let Some(l) = set.join_next().await {
            lat.extend(l.unwrap());
        }
        let wall = t0.elapsed();
        let cpu = cpu_seconds(pid) - cpu0;
        let rss = vm_hwm_mib(pid);
        serve.stop();
        lat.sort();
        let line = format!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.2} | {:.0} |",
            db.name,
            if tls { "HTTPS" } else { "HTTP" },
            uploads,
            uploads as f64 / wall.as_secs_f64(),
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3,
            cpu / uploads as f64 * 1000.0,
            rss,
        );
        eprintln!("{line}");
        out.push(line);
    }
    db.drop_schema().await;
    drop(db.dir);
}

/// Bytes on disk of the database, per table (tables, their TOAST and
/// indexes, every partition), after a checkpoint / VACUUM.
async fn sizes(db: &Db, store: &Store) -> Vec<(String, i64)> {
    match store {
        Store::Sqlite { write, .. } => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(write)
                .await
                .unwrap();
            let rows: Vec<(String, i64)> =
                sqlx::query_as("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY name")
                    .fetch_all(write)
                    .await
                    .unwrap_or_default();
            let file = std::fs::metadata(db.dir.as_ref().unwrap().path().join("st.db"))
                .map(|m| m.len() as i64)
                .unwrap_or(0);
            let mut rows = rows;
            rows.push(("(file)".into(), file));
            rows
        }
        Store::Postgres(p) => {
            // The store's connections bound every statement; a vacuum of
            // a day of the fleet takes longer.
            let mut c = p.acquire().await.unwrap();
            sqlx::query("SET statement_timeout = 0")
                .execute(&mut *c)
                .await
                .unwrap();
            sqlx::query("VACUUM ANALYZE")
                .execute(&mut *c)
                .await
                .unwrap();
            sqlx::query("RESET statement_timeout")
                .execute(&mut *c)
                .await
                .unwrap();
            drop(c);
            sqlx::query_as(
                "SELECT COALESCE(pt.relname, c.relname)::TEXT, SUM(pg_total_relation_size(c.oid))::BIGINT \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 LEFT JOIN pg_inherits i ON i.inhrelid = c.oid \
                 LEFT JOIN pg_class pt ON pt.oid = i.inhparent \
                 WHERE n.nspname = current_schema() AND c.relkind = 'r' \
                 GROUP BY 1 ORDER BY 1",
            )
            .fetch_all(p)
            .await
            .unwrap()
        }
    }
}

/// Part 2: one simulated day of the fleet, then bytes on disk.
async fn bench_storage(backend: &str, reports: &[(String, Report)], out: &mut Vec<String>) {
    let Some(db) = open(backend, "st").await else {
        return;
    };
    let probes = env_usize("STCA2_FLEET_PROBES", 20_000);
    let slots = env_usize("STCA2_FLEET_SLOTS", 288);
    let store = Store::connect(&db.url).await.expect("store");
    // One NewReport per scenario, re-labelled per report (the body text
    // gets the probe's id, report id and times; the rest is the lab's).
    let protos: Vec<(NewReport, String)> = reports
        .iter()
        .map(|(_, r)| {
            let r = as_probe(r, "@@PROBE@@", "@@REPORT@@", OffsetDateTime::UNIX_EPOCH);
            let body = serde_json::to_string(&r).unwrap();
            (
                NewReport::from_report(&r, body.clone(), None, None, 0),
                body,
            )
        })
        .collect();
    let epoch = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let (t0s, t1s) = (
        epoch(OffsetDateTime::UNIX_EPOCH),
        epoch(OffsetDateTime::UNIX_EPOCH + (reports[0].1.finished_at - reports[0].1.started_at)),
    );
    let day0 =
        OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT) - time::Duration::days(1);
    // Which scenario probe p reports in slot s: 90 % stable, 5 % flapping
    // hourly, 5 % changing once (at a slot of their own).
    let kind = |p: usize, s: usize| -> usize {
        match p % 20 {
            0 if (s / 12) % 2 == 1 => 1,
            1 if s >= (p * 7919) % slots.max(1) => 2,
            _ => 0,
        }
    };
    let writers = if db.name == "sqlite" { 1 } else { 4 };
    let started = Instant::now();
    let mut total = 0usize;
    for s in 0..slots {
        let t = day0 + time::Duration::minutes(5 * s as i64);
        let ts = unix_ms(t);
        let (tss, tfs) = (
            epoch(t),
            epoch(t + (reports[0].1.finished_at - reports[0].1.started_at)),
        );
        let batch: Vec<NewReport> = (0..probes)
            .map(|p| {
                let (proto, body) = &protos[kind(p, s)];
                let probe = format!("fleet-{p:06}");
                let id = uuid();
                let mut r = proto.clone();
                r.body = body
                    .replace("@@PROBE@@", &probe)
                    .replace("@@REPORT@@", &id)
                    .replace(&t0s, &tss)
                    .replace(&t1s, &tfs);
                r.finished_at = ts + (proto.finished_at - proto.started_at);
                r.started_at = ts;
                r.received_at = ts + 1000;
                r.probe_id = probe;
                r.report_id = id;
                r
            })
            .collect();
        let batch = Arc::new(batch);
        let next = Arc::new(AtomicUsize::new(0));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..writers {
            let (store, batch, next) = (store.clone(), batch.clone(), next.clone());
            set.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) * 100;
                    if i >= batch.len() {
                        return;
                    }
                    let end = (i + 100).min(batch.len());
                    store.insert_batch(&batch[i..end]).await.expect("insert");
                }
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
        total += probes;
        if s % 24 == 23 {
            eprintln!(
                "{}: slot {}/{slots}, {total} reports, {:.0}/s",
                db.name,
                s + 1,
                total as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    let ingest = total as f64 / started.elapsed().as_secs_f64();
    assert_eq!(store.count_reports().await.unwrap() as usize, total);
    let bodies = store.count_bodies().await.unwrap();
    let sz = sizes(&db, &store).await;
    let get = |name: &str| {
        sz.iter()
            .filter(|(n, _)| n.starts_with(name))
            .map(|(_, b)| *b)
            .sum::<i64>()
    };
    let (latest, hours, stored) = (get("latest"), get("report_hours"), get("reports"));
    let all: i64 = if db.name == "sqlite" {
        get("(file)")
    } else {
        sz.iter().map(|(_, b)| *b).sum()
    };
    eprintln!("{}: {sz:?}", db.name);
    let per = |b: i64| b as f64 / probes as f64;
    let body_each = stored as f64 / bodies.max(1) as f64;
    let line = format!(
        "| {} | {probes} x {slots} | {total} | {ingest:.0} | {bodies} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
        db.name,
        all as f64 / 1e6,
        per(all) / 1024.0,
        per(latest) / 1024.0,
        per(hours) / 1024.0,
        body_each / 1024.0,
        // A stable probe's first day: its latest row, one body, its hours.
        (per(latest) + per(hours) + body_each) / 1024.0,
    );
    eprintln!("{line}");
    out.push(line);
    store.close().await;
    db.drop_schema().await;
}

/// Part 3: what JSON-Schema validation costs per report, beside parsing.
fn bench_schema(reports: &[(String, Report)], out: &mut Vec<String>) {
    for (name, r) in reports {
        let text = serde_json::to_string(r).unwrap();
        let n = 2000;
        let t = Instant::now();
        let mut v = serde_json::Value::Null;
        for _ in 0..n {
            v = serde_json::from_str(&text).unwrap();
        }
        let parse = t.elapsed() / n;
        let t = Instant::now();
        for _ in 0..n {
            assert!(stca2_backoffice::contract::check("", &v).unwrap().is_none());
        }
        let check = t.elapsed() / n;
        let line = format!(
            "| {name} | {} | {:.0} | {:.0} |",
            text.len(),
            parse.as_secs_f64() * 1e6,
            check.as_secs_f64() * 1e6
        );
        eprintln!("{line}");
        out.push(line);
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let reports = rt.block_on(common::lab_reports(dir.path(), SCENARIOS));
    for (name, r) in &reports {
        eprintln!(
            "lab report {name}: {} bytes, {} targets",
            serde_json::to_string(r).unwrap().len(),
            r.results.len()
        );
    }
    let backends: Vec<String> = std::env::var("STCA2_BENCH_BACKENDS")
        .unwrap_or("sqlite,postgres".into())
        .split(',')
        .map(String::from)
        .collect();
    let mut out = vec![format!(
        "fleet bench, {}",
        OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    )];
    if selected("schema") {
        out.push("| scenario | JSON bytes | parse µs | schema check µs |".into());
        bench_schema(&reports, &mut out);
    }
    if selected("upload") {
        out.push(
            "| database | transport | uploads | reports/s | p50 ms | p99 ms | server CPU s / 1,000 | server peak RSS MiB |"
                .into(),
        );
        for b in &backends {
            rt.block_on(bench_upload(b, &reports, &mut out));
        }
    }
    if selected("storage") {
        out.push(
            "| database | probes x slots | reports | ingest/s | bodies | MB on disk | KiB/probe-day | latest KiB/probe | hours KiB/probe-day | KiB/body | stable first day KiB |"
                .into(),
        );
        for b in &backends {
            rt.block_on(bench_storage(b, &reports, &mut out));
        }
    }
    println!("{}", out.join("\n"));
}
