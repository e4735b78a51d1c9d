//! `not_measured`: the probe did not measure a target (allow-list refusal,
//! a local error). Says nothing about the merchant's router.

use stca2_report::{DnsStatus, FindingFacts, NotMeasuredReason, TargetResult};

use super::Scope;
use crate::verdict::not_measured;

pub(super) fn rule(scope: &Scope<'_>, r: &TargetResult) -> Option<FindingFacts> {
    if !not_measured(r) {
        return None;
    }
    Some(FindingFacts::NotMeasured {
        target: scope.sites.target(r),
        reason: reason(r),
    })
}

/// Why: the name resolved outside the allow-list, the allow-list refused
/// the address (no attempt made), or a local error stopped the connection.
fn reason(r: &TargetResult) -> NotMeasuredReason {
    let detail = r.tcp.detail.as_deref().unwrap_or("no detail");
    if let Some(d) = r.dns.as_ref().filter(|d| d.status == DnsStatus::Refused) {
        return NotMeasuredReason::DnsRefused {
            addresses: d.addresses.clone(),
            detail: d.detail.as_deref().unwrap_or(detail).to_string(),
        };
    }
    let detail = detail.to_string();
    if r.tcp.attempts == 0 {
        NotMeasuredReason::AllowList { detail }
    } else {
        NotMeasuredReason::Local { detail }
    }
}
