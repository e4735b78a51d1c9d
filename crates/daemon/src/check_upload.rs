//! `stca2-probe check --upload`: the installer's check, then its report to
//! the back office, so that the support desk sees on the back office what
//! the installer saw at the shop, and the installer reads out the report id
//! on the phone.
//!
//! Nothing here is a second upload client: the report goes into a spool of
//! its own (a fresh folder) and the daemon's [`Uploader`] drains it, with
//! the daemon's client and rules (HTTPS verified against the system's CAs
//! or `--upload-ca`, http:// to loopback only, the token read from a file
//! and never printed, 401/403, 413, 422 and captive portals told apart).
//! The flags are checked, and the token read, before the check starts: a
//! mistake there is said at once, not after minutes of checking.
//!
//! What the installer reads is in their language (`upload-*` in
//! `check.ftl`); the daemon's English reasons stay the detail. Whatever
//! happens, nothing is lost: the report was printed (or written to `--out`)
//! before the upload, and when it could not be sent its JSON stays in the
//! spool folder, whose path is said.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use stca2_engine::cli::{self, CheckArgs, EXIT_USAGE, Ran};
use stca2_report::Report;
use stca2_report::limits::MAX_BODY_BYTES;
use stca2_words::{Words, args};

use crate::config::UploadConfig;
use crate::metrics::Metrics;
use crate::spool::{QUARANTINE_DIR, Spool};
use crate::upload::{self, Drain, Token, Uploader};
use crate::why::Why;

/// The exit code when the report could not be sent (as `daemon --once`).
pub const EXIT_NOT_SENT: u8 = 3;

/// How the upload of one report ended.
#[derive(Debug)]
pub enum Sent {
    /// Stored by the back office (or already there: it deduplicates).
    Stored,
    /// The back office refused the token.
    TokenRefused(Why),
    /// The back office refused this report for good (413, 422...): why
    /// (the back office's status, code and message).
    Rejected(String),
    /// Not sent (network, TLS, 5xx, a captive portal): why.
    NotSent(Why),
}

/// Runs `stca2-probe check --upload URL --upload-token FILE [--upload-ca PEM]`.
pub async fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let words = Words::new(args.output.lang);
    let say = |id: &str, a: &stca2_words::FluentArgs<'_>| {
        eprintln!("stca2-probe: {}", words.text(id, Some(a)));
    };
    let url = args.upload.upload.as_deref().unwrap_or_default();
    let Some(token_file) = args.upload.upload_token.clone() else {
        // clap requires it with --upload; said here too for other callers.
        say("upload-no-token", &args!());
        return Ok(ExitCode::from(EXIT_USAGE));
    };
    let ceiling = stca2_engine::allow::ceiling(words)?;
    let config = match UploadConfig::from_flags(
        url,
        token_file,
        args.upload.upload_ca.clone(),
        ceiling.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => {
            say("upload-bad-flags", &args!("error" => e.text(words)));
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    if let Err(why) = Token::read(&config.token_file) {
        say(
            "upload-token-unreadable",
            &args!(
                "path" => config.token_file.display().to_string(),
                "error" => match why {
                    Why::TokenUnusable { error: Some(e), .. } => e,
                    _ => words.text("upload-token-not-one", None),
                },
            ),
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let client = match upload::client(config.ca_file.as_deref(), config.timeout) {
        Ok(c) => c,
        Err(e) => {
            say("upload-bad-flags", &args!("error" => format!("{e:#}")));
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let report = match cli::check_and_emit(&args).await? {
        Ran::Done(code) => return Ok(code),
        Ran::Checked(report) => report,
    };
    let folder = spool_folder(&report);
    let (sent, kept) = send(&config, client, &report, &folder).await;
    let id = report.report_id.as_str();
    let path = config.token_file.display().to_string();
    let kept = kept.map(|p| p.display().to_string()).unwrap_or_default();
    match sent {
        Sent::Stored => {
            // Sent: the folder holds nothing worth keeping.
            let _ = std::fs::remove_dir_all(&folder);
            say("upload-sent", &args!("id" => id));
            return Ok(ExitCode::from(report.exit_code()));
        }
        Sent::TokenRefused(why) => say(
            "upload-token-refused",
            &args!("path" => path, "probe" => report.probe.id.as_str(), "error" => refusal(&why, words), "id" => id, "kept" => kept),
        ),
        Sent::Rejected(why) => say(
            "upload-rejected",
            &args!("error" => why, "id" => id, "kept" => kept),
        ),
        Sent::NotSent(why) => say(
            "upload-failed",
            &args!("error" => not_sent(&why, words), "id" => id, "kept" => kept),
        ),
    }
    Ok(ExitCode::from(EXIT_NOT_SENT))
}

/// Why the token was refused, as the installer needs it: the back office's
/// answer (the daemon's advice about SIGHUP is not theirs to follow).
fn refusal(why: &Why, words: Words) -> String {
    match why {
        Why::TokenRefused {
            status,
            code,
            message,
            ..
        } => words.text(
            "upload-why-answered",
            Some(&args!("status" => status.to_string(), "code" => code.as_str(), "message" => message.as_str())),
        ),
        other => other.said(words),
    }
}

/// Why the report was not sent, as the installer needs it: for an
/// untrusted certificate, the flag that fixes it rather than the daemon's
/// configuration key.
fn not_sent(why: &Why, words: Words) -> String {
    match why {
        Why::Untrusted { refused, .. } => words.text(
            "upload-untrusted-check",
            Some(&args!("refused" => refused.as_str())),
        ),
        other => other.said(words),
    }
}

/// A fresh folder for this report's spool, under the system's temporary
/// folder: `stca2-probe-upload-<report id>`.
fn spool_folder(report: &Report) -> PathBuf {
    let id: String = report
        .report_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    std::env::temp_dir().join(format!("stca2-probe-upload-{id}"))
}

/// Sends `report` through a spool of its own in `folder` and the daemon's
/// [`Uploader`]; returns how it ended and, unless it was stored, where its
/// JSON is kept.
pub async fn send(
    config: &UploadConfig,
    client: reqwest::Client,
    report: &Report,
    folder: &Path,
) -> (Sent, Option<PathBuf>) {
    let put = crate::blocking(|| {
        let mut spool = Spool::open(
            folder,
            4 * MAX_BODY_BYTES as u64,
            Duration::from_secs(7 * 24 * 3600),
        )?;
        let entry = spool.put(&mut report.clone(), SystemTime::now())?;
        Ok::<_, std::io::Error>((spool, entry))
    });
    let (spool, entry) = match put {
        Ok(x) => x,
        Err(e) => {
            return (
                Sent::NotSent(Why::SpoolUnwritable(format!("{}: {e}", folder.display()))),
                None,
            );
        }
    };
    let spooled = folder.join(&entry.name);
    let quarantined = folder.join(QUARANTINE_DIR).join(&entry.name);
    let spool = Mutex::new(spool);
    let mut uploader = Uploader::new(config, client);
    let drained = uploader
        .drain(&spool, &Metrics::default(), &AtomicBool::new(false))
        .await;
    match drained {
        Drain::Drained if quarantined.exists() => {
            let why = std::fs::read_to_string(
                folder
                    .join(QUARANTINE_DIR)
                    .join(format!("{}.why", entry.name)),
            )
            .unwrap_or_default();
            (Sent::Rejected(why.trim().to_string()), Some(quarantined))
        }
        Drain::Drained => (Sent::Stored, None),
        Drain::Blocked(why) => (Sent::TokenRefused(why), Some(spooled)),
        Drain::Retry(why) => (Sent::NotSent(why), Some(spooled)),
    }
}
