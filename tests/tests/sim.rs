//! `gridwalk-sim` end to end: the short chaos scenarios and district load, each judged by the
//! checker, and the checker itself catching a record deliberately lost and one deliberately
//! duplicated in a real server database. The server runs as a child process (this package's
//! `gridwalk-sim` binary in its `__server` role, the same code as `gridwalk-server`).

use std::path::Path;
use std::process::{Command, Output};

use gridwalk_tests::bench::Figure;

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridwalk-sim"))
        .args(args)
        .env_remove("GRIDWALK_SERVER")
        .output()
        .expect("gridwalk-sim runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The last `result:` line, with the whole output for failure messages.
fn result_line(o: &Output) -> String {
    let out = stdout(o);
    out.lines()
        .rev()
        .find(|l| l.starts_with("result:"))
        .unwrap_or_else(|| {
            panic!(
                "no result line; stdout:\n{out}\nstderr:\n{}",
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .to_owned()
}

fn assert_clean(o: &Output) {
    assert_eq!(
        result_line(o),
        "result: lost=0 duplicated=0",
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(o));
}

/// The number right after `key` in the line that contains `marker`.
fn number_after(out: &str, marker: &str, key: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no line with {marker:?} in:\n{out}"));
    let rest = &line[line
        .find(key)
        .unwrap_or_else(|| panic!("{key:?} not in {line}"))
        + key.len()..];
    rest.chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {key:?} in {line}"))
}

#[test]
fn sim_chaos_kill_server_quick_loses_and_duplicates_nothing() {
    let o = sim(&[
        "chaos",
        "--scenario",
        "kill-server",
        "--quick",
        "--seed",
        "7",
    ]);
    assert_clean(&o);
    let out = stdout(&o);
    let kills = number_after(&out, "chaos: kill-server:", "kill-server: ");
    assert!(kills >= 5, "{out}");
    assert!(
        number_after(&out, "devices:", "records=") >= 30,
        "three phones record at least a day each: {out}"
    );
}

#[test]
fn sim_chaos_proxy_quick_loses_and_duplicates_nothing() {
    let o = sim(&["chaos", "--scenario", "proxy", "--quick", "--seed", "7"]);
    assert_clean(&o);
    let out = stdout(&o);
    for fault in ["drop=", "reset_after_request=", "truncate=", "delay="] {
        assert!(
            number_after(&out, "chaos: proxy:", fault) > 0,
            "every kind of fault happened: {out}"
        );
    }
    assert!(number_after(&out, "devices:", "syncs_failed=") > 0, "{out}");
}

#[test]
fn sim_chaos_kill_device_quick_loses_and_duplicates_nothing() {
    let o = sim(&[
        "chaos",
        "--scenario",
        "kill-device",
        "--quick",
        "--seed",
        "7",
    ]);
    assert_clean(&o);
    let out = stdout(&o);
    let kills = number_after(&out, "chaos: kill-device:", "times, ");
    assert!(kills >= 8, "{out}");
}

#[test]
fn sim_chaos_clock_skew_quick_loses_and_duplicates_nothing() {
    let o = sim(&[
        "chaos",
        "--scenario",
        "clock-skew",
        "--quick",
        "--seed",
        "7",
    ]);
    assert_clean(&o);
    let out = stdout(&o);
    assert!(
        out.contains("phone clocks off by -9.0d +3.2d -2.3d +12.0d"),
        "{out}"
    );
    assert!(out.contains("lost 0 (refused 0)"), "nothing refused: {out}");
}

#[test]
fn sim_load_quick_prints_figures_and_checks() {
    let o = sim(&["load", "--quick", "--concurrency", "8"]);
    assert_clean(&o);
    let out = stdout(&o);
    let figures: Vec<Figure> = out
        .lines()
        .filter(|l| l.starts_with("figure: "))
        .map(|l| Figure::parse_line(l).expect("a figure line"))
        .collect();
    let get = |name: &str| {
        figures
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name} missing from:\n{out}"))
            .value
    };
    assert_eq!(get("load.devices"), 48.0);
    assert_eq!(get("load.records"), 48.0 * 50.0);
    assert!(get("load.wall_s") > 0.0);
    assert_eq!(get("load.login.requests"), 48.0);
    assert_eq!(get("load.push.requests"), 48.0, "one push of 50 per phone");
    assert!(
        get("load.pull.requests") >= 96.0,
        "bootstrap and the day's sync"
    );
    assert!(get("load.push.p99_ms") >= get("load.push.p50_ms"));
    assert!(get("load.server_cpu_s") > 0.0);
}

fn tamper(db: &Path) {
    let c = rusqlite::Connection::open(db).expect("open the server's database");
    // Lost: an inspection without photos vanishes from the server.
    let gone: String = c
        .query_row(
            "SELECT record_id FROM records WHERE kind = 'inspection' \
             AND record_id NOT IN (SELECT record_id FROM record_photos) ORDER BY server_seq LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("an inspection without photos");
    c.execute_batch("PRAGMA foreign_keys = OFF")
        .expect("pragma");
    assert_eq!(
        c.execute("DELETE FROM records WHERE record_id = ?1", [&gone])
            .expect("delete"),
        1
    );
    // Duplicated: another record stored again under a new id (as a server that mistook a resent
    // record for a new one would).
    let copy_id = "01900000-0000-7000-8000-00000000d0b1";
    let n = c
        .execute(
            "INSERT INTO records (record_id, device_id, device_seq, username, kind, building_code, \
             payload, conflict, server_seq, received_at) \
             SELECT ?1, device_id, device_seq + 1000000, username, kind, building_code, \
             json_set(payload, '$.id', ?1), conflict, (SELECT max(server_seq) + 1 FROM records), \
             received_at FROM records WHERE record_id <> ?2 ORDER BY server_seq DESC LIMIT 1",
            [copy_id, gone.as_str()],
        )
        .expect("insert the copy");
    assert_eq!(n, 1);
}

#[test]
fn sim_checker_catches_a_lost_and_a_duplicated_record_in_a_real_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keep = dir.path().join("run");
    let keep_s = keep.display().to_string();
    let o = sim(&[
        "run",
        "--devices",
        "2",
        "--records",
        "6",
        "--seed",
        "3",
        "--keep",
        &keep_s,
    ]);
    assert_clean(&o);
    // The kept run checks clean again on its own.
    let again = sim(&["check", "--dir", &keep_s]);
    assert_clean(&again);

    tamper(&keep.join("server").join("gridwalk.sqlite"));
    let o = sim(&["check", "--dir", &keep_s]);
    assert_eq!(
        result_line(&o),
        "result: lost=1 duplicated=1",
        "{}",
        stdout(&o)
    );
    assert_eq!(o.status.code(), Some(1), "the checker fails the run");
}

#[test]
fn sim_bad_command_lines_exit_2() {
    let o = sim(&["chaos", "--scenario", "meteor"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("kill-server"));
    let o = sim(&["__device"]);
    assert_eq!(o.status.code(), Some(2));
}
