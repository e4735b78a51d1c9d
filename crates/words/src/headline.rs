//! The headline: one message per case (`headline-*` in `verdict.ftl`).

use stca2_report::{Expiry, Headline, Intercepted, SiteRef, TargetRef};

use crate::{Words, args};

pub(crate) fn render(w: &Words, h: &Headline) -> Option<String> {
    Some(match h {
        Headline::NothingChecked => w.text("headline-nothing-checked", None),
        Headline::Ready {
            sites,
            ports,
            expiring,
        } => ready(w, sites, ports, expiring.as_ref()),
        Headline::PrimaryUnresolved { target: t } => w.text(
            "headline-primary-unresolved",
            Some(&args!(
                "address" => t.address.as_str(),
                "number" => t.site_number,
                "site" => t.site.as_str(),
            )),
        ),
        Headline::PrimaryClosed {
            closed,
            router,
            to_open,
        } => primary_closed(w, closed, *router, to_open),
        Headline::Interception { intercepted } => interception(w, intercepted),
        Headline::Unresolved { addresses } => w.text(
            "headline-unresolved",
            Some(&args!("addresses" => w.list_once(addresses.iter().cloned()))),
        ),
        Headline::Blocked {
            blocked,
            tls_failing,
        } => {
            let eps = w.endpoints(blocked);
            let mut a = args!("blocked" => w.list(&eps), "count" => eps.len());
            if tls_failing.is_empty() {
                w.text("headline-blocked", Some(&a))
            } else {
                // Opening ports will not fix targets that already open but
                // fail TLS: say so here, not only in the findings.
                a.set("failing", w.list(&w.endpoints(tls_failing)));
                w.text("headline-blocked-tls-failing", Some(&a))
            }
        }
        Headline::NotMeasured { targets } => counted(w, "headline-not-measured", targets),
        Headline::OldCa { targets } => counted(w, "headline-old-ca", targets),
        Headline::TlsFailing { targets } => counted(w, "headline-tls-failing", targets),
        Headline::Expired { targets } => counted(w, "headline-expired", targets),
        Headline::AnchorsMissing => w.text("headline-anchors-missing", None),
        Headline::NotStca2 { targets } => counted(w, "headline-not-stca2", targets),
        Headline::TlsNotChecked { targets } => counted(w, "headline-tls-not-checked", targets),
        Headline::Unknown => return None,
    })
}

/// A message about `targets` (their endpoints once each, as `$targets`,
/// and how many, as `$count`).
fn counted(w: &Words, id: &str, targets: &[TargetRef]) -> String {
    let eps = w.endpoints(targets);
    w.text(
        id,
        Some(&args!("targets" => w.list(&eps), "count" => eps.len())),
    )
}

/// "site 1 (toulouse)" for one site, "both sites", "all 3 sites".
pub(crate) fn all_sites(w: &Words, sites: &[SiteRef]) -> String {
    match sites {
        [one] => w.site_label(one),
        _ => w.every_site(sites.len()),
    }
}

/// Who issued an intercepted chain, in words: the top issuer, marked when
/// forged; `None` when the chain had no certificate.
pub(crate) fn interceptor_issuer(w: &Words, i: &Intercepted) -> Option<String> {
    let issuer = i.issuer.as_deref()?;
    Some(match i.forged {
        Some(f) => w.text(
            "issuer-forged",
            Some(&args!("issuer" => issuer, "family" => f.to_string())),
        ),
        None => issuer.to_string(),
    })
}

fn ready(w: &Words, sites: &[SiteRef], ports: &[u16], expiring: Option<&Expiry>) -> String {
    let ports = crate::once(ports.iter().map(u16::to_string));
    let mut a = args!(
        "sites" => all_sites(w, sites),
        "count" => sites.len(),
        "portcount" => ports.len(),
        "ports" => w.list(&ports),
    );
    match expiring {
        None => w.text("headline-ready", Some(&a)),
        Some(e) => {
            a.set("endpoint", w.endpoint(&e.target));
            a.set("days", e.days_to_expiry);
            w.text("headline-ready-expiring", Some(&a))
        }
    }
}

fn primary_closed(w: &Words, closed: &[TargetRef], router: bool, to_open: &[TargetRef]) -> String {
    let label = closed
        .first()
        .map(|t| {
            w.text(
                "site-comma",
                Some(&args!("number" => t.site_number, "name" => t.site.as_str())),
            )
        })
        .unwrap_or_default();
    let closed: Vec<String> = closed.iter().map(|t| w.endpoint(t)).collect();
    w.text(
        "headline-primary-closed",
        Some(&args!(
            "router" => if router { "yes" } else { "no" },
            "closed" => w.list(&closed),
            "label" => label,
            "open" => w.list(&w.endpoints(to_open)),
        )),
    )
}

fn interception(w: &Words, intercepted: &[Intercepted]) -> String {
    let eps = w.list_once(intercepted.iter().map(|i| w.endpoint(&i.target)));
    let issuers = crate::once(intercepted.iter().filter_map(|i| interceptor_issuer(w, i)));
    let issuers = if issuers.is_empty() {
        w.text("unknown-issuer", None)
    } else {
        w.list(&issuers)
    };
    w.text(
        "headline-interception",
        Some(&args!("endpoints" => eps, "issuers" => issuers)),
    )
}
