//! Network faults on the shop's whole path: shop -> box -> ISP -> gateway,
//! four namespaces built by `util::path`, faults injected with nftables in
//! the box, the ISP or the gateway, and the check (or `trace`) run from the
//! shop. Without root, `ip` or `nft` every test prints a loud `SKIPPED:` and
//! passes.

use std::path::Path as FsPath;
use std::time::Instant;

use crate::util::path::{Hop, Options, Path, chain};
use crate::util::report::result;
use stca2_report::{Role, TcpStatus, TlsStatus};

/// True when a namespace of this name exists.
fn namespace_exists(name: &str) -> bool {
    FsPath::new("/run/netns").join(name).exists()
}

#[test]
fn the_path_is_built_checked_and_removed() {
    let names;
    {
        let Some(p) = Path::build("built", Options::default()) else {
            return;
        };
        names = [
            p.shop.clone(),
            p.boxx.clone(),
            p.isp.clone(),
            p.gateway.clone(),
        ];
        assert!(names.iter().all(|n| namespace_exists(n)));
        let lab = p.start_lab("healthy");
        let report = p.check(&lab.targets, p.config());
        for r in &report.results {
            assert_eq!(r.tcp.status, TcpStatus::Open, "{r:#?}");
        }
        assert_eq!(
            result(&report, Role::Primary, 1146)
                .tls
                .as_ref()
                .map(|t| t.status),
            Some(TlsStatus::Ok)
        );
        assert!(report.summary.ok, "{:#?}", report.summary);
        // The path really has three hops: the ISP's router sees the traffic.
        p.rule(
            Hop::Isp,
            "ip daddr 10.0.0.0/8 tcp dport 1146 counter comment \"seen\"",
        );
        let again = p.check(&lab.targets, p.config());
        assert!(again.summary.ok);
        assert!(p.counter(Hop::Isp, "seen") >= 1, "no SYN crossed the ISP");
    }
    for n in &names {
        assert!(!namespace_exists(n), "{n} left behind");
    }
}

#[test]
fn the_path_is_removed_after_a_failed_test() {
    let mut names = Vec::new();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let Some(p) = Path::build(
            "failed",
            Options {
                nat: true,
                backup: true,
            },
        ) else {
            return false;
        };
        names = vec![p.shop.clone(), p.boxx.clone(), p.backup.clone().unwrap()];
        panic!("a test fails with its path built");
    }));
    if matches!(outcome, Ok(false)) {
        return;
    }
    assert!(outcome.is_err());
    assert_eq!(names.len(), 3);
    for n in &names {
        assert!(!namespace_exists(n), "{n} left behind after a panic");
    }
}

/// The box drops everything to `ip` (both ports), as a router blocking a site does.
fn drop_site(p: &Path, ip: std::net::IpAddr) {
    p.rule(
        Hop::Box,
        &format!("ip daddr {ip} counter drop comment \"dropped\""),
    );
}

/// Issue 10 item 2: with the default settings, a primary site dropped by the
/// box is decided by one race of the 1 s budget per port, both ports at
/// once, while the other site keeps its three spaced latency samples: the
/// whole check is decided in about a second (the wall-clock figure is a
/// benchmark's, BENCHMARKS.md; this test asserts what the probe decided and
/// how, not how long the machine took).
#[test]
fn a_dropped_primary_decides_the_default_check_fast() {
    let Some(p) = Path::build("fastdrop", Options::default()) else {
        return;
    };
    drop_site(&p, p.primary());
    let lab = p.start_lab("healthy");
    let config = p.config();
    assert_eq!(
        config.timeout,
        std::time::Duration::from_secs(5),
        "not the default step"
    );
    assert_eq!(
        config.race.budget,
        std::time::Duration::from_secs(1),
        "not the default race budget"
    );
    let start = Instant::now();
    let report = p.check(&lab.targets, config);
    eprintln!("the whole default check took {:?}", start.elapsed());
    for port in [1146, 7212] {
        let r = result(&report, Role::Primary, port);
        assert_eq!(r.tcp.status, TcpStatus::Timeout, "{r:#?}");
        // One race, lost after the 1 s budget with several SYNs: not a 5 s
        // step, and no second attempt after a silence.
        assert_eq!(r.tcp.attempts, 1, "{r:#?}");
        let detail = r.tcp.detail.as_deref().unwrap_or_default();
        // The budget: 1 s, or four times the slowest connect the other
        // site made (a loaded machine can stretch it), never the 5 s step.
        assert!(
            detail.contains("TCP connection attempts within ") && !detail.contains("within 5 s"),
            "{detail}"
        );
        assert!(detail.contains("silently drops"), "{detail}");
        let s = result(&report, Role::Secondary, port);
        assert_eq!(s.tcp.status, TcpStatus::Open, "{s:#?}");
        assert_eq!(s.tcp.successes, 3, "three latency samples: {s:#?}");
        assert!(s.tcp.connect_ms.is_some());
    }
    assert!(report.summary.stca2_port_closed);
    assert!(
        p.counter(Hop::Box, "dropped") >= 4,
        "several SYNs raced per port"
    );
}

/// Issue 10 item 2: a line losing 20 % of the packets in each direction
/// never makes an open port look blocked. 100 target-checks here (the
/// design's bound is 1.3e-9 per target-check); the benchmark runs 1,000+.
#[test]
fn twenty_percent_loss_never_looks_blocked() {
    let Some(p) = Path::build("loss20", Options::default()) else {
        return;
    };
    p.loss(20);
    let lab = p.start_lab("healthy");
    let mut config = p.config();
    config.attempts = 1;
    let mut checked = 0;
    let mut extra_syns = 0;
    for _ in 0..25 {
        let report = p.check(&lab.targets, config.clone());
        for r in &report.results {
            checked += 1;
            assert_eq!(r.tcp.status, TcpStatus::Open, "{r:#?}");
            if r.tcp
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("SYNs for"))
            {
                extra_syns += 1;
            }
        }
        assert!(!report.summary.stca2_port_closed, "{:#?}", report.summary);
        assert!(
            report
                .summary
                .findings
                .iter()
                .all(|f| f.code != "port_closed")
        );
    }
    assert_eq!(checked, 100);
    // The loss was real: packets were dropped, and some races needed more than one SYN.
    assert!(p.counter(Hop::Box, "loss") > 0);
    eprintln!("{extra_syns} of {checked} target-checks needed more than one SYN");
    assert!(
        extra_syns > 0,
        "20 % loss never cost a SYN in 100 target-checks"
    );
}

/// One row of tests/faults.toml.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Fault {
    name: String,
    hop: Option<String>,
    rule: Option<String>,
    route: Option<String>,
    loss: Option<u8>,
    lab: Option<String>,
    #[serde(default)]
    mtu_black_hole: bool,
    #[serde(default)]
    intercept: bool,
    target: String,
    tcp: String,
    tls: String,
    detail: Option<String>,
    findings: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
    path_mtu: Option<u32>,
    blocking_hop: String,
    recommendation: String,
}

#[derive(serde::Deserialize)]
struct Table {
    fault: Vec<Fault>,
}

fn table() -> Vec<Fault> {
    let text = include_str!("faults.toml");
    toml::from_str::<Table>(text)
        .expect("tests/faults.toml parses")
        .fault
}

fn hop_named(name: &str) -> Hop {
    match name {
        "box" => Hop::Box,
        "isp" => Hop::Isp,
        "gateway" => Hop::Gateway,
        other => panic!("unknown hop {other} in tests/faults.toml"),
    }
}

/// Injects a row's fault, runs `check --trace` with the defaults from the
/// shop, and returns every way the outcome differs from the row.
fn run_fault(index: usize, f: &Fault) -> Vec<String> {
    // The table's test checked that namespaces can be built: a row that
    // cannot build its path ran nothing, which is a mismatch, not a pass.
    let Some(p) = Path::build(&format!("fault{index}"), Options::default()) else {
        return vec![format!("{}: the path could not be built", f.name)];
    };
    let fill = |s: &str| {
        s.replace("{primary}", &p.primary().to_string())
            .replace("{secondary}", &p.secondary().to_string())
    };
    if let (Some(hop), Some(rule)) = (&f.hop, &f.rule) {
        p.rule(hop_named(hop), &fill(rule));
    }
    if let (Some(hop), Some(route)) = (&f.hop, &f.route) {
        let mut cmd = vec!["ip", "route", "add"];
        let route = fill(route);
        cmd.extend(route.split_whitespace());
        p.exec(hop_named(hop), &cmd);
    }
    if let Some(percent) = f.loss {
        p.loss(percent);
    }
    if f.mtu_black_hole {
        p.exec(Hop::Box, &["ip", "link", "set", "b0", "mtu", "576"]);
        p.nft(
            Hop::Box,
            &chain(
                "inet s2pmtu",
                "output",
                "type filter hook output priority 0",
                "icmp type destination-unreachable icmp code frag-needed drop",
            ),
        );
    }
    let lab = if f.intercept {
        // The box answers for both sites itself: a transparent TLS proxy.
        for ip in [p.primary(), p.secondary()] {
            p.exec(
                Hop::Box,
                &["ip", "addr", "add", &format!("{ip}/32"), "dev", "lo"],
            );
        }
        crate::util::netns::GatewayLab::start(&p.boxx, p.primary(), p.secondary(), "intercepted")
    } else {
        p.start_lab(f.lab.as_deref().unwrap_or("healthy"))
    };
    let mut config = p.config();
    config.trace = Some(stca2_engine::probe::trace::TracePlan::default());
    let report = p.check(&lab.targets, config);

    let (role, port) = f.target.split_once(':').expect("target is role:port");
    let role = match role {
        "primary" => Role::Primary,
        "secondary" => Role::Secondary,
        other => panic!("unknown role {other}"),
    };
    let port: u16 = port.parse().expect("a port");
    let r = result(&report, role, port);
    let mut wrong = Vec::new();
    let expect = |wrong: &mut Vec<String>, what: &str, got: String, want: &str| {
        if got != want {
            wrong.push(format!("{}: {what} is {got}, expected {want}", f.name));
        }
    };
    expect(&mut wrong, "tcp", r.tcp.status.as_str().to_string(), &f.tcp);
    if let Some(want) = &f.detail {
        let got = r.tcp.detail.as_deref().unwrap_or_default();
        if !got.contains(want.as_str()) {
            wrong.push(format!("{}: tcp detail `{got}` lacks `{want}`", f.name));
        }
    }
    let tls = r.tls.as_ref().map_or("none", |t| t.status.as_str());
    expect(&mut wrong, "tls", tls.to_string(), &f.tls);
    let codes: Vec<&str> = report
        .summary
        .findings
        .iter()
        .filter(|x| x.site.as_deref() == Some(r.site.as_str()) && x.port == Some(port))
        .map(|x| x.code.as_str())
        .collect();
    for code in &f.findings {
        if !codes.contains(&code.as_str()) {
            wrong.push(format!("{}: no {code} finding (has {codes:?})", f.name));
        }
    }
    for code in &f.absent {
        if codes.contains(&code.as_str()) {
            wrong.push(format!("{}: an unexpected {code} finding", f.name));
        }
    }
    let stop = report
        .summary
        .findings
        .iter()
        .filter(|x| x.site.as_deref() == Some(r.site.as_str()) && x.port == Some(port))
        .find_map(|x| match &x.params {
            Some(stca2_report::FindingFacts::PathStop { at, .. }) => Some(*at),
            _ => None,
        });
    let stop = match stop {
        None => "none".to_string(),
        Some(at) => serde_json::to_value(at)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string(),
    };
    expect(&mut wrong, "blocking hop", stop, &f.blocking_hop);
    let mtu = r.path_mtu.as_ref().map(|m| m.mss.unwrap_or(0));
    expect(
        &mut wrong,
        "path_mtu",
        format!("{mtu:?}"),
        &format!("{:?}", f.path_mtu),
    );
    expect(
        &mut wrong,
        "recommendation",
        report.summary.failover.recommendation.as_str().to_string(),
        &f.recommendation,
    );
    if !wrong.is_empty() {
        eprintln!("{}: {:#?}\n{:#?}", f.name, r, report.summary.findings);
    }
    wrong
}

/// Issue 10 items 5 and 6: every row of the accuracy table, each in its own
/// four-namespace path, all at once.
#[test]
fn the_accuracy_table() {
    if crate::util::netns::missing_prerequisite().is_some() {
        eprintln!(
            "{}: the accuracy table did not run",
            crate::util::netns::SKIPPED
        );
        return;
    }
    let rows = table();
    assert!(rows.len() >= 12, "the table lost rows");
    let handles: Vec<_> = rows
        .into_iter()
        .enumerate()
        .map(|(i, f)| std::thread::spawn(move || run_fault(i, &f)))
        .collect();
    let wrong: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap_or_else(|_| vec!["a row panicked".into()]))
        .collect();
    assert!(wrong.is_empty(), "mismatches:\n{}", wrong.join("\n"));
}

/// `trace` obeys the allow-list and the ceiling before any socket exists,
/// as `check` does (192.0.2.1 is TEST-NET-1: nothing would answer anyway).
#[test]
fn trace_refuses_what_the_allow_list_refuses() {
    for args in [
        vec!["trace", "192.0.2.1:1146"],
        vec!["trace", "192.0.2.1:1146", "--allow", "0.0.0.0/0"],
    ] {
        let out = crate::util::cli::bin().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("STCA2_PROBE_ALLOW"), "{err}");
        assert!(err.contains("nothing was sent"), "{err}");
        assert!(out.stdout.is_empty());
    }
    // Outside an explicit --allow, under the ceiling: two loopback blocks
    // of this test's own (should the refusal ever break, nothing leaves
    // the machine).
    let (target, allowed) = (crate::util::net::network(), crate::util::net::network());
    let out = crate::util::cli::bin()
        .args([
            "trace",
            &format!("{}:1146", target.host(1)),
            "--allow",
            &allowed.cidr(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was sent"));
}

/// Issue 10 item 3: `stca2-probe trace` names the hops and says the path
/// stops at the box; `check --trace --csv` carries the last answering hop.
#[test]
fn trace_names_the_box_and_the_csv_carries_the_last_hop() {
    let Some(p) = Path::build(
        "tracecli",
        Options {
            nat: true,
            backup: false,
        },
    ) else {
        return;
    };
    let primary = p.primary();
    p.rule(Hop::Box, &format!("ip daddr {primary} tcp dport 1146 drop"));
    let lab = p.start_lab("healthy");
    let allow = p.cidr().to_string();
    let target = format!("{primary}:1146");

    let out = p.cli(&["trace", &target, "--allow", &allow]);
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{text}");
    let box_addr = p.box_addr().to_string();
    assert!(
        text.contains(&format!("{box_addr} (default gateway)")),
        "{text}"
    );
    assert!(text.contains("stops at the merchant's box"), "{text}");

    // The open port goes through to the gateway at hop 3.
    let out = p.cli(&[
        "trace",
        &format!("{primary}:7212"),
        "--allow",
        &allow,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["reached_at"], 3, "{json:#}");
    assert_eq!(
        json["hops"][1]["address"],
        p.isp_addr().to_string(),
        "{json:#}"
    );

    let targets = lab.targets.path.to_string_lossy().into_owned();
    let out = p.cli(&[
        "check",
        "--targets",
        &targets,
        "--allow",
        &allow,
        "--trace",
        "--csv",
    ]);
    let csv = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{csv}");
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().ends_with(",last_answering_hop"));
    let row = lines
        .find(|l| l.contains(&format!(",{primary},1146,")))
        .unwrap_or_else(|| panic!("no row for {target}: {csv}"));
    assert!(row.ends_with(&format!(",1 {box_addr}")), "{row}");
}

/// Issue 10 item 8: two uplinks, the box blocking 1146 and a 4G router
/// that does not; each link's own verdict, and the packets leave by the
/// link that was asked for (the routers' counters say so).
#[test]
fn two_uplinks_each_give_their_own_verdict() {
    let Some(p) = Path::build(
        "uplinks",
        Options {
            nat: false,
            backup: true,
        },
    ) else {
        return;
    };
    let primary = p.primary();
    p.rule(
        Hop::Box,
        &format!("ip daddr {primary} tcp dport 1146 counter drop comment \"adsl\""),
    );
    p.rule(
        Hop::Backup,
        &format!("ip daddr {primary} tcp dport 1146 counter comment \"4g\""),
    );
    let lab = p.start_lab("healthy");
    let targets = lab.targets.path.to_string_lossy().into_owned();
    let backup = p.shop_backup_addr().to_string();
    let allow = p.cidr().to_string();
    let status = |args: &[&str]| {
        let mut all = vec!["check", "--targets", &targets, "--allow", &allow, "--json"];
        all.extend_from_slice(args);
        let out = p.cli(&all);
        let report: stca2_report::Report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (result(&report, Role::Primary, 1146).tcp.status, report)
    };

    let (adsl, _) = status(&[]);
    assert_eq!(adsl, TcpStatus::Timeout);
    let dropped = p.counter(Hop::Box, "adsl");
    assert!(dropped >= 1);
    assert_eq!(
        p.counter(Hop::Backup, "4g"),
        0,
        "the default link is the box"
    );

    for (args, label) in [
        (vec!["--source", backup.as_str()], "--source"),
        (vec!["--interface", "s1"], "--interface"),
    ] {
        let before_4g = p.counter(Hop::Backup, "4g");
        let before_box = p.counter(Hop::Box, "adsl");
        let (lte, report) = status(&args);
        assert_eq!(lte, TcpStatus::Open, "{label}");
        assert!(report.summary.ok, "{label}: {:#?}", report.summary);
        assert!(
            p.counter(Hop::Backup, "4g") > before_4g,
            "{label}: nothing crossed the 4G router"
        );
        assert_eq!(
            p.counter(Hop::Box, "adsl"),
            before_box,
            "{label}: a SYN went through the box"
        );
    }
}

/// The median of some durations.
fn median(mut v: Vec<std::time::Duration>) -> std::time::Duration {
    v.sort();
    v[v.len() / 2]
}

/// `nmap -Pn -sT -n -p1146,7212` from the shop against both sites; the
/// time it took and the state of each of the four ports.
fn nmap(p: &Path, extra: &[&str]) -> (std::time::Duration, Vec<String>) {
    let (primary, secondary) = (p.primary().to_string(), p.secondary().to_string());
    let mut cmd = vec![
        "ip",
        "netns",
        "exec",
        &p.shop,
        "nmap",
        "-Pn",
        "-sT",
        "-n",
        "-p1146,7212",
        "-oG",
        "-",
    ];
    cmd.extend_from_slice(extra);
    cmd.extend([primary.as_str(), secondary.as_str()]);
    let start = Instant::now();
    let out = crate::util::netns::run(&cmd);
    let took = start.elapsed();
    let states = out
        .lines()
        .filter_map(|l| l.split_once("Ports: "))
        .flat_map(|(_, ports)| {
            ports
                .split(", ")
                .filter_map(|p| p.split('/').nth(1).map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect();
    (took, states)
}

/// Issue 10 item 7: time to verdict and false "blocked" rates, ours beside
/// nmap's, on the four-namespace path. Needs root, nft and nmap; run by
/// hand (BENCHMARKS.md):
/// `cargo test --release --test tests faults::benchmark -- --ignored --nocapture`.
/// `STCA2_BENCH_CHECKS` (default 250: 1,000 target-checks) sets the loss runs' size.
#[test]
#[ignore = "a benchmark: minutes long, needs nmap"]
fn benchmark_beside_nmap() {
    if crate::util::netns::try_run(&["nmap", "--version"], None).is_err() {
        eprintln!("SKIPPED: needs nmap (apt-get install nmap)");
        return;
    }
    let runs = 5;
    let configs: [(&str, Option<&str>); 4] = [
        ("healthy", None),
        ("dropped", Some("ip daddr {primary} drop")),
        (
            "rejected (TCP reset)",
            Some("ip daddr {primary} tcp dport {1146, 7212} reject with tcp reset"),
        ),
        (
            "ICMP admin-prohibited",
            Some(
                "ip daddr {primary} tcp dport {1146, 7212} reject with icmp type admin-prohibited",
            ),
        ),
    ];
    println!(
        "| configuration | stca2-probe check (whole, defaults) | nmap -Pn -sT | nmap -Pn -sT --traceroute |"
    );
    println!("|---|---|---|---|");
    for (i, (name, rule)) in configs.iter().enumerate() {
        let Some(p) = Path::build(&format!("bench{i}"), Options::default()) else {
            return;
        };
        if let Some(rule) = rule {
            p.rule(
                Hop::Box,
                &rule.replace("{primary}", &p.primary().to_string()),
            );
        }
        let lab = p.start_lab("healthy");
        let ours = median(
            (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    let _ = p.check(&lab.targets, p.config());
                    t.elapsed()
                })
                .collect(),
        );
        let theirs = median((0..runs).map(|_| nmap(&p, &[]).0).collect());
        let traced = median((0..runs).map(|_| nmap(&p, &["--traceroute"]).0).collect());
        println!(
            "| {name} | {} ms | {} ms | {} ms |",
            ours.as_millis(),
            theirs.as_millis(),
            traced.as_millis()
        );
    }

    let checks: usize = std::env::var("STCA2_BENCH_CHECKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250);
    println!(
        "\n| loss each way | target-checks | stca2-probe: open called blocked | nmap: open called closed/filtered |"
    );
    println!("|---|---|---|---|");
    for loss in [5u8, 20] {
        let Some(p) = Path::build(&format!("benchloss{loss}"), Options::default()) else {
            return;
        };
        p.loss(loss);
        let lab = p.start_lab("healthy");
        let mut config = p.config();
        config.attempts = 1;
        let (mut ours_wrong, mut ours_total) = (0, 0);
        for _ in 0..checks {
            let report = p.check(&lab.targets, config.clone());
            for r in &report.results {
                ours_total += 1;
                if r.tcp.status != TcpStatus::Open {
                    ours_wrong += 1;
                }
            }
        }
        let (mut nmap_wrong, mut nmap_total) = (0, 0);
        for _ in 0..checks {
            for state in nmap(&p, &[]).1 {
                nmap_total += 1;
                if state != "open" {
                    nmap_wrong += 1;
                }
            }
        }
        println!(
            "| {loss} % | {ours_total} / {nmap_total} | {ours_wrong} ({:.2} %) | {nmap_wrong} ({:.2} %) |",
            100.0 * f64::from(ours_wrong) / f64::from(ours_total.max(1)),
            100.0 * f64::from(nmap_wrong) / f64::from(nmap_total.max(1)),
        );
        assert_eq!(ours_wrong, 0, "stca2-probe called an open port blocked");
    }
}
