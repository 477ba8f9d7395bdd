//! The `gridwalk-bench` binary's command-line contract: exit codes and where output goes.

use std::process::Command;

fn bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gridwalk-bench"))
        .args(args)
        .output()
        .expect("the bench binary runs")
}

#[test]
fn unknown_group_exits_2_and_lists_the_groups() {
    let out = bench(&["--only", "nosuchgroup"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no figures for an unknown group");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "unknown benchmark group 'nosuchgroup'; the groups are: synth, archive, planning, server, workflows, sync"
        ),
        "{err}"
    );
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    let out = bench(&["--fast"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown argument '--fast'") && err.contains("usage: gridwalk-bench"));
}

#[test]
fn list_prints_registered_groups_only() {
    let out = bench(&["--list"]);
    assert_eq!(out.status.code(), Some(0));
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split('\t').next().map(str::to_owned))
        .collect();
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
