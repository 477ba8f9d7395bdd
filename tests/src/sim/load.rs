//! The district's day on one server: every grid's phone (4,833 for Bao'an) bootstraps its grid,
//! records 50 records and syncs, `concurrency` phones at a time. Figures, one a line as
//! `figure: <name> <value> <unit>`: wall time, records per second, latency percentiles per endpoint
//! (timed by a proxy between the phones and the server, as the phones see them), and CPU time of
//! the server process apart from this one (phones and proxy) and from the whole machine. Then the
//! checker runs over every archive.
//!
//! The phones' archives go to a RAM-backed directory (`/dev/shm`) when there is one: each real
//! phone has its own flash, and thousands of simulated phones' fsyncs on the one disk the server
//! writes to would measure that disk, not the system. The server's database stays on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gridwalk_core::Building;

use tokio::sync::Semaphore;

use super::check::Verdict;
use super::device::{Announce, DeviceSpec, DeviceStats, SimDevice};
use super::procstat;
use super::proxy::{Endpoint, FaultPlan, Proxy};
use super::run::{Harness, RunDir, stats_line};
use super::script::{DayShape, Step};
use super::world::{Engine, World};
use super::{SimError, SimResult};
use crate::bench::{Figure, stats};

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The fraction of Bao'an (1.0: all 4,833 grids).
    pub fraction: f64,
    pub engine: Engine,
    pub seed: u64,
    /// Phones syncing at the same time.
    pub concurrency: usize,
    pub records: usize,
    /// The phones record their day offline before the clock starts; the measured window is each
    /// phone's login and one sync (bootstrap pull and push of the day's records): the server's
    /// side of the day without most of the phones' own work.
    pub sync_only: bool,
    pub keep: Option<PathBuf>,
    pub time_limit: Duration,
}

/// Quick runs are this fraction of Bao'an (48 grids).
pub const QUICK_FRACTION: f64 = 0.01;

/// The load's goals on the project's 2-core machine.
pub const GOAL_WALL_S: f64 = 60.0;
pub const GOAL_P99_MS: f64 = 1_000.0;

/// What a load run measured.
#[derive(Debug)]
pub struct LoadReport {
    pub figures: Vec<Figure>,
    pub verdict: Verdict,
}

fn figure(out: &mut Vec<Figure>, name: &str, value: f64, unit: &str) -> SimResult<()> {
    let f = Figure::new(name, value, unit).map_err(|e| SimError::Setup(e.to_string()))?;
    println!("{f}");
    out.push(f);
    Ok(())
}

/// Where the phones' archives go: RAM when available (see the module documentation).
fn phones_parent() -> Option<PathBuf> {
    let shm = Path::new("/dev/shm");
    shm.is_dir().then(|| shm.to_path_buf())
}

pub async fn load(o: &LoadOptions) -> SimResult<LoadReport> {
    let mut figures = Vec::new();
    let prefix = if o.sync_only { "load_sync" } else { "load" };
    let setup = Instant::now();
    let fraction = o.fraction;
    let world = tokio::task::spawn_blocking({
        let seed = o.seed;
        move || World::baoan(seed, fraction)
    })
    .await
    .map_err(|e| SimError::Setup(e.to_string()))??;
    let dir = RunDir::new(o.keep.as_deref())?;
    // Kept runs keep their phones beside the server (for `check --dir`); others use RAM.
    let phones_dir = if o.keep.is_some() {
        None
    } else {
        Some(RunDir::new_in(None, phones_parent().as_deref())?)
    };
    let h = Harness::start(dir, world, o.engine, o.seed).await?;
    let devices_root = phones_dir
        .as_ref()
        .map_or_else(|| h.dir.devices(), |d| d.path().to_path_buf());
    let proxy = Proxy::start(h.server.addr, FaultPlan::none(), o.seed).await?;
    let url = proxy.url();
    let workers = h.world.workers().len() as u32;
    let specs: Vec<DeviceSpec> = (0..workers)
        .map(|i| {
            let mut s = h.device_spec(i, &url);
            s.dir = devices_root.join(format!("d{i:05}"));
            s.shape = DayShape::load(o.records);
            // One push and one pull page per sync; patient retries (a loaded server may be slow).
            s.config.push_batch = 1_000;
            s.config.pull_page = 5_000;
            s.config.retry.max_attempts = 6;
            s.config.retry.initial_delay = Duration::from_millis(100);
            s.config.retry.max_delay = Duration::from_secs(2);
            s.config.request_timeout = Duration::from_secs(60);
            s
        })
        .collect();
    eprintln!(
        "load: {} grids, {} buildings on {} in {:.1} s; {} phones, {} at a time, archives in {}",
        h.world.grids.len(),
        h.world.buildings.len(),
        o.engine.as_str(),
        setup.elapsed().as_secs_f64(),
        specs.len(),
        o.concurrency,
        devices_root.display()
    );
    figure(
        &mut figures,
        &format!("{prefix}.setup_s"),
        setup.elapsed().as_secs_f64(),
        "s",
    )?;

    let deadline = Instant::now() + o.time_limit;
    if o.sync_only {
        // Before the clock starts: every phone records its day offline, about its own grid's
        // buildings (as the district knows them; the phone has not pulled yet).
        let t = Instant::now();
        let jobs: Vec<(DeviceSpec, Vec<Building>)> = specs
            .iter()
            .zip(h.world.workers())
            .map(|(s, (g, _))| {
                (
                    s.clone(),
                    h.world.buildings_of(g).into_iter().cloned().collect(),
                )
            })
            .collect();
        crowd(jobs, o.concurrency, move |(spec, buildings)| {
            record_offline(spec, buildings)
        })
        .await?;
        eprintln!(
            "load: {} phones recorded their day offline in {:.1} s",
            specs.len(),
            t.elapsed().as_secs_f64()
        );
    }
    let postmaster = match o.engine {
        Engine::Postgres => postmaster_pid(&h.data.db_url).await,
        Engine::Sqlite => None,
    };
    let pg_cpu0 = postmaster.and_then(procstat::tree_cpu_seconds);
    let server_cpu0 = h.server.cpu_seconds();
    let sim_cpu0 = procstat::self_cpu_seconds().unwrap_or(0.0);
    let machine0 = procstat::machine_busy_seconds().unwrap_or(0.0);
    let started = Instant::now();
    let final_specs = specs.clone();
    let totals = if o.sync_only {
        crowd(specs, o.concurrency, move |spec| sync_phone(spec, deadline)).await
    } else {
        crowd(specs, o.concurrency, move |spec| one_phone(spec, deadline)).await
    };
    let wall = started.elapsed().as_secs_f64();
    let server_cpu = h.server.cpu_seconds() - server_cpu0;
    let sim_cpu = procstat::self_cpu_seconds().unwrap_or(0.0) - sim_cpu0;
    let machine = procstat::machine_busy_seconds().unwrap_or(0.0) - machine0;
    let pg_cpu = match (pg_cpu0, postmaster.and_then(procstat::tree_cpu_seconds)) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let mut totals = totals?;
    if o.sync_only {
        // The day's records were recorded before the clock; they are the ones this window synced.
        totals.records = u64::from(workers) * o.records as u64;
    }
    proxy.drain(Duration::from_secs(10)).await;
    println!("{}", stats_line(&totals));

    figure(
        &mut figures,
        &format!("{prefix}.devices"),
        f64::from(workers),
        "count",
    )?;
    figure(
        &mut figures,
        &format!("{prefix}.buildings"),
        h.world.buildings.len() as f64,
        "count",
    )?;
    figure(
        &mut figures,
        &format!("{prefix}.concurrency"),
        o.concurrency as f64,
        "count",
    )?;
    figure(
        &mut figures,
        &format!("{prefix}.records"),
        totals.records as f64,
        "count",
    )?;
    figure(&mut figures, &format!("{prefix}.wall_s"), wall, "s")?;
    figure(
        &mut figures,
        &format!("{prefix}.records_per_s"),
        totals.records as f64 / wall.max(1e-9),
        "1/s",
    )?;
    figure(
        &mut figures,
        &format!("{prefix}.sync_failures"),
        totals.syncs_failed as f64,
        "count",
    )?;
    let timed = proxy.timed();
    figure(
        &mut figures,
        &format!("{prefix}.requests"),
        timed.len() as f64,
        "count",
    )?;
    let mut all = Vec::with_capacity(timed.len());
    for ep in Endpoint::ALL {
        let ms: Vec<f64> = timed
            .iter()
            .filter(|t| t.endpoint == ep && t.answered)
            .map(|t| t.ms)
            .collect();
        if ms.is_empty() {
            continue;
        }
        all.extend_from_slice(&ms);
        let name = ep.as_str();
        figure(
            &mut figures,
            &format!("{prefix}.{name}.requests"),
            ms.len() as f64,
            "count",
        )?;
        for (p, label) in [(50.0, "p50"), (95.0, "p95"), (99.0, "p99")] {
            let v = stats::percentile(&ms, p).unwrap_or(0.0);
            figure(
                &mut figures,
                &format!("{prefix}.{name}.{label}_ms"),
                v,
                "ms",
            )?;
        }
        figure(
            &mut figures,
            &format!("{prefix}.{name}.max_ms"),
            stats::max(&ms).unwrap_or(0.0),
            "ms",
        )?;
    }
    let p99 = stats::percentile(&all, 99.0).unwrap_or(0.0);
    figure(&mut figures, &format!("{prefix}.all.p99_ms"), p99, "ms")?;
    figure(
        &mut figures,
        &format!("{prefix}.server_cpu_s"),
        server_cpu,
        "s",
    )?;
    figure(&mut figures, &format!("{prefix}.sim_cpu_s"), sim_cpu, "s")?;
    if let Some(pg) = pg_cpu {
        figure(&mut figures, &format!("{prefix}.postgres_cpu_s"), pg, "s")?;
    }
    figure(
        &mut figures,
        &format!("{prefix}.machine_busy_cpu_s"),
        machine,
        "s",
    )?;
    println!(
        "load: goal wall <= {GOAL_WALL_S:.0} s: {}; goal p99 < {GOAL_P99_MS:.0} ms: {}",
        if wall <= GOAL_WALL_S { "met" } else { "MISSED" },
        if p99 < GOAL_P99_MS { "met" } else { "MISSED" },
    );

    // Not measured: once the server has derived the stars of what was pushed, every phone pulls
    // once more, so the checker compares converged views.
    super::run::quiesce(&h.data, deadline).await?;
    for chunk in final_specs.chunks(o.concurrency.max(1)) {
        let tasks: Vec<_> = chunk
            .iter()
            .cloned()
            .map(|spec| {
                tokio::spawn(async move {
                    let mut d =
                        tokio::task::spawn_blocking(move || SimDevice::open(spec, Announce::Quiet))
                            .await
                            .map_err(|e| SimError::Setup(e.to_string()))??;
                    d.settle(deadline).await
                })
            })
            .collect();
        for t in tasks {
            t.await
                .map_err(|e| SimError::Setup(format!("final pull: {e}")))??;
        }
    }
    let data = h.data.clone();
    let kept = h.dir.kept();
    h.server.stop().await?;
    let verdict = super::check::check(&data, &devices_root).await;
    if !kept {
        data.drop_pg_schema().await?;
    }
    drop(phones_dir);
    Ok(LoadReport {
        figures,
        verdict: verdict?,
    })
}

/// One phone's day under load: bootstrap, 50 records, one sync (again only if it failed).
async fn one_phone(spec: DeviceSpec, deadline: Instant) -> SimResult<DeviceStats> {
    let mut d = open(spec).await?;
    d.bootstrap(deadline).await?;
    let script = d.plan(0).await?;
    d.run_day(&script).await?;
    let counts = d.store(|a| a.sync_counts()).await?;
    if counts.pending_records > 0 || counts.pending_photos > 0 {
        d.settle(deadline).await?;
    }
    Ok(d.stats.clone())
}

/// Runs `job` for every item, `concurrency` at a time; adds up the phones' stats.
async fn crowd<T, F, Fut>(items: Vec<T>, concurrency: usize, job: F) -> SimResult<DeviceStats>
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = SimResult<DeviceStats>> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::with_capacity(items.len());
    for item in items {
        let permit = gate
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| SimError::Setup(e.to_string()))?;
        let fut = job(item);
        tasks.push(tokio::spawn(async move {
            let r = fut.await;
            drop(permit);
            r
        }));
    }
    let mut totals = DeviceStats::default();
    let mut first_err = None;
    for t in tasks {
        match t.await {
            Ok(Ok(s)) => totals.add(&s),
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(e) => {
                first_err.get_or_insert(SimError::Setup(format!("phone task: {e}")));
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(totals),
    }
}

async fn open(spec: DeviceSpec) -> SimResult<SimDevice> {
    tokio::task::spawn_blocking(move || SimDevice::open(spec, Announce::Quiet))
        .await
        .map_err(|e| SimError::Setup(e.to_string()))?
}

/// `--sync-only`, before the clock: the day recorded offline (no sync).
async fn record_offline(spec: DeviceSpec, buildings: Vec<Building>) -> SimResult<DeviceStats> {
    let mut d = open(spec).await?;
    let mut script = d.plan_with(0, &buildings, &[])?;
    script.steps.retain(|s| !matches!(s, Step::Sync));
    d.run_day(&script).await?;
    Ok(DeviceStats::default())
}

/// `--sync-only`, on the clock: log in and sync until everything is on the server.
async fn sync_phone(spec: DeviceSpec, deadline: Instant) -> SimResult<DeviceStats> {
    let mut d = open(spec).await?;
    d.settle(deadline).await?;
    Ok(d.stats.clone())
}

/// The PostgreSQL server's postmaster: the parent of the backend serving a fresh connection.
/// `None` when it is not on this machine (or `/proc` cannot say).
async fn postmaster_pid(url: &str) -> Option<u32> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .ok()?;
    let driver = tokio::spawn(conn);
    let backend: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .ok()?
        .try_get(0)
        .ok()?;
    drop(client);
    let _ = driver.await;
    procstat::parent_pid(u32::try_from(backend).ok()?)
}
