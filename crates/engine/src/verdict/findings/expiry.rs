//! `expired` and `expiring`: the fewest days to expiry over the presented
//! chain. An intercepted chain says nothing about the gateway's
//! certificates, so neither rule speaks about one.

use stca2_report::{CaFamily, FindingFacts, TargetResult};

use super::Scope;
use crate::verdict::{chain_days, handshake, intercepted};

/// A presented certificate has expired.
pub(super) fn expired(scope: &Scope<'_>, r: &TargetResult) -> Option<FindingFacts> {
    handshake(r)?;
    let (days, subject) = chain_days(r).filter(|(d, _)| *d < 0)?;
    (!intercepted(r, scope.ctx)).then(|| FindingFacts::Expired {
        target: scope.sites.target(r),
        subject: subject.map(str::to_string),
        days_to_expiry: days,
    })
}

/// The STCA2 chain expires within the warning window.
pub(super) fn expiring(scope: &Scope<'_>, r: &TargetResult) -> Option<FindingFacts> {
    let tls = handshake(r)?;
    let (days, subject) = chain_days(r)?;
    let applies = (0..=scope.ctx.expiry_warning_days).contains(&days)
        && tls.ca_family == Some(CaFamily::Stca2)
        && !intercepted(r, scope.ctx);
    applies.then(|| FindingFacts::Expiring {
        target: scope.sites.target(r),
        subject: subject.map(str::to_string),
        days_to_expiry: days,
    })
}
