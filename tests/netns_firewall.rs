//! Firewall behaviours with a real packet filter: nftables in a router
//! namespace between a client namespace (the probe) and a gateway namespace
//! (the lab), all made by the test (see `util::netns`).
//!
//! Each test builds its own three namespaces (`s2p-<test>-<pid>-{c,r,g}`) on
//! its own 10.N.0.0/16 (N from `util::net`, one per test), loads a ruleset into
//! the router's `forward` (or `output`) hook, starts the lab with the
//! `healthy` scenario on 10.N.2.45 (primary) and 10.N.2.173 (secondary), and
//! runs one whole check from the client — probe and verdict — allowed to
//! reach 10.N.0.0/16 only, with 1 s steps and one attempt per target. Then it
//! asserts what the probe measured *and* what the verdict concluded.
//!
//! Nothing is added to the root namespace and the host's ruleset is never
//! touched: `nft` only runs under `ip netns exec <router>`. Without root,
//! `ip` or `nft` every test prints "SKIPPED: needs root, ip and nft" and
//! passes.
//!
//! The MTU black hole: the router's link towards the client has an MTU of
//! 576 while the client and the gateway keep 1500, so the client announces
//! an MSS of 1460 and the gateway sends its TLS flight (ServerHello,
//! certificates, CertificateVerify, Finished: well over 576 bytes) in
//! full-size segments with Don't Fragment set. The router cannot forward
//! them and answers ICMP "fragmentation needed" to the gateway, from its own
//! stack: that ICMP leaves through the router's `output` hook, where the
//! black-hole ruleset drops it. The gateway never learns the path MTU and
//! keeps retransmitting segments that can never pass, so TCP opens (the
//! handshake's packets are small) and TLS times out. It is deterministic
//! because nothing else can shrink those segments: no MSS clamping is
//! configured anywhere, the client's own MTU is 1500, and TCP black-hole
//! detection (`net.ipv4.tcp_mtu_probing`) is 0 in a fresh namespace — the
//! test checks that too. A control test with the same MTU but the ICMP let
//! through shows path MTU discovery repairing the path (the handshake
//! completes), so the black hole really is the dropped ICMP.

use std::time::{Duration, Instant};

use crate::util::netns::{Topology, counter};
use crate::util::report::result;
use stca2_report::Recommendation;
use stca2_report::Report;
use stca2_report::Role;
use stca2_report::{TargetResult, TcpStatus, TlsStatus};

/// Every step of the probe (connect, handshake).
const STEP: Duration = Duration::from_secs(1);

/// A ruleset with one table: `forward` rules and `output` rules for the router.
fn ruleset(forward: &str, output: &str) -> String {
    format!(
        "table inet s2p {{
  chain forward {{
    type filter hook forward priority 0; policy accept;
    {forward}
  }}
  chain output {{
    type filter hook output priority 0; policy accept;
    {output}
  }}
}}
"
    )
}

/// True when the verdict has a finding with this code for this site and port.
fn has_finding(report: &Report, code: &str, site: &str, port: u16) -> bool {
    report
        .summary
        .findings
        .iter()
        .any(|f| f.code == code && f.site.as_deref() == Some(site) && f.port == Some(port))
}

/// Asserts that a target went through: TCP open and TLS answered as the healthy lab does.
fn assert_healthy(r: &TargetResult) {
    assert_eq!(r.tcp.status, TcpStatus::Open, "{r:#?}");
    let tls = r.tls.as_ref().map(|t| t.status);
    let expected = if r.port == 7212 {
        TlsStatus::ClientAuthRequired
    } else {
        TlsStatus::Ok
    };
    assert_eq!(tls, Some(expected), "{r:#?}");
}

/// Asserts that a target is dropped by the router: a connect timeout and no TLS.
fn assert_dropped(r: &TargetResult) {
    assert_eq!(r.tcp.status, TcpStatus::Timeout, "{r:#?}");
    assert!(r.tls.is_none(), "{r:#?}");
    let detail = r.tcp.detail.as_deref().unwrap_or_default();
    assert!(detail.contains("silently drops"), "{detail}");
}

/// Asserts that the primary's 1146 failed at TCP with `status`, so no TLS
/// was tried; returns the TCP detail.
fn primary_tcp_failure(report: &Report, status: TcpStatus) -> &str {
    let r = result(report, Role::Primary, 1146);
    assert_eq!(r.tcp.status, status, "{r:#?}");
    assert!(r.tls.is_none());
    r.tcp.detail.as_deref().unwrap_or_default()
}

/// Asserts that the verdict counts the primary's STCA2 port as closed and names it.
fn assert_primary_stca2_closed(report: &Report) {
    let s = &report.summary;
    assert!(s.stca2_port_closed, "{s:#?}");
    assert!(
        has_finding(report, "port_closed", "toulouse", 1146),
        "{s:#?}"
    );
}

/// Asserts the verdict's failover recommendation.
fn assert_failover(report: &Report, want: Recommendation) {
    let s = &report.summary;
    assert_eq!(s.failover.recommendation, want, "{s:#?}");
}

/// Runs the check and bounds its duration: one silent step plus slack.
fn timed_check(t: &Topology, lab: &crate::util::netns::GatewayLab) -> Report {
    let start = Instant::now();
    let report = t.check(&lab.targets, STEP);
    let took = start.elapsed();
    eprintln!("check took {took:?}");
    assert!(
        took < STEP * 4,
        "targets run concurrently: one check is about one step, took {took:?}"
    );
    report
}

/// Applies `verdict` (counted as `comment`) to the primary's 1146 in the
/// router, then checks the healthy lab.
fn primary_1146(test: &str, verdict: &str, comment: &str) -> Option<(Topology, Report)> {
    let t = Topology::build(test)?;
    let primary = t.primary();
    t.nft(&ruleset(
        &format!("ip daddr {primary} tcp dport 1146 counter {verdict} comment \"{comment}\""),
        "",
    ));
    let lab = t.start_lab("healthy");
    let report = timed_check(&t, &lab);
    Some((t, report))
}

#[test]
fn drop_is_a_timeout_and_the_port_is_closed() {
    let Some((t, report)) = primary_1146("drop", "drop", "dropped") else {
        return;
    };

    assert_dropped(result(&report, Role::Primary, 1146));
    assert!(counter(&t, "dropped") >= 1, "the SYN never met the rule");
    assert_healthy(result(&report, Role::Primary, 7212));
    assert_healthy(result(&report, Role::Secondary, 1146));
    assert_healthy(result(&report, Role::Secondary, 7212));

    assert_primary_stca2_closed(&report);
    assert!(!report.summary.ok);
    assert_failover(&report, Recommendation::OpenPrimary);
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn reject_with_tcp_reset_is_refused() {
    let Some((t, report)) = primary_1146("reset", "reject with tcp reset", "reset") else {
        return;
    };

    let detail = primary_tcp_failure(&report, TcpStatus::Refused);
    assert!(detail.contains("ECONNREFUSED"), "{detail}");
    assert!(counter(&t, "reset") >= 1);
    assert_healthy(result(&report, Role::Primary, 7212));
    assert_healthy(result(&report, Role::Secondary, 1146));

    assert_primary_stca2_closed(&report);
    assert_failover(&report, Recommendation::OpenPrimary);
}

#[test]
fn reject_with_icmp_admin_prohibited_is_unreachable_and_names_the_router() {
    let Some((t, report)) = primary_1146(
        "adminprohib",
        "reject with icmp type admin-prohibited",
        "prohibited",
    ) else {
        return;
    };
    let primary = t.primary();

    let detail = primary_tcp_failure(&report, TcpStatus::Unreachable);
    eprintln!("tcp.detail: {detail}");
    let router = t.router_client_side();
    assert!(
        detail.contains("communication administratively prohibited"),
        "{detail}"
    );
    assert!(
        detail.contains(&format!("ICMP type 3 code 13 from {router}")),
        "{detail}"
    );
    assert!(detail.contains("EHOSTUNREACH"), "{detail}");
    assert!(counter(&t, "prohibited") >= 1);
    assert_healthy(result(&report, Role::Secondary, 1146));

    assert_primary_stca2_closed(&report);
    let finding = report
        .summary
        .findings
        .iter()
        .find(|f| f.code == "port_closed")
        .expect("a port_closed finding");
    assert!(
        finding.message.contains(&format!("{primary}:1146")),
        "{finding:#?}"
    );
}

/// Drops every packet to the given sites and returns the check.
fn drop_sites(test: &str, primary: bool, secondary: bool) -> Option<Report> {
    let t = Topology::build(test)?;
    let mut rules = Vec::new();
    if primary {
        rules.push(format!("ip daddr {} drop", t.primary()));
    }
    if secondary {
        rules.push(format!("ip daddr {} drop", t.secondary()));
    }
    t.nft(&ruleset(&rules.join("\n    "), ""));
    let lab = t.start_lab("healthy");
    let report = timed_check(&t, &lab);
    for port in [1146, 7212] {
        let (p, s) = (
            result(&report, Role::Primary, port),
            result(&report, Role::Secondary, port),
        );
        if primary {
            assert_dropped(p);
        } else {
            assert_healthy(p);
        }
        if secondary {
            assert_dropped(s);
        } else {
            assert_healthy(s);
        }
    }
    for (dropped, site) in [(primary, "toulouse"), (secondary, "bordeaux")] {
        for port in [1146, 7212] {
            assert_eq!(
                has_finding(&report, "port_closed", site, port),
                dropped,
                "{site}:{port} {:#?}",
                report.summary
            );
        }
    }
    assert_eq!(report.summary.stca2_port_closed, primary);
    Some(report)
}

#[test]
fn secondary_dropped_means_open_secondary() {
    let Some(report) = drop_sites("dropsec", false, true) else {
        return;
    };
    assert_failover(&report, Recommendation::OpenSecondary);
    let s = &report.summary;
    assert!(s.failover.message.contains("173"), "{s:#?}");
}

#[test]
fn both_dropped_means_open_both() {
    let Some(report) = drop_sites("dropboth", true, true) else {
        return;
    };
    assert_failover(&report, Recommendation::OpenBoth);
}

#[test]
fn primary_dropped_means_open_primary() {
    let Some(report) = drop_sites("dropprim", true, false) else {
        return;
    };
    assert_failover(&report, Recommendation::OpenPrimary);
    let s = &report.summary;
    assert!(s.failover.message.contains(".45"), "{s:#?}");
}

/// The router's client-side link gets a small MTU; ICMP "fragmentation
/// needed" from the router is counted, and dropped when `black_hole`. The
/// router must have sent at least one: `unless` says what it means otherwise.
fn mtu_path(test: &str, black_hole: bool, unless: &str) -> Option<Report> {
    let t = Topology::build(test)?;
    t.in_router(&["ip", "link", "set", "r0", "mtu", "576"]);
    // Nothing may shrink the gateway's segments behind the test's back.
    let probing = crate::util::netns::run(&[
        "ip",
        "netns",
        "exec",
        &t.gateway,
        "sysctl",
        "-n",
        "net.ipv4.tcp_mtu_probing",
    ]);
    assert_eq!(probing.trim(), "0", "TCP black-hole detection is on");
    let verdict = if black_hole { "drop" } else { "accept" };
    let rule = format!(
        "icmp type destination-unreachable icmp code frag-needed counter {verdict} comment \"frag-needed\""
    );
    // The router's own ICMP errors leave through `output`; `forward` would
    // only see ones from further away, but is covered for completeness.
    t.nft(&ruleset(&rule.replace("frag-needed\"", "fwd\""), &rule));
    let lab = t.start_lab("healthy");
    let report = timed_check(&t, &lab);
    assert!(
        counter(&t, "frag-needed") >= 1,
        "the router never had to say `fragmentation needed`: {unless}"
    );
    Some(report)
}

#[test]
fn mtu_black_hole_opens_tcp_but_tls_times_out() {
    let unless = "the flight fit in 576 bytes";
    let Some(report) = mtu_path("mtuhole", true, unless) else {
        return;
    };
    for r in &report.results {
        assert_eq!(r.tcp.status, TcpStatus::Open, "{r:#?}");
        let tls = r.tls.as_ref().expect("TCP opened, so TLS was tried");
        assert_eq!(tls.status, TlsStatus::Timeout, "{r:#?}");
        eprintln!("{}:{} tls.detail: {:?}", r.site, r.port, tls.detail);
        assert!(
            has_finding(&report, "tls_failed", &r.site, r.port),
            "{r:#?} {:#?}",
            report.summary
        );
    }
    let s = &report.summary;
    // A black hole is not a closed port: the installer must not be sent to open it.
    assert!(!s.stca2_port_closed, "{s:#?}");
    assert!(
        !s.findings.iter().any(|f| f.code == "port_closed"),
        "{s:#?}"
    );
    assert!(!s.ok);
}

#[test]
fn mtu_with_path_mtu_discovery_completes() {
    let unless = "this control proves nothing";
    let Some(report) = mtu_path("mtuok", false, unless) else {
        return;
    };
    for r in &report.results {
        assert_healthy(r);
    }
    assert!(report.summary.ok, "{:#?}", report.summary);
}
