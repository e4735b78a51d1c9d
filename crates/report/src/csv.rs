//! CSV for ISP tickets: one row per report x target (docs/design.md §3).
//!
//! The columns are a contract (reports/csv-columns.md). Cells that a
//! spreadsheet would run as a formula are neutralised with a leading
//! apostrophe, because these files are opened by people at ISPs who did not
//! write them; control, direction and zero-width characters are written as
//! visible escapes ([`crate::text::escape`]), so that a terminal showing the
//! file (`check --csv`) or a spreadsheet opening it shows them, never obeys
//! them.

use std::borrow::Cow;
use std::io::Write;

use super::Report;
use crate::result::LatencyStats;

/// The header row, in order.
pub const COLUMNS: &[&str] = &[
    "report_id",
    "probe_id",
    "merchant_id",
    "public_ip",
    "started_at",
    "finished_at",
    "target_set",
    "site",
    "role",
    "address",
    "ip",
    "port",
    "service",
    "tcp_status",
    "tcp_detail",
    "tcp_attempts",
    "tcp_successes",
    "connect_p50_ms",
    "connect_p99_ms",
    "tls_status",
    "tls_detail",
    "tls_version",
    "tls_cipher",
    "ca_family",
    "leaf_subject",
    "leaf_issuer",
    "leaf_sha256",
    "days_to_expiry",
    "stca2_port_closed",
    "recommendation",
    "message",
    "last_answering_hop",
];

/// Makes a cell safe to open in a spreadsheet: one that starts with `=`,
/// `+`, `-`, `@`, tab or carriage return gets a leading apostrophe.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// One cell as it goes into the file: control and hidden characters
/// escaped ([`crate::text::escape`]), then neutralised. Escaping first keeps
/// the order safe: it can only turn a leading character into a backslash.
pub fn cell(text: &str) -> String {
    neutralise(&crate::text::escape(text)).into_owned()
}

/// The rows of one report, already escaped and neutralised ([`cell`]); `public_ip` is the address
/// the back office saw the upload come from (empty for a local check).
pub fn rows(report: &Report, public_ip: Option<&str>) -> Vec<Vec<String>> {
    let ms = |s: Option<LatencyStats>, f: fn(&LatencyStats) -> f64| {
        s.map(|s| format!("{:.1}", f(&s))).unwrap_or_default()
    };
    let started = fmt_time(report.started_at);
    let finished = fmt_time(report.finished_at);
    report
        .results
        .iter()
        .map(|r| {
            let tls = r.tls.as_ref();
            let leaf = tls.and_then(|t| t.chain.first());
            let cells: Vec<String> = vec![
                report.report_id.clone(),
                report.probe.id.clone(),
                report.probe.merchant.clone().unwrap_or_default(),
                public_ip.unwrap_or_default().to_string(),
                started.clone(),
                finished.clone(),
                report.target_set.clone(),
                r.site.clone(),
                r.role.as_str().to_string(),
                r.address.clone(),
                r.ip.map(|i| i.to_string()).unwrap_or_default(),
                r.port.to_string(),
                r.service.as_str().to_string(),
                r.tcp.status.as_str().to_string(),
                r.tcp.detail.clone().unwrap_or_default(),
                r.tcp.attempts.to_string(),
                r.tcp.successes.to_string(),
                ms(r.tcp.connect_ms, |s| s.p50),
                ms(r.tcp.connect_ms, |s| s.p99),
                tls.map(|t| t.status.as_str().to_string())
                    .unwrap_or_default(),
                tls.and_then(|t| t.detail.clone()).unwrap_or_default(),
                tls.and_then(|t| t.version.clone()).unwrap_or_default(),
                tls.and_then(|t| t.cipher.clone()).unwrap_or_default(),
                tls.and_then(|t| t.ca_family)
                    .map(|f| f.to_string())
                    .unwrap_or_default(),
                leaf.map(|c| c.subject.clone()).unwrap_or_default(),
                leaf.map(|c| c.issuer.clone()).unwrap_or_default(),
                leaf.map(|c| c.sha256.clone()).unwrap_or_default(),
                tls.and_then(|t| t.days_to_expiry)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                report.summary.stca2_port_closed.to_string(),
                report.summary.failover.recommendation.as_str().to_string(),
                report.summary.failover.message.clone(),
                r.trace
                    .as_ref()
                    .and_then(|t| t.last_answering_hop.as_ref())
                    .map(|h| match h.address {
                        Some(a) => format!("{} {a}", h.ttl),
                        None => h.ttl.to_string(),
                    })
                    .unwrap_or_default(),
            ];
            cells.iter().map(|c| cell(c)).collect()
        })
        .collect()
}

/// Writes the header and the rows of `reports` as RFC 4180 CSV.
pub fn write<W: Write>(out: W, reports: &[Report], public_ip: Option<&str>) -> csv::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(COLUMNS)?;
    for report in reports {
        for row in rows(report, public_ip) {
            w.write_record(&row)?;
        }
    }
    w.flush()?;
    Ok(())
}

/// RFC 3339, UTC, second precision: what a spreadsheet parses.
fn fmt_time(t: ::time::OffsetDateTime) -> String {
    let t = t
        .to_offset(::time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&::time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        for (cell, want) in [
            ("=1+1", "'=1+1"),
            ("+33 1", "'+33 1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("toulouse", "toulouse"),
            ("", ""),
        ] {
            assert_eq!(neutralise(cell), want, "{cell:?}");
        }
    }

    #[test]
    fn cells_escape_controls_and_direction_characters_then_neutralise() {
        for (text, want) in [
            ("\u{1b}[2Jgone", "\\x1b[2Jgone"),
            ("a\0b", "a\\x00b"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("p\u{200b}1", "p\\u{200b}1"),
            ("\tx", "\\x09x"),
            ("=1+1\u{2066}", "'=1+1\\u{2066}"),
            ("l1\nl2", "l1\\x0al2"),
            ("plain", "plain"),
        ] {
            assert_eq!(cell(text), want, "{text:?}");
        }
    }

    #[test]
    fn every_probe_and_network_text_of_a_report_is_escaped_in_its_rows() {
        use crate::fixtures::field::{probe, serving_stca2};
        use crate::{Role, SCHEMA};
        let evil = "x\u{1b}]0;owned\u{7}\u{202e}\u{200d}\0";
        let mut target = serving_stca2(Role::Primary, 1146);
        target.site = evil.into();
        target.address = evil.into();
        target.tcp.detail = Some(evil.into());
        let tls = target.tls.as_mut().unwrap();
        tls.detail = Some(evil.into());
        tls.version = Some(evil.into());
        tls.cipher = Some(evil.into());
        tls.chain[0].subject = evil.into();
        tls.chain[0].issuer = evil.into();
        tls.chain[0].sha256 = evil.into();
        let mut p = probe();
        p.id = evil.into();
        p.merchant = Some(evil.into());
        let mut summary = crate::fixtures::upload::summary(true, crate::Recommendation::None, evil);
        summary.failover.message = evil.into();
        let report = crate::Report {
            schema: SCHEMA.into(),
            report_id: evil.into(),
            probe: p,
            started_at: crate::fixtures::field::NOW,
            finished_at: crate::fixtures::field::NOW,
            target_set: evil.into(),
            results: vec![target],
            summary,
        };
        let mut out = Vec::new();
        write(&mut out, &[report], Some(evil)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let body = text.replace("\r\n", "");
        let bad: Vec<char> = body
            .chars()
            .filter(|c| c.is_control() || crate::text::is_hidden(*c))
            .collect();
        assert!(bad.is_empty(), "{bad:?} in {text}");
        assert_eq!(
            text.matches("x\\x1b]0;owned\\x07\\u{202e}\\u{200d}\\x00")
                .count(),
            15,
            "{text}"
        );
    }
}
