//! One function per finding code.

use stca2_report::{
    CaFamily, DnsStatus, FindingFacts, Intercepted, NotMeasuredReason, TargetRef, TcpStatus,
    TlsStatus,
};

use crate::{CEILING_ENV, list};

pub(crate) fn render(f: &FindingFacts) -> Option<String> {
    Some(match f {
        FindingFacts::NotMeasured { target, reason } => not_measured(target, reason),
        FindingFacts::DnsFailed {
            target,
            status,
            detail,
        } => dns_failed(target, *status, detail.as_deref()),
        FindingFacts::PortClosed {
            target,
            tcp,
            detail,
        } => port_closed(target, *tcp, detail.as_deref()),
        FindingFacts::TlsFailed {
            target,
            tls,
            alert,
            detail,
        } => tls_failed(target, *tls, alert.as_deref(), detail.as_deref()),
        FindingFacts::ClientAuth { target, ca_names } => client_auth(target, ca_names),
        FindingFacts::OldCa { target, issuer } => old_ca(target, issuer.as_deref()),
        FindingFacts::Interception(i) => interception(i),
        FindingFacts::Expired {
            target,
            subject,
            days_to_expiry,
        } => expired(target, subject.as_deref(), *days_to_expiry),
        FindingFacts::Expiring {
            target,
            subject,
            days_to_expiry,
        } => expiring(target, subject.as_deref(), *days_to_expiry),
        FindingFacts::AnchorsMissing => anchors_missing(),
        FindingFacts::Unknown => return None,
    })
}

/// "127.0.38.45:1146 (site 1, toulouse, stca2 port)".
pub fn at(t: &TargetRef) -> String {
    format!(
        "{} (site {}, {}, {} port)",
        t.endpoint(),
        t.site_number,
        t.site,
        t.service.as_str()
    )
}

/// " (detail)", or nothing.
fn aside(detail: Option<&str>) -> String {
    detail.map(|d| format!(" ({d})")).unwrap_or_default()
}

const NOTHING_KNOWN: &str = "this says nothing about the merchant's router";

/// `not_measured`: the probe did not measure a target, and what to fix on its side.
pub fn not_measured(t: &TargetRef, reason: &NotMeasuredReason) -> String {
    let why = match reason {
        NotMeasuredReason::DnsRefused { addresses, detail } if addresses.is_empty() => {
            format!("refused by the allow-list: {detail}. Nothing was sent; {NOTHING_KNOWN}.")
        }
        NotMeasuredReason::DnsRefused { addresses, detail } => {
            let ips: Vec<String> = addresses.iter().map(|ip| ip.to_string()).collect();
            format!(
                "refused by the allow-list: the name {} resolved to {}, outside the allow-list, so nothing was sent to it ({detail}). Pass --allow with the gateway's network if that address is right; {NOTHING_KNOWN}.",
                t.address,
                list(&ips)
            )
        }
        NotMeasuredReason::AllowList { detail } => format!(
            "the probe refused to contact it ({detail}). Fix the allow-list on the probe side (--allow, the target file's `allow`, or {CEILING_ENV}); {NOTHING_KNOWN}."
        ),
        NotMeasuredReason::Local { detail } => format!(
            "the connection could not be made from this machine ({detail}). Fix the probe's setup (--source, --interface, or this machine's network configuration) and check again; {NOTHING_KNOWN}."
        ),
    };
    format!("{} was not measured: {why}", at(t))
}

/// `dns_failed`: the shop's DNS did not resolve the gateway's name.
pub fn dns_failed(t: &TargetRef, status: DnsStatus, detail: Option<&str>) -> String {
    let status = match status {
        DnsStatus::Ok => "ok",
        DnsStatus::Nxdomain => "nxdomain",
        DnsStatus::Timeout => "timeout",
        DnsStatus::Error => "error",
        DnsStatus::Refused => "refused",
    };
    format!(
        "{} could not be resolved ({status}{}): check the shop's DNS settings, or use the gateway's IP address.",
        t.address,
        detail.map(|x| format!(": {x}")).unwrap_or_default()
    )
}

/// `port_closed`: TCP does not open, and why that usually is.
pub fn port_closed(t: &TargetRef, tcp: TcpStatus, detail: Option<&str>) -> String {
    let detail = aside(detail);
    let why = match tcp {
        // The probe's detail for a timeout or a reset says what the
        // sentence says: only ICMP reasons and odd errors add to it.
        TcpStatus::Timeout => String::from(
            "no answer to the connection request: a router or firewall on the way silently drops it, typically the merchant's box blocking the port",
        ),
        TcpStatus::Refused => String::from(
            "the connection was refused with a TCP reset: a router or firewall rejects it, or nothing listens at that address and port",
        ),
        TcpStatus::Unreachable => format!(
            "an ICMP unreachable message came back{detail}: a router on the way refuses the destination (administratively prohibited) or has no route to it"
        ),
        TcpStatus::Error | TcpStatus::Open => {
            format!("the connection could not be made{detail}")
        }
    };
    format!(
        "{} does not open at TCP: {why}. Open outbound TCP to {} on the merchant's router.",
        at(t),
        t.endpoint()
    )
}

/// `tls_failed`: TCP opens, the handshake does not complete.
pub fn tls_failed(
    t: &TargetRef,
    tls: Option<TlsStatus>,
    alert: Option<&str>,
    detail: Option<&str>,
) -> String {
    let detail = aside(detail);
    let why = match tls {
        None => return format!("{} opens at TCP but no TLS result was recorded.", at(t)),
        Some(TlsStatus::ClientAuthRequired) => format!(
            "the server asked for a client certificate{detail}, which the gateway does only on the declaration port"
        ),
        Some(TlsStatus::Alert) => format!(
            "the server or a middlebox sent the TLS alert {}{detail}",
            alert.unwrap_or("(unnamed)")
        ),
        Some(TlsStatus::Reset) => String::from(
            "the connection was reset during the handshake; a reset right after the ClientHello often means a filtering middlebox on the merchant's network",
        ),
        Some(TlsStatus::Eof) => String::from(
            "the connection was closed during the handshake: something accepts TCP there but does not speak TLS to the probe (a proxy or a filter)",
        ),
        Some(TlsStatus::Timeout) => String::from(
            "TCP opens but the TLS handshake never got an answer within the timeout: a silent middlebox, a service that is not running, or a path-MTU black hole (a link with a smaller MTU, such as PPPoE or a VPN, whose ICMP \"fragmentation needed\" messages are blocked, so the server's certificate never arrives; try lowering the router's MTU or enabling MSS clamping)",
        ),
        Some(TlsStatus::Error | TlsStatus::Ok) => format!("the TLS handshake failed{detail}"),
    };
    format!("{}: {why}.", at(t))
}

/// `client_auth`: the declaration port asked for a client certificate, as expected.
pub fn client_auth(t: &TargetRef, ca_names: &[String]) -> String {
    let accepted = if ca_names.is_empty() {
        String::new()
    } else {
        format!(" Accepted CAs: {}.", ca_names.join("; "))
    };
    format!(
        "{} asked for a client certificate, as a real gateway does on the declaration port; the terminal presents its own.{accepted}",
        at(t)
    )
}

/// `old_ca`: the old STCA chain is still presented.
pub fn old_ca(t: &TargetRef, issuer: Option<&str>) -> String {
    format!(
        "{} presents the old STCA chain (issued by {}): the gateway, or a proxy in front of it, is not on STCA2 yet. Terminals migrated to STCA2 will refuse it.",
        at(t),
        issuer.unwrap_or("the STCA authority")
    )
}

const EXEMPT: &str =
    "Ask the merchant or the ISP to exempt the gateway addresses from TLS inspection.";

/// `interception`: a chain of no family, or a forged one.
pub fn interception(i: &Intercepted) -> String {
    match i.forged {
        Some(f) => forged(&i.target, f),
        None => format!(
            "{}: suspected TLS interception by a middlebox on the merchant's network; the certificate was issued by {}. {EXEMPT}",
            at(&i.target),
            i.issuer.as_deref().unwrap_or("an unknown issuer")
        ),
    }
}

fn forged(t: &TargetRef, family: CaFamily) -> String {
    format!(
        "{}: the chain claims to be {family} but its signatures do not verify — a forged chain, suspected interception by a middlebox on the merchant's network. {EXEMPT}",
        at(t)
    )
}

const LEAF: &str = "the leaf certificate";

/// `expired`: a presented certificate has expired.
pub fn expired(t: &TargetRef, subject: Option<&str>, days_to_expiry: i64) -> String {
    format!(
        "{} presents an expired certificate ({}, expired {} days ago): terminals will refuse it; tell the gateway operator.",
        at(t),
        subject.unwrap_or(LEAF),
        -days_to_expiry
    )
}

/// `expiring`: the STCA2 chain expires within the warning window.
pub fn expiring(t: &TargetRef, subject: Option<&str>, days_to_expiry: i64) -> String {
    format!(
        "The STCA2 chain on {} expires in {days_to_expiry} days ({}): tell the gateway operator before it does.",
        at(t),
        subject.unwrap_or(LEAF)
    )
}

/// `anchors_missing`: no CA anchors, so no family can be told.
pub fn anchors_missing() -> String {
    "The STCA2 and STCA anchor files of the target set are missing, so the CA family of a \
     certificate cannot be told (this is not a sign of interception). Reachability is \
     still checked; add the anchor files and run the check again."
        .to_string()
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
        assert_eq!(at(&target("::1")), "[::1]:1146 (site 3, lyon, stca2 port)");
        let m = port_closed(
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
        let m = expired(&target("gw.example"), None, -2);
        assert!(
            m.contains("(the leaf certificate, expired 2 days ago)"),
            "{m}"
        );
        let m = not_measured(
            &target("gw.example"),
            &NotMeasuredReason::AllowList {
                detail: "outside the allow-list".into(),
            },
        );
        assert!(m.contains(CEILING_ENV), "{m}");
    }
}
