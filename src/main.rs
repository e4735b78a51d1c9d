//! The `stca2-probe` command line: parses arguments, calls the library,
//! prints, and sets the exit code (0 ready, 1 problem found, 2 could not run).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

use stca2_probe::allow::{self, AllowList};
use stca2_probe::check;
use stca2_probe::lab::{Behaviour, Lab, LabConfig, Scenario};
use stca2_probe::probe::{ClientIdentity, ProbeConfig};
use stca2_probe::report::{self, ProbeIdentity, Report};
use stca2_probe::targets::TargetSet;

/// Exit code: bad arguments, a bad target file, or the check could not run.
/// (0 and 1 come from [`Report::exit_code`].)
const EXIT_USAGE: u8 = 2;

/// Shown under `stca2-probe check --help`.
const CHECK_EXAMPLES: &str = "\
Examples:
  stca2-probe check                               the real gateway, from the shop's own network
  stca2-probe check --interface wwan0             the same over the 4G link instead of the ADSL box
  stca2-probe check --json --out report.json      the v1 report, for the back office or a ticket
  stca2-probe check --csv > isp-ticket.csv        rows to attach to an ISP ticket
  stca2-probe check --targets targets/lab-ca/lab.toml   against `stca2-probe lab` on loopback

Exit codes: 0 every site x port answered TLS with an STCA2 chain; 1 the check found a problem
(the first lines say what to open or fix); 2 bad arguments, a bad target file, a destination
refused by the allow-list, or the check could not run.";

#[derive(Parser)]
#[command(
    name = "stca2-probe",
    version,
    about = "Can this network reach the payment gateway's STCA2 entrance?",
    long_about = "Can this network reach the payment gateway's STCA2 entrance?\n\n\
        Payment terminals must move to the gateway's STCA2 entrance: TLS on port 1146 \
        (and 7212 for terminal declaration) at site 1 Toulouse (primary) and site 2 \
        Bordeaux (secondary), with a certificate from the new STCA2 authority. \
        stca2-probe checks every site and port from the shop's own network and says, \
        in plain words, what the merchant's router or the ISP must change.\n\n\
        Start with `stca2-probe demo` to see a whole check against a simulated gateway.",
    after_help = "Exit codes: 0 ready for STCA2, 1 the check found a problem, 2 bad arguments, \
        a bad target file, or the check could not run."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check every site x port of a target set, all in parallel, and give a verdict.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Serve simulated gateways on loopback (127.0.38.45, 127.0.38.173) until Ctrl-C.
    Lab(LabArgs),
    /// Start the lab in-process, check it, and show the report: the product in seconds.
    Demo(DemoArgs),
    #[command(flatten)]
    Backoffice(stca2_probe::backoffice::Command),
}

#[derive(Args)]
struct CheckArgs {
    /// The target set to check. Default: the built-in Lyra set (targets/lyra.toml,
    /// compiled in), whose CA anchors are read from $STCA2_PROBE_CA_DIR, else
    /// /etc/stca2-probe/ca, else the source tree's targets/ca.
    #[arg(long, short = 't', value_name = "FILE")]
    targets: Option<PathBuf>,
    #[command(flatten)]
    probe: ProbeArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct ProbeArgs {
    /// Seconds each step may take (DNS, each TCP connect, each TLS handshake).
    #[arg(long, value_name = "SECS", default_value_t = 5.0, value_parser = parse_secs)]
    timeout: f64,
    /// Spaced attempts per site x port (latency percentiles and flakiness).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    attempts: u32,
    /// A network the probe may contact (repeatable). Replaces the default, which is
    /// exactly the target set's own addresses. The DNS server is a destination too:
    /// a site written as a hostname needs the DNS server's network here as well.
    /// STCA2_PROBE_ALLOW, when set, caps it (set but empty: nothing is allowed).
    #[arg(long = "allow", value_name = "CIDR", value_parser = parse_cidr)]
    allow: Vec<IpNet>,
    /// Local address to connect from (e.g. the 4G router's side versus the ADSL box).
    #[arg(long, value_name = "ADDR")]
    source: Option<std::net::IpAddr>,
    /// Network interface to connect through (SO_BINDTODEVICE; needs root or CAP_NET_RAW).
    #[arg(long, value_name = "NAME")]
    interface: Option<String>,
    /// A terminal's client certificate (PEM) to complete mutual-TLS checks.
    #[arg(long, value_name = "PEM", requires = "client_key")]
    client_cert: Option<PathBuf>,
    /// The private key (PEM) that goes with --client-cert.
    #[arg(long, value_name = "PEM", requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// The probe id written into the report (default: this machine's host name).
    #[arg(long, value_name = "ID")]
    probe_id: Option<String>,
    /// The merchant id written into the report.
    #[arg(long, value_name = "ID")]
    merchant: Option<String>,
}

#[derive(Args)]
struct OutputArgs {
    /// Print the v1 JSON report (reports/report.schema.json).
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print ISP-ticket CSV rows (reports/csv-columns.md).
    #[arg(long)]
    csv: bool,
    /// With --json: include every certificate as PEM.
    #[arg(long, requires = "json")]
    with_pem: bool,
    /// Write the output to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
    /// Colour in the human report.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

#[derive(Args)]
struct LabArgs {
    /// What the simulated gateways do: a scenario, or a behaviour for every
    /// site and port (see --list).
    #[arg(long, short = 's', default_value = "healthy")]
    scenario: String,
    /// List the scenarios and behaviours, then exit.
    #[arg(long)]
    list: bool,
    /// Where to write the lab's generated CA certificates, and the matching
    /// target file (lab.toml) to check it with.
    #[arg(long, value_name = "DIR", default_value = "targets/lab-ca")]
    ca_dir: PathBuf,
}

#[derive(Args)]
struct DemoArgs {
    /// The lab scenario to check (or a behaviour for every site and port).
    #[arg(long, short = 's', default_value = "mixed")]
    scenario: String,
    #[command(flatten)]
    output: OutputArgs,
}

fn parse_secs(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if v.is_finite() && (0.05..=300.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{s} s is out of range: use 0.05 to 300 seconds"))
    }
}

fn parse_cidr(s: &str) -> Result<IpNet, String> {
    allow::parse_cidr(s).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stca2-probe: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Check(args) => cmd_check(args).await,
            Command::Lab(args) => cmd_lab(args).await,
            Command::Demo(args) => cmd_demo(args).await,
            Command::Backoffice(cmd) => stca2_probe::backoffice::run(cmd).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("stca2-probe: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

async fn cmd_check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let loaded = match &args.targets {
        Some(path) => TargetSet::load(path),
        None => TargetSet::builtin(),
    };
    let targets = match loaded {
        Ok(t) => t,
        Err(e) => {
            eprintln!("stca2-probe: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let allow = check::allow_list(&targets, &args.probe.allow, AllowList::ceiling_from_env()?);
    if let Some(code) = refuse(&targets, &allow) {
        return Ok(code);
    }
    let config = probe_config(&args.probe, allow, args.output.with_pem)?;
    let identity = identity(&args.probe);
    let total = targets.sites.len() * targets.ports.len();
    if std::io::stderr().is_terminal() && !args.output.json && !args.output.csv {
        eprintln!(
            "checking {} ({} sites x {} ports = {total} targets, {} attempts each, up to {} per step)…",
            targets.name,
            targets.sites.len(),
            targets.ports.len(),
            config.attempts,
            human_duration(config.timeout)
        );
    }
    let report = check::run(&targets, &config, identity).await;
    emit(&report, &targets.warnings, &args.output)?;
    Ok(ExitCode::from(report.exit_code()))
}

/// Refuses a check the allow-list forbids, before anything is sent: prints
/// why and returns the exit code; `None` when every site may be probed.
fn refuse(targets: &TargetSet, allow: &AllowList) -> Option<ExitCode> {
    let refused = check::refused_targets(targets, allow);
    if refused.is_empty() {
        return None;
    }
    for why in &refused {
        eprintln!("stca2-probe: {why}");
    }
    if allow.ceiling().is_some_and(<[IpNet]>::is_empty) {
        eprintln!(
            "stca2-probe: {} is set but empty, which allows nothing; unset it, or list the networks the probe may contact",
            allow::CEILING_ENV
        );
    }
    eprintln!(
        "stca2-probe: nothing was sent; no target of {} was contacted",
        targets.path.display()
    );
    Some(ExitCode::from(EXIT_USAGE))
}

/// "50 ms", "1.5 s", "5 s": a step bound as a person reads it.
fn human_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{} ms", d.as_millis());
    }
    let text = format!("{:.2}", d.as_secs_f64());
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} s")
}

fn probe_config(args: &ProbeArgs, allow: AllowList, with_pem: bool) -> anyhow::Result<ProbeConfig> {
    let mut config = ProbeConfig::new(allow);
    config.timeout = Duration::from_secs_f64(args.timeout);
    config.attempts = args.attempts;
    config.source = args.source;
    config.interface = args.interface.clone();
    config.with_pem = with_pem;
    config.client_identity = match (&args.client_cert, &args.client_key) {
        (Some(cert), Some(key)) => Some(ClientIdentity::from_pem_files(cert, key)?),
        _ => None,
    };
    Ok(config)
}

fn identity(args: &ProbeArgs) -> ProbeIdentity {
    let hostname = check::hostname();
    let id = args
        .probe_id
        .clone()
        .or_else(|| hostname.clone())
        .unwrap_or_else(|| "unknown".to_string());
    let mut identity = ProbeIdentity::new(id);
    identity.hostname = hostname;
    identity.merchant = args.merchant.clone();
    identity.source = args.source.map(|s| s.to_string());
    identity.interface = args.interface.clone();
    identity
}

/// Renders the report as asked and writes it to stdout or, atomically, to --out.
fn emit(report: &Report, warnings: &[String], out: &OutputArgs) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    if out.json {
        serde_json::to_writer_pretty(&mut buf, report)?;
        buf.push(b'\n');
    } else if out.csv {
        report::csv::write(&mut buf, std::slice::from_ref(report), None)?;
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
        report::human::render(report, warnings, &mut buf, color)?;
    }
    match &out.out {
        Some(path) => write_atomically(path, &buf)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&buf)?;
            stdout.flush()?;
        }
    }
    Ok(())
}

/// Writes to a temporary file beside `path`, syncs it, then renames it over
/// `path`: a reader sees the old file or the new one, never half of one.
fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A named scenario, or a behaviour name for every site and port
/// (`--scenario silent`).
fn scenario(name: &str) -> anyhow::Result<Scenario> {
    if let Ok(s) = Scenario::named(name) {
        return Ok(s);
    }
    match name.parse::<Behaviour>() {
        Ok(b) => Ok(Scenario::uniform(b)),
        Err(_) => anyhow::bail!(
            "`{name}` is neither a scenario nor a behaviour: choose a scenario ({}) or a behaviour for every site and port ({}); `stca2-probe lab --list` describes them",
            Scenario::names().join(", "),
            Behaviour::ALL.map(|b| b.as_str()).join(", ")
        ),
    }
}

async fn cmd_lab(args: LabArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        println!("scenarios:");
        for name in Scenario::names() {
            let s = scenario(name)?;
            println!("  {name:<18} {}", s.description());
        }
        println!("behaviours (also usable as --scenario, for every site and port):");
        for b in Behaviour::ALL {
            println!("  {:<18} {}", b.as_str(), b.description());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut config = LabConfig::new(scenario(&args.scenario)?);
    config.ca_dir = args.ca_dir.clone();
    let lab = Lab::start(config).await?;
    let target_file = args.ca_dir.join("lab.toml");
    lab.write_target_file(&target_file)
        .with_context(|| format!("cannot write {}", target_file.display()))?;
    println!("stca2-probe lab: scenario `{}`", lab.scenario().name);
    for e in lab.endpoints() {
        println!(
            "  {:<9} {:<9} {:<21} {}",
            e.site,
            e.role.as_str(),
            e.addr.to_string(),
            e.behaviour
        );
    }
    println!("CA certificates written to {}", args.ca_dir.display());
    println!("Target file written to {}", target_file.display());
    println!(
        "In another terminal: stca2-probe check --targets {}",
        target_file.display()
    );
    println!("Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    lab.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn cmd_demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    // Dropped last, on every path: the lab's PKI and target file go with it.
    let dir = tempfile::Builder::new()
        .prefix("stca2-probe-demo-")
        .tempdir()
        .context("cannot create a scratch folder for the demo")?;
    let mut config = LabConfig::new(scenario(&args.scenario)?);
    config.ca_dir = dir.path().join("lab-ca");
    let lab = Lab::start(config).await?;
    let target_file = dir.path().join("demo.toml");
    lab.write_target_file(&target_file)
        .with_context(|| format!("cannot write {}", target_file.display()))?;
    let targets = TargetSet::load(&target_file)?;
    let allow = AllowList::new(
        vec![allow::parse_cidr("127.0.0.0/8")?],
        AllowList::ceiling_from_env()?,
    );
    if let Some(code) = refuse(&targets, &allow) {
        lab.shutdown().await;
        return Ok(code);
    }
    if !args.output.json && !args.output.csv {
        let mut ips: Vec<String> = lab
            .endpoints()
            .iter()
            .map(|e| e.addr.ip().to_string())
            .collect();
        ips.dedup();
        eprintln!(
            "demo: a simulated gateway (scenario `{}`) is serving on {}; checking it…\n",
            lab.scenario().name,
            ips.join(" and ")
        );
    }
    let mut config = ProbeConfig::new(allow);
    config.timeout = Duration::from_secs(1);
    config.spacing = Duration::from_millis(50);
    config.with_pem = args.output.with_pem;
    let mut identity = ProbeIdentity::new("demo");
    identity.hostname = check::hostname();
    let report = check::run(&targets, &config, identity).await;
    lab.shutdown().await;
    emit(&report, &targets.warnings, &args.output)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        for (d, want) in [
            (Duration::from_millis(50), "50 ms"),
            (Duration::from_millis(999), "999 ms"),
            (Duration::from_secs(1), "1 s"),
            (Duration::from_millis(1500), "1.5 s"),
            (Duration::from_millis(2250), "2.25 s"),
            (Duration::from_secs(300), "300 s"),
        ] {
            assert_eq!(human_duration(d), want);
        }
    }

    #[test]
    fn scenarios_fall_back_to_behaviours() {
        assert_eq!(scenario("healthy").unwrap().name, "healthy");
        let s = scenario("silent").unwrap();
        assert_eq!(
            s.behaviour(stca2_probe::targets::Role::Primary, 1146),
            Behaviour::Silent
        );
        assert_eq!(
            s.behaviour(stca2_probe::targets::Role::Secondary, 7212),
            Behaviour::Silent
        );
        let e = scenario("nope").unwrap_err().to_string();
        assert!(
            e.contains("primary-blocked") && e.contains("reset-after-hello"),
            "{e}"
        );
    }
}
