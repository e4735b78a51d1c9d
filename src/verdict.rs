//! From raw results to findings: the part of the product that has opinions.
//!
//! `verdict` is pure: it reads what the probe measured and decides what it
//! means for the migration — is the STCA2 port of the primary site closed,
//! is each site ready, is somebody intercepting TLS, should the merchant's
//! terminal be given site 2 as a failover gateway — and says so in plain
//! words naming the exact addresses and ports. It never touches the network
//! or the clock, so it is tested on tables of cases.

use serde::{Deserialize, Serialize};

use crate::probe::result::TargetResult;
use crate::targets::Role;

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

/// Judges one check's results.
pub fn judge(results: &[TargetResult]) -> Summary {
    let _ = results;
    todo!("verdict: implemented with the probe core")
}
