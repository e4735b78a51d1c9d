//! The probe daemon: `check`'s pipeline on a schedule, on a small box
//! beside the payment terminals, feeding the back office for months.
//!
//! The parts, one concern per module:
//!
//! - [`config`]: the TOML file, strict, errors at `file:line:column`; a
//!   [`config::Plan`] is a configuration ready to run (targets loaded, the
//!   allow-list settled under `STCA2_PROBE_ALLOW`);
//! - [`schedule`]: one cycle per `interval`, at a random offset in its slot,
//!   never two at once, missed slots skipped and counted;
//! - [`spool`]: every report durable on disk before any upload, bounded by
//!   bytes and age, the dropped count reported to the back office;
//! - [`upload`]: the spool oldest first to the back office, deleted only
//!   after a 2xx; backoff, quarantine, a refused token stops it;
//! - [`metrics`]: the latest cycle and the daemon's counters on `/metrics`;
//! - [`shutdown`]: one signal every task listens to;
//! - [`cli`]: `stca2-probe daemon`, its flags and the Unix signals.
//!
//! [`run`] wires them into three tasks with one owner each (the
//! scheduler, the uploader, the metrics server) and waits for the shutdown
//! signal or a reload. A cycle is exactly `check`'s: `stca2_engine::check::run`
//! with the configured identity, the same verdict, the same v1 report.
//!
//! The spool sits behind one `std::sync::Mutex`, taken only around file
//! operations (a listing, a read, an fsync'd write, a delete) and never
//! across an `.await`: the scheduler appends the newest reports while the
//! uploader reads and deletes the oldest, and neither sees the other's half
//! work. Those file operations block (an fsync can take a while on an SD
//! card), so they run under `block_in_place`: the runtime moves its other
//! tasks (a `/metrics` scrape, a signal) to another thread meanwhile. The plan travels in a `watch` channel, so a reload is one swap that
//! the next cycle and the next upload round pick up.

#![warn(missing_docs)]

pub mod check_upload;
pub mod cli;
pub mod config;
pub mod metrics;
pub mod schedule;
pub mod shutdown;
pub mod spool;
pub mod upload;
pub mod why;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use ipnet::IpNet;
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::time::Instant;

use config::{Config, Plan};
use metrics::Metrics;
use schedule::Schedule;
use shutdown::Shutdown;
use spool::Spool;
use stca2_engine::probe::ProbeConfig;
use stca2_report::Report;
use upload::{Backoff, Drain, Uploader};

/// After SIGTERM the process is gone within this bound (the issue's
/// promise, and what a service manager's stop timeout may rely on).
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(10);
/// How long a running cycle or upload may go on after SIGTERM before it is
/// abandoned: the bound minus one second for the tasks to wind down and
/// two for the runtime's own shutdown (`main.rs`).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(7);
/// How often a refused token file is looked at again.
pub const TOKEN_RECHECK: Duration = Duration::from_secs(5);

/// What the daemon shares between its tasks.
struct Shared {
    spool: Mutex<Spool>,
    metrics: Arc<Metrics>,
    /// Wakes the uploader: a new report is in the spool.
    spooled: Notify,
    /// Set at shutdown: an upload in flight finishes, no new batch starts.
    stopping: AtomicBool,
    /// Reports that could not be written since the last one that could:
    /// more than 0 is the degraded mode (a full disk, a read-only spool).
    unwritten: AtomicU64,
}

impl Shared {
    fn spool(&self) -> std::sync::MutexGuard<'_, Spool> {
        self.spool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn refresh_spool_metrics(&self) {
        match blocking(|| self.spool().stats()) {
            Ok(s) => self.metrics.spool(s),
            Err(e) => tracing::warn!(error = %e, "cannot read the spool"),
        }
    }
}

/// Runs `f`, which blocks on the disk (a listing, an fsync), telling a
/// multi-threaded runtime first (`block_in_place`), so that the worker's
/// other tasks move to another thread meanwhile; elsewhere it simply runs.
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Loads `path` and prepares it under `ceiling`: what the daemon runs.
pub fn load(
    path: &std::path::Path,
    ceiling: Option<Vec<IpNet>>,
) -> Result<Plan, config::ConfigError> {
    Config::load(path)?.prepare(ceiling)
}

/// Runs one cycle: `check`'s pipeline with the configured identity.
pub async fn cycle(plan: &Plan) -> Report {
    cycle_of(plan, true).await
}

/// One cycle of the schedule: a full check, or a TCP-only one when `full`
/// is false (`tls_every`, for metered links).
async fn cycle_of(plan: &Plan, full: bool) -> Report {
    let tcp_only;
    let probe = if full {
        &plan.probe
    } else {
        tcp_only = ProbeConfig {
            tls: false,
            ..plan.probe.clone()
        };
        &tcp_only
    };
    stca2_engine::check::run(&plan.targets, probe, plan.config.identity()).await
}

/// Spools a report; a failure is logged and counted, never fatal.
fn spool_report(shared: &Shared, mut report: Report) {
    let put = blocking(|| shared.spool().put(&mut report, SystemTime::now()));
    match put {
        Ok(entry) => {
            shared.metrics.spool_writable();
            let unwritten = shared.unwritten.swap(0, Ordering::SeqCst);
            if unwritten > 0 {
                tracing::warn!(
                    dropped_meanwhile = unwritten,
                    spool_dropped = report.probe.spool_dropped.unwrap_or(0),
                    "the spool can be written again: back to normal; the reports lost meanwhile are counted in probe.spool_dropped"
                );
            }
            tracing::info!(
                entry = %entry.name,
                ok = report.summary.ok,
                headline = %report.summary.headline,
                "cycle done, report spooled"
            )
        }
        Err(e) => {
            shared.metrics.spool_write_error();
            let unwritten = shared.unwritten.fetch_add(1, Ordering::SeqCst) + 1;
            tracing::error!(
                error = %e,
                report_id = %report.report_id,
                unwritten,
                "cannot write the report to the spool (full disk? read-only?): it is dropped and counted; checks and metrics go on, and the spool is tried again at the next cycle"
            );
        }
    }
    shared.refresh_spool_metrics();
}

/// `--once`: one cycle, one upload round, then the report's exit code
/// (0 ready, 1 a problem found), or [`cli::EXIT_UPLOAD_FAILED`] when
/// `[upload]` is set and the spool could not be uploaded (the reports stay
/// in the spool for the next run).
pub async fn run_once(plan: Plan) -> anyhow::Result<u8> {
    let c = &plan.config;
    let spool = Spool::open(&c.spool_dir, c.spool_max_bytes, c.spool_max_age)
        .with_context(|| format!("cannot open the spool {}", c.spool_dir.display()))?;
    let shared = Shared {
        spool: Mutex::new(spool),
        metrics: Arc::new(Metrics::default()),
        spooled: Notify::new(),
        stopping: AtomicBool::new(false),
        unwritten: AtomicU64::new(0),
    };
    let report = cycle(&plan).await;
    let mut code = report.exit_code();
    spool_report(&shared, report);
    if let Some(mut up) = uploader_of(&plan) {
        match up
            .drain(&shared.spool, &shared.metrics, &shared.stopping)
            .await
        {
            Drain::Drained => tracing::info!("spool uploaded"),
            Drain::Retry(why) => {
                tracing::warn!(%why, "upload failed; the spool keeps the reports for the next run");
                code = cli::EXIT_UPLOAD_FAILED;
            }
            Drain::Blocked(why) => {
                tracing::error!(%why, "upload refused");
                code = cli::EXIT_UPLOAD_FAILED;
            }
        }
    }
    Ok(code)
}

/// Binds `metrics_listen` (when set): done before [`run`], so that a port
/// in use fails the start, and so that a caller can learn the address
/// bound for `127.0.0.1:0`.
pub async fn bind_metrics(config: &Config) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    let Some(addr) = config.metrics_listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for metrics on {addr}"))?;
    Ok(Some(listener))
}

/// Runs the daemon on `plan` until `stop` completes, serving `/metrics`
/// on `metrics` (from [`bind_metrics`]). Each message on
/// `reload` reads the configuration file again: a valid one replaces the
/// plan (and restarts the uploader, which clears a refused token), an
/// invalid one is refused with a log line and the old one keeps running.
pub async fn run(
    plan: Plan,
    ceiling: Option<Vec<IpNet>>,
    metrics: Option<tokio::net::TcpListener>,
    mut reload: mpsc::Receiver<()>,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let c = plan.config.clone();
    // An unusable folder does not stop the daemon (see `open_degraded`).
    let spool = Spool::open_degraded(&c.spool_dir, c.spool_max_bytes, c.spool_max_age)
        .with_context(|| format!("cannot open the spool {}", c.spool_dir.display()))?;
    let shared = Arc::new(Shared {
        spool: Mutex::new(spool),
        metrics: Arc::new(Metrics::default()),
        spooled: Notify::new(),
        stopping: AtomicBool::new(false),
        unwritten: AtomicU64::new(0),
    });
    shared.refresh_spool_metrics();
    let (notify, _) = broadcast::channel::<()>(1);
    let (plan_tx, plan_rx) = watch::channel(Arc::new(plan));
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(listener) = metrics {
        let addr = listener.local_addr()?;
        tracing::info!(%addr, "serving /metrics");
        tasks.spawn(metrics::serve(
            listener,
            shared.metrics.clone(),
            Shutdown::new(notify.subscribe()),
        ));
    }
    tasks.spawn(scheduler(
        shared.clone(),
        plan_rx.clone(),
        Shutdown::new(notify.subscribe()),
    ));
    tasks.spawn(uploader(
        shared.clone(),
        plan_rx,
        Shutdown::new(notify.subscribe()),
    ));
    tracing::info!(probe_id = %c.probe_id, config = %c.path.display(), "daemon started");
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(()) = reload.recv() => {
                let path = plan_tx.borrow().config.path.clone();
                match load(&path, ceiling.clone()) {
                    Ok(new) => {
                        // Cloned: a watch borrow held across send_replace would deadlock.
                        let old = plan_tx.borrow().config.clone();
                        if new.config.spool_dir != old.spool_dir || new.config.metrics_listen != old.metrics_listen {
                            tracing::warn!("spool_dir and metrics_listen changes take effect at the next restart");
                        }
                        shared.spool().set_bounds(new.config.spool_max_bytes, new.config.spool_max_age);
                        tracing::info!(config = %path.display(), "configuration reloaded");
                        plan_tx.send_replace(Arc::new(new));
                    }
                    Err(e) => tracing::error!(error = %e, "the new configuration is refused; the running one goes on"),
                }
            }
        }
    }
    tracing::info!(
        grace = ?SHUTDOWN_GRACE,
        "stopping: no new cycle or upload; a running one may finish within the grace"
    );
    shared.stopping.store(true, Ordering::SeqCst);
    let _ = notify.send(());
    let drained = tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(1), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tasks.shutdown().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// The scheduler task: one cycle per slot, never two at once.
async fn scheduler(
    shared: Arc<Shared>,
    plan_rx: watch::Receiver<Arc<Plan>>,
    mut shutdown: Shutdown,
) {
    let mut schedule: Option<Schedule> = None;
    // Cycles run under the current plan: every tls_every-th is full, the
    // first included; a reload starts over.
    let mut cycles: u64 = 0;
    let mut plan_seen: Option<Arc<Plan>> = None;
    while !shutdown.is_shutdown() {
        let plan = plan_rx.borrow().clone();
        let (interval, jitter) = (plan.config.interval, plan.config.jitter);
        let s = match &mut schedule {
            Some(s) if s.has(interval, jitter) => s,
            _ => schedule.insert(Schedule::new(Instant::now(), interval, jitter)),
        };
        let next = s.next(Instant::now(), upload::random_u64());
        if next.skipped > 0 {
            tracing::warn!(
                skipped = next.skipped,
                "the last cycle overran: slots skipped"
            );
            shared.metrics.skipped(next.skipped);
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next.at) => {}
            _ = shutdown.recv() => return,
        }
        // The plan may have been reloaded while we slept.
        let plan = plan_rx.borrow().clone();
        if !plan_seen.as_ref().is_some_and(|p| Arc::ptr_eq(p, &plan)) {
            cycles = 0;
            plan_seen = Some(plan.clone());
        }
        let full = cycles.is_multiple_of(u64::from(plan.config.tls_every.max(1)));
        cycles += 1;
        let run = cycle_of(&plan, full);
        tokio::pin!(run);
        let report = tokio::select! {
            r = &mut run => r,
            _ = shutdown.recv() => match tokio::time::timeout(SHUTDOWN_GRACE, &mut run).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::warn!(grace = ?SHUTDOWN_GRACE, "the running cycle did not finish within the grace: abandoned, no report");
                    return;
                }
            },
        };
        shared.metrics.cycle(Arc::new(report.clone()));
        spool_report(&shared, report);
        shared.spooled.notify_one();
    }
}

/// The uploader task: drains the spool after each cycle; backs off on
/// transient failures; waits for a new token after a refusal.
async fn uploader(
    shared: Arc<Shared>,
    mut plan_rx: watch::Receiver<Arc<Plan>>,
    mut shutdown: Shutdown,
) {
    let mut backoff = Backoff::new(upload::BACKOFF_BASE, upload::BACKOFF_CAP);
    // Said once per cause, not at every recheck.
    let mut last_block: Option<why::Why> = None;
    'plan: loop {
        let plan = plan_rx.borrow_and_update().clone();
        let mut up = uploader_of(&plan);
        backoff.reset();
        loop {
            let wait = match &mut up {
                None => None,
                Some(up) => {
                    let drain = up.drain(&shared.spool, &shared.metrics, &shared.stopping);
                    tokio::pin!(drain);
                    let drained = tokio::select! {
                        d = &mut drain => d,
                        // The request in flight may finish (its answer
                        // settles its reports); no new batch starts.
                        _ = shutdown.recv() => {
                            if tokio::time::timeout(SHUTDOWN_GRACE, &mut drain).await.is_err() {
                                tracing::warn!(grace = ?SHUTDOWN_GRACE, "the upload in flight did not finish within the grace: abandoned, its reports stay in the spool");
                            }
                            shared.refresh_spool_metrics();
                            return;
                        }
                    };
                    shared.refresh_spool_metrics();
                    match drained {
                        Drain::Drained => {
                            backoff.reset();
                            last_block = None;
                            None
                        }
                        Drain::Retry(why) => {
                            let delay = backoff.next_delay(upload::random_u64());
                            tracing::warn!(%why, retry_in = ?delay, "upload failed; the reports stay in the spool");
                            Some(delay)
                        }
                        Drain::Blocked(why) => {
                            // Said once when refused, not at every recheck.
                            if !matches!(why, why::Why::StillRefused { .. })
                                && last_block.as_ref() != Some(&why)
                            {
                                tracing::error!(%why, "uploads stopped");
                                last_block = Some(why);
                            }
                            Some(TOKEN_RECHECK)
                        }
                    }
                }
            };
            let sleep = async {
                match wait {
                    Some(d) => tokio::time::sleep(d).await,
                    None => shared.spooled.notified().await,
                }
            };
            tokio::select! {
                _ = sleep => {}
                changed = plan_rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    continue 'plan;
                }
                _ = shutdown.recv() => return,
            }
        }
    }
}

/// The plan's uploader, when it has `[upload]`.
fn uploader_of(plan: &Plan) -> Option<Uploader> {
    let (config, client) = plan
        .config
        .upload
        .as_ref()
        .zip(plan.upload_client.clone())?;
    Some(Uploader::new(config, client))
}

/// The ceiling `check` uses: `STCA2_PROBE_ALLOW`, read once at start.
pub fn ceiling() -> anyhow::Result<Option<Vec<IpNet>>> {
    Ok(stca2_engine::allow::AllowList::ceiling_from_env()?)
}
