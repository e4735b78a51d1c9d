//! The `stca2-probe` binary: one command line over the workspace's crates.
//! Each area owns its subcommands and the code behind them; this file only
//! assembles them and turns the outcome into an exit code.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use stca2_engine::cli::{self as check, EXIT_USAGE};

use logging::LogFormat;

/// The builds with the back office allocate with mimalloc: `serve` parses,
/// checks and frees a JSON tree of some 10 KB per upload, and glibc's
/// allocator took about 15 % of the server's CPU at fleet load; with
/// mimalloc the server spends 0.35 ms of CPU per report instead of 0.49 on
/// PostgreSQL (BENCHMARKS.md, "Fleet scale"). The shop build (`check`, `daemon` on a shop's box) keeps the
/// system allocator, and its smaller footprint.
#[cfg(feature = "backoffice")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `stca2-probe --help`: the demo is named only in the builds that have it.
macro_rules! long_about {
    ($($tail:literal)?) => {
        concat!(
            "Can this network reach the payment gateway's STCA2 entrance?\n\n\
            Payment terminals must move to the gateway's STCA2 entrance: TLS on port 1146 \
            (and 7212 for terminal declaration) at site 1 Toulouse (primary) and site 2 \
            Bordeaux (secondary), with a certificate from the new STCA2 authority. \
            stca2-probe checks every site and port from the shop's own network and says, \
            in plain words, what the merchant's router or the ISP must change."
            $(, $tail)?
        )
    };
}
#[cfg(feature = "lab")]
const LONG_ABOUT: &str = long_about!(
    "\n\nStart with `stca2-probe demo` to see a whole check against a simulated gateway."
);
#[cfg(not(feature = "lab"))]
const LONG_ABOUT: &str = long_about!();

#[derive(Parser)]
#[command(
    name = "stca2-probe",
    version,
    about = "Can this network reach the payment gateway's STCA2 entrance?",
    long_about = LONG_ABOUT,
    after_help = "Exit codes: 0 ready for STCA2, 1 the check found a problem, 2 bad arguments, \
        a bad target file, or the check could not run, 3 (check --upload, daemon --once) the report \
        could not be sent."
)]
struct Cli {
    /// Log lines on stderr (serve, daemon): human text, or one JSON object a line for log shippers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// The language of what people read (reports, verdicts, the CSV's message column,
    /// errors to act on): fr or en. Default: the locale (LC_ALL, LC_MESSAGES, LANG;
    /// fr_FR.UTF-8 is French), else English. The JSON report stays English. Also sets
    /// the language of --help.
    #[arg(long, global = true, value_name = "fr|en")]
    lang: Option<stca2_words::Lang>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check every site x port of a target set, all in parallel, and give a verdict.
    #[command(after_help = check::CHECK_EXAMPLES)]
    Check(Box<check::CheckArgs>),
    /// Where does the path to ADDRESS:PORT stop? A TCP traceroute on the real port.
    #[command(after_help = stca2_engine::trace::TRACE_EXAMPLES)]
    Trace(stca2_engine::trace::TraceArgs),
    /// Run checks on a schedule, spool the reports and upload them to the back office.
    #[command(after_help = stca2_daemon::cli::DAEMON_EXAMPLES)]
    Daemon(stca2_daemon::cli::DaemonArgs),
    /// Serve simulated gateways on loopback (127.0.38.45, 127.0.38.173) until Ctrl-C.
    #[cfg(feature = "lab")]
    Lab(stca2_lab::cli::LabArgs),
    /// Start the lab in-process, check it, and show the report: the product in seconds.
    #[cfg(feature = "lab")]
    Demo(stca2_lab::cli::DemoArgs),
    #[cfg(feature = "backoffice")]
    #[command(flatten)]
    Backoffice(stca2_backoffice::Command),
    #[cfg(not(all(feature = "backoffice", feature = "lab")))]
    #[command(flatten)]
    Absent(absent::Command),
}

impl Command {
    /// Whether the command is a service that logs as it runs (`serve`,
    /// `daemon`). The others print their output and, at most, why they failed.
    fn logs(&self) -> bool {
        match self {
            Command::Daemon(_) => true,
            #[cfg(feature = "backoffice")]
            Command::Backoffice(stca2_backoffice::Command::Serve(_)) => true,
            _ => false,
        }
    }
}

fn main() -> ExitCode {
    // `--help` in the language asked for, before clap has parsed `--lang`.
    let help_lang = check::process_lang();
    let cli = help::localise(Cli::command(), help_lang)
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map_err(|e| e.format(&mut Cli::command())))
        .unwrap_or_else(|e| e.exit());
    let log_format = cli.log_format;
    logging::init(log_format, cli.command.logs());
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
    let lang = cli.lang.unwrap_or_else(stca2_words::Lang::from_env);
    let result = runtime.block_on(async {
        match cli.command {
            Command::Check(mut args) => {
                args.output.lang = lang;
                if args.upload.upload.is_some() {
                    stca2_daemon::check_upload::run(*args).await
                } else {
                    check::run(*args).await
                }
            }
            Command::Trace(args) => stca2_engine::trace::run(args, lang).await,
            Command::Daemon(args) => stca2_daemon::cli::run(args, lang).await,
            #[cfg(feature = "lab")]
            Command::Lab(mut args) => {
                args.lang = lang;
                stca2_lab::cli::run_lab(args).await
            }
            #[cfg(feature = "lab")]
            Command::Demo(mut args) => {
                args.output.lang = lang;
                stca2_lab::cli::run_demo(args).await
            }
            #[cfg(feature = "backoffice")]
            Command::Backoffice(cmd) => stca2_backoffice::run(cmd, lang).await,
            #[cfg(not(all(feature = "backoffice", feature = "lab")))]
            Command::Absent(cmd) => Ok(cmd.explain(lang)),
        }
    });
    // A task stuck in blocking I/O must not hold the exit past the
    // daemon's 10 s shutdown bound.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(code) => code,
        Err(e) => {
            logging::fatal(log_format, &e);
            ExitCode::from(EXIT_USAGE)
        }
    }
}

mod help;
mod logging;

#[cfg(not(all(feature = "backoffice", feature = "lab")))]
mod absent;
