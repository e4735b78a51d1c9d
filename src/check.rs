//! One whole check, end to end: target set -> probe -> verdict -> report.
//!
//! This is the pipeline the CLI, the demo, the tests and (later) the daemon
//! share, so that they cannot drift apart: the allow-list is settled before
//! any packet is sent, the probe measures, the verdict judges, and the result
//! is a [`Report`].

use std::net::IpAddr;

use ipnet::IpNet;
use time::OffsetDateTime;

use crate::allow::{AllowList, Refusal};
use crate::probe::{self, ProbeConfig};
use crate::report::{ProbeIdentity, Report};
use crate::targets::{Address, TargetSet};
use crate::verdict::Context;

/// Builds the allow-list for a target set: `flags` when given, else the
/// file's own `allow` key, else exactly the set's IP addresses; always under
/// `ceiling` (from `STCA2_PROBE_ALLOW`) when there is one.
pub fn allow_list(targets: &TargetSet, flags: &[IpNet], ceiling: Option<Vec<IpNet>>) -> AllowList {
    let allowed = if !flags.is_empty() {
        flags.to_vec()
    } else if let Some(file) = &targets.allow {
        file.clone()
    } else {
        targets
            .literal_addresses()
            .into_iter()
            .map(IpNet::from)
            .collect()
    };
    AllowList::new(allowed, ceiling)
}

/// The IP-literal targets the allow-list refuses: a check with any of these
/// is not started, so that not a single packet leaves for a forbidden place.
pub fn refused_targets(targets: &TargetSet, allow: &AllowList) -> Vec<(String, IpAddr, Refusal)> {
    targets
        .sites
        .iter()
        .filter_map(|s| match s.address {
            Address::Ip(ip) => allow.check(ip).err().map(|r| (s.name.clone(), ip, r)),
            Address::Host(_) => None,
        })
        .collect()
}

/// Runs one check and judges it. Hostname targets are checked against the
/// allow-list by the probe after resolution; IP literals should have been
/// screened with [`refused_targets`] (the probe refuses them again anyway).
pub async fn run(targets: &TargetSet, config: &ProbeConfig, probe: ProbeIdentity) -> Report {
    let started_at = OffsetDateTime::now_utc();
    let results = probe::check(targets, config).await;
    let finished_at = OffsetDateTime::now_utc();
    let ctx = Context {
        anchors_available: targets.all_anchors_loaded(),
        ..Context::default()
    };
    Report::judged(
        probe,
        targets.name.clone(),
        started_at,
        finished_at,
        results,
        &ctx,
    )
}

/// This machine's host name, for a default probe id.
pub fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
