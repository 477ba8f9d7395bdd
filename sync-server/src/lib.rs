//! gridwalk-server: the district sync server.
//!
//! - [`db`]: storage behind one [`db::Database`] trait, with an embedded SQLite engine and a
//!   PostgreSQL engine, chosen by URL.
//! - [`sync`]: the exactly-once push contract (pure planning shared by both engines), record
//!   validation and pull cursors.
//! - [`fixtures`]: deterministic sample district and records for tests, benches and the demo.

pub mod db;
pub mod fixtures;
pub mod sync;
