//! One message (or a few) per finding code (`finding-*` in `verdict.ftl`).
//!
//! A new finding code gets: a `FindingFacts` variant in stca2-report, an arm
//! in [`render`] that names its message and passes the facts as arguments,
//! and the message in `i18n/en/verdict.ftl` and `i18n/fr/verdict.ftl` (the
//! tests fail until both languages have it with the same variables).

use std::net::IpAddr;

use stca2_report::{
    DnsStatus, FindingFacts, HopAnswer, NotMeasuredReason, PathStopAt, TargetRef, TcpStatus,
    TlsStatus,
};

use crate::{CEILING_ENV, Words, args};

pub(crate) fn render(w: &Words, f: &FindingFacts) -> Option<String> {
    Some(match f {
        FindingFacts::NotMeasured { target, reason } => not_measured(w, target, reason),
        FindingFacts::DnsFailed {
            target,
            status,
            detail,
        } => {
            let status = match status {
                DnsStatus::Ok => "ok",
                DnsStatus::Nxdomain => "nxdomain",
                DnsStatus::Timeout => "timeout",
                DnsStatus::Error => "error",
                DnsStatus::Refused => "refused",
            };
            let mut a = args!("address" => target.address.as_str(), "status" => status);
            match detail {
                Some(d) => {
                    a.set("detail", d.as_str());
                    w.text("finding-dns-failed-detail", Some(&a))
                }
                None => w.text("finding-dns-failed", Some(&a)),
            }
        }
        FindingFacts::PortClosed {
            target,
            tcp,
            detail,
        } => port_closed(w, target, *tcp, detail.as_deref()),
        FindingFacts::TlsFailed {
            target,
            tls,
            alert,
            detail,
        } => tls_failed(w, target, *tls, alert.as_deref(), detail.as_deref()),
        FindingFacts::ClientAuth { target, ca_names } => {
            let accepted = if ca_names.is_empty() {
                String::new()
            } else {
                w.text(
                    "finding-client-auth-cas",
                    Some(&args!("cas" => ca_names.join("; "))),
                )
            };
            w.text(
                "finding-client-auth",
                Some(&args!("at" => w.at(target), "accepted" => accepted)),
            )
        }
        FindingFacts::OldCa { target, issuer } => w.text(
            "finding-old-ca",
            Some(&args!(
                "at" => w.at(target),
                "issuer" => issuer
                    .clone()
                    .unwrap_or_else(|| w.text("finding-old-ca-issuer", None)),
            )),
        ),
        FindingFacts::Interception(i) => match i.forged {
            Some(family) => w.text(
                "finding-interception-forged",
                Some(&args!("at" => w.at(&i.target), "family" => family.to_string())),
            ),
            None => w.text(
                "finding-interception",
                Some(&args!(
                    "at" => w.at(&i.target),
                    "issuer" => i
                        .issuer
                        .clone()
                        .unwrap_or_else(|| w.text("unknown-issuer", None)),
                )),
            ),
        },
        FindingFacts::Expired {
            target,
            subject,
            days_to_expiry,
        } => expiry(
            w,
            "finding-expired",
            target,
            subject.as_deref(),
            -days_to_expiry,
        ),
        FindingFacts::Expiring {
            target,
            subject,
            days_to_expiry,
        } => expiry(
            w,
            "finding-expiring",
            target,
            subject.as_deref(),
            *days_to_expiry,
        ),
        FindingFacts::AnchorsMissing => w.text("finding-anchors-missing", None),
        FindingFacts::PathStop {
            target,
            at,
            hop,
            address,
            how,
        } => path_stop(
            w,
            &w.at(target),
            &w.endpoint(target),
            *at,
            *hop,
            *address,
            *how,
        ),
        FindingFacts::PathMtu { target, mss } => match mss {
            Some(mss) => w.text(
                "finding-path-mtu",
                Some(&args!("at" => w.at(target), "mss" => mss.to_string())),
            ),
            None => w.text(
                "finding-path-mtu-silent",
                Some(&args!("at" => w.at(target))),
            ),
        },
        FindingFacts::Unknown => return None,
    })
}

fn expiry(w: &Words, id: &str, t: &TargetRef, subject: Option<&str>, days: i64) -> String {
    w.text(
        id,
        Some(&args!(
            "at" => w.at(t),
            "subject" => subject.map_or_else(|| w.text("finding-leaf", None), str::to_string),
            "days" => days,
        )),
    )
}

/// " (detail)", or nothing.
fn aside(w: &Words, detail: Option<&str>) -> String {
    detail
        .map(|d| w.text("detail-aside", Some(&args!("detail" => d))))
        .unwrap_or_default()
}

/// `not_measured`: the probe did not measure a target, and what to fix on its side.
fn not_measured(w: &Words, t: &TargetRef, reason: &NotMeasuredReason) -> String {
    let why = match reason {
        NotMeasuredReason::DnsRefused { addresses, detail } if addresses.is_empty() => w.text(
            "finding-not-measured-dns-refused-nothing",
            Some(&args!("detail" => detail.as_str())),
        ),
        NotMeasuredReason::DnsRefused { addresses, detail } => {
            let ips: Vec<String> = addresses.iter().map(|ip| ip.to_string()).collect();
            w.text(
                "finding-not-measured-dns-refused",
                Some(&args!(
                    "address" => t.address.as_str(),
                    "ips" => w.list(&ips),
                    "detail" => detail.as_str(),
                )),
            )
        }
        NotMeasuredReason::AllowList { detail } => w.text(
            "finding-not-measured-allow-list",
            Some(&args!("detail" => detail.as_str(), "ceiling" => CEILING_ENV)),
        ),
        NotMeasuredReason::Local { detail } => w.text(
            "finding-not-measured-local",
            Some(&args!("detail" => detail.as_str())),
        ),
    };
    w.text(
        "finding-not-measured",
        Some(&args!("at" => w.at(t), "why" => why)),
    )
}

/// `port_closed`: TCP does not open, and why that usually is.
fn port_closed(w: &Words, t: &TargetRef, tcp: TcpStatus, detail: Option<&str>) -> String {
    // The probe's detail for a timeout or a reset says what the sentence
    // says: only ICMP reasons and odd errors add to it.
    let why = match tcp {
        TcpStatus::Timeout => w.text("finding-port-closed-timeout", None),
        TcpStatus::Refused => w.text("finding-port-closed-refused", None),
        TcpStatus::Unreachable => w.text(
            "finding-port-closed-unreachable",
            Some(&args!("aside" => aside(w, detail))),
        ),
        TcpStatus::Error | TcpStatus::Open => w.text(
            "finding-port-closed-error",
            Some(&args!("aside" => aside(w, detail))),
        ),
    };
    w.text(
        "finding-port-closed",
        Some(&args!("at" => w.at(t), "why" => why, "endpoint" => w.endpoint(t))),
    )
}

/// "hop 2 (10.1.2.2)", "hop 2", "10.1.2.2" or "an unnamed hop" (`path-hop*`).
fn hop_label(w: &Words, hop: Option<u8>, address: Option<IpAddr>) -> String {
    match (hop, address) {
        (Some(h), Some(a)) => w.text(
            "path-hop",
            Some(&args!("hop" => h.to_string(), "address" => a.to_string())),
        ),
        (Some(h), None) => w.text("path-hop-ttl", Some(&args!("hop" => h.to_string()))),
        (None, Some(a)) => w.text("path-hop-address", Some(&args!("address" => a.to_string()))),
        (None, None) => w.text("path-hop-unnamed", None),
    }
}

/// Where the path to `what` (the endpoint `endpoint`, as a sentence names
/// it) stops and who must act: the sentence of the `path_stop` finding and
/// of `stca2-probe trace`.
pub fn path_stop(
    w: &Words,
    what: &str,
    endpoint: &str,
    stop: PathStopAt,
    hop: Option<u8>,
    address: Option<IpAddr>,
    how: HopAnswer,
) -> String {
    let how = match how {
        HopAnswer::Unreachable => "path-how-unreachable",
        HopAnswer::Reset => "path-how-reset",
        HopAnswer::Silent | HopAnswer::TimeExceeded | HopAnswer::Open => "path-how-silent",
    };
    let id = match stop {
        PathStopAt::Box => "finding-path-stop-box",
        PathStopAt::BeyondBox => "finding-path-stop-beyond-box",
        PathStopAt::Destination => "finding-path-stop-destination",
        PathStopAt::Unknown => "finding-path-stop-unknown",
    };
    w.text(
        id,
        Some(&args!(
            "what" => what,
            "endpoint" => endpoint,
            "hop" => hop_label(w, hop, address),
            "how" => w.text(how, None),
        )),
    )
}

/// `stca2-probe trace`: the path reaches the port and it is open.
pub fn trace_open(w: &Words, endpoint: &str, ttl: u8) -> String {
    w.text(
        "trace-open",
        Some(&args!("endpoint" => endpoint, "ttl" => ttl.to_string())),
    )
}

/// `tls_failed`: TCP opens, the handshake does not complete.
fn tls_failed(
    w: &Words,
    t: &TargetRef,
    tls: Option<TlsStatus>,
    alert: Option<&str>,
    detail: Option<&str>,
) -> String {
    let with_aside = |id: &str| w.text(id, Some(&args!("aside" => aside(w, detail))));
    let why = match tls {
        None => {
            return w.text(
                "finding-tls-failed-no-result",
                Some(&args!("at" => w.at(t))),
            );
        }
        Some(TlsStatus::ClientAuthRequired) => with_aside("finding-tls-failed-client-auth"),
        Some(TlsStatus::Alert) => w.text(
            "finding-tls-failed-alert",
            Some(&args!(
                "alert" => alert.map_or_else(
                    || w.text("finding-tls-failed-unnamed-alert", None),
                    str::to_string,
                ),
                "aside" => aside(w, detail),
            )),
        ),
        Some(TlsStatus::Reset) => w.text("finding-tls-failed-reset", None),
        Some(TlsStatus::Eof) => w.text("finding-tls-failed-eof", None),
        Some(TlsStatus::Timeout) => w.text("finding-tls-failed-timeout", None),
        Some(TlsStatus::Error | TlsStatus::Ok) => with_aside("finding-tls-failed-error"),
        // Never a finding (a TCP-only check); said plainly should a reader ask.
        Some(TlsStatus::NotAttempted) => with_aside("finding-tls-failed-not-attempted"),
    };
    w.text(
        "finding-tls-failed",
        Some(&args!("at" => w.at(t), "why" => why)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use stca2_report::Service;

    fn target(address: &str) -> TargetRef {
        TargetRef {
            site: "lyon".into(),
            site_number: 3,
            address: address.into(),
            port: 1146,
            service: Service::Stca2,
        }
    }

    #[test]
    fn a_target_is_named_with_its_site_and_service() {
        let en = Words::new(crate::Lang::En);
        assert_eq!(
            en.at(&target("::1")),
            "[::1]:1146 (site 3, lyon, stca2 port)"
        );
        let m = port_closed(
            &en,
            &target("::1"),
            TcpStatus::Unreachable,
            Some("host prohibited"),
        );
        assert!(
            m.contains("ICMP unreachable message came back (host prohibited)"),
            "{m}"
        );
        assert!(
            m.ends_with("Open outbound TCP to [::1]:1146 on the merchant's router."),
            "{m}"
        );
        let m = expiry(&en, "finding-expired", &target("gw.example"), None, 2);
        assert!(
            m.contains("(the leaf certificate, expired 2 days ago)"),
            "{m}"
        );
        let m = not_measured(
            &en,
            &target("gw.example"),
            &NotMeasuredReason::AllowList {
                detail: "outside the allow-list".into(),
            },
        );
        assert!(m.contains(CEILING_ENV), "{m}");

        let fr = Words::new(crate::Lang::Fr);
        assert_eq!(
            fr.at(&target("::1")),
            "[::1]:1146 (site 3, lyon, port STCA2)"
        );
        let m = port_closed(&fr, &target("194.50.38.45"), TcpStatus::Timeout, None);
        assert!(
            m.ends_with(
                "Ouvrez en sortie le port TCP 1146 vers 194.50.38.45 sur la box du commerçant."
            ),
            "{m}"
        );
    }
}
