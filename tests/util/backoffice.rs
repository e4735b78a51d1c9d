//! Shared helpers of the back-office tests: both databases, an in-process
//! server on 127.0.0.1:0, HTTP clients and sample reports.
//!
//! Every store test runs against SQLite (a temporary file) and PostgreSQL:
//! `STCA2_TEST_POSTGRES_URL` when set (then PostgreSQL must answer), else
//! `postgres://postgres@127.0.0.1:5432/test` when it answers within 2 s,
//! else the PostgreSQL half is skipped with a loud message. Each PostgreSQL
//! run gets its own schema, dropped at the end.

use std::future::Future;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::Connection;
use sqlx::postgres::PgConnectOptions;
use stca2_backoffice::auth::{hash_token, new_token};
use stca2_backoffice::server::{ServeConfig, Server};
use stca2_backoffice::store::{Store, TokenRow};
use stca2_report::fixtures::upload;
use stca2_report::{Recommendation, Report, Role};
use time::OffsetDateTime;

/// The URL CI uses.
pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One database under test.
pub struct TestDb {
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// The store.
    pub store: Store,
    /// Its URL: another `Store::connect` to it is another replica.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    /// Closes the store and drops the PostgreSQL schema.
    pub async fn cleanup(mut self) {
        self.store.close().await;
        if let Some((base, schema)) = self.pg.take() {
            drop_schema(&base, &schema).await;
        }
    }
}

impl Drop for TestDb {
    /// A test that panicked never reached `cleanup`: drop its schema anyway,
    /// from a thread of its own (the test's runtime may be unwinding).
    fn drop(&mut self) {
        if let Some((base, schema)) = self.pg.take() {
            let done = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(drop_schema(&base, &schema));
            })
            .join();
            if done.is_err() {
                eprintln!("*** could not drop a PostgreSQL test schema; see the message above ***");
            }
        }
    }
}

/// Drops `schema` (and everything in it); waits at most 10 s for locks
/// that connections of a failed test may still hold.
async fn drop_schema(base: &str, schema: &str) {
    let opts = PgConnectOptions::from_str(base)
        .unwrap()
        .options([("lock_timeout", "10s")]);
    let mut c = opts.connect().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();
}

/// A fresh SQLite database in a temporary directory.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bo.db").display());
    let store = Store::connect(&url).await.unwrap();
    TestDb {
        name: "sqlite",
        store,
        url,
        _dir: Some(dir),
        pg: None,
    }
}

/// The PostgreSQL base URL, or why there is none.
pub async fn postgres_url() -> Result<String, String> {
    let (url, required) = match std::env::var("STCA2_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => (u, true),
        _ => (DEFAULT_PG.to_string(), false),
    };
    let opts = PgConnectOptions::from_str(&url).map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(2), opts.connect()).await {
        Ok(Ok(c)) => {
            let _ = c.close().await;
            Ok(url)
        }
        Ok(Err(e)) if required => panic!("STCA2_TEST_POSTGRES_URL={url} is unreachable: {e}"),
        Err(_) if required => panic!("STCA2_TEST_POSTGRES_URL={url}: no answer in 2 s"),
        Ok(Err(e)) => Err(format!("{url}: {e}")),
        Err(_) => Err(format!("{url}: no answer in 2 s")),
    }
}

/// A fresh PostgreSQL schema, or None (loudly) when no server answers.
pub async fn postgres(test: &str) -> Option<TestDb> {
    let (base, schema, url) = postgres_schema(test).await?;
    let store = Store::connect(&url).await.unwrap();
    Some(TestDb {
        name: "postgres",
        store,
        url,
        _dir: None,
        pg: Some((base, schema)),
    })
}

/// Runs `body` with the URL of an empty SQLite file, then of an empty
/// PostgreSQL schema (when reachable; dropped after), no schema applied:
/// for tests that build an older database and let `Store::connect` migrate it.
pub async fn each_empty_url<F, Fut>(test: &str, body: F)
where
    F: Fn(&'static str, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    body(
        "sqlite",
        format!("sqlite://{}?mode=rwc", dir.path().join("bo.db").display()),
    )
    .await;
    if let Some((base, schema, url)) = postgres_schema(test).await {
        body("postgres", url).await;
        drop_schema(&base, &schema).await;
    }
}

/// A new schema in the test database: (base URL, schema, URL using it).
async fn postgres_schema(test: &str) -> Option<(String, String, String)> {
    let base = match postgres_url().await {
        Ok(u) => u,
        Err(why) => {
            eprintln!(
                "\n*** PostgreSQL half SKIPPED for {test}: {why}. Set STCA2_TEST_POSTGRES_URL or start PostgreSQL on 127.0.0.1:5432. ***\n"
            );
            return None;
        }
    };
    let mut raw = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw).unwrap();
    let schema = format!(
        "t_{}",
        raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let mut c = PgConnectOptions::from_str(&base)
        .unwrap()
        .connect()
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options[search_path]={schema}");
    Some((base, schema, url))
}

/// Runs `body` against SQLite, then against PostgreSQL (when reachable).
pub async fn each_backend<F, Fut>(test: &str, body: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = TestDb>,
{
    let db = sqlite().await;
    body(db).await.cleanup().await;
    if let Some(db) = postgres(test).await {
        body(db).await.cleanup().await;
    }
}

/// A running in-process server.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://addr` or `https://addr`.
    pub base: String,
    /// What its connection bounds did (connections evicted, refused).
    pub connections: stca2_backoffice::server::Connections,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// Starts a server over `store` on `listen` (port 0 for any).
pub async fn start(store: &Store, listen: &str, trusted: &[&str]) -> TestServer {
    start_tls(store, listen, trusted, None).await
}

/// Like [`start`], with an optional TLS acceptor.
pub async fn start_tls(
    store: &Store,
    listen: &str,
    trusted: &[&str],
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> TestServer {
    let cfg = ServeConfig {
        listen: listen.parse().unwrap(),
        database: String::new(),
        tls: None,
        trusted_proxies: trusted.iter().map(|t| t.parse().unwrap()).collect(),
        retention_days: 90,
    };
    let is_tls = tls.is_some();
    let server = Server::with_store(store.clone(), &cfg, tls).await.unwrap();
    let addr = server.local_addr().unwrap();
    let connections = server.connections();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    TestServer {
        addr,
        base: format!("{}://{addr}", if is_tls { "https" } else { "http" }),
        connections,
        stop: Some(tx),
        task: Some(task),
    }
}

/// An HTTP client (ring provider), trusting `root` for HTTPS when given.
pub fn client(root: Option<rustls_pki_types::CertificateDer<'static>>) -> reqwest::Client {
    client_builder(root).build().unwrap()
}

/// A plain-HTTP client whose connections come from `local` (another
/// loopback address: another client as far as the server can tell).
pub fn client_from(local: std::net::IpAddr) -> reqwest::Client {
    client_builder(None).local_address(local).build().unwrap()
}

/// What [`client`] and [`client_from`] share.
fn client_builder(
    root: Option<rustls_pki_types::CertificateDer<'static>>,
) -> reqwest::ClientBuilder {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(r) = root {
        roots.add(r).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .no_proxy()
        .timeout(Duration::from_secs(60))
}

/// Issues a token straight into the store.
pub async fn token(store: &Store, probe: Option<&str>, merchant: Option<&str>) -> String {
    let t = new_token().unwrap();
    store
        .insert_token(&TokenRow {
            hash: hash_token(&t),
            kind: if probe.is_some() { "probe" } else { "admin" }.into(),
            probe_id: probe.map(String::from),
            merchant_id: merchant.map(String::from),
            created_at: 0,
            revoked_at: None,
        })
        .await
        .unwrap();
    t
}

/// A fixed, recent start time plus `minutes`: the base (yesterday, whole
/// second) is taken once per test binary, so that two calls with the same
/// argument agree even when the clock ticks between them.
pub fn at(minutes: i64) -> OffsetDateTime {
    static BASE: std::sync::OnceLock<OffsetDateTime> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| {
        OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - time::Duration::days(1)
    });
    base + time::Duration::minutes(minutes)
}

/// A report of `probe` (from [`stca2_report::fixtures::upload`]): the
/// primary's STCA2 port closed or not, the secondary's open, with the
/// failover advice `rec` behind a formula the CSV export must neutralise.
pub fn report(
    probe: &str,
    report_id: &str,
    started: OffsetDateTime,
    closed: bool,
    rec: Recommendation,
) -> Report {
    upload::report(
        upload::probe(probe),
        report_id,
        started,
        vec![
            upload::result(Role::Primary, 1146, !closed),
            upload::result(Role::Secondary, 1146, true),
        ],
        upload::summary(closed, rec, format!("=HYPERLINK(\"x\") {}", rec.as_str())),
    )
}

/// The report as a JSON value, as a probe would send it: its `report_id`
/// made a UUID with [`rid`] (the tests name reports `r-1`, `good`...).
pub fn json(r: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    v["report_id"] = rid(&r.report_id).into();
    v
}

pub use stca2_report::fixtures::upload::rid;

/// POSTs `body` (JSON) to `/api/v1/reports` with `tok`: the status and the JSON answer.
pub async fn post_reports(
    c: &reqwest::Client,
    base: &str,
    tok: &str,
    body: impl Into<reqwest::Body>,
) -> (reqwest::StatusCode, serde_json::Value) {
    let resp = c
        .post(format!("{base}/api/v1/reports"))
        .header("content-type", "application/json")
        .bearer_auth(tok)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// GETs `base` + `path` with `tok`: the status and the body as text.
pub async fn get_text(
    c: &reqwest::Client,
    base: &str,
    path: &str,
    tok: &str,
) -> (reqwest::StatusCode, String) {
    let resp = c
        .get(format!("{base}{path}"))
        .bearer_auth(tok)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.text().await.unwrap_or_default())
}

/// Stores, behind the API's back, a report row whose body is not a report
/// (what a disk fault or a hand edit leaves): exports must fail loudly on it.
pub async fn store_corrupt_row(store: &Store, report_id: &str, started_at: OffsetDateTime) {
    let sql = "INSERT INTO reports (report_id, probe_id, merchant_id, received_at, started_at, \
               finished_at, public_ip, stca2_port_closed, recommendation, body) \
               VALUES ($1, 'corrupt', NULL, 0, $2, $2, NULL, FALSE, 'none', '{\"not\": \"a report\"}')";
    let ms = (started_at.unix_timestamp_nanos() / 1_000_000) as i64;
    match store {
        Store::Sqlite { write, .. } => {
            sqlx::query(sql)
                .bind(report_id)
                .bind(ms)
                .execute(write)
                .await
                .unwrap();
        }
        Store::Postgres(pool) => {
            sqlx::query(sql)
                .bind(report_id)
                .bind(ms)
                .execute(pool)
                .await
                .unwrap();
        }
    }
}

/// The stored row of probe `probe`'s report `id`, started `minute` minutes
/// after [`at`]'s origin (port closed or not), as the ingest builds it.
pub fn row(probe: &str, id: &str, minute: i64, closed: bool) -> stca2_backoffice::store::NewReport {
    let r = report(
        probe,
        id,
        at(minute),
        closed,
        stca2_report::Recommendation::ConfigureSecondary,
    );
    let body = serde_json::to_string(&r).unwrap();
    stca2_backoffice::store::NewReport::from_report(
        &r,
        body,
        None,
        Some("203.0.113.7".into()),
        stca2_backoffice::store::unix_ms(at(minute)),
    )
}
