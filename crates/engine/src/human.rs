//! The human report: what an installer reads at the merchant's router.
//!
//! The order is the order of a person's questions: the verdict first (one or
//! two sentences), then what to do about site 2, then the evidence — a table
//! of every site x port with TCP, TLS, CA family and latency — then the
//! findings, most severe first, then any warnings from the run itself (for
//! example missing anchor files).
//!
//! The verdict's sentences are rendered here, at the edge, from the facts
//! the report carries, in the reader's language (`stca2_words::Words`: in
//! English, the same words the engine stored); a report without facts
//! (written before them, or by a newer probe with a case this one does not
//! know) prints its stored strings. Every label, header and status word of
//! the table is a catalogue message too (`check.ftl`).
//!
//! Colour is decided by the caller (a terminal, and `NO_COLOR` unset); when
//! it is off, the output is plain text with no escape codes at all, so it can
//! be pasted into a ticket or an e-mail as is.
//!
//! Much of the text comes from the network — certificate subjects and
//! issuers, TLS alerts, error details — and a hostile server could put
//! terminal escape sequences in them. The certificate decoder already
//! refuses to pass them on; as a second guard every piece of text is
//! cleaned here on its way out ([`stca2_report::text::escape`]): control
//! characters (C0, DEL and C1) are written as visible `\xNN` escapes and
//! direction overrides and zero-width characters as `\u{XXXX}`, so the only
//! escape sequences in the output are the ones colour adds and a line reads
//! in the order it is written.

use std::borrow::Cow;
use std::io::{self, Write};

use anstyle::{AnsiColor, Effects, Style};

use stca2_report::{
    CaFamily, LatencyStats, Recommendation, Report, Severity, TargetResult, TcpStatus,
};
use stca2_words::{Words, args};

use crate::targets::TargetWarning;
use crate::verdict;

const GOOD: Style = AnsiColor::Green.on_default();
const BAD: Style = AnsiColor::Red.on_default();
const WARN: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().effects(Effects::DIMMED);
const BOLD: Style = Style::new().effects(Effects::BOLD);

/// Writes the human report.
///
/// `warnings` are things the run itself wants said (a missing anchor file, a
/// skipped target); `words` is the reader's language; `color` turns on ANSI
/// styles and nothing else changes.
pub fn render(
    report: &Report,
    warnings: &[TargetWarning],
    words: Words,
    out: &mut dyn Write,
    color: bool,
) -> io::Result<()> {
    let paint = Painter { color };
    let summary = &report.summary;

    let verdict_style = if summary.ok { GOOD } else { BAD };
    let headline = said(
        summary
            .headline_params
            .as_ref()
            .and_then(|h| words.headline(h)),
        &summary.headline,
    );
    writeln!(
        out,
        "{}",
        paint.paint(&headline, verdict_style.effects(Effects::BOLD))
    )?;
    let failover_style = match summary.failover.recommendation {
        Recommendation::ConfigureSecondary => GOOD,
        Recommendation::None => Style::new(),
        _ => WARN,
    };
    // The catalogue lays the line out (French puts the label on a line of
    // its own: no capital after a colon); the pieces are cleaned and
    // painted first, the catalogue's own text is trusted.
    writeln!(
        out,
        "{}",
        words.text(
            "report-failover-line",
            Some(&args!(
                "label" => paint.paint(
                    &words.text("report-failover", None),
                    failover_style.effects(Effects::BOLD)
                ),
                "message" => paint.paint(
                    &said(
                        summary
                            .failover
                            .params
                            .as_ref()
                            .and_then(|f| words.failover(f)),
                        &summary.failover.message
                    ),
                    Style::new()
                ),
            ))
        )
    )?;
    writeln!(out)?;

    table(report, words, out, &paint)?;

    if !summary.findings.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            paint.paint(&words.text("report-findings", None), BOLD)
        )?;
        for f in &summary.findings {
            let (severity, style) = match f.severity {
                Severity::Error => ("error", BAD),
                Severity::Warning => ("warning", WARN),
                Severity::Info => ("info", DIM),
            };
            let label = words.text("report-severity", Some(&args!("severity" => severity)));
            writeln!(
                out,
                "{}",
                words.text(
                    "report-finding-line",
                    Some(&args!(
                        "severity" => paint.paint(&label, style.effects(Effects::BOLD)),
                        "code" => paint.paint(&f.code, Style::new()),
                        "message" => paint.paint(
                            &said(f.params.as_ref().and_then(|p| words.finding(p)), &f.message),
                            Style::new()
                        ),
                    ))
                )
            )?;
        }
    }
    if !warnings.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            paint.paint(&words.text("report-warnings", None), BOLD)
        )?;
        for w in warnings {
            writeln!(out, "- {}", paint.paint(&w.said(words), WARN))?;
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
            &words.text(
                "report-footer",
                Some(&args!(
                    "id" => report.report_id.as_str(),
                    "set" => report.target_set.as_str(),
                    "probe" => report.probe.id.as_str(),
                    "when" => when,
                ))
            ),
            DIM
        )
    )?;
    Ok(())
}

/// A sentence rendered from its facts, or the stored one when there are none.
fn said(rendered: Option<String>, stored: &str) -> Cow<'_, str> {
    rendered.map_or(Cow::Borrowed(stored), Cow::Owned)
}

/// Applies a style only when colour is on.
struct Painter {
    color: bool,
}

impl Painter {
    /// `text`, cleaned of control characters, in `style` when colour is on.
    fn paint(&self, text: &str, style: Style) -> String {
        let text = clean(text);
        if self.color && style != Style::new() {
            format!("{style}{text}{style:#}")
        } else {
            text.into_owned()
        }
    }
}

/// `text` with every control character (C0, DEL, C1 — `\n` and `\t`
/// included: every line of the report is built here) written as a visible
/// `\xNN` escape and every direction or zero-width character as
/// `\u{XXXX}` ([`stca2_report::text::escape`]), so that text from the
/// network can neither drive the terminal nor reorder what it shows.
pub fn clean(text: &str) -> Cow<'_, str> {
    stca2_report::text::escape(text)
}

/// One table cell: its plain text (which sets the width) and its style.
struct Cell {
    text: String,
    style: Style,
}

impl Cell {
    fn plain(text: impl AsRef<str>) -> Cell {
        Cell::styled(text, Style::new())
    }

    /// Cleaned here, so that the width counts what is printed.
    fn styled(text: impl AsRef<str>, style: Style) -> Cell {
        Cell {
            text: clean(text.as_ref()).into_owned(),
            style,
        }
    }
}

/// The table's headers (message ids).
const HEADER: [&str; 9] = [
    "table-site",
    "table-role",
    "table-target",
    "table-service",
    "table-tcp",
    "table-tls",
    "table-ca",
    "table-connect",
    "table-handshake",
];

fn table(report: &Report, words: Words, out: &mut dyn Write, paint: &Painter) -> io::Result<()> {
    let rows: Vec<Vec<Cell>> = report.results.iter().map(|r| row(r, words)).collect();
    let header: Vec<Cell> = HEADER
        .iter()
        .map(|h| Cell::styled(words.text(h, None), BOLD))
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.text.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.text.chars().count());
        }
    }
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

fn row(r: &TargetResult, words: Words) -> Vec<Cell> {
    let word = |id: &str, name: &'static str, value: &str| {
        let mut a = stca2_words::FluentArgs::new();
        a.set(name, value.to_string());
        words.text(id, Some(&a))
    };
    let none = || Cell::plain(words.text("table-none", None));
    let tcp_style = if r.tcp.status == TcpStatus::Open {
        GOOD
    } else if verdict::not_measured(r) {
        WARN
    } else {
        BAD
    };
    let tcp = Cell::styled(
        format!(
            "{} {}/{}",
            word("table-tcp-status", "status", r.tcp.status.as_str()),
            r.tcp.successes,
            r.tcp.attempts
        ),
        tcp_style,
    );
    let (tls, ca, handshake) = match &r.tls {
        None => (none(), none(), none()),
        Some(t) => {
            let answered = verdict::answers(r);
            let mut text = word("table-tls-status", "status", t.status.as_str());
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
                Some(CaFamily::Unknown) => Cell::styled(words.text("table-ca-unknown", None), BAD),
                None => none(),
            };
            (
                Cell::styled(text, if answered { GOOD } else { BAD }),
                ca,
                Cell::plain(ms(t.handshake_ms, false, words)),
            )
        }
    };
    vec![
        Cell::plain(&r.site),
        Cell::plain(word("table-role-value", "role", r.role.as_str())),
        Cell::plain(stca2_report::endpoint(&r.address, r.port)),
        Cell::plain(word("table-service-value", "service", r.service.as_str())),
        tcp,
        tls,
        ca,
        Cell::plain(ms(r.tcp.connect_ms, true, words)),
        handshake,
    ]
}

/// "12.3/45.6 ms" (p50/p99) or "12.3 ms" (p50), "-" when nothing was
/// measured; "12,3 ms" in French.
fn ms(stats: Option<LatencyStats>, with_p99: bool, words: Words) -> String {
    match stats {
        None => "-".to_string(),
        Some(s) if with_p99 => words.decimal(&format!("{:.1}/{:.1} ms", s.p50, s.p99)),
        Some(s) => words.decimal(&format!("{:.1} ms", s.p50)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Context;
    use crate::verdict::test_support::*;
    use stca2_report::ProbeIdentity;
    use stca2_report::TlsStatus;
    use time::macros::datetime;

    fn report(results: Vec<TargetResult>) -> Report {
        verdict::judged(
            ProbeIdentity::new("shop-42"),
            "lab",
            datetime!(2026-03-02 9:30 UTC),
            datetime!(2026-03-02 9:30:02 UTC),
            results,
            &Context::default(),
        )
    }

    fn text(report: &Report, warnings: &[TargetWarning], color: bool) -> String {
        let mut out = Vec::new();
        render(report, warnings, Words::english(), &mut out, color).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_rendering_has_everything_and_no_escapes() {
        let r = report(set(O::Stca2, O::ClientAuth, TIMEOUT, O::Stca2));
        let warnings = vec![TargetWarning::AnchorsMissing {
            family: CaFamily::Stca,
            path: "targets/ca/stca-root.pem".into(),
            by_name: false,
        }];
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
        assert!(t.contains("Warnings:\n- no STCA anchors at targets/ca/stca-root.pem: "));
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

    /// Escape sequences from the network never reach the terminal.
    #[test]
    fn control_characters_from_the_network_are_escaped() {
        let mut results = set(O::Unknown, O::Stca2, O::Tls(TlsStatus::Alert), O::Stca2);
        let evil = "CN=Evil\u{1b}]0;pwned\u{7}\u{1b}[2J\r\n\u{9b}31m";
        if let Some(t) = results[0].tls.as_mut() {
            for c in &mut t.chain {
                c.issuer = evil.to_string();
                c.subject = evil.to_string();
            }
        }
        if let Some(t) = results[2].tls.as_mut() {
            t.detail = Some(format!("detail {evil}"));
            t.alert = Some(format!("alert {evil}"));
        }
        results[1].tcp.detail = Some(evil.to_string());
        let r = report(results);
        assert!(
            r.summary.headline.contains('\u{1b}'),
            "the verdict quotes the issuer"
        );
        for color in [false, true] {
            let warning = TargetWarning::AnchorsMissing {
                family: CaFamily::Stca,
                path: format!("warning {evil}").into(),
                by_name: false,
            };
            let t = text(&r, &[warning], color);
            let controls: Vec<char> = t
                .chars()
                .filter(|c| c.is_control() && *c != '\n' && !(color && *c == '\u{1b}'))
                .collect();
            assert!(controls.is_empty(), "{controls:?} in:\n{t}");
            assert!(
                t.contains("CN=Evil\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x0a\\x9b31m"),
                "{t}"
            );
            if color {
                // The only escapes left are colour: ESC followed by `[` and an SGR code ending in `m`.
                for (i, _) in t.match_indices('\u{1b}') {
                    let rest = &t[i + 1..];
                    let sgr = rest
                        .strip_prefix('[')
                        .and_then(|r| r.find('m').map(|m| &r[..m]));
                    assert!(
                        sgr.is_some_and(|code| code
                            .chars()
                            .all(|c| c.is_ascii_digit() || c == ';')),
                        "non-colour escape at {i}: {:?}",
                        &rest[..rest.len().min(12)]
                    );
                }
            } else {
                assert!(!t.contains('\u{1b}'));
            }
            // Every line is one line: nothing from the network broke one.
            assert!(t.lines().all(|l| !l.contains('\r')));
        }
        assert_eq!(clean("plain"), "plain");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
        assert_eq!(clean("a\u{7f}b\tc"), "a\\x7fb\\x09c");
        // Direction overrides and zero-width characters are shown too.
        assert_eq!(clean("abc\u{202e}fed\u{200b}"), "abc\\u{202e}fed\\u{200b}");
    }

    #[test]
    fn not_measured_reads_as_such() {
        let r = report(set(O::AllowRefused, O::AllowRefused, O::Stca2, O::Stca2));
        let t = text(&r, &[], false);
        assert!(t.starts_with("Not measured: "), "{t}");
        assert!(t.contains("- warning (not_measured): "), "{t}");
        assert!(!t.contains("port_closed"), "{t}");
    }

    /// A report without the verdict's facts (stored before they existed)
    /// prints word for word what one with them prints.
    #[test]
    fn a_report_without_facts_prints_the_same() {
        let r = report(set(TIMEOUT, O::Stca, O::Unknown, O::ClientAuth));
        let mut old = r.clone();
        old.summary.headline_params = None;
        old.summary.failover.params = None;
        for f in &mut old.summary.findings {
            f.params = None;
        }
        assert_eq!(text(&old, &[], false), text(&r, &[], false));
        assert!(text(&r, &[], false).starts_with("Port STCA2 non ouvert"));
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
