//! Deterministic sample data for tests, benchmarks and the small `demo` fallback: a tiny district
//! and well-formed field records. Nothing here is used on a request path.

use chrono::{DateTime, Duration, TimeZone, Utc};
use gridwalk_core::protocol::{BuildingCorrection, FieldChange, PushRecord, SyncRecord};
use gridwalk_core::{
    Building, BuildingCode, BuildingUse, Category, ChecklistResult, CommunityId, Contact, Event,
    EventKind, EventStatus, GeoPoint, GpsFix, Grid, GridId, Inspection, ItemId, ItemOutcome,
    PhotoRef, RecordId, Severity, Sha256Hex, StreetId, WorkerId,
};

/// The `n`-th building code of the sample district (Bao'an prefix 440306).
pub fn code(n: u64) -> BuildingCode {
    BuildingCode::parse(&format!("440306{:019}", n % 10u64.pow(19)))
        .expect("6 + 19 digits is a valid building code")
}

/// A fixed instant for reproducible records.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Shape of a generated district.
#[derive(Debug, Clone, Copy)]
pub struct DistrictShape {
    pub streets: u32,
    pub communities_per_street: u32,
    pub grids_per_community: u32,
    pub buildings_per_grid: u32,
}

impl DistrictShape {
    /// A few seconds' worth of data: 2 streets × 2 communities × 3 grids × 12 buildings.
    pub const SMALL: DistrictShape = DistrictShape {
        streets: 2,
        communities_per_street: 2,
        grids_per_community: 3,
        buildings_per_grid: 12,
    };
}

pub fn grid_id(street: u32, community: u32, grid: u32) -> GridId {
    GridId(format!("S{street:02}C{community:02}G{grid:03}"))
}

pub fn community_id(street: u32, community: u32) -> CommunityId {
    CommunityId(format!("S{street:02}C{community:02}"))
}

pub fn street_id(street: u32) -> StreetId {
    StreetId(format!("S{street:02}"))
}

/// A district laid out on a regular lattice around Bao'an (22.55 N, 113.88 E). Building numbers
/// run from 1 in grid order.
pub fn district(shape: DistrictShape) -> (Vec<Grid>, Vec<Building>) {
    let mut grids = Vec::new();
    let mut buildings = Vec::new();
    let mut n = 0u64;
    for s in 1..=shape.streets {
        for c in 1..=shape.communities_per_street {
            for g in 1..=shape.grids_per_community {
                let gid = grid_id(s, c, g);
                let gi = grids.len() as f64;
                let (lat0, lon0) = (
                    22.50 + 0.002 * (gi / 40.0).floor(),
                    113.80 + 0.002 * (gi % 40.0),
                );
                grids.push(Grid {
                    id: gid.clone(),
                    name: format!("Grid {gid}"),
                    boundary: vec![
                        GeoPoint {
                            lat: lat0,
                            lon: lon0,
                        },
                        GeoPoint {
                            lat: lat0,
                            lon: lon0 + 0.002,
                        },
                        GeoPoint {
                            lat: lat0 + 0.002,
                            lon: lon0 + 0.002,
                        },
                        GeoPoint {
                            lat: lat0 + 0.002,
                            lon: lon0,
                        },
                    ],
                    community: community_id(s, c),
                    street: street_id(s),
                    worker: Some(WorkerId(format!("w-{gid}"))),
                });
                for b in 0..shape.buildings_per_grid {
                    n += 1;
                    let f = f64::from(b);
                    buildings.push(building(
                        n,
                        &gid,
                        (s, c),
                        GeoPoint {
                            lat: lat0 + 0.0001 * (f / 6.0).floor(),
                            lon: lon0 + 0.0003 * (f % 6.0),
                        },
                    ));
                }
            }
        }
    }
    (grids, buildings)
}

/// One building of the sample district.
pub fn building(n: u64, grid: &GridId, (street, community): (u32, u32), at: GeoPoint) -> Building {
    Building {
        code: code(n),
        address: format!("Bao'an Block {n}"),
        location: at,
        street: street_id(street),
        community: community_id(street, community),
        grid: grid.clone(),
        floors: 6 + (n % 5) as u16,
        units: 20 + (n % 17) as u32,
        usage: BuildingUse::Residential,
        owner: Contact {
            name: format!("Owner {n}"),
            phone: format!("138{n:08}"),
        },
        manager: None,
        building_head: None,
        stars: None,
        scores: None,
        open_hazards: 0,
        blacklisted: false,
        last_inspected_at: None,
        next_due_on: None,
    }
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
