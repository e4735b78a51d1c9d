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
//!    nothing outside it is ever allowed, whatever the layers above say. Set
//!    but blank (`STCA2_PROBE_ALLOW=`) means "allow nothing", and a value
//!    that is not UTF-8 is an error: a guard that cannot be read must never
//!    quietly switch itself off.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) and networks inside
//! `::ffff:0:0/96` are checked as the IPv4 addresses they carry, so a
//! mapped spelling can neither slip past a ceiling nor be refused by an
//! allow-list that names the IPv4 network.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net};
use stca2_words::{Words, args};

/// The environment variable that caps every allow-list (comma-separated CIDRs).
pub const CEILING_ENV: &str = "STCA2_PROBE_ALLOW";

/// A bad CIDR in `--allow`, a target file or `STCA2_PROBE_ALLOW`.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.said(Words::english()))]
pub struct CidrError {
    /// The text that failed to parse.
    pub text: String,
}

impl CidrError {
    /// The error in `words`' language (`cidr-invalid`).
    pub fn said(&self, words: Words) -> String {
        words.text("cidr-invalid", Some(&args!("text" => self.text.as_str())))
    }
}

impl CeilingError {
    /// The error in `words`' language (`ceiling-*`).
    pub fn said(&self, words: Words) -> String {
        match self {
            CeilingError::NotUnicode => words.text(
                "ceiling-not-unicode",
                Some(&args!("variable" => CEILING_ENV)),
            ),
            CeilingError::Cidr(e) => words.text(
                "ceiling-invalid",
                Some(&args!("variable" => CEILING_ENV, "error" => e.said(words))),
            ),
        }
    }
}

/// Where a person widens the allow-list: the `--allow` flag, or the `allow`
/// key of a configuration file (the `$fix` of `refused-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowFix {
    /// `--allow` on the command line.
    Flag,
    /// The `allow` key of the daemon's configuration.
    Key,
}

impl AllowFix {
    /// The `$fix` value.
    pub fn as_str(self) -> &'static str {
        match self {
            AllowFix::Flag => "flag",
            AllowFix::Key => "key",
        }
    }
}

impl Refusal {
    /// The refusal in `words`' language (`refused-*`), the fix being `--allow`.
    pub fn said(&self, words: Words) -> String {
        self.said_with(words, AllowFix::Flag)
    }

    /// [`Refusal::said`] with the fix named where it is made.
    pub fn said_with(&self, words: Words, fix: AllowFix) -> String {
        match self {
            Refusal::NotAllowed { addr, list } => words.text(
                "refused-not-allowed",
                Some(&args!(
                    "addr" => addr.to_string(),
                    "list" => list.as_str(),
                    "fix" => fix.as_str(),
                )),
            ),
            Refusal::AboveCeiling { addr, list } => words.text(
                "refused-above-ceiling",
                Some(&args!(
                    "addr" => addr.to_string(),
                    "list" => list.as_str(),
                    "variable" => CEILING_ENV,
                )),
            ),
        }
    }
}

/// [`AllowList::ceiling_from_env`] with its error in `words`' language,
/// for commands that print it and stop.
pub fn ceiling(words: Words) -> anyhow::Result<Option<Vec<IpNet>>> {
    AllowList::ceiling_from_env().map_err(|e| anyhow::anyhow!(e.said(words)))
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

/// `STCA2_PROBE_ALLOW` is set but unusable. The check must not run: the
/// ceiling is a promise that nothing outside it is contacted.
#[derive(Debug, thiserror::Error)]
pub enum CeilingError {
    /// The value is not valid UTF-8, so it cannot be read as networks.
    #[error("{}", self.said(Words::english()))]
    NotUnicode,
    /// An item is not a network.
    #[error("{}", self.said(Words::english()))]
    Cidr(#[from] CidrError),
}

/// Why a destination was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Outside the allow-list given by flags, target file or the default.
    #[error("{}", self.said(Words::english()))]
    NotAllowed {
        /// The refused destination.
        addr: IpAddr,
        /// The allow-list, for the message.
        list: String,
    },
    /// Outside the `STCA2_PROBE_ALLOW` ceiling, which no flag can lift.
    #[error("{}", self.said(Words::english()))]
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
    /// An allow-list of `allowed`, capped by `ceiling` when it is `Some`
    /// (`Some(vec![])` allows nothing). Networks inside `::ffff:0:0/96` are
    /// stored as the IPv4 networks they map.
    pub fn new(allowed: Vec<IpNet>, ceiling: Option<Vec<IpNet>>) -> Self {
        let canon = |nets: Vec<IpNet>| nets.into_iter().map(Self::canonical_net).collect();
        AllowList {
            allowed: canon(allowed),
            ceiling: ceiling.map(canon),
        }
    }

    /// Reads the ceiling from `STCA2_PROBE_ALLOW`: `None` when unset,
    /// `Some(vec![])` ("allow nothing") when set but blank, an error when the
    /// value is not UTF-8 or not a list of networks.
    pub fn ceiling_from_env() -> Result<Option<Vec<IpNet>>, CeilingError> {
        Self::ceiling_from(std::env::var_os(CEILING_ENV).as_deref())
    }

    /// [`AllowList::ceiling_from_env`] on a given value (`None`: unset), for tests and daemons.
    pub fn ceiling_from(
        value: Option<&std::ffi::OsStr>,
    ) -> Result<Option<Vec<IpNet>>, CeilingError> {
        match value {
            None => Ok(None),
            Some(v) => {
                let text = v.to_str().ok_or(CeilingError::NotUnicode)?;
                Ok(Some(parse_cidr_list(text)?))
            }
        }
    }

    /// Checks one destination, the ceiling first.
    pub fn check(&self, addr: IpAddr) -> Result<(), Refusal> {
        let addr = Self::canonical(addr);
        if let Some(ceiling) = &self.ceiling
            && !ceiling.iter().any(|n| n.contains(&addr))
        {
            return Err(Refusal::AboveCeiling {
                addr,
                list: Self::describe_ceiling(ceiling),
            });
        }
        if self.allowed.iter().any(|n| n.contains(&addr)) {
            Ok(())
        } else {
            Err(Refusal::NotAllowed {
                addr,
                list: Self::join(&self.allowed),
            })
        }
    }

    /// The address a check is made on: an IPv4-mapped IPv6 address
    /// (`::ffff:a.b.c.d`) is the IPv4 address it carries; others are unchanged.
    pub fn canonical(addr: IpAddr) -> IpAddr {
        match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        }
    }

    /// The network a check is made against: an IPv6 network inside
    /// `::ffff:0:0/96` is the IPv4 network it maps (`::ffff:10.0.0.0/104` is
    /// `10.0.0.0/8`); others are unchanged.
    pub fn canonical_net(net: IpNet) -> IpNet {
        match net {
            IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.network().to_ipv4_mapped() {
                Some(v4) => Ipv4Net::new(v4, v6.prefix_len() - 96)
                    .map(|n| IpNet::V4(n.trunc()))
                    .unwrap_or(net),
                None => net,
            },
            other => other,
        }
    }

    /// Networks as people read them: "127.0.0.0/8, 10.0.0.0/8", or "nothing".
    pub fn join(nets: &[IpNet]) -> String {
        if nets.is_empty() {
            return "nothing".to_string();
        }
        nets.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The ceiling for a message ("set but empty, which allows nothing"
    /// when blank), or `None` when there is no ceiling.
    pub fn ceiling_text(&self) -> Option<String> {
        self.ceiling.as_deref().map(Self::describe_ceiling)
    }

    fn describe_ceiling(ceiling: &[IpNet]) -> String {
        if ceiling.is_empty() {
            "set but empty, which allows nothing".to_string()
        } else {
            Self::join(ceiling)
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
        write!(f, "{}", Self::join(&self.allowed))?;
        if let Some(c) = &self.ceiling {
            write!(f, " (ceiling {})", Self::describe_ceiling(c))?;
        }
        Ok(())
    }
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
            // Mapped networks are their IPv4 networks, in the list and the ceiling.
            ("::ffff:127.0.0.0/104", None, "127.0.0.9", true),
            ("::ffff:127.0.0.0/104", None, "::ffff:127.0.0.9", true),
            ("::ffff:127.0.0.0/104", None, "10.0.0.1", false),
            ("0.0.0.0/0", Some("::ffff:127.0.0.0/104"), "127.0.0.9", true),
            (
                "0.0.0.0/0",
                Some("::ffff:127.0.0.0/104"),
                "194.50.38.45",
                false,
            ),
            (
                "0.0.0.0/0",
                Some("::ffff:127.0.0.0/104"),
                "::ffff:194.50.38.45",
                false,
            ),
            // A blank ceiling allows nothing.
            ("0.0.0.0/0", Some(""), "127.0.0.1", false),
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
    fn mapped_networks_are_stored_as_ipv4() {
        let list = AllowList::new(
            nets("::ffff:10.1.2.3/104, ::1"),
            Some(nets("::ffff:0:0/96")),
        );
        assert_eq!(list.allowed()[0].to_string(), "10.0.0.0/8");
        assert_eq!(list.allowed()[1].to_string(), "::1/128");
        assert_eq!(list.ceiling().unwrap()[0].to_string(), "0.0.0.0/0");
    }

    #[test]
    fn ceiling_values() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        assert!(AllowList::ceiling_from(None).unwrap().is_none());
        // Set but blank: allow nothing, and say so.
        let blank = AllowList::ceiling_from(Some(OsStr::new(" "))).unwrap();
        assert_eq!(blank, Some(vec![]));
        let list = AllowList::new(nets("0.0.0.0/0"), blank);
        let err = list.check("127.0.0.1".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("allows nothing"), "{err}");
        assert_eq!(
            AllowList::ceiling_from(Some(OsStr::new("127.0.0.0/8,10.0.0.0/8")))
                .unwrap()
                .unwrap()
                .len(),
            2
        );
        // Not UTF-8: an error naming the variable, never "no ceiling".
        let err = AllowList::ceiling_from(Some(OsStr::from_bytes(b"127.0.0.0/8\xff"))).unwrap_err();
        assert!(matches!(err, CeilingError::NotUnicode));
        assert!(err.to_string().contains(CEILING_ENV), "{err}");
        let err = AllowList::ceiling_from(Some(OsStr::new("lab"))).unwrap_err();
        assert!(matches!(err, CeilingError::Cidr(_)), "{err}");
    }

    #[test]
    fn bad_cidr() {
        assert!(parse_cidr("300.1.1.1/8").is_err());
        assert!(parse_cidr("lab").is_err());
        assert_eq!(parse_cidr("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
    }
}
