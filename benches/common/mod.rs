//! What the back-office benchmarks share: their size knob, percentiles, a
//! database of their own on each backend (a temporary SQLite file, or a
//! PostgreSQL schema dropped afterwards), and real reports from the lab.
//!
//! Real reports: the lab's named scenarios run on loopback (a /24 of this
//! process in 127.128.0.0/9, the real ports 1146 and 7212) and the probe's
//! own engine checks each once, with an allow-list of that /24 only, so
//! every report has the lab's certificate chains, findings, latency
//! figures and sizes (7 to 15 KB of JSON), as the daemon uploads them.
//! Simulated probes reuse them under their own probe id, report id and
//! times ([`as_probe`]).

// Each bench is its own crate and uses part of this module.
#![allow(dead_code)]

/// The benches' in-process servers (and their clients) allocate as
/// `stca2-probe serve` does (src/main.rs): a number measured with another
/// allocator would not be the back office's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::ConnectOptions;
use sqlx::Connection;
use sqlx::postgres::PgConnectOptions;
use stca2_backoffice::auth::{hash_token, new_token};
use stca2_backoffice::server::{ServeConfig, Server};
use stca2_backoffice::store::{NewReport, Store, TokenRow, unix_ms};
use stca2_engine::allow::{AllowList, parse_cidr};
use stca2_engine::probe::ProbeConfig;
use stca2_engine::targets::TargetSet;
use stca2_lab::{Lab, LabConfig, Scenario};
use stca2_report::{ProbeIdentity, Report};
use time::OffsetDateTime;

/// PostgreSQL when `STCA2_TEST_POSTGRES_URL` is not set.
pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

/// `STCA2_BENCH_SCALE` (default 1): every size is multiplied by it, for a
/// quick smoke run (`0.01`).
pub fn scale() -> f64 {
    std::env::var("STCA2_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

/// `n` times [`scale`], at least 1.
pub fn scaled(n: usize) -> usize {
    ((n as f64 * scale()).round() as usize).max(1)
}

/// The `p` quantile (0 to 1) of `sorted`, nearest rank; zero when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The backends `STCA2_BENCH_BACKENDS` names (default both).
pub fn backends() -> Vec<String> {
    std::env::var("STCA2_BENCH_BACKENDS")
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .split(',')
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
        .collect()
}

/// A database of the benchmark's own.
pub struct Db {
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// What `Store::connect` and `serve --database` take.
    pub url: String,
    /// The SQLite file's folder, removed on drop.
    pub dir: Option<tempfile::TempDir>,
    /// PostgreSQL: the server's URL and the schema to drop.
    pub pg: Option<(String, String)>,
}

/// A fresh database on `backend` (`sqlite`: a temporary folder, under
/// `STCA2_BENCH_DIR` when set; `postgres`: the schema `TAG_PID` on
/// `STCA2_TEST_POSTGRES_URL` or [`DEFAULT_PG`]); `None`, said loudly,
/// when PostgreSQL does not answer.
pub async fn open(backend: &str, tag: &str) -> Option<Db> {
    if backend == "sqlite" {
        let dir = match std::env::var("STCA2_BENCH_DIR") {
            Ok(d) => tempfile::tempdir_in(d),
            Err(_) => tempfile::tempdir(),
        }
        .expect("tempdir");
        let url = format!(
            "sqlite://{}",
            dir.path().join(format!("{tag}.db")).display()
        );
        return Some(Db {
            name: "sqlite",
            url,
            dir: Some(dir),
            pg: None,
        });
    }
    let base = std::env::var("STCA2_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.into());
    let opts = PgConnectOptions::from_str(&base).ok()?;
    let Ok(Ok(mut c)) = tokio::time::timeout(Duration::from_secs(2), opts.connect()).await else {
        eprintln!("\n*** PostgreSQL SKIPPED: {base} does not answer ***\n");
        return None;
    };
    let schema = format!("{tag}_{}", std::process::id());
    for sql in [
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        format!("CREATE SCHEMA {schema}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .ok()?;
    }
    let _ = c.close().await;
    Some(Db {
        name: "postgres",
        url: format!("{base}?options[search_path]={schema}"),
        dir: None,
        pg: Some((base, schema)),
    })
}

impl Db {
    /// The store on this database (migrated).
    pub async fn connect(&self) -> Store {
        Store::connect(&self.url).await.expect("store")
    }

    /// Drops the PostgreSQL schema (the SQLite folder goes with `self`).
    pub async fn drop_schema(&self) {
        if let Some((base, schema)) = &self.pg
            && let Ok(mut c) = PgConnectOptions::from_str(base)
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

/// One real report per scenario in `scenarios` (all of the lab's named
/// scenarios when empty), with its name: see the module's documentation.
/// The lab's files go in `dir`.
pub async fn lab_reports(dir: &Path, scenarios: &[&str]) -> Vec<(String, Report)> {
    // 127.128.0.0/9, where the tests take their /24s too (from their own
    // process id): this one is taken from the benchmark's.
    let block = (std::process::id().wrapping_mul(2_654_435_761) ^ 0x2a2a) % (1 << 15);
    let [_, _, hi, lo] = block.to_be_bytes();
    let net = [127, 128 | hi, lo];
    let cidr = format!("{}.{}.{}.0/24", net[0], net[1], net[2]);
    let allow = AllowList::new(
        vec![parse_cidr(&cidr).expect("cidr")],
        AllowList::ceiling_from_env().expect("STCA2_PROBE_ALLOW"),
    );
    let mut probe = ProbeConfig::new(allow);
    probe.timeout = Duration::from_secs(1);
    probe.spacing = Duration::from_millis(20);
    let names: Vec<&str> = if scenarios.is_empty() {
        Scenario::names().to_vec()
    } else {
        scenarios.to_vec()
    };
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let host = |n: usize| IpAddr::from([net[0], net[1], net[2], n as u8]);
        let mut config = LabConfig::new(Scenario::named(name).expect("scenario"));
        config.primary = host(2 * i + 1);
        config.secondary = host(2 * i + 2);
        config.ca_dir = dir.join(format!("ca-{name}"));
        config.slow_delay = Duration::from_millis(300);
        let lab = Lab::start(config).await.expect("lab");
        let file = dir.join(format!("{name}.toml"));
        lab.write_target_file(&file).expect("target file");
        let targets = TargetSet::load(&file).expect("targets");
        let mut identity = ProbeIdentity::new("lab");
        identity.hostname = Some("caisse-01.shop.example".into());
        out.push((
            name.to_string(),
            stca2_engine::check::run(&targets, &probe, identity).await,
        ));
        lab.shutdown().await;
    }
    out
}

/// `template` as probe `probe`'s report `id`, started at `t` (taking as
/// long as the template did).
pub fn as_probe(template: &Report, probe: &str, id: &str, t: OffsetDateTime) -> Report {
    let mut r = template.clone();
    let took = r.finished_at - r.started_at;
    r.probe.id = probe.to_string();
    r.report_id = id.to_string();
    r.started_at = t;
    r.finished_at = t + took;
    r
}

/// An HTTP client on the project's one crypto provider (ring), trusting
/// `root` only for HTTPS, with at most `idle_per_host` kept-alive
/// connections (0: a new connection for every request, as the daemon
/// uploads) and a `timeout` per request.
pub fn client(
    root: Option<rustls_pki_types::CertificateDer<'static>>,
    idle_per_host: usize,
    timeout: Duration,
) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(r) = root {
        roots.add(r).expect("root");
    }
    let cfg = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("tls")
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .no_proxy()
        .pool_max_idle_per_host(idle_per_host)
        .timeout(timeout)
        .build()
        .expect("client")
}

/// An in-process server over `store` on 127.0.0.1:0: its base URL, the
/// sender that stops it, and its task.
pub async fn start(
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

/// A new token stored in `store`: a probe token for `probe`, else an
/// admin token.
pub async fn token(store: &Store, probe: Option<&str>) -> String {
    let t = new_token().expect("rng");
    store
        .insert_token(&TokenRow {
            hash: hash_token(&t),
            kind: if probe.is_some() { "probe" } else { "admin" }.into(),
            probe_id: probe.map(str::to_string),
            merchant_id: None,
            created_at: 0,
            revoked_at: None,
        })
        .await
        .expect("token");
    t
}

/// A new admin token, stored in `store`.
pub async fn admin_token(store: &Store) -> String {
    token(store, None).await
}

/// Sizes of `reports` as JSON (min, mean, max), in bytes.
pub fn sizes<'a>(reports: impl IntoIterator<Item = &'a Report>) -> (usize, usize, usize) {
    let s: Vec<usize> = reports
        .into_iter()
        .map(|r| serde_json::to_string(r).expect("json").len())
        .collect();
    let (min, max) = (
        s.iter().copied().min().unwrap_or(0),
        s.iter().copied().max().unwrap_or(0),
    );
    (min, s.iter().sum::<usize>() / s.len().max(1), max)
}

/// The scenario of probe `n` (see the module's documentation), and whether
/// it went silent a day ago.
#[allow(dead_code)] // not every bench seeds a fleet
pub fn mix(n: usize) -> (&'static str, bool) {
    let s = match n % 100 {
        0..=79 | 99 => "healthy",
        80..=87 => "primary-blocked",
        88 | 89 => "secondary-blocked",
        90 => "both-blocked",
        91..=93 => "old-ca",
        94 | 95 => "intercepted",
        96 => "mixed",
        97 => "slow",
        _ => "expired",
    };
    (s, n % 100 == 99)
}

/// Fills `latest` with `probes` probes through the write path (real lab
/// reports in the mix of [`mix`]: 8 % ready for site 2, 1 % both blocked...);
/// returns how long it took.
#[allow(dead_code)] // not every bench seeds a fleet
pub async fn seed_fleet(store: &Store, lab: &[(String, Report)], probes: usize) -> Duration {
    let now = OffsetDateTime::now_utc();
    let t = Instant::now();
    let chunk = 1_000;
    let mut i = 0;
    while i < probes {
        let rows: Vec<NewReport> = (i..(i + chunk).min(probes))
            .map(|n| {
                let (scenario, silent) = mix(n);
                let template = &lab.iter().find(|(s, _)| s == scenario).expect("scenario").1;
                let started = if silent {
                    now - time::Duration::days(1)
                } else {
                    now - time::Duration::seconds((n % 600) as i64)
                };
                let probe = format!("fleet-{n:07}");
                let mut r = as_probe(template, &probe, &uuid::Uuid::new_v4().to_string(), started);
                r.probe.merchant = Some(format!("merchant-{:04}", n % 1000));
                let body = serde_json::to_string(&r).expect("json");
                NewReport::from_report(
                    &r,
                    body,
                    None,
                    Some(format!("198.51.100.{}", n % 250)),
                    unix_ms(now),
                )
            })
            .collect();
        store.insert_batch(&rows).await.expect("seed");
        i += chunk;
        if i % 100_000 == 0 {
            eprintln!("  seeded {i} probes in {:.0} s", t.elapsed().as_secs_f64());
        }
    }
    if let Store::Postgres(p) = store {
        sqlx::query("VACUUM ANALYZE latest")
            .execute(p)
            .await
            .expect("vacuum");
    }
    t.elapsed()
}
