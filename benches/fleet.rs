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
//!    to intercepted); then bytes on disk, tables and indexes. On
//!    PostgreSQL a plain VACUUM of `latest` and `report_hours` runs after
//!    every slot (`STCA2_FLEET_VACUUM_EVERY`, 1; 0 for none): what
//!    autovacuum does between two real slots, in a day run a hundred times
//!    faster than a real one.
//!    Beside it, `floor`: the same clients and bodies against a server that
//!    reads each body and answers without parsing or storing anything
//!    ([`Floor`]): the most this machine carries, whatever the back office.
//! 3. `schema`: the cost of JSON-Schema validation (contract.rs) per
//!    report, beside parsing it.
//!
//! `STCA2_FLEET_ONLY=upload,floor,storage,schema` picks parts,
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
        let templates: Vec<&Report> = reports.iter().map(|(_, r)| r).collect();
        let pass = round.fetch_add(1, Ordering::Relaxed);
        // The bodies are made before the clock starts: a probe sends a
        // report it already wrote, and the bench's client shares the
        // machine with the server.
        let bodies: Vec<(usize, String)> = (0..uploads)
            .map(|i| {
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
                (p, serde_json::to_string(&r).unwrap())
            })
            .collect();
        let (wall, lat) = drive(&c, &serve.base, bodies, &tokens, clients).await;
        let cpu = cpu_seconds(pid) - cpu0;
        let rss = vm_hwm_mib(pid);
        serve.stop();
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

/// Posts `bodies` (each with the index of its probe's token), one per
/// request on a new connection each, from `clients` concurrent clients;
/// every answer must be a success. Returns the wall time and the sorted
/// latencies.
async fn drive(
    c: &reqwest::Client,
    base: &str,
    bodies: Vec<(usize, String)>,
    tokens: &[String],
    clients: usize,
) -> (Duration, Vec<Duration>) {
    let n = bodies.len();
    let work = Arc::new(std::sync::Mutex::new(bodies.into_iter()));
    let tokens: Arc<Vec<String>> = Arc::new(tokens.to_vec());
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (c, url, work, tokens) = (
            c.clone(),
            format!("{base}/api/v1/reports"),
            work.clone(),
            tokens.clone(),
        );
        set.spawn(async move {
            let mut lat = Vec::new();
            loop {
                let Some((p, body)) = work.lock().unwrap().next() else {
                    return lat;
                };
                let s = Instant::now();
                let resp = c
                    .post(&url)
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
    let mut lat = Vec::with_capacity(n);
    while let Some(l) = set.join_next().await {
        lat.extend(l.unwrap());
    }
    let wall = t0.elapsed();
    lat.sort();
    (wall, lat)
}

/// A server that reads each upload's body and answers as the back office
/// does, but parses, checks and stores nothing: the floor of part 1 (how
/// many new-connection uploads a second this machine carries with the
/// client on it, whatever the back office does). It runs on a runtime of
/// its own with a worker per core, as `serve` does; dropping it stops it.
struct Floor {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Floor {
    fn start(tls: Option<tokio_rustls::TlsAcceptor>) -> Floor {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let port = std_listener.local_addr().unwrap().port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
                let app = axum::Router::new().route(
                    "/api/v1/reports",
                    axum::routing::post(|body: bytes::Bytes| async move {
                        std::hint::black_box(body.len());
                        axum::Json(serde_json::json!({
                            "received": 1, "stored": 1, "duplicates": 0, "public_ip": "127.0.0.1"
                        }))
                    }),
                );
                match tls {
                    None => {
                        use axum::serve::ListenerExt;
                        let listener = listener.tap_io(|t| {
                            let _ = t.set_nodelay(true);
                        });
                        axum::serve(listener, app)
                            .with_graceful_shutdown(async {
                                let _ = stopped.await;
                            })
                            .await
                            .unwrap();
                    }
                    Some(acc) => {
                        let listener = TlsListener::new(listener, acc);
                        axum::serve(listener, app)
                            .with_graceful_shutdown(async {
                                let _ = stopped.await;
                            })
                            .await
                            .unwrap();
                    }
                }
            });
        });
        Floor {
            base: format!("{scheme}://127.0.0.1:{port}"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// TLS for [`Floor`]: handshakes run in tasks of their own (as `serve`
/// runs them), finished streams come out of `accept`.
struct TlsListener {
    rx: tokio::sync::mpsc::Receiver<(
        tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
        SocketAddr,
    )>,
    local: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl TlsListener {
    fn new(listener: tokio::net::TcpListener, acc: tokio_rustls::TlsAcceptor) -> TlsListener {
        let local = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let accept = tokio::spawn(async move {
            loop {
                // EMFILE and friends: back off as `serve` does.
                let (s, peer) = match listener.accept().await {
                    // As `serve` does: without it each TLS answer (several
                    // records) waits for the client's delayed ACK.
                    Ok(x) => {
                        let _ = x.0.set_nodelay(true);
                        x
                    }
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (acc, tx) = (acc.clone(), tx.clone());
                tokio::spawn(async move {
                    if let Ok(s) = acc.accept(s).await {
                        let _ = tx.send((s, peer)).await;
                    }
                });
            }
        });
        TlsListener { rx, local, accept }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(x) => x,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Part 0: the floor ([`Floor`]), plain and HTTPS, with the bodies and
/// clients of part 1.
async fn bench_floor(reports: &[(String, Report)], out: &mut Vec<String>) {
    let uploads = env_usize("STCA2_FLEET_UPLOADS", 20_000);
    let clients = env_usize("STCA2_FLEET_CLIENTS", 32);
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let tokens: Vec<String> = (0..uploads.min(1000))
        .map(|_| new_token().unwrap())
        .collect();
    let day0 = OffsetDateTime::now_utc() - time::Duration::days(1);
    for tls in [false, true] {
        let acc = tls.then(|| stca2_backoffice::server::tls_acceptor(&cert, &key).unwrap());
        let floor = Floor::start(acc);
        let c = client(tls.then(|| ck.cert.der().clone()));
        let bodies: Vec<(usize, String)> = (0..uploads)
            .map(|i| {
                let r = as_probe(&reports[0].1, &format!("fleet-{i:06}"), &uuid(), day0);
                (i % tokens.len(), serde_json::to_string(&r).unwrap())
            })
            .collect();
        let (wall, lat) = drive(&c, &floor.base, bodies, &tokens, clients).await;
        drop(floor);
        let line = format!(
            "| floor (no back office) | {} | {} | {:.0} | {:.1} | {:.1} | - | - |",
            if tls { "HTTPS" } else { "HTTP" },
            uploads,
            uploads as f64 / wall.as_secs_f64(),
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3,
        );
        eprintln!("{line}");
        out.push(line);
    }
}

/// Runs `sql` (a VACUUM) on one of the store's connections without its
/// statement timeout: the store bounds every statement, and a vacuum of a
/// day of the fleet takes longer.
async fn vacuum(p: &sqlx::PgPool, sql: &'static str) {
    let mut c = p.acquire().await.unwrap();
    for q in ["SET statement_timeout = 0", sql, "RESET statement_timeout"] {
        sqlx::query(q).execute(&mut *c).await.unwrap();
    }
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
            vacuum(p, "VACUUM ANALYZE").await;
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
    let vacuum_every = env_usize("STCA2_FLEET_VACUUM_EVERY", 1);
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
    let mut vacuuming = Duration::ZERO;
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
        // Autovacuum visits a table about once a minute (its naptime): in
        // a day of the fleet, every updated row's dead versions are
        // reclaimed within a slot or two. This day runs a hundred times
        // faster than a real one, so the bench does between slots what
        // autovacuum (with 0005_upkeep's settings) does between real
        // slots: a plain VACUUM (never FULL) of the two tables every
        // report updates. `STCA2_FLEET_VACUUM_EVERY=0` leaves it to
        // autovacuum alone.
        if let (Store::Postgres(p), true) = (&store, vacuum_every > 0 && s % vacuum_every == 0) {
            let v = Instant::now();
            vacuum(p, "VACUUM latest, report_hours").await;
            vacuuming += v.elapsed();
        }
        if s % 24 == 23 {
            eprintln!(
                "{}: slot {}/{slots}, {total} reports, {:.0}/s",
                db.name,
                s + 1,
                total as f64 / (started.elapsed() - vacuuming).as_secs_f64()
            );
        }
    }
    // The ingest rate leaves out the bench's own vacuums (reported apart).
    let ingest = total as f64 / (started.elapsed() - vacuuming).as_secs_f64();
    if !vacuuming.is_zero() {
        eprintln!("{}: {vacuuming:?} of plain VACUUM between slots", db.name);
    }
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
    if selected("upload") || selected("floor") {
        out.push(
            "| database | transport | uploads | reports/s | p50 ms | p99 ms | server CPU s / 1,000 | server peak RSS MiB |"
                .into(),
        );
        if selected("floor") {
            rt.block_on(bench_floor(&reports, &mut out));
        }
        for b in backends.iter().filter(|_| selected("upload")) {
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
