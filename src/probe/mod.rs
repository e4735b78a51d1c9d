//! One check: every site x port of a target set, probed concurrently.
//!
//! `probe` measures and never prints.

pub mod legacy;
pub mod result;
