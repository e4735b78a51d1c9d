//! The guard as a user meets it: a ceiling that cannot switch off silently,
//! and hostnames that are refused before a DNS packet leaves the machine.
//!
//! Every refused destination has a listener (or, for DNS, a `.invalid`
//! name that no resolver sends a query for) so that a broken guard shows up
//! as a failed test rather than as a packet somewhere.

use std::ffi::OsStr;
use std::net::{IpAddr, TcpListener};
use std::os::unix::ffi::OsStrExt;
use std::process::Output;

use crate::util::cli::{assert_no_connection, bin, write};
use crate::util::net;

fn set(primary: IpAddr, secondary: &str) -> String {
    format!(
        r#"name = "t"
[[site]]
name = "toulouse"
role = "primary"
address = "{primary}"
[[site]]
name = "bordeaux"
role = "secondary"
address = "{secondary}"
[[port]]
number = 1146
service = "stca2"
"#
    )
}

fn check(ceiling: &OsStr, file: &str) -> Output {
    bin()
        .env("STCA2_PROBE_ALLOW", ceiling)
        .args([
            "check",
            "--targets",
            file,
            "--timeout",
            "1",
            "--attempts",
            "1",
        ])
        .output()
        .unwrap()
}

#[test]
fn a_ceiling_that_is_not_utf8_stops_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let (primary, secondary) = net::network().sites();
    let listener = TcpListener::bind((primary, 1146)).unwrap();
    let file = write(dir.path(), "t.toml", &set(primary, &secondary.to_string()));
    let out = check(OsStr::from_bytes(b"127.0.0.0/8\xff"), &file);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("STCA2_PROBE_ALLOW") && err.contains("UTF-8"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert_no_connection(&listener);
}

#[test]
fn a_blank_ceiling_allows_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (primary, secondary) = net::network().sites();
    let listener = TcpListener::bind((primary, 1146)).unwrap();
    let file = write(dir.path(), "t.toml", &set(primary, &secondary.to_string()));
    let out = check(OsStr::new(""), &file);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("allows nothing"), "{err}");
    assert!(err.contains("refusing site `toulouse`"), "{err}");
    assert!(err.contains("nothing was sent"), "{err}");
    assert_no_connection(&listener);
}

/// This machine's resolver is inside the repository's ceiling (10/8), so
/// only the allow-list stands between a hostname site and a DNS packet off
/// the machine. The name is `.invalid` besides, which resolvers answer
/// locally: even a broken guard sends nothing.
#[test]
fn hostname_sites_are_refused_before_any_dns_query() {
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if !resolv
        .lines()
        .any(|l| l.trim_start().starts_with("nameserver"))
    {
        eprintln!("skipped: no nameserver in /etc/resolv.conf, so nothing to refuse");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let primary = net::address();
    let listener = TcpListener::bind((primary, 1146)).unwrap();
    let file = write(
        dir.path(),
        "t.toml",
        &set(primary, "gw2.stca2-probe.invalid"),
    );
    let out = check(OsStr::new("127.0.0.0/8,10.0.0.0/8"), &file);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("site `bordeaux` is a hostname: resolving it would contact the DNS server"),
        "{err}"
    );
    assert!(
        err.contains("pass --allow with the DNS server's and the gateway's networks, or write the gateway's IP address")
            || err.contains("no flag can lift that ceiling"),
        "{err}"
    );
    assert!(err.contains("nothing was sent"), "{err}");
    // The IP-literal site of the same set was not probed either.
    assert_no_connection(&listener);
}

#[test]
fn unknown_scenario_names_scenarios_and_behaviours() {
    let out = bin()
        .args(["lab", "--scenario", "nope", "--ca-dir", "/nonexistent/x"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("primary-blocked") && err.contains("silent"),
        "{err}"
    );
}

#[test]
fn lab_list_offers_behaviours_as_scenarios() {
    let out = bin().args(["lab", "--list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(text.contains("also usable as --scenario"), "{text}");
    assert!(text.contains("silent"), "{text}");
}
