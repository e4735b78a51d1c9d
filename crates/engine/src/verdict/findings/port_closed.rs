//! `port_closed`: TCP does not open, measured so. A target that was not
//! measured, or whose name did not resolve, is not a closed port.

use stca2_report::{FindingFacts, TargetResult};

use super::Scope;
use crate::verdict::{dns_failed, measured_closed};

pub(super) fn rule(scope: &Scope<'_>, r: &TargetResult) -> Option<FindingFacts> {
    if !measured_closed(r) || dns_failed(r) {
        return None;
    }
    Some(FindingFacts::PortClosed {
        target: scope.sites.target(r),
        tcp: r.tcp.status,
        detail: r.tcp.detail.clone(),
    })
}
