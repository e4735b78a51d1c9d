//! The loopback lab, end to end: listeners per behaviour, TLS chains against
//! a real rustls client, PEM files, the generated target file, shutdown.
//!
//! Every test runs its labs in a loopback /24 of its own ([`net::network`]),
//! on the real ports, so tests can run in parallel. Nothing here leaves
//! 127.0.0.0/8.

use std::io;
use std::net::{IpAddr, SocketAddr};

use crate::util::net::{self, Net};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};
use stca2_engine::cert::{Anchor, classify};
use stca2_engine::probe::tls::provider;
use stca2_engine::targets::TargetSet;
use stca2_lab::{Behaviour, GARBAGE, Lab, LabConfig, LabError, LabPki, Scenario};
use stca2_report::CaFamily;
use stca2_report::{Role, Service};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Generous bound for anything that should be quick on loopback.
const QUICK: Duration = Duration::from_secs(10);

fn config(net: Net, scenario: Scenario, dir: &Path) -> LabConfig {
    let (primary, secondary) = net.sites();
    let mut c = LabConfig::new(scenario);
    c.primary = primary;
    c.secondary = secondary;
    c.ca_dir = dir.join("lab-ca");
    c
}

async fn start(net: Net, scenario: &str, dir: &Path) -> Lab {
    Lab::start(config(net, Scenario::named(scenario).unwrap(), dir))
        .await
        .unwrap()
}

fn addr(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

/// A client trusting `roots`, all protocol versions, optionally with the lab's terminal identity.
fn client(roots: &[&CertificateDer<'static>], identity: Option<&LabPki>) -> Arc<ClientConfig> {
    client_versions(roots, identity, rustls::DEFAULT_VERSIONS)
}

fn client_versions(
    roots: &[&CertificateDer<'static>],
    identity: Option<&LabPki>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut store = RootCertStore::empty();
    for r in roots {
        store.add((*r).clone()).unwrap();
    }
    let b = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(store);
    Arc::new(match identity {
        None => b.with_no_client_auth(),
        Some(pki) => b
            .with_client_auth_cert(pki.client().chain().to_vec(), pki.client().key())
            .unwrap(),
    })
}

async fn handshake(to: SocketAddr, config: Arc<ClientConfig>) -> io::Result<TlsStream<TcpStream>> {
    let tcp = tokio::time::timeout(QUICK, TcpStream::connect(to))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect"))??;
    let name = ServerName::IpAddress(to.ip().into());
    tokio::time::timeout(QUICK, TlsConnector::from(config).connect(name, tcp))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "handshake"))?
}

fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
}

/// Asserts that the I/O error `e` carries a rustls error matching `pattern`.
macro_rules! assert_rustls_error {
    ($e:expr, $pattern:pat) => {{
        let e = &$e;
        assert!(matches!(rustls_error(e), Some($pattern)), "{e:?}");
    }};
    ($e:expr, $pattern:pat, $what:expr) => {{
        let e = &$e;
        assert!(
            matches!(rustls_error(e), Some($pattern)),
            "{}: {e:?}",
            $what
        );
    }};
}

/// A handshake with `to` by a client that trusts the lab's STCA2 root only.
async fn stca2_handshake(lab: &Lab, to: SocketAddr) -> io::Result<TlsStream<TcpStream>> {
    handshake(to, client(&[lab.pki().stca2_root()], None)).await
}

/// `to` presents a chain that is not STCA2: a client trusting only STCA2
/// refuses it as from an unknown issuer, one trusting `root` completes.
/// Returns the chain presented.
async fn chain_trusted_by(
    lab: &Lab,
    to: SocketAddr,
    root: &CertificateDer<'static>,
) -> Vec<Vec<u8>> {
    let e = stca2_handshake(lab, to).await.unwrap_err();
    assert_rustls_error!(
        e,
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        to
    );
    let tls = handshake(to, client(&[root], None)).await.unwrap();
    presented(&tls)
}

/// Connects to `to` and sends a TLS record header with a 5-byte body.
async fn send_hello(to: SocketAddr) -> TcpStream {
    let mut tcp = connect(to).await.unwrap();
    tcp.write_all(b"\x16\x03\x01\x00\x05hello").await.unwrap();
    tcp
}

/// A lab where every endpoint behaves as `b`.
async fn start_uniform(net: Net, b: Behaviour, dir: &Path) -> Lab {
    Lab::start(config(net, Scenario::uniform(b), dir))
        .await
        .unwrap()
}

fn assert_refused(r: io::Result<TcpStream>, what: &str) {
    match r {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{what}: {e}"),
        Ok(_) => panic!("{what}: expected connection refused, got a connection"),
    }
}

async fn connect(to: SocketAddr) -> io::Result<TcpStream> {
    tokio::time::timeout(QUICK, TcpStream::connect(to))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect"))?
}

fn presented(tls: &TlsStream<TcpStream>) -> Vec<Vec<u8>> {
    tls.get_ref()
        .1
        .peer_certificates()
        .unwrap()
        .iter()
        .map(|c| c.to_vec())
        .collect()
}

fn family(pki: &LabPki, chain: &[Vec<u8>]) -> CaFamily {
    let stca2 = vec![Anchor::from_der(pki.stca2_root()).unwrap()];
    let stca = vec![Anchor::from_der(pki.stca_root()).unwrap()];
    classify(
        chain,
        &[
            (CaFamily::Stca2, stca2.as_slice()),
            (CaFamily::Stca, stca.as_slice()),
        ],
    )
    .family
}

#[tokio::test]
async fn healthy_serves_stca2_and_asks_for_a_client_certificate_on_7212() {
    let dir = tempfile::tempdir().unwrap();
    let net = net::network();
    let lab = start(net, "healthy", dir.path()).await;
    let (p, s) = net.sites();
    assert_eq!(lab.endpoints().len(), 4);
    assert!(
        lab.endpoints()
            .iter()
            .all(|e| e.behaviour != Behaviour::Closed)
    );
    let trust = client(&[lab.pki().stca2_root()], None);

    for ip in [p, s] {
        let tls = handshake(addr(ip, 1146), trust.clone()).await.unwrap();
        let chain = presented(&tls);
        assert_eq!(chain.len(), 2, "leaf + intermediate");
        assert_eq!(chain[1], lab.pki().stca2_intermediate().to_vec());
        assert_eq!(family(lab.pki(), &chain), CaFamily::Stca2);
        assert_eq!(
            tls.get_ref().1.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
    }

    // 7212 without a client certificate: TLS 1.3 completes on the client's
    // side, then the server's certificate_required alert arrives on read.
    let mut tls = handshake(addr(p, 7212), trust.clone()).await.unwrap();
    assert_eq!(family(lab.pki(), &presented(&tls)), CaFamily::Stca2);
    let mut buf = [0u8; 16];
    let e = tokio::time::timeout(QUICK, tls.read(&mut buf))
        .await
        .unwrap()
        .unwrap_err();
    assert_rustls_error!(
        e,
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired)
    );

    // ... and in TLS 1.2 the refusal comes during the handshake.
    let tls12 = client_versions(&[lab.pki().stca2_root()], None, &[&rustls::version::TLS12]);
    let e = handshake(addr(s, 7212), tls12).await.unwrap_err();
    assert_rustls_error!(e, rustls::Error::AlertReceived(_));

    // With the lab's terminal certificate the mutual handshake completes and
    // the server then waits for the client to close.
    let mutual = client(&[lab.pki().stca2_root()], Some(lab.pki()));
    let mut tls = handshake(addr(s, 7212), mutual).await.unwrap();
    tls.write_all(b"ping").await.unwrap();
    tls.flush().await.unwrap();
    let r = tokio::time::timeout(Duration::from_millis(300), tls.read(&mut buf)).await;
    assert!(r.is_err(), "the server keeps the session open: {r:?}");
    lab.shutdown().await;
}

#[tokio::test]
async fn blocked_scenarios_refuse_connections_where_they_should() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("primary-blocked", [false, false, true, true]),
        ("secondary-blocked", [true, true, false, false]),
        ("both-blocked", [false, false, false, false]),
    ];
    for (name, open) in cases {
        let net = net::network();
        let lab = start(net, name, dir.path()).await;
        let (p, s) = net.sites();
        let targets = [addr(p, 1146), addr(p, 7212), addr(s, 1146), addr(s, 7212)];
        for (to, open) in targets.into_iter().zip(open) {
            let ep = lab.endpoints().iter().find(|e| e.addr == to).unwrap();
            assert_eq!(ep.behaviour == Behaviour::Closed, !open, "{name} {to}");
            let r = connect(to).await;
            if open {
                assert!(r.is_ok(), "{name} {to}: {r:?}");
            } else {
                assert_refused(r, &format!("{name} {to}"));
            }
        }
        lab.shutdown().await;
    }
}

#[tokio::test]
async fn old_ca_serves_the_stca_chain() {
    let dir = tempfile::tempdir().unwrap();
    let net = net::network();
    let lab = start(net, "old-ca", dir.path()).await;
    let (p, s) = net.sites();
    for to in [addr(p, 1146), addr(s, 7212)] {
        let chain = chain_trusted_by(&lab, to, lab.pki().stca_root()).await;
        assert_eq!(family(lab.pki(), &chain), CaFamily::Stca);
    }
    lab.shutdown().await;
}

#[tokio::test]
async fn intercepted_serves_a_chain_of_no_family() {
    let dir = tempfile::tempdir().unwrap();
    let net = net::network();
    let lab = start(net, "intercepted", dir.path()).await;
    let (p, s) = net.sites();
    for to in [addr(p, 1146), addr(s, 1146), addr(p, 7212)] {
        let chain = chain_trusted_by(&lab, to, lab.pki().interceptor_root()).await;
        assert_eq!(family(lab.pki(), &chain), CaFamily::Unknown);
        // The forged leaf copies the gateway's subject.
        let forged =
            stca2_engine::cert::describe(&chain[0], time::OffsetDateTime::now_utc()).unwrap();
        assert!(
            forged.subject.contains("lab.stca2.invalid"),
            "{}",
            forged.subject
        );
    }
    lab.shutdown().await;
}

#[tokio::test]
async fn expired_serves_an_expired_stca2_leaf() {
    let dir = tempfile::tempdir().unwrap();
    let net = net::network();
    let lab = start(net, "expired", dir.path()).await;
    let (p, _) = net.sites();
    let e = stca2_handshake(&lab, addr(p, 1146)).await.unwrap_err();
    assert_rustls_error!(
        e,
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        )
    );
    lab.shutdown().await;
}

#[tokio::test]
async fn mixed_scenario_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let net = net::network();
    let lab = start(net, "mixed", dir.path()).await;
    let (p, s) = net.sites();
    let trust = client(&[lab.pki().stca2_root()], None);
    let tls = handshake(addr(p, 1146), trust.clone()).await.unwrap();
    assert_eq!(family(lab.pki(), &presented(&tls)), CaFamily::Stca2);
    let mutual = client(&[lab.pki().stca2_root()], Some(lab.pki()));
    handshake(addr(p, 7212), mutual).await.unwrap();

    // Secondary 1146 is silent: TCP opens, no byte ever comes back.
    let mut tcp = send_hello(addr(s, 1146)).await;
    let mut buf = [0u8; 16];
    let r = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut buf)).await;
    assert!(r.is_err(), "silent endpoint answered: {r:?}");

    assert_refused(connect(addr(s, 7212)).await, "secondary 7212");
    lab.shutdown().await;
}

#[tokio::test]
async fn reset_after_hello_resets() {
    let dir = tempfile::tempdir().unwrap();
    let net = net::network();
    let lab = start_uniform(net, Behaviour::ResetAfterHello, dir.path()).await;
    assert_eq!(lab.scenario().name, "reset-after-hello");
    let (p, s) = net.sites();
    let e = stca2_handshake(&lab, addr(p, 1146)).await.unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e:?}");

    // Raw: a record header and body, then the reset.
    let mut tcp = send_hello(addr(s, 7212)).await;
    let mut buf = [0u8; 16];
    let e = tokio::time::timeout(QUICK, tcp.read(&mut buf))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e:?}");
    lab.shutdown().await;
}

#[tokio::test]
async fn garbage_answers_http() {
    let dir = tempfile::tempdir().unwrap();
    let net = net::network();
    let lab = start_uniform(net, Behaviour::Garbage, dir.path()).await;
    let (p, s) = net.sites();
    let mut tcp = send_hello(addr(p, 1146)).await;
    let mut got = Vec::new();
    tokio::time::timeout(QUICK, tcp.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, GARBAGE);

    let e = stca2_handshake(&lab, addr(s, 1146)).await.unwrap_err();
    assert_rustls_error!(e, rustls::Error::InvalidMessage(_));
    lab.shutdown().await;
}

#[tokio::test]
async fn tls12_only_refuses_tls13() {
    let dir = tempfile::tempdir().unwrap();
    let net = net::network();
    let lab = start_uniform(net, Behaviour::Tls12Only, dir.path()).await;
    let (p, _) = net.sites();
    let tls = stca2_handshake(&lab, addr(p, 1146)).await.unwrap();
    assert_eq!(
        tls.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(family(lab.pki(), &presented(&tls)), CaFamily::Stca2);
    let only13 = client_versions(&[lab.pki().stca2_root()], None, &[&rustls::version::TLS13]);
    let e = handshake(addr(p, 7212), only13).await.unwrap_err();
    assert_rustls_error!(e, rustls::Error::AlertReceived(_));
    lab.shutdown().await;
}

#[tokio::test]
async fn slow_answers_after_the_delay() {
    let dir = tempfile::tempdir().unwrap();
    let net = net::network();
    let mut c = config(net, Scenario::named("slow").unwrap(), dir.path());
    c.slow_delay = Duration::from_millis(800);
    let lab = Lab::start(c).await.unwrap();
    let (p, _) = net.sites();
    assert_eq!(
        lab.scenario().behaviour(Role::Primary, 1146),
        Behaviour::Slow
    );
    let t = Instant::now();
    let tls = stca2_handshake(&lab, addr(p, 1146)).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(750),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(family(lab.pki(), &presented(&tls)), CaFamily::Stca2);
    lab.shutdown().await;
}

#[tokio::test]
async fn pem_files_and_target_file_load() {
    let dir = tempfile::tempdir().unwrap();
    let net = net::network();
    let lab = start(net, "mixed", dir.path()).await;
    let ca = dir.path().join("lab-ca");
    for (file, der) in [
        ("stca2-root.pem", lab.pki().stca2_root()),
        ("stca-root.pem", lab.pki().stca_root()),
        ("interceptor-root.pem", lab.pki().interceptor_root()),
        ("client-ca.pem", lab.pki().client_ca()),
        ("client.pem", lab.pki().client().leaf()),
    ] {
        let pem = std::fs::read(ca.join(file)).unwrap();
        let anchors = Anchor::from_pem(&pem).unwrap();
        assert_eq!(anchors[0].der, der.to_vec(), "{file}");
        // stca-root.pem also carries the committed SHA-1 root the legacy responder's chain uses.
        let want = if file == "stca-root.pem" { 2 } else { 1 };
        assert_eq!(anchors.len(), want, "{file}");
    }
    let key_pem = std::fs::read(ca.join("client-key.pem")).unwrap();
    {
        use rustls::pki_types::PrivateKeyDer;
        use rustls::pki_types::pem::PemObject;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).unwrap();
        assert_eq!(key.secret_der(), lab.pki().client().key().secret_der());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ca.join("client-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "private key readable by others: {mode:o}");
    }

    // Next to the PEM folder: relative anchors.
    let target = dir.path().join("lab.toml");
    lab.write_target_file(&target).unwrap();
    let text = std::fs::read_to_string(&target).unwrap();
    assert!(text.contains("\"lab-ca/stca2-root.pem\""), "{text}");
    let set = TargetSet::load(&target).unwrap();
    let (p, s) = net.sites();
    assert_eq!(set.name, "lab");
    assert_eq!(set.literal_addresses(), vec![p, s]);
    assert_eq!(set.sites[0].role, Role::Primary);
    assert_eq!(set.sites[0].name, "toulouse");
    assert_eq!(set.sites[1].role, Role::Secondary);
    assert_eq!(
        set.ports
            .iter()
            .map(|p| (p.number, p.service))
            .collect::<Vec<_>>(),
        vec![(1146, Service::Stca2), (7212, Service::Declaration)]
    );
    assert_eq!(set.allow.as_ref().unwrap()[0].to_string(), "127.0.0.0/8");
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    let fam = |f: CaFamily| set.families.iter().find(|x| x.family == f).unwrap();
    assert_eq!(
        fam(CaFamily::Stca2).anchors[0].der,
        lab.pki().stca2_root().to_vec()
    );
    assert_eq!(
        fam(CaFamily::Stca).anchors[0].der,
        lab.pki().stca_root().to_vec()
    );

    // Elsewhere: still loads (a relative path climbing out, or absolute).
    let nested = dir.path().join("a/b");
    std::fs::create_dir_all(&nested).unwrap();
    lab.write_target_file(&nested.join("lab.toml")).unwrap();
    let set = TargetSet::load(&nested.join("lab.toml")).unwrap();
    assert!(set.has_anchors());
    lab.shutdown().await;
}

#[tokio::test]
async fn shutdown_and_drop_close_every_listener() {
    let dir = tempfile::tempdir().unwrap();
    let net = net::network();
    let lab = start(net, "healthy", dir.path()).await;
    let (p, s) = net.sites();
    // An open connection, to check that stopping also ends connections.
    let mut held = connect(addr(p, 1146)).await.unwrap();
    for ip in [p, s] {
        connect(addr(ip, 7212)).await.unwrap();
    }
    lab.shutdown().await;
    for ip in [p, s] {
        for port in [1146, 7212] {
            assert_refused(connect(addr(ip, port)).await, "after shutdown");
        }
    }
    let mut buf = [0u8; 8];
    let r = tokio::time::timeout(QUICK, held.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");

    // Dropping: the aborted tasks release their sockets as soon as the runtime
    // drops them; poll with a generous bound.
    let lab = start(net, "healthy", dir.path()).await;
    connect(addr(p, 1146)).await.unwrap();
    drop(lab);
    let deadline = Instant::now() + QUICK;
    loop {
        match connect(addr(p, 1146)).await {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => break,
            other => {
                assert!(Instant::now() < deadline, "still listening: {other:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

#[tokio::test]
async fn a_second_lab_on_the_same_addresses_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let net = net::network();
    let first = start(net, "healthy", dir.path()).await;
    let e = Lab::start(config(net, Scenario::named("healthy").unwrap(), dir.path()))
        .await
        .unwrap_err();
    assert!(matches!(e, LabError::Bind { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("{}:1146", net.sites().0))
            && msg.contains("another `stca2-probe lab`"),
        "{msg}"
    );
    // The failed start left the first lab serving.
    stca2_handshake(&first, addr(net.sites().0, 1146))
        .await
        .unwrap();
    first.shutdown().await;
}

#[tokio::test]
async fn every_behaviour_starts_and_closed_is_the_only_one_not_listening() {
    let dir = tempfile::tempdir().unwrap();
    for b in Behaviour::ALL {
        let net = net::network();
        let mut c = config(net, Scenario::uniform(b), dir.path());
        c.ports = vec![1146];
        let lab = Lab::start(c).await.unwrap();
        let r = connect(addr(net.sites().0, 1146)).await;
        if b == Behaviour::Closed {
            assert_refused(r, "closed");
        } else {
            assert!(r.is_ok(), "{b}: {r:?}");
        }
        assert!(lab.endpoints().iter().all(|e| e.behaviour == b));
        assert!(lab.endpoints()[0].to_string().contains(b.as_str()));
        lab.shutdown().await;
    }
}
