//! `anchors_missing`: without the target set's CA anchors no chain can be
//! matched to a family, so "unknown" means "cannot tell", not "intercepted".

use stca2_report::FindingFacts;

use super::Scope;

pub(super) fn rule(scope: &Scope<'_>) -> Option<FindingFacts> {
    (!scope.ctx.anchors_available).then_some(FindingFacts::AnchorsMissing)
}

#[cfg(test)]
mod tests {
    use crate::verdict::test_support::*;
    use crate::verdict::{Context, judge};
    use stca2_report::{Recommendation, Severity, codes};

    #[test]
    fn missing_anchors_never_claim_interception() {
        let ctx = Context {
            anchors_available: false,
            ..Context::default()
        };
        let s = judge(&set(O::Unknown, O::Unknown, O::Unknown, O::Unknown), &ctx);
        assert!(!s.ok);
        assert!(s.findings.iter().all(|f| f.code != codes::INTERCEPTION));
        assert!(s.findings.iter().all(|f| f.severity != Severity::Error));
        assert!(!s.headline.contains("interception"), "{}", s.headline);
        assert!(s.headline.contains("anchor"), "{}", s.headline);
        // Reachability still judged: both sites answer, so failover is configurable.
        assert_eq!(
            s.failover.recommendation,
            Recommendation::ConfigureSecondary
        );
    }
}
