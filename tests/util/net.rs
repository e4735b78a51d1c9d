//! Addresses for tests, from one allocator.
//!
//! Every test of the one binary runs in parallel with the others, and many
//! bind fixed ports (the lab listens on the real 1146 and 7212): two tests on
//! the same address would break each other. So no test writes an address of
//! its own; each asks [`network`] for a /24 of loopback that no other test of
//! this process gets, and takes its hosts from it ([`Net::host`], the lab's
//! pair [`Net::sites`]). A test that needs an allow-list around its addresses
//! uses that /24 ([`Net::cidr`]): it holds nothing of anybody else's. A test
//! that must show a refusal takes a second [`network`], which is outside the
//! first.
//!
//! The /24s come from 127.128.0.0/9, which nothing else uses: not the lab's
//! defaults (127.0.38.45 and 127.0.38.173, which the report fixtures name),
//! not 127.0.0.1 (the back office's tests). The counter starts at an offset
//! taken from the process id, so that two test runs at once (another
//! worktree, another `cargo test`) are unlikely to meet either.
//!
//! The network-namespace tests need no loopback: each builds its own
//! namespaces, and [`namespace_octet`] gives each its own 10.N.0.0/16 there.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// How many /24s 127.128.0.0/9 holds.
const BLOCKS: u32 = 1 << 15;

/// /24s handed out so far in this process.
static HANDED_OUT: AtomicU32 = AtomicU32::new(0);

/// A /24 of 127.128.0.0/9 that belongs to one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    /// The second and third octets.
    octets: [u8; 2],
}

/// A fresh /24, unique in this process.
pub fn network() -> Net {
    static START: OnceLock<u32> = OnceLock::new();
    let start = *START.get_or_init(|| std::process::id().wrapping_mul(2_654_435_761) % BLOCKS);
    let n = HANDED_OUT.fetch_add(1, Ordering::Relaxed);
    assert!(
        n < BLOCKS,
        "the tests took all {BLOCKS} loopback /24s of 127.128.0.0/9"
    );
    let block = (start + n) % BLOCKS;
    let [_, _, hi, lo] = block.to_be_bytes();
    Net {
        octets: [128 | hi, lo],
    }
}

/// One fresh address (the `.1` of a fresh [`network`]).
pub fn address() -> IpAddr {
    network().host(1)
}

impl Net {
    /// The address `.last` in this /24.
    pub fn host(&self, last: u8) -> IpAddr {
        let [b, c] = self.octets;
        IpAddr::V4(Ipv4Addr::new(127, b, c, last))
    }

    /// The lab's two sites in this /24: the primary on `.45`, the secondary
    /// on `.173` (the last octets of the lab's defaults).
    pub fn sites(&self) -> (IpAddr, IpAddr) {
        (self.host(45), self.host(173))
    }

    /// The network as an allow-list entry, `127.b.c.0/24`.
    pub fn cidr(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/24", self.host(0))
    }
}

/// The second octet of a fresh 10.N.0.0/16 for a network-namespace topology,
/// unique in this process (the namespaces isolate it from everything else).
pub fn namespace_octet() -> u8 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    u8::try_from(n)
        .ok()
        .filter(|n| *n < 255)
        .expect("more than 254 network-namespace topologies in one test run")
}

#[test]
fn networks_are_unique_and_inside_127_128_0_0_slash_9() {
    let nets: Vec<Net> = (0..300).map(|_| network()).collect();
    for (i, a) in nets.iter().enumerate() {
        let IpAddr::V4(v4) = a.host(1) else {
            unreachable!()
        };
        assert_eq!(v4.octets()[0], 127);
        assert!(v4.octets()[1] >= 128, "{a}");
        assert!(nets[i + 1..].iter().all(|b| b != a), "{a} handed out twice");
    }
    assert_eq!(nets[0].cidr(), format!("{}/24", nets[0].host(0)));
}
