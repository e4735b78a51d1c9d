//! From raw results to findings: the part of the product that has opinions.
//!
//! `verdict` is pure: it reads what the probe measured and decides what it
//! means for the migration — is the STCA2 port of the primary site closed,
//! is each site ready, is somebody intercepting TLS, should the merchant's
//! terminal be given site 2 as a failover gateway. It never touches the
//! network or the clock, so it is tested on tables of cases.
//!
//! Findings are data, words come last: every part of the verdict is
//! decided here as typed facts ([`Headline`], [`FailoverReason`],
//! [`FindingFacts`]), and the English sentences the report also carries are
//! rendered from those facts by `stca2_words`, in one place per message.
//! The folder follows the verdict's parts:
//!
//! - this file: [`judge`], [`judged`], [`Context`] and the shared facts
//!   about one result ([`answers`], [`not_measured`], [`ready`]...);
//! - `site`: the per-site view (numbering, state for failover);
//! - `headline`: the one case that heads the report;
//! - `failover`: what to do about site 2;
//! - `findings/`: one rule per finding code, in an explicit ordered list.

use time::OffsetDateTime;

use stca2_report::{
    CaFamily, DnsStatus, Intercepted, ProbeIdentity, Report, Role, Service, SignatureVerified,
    SiteSummary, Summary, TargetResult, TcpStatus, TlsResult, TlsStatus,
};
#[cfg(doc)]
use stca2_report::{FailoverReason, FindingFacts, Headline};

mod failover;
mod findings;
pub use findings::path_stop;
mod headline;
mod site;

use site::Sites;

/// What the verdict needs to know besides the results.
///
/// Kept explicit (rather than read from the environment) so that `judge`
/// stays pure and every case is a line in a test table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// Whether the target set's CA anchors were loaded. Without them no chain
    /// can be matched to a family, so "unknown" means "cannot tell", not
    /// "intercepted".
    pub anchors_available: bool,
    /// Warn when an STCA2 chain expires within this many days.
    pub expiry_warning_days: i64,
}

/// The default expiry warning window, in days.
pub const DEFAULT_EXPIRY_WARNING_DAYS: i64 = 30;

impl Default for Context {
    fn default() -> Self {
        Context {
            anchors_available: true,
            expiry_warning_days: DEFAULT_EXPIRY_WARNING_DAYS,
        }
    }
}

/// Assembles a report around results and their verdict ([`judge`]), with
/// a fresh `report_id`.
pub fn judged(
    probe: ProbeIdentity,
    target_set: impl Into<String>,
    started_at: OffsetDateTime,
    finished_at: OffsetDateTime,
    results: Vec<TargetResult>,
    ctx: &Context,
) -> Report {
    let summary = judge(&results, ctx);
    Report::new(probe, target_set, started_at, finished_at, results, summary)
}

/// Judges one check's results: readiness, "Port STCA2 non ouvert", the
/// failover recommendation, findings (most severe first) and a headline,
/// each sentence rendered from the facts it carries.
pub fn judge(results: &[TargetResult], ctx: &Context) -> Summary {
    let sites = Sites::group(results);
    let ok = !results.is_empty() && results.iter().all(ready);
    let headline = headline::headline(results, &sites, ctx, ok);
    Summary {
        ok,
        headline: stca2_words::headline(&headline).unwrap_or_default(),
        stca2_port_closed: results.iter().any(primary_stca2_closed),
        sites: sites.iter().map(site_summary).collect(),
        failover: failover::failover(&sites, ctx),
        findings: findings::findings(results, &sites, ctx),
        headline_params: Some(headline),
    }
}

fn site_summary(s: &site::SiteView<'_>) -> SiteSummary {
    SiteSummary {
        site: s.name.to_string(),
        role: s.role,
        address: s.address.to_string(),
        ready: s.results.iter().all(|r| ready(r)),
        reachable: s.results.iter().all(|r| tcp_open(r)),
        closed_ports: s
            .results
            .iter()
            .filter(|r| measured_closed(r))
            .map(|r| r.port)
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// Facts about one result.

/// A target "answers" when TCP opened and TLS completed, or when the
/// declaration port asked for a client certificate (what a real gateway does).
pub fn answers(r: &TargetResult) -> bool {
    if r.tcp.status != TcpStatus::Open {
        return false;
    }
    match r.tls.as_ref().map(|t| t.status) {
        Some(TlsStatus::Ok) => true,
        Some(TlsStatus::ClientAuthRequired) => r.service == Service::Declaration,
        _ => false,
    }
}

/// TCP opened and no handshake was tried: a TCP-only check (a daemon's
/// `tls_every` on a metered link). Its TLS state is unknown, never a failure.
pub fn tls_not_attempted(r: &TargetResult) -> bool {
    tcp_open(r) && r.tls.as_ref().is_some_and(TlsResult::is_not_attempted)
}

/// A target was not measured: its TCP status is `error` — the allow-list
/// refused it (no attempt was made), or the connection failed on this
/// machine (a bad `--source` or `--interface`, no free local port) — and not
/// because its hostname failed to resolve (which is the shop's DNS, a real
/// finding). Such a target says nothing about the merchant's router: it is
/// kept out of `stca2_port_closed`, out of blocked sites and out of the
/// "open outbound TCP" advice.
pub fn not_measured(r: &TargetResult) -> bool {
    r.tcp.status == TcpStatus::Error && !dns_failed(r)
}

/// A target is "ready" when it answers with an STCA2 chain that has not
/// expired and is not forged.
pub fn ready(r: &TargetResult) -> bool {
    answers(r)
        && r.tls.as_ref().and_then(|t| t.ca_family) == Some(CaFamily::Stca2)
        && forged(r).is_none()
        && chain_days(r).is_none_or(|(d, _)| d >= 0)
}

fn tcp_open(r: &TargetResult) -> bool {
    r.tcp.status == TcpStatus::Open
}

/// The TLS result of a target whose TCP opened (and whose name resolved):
/// what the handshake rules look at.
fn handshake(r: &TargetResult) -> Option<&TlsResult> {
    if tcp_open(r) && !dns_failed(r) {
        r.tls.as_ref()
    } else {
        None
    }
}

fn family(r: &TargetResult) -> Option<CaFamily> {
    r.tls.as_ref().and_then(|t| t.ca_family)
}

/// The family a chain claims when it names STCA2 or STCA but its signatures
/// do not verify: a forgery, which only an interceptor presents.
/// (`unsupported-algorithm`, the old SHA-1 hierarchy, is no forgery.)
fn forged(r: &TargetResult) -> Option<CaFamily> {
    let t = r.tls.as_ref()?;
    match (t.ca_family?, t.signature_verified?) {
        (f @ (CaFamily::Stca2 | CaFamily::Stca), SignatureVerified::False) => Some(f),
        _ => None,
    }
}

fn intercepted(r: &TargetResult, ctx: &Context) -> bool {
    ctx.anchors_available
        && tcp_open(r)
        && (family(r) == Some(CaFamily::Unknown) || forged(r).is_some())
}

/// An intercepted target with who issued its chain.
fn intercepted_by(r: &TargetResult, sites: &Sites<'_>) -> Intercepted {
    Intercepted {
        target: sites.target(r),
        issuer: top_issuer(r).map(str::to_string),
        forged: forged(r),
    }
}

/// The hostname did not resolve (a refusal by the allow-list is not a DNS failure).
fn dns_failed(r: &TargetResult) -> bool {
    r.dns
        .as_ref()
        .is_some_and(|d| !matches!(d.status, DnsStatus::Ok | DnsStatus::Refused))
}

/// Not open at TCP, and measured so: what the router must open.
fn measured_closed(r: &TargetResult) -> bool {
    !tcp_open(r) && !not_measured(r)
}

fn primary_stca2_closed(r: &TargetResult) -> bool {
    r.role == Role::Primary && r.service == Service::Stca2 && measured_closed(r)
}

/// The issuer of the top certificate of the presented chain.
fn top_issuer(r: &TargetResult) -> Option<&str> {
    r.tls
        .as_ref()
        .and_then(|t| t.chain.last())
        .map(|c| c.issuer.as_str())
}

/// The fewest days to expiry over the chain (and the leaf's summary value),
/// with the subject of the certificate concerned (none when the chain is
/// empty and only the leaf's summary value is known).
fn chain_days(r: &TargetResult) -> Option<(i64, Option<&str>)> {
    let tls = r.tls.as_ref()?;
    let mut best: Option<(i64, Option<&str>)> = tls
        .days_to_expiry
        .map(|d| (d, tls.chain.first().map(|c| c.subject.as_str())));
    for c in &tls.chain {
        if best.is_none_or(|(d, _)| c.days_to_expiry < d) {
            best = Some((c.days_to_expiry, Some(c.subject.as_str())));
        }
    }
    best
}

#[cfg(test)]
pub(crate) mod test_support {
    //! The report fixtures every test shares ([`stca2_report::fixtures`]),
    //! and the verdict's own test helpers.
    pub(crate) use stca2_report::fixtures::*;

    use stca2_report::{Severity, Summary, TargetResult};

    use super::{Context, judge};

    /// [`judge`] with the default context.
    pub(crate) fn judge_default(results: &[TargetResult]) -> Summary {
        judge(results, &Context::default())
    }

    /// The findings' codes and severities, in order.
    pub(crate) fn codes_of(s: &Summary) -> Vec<(&str, Severity)> {
        s.findings
            .iter()
            .map(|f| (f.code.as_str(), f.severity))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use stca2_report::{
        FailoverReason, Finding, Headline, Recommendation, Severity, codes, endpoint,
    };

    /// A TCP-only check (a daemon's `tls_every`): TLS `not_attempted` is
    /// unknown, never a failure: no tls_failed finding, no "TLS failing"
    /// anywhere, failover not judged; the TCP facts are judged as ever.
    #[test]
    fn a_tcp_only_check_judges_tcp_and_leaves_tls_unknown() {
        let na = || O::Tls(TlsStatus::NotAttempted);
        let s = judge_default(&set(na(), na(), na(), na()));
        assert!(!s.ok, "nothing shows the gateways ready");
        assert!(!s.stca2_port_closed);
        assert!(s.findings.is_empty(), "{:?}", codes_of(&s));
        assert!(matches!(
            s.headline_params,
            Some(Headline::TlsNotChecked { ref targets }) if targets.len() == 4
        ));
        assert!(s.headline.contains("TLS was not checked"), "{}", s.headline);
        assert_eq!(s.failover.recommendation, Recommendation::None);
        assert!(matches!(
            s.failover.params,
            Some(FailoverReason::TlsNotChecked { ref sites }) if sites.len() == 2
        ));
        assert!(
            s.failover.message.contains("last full check"),
            "{}",
            s.failover.message
        );

        // The primary's STCA2 port closed: the same headline and finding as
        // in a full check; the open ports are not called TLS failures.
        let s = judge_default(&set(TIMEOUT, na(), na(), na()));
        assert!(s.stca2_port_closed);
        assert!(matches!(
            s.headline_params,
            Some(Headline::PrimaryClosed { .. })
        ));
        assert_eq!(
            codes_of(&s),
            vec![(codes::PORT_CLOSED, Severity::Error)],
            "{:?}",
            s.findings
        );
        assert!(!s.headline.contains("TLS"), "{}", s.headline);
        assert_eq!(s.failover.recommendation, Recommendation::None);
    }

    #[test]
    fn stca2_port_closed_table() {
        let cases: Vec<(&str, Vec<TargetResult>, bool)> = vec![
            (
                "healthy",
                set(O::Stca2, O::Stca2, O::Stca2, O::Stca2),
                false,
            ),
            (
                "primary 1146 timeout",
                set(TIMEOUT, O::Stca2, O::Stca2, O::Stca2),
                true,
            ),
            (
                "primary 1146 refused",
                set(REFUSED, O::Stca2, O::Stca2, O::Stca2),
                true,
            ),
            (
                "primary 1146 dns",
                set(O::DnsFail, O::Stca2, O::Stca2, O::Stca2),
                true,
            ),
            (
                "only primary 7212 closed",
                set(O::Stca2, TIMEOUT, O::Stca2, O::Stca2),
                false,
            ),
            (
                "only secondary 1146 closed",
                set(O::Stca2, O::Stca2, TIMEOUT, O::Stca2),
                false,
            ),
            (
                "TLS fails but TCP open",
                set(O::Tls(TlsStatus::Reset), O::Stca2, O::Stca2, O::Stca2),
                false,
            ),
            (
                "no primary",
                vec![target(Role::Secondary, 1146, TIMEOUT)],
                false,
            ),
            (
                "no stca2 port",
                vec![target(Role::Primary, 7212, TIMEOUT)],
                false,
            ),
            ("empty", vec![], false),
        ];
        for (name, results, want) in cases {
            assert_eq!(judge_default(&results).stca2_port_closed, want, "{name}");
        }
    }

    #[test]
    fn ok_table() {
        let no_anchors = Context {
            anchors_available: false,
            ..Context::default()
        };
        let cases: Vec<(&str, Vec<TargetResult>, Context, bool)> = vec![
            (
                "healthy",
                set(O::Stca2, O::Stca2, O::Stca2, O::Stca2),
                Context::default(),
                true,
            ),
            (
                "client auth on 7212",
                set(O::Stca2, O::ClientAuth, O::Stca2, O::ClientAuth),
                Context::default(),
                true,
            ),
            (
                "expiring is still ok",
                set(O::Days(5), O::Stca2, O::Stca2, O::Stca2),
                Context::default(),
                true,
            ),
            (
                "client auth on 1146",
                set(O::ClientAuth, O::Stca2, O::Stca2, O::Stca2),
                Context::default(),
                false,
            ),
            (
                "expired",
                set(O::Days(-1), O::Stca2, O::Stca2, O::Stca2),
                Context::default(),
                false,
            ),
            (
                "old CA",
                set(O::Stca2, O::Stca2, O::Stca, O::Stca2),
                Context::default(),
                false,
            ),
            (
                "intercepted",
                set(O::Unknown, O::Stca2, O::Stca2, O::Stca2),
                Context::default(),
                false,
            ),
            (
                "secondary closed",
                set(O::Stca2, O::Stca2, O::Stca2, TIMEOUT),
                Context::default(),
                false,
            ),
            (
                "forged STCA2",
                set(O::Stca2, O::Forged(CaFamily::Stca2), O::Stca2, O::Stca2),
                Context::default(),
                false,
            ),
            (
                "unsupported signature algorithm is no forgery",
                set(O::Unsupported, O::Stca2, O::Stca2, O::Stca2),
                Context::default(),
                true,
            ),
            (
                "anchors missing",
                set(O::Unknown, O::Unknown, O::Unknown, O::Unknown),
                no_anchors,
                false,
            ),
            ("empty", vec![], Context::default(), false),
        ];
        for (name, results, ctx, want) in cases {
            let s = judge(&results, &ctx);
            assert_eq!(s.ok, want, "{name}: {}", s.headline);
        }
    }

    #[test]
    fn sites_are_summarised() {
        let s = judge_default(&set(O::Stca2, O::ClientAuth, TIMEOUT, REFUSED));
        assert_eq!(s.sites.len(), 2);
        let (p, q) = (&s.sites[0], &s.sites[1]);
        assert_eq!(
            (p.site.as_str(), p.role, p.address.as_str()),
            ("toulouse", Role::Primary, "127.0.38.45")
        );
        assert!(p.ready && p.reachable && p.closed_ports.is_empty());
        assert_eq!((q.site.as_str(), q.role), ("bordeaux", Role::Secondary));
        assert!(!q.ready && !q.reachable);
        assert_eq!(q.closed_ports, [1146, 7212]);
        // Reachable but on the old CA: reachable, not ready.
        let s = judge_default(&set(O::Stca, O::Stca2, O::Stca2, O::Stca2));
        assert!(s.sites[0].reachable && !s.sites[0].ready && s.sites[1].ready);
    }

    /// Probe-side failures are "not measured": never a closed port, a
    /// blocked site or advice to open the router.
    #[test]
    fn not_measured_table() {
        let cases: Vec<(&str, Vec<TargetResult>, &[&str])> = vec![
            (
                "allow-list refused the primary",
                set(O::AllowRefused, O::AllowRefused, O::Stca2, O::Stca2),
                &["refused to contact it", "--allow", "127.0.61.0/24"],
            ),
            (
                "local error on the primary",
                set(O::LocalError, O::LocalError, O::Stca2, O::Stca2),
                &["from this machine", "--source", "os error 99"],
            ),
            (
                "name resolved outside the allow-list",
                set(O::DnsRefused, O::DnsRefused, O::Stca2, O::Stca2),
                &[
                    "refused by the allow-list: the name 127.0.38.45 resolved to 192.0.2.7, outside the allow-list",
                ],
            ),
            (
                "everything refused",
                set(
                    O::AllowRefused,
                    O::AllowRefused,
                    O::AllowRefused,
                    O::AllowRefused,
                ),
                &["not measured"],
            ),
        ];
        for (name, results, needles) in cases {
            let s = judge_default(&results);
            assert!(!s.ok, "{name}");
            assert!(!s.stca2_port_closed, "{name}: {}", s.headline);
            assert!(
                s.findings
                    .iter()
                    .all(|f| f.code != codes::PORT_CLOSED && f.code != codes::DNS_FAILED),
                "{name}: {:?}",
                codes_of(&s)
            );
            let nm: Vec<&Finding> = s
                .findings
                .iter()
                .filter(|f| f.code == codes::NOT_MEASURED)
                .collect();
            assert!(!nm.is_empty(), "{name}: {:?}", codes_of(&s));
            for f in &nm {
                assert_eq!(f.severity, Severity::Warning, "{name}");
                assert!(
                    f.message
                        .contains("says nothing about the merchant's router"),
                    "{name}: {}",
                    f.message
                );
                for n in needles {
                    assert!(f.message.contains(n), "{name}: {:?} lacks {n:?}", f.message);
                }
            }
            for text in [&s.headline, &s.failover.message] {
                assert!(!text.contains("router blocks"), "{name}: {text}");
                assert!(!text.contains("Open outbound TCP"), "{name}: {text}");
                assert!(!text.contains("open outbound TCP"), "{name}: {text}");
                assert!(!text.contains("DNS settings"), "{name}: {text}");
            }
            assert!(
                s.headline.starts_with("Not measured: 127.0.38.45:1146"),
                "{name}: {}",
                s.headline
            );
            assert_eq!(s.failover.recommendation, Recommendation::None, "{name}");
            assert!(
                s.failover.message.contains("not measured"),
                "{name}: {}",
                s.failover.message
            );
            assert!(s.sites[0].closed_ports.is_empty(), "{name}");
            assert!(!s.sites[0].reachable && !s.sites[0].ready, "{name}");
        }
        // A real block elsewhere still reads as one, and the unmeasured port stays out of it.
        let s = judge_default(&set(O::Stca2, O::Stca2, TIMEOUT, O::LocalError));
        assert!(
            s.headline.contains("router blocks 127.0.38.173:1146."),
            "{}",
            s.headline
        );
        assert!(!s.headline.contains("7212"), "{}", s.headline);
        assert_eq!(s.sites[1].closed_ports, [1146]);
        assert_eq!(s.failover.recommendation, Recommendation::OpenSecondary);
        assert!(
            !s.failover.message.contains("7212"),
            "{}",
            s.failover.message
        );
        // A real DNS failure (NXDOMAIN) at the shop is still one.
        let s = judge_default(&set(O::DnsFail, O::Stca2, O::Stca2, O::Stca2));
        assert!(s.stca2_port_closed);
        assert!(s.findings.iter().any(|f| f.code == codes::DNS_FAILED));
        assert!(s.findings.iter().all(|f| f.code != codes::NOT_MEASURED));
        assert!(not_measured(&target(Role::Primary, 1146, O::AllowRefused)));
        assert!(!not_measured(&target(Role::Primary, 1146, O::DnsFail)));
        assert!(!not_measured(&target(Role::Primary, 1146, TIMEOUT)));
    }

    #[test]
    fn ipv6_endpoints_are_bracketed() {
        assert_eq!(endpoint("::1", 1146), "[::1]:1146");
        assert_eq!(endpoint("127.0.38.45", 7212), "127.0.38.45:7212");
        assert_eq!(endpoint("gw.example", 7212), "gw.example:7212");
    }

    /// Every case the tables above use, under both contexts: enough to
    /// reach every headline, failover and finding case.
    fn corpus() -> Vec<(Vec<TargetResult>, Context)> {
        use stca2_report::{CaFamily, TcpStatus, TlsStatus};
        let no_anchors = Context {
            anchors_available: false,
            ..Context::default()
        };
        let sets = vec![
            set(O::Stca2, O::ClientAuth, O::Stca2, O::ClientAuth),
            set(O::Days(9), O::Stca2, O::Stca2, O::Stca2),
            set(TIMEOUT, TIMEOUT, O::Stca2, O::Stca2),
            set(O::Stca2, O::Stca2, TIMEOUT, O::Stca2),
            set(O::Stca2, O::ClientAuth, O::Tls(TlsStatus::Timeout), TIMEOUT),
            set(TIMEOUT, TIMEOUT, REFUSED, REFUSED),
            set(O::Stca, O::Stca, O::Stca2, O::Stca2),
            set(O::Unknown, O::Unknown, O::Unknown, O::Unknown),
            set(
                O::Tls(TlsStatus::Reset),
                O::Stca2,
                O::Tls(TlsStatus::Reset),
                O::Stca2,
            ),
            set(O::Tls(TlsStatus::Alert), O::Stca2, TIMEOUT, TIMEOUT),
            set(O::Stca2, O::Stca2, O::Tls(TlsStatus::Eof), O::Stca2),
            set(O::Forged(CaFamily::Stca2), O::Stca2, O::Stca2, O::Stca2),
            set(TIMEOUT, TIMEOUT, O::Unknown, O::Stca2),
            set(O::Days(-3), O::Stca2, O::Stca2, O::Stca2),
            set(O::AllowRefused, O::AllowRefused, O::Stca2, O::Stca2),
            set(O::LocalError, O::LocalError, O::Stca2, O::Stca2),
            set(O::DnsRefused, O::DnsRefused, O::Stca2, O::Stca2),
            set(O::DnsFail, O::Stca2, O::Stca2, O::Stca2),
            set(O::Stca2, O::Stca2, O::DnsFail, O::Stca2),
            set(
                O::Closed(TcpStatus::Unreachable),
                O::Stca2,
                O::Stca2,
                O::Stca2,
            ),
            set(O::ClientAuth, O::Stca2, O::Stca2, O::Stca2),
            set(O::Unsupported, O::Stca2, O::Stca2, O::Stca2),
            primary_only(O::Stca2, O::Stca2),
            vec![stca2_report::fixtures::target(
                Role::Secondary,
                1146,
                TIMEOUT,
            )],
            vec![],
        ];
        sets.into_iter()
            .flat_map(|r| [(r.clone(), Context::default()), (r, no_anchors)])
            .collect()
    }

    /// What the back office does: read a stored report and say it again
    /// from its facts alone, word for word.
    #[test]
    fn a_stored_report_re_renders_to_the_same_words() {
        use time::macros::datetime;
        let mut cases = 0;
        for (results, ctx) in corpus() {
            let report = judged(
                ProbeIdentity::new("shop-42"),
                "lab",
                datetime!(2026-03-02 9:30 UTC),
                datetime!(2026-03-02 9:30:02 UTC),
                results,
                &ctx,
            );
            let json = serde_json::to_string(&report).unwrap();
            let stored = Report::from_json(&json).unwrap();
            assert_eq!(stored, report);
            let s = &stored.summary;
            let headline = s.headline_params.as_ref().expect("headline facts");
            assert_eq!(
                stca2_words::headline(headline).as_deref(),
                Some(s.headline.as_str())
            );
            let reason = s.failover.params.as_ref().expect("failover facts");
            assert_eq!(
                stca2_words::failover(reason).as_deref(),
                Some(s.failover.message.as_str())
            );
            for f in &s.findings {
                let facts = f.params.as_ref().expect("finding facts");
                assert_eq!(
                    stca2_words::finding(facts).as_deref(),
                    Some(f.message.as_str())
                );
                assert_eq!(Finding::new(facts.clone(), f.message.clone()), *f);
                cases += 1;
            }
        }
        assert!(cases > 40, "{cases} findings re-rendered");
    }

    /// Reports written before the facts, and facts this version does not
    /// know, still read.
    #[test]
    fn old_and_future_reports_still_read() {
        use time::macros::datetime;
        let report = judged(
            ProbeIdentity::new("shop-42"),
            "lab",
            datetime!(2026-03-02 9:30 UTC),
            datetime!(2026-03-02 9:30:02 UTC),
            set(TIMEOUT, O::Stca, O::Unknown, O::ClientAuth),
            &Context::default(),
        );
        let mut doc = serde_json::to_value(&report).unwrap();
        let summary = doc["summary"].as_object_mut().unwrap();
        summary.remove("headline_params");
        summary["failover"]
            .as_object_mut()
            .unwrap()
            .remove("params");
        for f in summary["findings"].as_array_mut().unwrap() {
            f.as_object_mut().unwrap().remove("params");
        }
        let old = Report::from_json(&doc.to_string()).unwrap();
        assert_eq!(old.summary.headline, report.summary.headline);
        assert!(old.summary.headline_params.is_none());
        assert!(old.summary.findings.iter().all(|f| f.params.is_none()));

        let mut doc = serde_json::to_value(&report).unwrap();
        let summary = doc["summary"].as_object_mut().unwrap();
        summary["headline_params"] = serde_json::json!({"case": "from_the_future", "x": 1});
        summary["failover"]["params"] = serde_json::json!({"case": "teleport"});
        summary["findings"][0]["code"] = "quantum_leak".into();
        summary["findings"][0]["params"] = serde_json::json!({"code": "quantum_leak", "qubits": 3});
        summary["findings"][1]["params"] = serde_json::json!({"code": "port_closed", "target": 7});
        let future = Report::from_json(&doc.to_string()).unwrap();
        let s = &future.summary;
        assert_eq!(s.headline_params, Some(stca2_report::Headline::Unknown));
        assert_eq!(
            s.failover.params,
            Some(stca2_report::FailoverReason::Unknown)
        );
        assert_eq!(
            s.findings[0].params,
            Some(stca2_report::FindingFacts::Unknown)
        );
        assert_eq!(s.findings[0].code, "quantum_leak");
        assert_eq!(s.findings[1].params, None, "malformed facts read as absent");
        assert_eq!(
            stca2_words::headline(&stca2_report::Headline::Unknown),
            None
        );
    }

    #[test]
    fn the_ceiling_variable_is_named_as_the_allow_list_reads_it() {
        assert_eq!(stca2_words::CEILING_ENV, crate::allow::CEILING_ENV);
    }
}
