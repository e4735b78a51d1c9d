//! The lab: simulated gateways on loopback with a generated PKI.
//!
//! `stca2-probe lab`, `stca2-probe demo` and the integration tests need a
//! gateway to probe, and the one rule of this repository is that nothing
//! ever reaches a real one. So the lab stands in for it: the two sites on
//! loopback addresses (127.0.38.45 and 127.0.38.173 by default — all of
//! 127.0.0.0/8 is loopback on Linux) on the real port numbers, each
//! site x port with a [`Behaviour`] picked by a [`Scenario`].
//!
//! Starting a [`Lab`] generates a fresh [`LabPki`] (STCA2, old STCA and
//! interceptor hierarchies plus a client CA), writes the anchors as PEM files
//! for the target file to point at, binds every listener up front (so a
//! conflict is reported before anything is served), then spawns one accept
//! loop per endpoint. The `Lab` owns those tasks: dropping it or calling
//! [`Lab::shutdown`] stops every listener and every connection.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use stca2_lab::{Lab, LabConfig, Scenario};
//! let lab = Lab::start(LabConfig::new(Scenario::named("mixed")?)).await?;
//! for e in lab.endpoints() {
//!     println!("{e}");
//! }
//! lab.write_target_file("targets/lab.toml".as_ref())?;
//! lab.shutdown().await;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod behaviour;
pub mod cli;
pub mod legacy;
mod pki;
mod scenario;
mod server;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinSet;

use stca2_report::{Role, Service};
use stca2_words::Words;

pub use behaviour::Behaviour;
pub use pki::{Identity, LAB_DNS_NAME, LabPki};
pub use scenario::Scenario;
pub use server::{CONNECTION_LIMIT, GARBAGE, MAX_CONNECTIONS, READ_LIMIT};

/// The primary site's default lab address (Toulouse, 194.50.38.45 in real life).
pub const DEFAULT_PRIMARY: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 38, 45));
/// The secondary site's default lab address (Bordeaux, 194.50.38.173 in real life).
pub const DEFAULT_SECONDARY: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 38, 173));
/// The gateway's ports: 1146 (STCA2 payment entrance) and 7212 (declaration).
pub const DEFAULT_PORTS: [u16; 2] = [1146, 7212];
/// The primary site's name, as in targets/lab.toml.
pub const PRIMARY_SITE: &str = "toulouse";
/// The secondary site's name, as in targets/lab.toml.
pub const SECONDARY_SITE: &str = "bordeaux";

/// The lab cannot start (or a name does not exist); every message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// `--scenario` names no scenario.
    #[error("unknown scenario `{name}`: choose one of {}", Scenario::names().join(", "))]
    UnknownScenario {
        /// What was asked for.
        name: String,
    },
    /// A behaviour name that does not exist.
    #[error("unknown behaviour `{name}`: choose one of {}", Behaviour::ALL.map(|b| b.as_str()).join(", "))]
    UnknownBehaviour {
        /// What was asked for.
        name: String,
    },
    /// rcgen could not generate a key or certificate.
    #[error("cannot generate the lab PKI: {0}")]
    Pki(#[from] rcgen::Error),
    /// The PEM files could not be written.
    #[error("{}", write_pki_said(Words::english(), .dir, .source))]
    WritePki {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// rustls refused a server configuration (a lab bug, not a user error).
    #[error(
        "cannot build the lab's TLS server for `{behaviour}`: {source} — this is a bug in the lab, please report it"
    )]
    Tls {
        /// The behaviour whose configuration failed.
        behaviour: Behaviour,
        /// Why.
        source: rustls::Error,
    },
    /// A listener could not be bound.
    #[error("{}", server::bind_said(Words::english(), .addr, .source))]
    Bind {
        /// The address and port.
        addr: SocketAddr,
        /// The system's error (its kind decides the advice).
        source: io::Error,
    },
    /// The configuration cannot describe a gateway.
    #[error("bad lab configuration: {0}")]
    Config(String),
}

impl LabError {
    /// The error in `words`' language: what a person can act on (a port
    /// in use, a folder that cannot be written) is in the catalogue; a lab
    /// bug stays English.
    pub fn said(&self, words: Words) -> String {
        match self {
            LabError::Bind { addr, source } => server::bind_said(words, addr, source),
            LabError::WritePki { dir, source } => write_pki_said(words, dir, source),
            other => other.to_string(),
        }
    }
}

fn write_pki_said(words: Words, dir: &std::path::Path, source: &io::Error) -> String {
    words.text(
        "lab-write-pki",
        Some(&stca2_words::args!(
            "dir" => dir.display().to_string(),
            "error" => source.to_string(),
        )),
    )
}

/// What to start: a scenario, the two site addresses, the ports and where the PEMs go.
#[derive(Debug, Clone)]
pub struct LabConfig {
    /// The behaviour of every site x port.
    pub scenario: Scenario,
    /// The primary site's address (default 127.0.38.45).
    pub primary: IpAddr,
    /// The secondary site's address (default 127.0.38.173).
    pub secondary: IpAddr,
    /// The ports served on both sites (default 1146, 7212).
    pub ports: Vec<u16>,
    /// Where the PKI's PEM files are written (default `targets/lab-ca`).
    pub ca_dir: PathBuf,
    /// How long `slow` endpoints wait before the TLS handshake (default 3 s).
    pub slow_delay: Duration,
}

impl LabConfig {
    /// The default lab (addresses, ports, `targets/lab-ca`, 3 s delay) running `scenario`.
    pub fn new(scenario: Scenario) -> Self {
        LabConfig {
            scenario,
            primary: DEFAULT_PRIMARY,
            secondary: DEFAULT_SECONDARY,
            ports: DEFAULT_PORTS.to_vec(),
            ca_dir: PathBuf::from("targets/lab-ca"),
            slow_delay: Duration::from_secs(3),
        }
    }

    fn validate(&self) -> Result<(), LabError> {
        if self.primary == self.secondary {
            return Err(LabError::Config(format!(
                "primary and secondary share the address {}: give each site its own",
                self.primary
            )));
        }
        if self.ports.is_empty() {
            return Err(LabError::Config(
                "no ports: serve at least one (the gateway uses 1146 and 7212)".into(),
            ));
        }
        let mut seen = Vec::new();
        for &p in &self.ports {
            if p == 0 {
                return Err(LabError::Config(
                    "port 0: lab ports must be fixed so a target file can name them".into(),
                ));
            }
            if seen.contains(&p) {
                return Err(LabError::Config(format!("port {p} is listed twice")));
            }
            seen.push(p);
        }
        Ok(())
    }
}

/// One simulated site x port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Primary or secondary.
    pub role: Role,
    /// The site's name (`toulouse`, `bordeaux`).
    pub site: String,
    /// Where it is (listening, unless the behaviour is `closed`).
    pub addr: SocketAddr,
    /// What it does.
    pub behaviour: Behaviour,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<9} {:<9} {:<22} {:<17} {}",
            self.site,
            self.role.as_str(),
            self.addr.to_string(),
            self.behaviour.as_str(),
            self.behaviour.description(stca2_words::Words::english())
        )
    }
}

/// A running lab. Dropping it (or [`Lab::shutdown`]) stops every listener and connection.
#[derive(Debug)]
pub struct Lab {
    config: LabConfig,
    endpoints: Vec<Endpoint>,
    pki: Arc<LabPki>,
    tasks: JoinSet<()>,
    /// The listener task of each listening endpoint (by its address), so
    /// that [`Lab::switch`] can stop one.
    listening: HashMap<SocketAddr, tokio::task::AbortHandle>,
}

impl Lab {
    /// Generates the PKI, writes its PEMs to `config.ca_dir`, binds every
    /// listener and starts serving. Nothing is served unless everything binds.
    pub async fn start(config: LabConfig) -> Result<Lab, LabError> {
        config.validate()?;
        let mut pki = LabPki::generate(config.primary, config.secondary)?;
        // The legacy responder serves the committed SHA-1 STCA chain: its root
        // belongs to the STCA family's anchors too.
        pki.add_stca_anchor(rustls_pki_types::CertificateDer::from(
            legacy::sha1_stca_root_der().to_vec(),
        ));
        pki.write(&config.ca_dir)
            .map_err(|source| LabError::WritePki {
                dir: config.ca_dir.clone(),
                source,
            })?;
        let pki = Arc::new(pki);

        let mut endpoints = Vec::new();
        let mut listeners = Vec::new();
        let mut tls = HashMap::new();
        let sites = [
            (Role::Primary, PRIMARY_SITE, config.primary),
            (Role::Secondary, SECONDARY_SITE, config.secondary),
        ];
        for (role, site, ip) in sites {
            for &port in &config.ports {
                let behaviour = config.scenario.behaviour(role, port);
                let addr = SocketAddr::new(ip, port);
                endpoints.push(Endpoint {
                    role,
                    site: site.to_string(),
                    addr,
                    behaviour,
                });
                if !behaviour.listens() {
                    continue;
                }
                let tls_config = match tls.get(&behaviour) {
                    Some(c) => Clone::clone(c),
                    None => {
                        let c = server::tls_config(behaviour, &pki)?;
                        tls.insert(behaviour, c.clone());
                        c
                    }
                };
                let served = Arc::new(server::Served {
                    behaviour,
                    tls: tls_config,
                    slow_delay: config.slow_delay,
                });
                listeners.push((addr, server::bind(addr)?, served));
            }
        }

        let mut tasks = JoinSet::new();
        let mut listening = HashMap::new();
        for (addr, listener, served) in listeners {
            listening.insert(addr, tasks.spawn(server::serve(listener, served)));
        }
        Ok(Lab {
            config,
            endpoints,
            pki,
            tasks,
            listening,
        })
    }

    /// Switches one site x port to another behaviour while the lab runs (the
    /// router's rules changing under a `check --watch`): its listener stops
    /// (connections already open finish as they were) and, when the new
    /// behaviour listens, a new one serves it on the same address.
    pub async fn switch(
        &mut self,
        role: Role,
        port: u16,
        behaviour: Behaviour,
    ) -> Result<(), LabError> {
        let endpoint = self
            .endpoints
            .iter_mut()
            .find(|e| e.role == role && e.addr.port() == port)
            .ok_or_else(|| {
                LabError::Config(format!("no {} endpoint on port {port}", role.as_str()))
            })?;
        let addr = endpoint.addr;
        if let Some(task) = self.listening.remove(&addr) {
            task.abort();
        }
        endpoint.behaviour = behaviour;
        self.config.scenario = self.config.scenario.clone().with(role, port, behaviour);
        if !behaviour.listens() {
            return Ok(());
        }
        let served = Arc::new(server::Served {
            behaviour,
            tls: server::tls_config(behaviour, &self.pki)?,
            slow_delay: self.config.slow_delay,
        });
        // The aborted listener lets go of its socket at its next poll: try
        // again for up to 2 s.
        let mut tries = 0;
        let listener = loop {
            match server::bind(addr) {
                Ok(l) => break l,
                Err(_) if tries < 200 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                Err(e) => return Err(e),
            }
        };
        self.listening
            .insert(addr, self.tasks.spawn(server::serve(listener, served)));
        Ok(())
    }

    /// Every site x port, primary first, in port order — `closed` ones included.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The PKI the lab serves and trusts.
    pub fn pki(&self) -> &LabPki {
        &self.pki
    }

    /// The configuration the lab was started with.
    pub fn config(&self) -> &LabConfig {
        &self.config
    }

    /// The scenario being served.
    pub fn scenario(&self) -> &Scenario {
        &self.config.scenario
    }

    /// Writes a target set describing this lab: both sites, every port, the
    /// STCA2 and STCA anchors (paths relative to the file when possible) and
    /// `allow = ["127.0.0.0/8"]`.
    pub fn write_target_file(&self, path: &Path) -> io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new(""));
        let anchors = |file: &str| anchor_path(dir, &self.config.ca_dir.join(file));
        let set = TargetFile {
            name: "lab",
            allow: vec!["127.0.0.0/8"],
            site: vec![
                TargetSite {
                    name: PRIMARY_SITE,
                    role: Role::Primary,
                    address: self.config.primary.to_string(),
                },
                TargetSite {
                    name: SECONDARY_SITE,
                    role: Role::Secondary,
                    address: self.config.secondary.to_string(),
                },
            ],
            port: self
                .config
                .ports
                .iter()
                .map(|&number| TargetPort {
                    number,
                    service: match number {
                        1146 => Service::Stca2,
                        7212 => Service::Declaration,
                        _ => Service::Other,
                    },
                })
                .collect(),
            ca: vec![
                TargetCa {
                    family: "STCA2",
                    anchors: anchors("stca2-root.pem")?,
                },
                TargetCa {
                    family: "STCA",
                    anchors: anchors("stca-root.pem")?,
                },
            ],
        };
        let body = toml::to_string(&set).map_err(io::Error::other)?;
        let text = format!(
            "# Written by stca2-probe's lab (scenario `{}`): {}\n{body}",
            self.config.scenario.name,
            self.config
                .scenario
                .description(stca2_words::Words::english())
        );
        std::fs::write(path, text)
    }

    /// Stops every listener and connection and waits until they are gone.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
    }
}

/// `target` as written in a target file in `dir`: relative when `target` is
/// under `dir` (or both are relative), absolute otherwise.
fn anchor_path(dir: &Path, target: &Path) -> io::Result<String> {
    let rel = if target.is_absolute() == dir.is_absolute() {
        relative(dir, target)
    } else {
        None
    };
    let p = match rel {
        Some(p) => p,
        None if target.is_absolute() => target.to_path_buf(),
        None => std::env::current_dir()?.join(target),
    };
    p.to_str()
        .map(|s| s.replace('\\', "/"))
        .ok_or_else(|| io::Error::other(format!("{} is not UTF-8", p.display())))
}

/// The path from `from` (a folder) to `to`, both lexically normal, without touching the disk.
fn relative(from: &Path, to: &Path) -> Option<PathBuf> {
    let (f, t) = (clean_components(from)?, clean_components(to)?);
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c.as_os_str());
    }
    Some(out)
}

/// The components of a path without `.`; `None` when it climbs with `..`.
fn clean_components(p: &Path) -> Option<Vec<Component<'_>>> {
    let mut out = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => return None,
            other => out.push(other),
        }
    }
    Some(out)
}

#[derive(Serialize)]
struct TargetFile {
    name: &'static str,
    allow: Vec<&'static str>,
    site: Vec<TargetSite>,
    port: Vec<TargetPort>,
    ca: Vec<TargetCa>,
}

#[derive(Serialize)]
struct TargetSite {
    name: &'static str,
    role: Role,
    address: String,
}

#[derive(Serialize)]
struct TargetPort {
    number: u16,
    service: Service,
}

#[derive(Serialize)]
struct TargetCa {
    family: &'static str,
    anchors: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative(Path::new("targets"), Path::new("targets/lab-ca/x.pem")).unwrap(),
            PathBuf::from("lab-ca/x.pem")
        );
        assert_eq!(
            relative(Path::new("/tmp/a/b"), Path::new("/tmp/a/ca/x.pem")).unwrap(),
            PathBuf::from("../ca/x.pem")
        );
        assert_eq!(
            relative(Path::new(""), Path::new("./ca/x.pem")).unwrap(),
            PathBuf::from("ca/x.pem")
        );
        assert!(relative(Path::new("../a"), Path::new("b")).is_none());
    }

    #[test]
    fn config_is_validated() {
        let mut c = LabConfig::new(Scenario::named("healthy").unwrap());
        c.secondary = c.primary;
        assert!(c.validate().unwrap_err().to_string().contains("own"));
        let mut c = LabConfig::new(Scenario::named("healthy").unwrap());
        c.ports = vec![1146, 1146];
        assert!(c.validate().is_err());
        c.ports = vec![0];
        assert!(c.validate().is_err());
        c.ports = vec![];
        assert!(c.validate().is_err());
    }
}
