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
pub fn scenario(name: &str) -> anyhow::Result<Scenario> {
    if let Ok(s) = Scenario::named(name) {
        return Ok(s);
    }
    match name.parse::<Behaviour>() {
        Ok(b) => Ok(Scenario::uniform(b)),
        Err(_) => anyhow::bail!(
            "`{name}` is neither a scenario nor a behaviour: choose a scenario ({}) or a behaviour for every site and port ({}); `stca2-probe lab --list` describes them",
            Scenario::names().join(", "),
            Behaviour::ALL.map(|b| b.as_str()).join(", ")
        ),
    }
}

/// Runs `stca2-probe lab`.
pub async fn run_lab(args: LabArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        println!("scenarios:");
        for name in Scenario::names() {
            let s = scenario(name)?;
            println!("  {name:<18} {}", s.description());
        }
        println!("behaviours (also usable as --scenario, for every site and port):");
        for b in Behaviour::ALL {
            println!("  {:<18} {}", b.as_str(), b.description());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut config = LabConfig::new(scenario(&args.scenario)?);
    config.ca_dir = args.ca_dir.clone();
    let lab = Lab::start(config).await?;
    let target_file = args.ca_dir.join("lab.toml");
    lab.write_target_file(&target_file)
        .with_context(|| format!("cannot write {}", target_file.display()))?;
    println!("stca2-probe lab: scenario `{}`", lab.scenario().name);
    for e in lab.endpoints() {
        println!(
            "  {:<9} {:<9} {:<21} {}",
            e.site,
            e.role.as_str(),
            e.addr.to_string(),
            e.behaviour
        );
    }
    println!("CA certificates written to {}", args.ca_dir.display());
    println!("Target file written to {}", target_file.display());
    println!(
        "In another terminal: stca2-probe check --targets {}",
        target_file.display()
    );
    println!("Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    lab.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Runs `stca2-probe demo`.
pub async fn run_demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    // Dropped last, on every path: the lab's PKI and target file go with it.
    let dir = tempfile::Builder::new()
        .prefix("stca2-probe-demo-")
        .tempdir()
        .context("cannot create a scratch folder for the demo")?;
    let mut config = LabConfig::new(scenario(&args.scenario)?);
    config.ca_dir = dir.path().join("lab-ca");
    let lab = Lab::start(config).await?;
    let target_file = dir.path().join("demo.toml");
    lab.write_target_file(&target_file)
        .with_context(|| format!("cannot write {}", target_file.display()))?;
    let targets = TargetSet::load(&target_file)?;
    let allow = AllowList::new(
        vec![allow::parse_cidr("127.0.0.0/8")?],
        AllowList::ceiling_from_env()?,
    );
    if let Some(code) = cli::refuse(&targets, &allow) {
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
            "demo: a simulated gateway (scenario `{}`) is serving on {}; checking it…\n",
            lab.scenario().name,
            ips.join(" and ")
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
        assert_eq!(scenario("healthy").unwrap().name, "healthy");
        let s = scenario("silent").unwrap();
        assert_eq!(
            s.behaviour(stca2_report::Role::Primary, 1146),
            Behaviour::Silent
        );
        assert_eq!(
            s.behaviour(stca2_report::Role::Secondary, 7212),
            Behaviour::Silent
        );
        let e = scenario("nope").unwrap_err().to_string();
        assert!(
            e.contains("primary-blocked") && e.contains("reset-after-hello"),
            "{e}"
        );
    }
}
