//! Upload: the spool, oldest first, to the back office's ingest API,
//! exactly once in effect.
//!
//! The rule is simple: **an entry is deleted only after a 2xx that covers
//! it.** Everything else keeps it, so nothing is lost; the back office
//! deduplicates on `report_id`, so a report sent twice (a crash after the
//! 2xx, before the delete) is stored once. What each answer means:
//!
//! | answer | what the daemon does |
//! | --- | --- |
//! | 2xx with the back office's answer (`received` = the batch's size) | deletes the batch; the next batch follows at once |
//! | 2xx with any other body (a captive portal, a proxy's page) | retries later: nothing proves the reports arrived |
//! | 401, 403 naming no report | stops uploading until the token file changes or SIGHUP, keeps the spool, says why in the log |
//! | 403 naming `reports[i]` (its identity is not the token's) | moves that report to quarantine, loudly; the others go on |
//! | 413, and 408 (the body arrived too slowly: a slow or metered link) | halves the batch and tries again (a single report: 413 quarantines it, too large; 408 retries it later, it is the link's fault) |
//! | 422 `future_timestamp` (the box's clock runs ahead) | retries later: the report becomes valid once the clock is right |
//! | 409, 422, other 400s | moves the report the error names (`field: reports[i]...`) to quarantine; without a name, sends the batch one report at a time to find it |
//! | 5xx, 404, 3xx (redirects are not followed), timeouts, connection errors | retries later, with exponential backoff and full jitter ([`Backoff`]) |
//!
//! HTTPS goes through rustls on ring, the project's one crypto provider,
//! verified against the system's trust store (rustls-native-certs reads the
//! same roots as curl and OpenSSL: /etc/ssl/certs on Debian) or against
//! `ca_file` alone when set. No bundled root list.
//!
//! The token is read from `token_file` at every upload round, lives in a
//! [`Token`] whose `Debug` prints `***`, and goes only into the
//! `Authorization` header, which reqwest marks sensitive: it never appears
//! in a log, an error or the metrics.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;

use crate::config::UploadConfig;
use crate::metrics::Metrics;
use crate::spool::{Entry, Spool};
use crate::why::{Transport, Why};
use stca2_report::limits::MAX_BODY_BYTES;

/// The first retry waits up to this long.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// No retry waits longer than this.
pub const BACKOFF_CAP: Duration = Duration::from_secs(5 * 60);
/// Bounds each connection attempt.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A token file is read up to this size; a larger one is not a token.
pub const MAX_TOKEN_FILE: u64 = 4096;
/// An answer's body is read up to this size (the back office's answers
/// are a few hundred bytes; the rest of a larger one is ignored).
pub const MAX_ANSWER: usize = 64 * 1024;

/// A probe token. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl Token {
    /// Reads the token file (surrounding whitespace ignored). The error
    /// names the file, never its content.
    pub fn read(path: &Path) -> Result<Token, Why> {
        use std::io::Read as _;
        let unusable = |error: Option<String>| Why::TokenUnusable {
            path: path.to_path_buf(),
            error,
        };
        let mut raw = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_TOKEN_FILE + 1).read_to_end(&mut raw))
            .map_err(|e| unusable(Some(e.to_string())))?;
        let text = String::from_utf8(raw).unwrap_or_default();
        let t = text.trim();
        if text.len() as u64 > MAX_TOKEN_FILE
            || t.is_empty()
            || t.chars().any(|c| c.is_control() || c == ' ')
        {
            return Err(unusable(None));
        }
        Ok(Token(t.to_string()))
    }

    /// A digest to notice that the file changed, without keeping the token.
    fn fingerprint(&self) -> Vec<u8> {
        ring::digest::digest(&ring::digest::SHA256, self.0.as_bytes())
            .as_ref()
            .to_vec()
    }
}

/// Exponential backoff with full jitter (the AWS architecture blog's
/// "Exponential Backoff And Jitter"): the n-th retry waits a uniformly
/// random time in `[0, min(cap, base * 2^n)]`. A fleet of probes that lost
/// the back office together come back spread out, not in waves.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    /// A backoff from `base` up to `cap`.
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            failures: 0,
        }
    }

    /// After a success: the next failure starts from `base` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// The ceiling of the next wait: `min(cap, base * 2^failures)`.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32 << self.failures.min(20);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait after one more failure; `random` is any uniformly random
    /// number (see [`random_u64`]), given so tests can pin it.
    pub fn next_delay(&mut self, random: u64) -> Duration {
        let ceiling = self.ceiling();
        self.failures = self.failures.saturating_add(1);
        let nanos = ceiling.as_nanos() as u64;
        Duration::from_nanos(if nanos == 0 { 0 } else { random % (nanos + 1) })
    }
}

/// A uniformly random number from the system's generator (ring's).
pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // The system generator does not fail on Linux; 0 is a harmless fallback.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    u64::from_le_bytes(b)
}

/// The HTTP client: rustls on ring, verifying against `ca_file` or the
/// system's roots; every request bounded by `timeout`.
pub fn client(ca_file: Option<&Path>, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot read ca_file {}: {e}; give a PEM file of CA certificates",
                        path.display()
                    )
                })?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                anyhow::bail!(
                    "ca_file {} holds no usable CA certificate; give the PEM of the back office's CA",
                    path.display()
                );
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::warn!(error = %e, "a system trust store could not be read in full");
            }
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                tracing::warn!(
                    "no system CA certificates found (install ca-certificates, or set [upload] ca_file): HTTPS uploads will fail"
                );
            }
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .user_agent(concat!("stca2-probe/", env!("CARGO_PKG_VERSION")))
        // A redirect would turn the POST into a GET elsewhere, and a 2xx
        // from there would delete reports that never arrived.
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// How an upload round ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drain {
    /// The spool is empty (or holds only what arrived meanwhile).
    Drained,
    /// A transient failure: try again after a backoff.
    Retry(Why),
    /// The back office refused the token: wait for a new one.
    Blocked(Why),
}

/// The back office's JSON error.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    error: ApiError,
}

#[derive(Debug, Default, Deserialize)]
struct ApiError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    field: Option<String>,
}

impl ErrorBody {
    fn parse(status: u16, body: &[u8]) -> ApiError {
        let mut e = serde_json::from_slice::<ErrorBody>(body)
            .map(|b| b.error)
            .unwrap_or_default();
        if e.message.is_empty() {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            e.message = if text.trim().is_empty() {
                format!("HTTP {status}")
            } else {
                text
            };
        }
        e
    }
}

/// The back office's answer to an accepted batch.
#[derive(Debug, Deserialize)]
struct Accepted {
    received: usize,
    stored: usize,
    duplicates: usize,
}

/// The back office's answer in a 2xx body, when it covers a batch of `n`.
fn acknowledgement(body: &[u8], n: usize) -> Option<Accepted> {
    serde_json::from_slice::<Accepted>(body)
        .ok()
        .filter(|a| a.received == n)
}

/// `reports[3].report_id` -> 3.
pub fn named_index(field: &str) -> Option<usize> {
    field
        .strip_prefix("reports[")?
        .split(']')
        .next()?
        .parse()
        .ok()
}

/// Uploads the spool; keeps what it learnt between rounds (a halved batch,
/// a refused token).
pub struct Uploader {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    token_file: PathBuf,
    max_batch: usize,
    batch: usize,
    /// What the back office's certificate is verified against (`None`:
    /// the system's trust store).
    ca_file: Option<PathBuf>,
    /// The fingerprint of the token the back office refused.
    refused_token: Option<Vec<u8>>,
}

impl Uploader {
    /// An uploader for `[upload]`, through `client` (see [`client`]).
    pub fn new(config: &UploadConfig, client: reqwest::Client) -> Uploader {
        Uploader {
            client,
            endpoint: config.endpoint.clone(),
            token_file: config.token_file.clone(),
            max_batch: config.batch,
            batch: config.batch,
            ca_file: config.ca_file.clone(),
            refused_token: None,
        }
    }

    /// The batch size now (halved by each 413, doubled back at each round).
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Uploads until the spool is empty, an answer says to stop, or
    /// `stopping` is set (checked before each batch: a batch in flight
    /// is always settled by its answer).
    pub async fn drain(
        &mut self,
        spool: &Mutex<Spool>,
        metrics: &Metrics,
        stopping: &AtomicBool,
    ) -> Drain {
        let token = match Token::read(&self.token_file) {
            Ok(t) => t,
            Err(why) => return Drain::Blocked(why),
        };
        if self.refused_token.as_ref() == Some(&token.fingerprint()) {
            return Drain::Blocked(Why::StillRefused {
                path: self.token_file.clone(),
            });
        }
        self.refused_token = None;
        // A batch halved by a 413 in an earlier round may grow back.
        self.batch = (self.batch * 2).min(self.max_batch);
        // After an error that names no report: one report at a time.
        let mut isolate = false;
        loop {
            if stopping.load(Ordering::SeqCst) {
                return Drain::Retry(Why::Stopping);
            }
            let limit = if isolate { 1 } else { self.batch };
            let (entries, body) = match crate::blocking(|| take_batch(spool, limit)) {
                Ok(Some(b)) => b,
                Ok(None) => return Drain::Drained,
                Err(e) => return Drain::Retry(Why::SpoolUnreadable(e.to_string())),
            };
            let sent = self
                .client
                .post(self.endpoint.clone())
                .bearer_auth(&token.0)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    metrics.upload(Outcome::Retry);
                    if let Some(refused) = certificate_problem(&e) {
                        return Drain::Retry(Why::Untrusted {
                            refused,
                            ca_file: self.ca_file.clone(),
                        });
                    }
                    return Drain::Retry(describe(&e));
                }
            };
            let status = response.status().as_u16();
            let body = match read_bounded(response, MAX_ANSWER).await {
                Ok(b) => b,
                Err(e) => {
                    metrics.upload(Outcome::Retry);
                    return Drain::Retry(describe(&e));
                }
            };
            let error = (!(200..=299).contains(&status)).then(|| ErrorBody::parse(status, &body));
            let named_in_403 = match (&error, status) {
                (Some(e), 403) => e.field.as_deref().and_then(named_index),
                _ => None,
            };
            let accepted = if (200..=299).contains(&status) {
                acknowledgement(&body, entries.len())
            } else {
                None
            };
            match status {
                200..=299 if accepted.is_none() => {
                    metrics.upload(Outcome::Retry);
                    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                    return Drain::Retry(Why::Unacknowledged {
                        status,
                        count: entries.len(),
                        body: text,
                    });
                }
                200..=299 => {
                    metrics.upload(Outcome::Ok);
                    let removed = crate::blocking(|| lock(spool).remove(&entries));
                    if let Err(e) = removed {
                        // Sent again later; the back office deduplicates.
                        return Drain::Retry(Why::SpoolUnremovable(e.to_string()));
                    }
                    metrics.upload_succeeded(entries.len());
                    if let Some(a) = &accepted {
                        tracing::info!(
                            reports = a.received,
                            stored = a.stored,
                            duplicates = a.duplicates,
                            "uploaded"
                        );
                    }
                }
                401 | 403 if named_in_403.is_none() => {
                    metrics.upload(Outcome::Unauthorized);
                    let e = error.unwrap_or_default();
                    self.refused_token = Some(token.fingerprint());
                    return Drain::Blocked(Why::TokenRefused {
                        status,
                        code: e.code,
                        message: e.message,
                        path: self.token_file.clone(),
                    });
                }
                // 408: the back office gave up waiting for the body (a slow
                // link): a smaller batch arrives in time, as it fits for 413.
                408 | 413 if entries.len() > 1 => {
                    metrics.upload(Outcome::TooLarge);
                    self.batch = (entries.len() / 2).max(1);
                    tracing::warn!(
                        status,
                        batch = self.batch,
                        "the back office answered {status} ({}): halving the batch",
                        if status == 408 {
                            "the body arrived too slowly"
                        } else {
                            "the body is too large"
                        }
                    );
                }
                422 if error.as_ref().is_some_and(|e| e.code == "future_timestamp") => {
                    metrics.upload(Outcome::Retry);
                    let e = error.unwrap_or_default();
                    return Drain::Retry(Why::ClockAhead {
                        code: e.code,
                        message: e.message,
                    });
                }
                400 | 403 | 409 | 413 | 422 => {
                    metrics.upload(Outcome::Rejected);
                    let e = error.unwrap_or_default();
                    let named = e.field.as_deref().and_then(named_index);
                    let culprit = match (named, entries.len()) {
                        (Some(i), _) if i < entries.len() => &entries[i],
                        (_, 1) => &entries[0],
                        _ => {
                            tracing::warn!(status, code = %e.code, "the back office refused a report of the batch without naming it: sending one at a time");
                            isolate = true;
                            continue;
                        }
                    };
                    let why = format!("HTTP {status} {}: {}", e.code, e.message);
                    tracing::error!(
                        entry = %culprit.name,
                        status,
                        code = %e.code,
                        message = %e.message,
                        "the back office refused a report for good: moved to quarantine"
                    );
                    if let Err(err) = crate::blocking(|| lock(spool).quarantine(culprit, &why)) {
                        return Drain::Retry(Why::CannotQuarantine {
                            name: culprit.name.clone(),
                            error: err.to_string(),
                        });
                    }
                    metrics.quarantined();
                    // The culprit is out: the rest goes in batches again.
                    isolate = false;
                }
                _ => {
                    metrics.upload(Outcome::Retry);
                    let e = error.unwrap_or_default();
                    return Drain::Retry(Why::Answered {
                        status,
                        code: e.code,
                        message: e.message,
                    });
                }
            }
        }
    }
}

/// What `stca2_probe_uploads_total{outcome}` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// 2xx.
    Ok,
    /// 5xx, other statuses, timeouts, connection errors.
    Retry,
    /// 401, 403.
    Unauthorized,
    /// 413 or 408 with more than one report: the batch is halved.
    TooLarge,
    /// A report refused for good (quarantined).
    Rejected,
}

impl Outcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Retry => "retry",
            Outcome::Unauthorized => "unauthorized",
            Outcome::TooLarge => "too_large",
            Outcome::Rejected => "rejected",
        }
    }
}

fn lock(spool: &Mutex<Spool>) -> std::sync::MutexGuard<'_, Spool> {
    // A panic while holding the lock leaves files, not memory, in question:
    // the spool's state is on disk, so going on is safe.
    spool
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The oldest entries (at most `limit`, within the back office's body
/// limit) and the `{"reports": [...]}` body that carries them.
fn take_batch(
    spool: &Mutex<Spool>,
    limit: usize,
) -> std::io::Result<Option<(Vec<Entry>, Vec<u8>)>> {
    let spool = lock(spool);
    let mut entries = Vec::new();
    let mut body = b"{\"reports\":[".to_vec();
    for e in spool.list()? {
        if entries.len() >= limit {
            break;
        }
        let data = match spool.read(&e) {
            Ok(d) => d,
            // Dropped by the bounds meanwhile.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        if !entries.is_empty() && body.len() + data.len() + 2 > MAX_BODY_BYTES {
            break;
        }
        if !entries.is_empty() {
            body.push(b',');
        }
        body.extend_from_slice(&data);
        entries.push(e);
    }
    body.extend_from_slice(b"]}");
    Ok((!entries.is_empty()).then_some((entries, body)))
}

/// The first `limit` bytes of an answer's body, read chunk by chunk (the
/// request's timeout bounds the time).
async fn read_bounded(mut response: reqwest::Response, limit: usize) -> reqwest::Result<Vec<u8>> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await? {
            Some(chunk) => body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]),
            None => break,
        }
    }
    Ok(body)
}

/// The certificate refusal (rustls's) behind a failed request, if that is
/// what failed: an unknown issuer, an expired certificate, a wrong name.
/// The layers between (hyper, tokio-rustls) wrap it in `io::Error`s whose
/// `source` skips it, so it is looked for in each layer's words too.
fn certificate_problem(e: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        let inner = s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref::<rustls::Error>());
        if let Some(r @ rustls::Error::InvalidCertificate(_)) =
            inner.or_else(|| s.downcast_ref::<rustls::Error>())
        {
            return Some(r.to_string());
        }
        let words = s.to_string();
        if words.starts_with("invalid peer certificate") {
            return Some(words);
        }
        source = s.source();
    }
    None
}

/// A transport error as facts, without the request's headers.
fn describe(e: &reqwest::Error) -> Why {
    let what = if e.is_timeout() {
        Transport::Timeout
    } else if e.is_connect() {
        Transport::Connect
    } else {
        Transport::Failed
    };
    let mut detail = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        detail.push(s.to_string());
        source = s.source();
    }
    Why::Transport {
        what,
        detail: detail.join(": "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
        let ceilings: Vec<u64> = (0..12)
            .map(|_| {
                let c = b.ceiling().as_secs();
                // The largest random number gives the ceiling itself.
                let _ = b.next_delay(u64::MAX);
                c
            })
            .collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        // Full jitter: anywhere from 0 to the ceiling.
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
        assert_eq!(b.next_delay(0), Duration::ZERO);
        assert_eq!(b.next_delay(1_000_000_000), Duration::from_secs(1));
        assert!(b.next_delay(random_u64()) <= Duration::from_secs(4));
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_secs(1));
        // Many failures never overflow.
        for _ in 0..100 {
            assert!(b.next_delay(random_u64()) <= Duration::from_secs(300));
        }
    }

    #[test]
    fn named_reports_and_a_secret_token() {
        assert_eq!(named_index("reports[3].report_id"), Some(3));
        assert_eq!(named_index("reports[12].probe.id"), Some(12));
        assert_eq!(named_index("report_id"), None);
        assert_eq!(named_index("reports"), None);
        assert_eq!(format!("{:?}", Token("s3cret".into())), "Token(***)");
        let e = ErrorBody::parse(
            422,
            br#"{"error":{"code":"invalid_report","message":"bad","field":"reports[1].schema"}}"#,
        );
        assert_eq!(
            (e.code.as_str(), e.field.as_deref()),
            ("invalid_report", Some("reports[1].schema"))
        );
        assert_eq!(ErrorBody::parse(502, b"").message, "HTTP 502");
    }

    #[test]
    fn a_token_file_is_read_within_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        assert_eq!(Token::read(&path).unwrap(), Token("s3cret".into()));
        std::fs::write(&path, "x".repeat(MAX_TOKEN_FILE as usize + 1)).unwrap();
        let e = Token::read(&path).unwrap_err().to_string();
        assert!(e.contains("not one token") && !e.contains("xxx"), "{e}");
    }

    #[test]
    fn only_the_back_offices_answer_for_the_whole_batch_acknowledges() {
        let ok = br#"{"received":2,"stored":1,"duplicates":1,"public_ip":"127.0.0.1"}"#;
        assert!(acknowledgement(ok, 2).is_some());
        assert!(acknowledgement(ok, 3).is_none());
        assert!(acknowledgement(b"<html>portal</html>", 2).is_none());
        assert!(acknowledgement(br#"{"received":2}"#, 2).is_none());
    }
}
