//! The shop's whole path in four network namespaces: the shop (the probe),
//! the merchant's box, the ISP, and the gateway (the lab on the real ports),
//! each a namespace the test creates and removes.
//!
//! ```text
//!  shop                box (nft)                 isp (nft)                  gateway
//!  s0 10.N.1.2 <-> b0 10.N.1.1 | b1 10.N.2.1 <-> i0 10.N.2.2 | i1 10.N.3.1 <-> g0 10.N.3.2
//!  default via box      default via isp           10.N.1.0/24 via box        + 10.N.3.45 (primary)
//!                                                                            + 10.N.3.173 (secondary)
//!  with a backup link ([`Options::backup`], the shop's 4G router):
//!  s1 10.N.4.2 <-> l0 10.N.4.1 | l1 10.N.5.1 <-> i2 10.N.5.2 (isp)
//!  the shop routes `from 10.N.4.2` (and SO_BINDTODEVICE s1) through it
//! ```
//!
//! From the shop, TTL 1 is the box, TTL 2 the ISP, TTL 3 the gateway host:
//! a traceroute sees the three hops an installer has to tell apart.
//!
//! Addresses: 10.N.0.0/16 with N from [`namespace_octet`], one per test in
//! this process, inside namespaces nothing else sees. Names carry
//! [`PREFIX`], the test's name and the process id. [`Path`] is the guard:
//! dropping it (a panic included) deletes the namespaces and with them every
//! veth; building one first deletes namespaces of earlier runs whose process
//! is gone (a run killed with SIGKILL never drops its guard). Nothing is
//! added to the root namespace; `nft` only runs under `ip netns exec`.
//!
//! Packet loss: the kernel here has no netem, so [`Path::loss`] drops N % of
//! the TCP packets the box forwards, in each direction, with nftables
//! `numgen random mod 100 < N drop`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path as FsPath;

use ipnet::IpNet;
use stca2_engine::allow::AllowList;
use stca2_engine::probe::ProbeConfig;
use stca2_engine::targets::TargetSet;
use stca2_report::{ProbeIdentity, Report};

use super::net::namespace_octet;
use super::netns::{
    GatewayLab, SKIPPED, missing_prerequisite, run, runtime, spawn_in_netns, try_run,
};

/// Every namespace of this helper starts with it (and nothing else's does).
pub const PREFIX: &str = "s2p4";

/// The routers of the path, where faults are injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    /// The merchant's box: the shop's first hop and default gateway.
    Box,
    /// The ISP's router: the second hop.
    Isp,
    /// The gateway's host itself (its `input` hook sees what reaches it).
    Gateway,
    /// The backup (4G) router, with [`Options::backup`].
    Backup,
}

/// How to build the path.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// The box masquerades the shop behind its ISP-side address (NAT), as most boxes do.
    pub nat: bool,
    /// A second shop uplink through a backup router (4G) to the ISP.
    pub backup: bool,
}

/// The four (or five) namespaces; the guard that removes them.
#[derive(Debug)]
pub struct Path {
    /// The second octet of every address: unique per test in this process.
    pub n: u8,
    /// The shop namespace, where the probe runs.
    pub shop: String,
    /// The merchant's box.
    pub boxx: String,
    /// The ISP's router.
    pub isp: String,
    /// The gateway (the lab).
    pub gateway: String,
    /// The backup router, with [`Options::backup`].
    pub backup: Option<String>,
    created: Vec<String>,
}

impl Path {
    /// Builds the path for `test`, or prints [`SKIPPED`] and returns `None`
    /// when this machine cannot.
    pub fn build(test: &str, options: Options) -> Option<Path> {
        if let Some(why) = missing_prerequisite() {
            eprintln!("{SKIPPED} ({why}); {test} did not run");
            return None;
        }
        sweep_dead_runs();
        let pid = std::process::id();
        let name = |role: &str| format!("{PREFIX}-{test}-{pid}-{role}");
        let mut p = Path {
            n: namespace_octet(),
            shop: name("shop"),
            boxx: name("box"),
            isp: name("isp"),
            gateway: name("gw"),
            backup: options.backup.then(|| name("4g")),
            created: Vec::new(),
        };
        let mut all = vec![
            p.shop.clone(),
            p.boxx.clone(),
            p.isp.clone(),
            p.gateway.clone(),
        ];
        all.extend(p.backup.clone());
        for ns in all {
            let _ = try_run(&["ip", "netns", "del", &ns], None);
            if let Err(e) = try_run(&["ip", "netns", "add", &ns], None) {
                eprintln!("{SKIPPED} (cannot create a network namespace: {e}); {test} did not run");
                return None;
            }
            p.created.push(ns);
        }
        p.wire(options);
        Some(p)
    }

    fn ip(&self, ns: &str, args: &str) {
        let mut cmd = vec!["ip", "-n", ns];
        cmd.extend(args.split_whitespace());
        run(&cmd);
    }

    fn wire(&self, options: Options) {
        let n = self.n;
        let (s, b, i, g) = (&self.shop, &self.boxx, &self.isp, &self.gateway);
        // Each veth is made inside a router and its far end moved straight
        // into the neighbour: nothing ever touches the root namespace.
        self.ip(b, &format!("link add b0 type veth peer name s0 netns {s}"));
        self.ip(b, &format!("link add b1 type veth peer name i0 netns {i}"));
        self.ip(i, &format!("link add i1 type veth peer name g0 netns {g}"));
        let mut all = vec![s, b, i, g];
        if let Some(l) = &self.backup {
            self.ip(l, &format!("link add l0 type veth peer name s1 netns {s}"));
            self.ip(l, &format!("link add l1 type veth peer name i2 netns {i}"));
            all.push(l);
        }
        for ns in &all {
            self.ip(ns, "link set lo up");
        }
        let addr = |ns: &str, dev: &str, cidr: &str| {
            self.ip(ns, &format!("addr add {cidr} dev {dev}"));
            self.ip(ns, &format!("link set {dev} up"));
        };
        addr(s, "s0", &format!("10.{n}.1.2/24"));
        addr(b, "b0", &format!("10.{n}.1.1/24"));
        addr(b, "b1", &format!("10.{n}.2.1/24"));
        addr(i, "i0", &format!("10.{n}.2.2/24"));
        addr(i, "i1", &format!("10.{n}.3.1/24"));
        addr(g, "g0", &format!("10.{n}.3.2/24"));
        self.ip(g, &format!("addr add 10.{n}.3.45/24 dev g0"));
        self.ip(g, &format!("addr add 10.{n}.3.173/24 dev g0"));
        self.ip(s, &format!("route add default via 10.{n}.1.1 dev s0"));
        self.ip(b, &format!("route add default via 10.{n}.2.2"));
        self.ip(i, &format!("route add 10.{n}.1.0/24 via 10.{n}.2.1"));
        self.ip(g, &format!("route add default via 10.{n}.3.1"));
        if let Some(l) = &self.backup {
            addr(s, "s1", &format!("10.{n}.4.2/24"));
            addr(l, "l0", &format!("10.{n}.4.1/24"));
            addr(l, "l1", &format!("10.{n}.5.1/24"));
            addr(i, "i2", &format!("10.{n}.5.2/24"));
            self.ip(l, &format!("route add default via 10.{n}.5.2"));
            self.ip(i, &format!("route add 10.{n}.4.0/24 via 10.{n}.5.1"));
            // The backup link is a second default route, less preferred;
            // a probe bound to its address or its interface uses it.
            self.ip(
                s,
                &format!("route add default via 10.{n}.4.1 dev s1 metric 200"),
            );
            self.ip(
                s,
                &format!("route add default via 10.{n}.4.1 dev s1 table 104"),
            );
            self.ip(s, &format!("rule add from 10.{n}.4.2 table 104"));
            self.sysctl(l, "net.ipv4.ip_forward=1");
        }
        for ns in [b, i] {
            self.sysctl(ns, "net.ipv4.ip_forward=1");
            // Linux routers answer 6 ICMP errors per destination at once,
            // then one a second; a check followed by its trace sends more
            // than that within a second. Real routers limit too (the trace's
            // several probes per hop are for that); the tests lift the
            // limit so that every row of the table is deterministic.
            self.sysctl(ns, "net.ipv4.icmp_ratelimit=0");
        }
        if options.nat {
            self.nft(
                Hop::Box,
                &chain(
                    "ip s2pnat",
                    "post",
                    "type nat hook postrouting priority 100",
                    "oifname \"b1\" masquerade",
                ),
            );
        }
    }

    fn sysctl(&self, ns: &str, setting: &str) {
        run(&["ip", "netns", "exec", ns, "sysctl", "-qw", setting]);
    }

    /// The namespace of a router of the path.
    pub fn namespace(&self, hop: Hop) -> &str {
        match hop {
            Hop::Box => &self.boxx,
            Hop::Isp => &self.isp,
            Hop::Gateway => &self.gateway,
            Hop::Backup => self.backup.as_deref().expect("built with Options::backup"),
        }
    }

    /// Runs a command inside `hop`'s namespace (`ip netns exec`).
    pub fn exec(&self, hop: Hop, cmd: &[&str]) -> String {
        let mut full = vec!["ip", "netns", "exec", self.namespace(hop)];
        full.extend_from_slice(cmd);
        run(&full)
    }

    /// Loads an nftables ruleset (`nft -f -`, the file format: see
    /// [`chain`]) into `hop`'s namespace.
    pub fn nft(&self, hop: Hop, ruleset: &str) {
        let cmd = ["ip", "netns", "exec", self.namespace(hop), "nft", "-f", "-"];
        try_run(&cmd, Some(ruleset)).unwrap_or_else(|e| panic!("{e}\nruleset:\n{ruleset}"));
    }

    /// Adds `rule` (nft rule syntax) to a `forward` filter chain of `hop`
    /// (or `input` for the gateway, which forwards nothing).
    pub fn rule(&self, hop: Hop, rule: &str) {
        let hook = if hop == Hop::Gateway {
            "input"
        } else {
            "forward"
        };
        self.nft(
            hop,
            &chain(
                "inet s2p",
                hook,
                &format!("type filter hook {hook} priority 0"),
                rule,
            ),
        );
    }

    /// The box loses `percent` % of the TCP packets it forwards, each
    /// direction on its own (`numgen random mod 100 < N drop`).
    pub fn loss(&self, percent: u8) {
        self.rule(
            Hop::Box,
            &format!(
                "meta l4proto tcp numgen random mod 100 < {percent} counter drop comment \"loss\""
            ),
        );
    }

    /// The packet count of the nft rule carrying `comment "<comment>"` in `hop`.
    pub fn counter(&self, hop: Hop, comment: &str) -> u64 {
        let listing = self.exec(hop, &["nft", "-a", "list", "ruleset"]);
        let line = listing
            .lines()
            .find(|l| l.contains(&format!("comment \"{comment}\"")))
            .unwrap_or_else(|| panic!("no rule with comment {comment} in:\n{listing}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        words
            .windows(2)
            .find(|w| w[0] == "packets")
            .and_then(|w| w[1].parse().ok())
            .unwrap_or_else(|| panic!("no packet counter in `{line}`"))
    }

    /// 10.N.a.b.
    pub fn addr(&self, a: u8, b: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, self.n, a, b))
    }

    /// The shop's address on the backup link.
    pub fn shop_backup_addr(&self) -> IpAddr {
        self.addr(4, 2)
    }

    /// The box's address on the shop side: hop 1, the shop's default gateway.
    pub fn box_addr(&self) -> IpAddr {
        self.addr(1, 1)
    }

    /// The ISP router's address towards the box: hop 2.
    pub fn isp_addr(&self) -> IpAddr {
        self.addr(2, 2)
    }

    /// The primary site (hop 3).
    pub fn primary(&self) -> IpAddr {
        self.addr(3, 45)
    }

    /// The secondary site (hop 3).
    pub fn secondary(&self) -> IpAddr {
        self.addr(3, 173)
    }

    /// This path's network as an allow-list entry.
    pub fn cidr(&self) -> IpNet {
        format!("10.{}.0.0/16", self.n).parse().expect("a CIDR")
    }

    /// Starts the lab with `scenario` in the gateway namespace.
    pub fn start_lab(&self, scenario: &str) -> GatewayLab {
        GatewayLab::start(&self.gateway, self.primary(), self.secondary(), scenario)
    }

    /// A probe configuration with the defaults (the installer's `check`),
    /// allowed to reach this path only, under `STCA2_PROBE_ALLOW`.
    pub fn config(&self) -> ProbeConfig {
        let ceiling = AllowList::ceiling_from_env().expect("STCA2_PROBE_ALLOW parses");
        ProbeConfig::new(AllowList::new(vec![self.cidr()], ceiling))
    }

    /// Runs one whole check (probe + verdict) from the shop with `config`.
    pub fn check(&self, targets: &TargetSet, config: ProbeConfig) -> Report {
        let targets = targets.clone();
        self.in_shop(move || {
            runtime().block_on(stca2_engine::check::run(
                &targets,
                &config,
                ProbeIdentity::new("path-test"),
            ))
        })
    }

    /// Runs `f` on a thread inside the shop namespace and returns what it returns.
    pub fn in_shop<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        match spawn_in_netns(&self.shop, f).join() {
            Ok(t) => t,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// The `stca2-probe` binary run inside the shop namespace with `args`,
    /// with the repository's `STCA2_PROBE_ALLOW` and no colour.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.shop,
                env!("CARGO_BIN_EXE_stca2-probe"),
            ])
            .args(args)
            .env("STCA2_PROBE_ALLOW", "127.0.0.0/8,10.0.0.0/8")
            .env("NO_COLOR", "1")
            .output()
            .expect("run stca2-probe in the shop namespace")
    }
}

/// An nftables ruleset in the file format `nft -f -` reads: table `table`
/// ("family name"), base chain `name` declared by `hook` (with policy
/// accept), holding `rule`. One statement a line: this machine's nft (1.0.6)
/// refuses the one-line form `{ type ...; rule; }` with "unexpected '}'".
/// Loading it again appends `rule` to the same chain.
pub fn chain(table: &str, name: &str, hook: &str, rule: &str) -> String {
    format!(
        "table {table} {{\n  chain {name} {{\n    {hook}; policy accept;\n    {rule}\n  }}\n}}\n"
    )
}

impl Drop for Path {
    fn drop(&mut self) {
        for ns in self.created.drain(..) {
            if let Err(e) = try_run(&["ip", "netns", "del", &ns], None) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

/// Deletes this helper's namespaces left by runs whose process is gone
/// (killed before their guard could drop).
fn sweep_dead_runs() {
    let Ok(list) = try_run(&["ip", "netns", "list"], None) else {
        return;
    };
    for line in list.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(&format!("{PREFIX}-")) else {
            continue;
        };
        // {test}-{pid}-{role}: the pid is the second field from the end.
        let pid = rest.rsplit('-').nth(1).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && !FsPath::new(&format!("/proc/{pid}")).exists()
        {
            let _ = try_run(&["ip", "netns", "del", name], None);
        }
    }
}
