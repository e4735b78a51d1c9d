//! The endpoint servers: one accept loop per listening site x port, one task
//! per connection.
//!
//! Ownership is a tree of `JoinSet`s: the [`Lab`](super::Lab) owns one task
//! per endpoint, and each endpoint task owns its connections. Aborting an
//! endpoint task drops its `JoinSet`, which aborts its connections and closes
//! their sockets, so stopping the lab leaves nothing behind. Every connection
//! lives at most [`CONNECTION_LIMIT`], reads at most [`READ_LIMIT`] bytes, and
//! an endpoint serves at most [`MAX_CONNECTIONS`] at once.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use stca2_words::Words;

use super::pki::{Identity, LabPki};
use super::{Behaviour, LabError};
use stca2_engine::probe::tls::provider;

/// The longest a lab connection lives, whatever the client does.
pub const CONNECTION_LIMIT: Duration = Duration::from_secs(30);
/// The most bytes a lab connection reads from its client (the rest is not read).
pub const READ_LIMIT: usize = 64 * 1024;
/// The most connections one endpoint serves at once; more are closed on accept.
pub const MAX_CONNECTIONS: usize = 256;
/// How long `garbage` and `reset-after-hello` wait for the ClientHello.
const HELLO_WAIT: Duration = Duration::from_secs(10);
/// How long a closing connection drains its client before dropping.
const LINGER: Duration = Duration::from_secs(2);
/// What `garbage` answers: an HTTP error, as a captive portal or proxy would.
pub const GARBAGE: &[u8] =
    b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// A TLS record header plus the largest plaintext record.
const MAX_RECORD: usize = 5 + 16384;

/// Everything a connection of one endpoint needs.
pub(super) struct Served {
    pub behaviour: Behaviour,
    /// The TLS configuration for behaviours that speak TLS.
    pub tls: Option<Arc<ServerConfig>>,
    /// How long `slow` waits before the handshake.
    pub slow_delay: Duration,
}

/// The rustls server configuration of a TLS behaviour; `None` for the others.
pub(super) fn tls_config(
    b: Behaviour,
    pki: &LabPki,
) -> Result<Option<Arc<ServerConfig>>, LabError> {
    let tls_err = |source| LabError::Tls {
        behaviour: b,
        source,
    };
    let all_versions = || {
        ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(tls_err)
    };
    let single = |id: &Identity| -> Result<ServerConfig, LabError> {
        all_versions()?
            .with_no_client_auth()
            .with_single_cert(id.chain().to_vec(), id.key())
            .map_err(tls_err)
    };
    let config = match b {
        Behaviour::Stca2 | Behaviour::Slow => single(pki.stca2_server())?,
        Behaviour::Stca => single(pki.stca_server())?,
        Behaviour::Interceptor => single(pki.interceptor_server())?,
        Behaviour::Forged => single(pki.forged_server())?,
        Behaviour::Expired => single(pki.stca2_expired())?,
        Behaviour::Tls12Only => {
            let id = pki.stca2_server();
            ServerConfig::builder_with_provider(provider())
                .with_protocol_versions(&[&rustls::version::TLS12])
                .map_err(tls_err)?
                .with_no_client_auth()
                .with_single_cert(id.chain().to_vec(), id.key())
                .map_err(tls_err)?
        }
        Behaviour::ClientAuth => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.client_ca().clone()).map_err(tls_err)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider())
                .build()
                .map_err(|e| tls_err(rustls::Error::General(e.to_string())))?;
            let id = pki.stca2_server();
            all_versions()?
                .with_client_cert_verifier(verifier)
                .with_single_cert(id.chain().to_vec(), id.key())
                .map_err(tls_err)?
        }
        Behaviour::Closed
        | Behaviour::Silent
        | Behaviour::ResetAfterHello
        | Behaviour::Garbage
        | Behaviour::LegacyStca => {
            return Ok(None);
        }
    };
    Ok(Some(Arc::new(config)))
}

/// Binds a listening socket with SO_REUSEADDR, with a message that says what to do on failure.
pub(super) fn bind(addr: SocketAddr) -> Result<TcpListener, LabError> {
    let attempt = || -> io::Result<TcpListener> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(128)
    };
    attempt().map_err(|source| LabError::Bind { addr, source })
}

/// Why a listener could not be bound, and what to do, in `words`' language.
pub(super) fn bind_said(words: Words, addr: &SocketAddr, e: &io::Error) -> String {
    let kind = match e.kind() {
        io::ErrorKind::AddrInUse => "in-use",
        io::ErrorKind::AddrNotAvailable => "not-available",
        io::ErrorKind::PermissionDenied => "permission",
        _ => "other",
    };
    words.text(
        "lab-bind",
        Some(&stca2_words::args!(
            "addr" => addr.to_string(),
            "ip" => addr.ip().to_string(),
            "kind" => kind,
            "error" => e.to_string(),
        )),
    )
}

/// Accepts connections forever, each handled in its own task owned by this one.
pub(super) async fn serve(listener: TcpListener, served: Arc<Served>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if conns.len() >= MAX_CONNECTIONS {
                        drop(stream);
                        continue;
                    }
                    let served = Arc::clone(&served);
                    conns.spawn(async move {
                        let _ = tokio::time::timeout(CONNECTION_LIMIT, handle(stream, served)).await;
                    });
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn handle(stream: TcpStream, served: Arc<Served>) {
    let _ = stream.set_nodelay(true);
    match served.behaviour {
        Behaviour::Closed => {} // never bound; nothing to do
        Behaviour::Silent => silent(stream).await,
        Behaviour::ResetAfterHello => reset_after_hello(stream).await,
        Behaviour::Garbage => garbage(stream).await,
        Behaviour::Slow => {
            tokio::time::sleep(served.slow_delay).await;
            tls(stream, &served).await;
        }
        Behaviour::LegacyStca => {
            super::legacy::serve_legacy(
                stream,
                super::legacy::sha1_stca_chain(),
                false,
                CONNECTION_LIMIT,
            )
            .await
        }
        Behaviour::Stca2
        | Behaviour::Stca
        | Behaviour::ClientAuth
        | Behaviour::Interceptor
        | Behaviour::Forged
        | Behaviour::Expired
        | Behaviour::Tls12Only => tls(stream, &served).await,
    }
}

/// Reads and discards what the client sends until EOF, an error or [`READ_LIMIT`].
async fn drain<R: AsyncRead + Unpin>(r: &mut R) {
    let mut buf = [0u8; 4096];
    let mut total = 0usize;
    while total < READ_LIMIT {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => total += n,
        }
    }
}

/// Half-closes, then drains briefly so the kernel sends FIN rather than RST.
async fn close_gracefully(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
    let _ = tokio::time::timeout(LINGER, drain(&mut stream)).await;
}

async fn tls(stream: TcpStream, served: &Served) {
    let Some(config) = served.tls.clone() else {
        return;
    };
    match TlsAcceptor::from(config)
        .accept(stream)
        .into_fallible()
        .await
    {
        Ok(mut tls) => {
            drain(&mut tls).await;
            let _ = tls.shutdown().await;
        }
        // The handshake failed (the client refused our chain, sent no client
        // certificate...): rustls has already sent its alert; close cleanly.
        Err((_, tcp)) => close_gracefully(tcp).await,
    }
}

async fn silent(mut stream: TcpStream) {
    drain(&mut stream).await;
    // Past the read bound, hold the connection open until the time limit.
    std::future::pending::<()>().await;
}

/// Reads one TLS record (the ClientHello), bounded in size and time.
async fn read_hello(stream: &mut TcpStream) -> io::Result<()> {
    let mut header = [0u8; 5];
    stream.read_exact(&mut header).await?;
    let len = usize::from(u16::from_be_bytes([header[3], header[4]])).min(MAX_RECORD - 5);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await?;
    Ok(())
}

async fn reset_after_hello(mut stream: TcpStream) {
    let _ = tokio::time::timeout(HELLO_WAIT, read_hello(&mut stream)).await;
    // SO_LINGER 0: closing sends RST instead of FIN.
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

async fn garbage(mut stream: TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(HELLO_WAIT, stream.read(&mut buf)).await;
    if stream.write_all(GARBAGE).await.is_ok() {
        close_gracefully(stream).await;
    }
}
