//! `old_ca`: the old STCA chain is still presented (a forged one is
//! interception, not an old CA).

use stca2_report::{CaFamily, FindingFacts, TargetResult};

use super::Scope;
use crate::verdict::{forged, handshake, top_issuer};

pub(super) fn rule(scope: &Scope<'_>, r: &TargetResult) -> Option<FindingFacts> {
    let tls = handshake(r)?;
    if tls.ca_family != Some(CaFamily::Stca) || forged(r).is_some() {
        return None;
    }
    Some(FindingFacts::OldCa {
        target: scope.sites.target(r),
        issuer: top_issuer(r).map(str::to_string),
    })
}
