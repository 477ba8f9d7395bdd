//! gridwalk-tests: end-to-end harness and benchmarks.

pub mod bench;
pub mod sim;
pub mod sync_bench;
pub mod sync_harness;
