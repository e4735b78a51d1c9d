//! Legacy capture against hostile and broken servers, and against the lab's
//! legacy responder.
//!
//! Every server here is an in-test tokio listener on its own loopback
//! address ([`net::address`], ephemeral port), so the tests run in parallel
//! without clashing and never leave loopback.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::util::net;
use stca2_engine::cert::{self, Anchor};
use stca2_engine::probe::legacy::{LegacyError, capture};
use stca2_lab::legacy::{serve_legacy, sha1_stca_chain, sha1_stca_root_pem};
use stca2_report::TlsStatus;
use stca2_report::{CaFamily, SignatureVerified};
use stca2_wire::{self as tlswire, ClientHelloReader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const TIMEOUT: Duration = Duration::from_secs(2);

/// A one-connection server on an address of its own running `behave` on
/// the accepted stream; the handle returns what `behave` returns.
async fn server<F, Fut, T>(behave: F) -> (SocketAddr, JoinHandle<T>)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send,
    T: Send + 'static,
{
    let listener = TcpListener::bind((net::address(), 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        behave(stream).await
    });
    (addr, handle)
}

/// Reads until a whole ClientHello arrived.
async fn read_hello(stream: &mut TcpStream) -> tlswire::ClientHello {
    let mut reader = ClientHelloReader::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "client closed before its ClientHello");
        if let Some(h) = reader.feed(&buf[..n]).unwrap() {
            return h;
        }
    }
}

/// Runs a capture against `addr`, checking it ends within the timeout.
async fn run(addr: SocketAddr) -> Result<stca2_engine::probe::legacy::LegacyCapture, LegacyError> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    let r = capture(stream, None, TIMEOUT).await;
    let took = start.elapsed();
    assert!(
        took < TIMEOUT + Duration::from_secs(2),
        "capture took {took:?}, longer than its timeout"
    );
    r
}

fn server_hello_record() -> Vec<u8> {
    tlswire::records(
        tlswire::CONTENT_HANDSHAKE,
        tlswire::TLS1_2,
        &tlswire::server_hello(tlswire::TLS1_2, &[3; 32], 0x002F),
    )
}

#[tokio::test]
async fn truncated_record_then_close_is_eof() {
    let (addr, h) = server(|mut s| async move {
        read_hello(&mut s).await;
        // A record announcing 100 bytes, of which 10 arrive.
        s.write_all(&[22, 3, 3, 0, 100]).await.unwrap();
        s.write_all(&[2, 0, 0, 70, 3, 3, 0, 0, 0, 0]).await.unwrap();
    })
    .await;
    let err = run(addr).await.unwrap_err();
    h.await.unwrap();
    assert_eq!(err, LegacyError::Eof);
    assert_eq!(err.status(), TlsStatus::Eof);
}

#[tokio::test]
async fn sixteen_mib_length_field_is_malformed() {
    let (addr, h) = server(|mut s| async move {
        read_hello(&mut s).await;
        // A handshake header claiming a 16 MiB ServerHello…
        let _ = s
            .write_all(&tlswire::records(
                22,
                tlswire::TLS1_2,
                &[2, 0xFF, 0xFF, 0xFF],
            ))
            .await;
        // …followed by as much as the client will take.
        let chunk = vec![0u8; 16384];
        let mut sent = 0usize;
        while sent < 16 << 20 {
            if s.write_all(&chunk).await.is_err() {
                // The client hung up without taking the 16 MiB.
                return true;
            }
            sent += chunk.len();
        }
        false
    })
    .await;
    let err = run(addr).await.unwrap_err();
    let hung_up = h.await.unwrap();
    assert_eq!(err.status(), TlsStatus::Error);
    assert!(
        matches!(&err, LegacyError::Malformed(m) if m.contains("ServerHello message length 16777215 exceeds")),
        "{err}"
    );
    assert!(hung_up, "the client read all 16 MiB instead of giving up");
}

#[tokio::test]
async fn oversized_record_length_is_malformed() {
    let (addr, h) = server(|mut s| async move {
        read_hello(&mut s).await;
        let _ = s.write_all(&[22, 3, 3, 0xFF, 0xFF, 0, 0, 0]).await;
    })
    .await;
    let err = run(addr).await.unwrap_err();
    h.await.unwrap();
    assert!(
        matches!(&err, LegacyError::Malformed(m) if m.contains("record length 65535 exceeds the TLS limit")),
        "{err}"
    );
}

#[tokio::test]
async fn random_bytes_are_not_tls() {
    let (addr, h) = server(|mut s| async move {
        read_hello(&mut s).await;
        // A fixed xorshift stream, starting with a byte that no record type uses.
        let mut x: u32 = 0x9E37_79B9;
        let mut junk = vec![0x9Au8];
        for _ in 0..4095 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            junk.push(x as u8);
        }
        let _ = s.write_all(&junk).await;
    })
    .await;
    let err = run(addr).await.unwrap_err();
    h.await.unwrap();
    assert!(
        matches!(&err, LegacyError::Malformed(m) if m.starts_with("not TLS")),
        "{err}"
    );
}

#[tokio::test]
async fn http_answer_is_named() {
    let (addr, h) = server(|mut s| async move {
        read_hello(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await;
    })
    .await;
    let err = run(addr).await.unwrap_err();
    h.await.unwrap();
    assert!(err.to_string().contains("HTTP server"), "{err}");
}

#[tokio::test]
async fn certificate_that_never_ends_times_out() {
    let (addr, h) = server(|mut s| async move {
        read_hello(&mut s).await;
        let mut bytes = server_hello_record();
        // A Certificate claiming 200 KiB; 1 KiB of it arrives, then silence.
        let mut cert = vec![11, 0x03, 0x20, 0x00];
        cert.extend(vec![0x30; 1020]);
        bytes.extend(tlswire::records(22, tlswire::TLS1_2, &cert));
        s.write_all(&bytes).await.unwrap();
        // Hold the connection open until the client gives up.
        let mut buf = [0u8; 64];
        let _ = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await;
    })
    .await;
    let err = run(addr).await.unwrap_err();
    h.await.unwrap();
    assert_eq!(err, LegacyError::Timeout);
    assert_eq!(err.status(), TlsStatus::Timeout);
}

#[tokio::test]
async fn endless_handshake_stream_hits_the_byte_cap() {
    let (addr, h) = server(|mut s| async move {
        read_hello(&mut s).await;
        if s.write_all(&server_hello_record()).await.is_err() {
            return true;
        }
        // Valid, ignorable ServerKeyExchange messages forever: never a ServerHelloDone.
        let ske = tlswire::records(22, tlswire::TLS1_2, &tlswire::handshake(12, &[0u8; 16000]));
        let mut sent = 0usize;
        while sent < 64 << 20 {
            if s.write_all(&ske).await.is_err() {
                return true;
            }
            sent += ske.len();
        }
        false
    })
    .await;
    let err = run(addr).await.unwrap_err();
    let hung_up = h.await.unwrap();
    assert!(
        matches!(&err, LegacyError::Malformed(m) if m.contains("more than 524288 bytes")),
        "{err}"
    );
    assert!(hung_up, "the client read all 64 MiB instead of giving up");
}

#[tokio::test]
async fn immediate_close_is_eof() {
    let (addr, h) = server(|s| async move { drop(s) }).await;
    let err = run(addr).await.unwrap_err();
    h.await.unwrap();
    // Closing before reading the ClientHello may also surface as a reset.
    assert!(
        matches!(err, LegacyError::Eof | LegacyError::Reset),
        "{err}"
    );
}

#[tokio::test]
async fn reset_after_client_hello_is_reset() {
    let (addr, h) = server(|mut s| async move {
        read_hello(&mut s).await;
        s.set_zero_linger().unwrap();
        drop(s);
    })
    .await;
    let err = run(addr).await.unwrap_err();
    h.await.unwrap();
    assert_eq!(err, LegacyError::Reset);
    assert_eq!(err.status(), TlsStatus::Reset);
}

#[tokio::test]
async fn silence_times_out() {
    let (addr, h) = server(|mut s| async move {
        let mut buf = [0u8; 4096];
        // Read everything, answer nothing, until the client leaves.
        while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await
        {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    let start = Instant::now();
    let err = run(addr).await.unwrap_err();
    assert!(start.elapsed() >= TIMEOUT - Duration::from_millis(50));
    h.await.unwrap();
    assert_eq!(err, LegacyError::Timeout);
}

#[tokio::test]
async fn alert_is_named() {
    let (addr, h) = server(|mut s| async move {
        read_hello(&mut s).await;
        let _ = s
            .write_all(&tlswire::fatal_alert(tlswire::TLS1_2, 40))
            .await;
    })
    .await;
    let err = run(addr).await.unwrap_err();
    h.await.unwrap();
    assert_eq!(err, LegacyError::Alert("handshake_failure".into()));
    assert_eq!(err.status(), TlsStatus::Alert);
}

fn stca_anchors() -> Vec<Anchor> {
    Anchor::from_pem(sha1_stca_root_pem().as_bytes()).unwrap()
}

#[tokio::test]
async fn lab_legacy_responder_serves_the_sha1_stca_chain() {
    let (addr, h) =
        server(|s| serve_legacy(s, sha1_stca_chain(), false, Duration::from_secs(5))).await;
    let cap = run(addr).await.unwrap();
    h.await.unwrap();
    assert_eq!(cap.version, "TLSv1.2");
    assert_eq!(cap.cipher, "TLS_RSA_WITH_AES_128_CBC_SHA");
    assert_eq!(cap.chain, sha1_stca_chain());
    assert_eq!(cap.client_auth, None);
    let anchors = stca_anchors();
    let class = cert::classify(&cap.chain, &[(CaFamily::Stca, &anchors)]);
    assert_eq!(class.family, CaFamily::Stca);
    // x509-parser verifies sha1WithRSAEncryption with ring's legacy algorithm.
    assert_eq!(class.signature_verified, SignatureVerified::True);
}

#[tokio::test]
async fn lab_legacy_responder_can_request_a_client_certificate() {
    let (addr, h) =
        server(|s| serve_legacy(s, sha1_stca_chain(), true, Duration::from_secs(5))).await;
    let cap = run(addr).await.unwrap();
    h.await.unwrap();
    assert_eq!(
        cap.client_auth,
        Some(vec!["CN=STCA Root CA (lab),O=STCA Lab,C=FR".to_string()])
    );
}

#[tokio::test]
async fn lab_legacy_responder_refuses_modern_only_clients() {
    let (addr, h) =
        server(|s| serve_legacy(s, sha1_stca_chain(), false, Duration::from_secs(5))).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    // A ClientHello offering only an ECDHE suite, as rustls would.
    let mut body = vec![3, 3];
    body.extend([0u8; 32]);
    body.push(0);
    body.extend([0, 2, 0xC0, 0x2F, 1, 0]);
    let hello = tlswire::records(22, tlswire::TLS1_0, &tlswire::handshake(1, &body));
    s.write_all(&hello).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 64];
        // The responder waits for us to close after its alert; read the alert only.
        while answer.len() < 7 {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0);
            answer.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap();
    drop(s);
    h.await.unwrap();
    assert_eq!(answer, tlswire::fatal_alert(tlswire::TLS1_2, 40));
}
