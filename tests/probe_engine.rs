//! The probe engine against tiny in-test servers on unique loopback addresses.
//!
//! Every server binds an address of its own ([`net::address`]), so tests
//! run in parallel without sharing an address. Nothing here contacts anything
//! but loopback: the allow-list is 127.0.0.0/8 under the repository's
//! STCA2_PROBE_ALLOW ceiling, and DNS goes to a closed loopback port.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::util::net;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WantsServerCert;
use rustls::server::WebPkiClientVerifier;
use rustls::{ConfigBuilder, RootCertStore, ServerConfig, SupportedProtocolVersion};
use stca2_engine::allow::AllowList;
use stca2_engine::probe::dns::DnsSetup;
use stca2_engine::probe::tls::IMPOSTOR;
use stca2_engine::probe::tls::provider;
use stca2_engine::probe::{self, ClientIdentity, ProbeConfig};
use stca2_engine::targets::TargetSet;
use stca2_report::{CaFamily, SignatureVerified};
use stca2_report::{DnsStatus, TargetResult, TcpStatus, TlsResult, TlsStack, TlsStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------- PKI

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    cert: rcgen::Certificate,
}

impl Ca {
    fn root(cn: &str) -> Ca {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, cn);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Probe Test");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { params, key, cert }
    }

    fn intermediate(&self, cn: &str) -> Ca {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().unwrap();
        let cert = params
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .unwrap();
        Ca { params, key, cert }
    }

    fn leaf(&self, name: &str, client: bool) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.use_authority_key_identifier_extension = true;
        if client {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        let key = KeyPair::generate().unwrap();
        let cert = params
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .unwrap();
        (
            cert.der().clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
    }

    fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }
}

/// An STCA2-like hierarchy: root (the anchor), intermediate, and a leaf for `ip`.
struct Pki {
    root: Ca,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn pki(ip: &str) -> Pki {
    let root = Ca::root("Test STCA2 Root");
    let inter = root.intermediate("Test STCA2 Issuing CA");
    let (leaf, key) = inter.leaf(ip, false);
    Pki {
        chain: vec![leaf, inter.der()],
        key,
        root,
    }
}

/// A server config for `versions` that requires a client certificate from
/// `client_ca` when given; the server's own certificate comes next.
fn server_builder(
    versions: &[&'static SupportedProtocolVersion],
    client_ca: Option<&Ca>,
) -> ConfigBuilder<ServerConfig, WantsServerCert> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap();
    match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            roots.add(ca.der()).unwrap();
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    }
}

fn server_config(
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
    versions: &[&'static SupportedProtocolVersion],
    client_ca: Option<&Ca>,
) -> Arc<ServerConfig> {
    Arc::new(
        server_builder(versions, client_ca)
            .with_single_cert(chain.to_vec(), key.clone_key())
            .unwrap(),
    )
}

/// A terminal's identity: a client certificate named `name` issued by `ca`.
fn identity(ca: &Ca, name: &str) -> ClientIdentity {
    let (leaf, key) = ca.leaf(name, true);
    ClientIdentity {
        chain: vec![leaf],
        key,
    }
}

// ---------------------------------------------------------------- servers

#[derive(Clone)]
enum Behaviour {
    Tls(Arc<ServerConfig>),
    /// Accepts TCP, never answers.
    Silent,
    /// Reads the ClientHello, then closes with an RST (SO_LINGER 0).
    ResetAfterHello,
    /// Reads the ClientHello, then closes cleanly (FIN).
    EofAfterHello,
    /// Reads the ClientHello, answers with HTTP.
    Garbage,
    /// Reads the ClientHello, answers with a fatal TLS alert.
    Alert(u8),
    /// rustls driven by hand, misbehaving where tokio-rustls would not.
    Manual(Arc<ServerConfig>, Misbehaviour),
}

/// How a hand-driven rustls server deviates from the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Misbehaviour {
    /// When rustls fails (e.g. on the client's certificate), send this raw
    /// fatal alert instead of rustls' own.
    AlertInstead(u8),
    /// After its first flight, read nothing more and never answer.
    SilentAfterFirstFlight,
}

/// Drives a rustls server connection by hand over `stream`.
async fn manual(mut stream: TcpStream, config: Arc<ServerConfig>, how: Misbehaviour) {
    let Ok(mut conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut buf = vec![0u8; 16384];
    let mut flights = 0;
    loop {
        let n = match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return,
        };
        if how == Misbehaviour::SilentAfterFirstFlight && flights > 0 {
            tokio::time::sleep(Duration::from_secs(5)).await;
            return;
        }
        let mut rd = &buf[..n];
        while !rd.is_empty() {
            if conn.read_tls(&mut rd).is_err() {
                return;
            }
            if conn.process_new_packets().is_err() {
                if let Misbehaviour::AlertInstead(desc) = how {
                    let _ = stream
                        .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, desc])
                        .await;
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                return;
            }
        }
        let mut out = Vec::new();
        while conn.wants_write() {
            if conn.write_tls(&mut out).is_err() {
                return;
            }
        }
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            flights += 1;
        }
    }
}

/// Presents `chain` but signs with `key`, which is not the leaf's: an impostor.
#[derive(Debug)]
struct Impostor(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Impostor {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A server presenting `chain` while holding another key, optionally requiring client certificates.
fn impostor_config(
    chain: &[CertificateDer<'static>],
    versions: &[&'static SupportedProtocolVersion],
    client_ca: Option<&Ca>,
) -> Arc<ServerConfig> {
    let other = KeyPair::generate().unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(other.serialize_der()));
    let signer = provider().key_provider.load_private_key(key).unwrap();
    let certified = rustls::sign::CertifiedKey::new(chain.to_vec(), signer);
    Arc::new(
        server_builder(versions, client_ca)
            .with_cert_resolver(Arc::new(Impostor(Arc::new(certified)))),
    )
}

/// Binds `ip:port` (port 0 = any) and serves `b` until the test's runtime ends.
async fn serve(ip: &str, port: u16, b: Behaviour) -> SocketAddr {
    let listener = TcpListener::bind((ip, port)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(handle(stream, b.clone()));
        }
    });
    addr
}

async fn read_hello(stream: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
}

async fn handle(mut stream: TcpStream, b: Behaviour) {
    match b {
        Behaviour::Tls(config) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            if let Ok(mut tls) = acceptor.accept(stream).await {
                let mut buf = [0u8; 1024];
                while let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf)).await
                {
                    if n == 0 {
                        break;
                    }
                }
            }
        }
        Behaviour::Silent => tokio::time::sleep(Duration::from_secs(10)).await,
        Behaviour::ResetAfterHello => {
            read_hello(&mut stream).await;
            stream.set_zero_linger().unwrap();
            drop(stream);
        }
        Behaviour::EofAfterHello => {
            read_hello(&mut stream).await;
            let _ = stream.shutdown().await;
        }
        Behaviour::Garbage => {
            read_hello(&mut stream).await;
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        Behaviour::Manual(config, how) => manual(stream, config, how).await,
        Behaviour::Alert(desc) => {
            read_hello(&mut stream).await;
            let _ = stream
                .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, desc])
                .await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

// ---------------------------------------------------------------- targets

fn allow() -> AllowList {
    AllowList::new(
        vec!["127.0.0.0/8".parse().unwrap()],
        AllowList::ceiling_from_env().unwrap(),
    )
}

fn config(timeout_ms: u64, attempts: u32) -> ProbeConfig {
    let mut c = ProbeConfig::new(allow());
    c.timeout = Duration::from_millis(timeout_ms);
    c.attempts = attempts;
    c.spacing = Duration::from_millis(20);
    c
}

/// A target set with the given sites and ports, and the root as STCA2 anchor when given.
fn targets(dir: &Path, sites: &[&str], ports: &[u16], anchor: Option<&Ca>) -> TargetSet {
    let mut toml = String::from("name = \"test\"\n");
    for (i, addr) in sites.iter().enumerate() {
        let role = if i == 0 { "primary" } else { "secondary" };
        toml.push_str(&format!(
            "[[site]]\nname = \"s{i}\"\nrole = \"{role}\"\naddress = \"{addr}\"\n"
        ));
    }
    for (i, p) in ports.iter().enumerate() {
        let service = if i == 0 { "stca2" } else { "declaration" };
        toml.push_str(&format!(
            "[[port]]\nnumber = {p}\nservice = \"{service}\"\n"
        ));
    }
    if let Some(ca) = anchor {
        std::fs::write(dir.join("stca2.pem"), ca.cert.pem()).unwrap();
        toml.push_str("[[ca]]\nfamily = \"STCA2\"\nanchors = \"stca2.pem\"\n");
    }
    let path = dir.join("targets.toml");
    std::fs::write(&path, &toml).unwrap();
    TargetSet::parse(&toml, &path).unwrap()
}

async fn check_one(ip: &str, port: u16, anchor: Option<&Ca>, cfg: &ProbeConfig) -> TargetResult {
    let dir = tempfile::tempdir().unwrap();
    let t = targets(dir.path(), &[ip], &[port], anchor);
    let mut results = probe::check(&t, cfg).await;
    assert_eq!(results.len(), 1);
    results.remove(0)
}

/// Serves `b` on `ip` and checks it with `attempts` attempts, 3 s steps and
/// no anchors; the TLS part of the result.
async fn tls_against(ip: &str, b: Behaviour, attempts: u32) -> TlsResult {
    let addr = serve(ip, 0, b).await;
    let r = check_one(ip, addr.port(), None, &config(3000, attempts)).await;
    r.tls.unwrap()
}

static FREE: AtomicU32 = AtomicU32::new(0);

/// A port number nobody listens on (closed on the test's unique address).
fn closed_port() -> u16 {
    40_000 + FREE.fetch_add(1, Ordering::Relaxed) as u16
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn healthy_tls13_server_is_open_ok_with_chain_family_and_sane_latency() {
    let ip: &str = &net::address().to_string();
    let p = pki(ip);
    let cfg = server_config(&p.chain, &p.key, &[&rustls::version::TLS13], None);
    let addr = serve(ip, 0, Behaviour::Tls(cfg)).await;
    let mut c = config(3000, 3);
    c.with_pem = true;
    let r = check_one(ip, addr.port(), Some(&p.root), &c).await;

    assert_eq!(r.ip, Some(addr.ip()));
    assert_eq!(r.tcp.status, TcpStatus::Open, "{:?}", r.tcp);
    assert_eq!((r.tcp.attempts, r.tcp.successes), (3, 3));
    let tls = r.tls.expect("tls");
    assert_eq!(tls.status, TlsStatus::Ok, "{tls:?}");
    assert_eq!(tls.stack, TlsStack::Rustls);
    assert_eq!((tls.attempts, tls.successes), (3, 3));
    assert_eq!(tls.version.as_deref(), Some("TLSv1.3"));
    // IANA names, not rustls' TLS13_ spelling.
    assert!(
        tls.cipher.as_deref().unwrap().starts_with("TLS_AES_")
            || tls.cipher.as_deref() == Some("TLS_CHACHA20_POLY1305_SHA256"),
        "{:?}",
        tls.cipher
    );
    assert!(tls.kx_group.is_some());
    assert!(tls.alpn.is_none());
    assert_eq!(tls.chain.len(), 2);
    assert!(
        tls.chain[0].subject.contains(ip),
        "{}",
        tls.chain[0].subject
    );
    assert!(tls.chain[0].san.contains(&ip.to_string()));
    assert!(tls.chain[1].subject.contains("Test STCA2 Issuing CA"));
    assert!(
        tls.chain[0]
            .pem
            .as_deref()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert_eq!(tls.ca_family, Some(CaFamily::Stca2));
    assert_eq!(tls.signature_verified, Some(SignatureVerified::True));
    assert!(tls.days_to_expiry.unwrap() > 30);
    assert!(tls.client_auth.is_none());

    for s in [r.tcp.connect_ms.unwrap(), tls.handshake_ms.unwrap()] {
        assert!(s.min > 0.0);
        assert!(
            s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max,
            "{s:?}"
        );
        assert!(s.max < 3000.0);
    }
}

#[tokio::test]
async fn tls12_server_reports_version_cipher_and_unknown_family_without_anchors() {
    let ip: &str = &net::address().to_string();
    let p = pki(ip);
    let cfg = server_config(&p.chain, &p.key, &[&rustls::version::TLS12], None);
    let addr = serve(ip, 0, Behaviour::Tls(cfg)).await;
    let r = check_one(ip, addr.port(), None, &config(3000, 1)).await;
    let tls = r.tls.unwrap();
    assert_eq!(tls.status, TlsStatus::Ok, "{tls:?}");
    assert_eq!(tls.version.as_deref(), Some("TLSv1.2"));
    assert!(
        tls.cipher.as_deref().unwrap().starts_with("TLS_ECDHE_"),
        "{:?}",
        tls.cipher
    );
    // No anchors at all: the family is still computed, and is unknown.
    assert_eq!(tls.ca_family, Some(CaFamily::Unknown));
    assert_eq!(tls.chain.len(), 2);
}

#[tokio::test]
async fn interceptor_chain_is_unknown() {
    let ip: &str = &net::address().to_string();
    let stca2 = pki(ip);
    let interceptor = pki(ip);
    let cfg = server_config(
        &interceptor.chain,
        &interceptor.key,
        rustls::ALL_VERSIONS,
        None,
    );
    let addr = serve(ip, 0, Behaviour::Tls(cfg)).await;
    let r = check_one(ip, addr.port(), Some(&stca2.root), &config(3000, 1)).await;
    let tls = r.tls.unwrap();
    assert_eq!(tls.status, TlsStatus::Ok);
    assert_eq!(tls.ca_family, Some(CaFamily::Unknown));
}

/// Bytes on the wire come from the sockets: a full check carries the chain
/// (kilobytes received), a TCP-only one (`tls: false`, a daemon's
/// `tls_every`) only handshake headers, and says TLS was not attempted.
#[tokio::test]
async fn wire_bytes_are_measured_and_a_tcp_only_check_sends_far_less() {
    let ip: &str = &net::address().to_string();
    let p = pki(ip);
    let cfg = server_config(&p.chain, &p.key, &[&rustls::version::TLS13], None);
    let addr = serve(ip, 0, Behaviour::Tls(cfg)).await;
    let full = check_one(ip, addr.port(), Some(&p.root), &config(3000, 3)).await;
    let w = full.wire.expect("Linux gives TCP_INFO");
    // Three handshakes: each a ClientHello out and a chain in.
    assert!(w.sent > 3 * 250, "{w:?}");
    assert!(w.received > 3 * 1000, "{w:?}");

    let mut c = config(3000, 3);
    c.tls = false;
    let tcp_only = check_one(ip, addr.port(), Some(&p.root), &c).await;
    assert_eq!(tcp_only.tcp.status, TcpStatus::Open);
    assert_eq!((tcp_only.tcp.attempts, tcp_only.tcp.successes), (3, 3));
    let tls = tcp_only.tls.expect("the TLS part says why it is empty");
    assert_eq!(tls.status, TlsStatus::NotAttempted);
    assert_eq!(tls.attempts, 0);
    assert!(tls.ca_family.is_none() && tls.chain.is_empty());
    let t = tcp_only.wire.expect("TCP_INFO");
    // SYN, ACK each way per attempt: headers only, 3 x (2..4) segments of 40 to 52 bytes.
    assert!(t.sent >= 3 * 2 * 40 && t.sent <= 3 * 4 * 52, "{t:?}");
    assert!(t.received >= 3 * 40 && t.received <= 3 * 4 * 52, "{t:?}");
    assert!(t.total() * 5 < w.total(), "{t:?} vs {w:?}");

    // A connection that does not open is counted too (a SYN at least).
    let refused = check_one(ip, closed_port(), None, &config(3000, 1)).await;
    assert!(
        refused.wire.is_some_and(|w| w.sent >= 40),
        "{:?}",
        refused.wire
    );
}

#[tokio::test]
async fn nothing_listening_is_refused() {
    let r = check_one(
        &net::address().to_string(),
        closed_port(),
        None,
        &config(3000, 3),
    )
    .await;
    assert_eq!(r.tcp.status, TcpStatus::Refused, "{:?}", r.tcp);
    assert_eq!((r.tcp.attempts, r.tcp.successes), (3, 0));
    assert!(r.tcp.detail.unwrap().contains("ECONNREFUSED"));
    assert!(r.tcp.connect_ms.is_none());
    assert!(r.tls.is_none());
}

#[tokio::test]
async fn silent_tls_server_times_out_and_is_not_retried() {
    let ip: &str = &net::address().to_string();
    let addr = serve(ip, 0, Behaviour::Silent).await;
    let start = Instant::now();
    let r = check_one(ip, addr.port(), None, &config(1000, 3)).await;
    assert!(start.elapsed() < Duration::from_millis(2500));
    assert_eq!(r.tcp.status, TcpStatus::Open);
    let tls = r.tls.unwrap();
    assert_eq!(tls.status, TlsStatus::Timeout, "{tls:?}");
    assert_eq!((tls.attempts, tls.successes), (1, 0));
    assert!(tls.handshake_ms.is_none());
    assert!(tls.chain.is_empty());
    assert!(tls.ca_family.is_none());
}

#[tokio::test]
async fn reset_after_client_hello() {
    let tls = tls_against(&net::address().to_string(), Behaviour::ResetAfterHello, 2).await;
    assert_eq!(tls.status, TlsStatus::Reset, "{tls:?}");
    assert_eq!((tls.attempts, tls.successes), (2, 0));
    // A reset is no protocol refusal: no legacy capture was tried.
    assert!(!tls.detail.unwrap().contains("legacy capture"));
}

#[tokio::test]
async fn close_after_client_hello_is_eof() {
    let tls = tls_against(&net::address().to_string(), Behaviour::EofAfterHello, 1).await;
    assert_eq!(tls.status, TlsStatus::Eof, "{tls:?}");
}

#[tokio::test]
async fn garbage_answer_is_error_with_rustls_words() {
    let tls = tls_against(&net::address().to_string(), Behaviour::Garbage, 1).await;
    assert_eq!(tls.status, TlsStatus::Error, "{tls:?}");
    assert!(tls.detail.unwrap().contains("corrupt message"));
}

#[tokio::test]
async fn handshake_failure_alert_is_named_and_asks_for_legacy_capture() {
    let tls = tls_against(&net::address().to_string(), Behaviour::Alert(40), 1).await;
    assert_eq!(tls.status, TlsStatus::Alert, "{tls:?}");
    assert_eq!(tls.alert.as_deref(), Some("handshake_failure"));
    let detail = tls.detail.as_deref().unwrap();
    assert!(detail.contains("HandshakeFailure"), "{detail}");
    // The refusal sent the probe to a legacy capture, which was refused too.
    assert!(detail.contains("legacy capture: "), "{detail}");
    assert_eq!(tls.stack, TlsStack::Rustls);
}

async fn client_auth_case(versions: &[&'static SupportedProtocolVersion], version: &str) {
    let ip = net::address().to_string();
    let p = pki(&ip);
    let terminals = Ca::root("Test Terminal CA");
    let cfg = server_config(&p.chain, &p.key, versions, Some(&terminals));
    let addr = serve(&ip, 0, Behaviour::Tls(cfg)).await;

    // Without an identity: client_auth_required, with the CA name and the chain.
    let r = check_one(&ip, addr.port(), Some(&p.root), &config(3000, 2)).await;
    let tls = r.tls.unwrap();
    assert_eq!(
        tls.status,
        TlsStatus::ClientAuthRequired,
        "{version}: {tls:?}"
    );
    let names = &tls.client_auth.as_ref().unwrap().ca_names;
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].contains("CN=Test Terminal CA"), "{names:?}");
    if version == "TLSv1.3" {
        // The client finished first: the negotiated parameters are known.
        assert_eq!(tls.version.as_deref(), Some(version));
        assert!(tls.cipher.is_some());
        assert_eq!(tls.alert.as_deref(), Some("certificate_required"));
    }
    assert_eq!(tls.ca_family, Some(CaFamily::Stca2));
    assert_eq!(tls.chain.len(), 2);
    assert_eq!((tls.attempts, tls.successes), (2, 2));
    assert!(tls.detail.unwrap().contains("--client-cert"));

    // With a terminal's identity: ok, and the request is still recorded.
    let mut c = config(3000, 1);
    c.client_identity = Some(identity(&terminals, "terminal-0001"));
    let r = check_one(&ip, addr.port(), Some(&p.root), &c).await;
    let tls = r.tls.unwrap();
    assert_eq!(tls.status, TlsStatus::Ok, "{version}: {tls:?}");
    assert_eq!(tls.version.as_deref(), Some(version));
    assert!(tls.client_auth.unwrap().ca_names[0].contains("Test Terminal CA"));

    // With an identity the server does not trust: the refusal is reported, not ok.
    c.client_identity = Some(identity(&Ca::root("Somebody Else"), "terminal-0002"));
    let r = check_one(&ip, addr.port(), Some(&p.root), &c).await;
    let tls = r.tls.unwrap();
    assert_eq!(tls.status, TlsStatus::Alert, "{version}: {tls:?}");
    assert!(tls.detail.unwrap().contains("rejected the one presented"));
}

#[tokio::test]
async fn client_auth_tls13() {
    client_auth_case(&[&rustls::version::TLS13], "TLSv1.3").await;
}

#[tokio::test]
async fn client_auth_tls12() {
    client_auth_case(&[&rustls::version::TLS12], "TLSv1.2").await;
}

#[tokio::test]
async fn an_impostor_is_an_error_and_never_sent_to_legacy_capture() {
    let ip: &str = &net::address().to_string();
    let p = pki(ip);
    let terminals = Ca::root("Test Terminal CA");
    for (versions, client_ca) in [
        (&[&rustls::version::TLS13][..], None),
        (&[&rustls::version::TLS12][..], None),
        (rustls::ALL_VERSIONS, None),
        // Asking for a client certificate first changes nothing: rustls
        // records the request before it checks the server's signature.
        (&[&rustls::version::TLS13][..], Some(&terminals)),
        (&[&rustls::version::TLS12][..], Some(&terminals)),
    ] {
        let cfg = impostor_config(&p.chain, versions, client_ca);
        let addr = serve(ip, 0, Behaviour::Tls(cfg)).await;
        let r = check_one(ip, addr.port(), Some(&p.root), &config(3000, 1)).await;
        let tls = r.tls.unwrap();
        let what = format!("{versions:?} client auth {}", client_ca.is_some());
        assert_eq!(tls.status, TlsStatus::Error, "{what}: {tls:?}");
        assert_eq!(tls.stack, TlsStack::Rustls, "{what}: {tls:?}");
        let detail = tls.detail.unwrap();
        assert!(detail.starts_with(IMPOSTOR), "{what}: {detail}");
        assert!(!detail.contains("legacy capture"), "{what}: {detail}");
        assert_eq!(tls.client_auth.is_some(), client_ca.is_some(), "{what}");
    }
}

/// A TLS 1.2 server on `ip` that asks for a terminal's certificate and then
/// misbehaves `how`; its PKI and address.
async fn tls12_client_auth_misbehaving(ip: &str, how: Misbehaviour) -> (Pki, SocketAddr) {
    let p = pki(ip);
    let terminals = Ca::root("Test Terminal CA");
    let cfg = server_config(
        &p.chain,
        &p.key,
        &[&rustls::version::TLS12],
        Some(&terminals),
    );
    let addr = serve(ip, 0, Behaviour::Manual(cfg, how)).await;
    (p, addr)
}

#[tokio::test]
async fn tls12_silence_after_a_certificate_request_is_a_timeout() {
    let ip: &str = &net::address().to_string();
    let (p, addr) = tls12_client_auth_misbehaving(ip, Misbehaviour::SilentAfterFirstFlight).await;
    let r = check_one(ip, addr.port(), Some(&p.root), &config(1000, 1)).await;
    let tls = r.tls.unwrap();
    assert_eq!(tls.status, TlsStatus::Timeout, "{tls:?}");
    assert!(tls.client_auth.is_some(), "the request is still recorded");
    assert!(tls.detail.unwrap().contains("within 1 s"));
}

#[tokio::test]
async fn a_client_certificate_refused_with_handshake_failure_is_no_legacy_server() {
    let ip: &str = &net::address().to_string();
    let (p, addr) = tls12_client_auth_misbehaving(ip, Misbehaviour::AlertInstead(40)).await;

    // With an identity the server refuses: an alert, not a legacy capture
    // that would turn it into client_auth_required.
    let mut c = config(3000, 1);
    c.client_identity = Some(identity(&Ca::root("Somebody Else"), "terminal-0002"));
    let r = check_one(ip, addr.port(), Some(&p.root), &c).await;
    let tls = r.tls.unwrap();
    assert_eq!(tls.status, TlsStatus::Alert, "{tls:?}");
    assert_eq!(tls.alert.as_deref(), Some("handshake_failure"));
    assert_eq!(tls.stack, TlsStack::Rustls);
    let detail = tls.detail.unwrap();
    assert!(detail.contains("rejected the one presented"), "{detail}");
    assert!(!detail.contains("legacy capture"), "{detail}");

    // Without one: the TLS 1.2 refusal after the request is client_auth_required.
    let r = check_one(ip, addr.port(), Some(&p.root), &config(3000, 1)).await;
    let tls = r.tls.unwrap();
    assert_eq!(tls.status, TlsStatus::ClientAuthRequired, "{tls:?}");
    assert_eq!(tls.stack, TlsStack::Rustls);
    assert!(tls.client_auth.is_some());
}

#[tokio::test]
async fn allow_list_refusal_sends_no_packet() {
    let ip: &str = &net::address().to_string();
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let t = targets(dir.path(), &[ip], &[port], None);
    let mut c = config(1000, 3);
    c.allow = AllowList::new(
        vec![net::network().cidr().parse().unwrap()],
        AllowList::ceiling_from_env().unwrap(),
    );
    let r = probe::check(&t, &c).await.remove(0);
    assert_eq!(r.tcp.status, TcpStatus::Error);
    assert_eq!(r.tcp.attempts, 0);
    assert!(r.tcp.detail.unwrap().contains("allow-list"));
    assert!(r.tls.is_none());
    let accepted = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
    assert!(accepted.is_err(), "the refused address saw a connection");
}

#[tokio::test]
async fn four_silent_targets_finish_in_well_under_two_seconds() {
    let net = net::network();
    let (a, b) = (&net.host(1).to_string(), &net.host(2).to_string());
    let first = serve(a, 0, Behaviour::Silent).await;
    let second = serve(a, 0, Behaviour::Silent).await;
    serve(b, first.port(), Behaviour::Silent).await;
    serve(b, second.port(), Behaviour::Silent).await;
    let dir = tempfile::tempdir().unwrap();
    let t = targets(dir.path(), &[a, b], &[first.port(), second.port()], None);
    let start = Instant::now();
    let results = probe::check(&t, &config(1000, 3)).await;
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(results.len(), 4);
    // Site order, then port order.
    let order: Vec<(String, u16)> = results.iter().map(|r| (r.site.clone(), r.port)).collect();
    assert_eq!(
        order,
        vec![
            ("s0".into(), first.port()),
            ("s0".into(), second.port()),
            ("s1".into(), first.port()),
            ("s1".into(), second.port()),
        ]
    );
    for r in results {
        assert_eq!(r.tls.unwrap().status, TlsStatus::Timeout);
    }
}

#[tokio::test]
async fn hostnames_resolve_without_leaving_loopback() {
    let p = pki("localhost");
    let cfg = server_config(&p.chain, &p.key, rustls::ALL_VERSIONS, None);
    let addr = serve("127.0.0.1", 0, Behaviour::Tls(cfg)).await;
    let dir = tempfile::tempdir().unwrap();
    let t = targets(
        dir.path(),
        &["localhost", "gateway.invalid"],
        &[addr.port()],
        Some(&p.root),
    );
    // The only DNS server is a closed loopback port: no query leaves the machine.
    let dns = DnsSetup::single_udp(SocketAddr::new(net::address(), 9));
    let results = probe::check_with_dns(&t, &config(2000, 1), &dns).await;

    let local = &results[0];
    let d = local.dns.as_ref().unwrap();
    assert_eq!(d.status, DnsStatus::Ok, "{d:?}");
    assert_eq!(local.ip, Some("127.0.0.1".parse().unwrap()));
    assert_eq!(local.address, "localhost");
    let tls = local.tls.as_ref().unwrap();
    assert_eq!(tls.status, TlsStatus::Ok, "{tls:?}");
    assert_eq!(tls.ca_family, Some(CaFamily::Stca2));

    let invalid = &results[1];
    assert_eq!(invalid.dns.as_ref().unwrap().status, DnsStatus::Nxdomain);
    assert_eq!(invalid.tcp.status, TcpStatus::Error);
    assert_eq!(invalid.tcp.attempts, 0);
    assert!(invalid.ip.is_none());
}

#[test]
fn client_identity_from_pem_files_names_the_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::root("Test Terminal CA");
    let mut params = CertificateParams::new(vec!["terminal".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "terminal");
    let key = KeyPair::generate().unwrap();
    let cert = params
        .signed_by(&key, &Issuer::from_params(&ca.params, &ca.key))
        .unwrap();
    let cert_path = dir.path().join("client.pem");
    let key_path = dir.path().join("client.key");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let id = ClientIdentity::from_pem_files(&cert_path, &key_path).unwrap();
    assert_eq!(id.chain.len(), 1);

    // A key that does not belong to the certificate.
    let other = dir.path().join("other.key");
    std::fs::write(&other, KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let e = ClientIdentity::from_pem_files(&cert_path, &other)
        .unwrap_err()
        .to_string();
    assert!(e.contains("other.key"), "{e}");

    // Not a certificate / missing file.
    let e = ClientIdentity::from_pem_files(&key_path, &key_path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("client.key"), "{e}");
    let missing = dir.path().join("missing.pem");
    let e = ClientIdentity::from_pem_files(&missing, &key_path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.pem"), "{e}");
}
