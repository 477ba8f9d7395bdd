//! Group `planning`: the pure rules at Bao'an's size (quick: a 10% district), and the officer's
//! low-star list from the local archive.
//!
//! - due list (`due_list`) and whole day plan (`plan_day`) of one 36-building grid, median over
//!   many runs;
//! - the low-star list (`building_list`, at most 2★, page of 50) over every building in an archive
//!   file: half the queries district-wide, half for a random street, community or grid, with varied
//!   filters (unrated included or not, overdue, open hazards, blacklist) and some next pages;
//!   goal < 20 ms;
//! - walking order (`walking_order`) for 60 random stops in a random grid's box; goal < 5 ms;
//! - rating every building from its records (`rate_many`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::hint::black_box;
use std::time::Instant;

use gridwalk_core::planning::{due_list, plan_day, walking_order};
use gridwalk_core::rating::rate_many;
use gridwalk_core::store::{BuildingFilter, BuildingSummary, Page, Scope};
use gridwalk_core::{Building, Event, GeoPoint, Grid, GridId};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::district::Setup;
use super::stats::{max, median, percentile};
use super::{BenchError, Context};

const GROUP: &str = "planning";
/// Buildings in the due-list grid: Bao'an's average (175,700 / 4,833 ≈ 36).
const GRID_BUILDINGS: usize = 36;
const LIST_PAGE: u32 = 50;
const LOW_STARS: u8 = 2;
const STOPS: usize = 60;

fn err(e: impl Display) -> BenchError {
    BenchError::failed(GROUP, e)
}

/// How many times each measurement runs (the same in quick runs: only the district is smaller).
const DUE_LIST_RUNS: usize = 2_000;
const LIST_QUERIES: usize = 200;
const WALKS: usize = 500;
const RATING_RUNS: usize = 3;

pub fn run(ctx: &mut Context<'_>) -> Result<(), BenchError> {
    let setup = Setup::generate(GROUP, ctx.quick())?;
    ctx.emit(
        "planning.buildings",
        setup.district.buildings.len() as f64,
        "count",
    )?;
    due_list_of_a_grid(ctx, &setup, DUE_LIST_RUNS)?;
    low_star_list(ctx, &setup, LIST_QUERIES)?;
    walking(ctx, &setup, WALKS)?;
    rating(ctx, &setup, RATING_RUNS)
}

fn emit_spread(
    ctx: &mut Context<'_>,
    name: &str,
    unit: &str,
    samples: &[f64],
) -> Result<(), BenchError> {
    let none = || err(format!("{name}: nothing measured"));
    ctx.emit(
        &format!("{name}_median"),
        median(samples).ok_or_else(none)?,
        unit,
    )?;
    ctx.emit(
        &format!("{name}_p95"),
        percentile(samples, 95.0).ok_or_else(none)?,
        unit,
    )?;
    ctx.emit(&format!("{name}_max"), max(samples).ok_or_else(none)?, unit)
}

fn by_grid(buildings: &[Building]) -> BTreeMap<&GridId, Vec<&Building>> {
    let mut m: BTreeMap<&GridId, Vec<&Building>> = BTreeMap::new();
    for b in buildings {
        m.entry(&b.grid).or_default().push(b);
    }
    m
}

fn centre(grid: &Grid) -> GeoPoint {
    let n = grid.boundary.len().max(1) as f64;
    GeoPoint {
        lat: grid.boundary.iter().map(|p| p.lat).sum::<f64>() / n,
        lon: grid.boundary.iter().map(|p| p.lon).sum::<f64>() / n,
    }
}

fn due_list_of_a_grid(ctx: &mut Context<'_>, setup: &Setup, runs: usize) -> Result<(), BenchError> {
    let d = &setup.district;
    let grids = by_grid(&d.buildings);
    // The first grid (by id) of exactly the average size, or the closest to it.
    let (grid_id, members) = grids
        .iter()
        .min_by_key(|(_, v)| v.len().abs_diff(GRID_BUILDINGS))
        .ok_or_else(|| err("the district has no grids"))?;
    let buildings: Vec<Building> = members.iter().map(|b| (*b).clone()).collect();
    // The phone holds its grid's events, not the district's.
    let events: Vec<Event> = (d.events.iter())
        .filter(|e| buildings.iter().any(|b| b.code == e.building))
        .cloned()
        .collect();
    let grid = (d.grids.iter())
        .find(|g| &&g.id == grid_id)
        .ok_or_else(|| err("a building's grid is missing"))?;
    let today = setup.spec.today;
    let policy = &setup.policy;

    let mut samples = Vec::with_capacity(runs);
    let mut due = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let list = black_box(due_list(
            black_box(&buildings),
            black_box(&events),
            policy,
            today,
        ));
        samples.push(start.elapsed().as_secs_f64() * 1e6);
        due = list.len();
    }
    ctx.emit(
        "planning.due_list_grid_buildings",
        buildings.len() as f64,
        "count",
    )?;
    ctx.emit(
        "planning.due_list_grid_events",
        events.len() as f64,
        "count",
    )?;
    ctx.emit("planning.due_list_due_today", due as f64, "count")?;
    ctx.emit("planning.due_list_runs", runs as f64, "count")?;
    emit_spread(ctx, "planning.due_list_us", "us", &samples)?;

    let start_at = centre(grid);
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        black_box(plan_day(
            grid_id,
            black_box(&buildings),
            black_box(&events),
            policy,
            today,
            start_at,
        ));
        samples.push(start.elapsed().as_secs_f64() * 1e6);
    }
    emit_spread(ctx, "planning.plan_day_us", "us", &samples)
}

fn low_star_list(ctx: &mut Context<'_>, setup: &Setup, queries: usize) -> Result<(), BenchError> {
    let dir = tempfile::tempdir().map_err(err)?;
    let (archive, _) = setup
        .load_archive(&dir.path().join("officer.db"))
        .map_err(err)?;
    let mut rng = ChaCha8Rng::seed_from_u64(0x6c6f_7773);
    let mut all = Vec::with_capacity(queries);
    let mut district_first_pages = Vec::new();
    let mut rows = 0usize;
    let mut next: Option<(BuildingFilter, Page)> = None;
    for k in 0..queries {
        let (filter, page) = match next.take() {
            Some(follow) if rng.random_bool(0.5) => follow,
            _ => (random_filter(setup, k, &mut rng), Page::first(LIST_PAGE)),
        };
        let start = Instant::now();
        let (list, more) = archive.building_list(&filter, &page).map_err(err)?;
        let ms = Context::ms_since(start);
        all.push(ms);
        if filter.scope == Scope::District && page.after.is_none() {
            district_first_pages.push(ms);
        }
        rows += list.len();
        check_page(&filter, &list)?;
        next = more.map(|p| (filter, p));
    }
    if district_first_pages.is_empty() || rows == 0 {
        return Err(err("the low-star queries found nothing"));
    }
    ctx.emit("planning.low_star_list_queries", queries as f64, "count")?;
    ctx.emit(
        "planning.low_star_list_rows_mean",
        rows as f64 / queries as f64,
        "count",
    )?;
    emit_spread(ctx, "planning.low_star_list_ms", "ms", &all)?;
    emit_spread(
        ctx,
        "planning.low_star_list_district_first_page_ms",
        "ms",
        &district_first_pages,
    )?;
    Ok(())
}

/// Half district-wide; the rest a random street, community or grid. Always at most 2★.
fn random_filter(setup: &Setup, k: usize, rng: &mut ChaCha8Rng) -> BuildingFilter {
    let d = &setup.district;
    let scope = if k % 2 == 0 {
        Scope::District
    } else {
        match rng.random_range(0..3) {
            0 => Scope::Street(d.streets[rng.random_range(0..d.streets.len())].id.clone()),
            1 => Scope::Community(
                d.communities[rng.random_range(0..d.communities.len())]
                    .id
                    .clone(),
            ),
            _ => Scope::Grid(d.grids[rng.random_range(0..d.grids.len())].id.clone()),
        }
    };
    BuildingFilter {
        scope,
        max_stars: Some(LOW_STARS),
        include_unrated: rng.random_bool(0.5),
        overdue_on: rng.random_bool(0.3).then_some(setup.spec.today),
        with_open_hazards: rng.random_bool(0.3),
        blacklisted_only: rng.random_bool(0.1),
    }
}

/// The page must hold only what the filter asks for: a wrong answer fast is no figure.
fn check_page(filter: &BuildingFilter, list: &[BuildingSummary]) -> Result<(), BenchError> {
    for s in list {
        let stars_ok = match s.stars {
            None => filter.include_unrated,
            Some(st) => st.get() <= LOW_STARS,
        };
        let scope_ok = match &filter.scope {
            Scope::District => true,
            Scope::Street(id) => &s.street == id,
            Scope::Community(id) => &s.community == id,
            Scope::Grid(id) => &s.grid == id,
        };
        let overdue_ok = filter
            .overdue_on
            .is_none_or(|day| s.next_due_on.is_some_and(|due| due < day));
        let hazards_ok = !filter.with_open_hazards || s.open_hazards > 0;
        let blacklist_ok = !filter.blacklisted_only || s.blacklisted;
        if !(stars_ok && scope_ok && overdue_ok && hazards_ok && blacklist_ok) {
            return Err(err(format!(
                "building {} does not match the filter {filter:?}",
                s.code.as_str()
            )));
        }
    }
    Ok(())
}

fn walking(ctx: &mut Context<'_>, setup: &Setup, sets: usize) -> Result<(), BenchError> {
    let grids = &setup.district.grids;
    let mut rng = ChaCha8Rng::seed_from_u64(0x7761_6c6b);
    let mut samples = Vec::with_capacity(sets);
    let mut ratio_sum = 0.0;
    for _ in 0..sets {
        let grid = &grids[rng.random_range(0..grids.len())];
        let (lo, hi) = bounding_box(grid).ok_or_else(|| err("a grid has no boundary"))?;
        let mut point = || GeoPoint {
            lat: lo.lat + (hi.lat - lo.lat) * rng.random::<f64>(),
            lon: lo.lon + (hi.lon - lo.lon) * rng.random::<f64>(),
        };
        let start_at = point();
        let stops: Vec<GeoPoint> = (0..STOPS).map(|_| point()).collect();
        let start = Instant::now();
        let route = black_box(walking_order(start_at, black_box(&stops)));
        samples.push(Context::ms_since(start));
        let mut seen = route.order.clone();
        seen.sort_unstable();
        if seen != (0..STOPS).collect::<Vec<_>>() || route.length_m > route.priority_order_m {
            return Err(err("a walking order skipped a stop or walked further"));
        }
        ratio_sum += route.length_m / route.priority_order_m;
    }
    ctx.emit("planning.walking_order_sets", sets as f64, "count")?;
    ctx.emit("planning.walking_order_stops", STOPS as f64, "count")?;
    emit_spread(ctx, "planning.walking_order_60_ms", "ms", &samples)?;
    ctx.emit(
        "planning.walking_order_vs_priority_order",
        ratio_sum / sets as f64,
        "ratio",
    )
}

fn bounding_box(grid: &Grid) -> Option<(GeoPoint, GeoPoint)> {
    let first = *grid.boundary.first()?;
    Some(grid.boundary.iter().fold((first, first), |(lo, hi), p| {
        (
            GeoPoint {
                lat: lo.lat.min(p.lat),
                lon: lo.lon.min(p.lon),
            },
            GeoPoint {
                lat: hi.lat.max(p.lat),
                lon: hi.lon.max(p.lon),
            },
        )
    }))
}

fn rating(ctx: &mut Context<'_>, setup: &Setup, runs: usize) -> Result<(), BenchError> {
    let d = &setup.district;
    let mut samples = Vec::with_capacity(runs);
    let mut changes = Changes::default();
    for _ in 0..runs {
        let start = Instant::now();
        let ratings = black_box(rate_many(
            black_box(&d.buildings),
            &d.inspections,
            &d.events,
            &HashMap::new(),
            &setup.catalog,
            &setup.policy,
            setup.spec.today,
        ));
        samples.push(Context::ms_since(start));
        if ratings.len() != d.buildings.len() {
            return Err(err("rate_many did not return one rating per building"));
        }
        changes = Changes::default();
        for (r, b) in ratings.iter().zip(&d.buildings) {
            match (b.stars, r.stars) {
                (Some(was), Some(now)) if now < was => changes.lowered += 1,
                (Some(was), Some(now)) if now > was => changes.raised += 1,
                (None, Some(_)) => changes.first_rated += 1,
                _ => {}
            }
        }
    }
    let ms = median(&samples).ok_or_else(|| err("no rating run"))?;
    let buildings = d.buildings.len() as f64;
    ctx.emit("planning.rate_buildings", buildings, "count")?;
    ctx.emit(
        "planning.rate_records",
        (d.inspections.len() + d.events.len()) as f64,
        "count",
    )?;
    ctx.emit("planning.rate_runs", runs as f64, "count")?;
    ctx.emit("planning.rate_all_ms", ms, "ms")?;
    ctx.emit(
        "planning.rate_buildings_per_s",
        buildings / (ms / 1e3),
        "1/s",
    )?;
    // How far the rules disagree with the stars the generator drew (not a speed: a check on synth).
    ctx.emit("planning.rate_lowered", changes.lowered as f64, "count")?;
    ctx.emit("planning.rate_raised", changes.raised as f64, "count")?;
    ctx.emit(
        "planning.rate_first_rated",
        changes.first_rated as f64,
        "count",
    )
}

#[derive(Debug, Default)]
struct Changes {
    lowered: usize,
    raised: usize,
    first_rated: usize,
}
