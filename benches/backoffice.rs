//! Back-office benchmarks, SQLite and PostgreSQL side by side.
//!
//! `cargo bench --bench backoffice` runs, for each database, against an
//! in-process server on 127.0.0.1:0 (loopback only; client and server share
//! the machine's cores):
//!
//! 1. ingest: 64 probes posting 100-report batches of real reports (the
//!    engine's checks of the lab's named scenarios, certificate chains and
//!    all) to a server in a child process, whose peak RSS is reported;
//! 2. single-report POSTs of those reports from 16 concurrent clients;
//! 3. the "Port STCA2 non ouvert" query with 1,000,000 probes in `latest`
//!    (real reports through the write path, as the console bench seeds
//!    them), first pages and cursor pages, p50/p99;
//! 4. the ISP CSV export of 1,000,000 rows (250,000 real reports x 4
//!    targets) over HTTP, in a child process whose peak RSS (VmHWM) is
//!    reported.
//!
//! Every loop is bounded in count. `STCA2_BENCH_SCALE=0.01` (any factor)
//! shrinks every size for a quick smoke run; `STCA2_BENCH_ONLY=ingest,single`
//! runs only those (of ingest, single, query, export); `STCA2_BENCH_BACKENDS=sqlite`
//! skips PostgreSQL (which is otherwise taken from `STCA2_TEST_POSTGRES_URL`
//! or postgres://postgres@127.0.0.1:5432/test, and skipped loudly when it
//! does not answer).

mod common;

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{admin_token, percentile, scale, scaled, start};
use futures_util::StreamExt;
use stca2_backoffice::store::{NewReport, Store, unix_ms};
use stca2_report::Report;
use stca2_report::fixtures::upload;
use time::OffsetDateTime;

/// Upload number `n` of probe `probe`: one of the lab's reports (`lab[n %
/// len]`) under its own id, probe and time, as that probe would send it.
fn lab_report(lab: &[Report], probe: &str, n: usize, started: OffsetDateTime) -> Report {
    let mut r = common::as_probe(
        &lab[n % lab.len()],
        probe,
        &upload::rid(&format!("lab-{probe}-{n}")),
        started,
    );
    r.probe.merchant = Some(format!("m-{}", n % 7));
    r
}

/// A database of the bench's own, and its store.
struct Db {
    name: &'static str,
    url: String,
    store: Store,
    db: common::Db,
}

async fn open(backend: &str) -> Option<Db> {
    let db = common::open(backend, "bench").await?;
    let store = db.connect().await;
    Some(Db {
        name: db.name,
        url: db.url.clone(),
        store,
        db,
    })
}

impl Db {
    async fn cleanup(self) {
        self.store.close().await;
        self.db.drop_schema().await;
    }
}

fn client() -> reqwest::Client {
    common::client(None, 128, Duration::from_secs(300))
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

/// Answers the server shed (503 busy, a connection it closed, a body it
/// did not wait for), retried as the daemon retries them.
static SHED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// POSTs one JSON body to the ingest endpoint until it answers 200, as a
/// probe's daemon would: a 503 or a connection error is retried after a
/// growing pause (100 ms doubling, capped at 5 s; counted in [`SHED`]);
/// anything else, or 30 tries, fails the bench.
async fn post(c: &reqwest::Client, url: &str, token: &str, body: String) -> reqwest::Response {
    let mut pause = Duration::from_millis(100);
    for _ in 0..30 {
        match c
            .post(url)
            .bearer_auth(token)
            .body(body.clone())
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => return r,
            Ok(r) if r.status() == 503 => {}
            Ok(r) => panic!(
                "ingest failed: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            ),
            Err(e) if e.is_request() || e.is_connect() => {}
            Err(e) => panic!("post: {e}"),
        }
        SHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
    panic!("ingest: 30 tries without a 200");
}

/// Peak and current resident set (VmHWM, VmRSS) of process `pid`, in KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// A probe token for each of `probes`.
async fn probe_tokens(store: &Store, probes: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(probes.len());
    for p in probes {
        let t = common::token(store, Some(p)).await;
        out.push(t);
    }
    out
}

/// Ingest (1): 64 probes, each uploading 100-report batches of the lab's
/// reports, to a server in a child process of its own, whose peak RSS is
/// read from /proc when they are done. Each uploader makes its next batch
/// as it goes (the client's CPU shares the machine with the server's).
async fn bench_ingest(db: &Db, lab: &[Report], out: &mut Vec<String>) {
    let uploaders = 64;
    let batches_per = scaled(10).max(1);
    let t0 = OffsetDateTime::now_utc() - time::Duration::days(2);
    let probes: Vec<String> = (0..uploaders).map(|u| format!("ingest-{u:03}")).collect();
    let tokens = probe_tokens(&db.store, &probes).await;
    let exe = std::env::current_exe().expect("exe");
    // The child stops when its stdin closes: with this process, whatever happens.
    let mut child = std::process::Command::new(exe)
        .env("STCA2_BENCH_SERVER_CHILD", &db.url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("server child");
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    let base = tokio::task::block_in_place(|| {
        use std::io::BufRead as _;
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("LISTEN ").map(String::from))
            .expect("the server child did not start")
    });
    let (_, idle_kib) = rss_kib(pid);
    let lab: Arc<Vec<Report>> = Arc::new(lab.to_vec());
    let total = uploaders * batches_per * 100;
    let c = client();
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (u, (probe, tok)) in probes.into_iter().zip(tokens).enumerate() {
        let (c, url, lab) = (c.clone(), format!("{base}/api/v1/reports"), lab.clone());
        set.spawn(async move {
            let mut stored = 0u64;
            let mut bytes = 0u64;
            for b in 0..batches_per {
                let reports: Vec<Report> = (0..100)
                    .map(|i| {
                        let n = (b * 100 + i) * 64 + u;
                        lab_report(&lab, &probe, n, t0 + time::Duration::seconds(n as i64))
                    })
                    .collect();
                let body = serde_json::json!({ "reports": reports }).to_string();
                bytes += body.len() as u64;
                let r = post(&c, &url, &tok, body).await;
                let v: serde_json::Value = r.json().await.expect("json");
                stored += v["stored"].as_u64().unwrap_or(0);
            }
            (stored, bytes)
        });
    }
    let (mut stored, mut bytes) = (0, 0);
    while let Some(r) = set.join_next().await {
        let (s, b) = r.expect("task");
        stored += s;
        bytes += b;
    }
    let el = start.elapsed();
    let shed = SHED.swap(0, std::sync::atomic::Ordering::Relaxed);
    let (peak_kib, _) = rss_kib(pid);
    drop(child.stdin.take());
    let _ = tokio::task::block_in_place(|| child.wait());
    assert_eq!(stored as usize, total, "every report stored");
    let line = format!(
        "| {} | ingest, 64 probes x 100-report batches of lab reports ({:.1} KB each) | {total} reports ({:.0} MB) in {:.2} s, **{:.0} reports/s**; {shed} answers shed and retried | server peak RSS **{:.0} MiB** (idle after start: {:.0} MiB) |",
        db.name,
        bytes as f64 / total as f64 / 1000.0,
        bytes as f64 / 1e6,
        el.as_secs_f64(),
        total as f64 / el.as_secs_f64(),
        peak_kib as f64 / 1024.0,
        idle_kib as f64 / 1024.0,
    );
    println!("{line}");
    out.push(line);
}

/// The ingest benchmark's server: serves `url` on 127.0.0.1:0, says where
/// (`LISTEN http://...` on stdout) and stops when stdin closes.
async fn server_child(url: &str) {
    let store = Store::connect(url).await.expect("connect");
    let (base, stop, task) = start(&store).await;
    println!("LISTEN {base}");
    let _ = std::io::stdout().flush();
    let _ = tokio::task::spawn_blocking(|| {
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new())
    })
    .await;
    let _ = stop.send(());
    let _ = task.await;
    store.close().await;
}

/// 2. Single-report POSTs from 16 concurrent clients.
async fn bench_single(db: &Db, lab: &[Report], base: &str, admin: &str, out: &mut Vec<String>) {
    let total = scaled(4000);
    let t0 = OffsetDateTime::now_utc() - time::Duration::days(1);
    let bodies: Vec<String> = (0..total)
        .map(|n| {
            serde_json::to_string(&lab_report(
                lab,
                &format!("single-{:05}", n % 1000),
                n,
                t0 + time::Duration::seconds(n as i64),
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
        "| {} | single-report POST of lab reports, 16 clients | {total} in {:.2} s, p50 {:.1} ms, p99 {:.1} ms | **{:.0} reports/s** |",
        db.name,
        el.as_secs_f64(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        total as f64 / el.as_secs_f64()
    );
    println!("{line}");
    out.push(line);
}

/// Benchmark 3: the stca2-port-closed query over 1,000,000 probes in
/// `latest`, seeded through the write path with real reports
/// ([`common::seed_fleet`]: 8 % ready for site 2, 1 % with both sites
/// blocked, 1 % mixed...).
async fn bench_query(
    db: &Db,
    lab: &[(String, Report)],
    base: &str,
    admin: &str,
    out: &mut Vec<String>,
) {
    let probes = scaled(1_000_000);
    let seeded = common::seed_fleet(&db.store, lab, probes).await;
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
        "| {} | GET /filters/stca2-port-closed, {probes} probes in latest (real reports, {} with the STCA2 port closed), limit=100 | {queries} queries ({items} items), p50 {:.2} ms, p99 **{:.2} ms**, max {:.2} ms | seed {:.1} s |",
        db.name,
        (0..probes)
            .filter(|n| {
                let scenario = common::mix(*n).0;
                lab.iter()
                    .any(|(s, r)| s == scenario && r.summary.stca2_port_closed)
            })
            .count(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        seeded.as_secs_f64()
    );
    println!("{line}");
    out.push(line);
}

/// Benchmark 4: seeds `reports` up to 250,000 real reports (the lab's, 4
/// targets each: 1,000,000 CSV rows) from 100,000 probes, then exports
/// them over HTTP in a child process.
async fn bench_export(db: &Db, lab: &[Report], out: &mut Vec<String>) {
    let want_reports = scaled(250_000) as i64;
    let have = db.store.count_reports().await.expect("count");
    let seed_start = Instant::now();
    let t0 = OffsetDateTime::now_utc() - time::Duration::days(3);
    let mut n = have;
    while n < want_reports {
        let batch: Vec<NewReport> = (n..(n + 1000).min(want_reports))
            .map(|k| {
                let r = lab_report(
                    lab,
                    &format!("exp-{:06}", k % 100_000),
                    k as usize,
                    t0 + time::Duration::seconds(k),
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
        "| {} | GET /exports/isp.csv, {} reports in the database -> {} rows, {:.0} MiB | **{:.1} s** ({:.0} rows/s); peak RSS {:.0} MiB (idle after start: {:.0} MiB) | seed {:.1} s |",
        db.name,
        n,
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

async fn run_backend(db: Db, named: &[(String, Report)], out: &mut Vec<String>) {
    let lab: Vec<Report> = named.iter().map(|(_, r)| r.clone()).collect();
    let lab = lab.as_slice();
    eprintln!("== {} ==", db.name);
    if selected("ingest") {
        bench_ingest(&db, lab, out).await;
    }
    // Before the query's million probes: the export tops up what is
    // stored to its size and exports the whole history.
    if selected("export") {
        bench_export(&db, lab, out).await;
    }
    let admin = admin_token(&db.store).await;
    let (base, stop, task) = start(&db.store).await;
    if selected("single") {
        bench_single(&db, lab, &base, &admin, out).await;
    }
    if selected("query") {
        bench_query(&db, named, &base, &admin, out).await;
    }
    let _ = stop.send(());
    let _ = task.await;
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
    if let Ok(url) = std::env::var("STCA2_BENCH_SERVER_CHILD") {
        rt.block_on(server_child(&url));
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
    let mut out = Vec::new();
    println!("scale {}", scale());
    println!("| database | benchmark | result | |");
    println!("|---|---|---|---|");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let lab = common::lab_reports(dir.path(), &[]).await;
        let (min, mean, max) = common::sizes(lab.iter().map(|(_, r)| r));
        println!(
            "lab reports: {} scenarios, JSON {min} to {max} bytes (mean {mean})",
            lab.len()
        );
        for b in common::backends() {
            if let Some(db) = open(&b).await {
                run_backend(db, &lab, &mut out).await;
            }
        }
    });
    println!("\nSummary (scale {}):", scale());
    for l in out {
        println!("{l}");
    }
}
