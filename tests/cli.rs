//! The command line as a user meets it: exit codes, messages that name the
//! file, line and column, and an allow-list that refuses before any packet.

use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

use crate::util::cli::{assert_no_connection, bin, write};

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run stca2-probe")
}

const BASE: &str = r#"name = "t"
[[site]]
name = "toulouse"
role = "primary"
address = "127.0.61.45"
[[site]]
name = "bordeaux"
role = "secondary"
address = "127.0.61.173"
[[port]]
number = 1146
service = "stca2"
[[ca]]
family = "STCA2"
anchors = "stca2.pem"
"#;

#[test]
fn bad_target_files_exit_2_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let base = BASE.replace("[[ca]]\nfamily = \"STCA2\"\nanchors = \"stca2.pem\"\n", "");
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
        ("missing anchor", BASE.to_string(), ":15:"),
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
            base.replace("127.0.61.173", "not an address!"),
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
    let listener = TcpListener::bind("127.0.62.45:1146").unwrap();
    let text = BASE
        .replace("127.0.61.45", "127.0.62.45")
        .replace("[[ca]]\nfamily = \"STCA2\"\nanchors = \"stca2.pem\"\n", "");
    let file = write(dir.path(), "t.toml", &text);
    // --allow replaces the default (the set's own addresses): 127.0.62.45 is outside it.
    let out = run(&[
        "check",
        "--targets",
        &file,
        "--allow",
        "127.0.61.0/24",
        "--timeout",
        "1",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("127.0.62.45") && err.contains("allow-list"),
        "{err}"
    );
    assert_no_connection(&listener);
}

#[test]
fn ceiling_cannot_be_lifted_by_flags() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.63.45:1146").unwrap();
    let text = BASE
        .replace("127.0.61.45", "127.0.63.45")
        .replace("[[ca]]\nfamily = \"STCA2\"\nanchors = \"stca2.pem\"\n", "");
    let file = write(dir.path(), "t.toml", &text);
    let out = bin()
        .env("STCA2_PROBE_ALLOW", "127.0.61.0/24")
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
