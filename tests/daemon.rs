//! The probe daemon end to end: its configuration through the binary, its
//! cycles against the in-process lab, its uploads to a real back office
//! (`stca2_backoffice::Server` on SQLite) and to a scripted, misbehaving
//! one (a few lines of HTTP/1.1 below), its `/metrics` read by a strict
//! parser of the Prometheus text format.
//!
//! Every lab takes its own pair of loopback addresses from the tests' one
//! allocator (`util::net`); back offices listen on 127.0.0.1. Nothing here
//! leaves 127.0.0.0/8.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use stca2_daemon::spool::{QUARANTINE_DIR, Spool};
use stca2_lab::{Lab, LabConfig, Scenario};
use stca2_report::Recommendation;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::util::backoffice::{self as bo, at};
use crate::util::cli::{bin, write};

pub(crate) const PROBE: &str = "shop-0042";

/// A healthy lab on a loopback pair of its own, and its target file in `dir`.
pub(crate) async fn lab(dir: &Path) -> (Lab, PathBuf) {
    lab_of(dir, "healthy").await
}

/// The lab `scenario` on a loopback pair of its own (`util::net`), and its
/// target file in `dir`.
pub(crate) async fn lab_of(dir: &Path, scenario: &str) -> (Lab, PathBuf) {
    let mut config = LabConfig::new(Scenario::named(scenario).unwrap());
    (config.primary, config.secondary) = crate::util::net::network().sites();
    config.ca_dir = dir.join("lab-ca");
    let lab = Lab::start(config).await.unwrap();
    let target_file = dir.join("lab.toml");
    lab.write_target_file(&target_file).unwrap();
    (lab, target_file)
}

/// A daemon configuration in `dir`: the lab's targets, a 1 s interval, a
/// spool in `dir/spool`, then `extra` lines (keys, or an `[upload]` table).
/// Checks get 10 s and 2 attempts: on a loaded 2-core CI machine a 2 s
/// single attempt can time out against a healthy lab.
pub(crate) fn config(dir: &Path, targets: &Path, extra: &str) -> PathBuf {
    let text = format!(
        "probe_id = \"{PROBE}\"\nmerchant = \"m-1\"\ntargets = {:?}\nallow = [\"127.0.0.0/8\"]\n\
         interval = \"1s\"\njitter = \"100ms\"\ntimeout = \"10s\"\nattempts = 2\nspool_dir = \"spool\"\n{extra}",
        targets.display().to_string()
    );
    PathBuf::from(write(dir, "daemon.toml", &text))
}

/// An `[upload]` table to `base` (`http://addr`) with the token in `dir/token`.
pub(crate) fn upload(dir: &Path, base: &str, token: &str, batch: usize) -> String {
    write(dir, "token", &format!("{token}\n"));
    format!(
        "[upload]\nurl = \"{base}/\"\ntoken_file = \"token\"\nbatch = {batch}\ntimeout = \"3s\"\n"
    )
}

/// The spool's entries (file names), oldest first. Read as a scraper
/// would, not with `Spool::open`, which cleans a running writer's
/// temporary files.
pub(crate) fn spooled(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("spool"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub(crate) fn quarantined(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("spool").join(QUARANTINE_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Puts `n` reports of `PROBE`, started yesterday, in the spool: a backlog.
pub(crate) fn backlog(dir: &Path, n: usize) -> Vec<String> {
    let mut spool = Spool::open(&dir.join("spool"), 1 << 40, Duration::from_secs(1 << 30)).unwrap();
    (0..n)
        .map(|i| {
            let mut r = bo::report(
                PROBE,
                &stca2_report::new_report_id(),
                at(i as i64),
                false,
                Recommendation::None,
            );
            spool.put(&mut r, std::time::SystemTime::now()).unwrap();
            r.report_id
        })
        .collect()
}

/// Puts backlog reports in the spool until it holds at least `bytes`.
fn fill(dir: &Path, bytes: u64) {
    while Spool::open(&dir.join("spool"), 1 << 40, Duration::from_secs(1 << 30))
        .unwrap()
        .stats()
        .unwrap()
        .bytes
        < bytes
    {
        backlog(dir, 1);
    }
}

/// `stca2-probe daemon ARGS`, off the async runtime.
async fn daemon(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || bin().arg("daemon").args(&args).output().unwrap())
        .await
        .unwrap()
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Polls `cond` every 100 ms for up to `limit`.
pub(crate) async fn eventually(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The exit code of `--once` in a test about uploads: the check's verdict
/// (0 ready, 1 a problem found: a loaded machine may time a check out) is
/// not what is tested.
fn checked(out: &Output) {
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}: {}",
        out.status,
        text(&out.stderr)
    );
}

/// A back office's address that stays bound for the whole test: while
/// closed it hangs up on every connection (a back office that is down),
/// once opened it relays to the real one. A port released and bound again
/// later could be taken meanwhile by another test running in parallel.
struct Gate {
    base: String,
    to: Arc<Mutex<Option<SocketAddr>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Gate {
    async fn start() -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let to = Arc::new(Mutex::new(None::<SocketAddr>));
        let target = to.clone();
        let task = tokio::spawn(async move {
            let mut relays = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let Some(to) = *target.lock().unwrap() else {
                    continue; // dropped: the connection is closed
                };
                relays.spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await else {
                        return;
                    };
                    let _ = tokio::time::timeout(
                        Duration::from_secs(60),
                        tokio::io::copy_bidirectional(&mut inbound, &mut outbound),
                    )
                    .await;
                });
            }
        });
        Gate { base, to, task }
    }

    /// From now on, relays to `to`.
    fn open(&self, to: SocketAddr) {
        *self.to.lock().unwrap() = Some(to);
    }
}

/// The daemon in-process: `stca2_daemon::run` with a stop switch and a
/// reload button (what SIGTERM and SIGHUP do in the binary).
pub(crate) struct Running {
    /// Where `/metrics` is served (`metrics_listen`, port 0 allowed).
    metrics: Option<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    reload: tokio::sync::mpsc::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub(crate) async fn start(config: &Path) -> Running {
    let ceiling = stca2_daemon::ceiling().unwrap();
    // Fail closed: outside cargo (no .cargo/config.toml) nothing here runs.
    assert!(
        ceiling.is_some(),
        "STCA2_PROBE_ALLOW must be set (cargo sets it from .cargo/config.toml)"
    );
    let plan = stca2_daemon::load(config, ceiling.clone()).unwrap();
    let listener = stca2_daemon::bind_metrics(&plan.config).await.unwrap();
    let metrics = listener.as_ref().map(|l| l.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (reload, reload_rx) = tokio::sync::mpsc::channel(1);
    let task = tokio::spawn(async move {
        stca2_daemon::run(plan, ceiling, listener, reload_rx, async move {
            let _ = stopped.await;
        })
        .await
    });
    Running {
        metrics,
        stop: Some(stop),
        reload,
        task,
    }
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(15), &mut self.task)
            .await
            .expect("the daemon stops within its grace period")
            .unwrap()
            .unwrap();
    }
}

// ---- a scripted back office -------------------------------------------

/// In a script: accept the request and never answer.
const HANG: u16 = 0;
/// In a script: close the connection instead of answering.
const CLOSE: u16 = 1;

/// An HTTP/1.1 back office that answers from a script (status, body, or
/// [`HANG`] or [`CLOSE`]),
/// then 200, and records every request's JSON body. With `token` set, a
/// request with another bearer token gets a 401 instead.
pub(crate) struct Scripted {
    base: String,
    requests: Arc<Mutex<Vec<Value>>>,
    token: Arc<Mutex<Option<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Scripted {
    async fn start(script: Vec<(u16, String)>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let recorded = requests.clone();
        let token = Arc::new(Mutex::new(None::<String>));
        let accepted = token.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let (recorded, script) = (recorded.clone(), script.clone());
                let accepted = accepted.lock().unwrap().clone();
                tokio::spawn(async move {
                    let Some((head, body)) = read_request(&mut s).await else {
                        return;
                    };
                    let refused = accepted.is_some_and(|t| {
                        !head.contains(&format!("authorization: bearer {}", t.to_ascii_lowercase()))
                    });
                    let v: Value = serde_json::from_slice(&body).unwrap();
                    let n = v["reports"].as_array().map_or(0, Vec::len);
                    recorded.lock().unwrap().push(v);
                    let scripted = if refused {
                        Some((
                            401,
                            error_body("unauthorized", "unknown or revoked token", ""),
                        ))
                    } else {
                        script.lock().unwrap().pop_front()
                    };
                    match scripted.as_ref().map(|(status, _)| *status) {
                        Some(HANG) => {
                            tokio::time::sleep(Duration::from_secs(60)).await;
                            return;
                        }
                        Some(CLOSE) => return,
                        _ => {}
                    }
                    let (status, answer) = scripted.unwrap_or((
                        200,
                        format!(r#"{{"received":{n},"stored":{n},"duplicates":0,"public_ip":"127.0.0.1"}}"#),
                    ));
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    let _ = s.write_all(resp.as_bytes()).await;
                    let _ = s.shutdown().await;
                });
            }
        });
        Scripted {
            base,
            requests,
            token,
            task,
        }
    }

    /// The report ids of each request, in order.
    fn batches(&self) -> Vec<Vec<String>> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|v| {
                v["reports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["report_id"].as_str().unwrap().to_string())
                    .collect()
            })
            .collect()
    }
}

/// Reads one request: its head (lowercase) and its Content-Length body.
async fn read_request(s: &mut tokio::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            while data.len() < end + 4 + len {
                let n = s.read(&mut buf).await.ok()?;
                if n == 0 {
                    return None;
                }
                data.extend_from_slice(&buf[..n]);
            }
            return Some((head, data[end + 4..end + 4 + len].to_vec()));
        }
        let n = s.read(&mut buf).await.ok()?;
        if n == 0 || data.len() > 16 << 20 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
}

/// What most upload tests start from: a lab, a spool already holding
/// `backlog_n` reports (their ids, oldest first), a back office answering
/// with `script`, and a daemon configuration uploading to it in batches of
/// `batch`.
struct Scene {
    dir: tempfile::TempDir,
    _lab: Lab,
    ids: Vec<String>,
    office: Scripted,
    cfg: PathBuf,
}

async fn scene(backlog_n: usize, script: Vec<(u16, String)>, batch: usize) -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let (lab, targets) = lab(dir.path()).await;
    let ids = backlog(dir.path(), backlog_n);
    let office = Scripted::start(script).await;
    let cfg = config(
        dir.path(),
        &targets,
        &upload(dir.path(), &office.base, "t0k3n", batch),
    );
    Scene {
        dir,
        _lab: lab,
        ids,
        office,
        cfg,
    }
}

pub(crate) fn error_body(code: &str, message: &str, field: &str) -> String {
    serde_json::json!({"error": {"code": code, "message": message, "field": field}}).to_string()
}

// ---- the Prometheus text format, strictly -----------------------------

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// Parses the text format (version 0.0.4) strictly: every sample belongs
/// to a family declared by `# TYPE` before it, names and label names are
/// valid, label values use only the three escapes, values are numbers,
/// no series appears twice. Panics with the line on any violation.
pub(crate) fn parse_prometheus(text: &str) -> Vec<Sample> {
    let name_ok = |n: &str| {
        let mut c = n.chars();
        c.next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
            && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
    };
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name, arg) = (parts.next(), parts.next(), parts.next());
            match (kw, name, arg) {
                (Some("HELP"), Some(n), Some(_)) => assert!(name_ok(n), "{line}"),
                (Some("TYPE"), Some(n), Some(t)) => {
                    assert!(name_ok(n), "{line}");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t),
                        "{line}"
                    );
                    assert!(
                        types.insert(n.into(), t.into()).is_none(),
                        "TYPE twice: {line}"
                    );
                }
                _ => panic!("bad comment line: {line}"),
            }
            continue;
        }
        assert!(!line.is_empty(), "empty line");
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                (name.to_string(), parse_labels(body, line))
            }
        };
        assert!(name_ok(&name), "{line}");
        assert!(types.contains_key(&name), "no TYPE before {line}");
        for k in labels.keys() {
            assert!(name_ok(k) && !k.contains(':'), "bad label name: {line}");
        }
        assert!(seen.insert(series.to_string()), "series twice: {line}");
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

fn parse_labels(body: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "{line}");
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\\') => match chars.next() {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => panic!("bad escape {other:?}: {line}"),
                },
                Some('"') => break,
                Some('\n') | None => panic!("unterminated label value: {line}"),
                Some(c) => value.push(c),
            }
        }
        assert!(labels.insert(key, value).is_none(), "label twice: {line}");
        match chars.next() {
            Some(',') | None => {}
            other => panic!("expected , or end, got {other:?}: {line}"),
        }
    }
    labels
}

pub(crate) async fn scrape(addr: SocketAddr) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut resp = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut resp))
        .await
        .unwrap()
        .unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    body.to_string()
}

pub(crate) fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

// ---- the tests ----------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn check_config_prints_settings_or_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let (_lab, targets) = lab(dir.path()).await;
    let good = config(
        dir.path(),
        &targets,
        "metrics_listen = \"127.0.0.1:9146\"\n",
    );
    let out = daemon(&["--config", good.to_str().unwrap(), "--check-config"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    for line in [
        "probe_id = \"shop-0042\"",
        "interval = \"1s\"",
        "spool_max_bytes = 67108864",
        "spool_max_age = \"30days\"",
        "[upload] (none",
        "sites x 2 ports",
    ] {
        assert!(shown.contains(line), "{line} in:\n{shown}");
    }
    // An unknown key, a bad duration: exit 2 with file:line:column.
    let path = good.display().to_string();
    for (extra, at, msg) in [
        ("colour = \"red\"\n", ":10:1: ", "unknown field `colour`"),
        ("spool_max_age = \"a week\"\n", ":10:17: ", "not a duration"),
        (
            "[upload]\nurl = \"http://127.0.0.1:1/\"\ntoken_file = \"t\"\nbatch = 5000\n",
            ":13:9: ",
            "batch must be from 1 to 1000",
        ),
    ] {
        let bad = config(dir.path(), &targets, extra);
        let out = daemon(&["--config", bad.to_str().unwrap(), "--check-config"]).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra}: {err}");
        assert!(err.contains(&format!("{path}{at}")), "{extra}: {err}");
        assert!(err.contains(msg), "{extra}: {err}");
    }
    // A target outside STCA2_PROBE_ALLOW: refused before anything is sent.
    let far = write(
        dir.path(),
        "far.toml",
        "name = \"far\"\n[[site]]\nname = \"x\"\nrole = \"primary\"\naddress = \"192.0.2.45\"\n[[port]]\nnumber = 1146\nservice = \"stca2\"\n",
    );
    let text_cfg = format!(
        "probe_id = \"p\"\ntargets = {far:?}\nallow = [\"192.0.2.0/24\"]\nspool_dir = \"spool\"\n"
    );
    let refused = write(dir.path(), "far-daemon.toml", &text_cfg);
    let out = daemon(&["--config", &refused, "--check-config"]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("STCA2_PROBE_ALLOW") && err.contains("nothing was sent"),
        "{err}"
    );
    // A back office outside STCA2_PROBE_ALLOW, or named by a host name
    // (a DNS query): refused by --check-config and --once alike.
    for (url, says) in [
        (
            "https://192.0.2.7:8080",
            "192.0.2.7 is outside STCA2_PROBE_ALLOW",
        ),
        ("https://backoffice.example.net", "names a host"),
    ] {
        let far = config(dir.path(), &targets, &upload(dir.path(), url, "t0k3n", 10));
        for mode in ["--check-config", "--once"] {
            let out = daemon(&["--config", far.to_str().unwrap(), mode]).await;
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{url} {mode}: {err}");
            assert!(
                err.contains(says) && err.contains("nothing was sent"),
                "{url} {mode}: {err}"
            );
            assert!(!dir.path().join("spool").exists(), "no cycle ran: {mode}");
        }
    }
    // A ca_file that holds no certificate: refused before anything runs.
    write(dir.path(), "not-a-ca.pem", "hello\n");
    let bad_ca = config(
        dir.path(),
        &targets,
        &format!(
            "{}ca_file = \"not-a-ca.pem\"\n",
            upload(dir.path(), "https://127.0.0.1:1", "t0k3n", 10)
        ),
    );
    let out = daemon(&["--config", bad_ca.to_str().unwrap(), "--check-config"]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not-a-ca.pem") && err.contains("no usable CA"),
        "{err}"
    );
    // The packaged example (the built-in Lyra set) under the repository's
    // ceiling: refused, by --check-config and by --once, before any packet.
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/daemon.toml");
    for mode in ["--check-config", "--once"] {
        let out = daemon(&["--config", example, mode]).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{mode}: {err}");
        assert!(
            err.contains("194.50.38.45") && err.contains("nothing was sent"),
            "{mode}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn once_checks_the_lab_and_the_report_reaches_a_real_back_office() {
    let dir = tempfile::tempdir().unwrap();
    let (_lab, targets) = lab(dir.path()).await;
    let db = bo::sqlite().await;
    let server = bo::start(&db.store, "127.0.0.1:0", &[]).await;
    let token = bo::token(&db.store, Some(PROBE), Some("m-1")).await;
    let cfg = config(
        dir.path(),
        &targets,
        &upload(dir.path(), &server.base, &token, 100),
    );
    let out = daemon(&["--config", cfg.to_str().unwrap(), "--once"]).await;
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the healthy lab is ready: {err}"
    );
    assert!(!err.contains(&token), "the token never appears: {err}");
    assert!(
        spooled(dir.path()).is_empty(),
        "the spool is empty after a 2xx"
    );
    assert_eq!(db.store.count_reports().await.unwrap(), 1);
    let d = db.store.probe(PROBE).await.unwrap().unwrap();
    let (latest, body) = (d.latest, d.body);
    let report: stca2_report::Report = serde_json::from_str(&body.unwrap()).unwrap();
    assert_eq!(report.report_id, latest.report_id);
    assert_eq!(report.probe.merchant.as_deref(), Some("m-1"));
    assert_eq!(report.results.len(), 4, "2 sites x 2 ports");
    assert!(report.summary.ok, "{}", report.summary.headline);
    assert_eq!(report.probe.spool_dropped, None);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn back_office_down_for_cycles_then_up_every_report_once_oldest_first_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (lab, targets) = lab(dir.path()).await;
    let primary = lab
        .endpoints()
        .iter()
        .find(|e| e.role == stca2_report::Role::Primary)
        .map(|e| e.addr.ip().to_string())
        .unwrap();
    let db = bo::sqlite().await;
    let token = bo::token(&db.store, Some(PROBE), Some("m-1")).await;
    let gate = Gate::start().await;
    let cfg = config(
        dir.path(),
        &targets,
        &format!(
            "metrics_listen = \"127.0.0.1:0\"\n{}",
            upload(dir.path(), &gate.base, &token, 2)
        ),
    );
    let daemon = start(&cfg).await;
    let metrics = daemon.metrics.unwrap();
    // Down: reports pile up in the spool.
    eventually(Duration::from_secs(20), "4 reports spooled", || {
        spooled(dir.path()).len() >= 4
    })
    .await;
    let samples = parse_prometheus(&scrape(metrics).await);
    assert!(
        value(
            &samples,
            "stca2_probe_uploads_total",
            &[("outcome", "retry")]
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(
        value(
            &samples,
            "stca2_probe_last_upload_success_timestamp_seconds",
            &[]
        ),
        None
    );
    // Up: everything arrives. A reload resets the backoff (grown during
    // the down phase) and drains at once.
    let server = bo::start(&db.store, "127.0.0.1:0", &[]).await;
    gate.open(server.addr);
    daemon.reload.send(()).await.unwrap();
    eventually(Duration::from_secs(30), "the spool drained", || {
        spooled(dir.path()).is_empty()
    })
    .await;
    // The latest cycle on /metrics: every target checked successfully (a
    // loaded machine may time one out now and then: wait for a clean one).
    let deadline = Instant::now() + Duration::from_secs(60);
    let samples = loop {
        let samples = parse_prometheus(&scrape(metrics).await);
        let ok = samples
            .iter()
            .filter(|s| s.name == "probe_success" && s.value == 1.0)
            .count();
        if ok == 4 {
            break samples;
        }
        assert!(Instant::now() < deadline, "no cycle with 4 successes");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    daemon.stop().await;
    // Every check is in the back office once, or (a cycle that finished
    // after the last drain) still in the spool, never both.
    let checks = value(&samples, "stca2_probe_checks_total", &[]).unwrap() as usize;
    assert!(checks >= 4);
    let left = spooled(dir.path());
    // The back office counts every report it received once (it keeps the
    // body only of those that changed the probe's state, so its history
    // lists those and the latest: see the README's "Storage").
    let history = db.store.history(PROBE, 1000).await.unwrap();
    let mut ids: Vec<&str> = history.iter().map(|h| h.report_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), history.len(), "no report twice");
    let counted = db.store.count_reports().await.unwrap() as usize;
    assert!(
        counted + left.len() >= checks,
        "{counted} + {} < {checks}",
        left.len()
    );
    assert!(counted <= checks, "{counted} counted for {checks} checks");
    for name in &left {
        let text = std::fs::read_to_string(dir.path().join("spool").join(name)).unwrap();
        let r: stca2_report::Report = serde_json::from_str(&text).unwrap();
        assert!(
            !db.store
                .counted(
                    &r.probe.id,
                    &r.report_id,
                    stca2_backoffice::store::unix_ms(r.started_at)
                )
                .await
                .unwrap(),
            "{name} both stored and spooled"
        );
    }
    // Oldest first: in check order, receptions never go back in time.
    let mut by_start = history.clone();
    by_start.sort_by_key(|h| h.started_at);
    for w in by_start.windows(2) {
        assert!(w[0].received_at <= w[1].received_at, "{w:?}");
    }
    // The metrics: every name, with its labels, for every target.
    assert!(
        value(
            &samples,
            "stca2_probe_last_upload_success_timestamp_seconds",
            &[]
        )
        .unwrap()
            > 1.7e9
    );
    assert!(value(&samples, "stca2_probe_uploads_total", &[("outcome", "ok")]).unwrap() >= 1.0);
    let target = [
        ("site", "toulouse"),
        ("role", "primary"),
        ("address", primary.as_str()),
        ("port", "1146"),
        ("service", "stca2"),
    ];
    assert_eq!(value(&samples, "probe_success", &target), Some(1.0));
    assert_eq!(value(&samples, "stca2_probe_port_open", &target), Some(1.0));
    let mut declaration = target;
    declaration[3] = ("port", "7212");
    declaration[4] = ("service", "declaration");
    assert_eq!(value(&samples, "probe_success", &declaration), Some(1.0));
    for name in [
        "probe_success",
        "probe_duration_seconds",
        "probe_dns_lookup_time_seconds",
        "probe_ssl_earliest_cert_expiry",
        "probe_tls_version_info",
        "probe_ssl_last_chain_info",
        "stca2_probe_port_open",
        "stca2_probe_ca_family_info",
    ] {
        let series: Vec<&Sample> = samples.iter().filter(|s| s.name == name).collect();
        assert_eq!(series.len(), 4, "{name}: one per site x port");
        for s in series {
            for l in ["site", "role", "address", "port", "service"] {
                assert!(s.labels.contains_key(l), "{name} lacks {l}: {s:?}");
            }
        }
    }
    assert!(
        value(
            &samples,
            "probe_tls_version_info",
            &[("version", "TLS 1.3")]
        )
        .is_some()
            || value(
                &samples,
                "probe_tls_version_info",
                &[("version", "TLS 1.2")]
            )
            .is_some()
    );
    assert_eq!(
        value(
            &samples,
            "stca2_probe_ca_family_info",
            &[("family", "STCA2")]
        ),
        Some(1.0)
    );
    let chain = samples
        .iter()
        .find(|s| s.name == "probe_ssl_last_chain_info")
        .unwrap();
    assert_eq!(chain.labels["fingerprint_sha256"].len(), 64);
    assert!(!chain.labels["subject"].is_empty() && !chain.labels["issuer"].is_empty());
    assert!(value(&samples, "probe_ssl_earliest_cert_expiry", &target).unwrap() > 1.7e9);
    for name in [
        "stca2_probe_checks_total",
        "stca2_probe_cycles_skipped_total",
        "stca2_probe_spool_reports",
        "stca2_probe_spool_bytes",
        "stca2_probe_reports_dropped_total",
        "stca2_probe_reports_quarantined_total",
        "stca2_probe_quarantine_reports",
    ] {
        assert!(value(&samples, name, &[]).is_some(), "{name}");
    }
    assert!(scrape_text_has_no_token(&samples, &token));
    server.stop().await;
    db.cleanup().await;
}

fn scrape_text_has_no_token(samples: &[Sample], token: &str) -> bool {
    samples
        .iter()
        .all(|s| !s.labels.values().any(|v| v.contains(token)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_500_is_retried_then_the_report_arrives_once() {
    let Scene {
        dir: _dir,
        _lab,
        ids: _,
        office,
        cfg,
    } = scene(
        0,
        vec![(500, error_body("storage_error", "retry later", ""))],
        100,
    )
    .await;
    let daemon = start(&cfg).await;
    eventually(Duration::from_secs(20), "a retry after the 500", || {
        office.batches().len() >= 2
    })
    .await;
    daemon.stop().await;
    let batches = office.batches();
    assert_eq!(
        batches[0],
        batches[1][..batches[0].len()],
        "the same report again, first"
    );
    let mut all: Vec<String> = batches[1..].concat();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "nothing acknowledged is sent twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_413_halves_the_batch_in_order() {
    let Scene {
        dir,
        _lab,
        ids,
        office,
        cfg,
    } = scene(
        4,
        vec![(413, error_body("body_too_large", "smaller", ""))],
        4,
    )
    .await;
    let out = daemon(&["--config", cfg.to_str().unwrap(), "--once"]).await;
    checked(&out);
    let sizes: Vec<usize> = office.batches().iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        [4, 2, 2, 1],
        "4 refused, then halves; the new report last"
    );
    let sent: Vec<String> = office.batches()[1..].concat();
    assert_eq!(sent[..4], ids[..], "oldest first");
    assert!(spooled(dir.path()).is_empty());
}

/// A 408 is the back office's `body_too_slow` (the body did not arrive in
/// time: a slow or metered link): like a 413, a smaller batch gets through.
/// A lone report is not at fault, so it stays in the spool for the next
/// round, never quarantined.
#[tokio::test(flavor = "multi_thread")]
async fn a_408_halves_the_batch_in_order_and_a_lone_report_is_kept() {
    let too_slow = || {
        (
            408,
            error_body(
                "body_too_slow",
                "the body did not arrive within 60 s; send smaller batches",
                "",
            ),
        )
    };
    let ok = |n: usize| {
        (
            200,
            format!(r#"{{"received":{n},"stored":{n},"duplicates":0,"public_ip":"127.0.0.1"}}"#),
        )
    };
    let Scene {
        dir,
        _lab,
        ids,
        office,
        cfg,
    } = scene(4, vec![too_slow(), ok(2), ok(2), too_slow()], 4).await;
    let out = daemon_once(&cfg).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let sizes: Vec<usize> = office.batches().iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        [4, 2, 2, 1],
        "4 too slow, then halves; the new report last"
    );
    let sent: Vec<String> = office.batches()[1..3].concat();
    assert_eq!(sent[..], ids[..], "oldest first");
    let kept = spooled(dir.path());
    assert_eq!(
        kept.len(),
        1,
        "the lone report refused with 408 stays: {kept:?}"
    );
    assert!(quarantined_or_none(dir.path()).is_empty());
    // The next round sends it again, first, with the next cycle's.
    let out = daemon_once(&cfg).await;
    checked(&out);
    let batches = office.batches();
    assert_eq!(batches[4].len(), 2, "{batches:?}");
    assert_eq!(batches[4][0], batches[3][0]);
    assert!(spooled(dir.path()).is_empty());
    assert!(quarantined_or_none(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_stops_uploads_keeps_the_spool_and_a_new_token_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (_lab, targets) = lab(dir.path()).await;
    backlog(dir.path(), 2);
    let office = Scripted::start(Vec::new()).await;
    *office.token.lock().unwrap() = Some("new-token".into());
    let cfg = config(
        dir.path(),
        &targets,
        &upload(dir.path(), &office.base, "old-token", 100),
    );
    let daemon = start(&cfg).await;
    eventually(Duration::from_secs(10), "the 401", || {
        office.batches().len() == 1
    })
    .await;
    // Cycles go on, nothing more is sent, the spool grows.
    eventually(Duration::from_secs(20), "3 more cycles spooled", || {
        spooled(dir.path()).len() >= 5
    })
    .await;
    assert_eq!(office.batches().len(), 1, "no upload with a refused token");
    // A new token: uploads resume by themselves (the file is re-read).
    // Replaced whole (a rename), as an installer would: never read half written.
    write(dir.path(), "token.new", "new-token\n");
    std::fs::rename(dir.path().join("token.new"), dir.path().join("token")).unwrap();
    eventually(Duration::from_secs(20), "the spool drained", || {
        office.batches().len() >= 3 && spooled(dir.path()).len() <= 1
    })
    .await;
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_422_quarantines_the_named_report_and_the_rest_arrives() {
    let Scene {
        dir,
        _lab,
        ids,
        office,
        cfg,
    } = scene(
        3,
        vec![(
            422,
            error_body(
                "invalid_report",
                "finished_at is before started_at",
                "reports[1].finished_at",
            ),
        )],
        100,
    )
    .await;
    let out = daemon(&["--config", cfg.to_str().unwrap(), "--once"]).await;
    checked(&out);
    let batches = office.batches();
    assert_eq!(batches.len(), 2, "{batches:?}");
    assert_eq!(batches[0].len(), 4);
    assert_eq!(batches[1].len(), 3);
    assert!(
        !batches[1].contains(&ids[1]),
        "the refused report is not retried"
    );
    assert_eq!(batches[1][..2], [ids[0].clone(), ids[2].clone()]);
    let q = quarantined(dir.path());
    assert_eq!(q.len(), 2, "the report and its .why: {q:?}");
    assert!(q[0].contains(&ids[1]));
    let why =
        std::fs::read_to_string(dir.path().join("spool").join(QUARANTINE_DIR).join(&q[1])).unwrap();
    assert!(
        why.contains("422") && why.contains("finished_at is before started_at"),
        "{why}"
    );
    assert!(spooled(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_403_naming_one_report_quarantines_it_and_uploads_go_on() {
    let Scene {
        dir,
        _lab,
        ids,
        office,
        cfg,
    } = scene(
        3,
        vec![(
            403,
            error_body(
                "forbidden",
                "this token belongs to another probe",
                "reports[1].probe.id",
            ),
        )],
        100,
    )
    .await;
    let out = daemon_once(&cfg).await;
    checked(&out);
    let batches = office.batches();
    assert_eq!(batches.len(), 2, "the token is not blocked: {batches:?}");
    assert_eq!(batches[1][..2], [ids[0].clone(), ids[2].clone()]);
    let q = quarantined(dir.path());
    assert_eq!(q.len(), 2, "{q:?}");
    assert!(q[0].contains(&ids[1]));
    assert!(spooled(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2xx_that_is_not_the_back_offices_answer_deletes_nothing_and_once_exits_3() {
    // A captive portal's page, then an answer for another batch size.
    let Scene {
        dir,
        _lab,
        ids,
        office: _office,
        cfg,
    } = scene(
        2,
        vec![
            (200, "<html>Welcome to the shop's Wi-Fi</html>".into()),
            (200, r#"{"received":1,"stored":1,"duplicates":0}"#.into()),
        ],
        100,
    )
    .await;
    for _ in 0..2 {
        let out = daemon_once(&cfg).await;
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
        let left = spooled(dir.path());
        assert!(
            ids.iter().all(|id| left.iter().any(|n| n.contains(id))),
            "nothing deleted: {left:?}"
        );
    }
    // A real answer: the whole spool goes, exit 0 or 1 (the check's).
    let out = daemon_once(&cfg).await;
    checked(&out);
    assert!(spooled(dir.path()).is_empty());
    assert!(quarantined_or_none(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_future_timestamp_is_retried_not_quarantined() {
    let Scene {
        dir,
        _lab,
        ids,
        office,
        cfg,
    } = scene(
        2,
        vec![(
            422,
            error_body(
                "future_timestamp",
                "started_at is more than 10 minutes in the future; check the probe's clock (NTP)",
                "reports[0].started_at",
            ),
        )],
        100,
    )
    .await;
    let out = daemon_once(&cfg).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(quarantined_or_none(dir.path()).is_empty());
    let out = daemon_once(&cfg).await;
    checked(&out);
    let batches = office.batches();
    assert_eq!(batches.len(), 2, "{batches:?}");
    assert_eq!(batches[1][..2], ids[..], "the same reports, again");
    assert!(spooled(dir.path()).is_empty());
    assert!(quarantined_or_none(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn once_the_unnamed_culprit_is_found_batches_resume() {
    let Scene {
        dir,
        _lab,
        ids,
        office,
        cfg,
    } = scene(
        4,
        vec![
            (400, error_body("invalid_json", "a report is malformed", "")),
            (422, error_body("invalid_report", "malformed", "")),
        ],
        100,
    )
    .await;
    let out = daemon_once(&cfg).await;
    checked(&out);
    let sizes: Vec<usize> = office.batches().iter().map(Vec::len).collect();
    assert_eq!(
        sizes,
        [5, 1, 4],
        "refused unnamed, the oldest alone (the culprit), then the rest together"
    );
    assert!(quarantined(dir.path())[0].contains(&ids[0]));
    assert!(spooled(dir.path()).is_empty());
}

/// The quarantine's files; none when the folder was never made.
fn quarantined_or_none(dir: &Path) -> Vec<String> {
    if dir.join("spool").join(QUARANTINE_DIR).exists() {
        quarantined(dir)
    } else {
        Vec::new()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spool_over_its_cap_drops_the_oldest_and_the_count_reaches_the_back_office() {
    let dir = tempfile::tempdir().unwrap();
    let (_lab, targets) = lab(dir.path()).await;
    // No [upload]: the spool, filled to 64 KiB, drops at the first cycle.
    fill(dir.path(), 65536);
    let cfg = config(dir.path(), &targets, "spool_max_bytes = 65536\n");
    let daemon = start(&cfg).await;
    let dropped = dir.path().join("spool").join("dropped");
    eventually(Duration::from_secs(40), "a report dropped", || {
        dropped.exists()
    })
    .await;
    daemon.stop().await;
    let count: u64 = std::fs::read_to_string(&dropped)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(count >= 1);
    let size: u64 = std::fs::read_dir(dir.path().join("spool"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(size <= 65536, "{size}");
    // Uploads configured: the count reaches the back office.
    let db = bo::sqlite().await;
    let server = bo::start(&db.store, "127.0.0.1:0", &[]).await;
    let token = bo::token(&db.store, Some(PROBE), Some("m-1")).await;
    let cfg = config(
        dir.path(),
        &targets,
        &format!(
            "spool_max_bytes = 65536\n{}",
            upload(dir.path(), &server.base, &token, 100)
        ),
    );
    let out = daemon_once(&cfg).await;
    checked(&out);
    // The newest report's count, kept beside the state (a spool at its
    // bound drops one more report each cycle: not a change of state).
    let d = db.store.probe(PROBE).await.unwrap().unwrap();
    let reached = u64::try_from(d.spool_dropped.unwrap()).unwrap();
    // The state's report, with the count the back office took from a
    // newer one (the server validated that one on upload).
    let mut latest: Value = serde_json::from_str(&d.body.unwrap()).unwrap();
    latest["probe"]["spool_dropped"] = Value::from(reached);
    assert!(reached >= count, "{reached} >= {count}");
    // The extension is part of the v1 contract's schema.
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/reports/report.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&latest)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    server.stop().await;
    db.cleanup().await;
}

pub(crate) async fn daemon_once(cfg: &Path) -> Output {
    daemon(&["--config", cfg.to_str().unwrap(), "--once"]).await
}

/// A child process killed and reaped when the test ends, however it ends.
pub(crate) struct Reaped(pub(crate) std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_binary_with_exit_0_and_a_consistent_spool() {
    let dir = tempfile::tempdir().unwrap();
    // Site 2 swallows the handshake on 1146: every cycle lasts at least one
    // 10 s timeout, so the signal lands mid-cycle.
    let (_lab, targets) = lab_of(dir.path(), "mixed").await;
    let cfg = config(dir.path(), &targets, "");
    let mut child = Reaped(
        bin()
            .args(["daemon", "--config", cfg.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The first cycle starts within 1.1 s and cannot end before 10 s: the
    // signal lands mid-cycle and the cycle is abandoned.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(child.0.try_wait().unwrap().is_none(), "the daemon runs");
    // SAFETY: kill(2) on our own child, not yet reaped.
    assert_eq!(unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) }, 0);
    let signalled = Instant::now();
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        // The running cycle gets 7 s; the process is gone within 10 s.
        assert!(
            signalled.elapsed() <= stca2_daemon::SHUTDOWN_BOUND,
            "not stopped within the bound"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
    let names: Vec<String> = std::fs::read_dir(dir.path().join("spool"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    for e in spooled(dir.path()) {
        let data = std::fs::read(dir.path().join("spool").join(e)).unwrap();
        serde_json::from_slice::<stca2_report::Report>(&data).expect("whole reports only");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_then_closing_back_office_is_retried_within_bounds() {
    // [upload] timeout = 3s bounds the hanging request.
    let Scene {
        dir: _dir,
        _lab,
        ids,
        office,
        cfg,
    } = scene(2, vec![(HANG, String::new()), (CLOSE, String::new())], 100).await;
    let started = Instant::now();
    let daemon = start(&cfg).await;
    eventually(Duration::from_secs(30), "the backlog uploaded", || {
        office.batches().len() >= 3
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
    daemon.stop().await;
    let batches = office.batches();
    // The same oldest reports each time, until acknowledged.
    for b in &batches[..3] {
        assert_eq!(b[..2], ids[..], "{batches:?}");
    }
    let acknowledged: Vec<String> = batches[2..].concat();
    let mut unique = acknowledged.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        acknowledged.len(),
        "nothing acknowledged twice"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_takes_a_valid_configuration_and_refuses_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_lab, targets) = lab(dir.path()).await;
    let cfg = config(dir.path(), &targets, "");
    let daemon = start(&cfg).await;
    let merchant_of_newest = |dir: &Path| {
        let names = spooled(dir);
        let newest = names.last()?;
        let data = std::fs::read(dir.join("spool").join(newest)).ok()?;
        let r: stca2_report::Report = serde_json::from_slice(&data).ok()?;
        r.probe.merchant
    };
    eventually(Duration::from_secs(20), "a first report", || {
        merchant_of_newest(dir.path()).as_deref() == Some("m-1")
    })
    .await;
    // One spool, one writer: a --once beside the running daemon is refused.
    let out = daemon_once(&cfg).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("another stca2-probe daemon uses this spool"),
        "{err}"
    );
    // A valid change: later reports carry the new merchant.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("m-1", "m-2")).unwrap();
    daemon.reload.send(()).await.unwrap();
    eventually(Duration::from_secs(20), "the new merchant", || {
        merchant_of_newest(dir.path()).as_deref() == Some("m-2")
    })
    .await;
    // A broken file: refused, the running configuration goes on.
    std::fs::write(&cfg, "probe_id = \"x\"\nintervall = \"1s\"\n").unwrap();
    daemon.reload.send(()).await.unwrap();
    let before = spooled(dir.path()).len();
    eventually(Duration::from_secs(20), "cycles go on", || {
        spooled(dir.path()).len() >= before + 2
    })
    .await;
    assert_eq!(merchant_of_newest(dir.path()).as_deref(), Some("m-2"));
    daemon.stop().await;
}

/// `tls_every = 3`: the first cycle is full, the next two TCP-only, then
/// full again. Every report says what its sockets put on the wire; the
/// TCP-only ones say TLS `not_attempted`, cost a fraction of a full one,
/// and leave `probe_success` (from the last full check) at 1.
#[tokio::test(flavor = "multi_thread")]
async fn tls_every_alternates_full_and_tcp_only_cycles_and_counts_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (lab, targets) = lab(dir.path()).await;
    let cfg = config(
        dir.path(),
        &targets,
        "tls_every = 3\nmetrics_listen = \"127.0.0.1:0\"\n",
    );
    let d = start(&cfg).await;
    eventually(Duration::from_secs(60), "four cycles", || {
        spooled(dir.path()).len() >= 4
    })
    .await;
    let body = scrape(d.metrics.unwrap()).await;
    d.stop().await;
    lab.shutdown().await;

    let reports: Vec<stca2_report::Report> = spooled(dir.path())
        .iter()
        .map(|n| {
            let text = std::fs::read_to_string(dir.path().join("spool").join(n)).unwrap();
            stca2_report::Report::from_json(&text).unwrap()
        })
        .collect();
    let kinds: Vec<bool> = reports.iter().map(|r| r.tcp_only()).collect();
    assert_eq!(&kinds[..4], &[false, true, true, false], "{kinds:?}");
    let (full, tcp_only) = (&reports[0], &reports[1]);
    assert!(full.summary.ok, "{}", full.summary.headline);
    assert!(tcp_only.results.iter().all(|r| {
        r.tls.as_ref().map(|t| t.status) == Some(stca2_report::TlsStatus::NotAttempted)
    }));
    assert!(
        tcp_only.summary.findings.is_empty(),
        "{:?}",
        tcp_only.summary.findings
    );
    let (fw, tw) = (full.wire(), tcp_only.wire());
    assert!(fw.received > 4 * 1000, "four chains at least: {fw:?}");
    assert!(
        tw.total() > 0 && tw.total() * 5 < fw.total(),
        "{tw:?} vs {fw:?}"
    );
    assert!(full.results.iter().all(|r| r.wire.is_some()));

    let samples = parse_prometheus(&body);
    let sent = value(
        &samples,
        "stca2_probe_wire_bytes_total",
        &[("direction", "sent")],
    );
    let received = value(
        &samples,
        "stca2_probe_wire_bytes_total",
        &[("direction", "received")],
    );
    // At least the first full check and a TCP-only one were counted.
    assert!(sent.unwrap() >= (fw.sent + tw.sent) as f64, "{sent:?}");
    assert!(
        received.unwrap() >= (fw.received + tw.received) as f64,
        "{received:?}"
    );
    let checks = value(&samples, "stca2_probe_checks_total", &[]).unwrap();
    let success: Vec<f64> = samples
        .iter()
        .filter(|s| s.name == "probe_success")
        .map(|s| s.value)
        .collect();
    assert_eq!(success.len(), 4, "{body}");
    // Whatever the latest cycle was, probe_success comes from a full one.
    assert!(
        success.iter().all(|v| *v == 1.0),
        "after {checks} cycles: {body}"
    );
}
