//! Store tests: real SQLite files in temporary directories, the real catalog, no mocks.

mod archive;
mod capture;
#[cfg(feature = "encryption")]
mod encryption;
mod faults;
mod fixtures;
mod list;
mod migrate;
mod outbox;
mod photos;
mod sync;
