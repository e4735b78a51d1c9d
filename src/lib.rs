//! stca2-probe: network diagnostics for the STCA2 migration of French payment
//! terminals.
//!
//! Data flows one way: [`targets`] -> [`probe`] -> [`verdict`] -> [`report`]
//! -> [`backoffice`]. [`allow`] guards every destination; [`cert`] holds the
//! pure certificate facts both the probe and the target loader need; [`lab`]
//! stands in for the gateway on loopback.
#![warn(missing_docs)]

pub mod allow;
pub mod backoffice;
pub mod cert;
pub mod check;
pub mod lab;
pub mod probe;
pub mod report;
pub mod targets;
pub mod tlswire;
pub mod verdict;
