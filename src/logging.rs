//! Logs: what the long-running commands (`serve`, the daemon) tell their
//! operator, as `tracing` events on stderr.
//!
//! Output is not logging: `check`'s report, `export`'s CSV and the token
//! that `token issue` prints go to stdout as before. Logs go to stderr, as
//! human text by default (`2026-01-31T12:00:00.000000Z  INFO listening
//! url=http://127.0.0.1:8146 ...`) or, with `--log-format json`, one JSON
//! object per line (`{"timestamp":...,"level":"INFO","message":...,
//! "url":...}`) for a log shipper. `RUST_LOG` (`target=level` pairs, e.g.
//! `stca2=debug,sqlx=info`, matched by prefix) replaces the default filter: this program's events from `info` up and
//! the database driver's warnings, so that no library speaks up during a
//! `check`.
//!
//! Secrets stay out: events carry database URLs only through `redact_url`
//! and never a token or an `Authorization` header.

use std::io::IsTerminal as _;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// The filter unless `RUST_LOG` gives one: this program's crates
/// (`stca2_*`) from `info` up, the database driver's warnings.
pub const DEFAULT_FILTER: &str = "stca2=info,sqlx=warn";

/// How log lines are written. (Plain comments on the variants: clap would
/// show doc comments as per-value help and switch every subcommand's help to
/// the long layout.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
#[allow(missing_docs)]
pub enum LogFormat {
    // Human text, one line an event.
    #[default]
    Text,
    // One JSON object a line: timestamp, level, message, target and the event's fields.
    Json,
}

/// Installs the process-wide subscriber (once; later calls change nothing).
/// `service`: the command logs as it runs (`serve`, `daemon`), under `RUST_LOG` or
/// [`DEFAULT_FILTER`]; otherwise only this binary's own fatal error is let
/// through, so no library ever speaks up during a `check`.
pub fn init(format: LogFormat, service: bool) {
    // `target=level` pairs, matched by prefix: no regular expressions, so
    // the shop build carries no regex engine for its logs.
    let filter = if service {
        std::env::var("RUST_LOG")
            .ok()
            .and_then(|v| v.parse::<Targets>().ok())
            .unwrap_or_else(|| DEFAULT_FILTER.parse().expect("the default filter parses"))
    } else {
        Targets::new().with_target(env!("CARGO_CRATE_NAME"), tracing::Level::ERROR)
    };
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr);
    // Nothing to do when a subscriber is already set (a test harness).
    let _ = match format {
        LogFormat::Text => builder
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .finish()
            .with(filter)
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .finish()
            .with(filter)
            .try_init(),
    };
}

/// Says why the command failed: as before in text (`stca2-probe: ...`),
/// as an `error` event in JSON so that every line stays one JSON object.
pub fn fatal(format: LogFormat, e: &anyhow::Error) {
    match format {
        LogFormat::Text => eprintln!("stca2-probe: {e:#}"),
        LogFormat::Json => tracing::error!("{e:#}"),
    }
}
