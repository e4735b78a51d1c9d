//! The report: one check, as other tools see it (DESIGN.md §3).
//!
//! A [`Report`] is the probe's results plus the verdict's summary plus who
//! ran it and when. It is rendered three ways — JSON (the v1 contract), CSV
//! (ISP tickets) and human text — and never opens a socket.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::probe::result::TargetResult;
use crate::verdict::Summary;

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
}

pub mod csv;
