//! `stca2-probe trace ADDRESS:PORT`: who blocks the port, hop by hop.
//!
//! A TCP traceroute on the real port ([`crate::probe::trace`]), then the
//! verdict's reading of it (where the path stops: the merchant's box, the
//! ISP or beyond, or the gateway itself) in one sentence. The destination
//! passes the allow-list and the `STCA2_PROBE_ALLOW` ceiling exactly as a
//! `check` target does, before any socket exists.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use ipnet::IpNet;
use stca2_report::{HopAnswer, PathTrace};
use stca2_words::{Lang, Words, args, findings};

use crate::allow::{self, AllowList};
use crate::cli::{EXIT_USAGE, parse_cidr};
use crate::probe::tcp::ConnectOptions;
use crate::probe::trace::{self, TracePlan};

/// Shown under `stca2-probe trace --help`.
pub const TRACE_EXAMPLES: &str = "\
Examples:
  stca2-probe trace 194.50.38.45:1146               where does the path to site 1's STCA2 port stop?
  stca2-probe trace 194.50.38.45:1146 --interface wwan0   the same over the 4G link
  stca2-probe check --trace                         a whole check, tracing every port that did not open

Each hop is the router whose ICMP \"time exceeded\" answered a SYN sent with that TTL, on the
real port (no raw socket, no root needed without --interface). The last line says where the path
stops: at the merchant's box (hop 1, the default gateway), at the ISP or beyond, or at the gateway
itself (a TCP reset from the destination).

Exit codes: 0 the port answered (open) at the end of the path; 1 the path stops before it, or the
port refuses; 2 bad arguments, or a destination refused by the allow-list.";

/// `stca2-probe trace`.
#[derive(Args)]
pub struct TraceArgs {
    /// The destination, an IP address and a port: `194.50.38.45:1146`, `[2001:db8::1]:1146`.
    #[arg(value_name = "ADDRESS:PORT")]
    pub target: SocketAddr,
    /// A network the trace may contact (repeatable). Default: exactly the destination.
    /// STCA2_PROBE_ALLOW, when set, caps it (set but empty: nothing is allowed).
    #[arg(long = "allow", value_name = "CIDR", value_parser = parse_cidr)]
    pub allow: Vec<IpNet>,
    /// Local address to send from (e.g. the 4G router's side versus the ADSL box).
    #[arg(long, value_name = "ADDR")]
    pub source: Option<std::net::IpAddr>,
    /// Network interface to send through (SO_BINDTODEVICE; needs root or CAP_NET_RAW).
    #[arg(long, value_name = "NAME")]
    pub interface: Option<String>,
    /// The highest TTL tried.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u8).range(1..=64))]
    pub max_hops: u8,
    /// SYNs sent per TTL.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub probes: u32,
    /// Seconds each SYN waits for an answer.
    #[arg(long, value_name = "SECS", default_value_t = 1.0, value_parser = crate::cli::parse_secs)]
    pub wait: f64,
    /// Print the trace as JSON (the `trace` object of the v1 report's extension).
    #[arg(long)]
    pub json: bool,
}

/// Runs `stca2-probe trace`.
pub async fn run(args: TraceArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let words = Words::new(lang);
    let allowed = if args.allow.is_empty() {
        vec![IpNet::from(args.target.ip())]
    } else {
        args.allow.clone()
    };
    let allow = AllowList::new(allowed, crate::allow::ceiling(words)?);
    if let Err(refusal) = allow.check(args.target.ip()) {
        let target = args.target.to_string();
        eprintln!(
            "stca2-probe: {}",
            words.text(
                "trace-refusing",
                Some(&args!("target" => target.as_str(), "why" => refusal.said(words)))
            )
        );
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
            words.text("trace-nothing-sent", Some(&args!("target" => target)))
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let wait = Duration::from_secs_f64(args.wait);
    let plan = TracePlan {
        max_hops: args.max_hops,
        probes_per_hop: args.probes,
        wait,
        deadline: wait * u32::from(args.max_hops.div_ceil(TracePlan::default().window)) + wait,
        ..TracePlan::default()
    };
    let opts = ConnectOptions {
        source: args.source,
        interface: args.interface.clone(),
        timeout: wait,
    };
    let traced = match trace::trace(args.target, &opts, plan).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "stca2-probe: {}",
                words.text("trace-cannot-run", Some(&args!("error" => e)))
            );
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let open = traced.hops.iter().any(|h| h.answer == HopAnswer::Open);
    let mut out = Vec::new();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &traced)?;
        out.push(b'\n');
    } else {
        render(&mut out, words, &args.target, &traced)?;
    }
    std::io::stdout().lock().write_all(&out)?;
    Ok(ExitCode::from(if open { 0 } else { 1 }))
}

/// The hops, one a line, then where the path stops.
fn render(
    out: &mut Vec<u8>,
    words: Words,
    target: &SocketAddr,
    t: &PathTrace,
) -> std::io::Result<()> {
    let header = words.text(
        "trace-header",
        Some(&args!("target" => target.to_string(), "probes" => t.probes_per_hop.to_string())),
    );
    writeln!(out, "{header}")?;
    for h in &t.hops {
        let who = h
            .address
            .map(|a| {
                if Some(a) == t.default_gateway {
                    words.text(
                        "trace-default-gateway",
                        Some(&args!("address" => a.to_string())),
                    )
                } else {
                    a.to_string()
                }
            })
            .unwrap_or_else(|| "*".into());
        let rtt = h
            .rtt_ms
            .map(|ms| words.decimal(&format!("{ms:.1} ms")))
            .unwrap_or_else(|| "-".into());
        let icmp = h
            .icmp
            .as_deref()
            .map(|i| format!(" ICMP {i}"))
            .unwrap_or_default();
        writeln!(
            out,
            "{:>3}  {who:<36} {:<14} {}/{}  {rtt}{icmp}",
            h.ttl,
            h.answer.as_str(),
            h.answered,
            t.probes_per_hop
        )?;
    }
    let what = target.to_string();
    let endpoint = words.endpoint_of(&target.ip().to_string(), target.port());
    let sentence = match t.hops.iter().find(|h| h.answer == HopAnswer::Open) {
        Some(h) => findings::trace_open(&words, &endpoint, h.ttl),
        None => {
            let (at, hop, address, how) = crate::verdict::path_stop(t, None);
            findings::path_stop(&words, &what, &endpoint, at, hop, address, how)
        }
    };
    writeln!(out, "\n{sentence}")
}
