//! Looking things up in a [`Report`].

use stca2_report::Report;
use stca2_report::Role;
use stca2_report::TargetResult;

/// The result for a role and port; panics, naming them, when there is none.
pub fn result(report: &Report, role: Role, port: u16) -> &TargetResult {
    report
        .results
        .iter()
        .find(|r| r.role == role && r.port == port)
        .unwrap_or_else(|| panic!("no result for {role:?} port {port}"))
}
