//! The attacks, each ending with the checker's verdict:
//!
//! - `kill-server`: the server process is killed with SIGKILL while it is working on a push or a
//!   pull (seen through a timing proxy), and restarted on the same data and port, again and again
//!   while the phones patrol.
//! - `proxy`: every phone talks through a proxy that drops, resets, truncates or delays a random
//!   fraction of the requests, for the whole run.
//! - `kill-device`: each phone is its own process (`gridwalk-sim __device DIR`), killed with SIGKILL
//!   in the middle of its syncs and started again on the same archive, where it carries on with
//!   its day.
//! - `clock-skew`: phones whose clocks are days off, behind and ahead: their records carry those
//!   times, and the server must take them all the same.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

use super::check::Verdict;
use super::device::{Announce, DeviceSpec, SimDevice};
use super::proxy::{Endpoint, FaultPlan, Proxy};
use super::run::{Harness, RunDir, patrol_all, quiesce, settle_all, stats_line, total_stats};
use super::script::DayScript;
use super::world::{Engine, World};
use super::{SimError, SimResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    KillServer,
    Proxy,
    KillDevice,
    ClockSkew,
}

impl Scenario {
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::KillServer => "kill-server",
            Scenario::Proxy => "proxy",
            Scenario::KillDevice => "kill-device",
            Scenario::ClockSkew => "clock-skew",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChaosOptions {
    pub scenario: Scenario,
    pub quick: bool,
    pub seed: u64,
    pub engine: Engine,
    pub keep: Option<PathBuf>,
    pub time_limit: Duration,
}

/// The hidden subcommand a device process runs.
pub const DEVICE_SUBCOMMAND: &str = "__device";
/// A device process's settings, in its directory.
pub const DEVICE_SPEC_FILE: &str = "device.json";

/// Runs one scenario and checks.
pub async fn chaos(o: &ChaosOptions) -> SimResult<Verdict> {
    let devices = match (o.scenario, o.quick) {
        (Scenario::KillServer, true) => 3,
        (Scenario::KillServer, false) => 8,
        (Scenario::Proxy, true) => 4,
        (Scenario::Proxy, false) => 12,
        (Scenario::KillDevice, true) => 2,
        (Scenario::KillDevice, false) => 6,
        (Scenario::ClockSkew, true) => 4,
        (Scenario::ClockSkew, false) => 12,
    };
    let dir = RunDir::new(o.keep.as_deref())?;
    let world = World::even(devices, 16, o.seed)?;
    let h = Harness::start(dir, world, o.engine, o.seed).await?;
    let deadline = Instant::now() + o.time_limit;
    let started = Instant::now();
    let h = match o.scenario {
        Scenario::KillServer => kill_server(h, o, devices, deadline).await?,
        Scenario::Proxy => faulty_network(h, o, devices, deadline).await?,
        Scenario::KillDevice => kill_device(h, o, devices, deadline).await?,
        Scenario::ClockSkew => clock_skew(h, o, devices, deadline).await?,
    };
    println!(
        "chaos: {} done in {:.1} s",
        o.scenario.as_str(),
        started.elapsed().as_secs_f64()
    );
    h.finish().await
}

fn specs(h: &Harness, url: &str, devices: u32, days: u32, records: usize) -> Vec<DeviceSpec> {
    (0..devices)
        .map(|i| {
            let mut s = h.device_spec(i, url);
            s.days = days;
            s.shape.records = records;
            s
        })
        .collect()
}

async fn kill_server(
    mut h: Harness,
    o: &ChaosOptions,
    devices: u32,
    deadline: Instant,
) -> SimResult<Harness> {
    let target = if o.quick { 5 } else { 25 };
    let proxy = Proxy::start(h.server.addr, FaultPlan::none(), o.seed).await?;
    let more = Arc::new(AtomicBool::new(true));
    let specs = specs(&h, &proxy.url(), devices, 1, 10);
    let crowd = tokio::spawn(patrol_all(specs, Some(more.clone()), deadline));
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed ^ 0x6b69_6c6c);
    let mut kills = 0u32;
    let mut during: BTreeMap<Endpoint, u32> = BTreeMap::new();
    let mut restart_ms = Vec::new();
    while kills < target && Instant::now() < deadline && !crowd.is_finished() {
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..200))).await;
        // Strike while the server is working on a push or a pull.
        let until = Instant::now() + Duration::from_secs(5);
        while proxy.waiting_on(&[Endpoint::Push, Endpoint::Pull]) == 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let (push, pull) = (
            proxy.waiting_on(&[Endpoint::Push]),
            proxy.waiting_on(&[Endpoint::Pull]),
        );
        if push + pull == 0 {
            continue;
        }
        h.server.kill().await?;
        kills += 1;
        *during
            .entry(if push > 0 {
                Endpoint::Push
            } else {
                Endpoint::Pull
            })
            .or_default() += 1;
        // Down for a moment; the phones' syncs fail meanwhile and they carry on offline.
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..150))).await;
        restart_ms.push(h.server.restart().await?.as_secs_f64() * 1e3);
    }
    more.store(false, Ordering::SeqCst);
    let devices = crowd
        .await
        .map_err(|e| SimError::Setup(format!("devices: {e}")))??;
    let devices = settle_all(devices, deadline, Some(&h.data)).await?;
    println!("{}", stats_line(&total_stats(&devices)));
    restart_ms.sort_by(f64::total_cmp);
    println!(
        "chaos: kill-server: {kills} kills with SIGKILL (during a push {}, during a pull {}); \
         restart to healthy median {:.0} ms",
        during.get(&Endpoint::Push).copied().unwrap_or(0),
        during.get(&Endpoint::Pull).copied().unwrap_or(0),
        restart_ms.get(restart_ms.len() / 2).copied().unwrap_or(0.0)
    );
    if kills < target {
        return Err(SimError::Setup(format!(
            "only {kills} of {target} kills happened before the time limit"
        )));
    }
    Ok(h)
}

async fn faulty_network(
    h: Harness,
    o: &ChaosOptions,
    devices: u32,
    deadline: Instant,
) -> SimResult<Harness> {
    let fraction = 0.25;
    let proxy = Proxy::start(h.server.addr, FaultPlan::all(fraction), o.seed).await?;
    let days = if o.quick { 2 } else { 4 };
    let mut specs = specs(&h, &proxy.url(), devices, days, 10);
    // Half the phones give up on a request at its first failure, so that whole syncs fail and
    // start again (the others retry within the sync, resending what may have arrived).
    for s in specs.iter_mut().filter(|s| s.index % 2 == 0) {
        s.config.retry.max_attempts = 1;
    }
    let devices = patrol_all(specs, None, deadline).await?;
    // The network stays bad while the phones settle too.
    let devices = settle_all(devices, deadline, Some(&h.data)).await?;
    println!("{}", stats_line(&total_stats(&devices)));
    let injected: Vec<String> = proxy
        .injected()
        .iter()
        .map(|(f, n)| format!("{}={n}", f.as_str()))
        .collect();
    println!(
        "chaos: proxy: {} requests, faults on {:.0}% of them: {}",
        proxy.requests(),
        fraction * 100.0,
        injected.join(" ")
    );
    Ok(h)
}

async fn clock_skew(
    h: Harness,
    o: &ChaosOptions,
    devices: u32,
    deadline: Instant,
) -> SimResult<Harness> {
    let days = if o.quick { 2 } else { 3 };
    let url = h.server.url();
    let mut specs = specs(&h, &url, devices, days, 10);
    // Behind and ahead by days (and odd hours): the records carry those times.
    let pattern_h: [i64; 6] = [
        -9 * 24,
        3 * 24 + 5,
        -2 * 24 - 7,
        12 * 24,
        -30 * 24,
        30 * 24 - 1,
    ];
    for (i, s) in specs.iter_mut().enumerate() {
        s.skew_s = pattern_h[i % pattern_h.len()] * 3600;
    }
    let skews: Vec<String> = specs
        .iter()
        .map(|s| format!("{:+.1}d", s.skew_s as f64 / 86_400.0))
        .collect();
    let devices = patrol_all(specs, None, deadline).await?;
    let devices = settle_all(devices, deadline, Some(&h.data)).await?;
    println!("{}", stats_line(&total_stats(&devices)));
    println!("chaos: clock-skew: phone clocks off by {}", skews.join(" "));
    Ok(h)
}

// --- kill-device --------------------------------------------------------------------------------

fn script_path(dir: &Path, day: u32) -> PathBuf {
    dir.join(format!("day-{day}.json"))
}

/// Written whole or not at all: a process killed while writing leaves the old file (or none).
fn write_atomically(path: &Path, bytes: &[u8]) -> SimResult<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)
        .map_err(|e| SimError::io(format!("writing {}", tmp.display()), e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| SimError::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| SimError::io(format!("renaming {}", tmp.display()), e))
}

/// The device process: `gridwalk-sim __device DIR`. It works through its days, announcing its
/// syncs on stdout, and prints `done` when everything it recorded is on the server. Started
/// again on the same directory it replays the day it was in (its scripts are saved before they
/// are worked through), recording only what the archive does not hold yet.
pub async fn device_process(dir: &Path) -> SimResult<()> {
    let path = dir.join(DEVICE_SPEC_FILE);
    let spec: DeviceSpec = serde_json::from_slice(
        &std::fs::read(&path)
            .map_err(|e| SimError::io(format!("reading {}", path.display()), e))?,
    )?;
    let deadline = Instant::now() + Duration::from_secs(300);
    let days = spec.days;
    let mut d = SimDevice::open(spec, Announce::Stdout)?;
    d.bootstrap(deadline).await?;
    // An app started again syncs first (whatever a killed sync left is sent now).
    d.sync().await;
    for day in 0..days {
        let p = script_path(dir, day);
        let script: DayScript = match std::fs::read(&p) {
            Ok(bytes) => serde_json::from_slice(&bytes)?,
            Err(_) => {
                let s = d.plan(day).await?;
                write_atomically(&p, &serde_json::to_vec(&s)?)?;
                s
            }
        };
        d.run_day(&script).await?;
    }
    d.settle(deadline).await?;
    println!("done");
    Ok(())
}

/// What the parent saw of one device process.
#[derive(Debug, Default)]
struct Watch {
    kills: u32,
    /// Kills by the sync phase the device had announced.
    phases: BTreeMap<String, u32>,
    starts: u32,
}

async fn kill_device(
    h: Harness,
    o: &ChaosOptions,
    devices: u32,
    deadline: Instant,
) -> SimResult<Harness> {
    let target: u32 = if o.quick { 8 } else { 24 };
    let per_device = target.div_ceil(devices);
    let days = if o.quick { 2 } else { 3 };
    let url = h.server.url();
    let program = std::env::current_exe().map_err(|e| SimError::io("finding this program", e))?;
    let mut tasks = Vec::new();
    let mut written = Vec::new();
    for mut spec in specs(&h, &url, devices, days, 10) {
        spec.shape.sync_chance = 0.7;
        written.push(spec.clone());
        std::fs::create_dir_all(&spec.dir)
            .map_err(|e| SimError::io(format!("creating {}", spec.dir.display()), e))?;
        write_atomically(
            &spec.dir.join(DEVICE_SPEC_FILE),
            &serde_json::to_vec_pretty(&spec)?,
        )?;
        let seed = o.seed ^ u64::from(spec.index).wrapping_mul(0x5851_F42D_4C95_7F2D);
        tasks.push(tokio::spawn(watch_device(
            program.clone(),
            spec.dir.clone(),
            per_device,
            seed,
            deadline,
        )));
    }
    let mut total = Watch::default();
    for t in tasks {
        let w = t
            .await
            .map_err(|e| SimError::Setup(format!("device watcher: {e}")))??;
        total.kills += w.kills;
        total.starts += w.starts;
        for (k, v) in w.phases {
            *total.phases.entry(k).or_default() += v;
        }
    }
    let phases: Vec<String> = total
        .phases
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!(
        "chaos: kill-device: {} device processes started {} times, {} killed with SIGKILL mid-sync ({})",
        devices,
        total.starts,
        total.kills,
        phases.join(" ")
    );
    if total.kills < target {
        return Err(SimError::Setup(format!(
            "only {} of {target} kills landed mid-sync",
            total.kills
        )));
    }
    // The server rates pushed records after answering them, so a phone's last pull may come
    // before the rating of its last push. Once the server is quiet, each phone syncs once more (as
    // the app would on its next start): the views compared are the final ones.
    quiesce(&h.data, deadline).await?;
    for spec in written {
        SimDevice::open(spec, Announce::Quiet)?
            .settle(deadline)
            .await?;
    }
    Ok(h)
}

/// Runs one device process to `done`, killing it mid-sync up to `budget` times.
async fn watch_device(
    program: PathBuf,
    dir: PathBuf,
    budget: u32,
    seed: u64,
    deadline: Instant,
) -> SimResult<Watch> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut w = Watch::default();
    // How long this device's syncs take: kills are aimed inside that time.
    let mut sync_ms: Vec<f64> = Vec::new();
    loop {
        if Instant::now() > deadline {
            return Err(SimError::Device {
                device: dir.display().to_string(),
                message: "did not finish before the time limit".into(),
            });
        }
        let mut child = Command::new(&program)
            .arg(DEVICE_SUBCOMMAND)
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| SimError::io(format!("starting {}", program.display()), e))?;
        w.starts += 1;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| SimError::Setup("device process without stdout".into()))?;
        let mut stderr = child
            .stderr
            .take()
            .ok_or_else(|| SimError::Setup("device process without stderr".into()))?;
        let err_task = tokio::spawn(async move {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s).await;
            s
        });
        let mut lines = BufReader::new(stdout).lines();
        let mut phase = String::from("Starting");
        let mut sync_started: Option<Instant> = None;
        let mut kill_at: Option<tokio::time::Instant> = None;
        let mut target: Option<&'static str> = None;
        let mut done = false;
        let mut killed = false;
        loop {
            let strike = async {
                match kill_at {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                line = lines.next_line() => {
                    let Some(line) = line.map_err(|e| SimError::io("reading a device process", e))? else {
                        break;
                    };
                    if let Some(waiting) = line.strip_prefix("sync-start") {
                        sync_started = Some(Instant::now());
                        phase = "Starting".into();
                        target = None;
                        // Every sync with something to send is a target until the budget is
                        // spent (a sync with nothing to send, now and then): at a random moment in
                        // the first half of a typical sync, or early in one of its phases, drawn
                        // at random. A kill aimed past the sync's end is called off: every kill
                        // lands mid-sync.
                        let records = count_after(waiting, "records=") > 0;
                        let photos = count_after(waiting, "photos=") > 0;
                        let mut targets: Vec<Option<&'static str>> = vec![None, Some("Pulling")];
                        if records {
                            targets.push(Some("Pushing"));
                        }
                        if photos {
                            targets.push(Some("UploadingPhotos"));
                        }
                        let aim = w.kills < budget && (records || photos || rng.random_bool(0.25));
                        if aim {
                            match targets[rng.random_range(0..targets.len())] {
                                None => {
                                    let typical = median(&sync_ms).unwrap_or(10.0).max(2.0) / 2.0;
                                    let after = rng.random_range(0.0..typical);
                                    kill_at = Some(tokio::time::Instant::now() + Duration::from_secs_f64(after / 1e3));
                                }
                                Some(p) => target = Some(p),
                            }
                        }
                    } else if let Some(p) = line.strip_prefix("sync-phase ") {
                        phase = p.to_owned();
                        if target == Some(p) {
                            let after = Duration::from_micros(rng.random_range(0..2_000));
                            kill_at = Some(tokio::time::Instant::now() + after);
                        }
                    } else if line.starts_with("sync-end") {
                        if let Some(s) = sync_started.take() {
                            sync_ms.push(s.elapsed().as_secs_f64() * 1e3);
                        }
                        kill_at = None;
                        target = None;
                    } else if line == "done" {
                        done = true;
                    }
                }
                () = strike => {
                    child.kill().await.map_err(|e| SimError::io("killing a device process", e))?;
                    w.kills += 1;
                    *w.phases.entry(phase.clone()).or_default() += 1;
                    killed = true;
                    break;
                }
            }
        }
        let status = child
            .wait()
            .await
            .map_err(|e| SimError::io("waiting for a device process", e))?;
        let err = err_task.await.unwrap_or_default();
        if killed {
            continue;
        }
        if done && status.success() {
            return Ok(w);
        }
        return Err(SimError::Device {
            device: dir.display().to_string(),
            message: format!("process ended with {status}: {}", err.trim()),
        });
    }
}

/// The number after `key` in `text` (0 when absent).
fn count_after(text: &str, key: &str) -> u64 {
    text.split_whitespace()
        .find_map(|w| w.strip_prefix(key))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn median(v: &[f64]) -> Option<f64> {
    crate::bench::stats::median(v)
}
