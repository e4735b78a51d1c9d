//! The verdict as the report carries it: readiness, "Port STCA2 non ouvert",
//! the failover recommendation and the findings.

use serde::{Deserialize, Serialize};

use crate::target::Role;

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
}

/// `address:port`, with brackets around IPv6 literals.
pub fn endpoint(address: &str, port: u16) -> String {
    if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}
