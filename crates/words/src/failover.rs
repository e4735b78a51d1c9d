//! The failover message: one function per case.

use stca2_report::{Broken, FailoverReason, FailoverTarget, SiteRef, TargetRef};

use crate::headline::{every_site, interceptor_issuer, site_label};
use crate::{capitalise, list, list_once, plural};

pub(crate) fn render(f: &FailoverReason) -> Option<String> {
    use FailoverReason as F;
    Some(match f {
        F::NoSecondary => no_secondary(),
        F::NoPrimary => no_primary(),
        F::Unmeasured { sites } => unmeasured(sites),
        F::AllAnswer { sites, configure } => all_answer(sites, configure),
        F::PrimaryBroken {
            primaries,
            secondaries,
            broken,
            configure,
        } => primary_broken(primaries, secondaries, broken, configure),
        F::SecondaryBlocked {
            primaries,
            secondaries,
            closed,
            configure,
        } => secondary_blocked(primaries, secondaries, closed, configure),
        F::PrimaryBlocked {
            primaries,
            secondaries,
            closed,
            configure,
        } => primary_blocked(primaries, secondaries, closed, configure),
        F::PrimaryBlockedSecondaryBroken {
            primaries,
            secondaries,
            closed,
            broken,
        } => primary_blocked_secondary_broken(primaries, secondaries, closed, broken),
        F::AllBlocked {
            sites,
            closed,
            configure,
        } => all_blocked(sites, closed, configure),
        F::SecondaryBroken {
            primaries,
            secondaries,
            broken,
        } => secondary_broken(primaries, secondaries, broken),
        F::PrimaryBrokenSecondaryBlocked {
            primaries,
            secondaries,
            broken,
            closed,
        } => primary_broken_secondary_blocked(primaries, secondaries, broken, closed),
        F::AllBroken {
            sites,
            broken,
            interception,
        } => all_broken(sites, broken, *interception),
        F::Unknown => return None,
    })
}

/// "site 1 (toulouse) and site 3 (lyon)".
pub fn labels(sites: &[SiteRef]) -> String {
    list(&sites.iter().map(site_label).collect::<Vec<_>>())
}

/// The endpoints of `targets`, as a list.
fn eps(targets: &[TargetRef]) -> String {
    list(&targets.iter().map(TargetRef::endpoint).collect::<Vec<_>>())
}

/// "configure site 2 (bordeaux, 127.0.38.173 port 1146) as the terminal's failover gateway".
pub fn configure(targets: &[FailoverTarget]) -> String {
    let sites: Vec<String> = targets
        .iter()
        .map(|t| {
            let ports: Vec<String> = t.ports.iter().map(u16::to_string).collect();
            format!(
                "site {} ({}, {} {} {})",
                t.site.number,
                t.site.name,
                t.site.address,
                plural(ports.len(), "port", "ports"),
                list(&ports)
            )
        })
        .collect();
    format!(
        "configure {} as the terminal's failover gateway",
        list(&sites)
    )
}

/// Why sites are broken, in words: interception first (with the issuers),
/// then the TLS failures with their class.
pub fn why_broken(b: &Broken) -> String {
    let mut parts = Vec::new();
    if !b.intercepted.is_empty() {
        parts.push(format!(
            "a middlebox on the merchant's network intercepts TLS to {} (certificate issued by {})",
            list(
                &b.intercepted
                    .iter()
                    .map(|i| i.target.endpoint())
                    .collect::<Vec<_>>()
            ),
            list_once(
                b.intercepted
                    .iter()
                    .map(|i| interceptor_issuer(i).unwrap_or_else(|| "an unknown issuer".into()))
            )
        ));
    }
    if !b.failing.is_empty() {
        let failing: Vec<String> = b
            .failing
            .iter()
            .map(|f| {
                let class = f.tls.map(|t| t.as_str()).unwrap_or("no TLS result");
                format!("{} ({class})", f.target.endpoint())
            })
            .collect();
        parts.push(format!(
            "the TLS handshake does not complete on {}",
            list(&failing)
        ));
    }
    parts.join("; ")
}

/// No secondary site in the set.
pub fn no_secondary() -> String {
    "The target set has no secondary site: there is no failover gateway to configure.".into()
}

/// No primary site in the set.
pub fn no_primary() -> String {
    "The target set has no primary site: failover cannot be judged.".into()
}

/// A deciding port was not measured.
pub fn unmeasured(sites: &[SiteRef]) -> String {
    format!(
        "Failover cannot be judged yet: {} {} not measured (see the not_measured findings). Fix that on the probe side and check again.",
        labels(sites),
        plural(sites.len(), "was", "were")
    )
}

/// Every site answers.
pub fn all_answer(sites: &[SiteRef], to: &[FailoverTarget]) -> String {
    format!(
        "{}: {}.",
        capitalise(&format!("{} answer", every_site(sites.len()))),
        configure(to)
    )
}

/// The secondary answers, the primary is broken.
pub fn primary_broken(
    primaries: &[SiteRef],
    secondaries: &[SiteRef],
    broken: &Broken,
    to: &[FailoverTarget],
) -> String {
    let pl = labels(primaries);
    format!(
        "{} answers, but on {pl} {}: {}, and fix {pl} as the findings say.",
        capitalise(&labels(secondaries)),
        why_broken(broken),
        configure(to)
    )
}

/// The primary answers, the router blocks the secondary.
pub fn secondary_blocked(
    primaries: &[SiteRef],
    secondaries: &[SiteRef],
    closed: &[TargetRef],
    to: &[FailoverTarget],
) -> String {
    format!(
        "{} answers, but the merchant's router blocks {}: open outbound TCP to {} on the router, then {}.",
        capitalise(&labels(primaries)),
        labels(secondaries),
        eps(closed),
        configure(to)
    )
}

/// The router blocks the primary, the secondary answers.
pub fn primary_blocked(
    primaries: &[SiteRef],
    secondaries: &[SiteRef],
    closed: &[TargetRef],
    to: &[FailoverTarget],
) -> String {
    format!(
        "The merchant's router blocks {}: open outbound TCP to {} on the router. Meanwhile {} answers: {}.",
        labels(primaries),
        eps(closed),
        labels(secondaries),
        configure(to)
    )
}

/// The router blocks the primary, the secondary is broken.
pub fn primary_blocked_secondary_broken(
    primaries: &[SiteRef],
    secondaries: &[SiteRef],
    closed: &[TargetRef],
    broken: &Broken,
) -> String {
    format!(
        "The merchant's router blocks {}: open outbound TCP to {} on the router. {} is no failover yet: {}.",
        labels(primaries),
        eps(closed),
        capitalise(&labels(secondaries)),
        why_broken(broken)
    )
}

/// The router blocks every site.
pub fn all_blocked(sites: &[SiteRef], closed: &[TargetRef], to: &[FailoverTarget]) -> String {
    format!(
        "The merchant's router blocks {}: open outbound TCP to {} on the router, then {}.",
        every_site(sites.len()),
        eps(closed),
        configure(to)
    )
}

/// The primary answers, the secondary is broken.
pub fn secondary_broken(primaries: &[SiteRef], secondaries: &[SiteRef], broken: &Broken) -> String {
    format!(
        "{} answers. Do not configure {} as failover yet: {}. Opening ports will not help; fix that first.",
        capitalise(&labels(primaries)),
        labels(secondaries),
        why_broken(broken)
    )
}

/// The primary is broken, the router blocks the secondary.
pub fn primary_broken_secondary_blocked(
    primaries: &[SiteRef],
    secondaries: &[SiteRef],
    broken: &Broken,
    closed: &[TargetRef],
) -> String {
    format!(
        "Failover does not help yet: on {}, {}, which is not a blocked port. Fix that first; the router also blocks {} at {}.",
        labels(primaries),
        why_broken(broken),
        labels(secondaries),
        eps(closed)
    )
}

/// Every site accepts TCP, none works.
pub fn all_broken(sites: &[SiteRef], broken: &Broken, interception: bool) -> String {
    let all = every_site(sites.len());
    let why = why_broken(broken);
    if interception {
        format!(
            "Failover does not help: {all} accept TCP but {why}. Fix the interception (exempt {} from TLS inspection) rather than opening ports or configuring site 2.",
            list(&sites.iter().map(|s| s.address.as_str()).collect::<Vec<_>>())
        )
    } else {
        format!(
            "Failover does not help: {all} accept TCP but {why}. This is not a blocked port; see the findings."
        )
    }
}
