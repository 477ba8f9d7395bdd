//! Real parts for sync tests and benchmarks: the real server (`gridwalk-server`) on 127.0.0.1:0 over
//! a real SQLite engine in a temporary directory, phones with real archives and the real
//! `SyncClient`, and a TCP proxy that counts the bytes on the wire and can drop connections.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gridwalk_core::domain::{BuildingCode, Inspection, PhotoRef};
use gridwalk_core::protocol::{DeviceId, Role, Scope};
use gridwalk_core::store::{Archive, ArchiveOptions};
use gridwalk_core::sync::{SyncClient, SyncConfig};
use gridwalk_core::{Building, Grid};
use gridwalk_server::auth::{self, Passwords};
use gridwalk_server::config::{PasswordHashParams, ServerConfig};
use gridwalk_server::db::{AnyDb, Database, SqliteDb};
use gridwalk_server::fixtures::{self, DistrictShape, community_id, grid_id, street_id};
use gridwalk_server::http::{self, AppState, ServerHandle};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub type HarnessResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Worker of the sample district's first grid (`grid_id(1, 1, 1)`).
pub const W1: &str = "w-S01C01G001";
/// Worker of its second grid (`grid_id(1, 1, 2)`).
pub const W2: &str = "w-S01C01G002";
pub const SUPERVISOR: &str = "supervisor-S01";
pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "field-work-2025";

/// The sample district's buildings of W1's grid (building numbers 1..=12).
pub fn w1_codes() -> Vec<BuildingCode> {
    (1..=12).map(fixtures::code).collect()
}

/// A running server with its data directory.
#[derive(Debug)]
pub struct TestServer {
    pub handle: ServerHandle,
    dir: TempDir,
}

impl TestServer {
    /// The small sample district (2 streets × 2 communities × 3 grids × 12 buildings) and one
    /// account per role.
    pub async fn start(tweak: impl FnOnce(&mut ServerConfig)) -> HarnessResult<Self> {
        let (grids, buildings) = fixtures::district(DistrictShape::SMALL);
        Self::start_with(grids, buildings, tweak).await
    }

    /// A server over a district of one grid (W1's, `grid_id(1, 1, 1)`) holding `n` buildings, and
    /// those buildings' codes.
    pub async fn start_one_grid(n: u32) -> HarnessResult<(Self, Vec<BuildingCode>)> {
        let (grids, buildings) = fixtures::district(DistrictShape {
            streets: 1,
            communities_per_street: 1,
            grids_per_community: 1,
            buildings_per_grid: n,
        });
        let codes = buildings.iter().map(|b| b.code.clone()).collect();
        Ok((Self::start_with(grids, buildings, |_| {}).await?, codes))
    }

    pub async fn start_with(
        grids: Vec<Grid>,
        buildings: Vec<Building>,
        tweak: impl FnOnce(&mut ServerConfig),
    ) -> HarnessResult<Self> {
        let dir = tempfile::tempdir()?;
        let db = AnyDb::Sqlite(SqliteDb::open(dir.path().join("gridwalk.sqlite")).await?);
        db.migrate().await?;
        db.upsert_grids(grids).await?;
        db.import_buildings(buildings, false).await?;
        let mut config = ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().to_path_buf(),
            // Cheap hashes keep tests fast; production uses the defaults.
            password_hash: PasswordHashParams {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            },
            ..ServerConfig::default()
        };
        // No background rater or sweep: tests that want them turn them on.
        config.stars.background = false;
        tweak(&mut config);
        let passwords = Arc::new(Passwords::new(&config.password_hash)?);
        let users = [
            (W1, Role::Worker, Scope::Grid(grid_id(1, 1, 1))),
            (W2, Role::Worker, Scope::Grid(grid_id(1, 1, 2))),
            (SUPERVISOR, Role::Supervisor, Scope::Street(street_id(1))),
            (
                "officer-S01C01",
                Role::Officer,
                Scope::Community(community_id(1, 1)),
            ),
            (ADMIN, Role::Admin, Scope::District),
        ];
        for (name, role, scope) in users {
            auth::add_user(&db, passwords.clone(), name, PASSWORD.into(), role, scope).await?;
        }
        let listen = config.listen;
        let state = AppState::new(db, config).await?;
        let handle = http::spawn(state, listen, std::future::pending()).await?;
        Ok(Self { handle, dir })
    }

    pub fn url(&self) -> String {
        self.handle.url()
    }

    pub fn db(&self) -> &AnyDb {
        self.handle.state.db()
    }

    pub fn state(&self) -> &AppState {
        &self.handle.state
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Copies the server's write-ahead log into its database file and empties it (SQLite:
    /// `wal_checkpoint(TRUNCATE)`), as a district archive long at rest would be: a benchmark calls
    /// it so the copying of its own setup (a district import) is not timed with a phone's sync.
    pub async fn settle(&self) -> HarnessResult<()> {
        let path = self.dir.path().join("gridwalk.sqlite");
        tokio::task::spawn_blocking(move || -> HarnessResult<()> {
            // Never create a file: a wrong path must fail, not checkpoint an empty database.
            let c = rusqlite::Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE,
            )?;
            c.busy_timeout(std::time::Duration::from_secs(5))?;
            let wal = path.with_extension("sqlite-wal");
            // The server's own checkpoint thread may be mid-checkpoint: then try again shortly.
            for _ in 0..100 {
                let busy: i64 = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
                if busy == 0 && std::fs::metadata(&wal)?.len() == 0 {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let left = std::fs::metadata(&wal)?.len();
            Err(format!("the server's log was not emptied ({left} bytes left)").into())
        })
        .await?
    }

    /// (accepted, rejected) records the server holds from a device.
    pub async fn device_counts(&self, device: &DeviceId) -> HarnessResult<(u64, u64)> {
        Ok(self.db().device_record_counts(device).await?)
    }

    /// Bytes of a photo the server holds (complete or partial).
    pub async fn photo_bytes_held(&self, photo: &PhotoRef) -> HarnessResult<u64> {
        if self.db().photo_stored(&photo.sha256).await? {
            return Ok(photo.size_bytes);
        }
        Ok(self.state().photos().received(&photo.sha256).await?)
    }
}

/// A phone: an archive in its own directory and a sync client on it.
#[derive(Debug)]
pub struct Phone {
    dir: TempDir,
    pub archive: Arc<Archive>,
    pub client: SyncClient,
    config: SyncConfig,
}

impl Phone {
    pub fn new(config: SyncConfig) -> HarnessResult<Self> {
        let dir = tempfile::tempdir()?;
        let archive = Arc::new(Archive::open(
            dir.path().join("phone.db"),
            ArchiveOptions::default(),
        )?);
        let client = SyncClient::new(archive.clone(), config.clone())?;
        Ok(Self {
            dir,
            archive,
            client,
            config,
        })
    }

    /// Test defaults: the given server, fast retries.
    pub fn for_server(url: &str) -> HarnessResult<Self> {
        Self::new(test_config(url))
    }

    /// The app is killed and started again: the client and the archive's connections are dropped
    /// and the archive is reopened from disk.
    pub fn restart(self) -> HarnessResult<Self> {
        let Phone {
            dir,
            archive,
            client,
            config,
        } = self;
        drop(client);
        drop(archive);
        let archive = Arc::new(Archive::open(
            dir.path().join("phone.db"),
            ArchiveOptions::default(),
        )?);
        let client = SyncClient::new(archive.clone(), config.clone())?;
        Ok(Phone {
            dir,
            archive,
            client,
            config,
        })
    }

    pub fn device(&self) -> DeviceId {
        self.client.device_id().clone()
    }

    pub async fn login(&self, user: &str) -> HarnessResult<()> {
        self.client.login(user, PASSWORD).await?;
        Ok(())
    }

    /// Records `n` inspections of W1-style records for `worker` on the given buildings (round
    /// robin), each with the photos given for its index.
    pub fn record_inspections(
        &self,
        worker: &str,
        codes: &[BuildingCode],
        n: usize,
        photos: impl Fn(usize) -> Vec<PhotoRef>,
    ) -> HarnessResult<Vec<Inspection>> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let code = &codes[i % codes.len()];
            let rec = fixtures::inspection(code, worker, photos(i));
            self.archive.record_inspection(&rec)?;
            out.push(rec);
        }
        Ok(out)
    }

    /// Adds a photo of about `size` bytes to the archive.
    pub fn add_photo(&self, seed: u8, size: usize) -> HarnessResult<PhotoRef> {
        Ok(self.archive.add_photo(&png_bytes(seed, size))?)
    }

    pub fn config(&self) -> &SyncConfig {
        &self.config
    }
}

/// Short timeouts and retry waits, so failure paths run in milliseconds.
pub fn test_config(url: &str) -> SyncConfig {
    let mut c = SyncConfig::new(url);
    c.retry.max_attempts = 3;
    c.retry.initial_delay = Duration::from_millis(5);
    c.retry.max_delay = Duration::from_millis(20);
    c.connect_timeout = Duration::from_secs(2);
    c.request_timeout = Duration::from_secs(20);
    c
}

/// A PNG signature and header chunk (all the archive's checks read), then filler up to `size`.
pub fn png_bytes(seed: u8, size: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend_from_slice(&13u32.to_be_bytes());
    v.extend_from_slice(b"IHDR");
    v.extend_from_slice(&1600u32.to_be_bytes());
    v.extend_from_slice(&1200u32.to_be_bytes());
    v.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    let mut x = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    let target = size.max(v.len() + 1);
    while v.len() < target {
        // xorshift: incompressible like a real photo.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push((x >> 8) as u8);
    }
    v
}

/// A TCP proxy in front of the server: counts every byte each way and can refuse the next few
/// connections (accepts and closes them at once, as a dead cell link does).
#[derive(Debug)]
pub struct Proxy {
    pub addr: SocketAddr,
    stats: Arc<ProxyStats>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Default)]
struct ProxyStats {
    up: AtomicU64,
    down: AtomicU64,
    connections: AtomicU64,
    drop_next: AtomicU32,
    /// Added before forwarding each chunk toward the client, in milliseconds.
    delay_ms: AtomicU64,
    /// Added before forwarding each chunk toward the server, on one connection only: (its number
    /// from 1 in order of arrival, milliseconds). A request held there is overtaken by one sent
    /// later on another connection.
    hold_up: Mutex<Option<(u64, u64)>>,
    /// A shared downlink: bytes per second toward the client over all connections (0: unlimited),
    /// and when the link is next free.
    down_rate: AtomicU64,
    down_free_at: Mutex<Option<tokio::time::Instant>>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> HarnessResult<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(ProxyStats::default());
        let s = stats.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let number = s.connections.fetch_add(1, Ordering::SeqCst) + 1;
                let dropping = s
                    .drop_next
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if dropping {
                    drop(client);
                    continue;
                }
                let s = s.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        let _ = pipe(client, server, s, number).await;
                    }
                });
            }
        });
        Ok(Self { addr, stats, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// (client → server, server → client) bytes so far.
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.stats.up.load(Ordering::SeqCst),
            self.stats.down.load(Ordering::SeqCst),
        )
    }

    pub fn connections(&self) -> u64 {
        self.stats.connections.load(Ordering::SeqCst)
    }

    pub fn drop_next_connections(&self, n: u32) {
        self.stats.drop_next.store(n, Ordering::SeqCst);
    }

    /// Answers reach the client at most at `bytes_per_second`, shared by every connection (a phone's
    /// downlink; 0 lifts the limit).
    pub fn set_downlink(&self, bytes_per_second: u64) {
        self.stats
            .down_rate
            .store(bytes_per_second, Ordering::SeqCst);
    }

    /// Holds every chunk toward the server on connection `number` (counted from 1) for `d`.
    pub fn hold_uploads_on_connection(&self, number: u64, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        *self
            .stats
            .hold_up
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((number, ms));
    }

    pub fn set_delay(&self, d: Duration) {
        self.stats.delay_ms.store(
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pipe(
    client: TcpStream,
    server: TcpStream,
    s: Arc<ProxyStats>,
    number: u64,
) -> std::io::Result<()> {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up_stats = s.clone();
    let up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = cr.read(&mut buf).await?;
            if n == 0 {
                sw.shutdown().await?;
                return Ok::<_, std::io::Error>(());
            }
            up_stats.up.fetch_add(n as u64, Ordering::SeqCst);
            let hold = *up_stats
                .hold_up
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some((on, ms)) = hold
                && on == number
            {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            sw.write_all(&buf[..n]).await?;
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = sr.read(&mut buf).await?;
            if n == 0 {
                cw.shutdown().await?;
                return Ok::<_, std::io::Error>(());
            }
            let delay = s.delay_ms.load(Ordering::SeqCst);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            let rate = s.down_rate.load(Ordering::SeqCst);
            if rate > 0 {
                // The chunk takes its turn on the shared link, and arrives when it has crossed.
                let crossed = {
                    let mut free_at = s
                        .down_free_at
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    let start = free_at.map_or_else(tokio::time::Instant::now, |t| {
                        t.max(tokio::time::Instant::now())
                    });
                    let done = start + Duration::from_secs_f64(n as f64 / rate as f64);
                    *free_at = Some(done);
                    done
                };
                tokio::time::sleep_until(crossed).await;
            }
            s.down.fetch_add(n as u64, Ordering::SeqCst);
            cw.write_all(&buf[..n]).await?;
        }
    };
    let (a, b) = tokio::join!(up, down);
    a.and(b)
}
