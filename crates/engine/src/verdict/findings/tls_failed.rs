//! `tls_failed`: TCP opens but the handshake does not complete (a client
//! certificate request counts only on the declaration port, where a real
//! gateway makes one), or no TLS result was recorded at all.

use stca2_report::{FindingFacts, Service, TargetResult, TlsStatus};

use super::Scope;
use crate::verdict::{dns_failed, tcp_open};

pub(super) fn rule(scope: &Scope<'_>, r: &TargetResult) -> Option<FindingFacts> {
    if !tcp_open(r) || dns_failed(r) {
        return None;
    }
    let target = scope.sites.target(r);
    let Some(tls) = r.tls.as_ref() else {
        return Some(FindingFacts::TlsFailed {
            target,
            tls: None,
            alert: None,
            detail: None,
        });
    };
    let failed = match tls.status {
        TlsStatus::Ok => false,
        TlsStatus::ClientAuthRequired => r.service != Service::Declaration,
        TlsStatus::Alert
        | TlsStatus::Reset
        | TlsStatus::Eof
        | TlsStatus::Timeout
        | TlsStatus::Error => true,
        // A TCP-only check: unknown, not failed.
        TlsStatus::NotAttempted => false,
    };
    failed.then(|| FindingFacts::TlsFailed {
        target,
        tls: Some(tls.status),
        alert: tls.alert.clone().filter(|_| tls.status == TlsStatus::Alert),
        detail: tls.detail.clone(),
    })
}
