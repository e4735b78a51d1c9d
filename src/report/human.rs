//! The human report: what an installer reads at the merchant's router.
//!
//! The order is the order of a person's questions: the verdict first (one or
//! two sentences), then what to do about site 2, then the evidence — a table
//! of every site x port with TCP, TLS, CA family and latency — then the
//! findings, most severe first, then any warnings from the run itself (for
//! example missing anchor files).
//!
//! Colour is decided by the caller (a terminal, and `NO_COLOR` unset); when
//! it is off, the output is plain text with no escape codes at all, so it can
//! be pasted into a ticket or an e-mail as is.

use std::io::{self, Write};

use anstyle::{AnsiColor, Effects, Style};

use super::Report;
use crate::cert::CaFamily;
use crate::probe::result::{LatencyStats, TargetResult, TcpStatus, TlsStatus};
use crate::targets::Service;
use crate::verdict::{self, Recommendation, Severity};

const GOOD: Style = AnsiColor::Green.on_default();
const BAD: Style = AnsiColor::Red.on_default();
const WARN: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().effects(Effects::DIMMED);
const BOLD: Style = Style::new().effects(Effects::BOLD);

/// Writes the human report.
///
/// `warnings` are things the run itself wants said (a missing anchor file, a
/// skipped target); `color` turns on ANSI styles and nothing else changes.
pub fn render(
    report: &Report,
    warnings: &[String],
    out: &mut dyn Write,
    color: bool,
) -> io::Result<()> {
    let paint = Painter { color };
    let summary = &report.summary;

    let verdict_style = if summary.ok { GOOD } else { BAD };
    writeln!(
        out,
        "{}",
        paint.paint(&summary.headline, verdict_style.effects(Effects::BOLD))
    )?;
    let failover_style = match summary.failover.recommendation {
        Recommendation::ConfigureSecondary => GOOD,
        Recommendation::None => Style::new(),
        _ => WARN,
    };
    writeln!(
        out,
        "{} {}",
        paint.paint("Failover:", failover_style.effects(Effects::BOLD)),
        summary.failover.message
    )?;
    writeln!(out)?;

    table(report, out, &paint)?;

    if !summary.findings.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", paint.paint("Findings:", BOLD))?;
        for f in &summary.findings {
            let (label, style) = match f.severity {
                Severity::Error => ("error", BAD),
                Severity::Warning => ("warning", WARN),
                Severity::Info => ("info", DIM),
            };
            writeln!(
                out,
                "- {} ({}): {}",
                paint.paint(label, style.effects(Effects::BOLD)),
                f.code,
                f.message
            )?;
        }
    }
    if !warnings.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", paint.paint("Warnings:", BOLD))?;
        for w in warnings {
            writeln!(out, "- {}", paint.paint(w, WARN))?;
        }
    }
    writeln!(out)?;
    let when = report
        .started_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    writeln!(
        out,
        "{}",
        paint.paint(
            &format!(
                "report {} | target set {} | probe {} | {when}",
                report.report_id, report.target_set, report.probe.id
            ),
            DIM
        )
    )?;
    Ok(())
}

/// Applies a style only when colour is on.
struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, text: &str, style: Style) -> String {
        if self.color && style != Style::new() {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}

/// One table cell: its plain text (which sets the width) and its style.
struct Cell {
    text: String,
    style: Style,
}

impl Cell {
    fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            style: Style::new(),
        }
    }

    fn styled(text: impl Into<String>, style: Style) -> Cell {
        Cell {
            text: text.into(),
            style,
        }
    }
}

const HEADER: [&str; 9] = [
    "SITE",
    "ROLE",
    "TARGET",
    "SERVICE",
    "TCP",
    "TLS",
    "CA",
    "CONNECT p50/p99",
    "HANDSHAKE p50",
];

fn table(report: &Report, out: &mut dyn Write, paint: &Painter) -> io::Result<()> {
    let rows: Vec<Vec<Cell>> = report.results.iter().map(row).collect();
    let mut widths: Vec<usize> = HEADER.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.text.chars().count());
        }
    }
    let header: Vec<Cell> = HEADER.iter().map(|h| Cell::styled(*h, BOLD)).collect();
    line(&header, &widths, out, paint)?;
    for r in &rows {
        line(r, &widths, out, paint)?;
    }
    Ok(())
}

fn line(cells: &[Cell], widths: &[usize], out: &mut dyn Write, paint: &Painter) -> io::Result<()> {
    let mut text = String::new();
    let last = cells.len().saturating_sub(1);
    for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
        let pad = if i == last {
            0
        } else {
            w.saturating_sub(c.text.chars().count()) + 2
        };
        text.push_str(&paint.paint(&c.text, c.style));
        text.push_str(&" ".repeat(pad));
    }
    writeln!(out, "{}", text.trim_end())
}

fn row(r: &TargetResult) -> Vec<Cell> {
    let tcp_style = if r.tcp.status == TcpStatus::Open {
        GOOD
    } else {
        BAD
    };
    let tcp = Cell::styled(
        format!(
            "{} {}/{}",
            r.tcp.status.as_str(),
            r.tcp.successes,
            r.tcp.attempts
        ),
        tcp_style,
    );
    let (tls, ca, handshake) = match &r.tls {
        None => (Cell::plain("-"), Cell::plain("-"), Cell::plain("-")),
        Some(t) => {
            let answered = t.status == TlsStatus::Ok
                || (t.status == TlsStatus::ClientAuthRequired && r.service == Service::Declaration);
            let mut text = t.status.as_str().to_string();
            if let Some(alert) = &t.alert {
                text.push_str(&format!(" ({alert})"));
            }
            if let Some(v) = &t.version {
                text.push(' ');
                text.push_str(v);
            }
            let ca = match t.ca_family {
                Some(CaFamily::Stca2) => Cell::styled("STCA2", GOOD),
                Some(CaFamily::Stca) => Cell::styled("STCA", BAD),
                Some(CaFamily::Unknown) => Cell::styled("unknown", BAD),
                None => Cell::plain("-"),
            };
            (
                Cell::styled(text, if answered { GOOD } else { BAD }),
                ca,
                Cell::plain(ms(t.handshake_ms, false)),
            )
        }
    };
    vec![
        Cell::plain(r.site.clone()),
        Cell::plain(r.role.as_str()),
        Cell::plain(verdict::endpoint(&r.address, r.port)),
        Cell::plain(r.service.as_str()),
        tcp,
        tls,
        ca,
        Cell::plain(ms(r.tcp.connect_ms, true)),
        handshake,
    ]
}

/// "12.3/45.6 ms" (p50/p99) or "12.3 ms" (p50), "-" when nothing was measured.
fn ms(stats: Option<LatencyStats>, with_p99: bool) -> String {
    match stats {
        None => "-".to_string(),
        Some(s) if with_p99 => format!("{:.1}/{:.1} ms", s.p50, s.p99),
        Some(s) => format!("{:.1} ms", s.p50),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ProbeIdentity;
    use crate::verdict::Context;
    use crate::verdict::test_support::*;
    use time::macros::datetime;

    fn report(results: Vec<TargetResult>) -> Report {
        Report::judged(
            ProbeIdentity::new("shop-42"),
            "lab",
            datetime!(2026-03-02 9:30 UTC),
            datetime!(2026-03-02 9:30:02 UTC),
            results,
            &Context::default(),
        )
    }

    fn text(report: &Report, warnings: &[String], color: bool) -> String {
        let mut out = Vec::new();
        render(report, warnings, &mut out, color).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_rendering_has_everything_and_no_escapes() {
        let r = report(set(O::Stca2, O::ClientAuth, TIMEOUT, O::Stca2));
        let warnings = vec!["anchor file targets/ca/stca-root.pem is missing".to_string()];
        let t = text(&r, &warnings, false);
        assert!(!t.contains('\u{1b}'), "{t}");
        // Verdict first, failover next.
        assert!(t.starts_with(&r.summary.headline), "{t}");
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[1].starts_with("Failover: "), "{t}");
        assert!(lines[1].contains(&r.summary.failover.message));
        for ep in [
            "127.0.38.45:1146",
            "127.0.38.45:7212",
            "127.0.38.173:1146",
            "127.0.38.173:7212",
        ] {
            assert!(t.contains(ep), "{ep} missing:\n{t}");
        }
        assert!(t.contains("timeout 0/3"));
        assert!(t.contains("ok TLSv1.3"));
        assert!(t.contains("client_auth_required TLSv1.3"));
        assert!(t.contains("2.0/4.0 ms"));
        assert!(t.contains("- error (port_closed): "));
        assert!(t.contains("- info (client_auth): "));
        assert!(t.contains("Warnings:\n- anchor file targets/ca/stca-root.pem is missing"));
        assert!(t.contains(&r.report_id));
    }

    #[test]
    fn table_columns_are_aligned() {
        let r = report(set(O::Stca2, O::Stca, TIMEOUT, O::Unknown));
        let t = text(&r, &[], false);
        let table: Vec<&str> = t
            .lines()
            .skip_while(|l| !l.starts_with("SITE"))
            .take(5)
            .collect();
        assert_eq!(table.len(), 5, "{t}");
        for col in ["ROLE", "TARGET", "TCP", "TLS", "CA", "CONNECT p50/p99"] {
            let at = table[0].find(col).unwrap();
            for l in &table[1..] {
                let before = l.as_bytes()[at - 1];
                assert_eq!(before, b' ', "column {col} misaligned in {l:?}");
                assert_ne!(l.as_bytes()[at], b' ', "column {col} empty in {l:?}");
            }
        }
    }

    #[test]
    fn colour_only_when_asked() {
        let r = report(set(O::Stca2, O::Stca2, O::Stca2, O::Stca2));
        let coloured = text(&r, &[], true);
        assert!(coloured.contains('\u{1b}'));
        assert!(coloured.contains(&r.summary.headline));
        let plain = text(&r, &[], false);
        assert!(!plain.contains('\u{1b}'));
        assert!(!plain.contains("Findings:"), "a healthy check has none");
    }
}
