//! The daemon's configuration file: what a box in a shop is told once, at
//! installation, and then reads at every start and every SIGHUP.
//!
//! It is TOML, read strictly: an unknown key is an error (a misspelt
//! `intervall` must not silently mean "the default"), and every error names
//! the file, line and column, the way the target loader does: both read
//! through [`TomlFile`] and report a [`TomlError`]. Loading happens in two
//! steps:
//!
//! 1. [`Config::load`] reads and validates the file itself: types, ranges,
//!    durations (humantime: `90s`, `5m`, `30d`), the upload URL;
//! 2. [`Config::prepare`] turns it into a [`Plan`]: the target set loaded,
//!    the allow-list settled under `STCA2_PROBE_ALLOW` exactly as `check`
//!    does, and refused when any target is outside it. A plan is what a
//!    cycle runs; a config that cannot become one never replaces the
//!    running one.
//!
//! The upload token is not in this file but in `token_file`, read at each
//! upload (see [`crate::upload`]), so that it never appears in the printed
//! settings and can be rotated without a restart.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use stca2_engine::allow::parse_cidr;
use stca2_engine::check::{self, RefusedSite, Settings};
use stca2_engine::probe::ProbeConfig;
use stca2_engine::targets::{TargetSet, TomlError, TomlFile};
use stca2_report::ProbeIdentity;
use stca2_report::limits::MAX_BATCH;
use stca2_words::Said;

/// Where the spool lives when `spool_dir` is not set (systemd's StateDirectory).
pub const DEFAULT_SPOOL_DIR: &str = "/var/lib/stca2-probe/spool";
/// `interval` when not set.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// `jitter` when not set.
pub const DEFAULT_JITTER: Duration = Duration::from_secs(30);
/// `timeout` when not set (as `check --timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// `attempts` when not set (as `check --attempts`).
pub const DEFAULT_ATTEMPTS: u32 = 3;
/// `tls_every` when not set: every cycle is a full check.
pub const DEFAULT_TLS_EVERY: u32 = 1;
/// `spool_max_bytes` when not set: 64 MiB.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// `spool_max_age` when not set: 30 days.
pub const DEFAULT_SPOOL_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// `[upload] batch` when not set.
pub const DEFAULT_BATCH: usize = 100;
/// `[upload] timeout` when not set.
pub const DEFAULT_UPLOAD_TIMEOUT: Duration = Duration::from_secs(30);
/// The shortest `interval`.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The path of the ingest API under `[upload] url`.
pub const REPORTS_PATH: &str = "api/v1/reports";

/// A configuration that cannot be used. Its text is what a person reads:
/// `file:line:column: what is wrong and what to write instead`.
/// `Display` is the English (logs); [`ConfigError::said`] is the reader's
/// language (`config-*` in `check.ftl`).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read, or is not a valid configuration
    /// (`file:line:column: message`, as for a target file).
    #[error(transparent)]
    File(#[from] TomlError),
    /// The configuration's target file cannot be used.
    #[error("{}: {error}", path.display())]
    Targets {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong with the target file.
        error: TomlError,
    },
    /// The allow-list (or `STCA2_PROBE_ALLOW`) refuses targets of the
    /// configuration's target set: nothing was sent.
    #[error("{}: {}", path.display(), refused_text(refused, stca2_words::Words::english()))]
    Refused {
        /// The configuration file.
        path: PathBuf,
        /// The refused sites.
        refused: Vec<RefusedSite>,
    },
    /// The configuration is valid but cannot run: the back office outside
    /// `STCA2_PROBE_ALLOW`, an unreadable client certificate.
    #[error("{}: {message}", path.display())]
    Unusable {
        /// The configuration file.
        path: PathBuf,
        /// Why (`config-*`).
        message: Said,
    },
}

impl ConfigError {
    /// The error in `words`' language: `file:line:column: message`, or
    /// `file: message` for a configuration that cannot run. Only what a
    /// library says (the `toml` crate's syntax errors, an io error) stays
    /// as it wrote it.
    pub fn said(&self, words: stca2_words::Words) -> String {
        match self {
            ConfigError::File(e) => e.said(words),
            ConfigError::Targets { path, error } => {
                format!("{}: {}", path.display(), error.said(words))
            }
            ConfigError::Refused { path, refused } => {
                format!("{}: {}", path.display(), refused_text(refused, words))
            }
            ConfigError::Unusable { path, message } => {
                format!("{}: {}", path.display(), message.text(words))
            }
        }
    }
}

/// The refused sites, one clause each, the fix being the configuration's
/// `allow` key rather than the `--allow` flag (`config-refused`).
fn refused_text(refused: &[RefusedSite], words: stca2_words::Words) -> String {
    let lines: Vec<String> = refused
        .iter()
        .map(|r| r.said_with(words, stca2_engine::allow::AllowFix::Key))
        .collect();
    words.text(
        "config-refused",
        Some(&stca2_words::args!(
            "sites" => lines.join(&words.text("config-refused-separator", None))
        )),
    )
}

/// The validated configuration file.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it came from.
    pub path: PathBuf,
    /// The report's `probe.id`.
    pub probe_id: String,
    /// The report's `probe.merchant`.
    pub merchant: Option<String>,
    /// A target file; `None`: the built-in Lyra set.
    pub targets: Option<PathBuf>,
    /// Networks the probe may contact (empty: the target set's default).
    pub allow: Vec<IpNet>,
    /// One cycle per interval.
    pub interval: Duration,
    /// Each cycle starts at a random offset below this within its slot.
    pub jitter: Duration,
    /// Bounds each step of a check.
    pub timeout: Duration,
    /// Attempts per site x port.
    pub attempts: u32,
    /// For metered links: every `tls_every`th cycle is a full check (TCP
    /// and TLS), the ones between are TCP-only (no handshake, about a
    /// tenth of the bytes; BENCHMARKS.md). 1, the default: every cycle is
    /// full. A TCP-only report's TLS part says `not_attempted`, which the
    /// verdict, the metrics and the back office read as unknown, never as
    /// a failure: the blocked list and the closed streak follow every
    /// cycle, the failover recommendation and the TLS series the full ones.
    /// The first cycle after a start or a reload is full.
    pub tls_every: u32,
    /// Local address to connect from.
    pub source: Option<IpAddr>,
    /// Interface to connect through.
    pub interface: Option<String>,
    /// The spool's folder.
    pub spool_dir: PathBuf,
    /// The spool's size bound.
    pub spool_max_bytes: u64,
    /// The spool's age bound.
    pub spool_max_age: Duration,
    /// Where `/metrics` is served, when anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Where reports go; `None`: they stay in the spool.
    pub upload: Option<UploadConfig>,
}

/// `[upload]`.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadConfig {
    /// The back office's base URL, ending in `/`.
    pub url: reqwest::Url,
    /// `{url}api/v1/reports`.
    pub endpoint: reqwest::Url,
    /// The file holding the probe's token.
    pub token_file: PathBuf,
    /// Reports per upload at most.
    pub batch: usize,
    /// A private CA for the back office; `None`: the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Bounds each upload request, from connect to the last byte.
    pub timeout: Duration,
}

impl UploadConfig {
    /// `[upload]` from a command line (`check --upload URL --upload-token
    /// FILE [--upload-ca PEM]`): the same rules as the file's (https://, or
    /// http:// to loopback only; no credentials in the URL; under
    /// `STCA2_PROBE_ALLOW`, an IP literal inside it) and the same defaults.
    /// The error says what to change.
    pub fn from_flags(
        url: &str,
        token_file: PathBuf,
        ca_file: Option<PathBuf>,
        ceiling: Option<&[IpNet]>,
    ) -> Result<UploadConfig, Said> {
        let raw = RawUpload {
            url: Spanned::new(0..url.len(), url.to_string()),
            token_file,
            batch: None,
            ca_file,
            timeout: None,
        };
        let at = |_: Option<Range<usize>>, id: &'static str, args: Vec<(&'static str, String)>| {
            ConfigError::Unusable {
                path: PathBuf::from("--upload"),
                message: Said::new(id, args),
            }
        };
        let upload = parse_upload(raw, &at, &|p| p).map_err(|e| match e {
            ConfigError::Unusable { message, .. } => message,
            other => Said::new("config-error", [("error", other.to_string())]),
        })?;
        if let Some(ceiling) = ceiling {
            upload_within(&upload.url, ceiling)?;
        }
        Ok(upload)
    }
}

/// A configuration ready to run: the target set loaded and the allow-list
/// settled. Cycles read it; SIGHUP replaces it whole or not at all.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The configuration.
    pub config: Config,
    /// The loaded target set.
    pub targets: TargetSet,
    /// The engine's configuration, under the settled allow-list.
    pub probe: ProbeConfig,
    /// The upload client for `[upload]` (its `ca_file` read and checked),
    /// built here so that a bad `ca_file` fails `--check-config` and a
    /// reload, not the first upload.
    pub upload_client: Option<reqwest::Client>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    probe_id: Spanned<String>,
    merchant: Option<String>,
    targets: Option<PathBuf>,
    allow: Option<Vec<Spanned<String>>>,
    interval: Option<Spanned<String>>,
    jitter: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    attempts: Option<Spanned<i64>>,
    tls_every: Option<Spanned<i64>>,
    source: Option<Spanned<String>>,
    interface: Option<Spanned<String>>,
    spool_dir: Option<PathBuf>,
    spool_max_bytes: Option<Spanned<i64>>,
    spool_max_age: Option<Spanned<String>>,
    metrics_listen: Option<Spanned<String>>,
    upload: Option<RawUpload>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpload {
    url: Spanned<String>,
    token_file: PathBuf,
    batch: Option<Spanned<i64>>,
    ca_file: Option<PathBuf>,
    timeout: Option<Spanned<String>>,
}

impl Config {
    /// Reads and validates a configuration file. Relative paths in it
    /// (targets, spool_dir, token_file, ca_file) are taken relative to the
    /// file's folder, so that a configuration means the same from any
    /// working directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = TomlFile::read(path, "daemon-config")?;
        Config::parse(&text, path)
    }

    /// Validates a configuration's text; `path` names it in errors and
    /// anchors its relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = TomlFile { path, text };
        let at =
            |span: Option<Range<usize>>, id: &'static str, args: Vec<(&'static str, String)>| {
                ConfigError::from(file.at(span, id, args))
            };
        let raw: RawConfig = file.parse()?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let rel = |p: PathBuf| if p.is_absolute() { p } else { dir.join(p) };

        let probe_id = raw.probe_id.get_ref().trim().to_string();
        if probe_id.is_empty() || probe_id.len() > 200 || probe_id.chars().any(char::is_control) {
            return Err(at(Some(raw.probe_id.span()), "config-probe-id", vec![]));
        }
        let duration = |v: &Option<Spanned<String>>, key: &str, default: Duration| match v {
            None => Ok(default),
            Some(s) => humantime::parse_duration(s.get_ref().trim()).map_err(|e| {
                at(
                    Some(s.span()),
                    "config-duration-invalid",
                    vec![
                        ("key", key.to_string()),
                        ("value", format!("{:?}", s.get_ref())),
                        ("error", e.to_string()),
                    ],
                )
            }),
        };
        let interval = duration(&raw.interval, "interval", DEFAULT_INTERVAL)?;
        let span_of = |v: &Option<Spanned<String>>| v.as_ref().map(Spanned::span);
        if interval < MIN_INTERVAL {
            return Err(at(span_of(&raw.interval), "config-interval-short", vec![]));
        }
        let jitter = duration(&raw.jitter, "jitter", DEFAULT_JITTER.min(interval / 2))?;
        if jitter >= interval {
            return Err(at(
                span_of(&raw.jitter).or(span_of(&raw.interval)),
                "config-jitter-long",
                vec![
                    ("jitter", humantime::format_duration(jitter).to_string()),
                    ("interval", humantime::format_duration(interval).to_string()),
                ],
            ));
        }
        let timeout = duration(&raw.timeout, "timeout", DEFAULT_TIMEOUT)?;
        if !(Duration::from_millis(50)..=Duration::from_secs(300)).contains(&timeout) {
            return Err(at(span_of(&raw.timeout), "config-timeout-range", vec![]));
        }
        let attempts = match &raw.attempts {
            None => DEFAULT_ATTEMPTS,
            Some(a) => match u32::try_from(*a.get_ref()) {
                Ok(n @ 1..=100) => n,
                _ => return Err(at(Some(a.span()), "config-attempts-range", vec![])),
            },
        };
        let tls_every = match &raw.tls_every {
            None => DEFAULT_TLS_EVERY,
            Some(a) => match u32::try_from(*a.get_ref()) {
                Ok(n @ 1..=10_000) => n,
                _ => {
                    return Err(at(Some(a.span()), "config-tls-every-range", vec![]));
                }
            },
        };
        let allow = raw
            .allow
            .iter()
            .flatten()
            .map(|c| {
                parse_cidr(c.get_ref())
                    .map_err(|e| at(Some(c.span()), "cidr-invalid", vec![("text", e.text)]))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let source = match &raw.source {
            None => None,
            Some(s) => Some(s.get_ref().trim().parse::<IpAddr>().map_err(|_| {
                at(
                    Some(s.span()),
                    "config-source-invalid",
                    vec![("value", format!("{:?}", s.get_ref()))],
                )
            })?),
        };
        let interface = match &raw.interface {
            None => None,
            Some(i) if i.get_ref().is_empty() || i.get_ref().len() > 15 => {
                return Err(at(Some(i.span()), "config-interface-invalid", vec![]));
            }
            Some(i) => Some(i.get_ref().clone()),
        };
        let spool_max_bytes = match &raw.spool_max_bytes {
            None => DEFAULT_SPOOL_MAX_BYTES,
            Some(b) => match u64::try_from(*b.get_ref()) {
                Ok(n) if n >= 64 * 1024 => n,
                _ => {
                    return Err(at(Some(b.span()), "config-spool-max-bytes", vec![]));
                }
            },
        };
        let spool_max_age = duration(&raw.spool_max_age, "spool_max_age", DEFAULT_SPOOL_MAX_AGE)?;
        if spool_max_age < interval {
            return Err(at(
                span_of(&raw.spool_max_age),
                "config-spool-max-age",
                vec![],
            ));
        }
        let metrics_listen = match &raw.metrics_listen {
            None => None,
            Some(m) => Some(m.get_ref().trim().parse::<SocketAddr>().map_err(|_| {
                at(
                    Some(m.span()),
                    "config-metrics-listen-invalid",
                    vec![("value", format!("{:?}", m.get_ref()))],
                )
            })?),
        };
        let upload = match raw.upload {
            None => None,
            Some(u) => Some(parse_upload(u, &at, &rel)?),
        };
        Ok(Config {
            path: path.to_path_buf(),
            probe_id,
            merchant: raw.merchant,
            targets: raw.targets.map(rel),
            allow,
            interval,
            jitter,
            timeout,
            attempts,
            tls_every,
            source,
            interface,
            spool_dir: raw
                .spool_dir
                .map_or_else(|| PathBuf::from(DEFAULT_SPOOL_DIR), rel),
            spool_max_bytes,
            spool_max_age,
            metrics_listen,
            upload,
        })
    }

    /// The probe settings of `check` that this configuration gives.
    pub fn settings(&self) -> Settings {
        Settings {
            timeout: self.timeout,
            attempts: self.attempts,
            source: self.source,
            interface: self.interface.clone(),
            client_cert: None,
            client_key: None,
            with_pem: false,
        }
    }

    /// Who runs the checks, as every report will say.
    pub fn identity(&self) -> ProbeIdentity {
        check::identity(
            Some(self.probe_id.clone()),
            self.merchant.clone(),
            self.source,
            self.interface.clone(),
        )
    }

    /// Loads the target set and settles the allow-list under `ceiling`
    /// (`STCA2_PROBE_ALLOW`), exactly as `check` does; refuses a target
    /// outside it.
    pub fn prepare(&self, ceiling: Option<Vec<IpNet>>) -> Result<Plan, ConfigError> {
        let unusable = |message: Said| ConfigError::Unusable {
            path: self.path.clone(),
            message,
        };
        let targets = match &self.targets {
            Some(p) => TargetSet::load(p),
            None => TargetSet::builtin(),
        }
        .map_err(|error| ConfigError::Targets {
            path: self.path.clone(),
            error,
        })?;
        let upload_refused = match (&ceiling, &self.upload) {
            (Some(ceiling), Some(u)) => upload_within(&u.url, ceiling).err(),
            _ => None,
        };
        let allow = check::allow_list(&targets, &self.allow, ceiling);
        let refused = check::refused_targets(&targets, &allow);
        if !refused.is_empty() {
            return Err(ConfigError::Refused {
                path: self.path.clone(),
                refused,
            });
        }
        if let Some(message) = upload_refused {
            return Err(unusable(message));
        }
        let upload_client = self
            .upload
            .as_ref()
            .map(|u| crate::upload::client(u.ca_file.as_deref(), u.timeout))
            .transpose()
            .map_err(|e| {
                unusable(Said::new(
                    "config-upload-client",
                    [("error", format!("{e:#}"))],
                ))
            })?;
        let probe = self
            .settings()
            .probe_config(allow)
            .map_err(|e| unusable(Said::new("config-error", [("error", format!("{e:#}"))])))?;
        Ok(Plan {
            config: self.clone(),
            targets,
            probe,
            upload_client,
        })
    }
}

/// `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback_host(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Under a ceiling (`STCA2_PROBE_ALLOW`), the back office is an address
/// like any other: its host must be an IP literal inside the ceiling. A
/// host name, `localhost` included, would need the system's resolver
/// (which may ask DNS), and its answer could lie anywhere.
fn upload_within(url: &reqwest::Url, ceiling: &[IpNet]) -> Result<(), Said> {
    let host = url.host_str().unwrap_or_default();
    // An IPv6 literal comes bracketed.
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let ip = match literal.parse::<std::net::IpAddr>() {
        Ok(ip) => ip,
        Err(_) => {
            return Err(Said::new(
                "config-upload-host-named",
                [
                    ("url", url.to_string()),
                    ("variable", stca2_words::CEILING_ENV.to_string()),
                ],
            ));
        }
    };
    if ceiling.iter().any(|n| n.contains(&ip)) {
        return Ok(());
    }
    let list: Vec<String> = ceiling.iter().map(IpNet::to_string).collect();
    Err(Said::new(
        "config-upload-outside",
        [
            ("url", url.to_string()),
            ("ip", ip.to_string()),
            ("variable", stca2_words::CEILING_ENV.to_string()),
            ("list", list.join(",")),
        ],
    ))
}

/// A validation error at a span: message id and arguments ([`Said`]).
type At<'a> =
    dyn Fn(Option<Range<usize>>, &'static str, Vec<(&'static str, String)>) -> ConfigError + 'a;

fn parse_upload(
    u: RawUpload,
    at: &At<'_>,
    rel: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<UploadConfig, ConfigError> {
    let text = u.url.get_ref().trim();
    let mut url = reqwest::Url::parse(text).map_err(|e| {
        at(
            Some(u.url.span()),
            "config-url-invalid",
            vec![("value", format!("{text:?}")), ("error", e.to_string())],
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(at(
            Some(u.url.span()),
            "config-url-scheme",
            vec![("value", format!("{text:?}"))],
        ));
    }
    if url.scheme() == "http" && !is_loopback_host(&url) {
        return Err(at(
            Some(u.url.span()),
            "config-url-clear",
            vec![("value", format!("{text:?}"))],
        ));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(at(Some(u.url.span()), "config-url-credentials", vec![]));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    let endpoint = url.join(REPORTS_PATH).map_err(|e| {
        at(
            Some(u.url.span()),
            "config-url-join",
            vec![("error", e.to_string())],
        )
    })?;
    let batch = match &u.batch {
        None => DEFAULT_BATCH,
        Some(b) => match usize::try_from(*b.get_ref()) {
            Ok(n) if (1..=MAX_BATCH).contains(&n) => n,
            _ => {
                return Err(at(
                    Some(b.span()),
                    "config-batch-range",
                    vec![("max", MAX_BATCH.to_string())],
                ));
            }
        },
    };
    let timeout = match &u.timeout {
        None => DEFAULT_UPLOAD_TIMEOUT,
        Some(t) => match humantime::parse_duration(t.get_ref().trim()) {
            Ok(d) if (Duration::from_millis(100)..=Duration::from_secs(600)).contains(&d) => d,
            _ => {
                return Err(at(
                    Some(t.span()),
                    "config-upload-timeout-range",
                    vec![("value", format!("{:?}", t.get_ref()))],
                ));
            }
        },
    };
    Ok(UploadConfig {
        timeout,
        url,
        endpoint,
        token_file: rel(u.token_file),
        batch,
        ca_file: u.ca_file.map(rel),
    })
}

/// The effective settings, one `key = value` a line, as `--check-config`
/// prints them: defaults filled in, paths resolved, never the token.
impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = |d: Duration| humantime::format_duration(d).to_string();
        let opt = |o: Option<String>| o.map_or_else(|| "(none)".to_string(), |s| format!("{s:?}"));
        writeln!(f, "probe_id = {:?}", self.probe_id)?;
        writeln!(f, "merchant = {}", opt(self.merchant.clone()))?;
        writeln!(
            f,
            "targets = {}",
            self.targets.as_ref().map_or_else(
                || "(built-in lyra)".to_string(),
                |p| format!("{:?}", p.display().to_string())
            )
        )?;
        let allow: Vec<String> = self.allow.iter().map(|n| format!("{n:?}")).collect();
        writeln!(
            f,
            "allow = {}",
            if allow.is_empty() {
                "(the target set's own addresses)".to_string()
            } else {
                format!("[{}]", allow.join(", "))
            }
        )?;
        writeln!(f, "interval = {:?}", d(self.interval))?;
        writeln!(f, "jitter = {:?}", d(self.jitter))?;
        writeln!(f, "timeout = {:?}", d(self.timeout))?;
        writeln!(f, "attempts = {}", self.attempts)?;
        writeln!(f, "tls_every = {}", self.tls_every)?;
        writeln!(f, "source = {}", opt(self.source.map(|s| s.to_string())))?;
        writeln!(f, "interface = {}", opt(self.interface.clone()))?;
        writeln!(f, "spool_dir = {:?}", self.spool_dir.display().to_string())?;
        writeln!(f, "spool_max_bytes = {}", self.spool_max_bytes)?;
        writeln!(f, "spool_max_age = {:?}", d(self.spool_max_age))?;
        writeln!(
            f,
            "metrics_listen = {}",
            opt(self.metrics_listen.map(|m| m.to_string()))
        )?;
        match &self.upload {
            None => writeln!(f, "[upload] (none: reports stay in the spool)"),
            Some(u) => {
                writeln!(f, "[upload]")?;
                writeln!(f, "url = {:?}", u.url.as_str())?;
                writeln!(f, "endpoint = {:?}", u.endpoint.as_str())?;
                writeln!(f, "token_file = {:?}", u.token_file.display().to_string())?;
                writeln!(f, "batch = {}", u.batch)?;
                writeln!(f, "timeout = {:?}", d(u.timeout))?;
                writeln!(
                    f,
                    "ca_file = {}",
                    u.ca_file.as_ref().map_or_else(
                        || "(the system's roots)".to_string(),
                        |p| format!("{:?}", p.display().to_string())
                    )
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
probe_id = "shop-0042"
merchant = "M-1234"
targets = "lab.toml"
allow = ["127.0.0.0/8"]
interval = "2s"
jitter = "500ms"
spool_dir = "spool"
[upload]
url = "http://127.0.0.1:8080"
token_file = "token"
batch = 10
"#;

    fn err(text: &str) -> (usize, usize, String) {
        match Config::parse(text, Path::new("/etc/d.toml")).unwrap_err() {
            ConfigError::File(TomlError::Invalid {
                line,
                column,
                message,
                ..
            }) => (line, column, message.to_string()),
            e => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn validation_messages_are_said_in_the_readers_language() {
        use stca2_words::{Lang, Words};
        let fr = Words::new(Lang::Fr);
        let path = Path::new("/etc/d.toml");
        let said_well = |text: &str| {
            assert!(
                !text.contains("[config-") && !text.contains("[target-"),
                "{text}"
            );
            assert!(!text.contains("{ $"), "{text}");
        };
        // A duration that is not one: the English is today's; the French
        // keeps the key, the value and humantime's reason as written.
        let e = Config::parse(
            &GOOD.replacen("interval = \"2s\"", "interval = \"2 parsecs\"", 1),
            path,
        )
        .unwrap_err();
        let en = e.to_string();
        assert!(
            en.starts_with("/etc/d.toml:6:12: interval = \"2 parsecs\" is not a duration (")
                && en.ends_with("); write e.g. \"90s\", \"5m\" or \"1h 30m\""),
            "{en}"
        );
        let text = e.said(fr);
        assert!(
            text.starts_with("/etc/d.toml:6:12: interval = \"2 parsecs\" n'est pas une durée (")
                && text.contains("écrivez par exemple"),
            "{text}"
        );
        said_well(&text);
        // Every other check, in French.
        for (needle, replacement, french) in [
            (
                "jitter = \"500ms\"",
                "jitter = \"3s\"",
                "doit être plus court que interval",
            ),
            ("\"127.0.0.0/8\"", "\"127.0.0.0/33\"", "n'est pas un réseau"),
            ("batch = 10", "batch = 1001", "compris entre 1 et 1000"),
            (
                "\"http://127.0.0.1:8080\"",
                "\"ftp://x\"",
                "doit être une URL",
            ),
            (
                "\"http://127.0.0.1:8080\"",
                "\"http://192.0.2.7:8080\"",
                "en clair",
            ),
            (
                "probe_id = \"shop-0042\"",
                "probe_id = \"\"",
                "caractères imprimables",
            ),
            (
                "batch = 10",
                "batch = 10\ntimeout = \"1h\"",
                "doit être une durée de 100ms à 10m",
            ),
            (
                "jitter = \"500ms\"",
                "jitter = \"500ms\"\nattempts = 0",
                "compris entre 1 et 100",
            ),
            (
                "jitter = \"500ms\"",
                "jitter = \"500ms\"\nsource = \"x\"",
                "n'est pas une adresse IP",
            ),
            (
                "jitter = \"500ms\"",
                "jitter = \"500ms\"\nspool_max_bytes = 1",
                "au moins 65536",
            ),
            (
                "jitter = \"500ms\"",
                "jitter = \"500ms\"\nmetrics_listen = \"x\"",
                "une adresse avec un port",
            ),
        ] {
            let e = Config::parse(&GOOD.replacen(needle, replacement, 1), path).unwrap_err();
            let text = e.said(fr);
            assert!(text.contains(french), "{text} ({e})");
            said_well(&text);
        }

        // check --upload's flags.
        let e =
            UploadConfig::from_flags("http://192.0.2.7/", "token".into(), None, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "url = \"http://192.0.2.7/\": http:// would send the token and the reports in clear; use https:// (http:// only to a loopback address)"
        );
        assert!(e.text(fr).contains("en clair"), "{}", e.text(fr));
        let ceiling: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap()];
        let e = UploadConfig::from_flags(
            "https://bo.example.net/",
            "token".into(),
            None,
            Some(&ceiling),
        )
        .unwrap_err();
        assert!(e.to_string().contains("names a host"), "{e}");
        let text = e.text(fr);
        assert!(
            text.contains("contient un nom d'hôte") && text.contains("STCA2_PROBE_ALLOW"),
            "{text}"
        );
        said_well(&text);

        // A configuration that cannot run: its targets refused, unreadable.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("lab.toml"),
            "name = \"t\"\n[[site]]\nname = \"a\"\nrole = \"primary\"\naddress = \"127.0.38.45\"\n[[port]]\nnumber = 1146\nservice = \"stca2\"\n",
        )
        .unwrap();
        let config_path = dir.path().join("d.toml");
        let c = Config::parse(
            "probe_id = \"p\"\ntargets = \"lab.toml\"\nallow = [\"10.0.0.0/8\"]\n",
            &config_path,
        )
        .unwrap();
        let e = c.prepare(None).unwrap_err();
        let en = e.to_string();
        assert!(
            en.contains("add to `allow` a network that contains it; nothing was sent"),
            "{en}"
        );
        let text = e.said(fr);
        assert!(
            text.contains("ajoutez à la clé `allow` un réseau")
                && text.ends_with("rien n'a été envoyé"),
            "{text}"
        );
        said_well(&text);
        let c = Config::parse(
            "probe_id = \"p\"\ntargets = \"missing.toml\"\n",
            &config_path,
        )
        .unwrap();
        let text = c.prepare(None).unwrap_err().said(fr);
        assert!(text.contains("le fichier de cibles"), "{text}");
    }

    #[test]
    fn under_a_ceiling_the_upload_host_is_an_address_inside_it() {
        let ceiling: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        for ok in ["http://127.0.0.1:8080/", "http://[::1]:8080/"] {
            assert_eq!(upload_within(&url(ok), &ceiling), Ok(()), "{ok}");
        }
        for (refused, says) in [
            ("https://bo.example.net/", "names a host"),
            // A name, even this one, goes through the system's resolver.
            ("https://localhost/", "names a host"),
            ("http://LOCALHOST:1/", "names a host"),
            (
                "https://194.50.38.45/",
                "194.50.38.45 is outside STCA2_PROBE_ALLOW",
            ),
            (
                "http://[2001:db8::1]/",
                "outside STCA2_PROBE_ALLOW (127.0.0.0/8,::1/128)",
            ),
        ] {
            let e = upload_within(&url(refused), &ceiling)
                .unwrap_err()
                .to_string();
            assert!(e.contains(says) && e.contains("nothing was sent"), "{e}");
        }
    }

    #[test]
    fn good_file_with_defaults_and_resolved_paths() {
        let c = Config::parse(GOOD, Path::new("/etc/d.toml")).unwrap();
        assert_eq!(c.interval, Duration::from_secs(2));
        assert_eq!(c.jitter, Duration::from_millis(500));
        assert_eq!(c.timeout, DEFAULT_TIMEOUT);
        assert_eq!(c.attempts, 3);
        assert_eq!(c.spool_dir, PathBuf::from("/etc/spool"));
        assert_eq!(c.targets, Some(PathBuf::from("/etc/lab.toml")));
        assert_eq!(c.spool_max_bytes, DEFAULT_SPOOL_MAX_BYTES);
        assert_eq!(c.spool_max_age, DEFAULT_SPOOL_MAX_AGE);
        let u = c.upload.as_ref().unwrap();
        assert_eq!(u.endpoint.as_str(), "http://127.0.0.1:8080/api/v1/reports");
        assert_eq!(u.token_file, PathBuf::from("/etc/token"));
        assert_eq!(u.batch, 10);
        let shown = c.to_string();
        assert!(shown.contains("interval = \"2s\""), "{shown}");
        assert!(shown.contains("ca_file = (the system's roots)"), "{shown}");
        // A base URL with a path keeps it.
        let c = Config::parse(
            &GOOD.replace("http://127.0.0.1:8080", "https://bo.example.net/stca2"),
            Path::new("d.toml"),
        )
        .unwrap();
        assert_eq!(
            c.upload.unwrap().endpoint.as_str(),
            "https://bo.example.net/stca2/api/v1/reports"
        );
        // The minimum: a probe id.
        let c = Config::parse("probe_id = \"p\"\n", Path::new("d.toml")).unwrap();
        assert_eq!(c.interval, DEFAULT_INTERVAL);
        assert_eq!(c.jitter, DEFAULT_JITTER);
        assert!(c.upload.is_none());
    }

    #[test]
    fn the_packaged_example_is_valid_and_says_what_the_defaults_are() {
        let text = include_str!("../../../packaging/daemon.toml");
        let c = Config::parse(text, Path::new("/etc/stca2-probe/daemon.toml")).unwrap();
        assert_eq!(c.interval, DEFAULT_INTERVAL);
        assert_eq!(c.jitter, DEFAULT_JITTER);
        assert_eq!(c.timeout, DEFAULT_TIMEOUT);
        assert_eq!(c.attempts, DEFAULT_ATTEMPTS);
        assert_eq!(c.spool_dir, PathBuf::from(DEFAULT_SPOOL_DIR));
        assert_eq!(c.spool_max_bytes, DEFAULT_SPOOL_MAX_BYTES);
        assert_eq!(c.spool_max_age, DEFAULT_SPOOL_MAX_AGE);
        let u = c.upload.unwrap();
        assert_eq!(u.batch, DEFAULT_BATCH);
        assert_eq!(u.timeout, DEFAULT_UPLOAD_TIMEOUT);
        assert_eq!(
            u.endpoint.as_str(),
            "https://backoffice.example.net/api/v1/reports"
        );
        // Every key of the file is documented in it, commented or not.
        for key in [
            "probe_id",
            "merchant",
            "targets",
            "allow",
            "interval",
            "jitter",
            "timeout",
            "attempts",
            "source",
            "interface",
            "spool_dir",
            "spool_max_bytes",
            "spool_max_age",
            "metrics_listen",
            "url",
            "token_file",
            "batch",
            "ca_file",
        ] {
            assert!(text.contains(&format!("{key} = ")), "{key}");
        }
    }

    #[test]
    fn tls_every_is_one_by_default_and_refused_outside_its_range() {
        let c = Config::parse("probe_id = \"p\"\n", Path::new("d.toml")).unwrap();
        assert_eq!(c.tls_every, DEFAULT_TLS_EVERY);
        let c = Config::parse("probe_id = \"p\"\ntls_every = 12\n", Path::new("d.toml")).unwrap();
        assert_eq!(c.tls_every, 12);
        assert!(c.to_string().contains("tls_every = 12"), "{c}");
        for bad in ["0", "-3", "10001"] {
            let e = Config::parse(
                &format!("probe_id = \"p\"\ntls_every = {bad}\n"),
                Path::new("d.toml"),
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.starts_with("d.toml:2:13: tls_every must be from 1"),
                "{e}"
            );
        }
    }

    #[test]
    fn bad_files_name_line_and_column() {
        let cases: &[(&str, &str, usize, usize, &str)] = &[
            (
                "interval = \"2s\"",
                "intervall = \"2s\"",
                6,
                1,
                "unknown field",
            ),
            (
                "interval = \"2s\"",
                "interval = \"2 parsecs\"",
                6,
                12,
                "not a duration",
            ),
            (
                "interval = \"2s\"",
                "interval = \"500ms\"",
                6,
                12,
                "at least 1s",
            ),
            (
                "jitter = \"500ms\"",
                "jitter = \"3s\"",
                7,
                10,
                "shorter than interval",
            ),
            (
                "\"127.0.0.0/8\"",
                "\"127.0.0.0/33\"",
                5,
                10,
                "not a network",
            ),
            ("batch = 10", "batch = 1001", 12, 9, "from 1 to 1000"),
            (
                "\"http://127.0.0.1:8080\"",
                "\"ftp://x\"",
                10,
                7,
                "http:// or https://",
            ),
            (
                "\"http://127.0.0.1:8080\"",
                "\"http://192.0.2.7:8080\"",
                10,
                7,
                "in clear; use https://",
            ),
            (
                "probe_id = \"shop-0042\"",
                "probe_id = \"\"",
                2,
                12,
                "probe_id",
            ),
            (
                "token_file = \"token\"",
                "token = \"abc\"",
                11,
                1,
                "unknown field",
            ),
        ];
        for (needle, replacement, line, column, msg) in cases {
            let text = GOOD.replacen(needle, replacement, 1);
            let (l, c, m) = err(&text);
            assert_eq!((l, c), (*line, *column), "{replacement}: {m}");
            assert!(m.contains(msg), "{replacement}: {m}");
        }
        let (l, _, m) = err("merchant = \"m\"\n");
        assert_eq!(l, 1);
        assert!(m.contains("probe_id"), "{m}");
        let e = Config::parse("probe_id = 1\n", Path::new("/etc/d.toml")).unwrap_err();
        assert!(e.to_string().starts_with("/etc/d.toml:1:12: "), "{e}");
    }
}
