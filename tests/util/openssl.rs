//! Real OpenSSL peers for the tests: `openssl s_server` started on a
//! loopback address of its own (from [`net`]), waited for (generously) and
//! killed on drop, plus the committed SHA-1 STCA fixtures and the rcgen parameters the
//! tests issue their own certificates from.
//!
//! When the `openssl` command is missing, [`openssl_available`] prints a
//! loud SKIPPED line and the tests return early and pass.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyUsagePurpose};

use super::net::{self, Net};

/// The committed SHA-1 STCA chain (see tests/fixtures/make-sha1-fixtures.sh).
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sha1");
/// The subject of the committed SHA-1 STCA root (tests/fixtures/sha1/root.pem).
pub const SHA1_STCA_ROOT: &str = "CN=STCA Root CA (lab),O=STCA Lab,C=FR";
/// How long `s_server` may take to listen before the test gives up.
const LISTEN_WITHIN: Duration = Duration::from_secs(20);

/// True when the `openssl` command runs; otherwise prints why the test is skipped.
pub fn openssl_available() -> bool {
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

/// The path of a file of the committed SHA-1 fixtures.
pub fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// The bytes of a committed SHA-1 fixture (the `.der` ones are certificates).
pub fn der(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// A running `openssl s_server`, killed when dropped.
pub struct SServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The /24 its address is in, which no other test uses: an allow-list
    /// of exactly this server.
    pub net: Net,
}

impl SServer {
    /// Starts `openssl s_server -accept <address>:<free port> <args>` on a
    /// fresh address and waits (at most 20 s) until it prints ACCEPT.
    pub fn start(args: &[&str]) -> SServer {
        let net = net::network();
        let addr = std::net::TcpListener::bind((net.host(1), 0))
            .unwrap()
            .local_addr()
            .unwrap();
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
        let deadline = Instant::now() + LISTEN_WITHIN;
        let mut server = SServer { child, addr, net };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(line) if line.trim() == "ACCEPT" => return server,
                Ok(line) => seen.push(line),
                Err(_) => {
                    if let Ok(Some(status)) = server.child.try_wait() {
                        panic!("openssl s_server exited ({status}): {}", seen.join("\n"));
                    }
                    if left.is_zero() {
                        panic!(
                            "openssl s_server did not listen within {LISTEN_WITHIN:?}: {}",
                            seen.join("\n")
                        );
                    }
                }
            }
        }
    }

    /// Starts `s_server -cert <cert> -key <key> <extra>`.
    pub fn with_cert(cert: &str, key: &str, extra: &[&str]) -> SServer {
        let mut args = vec!["-cert", cert, "-key", key];
        args.extend_from_slice(extra);
        SServer::start(&args)
    }

    /// Serves the committed SHA-1 STCA chain (leaf and intermediate), with
    /// `extra` flags such as a protocol version or a cipher list.
    pub fn sha1_stca(extra: &[&str]) -> SServer {
        let chain = fixture("inter.pem");
        let mut args = vec!["-cert_chain", chain.as_str()];
        args.extend_from_slice(extra);
        SServer::with_cert(&fixture("leaf.pem"), &fixture("leaf.key"), &args)
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The flags of an old gateway stack: TLS 1.2 with RSA key exchange and
/// AES128-SHA only, at OpenSSL 3's SECLEVEL 0 so the SHA-1 chain is served.
pub const RSA_KX_TLS12: [&str; 3] = ["-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0"];

/// A root CA's parameters: `cn` of `org`, allowed to sign certificates and CRLs.
pub fn ca_params(cn: &str, org: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::OrganizationName, org);
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

/// A gateway leaf's parameters for `gateway.lab`, named `cn` (of `org` when
/// given); `expired` makes it valid from 400 days ago to 10 days ago.
pub fn leaf_params(cn: &str, org: Option<&str>, expired: bool) -> CertificateParams {
    let mut p = CertificateParams::new(vec!["gateway.lab".to_string()]).unwrap();
    if let Some(org) = org {
        p.distinguished_name.push(DnType::OrganizationName, org);
    }
    p.distinguished_name.push(DnType::CommonName, cn);
    p.use_authority_key_identifier_extension = true;
    if expired {
        let now = ::time::OffsetDateTime::now_utc();
        p.not_before = now - ::time::Duration::days(400);
        p.not_after = now - ::time::Duration::days(10);
    }
    p
}
