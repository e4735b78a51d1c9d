//! Name resolution for sites written as hostnames, timed on its own.
//!
//! Resolution goes through hickory-resolver with the system configuration
//! (`/etc/resolv.conf`), built once per check and shared by every site. Two
//! guards apply before any query leaves:
//!
//! - the DNS servers themselves are destinations like any other, so those
//!   the [`AllowList`] refuses (the allow-list proper, not only the
//!   `STCA2_PROBE_ALLOW` ceiling) are dropped; when none is left, every
//!   hostname is [`DnsStatus::Refused`] without a query. The default
//!   allow-list — the set's own IP literals — therefore never allows DNS:
//!   resolving needs `--allow` with the DNS server's network. The CLI
//!   refuses such a check before it starts (`check::refused_targets`); this
//!   is the same rule again, where the packets would leave;
//! - the answer's addresses are checked against the allow-list, and the
//!   first allowed one is probed; none allowed is [`DnsStatus::Refused`].
//!
//! Tests build a [`Dns`] from an explicit [`ResolverConfig`] pointing at
//! loopback, so no test ever queries a real DNS server.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;

use crate::allow::AllowList;
use stca2_report::{DnsResult, DnsStatus};

/// Where names are resolved.
#[derive(Debug, Clone, Default)]
pub enum DnsSetup {
    /// The system resolver configuration (`/etc/resolv.conf`).
    #[default]
    System,
    /// An explicit configuration (tests, or a `--dns` option one day).
    Config(ResolverConfig),
}

impl DnsSetup {
    /// A configuration with one UDP name server at `addr`: handy for tests on loopback.
    pub fn single_udp(addr: SocketAddr) -> Self {
        let mut conn = ConnectionConfig::udp();
        conn.port = addr.port();
        let ns = NameServerConfig::new(addr.ip(), true, vec![conn]);
        DnsSetup::Config(ResolverConfig::from_name_servers(vec![ns]))
    }

    /// The resolver configuration and options; reads `/etc/resolv.conf` for [`DnsSetup::System`].
    fn load(&self) -> Result<(ResolverConfig, ResolverOpts), String> {
        match self {
            DnsSetup::System => hickory_resolver::system_conf::read_system_conf().map_err(|e| {
                format!(
                    "cannot use the system DNS configuration (/etc/resolv.conf): {e}; configure a DNS server, or write the site's IP address in the target file"
                )
            }),
            DnsSetup::Config(c) => Ok((c.clone(), ResolverOpts::default())),
        }
    }

    /// The DNS servers resolving a hostname would contact, so that they can be
    /// screened against the allow-list before anything is sent. Reads
    /// `/etc/resolv.conf` for [`DnsSetup::System`]; sends nothing.
    pub fn servers(&self) -> Result<Vec<IpAddr>, String> {
        let (config, _) = self.load()?;
        let mut ips: Vec<IpAddr> = config.name_servers().iter().map(|ns| ns.ip).collect();
        ips.dedup();
        Ok(ips)
    }
}

/// A resolver ready for a check, or the status and reason there is none.
pub struct Dns {
    resolver: Result<TokioResolver, (DnsStatus, String)>,
    timeout: Duration,
}

impl Dns {
    /// Builds the resolver once per check. Never fails: a broken setup
    /// becomes a [`DnsStatus::Error`] on every hostname, and DNS servers
    /// that are all outside the allow-list a [`DnsStatus::Refused`], with
    /// the reason.
    pub fn new(setup: &DnsSetup, timeout: Duration, allow: &AllowList) -> Dns {
        let (config, mut opts) = match setup.load() {
            Ok(c) => c,
            Err(why) => {
                return Dns {
                    resolver: Err((DnsStatus::Error, why)),
                    timeout,
                };
            }
        };
        let (domain, search, servers) = config.into_parts();
        let total = servers.len();
        let mut first_refusal = None;
        let kept: Vec<NameServerConfig> = servers
            .into_iter()
            .filter(|ns| match allow.check(ns.ip) {
                Ok(()) => true,
                Err(r) => {
                    first_refusal.get_or_insert(r);
                    false
                }
            })
            .collect();
        if kept.is_empty() {
            let resolver = match first_refusal {
                None if total == 0 => Err((
                    DnsStatus::Error,
                    "no DNS server is configured (no `nameserver` line in /etc/resolv.conf); write the site's IP address in the target file, or fix the DNS configuration".to_string(),
                )),
                refusal => Err((
                    DnsStatus::Refused,
                    format!(
                        "resolving it would contact a DNS server outside the allow-list, so no query was sent: {}; pass --allow with the DNS server's and the gateway's networks, or write the gateway's IP address",
                        refusal.map(|r| r.to_string()).unwrap_or_default()
                    ),
                )),
            };
            return Dns { resolver, timeout };
        }
        opts.timeout = timeout;
        opts.attempts = 1;
        let config = ResolverConfig::from_parts(domain, search, kept);
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        *builder.options_mut() = opts;
        let resolver = builder.build().map_err(|e| {
            (
                DnsStatus::Error,
                format!("cannot start the DNS resolver: {e}"),
            )
        });
        Dns { resolver, timeout }
    }

    /// Resolves `host`, timed, and picks the first address inside the allow-list.
    ///
    /// Returns the DNS result and the address to probe (None when there is none).
    pub async fn resolve(&self, host: &str, allow: &AllowList) -> (DnsResult, Option<IpAddr>) {
        let resolver = match &self.resolver {
            Ok(r) => r,
            Err((status, why)) => {
                return (
                    DnsResult {
                        status: *status,
                        detail: Some(why.clone()),
                        addresses: Vec::new(),
                        ms: 0.0,
                    },
                    None,
                );
            }
        };
        let start = Instant::now();
        let answer = tokio::time::timeout(self.timeout, resolver.lookup_ip(host)).await;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let lookup = match answer {
            Err(_) => Err((
                DnsStatus::Timeout,
                format!(
                    "no DNS answer for {host} within {}: the DNS server does not answer",
                    super::fmt_duration(self.timeout)
                ),
            )),
            Ok(Err(e)) => Err(classify_error(host, &e)),
            Ok(Ok(l)) => Ok(l.iter().collect::<Vec<IpAddr>>()),
        };
        let addresses = match lookup {
            Err((status, detail)) => {
                return (
                    DnsResult {
                        status,
                        detail: Some(detail),
                        addresses: Vec::new(),
                        ms,
                    },
                    None,
                );
            }
            Ok(a) => a,
        };
        if addresses.is_empty() {
            return (
                DnsResult {
                    status: DnsStatus::Nxdomain,
                    detail: Some(format!("{host} has no IP address in DNS")),
                    addresses,
                    ms,
                },
                None,
            );
        }
        pick(host, addresses, ms, allow)
    }
}

/// Picks the first allowed address of an answer.
fn pick(
    host: &str,
    addresses: Vec<IpAddr>,
    ms: f64,
    allow: &AllowList,
) -> (DnsResult, Option<IpAddr>) {
    let mut first_refusal = None;
    for ip in &addresses {
        match allow.check(*ip) {
            Ok(()) => {
                let chosen = *ip;
                return (
                    DnsResult {
                        status: DnsStatus::Ok,
                        detail: None,
                        addresses,
                        ms,
                    },
                    Some(chosen),
                );
            }
            Err(r) if first_refusal.is_none() => first_refusal = Some(r.to_string()),
            Err(_) => {}
        }
    }
    let detail = format!(
        "{host} resolves only to addresses outside the allow-list, so none was contacted: {}",
        first_refusal.unwrap_or_default()
    );
    (
        DnsResult {
            status: DnsStatus::Refused,
            detail: Some(detail),
            addresses,
            ms,
        },
        None,
    )
}

/// Classifies a resolver error: status and words.
pub fn classify_error(host: &str, e: &NetError) -> (DnsStatus, String) {
    if e.is_nx_domain() {
        (
            DnsStatus::Nxdomain,
            format!(
                "{host} does not exist in DNS (NXDOMAIN): check the spelling in the target file"
            ),
        )
    } else if e.is_no_records_found() {
        (
            DnsStatus::Nxdomain,
            format!("{host} has no IP address in DNS ({e})"),
        )
    } else if matches!(e, NetError::Timeout) {
        (
            DnsStatus::Timeout,
            format!("no DNS answer for {host}: the DNS server does not answer ({e})"),
        )
    } else {
        (
            DnsStatus::Error,
            format!("cannot resolve {host}: {e}; check the DNS configuration of this machine"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allow::parse_cidr_list;

    fn allow(list: &str, ceiling: Option<&str>) -> AllowList {
        AllowList::new(
            parse_cidr_list(list).unwrap(),
            ceiling.map(|c| parse_cidr_list(c).unwrap()),
        )
    }

    #[test]
    fn pick_first_allowed_or_refuse() {
        let a = allow("127.0.0.0/8", None);
        let addrs: Vec<IpAddr> = vec!["192.0.2.1".parse().unwrap(), "127.0.0.7".parse().unwrap()];
        let (r, ip) = pick("h", addrs.clone(), 1.0, &a);
        assert_eq!(r.status, DnsStatus::Ok);
        assert_eq!(ip, Some("127.0.0.7".parse().unwrap()));
        let (r, ip) = pick("h", addrs[..1].to_vec(), 1.0, &a);
        assert_eq!(r.status, DnsStatus::Refused);
        assert!(ip.is_none());
        assert!(r.detail.unwrap().contains("allow-list"));
    }

    #[test]
    fn servers_outside_the_ceiling_are_never_used() {
        // A real-looking server, and a ceiling that excludes it: no resolver at all.
        let setup = DnsSetup::single_udp("192.0.2.53:53".parse().unwrap());
        let dns = Dns::new(
            &setup,
            Duration::from_secs(1),
            &allow("0.0.0.0/0", Some("127.0.0.0/8")),
        );
        let (status, why) = dns.resolver.as_ref().err().unwrap();
        assert_eq!(*status, DnsStatus::Refused);
        assert!(why.contains("STCA2_PROBE_ALLOW"), "{why}");
    }

    #[tokio::test]
    async fn servers_outside_the_allow_list_are_never_used() {
        // Inside the ceiling (like this machine's 10.255.255.53 under the
        // repository's 10.0.0.0/8), but not in the allow-list: dropped too.
        let setup = DnsSetup::single_udp("10.255.255.53:53".parse().unwrap());
        assert_eq!(
            setup.servers().unwrap(),
            ["10.255.255.53".parse::<IpAddr>().unwrap()]
        );
        let a = allow("127.0.38.45", Some("127.0.0.0/8,10.0.0.0/8"));
        let dns = Dns::new(&setup, Duration::from_secs(1), &a);
        let (status, why) = dns.resolver.as_ref().err().unwrap();
        assert_eq!(*status, DnsStatus::Refused);
        assert!(why.contains("10.255.255.53"), "{why}");
        assert!(why.contains("--allow"), "{why}");
        // And resolving says so without a query (no resolver exists to send one).
        let (r, ip) = dns.resolve("gateway.example.net", &a).await;
        assert_eq!(r.status, DnsStatus::Refused);
        assert!(ip.is_none());
        assert_eq!(r.ms, 0.0);
        // Mapped spellings of a refused server are refused as well.
        let setup = DnsSetup::single_udp("[::ffff:10.255.255.53]:53".parse().unwrap());
        let dns = Dns::new(&setup, Duration::from_secs(1), &a);
        assert!(dns.resolver.is_err());
    }

    #[tokio::test]
    async fn resolution_paths_stay_on_loopback() {
        // The only configured server is a closed loopback port; nothing leaves the machine.
        let setup = DnsSetup::single_udp("127.39.202.1:9".parse().unwrap());
        let a = allow("127.0.0.0/8", Some("127.0.0.0/8"));
        let dns = Dns::new(&setup, Duration::from_millis(800), &a);

        // RFC 6761: `.invalid` is answered NXDOMAIN locally by the resolver.
        let (r, ip) = dns.resolve("gateway.invalid", &a).await;
        assert_eq!(r.status, DnsStatus::Nxdomain, "{r:?}");
        assert!(ip.is_none());

        // RFC 6761: `localhost` is answered locally with loopback.
        let (r, ip) = dns.resolve("localhost", &a).await;
        assert_eq!(r.status, DnsStatus::Ok, "{r:?}");
        assert_eq!(ip, Some("127.0.0.1".parse().unwrap()));

        // Same answer, but loopback is not allowed: refused.
        let (r, ip) = dns
            .resolve("localhost", &allow("10.0.0.0/8", Some("127.0.0.0/8")))
            .await;
        assert_eq!(r.status, DnsStatus::Refused, "{r:?}");
        assert!(ip.is_none());

        // A normal name goes to the (closed) loopback server: a classified failure.
        let (r, _) = dns.resolve("gateway.example.net", &a).await;
        assert!(
            matches!(r.status, DnsStatus::Error | DnsStatus::Timeout),
            "{r:?}"
        );
        assert!(r.detail.is_some());
        assert!(r.ms < 5000.0);
    }
}
