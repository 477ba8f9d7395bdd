//! Group `archive`: the phone's SQLite archive on a real file.
//!
//! (a) Recording: photos added one by one with `add_photo` (as the camera hands them over), then
//! 1,000 inspections that reference two photos each, recorded in 10 batches of 100 through
//! `record_batch` (one transaction and one fsync per batch); then, for contrast, one
//! `record_inspection` call (one transaction each) per inspection for 1,000 more. Recording does not
//! depend on the district's size, so quick runs record as much as full ones.
//! (b) Opening: Bao'an's 175,700 buildings (quick: 10%) loaded once with `upsert_grids` /
//! `upsert_buildings`, the archive closed, then opened again several times, each open followed by a
//! first query (`building_count` and the first 50-row page of the district's building list).
//! Opens are warm: the file is in the OS page cache (dropping caches is not ours to do on a shared
//! machine), so a phone's first open after boot pays extra reads on top.

use std::collections::HashSet;
use std::fmt::Display;
use std::time::Instant;

use gridwalk_core::store::{Archive, BuildingFilter, FieldRecord, Page, Scope};
use gridwalk_core::{Building, Grid, Inspection, PhotoRef};

use super::district::Setup;
use super::png::noise_png;
use super::stats::{max, median};
use super::{BenchError, Context};

const GROUP: &str = "archive";
const BATCHES: usize = 10;
const BATCH_SIZE: usize = 100;
const SINGLES: usize = 1_000;
const PHOTOS: usize = 1_000;
const PHOTOS_PER_INSPECTION: usize = 2;
/// Photo size in pixels: a small thumbnail-sized image, ~9 KB.
const PHOTO_W: u16 = 64;
const PHOTO_H: u16 = 48;
const LIST_PAGE: u32 = 50;
const OPENS: usize = 7;

fn err(e: impl Display) -> BenchError {
    BenchError::failed(GROUP, e)
}

pub fn run(ctx: &mut Context<'_>) -> Result<(), BenchError> {
    let mut spec = Setup::spec(ctx.quick());
    // Enough past inspections to record (a 10% district has too few at the default 0.1 per
    // building); the history option never changes the buildings.
    let needed = (BATCHES * BATCH_SIZE + SINGLES) as f64 * 1.5 / f64::from(spec.buildings);
    spec.history_per_building = spec.history_per_building.max(needed);
    let setup = Setup::generate_spec(GROUP, spec)?;
    ctx.emit(
        "archive.buildings",
        setup.district.buildings.len() as f64,
        "count",
    )?;
    recording(ctx, &setup)?;
    opening(ctx, &setup, OPENS)
}

/// (a) Photos, batched inspections, single inspections, all into one fresh archive file.
fn recording(ctx: &mut Context<'_>, setup: &Setup) -> Result<(), BenchError> {
    let batched = BATCHES * BATCH_SIZE;
    let singles = SINGLES;
    let pool = &setup.district.inspections;
    if pool.len() < batched + singles {
        return Err(err(format!(
            "the district has {} inspections, {} are needed",
            pool.len(),
            batched + singles
        )));
    }
    let chosen = &pool[..batched + singles];

    // A phone holds its scope: the grids and buildings these inspections are about.
    let codes: HashSet<_> = chosen.iter().map(|i| &i.building).collect();
    let buildings: Vec<Building> = (setup.district.buildings.iter())
        .filter(|b| codes.contains(&b.code))
        .cloned()
        .collect();
    let grid_ids: HashSet<_> = buildings.iter().map(|b| &b.grid).collect();
    let grids: Vec<Grid> = (setup.district.grids.iter())
        .filter(|g| grid_ids.contains(&g.id))
        .cloned()
        .collect();
    let dir = tempfile::tempdir().map_err(err)?;
    let archive =
        Archive::open(dir.path().join("recording.db"), setup.archive_options()).map_err(err)?;
    archive.upsert_grids(&grids).map_err(err)?;
    archive.upsert_buildings(&buildings).map_err(err)?;

    // A pool of distinct images, two per inspection, taken in turn.
    let photo_count = PHOTOS;
    let images: Vec<Vec<u8>> = (0..photo_count)
        .map(|i| noise_png(PHOTO_W, PHOTO_H, i as u64))
        .collect();
    let start = Instant::now();
    let mut photos: Vec<PhotoRef> = Vec::with_capacity(photo_count);
    for image in &images {
        photos.push(archive.add_photo(image).map_err(err)?);
    }
    let photos_ms = Context::ms_since(start);
    ctx.emit("archive.photos_added", photo_count as f64, "count")?;
    ctx.emit("archive.photo_bytes", images[0].len() as f64, "B")?;
    ctx.emit("archive.add_photo_total_ms", photos_ms, "ms")?;
    ctx.emit(
        "archive.add_photo_per_photo_ms",
        photos_ms / photo_count as f64,
        "ms",
    )?;

    let with_photos: Vec<Inspection> = (chosen.iter().enumerate())
        .map(|(k, i)| Inspection {
            photos: (0..PHOTOS_PER_INSPECTION)
                .map(|p| photos[(k * PHOTOS_PER_INSPECTION + p) % photos.len()].clone())
                .collect(),
            ..i.clone()
        })
        .collect();
    let (to_batch, to_single) = with_photos.split_at(batched);
    let batches: Vec<Vec<FieldRecord>> = to_batch
        .chunks(BATCH_SIZE)
        .map(|c| c.iter().cloned().map(FieldRecord::Inspection).collect())
        .collect();

    let start = Instant::now();
    for batch in &batches {
        archive.record_batch(batch).map_err(err)?;
    }
    let batched_ms = Context::ms_since(start);
    ctx.emit(
        "archive.record_1000_inspections_batched_ms",
        batched_ms,
        "ms",
    )?;
    ctx.emit(
        "archive.record_batched_per_inspection_us",
        batched_ms * 1e3 / batched as f64,
        "us",
    )?;
    ctx.emit("archive.record_batch_size", BATCH_SIZE as f64, "count")?;

    let start = Instant::now();
    for inspection in to_single {
        archive.record_inspection(inspection).map_err(err)?;
    }
    let single_ms = Context::ms_since(start);
    ctx.emit("archive.record_single_inspections", singles as f64, "count")?;
    ctx.emit("archive.record_single_total_ms", single_ms, "ms")?;
    ctx.emit(
        "archive.record_single_per_inspection_us",
        single_ms * 1e3 / singles as f64,
        "us",
    )?;

    // Every record is stored and queued for sync, or the figures measured nothing.
    let queued = archive.outbox_counts().map_err(err)?.pending;
    if queued != (batched + singles) as u64 {
        return Err(err(format!(
            "{queued} records queued, {} recorded",
            batched + singles
        )));
    }
    let sample = &to_single[singles - 1];
    let stored = archive.inspection(sample.id).map_err(err)?;
    if stored.as_ref().map(|s| &s.photos) != Some(&sample.photos) {
        return Err(err("a recorded inspection came back without its photos"));
    }
    Ok(())
}

/// (b) Load the district once, then time opens and the first query after each.
fn opening(ctx: &mut Context<'_>, setup: &Setup, opens: usize) -> Result<(), BenchError> {
    let dir = tempfile::tempdir().map_err(err)?;
    let path = dir.path().join("district.db");
    let buildings = setup.district.buildings.len();
    let (archive, load) = setup.load_archive(&path).map_err(err)?;
    drop(archive);
    ctx.emit("archive.load_grids_ms", load.grids_ms, "ms")?;
    ctx.emit("archive.load_buildings_ms", load.buildings_ms, "ms")?;
    ctx.emit(
        "archive.load_buildings_per_s",
        buildings as f64 / (load.buildings_ms / 1e3),
        "1/s",
    )?;
    let size = std::fs::metadata(&path).map_err(err)?.len();
    ctx.emit("archive.file_mb", size as f64 / 1e6, "MB")?;

    let filter = BuildingFilter::all_in(Scope::District);
    let (mut open_ms, mut count_ms, mut page_ms, mut total_ms) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..opens {
        let start = Instant::now();
        let archive = Archive::open(&path, setup.archive_options()).map_err(err)?;
        let opened = Instant::now();
        let count = archive.building_count().map_err(err)?;
        let counted = Instant::now();
        let (page, _) = archive
            .building_list(&filter, &Page::first(LIST_PAGE))
            .map_err(err)?;
        let done = Instant::now();
        if count != buildings as u64 || page.len() != LIST_PAGE as usize {
            return Err(err(format!(
                "reopened archive has {count} buildings and a page of {}",
                page.len()
            )));
        }
        let ms = |from: Instant, to: Instant| (to - from).as_secs_f64() * 1e3;
        open_ms.push(ms(start, opened));
        count_ms.push(ms(opened, counted));
        page_ms.push(ms(counted, done));
        total_ms.push(ms(start, done));
        drop(archive);
    }
    ctx.emit("archive.opens", opens as f64, "count")?;
    let m = |v: &[f64]| median(v).ok_or_else(|| err("no opens measured"));
    ctx.emit("archive.open_ms_median", m(&open_ms)?, "ms")?;
    ctx.emit("archive.first_count_ms_median", m(&count_ms)?, "ms")?;
    ctx.emit("archive.first_list_page_ms_median", m(&page_ms)?, "ms")?;
    ctx.emit(
        "archive.open_and_first_query_ms_median",
        m(&total_ms)?,
        "ms",
    )?;
    ctx.emit(
        "archive.open_and_first_query_ms_max",
        max(&total_ms).ok_or_else(|| err("no opens measured"))?,
        "ms",
    )?;
    Ok(())
}
