//! The verdict as the report carries it: readiness, "Port STCA2 non ouvert",
//! the failover recommendation and the findings.
//!
//! Findings are data, words come last. Every sentence of the verdict (the
//! headline, the failover message, each finding's message) is rendered from
//! typed facts that the report carries next to it: [`Headline`],
//! [`FailoverReason`] and [`FindingFacts`]. The engine fills the English
//! strings by calling the `stca2-words` crate on those facts; a back office
//! or a French rendering re-renders a stored report from the same facts
//! without the engine. The strings stay for compatibility (and for readers
//! that know no facts); the facts are optional on input so that reports
//! written before them still read, and an unknown future case reads as
//! `Unknown` instead of making the report unreadable.

use std::net::IpAddr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::cert::CaFamily;
use crate::result::{DnsStatus, HopAnswer, TcpStatus, TlsStatus};
use crate::target::{Role, Service};

/// The verdict over one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// True when every site x port answered TLS with an STCA2 chain (exit 0).
    pub ok: bool,
    /// The verdict in one or two sentences, for the top of the human report.
    pub headline: String,
    /// True when the stca2 port of the primary site is not open: "Port STCA2 non ouvert".
    pub stca2_port_closed: bool,
    /// Readiness per site.
    pub sites: Vec<SiteSummary>,
    /// What to do about site 2.
    pub failover: Failover,
    /// Everything worth telling, most severe first.
    pub findings: Vec<Finding>,
    /// The headline as data, to re-render it (absent from older reports).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub headline_params: Option<Headline>,
}

/// Readiness of one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteSummary {
    /// Site name.
    pub site: String,
    /// Primary or secondary.
    pub role: Role,
    /// Address as written in the target set.
    pub address: String,
    /// Every port of the site answered TLS with an STCA2 chain.
    pub ready: bool,
    /// Every port of the site is open at the TCP level.
    pub reachable: bool,
    /// Ports of this site that are not open at the TCP level.
    pub closed_ports: Vec<u16>,
}

/// The failover recommendation for the terminal behind this network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failover {
    /// What to do.
    pub recommendation: Recommendation,
    /// The same, in plain words naming addresses and ports.
    pub message: String,
    /// Why, as data, to re-render `message` (absent from older reports).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub params: Option<FailoverReason>,
}

/// Failover recommendations, in the contract's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    /// Site 2 is reachable: configure it as the terminal's failover gateway.
    ConfigureSecondary,
    /// The primary works, site 2 is blocked: open it on the router, then configure it.
    OpenSecondary,
    /// Site 2 works, the primary is blocked: open the primary on the router.
    OpenPrimary,
    /// Both sites are blocked: open both on the router.
    OpenBoth,
    /// Nothing to do about failover (or nothing can be said).
    None,
}

impl Recommendation {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Recommendation::ConfigureSecondary => "configure_secondary",
            Recommendation::OpenSecondary => "open_secondary",
            Recommendation::OpenPrimary => "open_primary",
            Recommendation::OpenBoth => "open_both",
            Recommendation::None => "none",
        }
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks the migration.
    Error,
    /// Works today, needs attention.
    Warning,
    /// Worth knowing.
    Info,
}

/// One thing the verdict wants a person to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// A stable machine-readable code, e.g. `port_closed`, `old_ca`, `interception`.
    pub code: String,
    /// The site concerned, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The port concerned, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Plain words: what is wrong and what to do.
    pub message: String,
    /// The facts `message` is rendered from (absent from older reports).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub params: Option<FindingFacts>,
}

impl Finding {
    /// A finding about `facts`, its code, severity, site and port taken
    /// from them, with `message` their rendering.
    pub fn new(facts: FindingFacts, message: String) -> Finding {
        let target = facts.target();
        Finding {
            severity: facts.severity(),
            code: facts.code().to_string(),
            site: target.map(|t| t.site.clone()),
            port: target.map(|t| t.port),
            message,
            params: Some(facts),
        }
    }
}

/// Stable finding codes, so scripts and the back office can match on them.
pub mod codes {
    /// TCP did not open (refused, timeout, unreachable, error).
    pub const PORT_CLOSED: &str = "port_closed";
    /// TCP opened but the TLS handshake did not complete.
    pub const TLS_FAILED: &str = "tls_failed";
    /// The old STCA chain is still presented.
    pub const OLD_CA: &str = "old_ca";
    /// A chain that matches no family: suspected TLS interception.
    pub const INTERCEPTION: &str = "interception";
    /// No CA anchors: the family of a chain cannot be told.
    pub const ANCHORS_MISSING: &str = "anchors_missing";
    /// The STCA2 chain expires soon.
    pub const EXPIRING: &str = "expiring";
    /// A presented certificate has expired.
    pub const EXPIRED: &str = "expired";
    /// The declaration port asked for a client certificate (expected).
    pub const CLIENT_AUTH: &str = "client_auth";
    /// A hostname did not resolve.
    pub const DNS_FAILED: &str = "dns_failed";
    /// The probe did not measure a target: the allow-list refused it (or
    /// its DNS server), or a local error (a bad `--source` or `--interface`)
    /// stopped the connection before the network said anything. Says
    /// nothing about the merchant's router.
    pub const NOT_MEASURED: &str = "not_measured";
    /// Where the path to a port that did not open stops (from `check --trace`).
    pub const PATH_STOP: &str = "path_stop";
    /// A path-MTU black hole, confirmed by a clamped MSS.
    pub const PATH_MTU: &str = "path_mtu";
}

/// `address:port`, with brackets around IPv6 literals.
pub fn endpoint(address: &str, port: u16) -> String {
    if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

/// Reads an optional block of facts, and reads it as absent when it does
/// not parse (written by a newer or broken producer): the facts are an
/// addition to the strings, never a reason to refuse a report.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}

// ---------------------------------------------------------------------------
// The facts behind the words.

/// A site as the verdict names it: "site 2 (bordeaux)", numbered in the
/// order sites appear in the results (site 1 is the first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRef {
    /// 1 for the first site of the results.
    pub number: usize,
    /// Site name.
    pub name: String,
    /// Address as written in the target set.
    pub address: String,
}

/// The site x port a fact is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRef {
    /// Site name.
    pub site: String,
    /// The site's number ([`SiteRef::number`]).
    pub site_number: usize,
    /// Address as written in the target set.
    pub address: String,
    /// TCP port.
    pub port: u16,
    /// What the port is for.
    pub service: Service,
}

impl TargetRef {
    /// `address:port` ([`endpoint`]).
    pub fn endpoint(&self) -> String {
        endpoint(&self.address, self.port)
    }
}

/// Who issued an intercepted chain: the top certificate's issuer (absent
/// when the chain was empty), and the family a forged chain claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intercepted {
    /// The target intercepted.
    pub target: TargetRef,
    /// The issuer of the top certificate of the presented chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Set when the chain claims STCA2 or STCA but its signatures do not verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forged: Option<CaFamily>,
}

/// A target whose TCP opens but whose TLS does not complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsFailing {
    /// The target.
    pub target: TargetRef,
    /// The TLS outcome class; absent when no TLS result was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsStatus>,
}

/// Why the TCP-reachable sites of a failover judgement do not work:
/// interception first, then TLS failures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broken {
    /// Intercepted targets, with their issuers.
    pub intercepted: Vec<Intercepted>,
    /// Targets where the handshake does not complete.
    pub failing: Vec<TlsFailing>,
}

/// A site to configure as the failover gateway, with the ports that decide it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailoverTarget {
    /// The site.
    pub site: SiteRef,
    /// Its STCA2-service ports (every port when the set has none).
    pub ports: Vec<u16>,
}

/// An expiry date as the verdict tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiry {
    /// The target presenting the certificate.
    pub target: TargetRef,
    /// Whole days to expiry; negative once expired.
    pub days_to_expiry: i64,
}

/// The headline as data: the first case, in this order, that describes the
/// check. Rendered by `stca2_words::headline`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "case", rename_all = "snake_case")]
pub enum Headline {
    /// The target set had no site or no port.
    NothingChecked,
    /// Every site x port is ready.
    Ready {
        /// Every site.
        sites: Vec<SiteRef>,
        /// Every port, once each.
        ports: Vec<u16>,
        /// The soonest expiry, when within the warning window.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expiring: Option<Expiry>,
    },
    /// The primary's STCA2 port is closed because its name did not resolve.
    PrimaryUnresolved {
        /// The first such target.
        target: TargetRef,
    },
    /// The primary's STCA2 port is closed: "Port STCA2 non ouvert".
    PrimaryClosed {
        /// The primary's closed STCA2 ports.
        closed: Vec<TargetRef>,
        /// True when every one of them is blocked on the way (timeout,
        /// refused, unreachable), false when one could not be reached at all.
        router: bool,
        /// Every closed port of the primary site(s), what the router must open.
        to_open: Vec<TargetRef>,
    },
    /// A middlebox answers with a certificate of its own.
    Interception {
        /// The intercepted targets.
        intercepted: Vec<Intercepted>,
    },
    /// Some hostnames did not resolve.
    Unresolved {
        /// The addresses (hostnames), once each.
        addresses: Vec<String>,
    },
    /// The router blocks some ports.
    Blocked {
        /// The closed targets.
        blocked: Vec<TargetRef>,
        /// Targets that open at TCP but fail TLS: opening ports will not fix them.
        tls_failing: Vec<TargetRef>,
    },
    /// Some targets were not measured (allow-list, local error).
    NotMeasured {
        /// The targets.
        targets: Vec<TargetRef>,
    },
    /// Some targets still present the old STCA chain.
    OldCa {
        /// The targets.
        targets: Vec<TargetRef>,
    },
    /// TCP opens but TLS does not complete.
    TlsFailing {
        /// The targets.
        targets: Vec<TargetRef>,
    },
    /// A presented certificate has expired.
    Expired {
        /// The targets.
        targets: Vec<TargetRef>,
    },
    /// Every site answers, but without anchors no family can be told.
    AnchorsMissing,
    /// Anything else that is not ready.
    NotStca2 {
        /// The targets not ready.
        targets: Vec<TargetRef>,
    },
    /// A TCP-only check (a daemon's `tls_every` on a metered link): every
    /// port opens, TLS was not looked at. An extension of v1.
    TlsNotChecked {
        /// The targets whose handshake was not tried.
        targets: Vec<TargetRef>,
    },
    /// A case this version does not know (written by a newer one).
    #[serde(other)]
    Unknown,
}

/// Why the failover recommendation is what it is, as data. Rendered by
/// `stca2_words::failover`. "primaries" and "secondaries" are the sites
/// with that role; "sites" is every site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "case", rename_all = "snake_case")]
pub enum FailoverReason {
    /// The target set has no secondary site.
    NoSecondary,
    /// The target set has no primary site.
    NoPrimary,
    /// A deciding port was not measured.
    Unmeasured {
        /// The sites not measured.
        sites: Vec<SiteRef>,
    },
    /// A TCP-only check (a daemon's `tls_every`) did not look at TLS, so
    /// it cannot judge failover: the last full check's recommendation
    /// stands (the back office keeps it). An extension of v1.
    TlsNotChecked {
        /// The sites whose TLS was not checked.
        sites: Vec<SiteRef>,
    },
    /// Every site answers.
    AllAnswer {
        /// Every site.
        sites: Vec<SiteRef>,
        /// What to configure.
        configure: Vec<FailoverTarget>,
    },
    /// The secondary answers, the primary is broken (not blocked).
    PrimaryBroken {
        /// Primary sites.
        primaries: Vec<SiteRef>,
        /// Secondary sites.
        secondaries: Vec<SiteRef>,
        /// Why the primary is broken.
        broken: Broken,
        /// What to configure.
        configure: Vec<FailoverTarget>,
    },
    /// The primary answers, the router blocks the secondary.
    SecondaryBlocked {
        /// Primary sites.
        primaries: Vec<SiteRef>,
        /// Secondary sites.
        secondaries: Vec<SiteRef>,
        /// The secondary's closed targets.
        closed: Vec<TargetRef>,
        /// What to configure once open.
        configure: Vec<FailoverTarget>,
    },
    /// The router blocks the primary, the secondary answers.
    PrimaryBlocked {
        /// Primary sites.
        primaries: Vec<SiteRef>,
        /// Secondary sites.
        secondaries: Vec<SiteRef>,
        /// The primary's closed targets.
        closed: Vec<TargetRef>,
        /// What to configure meanwhile.
        configure: Vec<FailoverTarget>,
    },
    /// The router blocks the primary, the secondary is broken.
    PrimaryBlockedSecondaryBroken {
        /// Primary sites.
        primaries: Vec<SiteRef>,
        /// Secondary sites.
        secondaries: Vec<SiteRef>,
        /// The primary's closed targets.
        closed: Vec<TargetRef>,
        /// Why the secondary is broken.
        broken: Broken,
    },
    /// The router blocks every site.
    AllBlocked {
        /// Every site.
        sites: Vec<SiteRef>,
        /// Every closed target of the blocked sites.
        closed: Vec<TargetRef>,
        /// What to configure once open.
        configure: Vec<FailoverTarget>,
    },
    /// The primary answers, the secondary is broken.
    SecondaryBroken {
        /// Primary sites.
        primaries: Vec<SiteRef>,
        /// Secondary sites.
        secondaries: Vec<SiteRef>,
        /// Why the secondary is broken.
        broken: Broken,
    },
    /// The primary is broken, the router blocks the secondary.
    PrimaryBrokenSecondaryBlocked {
        /// Primary sites.
        primaries: Vec<SiteRef>,
        /// Secondary sites.
        secondaries: Vec<SiteRef>,
        /// Why the primary is broken.
        broken: Broken,
        /// The secondary's closed targets.
        closed: Vec<TargetRef>,
    },
    /// Every site accepts TCP but none works.
    AllBroken {
        /// Every site.
        sites: Vec<SiteRef>,
        /// Why.
        broken: Broken,
        /// True when any target of any site is intercepted.
        interception: bool,
    },
    /// A case this version does not know (written by a newer one).
    #[serde(other)]
    Unknown,
}

/// Why a target was not measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NotMeasuredReason {
    /// The name resolved, but outside the allow-list (or was refused before).
    DnsRefused {
        /// What resolved, when anything did.
        addresses: Vec<IpAddr>,
        /// The probe's words.
        detail: String,
    },
    /// The allow-list refused the address: no attempt was made.
    AllowList {
        /// The probe's words.
        detail: String,
    },
    /// The connection failed on this machine (bad `--source`, `--interface`...).
    Local {
        /// The probe's words.
        detail: String,
    },
}

/// Where the path to a port stops, as a TCP traceroute shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathStopAt {
    /// At the merchant's box: the first hop (the probe's default gateway).
    Box,
    /// After the box: at the ISP or further on.
    BeyondBox,
    /// At the gateway itself: its port refuses (a reset from the destination).
    Destination,
    /// Not even the first hop answered.
    Unknown,
}

/// The facts of one finding: one variant per finding code. Rendered by
/// `stca2_words::finding`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum FindingFacts {
    /// [`codes::NOT_MEASURED`].
    NotMeasured {
        /// The target.
        target: TargetRef,
        /// Why.
        reason: NotMeasuredReason,
    },
    /// [`codes::DNS_FAILED`].
    DnsFailed {
        /// The target.
        target: TargetRef,
        /// The DNS outcome class.
        status: DnsStatus,
        /// The resolver's words.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// [`codes::PORT_CLOSED`].
    PortClosed {
        /// The target.
        target: TargetRef,
        /// The TCP outcome class.
        tcp: TcpStatus,
        /// The probe's words.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// [`codes::TLS_FAILED`].
    TlsFailed {
        /// The target.
        target: TargetRef,
        /// The TLS outcome class; absent when no TLS result was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tls: Option<TlsStatus>,
        /// The alert's name, for `alert`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alert: Option<String>,
        /// The probe's words.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// [`codes::CLIENT_AUTH`].
    ClientAuth {
        /// The target.
        target: TargetRef,
        /// The CA names the server accepts.
        ca_names: Vec<String>,
    },
    /// [`codes::OLD_CA`].
    OldCa {
        /// The target.
        target: TargetRef,
        /// The issuer of the top certificate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issuer: Option<String>,
    },
    /// [`codes::INTERCEPTION`].
    Interception(Intercepted),
    /// [`codes::EXPIRED`].
    Expired {
        /// The target.
        target: TargetRef,
        /// The subject of the certificate concerned (the leaf when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        /// Whole days to expiry: negative.
        days_to_expiry: i64,
    },
    /// [`codes::EXPIRING`].
    Expiring {
        /// The target.
        target: TargetRef,
        /// The subject of the certificate concerned (the leaf when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        /// Whole days to expiry.
        days_to_expiry: i64,
    },
    /// [`codes::ANCHORS_MISSING`]: about the whole check.
    AnchorsMissing,
    /// [`codes::PATH_STOP`].
    PathStop {
        /// The target.
        target: TargetRef,
        /// Where the path stops.
        at: PathStopAt,
        /// The hop (TTL) that blocks, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hop: Option<u8>,
        /// The blocking hop's address, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<IpAddr>,
        /// How the path stops there: `silent` (dropped), `unreachable` (ICMP), `reset`.
        how: HopAnswer,
    },
    /// [`codes::PATH_MTU`].
    PathMtu {
        /// The target.
        target: TargetRef,
        /// The MSS with which the handshake completed; `None`: no clamp helped.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mss: Option<u32>,
    },
    /// A code this version does not know (written by a newer one).
    #[serde(other)]
    Unknown,
}

impl FindingFacts {
    /// The finding's code ([`codes`]); `unknown` for [`FindingFacts::Unknown`].
    pub fn code(&self) -> &'static str {
        match self {
            FindingFacts::NotMeasured { .. } => codes::NOT_MEASURED,
            FindingFacts::DnsFailed { .. } => codes::DNS_FAILED,
            FindingFacts::PortClosed { .. } => codes::PORT_CLOSED,
            FindingFacts::TlsFailed { .. } => codes::TLS_FAILED,
            FindingFacts::ClientAuth { .. } => codes::CLIENT_AUTH,
            FindingFacts::OldCa { .. } => codes::OLD_CA,
            FindingFacts::Interception(_) => codes::INTERCEPTION,
            FindingFacts::Expired { .. } => codes::EXPIRED,
            FindingFacts::Expiring { .. } => codes::EXPIRING,
            FindingFacts::AnchorsMissing => codes::ANCHORS_MISSING,
            FindingFacts::PathStop { .. } => codes::PATH_STOP,
            FindingFacts::PathMtu { .. } => codes::PATH_MTU,
            FindingFacts::Unknown => "unknown",
        }
    }

    /// How serious a finding with this code is.
    pub fn severity(&self) -> Severity {
        match self {
            FindingFacts::NotMeasured { .. }
            | FindingFacts::Expiring { .. }
            | FindingFacts::AnchorsMissing => Severity::Warning,
            FindingFacts::ClientAuth { .. }
            | FindingFacts::PathStop { .. }
            | FindingFacts::Unknown => Severity::Info,
            FindingFacts::DnsFailed { .. }
            | FindingFacts::PortClosed { .. }
            | FindingFacts::TlsFailed { .. }
            | FindingFacts::OldCa { .. }
            | FindingFacts::Interception(_)
            | FindingFacts::Expired { .. }
            | FindingFacts::PathMtu { .. } => Severity::Error,
        }
    }

    /// The target the finding is about; none for a finding about the whole check.
    pub fn target(&self) -> Option<&TargetRef> {
        match self {
            FindingFacts::NotMeasured { target, .. }
            | FindingFacts::DnsFailed { target, .. }
            | FindingFacts::PortClosed { target, .. }
            | FindingFacts::TlsFailed { target, .. }
            | FindingFacts::ClientAuth { target, .. }
            | FindingFacts::OldCa { target, .. }
            | FindingFacts::Interception(Intercepted { target, .. })
            | FindingFacts::Expired { target, .. }
            | FindingFacts::Expiring { target, .. }
            | FindingFacts::PathStop { target, .. }
            | FindingFacts::PathMtu { target, .. } => Some(target),
            FindingFacts::AnchorsMissing | FindingFacts::Unknown => None,
        }
    }
}
