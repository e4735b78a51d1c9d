//! Bytes on the wire, read from the sockets themselves (issue 9 item 6).
//!
//! A box on a metered 4G or GPRS link pays for every byte, so a check's
//! volume is measured, not estimated: just before a probe socket closes,
//! [`Watch`] reads the kernel's `TCP_INFO` for it and adds what it says to
//! the running target's tally ([`counted`]). The hooks are one line where
//! a socket ends: `tcp::connect` (a connection that did not open),
//! `tls::handshake` and the legacy capture.
//!
//! What `TCP_INFO` gives (Linux 4.19 and later for every field used here):
//! payload bytes sent (`tcpi_bytes_sent`, retransmissions included),
//! retransmitted (`tcpi_bytes_retrans`) and received (`tcpi_bytes_received`),
//! and segments each way (`tcpi_segs_out`, `tcpi_segs_in`: SYNs, pure ACKs
//! and retransmissions included). Headers are those segment counts times
//! the socket's header size: IPv4 20 or IPv6 40 bytes, TCP 20, plus 12
//! when timestamps were negotiated (`TCPI_OPT_TIMESTAMPS`). Left out, and
//! said so in [`stca2_report::WireBytes`]: the closing FIN/ACK exchange
//! (after the read), other TCP options, link-layer framing, DNS over UDP.
//!
//! A kernel without `TCP_INFO` (or another OS) leaves the tally empty: the
//! report then has no `wire`, which says "not measured", never "zero".

use std::cell::Cell;
use std::future::Future;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use stca2_report::WireBytes;

tokio::task_local! {
    /// The running target's tally: set by [`counted`], added to by [`Watch`].
    static TALLY: Cell<Option<WireBytes>>;
}

/// Runs `fut` (one target's attempts) and returns what its sockets put on
/// the wire; `None` when no socket could be read.
pub async fn counted<T>(fut: impl Future<Output = T>) -> (T, Option<WireBytes>) {
    TALLY
        .scope(Cell::new(None), async move {
            let out = fut.await;
            (out, TALLY.with(Cell::get))
        })
        .await
}

/// Reads one socket's counters when dropped, that is just before the socket
/// itself closes: it holds a duplicate of the socket's descriptor, so the
/// kernel keeps the connection until the counters are read, whatever path
/// (success, failure, timeout, cancellation) dropped the stream first.
/// Create it before the stream is handed to the code that consumes it.
#[derive(Debug)]
pub struct Watch {
    fd: Option<OwnedFd>,
}

impl Watch {
    /// Watches `socket` (anything that has a descriptor: a socket2 socket,
    /// a tokio stream). A descriptor that cannot be duplicated (out of
    /// descriptors) is simply not counted.
    pub fn new(socket: &impl AsFd) -> Watch {
        Watch {
            fd: socket.as_fd().try_clone_to_owned().ok(),
        }
    }

    /// Stops watching without counting: the socket lives on under another
    /// owner, who watches it until it closes (a connection that opened).
    pub fn hand_over(mut self) {
        self.fd = None;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let Some(fd) = self.fd.take() else { return };
        let Some(bytes) = read(&fd) else { return };
        // Outside `counted` (a socket of another caller) nothing is tallied.
        let _ = TALLY.try_with(|t| {
            let mut sum = t.get().unwrap_or_default();
            sum += bytes;
            t.set(Some(sum));
        });
        // `fd` drops here: the last descriptor, the socket closes now.
    }
}

/// `TCP_INFO` of one socket as bytes on the wire; `None` when the kernel
/// does not give it.
pub fn read(fd: &impl AsRawFd) -> Option<WireBytes> {
    let mut buf = [0u64; TCP_INFO_WORDS];
    let mut len = libc::socklen_t::try_from(std::mem::size_of_val(&buf)).ok()?;
    // SAFETY: `buf` is writable for `len` bytes and the kernel writes at
    // most `len` bytes, returning how many in `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return None;
    }
    let v6 = is_ipv6(fd.as_raw_fd());
    let bytes: Vec<u8> = buf.iter().flat_map(|w| w.to_ne_bytes()).collect();
    parse(&bytes[..usize::try_from(len).ok()?.min(bytes.len())], v6)
}

/// Room for `struct tcp_info` up to the fields read here and beyond.
const TCP_INFO_WORDS: usize = 40;

// Offsets in `struct tcp_info` (include/uapi/linux/tcp.h): stable, the
// struct only ever grows at its end.
const OFF_OPTIONS: usize = 5;
const OFF_BYTES_ACKED: usize = 120;
const OFF_BYTES_RECEIVED: usize = 128;
const OFF_SEGS_OUT: usize = 136;
const OFF_SEGS_IN: usize = 140;
const OFF_BYTES_SENT: usize = 200;
const OFF_BYTES_RETRANS: usize = 208;
const TCPI_OPT_TIMESTAMPS: u8 = 1;

/// Header bytes of one segment: IP, TCP, and the timestamp option when on.
pub fn header_len(v6: bool, timestamps: bool) -> u64 {
    let ip = if v6 { 40 } else { 20 };
    ip + 20 + if timestamps { 12 } else { 0 }
}

/// Reads the counters from the bytes the kernel wrote (as many as it
/// knows; native byte order). `None` when it did not write the segment
/// counts (a kernel older than 4.2). Before 4.19 there are no
/// `bytes_sent`/`bytes_retrans`: `bytes_acked` stands for what was sent.
pub fn parse(info: &[u8], v6: bool) -> Option<WireBytes> {
    let u32_at = |off: usize| -> Option<u64> {
        let b: [u8; 4] = info.get(off..off + 4)?.try_into().ok()?;
        Some(u64::from(u32::from_ne_bytes(b)))
    };
    let u64_at = |off: usize| -> Option<u64> {
        let b: [u8; 8] = info.get(off..off + 8)?.try_into().ok()?;
        Some(u64::from_ne_bytes(b))
    };
    let timestamps = info.get(OFF_OPTIONS)? & TCPI_OPT_TIMESTAMPS != 0;
    let header = header_len(v6, timestamps);
    let (segs_out, segs_in) = (u32_at(OFF_SEGS_OUT)?, u32_at(OFF_SEGS_IN)?);
    let received = u64_at(OFF_BYTES_RECEIVED)?;
    let (sent, retransmitted) = match (u64_at(OFF_BYTES_SENT), u64_at(OFF_BYTES_RETRANS)) {
        (Some(s), Some(r)) => (s, r),
        _ => (u64_at(OFF_BYTES_ACKED)?, 0),
    };
    Some(WireBytes {
        sent: sent.saturating_add(segs_out.saturating_mul(header)),
        received: received.saturating_add(segs_in.saturating_mul(header)),
        retransmitted,
    })
}

fn is_ipv6(fd: std::os::fd::RawFd) -> bool {
    // SAFETY: `fd` is a valid socket for the duration of the call (the
    // caller holds it); `getsockname` writes at most `len` bytes.
    unsafe {
        let mut addr: libc::sockaddr_storage = std::mem::zeroed();
        let mut len =
            libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_storage>()).unwrap_or(0);
        libc::getsockname(fd, (&raw mut addr).cast(), &mut len) == 0
            && i32::from(addr.ss_family) == libc::AF_INET6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(len: usize, options: u8, fields: &[(usize, u64, usize)]) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[OFF_OPTIONS] = options;
        for &(off, v, size) in fields {
            b[off..off + size].copy_from_slice(&v.to_ne_bytes()[..size]);
        }
        b
    }

    #[test]
    fn counters_become_bytes_with_headers() {
        let b = info(
            232,
            TCPI_OPT_TIMESTAMPS,
            &[
                (OFF_BYTES_ACKED, 500, 8),
                (OFF_BYTES_RECEIVED, 3000, 8),
                (OFF_SEGS_OUT, 6, 4),
                (OFF_SEGS_IN, 5, 4),
                (OFF_BYTES_SENT, 540, 8),
                (OFF_BYTES_RETRANS, 40, 8),
            ],
        );
        let w = parse(&b, false).unwrap();
        assert_eq!(w.sent, 540 + 6 * 52);
        assert_eq!(w.received, 3000 + 5 * 52);
        assert_eq!(w.retransmitted, 40);
        // IPv6 headers are 20 bytes longer.
        let w6 = parse(&b, true).unwrap();
        assert_eq!(w6.sent - w.sent, 6 * 20);
    }

    #[test]
    fn older_kernels_fall_back_or_say_nothing() {
        // 4.2 to 4.18: no bytes_sent, bytes_acked stands for it; no timestamps.
        let b = info(
            160,
            0,
            &[
                (OFF_BYTES_ACKED, 500, 8),
                (OFF_SEGS_OUT, 2, 4),
                (OFF_SEGS_IN, 1, 4),
            ],
        );
        let w = parse(&b, false).unwrap();
        assert_eq!((w.sent, w.received, w.retransmitted), (500 + 80, 40, 0));
        // Before 4.2: no segment counts, so no honest figure.
        assert_eq!(parse(&b[..104], false), None);
    }

    #[tokio::test]
    async fn a_loopback_exchange_is_counted_on_both_sides_of_the_close() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 100];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&[7u8; 1000]).await.unwrap();
        });
        let ((), wire) = counted(async {
            let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
            let _watch = Watch::new(&c);
            c.write_all(&[1u8; 100]).await.unwrap();
            let mut buf = [0u8; 1000];
            c.read_exact(&mut buf).await.unwrap();
            drop(c); // the watch still holds the socket: counted after this
        })
        .await;
        server.await.unwrap();
        let w = wire.expect("Linux gives TCP_INFO");
        // Payload plus at least the SYN, the data and an ACK each way.
        assert!(w.sent >= 100 + 3 * 40 && w.sent < 100 + 10 * 52, "{w:?}");
        assert!(
            w.received >= 1000 + 2 * 40 && w.received < 1000 + 10 * 52,
            "{w:?}"
        );

        // A watch handed over counts nothing.
        let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let to = other.local_addr().unwrap();
        let ((), none) = counted(async {
            let c = tokio::net::TcpStream::connect(to).await.unwrap();
            Watch::new(&c).hand_over();
        })
        .await;
        assert_eq!(none, None);
    }
}
