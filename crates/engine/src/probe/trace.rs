//! Who blocks: a TCP traceroute on the target's own port, with no raw socket.
//!
//! Each probe is an ordinary non-blocking connect ([`tcp::connect_tuned`])
//! whose SYN leaves with a small TTL (`IP_TTL`, `IPV6_UNICAST_HOPS`). The
//! router where the TTL runs out answers ICMP "time exceeded"; with
//! `IP_RECVERR` the kernel fails the connect and queues that ICMP error,
//! with the router's address, on the socket's error queue, where
//! [`tcp`] already reads it. So the path is seen with exactly the packets
//! the terminal will send (same protocol, same port: a firewall that only
//! blocks 1146 shows up), unprivileged, on Linux.
//!
//! Per TTL: [`TracePlan::probes_per_hop`] SYNs a few milliseconds apart (a
//! lost one, or a router rate-limiting its ICMP, does not hide the hop).
//! TTLs go in windows of [`TracePlan::window`], all in flight at once, each
//! probe bounded by [`TracePlan::wait`]. The trace ends when the
//! destination's port answers (a SYN-ACK: open; a reset), after
//! [`TracePlan::gap`] silent TTLs in a row (the path stops there), at
//! [`TracePlan::max_hops`], or at [`TracePlan::deadline`]. The destination
//! answers at most one window's worth of SYNs.
//!
//! The trace records facts only; where the path stops is the verdict's
//! call (`verdict::path`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;

use super::tcp::{self, ConnectOptions, Tuning};
use stca2_report::{HopAnswer, PathTrace, TcpStatus, TraceHop};

/// How a trace is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracePlan {
    /// The highest TTL tried.
    pub max_hops: u8,
    /// SYNs per TTL.
    pub probes_per_hop: u32,
    /// How long one probe waits for an answer.
    pub wait: Duration,
    /// TTLs in flight at once.
    pub window: u8,
    /// This many silent TTLs in a row end the trace.
    pub gap: u8,
    /// The whole trace's bound.
    pub deadline: Duration,
}

impl Default for TracePlan {
    fn default() -> Self {
        TracePlan {
            max_hops: 16,
            probes_per_hop: 3,
            wait: Duration::from_secs(1),
            window: 4,
            gap: 3,
            deadline: Duration::from_secs(8),
        }
    }
}

/// The pause between two probes of one TTL.
const PROBE_SPACING: Duration = Duration::from_millis(20);

/// What one probe got back.
#[derive(Debug, Clone, Copy)]
struct Probe {
    answer: HopAnswer,
    address: Option<IpAddr>,
    icmp: Option<(u8, u8)>,
    rtt: Duration,
}

/// Traces the path to `addr` (already allowed) on its port. `Err` only for
/// a local error that makes every probe fail (a bad `--source`, `--interface`).
pub async fn trace(
    addr: SocketAddr,
    opts: &ConnectOptions,
    plan: TracePlan,
) -> Result<PathTrace, String> {
    let start = Instant::now();
    let mut probe_opts = opts.clone();
    probe_opts.timeout = plan.wait;
    let mut hops: Vec<TraceHop> = Vec::new();
    let mut ttl: u8 = 1;
    let window = plan.window.max(1);
    'windows: while ttl <= plan.max_hops && start.elapsed() < plan.deadline {
        let last = ttl.saturating_add(window - 1).min(plan.max_hops);
        let batch = (ttl..=last).map(|t| hop(addr, &probe_opts, plan, t));
        for h in join_all(batch).await {
            let h = h?;
            let done = matches!(h.answer, HopAnswer::Open | HopAnswer::Reset);
            hops.push(h);
            if done {
                break 'windows;
            }
            let silent = hops
                .iter()
                .rev()
                .take_while(|h| h.answer == HopAnswer::Silent)
                .count();
            if silent >= usize::from(plan.gap.max(1)) {
                break 'windows;
            }
        }
        ttl = last.saturating_add(1);
        if last == u8::MAX {
            break;
        }
    }
    let reached_at = hops
        .iter()
        .find(|h| matches!(h.answer, HopAnswer::Open | HopAnswer::Reset))
        .map(|h| h.ttl);
    let last_answering_hop = hops
        .iter()
        .rev()
        .find(|h| h.answer != HopAnswer::Silent)
        .cloned();
    let refused_by = hops
        .iter()
        .find(|h| h.answer == HopAnswer::Unreachable)
        .and_then(|h| h.address);
    Ok(PathTrace {
        refused_by,
        hops,
        last_answering_hop,
        reached_at,
        default_gateway: if addr.is_ipv4() {
            default_gateway_v4().map(IpAddr::V4)
        } else {
            None
        },
        probes_per_hop: plan.probes_per_hop,
        max_hops: plan.max_hops,
    })
}

/// The probes of one TTL, summarised: the most telling answer wins.
async fn hop(
    addr: SocketAddr,
    opts: &ConnectOptions,
    plan: TracePlan,
    ttl: u8,
) -> Result<TraceHop, String> {
    let probes = (0..plan.probes_per_hop.max(1)).map(|k| async move {
        tokio::time::sleep(PROBE_SPACING * k).await;
        probe(addr, opts, ttl).await
    });
    let probes: Vec<Probe> = join_all(probes)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let best = probes
        .iter()
        .max_by_key(|p| telling(p.answer))
        .copied()
        .unwrap_or(Probe {
            answer: HopAnswer::Silent,
            address: None,
            icmp: None,
            rtt: Duration::ZERO,
        });
    let answered = probes
        .iter()
        .filter(|p| p.answer != HopAnswer::Silent)
        .count();
    let rtt = probes
        .iter()
        .filter(|p| p.answer == best.answer)
        .map(|p| p.rtt)
        .min()
        .filter(|_| best.answer != HopAnswer::Silent);
    Ok(TraceHop {
        ttl,
        address: best.address,
        answer: best.answer,
        icmp: best.icmp.map(|(t, c)| format!("type {t} code {c}")),
        answered: u32::try_from(answered).unwrap_or(u32::MAX),
        rtt_ms: rtt.map(|d| (d.as_secs_f64() * 1e6).round() / 1e3),
    })
}

/// How much an answer tells: the destination's own answer beats an ICMP
/// refusal beats a forwarding router beats silence.
fn telling(a: HopAnswer) -> u8 {
    match a {
        HopAnswer::Open => 4,
        HopAnswer::Reset => 3,
        HopAnswer::Unreachable => 2,
        HopAnswer::TimeExceeded => 1,
        HopAnswer::Silent => 0,
    }
}

/// One TTL-limited SYN.
async fn probe(addr: SocketAddr, opts: &ConnectOptions, ttl: u8) -> Result<Probe, String> {
    let t0 = Instant::now();
    let tuning = Tuning {
        ttl: Some(u32::from(ttl)),
        mss: None,
    };
    let outcome = tcp::connect_tuned(addr, opts, tuning).await;
    let rtt = t0.elapsed();
    let dest = Some(addr.ip());
    let p = |answer, address, icmp| Probe {
        answer,
        address,
        icmp,
        rtt,
    };
    Ok(match outcome {
        Ok(_stream) => p(HopAnswer::Open, dest, None),
        Err(f) => match (f.icmp, f.status) {
            (Some(i), _) => {
                let expired = matches!((i.v6, i.icmp_type), (false, 11) | (true, 3));
                let answer = if expired {
                    HopAnswer::TimeExceeded
                } else {
                    HopAnswer::Unreachable
                };
                p(answer, i.offender, Some((i.icmp_type, i.code)))
            }
            (None, TcpStatus::Refused) => p(HopAnswer::Reset, dest, None),
            (None, TcpStatus::Timeout) => p(HopAnswer::Silent, None, None),
            (None, TcpStatus::Unreachable) => p(HopAnswer::Unreachable, None, None),
            (None, TcpStatus::Error | TcpStatus::Open) => return Err(f.detail),
        },
    })
}

/// The IPv4 default gateway of this thread's network namespace, from
/// `/proc/thread-self/net/route` (the table the kernel routes by).
pub fn default_gateway_v4() -> Option<Ipv4Addr> {
    let table = std::fs::read_to_string("/proc/thread-self/net/route")
        .or_else(|_| std::fs::read_to_string("/proc/net/route"))
        .ok()?;
    parse_default_gateway(&table)
}

/// The gateway of the lowest-metric default route in a `/proc/net/route` table.
fn parse_default_gateway(table: &str) -> Option<Ipv4Addr> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
            if f.len() < 8 || f[1] != "00000000" || f[7] != "00000000" {
                return None;
            }
            let gw = u32::from_str_radix(f[2], 16).ok().filter(|g| *g != 0)?;
            let metric: u32 = f[6].parse().ok()?;
            // The hex is the in_addr's memory read as a host-order integer:
            // its native bytes are the address in network order.
            Some((metric, Ipv4Addr::from(gw.to_ne_bytes())))
        })
        .min_by_key(|(metric, _)| *metric)
        .map(|(_, gw)| gw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_gateway_is_read_from_the_route_table() {
        let table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
s1\t00000000\t0104010A\t0003\t0\t0\t200\t00000000\t0\t0\t0\n\
s0\t00000000\t0101010A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
s0\t0001010A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        assert_eq!(
            parse_default_gateway(table),
            Some(Ipv4Addr::new(10, 1, 1, 1))
        );
        assert_eq!(parse_default_gateway("Iface\n"), None);
    }

    #[test]
    fn the_most_telling_answer_wins() {
        assert!(telling(HopAnswer::Reset) > telling(HopAnswer::TimeExceeded));
        assert!(telling(HopAnswer::Unreachable) > telling(HopAnswer::Silent));
    }
}
