//! The map: streets, communities and grids as a nested tiling of the district's box.
//!
//! The box is cut recursively, along the longer side, into rectangles whose areas are proportional
//! to random weights: first into streets, each street into its communities, each community into
//! its grids. So every street and community is a contiguous block, sizes vary, and the grids tile
//! the box exactly (no gaps, no overlaps). Where a grid's edge meets a neighbour's corner (a
//! T-junction), that corner is inserted into the grid's ring too, so neighbours share their common
//! boundary vertex for vertex.

use std::collections::HashMap;

use rand::{Rng, RngExt};

use super::code::{
    COMMUNITY_DIGITS, GRID_DIGITS, MAX_BUILDINGS_PER_GRID, MAX_COMMUNITIES_PER_STREET,
    MAX_GRIDS_PER_COMMUNITY, SEQUENCE_DIGITS,
};
use super::names;
use super::spec::{DistrictSpec, GeoBounds, SynthError};
use crate::domain::{Community, CommunityId, GeoPoint, Grid, GridId, Street, StreetId, WorkerId};

/// Metres per degree of latitude (and of longitude at the equator), mean Earth radius.
const METRES_PER_DEGREE: f64 = 111_195.0;

/// Coordinates are kept to 7 decimals (about 1 cm), finer than any GPS fix.
pub(crate) fn round_deg(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// An axis-aligned box in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub south: f64,
    pub west: f64,
    pub north: f64,
    pub east: f64,
}

impl From<GeoBounds> for Rect {
    fn from(b: GeoBounds) -> Self {
        Rect {
            south: b.south,
            west: b.west,
            north: b.north,
            east: b.east,
        }
    }
}

impl Rect {
    fn width_m(&self) -> f64 {
        let mid = ((self.south + self.north) / 2.0).to_radians();
        (self.east - self.west) * METRES_PER_DEGREE * mid.cos()
    }

    fn height_m(&self) -> f64 {
        (self.north - self.south) * METRES_PER_DEGREE
    }

    /// A point drawn uniformly from the rectangle shrunk by `margin` (a fraction of each side) on
    /// every side: strictly inside, and off the boundary a neighbour's building could be near.
    pub fn sample_inside(&self, margin: f64, rng: &mut impl Rng) -> (f64, f64) {
        let u: f64 = rng.random();
        let v: f64 = rng.random();
        let lat = self.south + (self.north - self.south) * (margin + (1.0 - 2.0 * margin) * u);
        let lon = self.west + (self.east - self.west) * (margin + (1.0 - 2.0 * margin) * v);
        (round_deg(lat), round_deg(lon))
    }
}

/// A grid with what the building generator needs to know about its place.
#[derive(Debug)]
pub(crate) struct PlannedGrid {
    pub grid: Grid,
    /// The grid's one worker (also in `grid.worker`).
    pub worker: WorkerId,
    pub rect: Rect,
    /// Index into `Layout::streets` / `Layout::communities`.
    pub street: usize,
    pub community: usize,
    /// 1-based numbers within the parent, as in the building code.
    pub street_no: u32,
    pub community_no: u32,
    pub grid_no: u32,
    pub buildings: u32,
}

#[derive(Debug)]
pub(crate) struct Layout {
    pub streets: Vec<Street>,
    pub communities: Vec<Community>,
    pub grids: Vec<PlannedGrid>,
}

/// `1 ± spread` weights: how much sizes vary.
fn weights(n: usize, spread: f64, rng: &mut impl Rng) -> Vec<f64> {
    (0..n)
        .map(|_| 1.0 + spread * (2.0 * rng.random::<f64>() - 1.0))
        .collect()
}

/// Shares `total` out over `weights` in proportion (largest remainder), at least one each.
/// Needs `total >= weights.len()` and positive weights.
pub(crate) fn apportion(total: u32, weights: &[f64]) -> Vec<u32> {
    let n = weights.len();
    let spare = u64::from(total).saturating_sub(n as u64);
    let sum: f64 = weights.iter().sum();
    let quotas: Vec<f64> = weights.iter().map(|w| spare as f64 * w / sum).collect();
    let mut counts: Vec<u64> = quotas.iter().map(|q| q.floor() as u64).collect();
    let mut given: u64 = counts.iter().sum();
    // Order by fractional part, largest first; ties by position so the result is reproducible.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let fa = quotas[a] - quotas[a].floor();
        let fb = quotas[b] - quotas[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    // Float rounding can overshoot by a unit; take it back from the smallest remainders.
    for &i in order.iter().rev() {
        if given <= spare {
            break;
        }
        if counts[i] > 0 {
            counts[i] -= 1;
            given -= 1;
        }
    }
    for &i in order.iter().cycle().take(n * 2) {
        if given >= spare {
            break;
        }
        counts[i] += 1;
        given += 1;
    }
    counts.iter().map(|&c| (c + 1) as u32).collect()
}

/// Cuts `rect` into `weights.len()` rectangles with areas in proportion to the weights, in order:
/// west before east, south before north.
fn partition(rect: Rect, weights: &[f64], out: &mut Vec<Rect>) {
    if weights.len() <= 1 {
        out.push(rect);
        return;
    }
    let (first, second) = weights.split_at(weights.len() / 2);
    let a: f64 = first.iter().sum();
    let b: f64 = second.iter().sum();
    let frac = a / (a + b);
    let (r1, r2) = if rect.width_m() >= rect.height_m() {
        let x = round_deg(rect.west + (rect.east - rect.west) * frac);
        (Rect { east: x, ..rect }, Rect { west: x, ..rect })
    } else {
        let y = round_deg(rect.south + (rect.north - rect.south) * frac);
        (Rect { north: y, ..rect }, Rect { south: y, ..rect })
    };
    partition(r1, first, out);
    partition(r2, second, out);
}

/// Every rectangle's ring, counter-clockwise from its south-west corner, with the corners of
/// neighbours that touch its edges inserted. Relies on neighbours sharing cut coordinates exactly,
/// which `partition` guarantees (both sides of a cut get the same `f64`).
fn rings(rects: &[Rect]) -> Vec<Vec<GeoPoint>> {
    // x → ys of corners on that meridian; y → xs of corners on that parallel.
    let mut on_meridian: HashMap<u64, Vec<f64>> = HashMap::new();
    let mut on_parallel: HashMap<u64, Vec<f64>> = HashMap::new();
    for r in rects {
        for (x, y) in [
            (r.west, r.south),
            (r.east, r.south),
            (r.east, r.north),
            (r.west, r.north),
        ] {
            on_meridian.entry(x.to_bits()).or_default().push(y);
            on_parallel.entry(y.to_bits()).or_default().push(x);
        }
    }
    for v in on_meridian.values_mut().chain(on_parallel.values_mut()) {
        v.sort_by(f64::total_cmp);
        v.dedup();
    }
    let between = |m: &HashMap<u64, Vec<f64>>, line: f64, lo: f64, hi: f64| -> Vec<f64> {
        m.get(&line.to_bits())
            .map(|v| v.iter().copied().filter(|&c| lo < c && c < hi).collect())
            .unwrap_or_default()
    };
    rects
        .iter()
        .map(|r| {
            let mut ring = Vec::with_capacity(4);
            let mut push = |lat: f64, lon: f64| ring.push(GeoPoint { lat, lon });
            push(r.south, r.west);
            for x in between(&on_parallel, r.south, r.west, r.east) {
                push(r.south, x);
            }
            push(r.south, r.east);
            for y in between(&on_meridian, r.east, r.south, r.north) {
                push(y, r.east);
            }
            push(r.north, r.east);
            for x in between(&on_parallel, r.north, r.west, r.east)
                .into_iter()
                .rev()
            {
                push(r.north, x);
            }
            push(r.north, r.west);
            for y in between(&on_meridian, r.west, r.south, r.north)
                .into_iter()
                .rev()
            {
                push(y, r.west);
            }
            ring
        })
        .collect()
}

fn check_fits(
    level: &'static str,
    counts: &[u32],
    max: u32,
    digits: u32,
) -> Result<(), SynthError> {
    match counts.iter().copied().find(|&c| c > max) {
        Some(number) => Err(SynthError::CodeSpaceExceeded {
            level,
            number,
            digits,
        }),
        None => Ok(()),
    }
}

/// Plans the whole map from a validated spec.
pub(crate) fn plan(spec: &DistrictSpec, rng: &mut impl Rng) -> Result<Layout, SynthError> {
    let spread = spec.profile.size_spread;
    let street_weights = weights(spec.streets as usize, spread.street_area, rng);
    let communities_per_street = apportion(spec.communities, &street_weights);
    check_fits(
        "community",
        &communities_per_street,
        MAX_COMMUNITIES_PER_STREET,
        COMMUNITY_DIGITS,
    )?;

    // Community weights within each street, and as shares of the whole district's area.
    let street_sum: f64 = street_weights.iter().sum();
    let mut community_weights: Vec<Vec<f64>> = Vec::with_capacity(street_weights.len());
    let mut community_area: Vec<f64> = Vec::with_capacity(spec.communities as usize);
    for (sw, &n) in street_weights.iter().zip(&communities_per_street) {
        let w = weights(n as usize, spread.community_area, rng);
        let sum: f64 = w.iter().sum();
        community_area.extend(w.iter().map(|cw| sw / street_sum * cw / sum));
        community_weights.push(w);
    }
    let grids_per_community = apportion(spec.grids, &community_area);
    check_fits(
        "grid",
        &grids_per_community,
        MAX_GRIDS_PER_COMMUNITY,
        GRID_DIGITS,
    )?;
    let density = weights(spec.grids as usize, spread.grid_buildings, rng);
    let buildings_per_grid = apportion(spec.buildings, &density);
    check_fits(
        "building",
        &buildings_per_grid,
        MAX_BUILDINGS_PER_GRID,
        SEQUENCE_DIGITS,
    )?;

    let mut street_rects = Vec::with_capacity(street_weights.len());
    partition(spec.area.into(), &street_weights, &mut street_rects);
    let community_names = names::community_names(spec.communities as usize, rng);

    let mut streets = Vec::with_capacity(street_rects.len());
    let mut communities = Vec::with_capacity(spec.communities as usize);
    let mut grid_rects = Vec::with_capacity(spec.grids as usize);
    let mut grids = Vec::with_capacity(spec.grids as usize);
    for (s, (street_rect, cws)) in street_rects.iter().zip(&community_weights).enumerate() {
        let street_id = StreetId(format!("S{:02}", s + 1));
        let (name_zh, name_en) = names::street_name(s);
        streets.push(Street {
            id: street_id.clone(),
            name_zh,
            name_en,
        });
        let mut community_rects = Vec::with_capacity(cws.len());
        partition(*street_rect, cws, &mut community_rects);
        for (c_in_street, community_rect) in community_rects.into_iter().enumerate() {
            let c = communities.len();
            let community_id = CommunityId(format!("C{:03}", c + 1));
            let (name_zh, name_en) = community_names
                .get(c)
                .cloned()
                .unwrap_or_else(|| (community_id.0.clone(), community_id.0.clone()));
            let n_grids = grids_per_community.get(c).copied().unwrap_or(1);
            let gw = weights(n_grids as usize, spread.grid_area, rng);
            let mut rects = Vec::with_capacity(gw.len());
            partition(community_rect, &gw, &mut rects);
            for (g_in_community, rect) in rects.into_iter().enumerate() {
                let g = grids.len();
                let id = GridId(format!("G{:04}", g + 1));
                let worker = WorkerId(format!("w-{id}"));
                grids.push(PlannedGrid {
                    grid: Grid {
                        name: format!("{name_zh}第{}网格", g_in_community + 1),
                        id,
                        boundary: Vec::new(),
                        community: community_id.clone(),
                        street: street_id.clone(),
                        worker: Some(worker.clone()),
                    },
                    worker,
                    rect,
                    street: s,
                    community: c,
                    street_no: s as u32 + 1,
                    community_no: c_in_street as u32 + 1,
                    grid_no: g_in_community as u32 + 1,
                    buildings: buildings_per_grid.get(g).copied().unwrap_or(1),
                });
                grid_rects.push(rect);
            }
            communities.push(Community {
                id: community_id,
                street: street_id.clone(),
                name_zh,
                name_en,
            });
        }
    }
    for (planned, ring) in grids.iter_mut().zip(rings(&grid_rects)) {
        for p in &ring {
            p.validate()?;
        }
        planned.grid.boundary = ring;
    }
    Ok(Layout {
        streets,
        communities,
        grids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_is_exact_proportional_and_at_least_one() {
        assert_eq!(apportion(10, &[1.0, 1.0]), vec![5, 5]);
        assert_eq!(apportion(3, &[100.0, 1.0, 1.0]), vec![1, 1, 1]);
        // 10 spare: 7.5 and 2.5, the tie goes to the first.
        assert_eq!(apportion(12, &[3.0, 1.0]), vec![9, 3]);
        let w = [0.3, 1.7, 0.9, 1.1, 1.0, 0.55, 1.45];
        let got = apportion(4_833, &w);
        assert_eq!(got.iter().sum::<u32>(), 4_833);
        assert!(got.iter().all(|&c| c >= 1));
        // Within one unit of the exact proportional share of the spare counts.
        let spare = 4_833.0 - 7.0;
        for (c, wi) in got.iter().zip(w) {
            let exact = spare * wi / w.iter().sum::<f64>() + 1.0;
            assert!((f64::from(*c) - exact).abs() < 1.0, "{c} vs {exact}");
        }
    }

    #[test]
    fn partition_areas_follow_weights() {
        let r = Rect {
            south: 0.0,
            west: 0.0,
            north: 1.0,
            east: 1.0,
        };
        let w = [1.0, 2.0, 3.0, 4.0];
        let mut out = Vec::new();
        partition(r, &w, &mut out);
        assert_eq!(out.len(), 4);
        for (rect, wi) in out.iter().zip(w) {
            let area = (rect.north - rect.south) * (rect.east - rect.west);
            // Cuts are rounded to 1e-7 degrees.
            assert!((area - wi / 10.0).abs() < 1e-6, "{area} vs {wi}");
        }
    }

    #[test]
    fn t_junction_corners_are_inserted() {
        // A tall west half and an east half cut in two: the west ring gains the east cut's corner.
        let west = Rect {
            south: 0.0,
            west: 0.0,
            north: 2.0,
            east: 1.0,
        };
        let se = Rect {
            south: 0.0,
            west: 1.0,
            north: 1.0,
            east: 2.0,
        };
        let ne = Rect {
            south: 1.0,
            west: 1.0,
            north: 2.0,
            east: 2.0,
        };
        let r = rings(&[west, se, ne]);
        let west_ring: Vec<(f64, f64)> = r[0].iter().map(|p| (p.lat, p.lon)).collect();
        assert_eq!(
            west_ring,
            vec![(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (2.0, 1.0), (2.0, 0.0)]
        );
        assert_eq!(r[1].len(), 4);
    }
}
