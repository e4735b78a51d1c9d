//! `path_mtu`: TCP opened but every handshake stalled, and the probe
//! retried with a clamped MSS (`result.path_mtu`). With an MSS that worked
//! it is a path-MTU black hole, and the installer is told what to change;
//! with none, the server (or a middlebox) is silent, and the verdict says
//! the MTU is not the cause.

use stca2_report::{FindingFacts, TargetResult};

use super::Scope;
use crate::verdict::{dns_failed, tcp_open};

pub(super) fn rule(scope: &Scope<'_>, r: &TargetResult) -> Option<FindingFacts> {
    let mtu = r.path_mtu.as_ref()?;
    if !tcp_open(r) || dns_failed(r) {
        return None;
    }
    Some(FindingFacts::PathMtu {
        target: scope.sites.target(r),
        mss: mtu.mss,
    })
}
