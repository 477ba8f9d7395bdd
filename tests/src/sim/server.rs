//! The server as a separate process, so it can be killed with SIGKILL and its CPU time read apart
//! from the simulated phones'.
//!
//! The program is `$GRIDWALK_SERVER` when set (a built `gridwalk-server`), otherwise this very
//! binary run as `gridwalk-sim __server …`, which calls the same `gridwalk_server::cli::run` as
//! `gridwalk-server`'s `main` — so `cargo test -p gridwalk-tests` needs no other package's binary.
//! Either way the child runs `serve` with a config file written next to its data.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use super::procstat;
use super::world::{ServerData, sim_password_params};
use super::{SERVER_ENV, SimError, SimResult};

/// The hidden subcommand that runs the built-in server.
pub const SERVER_SUBCOMMAND: &str = "__server";

/// How long a (re)started server may take to answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A running `gridwalk-server serve` child.
#[derive(Debug)]
pub struct ServerProcess {
    child: Option<Child>,
    pub addr: SocketAddr,
    config_path: PathBuf,
    log_path: PathBuf,
    /// CPU seconds of the earlier incarnations (the server killed and restarted).
    cpu_before: f64,
    pub starts: u32,
}

/// The program and leading arguments that start a server.
fn server_program() -> SimResult<(PathBuf, Vec<String>)> {
    if let Some(p) = std::env::var_os(SERVER_ENV).filter(|p| !p.is_empty()) {
        return Ok((PathBuf::from(p), Vec::new()));
    }
    let me = std::env::current_exe()
        .map_err(|e| SimError::io("finding this program to run the server", e))?;
    Ok((me, vec![SERVER_SUBCOMMAND.to_owned()]))
}

/// A free port on 127.0.0.1 (bound, then released for the server to take).
pub fn free_port() -> SimResult<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| SimError::io("finding a free port", e))?;
    Ok(l.local_addr()
        .map_err(|e| SimError::io("finding a free port", e))?
        .port())
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

impl ServerProcess {
    /// Writes the server's config next to its data and starts it on a free port.
    pub async fn start(data: &ServerData) -> SimResult<Self> {
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let config_path = data.data_dir.join("server.toml");
        let p = sim_password_params();
        let config = format!(
            "listen = {}\ndata_dir = {}\ndatabase_url = {}\n\n[password_hash]\nmemory_kib = {}\niterations = {}\nparallelism = {}\n",
            toml_string(&addr.to_string()),
            toml_string(&data.data_dir.display().to_string()),
            toml_string(&data.db_url),
            p.memory_kib,
            p.iterations,
            p.parallelism
        );
        std::fs::write(&config_path, config)
            .map_err(|e| SimError::io(format!("writing {}", config_path.display()), e))?;
        let mut me = Self {
            child: None,
            addr,
            config_path,
            log_path: data.data_dir.join("server.log"),
            cpu_before: 0.0,
            starts: 0,
        };
        me.spawn().await?;
        Ok(me)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    async fn spawn(&mut self) -> SimResult<Duration> {
        let started = Instant::now();
        let (program, lead) = server_program()?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| SimError::io(format!("opening {}", self.log_path.display()), e))?;
        let mut cmd = Command::new(&program);
        cmd.args(&lead)
            .arg("--config")
            .arg(&self.config_path)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "warn");
        }
        let child = cmd
            .spawn()
            .map_err(|e| SimError::io(format!("starting {}", program.display()), e))?;
        self.child = Some(child);
        self.starts += 1;
        self.wait_healthy().await?;
        Ok(started.elapsed())
    }

    async fn wait_healthy(&mut self) -> SimResult<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(SimError::Server(format!(
                    "exited with {status} while starting; log: {}",
                    log_tail(&self.log_path)
                )));
            }
            if health(self.addr).await {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(SimError::Server(format!(
                    "not healthy after {START_TIMEOUT:?}; log: {}",
                    log_tail(&self.log_path)
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no shutdown, no flush, whatever was in flight is cut.
    pub async fn kill(&mut self) -> SimResult<()> {
        if let Some(mut child) = self.child.take() {
            self.cpu_before += child
                .id()
                .and_then(procstat::process_cpu_seconds)
                .unwrap_or(0.0);
            child
                .kill()
                .await
                .map_err(|e| SimError::io("killing the server", e))?;
        }
        Ok(())
    }

    /// Starts the server again on the same data and port; returns how long until it answered.
    pub async fn restart(&mut self) -> SimResult<Duration> {
        self.kill().await?;
        self.spawn().await
    }

    /// CPU seconds (user + system) of the server process, all incarnations.
    pub fn cpu_seconds(&self) -> f64 {
        self.cpu_before
            + self
                .pid()
                .and_then(procstat::process_cpu_seconds)
                .unwrap_or(0.0)
    }

    /// Stops the server (SIGKILL: every answer it gave was already durable).
    pub async fn stop(mut self) -> SimResult<()> {
        self.kill().await
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }
}

/// Whether `GET /healthz` answers 200.
pub async fn health(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.ok()?;
        Some(buf.starts_with(b"HTTP/1.1 200"))
    };
    tokio::time::timeout(Duration::from_secs(5), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
