//! The v1 report: one check, as every other tool sees it (docs/design.md §3).
//!
//! This crate is the one contract that probes, the back office, installers'
//! scripts and ISP exports share: the [`Report`] and who ran it
//! ([`ProbeIdentity`]), the per-target results ([`result`]), the certificate
//! facts ([`cert`]), the verdict's [`Summary`] with its [`Finding`]s and
//! failover [`Recommendation`], the schema name ([`SCHEMA`]), the upload
//! limits ([`limits`]), the ISP-ticket CSV ([`csv`]) and the escaping of
//! untrusted text for display ([`text`]).
//! reports/report.schema.json is the same contract, machine-readable.
//!
//! It holds data and its serialisations only: it never opens a socket and
//! never judges. The probe engine fills a report (`stca2_engine::check`);
//! the back office validates and stores it.
//!
//! A report gets a fresh `report_id` from [`Report::new`], which then stays
//! the same across upload retries because it is stored with the report,
//! never regenerated.
#![warn(missing_docs)]

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub mod cert;
pub mod csv;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod limits;
pub mod result;
pub mod summary;
pub mod target;
pub mod text;

pub use cert::{CaFamily, CertInfo, SignatureVerified};
pub use result::{
    ClientAuthRequest, DnsResult, DnsStatus, HopAnswer, LatencyStats, PathMtu, PathTrace,
    TargetResult, TcpResult, TcpStatus, TlsResult, TlsStack, TlsStatus, TraceHop, WireBytes,
};
pub use summary::{
    Broken, Expiry, Failover, FailoverReason, FailoverTarget, Finding, FindingFacts, Headline,
    Intercepted, NotMeasuredReason, PathStopAt, Recommendation, Severity, SiteRef, SiteSummary,
    Summary, TargetRef, TlsFailing, codes, endpoint,
};
pub use target::{Role, Service};

/// The schema identifier of this report format.
pub const SCHEMA: &str = "stca2-probe/report/v1";

/// One check, as uploaded, stored and exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Unique per check, stable across upload retries.
    pub report_id: String,
    /// Who ran the check.
    pub probe: ProbeIdentity,
    /// When the check started, RFC 3339 UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When the check finished, RFC 3339 UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// The target set's name.
    pub target_set: String,
    /// One per site x port.
    pub results: Vec<TargetResult>,
    /// The verdict.
    pub summary: Summary,
}

/// Who ran a check, and from where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeIdentity {
    /// The probe's identifier (the daemon's configured id, or the host name).
    pub id: String,
    /// stca2-probe's version.
    pub version: String,
    /// The machine's host name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The merchant this probe belongs to, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<String>,
    /// `--source` address, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `--interface` name, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// A daemon's count of reports its spool dropped (over its size or age
    /// bound, or unwritable) since it was installed; absent when none were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spool_dropped: Option<u64>,
}

impl Report {
    /// Assembles a report around an existing verdict, with a fresh
    /// `report_id` (UUID v4) and `schema` set to [`SCHEMA`].
    pub fn new(
        probe: ProbeIdentity,
        target_set: impl Into<String>,
        started_at: OffsetDateTime,
        finished_at: OffsetDateTime,
        results: Vec<TargetResult>,
        summary: Summary,
    ) -> Report {
        Report {
            schema: SCHEMA.to_string(),
            report_id: new_report_id(),
            probe,
            started_at: started_at.to_offset(time::UtcOffset::UTC),
            finished_at: finished_at.to_offset(time::UtcOffset::UTC),
            target_set: target_set.into(),
            results,
            summary,
        }
    }

    /// The v1 JSON document, indented for people and files.
    pub fn to_json_pretty(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// Reads a v1 JSON document.
    pub fn from_json(text: &str) -> Result<Report, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The contract's exit code for a check that ran: 0 when every site x
    /// port is ready for STCA2, 1 when the check found a problem.
    pub fn exit_code(&self) -> u8 {
        if self.summary.ok { 0 } else { 1 }
    }

    /// Bytes on the wire of the whole check: the sum of the targets' `wire`
    /// (see [`WireBytes`] for what is and is not counted).
    pub fn wire(&self) -> WireBytes {
        let mut total = WireBytes::default();
        for w in self.results.iter().filter_map(|r| r.wire) {
            total += w;
        }
        total
    }

    /// True when a target's handshake was not tried although TCP opened (a
    /// daemon's TCP-only cycle, `tls_every`): the report's TLS-derived
    /// parts (readiness, failover) say nothing new, only its TCP facts do.
    pub fn tcp_only(&self) -> bool {
        self.results
            .iter()
            .any(|r| r.tls.as_ref().is_some_and(TlsResult::is_not_attempted))
    }
}

impl ProbeIdentity {
    /// An identity with this build's version and nothing optional set.
    pub fn new(id: impl Into<String>) -> ProbeIdentity {
        ProbeIdentity {
            id: id.into(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            hostname: None,
            merchant: None,
            source: None,
            interface: None,
            spool_dropped: None,
        }
    }
}

/// A fresh report identifier: a random UUID v4, hyphenated lowercase.
pub fn new_report_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
