//! The daemon in the field, through its binary: killed with SIGKILL at
//! random and at aimed moments, its spool on a full filesystem, SIGHUP and
//! SIGTERM, HTTPS to a back office behind a private CA. The back office is
//! a real `stca2-probe serve` child process on 127.0.0.1 over a SQLite
//! file; the gateways are the in-process lab on the tests' own loopback
//! addresses (`util::net`). Nothing here leaves 127.0.0.0/8.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::CString;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use stca2_daemon::spool::{DROPPED_FILE, QUARANTINE_DIR};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::daemon::{PROBE, Reaped, config, eventually, lab, spooled, text, upload};
use crate::util::cli::bin;

// ---- a real back office, as a child process -----------------------------

/// `stca2-probe serve` on 127.0.0.1:0 over a SQLite file, stopped by
/// SIGTERM (or killed, when the test fails first).
struct Serve {
    child: Reaped,
    /// `http://127.0.0.1:PORT` or `https://...`.
    base: String,
    database: String,
}

impl Serve {
    /// Issues a probe token for [`PROBE`] with `token issue` (the database
    /// is created on first use), then starts `serve`, HTTPS with `tls`
    /// (certificate chain, key).
    async fn start(dir: &Path, tls: Option<(&Path, &Path)>) -> (Serve, String) {
        let database = format!("sqlite://{}", dir.join("bo.db").display());
        let db = database.clone();
        let tls = tls.map(|(c, k)| (c.to_path_buf(), k.to_path_buf()));
        tokio::task::spawn_blocking(move || {
            let out = bin()
                .args(["token", "issue", "--database", &db, "--probe", PROBE])
                .args(["--merchant", "m-1"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", text(&out.stderr));
            let token = text(&out.stdout).trim().to_string();
            let mut cmd = bin();
            cmd.env_remove("RUST_LOG")
                .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
                .args(["--database", &db]);
            if let Some((cert, key)) = &tls {
                cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
            }
            let mut child = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let stderr = child.stderr.take().unwrap();
            let child = Reaped(child);
            // The start-up line names the address (the port is the kernel's).
            let mut seen = Vec::new();
            let mut lines = BufReader::new(stderr).lines();
            let base = loop {
                let Some(Ok(line)) = lines.next() else {
                    panic!("serve ended before listening: {seen:?}");
                };
                let v: Value = serde_json::from_str(&line).unwrap_or_default();
                if v["message"] == "listening" {
                    break v["url"].as_str().unwrap().to_string();
                }
                seen.push(line);
            };
            // Drained, so that a chatty server never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            (
                Serve {
                    child,
                    base,
                    database: db,
                },
                token,
            )
        })
        .await
        .unwrap()
    }

    /// SIGTERM, then the report ids it stored, each once (the store's
    /// primary key), read from the database file it closed.
    async fn stop_and_read(self) -> Vec<stca2_backoffice::store::HistoryRow> {
        self.stop_and_count(&BTreeSet::new(), 0).await.0
    }

    /// [`Serve::stop_and_read`], plus which of `ids` (reports started at
    /// or after `since_ms`) the back office received, stored whole or only
    /// counted in its hour (README, "Storage"), and how many reports it
    /// counted in all.
    async fn stop_and_count(
        mut self,
        ids: &BTreeSet<String>,
        since_ms: i64,
    ) -> (
        Vec<stca2_backoffice::store::HistoryRow>,
        BTreeSet<String>,
        i64,
    ) {
        use stca2_backoffice::store::{HOUR_MS, hour_of};
        signal(self.child.0.id(), libc::SIGTERM);
        let status = wait_exit(&mut self.child, Duration::from_secs(15)).await;
        assert!(status.success(), "serve: {status}");
        let store = stca2_backoffice::store::Store::connect(&self.database)
            .await
            .unwrap();
        let rows = store.history(PROBE, 100_000).await.unwrap();
        let now_ms = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        let mut received = BTreeSet::new();
        for id in ids {
            for hour in hour_of(since_ms)..=hour_of(now_ms) {
                if store.counted(PROBE, id, hour * HOUR_MS).await.unwrap() {
                    received.insert(id.clone());
                    break;
                }
            }
        }
        let total = store.count_reports().await.unwrap();
        store.close().await;
        (rows, received, total)
    }
}

/// kill(2) on a child of this test (not yet reaped).
fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a process this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, sig) }, 0);
}

/// Waits for the child to exit, at most `limit`.
async fn wait_exit(child: &mut Reaped, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            return s;
        }
        assert!(start.elapsed() < limit, "no exit within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// `stca2-probe --log-format json daemon --config CFG`, its log in `log`.
fn spawn_daemon(cfg: &Path, log: &Path) -> Reaped {
    Reaped(
        bin()
            .env_remove("RUST_LOG")
            .args(["--log-format", "json", "daemon", "--config"])
            .arg(cfg)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    )
}

/// A daemon log's events (one JSON object a line; a line cut by SIGKILL
/// is skipped).
fn events(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The report id in a spool entry's name, `<millis>-<report_id>.json`.
fn id_of(entry: &str) -> String {
    let stem = entry.strip_suffix(".json").unwrap_or(entry);
    stem.split_once('-').map_or(stem, |(_, id)| id).to_string()
}

/// Every `.json` entry is a whole report (atomic writes); their ids.
fn whole_entries(spool: &Path) -> Vec<String> {
    spooled(spool.parent().unwrap())
        .iter()
        .map(|name| {
            let data = std::fs::read(spool.join(name)).unwrap();
            let r: stca2_report::Report = serde_json::from_slice(&data)
                .unwrap_or_else(|e| panic!("{name} is not a whole report: {e}"));
            assert_eq!(id_of(name), r.report_id);
            r.report_id
        })
        .collect()
}

// ---- the SIGKILL test's instruments ---------------------------------------

/// Where a kill is aimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
enum Aim {
    /// Nothing: a kill at a random delay after the start.
    Random = 1,
    /// A report's temporary file just appeared in the spool.
    SpoolWrite,
    /// An upload's first bytes reached the back office's side.
    Request,
    /// The back office's answer was just handed to the daemon.
    Answer,
    /// An acknowledged entry is being deleted from the spool.
    Delete,
}

/// Kills the armed daemon when the event it is aimed at happens. The
/// instruments call [`Trigger::at`] where their event happens, so the
/// kill leaves from there, with no scheduling delay in between.
#[derive(Default)]
struct Trigger {
    pid: AtomicI32,
    aim: AtomicU8,
    /// A report's temporary file is in the spool (from inotify).
    writing: AtomicBool,
    /// A request went to the back office and its answer has not come back.
    uploading: AtomicBool,
}

impl Trigger {
    fn arm(&self, pid: u32, aim: Aim) {
        self.aim.store(aim as u8, Ordering::SeqCst);
        self.pid.store(pid as i32, Ordering::SeqCst);
    }

    /// `what` happens now: kills the daemon when armed for it.
    fn at(&self, what: Aim) -> bool {
        self.aim.load(Ordering::SeqCst) == what as u8 && self.fire()
    }

    /// Kills the armed daemon now, once; false when it was already killed.
    fn fire(&self) -> bool {
        let pid = self.pid.swap(0, Ordering::SeqCst);
        if pid == 0 {
            return false;
        }
        // SAFETY: kill(2) on the test's own child, not yet reaped (the test
        // reaps it only after the trigger is disarmed).
        unsafe { libc::kill(pid, libc::SIGKILL) };
        true
    }

    fn fired(&self) -> bool {
        self.pid.load(Ordering::SeqCst) == 0
    }

    /// What the daemon was doing, as far as the instruments saw.
    fn phase(&self) -> &'static str {
        match (
            self.writing.load(Ordering::SeqCst),
            self.uploading.load(Ordering::SeqCst),
        ) {
            (true, _) => "spool write",
            (_, true) => "upload",
            _ => "start, check or idle",
        }
    }
}

/// Watches the spool folder with inotify: every entry renamed into place
/// (every report the spool ever held), and the aimed moments.
struct Watch {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    held: Arc<Mutex<BTreeSet<String>>>,
    fd: i32,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // SAFETY: the descriptor inotify_init1 gave, closed once.
        unsafe { libc::close(self.fd) };
    }
}

impl Watch {
    fn start(dir: &Path, trigger: Arc<Trigger>) -> Watch {
        // SAFETY: plain system calls; the results are checked.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(
            fd >= 0,
            "inotify_init1: {}",
            std::io::Error::last_os_error()
        );
        let path = CString::new(dir.as_os_str().as_bytes()).unwrap();
        let mask = libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_MOVED_FROM | libc::IN_DELETE;
        // SAFETY: a valid descriptor and a NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(fd, path.as_ptr(), mask) };
        assert!(
            wd >= 0,
            "inotify_add_watch: {}",
            std::io::Error::last_os_error()
        );
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(BTreeSet::new()));
        let (stopping, record) = (stop.clone(), held.clone());
        let thread = std::thread::spawn(move || {
            let mut tmp: HashSet<String> = HashSet::new();
            let mut buf = vec![0u8; 64 * 1024];
            while !stopping.load(Ordering::SeqCst) {
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one pollfd, a bounded wait.
                if unsafe { libc::poll(&mut pfd, 1, 20) } <= 0 {
                    continue;
                }
                // SAFETY: reads into a buffer of the length given.
                let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
                let mut at = 0;
                while n > 0 && at + 16 <= n as usize {
                    let word =
                        |i: usize| u32::from_ne_bytes(buf[at + i..at + i + 4].try_into().unwrap());
                    let (mask, len) = (word(4), word(12) as usize);
                    let raw = &buf[at + 16..at + 16 + len];
                    let name = String::from_utf8_lossy(raw)
                        .trim_end_matches('\0')
                        .to_string();
                    at += 16 + len;
                    // A report's temporary file: `.<millis>-<id>.json.<pid>.tmp`.
                    let report_tmp = name.starts_with('.')
                        && name.ends_with(".tmp")
                        && name[1..].starts_with(|c: char| c.is_ascii_digit());
                    let entry = name.ends_with(".json") && !name.starts_with('.');
                    if mask & libc::IN_CREATE != 0 && report_tmp {
                        tmp.insert(name);
                        trigger.writing.store(true, Ordering::SeqCst);
                        trigger.at(Aim::SpoolWrite);
                    } else if mask & libc::IN_MOVED_TO != 0 && entry {
                        record.lock().unwrap().insert(id_of(&name));
                    } else if mask & libc::IN_DELETE != 0 && entry {
                        trigger.at(Aim::Delete);
                    } else if mask & (libc::IN_MOVED_FROM | libc::IN_DELETE) != 0 && report_tmp {
                        tmp.remove(&name);
                        trigger.writing.store(!tmp.is_empty(), Ordering::SeqCst);
                    }
                }
            }
        });
        Watch {
            stop,
            thread: Some(thread),
            held,
            fd,
        }
    }

    /// A temporary file a killed writer left (the next start removes it).
    fn forget_leftovers(&self, trigger: &Trigger) {
        trigger.writing.store(false, Ordering::SeqCst);
    }
}

/// A TCP relay in front of the back office that sees when a request goes
/// out and when its answer comes back (and kills there when aimed).
async fn relay(to: SocketAddr, trigger: Arc<Trigger>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let trigger = trigger.clone();
            tokio::spawn(async move {
                let Ok(outbound) = TcpStream::connect(to).await else {
                    return;
                };
                let (mut from_daemon, mut to_daemon) = inbound.into_split();
                let (mut from_office, mut to_office) = outbound.into_split();
                let t = trigger.clone();
                let up = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = from_daemon.read(&mut buf).await {
                        t.uploading.store(true, Ordering::SeqCst);
                        if t.at(Aim::Request) || to_office.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                    let _ = to_office.shutdown().await;
                };
                let down = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = from_office.read(&mut buf).await {
                        if to_daemon.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                        trigger.uploading.store(false, Ordering::SeqCst);
                        trigger.at(Aim::Answer);
                    }
                    let _ = to_daemon.shutdown().await;
                };
                let _ =
                    tokio::time::timeout(Duration::from_secs(60), async { tokio::join!(up, down) })
                        .await;
            });
        }
    });
    (base, task)
}

/// A uniformly random duration below `max`.
fn random_below(max: Duration) -> Duration {
    let r = stca2_daemon::upload::random_u64();
    Duration::from_nanos(r % max.as_nanos() as u64)
}

// ---- the tests --------------------------------------------------------------

/// How many times the SIGKILL test kills the daemon.
const KILLS: usize = 25;

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_random_and_aimed_moments_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_lab, targets) = lab(dir.path()).await;
    let (office, token) = Serve::start(dir.path(), None).await;
    let office_addr: SocketAddr = office.base.trim_start_matches("http://").parse().unwrap();
    let trigger = Arc::new(Trigger::default());
    let (base, relay_task) = relay(office_addr, trigger.clone()).await;
    let spool = dir.path().join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    let watch = Watch::start(&spool, trigger.clone());
    // Batches of 3, so that a kill can land between two deletions.
    let cfg = config(dir.path(), &targets, &upload(dir.path(), &base, &token, 3));
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();

    let mut seen: BTreeSet<String> = BTreeSet::new();
    // Every report of this test starts after this instant (an hour earlier
    // for safety: the back office files counted reports by hour).
    let since_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
        - 3_600_000;
    let mut hits: BTreeMap<String, usize> = BTreeMap::new();
    let mut leftovers = 0;
    let started = Instant::now();
    let aims = [
        Aim::Random,
        Aim::SpoolWrite,
        Aim::Request,
        Aim::Random,
        Aim::Answer,
        Aim::Delete,
    ];
    for round in 0..KILLS {
        let aim = aims[round % aims.len()];
        let log = logs.join(format!("{round:02}.log"));
        let mut child = spawn_daemon(&cfg, &log);
        trigger.arm(child.0.id(), aim);
        // A random kill lands anywhere in the first 1.5 s: the start, the
        // first check (within the 100 ms jitter), its spool write, the
        // upload of the backlog and of the new report. An aimed one waits
        // for its moment (4 s at most, then it is fired anyway).
        let limit = if aim == Aim::Random {
            random_below(Duration::from_millis(1500))
        } else {
            Duration::from_secs(4)
        };
        let armed = Instant::now();
        while !trigger.fired() && armed.elapsed() < limit {
            assert!(
                child.0.try_wait().unwrap().is_none(),
                "the daemon exited by itself: {:?}",
                std::fs::read_to_string(&log)
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // The phase as the instruments saw it at the kill.
        let aimed = trigger.fired();
        let phase = trigger.phase();
        trigger.fire();
        let status = wait_exit(&mut child, Duration::from_secs(10)).await;
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL),
            "{:?}",
            std::fs::read_to_string(&log)
        );
        let what = match (aim, aimed) {
            (Aim::Random, _) => format!("random, in: {phase}"),
            (aim, true) => format!("aimed at {aim:?}"),
            // Its moment did not come in 4 s: fired anyway.
            (aim, false) => format!("aimed at {aim:?}, not seen, in: {phase}"),
        };
        eprintln!("kill {round:2} after {:?}: {what}", armed.elapsed());
        *hits.entry(what).or_default() += 1;
        // After any kill: whole reports only, maybe a temporary file.
        let names: Vec<String> = std::fs::read_dir(&spool)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        if names
            .iter()
            .any(|n| n.ends_with(".tmp") && n[1..].starts_with(|c: char| c.is_ascii_digit()))
        {
            leftovers += 1;
        }
        watch.forget_leftovers(&trigger);
        trigger.uploading.store(false, Ordering::SeqCst);
        seen.extend(whole_entries(&spool));
        for e in events(&log) {
            if let Some(entry) = e["entry"].as_str() {
                seen.insert(id_of(entry));
            }
        }
    }
    let kills_took = started.elapsed();
    // Undisturbed: one more cycle and an upload of everything left.
    trigger.aim.store(0, Ordering::SeqCst);
    let out = tokio::task::spawn_blocking({
        let cfg = cfg.clone();
        move || {
            bin()
                .args(["daemon", "--once", "--config"])
                .arg(&cfg)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "the last upload: {}",
        text(&out.stderr)
    );
    assert!(spooled(dir.path()).is_empty(), "the spool drained");
    let names: Vec<String> = std::fs::read_dir(&spool)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.ends_with(".tmp")),
        "leftovers removed at start: {names:?}"
    );
    watch_and_take(&watch, &mut seen);
    drop(watch);
    relay_task.abort();
    let (stored, received, total) = office.stop_and_count(&seen, since_ms).await;

    // Every report the spool ever held is in the back office once, or
    // counted as dropped, or in quarantine. The back office keeps whole
    // only the reports that changed the probe's state and counts the
    // others in their hour: `received` is every report it took either way.
    let listed: BTreeSet<String> = stored.iter().map(|r| r.report_id.clone()).collect();
    assert_eq!(listed.len(), stored.len(), "no report listed twice");
    let stored_ids: BTreeSet<String> = listed.union(&received).cloned().collect();
    assert_eq!(
        usize::try_from(total).unwrap(),
        stored_ids.len(),
        "every report received is counted once, and nothing else"
    );
    let dropped: usize =
        std::fs::read_to_string(spool.join(DROPPED_FILE)).map_or(0, |s| s.trim().parse().unwrap());
    let quarantine: BTreeSet<String> = std::fs::read_dir(spool.join(QUARANTINE_DIR))
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.ends_with(".json").then(|| id_of(&n))
        })
        .collect();
    let missing: Vec<&String> = seen
        .iter()
        .filter(|id| !stored_ids.contains(*id) && !quarantine.contains(*id))
        .collect();
    assert!(
        missing.len() <= dropped,
        "{} reports the spool held are neither in the back office nor counted (dropped {dropped}): {missing:?}",
        missing.len()
    );
    // And the back office holds nothing the spool never held.
    let unknown: Vec<&String> = stored_ids.difference(&seen).collect();
    assert!(unknown.is_empty(), "stored but never spooled: {unknown:?}");
    assert!(
        seen.len() >= KILLS / 4,
        "only {} reports in {KILLS} runs",
        seen.len()
    );
    // Kills landed where they were aimed: during spool writes and uploads.
    let during = |what: &[&str]| {
        hits.iter()
            .filter(|(k, _)| what.contains(&k.as_str()))
            .map(|(_, n)| n)
            .sum::<usize>()
    };
    assert!(
        during(&["aimed at SpoolWrite", "random, in: spool write"]) >= 2,
        "{hits:?}"
    );
    assert!(
        during(&["aimed at Request", "aimed at Answer", "random, in: upload"]) >= 2,
        "{hits:?}"
    );
    eprintln!(
        "{KILLS} kills in {kills_took:?}: {hits:?}; {leftovers} left a half-written report; \
         {} reports spooled, {} stored, {} dropped, {} quarantined",
        seen.len(),
        stored_ids.len(),
        dropped,
        quarantine.len()
    );
}

/// What the watch recorded, added to `seen`.
fn watch_and_take(watch: &Watch, seen: &mut BTreeSet<String>) {
    // inotify events of the last moments: give the thread one poll round.
    std::thread::sleep(Duration::from_millis(100));
    seen.extend(watch.held.lock().unwrap().iter().cloned());
}

/// Waits (up to `limit`) for an event of the daemon's log that `pred` accepts.
async fn logged(log: &Path, limit: Duration, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        if let Some(e) = events(log).into_iter().find(|e| pred(e)) {
            return e;
        }
        assert!(
            start.elapsed() < limit,
            "not logged within {limit:?}: {what}; the log: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The event's message contains `s`.
fn says(e: &Value, s: &str) -> bool {
    e["message"].as_str().is_some_and(|m| m.contains(s))
}

/// The newest spooled report.
fn newest(dir: &Path) -> Option<stca2_report::Report> {
    let name = spooled(dir).pop()?;
    serde_json::from_slice(&std::fs::read(dir.join("spool").join(name)).ok()?).ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_takes_a_valid_configuration_and_refuses_a_broken_one_then_sigterm_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let (_lab, targets) = lab(dir.path()).await;
    let cfg = config(dir.path(), &targets, "");
    let log = dir.path().join("daemon.log");
    let mut child = spawn_daemon(&cfg, &log);
    let pid = child.0.id();
    let probe_of_newest = |dir: &Path| newest(dir).map(|r| r.probe.id);
    eventually(Duration::from_secs(20), "a first report", || {
        probe_of_newest(dir.path()).as_deref() == Some(PROBE)
    })
    .await;
    // A valid change: another probe id and interval.
    let original = std::fs::read_to_string(&cfg).unwrap();
    let changed = original
        .replace(PROBE, "shop-0043")
        .replace("interval = \"1s\"", "interval = \"2s\"");
    assert_ne!(changed, original);
    std::fs::write(&cfg, &changed).unwrap();
    signal(pid, libc::SIGHUP);
    logged(&log, Duration::from_secs(10), "reloaded", |e| {
        says(e, "configuration reloaded")
    })
    .await;
    eventually(
        Duration::from_secs(20),
        "reports of the new probe id",
        || probe_of_newest(dir.path()).as_deref() == Some("shop-0043"),
    )
    .await;
    // A broken file: refused with file:line:column, the running one goes on.
    std::fs::write(&cfg, "probe_id = \"shop-0044\"\nintervall = \"1s\"\n").unwrap();
    signal(pid, libc::SIGHUP);
    let refused = logged(&log, Duration::from_secs(10), "the refusal", |e| {
        says(e, "refused")
    })
    .await;
    let error = refused["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(&format!("{}:2:1:", cfg.display())) && error.contains("intervall"),
        "{refused}"
    );
    assert_eq!(refused["level"], "ERROR", "{refused}");
    let before = spooled(dir.path()).len();
    eventually(Duration::from_secs(20), "two more cycles", || {
        spooled(dir.path()).len() >= before + 2
    })
    .await;
    assert_eq!(probe_of_newest(dir.path()).as_deref(), Some("shop-0043"));
    assert!(child.0.try_wait().unwrap().is_none(), "still running");
    // SIGTERM: exit 0, a consistent spool.
    signal(pid, libc::SIGTERM);
    let status = wait_exit(&mut child, Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0), "{status}");
    let names: Vec<String> = std::fs::read_dir(dir.path().join("spool"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    assert!(whole_entries(&dir.path().join("spool")).len() >= before + 2);
}

/// A tmpfs mounted for one test, unmounted (detached) however it ends.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` at `at`, or says loudly why not (root needed).
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let target = CString::new(at.as_os_str().as_bytes()).unwrap();
        let data = CString::new(format!("size={size},mode=0700")).unwrap();
        // SAFETY: NUL-terminated strings that outlive the call.
        let rc = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                data.as_ptr().cast(),
            )
        };
        if rc != 0 {
            eprintln!(
                "\n*** SKIPPED: cannot mount a tmpfs at {} ({}): the full-filesystem test needs root ***\n",
                at.display(),
                std::io::Error::last_os_error()
            );
            return None;
        }
        Some(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = CString::new(self.0.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path; MNT_DETACH never blocks on a busy mount.
        if unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } != 0 {
            eprintln!(
                "*** could not unmount the test tmpfs at {}: {} ***",
                self.0.display(),
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Fills the filesystem of `dir` with `dir/filler` until it is full.
fn fill_up(dir: &Path) -> u64 {
    use std::io::Write as _;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let chunk = [0x5au8; 1024];
    let mut written = 0;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling: {e}"),
        }
    }
    written
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_spool_filesystem_stops_neither_checks_nor_metrics_and_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let Some(_mounted) = Tmpfs::mount(&spool, "512k") else {
        return;
    };
    let (_lab, targets) = lab(dir.path()).await;
    let (office, token) = Serve::start(dir.path(), None).await;
    let cfg = config(
        dir.path(),
        &targets,
        &format!(
            "metrics_listen = \"127.0.0.1:0\"\n{}",
            upload(dir.path(), &office.base, &token, 100)
        ),
    );
    let log = dir.path().join("daemon.log");
    let mut child = spawn_daemon(&cfg, &log);
    let serving = logged(&log, Duration::from_secs(10), "serving /metrics", |e| {
        says(e, "serving /metrics")
    })
    .await;
    let metrics: SocketAddr = serving["addr"].as_str().unwrap().parse().unwrap();
    logged(&log, Duration::from_secs(20), "a first upload", |e| {
        says(e, "uploaded")
    })
    .await;
    // Full: every report is refused by the disk.
    let filled = fill_up(&spool);
    let metric = |samples: &[crate::daemon::Sample], name: &str| {
        crate::daemon::value(samples, name, &[]).unwrap_or_else(|| panic!("no {name}"))
    };
    let at_full = crate::daemon::parse_prometheus(&crate::daemon::scrape(metrics).await);
    let (checks0, errors0) = (
        metric(&at_full, "stca2_probe_checks_total"),
        metric(&at_full, "stca2_probe_spool_write_errors_total"),
    );
    // Checks and /metrics go on, the daemon says what is wrong.
    let deadline = Instant::now() + Duration::from_secs(20);
    let full = loop {
        let s = crate::daemon::parse_prometheus(&crate::daemon::scrape(metrics).await);
        if metric(&s, "stca2_probe_spool_write_errors_total") >= errors0 + 2.0 {
            break s;
        }
        assert!(Instant::now() < deadline, "no write errors on a full disk");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(metric(&full, "stca2_probe_checks_total") >= checks0 + 2.0);
    assert_eq!(metric(&full, "stca2_probe_spool_writable"), 0.0);
    assert!(
        crate::daemon::value(&full, "probe_success", &[]).is_some(),
        "the latest cycle is shown"
    );
    let said = logged(&log, Duration::from_secs(1), "the write error", |e| {
        says(e, "cannot write the report to the spool")
    })
    .await;
    assert!(
        said["error"]
            .as_str()
            .unwrap_or_default()
            .contains("No space left"),
        "{said}"
    );
    assert!(child.0.try_wait().unwrap().is_none(), "still running");
    // Space returns: the daemon recovers by itself, says so, and uploads
    // a report that carries the count of those it could not keep.
    std::fs::remove_file(spool.join("filler")).unwrap();
    let recovered = logged(&log, Duration::from_secs(20), "the recovery", |e| {
        says(e, "the spool can be written again")
    })
    .await;
    let lost = recovered["dropped_meanwhile"].as_u64().unwrap();
    assert!(lost >= 2, "{recovered}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = crate::daemon::parse_prometheus(&crate::daemon::scrape(metrics).await);
        if metric(&s, "stca2_probe_spool_writable") == 1.0
            && metric(&s, "stca2_probe_spool_reports") == 0.0
        {
            break;
        }
        assert!(Instant::now() < deadline, "not recovered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    signal(child.0.id(), libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(10)).await.code(),
        Some(0)
    );
    let database = office.database.clone();
    let stored = office.stop_and_read().await;
    assert!(stored.len() >= 2, "before and after the full disk");
    // The newest report tells the back office how many were lost.
    let store = stca2_backoffice::store::Store::connect(&database)
        .await
        .unwrap();
    let counted = store.probe(PROBE).await.unwrap().unwrap().spool_dropped;
    store.close().await;
    let counted = counted.map_or(0, |n| u64::try_from(n).unwrap());
    assert!(counted >= lost, "spool_dropped {counted} >= {lost}");
    eprintln!("filled {filled} bytes; {lost} reports dropped while full");
}

/// A private CA and the back office's certificate for 127.0.0.1 it signs,
/// in `dir`: `ca.pem`, `bo.pem`, `bo.key`.
fn private_ca(dir: &Path) -> (PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "Back office test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = rcgen::CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &ca).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("bo.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("bo.key"), key.serialize_pem()).unwrap();
    (dir.join("bo.pem"), dir.join("bo.key"))
}

/// `stca2-probe daemon --config CFG MODE`, off the runtime.
async fn run_daemon(cfg: &Path, mode: &str) -> std::process::Output {
    let (cfg, mode) = (cfg.to_path_buf(), mode.to_string());
    tokio::task::spawn_blocking(move || {
        bin()
            .args(["daemon", &mode, "--config"])
            .arg(&cfg)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn https_uploads_trust_the_ca_file_and_refuse_an_unknown_issuer_keeping_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let (_lab, targets) = lab(dir.path()).await;
    let (cert, key) = private_ca(dir.path());
    let (office, token) = Serve::start(dir.path(), Some((&cert, &key))).await;
    assert!(
        office.base.starts_with("https://127.0.0.1:"),
        "{}",
        office.base
    );
    // The system's roots only: refused, the problem named, the report kept.
    let cfg = config(
        dir.path(),
        &targets,
        &upload(dir.path(), &office.base, &token, 10),
    );
    let out = run_daemon(&cfg, "--once").await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    for says in [
        "TLS certificate is not trusted",
        "UnknownIssuer",
        "system's trust store",
        "ca_file",
        "the reports stay in the spool",
    ] {
        assert!(err.contains(says), "{says}: {err}");
    }
    assert!(!err.contains(&token), "the token never appears: {err}");
    let kept = whole_entries(&dir.path().join("spool"));
    assert_eq!(kept.len(), 1);
    // With the private CA as ca_file: both reports arrive.
    let with_ca = format!(
        "{}ca_file = \"ca.pem\"\n",
        upload(dir.path(), &office.base, &token, 10)
    );
    let cfg = config(dir.path(), &targets, &with_ca);
    let out = run_daemon(&cfg, "--once").await;
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        text(&out.stderr)
    );
    assert!(spooled(dir.path()).is_empty());
    // Plain http:// to an address that is not loopback: refused before
    // anything runs (the token would travel in clear).
    let clear = config(
        dir.path(),
        &targets,
        &upload(dir.path(), "http://192.0.2.7:8146", &token, 10),
    );
    for mode in ["--check-config", "--once"] {
        let out = run_daemon(&clear, mode).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{mode}: {err}");
        assert!(
            err.contains(&format!("{}:11:7:", clear.display()))
                && err.contains("in clear; use https://"),
            "{mode}: {err}"
        );
    }
    assert!(spooled(dir.path()).is_empty(), "no cycle ran");
    let stored = office.stop_and_read().await;
    let ids: BTreeSet<String> = stored.iter().map(|r| r.report_id.clone()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&kept[0]), "the kept report arrived");
}
