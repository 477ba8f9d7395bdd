//! Deterministic sample data for tests and benchmarks: an even district from the synthetic
//! district generator ([`gridwalk_core::synth`], the one generator the demo, the tests and the
//! benchmarks share), and well-formed field records about its buildings. Nothing here is used on a
//! request path.
//!
//! An even district has every street with the same number of communities, every community with
//! the same number of grids and every grid with the same number of buildings (the generator's size
//! spread set to zero), so a test can say "grid 1 holds buildings 1–12" and mean it.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, TimeZone, Utc};
use gridwalk_core::protocol::{BuildingCorrection, FieldChange, PushRecord, SyncRecord};
use gridwalk_core::synth::{self, CodeParts, District, DistrictSpec, SizeSpread, SynthError};
use gridwalk_core::{
    Building, BuildingCode, Category, ChecklistResult, CommunityId, Event, EventKind, EventStatus,
    GeoPoint, GpsFix, Grid, GridId, Inspection, ItemId, ItemOutcome, PhotoRef, RecordId, Severity,
    Sha256Hex, StreetId, WorkerId,
};

/// The seed of every sample district.
pub const SEED: u64 = 20_250_301;

/// A fixed instant for reproducible records.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Shape of an even sample district.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DistrictShape {
    pub streets: u32,
    pub communities_per_street: u32,
    pub grids_per_community: u32,
    pub buildings_per_grid: u32,
}

impl DistrictShape {
    /// A few seconds' worth of data: 2 streets × 2 communities × 3 grids × 12 buildings = 144.
    pub const SMALL: DistrictShape = DistrictShape {
        streets: 2,
        communities_per_street: 2,
        grids_per_community: 3,
        buildings_per_grid: 12,
    };

    /// One grid of `buildings` buildings.
    pub fn one_grid(buildings: u32) -> Self {
        DistrictShape {
            streets: 1,
            communities_per_street: 1,
            grids_per_community: 1,
            buildings_per_grid: buildings,
        }
    }

    pub fn communities(&self) -> u32 {
        self.streets * self.communities_per_street
    }

    pub fn grids(&self) -> u32 {
        self.communities() * self.grids_per_community
    }

    pub fn buildings(&self) -> u32 {
        self.grids() * self.buildings_per_grid
    }

    /// The generator's spec for this shape: the counts multiplied out, every size spread zero
    /// (so the generator shares them out evenly), and no past records (the server keeps none).
    pub fn spec(&self, seed: u64) -> DistrictSpec {
        let mut spec = DistrictSpec::small(seed);
        spec.streets = self.streets;
        spec.communities = self.communities();
        spec.grids = self.grids();
        spec.buildings = self.buildings();
        spec.history_per_building = 0.0;
        spec.profile.size_spread = SizeSpread {
            street_area: 0.0,
            community_area: 0.0,
            grid_area: 0.0,
            grid_buildings: 0.0,
        };
        spec
    }
}

/// Why a sample district could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error(transparent)]
    Synth(#[from] SynthError),
    #[error("the generator did not lay out an even district: {0}")]
    Uneven(String),
}

/// A generated even district, with its parts found by position (all numbers 1-based, in the
/// generator's order: street, community within the street, grid within the community, building
/// within the district).
#[derive(Debug, Clone)]
pub struct Sample {
    pub shape: DistrictShape,
    pub district: District,
}

impl Sample {
    /// Generates the district of `shape` and checks that it came out even.
    pub fn generate(shape: DistrictShape, seed: u64) -> Result<Self, SampleError> {
        let district = synth::generate_default(&shape.spec(seed))?;
        let sample = Sample { shape, district };
        sample.check_even()?;
        Ok(sample)
    }

    /// The [`DistrictShape::SMALL`] district of [`SEED`], generated once per process.
    ///
    /// # Panics
    /// If the generator cannot make it (a broken build, not a runtime condition).
    pub fn small() -> &'static Sample {
        static SMALL: OnceLock<Sample> = OnceLock::new();
        SMALL.get_or_init(|| {
            Sample::generate(DistrictShape::SMALL, SEED).expect("the small sample district")
        })
    }

    pub fn grids(&self) -> &[Grid] {
        &self.district.grids
    }

    pub fn buildings(&self) -> &[Building] {
        &self.district.buildings
    }

    fn grid_index(&self, street: u32, community: u32, grid: u32) -> Option<usize> {
        let s = self.shape;
        let in_range = (1..=s.streets).contains(&street)
            && (1..=s.communities_per_street).contains(&community)
            && (1..=s.grids_per_community).contains(&grid);
        in_range.then(|| {
            (((street - 1) * s.communities_per_street + community - 1) * s.grids_per_community
                + grid
                - 1) as usize
        })
    }

    /// Grid `grid` of community `community` of street `street`.
    pub fn grid(&self, street: u32, community: u32, grid: u32) -> Option<&Grid> {
        self.grid_index(street, community, grid)
            .and_then(|i| self.district.grids.get(i))
    }

    /// The `n`-th building of the district: grid 1 holds buildings 1 to `buildings_per_grid`,
    /// grid 2 the next ones, and so on.
    pub fn building(&self, n: u64) -> Option<&Building> {
        let i = usize::try_from(n.checked_sub(1)?).ok()?;
        self.district.buildings.get(i)
    }

    /// The grid's one worker (the username tests log in with).
    pub fn worker(&self, street: u32, community: u32, grid: u32) -> Option<&WorkerId> {
        self.grid(street, community, grid)?.worker.as_ref()
    }

    /// A well-formed Bao'an building code that no building of this district has (it names a
    /// street beyond the district's last); `n` tells several apart.
    ///
    /// # Panics
    /// If the district has 999 streets (the code has no room for one more).
    pub fn absent_code(&self, n: u32) -> BuildingCode {
        CodeParts::building(self.shape.streets + 1, 1, 1, n.clamp(1, 99_999))
            .to_code()
            .expect("a sample district leaves room for one more street in the code")
    }

    /// Every grid in place, in its community and street, with its share of the buildings in order.
    fn check_even(&self) -> Result<(), SampleError> {
        let s = self.shape;
        let d = &self.district;
        let uneven = |what: String| Err(SampleError::Uneven(what));
        if d.grids.len() != s.grids() as usize || d.buildings.len() != s.buildings() as usize {
            return uneven(format!(
                "{} grids and {} buildings",
                d.grids.len(),
                d.buildings.len()
            ));
        }
        let per_grid = s.buildings_per_grid as usize;
        for (i, g) in d.grids.iter().enumerate() {
            let community = i / s.grids_per_community as usize;
            let street = community / s.communities_per_street as usize;
            let (Some(c), Some(st)) = (d.communities.get(community), d.streets.get(street)) else {
                return uneven(format!("grid {} has no community or street", g.id));
            };
            if g.community != c.id || g.street != st.id {
                return uneven(format!("grid {} is not in {} of {}", g.id, c.id, st.id));
            }
            let mine = &d.buildings[i * per_grid..(i + 1) * per_grid];
            if let Some(b) = mine.iter().find(|b| b.grid != g.id) {
                return uneven(format!("building {} is not in grid {}", b.code, g.id));
            }
        }
        Ok(())
    }
}

/// The [`DistrictShape`] district's grids and buildings (seed [`SEED`]).
///
/// # Panics
/// If the generator cannot make an even district of that shape (the shape is the caller's
/// constant; zero counts or a shape beyond the code's digits are programming errors).
pub fn district(shape: DistrictShape) -> (Vec<Grid>, Vec<Building>) {
    let s = Sample::generate(shape, SEED).expect("an even sample district");
    (s.district.grids, s.district.buildings)
}

/// The `n`-th building of the small sample district ([`Sample::small`]).
///
/// # Panics
/// If there is no such building.
pub fn building(n: u64) -> &'static Building {
    Sample::small()
        .building(n)
        .unwrap_or_else(|| panic!("the small sample district has no building {n}"))
}

/// The code of the `n`-th building of the small sample district.
pub fn code(n: u64) -> BuildingCode {
    building(n).code.clone()
}

/// A well-formed code that no building of the small sample district has.
pub fn absent_code(n: u32) -> BuildingCode {
    Sample::small().absent_code(n)
}

/// A grid of the small sample district, by street, community and grid number.
///
/// # Panics
/// If there is no such grid.
pub fn grid(street: u32, community: u32, grid: u32) -> &'static Grid {
    Sample::small()
        .grid(street, community, grid)
        .unwrap_or_else(|| panic!("no grid {street}/{community}/{grid} in the small sample"))
}

pub fn grid_id(street: u32, community: u32, g: u32) -> GridId {
    grid(street, community, g).id.clone()
}

pub fn community_id(street: u32, community: u32) -> CommunityId {
    grid(street, community, 1).community.clone()
}

pub fn street_id(street: u32) -> StreetId {
    grid(street, 1, 1).street.clone()
}

/// The worker of a grid of the small sample district.
pub fn worker(street: u32, community: u32, g: u32) -> String {
    grid(street, community, g)
        .worker
        .as_ref()
        .map(|w| w.as_str().to_owned())
        .unwrap_or_else(|| panic!("grid {street}/{community}/{g} has no worker"))
}

fn fix(at: DateTime<Utc>) -> GpsFix {
    GpsFix {
        point: GeoPoint {
            lat: 22.55,
            lon: 113.88,
        },
        accuracy_m: 8.0,
        taken_at: at,
    }
}

/// A photo reference whose bytes are `photo_bytes(seed)`.
pub fn photo(seed: u8) -> PhotoRef {
    let bytes = photo_bytes(seed);
    PhotoRef {
        sha256: Sha256Hex::of_bytes(&bytes),
        size_bytes: bytes.len() as u64,
        width: 64,
        height: 48,
    }
}

/// Deterministic stand-in photo content (the server never decodes images).
pub fn photo_bytes(seed: u8) -> Vec<u8> {
    (0..50_000u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(u32::from(seed) * 7) % 251) as u8)
        .collect()
}

/// A passing inspection of `building` by `worker`.
pub fn inspection(building: &BuildingCode, worker: &str, photos: Vec<PhotoRef>) -> Inspection {
    let at = epoch();
    Inspection {
        id: RecordId::new(),
        building: building.clone(),
        worker: WorkerId(worker.to_owned()),
        started_at: at,
        finished_at: at + Duration::minutes(12),
        fix: fix(at),
        results: vec![
            ChecklistResult {
                item: ItemId::from("sl_extinguishers"),
                category: Category::SafetyLivability,
                outcome: ItemOutcome::Pass,
            },
            ChecklistResult {
                item: ItemId::from("sl_escape_route"),
                category: Category::SafetyLivability,
                outcome: ItemOutcome::Fail,
            },
        ],
        findings: vec!["bicycles in the stairwell".into()],
        photos,
        note: String::new(),
        corrects: None,
    }
}

/// A reported fire hazard.
pub fn hazard(building: &BuildingCode, worker: &str) -> Event {
    let at = epoch();
    Event {
        id: RecordId::new(),
        building: building.clone(),
        worker: WorkerId(worker.to_owned()),
        kind: EventKind::Hazard,
        category: ItemId::from("fire_hazard"),
        severity: Severity::High,
        fix: fix(at),
        photos: Vec::new(),
        description: "extinguisher missing on floor 3".into(),
        reported_at: at,
        notice: None,
        status: EventStatus::Reported,
        corrects: None,
    }
}

/// A correction of a building's floor count.
pub fn floors_correction(
    building: &BuildingCode,
    worker: &str,
    seen: u16,
    value: u16,
) -> BuildingCorrection {
    BuildingCorrection {
        id: RecordId::new(),
        building: building.clone(),
        worker: WorkerId(worker.to_owned()),
        change: FieldChange::Floors { seen, value },
        observed_at: epoch(),
        fix: Some(fix(epoch())),
        photos: Vec::new(),
        note: String::new(),
    }
}

/// Wraps records into a batch numbered from `first_seq`.
pub fn batch(first_seq: u64, records: Vec<SyncRecord>) -> Vec<PushRecord> {
    records
        .into_iter()
        .zip(first_seq..)
        .map(|(record, seq)| PushRecord { seq, record })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_small_sample_is_an_even_synthetic_district() {
        let s = Sample::small();
        assert_eq!((s.grids().len(), s.buildings().len()), (12, 144));
        assert_eq!(s.district.communities.len(), 4);
        assert_eq!(s.district.streets.len(), 2);
        // Grid 2 of community 1 of street 1 holds buildings 13..=24, and nothing else does.
        let g = grid(1, 1, 2);
        let held: Vec<u64> = (1..=144).filter(|&n| building(n).grid == g.id).collect();
        assert_eq!(held, (13..=24).collect::<Vec<u64>>());
        assert_eq!(community_id(1, 2), grid(1, 2, 3).community);
        assert_ne!(community_id(1, 1), community_id(1, 2));
        assert_eq!(grid(2, 2, 3).id, s.grids()[11].id);
        assert_eq!(worker(1, 1, 1), g1_worker());
        // Building codes follow the generator's layout: street, community, grid, sequence.
        let parts = CodeParts::of(&code(14));
        assert_eq!(
            (parts.street, parts.community, parts.grid, parts.sequence),
            (1, 1, 2, 2)
        );
        assert!(s.grid(3, 1, 1).is_none() && s.building(145).is_none() && s.building(0).is_none());
    }

    fn g1_worker() -> String {
        grid(1, 1, 1)
            .worker
            .as_ref()
            .expect("worker")
            .as_str()
            .to_owned()
    }

    #[test]
    fn absent_codes_are_well_formed_and_absent() {
        let a = absent_code(1);
        assert_ne!(a, absent_code(2));
        assert!(Sample::small().buildings().iter().all(|b| b.code != a));
        assert!(a.as_str().starts_with("440306"));
    }

    #[test]
    fn the_same_shape_and_seed_give_the_same_district() {
        let shape = DistrictShape::one_grid(30);
        let a = Sample::generate(shape, 5).expect("generate");
        let b = Sample::generate(shape, 5).expect("generate");
        assert_eq!(a.district, b.district);
        assert_eq!(a.buildings().len(), 30);
        assert_ne!(
            Sample::generate(shape, 6).expect("generate").district,
            a.district
        );
    }
}
