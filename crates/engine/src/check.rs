//! One whole check, end to end: target set -> probe -> verdict -> report.
//!
//! This is the pipeline the CLI, the demo, the tests and (later) the daemon
//! share, so that they cannot drift apart: the allow-list is settled before
//! any packet is sent, the probe measures, the verdict judges, and the result
//! is a [`Report`].
//!
//! The DNS server is a destination like any other. A site written as a
//! hostname can only be probed when the resolver it would ask is inside the
//! allow-list too; the default list (the set's own IP literals) never is, so
//! such a set needs `--allow` with the DNS server's and the gateway's
//! networks. [`refused_targets`] settles that before anything is sent.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use time::OffsetDateTime;

use crate::allow::{AllowFix, AllowList, CEILING_ENV, Refusal};
use crate::probe::dns::DnsSetup;
use crate::probe::{self, ClientIdentity, ProbeConfig};
use crate::targets::{Address, TargetSet};
use crate::verdict::Context;
use stca2_report::{ProbeIdentity, Report};
use stca2_words::{Words, args};

/// Builds the allow-list for a target set: `flags` when given, else the
/// file's own `allow` key, else exactly the set's IP addresses; always under
/// `ceiling` (from `STCA2_PROBE_ALLOW`) when there is one.
pub fn allow_list(targets: &TargetSet, flags: &[IpNet], ceiling: Option<Vec<IpNet>>) -> AllowList {
    let allowed = if !flags.is_empty() {
        flags.to_vec()
    } else if let Some(file) = &targets.allow {
        file.clone()
    } else {
        targets
            .literal_addresses()
            .into_iter()
            .map(IpNet::from)
            .collect()
    };
    AllowList::new(allowed, ceiling)
}

/// A site the allow-list refuses before the check starts. `Display` is the
/// English (logs, the daemon's configuration errors); [`RefusedSite::said`]
/// is the reader's language (`refused-*` in `check.ftl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusedSite {
    /// An IP-literal site outside the allow-list (or the ceiling).
    Address {
        /// The site's name.
        site: String,
        /// Its address.
        ip: IpAddr,
        /// Why.
        refusal: Refusal,
    },
    /// A hostname site whose DNS servers are all outside the allow-list:
    /// resolving it would send a packet to a forbidden place.
    Resolver {
        /// The site's name.
        site: String,
        /// The DNS servers that resolving it would contact.
        servers: Vec<IpAddr>,
        /// The ceiling, when it (not the allow-list) is what refuses them.
        ceiling: Option<String>,
    },
}

impl RefusedSite {
    /// The refused site's name.
    pub fn site(&self) -> &str {
        match self {
            RefusedSite::Address { site, .. } | RefusedSite::Resolver { site, .. } => site,
        }
    }

    /// Why the site is refused and what to do, in `words`' language (the
    /// fix being `--allow`).
    pub fn said(&self, words: Words) -> String {
        self.said_with(words, AllowFix::Flag)
    }

    /// [`RefusedSite::said`] with the fix named where it is made.
    pub fn said_with(&self, words: Words, fix: AllowFix) -> String {
        match self {
            RefusedSite::Address { site, ip, refusal } => {
                let why = refusal.said_with(words, fix);
                words.text(
                    "refused-address",
                    Some(&args!("site" => site.as_str(), "ip" => ip.to_string(), "why" => why)),
                )
            }
            RefusedSite::Resolver {
                site,
                servers,
                ceiling,
            } => {
                let ips: Vec<String> = servers.iter().map(IpAddr::to_string).collect();
                let mut a = args!(
                    "site" => site.as_str(),
                    "count" => ips.len(),
                    "servers" => ips.join(", "),
                    "fix" => fix.as_str(),
                );
                match ceiling {
                    None => words.text("refused-resolver", Some(&a)),
                    Some(list) => {
                        a.set("variable", CEILING_ENV);
                        a.set("list", list.clone());
                        words.text("refused-resolver-ceiling", Some(&a))
                    }
                }
            }
        }
    }
}

impl fmt::Display for RefusedSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.said(Words::english()))
    }
}

impl std::error::Error for RefusedSite {}

/// The sites the allow-list refuses, with the system's DNS configuration:
/// a check with any of these is not started, so that not a single packet
/// leaves for a forbidden place.
pub fn refused_targets(targets: &TargetSet, allow: &AllowList) -> Vec<RefusedSite> {
    refused_targets_with_dns(targets, allow, &DnsSetup::System)
}

/// Like [`refused_targets`], with an explicit DNS setup. IP-literal sites
/// must be inside the allow-list; a hostname site needs at least one of the
/// DNS servers it would ask inside it (the probe drops the others). Reads
/// the resolver configuration only when a site is a hostname; sends nothing.
/// An unreadable or empty resolver configuration refuses nothing here: the
/// probe then reports the DNS error, with nothing sent either.
pub fn refused_targets_with_dns(
    targets: &TargetSet,
    allow: &AllowList,
    dns: &DnsSetup,
) -> Vec<RefusedSite> {
    let mut servers: Option<Vec<IpAddr>> = None;
    let mut out = Vec::new();
    for s in &targets.sites {
        match s.address {
            Address::Ip(ip) => {
                if let Err(refusal) = allow.check(ip) {
                    out.push(RefusedSite::Address {
                        site: s.name.clone(),
                        ip,
                        refusal,
                    });
                }
            }
            Address::Host(_) => {
                let servers = servers.get_or_insert_with(|| dns.servers().unwrap_or_default());
                let refusals: Vec<(IpAddr, Refusal)> = servers
                    .iter()
                    .filter_map(|ip| allow.check(*ip).err().map(|r| (*ip, r)))
                    .collect();
                if servers.is_empty() || refusals.len() < servers.len() {
                    continue;
                }
                let by_list: Vec<IpAddr> = refusals
                    .iter()
                    .filter(|(_, r)| matches!(r, Refusal::NotAllowed { .. }))
                    .map(|(ip, _)| *ip)
                    .collect();
                let refused = if by_list.is_empty() {
                    RefusedSite::Resolver {
                        site: s.name.clone(),
                        servers: servers.clone(),
                        ceiling: allow.ceiling_text(),
                    }
                } else {
                    RefusedSite::Resolver {
                        site: s.name.clone(),
                        servers: by_list,
                        ceiling: None,
                    }
                };
                out.push(refused);
            }
        }
    }
    out
}

/// "toulouse, bordeaux": the names of refused sites, for a closing message.
pub fn refused_names(refused: &[RefusedSite]) -> String {
    let names: Vec<&str> = refused.iter().map(RefusedSite::site).collect();
    names.join(", ")
}

/// Runs one check and judges it. Sites should have been screened with
/// [`refused_targets`]; the probe refuses forbidden DNS servers and
/// addresses again anyway, and reports them as not measured.
pub async fn run(targets: &TargetSet, config: &ProbeConfig, probe: ProbeIdentity) -> Report {
    let started_at = OffsetDateTime::now_utc();
    let results = probe::check(targets, config).await;
    let finished_at = OffsetDateTime::now_utc();
    let ctx = Context {
        anchors_available: targets.all_anchors_loaded(),
        ..Context::default()
    };
    crate::verdict::judged(
        probe,
        targets.name.clone(),
        started_at,
        finished_at,
        results,
        &ctx,
    )
}

/// What a person may set about how to probe, from `check`'s flags or a
/// daemon's configuration; [`Settings::probe_config`] turns it into the
/// engine's [`ProbeConfig`] once the allow-list is settled.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Bounds each step: DNS, each connect, each handshake.
    pub timeout: Duration,
    /// Spaced attempts per site x port.
    pub attempts: u32,
    /// Local address to connect from.
    pub source: Option<IpAddr>,
    /// Network interface to connect through.
    pub interface: Option<String>,
    /// A terminal's client certificate (PEM), with `client_key`.
    pub client_cert: Option<PathBuf>,
    /// The private key (PEM) that goes with `client_cert`.
    pub client_key: Option<PathBuf>,
    /// Include every certificate as PEM in the report.
    pub with_pem: bool,
}

impl Settings {
    /// The engine's configuration under `allow`; reads the client
    /// certificate and key, whose errors name the file.
    pub fn probe_config(&self, allow: AllowList) -> anyhow::Result<ProbeConfig> {
        let mut config = ProbeConfig::new(allow);
        config.timeout = self.timeout;
        config.attempts = self.attempts;
        config.source = self.source;
        config.interface = self.interface.clone();
        config.with_pem = self.with_pem;
        config.client_identity = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => Some(ClientIdentity::from_pem_files(cert, key)?),
            _ => None,
        };
        Ok(config)
    }
}

/// Who runs a check: `probe_id`, else this machine's host name, else
/// `unknown`; the link it runs over, when one was chosen.
pub fn identity(
    probe_id: Option<String>,
    merchant: Option<String>,
    source: Option<IpAddr>,
    interface: Option<String>,
) -> ProbeIdentity {
    let hostname = hostname();
    let id = probe_id
        .or_else(|| hostname.clone())
        .unwrap_or_else(|| "unknown".to_string());
    let mut identity = ProbeIdentity::new(id);
    identity.hostname = hostname;
    identity.merchant = merchant;
    identity.source = source.map(|s| s.to_string());
    identity.interface = interface;
    identity
}

/// This machine's host name, for a default probe id.
pub fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allow::parse_cidr_list;
    use std::path::Path;

    fn set(addresses: &[&str]) -> TargetSet {
        let mut text = String::from("name = \"t\"\n");
        for (i, a) in addresses.iter().enumerate() {
            text.push_str(&format!(
                "[[site]]\nname = \"s{i}\"\nrole = \"primary\"\naddress = \"{a}\"\n"
            ));
        }
        text.push_str("[[port]]\nnumber = 1146\nservice = \"stca2\"\n");
        TargetSet::parse(&text, Path::new("t.toml")).unwrap()
    }

    fn allow(list: &str, ceiling: Option<&str>) -> AllowList {
        AllowList::new(
            parse_cidr_list(list).unwrap(),
            ceiling.map(|c| parse_cidr_list(c).unwrap()),
        )
    }

    /// This machine's resolver, as configuration only: never contacted.
    fn resolver() -> DnsSetup {
        DnsSetup::single_udp("10.255.255.53:53".parse().unwrap())
    }

    const REPO: Option<&str> = Some("127.0.0.0/8,10.0.0.0/8");

    #[test]
    fn hostnames_need_their_dns_server_in_the_allow_list() {
        let t = set(&["127.0.38.45", "gw.example.net"]);
        // The default allow-list: the set's IP literals. DNS is not in it.
        let default = allow_list(&t, &[], REPO.map(|c| parse_cidr_list(c).unwrap()));
        let refused = refused_targets_with_dns(&t, &default, &resolver());
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!(
            refused[0].to_string(),
            "site `s1` is a hostname: resolving it would contact the DNS server 10.255.255.53, outside the allow-list; pass --allow with the DNS server's and the gateway's networks, or write the gateway's IP address"
        );
        // --allow with the DNS server's network: allowed (the gateway's
        // addresses are checked after resolution).
        let wide = allow("127.0.0.0/8,10.255.255.0/24", REPO);
        assert!(refused_targets_with_dns(&t, &wide, &resolver()).is_empty());
        // Allowed by the list but above the ceiling: the ceiling is named.
        let capped = allow("0.0.0.0/0", Some("127.0.0.0/8"));
        let refused = refused_targets_with_dns(&t, &capped, &resolver());
        assert_eq!(refused.len(), 1);
        let msg = refused[0].to_string();
        assert!(msg.contains("STCA2_PROBE_ALLOW (127.0.0.0/8)"), "{msg}");
        assert!(msg.contains("no flag can lift"), "{msg}");
    }

    #[test]
    fn literals_only_never_read_the_resolver_and_refuse_by_address() {
        let t = set(&["127.0.38.45", "194.50.38.45"]);
        let a = allow_list(&t, &[], REPO.map(|c| parse_cidr_list(c).unwrap()));
        let refused = refused_targets_with_dns(&t, &a, &resolver());
        assert_eq!(refused.len(), 1);
        assert!(matches!(&refused[0], RefusedSite::Address { site, .. } if site == "s1"));
        assert!(refused[0].to_string().contains("STCA2_PROBE_ALLOW"));
        assert_eq!(refused_names(&refused), "s1");
    }

    #[test]
    fn one_allowed_dns_server_is_enough() {
        let t = set(&["gw.example.net"]);
        let mut config = hickory_resolver::config::ResolverConfig::default();
        for ip in ["10.255.255.53", "127.0.0.53"] {
            config.add_name_server(hickory_resolver::config::NameServerConfig::new(
                ip.parse().unwrap(),
                true,
                vec![hickory_resolver::config::ConnectionConfig::udp()],
            ));
        }
        let setup = DnsSetup::Config(config);
        assert!(refused_targets_with_dns(&t, &allow("127.0.0.0/8", REPO), &setup).is_empty());
        let refused = refused_targets_with_dns(&t, &allow("192.0.2.0/24", REPO), &setup);
        assert!(
            refused[0]
                .to_string()
                .contains("the DNS servers 10.255.255.53, 127.0.0.53"),
            "{}",
            refused[0]
        );
    }
}
