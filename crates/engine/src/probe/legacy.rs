//! Legacy capture: read the certificate chain of a server rustls cannot talk to.
//!
//! When rustls refuses a server (handshake_failure, protocol_version, a SHA-1
//! chain…), the probe opens a second connection and hands it to [`capture`].
//! It sends the hand-built TLS 1.2 ClientHello of [`stca2_wire`]
//! offering RSA key exchange, CBC suites and SHA-1 signatures, reads the
//! server's plaintext first flight up to ServerHelloDone, and closes. It
//! never completes the handshake, so it needs no key exchange and no crypto
//! beyond the client random.
//!
//! Everything is bounded: one overall deadline, a fixed read buffer, and the
//! wire parser's record, message and total limits. Every way it can fail is
//! a [`LegacyError`] that maps onto the report's [`TlsStatus`].
//!
//! [`apply`] folds the outcome into the rustls [`TlsResult`], keeping the
//! rustls failure in `detail`.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use stca2_report::CaFamily;

use crate::cert::{Anchor, dn_der_to_string};
use stca2_report::{ClientAuthRequest, TlsResult, TlsStack, TlsStatus};
use stca2_wire::{self as tlswire, Progress, ServerFlight, WireError};

/// What the server's first flight showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyCapture {
    /// The version the server chose (`TLSv1.2`…).
    pub version: String,
    /// The cipher suite the server chose, IANA name or `0xXXXX`.
    pub cipher: String,
    /// The certificate chain as sent, DER, leaf first (empty if the server
    /// sent no Certificate message, as anonymous suites would).
    pub chain: Vec<Vec<u8>>,
    /// Set when the server sent a CertificateRequest: the CA names it accepts (RFC 4514).
    pub client_auth: Option<Vec<String>>,
}

/// Why a legacy capture did not produce a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyError {
    /// The server refused the legacy ClientHello too, with this alert.
    #[error(
        "the server refused the legacy TLS 1.2 ClientHello as well (alert {0}): it supports none of the offered suites and versions"
    )]
    Alert(String),
    /// The server closed the connection before ServerHelloDone.
    #[error(
        "the server closed the connection before finishing its first flight (no ServerHelloDone): it may not be a TLS server, or it dislikes the ClientHello"
    )]
    Eof,
    /// The connection was reset before ServerHelloDone.
    #[error(
        "the connection was reset before the server finished its first flight: a firewall or the server rejects the legacy ClientHello"
    )]
    Reset,
    /// No complete first flight within the deadline.
    #[error(
        "no complete first flight (ServerHello to ServerHelloDone) within the timeout: the server or a middlebox is silent"
    )]
    Timeout,
    /// The server chose TLS 1.3, whose Certificate message is encrypted.
    #[error(
        "the server chose TLS 1.3, whose certificate is encrypted: legacy capture cannot read it (see the rustls result)"
    )]
    Tls13,
    /// The answer is not a well-formed TLS first flight.
    #[error("{0}")]
    Malformed(String),
    /// A local socket error.
    #[error("socket error during legacy capture: {0}")]
    Io(String),
}

impl LegacyError {
    /// The report's status class for this failure.
    pub fn status(&self) -> TlsStatus {
        match self {
            LegacyError::Alert(_) => TlsStatus::Alert,
            LegacyError::Eof => TlsStatus::Eof,
            LegacyError::Reset => TlsStatus::Reset,
            LegacyError::Timeout => TlsStatus::Timeout,
            LegacyError::Tls13 | LegacyError::Malformed(_) | LegacyError::Io(_) => TlsStatus::Error,
        }
    }
}

impl From<WireError> for LegacyError {
    fn from(e: WireError) -> Self {
        LegacyError::Malformed(e.to_string())
    }
}

impl From<std::io::Error> for LegacyError {
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        match e.kind() {
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => LegacyError::Reset,
            K::TimedOut => LegacyError::Timeout,
            K::UnexpectedEof => LegacyError::Eof,
            _ => LegacyError::Io(e.to_string()),
        }
    }
}

/// Size of the read buffer: the only per-read allocation.
const READ_CHUNK: usize = 8192;

/// Sends the legacy ClientHello on `stream` and reads the server's first
/// flight until ServerHelloDone, an alert, EOF, a parser limit or `timeout`
/// (one deadline for the whole exchange), then closes the stream.
///
/// `server_name` is sent as SNI when it is a DNS name (not an IP literal).
pub async fn capture<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    server_name: Option<&str>,
    timeout: Duration,
) -> Result<LegacyCapture, LegacyError> {
    let outcome = tokio::time::timeout(timeout, exchange(&mut stream, server_name)).await;
    // Close politely but never wait for it long: the deadline has been spent
    // already, or the flight is complete.
    let _ = tokio::time::timeout(Duration::from_millis(100), stream.shutdown()).await;
    match outcome {
        Ok(r) => r,
        Err(_) => Err(LegacyError::Timeout),
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    server_name: Option<&str>,
) -> Result<LegacyCapture, LegacyError> {
    let random = tlswire::client_random()?;
    let hello = tlswire::build_client_hello(server_name, &random);
    stream.write_all(&hello).await?;
    stream.flush().await?;
    let mut flight = ServerFlight::new();
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(LegacyError::Eof);
        }
        match flight.feed(&buf[..n])? {
            Progress::NeedMore => continue,
            Progress::Alert(alert) => return Err(LegacyError::Alert(alert.name())),
            Progress::Tls13 => return Err(LegacyError::Tls13),
            Progress::Done => break,
        }
    }
    let hello = flight
        .hello
        .as_ref()
        .ok_or_else(|| LegacyError::Malformed("ServerHelloDone without ServerHello".into()))?;
    Ok(LegacyCapture {
        version: tlswire::version_name(hello.version),
        cipher: tlswire::cipher_suite_name(hello.cipher_suite),
        chain: flight.certificates.take().unwrap_or_default(),
        client_auth: flight
            .certificate_request
            .take()
            .map(|r| r.ca_names.iter().map(|dn| dn_der_to_string(dn)).collect()),
    })
}

/// Folds a legacy-capture outcome into the result of the failed rustls
/// handshake.
///
/// On success the result becomes `stack: legacy-capture` with the captured
/// version, cipher, chain facts, family and signature check, and status
/// `ok`. A CertificateRequest in the flight is recorded in `client_auth`,
/// but the status stays `ok`: the capture stops at ServerHelloDone, so it
/// never learns whether the server would *refuse* a client without a
/// certificate — and a mere request is not a requirement. The rustls path
/// follows the same rule: `client_auth_required` only once the server
/// refused the connection after its request (see [`super::tls`]).
/// The rustls failure is kept in `detail`. On failure the rustls result stays
/// as it was and the capture error is appended to `detail`.
pub fn apply(
    result: &mut TlsResult,
    outcome: Result<LegacyCapture, LegacyError>,
    families: &[(CaFamily, &[Anchor])],
    with_pem: bool,
) {
    let rustls_detail = result
        .detail
        .clone()
        .unwrap_or_else(|| format!("status {}", result.status.as_str()));
    match outcome {
        Err(e) => {
            result.detail = Some(format!("{rustls_detail}; legacy capture: {e}"));
        }
        Ok(cap) => {
            let facts = super::chain_facts(&cap.chain, families, with_pem);
            let mut detail = format!("rustls failed: {rustls_detail}");
            if let Some(a) = &result.alert {
                detail.push_str(&format!(" (alert {a})"));
            }
            detail.push_str(&format!(
                "; chain read by legacy capture ({} {})",
                cap.version, cap.cipher
            ));
            if let Some(u) = facts.unreadable {
                detail.push_str(&format!("; {u}"));
            }
            if cap.client_auth.is_some() {
                detail.push_str(
                    "; the server asks for a client certificate (whether it requires one is unknown: the capture stops before answering)",
                );
            }
            result.status = TlsStatus::Ok;
            result.alert = None;
            result.detail = Some(detail);
            result.stack = TlsStack::LegacyCapture;
            result.version = Some(cap.version);
            result.cipher = Some(cap.cipher);
            result.kx_group = None;
            result.days_to_expiry = facts.days_to_expiry;
            result.ca_family = facts.ca_family;
            result.signature_verified = facts.signature_verified;
            result.chain = facts.chain;
            result.client_auth = cap
                .client_auth
                .map(|ca_names| ClientAuthRequest { ca_names });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(LegacyError::Alert("x".into()).status(), TlsStatus::Alert);
        assert_eq!(LegacyError::Eof.status(), TlsStatus::Eof);
        assert_eq!(LegacyError::Reset.status(), TlsStatus::Reset);
        assert_eq!(LegacyError::Timeout.status(), TlsStatus::Timeout);
        assert_eq!(LegacyError::Tls13.status(), TlsStatus::Error);
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(LegacyError::from(io), LegacyError::Reset);
    }

    #[tokio::test]
    async fn capture_over_a_duplex_pipe() {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let chain = vec![
            include_bytes!("../../../../tests/fixtures/sha1/leaf.der").to_vec(),
            include_bytes!("../../../../tests/fixtures/sha1/inter.der").to_vec(),
        ];
        let served = chain.clone();
        let peer = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut reader = tlswire::ClientHelloReader::new();
            loop {
                let n = server.read(&mut buf).await.unwrap();
                if reader.feed(&buf[..n]).unwrap().is_some() {
                    break;
                }
            }
            let mut hs = tlswire::server_hello(tlswire::TLS1_2, &[1; 32], 0x002F);
            hs.extend(tlswire::server_certificate(&served));
            hs.extend(tlswire::server_hello_done());
            let bytes = tlswire::records(tlswire::CONTENT_HANDSHAKE, tlswire::TLS1_2, &hs);
            server.write_all(&bytes).await.unwrap();
            server
        });
        let cap = capture(client, Some("gw.lab"), Duration::from_secs(5))
            .await
            .unwrap();
        let _server = peer.await.unwrap();
        assert_eq!(cap.version, "TLSv1.2");
        assert_eq!(cap.cipher, "TLS_RSA_WITH_AES_128_CBC_SHA");
        assert_eq!(cap.chain, chain);
        assert_eq!(cap.client_auth, None);

        let root =
            Anchor::from_der(include_bytes!("../../../../tests/fixtures/sha1/root.der")).unwrap();
        let anchors = [root];
        let families: [(CaFamily, &[Anchor]); 1] = [(CaFamily::Stca, &anchors)];
        let mut result = TlsResult {
            alert: Some("handshake_failure".into()),
            ..TlsResult::failed(
                TlsStatus::Alert,
                Some("received fatal alert: HandshakeFailure".into()),
                1,
            )
        };
        apply(&mut result, Ok(cap), &families, false);
        assert_eq!(result.stack, TlsStack::LegacyCapture);
        assert_eq!(result.status, TlsStatus::Ok);
        assert_eq!(result.ca_family, Some(CaFamily::Stca));
        assert_eq!(
            result.signature_verified,
            Some(stca2_report::SignatureVerified::True)
        );
        assert_eq!(result.chain.len(), 2);
        assert!(result.detail.unwrap().contains("HandshakeFailure"));
    }

    #[test]
    fn a_captured_request_is_recorded_but_is_no_requirement() {
        let cap = LegacyCapture {
            version: "TLSv1.2".into(),
            cipher: "TLS_RSA_WITH_AES_128_CBC_SHA".into(),
            chain: vec![include_bytes!("../../../../tests/fixtures/sha1/leaf.der").to_vec()],
            client_auth: Some(vec!["CN=Terminal CA".into()]),
        };
        let mut result = TlsResult::failed(TlsStatus::Error, Some("no suites".into()), 1);
        apply(&mut result, Ok(cap), &[], false);
        assert_eq!(result.status, TlsStatus::Ok);
        assert_eq!(
            result.client_auth.map(|c| c.ca_names),
            Some(vec!["CN=Terminal CA".to_string()])
        );
        assert!(
            result
                .detail
                .unwrap()
                .contains("asks for a client certificate"),
        );
    }
}
