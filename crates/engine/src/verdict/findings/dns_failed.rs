//! `dns_failed`: the shop's DNS did not resolve the gateway's name.

use stca2_report::{FindingFacts, TargetResult};

use super::Scope;
use crate::verdict::dns_failed;

pub(super) fn rule(scope: &Scope<'_>, r: &TargetResult) -> Option<FindingFacts> {
    let d = r.dns.as_ref().filter(|_| dns_failed(r))?;
    Some(FindingFacts::DnsFailed {
        target: scope.sites.target(r),
        status: d.status,
        detail: d.detail.clone(),
    })
}
