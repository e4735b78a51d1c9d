//! What to do about site 2: the failover recommendation and why, as data.

use stca2_report::{
    Broken, Failover, FailoverReason, Recommendation, Role, TargetRef, TargetResult, TlsFailing,
};

use super::site::{SiteState, SiteView, Sites, refs, role_state};
use super::{Context, answers, intercepted, intercepted_by};

/// The recommendation, its reason as data, and the reason in English.
pub(super) fn failover(sites: &Sites<'_>, ctx: &Context) -> Failover {
    let (recommendation, reason) = decide(sites, ctx);
    Failover {
        recommendation,
        message: stca2_words::failover(&reason).unwrap_or_default(),
        params: Some(reason),
    }
}

fn decide(sites: &Sites<'_>, ctx: &Context) -> (Recommendation, FailoverReason) {
    use FailoverReason as F;
    use Recommendation as R;
    use SiteState::{Blocked, Broken, TlsNotChecked, Unmeasured, Usable};
    let primaries = sites.with_role(Role::Primary);
    let secondaries = sites.with_role(Role::Secondary);
    if secondaries.is_empty() {
        return (R::None, F::NoSecondary);
    }
    if primaries.is_empty() {
        return (R::None, F::NoPrimary);
    }
    let all: Vec<&SiteView<'_>> = sites.iter().collect();
    let configure = || secondaries.iter().map(|s| s.as_failover()).collect();
    let (p, s) = (role_state(&primaries, ctx), role_state(&secondaries, ctx));
    let (pr, sr) = (refs(&primaries), refs(&secondaries));
    match (p, s) {
        (Unmeasured, _) | (_, Unmeasured) => {
            let unmeasured: Vec<&SiteView<'_>> = all
                .iter()
                .copied()
                .filter(|v| v.state(ctx) == Unmeasured)
                .collect();
            (
                R::None,
                F::Unmeasured {
                    sites: refs(&unmeasured),
                },
            )
        }
        // A TCP-only check cannot tell usable from broken: the last full
        // check's recommendation stands (the back office keeps it).
        (TlsNotChecked, _) | (_, TlsNotChecked) => (
            R::None,
            F::TlsNotChecked {
                sites: refs(
                    &all.iter()
                        .copied()
                        .filter(|v| v.state(ctx) == TlsNotChecked)
                        .collect::<Vec<_>>(),
                ),
            },
        ),
        (Usable, Usable) => (
            R::ConfigureSecondary,
            F::AllAnswer {
                sites: sites.refs(),
                configure: configure(),
            },
        ),
        (Broken, Usable) => (
            R::ConfigureSecondary,
            F::PrimaryBroken {
                primaries: pr,
                secondaries: sr,
                broken: broken(&primaries, sites, ctx),
                configure: configure(),
            },
        ),
        (Usable, Blocked) => (
            R::OpenSecondary,
            F::SecondaryBlocked {
                primaries: pr,
                secondaries: sr,
                closed: closed(&secondaries, sites),
                configure: configure(),
            },
        ),
        (Blocked, Usable) => (
            R::OpenPrimary,
            F::PrimaryBlocked {
                primaries: pr,
                secondaries: sr,
                closed: closed(&primaries, sites),
                configure: configure(),
            },
        ),
        (Blocked, Broken) => (
            R::OpenPrimary,
            F::PrimaryBlockedSecondaryBroken {
                primaries: pr,
                secondaries: sr,
                closed: closed(&primaries, sites),
                broken: broken(&secondaries, sites, ctx),
            },
        ),
        (Blocked, Blocked) => {
            let blocked: Vec<&SiteView<'_>> = all
                .iter()
                .copied()
                .filter(|s| s.state(ctx) == Blocked)
                .collect();
            (
                R::OpenBoth,
                F::AllBlocked {
                    sites: sites.refs(),
                    closed: closed(&blocked, sites),
                    configure: configure(),
                },
            )
        }
        (Usable, Broken) => (
            R::None,
            F::SecondaryBroken {
                primaries: pr,
                secondaries: sr,
                broken: broken(&secondaries, sites, ctx),
            },
        ),
        (Broken, Blocked) => (
            R::None,
            F::PrimaryBrokenSecondaryBlocked {
                primaries: pr,
                secondaries: sr,
                broken: broken(&primaries, sites, ctx),
                closed: closed(&secondaries, sites),
            },
        ),
        (Broken, Broken) => (
            R::None,
            F::AllBroken {
                sites: sites.refs(),
                broken: broken(&all, sites, ctx),
                interception: all
                    .iter()
                    .flat_map(|s| s.results.iter())
                    .any(|r| intercepted(r, ctx)),
            },
        ),
    }
}

/// Every measured-closed target of `of`.
fn closed(of: &[&SiteView<'_>], sites: &Sites<'_>) -> Vec<TargetRef> {
    of.iter()
        .flat_map(|s| s.closed())
        .map(|r| sites.target(r))
        .collect()
}

/// Why the broken sites among `of` are broken: their deciding targets that
/// are intercepted, then those whose handshake does not complete.
fn broken(of: &[&SiteView<'_>], sites: &Sites<'_>, ctx: &Context) -> Broken {
    let key: Vec<&TargetResult> = of
        .iter()
        .filter(|s| s.state(ctx) == SiteState::Broken)
        .flat_map(|s| s.key())
        .collect();
    Broken {
        intercepted: key
            .iter()
            .filter(|r| intercepted(r, ctx))
            .map(|r| intercepted_by(r, sites))
            .collect(),
        failing: key
            .iter()
            .filter(|r| !answers(r))
            .map(|r| TlsFailing {
                target: sites.target(r),
                tls: r.tls.as_ref().map(|t| t.status),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use crate::verdict::test_support::*;
    use stca2_report::{CaFamily, Recommendation, TargetResult, TlsStatus};

    #[test]
    fn every_recommendation() {
        use Recommendation as R;
        let cases: Vec<(&str, Vec<TargetResult>, R, &[&str])> = vec![
            (
                "healthy",
                set(O::Stca2, O::ClientAuth, O::Stca2, O::ClientAuth),
                R::ConfigureSecondary,
                &[
                    "Both sites answer: configure site 2 (bordeaux, 127.0.38.173 port 1146) as the terminal's failover gateway.",
                ],
            ),
            (
                "secondary blocked",
                set(O::Stca2, O::Stca2, TIMEOUT, TIMEOUT),
                R::OpenSecondary,
                &[
                    "127.0.38.173:1146 and 127.0.38.173:7212",
                    "outbound TCP",
                    "site 2 (bordeaux)",
                ],
            ),
            (
                "primary blocked",
                set(TIMEOUT, O::Stca2, O::Stca2, O::Stca2),
                R::OpenPrimary,
                &[
                    "127.0.38.45:1146",
                    "Meanwhile site 2 (bordeaux) answers",
                    "127.0.38.173 port 1146",
                ],
            ),
            (
                "both blocked",
                set(TIMEOUT, TIMEOUT, REFUSED, REFUSED),
                R::OpenBoth,
                &["127.0.38.45:1146, 127.0.38.45:7212, 127.0.38.173:1146 and 127.0.38.173:7212"],
            ),
            (
                "intercepted on both sites",
                set(O::Unknown, O::Unknown, O::Unknown, O::Unknown),
                R::None,
                &[
                    "Failover does not help",
                    "interception",
                    "127.0.38.45 and 127.0.38.173",
                ],
            ),
            (
                "TLS reset on both sites",
                set(
                    O::Tls(TlsStatus::Reset),
                    O::Stca2,
                    O::Tls(TlsStatus::Reset),
                    O::Stca2,
                ),
                R::None,
                &["Failover does not help", "reset", "not a blocked port"],
            ),
            (
                "no secondary in the set",
                primary_only(O::Stca2, O::Stca2),
                R::None,
                &["no secondary site"],
            ),
            (
                "primary TLS fails, secondary answers",
                set(O::Tls(TlsStatus::Timeout), O::Stca2, O::Stca2, O::Stca2),
                R::ConfigureSecondary,
                &["Site 2 (bordeaux) answers", "127.0.38.45:1146 (timeout)"],
            ),
            (
                "primary forged, secondary answers",
                set(O::Forged(CaFamily::Stca2), O::Stca2, O::Stca2, O::Stca2),
                R::ConfigureSecondary,
                &[
                    "intercepts TLS to 127.0.38.45:1146",
                    "a forged STCA2 chain whose signatures do not verify",
                ],
            ),
            (
                "forged on both sites",
                set(
                    O::Forged(CaFamily::Stca2),
                    O::Forged(CaFamily::Stca2),
                    O::Forged(CaFamily::Stca),
                    O::Forged(CaFamily::Stca),
                ),
                R::None,
                &["Fix the interception"],
            ),
            (
                "primary blocked, secondary intercepted",
                set(TIMEOUT, TIMEOUT, O::Unknown, O::Stca2),
                R::OpenPrimary,
                &[
                    "127.0.38.45:1146 and 127.0.38.45:7212",
                    "no failover yet",
                    "CN=Interceptor Root",
                ],
            ),
            (
                "primary answers, secondary TLS fails",
                set(O::Stca2, O::Stca2, O::Tls(TlsStatus::Eof), O::Stca2),
                R::None,
                &["Do not configure site 2 (bordeaux)", "127.0.38.173:1146"],
            ),
            (
                "primary TLS fails, secondary blocked",
                set(O::Tls(TlsStatus::Alert), O::Stca2, TIMEOUT, TIMEOUT),
                R::None,
                &[
                    "Failover does not help yet",
                    "127.0.38.173:1146 and 127.0.38.173:7212",
                ],
            ),
            (
                "old CA on both: reachable, failover still configurable",
                set(O::Stca, O::Stca, O::Stca, O::Stca),
                R::ConfigureSecondary,
                &["Both sites answer"],
            ),
            (
                "only the declaration port blocked on site 2",
                set(O::Stca2, O::Stca2, O::Stca2, TIMEOUT),
                R::ConfigureSecondary,
                &["127.0.38.173 port 1146"],
            ),
        ];
        for (name, results, want, needles) in cases {
            let f = judge_default(&results).failover;
            assert_eq!(f.recommendation, want, "{name}: {}", f.message);
            for n in needles {
                assert!(f.message.contains(n), "{name}: {:?} lacks {n:?}", f.message);
            }
        }
    }
}
