//! `interception`: a chain that matches no family, or one that claims
//! STCA2 or STCA but whose signatures do not verify (a forgery). Only said
//! when the anchors are loaded: without them no family can be told.

use stca2_report::{FindingFacts, TargetResult};

use super::Scope;
use crate::verdict::{handshake, intercepted, intercepted_by};

pub(super) fn rule(scope: &Scope<'_>, r: &TargetResult) -> Option<FindingFacts> {
    handshake(r)?;
    intercepted(r, scope.ctx).then(|| FindingFacts::Interception(intercepted_by(r, scope.sites)))
}

#[cfg(test)]
mod tests {
    use crate::verdict::test_support::*;
    use stca2_report::{CaFamily, Severity, codes};

    #[test]
    fn a_forged_chain_is_interception_not_old_ca_nor_expiring() {
        let s = judge_default(&primary_only(O::Forged(CaFamily::Stca), O::Stca2));
        assert_eq!(codes_of(&s), [(codes::INTERCEPTION, Severity::Error)]);
        assert!(!s.sites[0].ready);
        let mut r = primary_only(O::Forged(CaFamily::Stca2), O::Stca2);
        if let Some(t) = r[0].tls.as_mut() {
            t.days_to_expiry = Some(3);
        }
        let s = judge_default(&r);
        assert_eq!(codes_of(&s), [(codes::INTERCEPTION, Severity::Error)]);
        assert!(
            s.headline.starts_with("Suspected TLS interception")
                && s.headline.contains("forged STCA2 chain"),
            "{}",
            s.headline
        );
    }
}
