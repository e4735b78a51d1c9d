//! The probe engine: everything a shop box needs to check the gateway and
//! judge what it saw, and nothing of the back office.
//!
//! Data flows one way: [`targets`] -> [`probe`] -> [`verdict`] -> the v1
//! report (`stca2_report`) -> its renderings ([`human`], JSON, CSV).
//! [`allow`] guards every destination before a socket exists; [`cert`] holds
//! the pure certificate facts both the probe and the target loader need;
//! [`check`] runs the whole pipeline once, and [`cli`] is the `check`
//! command that people type.
#![warn(missing_docs)]

pub mod allow;
pub mod cert;
pub mod check;
pub mod cli;
pub mod human;
pub mod output;
pub mod probe;
pub mod targets;
pub mod trace;
pub mod verdict;
pub mod watch;
