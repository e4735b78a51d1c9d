//! Legacy capture against real OpenSSL servers (`openssl s_server`), the
//! closest thing to an old gateway stack the test machine has.
//!
//! Each test starts its own `s_server` on a distinct 127.0.41.N address,
//! waits for it to listen, and kills it on drop. When the `openssl` command
//! is missing the tests print a loud SKIPPED line and pass (CI installs it).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use stca2_probe::cert::{self, Anchor, CaFamily, SignatureVerified};
use stca2_probe::probe::legacy::{LegacyCapture, capture};
use tokio::net::TcpStream;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sha1");
const TIMEOUT: Duration = Duration::from_secs(5);

fn openssl_available() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!(
            "\n==== SKIPPED: openssl not installed (these tests need the openssl CLI) ====\n"
        );
    }
    ok
}

/// A running `openssl s_server`, killed when dropped.
struct SServer {
    child: Child,
    addr: SocketAddr,
}

impl SServer {
    /// Starts `openssl s_server -accept <ip>:<free port> <args>` and waits
    /// (at most 15 s) until it prints ACCEPT.
    fn start(ip: &str, args: &[&str]) -> SServer {
        let port = std::net::TcpListener::bind((ip, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
        let mut child = Command::new("openssl")
            .arg("s_server")
            .arg("-accept")
            .arg(addr.to_string())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn openssl s_server");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        // Drain both pipes for the server's whole life so it never blocks on them.
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx2.send(format!("stderr: {line}"));
            }
        });
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let mut server = SServer { child, addr };
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(line) if line.trim() == "ACCEPT" => return server,
                Ok(line) => seen.push(line),
                Err(_) => {
                    if let Ok(Some(status)) = server.child.try_wait() {
                        panic!("openssl s_server exited ({status}): {}", seen.join("\n"));
                    }
                    if left.is_zero() {
                        panic!(
                            "openssl s_server did not listen within 15 s: {}",
                            seen.join("\n")
                        );
                    }
                }
            }
        }
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn legacy_capture(addr: SocketAddr) -> LegacyCapture {
    let stream = TcpStream::connect(addr).await.unwrap();
    capture(stream, None, TIMEOUT).await.unwrap()
}

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

fn der(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// A verifier that accepts any certificate: the test only wants to see
/// whether rustls can negotiate at all.
#[derive(Debug)]
struct AcceptAnything(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

async fn rustls_handshake(addr: SocketAddr) -> Result<(), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider)))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let stream = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::IpAddress(addr.ip().into());
    match tokio::time::timeout(TIMEOUT, connector.connect(name, stream)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timeout".into()),
    }
}

/// PEM files for an rcgen-made hierarchy, in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    /// The root, as the family anchor.
    root_der: Vec<u8>,
    /// The leaf, DER.
    leaf_der: Vec<u8>,
}

impl Pki {
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(DnType::OrganizationName, "PayCert Lab");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

/// A root named `root_cn` and a leaf for 127.0.0.1 it signs; `expired` puts
/// the leaf's validity in the past. With `root_cn = None` the leaf is
/// self-signed (an interceptor's throwaway certificate).
fn make_pki(root_cn: Option<&str>, expired: bool) -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let mut leaf = CertificateParams::new(vec!["gateway.lab".to_string()]).unwrap();
    leaf.subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
    leaf.distinguished_name
        .push(DnType::CommonName, "gateway.lab");
    leaf.use_authority_key_identifier_extension = true;
    if expired {
        let now = ::time::OffsetDateTime::now_utc();
        leaf.not_before = now - ::time::Duration::days(400);
        leaf.not_after = now - ::time::Duration::days(10);
    }
    let leaf_key = KeyPair::generate().unwrap();
    let (leaf_cert, root_der) = match root_cn {
        Some(cn) => {
            let root =
                CertifiedIssuer::self_signed(ca_params(cn), KeyPair::generate().unwrap()).unwrap();
            std::fs::write(dir.path().join("root.pem"), root.pem()).unwrap();
            (
                leaf.signed_by(&leaf_key, &root).unwrap(),
                root.der().to_vec(),
            )
        }
        None => {
            let c = leaf.self_signed(&leaf_key).unwrap();
            let d = c.der().to_vec();
            (c, d)
        }
    };
    std::fs::write(dir.path().join("leaf.pem"), leaf_cert.pem()).unwrap();
    std::fs::write(dir.path().join("leaf.key"), leaf_key.serialize_pem()).unwrap();
    Pki {
        leaf_der: leaf_cert.der().to_vec(),
        root_der,
        dir,
    }
}

#[tokio::test]
async fn sha1_stca_tls12_rsa_only_server_is_captured_as_stca() {
    if !openssl_available() {
        return;
    }
    let server = SServer::start(
        "127.0.41.1",
        &[
            "-cert",
            &fixture("leaf.pem"),
            "-key",
            &fixture("leaf.key"),
            "-cert_chain",
            &fixture("inter.pem"),
            "-tls1_2",
            "-cipher",
            "AES128-SHA:@SECLEVEL=0",
        ],
    );
    // rustls cannot negotiate RSA key exchange with CBC: the server refuses it.
    let err = rustls_handshake(server.addr)
        .await
        .expect_err("rustls must fail against an AES128-SHA-only server");
    assert!(
        err.contains("HandshakeFailure") || err.contains("handshake"),
        "unexpected rustls failure: {err}"
    );

    let cap = legacy_capture(server.addr).await;
    assert_eq!(cap.version, "TLSv1.2");
    assert_eq!(cap.cipher, "TLS_RSA_WITH_AES_128_CBC_SHA");
    assert_eq!(cap.chain, vec![der("leaf.der"), der("inter.der")]);
    assert_eq!(cap.client_auth, None);

    let stca = vec![Anchor::from_der(&der("root.der")).unwrap()];
    let class = cert::classify(&cap.chain, &[(CaFamily::Stca, &stca)]);
    assert_eq!(class.family, CaFamily::Stca);
    assert_eq!(class.signature_verified, SignatureVerified::True);
}

#[tokio::test]
async fn tls12_client_auth_request_lists_the_ca_names() {
    if !openssl_available() {
        return;
    }
    let pki = make_pki(Some("STCA2 Root CA (lab)"), false);
    // Accepted CA names: the STCA2 root and the SHA-1 STCA root.
    let cafile = pki.path("accepted.pem");
    let mut names = std::fs::read_to_string(pki.path("root.pem")).unwrap();
    names.push_str(&std::fs::read_to_string(fixture("root.pem")).unwrap());
    std::fs::write(&cafile, names).unwrap();
    let server = SServer::start(
        "127.0.41.2",
        &[
            "-cert",
            &pki.path("leaf.pem"),
            "-key",
            &pki.path("leaf.key"),
            "-tls1_2",
            "-Verify",
            "1",
            "-CAfile",
            &cafile,
        ],
    );
    let cap = legacy_capture(server.addr).await;
    assert_eq!(cap.version, "TLSv1.2");
    assert!(cap.cipher.starts_with("TLS_ECDHE_"), "{}", cap.cipher);
    // s_server completes the chain from -CAfile: the leaf comes first.
    assert_eq!(cap.chain.first(), Some(&pki.leaf_der));
    let stca2_root = cert::CertInfo::from_der(&pki.root_der, ::time::OffsetDateTime::now_utc())
        .unwrap()
        .subject;
    assert!(
        stca2_root.contains("CN=STCA2 Root CA (lab)"),
        "{stca2_root}"
    );
    assert_eq!(
        cap.client_auth,
        Some(vec![
            stca2_root,
            "CN=STCA Root CA (lab),O=STCA Lab,C=FR".to_string(),
        ])
    );
}

fn lab_families(stca2_root: &[u8]) -> (Vec<Anchor>, Vec<Anchor>) {
    (
        vec![Anchor::from_der(stca2_root).unwrap()],
        vec![Anchor::from_der(&der("root.der")).unwrap()],
    )
}

#[tokio::test]
async fn self_signed_interceptor_is_unknown() {
    if !openssl_available() {
        return;
    }
    let stca2 = make_pki(Some("STCA2 Root CA (lab)"), false);
    let interceptor = make_pki(None, false);
    let server = SServer::start(
        "127.0.41.3",
        &[
            "-cert",
            &interceptor.path("leaf.pem"),
            "-key",
            &interceptor.path("leaf.key"),
        ],
    );
    let cap = legacy_capture(server.addr).await;
    assert_eq!(cap.chain, vec![interceptor.leaf_der.clone()]);
    let (stca2_anchors, stca_anchors) = lab_families(&stca2.root_der);
    let class = cert::classify(
        &cap.chain,
        &[
            (CaFamily::Stca2, &stca2_anchors),
            (CaFamily::Stca, &stca_anchors),
        ],
    );
    assert_eq!(class.family, CaFamily::Unknown);
    assert_eq!(class.signature_verified, SignatureVerified::False);
}

#[tokio::test]
async fn expired_stca2_leaf_has_negative_days_to_expiry() {
    if !openssl_available() {
        return;
    }
    let pki = make_pki(Some("STCA2 Root CA (lab)"), true);
    let server = SServer::start(
        "127.0.41.4",
        &[
            "-cert",
            &pki.path("leaf.pem"),
            "-key",
            &pki.path("leaf.key"),
        ],
    );
    let cap = legacy_capture(server.addr).await;
    assert_eq!(cap.chain, vec![pki.leaf_der.clone()]);
    let (infos, errors) =
        cert::describe_chain(&cap.chain, ::time::OffsetDateTime::now_utc(), false);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        (-11..=-10).contains(&infos[0].days_to_expiry),
        "days_to_expiry {}",
        infos[0].days_to_expiry
    );
    let (stca2_anchors, stca_anchors) = lab_families(&pki.root_der);
    let class = cert::classify(
        &cap.chain,
        &[
            (CaFamily::Stca2, &stca2_anchors),
            (CaFamily::Stca, &stca_anchors),
        ],
    );
    assert_eq!(class.family, CaFamily::Stca2);
    assert_eq!(class.signature_verified, SignatureVerified::True);
}

#[test]
fn fixtures_are_what_the_script_says() {
    // Independent of openssl: the committed chain is SHA-1 signed, root to leaf.
    for name in ["root.der", "inter.der", "leaf.der"] {
        let d = der(name);
        let info = cert::CertInfo::from_der(&d, ::time::OffsetDateTime::now_utc()).unwrap();
        assert_eq!(info.signature_algorithm, "sha1WithRSAEncryption", "{name}");
        assert_eq!(info.key_bits, Some(2048));
    }
    assert!(Path::new(&fixture("chain.pem")).exists());
}
