//! The console in a real browser: Debian's `chromium` driven over WebDriver
//! (`chromedriver`, on loopback) by fantoccini, against the back office's
//! real server on 127.0.0.1, on SQLite and on PostgreSQL, seeded with
//! field-sized reports judged by the real verdict.
//!
//! Each test saves PNG screenshots under `target/screenshots/`. Without
//! `chromedriver` and `chromium` the tests say so loudly and skip (CI
//! installs both: .ci/run).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use stca2_backoffice::auth::hash_token;
use stca2_backoffice::store::{NewReport, Store, unix_ms};
use stca2_engine::verdict::{Context, judged};
use stca2_report::fixtures::field::{self, blocked, intercepted, old_stca, serving_stca2};
use stca2_report::{Report, Role, TcpStatus};
use time::OffsetDateTime;

use crate::util::backoffice::{client, each_backend, start, token};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver on a loopback port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver, or says loudly why the browser tests skip.
fn driver(test: &str) -> Option<Driver> {
    for (what, path) in [("chromedriver", CHROMEDRIVER), ("chromium", CHROMIUM)] {
        if !std::path::Path::new(path).exists() {
            eprintln!(
                "\n*** SKIPPED {test}: {what} is not installed ({path}); \
                 `apt-get install chromium chromium-driver` (CI does, .ci/run) ***\n"
            );
            return None;
        }
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let d = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen within 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(d)
}

/// A headless Chromium session asking for pages in `lang`.
async fn browser(driver_url: &str, lang: &str) -> Client {
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            // The one rule: the browser reaches the loopback console and
            // nothing else. Every other destination goes to a dead proxy
            // (loopback bypasses proxies), no name is resolved, and the
            // background services that phone home are off.
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1100", format!("--lang={lang}"),
                     "--proxy-server=127.0.0.1:9",
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--disable-default-apps", "--disable-domain-reliability",
                     "--disable-client-side-phishing-detection", "--no-first-run", "--no-pings",
                     "--disable-features=OptimizationHints,MediaRouter,Translate"],
            "prefs": {"intl.accept_languages": lang},
        }
    });
    let caps = match caps {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = tokio::time::timeout(
        Duration::from_secs(60),
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(driver_url),
    )
    .await
    .expect("a browser session within 60 s")
    .expect("a browser session");
    // A click returns once the form is sent, before the answer's page is
    // there: finding an element waits for it (bounded), like a person would.
    c.update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
        None,
        None,
        Some(Duration::from_secs(10)),
    ))
    .await
    .expect("implicit wait");
    c
}

/// Saves the page as `target/screenshots/NAME.png`.
async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Signs in at `base` with `token`.
async fn sign_in(c: &Client, base: &str, token: &str) {
    c.goto(&format!("{base}/connexion")).await.unwrap();
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    c.find(Locator::Id("signin"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Signs in at `base` with a token that must work, and waits for the
/// dashboard: the click returns before the session cookie is set, and a
/// page asked for before then would be the sign-in page again.
async fn signed_in(c: &Client, base: &str, token: &str) {
    sign_in(c, base, token).await;
    assert_eq!(wait_path(c, "/").await, "/", "signed in, on the dashboard");
}

/// The text of the element `css` names. A click returns before the next
/// page has loaded: an element not there yet, or one of the page being
/// replaced (stale), is looked for again, for 10 s at most.
async fn text(c: &Client, css: &str) -> String {
    let t = Instant::now();
    loop {
        let found = match c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await,
            Err(e) => Err(e),
        };
        match found {
            Ok(text) => return text,
            Err(e) if t.elapsed() > Duration::from_secs(10) => panic!("{css}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_string()
}

/// The page's path once it is `want`, or after 10 s whatever it is (a
/// click returns before the answer's page has loaded).
async fn wait_path(c: &Client, want: &str) -> String {
    let t = Instant::now();
    loop {
        let p = path(c).await;
        if p == want || t.elapsed() > Duration::from_secs(10) {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The page's query once it contains `want`, or after 10 s whatever it is
/// (a click returns before the answer's page has loaded).
async fn wait_query(c: &Client, want: &str) -> String {
    let t = Instant::now();
    loop {
        let url = c.current_url().await.unwrap();
        let q = url.query().unwrap_or("").to_string();
        if q.contains(want) || t.elapsed() > Duration::from_secs(10) {
            return q;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Fetches `href` from the page (with its cookies): status, Content-Disposition, body.
async fn fetch(c: &Client, href: &str) -> (u64, String, String) {
    let v = c
        .execute_async(
            "const [href, done] = arguments; fetch(href).then(r => r.text().then(t => \
             done([r.status, r.headers.get('content-disposition') || '', t]))).catch(e => done([0, '', String(e)]));",
            vec![json!(href)],
        )
        .await
        .unwrap();
    (
        v[0].as_u64().unwrap_or(0),
        v[1].as_str().unwrap_or_default().to_string(),
        v[2].as_str().unwrap_or_default().to_string(),
    )
}

/// What a seeded probe's latest check found.
#[derive(Clone, Copy)]
enum Kind {
    Ready,
    Blocked,
    Intercepted,
    OldCa,
}

/// A field-sized report of `probe` (merchant `merchant`), judged by the verdict.
fn field_report(
    probe: &str,
    merchant: &str,
    kind: Kind,
    started: OffsetDateTime,
    base_ms: f64,
) -> Report {
    use Role::{Primary as P, Secondary as S};
    let p1 = match kind {
        Kind::Ready => serving_stca2(P, 1146),
        Kind::Blocked => blocked(P, 1146, TcpStatus::Timeout, "no answer to SYN within 3 s"),
        Kind::Intercepted => intercepted(P, 1146),
        Kind::OldCa => old_stca(P, 1146),
    };
    let mut results = vec![
        p1,
        serving_stca2(P, 7212),
        serving_stca2(S, 1146),
        serving_stca2(S, 7212),
    ];
    if let Some(first) = results.first_mut() {
        if first.tcp.connect_ms.is_some() {
            first.tcp.connect_ms = field::stats(base_ms);
        }
        if let Some(tls) = first.tls.as_mut().filter(|t| t.handshake_ms.is_some()) {
            tls.handshake_ms = field::stats(base_ms * 3.0);
        }
    }
    let mut id = field::probe();
    id.id = probe.into();
    id.merchant = Some(merchant.into());
    judged(
        id,
        "lab",
        started,
        started + time::Duration::seconds(2),
        results,
        &Context::default(),
    )
}

/// Stores reports as an upload from 203.0.113.7 would.
async fn store_reports(store: &Store, reports: &[Report]) {
    let now = unix_ms(OffsetDateTime::now_utc());
    for chunk in reports.chunks(100) {
        let batch: Vec<NewReport> = chunk
            .iter()
            .map(|r| {
                NewReport::from_report(
                    r,
                    serde_json::to_string(r).unwrap(),
                    None,
                    Some("203.0.113.7".into()),
                    now,
                )
            })
            .collect();
        store.insert_batch(&batch).await.unwrap();
    }
}

fn minutes_ago(m: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - time::Duration::minutes(m)
}

/// How many items an admin GET of the API lists, following its cursors.
async fn api_count(base: &str, admin: &str, path: &str) -> usize {
    let c = client(None);
    let mut n = 0;
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(k) => format!("{base}{path}{sep}limit=1000&cursor={k}"),
            None => format!("{base}{path}{sep}limit=1000"),
        };
        let v: Value = c
            .get(url)
            .bearer_auth(admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        n += v["items"].as_array().expect("items").len();
        match v["next_cursor"].as_str() {
            Some(k) => cursor = Some(k.to_string()),
            None => return n,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_signs_in_counts_lists_and_shows_a_probe() {
    let Some(d) = driver("console_signs_in_counts_lists_and_shows_a_probe") else {
        return;
    };
    each_backend("console_main", |db| {
        let driver_url = d.url.clone();
        async move {
            let mut reports = vec![
                field_report("p-ready-1", "m-A", Kind::Ready, minutes_ago(2), 9.0),
                field_report("p-blocked-2", "m-B", Kind::Blocked, minutes_ago(3), 9.0),
                field_report("p-int", "m-B", Kind::Intercepted, minutes_ago(2), 9.0),
                field_report("p-old", "m-A", Kind::OldCa, minutes_ago(2), 9.0),
                field_report("p-silent", "m-A", Kind::Ready, minutes_ago(180), 9.0),
            ];
            // p-blocked-1's history: open (8 ms to connect), blocked, open
            // again (12 ms), blocked, blocked. Each report but the last
            // changes the probe's state, so each is kept whole (the back
            // office keeps whole only the reports that change a probe's
            // state: README, "Storage"); the last is counted, and the page
            // shows the state's first report, saying so.
            for (kind, ago, connect) in [
                (Kind::Ready, 55, 8.0),
                (Kind::Blocked, 40, 9.0),
                (Kind::Ready, 25, 12.0),
                (Kind::Blocked, 10, 9.0),
                (Kind::Blocked, 5, 9.5),
            ] {
                reports.push(field_report(
                    "p-blocked-1",
                    "m-A",
                    kind,
                    minutes_ago(ago),
                    connect,
                ));
            }
            store_reports(&db.store, &reports).await;
            let admin = token(&db.store, None, None).await;
            let probe_token = token(&db.store, Some("p-ready-1"), None).await;
            let srv = start(&db.store, "127.0.0.1:0", &[]).await;
            let base = srv.base.clone();
            let c = browser(&driver_url, "fr-FR").await;

            // Signed out, every page leads to the sign-in form.
            c.goto(&format!("{base}/")).await.unwrap();
            assert_eq!(wait_path(&c, "/connexion").await, "/connexion");
            sign_in(&c, &base, "stca2_not-a-token").await;
            assert!(
                text(&c, "#error").await.contains("inconnu"),
                "a wrong token is refused"
            );
            screenshot(&c, &format!("console-{}-signin-refused", db.name)).await;
            sign_in(&c, &base, &probe_token).await;
            assert!(
                text(&c, "#error").await.contains("jeton de sonde"),
                "a probe token is refused"
            );
            c.goto(&format!("{base}/")).await.unwrap();
            assert_eq!(
                wait_path(&c, "/connexion").await,
                "/connexion",
                "a refused token opened no session"
            );

            // The dashboard, in French, with the API's numbers.
            signed_in(&c, &base, &admin).await;
            assert_eq!(text(&c, "h1").await, "Tableau de bord");
            let count = |key: &'static str| {
                let c = &c;
                async move {
                    text(c, &format!("#count-{key} .count"))
                        .await
                        .parse::<usize>()
                        .unwrap()
                }
            };
            let closed = api_count(&base, &admin, "/api/v1/filters/stca2-port-closed").await;
            let all = api_count(&base, &admin, "/api/v1/recommendations/failover").await;
            let ready = api_count(
                &base,
                &admin,
                "/api/v1/recommendations/failover?recommendation=configure_secondary",
            )
            .await;
            assert_eq!((closed, all), (2, 6));
            assert_eq!(count("closed").await, closed);
            assert_eq!(count("reporting").await, all);
            assert_eq!(count("secondary").await, ready);
            assert_eq!(count("interception").await, 1);
            assert_eq!(count("old-ca").await, 1);
            assert_eq!(count("silent").await, 1);
            screenshot(&c, &format!("console-{}-dashboard", db.name)).await;

            // Each number links to its list.
            c.find(Locator::Id("count-silent"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            wait_query(&c, "silencieuses").await;
            assert!(text(&c, "#list tbody").await.contains("p-silent"));

            // "Port STCA2 non ouvert": the blocked probes, narrowed by merchant.
            c.goto(&format!("{base}/")).await.unwrap();
            c.find(Locator::Id("count-closed"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            assert_eq!(
                wait_path(&c, "/filtres/port-stca2-non-ouvert").await,
                "/filtres/port-stca2-non-ouvert"
            );
            let rows = c.find_all(Locator::Css("tr.probe-row")).await.unwrap();
            assert_eq!(rows.len(), 2);
            let body = text(&c, "#list tbody").await;
            assert!(
                body.contains("p-blocked-1") && body.contains("p-blocked-2"),
                "{body}"
            );
            assert!(
                body.contains("203.0.113.7"),
                "the public IP is shown: {body}"
            );
            // "Ce qui bloque" is worded from the report's facts in the
            // page's language, not the stored English sentence.
            assert!(
                body.contains("La box du commerçant bloque")
                    && !body.contains("The merchant's router"),
                "{body}"
            );
            c.find(Locator::Id("merchant"))
                .await
                .unwrap()
                .send_keys("m-A")
                .await
                .unwrap();
            c.find(Locator::Id("filter"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            let query = wait_query(&c, "merchant=m-A").await;
            assert!(query.contains("merchant=m-A"), "{query}");
            let body = text(&c, "#list tbody").await;
            assert_eq!(
                c.find_all(Locator::Css("tr.probe-row"))
                    .await
                    .unwrap()
                    .len(),
                1
            );
            assert!(
                body.contains("p-blocked-1") && !body.contains("p-blocked-2"),
                "{body}"
            );
            screenshot(&c, &format!("console-{}-blocked", db.name)).await;

            // A probe's page: chain, family, history and latency chart.
            c.find(Locator::LinkText("p-blocked-1"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            assert_eq!(
                wait_path(&c, "/sondes/p-blocked-1").await,
                "/sondes/p-blocked-1"
            );
            let chains = text(&c, "#chains").await;
            assert!(
                chains.contains("CN=Lab STCA2 Issuing CA") && chains.contains("STCA2"),
                "{chains}"
            );
            assert_eq!(
                c.find_all(Locator::Css("#timeline li"))
                    .await
                    .unwrap()
                    .len(),
                5
            );
            assert_eq!(
                c.find_all(Locator::Css("#timeline li.closed"))
                    .await
                    .unwrap()
                    .len(),
                3
            );
            let state = text(&c, "#state-since").await;
            assert!(state.contains("2 rapports"), "{state}");
            let note = text(&c, "#state-note").await;
            assert!(
                note.starts_with("Rapport du ") && note.contains("qui a ouvert cet état"),
                "{note}"
            );
            let since = state.split(" · ").next().unwrap_or_default();
            assert!(
                !since.is_empty() && note.contains(since),
                "{note} / {state}"
            );
            let chart = c
                .find(Locator::Css("#latency-chart polyline.connect"))
                .await
                .unwrap();
            let points = chart.attr("points").await.unwrap().unwrap_or_default();
            assert_eq!(
                points.split(' ').count(),
                2,
                "the two open reports measured a connect time: {points}"
            );
            assert!(text(&c, "#public-ip").await.contains("203.0.113.7"));
            assert!(text(&c, "#raw").await.contains("\"report_id\""));
            screenshot(&c, &format!("console-{}-probe", db.name)).await;

            // Signing out ends the session.
            c.find(Locator::Css(".signout button"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            assert_eq!(wait_path(&c, "/connexion").await, "/connexion");
            c.goto(&format!("{base}/")).await.unwrap();
            assert_eq!(wait_path(&c, "/connexion").await, "/connexion");
            c.close().await.unwrap();

            // English when the browser asks for it.
            let en = browser(&driver_url, "en-US").await;
            signed_in(&en, &base, &admin).await;
            assert_eq!(text(&en, "h1").await, "Dashboard");
            screenshot(&en, &format!("console-{}-dashboard-en", db.name)).await;
            en.close().await.unwrap();
            srv.stop().await;
            db
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_exports_the_list_and_its_campaigns() {
    let Some(d) = driver("console_exports_the_list_and_its_campaigns") else {
        return;
    };
    each_backend("console_exports", |db| {
        let driver_url = d.url.clone();
        async move {
            let mut reports: Vec<Report> = (0..2001)
                .map(|i| {
                    field_report(
                        &format!("c-{i:05}"),
                        "m-C",
                        Kind::Blocked,
                        minutes_ago(5),
                        9.0,
                    )
                })
                .collect();
            reports.push(field_report(
                "d-1",
                "m-D",
                Kind::Blocked,
                minutes_ago(5),
                9.0,
            ));
            reports.push(field_report(
                "c-ready",
                "m-C",
                Kind::Ready,
                minutes_ago(5),
                9.0,
            ));
            store_reports(&db.store, &reports).await;
            let admin = token(&db.store, None, None).await;
            let srv = start(&db.store, "127.0.0.1:0", &[]).await;
            let base = srv.base.clone();
            let c = browser(&driver_url, "fr-FR").await;
            signed_in(&c, &base, &admin).await;
            c.goto(&format!(
                "{base}/filtres/port-stca2-non-ouvert?merchant=m-C"
            ))
            .await
            .unwrap();
            c.find(Locator::Id("export"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            assert_eq!(wait_path(&c, "/exports").await, "/exports");
            assert!(text(&c, "#export-count").await.contains("2001"));
            let parts = c.find_all(Locator::Css("a.part")).await.unwrap();
            assert_eq!(parts.len(), 2, "2,001 terminals make two campaign files");
            screenshot(&c, &format!("console-{}-exports", db.name)).await;
            let mut seen = Vec::new();
            for (k, part) in parts.iter().enumerate() {
                let href = part.attr("href").await.unwrap().unwrap();
                let (status, disposition, body) = fetch(&c, &href).await;
                assert_eq!(status, 200, "{body}");
                assert!(
                    disposition.contains("-m-C-")
                        && disposition.contains(&format!("{}-sur-2.csv", k + 1)),
                    "{disposition}"
                );
                let mut r = csv::Reader::from_reader(body.as_bytes());
                let probes: Vec<String> = r.records().map(|x| x.unwrap()[1].to_string()).collect();
                assert_eq!(probes.len(), if k == 0 { 2000 } else { 1 });
                seen.extend(probes);
            }
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), 2001);
            assert!(
                seen.iter().all(|p| p.starts_with("c-0")),
                "only m-C's blocked probes"
            );

            let href = c
                .find(Locator::Id("isp-csv"))
                .await
                .unwrap()
                .attr("href")
                .await
                .unwrap()
                .unwrap();
            let (status, disposition, body) = fetch(&c, &href).await;
            assert_eq!(status, 200);
            assert!(disposition.contains("isp.csv"));
            let mut r = csv::Reader::from_reader(body.as_bytes());
            let col = r
                .headers()
                .unwrap()
                .iter()
                .position(|h| h == "probe_id")
                .unwrap();
            let mut probes: Vec<String> =
                r.records().map(|x| x.unwrap()[col].to_string()).collect();
            probes.sort();
            probes.dedup();
            assert_eq!(
                probes.len(),
                2001,
                "one report of each blocked probe of m-C"
            );
            assert!(probes.iter().all(|p| p.starts_with("c-0")));
            c.close().await.unwrap();
            srv.stop().await;
            db
        }
    })
    .await;
}

/// A page of another origin (same host, another port) that posts a form to the console.
async fn attacker(target: &str) -> (String, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let page = format!(
        "<!DOCTYPE html><form id=f method=post action=\"{target}/jetons\">\
         <input name=kind value=admin><input name=csrf value=guessed>\
         <button id=go type=submit>win a prize</button></form>"
    );
    let task = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = l.accept().await {
            let mut buf = [0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
        }
    });
    (format!("http://{addr}"), task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_issues_and_revokes_tokens_and_refuses_forged_posts() {
    let Some(d) = driver("console_issues_and_revokes_tokens_and_refuses_forged_posts") else {
        return;
    };
    each_backend("console_tokens", |db| {
        let driver_url = d.url.clone();
        async move {
            let admin = token(&db.store, None, None).await;
            let srv = start(&db.store, "127.0.0.1:0", &[]).await;
            let base = srv.base.clone();
            let c = browser(&driver_url, "fr-FR").await;
            signed_in(&c, &base, &admin).await;
            c.goto(&format!("{base}/jetons")).await.unwrap();
            c.find(Locator::Id("kind"))
                .await
                .unwrap()
                .select_by_value("probe")
                .await
                .unwrap();
            c.find(Locator::Id("probe"))
                .await
                .unwrap()
                .send_keys("p-new")
                .await
                .unwrap();
            c.find(Locator::Id("issue"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            let issued = text(&c, "#issued-token").await;
            assert!(issued.starts_with("stca2_"), "{issued}");
            assert!(
                !c.current_url().await.unwrap().as_str().contains(&issued),
                "no token in the URL"
            );
            let row = db
                .store
                .find_token(&hash_token(&issued))
                .await
                .unwrap()
                .expect("stored");
            assert_eq!(
                (row.kind.as_str(), row.probe_id.as_deref()),
                ("probe", Some("p-new"))
            );
            screenshot(&c, &format!("console-{}-token-issued", db.name)).await;
            c.goto(&format!("{base}/jetons")).await.unwrap();
            assert!(
                c.find_all(Locator::Id("issued-token"))
                    .await
                    .unwrap()
                    .is_empty(),
                "shown once"
            );

            let id: String = hash_token(&issued).chars().take(12).collect();
            c.find(Locator::Css(&format!("#token-{id} button.revoke")))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            assert_eq!(wait_path(&c, "/jetons").await, "/jetons");
            assert!(!text(&c, &format!("#token-{id} .revoked")).await.is_empty());
            assert!(
                db.store
                    .find_token(&hash_token(&issued))
                    .await
                    .unwrap()
                    .is_none(),
                "revoked"
            );

            // A page of another origin posting to the console is refused,
            // though the browser is signed in.
            let before = db.store.list_tokens().await.unwrap().len();
            let (evil, task) = attacker(&base).await;
            c.goto(&format!("{evil}/")).await.unwrap();
            c.find(Locator::Id("go"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            // The click returns once the POST is sent: wait for the answer
            // (bounded) before reading it and counting tokens.
            let refused = c
                .wait()
                .at_most(Duration::from_secs(10))
                .for_element(Locator::Css("#error, #token"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap_or_default();
            screenshot(&c, &format!("console-{}-forged-post", db.name)).await;
            assert_eq!(
                db.store.list_tokens().await.unwrap().len(),
                before,
                "nothing issued: {refused}"
            );
            task.abort();
            c.close().await.unwrap();
            srv.stop().await;
            db
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_shows_a_hostile_certificate_as_text() {
    let Some(d) = driver("console_shows_a_hostile_certificate_as_text") else {
        return;
    };
    each_backend("console_hostile", |db| {
        let driver_url = d.url.clone();
        async move {
            let mut r = field_report("p-hostile", "<i>m</i>", Kind::Intercepted, minutes_ago(1), 9.0);
            let subject = "CN=<script>window.__pwned=1</script>,O=\"><img src=x onerror=\"window.__pwned=2\">,OU=\u{202e}gnp.exe";
            r.results[0].tls.as_mut().unwrap().chain[0].subject = subject.into();
            r.results[0].tls.as_mut().unwrap().detail = Some("<script>window.__pwned=3</script>".into());
            store_reports(&db.store, &[r]).await;
            let admin = token(&db.store, None, None).await;
            let srv = start(&db.store, "127.0.0.1:0", &[]).await;
            let base = srv.base.clone();
            let c = browser(&driver_url, "fr-FR").await;
            signed_in(&c, &base, &admin).await;
            c.goto(&format!("{base}/sondes/p-hostile")).await.unwrap();
            let shown = text(&c, "#chains .subject").await;
            assert!(shown.contains("<script>window.__pwned=1</script>"), "visible as text: {shown}");
            assert!(shown.contains("onerror=\"window.__pwned=2\">"), "{shown}");
            assert!(shown.contains("\\u{202e}") && !shown.contains('\u{202e}'), "the override is shown, not obeyed: {shown}");
            assert!(c.find_all(Locator::Css("main img, main script")).await.unwrap().is_empty());
            let pwned = c.execute("return typeof window.__pwned", vec![]).await.unwrap();
            assert_eq!(pwned, json!("undefined"), "no injected script ran");
            screenshot(&c, &format!("console-{}-hostile", db.name)).await;
            c.goto(&format!("{base}/sondes?liste=interception")).await.unwrap();
            assert!(text(&c, "#list tbody").await.contains("<i>m</i>"));
            let pwned = c.execute("return typeof window.__pwned", vec![]).await.unwrap();
            assert_eq!(pwned, json!("undefined"));

            // The headers that keep it so.
            let resp = client(None).get(format!("{base}/connexion")).send().await.unwrap();
            let h = resp.headers();
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
            assert_eq!(h["x-content-type-options"], "nosniff");
            c.close().await.unwrap();
            srv.stop().await;
            db
        }
    })
    .await;
}

/// The session cookies are `Secure` when the browser speaks HTTPS: to a
/// proxy in front of `serve` that is trusted and says so with
/// `X-Forwarded-Proto: https`; the same header from anyone else changes
/// nothing. (HTTP only: no browser needed.)
#[tokio::test]
async fn cookies_are_secure_behind_a_trusted_tls_proxy_only() {
    let db = crate::util::backoffice::sqlite().await;
    let cookie = |srv: &crate::util::backoffice::TestServer, proto: Option<&'static str>| {
        let url = format!("{}/connexion", srv.base);
        async move {
            let mut req = client(None).get(url);
            if let Some(p) = proto {
                req = req.header("x-forwarded-proto", p);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200);
            resp.headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect::<Vec<_>>()
                .join("\n")
        }
    };
    let trusting = start(&db.store, "127.0.0.1:0", &["127.0.0.0/8"]).await;
    let c = cookie(&trusting, Some("https")).await;
    assert!(c.contains("HttpOnly") && c.contains("; Secure"), "{c}");
    let c = cookie(&trusting, Some("http")).await;
    assert!(c.contains("HttpOnly") && !c.contains("Secure"), "{c}");
    let c = cookie(&trusting, None).await;
    assert!(!c.contains("Secure"), "{c}");
    trusting.stop().await;
    let direct = start(&db.store, "127.0.0.1:0", &[]).await;
    let c = cookie(&direct, Some("https")).await;
    assert!(
        c.contains("HttpOnly") && !c.contains("Secure"),
        "a client's own header: {c}"
    );
    direct.stop().await;
}
