//! `check --watch`: the installer changes the router's rules with the
//! merchant beside them, and the check follows.
//!
//! The first round prints the whole human report; every later round prints
//! only what changed ("1146 to 127.0.38.45: now open", in the reader's
//! language) and, after it, the verdict again, so the last line on screen is
//! always the current verdict. Once every site x port is ready it says so,
//! rings the terminal bell and exits 0; after `--watch-timeout` it exits 1.
//!
//! Bounded and cheap: a round is one ordinary check (every wait bounded by
//! `--timeout`), the next round starts `--watch-every` after the previous
//! one has finished, so no target is ever attempted again while an attempt
//! on it is still running, and the whole watch stops at its deadline even
//! in the middle of a round. On a terminal the verdict line is redrawn in
//! place with a ticking clock; through a pipe the output is plain lines
//! (no escape codes, no bell), printed only when something changed.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use stca2_report::{ProbeIdentity, Report, TargetResult, TcpStatus};
use stca2_words::{Words, args};
use tokio::time::Instant;

use crate::check;
use crate::cli::{InstallerArgs, OutputArgs, emit};
use crate::human::clean;
use crate::probe::{ProbeConfig, human_duration};
use crate::targets::TargetSet;
use crate::verdict;

/// What a site x port looks like to the installer, round to round.
fn state(r: &TargetResult) -> &'static str {
    if verdict::not_measured(r) {
        "not-measured"
    } else if r.tcp.status != TcpStatus::Open {
        "closed"
    } else if verdict::ready(r) {
        "ready"
    } else if verdict::answers(r) {
        "not-stca2"
    } else if r.tls.is_none() {
        "open"
    } else {
        "tls-failing"
    }
}

/// The lines saying what changed from `before` to `now`, one per site x
/// port whose state changed, in the report's order.
pub fn changes(before: &Report, now: &Report, words: Words) -> Vec<String> {
    now.results
        .iter()
        .filter_map(|r| {
            let was = before
                .results
                .iter()
                .find(|b| b.address == r.address && b.port == r.port)
                .map(state);
            let is = state(r);
            (was != Some(is)).then(|| {
                let host = if r.address.contains(':') {
                    format!("[{}]", r.address)
                } else {
                    r.address.clone()
                };
                let change = words.text("watch-change", Some(&args!("what" => is)));
                words.text(
                    "watch-changed",
                    Some(&args!(
                        "port" => r.port.to_string(),
                        "host" => host,
                        "change" => change,
                    )),
                )
            })
        })
        .collect()
}

/// The verdict line: the time since the watch started (mm:ss) and the
/// headline, in the reader's language.
fn verdict_line(report: &Report, words: Words, started: Instant) -> String {
    let headline = report
        .summary
        .headline_params
        .as_ref()
        .and_then(|h| words.headline(h))
        .unwrap_or_else(|| report.summary.headline.clone());
    let secs = started.elapsed().as_secs();
    let time = format!("{:02}:{:02}", secs / 60, secs % 60);
    clean(&words.text(
        "watch-verdict",
        Some(&args!("time" => time, "headline" => headline)),
    ))
    .into_owned()
}

/// Runs the watch; see the module's documentation.
pub async fn run(
    targets: &TargetSet,
    config: &ProbeConfig,
    identity: &ProbeIdentity,
    output: &OutputArgs,
    installer: &InstallerArgs,
    words: Words,
) -> anyhow::Result<ExitCode> {
    let tty = std::io::stdout().is_terminal();
    let started = Instant::now();
    let deadline = started + installer.watch_timeout;
    let mut previous: Option<Report> = None;
    let mut stdout = std::io::stdout();
    loop {
        let round = check::run(targets, config, identity.clone());
        let Ok(report) = tokio::time::timeout_at(deadline, round).await else {
            break;
        };
        let verdict = verdict_line(&report, words, started);
        match &previous {
            None => {
                emit(&report, &targets.warnings, output)?;
                if report.exit_code() != 0 {
                    writeln!(
                        stdout,
                        "\n{}",
                        words.text(
                            "watch-start",
                            Some(&args!(
                                "every" => words.decimal(&human_duration(installer.watch_every)),
                                "timeout" => words.decimal(&human_duration(installer.watch_timeout)),
                            ))
                        )
                    )?;
                    write_verdict(&mut stdout, &verdict, tty)?;
                }
            }
            Some(before) => {
                let changed = changes(before, &report, words);
                if !changed.is_empty() || verdict_changed(before, &report) {
                    if tty {
                        // Replace the verdict line with what changed.
                        write!(stdout, "\r\x1b[2K")?;
                    }
                    for line in &changed {
                        writeln!(stdout, "{}", clean(line))?;
                    }
                    if !tty {
                        writeln!(stdout, "{verdict}")?;
                    }
                }
                if tty {
                    write_verdict(&mut stdout, &verdict, tty)?;
                }
            }
        }
        stdout.flush()?;
        if report.exit_code() == 0 {
            if tty {
                writeln!(stdout)?;
            }
            let bell = if tty { "\x07" } else { "" };
            writeln!(stdout, "{}{bell}", words.text("watch-ready", None))?;
            stdout.flush()?;
            return Ok(ExitCode::SUCCESS);
        }
        previous = Some(report);
        if tokio::time::timeout_at(deadline, tokio::time::sleep(installer.watch_every))
            .await
            .is_err()
        {
            break;
        }
    }
    if tty {
        writeln!(stdout)?;
    }
    writeln!(
        stdout,
        "{}",
        words.text(
            "watch-timeout",
            Some(&args!("timeout" => words.decimal(&human_duration(installer.watch_timeout))))
        )
    )?;
    stdout.flush()?;
    Ok(ExitCode::from(1))
}

/// Whether the verdict (its headline's facts or words) changed.
fn verdict_changed(before: &Report, now: &Report) -> bool {
    before.summary.headline != now.summary.headline
}

/// The verdict as the last line: redrawn in place on a terminal (no
/// newline, so the next round can replace it), a plain line otherwise.
fn write_verdict(out: &mut impl Write, verdict: &str, tty: bool) -> std::io::Result<()> {
    if tty {
        write!(out, "\r\x1b[2K{verdict}")
    } else {
        writeln!(out, "{verdict}")
    }
}
