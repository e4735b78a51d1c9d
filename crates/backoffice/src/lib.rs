//! The back office: ingests probe reports, serves filters, recommendations and exports.
//!
//! Probes upload v1 reports (one, or a batch) to `POST /api/v1/reports` with
//! a bearer token. The [`api`] validates the whole upload against the
//! contract ([`contract`]: the v1 schema, the same for every database) and
//! the token's rights, then the [`ingest`] queue has the [`store`] write
//! the history and each probe's latest state in one transaction (uploads
//! that arrive together share one) — on SQLite by default,
//! PostgreSQL at fleet scale, with the same schema. Operators (admin tokens)
//! read the "Port STCA2 non ouvert" list, the failover recommendations, a
//! probe's detail and the ISP-ticket CSV, streamed from the database.
//! [`server`] is the HTTP/HTTPS accept loop; [`cli`] the `serve`, `token`
//! and `export` subcommands; [`auth`] the tokens; [`isp_csv`] writes the
//! exports' CSV from the reports the store streams; [`console`] the web
//! pages operators work in (French by default), under `/`.
#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod cli;
pub mod console;
pub mod contract;
pub mod ingest;
pub mod isp_csv;
pub mod server;
pub mod store;

pub use api::ROUTES;
pub use cli::{Command, run};
pub use server::{ServeConfig, Server};
pub use store::Store;
