//! TCP reachability: one connect, classified the way a network engineer reads it.
//!
//! The socket is made with [`socket2`] so that it can be bound to a source
//! address (`--source`) or to an interface (`--interface`, `SO_BINDTODEVICE`:
//! test over a 4G stick rather than the ADSL box) before the SYN leaves. The
//! connect is non-blocking and driven by tokio: we wait for writability under
//! the step timeout, then read `SO_ERROR`.
//!
//! The errno says what happened: `ECONNREFUSED` (an RST: nothing listens, or
//! a firewall rejects with RST), `EHOSTUNREACH`/`ENETUNREACH` (an ICMP
//! unreachable from a router, or no route), `EACCES`/`EPERM` (a local
//! firewall). On top of that we enable `IP_RECVERR`/`IPV6_RECVERR`: the
//! kernel then queues the ICMP error itself on the socket's error queue, and
//! we read its type, code and sender (the router that refused) with
//! `recvmsg(MSG_ERRQUEUE)`. That is what tells "administratively prohibited"
//! (a firewall's `reject with icmp admin-prohibited`) apart from a plain
//! "host unreachable". When the queue is empty (no ICMP, or a kernel that
//! does not queue it) the errno alone is reported.
//!
//! No answer at all within the timeout is `timeout`: a router silently drops
//! the SYN. The kernel retransmits the SYN on its own (after 1 s, then 3 s…),
//! so one lost packet does not turn a healthy path into a timeout when the
//! timeout is a few seconds.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::TcpStream;

use stca2_report::TcpStatus;

/// How to open a connection: the same options for every attempt and for the legacy capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Bind to this local address before connecting (`--source`).
    pub source: Option<IpAddr>,
    /// Bind to this interface before connecting (`--interface`, `SO_BINDTODEVICE`).
    pub interface: Option<String>,
    /// How long to wait for the handshake to complete.
    pub timeout: Duration,
}

/// Why a connection did not open, already classified for the report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ConnectFailure {
    /// `refused`, `timeout`, `unreachable` or `error` (never `open`).
    pub status: TcpStatus,
    /// What happened, in words, with the errno and ICMP reason when known.
    pub detail: String,
    /// The OS error number, when there was one.
    pub errno: Option<i32>,
    /// The ICMP error the kernel queued, when there was one.
    pub icmp: Option<IcmpReport>,
}

/// An ICMP error read from the socket's error queue (`IP_RECVERR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpReport {
    /// True for ICMPv6.
    pub v6: bool,
    /// ICMP type (3 = destination unreachable for IPv4, 1 for IPv6).
    pub icmp_type: u8,
    /// ICMP code (e.g. 13 = communication administratively prohibited).
    pub code: u8,
    /// The errno the kernel derived from it.
    pub errno: i32,
    /// Who sent the ICMP message (a router on the path), when known.
    pub offender: Option<IpAddr>,
}

impl IcmpReport {
    /// What the type and code mean, in words.
    pub fn meaning(&self) -> &'static str {
        match (self.v6, self.icmp_type, self.code) {
            (false, 3, 0) => "network unreachable",
            (false, 3, 1) => "host unreachable",
            (false, 3, 2) => "protocol unreachable",
            (false, 3, 3) => "port unreachable",
            (false, 3, 4) => "fragmentation needed",
            (false, 3, 6) => "destination network unknown",
            (false, 3, 7) => "destination host unknown",
            (false, 3, 9) => "network administratively prohibited",
            (false, 3, 10) => "host administratively prohibited",
            (false, 3, 13) => "communication administratively prohibited",
            (false, 3, _) => "destination unreachable",
            (false, 11, _) => "time exceeded (routing loop or TTL too small)",
            (true, 1, 0) => "no route to destination",
            (true, 1, 1) => "communication administratively prohibited",
            (true, 1, 3) => "address unreachable",
            (true, 1, 4) => "port unreachable",
            (true, 1, 5) => "source address failed ingress/egress policy",
            (true, 1, 6) => "reject route to destination",
            (true, 1, _) => "destination unreachable",
            (true, 2, _) => "packet too big",
            (true, 3, _) => "time exceeded (routing loop or hop limit too small)",
            _ => "ICMP error",
        }
    }

    /// True for the "administratively prohibited" family: a firewall rejects on purpose.
    pub fn is_admin_prohibited(&self) -> bool {
        matches!(
            (self.v6, self.icmp_type, self.code),
            (false, 3, 9 | 10 | 13) | (true, 1, 1 | 5 | 6)
        )
    }

    /// True for "port unreachable": a host or firewall rejects this port.
    pub fn is_port_unreachable(&self) -> bool {
        matches!(
            (self.v6, self.icmp_type, self.code),
            (false, 3, 3) | (true, 1, 4)
        )
    }

    fn describe(&self) -> String {
        let from = self
            .offender
            .map(|a| format!(" from {a}"))
            .unwrap_or_default();
        format!(
            "ICMP{} type {} code {}{from}",
            if self.v6 { "v6" } else { "" },
            self.icmp_type,
            self.code
        )
    }
}

/// Per-connection socket settings beyond [`ConnectOptions`]: what `trace`
/// (a TTL-limited SYN) and the path-MTU retry (a clamped MSS) change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tuning {
    /// `IP_TTL` / `IPV6_UNICAST_HOPS` of the SYN: the hop that sees it expire answers ICMP time exceeded.
    pub ttl: Option<u32>,
    /// `TCP_MAXSEG` before connecting: the MSS announced in the SYN (e.g. 1000, 536).
    pub mss: Option<u32>,
}

/// Opens one TCP connection to `addr` with the given source, interface and timeout.
///
/// The caller has already checked `addr` against the allow-list.
pub async fn connect(addr: SocketAddr, opts: &ConnectOptions) -> Result<TcpStream, ConnectFailure> {
    connect_tuned(addr, opts, Tuning::default()).await
}

/// [`connect`] with a TTL or an MSS of its own ([`Tuning`]).
pub async fn connect_tuned(
    addr: SocketAddr,
    opts: &ConnectOptions,
    tuning: Tuning,
) -> Result<TcpStream, ConnectFailure> {
    let socket = prepare(addr, opts)?;
    tune(&socket, addr, tuning)?;
    // Counts a connection that does not open; handed over when it does.
    let wire = super::wire::Watch::new(&socket);
    let fd = socket.as_raw_fd();
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(failure_from_io(&e, read_error_queue(fd))),
    }
    let std_stream: std::net::TcpStream = socket.into();
    let stream = TcpStream::from_std(std_stream).map_err(|e| local_error("register", &e))?;
    match tokio::time::timeout(opts.timeout, stream.writable()).await {
        Err(_) => Err(ConnectFailure {
            status: TcpStatus::Timeout,
            detail: format!(
                "no answer to the TCP connection within {} (SYN unanswered): a router or firewall on the path silently drops it, or the host is down",
                super::fmt_duration(opts.timeout)
            ),
            errno: None,
            icmp: None,
        }),
        Ok(Err(e)) => Err(failure_from_io(&e, read_error_queue(stream.as_raw_fd()))),
        Ok(Ok(())) => {
            let icmp = read_error_queue(stream.as_raw_fd());
            match stream.take_error() {
                Ok(Some(e)) => Err(failure_from_io(&e, icmp)),
                Err(e) => Err(failure_from_io(&e, icmp)),
                Ok(None) => match stream.peer_addr() {
                    Ok(_) => {
                        // Connected: from here on an ICMP error must not
                        // abort the established connection, as IP_RECVERR
                        // would make it do.
                        set_recv_err(stream.as_raw_fd(), addr.is_ipv6(), false);
                        wire.hand_over();
                        Ok(stream)
                    }
                    // Writable without SO_ERROR yet not connected (ENOTCONN).
                    Err(e) => Err(failure_from_io(&e, icmp)),
                },
            }
        }
    }
}

/// Creates the socket, non-blocking, with IP_RECVERR, bound as asked.
fn prepare(addr: SocketAddr, opts: &ConnectOptions) -> Result<Socket, ConnectFailure> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| local_error("create a socket", &e))?;
    socket
        .set_nonblocking(true)
        .map_err(|e| local_error("make the socket non-blocking", &e))?;
    // Best effort: without it the errno alone is reported.
    set_recv_err(socket.as_raw_fd(), addr.is_ipv6(), true);
    if let Some(iface) = &opts.interface {
        socket.bind_device(Some(iface.as_bytes())).map_err(|e| {
            let hint = match e.raw_os_error() {
                Some(libc::ENODEV) => {
                    format!("there is no interface named `{iface}`: list them with `ip link`")
                }
                Some(libc::EPERM | libc::EACCES) => {
                    "binding to an interface needs root or CAP_NET_RAW".to_string()
                }
                _ => "check the interface name".to_string(),
            };
            ConnectFailure {
                status: TcpStatus::Error,
                detail: format!("cannot bind to interface `{iface}`: {e}; {hint}"),
                errno: e.raw_os_error(),
                icmp: None,
            }
        })?;
    }
    if let Some(src) = opts.source {
        if src.is_ipv4() != addr.is_ipv4() {
            return Err(ConnectFailure {
                status: TcpStatus::Error,
                detail: format!(
                    "source address {src} and destination {} are not the same IP version: pass a --source of the same family",
                    addr.ip()
                ),
                errno: None,
                icmp: None,
            });
        }
        socket
            .bind(&SockAddr::from(SocketAddr::new(src, 0)))
            .map_err(|e| ConnectFailure {
                status: TcpStatus::Error,
                detail: format!(
                    "cannot use source address {src}: {e}; it must be an address of this machine (see `ip addr`)"
                ),
                errno: e.raw_os_error(),
                icmp: None,
            })?;
    }
    Ok(socket)
}

/// Applies a [`Tuning`] to a socket not yet connected.
fn tune(socket: &Socket, addr: SocketAddr, tuning: Tuning) -> Result<(), ConnectFailure> {
    if let Some(ttl) = tuning.ttl {
        let set = if addr.is_ipv6() {
            socket.set_unicast_hops_v6(ttl)
        } else {
            socket.set_ttl_v4(ttl)
        };
        set.map_err(|e| local_error("set the TTL", &e))?;
    }
    if let Some(mss) = tuning.mss {
        socket
            .set_tcp_mss(mss)
            .map_err(|e| local_error("set the MSS (TCP_MAXSEG)", &e))?;
    }
    Ok(())
}

fn local_error(what: &str, e: &io::Error) -> ConnectFailure {
    ConnectFailure {
        status: TcpStatus::Error,
        detail: format!("cannot {what}: {e}"),
        errno: e.raw_os_error(),
        icmp: None,
    }
}

/// Turns a connect error (and the ICMP error behind it, when known) into a classified failure.
pub fn failure_from_io(e: &io::Error, icmp: Option<IcmpReport>) -> ConnectFailure {
    let errno = e.raw_os_error().or(icmp.map(|i| i.errno));
    let (mut status, mut detail) = match errno {
        Some(n) => classify_errno(n),
        None => (TcpStatus::Error, format!("connection failed: {e}")),
    };
    if let Some(i) = icmp {
        let name = errno.map(errno_name).unwrap_or("no errno");
        if i.is_admin_prohibited() {
            status = TcpStatus::Unreachable;
            detail = format!(
                "{} ({}, {name}) — a firewall on the path rejects the connection on purpose",
                i.meaning(),
                i.describe()
            );
        } else if i.is_port_unreachable() {
            status = TcpStatus::Refused;
            detail = format!(
                "refused by {} ({}, {name}) — a firewall rejects this port with ICMP, or nothing listens",
                i.meaning(),
                i.describe()
            );
        } else {
            detail = format!("{} ({}) — {detail}", i.meaning(), i.describe());
        }
    }
    ConnectFailure {
        status,
        detail,
        errno,
        icmp,
    }
}

/// Classifies a connect errno: the status and a sentence naming the errno and what it means.
pub fn classify_errno(errno: i32) -> (TcpStatus, String) {
    let name = errno_name(errno);
    match errno {
        libc::ECONNREFUSED => (
            TcpStatus::Refused,
            format!(
                "connection refused ({name}): nothing listens on this port, or a firewall answers with a TCP reset"
            ),
        ),
        libc::ETIMEDOUT => (
            TcpStatus::Timeout,
            format!(
                "connection timed out ({name}): the SYN went unanswered, a router or firewall silently drops it"
            ),
        ),
        libc::EHOSTUNREACH => (
            TcpStatus::Unreachable,
            format!(
                "host unreachable (ICMP, {name}) — a router on the path rejects the connection, or the host is down"
            ),
        ),
        libc::ENETUNREACH => (
            TcpStatus::Unreachable,
            format!(
                "network unreachable ({name}) — no route to that network from this machine, or a router reports it unreachable"
            ),
        ),
        libc::ENETDOWN => (
            TcpStatus::Unreachable,
            format!("network down ({name}) — the interface used is down"),
        ),
        libc::EACCES | libc::EPERM => (
            TcpStatus::Unreachable,
            format!(
                "connection forbidden ({name}) — a firewall on this machine blocks it, or a router answered ICMP administratively prohibited"
            ),
        ),
        libc::ECONNRESET | libc::ECONNABORTED => (
            TcpStatus::Refused,
            format!("connection reset during the TCP handshake ({name})"),
        ),
        libc::EADDRNOTAVAIL => (
            TcpStatus::Error,
            format!(
                "address not available ({name}): the source address is not on this machine, or no local port is free"
            ),
        ),
        _ => (
            TcpStatus::Error,
            format!(
                "connection failed ({name}): {}",
                io::Error::from_raw_os_error(errno)
            ),
        ),
    }
}

/// The symbolic name of an errno, for details a network engineer can search for.
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ENETDOWN => "ENETDOWN",
        libc::EACCES => "EACCES",
        libc::EPERM => "EPERM",
        libc::ECONNRESET => "ECONNRESET",
        libc::ECONNABORTED => "ECONNABORTED",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EHOSTDOWN => "EHOSTDOWN",
        libc::EPROTO => "EPROTO",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::EMSGSIZE => "EMSGSIZE",
        _ => "errno",
    }
}

/// Asks the kernel to queue ICMP errors on the socket (`IP_RECVERR`), or stops it. Best effort.
fn set_recv_err(fd: RawFd, v6: bool, enable: bool) {
    let on: libc::c_int = libc::c_int::from(enable);
    let (level, name) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
    } else {
        (libc::IPPROTO_IP, libc::IP_RECVERR)
    };
    // SAFETY: `fd` is an open socket owned by the caller for the duration of
    // the call; the option value is a valid c_int of the size passed.
    let _ = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

/// Reads one entry from the socket's error queue and returns it when it is an ICMP error.
fn read_error_queue(fd: RawFd) -> Option<IcmpReport> {
    let mut data = [0u8; 256];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // u64 elements keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 64];
    // SAFETY: an all-zero msghdr is a valid empty header; we then point it at
    // buffers that outlive the recvmsg call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `fd` is an open socket; `msg` points at valid buffers of the
    // sizes given. MSG_DONTWAIT keeps it from blocking.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT) };
    if n < 0 {
        return None;
    }
    // SAFETY: `msg` was filled by recvmsg; the CMSG macros walk its control
    // buffer within msg_controllen, and each cmsg_len was set by the kernel.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let hdr = &*cmsg;
            let data_ptr = libc::CMSG_DATA(cmsg);
            let header_len = data_ptr as usize - cmsg as usize;
            let len = (hdr.cmsg_len as usize).saturating_sub(header_len);
            let bytes = std::slice::from_raw_parts(data_ptr, len);
            if let Some(r) = parse_extended_err(hdr.cmsg_level, hdr.cmsg_type, bytes) {
                return Some(r);
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    None
}

const SO_EE_ORIGIN_ICMP: u8 = 2;
const SO_EE_ORIGIN_ICMP6: u8 = 3;

/// Parses a `struct sock_extended_err` (and the offender address after it) from a control message.
///
/// Layout (linux/errqueue.h): errno u32, origin u8, type u8, code u8, pad u8,
/// info u32, data u32, then a sockaddr_in / sockaddr_in6 for the offender.
pub fn parse_extended_err(level: i32, kind: i32, bytes: &[u8]) -> Option<IcmpReport> {
    let ours = (level == libc::IPPROTO_IP && kind == libc::IP_RECVERR)
        || (level == libc::IPPROTO_IPV6 && kind == libc::IPV6_RECVERR);
    if !ours || bytes.len() < 16 {
        return None;
    }
    let errno = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let origin = bytes[4];
    if origin != SO_EE_ORIGIN_ICMP && origin != SO_EE_ORIGIN_ICMP6 {
        return None;
    }
    let offender = parse_sockaddr(&bytes[16..]);
    Some(IcmpReport {
        v6: origin == SO_EE_ORIGIN_ICMP6,
        icmp_type: bytes[5],
        code: bytes[6],
        errno: i32::try_from(errno).unwrap_or(0),
        offender,
    })
}

fn parse_sockaddr(b: &[u8]) -> Option<IpAddr> {
    if b.len() < 2 {
        return None;
    }
    let family = i32::from(u16::from_ne_bytes([b[0], b[1]]));
    if family == libc::AF_INET && b.len() >= 8 {
        Some(IpAddr::V4(Ipv4Addr::new(b[4], b[5], b[6], b[7])))
    } else if family == libc::AF_INET6 && b.len() >= 24 {
        let mut a = [0u8; 16];
        a.copy_from_slice(&b[8..24]);
        Some(IpAddr::V6(Ipv6Addr::from(a)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext_err(errno: i32, origin: u8, ty: u8, code: u8, offender: Option<Ipv4Addr>) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&(errno as u32).to_ne_bytes());
        b.extend_from_slice(&[origin, ty, code, 0]);
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        if let Some(a) = offender {
            b.extend_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
            b.extend_from_slice(&0u16.to_be_bytes());
            b.extend_from_slice(&a.octets());
            b.extend_from_slice(&[0u8; 8]);
        }
        b
    }

    #[test]
    fn errno_table() {
        let cases = [
            (libc::ECONNREFUSED, TcpStatus::Refused, "ECONNREFUSED"),
            (libc::EHOSTUNREACH, TcpStatus::Unreachable, "EHOSTUNREACH"),
            (libc::ENETUNREACH, TcpStatus::Unreachable, "ENETUNREACH"),
            (libc::EACCES, TcpStatus::Unreachable, "EACCES"),
            (libc::EPERM, TcpStatus::Unreachable, "EPERM"),
            (libc::ETIMEDOUT, TcpStatus::Timeout, "ETIMEDOUT"),
            (libc::EADDRNOTAVAIL, TcpStatus::Error, "EADDRNOTAVAIL"),
            (libc::EPROTO, TcpStatus::Error, "EPROTO"),
        ];
        for (errno, status, name) in cases {
            let (s, d) = classify_errno(errno);
            assert_eq!(s, status, "{name}");
            assert!(d.contains(name), "{d}");
        }
    }

    #[test]
    fn admin_prohibited_icmp_is_unreachable_and_names_the_router() {
        let bytes = ext_err(
            libc::EHOSTUNREACH,
            SO_EE_ORIGIN_ICMP,
            3,
            13,
            Some(Ipv4Addr::new(10, 9, 8, 1)),
        );
        let icmp = parse_extended_err(libc::IPPROTO_IP, libc::IP_RECVERR, &bytes).unwrap();
        assert_eq!(icmp.offender, Some("10.9.8.1".parse().unwrap()));
        assert!(icmp.is_admin_prohibited());
        let e = io::Error::from_raw_os_error(libc::EHOSTUNREACH);
        let f = failure_from_io(&e, Some(icmp));
        assert_eq!(f.status, TcpStatus::Unreachable);
        assert!(
            f.detail.contains("administratively prohibited"),
            "{}",
            f.detail
        );
        assert!(
            f.detail.contains("type 3 code 13 from 10.9.8.1"),
            "{}",
            f.detail
        );
        assert!(f.detail.contains("EHOSTUNREACH"), "{}", f.detail);
    }

    #[test]
    fn icmp_port_unreachable_is_refused() {
        let bytes = ext_err(libc::ECONNREFUSED, SO_EE_ORIGIN_ICMP, 3, 3, None);
        let icmp = parse_extended_err(libc::IPPROTO_IP, libc::IP_RECVERR, &bytes).unwrap();
        let f = failure_from_io(
            &io::Error::from_raw_os_error(libc::ECONNREFUSED),
            Some(icmp),
        );
        assert_eq!(f.status, TcpStatus::Refused);
        assert!(f.detail.contains("port unreachable"), "{}", f.detail);
    }

    #[test]
    fn non_icmp_and_short_entries_are_ignored() {
        let local = ext_err(libc::EMSGSIZE, 1, 0, 0, None);
        assert!(parse_extended_err(libc::IPPROTO_IP, libc::IP_RECVERR, &local).is_none());
        assert!(parse_extended_err(libc::IPPROTO_IP, libc::IP_RECVERR, &[0u8; 8]).is_none());
        let icmp = ext_err(libc::EHOSTUNREACH, SO_EE_ORIGIN_ICMP, 3, 1, None);
        assert!(parse_extended_err(libc::SOL_SOCKET, libc::IP_RECVERR, &icmp).is_none());
    }

    #[tokio::test]
    async fn refused_on_loopback() {
        // Nothing listens on this unique loopback address and port.
        let addr: SocketAddr = "127.39.200.1:9".parse().unwrap();
        let opts = ConnectOptions {
            source: None,
            interface: None,
            timeout: Duration::from_secs(2),
        };
        let f = connect(addr, &opts).await.unwrap_err();
        assert_eq!(f.status, TcpStatus::Refused, "{f:?}");
        assert_eq!(f.errno, Some(libc::ECONNREFUSED));
    }

    #[tokio::test]
    async fn source_and_interface_binding() {
        let listener = std::net::TcpListener::bind("127.39.201.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut opts = ConnectOptions {
            source: Some("127.39.201.2".parse().unwrap()),
            interface: None,
            timeout: Duration::from_secs(2),
        };
        let s = connect(addr, &opts).await.unwrap();
        assert_eq!(s.local_addr().unwrap().ip(), opts.source.unwrap());
        let (_, peer) = listener.accept().unwrap();
        assert_eq!(peer.ip(), opts.source.unwrap());

        // SO_BINDTODEVICE needs root or CAP_NET_RAW: checked when we have it.
        opts.interface = Some("lo".into());
        match connect(addr, &opts).await {
            Ok(_) => {
                listener.accept().unwrap();
            }
            Err(f) => assert!(f.detail.contains("CAP_NET_RAW"), "{}", f.detail),
        }

        opts.interface = Some("no-such-if0".into());
        let f = connect(addr, &opts).await.unwrap_err();
        assert_eq!(f.status, TcpStatus::Error);
        assert!(f.detail.contains("no-such-if0"), "{}", f.detail);

        opts.interface = None;
        opts.source = Some("::1".parse().unwrap());
        let f = connect(addr, &opts).await.unwrap_err();
        assert!(f.detail.contains("same IP version"), "{}", f.detail);
    }

    /// Runs `cmd`, true on success.
    fn run(cmd: &[&str]) -> bool {
        std::process::Command::new(cmd[0])
            .args(&cmd[1..])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// A real router's ICMP errors, read from the error queue.
    ///
    /// The test thread moves into a network namespace of its own (network
    /// namespaces are per thread) and builds a second one as a router whose
    /// routing table `prohibit`s 10.78.0.0/24 and marks 10.79.0.0/24
    /// `unreachable`: forwarding a SYN there makes the router answer ICMP
    /// type 3 code 13 and code 1. Nothing leaves the two namespaces. Needs
    /// root and iproute2; skipped (with a note) without them.
    #[test]
    fn icmp_from_a_router_in_a_private_namespace() {
        let router = format!("stca2probe-r{}", std::process::id());
        let outcome = std::thread::spawn({
            let router = router.clone();
            move || {
                // SAFETY: unshare only changes this thread's network namespace.
                if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                    return None;
                }
                let ns = |args: &[&str]| {
                    let mut full = vec!["ip", "netns", "exec", router.as_str()];
                    full.extend_from_slice(args);
                    run(&full)
                };
                let ok = run(&["ip", "link", "set", "lo", "up"])
                    && run(&["ip", "netns", "add", &router])
                    && run(&[
                        "ip", "link", "add", "vc", "type", "veth", "peer", "name", "vr", "netns",
                        &router,
                    ])
                    && run(&["ip", "addr", "add", "10.77.0.2/24", "dev", "vc"])
                    && run(&["ip", "link", "set", "vc", "up"])
                    && run(&["ip", "route", "add", "default", "via", "10.77.0.1"])
                    && ns(&["ip", "addr", "add", "10.77.0.1/24", "dev", "vr"])
                    && ns(&["ip", "link", "set", "vr", "up"])
                    && ns(&["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"])
                    && ns(&["ip", "route", "add", "prohibit", "10.78.0.0/24"])
                    && ns(&["ip", "route", "add", "unreachable", "10.79.0.0/24"]);
                if !ok {
                    return None;
                }
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                let opts = ConnectOptions {
                    source: None,
                    interface: None,
                    timeout: Duration::from_secs(3),
                };
                let prohibited = rt.block_on(connect("10.78.0.5:1146".parse().unwrap(), &opts));
                let unreachable = rt.block_on(connect("10.79.0.5:1146".parse().unwrap(), &opts));
                Some((prohibited.err(), unreachable.err()))
            }
        })
        .join();
        run(&["ip", "netns", "del", &router]);
        let outcome = outcome.expect("the namespace thread panicked");
        let Some((prohibited, unreachable)) = outcome else {
            eprintln!("skipped: needs root and iproute2 to build network namespaces");
            return;
        };
        let p = prohibited.expect("the prohibited destination connected");
        assert_eq!(p.status, TcpStatus::Unreachable, "{p:?}");
        let icmp = p.icmp.expect("no ICMP report read from the error queue");
        assert_eq!((icmp.icmp_type, icmp.code), (3, 13));
        assert_eq!(icmp.offender, Some("10.77.0.1".parse().unwrap()));
        assert!(
            p.detail.contains("administratively prohibited"),
            "{}",
            p.detail
        );
        assert!(p.detail.contains("from 10.77.0.1"), "{}", p.detail);

        let u = unreachable.expect("the unreachable destination connected");
        assert_eq!(u.status, TcpStatus::Unreachable, "{u:?}");
        assert_eq!(u.icmp.map(|i| (i.icmp_type, i.code)), Some((3, 1)));
        assert!(u.detail.contains("host unreachable"), "{}", u.detail);
    }
}
