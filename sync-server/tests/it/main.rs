//! The server's integration tests, one binary (each test binary links the whole server; one keeps
//! CI's disk and link time small). PostgreSQL cases need `GRIDWALK_TEST_PG` (scripts/with-postgres.sh).

mod bench_support;
mod cli;
mod common;
mod conformance;
mod events;
mod http;
mod office;
mod stars;
mod stars_http;
