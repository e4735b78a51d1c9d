//! Metrics: what the latest cycle saw and what the daemon did, in the
//! Prometheus text format on `GET /metrics`.
//!
//! Names follow Prometheus's blackbox_exporter where they mean the same
//! (`probe_success`, `probe_duration_seconds`, `probe_ssl_earliest_cert_expiry`,
//! ...), so that existing dashboards and alerts work; ours start with
//! `stca2_probe_`. Per-target series carry the labels `site`, `role`,
//! `address`, `port` and `service`: their number is bounded by the target
//! set, and they are rebuilt from the latest report at each scrape, so a
//! target removed by a reload disappears. The TLS-derived series
//! (`probe_success`, the chain, the version, the CA family) come from the
//! latest *full* check: a TCP-only cycle (`tls_every`) says nothing about
//! TLS, so it moves the TCP series only; `probe_success` of a port that
//! still opens keeps the latest full check's value, and drops to 0 when the
//! port no longer opens.
//!
//! `stca2_probe_wire_bytes_total{direction}` adds up the bytes every cycle's
//! probe sockets put on the wire, read from the sockets ([`stca2_report::WireBytes`]
//! says what is counted): what a metered link pays for the checks. The
//! uploads' own bytes are not in it (reqwest does not expose its socket).
//!
//! The server is a few lines of HTTP/1.1 on a tokio listener (one request
//! per connection, head bounded to 8 KiB and 5 s, at most 16 connections at
//! once): enough for a scraper, and no web framework in the shop build.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::shutdown::Shutdown;
use crate::spool::Stats;
use crate::upload::Outcome;
use stca2_report::{
    CaFamily, Report, Service, TargetResult, TcpStatus, TlsResult, TlsStatus, WireBytes,
};

/// The most connections served at once.
const MAX_CONNECTIONS: usize = 16;
/// The longest request head read.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The daemon's metrics, shared by its tasks.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    latest: Option<Arc<Report>>,
    /// The latest report whose handshakes were tried (not TCP-only).
    latest_full: Option<Arc<Report>>,
    checks: u64,
    wire: WireBytes,
    skipped: u64,
    spool: Stats,
    spool_write_errors: u64,
    /// The last report could not be written to the spool (degraded mode).
    spool_failing: bool,
    uploads: BTreeMap<Outcome, u64>,
    quarantined_now: u64,
    last_success: Option<f64>,
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut g)
    }

    /// A cycle finished with this report.
    pub fn cycle(&self, report: Arc<Report>) {
        self.with(|m| {
            m.checks += 1;
            m.wire += report.wire();
            if !report.tcp_only() {
                m.latest_full = Some(report.clone());
            }
            m.latest = Some(report);
        });
    }

    /// Slots skipped because a cycle ran late.
    pub fn skipped(&self, n: u64) {
        self.with(|m| m.skipped += n);
    }

    /// A report could not be written to the spool: degraded mode.
    pub fn spool_write_error(&self) {
        self.with(|m| {
            m.spool_write_errors += 1;
            m.spool_failing = true;
        });
    }

    /// The spool can be written (a report was, or the folder opened).
    pub fn spool_writable(&self) {
        self.with(|m| m.spool_failing = false);
    }

    /// The spool's content now.
    pub fn spool(&self, stats: Stats) {
        self.with(|m| m.spool = stats);
    }

    /// One upload request ended so.
    pub fn upload(&self, outcome: Outcome) {
        self.with(|m| *m.uploads.entry(outcome).or_default() += 1);
    }

    /// A 2xx acknowledged `reports` reports.
    pub fn upload_succeeded(&self, reports: usize) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.with(|m| {
            m.last_success = Some(now);
            m.spool.reports = m.spool.reports.saturating_sub(reports as u64);
        });
    }

    /// A report went to quarantine.
    pub fn quarantined(&self) {
        self.with(|m| m.quarantined_now += 1);
    }

    /// The text format, as served.
    pub fn render(&self) -> String {
        self.with(|m| render(m))
    }
}

/// One metric family being written: `# HELP`, `# TYPE`, then samples.
struct Family<'a> {
    out: &'a mut String,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &str, kind: &str, help: &str) -> Family<'a> {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Family { out }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", number(value));
    }
}

/// A label value in the text format: `\`, `"` and newlines escaped.
pub fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// Whether a target is what the migration needs: TLS completed with an
/// STCA2 chain, or, on the declaration port, the server asked for a
/// terminal's client certificate.
pub fn success(t: &TargetResult) -> bool {
    let Some(tls) = &t.tls else { return false };
    let stca2 = tls.ca_family == Some(CaFamily::Stca2);
    let client_auth = tls.status == TlsStatus::ClientAuthRequired || tls.client_auth.is_some();
    (tls.status == TlsStatus::Ok && stca2) || (t.service == Service::Declaration && client_auth)
}

/// A per-target sample: an extra label (name, value) when the family has
/// one, and the value.
type Value = (Option<(&'static str, String)>, f64);

fn render(m: &Inner) -> String {
    let mut out = String::new();
    let targets: &[TargetResult] = m.latest.as_deref().map_or(&[], |r| &r.results);
    // TLS-derived series: the latest full check's targets.
    let tls_targets: &[TargetResult] = m.latest_full.as_deref().map_or(&[], |r| &r.results);
    let per_target = |out: &mut String,
                      name: &str,
                      kind: &str,
                      help: &str,
                      value: &dyn Fn(&TargetResult) -> Option<Value>| {
        per_target_of(out, targets, name, kind, help, value);
    };
    let per_target_tls = |out: &mut String,
                          name: &str,
                          kind: &str,
                          help: &str,
                          value: &dyn Fn(&TargetResult) -> Option<Value>| {
        per_target_of(out, tls_targets, name, kind, help, value);
    };
    let ms = |l: &Option<stca2_report::LatencyStats>| l.as_ref().map_or(0.0, |s| s.p50);
    per_target(
        &mut out,
        "probe_success",
        "gauge",
        "1 when TLS completed with an STCA2 chain, or the declaration port asked for a client certificate (after a TCP-only cycle: the latest full check's TLS, while the port still opens).",
        &|t| {
            let ok = if t.tls.as_ref().is_some_and(TlsResult::is_not_attempted) {
                tls_targets
                    .iter()
                    .find(|f| (&f.site, &f.address, f.port) == (&t.site, &t.address, t.port))
                    .is_some_and(success)
            } else {
                success(t)
            };
            Some((None, f64::from(u8::from(ok))))
        },
    );
    per_target(
        &mut out,
        "probe_duration_seconds",
        "gauge",
        "DNS, TCP connect and TLS handshake (medians) of the latest check, in seconds.",
        &|t| {
            let dns = t.dns.as_ref().map_or(0.0, |d| d.ms);
            let tls = t.tls.as_ref().map_or(0.0, |s| ms(&s.handshake_ms));
            Some((None, (dns + ms(&t.tcp.connect_ms) + tls) / 1000.0))
        },
    );
    per_target(
        &mut out,
        "probe_dns_lookup_time_seconds",
        "gauge",
        "DNS resolution time, in seconds (0 for an IP address).",
        &|t| Some((None, t.dns.as_ref().map_or(0.0, |d| d.ms / 1000.0))),
    );
    per_target_tls(
        &mut out,
        "probe_ssl_earliest_cert_expiry",
        "gauge",
        "The earliest not-after of the server's chain, in Unix seconds.",
        &|t| {
            let chain = &t.tls.as_ref()?.chain;
            let earliest = chain.iter().map(|c| c.not_after.unix_timestamp()).min()?;
            Some((None, earliest as f64))
        },
    );
    per_target_tls(
        &mut out,
        "probe_tls_version_info",
        "gauge",
        "The TLS version negotiated.",
        &|t| {
            let v = t.tls.as_ref()?.version.as_deref()?;
            Some((Some(("version", blackbox_tls_version(v))), 1.0))
        },
    );
    {
        let name = "probe_ssl_last_chain_info";
        let mut f = Family::new(&mut out, name, "gauge", "The server's leaf certificate.");
        for t in tls_targets {
            if let Some(leaf) = t.tls.as_ref().and_then(|s| s.chain.first()) {
                let port = t.port.to_string();
                let mut labels = base_labels(t, &port).to_vec();
                labels.push(("fingerprint_sha256", &leaf.sha256));
                labels.push(("subject", &leaf.subject));
                labels.push(("issuer", &leaf.issuer));
                f.sample(name, &labels, 1.0);
            }
        }
    }
    per_target(
        &mut out,
        "stca2_probe_port_open",
        "gauge",
        "1 when the TCP port opened.",
        &|t| Some((None, f64::from(u8::from(t.tcp.status == TcpStatus::Open)))),
    );
    per_target_tls(
        &mut out,
        "stca2_probe_ca_family_info",
        "gauge",
        "The CA family of the server's chain: STCA2, STCA or unknown.",
        &|t| {
            let family = t.tls.as_ref()?.ca_family?;
            Some((Some(("family", family.to_string())), 1.0))
        },
    );
    fn scalar(out: &mut String, name: &str, kind: &str, help: &str, v: f64) {
        Family::new(out, name, kind, help).sample(name, &[], v);
    }
    if let Some(latest) = &m.latest {
        scalar(
            &mut out,
            "stca2_probe_last_check_tls",
            "gauge",
            "1 when the latest cycle was a full check, 0 when it was TCP-only (tls_every).",
            f64::from(u8::from(!latest.tcp_only())),
        );
    }
    {
        let name = "stca2_probe_wire_bytes_total";
        let mut f = Family::new(
            &mut out,
            name,
            "counter",
            "Bytes the checks' TCP connections put on the wire since the daemon started, headers included, read from the sockets (TCP_INFO); not the uploads, not DNS.",
        );
        f.sample(name, &[("direction", "sent")], m.wire.sent as f64);
        f.sample(name, &[("direction", "received")], m.wire.received as f64);
    }
    scalar(
        &mut out,
        "stca2_probe_checks_total",
        "counter",
        "Cycles completed since the daemon started.",
        m.checks as f64,
    );
    scalar(
        &mut out,
        "stca2_probe_cycles_skipped_total",
        "counter",
        "Slots skipped because a cycle was still running.",
        m.skipped as f64,
    );
    scalar(
        &mut out,
        "stca2_probe_spool_reports",
        "gauge",
        "Reports in the spool waiting for upload.",
        m.spool.reports as f64,
    );
    scalar(
        &mut out,
        "stca2_probe_spool_bytes",
        "gauge",
        "Bytes of the reports in the spool.",
        m.spool.bytes as f64,
    );
    scalar(
        &mut out,
        "stca2_probe_reports_dropped_total",
        "counter",
        "Reports the spool dropped (over its bounds, or unwritable) since installation.",
        m.spool.dropped as f64,
    );
    scalar(
        &mut out,
        "stca2_probe_reports_quarantined_total",
        "counter",
        "Reports this daemon moved to quarantine (refused for good by the back office) since it started.",
        m.quarantined_now as f64,
    );
    scalar(
        &mut out,
        "stca2_probe_quarantine_reports",
        "gauge",
        "Reports in the spool's quarantine folder now (kept for a person to read).",
        m.spool.quarantined as f64,
    );
    scalar(
        &mut out,
        "stca2_probe_spool_write_errors_total",
        "counter",
        "Reports that could not be written to the spool (full disk, read-only).",
        m.spool_write_errors as f64,
    );
    scalar(
        &mut out,
        "stca2_probe_spool_writable",
        "gauge",
        "0 while reports cannot be written to the spool (full disk, read-only: each is counted as dropped), 1 otherwise.",
        if m.spool_failing { 0.0 } else { 1.0 },
    );
    {
        let name = "stca2_probe_uploads_total";
        let mut f = Family::new(&mut out, name, "counter", "Upload requests by outcome.");
        for o in [
            Outcome::Ok,
            Outcome::Retry,
            Outcome::Unauthorized,
            Outcome::TooLarge,
            Outcome::Rejected,
        ] {
            f.sample(
                name,
                &[("outcome", o.as_str())],
                m.uploads.get(&o).copied().unwrap_or(0) as f64,
            );
        }
    }
    if let Some(t) = m.last_success {
        scalar(
            &mut out,
            "stca2_probe_last_upload_success_timestamp_seconds",
            "gauge",
            "When the back office last acknowledged an upload, in Unix seconds.",
            t,
        );
    }
    out
}

/// The labels every per-target series has.
fn base_labels<'t>(t: &'t TargetResult, port: &'t str) -> [(&'static str, &'t str); 5] {
    [
        ("site", t.site.as_str()),
        ("role", t.role.as_str()),
        ("address", t.address.as_str()),
        ("port", port),
        ("service", t.service.as_str()),
    ]
}

/// One per-target family over `targets`: a sample per target `value` gives.
fn per_target_of(
    out: &mut String,
    targets: &[TargetResult],
    name: &str,
    kind: &str,
    help: &str,
    value: &dyn Fn(&TargetResult) -> Option<Value>,
) {
    let mut f = Family::new(out, name, kind, help);
    for t in targets {
        let port = t.port.to_string();
        if let Some((extra, v)) = value(t) {
            let mut labels = base_labels(t, &port).to_vec();
            if let Some((k, val)) = &extra {
                labels.push((k, val.as_str()));
            }
            f.sample(name, &labels, v);
        }
    }
}

/// A TLS version as blackbox_exporter labels it (Go's `tls.VersionName`:
/// "TLS 1.3"), so one dashboard reads both: the report's "TLSv1.3" becomes
/// "TLS 1.3"; anything else passes as it is.
pub fn blackbox_tls_version(v: &str) -> String {
    match v.strip_prefix("TLSv") {
        Some(n) => format!("TLS {n}"),
        None => v.to_string(),
    }
}

/// Serves `GET /metrics` on `listener` until shutdown.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, mut shutdown: Shutdown) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    while connections.try_join_next().is_some() {}
                    if connections.len() >= MAX_CONNECTIONS {
                        continue; // dropped: the scraper retries
                    }
                    let metrics = metrics.clone();
                    connections.spawn(async move {
                        if let Err(e) = respond(stream, &metrics).await {
                            tracing::debug!(error = %e, "metrics connection");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics listener: cannot accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.recv() => break,
        }
    }
    connections.shutdown().await;
}

async fn respond(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(READ_TIMEOUT, async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    if !matches!(read, Ok(Ok(()))) {
        return Ok(());
    }
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, path) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let (status, ctype, body) = match (method, path) {
        (b"GET", b"/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        ),
        (b"GET", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "only /metrics here\n".to_string(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "GET /metrics\n".to_string(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // A scraper that stops reading must not hold one of the few
    // connection slots for ever.
    let write = tokio::time::timeout(READ_TIMEOUT, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    write.unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the scraper did not read the answer in time",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_versions_are_named_as_blackbox_exporter_names_them() {
        assert_eq!(blackbox_tls_version("TLSv1.3"), "TLS 1.3");
        assert_eq!(blackbox_tls_version("TLSv1.2"), "TLS 1.2");
        assert_eq!(blackbox_tls_version("SSLv3"), "SSLv3");
        let m = Metrics::default();
        m.cycle(Arc::new(crate::spool::tests::report_at(1_700_000_000)));
        let text = m.render();
        assert!(
            !text.contains("TLSv1") && text.contains("version=\"TLS 1."),
            "{text}"
        );
        m.quarantined();
        assert!(
            m.render()
                .contains("\nstca2_probe_reports_quarantined_total 1\n"),
            "a counter of what this daemon quarantined"
        );
    }

    #[test]
    fn labels_are_escaped_and_families_typed() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let m = Metrics::default();
        m.cycle(Arc::new(crate::spool::tests::report_at(1_700_000_000)));
        m.upload(Outcome::Ok);
        m.upload_succeeded(1);
        let text = m.render();
        assert!(text.contains("# TYPE probe_success gauge\n"), "{text}");
        assert!(
            text.contains("stca2_probe_uploads_total{outcome=\"ok\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("stca2_probe_checks_total 1\n"), "{text}");
        assert!(
            text.contains("probe_success{site=\"toulouse\",role=\"primary\",address="),
            "{text}"
        );
        assert!(
            text.contains("stca2_probe_ca_family_info{") && text.contains("family=\"STCA2\"} 1"),
            "{text}"
        );
    }
}
