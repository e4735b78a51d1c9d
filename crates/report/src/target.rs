//! What a target is to the contract: a site's role and a port's service.

use serde::{Deserialize, Serialize};

/// The role of a gateway site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Site 1: where terminals connect first.
    Primary,
    /// Site 2: the failover gateway.
    Secondary,
}

impl Role {
    /// The lowercase name used in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        }
    }
}

/// What a port is for on the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// 1146: the STCA2 payment entrance.
    Stca2,
    /// 7212: terminal declaration / registration (may ask for a client certificate).
    Declaration,
    /// Anything else worth checking.
    Other,
}

impl Service {
    /// The lowercase name used in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Stca2 => "stca2",
            Service::Declaration => "declaration",
            Service::Other => "other",
        }
    }
}
