//! `gridwalk-sim`: simulated field devices, chaos scenarios, the district load and the checker.
//! See `gridwalk_tests::sim`.

fn main() -> std::process::ExitCode {
    gridwalk_tests::sim::cli::main_with(std::env::args().skip(1).collect())
}
