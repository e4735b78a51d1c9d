//! `client_auth`: the declaration port asked for a client certificate, as a
//! real gateway does; worth knowing, not a fault.

use stca2_report::{FindingFacts, Service, TargetResult, TlsStatus};

use super::Scope;
use crate::verdict::handshake;

pub(super) fn rule(scope: &Scope<'_>, r: &TargetResult) -> Option<FindingFacts> {
    let tls = handshake(r)?;
    if tls.status != TlsStatus::ClientAuthRequired || r.service != Service::Declaration {
        return None;
    }
    Some(FindingFacts::ClientAuth {
        target: scope.sites.target(r),
        ca_names: tls
            .client_auth
            .as_ref()
            .map(|c| c.ca_names.clone())
            .unwrap_or_default(),
    })
}
