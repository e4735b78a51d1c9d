//! Report fixtures: results as the lab's behaviours would produce them, for
//! every test that needs a report without running a check (the verdict's
//! tables, the human and CSV renderings, the back office, the benchmarks).
//! One set, so a change to the contract is made in one place.
//!
//! Three flavours, one site and port layout (toulouse 127.0.38.45 is the
//! primary, bordeaux 127.0.38.173 the secondary; 1146 the STCA2 port, 7212
//! the declaration port):
//!
//! - the top level: compact results, one per lab behaviour ([`O`]), which
//!   the verdict's tables judge;
//! - [`upload`]: lean results and whole reports as a probe uploads them,
//!   for the back office's tests and its ingest benchmark;
//! - [`field`]: realistic results (full certificate details, latency
//!   rounded like a real check), for the report contract's schema and CSV
//!   tests and the committed example report.
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

/// The site of a role: its name and address.
fn site(role: Role) -> (&'static str, &'static str) {
    match role {
        Role::Primary => ("toulouse", "127.0.38.45"),
        Role::Secondary => ("bordeaux", "127.0.38.173"),
    }
}

/// The service of a port.
fn service(port: u16) -> Service {
    match port {
        1146 => Service::Stca2,
        7212 => Service::Declaration,
        _ => Service::Other,
    }
}

/// One site x port: the primary is toulouse 127.0.38.45, the secondary bordeaux 127.0.38.173.
pub fn target(role: Role, port: u16, o: O) -> TargetResult {
    let (site, address) = site(role);
    let service = service(port);
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
        wire: None,
        trace: None,
        path_mtu: None,
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

/// `primary_only(TIMEOUT, Stca2)` with the dropped port traced: the box
/// (10.0.0.1, the default gateway) answers at TTL 1, then silence.
pub fn primary_dropped_at_the_box() -> Vec<TargetResult> {
    use crate::result::{HopAnswer, PathTrace, TraceHop};
    let hop = |ttl: u8, answer: HopAnswer, address: Option<&str>| TraceHop {
        ttl,
        address: address.and_then(|a| a.parse().ok()),
        answer,
        icmp: (answer == HopAnswer::TimeExceeded).then(|| "type 11 code 0".to_string()),
        answered: u32::from(answer != HopAnswer::Silent) * 3,
        rtt_ms: (answer != HopAnswer::Silent).then_some(0.2),
    };
    let first = hop(1, HopAnswer::TimeExceeded, Some("10.0.0.1"));
    let mut results = primary_only(TIMEOUT, O::Stca2);
    results[0].trace = Some(PathTrace {
        hops: vec![
            first.clone(),
            hop(2, HopAnswer::Silent, None),
            hop(3, HopAnswer::Silent, None),
        ],
        last_answering_hop: Some(first),
        reached_at: None,
        default_gateway: "10.0.0.1".parse().ok(),
        refused_by: None,
        probes_per_hop: 3,
        max_hops: 16,
    });
    results
}

/// `primary_only(Tls(Timeout), Stca2)` where a clamped MSS of `mss`
/// completed the handshake (`None`: no MSS helped, a silent server).
pub fn primary_stalled(mss: Option<u32>) -> Vec<TargetResult> {
    let mut results = primary_only(O::Tls(TlsStatus::Timeout), O::Stca2);
    results[0].path_mtu = Some(crate::result::PathMtu {
        mss,
        tried: vec![1000, 536],
    });
    results
}

/// A port a router silently drops.
pub const TIMEOUT: O = O::Closed(TcpStatus::Timeout);
/// A port refused with a TCP reset.
pub const REFUSED: O = O::Closed(TcpStatus::Refused);

pub mod upload {
    //! Reports as a probe uploads them to the back office: lean results (no
    //! chain, no latency figures) and whole reports with a fixed id, so the
    //! back office's tests can name them and its benchmark measures ingest
    //! of a steady shape.

    use super::{O, TIMEOUT, target};
    use crate::{
        Failover, ProbeIdentity, Recommendation, Report, Role, SCHEMA, Summary, TargetResult,
    };
    use time::OffsetDateTime;

    /// One site x port: open with an STCA2 answer, or a TCP timeout whose
    /// detail starts with `-` (which a CSV export must neutralise). The lab
    /// behaviour's [`target`] without its chain and latency figures, with
    /// the address also as `ip`.
    pub fn result(role: Role, port: u16, open: bool) -> TargetResult {
        let mut r = target(role, port, if open { O::Stca2 } else { TIMEOUT });
        r.ip = r.address.parse().ok();
        r.tcp.connect_ms = None;
        match r.tls.as_mut() {
            Some(tls) => {
                tls.chain.clear();
                tls.handshake_ms = None;
                tls.days_to_expiry = None;
            }
            None => r.tcp.detail = Some("-no answer to SYN within 3 s".into()),
        }
        r
    }

    /// The UUID that stands for the report named `name` in a test: the same
    /// for the same name within a run; a UUID is kept as it is.
    pub fn rid(name: &str) -> String {
        use std::hash::{Hash, Hasher};
        if uuid::Uuid::parse_str(name).is_ok() {
            return name.to_string();
        }
        let mut bytes = [0u8; 16];
        for (half, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut h = std::hash::DefaultHasher::new();
            (name, half).hash(&mut h);
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    /// The probe `id`, version 0.1.0 (fixed, unlike [`ProbeIdentity::new`]), of merchant `m-1`.
    pub fn probe(id: &str) -> ProbeIdentity {
        ProbeIdentity {
            id: id.into(),
            version: "0.1.0".into(),
            hostname: None,
            merchant: Some("m-1".into()),
            source: None,
            interface: None,
            spool_dropped: None,
        }
    }

    /// A summary that says only what the back office reads: ready unless
    /// the STCA2 port is `closed`, and the failover advice `rec` / `message`.
    pub fn summary(closed: bool, rec: Recommendation, message: impl Into<String>) -> Summary {
        Summary {
            ok: !closed,
            headline: if closed {
                "Port STCA2 non ouvert".into()
            } else {
                "ok".into()
            },
            stca2_port_closed: closed,
            sites: vec![],
            failover: Failover {
                recommendation: rec,
                message: message.into(),
                params: None,
            },
            findings: vec![],
            headline_params: None,
        }
    }

    /// A whole report `report_id` of `probe` over the `lab` target set: a
    /// check of `results` that started at `started` and took 3 s.
    pub fn report(
        probe: ProbeIdentity,
        report_id: &str,
        started: OffsetDateTime,
        results: Vec<TargetResult>,
        summary: Summary,
    ) -> Report {
        Report {
            schema: SCHEMA.into(),
            report_id: report_id.into(),
            probe,
            started_at: started,
            finished_at: started + time::Duration::seconds(3),
            target_set: "lab".into(),
            results,
            summary,
        }
    }
}

pub mod field {
    //! Realistic results, as a check in the field writes them: full
    //! certificate details (fingerprints, key identifiers, usages) seeded
    //! so every certificate differs, expiry counted from [`NOW`], latency
    //! rounded to 0.1 ms. The report contract's scenarios are built from
    //! these, and the committed reports/example-report.json is one of them:
    //! a change here must regenerate it (see reports/README.md).

    use super::{service, site};
    use crate::{
        CaFamily, CertInfo, ClientAuthRequest, LatencyStats, ProbeIdentity, Role,
        SignatureVerified, TargetResult, TcpResult, TcpStatus, TlsResult, TlsStack, TlsStatus,
    };
    use time::OffsetDateTime;
    use time::macros::datetime;

    /// When the check runs.
    pub const NOW: OffsetDateTime = datetime!(2026-03-02 09:30:00 UTC);

    /// A fingerprint-shaped hex string (64 digits), different for each seed.
    fn hex64(seed: u8) -> String {
        (0..32u8)
            .map(|i| format!("{:02x}", i.wrapping_mul(7).wrapping_add(seed)))
            .collect()
    }

    /// A certificate `subject` issued by `issuer`, its numbers drawn from
    /// `seed`, expiring at `not_after`, a CA or a server leaf, signed with
    /// `sig`, for the names `san`.
    #[allow(clippy::too_many_arguments)]
    pub fn cert(
        subject: &str,
        issuer: &str,
        seed: u8,
        not_after: OffsetDateTime,
        is_ca: bool,
        sig: &str,
        san: &[&str],
    ) -> CertInfo {
        let days = (not_after - NOW).whole_days();
        CertInfo {
            serial: format!("{seed:02x}3f9a0c71"),
            sha256: hex64(seed),
            spki_sha256: hex64(seed.wrapping_add(100)),
            not_before: datetime!(2025-06-01 00:00:00 UTC),
            not_after,
            san: san.iter().map(|s| s.to_string()).collect(),
            signature_algorithm: sig.into(),
            ski: Some(hex64(seed.wrapping_add(1))[..40].to_string()),
            aki: Some(hex64(seed.wrapping_add(2))[..40].to_string()),
            is_ca,
            path_len: is_ca.then_some(0),
            key_usage: if is_ca {
                vec!["keyCertSign".into(), "cRLSign".into()]
            } else {
                vec!["digitalSignature".into(), "keyEncipherment".into()]
            },
            ext_key_usage: if is_ca {
                vec![]
            } else {
                vec!["serverAuth".into()]
            },
            ..super::cert(subject, issuer, days)
        }
    }

    /// The lab gateway's STCA2 chain (leaf for `address`, then the issuing CA).
    pub fn stca2_chain(address: &str, not_after: OffsetDateTime) -> Vec<CertInfo> {
        vec![
            cert(
                "CN=gateway.lab.example,O=Lab Gateway,C=FR",
                "CN=Lab STCA2 Issuing CA,O=Lab PayCert,C=FR",
                10,
                not_after,
                false,
                "sha256WithRSAEncryption",
                &["gateway.lab.example", address],
            ),
            cert(
                "CN=Lab STCA2 Issuing CA,O=Lab PayCert,C=FR",
                "CN=Lab STCA2 Root CA,O=Lab PayCert,C=FR",
                20,
                datetime!(2030-01-01 00:00:00 UTC),
                true,
                "sha256WithRSAEncryption",
                &[],
            ),
        ]
    }

    /// Latency figures from `base` ms up, rounded to 0.1 ms.
    pub fn stats(base: f64) -> Option<LatencyStats> {
        let ms = |x: f64| (x * 10.0).round() / 10.0;
        Some(LatencyStats {
            min: ms(base),
            p50: ms(base + 0.4),
            p90: ms(base + 1.1),
            p99: ms(base + 2.6),
            max: ms(base + 3.2),
        })
    }

    /// A site x port where TCP opened on every attempt and TLS is not measured yet.
    pub fn open(role: Role, port: u16) -> TargetResult {
        let (site, address) = site(role);
        TargetResult {
            site: site.into(),
            role,
            address: address.into(),
            ip: address.parse().ok(),
            port,
            service: service(port),
            dns: None,
            tcp: TcpResult {
                status: TcpStatus::Open,
                detail: None,
                attempts: 3,
                successes: 3,
                connect_ms: stats(0.1),
            },
            tls: None,
            wire: None,
            trace: None,
            path_mtu: None,
        }
    }

    /// A TLS 1.3 handshake that completed on every attempt over `chain`, of `family`.
    pub fn tls_ok(chain: Vec<CertInfo>, family: CaFamily) -> TlsResult {
        let days = chain.first().map(|c| c.days_to_expiry);
        TlsResult {
            status: TlsStatus::Ok,
            detail: None,
            alert: None,
            stack: TlsStack::Rustls,
            version: Some("TLSv1.3".into()),
            cipher: Some("TLS_AES_256_GCM_SHA384".into()),
            kx_group: Some("X25519".into()),
            alpn: None,
            attempts: 3,
            successes: 3,
            handshake_ms: stats(1.7),
            chain,
            ca_family: Some(family),
            signature_verified: Some(SignatureVerified::True),
            days_to_expiry: days,
            client_auth: None,
        }
    }

    /// A gateway serving STCA2; on 7212 it asks for the terminal's certificate.
    pub fn serving_stca2(role: Role, port: u16) -> TargetResult {
        let mut r = open(role, port);
        let chain = stca2_chain(&r.address, datetime!(2027-03-01 00:00:00 UTC));
        let mut tls = tls_ok(chain, CaFamily::Stca2);
        if port == 7212 {
            tls.status = TlsStatus::ClientAuthRequired;
            tls.detail = Some(
                "the server asked for a client certificate (alert certificate_required)".into(),
            );
            tls.successes = 0;
            tls.handshake_ms = None;
            tls.client_auth = Some(ClientAuthRequest {
                ca_names: vec!["CN=Lab Terminal CA,O=Lab PayCert,C=FR".into()],
            });
        }
        r.tls = Some(tls);
        r
    }

    /// TCP never opened: `status`, said as `detail`.
    pub fn blocked(role: Role, port: u16, status: TcpStatus, detail: &str) -> TargetResult {
        let mut r = open(role, port);
        r.tcp = TcpResult {
            status,
            detail: Some(detail.into()),
            attempts: 3,
            successes: 0,
            connect_ms: None,
        };
        r
    }

    /// A middlebox answering with a forged leaf of its own for the address.
    pub fn intercepted(role: Role, port: u16) -> TargetResult {
        let mut r = open(role, port);
        let chain = vec![cert(
            &format!("CN={}", r.address),
            "CN=SecureWeb Inspection CA,O=Box Vendor",
            40,
            datetime!(2026-04-01 00:00:00 UTC),
            false,
            "sha256WithRSAEncryption",
            &[&r.address],
        )];
        let mut tls = tls_ok(chain, CaFamily::Unknown);
        tls.signature_verified = Some(SignatureVerified::False);
        r.tls = Some(tls);
        r
    }

    /// An old gateway on the SHA-1 STCA chain, seen through the legacy capture.
    pub fn old_stca(role: Role, port: u16) -> TargetResult {
        let mut r = open(role, port);
        let chain = vec![cert(
            "CN=gateway.lab.example,O=Lab Gateway,C=FR",
            "CN=Lab STCA CA,O=Lab PayCert,C=FR",
            50,
            datetime!(2026-09-30 00:00:00 UTC),
            false,
            "sha1WithRSAEncryption",
            &["gateway.lab.example"],
        )];
        let mut tls = tls_ok(chain, CaFamily::Stca);
        tls.stack = TlsStack::LegacyCapture;
        tls.detail = Some("rustls: received fatal alert: HandshakeFailure".into());
        tls.version = Some("TLSv1.2".into());
        tls.cipher = Some("TLS_RSA_WITH_AES_128_CBC_SHA".into());
        tls.kx_group = None;
        tls.signature_verified = Some(SignatureVerified::UnsupportedAlgorithm);
        r.tls = Some(tls);
        r
    }

    /// A shop's probe, with its host name.
    pub fn probe() -> ProbeIdentity {
        let mut p = ProbeIdentity::new("shop-0042-tpe1");
        p.hostname = Some("caisse-01".into());
        p
    }
}
