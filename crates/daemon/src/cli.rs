//! `stca2-probe daemon`: the command a service manager starts, and the
//! Unix signals it answers.
//!
//! - `--check-config`: validate the file and everything it points at (the
//!   target set, the allow-list), print the effective settings, exit 0, or
//!   2 with `file:line:column: what is wrong`;
//! - `--once`: one cycle and one upload round, then exit with the report's
//!   code (0 ready, 1 a problem found), or 3 when the upload failed or was
//!   refused (the reports stay in the spool): for cron, tests and an
//!   installer's first run;
//! - otherwise run until SIGTERM or SIGINT (exit 0 once the running cycle
//!   finished or was abandoned after 7 s: gone within 10 s); SIGHUP
//!   reloads the file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tokio::signal::unix::{SignalKind, signal};

use stca2_engine::cli::EXIT_USAGE;
use stca2_words::{Lang, Words, args};

/// Shown under `stca2-probe daemon --help`.
pub const DAEMON_EXAMPLES: &str = "\
Examples:
  stca2-probe daemon --config /etc/stca2-probe/daemon.toml                 run (systemd does this)
  stca2-probe daemon --config /etc/stca2-probe/daemon.toml --check-config  validate, print the settings
  stca2-probe daemon --config /etc/stca2-probe/daemon.toml --once          one check and one upload

Signals: SIGTERM or SIGINT stop within 10 s (the running check gets up to 7 s), SIGHUP reloads the file.
Exit codes: 0 done (with --once: the check found everything ready), 1 (--once) the check found a
problem, 2 a bad configuration, a target refused by the allow-list, or the daemon could not run,
3 (--once) the upload failed or was refused (the reports stay in the spool for the next run).";

/// `--once`: the report is spooled but the upload failed or was refused.
pub const EXIT_UPLOAD_FAILED: u8 = 3;

/// `stca2-probe daemon`.
#[derive(Args, Debug)]
pub struct DaemonArgs {
    /// The daemon's configuration (TOML; see packaging/daemon.toml).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Validate the configuration, print the effective settings and exit (0 valid, 2 not).
    #[arg(long, conflicts_with = "once")]
    pub check_config: bool,
    /// Run one cycle and one upload attempt, then exit.
    #[arg(long)]
    pub once: bool,
}

/// Runs `stca2-probe daemon`. What it prints for a person before it
/// starts (a configuration error, `--check-config`'s summary) is in `lang`;
/// its log is English (see `crate::why`).
pub async fn run(args: DaemonArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let words = Words::new(lang);
    let ceiling = stca2_engine::allow::ceiling(words)?;
    let plan = match crate::load(&args.config, ceiling.clone()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("stca2-probe: {}", e.said(words));
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    if args.check_config {
        print!("{}", plan.config);
        println!(
            "# {}",
            words.text(
                "daemon-check-config-targets",
                Some(&args!(
                    "name" => plan.targets.name.as_str(),
                    "sites" => plan.targets.sites.len(),
                    "ports" => plan.targets.ports.len(),
                ))
            )
        );
        for w in &plan.targets.warnings {
            println!(
                "# {}",
                words.text(
                    "daemon-check-config-warning",
                    Some(&args!("warning" => w.said(words)))
                )
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.once {
        return Ok(ExitCode::from(crate::run_once(plan).await?));
    }
    let metrics = crate::bind_metrics(&plan.config).await?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(1);
    let forward = tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the configuration");
            // A reload already queued covers this one.
            let _ = reload_tx.try_send(());
        }
    });
    let stop = async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = int.recv() => tracing::info!("SIGINT"),
        }
    };
    let result = crate::run(plan, ceiling, metrics, reload_rx, stop).await;
    forward.abort();
    result?;
    Ok(ExitCode::SUCCESS)
}
