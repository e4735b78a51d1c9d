//! Throwaway networks for tests: a client, a router running nftables and a
//! gateway, each in a network namespace the test creates and deletes.
//!
//! ```text
//!  client ns               router ns (nft rules)               gateway ns
//!  c0 10.N.1.2/24  <--->  r0 10.N.1.1/24 | r1 10.N.2.1/24 <--->  g0 10.N.2.2/24
//!  default via 10.N.1.1                                         + 10.N.2.45 (primary)
//!                                                               + 10.N.2.173 (secondary)
//! ```
//!
//! Every link is a veth pair created *inside* the router namespace (`ip -n`)
//! with its far end moved straight into its own namespace, so nothing is
//! ever added to the root namespace: no interface, no route, no rule, and
//! the host's nftables ruleset is never read or written (`nft` only runs
//! under `ip netns exec <router>`). Namespace names carry the test's name and
//! the process id; [`Topology`] deletes them on drop, panics included, and
//! deleting a namespace deletes its veth ends.
//!
//! Network namespaces belong to threads, so code that opens sockets in one
//! (the lab, the probe) runs on a dedicated thread that `setns`es into it and
//! then builds its own single-threaded tokio runtime: every socket that
//! runtime opens lives in that namespace.

use std::fs::File;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use ipnet::IpNet;
use stca2_engine::allow::AllowList;
use stca2_engine::probe::ProbeConfig;
use stca2_engine::targets::TargetSet;
use stca2_lab::{Lab, LabConfig, Scenario};
use stca2_report::{ProbeIdentity, Report};

use super::net::namespace_octet;

/// What a skipped test prints, loud enough to be seen in `cargo test` output.
pub const SKIPPED: &str = "SKIPPED: needs root, ip and nft";

/// Why this machine cannot build the topology, or `None` when it can.
pub fn missing_prerequisite() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not running as root".into());
    }
    for (tool, arg) in [("ip", "-V"), ("nft", "--version")] {
        let found = Command::new(tool)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    None
}

/// Runs a command; its stdout on success, `Err` with the command and stderr otherwise.
pub fn try_run(cmd: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = Command::new(cmd[0])
        .args(&cmd[1..])
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("`{}`: {e}", cmd.join(" ")))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .map_err(|e| format!("`{}`: writing stdin: {e}", cmd.join(" ")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("`{}`: {e}", cmd.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{}` failed ({}): {}",
            cmd.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs a command and panics with its stderr when it fails.
pub fn run(cmd: &[&str]) -> String {
    try_run(cmd, None).unwrap_or_else(|e| panic!("{e}"))
}

/// Moves the calling thread into the named network namespace.
pub fn enter_netns(name: &str) {
    let path = Path::new("/run/netns").join(name);
    let file = File::open(&path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    // SAFETY: `file` is an open namespace file for the duration of the call;
    // CLONE_NEWNET only changes this thread's network namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "setns into {name}: {}",
        std::io::Error::last_os_error()
    );
}

/// Runs `f` on a new thread inside the named network namespace.
pub fn spawn_in_netns<T, F>(name: &str, f: F) -> JoinHandle<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let name = name.to_string();
    std::thread::spawn(move || {
        enter_netns(&name);
        f()
    })
}

/// A single-threaded tokio runtime: it runs on the thread that builds it,
/// so its sockets stay in that thread's namespace.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a tokio runtime")
}

/// Three namespaces joined by veth pairs on 10.N.1.0/24 and 10.N.2.0/24.
/// Dropping it deletes the namespaces (and with them the veths).
#[derive(Debug)]
pub struct Topology {
    /// The second octet of every address: unique per test.
    pub n: u8,
    /// The client namespace's name.
    pub client: String,
    /// The router namespace's name.
    pub router: String,
    /// The gateway namespace's name.
    pub gateway: String,
    created: Vec<String>,
}

impl Topology {
    /// Builds the topology for `test` on a 10.N.0.0/16 of its own
    /// ([`namespace_octet`]), or prints [`SKIPPED`] and returns `None` when
    /// this machine cannot.
    pub fn build(test: &str) -> Option<Topology> {
        if let Some(why) = missing_prerequisite() {
            eprintln!("{SKIPPED} ({why}); {test} did not run");
            return None;
        }
        let pid = std::process::id();
        let name = |role: &str| format!("s2p-{test}-{pid}-{role}");
        let mut t = Topology {
            n: namespace_octet(),
            client: name("c"),
            router: name("r"),
            gateway: name("g"),
            created: Vec::new(),
        };
        for ns in [t.client.clone(), t.router.clone(), t.gateway.clone()] {
            // A namespace left by a killed earlier run with the same pid is ours.
            let _ = try_run(&["ip", "netns", "del", &ns], None);
            if let Err(e) = try_run(&["ip", "netns", "add", &ns], None) {
                eprintln!("{SKIPPED} (cannot create a network namespace: {e}); {test} did not run");
                return None;
            }
            t.created.push(ns);
        }
        t.wire();
        Some(t)
    }

    fn wire(&self) {
        let n = self.n;
        let (c, r, g) = (&self.client, &self.router, &self.gateway);
        let ip = |ns: &str, args: &str| {
            let mut cmd = vec!["ip", "-n", ns];
            cmd.extend(args.split_whitespace());
            run(&cmd);
        };
        ip(r, &format!("link add r0 type veth peer name c0 netns {c}"));
        ip(r, &format!("link add r1 type veth peer name g0 netns {g}"));
        for ns in [c, r, g] {
            ip(ns, "link set lo up");
        }
        ip(c, &format!("addr add 10.{n}.1.2/24 dev c0"));
        ip(c, "link set c0 up");
        ip(c, &format!("route add default via 10.{n}.1.1"));
        ip(r, &format!("addr add 10.{n}.1.1/24 dev r0"));
        ip(r, &format!("addr add 10.{n}.2.1/24 dev r1"));
        ip(r, "link set r0 up");
        ip(r, "link set r1 up");
        ip(g, &format!("addr add 10.{n}.2.2/24 dev g0"));
        ip(g, &format!("addr add 10.{n}.2.45/24 dev g0"));
        ip(g, &format!("addr add 10.{n}.2.173/24 dev g0"));
        ip(g, "link set g0 up");
        ip(g, &format!("route add default via 10.{n}.2.1"));
        self.in_router(&["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    }

    /// Runs a command inside the router namespace (`ip netns exec`).
    pub fn in_router(&self, cmd: &[&str]) -> String {
        let mut full = vec!["ip", "netns", "exec", self.router.as_str()];
        full.extend_from_slice(cmd);
        run(&full)
    }

    /// Loads an nftables ruleset (`nft -f -` syntax) into the router namespace.
    pub fn nft(&self, ruleset: &str) {
        let cmd = [
            "ip",
            "netns",
            "exec",
            self.router.as_str(),
            "nft",
            "-f",
            "-",
        ];
        try_run(&cmd, Some(ruleset)).unwrap_or_else(|e| panic!("{e}\nruleset:\n{ruleset}"));
    }

    /// The router's address on the client side: the sender of its ICMP errors.
    pub fn router_client_side(&self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, self.n, 1, 1))
    }

    /// The primary site's address, in the gateway namespace.
    pub fn primary(&self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, self.n, 2, 45))
    }

    /// The secondary site's address, in the gateway namespace.
    pub fn secondary(&self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, self.n, 2, 173))
    }

    /// Starts the lab with `scenario` in the gateway namespace on
    /// [`Topology::primary`] and [`Topology::secondary`].
    pub fn start_lab(&self, scenario: &str) -> GatewayLab {
        GatewayLab::start(&self.gateway, self.primary(), self.secondary(), scenario)
    }

    /// Runs one whole check (probe + verdict) from the client namespace,
    /// allowed to reach 10.N.0.0/16 only, with one attempt per target.
    pub fn check(&self, targets: &TargetSet, timeout: Duration) -> Report {
        let allowed: IpNet = format!("10.{}.0.0/16", self.n).parse().expect("a CIDR");
        let ceiling = AllowList::ceiling_from_env().expect("STCA2_PROBE_ALLOW parses");
        let mut config = ProbeConfig::new(AllowList::new(vec![allowed], ceiling));
        config.timeout = timeout;
        config.attempts = 1;
        let targets = targets.clone();
        let handle = spawn_in_netns(&self.client, move || {
            runtime().block_on(stca2_engine::check::run(
                &targets,
                &config,
                ProbeIdentity::new("netns-test"),
            ))
        });
        match handle.join() {
            Ok(report) => report,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for ns in self.created.drain(..) {
            if let Err(e) = try_run(&["ip", "netns", "del", &ns], None) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

/// The lab, serving in the gateway namespace on its own thread and runtime.
/// Dropping it stops every listener and joins the thread.
pub struct GatewayLab {
    /// The target set describing it (both sites, 1146 and 7212, the lab's anchors).
    pub targets: TargetSet,
    _thread: LabThread,
    _dir: tempfile::TempDir,
}

/// The thread serving the lab; dropping it tells the lab to stop and waits.
struct LabThread {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl GatewayLab {
    /// Starts the lab with `scenario` in the namespace `gateway`, serving
    /// the two sites on `primary` and `secondary`.
    pub fn start(gateway: &str, primary: IpAddr, secondary: IpAddr, scenario: &str) -> GatewayLab {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut config = LabConfig::new(Scenario::named(scenario).expect("a lab scenario"));
        config.primary = primary;
        config.secondary = secondary;
        config.ca_dir = dir.path().join("lab-ca");
        let target_file = dir.path().join("lab.toml");
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let file = target_file.clone();
        let thread = spawn_in_netns(gateway, move || {
            runtime().block_on(async move {
                let lab = match Lab::start(config).await {
                    Ok(lab) => lab,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let written = lab.write_target_file(&file).map_err(|e| e.to_string());
                let _ = ready_tx.send(written);
                // Serve until the test drops the guard (or the sender is gone).
                let _ = stop_rx.await;
                lab.shutdown().await;
            })
        });
        let guard = LabThread {
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        match ready_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the lab did not start in the gateway namespace: {e}"),
            Err(e) => panic!("the lab did not report within 60 s: {e}"),
        }
        GatewayLab {
            targets: TargetSet::load(&target_file).expect("the lab's target file loads"),
            _thread: guard,
            _dir: dir,
        }
    }
}

impl Drop for LabThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The packet count of the nft rule carrying `comment "<comment>"` in the router.
pub fn counter(topology: &Topology, comment: &str) -> u64 {
    let listing = topology.in_router(&["nft", "-a", "list", "ruleset"]);
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
