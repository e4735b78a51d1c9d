//! The listener: plain HTTP or HTTPS (rustls, ring), one accept loop.
//!
//! Each connection is served by hyper's HTTP/1 server on a task owned by a
//! `JoinSet`; a TLS handshake and the request head each have a deadline, and
//! the number of open connections is bounded, in all and per client address
//! (so that idle sockets from one address cannot take every slot), and
//! connections that have not shown a valid token give way to new ones when
//! the cap is reached ([`PER_CLIENT_UNPROVEN`]). The peer address is attached
//! to every request (`ConnectInfo`) so the API can record the public IP. A
//! retention task, owned by the same loop, prunes old history every hour.
//! At shutdown every connection is told to finish its request in flight and
//! close; whatever is still running after [`DRAIN_TIMEOUT`] is aborted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use ipnet::IpNet;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};
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
/// Most *unproven* connections one client address may hold: idle
/// connections whose last request did not present a valid bearer token
/// (new ones that have sent no request head yet, and those whose last token
/// failed or that sent none). At the bound, the address's oldest unproven
/// connection is closed to make room for the new one; trusted proxies are
/// not counted. A connection whose request head has arrived is not
/// unproven while that request runs (its token is being checked, its body
/// read under the body deadline): many probes behind one address (a
/// relay, a carrier-grade NAT) that open connections together lose none of
/// the uploads they have begun; what is closed is silence.
///
/// Room for probes: when all [`MAX_CONNECTIONS`] are open, the oldest
/// unproven connection, whoever holds it, is closed for the next one, and
/// a connection that has shown a valid token is never closed to make room.
/// (A share of the cap reserved for proven connections would not do: a
/// probe opens a new connection per upload, unproven until its first
/// request's token is checked, so it could never reach the reserved share
/// while idle sockets filled the rest.) Many addresses together thus only
/// keep each other's idle sockets short-lived; a new connection is the
/// youngest, closed last, and proves itself in the milliseconds its first
/// request takes to arrive.
pub const PER_CLIENT_UNPROVEN: usize = 32;
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
    registry: Arc<Registry>,
}

/// What the connection bounds did so far, read while the server runs
/// ([`Server::connections`]).
#[derive(Debug, Clone)]
pub struct Connections(Arc<Registry>);

impl Connections {
    /// Connections closed to make room because they never showed a valid
    /// token (the per-address bound, or the server's cap).
    pub fn evicted(&self) -> u64 {
        self.0.lock().evicted
    }

    /// Connections refused because their address held its share.
    pub fn refused(&self) -> u64 {
        self.0.lock().refused
    }
}

/// Every open connection, for the bounds above: how many each client
/// address holds, and which connections have not presented a valid token
/// yet ("unproven"), oldest first, with the signal that closes each.
#[derive(Debug, Default)]
struct Registry(Mutex<Table>);

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    /// Unproven connections by age: id -> (its counted address, its close signal).
    unproven: BTreeMap<u64, (Option<IpAddr>, Arc<Closer>)>,
    /// Counted addresses (not trusted proxies).
    per_ip: HashMap<IpAddr, PerIp>,
    /// Unproven connections closed to make room, since start.
    evicted: u64,
    /// Connections refused at an address's bound, since start.
    refused: u64,
}

#[derive(Debug, Default)]
struct PerIp {
    open: usize,
    unproven: BTreeSet<u64>,
}

impl Table {
    /// Closes the unproven connection `id`: it leaves the unproven set at
    /// once (its slot in [`PerIp::open`] and the connection cap is given
    /// back when its task ends, at its next poll).
    fn evict(&mut self, id: u64) {
        if let Some((ip, close)) = self.unproven.remove(&id) {
            if let Some(p) = ip.and_then(|ip| self.per_ip.get_mut(&ip)) {
                p.unproven.remove(&id);
            }
            close.evicted.store(true, Ordering::Relaxed);
            close.notify.notify_one();
            self.evicted += 1;
        }
    }
}

/// How a connection is told to close to make room.
#[derive(Debug, Default)]
struct Closer {
    notify: Notify,
    /// Set with the signal: an evicted connection is never unproven again.
    evicted: AtomicBool,
}

/// One open connection, registered until dropped. Dropping it (the task
/// ends) gives its slot back.
#[derive(Debug)]
pub(crate) struct Conn {
    id: u64,
    /// The address it counts against; None for a trusted proxy.
    ip: Option<IpAddr>,
    registry: Arc<Registry>,
    close: Arc<Closer>,
    /// The current request's token checked out ([`Conn::vouch`]).
    vouched: AtomicBool,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new, unproven connection from `ip` (`counted`: not a
    /// trusted proxy). At [`PER_CLIENT_UNPROVEN`] the address's oldest
    /// unproven connection is closed to make room; at
    /// [`PER_CLIENT_CONNECTIONS`] with nothing unproven to close the new
    /// one is refused (None).
    fn admit(self: &Arc<Self>, ip: IpAddr, counted: bool) -> Option<Conn> {
        let mut t = self.lock();
        let id = t.next_id;
        t.next_id += 1;
        if counted {
            let p = t.per_ip.entry(ip).or_default();
            let oldest = p.unproven.first().copied();
            if p.unproven.len() >= PER_CLIENT_UNPROVEN
                || (p.open >= PER_CLIENT_CONNECTIONS && oldest.is_some())
            {
                if let Some(old) = oldest {
                    t.evict(old);
                }
            } else if p.open >= PER_CLIENT_CONNECTIONS {
                t.refused += 1;
                return None;
            }
            let p = t.per_ip.entry(ip).or_default();
            p.open += 1;
            p.unproven.insert(id);
        }
        let close = Arc::new(Closer::default());
        let counted_ip = counted.then_some(ip);
        t.unproven.insert(id, (counted_ip, close.clone()));
        Some(Conn {
            id,
            ip: counted_ip,
            registry: self.clone(),
            close,
            vouched: AtomicBool::new(false),
        })
    }

    /// Closes the oldest unproven connection, if there is one: the cap is
    /// reached, and a connection that never showed a token gives way to a
    /// new one. Returns whether one was closed.
    fn evict_oldest(&self) -> bool {
        let mut t = self.lock();
        match t.unproven.first_key_value().map(|(id, _)| *id) {
            Some(id) => {
                t.evict(id);
                true
            }
            None => false,
        }
    }
}

impl Conn {
    /// Records whether the connection's last token checked out: a proven
    /// connection is never closed to make room; one whose token failed is
    /// unproven again.
    fn vouch(&self, valid: bool) {
        self.vouched.store(valid, Ordering::Relaxed);
        let mut t = self.registry.lock();
        if valid {
            if t.unproven.remove(&self.id).is_some()
                && let Some(p) = self.ip.and_then(|ip| t.per_ip.get_mut(&ip))
            {
                p.unproven.remove(&self.id);
            }
        } else if !self.close.evicted.load(Ordering::Relaxed) && !t.unproven.contains_key(&self.id)
        {
            t.unproven.insert(self.id, (self.ip, self.close.clone()));
            if let Some(p) = self.ip.and_then(|ip| t.per_ip.get_mut(&ip)) {
                p.unproven.insert(self.id);
                // Over the address's bound: its oldest unproven one goes.
                if p.unproven.len() > PER_CLIENT_UNPROVEN
                    && let Some(old) = p.unproven.first().copied()
                {
                    t.evict(old);
                }
            }
        }
    }
}

impl Conn {
    /// A request head arrived: the connection is not idle, and is not
    /// closed to make room while the request runs (the returned guard's
    /// drop, at the request's end, makes it unproven again unless its token
    /// checked out).
    fn begin(self: &Arc<Self>) -> InFlight {
        self.vouched.store(false, Ordering::Relaxed);
        let mut t = self.registry.lock();
        if t.unproven.remove(&self.id).is_some()
            && let Some(p) = self.ip.and_then(|ip| t.per_ip.get_mut(&ip))
        {
            p.unproven.remove(&self.id);
        }
        InFlight(self.clone())
    }
}

/// A request in flight on a connection ([`Conn::begin`]).
struct InFlight(Arc<Conn>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.0.vouched.load(Ordering::Relaxed) {
            self.0.vouch(false);
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let mut t = self.registry.lock();
        t.unproven.remove(&self.id);
        if let Some(ip) = self.ip
            && let Some(p) = t.per_ip.get_mut(&ip)
        {
            p.unproven.remove(&self.id);
            p.open -= 1;
            if p.open == 0 {
                t.per_ip.remove(&ip);
            }
        }
    }
}

tokio::task_local! {
    /// The connection a request came on, for [`vouch`].
    static CONN: Arc<Conn>;
}

/// Tells the connection the current request came on whether its bearer
/// token checked out (see [`PER_CLIENT_UNPROVEN`]); outside a connection
/// (a router driven directly, in tests) it does nothing.
pub(crate) fn vouch(valid: bool) {
    let _ = CONN.try_with(|c| c.vouch(valid));
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
            registry: Arc::default(),
        })
    }

    /// The connection bounds' counters, readable while it runs.
    pub fn connections(&self) -> Connections {
        Connections(self.registry.clone())
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
        let app = router(self.state.clone()).merge(crate::console::router(
            self.state.clone(),
            crate::console::Transport {
                tls: self.tls.is_some(),
            },
        ));
        let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let registry = self.registry.clone();
        let mut conns: JoinSet<()> = JoinSet::new();
        let mut housekeeping: JoinSet<()> = JoinSet::new();
        let (stop_tx, stop_rx) = watch::channel(false);
        housekeeping.spawn(prune_loop(
            self.state.store().clone(),
            i64::from(self.retention_days),
        ));
        tokio::pin!(shutdown);
        loop {
            // At the cap, the oldest connection that never showed a valid
            // token makes room; when every one has, new ones wait in the
            // kernel's backlog.
            if limit.available_permits() == 0 && registry.evict_oldest() {
                tracing::debug!("connection cap reached: closed the oldest unproven connection");
            }
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
            let counted = !self.trusted_proxies.iter().any(|n| n.contains(&ip));
            let Some(conn) = registry.admit(ip, counted) else {
                tracing::debug!(%ip, "connection refused: this address holds its share of connections");
                continue; // `stream` and `permit` are dropped: closed at once.
            };
            let conn = Arc::new(conn);
            let _ = stream.set_nodelay(true);
            let app = app.clone();
            let tls = self.tls.clone();
            let stop = stop_rx.clone();
            conns.spawn(async move {
                let _permit = permit;
                let close = conn.close.clone();
                let serve = async move {
                    match tls {
                        Some(acc) => {
                            if let Ok(Ok(s)) =
                                tokio::time::timeout(HANDSHAKE_TIMEOUT, acc.accept(stream)).await
                            {
                                serve_conn(TokioIo::new(s), peer, app, stop, conn).await;
                            }
                        }
                        None => serve_conn(TokioIo::new(stream), peer, app, stop, conn).await,
                    }
                };
                tokio::select! {
                    _ = serve => {}
                    // Evicted: the connection (and its request, if any) is dropped.
                    _ = close.notify.notified() => {}
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
async fn serve_conn<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    mut stop: watch::Receiver<bool>,
    conn: Arc<Conn>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let in_flight = conn.begin();
        let answer = CONN.scope(conn.clone(), app.clone().oneshot(req));
        async move {
            let r = answer.await;
            drop(in_flight);
            r
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    fn evicted(c: &Conn) -> bool {
        c.close.evicted.load(Ordering::Relaxed)
    }

    #[test]
    fn an_address_at_its_unproven_bound_gives_up_its_oldest_connection() {
        let r = Arc::new(Registry::default());
        let conns: Vec<Conn> = (0..PER_CLIENT_UNPROVEN)
            .map(|_| r.admit(ip(1), true).unwrap())
            .collect();
        assert!(conns.iter().all(|c| !evicted(c)));
        let newest = r.admit(ip(1), true).unwrap();
        assert!(evicted(&conns[0]), "the oldest makes room");
        assert!(conns[1..].iter().all(|c| !evicted(c)));
        assert!(!evicted(&newest));
        // Another address is not touched.
        let other = r.admit(ip(2), true).unwrap();
        assert!(!evicted(&other));
        // Trusted proxies are not counted against an address.
        let proxied: Vec<Conn> = (0..PER_CLIENT_UNPROVEN * 2)
            .map(|_| r.admit(ip(3), false).unwrap())
            .collect();
        assert!(proxied.iter().all(|c| !evicted(c)));
    }

    #[test]
    fn a_request_in_flight_is_not_closed_to_make_room() {
        let r = Arc::new(Registry::default());
        // Probes behind one address open their connections together; each
        // has sent its request head, whose token is still being checked.
        let busy: Vec<Arc<Conn>> = (0..PER_CLIENT_UNPROVEN)
            .map(|_| Arc::new(r.admit(ip(1), true).unwrap()))
            .collect();
        let requests: Vec<InFlight> = busy.iter().map(|c| c.begin()).collect();
        let more: Vec<Conn> = (0..PER_CLIENT_UNPROVEN)
            .map(|_| r.admit(ip(1), true).unwrap())
            .collect();
        assert!(
            busy.iter().all(|c| !evicted(c)),
            "an upload begun is not cut"
        );
        assert!(!r.lock().unproven.contains_key(&busy[0].id));
        // One request's token checks out; the others end without one: they
        // are idle and unproven again, and older than the 32 idle newcomers,
        // so they are the ones that go.
        busy[0].vouch(true);
        drop(requests);
        assert!(!evicted(&busy[0]));
        assert!(
            !r.lock().unproven.contains_key(&busy[0].id),
            "proven stays proven"
        );
        assert!(busy[1..].iter().all(|c| evicted(c)));
        assert!(more.iter().all(|c| !evicted(c)));
        assert_eq!(r.lock().per_ip[&ip(1)].unproven.len(), PER_CLIENT_UNPROVEN);
    }

    #[test]
    fn proven_connections_are_never_evicted_and_count_against_the_address() {
        let r = Arc::new(Registry::default());
        let proven: Vec<Conn> = (0..PER_CLIENT_CONNECTIONS)
            .map(|_| {
                let c = r.admit(ip(1), true).unwrap();
                c.vouch(true);
                c
            })
            .collect();
        // The address holds its share, all proven: a new one is refused.
        assert!(r.admit(ip(1), true).is_none());
        assert!(!r.evict_oldest(), "nothing unproven to close");
        // One whose token later fails is unproven again: it gives way.
        proven[7].vouch(false);
        let newcomer = r.admit(ip(1), true).unwrap();
        assert!(evicted(&proven[7]));
        assert!(
            proven
                .iter()
                .enumerate()
                .all(|(i, c)| i == 7 || !evicted(c))
        );
        // An evicted connection never comes back into the unproven set.
        proven[7].vouch(false);
        assert!(!r.lock().unproven.contains_key(&proven[7].id));
        // At the cap the oldest unproven, of any address, goes first.
        let young = r.admit(ip(9), true).unwrap();
        assert!(r.evict_oldest());
        assert!(evicted(&newcomer) && !evicted(&young));
        // Dropping everything leaves nothing behind.
        drop((proven, newcomer, young));
        let t = r.lock();
        assert!(t.unproven.is_empty() && t.per_ip.is_empty(), "{t:?}");
    }
}
