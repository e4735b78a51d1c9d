//! `path_stop`: where the path to a port that did not open stops, read from
//! its TCP traceroute (`check --trace`). Pure: the hops, the default
//! gateway and, as a yardstick, the distance at which another port of the
//! same site answered.
//!
//! * An ICMP error refused the connection (`refused_by`, from the check's
//!   own attempts or the trace's probes): the path stops at the router
//!   that sent it — the box when it is the probe's default gateway (or
//!   the hop 1 router), else the ISP or beyond. Its address decides, not
//!   the last hop the trace heard: a router rate-limits its ICMP errors
//!   (Linux: 5 at once, then one a second, for a missing route), so after
//!   the check's attempts the trace often finds the refusing router
//!   silent, and the last hop heard is the box that forwarded.
//! * No hop answered past the last router that forwarded: the path stops
//!   there — at the box when that is hop 1 or the probe's default gateway,
//!   else at the ISP or beyond.
//! * A reset at TTL d: from the gateway itself — unless another port of the
//!   same site answered from further away, in which case a firewall at hop
//!   d - 1 answered in the gateway's name (`reject with tcp reset`).
//! * Nothing answered at all: unknown.

use std::net::IpAddr;

use stca2_report::{
    FindingFacts, HopAnswer, PathStopAt, PathTrace, TargetResult, TcpStatus, TraceHop,
};

use super::Scope;
use crate::verdict::{dns_failed, measured_closed};

pub(super) fn rule(scope: &Scope<'_>, r: &TargetResult) -> Option<FindingFacts> {
    let trace = r.trace.as_ref()?;
    if !measured_closed(r) || dns_failed(r) || r.tcp.status == TcpStatus::Error {
        return None;
    }
    let yardstick = scope
        .sites
        .iter()
        .filter(|s| s.name == r.site)
        .flat_map(|s| s.results.iter())
        .filter_map(|o| o.trace.as_ref())
        .filter(|t| t.hops.iter().any(|h| h.answer == HopAnswer::Open))
        .filter_map(|t| t.reached_at)
        .max();
    let (at, hop, address, how) = stop(trace, yardstick);
    Some(FindingFacts::PathStop {
        target: scope.sites.target(r),
        at,
        hop,
        address,
        how,
    })
}

/// Where a path stops: the place, the blocking hop's TTL and address, and how it shows.
pub type Stop = (PathStopAt, Option<u8>, Option<IpAddr>, HopAnswer);

/// Where a trace stops: the place, the blocking hop's TTL and address, and how it shows.
/// `yardstick`: the TTL at which another port of the same host answered open.
pub fn stop(trace: &PathTrace, yardstick: Option<u8>) -> Stop {
    let at_hop = |h: &TraceHop, how| {
        let is_box = h.ttl <= 1 || (h.address.is_some() && h.address == trace.default_gateway);
        let at = if is_box {
            PathStopAt::Box
        } else {
            PathStopAt::BeyondBox
        };
        (at, Some(h.ttl), h.address, how)
    };
    if let Some(from) = trace.refused_by {
        return refused_by(trace, from);
    }
    let Some(last) = trace.last_answering_hop.as_ref() else {
        return (PathStopAt::Unknown, None, None, HopAnswer::Silent);
    };
    match last.answer {
        HopAnswer::Reset => match yardstick {
            Some(far) if far > last.ttl => {
                // Answered in the gateway's name from closer by: the hop
                // before (the last to forward) rejects with a reset.
                let before = trace
                    .hops
                    .iter()
                    .find(|h| h.ttl.checked_add(1) == Some(last.ttl));
                match before {
                    Some(b) if b.answer == HopAnswer::TimeExceeded => at_hop(b, HopAnswer::Reset),
                    _ => (
                        PathStopAt::Box,
                        Some(1),
                        trace.default_gateway,
                        HopAnswer::Reset,
                    ),
                }
            }
            _ => (
                PathStopAt::Destination,
                Some(last.ttl),
                last.address,
                HopAnswer::Reset,
            ),
        },
        HopAnswer::Unreachable => {
            // The router that sent the ICMP refusal: by its address when it
            // is the box, else the hop it answered for.
            at_hop(last, HopAnswer::Unreachable)
        }
        HopAnswer::TimeExceeded => at_hop(last, HopAnswer::Silent),
        // An open port's trace: no stop (the rule only runs on closed ones).
        HopAnswer::Open | HopAnswer::Silent => (
            PathStopAt::Destination,
            Some(last.ttl),
            last.address,
            last.answer,
        ),
    }
}

/// The path stops at `from`, the router whose ICMP error refused the
/// connection: named by the TTL at which the trace saw it (refusing, or
/// forwarding at an earlier TTL), when it did.
fn refused_by(trace: &PathTrace, from: IpAddr) -> Stop {
    let seen = trace
        .hops
        .iter()
        .filter(|h| h.address == Some(from))
        .filter(|h| matches!(h.answer, HopAnswer::TimeExceeded | HopAnswer::Unreachable))
        .map(|h| h.ttl)
        .min();
    let at = if Some(from) == trace.default_gateway || seen == Some(1) {
        PathStopAt::Box
    } else {
        PathStopAt::BeyondBox
    };
    (at, seen, Some(from), HopAnswer::Unreachable)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOX: &str = "10.1.1.1";
    const ISP: &str = "10.1.2.2";
    const GW: &str = "10.1.3.45";

    fn h(ttl: u8, answer: HopAnswer, from: Option<&str>) -> TraceHop {
        TraceHop {
            ttl,
            address: from.map(|a| a.parse().unwrap()),
            answer,
            icmp: None,
            answered: u32::from(answer != HopAnswer::Silent),
            rtt_ms: None,
        }
    }

    fn t(hops: Vec<TraceHop>) -> PathTrace {
        PathTrace {
            last_answering_hop: hops
                .iter()
                .rev()
                .find(|h| h.answer != HopAnswer::Silent)
                .cloned(),
            reached_at: hops
                .iter()
                .find(|h| matches!(h.answer, HopAnswer::Open | HopAnswer::Reset))
                .map(|h| h.ttl),
            hops,
            default_gateway: Some(BOX.parse().unwrap()),
            refused_by: None,
            probes_per_hop: 3,
            max_hops: 16,
        }
    }

    #[test]
    fn where_the_path_stops() {
        use HopAnswer::*;
        let ip = |a: &str| Some(a.parse::<IpAddr>().unwrap());
        let mut cases: Vec<(&str, PathTrace, Option<u8>, Stop)> = vec![
            (
                "the box drops",
                t(vec![
                    h(1, TimeExceeded, Some(BOX)),
                    h(2, Silent, None),
                    h(3, Silent, None),
                ]),
                None,
                (PathStopAt::Box, Some(1), ip(BOX), Silent),
            ),
            (
                "the ISP drops",
                t(vec![
                    h(1, TimeExceeded, Some(BOX)),
                    h(2, TimeExceeded, Some(ISP)),
                    h(3, Silent, None),
                ]),
                None,
                (PathStopAt::BeyondBox, Some(2), ip(ISP), Silent),
            ),
            (
                "the box answers admin-prohibited for TTL 2",
                t(vec![
                    h(1, TimeExceeded, Some(BOX)),
                    h(2, Unreachable, Some(BOX)),
                ]),
                None,
                (PathStopAt::Box, Some(2), ip(BOX), Unreachable),
            ),
            (
                "the ISP has no route",
                t(vec![
                    h(1, TimeExceeded, Some(BOX)),
                    h(2, Unreachable, Some(ISP)),
                ]),
                None,
                (PathStopAt::BeyondBox, Some(2), ip(ISP), Unreachable),
            ),
            (
                "the gateway's port is closed",
                t(vec![
                    h(1, TimeExceeded, Some(BOX)),
                    h(2, TimeExceeded, Some(ISP)),
                    h(3, Reset, Some(GW)),
                ]),
                Some(3),
                (PathStopAt::Destination, Some(3), ip(GW), Reset),
            ),
            (
                "the box resets in the gateway's name",
                t(vec![h(1, TimeExceeded, Some(BOX)), h(2, Reset, Some(GW))]),
                Some(3),
                (PathStopAt::Box, Some(1), ip(BOX), Reset),
            ),
            (
                "a reset with no yardstick is the gateway's",
                t(vec![h(1, TimeExceeded, Some(BOX)), h(2, Reset, Some(GW))]),
                None,
                (PathStopAt::Destination, Some(2), ip(GW), Reset),
            ),
            (
                "nothing answers",
                t(vec![
                    h(1, Silent, None),
                    h(2, Silent, None),
                    h(3, Silent, None),
                ]),
                None,
                (PathStopAt::Unknown, None, None, Silent),
            ),
        ];
        // The check's own attempts were refused by ICMP; the refusing
        // router, rate-limited, kept silent for the trace.
        let refused = |hops, from: &str| PathTrace {
            refused_by: from.parse().ok(),
            ..t(hops)
        };
        cases.extend([
            (
                "the ISP has no route, and is silent for the trace",
                refused(
                    vec![
                        h(1, TimeExceeded, Some(BOX)),
                        h(2, Silent, None),
                        h(3, Silent, None),
                    ],
                    ISP,
                ),
                None,
                (PathStopAt::BeyondBox, None, ip(ISP), Unreachable),
            ),
            (
                "the ISP has no route, seen forwarding an earlier probe",
                refused(
                    vec![
                        h(1, TimeExceeded, Some(BOX)),
                        h(2, TimeExceeded, Some(ISP)),
                        h(3, Silent, None),
                    ],
                    ISP,
                ),
                None,
                (PathStopAt::BeyondBox, Some(2), ip(ISP), Unreachable),
            ),
            (
                "the box refuses, by its address",
                refused(
                    vec![h(1, Silent, None), h(2, Silent, None), h(3, Silent, None)],
                    BOX,
                ),
                None,
                (PathStopAt::Box, None, ip(BOX), Unreachable),
            ),
            (
                "the box refuses from another of its addresses, seen at hop 1",
                refused(
                    vec![
                        h(1, TimeExceeded, Some("10.1.9.1")),
                        h(2, Unreachable, Some("10.1.9.1")),
                    ],
                    "10.1.9.1",
                ),
                None,
                (PathStopAt::Box, Some(1), ip("10.1.9.1"), Unreachable),
            ),
        ]);
        for (name, trace, yardstick, want) in cases {
            assert_eq!(stop(&trace, yardstick), want, "{name}");
        }
    }
}
