//! Photos: one file per photo beside the database, named by its SHA-256, plus a row with its size
//! and dimensions. The same bytes added twice are stored once.
//!
//! Decision: a photo over the limits is REFUSED, not resized. The app resizes with the platform's
//! image APIs (hardware decoders, EXIF orientation) before recording; the core stays free of an image
//! codec and never silently changes evidence.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::OptionalExtension;

use crate::domain::{PhotoRef, Sha256Hex};

use super::Archive;
use super::codec::{time_text, u64_to_sql};
use super::error::{StoreError, StoreResult};

impl Archive {
    /// Checks the bytes (an image within the limits), writes the file atomically and records it.
    pub fn add_photo(&self, bytes: &[u8]) -> StoreResult<PhotoRef> {
        let photo = self.check_photo(bytes)?;
        let path = self.photo_path(&photo.sha256);
        if self.photo(&photo.sha256)?.is_some() && path.is_file() {
            return Ok(photo);
        }
        // File first, row second: a crash in between leaves an unreferenced file (harmless, and
        // rewritten by the next add), never a row whose file is missing.
        write_file_synced(&self.photos_dir, &path, bytes)?;
        sync_dir(&self.photos_dir)?;
        let now = time_text(self.clock.now());
        self.write(|tx| insert_photo_row(tx, &photo, &now))?;
        Ok(photo)
    }

    /// Several photos at once (an import, a benchmark): the same checks, one directory sync and one
    /// transaction for the lot. All are checked before any is written; refused input adds nothing.
    pub fn add_photos<B: AsRef<[u8]>>(&self, photos: &[B]) -> StoreResult<Vec<PhotoRef>> {
        let refs = photos
            .iter()
            .map(|b| self.check_photo(b.as_ref()))
            .collect::<StoreResult<Vec<_>>>()?;
        for (photo, bytes) in refs.iter().zip(photos) {
            let path = self.photo_path(&photo.sha256);
            if !path.is_file() {
                write_file_synced(&self.photos_dir, &path, bytes.as_ref())?;
            }
        }
        sync_dir(&self.photos_dir)?;
        let now = time_text(self.clock.now());
        self.write(|tx| {
            for photo in &refs {
                insert_photo_row(tx, photo, &now)?;
            }
            Ok(())
        })?;
        Ok(refs)
    }

    /// [`Archive::add_photo`] from a file (the size limit is checked before reading it).
    pub fn add_photo_file(&self, path: impl AsRef<Path>) -> StoreResult<PhotoRef> {
        let mut file =
            File::open(path.as_ref()).map_err(|e| StoreError::io("opening a photo", e))?;
        let size_bytes = file
            .metadata()
            .map_err(|e| StoreError::io("reading a photo's size", e))?
            .len();
        let max_bytes = self.limits.max_photo_bytes;
        if size_bytes > max_bytes {
            return Err(StoreError::PhotoTooLarge {
                size_bytes,
                max_bytes,
            });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size_bytes).unwrap_or(0));
        // Read at most one byte past the limit: the file may have grown since the size check.
        Read::by_ref(&mut file)
            .take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| StoreError::io("reading a photo", e))?;
        self.add_photo(&bytes)
    }

    /// The stored photo with this hash, if any.
    pub fn photo(&self, sha256: &Sha256Hex) -> StoreResult<Option<PhotoRef>> {
        self.read(|conn| {
            let row: Option<(i64, u32, u32)> = conn
                .query_row(
                    "SELECT size_bytes, width, height FROM photos WHERE sha256 = ?1",
                    [sha256.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            Ok(row.map(|(size, width, height)| PhotoRef {
                sha256: sha256.clone(),
                size_bytes: size.unsigned_abs(),
                width,
                height,
            }))
        })
    }

    /// Where a photo's bytes live.
    pub fn photo_path(&self, sha256: &Sha256Hex) -> PathBuf {
        self.photos_dir.join(sha256.as_str())
    }

    fn check_photo(&self, bytes: &[u8]) -> StoreResult<PhotoRef> {
        let size_bytes = bytes.len() as u64;
        let max_bytes = self.limits.max_photo_bytes;
        if size_bytes > max_bytes {
            return Err(StoreError::PhotoTooLarge {
                size_bytes,
                max_bytes,
            });
        }
        let size = imagesize::blob_size(bytes).map_err(|_| StoreError::NotAnImage)?;
        let (Ok(width), Ok(height)) = (u32::try_from(size.width), u32::try_from(size.height))
        else {
            return Err(StoreError::NotAnImage);
        };
        if width == 0 || height == 0 {
            return Err(StoreError::NotAnImage);
        }
        let max_long_edge_px = self.limits.max_photo_long_edge_px;
        if width.max(height) > max_long_edge_px {
            return Err(StoreError::PhotoTooManyPixels {
                width,
                height,
                max_long_edge_px,
            });
        }
        Ok(PhotoRef {
            sha256: Sha256Hex::of_bytes(bytes),
            size_bytes,
            width,
            height,
        })
    }
}

fn insert_photo_row(
    tx: &rusqlite::Transaction<'_>,
    photo: &PhotoRef,
    now: &str,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO photos (sha256, size_bytes, width, height, added_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (sha256) DO NOTHING",
    )?
    .execute((
        photo.sha256.as_str(),
        u64_to_sql(photo.size_bytes),
        photo.width,
        photo.height,
        now,
    ))?;
    Ok(())
}

/// Temp file in the same directory, fsync, rename over the target: after a crash the target is
/// either absent or complete. The rename is durable once the directory is synced ([`sync_dir`]).
fn write_file_synced(dir: &Path, target: &Path, bytes: &[u8]) -> StoreResult<()> {
    let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::now_v7()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| StoreError::io("creating a photo file", e))?;
        f.write_all(bytes)
            .map_err(|e| StoreError::io("writing a photo file", e))?;
        f.sync_all()
            .map_err(|e| StoreError::io("syncing a photo file", e))?;
        fs::rename(&tmp, target).map_err(|e| StoreError::io("renaming a photo file", e))
    })();
    if result.is_err() {
        // Best effort: the temp file is junk either way, and the original error is what matters.
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn sync_dir(dir: &Path) -> StoreResult<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("syncing the photo directory", e))
}
