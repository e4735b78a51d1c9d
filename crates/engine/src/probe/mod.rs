//! One check: every site x port of a target set, probed concurrently.
//!
//! `probe` measures and never prints. For each site it resolves the name
//! when the address is a hostname ([`dns`]), checks the destination against
//! the allow-list *before any socket exists*, then for each port runs a few
//! spaced attempts, each a TCP connect ([`tcp`]) followed, when it opened, by
//! a TLS handshake on that connection ([`tls`]). Latencies of the successful
//! attempts are summarised ([`latency`]); the chain of every completed
//! handshake is classified by [`crate::cert`] and the least migrated one is
//! reported (a balancer may send one connection in three elsewhere). When
//! rustls refuses the server's protocol itself, a legacy capture
//! ([`legacy`]) reads the chain rustls could not.
//!
//! Every site runs in its own task (a [`JoinSet`] owned by [`check`]) and
//! its ports run concurrently inside it, so a whole check lasts as long as
//! its slowest target, not the sum. A timeout ends a target's attempts: a
//! silent path stays silent, and repeating it would multiply the installer's
//! wait by the number of attempts (the kernel already retransmits a lost SYN
//! within one step). Fast outcomes — open, refused, reset — are retried.

pub mod dns;
pub mod latency;
pub mod legacy;
pub mod race;
pub mod tcp;
pub mod tls;
pub mod trace;
pub mod wire;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use tokio::task::JoinSet;

use crate::allow::AllowList;
use stca2_report::{CaFamily, CertInfo, SignatureVerified};

use crate::cert::{Anchor, Classification};
use crate::probe::dns::{Dns, DnsSetup};
use crate::probe::latency::Recorder;
use crate::probe::race::{RacePlan, SlowestConnect};
use crate::probe::tcp::{ConnectFailure, ConnectOptions};
use crate::probe::tls::{Handshake, TlsOptions};
use crate::probe::trace::TracePlan;
use crate::targets::{Address, Port, Site, TargetSet};
use stca2_report::{PathMtu, TargetResult, TcpResult, TcpStatus, TlsResult, TlsStack, TlsStatus};

/// Default number of attempts per target.
pub const DEFAULT_ATTEMPTS: u32 = 3;
/// Default pause between two attempts on one target.
pub const DEFAULT_SPACING: Duration = Duration::from_millis(200);
/// Default bound of each step (DNS, connect, handshake).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A step's bound in words, the same way in every detail: `5 s` when whole
/// seconds, else `500 ms`.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

/// A duration as a person reads it in a sentence: `50 ms` below a second,
/// else seconds with up to two decimals (`1 s`, `1.5 s`, `2.25 s`). Details
/// inside reports use [`fmt_duration`], whose spelling scripts may match.
pub fn human_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{} ms", d.as_millis());
    }
    let text = format!("{:.2}", d.as_secs_f64());
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} s")
}

/// How to run a check.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// Bounds each step: DNS, each connect, each handshake.
    pub timeout: Duration,
    /// Attempts per target, at least 1 (0 is treated as 1).
    pub attempts: u32,
    /// Pause between two attempts on one target.
    pub spacing: Duration,
    /// `--source`: bind to this local address before connecting.
    pub source: Option<IpAddr>,
    /// `--interface`: bind to this interface (`SO_BINDTODEVICE`) before connecting.
    pub interface: Option<String>,
    /// The only networks that may be contacted.
    pub allow: AllowList,
    /// `--client-cert`/`--client-key`: the identity to present when a server asks for one.
    pub client_identity: Option<ClientIdentity>,
    /// Fill `CertInfo.pem` (`--with-pem`).
    pub with_pem: bool,
    /// `false`: a TCP-only check (a daemon's cycle between two full ones on
    /// a metered link, `tls_every`): no handshake, and the TLS part of
    /// every target that opened says [`TlsStatus::NotAttempted`].
    pub tls: bool,
    /// How each connect is raced: staggered SYNs, a silent port called after a short budget.
    pub race: RacePlan,
    /// `--trace`: trace every site x port that did not open ([`trace`]).
    pub trace: Option<TracePlan>,
}

impl ProbeConfig {
    /// The connect options every connection of this check uses (also for the legacy capture).
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            source: self.source,
            interface: self.interface.clone(),
            timeout: self.timeout,
        }
    }

    /// The defaults (5 s steps, 3 attempts 200 ms apart) with the given allow-list.
    pub fn new(allow: AllowList) -> Self {
        ProbeConfig {
            timeout: DEFAULT_TIMEOUT,
            attempts: DEFAULT_ATTEMPTS,
            spacing: DEFAULT_SPACING,
            source: None,
            interface: None,
            allow,
            client_identity: None,
            with_pem: false,
            tls: true,
            race: RacePlan::default(),
            trace: None,
        }
    }
}

/// A client certificate chain and its private key (`--client-cert`, `--client-key`).
#[derive(Debug)]
pub struct ClientIdentity {
    /// The certificate chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
}

impl Clone for ClientIdentity {
    fn clone(&self) -> Self {
        ClientIdentity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl ClientIdentity {
    /// Reads a PEM certificate chain and a PEM private key, and checks that they belong together.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, ProbeError> {
        use rustls::pki_types::pem::PemObject;
        let bad = |path: &Path, reason: String| ProbeError::ClientIdentity {
            path: path.to_path_buf(),
            reason,
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| bad(cert, e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(cert, e.to_string()))?;
        if chain.is_empty() {
            return Err(bad(
                cert,
                "no certificate in it: expected PEM blocks starting with -----BEGIN CERTIFICATE-----".into(),
            ));
        }
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
            bad(
                key,
                format!("{e}: expected a PEM private key (PKCS#8, PKCS#1 or SEC1)"),
            )
        })?;
        let identity = ClientIdentity {
            chain,
            key: key_der,
        };
        identity.certified_key().map_err(|e| {
            bad(
                key,
                format!(
                    "{e}: this key cannot be used with the certificate in {}",
                    cert.display()
                ),
            )
        })?;
        Ok(identity)
    }

    fn certified_key(&self) -> Result<CertifiedKey, rustls::Error> {
        tls::certified_key(self.chain.clone(), self.key.clone_key())
    }
}

/// A probe input that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A client certificate or key file is unusable.
    #[error("client identity {}: {reason}", path.display())]
    ClientIdentity {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Probes every site x port concurrently with the system DNS configuration.
///
/// Results come in site order, then port order. Never panics, never prints.
pub async fn check(targets: &TargetSet, config: &ProbeConfig) -> Vec<TargetResult> {
    check_with_dns(targets, config, &DnsSetup::System).await
}

/// Like [`check`], with an explicit resolver setup (tests point it at loopback).
pub async fn check_with_dns(
    targets: &TargetSet,
    config: &ProbeConfig,
    dns: &DnsSetup,
) -> Vec<TargetResult> {
    let identity = match &config.client_identity {
        None => Ok(None),
        Some(id) => id
            .certified_key()
            .map(|k| Some(Arc::new(k)))
            .map_err(|e| format!("the client identity cannot be used: {e}")),
    };
    let shared = Arc::new(Shared {
        attempts: config.attempts.max(1),
        spacing: config.spacing,
        connect: config.connect_options(),
        allow: config.allow.clone(),
        identity,
        timeout: config.timeout,
        with_pem: config.with_pem,
        tls: config.tls,
        families: targets
            .families
            .iter()
            .map(|f| (f.family, f.anchors.clone()))
            .collect(),
        // The resolver is only built (and resolv.conf only read) when a site needs it.
        dns: targets
            .sites
            .iter()
            .any(|s| matches!(s.address, Address::Host(_)))
            .then(|| Dns::new(dns, config.timeout, &config.allow)),
        ports: targets.ports.clone(),
        race: config.race,
        slowest: SlowestConnect::default(),
        refused_by: Mutex::new(HashMap::new()),
    });

    let mut set = JoinSet::new();
    for (i, site) in targets.sites.iter().enumerate() {
        let shared = shared.clone();
        let site = site.clone();
        set.spawn(async move { (i, probe_site(&shared, &site).await) });
    }
    let mut per_site: Vec<Option<Vec<TargetResult>>> = vec![None; targets.sites.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, results)) = joined
            && let Some(slot) = per_site.get_mut(i)
        {
            *slot = Some(results);
        }
    }
    let mut results: Vec<TargetResult> = per_site
        .into_iter()
        .zip(&targets.sites)
        .flat_map(|(results, site)| {
            results.unwrap_or_else(|| {
                not_probed(
                    site,
                    &targets.ports,
                    None,
                    None,
                    "internal error: the probe task for this site stopped; please report it",
                )
            })
        })
        .collect();
    if let Some(plan) = config.trace {
        let refused_by = std::mem::take(
            &mut *shared
                .refused_by
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        trace_closed(&mut results, &shared.connect, plan, &refused_by).await;
    }
    results
}

/// `--trace`: traces every target that was measured and did not open, and
/// one port that opened on the same site as a yardstick for the
/// destination's distance (it tells a reset from the gateway from one a
/// firewall sends in its name). All traces run at once. `refused_by`: the
/// router whose ICMP error refused each address's own attempts (the trace
/// may find it silent: its rate limit was spent on the check).
async fn trace_closed(
    results: &mut [TargetResult],
    connect: &ConnectOptions,
    plan: TracePlan,
    refused_by: &HashMap<SocketAddr, IpAddr>,
) {
    let closed = |r: &TargetResult| !matches!(r.tcp.status, TcpStatus::Open | TcpStatus::Error);
    let mut wanted: Vec<usize> = (0..results.len())
        .filter(|&i| closed(&results[i]))
        .collect();
    let mut yardsticks: Vec<usize> = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let site_traced = wanted.iter().any(|&w| results[w].site == r.site);
        let site_has_one = yardsticks.iter().any(|&y| results[y].site == r.site);
        if r.tcp.status == TcpStatus::Open && site_traced && !site_has_one {
            yardsticks.push(i);
        }
    }
    wanted.extend(yardsticks);
    let addrs: Vec<(usize, SocketAddr)> = wanted
        .into_iter()
        .filter_map(|i| {
            results[i]
                .ip
                .map(|ip| (i, SocketAddr::new(ip, results[i].port)))
        })
        .collect();
    let traces = join_all(
        addrs
            .iter()
            .map(|(_, addr)| trace::trace(*addr, connect, plan)),
    )
    .await;
    for ((i, addr), t) in addrs.into_iter().zip(traces) {
        if let (Ok(mut t), Some(r)) = (t, results.get_mut(i)) {
            t.refused_by = refused_by.get(&addr).copied().or(t.refused_by);
            r.trace = Some(t);
        }
    }
}

/// What every target task reads.
struct Shared {
    attempts: u32,
    spacing: Duration,
    connect: ConnectOptions,
    allow: AllowList,
    identity: Result<Option<Arc<CertifiedKey>>, String>,
    timeout: Duration,
    with_pem: bool,
    tls: bool,
    families: Vec<(CaFamily, Vec<Anchor>)>,
    dns: Option<Dns>,
    ports: Vec<Port>,
    race: RacePlan,
    slowest: SlowestConnect,
    /// Per address whose attempts an ICMP error refused: the router that sent it (`--trace`).
    refused_by: Mutex<HashMap<SocketAddr, IpAddr>>,
}

impl Shared {
    /// The CA families as [`crate::cert::classify`] takes them.
    fn families(&self) -> Vec<(CaFamily, &[Anchor])> {
        self.families
            .iter()
            .map(|(f, a)| (*f, a.as_slice()))
            .collect()
    }
}

async fn probe_site(shared: &Shared, site: &Site) -> Vec<TargetResult> {
    let (ip, dns_result) = match &site.address {
        Address::Ip(ip) => (Some(*ip), None),
        Address::Host(host) => {
            match &shared.dns {
                Some(dns) => {
                    let (r, ip) = dns.resolve(host, &shared.allow).await;
                    (ip, Some(r))
                }
                // Not reachable: the resolver exists whenever a site is a hostname.
                None => (None, None),
            }
        }
    };
    let Some(ip) = ip else {
        let detail = dns_result
            .as_ref()
            .and_then(|d| d.detail.clone())
            .unwrap_or_else(|| "name resolution failed".into());
        return not_probed(
            site,
            &shared.ports,
            None,
            dns_result,
            &format!("not contacted: {detail}"),
        );
    };
    if let Err(refusal) = shared.allow.check(ip) {
        return not_probed(
            site,
            &shared.ports,
            Some(ip),
            dns_result,
            &refusal.to_string(),
        );
    }
    // SNI: the hostname when the site has one, else the IP (rustls sends no SNI for IPs).
    let name = match &site.address {
        Address::Host(host) => {
            ServerName::try_from(host.clone()).unwrap_or_else(|_| ServerName::IpAddress(ip.into()))
        }
        Address::Ip(_) => ServerName::IpAddress(ip.into()),
    };
    let ports = shared.ports.iter().map(|port| {
        let name = name.clone();
        let dns_result = dns_result.clone();
        async move {
            let target = probe_target(shared, SocketAddr::new(ip, port.number), name);
            let ((tcp, tls, path_mtu), wire) = wire::counted(target).await;
            TargetResult {
                site: site.name.clone(),
                role: site.role,
                address: site.address.to_string(),
                ip: Some(ip),
                port: port.number,
                service: port.service,
                dns: dns_result,
                tcp,
                tls,
                wire,
                trace: None,
                path_mtu,
            }
        }
    });
    join_all(ports).await
}

/// One TCP error per port of `site`, for targets never contacted (a name
/// that did not resolve, an address the allow-list refuses, a task that
/// stopped): `detail` says why, with no attempt counted.
fn not_probed(
    site: &Site,
    ports: &[Port],
    ip: Option<IpAddr>,
    dns: Option<stca2_report::DnsResult>,
    detail: &str,
) -> Vec<TargetResult> {
    ports
        .iter()
        .map(|port| TargetResult {
            site: site.name.clone(),
            role: site.role,
            address: site.address.to_string(),
            ip,
            port: port.number,
            service: port.service,
            dns: dns.clone(),
            tcp: TcpResult {
                status: TcpStatus::Error,
                detail: Some(detail.to_string()),
                attempts: 0,
                successes: 0,
                connect_ms: None,
            },
            tls: None,
            wire: None,
            trace: None,
            path_mtu: None,
        })
        .collect()
}

/// The attempts on one site x port, already allowed.
async fn probe_target(
    shared: &Shared,
    addr: SocketAddr,
    name: ServerName<'static>,
) -> (TcpResult, Option<TlsResult>, Option<PathMtu>) {
    let mut connect_lat = Recorder::new();
    let mut failures: Vec<ConnectFailure> = Vec::new();
    let mut handshakes: Vec<Handshake> = Vec::new();
    let mut tcp_attempts = 0;
    let mut syns = 0;
    let mut overtaken = 0;
    for i in 0..shared.attempts {
        if i > 0 {
            tokio::time::sleep(shared.spacing).await;
        }
        tcp_attempts += 1;
        let raced = race::race(
            addr,
            &shared.connect,
            tcp::Tuning::default(),
            shared.race,
            &shared.slowest,
        )
        .await;
        match raced {
            Err(lost) => {
                syns += lost.syns;
                let timed_out = lost.failure.status == TcpStatus::Timeout;
                failures.push(lost.failure);
                if timed_out {
                    break;
                }
            }
            Ok(won) if !shared.tls => {
                syns += won.syns;
                overtaken += won.overtaken;
                connect_lat.record(won.connect);
                // Closed at once; a watch counts what the connect cost.
                drop(wire::Watch::new(&won.stream));
            }
            Ok(won) => {
                syns += won.syns;
                overtaken += won.overtaken;
                connect_lat.record(won.connect);
                let stream = won.stream;
                let hs = match &shared.identity {
                    Err(why) => tls::Handshake::failed(Some(why.clone())),
                    Ok(identity) => {
                        let opts = TlsOptions {
                            timeout: shared.timeout,
                            identity: identity.clone(),
                        };
                        tls::handshake(stream, name.clone(), &opts).await
                    }
                };
                let timed_out = hs.status == TlsStatus::Timeout;
                handshakes.push(hs);
                if timed_out {
                    break;
                }
            }
        }
    }
    let mut tcp = summarise_tcp(tcp_attempts, &connect_lat, &failures);
    let refuser = failures
        .iter()
        .filter(|f| f.status == TcpStatus::Unreachable)
        .find_map(|f| f.icmp.and_then(|i| i.offender));
    if let (TcpStatus::Unreachable, Some(from)) = (tcp.status, refuser) {
        shared
            .refused_by
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(addr, from);
    }
    note_unanswered_syns(&mut tcp, syns, overtaken, shared.race.stagger);
    let stalled =
        !handshakes.is_empty() && handshakes.iter().all(|h| h.status == TlsStatus::Timeout);
    let path_mtu = if stalled {
        Some(clamped_retry(shared, addr, &name).await)
    } else {
        None
    };
    if !shared.tls {
        let tls = (tcp.status == TcpStatus::Open).then(|| {
            // Data, not words: the verdict and crates/words say what it means.
            TlsResult::not_attempted("tcp-only cycle (tls_every)")
        });
        return (tcp, tls, None);
    }
    let tls = match summarise_tls(shared, handshakes) {
        Some((mut t, true)) => {
            legacy_capture(shared, addr, &name, &mut t).await;
            Some(t)
        }
        Some((t, false)) => Some(t),
        None => None,
    };
    let tls = tls.map(|mut t| {
        if let Some(PathMtu { mss: Some(mss), .. }) = &path_mtu {
            let note = format!(
                "retried with a TCP MSS of {mss}: the handshake then completed (a path-MTU black hole)"
            );
            t.detail = Some(match t.detail.take() {
                Some(d) => format!("{d}; {note}"),
                None => note,
            });
        }
        t
    });
    (tcp, tls, path_mtu)
}

/// The MSS values a stalled handshake is retried with (`TCP_MAXSEG`),
/// largest first: 1000 fits most tunnels (PPPoE, VPN, 4G), 536 is the
/// IPv4 minimum every path must carry.
pub const MSS_STEPS: [u32; 2] = [1000, 536];

/// The bound of each clamped retry: the path already answered a SYN, so a
/// handshake that fits the path completes in a few round trips. Half the
/// step's `--timeout` at most, so that a silent server (which no MSS helps)
/// costs the check half a step more, not a whole one.
const CLAMPED_RETRY_BOUND: Duration = Duration::from_secs(2);

/// TCP opened but every handshake stalled: is it a path-MTU black hole (the
/// server's full-size flight never arrives, the ICMP "fragmentation needed"
/// that should say so is dropped)? One connection per [`MSS_STEPS`] value,
/// all at once, each announcing that MSS so the server's segments shrink;
/// the largest that completes is the answer. A silent server stays silent
/// with every MSS: `mss` is then `None`.
async fn clamped_retry(shared: &Shared, addr: SocketAddr, name: &ServerName<'static>) -> PathMtu {
    let bound = (shared.timeout / 2).min(CLAMPED_RETRY_BOUND);
    let tries = MSS_STEPS.iter().map(|&mss| async move {
        let tuning = tcp::Tuning {
            ttl: None,
            mss: Some(mss),
        };
        let won = race::race(addr, &shared.connect, tuning, shared.race, &shared.slowest).await;
        let Ok(won) = won else {
            return false;
        };
        let Ok(identity) = &shared.identity else {
            return false;
        };
        let opts = TlsOptions {
            timeout: bound,
            identity: identity.clone(),
        };
        tls::handshake(won.stream, name.clone(), &opts)
            .await
            .answered()
    });
    let completed = join_all(tries).await;
    PathMtu {
        mss: MSS_STEPS
            .iter()
            .zip(completed)
            .find(|(_, ok)| *ok)
            .map(|(mss, _)| *mss),
        tried: MSS_STEPS.to_vec(),
    }
}

/// rustls refused to negotiate (legacy suites, SHA-1 chain): read the chain
/// with a hand-built TLS 1.2 ClientHello on one more connection, keeping the
/// rustls failure in `detail` (issue 3, docs/design.md §3 `tls.stack`).
async fn legacy_capture(
    shared: &Shared,
    addr: SocketAddr,
    name: &ServerName<'static>,
    tls: &mut TlsResult,
) {
    let families = shared.families();
    let sni = match name {
        ServerName::DnsName(d) => Some(d.as_ref().to_string()),
        _ => None,
    };
    let outcome = match tcp::connect(addr, &shared.connect).await {
        Ok(stream) => {
            let _wire = wire::Watch::new(&stream);
            legacy::capture(stream, sni.as_deref(), shared.timeout).await
        }
        Err(f) => Err(legacy::LegacyError::Io(format!(
            "connect failed: {}",
            f.detail
        ))),
    };
    legacy::apply(tls, outcome, &families, shared.with_pem);
}

/// On an open port, says how many SYNs were overtaken by a later one of
/// their race: each a SYN or SYN-ACK lost, the path's loss figure.
fn note_unanswered_syns(tcp: &mut TcpResult, syns: u32, overtaken: u32, stagger: Duration) {
    if tcp.status != TcpStatus::Open || overtaken == 0 {
        return;
    }
    let note = format!(
        "{syns} SYNs for {} attempts: {overtaken} went unanswered while a later one, sent {} after, connected (packet loss)",
        tcp.attempts,
        human_duration(stagger)
    );
    tcp.detail = Some(match tcp.detail.take() {
        Some(d) => format!("{d}; {note}"),
        None => note,
    });
}

/// Rank of a failure's informativeness: an ICMP reason beats an RST beats a local error beats silence.
fn rank(status: TcpStatus) -> u8 {
    match status {
        TcpStatus::Unreachable => 4,
        TcpStatus::Refused => 3,
        TcpStatus::Error => 2,
        TcpStatus::Timeout => 1,
        TcpStatus::Open => 0,
    }
}

fn summarise_tcp(attempts: u32, lat: &Recorder, failures: &[ConnectFailure]) -> TcpResult {
    let successes = u32::try_from(lat.len()).unwrap_or(u32::MAX);
    let tally = || {
        let mut counts: Vec<(TcpStatus, u32)> = Vec::new();
        for f in failures {
            match counts.iter_mut().find(|(s, _)| *s == f.status) {
                Some((_, n)) => *n += 1,
                None => counts.push((f.status, 1)),
            }
        }
        counts
            .iter()
            .map(|(s, n)| format!("{n} {}", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if successes > 0 {
        let detail = (!failures.is_empty()).then(|| {
            format!(
                "{successes} of {attempts} attempts opened; the others: {} ({})",
                tally(),
                failures[0].detail
            )
        });
        return TcpResult {
            status: TcpStatus::Open,
            detail,
            attempts,
            successes,
            connect_ms: lat.summary(),
        };
    }
    let best = failures.iter().max_by_key(|f| rank(f.status));
    let (status, mut detail) = match best {
        Some(f) => (f.status, f.detail.clone()),
        None => (TcpStatus::Error, "no attempt was made".to_string()),
    };
    if failures.iter().any(|f| f.status != status) {
        detail = format!("{detail} (attempts: {})", tally());
    }
    TcpResult {
        status,
        detail: Some(detail),
        attempts,
        successes: 0,
        connect_ms: None,
    }
}

/// Summarises the handshakes of one target, and says whether a legacy
/// capture should follow (decided on the chosen handshake's typed flag).
///
/// Status, version, cipher and client authentication come from the first
/// handshake that answered (else the last one). The chain of *every*
/// answered handshake is classified, and the worst one is reported — a
/// load balancer that sends one connection in three through an interceptor,
/// or to a node still on STCA, must not pass as STCA2. When the handshakes
/// disagree, `detail` tallies them.
fn summarise_tls(shared: &Shared, handshakes: Vec<Handshake>) -> Option<(TlsResult, bool)> {
    let attempts = u32::try_from(handshakes.len()).unwrap_or(u32::MAX);
    let mut lat = Recorder::new();
    for h in handshakes.iter().filter(|h| h.answered()) {
        lat.record(h.elapsed);
    }
    let successes = u32::try_from(lat.len()).unwrap_or(u32::MAX);
    let chosen = handshakes
        .iter()
        .position(Handshake::answered)
        .unwrap_or(handshakes.len().checked_sub(1)?);
    let families = shared.families();
    // Every answered handshake's chain, or the chosen one's when none answered.
    let classified: Vec<(usize, Classification)> = handshakes
        .iter()
        .enumerate()
        .filter(|(i, h)| !h.chain.is_empty() && (h.answered() || *i == chosen))
        .map(|(i, h)| (i, crate::cert::classify(&h.chain, &families)))
        .collect();
    // The worst chain; on a tie, the chosen handshake's, then the earliest.
    let worst = classified
        .iter()
        .min_by_key(|(i, c)| (migration_rank(c), *i != chosen, *i))
        .cloned();
    let tally = chain_tally(&classified);
    let legacy = handshakes[chosen].wants_legacy_capture();
    let (chain_der, class) = match worst {
        Some((i, c)) => (handshakes[i].chain.clone(), Some(c)),
        None => (Vec::new(), None),
    };
    let h = handshakes.into_iter().nth(chosen)?;
    let facts = describe_facts(&chain_der, class, shared.with_pem);
    let detail = [h.detail, tally, facts.unreadable]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
    let detail = (!detail.is_empty()).then(|| detail.join("; "));
    let result = TlsResult {
        status: h.status,
        detail,
        alert: h.alert,
        stack: TlsStack::Rustls,
        version: h.version,
        cipher: h.cipher,
        kx_group: h.kx_group,
        alpn: h.alpn,
        attempts,
        successes,
        handshake_ms: lat.summary(),
        chain: facts.chain,
        ca_family: facts.ca_family,
        signature_verified: facts.signature_verified,
        days_to_expiry: facts.days_to_expiry,
        client_auth: h.client_auth,
    };
    Some((result, legacy))
}

/// How far a chain is along the migration, worst first: unknown or forged
/// (suspected interception) < STCA < STCA2.
fn migration_rank(c: &Classification) -> u8 {
    match (c.family, c.signature_verified) {
        (CaFamily::Unknown, _) | (_, SignatureVerified::False) => 0,
        (CaFamily::Stca, _) => 1,
        (CaFamily::Stca2, _) => 2,
    }
}

/// A chain's family in words for the tally: `STCA2`, `a forged STCA2 chain`…
fn chain_label(c: &Classification) -> String {
    match (c.family, c.signature_verified) {
        (CaFamily::Unknown, _) => "an unknown chain".to_string(),
        (f, SignatureVerified::False) => format!("a forged {f} chain"),
        (f, _) => f.to_string(),
    }
}

/// "2 of 3 handshakes presented STCA2, 1 presented STCA" when the chains
/// of the classified handshakes disagree; `None` when they agree.
fn chain_tally(classified: &[(usize, Classification)]) -> Option<String> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (_, c) in classified {
        let label = chain_label(c);
        match counts.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += 1,
            None => counts.push((label, 1)),
        }
    }
    if counts.len() < 2 {
        return None;
    }
    counts.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let total = classified.len();
    let parts: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(k, (label, n))| {
            if k == 0 {
                format!("{n} of {total} handshakes presented {label}")
            } else {
                format!("{n} presented {label}")
            }
        })
        .collect();
    Some(parts.join(", "))
}

/// What a presented chain says, ready for a [`TlsResult`]: shared by the
/// rustls path and the legacy capture, so both describe chains the same way.
#[derive(Debug, Clone)]
pub struct ChainFacts {
    /// Every certificate that parses, leaf first.
    pub chain: Vec<CertInfo>,
    /// `None` when no chain was presented.
    pub ca_family: Option<CaFamily>,
    /// `None` when no chain was presented.
    pub signature_verified: Option<SignatureVerified>,
    /// Days until the leaf expires; negative once expired.
    pub days_to_expiry: Option<i64>,
    /// Certificates that did not parse, in words, for `tls.detail`.
    pub unreadable: Option<String>,
}

/// Describes and classifies a presented chain (DER, leaf first) against the target set's families.
pub fn chain_facts(
    chain_der: &[Vec<u8>],
    families: &[(CaFamily, &[Anchor])],
    with_pem: bool,
) -> ChainFacts {
    let class = (!chain_der.is_empty()).then(|| crate::cert::classify(chain_der, families));
    describe_facts(chain_der, class, with_pem)
}

/// Describes a chain already classified (`None`: no chain was presented).
/// Each certificate is parsed once; the leaf's expiry comes from its description.
fn describe_facts(
    chain_der: &[Vec<u8>],
    class: Option<Classification>,
    with_pem: bool,
) -> ChainFacts {
    let now = time::OffsetDateTime::now_utc();
    let described = crate::cert::describe_each(chain_der, now, with_pem);
    let days_to_expiry = described
        .first()
        .and_then(|leaf| leaf.as_ref().ok())
        .map(|i| i.days_to_expiry);
    let mut chain = Vec::with_capacity(described.len());
    let mut errors = Vec::new();
    for (i, d) in described.into_iter().enumerate() {
        match d {
            Ok(info) => chain.push(info),
            Err(e) => errors.push(format!("certificate {i}: {e}")),
        }
    }
    let unreadable =
        (!errors.is_empty()).then(|| format!("unreadable certificates: {}", errors.join("; ")));
    ChainFacts {
        chain,
        ca_family: class.as_ref().map(|c| c.family),
        signature_verified: class.map(|c| c.signature_verified),
        days_to_expiry,
        unreadable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: TcpStatus, detail: &str) -> ConnectFailure {
        ConnectFailure {
            status,
            detail: detail.into(),
            errno: None,
            icmp: None,
        }
    }

    fn shared_with(families: Vec<(CaFamily, Vec<Anchor>)>) -> Shared {
        let config = ProbeConfig::new(AllowList::new(vec![], None));
        Shared {
            attempts: 3,
            spacing: Duration::ZERO,
            connect: config.connect_options(),
            allow: config.allow.clone(),
            identity: Ok(None),
            timeout: config.timeout,
            with_pem: false,
            tls: true,
            families,
            dns: None,
            ports: vec![],
            race: RacePlan::default(),
            slowest: SlowestConnect::default(),
            refused_by: Mutex::new(HashMap::new()),
        }
    }

    fn answered(chain: &stca2_lab::Identity) -> Handshake {
        let mut h = Handshake::failed(None);
        h.status = TlsStatus::Ok;
        h.chain = chain.chain().iter().map(|c| c.to_vec()).collect();
        h
    }

    #[test]
    fn every_completed_handshake_is_classified_and_the_worst_is_reported() {
        let pki = stca2_lab::LabPki::generate(
            "127.0.38.45".parse().unwrap(),
            "127.0.38.173".parse().unwrap(),
        )
        .unwrap();
        let shared = shared_with(vec![
            (
                CaFamily::Stca2,
                vec![Anchor::from_der(pki.stca2_root()).unwrap()],
            ),
            (
                CaFamily::Stca,
                vec![Anchor::from_der(pki.stca_root()).unwrap()],
            ),
        ]);
        let summary = |hs: Vec<Handshake>| summarise_tls(&shared, hs).unwrap().0;

        // A balancer with one node still on STCA: the first handshake is STCA2.
        let t = summary(vec![
            answered(pki.stca2_server()),
            answered(pki.stca_server()),
            answered(pki.stca2_server()),
        ]);
        assert_eq!(t.ca_family, Some(CaFamily::Stca));
        assert_eq!(t.successes, 3);
        assert!(t.chain[0].issuer.contains("STCA Root CA"), "{:?}", t.chain);
        assert_eq!(
            t.detail.as_deref(),
            Some("2 of 3 handshakes presented STCA2, 1 presented STCA")
        );

        // An interceptor on one path in three, and a forgery on another.
        let t = summary(vec![
            answered(pki.stca2_server()),
            answered(pki.forged_server()),
            answered(pki.interceptor_server()),
        ]);
        assert_eq!(t.ca_family, Some(CaFamily::Stca2));
        assert_eq!(t.signature_verified, Some(SignatureVerified::False));
        let d = t.detail.unwrap();
        assert!(d.contains("1 of 3 handshakes presented STCA2"), "{d}");
        assert!(d.contains("1 presented a forged STCA2 chain"), "{d}");
        assert!(d.contains("1 presented an unknown chain"), "{d}");

        // Agreement: no tally, the first handshake's chain.
        let t = summary(vec![
            answered(pki.stca2_server()),
            answered(pki.stca2_server()),
        ]);
        assert_eq!(t.ca_family, Some(CaFamily::Stca2));
        assert_eq!(t.signature_verified, Some(SignatureVerified::True));
        assert_eq!(t.detail, None);

        // Failed handshakes are not classified when one answered.
        let mut failed = answered(pki.interceptor_server());
        failed.status = TlsStatus::Reset;
        let t = summary(vec![failed, answered(pki.stca2_server())]);
        assert_eq!(t.ca_family, Some(CaFamily::Stca2));
        assert_eq!((t.attempts, t.successes), (2, 1));
    }

    #[test]
    fn durations_read_well() {
        for (d, want) in [
            (Duration::from_millis(50), "50 ms"),
            (Duration::from_millis(999), "999 ms"),
            (Duration::from_secs(1), "1 s"),
            (Duration::from_millis(1500), "1.5 s"),
            (Duration::from_millis(2250), "2.25 s"),
            (Duration::from_secs(300), "300 s"),
        ] {
            assert_eq!(human_duration(d), want);
        }
    }

    #[test]
    fn durations_read_the_same_everywhere() {
        assert_eq!(fmt_duration(Duration::from_secs(5)), "5 s");
        assert_eq!(fmt_duration(Duration::from_millis(500)), "500 ms");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1500 ms");
    }

    #[test]
    fn tcp_summary_prefers_open_then_the_most_informative_failure() {
        let mut lat = Recorder::new();
        let fails = vec![
            failure(TcpStatus::Timeout, "silence"),
            failure(TcpStatus::Unreachable, "icmp"),
        ];
        let r = summarise_tcp(2, &lat, &fails);
        assert_eq!(r.status, TcpStatus::Unreachable);
        let d = r.detail.unwrap();
        assert!(d.starts_with("icmp") && d.contains("1 timeout"), "{d}");

        lat.record(Duration::from_millis(3));
        let r = summarise_tcp(3, &lat, &fails);
        assert_eq!(r.status, TcpStatus::Open);
        assert_eq!((r.attempts, r.successes), (3, 1));
        assert!(r.detail.unwrap().contains("1 of 3 attempts opened"));
        assert!(r.connect_ms.is_some());
    }
}
