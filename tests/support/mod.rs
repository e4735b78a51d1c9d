//! Helpers shared by several test files, each in its own module:
//! [`openssl`] starts `openssl s_server` peers and makes their certificates,
//! [`cli`] runs the binary, [`report`] looks results up in a report.
//!
//! A test file takes it with `mod support;` and uses what it needs.

#![allow(dead_code)] // each test binary uses its own subset

pub mod cli;
pub mod openssl;
pub mod report;
