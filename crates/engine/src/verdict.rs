//! From raw results to findings: the part of the product that has opinions.
//!
//! `verdict` is pure: it reads what the probe measured and decides what it
//! means for the migration — is the STCA2 port of the primary site closed,
//! is each site ready, is somebody intercepting TLS, should the merchant's
//! terminal be given site 2 as a failover gateway — and says so in plain
//! words naming the exact addresses and ports. It never touches the network
//! or the clock, so it is tested on tables of cases.

use time::OffsetDateTime;

use stca2_report::{
    CaFamily, DnsStatus, Failover, Finding, ProbeIdentity, Recommendation, Report, Role, Service,
    Severity, SignatureVerified, SiteSummary, Summary, TargetResult, TcpStatus, TlsStatus, codes,
    endpoint,
};

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

/// Judges one check's results: readiness, "Port STCA2 non ouvert", the
/// failover recommendation, findings (most severe first) and a headline.
pub fn judge(results: &[TargetResult], ctx: &Context) -> Summary {
    let sites = group(results);
    let findings = findings(results, ctx);
    let ok = !results.is_empty() && results.iter().all(ready);
    let stca2_port_closed = results.iter().any(primary_stca2_closed);
    let site_summaries = sites
        .iter()
        .map(|s| SiteSummary {
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
        })
        .collect();
    let failover = failover(&sites, ctx);
    let headline = headline(results, &sites, ctx, ok);
    Summary {
        ok,
        headline,
        stca2_port_closed,
        sites: site_summaries,
        failover,
        findings,
    }
}

// ---------------------------------------------------------------------------
// Facts about one result.

fn tcp_open(r: &TargetResult) -> bool {
    r.tcp.status == TcpStatus::Open
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

/// Who issued an intercepted chain, in words: the top issuer, marked when forged.
fn interceptor_issuer(r: &TargetResult) -> Option<String> {
    let issuer = top_issuer(r)?;
    Some(match forged(r) {
        Some(f) => format!("{issuer}, a forged {f} chain whose signatures do not verify"),
        None => issuer.to_string(),
    })
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
/// with the subject of the certificate concerned.
fn chain_days(r: &TargetResult) -> Option<(i64, &str)> {
    let tls = r.tls.as_ref()?;
    let mut best: Option<(i64, &str)> = tls.days_to_expiry.map(|d| {
        (
            d,
            tls.chain
                .first()
                .map(|c| c.subject.as_str())
                .unwrap_or("the leaf certificate"),
        )
    });
    for c in &tls.chain {
        if best.is_none_or(|(d, _)| c.days_to_expiry < d) {
            best = Some((c.days_to_expiry, c.subject.as_str()));
        }
    }
    best
}

fn ep(r: &TargetResult) -> String {
    endpoint(&r.address, r.port)
}

/// "a", "a and b", "a, b and c".
fn list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => {
            let head: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", head.join(", "), last.as_ref())
        }
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
    v
}

// ---------------------------------------------------------------------------
// Sites.

/// The results of one site, numbered in the order sites appear (site 1 is the
/// first, normally the primary).
struct SiteView<'a> {
    number: usize,
    name: &'a str,
    role: Role,
    address: &'a str,
    results: Vec<&'a TargetResult>,
}

/// Where a site stands for failover purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SiteState {
    /// Its STCA2 port(s) open at TCP and answer TLS from the gateway itself.
    Usable,
    /// At least one STCA2 port does not open at TCP: the router must open it.
    Blocked,
    /// At least one STCA2 port was not measured (allow-list, local error).
    Unmeasured,
    /// TCP opens, but TLS fails or is intercepted: not a port problem.
    Broken,
}

/// The number of `r`'s site ("site 1" is the first), 0 when it has none.
fn site_number(sites: &[SiteView<'_>], r: &TargetResult) -> usize {
    sites
        .iter()
        .find(|s| s.name == r.site)
        .map(|s| s.number)
        .unwrap_or(0)
}

fn group(results: &[TargetResult]) -> Vec<SiteView<'_>> {
    let mut sites: Vec<SiteView<'_>> = Vec::new();
    for r in results {
        match sites.iter_mut().find(|s| s.name == r.site) {
            Some(s) => s.results.push(r),
            None => sites.push(SiteView {
                number: sites.len() + 1,
                name: &r.site,
                role: r.role,
                address: &r.address,
                results: vec![r],
            }),
        }
    }
    sites
}

impl SiteView<'_> {
    /// "site 2 (bordeaux)".
    fn label(&self) -> String {
        format!("site {} ({})", self.number, self.name)
    }

    /// The results that decide failover: the STCA2-service ports, or every
    /// port when the set has none.
    fn key(&self) -> Vec<&TargetResult> {
        let stca2: Vec<&TargetResult> = self
            .results
            .iter()
            .copied()
            .filter(|r| r.service == Service::Stca2)
            .collect();
        if stca2.is_empty() {
            self.results.clone()
        } else {
            stca2
        }
    }

    fn state(&self, ctx: &Context) -> SiteState {
        let key = self.key();
        if key.iter().any(|r| measured_closed(r)) {
            SiteState::Blocked
        } else if key.iter().any(|r| not_measured(r)) {
            SiteState::Unmeasured
        } else if key.iter().all(|r| answers(r) && !intercepted(r, ctx)) {
            SiteState::Usable
        } else {
            SiteState::Broken
        }
    }

    /// Every endpoint of this site that does not open at TCP (measured so).
    fn closed(&self) -> Vec<String> {
        self.results
            .iter()
            .filter(|r| measured_closed(r))
            .map(|r| ep(r))
            .collect()
    }

    /// "site 2 (bordeaux, 127.0.38.173 port 1146)".
    fn as_failover(&self) -> String {
        let ports: Vec<String> = self.key().iter().map(|r| r.port.to_string()).collect();
        let word = if ports.len() == 1 { "port" } else { "ports" };
        format!(
            "site {} ({}, {} {word} {})",
            self.number,
            self.name,
            self.address,
            list(&ports)
        )
    }
}

/// The combined state of every site with a role: blocked if any is blocked,
/// usable if all are usable, broken otherwise.
fn role_state(sites: &[&SiteView<'_>], ctx: &Context) -> SiteState {
    let states: Vec<SiteState> = sites.iter().map(|s| s.state(ctx)).collect();
    if states.contains(&SiteState::Blocked) {
        SiteState::Blocked
    } else if states.contains(&SiteState::Unmeasured) {
        SiteState::Unmeasured
    } else if states.iter().all(|s| *s == SiteState::Usable) {
        SiteState::Usable
    } else {
        SiteState::Broken
    }
}

fn labels(sites: &[&SiteView<'_>]) -> String {
    list(&sites.iter().map(|s| s.label()).collect::<Vec<_>>())
}

fn closed_of(sites: &[&SiteView<'_>]) -> String {
    list(&sites.iter().flat_map(|s| s.closed()).collect::<Vec<_>>())
}

fn failover_targets(sites: &[&SiteView<'_>]) -> String {
    list(&sites.iter().map(|s| s.as_failover()).collect::<Vec<_>>())
}

/// Why the broken sites among `sites` are broken, in words: interception
/// first (with the issuers), then the TLS failures with their class.
fn why_broken_all(sites: &[&SiteView<'_>], ctx: &Context) -> String {
    let key: Vec<&TargetResult> = sites
        .iter()
        .filter(|s| s.state(ctx) == SiteState::Broken)
        .flat_map(|s| s.key())
        .collect();
    let mut parts = Vec::new();
    let intercepted: Vec<&TargetResult> = key
        .iter()
        .copied()
        .filter(|r| intercepted(r, ctx))
        .collect();
    if !intercepted.is_empty() {
        let issuers = dedup(
            intercepted
                .iter()
                .map(|r| interceptor_issuer(r).unwrap_or_else(|| "an unknown issuer".into()))
                .collect(),
        );
        parts.push(format!(
            "a middlebox on the merchant's network intercepts TLS to {} (certificate issued by {})",
            list(&intercepted.iter().map(|r| ep(r)).collect::<Vec<_>>()),
            list(&issuers)
        ));
    }
    let failing: Vec<String> = key
        .iter()
        .filter(|r| !answers(r))
        .map(|r| {
            let class = r
                .tls
                .as_ref()
                .map(|t| t.status.as_str())
                .unwrap_or("no TLS result");
            format!("{} ({class})", ep(r))
        })
        .collect();
    if !failing.is_empty() {
        parts.push(format!(
            "the TLS handshake does not complete on {}",
            list(&failing)
        ));
    }
    parts.join("; ")
}

// ---------------------------------------------------------------------------
// Failover.

fn failover(sites: &[SiteView<'_>], ctx: &Context) -> Failover {
    use Recommendation as R;
    use SiteState::{Blocked, Broken, Unmeasured, Usable};
    let primaries: Vec<&SiteView<'_>> = sites.iter().filter(|s| s.role == Role::Primary).collect();
    let secondaries: Vec<&SiteView<'_>> =
        sites.iter().filter(|s| s.role == Role::Secondary).collect();
    let none = |message: String| Failover {
        recommendation: R::None,
        message,
    };
    if secondaries.is_empty() {
        return none(
            "The target set has no secondary site: there is no failover gateway to configure."
                .into(),
        );
    }
    if primaries.is_empty() {
        return none("The target set has no primary site: failover cannot be judged.".into());
    }
    let (p, s) = (role_state(&primaries, ctx), role_state(&secondaries, ctx));

    let (pl, sl) = (labels(&primaries), labels(&secondaries));
    let target = failover_targets(&secondaries);
    let configure = format!("configure {target} as the terminal's failover gateway");
    let all_sites = if sites.len() == 2 {
        "both sites".to_string()
    } else {
        format!("all {} sites", sites.len())
    };
    let (recommendation, message) = match (p, s) {
        (Unmeasured, _) | (_, Unmeasured) => {
            let unmeasured: Vec<&SiteView<'_>> = sites
                .iter()
                .filter(|v| v.state(ctx) == Unmeasured)
                .collect();
            let verb = if unmeasured.len() == 1 { "was" } else { "were" };
            (
                R::None,
                format!(
                    "Failover cannot be judged yet: {} {verb} not measured (see the not_measured findings). Fix that on the probe side and check again.",
                    labels(&unmeasured)
                ),
            )
        }
        (Usable, Usable) => (
            R::ConfigureSecondary,
            format!(
                "{}: {configure}.",
                capitalise(&format!("{all_sites} answer"))
            ),
        ),
        (Broken, Usable) => (
            R::ConfigureSecondary,
            format!(
                "{} answers, but on {pl} {}: {configure}, and fix {pl} as the findings say.",
                capitalise(&sl),
                why_broken_all(&primaries, ctx)
            ),
        ),
        (Usable, Blocked) => (
            R::OpenSecondary,
            format!(
                "{} answers, but the merchant's router blocks {sl}: open outbound TCP to {} on the router, then {configure}.",
                capitalise(&pl),
                closed_of(&secondaries)
            ),
        ),
        (Blocked, Usable) => (
            R::OpenPrimary,
            format!(
                "The merchant's router blocks {pl}: open outbound TCP to {} on the router. Meanwhile {sl} answers: {configure}.",
                closed_of(&primaries)
            ),
        ),
        (Blocked, Broken) => (
            R::OpenPrimary,
            format!(
                "The merchant's router blocks {pl}: open outbound TCP to {} on the router. {} is no failover yet: {}.",
                closed_of(&primaries),
                capitalise(&sl),
                why_broken_all(&secondaries, ctx)
            ),
        ),
        (Blocked, Blocked) => (
            R::OpenBoth,
            format!(
                "The merchant's router blocks {all_sites}: open outbound TCP to {} on the router, then {configure}.",
                list(
                    &sites
                        .iter()
                        .filter(|s| s.state(ctx) == Blocked)
                        .flat_map(|s| s.closed())
                        .collect::<Vec<_>>()
                )
            ),
        ),
        (Usable, Broken) => (
            R::None,
            format!(
                "{} answers. Do not configure {sl} as failover yet: {}. Opening ports will not help; fix that first.",
                capitalise(&pl),
                why_broken_all(&secondaries, ctx)
            ),
        ),
        (Broken, Blocked) => (
            R::None,
            format!(
                "Failover does not help yet: on {pl}, {}, which is not a blocked port. Fix that first; the router also blocks {} at {}.",
                why_broken_all(&primaries, ctx),
                sl,
                closed_of(&secondaries)
            ),
        ),
        (Broken, Broken) => {
            let intercepted_anywhere = sites
                .iter()
                .flat_map(|s| s.results.iter())
                .any(|r| intercepted(r, ctx));
            let message = if intercepted_anywhere {
                format!(
                    "Failover does not help: {all_sites} accept TCP but {}. Fix the interception (exempt {} from TLS inspection) rather than opening ports or configuring site 2.",
                    why_broken_all(&sites.iter().collect::<Vec<_>>(), ctx),
                    list(&sites.iter().map(|s| s.address).collect::<Vec<_>>())
                )
            } else {
                format!(
                    "Failover does not help: {all_sites} accept TCP but {}. This is not a blocked port; see the findings.",
                    why_broken_all(&sites.iter().collect::<Vec<_>>(), ctx)
                )
            };
            (R::None, message)
        }
    };
    Failover {
        recommendation,
        message,
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------
// Findings.

fn where_(r: &TargetResult, number: usize) -> String {
    format!(
        "{} (site {number}, {}, {} port)",
        ep(r),
        r.site,
        r.service.as_str()
    )
}

fn findings(results: &[TargetResult], ctx: &Context) -> Vec<Finding> {
    let sites = group(results);
    let mut out = Vec::new();
    let mut push = |severity, code: &str, r: Option<&TargetResult>, message: String| {
        out.push(Finding {
            severity,
            code: code.to_string(),
            site: r.map(|r| r.site.clone()),
            port: r.map(|r| r.port),
            message,
        })
    };
    if !ctx.anchors_available {
        push(
            Severity::Warning,
            codes::ANCHORS_MISSING,
            None,
            "The STCA2 and STCA anchor files of the target set are missing, so the CA family of a \
             certificate cannot be told (this is not a sign of interception). Reachability is \
             still checked; add the anchor files and run the check again."
                .to_string(),
        );
    }
    for r in results {
        let at = where_(r, site_number(&sites, r));
        if not_measured(r) {
            push(
                Severity::Warning,
                codes::NOT_MEASURED,
                Some(r),
                format!("{at} was not measured: {}", why_not_measured(r)),
            );
            continue;
        }
        if dns_failed(r) {
            let d = r.dns.as_ref();
            push(
                Severity::Error,
                codes::DNS_FAILED,
                Some(r),
                format!(
                    "{} could not be resolved ({}{}): check the shop's DNS settings, or use the gateway's IP address.",
                    r.address,
                    d.map(|d| format!("{:?}", d.status).to_lowercase())
                        .unwrap_or_default(),
                    d.and_then(|d| d.detail.as_deref())
                        .map(|x| format!(": {x}"))
                        .unwrap_or_default()
                ),
            );
            continue;
        }
        if !tcp_open(r) {
            let detail = r
                .tcp
                .detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            let why = match r.tcp.status {
                // The probe's detail for a timeout or a reset says what the
                // verdict says here: only ICMP reasons and odd errors add to it.
                TcpStatus::Timeout => String::from(
                    "no answer to the connection request: a router or firewall on the way silently drops it, typically the merchant's box blocking the port",
                ),
                TcpStatus::Refused => String::from(
                    "the connection was refused with a TCP reset: a router or firewall rejects it, or nothing listens at that address and port",
                ),
                TcpStatus::Unreachable => format!(
                    "an ICMP unreachable message came back{detail}: a router on the way refuses the destination (administratively prohibited) or has no route to it"
                ),
                TcpStatus::Error | TcpStatus::Open => {
                    format!("the connection could not be made{detail}")
                }
            };
            push(
                Severity::Error,
                codes::PORT_CLOSED,
                Some(r),
                format!(
                    "{at} does not open at TCP: {why}. Open outbound TCP to {} on the merchant's router.",
                    ep(r)
                ),
            );
            continue;
        }
        let Some(tls) = r.tls.as_ref() else {
            push(
                Severity::Error,
                codes::TLS_FAILED,
                Some(r),
                format!("{at} opens at TCP but no TLS result was recorded."),
            );
            continue;
        };
        let detail = tls
            .detail
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let failure = match tls.status {
            TlsStatus::Ok => None,
            TlsStatus::ClientAuthRequired if r.service == Service::Declaration => None,
            TlsStatus::ClientAuthRequired => Some(format!(
                "the server asked for a client certificate{detail}, which the gateway does only on the declaration port"
            )),
            TlsStatus::Alert => Some(format!(
                "the server or a middlebox sent the TLS alert {}{detail}",
                tls.alert.as_deref().unwrap_or("(unnamed)")
            )),
            TlsStatus::Reset => Some(String::from(
                "the connection was reset during the handshake; a reset right after the ClientHello often means a filtering middlebox on the merchant's network",
            )),
            TlsStatus::Eof => Some(String::from(
                "the connection was closed during the handshake: something accepts TCP there but does not speak TLS to the probe (a proxy or a filter)",
            )),
            TlsStatus::Timeout => Some(String::from(
                "TCP opens but the TLS handshake never got an answer within the timeout: a silent middlebox, a service that is not running, or a path-MTU black hole (a link with a smaller MTU, such as PPPoE or a VPN, whose ICMP \"fragmentation needed\" messages are blocked, so the server's certificate never arrives; try lowering the router's MTU or enabling MSS clamping)",
            )),
            TlsStatus::Error => Some(format!("the TLS handshake failed{detail}")),
        };
        if let Some(why) = failure {
            push(
                Severity::Error,
                codes::TLS_FAILED,
                Some(r),
                format!("{at}: {why}."),
            );
        }
        if tls.status == TlsStatus::ClientAuthRequired && r.service == Service::Declaration {
            let names = tls
                .client_auth
                .as_ref()
                .map(|c| c.ca_names.clone())
                .unwrap_or_default();
            let accepted = if names.is_empty() {
                String::new()
            } else {
                format!(" Accepted CAs: {}.", names.join("; "))
            };
            push(
                Severity::Info,
                codes::CLIENT_AUTH,
                Some(r),
                format!(
                    "{at} asked for a client certificate, as a real gateway does on the declaration port; the terminal presents its own.{accepted}"
                ),
            );
        }
        let fam = tls.ca_family;
        if fam == Some(CaFamily::Stca) && forged(r).is_none() {
            push(
                Severity::Error,
                codes::OLD_CA,
                Some(r),
                format!(
                    "{at} presents the old STCA chain (issued by {}): the gateway, or a proxy in front of it, is not on STCA2 yet. Terminals migrated to STCA2 will refuse it.",
                    top_issuer(r).unwrap_or("the STCA authority")
                ),
            );
        }
        let intercepted = intercepted(r, ctx);
        if let (true, Some(f)) = (intercepted, forged(r)) {
            push(
                Severity::Error,
                codes::INTERCEPTION,
                Some(r),
                format!(
                    "{at}: the chain claims to be {f} but its signatures do not verify — a forged chain, suspected interception by a middlebox on the merchant's network. Ask the merchant or the ISP to exempt the gateway addresses from TLS inspection."
                ),
            );
        } else if intercepted {
            push(
                Severity::Error,
                codes::INTERCEPTION,
                Some(r),
                format!(
                    "{at}: suspected TLS interception by a middlebox on the merchant's network; the certificate was issued by {}. Ask the merchant or the ISP to exempt the gateway addresses from TLS inspection.",
                    top_issuer(r).unwrap_or("an unknown issuer")
                ),
            );
        }
        if let Some((days, subject)) = chain_days(r) {
            if days < 0 && !intercepted {
                push(
                    Severity::Error,
                    codes::EXPIRED,
                    Some(r),
                    format!(
                        "{at} presents an expired certificate ({subject}, expired {} days ago): terminals will refuse it; tell the gateway operator.",
                        -days
                    ),
                );
            } else if days >= 0
                && fam == Some(CaFamily::Stca2)
                && !intercepted
                && days <= ctx.expiry_warning_days
            {
                push(
                    Severity::Warning,
                    codes::EXPIRING,
                    Some(r),
                    format!(
                        "The STCA2 chain on {at} expires in {days} days ({subject}): tell the gateway operator before it does."
                    ),
                );
            }
        }
    }
    out.sort_by_key(|f| f.severity);
    out
}

// ---------------------------------------------------------------------------
// Headline.

/// Why a target was not measured, and what to fix on the probe side.
fn why_not_measured(r: &TargetResult) -> String {
    let detail = r.tcp.detail.as_deref().unwrap_or("no detail");
    let nothing_known = "this says nothing about the merchant's router";
    if let Some(d) = r.dns.as_ref().filter(|d| d.status == DnsStatus::Refused) {
        let why = d.detail.as_deref().unwrap_or(detail);
        return if d.addresses.is_empty() {
            format!("refused by the allow-list: {why}. Nothing was sent; {nothing_known}.")
        } else {
            let ips: Vec<String> = d.addresses.iter().map(|ip| ip.to_string()).collect();
            format!(
                "refused by the allow-list: the name {} resolved to {}, outside the allow-list, so nothing was sent to it ({why}). Pass --allow with the gateway's network if that address is right; {nothing_known}.",
                r.address,
                list(&ips)
            )
        };
    }
    if r.tcp.attempts == 0 {
        format!(
            "the probe refused to contact it ({detail}). Fix the allow-list on the probe side (--allow, the target file's `allow`, or {}); {nothing_known}.",
            crate::allow::CEILING_ENV
        )
    } else {
        format!(
            "the connection could not be made from this machine ({detail}). Fix the probe's setup (--source, --interface, or this machine's network configuration) and check again; {nothing_known}."
        )
    }
}

fn headline(results: &[TargetResult], sites: &[SiteView<'_>], ctx: &Context, ok: bool) -> String {
    if results.is_empty() {
        return "Nothing was checked: the target set has no site or no port.".to_string();
    }
    let number = |r: &TargetResult| site_number(sites, r);
    let eps = |pred: &dyn Fn(&TargetResult) -> bool| {
        dedup(results.iter().filter(|r| pred(r)).map(ep).collect())
    };
    if ok {
        let who = match sites {
            [one] => one.label(),
            [_, _] => "both sites".to_string(),
            _ => format!("all {} sites", sites.len()),
        };
        let verb = if sites.len() == 1 {
            "answers"
        } else {
            "answer"
        };
        let ports = dedup(results.iter().map(|r| r.port.to_string()).collect());
        let mut h = format!(
            "Ready for STCA2: {who} {verb} on {} with an STCA2 certificate.",
            list(&ports)
        );
        if let Some((days, r)) = results
            .iter()
            .filter_map(|r| chain_days(r).map(|(d, _)| (d, r)))
            .min_by_key(|(d, _)| *d)
            .filter(|(d, _)| *d <= ctx.expiry_warning_days)
        {
            h.push_str(&format!(
                " Its certificate on {} expires in {days} days: tell the gateway operator.",
                ep(r)
            ));
        }
        return h;
    }
    let primary_closed: Vec<&TargetResult> =
        results.iter().filter(|r| primary_stca2_closed(r)).collect();
    if let Some(first) = primary_closed.first() {
        let label = format!("site {}, {}", number(first), first.site);
        if dns_failed(first) {
            return format!(
                "Port STCA2 non ouvert: {} ({label}) could not be resolved. Check the shop's DNS settings, or use the gateway's IP address.",
                first.address
            );
        }
        let closed = list(&primary_closed.iter().map(|r| ep(r)).collect::<Vec<_>>());
        let to_open = dedup(
            results
                .iter()
                .filter(|r| r.role == Role::Primary && measured_closed(r))
                .map(ep)
                .collect(),
        );
        let router = primary_closed
            .iter()
            .all(|r| r.tcp.status != TcpStatus::Error);
        let what = if router {
            format!("the router blocks {closed} ({label})")
        } else {
            format!("{closed} ({label}) could not be reached")
        };
        return format!(
            "Port STCA2 non ouvert: {what}. Open outbound TCP to {} on the merchant's router.",
            list(&to_open)
        );
    }
    let intercepted = eps(&|r| intercepted(r, ctx));
    if !intercepted.is_empty() {
        let issuers = dedup(
            results
                .iter()
                .filter(|r| self::intercepted(r, ctx))
                .filter_map(interceptor_issuer)
                .collect(),
        );
        return format!(
            "Suspected TLS interception: a middlebox on the merchant's network answers for {} with a certificate issued by {}. Ask the merchant or the ISP to exempt the gateway addresses from TLS inspection.",
            list(&intercepted),
            if issuers.is_empty() {
                "an unknown issuer".to_string()
            } else {
                list(&issuers)
            }
        );
    }
    let unresolved = dedup(
        results
            .iter()
            .filter(|r| dns_failed(r))
            .map(|r| r.address.clone())
            .collect(),
    );
    if !unresolved.is_empty() {
        return format!(
            "Not ready: {} could not be resolved. Check the shop's DNS settings, or use the gateway's IP address.",
            list(&unresolved)
        );
    }
    let blocked = eps(&measured_closed);
    if !blocked.is_empty() {
        let mut h = format!(
            "Not ready: the router blocks {}. Open outbound TCP to {} on the merchant's router.",
            list(&blocked),
            if blocked.len() == 1 { "it" } else { "them" }
        );
        // Opening ports will not fix targets that already open but fail TLS:
        // say so here, not only in the findings.
        let tls_failing = eps(&|r| tcp_open(r) && !answers(r));
        if !tls_failing.is_empty() {
            h.push_str(&format!(
                " TCP opens but TLS does not complete on {} (see the findings).",
                list(&tls_failing)
            ));
        }
        return h;
    }
    let unmeasured = eps(&not_measured);
    if !unmeasured.is_empty() {
        return format!(
            "Not measured: {} could not be tested from this probe, so nothing is known yet about the merchant's router for {}. Fix the probe's setup as the findings say, then check again.",
            list(&unmeasured),
            if unmeasured.len() == 1 { "it" } else { "them" }
        );
    }
    let old = eps(&|r| family(r) == Some(CaFamily::Stca));
    if !old.is_empty() {
        return format!(
            "Not ready for STCA2: {} still {} the old STCA chain.",
            list(&old),
            if old.len() == 1 {
                "presents"
            } else {
                "present"
            }
        );
    }
    let failing = eps(&|r| !answers(r));
    if !failing.is_empty() {
        return format!(
            "Not ready: TCP opens but TLS does not complete on {} (see the findings).",
            list(&failing)
        );
    }
    let expired = eps(&|r| chain_days(r).is_some_and(|(d, _)| d < 0));
    if !expired.is_empty() {
        return format!(
            "Not ready: the certificate presented on {} has expired; tell the gateway operator.",
            list(&expired)
        );
    }
    if !ctx.anchors_available {
        return "Every site answers TLS, but the CA family cannot be told: the target set's STCA2 and STCA anchor files are missing. Add them and check again.".to_string();
    }
    let not_ready = eps(&|r| !ready(r));
    format!(
        "Not ready for STCA2: {} {} not answer with an STCA2 certificate (see the findings).",
        list(&not_ready),
        if not_ready.len() == 1 { "does" } else { "do" }
    )
}

#[cfg(test)]
pub(crate) mod test_support {
    //! The report fixtures every test shares ([`stca2_report::fixtures`]).
    pub(crate) use stca2_report::fixtures::*;
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    fn judge_default(results: &[TargetResult]) -> Summary {
        judge(results, &Context::default())
    }

    #[test]
    fn every_recommendation() {
        use Recommendation as R;
        let cases: Vec<(&str, Vec<TargetResult>, R, &[&str])> = vec![
            (
                "healthy",
                set(O::Stca2, O::ClientAuth, O::Stca2, O::ClientAuth),
                R::ConfigureSecondary,
                &[
                    "Both sites answer: configure site 2 (bordeaux, 127.0.38.173 port 1146) as the terminal's failover gateway.",
                ],
            ),
            (
                "secondary blocked",
                set(O::Stca2, O::Stca2, TIMEOUT, TIMEOUT),
                R::OpenSecondary,
                &[
                    "127.0.38.173:1146 and 127.0.38.173:7212",
                    "outbound TCP",
                    "site 2 (bordeaux)",
                ],
            ),
            (
                "primary blocked",
                set(TIMEOUT, O::Stca2, O::Stca2, O::Stca2),
                R::OpenPrimary,
                &[
                    "127.0.38.45:1146",
                    "Meanwhile site 2 (bordeaux) answers",
                    "127.0.38.173 port 1146",
                ],
            ),
            (
                "both blocked",
                set(TIMEOUT, TIMEOUT, REFUSED, REFUSED),
                R::OpenBoth,
                &["127.0.38.45:1146, 127.0.38.45:7212, 127.0.38.173:1146 and 127.0.38.173:7212"],
            ),
            (
                "intercepted on both sites",
                set(O::Unknown, O::Unknown, O::Unknown, O::Unknown),
                R::None,
                &[
                    "Failover does not help",
                    "interception",
                    "127.0.38.45 and 127.0.38.173",
                ],
            ),
            (
                "TLS reset on both sites",
                set(
                    O::Tls(TlsStatus::Reset),
                    O::Stca2,
                    O::Tls(TlsStatus::Reset),
                    O::Stca2,
                ),
                R::None,
                &["Failover does not help", "reset", "not a blocked port"],
            ),
            (
                "no secondary in the set",
                primary_only(O::Stca2, O::Stca2),
                R::None,
                &["no secondary site"],
            ),
            (
                "primary TLS fails, secondary answers",
                set(O::Tls(TlsStatus::Timeout), O::Stca2, O::Stca2, O::Stca2),
                R::ConfigureSecondary,
                &["Site 2 (bordeaux) answers", "127.0.38.45:1146 (timeout)"],
            ),
            (
                "primary forged, secondary answers",
                set(O::Forged(CaFamily::Stca2), O::Stca2, O::Stca2, O::Stca2),
                R::ConfigureSecondary,
                &[
                    "intercepts TLS to 127.0.38.45:1146",
                    "a forged STCA2 chain whose signatures do not verify",
                ],
            ),
            (
                "forged on both sites",
                set(
                    O::Forged(CaFamily::Stca2),
                    O::Forged(CaFamily::Stca2),
                    O::Forged(CaFamily::Stca),
                    O::Forged(CaFamily::Stca),
                ),
                R::None,
                &["Fix the interception"],
            ),
            (
                "primary blocked, secondary intercepted",
                set(TIMEOUT, TIMEOUT, O::Unknown, O::Stca2),
                R::OpenPrimary,
                &[
                    "127.0.38.45:1146 and 127.0.38.45:7212",
                    "no failover yet",
                    "CN=Interceptor Root",
                ],
            ),
            (
                "primary answers, secondary TLS fails",
                set(O::Stca2, O::Stca2, O::Tls(TlsStatus::Eof), O::Stca2),
                R::None,
                &["Do not configure site 2 (bordeaux)", "127.0.38.173:1146"],
            ),
            (
                "primary TLS fails, secondary blocked",
                set(O::Tls(TlsStatus::Alert), O::Stca2, TIMEOUT, TIMEOUT),
                R::None,
                &[
                    "Failover does not help yet",
                    "127.0.38.173:1146 and 127.0.38.173:7212",
                ],
            ),
            (
                "old CA on both: reachable, failover still configurable",
                set(O::Stca, O::Stca, O::Stca, O::Stca),
                R::ConfigureSecondary,
                &["Both sites answer"],
            ),
            (
                "only the declaration port blocked on site 2",
                set(O::Stca2, O::Stca2, O::Stca2, TIMEOUT),
                R::ConfigureSecondary,
                &["127.0.38.173 port 1146"],
            ),
        ];
        for (name, results, want, needles) in cases {
            let f = judge_default(&results).failover;
            assert_eq!(f.recommendation, want, "{name}: {}", f.message);
            for n in needles {
                assert!(f.message.contains(n), "{name}: {:?} lacks {n:?}", f.message);
            }
        }
    }

    fn codes_of(s: &Summary) -> Vec<(&str, Severity)> {
        s.findings
            .iter()
            .map(|f| (f.code.as_str(), f.severity))
            .collect()
    }

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
    fn a_forged_chain_is_interception_not_old_ca_nor_expiring() {
        let s = judge_default(&primary_only(O::Forged(CaFamily::Stca), O::Stca2));
        assert_eq!(codes_of(&s), [(codes::INTERCEPTION, Severity::Error)]);
        assert!(!s.sites[0].ready);
        let mut r = primary_only(O::Forged(CaFamily::Stca2), O::Stca2);
        if let Some(t) = r[0].tls.as_mut() {
            t.days_to_expiry = Some(3);
        }
        let s = judge_default(&r);
        assert_eq!(codes_of(&s), [(codes::INTERCEPTION, Severity::Error)]);
        assert!(
            s.headline.starts_with("Suspected TLS interception")
                && s.headline.contains("forged STCA2 chain"),
            "{}",
            s.headline
        );
    }

    #[test]
    fn missing_anchors_never_claim_interception() {
        let ctx = Context {
            anchors_available: false,
            ..Context::default()
        };
        let s = judge(&set(O::Unknown, O::Unknown, O::Unknown, O::Unknown), &ctx);
        assert!(!s.ok);
        assert!(s.findings.iter().all(|f| f.code != codes::INTERCEPTION));
        assert!(s.findings.iter().all(|f| f.severity != Severity::Error));
        assert!(!s.headline.contains("interception"), "{}", s.headline);
        assert!(s.headline.contains("anchor"), "{}", s.headline);
        // Reachability still judged: both sites answer, so failover is configurable.
        assert_eq!(
            s.failover.recommendation,
            Recommendation::ConfigureSecondary
        );
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

    #[test]
    fn headlines() {
        let cases: Vec<(&str, Vec<TargetResult>, &str)> = vec![
            (
                "healthy",
                set(O::Stca2, O::ClientAuth, O::Stca2, O::ClientAuth),
                "Ready for STCA2: both sites answer on 1146 and 7212 with an STCA2 certificate.",
            ),
            (
                "primary blocked",
                set(TIMEOUT, TIMEOUT, O::Stca2, O::Stca2),
                "Port STCA2 non ouvert: the router blocks 127.0.38.45:1146 (site 1, toulouse). Open outbound TCP to 127.0.38.45:1146 and 127.0.38.45:7212 on the merchant's router.",
            ),
            (
                "secondary blocked",
                set(O::Stca2, O::Stca2, TIMEOUT, O::Stca2),
                "Not ready: the router blocks 127.0.38.173:1146. Open outbound TCP to it on the merchant's router.",
            ),
            (
                "secondary blocked and silent",
                set(O::Stca2, O::ClientAuth, O::Tls(TlsStatus::Timeout), TIMEOUT),
                "Not ready: the router blocks 127.0.38.173:7212. Open outbound TCP to it on the merchant's router. TCP opens but TLS does not complete on 127.0.38.173:1146 (see the findings).",
            ),
            (
                "old CA",
                set(O::Stca, O::Stca, O::Stca2, O::Stca2),
                "Not ready for STCA2: 127.0.38.45:1146 and 127.0.38.45:7212 still present the old STCA chain.",
            ),
        ];
        for (name, results, want) in cases {
            assert_eq!(judge_default(&results).headline, want, "{name}");
        }
        let s = judge_default(&set(O::Unknown, O::Stca2, O::Stca2, O::Stca2));
        assert!(
            s.headline.starts_with("Suspected TLS interception"),
            "{}",
            s.headline
        );
        assert!(s.headline.contains("CN=Interceptor Root"));
        let s = judge_default(&set(O::Days(9), O::Stca2, O::Stca2, O::Stca2));
        assert!(s.headline.starts_with("Ready for STCA2"));
        assert!(s.headline.contains("expires in 9 days"), "{}", s.headline);
        let s = judge_default(&set(O::Tls(TlsStatus::Reset), O::Stca2, O::Stca2, O::Stca2));
        assert!(
            s.headline
                .contains("TLS does not complete on 127.0.38.45:1146"),
            "{}",
            s.headline
        );
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
}
