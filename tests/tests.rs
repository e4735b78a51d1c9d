//! The integration tests, in one binary (ripgrep's `tests/tests.rs`): one
//! link step instead of one per file, and one [`util`] module that every
//! file shares.
//!
//! Every test probes only loopback or addresses inside network namespaces
//! the test itself created, with an allow-list; the real target file is
//! only parsed. The tests run in parallel threads, so each takes its
//! addresses from one allocator ([`util::net`]) rather than writing its own.
//! Reports that no check produced come from `stca2_report::fixtures`. Tests that need something this machine may lack (root,
//! `openssl`, PostgreSQL) print a loud `SKIPPED:` line and pass.

mod util;

mod backoffice_api;
mod backoffice_fleet;
mod backoffice_hostile;
mod backoffice_openapi;
mod backoffice_store;
mod cli;
mod console;
mod daemon;
mod daemon_field;
mod faults;
mod guard;
mod i18n;
mod lab_server;
mod legacy_capture;
mod netns_firewall;
mod openssl_peers;
mod openssl_probe;
mod packaging;
mod probe_engine;
mod report_contract;
mod scenarios;
