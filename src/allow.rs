//! The destination allow-list: the only networks the probe may contact.
//!
//! A probe that runs in a shop must never be turned into a scanner, and a
//! probe that runs in this repository must never reach the real gateway. So
//! every destination passes through an [`AllowList`] before a single packet
//! is sent. The list is built in three layers:
//!
//! 1. the default: exactly the addresses of the target set;
//! 2. `--allow CIDR` flags or the target file's `allow` key, which *replace*
//!    the default when given;
//! 3. the `STCA2_PROBE_ALLOW` environment variable, a *ceiling*: when set,
//!    nothing outside it is ever allowed, whatever the layers above say.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// The environment variable that caps every allow-list (comma-separated CIDRs).
pub const CEILING_ENV: &str = "STCA2_PROBE_ALLOW";

/// A bad CIDR in `--allow`, a target file or `STCA2_PROBE_ALLOW`.
#[derive(Debug, thiserror::Error)]
#[error("`{text}` is not a network: write an address or a CIDR such as 127.0.0.0/8 or ::1/128")]
pub struct CidrError {
    /// The text that failed to parse.
    pub text: String,
}

/// Parses `10.0.0.0/8`, `127.0.38.45` (a single host) or `::1`.
pub fn parse_cidr(text: &str) -> Result<IpNet, CidrError> {
    let t = text.trim();
    if let Ok(net) = IpNet::from_str(t) {
        return Ok(net.trunc());
    }
    IpAddr::from_str(t).map(IpNet::from).map_err(|_| CidrError {
        text: text.to_string(),
    })
}

/// Parses a comma-separated list of CIDRs, ignoring empty items.
pub fn parse_cidr_list(text: &str) -> Result<Vec<IpNet>, CidrError> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(parse_cidr)
        .collect()
}

/// Why a destination was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Outside the allow-list given by flags, target file or the default.
    #[error(
        "{addr} is outside the allow-list ({list}); pass --allow with a network that contains it"
    )]
    NotAllowed {
        /// The refused destination.
        addr: IpAddr,
        /// The allow-list, for the message.
        list: String,
    },
    /// Outside the `STCA2_PROBE_ALLOW` ceiling, which no flag can lift.
    #[error(
        "{addr} is outside STCA2_PROBE_ALLOW ({list}); no flag can lift that ceiling: change the environment if this destination is really wanted"
    )]
    AboveCeiling {
        /// The refused destination.
        addr: IpAddr,
        /// The ceiling, for the message.
        list: String,
    },
}

/// The networks the probe may contact, with an optional ceiling over them.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    allowed: Vec<IpNet>,
    ceiling: Option<Vec<IpNet>>,
}

impl AllowList {
    /// An allow-list of `allowed`, capped by `ceiling` when it is `Some`.
    pub fn new(allowed: Vec<IpNet>, ceiling: Option<Vec<IpNet>>) -> Self {
        AllowList { allowed, ceiling }
    }

    /// Reads the ceiling from `STCA2_PROBE_ALLOW`; `None` when unset or empty.
    pub fn ceiling_from_env() -> Result<Option<Vec<IpNet>>, CidrError> {
        match std::env::var(CEILING_ENV) {
            Ok(v) if !v.trim().is_empty() => parse_cidr_list(&v).map(Some),
            _ => Ok(None),
        }
    }

    /// Checks one destination, the ceiling first.
    pub fn check(&self, addr: IpAddr) -> Result<(), Refusal> {
        let addr = canonical(addr);
        if let Some(ceiling) = &self.ceiling
            && !ceiling.iter().any(|n| n.contains(&addr))
        {
            return Err(Refusal::AboveCeiling {
                addr,
                list: join(ceiling),
            });
        }
        if self.allowed.iter().any(|n| n.contains(&addr)) {
            Ok(())
        } else {
            Err(Refusal::NotAllowed {
                addr,
                list: join(&self.allowed),
            })
        }
    }

    /// The networks allowed before the ceiling is applied.
    pub fn allowed(&self) -> &[IpNet] {
        &self.allowed
    }

    /// The ceiling, when one is set.
    pub fn ceiling(&self) -> Option<&[IpNet]> {
        self.ceiling.as_deref()
    }
}

impl fmt::Display for AllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", join(&self.allowed))?;
        if let Some(c) = &self.ceiling {
            write!(f, " (ceiling {})", join(c))?;
        }
        Ok(())
    }
}

/// IPv4-mapped IPv6 addresses are checked as the IPv4 address they carry.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn join(nets: &[IpNet]) -> String {
    if nets.is_empty() {
        return "nothing".to_string();
    }
    nets.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &str) -> Vec<IpNet> {
        parse_cidr_list(s).unwrap()
    }

    #[test]
    fn table() {
        let cases: &[(&str, Option<&str>, &str, bool)] = &[
            ("127.0.0.0/8", None, "127.0.38.45", true),
            ("127.0.0.0/8", None, "194.50.38.45", false),
            (
                "0.0.0.0/0",
                Some("127.0.0.0/8,10.0.0.0/8"),
                "194.50.38.45",
                false,
            ),
            (
                "0.0.0.0/0",
                Some("127.0.0.0/8,10.0.0.0/8"),
                "10.1.2.3",
                true,
            ),
            ("127.0.38.45", None, "127.0.38.45", true),
            ("127.0.38.45", None, "127.0.38.173", false),
            ("::1", None, "::1", true),
            ("127.0.0.0/8", None, "::ffff:127.0.0.1", true),
            ("", None, "127.0.0.1", false),
        ];
        for (allowed, ceiling, addr, ok) in cases {
            let list = AllowList::new(nets(allowed), ceiling.map(nets));
            let addr: IpAddr = addr.parse().unwrap();
            assert_eq!(
                list.check(addr).is_ok(),
                *ok,
                "{allowed} / {ceiling:?} / {addr}"
            );
        }
    }

    #[test]
    fn ceiling_message_says_no_flag_lifts_it() {
        let list = AllowList::new(nets("0.0.0.0/0"), Some(nets("127.0.0.0/8")));
        let err = list.check("194.50.38.45".parse().unwrap()).unwrap_err();
        assert!(matches!(err, Refusal::AboveCeiling { .. }));
        assert!(err.to_string().contains("STCA2_PROBE_ALLOW"));
    }

    #[test]
    fn bad_cidr() {
        assert!(parse_cidr("300.1.1.1/8").is_err());
        assert!(parse_cidr("lab").is_err());
        assert_eq!(parse_cidr("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
    }
}
