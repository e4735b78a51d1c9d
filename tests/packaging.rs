//! What ships beside the binary agrees with the code: the Grafana dashboard
//! and the README's alert rules query only metrics (and labels) the daemon
//! exposes, the systemd unit matches the daemon's paths, exit codes and
//! shutdown bound, and the configuration the package installs refuses to
//! start until the box is enrolled. `.ci/package` checks the rest for real
//! (the .deb's contents, `dpkg -i`, `systemd-analyze`, purge).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use stca2_daemon::config::{Config, DEFAULT_SPOOL_DIR};
use stca2_daemon::metrics::Metrics;
use stca2_daemon::upload::Outcome;
use stca2_report::Recommendation;
use stca2_report::fixtures::{self, O, TIMEOUT, upload};

use crate::daemon::parse_prometheus;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Labels every scraped series gets from Prometheus itself.
const TARGET_LABELS: [&str; 2] = ["instance", "job"];

/// Every metric family the daemon serves, with the label names its samples
/// carry: the exposition of a daemon that checked (every kind of target
/// result: STCA2, client certificate, old STCA, closed) and uploaded.
fn exposition() -> BTreeMap<String, BTreeSet<String>> {
    let metrics = Metrics::default();
    let results = fixtures::set(O::Stca2, O::ClientAuth, O::Stca, TIMEOUT);
    let report = upload::report(
        upload::probe("shop-0042"),
        &upload::rid("packaging"),
        time::OffsetDateTime::now_utc(),
        results,
        upload::summary(false, Recommendation::OpenSecondary, "open site 2"),
    );
    metrics.cycle(Arc::new(report));
    metrics.skipped(1);
    metrics.upload(Outcome::Ok);
    metrics.upload_succeeded(1);
    metrics.quarantined();
    let text = metrics.render();
    let mut families: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in parse_prometheus(&text) {
        families
            .entry(s.name)
            .or_default()
            .extend(s.labels.into_keys());
    }
    // A family declared without a sample would be invisible to the checks below.
    for line in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let name = line.split(' ').next().unwrap();
        assert!(
            families.contains_key(name),
            "the fixture should give {name} a sample"
        );
    }
    families
}

/// A PromQL expression's metric names (identifiers spelt like ours) and
/// label names (before `=`/`!=`/`=~`/`!~` inside `{...}`, and in `by (...)`
/// or `without (...)` lists); quoted strings are skipped.
fn promql_names(expr: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let chars: Vec<char> = expr.chars().collect();
    let (mut metrics, mut labels) = (BTreeSet::new(), BTreeSet::new());
    let (mut braces, mut grouping, mut after_by) = (0usize, false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                assert!(i < chars.len(), "unterminated string in {expr}");
            }
            '{' => braces += 1,
            '}' => braces = braces.saturating_sub(1),
            '(' if after_by => (grouping, after_by) = (true, false),
            ')' => grouping = false,
            c if is_ident(c) && !c.is_ascii_digit() => {
                let start = i;
                while i + 1 < chars.len() && is_ident(chars[i + 1]) {
                    i += 1;
                }
                let token: String = chars[start..=i].iter().collect();
                let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                if grouping || (braces > 0 && matches!(next, Some('=' | '!'))) {
                    labels.insert(token);
                } else if braces == 0 && (token == "by" || token == "without") {
                    after_by = true;
                } else if token.starts_with("probe_") || token.starts_with("stca2_probe_") {
                    metrics.insert(token);
                }
            }
            c if c.is_ascii_digit() => {
                // A number or a duration (`5m`): no name.
                while i + 1 < chars.len() && is_ident(chars[i + 1]) {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    (metrics, labels)
}

#[test]
fn promql_names_are_read_from_selectors_and_groupings() {
    let (m, l) = promql_names(
        r#"sum by (instance, outcome) (increase(stca2_probe_uploads_total{instance=~"$i", outcome!="ok"}[5m])) / time() - probe_success"#,
    );
    assert_eq!(
        m,
        BTreeSet::from(["stca2_probe_uploads_total".into(), "probe_success".into()])
    );
    assert_eq!(l, BTreeSet::from(["instance".into(), "outcome".into()]));
    // A quoted string is not a name.
    let (m, _) = promql_names(r#"up{job="probe_nothing"}"#);
    assert!(m.is_empty(), "{m:?}");
}

/// Every metric `expr` names is served, and every label it matches or
/// groups by (and every `{{label}}` of `legend`) is one of those metrics'
/// labels or Prometheus's target labels. Returns the metric names.
fn check_query(
    families: &BTreeMap<String, BTreeSet<String>>,
    where_: &str,
    expr: &str,
    legend: &str,
) -> BTreeSet<String> {
    let (metrics, mut labels) = promql_names(expr);
    assert!(
        !metrics.is_empty(),
        "{where_}: `{expr}` queries no stca2-probe metric"
    );
    let mut rest = legend;
    while let Some(start) = rest.find("{{") {
        let end = rest[start..].find("}}").expect("closed {{") + start;
        labels.insert(rest[start + 2..end].trim().to_string());
        rest = &rest[end + 2..];
    }
    let mut known: BTreeSet<String> = TARGET_LABELS.iter().map(|s| s.to_string()).collect();
    for m in &metrics {
        let Some(l) = families.get(m) else {
            panic!(
                "{where_}: `{expr}` queries {m}, which the daemon does not expose (crates/daemon/src/metrics.rs serves: {:?})",
                families.keys().collect::<Vec<_>>()
            );
        };
        known.extend(l.iter().cloned());
    }
    for l in &labels {
        assert!(
            known.contains(l),
            "{where_}: `{expr}` uses the label {l}, which none of {metrics:?} carries"
        );
    }
    metrics
}

/// Calls `f` on every JSON object under `v`.
fn walk<'a>(v: &'a Value, f: &mut dyn FnMut(&'a serde_json::Map<String, Value>)) {
    match v {
        Value::Object(o) => {
            f(o);
            o.values().for_each(|v| walk(v, f));
        }
        Value::Array(a) => a.iter().for_each(|v| walk(v, f)),
        _ => {}
    }
}

#[test]
fn the_grafana_dashboard_queries_only_what_the_daemon_exposes() {
    let families = exposition();
    let text = read("packaging/grafana-dashboard.json");
    let dash: Value = serde_json::from_str(&text).expect("the dashboard is JSON");

    // Importable on any Grafana: the data source is an input of the import.
    let inputs = dash["__inputs"].as_array().expect("__inputs");
    assert!(
        inputs.iter().any(|i| i["name"] == "DS_PROMETHEUS"
            && i["type"] == "datasource"
            && i["pluginId"] == "prometheus"),
        "{inputs:?}"
    );
    assert!(dash["uid"].is_string() && dash["title"].is_string());

    let mut queried = BTreeSet::new();
    let mut queries = 0;
    let mut ids = BTreeSet::new();
    walk(&dash, &mut |o| {
        if let Some(ds) = o.get("datasource") {
            assert_eq!(
                ds["uid"], "${DS_PROMETHEUS}",
                "every data source is the import's input: {o:?}"
            );
        }
        if o.contains_key("gridPos") {
            let id = o["id"].as_u64().expect("a panel has an id");
            assert!(ids.insert(id), "panel id {id} twice");
        }
        if let Some(expr) = o.get("expr").and_then(Value::as_str) {
            let legend = o.get("legendFormat").and_then(Value::as_str).unwrap_or("");
            let title = format!("target {}", o["refId"]);
            queried.extend(check_query(&families, &title, expr, legend));
            queries += 1;
        }
        if let Some(def) = o.get("definition").and_then(Value::as_str) {
            queried.extend(check_query(&families, "a variable", def, ""));
        }
    });
    assert!(queries >= 10, "{queries} queries");
    // What an operator watches, each on a panel.
    for m in [
        "probe_success",
        "stca2_probe_port_open",
        "probe_ssl_earliest_cert_expiry",
        "stca2_probe_uploads_total",
        "stca2_probe_spool_reports",
        "stca2_probe_spool_bytes",
        "stca2_probe_reports_dropped_total",
        "stca2_probe_reports_quarantined_total",
        "stca2_probe_cycles_skipped_total",
        "stca2_probe_last_upload_success_timestamp_seconds",
        "stca2_probe_wire_bytes_total",
    ] {
        assert!(queried.contains(m), "no panel shows {m}");
    }
}

#[test]
fn the_readme_alert_rules_use_what_the_daemon_exposes() {
    let families = exposition();
    let readme = read("README.md");
    let section = readme
        .split("### On a box: metrics, dashboard, alerts")
        .nth(1)
        .expect("the README's metrics section");
    let rules = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a yaml block of alert rules");
    let mut exprs = 0;
    for line in rules.lines() {
        if let Some(expr) = line.trim().strip_prefix("expr: ") {
            check_query(&families, "README alert", expr, "");
            exprs += 1;
        }
    }
    assert!(exprs >= 4, "{exprs} rules");
}

/// `key=value` lines of a unit file's section, in order.
fn unit_entries(text: &str, section: &str) -> Vec<(String, String)> {
    let mut current = String::new();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            current = s.to_string();
        } else if current == section {
            let (k, v) = line.split_once('=').expect("key=value");
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

#[test]
fn the_unit_runs_the_daemon_as_the_daemon_expects() {
    let unit = read("packaging/stca2-probe.service");
    let service = unit_entries(&unit, "Service");
    let get = |key: &str| -> Vec<&str> {
        service
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(
        get("ExecStart"),
        ["/usr/bin/stca2-probe daemon --config /etc/stca2-probe/daemon.toml"]
    );
    // The default spool lives in the unit's one writable folder.
    let state = get("StateDirectory");
    assert_eq!(state.len(), 1);
    assert!(
        Path::new(DEFAULT_SPOOL_DIR).starts_with(Path::new("/var/lib").join(state[0])),
        "{DEFAULT_SPOOL_DIR} is not under StateDirectory={}",
        state[0]
    );
    // A bad configuration exits with the usage code, which is not restarted.
    assert_eq!(
        get("RestartPreventExitStatus"),
        [stca2_engine::cli::EXIT_USAGE.to_string()]
    );
    // systemd's SIGKILL comes after the daemon's own bound (the running
    // cycle's grace, then 2 s for the runtime: src/main.rs).
    let stop = get("TimeoutStopSec");
    let secs: u64 = stop[0]
        .strip_suffix('s')
        .and_then(|s| s.parse().ok())
        .expect("TimeoutStopSec in seconds");
    assert!(
        secs > stca2_daemon::SHUTDOWN_GRACE.as_secs() + 2,
        "TimeoutStopSec={secs}s leaves the daemon no time for its own {:?} bound",
        stca2_daemon::SHUTDOWN_GRACE
    );
    // No capability in the unit itself (the `interface` drop-in adds one).
    assert_eq!(get("CapabilityBoundingSet"), [""]);
    assert_eq!(get("AmbientCapabilities"), [""]);
    // The user the sysusers file creates.
    let user = get("User");
    let sysusers = read("packaging/stca2-probe.sysusers");
    let declared: Vec<&str> = sysusers
        .lines()
        .filter(|l| l.starts_with("u "))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(user, declared);
    assert_eq!(get("Group"), declared);
}

#[test]
fn the_installed_configuration_refuses_to_start_until_the_box_is_enrolled() {
    let path = Path::new("/etc/stca2-probe/daemon.toml");
    let installed = read("packaging/daemon.conffile.toml");
    let e = Config::parse(&installed, path).expect_err("refused as installed");
    assert!(e.to_string().contains("probe_id"), "{e}");
    // Its commented keys are the enrolment: uncommented, they are valid.
    let enrolled: String = installed
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(k) if k.starts_with('[') || k.contains(" = ") => k,
            _ => l,
        })
        .flat_map(|l| [l, "\n"])
        .collect();
    let c = Config::parse(&enrolled, path).unwrap_or_else(|e| panic!("{e}\n{enrolled}"));
    assert_eq!(c.probe_id, "shop-0042");
    let u = c.upload.expect("[upload] once uncommented");
    assert_eq!(u.token_file, Path::new("/etc/stca2-probe/token"));
}
