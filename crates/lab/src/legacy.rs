//! The lab's `legacy-stca` behaviour: an old gateway stack that speaks only
//! TLS 1.2 with RSA key exchange and presents a SHA-1 STCA chain.
//!
//! No TLS library would play this part (rustls refuses RSA key exchange and
//! SHA-1), and it does not need one: the probe's legacy capture stops at
//! ServerHelloDone, so the responder only has to *send* a plausible first
//! flight. It never holds a private key and never completes a handshake.
//!
//! The chain comes from committed fixtures made by the openssl command line
//! (`tests/fixtures/make-sha1-fixtures.sh`), because generating SHA-1
//! certificates in-process would need a SHA-1 signer the crate does not have.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use stca2_wire::{self as tlswire, ClientHelloReader};

/// The handshake_failure alert code.
const HANDSHAKE_FAILURE: u8 = 40;
/// The protocol_version alert code.
const PROTOCOL_VERSION: u8 = 70;

/// Serves one connection as an old TLS 1.2 gateway: reads the ClientHello
/// (bounded by the wire parser's limits), and if it offers an RSA
/// key-exchange suite answers ServerHello (TLS 1.2, that suite) +
/// Certificate (`chain`, DER leaf first) [+ CertificateRequest naming the
/// chain's top issuer when `request_client_cert`] + ServerHelloDone;
/// otherwise it sends a fatal handshake_failure alert, as such a stack
/// answers rustls. Then it waits for the client to close. `limit` bounds the
/// whole connection.
pub async fn serve_legacy(
    stream: TcpStream,
    chain: Vec<Vec<u8>>,
    request_client_cert: bool,
    limit: Duration,
) {
    let _ = tokio::time::timeout(limit, serve(stream, chain, request_client_cert)).await;
}

async fn serve(
    mut stream: TcpStream,
    chain: Vec<Vec<u8>>,
    request_client_cert: bool,
) -> std::io::Result<()> {
    let mut reader = ClientHelloReader::new();
    let mut buf = vec![0u8; 8192];
    let hello = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        match reader.feed(&buf[..n]) {
            Ok(None) => continue,
            Ok(Some(hello)) => break hello,
            Err(_) => {
                // Not a ClientHello: answer as a TLS stack would and hang up.
                stream
                    .write_all(&tlswire::fatal_alert(tlswire::TLS1_0, 10))
                    .await?;
                return Ok(());
            }
        }
    };
    if hello.version < tlswire::TLS1_0 {
        stream
            .write_all(&tlswire::fatal_alert(tlswire::TLS1_0, PROTOCOL_VERSION))
            .await?;
        return Ok(());
    }
    let version = hello.version.min(tlswire::TLS1_2);
    let suite = tlswire::RSA_KX_SUITES
        .iter()
        .find(|s| hello.cipher_suites.contains(s));
    let Some(&suite) = suite else {
        stream
            .write_all(&tlswire::fatal_alert(version, HANDSHAKE_FAILURE))
            .await?;
        drain(&mut stream).await;
        return Ok(());
    };
    let random = tlswire::client_random().unwrap_or([0x5c; 32]);
    let mut hs = tlswire::server_hello(version, &random, suite);
    hs.extend(tlswire::server_certificate(&chain));
    if request_client_cert {
        hs.extend(tlswire::server_certificate_request(&top_issuer(&chain)));
    }
    hs.extend(tlswire::server_hello_done());
    stream
        .write_all(&tlswire::records(tlswire::CONTENT_HANDSHAKE, version, &hs))
        .await?;
    drain(&mut stream).await;
    Ok(())
}

/// Reads and discards until the client closes (the caller's deadline bounds it).
async fn drain(stream: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// The issuer name of the chain's last certificate, as the one accepted CA name.
fn top_issuer(chain: &[Vec<u8>]) -> Vec<Vec<u8>> {
    chain
        .last()
        .and_then(|der| x509_parser::parse_x509_certificate(der).ok())
        .map(|(_, c)| vec![c.issuer().as_raw().to_vec()])
        .unwrap_or_default()
}

/// The SHA-1 STCA chain the lab serves: leaf (SAN 127.0.0.1, localhost,
/// stca-legacy.lab), then the intermediate. The root is not sent, as real
/// servers do not send it.
pub fn sha1_stca_chain() -> Vec<Vec<u8>> {
    vec![
        include_bytes!("../../../tests/fixtures/sha1/leaf.der").to_vec(),
        include_bytes!("../../../tests/fixtures/sha1/inter.der").to_vec(),
    ]
}

/// The SHA-1 "STCA Root CA (lab)" certificate, DER: the old-STCA anchor
/// for classifying [`sha1_stca_chain`].
pub fn sha1_stca_root_der() -> &'static [u8] {
    include_bytes!("../../../tests/fixtures/sha1/root.der")
}

/// The root of the committed SHA-1 STCA fixture chain, PEM.
pub fn sha1_stca_root_pem() -> &'static str {
    include_str!("../../../tests/fixtures/sha1/root.pem")
}
