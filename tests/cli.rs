//! The command line as a user meets it: exit codes, messages that name the
//! file, line and column, and an allow-list that refuses before any packet.

use std::net::{IpAddr, TcpListener};
use std::path::Path;
use std::process::Output;

use crate::util::cli::{assert_no_connection, bin, write};
use crate::util::net::{self, Net};

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run stca2-probe")
}

/// A target set with its two sites at `primary` and `secondary`, and an
/// STCA2 anchor file (the tests count its lines: keep them in place).
fn base(primary: IpAddr, secondary: IpAddr) -> String {
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
[[ca]]
family = "STCA2"
anchors = "stca2.pem"
"#
    )
}

const ANCHORS: &str = "[[ca]]\nfamily = \"STCA2\"\nanchors = \"stca2.pem\"\n";

/// The set without its anchors: the primary at `primary` (a listener that
/// must see nothing), the secondary in `net`.
fn refused_set(dir: &Path, primary: IpAddr, net: Net) -> String {
    let text = base(primary, net.sites().1).replace(ANCHORS, "");
    write(dir, "t.toml", &text)
}

#[test]
fn bad_target_files_exit_2_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let (primary, secondary) = net::network().sites();
    let with_anchors = base(primary, secondary);
    let base = with_anchors.replace(ANCHORS, "");
    let cases: &[(&str, String, &str)] = &[
        (
            "syntax",
            base.replace("role = \"primary\"", "role = primary"),
            ":4:",
        ),
        (
            "unknown key",
            base.replace("service = \"stca2\"", "service = \"stca2\"\nspeed = 3"),
            ":13:",
        ),
        ("missing anchor", with_anchors.clone(), ":15:"),
        (
            "port 0",
            base.replace("number = 1146", "number = 0"),
            ":11:",
        ),
        (
            "duplicate site",
            base.replace("\"bordeaux\"", "\"toulouse\""),
            ":7:",
        ),
        (
            "bad address",
            base.replace(&secondary.to_string(), "not an address!"),
            ":9:",
        ),
        (
            "bad role",
            base.replace("\"secondary\"", "\"tertiary\""),
            ":8:",
        ),
    ];
    for (what, text, at) in cases {
        let file = write(
            dir.path(),
            &format!("{}.toml", what.replace(' ', "-")),
            text,
        );
        let out = run(&["check", "--targets", &file]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(&file), "{what}: message names the file: {err}");
        assert!(err.contains(at), "{what}: message names line {at}: {err}");
        assert!(out.stdout.is_empty(), "{what}: nothing on stdout");
    }
}

#[test]
fn missing_target_file_exits_2() {
    let out = run(&["check", "--targets", "/nonexistent/lab.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/lab.toml"));
}

#[test]
fn bad_flags_exit_2() {
    for args in [
        vec!["check", "--timeout", "abc"],
        vec!["check", "--attempts", "0"],
        vec!["check", "--allow", "300.0.0.0/8"],
        vec!["check", "--json", "--csv"],
        vec!["check", "--client-cert", "x.pem"],
        vec!["frobnicate"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn allow_list_refusal_sends_no_packet() {
    let dir = tempfile::tempdir().unwrap();
    let (net, outside) = (net::network(), net::address());
    let listener = TcpListener::bind((outside, 1146)).unwrap();
    let file = refused_set(dir.path(), outside, net);
    // --allow replaces the default (the set's own addresses): `outside` is outside it.
    let out = run(&[
        "check",
        "--targets",
        &file,
        "--allow",
        &net.cidr(),
        "--timeout",
        "1",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&outside.to_string()) && err.contains("allow-list"),
        "{err}"
    );
    assert_no_connection(&listener);
}

#[test]
fn ceiling_cannot_be_lifted_by_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (net, outside) = (net::network(), net::address());
    let listener = TcpListener::bind((outside, 1146)).unwrap();
    let file = refused_set(dir.path(), outside, net);
    let out = bin()
        .env("STCA2_PROBE_ALLOW", net.cidr())
        .args([
            "check",
            "--targets",
            &file,
            "--allow",
            "0.0.0.0/0",
            "--timeout",
            "1",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("STCA2_PROBE_ALLOW"), "{err}");
    assert_no_connection(&listener);
}

#[test]
fn help_teaches() {
    let out = run(&["check", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--targets",
        "--allow",
        "STCA2_PROBE_ALLOW",
        "--timeout",
        "--attempts",
        "--json",
        "--csv",
    ] {
        assert!(text.contains(needle), "help mentions {needle}");
    }
    let out = run(&["--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Exit codes"));
}

/// The real target file is parsed, never probed.
#[test]
fn lyra_target_file_parses() {
    let t = stca2_engine::targets::TargetSet::load(Path::new("targets/lyra.toml")).unwrap();
    assert_eq!(t.name, "lyra");
    let addrs: Vec<String> = t.sites.iter().map(|s| s.address.to_string()).collect();
    assert_eq!(addrs, ["194.50.38.45", "194.50.38.173"]);
    assert_eq!(
        t.ports.iter().map(|p| p.number).collect::<Vec<_>>(),
        [1146, 7212]
    );
    // The operator has not dropped PayCert's anchors in targets/ca/: loads with warnings.
    assert!(t.families.iter().all(|f| f.anchors.is_empty()));
    assert_eq!(t.warnings.len(), 2);
    // And the repository's ceiling refuses both gateway addresses.
    let ceiling = stca2_engine::allow::parse_cidr_list("127.0.0.0/8,10.0.0.0/8").unwrap();
    let allow = stca2_engine::check::allow_list(&t, &[], Some(ceiling));
    assert_eq!(stca2_engine::check::refused_targets(&t, &allow).len(), 2);
}

/// `check`'s default is the same file, compiled in (parsed here, never probed).
#[test]
fn builtin_target_set_is_lyra() {
    use stca2_engine::targets::{BUILTIN_LYRA, BUILTIN_LYRA_PATH, TargetSet};
    assert_eq!(
        BUILTIN_LYRA,
        std::fs::read_to_string("targets/lyra.toml").unwrap()
    );
    let dir = tempfile::tempdir().unwrap();
    let builtin = TargetSet::builtin_in(dir.path()).unwrap();
    let file = TargetSet::load(Path::new("targets/lyra.toml")).unwrap();
    assert_eq!(builtin.sites, file.sites);
    assert_eq!(builtin.ports, file.ports);
    assert_eq!(builtin.path, Path::new(BUILTIN_LYRA_PATH));
    // The help says where the default's anchors come from.
    let out = run(&["check", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("built-in Lyra set"), "{text}");
    assert!(text.contains("STCA2_PROBE_CA_DIR"), "{text}");
}
