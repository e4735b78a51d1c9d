//! The v1 report as other tools see it: realistic reports built in code
//! validate against reports/report.schema.json, survive a JSON round trip,
//! the committed example is exactly what serde writes, and the CSV export
//! keeps its columns, its quoting and its formula neutralisation.

use std::net::IpAddr;

use serde_json::Value;
use stca2_engine::verdict::Context;
use stca2_report::CaFamily;
use stca2_report::Recommendation;
use stca2_report::Role;
use stca2_report::fixtures::field::{
    NOW, blocked, intercepted, old_stca, open, probe, serving_stca2, stca2_chain, tls_ok,
};
use stca2_report::{
    DnsResult, DnsStatus, TargetResult, TcpResult, TcpStatus, TlsResult, TlsStatus,
};
use stca2_report::{Report, SCHEMA, csv as report_csv};
use time::macros::datetime;

const SCHEMA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/reports/report.schema.json");
const EXAMPLE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/reports/example-report.json");

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(SCHEMA_PATH).expect("reports/report.schema.json");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::draft202012::meta::validate(&schema).expect("the schema is a valid 2020-12 schema");
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

// ---------------------------------------------------------------------------
// Realistic reports, from the field fixtures, judged by the real verdict.

fn report(results: Vec<TargetResult>, ctx: &Context) -> Report {
    stca2_engine::verdict::judged(
        probe(),
        "lab",
        NOW,
        NOW + time::Duration::milliseconds(2150),
        results,
        ctx,
    )
}

/// Several scenarios a real check produces, named.
fn scenarios() -> Vec<(&'static str, Report)> {
    use Role::{Primary as P, Secondary as S};
    let ctx = Context::default();
    let mut with_everything = report(
        vec![
            serving_stca2(P, 1146),
            serving_stca2(P, 7212),
            serving_stca2(S, 1146),
            serving_stca2(S, 7212),
        ],
        &ctx,
    );
    // Every optional field set at least once.
    with_everything.probe.merchant = Some("MERCH-7781".into());
    with_everything.probe.source = Some("192.0.2.10".into());
    with_everything.probe.interface = Some("wwan0".into());
    if let Some(tls) = with_everything.results[0].tls.as_mut() {
        tls.alpn = Some("http/1.1".into());
        tls.chain[0].pem =
            Some("-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n".into());
    }

    let mut hostname = open(P, 1146);
    hostname.address = "gw.lab.example".into();
    hostname.ip = Some("::1".parse::<IpAddr>().expect("ipv6"));
    hostname.dns = Some(DnsResult {
        status: DnsStatus::Ok,
        detail: None,
        addresses: vec![
            "::1".parse().expect("ipv6"),
            "127.0.38.45".parse().expect("ipv4"),
        ],
        ms: 4.25,
    });
    hostname.tls = Some(tls_ok(
        stca2_chain("::1", datetime!(2026-03-20 00:00:00 UTC)),
        CaFamily::Stca2,
    ));
    let mut unresolved = open(S, 1146);
    unresolved.address = "gw2.lab.example".into();
    unresolved.ip = None;
    unresolved.dns = Some(DnsResult {
        status: DnsStatus::Nxdomain,
        detail: Some("no record found for gw2.lab.example".into()),
        addresses: vec![],
        ms: 12.5,
    });
    unresolved.tcp = TcpResult {
        status: TcpStatus::Error,
        detail: Some("not resolved".into()),
        attempts: 0,
        successes: 0,
        connect_ms: None,
    };

    let mut reset = open(S, 1146);
    reset.tls = Some(TlsResult::failed(
        TlsStatus::Reset,
        Some("connection reset by peer after ClientHello".into()),
        3,
    ));

    let mut expired = open(P, 1146);
    expired.tls = Some(tls_ok(
        stca2_chain("127.0.38.45", datetime!(2026-02-20 00:00:00 UTC)),
        CaFamily::Stca2,
    ));

    vec![
        ("healthy, every optional field", with_everything),
        (
            "primary blocked",
            report(
                vec![
                    blocked(P, 1146, TcpStatus::Timeout, "no answer within 5 s"),
                    blocked(
                        P,
                        7212,
                        TcpStatus::Unreachable,
                        "ICMP administratively prohibited",
                    ),
                    serving_stca2(S, 1146),
                    serving_stca2(S, 7212),
                ],
                &ctx,
            ),
        ),
        (
            "both blocked",
            report(
                vec![
                    blocked(P, 1146, TcpStatus::Refused, "connection refused"),
                    blocked(P, 7212, TcpStatus::Refused, "connection refused"),
                    blocked(S, 1146, TcpStatus::Timeout, "no answer"),
                    blocked(S, 7212, TcpStatus::Timeout, "no answer"),
                ],
                &ctx,
            ),
        ),
        (
            "intercepted",
            report(
                vec![
                    intercepted(P, 1146),
                    intercepted(P, 7212),
                    intercepted(S, 1146),
                    intercepted(S, 7212),
                ],
                &ctx,
            ),
        ),
        (
            "old CA through legacy capture",
            report(vec![old_stca(P, 1146), serving_stca2(P, 7212), reset], &ctx),
        ),
        (
            "anchors missing",
            report(
                vec![intercepted(P, 1146), intercepted(S, 1146)],
                &Context {
                    anchors_available: false,
                    ..Context::default()
                },
            ),
        ),
        (
            "hostnames, IPv6, expiring and expired",
            report(vec![hostname, unresolved, expired], &ctx),
        ),
        ("empty set", report(vec![], &ctx)),
    ]
}

// ---------------------------------------------------------------------------
// JSON.

#[test]
fn every_scenario_validates_against_the_schema() {
    let v = validator();
    for (name, r) in scenarios() {
        assert_eq!(r.schema, SCHEMA);
        let doc = serde_json::to_value(&r).expect("serialise");
        let errs = errors(&v, &doc);
        assert!(errs.is_empty(), "{name}: {errs:#?}");
    }
}

#[test]
fn scenarios_cover_what_they_claim() {
    let s = scenarios();
    let rec = |i: usize| s[i].1.summary.failover.recommendation;
    assert!(s[0].1.summary.ok);
    assert_eq!(rec(0), Recommendation::ConfigureSecondary);
    assert!(s[1].1.summary.stca2_port_closed);
    assert_eq!(rec(1), Recommendation::OpenPrimary);
    assert_eq!(rec(2), Recommendation::OpenBoth);
    assert_eq!(rec(3), Recommendation::None);
    assert!(
        s[3].1
            .summary
            .findings
            .iter()
            .any(|f| f.code == "interception")
    );
    assert!(s[4].1.summary.findings.iter().any(|f| f.code == "old_ca"));
    assert!(
        s[5].1
            .summary
            .findings
            .iter()
            .any(|f| f.code == "anchors_missing")
    );
    assert!(
        s[5].1
            .summary
            .findings
            .iter()
            .all(|f| f.code != "interception")
    );
    let codes: Vec<&str> = s[6]
        .1
        .summary
        .findings
        .iter()
        .map(|f| f.code.as_str())
        .collect();
    for c in ["dns_failed", "expiring", "expired"] {
        assert!(codes.contains(&c), "{c} not in {codes:?}");
    }
}

#[test]
fn json_round_trips() {
    for (name, r) in scenarios() {
        let text = r.to_json_pretty().expect("serialise");
        let back = Report::from_json(&text).expect("deserialise");
        assert_eq!(back, r, "{name}");
        // And the text form is stable through a second trip.
        assert_eq!(back.to_json_pretty().expect("serialise"), text, "{name}");
    }
}

#[test]
fn report_ids_are_fresh_uuids() {
    let a = report(vec![], &Context::default());
    let b = report(vec![], &Context::default());
    assert_ne!(a.report_id, b.report_id);
    for id in [&a.report_id, &b.report_id] {
        let u = uuid::Uuid::parse_str(id).expect("uuid");
        assert_eq!(u.get_version_num(), 4);
    }
}

#[test]
fn the_example_report_is_exactly_a_v1_report() {
    let text = std::fs::read_to_string(EXAMPLE_PATH).expect("reports/example-report.json");
    let doc: Value = serde_json::from_str(&text).expect("the example is JSON");
    let errs = errors(&validator(), &doc);
    assert!(errs.is_empty(), "{errs:#?}");
    let r = Report::from_json(&text).expect("the example deserialises");
    // Nothing in the example is ignored by serde, nothing is missing.
    assert_eq!(serde_json::to_value(&r).expect("serialise"), doc);
}

#[test]
fn the_schema_reads_facts_from_the_future() {
    let v = validator();
    let mut doc = serde_json::to_value(&scenarios()[1].1).expect("serialise");
    doc["summary"]["headline_params"] = serde_json::json!({"case": "from_the_future", "x": 1});
    doc["summary"]["failover"]["params"] = serde_json::json!({"case": "new_reason"});
    doc["summary"]["findings"][0]["params"] = serde_json::json!({"code": "new_code", "y": [1]});
    let errs = errors(&v, &doc);
    assert!(errs.is_empty(), "{errs:?}");
}

#[test]
fn the_schema_has_teeth() {
    let v = validator();
    let good = serde_json::to_value(&scenarios()[1].1).expect("serialise");
    // (what, JSON pointer, new value; None removes the key)
    let breakages: Vec<(&str, &str, Option<Value>)> = vec![
        (
            "unknown schema id",
            "/schema",
            Some("stca2-probe/report/v2".into()),
        ),
        ("bad report id", "/report_id", Some("42".into())),
        (
            "local time",
            "/started_at",
            Some("2026-03-02T10:30:00+01:00".into()),
        ),
        (
            "tcp status spelling",
            "/results/0/tcp/status",
            Some("closed".into()),
        ),
        (
            "tls status spelling",
            "/results/2/tls/status",
            Some("OK".into()),
        ),
        (
            "family spelling",
            "/results/2/tls/ca_family",
            Some("stca2".into()),
        ),
        (
            "stack spelling",
            "/results/2/tls/stack",
            Some("legacy_capture".into()),
        ),
        (
            "recommendation spelling",
            "/summary/failover/recommendation",
            Some("configure".into()),
        ),
        (
            "severity spelling",
            "/summary/findings/0/severity",
            Some("fatal".into()),
        ),
        ("port 0", "/results/0/port", Some(0.into())),
        ("missing tls key", "/results/0/tls", None),
        ("missing headline", "/summary/headline", None),
        ("unknown field", "/summary/surprise", Some(true.into())),
        (
            "bad fingerprint",
            "/results/2/tls/chain/0/sha256",
            Some("ABC".into()),
        ),
        ("bad ip", "/results/0/ip", Some("300.1.1.1".into())),
        (
            "signature_verified as a boolean",
            "/results/2/tls/signature_verified",
            Some(true.into()),
        ),
        // The verdict's typed facts: a known case or code is held to its shape.
        (
            "headline facts: router as a string",
            "/summary/headline_params/router",
            Some("yes".into()),
        ),
        (
            "headline facts without what is closed",
            "/summary/headline_params/closed",
            None,
        ),
        (
            "headline facts: an unknown key in a known case",
            "/summary/headline_params/surprise",
            Some(true.into()),
        ),
        (
            "failover facts: an unknown key in a known case",
            "/summary/failover/params/surprise",
            Some(true.into()),
        ),
        (
            "finding facts: port 0",
            "/summary/findings/0/params/target/port",
            Some(0.into()),
        ),
        (
            "finding facts: tcp status spelling",
            "/summary/findings/0/params/tcp",
            Some("closed".into()),
        ),
        (
            "finding facts without their target",
            "/summary/findings/0/params/target",
            None,
        ),
    ];
    assert!(errors(&v, &good).is_empty());
    for (name, pointer, value) in breakages {
        let mut doc = good.clone();
        let (parent, key) = pointer.rsplit_once('/').expect("pointer");
        let obj = doc
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("{name}: no object at {parent}"));
        match value {
            Some(v) => {
                obj.insert(key.to_string(), v);
            }
            None => {
                assert!(obj.remove(key).is_some(), "{name}: nothing to remove");
            }
        }
        assert!(!errors(&v, &doc).is_empty(), "the schema accepts: {name}");
    }
}

// ---------------------------------------------------------------------------
// CSV.

fn read_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rd = csv::ReaderBuilder::new().from_reader(bytes);
    let header = rd
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = rd
        .records()
        .map(|r| r.expect("record").iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn col(name: &str) -> usize {
    report_csv::COLUMNS
        .iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

#[test]
fn csv_header_and_one_row_per_target() {
    let reports: Vec<Report> = scenarios().into_iter().map(|(_, r)| r).collect();
    let mut out = Vec::new();
    report_csv::write(&mut out, &reports, Some("203.0.113.7")).expect("write");
    let (header, rows) = read_csv(&out);
    assert_eq!(header, report_csv::COLUMNS);
    let targets: usize = reports.iter().map(|r| r.results.len()).sum();
    assert_eq!(rows.len(), targets);
    for row in &rows {
        assert_eq!(row.len(), report_csv::COLUMNS.len());
        assert_eq!(row[col("public_ip")], "203.0.113.7");
        assert!(
            row[col("started_at")].ends_with('Z'),
            "{}",
            row[col("started_at")]
        );
    }
    let first = &rows[0];
    assert_eq!(first[col("report_id")], reports[0].report_id);
    assert_eq!(first[col("address")], "127.0.38.45");
    assert_eq!(first[col("port")], "1146");
    assert_eq!(first[col("tcp_status")], "open");
    assert_eq!(first[col("ca_family")], "STCA2");
    assert_eq!(first[col("started_at")], "2026-03-02T09:30:00Z");
    assert_eq!(first[col("recommendation")], "configure_secondary");
    // Lines end with CRLF, as RFC 4180 says.
    assert!(out.windows(2).any(|w| w == b"\r\n"));
}

#[test]
fn csv_neutralises_formulas_from_the_field() {
    let mut r = scenarios().remove(1).1;
    r.probe.id = "=HYPERLINK(\"http://evil.example\",\"click\")".into();
    r.probe.merchant = Some("+33 5 61 00 00 00".into());
    r.results[0].tcp.detail = Some("-1 attempts".into());
    r.results[1].site = "@SUM(A1)".into();
    let mut out = Vec::new();
    report_csv::write(&mut out, std::slice::from_ref(&r), None).expect("write");
    let (_, rows) = read_csv(&out);
    for row in &rows {
        assert_eq!(
            row[col("probe_id")],
            "'=HYPERLINK(\"http://evil.example\",\"click\")"
        );
        assert_eq!(row[col("merchant_id")], "'+33 5 61 00 00 00");
        for cell in row {
            let first = cell.chars().next();
            assert!(
                !matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')),
                "formula-like cell {cell:?}"
            );
        }
    }
    assert_eq!(rows[0][col("tcp_detail")], "'-1 attempts");
    assert_eq!(rows[1][col("site")], "'@SUM(A1)");
}

#[test]
fn csv_quoting_round_trips() {
    let mut r = scenarios().remove(2).1;
    let nasty = "refused, twice; \"RST\" from 192.0.2.1\nthen again\r\nand a 'quote'";
    r.results[0].tcp.detail = Some(nasty.into());
    r.target_set = "lab, \"annex\"".into();
    let mut out = Vec::new();
    report_csv::write(&mut out, std::slice::from_ref(&r), None).expect("write");
    let (_, rows) = read_csv(&out);
    assert_eq!(rows.len(), r.results.len());
    // Commas, quotes and apostrophes come back as they were; line breaks
    // come back escaped (`\x0a`), as every control character in a CSV cell
    // (issue 8: a terminal or a spreadsheet must not act on them).
    assert_eq!(
        rows[0][col("tcp_detail")],
        stca2_report::text::escape(nasty).as_ref()
    );
    assert_eq!(
        rows[0][col("tcp_detail")],
        "refused, twice; \"RST\" from 192.0.2.1\\x0athen again\\x0d\\x0aand a 'quote'"
    );
    assert!(
        rows.iter()
            .all(|row| row[col("target_set")] == "lab, \"annex\"")
    );
    assert_eq!(rows[0][col("message")], r.summary.failover.message);
}

/// The committed example: the "primary blocked" scenario with a fixed id.
fn example() -> Report {
    let mut r = scenarios().remove(1).1;
    r.report_id = "0b7c4a52-5d1e-4f3a-9c61-2e8d7f4b9a10".into();
    r.probe.merchant = Some("MERCH-7781".into());
    // Fixed, so that a version bump does not make the example stale.
    r.probe.version = "0.1.0".into();
    r
}

#[test]
fn the_example_is_the_primary_blocked_scenario() {
    let text = std::fs::read_to_string(EXAMPLE_PATH).expect("reports/example-report.json");
    let committed = Report::from_json(&text).expect("deserialise");
    assert_eq!(
        committed,
        example(),
        "reports/example-report.json is stale; regenerate it with \
         `cargo test --test tests report_contract -- --ignored regenerate_example`"
    );
}

#[test]
fn cipher_names_in_the_example_are_iana() {
    let text = std::fs::read_to_string(EXAMPLE_PATH).expect("reports/example-report.json");
    assert!(!text.contains("TLS13_"), "rustls' TLS13_ spelling leaked");
    for r in example().results {
        if let Some(c) = r.tls.and_then(|t| t.cipher) {
            assert!(c.starts_with("TLS_"), "{c}");
        }
    }
}

/// Rewrites reports/example-report.json from [`example`]; run by hand after a
/// deliberate change to the report (see reports/README.md).
#[test]
#[ignore = "writes reports/example-report.json"]
fn regenerate_example() {
    let mut text = example().to_json_pretty().expect("serialise");
    text.push('\n');
    std::fs::write(EXAMPLE_PATH, text).expect("write the example");
}
