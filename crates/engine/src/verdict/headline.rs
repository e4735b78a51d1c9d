//! The headline: the one case, in order of what matters most, that heads
//! the report. A cascade by nature: "Port STCA2 non ouvert" outranks an
//! interception, which outranks DNS, and so on down to "not ready".

use stca2_report::{Expiry, Headline, Role, TargetRef, TargetResult, TcpStatus};

use super::site::Sites;
use super::{
    Context, answers, chain_days, dns_failed, family, intercepted, intercepted_by, measured_closed,
    not_measured, primary_stca2_closed, ready, tcp_open, tls_not_attempted,
};
use stca2_report::CaFamily;

/// The headline case for `results`.
pub(super) fn headline(
    results: &[TargetResult],
    sites: &Sites<'_>,
    ctx: &Context,
    ok: bool,
) -> Headline {
    let targets = |pred: &dyn Fn(&TargetResult) -> bool| -> Vec<TargetRef> {
        results
            .iter()
            .filter(|r| pred(r))
            .map(|r| sites.target(r))
            .collect()
    };
    if results.is_empty() {
        return Headline::NothingChecked;
    }
    if ok {
        return Headline::Ready {
            sites: sites.refs(),
            ports: once_each(results.iter().map(|r| r.port)),
            expiring: results
                .iter()
                .filter_map(|r| chain_days(r).map(|(d, _)| (d, r)))
                .min_by_key(|(d, _)| *d)
                .filter(|(d, _)| *d <= ctx.expiry_warning_days)
                .map(|(days, r)| Expiry {
                    target: sites.target(r),
                    days_to_expiry: days,
                }),
        };
    }
    let primary_closed: Vec<&TargetResult> =
        results.iter().filter(|r| primary_stca2_closed(r)).collect();
    if let Some(first) = primary_closed.first() {
        if dns_failed(first) {
            return Headline::PrimaryUnresolved {
                target: sites.target(first),
            };
        }
        return Headline::PrimaryClosed {
            closed: primary_closed.iter().map(|r| sites.target(r)).collect(),
            router: primary_closed
                .iter()
                .all(|r| r.tcp.status != TcpStatus::Error),
            to_open: targets(&|r| r.role == Role::Primary && measured_closed(r)),
        };
    }
    let intercepted_results: Vec<&TargetResult> =
        results.iter().filter(|r| intercepted(r, ctx)).collect();
    if !intercepted_results.is_empty() {
        return Headline::Interception {
            intercepted: intercepted_results
                .iter()
                .map(|r| intercepted_by(r, sites))
                .collect(),
        };
    }
    let unresolved: Vec<String> = once_each(
        results
            .iter()
            .filter(|r| dns_failed(r))
            .map(|r| r.address.clone()),
    );
    if !unresolved.is_empty() {
        return Headline::Unresolved {
            addresses: unresolved,
        };
    }
    let blocked = targets(&measured_closed);
    if !blocked.is_empty() {
        return Headline::Blocked {
            blocked,
            tls_failing: targets(&|r| tcp_open(r) && !answers(r) && !tls_not_attempted(r)),
        };
    }
    let unmeasured = targets(&not_measured);
    if !unmeasured.is_empty() {
        return Headline::NotMeasured {
            targets: unmeasured,
        };
    }
    let not_checked = targets(&tls_not_attempted);
    if !not_checked.is_empty() {
        return Headline::TlsNotChecked {
            targets: not_checked,
        };
    }
    let old = targets(&|r| family(r) == Some(CaFamily::Stca));
    if !old.is_empty() {
        return Headline::OldCa { targets: old };
    }
    let failing = targets(&|r| !answers(r));
    if !failing.is_empty() {
        return Headline::TlsFailing { targets: failing };
    }
    let expired = targets(&|r| chain_days(r).is_some_and(|(d, _)| d < 0));
    if !expired.is_empty() {
        return Headline::Expired { targets: expired };
    }
    if !ctx.anchors_available {
        return Headline::AnchorsMissing;
    }
    Headline::NotStca2 {
        targets: targets(&|r| !ready(r)),
    }
}

/// The items in their first order, each once: the facts say "once each", so
/// no renderer has to de-duplicate.
fn once_each<T: PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::verdict::test_support::*;
    use stca2_report::{Headline, TargetResult, TlsStatus};

    #[test]
    fn the_facts_list_each_port_and_address_once() {
        let s = judge_default(&set(O::Stca2, O::ClientAuth, O::Stca2, O::ClientAuth));
        match s.headline_params {
            Some(Headline::Ready { ports, .. }) => assert_eq!(ports, vec![1146, 7212]),
            other => panic!("{other:?}"),
        }
        let s = judge_default(&set(O::Stca2, O::Stca2, O::DnsFail, O::DnsFail));
        match s.headline_params {
            Some(Headline::Unresolved { addresses }) => {
                assert_eq!(addresses, vec!["127.0.38.173".to_string()])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn headlines() {
        let cases: Vec<(&str, Vec<TargetResult>, &str)> = vec![
            (
                "healthy",
                set(O::Stca2, O::ClientAuth, O::Stca2, O::ClientAuth),
                "Ready for STCA2: both sites answer on 1146 and 7212 with an STCA2 certificate.",
            ),
            (
                "primary blocked",
                set(TIMEOUT, TIMEOUT, O::Stca2, O::Stca2),
                "Port STCA2 non ouvert: the router blocks 127.0.38.45:1146 (site 1, toulouse). Open outbound TCP to 127.0.38.45:1146 and 127.0.38.45:7212 on the merchant's router.",
            ),
            (
                "secondary blocked",
                set(O::Stca2, O::Stca2, TIMEOUT, O::Stca2),
                "Not ready: the router blocks 127.0.38.173:1146. Open outbound TCP to it on the merchant's router.",
            ),
            (
                "secondary blocked and silent",
                set(O::Stca2, O::ClientAuth, O::Tls(TlsStatus::Timeout), TIMEOUT),
                "Not ready: the router blocks 127.0.38.173:7212. Open outbound TCP to it on the merchant's router. TCP opens but TLS does not complete on 127.0.38.173:1146 (see the findings).",
            ),
            (
                "old CA",
                set(O::Stca, O::Stca, O::Stca2, O::Stca2),
                "Not ready for STCA2: 127.0.38.45:1146 and 127.0.38.45:7212 still present the old STCA chain.",
            ),
        ];
        for (name, results, want) in cases {
            assert_eq!(judge_default(&results).headline, want, "{name}");
        }
        let s = judge_default(&set(O::Unknown, O::Stca2, O::Stca2, O::Stca2));
        assert!(
            s.headline.starts_with("Suspected TLS interception"),
            "{}",
            s.headline
        );
        assert!(s.headline.contains("CN=Interceptor Root"));
        let s = judge_default(&set(O::Days(9), O::Stca2, O::Stca2, O::Stca2));
        assert!(s.headline.starts_with("Ready for STCA2"));
        assert!(s.headline.contains("expires in 9 days"), "{}", s.headline);
        let s = judge_default(&set(O::Tls(TlsStatus::Reset), O::Stca2, O::Stca2, O::Stca2));
        assert!(
            s.headline
                .contains("TLS does not complete on 127.0.38.45:1146"),
            "{}",
            s.headline
        );
    }
}
