//! CSV for ISP tickets: one row per report x target (docs/design.md §3).
//!
//! The columns are a contract (reports/csv-columns.md). Cells that a
//! spreadsheet would run as a formula are neutralised with a leading
//! apostrophe, because these files are opened by people at ISPs who did not
//! write them.

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
];

/// Makes a cell safe to open in a spreadsheet: one that starts with `=`,
/// `+`, `-`, `@`, tab or carriage return gets a leading apostrophe.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// The rows of one report, already neutralised; `public_ip` is the address
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
            ];
            cells
                .into_iter()
                .map(|c| neutralise(&c).into_owned())
                .collect()
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
}
