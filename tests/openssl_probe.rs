//! The whole probe against real OpenSSL servers (`openssl s_server`): the
//! closest thing to a real gateway stack the test machine has. Where
//! tests/openssl_peers.rs exercises the legacy capture on its own, these go
//! through `check::run` — target set, allow-list, TCP, rustls, the legacy
//! fallback, classification, verdict — and assert on the report.
//!
//! Each test starts its own `s_server` (tests/util/openssl.rs) on an
//! address of its own, waits (generously) for it to listen, and kills it on
//! drop; the probe is allowed that address's /24 only. When the
//! `openssl` command is missing the tests print a loud SKIPPED line and pass.
//! Nothing here leaves 127.0.0.0/8.

use std::path::Path;
use std::time::Duration;

use crate::util::openssl::{
    FIXTURES, RSA_KX_TLS12, SHA1_STCA_ROOT, SServer, ca_params, fixture, leaf_params,
    openssl_available,
};
use rcgen::{CertifiedIssuer, KeyPair};
use stca2_engine::allow::{AllowList, parse_cidr};
use stca2_engine::check;
use stca2_engine::probe::ProbeConfig;
use stca2_engine::targets::TargetSet;
use stca2_report::codes;
use stca2_report::{CaFamily, SignatureVerified};
use stca2_report::{ProbeIdentity, Report};
use stca2_report::{TargetResult, TcpStatus, TlsResult, TlsStack, TlsStatus};
use tempfile::TempDir;

// ---------------------------------------------------------------------------
// Certificates.

/// A folder with `stca2-root.pem` (a fresh STCA2 root), `stca-root.pem` (the
/// committed SHA-1 STCA root) and whatever leaves a test issues.
struct Pki {
    dir: TempDir,
    stca2: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let stca2 = CertifiedIssuer::self_signed(
            ca_params("STCA2 Root CA (lab)", "PayCert (lab)"),
            KeyPair::generate().unwrap(),
        )
        .unwrap();
        std::fs::write(dir.path().join("stca2-root.pem"), stca2.pem()).unwrap();
        std::fs::copy(fixture("root.pem"), dir.path().join("stca-root.pem")).unwrap();
        Pki { dir, stca2 }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// The STCA2 root's subject, as the probe writes DNs.
    fn stca2_subject(&self) -> String {
        stca2_engine::cert::describe(self.stca2.der(), ::time::OffsetDateTime::now_utc())
            .unwrap()
            .subject
    }

    /// Issues `<name>.pem` / `<name>.key` from the STCA2 root, or self-signed
    /// when `self_signed` (an interceptor's throwaway certificate).
    fn leaf(&self, name: &str, cn: &str, expired: bool, self_signed: bool) {
        let key = KeyPair::generate().unwrap();
        let params = leaf_params(cn, Some("Lab gateway"), expired);
        let cert = if self_signed {
            params.self_signed(&key).unwrap()
        } else {
            params.signed_by(&key, &self.stca2).unwrap()
        };
        std::fs::write(self.path(&format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(self.path(&format!("{name}.key")), key.serialize_pem()).unwrap();
    }

    /// `accepted.pem`: the CA names a client-auth server sends (STCA2 root, then the STCA root).
    fn accepted_cas(&self) -> String {
        let mut names = self.stca2.pem();
        names.push_str(&std::fs::read_to_string(fixture("root.pem")).unwrap());
        let path = self.path("accepted.pem");
        std::fs::write(&path, names).unwrap();
        path
    }

    /// A target set with one primary site at the server's address and port,
    /// both families' anchors, and an allow-list of the server's address.
    fn targets(&self, server: &SServer, service: &str) -> TargetSet {
        let ip = server.addr.ip();
        let text = format!(
            r#"name = "openssl"
allow = ["{ip}/32"]

[[site]]
name = "toulouse"
role = "primary"
address = "{ip}"

[[port]]
number = {port}
service = "{service}"

[[ca]]
family = "STCA2"
anchors = "stca2-root.pem"

[[ca]]
family = "STCA"
anchors = "stca-root.pem"
"#,
            port = server.addr.port()
        );
        let file = self.dir.path().join("openssl.toml");
        std::fs::write(&file, text).unwrap();
        let set = TargetSet::load(&file).unwrap();
        assert!(set.all_anchors_loaded());
        set
    }
}

// ---------------------------------------------------------------------------
// The probe.

/// Serves the leaf `<name>.pem` / `<name>.key` alone and checks it as the STCA2 port.
async fn serve_leaf(pki: &Pki, name: &str) -> Report {
    let (cert, key) = (
        pki.path(&format!("{name}.pem")),
        pki.path(&format!("{name}.key")),
    );
    let server = SServer::with_cert(&cert, &key, &[]);
    check(pki, &server, "stca2").await
}

/// Checks `server` as the `service` port of one site, with 2 attempts and
/// generous 5 s steps, allowed the server's own /24 only.
async fn check(pki: &Pki, server: &SServer, service: &str) -> Report {
    let targets = pki.targets(server, service);
    let allow = AllowList::new(
        vec![parse_cidr(&server.net.cidr()).unwrap()],
        AllowList::ceiling_from_env().unwrap(),
    );
    let mut config = ProbeConfig::new(allow);
    config.timeout = Duration::from_secs(5);
    config.attempts = 2;
    config.spacing = Duration::from_millis(20);
    check::run(&targets, &config, ProbeIdentity::new("openssl-test")).await
}

fn only(report: &Report) -> &TargetResult {
    assert_eq!(report.results.len(), 1, "{report:#?}");
    let r = &report.results[0];
    assert_eq!(r.tcp.status, TcpStatus::Open, "{r:#?}");
    r
}

/// The one target's handshake, which completed with this family and signature verdict.
fn completed(report: &Report, family: CaFamily, verified: SignatureVerified) -> &TlsResult {
    let tls = only(report).tls.as_ref().unwrap();
    assert_eq!(tls.status, TlsStatus::Ok, "{tls:#?}");
    assert_eq!(tls.ca_family, Some(family));
    assert_eq!(tls.signature_verified, Some(verified));
    tls
}

/// Not ready for the migration: the summary says so and the exit code is 1.
fn assert_not_ready(report: &Report) {
    assert!(!report.summary.ok);
    assert_eq!(report.exit_code(), 1);
}

fn finding<'a>(report: &'a Report, code: &str) -> Option<&'a str> {
    report
        .summary
        .findings
        .iter()
        .find(|f| f.code == code)
        .map(|f| f.message.as_str())
}

fn cn_of(subjects: &[String]) -> Vec<String> {
    subjects
        .iter()
        .map(|s| {
            s.split(',')
                .find_map(|p| p.strip_prefix("CN="))
                .unwrap_or(s)
                .to_string()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Tests.

#[tokio::test]
async fn sha1_rsa_kx_tls12_gateway_falls_back_to_legacy_capture() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    let server = SServer::sha1_stca(&RSA_KX_TLS12);
    let report = check(&pki, &server, "stca2").await;
    let tls = completed(&report, CaFamily::Stca, SignatureVerified::True);
    assert_eq!(tls.stack, TlsStack::LegacyCapture, "{tls:#?}");
    assert_eq!(tls.version.as_deref(), Some("TLSv1.2"));
    assert_eq!(tls.cipher.as_deref(), Some("TLS_RSA_WITH_AES_128_CBC_SHA"));
    let subjects: Vec<String> = tls.chain.iter().map(|c| c.subject.clone()).collect();
    assert_eq!(
        cn_of(&subjects),
        ["stca-legacy.lab", "STCA Intermediate CA (lab)"],
        "{subjects:?}"
    );
    assert!(
        tls.chain
            .iter()
            .all(|c| c.signature_algorithm == "sha1WithRSAEncryption")
    );
    // The rustls failure that sent the probe to the legacy capture is kept.
    let detail = tls.detail.as_deref().unwrap_or("");
    assert!(
        detail.contains("rustls failed") && detail.contains("handshake_failure"),
        "{detail}"
    );
    assert!(detail.contains("legacy capture"), "{detail}");
    // The verdict: reachable, but still on the old chain.
    let old = finding(&report, codes::OLD_CA).expect("an old_ca finding");
    assert!(old.contains(SHA1_STCA_ROOT), "{old}");
    assert!(finding(&report, codes::TLS_FAILED).is_none());
    assert!(!report.summary.stca2_port_closed);
    assert_not_ready(&report);
}

#[tokio::test]
async fn sha1_chain_over_a_modern_suite_needs_no_legacy_capture() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    // SECLEVEL=0 lets OpenSSL 3 serve a SHA-1 chain at all; the handshake itself is TLS 1.3.
    let server = SServer::sha1_stca(&["-cipher", "DEFAULT:@SECLEVEL=0"]);
    let report = check(&pki, &server, "stca2").await;
    let tls = only(&report).tls.as_ref().unwrap();
    assert_eq!(tls.stack, TlsStack::Rustls, "{tls:#?}");
    assert_eq!(tls.status, TlsStatus::Ok, "{tls:#?}");
    assert_eq!(tls.version.as_deref(), Some("TLSv1.3"));
    assert_eq!(tls.ca_family, Some(CaFamily::Stca));
    assert_eq!((tls.attempts, tls.successes), (2, 2));
    assert!(finding(&report, codes::OLD_CA).is_some());
}

/// `s_server -Verify 1 -CAfile accepted.pem [extra]` on the declaration port.
async fn client_auth(extra: &[&str]) -> (Pki, Report) {
    let pki = Pki::new();
    pki.leaf("leaf", "gateway.lab", false, false);
    let cafile = pki.accepted_cas();
    let (cert, key) = (pki.path("leaf.pem"), pki.path("leaf.key"));
    let mut args = vec!["-Verify", "1", "-CAfile", &cafile];
    args.extend_from_slice(extra);
    let server = SServer::with_cert(&cert, &key, &args);
    let report = check(&pki, &server, "declaration").await;
    drop(server);
    (pki, report)
}

fn assert_client_auth(pki: &Pki, report: &Report) {
    let tls = only(report).tls.as_ref().unwrap();
    assert_eq!(tls.status, TlsStatus::ClientAuthRequired, "{tls:#?}");
    assert_eq!(tls.stack, TlsStack::Rustls);
    let names = tls.client_auth.as_ref().unwrap().ca_names.clone();
    assert_eq!(
        names,
        vec![pki.stca2_subject(), SHA1_STCA_ROOT.to_string()],
        "CA names in the server's order"
    );
    // The chain was seen before the refusal, and it is STCA2.
    assert_eq!(tls.ca_family, Some(CaFamily::Stca2), "{tls:#?}");
    assert_eq!(cn_of(&[tls.chain[0].subject.clone()]), ["gateway.lab"]);
    let detail = tls.detail.as_deref().unwrap_or("");
    assert!(detail.contains("--client-cert"), "{detail}");
    // On the declaration port this is what a real gateway does: ready.
    let info = finding(report, codes::CLIENT_AUTH).expect("a client_auth finding");
    assert!(info.contains(&pki.stca2_subject()), "{info}");
    assert!(finding(report, codes::TLS_FAILED).is_none());
    assert!(report.summary.ok, "{:#?}", report.summary);
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test]
async fn tls13_client_certificate_request_is_client_auth_required() {
    if !openssl_available() {
        return;
    }
    let (pki, report) = client_auth(&[]).await;
    assert_client_auth(&pki, &report);
    let tls = only(&report).tls.as_ref().unwrap();
    // TLS 1.3: the client finishes first, the refusal comes as an alert afterwards.
    assert_eq!(tls.version.as_deref(), Some("TLSv1.3"));
    assert_eq!(tls.alert.as_deref(), Some("certificate_required"));
}

#[tokio::test]
async fn tls12_client_certificate_request_is_client_auth_required() {
    if !openssl_available() {
        return;
    }
    let (pki, report) = client_auth(&["-tls1_2"]).await;
    assert_client_auth(&pki, &report);
    let tls = only(&report).tls.as_ref().unwrap();
    // TLS 1.2: the server refuses inside the handshake.
    assert_eq!(tls.alert.as_deref(), Some("handshake_failure"), "{tls:#?}");
    // The handshake failed before it completed, so rustls reports no version.
    assert!(
        matches!(tls.version.as_deref(), None | Some("TLSv1.2")),
        "{tls:#?}"
    );
}

#[tokio::test]
async fn self_signed_interceptor_is_unknown_and_named() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    pki.leaf("proxy", "Corporate Inspection Proxy", false, true);
    let report = serve_leaf(&pki, "proxy").await;
    let tls = completed(&report, CaFamily::Unknown, SignatureVerified::False);
    assert_eq!(tls.chain.len(), 1);
    let msg = finding(&report, codes::INTERCEPTION).expect("an interception finding");
    assert!(msg.contains("CN=Corporate Inspection Proxy"), "{msg}");
    assert!(
        report
            .summary
            .headline
            .contains("Corporate Inspection Proxy"),
        "{}",
        report.summary.headline
    );
    assert_not_ready(&report);
}

#[tokio::test]
async fn expired_stca2_leaf_is_stca2_and_expired() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    pki.leaf("expired", "gateway.lab", true, false);
    let report = serve_leaf(&pki, "expired").await;
    let tls = completed(&report, CaFamily::Stca2, SignatureVerified::True);
    let days = tls.days_to_expiry.unwrap();
    assert!((-11..=-10).contains(&days), "days_to_expiry {days}");
    let msg = finding(&report, codes::EXPIRED).expect("an expired finding");
    assert!(
        msg.contains("expired 10 days ago") || msg.contains("expired 11 days ago"),
        "{msg}"
    );
    assert!(finding(&report, codes::INTERCEPTION).is_none());
    assert_not_ready(&report);
}

#[test]
fn the_sha1_root_is_what_the_tests_expect() {
    // Independent of openssl: the constant matches the committed fixture.
    let der = std::fs::read(Path::new(FIXTURES).join("root.der")).unwrap();
    let info = stca2_engine::cert::describe(&der, ::time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!(info.subject, SHA1_STCA_ROOT);
}
