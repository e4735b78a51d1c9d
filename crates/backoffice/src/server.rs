//! The listener: plain HTTP or HTTPS (rustls, ring), one accept loop.
//!
//! Each connection is served by hyper's HTTP/1 server on a task owned by a
//! `JoinSet`; a TLS handshake and the request head each have a deadline, and
//! the number of open connections is bounded, in all and per client address
//! (so that idle sockets from one address cannot take every slot). The peer address is attached
//! to every request (`ConnectInfo`) so the API can record the public IP. A
//! retention task, owned by the same loop, prunes old history every hour.
//! At shutdown every connection is told to finish its request in flight and
//! close; whatever is still running after [`DRAIN_TIMEOUT`] is aborted.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use ipnet::IpNet;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use super::api::{AppState, router};
use super::store::{Store, StoreError, rfc3339_ms, unix_ms};

/// Most connections served at once; further ones wait in the kernel backlog.
pub const MAX_CONNECTIONS: usize = 4096;
/// Most connections one client address may hold open at once (trusted
/// proxies, which carry many clients, are not counted): further ones are
/// closed as soon as accepted, so one address cannot take the
/// [`MAX_CONNECTIONS`] every probe shares.
pub const PER_CLIENT_CONNECTIONS: usize = 256;
/// Deadline for a TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may stay without a complete request head (a new
/// one, or an idle keep-alive one): an idle socket holds a connection slot.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// How long open connections get to finish at shutdown.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How often old history is pruned.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}; is another server using it?")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The certificate or key could not be loaded.
    #[error(
        "cannot load TLS {what} from {path}: {detail}; give PEM files (--tls-cert chain, --tls-key private key)"
    )]
    Tls {
        /// "certificate" or "key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

/// How to run the back office.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Database URL (`sqlite://FILE` or `postgres://...`).
    pub database: String,
    /// PEM certificate chain and private key, to serve HTTPS directly.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// History older than this many days is pruned (0: keep forever).
    pub retention_days: u32,
}

/// A bound, ready-to-run back office.
pub struct Server {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: AppState,
    retention_days: u32,
    trusted_proxies: Vec<IpNet>,
}

/// Open connections per client address, for [`PER_CLIENT_CONNECTIONS`].
#[derive(Debug, Default)]
struct PerClient(Mutex<HashMap<IpAddr, usize>>);

/// One open connection of a client address, counted until dropped.
struct ClientSlot {
    table: Arc<PerClient>,
    ip: IpAddr,
}

impl PerClient {
    /// A slot for one more connection of `ip`, or None when it holds its share.
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<ClientSlot> {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = t.entry(ip).or_insert(0);
        if *n >= PER_CLIENT_CONNECTIONS {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut t = self.table.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = t.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                t.remove(&self.ip);
            }
        }
    }
}

impl Server {
    /// Opens the database (applying the schema) and binds the listener.
    pub async fn bind(cfg: &ServeConfig) -> Result<Server, ServeError> {
        let tls = match &cfg.tls {
            Some((cert, key)) => Some(tls_acceptor(cert, key)?),
            None => None,
        };
        let store = Store::connect(&cfg.database).await?;
        Self::with_store(store, cfg, tls).await
    }

    /// Like [`Server::bind`] over an already opened store.
    pub async fn with_store(
        store: Store,
        cfg: &ServeConfig,
        tls: Option<TlsAcceptor>,
    ) -> Result<Server, ServeError> {
        let listener = TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: cfg.listen,
                source,
            })?;
        Ok(Server {
            listener,
            tls,
            state: AppState::new(store, cfg.trusted_proxies.clone()),
            retention_days: cfg.retention_days,
            trusted_proxies: cfg.trusted_proxies.clone(),
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The database it serves (a handle on the same pool).
    pub fn store(&self) -> &Store {
        self.state.store()
    }

    /// Whether this server speaks HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves until `shutdown` completes, then stops accepting, asks every
    /// connection to finish its request in flight and close (idle ones close
    /// at once), and gives them up to [`DRAIN_TIMEOUT`] before aborting them.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let app = router(self.state.clone());
        let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let per_client = Arc::new(PerClient::default());
        let mut conns: JoinSet<()> = JoinSet::new();
        let mut housekeeping: JoinSet<()> = JoinSet::new();
        let (stop_tx, stop_rx) = watch::channel(false);
        housekeeping.spawn(prune_loop(
            self.state.store().clone(),
            i64::from(self.retention_days),
        ));
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                p = limit.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            };
            let accepted = tokio::select! {
                _ = &mut shutdown => break,
                a = self.listener.accept() => a,
            };
            // Reap finished connection tasks so the set stays small.
            while conns.try_join_next().is_some() {}
            let (stream, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed; retrying in 100 ms");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let ip = peer.ip().to_canonical();
            let slot = if self.trusted_proxies.iter().any(|n| n.contains(&ip)) {
                None
            } else if let Some(slot) = per_client.take(ip) {
                Some(slot)
            } else {
                tracing::debug!(%ip, "connection refused: this address holds its share of connections");
                continue; // `stream` and `permit` are dropped: closed at once.
            };
            let _ = stream.set_nodelay(true);
            let app = app.clone();
            let tls = self.tls.clone();
            let stop = stop_rx.clone();
            conns.spawn(async move {
                let _permit = permit;
                let _slot = slot;
                match tls {
                    Some(acc) => {
                        if let Ok(Ok(s)) =
                            tokio::time::timeout(HANDSHAKE_TIMEOUT, acc.accept(stream)).await
                        {
                            serve_conn(TokioIo::new(s), peer, app, stop).await;
                        }
                    }
                    None => serve_conn(TokioIo::new(stream), peer, app, stop).await,
                }
            });
        }
        housekeeping.abort_all();
        let _ = stop_tx.send(true);
        let drain = async { while conns.join_next().await.is_some() {} };
        if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
            conns.abort_all();
        }
        while housekeeping.join_next().await.is_some() {}
    }
}

/// Every [`PRUNE_EVERY`], from start: creates the history's partitions
/// ahead ([`Store::upkeep`]) and prunes history older than `days` (0: keep
/// forever). On PostgreSQL one replica at a time does either.
async fn prune_loop(store: Store, days: i64) {
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = unix_ms(time::OffsetDateTime::now_utc());
        if let Err(e) = store.upkeep(now).await {
            tracing::warn!(error = %e, "creating the history's partitions ahead failed; retried in an hour");
        }
        if days == 0 {
            continue;
        }
        let cutoff = now - days * 86_400_000;
        match store.prune(cutoff).await {
            Ok(0) => tracing::debug!(retention_days = days, "no history to prune"),
            Ok(n) => tracing::info!(
                deleted = n,
                before = %rfc3339_ms(cutoff),
                retention_days = days,
                "pruned old history"
            ),
            Err(e) => tracing::warn!(
                error = %e,
                "pruning old history failed; retried in an hour"
            ),
        }
    }
}

/// Serves one connection until the client closes it or `stop` turns true;
/// then a request in flight is finished and the connection closed.
async fn serve_conn<I>(io: I, peer: SocketAddr, app: Router, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(64 * 1024)
        .serve_connection(io, svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        // `is_ok` drops the borrow of the channel's value before awaiting on.
        _ = async { stop.wait_for(|s| *s).await.is_ok() } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// A rustls acceptor (ring provider) from PEM files.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, ServeError> {
    let terr = |what, path: &Path, detail: String| ServeError::Tls {
        what,
        path: path.to_path_buf(),
        detail,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| terr("certificate", cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| terr("certificate", cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(terr("certificate", cert, "no CERTIFICATE block".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| terr("key", key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| terr("certificate", cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| terr("key", key, e.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
