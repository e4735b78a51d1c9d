//! Per-site facts: the results grouped by site, numbered in the order sites
//! appear ("site 1" is the first, normally the primary), and where each
//! site stands for failover.

use stca2_report::{FailoverTarget, Role, Service, SiteRef, TargetRef, TargetResult};

use super::{Context, answers, intercepted, measured_closed, not_measured, tls_not_attempted};

/// Every site of one check, in order of appearance.
pub(super) struct Sites<'a>(Vec<SiteView<'a>>);

/// The results of one site.
pub(super) struct SiteView<'a> {
    pub(super) number: usize,
    pub(super) name: &'a str,
    pub(super) role: Role,
    pub(super) address: &'a str,
    pub(super) results: Vec<&'a TargetResult>,
}

/// Where a site stands for failover purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SiteState {
    /// Its STCA2 port(s) open at TCP and answer TLS from the gateway itself.
    Usable,
    /// At least one STCA2 port does not open at TCP: the router must open it.
    Blocked,
    /// At least one STCA2 port was not measured (allow-list, local error).
    Unmeasured,
    /// TCP opens, but TLS fails or is intercepted: not a port problem.
    Broken,
    /// TCP opens, TLS was not tried (a TCP-only check): usable or broken, unknown.
    TlsNotChecked,
}

impl<'a> Sites<'a> {
    /// Groups results by site name, in order of first appearance.
    pub(super) fn group(results: &'a [TargetResult]) -> Sites<'a> {
        let mut sites: Vec<SiteView<'a>> = Vec::new();
        for r in results {
            match sites.iter_mut().find(|s| s.name == r.site) {
                Some(s) => s.results.push(r),
                None => sites.push(SiteView {
                    number: sites.len() + 1,
                    name: &r.site,
                    role: r.role,
                    address: &r.address,
                    results: vec![r],
                }),
            }
        }
        Sites(sites)
    }

    pub(super) fn iter(&self) -> std::slice::Iter<'_, SiteView<'a>> {
        self.0.iter()
    }

    /// The sites with `role`.
    pub(super) fn with_role(&self, role: Role) -> Vec<&SiteView<'a>> {
        self.iter().filter(|s| s.role == role).collect()
    }

    /// The target `r` as the facts name it, with its site's number (0 when
    /// it has none).
    pub(super) fn target(&self, r: &TargetResult) -> TargetRef {
        TargetRef {
            site: r.site.clone(),
            site_number: self
                .iter()
                .find(|s| s.name == r.site)
                .map(|s| s.number)
                .unwrap_or(0),
            address: r.address.clone(),
            port: r.port,
            service: r.service,
        }
    }

    /// Every site as the facts name it.
    pub(super) fn refs(&self) -> Vec<SiteRef> {
        refs(&self.iter().collect::<Vec<_>>())
    }
}

/// `sites` as the facts name them.
pub(super) fn refs(sites: &[&SiteView<'_>]) -> Vec<SiteRef> {
    sites.iter().map(|s| s.site_ref()).collect()
}

impl SiteView<'_> {
    pub(super) fn site_ref(&self) -> SiteRef {
        SiteRef {
            number: self.number,
            name: self.name.to_string(),
            address: self.address.to_string(),
        }
    }

    /// The results that decide failover: the STCA2-service ports, or every
    /// port when the set has none.
    pub(super) fn key(&self) -> Vec<&TargetResult> {
        let stca2: Vec<&TargetResult> = self
            .results
            .iter()
            .copied()
            .filter(|r| r.service == Service::Stca2)
            .collect();
        if stca2.is_empty() {
            self.results.clone()
        } else {
            stca2
        }
    }

    pub(super) fn state(&self, ctx: &Context) -> SiteState {
        let key = self.key();
        if key.iter().any(|r| measured_closed(r)) {
            SiteState::Blocked
        } else if key.iter().any(|r| not_measured(r)) {
            SiteState::Unmeasured
        } else if key.iter().any(|r| tls_not_attempted(r)) {
            SiteState::TlsNotChecked
        } else if key.iter().all(|r| answers(r) && !intercepted(r, ctx)) {
            SiteState::Usable
        } else {
            SiteState::Broken
        }
    }

    /// Every result of this site that does not open at TCP (measured so).
    pub(super) fn closed(&self) -> impl Iterator<Item = &TargetResult> {
        self.results.iter().copied().filter(|r| measured_closed(r))
    }

    /// This site as a failover gateway: its deciding ports.
    pub(super) fn as_failover(&self) -> FailoverTarget {
        FailoverTarget {
            site: self.site_ref(),
            ports: self.key().iter().map(|r| r.port).collect(),
        }
    }
}

/// The combined state of every site with a role: blocked if any is blocked,
/// usable if all are usable, broken otherwise.
pub(super) fn role_state(sites: &[&SiteView<'_>], ctx: &Context) -> SiteState {
    let states: Vec<SiteState> = sites.iter().map(|s| s.state(ctx)).collect();
    if states.contains(&SiteState::Blocked) {
        SiteState::Blocked
    } else if states.contains(&SiteState::Unmeasured) {
        SiteState::Unmeasured
    } else if states.contains(&SiteState::TlsNotChecked) {
        SiteState::TlsNotChecked
    } else if states.iter().all(|s| *s == SiteState::Usable) {
        SiteState::Usable
    } else {
        SiteState::Broken
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn sites_are_numbered_in_order_of_appearance() {
        let results = set(O::Stca2, O::Stca2, TIMEOUT, O::Stca2);
        let sites = Sites::group(&results);
        assert_eq!(sites.iter().count(), 2);
        let t = sites.target(&results[2]);
        assert_eq!(
            (t.site.as_str(), t.site_number, t.port),
            ("bordeaux", 2, 1146)
        );
        let ctx = Context::default();
        let states: Vec<SiteState> = sites.iter().map(|s| s.state(&ctx)).collect();
        assert_eq!(states, [SiteState::Usable, SiteState::Blocked]);
        let f = sites.with_role(Role::Secondary)[0].as_failover();
        assert_eq!((f.site.number, f.ports.as_slice()), (2, &[1146][..]));
    }
}
