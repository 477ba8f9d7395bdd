//! The phone's sync client against the real server, end to end. One test binary (each integration
//! test file links the whole workspace; one binary keeps CI's disk and link time small).

mod accounts;
mod bench_support;
mod edits;
mod network;
mod notices;
mod offline;
mod progress;
mod resume;
mod review;
mod stars;
