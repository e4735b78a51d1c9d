//! The console's list pages at fleet size, SQLite and PostgreSQL.
//!
//! `cargo bench --bench console` seeds 1,000,000 probes in `latest` (one in
//! ten with the STCA2 port closed, one in twenty ready for site 2, one in
//! fifty silent), opens a console session, and times each list page as a
//! browser asks for it (the whole HTML answer) over loopback: first pages,
//! next pages through the page's own "next" link, a merchant filter; p50
//! and p99 per page. `STCA2_BENCH_SCALE=0.01` shrinks the fleet for a smoke
//! run; `STCA2_BENCH_BACKENDS=sqlite` skips PostgreSQL (otherwise taken from
//! `STCA2_TEST_POSTGRES_URL` or postgres://postgres@127.0.0.1:5432/test and
//! skipped loudly when it does not answer).
//!
//! The lists of findings (suspected interceptions, old STCA chains,
//! expiring chains) and the dashboard's counts of them read the latest
//! report's body: they are measured by the backoffice bench's history,
//! not here, where `latest` is seeded without bodies.

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::ConnectOptions;
use sqlx::Connection;
use sqlx::postgres::PgConnectOptions;
use stca2_backoffice::auth::{hash_token, new_token};
use stca2_backoffice::server::{ServeConfig, Server};
use stca2_backoffice::store::{LatestRow, Store, TokenRow, unix_ms};
use time::OffsetDateTime;

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

fn scale() -> f64 {
    std::env::var("STCA2_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

/// A store and what to drop after it.
struct Db {
    name: &'static str,
    store: Store,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

async fn open(backend: &str) -> Option<Db> {
    if backend == "sqlite" {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("console.db").display());
        let store = Store::connect(&url).await.expect("sqlite");
        return Some(Db {
            name: "sqlite",
            store,
            _dir: Some(dir),
            pg: None,
        });
    }
    let base = std::env::var("STCA2_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.into());
    let opts = PgConnectOptions::from_str(&base).ok()?;
    let Ok(Ok(mut c)) = tokio::time::timeout(Duration::from_secs(2), opts.connect()).await else {
        eprintln!("\n*** PostgreSQL half SKIPPED: {base} does not answer ***\n");
        return None;
    };
    let schema = format!("bench_console_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut c)
        .await
        .ok()?;
    let _ = c.close().await;
    let store = Store::connect(&format!("{base}?options[search_path]={schema}"))
        .await
        .expect("postgres");
    Some(Db {
        name: "postgres",
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

/// Seeds `probes` rows in `latest`.
async fn seed(store: &Store, probes: usize) -> Duration {
    let now = unix_ms(OffsetDateTime::now_utc());
    let t = Instant::now();
    let chunk = 20_000;
    let mut i = 0;
    while i < probes {
        let rows: Vec<LatestRow> = (i..(i + chunk).min(probes))
            .map(|n| {
                let closed = n % 10 == 3;
                LatestRow {
                    probe_id: format!("fleet-{n:07}"),
                    report_id: format!("fleet-r-{n}"),
                    started_at: if n % 50 == 7 {
                        now - 86_400_000
                    } else {
                        now - (n as i64 % 600) * 1000
                    },
                    stca2_port_closed: closed,
                    closed_since: closed.then_some(now - 3_600_000 - (n as i64 % 5000) * 60_000),
                    closed_streak: if closed { 12 } else { 0 },
                    recommendation: match n % 20 {
                        3 | 13 => "open_primary",
                        5 => "configure_secondary",
                        _ => "none",
                    }
                    .into(),
                    message: "Configure 127.0.38.173 port 1146 as the failover gateway.".into(),
                    merchant_id: Some(format!("merchant-{:04}", n % 1000)),
                    public_ip: Some(format!("198.51.100.{}", n % 250)),
                }
            })
            .collect();
        store.seed_latest(&rows).await.expect("seed");
        i += chunk;
    }
    if let Store::Postgres(p) = store {
        sqlx::query("ANALYZE latest")
            .execute(p)
            .await
            .expect("analyze");
    }
    t.elapsed()
}

/// A console session cookie, straight into the store.
async fn session(store: &Store) -> String {
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
    let id = new_token().expect("rng");
    let now = unix_ms(OffsetDateTime::now_utc());
    store
        .insert_session(&hash_token(&id), &hash_token(&t), now, now + 3_600_000)
        .await
        .expect("session");
    format!("stca2_session={id}")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted
        .get(i.min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

/// The `href` of the page's "next" link.
fn next_link(html: &str) -> Option<String> {
    let at = html.find("id=\"next\"")?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = start + html[start..].find('"')?;
    Some(
        html[start..end]
            .replace("&amp;", "&")
            .replace("&#x2e;", "."),
    )
}

/// Times `queries` GETs of `page`: every fourth from the first page, the
/// others following the "next" link.
async fn bench_page(
    c: &reqwest::Client,
    base: &str,
    cookie: &str,
    page: &str,
    queries: usize,
) -> (Duration, Duration, usize) {
    let mut lat = Vec::with_capacity(queries);
    let mut next: Option<String> = None;
    let mut rows = 0;
    for q in 0..queries {
        let path = match (&next, q % 4) {
            (Some(n), 1..=3) => n.clone(),
            _ => page.to_string(),
        };
        let t = Instant::now();
        let r = c
            .get(format!("{base}{path}"))
            .header("cookie", cookie)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200, "{path}");
        let html = r.text().await.expect("body");
        lat.push(t.elapsed());
        rows += html.matches("class=\"probe-row\"").count();
        next = next_link(&html);
    }
    lat.sort();
    (percentile(&lat, 0.5), percentile(&lat, 0.99), rows)
}

async fn run(db: Db, probes: usize) {
    let seeded = seed(&db.store, probes).await;
    let cookie = session(&db.store).await;
    let cfg = ServeConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        database: String::new(),
        tls: None,
        trusted_proxies: vec![],
        retention_days: 0,
    };
    let server = Server::with_store(db.store.clone(), &cfg, None)
        .await
        .expect("bind");
    let base = format!("http://{}", server.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    let c = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let queries = ((400.0 * scale()).round() as usize).clamp(40, 400);
    for page in [
        "/filtres/port-stca2-non-ouvert",
        "/filtres/port-stca2-non-ouvert?tri=sonde",
        "/filtres/port-stca2-non-ouvert?merchant=merchant-0003",
        "/filtres/port-stca2-non-ouvert?recommendation=open_primary",
        "/connectivite-secondaire",
        "/connectivite-secondaire?etat=a-ouvrir",
        "/sondes",
        "/sondes?liste=silencieuses",
        "/exports?merchant=merchant-0003",
        "/jetons",
    ] {
        let (p50, p99, rows) = bench_page(&c, &base, &cookie, page, queries).await;
        println!(
            "| {} | GET {page}, {probes} probes in latest | {queries} pages ({rows} rows), p50 {:.2} ms, p99 **{:.2} ms** | seed {:.0} s |",
            db.name,
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            seeded.as_secs_f64()
        );
    }
    let _ = tx.send(());
    let _ = task.await;
    db.cleanup().await;
}

fn main() {
    let is_bench = std::env::args().any(|a| a == "--bench");
    if !is_bench && std::env::var("STCA2_BENCH_SCALE").is_err() {
        println!(
            "console bench: run with `cargo bench --bench console` (STCA2_BENCH_SCALE=0.01 for a smoke run)"
        );
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let probes = ((1_000_000.0 * scale()).round() as usize).max(100);
    let backends =
        std::env::var("STCA2_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    println!("| database | page | result | |");
    println!("|---|---|---|---|");
    rt.block_on(async {
        for b in backends.split(',') {
            if let Some(db) = open(b.trim()).await {
                run(db, probes).await;
            }
        }
    });
}
