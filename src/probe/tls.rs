//! The TLS handshake: what the server presented and how it answered.
//!
//! The probe is not a client that must decide whether to trust the server;
//! it is a witness. So its certificate verifier *captures* the presented
//! chain (leaf first) and accepts it — which CA family it belongs to, and
//! whether its signatures verify, are separate facts computed afterwards by
//! [`crate::cert::classify`]. The handshake signatures themselves are still
//! checked with the ring provider's algorithms, so a completed handshake
//! means the server really holds the leaf's key.
//!
//! Client-certificate requests are recorded by a client-cert resolver that
//! notes the request and the CA names it lists, and offers nothing (or the
//! configured [`ClientIdentity`](super::ClientIdentity)). In TLS 1.2 a server
//! that insists then fails the handshake. In TLS 1.3 the client finishes
//! first and the refusal (alert `certificate_required`) arrives afterwards,
//! so after a handshake where a certificate was requested we read once,
//! bounded by `min(timeout, 1 s)`, to catch it. That read also catches a
//! server that rejects the identity we did send.
//!
//! Every attempt builds its own client config (so the capture belongs to
//! that connection) with session resumption disabled (so every attempt is a
//! full handshake that shows the chain).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, Resumption};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{AlertDescription, DigitallySignedStruct, SignatureScheme};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::probe::result::{ClientAuthRequest, TlsResult, TlsStack, TlsStatus};

/// The longest wait for a post-handshake alert in TLS 1.3 client authentication.
const POST_HANDSHAKE_READ: Duration = Duration::from_secs(1);

/// The words that mark a rustls failure as "this server speaks a TLS rustls cannot".
const LEGACY_MARK: &str = "rustls cannot negotiate with this server";

/// Alerts by which a server refuses rustls' offer itself (versions, suites, parameters).
const REFUSAL_ALERTS: &[&str] = &[
    "handshake_failure",
    "protocol_version",
    "insufficient_security",
    "illegal_parameter",
];

/// What one handshake needs besides the TCP stream.
#[derive(Clone)]
pub struct TlsOptions {
    /// Bounds the handshake.
    pub timeout: Duration,
    /// The identity to present when a server asks for one.
    pub identity: Option<Arc<CertifiedKey>>,
}

/// The raw outcome of one handshake attempt, before the chain is described.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The outcome class.
    pub status: TlsStatus,
    /// What happened, in words.
    pub detail: Option<String>,
    /// The alert's name, when one was received.
    pub alert: Option<String>,
    /// Negotiated version (`TLSv1.3`).
    pub version: Option<String>,
    /// Negotiated cipher suite.
    pub cipher: Option<String>,
    /// Key-exchange group.
    pub kx_group: Option<String>,
    /// ALPN protocol.
    pub alpn: Option<String>,
    /// The presented chain, DER, leaf first (may be set even when the handshake failed).
    pub chain: Vec<Vec<u8>>,
    /// Set when the server sent a CertificateRequest.
    pub client_auth: Option<ClientAuthRequest>,
    /// Time from ClientHello to the outcome.
    pub elapsed: Duration,
}

impl Handshake {
    /// An attempt that failed before anything was negotiated.
    pub fn failed(detail: Option<String>) -> Handshake {
        Handshake {
            status: TlsStatus::Error,
            detail,
            alert: None,
            version: None,
            cipher: None,
            kx_group: None,
            alpn: None,
            chain: Vec::new(),
            client_auth: None,
            elapsed: Duration::ZERO,
        }
    }
}

impl Handshake {
    /// True when the server answered TLS properly: `ok`, or a client-certificate request.
    pub fn answered(&self) -> bool {
        matches!(self.status, TlsStatus::Ok | TlsStatus::ClientAuthRequired)
    }
}

/// What the verifier and resolver saw during one handshake.
#[derive(Debug, Default)]
struct Seen {
    chain: Vec<Vec<u8>>,
    request: Option<Vec<String>>,
    identity_sent: bool,
}

type Shared = Arc<Mutex<Seen>>;

fn with_seen<R>(seen: &Shared, f: impl FnOnce(&mut Seen) -> R) -> R {
    let mut guard = seen.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut guard)
}

/// Records the presented chain and accepts it; checks handshake signatures for real.
#[derive(Debug)]
struct CapturingVerifier {
    seen: Shared,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for CapturingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.as_ref().to_vec());
        chain.extend(intermediates.iter().map(|c| c.as_ref().to_vec()));
        with_seen(&self.seen, |s| s.chain = chain);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Records a CertificateRequest and its CA names; offers the configured identity, if any.
#[derive(Debug)]
struct RecordingResolver {
    seen: Shared,
    identity: Option<Arc<CertifiedKey>>,
}

impl ResolvesClientCert for RecordingResolver {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let names = root_hint_subjects
            .iter()
            .map(|h| crate::cert::dn_der_to_string(h))
            .collect();
        let offered = self
            .identity
            .as_ref()
            .filter(|k| k.key.choose_scheme(sigschemes).is_some())
            .cloned();
        with_seen(&self.seen, |s| {
            s.request = Some(names);
            s.identity_sent = offered.is_some();
        });
        offered
    }

    fn has_certs(&self) -> bool {
        self.identity.is_some()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Loads a client identity into rustls' form, checking that key and certificate match.
pub fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> Result<CertifiedKey, rustls::Error> {
    CertifiedKey::from_der(chain, key, &provider())
}

fn client_config(
    seen: &Shared,
    identity: Option<Arc<CertifiedKey>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = provider();
    let algs = provider.signature_verification_algorithms;
    let verifier = Arc::new(CapturingVerifier {
        seen: seen.clone(),
        algs,
    });
    let resolver = Arc::new(RecordingResolver {
        seen: seen.clone(),
        identity,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(resolver);
    config.resumption = Resumption::disabled();
    Ok(config)
}

/// Runs one TLS handshake on an open connection and classifies it.
///
/// Never panics; every wait is bounded by `opts.timeout` (plus at most one
/// second for the TLS 1.3 client-authentication read).
pub async fn handshake(
    stream: TcpStream,
    name: ServerName<'static>,
    opts: &TlsOptions,
) -> Handshake {
    let seen: Shared = Arc::default();
    let start = Instant::now();
    let mut out = Handshake::failed(None);
    let config = match client_config(&seen, opts.identity.clone()) {
        Ok(c) => c,
        Err(e) => {
            out.detail = Some(format!("cannot build the TLS client: {e}"));
            return out;
        }
    };
    let connector = TlsConnector::from(Arc::new(config));
    let result = tokio::time::timeout(opts.timeout, connector.connect(name, stream)).await;
    out.elapsed = start.elapsed();
    match result {
        Err(_) => {
            out.status = TlsStatus::Timeout;
            out.detail = Some(format!(
                "no TLS answer within {} ms: the server accepts TCP but never completes the handshake (a silent service or a middlebox)",
                opts.timeout.as_millis()
            ));
        }
        Ok(Err(e)) => {
            let (status, alert, detail) = classify_io(&e);
            out.status = status;
            out.alert = alert;
            out.detail = Some(detail);
        }
        Ok(Ok(mut tls)) => {
            {
                let conn = tls.get_ref().1;
                out.version = conn.protocol_version().map(version_name);
                out.cipher = conn
                    .negotiated_cipher_suite()
                    .map(|s| suite_name(s.suite()));
                out.kx_group = conn
                    .negotiated_key_exchange_group()
                    .map(|g| format!("{:?}", g.name()));
                out.alpn = conn
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned());
            }
            out.status = TlsStatus::Ok;
            let tls13 = out.version.as_deref() == Some("TLSv1.3");
            let requested = with_seen(&seen, |s| s.request.is_some());
            if tls13 && requested {
                let wait = opts.timeout.min(POST_HANDSHAKE_READ);
                let mut buf = [0u8; 512];
                match tokio::time::timeout(wait, tls.read(&mut buf)).await {
                    // Data or silence: the server carried on.
                    Err(_) | Ok(Ok(1..)) => {}
                    Ok(Ok(0)) => {
                        out.status = TlsStatus::Eof;
                        out.detail = Some(
                            "the server closed the connection right after the handshake".into(),
                        );
                    }
                    Ok(Err(e)) => {
                        let (status, alert, detail) = classify_io(&e);
                        out.status = status;
                        out.alert = alert;
                        out.detail = Some(format!("after the handshake: {detail}"));
                    }
                }
            }
        }
    }
    let (chain, request, identity_sent) = with_seen(&seen, |s| {
        (
            std::mem::take(&mut s.chain),
            s.request.take(),
            s.identity_sent,
        )
    });
    out.chain = chain;
    if let Some(ca_names) = request {
        out.client_auth = Some(ClientAuthRequest { ca_names });
        if !identity_sent && out.status != TlsStatus::Ok {
            let why = out.detail.take().unwrap_or_default();
            out.detail = Some(format!(
                "the server asked for a client certificate and refused the connection without one ({why}); pass --client-cert and --client-key to test with a terminal's credentials"
            ));
            out.status = TlsStatus::ClientAuthRequired;
        } else if identity_sent && out.status != TlsStatus::Ok {
            let why = out.detail.take().unwrap_or_default();
            out.detail = Some(format!(
                "the server asked for a client certificate and rejected the one presented: {why}"
            ));
        }
    }
    out
}

/// Classifies a failed handshake (or post-handshake read): status, alert name, detail.
pub fn classify_io(e: &std::io::Error) -> (TlsStatus, Option<String>, String) {
    use std::io::ErrorKind;
    if let Some(err) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return classify_rustls(err);
    }
    match e.kind() {
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => (
            TlsStatus::Reset,
            None,
            format!(
                "the connection was reset during the TLS handshake ({e}): the server or a middlebox aborts it"
            ),
        ),
        ErrorKind::UnexpectedEof => (
            TlsStatus::Eof,
            None,
            format!("the server closed the connection during the TLS handshake ({e})"),
        ),
        ErrorKind::TimedOut => (TlsStatus::Timeout, None, format!("TLS timed out: {e}")),
        _ => (TlsStatus::Error, None, format!("TLS failed: {e}")),
    }
}

/// Classifies a rustls error: alerts by name, the rest as errors with rustls' own words.
pub fn classify_rustls(err: &rustls::Error) -> (TlsStatus, Option<String>, String) {
    use rustls::{Error, PeerIncompatible, PeerMisbehaved};
    match err {
        Error::AlertReceived(desc) => {
            let name = alert_name(*desc);
            (
                TlsStatus::Alert,
                Some(name.clone()),
                format!("the server sent TLS alert {name} ({err})"),
            )
        }
        Error::PeerIncompatible(why) => {
            let hint = match why {
                PeerIncompatible::ServerDoesNotSupportTls12Or13
                | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig => {
                    "the server only speaks a TLS version older than 1.2"
                }
                _ => "the server offers only parameters rustls refuses",
            };
            (
                TlsStatus::Error,
                None,
                format!("{LEGACY_MARK}: {hint} ({err})"),
            )
        }
        Error::PeerMisbehaved(
            PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme
            | PeerMisbehaved::SignedKxWithWrongAlgorithm
            | PeerMisbehaved::SelectedUnofferedCipherSuite
            | PeerMisbehaved::SelectedUnusableCipherSuiteForVersion
            | PeerMisbehaved::SelectedUnofferedKxGroup,
        ) => (
            TlsStatus::Error,
            None,
            format!(
                "{LEGACY_MARK}: the server chose a suite or signature rustls did not offer ({err})"
            ),
        ),
        Error::InvalidCertificate(
            rustls::CertificateError::BadEncoding
            | rustls::CertificateError::UnsupportedSignatureAlgorithmContext { .. }
            | rustls::CertificateError::BadSignature,
        ) => (
            TlsStatus::Error,
            None,
            format!(
                "{LEGACY_MARK}: its certificate or signature uses an encoding or algorithm rustls cannot process ({err})"
            ),
        ),
        _ => (TlsStatus::Error, None, format!("TLS failed: {err}")),
    }
}

/// An alert's name in the RFC's snake_case, e.g. `handshake_failure`.
pub fn alert_name(desc: AlertDescription) -> String {
    match desc.as_str() {
        Some(camel) => snake_case(camel),
        None => format!("unknown_alert_{}", u8::from(desc)),
    }
}

/// `HandshakeFailure` -> `handshake_failure`, `UnknownCA` -> `unknown_ca`,
/// `UnknownPSKIdentity` -> `unknown_psk_identity`.
fn snake_case(camel: &str) -> String {
    if camel == "UnrecognisedName" {
        // rustls spells it the British way; the RFC name is American.
        return "unrecognized_name".into();
    }
    let chars: Vec<char> = camel.chars().collect();
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev_lower = chars[i - 1].is_ascii_lowercase();
            let acronym_end = chars[i - 1].is_ascii_uppercase()
                && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev_lower || acronym_end {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn version_name(v: rustls::ProtocolVersion) -> String {
    match v.as_str() {
        Some(s) => s.replace('_', "."),
        None => format!("{v:?}"),
    }
}

fn suite_name(s: rustls::CipherSuite) -> String {
    s.as_str().map_or_else(|| format!("{s:?}"), str::to_string)
}

/// True when a rustls failure is a protocol-level refusal worth a legacy capture.
///
/// That is: the server sent alert handshake_failure, protocol_version,
/// insufficient_security or illegal_parameter, or rustls itself gave up
/// because the server is incompatible, signs with an algorithm it does not
/// support, or presents a certificate it cannot decode. Those are exactly
/// the old STCA stacks (TLS 1.2 with RSA key exchange, CBC, SHA-1) whose
/// chain a hand-built ClientHello can still read.
pub fn wants_legacy_capture(result: &TlsResult) -> bool {
    if result.stack != TlsStack::Rustls {
        return false;
    }
    match result.status {
        TlsStatus::Alert => result
            .alert
            .as_deref()
            .is_some_and(|a| REFUSAL_ALERTS.contains(&a)),
        TlsStatus::Error => result
            .detail
            .as_deref()
            .is_some_and(|d| d.contains(LEGACY_MARK)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(status: TlsStatus, alert: Option<&str>, detail: Option<String>) -> TlsResult {
        TlsResult {
            alert: alert.map(str::to_string),
            ..TlsResult::failed(status, detail, 1)
        }
    }

    #[test]
    fn alert_names_are_snake_case() {
        assert_eq!(
            alert_name(AlertDescription::HandshakeFailure),
            "handshake_failure"
        );
        assert_eq!(
            alert_name(AlertDescription::CertificateRequired),
            "certificate_required"
        );
        assert_eq!(
            alert_name(AlertDescription::ProtocolVersion),
            "protocol_version"
        );
        assert_eq!(
            alert_name(AlertDescription::Unknown(200)),
            "unknown_alert_200"
        );
    }

    #[test]
    fn classification_table() {
        use rustls::Error;
        use std::io::{Error as IoError, ErrorKind};
        let cases: Vec<(IoError, TlsStatus, Option<&str>, bool)> = vec![
            (
                IoError::new(
                    ErrorKind::InvalidData,
                    Error::AlertReceived(AlertDescription::HandshakeFailure),
                ),
                TlsStatus::Alert,
                Some("handshake_failure"),
                true,
            ),
            (
                IoError::new(
                    ErrorKind::InvalidData,
                    Error::AlertReceived(AlertDescription::UnknownCA),
                ),
                TlsStatus::Alert,
                Some("unknown_ca"),
                false,
            ),
            (
                IoError::new(
                    ErrorKind::InvalidData,
                    Error::PeerIncompatible(rustls::PeerIncompatible::NoCipherSuitesInCommon),
                ),
                TlsStatus::Error,
                None,
                true,
            ),
            (
                IoError::new(
                    ErrorKind::InvalidData,
                    Error::InvalidCertificate(rustls::CertificateError::BadEncoding),
                ),
                TlsStatus::Error,
                None,
                true,
            ),
            (
                IoError::new(
                    ErrorKind::InvalidData,
                    Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
                ),
                TlsStatus::Error,
                None,
                false,
            ),
            (
                IoError::from(ErrorKind::ConnectionReset),
                TlsStatus::Reset,
                None,
                false,
            ),
            (
                IoError::from(ErrorKind::UnexpectedEof),
                TlsStatus::Eof,
                None,
                false,
            ),
        ];
        for (e, status, alert, legacy) in cases {
            let (s, a, d) = classify_io(&e);
            assert_eq!(s, status, "{e}");
            assert_eq!(a.as_deref(), alert, "{e}");
            assert!(
                d.contains(&e.to_string()) || d.contains("received fatal alert"),
                "{d}"
            );
            assert_eq!(
                wants_legacy_capture(&result(s, a.as_deref(), Some(d))),
                legacy,
                "{e}"
            );
        }
    }

    #[test]
    fn legacy_capture_results_do_not_ask_for_another() {
        let mut r = result(TlsStatus::Alert, Some("handshake_failure"), None);
        r.stack = TlsStack::LegacyCapture;
        assert!(!wants_legacy_capture(&r));
    }
}
