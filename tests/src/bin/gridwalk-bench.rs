//! `gridwalk-bench`: the project's benchmark command. See `gridwalk_tests::bench`.
//!
//! Exit codes: 0 done, 1 a group failed, 2 the command line names nothing runnable.

use std::io::Write;
use std::process::ExitCode;

use gridwalk_tests::bench::{self, USAGE};

fn main() -> ExitCode {
    let args = match bench::parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gridwalk-bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let groups = bench::groups();
    if args.list {
        for g in &groups {
            println!("{}\t{}", g.name, g.about);
        }
        return ExitCode::SUCCESS;
    }
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let result = bench::run(&args, &groups, &mut stdout.lock(), &mut stderr.lock());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "gridwalk-bench: {e}");
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}
