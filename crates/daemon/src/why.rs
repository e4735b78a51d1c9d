//! Why an upload round stopped before the spool was empty, as facts.
//!
//! The daemon logs a [`Why`] in English (`Display`: the journal is read
//! by whoever runs the fleet, and the log shippers' alerts match its
//! words); `check --upload` says it to the installer in their language
//! ([`Why::said`], messages `upload-why-*` in `check.ftl`). What comes from
//! a library (an I/O error, a TLS alert, the back office's own `message`)
//! stays as it was written: it is the detail a support desk searches for.

use std::fmt;
use std::path::PathBuf;

use stca2_words::{Words, args};

/// What a transport failure was (`upload-why-transport`'s `$what`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// No answer within the timeout.
    Timeout,
    /// No connection (refused, unreachable, DNS).
    Connect,
    /// Anything else on the way.
    Failed,
}

impl Transport {
    fn as_str(self) -> &'static str {
        match self {
            Transport::Timeout => "timeout",
            Transport::Connect => "connect",
            Transport::Failed => "failed",
        }
    }
}

/// Why an upload round ended without emptying the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The daemon is stopping.
    Stopping,
    /// The spool could not be read.
    SpoolUnreadable(String),
    /// The report could not be written to the spool.
    SpoolUnwritable(String),
    /// Uploaded reports could not be removed from the spool (they are
    /// sent again; the back office deduplicates).
    SpoolUnremovable(String),
    /// A report the back office refused could not be moved to quarantine.
    CannotQuarantine {
        /// The spool entry.
        name: String,
        /// Why.
        error: String,
    },
    /// The back office's certificate is not trusted.
    Untrusted {
        /// rustls's reason.
        refused: String,
        /// The configured CA file; `None`: the system's trust store.
        ca_file: Option<PathBuf>,
    },
    /// The request did not get an answer.
    Transport {
        /// What kind of failure.
        what: Transport,
        /// The library's chain of causes.
        detail: String,
    },
    /// A 2xx that does not acknowledge the batch (a captive portal, a proxy).
    Unacknowledged {
        /// The status.
        status: u16,
        /// Reports sent.
        count: usize,
        /// The start of the body.
        body: String,
    },
    /// 422 `future_timestamp`: this box's clock is ahead.
    ClockAhead {
        /// The back office's error code.
        code: String,
        /// The back office's message.
        message: String,
    },
    /// Another answer (5xx, 429...): try again later.
    Answered {
        /// The status.
        status: u16,
        /// The back office's error code.
        code: String,
        /// The back office's message.
        message: String,
    },
    /// The token file cannot be used (missing, unreadable, not one token).
    TokenUnusable {
        /// The token file.
        path: PathBuf,
        /// The I/O error; `None`: empty or not one token.
        error: Option<String>,
    },
    /// The back office refused the token (401, 403 naming no report).
    TokenRefused {
        /// The status.
        status: u16,
        /// The back office's error code.
        code: String,
        /// The back office's message.
        message: String,
        /// The token file.
        path: PathBuf,
    },
    /// The token the back office refused is still the one in the file.
    StillRefused {
        /// The token file.
        path: PathBuf,
    },
}

impl Why {
    /// The reason in `words`' language.
    pub fn said(&self, words: Words) -> String {
        let path = |p: &PathBuf| p.display().to_string();
        match self {
            Why::Stopping => words.text("upload-why-stopping", None),
            Why::SpoolUnreadable(e) => words.text(
                "upload-why-spool-unreadable",
                Some(&args!("error" => e.as_str())),
            ),
            Why::SpoolUnwritable(e) => words.text(
                "upload-why-spool-unwritable",
                Some(&args!("error" => e.as_str())),
            ),
            Why::SpoolUnremovable(e) => words.text(
                "upload-why-spool-unremovable",
                Some(&args!("error" => e.as_str())),
            ),
            Why::CannotQuarantine { name, error } => words.text(
                "upload-why-cannot-quarantine",
                Some(&args!("name" => name.as_str(), "error" => error.as_str())),
            ),
            Why::Untrusted { refused, ca_file } => words.text(
                "upload-why-untrusted",
                Some(&args!(
                    "refused" => refused.as_str(),
                    "trust" => if ca_file.is_some() { "file" } else { "system" },
                    "ca_file" => ca_file.as_ref().map_or_else(String::new, path),
                )),
            ),
            Why::Transport { what, detail } => words.text(
                "upload-why-transport",
                Some(&args!("what" => what.as_str(), "detail" => detail.as_str())),
            ),
            Why::Unacknowledged {
                status,
                count,
                body,
            } => words.text(
                "upload-why-unacknowledged",
                Some(&args!(
                    "status" => status.to_string(),
                    "count" => *count,
                    "body" => format!("{body:?}"),
                )),
            ),
            Why::ClockAhead { code, message } => words.text(
                "upload-why-clock-ahead",
                Some(&args!("code" => code.as_str(), "message" => message.as_str())),
            ),
            Why::Answered {
                status,
                code,
                message,
            } => words.text(
                "upload-why-answered",
                Some(&args!(
                    "status" => status.to_string(),
                    "code" => code.as_str(),
                    "message" => message.as_str(),
                )),
            ),
            Why::TokenUnusable { path: p, error } => words.text(
                "upload-why-token-unusable",
                Some(&args!(
                    "path" => path(p),
                    "kind" => if error.is_some() { "unreadable" } else { "malformed" },
                    "error" => error.clone().unwrap_or_default(),
                )),
            ),
            Why::TokenRefused {
                status,
                code,
                message,
                path: p,
            } => words.text(
                "upload-why-token-refused",
                Some(&args!(
                    "status" => status.to_string(),
                    "code" => code.as_str(),
                    "message" => message.as_str(),
                    "path" => path(p),
                )),
            ),
            Why::StillRefused { path: p } => {
                words.text("upload-why-still-refused", Some(&args!("path" => path(p))))
            }
        }
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.said(Words::english()))
    }
}

#[cfg(test)]
mod tests {
    use stca2_words::Lang;

    use super::*;

    fn every() -> Vec<Why> {
        let p = PathBuf::from("/etc/stca2-probe/token");
        vec![
            Why::Stopping,
            Why::SpoolUnreadable("e".into()),
            Why::SpoolUnwritable("e".into()),
            Why::SpoolUnremovable("e".into()),
            Why::CannotQuarantine {
                name: "n".into(),
                error: "e".into(),
            },
            Why::Untrusted {
                refused: "UnknownIssuer".into(),
                ca_file: None,
            },
            Why::Untrusted {
                refused: "UnknownIssuer".into(),
                ca_file: Some(p.clone()),
            },
            Why::Transport {
                what: Transport::Timeout,
                detail: "d".into(),
            },
            Why::Transport {
                what: Transport::Connect,
                detail: "d".into(),
            },
            Why::Transport {
                what: Transport::Failed,
                detail: "d".into(),
            },
            Why::Unacknowledged {
                status: 200,
                count: 3,
                body: "<html>".into(),
            },
            Why::ClockAhead {
                code: "future_timestamp".into(),
                message: "m".into(),
            },
            Why::Answered {
                status: 503,
                code: "c".into(),
                message: "m".into(),
            },
            Why::TokenUnusable {
                path: p.clone(),
                error: Some("No such file".into()),
            },
            Why::TokenUnusable {
                path: p.clone(),
                error: None,
            },
            Why::TokenRefused {
                status: 401,
                code: "c".into(),
                message: "m".into(),
                path: p.clone(),
            },
            Why::StillRefused { path: p },
        ]
    }

    #[test]
    fn every_reason_is_said_in_both_languages() {
        for why in every() {
            let en = why.to_string();
            let fr = why.said(Words::new(Lang::Fr));
            for text in [&en, &fr] {
                assert!(
                    !text.is_empty() && !text.starts_with('['),
                    "{why:?}: {text}"
                );
                assert!(!text.contains("{ $"), "{why:?}: {text}");
            }
            assert_ne!(en, fr, "{why:?} is not French");
        }
        // The words the daemon's logs (and the tests that read them) match.
        let untrusted = every()
            .into_iter()
            .find(|w| matches!(w, Why::Untrusted { ca_file: None, .. }))
            .unwrap()
            .to_string();
        for says in [
            "TLS certificate is not trusted",
            "UnknownIssuer",
            "system's trust store",
            "ca_file",
            "the reports stay in the spool",
        ] {
            assert!(untrusted.contains(says), "{says}: {untrusted}");
        }
    }
}
