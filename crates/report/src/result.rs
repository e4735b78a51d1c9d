//! What one check measured, target by target: the raw facts, no opinions.
//!
//! These types are the probe's output and the bulk of the v1 report
//! (docs/design.md §3): field names and enum spellings are a contract.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::cert::{CaFamily, CertInfo, SignatureVerified};
use crate::target::{Role, Service};

/// One site x port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetResult {
    /// Site name from the target set.
    pub site: String,
    /// Primary or secondary.
    pub role: Role,
    /// The address as written in the target set (IP literal or hostname).
    pub address: String,
    /// The IP actually contacted, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// TCP port.
    pub port: u16,
    /// What the port is for.
    pub service: Service,
    /// Name resolution, when the address is a hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsResult>,
    /// TCP reachability.
    pub tcp: TcpResult,
    /// TLS, null when TCP never opened.
    pub tls: Option<TlsResult>,
    /// Bytes this target's connections put on the wire, read from the
    /// sockets (`TCP_INFO`) just before each closed; absent when the probe
    /// could not read them (another OS, an old kernel) or sent nothing.
    /// An extension of v1: readers that do not know it ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire: Option<WireBytes>,
    /// A TCP traceroute on this port (`check --trace`): an extension of v1,
    /// absent when no trace was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<PathTrace>,
    /// The handshake stalled and completed once the MSS was clamped: a
    /// path-MTU black hole, confirmed (an extension of v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_mtu: Option<PathMtu>,
}

/// Bytes on the wire, both ways, of one target's TCP connections.
///
/// What is counted (BENCHMARKS.md): every connection the probe made to
/// the target (the attempts, those that did not open too, the handshakes
/// and a legacy capture), IP and TCP headers included (each segment counted by
/// the kernel, times its header size: IPv4 20 or IPv6 40 bytes, TCP 20,
/// plus 12 when timestamps were negotiated), and retransmissions. What is
/// not: the closing FIN/ACK exchange after the socket was read (about four
/// header-only segments), TCP options beyond timestamps (the SYN's MSS,
/// window scale and SACK, SACK blocks), ICMP errors, DNS over UDP,
/// link-layer framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WireBytes {
    /// Bytes sent: payload (retransmissions included) and headers.
    pub sent: u64,
    /// Bytes received: payload and headers.
    pub received: u64,
    /// Payload bytes sent again (already in `sent`): a lossy path.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retransmitted: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl WireBytes {
    /// Both counts added.
    pub fn total(&self) -> u64 {
        self.sent.saturating_add(self.received)
    }
}

impl std::ops::AddAssign for WireBytes {
    fn add_assign(&mut self, o: WireBytes) {
        self.sent = self.sent.saturating_add(o.sent);
        self.received = self.received.saturating_add(o.received);
        self.retransmitted = self.retransmitted.saturating_add(o.retransmitted);
    }
}

/// A TCP traceroute towards one site x port, on that port: SYNs with a
/// growing TTL, each hop named by the ICMP "time exceeded" it sent back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathTrace {
    /// One entry per TTL tried, from 1, up to the destination (or the bound).
    pub hops: Vec<TraceHop>,
    /// The last hop that answered anything (ICMP, a reset, a SYN-ACK): where the path was last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_answering_hop: Option<TraceHop>,
    /// The TTL at which the destination port itself answered (a SYN-ACK or a reset), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reached_at: Option<u8>,
    /// The probe's default gateway when the trace ran: normally the merchant's box, hop 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_gateway: Option<IpAddr>,
    /// The router that sent the ICMP error refusing the connection (host or
    /// network unreachable, administratively prohibited), as the check's own
    /// attempts or the trace's probes saw it. Routers rate-limit these errors
    /// (Linux: 5 at once, then one a second, for a missing route), so the
    /// trace's probes often get none after the check's: this is who refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_by: Option<IpAddr>,
    /// SYNs sent per TTL.
    pub probes_per_hop: u32,
    /// The highest TTL tried.
    pub max_hops: u8,
}

/// What came back for one TTL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceHop {
    /// The TTL of the SYNs.
    pub ttl: u8,
    /// Who answered: the router for ICMP, the destination for a reset or SYN-ACK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    /// The most telling answer among the probes.
    pub answer: HopAnswer,
    /// The ICMP type and code, when the answer was ICMP (`type 11 code 0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp: Option<String>,
    /// Probes that got an answer, out of [`PathTrace::probes_per_hop`].
    pub answered: u32,
    /// The fastest answer, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
}

/// The answer to a TTL-limited SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HopAnswer {
    /// ICMP time exceeded: a router that forwards (the path goes on).
    TimeExceeded,
    /// Another ICMP error (unreachable, administratively prohibited): this hop refuses.
    Unreachable,
    /// A TCP reset for the destination's address.
    Reset,
    /// A SYN-ACK: the destination's port is open.
    Open,
    /// Nothing within the bound.
    Silent,
}

impl HopAnswer {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            HopAnswer::TimeExceeded => "time_exceeded",
            HopAnswer::Unreachable => "unreachable",
            HopAnswer::Reset => "reset",
            HopAnswer::Open => "open",
            HopAnswer::Silent => "silent",
        }
    }
}

/// A path-MTU black hole, confirmed by a retry with a clamped MSS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathMtu {
    /// The MSS (TCP_MAXSEG) with which the handshake completed; absent when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mss: Option<u32>,
    /// Every MSS tried, in order.
    pub tried: Vec<u32>,
}

/// The outcome of resolving a hostname.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsResult {
    /// ok | nxdomain | timeout | error.
    pub status: DnsStatus,
    /// What went wrong, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Every address returned.
    pub addresses: Vec<IpAddr>,
    /// Time spent resolving.
    pub ms: f64,
}

/// DNS outcome classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsStatus {
    /// Resolved to at least one address.
    Ok,
    /// The name does not exist (or has no address).
    Nxdomain,
    /// No answer in time.
    Timeout,
    /// Anything else (no resolver configured, SERVFAIL…).
    Error,
    /// The name resolved, but no address is inside the allow-list.
    Refused,
}

/// TCP outcome classes, in the contract's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpStatus {
    /// The three-way handshake completed.
    Open,
    /// RST in answer to SYN: nothing listens, or a router rejects with RST.
    Refused,
    /// No answer at all: a router silently drops the SYN.
    Timeout,
    /// An ICMP error (host or network unreachable, administratively prohibited).
    Unreachable,
    /// Anything else, including a destination refused by the allow-list.
    Error,
}

impl TcpStatus {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TcpStatus::Open => "open",
            TcpStatus::Refused => "refused",
            TcpStatus::Timeout => "timeout",
            TcpStatus::Unreachable => "unreachable",
            TcpStatus::Error => "error",
        }
    }
}

/// TCP reachability over all attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TcpResult {
    /// The best outcome seen: `open` if any attempt opened.
    pub status: TcpStatus,
    /// What happened, in words (errno, ICMP reason, allow-list refusal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Connect attempts made.
    pub attempts: u32,
    /// Attempts that opened.
    pub successes: u32,
    /// Connect latency over successful attempts.
    pub connect_ms: Option<LatencyStats>,
}

/// A latency summary in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Fastest.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

/// TLS outcome classes, in the contract's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsStatus {
    /// The handshake completed (or, with legacy capture, the chain was read).
    Ok,
    /// The server sent a TLS alert (named in `alert`).
    Alert,
    /// The connection was reset during the handshake.
    Reset,
    /// The server closed the connection during the handshake.
    Eof,
    /// No answer in time: typical of a silent middlebox or a dead service.
    Timeout,
    /// The server asked for a client certificate and we had none to give.
    ClientAuthRequired,
    /// Anything else: garbage, a protocol error, an unusable certificate.
    Error,
    /// No handshake was tried: a daemon's TCP-only cycle on a metered link
    /// (`tls_every`). Says nothing about TLS: the verdict and the back
    /// office read it as unknown, never as a failure. An extension of v1.
    NotAttempted,
}

impl TlsStatus {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsStatus::Ok => "ok",
            TlsStatus::Alert => "alert",
            TlsStatus::Reset => "reset",
            TlsStatus::Eof => "eof",
            TlsStatus::Timeout => "timeout",
            TlsStatus::ClientAuthRequired => "client_auth_required",
            TlsStatus::Error => "error",
            TlsStatus::NotAttempted => "not_attempted",
        }
    }
}

/// Which TLS implementation produced a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsStack {
    /// A full rustls handshake.
    Rustls,
    /// A hand-built TLS 1.2 ClientHello that read the plaintext Certificate message.
    LegacyCapture,
}

/// A server's request for a client certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientAuthRequest {
    /// The CA names the server accepts, RFC 4514 (may be empty).
    pub ca_names: Vec<String>,
}

/// What the TLS handshake showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsResult {
    /// The outcome class.
    pub status: TlsStatus,
    /// What happened, in words; keeps the rustls failure when legacy capture took over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The alert's name, when status is `alert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    /// Which stack produced this result.
    pub stack: TlsStack,
    /// Negotiated protocol version (`TLSv1.3`, `TLSv1.2`…).
    pub version: Option<String>,
    /// Negotiated cipher suite (IANA name).
    pub cipher: Option<String>,
    /// Key-exchange group, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kx_group: Option<String>,
    /// Negotiated ALPN protocol, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// Handshake attempts made.
    pub attempts: u32,
    /// Handshakes that completed.
    pub successes: u32,
    /// Handshake latency over successful attempts.
    pub handshake_ms: Option<LatencyStats>,
    /// The presented chain, leaf first.
    pub chain: Vec<CertInfo>,
    /// The chain's family; null when no chain was seen.
    pub ca_family: Option<CaFamily>,
    /// Whether the chain's signatures verified, separate from its family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_verified: Option<SignatureVerified>,
    /// Days until the leaf expires; negative once expired.
    pub days_to_expiry: Option<i64>,
    /// Set when the server asked for a client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<ClientAuthRequest>,
}

impl TlsResult {
    /// The TLS part of a TCP-only check: no handshake tried, nothing known.
    pub fn not_attempted(detail: impl Into<String>) -> TlsResult {
        TlsResult::failed(TlsStatus::NotAttempted, Some(detail.into()), 0)
    }

    /// True when no handshake was tried ([`TlsStatus::NotAttempted`]).
    pub fn is_not_attempted(&self) -> bool {
        self.status == TlsStatus::NotAttempted
    }

    /// A rustls result with nothing negotiated: the starting point of a failure.
    pub fn failed(status: TlsStatus, detail: Option<String>, attempts: u32) -> TlsResult {
        TlsResult {
            status,
            detail,
            alert: None,
            stack: TlsStack::Rustls,
            version: None,
            cipher: None,
            kx_group: None,
            alpn: None,
            attempts,
            successes: 0,
            handshake_ms: None,
            chain: Vec::new(),
            ca_family: None,
            signature_verified: None,
            days_to_expiry: None,
            client_auth: None,
        }
    }
}
