//! `stca2-probe lab` and `stca2-probe demo`: the simulated gateway as a
//! command, and the product in seconds (the lab started in-process, checked,
//! and the report shown).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use stca2_engine::allow::{self, AllowList};
use stca2_engine::check;
use stca2_engine::cli::{self, OutputArgs};
use stca2_engine::probe::ProbeConfig;
use stca2_engine::targets::TargetSet;
use stca2_report::ProbeIdentity;
use stca2_words::{Lang, Words, args};

use crate::{Behaviour, Lab, LabConfig, Scenario};

/// `stca2-probe lab`.
#[derive(Args)]
pub struct LabArgs {
    /// What the simulated gateways do: a scenario, or a behaviour for every
    /// site and port (see --list).
    #[arg(long, short = 's', default_value = "healthy")]
    pub scenario: String,
    /// List the scenarios and behaviours, then exit.
    #[arg(long)]
    pub list: bool,
    /// Where to write the lab's generated CA certificates, and the matching
    /// target file (lab.toml) to check it with.
    #[arg(long, value_name = "DIR", default_value = "targets/lab-ca")]
    pub ca_dir: PathBuf,
    /// The language of what it prints: set from the global `--lang`, else the locale.
    #[arg(skip)]
    pub lang: Lang,
}

/// `stca2-probe demo`.
#[derive(Args)]
#[allow(missing_docs)] // a flattened group: clap would take a doc comment as help text
pub struct DemoArgs {
    /// The lab scenario to check (or a behaviour for every site and port).
    #[arg(long, short = 's', default_value = "mixed")]
    pub scenario: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// A named scenario, or a behaviour name for every site and port
/// (`--scenario silent`).
pub fn scenario(name: &str, words: Words) -> anyhow::Result<Scenario> {
    if let Ok(s) = Scenario::named(name) {
        return Ok(s);
    }
    match name.parse::<Behaviour>() {
        Ok(b) => Ok(Scenario::uniform(b)),
        Err(_) => anyhow::bail!(
            "{}",
            words.text(
                "lab-unknown-scenario",
                Some(&args!(
                    "name" => name,
                    "scenarios" => Scenario::names().join(", "),
                    "behaviours" => Behaviour::ALL.map(|b| b.as_str()).join(", "),
                ))
            )
        ),
    }
}

/// Runs `stca2-probe lab`.
pub async fn run_lab(args: LabArgs) -> anyhow::Result<ExitCode> {
    let words = Words::new(args.lang);
    let say = |id: &str, path: &std::path::Path| {
        println!(
            "{}",
            words.text(id, Some(&args!("path" => path.display().to_string())))
        )
    };
    if args.list {
        println!("{}", words.text("lab-list-scenarios", None));
        for name in Scenario::names() {
            let s = scenario(name, words)?;
            println!("  {name:<18} {}", s.description(words));
        }
        println!("{}", words.text("lab-list-behaviours", None));
        for b in Behaviour::ALL {
            println!("  {:<18} {}", b.as_str(), b.description(words));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut config = LabConfig::new(scenario(&args.scenario, words)?);
    config.ca_dir = args.ca_dir.clone();
    let lab = Lab::start(config)
        .await
        .map_err(|e| anyhow::anyhow!(e.said(words)))?;
    let target_file = args.ca_dir.join("lab.toml");
    lab.write_target_file(&target_file).with_context(|| {
        words.text(
            "check-cannot-write",
            Some(&args!("path" => target_file.display().to_string())),
        )
    })?;
    println!(
        "{}",
        words.text(
            "lab-started",
            Some(&args!("scenario" => lab.scenario().name.as_str()))
        )
    );
    for e in lab.endpoints() {
        println!(
            "  {:<9} {:<9} {:<21} {}",
            e.site,
            e.role.as_str(),
            e.addr.to_string(),
            e.behaviour
        );
    }
    say("lab-ca-written", &args.ca_dir);
    say("lab-targets-written", &target_file);
    say("lab-next", &target_file);
    println!("{}", words.text("lab-stop", None));
    tokio::signal::ctrl_c()
        .await
        .with_context(|| words.text("lab-no-ctrl-c", None))?;
    lab.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Runs `stca2-probe demo`.
pub async fn run_demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    // Dropped last, on every path: the lab's PKI and target file go with it.
    let words = Words::new(args.output.lang);
    let dir = tempfile::Builder::new()
        .prefix("stca2-probe-demo-")
        .tempdir()
        .with_context(|| words.text("demo-no-scratch", None))?;
    let mut config = LabConfig::new(scenario(&args.scenario, words)?);
    config.ca_dir = dir.path().join("lab-ca");
    let lab = Lab::start(config)
        .await
        .map_err(|e| anyhow::anyhow!(e.said(words)))?;
    let target_file = dir.path().join("demo.toml");
    lab.write_target_file(&target_file).with_context(|| {
        words.text(
            "check-cannot-write",
            Some(&args!("path" => target_file.display().to_string())),
        )
    })?;
    let targets = TargetSet::load(&target_file).map_err(|e| anyhow::anyhow!(e.said(words)))?;
    let allow = AllowList::new(
        vec![allow::parse_cidr("127.0.0.0/8")?],
        allow::ceiling(words)?,
    );
    if let Some(code) = cli::refuse(&targets, &allow, words) {
        lab.shutdown().await;
        return Ok(code);
    }
    if !args.output.json && !args.output.csv {
        let mut ips: Vec<String> = lab
            .endpoints()
            .iter()
            .map(|e| e.addr.ip().to_string())
            .collect();
        ips.dedup();
        eprintln!(
            "{}\n",
            words.text(
                "demo-serving",
                Some(&args!(
                    "scenario" => lab.scenario().name.as_str(),
                    "addresses" => words.list(&ips),
                ))
            )
        );
    }
    let mut config = ProbeConfig::new(allow);
    config.timeout = Duration::from_secs(1);
    config.spacing = Duration::from_millis(50);
    config.with_pem = args.output.with_pem;
    let mut identity = ProbeIdentity::new("demo");
    identity.hostname = check::hostname();
    let report = check::run(&targets, &config, identity).await;
    lab.shutdown().await;
    cli::emit(&report, &targets.warnings, &args.output)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_fall_back_to_behaviours() {
        let en = Words::new(Lang::En);
        assert_eq!(scenario("healthy", en).unwrap().name, "healthy");
        let s = scenario("silent", en).unwrap();
        assert_eq!(
            s.behaviour(stca2_report::Role::Primary, 1146),
            Behaviour::Silent
        );
        assert_eq!(
            s.behaviour(stca2_report::Role::Secondary, 7212),
            Behaviour::Silent
        );
        let e = scenario("nope", en).unwrap_err().to_string();
        assert!(
            e.contains("primary-blocked") && e.contains("reset-after-hello"),
            "{e}"
        );
        let e = scenario("nope", Words::new(Lang::Fr))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("`nope` n'est ni un scénario"), "{e}");
    }
}
