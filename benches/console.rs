//! The console's pages at fleet size, SQLite and PostgreSQL.
//!
//! `cargo bench --bench console` fills `latest` with 1,000,000 probes
//! through the back office's own write path (`Store::insert_batch`, 1,000
//! reports per transaction), each probe's report a real one: the lab's
//! nine scenarios checked by the engine ([`common::lab_reports`]), under
//! the probe's id and time, bodies and all. The mix, by probe number
//! modulo 100: 80 healthy, 8 primary-blocked (ready for "Connectivité
//! secondaire"), 2 secondary-blocked, 1 both-blocked, 3 old-ca, 2
//! intercepted, 1 mixed, 1 slow, 1 expired; and one probe in a hundred
//! healthy but silent for a day. Then it opens a console session and times
//! each page as a browser asks for it (the whole HTML answer) over
//! loopback: the dashboard, first pages and next pages through the page's
//! own "next" link, filters, a probe's page; p50 and p99 per page.
//!
//! `STCA2_BENCH_SCALE=0.01` shrinks the fleet for a smoke run;
//! `STCA2_BENCH_BACKENDS=sqlite` skips PostgreSQL (otherwise taken from
//! `STCA2_TEST_POSTGRES_URL` or postgres://postgres@127.0.0.1:5432/test,
//! in a schema of its own dropped at the end, and skipped loudly when it
//! does not answer); `STCA2_BENCH_DIR` holds the SQLite file (about 20 GB
//! at full size: bodies are kept whole in `latest`, and each probe's first
//! report in `reports`).

mod common;

use std::time::{Duration, Instant};

use common::{Db, lab_reports, percentile, scale};
use stca2_backoffice::auth::{hash_token, new_token};
use stca2_backoffice::store::{Store, unix_ms};
use stca2_report::Report;
use time::OffsetDateTime;

/// A console session cookie, straight into the store.
async fn session(store: &Store) -> String {
    let t = common::admin_token(store).await;
    let id = new_token().expect("rng");
    let now = unix_ms(OffsetDateTime::now_utc());
    store
        .insert_session(&hash_token(&id), &hash_token(&t), now, now + 3_600_000)
        .await
        .expect("session");
    format!("stca2_session={id}")
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

async fn run(db: Db, lab: &[(String, Report)], probes: usize) {
    let store = db.connect().await;
    let seeded = common::seed_fleet(&store, lab, probes).await;
    eprintln!(
        "{}: {probes} probes seeded in {:.0} s",
        db.name,
        seeded.as_secs_f64()
    );
    let cookie = session(&store).await;
    let (base, tx, task) = common::start(&store).await;
    let c = common::client(None, 16, Duration::from_secs(120));
    let queries = ((400.0 * scale()).round() as usize).clamp(40, 400);
    for page in [
        "/",
        "/filtres/port-stca2-non-ouvert",
        "/filtres/port-stca2-non-ouvert?tri=sonde",
        "/filtres/port-stca2-non-ouvert?merchant=merchant-0081",
        "/filtres/port-stca2-non-ouvert?recommendation=open_primary",
        "/connectivite-secondaire",
        "/connectivite-secondaire?etat=a-ouvrir",
        "/sondes",
        "/sondes?liste=silencieuses",
        "/sondes?liste=interception",
        "/sondes?liste=ancienne-chaine",
        "/sondes?liste=expiration",
        "/sondes/fleet-0000094",
        "/sondes/fleet-0000081",
        "/exports?merchant=merchant-0081",
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
    store.close().await;
    db.drop_schema().await;
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
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let lab = lab_reports(dir.path(), &[]).await;
        let (min, mean, max) = common::sizes(lab.iter().map(|(_, r)| r));
        println!("reports of the lab: {min} to {max} bytes of JSON, mean {mean}");
        println!("| database | page | result | |");
        println!("|---|---|---|---|");
        for b in common::backends() {
            if let Some(db) = common::open(&b, "bench_console").await {
                run(db, &lab, probes).await;
            }
        }
    });
}
