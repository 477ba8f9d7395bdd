//! CPU time from `/proc` (Linux): a process's user + system time, and the whole machine's busy
//! time, so the load can say how much of the 2 cores the server used apart from the phones.

use std::sync::OnceLock;

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux this runs on).
fn ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line, in ticks. The command name
/// (field 2) is in parentheses and may hold spaces, so fields are counted after its `)`.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Fields of a `/proc/<pid>/stat` line after the command name: (parent pid, own ticks, ticks of
/// children it has waited for).
fn parse_stat_tree(stat: &str) -> Option<(u32, u64, u64)> {
    let after = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    let ppid: u32 = f.get(1)?.parse().ok()?;
    Some((ppid, num(11)? + num(12)?, num(13)? + num(14)?))
}

/// CPU seconds of a process and all its children, live or ended (a PostgreSQL server: the
/// postmaster, its background workers and every connection's backend).
pub fn tree_cpu_seconds(root: u32) -> Option<f64> {
    let (_, own, waited) =
        parse_stat_tree(&std::fs::read_to_string(format!("/proc/{root}/stat")).ok()?)?;
    let mut ticks = own + waited;
    for entry in std::fs::read_dir("/proc").ok()?.filter_map(Result::ok) {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((ppid, own, waited)) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| parse_stat_tree(&s))
            && ppid == root
        {
            ticks += own + waited;
        }
    }
    Some(ticks as f64 / ticks_per_second())
}

/// The parent of a process.
pub fn parent_pid(pid: u32) -> Option<u32> {
    parse_stat_tree(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?).map(|t| t.0)
}

/// CPU seconds a process has used so far; `None` if it is gone or `/proc` is not there.
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(parse_stat_ticks(&stat)? as f64 / ticks_per_second())
}

/// This process's CPU seconds.
pub fn self_cpu_seconds() -> Option<f64> {
    process_cpu_seconds(std::process::id())
}

/// CPU seconds this process's live threads have run, from each thread's `schedstat` (nanoseconds,
/// where `/proc/<pid>/stat` counts 10 ms ticks: too coarse for a 200 ms sync). Threads that have
/// ended are not counted.
pub fn self_threads_cpu_seconds() -> Option<f64> {
    let mut ns: u64 = 0;
    for entry in std::fs::read_dir("/proc/self/task")
        .ok()?
        .filter_map(Result::ok)
    {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("schedstat")) else {
            continue;
        };
        ns += parse_schedstat_ns(&stat)?;
    }
    Some(ns as f64 / 1e9)
}

/// The first field of a `schedstat` line: time spent on a CPU, in nanoseconds.
fn parse_schedstat_ns(line: &str) -> Option<u64> {
    line.split_whitespace().next()?.parse().ok()
}

/// Busy CPU seconds of the whole machine (all cores, everything but idle and iowait) since boot.
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …
    let busy: u64 = v
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .take(8)
        .map(|(_, t)| *t)
        .sum();
    Some(busy as f64 / ticks_per_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_procstat_reads_utime_and_stime_past_a_name_with_spaces() {
        let line =
            "4242 (gridwalk sim) S 1 4242 4242 0 -1 4194560 500 0 0 0 1234 56 0 0 20 0 3 0 100";
        assert_eq!(parse_stat_ticks(line), Some(1234 + 56));
        assert_eq!(parse_stat_ticks("garbage"), None);
        assert_eq!(parse_stat_tree(line), Some((1, 1290, 0)));
    }

    #[test]
    fn sim_procstat_reads_the_run_time_of_a_schedstat_line() {
        assert_eq!(parse_schedstat_ns("123456789 4242 17\n"), Some(123_456_789));
        assert_eq!(parse_schedstat_ns(""), None);
        assert_eq!(parse_schedstat_ns("x 1 2"), None);
    }

    #[test]
    fn sim_procstat_reads_this_process() {
        let own = || {
            std::fs::read_to_string("/proc/thread-self/schedstat")
                .ok()
                .and_then(|s| parse_schedstat_ns(&s))
                .expect("this thread's schedstat")
        };
        let own_before = own();
        // Burn a little CPU so the figure is not zero on a coarse clock.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert_ne!(x, 1);
        let cpu = self_cpu_seconds().expect("/proc is readable");
        assert!(cpu > 0.0, "{cpu}");
        assert!(machine_busy_seconds().expect("/proc/stat") >= cpu);
        // This process's tree holds at least this process.
        assert!(tree_cpu_seconds(std::process::id()).expect("tree") >= cpu);
        assert!(parent_pid(std::process::id()).is_some());
        // This thread's nanosecond clock saw the burn. The live threads' sum holds this thread and
        // never more than the whole process has used; other test threads come and go meanwhile,
        // and ended ones are in the process's ticks only.
        let own_after = own();
        assert!(own_after > own_before, "{own_after} after {own_before}");
        let threads = self_threads_cpu_seconds().expect("schedstat");
        assert!(
            threads >= own_after as f64 / 1e9,
            "{threads} against {own_after} ns"
        );
        let cpu_after = self_cpu_seconds().expect("/proc is readable");
        assert!(threads <= cpu_after + 0.05, "{threads} against {cpu_after}");
    }
}
