//! What one simulated gateway endpoint does with a connection.
//!
//! Each behaviour reproduces something an installer meets in the field: the
//! migrated gateway, the old one, a router that blocks the port, a firewall
//! that swallows packets, a middlebox that cuts or intercepts TLS.

use std::fmt;
use std::str::FromStr;

use stca2_words::Words;

use super::LabError;

/// How one lab endpoint (site x port) answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Behaviour {
    /// TLS with the STCA2 chain (leaf + intermediate): a migrated gateway.
    Stca2,
    /// TLS with a leaf issued by the old STCA root: a gateway not migrated yet.
    Stca,
    /// Nothing listens: the kernel answers with a reset (connection refused).
    Closed,
    /// Accepts TCP and never says a word: a filtering middlebox, a dead proxy.
    Silent,
    /// Reads the ClientHello, then resets the connection: a DPI box cutting TLS.
    ResetAfterHello,
    /// TLS with the STCA2 chain that requires a client certificate from the
    /// lab's client CA: the declaration port of a real gateway.
    ClientAuth,
    /// TLS with a chain from an unrelated "interceptor" root: a TLS-inspecting middlebox.
    Interceptor,
    /// TLS with an STCA2 leaf whose validity ended: a gateway with a lapsed certificate.
    Expired,
    /// TLS with the STCA2 chain after a delay: a congested or far-away path.
    Slow,
    /// TLS 1.2 only, with the STCA2 chain: an older gateway stack.
    Tls12Only,
    /// Answers with bytes that are not TLS (an HTTP error): a captive portal or a proxy.
    Garbage,
    /// The old gateway stack: TLS 1.2 with RSA key exchange and a SHA-1 STCA chain.
    LegacyStca,
    /// TLS with a forged chain: a leaf naming the STCA2 intermediate (its
    /// name and key identifier) but signed by the interceptor's key, presented
    /// with the real STCA2 intermediate — an interceptor hiding behind the
    /// STCA2 names.
    Forged,
}

impl Behaviour {
    /// Every behaviour, in declaration order.
    pub const ALL: [Behaviour; 13] = [
        Behaviour::Stca2,
        Behaviour::Stca,
        Behaviour::Closed,
        Behaviour::Silent,
        Behaviour::ResetAfterHello,
        Behaviour::ClientAuth,
        Behaviour::Interceptor,
        Behaviour::Expired,
        Behaviour::Slow,
        Behaviour::Tls12Only,
        Behaviour::Garbage,
        Behaviour::LegacyStca,
        Behaviour::Forged,
    ];

    /// The kebab-case name used on the command line and in scenario tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Behaviour::Stca2 => "stca2",
            Behaviour::Stca => "stca",
            Behaviour::Closed => "closed",
            Behaviour::Silent => "silent",
            Behaviour::ResetAfterHello => "reset-after-hello",
            Behaviour::ClientAuth => "client-auth",
            Behaviour::Interceptor => "interceptor",
            Behaviour::Expired => "expired",
            Behaviour::Slow => "slow",
            Behaviour::Tls12Only => "tls12-only",
            Behaviour::Garbage => "garbage",
            Behaviour::LegacyStca => "legacy-stca",
            Behaviour::Forged => "forged",
        }
    }

    /// One line saying what the endpoint does, for `stca2-probe lab`'s
    /// listing (`lab-behaviour-*`).
    pub fn description(self, words: Words) -> String {
        words.text(&format!("lab-behaviour-{}", self.as_str()), None)
    }

    /// True when the endpoint has a listening socket (everything but `closed`).
    pub fn listens(self) -> bool {
        self != Behaviour::Closed
    }
}

impl fmt::Display for Behaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Behaviour {
    type Err = LabError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Behaviour::ALL
            .into_iter()
            .find(|b| b.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| LabError::UnknownBehaviour {
                name: t.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in Behaviour::ALL {
            assert_eq!(b.to_string().parse::<Behaviour>().unwrap(), b);
        }
        assert_eq!(
            "Reset-After-Hello".parse::<Behaviour>().unwrap(),
            Behaviour::ResetAfterHello
        );
    }

    #[test]
    fn unknown_name_lists_the_choices() {
        let e = "nope".parse::<Behaviour>().unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("reset-after-hello"), "{e}");
    }
}
