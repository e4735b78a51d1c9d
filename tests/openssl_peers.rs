//! Legacy capture against real OpenSSL servers (`openssl s_server`), the
//! closest thing to an old gateway stack the test machine has.
//!
//! Each test starts its own `s_server` (tests/util/openssl.rs) on an
//! address of its own, waits for it to listen, and kills it on drop. When
//! the `openssl` command is missing the tests print a loud SKIPPED line and pass (CI installs it).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::util::openssl::{
    RSA_KX_TLS12, SHA1_STCA_ROOT, SServer, ca_params, der, fixture, leaf_params, openssl_available,
};
use rcgen::{CertifiedIssuer, KeyPair};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use stca2_engine::cert::{self, Anchor, Classification};
use stca2_engine::probe::legacy::{LegacyCapture, capture};
use stca2_report::{CaFamily, SignatureVerified};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(5);

async fn legacy_capture(addr: SocketAddr) -> LegacyCapture {
    let stream = TcpStream::connect(addr).await.unwrap();
    capture(stream, None, TIMEOUT).await.unwrap()
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

    /// Starts `s_server` with this leaf and `extra` flags.
    fn serve(&self, extra: &[&str]) -> SServer {
        SServer::with_cert(&self.path("leaf.pem"), &self.path("leaf.key"), extra)
    }

    /// Serves this leaf alone and captures it: the chain is exactly the leaf.
    async fn capture_leaf(&self) -> LegacyCapture {
        let server = self.serve(&[]);
        let cap = legacy_capture(server.addr).await;
        assert_eq!(cap.chain, vec![self.leaf_der.clone()]);
        cap
    }
}

/// A root named `root_cn` and a leaf for 127.0.0.1 it signs; `expired` puts
/// the leaf's validity in the past. With `root_cn = None` the leaf is
/// self-signed (an interceptor's throwaway certificate).
fn make_pki(root_cn: Option<&str>, expired: bool) -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let mut leaf = leaf_params("gateway.lab", None, expired);
    leaf.subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let leaf_key = KeyPair::generate().unwrap();
    let (leaf_cert, root_der) = match root_cn {
        Some(cn) => {
            let root = CertifiedIssuer::self_signed(
                ca_params(cn, "PayCert Lab"),
                KeyPair::generate().unwrap(),
            )
            .unwrap();
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
    let server = SServer::sha1_stca(&RSA_KX_TLS12);
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
    let server = pki.serve(&["-tls1_2", "-Verify", "1", "-CAfile", &cafile]);
    let cap = legacy_capture(server.addr).await;
    assert_eq!(cap.version, "TLSv1.2");
    assert!(cap.cipher.starts_with("TLS_ECDHE_"), "{}", cap.cipher);
    // s_server completes the chain from -CAfile: the leaf comes first.
    assert_eq!(cap.chain.first(), Some(&pki.leaf_der));
    let stca2_root = cert::describe(&pki.root_der, ::time::OffsetDateTime::now_utc())
        .unwrap()
        .subject;
    assert!(
        stca2_root.contains("CN=STCA2 Root CA (lab)"),
        "{stca2_root}"
    );
    assert_eq!(
        cap.client_auth,
        Some(vec![stca2_root, SHA1_STCA_ROOT.to_string(),])
    );
}

/// Classifies `chain` against the lab's families: STCA2 is `stca2_root`,
/// STCA the committed SHA-1 root.
fn classify_lab(chain: &[Vec<u8>], stca2_root: &[u8]) -> Classification {
    let stca2 = vec![Anchor::from_der(stca2_root).unwrap()];
    let stca = vec![Anchor::from_der(&der("root.der")).unwrap()];
    cert::classify(chain, &[(CaFamily::Stca2, &stca2), (CaFamily::Stca, &stca)])
}

#[tokio::test]
async fn self_signed_interceptor_is_unknown() {
    if !openssl_available() {
        return;
    }
    let stca2 = make_pki(Some("STCA2 Root CA (lab)"), false);
    let interceptor = make_pki(None, false);
    let cap = interceptor.capture_leaf().await;
    let class = classify_lab(&cap.chain, &stca2.root_der);
    assert_eq!(class.family, CaFamily::Unknown);
    assert_eq!(class.signature_verified, SignatureVerified::False);
}

#[tokio::test]
async fn expired_stca2_leaf_has_negative_days_to_expiry() {
    if !openssl_available() {
        return;
    }
    let pki = make_pki(Some("STCA2 Root CA (lab)"), true);
    let cap = pki.capture_leaf().await;
    let (infos, errors) =
        cert::describe_chain(&cap.chain, ::time::OffsetDateTime::now_utc(), false);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        (-11..=-10).contains(&infos[0].days_to_expiry),
        "days_to_expiry {}",
        infos[0].days_to_expiry
    );
    let class = classify_lab(&cap.chain, &pki.root_der);
    assert_eq!(class.family, CaFamily::Stca2);
    assert_eq!(class.signature_verified, SignatureVerified::True);
}

#[test]
fn fixtures_are_what_the_script_says() {
    // Independent of openssl: the committed chain is SHA-1 signed, root to leaf.
    for name in ["root.der", "inter.der", "leaf.der"] {
        let d = der(name);
        let info = cert::describe(&d, ::time::OffsetDateTime::now_utc()).unwrap();
        assert_eq!(info.signature_algorithm, "sha1WithRSAEncryption", "{name}");
        assert_eq!(info.key_bits, Some(2048));
    }
    assert!(Path::new(&fixture("chain.pem")).exists());
}
