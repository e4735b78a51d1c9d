//! The headline: one function per case.

use stca2_report::{Expiry, Headline, Intercepted, SiteRef, TargetRef};

use crate::{list, list_once, once, plural};

pub(crate) fn render(h: &Headline) -> Option<String> {
    Some(match h {
        Headline::NothingChecked => nothing_checked(),
        Headline::Ready {
            sites,
            ports,
            expiring,
        } => ready(sites, ports, expiring.as_ref()),
        Headline::PrimaryUnresolved { target } => primary_unresolved(target),
        Headline::PrimaryClosed {
            closed,
            router,
            to_open,
        } => primary_closed(closed, *router, to_open),
        Headline::Interception { intercepted } => interception(intercepted),
        Headline::Unresolved { addresses } => unresolved(addresses),
        Headline::Blocked {
            blocked: targets,
            tls_failing,
        } => blocked(targets, tls_failing),
        Headline::NotMeasured { targets } => not_measured(targets),
        Headline::OldCa { targets } => old_ca(targets),
        Headline::TlsFailing { targets } => self::tls_failing(targets),
        Headline::Expired { targets } => expired(targets),
        Headline::AnchorsMissing => anchors_missing(),
        Headline::NotStca2 { targets } => not_stca2(targets),
        Headline::Unknown => return None,
    })
}

/// The endpoints of `targets`, once each.
pub fn endpoints(targets: &[TargetRef]) -> Vec<String> {
    once(targets.iter().map(TargetRef::endpoint))
}

/// "site 2 (bordeaux)".
pub fn site_label(s: &SiteRef) -> String {
    format!("site {} ({})", s.number, s.name)
}

/// "site 1 (toulouse)" for one site, "both sites", "all 3 sites".
pub fn all_sites(sites: &[SiteRef]) -> String {
    match sites {
        [one] => site_label(one),
        _ => every_site(sites.len()),
    }
}

/// "both sites", "all 3 sites".
pub fn every_site(n: usize) -> String {
    if n == 2 {
        "both sites".to_string()
    } else {
        format!("all {n} sites")
    }
}

/// Who issued an intercepted chain, in words: the top issuer, marked when
/// forged; `None` when the chain had no certificate.
pub fn interceptor_issuer(i: &Intercepted) -> Option<String> {
    let issuer = i.issuer.as_deref()?;
    Some(match i.forged {
        Some(f) => format!("{issuer}, a forged {f} chain whose signatures do not verify"),
        None => issuer.to_string(),
    })
}

const DNS_ADVICE: &str = "Check the shop's DNS settings, or use the gateway's IP address.";

/// The target set had no site or no port.
pub fn nothing_checked() -> String {
    "Nothing was checked: the target set has no site or no port.".to_string()
}

/// Every site x port is ready.
pub fn ready(sites: &[SiteRef], ports: &[u16], expiring: Option<&Expiry>) -> String {
    let mut h = format!(
        "Ready for STCA2: {} {} on {} with an STCA2 certificate.",
        all_sites(sites),
        plural(sites.len(), "answers", "answer"),
        list_once(ports.iter().map(u16::to_string))
    );
    if let Some(e) = expiring {
        h.push_str(&format!(
            " Its certificate on {} expires in {} days: tell the gateway operator.",
            e.target.endpoint(),
            e.days_to_expiry
        ));
    }
    h
}

/// "Port STCA2 non ouvert" because the primary's name did not resolve.
pub fn primary_unresolved(t: &TargetRef) -> String {
    format!(
        "Port STCA2 non ouvert: {} (site {}, {}) could not be resolved. {DNS_ADVICE}",
        t.address, t.site_number, t.site
    )
}

/// "Port STCA2 non ouvert": the primary's STCA2 port is closed.
pub fn primary_closed(closed: &[TargetRef], router: bool, to_open: &[TargetRef]) -> String {
    let label = closed
        .first()
        .map(|t| format!("site {}, {}", t.site_number, t.site))
        .unwrap_or_default();
    let eps = list(&closed.iter().map(TargetRef::endpoint).collect::<Vec<_>>());
    let what = if router {
        format!("the router blocks {eps} ({label})")
    } else {
        format!("{eps} ({label}) could not be reached")
    };
    format!(
        "Port STCA2 non ouvert: {what}. Open outbound TCP to {} on the merchant's router.",
        list(&endpoints(to_open))
    )
}

/// A middlebox answers with its own certificate.
pub fn interception(intercepted: &[Intercepted]) -> String {
    let eps = list_once(intercepted.iter().map(|i| i.target.endpoint()));
    let issuers = once(intercepted.iter().filter_map(interceptor_issuer));
    format!(
        "Suspected TLS interception: a middlebox on the merchant's network answers for {eps} with a certificate issued by {}. Ask the merchant or the ISP to exempt the gateway addresses from TLS inspection.",
        if issuers.is_empty() {
            "an unknown issuer".to_string()
        } else {
            list(&issuers)
        }
    )
}

/// Hostnames that did not resolve.
pub fn unresolved(addresses: &[String]) -> String {
    format!(
        "Not ready: {} could not be resolved. {DNS_ADVICE}",
        list_once(addresses.iter().cloned())
    )
}

/// The router blocks ports (and maybe TLS fails elsewhere).
pub fn blocked(blocked: &[TargetRef], tls_failing: &[TargetRef]) -> String {
    let blocked = endpoints(blocked);
    let mut h = format!(
        "Not ready: the router blocks {}. Open outbound TCP to {} on the merchant's router.",
        list(&blocked),
        plural(blocked.len(), "it", "them")
    );
    // Opening ports will not fix targets that already open but fail TLS:
    // say so here, not only in the findings.
    if !tls_failing.is_empty() {
        h.push_str(&format!(
            " TCP opens but TLS does not complete on {} (see the findings).",
            list(&endpoints(tls_failing))
        ));
    }
    h
}

/// Targets the probe could not measure.
pub fn not_measured(targets: &[TargetRef]) -> String {
    let eps = endpoints(targets);
    format!(
        "Not measured: {} could not be tested from this probe, so nothing is known yet about the merchant's router for {}. Fix the probe's setup as the findings say, then check again.",
        list(&eps),
        plural(eps.len(), "it", "them")
    )
}

/// The old STCA chain is still presented.
pub fn old_ca(targets: &[TargetRef]) -> String {
    let eps = endpoints(targets);
    format!(
        "Not ready for STCA2: {} still {} the old STCA chain.",
        list(&eps),
        plural(eps.len(), "presents", "present")
    )
}

/// TCP opens, TLS does not complete.
pub fn tls_failing(targets: &[TargetRef]) -> String {
    format!(
        "Not ready: TCP opens but TLS does not complete on {} (see the findings).",
        list(&endpoints(targets))
    )
}

/// A presented certificate has expired.
pub fn expired(targets: &[TargetRef]) -> String {
    format!(
        "Not ready: the certificate presented on {} has expired; tell the gateway operator.",
        list(&endpoints(targets))
    )
}

/// Every site answers, but no family can be told without anchors.
pub fn anchors_missing() -> String {
    "Every site answers TLS, but the CA family cannot be told: the target set's STCA2 and STCA anchor files are missing. Add them and check again.".to_string()
}

/// Anything else not ready.
pub fn not_stca2(targets: &[TargetRef]) -> String {
    let eps = endpoints(targets);
    format!(
        "Not ready for STCA2: {} {} not answer with an STCA2 certificate (see the findings).",
        list(&eps),
        plural(eps.len(), "does", "do")
    )
}
