//! The benchmark harness behind `gridwalk-bench`: a registry of named groups, each a function that
//! measures something and emits figures, printed one a line as `figure: <name> <value> <unit>`.
//!
//! ```text
//! cargo run --release -p gridwalk-tests --bin gridwalk-bench -- [--quick] [--only NAME]… [--list]
//! ```
//!
//! Figures go to stdout and nothing else does; progress goes to stderr. `--quick` shrinks every
//! group so the whole run takes about a minute.

mod archive;
mod args;
mod district;
mod figure;
mod planning;
pub mod png;
mod server;
pub mod stats;
mod sync;
mod synth;
mod workflows;

use std::io::Write;
use std::time::Instant;

pub use args::{Args, ArgsError, USAGE, parse_args};
pub use figure::{Figure, FigureError, format_value};

/// What a group receives: whether to run small, and where its figures go.
pub struct Context<'a> {
    quick: bool,
    out: &'a mut dyn Write,
    emitted: usize,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("quick", &self.quick)
            .field("emitted", &self.emitted)
            .finish_non_exhaustive()
    }
}

impl<'a> Context<'a> {
    pub fn new(quick: bool, out: &'a mut dyn Write) -> Self {
        Self {
            quick,
            out,
            emitted: 0,
        }
    }

    /// Run small: every group together should finish in about a minute.
    pub fn quick(&self) -> bool {
        self.quick
    }

    /// Prints one figure right away (a later failure does not lose earlier figures).
    pub fn emit(&mut self, name: &str, value: f64, unit: &str) -> Result<(), BenchError> {
        let figure = Figure::new(name, value, unit)?;
        writeln!(self.out, "{figure}")?;
        self.out.flush()?;
        self.emitted += 1;
        Ok(())
    }

    /// Milliseconds since `start`, the unit most figures use.
    pub fn ms_since(start: Instant) -> f64 {
        start.elapsed().as_secs_f64() * 1e3
    }
}

/// A group's body.
pub type GroupFn = fn(&mut Context<'_>) -> Result<(), BenchError>;

/// A named benchmark group, selectable with `--only NAME`.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    pub name: &'static str,
    pub about: &'static str,
    pub run: GroupFn,
}

/// The registry. Only groups that measure something are registered: a name listed here always
/// prints real figures.
pub fn groups() -> Vec<Group> {
    vec![
        Group {
            name: "synth",
            about: "generate the synthetic Bao'an district (quick: a 10% district)",
            run: synth::run,
        },
        Group {
            name: "archive",
            about: "the phone's SQLite archive: record inspections with photos, load and open \
                    Bao'an's 175,700 buildings (quick: 10%)",
            run: archive::run,
        },
        Group {
            name: "planning",
            about: "due list, low-star list from the archive, walking order, rating the district \
                    (quick: 10%)",
            run: planning::run,
        },
        Group {
            name: "server",
            about: "the sync server on SQLite and PostgreSQL: push merge rate against a raw \
                    batched insert of the same rows, address-base import of 175,700 buildings \
                    (quick: fewer rows, 10%; PostgreSQL needs GRIDWALK_TEST_PG_URL)",
            run: server::run,
        },
        Group {
            name: "workflows",
            about: "the server's archive at work over Bao'an's 175,700 buildings: the low-star \
                    list through the HTTP API (first page, CSV and GeoJSON exports) and the \
                    overdue sweep (quick: 10%; PostgreSQL needs GRIDWALK_TEST_PG_URL)",
            run: workflows::run,
        },
        Group {
            name: "sync",
            about: "the phone's sync against the server over loopback: pull 10,000 buildings into \
                    an empty phone, push 10,000 inspections; time and bytes on the wire against \
                    the issue-6 goals, median of 5 runs (quick: 1,000 records, 1 run)",
            run: sync::run,
        },
    ]
}

/// Why a benchmark run stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Args(#[from] ArgsError),
    #[error("unknown benchmark group '{name}'; the groups are: {known}")]
    UnknownGroup { name: String, known: String },
    #[error(transparent)]
    Figure(#[from] FigureError),
    #[error("cannot write figures: {0}")]
    Io(#[from] std::io::Error),
    #[error("group '{group}' failed: {message}")]
    Failed {
        group: &'static str,
        message: String,
    },
}

impl BenchError {
    /// 2 for a command line that names nothing runnable, 1 for a run that failed.
    pub fn exit_code(&self) -> i32 {
        match self {
            BenchError::Args(_) | BenchError::UnknownGroup { .. } => 2,
            _ => 1,
        }
    }

    /// Wraps a group's own error with the group's name.
    pub fn failed(group: &'static str, e: impl std::fmt::Display) -> Self {
        BenchError::Failed {
            group,
            message: e.to_string(),
        }
    }
}

/// The groups `only` names, in registry order; all of them when `only` is empty.
pub fn select<'g>(groups: &'g [Group], only: &[String]) -> Result<Vec<&'g Group>, BenchError> {
    if let Some(name) = only.iter().find(|n| !groups.iter().any(|g| g.name == *n)) {
        return Err(BenchError::UnknownGroup {
            name: name.clone(),
            known: groups.iter().map(|g| g.name).collect::<Vec<_>>().join(", "),
        });
    }
    Ok(groups
        .iter()
        .filter(|g| only.is_empty() || only.iter().any(|n| n == g.name))
        .collect())
}

/// Runs the selected groups, figures to `out`, progress to `progress`.
pub fn run(
    args: &Args,
    groups: &[Group],
    out: &mut dyn Write,
    progress: &mut dyn Write,
) -> Result<(), BenchError> {
    let selected = select(groups, &args.only)?;
    let mut ctx = Context::new(args.quick, out);
    for g in selected {
        let mode = if args.quick { " (quick)" } else { "" };
        writeln!(progress, "bench: {}{mode}: {}", g.name, g.about)?;
        let start = Instant::now();
        (g.run)(&mut ctx)?;
        writeln!(
            progress,
            "bench: {} done in {:.1} s",
            g.name,
            start.elapsed().as_secs_f64()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emits_two(ctx: &mut Context<'_>) -> Result<(), BenchError> {
        let n = if ctx.quick() { 1.0 } else { 10.0 };
        ctx.emit("demo.items", n, "count")?;
        ctx.emit("demo.rate", 2.5, "1/s")
    }

    fn fails(_: &mut Context<'_>) -> Result<(), BenchError> {
        Err(BenchError::failed("broken", "no data"))
    }

    fn registry() -> Vec<Group> {
        vec![
            Group {
                name: "demo",
                about: "two figures",
                run: emits_two,
            },
            Group {
                name: "broken",
                about: "always fails",
                run: fails,
            },
        ]
    }

    fn run_to_string(args: &[&str], groups: &[Group]) -> (Result<(), BenchError>, String) {
        let args = parse_args(args.iter().map(|s| s.to_string())).expect("args parse");
        let mut out = Vec::new();
        let mut progress = Vec::new();
        let r = run(&args, groups, &mut out, &mut progress);
        (r, String::from_utf8(out).expect("utf-8"))
    }

    #[test]
    fn runs_only_the_named_groups_and_prints_figure_lines() {
        let (r, out) = run_to_string(&["--quick", "--only", "demo"], &registry());
        r.expect("demo runs");
        assert_eq!(
            out,
            "figure: demo.items 1 count\nfigure: demo.rate 2.500 1/s\n"
        );
        let (r, out) = run_to_string(&["--only=demo"], &registry());
        r.expect("demo runs");
        assert!(out.starts_with("figure: demo.items 10 count\n"));
    }

    #[test]
    fn unknown_group_lists_the_names_and_exits_2() {
        let (r, out) = run_to_string(&["--only", "archive"], &registry());
        let e = r.expect_err("archive is not registered here");
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "unknown benchmark group 'archive'; the groups are: demo, broken"
        );
        assert!(out.is_empty(), "nothing runs when a name is wrong");
    }

    #[test]
    fn a_failing_group_exits_1_after_earlier_figures() {
        let (r, out) = run_to_string(&[], &registry());
        let e = r.expect_err("broken fails");
        assert_eq!(e.exit_code(), 1);
        assert!(e.to_string().contains("group 'broken' failed: no data"));
        assert_eq!(out.lines().count(), 2, "demo's figures were printed first");
    }

    #[test]
    fn the_registry_lists_only_groups_that_measure() {
        let names: Vec<_> = groups().iter().map(|g| g.name).collect();
        assert_eq!(
            names,
            vec![
                "synth",
                "archive",
                "planning",
                "server",
                "workflows",
                "sync"
            ]
        );
    }

    #[test]
    fn the_sync_group_measures_both_directions_against_the_goals_when_quick() {
        let (r, out) = run_to_string(&["--quick", "--only", "sync"], &groups());
        r.expect("sync runs");
        let figures: Vec<Figure> = out
            .lines()
            .map(|l| Figure::parse_line(l).expect("a figure line"))
            .collect();
        let get = |name: &str| {
            figures
                .iter()
                .find(|f| f.name == name)
                .unwrap_or_else(|| panic!("{name} missing from {out}"))
        };
        assert_eq!(get("sync.records").value, 1_000.0);
        assert_eq!(get("sync.runs").value, 1.0);
        for dir in ["pull", "push"] {
            for (what, unit) in [
                ("record_json_bytes", "B"),
                ("ms", "ms"),
                ("phase_ms", "ms"),
                ("wire_up_mb", "MB"),
                ("wire_down_mb", "MB"),
                ("wire_mb", "MB"),
                ("requests", "count"),
            ] {
                let f = get(&format!("sync.{dir}_{what}"));
                assert!(f.value > 0.0, "{f:?}");
                assert_eq!(f.unit, unit, "{f:?}");
            }
            let up = get(&format!("sync.{dir}_wire_up_mb")).value;
            let down = get(&format!("sync.{dir}_wire_down_mb")).value;
            let total = get(&format!("sync.{dir}_wire_mb")).value;
            assert!((up + down - total).abs() < 1e-5, "{up} + {down} != {total}");
            // The goal sits right after the figure it bounds, scaled to a tenth of the volume.
            let names: Vec<&str> = figures.iter().map(|f| f.name.as_str()).collect();
            let at = |n: &str| names.iter().position(|x| *x == n).expect("present");
            assert_eq!(
                at(&format!("sync.{dir}_goal_ms")),
                at(&format!("sync.{dir}_ms")) + 1
            );
            assert_eq!(
                at(&format!("sync.{dir}_wire_goal_mb")),
                at(&format!("sync.{dir}_wire_mb")) + 1
            );
            assert!((get(&format!("sync.{dir}_wire_goal_mb")).value - 0.11).abs() < 1e-9);
        }
        assert!((get("sync.pull_goal_ms").value - 18.5).abs() < 1e-9);
        assert!((get("sync.push_goal_ms").value - 25.0).abs() < 1e-9);
        // A pull of 1,000 buildings is one page (5,000 per page); a push of 1,000 is one batch
        // (1,000 per batch) and then a pull that finds nothing.
        assert_eq!(get("sync.pull_requests").value, 1.0);
        assert_eq!(get("sync.push_requests").value, 2.0);
    }

    #[test]
    fn the_synth_group_measures_a_tenth_of_baoan_when_quick() {
        let (r, out) = run_to_string(&["--quick", "--only", "synth"], &groups());
        r.expect("synth runs");
        let figures: Vec<Figure> = out
            .lines()
            .map(|l| Figure::parse_line(l).expect("a figure line"))
            .collect();
        let get = |name: &str| {
            figures
                .iter()
                .find(|f| f.name == name)
                .unwrap_or_else(|| panic!("{name} missing from {out}"))
        };
        assert_eq!(get("synth.buildings").value, 17_570.0);
        assert_eq!(get("synth.grids").value, 483.0);
        assert!(get("synth.generate_district_ms").value > 0.0);
        assert_eq!(get("synth.generate_district_ms").unit, "ms");
        let units = get("synth.units").value;
        assert!(
            (16.5 * 17_570.0..19.5 * 17_570.0).contains(&units),
            "{units}"
        );
        assert!(get("synth.district_json_mb").value > 1.0);
    }
}
