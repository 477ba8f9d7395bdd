//! The server's integration tests, one binary (each test binary links the whole server; one keeps
//! CI's disk and link time small). PostgreSQL cases need `GRIDWALK_TEST_PG` (scripts/with-postgres.sh).

// First: its test macros (`http_test!`, `conformance!`) serve the modules after it.
#[macro_use]
mod common;
mod bench_support;
mod cli;
mod conformance;
mod events;
mod http;
mod office;
mod stars;
mod stars_http;
