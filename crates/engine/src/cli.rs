//! `stca2-probe check`: the command an installer types at the merchant's
//! router, and the flags and output choices other commands (the demo) share.
//!
//! It parses, settles the allow-list before any socket exists, runs
//! [`crate::check::run`] and prints; the exit code is the report's
//! (0 ready, 1 problem found) or [`EXIT_USAGE`] when the check could not run.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use ipnet::IpNet;
use stca2_report::Report;
use stca2_words::{Lang, Words, args};

use crate::allow::{self, AllowList};
use crate::check::{self, Settings};
use crate::output::write_atomically;
use crate::probe::human_duration;
use crate::targets::{TargetSet, TargetWarning};

/// Exit code: bad arguments, a bad target file, or the check could not run.
/// (0 and 1 come from [`Report::exit_code`].)
pub const EXIT_USAGE: u8 = 2;

/// Shown under `stca2-probe check --help`.
pub const CHECK_EXAMPLES: &str = "\
Examples:
  stca2-probe check                               the real gateway, from the shop's own network
  stca2-probe check --interface wwan0             the same over the 4G link instead of the ADSL box
  stca2-probe check --json --out report.json      the v1 report, for the back office or a ticket
  stca2-probe check --csv > isp-ticket.csv        rows to attach to an ISP ticket
  stca2-probe check --trace                       also say where the path to each closed port stops
  stca2-probe check --targets targets/lab-ca/lab.toml   against `stca2-probe lab` on loopback

Exit codes: 0 every site x port answered TLS with an STCA2 chain; 1 the check found a problem
(the first lines say what to open or fix); 2 bad arguments, a bad target file, a destination
refused by the allow-list, or the check could not run; 3 (with --upload) the report could not be
sent to the back office (it is printed, and kept in a file).";

/// `stca2-probe check`.
#[derive(Args)]
#[allow(missing_docs)] // flattened groups: clap would take a doc comment as help text
pub struct CheckArgs {
    /// The target set to check. Default: the built-in Lyra set (targets/lyra.toml,
    /// compiled in), whose CA anchors are read from $STCA2_PROBE_CA_DIR, else
    /// /etc/stca2-probe/ca, else the source tree's targets/ca.
    #[arg(long, short = 't', value_name = "FILE")]
    pub targets: Option<PathBuf>,
    /// Trace every site x port that does not open (a TCP traceroute on its port, see
    /// `stca2-probe trace`): the report then says where the path stops — the merchant's
    /// box, the ISP or beyond, or the gateway itself. Adds about a second.
    #[arg(long)]
    pub trace: bool,
    #[command(flatten)]
    pub probe: ProbeArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub installer: InstallerArgs,
    #[command(flatten)]
    pub upload: UploadArgs,
}

/// `check --upload`: the report goes to the back office too, so the support
/// desk sees what the installer saw (the daemon's upload client and rules;
/// the root binary runs it, see `stca2_daemon::check_upload`).
#[derive(Args)]
pub struct UploadArgs {
    /// After the check, send the report to the back office at URL (https://, verified
    /// against the system's CAs or --upload-ca; http:// to loopback only) with the
    /// probe's token, and print the report id to quote on the phone. Exit code 3 when
    /// it could not be sent (the report is still printed, and kept in a file).
    #[arg(
        long,
        value_name = "URL",
        requires = "upload_token",
        conflicts_with = "watch"
    )]
    pub upload: Option<String>,
    /// With --upload: the file holding the probe's token (never printed).
    #[arg(long, value_name = "FILE", requires = "upload")]
    pub upload_token: Option<PathBuf>,
    /// With --upload: the back office's CA (PEM) when it is not in the system's trust store.
    #[arg(long, value_name = "PEM", requires = "upload")]
    pub upload_ca: Option<PathBuf>,
}

/// How [`check_and_emit`] ended.
pub enum Ran {
    /// Nothing more to do: the exit code (an --explain, a watch, a refusal).
    Done(ExitCode),
    /// The check ran and its report was printed (or written to --out).
    Checked(Box<Report>),
}

/// What an installer at the router adds to a check: the legend, a watch
/// while the router's rules change.
#[derive(Args)]
pub struct InstallerArgs {
    /// Print how to read the report (what each status means, what to do) and exit.
    #[arg(long)]
    pub explain: bool,
    /// Check again every few seconds while the router's rules are being changed;
    /// print only what changed, ring the bell and exit 0 once everything is ready.
    #[arg(long, conflicts_with_all = ["json", "csv"])]
    pub watch: bool,
    /// With --watch: give up (exit 1) after this long.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration, requires = "watch")]
    pub watch_timeout: std::time::Duration,
    /// With --watch: the pause between two checks.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = parse_duration, requires = "watch")]
    pub watch_every: std::time::Duration,
}

/// How to probe: bounds, attempts, the allow-list, the link and who runs it.
#[derive(Args)]
pub struct ProbeArgs {
    /// Seconds each step may take (DNS, each TCP connect, each TLS handshake).
    #[arg(long, value_name = "SECS", default_value_t = 5.0, value_parser = parse_secs)]
    pub timeout: f64,
    /// Spaced attempts per site x port (latency percentiles and flakiness).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub attempts: u32,
    /// A network the probe may contact (repeatable). Replaces the default, which is
    /// exactly the target set's own addresses. The DNS server is a destination too:
    /// a site written as a hostname needs the DNS server's network here as well.
    /// STCA2_PROBE_ALLOW, when set, caps it (set but empty: nothing is allowed).
    #[arg(long = "allow", value_name = "CIDR", value_parser = parse_cidr)]
    pub allow: Vec<IpNet>,
    /// Local address to connect from (e.g. the 4G router's side versus the ADSL box).
    #[arg(long, value_name = "ADDR")]
    pub source: Option<std::net::IpAddr>,
    /// Network interface to connect through (SO_BINDTODEVICE; needs root or CAP_NET_RAW).
    #[arg(long, value_name = "NAME")]
    pub interface: Option<String>,
    /// A terminal's client certificate (PEM) to complete mutual-TLS checks.
    #[arg(long, value_name = "PEM", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The private key (PEM) that goes with --client-cert.
    #[arg(long, value_name = "PEM", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// The probe id written into the report (default: this machine's host name).
    #[arg(long, value_name = "ID")]
    pub probe_id: Option<String>,
    /// The merchant id written into the report.
    #[arg(long, value_name = "ID")]
    pub merchant: Option<String>,
}

/// How to print the report.
#[derive(Args)]
pub struct OutputArgs {
    /// Print the v1 JSON report (reports/report.schema.json).
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print ISP-ticket CSV rows (reports/csv-columns.md).
    #[arg(long)]
    pub csv: bool,
    /// With --json: include every certificate as PEM.
    #[arg(long, requires = "json")]
    pub with_pem: bool,
    /// Write the output to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Colour in the human report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// The language people read (the human report, the CSV's message
    /// column): set from the global `--lang`, else the locale.
    #[arg(skip)]
    pub lang: Lang,
}

/// When to colour the human report.
#[derive(Clone, Copy, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ProbeArgs {
    /// The probe settings these flags give.
    pub fn settings(&self, with_pem: bool) -> Settings {
        Settings {
            timeout: std::time::Duration::from_secs_f64(self.timeout),
            attempts: self.attempts,
            source: self.source,
            interface: self.interface.clone(),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
            with_pem,
        }
    }

    /// Who runs the check, as the report will say.
    pub fn identity(&self) -> stca2_report::ProbeIdentity {
        check::identity(
            self.probe_id.clone(),
            self.merchant.clone(),
            self.source,
            self.interface.clone(),
        )
    }
}

/// `--timeout`, `--wait`: seconds, 0.05 to 300 (errors in the language
/// of [`early_lang`], as [`parse_duration`]'s).
pub fn parse_secs(s: &str) -> Result<f64, String> {
    let words = || Words::new(process_lang());
    let v: f64 = s
        .parse()
        .map_err(|_| words().text("secs-invalid", Some(&args!("value" => s))))?;
    if v.is_finite() && (0.05..=300.0).contains(&v) {
        Ok(v)
    } else {
        Err(words().text("secs-range", Some(&args!("value" => s))))
    }
}

/// `--watch-timeout`, `--watch-every`: "10m", "90s", "1m 30s".
///
/// Clap calls this before `--lang` is known, so the error is in the
/// language of the command line's `--lang` if it has one, else the locale's.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let words = || Words::new(process_lang());
    let d = humantime::parse_duration(s).map_err(|e| {
        words().text(
            "duration-invalid",
            Some(&args!("value" => s, "error" => e.to_string())),
        )
    })?;
    if d.is_zero() {
        return Err(words().text("duration-zero", Some(&args!("value" => s))));
    }
    Ok(d)
}

/// [`early_lang`] of this process's command line (read lossily: an
/// argument that is not UTF-8, a file name say, must not stop the program).
pub fn process_lang() -> Lang {
    early_lang(std::env::args_os().map(|a| a.to_string_lossy().into_owned()))
}

/// The language a command line asks for (`--lang fr`, `--lang=fr`) before
/// clap has parsed it, else the locale's ([`Lang::from_env`]).
pub fn early_lang(args: impl IntoIterator<Item = String>) -> Lang {
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        let value = match a.strip_prefix("--lang=") {
            Some(v) => Some(v.to_string()),
            None if a == "--lang" => args.next(),
            None => None,
        };
        if let Some(lang) = value.as_deref().and_then(Lang::parse) {
            return lang;
        }
    }
    Lang::from_env()
}

/// `--allow`: one network (the error in the language of [`early_lang`]).
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    allow::parse_cidr(s).map_err(|e| e.said(Words::new(process_lang())))
}

/// Runs `stca2-probe check`.
pub async fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    Ok(match check_and_emit(&args).await? {
        Ran::Done(code) => code,
        Ran::Checked(report) => ExitCode::from(report.exit_code()),
    })
}

/// `check` up to its printed report, which it returns for what follows
/// (`--upload`).
pub async fn check_and_emit(args: &CheckArgs) -> anyhow::Result<Ran> {
    let words = Words::new(args.output.lang);
    if args.installer.explain {
        print!("{}", explain(words));
        return Ok(Ran::Done(ExitCode::SUCCESS));
    }
    let loaded = match &args.targets {
        Some(path) => TargetSet::load(path),
        None => TargetSet::builtin(),
    };
    let targets = match loaded {
        Ok(t) => t,
        Err(e) => {
            eprintln!("stca2-probe: {}", e.said(words));
            return Ok(Ran::Done(ExitCode::from(EXIT_USAGE)));
        }
    };
    let allow = check::allow_list(&targets, &args.probe.allow, allow::ceiling(words)?);
    if let Some(code) = refuse(&targets, &allow, words) {
        return Ok(Ran::Done(code));
    }
    let mut config = args
        .probe
        .settings(args.output.with_pem)
        .probe_config(allow)?;
    if args.trace {
        config.trace = Some(crate::probe::trace::TracePlan::default());
    }
    let identity = args.probe.identity();
    let total = targets.sites.len() * targets.ports.len();
    if std::io::stderr().is_terminal() && !args.output.json && !args.output.csv {
        eprintln!(
            "{}",
            words.text(
                "check-progress",
                Some(&args!(
                    "set" => targets.name.as_str(),
                    "sites" => targets.sites.len(),
                    "ports" => targets.ports.len(),
                    "total" => total,
                    "attempts" => config.attempts,
                    "timeout" => words.decimal(&human_duration(config.timeout)),
                ))
            )
        );
    }
    if args.installer.watch {
        return crate::watch::run(
            &targets,
            &config,
            &identity,
            &args.output,
            &args.installer,
            words,
        )
        .await
        .map(Ran::Done);
    }
    let report = check::run(&targets, &config, identity).await;
    emit(&report, &targets.warnings, &args.output)?;
    Ok(Ran::Checked(Box::new(report)))
}

/// Refuses a check the allow-list forbids, before anything is sent: prints
/// why and returns the exit code; `None` when every site may be probed.
pub fn refuse(targets: &TargetSet, allow: &AllowList, words: Words) -> Option<ExitCode> {
    let refused = check::refused_targets(targets, allow);
    if refused.is_empty() {
        return None;
    }
    for why in &refused {
        eprintln!("stca2-probe: {}", why.said(words));
    }
    if allow.ceiling().is_some_and(<[IpNet]>::is_empty) {
        eprintln!(
            "stca2-probe: {}",
            words.text(
                "check-ceiling-empty",
                Some(&args!("variable" => allow::CEILING_ENV))
            )
        );
    }
    eprintln!(
        "stca2-probe: {}",
        words.text(
            "check-nothing-sent",
            Some(&args!("path" => targets.path.display().to_string()))
        )
    );
    Some(ExitCode::from(EXIT_USAGE))
}

/// Renders the report as asked and writes it to stdout or, atomically, to --out.
pub fn emit(report: &Report, warnings: &[TargetWarning], out: &OutputArgs) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    let words = Words::new(out.lang);
    if out.json {
        serde_json::to_writer_pretty(&mut buf, report)?;
        buf.push(b'\n');
    } else if out.csv {
        // The columns are the contract's; the explanation (the failover
        // message) is in the reader's language.
        let mut report = report.clone();
        if let Some(m) = report
            .summary
            .failover
            .params
            .as_ref()
            .and_then(|f| words.failover(f))
        {
            report.summary.failover.message = m;
        }
        stca2_report::csv::write(&mut buf, std::slice::from_ref(&report), None)?;
    } else {
        let color = match out.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                out.out.is_none()
                    && std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        crate::human::render(report, warnings, words, &mut buf, color)?;
    }
    match &out.out {
        Some(path) => write_atomically(path, &buf).with_context(|| {
            words.text(
                "check-cannot-write",
                Some(&args!("path" => path.display().to_string())),
            )
        })?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&buf)?;
            stdout.flush()?;
        }
    }
    Ok(())
}

/// How to read the report (`check --explain`): what each status means and
/// what to do, in the reader's language.
pub fn explain(words: Words) -> String {
    const LINES: [&str; 8] = [
        "explain-tcp-timeout",
        "explain-tcp-refused",
        "explain-tcp-unreachable",
        "explain-tls-reset",
        "explain-ca-stca",
        "explain-ca-unknown",
        "explain-tls-client-auth",
        "explain-not-measured",
    ];
    let mut out = words.text("explain-title", None);
    out.push('\n');
    for id in LINES {
        out.push_str("- ");
        out.push_str(&words.text(id, None));
        out.push('\n');
    }
    out
}
