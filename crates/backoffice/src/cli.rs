//! `stca2-probe serve | token | export`: the back office's command line.
//!
//! These subcommands are flattened into the top-level CLI by `main.rs`.
//! Every one takes `--database URL` (default: a SQLite file in the current
//! directory, created on first use). `serve` logs through `tracing` (the
//! binary installs the subscriber: text or JSON on stderr); `token` and
//! `export` are one-shot commands that print their output on stdout and a
//! line for the person on stderr. A database URL is only ever shown through
//! `redact_url`, and a token only once, on stdout, by `token issue`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use futures_util::TryStreamExt as _;
use ipnet::IpNet;
use stca2_words::{Lang, Words, args};
use time::OffsetDateTime;

use super::auth::{hash_token, new_token};
use super::isp_csv;
use super::server::{ServeConfig, Server};
use super::store::{
    ExportFilter, Store, TokenRow, parse_rfc3339_ms, redact_url, rfc3339_ms, unix_ms,
};

/// The default database: a SQLite file, created with its schema on first start.
pub const DEFAULT_DATABASE: &str = "sqlite://stca2-backoffice.db";
/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8146";

/// The back office's subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run the back-office HTTP API (report ingestion, filters, exports).
    Serve(ServeArgs),
    /// Issue, revoke or list API tokens.
    Token(TokenArgs),
    /// Write the ISP-ticket CSV from the database to stdout (or --output).
    Export(ExportArgs),
}

/// The database to use.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArg {
    /// Database URL: sqlite://FILE (created on first use) or postgres://USER@HOST/DB.
    #[arg(long, env = "STCA2_DATABASE_URL", default_value = DEFAULT_DATABASE)]
    pub database: String,
}

/// `stca2-probe serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    #[command(flatten)]
    /// The database.
    pub db: DatabaseArg,
    /// PEM certificate chain: serve HTTPS directly (with --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A proxy network whose X-Forwarded-For is believed (repeatable), e.g. 127.0.0.1/32.
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    pub trusted_proxy: Vec<IpNet>,
    /// Keep report history this many days (0: forever); every probe's latest report is always kept.
    #[arg(long, default_value_t = 90)]
    pub retention_days: u32,
}

/// `stca2-probe token`.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: TokenAction,
}

/// `stca2-probe token issue|revoke|list`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TokenAction {
    /// Create a token and print it once (only its hash is stored).
    Issue(TokenIssueArgs),
    /// Revoke a token (give the token itself or the start of its id) or every token of a probe.
    Revoke(TokenRevokeArgs),
    /// List tokens (ids are hash prefixes; tokens themselves are never stored).
    List(TokenListArgs),
}

/// `stca2-probe token issue`.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenIssueArgs {
    #[command(flatten)]
    /// The database.
    pub db: DatabaseArg,
    /// The probe this token may submit reports for.
    #[arg(long, required_unless_present = "admin", conflicts_with = "admin")]
    pub probe: Option<String>,
    /// The merchant the probe belongs to.
    #[arg(long)]
    pub merchant: Option<String>,
    /// An operator token: reads filters, recommendations and exports.
    #[arg(long)]
    pub admin: bool,
}

/// `stca2-probe token revoke`.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenRevokeArgs {
    #[command(flatten)]
    /// The database.
    pub db: DatabaseArg,
    /// The token (stca2_...) or the start of its id as shown by `token list` (8+ hex digits).
    #[arg(required_unless_present = "probe")]
    pub token: Option<String>,
    /// Revoke every token of this probe.
    #[arg(long)]
    pub probe: Option<String>,
}

/// `stca2-probe token list`.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenListArgs {
    #[command(flatten)]
    /// The database.
    pub db: DatabaseArg,
}

/// `stca2-probe export`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    /// The database.
    pub db: DatabaseArg,
    /// `stca2-port-closed`: probes whose STCA2 port is closed, each by the report that began its current state; `all`: the history.
    #[arg(long, value_parser = ["stca2-port-closed", "all"], default_value = "all")]
    pub filter: String,
    /// Only this merchant.
    #[arg(long)]
    pub merchant: Option<String>,
    /// Only reports started at or after this RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only reports started before this RFC 3339 time.
    #[arg(long)]
    pub until: Option<String>,
    /// Write here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Runs one back-office subcommand.
///
/// What `token` and `export` print for the operator is in `lang`; the
/// token itself, the CSV and `serve`'s log are not words.
pub async fn run(cmd: Command, lang: Lang) -> anyhow::Result<ExitCode> {
    let words = Words::new(lang);
    match cmd {
        Command::Serve(a) => serve(a).await,
        Command::Token(t) => match t.action {
            TokenAction::Issue(a) => token_issue(a, words).await,
            TokenAction::Revoke(a) => token_revoke(a, words).await,
            TokenAction::List(a) => token_list(a, words).await,
        },
        Command::Export(a) => export(a, words).await,
    }
}

async fn serve(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let cfg = ServeConfig {
        listen: a.listen,
        database: a.db.database.clone(),
        tls: a.tls_cert.zip(a.tls_key),
        trusted_proxies: a.trusted_proxy,
        retention_days: a.retention_days,
    };
    let server = Server::bind(&cfg).await?;
    let shutdown = shutdown_signal();
    let addr = server.local_addr()?;
    let scheme = if server.is_tls() { "https" } else { "http" };
    tracing::info!(
        url = %format_args!("{scheme}://{addr}"),
        database = %redact_url(&cfg.database),
        retention_days = cfg.retention_days,
        "listening"
    );
    if !server.is_tls() {
        tracing::warn!(
            "plain HTTP: put a TLS-terminating proxy in front (and pass --trusted-proxy), or use --tls-cert/--tls-key"
        );
    }
    let store = server.store().clone();
    server.run(shutdown).await;
    // Closing checkpoints SQLite's WAL and ends PostgreSQL sessions cleanly.
    store.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are registered when this is
/// called, not when the future is first polled: `serve` calls it before it
/// says it is listening, so a SIGTERM sent as soon as it answers is never
/// the default one (which would kill it without closing the database).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            match (term, int) {
                (Some(mut term), Some(mut int)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn open(db: &DatabaseArg) -> anyhow::Result<Store> {
    Ok(Store::connect(&db.database).await?)
}

async fn token_issue(a: TokenIssueArgs, words: Words) -> anyhow::Result<ExitCode> {
    let store = open(&a.db).await?;
    let token = new_token()?;
    let row = TokenRow {
        hash: hash_token(&token),
        kind: if a.admin { "admin" } else { "probe" }.to_string(),
        probe_id: a.probe.clone(),
        merchant_id: a.merchant.clone(),
        created_at: unix_ms(OffsetDateTime::now_utc()),
        revoked_at: None,
    };
    store.insert_token(&row).await?;
    store.close().await;
    println!("{token}");
    let kind = match (&a.probe, a.admin) {
        (_, true) => "admin",
        (Some(_), _) => "probe",
        (None, false) => "other",
    };
    eprintln!(
        "{}",
        words.text(
            "token-issued",
            Some(&args!(
                "kind" => kind,
                "probe" => a.probe.as_deref().unwrap_or_default(),
                "id" => &row.hash[..12],
            ))
        )
    );
    Ok(ExitCode::SUCCESS)
}

async fn token_revoke(a: TokenRevokeArgs, words: Words) -> anyhow::Result<ExitCode> {
    let prefix = match a.token.as_deref() {
        Some(t) if t.starts_with(super::auth::TOKEN_PREFIX) => Some(hash_token(t)),
        Some(t) => {
            let t = t.to_ascii_lowercase();
            if t.len() < 8 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
                anyhow::bail!(
                    "{}",
                    words.text("token-not-an-id", Some(&args!("text" => format!("{t:?}"))))
                );
            }
            Some(t)
        }
        None => None,
    };
    let store = open(&a.db).await?;
    let n = store
        .revoke_tokens(
            prefix.as_deref(),
            a.probe.as_deref(),
            unix_ms(OffsetDateTime::now_utc()),
        )
        .await?;
    store.close().await;
    if n == 0 {
        eprintln!("{}", words.text("token-none-revoked", None));
        return Ok(ExitCode::from(1));
    }
    eprintln!(
        "{}",
        words.text("token-revoked", Some(&args!("count" => n)))
    );
    Ok(ExitCode::SUCCESS)
}

async fn token_list(a: TokenListArgs, words: Words) -> anyhow::Result<ExitCode> {
    let store = open(&a.db).await?;
    let tokens = store.list_tokens().await?;
    store.close().await;
    let mut out = std::io::stdout().lock();
    let head = |id: &str| words.text(id, None);
    writeln!(
        out,
        "{:<14} {:<6} {:<24} {:<16} {:<24} {}",
        head("token-list-id"),
        head("token-list-kind"),
        head("token-list-probe"),
        head("token-list-merchant"),
        head("token-list-created"),
        head("token-list-revoked"),
    )?;
    for t in tokens {
        writeln!(
            out,
            "{:<14} {:<6} {:<24} {:<16} {:<24} {}",
            &t.hash[..t.hash.len().min(12)],
            t.kind,
            t.probe_id.as_deref().unwrap_or("-"),
            t.merchant_id.as_deref().unwrap_or("-"),
            rfc3339_ms(t.created_at),
            t.revoked_at.map(rfc3339_ms).unwrap_or_else(|| "-".into()),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_time(name: &str, v: &Option<String>, words: Words) -> anyhow::Result<Option<i64>> {
    v.as_deref()
        .map(|s| {
            parse_rfc3339_ms(s).with_context(|| {
                words.text(
                    "export-bad-time",
                    Some(&args!("flag" => name, "value" => format!("{s:?}"))),
                )
            })
        })
        .transpose()
}

async fn export(a: ExportArgs, words: Words) -> anyhow::Result<ExitCode> {
    let filter = ExportFilter {
        closed_only: a.filter == "stca2-port-closed",
        merchant: a.merchant.clone(),
        since: parse_time("since", &a.since, words)?,
        until: parse_time("until", &a.until, words)?,
    };
    let store = open(&a.db).await?;
    let mut out: Box<dyn Write + Send> = match &a.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| {
                words.text(
                    "export-cannot-create",
                    Some(&args!("path" => p.display().to_string())),
                )
            })?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let rows = export_to(&store, &filter, &mut out).await?;
    store.close().await;
    eprintln!(
        "{}",
        words.text("export-done", Some(&args!("count" => rows)))
    );
    Ok(ExitCode::SUCCESS)
}

/// Streams the CSV of `filter` into `out`; returns the number of data rows.
pub async fn export_to(
    store: &Store,
    filter: &ExportFilter,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<u64> {
    let chunks = isp_csv::chunks(store.clone(), filter.clone());
    tokio::pin!(chunks);
    let mut rows = 0;
    while let Some(chunk) = chunks.try_next().await? {
        match out.write_all(&chunk.bytes) {
            Ok(()) => rows += chunk.rows,
            // `| head`: the reader has seen enough.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
            Err(e) => return Err(e).context("writing the CSV"),
        }
    }
    out.flush().context("writing the CSV")?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: Command,
    }

    #[test]
    fn the_subcommands_are_well_formed() {
        Cli::command().debug_assert();
        let c = Cli::try_parse_from(["x", "serve"]).unwrap();
        match c.cmd {
            Command::Serve(a) => {
                assert_eq!(a.listen.to_string(), DEFAULT_LISTEN);
                assert_eq!(a.retention_days, 90);
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["x", "serve", "--tls-cert", "c.pem"]).is_err());
        assert!(Cli::try_parse_from(["x", "token", "issue"]).is_err());
        assert!(Cli::try_parse_from(["x", "token", "issue", "--admin", "--probe", "p"]).is_err());
        assert!(Cli::try_parse_from(["x", "export", "--filter", "bogus"]).is_err());
        assert!(
            Cli::try_parse_from([
                "x",
                "serve",
                "--trusted-proxy",
                "10.0.0.0/8",
                "--trusted-proxy",
                "127.0.0.1/32"
            ])
            .is_ok()
        );
    }

    #[tokio::test]
    async fn token_issue_list_revoke_through_run() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = ["--database", url.as_str()];
        let parse = |args: &[&str]| {
            let mut v = vec!["x"];
            v.extend_from_slice(args);
            v.extend_from_slice(&db);
            Cli::try_parse_from(v).unwrap().cmd
        };
        let code = run(parse(&["token", "issue", "--probe", "p1"]), Lang::Fr)
            .await
            .unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let store = Store::connect(&url).await.unwrap();
        let tokens = store.list_tokens().await.unwrap();
        assert_eq!(tokens.len(), 1);
        let id = tokens[0].hash[..12].to_string();
        assert_eq!(
            run(parse(&["token", "list"]), Lang::Fr).await.unwrap(),
            ExitCode::SUCCESS
        );
        assert_eq!(
            run(parse(&["token", "revoke", &id]), Lang::Fr)
                .await
                .unwrap(),
            ExitCode::SUCCESS
        );
        assert_eq!(
            run(parse(&["token", "revoke", &id]), Lang::Fr)
                .await
                .unwrap(),
            ExitCode::from(1)
        );
        assert!(
            run(parse(&["token", "revoke", "zz"]), Lang::Fr)
                .await
                .is_err()
        );
        assert!(store.list_tokens().await.unwrap()[0].revoked_at.is_some());
        store.close().await;
    }
}
