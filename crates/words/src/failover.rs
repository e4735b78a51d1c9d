//! The failover message: one message per case (`failover-*` in `verdict.ftl`).

use stca2_report::{Broken, FailoverReason, FailoverTarget, SiteRef, TargetRef};

use crate::headline::interceptor_issuer;
use crate::i18n::FluentArgs;
use crate::{Words, args, capitalise};

pub(crate) fn render(w: &Words, f: &FailoverReason) -> Option<String> {
    use FailoverReason as F;
    let text = |id: &str, a: FluentArgs<'_>| w.text(id, Some(&a));
    let labels = |sites: &[SiteRef]| labels(w, sites);
    // A list of site labels at the start of a sentence.
    let first = |sites: &[SiteRef]| capitalise(&labels(sites));
    let eps =
        |targets: &[TargetRef]| w.list(&targets.iter().map(|t| w.endpoint(t)).collect::<Vec<_>>());
    Some(match f {
        F::NoSecondary => w.text("failover-no-secondary", None),
        F::NoPrimary => w.text("failover-no-primary", None),
        F::Unmeasured { sites } => text(
            "failover-unmeasured",
            args!("sites" => labels(sites), "count" => sites.len()),
        ),
        F::TlsNotChecked { sites } => text(
            "failover-tls-not-checked",
            args!("sites" => labels(sites), "count" => sites.len()),
        ),
        F::AllAnswer { sites, configure } => text(
            "failover-all-answer",
            args!("count" => sites.len(), "configure" => self::configure(w, configure)),
        ),
        F::PrimaryBroken {
            primaries,
            secondaries,
            broken,
            configure,
        } => text(
            "failover-primary-broken",
            args!(
                "secondaries" => first(secondaries),
                "primaries" => labels(primaries),
                "why" => why_broken(w, broken),
                "configure" => self::configure(w, configure),
            ),
        ),
        F::SecondaryBlocked {
            primaries,
            secondaries,
            closed,
            configure,
        } => text(
            "failover-secondary-blocked",
            args!(
                "primaries" => first(primaries),
                "secondaries" => labels(secondaries),
                "closed" => eps(closed),
                "configure" => self::configure(w, configure),
            ),
        ),
        F::PrimaryBlocked {
            primaries,
            secondaries,
            closed,
            configure,
        } => text(
            "failover-primary-blocked",
            args!(
                "primaries" => labels(primaries),
                "closed" => eps(closed),
                "secondaries" => labels(secondaries),
                "configure" => self::configure(w, configure),
            ),
        ),
        F::PrimaryBlockedSecondaryBroken {
            primaries,
            secondaries,
            closed,
            broken,
        } => text(
            "failover-primary-blocked-secondary-broken",
            args!(
                "primaries" => labels(primaries),
                "closed" => eps(closed),
                "secondaries" => first(secondaries),
                "why" => why_broken(w, broken),
            ),
        ),
        F::AllBlocked {
            sites,
            closed,
            configure,
        } => text(
            "failover-all-blocked",
            args!(
                "sites" => w.every_site(sites.len()),
                "closed" => eps(closed),
                "configure" => self::configure(w, configure),
            ),
        ),
        F::SecondaryBroken {
            primaries,
            secondaries,
            broken,
        } => text(
            "failover-secondary-broken",
            args!(
                "primaries" => first(primaries),
                "secondaries" => labels(secondaries),
                "why" => why_broken(w, broken),
            ),
        ),
        F::PrimaryBrokenSecondaryBlocked {
            primaries,
            secondaries,
            broken,
            closed,
        } => text(
            "failover-primary-broken-secondary-blocked",
            args!(
                "primaries" => labels(primaries),
                "why" => why_broken(w, broken),
                "secondaries" => labels(secondaries),
                "closed" => eps(closed),
            ),
        ),
        F::AllBroken {
            sites,
            broken,
            interception,
        } => {
            let mut a = args!(
                "sites" => w.every_site(sites.len()),
                "why" => why_broken(w, broken),
            );
            if *interception {
                let addresses: Vec<&str> = sites.iter().map(|s| s.address.as_str()).collect();
                a.set("addresses", w.list(&addresses));
                text("failover-all-broken-interception", a)
            } else {
                text("failover-all-broken", a)
            }
        }
        F::Unknown => return None,
    })
}

/// "site 1 (toulouse) and site 3 (lyon)".
fn labels(w: &Words, sites: &[SiteRef]) -> String {
    w.list(&sites.iter().map(|s| w.site_label(s)).collect::<Vec<_>>())
}

/// "configure site 2 (bordeaux, 127.0.38.173 port 1146) as the terminal's failover gateway".
fn configure(w: &Words, targets: &[FailoverTarget]) -> String {
    let sites: Vec<String> = targets
        .iter()
        .map(|t| {
            let ports: Vec<String> = t.ports.iter().map(u16::to_string).collect();
            w.text(
                "failover-configure-site",
                Some(&args!(
                    "number" => t.site.number,
                    "name" => t.site.name.as_str(),
                    "address" => t.site.address.as_str(),
                    "count" => ports.len(),
                    "ports" => w.list(&ports),
                )),
            )
        })
        .collect();
    w.text(
        "failover-configure",
        Some(&args!("sites" => w.list(&sites))),
    )
}

/// Why sites are broken, in words: interception first (with the issuers),
/// then the TLS failures with their class.
fn why_broken(w: &Words, b: &Broken) -> String {
    let intercepted = (!b.intercepted.is_empty()).then(|| {
        let endpoints: Vec<String> = b
            .intercepted
            .iter()
            .map(|i| w.endpoint(&i.target))
            .collect();
        let issuers =
            w.list_once(b.intercepted.iter().map(|i| {
                interceptor_issuer(w, i).unwrap_or_else(|| w.text("unknown-issuer", None))
            }));
        w.text(
            "failover-why-intercepted",
            Some(&args!("endpoints" => w.list(&endpoints), "issuers" => issuers)),
        )
    });
    let failing = (!b.failing.is_empty()).then(|| {
        let failing: Vec<String> = b
            .failing
            .iter()
            .map(|f| {
                let class = w.text(
                    "tls-class",
                    Some(&args!("class" => f.tls.map_or("none", |t| t.as_str()))),
                );
                w.text(
                    "failover-failing-target",
                    Some(&args!("endpoint" => w.endpoint(&f.target), "class" => class)),
                )
            })
            .collect();
        w.text(
            "failover-why-failing",
            Some(&args!("targets" => w.list(&failing))),
        )
    });
    match (intercepted, failing) {
        (Some(i), Some(f)) => w.text(
            "failover-why-both",
            Some(&args!("intercepted" => i, "failing" => f)),
        ),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => String::new(),
    }
}
