//! Findings: one rule per finding code, run in an explicit order.
//!
//! A rule looks at one result (or, for a few, at the whole check) and
//! decides for itself whether its finding applies: a target that was not
//! measured or whose name did not resolve gets no `port_closed` because
//! that rule says so, not because an earlier branch skipped it. Adding a
//! finding is adding one file with one rule, one line in [`RULES`], its
//! words in `stca2_words::findings`, and one row in the table test below.
//!
//! The order of [`RULES`] is the order findings about one target are
//! listed; the whole list is then sorted, stably, most severe first.

use stca2_report::{Finding, FindingFacts, TargetResult};

use super::Context;
use super::site::Sites;

mod anchors_missing;
mod client_auth;
mod dns_failed;
mod expiry;
mod interception;
mod not_measured;
mod old_ca;
mod path_mtu;
mod path_stop;
mod port_closed;
mod tls_failed;

pub use path_stop::stop as path_stop;

/// What every rule may look at besides the result it judges.
pub(super) struct Scope<'a> {
    pub(super) ctx: &'a Context,
    pub(super) sites: &'a Sites<'a>,
}

/// One rule: about the whole check, or about one target.
#[derive(Clone, Copy)]
pub(super) enum Rule {
    /// Runs once per check.
    Check(fn(&Scope<'_>) -> Option<FindingFacts>),
    /// Runs once per target.
    Target(fn(&Scope<'_>, &TargetResult) -> Option<FindingFacts>),
}

/// Every rule, in the order its findings are listed.
pub(super) const RULES: &[Rule] = &[
    Rule::Check(anchors_missing::rule),
    Rule::Target(not_measured::rule),
    Rule::Target(dns_failed::rule),
    Rule::Target(port_closed::rule),
    Rule::Target(path_stop::rule),
    Rule::Target(tls_failed::rule),
    Rule::Target(path_mtu::rule),
    Rule::Target(client_auth::rule),
    Rule::Target(old_ca::rule),
    Rule::Target(interception::rule),
    Rule::Target(expiry::expired),
    Rule::Target(expiry::expiring),
];

/// Every finding of the check, most severe first, each with its message.
pub(super) fn findings(results: &[TargetResult], sites: &Sites<'_>, ctx: &Context) -> Vec<Finding> {
    let scope = Scope { ctx, sites };
    let check = RULES.iter().filter_map(|rule| match rule {
        Rule::Check(f) => f(&scope),
        Rule::Target(_) => None,
    });
    let per_target = results.iter().flat_map(|r| {
        RULES.iter().filter_map(|rule| match rule {
            Rule::Check(_) => None,
            Rule::Target(f) => f(&scope, r),
        })
    });
    let mut out: Vec<Finding> = check
        .chain(per_target)
        .map(|facts| {
            let message = stca2_words::finding(&facts).unwrap_or_default();
            Finding::new(facts, message)
        })
        .collect();
    out.sort_by_key(|f| f.severity);
    out
}

#[cfg(test)]
mod tests {
    use crate::verdict::test_support::*;
    use crate::verdict::{Context, judge};
    use stca2_report::{CaFamily, Severity, TargetResult, TcpStatus, TlsStatus, codes};

    /// Name, results, context, expected code, its severity, words its message must hold.
    type FindingCase = (
        &'static str,
        Vec<TargetResult>,
        Context,
        &'static str,
        Severity,
        &'static [&'static str],
    );

    #[test]
    fn every_finding_code() {
        let ctx = Context::default();
        let no_anchors = Context {
            anchors_available: false,
            ..Context::default()
        };
        let cases: Vec<FindingCase> = vec![
            (
                "timeout",
                primary_only(TIMEOUT, O::Stca2),
                ctx,
                codes::PORT_CLOSED,
                Severity::Error,
                &["127.0.38.45:1146", "silently drops"],
            ),
            (
                "refused",
                primary_only(REFUSED, O::Stca2),
                ctx,
                codes::PORT_CLOSED,
                Severity::Error,
                &["TCP reset", "nothing listens"],
            ),
            (
                "unreachable",
                primary_only(O::Closed(TcpStatus::Unreachable), O::Stca2),
                ctx,
                codes::PORT_CLOSED,
                Severity::Error,
                &["ICMP"],
            ),
            (
                "reset",
                primary_only(O::Tls(TlsStatus::Reset), O::Stca2),
                ctx,
                codes::TLS_FAILED,
                Severity::Error,
                &["right after the ClientHello", "filtering middlebox"],
            ),
            (
                "alert",
                primary_only(O::Tls(TlsStatus::Alert), O::Stca2),
                ctx,
                codes::TLS_FAILED,
                Severity::Error,
                &["handshake_failure"],
            ),
            (
                "eof",
                primary_only(O::Tls(TlsStatus::Eof), O::Stca2),
                ctx,
                codes::TLS_FAILED,
                Severity::Error,
                &["closed during the handshake"],
            ),
            (
                "tls timeout",
                primary_only(O::Tls(TlsStatus::Timeout), O::Stca2),
                ctx,
                codes::TLS_FAILED,
                Severity::Error,
                &["never got an answer"],
            ),
            (
                "client auth on the stca2 port",
                primary_only(O::ClientAuth, O::Stca2),
                ctx,
                codes::TLS_FAILED,
                Severity::Error,
                &["client certificate"],
            ),
            (
                "old CA",
                primary_only(O::Stca, O::Stca2),
                ctx,
                codes::OLD_CA,
                Severity::Error,
                &["old STCA chain", "CN=STCA Root"],
            ),
            (
                "interception",
                primary_only(O::Unknown, O::Stca2),
                ctx,
                codes::INTERCEPTION,
                Severity::Error,
                &[
                    "suspected TLS interception by a middlebox on the merchant's network; the certificate was issued by CN=Interceptor Root",
                ],
            ),
            (
                "forged STCA2",
                primary_only(O::Forged(CaFamily::Stca2), O::Stca2),
                ctx,
                codes::INTERCEPTION,
                Severity::Error,
                &[
                    "127.0.38.45:1146",
                    "the chain claims to be STCA2 but its signatures do not verify — a forged chain, suspected interception",
                ],
            ),
            (
                "forged STCA",
                primary_only(O::Forged(CaFamily::Stca), O::Stca2),
                ctx,
                codes::INTERCEPTION,
                Severity::Error,
                &["the chain claims to be STCA but its signatures do not verify"],
            ),
            (
                "anchors missing",
                primary_only(O::Unknown, O::Stca2),
                no_anchors,
                codes::ANCHORS_MISSING,
                Severity::Warning,
                &["not a sign of interception"],
            ),
            (
                "expiring",
                primary_only(O::Days(12), O::Stca2),
                ctx,
                codes::EXPIRING,
                Severity::Warning,
                &["expires in 12 days"],
            ),
            (
                "expiring on the boundary",
                primary_only(O::Days(30), O::Stca2),
                ctx,
                codes::EXPIRING,
                Severity::Warning,
                &["expires in 30 days"],
            ),
            (
                "expired",
                primary_only(O::Days(-3), O::Stca2),
                ctx,
                codes::EXPIRED,
                Severity::Error,
                &["expired 3 days ago"],
            ),
            (
                "client auth on the declaration port",
                primary_only(O::Stca2, O::ClientAuth),
                ctx,
                codes::CLIENT_AUTH,
                Severity::Info,
                &["127.0.38.45:7212", "CN=Terminal CA"],
            ),
            (
                "dns",
                primary_only(O::DnsFail, O::Stca2),
                ctx,
                codes::DNS_FAILED,
                Severity::Error,
                &["could not be resolved"],
            ),
            (
                "path stops at the box",
                primary_dropped_at_the_box(),
                ctx,
                codes::PATH_STOP,
                Severity::Info,
                &[
                    "127.0.38.45:1146",
                    "stops at the merchant's box, hop 1 (10.0.0.1)",
                    "the ISP is not involved",
                ],
            ),
            (
                "path-MTU black hole",
                primary_stalled(Some(536)),
                ctx,
                codes::PATH_MTU,
                Severity::Error,
                &["TCP MSS of 536", "MSS clamping", "fragmentation needed"],
            ),
            (
                "a silent server is not an MTU problem",
                primary_stalled(None),
                ctx,
                codes::PATH_MTU,
                Severity::Error,
                &["not a path-MTU problem", "never answers"],
            ),
        ];
        for (name, results, ctx, code, severity, needles) in cases {
            let s = judge(&results, &ctx);
            let f = s
                .findings
                .iter()
                .find(|f| f.code == code)
                .unwrap_or_else(|| panic!("{name}: no {code} in {:?}", codes_of(&s)));
            assert_eq!(f.severity, severity, "{name}");
            for n in needles {
                assert!(f.message.contains(n), "{name}: {:?} lacks {n:?}", f.message);
            }
        }
    }

    #[test]
    fn no_spurious_findings() {
        let s = judge_default(&set(O::Stca2, O::Stca2, O::Stca2, O::Stca2));
        assert!(s.findings.is_empty(), "{:?}", s.findings);
        // 31 days is outside the default window.
        let s = judge_default(&primary_only(O::Days(31), O::Stca2));
        assert!(s.findings.is_empty(), "{:?}", s.findings);
        // A wider window catches it.
        let wide = Context {
            expiry_warning_days: 60,
            ..Context::default()
        };
        let s = judge(&primary_only(O::Days(31), O::Stca2), &wide);
        assert_eq!(codes_of(&s), [(codes::EXPIRING, Severity::Warning)]);
        // An expiring STCA chain is old_ca, not an STCA2 expiry warning.
        let s = judge_default(&primary_only(O::Stca, O::Stca2));
        assert!(s.findings.iter().all(|f| f.code != codes::EXPIRING));
    }

    #[test]
    fn findings_are_sorted_most_severe_first() {
        let ctx = Context {
            anchors_available: false,
            ..Context::default()
        };
        let s = judge(&set(O::Stca2, O::ClientAuth, TIMEOUT, O::Stca2), &ctx);
        let sev: Vec<Severity> = s.findings.iter().map(|f| f.severity).collect();
        let mut sorted = sev.clone();
        sorted.sort();
        assert_eq!(sev, sorted);
        assert_eq!(sev.first(), Some(&Severity::Error));
        assert_eq!(sev.last(), Some(&Severity::Info));
    }

    /// Every finding code renders a non-empty English message that names
    /// the endpoint it is about. One row per code: a new code is a new row.
    #[test]
    fn every_code_renders_with_its_endpoint() {
        let no_anchors = Context {
            anchors_available: false,
            ..Context::default()
        };
        let ctx = Context::default();
        let rows: Vec<(&str, Vec<TargetResult>, Context)> = vec![
            (
                codes::NOT_MEASURED,
                primary_only(O::AllowRefused, O::Stca2),
                ctx,
            ),
            (codes::DNS_FAILED, primary_only(O::DnsFail, O::Stca2), ctx),
            (codes::PORT_CLOSED, primary_only(TIMEOUT, O::Stca2), ctx),
            (
                codes::TLS_FAILED,
                primary_only(O::Tls(TlsStatus::Reset), O::Stca2),
                ctx,
            ),
            (
                codes::CLIENT_AUTH,
                primary_only(O::Stca2, O::ClientAuth),
                ctx,
            ),
            (codes::OLD_CA, primary_only(O::Stca, O::Stca2), ctx),
            (codes::INTERCEPTION, primary_only(O::Unknown, O::Stca2), ctx),
            (codes::EXPIRED, primary_only(O::Days(-3), O::Stca2), ctx),
            (codes::EXPIRING, primary_only(O::Days(3), O::Stca2), ctx),
            (
                codes::ANCHORS_MISSING,
                primary_only(O::Stca2, O::Stca2),
                no_anchors,
            ),
            (codes::PATH_STOP, primary_dropped_at_the_box(), ctx),
            (codes::PATH_MTU, primary_stalled(Some(536)), ctx),
        ];
        assert_eq!(rows.len(), super::RULES.len(), "one row per rule");
        for (code, results, ctx) in rows {
            let s = judge(&results, &ctx);
            let f = s
                .findings
                .iter()
                .find(|f| f.code == code)
                .unwrap_or_else(|| panic!("no {code} in {:?}", codes_of(&s)));
            let facts = f.params.as_ref().expect("facts");
            assert_eq!(facts.code(), code);
            assert_eq!(facts.severity(), f.severity, "{code}");
            let message = stca2_words::finding(facts).expect("a known code");
            assert!(!message.is_empty(), "{code}");
            assert_eq!(message, f.message, "{code}");
            match facts.target() {
                Some(t) => {
                    let named = if code == codes::DNS_FAILED {
                        t.address.clone()
                    } else {
                        t.endpoint()
                    };
                    assert!(
                        message.contains(&named),
                        "{code}: {message:?} lacks {named}"
                    );
                    assert_eq!(
                        (f.site.as_deref(), f.port),
                        (Some(t.site.as_str()), Some(t.port))
                    );
                }
                None => assert_eq!(
                    code,
                    codes::ANCHORS_MISSING,
                    "only the check-wide finding has no target"
                ),
            }
        }
    }
}
