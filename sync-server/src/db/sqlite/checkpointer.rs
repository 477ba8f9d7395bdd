//! Checkpoints off the request path.
//!
//! In WAL mode SQLite copies the log into the database file when a commit finds the log past
//! `wal_autocheckpoint` pages, inside that commit — so every few push batches one of them also
//! paid for copying and syncing the last few megabytes. Here a thread of its own, on a connection
//! of its own, runs a passive checkpoint (it never blocks the writer or readers) every
//! [`INTERVAL`]; the writer's automatic checkpoint stays on as a backstop at [`BACKSTOP_PAGES`].

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

pub const INTERVAL: Duration = Duration::from_millis(200);
/// 64 MiB of 4 KiB pages.
pub const BACKSTOP_PAGES: i64 = 16 * 1024;

/// Stops its thread when dropped (with the database handle).
#[derive(Debug)]
pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn start(path: PathBuf) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&path, &flag))
            .map_err(|e| tracing::warn!(error = %e, "no checkpoint thread; commits checkpoint"))
            .ok();
        Self { stop, thread }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }
}

fn run(path: &std::path::Path, stop: &AtomicBool) {
    let mut conn: Option<Connection> = None;
    loop {
        std::thread::park_timeout(INTERVAL);
        if stop.load(Ordering::SeqCst) {
            return;
        }
        if conn.is_none() {
            conn = Connection::open(path)
                .map_err(|e| tracing::warn!(error = %e, "checkpoint connection"))
                .ok();
        }
        let Some(c) = &conn else { continue };
        // Busy (another checkpoint running) or any other failure: the next tick tries again.
        if let Err(e) = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0)) {
            tracing::debug!(error = %e, "passive checkpoint");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_copies_the_log_into_the_database_file_and_stops_with_its_handle() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("db.sqlite");
        let mut writer = Connection::open(&path).expect("open");
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (x TEXT);",
            )
            .expect("schema");
        let tx = writer.transaction().expect("tx");
        for i in 0..2_000 {
            tx.execute("INSERT INTO t VALUES (printf('%0500d', ?1))", [i])
                .expect("insert");
        }
        tx.commit().expect("commit");
        let file_len = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let before = file_len();
        assert!(
            before < 100_000,
            "the rows are only in the log: {before} bytes"
        );

        let mut checkpointer = Checkpointer::start(path.clone());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while file_len() < 1_000_000 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            file_len() >= 1_000_000,
            "checkpointed: {} bytes",
            file_len()
        );

        let thread = checkpointer.thread.take().expect("a thread");
        drop(checkpointer);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(thread.is_finished(), "stopped once its handle was dropped");
    }
}
