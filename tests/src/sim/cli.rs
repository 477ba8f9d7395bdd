//! The `gridwalk-sim` command line.
//!
//! Exit codes: 0 the checker found nothing wrong, 1 it found lost or duplicated records or a
//! device's view differing from the server's, 2 a bad command line, 3 the simulation could not
//! run to a verdict (setup failed, a device could not finish in time).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use super::chaos::{self, ChaosOptions, DEVICE_SUBCOMMAND, Scenario};
use super::check::{self, Verdict};
use super::load::{self, LoadOptions};
use super::run::{self, ExternalOptions, RunOptions};
use super::server::SERVER_SUBCOMMAND;
use super::world::{Engine, ServerData};
use super::{SimError, SimResult};

#[derive(Debug, Parser)]
#[command(
    name = "gridwalk-sim",
    about = "Simulated field devices against the gridwalk server: patrol days, chaos, district load, and a checker"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Phones patrolling seeded days against a server (its own, or --server URL), then the checker.
    Run {
        #[arg(long, default_value_t = 4)]
        devices: u32,
        #[arg(long, default_value_t = 1)]
        days: u32,
        /// Records per phone per day.
        #[arg(long, default_value_t = 12)]
        records: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_enum, default_value_t = Engine::Sqlite)]
        engine: Engine,
        /// Keep the run's files in DIR (must be empty) for `gridwalk-sim check --dir DIR`.
        #[arg(long)]
        keep: Option<PathBuf>,
        /// Use this running server instead of starting one (needs --user and --password).
        #[arg(long)]
        server: Option<String>,
        /// Account the phones log in as (repeatable: phones take them in turn).
        #[arg(long)]
        user: Vec<String>,
        #[arg(long, env = "GRIDWALK_SIM_PASSWORD")]
        password: Option<String>,
        /// The --server's database (sqlite://PATH or postgres://…), read-only, for the checker.
        #[arg(long)]
        server_db: Option<String>,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        time_limit: u64,
    },
    /// An attack on the whole system, then the checker.
    Chaos {
        #[arg(long, value_enum)]
        scenario: Scenario,
        /// A short, bounded run (what the test suite runs).
        #[arg(long)]
        quick: bool,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_enum, default_value_t = Engine::Sqlite)]
        engine: Engine,
        #[arg(long)]
        keep: Option<PathBuf>,
        /// Give up after this many seconds [default: 120 with --quick, else 600].
        #[arg(long)]
        time_limit: Option<u64>,
    },
    /// The district's day: every grid's phone bootstraps, records and syncs; figures, then the checker.
    Load {
        /// 1% of Bao'an (48 grids) instead of all 4,833 grids.
        #[arg(long)]
        quick: bool,
        /// Another fraction of Bao'an (0 < F <= 1; overrides --quick).
        #[arg(long)]
        scale: Option<f64>,
        #[arg(long, value_enum, default_value_t = Engine::Sqlite)]
        engine: Engine,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Phones syncing at the same time.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Records per phone.
        #[arg(long, default_value_t = 50)]
        records: usize,
        /// Phones record offline before the clock starts; only logins and syncs are timed.
        #[arg(long)]
        sync_only: bool,
        #[arg(long)]
        keep: Option<PathBuf>,
        /// Give up after this many seconds [default: 120 with --quick, else 1800].
        #[arg(long)]
        time_limit: Option<u64>,
    },
    /// Runs the checker on a run kept with --keep DIR.
    Check {
        #[arg(long)]
        dir: PathBuf,
    },
}

/// Prints the verdict; 0 when it passed, 1 when not.
fn report(v: &Verdict) -> ExitCode {
    println!("{v}");
    if v.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn failed(e: &SimError) -> ExitCode {
    eprintln!("gridwalk-sim: {e}");
    ExitCode::from(3)
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// The whole program: `args` without the program name.
pub fn main_with(args: Vec<String>) -> ExitCode {
    // Hidden roles of this binary: the server (as `gridwalk-server`) and a device process.
    match args.first().map(String::as_str) {
        Some(SERVER_SUBCOMMAND) => return run_server(&args[1..]),
        Some(DEVICE_SUBCOMMAND) => {
            let Some(dir) = args.get(1) else {
                eprintln!("gridwalk-sim: {DEVICE_SUBCOMMAND} needs a directory");
                return ExitCode::from(2);
            };
            let rt = match runtime() {
                Ok(rt) => rt,
                Err(e) => return failed(&SimError::io("starting the runtime", e)),
            };
            return match rt.block_on(chaos::device_process(&PathBuf::from(dir))) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => failed(&e),
            };
        }
        _ => {}
    }
    let cli = match Cli::try_parse_from(std::iter::once("gridwalk-sim".to_owned()).chain(args)) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return failed(&SimError::io("starting the runtime", e)),
    };
    match rt.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            // A verdict line is always printed, so scripts reading it see the run did not finish.
            println!("result: error");
            failed(&e)
        }
    }
}

async fn dispatch(command: Command) -> SimResult<ExitCode> {
    match command {
        Command::Run {
            devices,
            days,
            records,
            seed,
            engine,
            keep,
            server,
            user,
            password,
            server_db,
            time_limit,
        } => {
            let time_limit = Duration::from_secs(time_limit);
            match server {
                Some(url) => {
                    let password = password.ok_or_else(|| {
                        SimError::Setup(
                            "--server needs --password (or GRIDWALK_SIM_PASSWORD)".into(),
                        )
                    })?;
                    let o = ExternalOptions {
                        url,
                        users: user,
                        password,
                        server_db,
                        devices,
                        days,
                        records,
                        seed,
                        keep,
                        time_limit,
                    };
                    Ok(match run::run_external(&o).await? {
                        Some(v) => report(&v),
                        None => ExitCode::SUCCESS,
                    })
                }
                None => {
                    let o = RunOptions {
                        devices,
                        days,
                        records,
                        seed,
                        engine,
                        keep,
                        time_limit,
                    };
                    Ok(report(&run::run(&o).await?))
                }
            }
        }
        Command::Chaos {
            scenario,
            quick,
            seed,
            engine,
            keep,
            time_limit,
        } => {
            let o = ChaosOptions {
                scenario,
                quick,
                seed,
                engine,
                keep,
                time_limit: Duration::from_secs(time_limit.unwrap_or(if quick {
                    120
                } else {
                    600
                })),
            };
            Ok(report(&chaos::chaos(&o).await?))
        }
        Command::Load {
            quick,
            scale,
            engine,
            seed,
            concurrency,
            records,
            sync_only,
            keep,
            time_limit,
        } => {
            let fraction = match scale {
                Some(f) if f > 0.0 && f <= 1.0 => f,
                Some(f) => {
                    return Err(SimError::Setup(format!(
                        "--scale {f}: give a fraction above 0 and at most 1"
                    )));
                }
                None if quick => load::QUICK_FRACTION,
                None => 1.0,
            };
            let o = LoadOptions {
                fraction,
                engine,
                seed,
                concurrency,
                records,
                sync_only,
                keep,
                time_limit: Duration::from_secs(time_limit.unwrap_or(if quick {
                    120
                } else {
                    1800
                })),
            };
            let r = load::load(&o).await?;
            Ok(report(&r.verdict))
        }
        Command::Check { dir } => {
            let data = ServerData::load(&dir)?;
            Ok(report(&check::check(&data, &dir.join("devices")).await?))
        }
    }
}

/// `gridwalk-sim __server ARGS…` is `gridwalk-server ARGS…`.
fn run_server(args: &[String]) -> ExitCode {
    use gridwalk_server::cli::{Cli as ServerCli, CliError, run};
    let cli = match ServerCli::try_parse_from(
        std::iter::once("gridwalk-server".to_owned()).chain(args.iter().cloned()),
    ) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gridwalk-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gridwalk-server: {e}");
            match e {
                CliError::Usage(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}
