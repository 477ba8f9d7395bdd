//! gridwalk-server: the district sync server.
//!
//! - [`db`]: storage behind one [`db::Database`] trait, with an embedded SQLite engine and a
//!   PostgreSQL engine, chosen by URL.
//! - [`sync`]: the exactly-once push contract (pure planning shared by both engines), record
//!   validation and pull cursors.
//! - [`auth`], [`scope`]: accounts, password hashes, bearer tokens, and what each role may do.
//! - [`http`]: the axum API (`/v1/...`), its error mapping and OpenAPI document.
//! - [`photos`]: the content-addressed photo store behind resumable uploads.
//! - [`config`]: server configuration and its shipped defaults.
//! - [`notices`]: the outbound notice queue's transport (webhook) and delivery worker.
//! - [`import`]: the address-base importer (CSV, GeoJSON); [`demo`]: the demo district and accounts.
//! - [`bench`]: entry points for the benchmark binary; [`cli`]: the command line.
//! - [`rater`], [`sweep`]: the authoritative star rating off the request path, and the overdue
//!   sweep that marks late hazards and applies the downgrades.
//! - [`fixtures`]: an even sample district from the synthetic generator, and well-formed records
//!   about its buildings, for tests and benches.

pub mod assessment;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod export;
pub mod fixtures;
pub mod http;
pub mod import;
pub mod notices;
pub mod photos;
pub mod rater;
pub mod review;
pub mod scope;
pub mod sweep;
pub mod sync;
