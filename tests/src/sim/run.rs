//! The pieces every simulation shares: a run directory, the district's server as a child process,
//! crowds of devices patrolling in this process, the final settling sync, and the verdict.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use gridwalk_server::db::Database;

use super::check::{self, Verdict};
use super::device::{Announce, DeviceSpec, DeviceStats, SimDevice};
use super::server::ServerProcess;
use super::world::{Engine, ServerData, World};
use super::{SimError, SimResult};

/// Where a run keeps its files: a temporary directory (removed at the end) or one the caller
/// keeps (`--keep DIR`, for `gridwalk-sim check --dir DIR` afterwards).
#[derive(Debug)]
pub enum RunDir {
    Temp(TempDir),
    Kept(PathBuf),
}

impl RunDir {
    /// A kept directory (created, must be empty) or a temporary one under `TMPDIR`.
    pub fn new(keep: Option<&Path>) -> SimResult<Self> {
        Self::new_in(keep, None)
    }

    /// Like [`RunDir::new`], with the temporary directory under `parent` when given.
    pub fn new_in(keep: Option<&Path>, parent: Option<&Path>) -> SimResult<Self> {
        match keep {
            Some(p) => {
                std::fs::create_dir_all(p)
                    .map_err(|e| SimError::io(format!("creating {}", p.display()), e))?;
                let empty = std::fs::read_dir(p)
                    .map_err(|e| SimError::io(format!("reading {}", p.display()), e))?
                    .next()
                    .is_none();
                if !empty {
                    return Err(SimError::Setup(format!(
                        "--keep {}: the directory must be empty",
                        p.display()
                    )));
                }
                Ok(RunDir::Kept(p.to_path_buf()))
            }
            None => {
                let t = match parent {
                    Some(parent) => tempfile::Builder::new()
                        .prefix("gridwalk-sim.")
                        .tempdir_in(parent),
                    None => tempfile::Builder::new().prefix("gridwalk-sim.").tempdir(),
                };
                Ok(RunDir::Temp(t.map_err(|e| {
                    SimError::io("creating a run directory", e)
                })?))
            }
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            RunDir::Temp(t) => t.path(),
            RunDir::Kept(p) => p,
        }
    }

    pub fn kept(&self) -> bool {
        matches!(self, RunDir::Kept(_))
    }

    pub fn devices(&self) -> PathBuf {
        self.path().join("devices")
    }
}

/// A district on a running server.
#[derive(Debug)]
pub struct Harness {
    pub dir: RunDir,
    pub world: World,
    pub data: ServerData,
    pub server: ServerProcess,
    pub seed: u64,
}

impl Harness {
    /// Prepares the server's data for `world` in `dir/server` and starts the server.
    pub async fn start(dir: RunDir, world: World, engine: Engine, seed: u64) -> SimResult<Self> {
        let data = ServerData::prepare(&world, &dir.path().join("server"), engine).await?;
        data.save(dir.path())?;
        let server = ServerProcess::start(&data).await?;
        Ok(Self {
            dir,
            world,
            data,
            server,
            seed,
        })
    }

    /// Device `i`: the worker of grid `i` (wrapping round when there are more devices than grids).
    pub fn device_spec(&self, i: u32, url: &str) -> DeviceSpec {
        let workers = self.world.workers();
        let username = workers
            .get(i as usize % workers.len().max(1))
            .map(|(_, w)| w.as_str().to_owned())
            .unwrap_or_default();
        DeviceSpec::new(
            i,
            self.dir.devices().join(format!("d{i:05}")),
            url,
            &username,
            self.seed,
            self.world.first_day,
        )
    }

    /// Stops the server, checks, and removes the PostgreSQL schema unless the run is kept.
    pub async fn finish(self) -> SimResult<Verdict> {
        self.server.stop().await?;
        let verdict = check::check(&self.data, &self.dir.devices()).await;
        if !self.dir.kept() {
            self.data.drop_pg_schema().await?;
        }
        verdict
    }
}

/// A device's working life in this process: bootstrap, `spec.days` days, and more days while
/// `more` is set (chaos scenarios keep the phones busy until the attack is over).
pub async fn patrol(
    spec: DeviceSpec,
    more: Option<Arc<AtomicBool>>,
    deadline: Instant,
) -> SimResult<SimDevice> {
    let mut d = tokio::task::spawn_blocking(move || SimDevice::open(spec, Announce::Quiet))
        .await
        .map_err(|e| SimError::Setup(e.to_string()))??;
    d.bootstrap(deadline).await?;
    let mut day = 0;
    while day < d.spec.days || more.as_ref().is_some_and(|m| m.load(Ordering::SeqCst)) {
        if Instant::now() > deadline {
            return Err(SimError::Device {
                device: d.spec.name(),
                message: "ran out of time while patrolling".into(),
            });
        }
        let script = d.plan(day).await?;
        d.run_day(&script).await?;
        day += 1;
    }
    Ok(d)
}

/// Runs every device's patrol concurrently.
pub async fn patrol_all(
    specs: Vec<DeviceSpec>,
    more: Option<Arc<AtomicBool>>,
    deadline: Instant,
) -> SimResult<Vec<SimDevice>> {
    let tasks: Vec<_> = specs
        .into_iter()
        .map(|s| tokio::spawn(patrol(s, more.clone(), deadline)))
        .collect();
    join_all(tasks).await
}

async fn join_all<T>(tasks: Vec<tokio::task::JoinHandle<SimResult<T>>>) -> SimResult<Vec<T>> {
    let mut out = Vec::with_capacity(tasks.len());
    let mut first_err = None;
    for t in tasks {
        match t.await {
            Ok(Ok(v)) => out.push(v),
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(e) => {
                first_err.get_or_insert(SimError::Setup(format!("device task: {e}")));
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Every device syncs until it has nothing left to send, then once more so that every device has
/// pulled what the others' pushes changed.
/// Waits until the server's background rater has drained its queue: stars are derived after a
/// push, off its path (ADR 0018), so a device's view can only equal the server's once the server
/// is quiet and the device has pulled again.
pub async fn quiesce(data: &ServerData, deadline: Instant) -> SimResult<()> {
    let db = gridwalk_server::db::open(&data.db_url)
        .await
        .map_err(|e| SimError::Setup(format!("open the server database: {e}")))?;
    loop {
        let queued = db
            .queued_ratings()
            .await
            .map_err(|e| SimError::Setup(format!("read the rating queue: {e}")))?;
        if queued == 0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(SimError::Setup(format!(
                "the server still has {queued} buildings to rate at the deadline"
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Every device syncs until nothing is pending, then again after the server is quiet (when its
/// database is known), so each one has pulled what the others pushed and what the server derived.
pub async fn settle_all(
    devices: Vec<SimDevice>,
    deadline: Instant,
    server: Option<&ServerData>,
) -> SimResult<Vec<SimDevice>> {
    let tasks: Vec<_> = devices
        .into_iter()
        .map(|mut d| {
            tokio::spawn(async move {
                d.settle(deadline).await?;
                Ok(d)
            })
        })
        .collect();
    let devices = join_all(tasks).await?;
    if let Some(data) = server {
        quiesce(data, deadline).await?;
    }
    let tasks: Vec<_> = devices
        .into_iter()
        .map(|mut d| {
            tokio::spawn(async move {
                d.settle(deadline).await?;
                Ok(d)
            })
        })
        .collect();
    join_all(tasks).await
}

/// The devices' stats added up.
pub fn total_stats(devices: &[SimDevice]) -> DeviceStats {
    let mut t = DeviceStats::default();
    for d in devices {
        t.add(&d.stats);
    }
    t
}

/// One line about what the devices did.
pub fn stats_line(t: &DeviceStats) -> String {
    let errors: Vec<String> = t.errors.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "devices: records={} photos={} logins={} syncs_ok={} syncs_failed={} errors[{}]",
        t.records,
        t.photos,
        t.logins,
        t.syncs_ok,
        t.syncs_failed,
        errors.join(" ")
    )
}

/// What the generic `run` command does: `devices` phones, one per grid, `days` days each.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub devices: u32,
    pub days: u32,
    pub records: usize,
    pub seed: u64,
    pub engine: Engine,
    pub keep: Option<PathBuf>,
    pub time_limit: Duration,
}

/// Runs the plain simulation on its own server and checks.
pub async fn run(o: &RunOptions) -> SimResult<Verdict> {
    let dir = RunDir::new(o.keep.as_deref())?;
    let world = World::even(o.devices, 24, o.seed)?;
    let h = Harness::start(dir, world, o.engine, o.seed).await?;
    let deadline = Instant::now() + o.time_limit;
    let url = h.server.url();
    let specs: Vec<DeviceSpec> = (0..o.devices)
        .map(|i| {
            let mut s = h.device_spec(i, &url);
            s.days = o.days;
            s.shape.records = o.records;
            s
        })
        .collect();
    let started = Instant::now();
    let devices = patrol_all(specs, None, deadline).await?;
    let devices = settle_all(devices, deadline, Some(&h.data)).await?;
    println!("{}", stats_line(&total_stats(&devices)));
    println!(
        "sim: {} devices, {:.1} s",
        devices.len(),
        started.elapsed().as_secs_f64()
    );
    drop(devices);
    h.finish().await
}

/// The same against a server somebody else runs: every device logs in as one of `users`.
#[derive(Debug, Clone)]
pub struct ExternalOptions {
    pub url: String,
    pub users: Vec<String>,
    pub password: String,
    /// The server's database, to check against (`sqlite://PATH` or `postgres://…`).
    pub server_db: Option<String>,
    pub devices: u32,
    pub days: u32,
    pub records: usize,
    pub seed: u64,
    pub keep: Option<PathBuf>,
    pub time_limit: Duration,
}

/// Runs devices against an external server; checks when its database is given.
pub async fn run_external(o: &ExternalOptions) -> SimResult<Option<Verdict>> {
    if o.users.is_empty() {
        return Err(SimError::Setup("--server needs at least one --user".into()));
    }
    let dir = RunDir::new(o.keep.as_deref())?;
    let deadline = Instant::now() + o.time_limit;
    let first_day = chrono::Utc::now().date_naive();
    let specs: Vec<DeviceSpec> = (0..o.devices)
        .map(|i| {
            let mut s = DeviceSpec::new(
                i,
                dir.devices().join(format!("d{i:05}")),
                &o.url,
                &o.users[i as usize % o.users.len()],
                o.seed,
                first_day,
            );
            s.password = o.password.clone();
            s.days = o.days;
            s.shape.records = o.records;
            s
        })
        .collect();
    let devices = patrol_all(specs, None, deadline).await?;
    // An external server: its database is not ours to watch.
    let devices = settle_all(devices, deadline, None).await?;
    println!("{}", stats_line(&total_stats(&devices)));
    drop(devices);
    let Some(url) = &o.server_db else {
        println!("check: skipped (no --server-db): every device's outbox was answered");
        return Ok(None);
    };
    let engine = if url.starts_with("sqlite://") {
        Engine::Sqlite
    } else {
        Engine::Postgres
    };
    let data = ServerData {
        engine,
        data_dir: PathBuf::new(),
        db_url: url.clone(),
        pg_schema: None,
    };
    Ok(Some(check::check(&data, &dir.devices()).await?))
}
