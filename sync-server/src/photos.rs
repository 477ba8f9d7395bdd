//! The photo store: files named by their SHA-256 under `<data>/photos/ab/<sha256>`, with partial
//! uploads under `<data>/photos/partial/`. A resumed upload appends to the partial file; when it
//! reaches the size the referring record declared, its hash is verified and it moves into place.
//! The same content is stored once, whichever records refer to it.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use gridwalk_core::Sha256Hex;
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("photo storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("no record of yours refers to photo {0}")]
    NotReferenced(Sha256Hex),
    #[error("upload resumes at byte {received}, not {offset}")]
    OffsetMismatch { received: u64, offset: u64 },
    #[error("photo is declared as {declared} bytes; {got} bytes were sent")]
    TooLarge { declared: u64, got: u64 },
    #[error("the uploaded bytes hash to {got}, not {expected}; the upload was discarded")]
    HashMismatch { expected: Sha256Hex, got: Sha256Hex },
    #[error("photo storage task failed: {0}")]
    Task(String),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

#[derive(Debug)]
pub struct PhotoStore {
    root: PathBuf,
    locks: Mutex<HashMap<Sha256Hex, Arc<AsyncMutex<()>>>>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PhotoError> + Send + 'static,
) -> Result<T, PhotoError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PhotoError::Task(e.to_string()))?
}

impl PhotoStore {
    pub fn open(data_dir: &Path) -> Result<Self, PhotoError> {
        let root = data_dir.join("photos");
        std::fs::create_dir_all(root.join("partial"))?;
        Ok(Self {
            root,
            locks: Mutex::new(HashMap::new()),
        })
    }

    fn final_path(&self, sha: &Sha256Hex) -> PathBuf {
        self.root.join(&sha.as_str()[..2]).join(sha.as_str())
    }

    fn partial_path(&self, sha: &Sha256Hex) -> PathBuf {
        self.root.join("partial").join(sha.as_str())
    }

    /// Serializes uploads of one photo (two phones may hold the same picture).
    pub async fn lock(&self, sha: &Sha256Hex) -> OwnedMutexGuard<()> {
        let m = self
            .locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(sha.clone())
            .or_default()
            .clone();
        m.lock_owned().await
    }

    /// Forgets the lock of a photo nobody is uploading (call after dropping the guard).
    pub fn release(&self, sha: &Sha256Hex) {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        if locks.get(sha).is_some_and(|m| Arc::strong_count(m) == 1) {
            locks.remove(sha);
        }
    }

    pub async fn is_complete(&self, sha: &Sha256Hex) -> Result<bool, PhotoError> {
        let path = self.final_path(sha);
        blocking(move || Ok(path.is_file())).await
    }

    /// Bytes received so far of an incomplete upload.
    pub async fn received(&self, sha: &Sha256Hex) -> Result<u64, PhotoError> {
        let path = self.partial_path(sha);
        blocking(move || match std::fs::metadata(&path) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e.into()),
        })
        .await
    }

    /// Appends a chunk to the partial file. Each chunk is written completely or not at all before
    /// the next is read, so an interrupted transfer leaves a valid prefix to resume from.
    pub async fn append(&self, sha: &Sha256Hex, chunk: Bytes) -> Result<(), PhotoError> {
        let path = self.partial_path(sha);
        blocking(move || {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            f.write_all(&chunk)?;
            Ok(())
        })
        .await
    }

    pub async fn discard(&self, sha: &Sha256Hex) -> Result<(), PhotoError> {
        let path = self.partial_path(sha);
        blocking(move || match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        })
        .await
    }

    /// Verifies a complete partial file against its name and moves it into place (durably).
    pub async fn finish(&self, sha: &Sha256Hex) -> Result<(), PhotoError> {
        let (partial, target, expected) =
            (self.partial_path(sha), self.final_path(sha), sha.clone());
        blocking(move || {
            let mut f = std::fs::File::open(&partial)?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
            let got: String = hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            if got != expected.as_str() {
                std::fs::remove_file(&partial)?;
                let got = Sha256Hex::parse(&got).map_err(|e| PhotoError::Task(e.to_string()))?;
                return Err(PhotoError::HashMismatch { expected, got });
            }
            std::fs::OpenOptions::new()
                .append(true)
                .open(&partial)?
                .sync_all()?;
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::rename(&partial, &target)?;
            if let Some(dir) = target.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        })
        .await
    }

    pub async fn read(&self, sha: &Sha256Hex) -> Result<Vec<u8>, PhotoError> {
        let path = self.final_path(sha);
        blocking(move || Ok(std::fs::read(path)?)).await
    }
}
