//! Report fixtures: results as the lab's behaviours would produce them, for
//! every test that needs a report without running a check (the verdict's
//! tables, the human and CSV renderings, the back office, the benchmarks).
//! One set, so a change to the contract is made in one place.
//!
//! Built with the `fixtures` feature (and in this crate's own tests).

use crate::{
    CaFamily, CertInfo, ClientAuthRequest, DnsResult, DnsStatus, LatencyStats, Role, Service,
    TargetResult, TcpResult, TcpStatus, TlsResult, TlsStack, TlsStatus,
};
use time::macros::datetime;

/// What a lab behaviour would produce at one site x port.
#[derive(Debug, Clone, Copy)]
pub enum O {
    /// TLS completes with an STCA2 chain.
    Stca2,
    /// TLS completes with the old STCA chain.
    Stca,
    /// TLS completes with a chain no family knows (an interceptor).
    Unknown,
    /// A chain naming this family whose signatures do not verify.
    Forged(CaFamily),
    /// An STCA2 chain signed with an algorithm the probe does not verify.
    Unsupported,
    /// TCP does not open, with this status.
    Closed(TcpStatus),
    /// TCP opens, TLS ends with this status and no chain.
    Tls(TlsStatus),
    /// The server asks for a client certificate (STCA2 chain).
    ClientAuth,
    /// An STCA2 chain whose leaf expires in this many days.
    Days(i64),
    /// The hostname does not resolve.
    DnsFail,
    /// The allow-list refused the address: no attempt was made.
    AllowRefused,
    /// The name resolved outside the allow-list.
    DnsRefused,
    /// A local error on every attempt (a --source not on this machine).
    LocalError,
}

/// One certificate: `subject` issued by `issuer`, expiring in `days`.
pub fn cert(subject: &str, issuer: &str, days: i64) -> CertInfo {
    CertInfo {
        subject: subject.into(),
        issuer: issuer.into(),
        serial: "01".into(),
        sha256: "00".repeat(32),
        spki_sha256: "11".repeat(32),
        not_before: datetime!(2025-01-01 0:00 UTC),
        not_after: datetime!(2027-01-01 0:00 UTC),
        days_to_expiry: days,
        san: vec![],
        signature_algorithm: "sha256WithRSAEncryption".into(),
        ski: None,
        aki: None,
        key_type: "RSA".into(),
        key_bits: Some(2048),
        is_ca: false,
        path_len: None,
        key_usage: vec![],
        ext_key_usage: vec![],
        pem: None,
    }
}

/// Latency figures of 1 to 5 ms.
pub fn stats() -> Option<LatencyStats> {
    Some(LatencyStats {
        min: 1.0,
        p50: 2.0,
        p90: 3.0,
        p99: 4.0,
        max: 5.0,
    })
}

/// A TLS result; a chain (leaf, then an intermediate issued by `issuer`) when `family` is set.
pub fn tls(status: TlsStatus, family: Option<CaFamily>, issuer: &str, days: i64) -> TlsResult {
    let chain = if family.is_some() {
        vec![
            cert("CN=gateway", "CN=Issuing CA", days),
            cert("CN=Issuing CA", issuer, 900),
        ]
    } else {
        vec![]
    };
    TlsResult {
        status,
        detail: None,
        alert: (status == TlsStatus::Alert).then(|| "handshake_failure".into()),
        stack: TlsStack::Rustls,
        version: Some("TLSv1.3".into()),
        cipher: Some("TLS13_AES_128_GCM_SHA256".into()),
        kx_group: None,
        alpn: None,
        attempts: 3,
        successes: if status == TlsStatus::Ok { 3 } else { 0 },
        handshake_ms: stats(),
        chain,
        ca_family: family,
        signature_verified: None,
        days_to_expiry: family.map(|_| days),
        client_auth: None,
    }
}

/// One site x port: the primary is toulouse 127.0.38.45, the secondary bordeaux 127.0.38.173.
pub fn target(role: Role, port: u16, o: O) -> TargetResult {
    let (site, address) = match role {
        Role::Primary => ("toulouse", "127.0.38.45"),
        Role::Secondary => ("bordeaux", "127.0.38.173"),
    };
    let service = match port {
        1146 => Service::Stca2,
        7212 => Service::Declaration,
        _ => Service::Other,
    };
    let open = TcpResult {
        status: TcpStatus::Open,
        detail: None,
        attempts: 3,
        successes: 3,
        connect_ms: stats(),
    };
    let stca2_root = "CN=STCA2 Root";
    let (tcp, tls, dns) = match o {
        O::Stca2 => (
            open,
            Some(tls(TlsStatus::Ok, Some(CaFamily::Stca2), stca2_root, 400)),
            None,
        ),
        O::Stca => (
            open,
            Some(tls(
                TlsStatus::Ok,
                Some(CaFamily::Stca),
                "CN=STCA Root",
                400,
            )),
            None,
        ),
        O::Unknown => (
            open,
            Some(tls(
                TlsStatus::Ok,
                Some(CaFamily::Unknown),
                "CN=Interceptor Root",
                400,
            )),
            None,
        ),
        O::Forged(f) => {
            let mut t = tls(TlsStatus::Ok, Some(f), stca2_root, 400);
            t.signature_verified = Some(crate::SignatureVerified::False);
            (open, Some(t), None)
        }
        O::Unsupported => {
            let mut t = tls(TlsStatus::Ok, Some(CaFamily::Stca2), stca2_root, 400);
            t.signature_verified = Some(crate::SignatureVerified::UnsupportedAlgorithm);
            (open, Some(t), None)
        }
        O::Days(d) => (
            open,
            Some(tls(TlsStatus::Ok, Some(CaFamily::Stca2), stca2_root, d)),
            None,
        ),
        O::ClientAuth => {
            let mut t = tls(
                TlsStatus::ClientAuthRequired,
                Some(CaFamily::Stca2),
                stca2_root,
                400,
            );
            t.client_auth = Some(ClientAuthRequest {
                ca_names: vec!["CN=Terminal CA".into()],
            });
            (open, Some(t), None)
        }
        O::Tls(s) => (open, Some(tls(s, None, "", 0)), None),
        O::Closed(s) => (
            TcpResult {
                status: s,
                detail: None,
                attempts: 3,
                successes: 0,
                connect_ms: None,
            },
            None,
            None,
        ),
        O::AllowRefused => (
            TcpResult {
                status: TcpStatus::Error,
                detail: Some(format!(
                    "{address} is outside the allow-list (127.0.61.0/24); pass --allow with a network that contains it"
                )),
                attempts: 0,
                successes: 0,
                connect_ms: None,
            },
            None,
            None,
        ),
        O::DnsRefused => (
            TcpResult {
                status: TcpStatus::Error,
                detail: Some("not contacted: outside the allow-list".into()),
                attempts: 0,
                successes: 0,
                connect_ms: None,
            },
            None,
            Some(DnsResult {
                status: DnsStatus::Refused,
                detail: Some("gw resolves only to addresses outside the allow-list".into()),
                addresses: vec!["192.0.2.7".parse().unwrap()],
                ms: 3.0,
            }),
        ),
        O::LocalError => (
            TcpResult {
                status: TcpStatus::Error,
                detail: Some(
                    "cannot use source address 192.0.2.1: Cannot assign requested address (os error 99); it must be an address of this machine (see `ip addr`)"
                        .into(),
                ),
                attempts: 3,
                successes: 0,
                connect_ms: None,
            },
            None,
            None,
        ),
        O::DnsFail => (
            TcpResult {
                status: TcpStatus::Error,
                detail: Some("not resolved".into()),
                attempts: 0,
                successes: 0,
                connect_ms: None,
            },
            None,
            Some(DnsResult {
                status: DnsStatus::Nxdomain,
                detail: None,
                addresses: vec![],
                ms: 3.0,
            }),
        ),
    };
    TargetResult {
        site: site.into(),
        role,
        address: address.into(),
        ip: None,
        port,
        service,
        dns,
        tcp,
        tls,
    }
}

/// Primary 1146, primary 7212, secondary 1146, secondary 7212.
pub fn set(p1: O, p2: O, s1: O, s2: O) -> Vec<TargetResult> {
    vec![
        target(Role::Primary, 1146, p1),
        target(Role::Primary, 7212, p2),
        target(Role::Secondary, 1146, s1),
        target(Role::Secondary, 7212, s2),
    ]
}

/// Primary 1146, primary 7212.
pub fn primary_only(p1: O, p2: O) -> Vec<TargetResult> {
    vec![
        target(Role::Primary, 1146, p1),
        target(Role::Primary, 7212, p2),
    ]
}

/// A port a router silently drops.
pub const TIMEOUT: O = O::Closed(TcpStatus::Timeout);
/// A port refused with a TCP reset.
pub const REFUSED: O = O::Closed(TcpStatus::Refused);
