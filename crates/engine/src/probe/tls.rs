//! The TLS handshake: what the server presented and how it answered.
//!
//! The probe is not a client that must decide whether to trust the server;
//! it is a witness. So its certificate verifier *captures* the presented
//! chain (leaf first) and accepts it — which CA family it belongs to, and
//! whether its signatures verify, are separate facts computed afterwards by
//! [`crate::cert::classify`]. The handshake signatures themselves are still
//! checked with the ring provider's algorithms, so a completed handshake
//! means the server really holds the leaf's key — and a signature that does
//! not verify is reported as such ([`IMPOSTOR`]), never retried as a legacy
//! server.
//!
//! Client-certificate requests are recorded by a client-cert resolver that
//! notes the request and the CA names it lists, and offers nothing (or the
//! configured [`ClientIdentity`](super::ClientIdentity)). A request alone is
//! not a requirement: the status becomes `client_auth_required` only when
//! the server then *refuses* the connection without a certificate. In TLS
//! 1.2 that refusal ends the handshake — an alert, a reset or a close after
//! the request (a timeout or a local error is not a refusal). In TLS 1.3 the
//! client finishes first and the refusal (alert `certificate_required`)
//! arrives afterwards, so after a handshake where a certificate was
//! requested we read once, bounded by `min(timeout, 1 s)`, to catch it; only
//! that read can turn a TLS 1.3 request into a requirement (rustls records
//! the request before the server's Certificate, CertificateVerify and
//! Finished, so a handshake that fails later failed for another reason).
//! Which version a failed handshake spoke is known from which of the
//! verifier's signature checks rustls called. The same read catches a
//! server that rejects the identity we did send.
//!
//! A failure is classified once, here, into a [`TlsStatus`], an alert name,
//! words, and a typed flag: whether rustls refused the server's protocol
//! itself (versions, suites, signature algorithms), which is what sends the
//! orchestrator to the legacy capture ([`Handshake::wants_legacy_capture`]).
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

use stca2_report::{ClientAuthRequest, TlsStatus};

/// The longest wait for a post-handshake alert in TLS 1.3 client authentication.
const POST_HANDSHAKE_READ: Duration = Duration::from_secs(1);

/// Words that open the detail of a failure where rustls cannot speak the server's TLS.
const LEGACY_WORDS: &str = "rustls cannot negotiate with this server";

/// What a bad handshake signature means: the detail of `CertificateError::BadSignature`.
pub const IMPOSTOR: &str =
    "the server cannot prove it holds the certificate's key — impostor or interception";

/// Alerts by which a server refuses rustls' offer itself (versions, suites, parameters).
const REFUSAL_ALERTS: &[AlertDescription] = &[
    AlertDescription::HandshakeFailure,
    AlertDescription::ProtocolVersion,
    AlertDescription::InsufficientSecurity,
    AlertDescription::IllegalParameter,
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
    /// rustls refused the server's protocol itself: decided when the failure
    /// is classified ([`Failure::legacy_candidate`]), never serialised.
    legacy_candidate: bool,
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
            legacy_candidate: false,
        }
    }

    /// True when the server answered TLS properly: `ok`, or a client-certificate request.
    pub fn answered(&self) -> bool {
        matches!(self.status, TlsStatus::Ok | TlsStatus::ClientAuthRequired)
    }

    /// True when a legacy capture may read the chain rustls could not: rustls
    /// refused the server's protocol (a refusal alert, an incompatible peer,
    /// an unsupported suite, signature scheme or encoding).
    ///
    /// Never after a client-certificate request: the server then accepted
    /// rustls' parameters, and a failure comes from client authentication,
    /// which a legacy ClientHello cannot settle.
    pub fn wants_legacy_capture(&self) -> bool {
        self.legacy_candidate && self.client_auth.is_none() && !self.answered()
    }

    /// Records a classified failure.
    fn fail(&mut self, f: Failure) {
        self.status = f.status;
        self.alert = f.alert;
        self.detail = Some(f.detail);
        self.legacy_candidate = f.legacy_candidate;
    }
}

/// A classified failure of a handshake or of the post-handshake read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The outcome class.
    pub status: TlsStatus,
    /// The alert's name, when one was received.
    pub alert: Option<String>,
    /// What happened, in words.
    pub detail: String,
    /// rustls refused the server's protocol itself: a legacy capture may help.
    pub legacy_candidate: bool,
}

impl Failure {
    fn new(status: TlsStatus, detail: String) -> Failure {
        Failure {
            status,
            alert: None,
            detail,
            legacy_candidate: false,
        }
    }

    fn legacy(detail: String) -> Failure {
        Failure {
            legacy_candidate: true,
            ..Failure::new(TlsStatus::Error, detail)
        }
    }
}

/// What the verifier and resolver saw during one handshake.
#[derive(Debug, Default)]
struct Seen {
    chain: Vec<Vec<u8>>,
    request: Option<Vec<String>>,
    identity_sent: bool,
    /// rustls asked for a TLS 1.2 ServerKeyExchange signature check: the
    /// handshake was TLS 1.2, even if it failed before reporting a version.
    tls12_signature: bool,
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
        with_seen(&self.seen, |s| s.tls12_signature = true);
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

/// The crypto provider of every TLS configuration in this crate, the probe's
/// and the lab's: ring, built explicitly (no process-wide default).
pub fn provider() -> Arc<CryptoProvider> {
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
    // Counts the connection's bytes when this function ends and drops it.
    let _wire = super::wire::Watch::new(&stream);
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
    // Set when the TLS 1.3 post-handshake read saw the server refuse the connection.
    let mut refused_after_handshake = false;
    match result {
        Err(_) => {
            out.status = TlsStatus::Timeout;
            out.detail = Some(format!(
                "no TLS answer within {}: the server accepts TCP but never completes the handshake (a silent service or a middlebox)",
                super::fmt_duration(opts.timeout)
            ));
        }
        Ok(Err(e)) => out.fail(classify_io(&e)),
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
                        refused_after_handshake = true;
                    }
                    Ok(Err(e)) => {
                        let mut f = classify_io(&e);
                        refused_after_handshake = is_refusal(f.status);
                        f.detail = format!("after the handshake: {}", f.detail);
                        // The handshake completed: nothing for a legacy capture to add.
                        f.legacy_candidate = false;
                        out.fail(f);
                    }
                }
            }
        }
    }
    let (chain, request, identity_sent, tls12_signature) = with_seen(&seen, |s| {
        (
            std::mem::take(&mut s.chain),
            s.request.take(),
            s.identity_sent,
            s.tls12_signature,
        )
    });
    out.chain = chain;
    if let Some(ca_names) = request {
        out.client_auth = Some(ClientAuthRequest { ca_names });
        let tls12 = out.version.as_deref() == Some("TLSv1.2") || tls12_signature;
        let refused = if tls12 {
            is_refusal(out.status)
        } else {
            refused_after_handshake
        };
        if refused && !identity_sent {
            let why = out.detail.take().unwrap_or_default();
            out.detail = Some(format!(
                "the server asked for a client certificate and refused the connection without one ({why}); pass --client-cert and --client-key to test with a terminal's credentials"
            ));
            out.status = TlsStatus::ClientAuthRequired;
        } else if refused {
            let why = out.detail.take().unwrap_or_default();
            out.detail = Some(format!(
                "the server asked for a client certificate and rejected the one presented: {why}"
            ));
        }
    }
    out
}

/// How a server refuses a connection after asking for a client certificate:
/// an alert, a reset or a close. A timeout or a local error is no refusal.
fn is_refusal(status: TlsStatus) -> bool {
    matches!(status, TlsStatus::Alert | TlsStatus::Reset | TlsStatus::Eof)
}

/// Classifies a failed handshake (or post-handshake read).
pub fn classify_io(e: &std::io::Error) -> Failure {
    use std::io::ErrorKind;
    if let Some(err) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return classify_rustls(err);
    }
    match e.kind() {
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            Failure::new(
                TlsStatus::Reset,
                format!(
                    "the connection was reset during the TLS handshake ({e}): the server or a middlebox aborts it"
                ),
            )
        }
        ErrorKind::UnexpectedEof => Failure::new(
            TlsStatus::Eof,
            format!("the server closed the connection during the TLS handshake ({e})"),
        ),
        ErrorKind::TimedOut => Failure::new(TlsStatus::Timeout, format!("TLS timed out: {e}")),
        _ => Failure::new(TlsStatus::Error, format!("TLS failed: {e}")),
    }
}

/// Classifies a rustls error: alerts by name, the rest as errors with rustls'
/// own words, and whether a legacy capture may read what rustls could not.
pub fn classify_rustls(err: &rustls::Error) -> Failure {
    use rustls::{CertificateError, Error, PeerIncompatible, PeerMisbehaved};
    match err {
        Error::AlertReceived(desc) => {
            let name = stca2_wire::alert_name(u8::from(*desc));
            Failure {
                status: TlsStatus::Alert,
                detail: format!("the server sent TLS alert {name} ({err})"),
                alert: Some(name),
                legacy_candidate: REFUSAL_ALERTS.contains(desc),
            }
        }
        Error::PeerIncompatible(why) => {
            let hint = match why {
                PeerIncompatible::ServerDoesNotSupportTls12Or13
                | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig => {
                    "the server only speaks a TLS version older than 1.2"
                }
                _ => "the server offers only parameters rustls refuses",
            };
            Failure::legacy(format!("{LEGACY_WORDS}: {hint} ({err})"))
        }
        Error::PeerMisbehaved(
            PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme
            | PeerMisbehaved::SignedKxWithWrongAlgorithm
            | PeerMisbehaved::SelectedUnofferedCipherSuite
            | PeerMisbehaved::SelectedUnusableCipherSuiteForVersion
            | PeerMisbehaved::SelectedUnofferedKxGroup,
        ) => Failure::legacy(format!(
            "{LEGACY_WORDS}: the server chose a suite or signature rustls did not offer ({err})"
        )),
        // The handshake signature does not verify under the presented leaf's
        // key: the server does not hold it. No legacy capture: the chain was
        // read, and it is not the server's.
        Error::InvalidCertificate(CertificateError::BadSignature) => {
            Failure::new(TlsStatus::Error, format!("{IMPOSTOR} ({err})"))
        }
        Error::InvalidCertificate(
            CertificateError::BadEncoding
            | CertificateError::UnsupportedSignatureAlgorithmContext { .. },
        ) => Failure::legacy(format!(
            "{LEGACY_WORDS}: its certificate or signature uses an encoding or algorithm rustls cannot process ({err})"
        )),
        _ => Failure::new(TlsStatus::Error, format!("TLS failed: {err}")),
    }
}

fn version_name(v: rustls::ProtocolVersion) -> String {
    match v.as_str() {
        Some(s) => s.replace('_', "."),
        None => format!("{v:?}"),
    }
}

/// The IANA name of a negotiated suite (`TLS_AES_256_GCM_SHA384`, not
/// rustls' `TLS13_…` spelling), from the one table the legacy capture uses too.
fn suite_name(s: rustls::CipherSuite) -> String {
    stca2_wire::cipher_suite_name(u16::from(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake_after(f: Failure) -> Handshake {
        let mut h = Handshake::failed(None);
        h.fail(f);
        h
    }

    /// `HandshakeFailure` -> `handshake_failure`, `UnknownPSKIdentity` -> `unknown_psk_identity`.
    fn snake_case(camel: &str) -> String {
        let chars: Vec<char> = camel.chars().collect();
        let mut out = String::new();
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

    fn alert_of(desc: AlertDescription) -> Option<String> {
        classify_rustls(&rustls::Error::AlertReceived(desc)).alert
    }

    #[test]
    fn alert_names_come_from_the_one_table() {
        assert_eq!(
            alert_of(AlertDescription::HandshakeFailure).as_deref(),
            Some("handshake_failure")
        );
        assert_eq!(
            alert_of(AlertDescription::CertificateRequired).as_deref(),
            Some("certificate_required")
        );
        assert_eq!(
            alert_of(AlertDescription::UnrecognisedName).as_deref(),
            Some("unrecognized_name")
        );
        // Unknown alerts are spelled as the legacy capture spells them.
        assert_eq!(
            alert_of(AlertDescription::Unknown(200)).as_deref(),
            Some("alert_200")
        );
        // Every alert rustls knows has its RFC name in the table.
        for n in 0..=u8::MAX {
            let desc = AlertDescription::from(n);
            let Some(camel) = desc.as_str() else { continue };
            let want = match camel {
                "UnrecognisedName" => "unrecognized_name".to_string(),
                other => snake_case(other),
            };
            assert_eq!(alert_of(desc), Some(want), "alert {n} ({camel})");
        }
    }

    #[test]
    fn cipher_suites_have_iana_names() {
        for suite in rustls::crypto::ring::default_provider().cipher_suites {
            let s = suite.suite();
            let rustls_name = s.as_str().unwrap_or_default();
            let name = suite_name(s);
            assert!(!name.starts_with("TLS13_"), "{name}");
            assert!(name.starts_with("TLS_"), "{name} for {rustls_name}");
            assert_eq!(name, rustls_name.replace("TLS13_", "TLS_"));
        }
        assert_eq!(
            suite_name(rustls::CipherSuite::TLS13_AES_256_GCM_SHA384),
            "TLS_AES_256_GCM_SHA384"
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
                    Error::InvalidCertificate(rustls::CertificateError::BadSignature),
                ),
                TlsStatus::Error,
                None,
                false,
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
            let f = classify_io(&e);
            assert_eq!(f.status, status, "{e}");
            assert_eq!(f.alert.as_deref(), alert, "{e}");
            assert!(
                f.detail.contains(&e.to_string()) || f.detail.contains("received fatal alert"),
                "{}",
                f.detail
            );
            assert_eq!(f.legacy_candidate, legacy, "{e}");
            let mut h = handshake_after(f);
            assert_eq!(h.wants_legacy_capture(), legacy, "{e}");
            // After a client-certificate request, never.
            h.client_auth = Some(ClientAuthRequest { ca_names: vec![] });
            assert!(!h.wants_legacy_capture(), "{e}");
        }
    }

    #[test]
    fn a_bad_handshake_signature_is_an_impostor_not_a_legacy_server() {
        let f = classify_rustls(&rustls::Error::InvalidCertificate(
            rustls::CertificateError::BadSignature,
        ));
        assert_eq!(f.status, TlsStatus::Error);
        assert!(f.detail.starts_with(IMPOSTOR), "{}", f.detail);
        assert!(!handshake_after(f).wants_legacy_capture());
    }

    #[test]
    fn the_legacy_flag_does_not_hide_in_the_words() {
        // A detail that merely contains the words is no candidate: the flag is typed.
        let h = handshake_after(Failure::new(
            TlsStatus::Error,
            format!("TLS failed: {LEGACY_WORDS}"),
        ));
        assert!(!h.wants_legacy_capture());
    }
}
