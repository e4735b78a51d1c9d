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
